//! RAW photos: thumbnails from the JPEG preview the camera or phone embedded (what most viewers
//! show), EXIF from the RAW itself. The sensor data is never developed: a RAW without a usable
//! preview fails with that reason.
//!
//! Where the preview is:
//! - TIFF-based RAWs (DNG including Apple ProRAW, CR2, NEF, NRW, ARW, SRF, SR2, PEF, SRW, and ORF
//!   and RW2, whose headers say `IIRO`/`MMOR`/`IIU\0` instead of TIFF's): a JPEG referenced from an
//!   IFD (the IFD chain or SubIFDs) by `JPEGInterchangeFormat`/`…Length`, as one strip of a
//!   JPEG-compressed reduced-resolution image, or by Panasonic's `JpgFromRaw` (0x2E); the largest
//!   baseline or progressive JPEG wins (lossless JPEG is sensor data, not a picture);
//! - RAF: the header's offset and length at bytes 84 and 88;
//! - CR3 (ISO base media): the `PRVW` box.
//!
//! Why not the `rawler` crate: it decodes previews to full-size pixels (losing the JPEG decoder's
//! reduced-scale decode, the bulk of a thumbnail's speed), lacks ORF previews, and brings a large
//! LGPL tree; finding a preview is a bounded walk over a documented container, done here with
//! every offset checked against the file's length.

use super::metadata::{ExifFacts, facts_from_exif, read_exif_from_container};
use super::{MediaError, MediaErrorKind};

/// At most this many IFDs are visited (a loop or a hostile file cannot make it walk for ever).
const MAX_IFDS: usize = 32;

/// The largest usable embedded JPEG of a RAW file and the RAW's EXIF (orientation from the RAW
/// when it says one, else from the preview's own EXIF).
pub(crate) fn preview(bytes: Vec<u8>) -> Result<(Vec<u8>, ExifFacts), MediaError> {
    let (jpeg, container_exif) = if bytes.starts_with(b"FUJIFILMCCD-RAW") {
        (raf_preview(&bytes), None)
    } else if bytes.get(4..8) == Some(b"ftyp") {
        (cr3_preview(&bytes), None)
    } else if let Some(le) = tiff_order(&bytes) {
        let jpeg = tiff_previews(&bytes, le)
            .into_iter()
            .max_by_key(|(_, pixels)| *pixels)
            .map(|(range, _)| bytes[range].to_vec());
        (jpeg, Some(tiff_exif(bytes, le)))
    } else {
        return Err(MediaError::new(
            MediaErrorKind::Corrupt,
            "corrupt image: not a RAW file this server knows (TIFF-based, RAF or CR3)",
        ));
    };
    let Some(jpeg) = jpeg else {
        return Err(MediaError::new(
            MediaErrorKind::Unsupported,
            "RAW photo without an embedded JPEG preview: developing the sensor data is not supported",
        ));
    };
    let own = read_exif_from_container(&mut std::io::Cursor::new(&jpeg));
    let facts = match (container_exif.flatten(), own) {
        (Some(mut raw), own) => {
            if raw.orientation <= 1 {
                raw.orientation = own.as_ref().map_or(1, |o| o.orientation);
            }
            raw
        }
        (None, Some(own)) => own,
        (None, None) => ExifFacts {
            orientation: 1,
            ..Default::default()
        },
    };
    Ok((jpeg, facts))
}

/// Little-endian (`Some(true)`) or big-endian TIFF-like header, with the RAW variants' magics.
fn tiff_order(b: &[u8]) -> Option<bool> {
    match b.get(..4)? {
        [b'I', b'I', 42, 0] | b"IIRO" | [b'I', b'I', b'U', 0] => Some(true),
        [b'M', b'M', 0, 42] | b"MMOR" => Some(false),
        _ => None,
    }
}

/// EXIF of a TIFF-based RAW, read by kamadak-exif after giving the header TIFF's own magic
/// (ORF and RW2 keep TIFF's layout behind another magic).
fn tiff_exif(mut bytes: Vec<u8>, le: bool) -> Option<ExifFacts> {
    bytes[..4].copy_from_slice(if le { b"II*\0" } else { b"MM\0*" });
    let exif = exif::Reader::new().read_raw(bytes).ok()?;
    Some(facts_from_exif(&exif))
}

