//! Share links. The owner's routes (`/api/shares`: create, list, revoke) and the guest's
//! (`/api/public/shares/{token}/...`: what it is, unlock with the password, items, thumbnails,
//! downloads, the zip), which need no account and reach nothing outside the link.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use crate::audit::Entry;
use crate::catalog::PageFacts;
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::cookies::{CookieContext, SHARE_GRANT_COOKIE, read_cookie, share_grant_cookie};
use crate::http::dto::{
    PublicItemResponse, PublicItemsResponse, PublicShareResponse, ShareGrantResponse,
    ShareResponse, SharesResponse,
};
use crate::http::extract::{ApiJson, AuthUser, ClientAddr};
use crate::shares::{self, NewShare, Share, ShareKind};
use crate::state::App;
use crate::store::Node;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/shares", get(list).post(create))
        .route("/shares/{id}", axum::routing::delete(revoke))
        .route("/public/shares/{token}", get(info))
        .route("/public/shares/{token}/unlock", post(unlock))
        .route("/public/shares/{token}/items", get(items))
        .route(
            "/public/shares/{token}/files/{id}/thumbnail",
            get(thumbnail),
        )
        .route("/public/shares/{token}/files/{id}/download", get(download))
        .route("/public/shares/{token}/zip", get(zip))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateShareRequest {
    kind: String,
    target_id: String,
    password: Option<String>,
    /// RFC 3339, or null for no expiry.
    expires_at: Option<String>,
    #[serde(default = "yes")]
    allow_download: bool,
}

fn yes() -> bool {
    true
}

pub async fn create(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    ClientAddr(addr): ClientAddr,
    ApiJson(req): ApiJson<CreateShareRequest>,
) -> AppResult<(StatusCode, Json<ShareResponse>)> {
    let expires_at = match req.expires_at.as_deref() {
        None | Some("") => None,
        Some(t) => Some(
            humantime::parse_rfc3339_weak(t)
                .map_err(|_| {
                    AppError::bad_request(ErrorCode::InvalidShare, "expires_at is an RFC 3339 time")
                })?
                .duration_since(std::time::UNIX_EPOCH)
                .map_err(|_| {
                    AppError::bad_request(ErrorCode::InvalidShare, "the expiry is in the past")
                })?
                .as_millis() as i64,
        ),
    };
    let new = NewShare {
        kind: ShareKind::parse(&req.kind)?,
        target_id: req.target_id,
        password: req.password.filter(|p| !p.is_empty()),
        expires_at,
        allow_download: req.allow_download,
    };
    let share = shares::create_share(&app.store, &user.id, new).await?;
    app.audit
        .record(
            Entry::by("share-created", &user)
                .on_object(&share.row.id)
                .from(addr)
                .detail(serde_json::json!({
                    "kind": share.row.kind, "target": share.row.target_id,
                    "password": share.row.password_hash.is_some(),
                    "download": share.row.allow_download, "expires_at": share.row.expires_at,
                })),
        )
        .await;
    Ok((StatusCode::CREATED, Json(ShareResponse::from(&share))))
}

pub async fn list(
    State(app): State<App>,
    AuthUser(user): AuthUser,
) -> AppResult<Json<SharesResponse>> {
    let all = shares::list_shares(&app.store, &user.id).await?;
    Ok(Json(SharesResponse {
        shares: all.iter().map(ShareResponse::from).collect(),
    }))
}

