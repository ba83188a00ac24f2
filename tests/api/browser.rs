//! What the browser relies on: the refresh token only in an HttpOnly SameSite=Strict cookie,
//! silent refresh and logout through it, the media cookie that opens thumbnails and downloads
//! (and nothing else), `Cross-Origin-Resource-Policy`, and the built web UI served with an SPA
//! fallback and the right caching.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// `Set-Cookie` headers by cookie name: (value, attributes in lower case).
fn set_cookies(res: &Response) -> Vec<(String, String, String)> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| {
            let v = v.to_str().unwrap();
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            (
                name.trim().to_string(),
                value.trim().to_string(),
                attrs.to_ascii_lowercase(),
            )
        })
        .collect()
}

fn cookie<'a>(all: &'a [(String, String, String)], name: &str) -> &'a (String, String, String) {
    all.iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no {name} cookie in {all:?}"))
}

impl TestApp {
    async fn browser_login(&self, username: &str) -> (String, String, String) {
        let res = self
            .post_json(
                "/api/auth/login",
                None,
                json!({"username": username, "password": PASSWORD, "cookie": true}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let cookies = set_cookies(&res);
        let body: Value = res.json().await.unwrap();
        assert!(
            body.get("refresh_token").is_none(),
            "a cookie session never shows the refresh token to scripts: {body}"
        );
        let refresh = cookie(&cookies, "cv_refresh").1.clone();
        let media = cookie(&cookies, "cv_media").1.clone();
        (
            body["access_token"].as_str().unwrap().to_string(),
            refresh,
            media,
        )
    }

    async fn cookie_post(&self, path: &str, cookies: &str, origin: Option<&str>) -> Response {
        let mut req = self.client.post(self.url(path)).header("Cookie", cookies);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        req.send().await.unwrap()
    }
}

#[tokio::test]
async fn login_puts_the_refresh_token_in_an_httponly_strict_cookie() {
    let app = spawn_app().await;
    app.register("alice").await;
    let res = app
        .post_json(
            "/api/auth/login",
            None,
            json!({"username": "alice", "password": PASSWORD, "cookie": true}),
        )
        .await;
    let cookies = set_cookies(&res);
    let (_, _, attrs) = cookie(&cookies, "cv_refresh");
    for a in [
        "httponly",
        "samesite=strict",
        "path=/api/auth",
        "max-age=604800",
    ] {
        assert!(attrs.contains(a), "cv_refresh lacks {a}: {attrs}");
    }
    assert!(
        !attrs.contains("secure"),
        "plain HTTP: no Secure flag (the browser would drop the cookie)"
    );
    let (_, _, attrs) = cookie(&cookies, "cv_media");
    for a in [
        "httponly",
        "samesite=strict",
        "path=/api/files",
        "max-age=900",
    ] {
        assert!(attrs.contains(a), "cv_media lacks {a}: {attrs}");
    }
    // Behind a trusted proxy that terminates HTTPS, the cookies are Secure.
    let res = app
        .client
        .post(app.url("/api/auth/login"))
        .header("X-Forwarded-Proto", "https")
        .json(&json!({"username": "alice", "password": PASSWORD, "cookie": true}))
        .send()
        .await
        .unwrap();
    assert!(set_cookies(&res).iter().all(|c| c.2.contains("secure")));
    // API clients still get the token in JSON and no cookie.
    let res = app
        .post_json(
            "/api/auth/login",
            None,
            json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert!(set_cookies(&res).is_empty());
    let body: Value = res.json().await.unwrap();
    assert!(body["refresh_token"].as_str().is_some());
}

#[tokio::test]
async fn the_cookie_refreshes_silently_rotates_and_detects_reuse() {
    let app = spawn_app().await;
    app.register("alice").await;
    let (_, refresh, _) = app.browser_login("alice").await;
    let res = app
        .cookie_post(
            "/api/auth/refresh",
            &format!("cv_refresh={refresh}"),
            Some(&app.base),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookies = set_cookies(&res);
    let rotated = cookie(&cookies, "cv_refresh").1.clone();
    assert_ne!(rotated, refresh);
    let body: Value = res.json().await.unwrap();
    assert!(body.get("refresh_token").is_none());
    let access = body["access_token"].as_str().unwrap();
    assert_eq!(app.me(access).await["username"], "alice");

    // Presenting the old cookie again is reuse: the family dies and the cookies are cleared.
    let res = app
        .cookie_post("/api/auth/refresh", &format!("cv_refresh={refresh}"), None)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        set_cookies(&res)
            .iter()
            .all(|c| c.1.is_empty() && c.2.contains("max-age=0"))
    );
    let res = app
        .cookie_post("/api/auth/refresh", &format!("cv_refresh={rotated}"), None)
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the rotated token was revoked with its family"
    );
}

#[tokio::test]
async fn a_cookie_refresh_from_another_origin_is_refused() {
    let app = spawn_app().await;
    app.register("alice").await;
    let (_, refresh, _) = app.browser_login("alice").await;
    let res = app
        .cookie_post(
            "/api/auth/refresh",
            &format!("cv_refresh={refresh}"),
            Some("https://evil.example"),
        )
        .await;
    assert_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    // Nothing was rotated: the cookie still works from the right origin.
    let res = app
        .cookie_post(
            "/api/auth/refresh",
            &format!("cv_refresh={refresh}"),
            Some(&app.base),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_revokes_the_session_and_clears_the_cookies() {
    let app = spawn_app().await;
    app.register("alice").await;
    let (_, refresh, _) = app.browser_login("alice").await;
    let res = app
        .cookie_post(
            "/api/auth/logout",
            &format!("cv_refresh={refresh}"),
            Some(&app.base),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let cleared = set_cookies(&res);
    assert!(cookie(&cleared, "cv_refresh").2.contains("max-age=0"));
    assert!(cookie(&cleared, "cv_media").2.contains("max-age=0"));
    let res = app
        .cookie_post("/api/auth/refresh", &format!("cv_refresh={refresh}"), None)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Without any session, logout still answers 204 (already signed out).
    let res = app
        .client
        .post(app.url("/api/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_media_cookie_opens_downloads_and_nothing_else() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let file = app
        .upload_one(&alice.token, "", "cat.jpg", bytes(5000, 3))
        .await;
    let id = file["id"].as_str().unwrap();
    let bobs = app
        .upload_one(&bob.token, "", "bob.jpg", bytes(10, 3))
        .await;
    let (_, _, media) = app.browser_login("alice").await;
    let jar = format!("cv_media={media}");

    let res = app
        .client
        .get(app.url(&format!("/api/files/{id}/download")))
        .header("Cookie", &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cross-origin-resource-policy"], "same-origin");
    assert_eq!(res.bytes().await.unwrap().to_vec(), bytes(5000, 3));
    // The thumbnail route accepts it (whatever the thumbnail's state, it is not a 401).
    let res = app
        .client
        .get(app.url(&format!("/api/files/{id}/thumbnail")))
        .header("Cookie", &jar)
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["cross-origin-resource-policy"], "same-origin");
    // Another user's file looks missing.
    let res = app
        .client
        .get(app.url(&format!(
            "/api/files/{}/download",
            bobs["id"].as_str().unwrap()
        )))
        .header("Cookie", &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // An earlier version's body too (a link in the file's details).
    app.upload_one(
        &alice.token,
        "?on_conflict=overwrite",
        "cat.jpg",
        bytes(600, 4),
    )
    .await;
    let v = app
        .get_json(&format!("/api/files/{id}/versions"), &alice.token)
        .await;
    let vid = v["items"][0]["id"].as_str().unwrap().to_string();
    let res = app
        .client
        .get(app.url(&format!("/api/files/{id}/versions/{vid}/content")))
        .header("Cookie", &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().to_vec(), bytes(5000, 3));
    // Anything else needs the Bearer token: listing, metadata, delete, versions, the trash.
    for (m, path) in [
        ("GET", "/api/files/".to_string()),
        ("GET", format!("/api/files/{id}")),
        ("DELETE", format!("/api/files/{id}")),
        ("GET", format!("/api/files/{id}/versions")),
        ("POST", format!("/api/files/{id}/versions/{vid}/restore")),
        ("DELETE", format!("/api/files/{id}/versions/{vid}")),
        ("GET", "/api/trash".to_string()),
        ("DELETE", "/api/trash".to_string()),
    ] {
        let res = app
            .client
            .request(method(m), app.url(&path))
            .header("Cookie", &jar)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{m} {path}");
    }
    // The media token is not an access token.
    let res = app.get("/api/auth/me", &media).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.download(&alice.token, id).await.len(),
        600,
        "the file is still there"
    );
}

#[tokio::test]
async fn a_password_change_keeps_the_browser_session_in_its_cookie() {
    let app = spawn_app().await;
    app.register("alice").await;
    let (access, refresh, _) = app.browser_login("alice").await;
    let res = app
        .client
        .post(app.url("/api/auth/password"))
        .bearer_auth(&access)
        .header("Cookie", format!("cv_refresh={refresh}"))
        .json(&json!({"current_password": PASSWORD, "new_password": "violet-harbor-51"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookies = set_cookies(&res);
    let fresh = cookie(&cookies, "cv_refresh").1.clone();
    let body: Value = res.json().await.unwrap();
    assert!(body.get("refresh_token").is_none());
    let res = app
        .cookie_post("/api/auth/refresh", &format!("cv_refresh={fresh}"), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .cookie_post("/api/auth/refresh", &format!("cv_refresh={refresh}"), None)
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the old session ended with the password change"
    );
}

#[tokio::test]
async fn the_built_ui_is_served_with_spa_fallback_and_caching() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dist.path().join("assets")).unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><div id=root></div>",
    )
    .unwrap();
    std::fs::write(dist.path().join("assets/index-AbC123.js"), "console.log(1)").unwrap();
    let dist_path = dist.path().to_path_buf();
    let app = spawn_app_with(move |c, _| c.webui_dir = Some(dist_path)).await;

    for page in [
        "/",
        "/files",
        "/files/some-folder-id",
        "/admin",
        "/viewer/x?y=1",
    ] {
        let res = app.client.get(app.url(page)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{page}");
        assert_eq!(res.headers()["cache-control"], "no-cache", "{page}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(res.text().await.unwrap().contains("id=root"));
    }
    let res = app
        .client
        .get(app.url("/assets/index-AbC123.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let res = app
        .client
        .get(app.url("/assets/missing-123.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "a missing asset is not the index page"
    );
    // The API and the WebDAV door are never the SPA.
    assert_error(
        app.client.get(app.url("/api/nope")).send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "no-such-route",
    )
    .await;
    let res = app
        .client
        .get(app.url("/dav/files/nobody/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
