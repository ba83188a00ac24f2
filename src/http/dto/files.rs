//! The drive: files and folders, listings, uploads, the trash, versions, tags and search.

use std::collections::BTreeMap;

use serde::Serialize;
use ts_rs::TS;

use super::rfc3339;
use crate::catalog::MediaRow;
use crate::catalog::TagRow;
use crate::catalog::{FileDetails, LivePartner, PageFacts, Processing};
use crate::error::ErrorCode;
use crate::search::service::Reason;
use crate::store::Node;
use crate::store::Version;
use crate::uploads::TusUpload;

/// What a node is, as the API names it.
#[derive(Serialize, TS, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    Folder,
    File,
}

impl NodeKind {
    pub fn of(n: &Node) -> Self {
        if n.is_dir() {
            NodeKind::Folder
        } else {
            NodeKind::File
        }
    }
}

#[derive(Serialize, TS)]
#[ts(rename = "FileItem")]
pub struct FileResponse {
    pub id: String,
    pub name: String,
    pub kind: NodeKind,
    pub parent_id: Option<String>,
    pub size: i64,
    pub content_type: Option<String>,
    pub content_hash: Option<String>,
    pub etag: String,
    pub created_at: String,
    pub modified_at: String,
    pub has_thumbnail: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub media: Option<MediaResponse>,
    /// On `GET /api/files/{id}` of a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub tags: Option<Vec<TagResponse>>,
    /// On `GET /api/files/{id}` of a file: null when it is not a picture or video.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub processing: Option<Option<Processing>>,
    /// On the still of a Live Photo: the id of its clip (a short video of the same name beside it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub live_video_id: Option<String>,
    /// On the clip of a Live Photo: the id of its still.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub live_photo_id: Option<String>,
}

#[derive(Serialize, TS)]
#[ts(rename = "Media")]
pub struct MediaResponse {
    /// The `media.kind` column (CHECK: image or video).
    #[ts(type = "\"image\" | \"video\"")]
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

#[derive(Serialize, TS)]
#[ts(rename = "FileTag")]
pub struct TagResponse {
    pub tag: String,
    /// The model's (`auto`, with its score) or the user's (the `tags.source` column's CHECK).
    #[ts(type = "\"auto\" | \"user\"")]
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
    /// A listing entry: with its media summary when the current body has one, and its Live
    /// Photo partner.
    pub fn listed(n: &Node, facts: &PageFacts) -> Self {
        FileResponse::with_media(n, facts.media.get(&n.id), facts.live.get(&n.id))
    }

    fn with_media(n: &Node, media: Option<&MediaRow>, live: Option<&LivePartner>) -> Self {
        let mut r = FileResponse::from(n);
        if let Some(m) = media {
            r.has_thumbnail = m.thumb_format.is_some();
            r.media = Some(MediaResponse::from(m));
        }
        match live {
            Some(LivePartner::Clip(id)) => r.live_video_id = Some(id.clone()),
            Some(LivePartner::Still(id)) => r.live_photo_id = Some(id.clone()),
            None => {}
        }
        r
    }

    /// The single-file view: media, tags, processing state and Live Photo partner.
    pub fn with_details(n: &Node, d: &FileDetails) -> Self {
        let mut r = FileResponse::with_media(n, d.media.as_ref(), d.live.as_ref());
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
            kind: NodeKind::of(n),
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
            live_video_id: None,
            live_photo_id: None,
        }
    }
}

/// One folder on the way from the root to a listed folder.
#[derive(Serialize, TS)]
#[ts(rename = "PathEntry")]
pub struct PathEntryResponse {
    pub id: String,
    pub name: String,
}

impl From<&Node> for PathEntryResponse {
    fn from(n: &Node) -> Self {
        PathEntryResponse {
            id: n.id.clone(),
            name: n.name.clone(),
        }
    }
}

/// `GET /api/files`: a page of a folder.
#[derive(Serialize, TS)]
#[ts(rename = "Listing")]
pub struct ListingResponse {
    pub folder: FileResponse,
    /// From the root down to the folder's parent.
    pub path: Vec<PathEntryResponse>,
    pub items: Vec<FileResponse>,
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
}

/// `POST /api/files/upload` (201): the files stored.
#[derive(Serialize, TS)]
#[ts(rename = "UploadResult")]
pub struct UploadResponse {
    pub files: Vec<FileResponse>,
}

/// What a delete answers: the item went to the trash under `trash_id` (the node's own id).
#[derive(Serialize, TS)]
#[ts(rename = "DeleteResult")]
pub struct DeleteResponse {
    pub trash_id: String,
    pub deleted_files: usize,
    pub trashed_bytes: i64,
}

/// An unfinished resumable (tus) upload of the caller's.
#[derive(Serialize, TS)]
#[ts(rename = "UnfinishedUpload")]
pub struct UnfinishedUploadResponse {
    pub id: String,
    /// Where to send the rest (`PATCH`) or give the space back (`DELETE`).
    pub url: String,
    pub filename: String,
    pub folder_id: Option<String>,
    pub length: i64,
    pub offset: i64,
    /// The decoded `Upload-Metadata`.
    pub metadata: BTreeMap<String, String>,
    pub created_at: String,
    pub expires_at: String,
}

impl UnfinishedUploadResponse {
    pub fn new(u: &TusUpload, metadata: BTreeMap<String, String>) -> Self {
        UnfinishedUploadResponse {
            id: u.id.clone(),
            url: format!("/api/files/uploads/{}", u.id),
            filename: u.filename.clone(),
            folder_id: u.folder_id.clone(),
            length: u.length,
            offset: u.offset,
            metadata,
            created_at: rfc3339(u.created_at),
            expires_at: rfc3339(u.expires_at),
        }
    }
}

