//! Backup → wipe → restore with the real binary: files byte-identical, database content
//! identical, and a second backup links unchanged bodies instead of copying them.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use reqwest::StatusCode;

use crate::crash::cli;
use crate::helpers::*;

/// Every table's rows, in a stable order, as text.
fn dump(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = c
        // The name search index is derived data, rebuilt by restore: its pages differ, its
        // answers do not (fsck checks it against the files below).
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'nodes_fts%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let mut st = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut rows: Vec<String> = st
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.extend(rows.into_iter().map(|r| format!("{t}: {r}")));
    }
    out
}

fn run(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_wipe_restore_round_trip() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let folder = app.mkdir(&alice.token, None, "Photos").await;
    let mut files = Vec::new();
    for (user, name, body) in [
        (&alice, "a.bin", bytes(300_000, 1)),
        (&alice, "ünï.txt", b"hello".to_vec()),
        (&bob, "b.jpg", jpeg_bytes(&picture(400, 300, [200, 10, 10]))),
    ] {
        let f = app.upload_one(&user.token, "", name, body.clone()).await;
        files.push((
            user.token.clone(),
            f["id"].as_str().unwrap().to_string(),
            body,
        ));
    }
    let inner = app
        .upload_one(
            &alice.token,
            &format!("?folder={}", folder["id"].as_str().unwrap()),
            "in.txt",
            b"inside".to_vec(),
        )
        .await;
    files.push((
        alice.token.clone(),
        inner["id"].as_str().unwrap().to_string(),
        b"inside".to_vec(),
    ));
    app.run_pending_jobs().await;
    // An earlier version and a trashed file come along.
    let old_a = files[0].2.clone();
    files[0].2 = bytes(200_000, 2);
    let over = app
        .upload_one(
            &alice.token,
            "?on_conflict=overwrite",
            "a.bin",
            files[0].2.clone(),
        )
        .await;
    assert_eq!(over["id"], files[0].1.as_str());
    let (_, trashed_id, trashed_body) = files.remove(1);
    let r = app
        .client
        .delete(app.url(&format!("/api/files/{trashed_id}")))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let data = app.config.data_dir.clone();
    let dest = app.dir.path().join("backups");
    // The backup runs while the server is up.
    let out = run(cli(&data).arg("backup").arg(&dest).arg("--files"));
    assert!(out.contains("backup written to"), "{out}");
    let before = dump(&data.join("cloudvault.db"));
    let (dir, config) = app.stop().await;

    std::fs::remove_dir_all(&data).unwrap();
    let out = run(cli(&data).arg("restore").arg(&dest));
    assert!(out.contains("restored"), "{out}");
    assert_eq!(
        dump(&data.join("cloudvault.db")),
        before,
        "database content identical"
    );
    let out = run(cli(&data).arg("fsck"));
    assert!(out.contains("store consistent"), "{out}");
    // Restoring over a live database is refused without --force.
    let out = cli(&data).arg("restore").arg(&dest).output().unwrap();
    assert!(!out.status.success());

    let app = start(dir, config).await;
    for (token, id, body) in &files {
        assert_eq!(
            &app.download(token, id).await,
            body,
            "byte-identical after restore"
        );
    }
    let a_id = &files[0].1;
    let v = app
        .get_json(&format!("/api/files/{a_id}/versions"), &alice.token)
        .await;
    let vid = v["items"][0]["id"].as_str().unwrap();
    let r = app
        .get(
            &format!("/api/files/{a_id}/versions/{vid}/content"),
            &alice.token,
        )
        .await;
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        old_a.as_slice(),
        "the version is whole"
    );
    let r = app
        .client
        .post(app.url(&format!("/api/trash/{trashed_id}/restore")))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.download(&alice.token, &trashed_id).await, trashed_body);
    // Sessions survive (the JWT secret came back), and thumbnails too.
    let jpg = &files[1].1;
    let r = app
        .get(&format!("/api/files/{jpg}/thumbnail"), &bob.token)
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // An incremental backup links what did not change.
    let c = app
        .upload_one(&alice.token, "", "new.bin", bytes(1000, 9))
        .await;
    assert!(c["id"].is_string());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await; // backups are named by the second
    let out = run(cli(&data).arg("backup").arg(&dest).arg("--files"));
    assert!(
        out.contains("1 files copied"),
        "only the new body is copied: {out}"
    );
    let mut backups: Vec<_> = std::fs::read_dir(&dest)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("cloudvault-"))
        .map(|e| e.path())
        .collect();
    assert_eq!(backups.len(), 2);
    backups.sort(); // by time: the first one's bodies are all linked from the second
    let body = walk(&backups[0].join("volumes"))
        .into_iter()
        .find(|(p, _)| p.to_string_lossy().ends_with(".bin"))
        .unwrap()
        .0;
    assert!(
        std::fs::metadata(&body).unwrap().nlink() >= 2,
        "unchanged bodies are hard links"
    );
}
