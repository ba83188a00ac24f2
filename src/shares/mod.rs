//! Share links: a public link to one file, folder or album of its owner, for people without an
//! account. Optional password (argon2id), optional expiry, view-only or with downloads,
//! revocable, audited. A guest reaches exactly what the link names: every id and folder a guest
//! asks for is checked to lie inside the share, and anything else answers 404 like an unknown id.
//!
//! The token is 256 random bits (base64url), looked up by its blake3 hash. A password, once
//! given, is remembered by a signed grant (a JWT of type `share` naming the link, 12 hours) the
//! browser keeps in a cookie scoped to the link's API path. Unknown tokens and wrong passwords are
//! rate-limited per address (and wrong passwords per link), so links and passwords cannot be
//! guessed at speed.

pub mod zip;

use base64::Engine;
use rand::RngCore;

use crate::auth::limiter::RateLimiter;
pub use crate::db::shares::ShareRow;
use crate::db::{self};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::store::{Node, Store};

/// How long a password, once given, opens the link in that browser.
pub const GRANT_SECS: i64 = 12 * 3600;

/// What a share names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareKind {
    File,
    Folder,
    Album,
}

impl ShareKind {
    pub fn parse(s: &str) -> AppResult<ShareKind> {
        match s {
            "file" => Ok(ShareKind::File),
            "folder" => Ok(ShareKind::Folder),
            "album" => Ok(ShareKind::Album),
            _ => Err(invalid("kind is file, folder or album")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ShareKind::File => "file",
            ShareKind::Folder => "folder",
            ShareKind::Album => "album",
        }
    }
}

fn invalid(msg: &str) -> AppError {
    AppError::bad_request(ErrorCode::InvalidShare, msg.to_string())
}

/// Unknown, revoked or expired links, and anything outside a link: one answer for all.
pub fn not_found() -> AppError {
    AppError::new(
        ErrorCode::ShareNotFound,
        "no such share link (it may have been revoked or have expired)",
    )
}

/// A share with the name of what it shows (None when that is gone).
#[derive(Debug, Clone)]
pub struct Share {
    pub row: ShareRow,
    pub name: Option<String>,
}

/// What a new link asks for.
#[derive(Debug, Clone)]
pub struct NewShare {
    pub kind: ShareKind,
    pub target_id: String,
    pub password: Option<String>,
    pub expires_at: Option<i64>,
    pub allow_download: bool,
}

pub fn token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The name of what the share shows, when it is still there (the owner's live node or album).
fn target_name(c: &rusqlite::Connection, row: &ShareRow) -> AppResult<Option<String>> {
    Ok(match row.kind.as_str() {
        "album" => db::albums::find_album(c, &row.owner_id, &row.target_id)?.map(|a| a.name),
        kind => db::nodes::find_owned_node(c, &row.owner_id, &row.target_id)?
            .filter(|n| n.is_dir() == (kind == "folder"))
            .map(|n| {
                if n.parent_id.is_none() {
                    "My files".to_string()
                } else {
                    n.name
                }
            }),
    })
}

pub async fn create_share(store: &Store, owner: &str, req: NewShare) -> AppResult<Share> {
    let now = db::now_ms();
    if let Some(p) = &req.password
        && !(4..=256).contains(&p.chars().count())
    {
        return Err(invalid("a share password is 4 to 256 characters"));
    }
    if req.expires_at.is_some_and(|e| e <= now) {
        return Err(invalid("the expiry is in the past"));
    }
    let password_hash = match req.password.clone() {
        Some(p) => Some(
            tokio::task::spawn_blocking(move || crate::auth::password::hash_password(&p))
                .await
                .map_err(|e| AppError::internal(format_args!("hashing: {e}")))??,
        ),
        None => None,
    };
    let token = new_token();
    let row = ShareRow {
        id: db::new_id(),
        owner_id: owner.to_string(),
        token: token.clone(),
        kind: req.kind.as_str().to_string(),
        target_id: req.target_id.clone(),
        password_hash,
        allow_download: req.allow_download,
        expires_at: req.expires_at,
        created_at: now,
        revoked_at: None,
        last_used_at: None,
    };
    store
        .db
        .run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let Some(name) = target_name(&tx, &row)? else {
                return Err(match req.kind {
                    ShareKind::Album => AppError::new(ErrorCode::AlbumNotFound, "no such album"),
                    _ => AppError::not_found(),
                });
            };
            db::shares::insert_share(&tx, &row, &token_hash(&token))?;
            tx.commit()?;
            Ok(Share {
                row,
                name: Some(name),
            })
        })
        .await
}

