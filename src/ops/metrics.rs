//! Prometheus metrics: request counters by route and status, bytes in and out, upload and
//! download durations, connections cut for being slow; rendered with the gauges read at scrape
//! time (job queue, volumes, users, memory) in the text exposition format 0.0.4.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the duration histograms' buckets.
const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

#[derive(Default, Clone)]
struct Histogram {
    /// Observations per bucket (not cumulative); past the last bound they count only in `count`.
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, secs: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += secs;
    }
}

/// Why the server closed a connection on a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cut {
    /// The request header did not arrive in time (slowloris, or an idle keep-alive connection).
    HeaderTimeout,
    /// The request body stalled.
    BodyTimeout,
    /// The client stopped reading the answer.
    SendTimeout,
    /// Too many open connections from one address (behind a trusted proxy: too many open
    /// requests from the address it reports, answered 503).
    TooManyConnections,
    /// A transfer (request or answer body) moved less than the minimum rate over its window.
    MinRate,
}

impl Cut {
    fn label(self) -> &'static str {
        match self {
            Cut::HeaderTimeout => "header-timeout",
            Cut::BodyTimeout => "body-timeout",
            Cut::SendTimeout => "send-timeout",
            Cut::TooManyConnections => "too-many-connections",
            Cut::MinRate => "below-min-rate",
        }
    }
}

#[derive(Default)]
pub struct Metrics {
    /// (method, route, status) → count. Routes are route templates, never raw paths, so the
    /// number of series stays bounded whatever clients send.
    requests: Mutex<BTreeMap<(&'static str, String, u16), u64>>,
    request_bytes: AtomicU64,
    response_bytes: AtomicU64,
    uploads: Mutex<BTreeMap<&'static str, Histogram>>,
    downloads: Mutex<BTreeMap<&'static str, Histogram>>,
    cuts: Mutex<BTreeMap<Cut, u64>>,
    /// WebDAV GETs and PUTs answered in one blocking hop without dav-server.
    dav_fast_gets: AtomicU64,
    dav_fast_puts: AtomicU64,
    dav_hot_gets: AtomicU64,
    pub in_flight: AtomicI64,
    pub connections: AtomicI64,
}

/// Values read when scraped.
#[derive(Default)]
pub struct Gauges {
    /// (kind, state, count)
    pub jobs: Vec<(String, String, i64)>,
    pub volumes: Vec<crate::storage::volumes::VolumeStatus>,
    pub users: i64,
    pub used_bytes: i64,
    pub largest_request_body: u64,
    pub resident_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    pub uptime: Duration,
    /// Transfers open now, and those refused by the server-wide and per-user caps.
    pub transfers_active: usize,
    pub transfers_refused: (u64, u64),
}

impl Metrics {
    pub fn count_request(&self, method: &'static str, route: String, status: u16) {
        *self
            .requests
            .lock()
            .unwrap()
            .entry((method, route, status))
            .or_default() += 1;
    }

