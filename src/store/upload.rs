//! Streaming a body to a temp file on its volume: quota reserved as bytes arrive, hashed on the
//! way, fsynced at the end. Dropping an unfinished upload deletes the temp file and gives the
//! reservation back.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

use crate::db::{self, Db};
use crate::error::{AppError, AppResult};
use crate::storage::volumes::Volumes;
use crate::store::handoff::{HandoffWriter, Sync};

/// Reservations grow in steps this big (or the expected size), not per network chunk.
const RESERVE_STEP: i64 = 16 << 20;
/// Writes are batched into buffers this big, each handed to a blocking hop of its own (at most
/// two per upload: one filling, one on the disk). 256 KiB keeps a trickling upload's memory
/// small when hundreds are open (1 MiB buffers: ~2 MiB per upload).
const WRITE_BUF: usize = 256 << 10;

pub struct UploadSink {
    guard: Guard,
    /// To check the volume's free space as the body grows (`volume-full` before the disk is).
    volumes: Arc<Volumes>,
    written: i64,
    /// Total bytes expected, if the client said (Content-Length); bounds the first reservation.
    expected: Option<i64>,
    buf: Vec<u8>,
    writer: Option<HandoffWriter>,
}

/// A body fully written and fsynced to its temp file, waiting for its row.
pub struct StagedBody {
    pub(crate) guard: Guard,
    pub size: i64,
    pub hash: String,
}

/// Owns the temp file and the reservation until the commit takes them over.
pub(crate) struct Guard {
    pub db: Db,
    pub user_id: String,
    pub volume: String,
    pub blob_id: String,
    pub ext: String,
    pub tmp_path: PathBuf,
    pub reserved: i64,
    pub disarmed: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.disarmed {
            return;
        }
        let tmp = std::mem::take(&mut self.tmp_path);
        let db = self.db.clone();
        let user = std::mem::take(&mut self.user_id);
        let reserved = self.reserved;
        let cleanup = move || {
            let _ = std::fs::remove_file(&tmp);
            if reserved > 0
                && let Ok(conn) = db.conn()
                && let Err(e) = db::relaxed(&conn, |c| {
                    db::users::release_reservation(c, &user, reserved)
                })
            {
                tracing::warn!(error = %e, "could not release a quota reservation");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(cleanup);
            }
            Err(_) => cleanup(),
        }
    }
}

impl UploadSink {
    /// Opens a temp file on a volume chosen for `user_id` (pinned or by policy).
    pub async fn begin(
        db: &Db,
        volumes: Arc<Volumes>,
        user_id: &str,
        pinned: Option<String>,
        ext: String,
        expected: Option<u64>,
    ) -> AppResult<UploadSink> {
        let user_id = user_id.to_string();
        let db2 = db.clone();
        let vols = volumes.clone();
        let (guard, file) = tokio::task::spawn_blocking(move || -> AppResult<_> {
            let volume = vols.pick_for_write(pinned.as_deref())?;
            let blob_id = db::new_id();
            let tmp_path = volume.temp_path(&blob_id);
            let file = create_temp(volume, &tmp_path)?;
            let guard = Guard {
                db: db2,
                user_id,
                volume: volume.name.clone(),
                blob_id,
                ext,
                tmp_path,
                reserved: 0,
                disarmed: false,
            };
            Ok((guard, file))
        })
        .await??;
        Ok(UploadSink {
            guard,
            volumes,
            written: 0,
            expected: expected.map(|e| e.min(i64::MAX as u64) as i64),
            buf: Vec::new(),
            writer: Some(HandoffWriter::new(file, Some(blake3::Hasher::new()))),
        })
    }

