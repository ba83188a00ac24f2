//! Slow transfers cannot stall or exhaust the server: caps on concurrent transfers (503 +
//! Retry-After beyond them, slots given back when a body ends or its connection drops), the
//! minimum-rate rule, the per-address limit applied to the client a trusted proxy names, and
//! the real binary under 1,000 trickling downloads and 200 trickling uploads while logins,
//! listings and health checks must stay fast.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::crash::{cli, start_server};
use crate::helpers::*;
use cloudvault::config::{ByteSize, Dur};
use cloudvault::ops::metrics::Cut;

const BIG: usize = 16 << 20;

/// A connection whose receive buffer is small, so a reader that stops reading stalls the
/// server's writes soon (as a slow client's does).
async fn connect_small(host: &str) -> TcpStream {
    let addr: std::net::SocketAddr = host.parse().unwrap();
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(8 << 10).unwrap();
    sock.connect(addr).await.unwrap()
}

/// Reads up to the end of the answer's header: (status, lower-cased header block, body bytes
/// read past it). None when the connection closed first.
async fn read_head(s: &mut TcpStream, limit: Duration) -> Option<(u16, String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status = head.split_whitespace().nth(1)?.parse().ok()?;
            return Some((status, head, buf[end + 4..].to_vec()));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut chunk)).await {
            Err(_) => panic!("no answer within {limit:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return None,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn get_head(host: &str, path: &str, auth: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n{extra}\r\n")
}

/// A GET whose answer is left unread after its header: the transfer stays open.
async fn open_download(
    host: &str,
    path: &str,
    auth: &str,
    extra: &str,
) -> (TcpStream, u16, String) {
    let mut s = connect_small(host).await;
    s.write_all(get_head(host, path, auth, extra).as_bytes())
        .await
        .unwrap();
    let (status, head, _) = read_head(&mut s, Duration::from_secs(10))
        .await
        .expect("an answer");
    (s, status, head)
}

