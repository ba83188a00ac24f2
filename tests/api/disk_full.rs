//! Disk trouble on a real, small filesystem (a tmpfs mounted for the test; needs root — the
//! tests say so and stop when mounting is not allowed): a volume that fills to 100% during
//! uploads, a database whose disk fills, a volume remounted read-only. Uploads fail with clear
//! errors, nothing partial stays, the database and used_bytes stay consistent, and the server
//! recovers once space is freed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;
use cloudvault::config::{ByteSize, VolumeConfig};

/// A tmpfs of `mib` MiB at `path`, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: &Path, mib: u64) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).unwrap();
        let ok = unsafe { libc::geteuid() } == 0
            && std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
                .arg(path)
                .status()
                .is_ok_and(|s| s.success());
        if !ok {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs at {} (needs root); the disk-full tests did not run",
                path.display()
            );
            return None;
        }
        Some(Tmpfs(path.to_path_buf()))
    }

    fn remount(&self, opts: &str) {
        let s = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(s.success(), "remount {opts}");
    }

    /// Writes a new filler file until the filesystem is full (the last write fails with ENOSPC).
    fn fill(&self) -> PathBuf {
        let path = self.0.join(format!("filler-{}", uuid::Uuid::new_v4()));
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0x5au8; 64 << 10];
        loop {
            match f.write(&block) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => panic!("filling: {e}"),
            }
        }
        let _ = f.sync_all();
        assert_eq!(cloudvault::storage::volumes::free_bytes(&self.0), Some(0));
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

