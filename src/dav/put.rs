//! The common WebDAV write, answered in one blocking hop: a plain `PUT` of a small body (a known
//! `Content-Length` up to `SMALL_PUT`, no conditions, no ranges, no lock on the path) by a client
//! whose credentials are in the auth cache. The body is read first (no more than the streaming
//! upload path buffers before its first disk write), then one blocking thread checks the user and
//! the path in one read snapshot, writes and fsyncs the body to a temp file on its volume, and
//! commits it in the same steps as every upload (pending entry, rename, folder fsync, one
//! transaction that also checks the quota), together with the other small PUTs ready at that
//! moment (`store/group.rs`: one folder fsync and one durable commit for the group). The answer
//! carries the headers dav-server's PUT would (201 with `Content-Length: 0` or 204, `ETag`,
//! `Last-Modified`, `Accept-Ranges`).
//!
//! Anything else — a missing parent, a folder in the way, a request the quota or the volume
//! cannot take, a locked path, an account that changed — goes, with the body already read, the
//! full dav-server way, which answers it (or reports the error) as before.
//!
//! A streamed PUT goes to dav-server through [`handle_streamed`], which watches its body: one
//! that the client cut off (dav-server would answer 502 Bad Gateway, as for a failing upstream)
//! or that ends short of the length it announced answers 400, as it does on the one-hop path.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use dav_server::DavHandler;
use dav_server::davpath::DavPath;
use hyper::body::{Frame, SizeHint};

use crate::state::App;
use crate::store::NodeName;
use crate::web::download::{http_date, quoted_etag};

/// Largest body taken this way: the streaming path's write buffer (`UploadSink` holds up to
/// 1 MiB before its first write), so a PUT holds no more memory than it did.
pub const SMALL_PUT: u64 = 1 << 20;

/// Headers that make a PUT conditional, partial or lock-aware: dav-server handles those.
const NOT_PLAIN: [&str; 8] = [
    "if",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
    "content-range",
    "x-update-range",
];

/// The body length of a plain, small PUT (None: not one).
pub fn small_plain_len(headers: &HeaderMap) -> Option<u64> {
    if NOT_PLAIN.iter().any(|h| headers.contains_key(*h))
        || headers.contains_key(header::TRANSFER_ENCODING)
    {
        return None;
    }
    let len: u64 = headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (len <= SMALL_PUT).then_some(len)
}

/// A small plain PUT as the fast path sees it: its announced length and the Nextcloud headers
/// it carries (`X-OC-Mtime` in seconds, `OC-Checksum`).
pub struct PlainPut {
    pub len: u64,
    pub oc_mtime: Option<i64>,
    pub oc_checksum: Option<String>,
}

/// Answers the PUT, or gives the request back (its body read into memory) for dav-server.
/// `segs` are the decoded segments of the whole URL path (`dav`, `files`, owner, then at least
/// one inside the drive); `prefix` is the raw drive prefix dav-server would strip.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    app: &App,
    dav: &super::DavState,
    req: Request,
    user_id: String,
    token_version: i64,
    segs: &[String],
    prefix: &str,
    put: PlainPut,
) -> Result<Response, Box<Request>> {
    let PlainPut {
        len,
        oc_mtime,
        oc_checksum,
    } = put;
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, len as usize).await {
        Ok(b) if b.len() as u64 == len => b,
        // The client sent less (or more) than it announced: nothing was written.
        _ => {
            let mut r = Response::new(Body::from("incomplete request body\n"));
            *r.status_mut() = StatusCode::BAD_REQUEST;
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return Ok(r);
        }
    };
    let give_back = |parts, bytes| Err(Box::new(Request::from_parts(parts, Body::from(bytes))));
    let (Some(owner), Some(rel)) = (segs.get(2).cloned(), segs.get(3..).map(<[String]>::to_vec))
    else {
        return give_back(parts, bytes);
    };
    let Some(Ok(name)) = rel.last().map(|n| NodeName::parse(n)) else {
        return give_back(parts, bytes);
    };
    if parts.uri.path().ends_with('/') {
        return give_back(parts, bytes);
    }
    // A lock on the path (or a folder above it) needs its token: dav-server checks those.
    let mut path = match DavPath::new(parts.uri.path()) {
        Ok(p) => p,
        Err(_) => return give_back(parts, bytes),
    };
    if path.set_prefix(prefix).is_err()
        || dav
            .locks_for(&user_id)
            .check(&path, None, false, false, &[])
            .await
            .is_err()
    {
        return give_back(parts, bytes);
    }

    let done = app
        .store
        .put_small_file(
            user_id,
            token_version,
            owner,
            rel,
            name,
            bytes.clone(),
            oc_mtime.map(|t| t * 1000),
            oc_checksum,
        )
        .await;
    let (node, existed) = match done {
        Ok(Some(c)) => c,
        // Not this way (or it failed before the commit): dav-server answers, as before.
        _ => return give_back(parts, bytes),
    };
    app.ops.metrics.count_dav_fast(true);
    let mut res = Response::builder()
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, quoted_etag(&node))
        .header("OC-ETag", quoted_etag(&node))
        .header("OC-FileId", node.id.as_str())
        .header(header::LAST_MODIFIED, http_date(node.modified_at));
    res = if existed {
        res.status(StatusCode::NO_CONTENT)
    } else {
        res.status(StatusCode::CREATED)
            .header(header::CONTENT_LENGTH, "0")
    };
    if oc_mtime.is_some() {
        res = res.header("X-OC-MTime", "accepted");
    }
    Ok(res.body(Body::empty()).expect("valid response"))
}

