//! `/healthz`, `/metrics` and `/api/admin/audit`. Health details and metrics are for this
//! machine (a loopback client that came through no proxy) or an admin: a Bearer access token,
//! or HTTP Basic with an admin's app password (what a Prometheus scrape config can hold).

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::dto::{AuditEntryResponse, AuditPageResponse};
use crate::http::extract::{AdminUser, AuthUser, ClientAddr};
use crate::ops::health::{self, Status};
use crate::ops::metrics::Gauges;
use crate::state::App;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route_layer(axum::middleware::from_fn(crate::web::layer::remember_route))
}

/// The caller may see details: this machine, or an admin.
pub struct Privileged;

impl FromRequestParts<App> for Privileged {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        if crate::web::layer::is_local(parts) {
            return Ok(Privileged);
        }
        let auth = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let user = match crate::web::basic::parse_basic(auth.as_deref()) {
            Some((name, pass)) => {
                let ClientAddr(addr) = ClientAddr::from_request_parts(parts, app).await?;
                app.accounts.authenticate_basic(name, pass, addr).await?
            }
            None => AuthUser::from_request_parts(parts, app).await?.0,
        };
        if !user.is_admin {
            return Err(AppError::forbidden("this needs the admin role"));
        }
        Ok(Privileged)
    }
}

/// 200 with `status` ok or degraded, 503 when down. Others than this machine or an admin get
/// only the status.
pub async fn healthz(State(app): State<App>, privileged: Result<Privileged, AppError>) -> Response {
    let privileged = privileged.is_ok();
    let h = health::check(&app.store).await;
    let code = if h.status == Status::Down {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = if privileged {
        serde_json::to_value(&h).unwrap_or_default()
    } else {
        json!({ "status": h.status })
    };
    let mut res = (code, Json(body)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub async fn metrics(State(app): State<App>, _p: Privileged) -> AppResult<Response> {
    let gauges = gather(&app).await?;
    let text = app.ops.metrics.render(&gauges);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        text,
    )
        .into_response())
}

async fn gather(app: &App) -> AppResult<Gauges> {
    let jobs = app
        .jobs
        .counts()
        .await?
        .into_iter()
        .map(|j| (j.kind, j.state, j.count))
        .collect::<Vec<_>>();
    let all_users = app.accounts.list_users().await?;
    let used_bytes = all_users.iter().map(|u| u.used_bytes).sum::<i64>();
    let users = all_users.len() as i64;
    let volumes = app.store.volumes.clone();
    let volumes = tokio::task::spawn_blocking(move || volumes.status()).await?;
    let (resident_bytes, open_fds) = crate::ops::metrics::process_stats();
    Ok(Gauges {
        jobs,
        volumes,
        users,
        used_bytes,
        largest_request_body: app
            .stats
            .largest_request_body
            .load(std::sync::atomic::Ordering::Relaxed),
        resident_bytes,
        open_fds,
        uptime: app.ops.started.elapsed(),
        transfers_active: app.ops.transfers.active(),
        transfers_refused: app.ops.transfers.refused(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// At most this many entries (default 100, at most 1000).
    pub limit: Option<i64>,
    /// Entries older than this id (the `next_before` of the previous page).
    pub before: Option<i64>,
    pub action: Option<String>,
    /// Entries where this username acted or was acted upon.
    pub user: Option<String>,
}

/// `GET /api/admin/audit`: newest first, a page at a time.
pub async fn list_audit(
    State(app): State<App>,
    _admin: AdminUser,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> AppResult<Json<AuditPageResponse>> {
    let Query(q) = q.map_err(|e| AppError::bad_request(ErrorCode::InvalidQuery, e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::bad_request(
            ErrorCode::InvalidQuery,
            "limit must be between 1 and 1000",
        ));
    }
    let filter = crate::audit::AuditFilter {
        before: q.before,
        action: q.action.filter(|a| !a.is_empty()),
        username: q.user.filter(|u| !u.is_empty()),
        limit,
    };
    let entries = app.audit.list(filter).await?;
    let next_before = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    let entries = entries.into_iter().map(AuditEntryResponse::from).collect();
    Ok(Json(AuditPageResponse {
        entries,
        next_before,
    }))
}
