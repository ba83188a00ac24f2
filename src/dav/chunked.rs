//! Nextcloud chunked uploads under `/dav/uploads/{username}/`, for clients (rclone with
//! `--webdav-vendor nextcloud`) that must keep every request body under Cloudflare's 100 MB:
//! `MKCOL {dir}` starts an upload, `PUT {dir}/{chunk}` stores a part (its bytes reserved against
//! the quota as they stream), `MOVE {dir}/.file` with a `Destination` under `/dav/files/{username}/`
//! assembles the parts in name order into the target (copy_file_range: a reflink where the
//! filesystem can) and commits it like any other upload. Uploads untouched for 24 h expire and
//! give their space back.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use crate::app::App;
use crate::db::chunks::ChunkUpload;
use crate::db::users::User;
use crate::db::{self};
use crate::error::{AppError, ErrorCode, Kind};
use crate::store::{CommitOptions, NodeName, OnConflict};

pub const EXPIRE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Uploads being assembled right now (a second MOVE waits with 423, as Nextcloud answers).
/// Each mark is held by an [`AssemblyGuard`], so a MOVE whose client goes away (hyper then drops
/// the request's future wherever it waits) gives its mark back instead of leaving the upload
/// answering 423 until a restart.
#[derive(Default)]
pub struct Assembling(Arc<Mutex<HashSet<String>>>);

impl Assembling {
    /// Marks `upload_id` as being assembled, or None when another request already does.
    fn enter(&self, upload_id: &str) -> Option<AssemblyGuard> {
        if !self.0.lock().unwrap().insert(upload_id.to_string()) {
            return None;
        }
        Some(AssemblyGuard {
            set: self.0.clone(),
            id: upload_id.to_string(),
            cancel: Arc::new(AtomicBool::new(false)),
        })
    }
}

/// One upload's "being assembled" mark, for as long as its MOVE runs. Dropped early (the
/// client went away while the parts were being copied), it also tells the copy to stop.
struct AssemblyGuard {
    set: Arc<Mutex<HashSet<String>>>,
    id: String,
    cancel: Arc<AtomicBool>,
}

impl Drop for AssemblyGuard {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        self.set.lock().unwrap().remove(&self.id);
    }
}

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

