//! Sign-ins (refresh-token families) revoked while access tokens issued in them may still be
//! alive: every access-token check looks here, in memory. The database keeps the truth (the
//! family's `refresh_tokens.revoked_at`), read back at start-up, so a restart forgets nothing.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct RevokedFamilies {
    /// family id → until when (unix ms) an access token issued in it could still be accepted.
    until: Mutex<HashMap<String, i64>>,
}

impl RevokedFamilies {
    /// Remembers `family` as revoked until `until_ms`, and forgets families whose last access
    /// token has expired.
    pub fn insert(&self, family: &str, until_ms: i64, now_ms: i64) {
        let mut map = self.until.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, until| *until > now_ms);
        let until = map.entry(family.to_string()).or_insert(until_ms);
        *until = (*until).max(until_ms);
    }

    pub fn contains(&self, family: &str) -> bool {
        self.until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(family)
    }

    pub fn len(&self) -> usize {
        self.until.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_until_the_last_access_token_expires() {
        let r = RevokedFamilies::default();
        r.insert("a", 1_000, 0);
        r.insert("b", 5_000, 0);
        assert!(r.contains("a") && r.contains("b"));
        r.insert("c", 9_000, 2_000);
        assert!(!r.contains("a"), "expired entries are dropped");
        assert!(r.contains("b") && r.contains("c"));
        r.insert("b", 3_000, 2_000);
        r.insert("x", 9_000, 4_000);
        assert!(
            r.contains("b"),
            "a later revocation never shortens the time"
        );
    }
}
