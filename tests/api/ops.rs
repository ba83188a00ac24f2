//! Operations: /healthz (volumes, markers, low space), /metrics (parsed by a strict text-format
//! parser, counting a known sequence of requests exactly), who may see them, the audit log,
//! the per-address limit on password routes, security headers.

use std::collections::{BTreeMap, HashMap};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use cloudvault::config::{ByteSize, Placement, VolumeConfig};

// ---------------------------------------------------------------------------------------------
// A strict parser of the Prometheus text exposition format (0.0.4).

type Labels = Vec<(String, String)>;

#[derive(Debug, Default)]
pub struct Exposition {
    /// family name → type
    pub types: HashMap<String, String>,
    /// (sample name, sorted labels) → value
    pub samples: BTreeMap<(String, Vec<(String, String)>), f64>,
}

impl Exposition {
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let mut l: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        l.sort();
        self.samples.get(&(name.to_string(), l)).copied()
    }

    /// Every series of one sample name: labels → value.
    pub fn series(&self, name: &str) -> BTreeMap<Vec<(String, String)>, f64> {
        self.samples
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|((_, l), v)| (l.clone(), *v))
            .collect()
    }
}

fn valid_metric_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" | "Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse::<f64>().map_err(|_| format!("bad value {s:?}")),
    }
}

/// Labels `{a="x",b="y"}` starting at `s` (after the metric name); returns them and the rest.
fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Vec::new();
    let mut rest = s.strip_prefix('{').ok_or("expected {")?;
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, '\n')) => return Err("newline in label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if labels.iter().any(|(n, _)| n == name) {
            return Err(format!("label {name} twice"));
        }
        labels.push((name.to_string(), value));
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err("expected , or } after a label".into());
        }
    }
}

/// The family a sample belongs to: itself, or a histogram/summary base for its suffixes.
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            match types.get(base).map(String::as_str) {
                Some("histogram") => return Some(base),
                Some("summary") if suffix != "_bucket" => return Some(base),
                _ => {}
            }
        }
    }
    None
}

pub fn parse_exposition(text: &str) -> Result<Exposition, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the last line must end with a newline".into());
    }
    let mut e = Exposition::default();
    let mut helps = std::collections::HashSet::new();
    let mut finished: std::collections::HashSet<String> = Default::default();
    let mut current: Option<String> = None;
    let mut with_samples = std::collections::HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            let mut parts = rest.splitn(3, ' ');
            match parts.next() {
                Some("HELP") => {
                    let name = parts
                        .next()
                        .ok_or_else(|| err("HELP without a name".into()))?;
                    if !valid_metric_name(name) || !helps.insert(name.to_string()) {
                        return Err(err("bad or repeated HELP".into()));
                    }
                }
                Some("TYPE") => {
                    let name = parts
                        .next()
                        .ok_or_else(|| err("TYPE without a name".into()))?;
                    let kind = parts
                        .next()
                        .ok_or_else(|| err("TYPE without a type".into()))?;
                    if !valid_metric_name(name) {
                        return Err(err("bad metric name".into()));
                    }
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                        return Err(err(format!("unknown type {kind}")));
                    }
                    if with_samples.contains(name) {
                        return Err(err("TYPE after samples of the family".into()));
                    }
                    if e.types.insert(name.to_string(), kind.to_string()).is_some() {
                        return Err(err("TYPE repeated".into()));
                    }
                }
                _ => {} // a comment
            }
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| err("no value".into()))?;
        let name = &line[..name_end];
        if !valid_metric_name(name) {
            return Err(err("bad metric name".into()));
        }
        let (mut labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end..]).map_err(err)?
        } else {
            (Vec::new(), &line[name_end..])
        };
        let rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| err("no space before the value".into()))?;
        let mut fields = rest.split(' ');
        let value = parse_value(fields.next().unwrap_or("")).map_err(err)?;
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().map_err(|_| err("bad timestamp".into()))?;
        }
        if fields.next().is_some() {
            return Err(err("trailing fields".into()));
        }
        let family = family_of(name, &e.types)
            .ok_or_else(|| err("sample of an undeclared family".into()))?
            .to_string();
        if current.as_deref() != Some(family.as_str()) {
            if finished.contains(&family) {
                return Err(err("family samples are not in one group".into()));
            }
            if let Some(c) = current.take() {
                finished.insert(c);
            }
            current = Some(family.clone());
        }
        with_samples.insert(family.clone());
        let kind = e.types[&family].as_str();
        if kind == "counter" && !(value >= 0.0 && value.is_finite()) {
            return Err(err("a counter must be finite and >= 0".into()));
        }
        if name.ends_with("_bucket") && kind == "histogram" {
            let le = labels
                .iter()
                .find(|(k, _)| k == "le")
                .ok_or_else(|| err("bucket without le".into()))?;
            parse_value(&le.1).map_err(err)?;
        }
        labels.sort();
        if e.samples
            .insert((name.to_string(), labels), value)
            .is_some()
        {
            return Err(err("duplicate series".into()));
        }
    }
    // Histograms: cumulative buckets ending in +Inf == _count, with a _sum.
    for (family, kind) in &e.types {
        if kind != "histogram" {
            continue;
        }
        let mut groups: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
        for ((n, labels), v) in &e.samples {
            if *n == format!("{family}_bucket") {
                let le = parse_value(&labels.iter().find(|(k, _)| k == "le").unwrap().1)?;
                let rest: Vec<_> = labels.iter().filter(|(k, _)| k != "le").cloned().collect();
                groups.entry(rest).or_default().push((le, *v));
            }
        }
        for (labels, mut buckets) in groups {
            buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
            if buckets.windows(2).any(|w| w[1].1 < w[0].1) {
                return Err(format!("{family}{labels:?}: buckets are not cumulative"));
            }
            let inf = buckets.last().filter(|b| b.0 == f64::INFINITY);
            let count = e.samples.get(&(format!("{family}_count"), labels.clone()));
            let sum = e.samples.get(&(format!("{family}_sum"), labels.clone()));
            match (inf, count, sum) {
                (Some(inf), Some(count), Some(_)) if inf.1 == *count => {}
                _ => return Err(format!("{family}{labels:?}: +Inf bucket, _count, _sum")),
            }
        }
    }
    Ok(e)
}

