//! File I/O for transfers in bounded hand-offs: each chunk of a body is read or written by its
//! own short blocking task, so a transfer holds a blocking thread only while a chunk is on the
//! disk, never while it waits for a slow client (the blocking pool is what every SQLite call
//! needs: a thread per transfer let 600 trickling downloads stall logins and listings).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use tokio::task::JoinHandle;

/// What a write hop owns: the file, the running hash, how far writeback was started.
struct WriteState {
    file: File,
    hasher: Option<blake3::Hasher>,
    written: u64,
    flushed: u64,
}

/// Writeback is started every this many bytes, so the disk writes while the body is still
/// arriving and the final fsync has little left to do.
const WRITEBACK_EVERY: u64 = 32 << 20;

impl WriteState {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        if let Some(h) = self.hasher.as_mut() {
            h.update(chunk);
        }
        self.file.write_all(chunk)?;
        self.written += chunk.len() as u64;
        if self.written - self.flushed >= WRITEBACK_EVERY {
            // SAFETY: a valid open fd and a range inside what was written; only starts
            // asynchronous writeback (durability still comes from the final sync).
            unsafe {
                libc::sync_file_range(
                    self.file.as_raw_fd(),
                    self.flushed as i64,
                    (self.written - self.flushed) as i64,
                    libc::SYNC_FILE_RANGE_WRITE,
                );
            }
            self.flushed = self.written;
        }
        Ok(())
    }
}

/// Writes chunks to a file (hashing them on the way), one blocking hop per chunk with at most
/// one hop in flight: the next chunk is gathered from the network while the previous one is
/// written. Dropping it mid-way leaves the last hop to finish on its own and close the file.
pub(crate) struct HandoffWriter {
    idle: Option<WriteState>,
    busy: Option<JoinHandle<std::io::Result<WriteState>>>,
}

/// How `HandoffWriter::finish` makes the bytes durable.
#[derive(Clone, Copy)]
pub(crate) enum Sync {
    /// `fsync`: data and metadata (a new temp file that will be renamed into place).
    All,
    /// `fdatasync`: an existing file that grew (a tus upload between requests).
    Data,
}

impl HandoffWriter {
    pub fn new(file: File, hasher: Option<blake3::Hasher>) -> HandoffWriter {
        HandoffWriter {
            idle: Some(WriteState {
                file,
                hasher,
                written: 0,
                flushed: 0,
            }),
            busy: None,
        }
    }

    /// Waits for the hop in flight; its error, if it failed.
    async fn settle(&mut self) -> std::io::Result<WriteState> {
        if let Some(h) = self.busy.take() {
            return h.await.map_err(std::io::Error::other)?;
        }
        self.idle
            .take()
            .ok_or_else(|| std::io::Error::other("an earlier write of this body failed"))
    }

    /// Hands `chunk` to a blocking hop; returns once the previous hop is done.
    pub async fn write(&mut self, chunk: Bytes) -> std::io::Result<()> {
        let mut state = self.settle().await?;
        self.busy = Some(tokio::task::spawn_blocking(move || {
            state.write(&chunk)?;
            Ok(state)
        }));
        Ok(())
    }

