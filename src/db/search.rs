//! The text side of search: names by words (the `nodes_fts` index), what lies under a folder,
//! places, dates, and the filters of a search. Only `owner`'s live nodes, ever.

use std::collections::HashSet;

use rusqlite::{Connection, named_params};

use crate::error::AppResult;

/// `owner`'s live nodes whose own name has the word `word` (already folded: lower case, no
/// accents): `(id, is_folder)`. A whole word, never a part of one ("100" is not in "IMG_1001").
pub fn nodes_named_with(
    conn: &Connection,
    owner: &str,
    word: &str,
    limit: i64,
) -> AppResult<Vec<(String, bool)>> {
    // A quoted FTS5 string is one token to match, whatever it holds (no operators).
    let fts = format!("\"{}\"", word.replace('"', "\"\""));
    let mut st = conn.prepare_cached(
        "SELECT n.id, n.kind = 'dir' FROM nodes_fts f JOIN nodes n ON n.rowid = f.rowid
          WHERE nodes_fts MATCH :q AND n.owner_id = :o AND n.trashed_at IS NULL LIMIT :limit",
    )?;
    let rows = st.query_map(
        named_params! {":q": fts, ":o": owner, ":limit": limit},
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Everything under folder `id` (not the folder itself), at most `limit`.
pub fn descendants(conn: &Connection, id: &str, limit: i64) -> AppResult<Vec<String>> {
    let mut st = conn.prepare_cached(
        "WITH RECURSIVE sub(id) AS (
             SELECT n.id FROM nodes n WHERE n.parent_id = :id AND n.trashed_at IS NULL
             UNION ALL
             SELECT n.id FROM nodes n JOIN sub ON n.parent_id = sub.id WHERE n.trashed_at IS NULL)
         SELECT id FROM sub LIMIT :limit",
    )?;
    let rows = st.query_map(named_params! {":id": id, ":limit": limit}, |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// `owner`'s photos taken in a place whose name holds the folded phrase `phrase` as whole words
/// ("nice", "new york", "france"): `(node id, "City, Country")`.
pub fn photos_in_place(
    conn: &Connection,
    owner: &str,
    phrase: &str,
    limit: i64,
) -> AppResult<Vec<(String, String)>> {
    let mut st = conn.prepare_cached(
        "SELECT m.node_id, m.place_city || ', ' || m.place_country
           FROM media m JOIN nodes n ON n.id = m.node_id
          WHERE m.owner_id = :o AND n.trashed_at IS NULL AND m.blob_id = n.blob_id
            AND instr(m.place_key, :p) > 0
          ORDER BY m.timeline_at DESC LIMIT :limit",
    )?;
    let rows = st.query_map(
        named_params! {":o": owner, ":p": format!(" {phrase} "), ":limit": limit},
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// `owner`'s photos taken in `[from, to)` (by the timeline's time), newest first.
pub fn photos_between(
    conn: &Connection,
    owner: &str,
    from: i64,
    to: i64,
    limit: i64,
) -> AppResult<Vec<String>> {
    let mut st = conn.prepare_cached(
        "SELECT m.node_id FROM media m JOIN nodes n ON n.id = m.node_id
          WHERE m.owner_id = :o AND n.trashed_at IS NULL AND m.blob_id = n.blob_id
            AND m.thumb_format IS NOT NULL AND m.timeline_at >= :from AND m.timeline_at < :to
          ORDER BY m.timeline_at DESC LIMIT :limit",
    )?;
    let rows = st.query_map(
        named_params! {":o": owner, ":from": from, ":to": to, ":limit": limit},
        |r| r.get(0),
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Filters a search may combine; None: not filtered on that.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchFilter {
    /// 'image' or 'video'.
    pub kind: Option<String>,
    /// `[from, to)` in ms of when it was taken (else the file's time).
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// ISO country code or city name.
    pub place: Option<String>,
    pub album: Option<String>,
}

impl SearchFilter {
    pub fn is_empty(&self) -> bool {
        *self == SearchFilter::default()
    }
}

/// Which of `ids` pass `filter` (a filter on kind, time or place keeps only photos).
pub fn passing(
    conn: &Connection,
    owner: &str,
    ids: &[String],
    filter: &SearchFilter,
) -> AppResult<HashSet<String>> {
    let mut st = conn.prepare_cached(
        "SELECT 1 FROM nodes n LEFT JOIN media m ON m.node_id = n.id AND m.blob_id = n.blob_id
          WHERE n.id = :id AND n.owner_id = :o AND n.trashed_at IS NULL
            AND (:kind IS NULL OR m.kind = :kind)
            AND (:from IS NULL OR m.timeline_at >= :from) AND (:to IS NULL OR m.timeline_at < :to)
            AND (:place IS NULL OR m.place_cc = :place OR m.place_city = :place)
            AND (:album IS NULL OR EXISTS (SELECT 1 FROM album_items i JOIN albums a ON a.id = i.album_id
                                            WHERE i.album_id = :album AND i.node_id = n.id AND a.owner_id = :o))",
    )?;
    let mut out = HashSet::new();
    for id in ids {
        if st.exists(named_params! {
            ":id": id, ":o": owner, ":kind": filter.kind, ":from": filter.from, ":to": filter.to,
            ":place": filter.place, ":album": filter.album,
        })? {
            out.insert(id.clone());
        }
    }
    Ok(out)
}