fn integrity(app: &TestApp) -> String {
    let c = app.app.db.conn().unwrap();
    c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_filled_during_uploads_refuses_them_cleanly_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&dir.path().join("disk"), 24) else {
        return;
    };
    let mut config = test_config(dir.path());
    let mut v = VolumeConfig::new("small", &disk.0);
    v.min_free = ByteSize(1 << 20);
    v.low_space = ByteSize(4 << 20);
    config.volumes.push(v);
    let app = start(dir, config).await;
    let u = app.register("filler").await;
    let keep = app
        .upload_one(&u.token, "", "keep.txt", b"kept through it all".to_vec())
        .await;
    let gone = app
        .upload_one(&u.token, "", "gone.txt", b"deleted while full".to_vec())
        .await;

    // Bigger than the disk, length known: refused before a byte is written.
    let r = app
        .upload(&u.token, "", &[("huge.bin", bytes(30 << 20, 1))])
        .await;
    assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "volume-full").await;
    app.assert_usage_consistent(&u).await;

    // Three uploads stream; meanwhile something else fills the disk to the last byte. Each has
    // 1 MiB on disk (the server writes in 1 MiB buffers) and 5 MiB still to come: the space two
    // refused uploads give back when their temp files go (at most ~2 MiB each) can never let the
    // third one finish, whatever order they fail in.
    let host = app.host().to_string();
    const FIRST: usize = 1 << 20;
    let bodies: Vec<Vec<u8>> = (0..3).map(|i| bytes(6 << 20, 10 + i)).collect();
    let mut conns = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let mut s = TcpStream::connect(&host).await.unwrap();
        let head = format!(
            "PUT /dav/files/filler/up{i}.bin HTTP/1.1\r\nHost: {host}\r\nAuthorization: {}\r\nContent-Length: {}\r\n\r\n",
            basic("filler"),
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&body[..FIRST]).await.unwrap();
        conns.push(s);
    }
    let tmp = app.volume_path().join(".cloudvault-tmp");
    wait_until("three uploads on disk", Duration::from_secs(20), || {
        cloudvault::storage::volumes::free_bytes(&disk.0).unwrap() < 24 << 20
            && std::fs::read_dir(&tmp)
                .map(|d| {
                    d.flatten()
                        .filter(|e| e.metadata().unwrap().len() > 0)
                        .count()
                })
                .unwrap_or(0)
                == 3
    })
    .await;
    let filler = disk.fill();
    let mut answers = Vec::new();
    for (mut s, body) in conns.into_iter().zip(&bodies) {
        let rest = body[FIRST..].to_vec();
        answers.push(tokio::spawn(async move {
            // The server may answer and close before taking the rest: a failed write is fine.
            let _ = s.write_all(&rest).await;
            let mut out = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out)).await;
            String::from_utf8_lossy(&out).to_string()
        }));
    }
    for a in answers {
        let answer = a.await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 507"),
            "expected 507 Insufficient Storage, got {answer:?}"
        );
    }
    // Nothing partial: no temp file, no body, no row; used_bytes and the disk agree.
    let used = app.assert_usage_consistent(&u).await;
    assert_eq!(
        used,
        (b"kept through it all".len() + b"deleted while full".len()) as i64
    );
    assert_eq!(integrity(&app), "ok");

    // The failed uploads' temp files are gone, which freed their space: full again.
    let filler2 = disk.fill();
    // While full: clear answers, health says so, deleting still works.
    let r = app
        .upload(&u.token, "", &[("more.txt", b"x".to_vec())])
        .await;
    assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "volume-full").await;
    let h: serde_json::Value = app.health().await;
    assert_eq!(h["status"], "degraded");
    assert_eq!(h["volumes"][0]["low_space"], true);
    assert_eq!(h["volumes"][0]["free_bytes"], 0);
    let r = app
        .client
        .delete(app.url(&format!("/api/files/{}", gone["id"].as_str().unwrap())))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "deleted");

    // Space freed: it works again, no restart.
    std::fs::remove_file(filler).unwrap();
    std::fs::remove_file(filler2).unwrap();
    let big = bytes(5 << 20, 42);
    let f = app.upload_one(&u.token, "", "after.bin", big.clone()).await;
    assert_eq!(app.download(&u.token, f["id"].as_str().unwrap()).await, big);
    assert_eq!(
        app.download(&u.token, keep["id"].as_str().unwrap()).await,
        b"kept through it all"
    );
    let h: serde_json::Value = app.health().await;
    assert_eq!(h["status"], "ok", "{h}");
    app.assert_usage_consistent(&u).await;

    // Remounted read-only (what a failing disk often gets): reads work, writes say why.
    disk.remount("ro");
    let r = app.upload(&u.token, "", &[("ro.txt", b"x".to_vec())]).await;
    assert_error(r, StatusCode::SERVICE_UNAVAILABLE, "volume-read-only").await;
    assert_eq!(app.download(&u.token, f["id"].as_str().unwrap()).await, big);
    let h: serde_json::Value = app.health().await;
    assert_eq!(h["volumes"][0]["read_only"], true);
    assert_eq!(h["status"], "down", "the only volume takes no files");
    disk.remount("rw");
    app.upload_one(&u.token, "", "rw-again.txt", b"ok".to_vec())
        .await;
    app.assert_usage_consistent(&u).await;
    assert_eq!(integrity(&app), "ok");
    let (_dir, _config) = app.stop().await;
    drop(disk);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_survives_its_disk_filling_up() {
    let dir = tempfile::tempdir().unwrap();
    // The default layout: database and files on one disk.
    let data = dir.path().join("data");
    let Some(disk) = Tmpfs::mount(&data, 16) else {
        return;
    };
    let mut config = test_config(dir.path());
    let mut v = VolumeConfig::new("default", data.join("volume"));
    // No safety margin: our own uploads fill the disk to the last byte.
    v.min_free = ByteSize(0);
    config.volumes.push(v);
    let app = start(dir, config).await;
    let u = app.register("dbfull").await;
    let mut uploaded = Vec::new();
    for i in 0..40 {
        let r = app
            .upload(
                &u.token,
                "",
                &[(&format!("f{i}.bin"), bytes(1 << 20, i as u8))],
            )
            .await;
        if r.status() == StatusCode::CREATED {
            let v: serde_json::Value = r.json().await.unwrap();
            uploaded.push(v["files"][0]["id"].as_str().unwrap().to_string());
            continue;
        }
        // The body took the last bytes (volume-full), or then the commit found no room for
        // the database's log (storage-full): either way a clear 507, and nothing half-done.
        assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["code"] == "volume-full" || body["code"] == "storage-full",
            "{body}"
        );
        eprintln!(
            "disk full after {} uploads: {}",
            uploaded.len(),
            body["code"]
        );
        break;
    }
    assert!(
        uploaded.len() >= 5 && uploaded.len() < 16,
        "{}",
        uploaded.len()
    );
    let filler = disk.fill();

    // Writes that need only the database: done, or a clear storage-full — never a 500.
    let r = app
        .post_json(
            "/api/files/folders",
            Some(&u.token),
            json!({"parent_id": null, "name": "new folder"}),
        )
        .await;
    let s = r.status();
    eprintln!("disk full: folder creation answered {s}");
    if s != StatusCode::CREATED {
        assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "storage-full").await;
    }
    let r = app
        .post_json(
            "/api/auth/login",
            None,
            json!({"username": "dbfull", "password": PASSWORD}),
        )
        .await;
    assert!(
        r.status() == StatusCode::OK || r.status() == StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        r.status()
    );
    // A delete needs room in the database's log too: done, or a clear storage-full. (With the
    // default min_free the server itself never takes the last bytes; here something else did.)
    let r = app
        .client
        .delete(app.url(&format!("/api/files/{}", uploaded[2])))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    eprintln!("disk full: delete answered {}", r.status());
    if r.status() != StatusCode::OK {
        assert_error(r, StatusCode::INSUFFICIENT_STORAGE, "storage-full").await;
    }
    // Reads work.
    assert_eq!(
        app.download(&u.token, &uploaded[0]).await,
        bytes(1 << 20, 0)
    );
    assert_eq!(integrity(&app), "ok");

    // Space back: everything works, and a restart finds a sound database.
    std::fs::remove_file(filler).unwrap();
    let r = app
        .client
        .delete(app.url(&format!("/api/files/{}", uploaded[1])))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "deleted");
    app.upload_one(&u.token, "", "after.txt", b"fine".to_vec())
        .await;
    app.assert_usage_consistent(&u).await;
    let (dir, config) = app.stop().await;
    let app = start(dir, config).await;
    assert_eq!(integrity(&app), "ok");
    let u = TestUser {
        token: app.login("dbfull", PASSWORD).await.token,
        ..u
    };
    app.assert_usage_consistent(&u).await;
    let out = crate::crash::cli(&app.config.data_dir)
        .arg("fsck")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (_dir, _config) = app.stop().await;
    drop(disk);
}
