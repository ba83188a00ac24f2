//! `COPY`, `MOVE` and `DELETE` of a drive, answered through the store's whole-tree operations:
//! one call for the whole subtree, linear in its size, with no recursion (dav-server walks a
//! tree recursively, one path lookup from the root per node, and a COPY that lands inside its
//! own source never ends). A request that carries conditions (`If`, `If-Match`, ...) goes to
//! dav-server, which evaluates them; the door has checked its Destination first.

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use dav_server::davpath::DavPath;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::status;
use crate::auth::User;
use crate::error::{AppError, ErrorCode, Kind};
use crate::state::App;
use crate::store::{Node, NodeName};

/// Headers whose evaluation (lock tokens, entity tags, dates) is left to dav-server.
const CONDITIONS: [&str; 5] = [
    "if",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
];

/// Characters kept as they are in a path segment; everything else is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One path segment, percent-encoded for a URL path: `b c` → `b%20c`.
pub fn encode_segment(seg: &str) -> String {
    utf8_percent_encode(seg, SEGMENT).to_string()
}

/// `segs` as an encoded path below a drive: `/a/b%20c` (`/` for the root).
pub fn encode_path(segs: &[String]) -> String {
    let mut out = String::new();
    for s in segs {
        out.push('/');
        out.extend(utf8_percent_encode(s, SEGMENT));
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Where a COPY or MOVE goes: the segments below the caller's own drive. `Err` is the answer:
/// 400 for a Destination that cannot be read, 403 for anything outside the caller's drive
/// (another user's drive — whether or not it exists —, a name that merely starts with the
/// caller's, another door) or the drive root itself. `Ok(None)`: no Destination (dav-server
/// answers 400).
pub fn destination(headers: &HeaderMap, user: &User) -> Result<Option<Vec<String>>, Box<Response>> {
    let Some(raw) = headers.get("destination") else {
        return Ok(None);
    };
    let path = raw
        .to_str()
        .ok()
        .and_then(|v| v.parse::<axum::http::Uri>().ok())
        .map(|u| u.path().to_string())
        .ok_or_else(|| Box::new(status(StatusCode::BAD_REQUEST, "invalid Destination")))?;
    let segs = super::decode_segments(&path)
        .ok_or_else(|| Box::new(status(StatusCode::BAD_REQUEST, "invalid Destination")))?;
    // Nextcloud's apps name it in their own form (`/remote.php/dav/files/…`, `/remote.php/webdav/…`).
    let segs = super::nextcloud_alias(segs, &user.username).0;
    // Whole segments only: `/dav/files/alicex/...` is not under `/dav/files/alice`.
    match segs.as_slice() {
        [d, f, owner, ..]
            if d == "dav" && f == "files" && owner.eq_ignore_ascii_case(&user.username) => {}
        _ => {
            return Err(Box::new(status(
                StatusCode::FORBIDDEN,
                "the Destination must be in your own drive",
            )));
        }
    }
    if segs.len() == 3 {
        return Err(Box::new(status(
            StatusCode::FORBIDDEN,
            "the drive root cannot be a destination",
        )));
    }
    Ok(Some(segs[3..].to_vec()))
}

/// How a refusal of the store reads over WebDAV.
fn answer(e: AppError, overwrite: bool) -> Response {
    let code = match (e.kind, e.code) {
        (_, ErrorCode::NameExists) if !overwrite => StatusCode::PRECONDITION_FAILED,
        (_, ErrorCode::FolderNotFound) => StatusCode::CONFLICT,
        (Kind::NotFound, _) => StatusCode::NOT_FOUND,
        (Kind::QuotaExceeded | Kind::VolumeFull, _) => StatusCode::INSUFFICIENT_STORAGE,
        (Kind::BadRequest | Kind::Forbidden | Kind::Conflict, _) => StatusCode::FORBIDDEN,
        _ => return axum::response::IntoResponse::into_response(e),
    };
    status(code, &e.message)
}

fn depth_infinity(headers: &HeaderMap) -> Option<bool> {
    match headers.get("depth").map(|v| v.to_str().map(str::trim)) {
        None => Some(true),
        Some(Ok(d)) if d.eq_ignore_ascii_case("infinity") => Some(true),
        Some(Ok("0")) => Some(false),
        _ => None,
    }
}

/// The folder a COPY or MOVE lands in and the new name: 409 when the folder is missing, 403 for a
/// name the namespace refuses.
async fn destination_parent(
    app: &App,
    user: &User,
    dest: &[String],
    overwrite: bool,
) -> Result<(Node, NodeName), Box<Response>> {
    let parent = match app
        .store
        .resolve_path(&user.id, dest[..dest.len() - 1].to_vec())
        .await
    {
        Ok(Some(p)) if p.is_dir() => p,
        Ok(_) => {
            return Err(Box::new(status(
                StatusCode::CONFLICT,
                "the destination folder does not exist",
            )));
        }
        Err(e) => return Err(Box::new(answer(e, overwrite))),
    };
    match NodeName::parse(dest.last().expect("a destination below the root")) {
        Ok(n) => Ok((parent, n)),
        Err(e) => Err(Box::new(status(StatusCode::FORBIDDEN, &e.message))),
    }
}

/// Answers a COPY, MOVE or DELETE below the drive root (`rel`, never empty) when it carries no
/// conditions; `None` leaves the request to dav-server.
pub async fn serve(
    app: &App,
    dav: &super::DavState,
    user: &User,
    rel: &[String],
    dest: Option<&[String]>,
    method: &Method,
    headers: &HeaderMap,
) -> Option<Response> {
    if CONDITIONS.iter().any(|h| headers.contains_key(*h)) {
        return None;
    }
    let deep = match (depth_infinity(headers), method.as_str()) {
        (Some(true), _) => true,
        (Some(false), "COPY") => false,
        // Depth 0 on DELETE or MOVE, or a Depth that cannot be read: dav-server's answers.
        _ => return None,
    };
    let dest = match (method.as_str(), dest) {
        ("DELETE", _) => None,
        ("COPY" | "MOVE", Some(d)) => Some(d),
        _ => return None,
    };
    let overwrite = !headers
        .get("overwrite")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("F"));

    let source = match app.store.resolve_path(&user.id, rel.to_vec()).await {
        Ok(Some(n)) => n,
        Ok(None) => return Some(status(StatusCode::NOT_FOUND, "not found")),
        Err(e) => return Some(answer(e, overwrite)),
    };
    let locks = dav.locks_for(&user.id);
    let lock_path = |segs: &[String], dir: bool| {
        let mut p = encode_path(segs);
        if dir && !p.ends_with('/') {
            p.push('/');
        }
        DavPath::new(&p).ok()
    };
    let principal = Some(user.username.as_str());
    let src_path = lock_path(rel, source.is_dir())?;
    // Without submitted tokens, any lock on the source (MOVE, DELETE) or the destination (COPY,
    // MOVE), above or below it, refuses the request, as dav-server would.
    if method.as_str() != "COPY"
        && locks
            .check(&src_path, principal, false, true, &[])
            .await
            .is_err()
    {
        return Some(status(StatusCode::LOCKED, "locked"));
    }

    let Some(dest) = dest else {
        return Some(match app.store.delete_node(&user.id, &source.id).await {
            Ok(_) => {
                let _ = locks.delete(&src_path).await;
                no_content()
            }
            Err(e) => answer(e, overwrite),
        });
    };
    if dest == rel {
        return Some(status(
            StatusCode::FORBIDDEN,
            "the source and the destination are the same",
        ));
    }
    let dest_path = lock_path(dest, source.is_dir())?;
    if locks
        .check(&dest_path, principal, false, true, &[])
        .await
        .is_err()
    {
        return Some(status(StatusCode::LOCKED, "locked"));
    }
    let (parent, name) = match destination_parent(app, user, dest, overwrite).await {
        Ok(found) => found,
        Err(res) => return Some(*res),
    };
    let placed = if method.as_str() == "COPY" {
        app.store
            .copy_tree(&user.id, &source.id, &parent.id, name, deep, overwrite)
            .await
    } else {
        app.store
            .move_node_with(&user.id, &source.id, Some(parent.id), Some(name), overwrite)
            .await
    };
    Some(match placed {
        Ok(p) => {
            if method.as_str() == "MOVE" {
                let _ = locks.delete(&src_path).await;
            }
            if p.replaced {
                let _ = locks.delete(&dest_path).await;
                no_content()
            } else {
                status(StatusCode::CREATED, "created")
            }
        }
        Err(e) => answer(e, overwrite),
    })
}

fn no_content() -> Response {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(axum::body::Body::empty())
        .unwrap()
}

/// Before a DELETE goes to dav-server: a tree too deep to walk is refused.
pub async fn precheck_delete(app: &App, user: &User, rel: &[String]) -> Option<Response> {
    let source = match app.store.resolve_path(&user.id, rel.to_vec()).await {
        Ok(Some(n)) => n,
        _ => return None,
    };
    match app.store.check_walkable(&user.id, &source.id).await {
        Ok(()) => None,
        Err(e) => Some(answer(e, true)),
    }
}

/// Before a COPY or MOVE goes to dav-server: the checks that must hold whatever its conditions
/// say (into itself, on node ids; the depth limit), so that its recursive walk stays bounded.
pub async fn precheck(
    app: &App,
    user: &User,
    rel: &[String],
    dest: &[String],
    deep: bool,
) -> Option<Response> {
    let source = match app.store.resolve_path(&user.id, rel.to_vec()).await {
        Ok(Some(n)) => n,
        _ => return None,
    };
    let parent = match app
        .store
        .resolve_path(&user.id, dest[..dest.len() - 1].to_vec())
        .await
    {
        Ok(Some(p)) if p.is_dir() => p,
        _ => return None,
    };
    match app
        .store
        .check_placement(&user.id, &source.id, &parent.id, deep)
        .await
    {
        Ok(()) => None,
        Err(e) => Some(answer(e, true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_encode_back_to_what_decodes() {
        let segs = vec!["a b".to_string(), "café%#?".to_string()];
        let p = encode_path(&segs);
        assert_eq!(p, "/a%20b/caf%C3%A9%25%23%3F");
        assert_eq!(super::super::decode_segments(&p).unwrap(), segs);
        assert_eq!(encode_path(&[]), "/");
    }
}
