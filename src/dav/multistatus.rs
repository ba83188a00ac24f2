//! The few multistatus answers the door writes itself (the listing roots above the drives, the
//! chunked-upload folders), built with xml-rs's writer so that every href is escaped; the
//! drives' own answers come from dav-server.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use xml::writer::{EmitterConfig, XmlEvent};

/// One `<D:response>`: a collection, or a member with its length.
pub struct Entry {
    /// The href as sent: an encoded URL path (it is XML-escaped here, not percent-encoded).
    pub href: String,
    pub collection: bool,
    pub length: Option<u64>,
}

impl Entry {
    pub fn collection(href: String) -> Self {
        Entry {
            href,
            collection: true,
            length: None,
        }
    }

    pub fn member(href: String, length: u64) -> Self {
        Entry {
            href,
            collection: false,
            length: Some(length),
        }
    }
}

/// The XML document for `entries`, each with a 200 propstat of resourcetype (and length).
pub fn render(entries: &[Entry]) -> String {
    let mut out = Vec::new();
    let mut w = EmitterConfig::new()
        .perform_indent(false)
        .create_writer(&mut out);
    let written = (|| -> xml::writer::Result<()> {
        w.write(XmlEvent::StartDocument {
            version: xml::common::XmlVersion::Version10,
            encoding: Some("utf-8"),
            standalone: None,
        })?;
        w.write(XmlEvent::start_element("D:multistatus").ns("D", "DAV:"))?;
        for e in entries {
            w.write(XmlEvent::start_element("D:response"))?;
            text_element(&mut w, "D:href", &e.href)?;
            w.write(XmlEvent::start_element("D:propstat"))?;
            w.write(XmlEvent::start_element("D:prop"))?;
            w.write(XmlEvent::start_element("D:resourcetype"))?;
            if e.collection {
                w.write(XmlEvent::start_element("D:collection"))?;
                w.write(XmlEvent::end_element())?;
            }
            w.write(XmlEvent::end_element())?;
            if let Some(n) = e.length {
                text_element(&mut w, "D:getcontentlength", &n.to_string())?;
            }
            w.write(XmlEvent::end_element())?; // prop
            text_element(&mut w, "D:status", "HTTP/1.1 200 OK")?;
            w.write(XmlEvent::end_element())?; // propstat
            w.write(XmlEvent::end_element())?; // response
        }
        w.write(XmlEvent::end_element())
    })();
    // Writing to a Vec cannot fail, and every element above is closed.
    written.expect("multistatus written to memory");
    let mut xml = String::from_utf8(out).expect("xml-rs writes UTF-8");
    xml.push('\n');
    xml
}

fn text_element<W: std::io::Write>(
    w: &mut xml::writer::EventWriter<W>,
    name: &str,
    text: &str,
) -> xml::writer::Result<()> {
    w.write(XmlEvent::start_element(name))?;
    w.write(XmlEvent::characters(text))?;
    w.write(XmlEvent::end_element())
}

/// 207 with the document for `entries`.
pub fn response(entries: &[Entry]) -> Response {
    (
        StatusCode::MULTI_STATUS,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        render(entries),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_are_escaped_and_the_document_parses() {
        let xml = render(&[
            Entry::collection("/dav/uploads/a/".into()),
            Entry::member("/dav/uploads/a/x&y<z>".into(), 42),
        ]);
        assert!(xml.contains("x&amp;y&lt;z&gt;</D:href>"), "{xml}");
        let root = xmltree::Element::parse(xml.as_bytes()).expect("well-formed");
        let hrefs: Vec<String> = root
            .children
            .iter()
            .filter_map(|c| c.as_element())
            .map(|r| {
                r.get_child("href")
                    .unwrap()
                    .get_text()
                    .unwrap()
                    .into_owned()
            })
            .collect();
        assert_eq!(hrefs, ["/dav/uploads/a/", "/dav/uploads/a/x&y<z>"]);
        assert!(xml.contains("<D:getcontentlength>42</D:getcontentlength>"));
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>"));
    }
}
