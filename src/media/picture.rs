//! Decoding still images to RGB: JPEG through libjpeg-turbo's decoder with DCT scaling (`jpeg.rs`), the rest through the
//! `image` crate; pixel counts checked from the header before decoding; decoder panics become errors.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, RgbImage};

use super::jpeg::JpegError;
use super::metadata::{ExifFacts, facts_from_exif, read_exif_from_container};
use super::{MediaError, MediaErrorKind, MediaLimits};

/// How big a decode the caller needs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Want {
    /// Enough to fit a `n` x `n` box (longest side `n`), or the full image if it is smaller.
    Fit(u32),
    /// Shortest side at least `n` when the image allows.
    ShortSide(u32),
}

/// A decoded image in its stored orientation, possibly reduced; `facts.orientation` says how to show it.
pub(crate) struct Picture {
    pub rgb: RgbImage,
    /// Full size of the stored image (before orientation).
    pub full_w: u32,
    pub full_h: u32,
    pub facts: ExifFacts,
}

impl Picture {
    /// Full size as displayed, after EXIF orientation.
    pub fn displayed_size(&self) -> (u32, u32) {
        if self.facts.orientation >= 5 {
            (self.full_h, self.full_w)
        } else {
            (self.full_w, self.full_h)
        }
    }
}

pub(crate) fn decode_picture(
    path: &Path,
    want: Want,
    limits: &MediaLimits,
) -> Result<Picture, MediaError> {
    let mut file = File::open(path).map_err(|e| io_error("reading image", path, e))?;
    let mut magic = [0u8; 64];
    let n = read_up_to(&mut file, &mut magic).map_err(|e| io_error("reading image", path, e))?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| io_error("reading image", path, e))?;
    if n == 0 {
        return Err(corrupt("the file is empty"));
    }
    // Decoders are large parsers of hostile input: a panic in one is a broken file, not a crash.
    let result = catch_unwind(AssertUnwindSafe(|| {
        if magic[..3] == [0xFF, 0xD8, 0xFF] {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)
                .map_err(|e| io_error("reading image", path, e))?;
            decode_jpeg(&bytes, want, limits)
        } else if super::heif::sniff(&magic[..n]) {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)
                .map_err(|e| io_error("reading image", path, e))?;
            super::heif::decode(&bytes, limits)
        } else {
            decode_other(file, path, limits)
        }
    }));
    match result {
        Ok(r) => r,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "decoder panicked".into());
            Err(corrupt(&format!("the decoder gave up ({what})")))
        }
    }
}

/// A camera RAW's largest embedded JPEG preview, decoded as a JPEG is (reduced scale where that is
/// enough), with the RAW's EXIF (`raw.rs`).
pub(crate) fn decode_raw_preview(
    path: &Path,
    want: Want,
    limits: &MediaLimits,
) -> Result<Picture, MediaError> {
    let bytes = std::fs::read(path).map_err(|e| io_error("reading image", path, e))?;
    if bytes.is_empty() {
        return Err(corrupt("the file is empty"));
    }
    let (jpeg, facts) = super::raw::preview(bytes)?;
    let result = catch_unwind(AssertUnwindSafe(|| decode_jpeg(&jpeg, want, limits)));
    let mut pic = result.map_err(|_| corrupt("the preview's decoder gave up"))??;
    pic.facts = facts;
    Ok(pic)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn decode_jpeg(bytes: &[u8], want: Want, limits: &MediaLimits) -> Result<Picture, MediaError> {
    let facts = || {
        read_exif_from_container(&mut Cursor::new(bytes)).unwrap_or_else(|| ExifFacts {
            orientation: 1,
            ..Default::default()
        })
    };
    let decoded = super::jpeg::decode_scaled(bytes, limits.max_pixels, |w, h| {
        let (req_w, req_h) = match want {
            Want::Fit(n) => super::thumbs::fit(w, h, n),
            Want::ShortSide(n) => (n, n),
        };
        super::jpeg::numerator_for(w, h, req_w, req_h)
    });
    match decoded {
        Ok(s) => Ok(Picture {
            rgb: s.rgb,
            full_w: s.full_w,
            full_h: s.full_h,
            facts: facts(),
        }),
        Err(JpegError::TooLarge { width, height }) => check_pixels(width, height, limits)
            .and_then(|_| Err(corrupt("the header and the decoder disagree on the size"))),
        // CMYK and the like: the image crate's decoder converts them (full size).
        Err(JpegError::Unsupported(_)) => decode_jpeg_fallback(bytes, facts(), limits),
        Err(JpegError::Truncated) => Err(corrupt("the file is truncated")),
        Err(JpegError::Corrupt(what)) => Err(corrupt(&what)),
    }
}

fn decode_jpeg_fallback(
    bytes: &[u8],
    facts: ExifFacts,
    limits: &MediaLimits,
) -> Result<Picture, MediaError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), ImageFormat::Jpeg);
    reader.limits(image_limits(limits));
    let decoder = reader.into_decoder().map_err(image_error)?;
    let (full_w, full_h) = decoder.dimensions();
    check_pixels(full_w, full_h, limits)?;
    let img = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    Ok(Picture {
        rgb: flatten(img),
        full_w,
        full_h,
        facts,
    })
}

