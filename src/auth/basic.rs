//! HTTP Basic credentials (WebDAV clients, the metrics scrape): the account password (argon2,
//! its success cached briefly in memory so a PROPFIND storm is not 100 ms a request) or an app
//! password (a random secret looked up by its hash). Failures count against the same limits as
//! API logins, and are audited.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{APP_PASSWORD_PREFIX, Accounts};
use crate::db::users::User;
use crate::db::{self};
use crate::error::AppResult;

const CACHE_TTL: Duration = Duration::from_secs(300);
const CACHE_MAX: usize = 10_000;

pub struct BasicCache {
    /// Keyed by a keyed hash of the credentials (never the password itself).
    entries: Mutex<HashMap<[u8; 32], (String, i64, Instant)>>,
    key: [u8; 32],
}

impl Default for BasicCache {
    fn default() -> Self {
        BasicCache {
            entries: Mutex::new(HashMap::new()),
            key: rand::random(),
        }
    }
}

impl BasicCache {
    fn key_of(&self, username: &str, password: &str) -> [u8; 32] {
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(username.as_bytes());
        h.update(&[0]);
        h.update(password.as_bytes());
        *h.finalize().as_bytes()
    }

    fn get(&self, k: &[u8; 32]) -> Option<(String, i64)> {
        let entries = self.entries.lock().unwrap();
        entries
            .get(k)
            .filter(|(_, _, at)| at.elapsed() < CACHE_TTL)
            .map(|(id, tv, _)| (id.clone(), *tv))
    }

    /// The account (id, token version) these credentials last proved, if still cached. The
    /// caller must check both against the users row before trusting them.
    pub fn cached(&self, username: &str, password: &str) -> Option<(String, i64)> {
        self.get(&self.key_of(username, password))
    }

    fn put(&self, k: [u8; 32], user: &User) {
        let mut entries = self.entries.lock().unwrap();
        if entries.len() >= CACHE_MAX {
            entries.retain(|_, (_, _, at)| at.elapsed() < CACHE_TTL);
            if entries.len() >= CACHE_MAX {
                entries.clear();
            }
        }
        entries.insert(k, (user.id.clone(), user.token_version, Instant::now()));
    }
}

impl Accounts {
    /// The user behind Basic credentials, or `unauthorized` (all failures alike), or `rate-limited`.
    /// The checks are the accounts service's, the same as the API's login
    /// ([`Accounts::check_password`]); only the cache of recent successes is Basic's.
    pub async fn authenticate_basic(
        &self,
        username: String,
        password: String,
        addr: IpAddr,
    ) -> AppResult<User> {
        let cache = &self.basic;
        let k = cache.key_of(&username, &password);
        if let Some((id, tv)) = cache.get(&k) {
            let user = self
                .db
                .run(move |c| db::users::find_user_by_id(c, &id))
                .await?;
            if let Some(u) = user.filter(|u| !u.disabled && u.token_version == tv) {
                return Ok(u);
            }
        }
        let address = addr.to_string();
        // App passwords are looked up every time (revoking one works at once); account passwords
        // cost an argon2 check, so their success is cached.
        let app_password = password.starts_with(APP_PASSWORD_PREFIX);
        let result = if app_password {
            self.check_app_password(&username, &password, &address)
                .await
        } else {
            self.check_password(&username, &password, &address).await
        };
        match result {
            Ok(user) => {
                if !app_password {
                    cache.put(k, &user);
                }
                Ok(user)
            }
            Err(e) => {
                if e.code == crate::error::ErrorCode::Unauthorized {
                    use crate::audit::{Entry, action, record};
                    record(
                        &self.db,
                        Entry::by_name(action::WEBDAV_LOGIN_FAILED, &username).from(addr),
                    )
                    .await;
                }
                Err(e)
            }
        }
    }
}

/// The account behind credentials from the auth cache (`BasicCache::cached`), read again on a
/// blocking thread: None when it was disabled or its sessions revoked since (token version), or
/// when `owner` (the drive named in the URL) is not this account's.
pub fn cached_account_blocking(
    c: &rusqlite::Connection,
    user_id: &str,
    token_version: i64,
    owner: &str,
) -> AppResult<Option<User>> {
    Ok(db::users::find_user_by_id(c, user_id)?.filter(|u| {
        !u.disabled && u.token_version == token_version && u.username.eq_ignore_ascii_case(owner)
    }))
}
