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
    })
}

pub fn upsert_media(conn: &Connection, m: &MediaRow, now: i64) -> AppResult<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO media (node_id, blob_id, kind, width, height, duration_ms, taken_at, camera_make,
             camera_model, gps_lat, gps_lon, thumb_format, created_at)
         VALUES (:node, :blob, :kind, :w, :h, :d, :t, :make, :model, :lat, :lon, :fmt, :now)",
    )?
    .execute(named_params! {
        ":node": m.node_id, ":blob": m.blob_id, ":kind": m.kind, ":w": m.width, ":h": m.height,
        ":d": m.duration_ms, ":t": m.taken_at, ":make": m.camera_make, ":model": m.camera_model,
        ":lat": m.gps_lat, ":lon": m.gps_lon, ":fmt": m.thumb_format, ":now": now,
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
