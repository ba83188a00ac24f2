//! Accounts and sessions: registration with invite codes, login, refresh-token rotation with
//! reuse detection, password changes, and the checks behind every authenticated request.

mod admin;
mod app_passwords;
pub mod avatar;
pub mod basic;
pub mod jwt;
pub mod limiter;
pub mod login_flow;
pub mod password;
pub mod revoked;
pub mod setup;

use std::sync::Arc;

use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;

use crate::config::Config;
pub use crate::db::app_passwords::AppPassword;
pub use crate::db::invites::Invite;
pub use crate::db::requests::AccessRequest;
use crate::db::users::NewUser;
pub use crate::db::users::User;
use crate::db::{self, Db};
use crate::error::{AppError, AppResult, ErrorCode};
use jwt::{Claims, JwtKeys};
use limiter::{RateLimiter, Slot};
use revoked::RevokedFamilies;

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
    /// Sign-ins whose access tokens must die before they expire.
    revoked: RevokedFamilies,
}

/// A password check that holds its places in both login limits (account and address): counted
/// as a failure unless [`Auth::login_succeeded`] gives the places back.
#[must_use]
pub struct LoginAttempt {
    account: Slot,
    address: Slot,
}

pub const APP_PASSWORD_PREFIX: &str = "cvap_";

/// App passwords are random (192 bits): a fast hash is enough to store them, and looking one up
/// costs no argon2.
pub fn hash_app_secret(secret: &str) -> String {
    blake3::hash(secret.as_bytes()).to_hex().to_string()
}

pub fn new_app_secret() -> String {
    let raw: [u8; 24] = rand::random();
    format!(
        "{APP_PASSWORD_PREFIX}{}",
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw)
    )
}

fn wrong_credentials() -> AppError {
    AppError::unauthorized("wrong username or password")
}

