//! The worker pool: job rows in SQLite (`db::jobs`), claimed by a bounded set of threads, each
//! kind run by a `JobHandler`, retried with backoff or marked failed with its reason. Nothing
//! lives only in memory: a restart requeues what was running and carries on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use crate::db::jobs::Job;
use crate::db::{self, Db};
use crate::error::AppResult;

pub mod clip_job;
pub mod media_job;
pub mod pixels;

pub use crate::db::jobs::{JobCount, JobFailure, KIND_CLIP, KIND_MEDIA};

/// Attempts before a retryable failure becomes `failed`.
pub const MAX_ATTEMPTS: i64 = 4;

/// Why a job did not succeed.
#[derive(Debug, Clone)]
pub struct JobError {
    pub message: String,
    /// A transient cause (disk busy, volume offline, subprocess timeout): try again later.
    pub retryable: bool,
}

impl JobError {
    pub fn fatal(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            retryable: false,
        }
    }
    pub fn retry(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            retryable: true,
        }
    }
}

impl From<crate::error::AppError> for JobError {
    fn from(e: crate::error::AppError) -> Self {
        JobError::retry(e.to_string())
    }
}

/// Runs one kind of job. `run` gets up to `batch_size()` jobs and answers one result each, in
/// order. Handlers must be idempotent: a job may run twice (a crash after the work, before
/// the row says done).
pub trait JobHandler: Send + Sync {
    fn kind(&self) -> &'static str;
    /// Err(reason) when the job cannot run at all right now (the model is missing): its jobs
    /// wait, without using attempts, until `Jobs::wake(kind)`.
    fn ready(&self) -> Result<(), String> {
        Ok(())
    }
    fn batch_size(&self) -> usize {
        1
    }
    /// How many workers may run this kind at once (CLIP uses every core by itself).
    fn max_concurrency(&self) -> usize {
        usize::MAX
    }
    fn run(&self, jobs: &[Job]) -> Vec<Result<(), JobError>>;
}

struct Slot {
    handler: Arc<dyn JobHandler>,
    running: AtomicUsize,
}

pub struct Jobs {
    db: Db,
    slots: Vec<Slot>,
    /// Bumped whenever there may be new work; workers sleep on it.
    signal: (Mutex<u64>, Condvar),
    stop: AtomicBool,
    workers: usize,
    /// Jobs finished since start, by kind (tests and metrics).
    done: Mutex<HashMap<&'static str, u64>>,
}

/// Backoff before attempt `attempts + 1`: 30 s, 2 min, 8 min.
pub fn backoff_ms(attempts: i64) -> i64 {
    30_000 * 4i64.pow(attempts.clamp(1, 4) as u32 - 1)
}

impl Jobs {
    pub fn new(db: Db, handlers: Vec<Arc<dyn JobHandler>>, workers: usize) -> Arc<Jobs> {
        Arc::new(Jobs {
            db,
            slots: handlers
                .into_iter()
                .map(|handler| Slot {
                    handler,
                    running: AtomicUsize::new(0),
                })
                .collect(),
            signal: (Mutex::new(0), Condvar::new()),
            stop: AtomicBool::new(false),
            workers: workers.max(1),
            done: Mutex::new(HashMap::new()),
        })
    }

    /// Jobs by kind and state.
    pub async fn counts(&self) -> AppResult<Vec<db::jobs::JobCount>> {
        self.db.run(|c| db::jobs::count_jobs(c)).await
    }

    /// Jobs by kind and state, and the latest `limit` failures with their reasons.
    pub async fn report(
        &self,
        limit: i64,
    ) -> AppResult<(Vec<db::jobs::JobCount>, Vec<db::jobs::JobFailure>)> {
        self.db
            .run(move |c| {
                Ok((
                    db::jobs::count_jobs(c)?,
                    db::jobs::list_failed_jobs(c, limit)?,
                ))
            })
            .await
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Starts the worker threads (after start-up recovery has requeued interrupted jobs).
    pub fn start(self: &Arc<Self>) {
        for i in 0..self.workers {
            let me = self.clone();
            std::thread::Builder::new()
                .name(format!("cloudvault-worker-{i}"))
                .spawn(move || me.work())
                .expect("spawning a worker thread");
        }
    }

    /// Asks the workers to stop after their current job.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.poke();
    }

    /// New work may be there: wake a sleeping worker.
    pub fn poke(&self) {
        let (lock, cv) = &self.signal;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        cv.notify_all();
    }

