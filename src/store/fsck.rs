//! `cloudvault fsck`: rows against bodies, `used_bytes` against the sum of sizes and dead
//! properties' bytes, stale temp files and reservations; `--repair` fixes what can be fixed
//! without guessing.

use std::collections::HashSet;

use crate::db;
use crate::storage::volumes::TMP_DIR;
use crate::store::Store;
use crate::store::props::MAX_NODE_PROP_BYTES;

#[derive(Debug, Default)]
pub struct FsckReport {
    pub problems: Vec<String>,
    pub repaired: Vec<String>,
    pub notes: Vec<String>,
    pub files_checked: usize,
    pub users_checked: usize,
}

impl FsckReport {
    pub fn is_consistent(&self) -> bool {
        self.problems.len() == self.repaired.len()
    }
}

/// `server_running`: another process (the server) holds the data folder, so uploads may be in
/// flight: temp files, reservations and pending trash entries are then theirs, not stale.
pub fn run_fsck(store: &Store, repair: bool, server_running: bool) -> anyhow::Result<FsckReport> {
    let mut r = FsckReport::default();
    let conn = store.db.conn()?;

    check_database(&conn, &mut r)?;

    // Rows whose body is missing or has the wrong size.
    let mut offline = std::collections::BTreeMap::<String, usize>::new();
    let mut referenced = check_file_bodies(store, &conn, repair, &mut r, &mut offline)?;
    // Versions: each names a body of its size.
    check_version_bodies(store, &conn, repair, &mut r, &mut referenced, &mut offline)?;
    for (vol, n) in offline {
        r.problems.push(format!(
            "volume {vol} is offline: {n} files cannot be checked or read"
        ));
    }

    // Bodies that no row names (and no pending commit or delete claims).
    for v in store
        .volumes
        .all()
        .iter()
        .filter(|v| store.volumes.is_online(v))
    {
        find_orphan_bodies(v, &conn, &referenced, repair, &mut r)?;
        // Thumbnails whose body is gone (a crash between a delete and its purge).
        find_orphan_thumbnails(v, &conn, &referenced, repair, &mut r)?;
    }

    check_name_index(&conn, repair, &mut r)?;
    // Counters.
    let users = check_used_bytes(&conn, repair, &mut r)?;

    // Properties stored before they were bounded: counted like the others; PROPPATCH can still
    // remove or shrink them, so they are the owner's to clean up, not fsck's to guess at.
    for (node, bytes) in db::props::find_oversized_props(&conn, MAX_NODE_PROP_BYTES)? {
        r.notes.push(format!(
            "node {node} carries {bytes} bytes of dead properties, over the {} KiB bound",
            MAX_NODE_PROP_BYTES / 1024
        ));
    }

    check_unfinished_uploads(store, conn, &users, repair, server_running, &mut r)?;
    Ok(r)
}

/// SQLite's own checks, foreign keys, and the tree's structure.
fn check_database(conn: &rusqlite::Connection, r: &mut FsckReport) -> anyhow::Result<()> {
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
    if integrity != "ok" {
        r.problems
            .push(format!("database integrity check: {integrity}"));
    }
    let fk_errors: i64 =
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })?;
    if fk_errors > 0 {
        r.problems
            .push(format!("{fk_errors} rows break foreign keys"));
    }
    r.problems.extend(db::nodes::find_structure_problems(conn)?);
    Ok(())
}

/// The name search index against `nodes`; repaired by rebuilding it.
fn check_name_index(
    conn: &rusqlite::Connection,
    repair: bool,
    r: &mut FsckReport,
) -> anyhow::Result<()> {
    if db::nodes::name_index_in_step(conn)? {
        return Ok(());
    }
    r.problems
        .push("the search index of names is out of step with the files".into());
    if repair {
        db::nodes::rebuild_name_index(conn)?;
        r.repaired.push("rebuilt the search index of names".into());
    }
    Ok(())
}

