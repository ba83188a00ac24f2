//! EXIF reading (orientation, capture time, camera, GPS) and the date/place parsing shared with video tags.

use std::io::{BufRead, Seek};

use exif::{In, Tag, Value};

/// What the media pipeline takes from EXIF.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ExifFacts {
    /// EXIF orientation 1–8; 1 when absent or invalid.
    pub orientation: u8,
    pub taken_at: Option<i64>,
    pub camera_make: Option<String>,
    pub camera_model: Option<String>,
    pub gps_lat: Option<f64>,
    pub gps_lon: Option<f64>,
}

/// EXIF from a JPEG, PNG, WebP, TIFF or HEIF container; `None` when there is none or it is unreadable
/// (broken metadata never fails a thumbnail).
pub(crate) fn read_exif_from_container<R: BufRead + Seek>(reader: &mut R) -> Option<ExifFacts> {
    let exif = exif::Reader::new().read_from_container(reader).ok()?;
    Some(facts_from_exif(&exif))
}

pub(crate) fn facts_from_exif(exif: &exif::Exif) -> ExifFacts {
    let field = |tag: Tag| exif.get_field(tag, In::PRIMARY);
    let ascii = |tag: Tag| -> Option<&[u8]> {
        match &field(tag)?.value {
            Value::Ascii(v) => v.first().map(|s| s.as_slice()),
            _ => None,
        }
    };
    let orientation = field(Tag::Orientation)
        .and_then(|f| f.value.get_uint(0))
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1) as u8;

    let taken_at = ascii(Tag::DateTimeOriginal)
        .or_else(|| ascii(Tag::DateTimeDigitized))
        .and_then(|raw| {
            let mut dt = exif::DateTime::from_ascii(raw).ok()?;
            if let Some(sub) = ascii(Tag::SubSecTimeOriginal) {
                let _ = dt.parse_subsec(sub);
            }
            if let Some(off) = ascii(Tag::OffsetTimeOriginal) {
                let _ = dt.parse_offset(off);
            }
            let ms = civil_to_unix_ms(
                dt.year as i64,
                dt.month as u32,
                dt.day as u32,
                dt.hour as u32,
                dt.minute as u32,
                dt.second as u32,
            )?;
            let ms = ms + dt.nanosecond.map(|n| (n / 1_000_000) as i64).unwrap_or(0);
            // No offset recorded: the camera's local time is taken as UTC (the caller's documented rule).
            Some(ms - dt.offset.map(|m| m as i64 * 60_000).unwrap_or(0))
        });

    let gps_coord = |value_tag: Tag, ref_tag: Tag, negative: u8| -> Option<f64> {
        let Value::Rational(parts) = &field(value_tag)?.value else {
            return None;
        };
        let deg = parts.first()?.to_f64();
        let min = parts.get(1).map(|r| r.to_f64()).unwrap_or(0.0);
        let sec = parts.get(2).map(|r| r.to_f64()).unwrap_or(0.0);
        let mut v = deg + min / 60.0 + sec / 3600.0;
        if !v.is_finite() {
            return None;
        }
        if ascii(ref_tag)
            .and_then(|r| r.first())
            .map(|c| c.to_ascii_uppercase())
            == Some(negative)
        {
            v = -v;
        }
        Some(v)
    };
    let gps_lat =
        gps_coord(Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S').filter(|v| v.abs() <= 90.0);
    let gps_lon =
        gps_coord(Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W').filter(|v| v.abs() <= 180.0);
    // A position needs both halves; (0, 0) is what cameras without a fix often write.
    let (gps_lat, gps_lon) = match (gps_lat, gps_lon) {
        (Some(a), Some(b)) if !(a == 0.0 && b == 0.0) => (Some(a), Some(b)),
        _ => (None, None),
    };

    ExifFacts {
        orientation,
        taken_at,
        camera_make: ascii(Tag::Make).and_then(clean_text),
        camera_model: ascii(Tag::Model).and_then(clean_text),
        gps_lat,
        gps_lon,
    }
}

/// Camera strings come NUL-padded and space-padded; keep at most 100 characters.
fn clean_text(raw: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let text: String = text
        .chars()
        .filter(|c| *c != '\0' && !c.is_control())
        .collect();
    let text = text.trim();
    if text.is_empty() {
        None
    } else {
        Some(text.chars().take(100).collect())
    }
}

/// Unix milliseconds of a UTC civil date-time; `None` for impossible fields (month 13, day 0, year 0).
pub(crate) fn civil_to_unix_ms(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
) -> Option<i64> {
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || min > 59
        || sec > 60
        || year < 1
    {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour as i64) * 60 + min as i64) * 60_000 + sec as i64 * 1000)
}

