//! Videos: facts from `ffprobe` (JSON), one frame from `ffmpeg`, both under one deadline.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::Instant;

use image::RgbImage;
use serde_json::Value;

use super::metadata::{parse_iso6709, parse_iso8601_ms};
use super::tool::run_tool;
use super::{LARGE_PX, MediaError, MediaErrorKind, MediaInfo, MediaKind, MediaLimits};

/// The largest frame ffmpeg may hand back: 1440 x 1440 BMP plus headers, with room to spare.
const MAX_FRAME_BYTES: usize = 16 << 20;
const MAX_PROBE_BYTES: usize = 4 << 20;

/// Probes `src` and grabs a frame (rotation applied, fitted into 1440 x 1440 by ffmpeg).
pub(crate) fn probe_and_grab(
    src: &Path,
    limits: &MediaLimits,
) -> Result<(MediaInfo, RgbImage), MediaError> {
    let deadline = Instant::now() + limits.video_timeout;
    if !src.is_file() {
        return Err(MediaError::new(
            MediaErrorKind::Io,
            format!("reading video {}: not a file", src.display()),
        ));
    }
    let info = probe(src, limits, deadline)?;
    // ~1 s in skips fade-ins; 10 % in for clips under 10 s; the first frame if that yields nothing.
    let at = info
        .duration_ms
        .map(|d| (d as f64 / 1000.0 * 0.1).min(1.0))
        .unwrap_or(0.0);
    let mut frame = grab_frame(src, at, limits, deadline)?;
    if frame.is_none() && at > 0.0 {
        frame = grab_frame(src, 0.0, limits, deadline)?;
    }
    let frame = frame.ok_or_else(|| {
        MediaError::new(
            MediaErrorKind::Corrupt,
            "corrupt video: ffmpeg decoded no frame from it".to_string(),
        )
    })?;
    Ok((info, frame))
}

fn probe(src: &Path, limits: &MediaLimits, deadline: Instant) -> Result<MediaInfo, MediaError> {
    let args: Vec<&OsStr> = [
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "-select_streams",
        "v:0",
        "--",
    ]
    .iter()
    .map(OsStr::new)
    .chain([src.as_os_str()])
    .collect();
    let out = run_tool(
        &limits.ffprobe,
        &args,
        deadline,
        limits.video_timeout,
        MAX_PROBE_BYTES,
        "video probe",
    )?;
    if !out.status.success() {
        return Err(MediaError::new(
            MediaErrorKind::Corrupt,
            format!("corrupt video: {}", out.stderr_reason()),
        ));
    }
    let json: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        MediaError::new(
            MediaErrorKind::Corrupt,
            format!("corrupt video: unreadable ffprobe output ({e})"),
        )
    })?;
    parse_probe(&json)
}

/// MediaInfo from `ffprobe -show_format -show_streams -select_streams v:0` JSON.
pub(crate) fn parse_probe(json: &Value) -> Result<MediaInfo, MediaError> {
    let stream = json
        .get("streams")
        .and_then(|s| s.as_array())
        .and_then(|s| s.first())
        .ok_or_else(|| {
            MediaError::new(
                MediaErrorKind::Unsupported,
                "video has no picture stream".to_string(),
            )
        })?;
    let format = json.get("format").cloned().unwrap_or(Value::Null);
    let num = |v: Option<&Value>| -> Option<f64> {
        match v? {
            Value::String(s) => s.trim().parse().ok(),
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
        .filter(|f: &f64| f.is_finite())
    };
    let width = num(stream.get("width"))
        .filter(|v| *v > 0.0)
        .map(|v| v as u32);
    let height = num(stream.get("height"))
        .filter(|v| *v > 0.0)
        .map(|v| v as u32);
    let rotation = stream
        .get("side_data_list")
        .and_then(|l| l.as_array())
        .and_then(|l| l.iter().find_map(|sd| num(sd.get("rotation"))))
        .or_else(|| num(stream.get("tags").and_then(|t| t.get("rotate"))))
        .unwrap_or(0.0);
    let quarter_turn = (rotation.round() as i64).rem_euclid(180) == 90;
    let (width, height) = if quarter_turn {
        (height, width)
    } else {
        (width, height)
    };
    let duration_ms = num(format.get("duration"))
        .or_else(|| num(stream.get("duration")))
        .filter(|d| *d >= 0.0)
        .map(|d| (d * 1000.0).round() as i64);

    let tag = |name: &str| -> Option<&str> {
        [format.get("tags"), stream.get("tags")]
            .into_iter()
            .flatten()
            .find_map(|tags| tags.get(name).and_then(|v| v.as_str()))
    };
    // Apple's creationdate carries the local offset; creation_time is UTC. Zero dates mean "unset".
    let taken_at = tag("com.apple.quicktime.creationdate")
        .and_then(parse_iso8601_ms)
        .or_else(|| tag("creation_time").and_then(parse_iso8601_ms))
        .filter(|ms| *ms > 0);
    let place = tag("com.apple.quicktime.location.ISO6709")
        .or_else(|| tag("location"))
        .and_then(parse_iso6709);
    let camera_make = tag("com.apple.quicktime.make")
        .or_else(|| tag("make"))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let camera_model = tag("com.apple.quicktime.model")
        .or_else(|| tag("model"))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());

    Ok(MediaInfo {
        kind: Some(MediaKind::Video),
        width,
        height,
        duration_ms,
        taken_at,
        camera_make,
        camera_model,
        gps_lat: place.map(|p| p.0),
        gps_lon: place.map(|p| p.1),
    })
}

