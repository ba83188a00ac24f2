//! Share links: the owner's view and the guest's.

use serde::Serialize;
use ts_rs::TS;

use super::{MediaResponse, NodeKind, rfc3339};
use crate::catalog::PageFacts;
use crate::shares::Share;
use crate::store::Node;

/// A share link as its owner sees it.
#[derive(Serialize, TS)]
#[ts(rename = "ShareLink")]
pub struct ShareResponse {
    pub id: String,
    /// The path of the guest page: `/s/{token}` (prefix the server's address).
    pub url: String,
    pub token: String,
    #[ts(type = "\"file\" | \"folder\" | \"album\"")]
    pub kind: String,
    pub target_id: String,
    /// What it shows; null when that was deleted (the link then shows nothing).
    pub name: Option<String>,
    pub has_password: bool,
    pub allow_download: bool,
    pub expires_at: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl From<&Share> for ShareResponse {
    fn from(s: &Share) -> Self {
        let r = &s.row;
        ShareResponse {
            id: r.id.clone(),
            url: format!("/s/{}", r.token),
            token: r.token.clone(),
            kind: r.kind.clone(),
            target_id: r.target_id.clone(),
            name: s.name.clone(),
            has_password: r.password_hash.is_some(),
            allow_download: r.allow_download,
            expires_at: r.expires_at.map(rfc3339),
            created_at: rfc3339(r.created_at),
            last_used_at: r.last_used_at.map(rfc3339),
        }
    }
}

/// `GET /api/shares`.
#[derive(Serialize, TS)]
#[ts(rename = "ShareLinks")]
pub struct SharesResponse {
    pub shares: Vec<ShareResponse>,
}

/// What a guest learns of a link before anything else (and all of it while locked).
#[derive(Serialize, TS)]
#[ts(rename = "PublicShare")]
pub struct PublicShareResponse {
    #[ts(type = "\"file\" | \"folder\" | \"album\"")]
    pub kind: String,
    pub name: String,
    /// The owner's username.
    pub owner: String,
    pub has_password: bool,
    /// Whether this browser has given the password (or none is needed).
    pub unlocked: bool,
    pub allow_download: bool,
    pub expires_at: Option<String>,
}

/// A file or folder as a guest sees it: no ids of anything outside the share.
#[derive(Serialize, TS)]
#[ts(rename = "PublicItem")]
pub struct PublicItemResponse {
    pub id: String,
    pub name: String,
    pub kind: NodeKind,
    pub size: i64,
    pub content_type: Option<String>,
    pub modified_at: String,
    pub has_thumbnail: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub media: Option<MediaResponse>,
}

impl PublicItemResponse {
    pub fn of(n: &Node, facts: &PageFacts) -> Self {
        let media = facts.media.get(&n.id);
        PublicItemResponse {
            id: n.id.clone(),
            name: n.name.clone(),
            kind: NodeKind::of(n),
            size: n.size,
            content_type: n.content_type.clone(),
            modified_at: rfc3339(n.modified_at),
            has_thumbnail: media.is_some_and(|m| m.thumb_format.is_some()),
            media: media.map(MediaResponse::from),
        }
    }
}

/// `GET /api/public/shares/{token}/items`.
#[derive(Serialize, TS)]
#[ts(rename = "PublicShareItems")]
pub struct PublicItemsResponse {
    /// A folder share: the folder shown and the path to it from the share's top.
    pub folder: Option<PublicItemResponse>,
    pub path: Vec<PublicItemResponse>,
    pub items: Vec<PublicItemResponse>,
}

/// `POST /api/public/shares/{token}/unlock`: the grant (also set as a cookie for that link).
#[derive(Serialize, TS)]
#[ts(rename = "ShareGrant")]
pub struct ShareGrantResponse {
    pub grant: String,
    pub expires_in: i64,
}
