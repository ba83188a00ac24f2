//! `cloudvault model ...` with the real binary: `status` on a missing or broken ONNX Runtime and a
//! missing model; `fetch` from a local server that answers like Hugging Face (LFS redirects with
//! X-Linked-Etag, ETag git sha1 on small files), including a corrupted file, an interrupted
//! download resumed with a Range request, a re-run, and a plain mirror without checksums.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::crash::cli;

const FILES: [&str; 6] = [
    "config.json",
    "visual/preprocess_cfg.json",
    "textual/tokenizer.json",
    "textual/tokenizer_config.json",
    "textual/model.onnx",
    "visual/model.onnx",
];

fn required(var: &str, what: &str) -> PathBuf {
    let p = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        panic!("{var} is not set: this test needs {what}; scripts/test.sh prepares it")
    });
    assert!(p.exists(), "{var}={} does not exist", p.display());
    p
}

fn test_model() -> PathBuf {
    required(
        "CLOUDVAULT_TEST_MODEL_DIR",
        "the test model made by scripts/make-test-model.py",
    )
}

fn ort_lib() -> PathBuf {
    required(
        "CLOUDVAULT_TEST_ORT_LIB",
        "libonnxruntime.so from scripts/fetch-onnxruntime.sh",
    )
}

async fn run(data: &Path, args: &[&str], env: &[(&str, &Path)]) -> (i32, String) {
    let mut cmd = cli(data);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_status_names_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (code, text) = run(&data, &["model", "status"], &[]).await;
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("onnxruntime: not found") && text.contains("fetch-onnxruntime.sh"),
        "{text}"
    );
    assert!(
        text.contains("model fetch") && text.contains("config.json"),
        "{text}"
    );

    let missing = tmp.path().join("nowhere/libonnxruntime.so");
    let (code, text) = run(
        &data,
        &["model", "status"],
        &[("CLOUDVAULT_ML_ONNXRUNTIME", &missing)],
    )
    .await;
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("ONNX Runtime library not found at")
            && text.contains("nowhere/libonnxruntime.so"),
        "{text}"
    );

    let fake = tmp.path().join("libonnxruntime.so");
    std::fs::write(&fake, b"not a shared library").unwrap();
    let (code, text) = run(
        &data,
        &["model", "status"],
        &[("CLOUDVAULT_ML_ONNXRUNTIME", &fake)],
    )
    .await;
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("cannot load ONNX Runtime from"), "{text}");
    assert!(!text.contains("panicked"), "{text}");

    let (code, text) = run(
        &data,
        &["model", "status"],
        &[
            ("CLOUDVAULT_ML_ONNXRUNTIME", &ort_lib()),
            ("CLOUDVAULT_ML_MODEL_DIR", &test_model()),
        ],
    )
    .await;
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("(loaded)")
            && text.contains("32-dim embeddings")
            && text.contains("407 labels"),
        "{text}"
    );
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Good,
    /// Serve the file with one byte changed (its announced sha256 stays the real one).
    Corrupt(&'static str),
    /// Send the headers and half the body of this file, then drop the connection.
    Cut(&'static str),
}

#[derive(Clone)]
struct Hub {
    files: Arc<HashMap<String, Vec<u8>>>,
    mode: Arc<Mutex<Mode>>,
    log: Arc<Mutex<Vec<String>>>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Like huggingface.co/<org>/<name>/resolve/main/<file>: LFS files redirect to a CDN with their
/// sha256 in X-Linked-Etag; small files come directly with their git blob sha1 as ETag.
async fn resolve(
    State(hub): State<Hub>,
    UrlPath((name, file)): UrlPath<(String, String)>,
) -> Response {
    hub.log.lock().unwrap().push(format!("resolve {file}"));
    let Some(bytes) = hub.files.get(&file).filter(|_| name == "TestCLIP") else {
        return (StatusCode::NOT_FOUND, "Entry not found").into_response();
    };
    if file.ends_with(".onnx") {
        return Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, format!("/cdn/{name}/{file}"))
            .header(
                "x-linked-etag",
                format!("\"{}\"", hex(&Sha256::digest(bytes))),
            )
            .header("x-linked-size", bytes.len().to_string())
            .header("x-repo-commit", "0123456789abcdef")
            .body(Body::empty())
            .unwrap();
    }
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", bytes.len()));
    h.update(bytes);
    (
        [(header::ETAG, format!("\"{}\"", hex(&h.finalize())))],
        bytes.clone(),
    )
        .into_response()
}

async fn cdn(
    State(hub): State<Hub>,
    UrlPath((_name, file)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    hub.log.lock().unwrap().push(format!(
        "cdn {file} range={}",
        range.as_deref().unwrap_or("-")
    ));
    let mut bytes = hub.files[&file].clone();
    let mode = *hub.mode.lock().unwrap();
    if mode == Mode::Corrupt(leak(&file)) {
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x55;
    }
    let from = range.and_then(|r| {
        r.strip_prefix("bytes=")?
            .strip_suffix('-')?
            .parse::<usize>()
            .ok()
    });
    if let Some(from) = from {
        if from >= bytes.len() {
            return StatusCode::RANGE_NOT_SATISFIABLE.into_response();
        }
        let total = bytes.len();
        return Response::builder()
            .status(StatusCode::PARTIAL_CONTENT)
            .header(
                header::CONTENT_RANGE,
                format!("bytes {from}-{}/{total}", total - 1),
            )
            .header(header::CONTENT_LENGTH, (total - from).to_string())
            .body(Body::from(bytes[from..].to_vec()))
            .unwrap();
    }
    if mode == Mode::Cut(leak(&file)) {
        *hub.mode.lock().unwrap() = Mode::Good;
        let half = bytes::Bytes::from(bytes[..bytes.len() / 2].to_vec());
        // First half, a pause so it reaches the client, then the connection breaks.
        let stream = futures_util::stream::unfold(0, move |step| {
            let half = half.clone();
            async move {
                match step {
                    0 => Some((Ok(half), 1)),
                    1 => {
                        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                        Some((
                            Err(std::io::Error::other("connection dropped by the test")),
                            2,
                        ))
                    }
                    _ => None,
                }
            }
        });
        return Response::builder()
            .header(header::CONTENT_LENGTH, bytes.len().to_string())
            .body(Body::from_stream(stream))
            .unwrap();
    }
    bytes.into_response()
}

/// A plain mirror: the files, no checksum headers at all.
async fn plain(State(hub): State<Hub>, UrlPath(file): UrlPath<String>) -> Response {
    match hub.files.get(&file) {
        Some(b) => b.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn leak(s: &str) -> &'static str {
    FILES.iter().find(|f| **f == s).copied().unwrap_or("")
}

async fn serve_model(dir: &Path) -> (String, Hub) {
    let files: HashMap<String, Vec<u8>> = FILES
        .iter()
        .map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap()))
        .collect();
    let hub = Hub {
        files: Arc::new(files),
        mode: Arc::new(Mutex::new(Mode::Good)),
        log: Arc::default(),
    };
    let router = axum::Router::new()
        .route("/{name}/resolve/main/{*file}", get(resolve))
        .route("/cdn/{name}/{*file}", get(cdn))
        .route("/plain/{*file}", get(plain))
        .with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, hub)
}

