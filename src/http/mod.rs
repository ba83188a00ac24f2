//! The HTTP router: `/api/*` JSON routes (thin handlers over the namespace and accounts), the
//! web UI at `/`. Every API error, including unknown routes and wrong methods, is JSON.

pub mod admin;
pub mod auth;
pub mod cookies;

pub mod dto;
pub mod extract;
pub mod files;
pub mod nextcloud;

pub mod ops;
pub mod photos;
pub mod search;
pub mod shares;
pub mod tags;
pub mod trash;
pub mod tus;
pub mod webui;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;
use crate::error::{ErrorCode, error_body};
use crate::state::App;

/// JSON bodies of API calls are small; uploads stream past this limit (they read the raw body).
const JSON_BODY_LIMIT: usize = 64 * 1024;

/// The JSON door: `/api/...`, the health and metrics routes, and the web UI's pages.
pub fn routes(config: &Config) -> Router<App> {
    let api = Router::new()
        .route("/setup", get(auth::setup_status).post(auth::setup))
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/auth/password", post(auth::change_password))
        .route("/auth/request-access", post(auth::request_access))
        .route(
            "/auth/app-passwords",
            post(auth::create_app_password).get(auth::list_app_passwords),
        )
        .route(
            "/auth/app-passwords/{id}",
            axum::routing::delete(auth::delete_app_password),
        )
        .route("/files", get(files::list))
        .route("/files/", get(files::list))
        .route("/files/upload", post(files::upload))
        .route("/files/folders", post(files::create_folder))
        .route(
            "/files/{id}",
            get(files::get).patch(files::update).delete(files::delete),
        )
        .route("/files/{id}/download", get(files::download))
        .route("/files/{id}/thumbnail", get(files::thumbnail))
        .route("/files/{id}/versions", get(trash::list_versions))
        .route(
            "/files/{id}/versions/{vid}",
            axum::routing::delete(trash::delete_version),
        )
        .route(
            "/files/{id}/versions/{vid}/content",
            get(trash::download_version),
        )
        .route(
            "/files/{id}/versions/{vid}/restore",
            post(trash::restore_version),
        )
        .route("/trash", get(trash::list).delete(trash::empty))
        .route("/trash/{id}", axum::routing::delete(trash::delete))
        .route("/trash/{id}/restore", post(trash::restore))
        .route(
            "/files/{id}/tags/{tag}",
            put(tags::add).delete(tags::remove),
        )
        .route("/search", get(search::search))
        .route("/tags", get(tags::list))
        .route("/tags/", get(tags::list))
        .route("/tags/{tag}/files", get(tags::files))
        .merge(photos::routes())
        .merge(shares::routes())
        .route("/admin/users", get(admin::list_users))
        .route("/admin/users/{id}/quota", put(admin::set_quota))
        .route("/admin/users/{id}/disabled", put(admin::set_disabled))
        .route(
            "/admin/invite-codes",
            post(admin::create_invites).get(admin::list_invites),
        )
        .route("/admin/access-requests", get(admin::list_access_requests))
        .route(
            "/admin/access-requests/{id}",
            axum::routing::delete(admin::delete_access_request),
        )
        .route(
            "/admin/access-requests/{id}/invite",
            post(admin::invite_access_request),
        )
        .route("/admin/volumes", get(admin::list_volumes))
        .route("/admin/jobs", get(admin::list_jobs))
        .route("/admin/stats", get(admin::server_stats))
        .route("/admin/audit", get(ops::list_audit))
        .merge(tus::routes())
        .merge(nextcloud::api_routes())
        // Route templates label the metrics (must follow every route).
        .route_layer(middleware::from_fn(crate::web::layer::remember_route))
        .fallback(files::api_not_found)
        // No other site may embed API answers (thumbnails and downloads above all).
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(middleware::from_fn(json_errors));

    Router::new()
        .nest("/api", api)
        .merge(ops::routes())
        .merge(nextcloud::routes())
        .merge(webui::routes(config))
}

/// Errors made by the framework (405, 415, 413 from extractors) get the API's JSON shape too.
async fn json_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let code = ErrorCode::for_framework_status(status);
    let message = status.canonical_reason().unwrap_or("error").to_lowercase();
    let (mut parts, _) = res.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(error_body(code, &message)))
}