#[test]
fn the_parser_is_strict() {
    let ok = "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\\\"\"} 3\n";
    assert_eq!(
        parse_exposition(ok)
            .unwrap()
            .get("a_total", &[("x", "1\"")]),
        Some(3.0)
    );
    for bad in [
        "a_total 1\n",                                              // undeclared
        "# TYPE a counter\na 1",                                    // no final newline
        "# TYPE a counter\na{x=1} 1\n",                             // unquoted
        "# TYPE a counter\na 1\na 2\n",                             // duplicate
        "# TYPE a counter\na -1\n",                                 // negative counter
        "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"y\"} 1\n", // not grouped
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 0\n",
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\nh_sum 0\n", // no +Inf
    ] {
        assert!(parse_exposition(bad).is_err(), "accepted {bad:?}");
    }
}

// ---------------------------------------------------------------------------------------------

async fn scrape(app: &TestApp) -> (Exposition, usize) {
    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    let text = res.text().await.unwrap();
    let parsed = parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    (parsed, text.len())
}

/// A multipart body we know to the byte (ending at the close delimiter, so the parser reads it
/// all).
fn multipart(name: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "cvboundary7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_known_sequence_of_requests_exactly() {
    let app = spawn_app().await;
    let u = app.register("meter").await;
    let (m0, m0_len) = scrape(&app).await;

    let mut bytes_in = 0usize;
    let mut bytes_out = m0_len;
    for _ in 0..3 {
        let r = app.get("/api/auth/me", &u.token).await;
        assert_eq!(r.status(), StatusCode::OK);
        bytes_out += r.bytes().await.unwrap().len();
    }
    let missing = uuid::Uuid::new_v4();
    let r = app.get(&format!("/api/files/{missing}"), &u.token).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    bytes_out += r.bytes().await.unwrap().len();
    let r = app.get("/api/no/such/route", &u.token).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    bytes_out += r.bytes().await.unwrap().len();

    let put_body = bytes(1000, 3);
    let r = app
        .dav("PUT", "/dav/files/meter/a.bin", "meter", PASSWORD)
        .body(put_body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    bytes_in += put_body.len();
    bytes_out += r.bytes().await.unwrap().len();

    let content = jpeg_bytes(&picture(64, 48, [200, 40, 40]));
    let (ct, body) = multipart("b.jpg", &content);
    let r = app
        .client
        .post(app.url("/api/files/upload"))
        .bearer_auth(&u.token)
        .header("content-type", ct)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    bytes_in += body.len();
    let up = r.bytes().await.unwrap();
    bytes_out += up.len();
    let id = serde_json::from_slice::<Value>(&up).unwrap()["files"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let r = app
        .get(&format!("/api/files/{id}/download"), &u.token)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let got = r.bytes().await.unwrap();
    assert_eq!(&got[..], &content[..]);
    bytes_out += got.len();

    let propfind = "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\"><d:prop><d:getcontentlength/></d:prop></d:propfind>";
    let r = app
        .dav("PROPFIND", "/dav/files/meter/", "meter", PASSWORD)
        .header("depth", "1")
        .body(propfind)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 207);
    bytes_in += propfind.len();
    bytes_out += r.bytes().await.unwrap().len();

    let login = json!({"username": "meter", "password": "not-the-password"}).to_string();
    let r = app
        .client
        .post(app.url("/api/auth/login"))
        .header("content-type", "application/json")
        .body(login.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    bytes_in += login.len();
    bytes_out += r.bytes().await.unwrap().len();

    let (m1, _) = scrape(&app).await;
    let before = m0.series("cloudvault_http_requests_total");
    let after = m1.series("cloudvault_http_requests_total");
    let mut delta = BTreeMap::new();
    for (labels, v) in &after {
        let d = v - before.get(labels).copied().unwrap_or(0.0);
        if d != 0.0 {
            let get = |k: &str| labels.iter().find(|(n, _)| n == k).unwrap().1.clone();
            delta.insert((get("method"), get("route"), get("status")), d);
        }
    }
    let expected: BTreeMap<(String, String, String), f64> = [
        ("GET", "/metrics", "200", 1.0),
        ("GET", "/api/auth/me", "200", 3.0),
        ("GET", "/api/files/{id}", "404", 1.0),
        ("GET", "/api/{unmatched}", "404", 1.0),
        ("PUT", "/dav/files", "201", 1.0),
        ("POST", "/api/files/upload", "201", 1.0),
        ("GET", "/api/files/{id}/download", "200", 1.0),
        ("PROPFIND", "/dav/files", "207", 1.0),
        ("POST", "/api/auth/login", "401", 1.0),
    ]
    .into_iter()
    .map(|(m, r, s, n)| ((m.to_string(), r.to_string(), s.to_string()), n))
    .collect();
    assert_eq!(delta, expected);

    let diff = |name: &str, labels: &[(&str, &str)]| {
        m1.get(name, labels).unwrap_or(0.0) - m0.get(name, labels).unwrap_or(0.0)
    };
    assert_eq!(
        diff("cloudvault_http_request_bytes_total", &[]),
        bytes_in as f64
    );
    assert_eq!(
        diff("cloudvault_http_response_bytes_total", &[]),
        bytes_out as f64
    );
    for (family, door) in [
        ("cloudvault_upload_duration_seconds", "api"),
        ("cloudvault_upload_duration_seconds", "webdav"),
        ("cloudvault_download_duration_seconds", "api"),
    ] {
        assert_eq!(
            diff(&format!("{family}_count"), &[("door", door)]),
            1.0,
            "{family} {door}"
        );
        assert!(m1.get(&format!("{family}_sum"), &[("door", door)]).unwrap() > 0.0);
    }
    assert_eq!(
        m1.get(
            "cloudvault_download_duration_seconds_count",
            &[("door", "webdav")]
        ),
        None,
        "a PROPFIND is not a download"
    );
    // Gauges read at scrape time.
    assert_eq!(m1.get("cloudvault_users", &[]), Some(1.0));
    assert_eq!(
        m1.get("cloudvault_used_bytes", &[]),
        Some((1000 + content.len()) as f64)
    );
    assert!(
        m1.get("cloudvault_volume_free_bytes", &[("volume", "default")])
            .unwrap()
            > 0.0
    );
    assert_eq!(
        m1.get("cloudvault_volume_online", &[("volume", "default")]),
        Some(1.0)
    );
    assert!(m1.get("process_resident_memory_bytes", &[]).unwrap() > 1e6);
    assert_eq!(m1.types["cloudvault_jobs"], "gauge");
    let queued: f64 = m1
        .series("cloudvault_jobs")
        .iter()
        .filter(|(l, _)| l.iter().any(|(k, v)| k == "kind" && v == "media"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(queued, 1.0, "one media job for the picture, in some state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_details_are_for_this_machine_or_an_admin() {
    let app = spawn_app().await;
    let boss = app.admin("boss").await;
    let u = app.register("plain").await;
    let proxied = |req: reqwest::RequestBuilder| req.header("x-forwarded-for", "203.0.113.9");

    // Through a proxy (Caddy, cloudflared add X-Forwarded-For): no metrics without credentials.
    let r = proxied(app.client.get(app.url("/metrics")))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let r = proxied(app.client.get(app.url("/metrics")).bearer_auth(&u.token))
        .send()
        .await
        .unwrap();
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;
    let r = proxied(app.client.get(app.url("/metrics")).bearer_auth(&boss.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    parse_exposition(&r.text().await.unwrap()).unwrap();
    // An admin's app password, as a Prometheus scrape config holds it.
    let created = app
        .post_json(
            "/api/auth/app-passwords",
            Some(&boss.token),
            json!({"name": "prometheus"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let secret = created.json::<Value>().await.unwrap()["password"]
        .as_str()
        .unwrap()
        .to_string();
    let r = proxied(
        app.client
            .get(app.url("/metrics"))
            .basic_auth("boss", Some(&secret)),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = proxied(
        app.client
            .get(app.url("/metrics"))
            .basic_auth("boss", Some("wrong")),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Health: everyone learns the status, only this machine or an admin the details.
    let r = proxied(app.client.get(app.url("/healthz")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    let r = proxied(app.client.get(app.url("/healthz")).bearer_auth(&boss.token))
        .send()
        .await
        .unwrap();
    let h: Value = r.json().await.unwrap();
    assert_eq!(h["database"]["ok"], true);
    assert_eq!(h["volumes"][0]["name"], "default");
    let local: Value = app.health().await;
    assert_eq!(local["status"], "ok");
    assert!(local["volumes"].is_array());
}

fn three_volumes(c: &mut cloudvault::config::Config, dir: &std::path::Path) {
    for name in ["usb1", "usb2"] {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        let mut v = VolumeConfig::new(name, dir.join(name));
        v.low_space = ByteSize(0);
        c.volumes.push(v);
    }
    // A volume whose threshold is above any disk's size: always "low".
    std::fs::create_dir_all(dir.join("tight")).unwrap();
    let mut v = VolumeConfig::new("tight", dir.join("tight"));
    v.low_space = ByteSize(1 << 62);
    v.enabled = false;
    c.volumes.push(v);
    c.placement = Placement::FirstFit;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_reports_a_volume_whose_marker_vanished_and_low_space() {
    let app = spawn_app_with(three_volumes).await;
    let root = app.dir.path().to_path_buf();
    let health = || async {
        let r = app.client.get(app.url("/healthz")).send().await.unwrap();
        let code = r.status();
        (code, r.json::<Value>().await.unwrap())
    };
    let vol = |h: &Value, name: &str| {
        h["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap()
            .clone()
    };

    // The disabled, never-used "tight" volume is not initialised: offline from the start.
    let (code, h) = health().await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(vol(&h, "usb1")["online"], true);
    assert!(vol(&h, "usb1")["free_bytes"].as_u64().unwrap() > 0);
    assert!(vol(&h, "usb1")["total_bytes"].as_u64().unwrap() > 0);
    assert_eq!(vol(&h, "usb1")["low_space"], false);
    assert_eq!(vol(&h, "usb1")["read_only"], false);
    assert_eq!(vol(&h, "tight")["low_space_bytes"], 1u64 << 62);

    // usb1's marker disappears (the disk was unplugged, an empty mount point is left).
    std::fs::remove_file(root.join("usb1/.cloudvault-volume")).unwrap();
    let (code, h) = health().await;
    assert_eq!(code, StatusCode::OK, "usb2 still takes files");
    assert_eq!(h["status"], "degraded");
    let usb1 = vol(&h, "usb1");
    assert_eq!(usb1["online"], false);
    assert!(
        usb1["problem"].as_str().unwrap().contains("marker"),
        "{usb1}"
    );
    assert_eq!(usb1["free_bytes"], Value::Null);
    let problems = h["problems"].to_string();
    assert!(problems.contains("volume usb1 is offline"), "{problems}");
    // The admin API shows the same, with the threshold.
    let boss = app.admin("boss").await;
    let vols = app.get_json("/api/admin/volumes", &boss.token).await;
    let usb2 = vols["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "usb2")
        .unwrap()
        .clone();
    assert_eq!(usb2["low_space_bytes"], 0);
    assert_eq!(usb2["low_space"], false);
    // ... and the metrics.
    let (m, _) = scrape(&app).await;
    assert_eq!(
        m.get("cloudvault_volume_online", &[("volume", "usb1")]),
        Some(0.0)
    );
    assert_eq!(
        m.get("cloudvault_volume_free_bytes", &[("volume", "usb1")]),
        None
    );

    // usb2 goes too: nothing can be stored, the server is down.
    std::fs::remove_file(root.join("usb2/.cloudvault-volume")).unwrap();
    let (code, h) = health().await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(h["status"], "down");
    // Plugged back in: healthy again (the disabled, uninitialised volume still shows).
    for name in ["usb1", "usb2"] {
        let marker = {
            let c = app.app.db.conn().unwrap();
            cloudvault::db::volumes::find_volume_marker(&c, name)
                .unwrap()
                .unwrap()
        };
        std::fs::write(root.join(name).join(".cloudvault-volume"), marker).unwrap();
    }
    let (code, h) = health().await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(vol(&h, "usb1")["online"], true);
    assert_eq!(vol(&h, "usb2")["online"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_space_threshold_shows_in_health() {
    let app = spawn_app_with(|c, dir| {
        std::fs::create_dir_all(dir.join("small")).unwrap();
        let mut v = VolumeConfig::new("small", dir.join("small"));
        v.low_space = ByteSize(1 << 62);
        c.volumes.push(v);
    })
    .await;
    let h: Value = app.health().await;
    assert_eq!(h["status"], "degraded");
    assert_eq!(h["volumes"][0]["low_space"], true);
    assert!(
        h["problems"][0]
            .as_str()
            .unwrap()
            .contains("volume small is low on space"),
        "{h}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_log_records_sign_ins_and_admin_actions() {
    let app = spawn_app().await;
    let boss = app.admin("boss").await; // a sign-in through the API
    let bob = app.register("bob").await;
    let fail = |name: &'static str| {
        app.post_json(
            "/api/auth/login",
            None,
            json!({"username": name, "password": "wrong-password-1"}),
        )
    };
    assert_eq!(fail("bob").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        fail("Mallory\u{7}").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .client
        .put(app.url(&format!("/api/admin/users/{}/quota", bob.id)))
        .bearer_auth(&boss.token)
        .json(&json!({"quota": "2GB"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.set_disabled(&boss.token, &bob.id, true).await;
    let r = app
        .post_json(
            "/api/admin/invite-codes",
            Some(&boss.token),
            json!({"count": 2}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .dav("PROPFIND", "/dav/files/boss/", "boss", "not-it")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The CLI, beside the running server.
    let out = crate::crash::cli(&app.config.data_dir)
        .args(["admin", "quota", "set", "bob", "3GB"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    // Not for users.
    let r = app.get("/api/admin/audit", &bob.token).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "bob is disabled");
    let other = app.register("other").await;
    let r = app.get("/api/admin/audit", &other.token).await;
    assert_error(r, StatusCode::FORBIDDEN, "forbidden").await;

    let log = app.get_json("/api/admin/audit", &boss.token).await;
    let entries = log["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "register", // other
            "quota-set",
            "webdav-login-failed",
            "invites-create",
            "user-disable",
            "quota-set",
            "login-failed",
            "login-failed",
            "register",
            "login",
        ]
    );
    let e = |i: usize| entries[i].clone();
    assert_eq!(e(1)["actor"]["username"], "cli");
    assert_eq!(e(1)["address"], Value::Null);
    assert_eq!(e(1)["target"]["username"], "bob");
    assert_eq!(e(1)["detail"]["quota_bytes"], 3_000_000_000u64);
    assert_eq!(e(2)["actor"]["username"], "boss");
    assert_eq!(e(3)["detail"]["count"], 2);
    assert_eq!(e(4)["actor"]["id"], boss.id.as_str());
    assert_eq!(e(4)["target"]["id"], bob.id.as_str());
    assert_eq!(e(4)["address"], "127.0.0.1");
    assert_eq!(e(5)["detail"]["quota_bytes"], 2_000_000_000u64);
    // A failed sign-in names what was typed (control characters dropped), no account id.
    assert_eq!(e(6)["actor"]["username"], "Mallory");
    assert_eq!(e(6)["actor"]["id"], Value::Null);
    assert_eq!(e(6)["detail"]["reason"], "unauthorized");
    assert_eq!(e(7)["actor"]["username"], "bob");
    assert_eq!(e(9)["actor"]["id"], boss.id.as_str());
    assert!(e(9)["at"].as_str().unwrap().ends_with('Z'));

    // Pages, and filters.
    let page = app.get_json("/api/admin/audit?limit=4", &boss.token).await;
    assert_eq!(page["entries"].as_array().unwrap().len(), 4);
    let next = page["next_before"].as_i64().unwrap();
    let page2 = app
        .get_json(
            &format!("/api/admin/audit?limit=4&before={next}"),
            &boss.token,
        )
        .await;
    assert_eq!(page2["entries"][0]["action"], "user-disable");
    let failed = app
        .get_json("/api/admin/audit?action=login-failed", &boss.token)
        .await;
    assert_eq!(failed["entries"].as_array().unwrap().len(), 2);
    assert_eq!(failed["next_before"], Value::Null);
    let about_bob = app.get_json("/api/admin/audit?user=BOB", &boss.token).await;
    assert_eq!(about_bob["entries"].as_array().unwrap().len(), 5);
    let r = app.get("/api/admin/audit?limit=0", &boss.token).await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid-query").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_routes_are_limited_per_address() {
    let app = spawn_app_with(|c, _| c.http.auth_requests_per_minute = 5).await;
    let u = app.register("limited").await; // 1 of 5 (register hashes a password)
    let login = |from: Option<&'static str>| {
        let mut r = app
            .client
            .post(app.url("/api/auth/login"))
            .json(&json!({"username": "limited", "password": PASSWORD}));
        if let Some(ip) = from {
            r = r.header("x-forwarded-for", ip);
        }
        r.send()
    };
    for _ in 0..4 {
        assert_eq!(login(None).await.unwrap().status(), StatusCode::OK);
    }
    let r = login(None).await.unwrap();
    assert!(r.headers().contains_key("retry-after"));
    assert_error(r, StatusCode::TOO_MANY_REQUESTS, "rate-limited").await;
    // Another client behind the trusted proxy has its own budget.
    assert_eq!(
        login(Some("198.51.100.7")).await.unwrap().status(),
        StatusCode::OK
    );
    // Routes that hash no password are not limited.
    for _ in 0..10 {
        assert_eq!(app.me(&u.token).await["username"], "limited");
    }
    let r = app
        .post_json(
            "/api/auth/refresh",
            None,
            json!({"refresh_token": u.refresh}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_headers_and_sandboxed_dav_files() {
    let app = spawn_app().await;
    let u = app.register("heads").await;
    let r = app.get("/api/auth/me", &u.token).await;
    let h = r.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let page = app.client.get(app.url("/")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");

    // An HTML file with a script, opened from the WebDAV door in a browser: sandboxed.
    let evil = b"<html><script>fetch('/api/auth/me')</script></html>".to_vec();
    let r = app
        .dav("PUT", "/dav/files/heads/evil.html", "heads", PASSWORD)
        .body(evil.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .dav("GET", "/dav/files/heads/evil.html", "heads", PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("sandbox"), "{csp}");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    // The API door: an attachment, sandboxed too.
    let f = app
        .upload_one(
            &u.token,
            "",
            "pic.svg",
            b"<svg onload=\"alert(1)\"/>".to_vec(),
        )
        .await;
    let r = app
        .get(
            &format!(
                "/api/files/{}/download?inline=true",
                f["id"].as_str().unwrap()
            ),
            &u.token,
        )
        .await;
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
}

/// A client that goes away while its request waits (here: for the database's write lock, held
/// by the test) leaves no request counted in flight: the server drops the request's future.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_dropped_by_their_client_leave_the_in_flight_gauge() {
    use std::sync::atomic::Ordering;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    let u = app.register("leaver").await;
    let in_flight = || app.app.ops.metrics.in_flight.load(Ordering::Relaxed);
    let lock = app.app.db.conn().unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    for i in 0..3 {
        let mut s = tokio::net::TcpStream::connect(app.host()).await.unwrap();
        let head = format!(
            "MKCOL /dav/files/leaver/gone{i}/ HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nContent-Length: 0\r\n\r\n",
            app.host(),
            basic_header(&u.username, PASSWORD)
        );
        s.write_all(head.as_bytes()).await.unwrap();
        wait_until("the request is in flight", Duration::from_secs(10), || {
            in_flight() >= 1
        })
        .await;
        drop(s);
        wait_until(
            "the dropped request leaves the gauge",
            Duration::from_secs(10),
            || in_flight() == 0,
        )
        .await;
    }
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    app.assert_usage_consistent(&u).await;
}
