//! tus 1.0 resumable uploads at /api/files/uploads: creation with the quota reserved up front,
//! PATCH/HEAD with offset checks, completion through the normal commit, resume after a dropped
//! connection and after a restart, termination and expiry giving the space back, isolation.

use base64::Engine;
use reqwest::{Response, StatusCode};
use std::time::Duration;

use crate::helpers::*;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn header(res: &Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

impl TestApp {
    async fn tus_create(&self, token: &str, length: u64, metadata: &str) -> Response {
        self.client
            .post(self.url("/api/files/uploads"))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", metadata)
            .send()
            .await
            .unwrap()
    }

    /// Creates an upload of `length` bytes named `name` and returns its URL path.
    async fn tus_start(&self, token: &str, name: &str, length: u64) -> String {
        let res = self
            .tus_create(
                token,
                length,
                &format!("filename {},filetype {}", b64(name), b64("image/jpeg")),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{:?}", res.text().await);
        assert_eq!(header(&res, "tus-resumable").as_deref(), Some("1.0.0"));
        assert!(header(&res, "upload-expires").is_some());
        header(&res, "location").expect("Location")
    }

    async fn tus_patch(&self, token: &str, url: &str, offset: u64, body: Vec<u8>) -> Response {
        self.client
            .patch(self.url(url))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn tus_head(&self, token: &str, url: &str) -> Response {
        self.client
            .head(self.url(url))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .unwrap()
    }

    async fn tus_offset(&self, token: &str, url: &str) -> u64 {
        let res = self.tus_head(token, url).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(header(&res, "cache-control").as_deref(), Some("no-store"));
        header(&res, "upload-offset").unwrap().parse().unwrap()
    }

    fn reserved(&self, user: &TestUser) -> i64 {
        self.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &user.id)
    }

    fn tus_files(&self) -> usize {
        std::fs::read_dir(self.volume_path().join(".cloudvault-tus"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

#[tokio::test]
async fn options_advertises_the_protocol() {
    let app = spawn_app().await;
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/files/uploads"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&res, "tus-resumable").as_deref(), Some("1.0.0"));
    assert_eq!(header(&res, "tus-version").as_deref(), Some("1.0.0"));
    let ext = header(&res, "tus-extension").unwrap();
    for e in ["creation", "termination", "expiration"] {
        assert!(ext.split(',').any(|x| x == e), "{ext}");
    }
    assert!(
        header(&res, "tus-max-size")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 1 << 30
    );
}

#[tokio::test]
async fn an_upload_in_chunks_becomes_a_file_like_any_other() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let folder = app.mkdir(&alice.token, None, "Photos").await;
    let folder_id = folder["id"].as_str().unwrap();
    let data = bytes(3 * 1024 * 1024 + 17, 7);
    let meta = format!(
        "filename {},folder {},filetype {}",
        b64("beach é.jpg"),
        b64(folder_id),
        b64("image/jpeg")
    );
    let res = app.tus_create(&alice.token, data.len() as u64, &meta).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let url = header(&res, "location").unwrap();
    assert!(url.starts_with("/api/files/uploads/"), "{url}");
    assert_eq!(
        app.reserved(&alice),
        data.len() as i64,
        "the whole length is reserved at creation"
    );

    let head = app.tus_head(&alice.token, &url).await;
    assert_eq!(
        header(&head, "upload-length").unwrap(),
        data.len().to_string()
    );
    assert_eq!(header(&head, "upload-offset").unwrap(), "0");
    assert_eq!(header(&head, "upload-metadata").unwrap(), meta);

    let mut offset = 0;
    for piece in data.chunks(1024 * 1024) {
        let res = app
            .tus_patch(&alice.token, &url, offset, piece.to_vec())
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        offset += piece.len() as u64;
        assert_eq!(header(&res, "upload-offset").unwrap(), offset.to_string());
        assert_eq!(app.tus_offset(&alice.token, &url).await, offset);
    }
    // The last PATCH committed the file: it is in the folder, counted, and nothing is reserved.
    let list = app
        .get_json(&format!("/api/files/?folder={folder_id}"), &alice.token)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let file = &list["items"][0];
    assert_eq!(file["name"], "beach é.jpg");
    assert_eq!(file["size"], data.len() as i64);
    assert_eq!(
        file["content_hash"],
        blake3::hash(&data).to_hex().to_string()
    );
    assert_eq!(
        app.download(&alice.token, file["id"].as_str().unwrap())
            .await,
        data
    );
    assert_eq!(app.assert_usage_consistent(&alice).await, data.len() as i64);
    assert_eq!(app.tus_files(), 0, "the upload's file became the body");
    let file_id = file["id"].as_str().unwrap();
    assert_eq!(
        app.sql_i64(
            "SELECT count(*) FROM jobs WHERE node_id = ?1 AND kind = 'media'",
            file_id
        ),
        1,
        "a picture that arrived by tus is queued for its thumbnail like any other"
    );

    // A client that lost the last answer learns from HEAD that the upload is complete.
    let head = app.tus_head(&alice.token, &url).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        header(&head, "upload-offset").unwrap(),
        data.len().to_string()
    );
    assert_eq!(
        header(&head, "cloudvault-file-id").as_deref(),
        file["id"].as_str()
    );
    // And it no longer counts as unfinished.
    let ups = app.get_json("/api/files/uploads", &alice.token).await;
    assert_eq!(ups["uploads"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn wrong_offset_is_409_and_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let url = app.tus_start(&alice.token, "a.bin", 1000).await;
    assert_eq!(
        app.tus_patch(&alice.token, &url, 0, bytes(400, 1))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    for wrong in [0u64, 399, 401, 1000] {
        let res = app
            .tus_patch(&alice.token, &url, wrong, bytes(100, 2))
            .await;
        assert_error(res, StatusCode::CONFLICT, "offset-mismatch").await;
    }
    assert_eq!(app.tus_offset(&alice.token, &url).await, 400);
    // More than the declared length is refused too, and the bytes before are kept.
    let res = app.tus_patch(&alice.token, &url, 400, bytes(601, 3)).await;
    assert_error(res, StatusCode::BAD_REQUEST, "exceeds-upload-length").await;
    assert_eq!(app.tus_offset(&alice.token, &url).await, 400);
}

#[tokio::test]
async fn protocol_errors_are_clear() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    // No Tus-Resumable: 412 with the versions we speak.
    let res = app
        .client
        .post(app.url("/api/files/uploads"))
        .bearer_auth(&alice.token)
        .header("Upload-Length", "5")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&res, "tus-version").as_deref(), Some("1.0.0"));
    assert_error(res, StatusCode::PRECONDITION_FAILED, "tus-version").await;
    // No length, no name, a bad name, a bad folder.
    let res = app
        .client
        .post(app.url("/api/files/uploads"))
        .bearer_auth(&alice.token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "invalid-length").await;
    assert_error(
        app.tus_create(&alice.token, 5, "filetype eA==").await,
        StatusCode::BAD_REQUEST,
        "invalid-metadata",
    )
    .await;
    assert_error(
        app.tus_create(&alice.token, 5, "filename !!!").await,
        StatusCode::BAD_REQUEST,
        "invalid-metadata",
    )
    .await;
    let res = app
        .tus_create(&alice.token, 5, &format!("filename {}", b64("../x")))
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let meta = format!(
        "filename {},folder {}",
        b64("x"),
        b64("3f0e4c1e-0000-4000-8000-000000000000")
    );
    assert_error(
        app.tus_create(&alice.token, 5, &meta).await,
        StatusCode::NOT_FOUND,
        "folder-not-found",
    )
    .await;
    // Without a token.
    let res = app
        .client
        .post(app.url("/api/files/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "5")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // PATCH with the wrong content type.
    let url = app.tus_start(&alice.token, "a.bin", 10).await;
    let res = app
        .client
        .patch(app.url(&url))
        .bearer_auth(&alice.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/octet-stream")
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    assert_error(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;
    assert_eq!(app.temp_files(), 0);
}

#[tokio::test]
async fn quota_is_checked_and_reserved_at_creation() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    app.set_quota(&alice, 10_000);
    let res = app
        .tus_create(
            &alice.token,
            10_001,
            &format!("filename {}", b64("big.bin")),
        )
        .await;
    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE, "quota-exceeded").await;
    assert_eq!(app.reserved(&alice), 0);
    assert_eq!(app.tus_files(), 0, "a refused upload leaves no file");

    let _first = app.tus_start(&alice.token, "a.bin", 6_000).await;
    // The first upload's space is held: the second does not fit, not even in a multipart upload.
    let res = app
        .tus_create(&alice.token, 5_000, &format!("filename {}", b64("b.bin")))
        .await;
    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE, "quota-exceeded").await;
    let res = app
        .upload(&alice.token, "", &[("c.bin", bytes(5_000, 1))])
        .await;
    assert_error(res, StatusCode::PAYLOAD_TOO_LARGE, "quota-exceeded").await;
    let _second = app.tus_start(&alice.token, "b.bin", 4_000).await;
    assert_eq!(app.reserved(&alice), 10_000);
}

#[tokio::test]
async fn name_clashes_follow_on_conflict() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    app.upload_one(&alice.token, "", "a.txt", b"old".to_vec())
        .await;
    let res = app
        .tus_create(&alice.token, 3, &format!("filename {}", b64("a.txt")))
        .await;
    assert_error(res, StatusCode::CONFLICT, "name-exists").await;
    let res = app
        .tus_create(
            &alice.token,
            3,
            &format!("filename {},on_conflict {}", b64("a.txt"), b64("keep_both")),
        )
        .await;
    let url = header(&res, "location").unwrap();
    let res = app.tus_patch(&alice.token, &url, 0, b"new".to_vec()).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let names: Vec<String> = app
        .all_nodes(&alice.token)
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(names, ["/a (1).txt", "/a.txt"]);
}

#[tokio::test]
async fn an_empty_file_is_finished_at_creation() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let res = app
        .tus_create(&alice.token, 0, &format!("filename {}", b64("empty.txt")))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(header(&res, "cloudvault-file-id").is_some());
    let nodes = app.all_nodes(&alice.token).await;
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].1["size"], 0);
    app.assert_usage_consistent(&alice).await;
}

#[tokio::test]
async fn other_users_cannot_see_or_touch_an_upload() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let url = app.tus_start(&alice.token, "secret.jpg", 100).await;
    assert_eq!(
        app.tus_head(&bob.token, &url).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_error(
        app.tus_patch(&bob.token, &url, 0, bytes(100, 1)).await,
        StatusCode::NOT_FOUND,
        "upload-not-found",
    )
    .await;
    let res = app
        .client
        .delete(app.url(&url))
        .bearer_auth(&bob.token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let ups = app.get_json("/api/files/uploads", &bob.token).await;
    assert_eq!(ups["uploads"].as_array().unwrap().len(), 0);
    // Alice's upload is untouched.
    assert_eq!(app.tus_offset(&alice.token, &url).await, 0);
    let ups = app.get_json("/api/files/uploads", &alice.token).await;
    assert_eq!(ups["uploads"][0]["filename"], "secret.jpg");
    assert_eq!(ups["uploads"][0]["metadata"]["filetype"], "image/jpeg");
}

#[tokio::test]
async fn termination_gives_the_space_back() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let url = app.tus_start(&alice.token, "a.bin", 5000).await;
    app.tus_patch(&alice.token, &url, 0, bytes(2000, 1)).await;
    assert_eq!(app.reserved(&alice), 5000);
    assert_eq!(app.tus_files(), 1);
    let res = app
        .client
        .delete(app.url(&url))
        .bearer_auth(&alice.token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.reserved(&alice), 0);
    assert_eq!(app.tus_files(), 0);
    assert_eq!(
        app.tus_head(&alice.token, &url).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_error(
        app.tus_patch(&alice.token, &url, 2000, bytes(10, 1)).await,
        StatusCode::NOT_FOUND,
        "upload-not-found",
    )
    .await;
}

#[tokio::test]
async fn expiry_gives_the_space_back() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let stale = app.tus_start(&alice.token, "stale.bin", 3000).await;
    app.tus_patch(&alice.token, &stale, 0, bytes(1000, 1)).await;
    let fresh = app.tus_start(&alice.token, "fresh.bin", 500).await;
    let stale_id = stale.rsplit('/').next().unwrap();
    {
        let conn = app.app.db.conn().unwrap();
        conn.execute(
            "UPDATE tus_uploads SET expires_at = 1 WHERE id = ?1",
            [stale_id],
        )
        .unwrap();
    }
    // An expired upload answers like a missing one even before the sweep runs.
    assert_eq!(
        app.tus_head(&alice.token, &stale).await.status(),
        StatusCode::NOT_FOUND
    );
    app.app.uploads.expire_stale().await.unwrap();
    assert_eq!(
        app.reserved(&alice),
        500,
        "only the fresh upload holds space"
    );
    assert_eq!(app.tus_files(), 1);
    assert_eq!(app.tus_offset(&alice.token, &fresh).await, 0);
    // A file that no upload owns (left by a crash) is swept too.
    std::fs::write(
        app.volume_path().join(".cloudvault-tus").join("orphan"),
        b"x",
    )
    .unwrap();
    app.app.uploads.expire_stale().await.unwrap();
    assert_eq!(app.tus_files(), 1);
}

#[tokio::test]
async fn an_upload_resumes_after_a_server_restart() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let data = bytes(2 * 1024 * 1024 + 5, 9);
    let url = app
        .tus_start(&alice.token, "movie.mp4", data.len() as u64)
        .await;
    let half = data.len() / 2;
    assert_eq!(
        app.tus_patch(&alice.token, &url, 0, data[..half].to_vec())
            .await
            .status(),
        StatusCode::NO_CONTENT
    );

    let (dir, config) = app.stop().await;
    let app = start(dir, config).await;
    assert_eq!(
        app.reserved(&alice),
        data.len() as i64,
        "recovery keeps the upload's reservation"
    );
    assert_eq!(app.tus_offset(&alice.token, &url).await, half as u64);
    let res = app
        .tus_patch(&alice.token, &url, half as u64, data[half..].to_vec())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let id = header(&res, "cloudvault-file-id").unwrap();
    let file = app
        .get_json(&format!("/api/files/{id}"), &alice.token)
        .await;
    // The hash covers the bytes from before the restart too (hashed again from disk).
    assert_eq!(
        file["content_hash"],
        blake3::hash(&data).to_hex().to_string()
    );
    assert_eq!(app.download(&alice.token, &id).await, data);
    app.assert_usage_consistent(&alice).await;
}