/// `GET /api/files/uploads`.
#[derive(Serialize, TS)]
#[ts(rename = "UnfinishedUploadList")]
pub struct UnfinishedUploadsResponse {
    pub uploads: Vec<UnfinishedUploadResponse>,
}

/// An earlier body of a file; the current body is the file itself and is not in the list.
#[derive(Serialize, TS)]
#[ts(rename = "FileVersion")]
pub struct VersionResponse {
    pub id: String,
    pub size: i64,
    pub content_hash: Option<String>,
    /// The body's time while it was the current one.
    pub modified_at: String,
    /// When it was replaced.
    pub created_at: String,
}

impl From<Version> for VersionResponse {
    fn from(v: Version) -> Self {
        VersionResponse {
            id: v.id,
            size: v.size,
            content_hash: v.content_hash,
            modified_at: rfc3339(v.modified_at),
            created_at: rfc3339(v.created_at),
        }
    }
}

/// `GET /api/files/{id}/versions`.
#[derive(Serialize, TS)]
#[ts(rename = "FileVersionList")]
pub struct VersionsResponse {
    pub items: Vec<VersionResponse>,
}

#[derive(Serialize, TS)]
#[ts(rename = "TrashItem")]
pub struct TrashItemResponse {
    pub id: String,
    pub name: String,
    pub kind: NodeKind,
    /// Bytes of the item and everything in it (their versions too).
    pub size: i64,
    /// Number of files in it (1 for a file).
    pub files: i64,
    /// Where it was, e.g. `/photos/2024/beach.jpg`.
    pub original_path: String,
    pub deleted_at: String,
    /// When it is deleted for good unless restored first.
    pub expires_at: String,
}

/// `GET /api/trash`.
#[derive(Serialize, TS)]
#[ts(rename = "TrashListing")]
pub struct TrashListingResponse {
    pub items: Vec<TrashItemResponse>,
    pub total: i64,
    /// Bytes of everything in the trash.
    pub bytes: i64,
}

/// `DELETE /api/trash`.
#[derive(Serialize, TS)]
#[ts(rename = "EmptyTrashResult")]
pub struct EmptyTrashResponse {
    pub deleted: usize,
    pub freed_bytes: i64,
}

/// `PUT` and `DELETE /api/files/{id}/tags/{tag}`: the file's tags afterwards.
#[derive(Serialize, TS)]
#[ts(rename = "FileTags")]
pub struct FileTagsResponse {
    pub tags: Vec<TagResponse>,
}

#[derive(Serialize, TS)]
#[ts(rename = "TagCount")]
pub struct TagCountResponse {
    pub tag: String,
    pub count: i64,
}

/// `GET /api/tags`: the caller's tags with how many files carry each.
#[derive(Serialize, TS)]
#[ts(rename = "TagList")]
pub struct TagsResponse {
    pub tags: Vec<TagCountResponse>,
}

/// `GET /api/tags/{tag}/files`.
#[derive(Serialize, TS)]
#[ts(rename = "TagFiles")]
pub struct TagFilesResponse {
    pub tag: String,
    pub items: Vec<FileResponse>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// Why a search hit matched.
#[derive(Serialize, TS)]
#[serde(tag = "kind", rename_all = "lowercase")]
#[ts(rename = "SearchReason")]
pub enum SearchReasonResponse {
    /// The picture looks like the query (CLIP cosine).
    Semantic { score: f32 },
    /// One of the file's tags is the query.
    Tag { tag: String },
    /// Every word of the query is in the file's name or a folder's name above it.
    Name,
    /// Taken in a place the query names: "Nice, France".
    Place { place: String },
    /// Taken in the time the query names: "july 2023".
    Date { date: String },
}

impl From<&Reason> for SearchReasonResponse {
    fn from(r: &Reason) -> Self {
        match r {
            Reason::Semantic { score } => SearchReasonResponse::Semantic { score: *score },
            Reason::Tag { tag } => SearchReasonResponse::Tag { tag: tag.clone() },
            Reason::Name => SearchReasonResponse::Name,
            Reason::Place { place } => SearchReasonResponse::Place {
                place: place.clone(),
            },
            Reason::Date { date } => SearchReasonResponse::Date { date: date.clone() },
        }
    }
}

#[derive(Serialize, TS)]
#[ts(rename = "SearchHit")]
pub struct SearchHitResponse {
    pub file: FileResponse,
    pub score: f32,
    pub reasons: Vec<SearchReasonResponse>,
}

/// Why search by description did not run (the same code and words as the error it would be).
#[derive(Serialize, TS)]
#[ts(rename = "SearchModelStatus")]
pub struct SearchModelStatusResponse {
    pub code: ErrorCode,
    pub message: String,
}

/// `GET /api/search`.
#[derive(Serialize, TS)]
#[ts(rename = "SearchResponse")]
pub struct SearchResponse {
    pub query: String,
    pub total: usize,
    /// Whether the CLIP part ran; when not, `model_status` says why.
    pub semantic: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub model_status: Option<SearchModelStatusResponse>,
    pub items: Vec<SearchHitResponse>,
    pub limit: usize,
    pub offset: usize,
}

impl TrashItemResponse {
    /// `retention_ms`: how long the trash keeps an item.
    pub fn new(item: crate::store::TrashItem, retention_ms: i64) -> Self {
        let crate::store::TrashItem { node, row } = item;
        TrashItemResponse {
            kind: NodeKind::of(&node),
            id: node.id,
            name: node.name,
            size: row.bytes,
            files: row.files,
            original_path: row.original_path,
            deleted_at: rfc3339(row.deleted_at),
            expires_at: rfc3339(row.deleted_at + retention_ms),
        }
    }
}
