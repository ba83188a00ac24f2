//! The worker pool on real files: thumbnails and metadata after an upload (API and WebDAV),
//! failures that leave the file downloadable, deletes racing the queue, video through the real
//! ffmpeg, and the admin view of the queue.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

fn decode(bytes: &[u8]) -> image::DynamicImage {
    image::load_from_memory(bytes).expect("a decodable thumbnail")
}

#[tokio::test]
async fn an_uploaded_photo_gets_thumbnails_and_metadata() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let file = app
        .upload_one(
            &alice.token,
            "",
            "beach.jpg",
            jpeg_bytes(&picture(1600, 1200, [200, 120, 40])),
        )
        .await;
    let id = file["id"].as_str().unwrap();
    app.run_pending_jobs().await;

    let v = app
        .get_json(&format!("/api/files/{id}"), &alice.token)
        .await;
    assert_eq!(v["processing"], "done", "{v}");
    assert_eq!(v["has_thumbnail"], true);
    assert_eq!(v["media"]["kind"], "image");
    assert_eq!(v["media"]["width"], 1600);
    assert_eq!(v["media"]["height"], 1200);

    let listing = app.get_json("/api/files/", &alice.token).await;
    let entry = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(entry["has_thumbnail"], true);
    assert_eq!(entry["media"]["kind"], "image");

    for (size, max) in [("small", 256), ("large", 1440)] {
        let r = app
            .get(
                &format!("/api/files/{id}/thumbnail?size={size}"),
                &alice.token,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("private")
        );
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let img = decode(&r.bytes().await.unwrap());
        assert_eq!(img.width().max(img.height()), max, "{size} fits its box");
        assert_eq!(img.width() * 3, img.height() * 4, "aspect ratio kept");
        let again = app
            .client
            .get(app.url(&format!("/api/files/{id}/thumbnail?size={size}")))
            .bearer_auth(&alice.token)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }
    let r = app
        .get(
            &format!("/api/files/{id}/thumbnail?size=huge"),
            &alice.token,
        )
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-size").await;

    // Another user learns nothing.
    let bob = app.register("bob").await;
    let r = app
        .get(&format!("/api/files/{id}/thumbnail"), &bob.token)
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "not-found").await;
}

#[tokio::test]
async fn a_small_picture_is_not_upscaled_and_every_format_is_read() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let img = picture(120, 90, [30, 60, 200]);
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("small.jpg".into(), jpeg_bytes(&img)),
        ("small.png".into(), png_bytes(&img)),
    ];
    for (ext, fmt) in [
        ("gif", image::ImageFormat::Gif),
        ("bmp", image::ImageFormat::Bmp),
        ("tiff", image::ImageFormat::Tiff),
        ("webp", image::ImageFormat::WebP),
    ] {
        let mut out = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img.clone())
            .to_rgba8()
            .write_to(&mut out, fmt)
            .unwrap();
        files.push((format!("small.{ext}"), out.into_inner()));
    }
    let mut ids = Vec::new();
    for (name, bytes) in files {
        ids.push((
            name.clone(),
            app.upload_one(&alice.token, "", &name, bytes).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        ));
    }
    app.run_pending_jobs().await;
    for (name, id) in ids {
        let r = app
            .get(
                &format!("/api/files/{id}/thumbnail?size=large"),
                &alice.token,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{name}");
        let t = decode(&r.bytes().await.unwrap());
        assert_eq!((t.width(), t.height()), (120, 90), "{name} is not upscaled");
    }
}

