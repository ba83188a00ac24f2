//! What the API sends: `*Response` shapes built from rows, with RFC 3339 times.

use serde::Serialize;

use crate::auth::User;
use crate::catalog::FileDetails;
use crate::catalog::MediaRow;
use crate::catalog::TagRow;
use crate::store::Node;

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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<TagResponse>>,
    /// On `GET /api/files/{id}`: "pending", "done", "failed", or null when not a picture/video.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing: Option<Option<crate::catalog::Processing>>,
}

#[derive(Serialize)]
pub struct MediaResponse {
    pub kind: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration_ms: Option<i64>,
    pub taken_at: Option<String>,
    pub camera_make: Option<String>,
    pub camera_model: Option<String>,
    pub gps_lat: Option<f64>,
    pub gps_lon: Option<f64>,
}

impl From<&MediaRow> for MediaResponse {
    fn from(m: &MediaRow) -> Self {
        MediaResponse {
            kind: m.kind.clone(),
            width: m.width,
            height: m.height,
            duration_ms: m.duration_ms,
            taken_at: m.taken_at.map(rfc3339),
            camera_make: m.camera_make.clone(),
            camera_model: m.camera_model.clone(),
            gps_lat: m.gps_lat,
            gps_lon: m.gps_lon,
        }
    }
}

#[derive(Serialize)]
pub struct TagResponse {
    pub tag: String,
    /// "auto" (the model's) or "user"
    pub source: String,
    pub score: Option<f64>,
}

impl From<&TagRow> for TagResponse {
    fn from(t: &TagRow) -> Self {
        TagResponse {
            tag: t.tag.clone(),
            source: t.source.clone(),
            score: t.score,
        }
    }
}

pub fn tags_response(tags: &[TagRow]) -> Vec<TagResponse> {
    tags.iter().map(TagResponse::from).collect()
}

impl FileResponse {
    /// A listing entry: with its media summary when the current body has one.
    pub fn with_media(n: &Node, media: Option<&MediaRow>) -> Self {
        let mut r = FileResponse::from(n);
        if let Some(m) = media {
            r.has_thumbnail = m.thumb_format.is_some();
            r.media = Some(MediaResponse::from(m));
        }
        r
    }

    /// The single-file view: media, tags and processing state.
    pub fn with_details(n: &Node, d: &FileDetails) -> Self {
        let mut r = FileResponse::with_media(n, d.media.as_ref());
        if !n.is_dir() {
            r.tags = Some(tags_response(&d.tags));
            r.processing = Some(d.processing);
        }
        r
    }
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
            media: None,
            tags: None,
            processing: None,
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
