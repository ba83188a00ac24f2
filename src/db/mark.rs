//! A change mark of the whole database that can be read without SQLite and without blocking:
//! the two copies of the WAL-index header in the `-shm` file (<https://www.sqlite.org/walformat.html>,
//! section 2.1), which SQLite maps shared into every process that has the database open.
//!
//! Every write transaction of any connection of any process (the server, the CLI) rewrites
//! that header when its commit becomes visible: its `iChange` counter goes up and `mxFrame`, the
//! end of the WAL a new reader sees, moves (a checkpoint that restarts the WAL changes its
//! salts). A reader's snapshot is taken from this header. So if the mark is read, then a read
//! transaction begins, everything that transaction read is still what the database holds for as
//! long as the mark reads the same: a commit it did not see rewrote the header after it began,
//! hence after the mark was read. `store/hot.rs` keeps rows read this way and serves them only
//! while the mark is unchanged.
//!
//! The header is read with `preadv2(RWF_NOWAIT)`: the page is in memory (SQLite has it mapped),
//! and should it not be, the read fails instead of waiting for the disk, which only costs a cache
//! miss. A read torn by a concurrent commit gives bytes that match no mark read before or after
//! it (each commit changes `iChange` in both copies), which also only costs a miss.

use std::fs::File;
use std::io::IoSliceMut;
use std::path::Path;

use rustix::io::{ReadWriteFlags, preadv2};

/// The bytes of both header copies.
pub const MARK_LEN: usize = 96;

/// The state of the whole database at one moment, as far as "has anything changed" goes.
pub type Mark = [u8; MARK_LEN];

/// The `-shm` file of a database in WAL mode, opened once, and a connection that keeps it alive:
/// SQLite deletes the file when the last connection to the database closes (a pool may close all
/// of its own), and the next one would make a new file this handle would never see change.
#[derive(Debug)]
pub struct ChangeMarks(Option<(File, std::sync::Mutex<rusqlite::Connection>)>);

impl ChangeMarks {
    /// For the database at `db_path`, which must already be open in WAL mode (its `-shm`
    /// exists). Without a readable `-shm` there are no marks, and nothing is ever served from
    /// what they guard.
    pub fn open(db_path: &Path) -> ChangeMarks {
        let keeper = || -> Option<rusqlite::Connection> {
            let c = rusqlite::Connection::open(db_path).ok()?;
            // A first read maps the WAL index; the connection holds it from then on.
            c.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
                .ok()?;
            Some(c)
        };
        let mut shm = db_path.as_os_str().to_owned();
        shm.push("-shm");
        ChangeMarks(keeper().and_then(|c| Some((File::open(shm).ok()?, std::sync::Mutex::new(c)))))
    }

    /// The current mark, or None when it cannot be read right now without waiting.
    pub fn read(&self) -> Option<Mark> {
        let (file, _) = self.0.as_ref()?;
        let mut mark = [0u8; MARK_LEN];
        let n = preadv2(
            file,
            &mut [IoSliceMut::new(&mut mark)],
            0,
            ReadWriteFlags::NOWAIT,
        )
        .ok()?;
        (n == MARK_LEN && mark.iter().any(|b| *b != 0)).then_some(mark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_commit_of_any_connection_changes_the_mark_and_reads_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let a = rusqlite::Connection::open(&path).unwrap();
        a.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            .unwrap();
        a.execute_batch("CREATE TABLE t(x)").unwrap();
        let marks = ChangeMarks::open(&path);
        let m0 = marks.read().expect("a mark");
        // Reading leaves it alone.
        let _: i64 = a
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(marks.read(), Some(m0));
        // A commit of this connection changes it...
        a.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let m1 = marks.read().unwrap();
        assert_ne!(m1, m0);
        // ...and so does one of another connection (another process maps the same file).
        let b = rusqlite::Connection::open(&path).unwrap();
        b.execute("INSERT INTO t VALUES (2)", []).unwrap();
        let m2 = marks.read().unwrap();
        assert_ne!(m2, m1);
        // A rolled-back transaction changed nothing.
        b.execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (3); ROLLBACK")
            .unwrap();
        assert_eq!(marks.read(), Some(m2));
        // A checkpoint that restarts the WAL, then a commit: changed again.
        b.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        b.execute("INSERT INTO t VALUES (4)", []).unwrap();
        let m3 = marks.read().unwrap();
        assert_ne!(m3, m2);
        // Every other connection closes (SQLite would delete the -shm with the last one) and a
        // new one writes: the mark still sees it.
        drop((a, b));
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute("INSERT INTO t VALUES (5)", []).unwrap();
        assert_ne!(marks.read(), Some(m3));
    }

    #[test]
    fn no_shm_no_mark() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ChangeMarks::open(&dir.path().join("none.db")).read(), None);
    }
}