pub async fn list_shares(store: &Store, owner: &str) -> AppResult<Vec<Share>> {
    let owner = owner.to_string();
    store
        .db
        .run(move |c| {
            let mut out = Vec::new();
            for row in db::shares::list_shares(c, &owner)? {
                let name = target_name(c, &row)?;
                out.push(Share { row, name });
            }
            Ok(out)
        })
        .await
}

/// Revokes one of the owner's links: it stops working at once. Returns it.
pub async fn revoke_share(store: &Store, owner: &str, id: &str) -> AppResult<Share> {
    let (owner, id) = (owner.to_string(), id.to_string());
    store
        .db
        .run(move |c| {
            let row = db::shares::find_share(c, &owner, &id)?.ok_or_else(not_found)?;
            db::shares::revoke_share(c, &row.id, db::now_ms())?;
            let name = target_name(c, &row)?;
            Ok(Share { row, name })
        })
        .await
}

/// Guards on the public side: unknown tokens and wrong passwords, per address and per link.
pub struct Guards {
    misses_by_address: RateLimiter,
    passwords_by_address: RateLimiter,
    passwords_by_share: RateLimiter,
}

impl Guards {
    pub fn new(window: std::time::Duration) -> Guards {
        Guards {
            misses_by_address: RateLimiter::new(30, window),
            passwords_by_address: RateLimiter::new(10, window),
            passwords_by_share: RateLimiter::new(50, window),
        }
    }
}

/// The live share a guest's token names (not revoked, not expired, its target and owner still
/// there), counted as used. An unknown token counts against the address.
pub async fn open(store: &Store, guards: &Guards, token: &str, address: &str) -> AppResult<Share> {
    let hash = token_hash(token);
    let found = store
        .db
        .run(move |c| {
            let Some(row) = db::shares::find_share_by_token_hash(c, &hash)? else {
                return Ok(None);
            };
            let now = db::now_ms();
            if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
                return Ok(None);
            }
            let owner_ok =
                db::users::find_user_by_id(c, &row.owner_id)?.is_some_and(|u| !u.disabled);
            let name = target_name(c, &row)?;
            if !owner_ok || name.is_none() {
                return Ok(None);
            }
            // Every thumbnail of a grid opens the link: write the time only once a minute.
            if row.last_used_at.is_none_or(|t| now - t > 60_000) {
                db::shares::touch_share(c, &row.id, now)?;
            }
            Ok(Some(Share { row, name }))
        })
        .await?;
    match found {
        Some(s) => Ok(s),
        None => {
            guards
                .misses_by_address
                .try_hit(&format!("share-miss:{address}"))
                .map_err(AppError::rate_limited)?;
            Err(not_found())
        }
    }
}

/// Checks a password for a link; Ok(()) when right (the caller then issues a grant).
pub async fn check_password(
    guards: &Guards,
    share: &Share,
    password: &str,
    address: &str,
) -> AppResult<()> {
    let Some(hash) = share.row.password_hash.clone() else {
        return Ok(());
    };
    let by_address = guards
        .passwords_by_address
        .acquire(&format!("share-pw:{address}"))
        .map_err(AppError::rate_limited)?;
    let by_share = match guards
        .passwords_by_share
        .acquire(&format!("share-pw:{}", share.row.id))
    {
        Ok(s) => s,
        Err(wait) => {
            guards.passwords_by_address.refund(by_address);
            return Err(AppError::rate_limited(wait));
        }
    };
    let pw = password.to_string();
    let ok =
        tokio::task::spawn_blocking(move || crate::auth::password::verify_password(&pw, &hash))
            .await
            .map_err(|e| AppError::internal(format_args!("verifying: {e}")))?;
    if ok {
        guards.passwords_by_address.refund(by_address);
        guards.passwords_by_share.refund(by_share);
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::SharePasswordWrong,
            "wrong password for this link",
        ))
    }
}