/// ISO 8601 as containers write it: `2024-05-01T12:34:56.000000Z`, `2024-05-01 12:34:56`,
/// `2024-05-01T12:34:56+0200`, `...+02:00`. No zone means UTC.
pub(crate) fn parse_iso8601_ms(text: &str) -> Option<i64> {
    let t = text.trim();
    let num = |s: &str| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (date, rest) = (t.get(..10)?, t.get(10..)?);
    let mut d = date.split('-');
    let (year, month, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let rest = rest.strip_prefix(['T', ' '])?;
    let (hms, mut zone) = rest.split_at(
        rest.find(|c: char| !(c.is_ascii_digit() || c == ':'))
            .unwrap_or(rest.len()),
    );
    let mut h = hms.split(':');
    let (hour, min, sec) = (
        num(h.next()?)?,
        num(h.next()?)?,
        num(h.next().unwrap_or("0"))?,
    );
    let mut millis = 0i64;
    if let Some(frac) = zone.strip_prefix('.') {
        let digits_end = frac
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(frac.len());
        let digits = &frac[..digits_end];
        let padded: String = digits
            .chars()
            .chain(std::iter::repeat('0'))
            .take(3)
            .collect();
        millis = padded.parse().ok()?;
        zone = &frac[digits_end..];
    }
    let offset_min: i64 = match zone.trim() {
        "" | "Z" | "z" => 0,
        z => {
            let sign = match z.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 {
                return None;
            }
            sign * (num(&digits[..2])? as i64 * 60 + num(&digits[2..])? as i64)
        }
    };
    let ms = civil_to_unix_ms(year as i64, month, day, hour, min, sec)?;
    Some(ms + millis - offset_min * 60_000)
}

/// ISO 6709 as phones put in video tags: `+37.7749-122.4194+010.000/`.
pub(crate) fn parse_iso6709(text: &str) -> Option<(f64, f64)> {
    let t = text.trim().trim_end_matches('/');
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in t.char_indices().skip(1) {
        if c == '+' || c == '-' {
            parts.push(&t[start..i]);
            start = i;
        }
    }
    parts.push(&t[start..]);
    let lat: f64 = parts.first()?.parse().ok()?;
    let lon: f64 = parts.get(1)?.parse().ok()?;
    (lat.abs() <= 90.0 && lon.abs() <= 180.0 && !(lat == 0.0 && lon == 0.0)).then_some((lat, lon))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_convert_to_unix_ms() {
        assert_eq!(civil_to_unix_ms(1970, 1, 1, 0, 0, 0), Some(0));
        assert_eq!(civil_to_unix_ms(2000, 3, 1, 0, 0, 0), Some(951_868_800_000));
        assert_eq!(
            civil_to_unix_ms(2024, 2, 29, 12, 30, 15),
            Some(1_709_209_815_000)
        );
        assert_eq!(civil_to_unix_ms(2024, 13, 1, 0, 0, 0), None);
        assert_eq!(civil_to_unix_ms(0, 1, 1, 0, 0, 0), None);
    }

    #[test]
    fn iso8601_forms_from_containers_parse() {
        assert_eq!(
            parse_iso8601_ms("2024-02-29T12:30:15.000000Z"),
            Some(1_709_209_815_000)
        );
        assert_eq!(
            parse_iso8601_ms("2024-02-29T12:30:15.25Z"),
            Some(1_709_209_815_250)
        );
        assert_eq!(
            parse_iso8601_ms("2024-02-29 12:30:15"),
            Some(1_709_209_815_000)
        );
        assert_eq!(
            parse_iso8601_ms("2024-02-29T14:30:15+0200"),
            Some(1_709_209_815_000)
        );
        assert_eq!(
            parse_iso8601_ms("2024-02-29T07:30:15-05:00"),
            Some(1_709_209_815_000)
        );
        assert_eq!(parse_iso8601_ms("yesterday"), None);
        assert_eq!(parse_iso8601_ms("2024-02-29T12:30:15 CEST"), None);
    }

    #[test]
    fn iso6709_places_parse_with_signs() {
        assert_eq!(
            parse_iso6709("+37.7749-122.4194+010.000/"),
            Some((37.7749, -122.4194))
        );
        assert_eq!(
            parse_iso6709("-33.8688+151.2093/"),
            Some((-33.8688, 151.2093))
        );
        assert_eq!(parse_iso6709("+00.0000+000.0000/"), None);
        assert_eq!(parse_iso6709("garbage"), None);
    }

    #[test]
    fn camera_text_is_trimmed_and_stripped_of_nuls() {
        assert_eq!(clean_text(b"  Canon\0\0\0 "), Some("Canon".to_string()));
        assert_eq!(clean_text(b"\0\0"), None);
    }
}
