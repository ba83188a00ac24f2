//! The WebDAV door: `/dav/files/{username}/` is each user's drive (dav-server over the shared
//! namespace, HTTP Basic with the account password or an app password), `/dav/uploads/{username}/`
//! takes Nextcloud-style chunked uploads. Nextcloud's own paths for the same trees
//! (`/remote.php/dav/…`, `/remote.php/webdav/…`) are served by the same handlers. Paths are
//! checked before anything else: `.`/`..` segments, encoded slashes and NUL are refused outright;
//! another user's tree answers 403 whatever is (or is not) there.

pub mod chunked;
pub mod fs;
mod get;
mod listing;
mod locks;
mod multistatus;
mod nextcloud_props;
mod put;
mod tree;
pub mod views;
mod win32;
pub mod xml_guard;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use dav_server::DavHandler;
use dav_server::ls::DavLockSystem;

use crate::auth::User;
use crate::error::ErrorCode;
use crate::state::App;
use crate::web::ClientAddr;
use crate::web::basic::parse_basic;
use fs::{DavUser, PropfindKind, UserFs};

/// The WebDAV door's own state: each user's lock table (an extension of the door's routes).
#[derive(Default)]
pub struct DavState {
    locks: Mutex<HashMap<String, Box<locks::UserLocks>>>,
}

impl DavState {
    /// Lock paths are relative to a user's root, so every user has a lock table of their own.
    fn locks_for(&self, user_id: &str) -> Box<dyn DavLockSystem> {
        let mut locks = self.locks.lock().unwrap();
        let ls = locks
            .entry(user_id.to_string())
            .or_insert_with(locks::UserLocks::new);
        ls.clone() as Box<dyn DavLockSystem>
    }
}

pub fn routes() -> Router<App> {
    Router::new()
        .route("/dav", any(entry))
        .route("/dav/", any(entry))
        .route("/dav/{*rest}", any(entry))
        .route("/remote.php/dav", any(entry))
        .route("/remote.php/dav/", any(entry))
        .route("/remote.php/dav/{*rest}", any(entry))
        .route("/remote.php/webdav", any(entry))
        .route("/remote.php/webdav/", any(entry))
        .route("/remote.php/webdav/{*rest}", any(entry))
        .layer(Extension(Arc::new(DavState::default())))
}

const DAV_METHODS: &str =
    "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK";

/// WebDAV clients (Windows above all) send OPTIONS to the server root and parent paths: a
/// layer over the whole server answers them outside `/api`.
pub async fn options_anywhere(req: Request, next: axum::middleware::Next) -> Response {
    if req.method() == Method::OPTIONS && !req.uri().path().starts_with("/api") {
        return options_response();
    }
    next.run(req).await
}

/// `OPTIONS` anywhere: Windows' mini-redirector probes the server root before the drive URL.
pub fn options_response() -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header("DAV", "1, 2")
        .header("MS-Author-Via", "DAV")
        .header(header::ALLOW, DAV_METHODS)
        .header(header::CONTENT_LENGTH, "0")
        .body(Body::empty())
        .unwrap()
}

fn status(code: StatusCode, text: &str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{text}\n"),
    )
        .into_response()
}

fn unauthorized() -> Response {
    let mut r = status(StatusCode::UNAUTHORIZED, "authentication required");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"CloudVault\", charset=\"UTF-8\""),
    );
    r
}

/// Decoded path segments, or None when one of them could escape: `.`, `..`, an encoded `/` or
/// `\`, NUL, or bytes that are not UTF-8.
pub fn decode_segments(raw_path: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for seg in raw_path.split('/').filter(|s| !s.is_empty()) {
        let bytes: Vec<u8> = percent_encoding::percent_decode_str(seg).collect();
        let s = String::from_utf8(bytes).ok()?;
        if s == "." || s == ".." || s.contains(['/', '\\', '\0']) {
            return None;
        }
        out.push(s);
    }
    Some(out)
}

