//! The `media` table: what the media job learnt about a picture or video (size, EXIF, thumbnails).

use rusqlite::{Connection, OptionalExtension, Row, named_params};

use crate::error::AppResult;

#[derive(Debug, Clone, Default)]
pub struct MediaRow {
    pub node_id: String,
    pub blob_id: String,
    pub kind: String,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration_ms: Option<i64>,
    pub taken_at: Option<i64>,
    pub camera_make: Option<String>,
    pub camera_model: Option<String>,
    pub gps_lat: Option<f64>,
    pub gps_lon: Option<f64>,
    pub thumb_format: Option<String>,
    /// Reverse-geocoded from GPS: city, region, country, ISO code ('' = nothing near), search key.
    pub place_city: Option<String>,
    pub place_region: Option<String>,
    pub place_country: Option<String>,
    pub place_cc: Option<String>,
    pub place_key: Option<String>,
    /// The owner and the timeline's time (taken, else the file's time).
    pub owner_id: Option<String>,
    pub timeline_at: Option<i64>,
}

fn from_row(r: &Row) -> rusqlite::Result<MediaRow> {
    Ok(MediaRow {
        node_id: r.get("node_id")?,
        blob_id: r.get("blob_id")?,
        kind: r.get("kind")?,
        width: r.get("width")?,
        height: r.get("height")?,
        duration_ms: r.get("duration_ms")?,
        taken_at: r.get("taken_at")?,
        camera_make: r.get("camera_make")?,
        camera_model: r.get("camera_model")?,
        gps_lat: r.get("gps_lat")?,
        gps_lon: r.get("gps_lon")?,
        thumb_format: r.get("thumb_format")?,
        place_city: r.get("place_city")?,
        place_region: r.get("place_region")?,
        place_country: r.get("place_country")?,
        place_cc: r.get("place_cc")?,
        place_key: r.get("place_key")?,
        owner_id: r.get("owner_id")?,
        timeline_at: r.get("timeline_at")?,
    })
}

pub fn upsert_media(conn: &Connection, m: &MediaRow, now: i64) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO media (node_id, blob_id, kind, width, height, duration_ms, taken_at, camera_make,
             camera_model, gps_lat, gps_lon, thumb_format, created_at, place_city, place_region,
             place_country, place_cc, place_key, owner_id, timeline_at)
         VALUES (:node, :blob, :kind, :w, :h, :d, :t, :make, :model, :lat, :lon, :fmt, :now, :city,
             :region, :country, :cc, :key, :owner, :tl)",
    )?
    .execute(named_params! {
        ":node": m.node_id, ":blob": m.blob_id, ":kind": m.kind, ":w": m.width, ":h": m.height,
        ":d": m.duration_ms, ":t": m.taken_at, ":make": m.camera_make, ":model": m.camera_model,
        ":lat": m.gps_lat, ":lon": m.gps_lon, ":fmt": m.thumb_format, ":now": now,
        ":city": m.place_city, ":region": m.place_region, ":country": m.place_country,
        ":cc": m.place_cc, ":key": m.place_key, ":owner": m.owner_id, ":tl": m.timeline_at,
    })?;
    Ok(())
}

pub fn find_media(conn: &Connection, node_id: &str) -> AppResult<Option<MediaRow>> {
    Ok(conn
        .prepare_cached("SELECT * FROM media WHERE node_id = ?1")?
        .query_row([node_id], from_row)
        .optional()?)
}

/// Media rows of several nodes at once (a listing page).
pub fn find_media_of(conn: &Connection, node_ids: &[&str]) -> AppResult<Vec<MediaRow>> {
    let mut out = Vec::new();
    let mut st = conn.prepare_cached("SELECT * FROM media WHERE node_id = ?1")?;
    for id in node_ids {
        if let Some(m) = st.query_row([id], from_row).optional()? {
            out.push(m);
        }
    }
    Ok(out)
}

/// A file in a folder whose name starts with `<stem>.`, with its media row if any (the candidates
/// for the other half of a Live Photo). Names are compared exactly, so this is a range on the
/// `nodes_sibling_name` index: `stem.` ≤ name < `stem/` ('/' follows '.' and is never in a name).
#[derive(Debug, Clone)]
pub struct StemSibling {
    pub id: String,
    pub name: String,
    pub blob_id: Option<String>,
    pub media: Option<MediaRow>,
}

pub fn files_with_stem(conn: &Connection, parent: &str, stem: &str) -> AppResult<Vec<StemSibling>> {
    let (lo, hi) = (format!("{stem}."), format!("{stem}/"));
    let mut st = conn.prepare_cached(
        "SELECT n.id AS nid, n.name AS nname, n.blob_id AS nblob, m.*
           FROM nodes n LEFT JOIN media m ON m.node_id = n.id
          WHERE n.parent_id = ?1 AND n.name >= ?2 AND n.name < ?3
            AND n.kind = 'file' AND n.trashed_at IS NULL
          ORDER BY n.name",
    )?;
    let rows = st.query_map(rusqlite::params![parent, lo, hi], |r| {
        let has_media: Option<String> = r.get("node_id")?;
        Ok(StemSibling {
            id: r.get("nid")?,
            name: r.get("nname")?,
            blob_id: r.get("nblob")?,
            media: match has_media {
                Some(_) => Some(from_row(r)?),
                None => None,
            },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Up to `limit` rows with GPS but no place looked up yet (rows from before places existed).
pub fn rows_without_place(conn: &Connection, limit: i64) -> AppResult<Vec<(String, f64, f64)>> {
    let mut st = conn.prepare_cached(
        "SELECT node_id, gps_lat, gps_lon FROM media
          WHERE gps_lat IS NOT NULL AND gps_lon IS NOT NULL AND place_cc IS NULL LIMIT ?1",
    )?;
    let rows = st.query_map([limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records the place of a row (`cc` '' and the rest None: looked up, nothing near).
pub fn set_place(conn: &Connection, node_id: &str, place: [Option<&str>; 5]) -> AppResult<()> {
    let [city, region, country, cc, key] = place;
    conn.prepare_cached(
        "UPDATE media SET place_city = :city, place_region = :region, place_country = :country,
                place_cc = :cc, place_key = :key
          WHERE node_id = :node",
    )?
    .execute(named_params! {
        ":node": node_id, ":city": city, ":region": region, ":country": country,
        ":cc": cc.unwrap_or(""), ":key": key,
    })?;
    Ok(())
}