/// Assembly order: by the leading number (chunk index or start offset).
fn chunk_order(name: &str) -> u64 {
    name.split('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
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
    let (u, n) = (user.id.clone(), name.to_string());
    match app
        .db
        .run(move |c| db::chunks::find_chunk_upload(c, &u, &n))
        .await
    {
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
    let id = user.id.clone();
    let avail = app
        .db
        .run(move |c| {
            Ok(c.query_row(
                "SELECT quota_bytes - used_bytes - reserved_bytes FROM users WHERE id = ?1",
                [&id],
                |r| r.get::<_, i64>(0),
            )?)
        })
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
    let volumes = app.store.volumes.clone();
    let (uid, pinned, n) = (
        user.id.clone(),
        user.pinned_volume.clone(),
        name.to_string(),
    );
    let result = app
        .db
        .run(move |c| {
            if db::chunks::find_chunk_upload(c, &uid, &n)?.is_some() {
                return Ok(false);
            }
            let v = volumes.pick_for_write(pinned.as_deref())?;
            let up = ChunkUpload {
                id: db::new_id(),
                user_id: uid.clone(),
                name: n.clone(),
                volume: v.name.clone(),
                bytes: 0,
                created_at: db::now_ms(),
                updated_at: db::now_ms(),
            };
            std::fs::create_dir_all(v.chunk_dir(&up.id))?;
            db::chunks::insert_chunk_upload(c, &up)?;
            Ok(true)
        })
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
    let mut sink = match crate::store::UploadSink::begin(
        &app.db,
        app.store.volumes.clone(),
        &user.id,
        Some(up.volume.clone()),
        String::new(), // parts have no extension
        expected,
    )
    .await
    {
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
            crate::http::linger::drain(Body::from_stream(body)).await;
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
    let volumes = app.store.volumes.clone();
    let chunk = chunk.to_string();
    let uid = user.id.clone();
    let result = app
        .db
        .run(move |c| {
            let mut staged = staged;
            let v = volumes.online(&up.volume)?;
            let dir = v.chunk_dir(&up.id);
            let target = dir.join(&chunk);
            std::fs::rename(&staged.guard.tmp_path, &target)?;
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // The session must still exist (a DELETE may have raced us).
            if db::chunks::find_chunk_upload(&tx, &uid, &up.name)?.is_none() {
                let _ = std::fs::remove_file(&target);
                return Err(AppError::not_found());
            }
            let old = db::chunks::put_part(&tx, &up.id, &chunk, staged.size, db::now_ms())?;
            // Keep exactly this part's size reserved: give back any excess and a replaced part.
            db::users::release_reservation(&tx, &uid, staged.guard.reserved - staged.size + old)?;
            tx.commit()?;
            staged.guard.disarmed = true;
            Ok(())
        })
        .await;
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
    match discard_upload(app, up).await {
        Ok(()) => (StatusCode::NO_CONTENT, Body::empty()).into_response(),
        Err(e) => from_app_error(e),
    }
}

/// Deletes an upload's rows (giving its space back) and then its parts on disk.
async fn discard_upload(app: &App, up: ChunkUpload) -> Result<(), AppError> {
    let volumes = app.store.volumes.clone();
    app.db
        .run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let held: Option<i64> = rusqlite::OptionalExtension::optional(tx.query_row(
                "SELECT bytes FROM chunk_uploads WHERE id = ?1",
                [&up.id],
                |r| r.get(0),
            ))?;
            if let Some(held) = held {
                db::users::release_reservation(&tx, &up.user_id, held)?;
                db::chunks::delete_chunk_upload(&tx, &up.id)?;
            }
            tx.commit()?;
            if let Ok(v) = volumes.online(&up.volume) {
                let _ = std::fs::remove_dir_all(v.chunk_dir(&up.id));
            }
            Ok(())
        })
        .await
}

/// Removes uploads untouched for 24 h, and part folders that no upload owns. Runs at start-up
/// and then periodically.
pub async fn expire_stale_uploads(app: &App) -> Result<usize, AppError> {
    let before = db::now_ms() - EXPIRE_AFTER.as_millis() as i64;
    let stale = app
        .db
        .run(move |c| db::chunks::list_stale_chunk_uploads(c, before))
        .await?;
    let n = stale.len();
    for up in stale {
        discard_upload(app, up).await?;
    }
    let volumes = app.store.volumes.clone();
    let known: HashSet<String> = app
        .db
        .run(|c| db::chunks::list_all_chunk_uploads(c))
        .await?
        .into_iter()
        .map(|u| u.id)
        .collect();
    tokio::task::spawn_blocking(move || {
        for v in volumes.all().iter().filter(|v| volumes.is_online(v)) {
            let Ok(entries) = std::fs::read_dir(v.path.join(crate::store::volumes::CHUNKS_DIR))
            else {
                continue;
            };
            for e in entries.flatten() {
                if !known.contains(&e.file_name().to_string_lossy().to_string()) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
    })
    .await?;
    Ok(n)
}

/// The target of a MOVE: (folder id, name) under the caller's own drive, from a Destination
/// that may be an absolute URL.
async fn destination(
    app: &App,
    user: &User,
    headers: &HeaderMap,
) -> Result<(String, NodeName), Response> {
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
        Ok(Some(p)) if p.is_dir() => Ok((p.id, name)),
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
    let Some(busy) = app.dav.assembling.enter(&up.id) else {
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

/// Assembles the parts into a new body (given up if the client goes away meanwhile), then
/// commits it: with `Overwrite: F` the commit itself refuses a taken name, so of two MOVEs racing
/// to one destination only one can win. The commit and what follows it run to their end even if
/// the client goes away then, holding the upload's mark until they are done.
#[allow(clippy::too_many_arguments)]
async fn assemble_inner(
    app: &App,
    user: &User,
    up: &ChunkUpload,
    folder: String,
    name: NodeName,
    overwrite: bool,
    headers: &HeaderMap,
    busy: AssemblyGuard,
) -> Result<(crate::db::nodes::Node, bool, bool), Response> {
    let (id, key, f) = (up.id.clone(), name.as_str().to_string(), folder.clone());
    let (mut parts, existing) = app
        .db
        .run(move |c| {
            Ok((
                db::chunks::list_parts(c, &id)?,
                db::nodes::find_child(c, &f, &key)?,
            ))
        })
        .await
        .map_err(from_app_error)?;
    if existing.as_ref().is_some_and(|n| n.is_dir()) {
        return Err(text(StatusCode::CONFLICT, "a folder of that name exists"));
    }
    if existing.is_some() && !overwrite {
        return Err(destination_exists());
    }
    parts.sort_by_key(|p| (chunk_order(&p.name), p.name.clone()));
    let total: i64 = parts.iter().map(|p| p.size).sum();
    if let Some(want) = header_i64(headers, "oc-total-length")
        && want != total
    {
        return Err(text(
            StatusCode::BAD_REQUEST,
            &format!("OC-Total-Length is {want} but the chunks hold {total} bytes"),
        ));
    }
    let staged = app
        .store
        .stage_assembled(
            &user.id,
            &up.volume,
            &up.id,
            parts,
            total,
            name.disk_ext(),
            busy.cancel.clone(),
        )
        .await
        .map_err(from_app_error)?;
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
        finish_chunk_upload: Some(up.id.clone()),
        ..Default::default()
    };
    let checksum = headers
        .get("oc-checksum")
        .and_then(|v| v.to_str().ok())
        .filter(|v| super::valid_checksum(v))
        .map(str::to_string);
    let (app2, uid, up2) = (app.clone(), user.id.clone(), up.clone());
    let committed = tokio::spawn(async move {
        let _busy = busy;
        let node = app2
            .store
            .commit_file_with(&uid, Some(folder), name, staged, opts)
            .await?;
        let volumes = app2.store.volumes.clone();
        let _ = tokio::task::spawn_blocking(move || {
            if let Ok(v) = volumes.online(&up2.volume) {
                let _ = std::fs::remove_dir_all(v.chunk_dir(&up2.id));
            }
        })
        .await;
        if let Some(sum) = checksum {
            let _ = app2.store.set_checksums(&uid, &node.id, &sum).await;
        }
        Ok::<_, AppError>(node)
    })
    .await
    .map_err(|e| from_app_error(e.into()))?;
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

fn multistatus(entries: &[(String, bool, i64)]) -> Response {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\">",
    );
    for (href, is_dir, size) in entries {
        let kind = if *is_dir {
            "<D:resourcetype><D:collection/></D:resourcetype>".to_string()
        } else {
            format!("<D:resourcetype/><D:getcontentlength>{size}</D:getcontentlength>")
        };
        xml.push_str(&format!(
            "<D:response><D:href>{href}</D:href><D:propstat><D:prop>{kind}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>"
        ));
    }
    xml.push_str("</D:multistatus>\n");
    (
        StatusCode::MULTI_STATUS,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

async fn list_uploads(app: &App, user: &User, path: &str) -> Response {
    let uid = user.id.clone();
    let ups = match app
        .db
        .run(move |c| db::chunks::list_user_chunk_uploads(c, &uid))
        .await
    {
        Ok(u) => u,
        Err(e) => return from_app_error(e),
    };
    let base = if path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    };
    let mut entries = vec![(base.clone(), true, 0)];
    entries.extend(
        ups.iter()
            .map(|u| (format!("{base}{}/", u.name), true, u.bytes)),
    );
    multistatus(&entries)
}

async fn list_parts(app: &App, user: &User, upload: &str, path: &str) -> Response {
    let up = match find_upload(app, user, upload).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let id = up.id.clone();
    let parts = match app.db.run(move |c| db::chunks::list_parts(c, &id)).await {
        Ok(p) => p,
        Err(e) => return from_app_error(e),
    };
    let base = if path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    };
    let mut entries = vec![(base.clone(), true, up.bytes)];
    entries.extend(
        parts
            .iter()
            .map(|p| (format!("{base}{}", p.name), false, p.size)),
    );
    multistatus(&entries)
}
