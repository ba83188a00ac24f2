//! `/api/auth/*`: register with an invite, login, refresh, logout, me, password, request-access.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::audit::{Entry, action};
use crate::auth::TokenPair;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::cookies::{self, CookieContext};
use crate::http::dto::{
    AccessRequestReceivedResponse, AppPasswordResponse, AppPasswordsResponse,
    NewAppPasswordResponse, SessionResponse, SetupStatusResponse, TokensResponse, UserResponse,
};
use crate::http::extract::{ApiJson, AuthUser, ClientAddr};
use crate::state::App;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub invite_code: String,
    pub username: String,
    pub password: String,
    /// Browser sessions: the refresh token goes into an HttpOnly cookie, not into the answer.
    #[serde(default)]
    pub cookie: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupRequest {
    pub token: String,
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub cookie: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub cookie: bool,
}

/// API clients send the refresh token in the body; the browser sends nothing and has the cookie.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: Option<String>,
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

/// Puts a new pair in the answer: for a cookie session the refresh token (and the media token)
/// become cookies and the JSON carries only the access token.
fn hand_out(
    pair: TokenPair,
    cookie: bool,
    ctx: &CookieContext,
    out: &mut HeaderMap,
) -> TokensResponse {
    if cookie {
        cookies::set_session_cookies(out, &pair, ctx.secure);
    }
    TokensResponse {
        access_token: pair.access_token,
        refresh_token: if cookie {
            None
        } else {
            Some(pair.refresh_token)
        },
        token_type: pair.token_type,
        expires_in: pair.expires_in,
        refresh_expires_in: pair.refresh_expires_in,
    }
}

fn parse_optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> AppResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    crate::http::extract::parse_json_object(body)
}

