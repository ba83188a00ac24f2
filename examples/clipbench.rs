//! CLIP throughput driver for `bench/clip.sh`: CloudVault's own path (JPEG decode at reduced DCT
//! scale, preprocessing, ONNX Runtime through `ort`) on a folder of JPEGs, float32 and int8, plus
//! text-query latency and the int8 model's fidelity. Prints a report and `RESULT key=value` lines.
//!
//! cargo run --release --example clipbench -- --ort LIB --model DIR [--int8 DIR] --images DIR
//!     [--thumbs DIR] [--threads N] [--batch B] [--reps R] [--emb-out FILE]
//! --thumbs: the same pictures as 1440-px JPEG thumbnails (what the media job writes), to measure
//! the server's path, where CLIP reads the large thumbnail instead of decoding the original again.
//! Session settings for experiments: CLIPBENCH_SPIN=0, CLIPBENCH_OPT=0..3, CLIPBENCH_MEMPATTERN=0,
//! CLIPBENCH_ARENA=0.

use std::path::{Path, PathBuf};
use std::time::Instant;

use cloudvault::ml::{self, ClipModel, ClipOptions, SessionTuning, decode_for_clip};

struct Args {
    ort: PathBuf,
    model: PathBuf,
    int8: Option<PathBuf>,
    images: PathBuf,
    thumbs: Option<PathBuf>,
    threads: usize,
    batch: usize,
    reps: usize,
    emb_out: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut a = std::env::args().skip(1);
    let mut args = Args {
        ort: PathBuf::new(),
        model: PathBuf::new(),
        int8: None,
        images: PathBuf::new(),
        thumbs: None,
        threads: 0,
        batch: 8,
        reps: 3,
        emb_out: None,
    };
    while let Some(k) = a.next() {
        let mut v = || a.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--ort" => args.ort = v().into(),
            "--model" => args.model = v().into(),
            "--int8" => args.int8 = Some(v().into()),
            "--images" => args.images = v().into(),
            "--thumbs" => args.thumbs = Some(v().into()),
            "--threads" => args.threads = v().parse().unwrap(),
            "--batch" => args.batch = v().parse().unwrap(),
            "--reps" => args.reps = v().parse().unwrap(),
            "--emb-out" => args.emb_out = Some(v().into()),
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

fn tuning_from_env() -> SessionTuning {
    let flag = |k: &str, d: bool| std::env::var(k).map(|v| v != "0").unwrap_or(d);
    let d = SessionTuning::default();
    SessionTuning {
        intra_op_spinning: flag("CLIPBENCH_SPIN", d.intra_op_spinning),
        optimization: std::env::var("CLIPBENCH_OPT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d.optimization),
        memory_pattern: flag("CLIPBENCH_MEMPATTERN", d.memory_pattern),
        cpu_arena: flag("CLIPBENCH_ARENA", d.cpu_arena),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn result(key: &str, value: impl std::fmt::Display) {
    println!("RESULT {key}={value}");
}

/// Pictures per second over `reps` runs of `run` on all `n` pictures (median), after one warm-up
/// batch so session start-up and arena growth are not counted.
fn throughput(n: usize, reps: usize, mut run: impl FnMut() -> usize, warm: impl FnOnce()) -> f64 {
    warm();
    let rates: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            let done = run();
            assert_eq!(done, n, "every picture embedded");
            n as f64 / t.elapsed().as_secs_f64()
        })
        .collect();
    median(rates)
}

fn text_latency_ms(model: &ClipModel, runs: usize) -> (f64, f64) {
    let query = "a dog playing on the beach at sunset";
    model.embed_texts(&[query]).unwrap();
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let v = model.embed_texts(&[query]).unwrap();
            assert_eq!(v[0].len(), model.dim());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() * 9 / 10])
}

fn rss_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn jpgs(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    paths.sort();
    paths
}

fn bench_model(
    label: &str,
    dir: &Path,
    args: &Args,
    paths: &[PathBuf],
    decoded: &[image::RgbImage],
) -> Vec<Vec<f32>> {
    let opts = ClipOptions {
        threads: args.threads,
        batch_size: args.batch,
        ..ClipOptions::default()
    };
    let t = Instant::now();
    let model = ClipModel::load_with(dir, &opts, &tuning_from_env())
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let load = t.elapsed().as_secs_f64();
    println!("{label}: {} loaded in {load:.2} s", model.id());
    result(&format!("{label}_load_s"), format!("{load:.2}"));

    let n = paths.len();
    let warm_n = args.batch.min(n);
    let mut embs = Vec::new();
    let e2e = throughput(
        n,
        args.reps,
        || {
            embs = model
                .embed_files(paths)
                .into_iter()
                .map(|r| r.unwrap())
                .collect();
            embs.len()
        },
        || {
            model.embed_files(&paths[..warm_n]);
        },
    );
    println!(
        "{label}: {e2e:.1} pictures/s from JPEG files (decode + preprocess + inference, batch {})",
        args.batch
    );
    result(&format!("{label}_e2e_ips"), format!("{e2e:.2}"));

    if let Some(thumbs) = &args.thumbs {
        let tpaths = jpgs(thumbs);
        let tn = tpaths.len();
        let rate = throughput(
            tn,
            args.reps,
            || {
                model
                    .embed_files(&tpaths)
                    .into_iter()
                    .filter(|r| r.is_ok())
                    .count()
            },
            || {},
        );
        println!(
            "{label}: {rate:.1} pictures/s from 1440-px thumbnails (decode + preprocess + inference)"
        );
        result(&format!("{label}_thumb_ips"), format!("{rate:.2}"));
    }

    let pre = throughput(
        n,
        args.reps,
        || model.embed_images(decoded).unwrap().len(),
        || {},
    );
    println!("{label}: {pre:.1} pictures/s from decoded pictures (preprocess + inference)");
    result(&format!("{label}_decoded_ips"), format!("{pre:.2}"));

    let (p50, p90) = text_latency_ms(&model, 20);
    println!(
        "{label}: text query {p50:.1} ms median, {p90:.1} ms p90 (tokenize + text encoder, batch 1)"
    );
    result(&format!("{label}_text_ms"), format!("{p50:.2}"));
    result(&format!("{label}_text_p90_ms"), format!("{p90:.2}"));
    let rss = rss_mb("VmRSS:");
    println!("{label}: process RSS {rss:.0} MB with the model loaded and used");
    result(&format!("{label}_rss_mb"), format!("{rss:.0}"));
    embs
}

fn main() {
    let args = parse_args();
    ml::init_runtime(&args.ort).unwrap_or_else(|e| panic!("{e}"));
    let paths = jpgs(&args.images);
    let n = paths.len();
    assert!(n > 0, "no .jpg in {}", args.images.display());
    let threads = if args.threads == 0 {
        std::thread::available_parallelism().unwrap().get()
    } else {
        args.threads
    };
    println!(
        "{n} pictures, {threads} threads, batch {}, {} reps, {:?}",
        args.batch,
        args.reps,
        tuning_from_env()
    );

    // Where the time goes outside the model, one thread.
    let t = Instant::now();
    let decoded: Vec<image::RgbImage> = paths
        .iter()
        .map(|p| decode_for_clip(p, 224).unwrap())
        .collect();
    let dct = t.elapsed().as_secs_f64() * 1e3 / n as f64;
    let t = Instant::now();
    for p in paths.iter().take(8) {
        image::open(p).unwrap();
    }
    let full = t.elapsed().as_secs_f64() * 1e3 / 8f64.min(n as f64);
    let (w, h) = image::image_dimensions(&paths[0]).unwrap();
    println!(
        "decode: {dct:.1} ms/picture at reduced DCT scale ({}x{} from {w}x{h}), {full:.1} ms/picture full size",
        decoded[0].width(),
        decoded[0].height()
    );
    result("decode_dct_ms", format!("{dct:.2}"));
    result("decode_full_ms", format!("{full:.2}"));

    let f32_embs = bench_model("f32", &args.model, &args, &paths, &decoded);
    {
        let model = ClipModel::load(
            &args.model,
            &ClipOptions {
                threads: 1,
                batch_size: 1,
                ..ClipOptions::default()
            },
        )
        .unwrap();
        let mut slot = vec![0f32; model.preprocess().tensor_len()];
        let t = Instant::now();
        for img in &decoded {
            model.preprocess().to_tensor(img, &mut slot).unwrap();
        }
        let ms = t.elapsed().as_secs_f64() * 1e3 / n as f64;
        println!(
            "preprocess: {ms:.2} ms/picture (resize + crop + normalise from the decoded size)"
        );
        result("preprocess_ms", format!("{ms:.3}"));
    }
    if let Some(out) = &args.emb_out {
        let bytes: Vec<u8> = f32_embs
            .iter()
            .flatten()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        std::fs::write(out, bytes).unwrap();
    }
    if let Some(int8) = &args.int8 {
        let q = bench_model("int8", int8, &args, &paths, &decoded);
        let cos: Vec<f32> = q
            .iter()
            .zip(&f32_embs)
            .map(|(a, b)| ml::dot(a, b))
            .collect();
        let mean = cos.iter().sum::<f32>() / cos.len() as f32;
        let min = cos.iter().copied().fold(f32::INFINITY, f32::min);
        println!("int8 fidelity: cosine to the float32 embeddings mean {mean:.4}, min {min:.4}");
        result("int8_cos_mean", format!("{mean:.4}"));
        result("int8_cos_min", format!("{min:.4}"));
    }
}
