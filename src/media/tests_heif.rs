//! HEIC and AVIF made by Debian's `heif-enc` from JPEGs carrying EXIF, and re-muxed into the shapes
//! iPhones write (a grid of tiles with a rotation property, a burst) by `tests/fixtures/heif_remux.py`.

use std::path::Path;

use image::RgbImage;

use super::photo_fixtures::{heif_enc, heif_remux};
use super::tests::{
    exif_fields, jpeg_bytes, jpeg_size, jpeg_with_exif, load_jpeg, picture, targets,
};
use super::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The photo of the JPEG tests: 1600x1200 stored, red block top-left, EXIF orientation 6 (turn
/// clockwise to show), 2024-02-29 12:30:15 +02:00, Canon EOS R6, Sydney.
pub(super) fn rotated_jpeg() -> Vec<u8> {
    jpeg_with_exif(
        &picture(1600, 1200),
        &exif_fields(6, "S", "E", Some("+02:00")),
    )
}

fn is_red(p: [u8; 3]) -> bool {
    p[0] > 170 && p[1] < 90 && p[2] < 120
}

/// The small thumbnail of `rotated_jpeg()` itself: what an upright HEIF of it must look like.
fn jpeg_reference() -> RgbImage {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("ref.jpg");
    std::fs::write(&src, rotated_jpeg()).unwrap();
    let out = targets(dir.path());
    process_file(&src, MediaKind::Image, &out, &MediaLimits::default()).unwrap();
    load_jpeg(&out.small)
}

fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y) as u64)
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

/// Checks what every HEIF test expects of the rotated photo: portrait as displayed, the red block
/// top-right (turned clockwise once), the same picture as the JPEG's own thumbnail, the EXIF facts.
fn assert_upright_portrait(info: &MediaInfo, out: &ThumbTargets, what: &str) {
    assert_eq!(
        (info.width, info.height),
        (Some(1200), Some(1600)),
        "{what}: displayed size"
    );
    assert_eq!(jpeg_size(&out.large), (1080, 1440), "{what}");
    assert_eq!(jpeg_size(&out.small), (192, 256), "{what}");
    let small = load_jpeg(&out.small);
    let (tr, tl) = (small.get_pixel(180, 10).0, small.get_pixel(10, 10).0);
    assert!(is_red(tr), "{what}: top-right should be red, is {tr:?}");
    assert!(!is_red(tl), "{what}: top-left should not be red, is {tl:?}");
    let diff = mean_abs_diff(&small, &jpeg_reference());
    assert!(
        diff < 8.0,
        "{what}: differs from the JPEG's thumbnail by {diff:.1} per channel"
    );
    assert_eq!(
        info.taken_at,
        Some(1_709_202_615_000),
        "{what}: 10:30:15 UTC"
    );
    assert_eq!(info.camera_make.as_deref(), Some("Canon"), "{what}");
    assert_eq!(info.camera_model.as_deref(), Some("EOS R6"), "{what}");
    let (lat, lon) = (info.gps_lat.unwrap(), info.gps_lon.unwrap());
    assert!((lat - -33.865_166).abs() < 1e-5, "{what}: lat {lat}");
    assert!((lon - 151.208_333).abs() < 1e-5, "{what}: lon {lon}");
}

fn process(src: &Path, dir: &Path) -> (Result<MediaInfo, MediaError>, ThumbTargets) {
    let out = targets(dir);
    let r = process_file(src, MediaKind::Image, &out, &MediaLimits::default());
    (r, out)
}

#[test]
fn heif_extensions_are_images() {
    for ext in ["heic", "HEIC", "heif", "hif", "avif", "AVIF"] {
        assert_eq!(media_kind(ext), Some(MediaKind::Image), "{ext}");
    }
}

#[test]
fn a_heic_from_heif_enc_keeps_exif_orientation_date_camera_and_gps() {
    // heif-enc 1.15 copies the JPEG's EXIF, orientation included, and writes no rotation
    // property: EXIF is then the only word on how to show it.
    let dir = tempfile::tempdir().unwrap();
    let heic = heif_enc(dir.path(), "IMG_0001.HEIC", &rotated_jpeg(), false);
    let (info, out) = process(&heic, &dir.path().join("a"));
    let info = info.unwrap();
    assert_eq!(info.kind, Some(MediaKind::Image));
    assert_upright_portrait(&info, &out, "heif-enc HEIC");
}

