//! The admin's pages: invite codes, access requests, volumes, the job queue and the CLIP model,
//! server figures, the audit log.

use serde::Serialize;
use ts_rs::TS;

use super::rfc3339;
use crate::audit::AuditEntry;
use crate::auth::AccessRequest;
use crate::auth::Invite;
use crate::error::ErrorCode;
use crate::jobs::{JobCount, JobFailure};
use crate::search::semantic::{ModelState, Semantic};
use crate::storage::volumes::VolumeStatus;

#[derive(Serialize, TS)]
#[ts(rename = "Invite")]
pub struct InviteResponse {
    pub code: String,
    pub created_at: String,
    pub expires_at: String,
}

impl From<&Invite> for InviteResponse {
    fn from(i: &Invite) -> Self {
        InviteResponse {
            code: i.code.clone(),
            created_at: rfc3339(i.created_at),
            expires_at: rfc3339(i.expires_at),
        }
    }
}

/// `POST` (201) and `GET /api/admin/invite-codes`.
#[derive(Serialize, TS)]
#[ts(rename = "InviteList")]
pub struct InvitesResponse {
    pub codes: Vec<InviteResponse>,
}

impl InvitesResponse {
    pub fn new(invites: &[Invite]) -> Self {
        InvitesResponse {
            codes: invites.iter().map(InviteResponse::from).collect(),
        }
    }
}

/// `POST /api/admin/access-requests/{id}/invite` (201): the invite, and the request it answered
/// (which is gone now).
#[derive(Serialize, TS)]
#[ts(rename = "RequestInvite")]
pub struct RequestInviteResponse {
    #[serde(flatten)]
    pub invite: InviteResponse,
    pub request_id: String,
}

#[derive(Serialize, TS)]
#[ts(rename = "AccessRequest")]
pub struct AccessRequestResponse {
    pub id: String,
    pub name: String,
    pub contact: String,
    pub message: String,
    pub created_at: String,
}

impl From<&AccessRequest> for AccessRequestResponse {
    fn from(r: &AccessRequest) -> Self {
        AccessRequestResponse {
            id: r.id.clone(),
            name: r.name.clone(),
            contact: r.contact.clone(),
            message: r.message.clone(),
            created_at: rfc3339(r.created_at),
        }
    }
}

/// `GET /api/admin/access-requests`.
#[derive(Serialize, TS)]
#[ts(rename = "AccessRequestList")]
pub struct AccessRequestsResponse {
    pub requests: Vec<AccessRequestResponse>,
}

#[derive(Serialize, TS)]
#[ts(rename = "Volume")]
pub struct VolumeResponse {
    pub name: String,
    pub path: String,
    pub enabled: bool,
    pub online: bool,
    pub free_bytes: Option<u64>,
    /// Size of the filesystem (when online).
    pub total_bytes: Option<u64>,
    /// The configured low-space threshold, and whether free space is below it.
    pub low_space_bytes: u64,
    pub low_space: bool,
    /// Mounted read-only (a failing disk is often remounted so): files read, nothing is written.
    pub read_only: bool,
    pub problem: Option<String>,
}

impl From<VolumeStatus> for VolumeResponse {
    fn from(v: VolumeStatus) -> Self {
        VolumeResponse {
            name: v.name,
            path: v.path,
            enabled: v.enabled,
            online: v.online,
            free_bytes: v.free_bytes,
            total_bytes: v.total_bytes,
            low_space_bytes: v.low_space_bytes,
            low_space: v.low_space,
            read_only: v.read_only,
            problem: v.problem,
        }
    }
}

/// `GET /api/admin/volumes`.
#[derive(Serialize, TS)]
#[ts(rename = "VolumeList")]
pub struct VolumesResponse {
    pub volumes: Vec<VolumeResponse>,
}

/// How many jobs of a kind are in a state.
#[derive(Serialize, TS)]
#[ts(rename = "JobCount")]
pub struct JobCountResponse {
    /// `media` or `clip` (the `jobs.kind` column's CHECK).
    #[ts(type = "\"media\" | \"clip\"")]
    pub kind: String,
    pub state: String,
    pub count: i64,
}

impl From<JobCount> for JobCountResponse {
    fn from(c: JobCount) -> Self {
        JobCountResponse {
            kind: c.kind,
            state: c.state,
            count: c.count,
        }
    }
}

/// A job that gave up, with its reason.
#[derive(Serialize, TS)]
#[ts(rename = "JobFailure")]
pub struct JobFailureResponse {
    pub id: i64,
    #[ts(type = "\"media\" | \"clip\"")]
    pub kind: String,
    pub file_id: String,
    pub file_name: String,
    pub username: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub updated_at: String,
}

