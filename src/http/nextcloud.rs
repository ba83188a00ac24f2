//! What Nextcloud's apps ask before they sync, answered for CloudVault: `/status.php` (who this
//! server is), the OCS capabilities (only what CloudVault really does), the signed-in user with
//! their quota, the apps' connectivity check, and Login Flow v2 (the desktop app's sign-in in the
//! browser: the web UI's "Connect this device?" page grants it an app password). The files themselves are the WebDAV door's
//! (`/remote.php/dav/…`, `/remote.php/webdav/…`). OCS answers JSON when asked (`format=json`
//! or `Accept: application/json`), else XML; v1 says status 100, v2 status 200, as Nextcloud does.

use axum::extract::{ConnectInfo, Form, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::User;
use crate::auth::login_flow::client_name;
use crate::error::ErrorCode;
use crate::http::dto::{DirectLoginResponse, LoginFlowResponse};
use crate::http::extract::AuthUser;
use crate::state::App;
use crate::web::ClientAddr;
use crate::web::basic::parse_basic;

/// The Nextcloud version CloudVault answers as: recent enough that the apps use their current
/// protocol (chunking, login flow v2), and a product name that says what it is.
pub const NC_VERSION: (u32, u32, u32) = (30, 0, 0);

pub fn routes() -> Router<App> {
    Router::new()
        .route("/status.php", get(status))
        .route("/index.php/204", get(no_content))
        .route("/ocs/v1.php/cloud/capabilities", get(capabilities_v1))
        .route("/ocs/v2.php/cloud/capabilities", get(capabilities_v2))
        .route("/ocs/v1.php/cloud/user", get(user_v1))
        .route("/ocs/v2.php/cloud/user", get(user_v2))
        .route("/ocs/v1.php/cloud/users/{id}", get(users_v1))
        .route("/ocs/v2.php/cloud/users/{id}", get(users_v2))
        .route("/index.php/avatar/{user}/{size}", get(avatar))
        .route("/index.php/login/v2", post(login_v2))
        .route("/index.php/login/v2/poll", post(login_v2_poll))
}

/// The web UI's side of a login flow, under `/api` (signed in).
pub fn api_routes() -> Router<App> {
    Router::new()
        .route("/login-flows", post(flow_direct))
        .route("/login-flows/{token}", get(flow_client))
        .route("/login-flows/{token}/grant", post(flow_grant))
        .route("/login-flows/{token}/deny", post(flow_deny))
}

fn version_string() -> String {
    let (a, b, c) = NC_VERSION;
    format!("{a}.{b}.{c}.0")
}

/// `GET /status.php`: installed, not in maintenance, the version and the product's name.
async fn status() -> Response {
    let v = version_string();
    Json(json!({
        "installed": true,
        "maintenance": false,
        "needsDbUpgrade": false,
        "version": v,
        "versionstring": v.strip_suffix(".0").unwrap_or(&v),
        "edition": "",
        "productname": "CloudVault",
        "extendedSupport": false,
    }))
    .into_response()
}

/// `GET /index.php/204`: the Android app's connectivity check.
async fn no_content() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// OCS v1 or v2 (their success codes differ).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ocs {
    V1,
    V2,
}

#[derive(Deserialize)]
struct Format {
    format: Option<String>,
}

fn wants_json(q: &Format, headers: &HeaderMap) -> bool {
    match q.format.as_deref() {
        Some(f) => f.eq_ignore_ascii_case("json"),
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json")),
    }
}

/// An OCS envelope around `data`, in the format asked for.
fn ocs(version: Ocs, json_out: bool, http: StatusCode, data: Value) -> Response {
    let (status, code, message) = match (http.is_success(), version) {
        (true, Ocs::V1) => ("ok", 100, "OK".to_string()),
        (true, Ocs::V2) => ("ok", 200, "OK".to_string()),
        (false, _) => (
            "failure",
            if http == StatusCode::UNAUTHORIZED {
                997
            } else {
                http.as_u16()
            },
            http.canonical_reason().unwrap_or("error").to_string(),
        ),
    };
    let body = json!({"ocs": {"meta": {"status": status, "statuscode": code, "message": message,
        "totalitems": "", "itemsperpage": ""}, "data": data}});
    // OCS v1 answers failures with 200 and the code inside, except for a missing sign-in.
    let http = if version == Ocs::V1 && http != StatusCode::UNAUTHORIZED {
        StatusCode::OK
    } else {
        http
    };
    let mut res = if json_out {
        (http, Json(body)).into_response()
    } else {
        let xml = to_xml(&body);
        (
            http,
            [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
            xml,
        )
            .into_response()
    };
    if http == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"CloudVault\", charset=\"UTF-8\""),
        );
    }
    res
}

