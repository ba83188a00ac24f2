//! Share links through the real server: a folder with a password, a view-only file, an album;
//! the guest's items, thumbnails, downloads and the streamed zip (its bytes read back); every id
//! and path outside the share answering 404; revocation, expiry, the owner's list, the audit log,
//! and the rate limits on guessing links and passwords.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> reqwest::Response {
    let mut r = app.client.post(app.url(path)).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap()
}

/// A guest request (no account) to the share's public API.
async fn guest(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.unwrap()
}

async fn share(app: &TestApp, token: &str, body: Value) -> Value {
    let r = post(app, "/api/shares", Some(token), body).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json().await.unwrap()
}

/// The zip's entries: (path, bytes), read with async_zip's reader.
async fn unzip(bytes: Vec<u8>) -> Vec<(String, Vec<u8>)> {
    let reader = async_zip::base::read::mem::ZipFileReader::new(bytes)
        .await
        .expect("a zip");
    let mut out = Vec::new();
    for i in 0..reader.file().entries().len() {
        let name = reader.file().entries()[i]
            .filename()
            .as_str()
            .unwrap()
            .to_string();
        let mut e = reader.reader_with_entry(i).await.unwrap();
        let mut data = Vec::new();
        e.read_to_end_checked(&mut data).await.unwrap();
        out.push((name, data));
    }
    out.sort();
    out
}

