//! Rows that the hottest read, a small WebDAV GET, needs (the user, and each folder and file on the
//! way down its path), kept in memory while the database has not changed since they were read,
//! so that such a GET of a warm file is answered on the async runtime with no hop to a blocking
//! thread and no SQLite at all (`Store::read_small_file_hot`).
//!
//! Correctness rests on the database's change mark (`db/mark.rs`): rows are remembered together
//! with the mark read *before* the transaction that read them, and the cache answers only while
//! the mark reads the same as theirs. Any commit of any connection of any process (an upload, a
//! rename, a password change, the CLI disabling a user, fsck) changes the mark, and then nothing
//! here is used until rows are read again: there is no list of writers to keep in step, and no
//! way to serve a row that a commit has changed. Lookups that find nothing are not remembered: a
//! name missing here only means "ask the database".

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::db::mark::Mark;
use crate::db::users::User;

use super::Node;

/// Rows above which everything is dropped (a few MB): the next reads fill it again.
const MAX_ROWS: usize = 20_000;

#[derive(Default)]
pub struct HotRows(Mutex<Rows>);

#[derive(Default)]
struct Rows {
    /// The mark all of these rows were read under; None when empty.
    mark: Option<Mark>,
    users: HashMap<String, Arc<User>>,
    /// Folder id → name → child.
    children: HashMap<String, HashMap<String, Arc<Node>>>,
    count: usize,
}

impl HotRows {
    /// Remembers rows read by a transaction that began after `mark` was read, if `now` (the
    /// mark read after it ended) is still `mark`: rows another commit has already changed are
    /// not kept. Rows of an older mark are dropped.
    pub fn remember(&self, mark: Mark, now: Option<Mark>, users: &[&User], nodes: &[&Node]) {
        if now != Some(mark) {
            return;
        }
        let mut rows = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if rows.mark != Some(mark) || rows.count + users.len() + nodes.len() > MAX_ROWS {
            *rows = Rows {
                mark: Some(mark),
                ..Rows::default()
            };
        }
        for u in users {
            rows.users.insert(u.id.clone(), Arc::new((*u).clone()));
        }
        for n in nodes {
            let Some(parent) = &n.parent_id else { continue };
            rows.children
                .entry(parent.clone())
                .or_default()
                .insert(n.name.clone(), Arc::new((*n).clone()));
        }
        rows.count += users.len() + nodes.len();
    }

    /// The file at `names` (already checked names) in `owner`'s drive, asked by user `user_id`
    /// with credentials of `token_version`, if every row on the way is here and `now` is the mark
    /// they were read under: the same answer the database would give now.
    pub fn file(
        &self,
        now: Option<Mark>,
        user_id: &str,
        token_version: i64,
        owner: &str,
        names: &[&str],
    ) -> Option<Arc<Node>> {
        let now = now?;
        let rows = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if rows.mark != Some(now) {
            return None;
        }
        let user = rows.users.get(user_id)?;
        if user.disabled
            || user.token_version != token_version
            || !user.username.eq_ignore_ascii_case(owner)
        {
            return None;
        }
        let mut folder = user.root_id.as_str();
        let mut node: Option<&Arc<Node>> = None;
        for name in names {
            if let Some(n) = node {
                if !n.is_dir() {
                    return None; // a file in the middle of the path
                }
                folder = &n.id;
            }
            node = Some(rows.children.get(folder)?.get(*name)?);
        }
        node.filter(|n| !n.is_dir()).cloned()
    }
}
