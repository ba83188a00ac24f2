//! What a new file body sets off: the media job (thumbnails, EXIF, then CLIP) for pictures and
//! videos, and forgetting what was computed from the body it replaced. The store calls this
//! inside the commit's transaction; the worker pool (src/jobs/) runs what it queues.

use rusqlite::Connection;

use crate::db::jobs::KIND_MEDIA;
use crate::db::nodes::Node;
use crate::db::{self};
use crate::error::AppResult;

/// Whether a file gets media processing: pictures and videos, never macOS/Windows metadata
/// files (`._*`, `.DS_Store`, `Thumbs.db`) that clients create beside real files.
pub fn wants_media(name: &str, ext: &str) -> bool {
    !super::names::is_os_metadata(name) && crate::media::media_kind(ext).is_some()
}

/// Called inside the transaction that gives a file a new body: queues its media job and
/// forgets what was computed from the old body (in the same commit, so a crash never loses
/// the job or keeps stale results). `replaced_body`: the node existed before this commit (an
/// overwrite); a node created by it has nothing computed yet. Returns whether a job was queued.
pub fn queue_for_new_body(tx: &Connection, node: &Node, replaced_body: bool) -> AppResult<bool> {
    if replaced_body {
        db::jobs::forget_computed(tx, &node.id)?;
    }
    if !wants_media(&node.name, node.ext.as_deref().unwrap_or("")) {
        if replaced_body {
            db::jobs::forget_media(tx, &node.id)?;
        }
        return Ok(false);
    }
    db::jobs::enqueue_job(tx, KIND_MEDIA, &node.id, &node.owner_id, db::now_ms())?;
    Ok(true)
}
