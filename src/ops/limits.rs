//! Limits that keep slow or greedy clients from holding the server: a cap on concurrent
//! transfers (all of them, and per signed-in user), open requests per client address behind a
//! trusted proxy, and the minimum transfer rate. Each count is held by a guard released when the
//! body ends or the connection drops.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::AppError;

/// Seconds a refused client is told to wait (`Retry-After`).
pub const BUSY_RETRY_AFTER: u64 = 5;

/// Which cap refused a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    Server,
    User,
}

impl Busy {
    pub fn label(self) -> &'static str {
        match self {
            Busy::Server => "server",
            Busy::User => "user",
        }
    }

    /// The API's answer: 503, `Retry-After`, code `too-busy`.
    pub fn into_error(self) -> AppError {
        let message = match self {
            Busy::Server => "the server is busy with other transfers; try again shortly",
            Busy::User => "you have too many transfers open; try again when one has finished",
        };
        AppError::too_busy(BUSY_RETRY_AFTER, message)
    }
}

#[derive(Default)]
struct Counts {
    total: usize,
    per_user: HashMap<String, usize>,
    /// The most transfers open at once since the last burst drained.
    peak: usize,
}

/// Transfers (download bodies, upload bodies) open now, capped in all and per user.
pub struct Transfers {
    max: usize,
    per_user: usize,
    counts: Mutex<Counts>,
    refused_server: AtomicU64,
    refused_user: AtomicU64,
    /// Run (on a blocking thread) a little after a burst drained: the database closes the
    /// connections the burst opened. Set once at start.
    on_drain: std::sync::OnceLock<Box<dyn Fn() + Send + Sync>>,
}

/// One open transfer; dropping it (body finished, connection gone) gives the slot back.
pub struct TransferPermit {
    table: Arc<Transfers>,
    user: String,
}

/// A burst this big (transfers open at once) is followed by `on_drain` when it drains.
const BURST: usize = 16;

impl Transfers {
    pub fn new(max: usize, per_user: usize) -> Arc<Transfers> {
        Arc::new(Transfers {
            max,
            per_user,
            counts: Mutex::default(),
            refused_server: AtomicU64::new(0),
            refused_user: AtomicU64::new(0),
            on_drain: Default::default(),
        })
    }

    /// A slot for one transfer of `user_id`, or which cap is full.
    pub fn try_begin(self: &Arc<Self>, user_id: &str) -> Result<TransferPermit, Busy> {
        let mut c = self.counts.lock().unwrap();
        if c.total >= self.max {
            drop(c);
            self.refused_server.fetch_add(1, Ordering::Relaxed);
            return Err(Busy::Server);
        }
        let mine = c.per_user.get(user_id).copied().unwrap_or(0);
        if mine >= self.per_user {
            drop(c);
            self.refused_user.fetch_add(1, Ordering::Relaxed);
            return Err(Busy::User);
        }
        c.per_user.insert(user_id.to_string(), mine + 1);
        c.total += 1;
        c.peak = c.peak.max(c.total);
        Ok(TransferPermit {
            table: self.clone(),
            user: user_id.to_string(),
        })
    }

    /// What to release after a burst (the database's extra connections).
    pub fn set_on_drain(&self, f: impl Fn() + Send + Sync + 'static) {
        let _ = self.on_drain.set(Box::new(f));
    }

    pub fn active(&self) -> usize {
        self.counts.lock().unwrap().total
    }

    /// Whether the server-wide cap is reached (a refusal needs no user yet).
    pub fn is_full(&self) -> bool {
        self.active() >= self.max
    }

    pub fn count_refused(&self, why: Busy) {
        match why {
            Busy::Server => &self.refused_server,
            Busy::User => &self.refused_user,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// (refused by the server-wide cap, refused by the per-user cap) since start.
    pub fn refused(&self) -> (u64, u64) {
        (
            self.refused_server.load(Ordering::Relaxed),
            self.refused_user.load(Ordering::Relaxed),
        )
    }
}

impl Drop for TransferPermit {
    fn drop(&mut self) {
        let mut c = self.table.counts.lock().unwrap();
        c.total -= 1;
        if let Some(n) = c.per_user.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                c.per_user.remove(&self.user);
            }
        }
        if c.total == 0 && c.peak >= BURST {
            c.peak = 0;
            drop(c);
            after_burst(self.table.clone());
        }
    }
}

