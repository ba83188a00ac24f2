//! The namespace both doors (JSON API and WebDAV) use: folders and files as rows, bodies on
//! volumes, atomic writes and exact quota accounting. Nothing outside this module joins a path.

mod chunks;
mod empty_file;
pub mod fsck;
mod group;
pub(crate) mod handoff;
pub mod hot;
pub(crate) use handoff::FileStream;
pub mod names;
pub mod processing;
pub mod props;
mod quick;
mod trash;
mod tree;
pub mod upload;
pub mod versions;

use std::sync::Arc;

use rusqlite::{Connection, TransactionBehavior};

use crate::db::mark::Mark;
pub use crate::db::nodes::{Node, NodeKind, SortBy};
use crate::db::trash::TrashEntry;
use crate::db::users::User;
pub use crate::db::versions::Version;
use crate::db::{self, Db};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::storage::volumes::Volumes;
pub(crate) use group::Pending;
pub use names::NodeName;
pub use trash::TrashItem;
pub(crate) use trash::make_room_in;
pub use tree::{MAX_FOLDER_DEPTH, Placed};
pub use upload::{StagedBody, UploadSink};

#[derive(Clone)]
pub struct Store {
    pub db: Db,
    pub volumes: Arc<Volumes>,
    /// Who hears about committed changes (the worker pool, the search index); set once at start.
    pub events: Arc<std::sync::OnceLock<Arc<dyn StoreEvents>>>,
    /// Small bodies waiting to be committed together (`group.rs`).
    commits: Arc<group::CommitQueue>,
    /// How long the trash and versions keep things, and the clock they are measured by.
    pub keep: Arc<Keep>,
    /// Rows a small GET needs, kept while the database is unchanged (`hot.rs`).
    hot: Arc<hot::HotRows>,
}

/// How long deleted items and earlier versions are kept, measured by this store's clock
/// (the wall clock, which tests of expiry and thinning move forward or stop).
#[derive(Debug)]
pub struct Keep {
    pub trash_retention_ms: i64,
    pub versions_max_age_ms: i64,
    offset_ms: std::sync::atomic::AtomicI64,
    /// When not 0, the clock stands still at this time.
    frozen_ms: std::sync::atomic::AtomicI64,
}

