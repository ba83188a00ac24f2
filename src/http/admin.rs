//! `/api/admin/*` (admin role only): users and quotas, invite codes, access requests, volumes.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::audit::{Entry, action};
use crate::config::{ByteSize, Dur};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::dto::{
    AccessRequestResponse, AccessRequestsResponse, InviteResponse, InvitesResponse, JobsResponse,
    ModelStatusResponse, RequestInviteResponse, StatsResponse, UserResponse, UsersResponse,
    VolumesResponse,
};
use crate::http::extract::{AdminUser, ApiJson, ClientAddr};
use crate::state::App;

pub async fn list_users(
    State(app): State<App>,
    _admin: AdminUser,
) -> AppResult<Json<UsersResponse>> {
    let users = app.accounts.list_users().await?;
    let users: Vec<UserResponse> = users.iter().map(UserResponse::from).collect();
    Ok(Json(UsersResponse { users }))
}

/// `{"quota_bytes": 1000}` or `{"quota": "50GB"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaRequest {
    pub quota_bytes: Option<u64>,
    pub quota: Option<String>,
}

pub async fn set_quota(
    State(app): State<App>,
    AdminUser(admin): AdminUser,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<QuotaRequest>,
) -> AppResult<Json<UserResponse>> {
    let bytes = match (req.quota_bytes, req.quota) {
        (Some(b), None) => b,
        (None, Some(s)) => {
            s.parse::<ByteSize>()
                .map_err(|m| AppError::bad_request(ErrorCode::InvalidQuota, m))?
                .0
        }
        _ => {
            return Err(AppError::bad_request(
                ErrorCode::InvalidQuota,
                "give either quota_bytes or quota (e.g. \"50GB\")",
            ));
        }
    };
    let audit = Entry::by(action::QUOTA_SET, &admin).from(addr);
    let user = app.accounts.set_quota(&id, bytes, audit).await?;
    tracing::info!(admin = %admin.id, user = %user.id, quota = bytes, "quota set");
    Ok(Json(UserResponse::from(&user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisableRequest {
    pub disabled: bool,
}

pub async fn set_disabled(
    State(app): State<App>,
    AdminUser(admin): AdminUser,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<DisableRequest>,
) -> AppResult<Json<UserResponse>> {
    let audit = Entry::by(action::USER_DISABLE, &admin).from(addr);
    let user = app
        .accounts
        .set_disabled(&admin.id, &id, req.disabled, audit)
        .await?;
    Ok(Json(UserResponse::from(&user)))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    pub count: Option<u32>,
    /// A duration such as "7d" or "12h".
    pub expires_in: Option<String>,
}

fn parse_expiry(expires_in: Option<String>) -> AppResult<Option<i64>> {
    expires_in
        .map(|s| {
            s.parse::<Dur>()
                .map(|d| d.0.as_secs() as i64)
                .map_err(|m| AppError::bad_request(ErrorCode::InvalidExpiry, m))
        })
        .transpose()
}

/// A body that may be empty (then the default) or JSON.
fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> AppResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| AppError::bad_request(ErrorCode::InvalidJson, e.to_string()))
}

pub async fn create_invites(
    State(app): State<App>,
    AdminUser(admin): AdminUser,
    ClientAddr(addr): ClientAddr,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<InvitesResponse>)> {
    // An empty body means one code with the default lifetime.
    let req: InviteRequest = optional_json(&body)?;
    let ttl = parse_expiry(req.expires_in)?;
    let audit = Entry::by(action::INVITES_CREATE, &admin).from(addr);
    let codes = app
        .accounts
        .create_invites(req.count.unwrap_or(1), ttl, Some(admin.id.clone()), audit)
        .await?;
    tracing::info!(admin = %admin.id, count = codes.len(), "invite codes created");
    Ok((StatusCode::CREATED, Json(InvitesResponse::new(&codes))))
}

pub async fn list_invites(
    State(app): State<App>,
    _admin: AdminUser,
) -> AppResult<Json<InvitesResponse>> {
    let codes = app.accounts.list_active_invites().await?;
    Ok(Json(InvitesResponse::new(&codes)))
}

pub async fn list_access_requests(
    State(app): State<App>,
    _admin: AdminUser,
) -> AppResult<Json<AccessRequestsResponse>> {
    let reqs = app.accounts.list_access_requests().await?;
    let requests = reqs.iter().map(AccessRequestResponse::from).collect();
    Ok(Json(AccessRequestsResponse { requests }))
}

pub async fn delete_access_request(
    State(app): State<App>,
    AdminUser(admin): AdminUser,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
) -> AppResult<StatusCode> {
    let found = app.accounts.delete_access_request(&id).await?;
    if found {
        let entry = Entry::by(action::ACCESS_REQUEST_DELETE, &admin)
            .on_object(&id)
            .from(addr);
        app.audit.record(entry).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found())
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AccessInviteRequest {
    /// A duration such as "7d" (the configured invite lifetime when absent).
    pub expires_in: Option<String>,
}

/// Answers an access request with a new invite code; the request is deleted with it (one
/// transaction, audited as `access-request-invite`). 201 `{request_id, code, created_at,
/// expires_at}`; 404 `request-not-found` when it was answered or dismissed already.
pub async fn invite_access_request(
    State(app): State<App>,
    AdminUser(admin): AdminUser,
    ClientAddr(addr): ClientAddr,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> AppResult<(StatusCode, Json<RequestInviteResponse>)> {
    let req: AccessInviteRequest = optional_json(&body)?;
    let ttl = parse_expiry(req.expires_in)?;
    let entry = Entry::by(action::ACCESS_REQUEST_INVITE, &admin).from(addr);
    let (request, invite) = app
        .accounts
        .invite_for_access_request(&id, ttl, &admin, entry)
        .await?;
    tracing::info!(admin = %admin.id, request = %request.id, "access request answered with an invite");
    let out = RequestInviteResponse {
        invite: InviteResponse::from(&invite),
        request_id: request.id,
    };
    Ok((StatusCode::CREATED, Json(out)))
}

pub async fn list_volumes(
    State(app): State<App>,
    _admin: AdminUser,
) -> AppResult<Json<VolumesResponse>> {
    let store = app.store.clone();
    let status = tokio::task::spawn_blocking(move || store.volumes.status()).await?;
    let volumes = status.into_iter().map(Into::into).collect();
    Ok(Json(VolumesResponse { volumes }))
}

/// The job queue: counts by kind and state, the latest failures with their reasons, and whether
/// the AI model is there.
pub async fn list_jobs(State(app): State<App>, _admin: AdminUser) -> AppResult<Json<JobsResponse>> {
    let (counts, failures) = app.jobs.report(200).await?;
    Ok(Json(JobsResponse {
        counts: counts.into_iter().map(Into::into).collect(),
        failures: failures.into_iter().map(Into::into).collect(),
        workers: app.jobs.workers(),
        model: ModelStatusResponse::from(&*app.semantic),
    }))
}

/// What the server measured about itself: the largest request body so far shows whether every
/// client keeps under Cloudflare's 100 MB limit.
pub async fn server_stats(State(app): State<App>, _admin: AdminUser) -> Json<StatsResponse> {
    let largest = app
        .stats
        .largest_request_body
        .load(std::sync::atomic::Ordering::Relaxed);
    Json(StatsResponse {
        largest_request_body: largest,
    })
}
