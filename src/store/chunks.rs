//! A Nextcloud chunked upload's parts made into one body: concatenated on the upload's own
//! volume (a kernel copy, a reflink where the filesystem shares extents), hashed, fsynced, and
//! handed over as a [`StagedBody`] for the usual commit.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::{StagedBody, Store};
use crate::db::chunks::ChunkPart;
use crate::db::{self};
use crate::error::AppResult;
use crate::storage::volumes::sync_dir;

impl Store {
    /// Assembles `parts` (in order) of upload `upload_id` of `owner` into a new body of
    /// `total` bytes on `volume`. Gives up (an error) as soon as `cancel` is set: the client
    /// went away. The staged body owns its temp file, so an error or an unused body deletes it.
    #[allow(clippy::too_many_arguments)]
    pub async fn stage_assembled(
        &self,
        owner: &str,
        volume: &str,
        upload_id: &str,
        parts: Vec<ChunkPart>,
        total: i64,
        ext: String,
        cancel: Arc<AtomicBool>,
    ) -> AppResult<StagedBody> {
        let (db, volumes) = (self.db.clone(), self.volumes.clone());
        let (uid, volume, upload_id) =
            (owner.to_string(), volume.to_string(), upload_id.to_string());
        tokio::task::spawn_blocking(move || -> AppResult<StagedBody> {
            // Checked here, on this thread, right before a new body is made on the volume.
            let v = volumes.online(&volume)?;
            let blob_id = db::new_id();
            let tmp_path = v.temp_path(&blob_id);
            let mut staged = StagedBody::from_temp_file(
                db,
                &uid,
                &volume,
                blob_id,
                ext,
                tmp_path.clone(),
                total,
                String::new(),
            );
            staged.hash = assemble_parts(
                &v.chunk_dir(&upload_id),
                &parts,
                &v.tmp_dir(),
                &tmp_path,
                &cancel,
            )?;
            Ok(staged)
        })
        .await?
    }
}

/// Concatenates the parts into `tmp` (kernel copy; a reflink on filesystems that share
/// extents), hashing them on the way, and fsyncs the result. Stops (an `Interrupted` error)
/// as soon as `cancel` is set.
fn assemble_parts(
    chunk_dir: &Path,
    parts: &[ChunkPart],
    tmp_dir: &Path,
    tmp: &Path,
    cancel: &AtomicBool,
) -> std::io::Result<String> {
    let cancelled = || {
        if cancel.load(Ordering::Relaxed) {
            Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "the client went away during the assembly",
            ))
        } else {
            Ok(())
        }
    };
    std::fs::create_dir_all(tmp_dir)?;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    for p in parts {
        cancelled()?;
        let path = chunk_dir.join(&p.name);
        let mut f = std::fs::File::open(&path)?;
        loop {
            cancelled()?;
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let mut f = std::fs::File::open(&path)?;
        let copied = std::io::copy(&mut f, &mut out)?;
        if copied as i64 != p.size {
            return Err(std::io::Error::other(format!(
                "chunk {} has {copied} bytes, {} expected",
                p.name, p.size
            )));
        }
    }
    cancelled()?;
    out.sync_all()?;
    drop(out);
    if let Some(d) = tmp.parent() {
        let _ = sync_dir(d);
    }
    Ok(hasher.finalize().to_hex().to_string())
}
