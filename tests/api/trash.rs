//! The trash: every delete through every door goes there and comes back whole (bytes, tags,
//! thumbnails); `used_bytes` counts it; an upload that needs the room frees the oldest of it;
//! it expires.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const DAY: i64 = 24 * 3600 * 1000;

fn drive(user: &TestUser, rest: &str) -> String {
    format!("/dav/files/{}/{rest}", user.username)
}

async fn dav(
    app: &TestApp,
    u: &TestUser,
    m: &str,
    rest: &str,
    hs: &[(&str, String)],
) -> StatusCode {
    let mut r = app.dav(m, &drive(u, rest), &u.username, PASSWORD);
    for (k, v) in hs {
        r = r.header(*k, v);
    }
    r.send().await.unwrap().status()
}

async fn put(app: &TestApp, u: &TestUser, rest: &str, body: Vec<u8>) -> StatusCode {
    app.dav("PUT", &drive(u, rest), &u.username, PASSWORD)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
}

pub async fn api_delete(app: &TestApp, u: &TestUser, id: &str) -> Value {
    let r = app
        .client
        .delete(app.url(&format!("/api/files/{id}")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

pub async fn trash(app: &TestApp, u: &TestUser) -> Value {
    app.get_json("/api/trash?limit=1000", &u.token).await
}

pub async fn restore(
    app: &TestApp,
    u: &TestUser,
    id: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut r = app
        .client
        .post(app.url(&format!("/api/trash/{id}/restore")))
        .bearer_auth(&u.token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}

fn trash_item<'a>(t: &'a Value, name: &str) -> &'a Value {
    t["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("{name} in the trash: {t}"))
}

/// The item at `path` (from the drive's root), or None.
async fn find(app: &TestApp, u: &TestUser, path: &str) -> Option<Value> {
    app.all_nodes(&u.token)
        .await
        .into_iter()
        .find(|(p, _)| p == path)
        .map(|(_, v)| v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_through_every_door_go_to_the_trash_and_come_back_whole() {
    let app = spawn_app().await;
    let u = app.register("alice").await;

    // A photo with a thumbnail and a tag of the user's.
    let photo = jpeg_bytes(&picture(640, 480, [200, 40, 40]));
    let p = app.upload_one(&u.token, "", "red.jpg", photo.clone()).await;
    let pid = p["id"].as_str().unwrap().to_string();
    app.run_pending_jobs().await;
    let r = app
        .client
        .put(app.url(&format!("/api/files/{pid}/tags/holiday")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let thumbs = app.thumbnails_on_disk().len();
    assert!(thumbs > 0);
    let used = app.assert_usage_consistent(&u).await;

    // 1. The API.
    let d = api_delete(&app, &u, &pid).await;
    assert_eq!(d["trash_id"], pid.as_str());
    assert!(find(&app, &u, "/red.jpg").await.is_none());
    assert_eq!(
        app.get(&format!("/api/files/{pid}"), &u.token)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.assert_usage_consistent(&u).await,
        used,
        "trashed bytes stay counted"
    );
    assert_eq!(
        app.thumbnails_on_disk().len(),
        thumbs,
        "thumbnails stay with the trash"
    );
    let t = trash(&app, &u).await;
    assert_eq!(trash_item(&t, "red.jpg")["original_path"], "/red.jpg");
    assert_eq!(t["bytes"], photo.len() as i64);
    // Not found by search or tag while in the trash.
    let tagged = app.get_json("/api/tags/holiday/files", &u.token).await;
    assert_eq!(tagged["total"], 0, "{tagged}");

    // 2. WebDAV DELETE of a file, and of a folder of 50 files.
    let doc = bytes(12_345, 1);
    assert_eq!(
        put(&app, &u, "doc.txt", doc.clone()).await,
        StatusCode::CREATED
    );
    assert_eq!(
        dav(&app, &u, "MKCOL", "many/", &[]).await,
        StatusCode::CREATED
    );
    let mut many = Vec::new();
    for i in 0..50 {
        let b = bytes(1_000 + i * 37, i as u8);
        assert_eq!(
            put(&app, &u, &format!("many/f{i}.bin"), b.clone()).await,
            StatusCode::CREATED
        );
        many.push(b);
    }
    let used = app.assert_usage_consistent(&u).await;
    assert_eq!(
        dav(&app, &u, "DELETE", "doc.txt", &[]).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        dav(&app, &u, "DELETE", "many/", &[]).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.assert_usage_consistent(&u).await, used);
    let t = trash(&app, &u).await;
    assert_eq!(trash_item(&t, "many")["files"], 50);
    assert_eq!(trash_item(&t, "many")["kind"], "folder");

    // 3. MOVE with Overwrite: T: the replaced file goes to the trash.
    let (a, b) = (bytes(3_000, 5), bytes(4_000, 6));
    assert_eq!(put(&app, &u, "a.txt", a.clone()).await, StatusCode::CREATED);
    assert_eq!(put(&app, &u, "b.txt", b.clone()).await, StatusCode::CREATED);
    let dest = format!("{}{}", app.base, drive(&u, "b.txt"));
    assert_eq!(
        dav(
            &app,
            &u,
            "MOVE",
            "a.txt",
            &[("Destination", dest), ("Overwrite", "T".into())]
        )
        .await,
        StatusCode::NO_CONTENT
    );
    // 4. COPY of a folder over a folder: the replaced folder goes to the trash.
    assert_eq!(
        dav(&app, &u, "MKCOL", "src/", &[]).await,
        StatusCode::CREATED
    );
    assert_eq!(
        put(&app, &u, "src/s.txt", bytes(10, 7)).await,
        StatusCode::CREATED
    );
    assert_eq!(
        dav(&app, &u, "MKCOL", "dst/", &[]).await,
        StatusCode::CREATED
    );
    let old_dst = bytes(2_222, 8);
    assert_eq!(
        put(&app, &u, "dst/old.txt", old_dst.clone()).await,
        StatusCode::CREATED
    );
    let dest = format!("{}{}", app.base, drive(&u, "dst/"));
    assert_eq!(
        dav(
            &app,
            &u,
            "COPY",
            "src/",
            &[("Destination", dest), ("Overwrite", "T".into())]
        )
        .await,
        StatusCode::NO_CONTENT
    );
    app.assert_usage_consistent(&u).await;
    let t = trash(&app, &u).await;
    assert_eq!(t["total"], 5, "{t}");

    // Everything comes back where it was, byte for byte.
    for name in ["red.jpg", "doc.txt", "many", "dst"] {
        let id = trash_item(&t, name)["id"].as_str().unwrap().to_string();
        let r = restore(&app, &u, &id, None).await;
        match name {
            // Its place was taken by the copy: refused, then restored beside it.
            "dst" => {
                assert_error(r, StatusCode::CONFLICT, "name-exists").await;
                let r = restore(&app, &u, &id, Some(json!({"on_conflict": "keep_both"}))).await;
                assert_eq!(r.status(), StatusCode::OK);
                let v: Value = r.json().await.unwrap();
                assert_eq!(v["name"], "dst (1)");
            }
            _ => assert_eq!(r.status(), StatusCode::OK, "{name}"),
        }
        app.assert_usage_consistent(&u).await;
    }
    // b.txt's place is taken by the moved a.txt: restore replacing it (a.txt goes to the trash).
    let id = trash_item(&t, "b.txt")["id"].as_str().unwrap().to_string();
    let r = restore(&app, &u, &id, Some(json!({"on_conflict": "overwrite"}))).await;
    assert_eq!(r.status(), StatusCode::OK);

    assert_eq!(app.download(&u.token, &pid).await, photo);
    let f = app.get_json(&format!("/api/files/{pid}"), &u.token).await;
    assert!(
        f["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["tag"] == "holiday"),
        "{f}"
    );
    let th = app
        .get(&format!("/api/files/{pid}/thumbnail"), &u.token)
        .await;
    assert_eq!(th.status(), StatusCode::OK);
    let tagged = app.get_json("/api/tags/holiday/files", &u.token).await;
    assert_eq!(tagged["total"], 1);
    let get = |rest: &'static str| {
        let app = &app;
        let u = &u;
        async move {
            app.dav("GET", &drive(u, rest), &u.username, PASSWORD)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec()
        }
    };
    assert_eq!(get("doc.txt").await, doc);
    assert_eq!(get("b.txt").await, b);
    assert_eq!(get("dst (1)/old.txt").await, old_dst);
    assert_eq!(get("dst/s.txt").await, bytes(10, 7));
    for (i, body) in many.iter().enumerate() {
        let rest: &'static str = Box::leak(format!("many/f{i}.bin").into_boxed_str());
        assert_eq!(&get(rest).await, body);
    }
    let t = trash(&app, &u).await;
    assert_eq!(t["total"], 1);
    assert_eq!(
        trash_item(&t, "b.txt")["size"],
        a.len() as i64,
        "the moved a.txt, replaced"
    );
    app.assert_usage_consistent(&u).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_places_and_deleting_for_good() {
    let app = spawn_app().await;
    let u = app.register("bob").await;
    let docs = app.mkdir(&u.token, None, "Docs").await;
    let did = docs["id"].as_str().unwrap().to_string();
    let f = app
        .upload_one(
            &u.token,
            &format!("?folder={did}"),
            "note.txt",
            bytes(500, 1),
        )
        .await;
    let fid = f["id"].as_str().unwrap().to_string();
    api_delete(&app, &u, &fid).await;
    // Its folder goes too (as rclone deletes: the files, then the folder). Restoring the note
    // brings its folder back first, to where it was.
    api_delete(&app, &u, &did).await;
    let r = restore(&app, &u, &fid, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["parent_id"], did.as_str());
    assert_eq!(find(&app, &u, "/Docs").await.unwrap()["id"], did.as_str());
    assert!(find(&app, &u, "/Docs/note.txt").await.is_some());
    assert_eq!(trash(&app, &u).await["total"], 0);
    // Its folder deleted for good: the folder is made again on the way back.
    api_delete(&app, &u, &fid).await;
    api_delete(&app, &u, &did).await;
    let r = app
        .client
        .delete(app.url(&format!("/api/trash/{did}")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = restore(&app, &u, &fid, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let again = find(&app, &u, "/Docs").await.unwrap();
    assert_ne!(again["id"], did.as_str());
    assert!(find(&app, &u, "/Docs/note.txt").await.is_some());
    let did = again["id"].as_str().unwrap().to_string();
    api_delete(&app, &u, &fid).await;
    api_delete(&app, &u, &did).await;
    // Into a chosen folder.
    let other = app.mkdir(&u.token, None, "Other").await;
    let r = restore(&app, &u, &fid, Some(json!({"parent_id": other["id"]}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(find(&app, &u, "/Other/note.txt").await.is_some());
    // Bad bodies and unknown ids.
    let r = restore(&app, &u, &did, Some(json!({"on_conflict": "sideways"}))).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-json").await;
    let r = restore(&app, &u, &fid, None).await;
    assert_error(r, StatusCode::NOT_FOUND, "not-in-trash").await;

    // Another user sees nothing of it.
    let eve = app.register("eve").await;
    assert_eq!(trash(&app, &eve).await["total"], 0);
    let r = restore(&app, &eve, &did, None).await;
    assert_error(r, StatusCode::NOT_FOUND, "not-in-trash").await;
    let r = app
        .client
        .delete(app.url(&format!("/api/trash/{did}")))
        .bearer_auth(&eve.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Deleted for good: the body leaves the disk and the quota.
    let before = app.bodies_on_disk().len();
    let r = app
        .client
        .delete(app.url(&format!("/api/trash/{did}")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.bodies_on_disk().len(), before, "the folder was empty");
    for i in 0..3 {
        let x = app
            .upload_one(&u.token, "", &format!("x{i}"), bytes(100, i))
            .await;
        api_delete(&app, &u, x["id"].as_str().unwrap()).await;
    }
    assert_eq!(trash(&app, &u).await["total"], 3);
    let r = app
        .client
        .delete(app.url("/api/trash"))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v, json!({"deleted": 3, "freed_bytes": 300}));
    assert_eq!(trash(&app, &u).await["total"], 0);
    assert_eq!(app.assert_usage_consistent(&u).await, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_needs_the_room_frees_the_oldest_trash_first() {
    let app = spawn_app().await;
    let u = app.register("carol").await;
    app.set_quota(&u, 10_000);
    let keep = app
        .upload_one(&u.token, "", "keep.bin", bytes(2_000, 1))
        .await;
    for (i, name) in ["old.bin", "mid.bin", "new.bin"].iter().enumerate() {
        let f = app
            .upload_one(&u.token, "", name, bytes(2_500, i as u8))
            .await;
        app.app.store.keep.advance(1_000);
        api_delete(&app, &u, f["id"].as_str().unwrap()).await;
    }
    assert_eq!(app.assert_usage_consistent(&u).await, 9_500);
    // 3,500 bytes need the two oldest items freed (500 free + 2,500 + 2,500).
    let r = app
        .upload(&u.token, "", &[("big.bin", bytes(3_500, 9))])
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let t = trash(&app, &u).await;
    let names: Vec<&str> = t["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["new.bin"], "the oldest went first");
    assert_eq!(app.assert_usage_consistent(&u).await, 8_000);
    // Over WebDAV too (a small PUT checks the quota in its commit).
    let r = put(&app, &u, "dav.bin", bytes(4_000, 3)).await;
    assert_eq!(r, StatusCode::CREATED);
    assert_eq!(trash(&app, &u).await["total"], 0);
    assert_eq!(app.assert_usage_consistent(&u).await, 9_500);
    // The audit log says what went and why.
    let admin = app.admin("root").await;
    let log = app
        .get_json("/api/admin/audit?action=trash-freed", &admin.token)
        .await;
    let entries = log["entries"]
        .as_array()
        .or(log["items"].as_array())
        .unwrap()
        .clone();
    assert_eq!(entries.len(), 2, "{log}");
    // Nothing left to free: refused, and nothing else is touched.
    let r = app
        .upload(&u.token, "", &[("huge.bin", bytes(2_000, 4))])
        .await;
    assert_error(r, StatusCode::PAYLOAD_TOO_LARGE, "quota-exceeded").await;
    assert!(find(&app, &u, "/keep.bin").await.is_some());
    assert_eq!(
        app.download(&u.token, keep["id"].as_str().unwrap()).await,
        bytes(2_000, 1)
    );
    app.assert_usage_consistent(&u).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trash_expires_after_its_retention() {
    let app = spawn_app().await;
    let u = app.register("dan").await;
    let old = app
        .upload_one(&u.token, "", "old.bin", bytes(1_000, 1))
        .await;
    api_delete(&app, &u, old["id"].as_str().unwrap()).await;
    app.app.store.keep.advance(20 * DAY);
    let young = app
        .upload_one(&u.token, "", "young.bin", bytes(700, 2))
        .await;
    api_delete(&app, &u, young["id"].as_str().unwrap()).await;
    let bodies = app.bodies_on_disk().len();
    assert_eq!(bodies, 2);
    app.app.store.keep.advance(11 * DAY); // old: 31 days, young: 11 days
    let (items, _) = app.app.store.sweep_trash_and_versions().await.unwrap();
    assert_eq!(items, 1);
    let t = trash(&app, &u).await;
    assert_eq!(t["total"], 1);
    assert_eq!(t["items"][0]["name"], "young.bin");
    wait_until("the expired body unlinked", Duration::from_secs(5), || {
        app.bodies_on_disk().len() == 1
    })
    .await;
    assert_eq!(app.assert_usage_consistent(&u).await, 700);
}
