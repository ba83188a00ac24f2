//! `/api/trash` and `/api/files/{id}/versions`: what was deleted or overwritten, and getting
//! it back.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::dto::{
    EmptyTrashResponse, FileResponse, TrashItemResponse, TrashListingResponse, VersionResponse,
    VersionsResponse,
};
use crate::http::extract::{AuthUser, parse_json_object};
use crate::http::files::{parse_folder, parse_id};
use crate::state::App;
use crate::store::OnConflict;
use crate::web::download;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrashQuery {
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

pub async fn list(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    q: Result<Query<TrashQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Json<TrashListingResponse>> {
    let Query(q) = q.map_err(|e| AppError::bad_request(ErrorCode::InvalidQuery, e.body_text()))?;
    let (limit, offset) = (q.limit.unwrap_or(100), q.offset.unwrap_or(0));
    if !(1..=1000).contains(&limit) || offset < 0 {
        return Err(AppError::bad_request(
            ErrorCode::InvalidQuery,
            "limit is 1..1000 and offset is 0 or more",
        ));
    }
    let (items, total, bytes) = app.store.list_trash(&user.id, limit, offset).await?;
    let keep = app.store.keep.trash_retention_ms;
    let items = items
        .into_iter()
        .map(|i| TrashItemResponse::new(i, keep))
        .collect();
    Ok(Json(TrashListingResponse {
        items,
        total,
        bytes,
    }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    #[serde(default)]
    pub on_conflict: OnConflict,
    /// Restore into this folder instead of the one it was deleted from.
    pub parent_id: Option<String>,
}

pub async fn restore(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> AppResult<Json<FileResponse>> {
    // The body may be left out: back to where it was, refusing a taken name.
    let req: RestoreRequest = match body.iter().all(u8::is_ascii_whitespace) {
        true => RestoreRequest::default(),
        false => parse_json_object(&body)?,
    };
    let node = app
        .store
        .restore_from_trash(
            &user.id,
            &parse_id(&id)?,
            parse_folder(req.parent_id)?,
            req.on_conflict,
        )
        .await?;
    Ok(Json(FileResponse::from(&node)))
}

pub async fn delete(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    app.store
        .delete_from_trash(&user.id, &parse_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn empty(
    State(app): State<App>,
    AuthUser(user): AuthUser,
) -> AppResult<Json<EmptyTrashResponse>> {
    let (deleted, freed) = app.store.empty_trash(&user.id).await?;
    Ok(Json(EmptyTrashResponse {
        deleted,
        freed_bytes: freed,
    }))
}

pub async fn list_versions(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<VersionsResponse>> {
    let versions = app.store.list_versions(&user.id, &parse_id(&id)?).await?;
    let items: Vec<VersionResponse> = versions.into_iter().map(Into::into).collect();
    Ok(Json(VersionsResponse { items }))
}

pub async fn download_version(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path((id, vid)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
) -> AppResult<Response> {
    let node = app
        .store
        .version_as_file(&user.id, &parse_id(&id)?, &parse_version(&vid)?)
        .await?;
    let permit = app
        .ops
        .transfers
        .try_begin(&user.id)
        .map_err(|b| b.into_error())?;
    let res = download::serve_file(&app.store, &node, &method, &headers, false).await?;
    Ok(crate::web::layer::hold_until_sent(res, permit))
}

pub async fn restore_version(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path((id, vid)): Path<(String, String)>,
) -> AppResult<Json<FileResponse>> {
    let node = app
        .store
        .restore_version(&user.id, &parse_id(&id)?, &parse_version(&vid)?)
        .await?;
    Ok(Json(FileResponse::from(&node)))
}

pub async fn delete_version(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path((id, vid)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    app.store
        .delete_version(&user.id, &parse_id(&id)?, &parse_version(&vid)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn parse_version(vid: &str) -> AppResult<String> {
    uuid::Uuid::parse_str(vid)
        .map(|u| u.to_string())
        .map_err(|_| AppError::new(ErrorCode::VersionNotFound, "no such version of this file"))
}
