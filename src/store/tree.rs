//! Whole-tree operations and their limits: how deep folders may nest, that a folder never goes
//! into itself (decided on node ids, never on names), and copying a folder with everything in it
//! in time linear in its size, without recursion.

use rusqlite::{Connection, TransactionBehavior};

use super::{NodeName, OnConflict, Store, etag, name_exists, new_folder, owned_dir};
use crate::db::nodes::Node;
use crate::db::{self};
use crate::error::{AppError, AppResult, ErrorCode};

/// How deep folders may nest below a drive's root (a path of at most this many folders, plus a
/// file). Common filesystems stop paths at 4,096 bytes, which is about as many short names; a
/// limit keeps every walk of a tree (copy, delete, a client's recursive listing) bounded.
pub const MAX_FOLDER_DEPTH: i64 = 256;

/// A node placed by a copy or a move, and whether it replaced one that held its name.
#[derive(Debug, Clone)]
pub struct Placed {
    pub node: Node,
    pub replaced: bool,
}

pub(super) fn too_deep() -> AppError {
    AppError::bad_request(
        ErrorCode::TooDeep,
        format!("folders can be nested at most {MAX_FOLDER_DEPTH} levels deep"),
    )
}

/// A folder placed in folder `parent`, with `height` levels of folders below it, stays within
/// [`MAX_FOLDER_DEPTH`].
pub(super) fn check_depth(conn: &Connection, parent: &str, height: i64) -> AppResult<()> {
    if db::nodes::depth_of(conn, parent)? + 1 + height > MAX_FOLDER_DEPTH {
        return Err(too_deep());
    }
    Ok(())
}

/// Folder `id` may not be placed in `parent` when `parent` is the folder itself or lies below it.
pub(super) fn check_not_into_itself(conn: &Connection, id: &str, parent: &str) -> AppResult<()> {
    if db::nodes::list_ancestry(conn, parent)?
        .iter()
        .any(|a| a.id == id)
    {
        return Err(AppError::bad_request(
            ErrorCode::InvalidMove,
            "a folder cannot be moved or copied into itself",
        ));
    }
    Ok(())
}

/// What a copy will do, decided in one read of the database.
struct CopyPlan {
    source: Node,
    /// The source's subtree, parents before children (just the source for a file, or for a
    /// folder copied without its contents).
    nodes: Vec<Node>,
    existing: Option<Node>,
    /// The files' bytes, and whether they do not fit in the quota as it stands.
    bytes: i64,
    short: bool,
}

impl Store {
    /// Whether node `id` may be walked level by level (a WebDAV DELETE whose conditions
    /// dav-server evaluates): a tree deeper than [`MAX_FOLDER_DEPTH`], which only a database
    /// from before the limit can hold, is refused rather than walked.
    pub async fn check_walkable(&self, owner: &str, id: &str) -> AppResult<()> {
        let (o, id) = (owner.to_string(), id.to_string());
        self.db
            .run(move |c| {
                let node =
                    db::nodes::find_owned_node(c, &o, &id)?.ok_or_else(AppError::not_found)?;
                if node.is_dir() && db::nodes::folder_height(c, &node.id)? > MAX_FOLDER_DEPTH {
                    return Err(too_deep());
                }
                Ok(())
            })
            .await
    }

    /// Whether node `id` may be copied or moved into folder `parent` (with its subfolders when
    /// `deep`): not into itself, not deeper than [`MAX_FOLDER_DEPTH`].
    pub async fn check_placement(
        &self,
        owner: &str,
        id: &str,
        parent: &str,
        deep: bool,
    ) -> AppResult<()> {
        let (o, id, pid) = (owner.to_string(), id.to_string(), parent.to_string());
        self.db
            .run(move |c| {
                let node =
                    db::nodes::find_owned_node(c, &o, &id)?.ok_or_else(AppError::not_found)?;
                let parent = owned_dir(c, &o, Some(&pid))?;
                if node.is_dir() {
                    check_not_into_itself(c, &node.id, &parent.id)?;
                    let height = if deep {
                        db::nodes::folder_height(c, &node.id)?
                    } else {
                        0
                    };
                    check_depth(c, &parent.id, height)?;
                }
                Ok(())
            })
            .await
    }