/// One IFD entry: tag, type, count, where the value (or its offset) is in the file.
type Entry = (u16, u16, u32, usize);

struct Tiff<'a> {
    b: &'a [u8],
    le: bool,
}

impl Tiff<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let s: [u8; 2] = self.b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.le {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let s: [u8; 4] = self.b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    }

    /// The entries of the IFD at `at` and the next IFD's offset.
    fn entries(&self, at: usize) -> Option<(Vec<Entry>, u32)> {
        let n = self.u16(at)? as usize;
        let mut out = Vec::with_capacity(n.min(512));
        for i in 0..n.min(512) {
            let e = at + 2 + i * 12;
            out.push((self.u16(e)?, self.u16(e + 2)?, self.u32(e + 4)?, e + 8));
        }
        let next = self.u32(at + 2 + n * 12).unwrap_or(0);
        Some((out, next))
    }

    /// The `i`-th unsigned value of an entry (SHORT or LONG), inline or at its offset.
    fn value(&self, kind: u16, count: u32, field: usize, i: u32) -> Option<u32> {
        if i >= count {
            return None;
        }
        let size = match kind {
            3 => 2,
            4 | 13 => 4,
            _ => return None,
        };
        let base = if size as u64 * count as u64 <= 4 {
            field
        } else {
            self.u32(field)? as usize
        };
        let at = base.checked_add(i as usize * size)?;
        if size == 2 {
            self.u16(at).map(u32::from)
        } else {
            self.u32(at)
        }
    }
}

/// Every baseline/progressive JPEG an IFD of the file points to: (byte range, pixels).
fn tiff_previews(b: &[u8], le: bool) -> Vec<(std::ops::Range<usize>, u64)> {
    let t = Tiff { b, le };
    let mut found = Vec::new();
    let mut queue: Vec<u32> = t.u32(4).into_iter().collect();
    let mut seen = std::collections::HashSet::new();
    while let Some(off) = queue.pop() {
        if off == 0 || !seen.insert(off) || seen.len() > MAX_IFDS {
            continue;
        }
        let Some((entries, next)) = t.entries(off as usize) else {
            continue;
        };
        queue.push(next);
        let get = |tag: u16, i: u32| {
            entries
                .iter()
                .find(|e| e.0 == tag)
                .and_then(|&(_, kind, count, field)| t.value(kind, count, field, i))
        };
        for &(tag, kind, count, field) in &entries {
            if tag == 0x014A {
                // SubIFDs
                queue.extend((0..count.min(8)).filter_map(|i| t.value(kind, count, field, i)));
            }
            if tag == 0x002E && kind == 7 {
                // Panasonic JpgFromRaw: the bytes themselves
                if let Some(start) = t.u32(field) {
                    push_jpeg(b, start as usize, count as usize, &mut found);
                }
            }
        }
        if let (Some(start), Some(len)) = (get(0x0201, 0), get(0x0202, 0)) {
            push_jpeg(b, start as usize, len as usize, &mut found);
        }
        // A JPEG-compressed image in one strip (old-style 6 or 7), not the main (raw) image.
        let compression = get(0x0103, 0);
        let main_image = get(0x00FE, 0) == Some(0) && compression == Some(7);
        if matches!(compression, Some(6 | 7))
            && !main_image
            && entries.iter().any(|e| e.0 == 0x0111 && e.2 == 1)
            && let (Some(start), Some(len)) = (get(0x0111, 0), get(0x0117, 0))
        {
            push_jpeg(b, start as usize, len as usize, &mut found);
        }
    }
    found
}

/// Adds `b[start..start + len]` when it is a baseline or progressive JPEG with a size.
fn push_jpeg(b: &[u8], start: usize, len: usize, found: &mut Vec<(std::ops::Range<usize>, u64)>) {
    let Some(end) = start.checked_add(len) else {
        return;
    };
    if let Some(pixels) = b.get(start..end).and_then(jpeg_pixels) {
        found.push((start..end, pixels));
    }
}

