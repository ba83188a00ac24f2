//! `/api/files/*`: list, upload (multipart, streamed), metadata, download (Range, ETag),
//! thumbnail, create folder, rename/move, delete.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::db::nodes::SortBy;
use crate::error::{AppError, AppResult, Kind};
use crate::http::download;
use crate::http::dto::FileResponse;
use crate::http::extract::{ApiJson, AuthUser};
use crate::store::{NodeName, OnConflict};

/// Ids are UUIDs; anything else cannot name a node (and answers like a missing one).
fn parse_id(id: &str) -> AppResult<String> {
    uuid::Uuid::parse_str(id).map(|u| u.to_string()).map_err(|_| AppError::not_found())
}

pub(crate) fn parse_folder(folder: Option<String>) -> AppResult<Option<String>> {
    match folder.as_deref().map(str::trim) {
        None | Some("") | Some("root") => Ok(None),
        Some(f) => uuid::Uuid::parse_str(f)
            .map(|u| Some(u.to_string()))
            .map_err(|_| AppError::new(Kind::NotFound, "folder-not-found", "no such folder")),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub folder: Option<String>,
    #[serde(default)]
    pub sort: SortBy,
    pub order: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

pub async fn list(State(app): State<App>, AuthUser(user): AuthUser, q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>) -> AppResult<Json<Value>> {
    let Query(q) = q.map_err(|e| AppError::bad_request("invalid-query", e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    let offset = q.offset.unwrap_or(0);
    if !(1..=1000).contains(&limit) || offset < 0 {
        return Err(AppError::bad_request("invalid-query", "limit is 1..1000 and offset is 0 or more"));
    }
    let descending = match q.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(AppError::bad_request("invalid-query", "order is asc or desc")),
    };
    let folder = parse_folder(q.folder)?;
    let listing = app.store.list_folder(&user.id, folder, q.sort, descending, limit, offset).await?;
    let items: Vec<FileResponse> = listing.items.iter().map(FileResponse::from).collect();
    let path: Vec<Value> = listing.path.iter().map(|n| json!({"id": n.id, "name": n.name})).collect();
    Ok(Json(json!({
        "folder": FileResponse::from(&listing.folder),
        "path": path,
        "items": items,
        "total": listing.total,
        "offset": offset,
        "limit": limit,
    })))
}

pub async fn get(State(app): State<App>, AuthUser(user): AuthUser, Path(id): Path<String>) -> AppResult<Json<FileResponse>> {
    let node = app.store.get_node(&user.id, &parse_id(&id)?).await?;
    Ok(Json(FileResponse::from(&node)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateFolderRequest {
    pub parent_id: Option<String>,
    pub name: String,
}

pub async fn create_folder(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<CreateFolderRequest>,
) -> AppResult<(StatusCode, Json<FileResponse>)> {
    let name = NodeName::parse(&req.name)?;
    let node = app.store.create_folder(&user.id, parse_folder(req.parent_id)?, name).await?;
    Ok((StatusCode::CREATED, Json(FileResponse::from(&node))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    pub name: Option<String>,
    pub parent_id: Option<String>,
}

pub async fn update(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateRequest>,
) -> AppResult<Json<FileResponse>> {
    let id = parse_id(&id)?;
    let name = req.name.as_deref().map(NodeName::parse).transpose()?;
    // "root" (or "") as parent_id means the user's root folder.
    let parent = match req.parent_id {
        None => None,
        Some(p) => match parse_folder(Some(p))? {
            Some(id) => Some(id),
            None => Some(app.store.check_folder(&user.id, None).await?.id),
        },
    };
    let node = app.store.move_node(&user.id, &id, parent, name).await?;
    Ok(Json(FileResponse::from(&node)))
}

pub async fn delete(State(app): State<App>, AuthUser(user): AuthUser, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let d = app.store.delete_node(&user.id, &parse_id(&id)?).await?;
    Ok(Json(json!({ "deleted_files": d.files, "freed_bytes": d.bytes })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    pub folder: Option<String>,
    pub on_conflict: Option<OnConflict>,
}

/// Multipart upload of one or more files into a folder. Each file streams to disk (never held
/// in memory) and is committed as soon as it is complete; a failure stops the request and
/// leaves the files committed before it.
pub async fn upload(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    q: Result<Query<UploadQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<(StatusCode, Json<Value>)> {
    let Query(q) = q.map_err(|e| AppError::bad_request("invalid-query", e.body_text()))?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| AppError::bad_request("invalid-multipart", "send multipart/form-data with one part per file"))?;
    let mut expected_left: Option<u64> =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    let mut folder = parse_folder(q.folder)?;
    let mut on_conflict = q.on_conflict.unwrap_or_default();
    // Fail fast on a bad target, before any byte is stored.
    app.store.check_folder(&user.id, folder.clone()).await?;

    let constraints = multer::Constraints::new().size_limit(multer::SizeLimit::new().per_field(u64::MAX));
    let mut multipart = multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let bad = |e: multer::Error| AppError::bad_request("invalid-multipart", format!("malformed multipart body: {e}"));
    let mut stored = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let Some(file_name) = field.file_name().map(str::to_string) else {
            // Small text fields may set the folder and the clash rule before the files.
            let key = field.name().unwrap_or("").to_string();
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                value.extend_from_slice(&chunk);
                if value.len() > 1024 {
                    return Err(AppError::bad_request("invalid-multipart", "form fields are limited to 1 KiB"));
                }
            }
            let value = String::from_utf8_lossy(&value).trim().to_string();
            match key.as_str() {
                "folder" => {
                    folder = parse_folder(Some(value))?;
                    app.store.check_folder(&user.id, folder.clone()).await?;
                }
                "on_conflict" => {
                    on_conflict = serde_json::from_value(Value::String(value)).map_err(|_| {
                        AppError::bad_request("invalid-query", "on_conflict is fail, keep_both or overwrite")
                    })?
                }
                _ => {}
            }
            continue;
        };
        let name = NodeName::parse(&file_name)?;
        let mut sink = app.store.begin_upload(&user.id, &name, expected_left).await?;
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            sink.write(&chunk).await?;
        }
        expected_left = expected_left.map(|e| e.saturating_sub(sink.written() as u64));
        let staged = sink.finish().await?;
        let node = app.store.commit_file(&user.id, folder.clone(), name, staged, on_conflict).await?;
        stored.push(FileResponse::from(&node));
    }
    if stored.is_empty() {
        return Err(AppError::bad_request("no-files", "the request carried no file part"));
    }
    Ok((StatusCode::CREATED, Json(json!({ "files": stored }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DownloadQuery {
    pub inline: Option<bool>,
}

pub async fn download(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    Query(q): Query<DownloadQuery>,
    method: Method,
    headers: HeaderMap,
) -> AppResult<Response> {
    let node = app.store.get_node(&user.id, &parse_id(&id)?).await?;
    if node.is_dir() {
        return Err(AppError::bad_request("is-a-folder", "folders cannot be downloaded as a file"));
    }
    download::serve_file(&app.store, &node, &method, &headers, q.inline.unwrap_or(false)).await
}

pub async fn thumbnail(State(app): State<App>, AuthUser(user): AuthUser, Path(id): Path<String>) -> AppResult<Response> {
    // The file must exist and be the caller's; thumbnails arrive with the worker pool.
    app.store.get_node(&user.id, &parse_id(&id)?).await?;
    Err(AppError::new(Kind::NotFound, "thumbnail-not-available", "no thumbnail exists for this file (yet)"))
}

pub async fn api_not_found() -> Response {
    AppError::new(Kind::NotFound, "no-such-route", "no such API route").into_response()
}
