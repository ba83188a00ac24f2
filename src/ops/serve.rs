//! The accept loop (HTTP/1.1, as Caddy and cloudflared speak to their origin): a deadline for
//! each request header (slowloris; also the keep-alive idle limit), header size and count
//! limits (431), a stall limit and the minimum rate on sending answers, open connections per
//! address (behind a trusted proxy, per request in `ops::http_layer`), and a graceful
//! shutdown that lets requests in flight finish for `shutdown_grace`, then aborts the rest
//! (their uploads' temp files and quota reservations are released, nothing half-committed).

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::config::Config;
use crate::ops::limits::{MinRate, RateMeter, ResponseClock};
use crate::ops::metrics::{Cut, Metrics};

/// How the loop ended: requests that finished during the grace period, connections aborted.
#[derive(Debug, Default, Clone, Copy)]
pub struct Drained {
    pub finished: usize,
    pub aborted: usize,
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains (see the module doc).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: &Config,
    metrics: Arc<Metrics>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Drained {
    let h = &config.http;
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(h.header_read_timeout.0)
        .max_header_size(h.max_header_bytes.0 as usize)
        .max_headers(h.max_headers)
        // What hyper buffers per connection, each way. Its default (~400 KiB) is what a slow
        // reader's answer sat in: 256 trickling downloads held ~100 MB there. Headers must fit.
        .max_buf_size(h.max_header_bytes.0.max(64 << 10) as usize + (8 << 10));
    let http = Arc::new(http);
    let per_address = Arc::new(PerAddress {
        max: h.max_connections_per_address,
        exempt: config.trusted_proxies.clone(),
        open: Mutex::new(HashMap::new()),
    });
    let send_timeout = h.send_timeout.0;
    let min_rate = MinRate::from_config(config);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and friends: wait for descriptors to come back, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Some(slot) = per_address.take(peer.ip()) else {
                    metrics.count_cut(Cut::TooManyConnections);
                    drop(tcp);
                    continue;
                };
                // Small answers must not wait for Nagle (measured: small WebDAV GETs 130/s → 1,846/s).
                let _ = tcp.set_nodelay(true);
                let clock = Arc::new(ResponseClock::default());
                let io = TokioIo::new(StallGuard::new(
                    tcp,
                    send_timeout,
                    metrics.clone(),
                    (min_rate, clock.clone()),
                ));
                let router = router.clone();
                let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                    let mut req = req.map(axum::body::Body::new);
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req.extensions_mut().insert(clock.clone());
                    router.clone().oneshot(req)
                });
                let (http, metrics, mut stop) = (http.clone(), metrics.clone(), stop_rx.clone());
                conns.spawn(async move {
                    let _slot = slot;
                    metrics.connections.fetch_add(1, Ordering::Relaxed);
                    let conn = http.serve_connection(io, service);
                    tokio::pin!(conn);
                    let result = tokio::select! {
                        r = conn.as_mut() => r,
                        _ = async { stop.wait_for(|s| *s).await.map(|_| ()) } => {
                            // Idle connections close now; a busy one after its current answer.
                            conn.as_mut().graceful_shutdown();
                            conn.await
                        }
                    };
                    metrics.connections.fetch_sub(1, Ordering::Relaxed);
                    if let Err(e) = result {
                        if e.is_timeout() {
                            metrics.count_cut(Cut::HeaderTimeout);
                        }
                        tracing::debug!(error = %e, %peer, "connection ended with an error");
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let grace = config.http.shutdown_grace.0;
    let mut drained = Drained::default();
    let in_time = tokio::time::timeout(grace, async {
        while conns.join_next().await.is_some() {
            drained.finished += 1;
        }
    })
    .await;
    if in_time.is_err() {
        // Dropping a connection drops its handler: an upload's temp file and reservation are
        // released by its guard; a commit already running on a blocking thread completes.
        drained.aborted = conns.len();
        conns.abort_all();
        while conns.join_next().await.is_some() {}
        tracing::warn!(
            count = drained.aborted,
            grace = ?grace,
            "aborted requests still running at the end of the shutdown grace period"
        );
    }
    drained
}

/// Open connections per client address (trusted proxies are exempt: they carry everyone).
struct PerAddress {
    max: usize,
    exempt: Vec<IpAddr>,
    open: Mutex<HashMap<IpAddr, usize>>,
}

struct Slot {
    table: Option<Arc<PerAddress>>,
    ip: IpAddr,
}

impl PerAddress {
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        if self.exempt.contains(&ip) {
            return Some(Slot { table: None, ip });
        }
        let mut open = self.open.lock().unwrap();
        let n = open.entry(ip).or_default();
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            table: Some(self.clone()),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(t) = &self.table {
            let mut open = t.open.lock().unwrap();
            if let Some(n) = open.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    open.remove(&self.ip);
                }
            }
        }
    }
}

