//! The users' trash. A delete through any door (API, WebDAV DELETE, the node a MOVE or COPY
//! with `Overwrite: T` replaces) moves the item — a file, or a folder with everything in it —
//! here instead of removing it: its rows stay (tags, thumbnails, embeddings and properties with
//! them), marked `trashed_at`, the top one cut from its folder, and its bytes stay counted in
//! `used_bytes`. It comes back with a restore; it goes for good when the user deletes it or
//! empties the trash, after `trash_retention`, or — oldest first — when an upload needs the
//! room (as Nextcloud does: a full trash never blocks work).

use rusqlite::{Connection, TransactionBehavior};

use super::{
    NodeName, OnConflict, Store, etag, name_exists, owned_dir, remove_subtree_in, tree, versions,
};
use crate::db::nodes::Node;
use crate::db::trash::TrashEntry;
use crate::db::user_trash::TrashRow;
use crate::db::{self};
use crate::error::{AppError, AppResult, ErrorCode};

/// An item in a user's trash: its top node and where it was.
pub struct TrashItem {
    pub node: Node,
    pub row: TrashRow,
}

/// What went to the trash in a transaction: the item's id, its file ids and bytes.
pub(super) struct Trashed {
    pub top: String,
    pub ids: Vec<String>,
    pub bytes: i64,
}

/// Moves `node` (a file, or a folder with everything in it) to its owner's trash inside the
/// caller's transaction.
pub(super) fn trash_subtree_in(
    tx: &Connection,
    owner: &str,
    node: &Node,
    now: i64,
) -> AppResult<Trashed> {
    let path: Vec<String> = db::nodes::list_ancestry(tx, &node.id)?
        .into_iter()
        .skip(1) // the drive root has no name
        .map(|n| n.name)
        .collect();
    let files = db::nodes::list_subtree_files(tx, &node.id)?;
    let versions = db::versions::list_subtree_versions(tx, &node.id)?;
    let bytes =
        files.iter().map(|f| f.size).sum::<i64>() + versions.iter().map(|v| v.size).sum::<i64>();
    db::nodes::mark_trashed(tx, &node.id, now)?;
    db::user_trash::insert_trash_row(
        tx,
        &TrashRow {
            node_id: node.id.clone(),
            owner_id: owner.to_string(),
            original_parent: node.parent_id.clone(),
            original_path: format!("/{}", path.join("/")),
            deleted_at: now,
            bytes,
            files: files.len() as i64,
        },
    )?;
    if let Some(parent) = &node.parent_id {
        db::nodes::touch_dir(tx, parent, now, &etag())?;
    }
    Ok(Trashed {
        top: node.id.clone(),
        ids: files.into_iter().map(|f| f.id).collect(),
        bytes,
    })
}

/// Deletes trash item `row` for good inside the caller's transaction; returns the bodies to
/// unlink once it commits.
fn purge_item_in(tx: &Connection, row: &TrashRow) -> AppResult<(Vec<TrashEntry>, Vec<String>)> {
    let node = db::nodes::find_trashed_node(tx, &row.owner_id, &row.node_id)?
        .ok_or_else(|| AppError::internal("a trash row without its node"))?;
    let removed = remove_subtree_in(tx, &row.owner_id, &node)?;
    db::user_trash::delete_trash_row(tx, &row.node_id)?;
    Ok((removed.trash, removed.ids))
}

