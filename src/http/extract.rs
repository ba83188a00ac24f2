//! Extractors: the signed-in user (Bearer token), the admin, JSON bodies whose rejections use
//! the API's error shape, and the client address behind trusted proxies.

use std::marker::PhantomData;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::auth::User;
use crate::error::{AppError, ErrorCode};
use crate::state::App;
pub use crate::web::ClientAddr;

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
        // Signature, expiry and revoked sign-ins first, without taking a connection.
        let claims = app.auth.verify_token(&token, typ)?;
        let user = app.accounts.current_user(claims).await?;
        Ok(AuthUser(user))
    }
}

/// The browser's media cookie, only for reading a thumbnail, a download or an earlier version's
/// body (GET/HEAD): `<img>` and `<a download>` cannot send a Bearer header, and a cookie that
/// can only read cannot be used to make the browser change anything.
fn media_cookie(parts: &Parts) -> Option<String> {
    use axum::http::Method;
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return None;
    }
    let path = parts.uri.path();
    let under_files = path.starts_with("/api/files/") || path.starts_with("/files/");
    let version_body = path.contains("/versions/") && path.ends_with("/content");
    if !under_files
        || !(path.ends_with("/thumbnail") || path.ends_with("/download") || version_body)
    {
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

/// `axum::Json` with errors in the API's `{"code","message"}` shape, for a JSON object only:
/// serde's derived structs also accept an array of the fields in order (`["bob","secret"]` for
/// `{"username","password"}`), which no client of this API sends.
pub struct ApiJson<T>(pub T);

/// `T` from a JSON object, and from nothing else.
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Object<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(Object(PhantomData)).map(ObjectOnly)
    }
}

/// A JSON object body read by hand (routes whose body may also be empty).
pub fn parse_json_object<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice::<ObjectOnly<T>>(body)
        .map(|o| o.0)
        .map_err(|e| AppError::bad_request(ErrorCode::InvalidJson, e.to_string()))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<ObjectOnly<T>>::from_request(req, state).await {
            Ok(axum::Json(ObjectOnly(v))) => Ok(ApiJson(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::bad_request(
                ErrorCode::InvalidJson,
                "send a JSON body with Content-Type: application/json",
            )),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(AppError::new(
                    ErrorCode::BodyTooLarge,
                    "the request body is too large",
                ))
            }
            Err(e) => Err(AppError::bad_request(ErrorCode::InvalidJson, e.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Login {
        username: String,
        password: String,
    }

    #[test]
    fn json_bodies_are_objects_only() {
        let ok: Login = parse_json_object(br#"{"username":"bob","password":"pw"}"#).unwrap();
        assert_eq!(ok.username, "bob");
        for body in [
            &br#"["bob","pw"]"#[..],
            b"\"bob\"",
            b"42",
            b"null",
            br#"{"username":"bob","password":"pw","admin":true}"#,
        ] {
            let e = parse_json_object::<Login>(body).unwrap_err();
            assert_eq!(
                e.code,
                ErrorCode::InvalidJson,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
