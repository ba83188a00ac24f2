//! The one error type: every failure maps to an HTTP status and a JSON body `{"code","message"}`.
//! Internal causes are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

pub use crate::error_code::{ErrorCode, Kind};

/// An error as the API answers it. Its kind (hence its status) is the code's, from the registry
/// in src/error_code.rs.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub kind: Kind,
    pub code: ErrorCode,
    pub message: String,
    pub retry_after: Option<u64>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            kind: code.kind(),
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    /// `new` for a 400 code (the registry decides the status; this name says what the call
    /// site expects).
    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        debug_assert_eq!(code.kind(), Kind::BadRequest, "{code} is not a 400 code");
        Self::new(code, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthorized, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    /// Also what another user's resource answers: it must look exactly like one that does not exist.
    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "no such file or folder")
    }
    /// `new` for a 409 code.
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        debug_assert_eq!(code.kind(), Kind::Conflict, "{code} is not a 409 code");
        Self::new(code, message)
    }
    pub fn quota_exceeded() -> Self {
        Self::new(
            ErrorCode::QuotaExceeded,
            "this upload would exceed your storage quota",
        )
    }
    pub fn rate_limited(retry_after: u64) -> Self {
        AppError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(ErrorCode::RateLimited, "too many attempts; try again later")
        }
    }
    /// A cap on concurrent transfers is full (503 with `Retry-After`).
    pub fn too_busy(retry_after: u64, message: impl Into<String>) -> Self {
        AppError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(ErrorCode::TooBusy, message)
        }
    }
    pub fn volume_offline(volume: &str) -> Self {
        Self::new(
            ErrorCode::VolumeOffline,
            format!("storage volume '{volume}' is offline (disk unplugged or not mounted)"),
        )
    }
    pub fn volume_full() -> Self {
        Self::new(ErrorCode::VolumeFull, "the storage volume is full")
    }
    /// The disk was remounted read-only (often what a failing disk does) or mounted so.
    pub fn volume_read_only(volume: &str) -> Self {
        Self::new(
            ErrorCode::VolumeReadOnly,
            format!(
                "storage volume '{volume}' is read-only: files can be read, nothing can be written"
            ),
        )
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::Internal, "internal server error")
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }
}

/// Body of every error answer: `{"code": "...", "message": "..."}`.
#[derive(serde::Serialize, ts_rs::TS)]
#[ts(rename = "ErrorBody")]
pub struct ErrorBody<'a> {
    pub code: ErrorCode,
    /// For people: the web UI shows it as a sentence.
    pub message: &'a str,
}

pub fn error_body(code: ErrorCode, message: &str) -> String {
    serde_json::to_string(&ErrorBody { code, message }).unwrap_or_default()
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
                    ErrorCode::StorageFull,
                    "the server's database disk is full; free some space",
                )
            }
            Some(rusqlite::ErrorCode::ReadOnly) => {
                tracing::error!(error = %e, "the database is read-only");
                AppError::new(
                    ErrorCode::StorageReadOnly,
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
            Some(libc::EROFS) => {
                AppError::new(ErrorCode::VolumeReadOnly, "the storage volume is read-only")
            }
            _ => AppError::internal(format_args!("io: {e}")),
        }
    }
}
