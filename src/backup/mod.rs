//! `cloudvault backup DEST` and `cloudvault restore SRC`: a consistent copy of the database
//! (SQLite's `VACUUM INTO`, safe while the server runs), the JWT secret and the configuration,
//! and optionally the file bodies and thumbnails — incremental, because a body is never
//! rewritten in place (a new body gets a new uuid): a body already in the previous backup is
//! hard-linked from it instead of copied.
//!
//! Layout: `DEST/cloudvault-YYYYMMDDTHHMMSSZ/` holding `cloudvault.db`, `jwt-secret`,
//! `config.toml` (when the server has one), `manifest.json`, and `volumes/{name}/users/...`;
//! `DEST/latest` names the newest complete one. A backup is written as `*.partial` and renamed
//! when complete, so an interrupted run never looks like a backup.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rusqlite::Connection;

use crate::config::Config;
use crate::storage::volumes::body_file_name;
use crate::storage::volumes::layout;

pub const MANIFEST: &str = "manifest.json";
const DB_FILE: &str = "cloudvault.db";
const SECRET_FILE: &str = "jwt-secret";

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub created_at: String,
    pub cloudvault_version: String,
    pub schema_version: i64,
    pub with_files: bool,
    pub volumes: Vec<String>,
    pub files: u64,
    pub bytes: u64,
}

#[derive(Debug, Default)]
pub struct BackupReport {
    pub path: PathBuf,
    pub files_copied: u64,
    pub files_linked: u64,
    pub bytes_copied: u64,
    /// Bodies the database names that were gone when copied (deleted during the backup).
    pub missing: Vec<String>,
}

/// Bodies (and their thumbnails) named by a database, by volume: (volume, user, file name).
fn referenced_files(db: &Path) -> anyhow::Result<Vec<(String, String, String)>> {
    let c = Connection::open(db)?;
    let mut st = c.prepare(
        "SELECT volume, owner_id, blob_id, coalesce(ext, '') FROM nodes WHERE kind = 'file'
         UNION ALL SELECT volume, owner_id, blob_id, ext FROM versions",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|(v, u, b, e)| (v, u, body_file_name(&b, &e)))
        .collect())
}

fn now_stamp() -> (String, String) {
    let now = std::time::SystemTime::now();
    let rfc = humantime::format_rfc3339_seconds(now).to_string();
    let stamp = rfc.replace(['-', ':'], "");
    (rfc, stamp)
}

/// Copies `from` to `to`, or hard-links it from `previous` when that holds the same file.
fn copy_or_link(
    from: &Path,
    to: &Path,
    previous: Option<&Path>,
    r: &mut BackupReport,
) -> std::io::Result<()> {
    if let Some(prev) = previous
        && let (Ok(a), Ok(b)) = (std::fs::metadata(prev), std::fs::metadata(from))
        && a.len() == b.len()
        && std::fs::hard_link(prev, to).is_ok()
    {
        r.files_linked += 1;
        return Ok(());
    }
    let n = std::fs::copy(from, to)?;
    r.files_copied += 1;
    r.bytes_copied += n;
    Ok(())
}

pub fn backup(
    config: &Config,
    config_file: Option<&Path>,
    dest: &Path,
    with_files: bool,
) -> anyhow::Result<BackupReport> {
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let (created_at, stamp) = now_stamp();
    let name = format!("cloudvault-{stamp}");
    let partial = dest.join(format!("{name}.partial"));
    let done = dest.join(&name);
    if done.exists() {
        bail!("{} already exists", done.display());
    }
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial)?;
    let previous = std::fs::read_link(dest.join("latest"))
        .ok()
        .map(|p| if p.is_absolute() { p } else { dest.join(p) });

    // 1. The database: one consistent snapshot, taken while the server may be writing.
    let db_copy = partial.join(DB_FILE);
    let schema_version = snapshot_database(config, config_file, &partial, &db_copy)?;

    // 2. Bodies and thumbnails the snapshot names. Bodies are immutable, so a body in the
    // previous backup is the same bytes: hard-link it.
    let mut report = BackupReport {
        path: done.clone(),
        ..Default::default()
    };
    let volumes = config.effective_volumes();
    let (files, bytes) = if with_files {
        copy_referenced_files(
            &db_copy,
            &volumes,
            &partial,
            previous.as_deref(),
            &mut report,
        )?
    } else {
        (0, 0)
    };
    let manifest = Manifest {
        created_at,
        cloudvault_version: env!("CARGO_PKG_VERSION").into(),
        schema_version,
        with_files,
        volumes: volumes.iter().map(|v| v.name.clone()).collect(),
        files,
        bytes,
    };
    std::fs::write(
        partial.join(MANIFEST),
        serde_json::to_vec_pretty(&manifest)?,
    )?;
    sync_tree(&partial)?;
    std::fs::rename(&partial, &done)?;
    point_latest_at(dest, &name)?;
    Ok(report)
}