    /// Copies a file, or a folder with everything in it (`deep`) or alone, into folder `parent`
    /// as `name`. With `overwrite`, a node holding that name is replaced (a file by a file keeps
    /// its id, as an overwriting upload does); without it, that answers `name-exists`.
    ///
    /// The folders are created in one transaction, then each file is copied (a new body, counted
    /// in the quota) into its new folder: a failure part way (quota, a disk) leaves a consistent,
    /// partial copy. The whole copy is refused up front when its bytes cannot fit, even after
    /// the oldest trash and versions are freed. A replaced folder goes to the trash; a replaced
    /// file keeps its id and its old body becomes a version.
    pub async fn copy_tree(
        &self,
        owner: &str,
        source_id: &str,
        parent: &str,
        name: NodeName,
        deep: bool,
        overwrite: bool,
    ) -> AppResult<Placed> {
        let plan = self
            .plan_copy(owner, source_id, parent, &name, deep, overwrite)
            .await?;
        if plan.short && !self.make_room(owner, plan.bytes).await? {
            return Err(AppError::quota_exceeded());
        }

        let replaced = plan.existing.is_some();
        if !plan.source.is_dir() {
            let on_conflict = match &plan.existing {
                Some(e) if e.is_dir() => {
                    self.delete_node(owner, &e.id).await?;
                    OnConflict::Fail
                }
                Some(_) => OnConflict::Overwrite,
                None => OnConflict::Fail,
            };
            let node = self
                .copy_file(
                    owner,
                    &plan.source,
                    Some(parent.to_string()),
                    name,
                    on_conflict,
                )
                .await?;
            return Ok(Placed { node, replaced });
        }
        if let Some(e) = &plan.existing {
            self.delete_node(owner, &e.id).await?;
        }

        // The folders, in one transaction: old id → new id, parents before children.
        let (top, new_ids) = self.copy_folders(owner, parent, name, &plan.nodes).await?;

        for f in plan.nodes.iter().filter(|n| !n.is_dir()) {
            let Some(folder) = f.parent_id.as_ref().and_then(|p| new_ids.get(p)) else {
                return Err(AppError::internal("copy: file outside the copied folders"));
            };
            self.copy_file(
                owner,
                f,
                Some(folder.clone()),
                NodeName::parse(&f.name)?,
                OnConflict::Fail,
            )
            .await?;
        }
        Ok(Placed {
            node: top,
            replaced,
        })
    }

    /// Reads what a copy takes (the source, the nodes to copy, what it replaces) and checks it
    /// may be made: not into itself, not too deep, not onto itself, `overwrite` when the name is
    /// taken.
    async fn plan_copy(
        &self,
        owner: &str,
        source_id: &str,
        parent: &str,
        name: &NodeName,
        deep: bool,
        overwrite: bool,
    ) -> AppResult<CopyPlan> {
        let (o, sid, pid, key) = (
            owner.to_string(),
            source_id.to_string(),
            parent.to_string(),
            name.as_str().to_string(),
        );
        self.db
            .run(move |c| {
                let tx = c.transaction()?;
                let source =
                    db::nodes::find_owned_node(&tx, &o, &sid)?.ok_or_else(AppError::not_found)?;
                let parent = owned_dir(&tx, &o, Some(&pid))?;
                let nodes = if source.is_dir() {
                    check_not_into_itself(&tx, &source.id, &parent.id)?;
                    if deep {
                        let nodes: Vec<Node> = db::nodes::list_subtree(&tx, &source.id)?
                            .into_iter()
                            .map(|(n, _)| n)
                            .collect();
                        check_depth(&tx, &parent.id, db::nodes::folder_height(&tx, &source.id)?)?;
                        nodes
                    } else {
                        check_depth(&tx, &parent.id, 0)?;
                        vec![source.clone()]
                    }
                } else {
                    vec![source.clone()]
                };
                let existing = db::nodes::find_child(&tx, &parent.id, &key)?;
                if let Some(e) = &existing {
                    if e.id == source.id {
                        return Err(AppError::forbidden(
                            "the source and the destination are the same",
                        ));
                    }
                    if !overwrite {
                        return Err(name_exists());
                    }
                }
                // What it replaces goes to the trash, so it frees nothing.
                let bytes: i64 = nodes.iter().filter(|n| !n.is_dir()).map(|n| n.size).sum();
                let short = db::users::available_bytes(&tx, &o)? < bytes;
                Ok(CopyPlan {
                    source,
                    nodes,
                    existing,
                    bytes,
                    short,
                })
            })
            .await
    }

    /// Creates the copied folders in `parent`, the first one as `name`; returns the top folder
    /// and each source folder's new id.
    async fn copy_folders(
        &self,
        owner: &str,
        parent: &str,
        name: NodeName,
        nodes: &[Node],
    ) -> AppResult<(Node, std::collections::HashMap<String, String>)> {
        let (o, pid) = (owner.to_string(), parent.to_string());
        let folders: Vec<Node> = nodes.iter().filter(|n| n.is_dir()).cloned().collect();
        let top_name = name;
        self.db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let parent = owned_dir(&tx, &o, Some(&pid))?;
                if db::nodes::name_taken(&tx, &parent.id, top_name.as_str())? {
                    return Err(name_exists());
                }
                let now = db::now_ms();
                let mut new_ids = std::collections::HashMap::with_capacity(folders.len());
                let mut top = None;
                for (i, f) in folders.iter().enumerate() {
                    let (new_parent, name) = if i == 0 {
                        (parent.id.clone(), top_name.clone())
                    } else {
                        let p = f.parent_id.as_ref().and_then(|p| new_ids.get(p)).cloned();
                        (
                            p.ok_or_else(|| AppError::internal("copy: folder before its parent"))?,
                            NodeName::parse(&f.name)?,
                        )
                    };
                    let node = new_folder(&o, &new_parent, &name, now, f.modified_at);
                    db::nodes::insert_node(&tx, &node)?;
                    super::props::copy_props_counted(&tx, &o, &f.id, &node.id)?;
                    new_ids.insert(f.id.clone(), node.id.clone());
                    if i == 0 {
                        top = Some(node);
                    }
                }
                db::nodes::touch_dir(&tx, &parent.id, now, &etag())?;
                tx.commit()?;
                Ok((top.expect("a folder copy has its top folder"), new_ids))
            })
            .await
    }
}