impl Keep {
    pub fn new(
        trash_retention: std::time::Duration,
        versions_max_age: std::time::Duration,
    ) -> Keep {
        Keep {
            trash_retention_ms: trash_retention.as_millis() as i64,
            versions_max_age_ms: versions_max_age.as_millis() as i64,
            offset_ms: Default::default(),
            frozen_ms: Default::default(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        use std::sync::atomic::Ordering::Relaxed;
        match self.frozen_ms.load(Relaxed) {
            0 => db::now_ms() + self.offset_ms.load(Relaxed),
            t => t,
        }
    }

    /// Moves this store's clock forward by `ms` (tests of retention and thinning).
    pub fn advance(&self, ms: i64) {
        use std::sync::atomic::Ordering::Relaxed;
        if self.frozen_ms.load(Relaxed) != 0 {
            self.frozen_ms.fetch_add(ms, Relaxed);
        } else {
            self.offset_ms.fetch_add(ms, Relaxed);
        }
    }

    /// Stops this store's clock at `ms` (tests that need exact times).
    pub fn freeze_at(&self, ms: i64) {
        self.frozen_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Default for Keep {
    fn default() -> Keep {
        let day = std::time::Duration::from_secs(24 * 3600);
        Keep::new(30 * day, 180 * day)
    }
}

/// Told after a commit, outside the transaction. Everything that matters is already in the
/// database (job rows are written by the commit itself): these only wake or trim caches.
pub trait StoreEvents: Send + Sync {
    /// Jobs were queued: wake a worker.
    fn jobs_queued(&self);
    /// Files of `owner` are gone (deleted, or their body replaced): drop in-memory copies.
    fn files_changed(&self, owner: &str, ids: &[String]);
    /// Files of `owner` came back from the trash: what was dropped for them may be reloaded.
    fn files_restored(&self, owner: &str, ids: &[String]);
}

/// What to do when the target name is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    #[default]
    Fail,
    KeepBoth,
    Overwrite,
}

/// An upload assembled from parts, finished by the commit of its body.
#[derive(Debug, Clone)]
pub enum FinishUpload {
    /// A Nextcloud chunked upload (its row goes).
    Chunked(String),
    /// A tus upload (its row is marked finished, so a HEAD still answers).
    Tus(String),
}

/// How a staged body becomes a row.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    pub on_conflict: OnConflict,
    /// The client's modification time (WebDAV `X-OC-Mtime`), else now.
    pub modified_at: Option<i64>,
    /// The upload this body was assembled from: its reservation becomes the file's usage and
    /// it is finished in the same transaction.
    pub finish_upload: Option<FinishUpload>,
    /// No reservation holds the body's bytes (a small WebDAV PUT staged whole): the commit
    /// checks the quota itself, in its transaction.
    pub unreserved: bool,
    /// A copied file: the dead properties of this node come along, counted in the quota.
    pub copy_props_from: Option<String>,
}

/// A body given its row: the node, bodies to unlink (versions thinned or freed for room),
/// whether jobs were queued.
pub(crate) struct Committed {
    pub node: Node,
    pub unlink: Vec<TrashEntry>,
    pub queued: bool,
}

pub struct Listing {
    pub folder: Node,
    pub path: Vec<Node>,
    pub items: Vec<Node>,
    pub total: i64,
}

/// What a delete put in the trash: the trash item's id (the node's), its files and bytes.
pub struct Deleted {
    pub trash_id: String,
    pub files: usize,
    pub bytes: i64,
}

fn etag() -> String {
    format!("{:016x}", rand::random::<u64>())
}

fn name_exists() -> AppError {
    AppError::conflict(
        ErrorCode::NameExists,
        "a file or folder with that name already exists here",
    )
}

/// The folder `id` of `owner` (their root when None); not-found for files and others' nodes.
pub(crate) fn owned_dir(conn: &Connection, owner: &str, id: Option<&str>) -> AppResult<Node> {
    let id = match id {
        Some(id) => id.to_string(),
        None => root_id(conn, owner)?,
    };
    match db::nodes::find_owned_node(conn, owner, &id)? {
        Some(n) if n.is_dir() => Ok(n),
        _ => Err(AppError::new(ErrorCode::FolderNotFound, "no such folder")),
    }
}

fn root_id(conn: &Connection, owner: &str) -> AppResult<String> {
    db::users::find_user_by_id(conn, owner)?
        .map(|u| u.root_id)
        .ok_or_else(AppError::not_found)
}

impl Store {
    pub fn new(db: Db, volumes: Arc<Volumes>) -> Store {
        Store {
            db,
            volumes,
            events: Default::default(),
            commits: Default::default(),
            keep: Default::default(),
            hot: Default::default(),
        }
    }

    /// This store with the trash and versions kept as `keep` says.
    pub fn with_keep(mut self, keep: Keep) -> Store {
        self.keep = Arc::new(keep);
        self
    }

    pub async fn get_node(&self, owner: &str, id: &str) -> AppResult<Node> {
        let (owner, id) = (owner.to_string(), id.to_string());
        self.db
            .run(move |c| {
                db::nodes::find_owned_node(c, &owner, &id)?.ok_or_else(AppError::not_found)
            })
            .await
    }

    pub async fn list_folder(
        &self,
        owner: &str,
        folder: Option<String>,
        sort: SortBy,
        descending: bool,
        limit: i64,
        offset: i64,
    ) -> AppResult<Listing> {
        let owner = owner.to_string();
        self.db
            .run(move |c| {
                let folder = owned_dir(c, &owner, folder.as_deref())?;
                let items =
                    db::nodes::list_children(c, &folder.id, sort, descending, limit, offset)?;
                let total = db::nodes::count_children(c, &folder.id)?;
                let path = db::nodes::list_ancestry(c, &folder.id)?;
                Ok(Listing {
                    folder,
                    path,
                    items,
                    total,
                })
            })
            .await
    }

    pub async fn create_folder(
        &self,
        owner: &str,
        parent: Option<String>,
        name: NodeName,
    ) -> AppResult<Node> {
        let owner = owner.to_string();
        self.db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let parent = owned_dir(&tx, &owner, parent.as_deref())?;
                if db::nodes::name_taken(&tx, &parent.id, name.as_str())? {
                    return Err(name_exists());
                }
                tree::check_depth(&tx, &parent.id, 0)?;
                let now = db::now_ms();
                let node = new_folder(&owner, &parent.id, &name, now, now);
                db::nodes::insert_node(&tx, &node)?;
                db::nodes::touch_dir(&tx, &parent.id, now, &etag())?;
                tx.commit()?;
                Ok(node)
            })
            .await
    }

    /// Rename and/or move: one row update, whatever the size of the subtree.
    pub async fn move_node(
        &self,
        owner: &str,
        id: &str,
        new_parent: Option<String>,
        new_name: Option<NodeName>,
    ) -> AppResult<Node> {
        Ok(self
            .move_node_with(owner, id, new_parent, new_name, false)
            .await?
            .node)
    }