/// Nextcloud's paths for the same trees (its apps know no other): `/remote.php/dav/…` is
/// `/dav/…`, and `/remote.php/webdav/…` is the signed-in user's `/dav/files/{username}/…`.
/// Returns the segments as this door names them, and how many segments of the path as sent make
/// a drive's prefix (so hrefs keep the form the client used).
pub fn nextcloud_alias(segs: Vec<String>, username: &str) -> (Vec<String>, usize) {
    let second = segs.get(1).map(String::as_str);
    if segs.first().map(String::as_str) != Some("remote.php") {
        return (segs, 3);
    }
    match second {
        Some("dav") => (segs[1..].to_vec(), 4),
        Some("webdav") => {
            let mut out = vec!["dav".to_string(), "files".to_string(), username.to_string()];
            out.extend_from_slice(&segs[2..]);
            (out, 2)
        }
        _ => (segs, 3),
    }
}

async fn entry(
    State(app): State<App>,
    Extension(dav): Extension<Arc<DavState>>,
    ClientAddr(addr): ClientAddr,
    req: Request,
) -> Response {
    if req.method() == Method::OPTIONS {
        return options_response();
    }
    let raw_path = req.uri().path().to_string();
    let Some(segs) = decode_segments(&raw_path) else {
        return status(StatusCode::BAD_REQUEST, "invalid path");
    };
    let auth_header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some((username, password)) = parse_basic(auth_header.as_deref()) else {
        return unauthorized();
    };
    let (segs, prefix_segs) = nextcloud_alias(segs, &username);
    let prefix = raw_prefix(&raw_path, prefix_segs);
    let cached = app.accounts.basic.cached(&username, &password);
    let req = match cached {
        Some(account) => match fast_path(&app, &dav, req, &segs, &prefix, account).await {
            Ok(res) => return res,
            Err(req) => *req,
        },
        None => req,
    };
    let user = match app
        .accounts
        .authenticate_basic(username, password, addr)
        .await
    {
        Ok(user) => user,
        Err(e) if e.code == ErrorCode::RateLimited => return e.into_response(),
        Err(e) if e.code == ErrorCode::Unauthorized => return unauthorized(),
        Err(e) => return e.into_response(),
    };
    // Every XML body, for every tree below /dav, is bounded and DTD-free before it is parsed.
    let req = match xml_guard::read_xml_body(req).await {
        Ok(req) => req,
        Err(refused) => return refused,
    };
    let permit = match begin_transfer(&app, req.method(), &segs, &user.id) {
        Ok(p) => p,
        Err(busy) => return crate::web::layer::busy_plain(busy),
    };
    let res = route(app, &dav, user, &segs, (&raw_path, &prefix), req).await;
    holding(res, permit)
}

/// A body read or written (GET, PUT of a file or a chunk) takes a transfer slot, held until the
/// body is done.
fn begin_transfer(
    app: &App,
    method: &Method,
    segs: &[String],
    user_id: &str,
) -> Result<Option<crate::ops::limits::TransferPermit>, crate::ops::limits::Busy> {
    let is_transfer = matches!(*method, Method::GET | Method::PUT)
        && segs.len() > 3
        && matches!(segs[1].as_str(), "files" | "uploads");
    if is_transfer {
        app.ops.transfers.try_begin(user_id).map(Some)
    } else {
        Ok(None)
    }
}

