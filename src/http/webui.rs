//! The web UI at `/`: the built `webui/dist` when present (hashed assets cached long,
//! `index.html` not cached, SPA fallback), else a built-in page that says how to build it.

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;
use crate::state::App;

const PLACEHOLDER: &str = include_str!("../../webui/placeholder.html");

/// The app's pages load only their own scripts and styles, and cannot be framed.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
                   connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

pub fn routes(config: &Config) -> Router<App> {
    let dir = config
        .webui_dir
        .clone()
        .unwrap_or_else(|| "webui/dist".into());
    if dir.join("index.html").is_file() {
        let index = ServeFile::new(dir.join("index.html"));
        let assets = ServeDir::new(dir.join("assets"));
        Router::new()
            .nest_service(
                "/assets",
                tower::ServiceBuilder::new()
                    .layer(SetResponseHeaderLayer::overriding(
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("public, max-age=31536000, immutable"),
                    ))
                    .service(assets),
            )
            .fallback_service(
                tower::ServiceBuilder::new()
                    .layer(SetResponseHeaderLayer::overriding(
                        header::CACHE_CONTROL,
                        HeaderValue::from_static("no-cache"),
                    ))
                    .layer(SetResponseHeaderLayer::if_not_present(
                        header::CONTENT_SECURITY_POLICY,
                        HeaderValue::from_static(CSP),
                    ))
                    .layer(SetResponseHeaderLayer::if_not_present(
                        header::X_FRAME_OPTIONS,
                        HeaderValue::from_static("DENY"),
                    ))
                    .layer(SetResponseHeaderLayer::if_not_present(
                        header::REFERRER_POLICY,
                        HeaderValue::from_static("same-origin"),
                    ))
                    .layer(SetResponseHeaderLayer::if_not_present(
                        header::X_CONTENT_TYPE_OPTIONS,
                        HeaderValue::from_static("nosniff"),
                    ))
                    // Any path that is not a file of the build is a page of the app (SPA fallback).
                    .service(ServeDir::new(&dir).fallback(index)),
            )
    } else {
        Router::new()
            .route("/", get(placeholder))
            .fallback(get(placeholder))
    }
}

async fn placeholder() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-cache")], Html(PLACEHOLDER))
}
