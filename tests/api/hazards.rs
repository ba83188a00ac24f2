//! Upload hazards of issue 14: a chunked assembly whose client goes away, `Overwrite: F` under a
//! race, a body cut short at every upload door, volume health off the runtime.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use base64::Engine;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

const MIB: usize = 1 << 20;

/// MKCOL an upload and PUT its parts (named 1, 2, ...).
async fn chunked_upload(app: &TestApp, user: &str, upload: &str, parts: &[Vec<u8>]) {
    let dir = format!("/dav/uploads/{user}/{upload}");
    let r = app.dav("MKCOL", &dir, user, PASSWORD).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "MKCOL {dir}");
    for (i, p) in parts.iter().enumerate() {
        let r = app
            .dav("PUT", &format!("{dir}/{}", i + 1), user, PASSWORD)
            .body(p.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "chunk {}", i + 1);
    }
}

fn move_request(
    app: &TestApp,
    user: &str,
    upload: &str,
    dest: &str,
    overwrite: bool,
) -> reqwest::RequestBuilder {
    app.dav(
        "MOVE",
        &format!("/dav/uploads/{user}/{upload}/.file"),
        user,
        PASSWORD,
    )
    .header("Destination", app.url(&format!("/dav/files/{user}/{dest}")))
    .header("Overwrite", if overwrite { "T" } else { "F" })
}

