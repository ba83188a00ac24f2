//! The `albums` and `album_items` tables: a user's named collections of their own photos.

use rusqlite::{Connection, OptionalExtension, Row, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone, PartialEq)]
pub struct AlbumRow {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    /// The chosen cover, when it is still in the album and live; else the newest item.
    pub cover_id: Option<String>,
    /// 'asc' (oldest first) or 'desc'.
    pub sort: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Live items in it.
    pub count: i64,
    /// Timeline times of its oldest and newest items.
    pub first_at: Option<i64>,
    pub last_at: Option<i64>,
}

/// The album's live items (not trashed, not gone): the join every query shares.
const LIVE_ITEMS: &str = "album_items i JOIN nodes n ON n.id = i.node_id AND n.trashed_at IS NULL
     LEFT JOIN media m ON m.node_id = i.node_id";

fn album_select() -> String {
    format!(
        "SELECT a.id, a.owner_id, a.name, a.sort, a.created_at, a.updated_at,
            (SELECT count(*) FROM {LIVE_ITEMS} WHERE i.album_id = a.id) AS cnt,
            (SELECT min(m.timeline_at) FROM {LIVE_ITEMS} WHERE i.album_id = a.id) AS first_at,
            (SELECT max(m.timeline_at) FROM {LIVE_ITEMS} WHERE i.album_id = a.id) AS last_at,
            COALESCE(
              (SELECT i.node_id FROM {LIVE_ITEMS} WHERE i.album_id = a.id AND i.node_id = a.cover_node_id),
              (SELECT i.node_id FROM {LIVE_ITEMS} WHERE i.album_id = a.id
                ORDER BY m.timeline_at DESC, i.node_id DESC LIMIT 1)) AS cover
         FROM albums a"
    )
}

fn from_row(r: &Row) -> rusqlite::Result<AlbumRow> {
    Ok(AlbumRow {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        name: r.get(2)?,
        sort: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
        count: r.get(6)?,
        first_at: r.get(7)?,
        last_at: r.get(8)?,
        cover_id: r.get(9)?,
    })
}

pub fn insert_album(
    conn: &Connection,
    id: &str,
    owner: &str,
    name: &str,
    now: i64,
) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT INTO albums (id, owner_id, name, created_at, updated_at) VALUES (:id, :o, :name, :now, :now)",
    )?
    .execute(named_params! {":id": id, ":o": owner, ":name": name, ":now": now})?;
    Ok(())
}

/// The owner's albums, most recently changed first.
pub fn list_albums(conn: &Connection, owner: &str) -> AppResult<Vec<AlbumRow>> {
    let sql = format!(
        "{} WHERE a.owner_id = :o ORDER BY a.updated_at DESC, a.id",
        album_select()
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(named_params! {":o": owner}, from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One album of `owner` (None: no such album, or someone else's).
pub fn find_album(conn: &Connection, owner: &str, id: &str) -> AppResult<Option<AlbumRow>> {
    let sql = format!("{} WHERE a.id = :id AND a.owner_id = :o", album_select());
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(named_params! {":id": id, ":o": owner}, from_row)
        .optional()?)
}

pub fn update_album(
    conn: &Connection,
    id: &str,
    name: &str,
    cover: Option<&str>,
    sort: &str,
    now: i64,
) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE albums SET name = :name, cover_node_id = :cover, sort = :sort, updated_at = :now WHERE id = :id",
    )?
    .execute(named_params! {":id": id, ":name": name, ":cover": cover, ":sort": sort, ":now": now})?;
    Ok(())
}

pub fn touch_album(conn: &Connection, id: &str, now: i64) -> AppResult<()> {
    conn.prepare_cached("UPDATE albums SET updated_at = :now WHERE id = :id")?
        .execute(named_params! {":id": id, ":now": now})?;
    Ok(())
}

pub fn delete_album(conn: &Connection, id: &str) -> AppResult<()> {
    conn.prepare_cached("DELETE FROM albums WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Adds a file; false when it was already in.
pub fn add_item(conn: &Connection, album: &str, node: &str, now: i64) -> AppResult<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT OR IGNORE INTO album_items (album_id, node_id, added_at) VALUES (:a, :n, :now)",
        )?
        .execute(named_params! {":a": album, ":n": node, ":now": now})?
        == 1)
}

/// Removes a file from the album (never the file itself); false when it was not in.
pub fn remove_item(conn: &Connection, album: &str, node: &str) -> AppResult<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM album_items WHERE album_id = :a AND node_id = :n")?
        .execute(named_params! {":a": album, ":n": node})?
        == 1)
}

/// The album's live items in its order (by timeline time, then id).
pub fn album_items(conn: &Connection, album: &str, ascending: bool) -> AppResult<Vec<String>> {
    let order = if ascending { "ASC" } else { "DESC" };
    let sql = format!(
        "SELECT i.node_id FROM {LIVE_ITEMS} WHERE i.album_id = :a
         ORDER BY m.timeline_at {order}, i.node_id {order}"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(named_params! {":a": album}, |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether `node` is a live item of `album`.
pub fn album_has(conn: &Connection, album: &str, node: &str) -> AppResult<bool> {
    let sql = format!("SELECT 1 FROM {LIVE_ITEMS} WHERE i.album_id = :a AND i.node_id = :n");
    Ok(conn
        .prepare_cached(&sql)?
        .exists(named_params! {":a": album, ":n": node})?)
}

/// The cover chosen by hand (None: the newest item is the cover).
pub fn explicit_cover(conn: &Connection, album: &str) -> AppResult<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT cover_node_id FROM albums WHERE id = ?1")?
        .query_row([album], |r| r.get(0))
        .optional()?
        .flatten())
}
