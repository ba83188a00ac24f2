//! XML request bodies and dead properties: entity expansion ("one big entity, many references")
//! in PROPFIND, PROPPATCH and LOCK is refused at once, without memory growth, storing nothing;
//! body limits per method; dead properties bounded, counted in `used_bytes` and released.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::crash::{cli, start_server};
use crate::helpers::*;

/// A 20 KB internal entity referenced `refs` times inside `wrap` (which holds `{}` once), with
/// the DTD written by `doctype` (so that its case and place can vary).
fn entity_body(doctype: &str, entity_len: usize, refs: usize, wrap: &str) -> String {
    let entity = "A".repeat(entity_len);
    let dtd = format!("<{doctype} r [<!ENTITY e \"{entity}\">]>");
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>{dtd}{}",
        wrap.replace("{}", &"&e;".repeat(refs))
    )
}

const PROPFIND_WRAP: &str =
    "<D:propfind xmlns:D=\"DAV:\"><D:prop><Z:x xmlns:Z=\"urn:z\">{}</Z:x></D:prop></D:propfind>";
const PROPPATCH_WRAP: &str = "<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop><Z:big xmlns:Z=\"urn:z\">{}</Z:big></D:prop></D:set></D:propertyupdate>";
const LOCK_WRAP: &str = "<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>{}</D:owner></D:lockinfo>";

/// (VmRSS, VmHWM) of a process, in bytes.
fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap()
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn sql_i64(data: &Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(data.join("cloudvault.db")).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The status the multistatus answer gives the property `local_name`.
fn prop_status(body: &str, local_name: &str) -> Option<u16> {
    body.split("propstat>").find_map(|chunk| {
        let named = chunk.contains(&format!(":{local_name}>"))
            || chunk.contains(&format!(":{local_name}/>"));
        let at = chunk.find("HTTP/1.1 ")?;
        named.then(|| chunk[at + 9..at + 12].parse().ok())?
    })
}

/// Acceptance 2 of issue 14, against the real binary so that its memory is its own: each
/// entity-expansion body is answered in < 1 s with a 4xx, the server's peak RSS grows < 50 MB,
/// nothing large is stored or locked, and fsck is clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entity_expansion_is_refused_fast_without_memory_growth() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = cli(&data)
        .args(["admin", "create-user", "bomb", "--password", PASSWORD])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = start_server(&data);
    let pid = server.child.id();
    let client = reqwest::Client::new();
    let dav = |m: &str, path: &str| {
        client
            .request(method(m), format!("{}/dav/files/bomb/{path}", server.base))
            .basic_auth("bomb", Some(PASSWORD))
    };
    let r = dav("PUT", "f.txt").body("hello").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = dav("MKCOL", "d/").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    // Warm: a PROPFIND and a PROPPATCH answered normally first, so the peak below is the bodies'.
    let r = dav("PROPFIND", "")
        .header("depth", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let (_, hwm_before) = memory_of(pid);

    let bodies = [
        // The issue's bodies: ~50 KB, one 20 KB entity referenced 10,000 times (200 MB).
        (
            "PROPFIND",
            "d/",
            entity_body("!DOCTYPE", 20_000, 10_000, PROPFIND_WRAP),
        ),
        (
            "PROPPATCH",
            "d/",
            entity_body("!DOCTYPE", 20_000, 10_000, PROPPATCH_WRAP),
        ),
        (
            "LOCK",
            "f.txt",
            entity_body("!DOCTYPE", 20_000, 10_000, LOCK_WRAP),
        ),
        // Under the LOCK limit (8 KiB), so the DTD itself is what is refused: 3 MB expanded.
        (
            "LOCK",
            "f.txt",
            entity_body("!DOCTYPE", 1_000, 1_500, LOCK_WRAP),
        ),
        // Any case, after a BOM and a comment.
        (
            "PROPPATCH",
            "f.txt",
            format!(
                "\u{feff}<!-- x -->{}",
                entity_body("!doctype", 20_000, 8_000, PROPPATCH_WRAP)
                    .trim_start_matches("<?xml version=\"1.0\" encoding=\"utf-8\"?>")
            ),
        ),
    ];
    for (m, path, body) in bodies {
        assert!(body.len() < 65_000, "{m}: {} bytes", body.len());
        let started = Instant::now();
        let r = dav(m, path)
            .header("depth", "0")
            .header("content-type", "application/xml")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let took = started.elapsed();
        let status = r.status();
        let answer: Value = r.json().await.unwrap_or_default();
        let want = if body.len() > 8 * 1024 && m == "LOCK" {
            (StatusCode::PAYLOAD_TOO_LARGE, "body-too-large")
        } else {
            (StatusCode::BAD_REQUEST, "xml-dtd-refused")
        };
        assert_eq!(
            (status, answer["code"].as_str().unwrap_or("")),
            want,
            "{m} {path}: {answer}"
        );
        assert!(took < Duration::from_secs(1), "{m} {path} took {took:?}");
        let (rss, hwm) = memory_of(pid);
        let growth = hwm.saturating_sub(hwm_before);
        assert!(
            growth < 50 << 20,
            "{m} {path}: peak RSS grew by {} MB (now {} MB)",
            growth >> 20,
            rss >> 20
        );
        println!(
            "{m} {path}: {} bytes → {status} in {:.1} ms; peak RSS +{:.1} MB",
            body.len(),
            took.as_secs_f64() * 1000.0,
            growth as f64 / (1 << 20) as f64
        );
    }

    // Nothing stored: no dead property at all, and listings stay small.
    assert_eq!(sql_i64(&data, "SELECT count(*) FROM dav_props"), 0);
    let r = dav("PROPFIND", "")
        .header("depth", "1")
        .body(r#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let listing = r.text().await.unwrap();
    assert!(listing.len() < 10_000, "{} bytes", listing.len());
    // Nothing locked: a PUT without a lock token goes through.
    let r = dav("PUT", "f.txt").body("again").send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let out = cli(&data).arg("fsck").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("store consistent"),
        "{text}"
    );
}

async fn put(app: &TestApp, user: &str, path: &str, body: &'static [u8]) {
    let r = app
        .dav("PUT", &format!("/dav/files/{user}/{path}"), user, PASSWORD)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "PUT {path}: {}", r.status());
}

