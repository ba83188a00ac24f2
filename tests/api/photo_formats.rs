//! Phone and camera formats through the real server: HEIC made by Debian's `heif-enc` from a JPEG
//! carrying EXIF, an iPhone-style grid HEIC with a rotation (re-muxed by
//! `tests/fixtures/heif_remux.py`), AVIF, DNGs with and without a preview
//! (`tests/fixtures/make_dng.py`); uploaded through the API and WebDAV, processed by the worker
//! pool, read back as a user sees them.

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;
use crate::photo_fixtures::{ascii, field, heif_enc, heif_remux, make_dng, rationals, splice_exif};

/// 1600x1200 stored, a red block in the top-left quarter, the rest grey-blue.
fn stored_picture() -> image::RgbImage {
    image::RgbImage::from_fn(1600, 1200, |x, y| {
        if x < 400 && y < 300 {
            image::Rgb([230, 20, 20])
        } else {
            image::Rgb([60, 110, 170])
        }
    })
}

/// A JPEG of `img` with EXIF as an iPhone writes it: orientation 6 (turn clockwise to show), a date
/// with its offset, the camera, and a place (48° 51' 29.6" N, 2° 17' 40.2" E: Paris).
fn jpeg_with_phone_exif(img: &image::RgbImage) -> Vec<u8> {
    use exif::Tag;
    let fields = [
        field(Tag::Orientation, exif::Value::Short(vec![6])),
        field(Tag::DateTimeOriginal, ascii("2023:07:14 21:05:09")),
        field(Tag::OffsetTimeOriginal, ascii("+02:00")),
        field(Tag::Make, ascii("Apple")),
        field(Tag::Model, ascii("iPhone 15 Pro")),
        field(Tag::GPSLatitudeRef, ascii("N")),
        field(Tag::GPSLatitude, rationals(&[(48, 1), (51, 1), (296, 10)])),
        field(Tag::GPSLongitudeRef, ascii("E")),
        field(Tag::GPSLongitude, rationals(&[(2, 1), (17, 1), (402, 10)])),
    ];
    splice_exif(&jpeg_bytes(img), &fields)
}

/// An iPhone-style HEIC: the stored picture as a 2x2 grid of HEVC tiles, `irot` turning it
/// clockwise, and the EXIF (orientation 6 too) of `exif_from`.
fn grid_heic(dir: &Path, exif_from: &Path) -> PathBuf {
    let full = stored_picture();
    let mut args: Vec<String> = vec!["grid".into()];
    let out = dir.join("IMG_0002.HEIC");
    args.extend([out.display().to_string(), "1600".into(), "1200".into()]);
    args.extend(["2".into(), "2".into(), exif_from.display().to_string()]);
    for (i, (x, y)) in [(0, 0), (800, 0), (0, 600), (800, 600)]
        .into_iter()
        .enumerate()
    {
        let tile = image::imageops::crop_imm(&full, x, y, 800, 600).to_image();
        let t = heif_enc(dir, &format!("tile{i}.heic"), &jpeg_bytes(&tile), false);
        args.push(t.display().to_string());
    }
    args.extend(["--irot".into(), "3".into()]);
    heif_remux(&args.iter().map(String::as_str).collect::<Vec<_>>());
    out
}

async fn file_by_name(app: &TestApp, token: &str, name: &str) -> Value {
    let listing = app.get_json("/api/files/", token).await;
    let id = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {listing}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.get_json(&format!("/api/files/{id}"), token).await
}

fn is_red(p: [u8; 3]) -> bool {
    p[0] > 170 && p[1] < 90 && p[2] < 90
}

