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