/// Frees the oldest of `owner`'s trash, then the oldest versions, until `need` more bytes fit
/// in the quota, inside the caller's transaction; frees nothing when even all of it would not
/// be enough. Each item freed
/// is written to the audit log. Returns the bodies to unlink once it commits.
pub(crate) fn make_room_in(
    tx: &Connection,
    owner: &str,
    need: i64,
    now: i64,
) -> AppResult<Vec<TrashEntry>> {
    let mut unlink = Vec::new();
    let available = db::users::available_bytes(tx, owner)?;
    if available >= need
        || available
            + db::user_trash::count_trash(tx, owner)?.1
            + db::versions::live_version_bytes(tx, owner)?
            < need
    {
        return Ok(unlink); // no need, or freeing everything would not be enough
    }
    let (mut items, mut item_bytes, mut versions, mut version_bytes) = (0, 0, 0, 0);
    while db::users::available_bytes(tx, owner)? < need {
        if let Some(row) = db::user_trash::oldest_trash_row(tx, owner)? {
            unlink.extend(purge_item_in(tx, &row)?.0);
            items += 1;
            item_bytes += row.bytes;
        } else if let Some(v) = db::versions::oldest_live_version(tx, owner)? {
            unlink.push(versions::remove_version_in(tx, &v, now)?);
            versions += 1;
            version_bytes += v.size;
        } else {
            break;
        }
    }
    if items + versions > 0 {
        let name = db::users::find_user_by_id(tx, owner)?.map(|u| u.username);
        db::audit::insert_audit_entry(
            tx,
            &db::audit::NewAuditEntry {
                action: "trash-freed",
                actor_id: None,
                actor_name: "server".into(),
                target_id: Some(owner.to_string()),
                target_name: name,
                address: None,
                detail: Some(
                    serde_json::json!({
                        "reason": "space needed for an upload",
                        "trash_items": items, "trash_bytes": item_bytes,
                        "versions": versions, "version_bytes": version_bytes,
                    })
                    .to_string(),
                ),
            },
            db::now_ms(),
        )?;
    }
    Ok(unlink)
}

/// Where item `row` goes back to: the folder it was deleted from. When that folder is an item
/// of the trash itself (rclone deletes a folder's files one by one, then the folder), that item
/// comes back first, in the same way; when it is gone for good, the folders of the item's
/// original path are made again (an existing file in the way: the drive's root).
fn original_folder(
    tx: &Connection,
    owner: &str,
    row: &TrashRow,
    now: i64,
    restored: &mut Vec<String>,
) -> AppResult<Node> {
    if let Some(p) = row.original_parent.as_deref() {
        if let Ok(folder) = owned_dir(tx, owner, Some(p)) {
            return Ok(folder);
        }
        if let Some(parent_row) = db::user_trash::find_trash_row(tx, owner, p)? {
            let folder = original_folder(tx, owner, &parent_row, now, restored)?;
            let node = db::nodes::find_trashed_node(tx, owner, p)?
                .ok_or_else(|| AppError::internal("a trash row without its node"))?;
            let base = NodeName::parse(&node.name)?;
            let (mut name, mut n) = (base.clone(), 1);
            while db::nodes::name_taken(tx, &folder.id, name.as_str())? {
                name = base.numbered(n)?;
                n += 1;
            }
            db::user_trash::delete_trash_row(tx, p)?;
            db::nodes::mark_restored(tx, p, &folder.id, name.as_str())?;
            db::nodes::touch_dir(tx, &folder.id, now, &etag())?;
            restored.extend(
                db::nodes::list_subtree_files(tx, p)?
                    .into_iter()
                    .map(|f| f.id),
            );
            return owned_dir(tx, owner, Some(p));
        }
    }
    // Gone for good (or in the trash inside another item): the path is made again.
    let root = owned_dir(tx, owner, None)?;
    let mut folder = root.clone();
    let segments: Vec<&str> = row
        .original_path
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    for seg in &segments[..segments.len().saturating_sub(1)] {
        let name = NodeName::parse(seg)?;
        folder = match db::nodes::find_child(tx, &folder.id, name.as_str())? {
            Some(d) if d.is_dir() => d,
            Some(_) => return Ok(root),
            None => {
                let d = super::new_folder(owner, &folder.id, &name, now, now);
                db::nodes::insert_node(tx, &d)?;
                db::nodes::touch_dir(tx, &folder.id, now, &etag())?;
                d
            }
        };
    }
    Ok(folder)
}

