//! The `tags` table: the model's tags (with scores) and the user's, where the user's choice wins.

use rusqlite::{Connection, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone, PartialEq)]
pub struct TagRow {
    pub tag: String,
    pub source: String,
    pub score: Option<f64>,
}

/// The visible tags of a file, user tags first, then by score.
pub fn list_file_tags(conn: &Connection, node_id: &str) -> AppResult<Vec<TagRow>> {
    let mut st = conn.prepare_cached(
        "SELECT tag, source, score FROM tags WHERE node_id = ?1 AND removed = 0
         ORDER BY source = 'auto', score DESC, tag",
    )?;
    let rows = st
        .query_map([node_id], |r| {
            Ok(TagRow {
                tag: r.get(0)?,
                source: r.get(1)?,
                score: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Replaces the model's tags of a file. Tags the user added or removed are left as they are.
pub fn replace_auto_tags(
    conn: &Connection,
    node_id: &str,
    user_id: &str,
    tags: &[(String, f32)],
    now: i64,
) -> AppResult<()> {
    conn.prepare_cached("DELETE FROM tags WHERE node_id = ?1 AND source = 'auto' AND removed = 0")?
        .execute([node_id])?;
    let mut ins = conn.prepare_cached(
        "INSERT INTO tags (node_id, user_id, tag, source, score, removed, created_at)
         VALUES (:node, :user, :tag, 'auto', :score, 0, :now)
         ON CONFLICT (node_id, tag) DO NOTHING",
    )?;
    for (tag, score) in tags {
        ins.execute(named_params! {":node": node_id, ":user": user_id, ":tag": tag, ":score": *score as f64, ":now": now})?;
    }
    Ok(())
}

/// The user adds a tag (or takes back their removal of one).
pub fn add_user_tag(
    conn: &Connection,
    node_id: &str,
    user_id: &str,
    tag: &str,
    now: i64,
) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO tags (node_id, user_id, tag, source, score, removed, created_at)
         VALUES (:node, :user, :tag, 'user', NULL, 0, :now)
         ON CONFLICT (node_id, tag) DO UPDATE SET source = 'user', score = NULL, removed = 0",
    )?
    .execute(named_params! {":node": node_id, ":user": user_id, ":tag": tag, ":now": now})?;
    Ok(())
}

/// The user removes a tag: kept as removed so the model never brings it back.
pub fn remove_user_tag(
    conn: &Connection,
    node_id: &str,
    user_id: &str,
    tag: &str,
    now: i64,
) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO tags (node_id, user_id, tag, source, score, removed, created_at)
         VALUES (:node, :user, :tag, 'user', NULL, 1, :now)
         ON CONFLICT (node_id, tag) DO UPDATE SET source = 'user', score = NULL, removed = 1",
    )?
    .execute(named_params! {":node": node_id, ":user": user_id, ":tag": tag, ":now": now})?;
    Ok(())
}

/// Forgets the model's tags of a file whose body changed (user tags stay).
pub fn clear_auto_tags(conn: &Connection, node_id: &str) -> AppResult<()> {
    conn.prepare_cached("DELETE FROM tags WHERE node_id = ?1 AND source = 'auto'")?
        .execute([node_id])?;
    Ok(())
}

/// A user's tags with how many files carry each, most used first.
pub fn count_user_tags(conn: &Connection, user_id: &str) -> AppResult<Vec<(String, i64)>> {
    let mut st = conn.prepare_cached(
        "SELECT t.tag, count(*) AS c FROM tags t JOIN nodes n ON n.id = t.node_id
         WHERE t.user_id = ?1 AND t.removed = 0 AND n.trashed_at IS NULL
         GROUP BY t.tag ORDER BY c DESC, t.tag",
    )?;
    let rows = st
        .query_map([user_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Ids of a user's files carrying `tag`, newest first, with the total.
pub fn list_tagged_nodes(
    conn: &Connection,
    user_id: &str,
    tag: &str,
    limit: i64,
    offset: i64,
) -> AppResult<(Vec<String>, i64)> {
    let total: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM tags t JOIN nodes n ON n.id = t.node_id
             WHERE t.user_id = ?1 AND t.tag = ?2 AND t.removed = 0 AND n.trashed_at IS NULL",
        )?
        .query_row(rusqlite::params![user_id, tag], |r| r.get(0))?;
    let mut st = conn.prepare_cached(
        "SELECT t.node_id FROM tags t JOIN nodes n ON n.id = t.node_id
         WHERE t.user_id = ?1 AND t.tag = ?2 AND t.removed = 0 AND n.trashed_at IS NULL
         ORDER BY n.modified_at DESC, n.id LIMIT ?3 OFFSET ?4",
    )?;
    let ids = st
        .query_map(rusqlite::params![user_id, tag, limit, offset], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok((ids, total))
}

/// Files of a user with a visible tag containing `word` (for search), with the tag.
pub fn find_nodes_by_tag_word(
    conn: &Connection,
    user_id: &str,
    word: &str,
    limit: i64,
) -> AppResult<Vec<(String, String)>> {
    let mut st = conn.prepare_cached(
        "SELECT node_id, tag FROM tags WHERE user_id = ?1 AND removed = 0 AND tag = ?2 LIMIT ?3",
    )?;
    let rows = st
        .query_map(rusqlite::params![user_id, word, limit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
