//! RAW photos on real files: a DNG shaped like Apple ProRAW (`tests/fixtures/make_dng.py`: RGB
//! thumbnail in IFD0, raw image and JPEG preview in SubIFDs, EXIF and GPS), one without a preview,
//! and a RAF (header pointing at the JPEG).

use super::photo_fixtures::make_dng;
use super::tests::{jpeg_bytes, jpeg_size, load_jpeg, picture, targets};
use super::*;

fn is_red(p: [u8; 3]) -> bool {
    p[0] > 170 && p[1] < 90 && p[2] < 120
}

#[test]
fn a_dng_gets_thumbnails_from_its_preview_and_exif_from_the_raw() {
    let dir = tempfile::tempdir().unwrap();
    // The preview is stored unturned, without EXIF of its own; the DNG's IFD0 says orientation 6.
    let dng = make_dng(
        dir.path(),
        "IMG_0100.DNG",
        Some(&jpeg_bytes(&picture(1600, 1200), 90)),
    );
    let out = targets(&dir.path().join("t"));
    let info = process_file(&dng, MediaKind::Image, &out, &MediaLimits::default()).unwrap();
    assert_eq!((info.width, info.height), (Some(1200), Some(1600)));
    assert_eq!(jpeg_size(&out.large), (1080, 1440));
    assert_eq!(jpeg_size(&out.small), (192, 256));
    let small = load_jpeg(&out.small);
    assert!(is_red(small.get_pixel(180, 10).0), "turned: top-right red");
    assert!(!is_red(small.get_pixel(10, 10).0), "not top-left");
    assert_eq!(info.taken_at, Some(1_671_925_500_000), "18:45 at -05:00");
    assert_eq!(info.camera_make.as_deref(), Some("Apple"));
    assert_eq!(info.camera_model.as_deref(), Some("iPhone 14 Pro"));
    let (lat, lon) = (info.gps_lat.unwrap(), info.gps_lon.unwrap());
    assert!((lat - 40.689_278).abs() < 1e-5, "lat {lat}");
    assert!((lon - -74.044_5).abs() < 1e-5, "lon {lon}");
}

#[test]
fn a_dng_without_a_preview_fails_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let dng = make_dng(dir.path(), "bare.dng", None);
    let out = targets(&dir.path().join("t"));
    let e = process_file(&dng, MediaKind::Image, &out, &MediaLimits::default()).unwrap_err();
    assert_eq!(e.kind, MediaErrorKind::Unsupported, "{e}");
    assert!(
        e.message.contains("without an embedded JPEG preview"),
        "{e}"
    );
    assert!(!e.retryable());
    assert!(!out.small.exists() && !out.large.exists());
}

#[test]
fn a_raf_gets_its_preview_and_the_preview_s_exif() {
    let dir = tempfile::tempdir().unwrap();
    let jpeg = super::tests_heif::rotated_jpeg();
    let mut raf = b"FUJIFILMCCD-RAW 0201FF383501".to_vec();
    raf.resize(100, 0);
    raf[84..88].copy_from_slice(&100u32.to_be_bytes());
    raf[88..92].copy_from_slice(&(jpeg.len() as u32).to_be_bytes());
    raf.extend_from_slice(&jpeg);
    raf.extend_from_slice(&[0u8; 4096]); // where the sensor data would be
    let src = dir.path().join("DSCF0001.RAF");
    std::fs::write(&src, &raf).unwrap();
    let out = targets(&dir.path().join("t"));
    let info = process_file(&src, MediaKind::Image, &out, &MediaLimits::default()).unwrap();
    assert_eq!((info.width, info.height), (Some(1200), Some(1600)));
    assert_eq!(info.camera_make.as_deref(), Some("Canon"));
    assert_eq!(info.taken_at, Some(1_709_202_615_000));
    assert!(is_red(load_jpeg(&out.small).get_pixel(180, 10).0));
}
