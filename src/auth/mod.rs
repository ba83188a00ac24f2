//! Accounts and sessions: registration with invite codes, login, refresh-token rotation with
//! reuse detection, password changes, and the checks behind every authenticated request.

pub mod jwt;
pub mod limiter;
pub mod password;

use std::sync::Arc;

use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;

use crate::config::Config;
use crate::db::users::{NewUser, User};
use crate::db::{self, Db};
use crate::error::{AppError, AppResult};
use jwt::JwtKeys;
use limiter::RateLimiter;

pub struct Auth {
    pub keys: JwtKeys,
    access_ttl: i64,
    refresh_ttl: i64,
    pub invite_ttl: i64,
    login_by_account: RateLimiter,
    login_by_address: RateLimiter,
    pub requests_by_address: RateLimiter,
    /// Verified against when the username is unknown, so both failures take the same time.
    dummy_hash: String,
}

#[derive(Debug, Serialize)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_expires_in: i64,
    /// For the browser's media cookie (thumbnails and downloads in <img> and <a>); never in JSON.
    #[serde(skip)]
    pub media_token: String,
}

/// A username: 2–32 of `a-z 0-9 . _ -`, starting with a letter or digit, kept in lower case
/// (it appears in WebDAV URLs).
pub fn parse_username(raw: &str) -> AppResult<String> {
    let u = raw.trim().to_lowercase();
    let ok = (2..=32).contains(&u.len())
        && u.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && u.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !ok {
        return Err(AppError::bad_request(
            "invalid-username",
            "a username has 2 to 32 characters: letters a-z, digits, '.', '_' or '-', starting with a letter or digit",
        ));
    }
    Ok(u)
}

fn now_secs() -> i64 {
    db::now_ms() / 1000
}

/// Invite codes: 12 characters from an alphabet without look-alikes, shown as XXXX-XXXX-XXXX.
pub fn new_invite_code() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut s = String::with_capacity(14);
    for i in 0..12 {
        if i > 0 && i % 4 == 0 {
            s.push('-');
        }
        s.push(ALPHABET[rand::random_range(0..ALPHABET.len())] as char);
    }
    s
}

pub fn normalize_invite_code(raw: &str) -> String {
    let clean: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    clean
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect::<Vec<_>>()
        .join("-")
}

fn hash_token(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

fn invalid_refresh() -> AppError {
    AppError::unauthorized("the refresh token is invalid, expired or revoked: sign in again")
}

impl Auth {
    pub fn new(config: &Config) -> anyhow::Result<Auth> {
        let a = &config.auth;
        Ok(Auth {
            keys: JwtKeys::load_or_create(&config.data_dir.join("jwt-secret"))?,
            access_ttl: a.access_token_ttl.0.as_secs() as i64,
            refresh_ttl: a.refresh_token_ttl.0.as_secs() as i64,
            invite_ttl: a.invite_ttl.0.as_secs() as i64,
            login_by_account: RateLimiter::new(a.login_failures_per_account, a.login_window.0),
            login_by_address: RateLimiter::new(a.login_failures_per_address, a.login_window.0),
            requests_by_address: RateLimiter::new(a.access_requests_per_address, a.login_window.0),
            dummy_hash: password::hash_password("dummy password for timing")?,
        })
    }

    /// Issues an access token and a new refresh token in `family` (a new family on login).
    fn issue_pair(
        &self,
        conn: &Connection,
        user: &User,
        family: Option<&str>,
    ) -> AppResult<TokenPair> {
        let now = now_secs();
        let access = self
            .keys
            .issue(&user.id, user.token_version, now, self.access_ttl)?;
        let media =
            self.keys
                .issue_typed(&user.id, user.token_version, now, self.access_ttl, "media")?;
        let refresh = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            rand::random::<[u8; 32]>(),
        );
        let family = family.map(str::to_string).unwrap_or_else(db::new_id);
        db::tokens::insert_refresh_token(
            conn,
            &db::new_id(),
            &user.id,
            &family,
            &hash_token(&refresh),
            db::now_ms(),
            db::now_ms() + self.refresh_ttl * 1000,
        )?;
        Ok(TokenPair {
            access_token: access,
            refresh_token: refresh,
            token_type: "Bearer",
            expires_in: self.access_ttl,
            refresh_expires_in: self.refresh_ttl,
            media_token: media,
        })
    }

    pub fn dummy_hash(&self) -> &str {
        &self.dummy_hash
    }

    pub fn check_login_limits(&self, account_key: &str, address_key: &str) -> AppResult<()> {
        self.login_by_account
            .check(account_key)
            .map_err(AppError::rate_limited)?;
        self.login_by_address
            .check(address_key)
            .map_err(AppError::rate_limited)?;
        Ok(())
    }

    pub fn record_login_failure(&self, account_key: &str, address_key: &str) {
        self.login_by_account.hit(account_key);
        self.login_by_address.hit(address_key);
    }

    pub fn access_ttl(&self) -> i64 {
        self.access_ttl
    }

    pub fn refresh_ttl(&self) -> i64 {
        self.refresh_ttl
    }

    /// The user behind an access token, if the token is valid and still current.
    pub fn authenticate(&self, conn: &Connection, token: &str) -> AppResult<User> {
        self.authenticate_typed(conn, token, "access")
    }

    /// The user behind a token of type `typ` ("access", or "media" from the media cookie).
    pub fn authenticate_typed(&self, conn: &Connection, token: &str, typ: &str) -> AppResult<User> {
        let claims = self.keys.verify_typed(token, typ)?;
        match db::users::find_user_by_id(conn, &claims.sub)? {
            Some(u) if !u.disabled && u.token_version == claims.tv => Ok(u),
            _ => Err(AppError::unauthorized(
                "the access token is invalid or expired",
            )),
        }
    }
}

