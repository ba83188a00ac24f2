//! Resumable uploads (the tus 1.0 protocol's storage side): an upload reserves its whole length
//! against the quota when it is created, its bytes are appended request by request to a file on
//! the chosen volume (made durable before the offset moves), and the request that brings the
//! last byte commits it through `commit_file_with` like any other upload. Uploads survive a
//! restart; untouched ones expire after 24 h and give their space back.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Mutex;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use rusqlite::TransactionBehavior;

use super::{Busy, BusyGuard, EXPIRE_AFTER, Uploads};
use crate::db::nodes::Node;
use crate::db::tus::TusUpload;
use crate::db::{self};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::store::handoff::{HandoffWriter, Sync};
use crate::store::{CommitOptions, FinishUpload, NodeName, OnConflict, StagedBody, owned_dir};

/// Cloudflare refuses request bodies over 100 MB: one PATCH may carry at most this much.
pub const MAX_REQUEST_BODY: u64 = 100_000_000;
/// Largest upload accepted (the quota is checked too).
pub const MAX_UPLOAD_LENGTH: i64 = 1 << 40;
/// Body bytes gathered before each write hop (small: hundreds of PATCHes may trickle at once).
const WRITE_BUF: usize = 256 << 10;

/// Uploads with a request in flight, and the running hash of each upload whose bytes this
/// process has seen from the start (else the body is hashed from disk when it completes).
#[derive(Default)]
pub struct TusState {
    busy: Busy,
    hashers: Mutex<HashMap<String, (i64, blake3::Hasher)>>,
}

impl TusState {
    /// One request at a time per upload: the mark is held until the returned guard drops.
    fn enter(&self, id: &str) -> AppResult<BusyGuard> {
        self.busy.enter(id).ok_or_else(|| {
            AppError::conflict(
                ErrorCode::UploadBusy,
                "another request is writing to this upload; ask its offset again",
            )
        })
    }
}

pub struct NewTusUpload {
    pub name: NodeName,
    pub folder: Option<String>,
    pub on_conflict: OnConflict,
    /// The Upload-Metadata header as sent (echoed back by HEAD).
    pub metadata: String,
    pub length: i64,
}

/// Where an upload stands after a request.
pub struct TusProgress {
    pub upload: TusUpload,
    /// The file it became, once complete.
    pub file: Option<Node>,
}

fn on_conflict_str(o: OnConflict) -> &'static str {
    match o {
        OnConflict::Fail => "fail",
        OnConflict::KeepBoth => "keep_both",
        OnConflict::Overwrite => "overwrite",
    }
}

fn parse_on_conflict(s: &str) -> OnConflict {
    match s {
        "keep_both" => OnConflict::KeepBoth,
        "overwrite" => OnConflict::Overwrite,
        _ => OnConflict::Fail,
    }
}

fn upload_not_found() -> AppError {
    AppError::new(
        ErrorCode::UploadNotFound,
        "no such upload (it may have expired)",
    )
}

fn expiry_from(now: i64) -> i64 {
    now + EXPIRE_AFTER.as_millis() as i64
}

