//! First-run set-up in the browser: the one-time link the real server prints while no admin
//! exists, the first admin made with it, and every way the token dies.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::crash::{Spawned, cli, spawn_serve};
use crate::helpers::*;

/// `cloudvault serve` on a random port; the server is killed when this goes.
struct Served(Spawned);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

fn serve(data: &std::path::Path) -> Served {
    Served(spawn_serve(cli(data)))
}

impl Served {
    /// Reads on until the set-up link and the CLI hint after it.
    fn read_setup_hint(&mut self) -> (String, String) {
        loop {
            let line = self.0.rest.next().expect("the set-up link").unwrap();
            self.0.lines.push(line.clone());
            if let Some(link) = line
                .trim()
                .strip_prefix("http://")
                .filter(|l| l.contains("/setup#token="))
            {
                let hint = self.0.rest.next().expect("the CLI hint").unwrap();
                return (format!("http://{link}"), hint);
            }
        }
    }

    /// Stops the server (SIGTERM, as systemd does) and returns everything it printed.
    fn stop_and_read_all(mut self) -> Vec<String> {
        Command::new("kill")
            .args(["-TERM", &self.0.child.id().to_string()])
            .status()
            .unwrap();
        let mut lines = std::mem::take(&mut self.0.lines);
        for l in self.0.rest.by_ref() {
            lines.push(l.unwrap());
        }
        lines
    }
}

