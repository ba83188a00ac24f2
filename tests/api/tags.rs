//! Tags and text search through the API and the read-only WebDAV views: the user's tags win
//! over the model's, tags and names are found, and nobody sees another user's files.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

async fn put_tag(app: &TestApp, token: &str, id: &str, tag: &str) -> reqwest::Response {
    let path = format!(
        "/api/files/{id}/tags/{}",
        percent_encoding::utf8_percent_encode(tag, percent_encoding::NON_ALPHANUMERIC)
    );
    app.client
        .put(app.url(&path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn delete_tag(app: &TestApp, token: &str, id: &str, tag: &str) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/api/files/{id}/tags/{tag}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn tag_names(v: &Value) -> Vec<String> {
    v["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn users_tag_files_and_find_them_by_tag() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let a = app
        .upload_one(&alice.token, "", "one.txt", b"1".to_vec())
        .await;
    let b = app
        .upload_one(&alice.token, "", "two.txt", b"2".to_vec())
        .await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());

    let r = put_tag(&app, &alice.token, a, "  Holiday ").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        tag_names(&r.json().await.unwrap()),
        ["holiday"],
        "trimmed and lower-cased"
    );
    put_tag(&app, &alice.token, b, "holiday").await;
    put_tag(&app, &alice.token, b, "Zürich").await;

    let tags = app.get_json("/api/tags/", &alice.token).await;
    assert_eq!(tags["tags"][0]["tag"], "holiday");
    assert_eq!(tags["tags"][0]["count"], 2);
    assert_eq!(tags["tags"][1]["tag"], "zürich");

    let page = app
        .get_json("/api/tags/holiday/files?limit=1", &alice.token)
        .await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let v = app.get_json(&format!("/api/files/{b}"), &alice.token).await;
    let sources: Vec<&str> = v["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["user", "user"]);

    let r = delete_tag(&app, &alice.token, b, "holiday").await;
    assert_eq!(tag_names(&r.json().await.unwrap()), ["zürich"]);
    assert_eq!(
        app.get_json("/api/tags/holiday/files", &alice.token).await["total"],
        1
    );

    for bad in ["a%2Fb", "%20", &"x".repeat(65)] {
        let r = put_tag(
            &app,
            &alice.token,
            a,
            &percent_encoding::percent_decode_str(bad).decode_utf8_lossy(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    // Bob can neither tag nor see Alice's files or tags.
    let bob = app.register("bob").await;
    let r = put_tag(&app, &bob.token, a, "mine").await;
    assert_error(r, StatusCode::NOT_FOUND, "not-found").await;
    assert_eq!(
        app.get_json("/api/tags/", &bob.token).await["tags"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        app.get_json("/api/tags/holiday/files", &bob.token).await["total"],
        0
    );
}

#[tokio::test]
async fn a_tag_the_user_removed_never_comes_back_from_the_model() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let f = app
        .upload_one(&alice.token, "", "dog.txt", b"woof".to_vec())
        .await;
    let id = f["id"].as_str().unwrap();
    // What the CLIP job does after scoring a picture.
    let c = app.app.db.conn().unwrap();
    cloudvault::db::tags::replace_auto_tags(
        &c,
        id,
        &alice.id,
        &[("dog".into(), 0.31), ("beach".into(), 0.22)],
        1,
    )
    .unwrap();
    let v = app
        .get_json(&format!("/api/files/{id}"), &alice.token)
        .await;
    assert_eq!(tag_names(&v), ["dog", "beach"]);
    assert_eq!(v["tags"][0]["source"], "auto");

    delete_tag(&app, &alice.token, id, "beach").await;
    put_tag(&app, &alice.token, id, "pet").await;
    cloudvault::db::tags::replace_auto_tags(
        &c,
        id,
        &alice.id,
        &[("dog".into(), 0.4), ("beach".into(), 0.5)],
        2,
    )
    .unwrap();
    let v = app
        .get_json(&format!("/api/files/{id}"), &alice.token)
        .await;
    assert_eq!(
        tag_names(&v),
        ["pet", "dog"],
        "user tags first; the removed one stays removed"
    );
    // Taking the removal back restores it as the user's.
    put_tag(&app, &alice.token, id, "beach").await;
    let v = app
        .get_json(&format!("/api/files/{id}"), &alice.token)
        .await;
    assert!(tag_names(&v).contains(&"beach".to_string()));
}

#[tokio::test]
async fn text_search_finds_names_and_tags_and_says_why() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let beach = app
        .upload_one(&alice.token, "", "Beach day.txt", b"1".to_vec())
        .await;
    let other = app
        .upload_one(&alice.token, "", "notes.txt", b"2".to_vec())
        .await;
    put_tag(&app, &alice.token, other["id"].as_str().unwrap(), "beach").await;
    app.upload_one(&alice.token, "", "unrelated.txt", b"3".to_vec())
        .await;
    let bob = app.register("bob").await;
    app.upload_one(&bob.token, "", "beach.txt", b"bob".to_vec())
        .await;

    let v = app.get_json("/api/search?q=Beach", &alice.token).await;
    assert_eq!(v["total"], 2, "{v}");
    assert_eq!(v["semantic"], false);
    let code = v["model_status"]["code"].as_str().unwrap();
    assert!(
        code == "model-not-installed" || code == "runtime-missing",
        "{v}"
    );
    assert!(v["model_status"]["message"].as_str().unwrap().len() > 10);
    let items = v["items"].as_array().unwrap();
    let why = |id: &Value| {
        items
            .iter()
            .find(|i| i["file"]["id"] == *id)
            .map(|i| i["reasons"].clone())
            .unwrap()
    };
    assert_eq!(why(&beach["id"])[0]["kind"], "name");
    assert_eq!(
        why(&other["id"])[0],
        serde_json::json!({"kind": "tag", "tag": "beach"})
    );
    assert!(items.iter().all(|i| i["score"].as_f64().unwrap() > 0.0));

    let r = app.get("/api/search?q=%20%20", &alice.token).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-query").await;
    let r = app
        .client
        .get(app.url("/api/search?q=beach"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Wildcards are text, not patterns.
    assert_eq!(
        app.get_json("/api/search?q=%25", &alice.token).await["total"],
        0
    );
}

#[tokio::test]
async fn webdav_tag_and_search_views_list_and_stream_real_files_read_only() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let folder = app.mkdir(&alice.token, None, "trip").await;
    let f1 = app
        .upload_one(&alice.token, "", "sea.txt", b"top level".to_vec())
        .await;
    let f2 = app
        .upload_one(
            &alice.token,
            &format!("?folder={}", folder["id"].as_str().unwrap()),
            "sea.txt",
            b"in a folder".to_vec(),
        )
        .await;
    for f in [&f1, &f2] {
        put_tag(&app, &alice.token, f["id"].as_str().unwrap(), "sea side").await;
    }
    let r = app
        .dav("PROPFIND", "/dav/tags/alice/", "alice", PASSWORD)
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let body = r.text().await.unwrap();
    assert!(body.contains("/dav/tags/alice/sea%20side/"), "{body}");

    let r = app
        .dav("PROPFIND", "/dav/tags/alice/sea%20side/", "alice", PASSWORD)
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(
        body.contains("sea.txt") && body.contains("sea%20%282%29.txt"),
        "same names made unique: {body}"
    );
    let mut got = vec![
        app.dav(
            "GET",
            "/dav/tags/alice/sea%20side/sea.txt",
            "alice",
            PASSWORD,
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap(),
        app.dav(
            "GET",
            "/dav/tags/alice/sea%20side/sea%20(2).txt",
            "alice",
            PASSWORD,
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap(),
    ];
    got.sort();
    assert_eq!(got, ["in a folder", "top level"]);

    let r = app
        .dav("GET", "/dav/search/alice/sea/sea.txt", "alice", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .dav("PROPFIND", "/dav/search/alice/sea/", "alice", PASSWORD)
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    assert!(r.text().await.unwrap().contains("sea.txt"));

    // Read-only: nothing can be written, moved or deleted through a view.
    for (m, path) in [
        ("PUT", "/dav/tags/alice/sea%20side/new.txt"),
        ("DELETE", "/dav/tags/alice/sea%20side/sea.txt"),
        ("MKCOL", "/dav/tags/alice/newtag/"),
        ("PUT", "/dav/search/alice/sea/x.txt"),
    ] {
        let r = app
            .dav(m, path, "alice", PASSWORD)
            .body("x")
            .send()
            .await
            .unwrap();
        assert!(
            r.status() == StatusCode::METHOD_NOT_ALLOWED || r.status() == StatusCode::FORBIDDEN,
            "{m} {path}: {}",
            r.status()
        );
    }
    assert_eq!(
        app.download(&alice.token, f1["id"].as_str().unwrap()).await,
        b"top level"
    );

    // Another user's views: refused without saying whether anything is there.
    app.register("bob").await;
    for path in [
        "/dav/tags/alice/",
        "/dav/tags/alice/sea%20side/sea.txt",
        "/dav/search/alice/sea/",
        "/dav/tags/nobody/",
    ] {
        let r = app
            .dav("PROPFIND", path, "bob", PASSWORD)
            .header("depth", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let r = app
        .dav("PROPFIND", "/dav/tags/bob/sea%20side/", "bob", PASSWORD)
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "bob has no such tag");
}
