//! What CloudVault knows about files beyond their bytes: media metadata, thumbnails and tags.
//! The read and edit side for both doors (the worker pool writes it).

use std::collections::HashMap;
use std::path::PathBuf;

use unicode_normalization::UnicodeNormalization;

use crate::db::jobs::KIND_MEDIA;
pub use crate::db::media::MediaRow;
use crate::db::nodes::Node;
pub use crate::db::tags::TagRow;
use crate::db::{self};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::store::Store;
use crate::store::processing::wants_media;

pub mod live;
pub use live::LivePartner;

/// Where a file stands with its media processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Processing {
    Pending,
    Done,
    Failed,
}

#[derive(Debug, Clone)]
pub struct FileDetails {
    /// Only when it describes the current body.
    pub media: Option<MediaRow>,
    pub tags: Vec<TagRow>,
    /// None: not a picture or video.
    pub processing: Option<Processing>,
    /// The other half when this file is half of a Live Photo.
    pub live: Option<LivePartner>,
}

impl FileDetails {
    pub fn has_thumbnail(&self) -> bool {
        self.media
            .as_ref()
            .is_some_and(|m| m.thumb_format.is_some())
    }
}

fn current(media: Option<MediaRow>, node: &Node) -> Option<MediaRow> {
    media.filter(|m| Some(&m.blob_id) == node.blob_id.as_ref())
}

/// A tag as users type it: trimmed, NFC, lower case, 1..=64 characters, no `/` (it names a
/// WebDAV folder) and no control characters.
pub fn parse_tag(raw: &str) -> AppResult<String> {
    let t: String = raw.trim().nfc().collect::<String>().to_lowercase();
    let bad = || {
        AppError::bad_request(
            ErrorCode::InvalidTag,
            "a tag is 1 to 64 characters, without '/' or control characters",
        )
    };
    if t.is_empty()
        || t.chars().count() > 64
        || t.contains('/')
        || t.chars().any(char::is_control)
        || t == "."
        || t == ".."
    {
        return Err(bad());
    }
    Ok(t)
}

pub async fn file_details(store: &Store, node: &Node) -> AppResult<FileDetails> {
    let n = node.clone();
    store
        .db
        .run(move |c| {
            let media = current(db::media::find_media(c, &n.id)?, &n);
            let tags = db::tags::list_file_tags(c, &n.id)?;
            let processing = if n.is_dir() || !wants_media(&n.name, n.ext.as_deref().unwrap_or(""))
            {
                None
            } else {
                match db::jobs::find_job_state(c, KIND_MEDIA, &n.id)?.as_deref() {
                    Some("failed") => Some(Processing::Failed),
                    Some("done") if media.is_some() => Some(Processing::Done),
                    Some("done") | Some(_) | None => {
                        if media.is_some() {
                            Some(Processing::Done)
                        } else {
                            Some(Processing::Pending)
                        }
                    }
                }
            };
            let live = live::partner(c, &n)?;
            Ok(FileDetails {
                media,
                tags,
                processing,
                live,
            })
        })
        .await
}

/// What a listing shows of each file beyond the node: its current media row and its Live Photo
/// partner, by node id.
#[derive(Debug, Default)]
pub struct PageFacts {
    pub media: HashMap<String, MediaRow>,
    pub live: HashMap<String, LivePartner>,
}

