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
