//! The audit log: who signed in (or failed to), who registered, and every admin action, from
//! the API or the CLI. Writing an entry never fails the action it records (the failure is
//! logged); entries past `audit_retention` are deleted by the server's housekeeping.

use std::net::IpAddr;

use crate::db::users::User;
use crate::db::{self, Db};

pub use crate::db::audit::NewAuditEntry as Entry;
pub use crate::db::audit::{AuditEntry, AuditFilter};

/// Actions, as stored (one place to read them all).
pub mod action {
    pub const LOGIN: &str = "login";
    pub const LOGIN_FAILED: &str = "login-failed";
    pub const WEBDAV_LOGIN_FAILED: &str = "webdav-login-failed";
    pub const REGISTER: &str = "register";
    /// The first admin, made through the set-up page.
    pub const SETUP: &str = "setup";
    /// A set-up attempt with a wrong or used token.
    pub const SETUP_FAILED: &str = "setup-failed";
    pub const PASSWORD_CHANGE: &str = "password-change";
    pub const APP_PASSWORD_CREATE: &str = "app-password-create";
    pub const APP_PASSWORD_DELETE: &str = "app-password-delete";
    pub const USER_CREATE: &str = "user-create";
    pub const QUOTA_SET: &str = "quota-set";
    pub const USER_DISABLE: &str = "user-disable";
    pub const USER_ENABLE: &str = "user-enable";
    pub const VOLUME_PIN: &str = "volume-pin";
    pub const INVITES_CREATE: &str = "invites-create";
    pub const ACCESS_REQUEST_DELETE: &str = "access-request-delete";
    /// An access request answered with an invite code (the request is deleted with it).
    pub const ACCESS_REQUEST_INVITE: &str = "access-request-invite";
}

/// A name as a client typed it, fit for the log: trimmed, no control characters, at most 64.
pub fn typed_name(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect()
}

impl Entry {
    /// `user` did `action`.
    pub fn by(action: &'static str, user: &User) -> Entry {
        Entry {
            action,
            actor_id: Some(user.id.clone()),
            actor_name: user.username.clone(),
            ..Entry::default()
        }
    }

    /// Someone who named themselves `name` (a failed sign-in: no account is known).
    pub fn by_name(action: &'static str, name: &str) -> Entry {
        Entry {
            action,
            actor_name: typed_name(name),
            ..Entry::default()
        }
    }

    /// The administrator at the command line.
    pub fn by_cli(action: &'static str) -> Entry {
        Entry {
            action,
            actor_name: "cli".into(),
            ..Entry::default()
        }
    }

    pub fn on(mut self, user: &User) -> Entry {
        self.target_id = Some(user.id.clone());
        self.target_name = Some(user.username.clone());
        self
    }

    pub fn on_object(mut self, id: &str) -> Entry {
        self.target_id = Some(id.to_string());
        self
    }

    pub fn from(mut self, addr: IpAddr) -> Entry {
        self.address = Some(addr.to_string());
        self
    }

    pub fn detail(mut self, v: serde_json::Value) -> Entry {
        self.detail = Some(v.to_string());
        self
    }
}

/// Records an entry (on a blocking thread); a failure is logged, never returned.
pub async fn record(db: &Db, entry: Entry) {
    let action = entry.action;
    let done = db
        .run(move |c| db::audit::insert_audit_entry(c, &entry, db::now_ms()))
        .await;
    if let Err(e) = done {
        tracing::warn!(action, error = %e, "could not write the audit log");
    }
}

/// The same from a blocking context (the CLI).
pub fn record_blocking(conn: &rusqlite::Connection, entry: Entry) {
    if let Err(e) = db::audit::insert_audit_entry(conn, &entry, db::now_ms()) {
        tracing::warn!(action = entry.action, error = %e, "could not write the audit log");
    }
}

/// Deletes entries older than the retention; returns how many.
pub async fn expire(db: &Db, retention: std::time::Duration) -> crate::error::AppResult<usize> {
    let cutoff = db::now_ms() - retention.as_millis().min(i64::MAX as u128) as i64;
    db.run(move |c| db::audit::delete_audit_entries_before(c, cutoff))
        .await
}

/// The audit log as a service: what the doors and the other services record and read.
#[derive(Clone)]
pub struct AuditLog {
    db: Db,
}

impl AuditLog {
    pub fn new(db: Db) -> AuditLog {
        AuditLog { db }
    }

    /// Records an entry; a failure is logged, never returned.
    pub async fn record(&self, entry: Entry) {
        record(&self.db, entry).await
    }

    /// Entries matching `filter`, newest first.
    pub async fn list(&self, filter: AuditFilter) -> crate::error::AppResult<Vec<AuditEntry>> {
        self.db
            .run(move |c| db::audit::list_audit_entries(c, &filter))
            .await
    }

    /// Deletes entries older than `retention`; returns how many.
    pub async fn expire(&self, retention: std::time::Duration) -> crate::error::AppResult<usize> {
        expire(&self.db, retention).await
    }
}