#[tokio::test]
async fn broken_pictures_and_videos_fail_with_a_reason_and_stay_downloadable() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut truncated = jpeg_bytes(&picture(800, 600, [10, 200, 10]));
    truncated.truncate(truncated.len() / 3);
    let garbage = bytes(50_000, 7);
    let fake_video = bytes(200_000, 3);
    let mut ids = Vec::new();
    for (name, body) in [
        ("cut.jpg", truncated),
        ("noise.png", garbage),
        ("clip.mp4", fake_video),
    ] {
        let f = app.upload_one(&alice.token, "", name, body.clone()).await;
        ids.push((name, f["id"].as_str().unwrap().to_string(), body));
    }
    app.run_pending_jobs().await;
    let admin = app.admin("root").await;
    let jobs = app.get_json("/api/admin/jobs", &admin.token).await;
    for (name, id, body) in &ids {
        let (state, err) = app.job_state("media", id).unwrap();
        assert_eq!(state, "failed", "{name}");
        assert!(
            !err.clone().unwrap_or_default().is_empty(),
            "{name} has a reason"
        );
        let v = app
            .get_json(&format!("/api/files/{id}"), &alice.token)
            .await;
        assert_eq!(v["processing"], "failed");
        assert_eq!(v["has_thumbnail"], false);
        let r = app
            .get(&format!("/api/files/{id}/thumbnail"), &alice.token)
            .await;
        assert_error(r, StatusCode::NOT_FOUND, "no-thumbnail").await;
        assert_eq!(
            &app.download(&alice.token, id).await,
            body,
            "{name} downloads unchanged"
        );
        let failure = job_failure(&jobs, id);
        assert_eq!(failure["file_name"], *name);
        assert_eq!(failure["username"], "alice");
        assert!(failure["last_error"].as_str().unwrap().len() > 5);
    }
    assert!(
        app.thumbnails_on_disk().is_empty(),
        "no thumbnail left behind: {:?}",
        app.thumbnails_on_disk()
    );
    let counts = jobs["counts"].as_array().unwrap();
    assert!(
        counts
            .iter()
            .any(|c| c["kind"] == "media" && c["state"] == "failed" && c["count"] == 3),
        "{jobs}"
    );
    // Only admins see the queue.
    let r = app.get("/api/admin/jobs", &alice.token).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// A PNG header claiming 30000x30000 pixels (a decompression bomb needs no more to be refused).
fn bomb_png() -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(30000u32.to_be_bytes());
    ihdr.extend(30000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(&mut out, b"IHDR", &ihdr);
    // zlib stream of a few rows of zeros; the rest is missing, as a bomb's would be irrelevant.
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

#[tokio::test]
async fn a_decompression_bomb_is_refused_by_its_header() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let f = app
        .upload_one(&alice.token, "", "bomb.png", bomb_png())
        .await;
    let id = f["id"].as_str().unwrap();
    app.run_pending_jobs().await;
    let (state, err) = app.job_state("media", id).unwrap();
    assert_eq!(state, "failed");
    let err = err.unwrap();
    assert!(err.contains("30000") && err.contains("limit"), "{err}");
    assert!(app.thumbnails_on_disk().is_empty());
}

