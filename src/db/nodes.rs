//! The `nodes` table: every user's tree of folders and files.

use rusqlite::{Connection, OptionalExtension, Row, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    Dir,
    File,
}

impl NodeKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            NodeKind::Dir => "dir",
            NodeKind::File => "file",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub owner_id: String,
    pub parent_id: Option<String>,
    pub name: String,
    pub kind: NodeKind,
    pub size: i64,
    pub content_type: Option<String>,
    pub blob_id: Option<String>,
    pub volume: Option<String>,
    pub ext: Option<String>,
    pub content_hash: Option<String>,
    pub created_at: i64,
    pub modified_at: i64,
    pub etag: String,
}

impl Node {
    pub fn is_dir(&self) -> bool {
        self.kind == NodeKind::Dir
    }
}

const COLUMNS: &str = "id, owner_id, parent_id, name, kind, size, content_type, blob_id, volume, ext, content_hash, \
                       created_at, modified_at, etag";

fn from_row(r: &Row) -> rusqlite::Result<Node> {
    let kind: String = r.get(4)?;
    Ok(Node {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        parent_id: r.get(2)?,
        name: r.get(3)?,
        kind: if kind == "dir" {
            NodeKind::Dir
        } else {
            NodeKind::File
        },
        size: r.get(5)?,
        content_type: r.get(6)?,
        blob_id: r.get(7)?,
        volume: r.get(8)?,
        ext: r.get(9)?,
        content_hash: r.get(10)?,
        created_at: r.get(11)?,
        modified_at: r.get(12)?,
        etag: r.get(13)?,
    })
}

pub fn insert_node(conn: &Connection, n: &Node, name_key: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO nodes (id, owner_id, parent_id, name, name_key, kind, size, content_type, blob_id, volume, ext,
                            content_hash, created_at, modified_at, etag)
         VALUES (:id, :owner, :parent, :name, :key, :kind, :size, :ct, :blob, :vol, :ext, :hash, :c, :m, :etag)",
    )?
    .execute(named_params! {
        ":id": n.id, ":owner": n.owner_id, ":parent": n.parent_id, ":name": n.name, ":key": name_key,
        ":kind": n.kind.as_str(), ":size": n.size, ":ct": n.content_type, ":blob": n.blob_id, ":vol": n.volume,
        ":ext": n.ext, ":hash": n.content_hash, ":c": n.created_at, ":m": n.modified_at, ":etag": n.etag,
    })?;
    Ok(())
}

/// The node if it exists *and* belongs to `owner`: another user's node is indistinguishable from none.
pub fn find_owned_node(conn: &Connection, owner: &str, id: &str) -> AppResult<Option<Node>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM nodes WHERE id = :id AND owner_id = :o"
        ))?
        .query_row(named_params! {":id": id, ":o": owner}, from_row)
        .optional()?)
}

pub fn find_child(conn: &Connection, parent: &str, name_key: &str) -> AppResult<Option<Node>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM nodes WHERE parent_id = :p AND name_key = :k"
        ))?
        .query_row(named_params! {":p": parent, ":k": name_key}, from_row)
        .optional()?)
}

pub fn name_taken(conn: &Connection, parent: &str, name_key: &str) -> AppResult<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM nodes WHERE parent_id = :p AND name_key = :k)",
        )?
        .query_row(named_params! {":p": parent, ":k": name_key}, |r| r.get(0))?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SortBy {
    #[default]
    Name,
    Date,
    Size,
}

/// One page of a folder: folders first, then files, by the chosen order; ties broken by id so
/// pages are stable.
pub fn list_children(
    conn: &Connection,
    parent: &str,
    sort: SortBy,
    descending: bool,
    limit: i64,
    offset: i64,
) -> AppResult<Vec<Node>> {
    let column = match sort {
        SortBy::Name => "name_key",
        SortBy::Date => "modified_at",
        SortBy::Size => "size",
    };
    let dir = if descending { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT {COLUMNS} FROM nodes WHERE parent_id = :p
         ORDER BY kind = 'file', {column} {dir}, name_key {dir}, id LIMIT :limit OFFSET :offset"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(
            named_params! {":p": parent, ":limit": limit, ":offset": offset},
            from_row,
        )?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

pub fn count_children(conn: &Connection, parent: &str) -> AppResult<i64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM nodes WHERE parent_id = :p")?
        .query_row(named_params! {":p": parent}, |r| r.get(0))?)
}

