//! The `clip` job: a picture's CLIP embedding (from its large thumbnail, decoded at reduced
//! scale) and its auto-tags, several pictures per inference.

use std::sync::Arc;

use crate::db::jobs::Job;
use crate::db::{self, Db};
use crate::jobs::{JobError, JobHandler, KIND_CLIP};
use crate::media::MediaLimits;
use crate::search::semantic::{ModelState, Semantic};
use crate::storage::volumes::Volumes;

pub struct ClipJob {
    pub db: Db,
    /// Pictures the media job left from its decode (else the large thumbnail is decoded).
    pub pixels: Arc<crate::jobs::pixels::ModelPixels>,
    pub volumes: Arc<Volumes>,
    pub semantic: Arc<Semantic>,
    pub limits: MediaLimits,
    pub batch_size: usize,
}

/// What one picture of a batch needs after inference.
struct Prepared {
    node_id: String,
    owner: String,
    blob: String,
}

impl JobHandler for ClipJob {
    fn kind(&self) -> &'static str {
        KIND_CLIP
    }

    fn ready(&self) -> Result<(), String> {
        match self.semantic.state() {
            ModelState::Ready => Ok(()),
            ModelState::Loading => Err("waiting for the CLIP model to load".into()),
            ModelState::Unavailable(_, why) => Err(why),
        }
    }

    fn batch_size(&self) -> usize {
        self.batch_size.max(1)
    }

    /// Inference already uses every core: one batch at a time.
    fn max_concurrency(&self) -> usize {
        1
    }

    fn run(&self, jobs: &[Job]) -> Vec<Result<(), JobError>> {
        let Some(loaded) = self.semantic.loaded() else {
            return jobs
                .iter()
                .map(|_| Err(JobError::retry("the CLIP model went away")))
                .collect();
        };
        let mut results: Vec<Option<Result<(), JobError>>> = vec![None; jobs.len()];
        let mut images = Vec::new();
        let mut prepared = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            match self.prepare(job, loaded.model.image_size()) {
                Ok(Some((p, img))) => {
                    images.push(img);
                    prepared.push((i, p));
                }
                Ok(None) => results[i] = Some(Ok(())),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        if !images.is_empty() {
            match loaded.model.embed_images(&images) {
                Ok(vectors) => {
                    for ((i, p), v) in prepared.into_iter().zip(vectors) {
                        let tags = loaded.labels.tags_for(&v);
                        results[i] = Some(self.store(&p, loaded.model.id(), &v, &tags));
                    }
                }
                Err(e) => {
                    for (i, _) in prepared {
                        results[i] = Some(Err(JobError::retry(format!("CLIP inference: {e}"))));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(JobError::fatal("not run"))))
            .collect()
    }
}

impl ClipJob {
    fn prepare(
        &self,
        job: &Job,
        size: u32,
    ) -> Result<Option<(Prepared, image::RgbImage)>, JobError> {
        let conn = self.db.conn()?;
        let Some(node) =
            db::nodes::find_owned_node_even_trashed(&conn, &job.user_id, &job.node_id)?
        else {
            return Ok(None);
        };
        let Some(media) = db::media::find_media(&conn, &node.id)? else {
            return Ok(None);
        };
        drop(conn);
        let (Some(volume), Some(blob)) = (node.volume.clone(), node.blob_id.clone()) else {
            return Ok(None);
        };
        if media.blob_id != blob || media.thumb_format.is_none() {
            return Ok(None); // a new body is on its way through the media job
        }
        let v = self
            .volumes
            .online(&volume)
            .map_err(|e| JobError::retry(e.message))?;
        let handed = self.pixels.take(&node.id, &blob);
        // Made for this model's input size; smaller ones (a tiny original, or a model swapped
        // for a larger input meanwhile) are decoded again from the thumbnail.
        let img = match handed.filter(|img| img.width().min(img.height()) >= size) {
            Some(img) => img,
            None => {
                let thumb = v.thumb_path(&node.owner_id, &blob, "large");
                crate::media::decode_for_model(&thumb, size, &self.limits).map_err(|e| {
                    if e.retryable() {
                        JobError::retry(e.message)
                    } else {
                        JobError::fatal(format!("reading the preview: {}", e.message))
                    }
                })?
            }
        };
        Ok(Some((
            Prepared {
                node_id: node.id,
                owner: node.owner_id,
                blob,
            },
            img,
        )))
    }

    fn store(
        &self,
        p: &Prepared,
        model: &str,
        v: &[f32],
        tags: &[(String, f32)],
    ) -> Result<(), JobError> {
        let mut conn = self.db.conn()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(crate::error::AppError::from)?;
        let current = db::nodes::find_owned_node_even_trashed(&tx, &p.owner, &p.node_id)?;
        if current.as_ref().and_then(|n| n.blob_id.as_deref()) != Some(p.blob.as_str()) {
            return Ok(()); // deleted or replaced meanwhile: the result is stale
        }
        let now = db::now_ms();
        db::embeddings::upsert_embedding(&tx, &p.node_id, &p.owner, &p.blob, model, v, now)?;
        db::tags::replace_auto_tags(&tx, &p.node_id, &p.owner, tags, now)?;
        tx.commit().map_err(crate::error::AppError::from)?;
        self.semantic.upsert(&p.owner, &p.node_id, v);
        Ok(())
    }
}
