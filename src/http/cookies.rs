//! The browser's session cookies. Page scripts never see a long-lived secret:
//! - `cv_refresh`: the refresh token, HttpOnly, SameSite=Strict, only sent to `/api/auth`
//!   (refresh and logout); Secure when the site is served over HTTPS.
//! - `cv_media`: a short-lived "media" token (as long as an access token), HttpOnly,
//!   SameSite=Strict, only sent to `/api/files`, accepted only by GET/HEAD of thumbnails and
//!   downloads, so `<img src>` and `<a href download>` work without a token in the URL and
//!   another site can neither embed them (plus `Cross-Origin-Resource-Policy: same-origin`) nor
//!   make the browser change anything with it.
//!
//! API clients keep using the JSON refresh token and `Authorization: Bearer`.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};

use crate::auth::TokenPair;
use crate::state::App;

pub const REFRESH_COOKIE: &str = "cv_refresh";
pub const MEDIA_COOKIE: &str = "cv_media";
const REFRESH_PATH: &str = "/api/auth";
const MEDIA_PATH: &str = "/api/files";

/// The value of cookie `name` in the request, if any.
pub fn read_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Whether the browser reached us over HTTPS: directly, or through a trusted proxy that says
/// so (Caddy and cloudflared set `X-Forwarded-Proto`).
pub fn is_https(app: &App, headers: &HeaderMap, peer: Option<SocketAddr>) -> bool {
    let trusted = peer.is_some_and(|p| app.config.trusted_proxies.contains(&p.ip()));
    trusted
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("https")
            })
}

fn peer(parts: &Parts) -> Option<SocketAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
}

/// What the cookie handlers need to know about the request: whether it came over HTTPS (the
/// cookies get `Secure`) and its headers.
pub struct CookieContext {
    pub secure: bool,
    pub headers: HeaderMap,
}

impl axum::extract::FromRequestParts<App> for CookieContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        Ok(CookieContext {
            secure: is_https(app, &parts.headers, peer(parts)),
            headers: parts.headers.clone(),
        })
    }
}

fn cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie values are base64url and JWTs")
}

/// The grant of a share link's password, sent back only to that link's public API.
pub fn share_grant_cookie(token: &str, grant: &str, max_age: i64, secure: bool) -> HeaderValue {
    cookie(
        SHARE_GRANT_COOKIE,
        grant,
        &format!("/api/public/shares/{token}"),
        max_age,
        secure,
    )
}

pub const SHARE_GRANT_COOKIE: &str = "cv_share";

/// Sets both cookies for a new or refreshed browser session.
pub fn set_session_cookies(out: &mut HeaderMap, pair: &TokenPair, secure: bool) {
    out.append(
        header::SET_COOKIE,
        cookie(
            REFRESH_COOKIE,
            &pair.refresh_token,
            REFRESH_PATH,
            pair.refresh_expires_in,
            secure,
        ),
    );
    out.append(
        header::SET_COOKIE,
        cookie(
            MEDIA_COOKIE,
            &pair.media_token,
            MEDIA_PATH,
            pair.expires_in,
            secure,
        ),
    );
}

/// Clears both cookies (logout, or a refresh that failed).
pub fn clear_session_cookies(out: &mut HeaderMap, secure: bool) {
    out.append(
        header::SET_COOKIE,
        cookie(REFRESH_COOKIE, "", REFRESH_PATH, 0, secure),
    );
    out.append(
        header::SET_COOKIE,
        cookie(MEDIA_COOKIE, "", MEDIA_PATH, 0, secure),
    );
}

/// A cookie-authenticated POST must come from a page of this site: SameSite=Strict already keeps
/// other sites' requests from carrying the cookie; this also refuses sibling subdomains (which
/// count as the same "site").
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map(|(_, h)| h)
        .unwrap_or(origin)
        .trim_end_matches('/');
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_several() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; cv_refresh=abc-_x; b=2"),
        );
        assert_eq!(read_cookie(&h, REFRESH_COOKIE).as_deref(), Some("abc-_x"));
        assert_eq!(read_cookie(&h, MEDIA_COOKIE), None);
    }

    #[test]
    fn origin_must_match_host() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("cloud.example.com"));
        assert!(
            same_origin(&h),
            "no Origin (same-origin GET or old browser)"
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://cloud.example.com"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example.com"),
        );
        assert!(!same_origin(&h));
    }
}