/// Bodies real clients send still pass: BOM, declaration, comments, named and all properties,
/// PROPPATCH, LOCK with an owner; a DTD is refused in every tree below /dav.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordinary_bodies_pass_and_dtds_are_refused_everywhere() {
    let app = spawn_app().await;
    app.register("plain").await;
    put(&app, "plain", "f.txt", b"hello").await;
    let f = "/dav/files/plain/f.txt";
    let send = |m: &str, path: &str, body: String| {
        app.dav(m, path, "plain", PASSWORD)
            .header("depth", "0")
            .header("content-type", "text/xml; charset=\"utf-8\"")
            .body(body)
            .send()
    };
    let r = send(
        "PROPFIND",
        f,
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- Finder -->\n<D:propfind xmlns:D=\"DAV:\"><D:prop><D:getcontentlength/><D:resourcetype/></D:prop></D:propfind>".into(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    assert!(r.text().await.unwrap().contains(">5<"));
    // As Windows' mini-redirector, macOS Finder, davfs2 and rclone send them.
    for body in [
        r#"<?xml version="1.0" encoding="utf-8" ?><D:propfind xmlns:D="DAV:"><D:prop><D:name/><D:parentname/><D:href/><D:ishidden/><D:isroot/><D:iscollection/><D:getcontentlength/><D:creationdate/><D:getlastmodified/><D:resourcetype/></D:prop></D:propfind>"#,
        r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getlastmodified/><D:getcontentlength/><D:creationdate/><D:resourcetype/></D:prop></D:propfind>"#,
        r#"<?xml version="1.0" encoding="utf-8" ?><propfind xmlns="DAV:"><prop><getlastmodified/><getcontentlength/><resourcetype/><displayname/><getetag/><executable xmlns="http://apache.org/dav/props/"/></prop></propfind>"#,
        r#"<?xml version="1.0" encoding="UTF-8"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><d:prop><d:displayname/><d:getlastmodified/><d:getcontentlength/><d:resourcetype/><d:getcontenttype/><oc:checksums/><oc:permissions/></d:prop></d:propfind>"#,
    ] {
        let r = send("PROPFIND", f, body.into()).await.unwrap();
        assert_eq!(r.status(), StatusCode::MULTI_STATUS, "{body}");
    }
    let r = send(
        "PROPPATCH",
        f,
        r#"<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set></D:propertyupdate>"#.into(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    assert_eq!(
        prop_status(&r.text().await.unwrap(), "Win32FileAttributes"),
        Some(200)
    );
    let r = send(
        "LOCK",
        f,
        r#"<?xml version="1.0" encoding="utf-8" ?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>WORKGROUP\plain</D:href></D:owner></D:lockinfo>"#.into(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.headers()["lock-token"].to_str().unwrap().to_string();
    let body = r.text().await.unwrap();
    assert!(body.contains("WORKGROUP"), "{body}");
    let r = app
        .dav("UNLOCK", f, "plain", PASSWORD)
        .header("lock-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);

    let dtd = entity_body("!DOCTYPE", 10, 3, PROPFIND_WRAP);
    for path in [
        "/dav/",
        "/dav/files/",
        "/dav/files/plain/",
        "/dav/files/plain/f.txt",
        "/dav/uploads/plain/",
        "/dav/tags/plain/",
        "/dav/search/plain/",
    ] {
        let r = send("PROPFIND", path, dtd.clone()).await.unwrap();
        assert_error(r, StatusCode::BAD_REQUEST, "xml-dtd-refused").await;
    }
    // An XML document type without entities is refused all the same (and an external one could
    // read files).
    let r = send(
        "PROPFIND",
        f,
        r#"<?xml version="1.0"?><!DOCTYPE propfind SYSTEM "file:///etc/passwd"><propfind xmlns="DAV:"><allprop/></propfind>"#.into(),
    )
    .await
    .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "xml-dtd-refused").await;
    // UTF-16, which a byte search for "<!DOCTYPE" would miss.
    let utf16: Vec<u8> = "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-16\"?><!DOCTYPE p [<!ENTITY e \"zz\">]><D:propfind xmlns:D=\"DAV:\"><D:prop><Z:x xmlns:Z=\"urn:z\">&e;</Z:x></D:prop></D:propfind>"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let r = app
        .dav("PROPFIND", f, "plain", PASSWORD)
        .header("depth", "0")
        .body(utf16)
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "xml-dtd-refused").await;
    // A malformed body is still dav-server's 400.
    let r = send(
        "PROPFIND",
        f,
        "<propfind xmlns=\"DAV:\"><prop></propfind>".into(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

/// Each method's body limit answers 413 (announced or streamed); a body nested thousands deep
/// answers 400 and the server stays up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xml_body_limits_and_nesting() {
    let app = spawn_app().await;
    app.register("limits").await;
    put(&app, "limits", "f.txt", b"x").await;
    let f = "/dav/files/limits/f.txt";
    let padded = |wrap: &str, n: usize| wrap.replace("{}", &"p".repeat(n));
    let cases = [
        ("PROPFIND", padded(PROPFIND_WRAP, 64 * 1024), true),
        ("PROPFIND", padded(PROPFIND_WRAP, 60 * 1024), false),
        ("PROPPATCH", padded(PROPPATCH_WRAP, 64 * 1024), true),
        ("LOCK", padded(LOCK_WRAP, 8 * 1024), true),
        ("LOCK", padded(LOCK_WRAP, 7 * 1024), false),
    ];
    for (m, body, too_large) in cases {
        for streamed in [false, true] {
            let req = app.dav(m, f, "limits", PASSWORD).header("depth", "0");
            let req = if streamed {
                let chunks: Vec<Result<Vec<u8>, std::io::Error>> = body
                    .as_bytes()
                    .chunks(4096)
                    .map(|c| Ok(c.to_vec()))
                    .collect();
                req.body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                    chunks,
                )))
            } else {
                req.body(body.clone())
            };
            let r = req.send().await.unwrap();
            if too_large {
                assert_error(r, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large").await;
            } else {
                assert!(
                    r.status().is_success(),
                    "{m} of {} bytes (streamed: {streamed}): {}",
                    body.len(),
                    r.status()
                );
                if m == "LOCK" {
                    let token = r.headers()["lock-token"].to_str().unwrap().to_string();
                    let r = app
                        .dav("UNLOCK", f, "limits", PASSWORD)
                        .header("lock-token", token)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), StatusCode::NO_CONTENT);
                }
            }
        }
    }
    // 9,000 levels in 63 KB: xmltree would build that tree by recursion.
    let deep = format!(
        "<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop><Z:v xmlns:Z=\"urn:z\">{}{}</Z:v></D:prop></D:set></D:propertyupdate>",
        "<a>".repeat(9_000),
        "</a>".repeat(9_000)
    );
    let r = app
        .dav("PROPPATCH", f, "limits", PASSWORD)
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::BAD_REQUEST, "xml-too-deep").await;
    let r = app
        .dav("PROPFIND", f, "limits", PASSWORD)
        .header("depth", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
}

