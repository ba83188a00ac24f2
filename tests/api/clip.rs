//! CLIP through the real server, ort and tokenizer, with the colour-aware test model
//! (scripts/make-test-model.py): auto-tags land on the right pictures, search ranks by what a
//! picture shows, the WebDAV search view lists it; without the model everything else works,
//! AI jobs wait, and they run once the model appears.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

fn env_path(var: &str) -> PathBuf {
    let p = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{var} is not set: scripts/test.sh prepares it"));
    assert!(p.exists(), "{var}={} does not exist", p.display());
    p
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A server whose model folder is `model_dir` (filled or not) and with the real ONNX Runtime.
async fn app_with_model(model_dir: PathBuf) -> TestApp {
    let lib = env_path("CLOUDVAULT_TEST_ORT_LIB");
    spawn_app_with(move |c, _| {
        c.ml.onnxruntime = Some(lib);
        c.ml.model_dir = Some(model_dir);
        c.ml.batch_size = 4;
    })
    .await
}

async fn wait_for_model(app: &TestApp) {
    let s = app.app.clone();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while s.semantic.loaded().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "model never loaded: {:?}",
            s.semantic.state()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const COLOURS: [(&str, [u8; 3]); 3] = [
    ("red", [220, 20, 20]),
    ("blue", [20, 30, 220]),
    ("green", [20, 200, 30]),
];

async fn upload_colours(app: &TestApp, token: &str) -> Vec<(String, String)> {
    let mut ids = Vec::new();
    for (name, rgb) in COLOURS {
        let f = app
            .upload_one(
                token,
                "",
                &format!("{name}-thing.jpg"),
                jpeg_bytes(&picture(640, 480, rgb)),
            )
            .await;
        ids.push((name.to_string(), f["id"].as_str().unwrap().to_string()));
    }
    ids
}

fn id_of<'a>(ids: &'a [(String, String)], colour: &str) -> &'a str {
    &ids.iter().find(|(c, _)| c == colour).unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pictures_are_tagged_and_found_by_what_they_show() {
    let app = app_with_model(env_path("CLOUDVAULT_TEST_MODEL_DIR")).await;
    wait_for_model(&app).await;
    let alice = app.register("alice").await;
    let ids = upload_colours(&app, &alice.token).await;
    app.run_pending_jobs().await;
    // The model was loaded when the media jobs ran: CLIP took each picture from their decode
    // instead of decoding the large thumbnail again.
    assert_eq!(app.app.model_pixels.taken(), ids.len() as u64);

    for (colour, id) in &ids {
        let v = app
            .get_json(&format!("/api/files/{id}"), &alice.token)
            .await;
        let tags: Vec<&str> = v["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["tag"].as_str().unwrap())
            .collect();
        assert!(
            tags.contains(&colour.as_str()),
            "{colour} picture tagged {colour}: {tags:?}"
        );
        for (other, _) in COLOURS.iter().filter(|(c, _)| c != colour) {
            assert!(
                !tags.contains(other),
                "{colour} picture not tagged {other}: {tags:?}"
            );
        }
        let auto = v["tags"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tag"] == colour.as_str())
            .unwrap()
            .clone();
        assert_eq!(auto["source"], "auto");
        assert!(auto["score"].as_f64().unwrap() > 0.0);
    }

    // "something red": no name or tag equals the query, so this is CLIP alone.
    let v = app
        .get_json(
            "/api/search?q=a%20photo%20of%20something%20red",
            &alice.token,
        )
        .await;
    assert_eq!(v["semantic"], true, "{v}");
    assert!(v.get("model_status").is_none());
    let items = v["items"].as_array().unwrap();
    assert_eq!(items[0]["file"]["id"], id_of(&ids, "red"), "{v}");
    assert_eq!(items[0]["reasons"][0]["kind"], "semantic");
    let score_of = |colour: &str| {
        items
            .iter()
            .find(|i| i["file"]["id"] == id_of(&ids, colour))
            .map(|i| i["score"].as_f64().unwrap())
            .unwrap_or(0.0)
    };
    assert!(score_of("red") > score_of("blue") && score_of("red") > score_of("green"));

    // "blue": the tag and the picture agree; both reasons are given.
    let v = app.get_json("/api/search?q=blue", &alice.token).await;
    let first = &v["items"][0];
    assert_eq!(first["file"]["id"], id_of(&ids, "blue"));
    let kinds: Vec<&str> = first["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"semantic") && kinds.contains(&"tag"),
        "{first}"
    );

    // The same search as a WebDAV folder.
    let r = app
        .dav(
            "PROPFIND",
            "/dav/search/alice/something%20green/",
            "alice",
            PASSWORD,
        )
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("green-thing.jpg") && !body.contains("red-thing.jpg"),
        "{body}"
    );
    let r = app
        .dav(
            "GET",
            "/dav/tags/alice/red/red-thing.jpg",
            "alice",
            PASSWORD,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Another user finds none of it.
    let bob = app.register("bob").await;
    let v = app.get_json("/api/search?q=red", &bob.token).await;
    assert_eq!(v["total"], 0, "{v}");

    // A deleted picture leaves the index at once.
    let red = id_of(&ids, "red");
    app.client
        .delete(app.url(&format!("/api/files/{red}")))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    let v = app
        .get_json("/api/search?q=something%20red", &alice.token)
        .await;
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["file"]["id"] != red),
        "{v}"
    );
    // It waits in the trash with its embedding (a restore brings it back); emptied, it goes.
    let r = app
        .client
        .delete(app.url("/api/trash"))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let c = app.app.db.conn().unwrap();
    let n: i64 = c
        .query_row(
            "SELECT count(*) FROM embeddings WHERE node_id = ?1",
            [red],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 0);

    let admin = app.admin("root").await;
    let jobs = app.get_json("/api/admin/jobs", &admin.token).await;
    assert_eq!(jobs["model"]["status"], "ready", "{jobs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_model_ai_jobs_wait_and_run_once_it_appears() {
    let tmp = tempfile::tempdir().unwrap();
    let model_dir = tmp.path().join("ViT-test");
    let app = app_with_model(model_dir.clone()).await;
    let alice = app.register("alice").await;
    let ids = upload_colours(&app, &alice.token).await;
    app.run_pending_jobs().await;

    // Thumbnails are made; CLIP waits with a reason; search still answers from names.
    for (_, id) in &ids {
        let v = app
            .get_json(&format!("/api/files/{id}"), &alice.token)
            .await;
        assert_eq!(v["has_thumbnail"], true);
        let (state, why) = app.job_state("clip", id).unwrap();
        assert_eq!(state, "waiting");
        assert!(why.unwrap().contains("model"), "the reason names the model");
    }
    let v = app.get_json("/api/search?q=red", &alice.token).await;
    assert_eq!(v["semantic"], false);
    assert_eq!(v["model_status"]["code"], "model-not-installed", "{v}");
    // A user is not told how to install anything: that is on the admin's page.
    let message = v["model_status"]["message"].as_str().unwrap();
    assert!(message.contains("isn't available"), "{message}");
    assert!(
        !message.contains("model fetch") && !message.contains("[ml]"),
        "{message}"
    );
    assert_eq!(
        v["items"][0]["file"]["id"],
        id_of(&ids, "red"),
        "found by its name"
    );
    let admin = app.admin("root").await;
    let jobs = app.get_json("/api/admin/jobs", &admin.token).await;
    assert_eq!(jobs["model"]["status"], "not-installed", "{jobs}");
    // The admin's page says what to run.
    let told = jobs["model"]["message"].as_str().unwrap();
    assert!(told.contains("model fetch"), "{told}");
    assert!(
        jobs["counts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "clip" && c["state"] == "waiting" && c["count"] == 3)
    );

    // `cloudvault model fetch` puts the files in place; the server picks them up by itself
    // (every minute; here we ask at once).
    copy_dir(&env_path("CLOUDVAULT_TEST_MODEL_DIR"), &model_dir);
    let a = app.app.clone();
    tokio::task::spawn_blocking(move || a.load_model())
        .await
        .unwrap();
    app.run_pending_jobs().await;
    // No model when the media jobs ran: the CLIP job decoded the large thumbnails.
    assert_eq!(app.app.model_pixels.taken(), 0);
    for (colour, id) in &ids {
        assert_eq!(app.job_state("clip", id).unwrap().0, "done");
        let v = app
            .get_json(&format!("/api/files/{id}"), &alice.token)
            .await;
        assert!(
            v["tags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["tag"] == colour.as_str()),
            "{v}"
        );
    }
    let v: Value = app
        .get_json("/api/search?q=something%20red", &alice.token)
        .await;
    assert_eq!(v["semantic"], true);
    assert_eq!(v["items"][0]["file"]["id"], id_of(&ids, "red"));
}