/// Snapshots the database into `db_copy` and copies the JWT secret and the configuration file
/// beside it; returns the snapshot's schema version.
fn snapshot_database(
    config: &Config,
    config_file: Option<&Path>,
    partial: &Path,
    db_copy: &Path,
) -> anyhow::Result<i64> {
    {
        let c = Connection::open(config.db_path()).context("opening the database")?;
        c.busy_timeout(std::time::Duration::from_secs(30))?;
        c.execute("VACUUM INTO ?1", [db_copy.to_string_lossy()])
            .context("snapshotting the database")?;
    }
    let schema_version: i64 =
        Connection::open(db_copy)?.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let secret = config.data_dir.join(SECRET_FILE);
    if secret.exists() {
        std::fs::copy(&secret, partial.join(SECRET_FILE))?;
    }
    if let Some(f) = config_file {
        std::fs::copy(f, partial.join("config.toml"))
            .with_context(|| format!("copying {}", f.display()))?;
    }
    Ok(schema_version)
}

/// Copies (or links from `previous`) every body and thumbnail the snapshot `db_copy` names into
/// `partial`; returns the number of bodies and their bytes.
fn copy_referenced_files(
    db_copy: &Path,
    volumes: &[crate::config::VolumeConfig],
    partial: &Path,
    previous: Option<&Path>,
    report: &mut BackupReport,
) -> anyhow::Result<(u64, u64)> {
    let mut files = 0u64;
    let mut bytes = 0u64;
    let wanted = referenced_files(db_copy)?;
    for (vol, user, file) in &wanted {
        let Some(vc) = volumes.iter().find(|v| &v.name == vol) else {
            report
                .missing
                .push(format!("{vol}/{user}/{file} (volume not configured)"));
            continue;
        };
        // The volume's layout, below `volumes/{name}/` of the backup.
        let rel = PathBuf::from("volumes").join(vol);
        let blob = file.split('.').next().unwrap_or_default();
        let mut items = vec![(
            layout::files_dir(&vc.path, user).join(file),
            layout::files_dir(&rel, user).join(file),
            true,
        )];
        for size in crate::storage::volumes::THUMB_SIZES {
            let t = layout::thumb_file_name(blob, size);
            items.push((
                layout::thumbs_dir(&vc.path, user).join(&t),
                layout::thumbs_dir(&rel, user).join(&t),
                false,
            ));
        }
        for (from, to_rel, is_body) in items {
            let to = partial.join(&to_rel);
            if !from.exists() {
                if is_body {
                    report.missing.push(from.display().to_string());
                }
                continue;
            }
            std::fs::create_dir_all(to.parent().unwrap_or(partial))?;
            let prev = previous.map(|p| p.join(&to_rel));
            copy_or_link(&from, &to, prev.as_deref(), report)
                .with_context(|| format!("copying {}", from.display()))?;
            if is_body {
                files += 1;
                bytes += std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
            }
        }
    }
    Ok((files, bytes))
}

/// Points `dest/latest` at the backup `name`, atomically (a new link renamed over the old one).
fn point_latest_at(dest: &Path, name: &str) -> std::io::Result<()> {
    let link = dest.join("latest");
    let tmp_link = dest.join(".latest.tmp");
    let _ = std::fs::remove_file(&tmp_link);
    std::os::unix::fs::symlink(name, &tmp_link)?;
    std::fs::rename(&tmp_link, &link)?;
    crate::storage::volumes::sync_dir(dest)
}