/// The one-hop paths for credentials already verified (`account`: user id and token version):
/// a plain GET/HEAD of a file and a small plain PUT. The request comes back when it is not one
/// of them (or the file turns out not to be plain), for the full path.
async fn fast_path(
    app: &App,
    dav: &DavState,
    req: Request,
    segs: &[String],
    prefix: &str,
    (id, tv): (String, i64),
) -> Result<Response, Box<Request>> {
    let in_files = segs.len() > 3 && segs[1] == "files";
    let is_get =
        matches!(*req.method(), Method::GET | Method::HEAD) && get::is_plain(req.headers());
    let small_put = (req.method() == Method::PUT)
        .then(|| put::small_plain_len(req.headers()))
        .flatten();
    if !in_files || !(is_get || small_put.is_some()) {
        return Err(Box::new(req));
    }
    let permit = match begin_transfer(app, req.method(), segs, &id) {
        Ok(p) => p,
        Err(busy) => return Ok(crate::web::layer::busy_plain(busy)),
    };
    let mut res = if let Some(len) = small_put {
        let (oc_mtime, oc_checksum) = (oc_mtime(req.headers()), oc_checksum(req.headers()));
        let put = put::PlainPut {
            len,
            oc_mtime,
            oc_checksum,
        };
        put::serve(app, dav, req, id, tv, segs, prefix, put).await?
    } else {
        match get::serve(app, req.method(), id, tv, segs).await {
            Some(res) => res,
            None => return Err(Box::new(req)),
        }
    };
    res.headers_mut()
        .insert("MS-Author-Via", HeaderValue::from_static("DAV"));
    Ok(holding(res, permit))
}

/// The tree a signed-in user's request is for: the listing roots, their tags and search views,
/// their drive, their chunked uploads; anything else 404, another user's tree 403.
async fn route(
    app: App,
    dav: &DavState,
    user: User,
    segs: &[String],
    (raw_path, prefix): (&str, &str),
    req: Request,
) -> Response {
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["dav"] => root_collection(&req, raw_path, &user, true),
        // Nextcloud's avatars (`/remote.php/dav/avatars/{user}/{size}.png`): generated.
        ["dav", "avatars", name, size] if req.method() == Method::GET => {
            crate::web::avatar::avatar_response(name.to_string(), size).await
        }
        ["dav", "files"] | ["dav", "uploads"] | ["dav", "tags"] | ["dav", "search"] => {
            root_collection(&req, raw_path, &user, false)
        }
        [
            "dav",
            door @ ("files" | "uploads" | "tags" | "search"),
            owner,
            ..,
        ] => {
            // Someone else's tree: the same answer whether or not the user or path exists.
            if !owner.eq_ignore_ascii_case(&user.username) {
                return status(StatusCode::FORBIDDEN, "not your drive");
            }
            // The prefix as it appears in the URL (up to the owner's segment).
            let prefix = prefix.to_string();
            match *door {
                "tags" => serve_view(app, user, prefix, views::View::Tags, req).await,
                "search" => serve_view(app, user, prefix, views::View::Search, req).await,
                "uploads" => chunked::handle(app, user, prefix, req).await,
                _ => serve_user_drive(app, dav, user, prefix, req).await,
            }
        }
        _ => status(StatusCode::NOT_FOUND, "not found"),
    }
}

/// `res` with the transfer slot kept until its body is sent (a GET's file, a PUT's answer).
fn holding(res: Response, permit: Option<crate::ops::limits::TransferPermit>) -> Response {
    match permit {
        Some(p) => crate::web::layer::hold_until_sent(res, p),
        None => res,
    }
}

/// The raw (still encoded) path up to the end of its `n`th non-empty segment.
fn raw_prefix(raw_path: &str, n: usize) -> String {
    let mut seen = 0;
    let mut in_segment = false;
    for (i, c) in raw_path.char_indices() {
        if c == '/' {
            if in_segment {
                seen += 1;
                if seen == n {
                    return raw_path[..i].to_string();
                }
            }
            in_segment = false;
        } else {
            in_segment = true;
        }
    }
    raw_path.trim_end_matches('/').to_string()
}

/// What a PROPFIND body asks for: named properties, `allprop` (also an empty body) or
/// `propname`. An unparsable body is left to dav-server to refuse.
fn propfind_kind(body: &[u8]) -> PropfindKind {
    if body.iter().all(u8::is_ascii_whitespace) {
        return PropfindKind::AllProp;
    }
    let Ok(root) = xmltree::Element::parse(body) else {
        return PropfindKind::AllProp;
    };
    for child in root.children.iter().filter_map(|c| c.as_element()) {
        match child.name.as_str() {
            "propname" => return PropfindKind::PropName,
            "prop" => {
                let names = child
                    .children
                    .iter()
                    .filter_map(|c| c.as_element())
                    .map(|e| (e.namespace.clone().unwrap_or_default(), e.name.clone()))
                    .collect();
                return PropfindKind::Named(names);
            }
            _ => {}
        }
    }
    PropfindKind::AllProp
}

