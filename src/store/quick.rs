//! The common WebDAV read and write of a small file in one blocking hop (`dav/get.rs`,
//! `dav/put.rs` decide when a request qualifies): the account from the Basic cache is checked
//! against its row, the path looked up, and the body read or written and committed, on one
//! blocking thread. `None` means "not this way": the door then takes the full path, which
//! answers (or reports) whatever made this one step aside.

use bytes::Bytes;

use super::hot::HotFile;
use super::{
    CommitOptions, NodeName, OnConflict, Pending, StagedBody, Store, owned_dir, read_head,
    resolve_path_blocking, walk_seen,
};
use crate::auth::basic::cached_account_blocking;
use crate::db::nodes::Node;
use crate::db::{self};
use crate::error::AppResult;

/// A file's body as read with its open: whole when it has at most the asked-for size, else the
/// open file.
pub type SmallBody = Option<Result<Vec<u8>, std::fs::File>>;

impl Store {
    /// `read_small_file` without leaving the async runtime: from the rows kept while the
    /// database is unchanged (`hot.rs`) and a body that is in memory (`storage::nowait`). None
    /// when either is not at hand; `read_small_file` then answers.
    pub fn read_small_file_hot(
        &self,
        user_id: &str,
        token_version: i64,
        owner: &str,
        rel: &[String],
        head_only: bool,
        whole_up_to: usize,
    ) -> Option<(HotFile, Option<Vec<u8>>)> {
        let mut names = Vec::with_capacity(rel.len());
        for seg in rel {
            names.push(NodeName::parse(seg).ok()?);
        }
        let names: Vec<&str> = names.iter().map(NodeName::as_str).collect();
        let file = self
            .hot
            .file(self.db.change_mark(), user_id, token_version, owner, &names)?;
        if head_only {
            return Some((file, None));
        }
        let size = usize::try_from(file.size)
            .ok()
            .filter(|s| *s <= whole_up_to)?;
        let (volume, blob, ext) = &file.body;
        let path = self
            .volumes
            .get(volume)?
            .body_path(&file.owner_id, blob, ext);
        let body = crate::storage::nowait::read_cached(&path, size)?;
        Some((file, Some(body)))
    }

    /// The file at `rel` in `owner`'s drive for the account (`user_id`, `token_version`) the
    /// Basic cache named, with its body (whole when it has at most `whole_up_to` bytes, else
    /// opened; none for a HEAD). None: no such file for that account now.
    pub async fn read_small_file(
        &self,
        user_id: String,
        token_version: i64,
        owner: String,
        rel: Vec<String>,
        head_only: bool,
        whole_up_to: usize,
    ) -> AppResult<Option<(Node, SmallBody)>> {
        let store = self.clone();
        let found = self
            .db
            .run(move |c| {
                let mark = store.db.change_mark();
                let found = db::read_tx(c, |c| {
                    let Some(user) = cached_account_blocking(c, &user_id, token_version, &owner)?
                    else {
                        return Ok(None);
                    };
                    let mut seen = Vec::new();
                    let root = owned_dir(c, &user.id, Some(&user.root_id))?;
                    let found = match walk_seen(c, root, &rel, Some(&mut seen))? {
                        Some(n) if !n.is_dir() => Some(n),
                        _ => None,
                    };
                    store.remember_hot(mark, Some(&user), &seen);
                    Ok(found)
                })?;
                let Some(node) = found else {
                    return Ok(None);
                };
                if head_only {
                    return Ok(Some((node, None)));
                }
                let mut file = store.open_body_sync_parts(&node)?()?;
                let size = node.size.max(0) as usize;
                let whole = if size <= whole_up_to {
                    let buf = read_head(&mut file, size)?;
                    if buf.len() != size {
                        return Ok(None); // let the full path report the damage
                    }
                    Some(Ok(buf))
                } else {
                    Some(Err(file))
                };
                Ok(Some((node, whole)))
            })
            .await?;
        Ok(found)
    }

    /// Writes `body` as file `name` at `rel` (whose last segment it is) in `owner`'s drive for
    /// the cached account, replacing a file there: the user, the folder and what the name holds
    /// now are read in one snapshot, the body is written and fsynced on its volume and committed
    /// with the other small PUTs ready at that moment. Returns the node and whether it existed.
    /// None: not this way (a missing folder, a folder in the way, no room in the quota or on
    /// the volume, a changed account).
    #[allow(clippy::too_many_arguments)]
    pub async fn put_small_file(
        &self,
        user_id: String,
        token_version: i64,
        owner: String,
        rel: Vec<String>,
        name: NodeName,
        body: Bytes,
        modified_at: Option<i64>,
        oc_checksum: Option<String>,
    ) -> AppResult<Option<(Node, bool)>> {
        let store = self.clone();
        let done = self
            .db
            .run(move |c| {
                // The user, the folder and what the name holds now, in one read snapshot.
                let found = db::read_tx(c, |c| {
                    let Some(user) = cached_account_blocking(c, &user_id, token_version, &owner)?
                    else {
                        return Ok(None);
                    };
                    let parent = match resolve_path_blocking(c, &user.id, &rel[..rel.len() - 1])? {
                        Some(p) if p.is_dir() => p,
                        _ => return Ok(None),
                    };
                    let existing = db::nodes::find_child(c, &parent.id, name.as_str())?;
                    if existing.as_ref().is_some_and(|e| e.is_dir()) {
                        return Ok(None);
                    }
                    // A first look at the quota (the commit checks it again, exactly).
                    let freed = existing.as_ref().map_or(0, |e| e.size);
                    if !user.fits(body.len() as i64, freed) {
                        return Ok(None);
                    }
                    Ok(Some((user, parent, existing.is_some())))
                })?;
                let Some((user, parent, existed)) = found else {
                    return Ok(None);
                };
                let volume = match store.volumes.pick_for_write(user.pinned_volume.as_deref()) {
                    Ok(v) if v.check_writable(body.len() as u64).is_ok() => v,
                    _ => return Ok(None),
                };
                let staged = StagedBody::write_whole_blocking(
                    store.db.clone(),
                    volume,
                    &user.id,
                    name.disk_ext(),
                    &body,
                )?;
                let opts = CommitOptions {
                    on_conflict: OnConflict::Overwrite,
                    modified_at,
                    unreserved: true,
                    ..Default::default()
                };
                // Committed together with the other small PUTs ready at the same moment.
                let committed = store.commit_grouped_blocking(
                    c,
                    Pending {
                        owner: user.id.clone(),
                        folder: Some(parent.id.clone()),
                        name: name.clone(),
                        staged,
                        opts,
                    },
                )?;
                if let Some(sum) = &oc_checksum {
                    db::props::set_checksums(c, &committed.node.id, sum)?;
                }
                Ok(Some((committed, existed)))
            })
            .await?;
        let Some((committed, existed)) = done else {
            return Ok(None);
        };
        Ok(Some((self.after_commit(committed).await, existed)))
    }
}