/// A PATCH whose connection drops keeps the bytes that arrived, so the client resumes there.
#[tokio::test]
async fn a_dropped_connection_keeps_what_arrived() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let data = bytes(3 * 1024 * 1024, 4);
    let url = app
        .tus_start(&alice.token, "a.bin", data.len() as u64)
        .await;
    let sent = 1024 * 1024 + 300;
    let mut s = tokio::net::TcpStream::connect(app.host()).await.unwrap();
    let head = format!(
        "PATCH {url} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n\
         Content-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
        app.host(),
        alice.token,
        data.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&data[..sent]).await.unwrap();
    s.flush().await.unwrap();
    drop(s);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while app.tus_offset(&alice.token, &url).await != sent as u64 {
        assert!(
            std::time::Instant::now() < deadline,
            "the received bytes were not recorded"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let res = app
        .tus_patch(&alice.token, &url, sent as u64, data[sent..].to_vec())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let id = header(&res, "cloudvault-file-id").unwrap();
    assert_eq!(app.download(&alice.token, &id).await, data);

    // A declared body over 100 MB is refused before it is read.
    let url = app.tus_start(&alice.token, "b.bin", 200_000_000).await;
    let mut s = tokio::net::TcpStream::connect(app.host()).await.unwrap();
    let head = format!(
        "PATCH {url} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n\
         Content-Type: application/offset+octet-stream\r\nContent-Length: 100000001\r\n\r\n",
        app.host(),
        alice.token
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut out = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut out))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&out[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("body-too-large"), "{text}");
    assert_eq!(app.tus_offset(&alice.token, &url).await, 0);
}
