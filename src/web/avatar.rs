//! The generated avatar as both doors answer it (Nextcloud's apps ask the WebDAV door's
//! `/remote.php/dav/avatars/…` and the JSON door's `/index.php/avatar/…`).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The PNG of a generated avatar (`size`: pixels, "64" or "64.png").
pub async fn avatar_response(name: String, size: &str) -> Response {
    let px = size.trim_end_matches(".png").parse::<u32>().unwrap_or(64);
    match tokio::task::spawn_blocking(move || crate::auth::avatar::avatar_png(&name, px)).await {
        Ok(png) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, max-age=86400"),
            ],
            png,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