/// The [`PageFacts`] of a page of nodes (a listing, search hits, a tag's files).
pub async fn page_facts(store: &Store, nodes: &[Node]) -> AppResult<PageFacts> {
    let files: Vec<Node> = nodes.iter().filter(|n| !n.is_dir()).cloned().collect();
    if files.is_empty() {
        return Ok(PageFacts::default());
    }
    store
        .db
        .run(move |c| {
            let ids: Vec<&str> = files.iter().map(|n| n.id.as_str()).collect();
            let blobs: HashMap<&str, &Option<String>> =
                files.iter().map(|n| (n.id.as_str(), &n.blob_id)).collect();
            let media = db::media::find_media_of(c, &ids)?
                .into_iter()
                .filter(|m| {
                    blobs
                        .get(m.node_id.as_str())
                        .is_some_and(|b| b.as_deref() == Some(m.blob_id.as_str()))
                })
                .map(|m| (m.node_id.clone(), m))
                .collect();
            let mut live = HashMap::new();
            for n in files.iter().filter(|n| live::may_be_live(&n.name)) {
                if let Some(p) = live::partner(c, n)? {
                    live.insert(n.id.clone(), p);
                }
            }
            Ok(PageFacts { media, live })
        })
        .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThumbSize {
    Small,
    Large,
}

impl ThumbSize {
    pub fn parse(s: Option<&str>) -> AppResult<ThumbSize> {
        match s {
            None | Some("small") => Ok(ThumbSize::Small),
            Some("large") | Some("preview") => Ok(ThumbSize::Large),
            Some(_) => Err(AppError::bad_request(
                ErrorCode::InvalidSize,
                "size is small or large",
            )),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ThumbSize::Small => "small",
            ThumbSize::Large => "large",
        }
    }
}

/// The thumbnail file of one of `owner`'s files, with an ETag naming the body it shows.
pub async fn thumbnail(
    store: &Store,
    owner: &str,
    id: &str,
    size: ThumbSize,
) -> AppResult<(PathBuf, String)> {
    let node = store.get_node(owner, id).await?;
    let details = file_details(store, &node).await?;
    let none = |code: ErrorCode, msg: &'static str| AppError::new(code, msg);
    match (details.processing, details.has_thumbnail()) {
        (_, true) => {}
        (Some(Processing::Pending), false) => {
            return Err(none(
                ErrorCode::ThumbnailNotReady,
                "the thumbnail is being made; try again shortly",
            ));
        }
        _ => return Err(none(ErrorCode::NoThumbnail, "this file has no thumbnail")),
    }
    let (Some(volume), Some(blob)) = (node.volume.clone(), node.blob_id.clone()) else {
        return Err(none(ErrorCode::NoThumbnail, "this file has no thumbnail"));
    };
    let v = store.volumes.online_cached(&volume)?;
    Ok((
        v.thumb_path(&node.owner_id, &blob, size.as_str()),
        format!("\"{blob}-{}\"", size.as_str()),
    ))
}

pub async fn add_tag(store: &Store, owner: &str, id: &str, tag: &str) -> AppResult<Vec<TagRow>> {
    edit_tag(store, owner, id, parse_tag(tag)?, true).await
}

pub async fn remove_tag(store: &Store, owner: &str, id: &str, tag: &str) -> AppResult<Vec<TagRow>> {
    edit_tag(store, owner, id, parse_tag(tag)?, false).await
}

async fn edit_tag(
    store: &Store,
    owner: &str,
    id: &str,
    tag: String,
    add: bool,
) -> AppResult<Vec<TagRow>> {
    let (owner, id) = (owner.to_string(), id.to_string());
    store
        .db
        .run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let node =
                db::nodes::find_owned_node(&tx, &owner, &id)?.ok_or_else(AppError::not_found)?;
            if node.is_dir() {
                return Err(AppError::bad_request(
                    ErrorCode::IsAFolder,
                    "folders are not tagged",
                ));
            }
            if add {
                db::tags::add_user_tag(&tx, &node.id, &owner, &tag, db::now_ms())?;
            } else {
                db::tags::remove_user_tag(&tx, &node.id, &owner, &tag, db::now_ms())?;
            }
            let tags = db::tags::list_file_tags(&tx, &node.id)?;
            tx.commit()?;
            Ok(tags)
        })
        .await
}

pub async fn list_tags(store: &Store, owner: &str) -> AppResult<Vec<(String, i64)>> {
    let owner = owner.to_string();
    store
        .db
        .run(move |c| db::tags::count_user_tags(c, &owner))
        .await
}

/// A page of `owner`'s files carrying `tag`, newest first, and how many there are.
pub async fn files_with_tag(
    store: &Store,
    owner: &str,
    tag: &str,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<Node>, i64)> {
    let (owner, tag) = (owner.to_string(), parse_tag(tag)?);
    store
        .db
        .run(move |c| {
            let (ids, total) = db::tags::list_tagged_nodes(c, &owner, &tag, limit, offset)?;
            let mut nodes = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(n) = db::nodes::find_owned_node(c, &owner, &id)? {
                    nodes.push(n);
                }
            }
            Ok((nodes, total))
        })
        .await
}
