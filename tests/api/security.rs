//! Isolation and names: another user's ids answer exactly like missing ones on every route;
//! hostile names are refused or normalized and never reach the disk.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_ids_are_404_on_every_route() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let thief = app.register("thief").await;
    let folder = app.mkdir(&owner.token, None, "private").await;
    let fid = folder["id"].as_str().unwrap().to_string();
    let file = app
        .upload_one(
            &owner.token,
            &format!("?folder={fid}"),
            "secret.txt",
            b"top secret".to_vec(),
        )
        .await;
    let id = file["id"].as_str().unwrap().to_string();
    let missing = uuid::Uuid::new_v4().to_string();

    for target in [&id, &missing] {
        let t = &thief.token;
        let answers = vec![
            app.get(&format!("/api/files/{target}"), t).await,
            app.get(&format!("/api/files/{target}/download"), t).await,
            app.get(&format!("/api/files/{target}/thumbnail"), t).await,
            app.client
                .delete(app.url(&format!("/api/files/{target}")))
                .bearer_auth(t)
                .send()
                .await
                .unwrap(),
            app.client
                .patch(app.url(&format!("/api/files/{target}")))
                .bearer_auth(t)
                .json(&json!({"name": "mine.txt"}))
                .send()
                .await
                .unwrap(),
        ];
        let mut bodies = Vec::new();
        for r in answers {
            bodies.push(assert_error(r, StatusCode::NOT_FOUND, "not-found").await);
        }
        assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    }
    // Their folder as a target: listing, uploading into, creating in, moving into.
    let t = &thief.token;
    let r = app.get(&format!("/api/files/?folder={fid}"), t).await;
    assert_error(r, StatusCode::NOT_FOUND, "folder-not-found").await;
    let r = app
        .upload(
            t,
            &format!("?folder={fid}"),
            &[("planted.txt", b"x".to_vec())],
        )
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "folder-not-found").await;
    let r = app
        .post_json(
            "/api/files/folders",
            Some(t),
            json!({"parent_id": fid, "name": "planted"}),
        )
        .await;
    assert_error(r, StatusCode::NOT_FOUND, "folder-not-found").await;
    let mine = app.upload_one(t, "", "mine.txt", b"mine".to_vec()).await;
    let r = app
        .client
        .patch(app.url(&format!("/api/files/{}", mine["id"].as_str().unwrap())))
        .bearer_auth(t)
        .json(&json!({"parent_id": fid}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "folder-not-found").await;
    // Not-UUID ids look missing too.
    let r = app.get("/api/files/1", t).await;
    assert_error(r, StatusCode::NOT_FOUND, "not-found").await;
    let r = app
        .get("/api/files/..%2F..%2Fetc%2Fpasswd/download", t)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // The owner still has everything, untouched.
    assert_eq!(app.download(&owner.token, &id).await, b"top secret");
    assert_eq!(
        app.get_json(&format!("/api/files/?folder={fid}"), &owner.token)
            .await["total"],
        1
    );
    // And the thief's listing shows only their own file.
    let list = app.get_json("/api/files/", t).await;
    assert_eq!(list["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_are_refused_and_unicode_is_normalized() {
    let app = spawn_app().await;
    let u = app.register("namer").await;
    let long = "x".repeat(300);
    for bad in [
        "a/b.txt",
        "..",
        ".",
        "../../etc/passwd",
        "nul\0byte",
        "back\\slash",
        long.as_str(),
        "line\nbreak",
        "   ",
    ] {
        let r = app.upload(&u.token, "", &[(bad, b"x".to_vec())]).await;
        if bad.contains(['\n', '\0']) {
            // Raw NUL or line breaks cannot travel in a multipart header: the request is malformed.
            assert_error(r, StatusCode::BAD_REQUEST, "invalid-multipart").await;
        } else {
            assert_error(r, StatusCode::BAD_REQUEST, "invalid-name").await;
        }
        let r = app
            .post_json("/api/files/folders", Some(&u.token), json!({"name": bad}))
            .await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid-name").await;
    }
    let f = app.upload_one(&u.token, "", "ok.txt", b"x".to_vec()).await;
    let r = app
        .client
        .patch(app.url(&format!("/api/files/{}", f["id"].as_str().unwrap())))
        .bearer_auth(&u.token)
        .json(&json!({"name": "../escape.txt"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-name").await;

    // NFD in, NFC stored; the NFC spelling then clashes with it.
    let nfd = app
        .upload_one(&u.token, "", "Cafe\u{301}.txt", b"1".to_vec())
        .await;
    assert_eq!(nfd["name"], "Caf\u{e9}.txt");
    let r = app
        .upload(&u.token, "", &[("Caf\u{e9}.txt", b"2".to_vec())])
        .await;
    assert_error(r, StatusCode::CONFLICT, "name-exists").await;
    let emoji = app
        .upload_one(&u.token, "", "🐕 на пляже.txt", b"3".to_vec())
        .await;
    assert_eq!(emoji["name"], "🐕 на пляже.txt");

    // Nothing was written anywhere but under the user's own folder, with generated names.
    let data_dir = app.config.data_dir.clone();
    let users_dir = app.volume_path().join("users").join(&u.id).join("files");
    for (path, _) in walk(app.dir.path()) {
        let rel = path.strip_prefix(&data_dir).unwrap_or(&path);
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .to_string();
        if top == "volume" && !rel.ends_with(".cloudvault-volume") {
            assert_eq!(path.parent().unwrap(), users_dir, "{}", path.display());
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            assert!(uuid::Uuid::parse_str(&stem).is_ok(), "{}", path.display());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_need_the_admin_role() {
    let app = spawn_app().await;
    let u = app.register("plain").await;
    let id = &u.id;
    let routes: Vec<(reqwest::Method, String)> = vec![
        (reqwest::Method::GET, "/api/admin/users".into()),
        (reqwest::Method::PUT, format!("/api/admin/users/{id}/quota")),
        (reqwest::Method::POST, "/api/admin/invite-codes".into()),
        (reqwest::Method::GET, "/api/admin/invite-codes".into()),
        (reqwest::Method::GET, "/api/admin/access-requests".into()),
        (reqwest::Method::GET, "/api/admin/volumes".into()),
    ];
    for (m, path) in &routes {
        let r = app
            .client
            .request(m.clone(), app.url(path))
            .bearer_auth(&u.token)
            .json(&json!({"quota_bytes": 1}))
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
        let r = app
            .client
            .request(m.clone(), app.url(path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let me: Value = app.me(&u.token).await;
    assert_eq!(
        me["quota_bytes"],
        1 << 30,
        "the refused quota change did nothing"
    );
}

/// A JSON body is an object: serde's structs would also take the fields as an array in order
/// (`["user","password"]`), which no client sends. Refused with 400 `invalid-json`, and
/// nothing happens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_bodies_must_be_objects() {
    let app = spawn_app().await;
    let u = app.register("arrays").await;
    let r = app
        .post_json("/api/auth/login", None, json!(["arrays", PASSWORD]))
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-json").await;
    let r = app
        .post_json("/api/auth/login", None, json!(["arrays", PASSWORD, false]))
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-json").await;
    for body in [json!([null, "planted"]), json!("planted"), json!(42)] {
        let r = app
            .post_json("/api/files/folders", Some(&u.token), body)
            .await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid-json").await;
    }
    assert_eq!(app.get_json("/api/files/", &u.token).await["total"], 0);
    // The refresh route reads its (optional) body by hand: the same rule.
    let r = app
        .post_json("/api/auth/refresh", None, json!([u.refresh]))
        .await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-json").await;
    let r = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": u.refresh}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "the token was not spent");
    // Objects still work.
    app.login("arrays", PASSWORD).await;
    app.mkdir(&u.token, None, "real").await;
}
