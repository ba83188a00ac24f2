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
