//! Nextcloud's apps against the real server (issue 20, first part): what they read before a sync
//! (`status.php`, capabilities in JSON and XML, the user and quota), and the same drive under
//! Nextcloud's paths (`/remote.php/dav/files/{user}/`, `/remote.php/webdav/`), hrefs in the form
//! asked, MOVE between the two forms, chunked uploads under `/remote.php/dav/uploads/{user}/`,
//! and another user's files reachable through none of them.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn status_and_capabilities_say_what_this_server_is_and_does() {
    let app = spawn_app().await;
    let s: Value = app
        .client
        .get(app.url("/status.php"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s["installed"], true);
    assert_eq!(s["maintenance"], false);
    assert_eq!(s["productname"], "CloudVault");
    assert!(s["version"].as_str().unwrap().starts_with("30."));
    assert_eq!(s["versionstring"], "30.0.0");

    for v in ["v1", "v2"] {
        let r = app
            .client
            .get(app.url(&format!("/ocs/{v}.php/cloud/capabilities?format=json")))
            .header("OCS-APIRequest", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let c: Value = r.json().await.unwrap();
        assert_eq!(
            c["ocs"]["meta"]["statuscode"],
            if v == "v1" { 100 } else { 200 }
        );
        let caps = &c["ocs"]["data"]["capabilities"];
        assert_eq!(caps["core"]["webdav-root"], "remote.php/webdav");
        assert_eq!(caps["dav"]["chunking"], "1.0");
        // Nothing CloudVault does not do yet is advertised.
        for absent in ["files_sharing", "checksums", "notifications"] {
            assert!(caps.get(absent).is_none(), "{absent} is not offered yet");
        }
    }
    // XML unless JSON is asked for.
    let r = app
        .client
        .get(app.url("/ocs/v2.php/cloud/capabilities"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let x = r.text().await.unwrap();
    assert!(
        x.contains("<webdav-root>remote.php/webdav</webdav-root>"),
        "{x}"
    );
    assert!(x.contains("<statuscode>200</statuscode>"), "{x}");
    let r = app
        .client
        .get(app.url("/index.php/204"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_user_sees_their_own_quota_and_nobody_else_gets_in() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let r = app
        .upload(&alice.token, "", &[("a.txt", b"hello".to_vec())])
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let me = app
        .dav(
            "GET",
            "/ocs/v1.php/cloud/user?format=json",
            "alice",
            PASSWORD,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    let d = &me["ocs"]["data"];
    assert_eq!(d["id"], "alice");
    assert_eq!(d["quota"]["used"], 5);
    let total = d["quota"]["total"].as_i64().unwrap();
    assert!(total > 0);
    assert_eq!(d["quota"]["free"].as_i64().unwrap(), total - 5);
    // A wrong password: 401 with the OCS failure code, and a Basic challenge.
    for path in [
        "/ocs/v1.php/cloud/user?format=json",
        "/ocs/v2.php/cloud/user?format=json",
    ] {
        let r = app
            .dav("GET", path, "alice", "wrong-password")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert!(r.headers().contains_key("www-authenticate"));
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["ocs"]["meta"]["statuscode"], 997);
    }
}

/// `PROPFIND` Depth 0 of `path` with Basic credentials.
async fn propfind0(app: &TestApp, path: &str, user: &str, password: &str) -> reqwest::Response {
    app.dav("PROPFIND", path, user, password)
        .header("Depth", "0")
        .send()
        .await
        .unwrap()
}

fn hrefs(xml: &str) -> Vec<String> {
    xml.split("<D:href>")
        .skip(1)
        .map(|s| s.split("</D:href>").next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_drive_under_nextclouds_paths_is_the_same_drive() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    app.register("bob").await;
    let put = app
        .dav(
            "PUT",
            "/remote.php/dav/files/alice/Été.txt",
            "alice",
            PASSWORD,
        )
        .header("X-OC-Mtime", "1700000000")
        .body("summer")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    // The same file through the door's own path and the API.
    let get = app
        .dav(
            "GET",
            "/dav/files/alice/%C3%89t%C3%A9.txt",
            "alice",
            PASSWORD,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(get.text().await.unwrap(), "summer");
    let l = app.get_json("/api/files/", &alice.token).await;
    assert_eq!(l["items"][0]["name"], "Été.txt");
    // The answer named the file's id and etag, as the apps read them.
    let id = l["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(put.headers()["oc-fileid"], id.as_str());
    assert_eq!(put.headers()["oc-etag"], put.headers()["etag"]);
    assert!(
        l["items"][0]["modified_at"]
            .as_str()
            .unwrap()
            .starts_with("2023-11-14")
    );

    // Listings answer in the form asked: /remote.php/dav/files/alice/… and /remote.php/webdav/….
    for (path, base) in [
        (
            "/remote.php/dav/files/alice/",
            "/remote.php/dav/files/alice/",
        ),
        ("/remote.php/webdav/", "/remote.php/webdav/"),
        ("/remote.php/webdav", "/remote.php/webdav/"),
    ] {
        let r = app
            .dav("PROPFIND", path, "alice", PASSWORD)
            .header("Depth", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 207, "{path}");
        let h = hrefs(&r.text().await.unwrap());
        assert!(h.iter().all(|x| x.starts_with(base)), "{path}: {h:?}");
        assert!(
            h.contains(&format!("{base}%C3%89t%C3%A9.txt")),
            "{path}: {h:?}"
        );
    }
    // MOVE with a Destination in Nextcloud's other form.
    let mv = app
        .dav(
            "MOVE",
            "/remote.php/webdav/%C3%89t%C3%A9.txt",
            "alice",
            PASSWORD,
        )
        .header(
            "Destination",
            format!("{}/remote.php/dav/files/alice/summer.txt", app.base),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(mv.status(), StatusCode::CREATED);
    assert_eq!(
        mv.headers()["oc-fileid"],
        id.as_str(),
        "a move keeps the id"
    );
    let mk = app
        .dav("MKCOL", "/remote.php/webdav/Made", "alice", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(mk.status(), StatusCode::CREATED);
    assert!(mk.headers().contains_key("oc-fileid") && mk.headers().contains_key("oc-etag"));
    let get = app
        .dav("GET", "/remote.php/webdav/summer.txt", "alice", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(get.text().await.unwrap(), "summer");

    // Chunked upload (Nextcloud chunking v2) under /remote.php/dav/uploads/alice/.
    let dest = format!("{}/remote.php/dav/files/alice/big.bin", app.base);
    let mk = app
        .dav(
            "MKCOL",
            "/remote.php/dav/uploads/alice/web-1",
            "alice",
            PASSWORD,
        )
        .header("Destination", &dest)
        .send()
        .await
        .unwrap();
    assert_eq!(mk.status(), StatusCode::CREATED);
    for (i, part) in [&b"first-"[..], &b"second"[..]].iter().enumerate() {
        let r = app
            .dav(
                "PUT",
                &format!("/remote.php/dav/uploads/alice/web-1/{:05}", i + 1),
                "alice",
                PASSWORD,
            )
            .header("Destination", &dest)
            .body(part.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let fin = app
        .dav(
            "MOVE",
            "/remote.php/dav/uploads/alice/web-1/.file",
            "alice",
            PASSWORD,
        )
        .header("Destination", &dest)
        .send()
        .await
        .unwrap();
    assert!(fin.status().is_success(), "{}", fin.status());
    let get = app
        .dav("GET", "/dav/files/alice/big.bin", "alice", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(get.text().await.unwrap(), "first-second");

    // Bob reaches none of it: another user's tree is 403 whatever is there, and /remote.php/webdav/
    // is always the signed-in user's own drive.
    for (m, path) in [
        ("PROPFIND", "/remote.php/dav/files/alice/"),
        ("GET", "/remote.php/dav/files/alice/summer.txt"),
        ("GET", "/remote.php/dav/files/alice/nothing-here.txt"),
        ("PUT", "/remote.php/dav/files/alice/x.txt"),
        ("MKCOL", "/remote.php/dav/uploads/alice/b-1"),
    ] {
        let r = app.dav(m, path, "bob", PASSWORD).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{m} {path}");
    }
    let r = app
        .dav("GET", "/remote.php/webdav/summer.txt", "bob", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .dav("MOVE", "/remote.php/webdav/x", "bob", PASSWORD)
        .header(
            "Destination",
            format!("{}/remote.php/dav/files/alice/stolen.txt", app.base),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

// ---- Debian's nextcloudcmd (the desktop client's sync engine) against the real server ----

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::dav_clients::{require_tool, show};

/// One sync of `dir` with the server as `alice`; panics (with the client's output) unless it
/// exits 0. Returns what it printed (it logs every request).
async fn nextcloudcmd(app: &TestApp, dir: &Path) -> String {
    let out = sync_with(app, dir, PASSWORD).await;
    assert!(out.status.success(), "{}", show("nextcloudcmd", &out));
    String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
}

async fn sync_with(app: &TestApp, dir: &Path, password: &str) -> std::process::Output {
    let bin = require_tool("nextcloudcmd", "apt install nextcloud-desktop-cmd");
    tokio::process::Command::new(&bin)
        .args(["--non-interactive", "-u", "alice", "-p", password])
        .arg(dir)
        .arg(&app.base)
        .output()
        .await
        .expect("nextcloudcmd runs")
}

/// Path → sha256 of every file under `dir`, without the client's own files and conflict copies.
fn local_tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with(".sync_")
                || name.starts_with(".nextcloudsync")
                || name.contains("(conflicted copy")
            {
                continue;
            }
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                out.insert(format!("{rel}/"), String::new());
                walk(root, &p, out);
            } else {
                out.insert(rel, hex(&Sha256::digest(std::fs::read(&p).unwrap())));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The same map of alice's drive, read through the API (listings and downloads).
async fn server_tree(app: &TestApp, token: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![(String::new(), None::<String>)];
    while let Some((prefix, folder)) = todo.pop() {
        let q = folder
            .map(|f| format!("?folder={f}&limit=1000"))
            .unwrap_or("?limit=1000".into());
        let l = app.get_json(&format!("/api/files/{q}"), token).await;
        for i in l["items"].as_array().unwrap() {
            let (name, id) = (i["name"].as_str().unwrap(), i["id"].as_str().unwrap());
            let rel = format!("{prefix}{name}");
            if i["kind"] == "folder" {
                out.insert(format!("{rel}/"), String::new());
                todo.push((format!("{rel}/"), Some(id.to_string())));
            } else {
                let body = app
                    .client
                    .get(app.url(&format!("/api/files/{id}/download")))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                out.insert(rel, hex(&Sha256::digest(&body)));
            }
        }
    }
    out
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nextcloud_desktop_client_syncs_both_ways() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();

    // First sync: nested folders, non-ASCII names, and a 60 MB file (uploaded in chunks).
    write(&a, "Photos/Été 2023/plage.txt", b"sand");
    write(&a, "Docs/naïve/résumé.txt", b"cv");
    write(&a, "Docs/notes.txt", b"first notes");
    write(&a, "top.txt", b"top");
    let big: Vec<u8> = (0..60u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write(&a, "video.bin", &big);
    let log = nextcloudcmd(&app, &a).await;
    assert!(
        log.contains("/remote.php/dav/uploads/alice/"),
        "the 60 MB file went up in chunks"
    );
    assert_eq!(
        server_tree(&app, &alice.token).await,
        local_tree(&a),
        "after the first sync"
    );

    // Local edits, a rename, a delete, and a conflict (the same file changed on the server).
    write(&a, "Docs/notes.txt", b"second notes");
    std::fs::rename(a.join("Photos/Été 2023"), a.join("Photos/Summer 2023")).unwrap();
    std::fs::remove_file(a.join("Docs/naïve/résumé.txt")).unwrap();
    write(&a, "top.txt", b"top, edited here");
    let put = app
        .dav("PUT", "/remote.php/webdav/top.txt", "alice", PASSWORD)
        .body("top, edited on the server")
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    nextcloudcmd(&app, &a).await;
    let server = server_tree(&app, &alice.token).await;
    assert_eq!(server, local_tree(&a), "after local changes");
    assert!(
        server.contains_key("Photos/Summer 2023/plage.txt")
            && !server.contains_key("Photos/Été 2023/")
    );
    assert!(!server.contains_key("Docs/naïve/résumé.txt"));
    // The conflict: the server's version wins the name, the local one is kept beside it.
    assert_eq!(
        std::fs::read(a.join("top.txt")).unwrap(),
        b"top, edited on the server"
    );
    let kept: Vec<String> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("top (conflicted copy"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        std::fs::read(a.join(&kept[0])).unwrap(),
        b"top, edited here"
    );

    // A change made on the server is picked up.
    let r = app
        .upload(
            &alice.token,
            "",
            &[("from-the-web.txt", b"uploaded in the browser".to_vec())],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    nextcloudcmd(&app, &a).await;
    assert_eq!(
        std::fs::read(a.join("from-the-web.txt")).unwrap(),
        b"uploaded in the browser"
    );

    // A second, fresh client syncs down the identical tree.
    nextcloudcmd(&app, &b).await;
    let (ta, tb) = (local_tree(&a), local_tree(&b));
    assert_eq!(ta, tb, "the two clients agree");
    assert_eq!(
        server_tree(&app, &alice.token).await,
        tb,
        "and the server with them"
    );
    assert_eq!(tb["video.bin"], hex(&Sha256::digest(&big)));

    // A client signed in with an app password stops the moment it is revoked.
    let r = app
        .post_json(
            "/api/auth/app-passwords",
            Some(&alice.token),
            serde_json::json!({"name": "laptop"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    let secret = created["password"].as_str().unwrap().to_string();
    write(&b, "from-b.txt", b"b");
    let out = sync_with(&app, &b, &secret).await;
    assert!(
        out.status.success(),
        "{}",
        show("nextcloudcmd (app password)", &out)
    );
    let id = created["id"].as_str().unwrap();
    let r = app
        .client
        .delete(app.url(&format!("/api/auth/app-passwords/{id}")))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    write(&b, "after-revoke.txt", b"never uploaded");
    let out = sync_with(&app, &b, &secret).await;
    assert!(
        !out.status.success(),
        "{}",
        show("nextcloudcmd after the revoke", &out)
    );
    let server = server_tree(&app, &alice.token).await;
    assert!(server.contains_key("from-b.txt") && !server.contains_key("after-revoke.txt"));
}

/// The web UI's Connect on the page of login flow `flow`.
async fn grant(app: &TestApp, token: &str, flow: &str) -> reqwest::Response {
    app.post_json(
        &format!("/api/login-flows/{flow}/grant"),
        Some(token),
        serde_json::json!({}),
    )
    .await
}

/// The desktop app's sign-in (Login Flow v2): start, poll (nothing yet), the signed-in user opens
/// the login URL and grants it, the next poll gets an app password once, which then works for
/// WebDAV and is listed (and revocable) among the user's app passwords.
#[tokio::test]
async fn login_flow_v2_hands_the_app_a_password_of_its_own() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let start: Value = app
        .client
        .post(app.url("/index.php/login/v2"))
        .header("User-Agent", "Mozilla/5.0 (Linux) mirall/3.7.3 (Nextcloud)")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let poll_url = start["poll"]["endpoint"].as_str().unwrap().to_string();
    let poll_token = start["poll"]["token"].as_str().unwrap().to_string();
    let login = start["login"].as_str().unwrap().to_string();
    assert_eq!(poll_url, format!("{}/index.php/login/v2/poll", app.base));
    let flow = login
        .strip_prefix(&format!("{}/login/v2/flow/", app.base))
        .unwrap()
        .to_string();
    assert!(poll_token.len() >= 43 && flow.len() >= 43 && poll_token != flow);
    let poll = || {
        app.client
            .post(&poll_url)
            .form(&[("token", poll_token.as_str())])
            .send()
    };
    assert_eq!(
        poll().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "not granted yet"
    );

    // The web UI's page: which app asks; the page needs a signed-in user.
    let r = app
        .client
        .get(app.url(&format!("/api/login-flows/{flow}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let asks = app
        .get_json(&format!("/api/login-flows/{flow}"), &alice.token)
        .await;
    assert_eq!(
        asks["client"],
        "Mozilla/5.0 (Linux) mirall/3.7.3 (Nextcloud) (login flow)"
    );
    // The poll token does not open the page.
    let r = app
        .client
        .get(app.url(&format!("/api/login-flows/{poll_token}")))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = grant(&app, &alice.token, &flow).await;
    assert_eq!(r.status(), StatusCode::OK);

    let got = poll().await.unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    let got: Value = got.json().await.unwrap();
    assert_eq!(got["server"], app.base.as_str());
    assert_eq!(got["loginName"], "alice");
    let secret = got["appPassword"].as_str().unwrap().to_string();
    assert_eq!(
        poll().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "handed out once"
    );
    let r = propfind0(&app, "/remote.php/dav/files/alice/", "alice", &secret).await;
    assert_eq!(r.status().as_u16(), 207);
    // It is alice's, named after the app; bob cannot use it; revoking it shuts the app out.
    let r = propfind0(&app, "/remote.php/dav/files/bob/", "bob", &secret).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let list = app.get_json("/api/auth/app-passwords", &alice.token).await;
    let made = &list["app_passwords"][0];
    assert!(made["name"].as_str().unwrap().contains("mirall"));
    assert!(
        app.get_json("/api/auth/app-passwords", &bob.token).await["app_passwords"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let id = made["id"].as_str().unwrap();
    let r = app
        .client
        .delete(app.url(&format!("/api/auth/app-passwords/{id}")))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = propfind0(&app, "/remote.php/dav/files/alice/", "alice", &secret).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // A used or denied flow cannot be granted (again).
    let r = grant(&app, &alice.token, &flow).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let start: Value = app
        .client
        .post(app.url("/index.php/login/v2"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let flow2 = start["login"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let r = app
        .post_json(
            &format!("/api/login-flows/{flow2}/deny"),
            Some(&alice.token),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = grant(&app, &alice.token, &flow2).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.get_json("/api/auth/app-passwords", &alice.token).await["app_passwords"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "no app password left behind"
    );
}

/// A phone app's sign-in (Login Flow v1: its web view opens /index.php/login/flow, the user grants
/// it there, the page hands over `nc://login/...`) and then what its auto-upload does: user,
/// capabilities, the target folder made, a photo PUT with its mtime, the final PROPFIND; the photo
/// is then processed like any upload. Both drive roots the apps use (with and without the slash).
#[tokio::test]
async fn a_phone_app_signs_in_and_auto_uploads_a_photo() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let page = app
        .client
        .get(app.url("/index.php/login/flow"))
        .header("OCS-APIREQUEST", "true")
        .header(
            "User-Agent",
            "Mozilla/5.0 (Android) Nextcloud-android/3.30.0",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    // The page (signed in) asks the server for the app's own credentials.
    let r = app
        .post_json(
            "/api/login-flows",
            None,
            serde_json::json!({"client": "Nextcloud-android/3.30.0"}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "only for a signed-in user"
    );
    let r = app
        .post_json(
            "/api/login-flows",
            Some(&alice.token),
            serde_json::json!({"client": "Nextcloud-android/3.30.0"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let creds: Value = r.json().await.unwrap();
    assert_eq!(creds["server"], app.base.as_str());
    assert_eq!(creds["login_name"], "alice");
    let pw = creds["app_password"].as_str().unwrap().to_string();
    let list = app.get_json("/api/auth/app-passwords", &alice.token).await;
    assert_eq!(
        list["app_passwords"][0]["name"],
        "Nextcloud-android/3.30.0 (login flow)"
    );

    // What the app reads next.
    let me: Value = app
        .dav("GET", "/ocs/v2.php/cloud/user?format=json", "alice", &pw)
        .header("OCS-APIREQUEST", "true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["ocs"]["data"]["id"], "alice");
    let caps: Value = app
        .dav(
            "GET",
            "/ocs/v2.php/cloud/capabilities?format=json",
            "alice",
            &pw,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        caps["ocs"]["data"]["capabilities"]["dav"]["chunking"],
        "1.0"
    );
    for root in [
        "/remote.php/dav/files/alice",
        "/remote.php/dav/files/alice/",
    ] {
        let r = propfind0(&app, root, "alice", &pw).await;
        assert_eq!(r.status().as_u16(), 207, "{root}");
    }

    // Auto-upload: the folder does not exist yet, is made, the photo goes in with its time.
    let folder = "/remote.php/dav/files/alice/InstantUpload";
    let r = propfind0(&app, folder, "alice", &pw).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    for f in [folder.to_string(), format!("{folder}/Camera")] {
        let r = app.dav("MKCOL", &f, "alice", &pw).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{f}");
    }
    let jpeg = jpeg_bytes(&picture(64, 48, [200, 120, 40]));
    let put = app
        .dav(
            "PUT",
            &format!("{folder}/Camera/IMG_20261201_101500.jpg"),
            "alice",
            &pw,
        )
        .header("X-OC-Mtime", "1764584100")
        .header("Content-Type", "image/jpeg")
        .body(jpeg.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::CREATED);
    assert_eq!(put.headers()["x-oc-mtime"], "accepted");
    let file_id = put.headers()["oc-fileid"].to_str().unwrap().to_string();
    let r = app
        .dav("PROPFIND", &format!("{folder}/Camera/IMG_20261201_101500.jpg"), "alice", &pw)
        .header("Depth", "0")
        .body(r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns"><d:prop><d:getlastmodified/><d:getcontentlength/><d:getetag/><oc:id/><oc:permissions/></d:prop></d:propfind>"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 207);
    let x = r.text().await.unwrap();
    assert!(x.contains("Mon, 01 Dec 2025 10:15:00 GMT"), "{x}");
    assert!(
        x.contains(&format!(
            "<D:getcontentlength>{}</D:getcontentlength>",
            jpeg.len()
        )),
        "{x}"
    );
    assert!(
        x.contains(&format!("<oc:id>{file_id}</oc:id>"))
            && x.contains("<oc:permissions>DNVW</oc:permissions>"),
        "{x}"
    );
    // The photo goes through the same pipeline as any upload: a thumbnail, on the timeline.
    app.run_pending_jobs().await;
    let r = app
        .client
        .get(app.url(&format!("/api/files/{file_id}/thumbnail")))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.get_json("/api/photos/buckets", &alice.token).await["total"],
        1
    );
}

/// `cloud/users/{id}` answers only for oneself (another account, existing or not, is "not found"
/// alike); avatars are generated, by both paths the apps use, for signed-in callers.
#[tokio::test]
async fn users_and_avatars_tell_nothing_about_other_accounts() {
    let app = spawn_app().await;
    app.register("alice").await;
    app.register("bob").await;
    let me: Value = app
        .dav(
            "GET",
            "/ocs/v2.php/cloud/users/alice?format=json",
            "alice",
            PASSWORD,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["ocs"]["data"]["id"], "alice");
    let mut bodies = Vec::new();
    for other in ["bob", "ghost"] {
        let r = app
            .dav(
                "GET",
                &format!("/ocs/v2.php/cloud/users/{other}?format=json"),
                "alice",
                PASSWORD,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{other}");
        bodies.push(r.text().await.unwrap());
    }
    assert_eq!(
        bodies[0], bodies[1],
        "bob and a name nobody has look the same"
    );

    for path in [
        "/index.php/avatar/alice/64",
        "/remote.php/dav/avatars/alice/64.png",
    ] {
        let r = app
            .dav("GET", path, "alice", PASSWORD)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()["content-type"], "image/png");
        let png = r.bytes().await.unwrap();
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), (64, 64));
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{path} needs a sign-in"
        );
    }
    let bob = app
        .dav("GET", "/index.php/avatar/bob/64", "alice", PASSWORD)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let ghost = app
        .dav("GET", "/index.php/avatar/ghost/64", "alice", PASSWORD)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_ne!(
        bob, ghost,
        "a colour per name, whether or not the account exists"
    );
}