fn same_files(a: &Path, b: &Path) {
    for f in FILES {
        assert_eq!(
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
            "{f} differs"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_fetch_verifies_resumes_and_reruns() {
    let source = test_model();
    let (base, hub) = serve_model(&source).await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dest = tmp.path().join("models/TestCLIP");
    let dest_s = dest.to_str().unwrap();
    let staging = tmp.path().join("models/TestCLIP.download");
    let fetch = [
        "model",
        "fetch",
        "TestCLIP",
        "--base-url",
        &base,
        "--dest",
        dest_s,
    ];

    // 1. The visual encoder arrives corrupted: refused, nothing installed, the bad bytes not kept.
    *hub.mode.lock().unwrap() = Mode::Corrupt("visual/model.onnx");
    let (code, text) = run(&data, &fetch, &[]).await;
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("checksum mismatch") && text.contains("visual/model.onnx"),
        "{text}"
    );
    assert!(
        !dest.exists(),
        "nothing may be installed after a failed check"
    );
    assert!(
        !staging.join("visual/model.onnx.part").exists()
            && !staging.join("visual/model.onnx").exists()
    );
    assert!(
        staging.join("config.json").is_file(),
        "verified files wait in the staging folder"
    );

    // 2. The connection drops in the middle of the textual encoder: a partial file stays.
    std::fs::remove_dir_all(&staging).unwrap();
    *hub.mode.lock().unwrap() = Mode::Cut("textual/model.onnx");
    let (code, text) = run(&data, &fetch, &[]).await;
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("textual/model.onnx") && text.contains("resume"),
        "{text}"
    );
    let part = staging.join("textual/model.onnx.part");
    let partial = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    assert!(
        partial > 0,
        "the received half is kept for resuming: {text}"
    );
    assert!(!dest.exists());

    // 3. Run again: the download resumes with a Range request, everything lands, staging is gone.
    hub.log.lock().unwrap().clear();
    let (code, text) = run(&data, &fetch, &[]).await;
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("ready in") && text.contains("every file verified"),
        "{text}"
    );
    let log = hub.log.lock().unwrap().clone();
    assert!(
        log.contains(&format!("cdn textual/model.onnx range=bytes={partial}-")),
        "{log:?}"
    );
    same_files(&source, &dest);
    assert!(!staging.exists());
    // The int8 copy is made with it; without ONNX Runtime nothing is measured, so the server
    // stays on float32 and the line says why and what to run later.
    for f in ["visual/model.int8.onnx", "textual/model.int8.onnx"] {
        assert!(dest.join(f).is_file(), "{f}: {text}");
    }
    assert!(!dest.join("weights.json").exists());
    assert!(
        text.contains("weights: the server runs float32: ONNX Runtime is not loaded")
            && text.contains("cloudvault model int8"),
        "{text}"
    );

    // 4. Again: nothing to download, nothing changed.
    let mtime = std::fs::metadata(dest.join("visual/model.onnx"))
        .unwrap()
        .modified()
        .unwrap();
    let (code, text) = run(&data, &fetch, &[]).await;
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("already present and verified") && text.contains("(0 B downloaded"),
        "{text}"
    );
    assert_eq!(
        std::fs::metadata(dest.join("visual/model.onnx"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );

    // 5. The fetched folder loads, with the same model id as the source (same bytes).
    let lib = ort_lib();
    let (code, text) = run(
        &data,
        &["model", "status", "--dir", dest_s],
        &[("CLOUDVAULT_ML_ONNXRUNTIME", &lib)],
    )
    .await;
    assert_eq!(code, 0, "{text}");
    let (_, src_text) = run(
        &data,
        &["model", "status", "--dir", source.to_str().unwrap()],
        &[("CLOUDVAULT_ML_ONNXRUNTIME", &lib)],
    )
    .await;
    let hash = |t: &str| t.split('@').nth(1).map(|s| s[..12].to_string());
    assert!(
        hash(&text).is_some() && hash(&text) == hash(&src_text),
        "{text}\n{src_text}"
    );
    assert!(text.contains("weights: float32 (as downloaded"), "{text}");

    // `model int8` measures both on this CPU and records the choice; int8 by hand is loaded as
    // int8 (another model id), and `model status` says so and why.
    let ort = [("CLOUDVAULT_ML_ONNXRUNTIME", lib.as_path())];
    let (code, out) = run(&data, &["model", "int8", "--dir", dest_s], &ort).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("measuring float32 and int8 on this CPU")
            && out.contains("weights: the server runs ")
            && out.contains("ms a picture, float32"),
        "{out}"
    );
    assert!(dest.join("weights.json").is_file());
    let (code, out) = run(
        &data,
        &["model", "int8", "--dir", dest_s, "--weights", "int8"],
        &ort,
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("weights: the server runs int8: chosen by hand; measured: int8 "),
        "{out}"
    );
    let (code, status) = run(&data, &["model", "status", "--dir", dest_s], &ort).await;
    assert_eq!(code, 0, "{status}");
    assert!(status.contains("weights: int8 (chosen by hand"), "{status}");
    assert!(
        hash(&status).is_some() && hash(&status) != hash(&text),
        "{status}"
    );
    // Without ONNX Runtime, auto cannot measure and says how to get it.
    let (code, out) = run(&data, &["model", "int8", "--dir", dest_s], &[]).await;
    assert_ne!(code, 0);
    assert!(
        out.contains("cannot be measured") && out.contains("--weights int8"),
        "{out}"
    );

    // 6. A wrong name is a clear 404.
    let (code, text) = run(
        &data,
        &[
            "model",
            "fetch",
            "NoSuchModel",
            "--base-url",
            &base,
            "--dest",
            dest_s,
        ],
        &[],
    )
    .await;
    assert_ne!(code, 0);
    assert!(
        text.contains("404") && text.contains("model name"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_without_checksums_needs_consent() {
    let (base, _hub) = serve_model(&test_model()).await;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dest = tmp.path().join("m");
    let template = format!("{base}/plain/{{file}}");
    let args = [
        "model",
        "fetch",
        "TestCLIP",
        "--base-url",
        &template,
        "--dest",
        dest.to_str().unwrap(),
    ];
    let (code, text) = run(&data, &args, &[]).await;
    assert_ne!(code, 0);
    assert!(
        text.contains("no checksum") && text.contains("--allow-unverified"),
        "{text}"
    );
    assert!(!dest.exists());
    let mut args = args.to_vec();
    args.push("--allow-unverified");
    let (code, text) = run(&data, &args, &[]).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("NOT verified: config.json"), "{text}");
    same_files(&test_model(), &dest);
}