/// Width x height of a baseline (SOF0/1) or progressive (SOF2) JPEG; `None` for anything else
/// (lossless JPEG - SOF3 - is how DNG and CR2 store sensor data).
fn jpeg_pixels(j: &[u8]) -> Option<u64> {
    if j.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    while at + 4 <= j.len() {
        if j[at] != 0xFF {
            return None;
        }
        let marker = j[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        let len = u16::from_be_bytes([j[at + 2], j[at + 3]]) as usize;
        match marker {
            0xC0..=0xC2 => {
                let h = u16::from_be_bytes([*j.get(at + 5)?, *j.get(at + 6)?]) as u64;
                let w = u16::from_be_bytes([*j.get(at + 7)?, *j.get(at + 8)?]) as u64;
                return (w > 0 && h > 0).then_some(w * h);
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xD9 | 0xDA => return None,
            _ => at += 2 + len,
        }
    }
    None
}

fn raf_preview(b: &[u8]) -> Option<Vec<u8>> {
    let be = |at: usize| -> Option<usize> {
        Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let (start, len) = (be(84)?, be(88)?);
    let j = b.get(start..start.checked_add(len)?)?;
    jpeg_pixels(j).map(|_| j.to_vec())
}

/// CR3: the `PRVW` box (inside Canon's preview `uuid` box): 4 + 2 + 2 + 2 + 2 + 4 bytes of
/// header (the last four: the JPEG's length), then the JPEG.
fn cr3_preview(b: &[u8]) -> Option<Vec<u8>> {
    if !matches!(b.get(8..12)?, b"crx ") {
        return None;
    }
    let at = b.windows(4).position(|w| w == b"PRVW")? + 4;
    let len = u32::from_be_bytes(b.get(at + 12..at + 16)?.try_into().ok()?) as usize;
    let j = b.get(at + 16..(at + 16).checked_add(len)?)?;
    jpeg_pixels(j).map(|_| j.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_sizes_come_from_baseline_and_progressive_frames_only() {
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0];
        j.extend([0xFF, 0xC0, 0, 11, 8, 0, 30, 0, 40, 3]);
        assert_eq!(jpeg_pixels(&j), Some(1200));
        let lossless: Vec<u8> = j
            .iter()
            .map(|&x| if x == 0xC0 { 0xC3 } else { x })
            .collect();
        assert_eq!(jpeg_pixels(&lossless), None);
        assert_eq!(jpeg_pixels(b"not a jpeg"), None);
        assert_eq!(jpeg_pixels(&j[..7]), None);
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 90]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&img)
            .unwrap();
        out
    }

    /// A TIFF-like file written by hand: `(tag, type, count, value)` entries (value: inline when it
    /// fits, else an offset the caller got from `blob`).
    struct W {
        le: bool,
        buf: Vec<u8>,
    }

    impl W {
        fn new(magic: &[u8; 4]) -> W {
            let le = magic[0] == b'I';
            let mut buf = magic.to_vec();
            buf.extend([0; 4]);
            W { le, buf }
        }
        fn u16b(&self, v: u16) -> [u8; 2] {
            if self.le {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        }
        fn u32b(&self, v: u32) -> [u8; 4] {
            if self.le {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        }
        fn blob(&mut self, d: &[u8]) -> u32 {
            if self.buf.len() % 2 == 1 {
                self.buf.push(0);
            }
            let at = self.buf.len() as u32;
            self.buf.extend_from_slice(d);
            at
        }
        fn ifd(&mut self, entries: &[(u16, u16, u32, u32)], next: u32) -> u32 {
            let mut body = self.u16b(entries.len() as u16).to_vec();
            for &(tag, kind, count, value) in entries {
                body.extend(self.u16b(tag));
                body.extend(self.u16b(kind));
                body.extend(self.u32b(count));
                if kind == 3 && count == 1 {
                    body.extend(self.u16b(value as u16));
                    body.extend([0, 0]);
                } else {
                    body.extend(self.u32b(value));
                }
            }
            body.extend(self.u32b(next));
            self.blob(&body)
        }
        fn finish(mut self, ifd0: u32) -> Vec<u8> {
            let b = self.u32b(ifd0);
            self.buf[4..8].copy_from_slice(&b);
            self.buf
        }
    }

    #[test]
    fn nef_style_the_largest_jpeg_of_subifds_and_the_ifd_chain_wins() {
        let (big, small) = (jpeg(640, 480), jpeg(160, 120));
        let mut w = W::new(b"MM\0*");
        let big_at = w.blob(&big);
        let small_at = w.blob(&small);
        let sub = w.ifd(
            &[
                (0x00FE, 4, 1, 1),
                (0x0201, 4, 1, big_at),
                (0x0202, 4, 1, big.len() as u32),
            ],
            0,
        );
        let ifd1 = w.ifd(
            &[(0x0201, 4, 1, small_at), (0x0202, 4, 1, small.len() as u32)],
            0,
        );
        let ifd0 = w.ifd(&[(0x010F, 2, 1, 0), (0x014A, 4, 1, sub)], ifd1);
        let (found, _) = preview(w.finish(ifd0)).unwrap();
        assert_eq!(found, big);
    }

    #[test]
    fn cr2_style_a_jpeg_strip_is_a_preview_and_lossless_sensor_data_is_not() {
        let pic = jpeg(320, 240);
        // Sensor data as lossless JPEG (SOF3), bigger than the preview.
        let mut sensor = vec![0xFF, 0xD8, 0xFF, 0xC3, 0, 11, 12, 0x0F, 0xA0, 0x17, 0x70, 1];
        sensor.resize(400_000, 0);
        let mut w = W::new(b"II*\0");
        let pic_at = w.blob(&pic);
        let sensor_at = w.blob(&sensor);
        let raw = w.ifd(
            &[
                (0x0103, 3, 1, 6),
                (0x0111, 4, 1, sensor_at),
                (0x0117, 4, 1, sensor.len() as u32),
            ],
            0,
        );
        let ifd0 = w.ifd(
            &[
                (0x0103, 3, 1, 6),
                (0x0111, 4, 1, pic_at),
                (0x0117, 4, 1, pic.len() as u32),
            ],
            raw,
        );
        let (found, _) = preview(w.finish(ifd0)).unwrap();
        assert_eq!(found, pic);
    }

    #[test]
    fn rw2_and_orf_magics_and_panasonic_jpg_from_raw() {
        let pic = jpeg(200, 150);
        let mut w = W::new(b"IIU\0");
        let at = w.blob(&pic);
        let ifd0 = w.ifd(&[(0x002E, 7, pic.len() as u32, at)], 0);
        let (found, _) = preview(w.finish(ifd0)).unwrap();
        assert_eq!(found, pic);

        let mut w = W::new(b"IIRO");
        let at = w.blob(&pic);
        let ifd0 = w.ifd(&[(0x0201, 4, 1, at), (0x0202, 4, 1, pic.len() as u32)], 0);
        let (found, _) = preview(w.finish(ifd0)).unwrap();
        assert_eq!(found, pic);
    }

    #[test]
    fn cr3_the_prvw_box_is_the_preview() {
        let pic = jpeg(240, 160);
        let mut b = Vec::new();
        b.extend(24u32.to_be_bytes());
        b.extend(b"ftypcrx \0\0\0\x01crx isom");
        let prvw_len = 8 + 16 + pic.len();
        b.extend((prvw_len as u32).to_be_bytes());
        b.extend(b"PRVW");
        b.extend([0, 0, 0, 0, 0, 1, 0, 240, 0, 160, 0, 1]);
        b.extend((pic.len() as u32).to_be_bytes());
        b.extend(&pic);
        b.extend([0u8; 1000]);
        let (found, _) = preview(b).unwrap();
        assert_eq!(found, pic);
    }

    #[test]
    fn hostile_offsets_find_nothing_and_do_not_panic() {
        // An IFD pointing to itself, SubIFDs out of the file, a strip past the end.
        let mut b = b"II*\0\x08\0\0\0".to_vec();
        b.extend(3u16.to_le_bytes());
        for (tag, kind, count, value) in [
            (0x014Au16, 4u16, 3u32, 0xFFFF_FF00u32),
            (0x0201, 4, 1, 4_000_000),
            (0x0202, 4, 1, 100),
        ] {
            b.extend(tag.to_le_bytes());
            b.extend(kind.to_le_bytes());
            b.extend(count.to_le_bytes());
            b.extend(value.to_le_bytes());
        }
        b.extend(8u32.to_le_bytes()); // next IFD: itself
        assert!(tiff_previews(&b, true).is_empty());
        let e = preview(b).unwrap_err();
        assert_eq!(e.kind, MediaErrorKind::Unsupported);
        assert!(raf_preview(b"FUJIFILMCCD-RAW 0201").is_none());
        assert!(cr3_preview(b"\0\0\0\x18ftypcrx \0\0\0\x01PRVW").is_none());
    }
}