#[tokio::test]
async fn heic_and_avif_from_phones_get_upright_thumbnails_and_their_exif() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let dir = tempfile::tempdir().unwrap();
    let jpeg = jpeg_with_phone_exif(&stored_picture());
    let heic = heif_enc(dir.path(), "IMG_0001.HEIC", &jpeg, false);
    let avif = heif_enc(dir.path(), "sunset.avif", &jpeg, true);
    let grid = grid_heic(dir.path(), &heic);

    // Through the API, and through WebDAV (as a phone's WebDAV app or rclone would).
    for p in [&heic, &avif] {
        let name = p.file_name().unwrap().to_str().unwrap();
        app.upload_one(&alice.token, "", name, std::fs::read(p).unwrap())
            .await;
    }
    let r = app
        .dav("PUT", "/dav/files/alice/IMG_0002.HEIC", "alice", PASSWORD)
        .body(std::fs::read(&grid).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    app.run_pending_jobs().await;

    for name in ["IMG_0001.HEIC", "sunset.avif", "IMG_0002.HEIC"] {
        let v = file_by_name(&app, &alice.token, name).await;
        assert_eq!(v["processing"], "done", "{name}: {v}");
        assert_eq!(v["has_thumbnail"], true, "{name}");
        let m = &v["media"];
        assert_eq!(m["kind"], "image", "{name}");
        assert_eq!(
            (m["width"].as_i64(), m["height"].as_i64()),
            (Some(1200), Some(1600)),
            "{name}: size as displayed"
        );
        // 21:05:09 at +02:00 is 19:05:09 UTC.
        assert_eq!(m["taken_at"], "2023-07-14T19:05:09.000Z", "{name}");
        assert_eq!(m["camera_make"], "Apple", "{name}");
        assert_eq!(m["camera_model"], "iPhone 15 Pro", "{name}");
        let (lat, lon) = (
            m["gps_lat"].as_f64().unwrap(),
            m["gps_lon"].as_f64().unwrap(),
        );
        assert!((lat - 48.858_222).abs() < 1e-5, "{name}: lat {lat}");
        assert!((lon - 2.294_5).abs() < 1e-5, "{name}: lon {lon}");

        let id = v["id"].as_str().unwrap();
        for (size, w, h) in [("small", 192, 256), ("large", 1080, 1440)] {
            let r = app
                .get(
                    &format!("/api/files/{id}/thumbnail?size={size}"),
                    &alice.token,
                )
                .await;
            assert_eq!(r.status(), StatusCode::OK, "{name} {size}");
            assert_eq!(r.headers()["content-type"], "image/jpeg");
            let img = image::load_from_memory(&r.bytes().await.unwrap())
                .unwrap()
                .into_rgb8();
            assert_eq!(img.dimensions(), (w, h), "{name} {size}");
            // Turned clockwise once: the red block is top-right, nowhere else.
            let (x_right, y_low) = (w - 10, h - 10);
            assert!(
                is_red(img.get_pixel(x_right, 10).0),
                "{name} {size}: top-right is red"
            );
            for (x, y) in [(10, 10), (10, y_low), (x_right, y_low)] {
                assert!(
                    !is_red(img.get_pixel(x, y).0),
                    "{name} {size}: ({x},{y}) is not red"
                );
            }
        }
        // The original downloads unchanged.
        let body = app.download(&alice.token, id).await;
        let src = match name {
            "IMG_0001.HEIC" => &heic,
            "sunset.avif" => &avif,
            _ => &grid,
        };
        assert_eq!(body, std::fs::read(src).unwrap(), "{name}");
    }
}

