//! Pictures into CLIP's input tensor: resize (as the model's `preprocess_cfg.json` says), centre
//! crop, scale to [0,1], normalise with the config's mean/std, channels first. Also a decoder that
//! reads a picture file at the smallest size CLIP needs (JPEG DCT scaling) with EXIF orientation.

use std::path::Path;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;
use serde::Deserialize;

use super::MlError;

/// How the picture is fitted into the model's square input (open_clip's `resize_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResizeMode {
    /// Shortest side to `size`, then centre crop (open_clip's default; all of Immich's CLIP models).
    Shortest,
    /// Longest side to `size`, then pad with `fill_color` to a square.
    Longest,
    /// Both sides to `size`, ignoring the aspect ratio.
    Squash,
}

/// The visual preprocessing of one model, read from `visual/preprocess_cfg.json`.
#[derive(Debug, Clone)]
pub struct Preprocess {
    pub size: u32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub mode: ResizeMode,
    pub interpolation: String,
    pub fill: u8,
    filter: ResizeAlg,
    /// `(v / 255 - mean) / std` for every byte value, per channel.
    lut: [[f32; 256]; 3],
}

#[derive(Deserialize)]
struct RawConfig {
    size: SizeField,
    mean: Vec<f32>,
    std: Vec<f32>,
    #[serde(default = "bicubic")]
    interpolation: String,
    #[serde(default = "shortest")]
    resize_mode: String,
    #[serde(default)]
    fill_color: Option<f64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeField {
    One(u32),
    Two(Vec<u32>),
}

fn bicubic() -> String {
    "bicubic".into()
}
fn shortest() -> String {
    "shortest".into()
}

impl Preprocess {
    /// Parses a `preprocess_cfg.json` (open_clip's `get_model_preprocess_cfg`, as Immich exports it).
    pub fn from_json(text: &str) -> Result<Preprocess, String> {
        let raw: RawConfig = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let size = match raw.size {
            SizeField::One(s) => s,
            SizeField::Two(v) if v.len() == 2 && v[0] == v[1] => v[0],
            SizeField::Two(v) => {
                return Err(format!("size {v:?}: only square inputs are supported"));
            }
        };
        if !(16..=4096).contains(&size) {
            return Err(format!("size {size} is out of range"));
        }
        let three = |v: &[f32], what: &str| -> Result<[f32; 3], String> {
            match v {
                [a] => Ok([*a, *a, *a]),
                [a, b, c] => Ok([*a, *b, *c]),
                _ => Err(format!("{what} must have 1 or 3 values")),
            }
        };
        let mean = three(&raw.mean, "mean")?;
        let std = three(&raw.std, "std")?;
        if std.iter().any(|s| s.is_nan() || *s <= 0.0) {
            return Err("std values must be positive".into());
        }
        let mode = match raw.resize_mode.as_str() {
            "shortest" => ResizeMode::Shortest,
            "longest" => ResizeMode::Longest,
            "squash" => ResizeMode::Squash,
            other => return Err(format!("unsupported resize_mode {other:?}")),
        };
        let filter = match raw.interpolation.as_str() {
            // PIL's BICUBIC (what open_clip uses on PIL images) is Keys' cubic with a = -0.5,
            // i.e. Catmull-Rom, widened when shrinking (antialiasing) just like fast_image_resize.
            "bicubic" => ResizeAlg::Convolution(FilterType::CatmullRom),
            "bilinear" => ResizeAlg::Convolution(FilterType::Bilinear),
            "lanczos" => ResizeAlg::Convolution(FilterType::Lanczos3),
            "box" => ResizeAlg::Convolution(FilterType::Box),
            "nearest" => ResizeAlg::Nearest,
            other => return Err(format!("unsupported interpolation {other:?}")),
        };
        let fill = raw.fill_color.unwrap_or(0.0).clamp(0.0, 255.0) as u8;
        Ok(Preprocess::new(
            size,
            mean,
            std,
            mode,
            raw.interpolation,
            filter,
            fill,
        ))
    }

    fn new(
        size: u32,
        mean: [f32; 3],
        std: [f32; 3],
        mode: ResizeMode,
        interpolation: String,
        filter: ResizeAlg,
        fill: u8,
    ) -> Preprocess {
        let mut lut = [[0f32; 256]; 3];
        for (c, table) in lut.iter_mut().enumerate() {
            for (v, slot) in table.iter_mut().enumerate() {
                *slot = (v as f32 / 255.0 - mean[c]) / std[c];
            }
        }
        Preprocess {
            size,
            mean,
            std,
            mode,
            interpolation,
            fill,
            filter,
            lut,
        }
    }

