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

/// An access request answered with an invite: one call makes the code (which registers), records
/// the answer in the audit log and removes the request; a second answer finds nothing; users
/// cannot answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_request_answered_with_an_invite() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let plain = app.register("plain").await;
    for (name, contact) in [("Kim", "kim@example.org"), ("Lee", "lee@example.org")] {
        let r = app
            .post_json(
                "/api/auth/request-access",
                None,
                json!({"name": name, "contact": contact, "message": "may I?"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }
    let list = app
        .get_json("/api/admin/access-requests", &admin.token)
        .await;
    let kim = list["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Kim")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/admin/access-requests/{kim}/invite");

    let r = app.post_json(&path, Some(&plain.token), json!({})).await;
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = app
        .post_json(&path, Some(&admin.token), json!({"expires_in": "soon"}))
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-expiry").await;
    let r = app
        .post_json(&path, Some(&admin.token), json!({"count": 2}))
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-json").await;

    let r = app
        .post_json(&path, Some(&admin.token), json!({"expires_in": "3d"}))
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let made: Value = r.json().await.unwrap();
    assert_eq!(made["request_id"], kim.as_str());
    let code = made["code"].as_str().unwrap().to_string();
    let created = humantime::parse_rfc3339(made["created_at"].as_str().unwrap()).unwrap();
    let expires = humantime::parse_rfc3339(made["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        expires.duration_since(created).unwrap().as_secs(),
        3 * 86400
    );

    // The request is gone, the other stays; the code is an active invite.
    let list = app
        .get_json("/api/admin/access-requests", &admin.token)
        .await;
    let names: Vec<&str> = list["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Lee"]);
    let invites = app.get_json("/api/admin/invite-codes", &admin.token).await;
    assert!(
        invites["codes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["code"] == code.as_str())
    );

    // Answered once: a second answer (or a dismissal) finds no request.
    let r = app.post_json(&path, Some(&admin.token), json!({})).await;
    assert_error(r, StatusCode::NOT_FOUND, "request-not-found").await;

    // Audited, with who asked.
    let log = app
        .get_json(
            "/api/admin/audit?action=access-request-invite",
            &admin.token,
        )
        .await;
    let entries = log["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(entries[0]["actor"]["username"], "root");
    assert_eq!(entries[0]["target"]["id"], kim.as_str());
    assert_eq!(entries[0]["detail"]["name"], "Kim");

    // The code registers Kim; an empty body takes the default lifetime.
    let r = app
        .post_json(
            "/api/auth/register",
            None,
            json!({"invite_code": code, "username": "kim", "password": "tulip-orbit-92"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let lee = app
        .get_json("/api/admin/access-requests", &admin.token)
        .await["requests"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .client
        .post(app.url(&format!("/api/admin/access-requests/{lee}/invite")))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}