    pub fn add_request_bytes(&self, n: u64) {
        self.request_bytes.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_response_bytes(&self, n: u64) {
        self.response_bytes.fetch_add(n, Ordering::Relaxed);
    }

    pub fn observe_upload(&self, door: &'static str, d: Duration) {
        let mut h = self.uploads.lock().unwrap();
        h.entry(door).or_default().observe(d.as_secs_f64());
    }

    pub fn observe_download(&self, door: &'static str, d: Duration) {
        let mut h = self.downloads.lock().unwrap();
        h.entry(door).or_default().observe(d.as_secs_f64());
    }

    pub fn count_cut(&self, why: Cut) {
        *self.cuts.lock().unwrap().entry(why).or_default() += 1;
    }

    /// A WebDAV request the fast path answered (`src/dav/get.rs`, `src/dav/put.rs`).
    pub fn count_dav_fast(&self, put: bool) {
        let c = if put {
            &self.dav_fast_puts
        } else {
            &self.dav_fast_gets
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// A fast WebDAV GET/HEAD answered without leaving the async runtime (`Store::read_small_file_hot`).
    pub fn count_dav_hot(&self) {
        self.dav_hot_gets.fetch_add(1, Ordering::Relaxed);
    }

    pub fn cuts(&self, why: Cut) -> u64 {
        self.cuts.lock().unwrap().get(&why).copied().unwrap_or(0)
    }

    /// The whole exposition: every family with its HELP and TYPE, then its samples.
    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::with_capacity(8 << 10);
        self.render_requests(&mut out);
        self.render_cuts_and_fast_path(&mut out);
        self.render_concurrency(&mut out, g);
        Self::render_jobs_and_volumes(&mut out, g);
        Self::render_totals(&mut out, g);
        out
    }

    /// Requests by route and status, body bytes, and the upload and download durations.
    fn render_requests(&self, out: &mut String) {
        family(
            out,
            "cloudvault_http_requests_total",
            "counter",
            "HTTP requests answered, by method, route template and status.",
        );
        for ((method, route, status), n) in self.requests.lock().unwrap().iter() {
            sample(
                out,
                "cloudvault_http_requests_total",
                &[
                    ("method", method),
                    ("route", route),
                    ("status", &status.to_string()),
                ],
                *n as f64,
            );
        }
        family(
            out,
            "cloudvault_http_request_bytes_total",
            "counter",
            "Request body bytes read.",
        );
        sample(
            out,
            "cloudvault_http_request_bytes_total",
            &[],
            self.request_bytes.load(Ordering::Relaxed) as f64,
        );
        family(
            out,
            "cloudvault_http_response_bytes_total",
            "counter",
            "Response body bytes sent.",
        );
        sample(
            out,
            "cloudvault_http_response_bytes_total",
            &[],
            self.response_bytes.load(Ordering::Relaxed) as f64,
        );
        histogram(
            out,
            "cloudvault_upload_duration_seconds",
            "Successful uploads, from the first byte of the request to the answer, by door (api, tus, webdav, webdav-chunk).",
            &self.uploads.lock().unwrap(),
        );
        histogram(
            out,
            "cloudvault_download_duration_seconds",
            "Successful downloads, from the request to the last byte of the body, by door (api, webdav).",
            &self.downloads.lock().unwrap(),
        );
    }

    /// Connections cut by reason, and the WebDAV requests the fast path answered.
    fn render_cuts_and_fast_path(&self, out: &mut String) {
        family(
            out,
            "cloudvault_http_connections_cut_total",
            "counter",
            "Connections closed on a slow or greedy client, by reason.",
        );
        family(
            out,
            "cloudvault_webdav_fast_requests_total",
            "counter",
            "WebDAV GETs/HEADs and small PUTs answered in one blocking hop, without dav-server (the rest of the WebDAV requests took the full path).",
        );
        for (method, c) in [("GET", &self.dav_fast_gets), ("PUT", &self.dav_fast_puts)] {
            sample(
                out,
                "cloudvault_webdav_fast_requests_total",
                &[("method", method)],
                c.load(Ordering::Relaxed) as f64,
            );
        }
        family(
            out,
            "cloudvault_webdav_hot_reads_total",
            "counter",
            "Of the fast WebDAV GETs/HEADs, those answered on the async runtime from rows kept while the database is unchanged and a body already in memory (no blocking hop, no SQLite).",
        );
        sample(
            out,
            "cloudvault_webdav_hot_reads_total",
            &[],
            self.dav_hot_gets.load(Ordering::Relaxed) as f64,
        );
        let cuts = self.cuts.lock().unwrap();
        for why in [
            Cut::HeaderTimeout,
            Cut::BodyTimeout,
            Cut::SendTimeout,
            Cut::TooManyConnections,
            Cut::MinRate,
        ] {
            let n = cuts.get(&why).copied().unwrap_or(0);
            sample(
                out,
                "cloudvault_http_connections_cut_total",
                &[("reason", why.label())],
                n as f64,
            );
        }
        drop(cuts);
    }

    /// What is open now: transfers (and the ones refused), requests in flight, connections.
    fn render_concurrency(&self, out: &mut String, g: &Gauges) {
        family(
            out,
            "cloudvault_transfers",
            "gauge",
            "Download and upload bodies open now (capped by http.max_transfers).",
        );
        sample(out, "cloudvault_transfers", &[], g.transfers_active as f64);
        family(
            out,
            "cloudvault_transfers_refused_total",
            "counter",
            "Transfers answered 503 + Retry-After, by the cap that was full (server, user).",
        );
        for (limit, n) in [
            ("server", g.transfers_refused.0),
            ("user", g.transfers_refused.1),
        ] {
            sample(
                out,
                "cloudvault_transfers_refused_total",
                &[("limit", limit)],
                n as f64,
            );
        }
        family(
            out,
            "cloudvault_http_requests_in_flight",
            "gauge",
            "Requests being handled now.",
        );
        sample(
            out,
            "cloudvault_http_requests_in_flight",
            &[],
            self.in_flight.load(Ordering::Relaxed) as f64,
        );
        family(
            out,
            "cloudvault_http_connections",
            "gauge",
            "Open client connections.",
        );
        sample(
            out,
            "cloudvault_http_connections",
            &[],
            self.connections.load(Ordering::Relaxed) as f64,
        );
    }

    /// The job queue by kind and state, and each volume's state and space.
    fn render_jobs_and_volumes(out: &mut String, g: &Gauges) {
        family(
            out,
            "cloudvault_jobs",
            "gauge",
            "Background jobs by kind and state (queued and running are the queue depth).",
        );
        for (kind, state, n) in &g.jobs {
            sample(
                out,
                "cloudvault_jobs",
                &[("kind", kind), ("state", state)],
                *n as f64,
            );
        }
        for (name, help) in [
            (
                "cloudvault_volume_online",
                "1 when the volume's marker is in place.",
            ),
            (
                "cloudvault_volume_read_only",
                "1 when the volume is mounted read-only.",
            ),
            (
                "cloudvault_volume_free_bytes",
                "Bytes free on the volume (online volumes).",
            ),
            (
                "cloudvault_volume_size_bytes",
                "Size of the volume's filesystem (online volumes).",
            ),
            (
                "cloudvault_volume_low_space_bytes",
                "The volume's configured low-space threshold.",
            ),
        ] {
            family(out, name, "gauge", help);
            for v in &g.volumes {
                let value = match name {
                    "cloudvault_volume_online" => Some(v.online as u8 as f64),
                    "cloudvault_volume_read_only" => Some(v.read_only as u8 as f64),
                    "cloudvault_volume_free_bytes" => v.free_bytes.map(|b| b as f64),
                    "cloudvault_volume_size_bytes" => v.total_bytes.map(|b| b as f64),
                    _ => Some(v.low_space_bytes as f64),
                };
                if let Some(value) = value {
                    sample(out, name, &[("volume", &v.name)], value);
                }
            }
        }
    }

    /// Accounts, bytes stored and the process's own gauges.
    fn render_totals(out: &mut String, g: &Gauges) {
        for (name, help, value) in [
            ("cloudvault_users", "Accounts.", Some(g.users as f64)),
            (
                "cloudvault_used_bytes",
                "Bytes of all users' files (what quotas count).",
                Some(g.used_bytes as f64),
            ),
            (
                "cloudvault_largest_request_body_bytes",
                "The largest request body seen since start (Cloudflare refuses bodies over 100 MB).",
                Some(g.largest_request_body as f64),
            ),
            (
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                g.resident_bytes.map(|b| b as f64),
            ),
            (
                "process_open_fds",
                "Open file descriptors.",
                g.open_fds.map(|b| b as f64),
            ),
            (
                "cloudvault_uptime_seconds",
                "Seconds since the server started.",
                Some(g.uptime.as_secs_f64()),
            ),
        ] {
            family(out, name, "gauge", help);
            if let Some(v) = value {
                sample(out, name, &[], v);
            }
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {}", help.replace('\\', "\\\\"));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape_label(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", format_value(value));
}

fn histogram(out: &mut String, name: &str, help: &str, hs: &BTreeMap<&'static str, Histogram>) {
    family(out, name, "histogram", help);
    for (door, h) in hs {
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += h.buckets[i];
            sample(
                out,
                &format!("{name}_bucket"),
                &[("door", door), ("le", &format_value(*bound))],
                cumulative as f64,
            );
        }
        sample(
            out,
            &format!("{name}_bucket"),
            &[("door", door), ("le", "+Inf")],
            h.count as f64,
        );
        sample(out, &format!("{name}_sum"), &[("door", door)], h.sum);
        sample(
            out,
            &format!("{name}_count"),
            &[("door", door)],
            h.count as f64,
        );
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Integers without a fraction (exact up to 2^53), others as Rust prints them.
fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// This process's resident memory and open descriptors, from /proc.
pub fn process_stats() -> (Option<u64>, Option<u64>) {
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| {
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            pages * page.max(1) as u64
        });
    let fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    (rss, fds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let m = Metrics::default();
        m.observe_upload("api", Duration::from_millis(3));
        m.observe_upload("api", Duration::from_millis(700));
        m.observe_upload("api", Duration::from_secs(500));
        m.count_request("GET", "/a\"b\\c".into(), 200);
        let text = m.render(&Gauges::default());
        assert!(
            text.contains(
                "cloudvault_upload_duration_seconds_bucket{door=\"api\",le=\"0.005\"} 1\n"
            )
        );
        assert!(
            text.contains("cloudvault_upload_duration_seconds_bucket{door=\"api\",le=\"1\"} 2\n")
        );
        assert!(
            text.contains(
                "cloudvault_upload_duration_seconds_bucket{door=\"api\",le=\"+Inf\"} 3\n"
            )
        );
        assert!(text.contains("cloudvault_upload_duration_seconds_count{door=\"api\"} 3\n"));
        assert!(text.contains(
            "cloudvault_http_requests_total{method=\"GET\",route=\"/a\\\"b\\\\c\",status=\"200\"} 1\n"
        ));
    }
}
