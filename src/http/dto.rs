//! What the API sends: `*Response` shapes built from rows, with RFC 3339 times.

use serde::Serialize;

use crate::db::nodes::Node;
use crate::db::users::User;

pub fn rfc3339(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

#[derive(Serialize)]
pub struct FileResponse {
    pub id: String,
    pub name: String,
    /// "folder" or "file"
    pub kind: &'static str,
    pub parent_id: Option<String>,
    pub size: i64,
    pub content_type: Option<String>,
    pub content_hash: Option<String>,
    pub etag: String,
    pub created_at: String,
    pub modified_at: String,
    pub has_thumbnail: bool,
}

impl From<&Node> for FileResponse {
    fn from(n: &Node) -> Self {
        FileResponse {
            id: n.id.clone(),
            name: n.name.clone(),
            kind: if n.is_dir() { "folder" } else { "file" },
            parent_id: n.parent_id.clone(),
            size: n.size,
            content_type: n.content_type.clone(),
            content_hash: n.content_hash.clone(),
            etag: n.etag.clone(),
            created_at: rfc3339(n.created_at),
            modified_at: rfc3339(n.modified_at),
            has_thumbnail: false,
        }
    }
}

#[derive(Serialize)]
pub struct UserResponse {
    pub id: String,
    pub username: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub quota_bytes: i64,
    pub used_bytes: i64,
    pub created_at: String,
}

impl From<&User> for UserResponse {
    fn from(u: &User) -> Self {
        UserResponse {
            id: u.id.clone(),
            username: u.username.clone(),
            is_admin: u.is_admin,
            disabled: u.disabled,
            quota_bytes: u.quota_bytes,
            used_bytes: u.used_bytes,
            created_at: rfc3339(u.created_at),
        }
    }
}
