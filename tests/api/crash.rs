//! Crash safety with the real binary: SIGKILL in the middle of a large upload, and at a random
//! moment among many small ones; after restart nothing partial is visible and fsck agrees.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

pub struct Proc {
    pub child: Child,
    pub base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn cli(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_cloudvault"));
    c.env_clear().arg("--data").arg(data);
    c
}

/// Starts `cloudvault serve` on a random port and reads the address it prints.
pub fn start_server(data: &Path) -> Proc {
    start_command(cli(data))
}

/// `serve` started on a random port with what `c` says: the child, the address it printed, the
/// stdout lines up to and including that one, and the rest of stdout (unread).
pub struct Spawned {
    pub child: Child,
    pub base: String,
    pub lines: Vec<String>,
    pub rest: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

pub fn spawn_serve(mut c: Command) -> Spawned {
    let mut child = c
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut rest = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut lines = Vec::new();
    let base = loop {
        let line = rest.next().expect("server printed its address").unwrap();
        lines.push(line.clone());
        if let Some(r) = line.split("listening on ").nth(1) {
            break r
                .split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches('/')
                .to_string();
        }
    };
    Spawned {
        child,
        base,
        lines,
        rest,
    }
}

/// Runs `serve` on a random port with what `c` says, and reads the address it prints.
fn start_command(c: Command) -> Proc {
    let Spawned {
        child, base, rest, ..
    } = spawn_serve(c);
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in rest {});
    Proc { child, base }
}

fn fsck(data: &Path) -> (i32, String) {
    let out = cli(data).arg("fsck").output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

async fn login(client: &reqwest::Client, base: &str) -> String {
    let r = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"username": "crash", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

fn setup(data: &Path) {
    let out = cli(data)
        .args(["admin", "create-user", "crash", "--password", PASSWORD])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn temp_files(data: &Path) -> Vec<(std::path::PathBuf, u64)> {
    walk(&data.join("volume/.cloudvault-tmp"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_upload_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    setup(&data);
    let mut server = start_server(&data);
    let client = reqwest::Client::new();
    let token = login(&client, &server.base).await;

    // A 512 MB multipart upload that we feed slowly, so the kill lands in the middle.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let head = b"--BOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n".to_vec();
    let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async {
        rx.recv().await.map(|c| (c, rx))
    }));
    let url = format!("{}/api/files/upload", server.base);
    let upload = tokio::spawn({
        let client = client.clone();
        let token = token.clone();
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .header("content-type", "multipart/form-data; boundary=BOUNDARY")
                .header("content-length", (512u64 << 20).to_string())
                .body(body)
                .send()
                .await
        }
    });
    tx.send(Ok(head)).await.unwrap();
    let feeder = tokio::spawn(async move {
        for i in 0..512u32 {
            if tx.send(Ok(bytes(1 << 20, i as u8))).await.is_err() {
                break;
            }
        }
    });
    wait_until(
        "part of the upload on disk",
        Duration::from_secs(30),
        || temp_files(&data).iter().any(|(_, s)| *s >= 8 << 20),
    )
    .await;
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let _ = upload.await.unwrap();
    feeder.abort();
    assert!(
        !temp_files(&data).is_empty(),
        "the kill left a temp file for start-up to sweep"
    );
    drop(server);

    let server = start_server(&data);
    let token = login(&client, &server.base).await;
    let list: Value = client
        .get(format!("{}/api/files/", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 0, "no partial file is visible");
    let me: Value = client
        .get(format!("{}/api/auth/me", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["used_bytes"], 0);
    assert!(temp_files(&data).is_empty(), "temp files swept at start-up");
    assert!(walk(&data.join("volume/users")).is_empty());
    let (code, out) = fsck(&data);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("store consistent"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_among_many_uploads_and_deletes_keeps_the_store_consistent() {
    kill_among_many_uploads(false).await;
}

/// The same through WebDAV: small PUTs take the one-step path and are committed in groups
/// (`src/store/group.rs`), so the kill lands among batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_among_many_small_webdav_puts_keeps_the_store_consistent() {
    kill_among_many_uploads(true).await;
}

async fn kill_among_many_uploads(dav: bool) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    setup(&data);
    let mut server = start_server(&data);
    let client = reqwest::Client::new();
    let token = login(&client, &server.base).await;
    // Names whose upload was answered with success and never asked to be deleted: each must be
    // there, whole, after the restart.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));

    // Four writers upload (and sometimes delete) small files until the server dies under them.
    let mut writers = Vec::new();
    for w in 0..4u8 {
        let (client, base, token) = (client.clone(), server.base.clone(), token.clone());
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            for i in 0..10_000u32 {
                let seed = (i as u8).wrapping_add(w * 50);
                let size = 20_000 + (i as usize % 7) * 30_000;
                let name = format!("w{w}-{i}-{seed}-{size}.bin");
                let delete_url = if dav {
                    let url = format!("{base}/dav/files/crash/{name}");
                    let Ok(r) = client
                        .put(&url)
                        .basic_auth("crash", Some(PASSWORD))
                        .body(bytes(size, seed))
                        .send()
                        .await
                    else {
                        return;
                    };
                    if r.status() != StatusCode::CREATED {
                        return;
                    }
                    url
                } else {
                    let part =
                        reqwest::multipart::Part::bytes(bytes(size, seed)).file_name(name.clone());
                    let Ok(r) = client
                        .post(format!("{base}/api/files/upload"))
                        .bearer_auth(&token)
                        .multipart(reqwest::multipart::Form::new().part("file", part))
                        .send()
                        .await
                    else {
                        return;
                    };
                    let Ok(v) = r.json::<Value>().await else {
                        return;
                    };
                    let Some(id) = v["files"][0]["id"].as_str() else {
                        return;
                    };
                    format!("{base}/api/files/{id}")
                };
                if i % 3 == 0 {
                    let del = if dav {
                        client
                            .delete(&delete_url)
                            .basic_auth("crash", Some(PASSWORD))
                    } else {
                        client.delete(&delete_url).bearer_auth(&token)
                    };
                    if del.send().await.is_err() {
                        return;
                    }
                } else {
                    acked.lock().unwrap().push(name);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for w in writers {
        let _ = w.await;
    }
    drop(server);

    let server = start_server(&data);
    let token = login(&client, &server.base).await;
    let list: Value = client
        .get(format!("{}/api/files/?limit=1000", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = list["items"].as_array().unwrap();
    assert!(!items.is_empty(), "some uploads committed before the kill");
    assert!(items.len() < 1000, "the listing is complete");
    let listed: std::collections::HashSet<&str> =
        items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    for name in acked.lock().unwrap().iter() {
        assert!(
            listed.contains(name.as_str()),
            "{name} was acknowledged, then lost"
        );
    }
    let mut sum = 0;
    for item in items {
        // Every visible file is whole: its name says what it must contain.
        let name = item["name"]
            .as_str()
            .unwrap()
            .trim_end_matches(".bin")
            .to_string();
        let parts: Vec<&str> = name.split('-').collect();
        let (seed, size): (u8, usize) = (parts[2].parse().unwrap(), parts[3].parse().unwrap());
        let body = client
            .get(format!(
                "{}/api/files/{}/download",
                server.base,
                item["id"].as_str().unwrap()
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(body.as_ref(), bytes(size, seed).as_slice(), "{name}");
        sum += size as i64;
    }
    let me: Value = client
        .get(format!("{}/api/auth/me", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The deleted files wait in the trash, counted.
    let trash: Value = client
        .get(format!("{}/api/trash?limit=1", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sum = sum + trash["bytes"].as_i64().unwrap();
    assert_eq!(me["used_bytes"].as_i64().unwrap(), sum);
    let on_disk: u64 = walk(&data.join("volume/users"))
        .iter()
        .map(|(_, s)| s)
        .sum();
    assert_eq!(on_disk as i64, sum, "no orphan or partial body on disk");
    assert!(temp_files(&data).is_empty());
    let (code, out) = fsck(&data);
    assert_eq!(code, 0, "{out}");
}

fn sql_i64(data: &Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(data.join("cloudvault.db")).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_jobs_pending_then_every_job_completes_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    setup(&data);
    let mut server = start_server(&data);
    let client = reqwest::Client::new();
    let token = login(&client, &server.base).await;
    let n = 24;
    for i in 0..n {
        let img = jpeg_bytes(&picture(1800, 1200, [(i * 10) as u8, 80, 160]));
        let part = reqwest::multipart::Part::bytes(img).file_name(format!("p{i}.jpg"));
        let r = client
            .post(format!("{}/api/files/upload", server.base))
            .bearer_auth(&token)
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    // Kill while the queue is part way through.
    wait_until("some thumbnails made", Duration::from_secs(60), || {
        sql_i64(&data, "SELECT count(*) FROM media") >= 1
    })
    .await;
    let done_before = sql_i64(
        &data,
        "SELECT count(*) FROM jobs WHERE kind = 'media' AND state = 'done'",
    );
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(server);
    assert!(
        done_before < n,
        "the kill came with jobs pending ({done_before} of {n} done)"
    );
    assert_eq!(
        sql_i64(&data, "SELECT count(*) FROM jobs WHERE kind = 'media'"),
        n,
        "one job row per picture survives"
    );

    let server = start_server(&data);
    wait_until("every media job done", Duration::from_secs(120), || {
        sql_i64(
            &data,
            "SELECT count(*) FROM jobs WHERE kind = 'media' AND state = 'done'",
        ) == n
    })
    .await;
    assert_eq!(
        sql_i64(
            &data,
            "SELECT count(*) FROM media WHERE thumb_format = 'jpeg'"
        ),
        n
    );
    assert_eq!(
        sql_i64(&data, "SELECT count(*) FROM jobs WHERE state = 'failed'"),
        0
    );
    let thumbs = walk(&data.join("volume/users"))
        .into_iter()
        .filter(|(p, _)| p.to_string_lossy().contains("/thumbnails/"))
        .count();
    assert_eq!(
        thumbs as i64,
        2 * n,
        "exactly two thumbnails per picture, none doubled or orphaned"
    );
    drop(server);
    let (code, out) = fsck(&data);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("store consistent"), "{out}");
}

/// `cloudvault serve` with a config file (trash and version retention of seconds).
fn start_server_with(data: &Path, config: &Path) -> Proc {
    let mut c = cli(data);
    c.arg("--config").arg(config);
    start_command(c)
}

async fn json_of(r: reqwest::RequestBuilder) -> Option<Value> {
    r.send().await.ok()?.json().await.ok()
}

/// SIGKILL while restores from the trash and overwrites (which thin versions) are in flight,
/// and again while the start-up sweep expires the trash and prunes versions: each restart
/// recovers, and fsck finds nothing wrong (rows, bodies, trash entries, counts, used_bytes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_trash_sweep_restore_and_version_prune_leaves_fsck_clean() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    setup(&data);
    let config = dir.path().join("cloudvault.toml");
    std::fs::write(
        &config,
        "trash_retention = \"3s\"\nversions_max_age = \"3s\"\n",
    )
    .unwrap();
    let client = reqwest::Client::new();
    for (round, (storm_ms, sweep_ms)) in [(40u64, 0u64), (150, 30), (400, 90)]
        .into_iter()
        .enumerate()
    {
        let mut server = start_server_with(&data, &config);
        let base = server.base.clone();
        let token = login(&client, &base).await;
        // 120 small files, each overwritten twice; 100 of them deleted.
        let mut ids = Vec::new();
        for i in 0..120 {
            let name = format!("r{round}-{i}.bin");
            for k in 0..3u8 {
                let part =
                    reqwest::multipart::Part::bytes(bytes(2_000 + i, k)).file_name(name.clone());
                let v = json_of(
                    client
                        .post(format!("{base}/api/files/upload?on_conflict=overwrite"))
                        .bearer_auth(&token)
                        .multipart(reqwest::multipart::Form::new().part("file", part)),
                )
                .await
                .unwrap();
                if k == 0 {
                    ids.push(v["files"][0]["id"].as_str().unwrap().to_string());
                }
            }
        }
        for id in &ids[..100] {
            let r = client
                .delete(format!("{base}/api/files/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }
        // Restores and overwrites in flight when the process dies.
        let mut tasks = Vec::new();
        for (n, id) in ids[..60].iter().enumerate() {
            let (client, base, token, id) =
                (client.clone(), base.clone(), token.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let _ = client
                    .post(format!("{base}/api/trash/{id}/restore"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                let name = format!("r{round}-{n}.bin");
                let part = reqwest::multipart::Part::bytes(bytes(3_000, 9)).file_name(name);
                let _ = client
                    .post(format!("{base}/api/files/upload?on_conflict=overwrite"))
                    .bearer_auth(&token)
                    .multipart(reqwest::multipart::Form::new().part("file", part))
                    .send()
                    .await;
            }));
        }
        tokio::time::sleep(Duration::from_millis(storm_ms)).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        for t in tasks {
            let _ = t.await;
        }
        drop(server);
        // The trash and the versions are past their 3 s: the next start sweeps them at once.
        tokio::time::sleep(Duration::from_millis(3_200)).await;
        let mut server = start_server_with(&data, &config);
        tokio::time::sleep(Duration::from_millis(sweep_ms)).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        drop(server);

        // A start that finishes its sweep: nothing of the trash or the versions is left, and
        // fsck (run once the sweep is over, so it sees a still store) finds nothing wrong.
        let server = start_server_with(&data, &config);
        let token = login(&client, &server.base).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let t = json_of(
                client
                    .get(format!("{}/api/trash", server.base))
                    .bearer_auth(&token),
            )
            .await
            .unwrap();
            let versions = sql_i64(&data, "SELECT count(*) FROM versions");
            if t["total"] == 0 && versions == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "round {round}: the sweep did not finish: {t}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (code, out) = fsck(&data);
        assert_eq!(code, 0, "round {round}: {out}");
        drop(server);
    }
}
