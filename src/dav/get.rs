//! The common WebDAV read, answered in one blocking hop: a plain `GET`/`HEAD` of a file (no
//! conditions, no ranges) by a client whose credentials are in the auth cache. The user check,
//! the path lookup (one read transaction) and the opening of the body, with the whole of a small
//! body read, happen on one blocking thread; the answer carries exactly the headers dav-server's
//! own GET would (ETag, Last-Modified, Accept-Ranges, Content-Type by extension,
//! Content-Length). Anything else — a folder, a missing path, a changed account, a conditional
//! or ranged request — returns `None` and takes the full dav-server path, which answers it.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use crate::dav::fs::READ_HEAD;
use crate::state::App;
use crate::web::download::{file_body, http_date, quote_etag, quoted_etag};

/// Headers that make a GET conditional, ranged or lock-aware: dav-server handles those.
const NOT_PLAIN: [&str; 7] = [
    "if",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "if-range",
    "range",
];

/// Whether `headers` ask for nothing but the whole body.
pub fn is_plain(headers: &HeaderMap) -> bool {
    NOT_PLAIN.iter().all(|h| !headers.contains_key(*h))
}

/// `segs` are the decoded segments of the whole URL path (`dav`, `files`, owner, then the
/// path inside the drive, at least one). `user_id`/`token_version` come from the auth cache and
/// are checked against the users row in the same hop.
pub async fn serve(
    app: &App,
    method: &Method,
    user_id: String,
    token_version: i64,
    segs: &[String],
) -> Option<Response> {
    let owner = segs.get(2)?.clone();
    let rel: Vec<String> = segs.get(3..)?.to_vec();
    let mime = mime_of(rel.last()?);
    let head_only = method == Method::HEAD;
    let hot =
        app.store
            .read_small_file_hot(&user_id, token_version, &owner, &rel, head_only, READ_HEAD);
    let (head, body) = match hot {
        Some((file, body)) => {
            app.ops.metrics.count_dav_hot();
            let head = (file.size, file.modified_at, quote_etag(&file.etag));
            (head, body.map(Ok))
        }
        None => {
            let (node, body) = app
                .store
                .read_small_file(user_id, token_version, owner, rel, head_only, READ_HEAD)
                .await
                .ok()??;
            ((node.size, node.modified_at, quoted_etag(&node)), body)
        }
    };
    let (size, modified_at, etag) = head;
    app.ops.metrics.count_dav_fast(false);
    let size = size.max(0) as u64;
    let res = Response::builder()
        .status(StatusCode::OK)
        .header(header::LAST_MODIFIED, http_date(modified_at))
        .header(header::ETAG, etag)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_TYPE, HeaderValue::from_static(mime))
        .header(header::CONTENT_LENGTH, size);
    let body = match body {
        None => Body::empty(),
        Some(Ok(bytes)) => Body::from(bytes),
        Some(Err(file)) => file_body(file, 0, size),
    };
    res.body(body).ok()
}

/// The type dav-server gives a name: by its extension, else `application/octet-stream`.
fn mime_of(name: &str) -> &'static str {
    name.rsplit_once('.')
        .and_then(|(_, ext)| mime_guess::from_ext(ext).first_raw())
        .unwrap_or("application/octet-stream")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_requests_and_types() {
        let mut h = HeaderMap::new();
        h.insert(header::USER_AGENT, HeaderValue::from_static("rclone"));
        assert!(is_plain(&h));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=0-1"));
        assert!(!is_plain(&h));
        assert_eq!(mime_of("a.JPG"), mime_of("b.jpg"));
        assert_eq!(mime_of("photo.jpg"), "image/jpeg");
        assert_eq!(mime_of("noext"), "application/octet-stream");
        assert_eq!(mime_of("x.unknownext"), "application/octet-stream");
    }
}