    /// Jobs of `kind` that waited for something (the model) go back to the queue.
    pub fn wake(&self, kind: &str) -> AppResult<usize> {
        let n = db::jobs::wake_waiting_jobs(&*self.db.conn()?, kind, db::now_ms())?;
        self.poke();
        Ok(n)
    }

    pub fn finished_count(&self, kind: &str) -> u64 {
        self.done
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(kind)
            .copied()
            .unwrap_or(0)
    }

    fn work(self: Arc<Self>) {
        while !self.stop.load(Ordering::SeqCst) {
            let seen = *self.signal.0.lock().unwrap_or_else(|e| e.into_inner());
            let did = match self.run_one() {
                Ok(did) => did,
                Err(e) => {
                    tracing::warn!(error = %e, "job queue");
                    false
                }
            };
            if did {
                continue;
            }
            // Nothing due: sleep until poked or until the next retry is due (at most 30 s).
            let wait = self
                .db
                .conn()
                .ok()
                .and_then(|c| db::jobs::next_due_at(&c).ok().flatten())
                .map(|t| (t - db::now_ms()).clamp(10, 30_000))
                .unwrap_or(30_000);
            let (lock, cv) = &self.signal;
            let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            if *guard == seen && !self.stop.load(Ordering::SeqCst) {
                let _ = cv.wait_timeout(guard, Duration::from_millis(wait as u64));
            }
        }
    }

    /// Claims and runs one batch; false when nothing was due.
    fn run_one(&self) -> AppResult<bool> {
        for slot in &self.slots {
            let h = &slot.handler;
            if let Err(reason) = h.ready() {
                park_queued(&*self.db.conn()?, h.kind(), &reason)?;
                continue;
            }
            // Reserve a place for this kind before claiming, so a claim is always run.
            if slot.running.fetch_add(1, Ordering::SeqCst) >= h.max_concurrency() {
                slot.running.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            let claimed = {
                let mut conn = self.db.conn()?;
                if h.batch_size() > 1 {
                    db::jobs::claim_jobs(&mut conn, h.kind(), h.batch_size(), db::now_ms())
                } else {
                    db::jobs::claim_next_job(&conn, &[h.kind()], db::now_ms())
                        .map(|j| j.into_iter().collect())
                }
            };
            let jobs = match claimed {
                Ok(j) if !j.is_empty() => j,
                other => {
                    slot.running.fetch_sub(1, Ordering::SeqCst);
                    other?;
                    continue;
                }
            };
            let results = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.run(&jobs)))
                .unwrap_or_else(|_| {
                    jobs.iter()
                        .map(|_| Err(JobError::fatal("internal error: the job panicked")))
                        .collect()
                });
            slot.running.fetch_sub(1, Ordering::SeqCst);
            self.record(&jobs, results)?;
            return Ok(true);
        }
        Ok(false)
    }

    fn record(&self, jobs: &[Job], results: Vec<Result<(), JobError>>) -> AppResult<()> {
        let conn = self.db.conn()?;
        let now = db::now_ms();
        for (job, result) in jobs
            .iter()
            .zip(results.into_iter().chain(std::iter::repeat_with(|| {
                Err(JobError::fatal(
                    "internal error: the handler gave no result",
                ))
            })))
        {
            match result {
                Ok(()) => {
                    db::jobs::finish_job(&conn, job.id, now)?;
                    *self
                        .done
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .entry(kind_name(&job.kind))
                        .or_default() += 1;
                }
                Err(e) => {
                    let retry_at = (e.retryable && job.attempts < MAX_ATTEMPTS)
                        .then(|| now + backoff_ms(job.attempts));
                    tracing::warn!(kind = %job.kind, node = %job.node_id, attempts = job.attempts, retry = retry_at.is_some(), error = %e.message, "job failed");
                    db::jobs::fail_job(&conn, job.id, &e.message, retry_at, now)?;
                }
            }
        }
        Ok(())
    }
}

fn kind_name(kind: &str) -> &'static str {
    match kind {
        KIND_MEDIA => KIND_MEDIA,
        KIND_CLIP => KIND_CLIP,
        _ => "other",
    }
}

fn park_queued(conn: &Connection, kind: &str, reason: &str) -> AppResult<()> {
    conn.prepare_cached(
        "UPDATE jobs SET state = 'waiting', last_error = ?2, updated_at = ?3 WHERE kind = ?1 AND state = 'queued'",
    )?
    .execute(rusqlite::params![kind, reason, db::now_ms()])?;
    Ok(())
}

/// Start-up: what was running when the process died runs again.
pub fn recover(db: &Db) -> AppResult<usize> {
    db::jobs::requeue_running_jobs(&*db.conn()?, db::now_ms())
}
