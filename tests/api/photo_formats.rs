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