    /// [`Self::move_node`], and with `overwrite` a node already holding the target name goes to
    /// the trash in the same transaction (WebDAV `MOVE` with `Overwrite: T`); without it, that
    /// answers `name-exists`.
    pub async fn move_node_with(
        &self,
        owner: &str,
        id: &str,
        new_parent: Option<String>,
        new_name: Option<NodeName>,
        overwrite: bool,
    ) -> AppResult<Placed> {
        let (owner, id) = (owner.to_string(), id.to_string());
        let owner_of_move = owner.clone();
        let now = self.keep.now_ms();
        let (placed, removed) = self
            .db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut node = db::nodes::find_owned_node(&tx, &owner, &id)?
                    .ok_or_else(AppError::not_found)?;
                let Some(old_parent) = node.parent_id.clone() else {
                    return Err(AppError::bad_request(
                        ErrorCode::InvalidMove,
                        "the root folder cannot be moved or renamed",
                    ));
                };
                let parent = match &new_parent {
                    Some(p) => owned_dir(&tx, &owner, Some(p))?,
                    None => owned_dir(&tx, &owner, Some(&old_parent))?,
                };
                if node.is_dir() {
                    tree::check_not_into_itself(&tx, &node.id, &parent.id)?;
                    if parent.id != old_parent {
                        tree::check_depth(
                            &tx,
                            &parent.id,
                            db::nodes::folder_height(&tx, &node.id)?,
                        )?;
                    }
                }
                let name = match new_name {
                    Some(n) => n,
                    None => NodeName::parse(&node.name)?,
                };
                let mut removed = None;
                if let Some(other) = db::nodes::find_child(&tx, &parent.id, name.as_str())?
                    && other.id != node.id
                {
                    if !overwrite {
                        return Err(name_exists());
                    }
                    removed = Some(trash::trash_subtree_in(&tx, &owner, &other, now)?);
                }
                db::nodes::update_placement(&tx, &node.id, &parent.id, name.as_str())?;
                db::nodes::touch_dir(&tx, &parent.id, now, &etag())?;
                if parent.id != old_parent {
                    db::nodes::touch_dir(&tx, &old_parent, now, &etag())?;
                }
                tx.commit()?;
                node.parent_id = Some(parent.id);
                node.name = name.as_str().to_string();
                let replaced = removed.is_some();
                Ok((Placed { node, replaced }, removed))
            })
            .await?;
        if let Some(r) = removed {
            self.after_trash(&owner_of_move, &r.ids);
        }
        Ok(placed)
    }

    /// Deletes a file, or a folder and everything in it: it goes to the owner's trash, in one
    /// transaction. Its bytes stay counted until the trash lets go of it.
    pub async fn delete_node(&self, owner: &str, id: &str) -> AppResult<Deleted> {
        let (owner, id) = (owner.to_string(), id.to_string());
        let owner_of_delete = owner.clone();
        let now = self.keep.now_ms();
        let trashed = self
            .db
            .run(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let node = db::nodes::find_owned_node(&tx, &owner, &id)?
                    .ok_or_else(AppError::not_found)?;
                if node.parent_id.is_none() {
                    return Err(AppError::bad_request(
                        ErrorCode::InvalidDelete,
                        "the root folder cannot be deleted",
                    ));
                }
                let trashed = trash::trash_subtree_in(&tx, &owner, &node, now)?;
                tx.commit()?;
                Ok(trashed)
            })
            .await?;
        self.after_trash(&owner_of_delete, &trashed.ids);
        Ok(Deleted {
            trash_id: trashed.top.clone(),
            files: trashed.ids.len(),
            bytes: trashed.bytes,
        })
    }

    /// After a transaction that put files in the trash: the caches forget them.
    fn after_trash(&self, owner: &str, ids: &[String]) {
        if let Some(ev) = self.events.get() {
            ev.files_changed(owner, ids);
        }
    }

    /// Streams a new body for `owner` onto a volume; `commit_file` gives it a row.
    pub async fn begin_upload(
        &self,
        owner: &str,
        name: &NodeName,
        expected: Option<u64>,
    ) -> AppResult<UploadSink> {
        let o = owner.to_string();
        let user = self
            .db
            .run(move |c| db::users::find_user_by_id(c, &o)?.ok_or_else(AppError::not_found))
            .await?;
        UploadSink::begin(
            &self.db,
            self.volumes.clone(),
            owner,
            user.pinned_volume,
            name.disk_ext(),
            expected,
        )
        .await
    }

    /// Checks that `folder` is one of `owner`'s folders (to refuse an upload before streaming it).
    pub async fn check_folder(&self, owner: &str, folder: Option<String>) -> AppResult<Node> {
        let owner = owner.to_string();
        self.db
            .run(move |c| owned_dir(c, &owner, folder.as_deref()))
            .await
    }

    /// Puts a staged body in place and gives it its row, in this order so that a crash at any
    /// point leaves either the old state or the new one:
    /// 1. list the body in `blob_trash` (a crash after this leaves an entry for start-up to unlink);
    /// 2. rename temp → final, fsync the folder;
    /// 3. one transaction: row inserted (or updated for overwrite), `used_bytes` += size,
    ///    reservation released, trash entry removed (and the old body listed, for overwrite);
    /// 4. unlink the replaced body.
    pub async fn commit_file(
        &self,
        owner: &str,
        folder: Option<String>,
        name: NodeName,
        staged: StagedBody,
        on_conflict: OnConflict,
    ) -> AppResult<Node> {
        self.commit_file_with(
            owner,
            folder,
            name,
            staged,
            CommitOptions {
                on_conflict,
                ..Default::default()
            },
        )
        .await
    }

    pub async fn commit_file_with(
        &self,
        owner: &str,
        folder: Option<String>,
        name: NodeName,
        staged: StagedBody,
        opts: CommitOptions,
    ) -> AppResult<Node> {
        let store = self.clone();
        let pending = Pending {
            owner: owner.to_string(),
            folder,
            name,
            staged,
            opts,
        };
        let committed = self
            .db
            .run(move |c| store.commit_grouped_blocking(c, pending))
            .await?;
        Ok(self.after_commit(committed).await)
    }

    /// After a commit: wakes the workers, tells the caches, unlinks a replaced body.
    pub(crate) async fn after_commit(&self, committed: Committed) -> Node {
        let Committed {
            node,
            unlink,
            queued,
        } = committed;
        if let Some(ev) = self.events.get() {
            ev.files_changed(&node.owner_id, std::slice::from_ref(&node.id));
            if queued {
                ev.jobs_queued();
            }
        }
        if !unlink.is_empty() {
            self.purge(unlink).await;
        }
        node
    }

    /// The folder at `segments` below `owner`'s root and, when `look` and it is a folder, what
    /// its child `name` is: one read snapshot for both. None: no node at `segments`.
    pub async fn parent_and_child(
        &self,
        owner: &str,
        segments: Vec<String>,
        name: &NodeName,
        look: bool,
    ) -> AppResult<Option<(Node, Option<Node>)>> {
        let (owner, key) = (owner.to_string(), name.as_str().to_string());
        self.db
            .run(move |c| {
                db::read_tx(c, |c| {
                    let Some(parent) = resolve_path_blocking(c, &owner, &segments)? else {
                        return Ok(None);
                    };
                    let existing = match look && parent.is_dir() {
                        true => db::nodes::find_child(c, &parent.id, &key)?,
                        false => None,
                    };
                    Ok(Some((parent, existing)))
                })
            })
            .await
    }

    /// What `owner` may still store: quota minus used and reserved bytes.
    pub async fn available_bytes(&self, owner: &str) -> AppResult<i64> {
        let owner = owner.to_string();
        self.db
            .run(move |c| db::users::available_bytes(c, &owner))
            .await
    }

    /// The node at `segments` below the owner's root (the root for none). Segments that are not
    /// valid names cannot exist, so they resolve to nothing.
    pub async fn resolve_path(
        &self,
        owner: &str,
        segments: Vec<String>,
    ) -> AppResult<Option<Node>> {
        let (owner, store) = (owner.to_string(), self.clone());
        self.db
            .run(move |c| {
                let mark = store.db.change_mark();
                let user =
                    db::users::find_user_by_id(c, &owner)?.ok_or_else(AppError::not_found)?;
                let root = owned_dir(c, &owner, Some(&user.root_id))?;
                let mut seen = Vec::new();
                let found = walk_seen(c, root, &segments, Some(&mut seen))?;
                store.remember_hot(mark, Some(&user), &seen);
                Ok(found)
            })
            .await
    }

    /// The node at `segments` below folder `from` of `owner` (a walk that already knows the
    /// parent asks for one name, not for the whole path again).
    pub async fn resolve_below(
        &self,
        owner: &str,
        from: &Node,
        segments: Vec<String>,
    ) -> AppResult<Option<Node>> {
        if from.owner_id != owner {
            return Ok(None);
        }
        let (from, store) = (from.clone(), self.clone());
        self.db
            .run(move |c| {
                let mark = store.db.change_mark();
                let mut seen = Vec::new();
                let found = walk_seen(c, from, &segments, Some(&mut seen))?;
                store.remember_hot(mark, None, &seen);
                Ok(found)
            })
            .await
    }

    /// Sets the modification time of the file at `segments` (after a WebDAV PUT with X-OC-Mtime).
    pub async fn set_modified_at_path(
        &self,
        owner: &str,
        segments: Vec<String>,
        ms: i64,
    ) -> AppResult<bool> {
        let owner = owner.to_string();
        self.db
            .run(
                move |c| match resolve_path_blocking(c, &owner, &segments)? {
                    Some(n) if !n.is_dir() => {
                        db::nodes::set_modified(c, &n.id, ms)?;
                        Ok(true)
                    }
                    _ => Ok(false),
                },
            )
            .await
    }

    /// Records a client-supplied checksum (WebDAV `OC-Checksum`) on a file, as Nextcloud does.
    pub async fn set_checksums(&self, owner: &str, id: &str, value: &str) -> AppResult<()> {
        let (owner, id, value) = (owner.to_string(), id.to_string(), value.to_string());
        self.db
            .run(move |c| {
                if db::nodes::find_owned_node(c, &owner, &id)?.is_some() {
                    db::props::set_checksums(c, &id, &value)?;
                }
                Ok(())
            })
            .await
    }

    /// Computes SHA1 or MD5 of a file's body (Nextcloud's `X-Recalculate-Hash`), stores it as the
    /// file's checksum and returns it as "SHA1:hex".
    pub async fn recalculate_checksum(&self, node: &Node, algorithm: &str) -> AppResult<String> {
        use sha1::Digest;
        let mut file = self.open_body(node).await?;
        let algorithm = algorithm.trim().to_ascii_lowercase();
        let value = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
            use std::io::Read;
            let mut buf = vec![0u8; 1 << 20];
            let (mut sha, mut md5) = (sha1::Sha1::new(), md5::Md5::new());
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                if algorithm == "md5" {
                    md5.update(&buf[..n])
                } else {
                    sha.update(&buf[..n])
                }
            }
            let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
            Ok(if algorithm == "md5" {
                format!("MD5:{}", hex(&md5.finalize()))
            } else {
                format!("SHA1:{}", hex(&sha.finalize()))
            })
        })
        .await??;
        self.set_checksums(&node.owner_id, &node.id, &value).await?;
        Ok(value)
    }

    /// Every child of a folder (WebDAV listings are not paginated), with the ids of those that
    /// carry dead properties.
    pub async fn list_all_children(
        &self,
        owner: &str,
        folder: &str,
    ) -> AppResult<(Vec<Node>, Vec<String>)> {
        let (owner, folder) = (owner.to_string(), folder.to_string());
        let store = self.clone();
        self.db
            .run(move |c| {
                let mark = store.db.change_mark();
                let dir = owned_dir(c, &owner, Some(&folder))?;
                let items = db::nodes::list_children(c, &dir.id, SortBy::Name, false, i64::MAX, 0)?;
                let with_props = db::props::list_children_with_props(c, &dir.id)?;
                // Listed, then fetched one by one: what sync clients and file managers do.
                store.remember_hot(mark, None, &items);
                Ok((items, with_props))
            })
            .await
    }

    /// Copies a file: a new body (quota-counted, copied by the kernel where it can) and a new
    /// row with the same dead properties.
    pub async fn copy_file(
        &self,
        owner: &str,
        source: &Node,
        folder: Option<String>,
        name: NodeName,
        on_conflict: OnConflict,
    ) -> AppResult<Node> {
        if source.is_dir() {
            return Err(AppError::bad_request(
                ErrorCode::IsAFolder,
                "copy folders item by item",
            ));
        }
        let src = self.open_body(source).await?;
        let o = owner.to_string();
        let user = self
            .db
            .run(move |c| db::users::find_user_by_id(c, &o)?.ok_or_else(AppError::not_found))
            .await?;
        let staged = UploadSink::stage_copy(
            &self.db,
            self.volumes.clone(),
            owner,
            user.pinned_volume,
            name.disk_ext(),
            src,
            source.size,
            source.content_hash.clone().unwrap_or_default(),
        )
        .await?;
        let opts = CommitOptions {
            on_conflict,
            copy_props_from: Some(source.id.clone()),
            ..Default::default()
        };
        self.commit_file_with(owner, folder, name, staged, opts)
            .await
    }

    /// Opens a file's body for reading; `volume-offline` if its disk is not there.
    /// [`Self::open_body`] plus the first `max` bytes of the body, read on the same blocking
    /// thread: a small file is then served without another trip to the blocking pool.
    pub async fn open_body_with_head(
        &self,
        node: &Node,
        max: usize,
    ) -> AppResult<(std::fs::File, Vec<u8>)> {
        let file = self.open_body_sync_parts(node)?;
        let want = max.min(node.size.max(0) as usize);
        tokio::task::spawn_blocking(move || -> AppResult<(std::fs::File, Vec<u8>)> {
            let mut file = file()?;
            let head = read_head(&mut file, want)?;
            Ok((file, head))
        })
        .await?
    }

    /// What opening `node`'s body needs, as a closure to run on a blocking thread.
    /// Keeps rows read by a transaction that began after `mark` was read (`hot.rs`), unless a
    /// commit has come in between.
    fn remember_hot(&self, mark: Option<Mark>, user: Option<&User>, nodes: &[Node]) {
        if let Some(mark) = mark {
            self.hot.remember(mark, self.db.change_mark(), user, nodes);
        }
    }

    pub(crate) fn open_body_sync_parts(
        &self,
        node: &Node,
    ) -> AppResult<impl FnOnce() -> AppResult<std::fs::File> + Send + 'static> {
        let (Some(volume), Some(blob), ext) =
            (node.volume.clone(), node.blob_id.clone(), node.ext.clone())
        else {
            return Err(AppError::not_found());
        };
        let volumes = self.volumes.clone();
        let owner = node.owner_id.clone();
        Ok(move || -> AppResult<std::fs::File> {
            // Reading needs no marker check up front (writing does): a body's path holds a
            // fresh uuid, so it opens only on its own disk. Only a failed open asks whether the
            // disk is unplugged. (Reading the marker was 7% of a small WebDAV GET's CPU.)
            let v = volumes
                .get(&volume)
                .ok_or_else(|| AppError::volume_offline(&volume))?;
            let path = v.body_path(&owner, &blob, ext.as_deref().unwrap_or(""));
            std::fs::File::open(&path).map_err(|e| {
                if let Err(offline) = volumes.online(&volume) {
                    return offline;
                }
                AppError::internal(format_args!(
                    "body {} of a live row is unreadable: {e}",
                    path.display()
                ))
            })
        })
    }

    pub async fn open_body(&self, node: &Node) -> AppResult<std::fs::File> {
        let open = self.open_body_sync_parts(node)?;
        tokio::task::spawn_blocking(open).await?
    }

    /// Unlinks trashed bodies and forgets their entries; entries on offline volumes wait.
    pub async fn purge(&self, entries: Vec<TrashEntry>) {
        let store = self.clone();
        let r = tokio::task::spawn_blocking(move || store.purge_blocking(entries)).await;
        if let Ok(Err(e)) = r {
            tracing::warn!(error = %e, "purging deleted bodies");
        }
    }

    pub fn purge_blocking(&self, entries: Vec<TrashEntry>) -> AppResult<usize> {
        purge_bodies(&*self.db.conn()?, &self.volumes, entries)
    }

    /// Start-up: finishes deletes and aborted commits that a crash interrupted.
    pub fn purge_all_trash(&self) -> AppResult<usize> {
        let conn = self.db.conn()?;
        db::trash::drop_referenced_trash(&conn)?;
        let entries = db::trash::list_unreferenced_trash(&conn)?;
        drop(conn);
        self.purge_blocking(entries)
    }
}

