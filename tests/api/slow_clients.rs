//! Clients that hold the server: slowloris (headers a byte at a time), silent connections,
//! oversized headers, stalled upload bodies, readers that stop reading, too many connections
//! from one address; and the graceful shutdown that finishes short uploads and aborts the rest
//! cleanly.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;
use cloudvault::config::Dur;
use cloudvault::ops::metrics::Cut;

fn secs(s: f64) -> Dur {
    Dur(Duration::from_secs_f64(s))
}

/// Waits until the server closes `s` (EOF, reset, or an answer followed by EOF): how long it took.
async fn closed_by_server(s: &mut TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), s.read(&mut buf)).await {
            Err(_) => panic!("the server kept the connection open for {limit:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => continue, // an error answer (408); EOF follows
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_clients_are_cut_off_while_others_are_served() {
    let app = spawn_app_with(|c, _| c.http.header_read_timeout = secs(1.0)).await;
    let host = app.host().to_string();
    const SLOW: usize = 40;
    let mut slow = Vec::new();
    for _ in 0..SLOW {
        let host = host.clone();
        slow.push(tokio::spawn(async move {
            let start = Instant::now();
            let mut s = TcpStream::connect(&host).await.unwrap();
            // A 300-byte header at 10 bytes per second would take 30 s.
            let req = format!(
                "GET /healthz HTTP/1.1\r\nHost: {host}\r\nX-Pad: {}\r\n\r\n",
                "a".repeat(260)
            );
            let (mut rd, mut wr) = s.split();
            let mut buf = [0u8; 1024];
            for b in req.as_bytes() {
                tokio::select! {
                    r = rd.read(&mut buf) => {
                        if matches!(r, Ok(0) | Err(_)) {
                            return start.elapsed();
                        }
                    }
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {
                        if wr.write_all(&[*b]).await.is_err() {
                            return start.elapsed();
                        }
                    }
                }
            }
            panic!("a slowloris header was read in full");
        }));
    }
    // A client that connects and says nothing is closed too.
    let mut silent = TcpStream::connect(&host).await.unwrap();

    // Meanwhile normal clients are served, fast.
    let started = Instant::now();
    let mut served = 0;
    while started.elapsed() < Duration::from_millis(1500) {
        let t = Instant::now();
        let r = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            t.elapsed() < Duration::from_millis(800),
            "{:?}",
            t.elapsed()
        );
        served += 1;
    }
    assert!(served >= 5, "only {served} normal requests in 1.5 s");

    for h in slow {
        let cut_after = h.await.unwrap();
        assert!(
            cut_after >= Duration::from_millis(900) && cut_after < Duration::from_secs(6),
            "slow client cut after {cut_after:?}"
        );
    }
    let idle = closed_by_server(&mut silent, Duration::from_secs(6)).await;
    assert!(idle < Duration::from_secs(6));
    assert!(
        app.app.ops.metrics.cuts(Cut::HeaderTimeout) > SLOW as u64,
        "{}",
        app.app.ops.metrics.cuts(Cut::HeaderTimeout)
    );
    // And the server still answers.
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_or_too_many_headers_get_431() {
    let app = spawn_app().await;
    let big = "a".repeat(100_000);
    let r = app
        .raw_request("GET", "/healthz", None, &[("X-Big", &big)], b"")
        .await;
    assert_eq!(r.status, 431);
    let many: Vec<(String, String)> = (0..150)
        .map(|i| (format!("X-H{i}"), "v".to_string()))
        .collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = app.raw_request("GET", "/healthz", None, &many, b"").await;
    assert_eq!(r.status, 431);
    // Within the limits: fine.
    let r = app
        .raw_request("GET", "/healthz", None, &[("X-Ok", &"b".repeat(8000))], b"")
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upload_body_is_cut_off_and_leaves_nothing() {
    let app = spawn_app_with(|c, _| c.http.body_idle_timeout = secs(1.0)).await;
    let u = app.register("staller").await;
    let mut s = TcpStream::connect(app.host()).await.unwrap();
    let head = format!(
        "PUT /dav/files/staller/stalled.bin HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Length: 1000000\r\n\r\n",
        app.host(),
        basic("staller")
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&bytes(20_000, 1)).await.unwrap();
    wait_until("the upload to start", Duration::from_secs(10), || {
        app.temp_files() == 1
    })
    .await;
    // Then nothing more: the server gives up after body_idle_timeout.
    let took = closed_by_server(&mut s, Duration::from_secs(15)).await;
    assert!(took < Duration::from_secs(12), "{took:?}");
    assert_eq!(app.app.ops.metrics.cuts(Cut::BodyTimeout), 1);
    app.assert_usage_consistent(&u).await;
    assert!(app.all_nodes(&u.token).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_cut_off() {
    let app = spawn_app_with(|c, _| c.http.send_timeout = secs(1.0)).await;
    let _u = app.register("reader").await;
    let body = bytes(48 << 20, 5);
    let r = app
        .dav("PUT", "/dav/files/reader/big.bin", "reader", PASSWORD)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    let mut s = TcpStream::connect(app.host()).await.unwrap();
    let req = format!(
        "GET /dav/files/reader/big.bin HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\r\n",
        app.host(),
        basic("reader")
    );
    s.write_all(req.as_bytes()).await.unwrap();
    // Read nothing: the socket buffers fill, the server's writes stall, it gives up.
    let metrics = app.app.ops.metrics.clone();
    wait_until(
        "the stalled download to be cut",
        Duration::from_secs(30),
        || metrics.cuts(Cut::SendTimeout) == 1,
    )
    .await;
    // What is left in the buffers, then the end: far less than the 48 MiB.
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got += n,
            Err(_) => panic!("connection still open after the send timeout"),
        }
    }
    assert!(got < 40 << 20, "read {got} bytes");
    // Others are served meanwhile and after.
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_address_are_limited() {
    let app = spawn_app_with(|c, _| {
        c.http.max_connections_per_address = 4;
        // Loopback is a trusted proxy by default (exempt): make it an ordinary client here.
        c.trusted_proxies.clear();
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(app.host()).await.unwrap());
    }
    // Accepted, then closed at once.
    let mut fifth = TcpStream::connect(app.host()).await.unwrap();
    let took = closed_by_server(&mut fifth, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(2));
    assert_eq!(app.app.ops.metrics.cuts(Cut::TooManyConnections), 1);
    drop(held.pop());
    // A slot is free again (the server notices the close as soon as it reads).
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match app.client.get(app.url("/healthz")).send().await {
            Ok(r) if r.status() == StatusCode::OK => break,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            other => panic!("not served after a slot was freed: {other:?}"),
        }
    }
}

/// Sends the head and the first `sent` bytes of a `total`-byte WebDAV PUT.
async fn start_put(host: &str, user: &str, path: &str, body: &[u8], sent: usize) -> TcpStream {
    let mut s = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {}\r\nContent-Length: {}\r\n\r\n",
        basic(user),
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body[..sent]).await.unwrap();
    s
}

async fn read_all(s: &mut TcpStream, limit: Duration) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_short_uploads_and_aborts_long_ones_cleanly() {
    let app = spawn_app_with(|c, _| c.http.shutdown_grace = secs(2.0)).await;
    let u = app.register("grace").await;
    let host = app.host().to_string();
    let quick = bytes(300_000, 1);
    let stuck = bytes(300_000, 2);
    let mut a = start_put(
        &host,
        "grace",
        "/dav/files/grace/quick.bin",
        &quick,
        100_000,
    )
    .await;
    let mut b = start_put(
        &host,
        "grace",
        "/dav/files/grace/stuck.bin",
        &stuck,
        100_000,
    )
    .await;
    wait_until("both uploads in flight", Duration::from_secs(10), || {
        app.temp_files() == 2
    })
    .await;
    let volume = app.volume_path();
    let db_path = app.config.db_path();
    let stopping = tokio::spawn(app.stop());

    // New connections are refused at once.
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(&host).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting after shutdown");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The upload that completes within the grace period is answered and committed.
    a.write_all(&quick[100_000..]).await.unwrap();
    let answer = read_all(&mut a, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer:?}");
    // The one that does not is aborted: no answer, the connection closes.
    let t = Instant::now();
    let answer = read_all(&mut b, Duration::from_secs(10)).await;
    assert_eq!(answer, "", "an aborted upload gets no answer");
    assert!(t.elapsed() < Duration::from_secs(8));

    let (dir, config) = stopping.await.unwrap();
    // Released before the process ends, not at the next start.
    assert_eq!(
        std::fs::read_dir(volume.join(".cloudvault-tmp"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "temp file of the aborted upload"
    );
    let reserved: i64 = rusqlite::Connection::open(&db_path)
        .unwrap()
        .query_row(
            "SELECT reserved_bytes FROM users WHERE username = 'grace'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reserved, 0);

    let app = start(dir, config).await;
    let u = TestUser {
        token: app.login("grace", PASSWORD).await.token,
        ..u
    };
    let names: Vec<String> = app
        .all_nodes(&u.token)
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(names, ["/quick.bin"]);
    let r = app
        .dav("GET", "/dav/files/grace/quick.bin", "grace", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().to_vec(), quick);
    app.assert_usage_consistent(&u).await;
}
