//! The WebDAV door through real HTTP: the same files as the API, quotas answered with 507,
//! Nextcloud chunked uploads, isolation between users and hostile paths, app passwords, RFC 4331
//! quota properties and the quirks Windows and macOS clients need.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const PROPFIND_QUOTA: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:"><D:prop><D:quota-available-bytes/><D:quota-used-bytes/></D:prop></D:propfind>"#;

/// Byte-for-byte equality without printing megabytes when it fails.
fn assert_same(got: &[u8], want: &[u8]) {
    let first_diff = got.iter().zip(want).position(|(a, b)| a != b);
    assert!(
        got == want,
        "bodies differ: {} bytes vs {} expected, first difference at {first_diff:?}",
        got.len(),
        want.len()
    );
}

fn drive(user: &TestUser, rest: &str) -> String {
    format!("/dav/files/{}/{rest}", user.username)
}

fn uploads(user: &TestUser, rest: &str) -> String {
    format!("/dav/uploads/{}/{rest}", user.username)
}

/// The text of the first `<prefix:name ...>value</prefix:name>` element in an XML answer.
fn xml_value(body: &str, local_name: &str) -> Option<String> {
    xml_values(body, local_name).into_iter().next()
}

/// The texts of every `<prefix:name ...>value</prefix:name>` (or `<name>`) element, in order.
fn xml_values(body: &str, local_name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        let Some(gt) = rest.find('>') else { break };
        let tag = &rest[..gt];
        let name = tag
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .trim_end_matches('/');
        let local = name.rsplit(':').next().unwrap_or_default();
        if !tag.starts_with('/') && local == local_name {
            let after = &rest[gt + 1..];
            out.push(if tag.ends_with('/') {
                String::new()
            } else {
                after[..after.find('<').unwrap_or(after.len())]
                    .trim()
                    .to_string()
            });
        }
        rest = &rest[gt + 1..];
    }
    out
}

/// The item named `name` in a folder listing (root when `folder` is None).
async fn listed(app: &TestApp, token: &str, folder: Option<&str>, name: &str) -> Option<Value> {
    let q = folder
        .map(|f| format!("/api/files/?folder={f}"))
        .unwrap_or_else(|| "/api/files/".into());
    let list = app.get_json(&q, token).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .cloned()
}