/// Unlinks bodies whose rows are gone (and their thumbnails) and forgets their entries;
/// entries on offline volumes wait for the next try.
pub(crate) fn purge_bodies(
    conn: &Connection,
    volumes: &Volumes,
    entries: Vec<TrashEntry>,
) -> AppResult<usize> {
    let mut done = 0;
    for e in entries {
        let Ok(v) = volumes.online(&e.volume) else {
            continue;
        };
        if let Err(err) = v.remove_thumbs(&e.user_id, &e.blob_id) {
            tracing::warn!(error = %err, blob = %e.blob_id, "could not unlink the thumbnails of a deleted body");
            continue;
        }
        match std::fs::remove_file(v.body_path(&e.user_id, &e.blob_id, &e.ext)) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                tracing::warn!(error = %err, blob = %e.blob_id, "could not unlink a deleted body");
                continue;
            }
        }
        db::trash::remove_trash(conn, &e.volume, &e.blob_id)?;
        done += 1;
    }
    Ok(done)
}

/// Up to `want` bytes from the current position of an open body (fewer only at its end).
pub(crate) fn read_head(file: &mut std::fs::File, want: usize) -> AppResult<Vec<u8>> {
    let mut head = Vec::with_capacity(want);
    std::io::Read::read_to_end(&mut std::io::Read::take(file, want as u64), &mut head)
        .map_err(|e| AppError::internal(format_args!("reading a body: {e}")))?;
    Ok(head)
}