pub async fn register(
    State(app): State<App>,
    ClientAddr(addr): ClientAddr,
    ctx: CookieContext,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> AppResult<(StatusCode, HeaderMap, Json<SessionResponse>)> {
    let (user, pair) = app
        .accounts
        .register(&req.invite_code, &req.username, &req.password)
        .await?;
    tracing::info!(user = %user.id, username = %user.username, "registered");
    app.audit
        .record(Entry::by(action::REGISTER, &user).from(addr))
        .await;
    let mut out = HeaderMap::new();
    let tokens = hand_out(pair, req.cookie, &ctx, &mut out);
    Ok((
        StatusCode::CREATED,
        out,
        Json(SessionResponse {
            user: UserResponse::from(&user),
            tokens,
        }),
    ))
}

/// `GET /api/setup`: whether the server still waits for its first admin (the web UI then shows
/// the set-up page instead of the sign-in form).
pub async fn setup_status(State(app): State<App>) -> AppResult<Json<SetupStatusResponse>> {
    let needed = app.accounts.setup_needed().await?;
    Ok(Json(SetupStatusResponse { needed }))
}

/// `POST /api/setup`: the first admin, made with the one-time token of the printed set-up link,
/// signed in as a registration is.
pub async fn setup(
    State(app): State<App>,
    ClientAddr(addr): ClientAddr,
    ctx: CookieContext,
    ApiJson(req): ApiJson<SetupRequest>,
) -> AppResult<(StatusCode, HeaderMap, Json<SessionResponse>)> {
    let result = app
        .accounts
        .setup_first_admin(&req.token, &req.username, &req.password, &addr.to_string())
        .await;
    if let Err(e) = &result
        && e.code == ErrorCode::SetupTokenInvalid
    {
        let entry = Entry::by_name(action::SETUP_FAILED, &req.username);
        app.audit.record(entry.from(addr)).await;
    }
    let (user, pair) = result?;
    tracing::info!(user = %user.id, username = %user.username, "first admin created through the set-up page");
    app.audit
        .record(Entry::by(action::SETUP, &user).from(addr))
        .await;
    let mut out = HeaderMap::new();
    let tokens = hand_out(pair, req.cookie, &ctx, &mut out);
    Ok((
        StatusCode::CREATED,
        out,
        Json(SessionResponse {
            user: UserResponse::from(&user),
            tokens,
        }),
    ))
}

pub async fn login(
    State(app): State<App>,
    ClientAddr(addr): ClientAddr,
    ctx: CookieContext,
    ApiJson(req): ApiJson<LoginRequest>,
) -> AppResult<(HeaderMap, Json<SessionResponse>)> {
    let result = app
        .accounts
        .login(&req.username, &req.password, &addr.to_string())
        .await;
    let entry = match &result {
        Ok((user, _)) => Entry::by(action::LOGIN, user),
        Err(e) => Entry::by_name(action::LOGIN_FAILED, &req.username)
            .detail(serde_json::json!({ "reason": e.code })),
    };
    app.audit.record(entry.from(addr)).await;
    let (user, pair) = result?;
    let mut out = HeaderMap::new();
    let tokens = hand_out(pair, req.cookie, &ctx, &mut out);
    Ok((
        out,
        Json(SessionResponse {
            user: UserResponse::from(&user),
            tokens,
        }),
    ))
}

/// The refresh token of this request: from the body (API clients) or the cookie (browsers,
/// which must then come from a page of this site). Returns it and whether it was the cookie.
fn refresh_token_of(req: RefreshRequest, ctx: &CookieContext) -> AppResult<(String, bool)> {
    if let Some(t) = req.refresh_token {
        return Ok((t, false));
    }
    let Some(t) = cookies::read_cookie(&ctx.headers, cookies::REFRESH_COOKIE) else {
        return Err(AppError::unauthorized("no session: sign in"));
    };
    if !cookies::same_origin(&ctx.headers) {
        return Err(AppError::forbidden("cross-origin request refused"));
    }
    Ok((t, true))
}

pub async fn refresh(
    State(app): State<App>,
    ctx: CookieContext,
    body: axum::body::Bytes,
) -> Response {
    let result = async {
        let (token, cookie) = refresh_token_of(parse_optional_json(&body)?, &ctx)?;
        let pair = match app.accounts.refresh(&token).await {
            Ok(p) => p,
            Err(e) => return Err((e, cookie)),
        };
        let mut out = HeaderMap::new();
        let tokens = hand_out(pair, cookie, &ctx, &mut out);
        Ok::<_, (AppError, bool)>((out, Json(tokens)).into_response())
    }
    .await;
    match result {
        Ok(r) => r,
        Err((e, cookie)) => {
            let mut r = e.into_response();
            if cookie {
                // A dead cookie is useless: drop it so the page shows the sign-in form.
                cookies::clear_session_cookies(r.headers_mut(), ctx.secure);
            }
            r
        }
    }
}

impl From<AppError> for (AppError, bool) {
    fn from(e: AppError) -> Self {
        (e, false)
    }
}

/// Revokes the session's token family and clears the cookies.
pub async fn logout(
    State(app): State<App>,
    ctx: CookieContext,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, HeaderMap)> {
    let req: RefreshRequest = parse_optional_json(&body)?;
    let mut out = HeaderMap::new();
    match refresh_token_of(req, &ctx) {
        Ok((token, cookie)) => {
            app.accounts.logout(&token).await?;
            if cookie {
                cookies::clear_session_cookies(&mut out, ctx.secure);
            }
        }
        // Signing out without a session is already done.
        Err(e) if e.kind == crate::error::Kind::Unauthorized => {
            cookies::clear_session_cookies(&mut out, ctx.secure)
        }
        Err(e) => return Err(e),
    }
    Ok((StatusCode::NO_CONTENT, out))
}

pub async fn me(AuthUser(user): AuthUser) -> Json<UserResponse> {
    Json(UserResponse::from(&user))
}

/// Changes the password; every other session ends. A browser session (it has the cookie) gets
/// its new refresh token as a cookie again.
pub async fn change_password(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    ClientAddr(addr): ClientAddr,
    ctx: CookieContext,
    ApiJson(req): ApiJson<PasswordRequest>,
) -> AppResult<(HeaderMap, Json<TokensResponse>)> {
    let pair = app
        .accounts
        .change_password(
            &user,
            &req.current_password,
            &req.new_password,
            &addr.to_string(),
        )
        .await?;
    app.audit
        .record(Entry::by(action::PASSWORD_CHANGE, &user).from(addr))
        .await;
    let cookie = cookies::read_cookie(&ctx.headers, cookies::REFRESH_COOKIE).is_some();
    let mut out = HeaderMap::new();
    let tokens = hand_out(pair, cookie, &ctx, &mut out);
    Ok((out, Json(tokens)))
}

pub async fn request_access(
    State(app): State<App>,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<AccessRequestRequest>,
) -> AppResult<(StatusCode, Json<AccessRequestReceivedResponse>)> {
    app.accounts
        .request_access(&req.name, &req.contact, &req.message, &addr.to_string())
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(AccessRequestReceivedResponse::new()),
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
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<AppPasswordRequest>,
) -> AppResult<(StatusCode, Json<NewAppPasswordResponse>)> {
    let (p, secret) = app
        .accounts
        .create_app_password(&user.id, &req.name)
        .await?;
    let entry = Entry::by(action::APP_PASSWORD_CREATE, &user)
        .on_object(&p.id)
        .detail(serde_json::json!({ "name": p.name }))
        .from(addr);
    app.audit.record(entry).await;
    Ok((
        StatusCode::CREATED,
        Json(NewAppPasswordResponse {
            id: p.id,
            name: p.name,
            password: secret,
            created_at: crate::http::dto::rfc3339(p.created_at),
            username: user.username,
        }),
    ))
}

pub async fn list_app_passwords(
    State(app): State<App>,
    AuthUser(user): AuthUser,
) -> AppResult<Json<AppPasswordsResponse>> {
    let list = app.accounts.list_app_passwords(&user.id).await?;
    let app_passwords = list.iter().map(AppPasswordResponse::from).collect();
    Ok(Json(AppPasswordsResponse { app_passwords }))
}

pub async fn delete_app_password(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    ClientAddr(addr): ClientAddr,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> AppResult<StatusCode> {
    let found = app.accounts.delete_app_password(&user.id, &id).await?;
    if found {
        let entry = Entry::by(action::APP_PASSWORD_DELETE, &user)
            .on_object(&id)
            .from(addr);
        app.audit.record(entry).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found())
    }
}