/// One frame at `at` seconds as RGB, or `None` when ffmpeg ran fine but produced no frame there.
fn grab_frame(
    src: &Path,
    at: f64,
    limits: &MediaLimits,
    deadline: Instant,
) -> Result<Option<RgbImage>, MediaError> {
    let scale = format!(
        "scale=w='min({LARGE_PX},iw)':h='min({LARGE_PX},ih)':force_original_aspect_ratio=decrease"
    );
    let mut args: Vec<OsString> = ["-nostdin", "-hide_banner", "-loglevel", "error"]
        .iter()
        .map(OsString::from)
        .collect();
    if at > 0.0 {
        // Before -i: a keyframe seek, then decode up to the instant; fast on long videos.
        args.extend([OsString::from("-ss"), OsString::from(format!("{at:.3}"))]);
    }
    args.push("-i".into());
    args.push(src.as_os_str().to_owned());
    for a in [
        "-map",
        "0:v:0",
        "-frames:v",
        "1",
        "-vf",
        &scale,
        "-pix_fmt",
        "bgr24",
        "-c:v",
        "bmp",
        "-f",
        "image2pipe",
        "pipe:1",
    ] {
        args.push(a.into());
    }
    let arg_refs: Vec<&OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let out = run_tool(
        &limits.ffmpeg,
        &arg_refs,
        deadline,
        limits.video_timeout,
        MAX_FRAME_BYTES,
        "video frame",
    )?;
    if out.stdout.is_empty() {
        if out.status.success() {
            return Ok(None);
        }
        return Err(MediaError::new(
            MediaErrorKind::Corrupt,
            format!("corrupt video: {}", out.stderr_reason()),
        ));
    }
    let img =
        image::load_from_memory_with_format(&out.stdout, image::ImageFormat::Bmp).map_err(|e| {
            MediaError::new(
                MediaErrorKind::Corrupt,
                format!("corrupt video: unreadable frame from ffmpeg ({e})"),
            )
        })?;
    Ok(Some(img.into_rgb8()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_json_gives_rotated_size_duration_and_dates() {
        let json: Value = serde_json::from_str(
            r#"{"streams":[{"width":1920,"height":1080,"side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]}],
                "format":{"duration":"12.345000","tags":{"creation_time":"2024-02-29T12:30:15.000000Z",
                "location":"+48.8566+002.3522/","com.apple.quicktime.make":"Apple","com.apple.quicktime.model":"iPhone 15"}}}"#,
        )
        .unwrap();
        let info = parse_probe(&json).unwrap();
        assert_eq!((info.width, info.height), (Some(1080), Some(1920)));
        assert_eq!(info.duration_ms, Some(12_345));
        assert_eq!(info.taken_at, Some(1_709_209_815_000));
        assert_eq!((info.gps_lat, info.gps_lon), (Some(48.8566), Some(2.3522)));
        assert_eq!(info.camera_make.as_deref(), Some("Apple"));
        assert_eq!(info.camera_model.as_deref(), Some("iPhone 15"));
    }

    #[test]
    fn probe_json_without_a_picture_stream_is_unsupported() {
        let json: Value =
            serde_json::from_str(r#"{"streams":[],"format":{"duration":"3.0"}}"#).unwrap();
        assert_eq!(
            parse_probe(&json).unwrap_err().kind,
            MediaErrorKind::Unsupported
        );
    }

    #[test]
    fn old_style_rotate_tag_and_unset_dates() {
        let json: Value = serde_json::from_str(
            r#"{"streams":[{"width":640,"height":480,"tags":{"rotate":"270"}}],
                "format":{"duration":"1.0","tags":{"creation_time":"1970-01-01T00:00:00.000000Z"}}}"#,
        )
        .unwrap();
        let info = parse_probe(&json).unwrap();
        assert_eq!((info.width, info.height), (Some(480), Some(640)));
        assert_eq!(info.taken_at, None);
    }
}
