//! Windows Explorer's file times. After copying a file, Explorer (the mini-redirector) sends a
//! PROPPATCH with `Win32CreationTime`, `Win32LastModifiedTime`, `Win32LastAccessTime` and
//! `Win32FileAttributes` (namespace `urn:schemas-microsoft-com:`, RFC 1123 dates). dav-server
//! answers those itself, OK, and drops them (files showed "modified today"). So the door moves
//! the two times it keeps into a namespace of ours ([`TIMES_NS`]) before dav-server reads the
//! body: dav-server then hands them to our filesystem with the request's dead properties, and
//! the store applies them together, in one transaction (RFC 4918 9.2: all or nothing). Access
//! time and attributes stay dav-server's (acknowledged, not kept).

use xmltree::{Element, XMLNode};

use crate::store::props::NodeTime;

/// Explorer's namespace.
pub const MS_NS: &str = "urn:schemas-microsoft-com:";
/// Where the door moves the two times for dav-server to pass them on; never stored.
pub const TIMES_NS: &str = "urn:cloudvault:win32-times";
const TIMES_PREFIX: &str = "cvwin32";

/// Which of a node's times a property of Explorer's sets.
pub fn time_of(name: &str) -> Option<NodeTime> {
    match name {
        "Win32LastModifiedTime" => Some(NodeTime::Modified),
        "Win32CreationTime" => Some(NodeTime::Created),
        _ => None,
    }
}

/// The PROPPATCH body with the kept times of its `<set>` moved to [`TIMES_NS`], or None when it
/// has none (the body then goes to dav-server untouched, byte for byte).
pub fn route_times(body: &[u8]) -> Option<Vec<u8>> {
    let mut root = Element::parse(body).ok()?;
    if root.name != "propertyupdate" || root.namespace.as_deref() != Some("DAV:") {
        return None;
    }
    let mut moved = false;
    for set in root.children.iter_mut().filter_map(XMLNode::as_mut_element) {
        if set.name != "set" || set.namespace.as_deref() != Some("DAV:") {
            continue;
        }
        for prop in set.children.iter_mut().filter_map(XMLNode::as_mut_element) {
            if prop.name != "prop" {
                continue;
            }
            for p in prop.children.iter_mut().filter_map(XMLNode::as_mut_element) {
                if p.namespace.as_deref() == Some(MS_NS) && time_of(&p.name).is_some() {
                    p.namespace = Some(TIMES_NS.to_string());
                    p.prefix = Some(TIMES_PREFIX.to_string());
                    let mut ns = p
                        .namespaces
                        .clone()
                        .unwrap_or_else(xmltree::Namespace::empty);
                    ns.force_put(TIMES_PREFIX, TIMES_NS);
                    p.namespaces = Some(ns);
                    moved = true;
                }
            }
        }
    }
    if !moved {
        return None;
    }
    let mut out = Vec::new();
    root.write(&mut out).ok()?;
    Some(out)
}

/// The time a moved property's value holds (the property as dav-server passes it on: the whole
/// element), in milliseconds since the epoch; None when it is not an RFC 1123 date (or an RFC
/// 850 or asctime one, which HTTP dates also allow).
pub fn parse_time(xml: &[u8]) -> Option<i64> {
    let el = Element::parse(xml).ok()?;
    if el.children.iter().any(|c| c.as_element().is_some()) {
        return None;
    }
    let text = el.get_text()?;
    let t = httpdate::parse_http_date(text.trim()).ok()?;
    let ms = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
    i64::try_from(ms).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPLORER: &str = r#"<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32CreationTime>Tue, 02 Jan 2001 03:04:05 GMT</Z:Win32CreationTime><Z:Win32LastAccessTime>Thu, 03 Dec 2026 14:00:00 GMT</Z:Win32LastAccessTime><Z:Win32LastModifiedTime>Wed, 15 Mar 2023 10:20:30 GMT</Z:Win32LastModifiedTime><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>"#;

    #[test]
    fn explorer_times_are_moved_and_the_rest_kept() {
        let out = route_times(EXPLORER.as_bytes()).expect("times moved");
        let root = Element::parse(out.as_slice()).unwrap();
        let prop = root
            .get_child("set")
            .and_then(|s| s.get_child("prop"))
            .unwrap();
        let found: Vec<(String, String, String)> = prop
            .children
            .iter()
            .filter_map(|c| c.as_element())
            .map(|e| {
                (
                    e.namespace.clone().unwrap_or_default(),
                    e.name.clone(),
                    e.get_text().unwrap_or_default().to_string(),
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (
                    TIMES_NS.into(),
                    "Win32CreationTime".into(),
                    "Tue, 02 Jan 2001 03:04:05 GMT".into()
                ),
                (
                    MS_NS.into(),
                    "Win32LastAccessTime".into(),
                    "Thu, 03 Dec 2026 14:00:00 GMT".into()
                ),
                (
                    TIMES_NS.into(),
                    "Win32LastModifiedTime".into(),
                    "Wed, 15 Mar 2023 10:20:30 GMT".into()
                ),
                (
                    MS_NS.into(),
                    "Win32FileAttributes".into(),
                    "00000020".into()
                ),
            ]
        );
        // A body without them is not touched at all.
        let plain = r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x">1</x:a></D:prop></D:set></D:propertyupdate>"#;
        assert!(route_times(plain.as_bytes()).is_none());
    }

    #[test]
    fn dates_are_read_as_http_dates() {
        let el = |v: &str| {
            format!("<a:Win32LastModifiedTime xmlns:a=\"{TIMES_NS}\">{v}</a:Win32LastModifiedTime>")
        };
        assert_eq!(
            parse_time(el("Wed, 15 Mar 2023 10:20:30 GMT").as_bytes()),
            Some(1_678_875_630_000)
        );
        assert_eq!(
            parse_time(el(" Wed, 15 Mar 2023 10:20:30 GMT ").as_bytes()),
            Some(1_678_875_630_000)
        );
        for bad in [
            "yesterday",
            "",
            "2023-03-15T10:20:30Z",
            "Wed, 32 Mar 2023 10:20:30 GMT",
        ] {
            assert_eq!(parse_time(el(bad).as_bytes()), None, "{bad}");
        }
    }
}
