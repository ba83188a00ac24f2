//! Media: decoding photos and videos into thumbnails and facts (size, duration, capture time, camera, place).
//! A blocking library for the worker pool: no SQL, no HTTP, no async.
//!
//! JPEGs are decoded at reduced scale (DCT scaling, 1/2 – 1/8) to just above the size needed; other
//! formats through the `image` crate with header checks first, so a decompression bomb is refused
//! before anything large is allocated. Videos go through `ffprobe` and `ffmpeg` child processes with a
//! deadline. Thumbnails are JPEG, written atomically.

pub mod formats;
mod heif;
pub mod jpeg;
mod metadata;
mod picture;
pub mod places;
mod raw;
mod thumbs;
mod tool;
mod video;

#[cfg(test)]
#[path = "../../tests/fixtures/photo_fixtures.rs"]
mod photo_fixtures;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_heif;
#[cfg(test)]
mod tests_raw;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

/// Small thumbnail: fits 256x256 (grid), aspect kept.
pub const SMALL_PX: u32 = 256;
/// Large thumbnail: fits 1440x1440 (viewer). Never upscaled.
pub const LARGE_PX: u32 = 1440;
/// JPEG quality of both thumbnails.
pub const THUMB_QUALITY: u8 = 82;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
        }
    }
}

/// The kind of media a file extension (without the dot, any case) names, if the pipeline knows it
/// (`formats::FORMATS`; a refused format is known too: its job fails with the reason).
pub fn media_kind(ext: &str) -> Option<MediaKind> {
    formats::by_ext(ext).map(|f| f.kind)
}

/// The kind of media of a file name, from its extension.
pub fn media_kind_of_name(name: &str) -> Option<MediaKind> {
    let (_, ext) = name.rsplit_once('.')?;
    media_kind(ext)
}

/// Resource limits and tools. `From<&config::MediaConfig>` builds it from the `[media]` config table.
#[derive(Debug, Clone)]
pub struct MediaLimits {
    /// Images above this many pixels are refused from their header (decompression bombs).
    pub max_pixels: u64,
    /// Wall-clock budget of one video: ffprobe and ffmpeg together.
    pub video_timeout: Duration,
    pub ffmpeg: PathBuf,
    pub ffprobe: PathBuf,
}

impl Default for MediaLimits {
    fn default() -> Self {
        MediaLimits {
            max_pixels: 100_000_000,
            video_timeout: Duration::from_secs(60),
            ffmpeg: PathBuf::from("ffmpeg"),
            ffprobe: PathBuf::from("ffprobe"),
        }
    }
}

/// Where `process_file` writes the thumbnails (JPEG). Parent folders are created.
#[derive(Debug, Clone)]
pub struct ThumbTargets {
    pub small: PathBuf,
    pub large: PathBuf,
}

/// What was learnt about a file. Sizes are as displayed (after EXIF orientation or video rotation).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MediaInfo {
    pub kind: Option<MediaKind>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub duration_ms: Option<i64>,
    /// Unix milliseconds, UTC: EXIF DateTimeOriginal (with OffsetTimeOriginal when present, else read
    /// as UTC) or the video's creation time.
    pub taken_at: Option<i64>,
    pub camera_make: Option<String>,
    pub camera_model: Option<String>,
    pub gps_lat: Option<f64>,
    pub gps_lon: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MediaErrorKind {
    /// A format or feature this module does not decode.
    Unsupported,
    /// Over `max_pixels` (decided from the header).
    TooLarge,
    /// Broken or truncated file, or a decoder that gave up on it.
    Corrupt,
    /// A video step ran past `video_timeout`.
    Timeout,
    /// ffmpeg / ffprobe missing or failed to start.
    Tool,
    /// Reading the source or writing a thumbnail failed.
    Io,
}

impl MediaErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaErrorKind::Unsupported => "unsupported",
            MediaErrorKind::TooLarge => "too-large",
            MediaErrorKind::Corrupt => "corrupt",
            MediaErrorKind::Timeout => "timeout",
            MediaErrorKind::Tool => "tool",
            MediaErrorKind::Io => "io",
        }
    }
}

/// A failure with a message an admin can read ("corrupt image: ...", "video frame: ffmpeg timed out
/// after 60 s").
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct MediaError {
    pub kind: MediaErrorKind,
    pub message: String,
}

impl MediaError {
    pub fn new(kind: MediaErrorKind, message: impl Into<String>) -> Self {
        MediaError {
            kind,
            message: message.into(),
        }
    }

    /// Worth another try later: I/O, timeouts and missing tools can heal; a broken file cannot.
    pub fn retryable(&self) -> bool {
        matches!(
            self.kind,
            MediaErrorKind::Io | MediaErrorKind::Timeout | MediaErrorKind::Tool
        )
    }
}