/// Waits until the server closes `s`; how long that took.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), s.read(&mut buf)).await {
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => {
                // Read slowly: 1 KiB at a time with a pause, like the trickling client.
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_caps_answer_503_with_retry_after_and_give_slots_back() {
    let app = spawn_app_with(|c, _| {
        c.http.max_transfers = 3;
        c.http.max_transfers_per_user = 2;
    })
    .await;
    let host = app.host().to_string();
    let a = app.register("capa").await;
    let b = app.register("capb").await;
    let fa = app.upload_one(&a.token, "", "a.bin", bytes(BIG, 1)).await;
    let fb = app.upload_one(&b.token, "", "b.bin", bytes(BIG, 2)).await;
    let path = |f: &Value| format!("/api/files/{}/download", f["id"].as_str().unwrap());

    let (a1, s, _) = open_download(&host, &path(&fa), &bearer(&a.token), "").await;
    assert_eq!(s, 200);
    let (_a2, s, _) = open_download(&host, &path(&fa), &bearer(&a.token), "").await;
    assert_eq!(s, 200);
    // A third of the same user: the per-user cap.
    let r = app.get(&path(&fa), &a.token).await;
    assert!(r.headers().contains_key("retry-after"), "{:?}", r.headers());
    assert_error(r, StatusCode::SERVICE_UNAVAILABLE, "too-busy").await;
    // HEAD reads no body: not a transfer.
    let r = app
        .client
        .head(app.url(&path(&fa)))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Another user fills the server-wide cap...
    let (_b1, s, _) = open_download(&host, &path(&fb), &bearer(&b.token), "").await;
    assert_eq!(s, 200);
    let r = app.get(&path(&fb), &b.token).await;
    assert!(r.headers().contains_key("retry-after"));
    assert_error(r, StatusCode::SERVICE_UNAVAILABLE, "too-busy").await;
    // ... which refuses uploads too, before their body is read; WebDAV answers plain 503.
    let r = app
        .dav("PUT", "/dav/files/capb/new.bin", "capb", PASSWORD)
        .body(bytes(100_000, 3))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers().contains_key("retry-after"));
    assert!(!r.text().await.unwrap().contains("\"code\""));
    let r = app
        .upload(&b.token, "", &[("refused.bin", bytes(1000, 4))])
        .await;
    assert!(r.headers().contains_key("retry-after"));
    assert_error(r, StatusCode::SERVICE_UNAVAILABLE, "too-busy").await;
    let m = app.app.ops.transfers.refused();
    assert!(m.0 >= 3 && m.1 >= 1, "{m:?}");

    // A dropped connection gives its slot back: b can download again, in full.
    drop(a1);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = app.get(&path(&fb), &b.token).await;
        if r.status() == StatusCode::OK {
            assert_eq!(r.bytes().await.unwrap().len(), BIG);
            break;
        }
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            Instant::now() < deadline,
            "the dropped download kept its slot"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A finished body gave its slot back too (2 held: a2 and b1).
    wait_until(
        "finished transfers to give slots back",
        Duration::from_secs(5),
        || app.app.ops.transfers.active() == 2,
    )
    .await;
    assert!(
        app.all_nodes(&b.token).await.len() == 1,
        "nothing refused was stored"
    );
    app.assert_usage_consistent(&b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_below_the_minimum_rate_are_cut() {
    let app = spawn_app_with(|c, _| {
        c.http.min_transfer_rate = ByteSize(256 << 10);
        c.http.min_rate_window = Dur(Duration::from_secs(1));
        c.http.min_rate_grace = Dur(Duration::from_secs(1));
    })
    .await;
    let host = app.host().to_string();
    let u = app.register("trickle").await;
    let f = app.upload_one(&u.token, "", "big.bin", bytes(BIG, 5)).await;
    let path = format!("/api/files/{}/download", f["id"].as_str().unwrap());

    // A fast client is not cut.
    let r = app.get(&path, &u.token).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().len(), BIG);
    assert_eq!(app.app.ops.metrics.cuts(Cut::MinRate), 0);

    // A reader taking ~10 KiB/s is cut soon after grace + window, long before the end (what
    // the kernel had already buffered still reaches it, so the server's side is what counts).
    let (mut s, status, _) = open_download(&host, &path, &bearer(&u.token), "").await;
    assert_eq!(status, 200);
    let reader =
        tokio::spawn(async move { closed_within(&mut s, Duration::from_secs(3600)).await });
    let t = Instant::now();
    wait_until("the slow reader to be cut", Duration::from_secs(15), || {
        app.app.ops.metrics.cuts(Cut::MinRate) == 1
    })
    .await;
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "cut inside the grace period"
    );
    wait_until("its slot to be given back", Duration::from_secs(5), || {
        app.app.ops.transfers.active() == 0
    })
    .await;
    reader.abort();

    // A writer sending 10 KiB/s is cut too, and leaves nothing behind.
    let mut s = TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "PUT /dav/files/trickle/slow.bin HTTP/1.1\r\nHost: {host}\r\nAuthorization: {}\r\nContent-Length: {BIG}\r\n\r\n",
        basic("trickle")
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "a trickling upload was never cut"
        );
        tokio::select! {
            r = s.read(&mut buf) => if matches!(r, Ok(_) | Err(_)) { break },
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                if s.write_all(&[7u8; 1024]).await.is_err() { break }
            }
        }
    }
    wait_until("the cut to be counted", Duration::from_secs(5), || {
        app.app.ops.metrics.cuts(Cut::MinRate) == 2
    })
    .await;
    wait_until("the temp file to go", Duration::from_secs(5), || {
        app.temp_files() == 0
    })
    .await;
    assert_eq!(app.all_nodes(&u.token).await.len(), 1);
    app.assert_usage_consistent(&u).await;
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("cloudvault_http_connections_cut_total{reason=\"below-min-rate\"} 2"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_address_limit_applies_to_the_client_the_proxy_names() {
    let app = spawn_app_with(|c, _| c.http.max_connections_per_address = 2).await;
    let host = app.host().to_string();
    let u = app.register("proxied").await;
    let f = app.upload_one(&u.token, "", "big.bin", bytes(BIG, 6)).await;
    let path = format!("/api/files/{}/download", f["id"].as_str().unwrap());
    let from = |ip: &str| format!("X-Forwarded-For: 10.9.9.9, {ip}\r\n");

    // 127.0.0.1 is a trusted proxy: its own connections are not counted, its clients are.
    let (c1, s, _) = open_download(&host, &path, &bearer(&u.token), &from("198.51.100.7")).await;
    assert_eq!(s, 200);
    let (_c2, s, _) = open_download(&host, &path, &bearer(&u.token), &from("198.51.100.7")).await;
    assert_eq!(s, 200);
    let (_c3, s, head) =
        open_download(&host, &path, &bearer(&u.token), &from("198.51.100.7")).await;
    assert_eq!(s, 503, "{head}");
    assert!(
        head.contains("retry-after:") && head.contains("application/json"),
        "{head}"
    );
    // Cloudflare's header names the client too.
    let (_c4, s, _) = open_download(
        &host,
        &path,
        &bearer(&u.token),
        "CF-Connecting-IP: 198.51.100.7\r\n",
    )
    .await;
    assert_eq!(s, 503);
    // Another client behind the same proxy is served.
    let (_c5, s, _) = open_download(&host, &path, &bearer(&u.token), &from("198.51.100.8")).await;
    assert_eq!(s, 200);
    assert!(app.app.ops.metrics.cuts(Cut::TooManyConnections) >= 2);
    // A closed connection gives the client's slot back.
    drop(c1);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = app
            .client
            .get(app.url("/healthz"))
            .header("x-forwarded-for", "198.51.100.7")
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::OK {
            break;
        }
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            Instant::now() < deadline,
            "the closed request kept its slot"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---- The real binary under a crowd of trickling transfers ----

const USERS: usize = 12;
const DOWNLOADS: usize = 1000;
const UPLOADS: usize = 200;
const HOLD: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Answered 503 with Retry-After (the cap working).
    Refused,
    /// Admitted, and held until the end of the round.
    Held,
    /// Admitted, then cut by the server (minimum rate).
    Cut,
}

/// (VmRSS bytes, threads) of a process.
fn proc_stats(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:") * 1024, field("Threads:"))
}

fn raise_fd_limit() {
    // SAFETY: plain libc calls on a stack value.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

/// One trickling download: `rate` bytes per second read, for `hold`.
async fn trickle_download(host: String, head: String, rate: usize, hold: Duration) -> Outcome {
    let mut s = connect_small(&host).await;
    s.write_all(head.as_bytes()).await.unwrap();
    let Some((status, h, _)) = read_head(&mut s, Duration::from_secs(20)).await else {
        panic!("a download was closed before any answer");
    };
    if status == 503 {
        assert!(h.contains("retry-after:"), "{h}");
        return Outcome::Refused;
    }
    assert_eq!(status, 200, "{h}");
    let end = Instant::now() + hold;
    let step = rate / 4;
    let mut buf = vec![0u8; step];
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let mut got = 0;
        while got < step {
            match tokio::time::timeout_at(end.into(), s.read(&mut buf[got..])).await {
                Err(_) => return Outcome::Held,
                Ok(Ok(0)) | Ok(Err(_)) => return Outcome::Cut,
                Ok(Ok(n)) => got += n,
            }
        }
    }
    Outcome::Held
}

/// One trickling upload: the header, then `rate` bytes per second, for `hold`. A refusal comes
/// at once (503 + Retry-After); an answer after that is the server cutting the upload.
async fn trickle_upload(host: String, head: String, rate: usize, hold: Duration) -> Outcome {
    let mut s = TcpStream::connect(&host).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    let (mut rd, mut wr) = s.into_split();
    let begun = Instant::now();
    let end = begun + hold;
    let chunk = vec![b'u'; rate / 4];
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        tokio::select! {
            r = rd.read(&mut buf) => match r {
                Ok(n) if n > 0 => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
                        if text.starts_with("http/1.1 503") {
                            assert!(text.contains("retry-after:"), "{text}");
                            return Outcome::Refused;
                        }
                        // Any other answer comes only once the server gives up on the body.
                        assert!(begun.elapsed() > Duration::from_secs(5), "{text}");
                        return Outcome::Cut;
                    }
                }
                _ => {
                    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
                    assert!(begun.elapsed() > Duration::from_secs(5), "an upload closed unanswered");
                    return Outcome::Cut;
                }
            },
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                if Instant::now() >= end {
                    return Outcome::Held;
                }
                match tokio::time::timeout_at(end.into(), wr.write_all(&chunk)).await {
                    Err(_) => return Outcome::Held,
                    Ok(Err(_)) => return Outcome::Cut,
                    Ok(Ok(())) => {}
                }
            }
        }
    }
}