/// Runs `on_drain` off the runtime, once the burst has been over for a while (a burst that
/// comes straight back finds its connections still open).
fn after_burst(table: Arc<Transfers>) {
    let run = move || {
        if let Some(f) = table.on_drain.get() {
            f();
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(h) => {
            h.spawn(async move {
                tokio::time::sleep(DRAIN_DELAY).await;
                let _ = tokio::task::spawn_blocking(run).await;
            });
        }
        Err(_) => run(),
    }
}

/// How long after a burst drained its extra database connections are closed.
const DRAIN_DELAY: Duration = Duration::from_secs(11);

/// Requests open per client address, for requests that come through a trusted proxy (the
/// accept loop counts connections, but behind Caddy or cloudflared every connection is the
/// proxy's: the limit has to apply to the address the proxy reports).
pub struct PerClient {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One open request of a client; dropping it (answer sent, connection gone) gives it back.
pub struct ClientSlot {
    table: Arc<PerClient>,
    ip: IpAddr,
}

impl PerClient {
    pub fn new(max: usize) -> Arc<PerClient> {
        Arc::new(PerClient {
            max,
            open: Mutex::default(),
        })
    }

    pub fn try_take(self: &Arc<Self>, ip: IpAddr) -> Option<ClientSlot> {
        let mut open = self.open.lock().unwrap();
        let n = open.entry(ip).or_default();
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap();
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// The minimum-rate rule: after `grace`, every `window` must carry at least
/// `bytes_per_sec × window` bytes, or the transfer is cut. 0 bytes/s turns it off.
#[derive(Debug, Clone, Copy)]
pub struct MinRate {
    pub bytes_per_sec: u64,
    pub window: Duration,
    pub grace: Duration,
}

impl MinRate {
    pub fn from_config(config: &Config) -> MinRate {
        let h = &config.http;
        MinRate {
            bytes_per_sec: h.min_transfer_rate.0,
            window: h.min_rate_window.0,
            grace: h.min_rate_grace.0,
        }
    }

    fn enabled(&self) -> bool {
        self.bytes_per_sec > 0 && !self.window.is_zero()
    }

    fn floor(&self) -> u64 {
        (self.bytes_per_sec as f64 * self.window.as_secs_f64()) as u64
    }
}

/// One transfer's progress against a `MinRate`.
#[derive(Debug)]
pub struct RateMeter {
    rule: MinRate,
    /// The end of the current window (the first ends `grace + window` after the start).
    window_end: Instant,
    in_window: u64,
}

/// A transfer slower than the rule allows: what it moved in its last window.
#[derive(Debug, Clone, Copy)]
pub struct TooSlow {
    pub bytes: u64,
    pub window: Duration,
}

impl RateMeter {
    pub fn new(rule: MinRate, start: Instant) -> RateMeter {
        RateMeter {
            rule,
            window_end: start + rule.grace + rule.window,
            in_window: 0,
        }
    }

    /// Counts `bytes` moved at `now`; an error when a window ended below the floor. Bytes of
    /// the grace period do not count (a socket's buffers take a burst at the start).
    pub fn record(&mut self, now: Instant, bytes: u64) -> Result<(), TooSlow> {
        if !self.rule.enabled() || now + self.rule.window < self.window_end {
            return Ok(());
        }
        if now >= self.window_end {
            if self.in_window < self.rule.floor() {
                return Err(TooSlow {
                    bytes: self.in_window,
                    window: self.rule.window,
                });
            }
            // A new window from now (a pause of the server's own does not count twice).
            self.window_end = now + self.rule.window;
            self.in_window = 0;
        }
        self.in_window += bytes;
        Ok(())
    }

    /// When to look again while waiting on the client (None: the rule is off).
    pub fn deadline(&self) -> Option<Instant> {
        self.rule.enabled().then_some(self.window_end)
    }
}

/// A flag and a clock shared by a connection and the request on it: when the answer being sent
/// began, so the accept loop can hold a slow reader to the minimum rate (hyper stops polling
/// the body when the socket is full: only the connection sees the stall).
#[derive(Default)]
pub struct ResponseClock {
    /// Answers begun on this connection; 0 = none.
    started: AtomicU64,
    /// Answers whose body ended.
    ended: AtomicU64,
}

impl ResponseClock {
    /// A new answer begins; its number.
    pub fn begin(&self) -> u64 {
        self.started.fetch_add(1, Ordering::AcqRel) + 1
    }

    pub fn end(&self, n: u64) {
        self.ended.fetch_max(n, Ordering::AcqRel);
    }

    /// The number of the answer being sent now, if one is.
    pub fn current(&self) -> Option<u64> {
        let s = self.started.load(Ordering::Acquire);
        (s > self.ended.load(Ordering::Acquire)).then_some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_and_permits_give_back() {
        let t = Transfers::new(3, 2);
        let a1 = t.try_begin("a").unwrap();
        let _a2 = t.try_begin("a").unwrap();
        assert_eq!(t.try_begin("a").err(), Some(Busy::User));
        let _b1 = t.try_begin("b").unwrap();
        assert_eq!(t.try_begin("c").err(), Some(Busy::Server));
        drop(a1);
        assert_eq!(t.active(), 2);
        let _c1 = t.try_begin("c").unwrap();
        assert_eq!(t.refused(), (1, 1));
    }

    #[test]
    fn per_client_slots() {
        let p = PerClient::new(1);
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let s = p.try_take(ip).unwrap();
        assert!(p.try_take(ip).is_none());
        assert!(p.try_take("203.0.113.10".parse().unwrap()).is_some());
        drop(s);
        assert!(p.try_take(ip).is_some());
    }

    #[test]
    fn min_rate_cuts_after_grace_and_window() {
        let rule = MinRate {
            bytes_per_sec: 1000,
            window: Duration::from_secs(10),
            grace: Duration::from_secs(5),
        };
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let mut fast = RateMeter::new(rule, t0);
        let mut slow = RateMeter::new(rule, t0);
        for sec in 0..40 {
            fast.record(s(sec), 2000).unwrap();
            // A burst in the grace period does not buy the slow one time.
            let burst = if sec == 0 { 1 << 20 } else { 500 };
            if let Err(e) = slow.record(s(sec), burst) {
                assert_eq!(sec, 15, "cut at the end of the first window");
                assert!(e.bytes < 10_000);
                return;
            }
        }
        panic!("the slow transfer was never cut");
    }
}