/// The node and its ancestors up to the root, root first.
pub fn list_ancestry(conn: &Connection, id: &str) -> AppResult<Vec<Node>> {
    let sql = format!(
        "WITH RECURSIVE up(id, depth) AS (
             SELECT :id, 0
             UNION ALL SELECT n.parent_id, up.depth + 1 FROM nodes n JOIN up ON n.id = up.id
             WHERE n.parent_id IS NOT NULL AND up.depth < 10000)
         SELECT {COLUMNS} FROM nodes JOIN up USING (id) ORDER BY up.depth DESC"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(named_params! {":id": id}, from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Every file below (and including) `id`.
pub fn list_subtree_files(conn: &Connection, id: &str) -> AppResult<Vec<Node>> {
    let sql = format!(
        "WITH RECURSIVE sub(id) AS (
             SELECT :id UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id)
         SELECT {COLUMNS} FROM nodes JOIN sub USING (id) WHERE kind = 'file'"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(named_params! {":id": id}, from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Deletes a node and everything below it, deepest rows first, one row at a time: the
/// `ON DELETE CASCADE` of a parent would recurse once per level, and SQLite stops a cascade
/// 1,000 levels deep ("too many levels of trigger recursion"). Linear in the subtree's size.
pub fn delete_node(conn: &Connection, id: &str) -> AppResult<()> {
    let mut ids: Vec<(String, i64)> = conn
        .prepare_cached(
            "WITH RECURSIVE sub(id, lvl) AS (
                 SELECT :id, 0 UNION ALL SELECT n.id, sub.lvl + 1 FROM nodes n JOIN sub ON n.parent_id = sub.id)
             SELECT id, lvl FROM sub",
        )?
        .query_map(named_params! {":id": id}, |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    ids.sort_by_key(|(_, lvl)| std::cmp::Reverse(*lvl));
    let mut stmt = conn.prepare_cached("DELETE FROM nodes WHERE id = :id")?;
    for (id, _) in &ids {
        stmt.execute(named_params! {":id": id})?;
    }
    Ok(())
}

/// How many folders lie above `id` (a drive root is at depth 0, its children at 1).
pub fn depth_of(conn: &Connection, id: &str) -> AppResult<i64> {
    Ok(conn
        .prepare_cached(
            "WITH RECURSIVE up(id, depth) AS (
                 SELECT :id, 0
                 UNION ALL SELECT n.parent_id, up.depth + 1 FROM nodes n JOIN up ON n.id = up.id
                 WHERE n.parent_id IS NOT NULL AND up.depth < 100000)
             SELECT MAX(depth) FROM up",
        )?
        .query_row(named_params! {":id": id}, |r| r.get(0))?)
}

/// A node and everything below it, each with its level below `id` (0 for `id` itself), parents
/// before their children.
pub fn list_subtree(conn: &Connection, id: &str) -> AppResult<Vec<(Node, i64)>> {
    let sql = format!(
        "WITH RECURSIVE sub(id, lvl) AS (
             SELECT :id, 0 UNION ALL SELECT n.id, sub.lvl + 1 FROM nodes n JOIN sub ON n.parent_id = sub.id)
         SELECT {COLUMNS}, sub.lvl FROM nodes JOIN sub USING (id) ORDER BY sub.lvl"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(named_params! {":id": id}, |r| {
            Ok((from_row(r)?, r.get(14)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// How many levels of folders lie below folder `id` (0: no subfolder).
pub fn folder_height(conn: &Connection, id: &str) -> AppResult<i64> {
    Ok(conn
        .prepare_cached(
            "WITH RECURSIVE sub(id, lvl) AS (
                 SELECT :id, 0
                 UNION ALL SELECT n.id, sub.lvl + 1 FROM nodes n JOIN sub ON n.parent_id = sub.id
                 WHERE n.kind = 'dir')
             SELECT MAX(lvl) FROM sub",
        )?
        .query_row(named_params! {":id": id}, |r| r.get(0))?)
}

pub fn update_placement(
    conn: &Connection,
    id: &str,
    parent: &str,
    name: &str,
    name_key: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE nodes SET parent_id = :p, name = :n, name_key = :k WHERE id = :id",
    )?
    .execute(named_params! {":p": parent, ":n": name, ":k": name_key, ":id": id})?;
    Ok(())
}

/// Points an existing file row at a new body (overwrite keeps the id, so tags and thumbnails stay).
pub fn update_body(conn: &Connection, n: &Node) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE nodes SET size = :size, content_type = :ct, blob_id = :blob, volume = :vol, ext = :ext,
                          content_hash = :hash, modified_at = :m, etag = :etag WHERE id = :id",
    )?
    .execute(named_params! {
        ":size": n.size, ":ct": n.content_type, ":blob": n.blob_id, ":vol": n.volume, ":ext": n.ext,
        ":hash": n.content_hash, ":m": n.modified_at, ":etag": n.etag, ":id": n.id,
    })?;
    Ok(())
}