/// Runs a request through dav-server; a PUT whose body was cut off or came short of (or past)
/// its announced length answers 400 whatever dav-server made of it (502 for a body error, 500
/// for a refused flush), and an `If-None-Match: *` PUT that lost a race for a free name 412. Nothing of such a body is committed: dav-server stops before its flush,
/// or the flush refuses a body of the wrong length, and the dropped upload deletes its temp file
/// and gives its reservation back.
pub async fn handle_streamed(
    handler: &DavHandler,
    req: Request,
) -> axum::http::Response<dav_server::body::Body> {
    if req.method() != Method::PUT {
        return handler.handle(req).await;
    }
    let broken = Arc::new(AtomicBool::new(false));
    let if_none_match_star = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes().trim_ascii() == b"*");
    let (parts, body) = req.into_parts();
    let body = WatchedBody {
        inner: body,
        seen: 0,
        announced: announced_len(&parts.headers),
        broken: broken.clone(),
    };
    let res = handler
        .handle(Request::from_parts(parts, Body::new(body)))
        .await;
    if !broken.load(Ordering::Relaxed) {
        // `If-None-Match: *` lost a race: the name was free when dav-server looked, taken when
        // the body was committed (with fail-on-conflict), which dav-server reports as 405.
        // It is the precondition that failed (RFC 9110 13.1.2): 412, as when the name was taken
        // from the start.
        if if_none_match_star && res.status() == StatusCode::METHOD_NOT_ALLOWED {
            let (mut parts, _) = res.into_parts();
            parts.status = StatusCode::PRECONDITION_FAILED;
            parts.headers.remove(header::CONTENT_LENGTH);
            return axum::http::Response::from_parts(
                parts,
                dav_server::body::Body::from("the name was taken meanwhile (If-None-Match: *)\n"),
            );
        }
        return res;
    }
    let mut r = axum::http::Response::new(dav_server::body::Body::from(
        "the request body was cut off or does not match its announced length\n",
    ));
    *r.status_mut() = StatusCode::BAD_REQUEST;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// The body length a PUT announces: `Content-Length`, else macOS Finder's
/// `X-Expected-Entity-Length` (sent with a chunked body), as dav-server reads them.
fn announced_len(headers: &HeaderMap) -> Option<u64> {
    [header::CONTENT_LENGTH.as_str(), "x-expected-entity-length"]
        .iter()
        .find_map(|h| headers.get(*h))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// A request body that notes when it fails (hyper's "incomplete body" on an early EOF, a reset
/// connection, the stall timeout) or ends with another length than announced.
struct WatchedBody {
    inner: Body,
    seen: u64,
    announced: Option<u64>,
    broken: Arc<AtomicBool>,
}

impl hyper::body::Body for WatchedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                self.seen += frame.data_ref().map_or(0, |d| d.len() as u64);
                if self.announced.is_some_and(|n| self.seen > n) {
                    self.broken.store(true, Ordering::Relaxed);
                }
            }
            Poll::Ready(Some(Err(_))) => self.broken.store(true, Ordering::Relaxed),
            Poll::Ready(None) if self.announced.is_some_and(|n| self.seen != n) => {
                self.broken.store(true, Ordering::Relaxed)
            }
            _ => {}
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
    fn which_puts_are_small_and_plain() {
        let mut h = HeaderMap::new();
        assert_eq!(small_plain_len(&h), None, "no length: streamed");
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("4096"));
        assert_eq!(small_plain_len(&h), Some(4096));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(SMALL_PUT + 1));
        assert_eq!(small_plain_len(&h), None, "too big: streamed");
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(SMALL_PUT));
        assert_eq!(small_plain_len(&h), Some(SMALL_PUT));
        h.insert("if-none-match", HeaderValue::from_static("*"));
        assert_eq!(small_plain_len(&h), None, "conditional: dav-server");
        h.remove("if-none-match");
        h.insert("if", HeaderValue::from_static("(<opaquelocktoken:x>)"));
        assert_eq!(small_plain_len(&h), None, "lock token: dav-server");
    }
}