/// fsyncs every file and folder of a finished backup (it is only a backup once on disk).
fn sync_tree(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            sync_tree(&e.path())?;
        } else {
            std::fs::File::open(e.path())?.sync_all()?;
        }
    }
    crate::storage::volumes::sync_dir(dir)
}

#[derive(Debug, Default)]
pub struct RestoreReport {
    pub files: u64,
    pub volumes: Vec<String>,
}

/// Brings a backup back into `config`'s data folder and volumes. The server must be stopped;
/// the data folder must hold no database unless `force`.
pub fn restore(config: &Config, src: &Path, force: bool) -> anyhow::Result<RestoreReport> {
    let src = if src.join(MANIFEST).exists() {
        src.to_path_buf()
    } else {
        src.join("latest")
    };
    let manifest: Manifest = serde_json::from_slice(
        &std::fs::read(src.join(MANIFEST))
            .with_context(|| format!("{} is not a CloudVault backup", src.display()))?,
    )?;
    if manifest.schema_version > crate::db::SCHEMA_VERSION {
        bail!(
            "the backup's schema version {} is newer than this cloudvault ({})",
            manifest.schema_version,
            crate::db::SCHEMA_VERSION
        );
    }
    std::fs::create_dir_all(&config.data_dir)?;
    if crate::storage::DataLock::is_held(&config.data_dir) {
        bail!(
            "a cloudvault server is running on {}: stop it first",
            config.data_dir.display()
        );
    }
    let _lock = crate::storage::DataLock::acquire(&config.data_dir)?;
    let db_path = config.db_path();
    if db_path.exists() && !force {
        bail!(
            "{} already holds a database: restore into an empty data folder, or pass --force to replace it",
            config.data_dir.display()
        );
    }
    let mut report = RestoreReport::default();
    // Bodies first, the database last: until it is in place nothing names them.
    let volumes = config.effective_volumes();
    let backup_vols = src.join("volumes");
    let restored_db = Connection::open(src.join(DB_FILE))?;
    let mut markers: Vec<(String, String)> = restored_db
        .prepare("SELECT name, marker_id FROM volumes")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    drop(restored_db);
    let mut seen: HashSet<String> = HashSet::new();
    for vc in &volumes {
        let from = backup_vols.join(&vc.name);
        std::fs::create_dir_all(&vc.path)
            .with_context(|| format!("creating volume {}", vc.path.display()))?;
        if from.exists() {
            report.files += copy_tree(&from, &vc.path)?;
        }
        // The database knows each volume by the marker it wrote there: put it back.
        if let Some((_, id)) = markers.iter().find(|(n, _)| *n == vc.name) {
            std::fs::write(
                vc.path.join(crate::storage::volumes::MARKER_FILE),
                format!("{id}\n"),
            )?;
        }
        seen.insert(vc.name.clone());
        report.volumes.push(vc.name.clone());
    }
    markers.retain(|(n, _)| !seen.contains(n));
    if let Some((n, _)) = markers.first() {
        tracing::warn!(volume = %n, "the backup names a volume this configuration does not have");
    }
    if src.join(SECRET_FILE).exists() {
        std::fs::copy(src.join(SECRET_FILE), config.data_dir.join(SECRET_FILE))?;
    }
    let tmp = config.data_dir.join("cloudvault.db.restoring");
    std::fs::copy(src.join(DB_FILE), &tmp)?;
    // The snapshot is a VACUUM copy, which may renumber rowids: the name index follows them.
    {
        let c = Connection::open(&tmp)?;
        crate::db::nodes::rebuild_name_index(&c)?;
    }
    std::fs::File::open(&tmp)?.sync_all()?;
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", db_path.display()));
    }
    std::fs::rename(&tmp, &db_path)?;
    crate::storage::volumes::sync_dir(&config.data_dir)?;
    Ok(report)
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<u64> {
    let mut n = 0;
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            n += copy_tree(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target)?;
            std::fs::File::open(&target)?.sync_all()?;
            n += 1;
        }
    }
    crate::storage::volumes::sync_dir(to)?;
    Ok(n)
}
