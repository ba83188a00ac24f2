//! Start-up: lock the data folder, open the database, check volumes, recover from a crash,
//! bind (port 0 in tests) and serve.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::{Accounts, Auth};
use crate::config::Config;
use crate::db::{self, Db};
use crate::store::Store;
use crate::store::volumes::Volumes;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub db: Db,
    pub store: Store,
    pub auth: Arc<Auth>,
    pub accounts: Arc<Accounts>,
    pub dav: Arc<crate::dav::DavState>,
    pub stats: Arc<Stats>,
    pub jobs: Arc<crate::jobs::Jobs>,
    pub semantic: Arc<crate::search::semantic::Semantic>,
    /// Metrics and request limits (src/ops/).
    pub ops: Arc<crate::ops::Ops>,
}

/// Counters the server keeps about itself.
#[derive(Default)]
pub struct Stats {
    /// The largest request body seen so far, in bytes (Cloudflare refuses bodies over 100 MB:
    /// the chunked-upload tests assert against this from the server's side).
    pub largest_request_body: std::sync::atomic::AtomicU64,
}

pub const LOCK_FILE: &str = "cloudvault.lock";

/// Holds the exclusive lock on the data folder for as long as it lives: one server per store.
pub struct DataLock(#[allow(dead_code)] std::fs::File);

impl DataLock {
    pub fn acquire(data_dir: &Path) -> anyhow::Result<DataLock> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(data_dir.join(LOCK_FILE))?;
        match f.try_lock() {
            Ok(()) => Ok(DataLock(f)),
            Err(std::fs::TryLockError::WouldBlock) => {
                anyhow::bail!(
                    "another cloudvault server is already running on {}",
                    data_dir.display()
                )
            }
            Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }

    /// Whether a server holds the data folder right now (the CLI asks before touching temp files).
    pub fn is_held(data_dir: &Path) -> bool {
        match std::fs::OpenOptions::new()
            .write(true)
            .open(data_dir.join(LOCK_FILE))
        {
            Ok(f) => matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
            Err(_) => false,
        }
    }
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
        });
        let semantic = Arc::new(crate::search::semantic::Semantic::new(db.clone(), &config));
        let limits = crate::media::MediaLimits::from(&config.media);
        let handlers: Vec<Arc<dyn crate::jobs::JobHandler>> = vec![
            Arc::new(crate::jobs::media_job::MediaJob {
                db: db.clone(),
                volumes: store.volumes.clone(),
                limits: limits.clone(),
            }),
            Arc::new(crate::jobs::clip_job::ClipJob {
                db: db.clone(),
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
        let app = App {
            ops,
            config: Arc::new(config),
            db,
            store,
            auth,
            accounts,
            dav: Default::default(),
            stats: Default::default(),
            jobs,
            semantic,
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

pub struct Server {
    app: App,
    listener: TcpListener,
    _lock: DataLock,
}

impl Server {
    pub async fn build(config: Config) -> anyhow::Result<Server> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data folder {}", config.data_dir.display()))?;
        let lock = DataLock::acquire(&config.data_dir)?;
        let listen = config.listen;
        let app = tokio::task::spawn_blocking(move || -> anyhow::Result<App> {
            let app = App::open(config)?;
            recover(&app)?;
            Ok(app)
        })
        .await??;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        Ok(Server {
            app,
            listener,
            _lock: lock,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = crate::http::router(self.app.clone());
        let app = self.app.clone();
        app.jobs.start();
        {
            let a = app.clone();
            tokio::task::spawn_blocking(move || a.load_model());
        }
        let housekeeping = tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            for round in 0u64.. {
                tick.tick().await;
                // The model (or ONNX Runtime) may have been installed since: no restart needed.
                if app.semantic.loaded().is_none() {
                    let a = app.clone();
                    let _ = tokio::task::spawn_blocking(move || a.load_model()).await;
                }
                // A disk plugged in after start-up becomes usable without a restart.
                let (volumes, config, db) = (
                    app.store.volumes.clone(),
                    app.config.clone(),
                    app.db.clone(),
                );
                let _ =
                    tokio::task::spawn_blocking(move || volumes.retry_uninitialised(&config, &db))
                        .await;
                if round % 60 == 0 {
                    match app.store.sweep_trash_and_versions().await {
                        Ok((0, 0)) => {}
                        Ok((items, versions)) => tracing::info!(
                            trash_items = items,
                            versions,
                            "deleted expired trash and thinned versions"
                        ),
                        Err(e) => tracing::warn!(error = %e, "sweeping the trash and versions"),
                    }
                    let retention = app.config.audit_retention.0;
                    match crate::ops::audit::expire(&app.db, retention).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(count = n, "deleted old audit log entries"),
                        Err(e) => tracing::warn!(error = %e, "expiring the audit log"),
                    }
                }
                if round % 15 == 0 {
                    match crate::dav::chunked::expire_stale_uploads(&app).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(count = n, "expired abandoned chunked uploads"),
                        Err(e) => tracing::warn!(error = %e, "expiring chunked uploads"),
                    }
                    match app.store.expire_tus_uploads().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(count = n, "expired abandoned resumable uploads"),
                        Err(e) => tracing::warn!(error = %e, "expiring resumable uploads"),
                    }
                }
            }
        });
        // Slow-client limits, TCP_NODELAY and the graceful drain live in src/ops/serve.rs.
        let drained = crate::ops::serve::serve(
            self.listener,
            router,
            &self.app.config,
            self.app.ops.metrics.clone(),
            shutdown,
        )
        .await;
        housekeeping.abort();
        self.app.jobs.shutdown();
        if drained.aborted > 0 {
            let app = self.app.clone();
            tokio::task::spawn_blocking(move || crate::ops::serve::release_aborted_uploads(&app))
                .await?;
        }
        Ok(())
    }
}

