//! HEIC/HEIF and AVIF stills through libheif (`libheif-rs`, libheif built from `libheif-sys`'s
//! embedded sources and linked against the system's libde265 for HEVC and dav1d for AV1: Debian 12
//! ships libheif 1.15, older than the crate's 1.17).
//!
//! What a phone's HEIC needs beyond "decode the primary image":
//! - a grid (how iPhones store a large photo: 48 or so HEVC tiles) is put together by libheif; a
//!   burst or a file with several images gives its primary image, so one picture per file;
//! - rotation and mirroring are container properties (`irot`, `imir`) that libheif applies while
//!   decoding. iPhones also write the same turn as EXIF orientation, which must then not be applied
//!   a second time. Encoders that wrote no such property (libheif's own `heif-enc` before 1.16 copies
//!   a JPEG's EXIF orientation and nothing else) have only EXIF to say how to show the picture, so
//!   EXIF orientation is honoured exactly when the primary image has no `irot`/`imir`;
//! - EXIF (date with offset, camera, GPS) is a metadata item of the primary image, read with
//!   kamadak-exif like a JPEG's;
//! - the decompression-bomb limit is checked from the header (`ispe`) before anything is decoded,
//!   and given to libheif's own security limits, which also bound grids and tiles.

use std::ffi::c_void;

use libheif_rs::{
    ColorSpace, DecodingOptions, FileTypeResult, HeifContext, HeifError, HeifErrorCode,
    ImageHandle, LibHeif, RgbChroma,
};

use super::metadata::{ExifFacts, facts_from_exif};
use super::picture::{Picture, check_pixels, corrupt};
use super::{MediaError, MediaErrorKind, MediaLimits};

/// Whether the first bytes of a file (at least 12) are an HEIF or AVIF file libheif reads.
pub(crate) fn sniff(head: &[u8]) -> bool {
    head.len() >= 12
        && matches!(
            libheif_rs::check_file_type(head),
            FileTypeResult::Supported | FileTypeResult::Unsupported
        )
}

/// Decodes the primary image of an HEIF/AVIF file at full size (libheif has no reduced-scale
/// decode) as RGB, transforms applied; `facts.orientation` is what is left to apply (EXIF's, only
/// when the file has no transform properties).
pub(crate) fn decode(bytes: &[u8], limits: &MediaLimits) -> Result<Picture, MediaError> {
    let lib = LibHeif::new();
    let mut ctx = HeifContext::new().map_err(heif_error)?;
    let mut security = ctx.security_limits();
    security.set_max_image_size_pixels(limits.max_pixels);
    ctx.set_security_limits(&security).map_err(heif_error)?;
    // One picture, one thread: the worker pool decides how many photos are decoded at once.
    ctx.set_max_decoding_threads(1);
    ctx.read_bytes(bytes).map_err(heif_error)?;
    let handle = ctx.primary_image_handle().map_err(heif_error)?;
    check_pixels(handle.width(), handle.height(), limits)?;

    let mut facts = exif_facts(&handle).unwrap_or_default();
    // No EXIF at all leaves 0: nothing to turn either.
    if facts.orientation == 0 || primary_has_turn_or_mirror(bytes) {
        facts.orientation = 1;
    }

    let alpha = handle.has_alpha_channel();
    let chroma = if alpha {
        RgbChroma::Rgba
    } else {
        RgbChroma::Rgb
    };
    let options = DecodingOptions::new().map(|mut o| {
        o.set_convert_hdr_to_8bit(true);
        o
    });
    let image = lib
        .decode(&handle, ColorSpace::Rgb(chroma), options)
        .map_err(heif_error)?;
    let (w, h) = (image.width(), image.height());
    let planes = image.planes();
    let plane = planes
        .interleaved
        .ok_or_else(|| corrupt("libheif gave no interleaved RGB plane"))?;
    let channels = if alpha { 4 } else { 3 };
    let row = w as usize * channels;
    if plane.stride < row || plane.data.len() < plane.stride * (h as usize - 1) + row {
        return Err(corrupt("libheif gave a plane smaller than the image"));
    }
    let mut pixels = Vec::with_capacity(row * h as usize);
    for y in 0..h as usize {
        pixels.extend_from_slice(&plane.data[y * plane.stride..y * plane.stride + row]);
    }
    let img = if alpha {
        image::DynamicImage::ImageRgba8(
            image::RgbaImage::from_raw(w, h, pixels).expect("sizes match"),
        )
    } else {
        image::DynamicImage::ImageRgb8(
            image::RgbImage::from_raw(w, h, pixels).expect("sizes match"),
        )
    };
    Ok(Picture {
        rgb: super::picture::flatten(img),
        full_w: w,
        full_h: h,
        facts,
    })
}