/// A TCP stream whose writes fail when the peer has read nothing for `limit` (a client that
/// stops reading an answer would otherwise hold its connection and buffers forever), or has
/// read an answer slower than the minimum rate (a trickling reader holds it just as long).
struct StallGuard {
    inner: TcpStream,
    limit: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
    metrics: Arc<Metrics>,
    rule: MinRate,
    /// Set by `ops::http_layer` while an answer's body is being sent.
    clock: Arc<ResponseClock>,
    /// The answer being measured (its number on this connection) and its meter.
    meter: Option<(u64, RateMeter)>,
    rate_check: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl StallGuard {
    fn new(
        inner: TcpStream,
        limit: Duration,
        metrics: Arc<Metrics>,
        (rule, clock): (MinRate, Arc<ResponseClock>),
    ) -> Self {
        StallGuard {
            inner,
            limit,
            stalled: None,
            metrics,
            rule,
            clock,
            meter: None,
            rate_check: None,
        }
    }

    /// Counts `written` bytes of the answer being sent against the minimum rate; an error when
    /// a window ended below it. While a write waits, a timer looks again at the window's end.
    fn check_rate(
        &mut self,
        cx: &mut Context<'_>,
        written: usize,
        waiting: bool,
    ) -> io::Result<()> {
        let Some(answer) = self.clock.current() else {
            self.meter = None;
            return Ok(());
        };
        let now = Instant::now();
        let rule = self.rule;
        let meter = match &mut self.meter {
            Some((n, m)) if *n == answer => m,
            slot => &mut slot.insert((answer, RateMeter::new(rule, now))).1,
        };
        if let Err(e) = meter.record(now, written as u64) {
            self.meter = None;
            self.rate_check = None;
            self.metrics.count_cut(Cut::MinRate);
            tracing::info!(
                bytes = e.bytes,
                window = ?e.window,
                "answer read below the minimum transfer rate: connection cut"
            );
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read the answer too slowly",
            ));
        }
        if !waiting {
            return Ok(());
        }
        let Some(at) = meter.deadline() else {
            return Ok(());
        };
        let check = self
            .rate_check
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at.into())));
        if check.deadline() != at.into() {
            check.as_mut().reset(at.into());
        }
        if check.as_mut().poll(cx).is_ready() {
            // The window ended while the client read nothing more: judge it now.
            self.rate_check = None;
            return self.check_rate(cx, 0, false);
        }
        Ok(())
    }

    /// Turns a Pending write into an error once it has been pending for `limit`.
    fn check<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match r {
            Poll::Pending => {
                if let Err(e) = self.check_rate(cx, 0, true) {
                    return Poll::Ready(Err(e));
                }
                let limit = self.limit;
                let sleep = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                if sleep.as_mut().poll(cx).is_ready() {
                    self.stalled = None;
                    self.metrics.count_cut(Cut::SendTimeout);
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client stopped reading",
                    )));
                }
                Poll::Pending
            }
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl StallGuard {
    /// `check`, with the bytes a write took counted against the minimum rate.
    fn counted(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = r
            && let Err(e) = self.check_rate(cx, n, false)
        {
            return Poll::Ready(Err(e));
        }
        self.check(cx, r)
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.counted(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.counted(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        this.check(cx, r)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.check(cx, r)
    }
}
