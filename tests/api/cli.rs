//! The CLI on the same data folder while the server runs: users, invites, quotas, fsck.

use std::io::Write;
use std::process::Stdio;

use reqwest::StatusCode;
use serde_json::json;

use crate::crash::cli;
use crate::helpers::*;

fn run(data: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = cli(data).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_work_beside_the_running_server() {
    let app = spawn_app().await;
    let data = app.config.data_dir.clone();

    let mut child = cli(&data)
        .args(["admin", "create-user", "Boss", "--admin", "--quota", "5GB"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let boss = app.login("boss", PASSWORD).await;
    let me = app.me(&boss.token).await;
    assert_eq!(me["is_admin"], true);
    assert_eq!(me["quota_bytes"], 5_000_000_000i64);

    let (code, text) = run(
        &data,
        &["admin", "create-user", "weak", "--password", "123"],
    );
    assert_ne!(code, 0);
    assert!(text.contains("too short"), "{text}");
    let (code, _) = run(
        &data,
        &["admin", "create-user", "boss", "--password", PASSWORD],
    );
    assert_ne!(code, 0, "duplicate user refused");

    let (code, text) = run(
        &data,
        &[
            "admin",
            "invite",
            "create",
            "--count",
            "2",
            "--expires",
            "1d",
        ],
    );
    assert_eq!(code, 0, "{text}");
    let codes: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 2);
    let (_, listed) = run(&data, &["admin", "invite", "list"]);
    assert!(codes.iter().all(|c| listed.contains(c)), "{listed}");
    let r = app
        .post_json(
            "/api/auth/register",
            None,
            json!({"invite_code": codes[0], "username": "guest", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, listed) = run(&data, &["admin", "invite", "list"]);
    assert!(!listed.contains(&codes[0]));

    let (code, text) = run(&data, &["admin", "quota", "set", "guest", "1.5MB"]);
    assert_eq!(code, 0, "{text}");
    let guest = app.login("guest", PASSWORD).await;
    assert_eq!(app.me(&guest.token).await["quota_bytes"], 1_500_000);
    let (_, users) = run(&data, &["admin", "users"]);
    assert!(
        users.contains("boss") && users.contains("admin") && users.contains("guest"),
        "{users}"
    );
    let (code, _) = run(&data, &["admin", "quota", "set", "nobody", "1GB"]);
    assert_ne!(code, 0);

    // The service's rules hold for the CLI too (an invite lasts at most 365 days), and only
    // what took effect is audited: one invites-create entry, for the two codes made.
    let (code, text) = run(&data, &["admin", "invite", "create", "--expires", "400d"]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("365 days"), "{text}");
    let log = app.get_json("/api/admin/audit", &boss.token).await;
    let invites: Vec<&serde_json::Value> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "invites-create")
        .collect();
    assert_eq!(invites.len(), 1, "{log}");
    assert_eq!(invites[0]["detail"]["count"], 2, "{log}");
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["user-create", "quota-set"] {
        assert!(actions.contains(&a), "{a} missing: {log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fsck_finds_and_repairs_damage() {
    let app = spawn_app().await;
    let data = app.config.data_dir.clone();
    let u = app.register("damaged").await;
    let keep = app
        .upload_one(&u.token, "", "keep.txt", b"keep me".to_vec())
        .await;
    let lost = app
        .upload_one(&u.token, "", "lost.txt", b"body will vanish".to_vec())
        .await;
    let (code, text) = run(&data, &["fsck"]);
    assert_eq!(code, 0, "{text}");

    // Damage: an orphan body, a missing body, a wrong counter.
    let files_dir = app.volume_path().join("users").join(&u.id).join("files");
    std::fs::write(
        files_dir.join(format!("{}.bin", uuid::Uuid::new_v4())),
        b"orphan",
    )
    .unwrap();
    let lost_row = app
        .app
        .db
        .conn()
        .unwrap()
        .query_row(
            "SELECT blob_id || '.' || ext FROM nodes WHERE id = ?1",
            [lost["id"].as_str().unwrap()],
            |r| r.get::<_, String>(0),
        )
        .unwrap();
    std::fs::remove_file(files_dir.join(lost_row)).unwrap();
    app.app
        .db
        .conn()
        .unwrap()
        .execute("UPDATE users SET used_bytes = 999 WHERE id = ?1", [&u.id])
        .unwrap();

    let (code, text) = run(&data, &["fsck"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("orphan body"), "{text}");
    assert!(text.contains("has no body"), "{text}");
    assert!(text.contains("used_bytes is 999"), "{text}");
    let (code, text) = run(&data, &["fsck", "--repair"]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = run(&data, &["fsck"]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("store consistent"));
    assert_eq!(app.me(&u.token).await["used_bytes"], 7);
    assert_eq!(
        app.download(&u.token, keep["id"].as_str().unwrap()).await,
        b"keep me"
    );
    assert_eq!(
        app.get(
            &format!("/api/files/{}", lost["id"].as_str().unwrap()),
            &u.token
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
}