    /// Values per picture in the tensor: 3 × size × size.
    pub fn tensor_len(&self) -> usize {
        3 * self.size as usize * self.size as usize
    }

    /// Writes one picture into `out` (length [`Self::tensor_len`]), CHW order.
    pub fn to_tensor(&self, img: &RgbImage, out: &mut [f32]) -> Result<(), MlError> {
        let fitted = self.fit(img)?;
        let plane = self.size as usize * self.size as usize;
        assert_eq!(out.len(), 3 * plane, "tensor slot has the wrong length");
        let (r, rest) = out.split_at_mut(plane);
        let (g, b) = rest.split_at_mut(plane);
        for (i, px) in fitted.buffer().chunks_exact(3).enumerate() {
            r[i] = self.lut[0][px[0] as usize];
            g[i] = self.lut[1][px[1] as usize];
            b[i] = self.lut[2][px[2] as usize];
        }
        Ok(())
    }

    /// The picture as the model sees it (size × size RGB), before normalisation.
    pub fn fit(&self, img: &RgbImage) -> Result<Image<'static>, MlError> {
        let (w, h) = img.dimensions();
        if w == 0 || h == 0 {
            return Err(MlError::Inference("empty picture (0 pixels)".into()));
        }
        let src = ImageRef::new(w, h, img.as_raw(), PixelType::U8x3)
            .map_err(|e| MlError::Inference(format!("picture buffer: {e}")))?;
        let size = self.size;
        let mut resizer = Resizer::new();
        let resize = |dst: &mut Image<'static>, opts: ResizeOptions, resizer: &mut Resizer| {
            resizer
                .resize(&src, dst, &opts)
                .map_err(|e| MlError::Inference(format!("resize: {e}")))
        };
        let opts = ResizeOptions::new().resize_alg(self.filter);
        match self.mode {
            ResizeMode::Squash => {
                let mut dst = Image::new(size, size, PixelType::U8x3);
                resize(&mut dst, opts, &mut resizer)?;
                Ok(dst)
            }
            ResizeMode::Shortest => {
                // torchvision Resize(size) (short side to `size`, long side floored) then
                // CenterCrop(size), done as one resize of the matching source window: the filter
                // still reads pixels outside the window, so the result is the same, for less work.
                let (rw, rh) = if w <= h {
                    (size, (size as u64 * h as u64 / w as u64).max(1) as u32)
                } else {
                    ((size as u64 * w as u64 / h as u64).max(1) as u32, size)
                };
                let crop_left = ((rw as f64 - size as f64) / 2.0).round_ties_even();
                let crop_top = ((rh as f64 - size as f64) / 2.0).round_ties_even();
                let (sx, sy) = (w as f64 / rw as f64, h as f64 / rh as f64);
                let mut dst = Image::new(size, size, PixelType::U8x3);
                let opts = opts.crop(
                    crop_left * sx,
                    crop_top * sy,
                    size as f64 * sx,
                    size as f64 * sy,
                );
                resize(&mut dst, opts, &mut resizer)?;
                Ok(dst)
            }
            ResizeMode::Longest => {
                let scale = size as f64 / w.max(h) as f64;
                let nw = ((w as f64 * scale).round() as u32).clamp(1, size);
                let nh = ((h as f64 * scale).round() as u32).clamp(1, size);
                let mut small = Image::new(nw, nh, PixelType::U8x3);
                resize(&mut small, opts, &mut resizer)?;
                let mut dst = Image::from_vec_u8(
                    size,
                    size,
                    vec![self.fill; (size * size * 3) as usize],
                    PixelType::U8x3,
                )
                .map_err(|e| MlError::Inference(format!("resize: {e}")))?;
                let (ox, oy) = ((size - nw) / 2, (size - nh) / 2);
                let row = nw as usize * 3;
                let dbuf = dst.buffer_mut();
                for y in 0..nh as usize {
                    let d = ((oy as usize + y) * size as usize + ox as usize) * 3;
                    dbuf[d..d + row].copy_from_slice(&small.buffer()[y * row..(y + 1) * row]);
                }
                Ok(dst)
            }
        }
    }
}

/// Reads a picture file for CLIP: JPEGs are decoded at the smallest DCT scale (1/8, 1/4, 1/2, 1)
/// that keeps the shortest side at least `min_side` pixels (a 12 MP photo decodes at 1/8 in a few
/// milliseconds); other formats through the `image` crate. EXIF orientation is applied, so
/// sideways phone photos are seen upright.
pub fn decode_for_clip(path: &Path, min_side: u32) -> Result<RgbImage, MlError> {
    let bytes = std::fs::read(path)
        .map_err(|e| MlError::Inference(format!("cannot read {}: {e}", path.display())))?;
    decode_bytes_for_clip(&bytes, min_side)
        .map_err(|e| MlError::Inference(format!("{}: {e}", path.display())))
}

