//! Trees that used to take the server down: a COPY into its own source spelled with another
//! case, a Destination whose drive name runs into the next segment, and very deep trees. The
//! server stays up, answers 4xx where it refuses, keeps folders within the depth limit through
//! every door, and fsck is clean afterwards.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use cloudvault::store::MAX_FOLDER_DEPTH;

fn drive(user: &TestUser, rest: &str) -> String {
    format!("/dav/files/{}/{rest}", user.username)
}

async fn dav_status(
    app: &TestApp,
    m: &str,
    path: &str,
    user: &TestUser,
    headers: &[(&str, &str)],
) -> StatusCode {
    let mut req = app.dav(m, path, &user.username, PASSWORD);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status()
}

async fn assert_up_and_clean(app: &TestApp) {
    let health = app.health().await;
    assert_eq!(health["status"], "ok", "the server still answers: {health}");
    let report = cloudvault::store::fsck::run_fsck(&app.app.store, false, true).unwrap();
    assert!(report.is_consistent(), "fsck: {:?}", report.problems);
}

/// The user's nodes outside the trash.
fn count_nodes(app: &TestApp, user: &TestUser) -> i64 {
    app.sql_i64(
        "SELECT count(*) FROM nodes WHERE owner_id = ?1 AND trashed_at IS NULL",
        &user.id,
    )
}