#[tokio::test]
async fn a_folder_link_with_a_password_shows_that_folder_and_nothing_else() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let trip = app.mkdir(&alice.token, None, "Trip").await;
    let trip_id = trip["id"].as_str().unwrap().to_string();
    let day2 = app.mkdir(&alice.token, Some(&trip_id), "Day 2").await;
    let day2_id = day2["id"].as_str().unwrap().to_string();
    let (a, b, c) = (
        jpeg_bytes(&picture(64, 48, [200, 10, 10])),
        jpeg_bytes(&picture(64, 48, [10, 200, 10])),
        bytes(300_000, 7),
    );
    let up = |q: String, name: &'static str, body: Vec<u8>| {
        let app = &app;
        let t = alice.token.clone();
        async move {
            app.upload_one(&t, &q, name, body).await["id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let a_id = up(format!("?folder={trip_id}"), "a.jpg", a.clone()).await;
    let _b_id = up(format!("?folder={trip_id}"), "b.jpg", b.clone()).await;
    let c_id = up(format!("?folder={day2_id}"), "c.bin", c.clone()).await;
    let secret = up(
        String::new(),
        "secret.jpg",
        jpeg_bytes(&picture(64, 48, [1, 2, 3])),
    )
    .await;
    let bobs = app
        .upload_one(
            &bob.token,
            "",
            "bob.jpg",
            jpeg_bytes(&picture(8, 8, [9, 9, 9])),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.run_pending_jobs().await;

    let s = share(
        &app,
        &alice.token,
        json!({"kind": "folder", "target_id": trip_id, "password": "hunter22"}),
    )
    .await;
    let token = s["token"].as_str().unwrap().to_string();
    assert!(token.len() >= 43, "at least 256 bits: {token}");
    assert_eq!(s["url"], format!("/s/{token}"));
    assert_eq!(
        (
            s["name"].as_str(),
            s["has_password"].as_bool(),
            s["allow_download"].as_bool()
        ),
        (Some("Trip"), Some(true), Some(true))
    );
    let base = format!("/api/public/shares/{token}");

    // Locked: what it is, nothing of what is in it.
    let info: Value = guest(&app, &base).await.json().await.unwrap();
    assert_eq!(
        info,
        json!({"kind": "folder", "name": "Trip", "owner": "alice", "has_password": true, "unlocked": false, "allow_download": true, "expires_at": null})
    );
    for p in [
        format!("{base}/items"),
        format!("{base}/files/{a_id}/thumbnail"),
        format!("{base}/files/{a_id}/download"),
        format!("{base}/zip"),
    ] {
        assert_error(
            guest(&app, &p).await,
            StatusCode::UNAUTHORIZED,
            "share-password-required",
        )
        .await;
    }
    let r = post(
        &app,
        &format!("{base}/unlock"),
        None,
        json!({"password": "wrong"}),
    )
    .await;
    assert_error(r, StatusCode::UNAUTHORIZED, "share-password-wrong").await;
    let r = post(
        &app,
        &format!("{base}/unlock"),
        None,
        json!({"password": "hunter22"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.starts_with("cv_share=")
            && cookie.contains(&format!("Path={base}"))
            && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let grant = r.json::<Value>().await.unwrap()["grant"]
        .as_str()
        .unwrap()
        .to_string();
    let g = format!("grant={grant}");
    // The cookie opens it as the grant does.
    let r = app
        .client
        .get(app.url(&format!("{base}/items")))
        .header("cookie", cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // Another link's grant does not.
    let other = share(
        &app,
        &alice.token,
        json!({"kind": "file", "target_id": secret, "password": "other-pw"}),
    )
    .await;
    let other_base = format!("/api/public/shares/{}", other["token"].as_str().unwrap());
    assert_error(
        guest(&app, &format!("{other_base}/items?{g}")).await,
        StatusCode::UNAUTHORIZED,
        "share-password-required",
    )
    .await;

    // The grid: folders first; a subfolder with the path back to the top.
    let items: Value = guest(&app, &format!("{base}/items?{g}"))
        .await
        .json()
        .await
        .unwrap();
    let names = |v: &Value, k: &str| -> Vec<String> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&items, "items"), ["Day 2", "a.jpg", "b.jpg"]);
    assert!(
        items["items"][1].get("parent_id").is_none(),
        "no ids of anything outside"
    );
    assert_eq!(items["items"][1]["has_thumbnail"], true);
    let sub: Value = guest(&app, &format!("{base}/items?{g}&folder={day2_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&sub, "items"), ["c.bin"]);
    assert_eq!(names(&sub, "path"), ["Trip", "Day 2"]);
    // Viewer and downloads.
    let r = guest(
        &app,
        &format!("{base}/files/{a_id}/thumbnail?size=large&{g}"),
    )
    .await;
    assert_eq!(
        (r.status(), r.headers()["content-type"].to_str().unwrap()),
        (StatusCode::OK, "image/jpeg")
    );
    let r = guest(&app, &format!("{base}/files/{c_id}/download?{g}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().to_vec(), c);
    // The zip: the tree under the folder's name, every byte.
    let r = guest(&app, &format!("{base}/zip?{g}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/zip");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("Trip.zip")
    );
    let entries = unzip(r.bytes().await.unwrap().to_vec()).await;
    assert_eq!(
        entries,
        vec![
            ("Trip/Day 2/c.bin".to_string(), c.clone()),
            ("Trip/a.jpg".to_string(), a.clone()),
            ("Trip/b.jpg".to_string(), b.clone())
        ]
    );

    // Outside the share: every id, every way in, answers 404 like an unknown one.
    let root = app.get_json("/api/files/", &alice.token).await["folder"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for id in [
        secret.as_str(),
        bobs.as_str(),
        root.as_str(),
        "00000000-0000-0000-0000-000000000000",
        "..",
        "..%2F..%2Fsecret.jpg",
        "%2e%2e",
    ] {
        for p in [
            format!("{base}/items?{g}&folder={id}"),
            format!("{base}/files/{id}/thumbnail?{g}"),
            format!("{base}/files/{id}/download?{g}"),
        ] {
            let r = guest(&app, &p).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{p}");
        }
    }
    // A file of the share asked for as a folder, and the share's own parent.
    assert_eq!(
        guest(&app, &format!("{base}/items?{g}&folder={a_id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // Nothing is written through a link.
    for m in ["PUT", "DELETE", "PATCH"] {
        let r = app
            .client
            .request(
                m.parse().unwrap(),
                app.url(&format!("{base}/files/{a_id}/download?{g}")),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{m}");
    }
    // A file moved out of the shared folder leaves the share at once.
    let r = app
        .client
        .patch(app.url(&format!("/api/files/{a_id}")))
        .bearer_auth(&alice.token)
        .json(&json!({"parent_id": root}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        guest(&app, &format!("{base}/files/{a_id}/download?{g}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // The owner's list; revoking ends it at once; another user cannot revoke it.
    let list = app.get_json("/api/shares", &alice.token).await;
    assert_eq!(list["shares"].as_array().unwrap().len(), 2);
    assert!(
        list["shares"][0]["last_used_at"].is_string()
            || list["shares"][1]["last_used_at"].is_string()
    );
    assert_eq!(
        app.get_json("/api/shares", &bob.token).await["shares"],
        json!([])
    );
    let sid = s["id"].as_str().unwrap();
    let r = app
        .client
        .delete(app.url(&format!("/api/shares/{sid}")))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::NOT_FOUND, "share-not-found").await;
    let r = app
        .client
        .delete(app.url(&format!("/api/shares/{sid}")))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_error(
        guest(&app, &base).await,
        StatusCode::NOT_FOUND,
        "share-not-found",
    )
    .await;
    assert_error(
        guest(&app, &format!("{base}/zip?{g}")).await,
        StatusCode::NOT_FOUND,
        "share-not-found",
    )
    .await;
    // Audited.
    let admin = app.admin("root").await;
    let audit = app
        .get_json("/api/admin/audit?limit=100", &admin.token)
        .await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"share-created") && actions.contains(&"share-revoked"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn view_only_album_and_expiring_links() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut ids = Vec::new();
    for (i, rgb) in [[250, 0, 0], [0, 250, 0], [0, 0, 250]]
        .into_iter()
        .enumerate()
    {
        let name = format!("p{}.jpg", i + 1);
        let up = app
            .upload_one(&alice.token, "", &name, jpeg_bytes(&picture(64, 48, rgb)))
            .await;
        ids.push(up["id"].as_str().unwrap().to_string());
    }
    let (p1, p2, p3) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    app.run_pending_jobs().await;

    // A view-only file: seen, not downloaded.
    let s = share(
        &app,
        &alice.token,
        json!({"kind": "file", "target_id": p1, "allow_download": false}),
    )
    .await;
    let base = format!("/api/public/shares/{}", s["token"].as_str().unwrap());
    let info: Value = guest(&app, &base).await.json().await.unwrap();
    assert_eq!(
        (info["unlocked"].as_bool(), info["allow_download"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(
        guest(&app, &format!("{base}/files/{p1}/thumbnail?size=large"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_error(
        guest(&app, &format!("{base}/files/{p1}/download")).await,
        StatusCode::FORBIDDEN,
        "share-view-only",
    )
    .await;
    assert_error(
        guest(&app, &format!("{base}/zip")).await,
        StatusCode::FORBIDDEN,
        "share-view-only",
    )
    .await;
    assert_eq!(
        guest(&app, &format!("{base}/files/{p2}/thumbnail"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // An album: its items, and only while they are in it.
    let r = post(
        &app,
        "/api/albums",
        Some(&alice.token),
        json!({"name": "Best", "ids": [p1, p2]}),
    )
    .await;
    let album: Value = r.json().await.unwrap();
    let aid = album["id"].as_str().unwrap();
    let s = share(
        &app,
        &alice.token,
        json!({"kind": "album", "target_id": aid}),
    )
    .await;
    let base = format!("/api/public/shares/{}", s["token"].as_str().unwrap());
    let items: Value = guest(&app, &format!("{base}/items"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(items["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        guest(&app, &format!("{base}/files/{p3}/download"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let entries = unzip(
        guest(&app, &format!("{base}/zip"))
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec(),
    )
    .await;
    assert_eq!(
        entries.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["p1.jpg", "p2.jpg"]
    );
    let r = app
        .client
        .delete(app.url(&format!("/api/albums/{aid}/items")))
        .bearer_auth(&alice.token)
        .json(&json!({"ids": [p2]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        guest(&app, &format!("{base}/files/{p2}/download"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // Another user's album, an unknown kind, a short password, a past expiry: refused.
    let bob = app.register("bob").await;
    let r = post(
        &app,
        "/api/shares",
        Some(&bob.token),
        json!({"kind": "album", "target_id": aid}),
    )
    .await;
    assert_error(r, StatusCode::NOT_FOUND, "album-not-found").await;
    let r = post(
        &app,
        "/api/shares",
        Some(&bob.token),
        json!({"kind": "file", "target_id": p1}),
    )
    .await;
    assert_error(r, StatusCode::NOT_FOUND, "not-found").await;
    for body in [
        json!({"kind": "planet", "target_id": p1}),
        json!({"kind": "file", "target_id": p1, "password": "abc"}),
        json!({"kind": "file", "target_id": p1, "expires_at": "2001-01-01T00:00:00Z"}),
    ] {
        let r = post(&app, "/api/shares", Some(&alice.token), body).await;
        assert_error(r, StatusCode::BAD_REQUEST, "invalid-share").await;
    }
    // A folder link to a file is refused as not found (the kind must be what it is).
    let r = post(
        &app,
        "/api/shares",
        Some(&alice.token),
        json!({"kind": "folder", "target_id": p1}),
    )
    .await;
    assert_error(r, StatusCode::NOT_FOUND, "not-found").await;

    // An expiring link works until its time, then answers 404.
    let soon = humantime::format_rfc3339_millis(
        std::time::SystemTime::now() + Duration::from_millis(1500),
    )
    .to_string();
    let s = share(
        &app,
        &alice.token,
        json!({"kind": "file", "target_id": p3, "expires_at": soon}),
    )
    .await;
    let base = format!("/api/public/shares/{}", s["token"].as_str().unwrap());
    assert_eq!(
        guest(&app, &format!("{base}/files/{p3}/download"))
            .await
            .status(),
        StatusCode::OK
    );
    let mut expired = false;
    for _ in 0..50 {
        if guest(&app, &base).await.status() == StatusCode::NOT_FOUND {
            expired = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(expired, "the link expired");
    // The shared file in the trash: the link shows nothing.
    let s = share(&app, &alice.token, json!({"kind": "file", "target_id": p3})).await;
    let base = format!("/api/public/shares/{}", s["token"].as_str().unwrap());
    assert_eq!(guest(&app, &base).await.status(), StatusCode::OK);
    crate::trash::api_delete(&app, &alice, &p3).await;
    assert_error(
        guest(&app, &base).await,
        StatusCode::NOT_FOUND,
        "share-not-found",
    )
    .await;
}

#[tokio::test]
async fn guessing_links_and_passwords_is_rate_limited() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let f = app
        .upload_one(&alice.token, "", "f.txt", b"x".to_vec())
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let s = share(
        &app,
        &alice.token,
        json!({"kind": "file", "target_id": f, "password": "correct horse"}),
    )
    .await;
    let base = format!("/api/public/shares/{}", s["token"].as_str().unwrap());
    // Wrong passwords: refused, then refused without being checked.
    let mut limited = false;
    for _ in 0..12 {
        let r = post(
            &app,
            &format!("{base}/unlock"),
            None,
            json!({"password": "guess"}),
        )
        .await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
            limited = true;
            break;
        }
        assert_error(r, StatusCode::UNAUTHORIZED, "share-password-wrong").await;
    }
    assert!(limited, "password guesses are limited");
    // Even the right one waits now, from this address.
    let r = post(
        &app,
        &format!("{base}/unlock"),
        None,
        json!({"password": "correct horse"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // Unknown links: 404, then 429.
    let mut limited = false;
    for i in 0..40 {
        let r = guest(&app, &format!("/api/public/shares/guess{i:040}")).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        assert_error(r, StatusCode::NOT_FOUND, "share-not-found").await;
    }
    assert!(limited, "link guesses are limited");
}
