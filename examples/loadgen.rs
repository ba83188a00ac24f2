//! Load driver for `bench/load.sh`: N concurrent clients against a CloudVault on loopback, for a
//! fixed time, mixing folder listings, downloads, small uploads (overwrites, so the store stays
//! bounded) and WebDAV PROPFINDs. Every answer is checked (status, and the bytes of downloads);
//! prints latency percentiles per operation, throughput, errors, and `RESULT key=value` lines.
//!
//! cargo run --release --example loadgen -- --base http://127.0.0.1:PORT --users alice,bob
//!     --password PW [--clients 200] [--seconds 60] [--files 40] [--seed-size 65536]
//!     [--mix list=35,download=30,upload=15,propfind=20]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    List,
    Download,
    Upload,
    Propfind,
}

const OPS: [Op; 4] = [Op::List, Op::Download, Op::Upload, Op::Propfind];

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::List => "list",
            Op::Download => "download",
            Op::Upload => "upload",
            Op::Propfind => "propfind",
        }
    }
}

struct Args {
    base: String,
    users: Vec<String>,
    password: String,
    clients: usize,
    seconds: u64,
    files: usize,
    seed_size: usize,
    mix: Vec<(Op, u32)>,
}

fn parse_args() -> Args {
    let mut a = Args {
        base: String::new(),
        users: Vec::new(),
        password: String::new(),
        clients: 200,
        seconds: 60,
        files: 40,
        seed_size: 64 << 10,
        mix: vec![
            (Op::List, 35),
            (Op::Download, 30),
            (Op::Upload, 15),
            (Op::Propfind, 20),
        ],
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--base" => a.base = v().trim_end_matches('/').to_string(),
            "--users" => a.users = v().split(',').map(str::to_string).collect(),
            "--password" => a.password = v(),
            "--clients" => a.clients = v().parse().expect("--clients N"),
            "--seconds" => a.seconds = v().parse().expect("--seconds N"),
            "--files" => a.files = v().parse().expect("--files N"),
            "--seed-size" => a.seed_size = v().parse().expect("--seed-size BYTES"),
            "--mix" => {
                a.mix = v()
                    .split(',')
                    .map(|p| {
                        let (name, w) = p.split_once('=').expect("--mix op=weight,...");
                        let op = OPS
                            .into_iter()
                            .find(|o| o.name() == name)
                            .unwrap_or_else(|| panic!("unknown op {name}"));
                        (op, w.parse().expect("weight"))
                    })
                    .collect()
            }
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(
        !a.users.is_empty() && !a.password.is_empty(),
        "--users and --password"
    );
    // Bounded and loopback only: this is a benchmark of this machine, never a load on others.
    let host = a
        .base
        .strip_prefix("http://")
        .expect("--base http://127.0.0.1:PORT")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let ip_part = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(&host);
    assert!(
        matches!(ip_part, "127.0.0.1" | "localhost" | "[::1]"),
        "loopback only, not {host}"
    );
    assert!(a.clients >= 1 && a.clients <= 1000, "--clients 1..=1000");
    assert!(a.seconds >= 1 && a.seconds <= 600, "--seconds 1..=600");
    a
}

/// xorshift: reproducible choices without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

struct Account {
    name: String,
    token: String,
    folder: String,
    uploads: String,
    /// (id, size) of the seeded files.
    files: Vec<(String, usize)>,
}

fn body(n: usize, seed: u64) -> Vec<u8> {
    let mut r = Rng(seed | 1);
    (0..n).map(|_| r.next() as u8).collect()
}

async fn login(c: &Client, base: &str, user: &str, password: &str) -> String {
    let r = c
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "login {user}");
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn mkdir(c: &Client, base: &str, token: &str, name: &str) -> String {
    let r = c
        .post(format!("{base}/api/files/folders"))
        .bearer_auth(token)
        .json(&serde_json::json!({"name": name}))
        .send()
        .await
        .unwrap();
    if r.status() == StatusCode::CONFLICT {
        // From an earlier run on the same data: find it.
        let list: Value = c
            .get(format!("{base}/api/files/?limit=1000"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        return list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    }
    assert_eq!(r.status(), StatusCode::CREATED, "mkdir {name}");
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn upload(
    c: &Client,
    base: &str,
    token: &str,
    folder: &str,
    name: &str,
    bytes: Vec<u8>,
) -> Result<String, String> {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    let r = c
        .post(format!(
            "{base}/api/files/upload?folder={folder}&on_conflict=overwrite"
        ))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .map_err(|e| format!("upload: {e}"))?;
    if r.status() != StatusCode::CREATED {
        return Err(format!("upload: {}", r.status()));
    }
    let v: Value = r.json().await.map_err(|e| format!("upload json: {e}"))?;
    Ok(v["files"][0]["id"].as_str().unwrap_or_default().to_string())
}

async fn seed(c: &Client, a: &Args, user: &str, idx: usize) -> Account {
    let token = login(c, &a.base, user, &a.password).await;
    let folder = mkdir(c, &a.base, &token, "load").await;
    let uploads = mkdir(c, &a.base, &token, "load-uploads").await;
    let mut files = Vec::new();
    for i in 0..a.files {
        // 4 KiB .. seed_size, and every tenth one 1 MiB: downloads of both kinds.
        let size = if i % 10 == 9 {
            1 << 20
        } else {
            4096 + (i * 7919) % a.seed_size.max(4097)
        };
        let id = upload(
            c,
            &a.base,
            &token,
            &folder,
            &format!("seed-{i:03}.bin"),
            body(size, (idx * 1000 + i) as u64),
        )
        .await
        .expect("seeding");
        files.push((id, size));
    }
    Account {
        name: user.to_string(),
        token,
        folder,
        uploads,
        files,
    }
}

#[derive(Default)]
struct Tally {
    /// per op: latencies in microseconds
    lat: [Vec<u32>; 4],
    errors: Vec<String>,
    bytes_down: u64,
    bytes_up: u64,
}

fn pick(mix: &[(Op, u32)], r: &mut Rng) -> Op {
    let total: u32 = mix.iter().map(|(_, w)| w).sum();
    let mut x = r.below(total as u64) as u32;
    for (op, w) in mix {
        if x < *w {
            return *op;
        }
        x -= w;
    }
    mix[0].0
}

#[allow(clippy::too_many_arguments)] // one request of the load mix: each argument is a different part of it
async fn one(
    c: &Client,
    base: &str,
    acc: &Account,
    password: &str,
    op: Op,
    r: &mut Rng,
    client: usize,
    t: &mut Tally,
) -> Result<(), String> {
    match op {
        Op::List => {
            let res = c
                .get(format!("{base}/api/files/?folder={}&limit=100", acc.folder))
                .bearer_auth(&acc.token)
                .send()
                .await
                .map_err(|e| format!("list: {e}"))?;
            if res.status() != StatusCode::OK {
                return Err(format!("list: {}", res.status()));
            }
            let v: Value = res.json().await.map_err(|e| format!("list json: {e}"))?;
            if v["items"].as_array().map(|a| a.len()).unwrap_or(0) < acc.files.len().min(100) {
                return Err("list: items missing".into());
            }
        }
        Op::Download => {
            let (id, size) = &acc.files[r.below(acc.files.len() as u64) as usize];
            let res = c
                .get(format!("{base}/api/files/{id}/download"))
                .bearer_auth(&acc.token)
                .send()
                .await
                .map_err(|e| format!("download: {e}"))?;
            if res.status() != StatusCode::OK {
                return Err(format!("download: {}", res.status()));
            }
            let b = res
                .bytes()
                .await
                .map_err(|e| format!("download body: {e}"))?;
            if b.len() != *size {
                return Err(format!("download: {} bytes, want {size}", b.len()));
            }
            t.bytes_down += b.len() as u64;
        }
        Op::Upload => {
            // Small files, overwriting one of ten names per client: the store stays bounded.
            let n = 1024 + r.below(63 * 1024) as usize;
            let name = format!("c{client:03}-{}.bin", r.below(10));
            upload(c, base, &acc.token, &acc.uploads, &name, body(n, r.next())).await?;
            t.bytes_up += n as u64;
        }
        Op::Propfind => {
            let res = c
                .request(
                    Method::from_bytes(b"PROPFIND").unwrap(),
                    format!("{base}/dav/files/{}/load/", acc.name),
                )
                .basic_auth(&acc.name, Some(password))
                .header("depth", "1")
                .body(
                    "<?xml version=\"1.0\"?><d:propfind xmlns:d=\"DAV:\"><d:prop><d:getcontentlength/>\
                     <d:getlastmodified/><d:resourcetype/><d:getetag/></d:prop></d:propfind>",
                )
                .send()
                .await
                .map_err(|e| format!("propfind: {e}"))?;
            if res.status().as_u16() != 207 {
                return Err(format!("propfind: {}", res.status()));
            }
            let text = res
                .text()
                .await
                .map_err(|e| format!("propfind body: {e}"))?;
            if text.matches("<D:response>").count() + text.matches("<d:response>").count()
                < acc.files.len() + 1
            {
                return Err("propfind: responses missing".into());
            }
        }
    }
    Ok(())
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let a = Arc::new(parse_args());
    let c = Client::builder()
        .pool_max_idle_per_host(a.clients)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();

    let accounts = seed_and_warm_up(&c, &a).await;
    let (all, elapsed) = run_clients(&c, &a, &accounts).await;
    print_report(&a, &all, elapsed);
    std::process::exit(if all.errors.is_empty() { 0 } else { 1 });
}

/// Seeds every user's files, then warms the server up.
async fn seed_and_warm_up(c: &Client, a: &Args) -> Vec<Arc<Account>> {
    let t0 = Instant::now();
    let mut accounts = Vec::new();
    for (i, u) in a.users.iter().enumerate() {
        accounts.push(Arc::new(seed(c, a, u, i).await));
    }
    eprintln!(
        "seeded {} users x {} files in {:.1}s",
        accounts.len(),
        a.files,
        t0.elapsed().as_secs_f64()
    );
    // One PROPFIND per user first, so the Basic-auth cache is warm (an argon2 check costs
    // ~50 ms: 200 clients would otherwise all pay it in the first second).
    for acc in &accounts {
        let mut t = Tally::default();
        one(
            c,
            &a.base,
            acc,
            &a.password,
            Op::Propfind,
            &mut Rng(7),
            0,
            &mut t,
        )
        .await
        .expect("warm-up PROPFIND");
    }
    accounts
}

/// Runs `a.clients` clients for `a.seconds`, printing progress; returns their merged tally and
/// the seconds they ran.
async fn run_clients(c: &Client, a: &Arc<Args>, accounts: &[Arc<Account>]) -> (Tally, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let done_ops = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..a.clients {
        let (a, c, stop, done_ops) = (a.clone(), c.clone(), stop.clone(), done_ops.clone());
        let acc = accounts[client % accounts.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut r = Rng(0x9e3779b97f4a7c15 ^ ((client as u64 + 1) * 0x2545f4914f6cdd1d));
            let mut t = Tally::default();
            while !stop.load(Ordering::Relaxed) {
                let op = pick(&a.mix, &mut r);
                let s = Instant::now();
                match one(&c, &a.base, &acc, &a.password, op, &mut r, client, &mut t).await {
                    Ok(()) => t.lat[op as usize]
                        .push(s.elapsed().as_micros().min(u32::MAX as u128) as u32),
                    Err(e) => t.errors.push(e),
                }
                done_ops.fetch_add(1, Ordering::Relaxed);
            }
            t
        }));
    }
    // Progress every 10 s (the script samples the server's memory beside it).
    let seconds = a.seconds;
    let progress = {
        let done_ops = done_ops.clone();
        tokio::spawn(async move {
            for s in (10..seconds).step_by(10) {
                tokio::time::sleep_until((start + Duration::from_secs(s)).into()).await;
                eprintln!("  {s:>3}s  {} requests", done_ops.load(Ordering::Relaxed));
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(a.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Tally::default();
    for t in tasks {
        let t = t.await.unwrap();
        for i in 0..4 {
            all.lat[i].extend_from_slice(&t.lat[i]);
        }
        all.errors.extend(t.errors);
        all.bytes_down += t.bytes_down;
        all.bytes_up += t.bytes_up;
    }
    progress.abort();
    let elapsed = start.elapsed().as_secs_f64();
    (all, elapsed)
}

/// The latency table, throughput, errors, and the `RESULT key=value` lines.
fn print_report(a: &Args, all: &Tally, elapsed: f64) {
    let mut total: Vec<u32> = Vec::new();
    println!(
        "{:<9} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "op", "count", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for op in OPS {
        let mut l = all.lat[op as usize].clone();
        l.sort_unstable();
        total.extend_from_slice(&l);
        println!(
            "{:<9} {:>8} {:>8.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            op.name(),
            l.len(),
            l.len() as f64 / elapsed,
            pct(&l, 0.5),
            pct(&l, 0.9),
            pct(&l, 0.99),
            pct(&l, 1.0)
        );
        println!("RESULT {}_count={}", op.name(), l.len());
        println!("RESULT {}_p99_ms={:.1}", op.name(), pct(&l, 0.99));
    }
    total.sort_unstable();
    println!(
        "{:<9} {:>8} {:>8.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
        "all",
        total.len(),
        total.len() as f64 / elapsed,
        pct(&total, 0.5),
        pct(&total, 0.9),
        pct(&total, 0.99),
        pct(&total, 1.0)
    );
    println!(
        "downloaded {:.1} MiB ({:.1} MiB/s), uploaded {:.1} MiB ({:.1} MiB/s) in {:.1} s with {} clients",
        all.bytes_down as f64 / 1048576.0,
        all.bytes_down as f64 / 1048576.0 / elapsed,
        all.bytes_up as f64 / 1048576.0,
        all.bytes_up as f64 / 1048576.0 / elapsed,
        elapsed,
        a.clients
    );
    println!("errors: {}", all.errors.len());
    let mut kinds: std::collections::BTreeMap<&str, usize> = Default::default();
    for e in &all.errors {
        *kinds.entry(e.as_str()).or_default() += 1;
    }
    for (e, n) in kinds.iter().take(10) {
        println!("  {n} x {e}");
    }
    println!("RESULT requests={}", total.len());
    println!("RESULT throughput_rps={:.1}", total.len() as f64 / elapsed);
    println!("RESULT p50_ms={:.1}", pct(&total, 0.5));
    println!("RESULT p99_ms={:.1}", pct(&total, 0.99));
    println!("RESULT errors={}", all.errors.len());
    println!("RESULT seconds={elapsed:.1}");
}
