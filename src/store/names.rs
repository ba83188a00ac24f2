//! Names from clients, parsed once: `NodeName` is NFC, has no `/`, `\`, NUL or control
//! characters, is not `.` or `..`, and fits in 255 bytes. Siblings are told apart by the exact
//! name: `Holiday.JPG` and `holiday.jpg` are two files, as in POSIX, Nextcloud and rclone.

use unicode_normalization::UnicodeNormalization;

use crate::error::{AppError, AppResult, ErrorCode};

pub const MAX_NAME_BYTES: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeName {
    name: String,
}

/// Files that file managers make beside real ones (macOS AppleDouble `._*` and `.DS_Store`,
/// Windows `Thumbs.db` and `desktop.ini`): stored like any file, never sent to thumbnails or AI.
pub fn is_os_metadata(name: &str) -> bool {
    name.starts_with("._")
        || name == ".DS_Store"
        || name.eq_ignore_ascii_case("thumbs.db")
        || name.eq_ignore_ascii_case("desktop.ini")
}

impl NodeName {
    pub fn parse(raw: &str) -> AppResult<NodeName> {
        let name: String = raw.nfc().collect();
        let bad = |m: &str| AppError::bad_request(ErrorCode::InvalidName, m.to_string());
        if name.is_empty() || name.trim().is_empty() {
            return Err(bad("a name cannot be empty or only spaces"));
        }
        if name == "." || name == ".." {
            return Err(bad("'.' and '..' are not allowed as names"));
        }
        if name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
        {
            return Err(bad(
                "a name cannot contain '/', '\\', NUL or control characters",
            ));
        }
        if name.len() > MAX_NAME_BYTES {
            return Err(bad("a name can be at most 255 bytes long (UTF-8)"));
        }
        Ok(NodeName { name })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// Extension for the body file on disk: ASCII letters and digits only, lower case, or empty.
    pub fn disk_ext(&self) -> String {
        match self.name.rsplit_once('.') {
            Some((stem, ext))
                if !stem.is_empty()
                    && !ext.is_empty()
                    && ext.len() <= 10
                    && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                ext.to_ascii_lowercase()
            }
            _ => String::new(),
        }
    }

    /// macOS bookkeeping files (`._name` AppleDouble, `.DS_Store`): stored like any file, but
    /// never worth a thumbnail or AI tags.
    pub fn is_os_metadata(&self) -> bool {
        is_os_metadata(&self.name)
    }

    pub fn content_type(&self) -> String {
        mime_guess::from_path(&self.name)
            .first_or_octet_stream()
            .essence_str()
            .to_string()
    }

    /// `photo.jpg` → `photo (n).jpg`, for "keep both" on a clash.
    pub fn numbered(&self, n: u32) -> AppResult<NodeName> {
        let (stem, ext) = match self.name.rsplit_once('.') {
            Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
            _ => (self.name.as_str(), String::new()),
        };
        NodeName::parse(&format!("{stem} ({n}){ext}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_could_escape_or_confuse() {
        for bad in [
            "",
            "  ",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a\0b",
            "a\nb",
            &"x".repeat(256),
        ] {
            assert!(NodeName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(NodeName::parse(&"é".repeat(127)).is_ok()); // 254 bytes
        assert!(NodeName::parse(&"é".repeat(128)).is_err()); // 256 bytes
    }

    #[test]
    fn normalizes_to_nfc_and_keeps_case() {
        let decomposed = NodeName::parse("Cafe\u{301}.txt").unwrap();
        let composed = NodeName::parse("Café.txt").unwrap();
        assert_eq!(decomposed.as_str(), "Caf\u{e9}.txt");
        assert_eq!(decomposed, composed);
        assert_ne!(composed, NodeName::parse("Café.TXT").unwrap());
    }

    #[test]
    fn disk_ext_is_safe() {
        assert_eq!(NodeName::parse("a.JPG").unwrap().disk_ext(), "jpg");
        assert_eq!(NodeName::parse(".bashrc").unwrap().disk_ext(), "");
        assert_eq!(NodeName::parse("x.tar.gz").unwrap().disk_ext(), "gz");
        assert_eq!(NodeName::parse("x.a b").unwrap().disk_ext(), "");
        assert_eq!(
            NodeName::parse("p.jpg")
                .unwrap()
                .numbered(2)
                .unwrap()
                .as_str(),
            "p (2).jpg"
        );
        assert!(NodeName::parse("._IMG_1.jpg").unwrap().is_os_metadata());
        assert!(NodeName::parse(".DS_Store").unwrap().is_os_metadata());
        assert!(!NodeName::parse("IMG_1.jpg").unwrap().is_os_metadata());
    }
}
