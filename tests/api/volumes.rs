//! Volumes: an unplugged disk (marker missing) is reported and never written into; uploads go to
//! another enabled volume or fail with volume-offline.

use reqwest::StatusCode;

use crate::helpers::*;
use cloudvault::config::{Placement, VolumeConfig};

fn two_volumes(c: &mut cloudvault::config::Config, dir: &std::path::Path) {
    for name in ["usb1", "usb2"] {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        c.volumes.push(VolumeConfig::new(name, dir.join(name)));
    }
    c.placement = Placement::FirstFit;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unplugged_volume_is_never_written_and_uploads_go_elsewhere() {
    let app = spawn_app_with(two_volumes).await;
    let root = app.dir.path().to_path_buf();
    assert!(
        root.join("usb1/.cloudvault-volume").is_file(),
        "marker written at first use"
    );
    let u = app.register("vol").await;
    let on1 = app
        .upload_one(&u.token, "", "on-usb1.txt", b"first disk".to_vec())
        .await;
    assert_eq!(walk(&root.join("usb1/users")).len(), 1);

    // Unplug usb1 while the server runs: the mount point is left empty.
    std::fs::remove_dir_all(root.join("usb1")).unwrap();
    std::fs::create_dir(root.join("usb1")).unwrap();
    let on2 = app
        .upload_one(&u.token, "", "on-usb2.txt", b"second disk".to_vec())
        .await;
    assert_eq!(walk(&root.join("usb2/users")).len(), 1);
    assert!(
        walk(&root.join("usb1")).is_empty(),
        "nothing written into the empty mount point"
    );
    let r = app
        .get(
            &format!("/api/files/{}/download", on1["id"].as_str().unwrap()),
            &u.token,
        )
        .await;
    assert_error(r, StatusCode::SERVICE_UNAVAILABLE, "volume-offline").await;
    assert_eq!(
        app.download(&u.token, on2["id"].as_str().unwrap()).await,
        b"second disk"
    );

    // Restart with the disk still missing: reported at start-up, by the admin API and by fsck.
    let (dir, config) = app.stop().await;
    let app = start(dir, config).await;
    let admin = app.admin("root").await;
    let vols = app.get_json("/api/admin/volumes", &admin.token).await;
    let usb1 = vols["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "usb1")
        .unwrap()
        .clone();
    assert_eq!(usb1["online"], false);
    assert!(
        usb1["problem"].as_str().unwrap().contains("marker"),
        "{usb1}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cloudvault"))
        .args(["--config", "/dev/null", "--data"])
        .arg(&app.config.data_dir)
        .env(
            "CLOUDVAULT_VOLUMES",
            format!(
                "usb1={},usb2={}",
                root.join("usb1").display(),
                root.join("usb2").display()
            ),
        )
        .arg("fsck")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("volume usb1: OFFLINE"), "{stdout}");
    assert!(
        stdout.contains("volume usb1 is offline: 1 files"),
        "{stdout}"
    );
    assert!(
        walk(&root.join("usb1")).is_empty(),
        "fsck did not write there either"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_volume_offline_uploads_fail_cleanly() {
    let app = spawn_app_with(|c, d| {
        std::fs::create_dir_all(d.join("only")).unwrap();
        c.volumes.push(VolumeConfig::new("only", d.join("only")));
    })
    .await;
    let u = app.register("nodisk").await;
    let mount = app.dir.path().join("only");
    std::fs::remove_dir_all(&mount).unwrap();
    std::fs::create_dir(&mount).unwrap();
    let r = app
        .upload(&u.token, "", &[("x.txt", b"data".to_vec())])
        .await;
    assert_error(r, StatusCode::SERVICE_UNAVAILABLE, "volume-offline").await;
    assert!(walk(&mount).is_empty());
    assert_eq!(app.me(&u.token).await["used_bytes"], 0);
    assert_eq!(app.get_json("/api/files/", &u.token).await["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_volume_takes_no_new_files_but_serves_old_ones() {
    let app = spawn_app_with(two_volumes).await;
    let u = app.register("dis").await;
    let f = app
        .upload_one(&u.token, "", "old.txt", b"old".to_vec())
        .await;
    let (dir, mut config) = app.stop().await;
    config.volumes[0].enabled = false;
    let app = start(dir, config).await;
    let u = app.login("dis", PASSWORD).await;
    app.upload_one(&u.token, "", "new.txt", b"new".to_vec())
        .await;
    let root = app.dir.path().to_path_buf();
    assert_eq!(walk(&root.join("usb1/users")).len(), 1);
    assert_eq!(walk(&root.join("usb2/users")).len(), 1);
    assert_eq!(
        app.download(&u.token, f["id"].as_str().unwrap()).await,
        b"old"
    );
}

/// One HTTP/1.1 exchange from a plain thread (not the test runtime, whose workers also run the
/// server): the answer's text, or why none came within `timeout`.
fn exchange_from_thread(
    host: String,
    request: Vec<u8>,
    timeout: std::time::Duration,
) -> std::thread::JoinHandle<Result<(String, std::time::Duration), String>> {
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let start = std::time::Instant::now();
        let mut s = std::net::TcpStream::connect(&host).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(timeout)).unwrap();
        s.write_all(&request).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        match s.read_to_end(&mut out) {
            Ok(_) => Ok((String::from_utf8_lossy(&out).to_string(), start.elapsed())),
            Err(e) => Err(format!("no answer within {timeout:?}: {e}")),
        }
    })
}

fn raw(method_path: &str, host: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "{method_path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    let mut r = r.into_bytes();
    r.extend_from_slice(body);
    r
}

/// A disk that hangs (the marker's `open` never returns, as on a USB disk in D-state; here the
/// marker is a FIFO nobody writes) blocks no runtime thread: health answers within a second and
/// names it, uploads already under way on it go on, new files go to the other volume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_disk_stalls_no_request_and_health_says_so() {
    use base64::Engine;
    use std::time::Duration;
    let app = spawn_app_with(two_volumes).await;
    let root = app.dir.path().to_path_buf();
    let u = app.register("hang").await;
    let meta = format!(
        "filename {}",
        base64::engine::general_purpose::STANDARD.encode("t.bin")
    );
    let mut uploads = Vec::new();
    for _ in 0..3 {
        let r = app
            .client
            .post(app.url("/api/files/uploads"))
            .bearer_auth(&u.token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", "131072")
            .header("Upload-Metadata", meta.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        uploads.push(r.headers()["location"].to_str().unwrap().to_string());
    }
    assert_eq!(walk(&root.join("usb1/.cloudvault-tus")).len(), 3, "on usb1");

    // The disk hangs.
    let marker_path = root.join("usb1/.cloudvault-volume");
    let marker = std::fs::read_to_string(&marker_path).unwrap();
    std::fs::remove_file(&marker_path).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&marker_path)
        .status()
        .unwrap();
    assert!(made.success());

    let host = app.host().to_string();
    let wait = Duration::from_secs(10);
    let health = exchange_from_thread(host.clone(), raw("GET /healthz", &host, &[], b""), wait);
    let patches: Vec<_> = uploads
        .iter()
        .map(|url| {
            let headers = [
                ("Authorization", format!("Bearer {}", u.token)),
                ("Tus-Resumable", "1.0.0".to_string()),
                ("Upload-Offset", "0".to_string()),
                (
                    "Content-Type",
                    "application/offset+octet-stream".to_string(),
                ),
            ];
            let req = raw(&format!("PATCH {url}"), &host, &headers, &bytes(65536, 3));
            exchange_from_thread(host.clone(), req, wait)
        })
        .collect();
    let health = health.join().unwrap();
    let put = exchange_from_thread(
        host.clone(),
        raw(
            "PUT /dav/files/hang/during.txt",
            &host,
            &[("Authorization", basic("hang"))],
            b"written while usb1 hangs",
        ),
        wait,
    )
    .join()
    .unwrap();
    let patches: Vec<_> = patches.into_iter().map(|p| p.join().unwrap()).collect();

    // The disk answers again (before any assertion, so that a failing run ends too): whoever
    // waits in open() on the FIFO gets an empty read, then the marker is back in place.
    {
        let fifo = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&marker_path)
            .unwrap();
        let tmp = root.join("usb1/.marker-back");
        std::fs::write(&tmp, &marker).unwrap();
        std::fs::rename(&tmp, &marker_path).unwrap();
        drop(fifo);
    }

    let (text, took) = health.expect("/healthz answered");
    eprintln!("/healthz while usb1 hangs: {took:?}");
    assert!(took < Duration::from_secs(2), "/healthz took {took:?}");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let body: serde_json::Value =
        serde_json::from_str(text.split_once("\r\n\r\n").unwrap().1).unwrap();
    let usb1 = body["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "usb1")
        .unwrap()
        .clone();
    assert_eq!(usb1["online"], false, "{body}");
    assert!(
        usb1["problem"]
            .as_str()
            .unwrap()
            .contains("has not answered"),
        "{usb1}"
    );
    for p in patches {
        let (text, took) = p.expect("a PATCH to an upload on the hung disk answered");
        eprintln!("tus PATCH on usb1 while it hangs: {took:?}");
        assert!(text.starts_with("HTTP/1.1 204"), "{text}");
        assert!(took < Duration::from_secs(3), "PATCH took {took:?}");
    }
    let (text, took) = put.expect("a PUT while usb1 hangs answered");
    eprintln!("new WebDAV PUT (goes to usb2) while usb1 hangs: {took:?}");
    assert!(text.starts_with("HTTP/1.1 201"), "{text}");
    assert!(took < Duration::from_secs(3), "PUT took {took:?}");
    assert_eq!(
        walk(&root.join("usb2/users")).len(),
        1,
        "the new file is on usb2"
    );

    // Answering again: health sees usb1 online, without a restart.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let h = app.health().await;
        let online = h["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "usb1" && v["online"] == true);
        if online {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "usb1 back online: {h}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
