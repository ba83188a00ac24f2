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
use std::sync::Mutex;

use crate::db::mark::Mark;
use crate::db::users::User;

use super::Node;

/// Rows above which everything is dropped (about 3 MB): the next reads fill it again.
const MAX_ROWS: usize = 10_000;

/// Files above this size are not kept: a small GET reads bodies of at most 64 KiB whole.
pub const MAX_BODY: i64 = 64 * 1024;

#[derive(Default)]
pub struct HotRows(Mutex<Rows>);

#[derive(Default)]
struct Rows {
    /// The mark all of these rows were read under; None when empty.
    mark: Option<Mark>,
    users: HashMap<Box<str>, KeptUser>,
    /// Folder id → name → child.
    children: HashMap<Box<str>, HashMap<Box<str>, Kept>>,
    count: usize,
}

/// What a GET needs of an account row.
struct KeptUser {
    username: Box<str>,
    disabled: bool,
    token_version: i64,
    root_id: Box<str>,
}

/// What a GET needs of a folder or file row (a full row is ~4 times the size).
struct Kept {
    id: Box<str>,
    dir: bool,
    size: i64,
    modified_at: i64,
    etag: Box<str>,
    /// Volume, blob id and extension of a file's body.
    body: Option<(Box<str>, Box<str>, Box<str>)>,
}

/// A kept file, as a GET answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct HotFile {
    pub owner_id: String,
    pub size: i64,
    pub modified_at: i64,
    pub etag: String,
    /// Volume, blob id, extension.
    pub body: (String, String, String),
}

