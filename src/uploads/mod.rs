//! Uploads assembled from parts: Nextcloud chunked uploads (`chunked.rs`, a folder of numbered
//! parts joined by a final MOVE) and tus resumable uploads (`tus.rs`, one file appended to
//! request by request). Both reserve their bytes against the quota as they arrive,
//! survive a restart, are worked on by one request at a time (a [`Busy`] mark with a drop guard),
//! expire after [`EXPIRE_AFTER`] untouched in one sweep, and end in the store's one commit.

pub mod chunked;
pub mod tus;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use crate::db::chunks::{ChunkPart, ChunkUpload};
pub use crate::db::tus::TusUpload;
use crate::error::AppResult;
use crate::store::Store;

/// An upload nobody touched for this long is abandoned, whichever protocol started it.
pub const EXPIRE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The uploads service both doors call.
#[derive(Clone)]
pub struct Uploads {
    pub store: Store,
    /// Chunked uploads being assembled right now.
    assembling: Busy,
    /// Tus uploads with a request writing to them, and their running hashes.
    tus: Arc<tus::TusState>,
}

impl Uploads {
    pub fn new(store: Store) -> Uploads {
        Uploads {
            store,
            assembling: Busy::default(),
            tus: Arc::default(),
        }
    }

    /// The one sweep: chunked and tus uploads untouched for [`EXPIRE_AFTER`] give their space
    /// back, and part folders no upload owns are removed. Returns (chunked, tus) counts.
    pub async fn expire_stale(&self) -> AppResult<(usize, usize)> {
        let chunked = self.expire_stale_chunked().await?;
        let tus = self.expire_stale_tus().await?;
        Ok((chunked, tus))
    }
}

/// Uploads with a request working on them. Each mark is held by a [`BusyGuard`], so a request
/// whose client goes away (hyper then drops its future wherever it waits) gives the mark back
/// instead of leaving the upload refused until a restart.
#[derive(Clone, Default)]
pub struct Busy(Arc<Mutex<HashSet<String>>>);

impl Busy {
    /// Marks `upload_id` as busy, or None when another request already holds it.
    pub fn enter(&self, upload_id: &str) -> Option<BusyGuard> {
        if !self.0.lock().unwrap().insert(upload_id.to_string()) {
            return None;
        }
        Some(BusyGuard {
            set: self.0.clone(),
            id: upload_id.to_string(),
            cancel: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// One upload's busy mark. Dropped early (the client went away mid-work), it also tells the
/// work it guards to stop (`cancel`).
pub struct BusyGuard {
    set: Arc<Mutex<HashSet<String>>>,
    id: String,
    pub cancel: Arc<AtomicBool>,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.set.lock().unwrap().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_is_given_back_when_its_guard_drops() {
        let busy = Busy::default();
        let g = busy.enter("u1").expect("free");
        assert!(busy.enter("u1").is_none(), "held while the guard lives");
        assert!(busy.enter("u2").is_some(), "marks are per upload");
        let cancel = g.cancel.clone();
        drop(g);
        assert!(
            cancel.load(Ordering::Relaxed),
            "dropping tells the work to stop"
        );
        assert!(busy.enter("u1").is_some(), "free again");
    }
}