/// Creates an account and its root folder. Used by registration, the CLI and tests.
pub fn create_user(
    conn: &mut Connection,
    username: &str,
    hash: &str,
    is_admin: bool,
    quota: i64,
) -> AppResult<User> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let user = insert_user_tx(&tx, username, hash, is_admin, quota)?;
    tx.commit()?;
    Ok(user)
}

fn insert_user_tx(
    tx: &Connection,
    username: &str,
    hash: &str,
    is_admin: bool,
    quota: i64,
) -> AppResult<User> {
    if db::users::find_user_by_name(tx, username)?.is_some() {
        return Err(AppError::conflict(
            "username-taken",
            "that username is taken",
        ));
    }
    let id = db::new_id();
    let root = db::new_id();
    let now = db::now_ms();
    // The root row references the user and the user names the root: insert the user first
    // (root_id is not a foreign key), then the root.
    db::users::insert_user(
        tx,
        &NewUser {
            id: &id,
            username,
            password_hash: hash,
            is_admin,
            quota_bytes: quota,
            root_id: &root,
            now,
        },
    )?;
    tx.execute(
        "INSERT INTO nodes (id, owner_id, parent_id, name, name_key, kind, created_at, modified_at, etag)
         VALUES (?1, ?2, NULL, '', '', 'dir', ?3, ?3, ?4)",
        rusqlite::params![root, id, now, format!("{:016x}", rand::random::<u64>())],
    )?;
    db::users::find_user_by_id(tx, &id)?.ok_or_else(|| AppError::internal("user vanished"))
}

pub struct Accounts {
    pub db: Db,
    pub auth: Arc<Auth>,
    pub default_quota: i64,
}

impl Accounts {
    pub async fn register(
        &self,
        code: &str,
        username: &str,
        password: &str,
    ) -> AppResult<(User, TokenPair)> {
        let username = parse_username(username)?;
        password::check_password_rules(password, &username)?;
        let code = normalize_invite_code(code);
        let pw = password.to_string();
        let hash = tokio::task::spawn_blocking(move || password::hash_password(&pw)).await??;
        let auth = self.auth.clone();
        let quota = self.default_quota;
        self.db
            .run(move |c| {
                let bad_invite = || {
                    AppError::bad_request(
                        "invalid-invite",
                        "the invite code is invalid, used or expired",
                    )
                };
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                // The invite first: without one, nobody learns which usernames exist.
                match db::invites::find_invite(&tx, &code)? {
                    Some(i) if i.used_at.is_none() && i.expires_at > db::now_ms() => {}
                    _ => return Err(bad_invite()),
                }
                let user = insert_user_tx(&tx, &username, &hash, false, quota)?;
                if !db::invites::redeem_invite(&tx, &code, &user.id, db::now_ms())? {
                    return Err(bad_invite());
                }
                let pair = auth.issue_pair(&tx, &user, None)?;
                tx.commit()?;
                Ok((user, pair))
            })
            .await
    }

