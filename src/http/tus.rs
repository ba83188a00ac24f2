//! `/api/files/uploads`: the tus 1.0 resumable upload protocol (core + creation + termination +
//! expiration) for uploads of any size through a proxy that limits request bodies (Cloudflare:
//! 100 MB). Thin handlers over `store::tus`; every answer carries `Tus-Resumable`.
//! `GET /api/files/uploads` (not part of tus) lists the caller's unfinished uploads, so the web UI
//! can offer to resume them after a reload or on another device.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{head, post};
use base64::Engine;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::dto::{UnfinishedUploadResponse, UnfinishedUploadsResponse};
use crate::http::extract::AuthUser;
use crate::state::App;
use crate::store::{NodeName, OnConflict};
use crate::uploads::TusUpload;
use crate::uploads::tus::{MAX_REQUEST_BODY, MAX_UPLOAD_LENGTH, NewTusUpload};

const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,termination,expiration";
const MAX_METADATA: usize = 4096;
/// Names the file a finished upload became (on the last PATCH and on HEAD afterwards).
pub const FILE_ID_HEADER: &str = "cloudvault-file-id";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/files/uploads", post(create).options(options).get(list))
        .route("/files/uploads/", post(create).options(options).get(list))
        .route(
            "/files/uploads/{id}",
            head(offset)
                .patch(append)
                .delete(terminate)
                .options(options),
        )
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("tus-resumable"),
            HeaderValue::from_static(TUS_VERSION),
        ))
}

fn hv(s: impl ToString) -> HeaderValue {
    HeaderValue::from_str(&s.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn http_date(ms: i64) -> String {
    httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64),
    )
}

/// Every request but OPTIONS must say which protocol version it speaks.
fn check_version(headers: &HeaderMap) -> AppResult<()> {
    match headers.get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(v) if v.trim() == TUS_VERSION => Ok(()),
        _ => Err(AppError::new(
            ErrorCode::TusVersion,
            format!("send Tus-Resumable: {TUS_VERSION} (the only version this server speaks)"),
        )),
    }
}

fn with_version_list(mut res: Response) -> Response {
    if res.status() == StatusCode::PRECONDITION_FAILED {
        res.headers_mut()
            .insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    }
    res
}

pub async fn options() -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    let h = res.headers_mut();
    h.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    h.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    h.insert("tus-max-size", hv(MAX_UPLOAD_LENGTH));
    res
}

/// `Upload-Metadata: key base64,key base64,...` → (key, decoded value) pairs.
fn parse_metadata(raw: &str) -> AppResult<Vec<(String, String)>> {
    let bad = |m: &str| {
        AppError::bad_request(ErrorCode::InvalidMetadata, format!("Upload-Metadata: {m}"))
    };
    if raw.len() > MAX_METADATA {
        return Err(bad("too long"));
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = match pair.split_once(' ') {
            Some((k, v)) => (k, v.trim()),
            None => (pair, ""),
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_graphic() && c != ',') {
            return Err(bad("keys are ASCII without spaces or commas"));
        }
        if out.iter().any(|(k, _)| k == key) {
            return Err(bad("a key is given twice"));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|_| bad("values are base64"))?;
        let text = String::from_utf8(bytes).map_err(|_| bad("values are UTF-8 text"))?;
        out.push((key.to_string(), text));
    }
    Ok(out)
}