impl Uploads {
    /// Creates an upload: checks the target, reserves `length` bytes (`quota-exceeded` if they do
    /// not fit) and makes its empty file. A zero-length upload is finished at once.
    pub async fn create_tus_upload(
        &self,
        owner: &str,
        pinned: Option<String>,
        req: NewTusUpload,
    ) -> AppResult<TusProgress> {
        if req.length < 0 || req.length > MAX_UPLOAD_LENGTH {
            return Err(AppError::new(
                ErrorCode::UploadTooLarge,
                format!("an upload may have at most {MAX_UPLOAD_LENGTH} bytes"),
            ));
        }
        let owner_s = owner.to_string();
        let volumes = self.store.volumes.clone();
        let upload = self
            .store
            .db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let folder = owned_dir(&tx, &owner_s, req.folder.as_deref())?;
                if req.on_conflict == OnConflict::Fail
                    && db::nodes::name_taken(&tx, &folder.id, req.name.as_str())?
                {
                    return Err(AppError::conflict(
                        ErrorCode::NameExists,
                        "a file or folder with that name already exists here",
                    ));
                }
                // The oldest trash and versions go before an upload is refused.
                let unlink = crate::store::make_room_in(&tx, &owner_s, req.length, db::now_ms())?;
                if req.length > 0 && !db::users::try_reserve(&tx, &owner_s, req.length)? {
                    return Err(AppError::quota_exceeded());
                }
                let volume = volumes.pick_for_write(pinned.as_deref())?;
                // The whole length must fit on the disk, as it must fit in the quota.
                volume.check_writable(req.length.max(0) as u64)?;
                let now = db::now_ms();
                let up = TusUpload {
                    id: db::new_id(),
                    user_id: owner_s.clone(),
                    volume: volume.name.clone(),
                    length: req.length,
                    offset: 0,
                    folder_id: req.folder.clone(),
                    filename: req.name.as_str().to_string(),
                    on_conflict: on_conflict_str(req.on_conflict).to_string(),
                    metadata: req.metadata.clone(),
                    file_id: None,
                    created_at: now,
                    updated_at: now,
                    expires_at: expiry_from(now),
                };
                db::tus::insert_tus_upload(&tx, &up)?;
                // The row exists before the file, so the sweep of unowned files cannot race us;
                // the file exists before the commit, so a PATCH never finds a row without it.
                let path = volume.tus_path(&up.id);
                let made = (|| -> std::io::Result<()> {
                    std::fs::create_dir_all(path.parent().unwrap())?;
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&path)?
                        .sync_all()?;
                    crate::storage::volumes::sync_dir(path.parent().unwrap())
                })();
                if let Err(e) = made {
                    let _ = std::fs::remove_file(&path);
                    return Err(e.into());
                }
                if let Err(e) = tx.commit() {
                    let _ = std::fs::remove_file(&path);
                    return Err(e.into());
                }
                crate::store::purge_bodies(c, &volumes, unlink)?;
                Ok(up)
            })
            .await?;
        if upload.length == 0 {
            let guard = self.tus.enter(&upload.id)?;
            let file = self
                .finish_tus_upload(&upload, Some(blake3::Hasher::new()))
                .await?;
            drop(guard);
            let upload = self.get_tus_upload(owner, &upload.id).await?;
            return Ok(TusProgress {
                upload,
                file: Some(file),
            });
        }
        Ok(TusProgress { upload, file: None })
    }

    /// The caller's upload `id`; an expired one is discarded and answers like a missing one.
    pub async fn get_tus_upload(&self, owner: &str, id: &str) -> AppResult<TusUpload> {
        let (o, i) = (owner.to_string(), id.to_string());
        let up = self
            .store
            .db
            .run(move |c| db::tus::find_tus_upload(c, &o, &i))
            .await?
            .ok_or_else(upload_not_found)?;
        if up.expires_at <= db::now_ms() {
            if let Ok(_guard) = self.tus.enter(&up.id) {
                self.discard_tus_upload(&up).await?;
            }
            return Err(upload_not_found());
        }
        Ok(up)
    }

    pub async fn list_tus_uploads(&self, owner: &str) -> AppResult<Vec<TusUpload>> {
        let o = owner.to_string();
        let now = db::now_ms();
        Ok(self
            .store
            .db
            .run(move |c| db::tus::list_unfinished_tus_uploads(c, &o))
            .await?
            .into_iter()
            .filter(|u| u.expires_at > now)
            .collect())
    }

    /// Appends a request body at `offset` (which must be the upload's current offset). Bytes that
    /// arrived before the client went away are kept, so it can resume from them. The request that
    /// brings the last byte commits the file.
    pub async fn append_tus_upload<S, E>(
        &self,
        owner: &str,
        id: &str,
        offset: i64,
        body: S,
    ) -> AppResult<TusProgress>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let _guard = self.tus.enter(id)?;
        let up = self.get_tus_upload(owner, id).await?;
        if up.is_finished() || offset != up.offset {
            // A finished upload also answers an empty PATCH at its end, as if it had just finished.
            if up.is_finished() && offset == up.length {
                return Ok(TusProgress {
                    upload: up,
                    file: None,
                });
            }
            return Err(AppError::conflict(
                ErrorCode::OffsetMismatch,
                format!(
                    "Upload-Offset is {offset} but the upload has {} bytes: ask its offset with HEAD",
                    up.offset
                ),
            ));
        }
        // No marker read here (a runtime thread): the file opens only on its own disk, and a
        // failed open asks whether the disk is there (`write_at`).
        let volume = self
            .store
            .volumes
            .get(&up.volume)
            .ok_or_else(|| AppError::volume_offline(&up.volume))?;
        let path = volume.tus_path(&up.id);
        let hasher = {
            let mut map = self.tus.hashers.lock().unwrap();
            match map.remove(&up.id) {
                Some((at, h)) if at == up.offset => Some(h),
                _ if up.offset == 0 => Some(blake3::Hasher::new()),
                _ => None,
            }
        };
        let room = (up.length - up.offset) as u64;
        let (written, hasher, outcome) = write_at(
            (self.store.volumes.clone(), up.volume.clone()),
            path,
            up.offset as u64,
            room,
            hasher,
            body,
        )
        .await?;
        let new_offset = up.offset + written as i64;
        let now = db::now_ms();
        if written > 0 {
            let (i, from) = (up.id.clone(), up.offset);
            let moved = self
                .store
                .db
                .run(move |c| {
                    db::tus::advance_tus_offset(c, &i, from, new_offset, now, expiry_from(now))
                })
                .await?;
            if !moved {
                return Err(upload_not_found());
            }
        }
        let mut up = up;
        up.offset = new_offset;
        up.updated_at = now;
        up.expires_at = expiry_from(now);
        outcome?;
        if new_offset == up.length {
            let file = self.finish_tus_upload(&up, hasher).await?;
            up.file_id = Some(file.id.clone());
            return Ok(TusProgress {
                upload: up,
                file: Some(file),
            });
        }
        if let Some(h) = hasher {
            self.tus
                .hashers
                .lock()
                .unwrap()
                .insert(up.id.clone(), (new_offset, h));
        }
        Ok(TusProgress {
            upload: up,
            file: None,
        })
    }

    /// Commits a complete upload as a file (its reservation becomes usage in the same
    /// transaction). If the commit fails the upload is discarded: its bytes cannot land anywhere.
    async fn finish_tus_upload(
        &self,
        up: &TusUpload,
        hasher: Option<blake3::Hasher>,
    ) -> AppResult<Node> {
        // The commit checks the marker, on its blocking thread, before the body moves.
        let volume = self
            .store
            .volumes
            .get(&up.volume)
            .ok_or_else(|| AppError::volume_offline(&up.volume))?;
        let path = volume.tus_path(&up.id);
        let hash = match hasher {
            Some(h) => h.finalize().to_hex().to_string(),
            None => {
                let p = path.clone();
                tokio::task::spawn_blocking(move || hash_file(&p)).await??
            }
        };
        let name = NodeName::parse(&up.filename)?;
        let staged = StagedBody::from_temp_file(
            self.store.db.clone(),
            &up.user_id,
            &up.volume,
            db::new_id(),
            name.disk_ext(),
            path,
            up.length,
            hash,
        );
        let opts = CommitOptions {
            on_conflict: parse_on_conflict(&up.on_conflict),
            finish_upload: Some(FinishUpload::Tus(up.id.clone())),
            ..Default::default()
        };
        match self
            .store
            .commit_file_with(&up.user_id, up.folder_id.clone(), name, staged, opts)
            .await
        {
            Ok(node) => Ok(node),
            Err(e) => {
                let _ = self.discard_tus_upload(up).await;
                Err(e)
            }
        }
    }

    /// Termination: the upload's space is given back and its bytes deleted.
    pub async fn terminate_tus_upload(&self, owner: &str, id: &str) -> AppResult<()> {
        let _guard = self.tus.enter(id)?;
        let up = self.get_tus_upload(owner, id).await?;
        self.discard_tus_upload(&up).await
    }

    /// Deletes the row (releasing the reservation of an unfinished upload) and then the file.
    async fn discard_tus_upload(&self, up: &TusUpload) -> AppResult<()> {
        self.tus.hashers.lock().unwrap().remove(&up.id);
        let volumes = self.store.volumes.clone();
        let up = up.clone();
        self.store
            .db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                // Read again inside the transaction: a commit may have finished it meanwhile.
                if let Some(now) = db::tus::find_tus_upload(&tx, &up.user_id, &up.id)? {
                    if !now.is_finished() {
                        db::users::release_reservation(&tx, &up.user_id, now.length)?;
                    }
                    db::tus::delete_tus_upload(&tx, &up.id)?;
                    tx.commit()?;
                    if !now.is_finished()
                        && let Ok(v) = volumes.online(&up.volume)
                    {
                        let _ = std::fs::remove_file(v.tus_path(&up.id));
                    }
                }
                Ok(())
            })
            .await
    }

    /// Discards expired uploads (giving their space back) and files no unfinished upload owns.
    /// Runs at start-up and then periodically.
    pub(super) async fn expire_stale_tus(&self) -> AppResult<usize> {
        let now = db::now_ms();
        let expired = self
            .store
            .db
            .run(move |c| db::tus::list_expired_tus_uploads(c, now))
            .await?;
        let mut n = 0;
        for up in expired {
            let Ok(_guard) = self.tus.enter(&up.id) else {
                continue;
            };
            self.discard_tus_upload(&up).await?;
            n += 1;
        }
        let known: HashSet<String> = self
            .store
            .db
            .run(|c| db::tus::list_unfinished_tus_ids(c))
            .await?
            .into_iter()
            .collect();
        let volumes = self.store.volumes.clone();
        tokio::task::spawn_blocking(move || {
            volumes.remove_unowned(crate::storage::volumes::TUS_DIR, &known)
        })
        .await?;
        Ok(n)
    }
}

