//! The one error type: every failure maps to an HTTP status and a JSON body `{"code","message"}`.
//! Internal causes are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    PreconditionFailed,
    PayloadTooLarge,
    QuotaExceeded,
    RangeNotSatisfiable,
    RateLimited,
    VolumeOffline,
    VolumeFull,
    Unavailable,
    Internal,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub kind: Kind,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(kind: Kind, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            kind,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, code, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Kind::Unauthorized, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, "forbidden", message)
    }
    /// Also what another user's resource answers: it must look exactly like one that does not exist.
    pub fn not_found() -> Self {
        Self::new(Kind::NotFound, "not-found", "no such file or folder")
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Conflict, code, message)
    }
    pub fn quota_exceeded() -> Self {
        Self::new(
            Kind::QuotaExceeded,
            "quota-exceeded",
            "this upload would exceed your storage quota",
        )
    }
    pub fn rate_limited(retry_after: u64) -> Self {
        AppError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                Kind::RateLimited,
                "rate-limited",
                "too many attempts; try again later",
            )
        }
    }
    /// A cap on concurrent transfers is full (503 with `Retry-After`).
    pub fn too_busy(retry_after: u64, message: impl Into<String>) -> Self {
        AppError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(Kind::Unavailable, "too-busy", message)
        }
    }
    pub fn volume_offline(volume: &str) -> Self {
        Self::new(
            Kind::VolumeOffline,
            "volume-offline",
            format!("storage volume '{volume}' is offline (disk unplugged or not mounted)"),
        )
    }
    pub fn volume_full() -> Self {
        Self::new(
            Kind::VolumeFull,
            "volume-full",
            "the storage volume is full",
        )
    }
    /// The disk was remounted read-only (often what a failing disk does) or mounted so.
    pub fn volume_read_only(volume: &str) -> Self {
        Self::new(
            Kind::Unavailable,
            "volume-read-only",
            format!(
                "storage volume '{volume}' is read-only: files can be read, nothing can be written"
            ),
        )
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(Kind::Internal, "internal", "internal server error")
    }

    pub fn status(&self) -> StatusCode {
        match self.kind {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Kind::PayloadTooLarge | Kind::QuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Kind::VolumeOffline | Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::VolumeFull => StatusCode::INSUFFICIENT_STORAGE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Body of every error answer.
pub fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({ "code": code, "message": message }).to_string()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut res = (self.status(), error_body(self.code, &self.message)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.kind == Kind::Unauthorized {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        // SQLite rolls a failed write back: the database stays intact, the caller is told why.
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => {
                tracing::error!(error = %e, "the data folder's disk is full");
                AppError::new(
                    Kind::VolumeFull,
                    "storage-full",
                    "the server's database disk is full; free some space",
                )
            }
            Some(rusqlite::ErrorCode::ReadOnly) => {
                tracing::error!(error = %e, "the database is read-only");
                AppError::new(
                    Kind::Unavailable,
                    "storage-read-only",
                    "the server's database is read-only",
                )
            }
            _ => AppError::internal(format_args!("sqlite: {e}")),
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> Self {
        AppError::internal(format_args!("db pool: {e}"))
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::internal(format_args!("task: {e}"))
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        match e.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => AppError::volume_full(),
            Some(libc::EROFS) => AppError::new(
                Kind::Unavailable,
                "volume-read-only",
                "the storage volume is read-only",
            ),
            _ => AppError::internal(format_args!("io: {e}")),
        }
    }
}