pub fn resolve_path_blocking(
    c: &Connection,
    owner: &str,
    segments: &[String],
) -> AppResult<Option<Node>> {
    walk_blocking(c, owned_dir(c, owner, None)?, segments)
}

/// The node at `segments` below `node`.
fn walk_blocking(c: &Connection, node: Node, segments: &[String]) -> AppResult<Option<Node>> {
    walk_seen(c, node, segments, None)
}

/// The same, with each node found on the way pushed to `seen`.
pub(crate) fn walk_seen(
    c: &Connection,
    mut node: Node,
    segments: &[String],
    mut seen: Option<&mut Vec<Node>>,
) -> AppResult<Option<Node>> {
    for seg in segments {
        let Ok(name) = NodeName::parse(seg) else {
            return Ok(None);
        };
        if !node.is_dir() {
            return Ok(None);
        }
        match db::nodes::find_child(c, &node.id, name.as_str())? {
            Some(child) => node = child,
            None => return Ok(None),
        }
        if let Some(seen) = seen.as_deref_mut() {
            seen.push(node.clone());
        }
    }
    Ok(Some(node))
}

/// The upload a commit was to finish was deleted or expired meanwhile.
fn upload_gone() -> AppError {
    AppError::new(
        ErrorCode::UploadGone,
        "the upload was terminated or expired",
    )
}