async fn put(app: &TestApp, user: &TestUser, rest: &str, body: Vec<u8>) -> reqwest::Response {
    app.dav("PUT", &drive(user, rest), &user.username, PASSWORD)
        .body(body)
        .send()
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. The same files through both doors
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webdav_and_api_share_files_folders_and_ids() {
    let app = spawn_app().await;
    let u = app.register("alice").await;

    // PUT through WebDAV, seen and downloaded through the API.
    let data = bytes(300_000, 1);
    let r = put(&app, &u, "hello.bin", data.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let item = listed(&app, &u.token, None, "hello.bin")
        .await
        .expect("the WebDAV file is listed by the API");
    assert_eq!(item["kind"], "file");
    assert_eq!(item["size"], 300_000);
    let id = item["id"].as_str().unwrap().to_string();
    assert_same(&app.download(&u.token, &id).await, &data);

    // Uploaded through the API, read through WebDAV (whole and by range).
    let api_data = bytes(50_000, 9);
    app.upload_one(&u.token, "", "from-api.txt", api_data.clone())
        .await;
    let r = app
        .dav("GET", &drive(&u, "from-api.txt"), "alice", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("etag"));
    assert!(r.headers().contains_key("last-modified"));
    assert_same(&r.bytes().await.unwrap(), &api_data);
    let r = app
        .dav("GET", &drive(&u, "from-api.txt"), "alice", PASSWORD)
        .header("range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_same(&r.bytes().await.unwrap(), &api_data[100..200]);
    // The first 64 KiB of a body are read with its open: ranges inside, across and past that
    // head, and the whole of a file larger than it, come back exact.
    for (a, b) in [
        (0usize, 65_535usize),
        (60_000, 70_000),
        (65_530, 65_545),
        (65_536, 299_999),
        (250_000, 299_999),
    ] {
        let r = app
            .dav("GET", &drive(&u, "hello.bin"), "alice", PASSWORD)
            .header("range", format!("bytes={a}-{b}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT, "{a}-{b}");
        assert_same(&r.bytes().await.unwrap(), &data[a..=b]);
    }
    let r = app
        .dav("GET", &drive(&u, "hello.bin"), "alice", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_same(&r.bytes().await.unwrap(), &data);

    // MKCOL shows as a folder in the API.
    let r = app
        .dav("MKCOL", &drive(&u, "Photos"), "alice", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let folder = listed(&app, &u.token, None, "Photos")
        .await
        .expect("the MKCOL folder is listed");
    assert_eq!(folder["kind"], "folder");
    let folder_id = folder["id"].as_str().unwrap().to_string();

    // MOVE (rename into the folder) keeps the id, and the bytes.
    let r = app
        .dav("MOVE", &drive(&u, "hello.bin"), "alice", PASSWORD)
        .header(
            "destination",
            format!("{}{}", app.base, drive(&u, "Photos/renamed.bin")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let meta = app.get_json(&format!("/api/files/{id}"), &u.token).await;
    assert_eq!(meta["name"], "renamed.bin");
    assert_eq!(meta["parent_id"], folder_id.as_str());
    assert!(listed(&app, &u.token, None, "hello.bin").await.is_none());
    assert_same(&app.download(&u.token, &id).await, &data);
    // A plain rename in place (relative Destination) too.
    let r = app
        .dav("MOVE", &drive(&u, "Photos/renamed.bin"), "alice", PASSWORD)
        .header("destination", drive(&u, "Photos/again.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        app.get_json(&format!("/api/files/{id}"), &u.token).await["name"],
        "again.bin"
    );
    // A folder MOVE keeps its id as well.
    let r = app
        .dav("MOVE", &drive(&u, "Photos"), "alice", PASSWORD)
        .header("destination", drive(&u, "Pictures"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        app.get_json(&format!("/api/files/{folder_id}"), &u.token)
            .await["name"],
        "Pictures"
    );

    // A file the API renames is found by WebDAV under its new name.
    let r = app
        .client
        .patch(app.url(&format!("/api/files/{id}")))
        .bearer_auth(&u.token)
        .json(&json!({"name": "api-named.bin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .dav(
            "GET",
            &drive(&u, "Pictures/api-named.bin"),
            "alice",
            PASSWORD,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_same(&r.bytes().await.unwrap(), &data);
    // DELETE through WebDAV removes it from the API and puts it in the trash (still counted).
    let r = app
        .dav(
            "DELETE",
            &drive(&u, "Pictures/api-named.bin"),
            "alice",
            PASSWORD,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/files/{id}"), &u.token)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let t = app.get_json("/api/trash", &u.token).await;
    assert_eq!(t["items"][0]["id"], id.as_str(), "{t}");
    assert_eq!(t["items"][0]["original_path"], "/Pictures/api-named.bin");
    assert_eq!(app.assert_usage_consistent(&u).await, 350_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propfind_lists_what_the_api_lists() {
    let app = spawn_app().await;
    let u = app.register("lister").await;
    app.upload_one(&u.token, "", "one.txt", b"1".to_vec()).await;
    let f = app.mkdir(&u.token, None, "Sub").await;
    app.upload_one(
        &u.token,
        &format!("?folder={}", f["id"].as_str().unwrap()),
        "two.txt",
        b"22".to_vec(),
    )
    .await;
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "lister", PASSWORD)
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let body = r.text().await.unwrap();
    assert!(body.contains("/dav/files/lister/one.txt"), "{body}");
    assert!(body.contains("/dav/files/lister/Sub/"), "{body}");
    assert!(
        !body.contains("two.txt"),
        "Depth 1 does not go deeper: {body}"
    );
    let r = app
        .dav("PROPFIND", &drive(&u, "Sub/"), "lister", PASSWORD)
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let body = r.text().await.unwrap();
    assert!(body.contains("/dav/files/lister/Sub/two.txt"), "{body}");
    assert!(body.contains("getcontentlength>2<"), "{body}");
}

// ---------------------------------------------------------------------------------------------
// 2. Quotas through WebDAV: 507 and nothing stored
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_over_quota_is_507_with_and_without_content_length() {
    let app = spawn_app().await;
    let u = app.register("quotaput").await;
    app.set_quota(&u, 1_000_000);
    assert_eq!(
        put(&app, &u, "a.bin", bytes(600_000, 1)).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(app.assert_usage_consistent(&u).await, 600_000);

    // With Content-Length: refused up front.
    let r = put(&app, &u, "b.bin", bytes(500_000, 2)).await;
    assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert!(listed(&app, &u.token, None, "b.bin").await.is_none());
    assert_eq!(app.assert_usage_consistent(&u).await, 600_000);

    // Without Content-Length (chunked transfer encoding): refused as it streams.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = bytes(500_000, 3)
        .chunks(16 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let r = app
        .dav("PUT", &drive(&u, "c.bin"), "quotaput", PASSWORD)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert!(listed(&app, &u.token, None, "c.bin").await.is_none());
    assert_eq!(app.assert_usage_consistent(&u).await, 600_000);

    // An overwrite counts only the difference; growing the file past the quota is refused and
    // the old content stays.
    let r = put(&app, &u, "a.bin", bytes(1_000_001, 4)).await;
    assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
    let a = listed(&app, &u.token, None, "a.bin").await.unwrap();
    assert_same(
        &app.download(&u.token, a["id"].as_str().unwrap()).await,
        &bytes(600_000, 1),
    );
    assert_eq!(app.assert_usage_consistent(&u).await, 600_000);

    // What fits exactly is accepted, without Content-Length too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = bytes(400_000, 5)
        .chunks(16 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let r = app
        .dav("PUT", &drive(&u, "d.bin"), "quotaput", PASSWORD)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(app.assert_usage_consistent(&u).await, 1_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_over_quota_is_507() {
    let app = spawn_app().await;
    let u = app.register("quotacopy").await;
    app.set_quota(&u, 1_000_000);
    assert_eq!(
        put(&app, &u, "a.bin", bytes(600_000, 1)).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.dav("MKCOL", &drive(&u, "dir"), "quotacopy", PASSWORD)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );

    let r = app
        .dav("COPY", &drive(&u, "a.bin"), "quotacopy", PASSWORD)
        .header("destination", drive(&u, "b.bin"))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::INSUFFICIENT_STORAGE,
        "a file COPY over quota answers a plain 507: {body}"
    );
    assert!(listed(&app, &u.token, None, "b.bin").await.is_none());
    assert_eq!(app.assert_usage_consistent(&u).await, 600_000);

    // A folder COPY whose contents do not fit: 507 somewhere, nothing partial counted.
    let r = app
        .dav("COPY", &drive(&u, "a.bin"), "quotacopy", PASSWORD)
        .header("destination", drive(&u, "dir/a.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
    let r = app
        .dav("MOVE", &drive(&u, "a.bin"), "quotacopy", PASSWORD)
        .header("destination", drive(&u, "dir/a.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "a MOVE takes no extra space"
    );
    let r = app
        .dav("COPY", &drive(&u, "dir"), "quotacopy", PASSWORD)
        .header("destination", drive(&u, "dir2"))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    // A collection COPY reports per member (RFC 4918 9.8.8): 207 with the member's 507.
    assert!(
        status == StatusCode::INSUFFICIENT_STORAGE
            || (status == StatusCode::MULTI_STATUS && body.contains("HTTP/1.1 507")),
        "folder COPY over quota: {status} {body}"
    );
    assert!(
        app.all_nodes(&u.token)
            .await
            .iter()
            .all(|(p, _)| !p.starts_with("/dir2/")),
        "no file copied into dir2"
    );
    assert_eq!(app.assert_usage_consistent(&u).await, 600_000);

    // A COPY that fits works and is counted.
    app.set_quota(&u, 1_200_000);
    let r = app
        .dav("COPY", &drive(&u, "dir/a.bin"), "quotacopy", PASSWORD)
        .header("destination", drive(&u, "b.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(app.assert_usage_consistent(&u).await, 1_200_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_upload_over_quota_is_507() {
    let app = spawn_app().await;
    let u = app.register("quotachunk").await;
    let name = "quotachunk";
    app.set_quota(&u, 1_000_000);
    assert_eq!(
        put(&app, &u, "a.bin", bytes(600_000, 1)).await.status(),
        StatusCode::CREATED
    );

    // Announced up front with OC-Total-Length: refused at MKCOL.
    let r = app
        .dav("MKCOL", &uploads(&u, "up0"), name, PASSWORD)
        .header("oc-total-length", "500000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(
        app.sql_i64(
            "SELECT COUNT(*) FROM chunk_uploads WHERE user_id = ?1",
            &u.id
        ),
        0
    );

    // Not announced: the chunk that does not fit is refused; the ones before it stay reserved.
    let r = app
        .dav("MKCOL", &uploads(&u, "up1"), name, PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .dav("PUT", &uploads(&u, "up1/1"), name, PASSWORD)
        .body(bytes(300_000, 2))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id),
        300_000
    );
    let r = app
        .dav("PUT", &uploads(&u, "up1/2"), name, PASSWORD)
        .body(bytes(300_000, 3))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(
        app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id),
        300_000
    );
    // The same, streamed without Content-Length.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = bytes(300_000, 3)
        .chunks(16 * 1024)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let r = app
        .dav("PUT", &uploads(&u, "up1/2"), name, PASSWORD)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
    wait_until(
        "the refused chunk's reservation is released",
        std::time::Duration::from_secs(5),
        || {
            app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id) == 300_000
                && app.temp_files() == 0
        },
    )
    .await;
    // A MOVE announcing more than the quota takes is refused too, and creates nothing.
    let r = app
        .dav("MOVE", &uploads(&u, "up1/.file"), name, PASSWORD)
        .header(
            "destination",
            format!("{}{}", app.base, drive(&u, "big.bin")),
        )
        .header("oc-total-length", "600000")
        .send()
        .await
        .unwrap();
    assert!(
        r.status() == StatusCode::INSUFFICIENT_STORAGE || r.status() == StatusCode::BAD_REQUEST,
        "{}",
        r.status()
    );
    assert!(listed(&app, &u.token, None, "big.bin").await.is_none());
    // Abandoning it gives everything back.
    let r = app
        .dav("DELETE", &uploads(&u, "up1"), name, PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.assert_usage_consistent(&u).await, 600_000);
    assert_eq!(
        app.sql_i64(
            "SELECT COUNT(*) FROM chunk_uploads WHERE user_id = ?1",
            &u.id
        ),
        0
    );
    assert_eq!(
        walk(&app.volume_path().join(".cloudvault-chunks")).len(),
        0,
        "no chunk left on disk"
    );

    // Chunks that each fit, while the assembled file together with a file PUT meanwhile does
    // not: the reservation makes the PUT fail instead of letting the assembly overshoot.
    let r = app
        .dav("MKCOL", &uploads(&u, "up2"), name, PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .dav("PUT", &uploads(&u, "up2/1"), name, PASSWORD)
        .body(bytes(250_000, 4))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        put(&app, &u, "c.bin", bytes(200_000, 5)).await.status(),
        StatusCode::INSUFFICIENT_STORAGE
    );
    let r = app
        .dav("MOVE", &uploads(&u, "up2/.file"), name, PASSWORD)
        .header(
            "destination",
            format!("{}{}", app.base, drive(&u, "fits.bin")),
        )
        .header("oc-total-length", "250000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(app.assert_usage_consistent(&u).await, 850_000);
}

// ---------------------------------------------------------------------------------------------
// 3. Nextcloud chunked uploads
// ---------------------------------------------------------------------------------------------

/// Uploads `data` in `parts` (name, range), in the given order, then MOVEs `.file` to `dest`.
async fn chunked_upload(
    app: &TestApp,
    u: &TestUser,
    dir: &str,
    parts: &[(&str, std::ops::Range<usize>)],
    data: &[u8],
    dest: &str,
) -> reqwest::Response {
    let r = app
        .dav("MKCOL", &uploads(u, dir), &u.username, PASSWORD)
        .header("oc-total-length", data.len().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "MKCOL {dir}");
    for (name, range) in parts {
        let r = app
            .dav(
                "PUT",
                &uploads(u, &format!("{dir}/{name}")),
                &u.username,
                PASSWORD,
            )
            .body(data[range.clone()].to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "PUT chunk {name}");
    }
    app.dav(
        "MOVE",
        &uploads(u, &format!("{dir}/.file")),
        &u.username,
        PASSWORD,
    )
    .header("destination", format!("{}{}", app.base, drive(u, dest)))
    .header("oc-total-length", data.len().to_string())
    .send()
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_upload_with_byte_range_names() {
    let app = spawn_app().await;
    let u = app.register("chunky").await;
    let data = bytes(2_500_000, 7);
    let parts = [
        ("000000000000000-000000000999999", 0..1_000_000),
        ("000000001000000-000000001999999", 1_000_000..2_000_000),
        ("000000002000000-000000002499999", 2_000_000..2_500_000),
    ];
    assert_eq!(
        app.dav("MKCOL", &drive(&u, "Videos"), "chunky", PASSWORD)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    // While the parts wait, their bytes are reserved and PROPFIND lists them.
    let r = app
        .dav("MKCOL", &uploads(&u, "up1"), "chunky", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    for (name, range) in &parts {
        let r = app
            .dav(
                "PUT",
                &uploads(&u, &format!("up1/{name}")),
                "chunky",
                PASSWORD,
            )
            .body(data[range.clone()].to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    assert_eq!(
        app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id),
        2_500_000
    );
    let r = app
        .dav("PROPFIND", &uploads(&u, "up1"), "chunky", PASSWORD)
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let listing = r.text().await.unwrap();
    assert!(parts.iter().all(|(n, _)| listing.contains(n)), "{listing}");
    let r = app
        .dav("MOVE", &uploads(&u, "up1/.file"), "chunky", PASSWORD)
        .header(
            "destination",
            format!("{}{}", app.base, drive(&u, "Videos/movie.mp4")),
        )
        .header("oc-total-length", "2500000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let file_id = r
        .headers()
        .get("oc-fileid")
        .map(|v| v.to_str().unwrap().to_string());

    let folder = listed(&app, &u.token, None, "Videos").await.unwrap();
    let item = listed(&app, &u.token, folder["id"].as_str(), "movie.mp4")
        .await
        .expect("the assembled file is listed");
    assert_eq!(item["size"], 2_500_000);
    assert_eq!(
        item["content_hash"],
        blake3::hash(&data).to_hex().to_string()
    );
    if let Some(fid) = file_id {
        assert_eq!(item["id"], fid.as_str(), "OC-FileId names the API's file");
    }
    assert_same(
        &app.download(&u.token, item["id"].as_str().unwrap()).await,
        &data,
    );
    // The upload folder is gone, on the wire and on disk, and its reservation became usage.
    let r = app
        .dav("PROPFIND", &uploads(&u, "up1"), "chunky", PASSWORD)
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(walk(&app.volume_path().join(".cloudvault-chunks")).len(), 0);
    assert_eq!(app.assert_usage_consistent(&u).await, 2_500_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_upload_with_numeric_names_out_of_order() {
    let app = spawn_app().await;
    let u = app.register("numbers").await;
    let data = bytes(300_000, 3);
    let r = chunked_upload(
        &app,
        &u,
        "up-a",
        &[
            ("3", 200_000..300_000),
            ("1", 0..100_000),
            ("2", 100_000..200_000),
        ],
        &data,
        "three.bin",
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let item = listed(&app, &u.token, None, "three.bin").await.unwrap();
    assert_same(
        &app.download(&u.token, item["id"].as_str().unwrap()).await,
        &data,
    );

    // Numbers sort as numbers, not as text: 2 before 10.
    let data = bytes(110_000, 4);
    let mut parts: Vec<(String, std::ops::Range<usize>)> = (1..=11)
        .map(|i| (i.to_string(), (i - 1) * 10_000..i * 10_000))
        .collect();
    parts.reverse();
    parts.swap(0, 5);
    let parts: Vec<(&str, std::ops::Range<usize>)> =
        parts.iter().map(|(n, r)| (n.as_str(), r.clone())).collect();
    let r = chunked_upload(&app, &u, "up-b", &parts, &data, "eleven.bin").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let item = listed(&app, &u.token, None, "eleven.bin").await.unwrap();
    assert_same(
        &app.download(&u.token, item["id"].as_str().unwrap()).await,
        &data,
    );

    // Assembling onto an existing file replaces it (204), keeping the usage exact.
    let data2 = bytes(150_000, 5);
    let r = chunked_upload(
        &app,
        &u,
        "up-c",
        &[("1", 0..75_000), ("2", 75_000..150_000)],
        &data2,
        "three.bin",
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let item = listed(&app, &u.token, None, "three.bin").await.unwrap();
    assert_same(
        &app.download(&u.token, item["id"].as_str().unwrap()).await,
        &data2,
    );
    for dir in ["up-a", "up-b", "up-c"] {
        let r = app
            .dav("PROPFIND", &uploads(&u, dir), "numbers", PASSWORD)
            .header("depth", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{dir} is gone");
    }
    // The replaced 300,000 bytes stay as a version of three.bin.
    assert_eq!(app.assert_usage_consistent(&u).await, 560_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_upload_folder_releases_its_space() {
    let app = spawn_app().await;
    let u = app.register("quitter").await;
    let r = app
        .dav("MKCOL", &uploads(&u, "up1"), "quitter", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    for i in 1..=2 {
        let r = app
            .dav(
                "PUT",
                &uploads(&u, &format!("up1/{i}")),
                "quitter",
                PASSWORD,
            )
            .body(bytes(123_456, i))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    // Replacing a chunk keeps exactly its new size reserved.
    let r = app
        .dav("PUT", &uploads(&u, "up1/2"), "quitter", PASSWORD)
        .body(bytes(1_000, 9))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id),
        124_456
    );
    assert!(!walk(&app.volume_path().join(".cloudvault-chunks")).is_empty());
    let r = app
        .dav("DELETE", &uploads(&u, "up1"), "quitter", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id),
        0
    );
    let r = app
        .dav("PROPFIND", &uploads(&u, "up1"), "quitter", PASSWORD)
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(walk(&app.volume_path().join(".cloudvault-chunks")).len(), 0);
    // A chunk PUT to an upload that no longer exists is refused and reserves nothing.
    let r = app
        .dav("PUT", &uploads(&u, "up1/3"), "quitter", PASSWORD)
        .body(bytes(10, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.assert_usage_consistent(&u).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_move_with_a_wrong_total_length_is_400() {
    let app = spawn_app().await;
    let u = app.register("liar").await;
    let r = app
        .dav("MKCOL", &uploads(&u, "up1"), "liar", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    for i in 1..=2 {
        let r = app
            .dav("PUT", &uploads(&u, &format!("up1/{i}")), "liar", PASSWORD)
            .body(bytes(1_000, i))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = app
        .dav("MOVE", &uploads(&u, "up1/.file"), "liar", PASSWORD)
        .header("destination", format!("{}{}", app.base, drive(&u, "f.bin")))
        .header("oc-total-length", "3000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(listed(&app, &u.token, None, "f.bin").await.is_none());
    assert_eq!(app.me(&u.token).await["used_bytes"], 0);
    assert_eq!(app.temp_files(), 0, "no half-assembled file left");
    // The upload is still there and can be finished with the right length.
    let r = app
        .dav("MOVE", &uploads(&u, "up1/.file"), "liar", PASSWORD)
        .header("destination", format!("{}{}", app.base, drive(&u, "f.bin")))
        .header("oc-total-length", "2000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(app.assert_usage_consistent(&u).await, 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_move_into_another_users_drive_is_403() {
    let app = spawn_app().await;
    let u = app.register("mover").await;
    let victim = app.register("victim").await;
    let r = app
        .dav("MKCOL", &uploads(&u, "up1"), "mover", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .dav("PUT", &uploads(&u, "up1/1"), "mover", PASSWORD)
        .body(bytes(5_000, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    for dest in [
        format!("{}/dav/files/victim/planted.bin", app.base),
        "/dav/files/victim/planted.bin".to_string(),
    ] {
        let r = app
            .dav("MOVE", &uploads(&u, "up1/.file"), "mover", PASSWORD)
            .header("destination", dest)
            .header("oc-total-length", "5000")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    // Nor someone else's upload folder through ours, nor a path outside /dav/files/.
    for dest in [
        "/dav/uploads/victim/x/planted.bin",
        "/api/files/planted.bin",
        "/planted.bin",
        "/dav/files/mover/../victim/planted.bin",
    ] {
        let r = app
            .dav("MOVE", &uploads(&u, "up1/.file"), "mover", PASSWORD)
            .header("destination", dest)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_client_error() || r.status().is_server_error(),
            "{dest}: {}",
            r.status()
        );
    }
    assert!(
        app.all_nodes(&victim.token).await.is_empty(),
        "nothing planted in the victim's drive"
    );
    assert!(app.all_nodes(&u.token).await.is_empty());
    assert_eq!(app.me(&victim.token).await["used_bytes"], 0);
    // Another user's upload folder cannot be touched either.
    let r = app
        .dav("PUT", "/dav/uploads/mover/up1/2", "victim", PASSWORD)
        .body(bytes(10, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .dav("DELETE", "/dav/uploads/mover/up1", "victim", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id),
        5_000
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Security
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_drive_answers_403_alike() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let thief = app.register("thief").await;
    assert_eq!(
        put(&app, &owner, "secret.txt", b"top secret".to_vec())
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.dav("MKCOL", &drive(&owner, "private"), "owner", PASSWORD)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );

    let targets = [
        "/dav/files/owner/",
        "/dav/files/owner",
        "/dav/files/OWNER/secret.txt",
        "/dav/files/owner/secret.txt",
        "/dav/files/owner/private/",
        "/dav/files/owner/missing.txt",
        "/dav/files/nobody/",
        "/dav/files/nobody/missing.txt",
        "/dav/uploads/owner/",
        "/dav/uploads/owner/up1",
        "/dav/uploads/nobody/up1",
        // The same trees under Nextcloud's paths.
        "/remote.php/dav/files/owner/",
        "/remote.php/dav/files/owner",
        "/remote.php/dav/files/OWNER/secret.txt",
        "/remote.php/dav/files/owner/private/",
        "/remote.php/dav/files/owner/missing.txt",
        "/remote.php/dav/files/nobody/missing.txt",
        "/remote.php/dav/uploads/owner/up1",
    ];
    let mut answers = Vec::new();
    for t in targets {
        for m in [
            "PROPFIND",
            "GET",
            "HEAD",
            "PUT",
            "MKCOL",
            "DELETE",
            "PROPPATCH",
            "LOCK",
            "COPY",
            "MOVE",
        ] {
            let r = app
                .dav(m, t, "thief", PASSWORD)
                .header("depth", "1")
                .header(
                    "destination",
                    format!("{}/dav/files/thief/stolen", app.base),
                )
                .body(if m == "PUT" {
                    "planted".to_string()
                } else {
                    String::new()
                })
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            assert_eq!(status, StatusCode::FORBIDDEN, "{m} {t}");
            answers.push(body);
        }
    }
    let first = answers[0].clone();
    assert!(
        answers.iter().all(|a| a.is_empty() || *a == first),
        "every refusal looks the same: {answers:?}"
    );
    assert!(
        !first.contains("secret") && !first.contains("exist"),
        "{first}"
    );
    // Nothing moved or planted either way.
    assert_eq!(app.all_nodes(&owner.token).await.len(), 2);
    assert!(app.all_nodes(&thief.token).await.is_empty());
    let r = app
        .dav("GET", &drive(&owner, "secret.txt"), "owner", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "top secret");
}

/// Every path of a file under the test's folder that is not one of `user`'s own bodies (or the
/// server's own bookkeeping), or whose name carries `marker`.
fn strays(app: &TestApp, user: &TestUser, marker: &str) -> Vec<String> {
    let own = app.volume_path().join("users").join(&user.id).join("files");
    let volume = app.volume_path();
    let mut out = Vec::new();
    for (path, _) in walk(app.dir.path()) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.contains(marker) {
            out.push(path.display().to_string());
            continue;
        }
        if path.starts_with(&volume) && !path.starts_with(&own) && name != ".cloudvault-volume" {
            out.push(path.display().to_string());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traversal_and_encoded_separators_are_refused() {
    let app = spawn_app().await;
    let u = app.register("walker").await;
    let other = app.register("other").await;
    assert_eq!(
        app.dav("MKCOL", &drive(&u, "sub"), "walker", PASSWORD)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    let paths = [
        "/dav/files/walker/../other/escXfile",
        "/dav/files/walker/sub/../../other/escXfile",
        "/dav/files/walker/%2e%2e/other/escXfile",
        "/dav/files/walker/%2E%2E/%2E%2E/escXfile",
        "/dav/files/walker/sub/%2e%2e%2f%2e%2e%2fother%2fescXfile",
        "/dav/files/walker/..%2fother%2fescXfile",
        "/dav/files/walker/sub%2f..%2f..%2fescXfile",
        "/dav/files/walker/escXfile%2fx",
        "/dav/files/walker/escXfile%00.txt",
        "/dav/files/walker/escX%5c..%5c..%5cfile",
        "/dav/files/walker/./escXfile",
        "/dav/files/walker/%2e/escXfile",
        "/dav/files/walker/escX%ff%fefile",
        "/dav/%2e%2e/escXfile",
        "/dav/files/%2e%2e/escXfile",
        "/dav/uploads/walker/..%2f..%2fescXfile",
        "/dav/uploads/walker/%2e%2e/escXfile",
        "/dav/files/walker/../../../../../../tmp/escXfile",
    ];
    for p in paths {
        for (m, body) in [("PUT", &b"evil"[..]), ("MKCOL", &b""[..])] {
            let r = app
                .raw_request(m, p, Some(("walker", PASSWORD)), &[], body)
                .await;
            assert!(
                matches!(r.status, 400 | 403 | 404),
                "{m} {p}: {} {}",
                r.status,
                r.body
            );
        }
        let r = app
            .raw_request("GET", p, Some(("walker", PASSWORD)), &[], b"")
            .await;
        assert!(
            matches!(r.status, 400 | 403 | 404),
            "GET {p}: {} {}",
            r.status,
            r.body
        );
    }
    // Reading outside the tree: a traversal GET never answers a body from the disk.
    let r = app
        .raw_request(
            "GET",
            "/dav/files/walker/../../../../../../etc/passwd",
            Some(("walker", PASSWORD)),
            &[],
            b"",
        )
        .await;
    assert!(!r.body.contains("root:"), "{}", r.body);
    assert!(matches!(r.status, 400 | 403 | 404));

    let strays = strays(&app, &u, "escX");
    assert!(
        strays.is_empty(),
        "created outside the user's tree: {strays:?}"
    );
    let nodes = app.all_nodes(&u.token).await;
    assert_eq!(nodes.len(), 1, "only the folder made on purpose: {nodes:?}");
    assert!(app.all_nodes(&other.token).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destinations_outside_the_drive_are_refused() {
    let app = spawn_app().await;
    let u = app.register("copier").await;
    let other = app.register("target").await;
    assert_eq!(
        put(&app, &u, "a.txt", b"mine".to_vec()).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.dav("MKCOL", &drive(&u, "dir"), "copier", PASSWORD)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    let base = app.base.clone();
    let dests = vec![
        format!("{base}/dav/files/target/escXa.txt"),
        "/dav/files/target/escXa.txt".to_string(),
        format!("{base}/dav/files/TARGET/escXa.txt"),
        format!("{base}/dav/files/copier/../target/escXa.txt"),
        format!("{base}/dav/files/copier/%2e%2e/target/escXa.txt"),
        format!("{base}/dav/files/copier/..%2ftarget%2fescXa.txt"),
        format!("{base}/dav/files/copier/dir/../../target/escXa.txt"),
        format!("{base}/dav/files/nobody/escXa.txt"),
        format!("{base}/dav/uploads/copier/escXa.txt"),
        format!("{base}/dav/escXa.txt"),
        format!("{base}/api/files/escXa.txt"),
        format!("{base}/escXa.txt"),
        "/escXa.txt".to_string(),
        "/../../escXa.txt".to_string(),
        format!("{base}/dav/files/copier/escX%00a.txt"),
        format!("{base}/dav/files/copier/escX%2fa.txt"),
        "http://other.example/dav/files/target/escXa.txt".to_string(),
        "file:///tmp/escXa.txt".to_string(),
    ];
    for m in ["COPY", "MOVE"] {
        for src in ["a.txt", "dir"] {
            for d in &dests {
                let r = app
                    .raw_request(
                        m,
                        &drive(&u, src),
                        Some(("copier", PASSWORD)),
                        &[("Destination", d)],
                        b"",
                    )
                    .await;
                assert!(
                    !(200..300).contains(&r.status),
                    "{m} {src} -> {d}: {} {}",
                    r.status,
                    r.body
                );
            }
        }
    }
    let strays = strays(&app, &u, "escX");
    assert!(
        strays.is_empty(),
        "created outside the user's tree: {strays:?}"
    );
    let nodes = app.all_nodes(&u.token).await;
    assert_eq!(
        nodes.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["/a.txt", "/dir"],
        "the source is untouched"
    );
    assert!(
        app.all_nodes(&other.token).await.is_empty(),
        "nothing in the other user's drive"
    );
    assert_eq!(app.me(&other.token).await["used_bytes"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_long_names_are_refused() {
    let app = spawn_app().await;
    let u = app.register("longname").await;
    let long = "n".repeat(300);
    let r = put(&app, &u, &long, b"x".to_vec()).await;
    assert!(r.status().is_client_error(), "PUT: {}", r.status());
    let r = app
        .dav("MKCOL", &drive(&u, &long), "longname", PASSWORD)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "MKCOL: {}", r.status());
    // 150 two-byte characters: 300 bytes, over the 255-byte limit most filesystems have.
    let wide = "é".repeat(150);
    let r = put(&app, &u, &wide, b"x".to_vec()).await;
    assert!(r.status().is_client_error(), "PUT: {}", r.status());
    assert_eq!(
        put(&app, &u, "ok.txt", b"x".to_vec()).await.status(),
        StatusCode::CREATED
    );
    let r = app
        .dav("MOVE", &drive(&u, "ok.txt"), "longname", PASSWORD)
        .header("destination", drive(&u, &long))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_client_error(), "MOVE: {}", r.status());
    let r = app
        .dav("COPY", &drive(&u, "ok.txt"), "longname", PASSWORD)
        .header("destination", drive(&u, &long))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_client_error() || r.text().await.unwrap().contains(" 40"),
        "COPY"
    );
    let names: Vec<String> = app
        .all_nodes(&u.token)
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(names, ["/ok.txt"]);
    assert_eq!(app.assert_usage_consistent(&u).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_is_basic_and_required() {
    let app = spawn_app().await;
    let u = app.register("authy").await;
    for m in ["PROPFIND", "GET", "PUT", "MKCOL", "DELETE"] {
        let r = app
            .client
            .request(method(m), app.url(&drive(&u, "x")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{m} without auth");
        let www = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        assert!(www.to_ascii_lowercase().starts_with("basic"), "{www}");
    }
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "authy", "wrong-password")
        .header("depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "nobody", "wrong-password")
        .header("depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A bearer token of the API is not a WebDAV credential.
    let r = app
        .client
        .request(method("PROPFIND"), app.url(&drive(&u, "")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Nothing was created by the refused writes.
    assert!(app.all_nodes(&u.token).await.is_empty());
    // Right credentials, in any case for the user name.
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "AUTHY", PASSWORD)
        .header("depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);

    // Depth: infinity is refused with the standard precondition.
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "authy", PASSWORD)
        .header("depth", "infinity")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("propfind-finite-depth"));
}

// ---------------------------------------------------------------------------------------------
// 5. App passwords
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_passwords_work_for_webdav_and_revoke_at_once() {
    let app = spawn_app().await;
    let u = app.register("appy").await;
    let other = app.register("someone").await;
    let r = app
        .post_json(
            "/api/auth/app-passwords",
            Some(&u.token),
            json!({"name": "laptop rclone"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let secret = created["password"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("cvap_") && secret.len() > 20, "{secret}");
    assert_eq!(created["name"], "laptop rclone");

    // The list never shows the secret; unused so far.
    let list = app.get_json("/api/auth/app-passwords", &u.token).await;
    let items = list["app_passwords"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!(!list.to_string().contains(&secret), "{list}");
    assert!(items[0].get("password").is_none());
    assert!(items[0]["last_used_at"].is_null());
    // Other users do not see it.
    let theirs = app.get_json("/api/auth/app-passwords", &other.token).await;
    assert!(theirs["app_passwords"].as_array().unwrap().is_empty());

    // WebDAV with it: reads and writes.
    let r = app
        .dav("PUT", &drive(&u, "via-app.txt"), "appy", &secret)
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "appy", &secret)
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    assert!(r.text().await.unwrap().contains("via-app.txt"));
    let list = app.get_json("/api/auth/app-passwords", &u.token).await;
    assert!(
        list["app_passwords"][0]["last_used_at"].is_string(),
        "last_used_at set: {list}"
    );
    // It is this user's only: not valid with another user name, and not an API login.
    let r = app
        .dav("PROPFIND", &drive(&other, ""), "someone", &secret)
        .header("depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .post_json(
            "/api/auth/login",
            None,
            json!({"username": "appy", "password": secret}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Someone else cannot revoke it.
    let r = app
        .client
        .delete(app.url(&format!("/api/auth/app-passwords/{id}")))
        .bearer_auth(&other.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "appy", &secret)
        .header("depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);

    // Revoked: refused on the very next request.
    let r = app
        .client
        .delete(app.url(&format!("/api/auth/app-passwords/{id}")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "appy", &secret)
        .header("depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let list = app.get_json("/api/auth/app-passwords", &u.token).await;
    assert!(list["app_passwords"].as_array().unwrap().is_empty());
    let r = app
        .client
        .delete(app.url(&format!("/api/auth/app-passwords/{id}")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_the_old_password_for_webdav_at_once() {
    let app = spawn_app().await;
    let u = app.register("changer").await;
    // Used (and so cached) right before the change.
    for _ in 0..3 {
        let r = app
            .dav("PROPFIND", &drive(&u, ""), "changer", PASSWORD)
            .header("depth", "0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    }
    let new = "a-brand-new-password-77";
    let r = app
        .post_json(
            "/api/auth/password",
            Some(&u.token),
            json!({"current_password": PASSWORD, "new_password": new}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "changer", PASSWORD)
        .header("depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the old password is refused at once"
    );
    let r = app
        .dav("PUT", &drive(&u, "x.txt"), "changer", PASSWORD)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "changer", new)
        .header("depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let r = app
        .dav("PUT", &drive(&u, "x.txt"), "changer", new)
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

// ---------------------------------------------------------------------------------------------
// 6. RFC 4331 quota properties
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_properties_match_the_account() {
    let app = spawn_app().await;
    let u = app.register("rfc4331").await;
    app.set_quota(&u, 10_000_000);
    app.upload_one(&u.token, "", "a.bin", bytes(123_456, 1))
        .await;
    assert_eq!(
        put(&app, &u, "b.bin", bytes(1_000, 2)).await.status(),
        StatusCode::CREATED
    );
    let me = app.me(&u.token).await;
    let (used, quota) = (
        me["used_bytes"].as_i64().unwrap(),
        me["quota_bytes"].as_i64().unwrap(),
    );
    assert_eq!((used, quota), (124_456, 10_000_000));
    for path in [drive(&u, ""), format!("/dav/files/{}", u.username)] {
        let r = app
            .dav("PROPFIND", &path, "rfc4331", PASSWORD)
            .header("depth", "0")
            .header("content-type", "application/xml")
            .body(PROPFIND_QUOTA)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::MULTI_STATUS);
        let body = r.text().await.unwrap();
        assert_eq!(
            xml_value(&body, "quota-used-bytes").as_deref(),
            Some(used.to_string().as_str()),
            "{body}"
        );
        assert_eq!(
            xml_value(&body, "quota-available-bytes").as_deref(),
            Some((quota - used).to_string().as_str()),
            "{body}"
        );
    }
    // They follow the account: after a delete (counted while in the trash, freed when the
    // trash is emptied) and a quota change.
    let r = app
        .dav("DELETE", &drive(&u, "b.bin"), "rfc4331", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.me(&u.token).await["used_bytes"], 124_456);
    let r = app
        .client
        .delete(app.url("/api/trash"))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.set_quota(&u, 5_000_000);
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "rfc4331", PASSWORD)
        .header("depth", "0")
        .body(PROPFIND_QUOTA)
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert_eq!(
        xml_value(&body, "quota-used-bytes").as_deref(),
        Some("123456"),
        "{body}"
    );
    assert_eq!(
        xml_value(&body, "quota-available-bytes").as_deref(),
        Some("4876544"),
        "{body}"
    );
}

// ---------------------------------------------------------------------------------------------
// 7. Client quirks
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_answers_without_auth_everywhere() {
    let app = spawn_app().await;
    let u = app.register("winuser").await;
    for path in [
        "/",
        "/dav",
        "/dav/",
        "/dav/files/winuser/",
        "/dav/files/winuser/some/folder",
        "/dav/files/",
    ] {
        let r = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "OPTIONS {path}");
        let dav = r
            .headers()
            .get("dav")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        assert!(
            dav.split(',').any(|c| c.trim() == "2"),
            "DAV: {dav} on {path}"
        );
        assert_eq!(
            r.headers()
                .get("ms-author-via")
                .map(|v| v.to_str().unwrap()),
            Some("DAV"),
            "{path}"
        );
        let allow = r
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        assert!(
            allow.contains("PROPFIND") && allow.contains("LOCK"),
            "Allow: {allow}"
        );
    }
    // Windows' mini-redirector: `OPTIONS /` as it sends it, on a raw connection.
    let r = app
        .raw_request(
            "OPTIONS",
            "/",
            None,
            &[
                ("Translate", "f"),
                ("User-Agent", "Microsoft-WebDAV-MiniRedir/10.0.19045"),
            ],
            b"",
        )
        .await;
    assert_eq!(r.status, 200);
    let header = |name: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert!(header("dav").contains('2'), "{:?}", r.headers);
    assert_eq!(header("ms-author-via"), "DAV");
    // Authenticated answers carry MS-Author-Via as well.
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "winuser", PASSWORD)
        .header("depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()
            .get("ms-author-via")
            .map(|v| v.to_str().unwrap()),
        Some("DAV")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn macos_bookkeeping_files_and_non_ascii_names() {
    let app = spawn_app().await;
    let u = app.register("macuser").await;
    for name in ["._foo", ".DS_Store", "._caf%C3%A9.txt"] {
        let r = put(&app, &u, name, b"\0\x05\x16\x07resource fork".to_vec()).await;
        assert_eq!(r.status(), StatusCode::CREATED, "PUT {name}");
        let r = app
            .dav("GET", &drive(&u, name), "macuser", PASSWORD)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            r.bytes().await.unwrap().as_ref(),
            b"\0\x05\x16\x07resource fork"
        );
    }

    // Percent-encoded UTF-8 round-trips, and the API shows the decoded name.
    let r = put(&app, &u, "caf%C3%A9.txt", b"coffee".to_vec()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let item = listed(&app, &u.token, None, "café.txt")
        .await
        .expect("listed as café.txt");
    assert_same(
        &app.download(&u.token, item["id"].as_str().unwrap()).await,
        b"coffee",
    );
    let r = app
        .dav("GET", &drive(&u, "caf%C3%A9.txt"), "macuser", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "coffee");
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "macuser", PASSWORD)
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(
        body.contains("/dav/files/macuser/caf%C3%A9.txt")
            || body.contains("/dav/files/macuser/caf%c3%a9.txt"),
        "{body}"
    );
    // macOS sends decomposed (NFD) names: the same file, readable by that spelling.
    let r = app
        .dav("GET", &drive(&u, "cafe%CC%81.txt"), "macuser", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.text().await.unwrap(), "coffee");
    // Names with spaces, emoji and other scripts; a folder too.
    let r = app
        .dav(
            "MKCOL",
            &drive(&u, "%D0%9F%D0%B0%D0%BF%D0%BA%D0%B0%20%F0%9F%93%81"),
            "macuser",
            PASSWORD,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = put(
        &app,
        &u,
        "%D0%9F%D0%B0%D0%BF%D0%BA%D0%B0%20%F0%9F%93%81/%E6%97%A5%E6%9C%AC%20%2B%20a%26b.txt",
        b"jp".to_vec(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let paths: Vec<String> = app
        .all_nodes(&u.token)
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert!(
        paths.contains(&"/Папка 📁/日本 + a&b.txt".to_string()),
        "{paths:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_puts_answer_412() {
    let app = spawn_app().await;
    let u = app.register("cond").await;
    assert_eq!(
        put(&app, &u, "f.txt", b"v1".to_vec()).await.status(),
        StatusCode::CREATED
    );
    let r = app
        .dav("PUT", &drive(&u, "f.txt"), "cond", PASSWORD)
        .header("if-none-match", "*")
        .body("v2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let r = app
        .dav("PUT", &drive(&u, "f.txt"), "cond", PASSWORD)
        .header("if-match", "\"not-the-etag\"")
        .body("v2")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let r = app
        .dav("GET", &drive(&u, "f.txt"), "cond", PASSWORD)
        .send()
        .await
        .unwrap();
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(
        r.text().await.unwrap(),
        "v1",
        "refused writes changed nothing"
    );
    // The right etag lets the write through; If-None-Match: * creates a new file.
    let r = app
        .dav("PUT", &drive(&u, "f.txt"), "cond", PASSWORD)
        .header("if-match", &etag)
        .body("v3")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let r = app
        .dav("PUT", &drive(&u, "g.txt"), "cond", PASSWORD)
        .header("if-none-match", "*")
        .body("g")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // If-Match on a missing file fails too.
    let r = app
        .dav("PUT", &drive(&u, "h.txt"), "cond", PASSWORD)
        .header("if-match", &etag)
        .body("h")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let r = app
        .dav("GET", &drive(&u, "f.txt"), "cond", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_ne!(
        r.headers()["etag"].to_str().unwrap(),
        etag,
        "a new body has a new etag"
    );
    assert_eq!(r.text().await.unwrap(), "v3");
    let names: Vec<String> = app
        .all_nodes(&u.token)
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(names, ["/f.txt", "/g.txt"]);
    // f.txt's first body ("v1") is kept as a version.
    assert_eq!(app.assert_usage_consistent(&u).await, 5);
}

// ---------------------------------------------------------------------------------------------
// More: parallel quota, expiry and restart of chunked uploads, the drive root, account state
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_webdav_puts_never_exceed_the_quota() {
    let app = spawn_app().await;
    let u = app.register("parallel").await;
    app.set_quota(&u, 10_000_000);
    let size = 700_000; // 20 × 0.7 MB against 10 MB: exactly 14 fit
    let mut tasks = Vec::new();
    for i in 0..20u8 {
        let req = app
            .dav(
                "PUT",
                &drive(&u, &format!("f{i}.bin")),
                "parallel",
                PASSWORD,
            )
            .body(bytes(size, i));
        tasks.push(tokio::spawn(
            async move { req.send().await.unwrap().status() },
        ));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::CREATED => ok += 1,
            StatusCode::INSUFFICIENT_STORAGE => refused += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, refused), (14, 6));
    assert_eq!(app.assert_usage_consistent(&u).await, 14 * size as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_chunked_uploads_expire_and_give_their_space_back() {
    let app = spawn_app().await;
    let u = app.register("forgetful").await;
    for dir in ["old", "fresh"] {
        let r = app
            .dav("MKCOL", &uploads(&u, dir), "forgetful", PASSWORD)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let r = app
            .dav(
                "PUT",
                &uploads(&u, &format!("{dir}/1")),
                "forgetful",
                PASSWORD,
            )
            .body(bytes(10_000, 1))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    assert_eq!(
        app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id),
        20_000
    );
    // "old" was last touched 25 hours ago; a part folder no upload owns lies on disk too.
    let day_ago = cloudvault::db::now_ms() - 25 * 3600 * 1000;
    app.app
        .db
        .conn()
        .unwrap()
        .execute(
            "UPDATE chunk_uploads SET updated_at = ?1 WHERE name = 'old'",
            [day_ago],
        )
        .unwrap();
    let orphan = app
        .volume_path()
        .join(".cloudvault-chunks")
        .join(uuid::Uuid::new_v4().to_string());
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("1"), b"orphan").unwrap();

    let (expired, _) = app.app.uploads.expire_stale().await.unwrap();
    assert_eq!(expired, 1);
    assert!(!orphan.exists(), "part folders no upload owns are removed");
    assert_eq!(
        app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id),
        10_000
    );
    let r = app
        .dav("PROPFIND", &uploads(&u, "old"), "forgetful", PASSWORD)
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // The fresh one still finishes.
    let r = app
        .dav("MOVE", &uploads(&u, "fresh/.file"), "forgetful", PASSWORD)
        .header("destination", drive(&u, "fresh.bin"))
        .header("oc-total-length", "10000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(walk(&app.volume_path().join(".cloudvault-chunks")).len(), 0);
    assert_eq!(app.assert_usage_consistent(&u).await, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_uploads_survive_a_restart() {
    let app = spawn_app().await;
    let u = app.register("restarter").await;
    let data = bytes(200_000, 6);
    let r = app
        .dav("MKCOL", &uploads(&u, "up1"), "restarter", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .dav("PUT", &uploads(&u, "up1/1"), "restarter", PASSWORD)
        .body(data[..120_000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (dir, config) = app.stop().await;
    let app = start(dir, config).await;
    assert_eq!(
        app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id),
        120_000,
        "still reserved after the restart"
    );
    let r = app
        .dav("PUT", &uploads(&u, "up1/2"), "restarter", PASSWORD)
        .body(data[120_000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .dav("MOVE", &uploads(&u, "up1/.file"), "restarter", PASSWORD)
        .header("destination", drive(&u, "after-restart.bin"))
        .header("oc-total-length", "200000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let u = app.login("restarter", PASSWORD).await;
    let item = listed(&app, &u.token, None, "after-restart.bin")
        .await
        .unwrap();
    assert_same(
        &app.download(&u.token, item["id"].as_str().unwrap()).await,
        &data,
    );
    assert_eq!(app.assert_usage_consistent(&u).await, 200_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_move_refusals_create_nothing() {
    let app = spawn_app().await;
    let u = app.register("picky").await;
    assert_eq!(
        put(&app, &u, "exists.bin", b"old".to_vec()).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.dav("MKCOL", &drive(&u, "folder"), "picky", PASSWORD)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    // Upload folder and chunk names are plain tokens.
    for bad in ["a%20b", "%C3%A9", "x%3Ay"] {
        let r = app
            .dav("MKCOL", &uploads(&u, bad), "picky", PASSWORD)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "upload folder {bad}");
    }
    let r = app
        .dav("MKCOL", &uploads(&u, "up1"), "picky", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .dav("MKCOL", &uploads(&u, "up1"), "picky", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::METHOD_NOT_ALLOWED,
        "MKCOL on an existing upload folder"
    );
    for bad in ["abc", "-1", "1.txt", ".file2"] {
        let r = app
            .dav(
                "PUT",
                &uploads(&u, &format!("up1/{bad}")),
                "picky",
                PASSWORD,
            )
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "chunk {bad}");
    }
    let r = app
        .dav("PUT", &uploads(&u, "up1/1"), "picky", PASSWORD)
        .body(bytes(1_000, 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let mv = |dest: String, extra: Option<(&'static str, &'static str)>| {
        let mut r = app
            .dav("MOVE", &uploads(&u, "up1/.file"), "picky", PASSWORD)
            .header("destination", dest);
        if let Some((k, v)) = extra {
            r = r.header(k, v);
        }
        r.send()
    };
    // Missing parent folder: 409. Onto a folder: 409. Overwrite: F onto a file: 412.
    assert_eq!(
        mv(drive(&u, "nowhere/x.bin"), None).await.unwrap().status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        mv(drive(&u, "folder"), None).await.unwrap().status(),
        StatusCode::CONFLICT
    );
    assert_eq!(
        mv(drive(&u, "exists.bin"), Some(("overwrite", "F")))
            .await
            .unwrap()
            .status(),
        StatusCode::PRECONDITION_FAILED
    );
    // An over-long or invalid destination name: 400. No Destination at all: 400.
    assert_eq!(
        mv(drive(&u, &"n".repeat(300)), None)
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    let r = app
        .dav("MOVE", &uploads(&u, "up1/.file"), "picky", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // The drive root itself is no file name.
    assert!(!mv(drive(&u, ""), None).await.unwrap().status().is_success());

    let paths: Vec<String> = app
        .all_nodes(&u.token)
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(paths, ["/exists.bin", "/folder"]);
    let item = listed(&app, &u.token, None, "exists.bin").await.unwrap();
    assert_same(
        &app.download(&u.token, item["id"].as_str().unwrap()).await,
        b"old",
    );
    assert_eq!(app.temp_files(), 0);
    assert_eq!(
        app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id),
        1_000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drive_root_and_folder_moves_are_guarded() {
    let app = spawn_app().await;
    let u = app.register("rooty").await;
    assert_eq!(
        app.dav("MKCOL", &drive(&u, "a"), "rooty", PASSWORD)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.dav("MKCOL", &drive(&u, "a/b"), "rooty", PASSWORD)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        put(&app, &u, "a/b/f.txt", b"keep me".to_vec())
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        put(&app, &u, "g.txt", b"g".to_vec()).await.status(),
        StatusCode::CREATED
    );

    let r = app
        .dav("MOVE", &drive(&u, ""), "rooty", PASSWORD)
        .header("destination", drive(&u, "a/root"))
        .send()
        .await
        .unwrap();
    assert!(
        !r.status().is_success(),
        "MOVE of the drive root: {}",
        r.status()
    );
    // A folder into its own subfolder.
    let r = app
        .dav("MOVE", &drive(&u, "a"), "rooty", PASSWORD)
        .header("destination", drive(&u, "a/b/a"))
        .send()
        .await
        .unwrap();
    assert!(!r.status().is_success(), "MOVE into itself: {}", r.status());
    // Overwrite: F onto an existing file.
    let r = app
        .dav("MOVE", &drive(&u, "g.txt"), "rooty", PASSWORD)
        .header("destination", drive(&u, "a/b/f.txt"))
        .header("overwrite", "F")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    let paths: Vec<String> = app
        .all_nodes(&u.token)
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(paths, ["/a", "/a/b", "/a/b/f.txt", "/g.txt"]);
    let r = app
        .dav("GET", &drive(&u, "a/b/f.txt"), "rooty", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "keep me");

    // Dead properties hang off the id: they follow a MOVE.
    let patch = r#"<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test"><D:set><D:prop><Z:colour>blue</Z:colour></D:prop></D:set></D:propertyupdate>"#;
    let r = app
        .dav("PROPPATCH", &drive(&u, "g.txt"), "rooty", PASSWORD)
        .body(patch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let r = app
        .dav("MOVE", &drive(&u, "g.txt"), "rooty", PASSWORD)
        .header("destination", drive(&u, "a/h.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let find = r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:x-test"><D:prop><Z:colour/></D:prop></D:propfind>"#;
    let r = app
        .dav("PROPFIND", &drive(&u, "a/h.txt"), "rooty", PASSWORD)
        .header("depth", "0")
        .body(find)
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert_eq!(
        xml_value(&body, "colour").as_deref(),
        Some("blue"),
        "{body}"
    );
}

/// A small drive: /a, /a/b, /a/b/f.txt, /g.txt.
async fn small_tree(app: &TestApp, u: &TestUser) -> Vec<String> {
    for dir in ["a", "a/b"] {
        assert_eq!(
            app.dav("MKCOL", &drive(u, dir), &u.username, PASSWORD)
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::CREATED
        );
    }
    assert_eq!(
        put(app, u, "a/b/f.txt", b"keep me".to_vec()).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        put(app, u, "g.txt", b"g".to_vec()).await.status(),
        StatusCode::CREATED
    );
    app.all_nodes(&u.token)
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_drive_root_deletes_nothing() {
    let app = spawn_app().await;
    let u = app.register("rootdel").await;
    let before = small_tree(&app, &u).await;
    assert_eq!(before.len(), 4);
    for path in [drive(&u, ""), format!("/dav/files/{}", u.username)] {
        let r = app
            .dav("DELETE", &path, "rootdel", PASSWORD)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let after: Vec<String> = app
            .all_nodes(&u.token)
            .await
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert!(!status.is_success(), "DELETE {path}: {status}");
        assert_eq!(
            after, before,
            "DELETE {path} answered {status} and must leave the drive as it was"
        );
    }
    assert_eq!(app.assert_usage_consistent(&u).await, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_at_the_drive_root_is_refused_with_an_answer() {
    let app = spawn_app().await;
    let u = app.register("rootdest").await;
    let before = small_tree(&app, &u).await;
    for (m, src) in [
        ("MOVE", "g.txt"),
        ("COPY", "g.txt"),
        ("COPY", "a"),
        ("MOVE", "a"),
        ("COPY", ""),
        ("MOVE", ""),
    ] {
        for dest in [
            drive(&u, ""),
            format!("/dav/files/{}", u.username),
            format!("{}{}", app.base, drive(&u, "")),
        ] {
            let r = app
                .dav(m, &drive(&u, src), "rootdest", PASSWORD)
                .header("destination", &dest)
                .send()
                .await;
            let r = r.unwrap_or_else(|e| {
                panic!("{m} /{src} -> {dest}: no answer, the connection was dropped ({e})")
            });
            assert!(
                !r.status().is_success(),
                "{m} /{src} -> {dest}: {}",
                r.status()
            );
        }
    }
    let after: Vec<String> = app
        .all_nodes(&u.token)
        .await
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(after, before);
}

/// dav-server 0.11 appends every dead property to any PROPFIND answer (`write_props` adds
/// `get_props(path, true)` whatever was asked); the door works around it by listing dead
/// properties wholesale only for `allprop`/`propname`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propfind_answers_what_was_asked_for_dead_properties() {
    let app = spawn_app().await;
    let u = app.register("props").await;
    assert_eq!(
        put(&app, &u, "f.txt", b"f".to_vec()).await.status(),
        StatusCode::CREATED
    );
    let patch = r#"<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test"><D:set><D:prop><Z:colour>blue</Z:colour><Z:shape>round</Z:shape></D:prop></D:set></D:propertyupdate>"#;
    let r = app
        .dav("PROPPATCH", &drive(&u, "f.txt"), "props", PASSWORD)
        .body(patch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let propfind = |body: &'static str| {
        app.dav("PROPFIND", &drive(&u, "f.txt"), "props", PASSWORD)
            .header("depth", "0")
            .body(body)
            .send()
    };

    // <prop> with one dead property: that one, once (RFC 4918 9.1).
    let r = propfind(r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:Z="urn:x-test"><D:prop><Z:colour/></D:prop></D:propfind>"#).await.unwrap();
    let body = r.text().await.unwrap();
    assert_eq!(
        xml_values(&body, "colour"),
        ["blue"],
        "asked once, answered once: {body}"
    );
    // dav-server 0.11 still lists unasked dead properties (README, litmus propget warnings).
    // <prop> with a live property only: no dead ones.
    let r = propfind(r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"#).await.unwrap();
    let body = r.text().await.unwrap();
    assert_eq!(xml_values(&body, "getetag").len(), 1, "{body}");
    // <propname>: names, never values.
    let r =
        propfind(r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>"#)
            .await
            .unwrap();
    let body = r.text().await.unwrap();
    assert_eq!(xml_values(&body, "colour"), [""], "{body}");
    assert!(
        !body.contains("blue") && !body.contains("round"),
        "propname shows no values: {body}"
    );
    // <allprop>: each dead property once, with its value.
    let r =
        propfind(r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#)
            .await
            .unwrap();
    let body = r.text().await.unwrap();
    assert_eq!(xml_values(&body, "colour"), ["blue"], "{body}");
    assert_eq!(xml_values(&body, "shape"), ["round"], "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_an_account_ends_its_webdav_access_at_once() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let u = app.register("leaver").await;
    let r = app
        .post_json(
            "/api/auth/app-passwords",
            Some(&u.token),
            json!({"name": "phone"}),
        )
        .await;
    let secret = r.json::<Value>().await.unwrap()["password"]
        .as_str()
        .unwrap()
        .to_string();
    for pass in [PASSWORD, secret.as_str()] {
        let r = app
            .dav("PROPFIND", &drive(&u, ""), "leaver", pass)
            .header("depth", "0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    }
    app.set_disabled(&admin.token, &u.id, true).await;
    for pass in [PASSWORD, secret.as_str()] {
        let r = app
            .dav("PROPFIND", &drive(&u, ""), "leaver", pass)
            .header("depth", "0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    app.set_disabled(&admin.token, &u.id, false).await;
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "leaver", PASSWORD)
        .header("depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_basic_logins_are_rate_limited_like_api_logins() {
    let app = spawn_app_with(|c, _| {
        c.auth.login_failures_per_account = 3;
        c.auth.login_failures_per_address = 50;
    })
    .await;
    let u = app.register("target").await;
    // A client that already signed in keeps working through an attack on its account.
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "target", PASSWORD)
        .header("depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    for _ in 0..3 {
        let r = app
            .dav("PROPFIND", &drive(&u, ""), "target", "guess-guess-guess")
            .header("depth", "0")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = app
        .dav("PROPFIND", &drive(&u, ""), "target", "guess-guess-guess")
        .header("depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // The same limit as the API's login: that is refused now too.
    let r = app
        .post_json(
            "/api/auth/login",
            None,
            json!({"username": "target", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // Garbage credentials are a plain 401, never a server error.
    for h in [
        "Basic !!!notbase64",
        "Basic ",
        "Basic dXNlcm5hbWVvbmx5",
        "Bearer x",
        "Basic //79/A==",
    ] {
        let r = app
            .client
            .request(method("PROPFIND"), app.url(&drive(&u, "")))
            .header("authorization", h)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{h}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nextcloud_mtime_and_checksum_headers() {
    let app = spawn_app().await;
    let u = app.register("ncclient").await;
    let data = b"nextcloud style".to_vec();
    let sha1 = "SHA1:3c1b7a8f7b1cbb0a0e4c0b3dc6bcd4f37d0b1d2e"; // any well-formed token is kept as sent
    let r = app
        .dav("PUT", &drive(&u, "n.txt"), "ncclient", PASSWORD)
        .header("x-oc-mtime", "1600000000")
        .header("oc-checksum", sha1)
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        r.headers().get("x-oc-mtime").map(|v| v.to_str().unwrap()),
        Some("accepted")
    );
    let item = listed(&app, &u.token, None, "n.txt").await.unwrap();
    assert_eq!(item["modified_at"], "2020-09-13T12:26:40.000Z", "{item}");
    let find = r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:oc="http://owncloud.org/ns"><D:prop><D:getlastmodified/><oc:checksums/></D:prop></D:propfind>"#;
    let r = app
        .dav("PROPFIND", &drive(&u, "n.txt"), "ncclient", PASSWORD)
        .header("depth", "0")
        .body(find)
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert_eq!(
        xml_value(&body, "getlastmodified").as_deref(),
        Some("Sun, 13 Sep 2020 12:26:40 GMT"),
        "{body}"
    );
    assert_eq!(
        xml_value(&body, "checksum").as_deref(),
        Some(sha1),
        "{body}"
    );
    // A new body without a checksum must not keep the old one.
    let r = app
        .dav("PUT", &drive(&u, "n.txt"), "ncclient", PASSWORD)
        .body("changed")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = app
        .dav("PROPFIND", &drive(&u, "n.txt"), "ncclient", PASSWORD)
        .header("depth", "0")
        .body(find)
        .send()
        .await
        .unwrap();
    let body = r.text().await.unwrap();
    assert!(
        !body.contains(sha1),
        "a stale checksum would make rclone check report a difference: {body}"
    );
    // Hostile header values are ignored, not stored.
    let r = app
        .dav("PUT", &drive(&u, "m.txt"), "ncclient", PASSWORD)
        .header("oc-checksum", "SHA1:<x/>")
        .header("x-oc-mtime", "-5")
        .body("m")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(r.headers().get("x-oc-mtime").is_none());
    let r = app
        .dav("PROPFIND", &drive(&u, "m.txt"), "ncclient", PASSWORD)
        .header("depth", "0")
        .body(find)
        .send()
        .await
        .unwrap();
    assert!(!r.text().await.unwrap().contains("<x/>"));
}

/// A plain GET/HEAD of a file by a client whose password is cached skips dav-server
/// (`src/dav/get.rs`): it must answer exactly as dav-server does, and fall back to it for
/// folders, missing paths, someone else's drive and a disabled account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_gets_answer_exactly_as_dav_server_does() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let u = app.register("alice").await;
    let bob = app.register("bob").await;
    let files = [
        ("notes.txt", bytes(1_000, 3)),
        ("exact.bin", bytes(65_536, 4)),
        ("photo.jpeg.raw", bytes(65_537, 5)),
        ("résumé final.pdf", bytes(300_001, 6)),
        ("noext", Vec::new()),
    ];
    for (name, data) in &files {
        let r = put(&app, &u, name, data.clone()).await;
        assert!(r.status().is_success(), "{name}");
    }
    let compared = [
        "etag",
        "last-modified",
        "content-type",
        "content-length",
        "accept-ranges",
        "ms-author-via",
        "content-security-policy",
    ];
    for (name, data) in &files {
        let path = drive(
            &u,
            &percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
        for m in ["GET", "HEAD"] {
            // The plain request (the password is cached since the PUTs), then one that only
            // dav-server answers (a conditional that cannot match).
            let fast = app.dav(m, &path, "alice", PASSWORD).send().await.unwrap();
            let full = app
                .dav(m, &path, "alice", PASSWORD)
                .header("if-none-match", "\"no-such-etag\"")
                .send()
                .await
                .unwrap();
            assert_eq!(fast.status(), StatusCode::OK, "{m} {name}");
            assert_eq!(full.status(), StatusCode::OK, "{m} {name}");
            for h in compared {
                assert_eq!(
                    fast.headers().get(h),
                    full.headers().get(h),
                    "{m} {name}: header {h}"
                );
                assert!(fast.headers().contains_key(h), "{m} {name}: {h} missing");
            }
            let (a, b) = (fast.bytes().await.unwrap(), full.bytes().await.unwrap());
            if m == "GET" {
                assert_same(&a, data);
                assert_same(&b, data);
            } else {
                assert!(a.is_empty() && b.is_empty());
            }
        }
    }

    assert_eq!(
        fast_answers(&app, "GET").await,
        10.0,
        "the plain ones took the one-hop path"
    );

    // What the fast path leaves to dav-server still gets dav-server's answers.
    let get = |path: String, user: &'static str| {
        let req = app.dav("GET", &path, user, PASSWORD);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(
        get(drive(&u, "nothing-here"), "alice").await,
        StatusCode::NOT_FOUND
    );
    app.dav("MKCOL", &drive(&u, "folder"), "alice", PASSWORD)
        .send()
        .await
        .unwrap();
    let folder = app
        .dav("GET", &drive(&u, "folder"), "alice", PASSWORD)
        .send()
        .await
        .unwrap();
    // A folder is the door's HTML listing (tests/api/dav_answers.rs), not a body.
    assert_eq!(folder.status(), StatusCode::OK);
    assert_eq!(folder.headers()["content-type"], "text/html; charset=utf-8");
    // Someone else's file, with credentials that are cached: the same 403 as for any path.
    let r = app
        .dav("PROPFIND", &drive(&bob, ""), "bob", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    for path in [drive(&u, "notes.txt"), drive(&u, "nothing-here")] {
        let r = app.dav("GET", &path, "bob", PASSWORD).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(r.text().await.unwrap(), "not your drive\n");
    }
    // A disabled account is refused at once, cached password or not.
    app.set_disabled(&admin.token, &u.id, true).await;
    assert_eq!(
        get(drive(&u, "notes.txt"), "alice").await,
        StatusCode::UNAUTHORIZED
    );
}

/// How many WebDAV requests of `method` the one-hop paths (`src/dav/get.rs`, `src/dav/put.rs`)
/// answered so far, from `/metrics`.
async fn fast_answers(app: &TestApp, method: &str) -> f64 {
    app.metric(
        "cloudvault_webdav_fast_requests_total",
        &[("method", method)],
    )
    .await
}

/// A chunked (no Content-Length) PUT: always the full dav-server path.
async fn put_streamed(
    app: &TestApp,
    user: &TestUser,
    rest: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(7_000).map(|c| Ok(c.to_vec())).collect();
    app.dav("PUT", &drive(user, rest), &user.username, PASSWORD)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap()
}

/// A small PUT with a Content-Length by a client whose password is cached is answered without
/// dav-server (`src/dav/put.rs`): same statuses and headers as dav-server's PUT, the same bytes
/// stored, exact quota under parallel writers, locks and conditions honoured by falling back,
/// and nothing left behind by a body that never arrives whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_puts_answer_as_dav_server_does() {
    let app = spawn_app().await;
    let u = app.register("putter").await;
    app.dav("PROPFIND", &drive(&u, ""), "putter", PASSWORD)
        .header("depth", "0")
        .send()
        .await
        .unwrap(); // caches the password
    let fast0 = fast_answers(&app, "PUT").await;

    // New files: 201 with the same headers either way; overwrites: 204.
    let data = bytes(40_000, 7);
    let fast = put(&app, &u, "fast.bin", data.clone()).await;
    assert_eq!(
        fast_answers(&app, "PUT").await,
        fast0 + 1.0,
        "the one-hop path answered"
    );
    let full = put_streamed(&app, &u, "full.bin", data.clone()).await;
    assert_eq!(
        fast_answers(&app, "PUT").await,
        fast0 + 1.0,
        "chunked: dav-server answered"
    );
    for r in [&fast, &full] {
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers()["content-length"], "0");
        assert_eq!(r.headers()["accept-ranges"], "bytes");
        assert_eq!(r.headers()["ms-author-via"], "DAV");
        let etag = r.headers()["etag"].to_str().unwrap();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
            "{etag}"
        );
        assert!(
            r.headers()["last-modified"]
                .to_str()
                .unwrap()
                .ends_with(" GMT")
        );
    }
    let names = |r: &reqwest::Response| {
        let mut v: Vec<String> = r.headers().keys().map(|k| k.to_string()).collect();
        v.retain(|k| k != "date");
        v.sort();
        v
    };
    assert_eq!(names(&fast), names(&full));
    // The ETag answered is the file's: a GET of it matches.
    for (name, r) in [("fast.bin", &fast), ("full.bin", &full)] {
        let g = app
            .dav("GET", &drive(&u, name), "putter", PASSWORD)
            .send()
            .await
            .unwrap();
        assert_eq!(g.headers()["etag"], r.headers()["etag"], "{name}");
        assert_same(&g.bytes().await.unwrap(), &data);
    }
    let again = put(&app, &u, "fast.bin", bytes(1_000, 8)).await;
    let again_full = put_streamed(&app, &u, "full.bin", bytes(1_000, 8)).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(again_full.status(), StatusCode::NO_CONTENT);
    assert_ne!(again.headers()["etag"], fast.headers()["etag"]);
    assert_eq!(names(&again), names(&again_full));
    let item = listed(&app, &u.token, None, "fast.bin").await.unwrap();
    assert_eq!(item["size"], 1_000);
    assert_same(
        &app.download(&u.token, item["id"].as_str().unwrap()).await,
        &bytes(1_000, 8),
    );
    // Empty and exactly-the-limit bodies.
    // (reqwest sends no Content-Length for an empty body: written byte for byte here.)
    let r = app
        .raw_request(
            "PUT",
            &drive(&u, "empty"),
            Some(("putter", PASSWORD)),
            &[],
            b"",
        )
        .await;
    assert_eq!(r.status, 201);
    let limit = bytes(1 << 20, 9);
    assert_eq!(
        put(&app, &u, "limit.bin", limit.clone()).await.status(),
        StatusCode::CREATED
    );
    let item = listed(&app, &u.token, None, "limit.bin").await.unwrap();
    assert_same(
        &app.download(&u.token, item["id"].as_str().unwrap()).await,
        &limit,
    );
    assert_eq!(fast_answers(&app, "PUT").await, fast0 + 4.0);
    // The first bodies of fast.bin and full.bin (40,000 bytes each) are kept as versions.
    assert_eq!(
        app.assert_usage_consistent(&u).await,
        2 * 40_000 + 2 * 1_000 + (1 << 20)
    );

    // The client's mtime and checksum (rclone's nextcloud vendor) are kept.
    let r = app
        .dav("PUT", &drive(&u, "m.txt"), "putter", PASSWORD)
        .header("x-oc-mtime", "1600000000")
        .header(
            "oc-checksum",
            "SHA1:0123456789abcdef0123456789abcdef01234567",
        )
        .body("mtime")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()["x-oc-mtime"], "accepted");
    assert_eq!(fast_answers(&app, "PUT").await, fast0 + 5.0);
    let find = r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:oc="http://owncloud.org/ns"><D:prop><D:getlastmodified/><oc:checksums/></D:prop></D:propfind>"#;
    let body = app
        .dav("PROPFIND", &drive(&u, "m.txt"), "putter", PASSWORD)
        .header("depth", "0")
        .body(find)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        xml_value(&body, "getlastmodified").as_deref(),
        Some("Sun, 13 Sep 2020 12:26:40 GMT"),
        "{body}"
    );
    assert_eq!(
        xml_value(&body, "checksum").as_deref(),
        Some("SHA1:0123456789abcdef0123456789abcdef01234567")
    );

    // What the one-hop path leaves to dav-server gets dav-server's answers, and the body
    // already read is not lost on the way.
    let before = fast_answers(&app, "PUT").await;
    assert_eq!(
        put(&app, &u, "no/such/folder.txt", b"x".to_vec())
            .await
            .status(),
        StatusCode::CONFLICT
    );
    app.dav("MKCOL", &drive(&u, "dir"), "putter", PASSWORD)
        .send()
        .await
        .unwrap();
    let onto_dir = put(&app, &u, "dir", b"x".to_vec()).await.status();
    assert_eq!(
        onto_dir,
        put_streamed(&app, &u, "dir", b"x".to_vec()).await.status()
    );
    assert!(onto_dir.is_client_error(), "{onto_dir}");
    let r = app
        .dav("PUT", &drive(&u, "fast.bin"), "putter", PASSWORD)
        .header("if-none-match", "*")
        .body("not over an existing file")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    // A locked file: refused without its token, written with it.
    let lock = app
        .dav("LOCK", &drive(&u, "fast.bin"), "putter", PASSWORD)
        .header("timeout", "Second-600")
        .body(r#"<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>t</D:owner></D:lockinfo>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(lock.status(), StatusCode::OK);
    let token = lock.headers()["lock-token"].to_str().unwrap().to_string();
    assert_eq!(
        put(&app, &u, "fast.bin", b"no".to_vec()).await.status(),
        StatusCode::LOCKED
    );
    let r = app
        .dav("PUT", &drive(&u, "fast.bin"), "putter", PASSWORD)
        .header("if", format!("({token})"))
        .body("with the lock token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let item = listed(&app, &u.token, None, "fast.bin").await.unwrap();
    assert_eq!(
        app.download(&u.token, item["id"].as_str().unwrap()).await,
        b"with the lock token"
    );
    assert_eq!(
        fast_answers(&app, "PUT").await,
        before,
        "all of these went to dav-server"
    );

    // Parallel small PUTs past the quota: each is refused with 507 or stored, never both, and
    // used_bytes stays exact and within the quota.
    let used = app.assert_usage_consistent(&u).await;
    app.set_quota(&u, used + 1_000_000);
    let puts = (0..20).map(|i| {
        let (app, u) = (&app, &u);
        async move {
            put(app, u, &format!("par{i}.bin"), bytes(100_000, i as u8))
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(puts).await;
    let stored = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::INSUFFICIENT_STORAGE),
        "{statuses:?}"
    );
    assert_eq!(stored, 10, "exactly what fits: {statuses:?}");
    assert_eq!(app.assert_usage_consistent(&u).await, used + 1_000_000);

    // A body cut short: no file, no temp file, no change in usage.
    let used = app.assert_usage_consistent(&u).await;
    app.set_quota(&u, used + 10_000_000);
    {
        use tokio::io::AsyncWriteExt;
        let mut s = tokio::net::TcpStream::connect(app.host()).await.unwrap();
        let head = format!(
            "PUT {} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Length: 50000\r\n\r\n",
            drive(&u, "cut.bin"),
            app.host(),
            basic_header("putter", PASSWORD)
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&bytes(20_000, 1)).await.unwrap();
        s.shutdown().await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut s, &mut out).await;
    }
    // The server answered (or closed) the cut request: once its upload has given back its temp
    // file and its reservation, nothing more can land, and the name must be free.
    wait_until(
        "the cut upload cleaned up",
        std::time::Duration::from_secs(5),
        || {
            app.temp_files() == 0
                && app.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &u.id) == 0
        },
    )
    .await;
    assert!(listed(&app, &u.token, None, "cut.bin").await.is_none());
    assert_eq!(app.assert_usage_consistent(&u).await, used);
    let tmp = walk(&app.volume_path().join(".cloudvault-tmp"));
    assert!(tmp.is_empty(), "temp files left: {tmp:?}");

    // Someone else's drive, and an account disabled while its password is cached: refused,
    // nothing written.
    let other = app.register("neighbour").await;
    let r = app
        .dav("PUT", &drive(&u, "planted.txt"), "neighbour", PASSWORD)
        .body("planted")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(listed(&app, &u.token, None, "planted.txt").await.is_none());
    assert!(app.all_nodes(&other.token).await.is_empty());
    let admin = app.admin("root").await;
    app.set_disabled(&admin.token, &u.id, true).await;
    assert_eq!(
        put(&app, &u, "after-disable.txt", b"x".to_vec())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    app.set_disabled(&admin.token, &u.id, false).await;
    let r = app
        .dav("GET", &drive(&u, "after-disable.txt"), "putter", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "nothing was stored");
}

/// How many fast WebDAV GETs were answered on the async runtime from kept rows
/// (`src/store/hot.rs`), from `/metrics`.
async fn hot_reads(app: &TestApp) -> f64 {
    app.metric("cloudvault_webdav_hot_reads_total", &[]).await
}

/// Lists `folder` and GETs `rest` in it until the GET was answered from kept rows (a commit
/// made by background work, the search index or a purge, may come between the listing and the
/// GET and send that one GET the database's way); every answer must be `want`.
async fn get_hot(app: &TestApp, u: &TestUser, folder: &str, rest: &str, want: &[u8]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = app
            .dav("PROPFIND", &drive(u, folder), &u.username, PASSWORD)
            .header("depth", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::MULTI_STATUS);
        let before = hot_reads(app).await;
        let r = app
            .dav("GET", &drive(u, rest), &u.username, PASSWORD)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{rest}");
        assert_same(&r.bytes().await.unwrap(), want);
        if hot_reads(app).await > before {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{rest} was never answered from kept rows"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A small GET answered from rows kept in memory (`src/store/hot.rs`) gives exactly what the
/// database holds at that moment: after an overwrite, a rename, a delete, a change made by
/// another process (the CLI, fsck), a disabled account and a password change, the very next GET
/// answers the new state. Before each change, a GET is seen answered from the kept rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reads_follow_every_change_at_once() {
    let app = spawn_app().await;
    let u = app.register("warm").await;
    app.register("bobby").await;
    let get = |path: String, user: &'static str, pass: &'static str| {
        let req = app.dav("GET", &path, user, pass);
        async move {
            let r = req.send().await.unwrap();
            (r.status(), r.bytes().await.unwrap().to_vec())
        }
    };
    let ok_body = |(status, body): (StatusCode, Vec<u8>), want: &[u8]| {
        assert_eq!(status, StatusCode::OK);
        assert_same(&body, want);
    };
    app.dav("MKCOL", &drive(&u, "dir"), "warm", PASSWORD)
        .send()
        .await
        .unwrap();
    let (v1, v2, c) = (bytes(30_000, 1), bytes(20_000, 2), bytes(5_000, 3));
    put(&app, &u, "a.bin", v1.clone()).await;
    put(&app, &u, "dir/c.bin", c.clone()).await;

    // Someone else asking for a kept path gets what they always get.
    get_hot(&app, &u, "", "a.bin", &v1).await;
    assert_eq!(
        get(drive(&u, "a.bin"), "bobby", PASSWORD).await.0,
        StatusCode::FORBIDDEN
    );
    // An overwrite: the next GET has the new bytes.
    put(&app, &u, "a.bin", v2.clone()).await;
    ok_body(get(drive(&u, "a.bin"), "warm", PASSWORD).await, &v2);
    // A rename: the old name is gone at once, the new one has the bytes.
    get_hot(&app, &u, "", "a.bin", &v2).await;
    let r = app
        .dav("MOVE", &drive(&u, "a.bin"), "warm", PASSWORD)
        .header("destination", drive(&u, "z.bin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        get(drive(&u, "a.bin"), "warm", PASSWORD).await.0,
        StatusCode::NOT_FOUND
    );
    // A delete.
    get_hot(&app, &u, "", "z.bin", &v2).await;
    let r = app
        .dav("DELETE", &drive(&u, "z.bin"), "warm", PASSWORD)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(
        get(drive(&u, "z.bin"), "warm", PASSWORD).await.0,
        StatusCode::NOT_FOUND
    );

    // Another process changes the database behind the server's back (as the CLI or fsck may):
    // the next GET sees it.
    let db = app.config.db_path();
    let other_process = |sql: &str| {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()",
            ])
            .arg(&db)
            .arg(sql)
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{out:?}");
    };
    get_hot(&app, &u, "dir/", "dir/c.bin", &c).await;
    other_process("UPDATE nodes SET name = 'd.bin', sort_key = 'd.bin' WHERE name = 'c.bin'");
    assert_eq!(
        get(drive(&u, "dir/c.bin"), "warm", PASSWORD).await.0,
        StatusCode::NOT_FOUND
    );
    get_hot(&app, &u, "dir/", "dir/d.bin", &c).await;
    other_process("UPDATE users SET disabled = 1 WHERE username = 'warm'");
    assert_eq!(
        get(drive(&u, "dir/d.bin"), "warm", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    other_process("UPDATE users SET disabled = 0 WHERE username = 'warm'");

    // A password change: the old password stops working for kept rows too.
    get_hot(&app, &u, "dir/", "dir/d.bin", &c).await;
    let ok = app
        .post_json(
            "/api/auth/password",
            Some(&u.token),
            json!({"current_password": PASSWORD, "new_password": "maple-comet-77"}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        get(drive(&u, "dir/d.bin"), "warm", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    ok_body(
        get(drive(&u, "dir/d.bin"), "warm", "maple-comet-77").await,
        &c,
    );
}
