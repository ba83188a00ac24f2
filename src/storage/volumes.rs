//! Volumes (the USB disks): marker files, placement of new bodies, body and temp paths.
//! A volume this store has used carries a marker file; when the marker is missing (the disk is
//! unplugged and the mount point is an empty folder) the volume is offline and nothing is written.
//!
//! Reading a marker is disk I/O, which can hang (a USB disk in D-state), so it never happens on
//! a runtime thread: writers look on the blocking thread that then writes (`online`,
//! `pick_for_write`, right before a body is created); code on a runtime thread asks
//! `online_cached`, the last look (at most `HEALTH_TTL` old, refreshed off the runtime); health
//! reports wait at most `HEALTH_WAIT` for a look and call a disk that does not answer offline.
//! One look per volume at a time once a disk hangs: it costs one stuck thread, not one per request.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::config::{Config, Placement};
use crate::db::{self, Db};
use crate::error::{AppError, AppResult};

pub const MARKER_FILE: &str = ".cloudvault-volume";
pub const TMP_DIR: &str = ".cloudvault-tmp";
pub const CHUNKS_DIR: &str = ".cloudvault-chunks";
/// Bytes of resumable (tus) uploads in progress: kept across restarts, unlike TMP_DIR.
pub const TUS_DIR: &str = ".cloudvault-tus";

#[derive(Debug)]
pub struct Volume {
    pub name: String,
    pub path: PathBuf,
    pub enabled: bool,
    /// Free space below which the volume is reported low (admin page, /healthz).
    pub low_space: u64,
    /// Free space a new body may never eat into (`volume-full` instead).
    pub min_free: u64,
    /// The marker id recorded in the database; None until the volume could be initialised.
    marker: RwLock<Option<String>>,
    /// Why initialisation failed (path named), for status and logs.
    init_error: RwLock<Option<String>>,
    /// The last look at the marker, and a look under way.
    health: Arc<Health>,
}

/// How long the last look at a marker answers `online_cached` before another is started.
pub const HEALTH_TTL: Duration = Duration::from_secs(3);
/// How long a health report (`/healthz`, the admin page, `/metrics`) waits for a disk.
pub const HEALTH_WAIT: Duration = Duration::from_secs(1);

/// What is known of a volume's disk: the last look at its marker (and the last full report),
/// and since when a look has been under way.
#[derive(Debug, Default)]
struct Health {
    state: Mutex<HealthState>,
    /// Notified when a look ends.
    looked: Condvar,
}

#[derive(Debug, Default)]
struct HealthState {
    online: Option<(Instant, bool)>,
    report: Option<(Instant, VolumeStatus)>,
    looking_since: Option<Instant>,
}

impl Health {
    /// Claims the look for a new thread; None while one is under way.
    fn begin(&self) -> Option<Instant> {
        let mut st = self.state.lock().unwrap();
        if st.looking_since.is_some() {
            return None;
        }
        let now = Instant::now();
        st.looking_since = Some(now);
        Some(now)
    }

    /// Records a look: the marker's answer, and the full report of a look on its own thread.
    fn end(&self, started: Option<Instant>, online: bool, report: Option<VolumeStatus>) {
        let mut st = self.state.lock().unwrap();
        let now = Instant::now();
        st.online = Some((now, online));
        if let Some(r) = report {
            st.report = Some((now, r));
        }
        if started.is_some() && st.looking_since == started {
            st.looking_since = None;
        }
        self.looked.notify_all();
    }
}

#[derive(Debug)]
pub struct Volumes {
    list: Vec<Volume>,
    placement: Placement,
}

#[derive(serde::Serialize, Debug, Clone)]
pub struct VolumeStatus {
    pub name: String,
    pub path: String,
    pub enabled: bool,
    pub online: bool,
    pub free_bytes: Option<u64>,
    /// Size of the filesystem (when online).
    pub total_bytes: Option<u64>,
    /// The configured low-space threshold, and whether free space is below it.
    pub low_space_bytes: u64,
    pub low_space: bool,
    /// Mounted read-only (a failing disk is often remounted so): files read, nothing is written.
    pub read_only: bool,
    pub problem: Option<String>,
}