async fn post_setup(client: &reqwest::Client, base: &str, body: Value) -> reqwest::Response {
    client
        .post(format!("{base}/api/setup"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn needed(client: &reqwest::Client, base: &str) -> bool {
    let v: Value = client
        .get(format!("{base}/api/setup"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["needed"].as_bool().expect("needed is a boolean")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_link_makes_the_first_admin_once_and_then_dies() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = serve(&data);
    let (link, hint) = server.read_setup_hint();
    let base = server.0.base.clone();
    assert!(link.starts_with(&format!("{base}/setup#token=")), "{link}");
    let token = link.split("#token=").nth(1).unwrap().to_string();
    assert!(token.len() >= 43, "at least 256 bits in base64: {token}");
    // The CLI way names the real binary and the data folder, absolute.
    assert!(hint.contains(env!("CARGO_BIN_EXE_cloudvault")), "{hint}");
    assert!(
        hint.contains(&format!("--data {}", data.display())),
        "{hint}"
    );
    assert!(hint.contains("admin create-user NAME --admin"), "{hint}");

    let client = reqwest::Client::new();
    assert!(needed(&client, &base).await);
    // The web UI's page is served at /setup (the app's own route).
    let page = client.get(format!("{base}/setup")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);

    // A wrong token, then the right one with a password the rules refuse: nothing is made, and
    // the token still works.
    let wrong = post_setup(
        &client,
        &base,
        json!({"token": "x".repeat(43), "username": "boss", "password": PASSWORD}),
    )
    .await;
    assert_error(wrong, StatusCode::FORBIDDEN, "setup-token-invalid").await;
    let weak = post_setup(
        &client,
        &base,
        json!({"token": token, "username": "boss", "password": "123"}),
    )
    .await;
    assert_eq!(weak.status(), StatusCode::BAD_REQUEST);
    assert!(needed(&client, &base).await);

    let made = post_setup(
        &client,
        &base,
        json!({"token": token, "username": "Boss", "password": PASSWORD}),
    )
    .await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let v: Value = made.json().await.unwrap();
    assert_eq!(v["user"]["username"], "boss");
    assert_eq!(v["user"]["is_admin"], true);
    let access = v["access_token"].as_str().expect("signed in at once");
    let me: Value = client
        .get(format!("{base}/api/auth/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["is_admin"], true);
    // The admin can work at once: an invite for the family.
    let invites = client
        .post(format!("{base}/api/admin/invite-codes"))
        .bearer_auth(access)
        .json(&json!({"count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(invites.status(), StatusCode::CREATED);

    // The same token again: refused, nothing else made.
    let again = post_setup(
        &client,
        &base,
        json!({"token": token, "username": "mallory", "password": PASSWORD}),
    )
    .await;
    assert_error(again, StatusCode::CONFLICT, "setup-done").await;
    assert!(!needed(&client, &base).await);
    let users = client
        .get(format!("{base}/api/admin/users"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let names: Vec<&str> = users
        .as_array()
        .or_else(|| users["users"].as_array())
        .expect("a user list")
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["boss"]);
    let all = server.stop_and_read_all();
    assert!(
        all.iter().filter(|l| l.contains("/setup#token=")).count() == 1,
        "{all:?}"
    );

    // A restart with an admin prints no link (the whole output, read to its end).
    let server = serve(&data);
    let all = server.stop_and_read_all();
    assert!(all.iter().any(|l| l.contains("listening on")), "{all:?}");
    assert!(!all.iter().any(|l| l.contains("setup")), "{all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_made_by_the_cli_kills_the_link_and_a_restart_makes_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = serve(&data);
    let (link, _) = server.read_setup_hint();
    let first = link.split("#token=").nth(1).unwrap().to_string();
    let base = server.0.base.clone();
    let client = reqwest::Client::new();

    // A restart prints a new token; the old one is dead.
    drop(server);
    let mut server = serve(&data);
    let (link, _) = server.read_setup_hint();
    let second = link.split("#token=").nth(1).unwrap().to_string();
    assert_ne!(first, second);
    let base2 = server.0.base.clone();
    assert_ne!(base, base2);
    let old = post_setup(
        &client,
        &base2,
        json!({"token": first, "username": "boss", "password": PASSWORD}),
    )
    .await;
    assert_error(old, StatusCode::FORBIDDEN, "setup-token-invalid").await;

    // The admin comes from the CLI while the server runs: the link is done with.
    let out = cli(&data)
        .args([
            "admin",
            "create-user",
            "root",
            "--admin",
            "--password",
            PASSWORD,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!needed(&client, &base2).await);
    let late = post_setup(
        &client,
        &base2,
        json!({"token": second, "username": "boss", "password": PASSWORD}),
    )
    .await;
    assert_error(late, StatusCode::CONFLICT, "setup-done").await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_set_ups_at_once_make_one_admin_and_guessing_is_limited() {
    let app = spawn_app_with(|c, _| c.auth.login_failures_per_address = 5).await;
    let token = app
        .app
        .accounts
        .setup_link_token()
        .await
        .unwrap()
        .expect("no admin yet");

    // Wrong tokens count as failed sign-ins from that address: the sixth is refused unread.
    for i in 0..5 {
        let r = app
            .post_json(
                "/api/setup",
                None,
                json!({"token": format!("guess-{i}"), "username": "x", "password": PASSWORD}),
            )
            .await;
        assert_error(r, StatusCode::FORBIDDEN, "setup-token-invalid").await;
    }
    let limited = app
        .post_json(
            "/api/setup",
            None,
            json!({"token": token, "username": "boss", "password": PASSWORD}),
        )
        .await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().get("retry-after").is_some());
    let audit: i64 = app.sql_i64(
        "SELECT count(*) FROM audit_log WHERE action = ?1",
        "setup-failed",
    );
    assert_eq!(audit, 5);
    let (dir, mut config) = app.stop().await;

    // A fresh limit (the window is over), then two browsers send the right token at once.
    config.auth.login_failures_per_address = 50;
    let app = start(dir, config).await;
    let token = app.app.accounts.setup_link_token().await.unwrap().unwrap();
    let send = |name: &'static str| {
        let client = app.client.clone();
        let url = app.url("/api/setup");
        let token = token.clone();
        async move {
            client
                .post(url)
                .json(&json!({"token": token, "username": name, "password": PASSWORD}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let (a, b) = tokio::join!(send("anna"), send("bert"));
    let mut got = [a, b];
    got.sort();
    assert_eq!(got, [StatusCode::CREATED, StatusCode::CONFLICT]);
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM users WHERE is_admin = ?1", "1"),
        1
    );
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM users WHERE ?1 = ?1", ""),
        1
    );
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM audit_log WHERE action = ?1", "setup"),
        1
    );
}
