//! `cloudvault model fetch`: downloads a CLIP model folder (Immich's Hugging Face exports) with
//! checksums, so a half-downloaded or corrupted model never lands where the server loads it.
//!
//! - URL of each file: `<base>/<name>/resolve/main/<file>` (Hugging Face), or, when the base URL
//!   contains `{file}`, the base with `{name}` and `{file}` filled in (any plain mirror).
//! - Checksums come from the server: Hugging Face answers a large (LFS) file with a redirect that
//!   carries `X-Linked-Etag` = the file's sha256 and `X-Linked-Size`; a small file's `ETag` is its
//!   git blob sha1. Redirects are followed by hand so those headers are seen. A file without any
//!   checksum is refused unless `allow_unverified` is set.
//! - Files go to `<dest>.download/` first (`*.part` while streaming, resumed with a `Range`
//!   request after an interruption), are verified there, and are moved into `<dest>` only when
//!   every file is good. A file already in `<dest>` with the right checksum is not downloaded
//!   again, so re-running updates only what changed.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, RANGE};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::ModelFiles;

/// Where models come from by default: Immich's CLIP exports on Hugging Face.
pub const DEFAULT_BASE_URL: &str = "https://huggingface.co/immich-app";

/// Other CLIP models Immich publishes in the same layout (any of them works with `model fetch NAME`).
pub const KNOWN_MODELS: &[(&str, &str)] = &[
    (
        "ViT-B-32__openai",
        "default: OpenAI CLIP ViT-B/32, 512-dim, ~600 MB; fast on a small CPU",
    ),
    (
        "ViT-B-16__openai",
        "OpenAI ViT-B/16, 512-dim, better, ~4x slower per picture",
    ),
    (
        "ViT-B-32__laion2b-s34b-b79k",
        "OpenCLIP ViT-B/32 trained on LAION-2B, 512-dim",
    ),
    (
        "ViT-L-14__openai",
        "OpenAI ViT-L/14, 768-dim, much better and much slower",
    ),
];

#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub name: String,
    pub dest: PathBuf,
    pub base_url: String,
    pub allow_unverified: bool,
    /// Progress lines on stderr.
    pub progress: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileOutcome {
    Downloaded { bytes: u64 },
    AlreadyPresent,
}

#[derive(Debug)]
pub struct FetchReport {
    pub dest: PathBuf,
    pub files: Vec<(String, FileOutcome)>,
    /// Files accepted without a checksum (only with `allow_unverified`).
    pub unverified: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    Sha256(String),
    /// Git blob id: sha1 over `blob <len>\0` followed by the bytes.
    GitSha1(String),
    Unknown,
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expected::Sha256(h) => write!(f, "sha256 {h}"),
            Expected::GitSha1(h) => write!(f, "git sha1 {h}"),
            Expected::Unknown => f.write_str("no checksum"),
        }
    }
}

/// The URL of one file of the model.
pub fn file_url(base: &str, name: &str, file: &str) -> String {
    if base.contains("{file}") {
        base.replace("{name}", name).replace("{file}", file)
    } else {
        format!("{}/{name}/resolve/main/{file}", base.trim_end_matches('/'))
    }
}

/// The verified model between download and install: each file in the staging folder when it was
/// downloaded, else already in the destination.
pub struct Staged<'a> {
    pub staging: &'a Path,
    pub files: ModelFiles,
}

/// Downloads every file of the model into `opts.dest` (see the module docs).
pub async fn fetch_model(opts: &FetchOptions) -> anyhow::Result<FetchReport> {
    fetch_model_then(opts, |_| Ok(Vec::new())).await
}