/// Empties the user's trash (deleting the trashed trees for good).
async fn empty_trash(app: &TestApp, user: &TestUser) {
    let r = app
        .client
        .delete(app.url("/api/trash"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// A chain of `levels` folders `{tag}1/{tag}2/...` under `parent`, written straight into
/// SQLite as a database made before the depth limit could hold it. Returns the top folder's id.
fn legacy_chain(app: &TestApp, user: &TestUser, parent: &str, levels: usize, tag: &str) -> String {
    let mut conn = app.app.db.conn().unwrap();
    let tx = conn.transaction().unwrap();
    let mut parent = parent.to_string();
    let mut top = None;
    for i in 1..=levels {
        let id = cloudvault::db::new_id();
        let name = format!("{tag}{i}");
        tx.execute(
            "INSERT INTO nodes (id, owner_id, parent_id, name, sort_key, kind, size, created_at, modified_at, etag)
             VALUES (?1, ?2, ?3, ?4, ?4, 'dir', 0, 0, 0, 'e')",
            [id.as_str(), user.id.as_str(), parent.as_str(), name.as_str()],
        )
        .unwrap();
        top.get_or_insert(id.clone());
        parent = id;
    }
    tx.commit().unwrap();
    top.unwrap()
}

fn root_id(app: &TestApp, user: &TestUser) -> String {
    let conn = app.app.db.conn().unwrap();
    conn.query_row("SELECT root_id FROM users WHERE id = ?1", [&user.id], |r| {
        r.get(0)
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_or_move_into_its_own_source_is_refused_whatever_the_case() {
    let app = spawn_app().await;
    let u = app.register("alice").await;
    assert_eq!(
        dav_status(&app, "MKCOL", &drive(&u, "x/"), &u, &[]).await,
        StatusCode::CREATED
    );
    assert_eq!(
        app.dav("PUT", &drive(&u, "x/a.txt"), "alice", PASSWORD)
            .body("hello")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    let before = count_nodes(&app, &u);
    let base = app.base.clone();
    for m in ["COPY", "MOVE"] {
        for dest in [
            format!("{base}/dav/files/alice/X/inner/"),
            format!("{base}/dav/files/alice/x/inner/"),
            format!("{base}/dav/files/ALICE/X/inner/deeper/"),
        ] {
            // Unconditional (the store's tree operations) and conditional (dav-server, after
            // the door's own checks).
            for cond in [None, Some(("If-None-Match", "\"no-such-etag\""))] {
                let mut h = vec![("Destination", dest.as_str())];
                h.extend(cond);
                let s = dav_status(&app, m, &drive(&u, "x/"), &u, &h).await;
                assert!(
                    s == StatusCode::FORBIDDEN || s == StatusCode::CONFLICT,
                    "{m} x/ -> {dest} ({cond:?}): {s}"
                );
            }
        }
    }
    assert_eq!(count_nodes(&app, &u), before, "nothing was created");
    // The same folder under another case is a rename of itself, not a copy into itself.
    let s = dav_status(
        &app,
        "MOVE",
        &drive(&u, "x/"),
        &u,
        &[("Destination", &format!("{base}/dav/files/alice/Y/"))],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let s = dav_status(
        &app,
        "COPY",
        &drive(&u, "Y/"),
        &u,
        &[("Destination", &format!("{base}/dav/files/alice/Z/"))],
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let paths: Vec<String> = app
        .all_nodes(&u.token)
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    let mut paths = paths;
    paths.sort();
    assert_eq!(paths, ["/Y", "/Y/a.txt", "/Z", "/Z/a.txt"]);
    app.assert_usage_consistent(&u).await;
    assert_up_and_clean(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_runs_into_the_next_segment_is_not_the_drive() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    assert_eq!(
        dav_status(&app, "MKCOL", &drive(&alice, "x/"), &alice, &[]).await,
        StatusCode::CREATED
    );
    assert_eq!(
        dav_status(&app, "MKCOL", &drive(&bob, "x/"), &bob, &[]).await,
        StatusCode::CREATED
    );
    assert_eq!(
        app.dav("PUT", &drive(&bob, "moved.txt"), "bob", PASSWORD)
            .body("bob's")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    let base = app.base.clone();
    for cond in [None, Some(("If-None-Match", "\"no-such-etag\""))] {
        let mut h = vec![("Destination", format!("{base}/dav/files/alicex/inner/"))];
        h.extend(cond.map(|(k, v)| (k, v.to_string())));
        let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            dav_status(&app, "COPY", &drive(&alice, "x/"), &alice, &h).await,
            StatusCode::FORBIDDEN
        );
        for dest in [
            "/dav/files/bobx/moved.txt",
            "/dav/files/bo/bx/moved.txt",
            "/dav/files/b/moved.txt",
        ] {
            let mut h = vec![("Destination", dest)];
            h.extend(cond);
            assert_eq!(
                dav_status(&app, "MOVE", &drive(&bob, "moved.txt"), &bob, &h).await,
                StatusCode::FORBIDDEN,
                "MOVE -> {dest} ({cond:?})"
            );
        }
    }
    let bobs: Vec<String> = app
        .all_nodes(&bob.token)
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert!(
        bobs.contains(&"/moved.txt".to_string()),
        "bob's file stays: {bobs:?}"
    );
    assert!(
        !bobs.iter().any(|p| p.starts_with("/x/")),
        "nothing went into x/: {bobs:?}"
    );
    assert_eq!(app.all_nodes(&alice.token).await.len(), 1);
    assert_up_and_clean(&app).await;
}

/// Makes folders one inside the other through the API until one is refused; returns the ids
/// from the top down.
async fn api_chain(
    app: &TestApp,
    u: &TestUser,
    parent: Option<&str>,
    levels: usize,
) -> Result<Vec<String>, (usize, Value)> {
    let mut ids: Vec<String> = Vec::new();
    for i in 1..=levels {
        let parent = ids.last().map(String::as_str).or(parent);
        let res = app
            .post_json(
                "/api/files/folders",
                Some(&u.token),
                json!({"parent_id": parent, "name": format!("d{i}")}),
            )
            .await;
        if res.status() != StatusCode::CREATED {
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "level {i}");
            return Err((i, res.json().await.unwrap()));
        }
        let v: Value = res.json().await.unwrap();
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    Ok(ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_nest_at_most_the_limit_through_every_door() {
    let app = spawn_app().await;
    let u = app.register("deep").await;
    let max = MAX_FOLDER_DEPTH as usize;
    // Try 4,000 levels through the API: refused, with a clear code, one past the limit.
    let (level, err) = api_chain(&app, &u, None, 4000).await.unwrap_err();
    assert_eq!(level, max + 1);
    assert_eq!(err["code"], "too-deep", "{err}");
    let chain: Vec<String> = {
        let conn = app.app.db.conn().unwrap();
        let mut stmt = conn
            .prepare("SELECT id FROM nodes WHERE owner_id = ?1 AND kind = 'dir' AND parent_id IS NOT NULL")
            .unwrap();
        stmt.query_map([&u.id], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(chain.len(), max);
    let all = app.all_nodes(&u.token).await;
    let deepest = all
        .iter()
        .map(|(p, _)| p.matches('/').count())
        .max()
        .unwrap();
    assert_eq!(deepest, max);
    let bottom_path: String = (1..=max).map(|i| format!("d{i}/")).collect();
    // WebDAV MKCOL one past the limit; a file at the bottom is fine.
    assert_eq!(
        dav_status(
            &app,
            "MKCOL",
            &drive(&u, &format!("{bottom_path}more/")),
            &u,
            &[]
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.dav(
            "PUT",
            &drive(&u, &format!("{bottom_path}leaf.txt")),
            "deep",
            PASSWORD
        )
        .body("at the bottom")
        .send()
        .await
        .unwrap()
        .status(),
        StatusCode::CREATED
    );
    // Moving or copying the whole chain one level down would pass the limit: refused, through
    // both doors, with and without conditions; nothing changes.
    let side = app.mkdir(&u.token, None, "side").await;
    let side_id = side["id"].as_str().unwrap();
    let res = app
        .client
        .patch(app.url(&format!("/api/files/{}", chain_top(&app, &u))))
        .bearer_auth(&u.token)
        .json(&json!({"parent_id": side_id}))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::BAD_REQUEST, "too-deep").await;
    let before = count_nodes(&app, &u);
    let base = app.base.clone();
    for m in ["COPY", "MOVE"] {
        for cond in [None, Some(("If-None-Match", "\"no-such-etag\""))] {
            let dest = format!("{base}/dav/files/deep/side/d1/");
            let mut h = vec![("Destination", dest.as_str())];
            h.extend(cond);
            assert_eq!(
                dav_status(&app, m, &drive(&u, "d1/"), &u, &h).await,
                StatusCode::FORBIDDEN,
                "{m} ({cond:?})"
            );
        }
    }
    assert_eq!(
        count_nodes(&app, &u),
        before,
        "a refused copy creates nothing"
    );
    // A copy beside it stays within the limit: every level and the file are copied.
    let t = Instant::now();
    let dest = format!("{base}/dav/files/deep/copy/");
    assert_eq!(
        dav_status(
            &app,
            "COPY",
            &drive(&u, "d1/"),
            &u,
            &[("Destination", &dest)]
        )
        .await,
        StatusCode::CREATED
    );
    let copy_took = t.elapsed();
    assert_eq!(count_nodes(&app, &u), before + max as i64 + 1);
    let copied_leaf = format!("copy/{}leaf.txt", &bottom_path[3..]);
    let got = app
        .dav("GET", &drive(&u, &copied_leaf), "deep", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.text().await.unwrap(), "at the bottom");
    app.assert_usage_consistent(&u).await;
    // DELETE through both doors: the copy over WebDAV, the original through the API.
    let t = Instant::now();
    assert_eq!(
        dav_status(&app, "DELETE", &drive(&u, "copy/"), &u, &[]).await,
        StatusCode::NO_CONTENT
    );
    let res = app
        .client
        .delete(app.url(&format!("/api/files/{}", chain_top(&app, &u))))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let delete_took = t.elapsed();
    let left: Vec<String> = app
        .all_nodes(&u.token)
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(left, ["/side"]);
    empty_trash(&app, &u).await;
    assert_eq!(app.assert_usage_consistent(&u).await, 0);
    assert!(
        copy_took < Duration::from_secs(20) && delete_took < Duration::from_secs(20),
        "copy {copy_took:?}, deletes {delete_took:?}"
    );
    assert_up_and_clean(&app).await;
}

fn chain_top(app: &TestApp, u: &TestUser) -> String {
    let conn = app.app.db.conn().unwrap();
    conn.query_row(
        "SELECT n.id FROM nodes n JOIN users u ON n.parent_id = u.root_id WHERE u.id = ?1 AND n.name = 'd1'",
        [&u.id],
        |r| r.get(0),
    )
    .unwrap()
}

/// A database made before the limit may hold a 4,000-level tree: every door deals with it
/// without recursion — refuses to copy or move it deeper, deletes it whole — and stays up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_tree_4000_levels_deep_is_refused_or_deleted_never_a_crash() {
    let app = spawn_app().await;
    let u = app.register("legacy").await;
    let root = root_id(&app, &u);
    let top_a = legacy_chain(&app, &u, &root, 4000, "a");
    legacy_chain(&app, &u, &root, 4000, "b");
    app.mkdir(&u.token, None, "side").await;
    let base = app.base.clone();
    let before = count_nodes(&app, &u);
    for m in ["COPY", "MOVE"] {
        for cond in [None, Some(("If-None-Match", "\"no-such-etag\""))] {
            let dest = format!("{base}/dav/files/legacy/side/elsewhere/");
            let mut h = vec![("Destination", dest.as_str())];
            h.extend(cond);
            let s = dav_status(&app, m, &drive(&u, "a1/"), &u, &h).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{m} ({cond:?})");
        }
    }
    assert_eq!(count_nodes(&app, &u), before);
    assert_eq!(app.health().await["status"], "ok");
    // dav-server would walk a conditional DELETE level by level: refused for such a tree.
    assert_eq!(
        dav_status(
            &app,
            "DELETE",
            &drive(&u, "a1/"),
            &u,
            &[("If-None-Match", "\"no-such-etag\"")]
        )
        .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(count_nodes(&app, &u), before);
    // Delete one through the API and the other over WebDAV.
    let t = Instant::now();
    let res = app
        .client
        .delete(app.url(&format!("/api/files/{top_a}")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(count_nodes(&app, &u), 4002);
    assert_eq!(
        dav_status(&app, "DELETE", &drive(&u, "b1/"), &u, &[]).await,
        StatusCode::NO_CONTENT
    );
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert_eq!(count_nodes(&app, &u), 2, "only the root and side/ are left");
    // Deleted for good: rows removed deepest first, no cascade 4,000 levels deep.
    let t = std::time::Instant::now();
    empty_trash(&app, &u).await;
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM nodes WHERE owner_id = ?1", &u.id),
        2
    );
    assert_up_and_clean(&app).await;
}