impl From<JobFailure> for JobFailureResponse {
    fn from(f: JobFailure) -> Self {
        JobFailureResponse {
            id: f.id,
            kind: f.kind,
            file_id: f.node_id,
            file_name: f.file_name,
            username: f.username,
            attempts: f.attempts,
            last_error: f.last_error,
            updated_at: rfc3339(f.updated_at),
        }
    }
}

/// Where the CLIP model stands, for the admin.
#[derive(Serialize, TS, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ModelStatusKind {
    Loading,
    Ready,
    /// ONNX Runtime (`libonnxruntime.so`) was not found.
    RuntimeMissing,
    /// No model in the model folder (`cloudvault model fetch`).
    NotInstalled,
    Error,
}

/// The CLIP model: its state, what is wrong (words for the admin), its folder's name and, when
/// loaded, its id.
#[derive(Serialize, TS)]
#[ts(rename = "ModelStatus")]
pub struct ModelStatusResponse {
    pub status: ModelStatusKind,
    pub message: String,
    pub name: String,
    pub id: Option<String>,
}

impl From<&Semantic> for ModelStatusResponse {
    fn from(s: &Semantic) -> Self {
        let (status, message) = match s.state() {
            ModelState::Loading => (ModelStatusKind::Loading, String::new()),
            ModelState::Ready => (ModelStatusKind::Ready, String::new()),
            ModelState::Unavailable(ErrorCode::RuntimeMissing, m) => {
                (ModelStatusKind::RuntimeMissing, m)
            }
            ModelState::Unavailable(ErrorCode::ModelNotInstalled, m) => {
                (ModelStatusKind::NotInstalled, m)
            }
            ModelState::Unavailable(_, m) => (ModelStatusKind::Error, m),
        };
        ModelStatusResponse {
            status,
            message,
            name: s.model_name(),
            id: s.loaded().map(|l| l.model.id().to_string()),
        }
    }
}

/// `GET /api/admin/jobs`: counts by kind and state, the latest failures, the worker threads and
/// the CLIP model.
#[derive(Serialize, TS)]
#[ts(rename = "JobsStatus")]
pub struct JobsResponse {
    pub counts: Vec<JobCountResponse>,
    pub failures: Vec<JobFailureResponse>,
    pub workers: usize,
    pub model: ModelStatusResponse,
}

/// `GET /api/admin/stats`: what the server measured about itself.
#[derive(Serialize, TS)]
#[ts(rename = "ServerStats")]
pub struct StatsResponse {
    /// The largest request body so far, in bytes (Cloudflare refuses bodies over 100 MB).
    pub largest_request_body: u64,
}

/// Who did something.
#[derive(Serialize, TS)]
#[ts(rename = "AuditActor")]
pub struct AuditActorResponse {
    /// Null when no account matched (a failed sign-in with an unknown name).
    pub id: Option<String>,
    pub username: String,
}

/// What an action was done to: a user (`username` given) or another object (only its id).
#[derive(Serialize, TS)]
#[ts(rename = "AuditTarget")]
pub struct AuditTargetResponse {
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub username: Option<String>,
}

#[derive(Serialize, TS)]
#[ts(rename = "AuditEntry")]
pub struct AuditEntryResponse {
    pub id: i64,
    pub at: String,
    pub action: String,
    pub actor: AuditActorResponse,
    pub target: Option<AuditTargetResponse>,
    pub address: Option<String>,
    /// The action's details (a JSON object), if any.
    #[ts(type = "Record<string, unknown> | null")]
    pub detail: Option<serde_json::Value>,
}

impl From<AuditEntry> for AuditEntryResponse {
    fn from(e: AuditEntry) -> Self {
        let detail = e
            .detail
            .as_deref()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok());
        let target = match (e.target_id, e.target_name) {
            (None, None) => None,
            (id, username) => Some(AuditTargetResponse { id, username }),
        };
        AuditEntryResponse {
            id: e.id,
            at: rfc3339(e.at),
            action: e.action,
            actor: AuditActorResponse {
                id: e.actor_id,
                username: e.actor_name,
            },
            target,
            address: e.address,
            detail,
        }
    }
}

/// `GET /api/admin/audit`: newest first; `next_before` asks for the next page (null at the end).
#[derive(Serialize, TS)]
#[ts(rename = "AuditPage")]
pub struct AuditPageResponse {
    pub entries: Vec<AuditEntryResponse>,
    pub next_before: Option<i64>,
}
