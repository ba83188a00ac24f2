//! Tests on real files written into temp folders: every image format, EXIF, bombs, broken files, and
//! videos made by the real ffmpeg.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use image::{ImageFormat, Rgb, RgbImage};

use super::photo_fixtures::{ascii, field, rationals, splice_exif};
use super::*;

/// A picture with structure (gradients, a red block top-left) so resizes and turns are checkable.
pub(super) fn picture(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        if x < w / 4 && y < h / 4 {
            Rgb([230, 20, 20])
        } else {
            Rgb([
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                ((x + y) % 64) as u8 + 100,
            ])
        }
    })
}

pub(super) fn targets(dir: &Path) -> ThumbTargets {
    ThumbTargets {
        small: dir.join("thumbs/small.jpg"),
        large: dir.join("thumbs/large.jpg"),
    }
}

/// Opens a thumbnail, checks that it is a JPEG, returns its size.
pub(super) fn jpeg_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &bytes[..3],
        &[0xFF, 0xD8, 0xFF],
        "{} is not a JPEG",
        path.display()
    );
    let img = image::load_from_memory_with_format(&bytes, ImageFormat::Jpeg).unwrap();
    (img.width(), img.height())
}

pub(super) fn load_jpeg(path: &Path) -> RgbImage {
    image::load_from_memory_with_format(&std::fs::read(path).unwrap(), ImageFormat::Jpeg)
        .unwrap()
        .into_rgb8()
}

/// Every file left under `dir` (thumbnails, temp files), relative names.
fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out
}

fn assert_aspect(w: u32, h: u32, src_w: u32, src_h: u32) {
    let want = src_w as f64 / src_h as f64;
    let got = w as f64 / h as f64;
    assert!(
        (got - want).abs() / want < 0.02,
        "{w}x{h} does not keep the aspect of {src_w}x{src_h}"
    );
}

pub(super) fn jpeg_bytes(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    out
}

#[test]
fn media_kinds_by_extension() {
    for ext in ["jpg", "JPEG", "png", "webp", "gif", "tif", "TIFF", "bmp"] {
        assert_eq!(media_kind(ext), Some(MediaKind::Image), "{ext}");
    }
    for ext in ["mp4", "M4V", "mov", "mkv", "webm", "avi", "3gp"] {
        assert_eq!(media_kind(ext), Some(MediaKind::Video), "{ext}");
    }
    for ext in ["txt", "", "pdf"] {
        assert_eq!(media_kind(ext), None, "{ext}");
    }
    assert_eq!(
        media_kind_of_name("Holiday.Photo.JPG"),
        Some(MediaKind::Image)
    );
    assert_eq!(
        serde_json::to_string(&MediaKind::Video).unwrap(),
        "\"video\""
    );
}

#[test]
fn every_image_format_gets_both_thumbnails() {
    let dir = tempfile::tempdir().unwrap();
    let img = picture(2000, 1000);
    for (format, ext) in [
        (ImageFormat::Jpeg, "jpg"),
        (ImageFormat::Png, "png"),
        (ImageFormat::WebP, "webp"),
        (ImageFormat::Gif, "gif"),
        (ImageFormat::Tiff, "tiff"),
        (ImageFormat::Bmp, "bmp"),
    ] {
        let src = dir.path().join(format!("photo.{ext}"));
        image::DynamicImage::ImageRgb8(img.clone())
            .save_with_format(&src, format)
            .unwrap();
        let out_dir = dir.path().join(ext);
        let out = targets(&out_dir);
        let info = process_file(&src, MediaKind::Image, &out, &MediaLimits::default())
            .unwrap_or_else(|e| panic!("{ext}: {e}"));
        assert_eq!(info.kind, Some(MediaKind::Image));
        assert_eq!((info.width, info.height), (Some(2000), Some(1000)), "{ext}");
        assert_eq!(jpeg_size(&out.large), (1440, 720), "{ext}");
        assert_eq!(jpeg_size(&out.small), (256, 128), "{ext}");
        // The red block is still top-left (no stray turn) and colours survive (no channel swap).
        let px = load_jpeg(&out.small).get_pixel(10, 10).0;
        assert!(
            px[0] > 180 && px[1] < 80 && px[2] < 80,
            "{ext}: top-left is {px:?}"
        );
        let mut left = files_under(&out_dir);
        left.sort();
        assert_eq!(
            left,
            ["thumbs/large.jpg", "thumbs/small.jpg"],
            "{ext}: no temp files stay"
        );
    }
}

