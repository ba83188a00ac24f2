//! `/api/auth/*`: register with an invite, login, refresh, logout, me, password, request-access.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::auth::TokenPair;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::http::dto::UserResponse;
use crate::http::extract::{ApiJson, AuthUser, ClientAddr};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub invite_code: String,
    pub username: String,
    pub password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRequestRequest {
    pub name: String,
    pub contact: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Serialize)]
pub struct SessionResponse {
    pub user: UserResponse,
    #[serde(flatten)]
    pub tokens: TokenPair,
}

pub async fn register(
    State(app): State<App>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> AppResult<(StatusCode, Json<SessionResponse>)> {
    let (user, tokens) = app
        .accounts
        .register(&req.invite_code, &req.username, &req.password)
        .await?;
    tracing::info!(user = %user.id, username = %user.username, "registered");
    Ok((
        StatusCode::CREATED,
        Json(SessionResponse {
            user: UserResponse::from(&user),
            tokens,
        }),
    ))
}

pub async fn login(
    State(app): State<App>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> AppResult<Json<SessionResponse>> {
    let (user, tokens) = app
        .accounts
        .login(&req.username, &req.password, &addr.to_string())
        .await?;
    Ok(Json(SessionResponse {
        user: UserResponse::from(&user),
        tokens,
    }))
}

pub async fn refresh(
    State(app): State<App>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> AppResult<Json<TokenPair>> {
    Ok(Json(app.accounts.refresh(&req.refresh_token).await?))
}

pub async fn logout(
    State(app): State<App>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> AppResult<StatusCode> {
    app.accounts.logout(&req.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn me(AuthUser(user): AuthUser) -> Json<UserResponse> {
    Json(UserResponse::from(&user))
}

pub async fn change_password(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<PasswordRequest>,
) -> AppResult<Json<TokenPair>> {
    Ok(Json(
        app.accounts
            .change_password(&user, &req.current_password, &req.new_password)
            .await?,
    ))
}

const MAX_NAME: usize = 100;
const MAX_CONTACT: usize = 200;
const MAX_MESSAGE: usize = 2000;

pub async fn request_access(
    State(app): State<App>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<AccessRequestRequest>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let (name, contact, message) = (
        req.name.trim().to_string(),
        req.contact.trim().to_string(),
        req.message.trim().to_string(),
    );
    if name.is_empty() || contact.is_empty() {
        return Err(AppError::bad_request(
            "invalid-request",
            "name and contact are required",
        ));
    }
    if name.chars().count() > MAX_NAME
        || contact.chars().count() > MAX_CONTACT
        || message.chars().count() > MAX_MESSAGE
    {
        return Err(AppError::bad_request(
            "too-long",
            format!(
                "name up to {MAX_NAME}, contact up to {MAX_CONTACT} and message up to {MAX_MESSAGE} characters"
            ),
        ));
    }
    if [&name, &contact, &message]
        .iter()
        .any(|s| s.chars().any(|c| c.is_control() && c != '\n'))
    {
        return Err(AppError::bad_request(
            "invalid-request",
            "control characters are not allowed",
        ));
    }
    app.auth
        .requests_by_address
        .try_hit(&addr.to_string())
        .map_err(AppError::rate_limited)?;
    let r = db::requests::AccessRequest {
        id: db::new_id(),
        name,
        contact,
        message,
        created_at: db::now_ms(),
    };
    let remote = addr.to_string();
    app.db
        .run(move |c| db::requests::insert_request(c, &r, Some(&remote)))
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({"status": "received"})),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppPasswordRequest {
    pub name: String,
}

/// A new app password for a WebDAV client: the secret is in this answer only.
pub async fn create_app_password(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<AppPasswordRequest>,
) -> AppResult<(StatusCode, Json<serde_json::Value>)> {
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::bad_request(
            "invalid-name",
            "name the app password (1 to 100 characters), e.g. \"laptop rclone\"",
        ));
    }
    let secret = crate::dav::auth::new_app_secret();
    let p = db::app_passwords::AppPassword {
        id: db::new_id(),
        user_id: user.id.clone(),
        name,
        created_at: db::now_ms(),
        last_used_at: None,
    };
    let hash = crate::dav::auth::hash_app_secret(&secret);
    let row = p.clone();
    app.db
        .run(move |c| db::app_passwords::insert_app_password(c, &row, &hash))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "id": p.id, "name": p.name, "password": secret, "created_at": crate::http::dto::rfc3339(p.created_at),
            "username": user.username,
        })),
    ))
}

pub async fn list_app_passwords(
    State(app): State<App>,
    AuthUser(user): AuthUser,
) -> AppResult<Json<serde_json::Value>> {
    let list = app
        .db
        .run(move |c| db::app_passwords::list_app_passwords(c, &user.id))
        .await?;
    let items: Vec<serde_json::Value> = list
        .iter()
        .map(|p| {
            serde_json::json!({
                "id": p.id, "name": p.name, "created_at": crate::http::dto::rfc3339(p.created_at),
                "last_used_at": p.last_used_at.map(crate::http::dto::rfc3339),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "app_passwords": items })))
}

pub async fn delete_app_password(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> AppResult<StatusCode> {
    let found = app
        .db
        .run(move |c| db::app_passwords::delete_app_password(c, &user.id, &id))
        .await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found())
    }
}
