//! Accounts: users, sessions, set-up, access requests (the asking side), app passwords.

use serde::Serialize;
use ts_rs::TS;

use super::rfc3339;
use crate::auth::AppPassword;
use crate::auth::User;

#[derive(Serialize, TS)]
#[ts(rename = "User")]
pub struct UserResponse {
    pub id: String,
    pub username: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub quota_bytes: i64,
    pub used_bytes: i64,
    pub created_at: String,
}

impl From<&User> for UserResponse {
    fn from(u: &User) -> Self {
        UserResponse {
            id: u.id.clone(),
            username: u.username.clone(),
            is_admin: u.is_admin,
            disabled: u.disabled,
            quota_bytes: u.quota_bytes,
            used_bytes: u.used_bytes,
            created_at: rfc3339(u.created_at),
        }
    }
}

/// `GET /api/admin/users`.
#[derive(Serialize, TS)]
#[ts(rename = "UserList")]
pub struct UsersResponse {
    pub users: Vec<UserResponse>,
}

/// The tokens as sent: without `refresh_token` for a cookie session.
#[derive(Serialize, TS)]
#[ts(rename = "Tokens")]
pub struct TokensResponse {
    pub access_token: String,
    /// Absent for a browser session: the refresh token is then an `HttpOnly` cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub refresh_token: Option<String>,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_expires_in: i64,
}

/// What sign-in, registration and set-up answer.
#[derive(Serialize, TS)]
#[ts(rename = "Session")]
pub struct SessionResponse {
    pub user: UserResponse,
    #[serde(flatten)]
    pub tokens: TokensResponse,
}

/// `GET /api/setup`: whether the server still waits for its first admin.
#[derive(Serialize, TS)]
#[ts(rename = "SetupStatus")]
pub struct SetupStatusResponse {
    pub needed: bool,
}

/// `POST /api/auth/request-access` (202).
#[derive(Serialize, TS)]
#[ts(rename = "AccessRequestReceived")]
pub struct AccessRequestReceivedResponse {
    #[ts(type = "\"received\"")]
    pub status: &'static str,
}

impl AccessRequestReceivedResponse {
    pub fn new() -> Self {
        AccessRequestReceivedResponse { status: "received" }
    }
}

impl Default for AccessRequestReceivedResponse {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Serialize, TS)]
#[ts(rename = "AppPassword")]
pub struct AppPasswordResponse {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<&AppPassword> for AppPasswordResponse {
    fn from(p: &AppPassword) -> Self {
        AppPasswordResponse {
            id: p.id.clone(),
            name: p.name.clone(),
            created_at: rfc3339(p.created_at),
            last_used_at: p.last_used_at.map(rfc3339),
        }
    }
}

/// `GET /api/auth/app-passwords`.
#[derive(Serialize, TS)]
#[ts(rename = "AppPasswordList")]
pub struct AppPasswordsResponse {
    pub app_passwords: Vec<AppPasswordResponse>,
}

/// `GET /api/login-flows/{token}` and its grant: the app that asks to sign in (Nextcloud's
/// Login Flow v2), by the name its app password gets.
#[derive(Serialize, TS)]
#[ts(rename = "LoginFlow")]
pub struct LoginFlowResponse {
    pub client: String,
}

/// `POST /api/login-flows`: what the phone app's sign-in page hands the app (`nc://login/...`).
#[derive(Serialize, TS)]
#[ts(rename = "DirectLogin")]
pub struct DirectLoginResponse {
    /// The address the page reached the server at.
    pub server: String,
    pub login_name: String,
    /// A new app password, named after the app (in this answer only).
    pub app_password: String,
}

/// A new app password: the secret is in this answer only.
#[derive(Serialize, TS)]
#[ts(rename = "NewAppPassword")]
pub struct NewAppPasswordResponse {
    pub id: String,
    pub name: String,
    pub password: String,
    pub created_at: String,
    /// The user name to pair it with (WebDAV clients ask for both).
    pub username: String,
}