impl Volumes {
    /// Removes, on every online volume, the entries of upload folder `sub` (`CHUNKS_DIR`,
    /// `TUS_DIR`) whose upload is not in `known` (left by a crash between a row's delete and
    /// its files').
    pub fn remove_unowned(&self, sub: &str, known: &std::collections::HashSet<String>) {
        for v in self.all().iter().filter(|v| self.is_online(v)) {
            let Ok(entries) = std::fs::read_dir(v.path.join(sub)) else {
                continue;
            };
            for e in entries.flatten() {
                if !known.contains(&e.file_name().to_string_lossy().to_string()) {
                    let path = e.path();
                    let _ = match path.is_dir() {
                        true => std::fs::remove_dir_all(&path),
                        false => std::fs::remove_file(&path),
                    };
                }
            }
        }
    }

    /// Checks every configured volume: a new one gets its marker (first use); a known one must
    /// still carry the same marker, else it is offline.
    pub fn open(config: &Config, db: &Db) -> anyhow::Result<Volumes> {
        let conn = db.conn()?;
        let mut list = Vec::new();
        for vc in config.effective_volumes() {
            let v = Volume {
                name: vc.name.clone(),
                path: vc.path.clone(),
                enabled: vc.enabled,
                low_space: vc.low_space.0,
                min_free: vc.min_free.0,
                marker: RwLock::new(None),
                init_error: RwLock::new(None),
                health: Arc::default(),
            };
            v.try_init(config, &conn);
            v.check_online();
            list.push(v);
        }
        Ok(Volumes {
            list,
            placement: config.placement,
        })
    }

    /// Tries again the volumes that could not be initialised (a disk plugged in after start).
    pub fn retry_uninitialised(&self, config: &Config, db: &Db) {
        let Ok(conn) = db.conn() else { return };
        for v in &self.list {
            if v.marker.read().unwrap().is_none() {
                v.try_init(config, &conn);
                v.check_online();
                if v.marker.read().unwrap().is_some() {
                    tracing::info!(volume = %v.name, "volume initialised");
                }
            }
        }
    }

    pub fn all(&self) -> &[Volume] {
        &self.list
    }

    pub fn get(&self, name: &str) -> Option<&Volume> {
        self.list.iter().find(|v| v.name == name)
    }

    /// A volume is online when its marker file is there and names the id we recorded. Reads the
    /// marker: call it on a blocking thread (from a runtime thread, use `online_cached`).
    pub fn is_online(&self, v: &Volume) -> bool {
        v.check_online()
    }

    /// The volume holding `name`'s bodies, if it is online (checked now, not at start). Reads
    /// the marker: call it on a blocking thread, as the write that follows is.
    pub fn online(&self, name: &str) -> AppResult<&Volume> {
        match self.get(name) {
            Some(v) if self.is_online(v) => Ok(v),
            _ => Err(AppError::volume_offline(name)),
        }
    }

    /// `online` for code on a runtime thread: the last look at the marker, never the disk. A
    /// look older than `HEALTH_TTL` starts a new one on a thread of its own (its answer serves
    /// the next caller); a look that has hung for that long answers offline. Nothing may be
    /// written on this answer alone: writers look again on their blocking thread.
    pub fn online_cached(&self, name: &str) -> AppResult<&Volume> {
        match self.get(name) {
            Some(v) if v.cached_online() => Ok(v),
            _ => Err(AppError::volume_offline(name)),
        }
    }

    /// Where a new body goes: the user's pinned volume, else by the placement policy among
    /// enabled, online volumes that are writable and above their `min_free`.
    pub fn pick_for_write(&self, pinned: Option<&str>) -> AppResult<&Volume> {
        if let Some(name) = pinned {
            let v = self.online(name)?;
            v.check_writable(0)?;
            return Ok(v);
        }
        let online: Vec<&Volume> = self
            .list
            .iter()
            .filter(|v| v.enabled && self.is_online(v))
            .collect();
        let candidates: Vec<(&Volume, u64)> = online
            .iter()
            .filter_map(|v| match fs_stats(&v.path) {
                Some(st) if !st.read_only && st.free > v.min_free => Some((*v, st.free)),
                _ => None,
            })
            .collect();
        let chosen = match self.placement {
            Placement::FirstFit => candidates.first().copied(),
            Placement::MostFree => candidates.iter().copied().max_by_key(|(_, free)| *free),
        };
        match chosen {
            Some((v, _)) => Ok(v),
            // Online but none can take it: say why (read-only or full), not "offline".
            None if !online.is_empty() => Err(online
                .iter()
                .find_map(|v| v.check_writable(0).err())
                .unwrap_or_else(AppError::volume_full)),
            None => {
                let names: Vec<&str> = self
                    .list
                    .iter()
                    .filter(|v| v.enabled)
                    .map(|v| v.name.as_str())
                    .collect();
                Err(AppError::volume_offline(&names.join(", ")))
            }
        }
    }