/// Nearest-rank percentile of `v` (sorted here).
fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    if v.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[i.clamp(1, v.len()) - 1]
}

/// `count` trickling transfers (one in six an upload), half through the API and half WebDAV,
/// spread over `users` (name, token, file id), each client with its own X-Forwarded-For.
fn spawn_crowd(
    host: &str,
    users: &[(String, String, String)],
    rate: usize,
    hold: Duration,
    count: usize,
) -> Vec<tokio::task::JoinHandle<(bool, Outcome)>> {
    let mut tasks = Vec::new();
    for i in 0..count {
        let (name, token, id) = &users[i % USERS];
        // Every client behind the proxy has its own address (as behind Caddy).
        let xff = format!(
            "X-Forwarded-For: 10.{}.{}.{}\r\n",
            i / 65536,
            (i / 256) % 256,
            i % 256
        );
        // One in six is an upload, spread through the crowd.
        let upload = i % 6 == 5;
        let head = match (upload, i % 2 == 0) {
            (false, true) => get_head(
                host,
                &format!("/api/files/{id}/download"),
                &bearer(token),
                &xff,
            ),
            (false, false) => get_head(
                host,
                &format!("/dav/files/{name}/big.bin"),
                &basic(name),
                &xff,
            ),
            (true, true) => format!(
                "PUT /dav/files/{name}/up{i}.bin HTTP/1.1\r\nHost: {host}\r\nAuthorization: {}\r\nContent-Length: {BIG}\r\n{xff}\r\n",
                basic(name)
            ),
            (true, false) => format!(
                "POST /api/files/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: {}\r\n{xff}\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"up{i}.bin\"\r\n\r\n",
                BIG + 200
            ),
        };
        let host = host.to_string();
        // The crowd arrives within 3 s (a thousand clients do not connect in the same
        // millisecond), and the probes start with it.
        let arrive = Duration::from_micros(2500 * i as u64);
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(arrive).await;
            let o = if upload {
                trickle_upload(host, head, rate, hold).await
            } else {
                trickle_download(host, head, rate, hold).await
            };
            (upload, o)
        }));
    }
    tasks
}