impl HotRows {
    /// Remembers rows read by a transaction that began after `mark` was read, if `now` (the
    /// mark read after it ended) is still `mark`: rows another commit has already changed are
    /// not kept. Rows of an older mark are dropped.
    pub fn remember(&self, mark: Mark, now: Option<Mark>, user: Option<&User>, nodes: &[Node]) {
        if now != Some(mark) {
            return;
        }
        let kept = nodes.iter().filter(|n| n.is_dir() || n.size <= MAX_BODY);
        let adding = usize::from(user.is_some()) + kept.clone().count();
        let mut rows = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if rows.mark != Some(mark) || rows.count + adding > MAX_ROWS {
            *rows = Rows {
                mark: Some(mark),
                ..Rows::default()
            };
        }
        if let Some(u) = user {
            let kept = KeptUser {
                username: u.username.as_str().into(),
                disabled: u.disabled,
                token_version: u.token_version,
                root_id: u.root_id.as_str().into(),
            };
            rows.users.insert(u.id.as_str().into(), kept);
        }
        for n in kept {
            let Some(parent) = &n.parent_id else { continue };
            let body = match (&n.volume, &n.blob_id) {
                (Some(v), Some(b)) if !n.is_dir() => Some((
                    v.as_str().into(),
                    b.as_str().into(),
                    n.ext.as_deref().unwrap_or("").into(),
                )),
                _ => None,
            };
            let kept = Kept {
                id: n.id.as_str().into(),
                dir: n.is_dir(),
                size: n.size,
                modified_at: n.modified_at,
                etag: n.etag.as_str().into(),
                body,
            };
            rows.children
                .entry(parent.as_str().into())
                .or_default()
                .insert(n.name.as_str().into(), kept);
        }
        rows.count += adding;
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
    ) -> Option<HotFile> {
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
        let mut folder: &str = &user.root_id;
        let mut node: Option<&Kept> = None;
        for name in names {
            if let Some(n) = node {
                if !n.dir {
                    return None; // a file in the middle of the path
                }
                folder = &n.id;
            }
            node = Some(rows.children.get(folder)?.get(*name)?);
        }
        let file = node.filter(|n| !n.dir)?;
        let (volume, blob, ext) = file.body.as_ref()?;
        Some(HotFile {
            owner_id: user_id.to_string(),
            size: file.size,
            modified_at: file.modified_at,
            etag: file.etag.to_string(),
            body: (volume.to_string(), blob.to_string(), ext.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::nodes::NodeKind;

    fn user(id: &str, name: &str, root: &str) -> User {
        User {
            id: id.into(),
            username: name.into(),
            password_hash: String::new(),
            is_admin: false,
            disabled: false,
            quota_bytes: 1 << 30,
            used_bytes: 0,
            reserved_bytes: 0,
            token_version: 1,
            pinned_volume: None,
            root_id: root.into(),
            created_at: 0,
        }
    }

    fn node(id: &str, parent: &str, name: &str, dir: bool, size: i64) -> Node {
        Node {
            id: id.into(),
            owner_id: "u1".into(),
            parent_id: Some(parent.into()),
            name: name.into(),
            kind: if dir { NodeKind::Dir } else { NodeKind::File },
            size,
            content_type: None,
            blob_id: (!dir).then(|| format!("blob-{id}")),
            volume: (!dir).then(|| "v".to_string()),
            ext: (!dir).then(|| "bin".to_string()),
            content_hash: None,
            created_at: 0,
            modified_at: 7,
            etag: format!("e-{id}"),
        }
    }

    #[test]
    fn answers_only_under_the_mark_the_rows_were_read_with_and_only_what_they_say() {
        let (m1, m2) = ([1u8; 96], [2u8; 96]);
        let hot = HotRows::default();
        let u = user("u1", "Alice", "root");
        let (d, f, big) = (
            node("d", "root", "Docs", true, 0),
            node("f", "d", "a.txt", false, 5),
            node("b", "d", "big.bin", false, MAX_BODY + 1),
        );
        // Read under m1 but the mark had moved on by the end: nothing kept.
        hot.remember(m1, Some(m2), Some(&u), &[d.clone(), f.clone()]);
        assert_eq!(
            hot.file(Some(m1), "u1", 1, "alice", &["Docs", "a.txt"]),
            None
        );
        hot.remember(m1, Some(m1), Some(&u), &[d.clone(), f, big]);
        let got = hot
            .file(Some(m1), "u1", 1, "alice", &["Docs", "a.txt"])
            .unwrap();
        assert_eq!(
            (got.size, got.modified_at, got.etag.as_str()),
            (5, 7, "e-f")
        );
        assert_eq!(got.body, ("v".into(), "blob-f".into(), "bin".into()));
        // Any other mark, another credential, another drive, a folder, a path through a file,
        // a name not kept, a body too big to keep: not answered here.
        assert_eq!(
            hot.file(Some(m2), "u1", 1, "alice", &["Docs", "a.txt"]),
            None
        );
        assert_eq!(hot.file(None, "u1", 1, "alice", &["Docs", "a.txt"]), None);
        assert_eq!(
            hot.file(Some(m1), "u1", 2, "alice", &["Docs", "a.txt"]),
            None
        );
        assert_eq!(
            hot.file(Some(m1), "u2", 1, "alice", &["Docs", "a.txt"]),
            None
        );
        assert_eq!(hot.file(Some(m1), "u1", 1, "bob", &["Docs", "a.txt"]), None);
        assert_eq!(hot.file(Some(m1), "u1", 1, "alice", &["Docs"]), None);
        assert_eq!(
            hot.file(Some(m1), "u1", 1, "alice", &["Docs", "a.txt", "x"]),
            None
        );
        assert_eq!(
            hot.file(Some(m1), "u1", 1, "alice", &["Docs", "A.txt"]),
            None
        );
        assert_eq!(
            hot.file(Some(m1), "u1", 1, "alice", &["Docs", "big.bin"]),
            None
        );
        // A disabled account.
        let mut off = u.clone();
        off.disabled = true;
        hot.remember(m1, Some(m1), Some(&off), &[]);
        assert_eq!(
            hot.file(Some(m1), "u1", 1, "alice", &["Docs", "a.txt"]),
            None
        );
        // Rows of a new mark replace all of the old ones.
        hot.remember(m2, Some(m2), Some(&u), &[d]);
        assert_eq!(
            hot.file(Some(m2), "u1", 1, "alice", &["Docs", "a.txt"]),
            None
        );
    }

    #[test]
    fn never_keeps_more_than_its_bound() {
        let m = [3u8; 96];
        let hot = HotRows::default();
        let u = user("u1", "alice", "root");
        let files: Vec<Node> = (0..MAX_ROWS + 10)
            .map(|i| node(&format!("n{i}"), "root", &format!("f{i}"), false, 1))
            .collect();
        for chunk in files.chunks(1000) {
            hot.remember(m, Some(m), Some(&u), chunk);
            assert!(hot.0.lock().unwrap().count <= MAX_ROWS);
        }
    }
}