pub async fn revoke(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let share = shares::revoke_share(&app.store, &user.id, &id).await?;
    app.audit
        .record(
            Entry::by("share-revoked", &user)
                .on_object(&share.row.id)
                .from(addr),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

// ---- The guest's side ----

#[derive(Deserialize, Default)]
pub struct GrantQuery {
    /// The grant, for clients without the cookie.
    grant: Option<String>,
    folder: Option<String>,
    size: Option<String>,
    inline: Option<bool>,
}

/// The share the token names, and whether the request carries its password's grant.
async fn open(
    app: &App,
    token: &str,
    addr: std::net::IpAddr,
    headers: &HeaderMap,
    q: &GrantQuery,
) -> AppResult<(Share, bool)> {
    let share = shares::open(&app.store, &app.shares, token, &addr.to_string()).await?;
    if share.row.password_hash.is_none() {
        return Ok((share, true));
    }
    let grant = q
        .grant
        .clone()
        .or_else(|| read_cookie(headers, SHARE_GRANT_COOKIE));
    let ok = grant.is_some_and(|g| shares::grant_opens(&app.auth.keys, &share.row, &g));
    Ok((share, ok))
}

/// [`open`], refusing without the password's grant.
async fn open_unlocked(
    app: &App,
    token: &str,
    addr: std::net::IpAddr,
    headers: &HeaderMap,
    q: &GrantQuery,
) -> AppResult<Share> {
    let (share, unlocked) = open(app, token, addr, headers, q).await?;
    if !unlocked {
        return Err(AppError::new(
            ErrorCode::SharePasswordRequired,
            "this link has a password: unlock it first",
        ));
    }
    Ok(share)
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}

pub async fn info(
    State(app): State<App>,
    ClientAddr(addr): ClientAddr,
    Path(token): Path<String>,
    headers: HeaderMap,
    Query(q): Query<GrantQuery>,
) -> AppResult<Response> {
    let (share, unlocked) = open(&app, &token, addr, &headers, &q).await?;
    let owner = shares::owner_name(&app.store, &share.row.owner_id).await?;
    Ok(no_store(
        Json(PublicShareResponse {
            kind: share.row.kind.clone(),
            name: share.name.clone().unwrap_or_default(),
            owner,
            has_password: share.row.password_hash.is_some(),
            unlocked,
            allow_download: share.row.allow_download,
            expires_at: share.row.expires_at.map(crate::http::dto::rfc3339),
        })
        .into_response(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnlockRequest {
    password: String,
}

pub async fn unlock(
    State(app): State<App>,
    ClientAddr(addr): ClientAddr,
    cookies: CookieContext,
    Path(token): Path<String>,
    ApiJson(req): ApiJson<UnlockRequest>,
) -> AppResult<Response> {
    let share = shares::open(&app.store, &app.shares, &token, &addr.to_string()).await?;
    shares::check_password(&app.shares, &share, &req.password, &addr.to_string()).await?;
    let grant = shares::issue_grant(&app.auth.keys, &share.row)?;
    let mut r = Json(ShareGrantResponse {
        grant: grant.clone(),
        expires_in: shares::GRANT_SECS,
    })
    .into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        share_grant_cookie(&token, &grant, shares::GRANT_SECS, cookies.secure),
    );
    Ok(no_store(r))
}

async fn public_items(app: &App, nodes: &[Node]) -> AppResult<Vec<PublicItemResponse>> {
    let facts = crate::catalog::page_facts(&app.store, nodes).await?;
    Ok(nodes
        .iter()
        .map(|n| PublicItemResponse::of(n, &facts))
        .collect())
}

pub async fn items(
    State(app): State<App>,
    ClientAddr(addr): ClientAddr,
    Path(token): Path<String>,
    headers: HeaderMap,
    Query(q): Query<GrantQuery>,
) -> AppResult<Response> {
    let share = open_unlocked(&app, &token, addr, &headers, &q).await?;
    let view = shares::view(&app.store, &share.row, q.folder.clone()).await?;
    // The folder and the path are folders: no media facts to look up for them.
    let none = PageFacts::default();
    Ok(no_store(
        Json(PublicItemsResponse {
            folder: view
                .folder
                .as_ref()
                .map(|f| PublicItemResponse::of(f, &none)),
            path: view
                .path
                .iter()
                .map(|f| PublicItemResponse::of(f, &none))
                .collect(),
            items: public_items(&app, &view.items).await?,
        })
        .into_response(),
    ))
}

pub async fn thumbnail(
    State(app): State<App>,
    ClientAddr(addr): ClientAddr,
    Path((token, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<GrantQuery>,
) -> AppResult<Response> {
    let share = open_unlocked(&app, &token, addr, &headers, &q).await?;
    let node = shares::shared_node(&app.store, &share.row, &id).await?;
    let size = crate::catalog::ThumbSize::parse(q.size.as_deref())?;
    let (path, etag) =
        crate::catalog::thumbnail(&app.store, &share.row.owner_id, &node.id, size).await?;
    crate::web::download::serve_thumbnail(&path, &etag, &headers).await
}

/// A guest's transfer counts against the owner's concurrent transfers, as the owner's own would.
fn owner_transfer(app: &App, share: &Share) -> AppResult<impl Send + Unpin + 'static> {
    app.ops
        .transfers
        .try_begin(&share.row.owner_id)
        .map_err(|b| b.into_error())
}

pub async fn download(
    State(app): State<App>,
    ClientAddr(addr): ClientAddr,
    Path((token, id)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    Query(q): Query<GrantQuery>,
) -> AppResult<Response> {
    let share = open_unlocked(&app, &token, addr, &headers, &q).await?;
    shares::require_download(&share.row)?;
    let node = shares::shared_node(&app.store, &share.row, &id).await?;
    if node.is_dir() {
        return Err(AppError::bad_request(
            ErrorCode::IsAFolder,
            "folders download as the zip",
        ));
    }
    let permit = owner_transfer(&app, &share)?;
    let res = crate::web::download::serve_file(
        &app.store,
        &node,
        &method,
        &headers,
        q.inline.unwrap_or(false),
    )
    .await?;
    Ok(crate::web::layer::hold_until_sent(res, permit))
}

pub async fn zip(
    State(app): State<App>,
    ClientAddr(addr): ClientAddr,
    Path(token): Path<String>,
    headers: HeaderMap,
    Query(q): Query<GrantQuery>,
) -> AppResult<Response> {
    let share = open_unlocked(&app, &token, addr, &headers, &q).await?;
    shares::require_download(&share.row)?;
    let name = share.name.clone().unwrap_or_else(|| "share".into());
    let entries = shares::zip::entries(&app.store, &share.row, &name).await?;
    let permit = owner_transfer(&app, &share)?;
    let body: Body = shares::zip::stream(app.store.clone(), entries);
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&crate::web::download::content_disposition(
            &format!("{name}.zip"),
            false,
        ))
        .map_err(|_| AppError::internal("content-disposition"))?,
    );
    Ok(crate::web::layer::hold_until_sent(no_store(r), permit))
}