    /// Waits for the last hop, makes the file durable and gives back the running hash.
    pub async fn finish(mut self, sync: Sync) -> std::io::Result<Option<blake3::Hasher>> {
        let state = self.settle().await?;
        tokio::task::spawn_blocking(move || {
            match sync {
                Sync::All => state.file.sync_all()?,
                Sync::Data => state.file.sync_data()?,
            }
            Ok(state.hasher)
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

/// The read of a download: `READ_MIN` until the client has shown it takes bytes fast (`FAST_AFTER`
/// bytes at `FAST_RATE` or more: more than any socket buffer holds), then `READ_MAX`. A trickling
/// download so holds little memory (one chunk read ahead, one in hyper's write queue); growing
/// on the first bursts instead made every download's chunks 512 KiB, as socket buffers take the
/// first megabytes at once (256 slow downloads: +250 MB).
pub(crate) const READ_MIN: usize = 64 * 1024;
pub(crate) const READ_MAX: usize = 512 * 1024;
const FAST_AFTER: u64 = 16 << 20;
const FAST_RATE: f64 = 64.0 * (1 << 20) as f64;

type ReadHop = JoinHandle<(File, std::io::Result<Vec<u8>>)>;

/// `len` bytes of a file from `offset`, read one chunk ahead of the consumer in blocking hops.
pub(crate) struct FileStream {
    file: Option<File>,
    pos: u64,
    left: u64,
    chunk: usize,
    hop: Option<ReadHop>,
    failed: bool,
    started: std::time::Instant,
    sent: u64,
}

impl FileStream {
    pub fn new(file: File, offset: u64, len: u64) -> FileStream {
        let mut s = FileStream {
            file: Some(file),
            pos: offset,
            left: len,
            chunk: READ_MIN,
            hop: None,
            failed: false,
            started: std::time::Instant::now(),
            sent: 0,
        };
        s.start_hop();
        s
    }

    /// Starts reading the next chunk, if there is one and no read is running.
    fn start_hop(&mut self) {
        if self.left == 0 || self.hop.is_some() {
            return;
        }
        let Some(mut file) = self.file.take() else {
            return;
        };
        let want = self.left.min(self.chunk as u64) as usize;
        let pos = self.pos;
        self.hop = Some(tokio::task::spawn_blocking(move || {
            let mut buf = Vec::with_capacity(want);
            let r = file
                .seek(SeekFrom::Start(pos))
                .and_then(|_| (&mut file).take(want as u64).read_to_end(&mut buf))
                .map(|_| buf);
            (file, r)
        }));
    }
}

impl Stream for FileStream {
    type Item = std::io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        let Some(hop) = this.hop.as_mut() else {
            return Poll::Ready(None);
        };
        let (file, read) = match Pin::new(hop).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(done)) => done,
            Poll::Ready(Err(e)) => {
                this.hop = None;
                this.failed = true;
                return Poll::Ready(Some(Err(std::io::Error::other(e))));
            }
        };
        this.hop = None;
        this.file = Some(file);
        let buf = match read {
            Ok(b) if b.is_empty() => {
                this.failed = true;
                return Poll::Ready(Some(Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "body shrank",
                ))));
            }
            Ok(b) => b,
            Err(e) => {
                this.failed = true;
                return Poll::Ready(Some(Err(e)));
            }
        };
        this.pos += buf.len() as u64;
        this.left -= buf.len() as u64;
        this.sent += buf.len() as u64;
        if this.chunk < READ_MAX
            && this.sent >= FAST_AFTER
            && this.sent as f64 >= FAST_RATE * this.started.elapsed().as_secs_f64()
        {
            // A fast client: bigger reads cost fewer hops.
            this.chunk = READ_MAX;
        }
        this.start_hop();
        Poll::Ready(Some(Ok(Bytes::from(buf))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn writes_hash_and_reads_back_in_hops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = HandoffWriter::new(File::create(&path).unwrap(), Some(blake3::Hasher::new()));
        for c in data.chunks(100_000) {
            w.write(Bytes::copy_from_slice(c)).await.unwrap();
        }
        let hash = w.finish(Sync::All).await.unwrap().unwrap().finalize();
        assert_eq!(hash, blake3::hash(&data));

        let mut s = FileStream::new(File::open(&path).unwrap(), 10, data.len() as u64 - 20);
        let mut back = Vec::new();
        let mut biggest = 0;
        while let Some(c) = s.next().await {
            let c = c.unwrap();
            biggest = biggest.max(c.len());
            back.extend_from_slice(&c);
        }
        assert_eq!(back, data[10..data.len() - 10]);
        assert!(biggest <= READ_MAX, "{biggest}");

        // A body shorter than announced is an error, not a short answer.
        let mut s = FileStream::new(File::open(&path).unwrap(), 0, data.len() as u64 + 1);
        let mut err = None;
        while let Some(c) = s.next().await {
            if let Err(e) = c {
                err = Some(e);
            }
        }
        assert_eq!(err.unwrap().kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