const PROPFIND_BODY_LIMIT: usize = 256 * 1024;

async fn serve_user_drive(
    app: App,
    dav: &DavState,
    user: User,
    prefix: String,
    req: Request,
) -> Response {
    let is_propfind = req.method().as_str() == "PROPFIND";
    let rel_segments = req
        .uri()
        .path()
        .get(prefix.len()..)
        .and_then(decode_segments)
        .unwrap_or_default();
    let method = req.method().as_str().to_string();
    // The drive root cannot be deleted, moved, copied or replaced (dav-server would delete its
    // contents one by one, or fail on a Destination equal to its prefix).
    if rel_segments.is_empty() && matches!(method.as_str(), "DELETE" | "MOVE" | "COPY" | "PUT") {
        return status(
            StatusCode::FORBIDDEN,
            "the drive root cannot be deleted, moved or copied",
        );
    }
    let dest = if matches!(method.as_str(), "MOVE" | "COPY") {
        match tree::destination(req.headers(), &user) {
            Ok(d) => d,
            Err(res) => return *res,
        }
    } else {
        None
    };
    // What a write made, for Nextcloud's apps (they read its id and etag from the answer).
    let made = match method.as_str() {
        "PUT" | "MKCOL" => Some(rel_segments.clone()),
        "MOVE" | "COPY" => dest.clone(),
        _ => None,
    };
    if matches!(method.as_str(), "MOVE" | "COPY" | "DELETE")
        && let Some(res) = tree_ops(
            &app,
            dav,
            &user,
            &rel_segments,
            dest.as_deref(),
            req.method(),
            req.headers(),
        )
        .await
    {
        return with_oc_ids(&app, &user, made, with_dav_header(res)).await;
    }
    // A folder read as a page (a browser, webdavclient3): the listing, not dav-server's 405.
    if matches!(method.as_str(), "GET" | "HEAD")
        && let Some(res) = folder_page(&app, &user, &prefix, &rel_segments, req.method()).await
    {
        return with_dav_header(res);
    }
    let req = match &dest {
        Some(d) => {
            let mut req = req;
            let canonical = format!("{prefix}{}", tree::encode_path(d));
            match HeaderValue::from_str(&canonical) {
                Ok(v) => {
                    req.headers_mut().insert("destination", v);
                }
                Err(_) => return status(StatusCode::BAD_REQUEST, "invalid Destination"),
            }
            req
        }
        None => req,
    };
    let (req, propfind) = match read_small_bodies(req, is_propfind).await {
        Ok(read) => read,
        Err(refused) => return *refused,
    };
    // No Depth: a file answers as Depth 0 and a folder as Depth 1 (nginx, rclone); dav-server
    // would list a folder's children without the folder itself, and a file not at all.
    let req = with_default_depth(req);
    if req.method() == Method::PATCH
        && let Some(alg) = req
            .headers()
            .get("x-recalculate-hash")
            .and_then(|v| v.to_str().ok())
    {
        return recalculate_hash(&app, &user, rel_segments, alg).await;
    }
    let res = through_dav_server(&app, dav, &user, (prefix, rel_segments), req, propfind).await;
    with_oc_ids(&app, &user, made, res).await
}

/// A successful write's answer with `OC-FileId` and `OC-ETag` of the node at `made`.
async fn with_oc_ids(
    app: &App,
    user: &User,
    made: Option<Vec<String>>,
    mut res: Response,
) -> Response {
    let Some(segs) = made.filter(|_| res.status().is_success()) else {
        return res;
    };
    if let Ok(Some(node)) = app.store.resolve_path(&user.id, segs).await {
        let etag = crate::web::download::quoted_etag(&node);
        let h = res.headers_mut();
        if let (Ok(id), Ok(etag)) = (
            HeaderValue::from_str(&node.id),
            HeaderValue::from_str(&etag),
        ) {
            h.insert("OC-FileId", id);
            h.insert("OC-ETag", etag);
        }
    }
    res
}