#[tokio::test]
async fn files_deleted_or_replaced_while_queued_leave_nothing_behind() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut ids = Vec::new();
    for i in 0..12u8 {
        let f = app
            .upload_one(
                &alice.token,
                "",
                &format!("p{i}.jpg"),
                jpeg_bytes(&picture(900, 700, [i * 20, 100, 50])),
            )
            .await;
        ids.push(f["id"].as_str().unwrap().to_string());
    }
    // Delete half while the queue is busy with them.
    for id in ids.iter().step_by(2) {
        let r = app
            .client
            .delete(app.url(&format!("/api/files/{id}")))
            .bearer_auth(&alice.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    // Replace one of the others with a picture of another size.
    let replaced = app
        .upload_one(
            &alice.token,
            "?on_conflict=overwrite",
            "p1.jpg",
            jpeg_bytes(&picture(500, 500, [1, 2, 3])),
        )
        .await;
    assert_eq!(replaced["id"], ids[1].as_str());
    app.run_pending_jobs().await;
    // The deleted pictures wait in the trash and the replaced body as a version, thumbnails and
    // all; once they go for good, so do their thumbnails.
    let r = app
        .client
        .delete(app.url("/api/trash"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let versions = app
        .get_json(&format!("/api/files/{}/versions", ids[1]), &alice.token)
        .await;
    for v in versions["items"].as_array().unwrap() {
        let r = app
            .client
            .delete(app.url(&format!(
                "/api/files/{}/versions/{}",
                ids[1],
                v["id"].as_str().unwrap()
            )))
            .bearer_auth(&alice.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }

    let survivors: Vec<&String> = ids.iter().skip(1).step_by(2).collect();
    let mut thumbs: Vec<String> = app
        .thumbnails_on_disk()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    thumbs.sort();
    assert_eq!(
        thumbs.len(),
        survivors.len() * 2,
        "two thumbnails per surviving picture, none for deleted ones: {thumbs:?}"
    );
    let c = app.app.db.conn().unwrap();
    for t in &thumbs {
        let blob = t.rsplit_once('-').unwrap().0;
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM nodes WHERE blob_id = ?1",
                [blob],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "{t} belongs to a live body");
    }
    for id in ids.iter().step_by(2) {
        for table in ["media", "jobs", "embeddings", "tags"] {
            let n: i64 = c
                .query_row(
                    &format!("SELECT count(*) FROM {table} WHERE node_id = ?1"),
                    [id],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 0, "{table} row of a deleted file");
        }
    }
    drop(c);
    let v = app
        .get_json(&format!("/api/files/{}", ids[1]), &alice.token)
        .await;
    assert_eq!(
        (v["media"]["width"].as_i64(), v["media"]["height"].as_i64()),
        (Some(500), Some(500)),
        "metadata of the new body"
    );
}

#[tokio::test]
async fn macos_bookkeeping_and_other_files_are_not_processed() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let img = jpeg_bytes(&picture(300, 200, [9, 9, 9]));
    let apple = app
        .upload_one(&alice.token, "", "._IMG_1.jpg", img.clone())
        .await;
    let text = app
        .upload_one(&alice.token, "", "notes.txt", b"hello".to_vec())
        .await;
    for f in [&apple, &text] {
        let id = f["id"].as_str().unwrap();
        assert!(
            app.job_state("media", id).is_none(),
            "{} is not queued",
            f["name"]
        );
        let v = app
            .get_json(&format!("/api/files/{id}"), &alice.token)
            .await;
        assert_eq!(v["processing"], Value::Null);
        let r = app
            .get(&format!("/api/files/{id}/thumbnail"), &alice.token)
            .await;
        assert_error(r, StatusCode::NOT_FOUND, "no-thumbnail").await;
    }
}

#[tokio::test]
async fn a_video_gets_a_frame_duration_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    for ext in ["mp4", "webm"] {
        let path = dir.path().join(format!("clip.{ext}"));
        let out = Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc=duration=3:size=320x240:rate=25",
                "-pix_fmt",
                "yuv420p",
            ])
            .arg(&path)
            .output()
            .expect("ffmpeg is installed (scripts/test.sh installs it)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let f = app
            .upload_one(
                &alice.token,
                "",
                &format!("clip.{ext}"),
                std::fs::read(&path).unwrap(),
            )
            .await;
        let id = f["id"].as_str().unwrap().to_string();
        app.run_pending_jobs().await;
        let v = app
            .get_json(&format!("/api/files/{id}"), &alice.token)
            .await;
        assert_eq!(v["processing"], "done", "{ext}: {v}");
        assert_eq!(v["media"]["kind"], "video");
        assert_eq!(
            (v["media"]["width"].as_i64(), v["media"]["height"].as_i64()),
            (Some(320), Some(240))
        );
        let d = v["media"]["duration_ms"].as_i64().unwrap();
        assert!((2900..=3100).contains(&d), "{ext} duration {d}");
        let r = app
            .get(
                &format!("/api/files/{id}/thumbnail?size=large"),
                &alice.token,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let t = decode(&r.bytes().await.unwrap());
        assert_eq!((t.width(), t.height()), (320, 240));
    }
}

#[tokio::test]
async fn a_photo_put_through_webdav_is_processed_like_an_upload() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let r = app
        .dav("PUT", "/dav/files/alice/cat.jpg", "alice", PASSWORD)
        .body(jpeg_bytes(&picture(640, 480, [90, 90, 90])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    app.run_pending_jobs().await;
    let listing = app.get_json("/api/files/", &alice.token).await;
    let f = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "cat.jpg")
        .unwrap()
        .clone();
    assert_eq!(f["has_thumbnail"], true);
    assert_eq!(f["media"]["width"], 640);
}
