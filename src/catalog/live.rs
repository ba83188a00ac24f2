//! Live Photos: an iPhone stores one as a still (`IMG_1234.HEIC`, or `.JPG` once exported) and a
//! short clip (`IMG_1234.MOV`) side by side, and every app that copies them (the Photos export,
//! iCloud for Windows, rclone, the Nextcloud app) keeps the two names. CloudVault pairs them by that:
//! a still and a clip of the same stem in the same folder, the clip being a video of at most
//! [`MAX_CLIP_MS`]. The pair is worked out when it is read, never stored, so a rename, move,
//! delete or overwrite of either half is reflected at once and can never leave a stale link.
//!
//! Both files stay ordinary files (WebDAV, downloads, quotas and the trash see two files); the web
//! UI shows the still with its clip and hides the clip beside it.

use rusqlite::Connection;

use crate::db;
use crate::db::media::StemSibling;
use crate::db::nodes::Node;
use crate::error::AppResult;

/// Apple's clips last about 3 s; a longer video of the same name is a video of its own.
pub const MAX_CLIP_MS: i64 = 10_000;

const STILL: &[&str] = &["heic", "heif", "jpg", "jpeg"];
const CLIP: &[&str] = &["mov", "mp4"];

/// The other half of a Live Photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LivePartner {
    /// This file is the still; here is its clip.
    Clip(String),
    /// This file is the clip; here is its still.
    Still(String),
}

/// `("IMG_1234", "heic")` for `IMG_1234.HEIC`: the stem and the lower-case extension.
fn split(name: &str) -> Option<(&str, String)> {
    let (stem, ext) = name.rsplit_once('.')?;
    (!stem.is_empty() && !ext.is_empty()).then(|| (stem, ext.to_ascii_lowercase()))
}

/// Whether a file could be either half, judged by its name alone (cheap: most files are neither).
pub fn may_be_live(name: &str) -> bool {
    split(name).is_some_and(|(_, e)| STILL.contains(&e.as_str()) || CLIP.contains(&e.as_str()))
}

/// A sibling of the right kind: `stem.ext` exactly, with no further dot after the stem.
fn has_ext_in<'a>(s: &'a StemSibling, stem: &str, exts: &[&str]) -> Option<&'a StemSibling> {
    let ext = s.name.strip_prefix(stem)?.strip_prefix('.')?;
    (!ext.contains('.') && exts.contains(&ext.to_ascii_lowercase().as_str())).then_some(s)
}

/// A clip qualifies when its media job has seen its current body and found a short video.
fn is_short_clip(blob_id: Option<&String>, media: Option<&db::media::MediaRow>) -> bool {
    media.is_some_and(|m| {
        Some(&m.blob_id) == blob_id
            && m.kind == "video"
            && m.duration_ms.is_some_and(|d| d <= MAX_CLIP_MS)
    })
}

/// The other half of `node`, if it is half of a Live Photo. Several candidates (a `.HEIC` and a
/// `.JPG` beside one `.MOV`): the first by name, so both sides agree.
pub fn partner(conn: &Connection, node: &Node) -> AppResult<Option<LivePartner>> {
    let (Some(parent), false) = (node.parent_id.as_deref(), node.is_dir()) else {
        return Ok(None);
    };
    let Some((stem, ext)) = split(&node.name) else {
        return Ok(None);
    };
    let is_still = STILL.contains(&ext.as_str());
    if !is_still && !CLIP.contains(&ext.as_str()) {
        return Ok(None);
    }
    let siblings = db::media::files_with_stem(conn, parent, stem)?;
    // The clip of this name: the first short one (by name), so still and clip agree.
    let clip = siblings
        .iter()
        .filter_map(|s| has_ext_in(s, stem, CLIP))
        .find(|s| is_short_clip(s.blob_id.as_ref(), s.media.as_ref()));
    if is_still {
        return Ok(clip.map(|s| LivePartner::Clip(s.id.clone())));
    }
    if clip.map(|s| s.id.as_str()) != Some(node.id.as_str()) {
        return Ok(None);
    }
    Ok(siblings
        .iter()
        .find_map(|s| has_ext_in(s, stem, STILL))
        .map(|s| LivePartner::Still(s.id.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_stem_and_lower_case_extension() {
        assert_eq!(split("IMG_1234.HEIC"), Some(("IMG_1234", "heic".into())));
        assert_eq!(split("a.b.MOV"), Some(("a.b", "mov".into())));
        assert_eq!(split(".mov"), None);
        assert_eq!(split("noext"), None);
        assert!(may_be_live("x.JPG") && may_be_live("x.Mov") && !may_be_live("x.png"));
    }

    #[test]
    fn a_sibling_matches_only_its_exact_stem() {
        let s = |name: &str| StemSibling {
            id: name.into(),
            name: name.into(),
            blob_id: None,
            media: None,
        };
        assert!(has_ext_in(&s("IMG_1.MOV"), "IMG_1", CLIP).is_some());
        assert!(has_ext_in(&s("IMG_1.mp4"), "IMG_1", CLIP).is_some());
        assert!(has_ext_in(&s("IMG_1.edited.MOV"), "IMG_1", CLIP).is_none());
        assert!(has_ext_in(&s("IMG_1.HEIC"), "IMG_1", CLIP).is_none());
        assert!(has_ext_in(&s("IMG_1.HEIC"), "IMG_1", STILL).is_some());
    }
}