    /// A body copied from an open file (COPY): the whole size reserved up front, copied on a
    /// blocking thread with `std::io::copy` (copy_file_range, or a reflink where the filesystem
    /// can), fsynced.
    #[allow(clippy::too_many_arguments)]
    pub async fn stage_copy(
        db: &Db,
        volumes: Arc<Volumes>,
        user_id: &str,
        pinned: Option<String>,
        ext: String,
        mut src: std::fs::File,
        size: i64,
        hash: String,
    ) -> AppResult<StagedBody> {
        let mut sink =
            UploadSink::begin(db, volumes, user_id, pinned, ext, Some(size as u64)).await?;
        if size > 0 {
            sink.reserve(size).await?;
        }
        // The streaming writer is not needed: close it and copy file to file.
        drop(sink.writer.take());
        let tmp = sink.guard.tmp_path.clone();
        let copied = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
            let mut out = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&tmp)?;
            let n = std::io::copy(&mut src, &mut out)?;
            out.sync_all()?;
            Ok(n)
        })
        .await??;
        if copied as i64 != size {
            return Err(AppError::internal(format_args!(
                "copied {copied} bytes of a {size}-byte body"
            )));
        }
        let empty = Guard::empty(sink.guard.db.clone());
        let guard = std::mem::replace(&mut sink.guard, empty);
        Ok(StagedBody { guard, size, hash })
    }

    /// Reserves the whole expected size now (a WebDAV PUT with Content-Length), so an upload the
    /// quota cannot take is refused before its body is read.
    pub async fn reserve_expected(&mut self) -> AppResult<()> {
        match self.expected {
            Some(n) if n > self.guard.reserved => self.reserve(n - self.guard.reserved).await,
            _ => Ok(()),
        }
    }

    pub fn written(&self) -> i64 {
        self.written
    }

    pub async fn write(&mut self, chunk: &[u8]) -> AppResult<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        let need = self.written + chunk.len() as i64;
        if need > self.guard.reserved {
            self.reserve(need - self.guard.reserved).await?;
        }
        self.written = need;
        // Fill the buffer to exactly WRITE_BUF: letting a chunk overflow it doubled its
        // allocation (a 2 MiB Vec per buffer in the channel: +18 MB peak for a 1 GiB WebDAV PUT).
        let mut rest = chunk;
        while !rest.is_empty() {
            let take = (WRITE_BUF - self.buf.len()).min(rest.len());
            let need = self.buf.len() + take;
            if need > self.buf.capacity() {
                // Doubling, but never past WRITE_BUF (Vec's own growth would overshoot it).
                let cap = (self.buf.capacity() * 2)
                    .max(need)
                    .clamp(16 << 10, WRITE_BUF);
                self.buf.reserve_exact(cap - self.buf.len());
            }
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() >= WRITE_BUF {
                self.flush_buf().await?;
            }
        }
        Ok(())
    }

    async fn flush_buf(&mut self) -> AppResult<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        // The next buffer grows as bytes come (a trickling upload holds only what it sent).
        let data = Bytes::from(std::mem::take(&mut self.buf));
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| AppError::internal("writer gone"))?;
        // An error of the previous hop (disk full, read-only, ...) surfaces here.
        writer.write(data).await?;
        Ok(())
    }

    /// Reserves at least `need` more bytes: a step (bounded by the expected size) when the quota
    /// allows, else exactly what is left, else `quota-exceeded`.
    async fn reserve(&mut self, need: i64) -> AppResult<()> {
        let want = match self.expected {
            Some(total) if total >= self.written => need.max(total - self.guard.reserved),
            _ => need.max(RESERVE_STEP),
        };
        let user = self.guard.user_id.clone();
        let (volumes, volume) = (self.volumes.clone(), self.guard.volume.clone());
        // A known length is checked whole, up front; an unknown one as it comes.
        let disk_need = if self.expected.is_some() { want } else { need };
        let granted = self
            .guard
            .db
            .run(move |conn| {
                // The disk first: what it can hold now, keeping its min_free.
                if let Some(v) = volumes.get(&volume) {
                    v.check_writable(disk_need.max(0) as u64)?;
                }
                let (grant, unlink) = db::relaxed(conn, |conn| {
                    let tx = rusqlite::Transaction::new_unchecked(
                        conn,
                        rusqlite::TransactionBehavior::Immediate,
                    )?;
                    let mut unlink = Vec::new();
                    if db::users::available_bytes(&tx, &user)? < need {
                        // The oldest trash and versions go before an upload is refused.
                        unlink = super::trash::make_room_in(&tx, &user, need, db::now_ms())?;
                    }
                    let grant = want.min(db::users::available_bytes(&tx, &user)?);
                    if grant < need || !db::users::try_reserve(&tx, &user, grant)? {
                        tx.commit()?; // what was freed stays freed
                        return Ok((None, unlink));
                    }
                    tx.commit()?;
                    Ok((Some(grant), unlink))
                })?;
                super::purge_bodies(conn, &volumes, unlink)?;
                Ok(grant)
            })
            .await?;
        match granted {
            Some(g) => {
                self.guard.reserved += g;
                Ok(())
            }
            None => {
                // Give back what this body already holds before the refusal is answered (the
                // guard would, but after the answer: a client could see the space still taken).
                let held = self.guard.reserved;
                if held > 0 {
                    let user = self.guard.user_id.clone();
                    self.guard
                        .db
                        .run(move |c| {
                            db::relaxed(c, |c| db::users::release_reservation(c, &user, held))
                        })
                        .await?;
                    self.guard.reserved = 0;
                }
                Err(AppError::quota_exceeded())
            }
        }
    }

    /// Flushes, fsyncs and closes the temp file.
    pub async fn finish(mut self) -> AppResult<StagedBody> {
        self.flush_buf().await?;
        let hash = match self.writer.take() {
            Some(w) => w
                .finish(Sync::All)
                .await?
                .ok_or_else(|| AppError::internal("no hash"))?
                .finalize(),
            None => return Err(AppError::internal("writer gone")),
        };
        let empty = Guard::empty(self.guard.db.clone());
        let guard = std::mem::replace(&mut self.guard, empty);
        Ok(StagedBody {
            guard,
            size: self.written,
            hash: hash.to_hex().to_string(),
        })
    }
}