/// The primary image's EXIF (an `Exif` item: a 4-byte offset to the TIFF header, then the header).
fn exif_facts(handle: &ImageHandle) -> Option<ExifFacts> {
    let block = handle
        .all_metadata()
        .into_iter()
        .find(|m| &m.item_type.0 == b"Exif")?;
    let data = block.raw_data;
    let skip = u32::from_be_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let tiff = data.get(4usize.checked_add(skip)?..)?;
    // Some writers leave the JPEG APP1 "Exif\0\0" prefix in front of the TIFF header.
    let tiff = tiff.strip_prefix(b"Exif\0\0").unwrap_or(tiff);
    let exif = exif::Reader::new().read_raw(tiff.to_vec()).ok()?;
    Some(facts_from_exif(&exif))
}

/// Whether the primary image carries a rotation (`irot`) or mirror (`imir`) property, which libheif
/// applies while decoding. libheif-rs does not expose item properties, so this asks libheif
/// through `libheif-sys` on a second, metadata-only read of the same bytes (no pixels decoded).
fn primary_has_turn_or_mirror(bytes: &[u8]) -> bool {
    use libheif_sys as lh;
    // SAFETY: the context is allocated, used and freed here; libheif reads `bytes` (which outlive
    // the context) without copying and without keeping a pointer after `heif_context_free`.
    unsafe {
        let ctx = lh::heif_context_alloc();
        if ctx.is_null() {
            return false;
        }
        let mut found = false;
        let err = lh::heif_context_read_from_memory_without_copy(
            ctx,
            bytes.as_ptr() as *const c_void,
            bytes.len(),
            std::ptr::null(),
        );
        let mut id: lh::heif_item_id = 0;
        if err.code == lh::heif_error_code_heif_error_Ok
            && lh::heif_context_get_primary_image_ID(ctx, &mut id).code
                == lh::heif_error_code_heif_error_Ok
        {
            let mut props = [0 as lh::heif_property_id; 16];
            let n = lh::heif_item_get_transformation_properties(
                ctx,
                id,
                props.as_mut_ptr(),
                props.len() as i32,
            )
            .clamp(0, props.len() as i32) as usize;
            found = props[..n].iter().any(|&p| {
                let t = lh::heif_item_get_property_type(ctx, id, p);
                t == lh::heif_item_property_type_heif_item_property_type_transform_rotation
                    || t == lh::heif_item_property_type_heif_item_property_type_transform_mirror
            });
        }
        lh::heif_context_free(ctx);
        found
    }
}

fn heif_error(e: HeifError) -> MediaError {
    let kind = match e.code {
        HeifErrorCode::UnsupportedFileType
        | HeifErrorCode::UnsupportedFeature
        | HeifErrorCode::DecoderPluginError
        | HeifErrorCode::PluginLoadingError => MediaErrorKind::Unsupported,
        HeifErrorCode::MemoryAllocationError => MediaErrorKind::TooLarge,
        _ => MediaErrorKind::Corrupt,
    };
    let what = e.message.trim();
    let what = if what.is_empty() {
        format!("{:?} / {:?}", e.code, e.sub_code)
    } else {
        what.to_string()
    };
    match kind {
        MediaErrorKind::Corrupt => corrupt(&format!("HEIF: {what}")),
        MediaErrorKind::TooLarge => {
            MediaError::new(kind, format!("HEIF image over the limits: {what}"))
        }
        _ => MediaError::new(kind, format!("unsupported HEIF/AVIF image: {what}")),
    }
}