fn trash_item_not_found() -> AppError {
    AppError::new(ErrorCode::NotInTrash, "no such item in the trash")
}

impl Store {
    /// `owner`'s trash, most recently deleted first: (items, how many in all, their bytes).
    pub async fn list_trash(
        &self,
        owner: &str,
        limit: i64,
        offset: i64,
    ) -> AppResult<(Vec<TrashItem>, i64, i64)> {
        let owner = owner.to_string();
        self.db
            .run(move |c| {
                db::read_tx(c, |c| {
                    let rows = db::user_trash::list_trash_rows(c, &owner, limit, offset)?;
                    let mut items = Vec::with_capacity(rows.len());
                    for row in rows {
                        let node = db::nodes::find_trashed_node(c, &owner, &row.node_id)?
                            .ok_or_else(|| AppError::internal("a trash row without its node"))?;
                        items.push(TrashItem { node, row });
                    }
                    let (total, bytes) = db::user_trash::count_trash(c, &owner)?;
                    Ok((items, total, bytes))
                })
            })
            .await
    }

    /// Brings trash item `id` back: into `parent` if given, else the folder it was deleted
    /// from (see [`original_folder`]). A name taken there is settled by `on_conflict`
    /// (`overwrite` sends the other node to the trash).
    pub async fn restore_from_trash(
        &self,
        owner: &str,
        id: &str,
        parent: Option<String>,
        on_conflict: OnConflict,
    ) -> AppResult<Node> {
        let (o, i) = (owner.to_string(), id.to_string());
        let now = self.keep.now_ms();
        let (node, restored, replaced) = self
            .db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let row = db::user_trash::find_trash_row(&tx, &o, &i)?
                    .ok_or_else(trash_item_not_found)?;
                let mut node = db::nodes::find_trashed_node(&tx, &o, &i)?
                    .ok_or_else(|| AppError::internal("a trash row without its node"))?;
                let mut restored = Vec::new();
                let folder = match parent {
                    Some(p) => owned_dir(&tx, &o, Some(&p))?,
                    None => original_folder(&tx, &o, &row, now, &mut restored)?,
                };
                if node.is_dir() {
                    tree::check_depth(&tx, &folder.id, db::nodes::folder_height(&tx, &node.id)?)?;
                }
                let mut name = NodeName::parse(&node.name)?;
                let mut replaced = None;
                if let Some(other) = db::nodes::find_child(&tx, &folder.id, name.as_str())? {
                    match on_conflict {
                        OnConflict::Fail => return Err(name_exists()),
                        OnConflict::Overwrite => {
                            replaced = Some(trash_subtree_in(&tx, &o, &other, now)?);
                        }
                        OnConflict::KeepBoth => {
                            let base = name.clone();
                            let mut n = 1;
                            while db::nodes::name_taken(&tx, &folder.id, name.as_str())? {
                                name = base.numbered(n)?;
                                n += 1;
                                if n > 10_000 {
                                    return Err(name_exists());
                                }
                            }
                        }
                    }
                }
                db::user_trash::delete_trash_row(&tx, &node.id)?;
                db::nodes::mark_restored(&tx, &node.id, &folder.id, name.as_str())?;
                db::nodes::touch_dir(&tx, &folder.id, now, &etag())?;
                restored.extend(
                    db::nodes::list_subtree_files(&tx, &node.id)?
                        .into_iter()
                        .map(|f| f.id),
                );
                tx.commit()?;
                node.parent_id = Some(folder.id);
                node.name = name.as_str().to_string();
                Ok((node, restored, replaced))
            })
            .await?;
        if let Some(ev) = self.events.get() {
            if let Some(r) = replaced {
                ev.files_changed(owner, &r.ids);
            }
            ev.files_restored(owner, &restored);
        }
        Ok(node)
    }

    /// Deletes trash item `id` for good.
    pub async fn delete_from_trash(&self, owner: &str, id: &str) -> AppResult<()> {
        let (o, i) = (owner.to_string(), id.to_string());
        let (unlink, ids) = self
            .db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let row = db::user_trash::find_trash_row(&tx, &o, &i)?
                    .ok_or_else(trash_item_not_found)?;
                let out = purge_item_in(&tx, &row)?;
                tx.commit()?;
                Ok(out)
            })
            .await?;
        self.after_purge(owner, unlink, ids).await;
        Ok(())
    }

    /// Deletes everything in `owner`'s trash for good: (items, bytes freed).
    pub async fn empty_trash(&self, owner: &str) -> AppResult<(usize, i64)> {
        let mut items = 0;
        let mut bytes = 0;
        // In batches, so one huge trash does not hold the write lock for long.
        loop {
            let o = owner.to_string();
            let (done, freed, unlink, ids) = self
                .db
                .run(move |c| {
                    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let rows = db::user_trash::list_trash_rows(&tx, &o, 100, 0)?;
                    let (mut unlink, mut ids, mut freed) = (Vec::new(), Vec::new(), 0);
                    for row in &rows {
                        let (u, i) = purge_item_in(&tx, row)?;
                        unlink.extend(u);
                        ids.extend(i);
                        freed += row.bytes;
                    }
                    tx.commit()?;
                    Ok((rows.len(), freed, unlink, ids))
                })
                .await?;
            self.after_purge(owner, unlink, ids).await;
            items += done;
            bytes += freed;
            if done == 0 {
                return Ok((items, bytes));
            }
        }
    }

    /// Frees the oldest trash and versions of `owner` until `need` more bytes fit; whether
    /// they now do. For uploads whose reservation failed: they try again after this.
    pub async fn make_room(&self, owner: &str, need: i64) -> AppResult<bool> {
        let o = owner.to_string();
        let now = self.keep.now_ms();
        let (unlink, fits) = self
            .db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let unlink = make_room_in(&tx, &o, need, now)?;
                let fits = db::users::available_bytes(&tx, &o)? >= need;
                tx.commit()?;
                Ok((unlink, fits))
            })
            .await?;
        if !unlink.is_empty() {
            self.purge(unlink).await;
        }
        Ok(fits)
    }

    /// The maintenance sweep's part for the trash: items deleted longer than `trash_retention`
    /// ago go for good. Returns how many.
    pub async fn expire_trash(&self) -> AppResult<usize> {
        let before = self.keep.now_ms() - self.keep.trash_retention_ms;
        let mut count = 0;
        loop {
            let (unlink, ids, owners) = self
                .db
                .run(move |c| {
                    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let rows = db::user_trash::list_expired_trash(&tx, before, 100)?;
                    let (mut unlink, mut ids) = (Vec::new(), Vec::new());
                    for row in &rows {
                        let (u, i) = purge_item_in(&tx, row)?;
                        unlink.extend(u);
                        ids.push((row.owner_id.clone(), i));
                    }
                    tx.commit()?;
                    let n = rows.len();
                    Ok((unlink, ids, n))
                })
                .await?;
            if let Some(ev) = self.events.get() {
                for (owner, i) in &ids {
                    ev.files_changed(owner, i);
                }
            }
            self.purge(unlink).await;
            count += owners;
            if owners == 0 {
                return Ok(count);
            }
        }
    }

    /// The whole maintenance sweep of the trash and versions: (trash items, versions) removed.
    pub async fn sweep_trash_and_versions(&self) -> AppResult<(usize, usize)> {
        Ok((self.expire_trash().await?, self.thin_all_versions().await?))
    }

    async fn after_purge(&self, owner: &str, unlink: Vec<TrashEntry>, ids: Vec<String>) {
        if let Some(ev) = self.events.get() {
            ev.files_changed(owner, &ids);
        }
        self.purge(unlink).await;
    }
}
