//! Which files are pictures and videos (the full media capability lands from the media branch).
pub enum MediaKind {
    Image,
    Video,
}
pub fn media_kind(ext: &str) -> Option<MediaKind> {
    match ext.to_ascii_lowercase().as_str() {
        "jpg" | "jpeg" | "png" | "webp" | "gif" | "tif" | "tiff" | "bmp" => Some(MediaKind::Image),
        "mp4" | "m4v" | "mov" | "mkv" | "webm" => Some(MediaKind::Video),
        _ => None,
    }
}