fn temp_file_names(app: &TestApp) -> Vec<String> {
    std::fs::read_dir(app.volume_path().join(".cloudvault-tmp"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_gone_during_the_assembly_leaves_no_423_and_no_in_flight_request() {
    let app = spawn_app().await;
    let u = app.register("assembler").await;
    let parts: Vec<Vec<u8>> = (0..4).map(|i| bytes(16 * MIB, i as u8)).collect();
    chunked_upload(&app, "assembler", "big", &parts).await;
    let whole: Vec<u8> = parts.concat();

    // The final MOVE, by hand, and the connection dropped while the parts are being assembled
    // (its temp file exists on the volume).
    let mut s = tokio::net::TcpStream::connect(app.host()).await.unwrap();
    let head = format!(
        "MOVE /dav/uploads/assembler/big/.file HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
         Destination: {}\r\nOC-Total-Length: {}\r\nContent-Length: 0\r\n\r\n",
        app.host(),
        basic("assembler"),
        app.url("/dav/files/assembler/big.bin"),
        whole.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while temp_file_names(&app).is_empty() {
        assert!(Instant::now() < deadline, "the assembly never started");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(s);
    let dropped_at = Instant::now();

    // The same upload can be finished: no 423 once the dropped request is gone.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        let r = move_request(&app, "assembler", "big", "big.bin", true)
            .header("OC-Total-Length", whole.len().to_string())
            .send()
            .await
            .unwrap();
        if r.status() != StatusCode::LOCKED {
            eprintln!(
                "MOVE again {:?} after the drop: {}",
                dropped_at.elapsed(),
                r.status()
            );
            break r.status();
        }
        assert!(
            Instant::now() < deadline,
            "the upload still answers 423 Locked 10 s after its client went away"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // 201: the dropped assembly was given up and this one made the file. (404 only if the client
    // went away after the commit had begun, which then finished on its own.)
    assert!(
        status == StatusCode::CREATED || status == StatusCode::NOT_FOUND,
        "{status}"
    );
    let listed = app.get_json("/api/files/", &u.token).await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(
        app.download(&u.token, items[0]["id"].as_str().unwrap())
            .await,
        whole
    );

    // The gauge of requests in flight is back to zero (it counted the dropped MOVE for good).
    let metrics = app.app.ops.metrics.clone();
    wait_until("in_flight back to 0", Duration::from_secs(5), || {
        metrics.in_flight.load(Ordering::Relaxed) == 0
    })
    .await;
    // The given-up assembly's temp file is gone; usage is exactly the one file.
    let used = app.assert_usage_consistent(&u).await;
    assert_eq!(used, whole.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_f_holds_when_many_final_moves_race_to_one_name() {
    let app = spawn_app().await;
    let u = app.register("racer").await;
    const N: usize = 8;
    let mut wholes = Vec::new();
    for i in 0..N {
        let parts = vec![bytes(2 * MIB, i as u8), bytes(MIB + i, 100 + i as u8)];
        chunked_upload(&app, "racer", &format!("up{i}"), &parts).await;
        wholes.push(parts.concat());
    }
    let moves = (0..N).map(|i| {
        move_request(&app, "racer", &format!("up{i}"), "dest.bin", false)
            .header("OC-Total-Length", wholes[i].len().to_string())
            .send()
    });
    let answers: Vec<StatusCode> = futures_util::future::join_all(moves)
        .await
        .into_iter()
        .map(|r| r.unwrap().status())
        .collect();
    let won: Vec<usize> = (0..N)
        .filter(|i| answers[*i] == StatusCode::CREATED)
        .collect();
    assert_eq!(won.len(), 1, "exactly one MOVE wins: {answers:?}");
    assert!(
        answers
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::PRECONDITION_FAILED),
        "the others are 412: {answers:?}"
    );
    let listed = app.get_json("/api/files/", &u.token).await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(
        app.download(&u.token, items[0]["id"].as_str().unwrap())
            .await,
        wholes[won[0]],
        "the file is the winner's, whole"
    );
    // A later MOVE with Overwrite: F is refused too; the losers' uploads are intact and go.
    let r = move_request(&app, "racer", "up0", "dest.bin", false)
        .send()
        .await
        .unwrap();
    let expect = if won[0] == 0 {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::PRECONDITION_FAILED
    };
    assert_eq!(r.status(), expect);
    for i in (0..N).filter(|i| *i != won[0]) {
        let r = app
            .dav(
                "DELETE",
                &format!("/dav/uploads/racer/up{i}"),
                "racer",
                PASSWORD,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let used = app.assert_usage_consistent(&u).await;
    assert_eq!(used, wholes[won[0]].len() as i64, "used_bytes exact");
}

/// Final MOVEs with `Overwrite: F` and streamed PUTs with `If-None-Match: *` (the PUT's way to
/// say "do not overwrite") racing for one free name: one wins, every other answers 412.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_and_puts_that_must_not_overwrite_race_to_one_name() {
    let app = spawn_app().await;
    let u = app.register("mixed").await;
    const N: usize = 4;
    let mut wholes = Vec::new();
    for i in 0..N {
        let parts = vec![bytes(2 * MIB, i as u8), bytes(MIB, 50 + i as u8)];
        chunked_upload(&app, "mixed", &format!("up{i}"), &parts).await;
        wholes.push(parts.concat());
    }
    for i in 0..N {
        wholes.push(bytes(3 * MIB, 200 + i as u8));
    }
    let moves = (0..N).map(|i| {
        move_request(&app, "mixed", &format!("up{i}"), "same.bin", false)
            .header("OC-Total-Length", wholes[i].len().to_string())
            .send()
    });
    let puts = (N..2 * N).map(|i| {
        app.dav("PUT", "/dav/files/mixed/same.bin", "mixed", PASSWORD)
            .header("If-None-Match", "*")
            .body(wholes[i].clone())
            .send()
    });
    let (moved, put) = tokio::join!(
        futures_util::future::join_all(moves),
        futures_util::future::join_all(puts)
    );
    let answers: Vec<StatusCode> = moved
        .into_iter()
        .chain(put)
        .map(|r| r.unwrap().status())
        .collect();
    let won: Vec<usize> = (0..2 * N)
        .filter(|i| answers[*i] == StatusCode::CREATED)
        .collect();
    assert_eq!(won.len(), 1, "exactly one wins: {answers:?}");
    assert!(
        answers
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::PRECONDITION_FAILED),
        "the others are 412: {answers:?}"
    );
    let listed = app.get_json("/api/files/", &u.token).await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(
        app.download(&u.token, items[0]["id"].as_str().unwrap())
            .await,
        wholes[won[0]],
        "the file is the winner's, whole"
    );
    for i in (0..N).filter(|i| *i != won[0]) {
        let r = app
            .dav(
                "DELETE",
                &format!("/dav/uploads/mixed/up{i}"),
                "mixed",
                PASSWORD,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    let used = app.assert_usage_consistent(&u).await;
    assert_eq!(used, wholes[won[0]].len() as i64, "used_bytes exact");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_move_outside_a_drive_is_403_not_502() {
    let app = spawn_app().await;
    let u = app.register("elsewhere").await;
    chunked_upload(&app, "elsewhere", "up", &[bytes(1000, 1)]).await;
    for dest in [
        "/dav/uploads/elsewhere/other/x.bin",
        "/api/files/x.bin",
        "/dav/files/elsewhere",
    ] {
        let r = app
            .dav(
                "MOVE",
                "/dav/uploads/elsewhere/up/.file",
                "elsewhere",
                PASSWORD,
            )
            .header("Destination", app.url(dest))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{dest}");
    }
    assert_eq!(app.get_json("/api/files/", &u.token).await["total"], 0);
}

/// Sends `head` (which announces more body than it carries) and `body`, half-closes, and returns
/// the status of the answer, if one came before the connection closed.
async fn send_cut(app: &TestApp, head: &str, body: &[u8]) -> Option<u16> {
    send_and_read(app, head, body, true).await
}

/// Sends `head` and `body`, half-closing after them if asked, and returns the answer's status.
async fn send_and_read(app: &TestApp, head: &str, body: &[u8], half_close: bool) -> Option<u16> {
    let mut s = tokio::net::TcpStream::connect(app.host()).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    if half_close {
        s.shutdown().await.unwrap();
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out))
        .await
        .expect("an answer, or the connection closed, within 30 s");
    let text = String::from_utf8_lossy(&out);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|t| t.get(..3))
        .and_then(|c| c.parse().ok())
}

fn head_for(app: &TestApp, request_line: &str, auth: &str, headers: &[(&str, String)]) -> String {
    let mut h = format!(
        "{request_line} HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\n",
        app.host()
    );
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h
}

/// Nothing of a cut-off body stays: no row, no body, no temp file, no reservation.
async fn assert_nothing_kept(app: &TestApp, u: &TestUser) {
    assert_eq!(app.assert_usage_consistent(u).await, 0, "used_bytes exact");
    assert!(
        app.bodies_on_disk().is_empty(),
        "{:?}",
        app.bodies_on_disk()
    );
    assert_eq!(
        app.get_json("/api/files/", &u.token).await["total"],
        0,
        "no file row"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_short_is_a_400_at_every_upload_door() {
    let app = spawn_app().await;
    let u = app.register("cutter").await;
    let auth = basic("cutter");
    let bearer = format!("Bearer {}", u.token);
    let part = bytes(MIB, 7);

    // WebDAV PUT, small (one-hop) path: taken once the credentials are in the auth cache.
    let r = app
        .dav("PROPFIND", "/dav/files/cutter/", "cutter", PASSWORD)
        .header("Depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let head = head_for(
        &app,
        "PUT /dav/files/cutter/small.bin",
        &auth,
        &[("Content-Length", "1000".into())],
    );
    assert_eq!(
        send_cut(&app, &head, &part[..500]).await,
        Some(400),
        "small PUT"
    );

    // A chunk of a chunked upload.
    let r = app
        .dav("MKCOL", "/dav/uploads/cutter/up", "cutter", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let head = head_for(
        &app,
        "PUT /dav/uploads/cutter/up/1",
        &auth,
        &[("Content-Length", (3 * MIB).to_string())],
    );
    assert_eq!(send_cut(&app, &head, &part).await, Some(400), "chunk PUT");
    let r = app
        .dav("PROPFIND", "/dav/uploads/cutter/up", "cutter", PASSWORD)
        .header("Depth", "1")
        .send()
        .await
        .unwrap();
    let listing = r.text().await.unwrap();
    assert!(!listing.contains("/up/1<"), "no part kept: {listing}");
    let r = app
        .dav("DELETE", "/dav/uploads/cutter/up", "cutter", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // A multipart API upload.
    let boundary = "cutboundary42";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"api.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&part);
    let head = head_for(
        &app,
        "POST /api/files/upload",
        &bearer,
        &[
            ("Content-Length", (3 * MIB).to_string()),
            (
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            ),
        ],
    );
    assert_eq!(send_cut(&app, &head, &body).await, Some(400), "API upload");

    // tus PATCH: 400 too; the bytes that did arrive are kept, as the protocol wants (the client
    // resumes from the offset HEAD reports), and the upload's reservation is given back when
    // it is terminated.
    let meta = format!(
        "filename {}",
        base64::engine::general_purpose::STANDARD.encode("tus.bin")
    );
    let r = app
        .client
        .post(app.url("/api/files/uploads"))
        .bearer_auth(&u.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", (4 * MIB).to_string())
        .header("Upload-Metadata", meta)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let head = head_for(
        &app,
        &format!("PATCH {location}"),
        &bearer,
        &[
            ("Tus-Resumable", "1.0.0".into()),
            ("Upload-Offset", "0".into()),
            ("Content-Type", "application/offset+octet-stream".into()),
            ("Content-Length", (3 * MIB).to_string()),
        ],
    );
    assert_eq!(send_cut(&app, &head, &part).await, Some(400), "tus PATCH");
    let r = app
        .client
        .head(app.url(&location))
        .bearer_auth(&u.token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["upload-offset"],
        part.len().to_string().as_str()
    );
    let r = app
        .client
        .delete(app.url(&location))
        .bearer_auth(&u.token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    assert_nothing_kept(&app, &u).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_webdav_put_cut_short_is_a_400_not_a_502() {
    let app = spawn_app().await;
    let u = app.register("streamer").await;
    let auth = basic("streamer");
    let part = bytes(2 * MIB, 9);

    // A small PUT before the credentials are cached goes the dav-server way too.
    let head = head_for(
        &app,
        "PUT /dav/files/streamer/small.bin",
        &auth,
        &[("Content-Length", "1000".into())],
    );
    assert_eq!(
        send_cut(&app, &head, &part[..500]).await,
        Some(400),
        "uncached small PUT"
    );

    // Content-Length over the one-hop limit: dav-server's streamed PUT.
    let head = head_for(
        &app,
        "PUT /dav/files/streamer/big.bin",
        &auth,
        &[("Content-Length", (5 * MIB).to_string())],
    );
    assert_eq!(
        send_cut(&app, &head, &part).await,
        Some(400),
        "Content-Length"
    );

    // A chunked body that stops in the middle of a chunk.
    let head = head_for(
        &app,
        "PUT /dav/files/streamer/chunked.bin",
        &auth,
        &[("Transfer-Encoding", "chunked".into())],
    );
    let mut body = format!("{:x}\r\n", part.len()).into_bytes();
    body.extend_from_slice(&part[..MIB]);
    assert_eq!(send_cut(&app, &head, &body).await, Some(400), "chunked");

    // macOS Finder: a chunked body with X-Expected-Entity-Length, ended cleanly but short (the
    // body is complete, so the client keeps its side open for the answer).
    let head = head_for(
        &app,
        "PUT /dav/files/streamer/finder.bin",
        &auth,
        &[
            ("Transfer-Encoding", "chunked".into()),
            ("X-Expected-Entity-Length", (3 * MIB).to_string()),
        ],
    );
    let mut body = format!("{:x}\r\n", part.len()).into_bytes();
    body.extend_from_slice(&part);
    body.extend_from_slice(b"\r\n0\r\n\r\n");
    let head = head.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n");
    assert_eq!(
        send_and_read(&app, &head, &body, false).await,
        Some(400),
        "X-Expected-Entity-Length"
    );

    assert_nothing_kept(&app, &u).await;
    // And a whole streamed PUT still works.
    let r = app
        .dav("PUT", "/dav/files/streamer/whole.bin", "streamer", PASSWORD)
        .body(part.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(app.assert_usage_consistent(&u).await, part.len() as i64);
}
