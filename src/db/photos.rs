//! The photo views over `media` + `nodes`: the timeline (month buckets, pages of a month or of
//! everything, newest first), places, and "on this day". Only the owner's live files whose media
//! row describes the current body and has a thumbnail are photos here.

use rusqlite::{Connection, OptionalExtension, named_params};

use crate::error::AppResult;

/// The join every view shares: the owner's processed, current, not trashed pictures and videos.
const PHOTOS: &str = "FROM media m JOIN nodes n ON n.id = m.node_id
     WHERE m.owner_id = :o AND n.trashed_at IS NULL AND m.blob_id = n.blob_id
       AND m.thumb_format IS NOT NULL";

/// `(month 'YYYY-MM' in the caller's time zone, count)`, newest first. `tz_min`: minutes east of UTC.
pub fn month_buckets(conn: &Connection, owner: &str, tz_min: i64) -> AppResult<Vec<(String, i64)>> {
    let sql = format!(
        "SELECT strftime('%Y-%m', (m.timeline_at + :tz * 60000) / 1000, 'unixepoch') AS month, count(*)
         {PHOTOS} GROUP BY month ORDER BY month DESC"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(named_params! {":o": owner, ":tz": tz_min}, |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Filters of a page of photos.
#[derive(Debug, Clone, Default)]
pub struct PhotoFilter {
    /// `[from, to)` in ms of `timeline_at` (a month's bounds, computed by the caller).
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// ISO country code, and city within it.
    pub cc: Option<String>,
    pub city: Option<String>,
    /// 'image' or 'video'.
    pub kind: Option<String>,
}

/// Node ids and times of a page, newest first, strictly after the cursor `(time, id)` in that
/// order (ties broken by id, so no item is skipped or repeated between pages).
pub fn photo_page(
    conn: &Connection,
    owner: &str,
    filter: &PhotoFilter,
    cursor: Option<(i64, &str)>,
    limit: i64,
) -> AppResult<Vec<(String, i64)>> {
    walk(conn, owner, filter, cursor, false, limit)
}

/// The photos just newer and just older than `id` in the timeline with `filter` (each None at
/// that end); None when `id` is not one of the owner's photos.
pub fn photo_neighbours(
    conn: &Connection,
    owner: &str,
    filter: &PhotoFilter,
    id: &str,
) -> AppResult<Option<(Option<String>, Option<String>)>> {
    let sql = format!("SELECT m.timeline_at {PHOTOS} AND m.node_id = :id");
    let at: Option<i64> = conn
        .prepare_cached(&sql)?
        .query_row(named_params! {":o": owner, ":id": id}, |r| r.get(0))
        .optional()?;
    let Some(at) = at else { return Ok(None) };
    let first = |newer| -> AppResult<Option<String>> {
        Ok(walk(conn, owner, filter, Some((at, id)), newer, 1)?
            .pop()
            .map(|(n, _)| n))
    };
    Ok(Some((first(true)?, first(false)?)))
}

/// Up to `limit` photos past `(time, id)`: towards older ones (newest first), or with `newer`
/// towards newer ones (oldest first).
fn walk(
    conn: &Connection,
    owner: &str,
    filter: &PhotoFilter,
    cursor: Option<(i64, &str)>,
    newer: bool,
    limit: i64,
) -> AppResult<Vec<(String, i64)>> {
    let (past, order) = if newer {
        (
            "m.timeline_at > :ct OR (m.timeline_at = :ct AND m.node_id > :cid)",
            "ASC",
        )
    } else {
        (
            "m.timeline_at < :ct OR (m.timeline_at = :ct AND m.node_id < :cid)",
            "DESC",
        )
    };
    let sql = format!(
        "SELECT m.node_id, m.timeline_at {PHOTOS}
           AND (:from IS NULL OR m.timeline_at >= :from) AND (:to IS NULL OR m.timeline_at < :to)
           AND (:cc IS NULL OR m.place_cc = :cc) AND (:city IS NULL OR m.place_city = :city)
           AND (:kind IS NULL OR m.kind = :kind)
           AND (:ct IS NULL OR {past})
         ORDER BY m.timeline_at {order}, m.node_id {order} LIMIT :limit"
    );
    let (ct, cid) = match cursor {
        Some((t, id)) => (Some(t), Some(id)),
        None => (None, None),
    };
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(
        named_params! {
            ":o": owner, ":from": filter.from, ":to": filter.to, ":cc": filter.cc,
            ":city": filter.city, ":kind": filter.kind, ":ct": ct, ":cid": cid, ":limit": limit,
        },
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One place with its photo count and the newest photo as its cover.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceRow {
    pub cc: String,
    pub country: String,
    pub city: String,
    pub region: String,
    pub count: i64,
    pub cover_id: String,
}

/// Every city the owner has photos of, by country code then count.
pub fn places(conn: &Connection, owner: &str) -> AppResult<Vec<PlaceRow>> {
    // SQLite takes the bare columns (the cover) from the row holding max(timeline_at).
    let sql = format!(
        "SELECT m.place_cc, m.place_country, m.place_city, m.place_region, count(*), m.node_id,
                max(m.timeline_at)
         {PHOTOS} AND m.place_cc IS NOT NULL AND m.place_cc <> ''
         GROUP BY m.place_cc, m.place_city, m.place_region
         ORDER BY m.place_cc, count(*) DESC"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(named_params! {":o": owner}, |r| {
        Ok(PlaceRow {
            cc: r.get(0)?,
            country: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            city: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            region: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            count: r.get(4)?,
            cover_id: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Photos taken on month-day `md` ('MM-DD', in the caller's time zone) of a year before `year`,
/// newest first: `(node id, year)`.
pub fn on_this_day(
    conn: &Connection,
    owner: &str,
    tz_min: i64,
    md: &str,
    year: i32,
    limit: i64,
) -> AppResult<Vec<(String, i32)>> {
    let sql = format!(
        "SELECT m.node_id, CAST(strftime('%Y', (m.timeline_at + :tz * 60000) / 1000, 'unixepoch') AS INTEGER) AS y
         {PHOTOS} AND m.taken_at IS NOT NULL
           AND strftime('%m-%d', (m.timeline_at + :tz * 60000) / 1000, 'unixepoch') = :md
           AND y < :year
         ORDER BY m.timeline_at DESC LIMIT :limit"
    );
    let mut st = conn.prepare_cached(&sql)?;
    let rows = st.query_map(
        named_params! {":o": owner, ":tz": tz_min, ":md": md, ":year": year, ":limit": limit},
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Which of `ids` are photos of `owner` (the owner's live pictures and videos), in `ids`' order.
pub fn owned_photos(conn: &Connection, owner: &str, ids: &[String]) -> AppResult<Vec<String>> {
    let sql = format!("SELECT 1 {PHOTOS} AND m.node_id = :id");
    let mut st = conn.prepare_cached(&sql)?;
    let mut out = Vec::new();
    for id in ids {
        if st.exists(named_params! {":o": owner, ":id": id})? {
            out.push(id.clone());
        }
    }
    Ok(out)
}