fn proppatch_body(props: &[(&str, &str)]) -> String {
    let set: String = props
        .iter()
        .map(|(n, v)| format!("<Z:{n}>{v}</Z:{n}>"))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test"><D:set><D:prop>{set}</D:prop></D:set></D:propertyupdate>"#
    )
}

/// The counted bytes of a user's dead properties, computed here from the rows.
fn prop_bytes(app: &TestApp, user_id: &str) -> i64 {
    app.sql_i64(
        "SELECT coalesce(sum(length(CAST(p.namespace AS BLOB)) + length(CAST(p.name AS BLOB))
                + coalesce(length(CAST(p.prefix AS BLOB)), 0) + coalesce(length(p.xml), 0)), 0)
         FROM dav_props p JOIN nodes n ON n.id = p.node_id
         WHERE n.owner_id = ?1 AND NOT (p.namespace = 'http://owncloud.org/ns' AND p.name = 'checksums')",
        user_id,
    )
}

/// Dead properties: bounded per value and per node (403, all or nothing), over quota 507 with
/// nothing stored, counted in `used_bytes`, copied with a file or folder, released on remove
/// and delete; fsck agrees throughout and repairs a wrong counter to files + properties.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_properties_are_bounded_and_counted_in_the_quota() {
    let app = spawn_app().await;
    let u = app.register("props").await;
    let used = || async { app.me(&u.token).await["used_bytes"].as_i64().unwrap() };
    put(&app, "props", "f.txt", b"0123456789").await;
    let f = "/dav/files/props/f.txt";
    let patch = |path: &str, body: String| {
        app.dav("PROPPATCH", path, "props", PASSWORD)
            .body(body)
            .send()
    };
    assert_eq!(used().await, 10);

    // Stored and counted.
    let r = patch(f, proppatch_body(&[("colour", "blue")]))
        .await
        .unwrap();
    assert_eq!(prop_status(&r.text().await.unwrap(), "colour"), Some(200));
    let counted = prop_bytes(&app, &u.id);
    assert!(counted >= ("urn:x-test".len() + "colour".len() + "blue".len()) as i64);
    assert_eq!(used().await, 10 + counted);

    // A value over 16 KiB: 403 for it, 424 for its neighbour, nothing stored.
    let big = "b".repeat(17 * 1024);
    let r = patch(f, proppatch_body(&[("big", &big), ("shape", "round")]))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    let body = r.text().await.unwrap();
    assert_eq!(prop_status(&body, "big"), Some(403), "{body}");
    assert_eq!(prop_status(&body, "shape"), Some(424), "{body}");
    assert_eq!(prop_bytes(&app, &u.id), counted);
    assert_eq!(used().await, 10 + counted);

    // The server's own checksum property is not the client's to change.
    let r = app
        .dav("PROPPATCH", f, "props", PASSWORD)
        .body(r#"<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:oc="http://owncloud.org/ns"><D:set><D:prop><oc:checksums>SHA1:00</oc:checksums></D:prop></D:set></D:propertyupdate>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        prop_status(&r.text().await.unwrap(), "checksums"),
        Some(403)
    );

    // 64 KiB a node: four 15 KiB values fit, a fifth does not.
    let v15 = "v".repeat(15 * 1024);
    for n in ["a1", "a2", "a3", "a4"] {
        let r = patch(f, proppatch_body(&[(n, &v15)])).await.unwrap();
        assert_eq!(prop_status(&r.text().await.unwrap(), n), Some(200), "{n}");
    }
    let r = patch(f, proppatch_body(&[("a5", &v15)])).await.unwrap();
    assert_eq!(prop_status(&r.text().await.unwrap(), "a5"), Some(403));
    let counted = prop_bytes(&app, &u.id);
    assert!(counted > 4 * 15 * 1024 && counted <= 64 * 1024, "{counted}");
    assert_eq!(used().await, 10 + counted);

    // Over quota: 507, nothing stored, nothing counted.
    app.set_quota(&u, 10 + counted + 100);
    let r = patch(
        "/dav/files/props/",
        proppatch_body(&[("note", &"n".repeat(1000))]),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::MULTI_STATUS);
    assert_eq!(prop_status(&r.text().await.unwrap(), "note"), Some(507));
    assert_eq!(prop_bytes(&app, &u.id), counted);
    assert_eq!(used().await, 10 + counted);
    // A COPY whose properties do not fit is refused whole (507), like one whose body does not.
    let r = app
        .dav("COPY", f, "props", PASSWORD)
        .header("destination", app.url("/dav/files/props/g.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(used().await, 10 + counted);
    app.set_quota(&u, 1 << 30);

    // Copied with a file: body and properties counted again.
    let r = app
        .dav("COPY", f, "props", PASSWORD)
        .header("destination", app.url("/dav/files/props/g.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(used().await, 2 * (10 + counted));
    assert_eq!(prop_bytes(&app, &u.id), 2 * counted);

    // A folder with properties, copied item by item and deleted through the API.
    let r = app
        .dav("MKCOL", "/dav/files/props/d/", "props", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = patch("/dav/files/props/d/", proppatch_body(&[("tag", "folder")]))
        .await
        .unwrap();
    assert_eq!(prop_status(&r.text().await.unwrap(), "tag"), Some(200));
    let r = app
        .dav("COPY", f, "props", PASSWORD)
        .header("destination", app.url("/dav/files/props/d/in.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .dav("COPY", "/dav/files/props/d/", "props", PASSWORD)
        .header("destination", app.url("/dav/files/props/d2/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let total = prop_bytes(&app, &u.id);
    let files = 10 * 4; // f, g, d/in, d2/in
    assert_eq!(used().await, files + total);
    assert_fsck_clean(&app);
    let d2 = app
        .all_nodes(&u.token)
        .await
        .into_iter()
        .find(|(p, _)| p == "/d2")
        .unwrap()
        .1;
    let r = app
        .client
        .delete(app.url(&format!("/api/files/{}", d2["id"].as_str().unwrap())))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    // Deleted through WebDAV: released.
    for path in ["/dav/files/props/g.txt", "/dav/files/props/d/"] {
        let r = app
            .dav("DELETE", path, "props", PASSWORD)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{path}");
    }
    // In the trash they still count; emptied, they are released.
    let r = app
        .client
        .delete(app.url("/api/trash"))
        .bearer_auth(&u.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(used().await, 10 + counted);
    assert_eq!(prop_bytes(&app, &u.id), counted);

    // Removed: released.
    let r = app
        .dav("PROPPATCH", f, "props", PASSWORD)
        .body(r#"<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:x-test"><D:remove><D:prop><Z:a1/><Z:a2/><Z:a3/><Z:a4/><Z:colour/></D:prop></D:remove></D:propertyupdate>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(prop_status(&r.text().await.unwrap(), "a1"), Some(200));
    assert_eq!(prop_bytes(&app, &u.id), 0);
    assert_eq!(used().await, 10);
    assert_eq!(app.assert_usage_consistent(&u).await, 10);

    // fsck finds a counter that forgot the properties and repairs it to files + properties.
    let r = patch(f, proppatch_body(&[("colour", "green")]))
        .await
        .unwrap();
    assert_eq!(prop_status(&r.text().await.unwrap(), "colour"), Some(200));
    let counted = prop_bytes(&app, &u.id);
    app.app
        .db
        .conn()
        .unwrap()
        .execute("UPDATE users SET used_bytes = 10 WHERE id = ?1", [&u.id])
        .unwrap();
    let out = cli(&app.config.data_dir).arg("fsck").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "used_bytes is 10 but their files (in the trash too), versions and dead properties add up to {}",
            10 + counted
        )),
        "{text}"
    );
    let out = cli(&app.config.data_dir)
        .args(["fsck", "--repair"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(used().await, 10 + counted);
    assert_fsck_clean(&app);
}

fn assert_fsck_clean(app: &TestApp) {
    let out = cli(&app.config.data_dir).arg("fsck").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("store consistent"),
        "{text}"
    );
}