/// The request through dav-server over the user's filesystem (`rel`: its decoded path below the
/// drive prefix); a PUT that succeeded then takes the client's `X-OC-Mtime` and `OC-Checksum`.
async fn through_dav_server(
    app: &App,
    dav: &DavState,
    user: &User,
    (prefix, rel): (String, Vec<String>),
    req: Request,
    propfind: PropfindKind,
) -> Response {
    let oc_mtime = (req.method() == Method::PUT)
        .then(|| oc_mtime(req.headers()))
        .flatten();
    let oc_checksum = oc_checksum(req.headers());
    let fs = UserFs::new(
        app.store.clone(),
        DavUser {
            id: user.id.clone(),
            username: user.username.clone(),
            quota_bytes: user.quota_bytes,
            used_bytes: user.used_bytes,
        },
    );
    let fs = fs
        .answering(propfind)
        .locking(req.method().as_str() == "LOCK");
    let handler = DavHandler::builder()
        .filesystem(Box::new(fs))
        .locksystem(dav.locks_for(&user.id))
        .strip_prefix(prefix)
        .principal(user.username.clone())
        .read_buf_size(256 * 1024)
        .build_handler();
    let is_put = req.method() == Method::PUT;
    let res = put::handle_streamed(&handler, req).await;
    let (mut parts, body) = res.into_parts();
    parts
        .headers
        .insert("MS-Author-Via", HeaderValue::from_static("DAV"));
    if parts.status.is_success() && is_put && !rel.is_empty() {
        if let Some(t) = oc_mtime
            && app
                .store
                .set_modified_at_path(&user.id, rel.clone(), t * 1000)
                .await
                .unwrap_or(false)
        {
            parts
                .headers
                .insert("X-OC-MTime", HeaderValue::from_static("accepted"));
        }
        if let Some(sum) = oc_checksum
            && let Ok(Some(node)) = app.store.resolve_path(&user.id, rel).await
        {
            let _ = app.store.set_checksums(&user.id, &node.id, &sum).await;
        }
    }
    Response::from_parts(parts, Body::new(body))
}

/// A MOVE, COPY or DELETE answered by the tree operations (no conditions), or refused before
/// dav-server walks it (bounded, never into its own source); None leaves it to dav-server.
async fn tree_ops(
    app: &App,
    dav: &DavState,
    user: &User,
    rel_segments: &[String],
    dest: Option<&[String]>,
    method: &Method,
    headers: &axum::http::HeaderMap,
) -> Option<Response> {
    if let Some(res) = tree::serve(app, dav, user, rel_segments, dest, method, headers).await {
        return Some(res);
    }
    // Left to dav-server (conditions to evaluate): its walk must stay bounded and never
    // land inside its own source, and it must see the Destination under its prefix.
    if method.as_str() == "DELETE"
        && let Some(res) = tree::precheck_delete(app, user, rel_segments).await
    {
        return Some(res);
    }
    if let Some(d) = dest {
        let deep = headers.get("depth").is_none_or(|v| v.as_bytes() != b"0");
        if let Some(res) = tree::precheck(app, user, rel_segments, d, deep).await {
            return Some(res);
        }
    }
    None
}