fn decode_other(file: File, path: &Path, limits: &MediaLimits) -> Result<Picture, MediaError> {
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| io_error("reading image", path, e))?;
    let format = match reader.format() {
        Some(f) if is_supported_image_format(f) => f,
        Some(f) => {
            return Err(MediaError::new(
                MediaErrorKind::Unsupported,
                format!(
                    "unsupported image format {}",
                    f.extensions_str().first().unwrap_or(&"?")
                ),
            ));
        }
        None => return Err(corrupt("not a JPEG, PNG, WebP, GIF, TIFF or BMP file")),
    };
    let mut reader = reader;
    reader.limits(image_limits(limits));
    let mut decoder = reader.into_decoder().map_err(image_error)?;
    let (full_w, full_h) = decoder.dimensions();
    check_pixels(full_w, full_h, limits)?;
    let orientation = decoder.orientation().map(|o| o.to_exif()).unwrap_or(1);
    let mut facts = match decoder.exif_metadata() {
        Ok(Some(raw)) => exif::Reader::new()
            .read_raw(raw)
            .ok()
            .map(|e| facts_from_exif(&e)),
        _ => None,
    };
    if facts.is_none() && format == ImageFormat::Tiff && size <= 64 * 1024 * 1024 {
        // A TIFF is itself an EXIF container (kamadak-exif reads it whole, hence the size cap).
        facts = File::open(path)
            .ok()
            .and_then(|f| read_exif_from_container(&mut BufReader::new(f)));
    }
    let mut facts = facts.unwrap_or_default();
    facts.orientation = orientation;
    let img = DynamicImage::from_decoder(decoder).map_err(image_error)?;
    Ok(Picture {
        rgb: flatten(img),
        full_w,
        full_h,
        facts,
    })
}

/// The still-image formats handled here (content-sniffed, whatever the file is called).
pub(crate) fn is_supported_image_format(f: ImageFormat) -> bool {
    matches!(
        f,
        ImageFormat::Jpeg
            | ImageFormat::Png
            | ImageFormat::WebP
            | ImageFormat::Gif
            | ImageFormat::Tiff
            | ImageFormat::Bmp
    )
}

/// RGB for JPEG output; transparency is laid over white, as a viewer's light background would show it.
pub(crate) fn flatten(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for p in rgba.pixels() {
        let a = p[3] as u32;
        for c in 0..3 {
            out.push(((p[c] as u32 * a + 255 * (255 - a) + 127) / 255) as u8);
        }
    }
    RgbImage::from_raw(w, h, out).expect("sizes match")
}

fn image_limits(limits: &MediaLimits) -> image::Limits {
    let mut l = image::Limits::default();
    // Dimensions are checked against max_pixels by us, from the header (a better message); the
    // allocation cap is a second line for decoders that allocate before reporting a size.
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    l
}

pub(crate) fn check_pixels(w: u32, h: u32, limits: &MediaLimits) -> Result<(), MediaError> {
    let pixels = w as u64 * h as u64;
    if w == 0 || h == 0 {
        return Err(corrupt(&format!("the header gives a size of {w}x{h}")));
    }
    if pixels > limits.max_pixels {
        return Err(MediaError::new(
            MediaErrorKind::TooLarge,
            format!(
                "image is {w}x{h} ({} megapixels), over the {} megapixel limit",
                mega(pixels),
                mega(limits.max_pixels)
            ),
        ));
    }
    Ok(())
}

fn mega(pixels: u64) -> String {
    let m = pixels as f64 / 1e6;
    let text = if m >= 10.0 {
        format!("{}", m.round())
    } else if m >= 1.0 {
        format!("{m:.1}")
    } else {
        format!("{m:.2}")
    };
    // "12.0" reads better as "12"
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

pub(crate) fn corrupt(what: &str) -> MediaError {
    MediaError::new(MediaErrorKind::Corrupt, format!("corrupt image: {what}"))
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> MediaError {
    MediaError::new(
        MediaErrorKind::Io,
        format!("{what} {}: {e}", path.display()),
    )
}

fn image_error(e: ImageError) -> MediaError {
    match e {
        ImageError::Limits(l) => MediaError::new(
            MediaErrorKind::TooLarge,
            format!("image is over the memory limit: {l}"),
        ),
        ImageError::Unsupported(u) => MediaError::new(
            MediaErrorKind::Unsupported,
            format!("unsupported image: {u}"),
        ),
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            corrupt("the file is truncated")
        }
        ImageError::IoError(e) => {
            MediaError::new(MediaErrorKind::Io, format!("reading image: {e}"))
        }
        other => corrupt(&other.to_string()),
    }
}
