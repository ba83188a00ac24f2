//! Names are unique among siblings exactly (after NFC): a case-only rename is an ordinary
//! rename, and two names that differ only in case are two files, through every door.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

fn drive(user: &TestUser, rest: &str) -> String {
    format!("/dav/files/{}/{rest}", user.username)
}

async fn put(app: &TestApp, u: &TestUser, rest: &str, body: &[u8]) -> StatusCode {
    app.dav("PUT", &drive(u, rest), &u.username, PASSWORD)
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
}

async fn get(app: &TestApp, u: &TestUser, rest: &str) -> (StatusCode, Vec<u8>) {
    let r = app
        .dav("GET", &drive(u, rest), &u.username, PASSWORD)
        .send()
        .await
        .unwrap();
    (r.status(), r.bytes().await.unwrap().to_vec())
}

async fn mv(app: &TestApp, u: &TestUser, m: &str, from: &str, to: &str) -> StatusCode {
    let dest = format!("{}{}", app.base, drive(u, to));
    app.dav(m, &drive(u, from), &u.username, PASSWORD)
        .header("Destination", dest)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_only_renames_keep_files_and_folders_over_webdav() {
    let app = spawn_app().await;
    let u = app.register("alice").await;
    let photo = bytes(30_000, 7);
    assert_eq!(
        put(&app, &u, "holiday.jpg", &photo).await,
        StatusCode::CREATED
    );
    let used = app.assert_usage_consistent(&u).await;

    // A file: MOVE to a case variant of its own name.
    assert_eq!(
        mv(&app, &u, "MOVE", "holiday.jpg", "Holiday.JPG").await,
        StatusCode::CREATED
    );
    assert_eq!(
        get(&app, &u, "Holiday.JPG").await,
        (StatusCode::OK, photo.clone())
    );
    assert_eq!(get(&app, &u, "holiday.jpg").await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.assert_usage_consistent(&u).await, used);

    // A folder with what is in it.
    let app_ = &app;
    assert_eq!(
        app_.dav("MKCOL", &drive(&u, "summer/"), "alice", PASSWORD)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    let inner = bytes(5_000, 3);
    assert_eq!(
        put(&app, &u, "summer/beach.jpg", &inner).await,
        StatusCode::CREATED
    );
    assert_eq!(
        mv(&app, &u, "MOVE", "summer/", "Summer/").await,
        StatusCode::CREATED
    );
    assert_eq!(
        get(&app, &u, "Summer/beach.jpg").await,
        (StatusCode::OK, inner.clone())
    );
    assert_eq!(
        get(&app, &u, "summer/beach.jpg").await.0,
        StatusCode::NOT_FOUND
    );

    // COPY to a case variant makes a second file and leaves the source alone.
    assert_eq!(
        put(&app, &u, "beach.jpg", &inner).await,
        StatusCode::CREATED
    );
    assert_eq!(
        mv(&app, &u, "COPY", "beach.jpg", "BEACH.jpg").await,
        StatusCode::CREATED
    );
    assert_eq!(
        get(&app, &u, "beach.jpg").await,
        (StatusCode::OK, inner.clone())
    );
    assert_eq!(
        get(&app, &u, "BEACH.jpg").await,
        (StatusCode::OK, inner.clone())
    );

    // A DELETE of a case variant that does not exist touches nothing (rclone mount sends
    // `DELETE Sunset.jpg` before its rename).
    assert_eq!(
        put(&app, &u, "sunset.jpg", b"sun").await,
        StatusCode::CREATED
    );
    let r = app
        .dav("DELETE", &drive(&u, "Sunset.jpg"), "alice", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        get(&app, &u, "sunset.jpg").await,
        (StatusCode::OK, b"sun".to_vec())
    );
    app.assert_usage_consistent(&u).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_differing_only_in_case_are_two_files_through_every_door() {
    let app = spawn_app().await;
    let u = app.register("bob").await;
    let (upper, lower) = (bytes(4_000, 1), bytes(6_000, 2));
    assert_eq!(
        put(&app, &u, "IMG_5000.JPG", &upper).await,
        StatusCode::CREATED
    );
    // A PUT to the case variant creates (201), it does not overwrite (204).
    assert_eq!(
        put(&app, &u, "img_5000.jpg", &lower).await,
        StatusCode::CREATED
    );
    assert_eq!(get(&app, &u, "IMG_5000.JPG").await.1, upper);
    assert_eq!(get(&app, &u, "img_5000.jpg").await.1, lower);

    // The API: an upload of a third variant, a folder pair, and a rename between cases.
    let third = app
        .upload_one(&u.token, "", "Img_5000.jpg", bytes(10, 3))
        .await;
    let a = app.mkdir(&u.token, None, "Docs").await;
    let b = app.mkdir(&u.token, None, "docs").await;
    assert_ne!(a["id"], b["id"]);
    let r = app
        .client
        .patch(app.url(&format!("/api/files/{}", third["id"].as_str().unwrap())))
        .bearer_auth(&u.token)
        .json(&json!({"name": "IMG_5000.jpg"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    // Renaming onto an exact existing name is still a clash.
    let r = app
        .client
        .patch(app.url(&format!("/api/files/{}", third["id"].as_str().unwrap())))
        .bearer_auth(&u.token)
        .json(&json!({"name": "img_5000.jpg"}))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::CONFLICT, "name-exists").await;

    let mut names: Vec<String> = app
        .all_nodes(&u.token)
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "/Docs",
            "/IMG_5000.JPG",
            "/IMG_5000.jpg",
            "/docs",
            "/img_5000.jpg"
        ]
    );
    // A listing over WebDAV names all three files.
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "bob", PASSWORD)
        .header("Depth", "1")
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    for n in ["IMG_5000.JPG", "IMG_5000.jpg", "img_5000.jpg"] {
        assert!(
            body.contains(&format!("/dav/files/bob/{n}<")),
            "{n} listed: {body}"
        );
    }
    app.assert_usage_consistent(&u).await;
}