/// OCS's XML: each key an element, a list's items as `<element>`, booleans as 1 / empty.
/// Hand-made over xmltree: a dozen lines, with its escaping.
fn to_xml(v: &Value) -> String {
    fn el(name: &str, v: &Value) -> xmltree::Element {
        let mut e = xmltree::Element::new(name);
        match v {
            Value::Object(m) => {
                // The envelope's meta before its data, as Nextcloud writes it.
                let (meta, rest): (Vec<_>, Vec<_>) = m.iter().partition(|(k, _)| *k == "meta");
                for (k, v) in meta.into_iter().chain(rest) {
                    e.children.push(xmltree::XMLNode::Element(el(k, v)));
                }
            }
            Value::Array(a) => {
                for v in a {
                    e.children.push(xmltree::XMLNode::Element(el("element", v)));
                }
            }
            Value::Bool(b) => {
                if *b {
                    e.children.push(xmltree::XMLNode::Text("1".into()));
                }
            }
            Value::Null => {}
            Value::String(s) => e.children.push(xmltree::XMLNode::Text(s.clone())),
            Value::Number(n) => e.children.push(xmltree::XMLNode::Text(n.to_string())),
        }
        e
    }
    let root = match v {
        Value::Object(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().unwrap();
            el(k, v)
        }
        _ => el("ocs", v),
    };
    let mut out = Vec::new();
    let cfg = xmltree::EmitterConfig::new().perform_indent(false);
    root.write_with_config(&mut out, cfg)
        .expect("writing XML to memory");
    String::from_utf8(out).expect("XML is UTF-8")
}

/// A request signed in with HTTP Basic (the account's password or an app password), as the
/// apps send it; the OCS answer for a missing or wrong one is made by the handler.
struct BasicUser(Option<User>);

