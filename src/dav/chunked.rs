//! Nextcloud chunked uploads under `/dav/uploads/{username}/`, for clients (rclone with
//! `--webdav-vendor nextcloud`) that must keep every request body under Cloudflare's 100 MB:
//! `MKCOL {dir}` starts an upload, `PUT {dir}/{chunk}` stores a part (its bytes reserved against
//! the quota as they stream), `MOVE {dir}/.file` with a `Destination` under `/dav/files/{username}/`
//! assembles the parts in name order into the target (copy_file_range: a reflink where the
//! filesystem can) and commits it like any other upload. Uploads untouched for 24 h expire and
//! give their space back.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::multistatus::{self, Entry};
use crate::auth::User;
use crate::error::{AppError, ErrorCode, Kind};
use crate::state::App;
use crate::store::Node;
use crate::store::{CommitOptions, NodeName, OnConflict};
use crate::uploads::ChunkUpload;

fn text(code: StatusCode, msg: &str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{msg}\n"),
    )
        .into_response()
}

fn from_app_error(e: AppError) -> Response {
    let code = match e.kind {
        Kind::QuotaExceeded | Kind::VolumeFull => StatusCode::INSUFFICIENT_STORAGE,
        _ => e.status(),
    };
    text(code, &e.message)
}

/// Upload folder names are the client's (rclone: `rclone-chunked-upload-{md5}`); chunk names
/// are numbers (`1`..`10000`) or byte ranges (`000000000000000-000000094371839`).
fn valid_upload_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s != "."
        && s != ".."
}

fn valid_chunk_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.chars().all(|c| c.is_ascii_digit() || c == '-')
        && s.chars().next().is_some_and(|c| c.is_ascii_digit())
}

fn header_i64(h: &HeaderMap, name: &str) -> Option<i64> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

