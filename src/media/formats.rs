//! Every file format the media pipeline knows, by extension: what a file of it gets, or why it is
//! refused. A refused format still gets a media job, which fails at once with the reason, so the
//! admin's job failures show it instead of silently nothing. The README's formats table is
//! generated from this list and checked against it (`cargo test --lib media::formats`).

use super::MediaKind;

pub struct Format {
    /// What people call it.
    pub name: &'static str,
    /// File extensions, lower case, without the dot.
    pub exts: &'static [&'static str],
    pub kind: MediaKind,
    /// What a file of this format gets (thumbnails, facts); empty when refused.
    pub gets: &'static str,
    /// Why it is refused: the media job's failure reason.
    pub refused: Option<&'static str>,
    /// A camera RAW: thumbnails from its embedded JPEG preview (`raw.rs`).
    pub raw: bool,
}

const STILL: &str = "thumbnails, size as displayed (EXIF orientation), EXIF date with offset, camera, GPS; CLIP tags and search";

pub const FORMATS: &[Format] = &[
    Format {
        name: "JPEG",
        exts: &["jpg", "jpeg", "jpe", "jfif"],
        kind: MediaKind::Image,
        gets: STILL,
        refused: None,
        raw: false,
    },
    Format {
        name: "HEIC / HEIF (iPhone)",
        exts: &["heic", "heif", "hif"],
        kind: MediaKind::Image,
        gets: "as JPEG; grids put together, a burst gives its primary picture, rotation and mirror from the file (`irot`/`imir`, else EXIF)",
        refused: None,
        raw: false,
    },
    Format {
        name: "AVIF",
        exts: &["avif"],
        kind: MediaKind::Image,
        gets: "as HEIC",
        refused: None,
        raw: false,
    },
    Format {
        name: "PNG",
        exts: &["png"],
        kind: MediaKind::Image,
        gets: "as JPEG where the file carries EXIF (an `eXIf` chunk); transparency on white",
        refused: None,
        raw: false,
    },
    Format {
        name: "WebP",
        exts: &["webp"],
        kind: MediaKind::Image,
        gets: "as JPEG where the file carries EXIF; transparency on white",
        refused: None,
        raw: false,
    },
    Format {
        name: "TIFF",
        exts: &["tif", "tiff"],
        kind: MediaKind::Image,
        gets: "as JPEG (up to 64 MB for EXIF)",
        refused: None,
        raw: false,
    },
    Format {
        name: "GIF",
        exts: &["gif"],
        kind: MediaKind::Image,
        gets: "thumbnails of the first frame, size; CLIP tags and search",
        refused: None,
        raw: false,
    },
    Format {
        name: "BMP",
        exts: &["bmp"],
        kind: MediaKind::Image,
        gets: "thumbnails, size; CLIP tags and search",
        refused: None,
        raw: false,
    },
    Format {
        name: "Video (MP4, MOV, MKV, WebM, AVI, 3GP)",
        exts: &["mp4", "m4v", "mov", "mkv", "webm", "avi", "3gp"],
        kind: MediaKind::Video,
        gets: "thumbnails of a frame (ffmpeg), duration, size as displayed (rotation), creation date, GPS (ISO 6709); CLIP tags and search on the frame",
        refused: None,
        raw: false,
    },
    Format {
        name: "RAW (DNG incl. Apple ProRAW, CR2, CR3, NEF, ARW, RAF, ORF, RW2, PEF, SRW)",
        exts: &[
            "dng", "cr2", "cr3", "nef", "nrw", "arw", "srf", "sr2", "raf", "orf", "rw2", "pef",
            "srw",
        ],
        kind: MediaKind::Image,
        gets: "thumbnails from the largest embedded JPEG preview (the sensor data is not developed), size of that preview as displayed, EXIF date with offset, camera, GPS from the RAW; a RAW without a preview fails with that reason",
        refused: None,
        raw: true,
    },
    Format {
        name: "JPEG XL",
        exts: &["jxl"],
        kind: MediaKind::Image,
        gets: "",
        refused: Some("JPEG XL is not read: this server has no JPEG XL decoder"),
        raw: false,
    },
    Format {
        name: "JPEG 2000",
        exts: &["jp2", "j2k", "jpf", "jpx"],
        kind: MediaKind::Image,
        gets: "",
        refused: Some("JPEG 2000 is not read: this server has no JPEG 2000 decoder"),
        raw: false,
    },
    Format {
        name: "Photoshop",
        exts: &["psd", "psb"],
        kind: MediaKind::Image,
        gets: "",
        refused: Some("Photoshop documents are not read: their layers need Photoshop or GIMP"),
        raw: false,
    },
];

/// The format a file extension (without the dot, any case) names, if the pipeline knows it.
pub fn by_ext(ext: &str) -> Option<&'static Format> {
    let ext = ext.to_ascii_lowercase();
    FORMATS.iter().find(|f| f.exts.contains(&ext.as_str()))
}

/// The README's table (between its `media-formats` markers), one row a format.
pub fn readme_table() -> String {
    let mut out =
        String::from("| format | extensions | kind | gets |\n| --- | --- | --- | --- |\n");
    for f in FORMATS {
        let exts = f
            .exts
            .iter()
            .map(|e| format!("`.{e}`"))
            .collect::<Vec<_>>()
            .join(" ");
        let gets = match f.refused {
            Some(why) => format!("**refused**: {why}"),
            None => f.gets.to_string(),
        };
        out.push_str(&format!(
            "| {} | {exts} | {} | {gets} |\n",
            f.name,
            f.kind.as_str()
        ));
    }
    out
}

pub const README_BEGIN: &str = "<!-- media-formats:begin (generated from src/media/formats.rs: CLOUDVAULT_WRITE_DOCS=1 cargo test --lib media::formats) -->";
pub const README_END: &str = "<!-- media-formats:end -->";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_extension_names_one_format() {
        let mut seen = std::collections::HashSet::new();
        for f in FORMATS {
            assert!(!f.exts.is_empty(), "{}", f.name);
            assert_eq!(
                f.refused.is_some(),
                f.gets.is_empty(),
                "{}: gets or refused",
                f.name
            );
            for e in f.exts {
                assert_eq!(*e, e.to_ascii_lowercase(), "{}", f.name);
                assert!(seen.insert(*e), ".{e} twice");
            }
        }
        assert_eq!(by_ext("HEIC").map(|f| f.name), Some("HEIC / HEIF (iPhone)"));
        assert!(by_ext("DNG").unwrap().raw);
        assert!(by_ext("txt").is_none());
    }

    /// With `CLOUDVAULT_WRITE_DOCS=1` it rewrites the table.
    #[test]
    fn the_readme_formats_table_is_current() {
        crate::error_code::check_readme_section(
            README_BEGIN,
            README_END,
            &readme_table(),
            "formats table differs from src/media/formats.rs",
            "CLOUDVAULT_WRITE_DOCS=1 cargo test --lib media::formats",
        );
    }
}