#[tokio::test]
async fn a_broken_heic_fails_its_job_with_a_reason_the_admin_sees() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let dir = tempfile::tempdir().unwrap();
    let heic = heif_enc(
        dir.path(),
        "a.heic",
        &jpeg_bytes(&picture(640, 480, [20, 90, 200])),
        false,
    );
    let mut cut = std::fs::read(&heic).unwrap();
    cut.truncate(cut.len() / 2);
    let f = app
        .upload_one(&alice.token, "", "IMG_0003.HEIC", cut.clone())
        .await;
    let id = f["id"].as_str().unwrap();
    app.run_pending_jobs().await;
    let (state, err) = app.job_state("media", id).unwrap();
    assert_eq!(state, "failed");
    let err = err.unwrap();
    assert!(err.starts_with("corrupt image: HEIF"), "{err}");
    let admin = app.admin("root").await;
    let jobs = app.get_json("/api/admin/jobs", &admin.token).await;
    let failure = job_failure(&jobs, id);
    assert_eq!(failure["file_name"], "IMG_0003.HEIC");
    assert_eq!(failure["last_error"], err.as_str());
    let r = app
        .get(&format!("/api/files/{id}/thumbnail"), &alice.token)
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "no-thumbnail").await;
    assert_eq!(app.download(&alice.token, id).await, cut);
}

#[tokio::test]
async fn formats_it_cannot_read_fail_their_job_with_the_readme_reason() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let refused: Vec<_> = cloudvault::media::formats::FORMATS
        .iter()
        .filter(|f| f.refused.is_some())
        .collect();
    assert!(refused.len() >= 3);
    let mut ids = Vec::new();
    for f in &refused {
        let name = format!("photo.{}", f.exts[0].to_uppercase());
        let body = bytes(4_000, 9);
        let up = app.upload_one(&alice.token, "", &name, body.clone()).await;
        ids.push((
            name,
            up["id"].as_str().unwrap().to_string(),
            body,
            f.refused.unwrap(),
        ));
    }
    app.run_pending_jobs().await;
    let admin = app.admin("root").await;
    let jobs = app.get_json("/api/admin/jobs", &admin.token).await;
    for (name, id, body, why) in &ids {
        let (state, err) = app.job_state("media", id).unwrap();
        assert_eq!(state, "failed", "{name}");
        assert_eq!(err.as_deref(), Some(*why), "{name}");
        let failure = job_failure(&jobs, id);
        assert_eq!(failure["last_error"], *why);
        let v = app
            .get_json(&format!("/api/files/{id}"), &alice.token)
            .await;
        assert_eq!(v["processing"], "failed", "{name}");
        assert_eq!(&app.download(&alice.token, id).await, body, "{name}");
    }
}