/// Login, listing and health check every 2 s for `HOLD`, timed; the server's peak RSS and
/// thread count sampled on the way.
async fn probe_loop(
    base: String,
    token: String,
    pid: u32,
) -> (Vec<(&'static str, Duration)>, u64, u64) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut probes = Vec::new();
    let (mut peak_rss, mut peak_threads) = (0u64, 0u64);
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < HOLD {
        n += 1;
        let addr = format!("192.0.2.{}", 10 + n % 200);
        let timed = |what: &'static str, req: reqwest::RequestBuilder| async move {
            let t = Instant::now();
            let r = req.send().await;
            let took = t.elapsed();
            let r = r.unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(r.status().is_success(), "{what}: {}", r.status());
            let _ = r.bytes().await;
            (what, took)
        };
        let (a, b, c) = tokio::join!(
            timed(
                "login",
                client
                    .post(format!("{base}/api/auth/login"))
                    .header("x-forwarded-for", &addr)
                    .json(&json!({"username": "prober", "password": PASSWORD}))
            ),
            timed(
                "listing",
                client
                    .get(format!("{base}/api/files"))
                    .header("x-forwarded-for", &addr)
                    .bearer_auth(&token)
            ),
            timed(
                "healthz",
                client
                    .get(format!("{base}/healthz"))
                    .header("x-forwarded-for", &addr)
            ),
        );
        for (what, took) in [a, b, c] {
            if took > Duration::from_millis(500) {
                println!("  slow {what} at {:?}: {took:?}", start.elapsed());
            }
            probes.push((what, took));
        }
        let (rss, threads) = proc_stats(pid);
        peak_rss = peak_rss.max(rss);
        peak_threads = peak_threads.max(threads);
        let next = start + Duration::from_secs(2 * n as u64);
        tokio::time::sleep_until(next.into()).await;
    }
    (probes, peak_rss, peak_threads)
}