#[test]
fn a_small_image_is_not_upscaled_and_transparency_lies_on_white() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("icon.png");
    let img = image::RgbaImage::from_fn(100, 60, |x, _| {
        if x < 50 {
            image::Rgba([0, 0, 255, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    });
    img.save(&src).unwrap();
    let out = targets(dir.path());
    let info = process_file(&src, MediaKind::Image, &out, &MediaLimits::default()).unwrap();
    assert_eq!((info.width, info.height), (Some(100), Some(60)));
    assert_eq!(jpeg_size(&out.large), (100, 60));
    assert_eq!(jpeg_size(&out.small), (100, 60));
    let px = load_jpeg(&out.small).get_pixel(90, 30).0;
    assert!(
        px.iter().all(|c| *c > 230),
        "transparent area should be white, is {px:?}"
    );
}

#[test]
fn portrait_and_tall_images_fit_their_boxes() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("tall.jpg");
    std::fs::write(&src, jpeg_bytes(&picture(900, 3000), 90)).unwrap();
    let out = targets(dir.path());
    process_file(&src, MediaKind::Image, &out, &MediaLimits::default()).unwrap();
    let (lw, lh) = jpeg_size(&out.large);
    let (sw, sh) = jpeg_size(&out.small);
    assert_eq!((lw, lh), (432, 1440));
    assert_eq!((sw, sh), (77, 256));
    assert_aspect(lw, lh, 900, 3000);
    assert_aspect(sw, sh, 900, 3000);
}

/// A JPEG of `img` carrying `fields` as EXIF.
pub(super) fn jpeg_with_exif(img: &RgbImage, fields: &[exif::Field]) -> Vec<u8> {
    splice_exif(&jpeg_bytes(img, 90), fields)
}

pub(super) fn exif_fields(
    orientation: u16,
    lat_ref: &str,
    lon_ref: &str,
    offset: Option<&str>,
) -> Vec<exif::Field> {
    use exif::Tag;
    let mut f = vec![
        field(Tag::Orientation, exif::Value::Short(vec![orientation])),
        field(Tag::DateTimeOriginal, ascii("2024:02:29 12:30:15")),
        field(Tag::Make, ascii("Canon\0\0")),
        field(Tag::Model, ascii("  EOS R6 ")),
        // 33° 51' 54.6" S, 151° 12' 30" E: Sydney.
        field(Tag::GPSLatitudeRef, ascii(lat_ref)),
        field(Tag::GPSLatitude, rationals(&[(33, 1), (51, 1), (546, 10)])),
        field(Tag::GPSLongitudeRef, ascii(lon_ref)),
        field(Tag::GPSLongitude, rationals(&[(151, 1), (12, 1), (30, 1)])),
    ];
    if let Some(o) = offset {
        f.push(field(Tag::OffsetTimeOriginal, ascii(o)));
    }
    f
}

#[test]
fn exif_orientation_date_camera_and_gps_are_applied() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("rotated.jpg");
    // Stored landscape 1600x1200 with the red block top-left; orientation 6 = turn 90° clockwise to show.
    std::fs::write(
        &src,
        jpeg_with_exif(
            &picture(1600, 1200),
            &exif_fields(6, "S", "E", Some("+02:00")),
        ),
    )
    .unwrap();
    let out = targets(dir.path());
    let info = process_file(&src, MediaKind::Image, &out, &MediaLimits::default()).unwrap();
    assert_eq!(
        (info.width, info.height),
        (Some(1200), Some(1600)),
        "displayed size is portrait"
    );
    assert_eq!(jpeg_size(&out.large), (1080, 1440));
    assert_eq!(jpeg_size(&out.small), (192, 256));
    // Turned clockwise, the red block is now top-right.
    let small = load_jpeg(&out.small);
    let tr = small.get_pixel(180, 10).0;
    let tl = small.get_pixel(10, 10).0;
    assert!(
        tr[0] > 180 && tr[1] < 80,
        "top-right should be red, is {tr:?}"
    );
    assert!(
        !(tl[0] > 180 && tl[1] < 80),
        "top-left should not be red, is {tl:?}"
    );
    // 12:30:15 at +02:00 is 10:30:15 UTC.
    assert_eq!(info.taken_at, Some(1_709_202_615_000));
    assert_eq!(info.camera_make.as_deref(), Some("Canon"));
    assert_eq!(info.camera_model.as_deref(), Some("EOS R6"));
    let (lat, lon) = (info.gps_lat.unwrap(), info.gps_lon.unwrap());
    assert!((lat - -33.865_166).abs() < 1e-5, "lat {lat}");
    assert!((lon - 151.208_333).abs() < 1e-5, "lon {lon}");

    // North / west, no offset (read as UTC), orientation 3 (upside down: size unchanged).
    let src = dir.path().join("nw.jpg");
    std::fs::write(
        &src,
        jpeg_with_exif(&picture(800, 600), &exif_fields(3, "N", "W", None)),
    )
    .unwrap();
    let out = targets(&dir.path().join("nw"));
    let info = process_file(&src, MediaKind::Image, &out, &MediaLimits::default()).unwrap();
    assert_eq!((info.width, info.height), (Some(800), Some(600)));
    assert_eq!(info.taken_at, Some(1_709_209_815_000));
    assert!(
        info.gps_lat.unwrap() > 33.8 && info.gps_lon.unwrap() < -151.2,
        "{info:?}"
    );
    let br = load_jpeg(&out.small).get_pixel(250, 185).0;
    assert!(
        br[0] > 180 && br[1] < 80,
        "turned 180°, the red block is bottom-right, found {br:?}"
    );
}

