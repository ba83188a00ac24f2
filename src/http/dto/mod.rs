//! What the API sends: `*Response` shapes built from rows, with RFC 3339 times. Each derives
//! `ts_rs::TS` (its TypeScript name in `#[ts(rename)]`); `typescript` renders them all into the web
//! UI's `webui/src/api/types.ts`, and a test keeps that file current.

mod accounts;
mod admin;
mod files;
mod photos;
mod shares;
pub mod typescript;

pub use accounts::*;
pub use admin::*;
pub use files::*;
pub use photos::*;
pub use shares::*;

pub fn rfc3339(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}
