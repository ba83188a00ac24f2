//! Behaviours that had no test of their own (issue 17): the data-folder lock, databases of
//! schema versions 2 and 3 migrated on open, audit log expiry, forwarding headers from a peer
//! that is no trusted proxy, `X-Recalculate-Hash`, an admin disabling themselves, and WebDAV
//! Basic with an app password.

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use cloudvault::config::Dur;
use cloudvault::server::Server;
use reqwest::StatusCode;
use rusqlite::Connection;
use serde_json::{Value, json};

use crate::crash::{cli, start_server};
use crate::helpers::*;

fn drive(user: &TestUser, rest: &str) -> String {
    format!("/dav/files/{}/{rest}", user.username)
}

// ---------------------------------------------------------------------------------------------
// 1. One server per data folder (DataLock)
// ---------------------------------------------------------------------------------------------

/// The error a second `Server::build` on the same folder gives, or a panic when it started.
async fn second_server_error(config: &cloudvault::config::Config) -> String {
    match Server::build(config.clone()).await {
        Ok(_) => panic!("a second server started on {}", config.data_dir.display()),
        Err(e) => format!("{e:#}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_the_same_folder_is_refused_until_the_first_stops() {
    let app = spawn_app().await;
    let err = second_server_error(&app.config).await;
    assert!(err.contains("already running"), "{err}");
    assert!(
        err.contains(&app.config.data_dir.display().to_string()),
        "names the folder: {err}"
    );
    // The first one is unharmed.
    assert_eq!(app.health().await["status"], "ok");

    let (dir, config) = app.stop().await;
    let again = start(dir, config).await;
    assert_eq!(again.health().await["status"], "ok");
}

/// Runs `cloudvault serve` on `data`, which must refuse to start: its stderr.
fn serve_refused(data: &Path) -> String {
    let mut child = cli(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("a second `serve` on the same data folder kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "the second serve exited 0");
    reader.join().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_serve_is_refused_and_a_kill_9_frees_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let data = config.data_dir.clone();
    let mut first = start_server(&data);
    let client = reqwest::Client::new();
    let healthz = |base: &str| client.get(format!("{base}/healthz")).send();
    assert_eq!(healthz(&first.base).await.unwrap().status(), StatusCode::OK);

    // Another process and this one (in-process server) are both refused, with a clear message.
    let stderr = tokio::task::spawn_blocking({
        let data = data.clone();
        move || serve_refused(&data)
    })
    .await
    .unwrap();
    assert!(
        stderr.contains("another cloudvault server is already running"),
        "{stderr}"
    );
    let err = second_server_error(&config).await;
    assert!(err.contains("already running"), "{err}");

    // SIGKILL: no clean-up runs, the kernel drops the flock with the process.
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let second = start_server(&data);
    assert_eq!(
        healthz(&second.base).await.unwrap().status(),
        StatusCode::OK
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Databases of schema versions 2 and 3, migrated when opened
// ---------------------------------------------------------------------------------------------

const OLD_APP_PASSWORD: &str = "cvap_from-an-older-release-0123456789";

/// A database of schema `version` as that release left it (version 1 plus the migrations up to
/// `version`), holding a user with a folder, a file, an app password and what that version had.
fn old_database(path: &Path, version: i64) {
    let c = Connection::open(path).unwrap();
    c.execute_batch(include_str!("../../migrations/0001_initial.sql"))
        .unwrap();
    for (v, sql) in cloudvault::db::MIGRATIONS {
        if *v <= version {
            c.execute_batch(sql).unwrap();
        }
    }
    c.execute_batch(&format!("PRAGMA user_version = {version}"))
        .unwrap();
    let hash = cloudvault::auth::password::hash_password(PASSWORD).unwrap();
    c.execute_batch(&format!(
        "INSERT INTO users (id, username, password_hash, quota_bytes, used_bytes, root_id, created_at)
           VALUES ('00000000-0000-4000-8000-0000000000e1', 'olduser', '{hash}', 1000000, 5, '00000000-0000-4000-8000-0000000000a0', 1);
         INSERT INTO nodes (id, owner_id, parent_id, name, name_key, kind, created_at, modified_at, etag)
           VALUES ('00000000-0000-4000-8000-0000000000a0', '00000000-0000-4000-8000-0000000000e1', NULL, '', '', 'dir', 1, 1, 'e0'),
                  ('00000000-0000-4000-8000-0000000000d1', '00000000-0000-4000-8000-0000000000e1', '00000000-0000-4000-8000-0000000000a0', 'Photos', 'photos', 'dir', 2, 2, 'e1');
         INSERT INTO nodes (id, owner_id, parent_id, name, name_key, kind, size, content_type, blob_id,
                            volume, ext, content_hash, created_at, modified_at, etag)
           VALUES ('00000000-0000-4000-8000-0000000000f1', '00000000-0000-4000-8000-0000000000e1', '00000000-0000-4000-8000-0000000000d1', 'Beach.txt', 'beach.txt', 'file', 5, 'text/plain', 'blob1',
                   'default', 'txt', 'abc', 3, 3, 'e2');
         INSERT INTO app_passwords (id, user_id, name, secret_hash, created_at)
           VALUES ('ap1', '00000000-0000-4000-8000-0000000000e1', 'old phone', '{}', 4);",
        cloudvault::auth::hash_app_secret(OLD_APP_PASSWORD)
    ))
    .unwrap();
    if version >= 2 {
        c.execute_batch(
            "INSERT INTO jobs (kind, node_id, user_id, state, next_run_at, created_at, updated_at)
               VALUES ('media', '00000000-0000-4000-8000-0000000000f1', '00000000-0000-4000-8000-0000000000e1', 'done', 5, 5, 5);
             INSERT INTO tags (node_id, user_id, tag, source, created_at)
               VALUES ('00000000-0000-4000-8000-0000000000f1', '00000000-0000-4000-8000-0000000000e1', 'holiday', 'user', 5);",
        )
        .unwrap();
    }
    if version >= 3 {
        c.execute_batch(
            "INSERT INTO tus_uploads (id, user_id, volume, length, filename, on_conflict, metadata,
                                      file_id, created_at, updated_at, expires_at)
               VALUES ('tus1', '00000000-0000-4000-8000-0000000000e1', 'default', 5, 'Beach.txt', 'fail', '', '00000000-0000-4000-8000-0000000000f1', 6, 6, 9999999999999);",
        )
        .unwrap();
    }
}

async fn migrates_from(version: i64) {
    let dir = tempfile::tempdir().unwrap();
    let fresh = cloudvault::db::Db::open(&dir.path().join("fresh.db")).unwrap();
    let config = test_config(dir.path());
    std::fs::create_dir_all(&config.data_dir).unwrap();
    old_database(&config.db_path(), version);

    // The real server opens it (and migrates it) at start.
    let app = start(dir, config).await;
    {
        let m = app.app.db.conn().unwrap();
        let v: i64 = m
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, cloudvault::db::SCHEMA_VERSION);
        assert_eq!(
            cloudvault::db::schema_of(&fresh.conn().unwrap()).unwrap(),
            cloudvault::db::schema_of(&m).unwrap(),
            "from v{version}"
        );
        let node = |id: &str| -> (String, String, Option<i64>) {
            m.query_row(
                "SELECT name, sort_key, trashed_at FROM nodes WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap()
        };
        assert_eq!(
            node("00000000-0000-4000-8000-0000000000f1"),
            ("Beach.txt".into(), "beach.txt".into(), None)
        );
        assert_eq!(
            node("00000000-0000-4000-8000-0000000000d1"),
            ("Photos".into(), "photos".into(), None)
        );
        let count = |sql: &str| -> i64 { m.query_row(sql, [], |r| r.get(0)).unwrap() };
        if version >= 2 {
            assert_eq!(count("SELECT count(*) FROM tags WHERE tag = 'holiday'"), 1);
            assert_eq!(
                count(
                    "SELECT count(*) FROM jobs WHERE node_id = '00000000-0000-4000-8000-0000000000f1'"
                ),
                1
            );
        }
        if version >= 3 {
            assert_eq!(
                count(
                    "SELECT count(*) FROM tus_uploads WHERE file_id = '00000000-0000-4000-8000-0000000000f1'"
                ),
                1
            );
        }
    }

    // And serves it: the old password, the old app password, the old tree.
    let u = app.login("olduser", PASSWORD).await;
    let root = app.get_json("/api/files/", &u.token).await;
    assert_eq!(root["items"].as_array().unwrap().len(), 1, "{root}");
    assert_eq!(root["items"][0]["name"], "Photos");
    let photos = app
        .get_json(
            "/api/files/?folder=00000000-0000-4000-8000-0000000000d1",
            &u.token,
        )
        .await;
    assert_eq!(photos["items"][0]["name"], "Beach.txt", "{photos}");
    assert_eq!(photos["items"][0]["size"], 5);
    let r = app
        .dav(
            "PROPFIND",
            "/dav/files/olduser/Photos/",
            "olduser",
            OLD_APP_PASSWORD,
        )
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    assert!(r.text().await.unwrap().contains("Beach.txt"));
    // Names are exact now (version 5): a sibling differing only in case is another name.
    app.mkdir(&u.token, None, "photos").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_2_database_migrates_with_its_data() {
    migrates_from(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_3_database_migrates_with_its_data() {
    migrates_from(3).await;
}

// ---------------------------------------------------------------------------------------------
// 3. Audit log expiry
// ---------------------------------------------------------------------------------------------

fn insert_audit(conn: &Connection, action: &str, at: i64) {
    conn.execute(
        "INSERT INTO audit_log (at, action, actor_name) VALUES (?1, ?2, 'someone')",
        rusqlite::params![at, action],
    )
    .unwrap();
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

const DAY_MS: i64 = 24 * 3600 * 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_entries_past_the_retention_are_deleted_newer_ones_kept() {
    let app = spawn_app_with(|c, _| c.audit_retention = Dur(Duration::from_secs(24 * 3600))).await;
    let (dir, config) = app.stop().await;
    {
        let c = Connection::open(config.db_path()).unwrap();
        let now = now_ms();
        insert_audit(&c, "old", now - 3 * DAY_MS);
        insert_audit(&c, "old", now - DAY_MS - 60_000);
        insert_audit(&c, "new", now - DAY_MS + 3_600_000);
        insert_audit(&c, "new", now - 60_000);
    }
    // The housekeeping expires the log as the server starts (and hourly after).
    let app = start(dir, config).await;
    let count =
        |action: &str| app.sql_i64("SELECT count(*) FROM audit_log WHERE action = ?1", action);
    wait_until("old entries expired", Duration::from_secs(10), || {
        count("old") == 0
    })
    .await;
    assert_eq!(count("new"), 2);

    // The function itself: exactly the old ones, and the count.
    {
        let c = app.app.db.conn().unwrap();
        let now = now_ms();
        for _ in 0..3 {
            insert_audit(&c, "old", now - 2 * DAY_MS);
        }
        insert_audit(&c, "new", now - DAY_MS / 2);
    }
    let n = cloudvault::audit::expire(&app.app.db, Duration::from_secs(24 * 3600))
        .await
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(count("old"), 0);
    assert_eq!(count("new"), 3);
}

// ---------------------------------------------------------------------------------------------
// 4. Forwarding headers from a peer that is no trusted proxy
// ---------------------------------------------------------------------------------------------

fn audit_addresses(app: &TestApp, action: &str) -> Vec<Option<String>> {
    let c = app.app.db.conn().unwrap();
    let mut st = c
        .prepare("SELECT address FROM audit_log WHERE action = ?1 ORDER BY id")
        .unwrap();
    st.query_map([action], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_headers_are_believed_only_from_trusted_proxies() {
    // Loopback is a trusted proxy by default: what it forwards is the client.
    let trusting = spawn_app().await;
    let r = trusting
        .client
        .post(trusting.url("/api/auth/login"))
        .header("x-forwarded-for", "198.51.100.77")
        .json(&json!({"username": "nobody", "password": "wrong-wrong-wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        audit_addresses(&trusting, "login-failed"),
        vec![Some("198.51.100.77".to_string())]
    );

    // No trusted proxy: every header is the client's own word, and ignored.
    const PER_ADDRESS: usize = 5;
    let app = spawn_app_with(|c, _| {
        c.trusted_proxies.clear();
        c.auth.login_failures_per_address = PER_ADDRESS as u32;
        c.auth.login_failures_per_account = 1000;
        c.http.auth_requests_per_minute = 1000;
    })
    .await;
    let mut answers = Vec::new();
    for i in 0..20 {
        let forged = format!("198.51.100.{i}");
        let req = if i % 2 == 0 {
            app.client
                .post(app.url("/api/auth/login"))
                .json(&json!({"username": format!("user{i}"), "password": "wrong-wrong-wrong"}))
        } else {
            app.client
                .request(method("PROPFIND"), app.url(&format!("/dav/files/user{i}/")))
                .header("depth", "0")
                .basic_auth(format!("user{i}"), Some("wrong-wrong-wrong"))
        };
        let r = req
            .header("x-forwarded-for", &forged)
            .header("cf-connecting-ip", format!("203.0.113.{i}"))
            .header("forwarded", format!("for={forged}"))
            .send()
            .await
            .unwrap();
        answers.push(r.status());
    }
    let checked = answers
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let limited = answers
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        (checked, limited),
        (PER_ADDRESS, 20 - PER_ADDRESS),
        "{answers:?}"
    );
    let mut logged = audit_addresses(&app, "login-failed");
    logged.extend(audit_addresses(&app, "webdav-login-failed"));
    // Every API attempt is logged (the limited ones too), WebDAV's only when checked: two of
    // the five checked ones.
    assert_eq!(logged.len(), 10 + 2, "{logged:?}");
    assert!(
        logged.iter().all(|a| a.as_deref() == Some("127.0.0.1")),
        "{logged:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. X-Recalculate-Hash (Nextcloud: PATCH answers OC-Checksum)
// ---------------------------------------------------------------------------------------------

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recalculate_hash_answers_and_stores_the_checksum() {
    use sha1::Digest;
    let app = spawn_app().await;
    let u = app.register("hasher").await;
    let body = bytes(300_000, 7);
    let r = app
        .dav("PUT", &drive(&u, "data.bin"), "hasher", PASSWORD)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    app.dav("MKCOL", &drive(&u, "folder"), "hasher", PASSWORD)
        .send()
        .await
        .unwrap();

    let recalc = |path: String, alg: &'static str| {
        app.dav("PATCH", &path, "hasher", PASSWORD)
            .header("x-recalculate-hash", alg)
            .send()
    };
    let checksums = || async {
        let find = r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:oc="http://owncloud.org/ns"><D:prop><oc:checksums/></D:prop></D:propfind>"#;
        let r = app
            .dav("PROPFIND", &drive(&u, "data.bin"), "hasher", PASSWORD)
            .header("depth", "0")
            .body(find)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::MULTI_STATUS);
        r.text().await.unwrap()
    };

    let sha1 = format!("SHA1:{}", hex(&sha1::Sha1::digest(&body)));
    let r = recalc(drive(&u, "data.bin"), "SHA1").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["oc-checksum"], sha1.as_str());
    assert!(checksums().await.contains(&sha1));

    let md5 = format!("MD5:{}", hex(&md5::Md5::digest(&body)));
    let r = recalc(drive(&u, "data.bin"), "md5").await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["oc-checksum"], md5.as_str());
    let stored = checksums().await;
    assert!(stored.contains(&md5), "{stored}");
    assert!(!stored.contains(&sha1), "replaced, not added: {stored}");

    // Nothing else changed: same body, same size.
    let r = app
        .dav("GET", &drive(&u, "data.bin"), "hasher", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().to_vec(), body);

    // An algorithm it does not compute is refused, not answered with another one.
    let r = recalc(drive(&u, "data.bin"), "sha256").await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("oc-checksum").is_none());
    assert!(checksums().await.contains(&md5));
    // Folders and missing files have no body to hash.
    let r = recalc(drive(&u, "folder"), "sha1").await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = recalc(drive(&u, "missing.bin"), "sha1").await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------------
// 6. An admin disabling themselves
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_cannot_disable_themselves() {
    let app = spawn_app().await;
    let boss = app.admin("boss").await;
    let put_disabled = |token: &str, id: &str, disabled: bool| {
        app.client
            .put(app.url(&format!("/api/admin/users/{id}/disabled")))
            .bearer_auth(token)
            .json(&json!({ "disabled": disabled }))
            .send()
    };

    // The only admin: refused, and nothing happened.
    let r = put_disabled(&boss.token, &boss.id, true).await.unwrap();
    assert_error(r, StatusCode::CONFLICT, "cannot-disable-self").await;
    assert_eq!(app.me(&boss.token).await["username"], "boss");
    let r = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": boss.refresh}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "sessions not revoked");
    assert_eq!(
        app.sql_i64(
            "SELECT count(*) FROM audit_log WHERE action = 'user-disable' AND target_id = ?1",
            &boss.id
        ),
        0
    );
    // Enabling oneself (a no-op) is allowed.
    let r = put_disabled(&boss.token, &boss.id, false).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["disabled"], false);

    // With a second admin: still not oneself, but the other one, who is then locked out.
    let deputy = app.admin("deputy").await;
    let r = put_disabled(&deputy.token, &deputy.id, true).await.unwrap();
    assert_error(r, StatusCode::CONFLICT, "cannot-disable-self").await;
    app.set_disabled(&boss.token, &deputy.id, true).await;
    let r = put_disabled(&deputy.token, &boss.id, true).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&boss.token).await["username"], "boss");
}

/// Two admins disabling each other at the same moment: one wins, the other's request finds its
/// own account disabled under the write lock, so an enabled admin always remains.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_disabling_each_other_at_once_leave_one_admin() {
    let app = spawn_app().await;
    let mut a = app.admin("alpha").await;
    let mut b = app.admin("bravo").await;
    let put_disabled = |token: String, id: String| {
        app.client
            .put(app.url(&format!("/api/admin/users/{id}/disabled")))
            .bearer_auth(token)
            .json(&json!({ "disabled": true }))
            .send()
    };
    let enabled_admins = || -> i64 {
        let c = app.app.db.conn().unwrap();
        c.query_row(
            "SELECT count(*) FROM users WHERE is_admin = 1 AND disabled = 0",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    for round in 0..10 {
        let (ra, rb) = tokio::join!(
            put_disabled(a.token.clone(), b.id.clone()),
            put_disabled(b.token.clone(), a.id.clone())
        );
        let (sa, sb) = (ra.unwrap().status(), rb.unwrap().status());
        assert_eq!(enabled_admins(), 1, "round {round}: {sa} {sb}");
        assert!(
            matches!(
                (sa, sb),
                (StatusCode::OK, StatusCode::UNAUTHORIZED)
                    | (StatusCode::UNAUTHORIZED, StatusCode::OK)
            ),
            "round {round}: {sa} {sb}"
        );
        // The winner lets the other back in, who signs in again.
        let (winner, loser) = if sa == StatusCode::OK {
            (&a, &b)
        } else {
            (&b, &a)
        };
        app.set_disabled(&winner.token, &loser.id, false).await;
        let again = app.login(&loser.username, PASSWORD).await;
        if sa == StatusCode::OK {
            b = again;
        } else {
            a = again;
        }
        assert_eq!(enabled_admins(), 2);
    }
}

// ---------------------------------------------------------------------------------------------
// 7. App passwords over WebDAV Basic: no argon2, revoked at once, wrong ones counted
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_passwords_skip_argon2_and_wrong_ones_count_against_the_limit() {
    const PER_ACCOUNT: usize = 3;
    let app = spawn_app_with(|c, _| {
        c.auth.login_failures_per_account = PER_ACCOUNT as u32;
        c.http.auth_requests_per_minute = 1000;
    })
    .await;
    let u = app.register("rclone").await;
    let r = app
        .post_json(
            "/api/auth/app-passwords",
            Some(&u.token),
            json!({"name": "sync"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let secret = r.json::<Value>().await.unwrap()["password"]
        .as_str()
        .unwrap()
        .to_string();

    // With no argon2 hash left to check, only the app-password path can succeed.
    {
        let c = app.app.db.conn().unwrap();
        c.execute(
            "UPDATE users SET password_hash = 'not-an-argon2-hash' WHERE id = ?1",
            [&u.id],
        )
        .unwrap();
    }
    let propfind = |pass: &str| {
        app.dav("PROPFIND", &drive(&u, ""), "rclone", pass)
            .header("depth", "0")
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            propfind(&secret).await.unwrap().status(),
            StatusCode::MULTI_STATUS
        );
    }
    let r = app
        .dav("PUT", &drive(&u, "a.txt"), "rclone", &secret)
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    // Wrong app passwords: refused, audited, and counted like wrong account passwords.
    let wrong = format!("{secret}x");
    let failures_before = app.sql_i64(
        "SELECT count(*) FROM audit_log WHERE action = ?1",
        "webdav-login-failed",
    );
    let mut answers = Vec::new();
    for _ in 0..PER_ACCOUNT + 2 {
        answers.push(propfind(&wrong).await.unwrap().status());
    }
    let expected: Vec<StatusCode> = std::iter::repeat_n(StatusCode::UNAUTHORIZED, PER_ACCOUNT)
        .chain(std::iter::repeat_n(StatusCode::TOO_MANY_REQUESTS, 2))
        .collect();
    assert_eq!(answers, expected);
    assert_eq!(
        app.sql_i64(
            "SELECT count(*) FROM audit_log WHERE action = ?1",
            "webdav-login-failed"
        ) - failures_before,
        PER_ACCOUNT as i64
    );
    // The limit is the account's: now even the right app password waits.
    let r = propfind(&secret).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().get("retry-after").is_some());
}