/// Reads the small XML bodies the door looks into: a PROPFIND's (does it name its properties?
/// Depth: infinity is refused) and a PROPPATCH's (Explorer's file times are routed).
async fn read_small_bodies(
    req: Request,
    is_propfind: bool,
) -> Result<(Request, PropfindKind), Box<Response>> {
    // Read a PROPFIND body (small) to know whether it names its properties.
    let (req, propfind) = if is_propfind {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, PROPFIND_BODY_LIMIT).await {
            Ok(b) => b,
            Err(_) => {
                return Err(Box::new(status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PROPFIND body too large",
                )));
            }
        };
        let kind = propfind_kind(&bytes);
        (Request::from_parts(parts, Body::from(bytes)), kind)
    } else {
        (req, PropfindKind::AllProp)
    };
    if is_propfind
        && req
            .headers()
            .get("depth")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|d| d.trim().eq_ignore_ascii_case("infinity"))
    {
        // RFC 4918 9.1: a server may refuse Depth: infinity with this precondition.
        return Err(Box::new((
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\"><D:propfind-finite-depth/></D:error>\n",
        )
            .into_response()));
    }
    // Explorer's file times go to our filesystem with the dead properties, not to dav-server's
    // "OK, ignored" (`win32.rs`). The body was read and checked whole by `xml_guard`.
    let req = if req.method().as_str() == "PROPPATCH" {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, xml_guard::PROPPATCH_BODY_LIMIT).await {
            Ok(b) => b,
            Err(_) => {
                return Err(Box::new(status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PROPPATCH body too large",
                )));
            }
        };
        let body = match win32::route_times(&bytes) {
            Some(routed) => Body::from(routed),
            None => Body::from(bytes),
        };
        Request::from_parts(parts, body)
    } else {
        req
    };
    Ok((req, propfind))
}

/// The HTML page of the folder at `rel`, or None when `rel` is not a folder (dav-server answers).
async fn folder_page(
    app: &App,
    user: &User,
    prefix: &str,
    rel: &[String],
    method: &Method,
) -> Option<Response> {
    let folder = match app.store.resolve_path(&user.id, rel.to_vec()).await {
        Ok(Some(n)) if n.is_dir() => n,
        Ok(_) => return None,
        Err(e) => return Some(e.into_response()),
    };
    let listing = app
        .store
        .list_folder(
            &user.id,
            Some(folder.id),
            listing::ORDER,
            false,
            listing::MAX_LISTED,
            0,
        )
        .await;
    Some(match listing {
        Ok(l) => listing::render(method, prefix, rel, &l),
        Err(e) => e.into_response(),
    })
}

/// A PROPFIND without a Depth header, given `Depth: 1`: for a file that is the file alone (as
/// Depth 0), for a folder the folder and its children (RFC 4918 9.1 would have infinity, which
/// is refused; nginx and rclone take 1).
fn with_default_depth(mut req: Request) -> Request {
    if req.method().as_str() == "PROPFIND" && !req.headers().contains_key("depth") {
        req.headers_mut()
            .insert("depth", HeaderValue::from_static("1"));
    }
    req
}

fn with_dav_header(mut res: Response) -> Response {
    res.headers_mut()
        .insert("MS-Author-Via", HeaderValue::from_static("DAV"));
    res
}

/// The read-only virtual trees: PROPFIND, GET and HEAD; every write is 405.
async fn serve_view(
    app: App,
    user: User,
    prefix: String,
    view: views::View,
    req: Request,
) -> Response {
    let dav_user = DavUser {
        id: user.id.clone(),
        username: user.username.clone(),
        quota_bytes: user.quota_bytes,
        used_bytes: user.used_bytes,
    };
    let req = with_default_depth(req);
    let handler = DavHandler::builder()
        .filesystem(Box::new(views::ViewFs::new(app, dav_user, view)))
        .strip_prefix(prefix)
        .methods(dav_server::DavMethodSet::WEBDAV_RO)
        .read_buf_size(256 * 1024)
        .build_handler();
    let res = handler.handle(req).await;
    let (parts, body) = res.into_parts();
    Response::from_parts(parts, Body::new(body))
}

/// rclone (nextcloud vendor) and Nextcloud clients send the file's own mtime with a PUT
/// (`X-OC-Mtime`, seconds).
fn oc_mtime(headers: &axum::http::HeaderMap) -> Option<i64> {
    headers
        .get("x-oc-mtime")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|t| *t > 0)
}

/// A valid `OC-Checksum` header of a PUT, to store with the file.
fn oc_checksum(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get("oc-checksum")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|v| valid_checksum(v))
}

/// `OC-Checksum: SHA1:...` (and MD5/ADLER32): short, plain tokens only.
pub fn valid_checksum(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 200
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == ' ')
}

