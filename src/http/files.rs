//! `/api/files/*`: list, upload (multipart, streamed), metadata, download (Range, ETag),
//! thumbnail, create folder, rename/move, delete.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::dto::{
    DeleteResponse, FileResponse, ListingResponse, PathEntryResponse, UploadResponse,
};
use crate::http::extract::{ApiJson, AuthUser};
use crate::state::App;
use crate::store::SortBy;
use crate::store::{NodeName, OnConflict};
use crate::web::download;

/// Ids are UUIDs; anything else cannot name a node (and answers like a missing one).
pub fn parse_id(id: &str) -> AppResult<String> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| AppError::not_found())
}

pub(crate) fn parse_folder(folder: Option<String>) -> AppResult<Option<String>> {
    match folder.as_deref().map(str::trim) {
        None | Some("") | Some("root") => Ok(None),
        Some(f) => uuid::Uuid::parse_str(f)
            .map(|u| Some(u.to_string()))
            .map_err(|_| AppError::new(ErrorCode::FolderNotFound, "no such folder")),
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

pub async fn list(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Json<ListingResponse>> {
    let Query(q) = q.map_err(|e| AppError::bad_request(ErrorCode::InvalidQuery, e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    let offset = q.offset.unwrap_or(0);
    if !(1..=1000).contains(&limit) || offset < 0 {
        return Err(AppError::bad_request(
            ErrorCode::InvalidQuery,
            "limit is 1..1000 and offset is 0 or more",
        ));
    }
    let descending = match q.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            return Err(AppError::bad_request(
                ErrorCode::InvalidQuery,
                "order is asc or desc",
            ));
        }
    };
    let folder = parse_folder(q.folder)?;
    let listing = app
        .store
        .list_folder(&user.id, folder, q.sort, descending, limit, offset)
        .await?;
    let facts = crate::catalog::page_facts(&app.store, &listing.items).await?;
    let items: Vec<FileResponse> = listing
        .items
        .iter()
        .map(|n| FileResponse::listed(n, &facts))
        .collect();
    let path = listing.path.iter().map(PathEntryResponse::from).collect();
    Ok(Json(ListingResponse {
        folder: FileResponse::from(&listing.folder),
        path,
        items,
        total: listing.total,
        offset,
        limit,
    }))
}

pub async fn get(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<FileResponse>> {
    let node = app.store.get_node(&user.id, &parse_id(&id)?).await?;
    let details = crate::catalog::file_details(&app.store, &node).await?;
    Ok(Json(FileResponse::with_details(&node, &details)))
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
    let node = app
        .store
        .create_folder(&user.id, parse_folder(req.parent_id)?, name)
        .await?;
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

pub async fn delete(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<DeleteResponse>> {
    let d = app.store.delete_node(&user.id, &parse_id(&id)?).await?;
    Ok(Json(DeleteResponse {
        trash_id: d.trash_id,
        deleted_files: d.files,
        trashed_bytes: d.bytes,
    }))
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
) -> Response {
    // Refused before a byte of the body is read (reading it would hold the slot it lacks).
    let permit = match app.ops.transfers.try_begin(&user.id) {
        Ok(p) => p,
        Err(busy) => return busy_refusal(busy),
    };
    let res = upload_body(app, user, q, headers, body).await;
    crate::web::layer::hold_until_sent(res, permit)
}

/// A transfer cap is full: 503 + `Retry-After`, and the unread body ends the connection.
fn busy_refusal(busy: crate::ops::limits::Busy) -> Response {
    let mut r = busy.into_error().into_response();
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

async fn upload_body(
    app: App,
    user: crate::auth::User,
    q: Result<Query<UploadQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = SharedBody::new(body);
    match upload_files(app, user, q, headers, body.clone()).await {
        Ok(ok) => ok.into_response(),
        Err(e) => {
            // A client still sending when we refuse (quota, bad name) would see its connection
            // reset instead of our answer: read what is left, within reason, before answering.
            let drained = body
                .drain(UPLOAD_DRAIN_LIMIT, std::time::Duration::from_secs(10))
                .await;
            let mut r = e.into_response();
            if !drained {
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            r
        }
    }
}

/// How much of a refused upload's body is read (and discarded) so the client gets the answer.
const UPLOAD_DRAIN_LIMIT: u64 = 64 << 20;

/// A request body that the multipart parser reads and that can be drained after it gives up.
#[derive(Clone)]
struct SharedBody(std::sync::Arc<std::sync::Mutex<axum::body::BodyDataStream>>);

impl SharedBody {
    fn new(body: Body) -> SharedBody {
        SharedBody(std::sync::Arc::new(std::sync::Mutex::new(
            body.into_data_stream(),
        )))
    }

    /// Reads the rest of the body; false when it was over `limit` bytes or too slow.
    async fn drain(&self, limit: u64, timeout: std::time::Duration) -> bool {
        use futures_util::StreamExt;
        let mut left = limit;
        let read_all = async {
            loop {
                let next = std::future::poll_fn(|cx| {
                    self.0
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .poll_next_unpin(cx)
                })
                .await;
                match next {
                    None => return true,
                    Some(Err(_)) => return false,
                    Some(Ok(chunk)) => match left.checked_sub(chunk.len() as u64) {
                        Some(l) => left = l,
                        None => return false,
                    },
                }
            }
        };
        tokio::time::timeout(timeout, read_all)
            .await
            .unwrap_or(false)
    }
}

impl futures_util::Stream for SharedBody {
    type Item = Result<bytes::Bytes, axum::Error>;
    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use futures_util::StreamExt;
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .poll_next_unpin(cx)
    }
}

async fn upload_files(
    app: App,
    user: crate::auth::User,
    q: Result<Query<UploadQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: SharedBody,
) -> AppResult<(StatusCode, Json<UploadResponse>)> {
    let Query(q) = q.map_err(|e| AppError::bad_request(ErrorCode::InvalidQuery, e.body_text()))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        AppError::bad_request(
            ErrorCode::InvalidMultipart,
            "send multipart/form-data with one part per file",
        )
    })?;
    let mut expected_left: Option<u64> = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let mut folder = parse_folder(q.folder)?;
    let mut on_conflict = q.on_conflict.unwrap_or_default();
    // Fail fast on a bad target, before any byte is stored.
    app.store.check_folder(&user.id, folder.clone()).await?;

    let constraints =
        multer::Constraints::new().size_limit(multer::SizeLimit::new().per_field(u64::MAX));
    let mut multipart = multer::Multipart::with_constraints(body, boundary, constraints);
    let bad = |e: multer::Error| {
        AppError::bad_request(
            ErrorCode::InvalidMultipart,
            format!("malformed multipart body: {e}"),
        )
    };
    let mut stored = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let Some(file_name) = field.file_name().map(str::to_string) else {
            // Small text fields may set the folder and the clash rule before the files.
            let key = field.name().unwrap_or("").to_string();
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                value.extend_from_slice(&chunk);
                if value.len() > 1024 {
                    return Err(AppError::bad_request(
                        ErrorCode::InvalidMultipart,
                        "form fields are limited to 1 KiB",
                    ));
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
                        AppError::bad_request(
                            ErrorCode::InvalidQuery,
                            "on_conflict is fail, keep_both or overwrite",
                        )
                    })?
                }
                _ => {}
            }
            continue;
        };
        let name = NodeName::parse(&file_name)?;
        let mut sink = app
            .store
            .begin_upload(&user.id, &name, expected_left)
            .await?;
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            sink.write(&chunk).await?;
        }
        expected_left = expected_left.map(|e| e.saturating_sub(sink.written() as u64));
        let staged = sink.finish().await?;
        let node = app
            .store
            .commit_file(&user.id, folder.clone(), name, staged, on_conflict)
            .await?;
        stored.push(FileResponse::from(&node));
    }
    if stored.is_empty() {
        return Err(AppError::bad_request(
            ErrorCode::NoFiles,
            "the request carried no file part",
        ));
    }
    Ok((StatusCode::CREATED, Json(UploadResponse { files: stored })))
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
        return Err(AppError::bad_request(
            ErrorCode::IsAFolder,
            "folders cannot be downloaded as a file",
        ));
    }
    let permit = if method == Method::GET {
        Some(
            app.ops
                .transfers
                .try_begin(&user.id)
                .map_err(|b| b.into_error())?,
        )
    } else {
        None
    };
    let res = download::serve_file(
        &app.store,
        &node,
        &method,
        &headers,
        q.inline.unwrap_or(false),
    )
    .await?;
    Ok(match permit {
        Some(p) => crate::web::layer::hold_until_sent(res, p),
        None => res,
    })
}

#[derive(Deserialize)]
pub struct ThumbnailQuery {
    size: Option<String>,
}

pub async fn thumbnail(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    Query(q): Query<ThumbnailQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let size = crate::catalog::ThumbSize::parse(q.size.as_deref())?;
    let (path, etag) =
        crate::catalog::thumbnail(&app.store, &user.id, &parse_id(&id)?, size).await?;
    crate::web::download::serve_thumbnail(&path, &etag, &headers).await
}

pub async fn api_not_found() -> Response {
    AppError::new(ErrorCode::NoSuchRoute, "no such API route").into_response()
}