#[tokio::test]
async fn a_dng_shows_its_preview_and_one_without_says_why_not() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let dir = tempfile::tempdir().unwrap();
    let with = make_dng(
        dir.path(),
        "IMG_0100.DNG",
        Some(&jpeg_bytes(&stored_picture())),
    );
    let without = make_dng(dir.path(), "bare.dng", None);
    for (name, p) in [("IMG_0100.DNG", &with), ("bare.dng", &without)] {
        let r = app
            .dav(
                "PUT",
                &format!("/dav/files/alice/{name}"),
                "alice",
                PASSWORD,
            )
            .body(std::fs::read(p).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    app.run_pending_jobs().await;

    let v = file_by_name(&app, &alice.token, "IMG_0100.DNG").await;
    assert_eq!(v["processing"], "done", "{v}");
    let m = &v["media"];
    assert_eq!(
        (m["width"].as_i64(), m["height"].as_i64()),
        (Some(1200), Some(1600))
    );
    assert_eq!(m["taken_at"], "2022-12-24T23:45:00.000Z");
    assert_eq!(m["camera_model"], "iPhone 14 Pro");
    assert!((m["gps_lat"].as_f64().unwrap() - 40.689_278).abs() < 1e-5);
    assert!((m["gps_lon"].as_f64().unwrap() - -74.044_5).abs() < 1e-5);
    let id = v["id"].as_str().unwrap();
    let r = app
        .get(
            &format!("/api/files/{id}/thumbnail?size=small"),
            &alice.token,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let img = image::load_from_memory(&r.bytes().await.unwrap())
        .unwrap()
        .into_rgb8();
    assert_eq!(img.dimensions(), (192, 256));
    assert!(
        is_red(img.get_pixel(182, 10).0),
        "turned by the DNG's orientation"
    );
    assert!(!is_red(img.get_pixel(10, 10).0));

    let v = file_by_name(&app, &alice.token, "bare.dng").await;
    assert_eq!(v["processing"], "failed", "{v}");
    let id = v["id"].as_str().unwrap();
    let (_, err) = app.job_state("media", id).unwrap();
    let err = err.unwrap();
    assert!(err.contains("without an embedded JPEG preview"), "{err}");
    let admin = app.admin("root").await;
    let jobs = app.get_json("/api/admin/jobs", &admin.token).await;
    assert_eq!(job_failure(&jobs, id)["last_error"], err.as_str());
    assert_eq!(
        app.download(&alice.token, id).await,
        std::fs::read(&without).unwrap()
    );
}

/// A `secs`-second clip as an iPhone's Live Photo half or a phone video (QuickTime or MP4).
fn video(dir: &Path, name: &str, secs: u32) -> PathBuf {
    let path = dir.join(name);
    let format = if name.to_lowercase().ends_with(".mov") {
        "mov"
    } else {
        "mp4"
    };
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=duration={secs}:size=320x240:rate=15"))
        .args(["-pix_fmt", "yuv420p", "-f", format])
        .arg(&path)
        .output()
        .expect("ffmpeg is installed (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

async fn dav_put(app: &TestApp, name: &str, body: Vec<u8>) {
    let r = app
        .dav(
            "PUT",
            &format!("/dav/files/alice/{name}"),
            "alice",
            PASSWORD,
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "PUT {name}: {}", r.status());
}

async fn dav_move(app: &TestApp, from: &str, to: &str) {
    let r = app
        .dav(
            "MOVE",
            &format!("/dav/files/alice/{from}"),
            "alice",
            PASSWORD,
        )
        .header("destination", format!("/dav/files/alice/{to}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "MOVE {from} {to}");
}

/// `(live_video_id, live_photo_id)` of every file of the root listing, by name.
async fn live_links(app: &TestApp, token: &str) -> Vec<(String, Value, Value)> {
    let listing = app.get_json("/api/files/?limit=1000", token).await;
    let mut out: Vec<_> = listing["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap().to_string(),
                f["live_video_id"].clone(),
                f["live_photo_id"].clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn a_live_photo_is_its_still_with_its_clip_and_the_pair_follows_every_change() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let dir = tempfile::tempdir().unwrap();
    let jpeg = jpeg_with_phone_exif(&stored_picture());
    let heic = heif_enc(dir.path(), "IMG_0001.HEIC", &jpeg, false);
    let clip = video(dir.path(), "IMG_0001.MOV", 3);
    let long = video(dir.path(), "holiday.mp4", 12);
    // As the iPhone's Files app or rclone copies them: the still and the clip side by side; and a
    // photo that shares its name with a long video (not a Live Photo).
    dav_put(&app, "IMG_0001.HEIC", std::fs::read(&heic).unwrap()).await;
    dav_put(&app, "IMG_0001.MOV", std::fs::read(&clip).unwrap()).await;
    dav_put(&app, "holiday.jpg", jpeg.clone()).await;
    dav_put(&app, "holiday.mp4", std::fs::read(&long).unwrap()).await;
    app.run_pending_jobs().await;

    let still = file_by_name(&app, &alice.token, "IMG_0001.HEIC").await;
    let mov = file_by_name(&app, &alice.token, "IMG_0001.MOV").await;
    let (still_id, mov_id) = (still["id"].as_str().unwrap(), mov["id"].as_str().unwrap());
    assert_eq!(still["live_video_id"], mov_id, "{still}");
    assert!(still.get("live_photo_id").is_none());
    assert_eq!(mov["live_photo_id"], still_id, "{mov}");
    assert!(mov.get("live_video_id").is_none());
    // The still is a photo like any other (upright, EXIF), the clip a video with its frame.
    assert_eq!(still["media"]["kind"], "image");
    assert_eq!(
        (
            still["media"]["width"].as_i64(),
            still["media"]["height"].as_i64()
        ),
        (Some(1200), Some(1600))
    );
    assert_eq!(still["media"]["taken_at"], "2023-07-14T19:05:09.000Z");
    assert_eq!(mov["media"]["kind"], "video");
    assert!(
        (2_500..=3_500).contains(&mov["media"]["duration_ms"].as_i64().unwrap()),
        "{mov}"
    );
    assert_eq!(mov["has_thumbnail"], true);
    // The viewer plays the clip from its bytes, with Range requests.
    let r = app
        .client
        .get(app.url(&format!("/api/files/{mov_id}/download?inline=true")))
        .bearer_auth(&alice.token)
        .header("range", "bytes=0-99")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.bytes().await.unwrap(),
        std::fs::read(&clip).unwrap()[..100]
    );

    let paired = |links: &[(String, Value, Value)]| -> Vec<(String, bool, bool)> {
        links
            .iter()
            .map(|(n, v, p)| (n.clone(), v.is_string(), p.is_string()))
            .collect()
    };
    let expect_pair = vec![
        ("IMG_0001.HEIC".to_string(), true, false),
        ("IMG_0001.MOV".to_string(), false, true),
        ("holiday.jpg".to_string(), false, false),
        ("holiday.mp4".to_string(), false, false),
    ];
    let links = live_links(&app, &alice.token).await;
    assert_eq!(paired(&links), expect_pair);
    assert_eq!(links[0].1, mov_id);
    assert_eq!(links[1].2, still_id);

    // Renaming the clip away parts them; naming it back pairs them again (nothing is stored).
    dav_move(&app, "IMG_0001.MOV", "IMG_0001.edited.MOV").await;
    let apart = live_links(&app, &alice.token).await;
    assert!(
        apart.iter().all(|(_, v, p)| v.is_null() && p.is_null()),
        "{apart:?}"
    );
    dav_move(&app, "IMG_0001.edited.MOV", "IMG_0001.MOV").await;
    assert_eq!(paired(&live_links(&app, &alice.token).await), expect_pair);

    // The still in the trash: the clip stands alone (and is not hidden); restored, paired again.
    crate::trash::api_delete(&app, &alice, still_id).await;
    let m = app
        .get_json(&format!("/api/files/{mov_id}"), &alice.token)
        .await;
    assert!(m.get("live_photo_id").is_none(), "{m}");
    let r = crate::trash::restore(&app, &alice, still_id, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(paired(&live_links(&app, &alice.token).await), expect_pair);

    // A clip overwritten by a long video is a video of its own, at once and after its job.
    dav_put(&app, "IMG_0001.MOV", std::fs::read(&long).unwrap()).await;
    let s = app
        .get_json(&format!("/api/files/{still_id}"), &alice.token)
        .await;
    assert!(s.get("live_video_id").is_none(), "{s}");
    app.run_pending_jobs().await;
    let s = app
        .get_json(&format!("/api/files/{still_id}"), &alice.token)
        .await;
    assert!(s.get("live_video_id").is_none(), "{s}");

    // Another folder's clip of the same name is not this photo's.
    let other = app.mkdir(&alice.token, None, "other").await;
    let other_id = other["id"].as_str().unwrap();
    app.upload_one(
        &alice.token,
        &format!("?folder={other_id}"),
        "IMG_0002.MOV",
        std::fs::read(&clip).unwrap(),
    )
    .await;
    dav_put(&app, "IMG_0002.HEIC", std::fs::read(&heic).unwrap()).await;
    app.run_pending_jobs().await;
    let s = file_by_name(&app, &alice.token, "IMG_0002.HEIC").await;
    assert!(s.get("live_video_id").is_none(), "{s}");
}
