//! Extractors: the signed-in user (Bearer token), the admin, JSON bodies whose rejections use
//! the API's error shape, and the client address behind trusted proxies.

use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::app::App;
use crate::db::users::User;
use crate::error::{AppError, ErrorCode};

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
        let auth = app.auth.clone();
        let user = app.db.run(move |c| auth.current_user(c, &claims)).await?;
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

/// The client's address: the peer, or what a trusted proxy (Caddy, cloudflared) says it is.
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<App> for ClientAddr {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientAddr(client_addr(
            peer,
            &parts.headers,
            &app.config.trusted_proxies,
        )))
    }
}

/// Where a request without connection info comes from: an address that is nobody's, never a
/// trusted proxy (so no forwarding header is believed) and one bucket for every such request.
pub const UNKNOWN_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

/// The client's address: the peer, or, when the peer is a trusted proxy, what it reports:
/// `CF-Connecting-IP` (Caddy sets it to the address it determined, cloudflared to Cloudflare's),
/// else `X-Forwarded-For` read from the right: each proxy appends the address it received the
/// request from, so the right-most entry that is not itself a trusted proxy is the client, and
/// everything left of it is what the client wrote. Fails closed: without connection info
/// (`peer` None) nothing is trusted.
pub fn client_addr(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let Some(peer) = peer.map(|p| p.to_canonical()) else {
        return UNKNOWN_CLIENT;
    };
    if !trusted.contains(&peer) {
        return peer;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ip) = header("cf-connecting-ip").and_then(|v| v.trim().parse::<IpAddr>().ok()) {
        return ip.to_canonical();
    }
    let mut client = peer;
    // Several X-Forwarded-For headers are one list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip.to_canonical();
                if !trusted.contains(&client) {
                    break;
                }
            }
            // Not an address: nothing from here leftwards was written by a proxy we trust.
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn trusted() -> Vec<IpAddr> {
        vec![ip("127.0.0.1"), ip("::1")]
    }

    #[test]
    fn without_connection_info_nothing_is_trusted() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("cf-connecting-ip", "203.0.113.9"),
        ]);
        let addr = client_addr(None, &h, &trusted());
        assert_eq!(addr, UNKNOWN_CLIENT);
        assert!(!trusted().contains(&addr));
        assert!(!addr.is_loopback());
        assert_eq!(
            client_addr(None, &HeaderMap::new(), &trusted()),
            UNKNOWN_CLIENT
        );
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let h = headers(&[
            ("x-forwarded-for", "127.0.0.1"),
            ("cf-connecting-ip", "10.0.0.1"),
        ]);
        assert_eq!(
            client_addr(Some(ip("198.51.100.4")), &h, &trusted()),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn forwarded_for_is_read_from_the_right() {
        let t = trusted();
        let peer = Some(ip("127.0.0.1"));
        // The client wrote "1.2.3.4" itself; the proxy appended the address it saw.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.7")]);
        assert_eq!(client_addr(peer, &h, &t), ip("203.0.113.7"));
        // cloudflared → Caddy → CloudVault: Caddy appended cloudflared's loopback address.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.7, 127.0.0.1")]);
        assert_eq!(client_addr(peer, &h, &t), ip("203.0.113.7"));
        // Two headers are one list.
        let h = headers(&[
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-for", "203.0.113.8"),
        ]);
        assert_eq!(client_addr(peer, &h, &t), ip("203.0.113.8"));
        // Garbage where the proxy's entry should be: the proxy itself is all we know.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, not-an-ip")]);
        assert_eq!(client_addr(peer, &h, &t), ip("127.0.0.1"));
        // No header: the peer.
        assert_eq!(client_addr(peer, &HeaderMap::new(), &t), ip("127.0.0.1"));
    }

    #[test]
    fn cf_connecting_ip_comes_first_from_a_trusted_proxy() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("cf-connecting-ip", "2001:db8::5"),
        ]);
        assert_eq!(
            client_addr(Some(ip("::1")), &h, &trusted()),
            ip("2001:db8::5")
        );
        // An IPv4 peer seen on an IPv6 socket is still the trusted proxy.
        let h = headers(&[("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(
            client_addr(Some(ip("::ffff:127.0.0.1")), &h, &trusted()),
            ip("203.0.113.7")
        );
    }

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