struct Round {
    outcomes: Vec<(bool, Outcome)>,
    probes: Vec<(&'static str, Duration)>,
    peak_rss: u64,
    peak_threads: u64,
}

// It times the server's answers on 2 cores: run alone, after the rest (scripts/test.sh runs it
// with `--ignored`), so that the other tests' servers do not share the machine with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timed under load: scripts/test.sh runs it alone after the other tests"]
async fn trickling_transfers_cannot_stall_the_real_server() {
    raise_fd_limit();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let names: Vec<String> = (0..USERS).map(|i| format!("trickler{i:02}")).collect();
    for n in names.iter().map(String::as_str).chain(["prober"]) {
        let out = cli(&data)
            .args(["admin", "create-user", n, "--password", PASSWORD])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let server = start_server(&data);
    let pid = server.child.id();
    let base = server.base.clone();
    let host = base.trim_start_matches("http://").to_string();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let login = |name: String| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let r = client
                .post(format!("{base}/api/auth/login"))
                .header("x-forwarded-for", "192.0.2.1")
                .json(&json!({"username": name, "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            let v: Value = r.json().await.unwrap();
            v["access_token"].as_str().unwrap().to_string()
        }
    };
    // Each user: a token, a file big enough to outlast a round at 64 KiB/s, WebDAV credentials
    // in the server's auth cache (one PROPFIND).
    let mut users = Vec::new();
    for n in &names {
        let token = login(n.clone()).await;
        let r = client
            .put(format!("{base}/dav/files/{n}/big.bin"))
            .header("authorization", basic(n))
            .body(bytes(BIG, 7))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        let listing: Value = client
            .get(format!("{base}/api/files"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = listing["items"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{listing}"))
            .to_string();
        users.push((n.clone(), token, id));
    }
    let prober_token = login("prober".into()).await;
    let (cold_rss, _) = proc_stats(pid);
    // Idle is a warmed-up server at rest: the same crowd for 3 seconds first, then the drain.
    // It grows the SQLite pool (the server closes the extra connections 11 s after a drain),
    // starts as many blocking threads (glibc keeps the stacks of ended threads for reuse) and
    // touches the code paths once: what the long holds leave behind is measured.
    for t in spawn_crowd(
        &host,
        &users,
        64 << 10,
        Duration::from_secs(3),
        DOWNLOADS + UPLOADS,
    ) {
        t.await.unwrap();
    }
    // Idle blocking threads end after 10 s, the extra connections close after 11 s, and the
    // allocator hands their memory back about a second later. Idle is the lowest RSS of the
    // seconds after that (the stricter baseline for "back near idle").
    tokio::time::sleep(Duration::from_secs(13)).await;
    let (mut idle_rss, mut idle_threads) = proc_stats(pid);
    let settled = Instant::now() + Duration::from_secs(4);
    while Instant::now() < settled {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (rss, threads) = proc_stats(pid);
        if rss < idle_rss {
            (idle_rss, idle_threads) = (rss, threads);
        }
    }

    let mut rounds = Vec::new();
    for rate in [1usize << 10, 64 << 10] {
        let tasks = spawn_crowd(&host, &users, rate, HOLD, DOWNLOADS + UPLOADS);
        // Probes every 2 s while the transfers are held; server memory and threads sampled. They
        // run on a thread and runtime of their own, so the crowd's tasks in this process cannot
        // delay them: what they time is the server.
        let (base2, token2) = (base.clone(), prober_token.clone());
        let (probes, peak_rss, peak_threads) = tokio::task::spawn_blocking(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(probe_loop(base2, token2, pid))
        })
        .await
        .unwrap();
        assert_eq!(tasks.len(), DOWNLOADS + UPLOADS);
        let mut outcomes = Vec::new();
        for t in tasks {
            outcomes.push(t.await.unwrap());
        }
        rounds.push((
            rate,
            Round {
                outcomes,
                probes,
                peak_rss,
                peak_threads,
            },
        ));
    }

    // Every client is gone: memory goes back within 20 % of idle (polled with a deadline).
    const AFTER_BOUND: f64 = 1.2;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut after = proc_stats(pid);
    while after.0 as f64 > idle_rss as f64 * AFTER_BOUND && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = proc_stats(pid);
    }

    let mb = |b: u64| b as f64 / (1 << 20) as f64;
    println!(
        "idle: {:.1} MiB RSS after set-up, {:.1} MiB after the warm-up crowd, {idle_threads} threads",
        mb(cold_rss),
        mb(idle_rss)
    );
    // Every figure first, then the verdicts (a failing run still shows what it measured).
    let mut misses = Vec::new();
    for (rate, r) in &mut rounds {
        let kib = *rate >> 10;
        let count = |up: bool, o: Outcome| r.outcomes.iter().filter(|x| **x == (up, o)).count();
        println!(
            "round at {kib} KiB/s: downloads held/cut/refused {}/{}/{}, uploads held/cut/refused {}/{}/{}; peak {:.1} MiB RSS, {} threads",
            count(false, Outcome::Held),
            count(false, Outcome::Cut),
            count(false, Outcome::Refused),
            count(true, Outcome::Held),
            count(true, Outcome::Cut),
            count(true, Outcome::Refused),
            mb(r.peak_rss),
            r.peak_threads
        );
        for what in ["login", "listing", "healthz"] {
            let mut v: Vec<Duration> = r
                .probes
                .iter()
                .filter(|p| p.0 == what)
                .map(|p| p.1)
                .collect();
            let (p50, p99) = (percentile(&mut v, 50.0), percentile(&mut v, 99.0));
            println!("  {what}: {} probes, p50 {p50:?}, p99 {p99:?}", v.len());
            if v.len() < 20 {
                misses.push(format!("{what}: only {} probes at {kib} KiB/s", v.len()));
            }
            if p99 >= Duration::from_secs(1) {
                misses.push(format!("{what} p99 {p99:?} at {kib} KiB/s"));
            }
        }
        if r.peak_rss >= 300 << 20 {
            misses.push(format!("peak RSS {:.1} MiB at {kib} KiB/s", mb(r.peak_rss)));
        }
        // The caps admitted transfers: the crowd was really served, not all refused.
        let admitted = r
            .outcomes
            .iter()
            .filter(|x| x.1 != Outcome::Refused)
            .count();
        if admitted < 200 {
            misses.push(format!("only {admitted} transfers admitted at {kib} KiB/s"));
        }
    }
    println!("after: {:.1} MiB RSS, {} threads", mb(after.0), after.1);
    println!(
        "after vs idle: {:+.0} %",
        (after.0 as f64 / idle_rss as f64 - 1.0) * 100.0
    );
    if after.0 as f64 > idle_rss as f64 * AFTER_BOUND {
        misses.push(format!(
            "RSS {:.1} MiB after the rounds, {:.1} MiB idle",
            mb(after.0),
            mb(idle_rss)
        ));
    }
    assert!(misses.is_empty(), "{misses:#?}");
    drop(server);
}
