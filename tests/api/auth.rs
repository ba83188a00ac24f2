//! Accounts: invites, registration rules, login limits, tokens (expired, tampered, alg none),
//! refresh rotation and reuse, logout, password change, access requests.

use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_with_invite_then_login_and_me() {
    let app = spawn_app().await;
    let user = app.register("Alice").await;
    assert_eq!(user.username, "Alice");
    let me = app.me(&user.token).await;
    assert_eq!(me["username"], "alice", "usernames are kept in lower case");
    assert_eq!(me["used_bytes"], 0);
    assert_eq!(me["quota_bytes"], 1 << 30);
    assert_eq!(me["is_admin"], false);
    let again = app.login("ALICE", PASSWORD).await;
    assert_eq!(again.id, user.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_codes_are_single_use_and_expire() {
    let app = spawn_app().await;
    let code = app.make_invite().await;
    let reg = |u: &str, c: &str| json!({"invite_code": c, "username": u, "password": PASSWORD});
    let res = app
        .post_json("/api/auth/register", None, reg("bob", &code.to_lowercase()))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "codes are case-insensitive"
    );
    let res = app
        .post_json("/api/auth/register", None, reg("carol", &code))
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid-invite").await;

    let expired = {
        let conn = app.app.db.conn().unwrap();
        let now = cloudvault::db::now_ms();
        cloudvault::db::invites::insert_invite(
            &conn,
            "EXPD-EXPD-EXPD",
            None,
            now - 10_000,
            now - 1,
        )
        .unwrap();
        "EXPD-EXPD-EXPD"
    };
    let res = app
        .post_json("/api/auth/register", None, reg("carol", expired))
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid-invite").await;
    let res = app
        .post_json("/api/auth/register", None, reg("carol", "NOPE-NOPE-NOPE"))
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid-invite").await;
    // A failed registration leaves no account behind.
    assert_eq!(
        app.sql_i64("SELECT count(*) FROM users WHERE username <> ?1", "bob"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refuses_bad_names_and_weak_or_long_passwords() {
    let app = spawn_app().await;
    app.register("taken").await;
    let code = app.make_invite().await;
    let cases: Vec<(&str, String, &str)> = vec![
        ("x", PASSWORD.into(), "invalid-username"),
        ("../etc", PASSWORD.into(), "invalid-username"),
        ("bob smith", PASSWORD.into(), "invalid-username"),
        ("bob", "short".into(), "weak-password"),
        ("bob", "password123".into(), "weak-password"),
        ("bob", "bob-the-builder".into(), "weak-password"),
        ("bob", "x1y2".repeat(100), "password-too-long"),
    ];
    for (user, pw, code_want) in cases {
        let res = app
            .post_json(
                "/api/auth/register",
                None,
                json!({"invite_code": code, "username": user, "password": pw}),
            )
            .await;
        assert_error(res, StatusCode::BAD_REQUEST, code_want).await;
    }
    let res = app
        .post_json(
            "/api/auth/register",
            None,
            json!({"invite_code": code, "username": "TAKEN", "password": PASSWORD}),
        )
        .await;
    assert_error(res, StatusCode::CONFLICT, "username-taken").await;
    // The code survived the failures and still works once.
    let res = app
        .post_json(
            "/api/auth/register",
            None,
            json!({"invite_code": code, "username": "bob", "password": PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .post_json("/api/auth/register", None, json!({"invite_code": code}))
        .await;
    assert_error(res, StatusCode::BAD_REQUEST, "invalid-json").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_failures_look_alike_and_are_rate_limited() {
    let app = spawn_app_with(|c, _| {
        c.auth.login_failures_per_account = 3;
        c.auth.login_failures_per_address = 5;
    })
    .await;
    app.register("dave").await;
    let wrong_pw = app
        .post_json(
            "/api/auth/login",
            None,
            json!({"username": "dave", "password": "nope-nope-nope"}),
        )
        .await;
    let a = assert_error(wrong_pw, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let unknown = app
        .post_json(
            "/api/auth/login",
            None,
            json!({"username": "nobody", "password": "nope-nope-nope"}),
        )
        .await;
    let b = assert_error(unknown, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(a, b, "unknown user and wrong password must look the same");

    for _ in 0..2 {
        let r = app
            .post_json(
                "/api/auth/login",
                None,
                json!({"username": "dave", "password": "nope-nope-nope"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Account limit reached: even the right password waits now.
    let r = app
        .post_json(
            "/api/auth/login",
            None,
            json!({"username": "dave", "password": PASSWORD}),
        )
        .await;
    assert!(r.headers().get("retry-after").is_some());
    assert_error(r, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;

    // Per address (behind the trusted local proxy): another address is not affected.
    let from = |ip: &str, user: &str| {
        app.client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&json!({"username": user, "password": "wrong-wrong-wrong"}))
    };
    for i in 0..5 {
        let r = from("203.0.113.7", &format!("user{i}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = from("203.0.113.7", "user9").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let r = from("203.0.113.8", "user9").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

fn forge(header: Value, claims: Value, secret: &[u8]) -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    if header["alg"] == "none" {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        return format!(
            "{}.{}.",
            b64.encode(header.to_string()),
            b64.encode(claims.to_string())
        );
    }
    encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tampered_and_unsigned_tokens_are_refused() {
    let app = spawn_app().await;
    let user = app.register("erin").await;
    let secret = std::fs::read(app.config.data_dir.join("jwt-secret")).unwrap();
    let now = cloudvault::db::now_ms() / 1000;
    let claims =
        |exp: i64| json!({"sub": user.id, "iat": now - 2000, "exp": exp, "tv": 0, "typ": "access"});

    // Sanity: a token forged with the real secret and a future expiry works, so the refusals below
    // are about expiry, signature and algorithm only.
    let good = forge(json!({"alg": "HS256"}), claims(now + 600), &secret);
    assert_eq!(
        app.get("/api/auth/me", &good).await.status(),
        StatusCode::OK
    );

    let expired = forge(json!({"alg": "HS256"}), claims(now - 60), &secret);
    let wrong_key = forge(
        json!({"alg": "HS256"}),
        claims(now + 600),
        b"another secret that is long enough!!",
    );
    let none = forge(json!({"alg": "none", "typ": "JWT"}), claims(now + 600), &[]);
    let mut tampered = user.token.clone();
    let parts: Vec<&str> = user.token.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!("00000000-0000-4000-8000-000000000000");
    tampered = tampered.replace(parts[1], &b64.encode(payload.to_string()));
    for (what, token) in [
        ("expired", expired),
        ("wrong key", wrong_key),
        ("alg none", none),
        ("tampered", tampered),
        ("garbage", "abc".into()),
    ] {
        let res = app.get("/api/auth/me", &token).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    let res = app
        .client
        .get(app.url("/api/auth/me"))
        .send()
        .await
        .unwrap();
    assert_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let user = app.register("frank").await;
    let r1 = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": user.refresh}),
        )
        .await;
    assert_eq!(r1.status(), StatusCode::OK);
    let p1: Value = r1.json().await.unwrap();
    let new_refresh = p1["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, user.refresh);
    assert_eq!(
        app.get("/api/auth/me", p1["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(p1["expires_in"], 900);
    assert_eq!(p1["refresh_expires_in"], 7 * 24 * 3600);

    // The old one again: reuse. Refused, and the token it was exchanged for dies with it.
    let reuse = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": user.refresh}),
        )
        .await;
    assert_error(reuse, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let after = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": new_refresh}),
        )
        .await;
    assert_error(after, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // Another session (another family) is untouched.
    let other = app.login("frank", PASSWORD).await;
    let r = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": other.refresh}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let bogus = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": "not-a-token"}),
        )
        .await;
    assert_error(bogus, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_refresh_token_is_refused() {
    let app = spawn_app_with(|c, _| {
        c.auth.refresh_token_ttl = cloudvault::config::Dur(std::time::Duration::from_secs(1))
    })
    .await;
    let user = app.register("gina").await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let r = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": user.refresh}),
        )
        .await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_session() {
    let app = spawn_app().await;
    let user = app.register("hank").await;
    let r = app
        .post_json(
            "/api/auth/logout",
            None,
            json!({"refresh_token": user.refresh}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": user.refresh}),
        )
        .await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

/// Signing out ends that sign-in's access token at once; another sign-in keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_sign_ins_access_token() {
    let app = spawn_app().await;
    let user = app.register("hugo").await;
    let other = app.login("hugo", PASSWORD).await;
    let r = app
        .post_json(
            "/api/auth/logout",
            None,
            json!({"refresh_token": user.refresh}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app.get("/api/auth/me", &user.token).await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(
        app.get("/api/auth/me", &other.token).await.status(),
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_change_revokes_old_tokens() {
    let app = spawn_app().await;
    let user = app.register("ivy").await;
    let bad = app
        .post_json(
            "/api/auth/password",
            Some(&user.token),
            json!({"current_password": "wrong-wrong", "new_password": "maple-comet-77"}),
        )
        .await;
    assert_error(bad, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let weak = app
        .post_json(
            "/api/auth/password",
            Some(&user.token),
            json!({"current_password": PASSWORD, "new_password": "123"}),
        )
        .await;
    assert_error(weak, StatusCode::BAD_REQUEST, "weak-password").await;
    let ok = app
        .post_json(
            "/api/auth/password",
            Some(&user.token),
            json!({"current_password": PASSWORD, "new_password": "maple-comet-77"}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let fresh: Value = ok.json().await.unwrap();
    assert_eq!(
        app.get("/api/auth/me", &user.token).await.status(),
        StatusCode::UNAUTHORIZED,
        "old access token"
    );
    let r = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": user.refresh}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "old refresh token");
    assert_eq!(
        app.get("/api/auth/me", fresh["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
    let old = app
        .post_json(
            "/api/auth/login",
            None,
            json!({"username": "ivy", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    app.login("ivy", "maple-comet-77").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_user_is_locked_out() {
    let app = spawn_app().await;
    let admin = app.admin("root").await;
    let user = app.register("jack").await;
    app.set_disabled(&admin.token, &user.id, true).await;
    assert_eq!(
        app.get("/api/auth/me", &user.token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .post_json(
            "/api/auth/login",
            None,
            json!({"username": "jack", "password": PASSWORD}),
        )
        .await;
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let r = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": user.refresh}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_requests_are_stored_bounded_and_rate_limited() {
    let app = spawn_app_with(|c, _| c.auth.access_requests_per_address = 2).await;
    let admin = app.admin("root").await;
    let ok = app
        .post_json(
            "/api/auth/request-access",
            None,
            json!({"name": "Kim", "contact": "kim@example.org", "message": "hi, it's Kim"}),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::ACCEPTED);
    let long = app
        .post_json(
            "/api/auth/request-access",
            None,
            json!({"name": "Kim", "contact": "kim@example.org", "message": "x".repeat(2001)}),
        )
        .await;
    assert_error(long, StatusCode::BAD_REQUEST, "too-long").await;
    let huge = app
        .post_json(
            "/api/auth/request-access",
            None,
            json!({"name": "Kim", "contact": "k", "message": "x".repeat(100_000)}),
        )
        .await;
    assert_error(huge, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large").await;
    let empty = app
        .post_json(
            "/api/auth/request-access",
            None,
            json!({"name": "", "contact": ""}),
        )
        .await;
    assert_error(empty, StatusCode::BAD_REQUEST, "invalid-request").await;
    let second = app
        .post_json(
            "/api/auth/request-access",
            None,
            json!({"name": "Lee", "contact": "lee"}),
        )
        .await;
    assert_eq!(second.status(), StatusCode::ACCEPTED);
    let third = app
        .post_json(
            "/api/auth/request-access",
            None,
            json!({"name": "Spam", "contact": "spam"}),
        )
        .await;
    assert_error(third, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;

    let list = app
        .get_json("/api/admin/access-requests", &admin.token)
        .await;
    let reqs = list["requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs.iter()
            .any(|r| r["name"] == "Kim" && r["message"] == "hi, it's Kim")
    );
    let id = reqs[0]["id"].as_str().unwrap();
    let del = app
        .client
        .delete(app.url(&format!("/api/admin/access-requests/{id}")))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
    let list = app
        .get_json("/api/admin/access-requests", &admin.token)
        .await;
    assert_eq!(list["requests"].as_array().unwrap().len(), 1);
}

/// The refresh token used twice: every token of that sign-in dies at once, the access tokens
/// (15 min JWTs) included, and stays dead across a restart. Another sign-in is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_reuse_ends_the_sign_ins_access_tokens_at_once() {
    let app = spawn_app().await;
    let user = app.register("mona").await;
    let other = app.login("mona", PASSWORD).await;
    let r = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": user.refresh}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let rotated: Value = r.json().await.unwrap();
    let rotated_access = rotated["access_token"].as_str().unwrap().to_string();
    for t in [&user.token, &rotated_access, &other.token] {
        assert_eq!(app.get("/api/auth/me", t).await.status(), StatusCode::OK);
    }

    let reuse = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": user.refresh}),
        )
        .await;
    assert_error(reuse, StatusCode::UNAUTHORIZED, "unauthorized").await;
    for (what, t) in [
        (
            "the access token issued with the reused refresh token",
            &user.token,
        ),
        ("the access token of the rotation", &rotated_access),
    ] {
        let r = app.get("/api/auth/me", t).await;
        assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
        let r = app.get("/api/files/", t).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
    assert_eq!(
        app.get("/api/auth/me", &other.token).await.status(),
        StatusCode::OK,
        "another sign-in of the same user"
    );

    // A restart remembers: the revocation is read back from the database.
    let (dir, config) = app.stop().await;
    let app = start(dir, config).await;
    for t in [&user.token, &rotated_access] {
        let r = app.get("/api/auth/me", t).await;
        assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    assert_eq!(
        app.get("/api/auth/me", &other.token).await.status(),
        StatusCode::OK
    );
}

/// 50 wrong passwords at once against one account, half through the API and half through
/// WebDAV Basic: exactly the configured number are checked (401), every other one is 429 with
/// Retry-After. Then the same from one address against 50 accounts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_attempts_check_exactly_the_limit() {
    const PER_ACCOUNT: usize = 5;
    const PER_ADDRESS: usize = 7;
    let app = spawn_app_with(|c, _| {
        c.auth.login_failures_per_account = PER_ACCOUNT as u32;
        c.auth.login_failures_per_address = PER_ADDRESS as u32;
        c.http.auth_requests_per_minute = 1000;
    })
    .await;
    app.register("nina").await;

    let attempt = |user: String, from: String, webdav: bool| {
        let req = if webdav {
            app.client
                .request(method("PROPFIND"), app.url(&format!("/dav/files/{user}/")))
                .header("depth", "0")
                .basic_auth(&user, Some("wrong-wrong-wrong"))
        } else {
            app.client
                .post(app.url("/api/auth/login"))
                .json(&json!({"username": user, "password": "wrong-wrong-wrong"}))
        };
        async move {
            let r = req.header("x-forwarded-for", from).send().await.unwrap();
            let retry_after = r.headers().get("retry-after").is_some();
            (r.status(), retry_after)
        }
    };
    let tally = |answers: Vec<(StatusCode, bool)>| {
        let checked = answers
            .iter()
            .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
            .count();
        let limited = answers
            .iter()
            .filter(|(s, retry)| *s == StatusCode::TOO_MANY_REQUESTS && *retry)
            .count();
        (checked, limited)
    };

    // One account, 50 addresses (the address limit stays out of the way).
    let answers = futures_util::future::join_all(
        (0..50).map(|i| attempt("nina".into(), format!("198.51.100.{i}"), i % 2 == 0)),
    )
    .await;
    assert_eq!(
        tally(answers.clone()),
        (PER_ACCOUNT, 50 - PER_ACCOUNT),
        "{answers:?}"
    );
    // And the right password waits too now.
    let r = app
        .post_json(
            "/api/auth/login",
            None,
            json!({"username": "nina", "password": PASSWORD}),
        )
        .await;
    assert_error(r, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;

    // One address (what the trusted proxy appended, the right-most entry, whatever the client
    // wrote before it), 50 accounts.
    let answers = futures_util::future::join_all((0..50).map(|i| {
        attempt(
            format!("user{i}"),
            format!("10.9.8.{i}, 203.0.113.50"),
            i % 2 == 1,
        )
    }))
    .await;
    assert_eq!(
        tally(answers.clone()),
        (PER_ADDRESS, 50 - PER_ADDRESS),
        "{answers:?}"
    );
    // Another address is not affected.
    let r = attempt("user0".into(), "203.0.113.51".into(), false).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
}

/// argon2 runs with no database connection checked out: with every connection of the pool but
/// one held elsewhere, a burst of first-time WebDAV sign-ins (each a password check, the same
/// `Accounts::check_password` as the API's login, then a read-only PROPFIND) leaves that one
/// connection free most of the time. When each check held a connection for its argon2 run, the
/// checks queued for it one after another and it was busy for the whole burst (measured before
/// the change: busy 423 ms of a 448 ms burst, 616 of 648). Nothing in the burst writes, so no
/// fsync blurs the measure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_checks_hold_no_database_connection() {
    const CHECKS: usize = 8;
    let app = spawn_app_with(|c, _| {
        c.auth.login_failures_per_account = 1000;
        c.auth.login_failures_per_address = 1000;
        c.http.auth_requests_per_minute = 1000;
    })
    .await;
    for i in 0..CHECKS {
        app.register(&format!("olga{i}")).await;
    }

    let db = app.app.db.clone();
    let held = tokio::task::spawn_blocking(move || {
        (0..cloudvault::db::POOL_SIZE - 1)
            .map(|_| db.conn().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    wait_until(
        "the last connection to be open",
        std::time::Duration::from_secs(10),
        || app.app.db.try_conn().is_some(),
    )
    .await;

    let mut burst = tokio::task::JoinSet::new();
    for i in 0..CHECKS {
        let req = app
            .dav(
                "PROPFIND",
                &format!("/dav/files/olga{i}/"),
                &format!("olga{i}"),
                PASSWORD,
            )
            .header("depth", "0");
        burst.spawn(async move { req.send().await.unwrap().status() });
    }
    let start = std::time::Instant::now();
    let mut busy = std::time::Duration::ZERO;
    let mut last = std::time::Instant::now();
    let mut statuses = Vec::new();
    while statuses.len() < CHECKS {
        let free = app.app.db.try_conn().is_some();
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        if !free {
            busy += last.elapsed();
        }
        last = std::time::Instant::now();
        while let Some(done) = burst.try_join_next() {
            statuses.push(done.unwrap());
        }
    }
    let total = start.elapsed();
    drop(held);
    assert!(statuses.iter().all(|s| s.as_u16() == 207), "{statuses:?}");
    eprintln!(
        "burst of {CHECKS} password checks: {total:?}; the free connection was busy {busy:?}"
    );
    assert!(
        busy < total / 3,
        "the last free connection was busy {busy:?} of the {total:?} that {CHECKS} password checks took"
    );
}

/// The current-password check of a password change counts against the login limits: a stolen
/// access token cannot guess the password faster than the sign-in page allows. A right answer
/// does not count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_current_passwords_count_against_the_login_limits() {
    const PER_ACCOUNT: usize = 4;
    let app = spawn_app_with(|c, _| {
        c.auth.login_failures_per_account = PER_ACCOUNT as u32;
        c.auth.login_failures_per_address = 100;
        c.http.auth_requests_per_minute = 1000;
    })
    .await;
    let u = app.register("olga").await;
    let change = |current: &'static str| {
        app.client
            .post(app.url("/api/auth/password"))
            .bearer_auth(&u.token)
            .json(&json!({"current_password": current, "new_password": "a-brand-new-phrase-7"}))
            .send()
    };
    let mut statuses = Vec::new();
    for _ in 0..PER_ACCOUNT + 3 {
        statuses.push(change("wrong-wrong-wrong").await.unwrap().status());
    }
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, limited), (PER_ACCOUNT, 3), "{statuses:?}");
    // The sign-in page is limited alike now: the same account's failures are shared.
    let r = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": "olga", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}