    /// Every volume as a health report shows it: a fresh look at each disk, made on threads of
    /// their own and waited for at most `HEALTH_WAIT` in all. A disk that does not answer in
    /// time is reported offline (not answering) instead of holding the report.
    pub fn status(&self) -> Vec<VolumeStatus> {
        let asked = Instant::now();
        for v in &self.list {
            v.start_look();
        }
        let deadline = asked + HEALTH_WAIT;
        self.list
            .iter()
            .map(|v| v.report_since(asked, deadline))
            .collect()
    }

    /// Deletes leftovers of uploads that never committed. Only the server calls this, at start,
    /// when it holds the data-folder lock and no upload is in flight.
    pub fn sweep_temp_files(&self) -> usize {
        let mut removed = 0;
        for v in self.list.iter().filter(|v| self.is_online(v)) {
            if let Ok(entries) = std::fs::read_dir(v.path.join(TMP_DIR)) {
                for e in entries.flatten() {
                    if std::fs::remove_file(e.path()).is_ok() {
                        removed += 1;
                    }
                }
            }
        }
        removed
    }

    pub fn count_temp_files(&self) -> usize {
        self.list
            .iter()
            .filter(|v| self.is_online(v))
            .map(|v| {
                std::fs::read_dir(v.path.join(TMP_DIR))
                    .map(|d| d.count())
                    .unwrap_or(0)
            })
            .sum()
    }
}

impl Volume {
    /// Reads the marker now, on this (blocking) thread, and records what it says. While a look on
    /// a thread of its own is under way, waits for its answer instead, at most `HEALTH_WAIT`
    /// (then: offline), so writers do not pile up on a disk that does not answer.
    pub fn check_online(&self) -> bool {
        {
            let mut st = self.health.state.lock().unwrap();
            let deadline = Instant::now() + HEALTH_WAIT;
            while st.looking_since.is_some() {
                let now = Instant::now();
                if now >= deadline {
                    return false;
                }
                st = self
                    .health
                    .looked
                    .wait_timeout(st, deadline - now)
                    .unwrap()
                    .0;
            }
        }
        let online = self.marker_matches();
        self.health.end(None, online, None);
        online
    }

    fn marker_matches(&self) -> bool {
        let Some(expected) = self.marker.read().unwrap().clone() else {
            return false;
        };
        match std::fs::read_to_string(self.path.join(MARKER_FILE)) {
            Ok(text) => text.trim() == expected,
            Err(_) => false,
        }
    }

    /// The last look (see `Volumes::online_cached`); never reads the disk on this thread.
    fn cached_online(&self) -> bool {
        let (last, looking) = {
            let st = self.health.state.lock().unwrap();
            (st.online, st.looking_since)
        };
        if let Some(t) = looking
            && t.elapsed() > HEALTH_TTL
        {
            return false;
        }
        match last {
            Some((at, online)) if at.elapsed() < HEALTH_TTL => online,
            last => {
                if looking.is_none() {
                    self.start_look();
                }
                last.is_some_and(|(_, online)| online)
            }
        }
    }

    /// Starts a look at the disk on a thread of its own, unless one is under way.
    fn start_look(&self) {
        let Some(started) = self.health.begin() else {
            return;
        };
        let probe = Probe {
            name: self.name.clone(),
            path: self.path.clone(),
            enabled: self.enabled,
            low_space: self.low_space,
            marker: self.marker.read().unwrap().clone(),
            init_error: self.init_error.read().unwrap().clone(),
        };
        let health = self.health.clone();
        let spawned = std::thread::Builder::new()
            .name("volume-health".into())
            .spawn(move || {
                let status = probe.look();
                health.end(Some(started), status.online, Some(status));
            });
        if spawned.is_err() {
            self.health.end(Some(started), false, None);
        }
    }