/// The owner's live node `id` when it lies inside the share (the shared file itself, anything
/// under the shared folder, an item of the shared album); else 404.
pub fn node_in_share(c: &rusqlite::Connection, share: &ShareRow, id: &str) -> AppResult<Node> {
    let node = db::nodes::find_owned_node(c, &share.owner_id, id)?.ok_or_else(not_found)?;
    let inside = match share.kind.as_str() {
        "file" => node.id == share.target_id,
        "folder" => db::shares::is_under(c, &share.target_id, &node.id)?,
        _ => !node.is_dir() && db::albums::album_has(c, &share.target_id, &node.id)?,
    };
    if inside { Ok(node) } else { Err(not_found()) }
}

/// What a guest sees at one place of the share: the folder shown (a folder share), the path to
/// it from the share's top (folder shares), and its items.
pub struct ShareView {
    pub folder: Option<Node>,
    pub path: Vec<Node>,
    pub items: Vec<Node>,
}

/// The items of the share (a folder share: of `folder`, default its top).
pub async fn view(store: &Store, share: &ShareRow, folder: Option<String>) -> AppResult<ShareView> {
    let share = share.clone();
    store
        .db
        .run(move |c| match share.kind.as_str() {
            "file" => Ok(ShareView {
                folder: None,
                path: Vec::new(),
                items: vec![node_in_share(c, &share, &share.target_id)?],
            }),
            "folder" => {
                let at = node_in_share(c, &share, folder.as_deref().unwrap_or(&share.target_id))?;
                if !at.is_dir() {
                    return Err(not_found());
                }
                let mut path = vec![at.clone()];
                let mut cur = at.clone();
                while cur.id != share.target_id {
                    let Some(p) = cur
                        .parent_id
                        .as_deref()
                        .map(|p| db::nodes::find_owned_node(c, &share.owner_id, p))
                        .transpose()?
                        .flatten()
                    else {
                        break;
                    };
                    path.push(p.clone());
                    cur = p;
                }
                path.reverse();
                let items =
                    db::nodes::list_children(c, &at.id, db::nodes::SortBy::Name, false, 10_000, 0)?;
                Ok(ShareView {
                    folder: Some(at),
                    path,
                    items,
                })
            }
            _ => {
                if folder.is_some() {
                    return Err(not_found());
                }
                let a = db::albums::find_album(c, &share.owner_id, &share.target_id)?
                    .ok_or_else(not_found)?;
                let mut items = Vec::new();
                for id in db::albums::album_items(c, &a.id, a.sort == "asc")? {
                    if let Some(n) = db::nodes::find_owned_node(c, &share.owner_id, &id)? {
                        items.push(n);
                    }
                }
                Ok(ShareView {
                    folder: None,
                    path: Vec::new(),
                    items,
                })
            }
        })
        .await
}

/// A node of the share, for a thumbnail or a download.
pub async fn shared_node(store: &Store, share: &ShareRow, id: &str) -> AppResult<Node> {
    let (share, id) = (share.clone(), id.to_string());
    store.db.run(move |c| node_in_share(c, &share, &id)).await
}

/// Downloads need a link that allows them.
pub fn require_download(share: &ShareRow) -> AppResult<()> {
    if share.allow_download {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::ShareViewOnly,
            "this link is view only: the owner did not allow downloads",
        ))
    }
}

/// The username of a share's owner (the guest page says whose it is).
pub async fn owner_name(store: &Store, owner: &str) -> AppResult<String> {
    let owner = owner.to_string();
    store
        .db
        .run(move |c| {
            Ok(db::users::find_user_by_id(c, &owner)?
                .map(|u| u.username)
                .unwrap_or_default())
        })
        .await
}

/// The grant a right password earns: a JWT of type `share` naming the link, for [`GRANT_SECS`].
pub fn issue_grant(keys: &crate::auth::jwt::JwtKeys, share: &ShareRow) -> AppResult<String> {
    keys.issue_typed(
        &share.id,
        0,
        "share",
        db::now_ms() / 1000,
        GRANT_SECS,
        "share",
    )
}

/// Whether `grant` was issued for this link (and has not expired).
pub fn grant_opens(keys: &crate::auth::jwt::JwtKeys, share: &ShareRow, grant: &str) -> bool {
    keys.verify_typed(grant, "share")
        .is_ok_and(|c| c.sub == share.id)
}