impl FromRequestParts<App> for BasicUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let ClientAddr(addr) = ClientAddr::from_request_parts(parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let Some((username, password)) = parse_basic(header) else {
            return Ok(BasicUser(None));
        };
        match app
            .accounts
            .authenticate_basic(username, password, addr)
            .await
        {
            Ok(user) => Ok(BasicUser(Some(user))),
            Err(e) if e.code == ErrorCode::Unauthorized => Ok(BasicUser(None)),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// What CloudVault does, as Nextcloud's apps read it; nothing it does not do is named.
fn capabilities() -> Value {
    let (major, minor, micro) = NC_VERSION;
    json!({
        "version": {"major": major, "minor": minor, "micro": micro, "string": version_string(),
            "edition": "", "extendedSupport": false},
        "capabilities": {
            "core": {"webdav-root": "remote.php/webdav", "pollinterval": 60,
                "bruteforce": {"delay": 0}},
            // Uploads assembled from parts under /remote.php/dav/uploads/{user}/.
            "dav": {"chunking": "1.0"},
            "files": {"bigfilechunking": true},
        }
    })
}

async fn capabilities_v1(Query(q): Query<Format>, headers: HeaderMap) -> Response {
    ocs(
        Ocs::V1,
        wants_json(&q, &headers),
        StatusCode::OK,
        capabilities(),
    )
}

/// Capabilities are public, in Nextcloud too: the apps read them before signing in.
async fn capabilities_v2(Query(q): Query<Format>, headers: HeaderMap) -> Response {
    ocs(
        Ocs::V2,
        wants_json(&q, &headers),
        StatusCode::OK,
        capabilities(),
    )
}

async fn user_v1(
    Query(q): Query<Format>,
    headers: HeaderMap,
    BasicUser(user): BasicUser,
) -> Response {
    user_for(Ocs::V1, wants_json(&q, &headers), user)
}

async fn user_v2(
    Query(q): Query<Format>,
    headers: HeaderMap,
    BasicUser(user): BasicUser,
) -> Response {
    user_for(Ocs::V2, wants_json(&q, &headers), user)
}

async fn users_v1(
    Query(q): Query<Format>,
    headers: HeaderMap,
    Path(id): Path<String>,
    BasicUser(user): BasicUser,
) -> Response {
    users_for(Ocs::V1, wants_json(&q, &headers), &id, user)
}

async fn users_v2(
    Query(q): Query<Format>,
    headers: HeaderMap,
    Path(id): Path<String>,
    BasicUser(user): BasicUser,
) -> Response {
    users_for(Ocs::V2, wants_json(&q, &headers), &id, user)
}

/// `cloud/users/{id}`: the signed-in user's own data; anyone else is "not found", whether or not
/// that account exists.
fn users_for(v: Ocs, json_out: bool, id: &str, user: Option<User>) -> Response {
    match user {
        Some(u) if !u.username.eq_ignore_ascii_case(id) => {
            ocs(v, json_out, StatusCode::NOT_FOUND, json!([]))
        }
        user => user_for(v, json_out, user),
    }
}

/// `GET /index.php/avatar/{user}/{size}` (signed in): a generated avatar.
async fn avatar(
    Path((name, size)): Path<(String, String)>,
    BasicUser(user): BasicUser,
) -> Response {
    if user.is_none() {
        return ocs(Ocs::V2, true, StatusCode::UNAUTHORIZED, json!([]));
    }
    crate::web::avatar::avatar_response(name, &size).await
}

/// `cloud/user`: the signed-in user's id, display name and quota (bytes).
fn user_for(v: Ocs, json_out: bool, user: Option<User>) -> Response {
    let Some(u) = user else {
        return ocs(v, json_out, StatusCode::UNAUTHORIZED, json!([]));
    };
    let used = u.used_bytes.max(0);
    let total = u.quota_bytes.max(0);
    let relative = if total > 0 {
        (used as f64 * 10_000.0 / total as f64).round() / 100.0
    } else {
        0.0
    };
    let data = json!({
        "id": u.username, "enabled": !u.disabled, "display-name": u.username,
        "displayname": u.username, "email": null,
        "quota": {"free": (total - used).max(0), "used": used, "total": total,
            "relative": relative, "quota": total},
    });
    ocs(v, json_out, StatusCode::OK, data)
}

/// The address the app reached this server at (HTTPS when a trusted proxy says so), for the
/// URLs a flow hands out.
fn base_url(app: &App, headers: &HeaderMap, peer: Option<std::net::SocketAddr>) -> String {
    let scheme = if crate::http::cookies::is_https(app, headers, peer) {
        "https"
    } else {
        "http"
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// `POST /index.php/login/v2`: a new flow; the app opens `login` in the browser and polls.
async fn login_v2(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let (poll, login) = app.accounts.login_flows.start(client_name(ua));
    let base = base_url(&app, &headers, Some(peer));
    Json(json!({
        "poll": {"token": poll, "endpoint": format!("{base}/index.php/login/v2/poll")},
        "login": format!("{base}/login/v2/flow/{login}"),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct PollForm {
    token: String,
}

/// `POST /index.php/login/v2/poll` (`token=…`): 404 until the user granted it, then the server,
/// the login name and the app password, once.
async fn login_v2_poll(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<PollForm>,
) -> Response {
    match app.accounts.login_flows.poll(&f.token) {
        Some((login_name, app_password)) => Json(json!({
            "server": base_url(&app, &headers, Some(peer)),
            "loginName": login_name,
            "appPassword": app_password,
        }))
        .into_response(),
        None => (StatusCode::NOT_FOUND, Json(json!([]))).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectFlow {
    client: String,
}

/// `POST /api/login-flows` (`{client}`): the phone apps' sign-in (Login Flow v1), where the page
/// itself hands the app its credentials (`nc://login/...`): a new app password named after the
/// app, with the server's address and the login name.
async fn flow_direct(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    headers: HeaderMap,
    AuthUser(user): AuthUser,
    crate::http::extract::ApiJson(req): crate::http::extract::ApiJson<DirectFlow>,
) -> crate::error::AppResult<(StatusCode, Json<DirectLoginResponse>)> {
    let name = client_name(Some(&req.client));
    let (_, secret) = app.accounts.create_app_password(&user.id, &name).await?;
    Ok((
        StatusCode::CREATED,
        Json(DirectLoginResponse {
            server: base_url(&app, &headers, Some(peer)),
            login_name: user.username,
            app_password: secret,
        }),
    ))
}

/// `GET /api/login-flows/{token}`: which app asks (for the "Connect this device?" page).
async fn flow_client(
    State(app): State<App>,
    AuthUser(_): AuthUser,
    Path(token): Path<String>,
) -> crate::error::AppResult<Json<LoginFlowResponse>> {
    let client = app.accounts.login_flows.client_of(&token)?;
    Ok(Json(LoginFlowResponse { client }))
}

/// `POST /api/login-flows/{token}/grant`: the signed-in user lets the app in.
async fn flow_grant(
    State(app): State<App>,
    AuthUser(user): AuthUser,
    Path(token): Path<String>,
) -> crate::error::AppResult<Json<LoginFlowResponse>> {
    let client = app.accounts.grant_login_flow(&user, &token).await?;
    Ok(Json(LoginFlowResponse { client }))
}

/// `POST /api/login-flows/{token}/deny`: the app gets nothing.
async fn flow_deny(
    State(app): State<App>,
    AuthUser(_): AuthUser,
    Path(token): Path<String>,
) -> StatusCode {
    app.accounts.login_flows.deny(&token);
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocs_xml_names_each_key_and_list_items() {
        let x = to_xml(
            &json!({"ocs": {"meta": {"status": "ok", "statuscode": 100}, "data":
            {"a": [1, 2], "b": true, "c": false, "d": "x<y"}}}),
        );
        assert_eq!(
            x,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ocs><meta><status>ok</status>\
             <statuscode>100</statuscode></meta><data><a><element>1</element>\
             <element>2</element></a><b>1</b><c /><d>x&lt;y</d></data></ocs>"
        );
    }
}