/// [`fetch_model`], calling `prepare` once every file is verified and before any is put in place:
/// it may write more files into the staging folder (the int8 copy, `weights.json`) and returns
/// their relative paths, which are installed first, so the model is complete (the visual encoder,
/// the last file, in place) only with them.
pub async fn fetch_model_then(
    opts: &FetchOptions,
    prepare: impl FnOnce(&Staged) -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<FetchReport> {
    if opts.name.is_empty() || opts.name.contains(['/', '\\']) || opts.name.starts_with('.') {
        bail!(
            "model name {:?}: give a folder name such as ViT-B-32__openai",
            opts.name
        );
    }
    let staging = staging_dir(&opts.dest);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("cloudvault/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(120))
        .build()?;
    let mut files = Vec::new();
    let mut unverified = Vec::new();
    for rel in ModelFiles::RELATIVE {
        let url = file_url(&opts.base_url, &opts.name, rel);
        let (outcome, verified) = fetch_one(&client, &url, rel, &opts.dest, &staging, opts)
            .await
            .with_context(|| format!("{rel} (from {url})"))?;
        files.push((rel.to_string(), outcome));
        if !verified {
            unverified.push(rel.to_string());
        }
    }
    let staged = {
        let at = |rel: &str| {
            let s = staging.join(rel);
            if s.is_file() { s } else { opts.dest.join(rel) }
        };
        ModelFiles {
            config: at("config.json"),
            visual: at("visual/model.onnx"),
            preprocess: at("visual/preprocess_cfg.json"),
            textual: at("textual/model.onnx"),
            tokenizer: at("textual/tokenizer.json"),
            tokenizer_config: at("textual/tokenizer_config.json"),
        }
    };
    let extra = prepare(&Staged {
        staging: &staging,
        files: staged,
    })?;
    for rel in &extra {
        let to = opts.dest.join(rel);
        std::fs::create_dir_all(to.parent().unwrap())?;
        std::fs::rename(staging.join(rel), &to)
            .with_context(|| format!("moving {rel} into {}", opts.dest.display()))?;
    }
    // Everything verified: move into place. Each rename is atomic; the model id (a hash of both
    // encoders) tells a reader that caught a half-moved folder that something changed.
    for (rel, outcome) in &files {
        if *outcome == FileOutcome::AlreadyPresent {
            continue;
        }
        let to = opts.dest.join(rel);
        std::fs::create_dir_all(to.parent().unwrap())?;
        std::fs::rename(staging.join(rel), &to)
            .with_context(|| format!("moving {rel} into {}", opts.dest.display()))?;
    }
    sync_dir(&opts.dest);
    let _ = std::fs::remove_dir_all(&staging);
    Ok(FetchReport {
        dest: opts.dest.clone(),
        files,
        unverified,
    })
}

/// `<parent>/<name>.download`, beside the destination so the final renames stay on one filesystem.
pub fn staging_dir(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    dest.with_file_name(format!("{name}.download"))
}

async fn fetch_one(
    client: &reqwest::Client,
    url: &str,
    rel: &str,
    dest: &Path,
    staging: &Path,
    opts: &FetchOptions,
) -> anyhow::Result<(FileOutcome, bool)> {
    let part = staging.join(format!("{rel}.part"));
    let done = staging.join(rel);
    std::fs::create_dir_all(part.parent().unwrap())?;
    let mut resumed_attempt_failed = false;
    loop {
        let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        let (resp, expected, size) =
            get_following_redirects(client, url, (have > 0).then_some(have)).await?;
        if expected == Expected::Unknown && !opts.allow_unverified {
            bail!(
                "the server gave no checksum for this file (no X-Linked-Etag or ETag with a sha256 / git sha1); \
                 refusing it. Use --allow-unverified to accept unverified files from a mirror you trust"
            );
        }
        // Already in place (a re-run), or downloaded and verified by an interrupted run?
        if expected != Expected::Unknown {
            if dest.join(rel).is_file() && verify_file(&dest.join(rel), &expected).await?.is_ok() {
                if opts.progress {
                    eprintln!("{rel}: already present and verified");
                }
                return Ok((FileOutcome::AlreadyPresent, true));
            }
            if done.is_file() && verify_file(&done, &expected).await?.is_ok() {
                return Ok((
                    FileOutcome::Downloaded {
                        bytes: std::fs::metadata(&done)?.len(),
                    },
                    true,
                ));
            }
        }
        let written = download(client, url, resp, &part, have, size, rel, opts.progress).await?;
        match verify_file(&part, &expected).await? {
            Ok(()) => {
                std::fs::rename(&part, &done)?;
                return Ok((
                    FileOutcome::Downloaded { bytes: written },
                    expected != Expected::Unknown,
                ));
            }
            Err(got) => {
                // Never keep bytes that failed the check. A resumed file may have changed on the
                // server meanwhile: one fresh attempt, then give up.
                std::fs::remove_file(&part).ok();
                if have > 0 && !resumed_attempt_failed {
                    resumed_attempt_failed = true;
                    if opts.progress {
                        eprintln!(
                            "{rel}: the resumed download does not match its checksum; starting over"
                        );
                    }
                    continue;
                }
                bail!(
                    "checksum mismatch: the server announced {expected}, the downloaded file has {got}; nothing was installed"
                );
            }
        }
    }
}

/// Streams `resp` into `part` (appending after `have` bytes on a 206), returns the file's length.
#[allow(clippy::too_many_arguments)]
async fn download(
    client: &reqwest::Client,
    url: &str,
    mut resp: reqwest::Response,
    part: &Path,
    have: u64,
    size: Option<u64>,
    rel: &str,
    show: bool,
) -> anyhow::Result<u64> {
    let mut open = tokio::fs::OpenOptions::new();
    let (mut file, mut written) = match resp.status() {
        StatusCode::PARTIAL_CONTENT if have > 0 => (open.append(true).open(part).await?, have),
        StatusCode::RANGE_NOT_SATISFIABLE => {
            // The part is already as long as the file, or longer: start over.
            resp = get_following_redirects(client, url, None).await?.0;
            (
                open.write(true)
                    .create(true)
                    .truncate(true)
                    .open(part)
                    .await?,
                0,
            )
        }
        _ => (
            open.write(true)
                .create(true)
                .truncate(true)
                .open(part)
                .await?,
            0,
        ),
    };
    if !resp.status().is_success() {
        bail!("HTTP {}", resp.status());
    }
    let total = size.or_else(|| resp.content_length().map(|l| l + written));
    let mut progress = Progress::new(rel, total, written, show);
    while let Some(chunk) = resp
        .chunk()
        .await
        .context("download interrupted (run the command again to resume)")?
    {
        file.write_all(&chunk).await?;
        written += chunk.len() as u64;
        progress.update(written);
    }
    file.flush().await?;
    file.sync_all().await?;
    progress.finish(written);
    if let Some(t) = total.filter(|t| *t != written) {
        bail!("download ended after {written} of {t} bytes (run the command again to resume)");
    }
    Ok(written)
}

/// GET `url`, following up to 10 redirects by hand, gathering the checksum headers of every hop.
async fn get_following_redirects(
    client: &reqwest::Client,
    url: &str,
    range_from: Option<u64>,
) -> anyhow::Result<(reqwest::Response, Expected, Option<u64>)> {
    let mut url = reqwest::Url::parse(url).with_context(|| format!("bad URL {url}"))?;
    let mut expected = Expected::Unknown;
    let mut size = None;
    for _ in 0..10 {
        let mut req = client.get(url.clone());
        if let Some(from) = range_from {
            req = req.header(RANGE, format!("bytes={from}-"));
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach {}", url.host_str().unwrap_or("the server")))?;
        let (e, s) = checksum_headers(resp.headers());
        if expected == Expected::Unknown {
            expected = e;
        }
        size = size.or(s);
        if resp.status().is_redirection() {
            let loc = resp
                .headers()
                .get(LOCATION)
                .and_then(|l| l.to_str().ok())
                .context("redirect without Location")?;
            url = url
                .join(loc)
                .with_context(|| format!("bad redirect {loc}"))?;
            continue;
        }
        if resp.status() == StatusCode::NOT_FOUND {
            bail!("not found (HTTP 404): is the model name right?");
        }
        if !resp.status().is_success() && resp.status() != StatusCode::RANGE_NOT_SATISFIABLE {
            bail!("HTTP {}", resp.status());
        }
        return Ok((resp, expected, size));
    }
    bail!("too many redirects")
}

fn checksum_headers(h: &HeaderMap) -> (Expected, Option<u64>) {
    let get = |name: &str| {
        h.get(name).and_then(|v| v.to_str().ok()).map(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_ascii_lowercase()
        })
    };
    let size = get("x-linked-size").and_then(|s| s.parse().ok());
    let is_hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(e) = get("x-linked-etag").filter(|e| is_hex(e, 64)) {
        return (Expected::Sha256(e), size);
    }
    match get("etag") {
        Some(e) if is_hex(&e, 64) => (Expected::Sha256(e), size),
        Some(e) if is_hex(&e, 40) => (Expected::GitSha1(e), size),
        _ => (Expected::Unknown, size),
    }
}

/// Ok(()) when the file matches; Err(description of what it has) when not. Unknown matches anything.
async fn verify_file(path: &Path, expected: &Expected) -> anyhow::Result<Result<(), String>> {
    let path = path.to_path_buf();
    let expected = expected.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Result<(), String>> {
        let got = match &expected {
            Expected::Unknown => return Ok(Ok(())),
            Expected::Sha256(_) => Expected::Sha256(hash_file::<Sha256>(&path, None)?),
            Expected::GitSha1(_) => {
                let len = std::fs::metadata(&path)?.len();
                Expected::GitSha1(hash_file::<Sha1>(
                    &path,
                    Some(format!("blob {len}\0").as_bytes()),
                )?)
            }
        };
        Ok(if got == expected {
            Ok(())
        } else {
            Err(got.to_string())
        })
    })
    .await?
}

fn hash_file<D: Digest>(path: &Path, prefix: Option<&[u8]>) -> anyhow::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = D::new();
    if let Some(p) = prefix {
        h.update(p);
    }
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn sync_dir(dir: &Path) {
    for d in [dir.to_path_buf(), dir.join("visual"), dir.join("textual")] {
        if let Ok(f) = std::fs::File::open(&d) {
            let _ = f.sync_all();
        }
    }
}

/// `visual/model.onnx  120.5/351.2 MB  34%  41.3 MB/s` on stderr: redrawn in place on a
/// terminal, one line per 10% otherwise (logs, CI).
struct Progress {
    rel: String,
    total: Option<u64>,
    start: Instant,
    start_bytes: u64,
    last: Instant,
    last_decile: u64,
    tty: bool,
    on: bool,
}

impl Progress {
    fn new(rel: &str, total: Option<u64>, already: u64, on: bool) -> Progress {
        let now = Instant::now();
        if on && already > 0 {
            eprintln!("{rel}: resuming after {:.1} MB", already as f64 / 1e6);
        }
        Progress {
            rel: rel.to_string(),
            total,
            start: now,
            start_bytes: already,
            last: now,
            last_decile: 0,
            tty: std::io::stderr().is_terminal(),
            on,
        }
    }

    fn line(&self, bytes: u64) -> String {
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        let speed = (bytes - self.start_bytes) as f64 / 1e6 / secs;
        match self.total {
            Some(t) if t >= 1_000_000 => format!(
                "{}  {:.1}/{:.1} MB  {:>3}%  {speed:.1} MB/s",
                self.rel,
                bytes as f64 / 1e6,
                t as f64 / 1e6,
                bytes * 100 / t
            ),
            _ if bytes < 1_000_000 => format!("{}  {:.1} KB", self.rel, bytes as f64 / 1e3),
            _ => format!(
                "{}  {:.1} MB  {speed:.1} MB/s",
                self.rel,
                bytes as f64 / 1e6
            ),
        }
    }

    fn update(&mut self, bytes: u64) {
        if !self.on {
            return;
        }
        if self.tty {
            if self.last.elapsed() >= Duration::from_millis(200) {
                self.last = Instant::now();
                eprint!("\r{}\x1b[K", self.line(bytes));
                let _ = std::io::stderr().flush();
            }
        } else if let Some(t) = self.total.filter(|t| *t >= 1_000_000) {
            let decile = bytes * 10 / t;
            if decile > self.last_decile && decile < 10 {
                self.last_decile = decile;
                eprintln!("{}", self.line(bytes));
            }
        }
    }

    fn finish(&self, bytes: u64) {
        if self.on {
            eprintln!("{}{}", if self.tty { "\r" } else { "" }, self.line(bytes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_hugging_face_or_a_template() {
        assert_eq!(
            file_url(DEFAULT_BASE_URL, "ViT-B-32__openai", "visual/model.onnx"),
            "https://huggingface.co/immich-app/ViT-B-32__openai/resolve/main/visual/model.onnx"
        );
        assert_eq!(
            file_url("http://mirror/models/{name}/{file}", "m", "config.json"),
            "http://mirror/models/m/config.json"
        );
    }

    #[test]
    fn checksum_headers_are_read_like_huggingface_sends_them() {
        let mut h = HeaderMap::new();
        h.insert(
            "etag",
            "W/\"0123456789abcdef0123456789abcdef01234567\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            checksum_headers(&h).0,
            Expected::GitSha1("0123456789abcdef0123456789abcdef01234567".into())
        );
        let sha = "a".repeat(64);
        h.insert("x-linked-etag", format!("\"{sha}\"").parse().unwrap());
        h.insert("x-linked-size", "351000000".parse().unwrap());
        assert_eq!(
            checksum_headers(&h),
            (Expected::Sha256(sha), Some(351_000_000))
        );
        let mut h = HeaderMap::new();
        h.insert(
            "etag",
            "\"5d41402abc4b2a76b9719d911017c592\"".parse().unwrap(),
        ); // an MD5: not ours
        assert_eq!(checksum_headers(&h).0, Expected::Unknown);
    }

    #[test]
    fn git_blob_sha1_matches_git() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello\n").unwrap();
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            hash_file::<Sha1>(&p, Some(b"blob 6\0")).unwrap(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }
}