    /// The report of a look that ended after `asked`, waiting until `deadline` for it; else the
    /// volume as not answering.
    fn report_since(&self, asked: Instant, deadline: Instant) -> VolumeStatus {
        let mut st = self.health.state.lock().unwrap();
        loop {
            if let Some((at, r)) = &st.report
                && *at >= asked
            {
                return r.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = self
                .health
                .looked
                .wait_timeout(st, deadline - now)
                .unwrap()
                .0;
        }
        let waited = st
            .looking_since
            .map_or(HEALTH_WAIT, |t| t.elapsed())
            .as_secs_f64();
        drop(st);
        VolumeStatus {
            name: self.name.clone(),
            path: self.path.display().to_string(),
            enabled: self.enabled,
            online: false,
            free_bytes: None,
            total_bytes: None,
            low_space_bytes: self.low_space,
            low_space: false,
            read_only: false,
            problem: Some(format!(
                "{} has not answered for {waited:.1} s: the disk hangs or is failing",
                self.path.display()
            )),
        }
    }

    /// Whether `need` more bytes may be written here now: `volume-read-only` on a read-only
    /// mount, `volume-full` when they would leave less than `min_free`.
    pub fn check_writable(&self, need: u64) -> AppResult<()> {
        match fs_stats(&self.path) {
            Some(st) if st.read_only => Err(AppError::volume_read_only(&self.name)),
            Some(st) if st.free < need.saturating_add(self.min_free) => {
                Err(AppError::volume_full())
            }
            // statvfs failing on an online volume: let the write itself say what is wrong.
            _ => Ok(()),
        }
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.path.join(TMP_DIR)
    }

    /// Where the body `blob_id` is written before its commit (start-up sweeps what is left).
    pub fn temp_path(&self, blob_id: &str) -> PathBuf {
        self.tmp_dir().join(format!("{blob_id}.part"))
    }

    /// Where the parts of one chunked upload wait for assembly.
    pub fn chunk_dir(&self, upload_id: &str) -> PathBuf {
        self.path.join(CHUNKS_DIR).join(upload_id)
    }

    /// Where the bytes of one resumable (tus) upload accumulate until it is finished.
    pub fn tus_path(&self, upload_id: &str) -> PathBuf {
        self.path.join(TUS_DIR).join(upload_id)
    }

    pub fn user_files_dir(&self, user_id: &str) -> PathBuf {
        layout::files_dir(&self.path, user_id)
    }

    pub fn users_dir(&self) -> PathBuf {
        layout::users_dir(&self.path)
    }

    /// `{volume}/users/{user_id}/files/{uuid}.{ext}`: names come from ids we made, never from requests.
    pub fn body_path(&self, user_id: &str, blob_id: &str, ext: &str) -> PathBuf {
        self.user_files_dir(user_id)
            .join(body_file_name(blob_id, ext))
    }
}

/// Where a user's files and thumbnails live below a volume's root: the one place the layout
/// is written. The server's volumes, fsck and the backup (which copies a volume to
/// `volumes/{name}/` of the backup folder, the same layout below another root) all use it.
pub mod layout {
    use std::path::{Path, PathBuf};

    pub fn users_dir(root: &Path) -> PathBuf {
        root.join("users")
    }

    pub fn files_dir(root: &Path, user_id: &str) -> PathBuf {
        users_dir(root).join(user_id).join("files")
    }

    pub fn thumbs_dir(root: &Path, user_id: &str) -> PathBuf {
        users_dir(root).join(user_id).join("thumbnails")
    }

    /// `{blob_id}-{size}.jpg`: named after the body, so a new body never shows an old thumbnail.
    pub fn thumb_file_name(blob_id: &str, size: &str) -> String {
        format!("{blob_id}-{size}.jpg")
    }

    /// A user's folder of bodies, given the folder that holds every user (`users_dir`).
    pub fn files_of(user_dir: &Path) -> PathBuf {
        user_dir.join("files")
    }