/// After a crash: no upload is in flight, so temp files and reservations are stale, and
/// interrupted deletes or commits are finished from `blob_trash`.
fn recover(app: &App) -> anyhow::Result<()> {
    for v in app.store.volumes.status() {
        match &v.problem {
            None => {
                tracing::info!(volume = %v.name, path = %v.path, free = ?v.free_bytes, "volume online")
            }
            Some(p) => tracing::warn!(volume = %v.name, path = %v.path, "volume OFFLINE: {p}"),
        }
    }
    let swept = app.store.volumes.sweep_temp_files();
    if swept > 0 {
        tracing::info!(count = swept, "removed temp files of interrupted uploads");
    }
    let conn = app.db.conn()?;
    let cleared = db::users::reset_reservations(&conn)?;
    if cleared > 0 {
        tracing::info!(
            users = cleared,
            "cleared quota reservations of interrupted uploads"
        );
    }
    db::tokens::delete_expired_tokens(&conn, db::now_ms())?;
    // Sign-ins revoked shortly before the stop: their access tokens stay dead.
    app.auth.restore_revoked_families(&conn)?;
    drop(conn);
    let purged = app.store.purge_all_trash()?;
    if purged > 0 {
        tracing::info!(count = purged, "finished interrupted deletes");
    }
    let requeued = crate::jobs::recover(&app.db)?;
    if requeued > 0 {
        tracing::info!(
            count = requeued,
            "requeued jobs that were running when the server stopped"
        );
    }
    Ok(())
}

impl App {
    /// Searches `owner`'s files: tags and filenames now; CLIP similarity when the model is there.
    pub async fn search(
        &self,
        owner: &str,
        q: &str,
        limit: usize,
        offset: usize,
    ) -> crate::error::AppResult<crate::search::service::Found> {
        use crate::search::service;
        let q = service::normalise_query(q)?;
        let (o, qq) = (owner.to_string(), q.clone());
        let text = self
            .store
            .db
            .run(move |c| service::text_matches(c, &o, &qq, 1000))
            .await?;
        let (semantic, model_status) = if self.semantic.loaded().is_some() {
            let (sem, o, qq) = (self.semantic.clone(), owner.to_string(), q.clone());
            let hits = tokio::task::spawn_blocking(move || {
                sem.search(&o, &qq, service::SEMANTIC_CANDIDATES)
            })
            .await??;
            let hits = service::keep_relevant(hits);
            // Re-read every hit as the caller's current row: deleted files drop out here.
            let o = owner.to_string();
            let nodes = self
                .store
                .db
                .run(move |c| {
                    let mut out = Vec::with_capacity(hits.len());
                    for (id, score) in hits {
                        if let Some(n) = db::nodes::find_owned_node(c, &o, &id)? {
                            out.push((n, score));
                        }
                    }
                    Ok(out)
                })
                .await?;
            (nodes, None)
        } else {
            (Vec::new(), Some(self.semantic.unavailable_error()))
        };
        let ran = model_status.is_none();
        let hits = service::rank(text, semantic);
        let total = hits.len();
        Ok(service::Found {
            items: hits.into_iter().skip(offset).take(limit).collect(),
            total,
            semantic: ran,
            model_status,
        })
    }
}
