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

/// How names sort and are searched (NFC + lower case). Never how they are told apart: names
/// are unique among siblings exactly.
pub fn sort_key(name: &str) -> String {
    name.to_lowercase()
}

pub fn insert_node(conn: &Connection, n: &Node) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO nodes (id, owner_id, parent_id, name, sort_key, kind, size, content_type, blob_id, volume, ext,
                            content_hash, created_at, modified_at, etag)
         VALUES (:id, :owner, :parent, :name, :key, :kind, :size, :ct, :blob, :vol, :ext, :hash, :c, :m, :etag)",
    )?
    .execute(named_params! {
        ":id": n.id, ":owner": n.owner_id, ":parent": n.parent_id, ":name": n.name, ":key": sort_key(&n.name),
        ":kind": n.kind.as_str(), ":size": n.size, ":ct": n.content_type, ":blob": n.blob_id, ":vol": n.volume,
        ":ext": n.ext, ":hash": n.content_hash, ":c": n.created_at, ":m": n.modified_at, ":etag": n.etag,
    })?;
    Ok(())
}

/// The node if it exists, belongs to `owner` and is not in the trash: another user's node is
/// indistinguishable from none.
pub fn find_owned_node(conn: &Connection, owner: &str, id: &str) -> AppResult<Option<Node>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM nodes WHERE id = :id AND owner_id = :o AND trashed_at IS NULL"
        ))?
        .query_row(named_params! {":id": id, ":o": owner}, from_row)
        .optional()?)
}

pub fn find_child(conn: &Connection, parent: &str, name: &str) -> AppResult<Option<Node>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM nodes WHERE parent_id = :p AND name = :n"
        ))?
        .query_row(named_params! {":p": parent, ":n": name}, from_row)
        .optional()?)
}

pub fn name_taken(conn: &Connection, parent: &str, name: &str) -> AppResult<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM nodes WHERE parent_id = :p AND name = :n)")?
        .query_row(named_params! {":p": parent, ":n": name}, |r| r.get(0))?)
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
        SortBy::Name => "sort_key",
        SortBy::Date => "modified_at",
        SortBy::Size => "size",
    };
    let dir = if descending { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT {COLUMNS} FROM nodes WHERE parent_id = :p
         ORDER BY kind = 'file', {column} {dir}, sort_key {dir}, name {dir}, id LIMIT :limit OFFSET :offset"
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

/// Puts the subtree of `id` in the trash: every node marked, the top one cut from its parent
/// (its place is kept in the `trash` row), so no walk from the root reaches any of it.
pub fn mark_trashed(conn: &Connection, id: &str, at: i64) -> AppResult<()> {
    conn.prepare_cached(
        "WITH RECURSIVE sub(id) AS (
             SELECT :id UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id)
         UPDATE nodes SET trashed_at = :at WHERE id IN sub",
    )?
    .execute(named_params! {":id": id, ":at": at})?;
    conn.prepare_cached("UPDATE nodes SET parent_id = NULL WHERE id = :id")?
        .execute(named_params! {":id": id})?;
    Ok(())
}

/// Takes the subtree of trashed node `id` back into the tree, as `name` in folder `parent`.
pub fn mark_restored(conn: &Connection, id: &str, parent: &str, name: &str) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE nodes SET parent_id = :p, name = :n, sort_key = :k WHERE id = :id",
    )?
    .execute(named_params! {":p": parent, ":n": name, ":k": sort_key(name), ":id": id})?;
    conn.prepare_cached(
        "WITH RECURSIVE sub(id) AS (
             SELECT :id UNION ALL SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id)
         UPDATE nodes SET trashed_at = NULL WHERE id IN sub",
    )?
    .execute(named_params! {":id": id})?;
    Ok(())
}

/// The node if it exists and belongs to `owner`, in the trash or not (for background work,
/// which carries on for a trashed file so that it comes back whole).
pub fn find_owned_node_even_trashed(
    conn: &Connection,
    owner: &str,
    id: &str,
) -> AppResult<Option<Node>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM nodes WHERE id = :id AND owner_id = :o"
        ))?
        .query_row(named_params! {":id": id, ":o": owner}, from_row)
        .optional()?)
}