/// Peak resident memory of this process so far, in KiB.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn decompression_bombs_are_refused_from_the_header() {
    let dir = tempfile::tempdir().unwrap();
    // A complete, valid 30000 x 30000 PNG (1-bit grey, all black): ~100 KB on disk, 2.7 GB as RGB.
    let bomb = dir.path().join("bomb.png");
    {
        let file = std::io::BufWriter::new(std::fs::File::create(&bomb).unwrap());
        let mut enc = png::Encoder::new(file, 30_000, 30_000);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        enc.set_compression(png::Compression::Fastest);
        let mut writer = enc.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        let row = vec![0u8; 30_000 / 8];
        for _ in 0..30_000 {
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        stream.finish().unwrap();
    }
    let size = std::fs::metadata(&bomb).unwrap().len();
    assert!(size < 1_000_000, "bomb is {size} bytes");

    // A JPEG whose frame header claims 30000 x 30000 (the size fields of a small JPEG patched).
    let mut jpeg = jpeg_bytes(&picture(64, 48), 80);
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 5..sof + 7].copy_from_slice(&30_000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&30_000u16.to_be_bytes());
    let jpeg_bomb = dir.path().join("bomb.jpg");
    std::fs::write(&jpeg_bomb, jpeg).unwrap();

    let before = vm_hwm_kib();
    for src in [&bomb, &jpeg_bomb] {
        let out = targets(&dir.path().join("out"));
        let start = Instant::now();
        let err = process_file(src, MediaKind::Image, &out, &MediaLimits::default()).unwrap_err();
        assert_eq!(
            err.kind,
            MediaErrorKind::TooLarge,
            "{}: {err}",
            src.display()
        );
        assert_eq!(
            err.message,
            "image is 30000x30000 (900 megapixels), over the 100 megapixel limit"
        );
        assert!(!err.retryable());
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "refusal took {:?}",
            start.elapsed()
        );
        let err = decode_for_model(src, 224, &MediaLimits::default()).unwrap_err();
        assert_eq!(err.kind, MediaErrorKind::TooLarge);
    }
    let grown_mib = (vm_hwm_kib().saturating_sub(before)) / 1024;
    assert!(grown_mib < 200, "peak memory grew by {grown_mib} MiB");
    assert!(files_under(&dir.path().join("out")).is_empty());

    // The limit is the configured one.
    let small_limit = MediaLimits {
        max_pixels: 1_000_000,
        ..MediaLimits::default()
    };
    let src = dir.path().join("ok.png");
    picture(1200, 1000).save(&src).unwrap();
    let err = process_file(&src, MediaKind::Image, &targets(dir.path()), &small_limit).unwrap_err();
    assert_eq!(
        err.message,
        "image is 1200x1000 (1.2 megapixels), over the 1 megapixel limit"
    );
}