impl StagedBody {
    /// A body already written and fsynced to `tmp_path` on `volume` (an assembled chunked upload)
    /// whose space is held elsewhere (the chunked upload's reservation).
    #[allow(clippy::too_many_arguments)]
    pub fn from_temp_file(
        db: Db,
        user_id: &str,
        volume: &str,
        blob_id: String,
        ext: String,
        tmp_path: PathBuf,
        size: i64,
        hash: String,
    ) -> StagedBody {
        let guard = Guard {
            db,
            user_id: user_id.to_string(),
            volume: volume.to_string(),
            blob_id,
            ext,
            tmp_path,
            reserved: 0,
            disarmed: false,
        };
        StagedBody { guard, size, hash }
    }
}

impl StagedBody {
    /// A small body already in memory, written whole to a temp file on `volume` and fsynced, on
    /// the calling (blocking) thread. No quota is reserved for it: commit it with
    /// `CommitOptions::unreserved`, which checks the quota in the commit's transaction.
    pub fn write_whole_blocking(
        db: Db,
        volume: &crate::storage::volumes::Volume,
        user_id: &str,
        ext: String,
        body: &[u8],
    ) -> AppResult<StagedBody> {
        let blob_id = db::new_id();
        let tmp_path = volume.temp_path(&blob_id);
        let mut file = create_temp(volume, &tmp_path)?;
        // From here the guard unlinks the temp file on any error.
        let staged = StagedBody::from_temp_file(
            db,
            user_id,
            &volume.name,
            blob_id,
            ext,
            tmp_path,
            body.len() as i64,
            blake3::hash(body).to_hex().to_string(),
        );
        file.write_all(body)?;
        file.sync_all()?;
        Ok(staged)
    }
}

impl Guard {
    fn empty(db: Db) -> Guard {
        Guard {
            db,
            user_id: String::new(),
            volume: String::new(),
            blob_id: String::new(),
            ext: String::new(),
            tmp_path: PathBuf::new(),
            reserved: 0,
            disarmed: true,
        }
    }
}

/// A new temp file; its folder is made only when missing (not probed on every upload), and
/// then only if the volume's marker is still there, read now on this thread: a missing folder
/// may be an unplugged disk's empty mount point, which must stay empty.
fn create_temp(
    volume: &crate::storage::volumes::Volume,
    path: &std::path::Path,
) -> AppResult<std::fs::File> {
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    };
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !volume.check_online() {
                return Err(AppError::volume_offline(&volume.name));
            }
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            Ok(open()?)
        }
        r => Ok(r?),
    }
}
