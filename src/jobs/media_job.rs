//! The `media` job: thumbnails and metadata (EXIF, video duration) of a picture or video,
//! then the CLIP job for it.

use std::sync::Arc;

use crate::db::jobs::Job;
use crate::db::media::MediaRow;
use crate::db::nodes::Node;
use crate::db::{self, Db};
use crate::jobs::pixels::ModelPixels;
use crate::jobs::{JobError, JobHandler, KIND_CLIP, KIND_MEDIA};
use crate::media::{MediaErrorKind, MediaKind, MediaLimits, ThumbTargets};
use crate::search::semantic::Semantic;
use crate::storage::volumes::Volumes;

pub struct MediaJob {
    pub db: Db,
    pub volumes: Arc<Volumes>,
    pub limits: MediaLimits,
    /// Where the picture for CLIP goes (from the same decode), when a model is loaded.
    pub pixels: Arc<ModelPixels>,
    pub semantic: Arc<Semantic>,
}

impl JobHandler for MediaJob {
    fn kind(&self) -> &'static str {
        KIND_MEDIA
    }

    fn run(&self, jobs: &[Job]) -> Vec<Result<(), JobError>> {
        jobs.iter().map(|j| self.run_one(j)).collect()
    }
}

impl MediaJob {
    fn run_one(&self, job: &Job) -> Result<(), JobError> {
        let conn = self.db.conn()?;
        let Some(node) =
            db::nodes::find_owned_node_even_trashed(&conn, &job.user_id, &job.node_id)?
        else {
            return Ok(()); // deleted meanwhile: nothing to do
        };
        drop(conn);
        let ext = node.ext.clone().unwrap_or_default();
        let (Some(kind), Some(volume), Some(blob)) = (
            crate::media::media_kind(&ext),
            node.volume.clone(),
            node.blob_id.clone(),
        ) else {
            return Ok(());
        };
        let v = self
            .volumes
            .online(&volume)
            .map_err(|e| JobError::retry(e.message))?;
        let src = v.body_path(&node.owner_id, &blob, &ext);
        let targets = ThumbTargets {
            small: v.thumb_path(&node.owner_id, &blob, "small"),
            large: v.thumb_path(&node.owner_id, &blob, "large"),
        };
        std::fs::create_dir_all(v.user_thumbs_dir(&node.owner_id))
            .map_err(|e| JobError::retry(format!("creating the thumbnail folder: {e}")))?;
        let kind_name = match kind {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
        };
        let model_side = self.semantic.loaded().map(|l| l.model.image_size());
        let result =
            crate::media::process_file_for_model(&src, kind, &targets, &self.limits, model_side);
        let mut for_model = None;
        let (row, outcome) = match result {
            Ok((info, pixels)) => {
                for_model = pixels;
                (media_row(&node, &blob, kind_name, info), Ok(()))
            }
            Err(e) if e.retryable() => return Err(JobError::retry(e.message)),
            Err(e) => {
                // Not a picture we can read (corrupt, too large, unsupported): the file stays
                // a plain file; the job ends failed with the reason for the admin.
                let _ = v.remove_thumbs(&node.owner_id, &blob);
                let row = MediaRow {
                    node_id: node.id.clone(),
                    blob_id: blob.clone(),
                    kind: kind_name.to_string(),
                    owner_id: Some(node.owner_id.clone()),
                    timeline_at: Some(node.modified_at),
                    ..Default::default()
                };
                let msg = match e.kind {
                    MediaErrorKind::TooLarge
                    | MediaErrorKind::Corrupt
                    | MediaErrorKind::Unsupported => e.message,
                    _ => e.message,
                };
                (row, Err(JobError::fatal(msg)))
            }
        };
        // Keep the result only if the file still has this body; else the thumbnails just
        // written belong to nobody.
        let mut conn = self.db.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(crate::error::AppError::from)?;
        let current = db::nodes::find_owned_node_even_trashed(&tx, &node.owner_id, &node.id)?;
        if current.as_ref().and_then(|n| n.blob_id.as_deref()) != Some(blob.as_str()) {
            drop(tx);
            let _ = v.remove_thumbs(&node.owner_id, &blob);
            return Ok(());
        }
        db::media::upsert_media(&tx, &row, db::now_ms())?;
        if outcome.is_ok() {
            db::jobs::enqueue_job(&tx, KIND_CLIP, &node.id, &node.owner_id, db::now_ms())?;
        }
        tx.commit().map_err(crate::error::AppError::from)?;
        if let Some(img) = for_model {
            self.pixels.put(&node.id, &blob, img);
        }
        outcome
    }
}

/// What the media job stores for a file it could read.
fn media_row(node: &Node, blob: &str, kind: &str, info: crate::media::MediaInfo) -> MediaRow {
    let [place_city, place_region, place_country, place_cc, place_key] =
        place_columns(info.gps_lat, info.gps_lon);
    MediaRow {
        node_id: node.id.clone(),
        blob_id: blob.to_string(),
        kind: kind.to_string(),
        width: info.width.map(i64::from),
        height: info.height.map(i64::from),
        duration_ms: info.duration_ms,
        taken_at: info.taken_at,
        camera_make: info.camera_make,
        camera_model: info.camera_model,
        gps_lat: info.gps_lat,
        gps_lon: info.gps_lon,
        thumb_format: Some("jpeg".into()),
        place_city,
        place_region,
        place_country,
        place_cc,
        place_key,
        owner_id: Some(node.owner_id.clone()),
        timeline_at: Some(info.taken_at.unwrap_or(node.modified_at)),
    }
}

/// The media row's place columns for a GPS position: city, region, country, ISO code and search
/// key; all None without GPS; code '' and the rest None when no place is near (so it is not
/// looked up again).
pub fn place_columns(lat: Option<f64>, lon: Option<f64>) -> [Option<String>; 5] {
    let (Some(lat), Some(lon)) = (lat, lon) else {
        return Default::default();
    };
    match crate::media::places::place_of(lat, lon) {
        Some(p) => {
            let key = p.search_key();
            [
                Some(p.city),
                Some(p.region),
                Some(p.country),
                Some(p.cc),
                Some(key),
            ]
        }
        None => [None, None, None, Some(String::new()), None],
    }
}

/// Names the places of photos processed before places existed (once, at start; a batch at a
/// time, so it never holds the database for long). Returns how many rows it looked up.
pub fn backfill_places(db: &Db) -> crate::error::AppResult<usize> {
    let mut done = 0;
    loop {
        let rows = db::media::rows_without_place(&*db.conn()?, 500)?;
        if rows.is_empty() {
            return Ok(done);
        }
        let looked_up: Vec<(String, [Option<String>; 5])> = rows
            .into_iter()
            .map(|(id, lat, lon)| (id, place_columns(Some(lat), Some(lon))))
            .collect();
        let mut conn = db.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for (id, cols) in &looked_up {
            db::media::set_place(&tx, id, cols.each_ref().map(|c| c.as_deref()))?;
        }
        tx.commit()?;
        done += looked_up.len();
    }
}