/// Appends at most `room` bytes of `body` to the file at `offset` on a blocking writer thread,
/// hashing them when a running hash is given, and makes them durable (fdatasync) before
/// returning. Returns the bytes written, the hash state, and how the body ended: a body cut off
/// by the client, or one longer than `room` or than one request may be, is an error, but the
/// bytes before that point stay written.
async fn write_at<S, E>(
    (volumes, volume): (std::sync::Arc<crate::storage::volumes::Volumes>, String),
    path: PathBuf,
    offset: u64,
    room: u64,
    hasher: Option<blake3::Hasher>,
    mut body: S,
) -> AppResult<(u64, Option<blake3::Hasher>, AppResult<()>)>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let file = tokio::task::spawn_blocking(move || -> AppResult<std::fs::File> {
        let mut f = match std::fs::OpenOptions::new().write(true).open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // An unplugged disk, or bytes lost: the marker says which.
                volumes.online(&volume)?;
                return Err(AppError::internal(format_args!(
                    "the bytes of upload {} are missing",
                    path.display()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        if f.metadata()?.len() < offset {
            return Err(AppError::internal(format_args!(
                "upload file {} is shorter than its offset",
                path.display()
            )));
        }
        // Bytes past the recorded offset were written before a crash but never acknowledged.
        f.set_len(offset)?;
        f.seek(SeekFrom::Start(offset))?;
        Ok(f)
    })
    .await??;
    let mut writer = HandoffWriter::new(file, hasher);
    let mut written: u64 = 0;
    let mut buf: Vec<u8> = Vec::new();
    let mut outcome: AppResult<()> = Ok(());
    while let Some(item) = body.next().await {
        let chunk = match item {
            Ok(c) => c,
            Err(e) => {
                outcome = Err(AppError::bad_request(
                    ErrorCode::BodyCutOff,
                    format!("the request body was cut off: {e}"),
                ));
                break;
            }
        };
        let n = chunk.len() as u64;
        if written + buf.len() as u64 + n > room {
            outcome = Err(AppError::bad_request(
                ErrorCode::ExceedsUploadLength,
                "the body goes past the Upload-Length of the upload",
            ));
            break;
        }
        if written + buf.len() as u64 + n > MAX_REQUEST_BODY {
            outcome = Err(AppError::new(
                ErrorCode::BodyTooLarge,
                format!(
                    "one request may carry at most {MAX_REQUEST_BODY} bytes: send the upload in chunks"
                ),
            ));
            break;
        }
        buf.extend_from_slice(&chunk);
        if buf.len() >= WRITE_BUF {
            let data = Bytes::from(std::mem::take(&mut buf));
            let len = data.len() as u64;
            writer.write(data).await?;
            written += len;
        }
    }
    if !buf.is_empty() {
        let len = buf.len() as u64;
        writer.write(Bytes::from(buf)).await?;
        written += len;
    }
    let hasher = writer.finish(Sync::Data).await?;
    Ok((written, hasher, outcome))
}

fn hash_file(path: &std::path::Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}
