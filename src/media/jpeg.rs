//! JPEG decoding with libjpeg-turbo's decoder (vendored and built by the `mozjpeg` crate, with its
//! SIMD code when `nasm` is present at build time) and DCT-domain scaling: a 12 MP photo wanted as
//! a 256-px thumbnail is decoded at 1/8 scale, never in full. This is the decoder Pillow's draft
//! mode uses (`bench/thumbnails.sh`).
//!
//! libjpeg reports fatal errors through a callback that must not return; ours unwinds (the
//! callbacks are `C-unwind`) and the unwind is caught here, so a hostile file is an error, never
//! a crash. A premature end of data is only a warning to libjpeg (it fills the rest with grey);
//! here it is an error, as in Pillow.

use std::os::raw::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use image::RgbImage;
use mozjpeg_sys as ffi;

/// A decoded JPEG, possibly reduced, in its stored orientation.
pub struct Scaled {
    pub rgb: RgbImage,
    /// Full size from the header.
    pub full_w: u32,
    pub full_h: u32,
}

#[derive(Debug)]
pub enum JpegError {
    /// The header says more pixels than allowed: nothing was decoded.
    TooLarge {
        width: u32,
        height: u32,
    },
    /// The data ends before the image does.
    Truncated,
    /// CMYK/YCCK and the like: let a general decoder convert it.
    Unsupported(String),
    Corrupt(String),
}

impl std::fmt::Display for JpegError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JpegError::TooLarge { width, height } => {
                write!(f, "{width}x{height} pixels is over the limit")
            }
            JpegError::Truncated => f.write_str("the file is truncated"),
            JpegError::Unsupported(what) => write!(f, "unsupported JPEG: {what}"),
            JpegError::Corrupt(what) => f.write_str(what),
        }
    }
}

/// The panic payload of a truncated file (told apart from other libjpeg errors).
const TRUNCATED: &str = "premature end of JPEG data";

/// Decodes `bytes` to RGB at `numerator / 8` of full size, where `pick(full_w, full_h)` chooses
/// the numerator (1, 2, 4 or 8) once the header is read. Refused before any pixel is decoded when
/// the header says more than `max_pixels`.
pub fn decode_scaled(
    bytes: &[u8],
    max_pixels: u64,
    pick: impl FnOnce(u32, u32) -> u8,
) -> Result<Scaled, JpegError> {
    let decoded = catch_unwind(AssertUnwindSafe(|| -> Result<Scaled, JpegError> {
        let corrupt = |e: std::io::Error| JpegError::Corrupt(e.to_string());
        let mut d = mozjpeg::Decompress::builder()
            .with_err(error_mgr())
            .from_mem(bytes)
            .map_err(corrupt)?;
        let (full_w, full_h) = (d.width() as u32, d.height() as u32);
        if full_w == 0 || full_h == 0 {
            return Err(JpegError::Corrupt("the image has no pixels".into()));
        }
        if u64::from(full_w) * u64::from(full_h) > max_pixels {
            return Err(JpegError::TooLarge {
                width: full_w,
                height: full_h,
            });
        }
        match d.color_space() {
            ffi::J_COLOR_SPACE::JCS_GRAYSCALE
            | ffi::J_COLOR_SPACE::JCS_YCbCr
            | ffi::J_COLOR_SPACE::JCS_RGB => {}
            other => return Err(JpegError::Unsupported(format!("colour space {other:?}"))),
        }
        d.scale(pick(full_w, full_h).clamp(1, 8));
        let mut started = d.rgb().map_err(corrupt)?;
        let (w, h) = (started.width() as u32, started.height() as u32);
        let pixels: Vec<u8> = started.read_scanlines().map_err(corrupt)?;
        started.finish().map_err(corrupt)?;
        let rgb = RgbImage::from_raw(w, h, pixels)
            .ok_or_else(|| JpegError::Corrupt("the decoder returned a short image".into()))?;
        Ok(Scaled {
            rgb,
            full_w,
            full_h,
        })
    }));
    match decoded {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the decoder gave up".into());
            if msg == TRUNCATED {
                Err(JpegError::Truncated)
            } else {
                Err(JpegError::Corrupt(msg))
            }
        }
    }
}

/// The smallest of 1/8, 1/4, 1/2, 1 whose size (rounded up, as libjpeg does) reaches `want_w` x
/// `want_h`; full size when nothing smaller does.
pub fn numerator_for(full_w: u32, full_h: u32, want_w: u32, want_h: u32) -> u8 {
    [1u8, 2, 4, 8]
        .into_iter()
        .find(|&n| {
            (full_w * n as u32).div_ceil(8) >= want_w.min(full_w)
                && (full_h * n as u32).div_ceil(8) >= want_h.min(full_h)
        })
        .unwrap_or(8)
}

fn error_mgr() -> ffi::jpeg_error_mgr {
    // SAFETY: jpeg_std_error fills every field of the zeroed struct it is given.
    let mut err: ffi::jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { ffi::jpeg_std_error(&mut err) };
    err.error_exit = Some(fatal);
    err.emit_message = Some(message);
    err
}

unsafe extern "C-unwind" fn fatal(cinfo: &mut ffi::jpeg_common_struct) {
    // SAFETY: libjpeg calls this with its own valid struct, whose err points at our manager.
    let text = unsafe { formatted(cinfo) };
    resume_unwind(Box::new(format!("libjpeg: {text}")));
}

/// Warnings (level -1) are tolerated, as libjpeg and Pillow do (many cameras write a few stray
/// bytes), except the end of the data arriving before the end of the image.
unsafe extern "C-unwind" fn message(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
    // SAFETY: as in `fatal`.
    let code = unsafe { (*cinfo.err).msg_code };
    if level < 0 && code == ffi::JWRN_JPEG_EOF as c_int {
        resume_unwind(Box::new(TRUNCATED.to_string()));
    }
}

unsafe fn formatted(cinfo: &mut ffi::jpeg_common_struct) -> String {
    let err = unsafe { &*cinfo.err };
    let code = err.msg_code;
    match err.format_message {
        Some(format) => {
            let mut buf = [0u8; 80];
            // SAFETY: format_message writes at most JMSG_LENGTH_MAX (80) bytes, NUL included, into
            // the buffer; the binding declares it `&[u8; 80]`, so it is called through a pointer
            // type that says it writes.
            let format: unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, *mut [u8; 80]) =
                unsafe { std::mem::transmute(format) };
            unsafe { format(cinfo, &mut buf) };
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            String::from_utf8_lossy(&buf[..end]).into_owned()
        }
        None => format!("error {code}"),
    }
}