/// [`decode_for_clip`] on bytes already in memory.
pub fn decode_bytes_for_clip(bytes: &[u8], min_side: u32) -> Result<RgbImage, String> {
    let img = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        match decode_jpeg_scaled(bytes, min_side) {
            Ok(img) => img,
            // CMYK and other odd files: let the `image` crate's decoder try at full size.
            Err(_) => decode_with_image_crate(bytes)?,
        }
    } else {
        decode_with_image_crate(bytes)?
    };
    Ok(apply_orientation(img, exif_orientation(bytes)))
}

fn decode_with_image_crate(bytes: &[u8]) -> Result<RgbImage, String> {
    image::load_from_memory(bytes)
        .map(|d| d.to_rgb8())
        .map_err(|e| format!("cannot decode picture: {e}"))
}

fn decode_jpeg_scaled(bytes: &[u8], min_side: u32) -> Result<RgbImage, String> {
    // Largest reduction that keeps both sides >= min_side; the media job's default pixel limit.
    let max_pixels = crate::media::MediaLimits::default().max_pixels;
    let decoded = crate::media::jpeg::decode_scaled(bytes, max_pixels, |w, h| {
        crate::media::jpeg::numerator_for(w, h, min_side, min_side)
    });
    decoded.map(|s| s.rgb).map_err(|e| e.to_string())
}

fn exif_orientation(bytes: &[u8]) -> u32 {
    let mut cursor = std::io::Cursor::new(bytes);
    exif::Reader::new()
        .read_from_container(&mut cursor)
        .ok()
        .and_then(|e| {
            e.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
                .and_then(|f| f.value.get_uint(0))
        })
        .unwrap_or(1)
}