/// Nextcloud's `PATCH` with `X-Recalculate-Hash: sha1|md5`: answers `OC-Checksum`. Another
/// algorithm is refused (as Nextcloud does) rather than answered with a SHA1 the client did
/// not ask for.
async fn recalculate_hash(app: &App, user: &User, segs: Vec<String>, alg: &str) -> Response {
    if !["sha1", "md5"].contains(&alg.trim().to_ascii_lowercase().as_str()) {
        return status(StatusCode::BAD_REQUEST, "X-Recalculate-Hash: sha1 or md5");
    }
    let node = match app.store.resolve_path(&user.id, segs).await {
        Ok(Some(n)) if !n.is_dir() => n,
        Ok(_) => return status(StatusCode::NOT_FOUND, "not found"),
        Err(e) => return e.into_response(),
    };
    match app.store.recalculate_checksum(&node, alg).await {
        Ok(sum) => {
            let mut r = status(StatusCode::OK, "checksum recalculated");
            r.headers_mut()
                .insert("OC-Checksum", HeaderValue::from_str(&sum).unwrap());
            r
        }
        Err(e) => e.into_response(),
    }
}

/// `/dav/`, `/dav/files/`: a collection holding just the caller's own drive, so clients that
/// walk up from the drive URL (Windows, some file managers) find their way. `/dav/` (`top`)
/// lists `files/`; the others list the caller's own tree.
fn root_collection(req: &Request, raw_path: &str, user: &User, top: bool) -> Response {
    match req.method().as_str() {
        "PROPFIND" => {}
        "GET" | "HEAD" => {
            return status(
                StatusCode::OK,
                "CloudVault WebDAV: mount /dav/files/{username}/",
            );
        }
        _ => return status(StatusCode::METHOD_NOT_ALLOWED, "read-only collection"),
    }
    // No Depth: as Depth 1, as for every folder of a drive.
    let depth1 = req
        .headers()
        .get("depth")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|d| d.trim() == "1");
    let base = if raw_path.ends_with('/') {
        raw_path.to_string()
    } else {
        format!("{raw_path}/")
    };
    let mut entries = vec![multistatus::Entry::collection(base.clone())];
    if depth1 {
        let child = if top {
            "files/".to_string()
        } else {
            format!("{}/", tree::encode_segment(&user.username))
        };
        entries.push(multistatus::Entry::collection(format!("{base}{child}")));
    }
    multistatus::response(&entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_segments() {
        assert_eq!(raw_prefix("/dav/files/dav/x/y", 3), "/dav/files/dav");
        assert_eq!(raw_prefix("/dav/files/alice", 3), "/dav/files/alice");
        assert_eq!(raw_prefix("/dav/files/alice/", 3), "/dav/files/alice");
        assert_eq!(
            decode_segments("/dav/files/a/caf%C3%A9")
                .unwrap()
                .last()
                .unwrap(),
            "café"
        );
        assert!(decode_segments("/dav/files/a/%2e%2e/b").is_none());
        assert!(decode_segments("/dav/files/a/x%2fy").is_none());
        assert!(decode_segments("/dav/files/a/x%00").is_none());
        assert!(decode_segments("/dav/files/a/../b").is_none());
    }

    #[test]
    fn propfind_kinds() {
        assert_eq!(propfind_kind(b""), PropfindKind::AllProp);
        assert_eq!(
            propfind_kind(b"<D:propfind xmlns:D=\"DAV:\"><D:allprop/></D:propfind>"),
            PropfindKind::AllProp
        );
        assert_eq!(
            propfind_kind(b"<propfind xmlns=\"DAV:\"><propname/></propfind>"),
            PropfindKind::PropName
        );
        let PropfindKind::Named(n) = propfind_kind(b"<D:propfind xmlns:D=\"DAV:\" xmlns:Z=\"urn:z\"><D:prop><D:getetag/><Z:c/></D:prop></D:propfind>") else {
            panic!()
        };
        assert!(n.contains(&("urn:z".to_string(), "c".to_string())) && n.len() == 2);
    }
}