#[test]
fn corrupt_and_truncated_images_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut noise = vec![0u8; 50_000];
    let mut x: u32 = 12345;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    let good = jpeg_bytes(&picture(1200, 900), 90);
    let mut jpeg_noise = vec![0xFF, 0xD8, 0xFF];
    jpeg_noise.extend_from_slice(&noise);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random.jpg", noise.clone()),
        ("random-after-soi.jpg", jpeg_noise),
        ("truncated.jpg", good[..good.len() / 2].to_vec()),
        ("empty.jpg", Vec::new()),
        ("truncated.png", {
            let mut png = Vec::new();
            picture(300, 300)
                .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
                .unwrap();
            png.truncate(png.len() / 2);
            png
        }),
    ];
    for (name, bytes) in cases {
        let src = dir.path().join(name);
        std::fs::write(&src, &bytes).unwrap();
        let out_dir = dir.path().join(format!("out-{name}"));
        let err = process_file(
            &src,
            MediaKind::Image,
            &targets(&out_dir),
            &MediaLimits::default(),
        )
        .unwrap_err();
        assert_eq!(err.kind, MediaErrorKind::Corrupt, "{name}: {err}");
        assert!(
            err.message.starts_with("corrupt image: "),
            "{name}: {}",
            err.message
        );
        assert!(!err.retryable());
        assert!(
            files_under(&out_dir).is_empty(),
            "{name} left {:?}",
            files_under(&out_dir)
        );
    }
    let err = process_file(
        &dir.path().join("missing.jpg"),
        MediaKind::Image,
        &targets(dir.path()),
        &MediaLimits::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind, MediaErrorKind::Io);
    assert!(err.retryable());
}

#[test]
fn decode_for_model_scales_down_and_turns() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("big.jpg");
    std::fs::write(
        &src,
        jpeg_with_exif(&picture(4000, 3000), &exif_fields(6, "N", "E", None)),
    )
    .unwrap();
    let img = decode_for_model(&src, 224, &MediaLimits::default()).unwrap();
    let (w, h) = img.dimensions();
    assert!(h > w, "orientation 6 makes it portrait: {w}x{h}");
    assert!(
        (224..=448).contains(&w),
        "shortest side {w} should be in 224..=448 (DCT-scaled, not a full decode)"
    );
    assert_aspect(w, h, 3000, 4000);
    // Red block (stored top-left) is top-right once turned.
    let px = img.get_pixel(w - 5, 5).0;
    assert!(px[0] > 180 && px[1] < 80, "{px:?}");

    // A PNG is reduced to the minimum side; a small one is left as it is.
    let png = dir.path().join("big.png");
    picture(2000, 1000).save(&png).unwrap();
    assert_eq!(
        decode_for_model(&png, 224, &MediaLimits::default())
            .unwrap()
            .dimensions(),
        (448, 224)
    );
    let tiny = dir.path().join("tiny.png");
    picture(100, 50).save(&tiny).unwrap();
    assert_eq!(
        decode_for_model(&tiny, 224, &MediaLimits::default())
            .unwrap()
            .dimensions(),
        (100, 50)
    );
}

/// Makes a 3-second 320x240 test video with the real ffmpeg.
fn make_video(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let codec: &[&str] = match name.rsplit('.').next().unwrap() {
        "webm" => &["-c:v", "libvpx", "-b:v", "300k"],
        "mkv" | "mp4" | "mov" => &[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ],
        _ => &[],
    };
    let status = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("testsrc=duration=3:size=320x240:rate=25")
        .args(codec)
        .args(extra)
        .arg(&path)
        .status()
        .expect("ffmpeg must be installed (scripts/test.sh installs it)");
    assert!(status.success(), "ffmpeg could not make {name}");
    path
}