pub fn touch_dir(conn: &Connection, id: &str, now: i64, etag: &str) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE nodes SET modified_at = :m, etag = :e WHERE id = :id AND kind = 'dir'",
    )?
    .execute(named_params! {":m": now, ":e": etag, ":id": id})?;
    Ok(())
}

/// Every file row (for fsck).
pub fn list_all_files(conn: &Connection) -> AppResult<Vec<Node>> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM nodes WHERE kind = 'file'"))?;
    let rows = stmt.query_map([], from_row)?.collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Nodes whose parent belongs to someone else, or users whose root is missing (for fsck).
pub fn find_structure_problems(conn: &Connection) -> AppResult<Vec<String>> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT c.id FROM nodes c JOIN nodes p ON c.parent_id = p.id WHERE c.owner_id <> p.owner_id OR p.kind <> 'dir'",
    )?;
    for id in stmt.query_map([], |r| r.get::<_, String>(0))? {
        out.push(format!(
            "node {} sits under another user's node or under a file",
            id?
        ));
    }
    let mut stmt = conn.prepare(
        "SELECT u.username FROM users u LEFT JOIN nodes n ON n.id = u.root_id AND n.parent_id IS NULL
         WHERE n.id IS NULL",
    )?;
    for name in stmt.query_map([], |r| r.get::<_, String>(0))? {
        out.push(format!("user {} has no root folder", name?));
    }
    // Every node hangs below its owner's root: a parent cycle (or a second root) would be a
    // tree that no walk from the root ever reaches.
    let unreachable: i64 = conn.query_row(
        "WITH RECURSIVE reach(id) AS (
             SELECT id FROM nodes WHERE parent_id IS NULL
             UNION ALL SELECT n.id FROM nodes n JOIN reach ON n.parent_id = reach.id)
         SELECT (SELECT count(*) FROM nodes) - (SELECT count(*) FROM reach)",
        [],
        |r| r.get(0),
    )?;
    if unreachable > 0 {
        out.push(format!(
            "{unreachable} nodes cannot be reached from their owner's root folder"
        ));
    }
    Ok(out)
}

/// The client's own modification time for a file (WebDAV `X-OC-Mtime`).
pub fn set_modified(conn: &Connection, id: &str, ms: i64) -> AppResult<()> {
    conn.prepare_cached("UPDATE nodes SET modified_at = :m WHERE id = :id")?
        .execute(named_params! {":m": ms, ":id": id})?;
    Ok(())
}

pub fn set_created(conn: &Connection, id: &str, ms: i64) -> AppResult<()> {
    conn.prepare_cached("UPDATE nodes SET created_at = :c WHERE id = :id")?
        .execute(named_params! {":c": ms, ":id": id})?;
    Ok(())
}

/// A user's files whose name contains every one of `words` (lower case), newest first.
pub fn find_files_by_name_words(
    conn: &Connection,
    owner: &str,
    words: &[String],
    limit: i64,
) -> AppResult<Vec<Node>> {
    let mut sql = format!("SELECT {COLUMNS} FROM nodes WHERE owner_id = ?1 AND kind = 'file'");
    let mut params: Vec<String> = vec![owner.to_string()];
    for w in words.iter().take(8) {
        let escaped = w
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        params.push(format!("%{escaped}%"));
        sql.push_str(&format!(" AND name_key LIKE ?{} ESCAPE '\\'", params.len()));
    }
    sql.push_str(&format!(
        " ORDER BY modified_at DESC, id LIMIT {}",
        limit.clamp(1, 10_000)
    ));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params.iter()), from_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
