//! Start-up: lock the data folder, open the services, recover from a crash, bind (port 0 in
//! tests), compose the doors' routers and serve; the housekeeping rounds run beside it.

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::db::{self};
use crate::state::App;
use crate::storage::DataLock;

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
        let router = router(self.app.clone());
        let app = self.app.clone();
        app.jobs.start();
        {
            let a = app.clone();
            tokio::task::spawn_blocking(move || a.load_model());
            // Photos processed before places existed get theirs (offline; once, in batches).
            let db = app.store.db.clone();
            tokio::task::spawn_blocking(move || {
                match crate::jobs::media_job::backfill_places(&db) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(photos = n, "places named from GPS"),
                    Err(e) => tracing::warn!(error = %e, "naming places from GPS"),
                }
            });
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
                    match crate::audit::expire(&app.db, retention).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(count = n, "deleted old audit log entries"),
                        Err(e) => tracing::warn!(error = %e, "expiring the audit log"),
                    }
                }
                if round % 15 == 0 {
                    match app.uploads.expire_stale().await {
                        Ok((0, 0)) => {}
                        Ok((chunked, tus)) => {
                            tracing::info!(chunked, tus, "expired abandoned uploads")
                        }
                        Err(e) => tracing::warn!(error = %e, "expiring abandoned uploads"),
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
            tokio::task::spawn_blocking(move || release_aborted_uploads(&app)).await?;
        }
        Ok(())
    }
}

/// Both doors under the layers every request passes: WebDAV's OPTIONS anywhere, body
/// counting, tracing, and metrics/limits/security headers (src/ops/).
pub fn router(app: App) -> Router {
    Router::new()
        .merge(crate::http::routes(&app.config))
        .merge(crate::dav::routes())
        .layer(middleware::from_fn(crate::dav::options_anywhere))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            count_body_bytes,
        ))
        .layer(TraceLayer::new_for_http())
        // Metrics, slow-body timeout, security headers, password-route limits (src/ops/).
        .layer(middleware::from_fn_with_state(
            app.clone(),
            crate::web::layer::http_layer,
        ))
        .with_state(app)
}

/// Tracks the largest request body (counted as it streams, whatever Content-Length said).
async fn count_body_bytes(State(app): State<App>, req: Request, next: Next) -> Response {
    use http_body_util::BodyExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    let (parts, body) = req.into_parts();
    let seen = std::sync::Arc::new(AtomicU64::new(0));
    let (seen2, stats) = (seen.clone(), app.stats.clone());
    let body = body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            let total = seen2.fetch_add(data.len() as u64, Ordering::Relaxed) + data.len() as u64;
            stats
                .largest_request_body
                .fetch_max(total, Ordering::Relaxed);
        }
        frame
    });
    next.run(Request::from_parts(parts, axum::body::Body::new(body)))
        .await
}

/// After aborted requests: what start-up would do, done now while the server still holds the
/// data folder and nothing is in flight (temp files of aborted uploads, their reservations).
pub fn release_aborted_uploads(app: &App) {
    let swept = app.store.volumes.sweep_temp_files();
    let cleared = app
        .db
        .conn()
        .and_then(|c| crate::db::users::reset_reservations(&c));
    tracing::info!(
        temp_files = swept,
        reservations = ?cleared.ok(),
        "released what aborted uploads held"
    );
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
