//! Serving a file body: single Range requests, If-None-Match / If-Modified-Since / If-Range,
//! `Content-Disposition` with RFC 6266 `filename*`, streamed in blocking hops.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;

use crate::db::nodes::Node;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::store::Store;

pub fn quoted_etag(node: &Node) -> String {
    quote_etag(&node.etag)
}

/// An entity tag as the `ETag` header carries it.
pub fn quote_etag(etag: &str) -> String {
    format!("\"{etag}\"")
}

pub(crate) fn http_date(ms: i64) -> String {
    httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64),
    )
}

/// `attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded` (RFC 6266 / 8187).
pub fn content_disposition(name: &str, inline: bool) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    const ATTR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(name, ATTR);
    let kind = if inline { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

fn etag_matches(list: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    list.split(',')
        .any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

/// A byte range of a `size`-byte body: Ok(None) = serve whole, Err = 416.
fn parse_range(value: &str, size: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None); // multiple ranges: the whole body is an allowed answer
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().map_err(|_| ())?;
        if n == 0 || size == 0 {
            return Err(());
        }
        (size.saturating_sub(n), size - 1)
    } else {
        let start: u64 = a.parse().map_err(|_| ())?;
        let end: u64 = if b.is_empty() {
            u64::MAX
        } else {
            b.parse().map_err(|_| ())?
        };
        if end < start {
            return Ok(None);
        }
        if start >= size {
            return Err(());
        }
        (start, end.min(size - 1))
    };
    Ok(Some(range))
}

pub async fn serve_file(
    store: &Store,
    node: &Node,
    method: &Method,
    req: &HeaderMap,
    inline: bool,
) -> AppResult<Response> {
    let size = node.size as u64;
    let etag = quoted_etag(node);
    let last_modified = http_date(node.modified_at);
    let get = |h: header::HeaderName| req.get(h).and_then(|v| v.to_str().ok());

    let not_modified = match get(header::IF_NONE_MATCH) {
        Some(list) => etag_matches(list, &etag),
        None => get(header::IF_MODIFIED_SINCE)
            .and_then(|d| httpdate::parse_http_date(d).ok())
            .is_some_and(|since| {
                let modified = std::time::UNIX_EPOCH
                    + std::time::Duration::from_secs((node.modified_at / 1000).max(0) as u64);
                modified <= since
            }),
    };
    let mut res = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::LAST_MODIFIED, &last_modified)
        .header(header::CACHE_CONTROL, "private, no-cache")
        .header(header::ACCEPT_RANGES, "bytes");
    if not_modified {
        return Ok(res
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap());
    }

    let range_allowed = match get(header::IF_RANGE) {
        None => true,
        Some(v) if v.trim().starts_with('"') => v.trim() == etag,
        Some(v) => v.trim() == last_modified,
    };
    let range = match get(header::RANGE) {
        Some(r) if range_allowed => parse_range(r, size).map_err(|()| {
            AppError::new(
                ErrorCode::RangeNotSatisfiable,
                format!("the file has {size} bytes"),
            )
        }),
        _ => Ok(None),
    };
    let range = match range {
        Ok(r) => r,
        Err(e) => {
            let mut r = axum::response::IntoResponse::into_response(e);
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).unwrap(),
            );
            return Ok(r);
        }
    };

    let (status, start, len) = match range {
        Some((a, b)) => {
            res = res.header(header::CONTENT_RANGE, format!("bytes {a}-{b}/{size}"));
            (StatusCode::PARTIAL_CONTENT, a, b - a + 1)
        }
        None => (StatusCode::OK, 0, size),
    };
    let content_type = node
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());
    // Inline only for types that cannot run script in our origin.
    let scriptable = content_type.contains("html")
        || content_type.contains("svg")
        || content_type.contains("xml")
        || content_type.contains("javascript");
    res = res
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, len)
        .header(
            header::CONTENT_DISPOSITION,
            content_disposition(&node.name, inline && !scriptable),
        )
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(
            header::CONTENT_SECURITY_POLICY,
            "sandbox; default-src 'none'",
        );
    if method == Method::HEAD {
        return Ok(res.body(Body::empty()).unwrap());
    }
    let file = store.open_body(node).await?;
    Ok(res.body(file_body(file, start, len)).unwrap())
}

/// Streams `len` bytes from `offset`, read in blocking hops a chunk ahead of the socket (no
/// thread is held while the client reads).
pub fn file_body(file: std::fs::File, offset: u64, len: u64) -> Body {
    Body::from_stream(crate::store::FileStream::new(file, offset, len))
}

/// A thumbnail file (JPEG) with its ETag: 304 when the client has it.
pub async fn serve_thumbnail(
    path: &std::path::Path,
    etag: &str,
    req: &HeaderMap,
) -> AppResult<Response> {
    use axum::response::IntoResponse;
    let mut resp = if req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        axum::http::StatusCode::NOT_MODIFIED.into_response()
    } else {
        let bytes = tokio::fs::read(path).await.map_err(|e| {
            AppError::internal(format_args!("thumbnail {} unreadable: {e}", path.display()))
        })?;
        ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(etag).map_err(|_| AppError::internal("etag"))?,
    );
    // The URL stays when the file is overwritten: cache briefly, then revalidate by ETag.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(parse_range("bytes=50-500", 100), Ok(Some((50, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(parse_range("items=0-1", 100), Ok(None));
        assert_eq!(parse_range("bytes=-0", 100), Err(()));
    }

    #[test]
    fn disposition_has_ascii_fallback_and_utf8() {
        let d = content_disposition("naïve \"résumé\".pdf", false);
        assert!(
            d.starts_with("attachment; filename=\"na_ve _r_sum__.pdf\""),
            "{d}"
        );
        assert!(
            d.ends_with("filename*=UTF-8''na%C3%AFve%20%22r%C3%A9sum%C3%A9%22.pdf"),
            "{d}"
        );
    }
}
