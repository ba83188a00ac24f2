//! The properties Nextcloud's apps read in a PROPFIND, worked out from the node (live, never
//! stored): `oc:id` (the file's id, which the apps key their sync state on), `oc:permissions`
//! (what the user may do with it, in Nextcloud's letters), `oc:size`, and the drive root's
//! `oc:data-fingerprint` (empty: no restore from backup has to be announced).
//! A file's `oc:checksums` is a stored property (what the client sent with `OC-Checksum`).

use crate::store::Node;

pub const OC_NS: &str = "http://owncloud.org/ns";

/// Nextcloud's permission letters: D delete, N rename, V move, W write (files), C create a file
/// and K a folder (folders). R (share) is not offered: the apps' share API is not there yet.
pub fn permissions(node: &Node) -> &'static str {
    if node.is_dir() { "DNVCK" } else { "DNVW" }
}

/// Whether (namespace, name) is one of the properties worked out here.
pub fn is_live(namespace: &str, name: &str) -> bool {
    namespace == OC_NS && matches!(name, "id" | "permissions" | "size" | "data-fingerprint")
}

/// The element of a live property for `node` (None: it has none, e.g. a folder's size, or
/// `data-fingerprint` below the root).
pub fn value(node: &Node, is_root: bool, name: &str) -> Option<Vec<u8>> {
    let text = match name {
        "id" => node.id.clone(),
        "permissions" => permissions(node).to_string(),
        "size" if !node.is_dir() => node.size.to_string(),
        "data-fingerprint" if is_root => String::new(),
        _ => return None,
    };
    // Ids, letters and digits: nothing to escape.
    Some(format!("<oc:{name} xmlns:oc=\"{OC_NS}\">{text}</oc:{name}>").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_folders_get_their_letters() {
        let mut n = Node {
            id: "n1".into(),
            owner_id: "u".into(),
            parent_id: Some("p".into()),
            name: "a.txt".into(),
            kind: crate::store::NodeKind::File,
            size: 42,
            content_type: None,
            blob_id: None,
            volume: None,
            ext: None,
            content_hash: None,
            created_at: 0,
            modified_at: 0,
            etag: "e".into(),
        };
        assert_eq!(permissions(&n), "DNVW");
        assert_eq!(
            value(&n, false, "size").unwrap(),
            b"<oc:size xmlns:oc=\"http://owncloud.org/ns\">42</oc:size>"
        );
        assert!(value(&n, false, "data-fingerprint").is_none());
        n.kind = crate::store::NodeKind::Dir;
        assert_eq!(permissions(&n), "DNVCK");
        assert!(value(&n, false, "size").is_none());
        assert!(is_live(OC_NS, "id") && !is_live(OC_NS, "checksums") && !is_live("DAV:", "id"));
    }
}
