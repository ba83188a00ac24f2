//! Versions: overwriting a file keeps the old body as a version of the same file, thinned by
//! age (checked with the store's clock stopped at exact times), downloadable and restorable.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const S: i64 = 1000;
const H: i64 = 3600 * S;
const D: i64 = 24 * H;
/// A whole number of weeks since the epoch: every slot boundary falls on it.
const T0: i64 = 2_900 * 7 * D;

fn body(k: usize) -> Vec<u8> {
    bytes(1_000 + k, k as u8)
}

async fn versions(app: &TestApp, u: &TestUser, id: &str) -> Vec<Value> {
    app.get_json(&format!("/api/files/{id}/versions"), &u.token)
        .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn ms(rfc3339: &Value) -> i64 {
    let t = humantime::parse_rfc3339(rfc3339.as_str().unwrap()).unwrap();
    t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// The times (relative to T0) the file's versions were made, newest first.
async fn made(app: &TestApp, u: &TestUser, id: &str) -> Vec<i64> {
    versions(app, u, id)
        .await
        .iter()
        .map(|v| ms(&v["created_at"]) - T0)
        .collect()
}

async fn version_content(app: &TestApp, u: &TestUser, id: &str, vid: &str) -> Vec<u8> {
    let r = app
        .get(&format!("/api/files/{id}/versions/{vid}/content"), &u.token)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes().await.unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_overwrites_keep_thinned_versions_that_restore_and_download() {
    let app = spawn_app().await;
    let u = app.register("alice").await;
    let clock = &app.app.store.keep;
    clock.freeze_at(T0);
    let path = format!("/dav/files/{}/report.txt", u.username);
    let put = |k: usize| {
        app.dav("PUT", &path, "alice", PASSWORD)
            .body(body(k))
            .send()
    };
    assert_eq!(put(0).await.unwrap().status(), StatusCode::CREATED);
    let id = app.all_nodes(&u.token).await[0].1["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Overwrites 1–10 through WebDAV: six within 3 s, then four within 200 s.
    let webdav_at = [
        200,
        400,
        1_200,
        1_500,
        1_800,
        3 * S,
        70 * S,
        75 * S,
        130 * S,
        200 * S,
    ];
    for (i, at) in webdav_at.iter().enumerate() {
        clock.freeze_at(T0 + at);
        assert_eq!(put(i + 1).await.unwrap().status(), StatusCode::NO_CONTENT);
        if *at == 3 * S {
            // One per second within the first 10 s: the newest of seconds 3, 1 and 0.
            assert_eq!(made(&app, &u, &id).await, [3 * S, 1_800, 400]);
        }
    }
    // One per minute within the first hour.
    assert_eq!(made(&app, &u, &id).await, [200 * S, 130 * S, 75 * S, 3 * S]);
    app.assert_usage_consistent(&u).await;

    // Overwrites 11–15 through the API, hours later: one per hour beyond the first hour.
    let api_at = [
        2 * H,
        2 * H + 600 * S,
        2 * H + 3_000 * S,
        3 * H + 300 * S,
        3 * H + 360 * S,
    ];
    for (i, at) in api_at.iter().enumerate() {
        clock.freeze_at(T0 + at);
        let f = app
            .upload_one(
                &u.token,
                "?on_conflict=overwrite",
                "report.txt",
                body(11 + i),
            )
            .await;
        assert_eq!(f["id"], id.as_str(), "an overwrite keeps the file's id");
    }
    let kept = made(&app, &u, &id).await;
    assert_eq!(
        kept,
        [
            3 * H + 360 * S,
            3 * H + 300 * S,
            2 * H + 3_000 * S,
            2 * H + 600 * S,
            200 * S
        ]
    );
    app.assert_usage_consistent(&u).await;

    // Each version holds the body the overwrite made at that time replaced.
    let vs = versions(&app, &u, &id).await;
    let expect = [14, 13, 12, 11, 9];
    for (v, k) in vs.iter().zip(expect) {
        assert_eq!(v["size"], body(k).len() as i64);
        assert_eq!(
            version_content(&app, &u, &id, v["id"].as_str().unwrap()).await,
            body(k)
        );
    }
    // Restore the oldest (body 9): the file has it again; the current body (15) is a version.
    clock.freeze_at(T0 + 3 * H + 400 * S);
    let oldest = vs.last().unwrap()["id"].as_str().unwrap().to_string();
    let r = app
        .client
        .post(app.url(&format!("/api/files/{id}/versions/{oldest}/restore")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.download(&u.token, &id).await, body(9));
    let vs = versions(&app, &u, &id).await;
    assert_eq!(vs.len(), 5);
    assert!(!vs.iter().any(|v| v["id"] == oldest.as_str()));
    assert_eq!(
        version_content(&app, &u, &id, vs[0]["id"].as_str().unwrap()).await,
        body(15)
    );
    app.assert_usage_consistent(&u).await;

    // Overwrites 16–20, days apart: one per day within 30 days, one per week beyond.
    let days_at = [D + H, 2 * D + 3 * H, 2 * D + 20 * H, 9 * D, 40 * D];
    for (i, at) in days_at.iter().enumerate() {
        clock.freeze_at(T0 + at);
        let f = app
            .upload_one(
                &u.token,
                "?on_conflict=overwrite",
                "report.txt",
                body(16 + i),
            )
            .await;
        assert_eq!(f["id"], id.as_str());
    }
    assert_eq!(made(&app, &u, &id).await, [40 * D, 9 * D, 2 * D + 20 * H]);
    let vs = versions(&app, &u, &id).await;
    for (v, k) in vs.iter().zip([19, 18, 17]) {
        assert_eq!(
            version_content(&app, &u, &id, v["id"].as_str().unwrap()).await,
            body(k)
        );
    }
    assert_eq!(app.download(&u.token, &id).await, body(20));
    app.assert_usage_consistent(&u).await;

    // Past versions_max_age (180 days) the sweep removes them all.
    clock.freeze_at(T0 + 221 * D);
    let (_, removed) = app.app.store.sweep_trash_and_versions().await.unwrap();
    assert_eq!(removed, 3);
    assert!(versions(&app, &u, &id).await.is_empty());
    wait_until(
        "old bodies unlinked",
        std::time::Duration::from_secs(5),
        || app.bodies_on_disk().len() == 1,
    )
    .await;
    app.assert_usage_consistent(&u).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_are_the_owners_alone_and_free_room_when_needed() {
    let app = spawn_app().await;
    let u = app.register("bob").await;
    app.set_quota(&u, 10_000);
    let f = app.upload_one(&u.token, "", "a.bin", bytes(3_000, 1)).await;
    let id = f["id"].as_str().unwrap().to_string();
    app.app.store.keep.advance(10 * S);
    app.upload_one(&u.token, "?on_conflict=overwrite", "a.bin", bytes(3_000, 2))
        .await;
    assert_eq!(versions(&app, &u, &id).await.len(), 1);
    assert_eq!(app.assert_usage_consistent(&u).await, 6_000);

    // An empty body (what a LOCK of a new name makes) is not kept as a version.
    let e = app.upload_one(&u.token, "", "e.txt", Vec::new()).await;
    app.upload_one(
        &u.token,
        "?on_conflict=overwrite",
        "e.txt",
        b"text".to_vec(),
    )
    .await;
    assert!(
        versions(&app, &u, e["id"].as_str().unwrap())
            .await
            .is_empty()
    );
    assert_eq!(app.assert_usage_consistent(&u).await, 6_004);

    // Another user cannot list, read, restore or delete them.
    let eve = app.register("eve").await;
    let vid = versions(&app, &u, &id).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (m, p) in [
        ("GET", format!("/api/files/{id}/versions")),
        ("GET", format!("/api/files/{id}/versions/{vid}/content")),
        ("POST", format!("/api/files/{id}/versions/{vid}/restore")),
        ("DELETE", format!("/api/files/{id}/versions/{vid}")),
    ] {
        let r = app
            .client
            .request(method(m), app.url(&p))
            .bearer_auth(&eve.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{m} {p}");
    }

    // An upload that needs the room frees the oldest version (there is no trash).
    let r = app
        .upload(&u.token, "", &[("b.bin", bytes(5_000, 3))])
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(versions(&app, &u, &id).await.is_empty());
    assert_eq!(app.assert_usage_consistent(&u).await, 8_004);
    let r = app
        .get(&format!("/api/files/{id}/versions/{vid}/content"), &u.token)
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "version-not-found").await;
}