    /// Every failure (unknown user, wrong password, disabled account) gives the same answer.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        address: &str,
    ) -> AppResult<(User, TokenPair)> {
        let username = username.trim().to_lowercase();
        let account_key = format!("login:{username}");
        let address_key = format!("login-addr:{address}");
        self.auth.check_login_limits(&account_key, &address_key)?;
        if password.len() > password::MAX_PASSWORD_BYTES {
            return Err(AppError::unauthorized("wrong username or password"));
        }
        let auth = self.auth.clone();
        let pw = password.to_string();
        let result = self
            .db
            .run(move |c| {
                let user = db::users::find_user_by_name(c, &username)?;
                let hash = user
                    .as_ref()
                    .map(|u| u.password_hash.as_str())
                    .unwrap_or(&auth.dummy_hash);
                let ok = password::verify_password(&pw, hash);
                match user {
                    Some(u) if ok && !u.disabled => {
                        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                        let pair = auth.issue_pair(&tx, &u, None)?;
                        tx.commit()?;
                        Ok((u, pair))
                    }
                    _ => Err(AppError::unauthorized("wrong username or password")),
                }
            })
            .await;
        if let Err(e) = &result {
            if e.code == "unauthorized" {
                self.auth.record_login_failure(&account_key, &address_key);
            }
        }
        result
    }

    /// Exchanges a refresh token for a new pair. A token presented twice means it was stolen
    /// (or replayed): the whole family is revoked and both holders must sign in again.
    pub async fn refresh(&self, token: &str) -> AppResult<TokenPair> {
        let hash = hash_token(token);
        let auth = self.auth.clone();
        self.db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = db::now_ms();
                let Some(t) = db::tokens::find_refresh_token(&tx, &hash)? else {
                    return Err(invalid_refresh());
                };
                if t.revoked_at.is_some() {
                    return Err(invalid_refresh());
                }
                if t.rotated_at.is_some() || !db::tokens::mark_rotated(&tx, &t.id, now)? {
                    db::tokens::revoke_family(&tx, &t.family_id, now)?;
                    tx.commit()?;
                    tracing::warn!(user = %t.user_id, "refresh token reuse: family revoked");
                    return Err(invalid_refresh());
                }
                if t.expires_at <= now {
                    return Err(invalid_refresh());
                }
                let user = match db::users::find_user_by_id(&tx, &t.user_id)? {
                    Some(u) if !u.disabled => u,
                    _ => return Err(invalid_refresh()),
                };
                let pair = auth.issue_pair(&tx, &user, Some(&t.family_id))?;
                tx.commit()?;
                Ok(pair)
            })
            .await
    }

    pub async fn logout(&self, token: &str) -> AppResult<()> {
        let hash = hash_token(token);
        self.db
            .run(move |c| {
                if let Some(t) = db::tokens::find_refresh_token(c, &hash)? {
                    db::tokens::revoke_family(c, &t.family_id, db::now_ms())?;
                }
                Ok(())
            })
            .await
    }

    /// Changes the password, revokes every session of the user, and returns a fresh one.
    pub async fn change_password(
        &self,
        user: &User,
        current: &str,
        new: &str,
    ) -> AppResult<TokenPair> {
        password::check_password_rules(new, &user.username)?;
        let (cur, new, old_hash) = (
            current.to_string(),
            new.to_string(),
            user.password_hash.clone(),
        );
        let hash = tokio::task::spawn_blocking(move || {
            if cur.len() > password::MAX_PASSWORD_BYTES
                || !password::verify_password(&cur, &old_hash)
            {
                return Err(AppError::unauthorized("the current password is wrong"));
            }
            password::hash_password(&new)
        })
        .await??;
        let auth = self.auth.clone();
        let id = user.id.clone();
        self.db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                db::users::set_password(&tx, &id, &hash)?;
                db::tokens::revoke_user_tokens(&tx, &id, db::now_ms())?;
                let user = db::users::find_user_by_id(&tx, &id)?.ok_or_else(AppError::not_found)?;
                let pair = auth.issue_pair(&tx, &user, None)?;
                tx.commit()?;
                Ok(pair)
            })
            .await
    }

    pub async fn create_invites(
        &self,
        count: u32,
        ttl_secs: Option<i64>,
        by: Option<String>,
    ) -> AppResult<Vec<db::invites::Invite>> {
        if !(1..=100).contains(&count) {
            return Err(AppError::bad_request(
                "invalid-count",
                "count must be between 1 and 100",
            ));
        }
        let ttl = ttl_secs.unwrap_or(self.auth.invite_ttl);
        if ttl <= 0 || ttl > 365 * 86400 {
            return Err(AppError::bad_request(
                "invalid-expiry",
                "an invite lasts between 1 second and 365 days",
            ));
        }
        self.db
            .run(move |c| create_invites_blocking(c, count, ttl, by.as_deref()))
            .await
    }
}

pub fn create_invites_blocking(
    c: &mut Connection,
    count: u32,
    ttl_secs: i64,
    by: Option<&str>,
) -> AppResult<Vec<db::invites::Invite>> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = db::now_ms();
    let mut out = Vec::new();
    for _ in 0..count {
        let code = new_invite_code();
        db::invites::insert_invite(&tx, &code, by, now, now + ttl_secs * 1000)?;
        out.push(db::invites::Invite {
            code,
            created_at: now,
            expires_at: now + ttl_secs * 1000,
            used_at: None,
        });
    }
    tx.commit()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert_eq!(parse_username(" Alice ").unwrap(), "alice");
        for bad in [
            "a",
            "-bob",
            "bob/../x",
            "bob smith",
            "b\0b",
            &"x".repeat(33),
            "élise",
        ] {
            assert!(parse_username(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn invite_codes_normalize() {
        let c = new_invite_code();
        assert_eq!(c.len(), 14);
        assert_eq!(
            normalize_invite_code(&c.to_lowercase().replace('-', " ")),
            c
        );
    }
}