/// Each file row against its body's size (rows on offline volumes are counted in `offline`);
/// returns the blobs the rows name.
fn check_file_bodies(
    store: &Store,
    conn: &rusqlite::Connection,
    repair: bool,
    r: &mut FsckReport,
    offline: &mut std::collections::BTreeMap<String, usize>,
) -> anyhow::Result<HashSet<String>> {
    let files = db::nodes::list_all_files(conn)?;
    r.files_checked = files.len();
    let mut referenced: HashSet<String> = HashSet::with_capacity(files.len());
    for f in &files {
        let (vol, blob, ext) = (
            f.volume.clone().unwrap_or_default(),
            f.blob_id.clone().unwrap_or_default(),
            f.ext.clone().unwrap_or_default(),
        );
        referenced.insert(blob.clone());
        let Ok(v) = store.volumes.online(&vol) else {
            *offline.entry(vol).or_default() += 1;
            continue;
        };
        let path = v.body_path(&f.owner_id, &blob, &ext);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() as i64 == f.size => {}
            Ok(m) => r.problems.push(format!(
                "file {} ({}) is {} bytes on disk but {} in the database",
                f.id,
                f.name,
                m.len(),
                f.size
            )),
            Err(_) => {
                r.problems.push(format!(
                    "file {} ({}) has no body at {}",
                    f.id,
                    f.name,
                    path.display()
                ));
                if repair {
                    // The bytes are gone; the row only lies. Drop it (its quota comes back below).
                    db::nodes::delete_node(conn, &f.id)?;
                    r.repaired.push(format!(
                        "removed the row of file {} whose body is missing",
                        f.id
                    ));
                }
            }
        }
    }
    Ok(referenced)
}

/// Each version row against its body's size; adds the blobs they name to `referenced`.
fn check_version_bodies(
    store: &Store,
    conn: &rusqlite::Connection,
    repair: bool,
    r: &mut FsckReport,
    referenced: &mut HashSet<String>,
    offline: &mut std::collections::BTreeMap<String, usize>,
) -> anyhow::Result<()> {
    for ver in db::versions::list_all_versions(conn)? {
        referenced.insert(ver.blob_id.clone());
        let Ok(v) = store.volumes.online(&ver.volume) else {
            *offline.entry(ver.volume.clone()).or_default() += 1;
            continue;
        };
        let path = v.body_path(&ver.owner_id, &ver.blob_id, &ver.ext);
        match std::fs::metadata(&path) {
            Ok(m) if m.len() as i64 == ver.size => {}
            Ok(m) => r.problems.push(format!(
                "version {} of file {} is {} bytes on disk but {} in the database",
                ver.id,
                ver.node_id,
                m.len(),
                ver.size
            )),
            Err(_) => {
                r.problems.push(format!(
                    "version {} of file {} has no body at {}",
                    ver.id,
                    ver.node_id,
                    path.display()
                ));
                if repair {
                    db::versions::delete_version(conn, &ver.id)?;
                    r.repaired
                        .push(format!("removed version {} whose body is missing", ver.id));
                }
            }
        }
    }
    Ok(())
}

/// Bodies on volume `v` that no row names and no pending commit or delete claims.
fn find_orphan_bodies(
    v: &crate::storage::volumes::Volume,
    conn: &rusqlite::Connection,
    referenced: &HashSet<String>,
    repair: bool,
    r: &mut FsckReport,
) -> anyhow::Result<()> {
    let Ok(users) = std::fs::read_dir(v.users_dir()) else {
        return Ok(());
    };
    for user in users.flatten() {
        let Ok(bodies) = std::fs::read_dir(crate::storage::volumes::layout::files_of(&user.path()))
        else {
            continue;
        };
        for body in bodies.flatten() {
            let file_name = body.file_name().to_string_lossy().to_string();
            let blob = file_name.split('.').next().unwrap_or_default().to_string();
            // Re-asked now, not from the list above: an upload may have committed meanwhile.
            if referenced.contains(&blob) || db::trash::is_blob_known(conn, &blob)? {
                continue;
            }
            // A running server unlinks a purged body before it forgets its entry: gone
            // now means it was being purged, not orphaned.
            if !body.path().exists() {
                continue;
            }
            r.problems.push(format!(
                "orphan body {} (no file row)",
                body.path().display()
            ));
            if repair {
                std::fs::remove_file(body.path())?;
                r.repaired
                    .push(format!("deleted orphan body {}", body.path().display()));
            }
        }
    }
    Ok(())
}

