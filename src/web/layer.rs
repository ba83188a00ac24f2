//! The layer every request passes through, for both doors: password-route limits, the
//! per-address limit behind a trusted proxy, transfer caps, byte counting and the body stall
//! timeout, the request counter and transfer durations, and security headers.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use hyper::body::{Frame, SizeHint};

use crate::error::AppError;
use crate::ops::limits::{self, ClientSlot, RateMeter, ResponseClock};
use crate::ops::metrics::{Cut, Metrics};
use crate::state::App;
use crate::web::ClientAddr;
use crate::web::client::forwarded_client;

/// The plain answer of the WebDAV door when a transfer cap is full (file managers show the
/// status; `Retry-After` tells rclone and davfs2 when to try again).
pub fn busy_plain(why: limits::Busy) -> Response {
    let mut res = (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        format!("{}\n", why.into_error().message),
    )
        .into_response();
    res.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(limits::BUSY_RETRY_AFTER),
    );
    res
}

/// Keeps `guard` (a transfer permit, a client slot) until `res`'s body has been sent or the
/// connection dropped.
pub fn hold_until_sent<G: Send + Unpin + 'static>(res: Response, guard: G) -> Response {
    let (parts, body) = res.into_parts();
    Response::from_parts(
        parts,
        Body::new(Holding {
            inner: body,
            guard: Some(guard),
        }),
    )
}

struct Holding<G> {
    inner: Body,
    guard: Option<G>,
}

impl<G: Send + Unpin + 'static> hyper::body::Body for Holding<G> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.guard = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The route template a request matched, carried from inside the router to the outer layer.
#[derive(Clone)]
pub struct MatchedRoute(pub String);

/// `route_layer` on routers whose templates should label metrics (`/api/files/{id}`).
pub async fn remember_route(req: Request, next: Next) -> Response {
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| MatchedRoute(m.as_str().to_string()));
    let mut res = next.run(req).await;
    if let Some(m) = matched {
        res.extensions_mut().insert(m);
    }
    res
}

/// A bounded label for a request's route: the matched template, else a class of path (raw paths
/// would let any client grow the metrics without end).
pub fn route_label(path: &str, matched: Option<&str>) -> String {
    if let Some(m) = matched {
        return m.to_string();
    }
    if path == "/dav" || path.starts_with("/dav/") {
        let second = path.split('/').filter(|s| !s.is_empty()).nth(1);
        return match second {
            Some(door @ ("files" | "uploads" | "tags" | "search")) => format!("/dav/{door}"),
            _ => "/dav".into(),
        };
    }
    if path == "/api" || path.starts_with("/api/") {
        return "/api/{unmatched}".into();
    }
    if path.starts_with("/assets/") {
        return "/assets/{file}".into();
    }
    "/{page}".into()
}

