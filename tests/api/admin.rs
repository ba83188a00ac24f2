//! Admin API: users with usage, quotas, invite codes, volumes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_quotas_and_invites() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let u = app.register("member").await;
    app.upload_one(&u.token, "", "a.bin", bytes(1234, 1)).await;

    let users = app.get_json("/api/admin/users", &admin.token).await;
    let users = users["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    let m = users.iter().find(|x| x["username"] == "member").unwrap();
    assert_eq!(m["used_bytes"], 1234);
    assert_eq!(m["quota_bytes"], 1 << 30);
    assert!(
        users
            .iter()
            .any(|x| x["username"] == "root" && x["is_admin"] == true)
    );

    let put = |id: String, body: Value| {
        app.client
            .put(app.url(&format!("/api/admin/users/{id}/quota")))
            .bearer_auth(&admin.token)
            .json(&body)
            .send()
    };
    let r = put(u.id.clone(), json!({"quota": "50GB"})).await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["quota_bytes"], 50_000_000_000i64);
    let r = put(u.id.clone(), json!({"quota_bytes": 2048}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.me(&u.token).await["quota_bytes"], 2048);
    let r = put(u.id.clone(), json!({"quota": "lots"})).await.unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-quota").await;
    let r = put(uuid::Uuid::new_v4().to_string(), json!({"quota_bytes": 1}))
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "user-not-found").await;

    // Invite codes: create several with an expiry, list the active ones, use one.
    let r = app
        .post_json(
            "/api/admin/invite-codes",
            Some(&admin.token),
            json!({"count": 3, "expires_in": "2d"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let made: Value = r.json().await.unwrap();
    let codes: Vec<String> = made["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 3);
    let r = app
        .client
        .post(app.url("/api/admin/invite-codes"))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "an empty body makes one code"
    );
    let r = app
        .post_json(
            "/api/admin/invite-codes",
            Some(&admin.token),
            json!({"count": 1000}),
        )
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-count").await;
    let r = app
        .post_json(
            "/api/admin/invite-codes",
            Some(&admin.token),
            json!({"expires_in": "soon"}),
        )
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-expiry").await;

    let reg = app
        .post_json(
            "/api/auth/register",
            None,
            json!({"invite_code": codes[0], "username": "newbie", "password": PASSWORD}),
        )
        .await;
    assert_eq!(reg.status(), StatusCode::CREATED);
    let active = app.get_json("/api/admin/invite-codes", &admin.token).await;
    let active: Vec<&str> = active["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(active.len(), 3, "4 made, 1 used");
    assert!(
        !active.contains(&codes[0].as_str()),
        "a used code is not active"
    );
    assert!(active.contains(&codes[1].as_str()));

    let vols = app.get_json("/api/admin/volumes", &admin.token).await;
    assert_eq!(vols["volumes"][0]["online"], true);
    assert!(vols["volumes"][0]["free_bytes"].as_u64().unwrap() > 0);
}