/// Thumbnails on volume `v` whose body is gone.
fn find_orphan_thumbnails(
    v: &crate::storage::volumes::Volume,
    conn: &rusqlite::Connection,
    referenced: &HashSet<String>,
    repair: bool,
    r: &mut FsckReport,
) -> anyhow::Result<()> {
    let Ok(users) = std::fs::read_dir(v.users_dir()) else {
        return Ok(());
    };
    for user in users.flatten() {
        let Ok(thumbs) =
            std::fs::read_dir(crate::storage::volumes::layout::thumbs_of(&user.path()))
        else {
            continue;
        };
        for thumb in thumbs.flatten() {
            let file_name = thumb.file_name().to_string_lossy().to_string();
            let blob = file_name
                .rsplit_once('-')
                .map(|(b, _)| b)
                .unwrap_or_default()
                .to_string();
            if referenced.contains(&blob) || db::trash::is_blob_known(conn, &blob)? {
                continue;
            }
            if !thumb.path().exists() {
                continue;
            }
            r.problems
                .push(format!("orphan thumbnail {}", thumb.path().display()));
            if repair {
                std::fs::remove_file(thumb.path())?;
                r.repaired.push(format!(
                    "deleted orphan thumbnail {}",
                    thumb.path().display()
                ));
            }
        }
    }
    Ok(())
}

/// Each user's `used_bytes` against what their files, versions and dead properties add up to;
/// returns the users.
fn check_used_bytes(
    conn: &rusqlite::Connection,
    repair: bool,
    r: &mut FsckReport,
) -> anyhow::Result<Vec<db::users::User>> {
    let users = db::users::list_users(conn)?;
    r.users_checked = users.len();
    for (id, name, used, actual) in db::users::find_usage_mismatches(conn)? {
        r.problems.push(format!(
            "user {name}: used_bytes is {used} but their files (in the trash too), versions and dead properties add up to {actual}"
        ));
        if repair {
            db::users::recompute_used_bytes(conn, &id)?;
            r.repaired
                .push(format!("user {name}: used_bytes recomputed"));
        }
    }
    Ok(users)
}

/// Temp files, reservations and trash entries left by uploads and deletes: in progress while
/// the server runs, stale otherwise. Takes the connection to hand it back before a purge.
fn check_unfinished_uploads(
    store: &Store,
    conn: db::PooledConn,
    users: &[db::users::User],
    repair: bool,
    server_running: bool,
    r: &mut FsckReport,
) -> anyhow::Result<()> {
    let temp = store.volumes.count_temp_files();
    let pending_chunks: i64 = db::chunks::list_all_chunk_uploads(&conn)?
        .iter()
        .map(|u| u.bytes)
        .sum();
    let pending_tus = db::tus::sum_reserved_by_tus(&conn)?;
    let reserved: i64 =
        users.iter().map(|u| u.reserved_bytes).sum::<i64>() - pending_chunks - pending_tus;
    if server_running {
        if temp > 0 {
            r.notes
                .push(format!("{temp} upload(s) in progress ({TMP_DIR})"));
        }
    } else {
        if temp > 0 {
            r.problems.push(format!(
                "{temp} stale temp file(s) in {TMP_DIR} from interrupted uploads"
            ));
            if repair {
                let n = store.volumes.sweep_temp_files();
                r.repaired.push(format!("deleted {n} stale temp file(s)"));
            }
        }
        if reserved != 0 {
            r.problems.push(format!(
                "{reserved} bytes still reserved by uploads that no longer run"
            ));
            if repair {
                db::users::reset_reservations(&conn)?;
                r.repaired.push(
                    "reset reservations to the chunked and resumable uploads in progress".into(),
                );
            }
        }
        let pending = db::trash::list_unreferenced_trash(&conn)?;
        if !pending.is_empty() {
            r.problems
                .push(format!("{} deleted bodies not yet unlinked", pending.len()));
            if repair {
                drop(conn);
                let n = store.purge_all_trash()?;
                r.repaired.push(format!("unlinked {n} deleted bodies"));
            }
        }
    }
    Ok(())
}