/// Reads `src`, writes both thumbnails (each atomically: temp file in the same folder, then rename; on
/// error neither is left behind) and returns what it learnt. Blocking and CPU-heavy: call it from a
/// worker thread.
pub fn process_file(
    src: &Path,
    kind: MediaKind,
    out: &ThumbTargets,
    limits: &MediaLimits,
) -> Result<MediaInfo, MediaError> {
    process_file_for_model(src, kind, out, limits, None).map(|(info, _)| info)
}

/// `process_file`, and with `model_side` also the picture for the CLIP model from the same decode:
/// what `decode_for_model` would give from the large thumbnail (shortest side between
/// `model_side` and twice that, orientation applied), taken from the pixels before JPEG encoding,
/// so an ingest decodes each original once.
pub fn process_file_for_model(
    src: &Path,
    kind: MediaKind,
    out: &ThumbTargets,
    limits: &MediaLimits,
    model_side: Option<u32>,
) -> Result<(MediaInfo, Option<image::RgbImage>), MediaError> {
    let format = src
        .extension()
        .and_then(|e| e.to_str())
        .and_then(formats::by_ext);
    if let Some(why) = format.and_then(|f| f.refused) {
        return Err(MediaError::new(MediaErrorKind::Unsupported, why));
    }
    let (info, large, small) = match kind {
        MediaKind::Image => {
            let want = picture::Want::Fit(LARGE_PX);
            let pic = if format.is_some_and(|f| f.raw) {
                picture::decode_raw_preview(src, want, limits)?
            } else {
                picture::decode_picture(src, want, limits)?
            };
            let (w, h) = pic.displayed_size();
            let (large, small) = thumbs::make_pair(&pic)?;
            let f = pic.facts;
            let info = MediaInfo {
                kind: Some(MediaKind::Image),
                width: Some(w),
                height: Some(h),
                duration_ms: None,
                taken_at: f.taken_at,
                camera_make: f.camera_make,
                camera_model: f.camera_model,
                gps_lat: f.gps_lat,
                gps_lon: f.gps_lon,
            };
            (info, large, small)
        }
        MediaKind::Video => {
            let (info, frame) = video::probe_and_grab(src, limits)?;
            let small = thumbs::fit_and_resize(&frame, SMALL_PX)?;
            (info, frame, small)
        }
    };
    let for_model = match model_side {
        Some(side) => Some(reduce_for_model(&large, side)?),
        None => None,
    };
    let large = thumbs::encode_jpeg(&large, THUMB_QUALITY)?;
    let small = thumbs::encode_jpeg(&small, THUMB_QUALITY)?;
    thumbs::write_files_atomically(&[(&out.large, &large), (&out.small, &small)])?;
    Ok((info, for_model))
}

/// `rgb` with its shortest side brought down to `min_side` when it is more than twice that (a good
/// filter; CLIP's own preprocessing then takes it to its input size).
fn reduce_for_model(rgb: &image::RgbImage, min_side: u32) -> Result<image::RgbImage, MediaError> {
    let min_side = min_side.max(1);
    let (w, h) = (rgb.width(), rgb.height());
    let short = w.min(h);
    if short <= 2 * min_side {
        return Ok(rgb.clone());
    }
    let scale = min_side as f64 / short as f64;
    let (nw, nh) = if w <= h {
        (min_side, ((h as f64 * scale).round() as u32).max(min_side))
    } else {
        (((w as f64 * scale).round() as u32).max(min_side), min_side)
    };
    thumbs::resize_rgb(rgb, nw, nh)
}

/// One JPEG thumbnail of an image, fitting `box_px` x `box_px`, orientation applied, never upscaled.
/// The single-size path (what the benchmark compares with Pillow); `process_file` makes both sizes.
pub fn thumbnail_jpeg(
    src: &Path,
    box_px: u32,
    limits: &MediaLimits,
) -> Result<Vec<u8>, MediaError> {
    let pic = picture::decode_picture(src, picture::Want::Fit(box_px), limits)?;
    let (w, h) = thumbs::fit(pic.full_w, pic.full_h, box_px);
    let img = thumbs::resize_rgb(&pic.rgb, w, h)?;
    let img = thumbs::orient(img, pic.facts.orientation);
    thumbs::encode_jpeg(&img, THUMB_QUALITY)
}

/// For CLIP: an image (e.g. the large thumbnail) decoded at reduced scale where the decoder can,
/// orientation applied; its shortest side is at least `min_side` when the source is that big, and at
/// most about twice that (larger decodes are reduced with a good filter).
pub fn decode_for_model(
    path: &Path,
    min_side: u32,
    limits: &MediaLimits,
) -> Result<image::RgbImage, MediaError> {
    let min_side = min_side.max(1);
    let pic = picture::decode_picture(path, picture::Want::ShortSide(min_side), limits)?;
    let rgb = reduce_for_model(&pic.rgb, min_side)?;
    Ok(thumbs::orient(rgb, pic.facts.orientation))
}