fn apply_orientation(img: RgbImage, orientation: u32) -> RgbImage {
    use image::imageops;
    match orientation {
        2 => imageops::flip_horizontal(&img),
        3 => imageops::rotate180(&img),
        4 => imageops::flip_vertical(&img),
        5 => imageops::flip_horizontal(&imageops::rotate90(&img)),
        6 => imageops::rotate90(&img),
        7 => imageops::flip_horizontal(&imageops::rotate270(&img)),
        8 => imageops::rotate270(&img),
        _ => img,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAI_CFG: &str = r#"{"size": [224, 224], "mode": "RGB", "mean": [0.48145466, 0.4578275, 0.40821073],
        "std": [0.26862954, 0.26130258, 0.27577711], "interpolation": "bicubic", "resize_mode": "shortest", "fill_color": 0}"#;

    fn cfg() -> Preprocess {
        Preprocess::from_json(OPENAI_CFG).unwrap()
    }

    fn at(t: &[f32], c: usize, x: usize, y: usize) -> f32 {
        t[c * 224 * 224 + y * 224 + x]
    }

    #[test]
    fn config_is_read_like_immich_exports_it() {
        let p = cfg();
        assert_eq!(p.size, 224);
        assert_eq!(p.mode, ResizeMode::Shortest);
        assert_eq!(p.std[1], 0.261_302_6);
        assert!(Preprocess::from_json(r#"{"size": 224, "mean": [0.5], "std": [0.5]}"#).is_ok());
        assert!(
            Preprocess::from_json(r#"{"size": [224, 200], "mean": [0.5], "std": [0.5]}"#).is_err()
        );
        assert!(
            Preprocess::from_json(
                r#"{"size": 224, "mean": [0.5], "std": [0], "resize_mode": "shortest"}"#
            )
            .is_err()
        );
        let err = Preprocess::from_json(
            r#"{"size": 224, "mean": [0.5], "std": [0.5], "resize_mode": "zoom"}"#,
        )
        .unwrap_err();
        assert!(err.contains("zoom"), "{err}");
    }

    #[test]
    fn uniform_grey_normalises_with_mean_and_std() {
        let p = cfg();
        let img = RgbImage::from_pixel(500, 300, image::Rgb([128, 128, 128]));
        let mut t = vec![0f32; p.tensor_len()];
        p.to_tensor(&img, &mut t).unwrap();
        for c in 0..3 {
            let want = (128.0 / 255.0 - p.mean[c]) / p.std[c];
            for (x, y) in [(0, 0), (111, 57), (223, 223)] {
                assert!(
                    (at(&t, c, x, y) - want).abs() < 1e-6,
                    "channel {c}: {} vs {want}",
                    at(&t, c, x, y)
                );
            }
        }
    }

    #[test]
    fn shortest_side_is_resized_then_the_centre_is_cropped() {
        // 640×320, three vertical bands: red | green | blue, the green band in the middle half.
        // Short side 320 → 224 makes it 448 wide; the centre 224 columns are exactly the green band.
        let img = RgbImage::from_fn(640, 320, |x, _| match x {
            0..160 => image::Rgb([255, 0, 0]),
            160..480 => image::Rgb([0, 255, 0]),
            _ => image::Rgb([0, 0, 255]),
        });
        let p = cfg();
        let mut t = vec![0f32; p.tensor_len()];
        p.to_tensor(&img, &mut t).unwrap();
        let lo = |c: usize| -p.mean[c] / p.std[c];
        let hi = |c: usize| (1.0 - p.mean[c]) / p.std[c];
        for x in [3, 50, 112, 200, 220] {
            for y in [0, 100, 223] {
                assert!((at(&t, 0, x, y) - lo(0)).abs() < 1e-5, "red at {x},{y}");
                assert!((at(&t, 1, x, y) - hi(1)).abs() < 1e-5, "green at {x},{y}");
                assert!((at(&t, 2, x, y) - lo(2)).abs() < 1e-5, "blue at {x},{y}");
            }
        }
        // The edge columns see the neighbouring bands through the bicubic filter (as a resize
        // followed by a crop does): red bleeds into column 0, blue into column 223.
        assert!(at(&t, 0, 0, 100) > lo(0) + 0.05 || at(&t, 1, 0, 100) < hi(1) - 0.05);
        assert!(at(&t, 2, 223, 100) > lo(2) + 0.05 || at(&t, 1, 223, 100) < hi(1) - 0.05);

        // Portrait: the crop is vertical. 300×900 with a white middle third on black.
        let img = RgbImage::from_fn(300, 900, |_, y| {
            if (300..600).contains(&y) {
                image::Rgb([255; 3])
            } else {
                image::Rgb([0; 3])
            }
        });
        p.to_tensor(&img, &mut t).unwrap();
        for y in [2, 112, 221] {
            assert!((at(&t, 0, 100, y) - hi(0)).abs() < 1e-5, "white row {y}");
        }
    }

    #[test]
    fn squash_and_longest_modes() {
        let img = RgbImage::from_fn(400, 100, |x, _| {
            if x < 200 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        });
        let squash = Preprocess::from_json(
            r#"{"size": 32, "mean": [0], "std": [1], "resize_mode": "squash"}"#,
        )
        .unwrap();
        let f = squash.fit(&img).unwrap();
        assert_eq!((f.width(), f.height()), (32, 32));
        assert_eq!(&f.buffer()[0..3], &[255, 0, 0]);
        let longest = Preprocess::from_json(
            r#"{"size": 32, "mean": [0], "std": [1], "resize_mode": "longest", "fill_color": 7}"#,
        )
        .unwrap();
        let f = longest.fit(&img).unwrap();
        assert_eq!(&f.buffer()[0..3], &[7, 7, 7], "padding above the picture");
        let mid = (16 * 32 + 2) * 3;
        assert_eq!(&f.buffer()[mid..mid + 3], &[255, 0, 0]);
    }

    #[test]
    fn jpegs_decode_at_reduced_scale_but_never_below_the_model_size() {
        let img = RgbImage::from_fn(2000, 1200, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
        });
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85)
            .encode_image(&img)
            .unwrap();
        let small = decode_bytes_for_clip(&jpeg, 224).unwrap();
        assert_eq!(
            small.dimensions(),
            (500, 300),
            "1/4 scale: 1/8 would make the short side 150"
        );
        let full = decode_bytes_for_clip(&jpeg, 1200).unwrap();
        assert_eq!(full.dimensions(), (2000, 1200));
        let tiny = RgbImage::from_pixel(100, 80, image::Rgb([10, 200, 30]));
        let mut png = Vec::new();
        tiny.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(
            decode_bytes_for_clip(&png, 224).unwrap().dimensions(),
            (100, 80)
        );
        assert!(decode_bytes_for_clip(b"not a picture", 224).is_err());
    }

    #[test]
    fn exif_orientation_turns_the_picture_upright() {
        let img = RgbImage::from_fn(40, 20, |x, _| {
            if x < 20 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        });
        let turned = apply_orientation(img.clone(), 6);
        assert_eq!(turned.dimensions(), (20, 40));
        assert_eq!(
            turned.get_pixel(0, 0).0,
            [255, 0, 0],
            "rotated 90° clockwise: the left half is on top"
        );
        assert_eq!(turned.get_pixel(0, 39).0, [0, 0, 255]);
        assert_eq!(apply_orientation(img.clone(), 1), img);
    }
}