/// A new folder's row (not yet inserted).
fn new_folder(owner: &str, parent: &str, name: &NodeName, created: i64, modified: i64) -> Node {
    Node {
        id: db::new_id(),
        owner_id: owner.to_string(),
        parent_id: Some(parent.to_string()),
        name: name.as_str().to_string(),
        kind: NodeKind::Dir,
        size: 0,
        content_type: None,
        blob_id: None,
        volume: None,
        ext: None,
        content_hash: None,
        created_at: created,
        modified_at: modified,
        etag: etag(),
    }
}

/// What a removal for good inside a transaction took away: bodies to unlink once it commits,
/// and the file ids (their bytes and their versions' are already released from `used_bytes`).
struct Removed {
    trash: Vec<TrashEntry>,
    ids: Vec<String>,
}

/// Removes `node` (a file, or a folder with everything in it) for good inside the caller's
/// transaction: its bodies and its versions' listed for unlinking, `used_bytes` released, its
/// folder touched.
fn remove_subtree_in(tx: &Connection, owner: &str, node: &Node) -> AppResult<Removed> {
    let files = db::nodes::list_subtree_files(tx, &node.id)?;
    let versions = db::versions::list_subtree_versions(tx, &node.id)?;
    let now = db::now_ms();
    let mut trash = Vec::with_capacity(files.len() + versions.len());
    let mut bytes = 0;
    for f in &files {
        bytes += f.size;
        let e = trash_entry_of(f);
        db::trash::insert_trash(tx, &e, now)?;
        trash.push(e);
    }
    for v in &versions {
        bytes += v.size;
        let e = versions::unlink_entry_of(v);
        db::trash::insert_trash(tx, &e, now)?;
        db::versions::delete_version(tx, &v.id)?;
        trash.push(e);
    }
    // Dead properties count in `used_bytes` too (`props.rs`).
    let prop_bytes = db::props::sum_subtree_prop_bytes(tx, &node.id)?;
    db::nodes::delete_node(tx, &node.id)?;
    db::users::apply_usage(tx, owner, -(bytes + prop_bytes), 0)?;
    if let Some(parent) = &node.parent_id {
        db::nodes::touch_dir(tx, parent, now, &etag())?;
    }
    Ok(Removed {
        trash,
        ids: files.into_iter().map(|f| f.id).collect(),
    })
}

