//! Files API: multipart upload, listing and pagination, metadata, download with Range and
//! conditional requests, name clashes, folders, rename/move, recursive delete.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_several_then_list_get_and_download() {
    let app = spawn_app().await;
    let u = app.register("alice").await;
    let a = bytes(300_000, 1);
    let b = bytes(10, 2);
    let res = app
        .upload(
            &u.token,
            "",
            &[
                ("a.bin", a.clone()),
                ("notes.txt", b.clone()),
                ("empty", vec![]),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    let files = body["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0]["size"], 300_000);
    assert_eq!(
        files[0]["content_hash"],
        blake3::hash(&a).to_hex().to_string()
    );
    assert_eq!(files[1]["content_type"], "text/plain");
    assert_eq!(files[2]["size"], 0);
    let id = files[0]["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "ids are UUIDs");

    let meta = app.get_json(&format!("/api/files/{id}"), &u.token).await;
    assert_eq!(meta["name"], "a.bin");
    assert_eq!(meta["kind"], "file");
    assert_eq!(app.download(&u.token, id).await, a);
    assert_eq!(
        app.download(&u.token, files[2]["id"].as_str().unwrap())
            .await,
        Vec::<u8>::new()
    );

    let list = app.get_json("/api/files/", &u.token).await;
    assert_eq!(list["total"], 3);
    assert_eq!(list["folder"]["kind"], "folder");
    assert_eq!(app.me(&u.token).await["used_bytes"], 300_010);
    // Bodies live as {volume}/users/{user_id}/files/{uuid}.{ext}.
    let disk = app.bodies_on_disk();
    assert_eq!(disk.len(), 3);
    let expected_dir = app.volume_path().join("users").join(&u.id).join("files");
    assert!(
        disk.iter()
            .all(|(p, _)| p.parent().unwrap() == expected_dir)
    );
    assert!(
        disk.iter()
            .any(|(p, s)| *s == 300_000 && p.extension().unwrap() == "bin")
    );
    assert_eq!(app.temp_files(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn download_honours_range_etag_and_disposition() {
    let app = spawn_app().await;
    let u = app.register("bob").await;
    let data = bytes(100_000, 7);
    let f = app
        .upload_one(&u.token, "", "Résumé \"final\".pdf", data.clone())
        .await;
    let path = format!("/api/files/{}/download", f["id"].as_str().unwrap());
    let full = app.get(&path, &u.token).await;
    let etag = full.headers()["etag"].to_str().unwrap().to_string();
    let last_modified = full.headers()["last-modified"]
        .to_str()
        .unwrap()
        .to_string();
    let cd = full.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(full.headers()["accept-ranges"], "bytes");
    assert_eq!(full.headers()["content-type"], "application/pdf");
    assert!(
        cd.contains("filename*=UTF-8''R%C3%A9sum%C3%A9%20%22final%22.pdf"),
        "{cd}"
    );
    assert!(cd.starts_with("attachment; filename=\""), "{cd}");

    let get = |h: &[(&str, &str)]| {
        let mut r = app.client.get(app.url(&path)).bearer_auth(&u.token);
        for (k, v) in h {
            r = r.header(*k, *v);
        }
        r.send()
    };
    let r = get(&[("range", "bytes=100-199")]).await.unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.headers()["content-range"], "bytes 100-199/100000");
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[100..200]);
    let r = get(&[("range", "bytes=-10")]).await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[99_990..]);
    let r = get(&[("range", "bytes=99990-")]).await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[99_990..]);
    let r = get(&[("range", "bytes=200000-")]).await.unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()["content-range"], "bytes */100000");
    let r = get(&[("if-none-match", &etag)]).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = get(&[("if-none-match", "\"other\"")]).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(&[("if-modified-since", &last_modified)]).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    // If-Range with a stale validator: the whole body, not a range of a changed file.
    let r = get(&[("range", "bytes=0-9"), ("if-range", "\"stale\"")])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(&[("range", "bytes=0-9"), ("if-range", &etag)])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    let head = app
        .client
        .head(app.url(&path))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "100000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_clashes_fail_keep_both_or_overwrite() {
    let app = spawn_app().await;
    let u = app.register("carol").await;
    let first = app
        .upload_one(&u.token, "", "photo.jpg", bytes(1000, 1))
        .await;
    let r = app
        .upload(&u.token, "", &[("photo.jpg", bytes(10, 2))])
        .await;
    assert_error(r, StatusCode::CONFLICT, "name-exists").await;
    // Names are exact: a case variant is another file, not a clash.
    let upper = app
        .upload_one(&u.token, "", "PHOTO.JPG", bytes(10, 2))
        .await;
    assert_ne!(upper["id"], first["id"]);
    assert_eq!(
        app.download(&u.token, first["id"].as_str().unwrap()).await,
        bytes(1000, 1)
    );
    let kept = app
        .upload_one(
            &u.token,
            "?on_conflict=keep_both",
            "photo.jpg",
            bytes(20, 3),
        )
        .await;
    assert_eq!(kept["name"], "photo (1).jpg");
    let kept2 = app
        .upload_one(
            &u.token,
            "?on_conflict=keep_both",
            "photo.jpg",
            bytes(30, 4),
        )
        .await;
    assert_eq!(kept2["name"], "photo (2).jpg");
    assert_eq!(app.me(&u.token).await["used_bytes"], 1060);

    let new_body = bytes(400, 9);
    let over = app
        .upload_one(
            &u.token,
            "?on_conflict=overwrite",
            "photo.jpg",
            new_body.clone(),
        )
        .await;
    assert_eq!(
        over["id"], first["id"],
        "overwrite keeps the id (tags, thumbnails hang off it)"
    );
    assert_ne!(over["etag"], first["etag"]);
    assert_eq!(
        app.download(&u.token, first["id"].as_str().unwrap()).await,
        new_body
    );
    // The replaced body is kept as a version, counted.
    assert_eq!(app.me(&u.token).await["used_bytes"], 1460);
    assert_eq!(app.bodies_on_disk().len(), 5);
    let v = app
        .get_json(
            &format!("/api/files/{}/versions", first["id"].as_str().unwrap()),
            &u.token,
        )
        .await;
    assert_eq!(v["items"][0]["size"], 1000);
    let r = app
        .upload(&u.token, "?on_conflict=sideways", &[("x", bytes(1, 1))])
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-query").await;
    // A clash rejected after streaming leaves nothing behind.
    assert_eq!(app.temp_files(), 0);
    assert_eq!(
        app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_rename_move_and_recursive_delete() {
    let app = spawn_app().await;
    let u = app.register("dan").await;
    let photos = app.mkdir(&u.token, None, "Photos").await;
    let pid = photos["id"].as_str().unwrap();
    let trip = app.mkdir(&u.token, Some(pid), "Trip").await;
    let tid = trip["id"].as_str().unwrap();
    let r = app
        .post_json(
            "/api/files/folders",
            Some(&u.token),
            json!({"parent_id": pid, "name": "Trip"}),
        )
        .await;
    assert_error(r, StatusCode::CONFLICT, "name-exists").await;

    let f1 = app
        .upload_one(&u.token, &format!("?folder={tid}"), "a.jpg", bytes(5000, 1))
        .await;
    app.upload_one(&u.token, &format!("?folder={tid}"), "b.jpg", bytes(7000, 2))
        .await;
    app.upload_one(&u.token, &format!("?folder={pid}"), "c.jpg", bytes(100, 3))
        .await;
    let listing = app
        .get_json(&format!("/api/files/?folder={tid}"), &u.token)
        .await;
    assert_eq!(listing["total"], 2);
    let names: Vec<&str> = listing["path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["", "Photos", "Trip"], "breadcrumbs from the root");

    // Rename and move are row updates: same id, same bytes.
    let f1id = f1["id"].as_str().unwrap();
    let r = app
        .client
        .patch(app.url(&format!("/api/files/{f1id}")))
        .bearer_auth(&u.token)
        .json(&json!({"name": "beach.jpg", "parent_id": "root"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let moved: Value = r.json().await.unwrap();
    assert_eq!(moved["name"], "beach.jpg");
    assert_eq!(app.download(&u.token, f1id).await, bytes(5000, 1));
    let root = app.get_json("/api/files/", &u.token).await;
    assert!(
        root["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "beach.jpg")
    );

    // A folder cannot go inside itself.
    let r = app
        .client
        .patch(app.url(&format!("/api/files/{pid}")))
        .bearer_auth(&u.token)
        .json(&json!({"parent_id": tid}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-move").await;
    let r = app
        .client
        .patch(app.url(&format!("/api/files/{tid}")))
        .bearer_auth(&u.token)
        .json(&json!({"name": "c.jpg", "parent_id": pid}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::CONFLICT, "name-exists").await;
    // Moving a whole folder keeps its contents.
    let r = app
        .client
        .patch(app.url(&format!("/api/files/{tid}")))
        .bearer_auth(&u.token)
        .json(&json!({"parent_id": "root", "name": "Trip 2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.get_json(&format!("/api/files/?folder={tid}"), &u.token)
            .await["total"],
        1
    );

    assert_eq!(app.me(&u.token).await["used_bytes"], 12_100);
    let r = app
        .client
        .delete(app.url(&format!("/api/files/{pid}")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["deleted_files"], 1);
    assert_eq!(d["trashed_bytes"], 100);
    assert_eq!(d["trash_id"], pid);
    let r = app
        .client
        .delete(app.url(&format!("/api/files/{tid}")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["deleted_files"], 1);
    // In the trash, still counted and on disk.
    assert_eq!(app.me(&u.token).await["used_bytes"], 12_100);
    assert_eq!(app.bodies_on_disk().len(), 3);
    let r = app.get(&format!("/api/files/{tid}"), &u.token).await;
    assert_error(r, StatusCode::NOT_FOUND, "not-found").await;
    let r = app
        .client
        .delete(app.url(&format!("/api/files/{f1id}")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Emptying the trash frees the space and unlinks the bodies.
    let r = app
        .client
        .delete(app.url("/api/trash"))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    let d: Value = r.json().await.unwrap();
    assert_eq!(d, json!({"deleted": 3, "freed_bytes": 12_100}));
    assert_eq!(app.me(&u.token).await["used_bytes"], 0);
    assert!(app.bodies_on_disk().is_empty());
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM blob_trash WHERE ?1 = ?1", "x"),
        0
    );
    // The root itself cannot be deleted.
    let root_id = root["folder"]["id"].as_str().unwrap();
    let r = app
        .client
        .delete(app.url(&format!("/api/files/{root_id}")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-delete").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_sorts_and_pages_stably() {
    let app = spawn_app().await;
    let u = app.register("eve").await;
    app.mkdir(&u.token, None, "zfolder").await;
    for (i, name) in ["b.txt", "a.txt", "d.txt", "c.txt", "e.txt"]
        .iter()
        .enumerate()
    {
        app.upload_one(&u.token, "", name, bytes(100 * (5 - i), 0))
            .await;
    }
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect()
    };
    let all = app.get_json("/api/files/?sort=name", &u.token).await;
    assert_eq!(
        names(&all),
        ["zfolder", "a.txt", "b.txt", "c.txt", "d.txt", "e.txt"],
        "folders first"
    );
    let desc = app
        .get_json("/api/files/?sort=size&order=desc", &u.token)
        .await;
    assert_eq!(
        names(&desc)[1..],
        ["b.txt", "a.txt", "d.txt", "c.txt", "e.txt"]
    );
    let by_date = app.get_json("/api/files/?sort=date", &u.token).await;
    assert_eq!(
        names(&by_date)[1..],
        ["b.txt", "a.txt", "d.txt", "c.txt", "e.txt"]
    );
    let mut paged = Vec::new();
    for offset in (0..6).step_by(2) {
        let p = app
            .get_json(
                &format!("/api/files/?sort=name&limit=2&offset={offset}"),
                &u.token,
            )
            .await;
        assert_eq!(p["total"], 6);
        paged.extend(names(&p));
    }
    assert_eq!(paged, names(&all));
    let r = app.get("/api/files/?limit=0", &u.token).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-query").await;
    let r = app.get("/api/files/?sort=colour", &u.token).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-query").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_picture_has_no_thumbnail() {
    let app = spawn_app().await;
    let u = app.register("fay").await;
    let f = app.upload_one(&u.token, "", "x.txt", bytes(10, 1)).await;
    let r = app
        .get(
            &format!("/api/files/{}/thumbnail", f["id"].as_str().unwrap()),
            &u.token,
        )
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "no-thumbnail").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_uploads_leave_nothing() {
    let app = spawn_app().await;
    let u = app.register("gus").await;
    let r = app
        .client
        .post(app.url("/api/files/upload"))
        .bearer_auth(&u.token)
        .body("plain")
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-multipart").await;
    // A multipart body cut off in the middle of a file.
    let body = "--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.bin\"\r\n\r\nsome bytes but no end";
    let r = app
        .client
        .post(app.url("/api/files/upload"))
        .bearer_auth(&u.token)
        .header("content-type", "multipart/form-data; boundary=XX")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-multipart").await;
    let r = app
        .client
        .post(app.url("/api/files/upload"))
        .bearer_auth(&u.token)
        .header("content-type", "multipart/form-data; boundary=XX")
        .body("--XX--\r\n")
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "no-files").await;
    wait_until(
        "temp files swept",
        std::time::Duration::from_secs(5),
        || app.temp_files() == 0,
    )
    .await;
    assert!(app.bodies_on_disk().is_empty());
    assert_eq!(app.me(&u.token).await["used_bytes"], 0);
    assert_eq!(
        app.sql_i64(
            "SELECT count(*) FROM nodes WHERE owner_id = ?1 AND kind = 'file'",
            &u.id
        ),
        0
    );
    let r = app.get("/api/nothing-here", &u.token).await;
    assert_error(r, StatusCode::NOT_FOUND, "no-such-route").await;
    let r = app
        .client
        .put(app.url("/api/files/upload"))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_mid_upload_leaves_nothing() {
    let app = spawn_app().await;
    let u = app.register("quitter").await;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async {
        rx.recv().await.map(|c| (c, rx))
    }));
    let upload = tokio::spawn({
        let req = app
            .client
            .post(app.url("/api/files/upload"))
            .bearer_auth(&u.token)
            .header("content-type", "multipart/form-data; boundary=B")
            .body(body);
        async move { req.send().await }
    });
    tx.send(Ok(
        b"--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"half.bin\"\r\n\r\n"
            .to_vec(),
    ))
    .await
    .unwrap();
    for i in 0..8u8 {
        tx.send(Ok(bytes(1 << 20, i))).await.unwrap();
    }
    wait_until("bytes on disk", std::time::Duration::from_secs(10), || {
        walk(&app.volume_path().join(".cloudvault-tmp"))
            .iter()
            .any(|(_, s)| *s > 0)
    })
    .await;
    assert!(
        app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id) > 0,
        "space is reserved while streaming"
    );
    upload.abort(); // the connection drops mid-body
    drop(tx);
    wait_until(
        "temp file and reservation released",
        std::time::Duration::from_secs(10),
        || {
            app.temp_files() == 0
                && app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id) == 0
        },
    )
    .await;
    assert!(app.bodies_on_disk().is_empty());
    assert_eq!(app.get_json("/api/files/", &u.token).await["total"], 0);
    assert_eq!(app.me(&u.token).await["used_bytes"], 0);
}
