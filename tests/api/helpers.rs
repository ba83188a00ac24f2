//! Test helpers: `spawn_app()` runs the real server on 127.0.0.1:0 with a temp data folder and a
//! real SQLite file; helpers register users, upload and download through real HTTP.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cloudvault::config::{ByteSize, Config};
use cloudvault::{server::Server, state::App};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "tulip-orbit-92";

/// An `Authorization: Basic …` value.
pub fn basic_header(user: &str, pass: &str) -> String {
    use base64::Engine;
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    format!("Basic {b}")
}

/// [`basic_header`] with the test password.
pub fn basic(user: &str) -> String {
    basic_header(user, PASSWORD)
}

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub app: App,
    pub config: Config,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub struct TestUser {
    pub id: String,
    pub username: String,
    pub token: String,
    pub refresh: String,
}

pub fn test_config(dir: &Path) -> Config {
    Config {
        data_dir: dir.join("data"),
        listen: "127.0.0.1:0".parse().unwrap(),
        default_quota: ByteSize(1 << 30),
        ..Config::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_, _| {}).await
}

pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config, &Path)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    tweak(&mut config, dir.path());
    start(dir, config).await
}

/// Starts a server on `config` (a restart reuses the same folder).
pub async fn start(dir: tempfile::TempDir, config: Config) -> TestApp {
    let server = Server::build(config.clone()).await.expect("server starts");
    let base = format!("http://{}", server.local_addr());
    let app = server.app().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(server.run_until(async move {
        let _ = rx.await;
    }));
    TestApp {
        base,
        client: Client::new(),
        app,
        config,
        dir,
        shutdown: Some(tx),
        handle: Some(handle),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The `/metrics` exposition as this machine (a loopback peer) sees it.
    pub async fn metrics_text(&self) -> String {
        let r = self.client.get(self.url("/metrics")).send().await.unwrap();
        r.text().await.unwrap()
    }

    /// One sample of `/metrics`: the family `name` with exactly `labels`.
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let text = self.metrics_text().await;
        crate::ops::parse_exposition(&text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"))
            .get(name, labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in /metrics"))
    }

    /// Stops the server (releasing the data-folder lock) and hands back its folder.
    pub async fn stop(mut self) -> (tempfile::TempDir, Config) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
        // The App (and its pool) must go before the folder is reused.
        let TestApp {
            dir, config, app, ..
        } = self;
        drop(app);
        (dir, config)
    }

    pub fn volume_path(&self) -> PathBuf {
        self.config.effective_volumes()[0].path.clone()
    }

    pub fn sql_i64(&self, sql: &str, param: &str) -> i64 {
        let conn = self.app.db.conn().unwrap();
        conn.query_row(sql, [param], |r| r.get(0)).unwrap()
    }

    pub async fn make_invite(&self) -> String {
        let conn = self.app.db.conn().unwrap();
        cloudvault::auth::create_invites_blocking(&conn, 1, 3600, None)
            .unwrap()
            .remove(0)
            .code
    }

    pub async fn register(&self, username: &str) -> TestUser {
        let code = self.make_invite().await;
        let res = self
            .client
            .post(self.url("/api/auth/register"))
            .json(&json!({"invite_code": code, "username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "register {username}");
        let body: Value = res.json().await.unwrap();
        TestUser {
            id: body["user"]["id"].as_str().unwrap().into(),
            username: username.into(),
            token: body["access_token"].as_str().unwrap().into(),
            refresh: body["refresh_token"].as_str().unwrap().into(),
        }
    }

    /// An admin made the way the CLI makes one, then signed in through the API.
    pub async fn admin(&self, username: &str) -> TestUser {
        {
            let mut conn = self.app.db.conn().unwrap();
            let hash = cloudvault::auth::password::hash_password(PASSWORD).unwrap();
            cloudvault::auth::create_user(&mut conn, username, &hash, true, 1 << 30).unwrap();
        }
        self.login(username, PASSWORD).await
    }

    pub async fn login(&self, username: &str, password: &str) -> TestUser {
        let res = self
            .post_json(
                "/api/auth/login",
                None,
                json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "login {username}");
        let body: Value = res.json().await.unwrap();
        TestUser {
            id: body["user"]["id"].as_str().unwrap().into(),
            username: username.into(),
            token: body["access_token"].as_str().unwrap().into(),
            refresh: body["refresh_token"].as_str().unwrap().into(),
        }
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        let mut req = self.client.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str, token: &str) -> Value {
        let res = self.get(path, token).await;
        assert_eq!(res.status(), StatusCode::OK, "GET {path}");
        res.json().await.unwrap()
    }

    /// Multipart upload of `(name, bytes)` parts; `query` like "?folder=..&on_conflict=..".
    pub async fn upload(&self, token: &str, query: &str, files: &[(&str, Vec<u8>)]) -> Response {
        let mut form = reqwest::multipart::Form::new();
        for (name, bytes) in files {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string()),
            );
        }
        self.client
            .post(self.url(&format!("/api/files/upload{query}")))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Uploads one file and returns its JSON.
    pub async fn upload_one(&self, token: &str, query: &str, name: &str, bytes: Vec<u8>) -> Value {
        let res = self.upload(token, query, &[(name, bytes)]).await;
        assert_eq!(res.status(), StatusCode::CREATED, "upload {name}");
        let body: Value = res.json().await.unwrap();
        body["files"][0].clone()
    }

    pub async fn mkdir(&self, token: &str, parent: Option<&str>, name: &str) -> Value {
        let res = self
            .post_json(
                "/api/files/folders",
                Some(token),
                json!({"parent_id": parent, "name": name}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "mkdir {name}");
        res.json().await.unwrap()
    }

    pub async fn download(&self, token: &str, id: &str) -> Vec<u8> {
        let res = self.get(&format!("/api/files/{id}/download"), token).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.bytes().await.unwrap().to_vec()
    }

    pub async fn me(&self, token: &str) -> Value {
        self.get_json("/api/auth/me", token).await
    }

    /// Every file body on the first volume, as (path, size).
    pub fn bodies_on_disk(&self) -> Vec<(PathBuf, u64)> {
        walk(&self.volume_path().join("users"))
    }

    pub fn temp_files(&self) -> usize {
        std::fs::read_dir(self.volume_path().join(".cloudvault-tmp"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

pub fn walk(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push((p.clone(), e.metadata().unwrap().len()));
        }
    }
    out
}

/// Asserts an error answer: status and `code`, JSON shaped.
pub async fn assert_error(res: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(res.status(), status, "expected {status} {code}");
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

pub fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Polls `f` until it holds or the deadline passes.
pub async fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A WebDAV (or any) method by name: `method("PROPFIND")`.
pub fn method(name: &str) -> reqwest::Method {
    reqwest::Method::from_bytes(name.as_bytes()).unwrap()
}

/// A raw HTTP/1.1 answer: status code, headers (lower-cased names) and body as text.
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl TestApp {
    /// A WebDAV request with Basic auth (`path` is sent as written: reqwest's URL parser keeps
    /// percent-encoding but resolves `..` segments, so traversal tests use `raw_request`).
    pub fn dav(&self, m: &str, path: &str, user: &str, pass: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method(m), self.url(path))
            .basic_auth(user, Some(pass))
    }

    /// `PUT /api/admin/users/{id}/disabled` by an admin; asserts 200.
    pub async fn set_disabled(&self, admin_token: &str, user_id: &str, disabled: bool) {
        let r = self
            .client
            .put(self.url(&format!("/api/admin/users/{user_id}/disabled")))
            .bearer_auth(admin_token)
            .json(&serde_json::json!({ "disabled": disabled }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
    }

    /// `GET /healthz` as JSON (details are shown to this machine).
    pub async fn health(&self) -> Value {
        self.client
            .get(self.url("/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The `host:port` the server listens on.
    pub fn host(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Sends a request byte for byte over a fresh TCP connection (no URL normalisation at all),
    /// with Basic auth when `auth` is given.
    pub async fn raw_request(
        &self,
        m: &str,
        path: &str,
        auth: Option<(&str, &str)>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> RawResponse {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut req = format!(
            "{m} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.host(),
            body.len()
        );
        if let Some((u, p)) = auth {
            req.push_str(&format!("Authorization: {}\r\n", basic_header(u, p)));
        }
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        let mut stream = tokio::net::TcpStream::connect(self.host()).await.unwrap();
        stream.write_all(req.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut out))
            .await
            .expect("raw request timed out");
        let text = String::from_utf8_lossy(&out).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
        let mut lines = head.lines();
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        RawResponse {
            status,
            headers,
            body: body.to_string(),
        }
    }

    /// Every file and folder of a user, walking folders through the API: (path, item JSON).
    pub async fn all_nodes(&self, token: &str) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        let mut stack: Vec<(String, Option<String>)> = vec![(String::new(), None)];
        while let Some((prefix, folder)) = stack.pop() {
            let mut offset = 0;
            loop {
                let q = match &folder {
                    Some(f) => format!("/api/files/?folder={f}&limit=1000&offset={offset}"),
                    None => format!("/api/files/?limit=1000&offset={offset}"),
                };
                let list = self.get_json(&q, token).await;
                let items = list["items"].as_array().unwrap().clone();
                for item in &items {
                    let path = format!("{prefix}/{}", item["name"].as_str().unwrap());
                    if item["kind"] == "folder" {
                        stack.push((path.clone(), Some(item["id"].as_str().unwrap().to_string())));
                    }
                    out.push((path, item.clone()));
                }
                offset += items.len();
                if items.is_empty() || offset as i64 >= list["total"].as_i64().unwrap() {
                    break;
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The quota invariants after any refused or finished write: `used_bytes` is the sum of the
    /// sizes the API lists, the trash's bytes, the earlier versions of the listed files (plus
    /// the bytes of dead properties), which is also what lies on disk for this user; no temp
    /// file and no reservation is left behind. Returns `used_bytes`.
    pub async fn assert_usage_consistent(&self, user: &TestUser) -> i64 {
        let used = self.me(&user.token).await["used_bytes"].as_i64().unwrap();
        let listed: i64 = self
            .all_nodes(&user.token)
            .await
            .iter()
            .filter(|(_, i)| i["kind"] == "file")
            .map(|(_, i)| i["size"].as_i64().unwrap())
            .sum();
        let trash = self.get_json("/api/trash?limit=1", &user.token).await["bytes"]
            .as_i64()
            .unwrap();
        let versions = self.sql_i64(
            "SELECT coalesce(sum(v.size), 0) FROM versions v JOIN nodes n ON n.id = v.node_id
             WHERE v.owner_id = ?1 AND n.trashed_at IS NULL",
            &user.id,
        );
        let listed = listed + trash + versions;
        // Dead properties count as namespace + name + prefix + value (not the server's checksums).
        let props = self.sql_i64(
            "SELECT coalesce(sum(length(CAST(p.namespace AS BLOB)) + length(CAST(p.name AS BLOB))
                    + coalesce(length(CAST(p.prefix AS BLOB)), 0) + coalesce(length(p.xml), 0)), 0)
             FROM dav_props p JOIN nodes n ON n.id = p.node_id
             WHERE n.owner_id = ?1 AND NOT (p.namespace = 'http://owncloud.org/ns' AND p.name = 'checksums')",
            &user.id,
        );
        let used_by_files = used - props;
        assert_eq!(
            used_by_files, listed,
            "used_bytes equals the listed file sizes, the trash, the versions and dead properties"
        );
        let on_disk: u64 = walk(
            &self
                .volume_path()
                .join("users")
                .join(&user.id)
                .join("files"),
        )
        .iter()
        .map(|(_, s)| s)
        .sum();
        assert_eq!(
            on_disk as i64, used_by_files,
            "the bodies on disk add up to used_bytes (less dead properties)"
        );
        wait_until(
            "temp files and reservations released",
            Duration::from_secs(5),
            || {
                self.temp_files() == 0
                    && self.sql_i64("SELECT reserved_bytes FROM users WHERE id = ?1", &user.id) == 0
            },
        )
        .await;
        used
    }

    pub fn set_quota(&self, user: &TestUser, quota: i64) {
        let conn = self.app.db.conn().unwrap();
        assert!(cloudvault::db::users::set_quota(&conn, &user.id, quota).unwrap());
    }
}

impl TestApp {
    /// Waits until no job is queued or running (waiting ones — no model — count as settled).
    pub async fn run_pending_jobs(&self) {
        let db = self.app.db.clone();
        self.app.jobs.poke();
        wait_until("the job queue to settle", Duration::from_secs(120), || {
            let c = db.conn().unwrap();
            c.query_row(
                "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
                == 0
        })
        .await;
    }

    pub fn job_state(&self, kind: &str, node_id: &str) -> Option<(String, Option<String>)> {
        use rusqlite::OptionalExtension;
        let c = self.app.db.conn().unwrap();
        c.query_row(
            "SELECT state, last_error FROM jobs WHERE kind = ?1 AND node_id = ?2",
            [kind, node_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .unwrap()
    }

    /// Every thumbnail file on the volume.
    pub fn thumbnails_on_disk(&self) -> Vec<PathBuf> {
        walk(&self.volume_path().join("users"))
            .into_iter()
            .map(|(p, _)| p)
            .filter(|p| {
                p.parent()
                    .and_then(|d| d.file_name())
                    .is_some_and(|n| n == "thumbnails")
            })
            .collect()
    }
}

/// A photo-like picture of one colour (with some texture so JPEG has work to do).
pub fn picture(w: u32, h: u32, rgb: [u8; 3]) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let n = ((x * 7 + y * 13) % 23) as i16 - 11;
        image::Rgb(rgb.map(|c| (c as i16 + n).clamp(0, 255) as u8))
    })
}

pub fn jpeg_bytes(img: &image::RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(img)
        .unwrap();
    out
}

pub fn png_bytes(img: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// The entry for `file_id` among the failures of a `GET /api/admin/jobs` answer.
pub fn job_failure(jobs: &Value, file_id: &str) -> Value {
    jobs["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file_id"] == file_id)
        .cloned()
        .unwrap_or_else(|| panic!("{file_id} not among the failures of {jobs}"))
}

/// EXIF GPS fields of a position (degrees, minutes, seconds to 1/100), any hemisphere.
pub fn gps_fields(lat: f64, lon: f64) -> Vec<exif::Field> {
    use crate::photo_fixtures::{ascii, field, rationals};
    use exif::Tag;
    let dms = |v: f64| {
        let v = v.abs();
        let m = v.fract() * 60.0;
        rationals(&[
            (v.trunc() as u32, 1),
            (m.trunc() as u32, 1),
            ((m.fract() * 6000.0).round() as u32, 100),
        ])
    };
    vec![
        field(
            Tag::GPSLatitudeRef,
            ascii(if lat >= 0.0 { "N" } else { "S" }),
        ),
        field(Tag::GPSLatitude, dms(lat)),
        field(
            Tag::GPSLongitudeRef,
            ascii(if lon >= 0.0 { "E" } else { "W" }),
        ),
        field(Tag::GPSLongitude, dms(lon)),
    ]
}