pub async fn handle(app: App, user: User, prefix: String, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let rest: Vec<String> = match super::decode_segments(&path[prefix.len().min(path.len())..]) {
        Some(r) => r,
        None => return text(StatusCode::BAD_REQUEST, "invalid path"),
    };
    let method = req.method().as_str().to_string();
    match (method.as_str(), rest.len()) {
        ("PROPFIND", 0) => list_uploads(&app, &user, &path).await,
        ("MKCOL", 1) => create_upload(&app, &user, &rest[0], req.headers()).await,
        ("DELETE", 1) => delete_upload(&app, &user, &rest[0]).await,
        ("PROPFIND", 1) => list_parts(&app, &user, &rest[0], &path).await,
        ("PUT", 2) if rest[1] != ".file" => {
            let mut r = put_chunk(&app, &user, &rest[0], &rest[1], req).await;
            if !r.status().is_success() {
                // The rest of the body was not read: tell the client not to reuse this connection.
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            r
        }
        ("MOVE", 2) if rest[1] == ".file" => assemble(&app, &user, &rest[0], req.headers()).await,
        (_, 0..=2) => text(
            StatusCode::METHOD_NOT_ALLOWED,
            "not allowed on an upload folder",
        ),
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

async fn find_upload(app: &App, user: &User, name: &str) -> Result<ChunkUpload, Response> {
    match app.uploads.find_chunked(&user.id, name).await {
        Ok(Some(up)) => Ok(up),
        Ok(None) => Err(text(
            StatusCode::NOT_FOUND,
            "no such upload (MKCOL it first)",
        )),
        Err(e) => Err(from_app_error(e)),
    }
}

/// With `OC-Total-Length`, refuse up front an upload the quota cannot take.
async fn check_total_length(
    app: &App,
    user: &User,
    headers: &HeaderMap,
    already: i64,
) -> Result<(), Response> {
    let Some(total) = header_i64(headers, "oc-total-length") else {
        return Ok(());
    };
    let avail = app
        .store
        .available_bytes(&user.id)
        .await
        .map_err(from_app_error)?;
    if total < 0 || total - already > avail {
        return Err(text(
            StatusCode::INSUFFICIENT_STORAGE,
            "this upload would exceed your storage quota",
        ));
    }
    Ok(())
}

async fn create_upload(app: &App, user: &User, name: &str, headers: &HeaderMap) -> Response {
    if !valid_upload_name(name) {
        return text(StatusCode::BAD_REQUEST, "invalid upload folder name");
    }
    if let Err(r) = check_total_length(app, user, headers, 0).await {
        return r;
    }
    let result = app
        .uploads
        .create_chunked(&user.id, user.pinned_volume.clone(), name)
        .await;
    match result {
        Ok(true) => text(StatusCode::CREATED, "upload started"),
        Ok(false) => text(StatusCode::METHOD_NOT_ALLOWED, "that upload folder exists"),
        Err(e) => from_app_error(e),
    }
}

async fn put_chunk(app: &App, user: &User, upload: &str, chunk: &str, req: Request) -> Response {
    if !valid_chunk_name(chunk) {
        return text(
            StatusCode::BAD_REQUEST,
            "chunk names are numbers or byte ranges",
        );
    }
    let up = match find_upload(app, user, upload).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if let Err(r) = check_total_length(app, user, req.headers(), up.bytes).await {
        return r;
    }
    let expected: Option<u64> =
        header_i64(req.headers(), "content-length").map(|n| n.max(0) as u64);
    let mut sink = match app.uploads.begin_part(&up, expected).await {
        Ok(s) => s,
        Err(e) => return from_app_error(e),
    };
    let mut body = req.into_body().into_data_stream();
    while let Some(chunk) = body.next().await {
        let Ok(bytes) = chunk else {
            return text(StatusCode::BAD_REQUEST, "the body was cut off");
        };
        if let Err(e) = sink.write(&bytes).await {
            // Over quota, disk full...: the client reads the answer rather than a reset.
            drop(sink);
            crate::web::linger::drain(Body::from_stream(body)).await;
            return from_app_error(e);
        }
    }
    if expected.is_some_and(|n| n != sink.written() as u64) {
        return text(
            StatusCode::BAD_REQUEST,
            "the body is shorter than Content-Length",
        );
    }
    let staged = match sink.finish().await {
        Ok(s) => s,
        Err(e) => return from_app_error(e),
    };
    let result = app.uploads.store_part(up, chunk, staged).await;
    match result {
        Ok(()) => text(StatusCode::CREATED, "chunk stored"),
        Err(e) => from_app_error(e),
    }
}

async fn delete_upload(app: &App, user: &User, name: &str) -> Response {
    let up = match find_upload(app, user, name).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    match app.uploads.discard_chunked(up).await {
        Ok(()) => (StatusCode::NO_CONTENT, Body::empty()).into_response(),
        Err(e) => from_app_error(e),
    }
}

/// The target of a MOVE: (folder, name) under the caller's own drive, from a Destination
/// that may be an absolute URL.
async fn destination(
    app: &App,
    user: &User,
    headers: &HeaderMap,
) -> Result<(Node, NodeName), Response> {
    let raw = headers
        .get("destination")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| text(StatusCode::BAD_REQUEST, "Destination is required"))?;
    let path = match raw.parse::<axum::http::Uri>() {
        Ok(u) => u.path().to_string(),
        Err(_) => return Err(text(StatusCode::BAD_REQUEST, "invalid Destination")),
    };
    let segs = super::decode_segments(&path)
        .ok_or_else(|| text(StatusCode::BAD_REQUEST, "invalid Destination"))?;
    // Nextcloud's apps name it in their own form (`/remote.php/dav/files/…`, `/remote.php/webdav/…`).
    let segs = super::nextcloud_alias(segs, &user.username).0;
    let (owner, rest) = match segs.as_slice() {
        [d, f, owner, rest @ ..] if d == "dav" && f == "files" && !rest.is_empty() => (owner, rest),
        // Not a place in a drive (another namespace of this server, or the drive root): refused
        // as a client error, not as a 502 the client could make the server count at will.
        _ => {
            return Err(text(
                StatusCode::FORBIDDEN,
                "Destination must be a file under /dav/files/{username}/",
            ));
        }
    };
    if !owner.eq_ignore_ascii_case(&user.username) {
        return Err(text(StatusCode::FORBIDDEN, "not your drive"));
    }
    let name = NodeName::parse(rest.last().unwrap())
        .map_err(|e| text(StatusCode::BAD_REQUEST, &e.message))?;
    let parent_segs = rest[..rest.len() - 1].to_vec();
    match app.store.resolve_path(&user.id, parent_segs).await {
        Ok(Some(p)) if p.is_dir() => Ok((p, name)),
        Ok(_) => Err(text(
            StatusCode::CONFLICT,
            "the destination folder does not exist",
        )),
        Err(e) => Err(from_app_error(e)),
    }
}

async fn assemble(app: &App, user: &User, upload: &str, headers: &HeaderMap) -> Response {
    let up = match find_upload(app, user, upload).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let (folder, name) = match destination(app, user, headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let overwrite = headers
        .get("overwrite")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("F"));
    let Some(busy) = app.uploads.begin_assembly(&up) else {
        return text(StatusCode::LOCKED, "this upload is being assembled");
    };
    match assemble_inner(app, user, &up, folder, name, overwrite, headers, busy).await {
        Ok((node, existed, mtime_set)) => {
            let mut r = text(
                if existed {
                    StatusCode::NO_CONTENT
                } else {
                    StatusCode::CREATED
                },
                "assembled",
            );
            let etag = format!("\"{}\"", node.etag);
            let h = r.headers_mut();
            h.insert(header::ETAG, HeaderValue::from_str(&etag).unwrap());
            h.insert("OC-ETag", HeaderValue::from_str(&etag).unwrap());
            h.insert("OC-FileId", HeaderValue::from_str(&node.id).unwrap());
            if mtime_set {
                h.insert("X-OC-MTime", HeaderValue::from_static("accepted"));
            }
            r
        }
        Err(r) => r,
    }
}

/// Checks the destination and the parts against the request, then has the uploads service
/// assemble and commit them (`Overwrite: F` is the commit's own `OnConflict::Fail`, so of two
/// MOVEs racing to one destination only one wins).
#[allow(clippy::too_many_arguments)]
async fn assemble_inner(
    app: &App,
    user: &User,
    up: &ChunkUpload,
    folder: Node,
    name: NodeName,
    overwrite: bool,
    headers: &HeaderMap,
    busy: crate::uploads::BusyGuard,
) -> Result<(Node, bool, bool), Response> {
    let existing = app
        .store
        .resolve_below(&user.id, &folder, vec![name.as_str().to_string()])
        .await
        .map_err(from_app_error)?;
    if existing.as_ref().is_some_and(|n| n.is_dir()) {
        return Err(text(StatusCode::CONFLICT, "a folder of that name exists"));
    }
    if existing.is_some() && !overwrite {
        return Err(destination_exists());
    }
    let parts = app.uploads.list_parts(up).await.map_err(from_app_error)?;
    let total: i64 = parts.iter().map(|p| p.size).sum();
    if let Some(want) = header_i64(headers, "oc-total-length")
        && want != total
    {
        return Err(text(
            StatusCode::BAD_REQUEST,
            &format!("OC-Total-Length is {want} but the chunks hold {total} bytes"),
        ));
    }
    let mtime = header_i64(headers, "x-oc-mtime")
        .filter(|t| *t > 0)
        .map(|t| t * 1000);
    let opts = CommitOptions {
        on_conflict: if overwrite {
            OnConflict::Overwrite
        } else {
            OnConflict::Fail
        },
        modified_at: mtime,
        ..Default::default()
    };
    let checksum = headers
        .get("oc-checksum")
        .and_then(|v| v.to_str().ok())
        .filter(|v| super::valid_checksum(v))
        .map(str::to_string);
    let committed = app
        .uploads
        .assemble_chunked(up, parts, folder.id, name, opts, checksum, busy)
        .await;
    let node = match committed {
        Ok(n) => n,
        // Taken between the look above and the commit: `Overwrite: F` holds.
        Err(e) if !overwrite && e.code == ErrorCode::NameExists => return Err(destination_exists()),
        Err(e) => return Err(from_app_error(e)),
    };
    Ok((node, existing.is_some(), mtime.is_some()))
}

fn destination_exists() -> Response {
    text(
        StatusCode::PRECONDITION_FAILED,
        "the destination exists (Overwrite: F)",
    )
}

async fn list_uploads(app: &App, user: &User, path: &str) -> Response {
    let ups = match app.uploads.list_chunked(&user.id).await {
        Ok(u) => u,
        Err(e) => return from_app_error(e),
    };
    let base = if path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    };
    let mut entries = vec![Entry::collection(base.clone())];
    entries
        .extend(ups.iter().map(|u| {
            Entry::collection(format!("{base}{}/", super::tree::encode_segment(&u.name)))
        }));
    multistatus::response(&entries)
}

async fn list_parts(app: &App, user: &User, upload: &str, path: &str) -> Response {
    let up = match find_upload(app, user, upload).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let parts = match app.uploads.list_parts(&up).await {
        Ok(p) => p,
        Err(e) => return from_app_error(e),
    };
    let base = if path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    };
    let mut entries = vec![Entry::collection(base.clone())];
    entries.extend(parts.iter().map(|p| {
        Entry::member(
            format!("{base}{}", super::tree::encode_segment(&p.name)),
            u64::try_from(p.size).unwrap_or(0),
        )
    }));
    multistatus::response(&entries)
}