/// tus "creation": `POST` with `Upload-Length` and `Upload-Metadata` (`filename` (or `name`),
/// optional `folder` id and `on_conflict` = fail | keep_both | overwrite).
pub async fn create(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
) -> Response {
    let result = async {
        check_version(&headers)?;
        if headers.contains_key("upload-defer-length") {
            return Err(AppError::bad_request(
                ErrorCode::InvalidLength,
                "Upload-Defer-Length is not supported: send Upload-Length",
            ));
        }
        let length: i64 = headers
            .get("upload-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|v| *v <= i64::MAX as u64)
            .map(|v| v as i64)
            .ok_or_else(|| {
                AppError::bad_request(
                    ErrorCode::InvalidLength,
                    "Upload-Length (a number of bytes) is required",
                )
            })?;
        let raw_meta = headers
            .get("upload-metadata")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let meta = parse_metadata(&raw_meta)?;
        let get = |k: &str| {
            meta.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        let filename = get("filename").or_else(|| get("name")).ok_or_else(|| {
            AppError::bad_request(
                ErrorCode::InvalidMetadata,
                "Upload-Metadata needs the file's name (filename)",
            )
        })?;
        let name = NodeName::parse(&filename)?;
        let folder = crate::http::files::parse_folder(get("folder"))?;
        let on_conflict = match get("on_conflict").as_deref() {
            None | Some("") | Some("fail") => OnConflict::Fail,
            Some("keep_both") => OnConflict::KeepBoth,
            Some("overwrite") => OnConflict::Overwrite,
            Some(_) => {
                return Err(AppError::bad_request(
                    ErrorCode::InvalidMetadata,
                    "on_conflict is fail, keep_both or overwrite",
                ));
            }
        };
        let req = NewTusUpload {
            name,
            folder,
            on_conflict,
            metadata: raw_meta,
            length,
        };
        let p = app
            .uploads
            .create_tus_upload(&user.id, user.pinned_volume.clone(), req)
            .await?;
        tracing::info!(user = %user.id, upload = %p.upload.id, length, "resumable upload created");
        let mut res = StatusCode::CREATED.into_response();
        let h = res.headers_mut();
        h.insert(
            header::LOCATION,
            hv(format!("/api/files/uploads/{}", p.upload.id)),
        );
        h.insert("upload-expires", hv(http_date(p.upload.expires_at)));
        h.insert("upload-offset", hv(p.upload.offset));
        if let Some(f) = &p.file {
            h.insert(FILE_ID_HEADER, hv(&f.id));
        }
        Ok(res)
    }
    .await;
    with_version_list(result.unwrap_or_else(IntoResponse::into_response))
}

fn parse_upload_id(id: &str) -> AppResult<String> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .map_err(|_| {
            AppError::new(
                ErrorCode::UploadNotFound,
                "no such upload (it may have expired)",
            )
        })
}

fn state_headers(res: &mut Response, up: &TusUpload) {
    let h = res.headers_mut();
    h.insert("upload-offset", hv(up.offset));
    h.insert("upload-expires", hv(http_date(up.expires_at)));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(f) = &up.file_id {
        h.insert(FILE_ID_HEADER, hv(f));
    }
}

/// `HEAD`: where to resume. A finished upload reports its full length (and the file it became).
pub async fn offset(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        check_version(&headers)?;
        let up = app
            .uploads
            .get_tus_upload(&user.id, &parse_upload_id(&id)?)
            .await?;
        let mut res = StatusCode::OK.into_response();
        state_headers(&mut res, &up);
        res.headers_mut().insert("upload-length", hv(up.length));
        if !up.metadata.is_empty() {
            res.headers_mut()
                .insert("upload-metadata", hv(&up.metadata));
        }
        Ok::<_, AppError>(res)
    }
    .await;
    let mut res = with_version_list(result.unwrap_or_else(IntoResponse::into_response));
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// `PATCH` with `Content-Type: application/offset+octet-stream` and `Upload-Offset`: appends the
/// body (at most 100 MB per request).
pub async fn append(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // Refused before a byte of the body is read (reading it would hold the slot it lacks).
    let permit = match app.ops.transfers.try_begin(&user.id) {
        Ok(p) => p,
        Err(busy) => {
            let mut r = with_version_list(busy.into_error().into_response());
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
    };
    let result = async {
        check_version(&headers)?;
        let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !ct.trim().eq_ignore_ascii_case("application/offset+octet-stream") {
            return Ok(unsupported_media_type());
        }
        let offset: i64 = headers
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|v| *v <= i64::MAX as u64)
            .map(|v| v as i64)
            .ok_or_else(|| AppError::bad_request(ErrorCode::InvalidOffset, "Upload-Offset (a number of bytes) is required"))?;
        let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_REQUEST_BODY) {
            return Err(AppError::new(
                ErrorCode::BodyTooLarge,
                format!("one request may carry at most {MAX_REQUEST_BODY} bytes: send the upload in chunks"),
            ));
        }
        let id = parse_upload_id(&id)?;
        let p = app.uploads.append_tus_upload(&user.id, &id, offset, body.into_data_stream()).await?;
        if let Some(f) = &p.file {
            tracing::info!(user = %user.id, upload = %id, file = %f.id, size = f.size, "resumable upload finished");
        }
        let mut res = StatusCode::NO_CONTENT.into_response();
        state_headers(&mut res, &p.upload);
        Ok(res)
    }
    .await;
    let res = match result {
        Ok(r) => r,
        Err(e) => {
            let mut r = with_version_list(e.into_response());
            // The rest of the body may be unread: the connection cannot carry another request.
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    };
    crate::web::layer::hold_until_sent(res, permit)
}

fn unsupported_media_type() -> Response {
    let body = crate::error::error_body(
        ErrorCode::UnsupportedMediaType,
        "PATCH bodies are sent as Content-Type: application/offset+octet-stream",
    );
    let mut r = (StatusCode::UNSUPPORTED_MEDIA_TYPE, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// tus "termination": `DELETE` gives the space back.
pub async fn terminate(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        check_version(&headers)?;
        app.uploads
            .terminate_tus_upload(&user.id, &parse_upload_id(&id)?)
            .await?;
        Ok::<_, AppError>(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    with_version_list(result.unwrap_or_else(IntoResponse::into_response))
}

/// The caller's unfinished uploads (JSON; not part of tus).
pub async fn list(
    State(app): State<App>,
    AuthUser(user): AuthUser,
) -> AppResult<axum::Json<UnfinishedUploadsResponse>> {
    let ups = app.uploads.list_tus_uploads(&user.id).await?;
    let uploads = ups
        .iter()
        .map(|u| {
            let meta = parse_metadata(&u.metadata).unwrap_or_default();
            UnfinishedUploadResponse::new(u, meta.into_iter().collect())
        })
        .collect();
    Ok(axum::Json(UnfinishedUploadsResponse { uploads }))
}