#[test]
fn an_avif_is_read_like_a_heic() {
    let dir = tempfile::tempdir().unwrap();
    let avif = heif_enc(dir.path(), "photo.avif", &rotated_jpeg(), true);
    let (info, out) = process(&avif, &dir.path().join("a"));
    assert_upright_portrait(&info.unwrap(), &out, "AVIF");
}

#[test]
fn an_iphone_style_grid_with_a_rotation_is_one_picture_turned_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let donor = heif_enc(d, "donor.heic", &rotated_jpeg(), false);
    // Four 800x600 tiles of the stored (unturned) picture, no EXIF of their own.
    let full = picture(1600, 1200);
    let mut tiles = Vec::new();
    for (i, (x, y)) in [(0, 0), (800, 0), (0, 600), (800, 600)]
        .into_iter()
        .enumerate()
    {
        let tile: RgbImage = image::imageops::crop_imm(&full, x, y, 800, 600).to_image();
        tiles.push(heif_enc(
            d,
            &format!("tile{i}.heic"),
            &jpeg_bytes(&tile, 90),
            false,
        ));
    }
    let grid = d.join("IMG_0002.HEIC");
    let mut args = vec!["grid", s(&grid), "1600", "1200", "2", "2", s(&donor)];
    args.extend(tiles.iter().map(|t| s(t)));
    // irot 3 = 270° anticlockwise = the clockwise turn EXIF orientation 6 also says, as iPhones write.
    args.extend(["--irot", "3"]);
    heif_remux(&args);
    let (info, out) = process(&grid, &d.join("grid"));
    assert_upright_portrait(&info.unwrap(), &out, "grid + irot + EXIF 6");

    // The same turn on a single image: libheif applies it, EXIF is not applied again.
    let single = d.join("single.heic");
    heif_remux(&["single", s(&single), s(&donor), "--irot", "3"]);
    let (info, out) = process(&single, &d.join("single"));
    assert_upright_portrait(&info.unwrap(), &out, "irot + EXIF 6");
}

#[test]
fn a_burst_gives_its_primary_picture() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let first = heif_enc(d, "first.heic", &rotated_jpeg(), false);
    let other = heif_enc(d, "other.heic", &jpeg_bytes(&picture(640, 480), 90), false);
    let burst = d.join("burst.heic");
    heif_remux(&["burst", s(&burst), s(&first), s(&other), s(&other)]);
    let (info, out) = process(&burst, &d.join("b"));
    assert_upright_portrait(&info.unwrap(), &out, "burst");
}

#[test]
fn heif_bombs_and_broken_files_fail_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let heic = heif_enc(d, "a.heic", &rotated_jpeg(), false);
    let bytes = std::fs::read(&heic).unwrap();

    // The header says 30000 x 30000: refused before any decoding.
    let mut bomb = bytes.clone();
    let at = bomb
        .windows(4)
        .position(|w| w == b"ispe")
        .expect("an ispe box")
        + 8;
    bomb[at..at + 8].copy_from_slice(&[0, 0, 0x75, 0x30, 0, 0, 0x75, 0x30]);
    let bomb_path = d.join("bomb.heic");
    std::fs::write(&bomb_path, &bomb).unwrap();
    let (r, out) = process(&bomb_path, &d.join("bomb"));
    let e = r.unwrap_err();
    assert_eq!(e.kind, MediaErrorKind::TooLarge, "{e}");
    assert!(e.message.contains("30000x30000"), "{e}");
    assert!(!out.small.exists() && !out.large.exists());

    // Cut in half: corrupt, with libheif's reason, nothing left behind.
    let cut = d.join("cut.heic");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (r, out) = process(&cut, &d.join("cut"));
    let e = r.unwrap_err();
    assert_eq!(e.kind, MediaErrorKind::Corrupt, "{e}");
    assert!(e.message.starts_with("corrupt image: HEIF"), "{e}");
    assert!(!e.retryable());
    assert!(!out.small.exists() && !out.large.exists());
}
