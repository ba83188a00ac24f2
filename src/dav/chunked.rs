//! Nextcloud chunking v2 under `/dav/uploads/{username}/` (filled in next).

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::db::users::User;

pub async fn handle(_app: App, _user: User, _prefix: String, _req: Request) -> Response {
    (StatusCode::NOT_IMPLEMENTED, "chunked uploads are not available yet").into_response()
}
