//! The services a handler extracts (`State<App>`): opened once at start-up, cheap to clone.
//! Building the server, recovery and housekeeping live in `server.rs`.

use std::sync::Arc;

use anyhow::Context;

use crate::auth::{Accounts, Auth};
use crate::config::Config;
use crate::db::{self, Db};
use crate::storage::volumes::Volumes;
use crate::store::Store;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub db: Db,
    pub store: Store,
    pub audit: crate::audit::AuditLog,
    /// Uploads assembled from parts (Nextcloud chunking; tus).
    pub uploads: crate::uploads::Uploads,
    pub auth: Arc<Auth>,
    pub accounts: Arc<Accounts>,
    pub stats: Arc<Stats>,
    pub jobs: Arc<crate::jobs::Jobs>,
    pub semantic: Arc<crate::search::semantic::Semantic>,
    /// Pictures for CLIP handed from the media job's decode to the CLIP job.
    pub model_pixels: Arc<crate::jobs::pixels::ModelPixels>,
    /// Metrics and request limits (src/ops/).
    pub ops: Arc<crate::ops::Ops>,
    /// Rate limits of share links' public side.
    pub shares: Arc<crate::shares::Guards>,
}

/// Counters the server keeps about itself.
#[derive(Default)]
pub struct Stats {
    /// The largest request body seen so far, in bytes (Cloudflare refuses bodies over 100 MB:
    /// the chunked-upload tests assert against this from the server's side).
    pub largest_request_body: std::sync::atomic::AtomicU64,
}

impl App {
    /// Opens the store (database + volumes) without starting anything: the CLI uses this too.
    pub fn open(config: Config) -> anyhow::Result<App> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data folder {}", config.data_dir.display()))?;
        let db = Db::open(&config.db_path())?;
        let volumes = Arc::new(Volumes::open(&config, &db)?);
        let store = Store::new(db.clone(), volumes).with_keep(crate::store::Keep::new(
            config.trash_retention.0,
            config.versions_max_age.0,
        ));
        let auth = Arc::new(Auth::new(&config)?);
        let accounts = Arc::new(Accounts {
            db: db.clone(),
            auth: auth.clone(),
            default_quota: config.default_quota.0 as i64,
            setup: Default::default(),
            basic: Default::default(),
            login_flows: Default::default(),
        });
        let semantic = Arc::new(crate::search::semantic::Semantic::new(db.clone(), &config));
        let limits = crate::media::MediaLimits::from(&config.media);
        // The CLIP job's pictures, from the media job's decode (64 MiB: ~330 photos).
        let pixels = Arc::new(crate::jobs::pixels::ModelPixels::new(64 << 20));
        let handlers: Vec<Arc<dyn crate::jobs::JobHandler>> = vec![
            Arc::new(crate::jobs::media_job::MediaJob {
                db: db.clone(),
                volumes: store.volumes.clone(),
                limits: limits.clone(),
                pixels: pixels.clone(),
                semantic: semantic.clone(),
            }),
            Arc::new(crate::jobs::clip_job::ClipJob {
                db: db.clone(),
                pixels: pixels.clone(),
                volumes: store.volumes.clone(),
                semantic: semantic.clone(),
                limits,
                batch_size: config.ml.batch_size,
            }),
        ];
        let jobs = crate::jobs::Jobs::new(db.clone(), handlers, config.workers);
        let ops = Arc::new(crate::ops::Ops::new(&config));
        let shed = db.clone();
        ops.transfers.set_on_drain(move || {
            let n = shed.shed_idle_connections();
            tracing::debug!(
                closed = n,
                "after a burst: idle database connections closed"
            );
        });
        let audit = crate::audit::AuditLog::new(db.clone());
        let shares = Arc::new(crate::shares::Guards::new(config.auth.login_window.0));
        let app = App {
            ops,
            shares,
            config: Arc::new(config),
            db,
            uploads: crate::uploads::Uploads::new(store.clone()),
            audit,
            store,
            auth,
            accounts,
            stats: Default::default(),
            jobs,
            semantic,
            model_pixels: pixels,
        };
        let _ = app.store.events.set(Arc::new(AppEvents {
            jobs: app.jobs.clone(),
            semantic: app.semantic.clone(),
        }));
        Ok(app)
    }

    /// Loads the CLIP model if it is not loaded (blocking). When it becomes ready, the CLIP
    /// jobs that waited for it run, and pictures processed without it get their jobs.
    pub fn load_model(&self) {
        if !self.semantic.try_load() {
            return;
        }
        let Some(loaded) = self.semantic.loaded() else {
            return;
        };
        let queued = (|| -> crate::error::AppResult<usize> {
            let conn = self.db.conn()?;
            let missing = db::embeddings::list_images_without_embedding(&conn, loaded.model.id())?;
            for (node, owner) in &missing {
                db::jobs::enqueue_job(&conn, crate::jobs::KIND_CLIP, node, owner, db::now_ms())?;
            }
            Ok(missing.len())
        })();
        match queued {
            Ok(n) if n > 0 => tracing::info!(
                count = n,
                "queued CLIP jobs for pictures without an embedding"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "queueing CLIP jobs"),
        }
        if let Err(e) = self.jobs.wake(crate::jobs::KIND_CLIP) {
            tracing::warn!(error = %e, "waking CLIP jobs");
        }
    }
}

struct AppEvents {
    jobs: Arc<crate::jobs::Jobs>,
    semantic: Arc<crate::search::semantic::Semantic>,
}

impl crate::store::StoreEvents for AppEvents {
    fn jobs_queued(&self) {
        self.jobs.poke();
    }
    fn files_changed(&self, owner: &str, ids: &[String]) {
        self.semantic.forget(owner, ids);
    }
    fn files_restored(&self, owner: &str, ids: &[String]) {
        let (semantic, owner, ids) = (self.semantic.clone(), owner.to_string(), ids.to_vec());
        tokio::task::spawn_blocking(move || semantic.recall(&owner, &ids));
    }
}
