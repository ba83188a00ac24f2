//! A user's avatar for Nextcloud's apps (CloudVault has no pictures of people): a square PNG of
//! one colour picked from the user name, the same for a name whoever asks, so it tells nothing
//! about whether that account exists.

use std::io::Cursor;

/// The avatar of `name` at `size` pixels (clamped to 16..=512).
pub fn avatar_png(name: &str, size: u32) -> Vec<u8> {
    let size = size.clamp(16, 512);
    let h = blake3::hash(name.to_lowercase().as_bytes());
    let b = h.as_bytes();
    // Mid-tone colours: white initials in the apps stay readable on them.
    let rgb = [64 + b[0] % 128, 64 + b[1] % 128, 64 + b[2] % 128];
    let img = image::RgbImage::from_pixel(size, size, image::Rgb(rgb));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a PNG in memory");
    out.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_colour_per_name_and_a_bounded_size() {
        let a = avatar_png("alice", 64);
        assert_eq!(&a[1..4], b"PNG");
        assert_eq!(a, avatar_png("Alice", 64));
        assert_ne!(a, avatar_png("bob", 64));
        let big = image::load_from_memory(&avatar_png("alice", 100_000)).unwrap();
        assert_eq!((big.width(), big.height()), (512, 512));
    }
}
