//! Extractors: the signed-in user (Bearer token), the admin, JSON bodies whose rejections use
//! the API's error shape, and the client address behind trusted proxies.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::db::users::User;
use crate::error::{AppError, Kind};

/// A request with a valid, current access token.
pub struct AuthUser(pub User);

impl FromRequestParts<App> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_string());
        let (token, typ) = match bearer {
            Some(t) => (t, "access"),
            None => match media_cookie(parts) {
                Some(t) => (t, "media"),
                None => {
                    return Err(AppError::unauthorized(
                        "sign in first: an access token is required",
                    ));
                }
            },
        };
        let auth = app.auth.clone();
        let user = app
            .db
            .run(move |c| auth.authenticate_typed(c, &token, typ))
            .await?;
        Ok(AuthUser(user))
    }
}

/// The browser's media cookie, only for reading a thumbnail or a download (GET/HEAD): `<img>` and
/// `<a download>` cannot send a Bearer header, and a cookie that can only read cannot be used
/// to make the browser change anything.
fn media_cookie(parts: &Parts) -> Option<String> {
    use axum::http::Method;
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return None;
    }
    let path = parts.uri.path();
    let under_files = path.starts_with("/api/files/") || path.starts_with("/files/");
    if !under_files || !(path.ends_with("/thumbnail") || path.ends_with("/download")) {
        return None;
    }
    crate::http::cookies::read_cookie(&parts.headers, crate::http::cookies::MEDIA_COOKIE)
}

/// A signed-in user with the admin role.
pub struct AdminUser(pub User);

impl FromRequestParts<App> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let AuthUser(user) = AuthUser::from_request_parts(parts, app).await?;
        if !user.is_admin {
            return Err(AppError::forbidden("this needs the admin role"));
        }
        Ok(AdminUser(user))
    }
}

/// `axum::Json` with errors in the API's `{"code","message"}` shape.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::bad_request(
                "invalid-json",
                "send a JSON body with Content-Type: application/json",
            )),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(AppError::new(
                    Kind::PayloadTooLarge,
                    "body-too-large",
                    "the request body is too large",
                ))
            }
            Err(e) => Err(AppError::bad_request("invalid-json", e.body_text())),
        }
    }
}

/// The client's address: the peer, or what a trusted proxy (Caddy, cloudflared) says it is.
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<App> for ClientAddr {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        if !app.config.trusted_proxies.contains(&peer) {
            return Ok(ClientAddr(peer));
        }
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let forwarded = header("cf-connecting-ip")
            .or_else(|| {
                header("x-forwarded-for")
                    .and_then(|v| v.rsplit(',').next().map(|s| s.trim().to_string()))
            })
            .and_then(|s| s.parse::<IpAddr>().ok());
        Ok(ClientAddr(forwarded.unwrap_or(peer)))
    }
}
