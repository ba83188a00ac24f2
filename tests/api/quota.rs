//! Exact quotas: parallel uploads never overshoot, refused ones answer 413 quota-exceeded, and
//! used_bytes always equals the sum of stored sizes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_uploads_never_exceed_the_quota() {
    let app =
        spawn_app_with(|c, _| c.default_quota = cloudvault::config::ByteSize(10_000_000)).await;
    let u = app.register("para").await;
    let size = 700_000; // 20 × 0.7 MB = 14 MB against a 10 MB quota
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let (client, url, token) = (
            app.client.clone(),
            app.url("/api/files/upload"),
            u.token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let part =
                reqwest::multipart::Part::bytes(bytes(size, i)).file_name(format!("f{i}.bin"));
            let res = client
                .post(url)
                .bearer_auth(token)
                .multipart(reqwest::multipart::Form::new().part("file", part))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            (status, body)
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            StatusCode::CREATED => ok += 1,
            StatusCode::PAYLOAD_TOO_LARGE => {
                assert_eq!(body["code"], "quota-exceeded", "{body}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(refused > 0 && ok > 0, "ok {ok}, refused {refused}");
    assert_eq!(ok, 14, "as many as fit: 14 × 0.7 MB = 9.8 MB");
    let me = app.me(&u.token).await;
    let used = me["used_bytes"].as_i64().unwrap();
    assert!(used <= 10_000_000);
    let list = app.get_json("/api/files/?limit=100", &u.token).await;
    let listed: i64 = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["size"].as_i64().unwrap())
        .sum();
    assert_eq!(used, listed);
    assert_eq!(used, ok as i64 * size as i64);
    let on_disk: u64 = app.bodies_on_disk().iter().map(|(_, s)| s).sum();
    assert_eq!(on_disk as i64, used, "no partial bodies on disk");
    wait_until(
        "refused uploads cleaned up",
        std::time::Duration::from_secs(5),
        || {
            app.temp_files() == 0
                && app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id) == 0
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_fits_exactly_is_accepted() {
    let app =
        spawn_app_with(|c, _| c.default_quota = cloudvault::config::ByteSize(1_000_000)).await;
    let u = app.register("exact").await;
    app.upload_one(&u.token, "", "a.bin", bytes(600_000, 1))
        .await;
    let r = app
        .upload(&u.token, "", &[("b.bin", bytes(400_001, 2))])
        .await;
    assert_error(r, StatusCode::PAYLOAD_TOO_LARGE, "quota-exceeded").await;
    app.upload_one(&u.token, "", "b.bin", bytes(400_000, 2))
        .await;
    assert_eq!(app.me(&u.token).await["used_bytes"], 1_000_000);
    let r = app.upload(&u.token, "", &[("c.bin", bytes(1, 3))]).await;
    assert_error(r, StatusCode::PAYLOAD_TOO_LARGE, "quota-exceeded").await;
    // An empty file takes no space and is always accepted.
    app.upload_one(&u.token, "", "empty", vec![]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowering_the_quota_refuses_writes_and_deletes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let u = app.register("shrink").await;
    let f = app
        .upload_one(&u.token, "", "big.bin", bytes(50_000, 1))
        .await;
    let r = app
        .client
        .put(app.url(&format!("/api/admin/users/{}/quota", u.id)))
        .bearer_auth(&admin.token)
        .json(&json!({"quota_bytes": 10_000}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .upload(&u.token, "", &[("more.bin", bytes(10, 1))])
        .await;
    assert_error(r, StatusCode::PAYLOAD_TOO_LARGE, "quota-exceeded").await;
    assert_eq!(
        app.download(&u.token, f["id"].as_str().unwrap()).await,
        bytes(50_000, 1)
    );
    let me = app.me(&u.token).await;
    assert_eq!(me["used_bytes"], 50_000);
    assert_eq!(me["quota_bytes"], 10_000);
    // A delete puts the file in the trash (still counted); the next write that needs the room
    // frees it, and works again once under the quota.
    app.client
        .delete(app.url(&format!("/api/files/{}", f["id"].as_str().unwrap())))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(app.me(&u.token).await["used_bytes"], 50_000);
    app.upload_one(&u.token, "", "small.bin", bytes(9_000, 1))
        .await;
    assert_eq!(app.me(&u.token).await["used_bytes"], 9_000);
    assert_eq!(app.get_json("/api/trash", &u.token).await["total"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_keeps_the_old_body_counted_until_room_is_needed() {
    let app = spawn_app_with(|c, _| c.default_quota = cloudvault::config::ByteSize(100_000)).await;
    let u = app.register("over").await;
    app.upload_one(&u.token, "", "f.bin", bytes(40_000, 1))
        .await;
    // Versions are thinned to one per second: these overwrites are seconds apart.
    app.app.store.keep.advance(2_000);
    app.upload_one(
        &u.token,
        "?on_conflict=overwrite",
        "f.bin",
        bytes(50_000, 2),
    )
    .await;
    // The 40,000 bytes replaced are a version.
    assert_eq!(app.me(&u.token).await["used_bytes"], 90_000);
    app.app.store.keep.advance(2_000);
    app.upload_one(&u.token, "?on_conflict=overwrite", "f.bin", bytes(10, 3))
        .await;
    assert_eq!(app.me(&u.token).await["used_bytes"], 90_010);
    // 20,000 more do not fit: the oldest version (40,000) makes the room.
    app.upload_one(&u.token, "", "g.bin", bytes(20_000, 4))
        .await;
    assert_eq!(app.me(&u.token).await["used_bytes"], 70_010);
    app.assert_usage_consistent(&u).await;
}