fn method_label(m: &Method) -> &'static str {
    const KNOWN: [&str; 16] = [
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "OPTIONS",
        "PROPFIND",
        "PROPPATCH",
        "MKCOL",
        "COPY",
        "MOVE",
        "LOCK",
        "UNLOCK",
        "REPORT",
        "SEARCH",
    ];
    KNOWN
        .iter()
        .find(|k| **k == m.as_str())
        .copied()
        .unwrap_or("other")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Transfer {
    Upload(&'static str),
    Download(&'static str),
    Other,
}

fn transfer_of(method: &'static str, route: &str) -> Transfer {
    match (method, route) {
        ("POST", "/api/files/upload") => Transfer::Upload("api"),
        ("PATCH", "/api/files/uploads/{id}") => Transfer::Upload("tus"),
        ("PUT", "/dav/files") => Transfer::Upload("webdav"),
        ("PUT", "/dav/uploads") => Transfer::Upload("webdav-chunk"),
        ("GET", "/api/files/{id}/download") => Transfer::Download("api"),
        ("GET", "/dav/files") => Transfer::Download("webdav"),
        _ => Transfer::Other,
    }
}

/// Requests that read or write a file body (each takes a transfer slot in its handler).
fn is_transfer_request(method: &Method, path: &str) -> bool {
    let under = |prefix: &str| path.starts_with(prefix);
    match *method {
        Method::GET => {
            (under("/api/files/") && path.ends_with("/download"))
                || under("/dav/files/")
                || under("/dav/uploads/")
        }
        Method::PUT => under("/dav/files/") || under("/dav/uploads/"),
        Method::POST => path == "/api/files/upload",
        Method::PATCH => under("/api/files/uploads/"),
        _ => false,
    }
}

/// The routes that run argon2 on a password: limited per address so nobody can make the server
/// hash all day (registration hashes before it checks the invite).
fn is_password_route(method: &Method, path: &str) -> bool {
    method == Method::POST
        && matches!(
            path.trim_end_matches('/'),
            "/api/auth/login" | "/api/auth/register" | "/api/auth/password"
        )
}

/// A request made on this machine, not through a proxy: loopback peer and no forwarding header
/// (Caddy and cloudflared run on loopback too, but they always add one).
pub fn is_local(parts: &Parts) -> bool {
    let peer_local = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback());
    peer_local && !is_forwarded(&parts.headers)
}

fn is_forwarded(h: &HeaderMap) -> bool {
    [
        "x-forwarded-for",
        "forwarded",
        "cf-connecting-ip",
        "x-real-ip",
    ]
    .iter()
    .any(|n| h.contains_key(*n))
}

/// One request counted in `in_flight` until it is answered, or until its future is dropped
/// (hyper drops it when the client goes away mid-request), so the gauge cannot drift.
struct InFlight(Arc<Metrics>);

impl InFlight {
    fn enter(m: &Arc<Metrics>) -> InFlight {
        m.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(m.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The layer around every request: password-route limits, byte counting and the body stall
/// timeout, the request counter and transfer durations, and security headers.
pub async fn http_layer(State(app): State<App>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let metrics = app.ops.metrics.clone();
    let method = method_label(req.method());
    let path = req.uri().path().to_string();
    let (mut parts, body) = req.into_parts();
    let client_slot = match admit(&app, &mut parts, method, &path).await {
        Ok(slot) => slot,
        Err(refused) => return refused,
    };
    let clock = parts.extensions.get::<Arc<ResponseClock>>().cloned();
    let body = Body::new(MeteredRequestBody {
        inner: body,
        metrics: metrics.clone(),
        idle: app.config.http.body_idle_timeout.0,
        stall: None,
        rate: RateMeter::new(app.ops.min_rate, Instant::now()),
        rate_check: None,
    });
    // A guard, not a pair of calls: a client that goes away drops this future mid-request.
    let in_flight = InFlight::enter(&metrics);
    let res = next.run(Request::from_parts(parts, body)).await;
    drop(in_flight);

    let route = route_label(
        &path,
        res.extensions().get::<MatchedRoute>().map(|m| m.0.as_str()),
    );
    let status = res.status();
    let transfer = transfer_of(method, &route);
    metrics.count_request(method, route, status.as_u16());
    if let Transfer::Upload(door) = transfer
        && status.is_success()
    {
        metrics.observe_upload(door, start.elapsed());
    }
    let download = match transfer {
        Transfer::Download(door) if status.is_success() => Some(door),
        _ => None,
    };
    let res = with_security_headers(&path, res);
    let expected = res
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (parts, body) = res.into_parts();
    // The connection holds a slow reader of this answer to the minimum rate (src/ops/serve.rs).
    let answer = clock.map(|c| {
        let n = c.begin();
        (c, n)
    });
    let body = MeteredResponseBody {
        inner: body,
        metrics,
        seen: 0,
        download: download.map(|door| (door, start, expected)),
        answer,
        _client_slot: client_slot,
    };
    Response::from_parts(parts, Body::new(body))
}

/// The refusals made before any work: the per-address limit on password routes, the
/// per-client limit behind a trusted proxy, and transfers while every slot is taken. Returns the
/// client's slot (held until the answer is sent), or the answer to send instead.
async fn admit(
    app: &App,
    parts: &mut Parts,
    method: &'static str,
    path: &str,
) -> Result<Option<ClientSlot>, Response> {
    let metrics = &app.ops.metrics;
    if is_password_route(&parts.method, path) {
        let ClientAddr(addr) = ClientAddr::from_request_parts(parts, app)
            .await
            .unwrap_or(ClientAddr(IpAddr::from([0, 0, 0, 0])));
        if let Err(wait) = app.ops.password_routes.try_hit(&addr.to_string()) {
            let res = AppError::rate_limited(wait).into_response();
            metrics.count_request(method, route_label(path, None), res.status().as_u16());
            return Err(with_security_headers(path, res));
        }
    }
    // Behind a trusted proxy every connection is the proxy's: the per-address limit applies
    // to the client it names, per request (held until the answer is sent).
    let mut client_slot: Option<ClientSlot> = None;
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(client) =
        peer.and_then(|p| forwarded_client(p, &parts.headers, &app.config.trusted_proxies))
    {
        match app.ops.per_client.try_take(client) {
            Some(slot) => client_slot = Some(slot),
            None => {
                metrics.count_cut(Cut::TooManyConnections);
                tracing::info!(%client, "too many open requests from one address behind the proxy");
                let res = if path.starts_with("/dav") {
                    busy_plain(limits::Busy::Server)
                } else {
                    AppError::too_busy(
                        limits::BUSY_RETRY_AFTER,
                        "too many open requests from your address; try again shortly",
                    )
                    .into_response()
                };
                metrics.count_request(method, route_label(path, None), res.status().as_u16());
                return Err(with_security_headers(path, res));
            }
        }
    }
    // A crowd of transfers while all slots are taken is refused here, before any work (sign-in
    // checks cost a database hop each: 1,000 at once stalled logins and listings for seconds).
    if app.ops.transfers.is_full() && is_transfer_request(&parts.method, path) {
        app.ops.transfers.count_refused(limits::Busy::Server);
        let res = if path.starts_with("/dav") {
            busy_plain(limits::Busy::Server)
        } else {
            limits::Busy::Server.into_error().into_response()
        };
        let mut res = with_security_headers(path, res);
        if parts.method != Method::GET {
            // The body is left unread: the connection cannot carry another request.
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        metrics.count_request(method, route_label(path, None), res.status().as_u16());
        return Err(res);
    }
    Ok(client_slot)
}

/// The web UI's own policy when it did not set one (the placeholder page).
const PAGE_CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
                        object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
/// API answers are data, never pages: nothing in them may run or be framed.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";
/// A file served by the WebDAV door is opened by a browser as a page of our origin unless told
/// otherwise: sandboxed, an uploaded HTML or SVG file cannot run script as the app.
const DAV_CSP: &str = "sandbox; default-src 'none'";

fn with_security_headers(path: &str, mut res: Response) -> Response {
    let h = res.headers_mut();
    let csp = if path.starts_with("/dav") {
        DAV_CSP
    } else if path.starts_with("/api") || path == "/healthz" || path == "/metrics" {
        API_CSP
    } else {
        PAGE_CSP
    };
    let defaults = [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ];
    for (name, value) in defaults {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    res
}

/// Counts request body bytes as the handler reads them, and fails the body when the client
/// sends nothing for `idle` while the handler waits for it.
struct MeteredRequestBody {
    inner: Body,
    metrics: Arc<Metrics>,
    idle: Duration,
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The minimum-rate rule, and a wake-up at the end of its window while the client is silent.
    rate: RateMeter,
    rate_check: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl MeteredRequestBody {
    fn too_slow(&mut self, bytes: u64) -> Option<axum::Error> {
        let e = self.rate.record(Instant::now(), bytes).err()?;
        self.metrics.count_cut(Cut::MinRate);
        tracing::info!(
            bytes = e.bytes,
            window = ?e.window,
            "request body below the minimum transfer rate: cut"
        );
        Some(axum::Error::new(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the client sent the request body too slowly",
        )))
    }
}

impl hyper::body::Body for MeteredRequestBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.stall = None;
                let n = frame.data_ref().map_or(0, |d| d.len() as u64);
                this.metrics.add_request_bytes(n);
                if let Some(e) = this.too_slow(n) {
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => {
                this.stall = None;
                Poll::Ready(other)
            }
            Poll::Pending => {
                if let Some(e) = this.too_slow(0) {
                    return Poll::Ready(Some(Err(e)));
                }
                if let Some(at) = this.rate.deadline() {
                    let check = this
                        .rate_check
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at.into())));
                    if check.deadline() != at.into() {
                        check.as_mut().reset(at.into());
                    }
                    // Woken at the window's end to look again, even if the client stays silent.
                    if check.as_mut().poll(cx).is_ready()
                        && let Some(e) = this.too_slow(0)
                    {
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                let idle = this.idle;
                let stall = this
                    .stall
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                if stall.as_mut().poll(cx).is_ready() {
                    this.stall = None;
                    this.metrics.count_cut(Cut::BodyTimeout);
                    return Poll::Ready(Some(Err(axum::Error::new(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client stopped sending the request body",
                    )))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Counts response body bytes as they go out; times a download until its last byte.
struct MeteredResponseBody {
    inner: Body,
    metrics: Arc<Metrics>,
    seen: u64,
    /// (door, start, Content-Length): taken when the download is complete.
    download: Option<(&'static str, Instant, Option<u64>)>,
    /// The connection's clock and this answer's number, ended when the body is.
    answer: Option<(Arc<ResponseClock>, u64)>,
    _client_slot: Option<ClientSlot>,
}

impl Drop for MeteredResponseBody {
    fn drop(&mut self) {
        if let Some((c, n)) = self.answer.take() {
            c.end(n);
        }
    }
}

impl MeteredResponseBody {
    fn finish_download(&mut self) {
        if let Some((door, start, _)) = self.download.take() {
            self.metrics.observe_download(door, start.elapsed());
        }
    }
}

impl hyper::body::Body for MeteredResponseBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.seen += d.len() as u64;
                    this.metrics.add_response_bytes(d.len() as u64);
                }
                // Timed when the last byte is handed to the connection: hyper may never poll
                // again once Content-Length bytes are out.
                if matches!(this.download, Some((_, _, Some(n))) if this.seen >= n) {
                    this.finish_download();
                }
            }
            Poll::Ready(None) => {
                this.finish_download();
                if let Some((c, n)) = this.answer.take() {
                    c.end(n);
                }
            }
            Poll::Ready(Some(Err(_))) => this.download = None,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_labels_are_bounded() {
        assert_eq!(
            route_label("/api/files/x/download", Some("/api/files/{id}/download")),
            "/api/files/{id}/download"
        );
        assert_eq!(route_label("/dav/files/alice/a/b.txt", None), "/dav/files");
        assert_eq!(route_label("/dav/uploads/alice/1/2", None), "/dav/uploads");
        assert_eq!(route_label("/dav/whatever", None), "/dav");
        assert_eq!(route_label("/api/nope/123", None), "/api/{unmatched}");
        assert_eq!(route_label("/files/deep/link", None), "/{page}");
        assert_eq!(transfer_of("PUT", "/dav/files"), Transfer::Upload("webdav"));
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert!(is_transfer_request(&Method::GET, "/api/files/x/download"));
        assert!(is_transfer_request(&Method::PUT, "/dav/uploads/a/1/2"));
        assert!(is_transfer_request(&Method::PATCH, "/api/files/uploads/x"));
        assert!(!is_transfer_request(&Method::GET, "/api/files/x/thumbnail"));
        let propfind = Method::from_bytes(b"PROPFIND").unwrap();
        assert!(!is_transfer_request(&propfind, "/dav/files/a/"));
    }

    #[test]
    fn only_password_routes_are_limited() {
        assert!(is_password_route(&Method::POST, "/api/auth/login"));
        assert!(is_password_route(&Method::POST, "/api/auth/register/"));
        assert!(!is_password_route(&Method::POST, "/api/auth/refresh"));
        assert!(!is_password_route(&Method::GET, "/api/auth/login"));
    }
}