fn invalid_access_token() -> AppError {
    AppError::unauthorized("the access token is invalid or expired")
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
            ErrorCode::InvalidUsername,
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
            revoked: RevokedFamilies::default(),
        })
    }

    /// How long after its revocation (ms) a family's access tokens could still be accepted:
    /// the last one was issued at the latest when it was revoked.
    fn access_token_reach_ms(&self) -> i64 {
        (self.access_ttl + jwt::LEEWAY_SECS as i64) * 1000
    }

    /// Ends the access tokens of `family` now (its refresh tokens are revoked in the database
    /// by the caller, in the same transaction that calls this just before committing).
    fn forget_family(&self, family: &str, revoked_at_ms: i64) {
        self.revoked.insert(
            family,
            revoked_at_ms + self.access_token_reach_ms(),
            db::now_ms(),
        );
    }

    /// At start-up: the families revoked recently enough that access tokens issued in them
    /// could still be alive. Returns how many.
    pub fn restore_revoked_families(&self, conn: &Connection) -> AppResult<usize> {
        let now = db::now_ms();
        let families =
            db::tokens::list_families_revoked_since(conn, now - self.access_token_reach_ms())?;
        for (family, revoked_at) in &families {
            self.forget_family(family, *revoked_at);
        }
        Ok(families.len())
    }

    /// Issues an access token and a new refresh token in `family` (a new family on login).
    fn issue_pair(
        &self,
        conn: &Connection,
        user: &User,
        family: Option<&str>,
    ) -> AppResult<TokenPair> {
        let now = now_secs();
        let family = family.map(str::to_string).unwrap_or_else(db::new_id);
        let access =
            self.keys
                .issue(&user.id, user.token_version, &family, now, self.access_ttl)?;
        let media = self.keys.issue_typed(
            &user.id,
            user.token_version,
            &family,
            now,
            self.access_ttl,
            "media",
        )?;
        let refresh = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            rand::random::<[u8; 32]>(),
        );
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

    /// Takes a place in both login limits in one step each (`rate-limited` when either is
    /// full, and then nothing stays counted): at most the configured number of password checks
    /// per window, however many arrive at once.
    pub fn begin_login(&self, username: &str, address: &str) -> AppResult<LoginAttempt> {
        let account = self
            .login_by_account
            .acquire(&format!("login:{username}"))
            .map_err(AppError::rate_limited)?;
        match self
            .login_by_address
            .acquire(&format!("login-addr:{address}"))
        {
            Ok(address) => Ok(LoginAttempt { account, address }),
            Err(wait) => {
                self.login_by_account.refund(account);
                Err(AppError::rate_limited(wait))
            }
        }
    }

    /// A set-up attempt holds a place in the address's login limit: a wrong set-up token counts
    /// as a failed sign-in from there. (No limit shared by every address: one guesser must not
    /// lock the owner out of their own set-up, and 256 random bits are not guessed anyway.)
    pub fn begin_setup(&self, address: &str) -> AppResult<Slot> {
        self.login_by_address
            .acquire(&format!("login-addr:{address}"))
            .map_err(AppError::rate_limited)
    }

    /// The set-up token was right: the attempt does not count as a failure.
    pub fn setup_succeeded(&self, slot: Slot) {
        self.login_by_address.refund(slot);
    }

    /// The credentials were right: the attempt does not count as a failure.
    pub fn login_succeeded(&self, attempt: LoginAttempt) {
        self.login_by_account.refund(attempt.account);
        self.login_by_address.refund(attempt.address);
    }

    pub fn access_ttl(&self) -> i64 {
        self.access_ttl
    }

    pub fn refresh_ttl(&self) -> i64 {
        self.refresh_ttl
    }

    /// The claims of a token of type `typ` ("access", or "media" from the media cookie): signed
    /// by us, not expired, and not from a revoked sign-in. Needs no database connection; the
    /// account is checked next with [`Auth::current_user`].
    pub fn verify_token(&self, token: &str, typ: &str) -> AppResult<Claims> {
        let claims = self.keys.verify_typed(token, typ)?;
        if claims
            .fam
            .as_deref()
            .is_some_and(|f| self.revoked.contains(f))
        {
            return Err(invalid_access_token());
        }
        Ok(claims)
    }

    /// The account behind verified claims, if it is enabled and its sessions were not revoked
    /// since (password change, disabling: `token_version`).
    pub fn current_user(&self, conn: &Connection, claims: &Claims) -> AppResult<User> {
        match db::users::find_user_by_id(conn, &claims.sub)? {
            Some(u) if !u.disabled && u.token_version == claims.tv => Ok(u),
            _ => Err(invalid_access_token()),
        }
    }

    /// The user behind an access token, if the token is valid and still current.
    pub fn authenticate(&self, conn: &Connection, token: &str) -> AppResult<User> {
        self.authenticate_typed(conn, token, "access")
    }

    /// The user behind a token of type `typ` ("access", or "media" from the media cookie).
    pub fn authenticate_typed(&self, conn: &Connection, token: &str, typ: &str) -> AppResult<User> {
        let claims = self.verify_token(token, typ)?;
        self.current_user(conn, &claims)
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

pub(crate) fn insert_user_tx(
    tx: &Connection,
    username: &str,
    hash: &str,
    is_admin: bool,
    quota: i64,
) -> AppResult<User> {
    if db::users::find_user_by_name(tx, username)?.is_some() {
        return Err(AppError::conflict(
            ErrorCode::UsernameTaken,
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
        "INSERT INTO nodes (id, owner_id, parent_id, name, sort_key, kind, created_at, modified_at, etag)
         VALUES (?1, ?2, NULL, '', '', 'dir', ?3, ?3, ?4)",
        rusqlite::params![root, id, now, format!("{:016x}", rand::random::<u64>())],
    )?;
    db::users::find_user_by_id(tx, &id)?.ok_or_else(|| AppError::internal("user vanished"))
}

pub struct Accounts {
    pub db: Db,
    pub auth: Arc<Auth>,
    pub default_quota: i64,
    /// First-run set-up: the one-time token behind the printed set-up link.
    pub setup: setup::SetupToken,
    /// Basic credentials that recently proved an account password.
    pub basic: basic::BasicCache,
    /// Nextcloud apps signing in through the browser (Login Flow v2).
    pub login_flows: login_flow::LoginFlows,
}

impl Accounts {
    /// Whether the server still waits for its first admin (no admin account exists).
    pub async fn setup_needed(&self) -> AppResult<bool> {
        Ok(self.db.run(|c| db::users::count_admins(c)).await? == 0)
    }

    /// At start: a new set-up token for the printed link while no admin exists, else none (and
    /// any earlier token is forgotten).
    pub async fn setup_link_token(&self) -> AppResult<Option<String>> {
        if self.setup_needed().await? {
            Ok(Some(self.setup.issue()))
        } else {
            self.setup.forget();
            Ok(None)
        }
    }

    /// Creates the first admin with the set-up token, signed in at once. Refused with
    /// `setup-done` once any admin exists (the token is then forgotten), `setup-token-invalid`
    /// for a wrong or used token; wrong tokens count against the caller's address like failed
    /// logins. The token is used up by the admin it made.
    pub async fn setup_first_admin(
        &self,
        token: &str,
        username: &str,
        password: &str,
        address: &str,
    ) -> AppResult<(User, TokenPair)> {
        let done = || {
            AppError::conflict(
                ErrorCode::SetupDone,
                "this server is set up already: sign in",
            )
        };
        if !self.setup_needed().await? {
            self.setup.forget();
            return Err(done());
        }
        let attempt = self.auth.begin_setup(address)?;
        if !self.setup.matches(token) {
            // Used up by a set-up that just finished: say so rather than "wrong link".
            if !self.setup_needed().await? {
                return Err(done());
            }
            return Err(AppError::new(
                ErrorCode::SetupTokenInvalid,
                "the set-up link is wrong or was used already: use the link the server printed at its last start",
            ));
        }
        self.auth.setup_succeeded(attempt);
        let username = parse_username(username)?;
        password::check_password_rules(password, &username)?;
        let pw = password.to_string();
        let hash = tokio::task::spawn_blocking(move || password::hash_password(&pw)).await??;
        let auth = self.auth.clone();
        let quota = self.default_quota;
        let made = self
            .db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                // Checked again in the write transaction: two set-ups at once make one admin.
                if db::users::count_admins(&tx)? > 0 {
                    return Err(done());
                }
                let user = insert_user_tx(&tx, &username, &hash, true, quota)?;
                let pair = auth.issue_pair(&tx, &user, None)?;
                tx.commit()?;
                Ok((user, pair))
            })
            .await;
        if made.is_ok() || made.as_ref().is_err_and(|e| e.code == ErrorCode::SetupDone) {
            self.setup.forget();
        }
        made
    }

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
                        ErrorCode::InvalidInvite,
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

    /// The account behind a username and its password, checked the same way for every door
    /// (API login, WebDAV Basic): a place in the login limits first, then the row read and the
    /// connection given back, then argon2 on a blocking thread while no connection is held.
    /// Every failure (unknown user, wrong password, disabled account) gives the same answer.
    pub async fn check_password(
        &self,
        username: &str,
        password: &str,
        address: &str,
    ) -> AppResult<User> {
        let username = username.trim().to_lowercase();
        let attempt = self.auth.begin_login(&username, address)?;
        let result = self.verify_password_of(username, password).await;
        if result.is_ok() {
            self.auth.login_succeeded(attempt);
        }
        result
    }

    async fn verify_password_of(&self, username: String, password: &str) -> AppResult<User> {
        if password.len() > password::MAX_PASSWORD_BYTES {
            return Err(wrong_credentials());
        }
        let user = self
            .db
            .run(move |c| db::users::find_user_by_name(c, &username))
            .await?;
        let hash = user
            .as_ref()
            .map_or_else(|| self.auth.dummy_hash.clone(), |u| u.password_hash.clone());
        let pw = password.to_string();
        let ok = tokio::task::spawn_blocking(move || password::verify_password(&pw, &hash)).await?;
        match user {
            Some(u) if ok && !u.disabled => Ok(u),
            _ => Err(wrong_credentials()),
        }
    }

    /// An app password (`cvap_…`, WebDAV clients): looked up by its hash, no argon2. Counts
    /// against the same login limits as passwords.
    pub async fn check_app_password(
        &self,
        username: &str,
        secret: &str,
        address: &str,
    ) -> AppResult<User> {
        let username = username.trim().to_lowercase();
        let attempt = self.auth.begin_login(&username, address)?;
        let hash = hash_app_secret(secret);
        let result = self
            .db
            .run(move |c| {
                let Some(ap) = db::app_passwords::find_by_secret_hash(c, &hash)? else {
                    return Err(wrong_credentials());
                };
                match db::users::find_user_by_name(c, &username)? {
                    Some(u) if u.id == ap.user_id && !u.disabled => {
                        db::app_passwords::touch_app_password(c, &ap.id, db::now_ms())?;
                        Ok(u)
                    }
                    _ => Err(wrong_credentials()),
                }
            })
            .await;
        if result.is_ok() {
            self.auth.login_succeeded(attempt);
        }
        result
    }

    /// Signs in: a new sign-in (token family) for the right credentials.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        address: &str,
    ) -> AppResult<(User, TokenPair)> {
        let checked = self.check_password(username, password, address).await?;
        let auth = self.auth.clone();
        self.db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                // The password was checked without a connection: the account may have been
                // disabled or its password changed since (both bump token_version).
                match db::users::find_user_by_id(&tx, &checked.id)? {
                    Some(u) if !u.disabled && u.token_version == checked.token_version => {
                        let pair = auth.issue_pair(&tx, &u, None)?;
                        tx.commit()?;
                        Ok((u, pair))
                    }
                    _ => Err(wrong_credentials()),
                }
            })
            .await
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
                    // Before the commit: from the moment the revocation is visible, no access
                    // token of the family passes (an error here rolls back; the family then
                    // stays dead in memory only, the safe side).
                    auth.forget_family(&t.family_id, now);
                    tx.commit()?;
                    tracing::warn!(user = %t.user_id, "refresh token reuse: sign-in revoked");
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

    /// Ends the sign-in the refresh token belongs to: its refresh and access tokens.
    pub async fn logout(&self, token: &str) -> AppResult<()> {
        let hash = hash_token(token);
        let auth = self.auth.clone();
        self.db
            .run(move |c| {
                if let Some(t) = db::tokens::find_refresh_token(c, &hash)? {
                    let now = db::now_ms();
                    auth.forget_family(&t.family_id, now);
                    db::tokens::revoke_family(c, &t.family_id, now)?;
                }
                Ok(())
            })
            .await
    }

    /// Changes the password, revokes every session of the user, and returns a fresh one.
    /// Checking the current password is a password check like a login: it takes a place in the
    /// same limits (per account and per address), so a stolen access token cannot be used to
    /// guess the password faster than the sign-in page allows.
    pub async fn change_password(
        &self,
        user: &User,
        current: &str,
        new: &str,
        address: &str,
    ) -> AppResult<TokenPair> {
        password::check_password_rules(new, &user.username)?;
        let attempt = self.auth.begin_login(&user.username, address)?;
        let (cur, new, old_hash) = (
            current.to_string(),
            new.to_string(),
            user.password_hash.clone(),
        );
        let checked_hash = old_hash.clone();
        let hash = tokio::task::spawn_blocking(move || {
            if cur.len() > password::MAX_PASSWORD_BYTES
                || !password::verify_password(&cur, &checked_hash)
            {
                return Err(AppError::unauthorized("the current password is wrong"));
            }
            password::hash_password(&new)
        })
        .await??;
        self.auth.login_succeeded(attempt);
        let auth = self.auth.clone();
        let id = user.id.clone();
        self.db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                // The current password was checked against the row read when the request came
                // in, without a connection: a change that landed since wins, this one is refused.
                match db::users::find_user_by_id(&tx, &id)? {
                    Some(u) if u.password_hash == old_hash => {}
                    _ => return Err(AppError::unauthorized("the current password is wrong")),
                }
                db::users::set_password(&tx, &id, &hash)?;
                db::tokens::revoke_user_tokens(&tx, &id, db::now_ms())?;
                let user = db::users::find_user_by_id(&tx, &id)?.ok_or_else(AppError::not_found)?;
                let pair = auth.issue_pair(&tx, &user, None)?;
                tx.commit()?;
                Ok(pair)
            })
            .await
    }

    /// An admin (`actor`) disables or enables the account `id`. Disabling ends its sessions
    /// (access tokens by token version, refresh tokens revoked); enabling signs nobody out. The
    /// actor is checked again under the write lock: two admins disabling each other at once must
    /// not both succeed (and leave no admin who can sign in).
    /// `audit` names who asks and from where; it is completed (the account, enable or disable)
    /// and written in the same transaction.
    pub async fn set_disabled(
        &self,
        actor: &str,
        id: &str,
        disabled: bool,
        audit: crate::audit::Entry,
    ) -> AppResult<User> {
        // An admin who could disable themselves could leave the server with no admin at all.
        if id == actor && disabled {
            return Err(AppError::conflict(
                ErrorCode::CannotDisableSelf,
                "you cannot disable your own account",
            ));
        }
        let (actor, id) = (actor.to_string(), id.to_string());
        self.run_audited(move |tx| {
            if !db::users::find_user_by_id(tx, &actor)?.is_some_and(|a| a.is_admin && !a.disabled) {
                return Err(AppError::unauthorized("this account was disabled"));
            }
            if !db::users::set_disabled(tx, &id, disabled)? {
                return Err(AppError::new(ErrorCode::UserNotFound, "no such user"));
            }
            if disabled {
                db::tokens::revoke_user_tokens(tx, &id, db::now_ms())?;
            }
            let u = db::users::find_user_by_id(tx, &id)?.ok_or_else(AppError::not_found)?;
            let mut audit = audit.on(&u);
            audit.action = if disabled {
                crate::audit::action::USER_DISABLE
            } else {
                crate::audit::action::USER_ENABLE
            };
            Ok((u, audit))
        })
        .await
    }

    /// `audit` names who asks and from where; the entry (with the count) is written in the
    /// transaction that makes the codes.
    pub async fn create_invites(
        &self,
        count: u32,
        ttl_secs: Option<i64>,
        by: Option<String>,
        audit: crate::audit::Entry,
    ) -> AppResult<Vec<db::invites::Invite>> {
        if !(1..=100).contains(&count) {
            return Err(AppError::bad_request(
                ErrorCode::InvalidCount,
                "count must be between 1 and 100",
            ));
        }
        let ttl = self.invite_ttl(ttl_secs)?;
        self.run_audited(move |tx| {
            let codes = create_invites_blocking(tx, count, ttl, by.as_deref())?;
            let audit = audit.detail(serde_json::json!({ "count": codes.len() }));
            Ok((codes, audit))
        })
        .await
    }

    fn invite_ttl(&self, ttl_secs: Option<i64>) -> AppResult<i64> {
        let ttl = ttl_secs.unwrap_or(self.auth.invite_ttl);
        if ttl <= 0 || ttl > 365 * 86400 {
            return Err(AppError::bad_request(
                ErrorCode::InvalidExpiry,
                "an invite lasts between 1 second and 365 days",
            ));
        }
        Ok(ttl)
    }

    /// Answers an access request with an invite code: the code is made, the answer recorded in
    /// the audit log (`audit`, with the request's name added) and the request deleted, in one
    /// transaction, so a request is answered once (a second answer finds no request).
    pub async fn invite_for_access_request(
        &self,
        request_id: &str,
        ttl_secs: Option<i64>,
        by: &User,
        mut audit: db::audit::NewAuditEntry,
    ) -> AppResult<(db::requests::AccessRequest, db::invites::Invite)> {
        let ttl = self.invite_ttl(ttl_secs)?;
        let (request_id, by) = (request_id.to_string(), by.id.clone());
        self.run_audited(move |tx| {
            let request = db::requests::find_request(tx, &request_id)?.ok_or_else(|| {
                AppError::new(
                    ErrorCode::RequestNotFound,
                    "no such access request (it may have been answered already)",
                )
            })?;
            let now = db::now_ms();
            let code = new_invite_code();
            db::invites::insert_invite(tx, &code, Some(&by), now, now + ttl * 1000)?;
            db::requests::delete_request(tx, &request.id)?;
            audit.target_id = Some(request.id.clone());
            audit.detail = Some(
                serde_json::json!({ "name": request.name, "contact": request.contact }).to_string(),
            );
            let invite = db::invites::Invite {
                code,
                created_at: now,
                expires_at: now + ttl * 1000,
                used_at: None,
            };
            Ok(((request, invite), audit))
        })
        .await
    }
}

/// Makes `count` invite codes inside the caller's transaction `tx`.
pub fn create_invites_blocking(
    tx: &Connection,
    count: u32,
    ttl_secs: i64,
    by: Option<&str>,
) -> AppResult<Vec<db::invites::Invite>> {
    let now = db::now_ms();
    let mut out = Vec::new();
    for _ in 0..count {
        let code = new_invite_code();
        db::invites::insert_invite(tx, &code, by, now, now + ttl_secs * 1000)?;
        out.push(db::invites::Invite {
            code,
            created_at: now,
            expires_at: now + ttl_secs * 1000,
            used_at: None,
        });
    }
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