/// A node of `owner` in the trash (the top of a trashed subtree or anything in it).
pub fn find_trashed_node(conn: &Connection, owner: &str, id: &str) -> AppResult<Option<Node>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM nodes WHERE id = :id AND owner_id = :o AND trashed_at IS NOT NULL"
        ))?
        .query_row(named_params! {":id": id, ":o": owner}, from_row)
        .optional()?)
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
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE nodes SET parent_id = :p, name = :n, sort_key = :k WHERE id = :id",
    )?
    .execute(named_params! {":p": parent, ":n": name, ":k": sort_key(name), ":id": id})?;
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
    // The trash: every trashed top node has its trash row and the other way round, and a
    // subtree is in the trash whole or not at all.
    let mut stmt = conn.prepare(
        "SELECT n.id FROM nodes n LEFT JOIN users u ON u.root_id = n.id
         WHERE n.parent_id IS NULL AND u.id IS NULL
           AND (n.trashed_at IS NULL OR NOT EXISTS (SELECT 1 FROM trash t WHERE t.node_id = n.id))",
    )?;
    for id in stmt.query_map([], |r| r.get::<_, String>(0))? {
        out.push(format!(
            "node {} has no folder and is not in the trash",
            id?
        ));
    }
    let mut stmt = conn.prepare(
        "SELECT t.node_id FROM trash t JOIN nodes n ON n.id = t.node_id
         WHERE n.trashed_at IS NULL OR n.parent_id IS NOT NULL OR n.owner_id <> t.owner_id",
    )?;
    for id in stmt.query_map([], |r| r.get::<_, String>(0))? {
        out.push(format!(
            "trash entry {} names a node that is not in the trash",
            id?
        ));
    }
    let half: i64 = conn.query_row(
        "SELECT count(*) FROM nodes c JOIN nodes p ON c.parent_id = p.id
         WHERE (c.trashed_at IS NULL) <> (p.trashed_at IS NULL)",
        [],
        |r| r.get(0),
    )?;
    if half > 0 {
        out.push(format!(
            "{half} nodes are in the trash while their folder is not, or the other way round"
        ));
    }
    for (id, files, bytes) in crate::db::user_trash::list_all_trash(conn)?
        .into_iter()
        .map(|t| (t.node_id, t.files, t.bytes))
    {
        let actual_files = list_subtree_files(conn, &id)?;
        let actual_bytes = actual_files.iter().map(|f| f.size).sum::<i64>()
            + crate::db::versions::list_subtree_versions(conn, &id)?
                .iter()
                .map(|v| v.size)
                .sum::<i64>();
        if actual_files.len() as i64 != files || actual_bytes != bytes {
            out.push(format!(
                "trash entry {id} says {files} files and {bytes} bytes, holds {} and {actual_bytes}",
                actual_files.len()
            ));
        }
    }
    // Every node hangs below its owner's root or a trash entry: a parent cycle (or a second
    // root) would be a tree that no walk from a root ever reaches.
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
    let mut sql = format!(
        "SELECT {COLUMNS} FROM nodes WHERE owner_id = ?1 AND kind = 'file' AND trashed_at IS NULL"
    );
    let mut params: Vec<String> = vec![owner.to_string()];
    for w in words.iter().take(8) {
        let escaped = w
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        params.push(format!("%{escaped}%"));
        sql.push_str(&format!(" AND sort_key LIKE ?{} ESCAPE '\\'", params.len()));
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

/// Whether the name search index (`nodes_fts`, kept by triggers) agrees with `nodes`. It can only
/// drift when rowids change under it (a VACUUM copy), which restore follows with a rebuild.
pub fn name_index_in_step(conn: &Connection) -> AppResult<bool> {
    match conn.execute_batch("INSERT INTO nodes_fts(nodes_fts, rank) VALUES ('integrity-check', 1)")
    {
        Ok(()) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::DatabaseCorrupt =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Rebuilds the name search index from `nodes` (when the database has one: a backup made
/// before version 6 gets it from the migration).
pub fn rebuild_name_index(conn: &Connection) -> AppResult<()> {
    let has: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'nodes_fts'",
        [],
        |r| r.get(0),
    )?;
    if has > 0 {
        conn.execute_batch("INSERT INTO nodes_fts(nodes_fts) VALUES ('rebuild')")?;
    }
    Ok(())
}
