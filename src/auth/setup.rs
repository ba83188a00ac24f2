//! First-run set-up in the browser: while no admin account exists, the server holds a one-time
//! random token (as Grafana and Jenkins do), prints a link with it at start, and the web UI's
//! set-up page creates the first admin with it. The token lives in memory only: it dies once
//! used, when an admin exists (made here, by the CLI or restored from a backup), or when the
//! server stops (the next start prints a new one).

use std::sync::Mutex;

use base64::Engine;

/// The token of this run, kept as its BLAKE3 hash (compared in constant time).
#[derive(Default)]
pub struct SetupToken {
    hash: Mutex<Option<blake3::Hash>>,
}

impl SetupToken {
    /// A new token (128 bits of randomness and more: 32 bytes), replacing any earlier one.
    pub fn issue(&self) -> String {
        let token =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        *self.lock() = Some(blake3::hash(token.as_bytes()));
        token
    }

    /// Whether `given` is this run's token (false once it was used or forgotten).
    pub fn matches(&self, given: &str) -> bool {
        let given = blake3::hash(given.trim().as_bytes());
        self.lock().is_some_and(|h| h == given)
    }

    pub fn forget(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<blake3::Hash>> {
        self.hash.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_until_forgotten_and_a_new_one_replaces_it() {
        let s = SetupToken::default();
        assert!(!s.matches(""));
        let t = s.issue();
        assert!(t.len() >= 43, "{t}");
        assert!(s.matches(&t));
        assert!(!s.matches(&t[1..]));
        let t2 = s.issue();
        assert_ne!(t, t2);
        assert!(!s.matches(&t));
        assert!(s.matches(&t2));
        s.forget();
        assert!(!s.matches(&t2));
    }
}
