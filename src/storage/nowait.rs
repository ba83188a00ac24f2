//! Reading a small file only when that cannot wait for a disk: the path must resolve from the
//! kernel's lookup cache (`openat2` with `RESOLVE_CACHED`) and the bytes must be in the page cache
//! (`preadv2` with `RWF_NOWAIT`); anything else fails at once, and the caller takes its blocking
//! path. `O_NOATIME` keeps the read from updating the access time, which could wait for the
//! filesystem's journal (the server owns every body, which `O_NOATIME` requires). This is what
//! lets a small WebDAV GET of a warm file be answered on the async runtime, without a hop to a
//! blocking thread.

use std::io::IoSliceMut;
use std::path::Path;

use rustix::fs::{CWD, Mode, OFlags, ResolveFlags, openat2};
use rustix::io::{ReadWriteFlags, preadv2};

/// The whole of the file at `path`, which must be exactly `len` bytes long, if all of it can
/// be had from memory right now.
pub fn read_cached(path: &Path, len: usize) -> Option<Vec<u8>> {
    let fd = openat2(
        CWD,
        path,
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOATIME,
        Mode::empty(),
        ResolveFlags::CACHED,
    )
    .ok()?;
    // One byte more than expected: a longer file is not the body its row describes.
    let mut buf = vec![0u8; len + 1];
    let mut got = 0;
    while got < buf.len() {
        let n = preadv2(
            &fd,
            &mut [IoSliceMut::new(&mut buf[got..])],
            got as u64,
            ReadWriteFlags::NOWAIT,
        )
        .ok()?;
        if n == 0 {
            break;
        }
        got += n;
    }
    (got == len).then(|| {
        buf.truncate(len);
        buf
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_warm_file_whole_and_refuses_a_wrong_length_or_a_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        let body: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &body).unwrap();
        // Just written: its name and its pages are in memory.
        assert_eq!(read_cached(&path, body.len()).as_deref(), Some(&body[..]));
        assert_eq!(read_cached(&path, body.len() - 1), None);
        assert_eq!(read_cached(&path, body.len() + 1), None);
        assert_eq!(read_cached(&dir.path().join("missing.bin"), 1), None);
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        assert_eq!(read_cached(&empty, 0), Some(Vec::new()));
    }
}
