//! Nextcloud chunked uploads, the service side: an upload is a row and a folder of parts on
//! the volume it was started on; each part's bytes stay reserved against the quota until the
//! upload is assembled into a body (one commit that finishes it, `FinishUpload::Chunked`) or discarded.

use std::collections::HashSet;

use super::{BusyGuard, EXPIRE_AFTER, Uploads};
use crate::db::chunks::{ChunkPart, ChunkUpload};
use crate::db::nodes::Node;
use crate::db::{self};
use crate::error::{AppError, AppResult};
use crate::store::{CommitOptions, FinishUpload, NodeName, StagedBody, UploadSink};

/// Assembly order: by the leading number (chunk index or start offset), then by name.
fn chunk_order(name: &str) -> u64 {
    name.split('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

impl Uploads {
    pub async fn find_chunked(&self, owner: &str, name: &str) -> AppResult<Option<ChunkUpload>> {
        let (u, n) = (owner.to_string(), name.to_string());
        self.store
            .db
            .run(move |c| db::chunks::find_chunk_upload(c, &u, &n))
            .await
    }

    /// Starts upload `name` of `owner` on a volume with room (or the user's pinned one).
    /// False when an upload of that name exists.
    pub async fn create_chunked(
        &self,
        owner: &str,
        pinned_volume: Option<String>,
        name: &str,
    ) -> AppResult<bool> {
        let volumes = self.store.volumes.clone();
        let (uid, n) = (owner.to_string(), name.to_string());
        self.store
            .db
            .run(move |c| {
                if db::chunks::find_chunk_upload(c, &uid, &n)?.is_some() {
                    return Ok(false);
                }
                let v = volumes.pick_for_write(pinned_volume.as_deref())?;
                let up = ChunkUpload {
                    id: db::new_id(),
                    user_id: uid.clone(),
                    name: n.clone(),
                    volume: v.name.clone(),
                    bytes: 0,
                    created_at: db::now_ms(),
                    updated_at: db::now_ms(),
                };
                std::fs::create_dir_all(v.chunk_dir(&up.id))?;
                db::chunks::insert_chunk_upload(c, &up)?;
                Ok(true)
            })
            .await
    }

    /// Streams a part of `up` onto the upload's own volume; `store_part` files it.
    pub async fn begin_part(
        &self,
        up: &ChunkUpload,
        expected: Option<u64>,
    ) -> AppResult<UploadSink> {
        UploadSink::begin(
            &self.store.db,
            self.store.volumes.clone(),
            &up.user_id,
            Some(up.volume.clone()),
            String::new(), // parts have no extension
            expected,
        )
        .await
    }

    /// Files a received part (`staged`, written on the upload's volume) as part `chunk` of `up`,
    /// replacing a part of that name; exactly its size stays reserved.
    pub async fn store_part(
        &self,
        up: ChunkUpload,
        chunk: &str,
        staged: StagedBody,
    ) -> AppResult<()> {
        let volumes = self.store.volumes.clone();
        let chunk = chunk.to_string();
        self.store
            .db
            .run(move |c| {
                let mut staged = staged;
                let v = volumes.online(&up.volume)?;
                let target = v.chunk_dir(&up.id).join(&chunk);
                std::fs::rename(&staged.guard.tmp_path, &target)?;
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                // The session must still exist (a DELETE may have raced us).
                if db::chunks::find_chunk_upload(&tx, &up.user_id, &up.name)?.is_none() {
                    let _ = std::fs::remove_file(&target);
                    return Err(AppError::not_found());
                }
                let old = db::chunks::put_part(&tx, &up.id, &chunk, staged.size, db::now_ms())?;
                // Keep exactly this part's size reserved: give back any excess and a replaced part.
                let excess = staged.guard.reserved - staged.size + old;
                db::users::release_reservation(&tx, &up.user_id, excess)?;
                tx.commit()?;
                staged.guard.disarmed = true;
                Ok(())
            })
            .await
    }

    /// Deletes an upload's rows (giving its space back) and then its parts on disk.
    pub async fn discard_chunked(&self, up: ChunkUpload) -> AppResult<()> {
        let volumes = self.store.volumes.clone();
        self.store
            .db
            .run(move |c| {
                let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                if let Some(held) = db::chunks::find_chunk_upload_bytes(&tx, &up.id)? {
                    db::users::release_reservation(&tx, &up.user_id, held)?;
                    db::chunks::delete_chunk_upload(&tx, &up.id)?;
                }
                tx.commit()?;
                if let Ok(v) = volumes.online(&up.volume) {
                    let _ = std::fs::remove_dir_all(v.chunk_dir(&up.id));
                }
                Ok(())
            })
            .await
    }

    /// Removes chunked uploads untouched for [`EXPIRE_AFTER`], and part folders that no upload
    /// owns.
    pub(super) async fn expire_stale_chunked(&self) -> AppResult<usize> {
        let before = db::now_ms() - EXPIRE_AFTER.as_millis() as i64;
        let stale = self
            .store
            .db
            .run(move |c| db::chunks::list_stale_chunk_uploads(c, before))
            .await?;
        let n = stale.len();
        for up in stale {
            self.discard_chunked(up).await?;
        }
        let known: HashSet<String> = self
            .store
            .db
            .run(|c| db::chunks::list_all_chunk_uploads(c))
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect();
        let volumes = self.store.volumes.clone();
        tokio::task::spawn_blocking(move || {
            volumes.remove_unowned(crate::storage::volumes::CHUNKS_DIR, &known)
        })
        .await?;
        Ok(n)
    }

    pub async fn list_chunked(&self, owner: &str) -> AppResult<Vec<ChunkUpload>> {
        let uid = owner.to_string();
        self.store
            .db
            .run(move |c| db::chunks::list_user_chunk_uploads(c, &uid))
            .await
    }

    /// An upload's parts in assembly order.
    pub async fn list_parts(&self, up: &ChunkUpload) -> AppResult<Vec<ChunkPart>> {
        let id = up.id.clone();
        let mut parts = self
            .store
            .db
            .run(move |c| db::chunks::list_parts(c, &id))
            .await?;
        parts.sort_by_key(|p| (chunk_order(&p.name), p.name.clone()));
        Ok(parts)
    }

    /// Marks `up` as being assembled, or None when another request already assembles it.
    pub fn begin_assembly(&self, up: &ChunkUpload) -> Option<BusyGuard> {
        self.assembling.enter(&up.id)
    }

    /// Joins `parts` of `up` into a new body (given up as soon as `busy` is dropped: the client
    /// went away), then commits it to `folder`/`name` with `opts` and the upload's own finish:
    /// the commit itself refuses a taken name under `OnConflict::Fail`, so of two MOVEs racing
    /// to one destination only one can win. The commit and what follows run to their end even
    /// if the client goes away then, holding the upload's mark until they are done. `checksum`
    /// (an `OC-Checksum`) is kept with the new body.
    #[allow(clippy::too_many_arguments)]
    pub async fn assemble_chunked(
        &self,
        up: &ChunkUpload,
        parts: Vec<ChunkPart>,
        folder: String,
        name: NodeName,
        opts: CommitOptions,
        checksum: Option<String>,
        busy: BusyGuard,
    ) -> AppResult<Node> {
        let total: i64 = parts.iter().map(|p| p.size).sum();
        let staged = self
            .store
            .stage_assembled(
                &up.user_id,
                &up.volume,
                &up.id,
                parts,
                total,
                name.disk_ext(),
                busy.cancel.clone(),
            )
            .await?;
        let opts = CommitOptions {
            finish_upload: Some(FinishUpload::Chunked(up.id.clone())),
            ..opts
        };
        let (store, up) = (self.store.clone(), up.clone());
        tokio::spawn(async move {
            let _busy = busy;
            let node = store
                .commit_file_with(&up.user_id, Some(folder), name, staged, opts)
                .await?;
            let volumes = store.volumes.clone();
            let _ = tokio::task::spawn_blocking(move || {
                if let Ok(v) = volumes.online(&up.volume) {
                    let _ = std::fs::remove_dir_all(v.chunk_dir(&up.id));
                }
            })
            .await;
            if let Some(sum) = checksum {
                let _ = store.set_checksums(&up.user_id, &node.id, &sum).await;
            }
            Ok::<_, AppError>(node)
        })
        .await?
    }
}
