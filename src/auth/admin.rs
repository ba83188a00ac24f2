//! What the admin (API and CLI) and the sign-in page ask of accounts beyond signing in: users
//! and quotas, invite codes, access requests, and the token check behind every API request.

use super::Accounts;
use super::jwt::Claims;
use crate::db::invites::Invite;
use crate::db::requests::AccessRequest;
use crate::db::users::User;
use crate::db::{self};
use crate::error::{AppError, AppResult, ErrorCode};
use rusqlite::{Connection, TransactionBehavior};

// An audit entry as a door starts it (who asks, from where); the service completes it.
use crate::audit::Entry;

const MAX_NAME: usize = 100;
const MAX_CONTACT: usize = 200;
const MAX_MESSAGE: usize = 2000;

fn user_not_found() -> AppError {
    AppError::new(ErrorCode::UserNotFound, "no such user")
}

impl Accounts {
    /// Runs `change` in one immediate transaction and writes the audit entry it completes in
    /// that transaction: an admin's change and its record land together or not at all.
    pub(super) async fn run_audited<T, F>(&self, change: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> AppResult<(T, Entry)> + Send + 'static,
    {
        self.db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let (out, audit) = change(&tx)?;
                db::audit::insert_audit_entry(&tx, &audit, db::now_ms())?;
                tx.commit()?;
                Ok(out)
            })
            .await
    }

    /// The account behind a verified access token, if it is still enabled and its sessions
    /// were not revoked since (token version).
    pub async fn current_user(&self, claims: Claims) -> AppResult<User> {
        let auth = self.auth.clone();
        self.db.run(move |c| auth.current_user(c, &claims)).await
    }

    pub async fn list_users(&self) -> AppResult<Vec<User>> {
        self.db.run(|c| db::users::list_users(c)).await
    }

    /// Sets a user's quota. Lowering it below usage refuses new writes; it never deletes anything.
    /// `audit` names who asks and from where; it is completed and written in the same transaction.
    pub async fn set_quota(&self, user_id: &str, bytes: u64, audit: Entry) -> AppResult<User> {
        let bytes = i64::try_from(bytes)
            .map_err(|_| AppError::bad_request(ErrorCode::InvalidQuota, "quota out of range"))?;
        let id = user_id.to_string();
        self.run_audited(move |tx| {
            if !db::users::set_quota(tx, &id, bytes)? {
                return Err(user_not_found());
            }
            let user = db::users::find_user_by_id(tx, &id)?.ok_or_else(user_not_found)?;
            let audit = audit
                .on(&user)
                .detail(serde_json::json!({ "quota_bytes": bytes }));
            Ok((user, audit))
        })
        .await
    }

    /// The account named `name` (case-insensitive), if any.
    pub async fn find_user_by_name(&self, name: &str) -> AppResult<Option<User>> {
        let name = name.trim().to_lowercase();
        self.db
            .run(move |c| db::users::find_user_by_name(c, &name))
            .await
    }

    /// Creates an account as an admin does (the CLI): the username and password rules as for
    /// registration, the password hashed on a blocking thread, the default quota unless given.
    /// `audit` names who asks; it is completed and written in the transaction that creates the
    /// account.
    pub async fn create_user_by_admin(
        &self,
        name: &str,
        password: String,
        is_admin: bool,
        quota: Option<u64>,
        audit: Entry,
    ) -> AppResult<User> {
        let username = super::parse_username(name)?;
        super::password::check_password_rules(&password, &username)?;
        let hash = tokio::task::spawn_blocking(move || super::password::hash_password(&password))
            .await??;
        let quota = match quota {
            Some(q) => i64::try_from(q).map_err(|_| {
                AppError::bad_request(ErrorCode::InvalidQuota, "quota out of range")
            })?,
            None => self.default_quota,
        };
        self.run_audited(move |tx| {
            let user = super::insert_user_tx(tx, &username, &hash, is_admin, quota)?;
            let audit = audit
                .on(&user)
                .detail(serde_json::json!({ "admin": is_admin, "quota_bytes": quota }));
            Ok((user, audit))
        })
        .await
    }

    /// Pins a user's new files to one volume (`None`: the placement policy decides), audited in
    /// the same transaction.
    pub async fn pin_volume(
        &self,
        user_id: &str,
        volume: Option<String>,
        audit: Entry,
    ) -> AppResult<User> {
        let id = user_id.to_string();
        self.run_audited(move |tx| {
            db::users::set_pinned_volume(tx, &id, volume.as_deref())?;
            let user = db::users::find_user_by_id(tx, &id)?.ok_or_else(user_not_found)?;
            let audit = audit
                .on(&user)
                .detail(serde_json::json!({ "volume": volume }));
            Ok((user, audit))
        })
        .await
    }

    pub async fn list_active_invites(&self) -> AppResult<Vec<Invite>> {
        self.db
            .run(|c| db::invites::list_active_invites(c, db::now_ms()))
            .await
    }

    pub async fn list_access_requests(&self) -> AppResult<Vec<AccessRequest>> {
        self.db.run(|c| db::requests::list_requests(c)).await
    }

    /// Dismisses an access request; false when there was none of that id.
    pub async fn delete_access_request(&self, id: &str) -> AppResult<bool> {
        let id = id.to_string();
        self.db
            .run(move |c| db::requests::delete_request(c, &id))
            .await
    }

    /// Someone without an account asks for one (name, contact, an optional message): checked,
    /// limited per address, and kept for the admins.
    pub async fn request_access(
        &self,
        name: &str,
        contact: &str,
        message: &str,
        address: &str,
    ) -> AppResult<()> {
        let (name, contact, message) = (name.trim(), contact.trim(), message.trim());
        if name.is_empty() || contact.is_empty() {
            return Err(AppError::bad_request(
                ErrorCode::InvalidRequest,
                "name and contact are required",
            ));
        }
        if name.chars().count() > MAX_NAME
            || contact.chars().count() > MAX_CONTACT
            || message.chars().count() > MAX_MESSAGE
        {
            return Err(AppError::bad_request(
                ErrorCode::TooLong,
                format!(
                    "name up to {MAX_NAME}, contact up to {MAX_CONTACT} and message up to {MAX_MESSAGE} characters"
                ),
            ));
        }
        if [name, contact, message]
            .iter()
            .any(|s| s.chars().any(|c| c.is_control() && c != '\n'))
        {
            return Err(AppError::bad_request(
                ErrorCode::InvalidRequest,
                "control characters are not allowed",
            ));
        }
        self.auth
            .requests_by_address
            .try_hit(address)
            .map_err(AppError::rate_limited)?;
        let r = AccessRequest {
            id: db::new_id(),
            name: name.to_string(),
            contact: contact.to_string(),
            message: message.to_string(),
            created_at: db::now_ms(),
        };
        let remote = address.to_string();
        self.db
            .run(move |c| db::requests::insert_request(c, &r, Some(&remote)))
            .await
    }
}