    /// A user's folder of thumbnails, given the folder that holds every user (`users_dir`).
    pub fn thumbs_of(user_dir: &Path) -> PathBuf {
        user_dir.join("thumbnails")
    }
}

/// The thumbnail sizes the media job writes.
pub const THUMB_SIZES: [&str; 2] = ["small", "large"];

impl Volume {
    pub fn user_thumbs_dir(&self, user_id: &str) -> PathBuf {
        layout::thumbs_dir(&self.path, user_id)
    }

    /// `{volume}/users/{user_id}/thumbnails/{blob_id}-{size}.jpg`, beside the body: named after
    /// the body, so a new body never shows an old thumbnail and purging the body purges them.
    pub fn thumb_path(&self, user_id: &str, blob_id: &str, size: &str) -> PathBuf {
        self.user_thumbs_dir(user_id)
            .join(layout::thumb_file_name(blob_id, size))
    }

    /// Unlinks a body's thumbnails (missing ones are fine).
    pub fn remove_thumbs(&self, user_id: &str, blob_id: &str) -> std::io::Result<()> {
        for size in THUMB_SIZES {
            match std::fs::remove_file(self.thumb_path(user_id, blob_id, size)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

pub fn body_file_name(blob_id: &str, ext: &str) -> String {
    if ext.is_empty() {
        blob_id.to_string()
    } else {
        format!("{blob_id}.{ext}")
    }
}

/// What a look at a volume's disk needs, owned, for a thread of its own.
struct Probe {
    name: String,
    path: PathBuf,
    enabled: bool,
    low_space: u64,
    marker: Option<String>,
    init_error: Option<String>,
}

impl Probe {
    /// Reads the marker (and, online, statvfs) and says why the volume is offline if it is.
    fn look(&self) -> VolumeStatus {
        let marker_path = self.path.join(MARKER_FILE);
        let found = std::fs::read_to_string(&marker_path);
        let online = match (&self.marker, &found) {
            (Some(expected), Ok(text)) => text.trim() == expected,
            _ => false,
        };
        let problem = if online {
            None
        } else if let Some(e) = &self.init_error {
            Some(e.clone())
        } else {
            Some(match (&self.marker, &found) {
                (None, _) => format!("{} is not initialised", self.path.display()),
                (Some(_), Err(_)) => format!(
                    "marker {} is missing: disk unplugged or not mounted",
                    marker_path.display()
                ),
                (Some(_), Ok(_)) => format!(
                    "{} carries another store's marker: a different disk is mounted",
                    self.path.display()
                ),
            })
        };
        let st = if online { fs_stats(&self.path) } else { None };
        let free = st.map(|s| s.free);
        VolumeStatus {
            name: self.name.clone(),
            path: self.path.display().to_string(),
            enabled: self.enabled,
            online,
            free_bytes: free,
            total_bytes: st.map(|s| s.total),
            low_space_bytes: self.low_space,
            low_space: free.is_some_and(|f| f < self.low_space),
            read_only: st.is_some_and(|s| s.read_only),
            problem,
        }
    }
}

impl Volume {
    /// Learns the volume's marker: a volume this store knows keeps its recorded id (and is
    /// offline while the file does not match); a new one gets its marker written (first use).
    /// Never fails: a problem is recorded with the path it concerns.
    fn try_init(&self, config: &Config, conn: &rusqlite::Connection) {
        match self.init(config, conn) {
            Ok(id) => {
                *self.marker.write().unwrap() = Some(id);
                *self.init_error.write().unwrap() = None;
            }
            Err(e) => *self.init_error.write().unwrap() = Some(e),
        }
    }

    fn init(&self, config: &Config, conn: &rusqlite::Connection) -> Result<String, String> {
        let path = self.path.display();
        let marker_path = self.path.join(MARKER_FILE);
        let known = db::volumes::find_volume_marker(conn, &self.name)
            .map_err(|e| format!("database: {e}"))?;
        if let Some(id) = known {
            return Ok(id);
        }
        if !self.enabled {
            return Err(format!("{path} is disabled and has never been used"));
        }
        // First use. A volume outside the data folder must already exist: creating its folder
        // could mean writing into the empty mount point of a disk that is not plugged in.
        if !self.path.exists() {
            if config.is_inside_data_dir(&self.path) {
                std::fs::create_dir_all(&self.path)
                    .map_err(|e| format!("cannot create {path}: {e}"))?;
            } else {
                return Err(format!("{path} does not exist (not mounted?)"));
            }
        }
        let id = match std::fs::read_to_string(&marker_path)
            .ok()
            .map(|s| s.trim().to_string())
        {
            Some(id) if !id.is_empty() => id, // e.g. a database restored onto existing disks
            _ => {
                let id = db::new_id();
                write_marker(&marker_path, &id)
                    .map_err(|e| format!("cannot write {}: {e}", marker_path.display()))?;
                id
            }
        };
        db::volumes::insert_volume(
            conn,
            &self.name,
            &id,
            &self.path.display().to_string(),
            db::now_ms(),
        )
        .map_err(|e| format!("database: {e}"))?;
        Ok(id)
    }
}

fn write_marker(path: &Path, id: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(format!("{id}\n").as_bytes())?;
    f.sync_all()?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// What statvfs says about the filesystem holding a volume.
#[derive(Debug, Clone, Copy)]
pub struct FsStats {
    /// Bytes available to unprivileged writers.
    pub free: u64,
    pub total: u64,
    pub read_only: bool,
}

pub fn fs_stats(path: &Path) -> Option<FsStats> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and st a writable statvfs.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return None;
    }
    Some(FsStats {
        free: st.f_bavail as u64 * st.f_frsize as u64,
        total: st.f_blocks as u64 * st.f_frsize as u64,
        read_only: st.f_flag & libc::ST_RDONLY != 0,
    })
}

/// Bytes available to unprivileged writers on the filesystem holding `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and st a writable statvfs.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return None;
    }
    Some(st.f_bavail as u64 * st.f_frsize as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volumes(dir: &Path) -> Volumes {
        let config = Config {
            data_dir: dir.to_path_buf(),
            ..Config::default()
        };
        let db = Db::open(&config.db_path()).unwrap();
        Volumes::open(&config, &db).unwrap()
    }

    #[test]
    fn the_cached_look_reads_no_disk_and_a_fresh_look_updates_it() {
        let dir = tempfile::tempdir().unwrap();
        let vols = volumes(dir.path());
        assert!(vols.online_cached("default").is_ok(), "seeded at open");
        let marker = vols.get("default").unwrap().path.join(MARKER_FILE);
        let text = std::fs::read_to_string(&marker).unwrap();
        std::fs::remove_file(&marker).unwrap();
        // Within HEALTH_TTL the cached answer stands: the disk was not read.
        assert!(vols.online_cached("default").is_ok());
        // A writer's look reads the disk, and what it saw is what the cache says next.
        assert!(vols.online("default").is_err());
        assert!(vols.online_cached("default").is_err());
        std::fs::write(&marker, text).unwrap();
        assert!(vols.online("default").is_ok());
        assert!(vols.online_cached("default").is_ok());
    }

    #[test]
    fn a_marker_that_never_answers_holds_health_and_writers_one_second_at_most() {
        let dir = tempfile::tempdir().unwrap();
        let vols = volumes(dir.path());
        let marker = vols.get("default").unwrap().path.join(MARKER_FILE);
        let text = std::fs::read_to_string(&marker).unwrap();
        std::fs::remove_file(&marker).unwrap();
        // A FIFO nobody writes: open() waits, as on a disk in D-state.
        let c = std::ffi::CString::new(marker.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let start = Instant::now();
        let status = vols.status();
        let took = start.elapsed();
        let writer_start = Instant::now();
        let writer_saw = vols.is_online(vols.get("default").unwrap());
        let writer_took = writer_start.elapsed();
        // Answer the hung look (an empty read), then put the marker back.
        let fifo = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&marker)
            .unwrap();
        let back = marker.with_extension("back");
        std::fs::write(&back, &text).unwrap();
        std::fs::rename(&back, &marker).unwrap();
        drop(fifo);

        assert!(took < HEALTH_WAIT + Duration::from_millis(500), "{took:?}");
        assert!(!status[0].online);
        assert!(
            status[0]
                .problem
                .as_deref()
                .unwrap()
                .contains("has not answered"),
            "{status:?}"
        );
        assert!(
            !writer_saw,
            "a writer does not read a disk whose look hangs"
        );
        assert!(writer_took < HEALTH_WAIT + Duration::from_millis(500));
        // Answering again: the next report sees it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !vols.status()[0].online {
            assert!(Instant::now() < deadline, "back online");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