#[test]
fn videos_give_duration_size_and_thumbnails() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["clip.mp4", "clip.mov", "clip.mkv", "clip.webm"] {
        let src = make_video(
            dir.path(),
            name,
            &["-metadata", "creation_time=2024-02-29T12:30:15Z"],
        );
        let out = targets(&dir.path().join(format!("out-{name}")));
        let info = process_file(&src, MediaKind::Video, &out, &MediaLimits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.kind, Some(MediaKind::Video));
        assert_eq!((info.width, info.height), (Some(320), Some(240)), "{name}");
        let d = info.duration_ms.unwrap();
        assert!((2900..=3100).contains(&d), "{name}: duration {d} ms");
        assert_eq!(jpeg_size(&out.large), (320, 240), "{name}: not upscaled");
        assert_eq!(jpeg_size(&out.small), (256, 192), "{name}");
        if name != "clip.webm" {
            assert_eq!(info.taken_at, Some(1_709_209_815_000), "{name}");
        }
    }
}

#[test]
fn a_rotated_video_reports_and_shows_portrait() {
    let dir = tempfile::tempdir().unwrap();
    let plain = make_video(dir.path(), "plain.mp4", &[]);
    let rotated = dir.path().join("rotated.mp4");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(&plain)
        .args(["-c", "copy", "-metadata:s:v:0", "rotate=90"])
        .arg(&rotated)
        .status()
        .unwrap();
    assert!(status.success());
    let out = targets(dir.path());
    let info = process_file(&rotated, MediaKind::Video, &out, &MediaLimits::default()).unwrap();
    assert_eq!((info.width, info.height), (Some(240), Some(320)));
    assert_eq!(jpeg_size(&out.large), (240, 320));
    assert_eq!(jpeg_size(&out.small), (192, 256));
}

#[test]
fn a_very_short_clip_falls_back_to_its_first_frame() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("blink.mp4");
    let status = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("testsrc=duration=0.04:size=160x120:rate=25")
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success());
    let out = targets(dir.path());
    process_file(&src, MediaKind::Video, &out, &MediaLimits::default()).unwrap();
    assert_eq!(jpeg_size(&out.large), (160, 120));
}

#[test]
fn broken_videos_fail_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let good = make_video(dir.path(), "good.mp4", &[]);
    let bytes = std::fs::read(&good).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out_dir = dir.path().join("out");
    let err = process_file(
        &cut,
        MediaKind::Video,
        &targets(&out_dir),
        &MediaLimits::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind, MediaErrorKind::Corrupt, "{err}");
    assert!(
        err.message.starts_with("corrupt video: ") && err.message.contains("moov atom not found"),
        "{}",
        err.message
    );
    assert!(files_under(&out_dir).is_empty());

    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "not a video at all").unwrap();
    let err = process_file(
        &text,
        MediaKind::Video,
        &targets(&out_dir),
        &MediaLimits::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind, MediaErrorKind::Corrupt, "{err}");

    let no_tool = MediaLimits {
        ffprobe: "/nonexistent/ffprobe".into(),
        ..MediaLimits::default()
    };
    let err = process_file(&good, MediaKind::Video, &targets(&out_dir), &no_tool).unwrap_err();
    assert_eq!(err.kind, MediaErrorKind::Tool, "{err}");
    assert!(err.retryable());
    assert!(files_under(&out_dir).is_empty());
}

#[test]
fn the_video_timeout_is_honoured_and_no_child_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let src = make_video(dir.path(), "slow.mkv", &[]);
    let limits = MediaLimits {
        video_timeout: Duration::from_millis(5),
        ..MediaLimits::default()
    };
    let out_dir = dir.path().join("out");
    let start = Instant::now();
    let err = process_file(&src, MediaKind::Video, &targets(&out_dir), &limits).unwrap_err();
    assert_eq!(err.kind, MediaErrorKind::Timeout, "{err}");
    assert!(
        err.message.ends_with("timed out after 5 ms"),
        "{}",
        err.message
    );
    assert!(err.retryable());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert!(files_under(&out_dir).is_empty());
    let src_arg = src.to_str().unwrap();
    let left = super::tool::tests::processes_with_arg(src_arg);
    assert!(left.is_empty(), "processes left behind: {left:?}");
}