fn trash_entry_of(f: &Node) -> TrashEntry {
    TrashEntry {
        volume: f.volume.clone().unwrap_or_default(),
        user_id: f.owner_id.clone(),
        blob_id: f.blob_id.clone().unwrap_or_default(),
        ext: f.ext.clone().unwrap_or_default(),
    }
}

/// Step 3 of a commit (`group.rs`), inside the caller's transaction. An overwritten body
/// becomes a version of the file. Returns the node, bodies to unlink once it commits (versions
/// thinned, or trash freed to make room) and whether jobs were queued.
fn insert_file_row_in(
    tx: &Connection,
    owner: &str,
    folder: Option<&str>,
    name: &NodeName,
    staged: &StagedBody,
    opts: &CommitOptions,
    keep: &Keep,
) -> AppResult<Committed> {
    let on_conflict = opts.on_conflict;
    let g = &staged.guard;
    let parent = owned_dir(tx, owner, folder)?;
    let now = db::now_ms();
    let modified = opts.modified_at.unwrap_or(now);
    let mut node = Node {
        id: db::new_id(),
        owner_id: owner.to_string(),
        parent_id: Some(parent.id.clone()),
        name: name.as_str().to_string(),
        kind: NodeKind::File,
        size: staged.size,
        content_type: Some(name.content_type()),
        blob_id: Some(g.blob_id.clone()),
        volume: Some(g.volume.clone()),
        ext: Some(g.ext.clone()),
        content_hash: Some(staged.hash.clone()),
        created_at: now,
        modified_at: modified,
        etag: etag(),
    };
    let mut replaced = false;
    let mut unlink = Vec::new();
    let used_delta = staged.size;
    match db::nodes::find_child(tx, &parent.id, name.as_str())? {
        None => db::nodes::insert_node(tx, &node)?,
        Some(existing) => match on_conflict {
            OnConflict::Fail => return Err(name_exists()),
            OnConflict::Overwrite if existing.is_dir() => return Err(name_exists()),
            OnConflict::Overwrite => {
                // Same id: whatever hangs off the file (tags, shares) stays with it.
                node.id = existing.id.clone();
                node.created_at = existing.created_at;
                node.name = existing.name.clone();
                if existing.size == 0 {
                    // Nothing to keep: the empty file a LOCK made (davfs2, Finder, Office
                    // lock a new name before writing it) or an empty one.
                    let old = trash_entry_of(&existing);
                    db::trash::insert_trash(tx, &old, now)?;
                    unlink.push(old);
                } else {
                    // The old body stays, as a version (its bytes stay counted).
                    versions::keep_as_version_in(tx, &existing, keep.now_ms())?;
                }
                db::nodes::update_body(tx, &node)?;
                db::props::clear_checksums(tx, &node.id)?;
                unlink.extend(versions::thin_in(tx, &node.id, keep)?);
                replaced = true;
            }
            OnConflict::KeepBoth => {
                let mut n = 1;
                let free = loop {
                    let candidate = name.numbered(n)?;
                    if !db::nodes::name_taken(tx, &parent.id, candidate.as_str())? {
                        break candidate;
                    }
                    n += 1;
                    if n > 10_000 {
                        return Err(name_exists());
                    }
                };
                node.name = free.as_str().to_string();
                db::nodes::insert_node(tx, &node)?;
            }
        },
    }
    if opts.unreserved && used_delta > 0 {
        // No reservation holds these bytes: the oldest trash and versions make room if needed.
        unlink.extend(trash::make_room_in(tx, owner, used_delta, keep.now_ms())?);
        if used_delta > db::users::available_bytes(tx, owner)? {
            return Err(AppError::quota_exceeded());
        }
    }
    db::users::apply_usage(tx, owner, used_delta, g.reserved)?;
    if let Some(from) = &opts.copy_props_from {
        props::copy_props_counted(tx, owner, from, &node.id)?;
    }
    match &opts.finish_upload {
        None => {}
        Some(FinishUpload::Chunked(upload)) => {
            let Some(held) = db::chunks::find_chunk_upload_bytes(tx, upload)? else {
                return Err(upload_gone());
            };
            db::users::release_reservation(tx, owner, held)?;
            db::chunks::delete_chunk_upload(tx, upload)?;
        }
        Some(FinishUpload::Tus(upload)) => {
            let Some(held) = db::tus::find_unfinished_tus_length(tx, upload)? else {
                return Err(upload_gone());
            };
            db::users::release_reservation(tx, owner, held)?;
            db::tus::finish_tus_upload(tx, upload, &node.id, now)?;
        }
    }
    db::trash::remove_trash(tx, &g.volume, &g.blob_id)?;
    db::nodes::touch_dir(tx, &parent.id, now, &etag())?;
    let queued = processing::queue_for_new_body(tx, &node, replaced)?;
    Ok(Committed {
        node,
        unlink,
        queued,
    })
}
