//! `GET`/`HEAD` on a folder of a drive: a small HTML page listing its entries, as Apache, nginx
//! and Nextcloud answer (dav-server answers 405, which breaks webdavclient3's default mode and
//! shows a browser that opens the drive URL an error). The entries come from the store's folder
//! listing; this file only renders them: every name HTML-escaped, every href percent-encoded
//! segment by segment, plus a link to the same folder in the web UI.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use html_escape::{encode_double_quoted_attribute, encode_text};

use crate::store::Listing;
use crate::store::{Node, SortBy};
use crate::web::download::http_date;

use super::tree::encode_path;

/// Entries shown on the page; a larger folder says how many more there are and links to the
/// web UI, which pages through them.
pub const MAX_LISTED: i64 = 1_000;

/// The order of the page: folders first, then files, by name (the store's listing order).
pub const ORDER: SortBy = SortBy::Name;

/// The page for folder `rel` (segments below the drive root) of the drive at `prefix` (the raw
/// URL prefix, `/dav/files/alice`). HEAD gets the same headers and no body.
pub fn render(method: &Method, prefix: &str, rel: &[String], listing: &Listing) -> Response {
    let page = page(prefix, rel, listing);
    let len = page.len();
    let body = match *method == Method::HEAD {
        true => Body::empty(),
        false => Body::from(page),
    };
    let mut res = Response::new(body);
    *res.status_mut() = StatusCode::OK;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&http_date(listing.folder.modified_at)) {
        h.insert(header::LAST_MODIFIED, v);
    }
    res
}

fn page(prefix: &str, rel: &[String], listing: &Listing) -> String {
    let here = folder_href(prefix, rel);
    let title = match rel.last() {
        Some(name) => encode_text(name).into_owned(),
        None => "Your drive".to_string(),
    };
    let web_ui = match rel.is_empty() {
        true => "/files".to_string(),
        false => format!("/files/{}", listing.folder.id),
    };
    let mut w = String::with_capacity(512 + 160 * listing.items.len());
    w.push_str("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">");
    w.push_str("<meta name=\"referrer\" content=\"no-referrer\">");
    w.push_str(&format!(
        "<title>{title} – CloudVault</title></head>\n<body>\n"
    ));
    w.push_str(&format!(
        "<h1>{}</h1>\n<p><a href=\"{}\">Open this folder in the CloudVault web app</a></p>\n<ul>\n",
        title,
        encode_double_quoted_attribute(&web_ui)
    ));
    if let Some((_, up)) = rel.split_last() {
        w.push_str(&format!(
            "<li><a href=\"{}\">Parent folder</a></li>\n",
            encode_double_quoted_attribute(&folder_href(prefix, up))
        ));
    }
    for item in &listing.items {
        w.push_str(&entry(&here, item));
    }
    w.push_str("</ul>\n");
    let more = listing.total - listing.items.len() as i64;
    if more > 0 {
        w.push_str(&format!(
            "<p>{more} more entries: open the folder in the web app to see them all.</p>\n"
        ));
    }
    w.push_str("</body></html>\n");
    w
}

/// The folder's own URL path, with its trailing slash.
fn folder_href(prefix: &str, rel: &[String]) -> String {
    match rel.is_empty() {
        true => format!("{prefix}/"),
        false => format!("{prefix}{}/", encode_path(rel)),
    }
}

fn entry(here: &str, item: &Node) -> String {
    let segment = encode_path(std::slice::from_ref(&item.name));
    let (slash, size) = match item.is_dir() {
        true => ("/", String::new()),
        false => ("", format!(" ({} bytes)", item.size)),
    };
    // `encode_path` gives `/name`: `here` already ends with the slash.
    let href = format!("{here}{}{slash}", &segment[1..]);
    format!(
        "<li><a href=\"{}\">{}{slash}</a>{size}</li>\n",
        encode_double_quoted_attribute(&href),
        encode_text(&item.name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::NodeKind;

    fn node(name: &str, kind: NodeKind) -> Node {
        Node {
            id: format!("id-{name}"),
            owner_id: "u".into(),
            parent_id: Some("p".into()),
            name: name.into(),
            kind,
            size: 3,
            content_type: None,
            blob_id: None,
            volume: None,
            ext: None,
            content_hash: None,
            created_at: 0,
            modified_at: 0,
            etag: "e".into(),
        }
    }

    #[test]
    fn names_are_escaped_and_hrefs_encoded() {
        let listing = Listing {
            folder: node("a&b", NodeKind::Dir),
            path: Vec::new(),
            items: vec![
                node("<img src=x onerror=alert(1)>", NodeKind::Dir),
                node("50% \"off\" #1?.txt", NodeKind::File),
            ],
            total: 3,
        };
        let html = page("/dav/files/al", &["a&b".into()], &listing);
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;/"),
            "{html}"
        );
        assert!(
            html.contains(
                "href=\"/dav/files/al/a%26b/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E/\""
            ),
            "{html}"
        );
        assert!(
            html.contains("href=\"/dav/files/al/a%26b/50%25%20%22off%22%20%231%3F.txt\""),
            "{html}"
        );
        assert!(html.contains("href=\"/dav/files/al/\">Parent folder"));
        assert!(html.contains("href=\"/files/id-a&amp;b\""), "{html}");
        assert!(html.contains("1 more entries"));
    }
}
