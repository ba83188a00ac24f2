//! XML request bodies, checked before dav-server parses them. dav-server reads them with xmltree
//! over xml-rs, which expands internal entities (one 20 KB entity referenced 10,000 times is
//! 200 MB, which PROPPATCH then stored and LOCK kept in memory) and builds its tree by recursion
//! (a body nested thousands deep would overflow the stack). So every XML body is read whole here,
//! under its method's limit (413 beyond it), and refused with 400 when it carries a DTD — the
//! only place an entity can be declared — or nests deeper than [`MAX_DEPTH`].

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use xml::reader::{EventReader, ParserConfig, XmlEvent};

use crate::error::{AppError, ErrorCode};

/// PROPFIND: a list of property names (dav-server itself reads no more than 64 KiB of a body).
pub const PROPFIND_BODY_LIMIT: usize = 64 * 1024;
/// PROPPATCH: the values to store, themselves bounded (`store::props`).
pub const PROPPATCH_BODY_LIMIT: usize = 64 * 1024;
/// LOCK: the `<owner>` a client sends stays in the in-memory lock table for the lock's life.
/// Real clients send a few hundred bytes (Windows: the account name; litmus: a short text).
pub const LOCK_BODY_LIMIT: usize = 8 * 1024;
/// REPORT, MKCALENDAR, MKADDRESSBOOK (dav-server parses them when built with CalDAV/CardDAV).
pub const OTHER_XML_BODY_LIMIT: usize = 64 * 1024;
/// Element nesting. WebDAV bodies are 3 to 5 deep, with a dead property's value a few more.
pub const MAX_DEPTH: usize = 64;

/// The body limit of a method whose body dav-server parses as XML; None for the others (PUT
/// bodies are content; MKCOL, COPY, MOVE... take none, which dav-server checks itself).
fn xml_body_limit(method: &Method) -> Option<usize> {
    match method.as_str() {
        "PROPFIND" => Some(PROPFIND_BODY_LIMIT),
        "PROPPATCH" => Some(PROPPATCH_BODY_LIMIT),
        "LOCK" => Some(LOCK_BODY_LIMIT),
        "REPORT" | "MKCALENDAR" | "MKADDRESSBOOK" => Some(OTHER_XML_BODY_LIMIT),
        _ => None,
    }
}

/// Reads and checks the XML body of `req` if its method has one; hands back the request with
/// the body buffered, or the answer that refuses it.
pub async fn read_xml_body(req: Request) -> Result<Request, Response> {
    let Some(limit) = xml_body_limit(req.method()) else {
        return Ok(req);
    };
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        let refused = too_large(req.method(), limit);
        crate::web::linger::drain(req.into_body()).await;
        return Err(refused);
    }
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let Ok(chunk) = chunk else {
            return Err(AppError::bad_request(
                ErrorCode::BodyCutOff,
                "the request body was cut off",
            )
            .into_response());
        };
        if buf.len() + chunk.len() > limit {
            // The client may still be sending: it reads the 413 rather than a reset.
            crate::web::linger::drain(Body::from_stream(stream)).await;
            return Err(too_large(&parts.method, limit));
        }
        buf.extend_from_slice(&chunk);
    }
    let bytes = axum::body::Bytes::from(buf);
    check_xml(&bytes).map_err(IntoResponse::into_response)?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Refuses a body that declares a DTD or nests deeper than [`MAX_DEPTH`]. A body that is not
/// well-formed is left to dav-server, which refuses it (400) with the same parser: the bytes it
/// would parse before failing are the ones checked here.
pub fn check_xml(body: &[u8]) -> Result<(), AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    // First the bytes, in any case, wherever they are (also after a BOM, comments or a
    // processing instruction, or inside a comment or CDATA, where a DTD is never needed).
    if contains_ignore_case(body, b"<!doctype") || contains_ignore_case(body, b"<!entity") {
        return Err(dtd_refused());
    }
    // Then the same parser as dav-server's, so that a body in an encoding where those bytes
    // look different (UTF-16) is judged by what xml-rs reads. It stops at the DTD, before any
    // entity is used, and at the first element too deep.
    let config = ParserConfig::new()
        .ignore_comments(true)
        .coalesce_characters(false);
    let mut reader = EventReader::new_with_config(body, config);
    let mut depth = 0usize;
    loop {
        match reader.next() {
            Ok(XmlEvent::Doctype { .. }) => return Err(dtd_refused()),
            Ok(XmlEvent::StartElement { .. }) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(AppError::bad_request(
                        ErrorCode::XmlTooDeep,
                        format!("XML bodies may nest elements at most {MAX_DEPTH} deep"),
                    ));
                }
            }
            Ok(XmlEvent::EndElement { .. }) => depth = depth.saturating_sub(1),
            Ok(XmlEvent::EndDocument) | Err(_) => return Ok(()),
            Ok(_) => {}
        }
    }
}

fn too_large(method: &Method, limit: usize) -> Response {
    AppError::new(
        ErrorCode::BodyTooLarge,
        format!("a {method} body may be at most {} KiB", limit / 1024),
    )
    .into_response()
}

fn dtd_refused() -> AppError {
    AppError::bad_request(
        ErrorCode::XmlDtdRefused,
        "XML bodies may not carry a document type declaration (<!DOCTYPE>, <!ENTITY>)",
    )
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &[u8]) -> Option<&'static str> {
        check_xml(body).err().map(|e| e.code.as_str())
    }

    #[test]
    fn ordinary_bodies_pass() {
        for body in [
            &b""[..],
            b"  \r\n",
            b"<?xml version=\"1.0\" encoding=\"utf-8\"?><D:propfind xmlns:D=\"DAV:\"><D:allprop/></D:propfind>",
            b"\xEF\xBB\xBF<?xml version=\"1.0\"?><!-- hi --><propfind xmlns=\"DAV:\"><propname/></propfind>",
            b"<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>WORKGROUP\\me</D:href></D:owner></D:lockinfo>",
            b"<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop><Z:v xmlns:Z=\"urn:z\">a &amp; b &#x263A;</Z:v></D:prop></D:set></D:propertyupdate>",
            // Not well-formed: dav-server's to refuse.
            b"<propfind xmlns=\"DAV:\"><prop></propfind>",
        ] {
            assert_eq!(code(body), None, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn dtds_are_refused_in_any_case_and_place() {
        let entity = "x".repeat(100);
        for body in [
            format!(
                "<?xml version=\"1.0\"?><!DOCTYPE p [<!ENTITY e \"{entity}\">]><propfind xmlns=\"DAV:\">&e;&e;</propfind>"
            ),
            "\u{feff}<!-- c --><?pi x?>\n<!doctype p><p/>".to_string(),
            "<!DocType p SYSTEM \"file:///etc/passwd\"><p/>".to_string(),
            "<p><![CDATA[<!ENTITY x \"y\">]]></p>".to_string(),
        ] {
            assert_eq!(code(body.as_bytes()), Some("xml-dtd-refused"), "{body}");
        }
        // UTF-16 (with its BOM): the bytes differ, xml-rs reads the same DTD.
        let utf16: Vec<u8> = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-16\"?><!DOCTYPE p [<!ENTITY e \"zz\">]><p>&e;</p>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(code(&utf16), Some("xml-dtd-refused"));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert_eq!(code(deep(MAX_DEPTH).as_bytes()), None);
        assert_eq!(code(deep(MAX_DEPTH + 1).as_bytes()), Some("xml-too-deep"));
        assert_eq!(code(deep(10_000).as_bytes()), Some("xml-too-deep"));
    }
}
