//! Benchmark driver for the embedding index (run by bench/search.sh, see bench/README.md).
//!
//! Builds a synthetic set (random unit vectors, or clustered: centres + noise, like photo
//! embeddings), computes the exact f32 top-10 of every query, times `EmbeddingIndex` searches
//! with 1 and 2 threads, and measures recall@10 against the exact answer. Writes the vectors,
//! queries and exact answers to `--out` so the Python peers (numpy, faiss) run on the same data.
//!
//! Result rows go to stdout as tab-separated `row set n impl threads p50_ms p99_ms recall mem_mb
//! build_s`; progress goes to stderr.
//!
//! Whole query: with `--ort LIB --clip-model DIR` every timed query first runs the real CLIP text
//! encoder (`ClipModel::embed_texts`, tokenizing included) on a distinct sentence, as the server
//! does for a query it has not seen, then scans. The synthetic query vector is what is searched
//! (a random-weight encoder's output means nothing against synthetic rows), so recall stays
//! comparable. A `cached` row repeats a query: the server keeps recent query embeddings.

use std::io::Write;
use std::time::Instant;

use cloudvault::ml::{ClipModel, ClipOptions};
use cloudvault::search::index::{EmbeddingIndex, Rescore};
use cloudvault::search::int8;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

struct Args {
    n: usize,
    dim: usize,
    kind: String,
    queries: usize,
    out: Option<String>,
    ort: Option<String>,
    clip_model: Option<String>,
    f16: bool,
    quant_compare: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        n: 100_000,
        dim: 512,
        kind: "random".into(),
        queries: 200,
        out: None,
        ort: None,
        clip_model: None,
        f16: true,
        quant_compare: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--n" => a.n = v().parse().expect("--n"),
            "--dim" => a.dim = v().parse().expect("--dim"),
            "--kind" => a.kind = v(),
            "--queries" => a.queries = v().parse().expect("--queries"),
            "--out" => a.out = Some(v()),
            "--ort" => a.ort = Some(v()),
            "--clip-model" => a.clip_model = Some(v()),
            "--no-f16" => a.f16 = false,
            "--no-quant-compare" => a.quant_compare = false,
            _ => panic!("unknown argument {k}"),
        }
    }
    assert!(
        a.kind == "random" || a.kind == "clustered",
        "--kind random|clustered"
    );
    a
}

fn gaussian(rng: &mut StdRng, out: &mut [f32]) {
    for x in out.iter_mut() {
        let u1: f64 = rng.random_range(f64::EPSILON..1.0);
        let u2: f64 = rng.random();
        *x = ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32;
    }
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

/// Synthetic stored vectors (row-major, unit length), made on 2 threads.
fn make_data(kind: &str, n: usize, dim: usize, centres: &[f32]) -> Vec<f32> {
    let mut data = vec![0f32; n * dim];
    let half = n / 2 * dim;
    let (a, b) = data.split_at_mut(half);
    std::thread::scope(|s| {
        for (part, seed) in [(a, 100u64), (b, 200u64)] {
            s.spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed);
                let mut noise = vec![0f32; dim];
                for row in part.chunks_exact_mut(dim) {
                    if kind == "random" {
                        gaussian(&mut rng, row);
                    } else {
                        // Centre + noise of norm ~0.75: cosine ~0.8 to its centre, ~0.64 to
                        // siblings, ~0 to other clusters.
                        let c = rng.random_range(0..centres.len() / dim);
                        gaussian(&mut rng, &mut noise);
                        let s = 0.75 / (dim as f32).sqrt();
                        for j in 0..dim {
                            row[j] = centres[c * dim + j] + s * noise[j];
                        }
                    }
                    normalise(row);
                }
            });
        }
    });
    data
}

/// Queries: a stored vector plus noise of norm 0.5 (cosine ~0.9 to it); for the clustered set
/// every other query is a cluster centre (like a text query landing in the middle of a topic).
fn make_queries(kind: &str, m: usize, dim: usize, data: &[f32], centres: &[f32]) -> Vec<f32> {
    let n = data.len() / dim;
    let mut rng = StdRng::seed_from_u64(300);
    let mut q = vec![0f32; m * dim];
    let mut noise = vec![0f32; dim];
    for (i, row) in q.chunks_exact_mut(dim).enumerate() {
        if kind == "clustered" && i % 2 == 1 {
            let c = rng.random_range(0..centres.len() / dim);
            row.copy_from_slice(&centres[c * dim..(c + 1) * dim]);
        } else {
            let r = rng.random_range(0..n);
            gaussian(&mut rng, &mut noise);
            let s = 0.5 / (dim as f32).sqrt();
            for j in 0..dim {
                row[j] = data[r * dim + j] + s * noise[j];
            }
        }
        normalise(row);
    }
    q
}

/// Exact f32 top-10 rows of every query (ties by row), rows streamed once for all queries.
fn exact_top10(data: &[f32], queries: &[f32], dim: usize) -> Vec<Vec<u32>> {
    let n = data.len() / dim;
    let m = queries.len() / dim;
    let half = n / 2;
    let run = |lo: usize, hi: usize| -> Vec<Vec<(f32, u32)>> {
        let mut best: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(11); m];
        for r in lo..hi {
            let row = &data[r * dim..(r + 1) * dim];
            for (qi, q) in queries.chunks_exact(dim).enumerate() {
                let s = int8::dot_f32(q, row);
                let b = &mut best[qi];
                if b.len() < 10 || s > b[b.len() - 1].0 {
                    let pos = b.partition_point(|&(t, _)| t >= s);
                    b.insert(pos, (s, r as u32));
                    b.truncate(10);
                }
            }
        }
        best
    };
    let (a, b) = std::thread::scope(|s| {
        let h = s.spawn(|| run(half, n));
        (run(0, half), h.join().unwrap())
    });
    a.into_iter()
        .zip(b)
        .map(|(mut x, y)| {
            x.extend(y);
            x.sort_by(|p, q| q.0.total_cmp(&p.0).then(p.1.cmp(&q.1)));
            x.truncate(10);
            x.into_iter().map(|(_, r)| r).collect()
        })
        .collect()
}

fn id_of(row: usize) -> String {
    // File ids in CloudVault are UUID strings: same length, so memory figures are realistic.
    format!("00000000-0000-4000-8000-{row:012}")
}

fn row_of(id: &str) -> u32 {
    id[24..].parse().unwrap()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// The server's first step for a query it has not seen: the CLIP text embedding.
fn encode_text(model: Option<&ClipModel>, i: usize) {
    if let Some(m) = model {
        const SCENES: [&str; 8] = [
            "a dog on a beach at sunset",
            "birthday cake with candles",
            "snowy mountain road",
            "children playing football in a park",
            "a red car parked in the street",
            "grandmother reading a book by the window",
            "fireworks over the harbour",
            "a plate of pasta on a wooden table",
        ];
        let q = format!("{} {}", SCENES[i % SCENES.len()], i);
        let e = m.embed_texts(&[&q]).expect("text embedding");
        std::hint::black_box(e);
    }
}

struct Measured {
    p50: f64,
    p99: f64,
    recall: f64,
}

fn measure(
    idx: &EmbeddingIndex,
    queries: &[f32],
    dim: usize,
    truth: &[Vec<u32>],
    threads: usize,
    model: Option<&ClipModel>,
) -> Measured {
    let mut times = Vec::new();
    let mut found = 0usize;
    // One untimed query warms caches and page tables.
    idx.search_with(&queries[..dim], 10, f32::NEG_INFINITY, threads);
    for (i, (q, t)) in queries.chunks_exact(dim).zip(truth).enumerate() {
        let start = Instant::now();
        encode_text(model, i);
        let hits = idx.search_with(q, 10, f32::NEG_INFINITY, threads);
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        found += hits.iter().filter(|h| t.contains(&row_of(&h.id))).count();
    }
    times.sort_by(f64::total_cmp);
    Measured {
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        recall: found as f64 / (truth.len() * 10) as f64,
    }
}

fn recall_only(idx: &EmbeddingIndex, queries: &[f32], dim: usize, truth: &[Vec<u32>]) -> f64 {
    let mut found = 0;
    for (q, t) in queries.chunks_exact(dim).zip(truth) {
        let hits = idx.search_with(q, 10, f32::NEG_INFINITY, 2);
        found += hits.iter().filter(|h| t.contains(&row_of(&h.id))).count();
    }
    found as f64 / (truth.len() * 10) as f64
}

/// Recall@10 of the int8 ranking alone (no rescoring) for one quantisation of the rows.
fn ranking_recall(
    codes: &[i8],
    scales: &[f32],
    q8: &[Vec<i8>],
    dim: usize,
    truth: &[Vec<u32>],
) -> f64 {
    let scan = int8::best_scan();
    let n = scales.len();
    let mut dots = vec![0i32; n];
    let mut found = 0;
    for (q, t) in q8.iter().zip(truth) {
        scan(codes, q, &mut dots);
        let mut s: Vec<(f32, u32)> = (0..n)
            .map(|r| (dots[r] as f32 * scales[r], r as u32))
            .collect();
        s.select_nth_unstable_by(9, |a, b| b.0.total_cmp(&a.0));
        found += s[..10].iter().filter(|(_, r)| t.contains(r)).count();
    }
    let _ = dim;
    found as f64 / (truth.len() * 10) as f64
}

fn row(set: &str, n: usize, imp: &str, threads: usize, m: &Measured, mem_mb: f64, build_s: f64) {
    println!(
        "row\t{set}\t{n}\t{imp}\t{threads}\t{:.2}\t{:.2}\t{:.4}\t{mem_mb:.1}\t{build_s:.2}",
        m.p50, m.p99, m.recall
    );
    std::io::stdout().flush().unwrap();
}

fn main() {
    let a = parse_args();
    let (n, dim) = (a.n, a.dim);
    let clip = load_clip(&a);
    let set = a.kind.as_str();
    eprintln!(
        "== {set} n={n} dim={dim} queries={} kernel={}",
        a.queries,
        int8::best_scan_name()
    );

    let mut centres = vec![0f32; 1000 * dim];
    let mut rng = StdRng::seed_from_u64(7);
    for c in centres.chunks_exact_mut(dim) {
        gaussian(&mut rng, c);
        normalise(c);
    }
    let t = Instant::now();
    let data = make_data(set, n, dim, &centres);
    let queries = make_queries(set, a.queries, dim, &data, &centres);
    eprintln!("   data made in {:.1}s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let truth = exact_top10(&data, &queries, dim);
    eprintln!("   exact top-10 in {:.1}s", t.elapsed().as_secs_f64());

    if let Some(dir) = &a.out {
        write_bench_data(dir, &data, &queries, &truth);
    }

    // Our index, int8 rows (the default).
    let t = Instant::now();
    let mut idx = EmbeddingIndex::new(dim);
    idx.reserve(n);
    for (r, v) in data.chunks_exact(dim).enumerate() {
        idx.upsert(&id_of(r), v);
    }
    let build = t.elapsed().as_secs_f64();
    let mem = idx.memory_bytes() as f64 / (1 << 20) as f64;
    eprintln!("   index built in {build:.2}s, {mem:.1} MiB");
    for threads in [1, 2] {
        let m = measure(&idx, &queries, dim, &truth, threads, None);
        row(set, n, "cloudvault-int8", threads, &m, mem, build);
    }
    if let Some(model) = &clip {
        // What the server does: the encoder's threads and the scan's take turns on the cores.
        let m = measure(&idx, &queries, dim, &truth, 2, Some(model));
        row(set, n, "whole-query(clip-text+scan)", 2, &m, mem, build);
    }
    // Recall against the candidate count (the default is 4 × k).
    for os in [1, 2, 4, 8, 16] {
        idx.set_oversample(os);
        let r = recall_only(&idx, &queries, dim, &truth);
        println!("oversample\t{set}\t{n}\t{os}\t{r:.4}");
    }
    idx.set_oversample(cloudvault::search::index::DEFAULT_OVERSAMPLE);

    if a.quant_compare {
        compare_quantisation(set, n, dim, &data, &queries, &truth);
    }

    if a.f16 {
        drop(idx);
        let t = Instant::now();
        let mut idx = EmbeddingIndex::with_rescore(dim, Rescore::F16);
        idx.reserve(n);
        for (r, v) in data.chunks_exact(dim).enumerate() {
            idx.upsert(&id_of(r), v);
        }
        let build = t.elapsed().as_secs_f64();
        let mem = idx.memory_bytes() as f64 / (1 << 20) as f64;
        let m = measure(&idx, &queries, dim, &truth, 2, None);
        row(set, n, "cloudvault-int8+f16-rescore", 2, &m, mem, build);
    }
}

/// The CLIP model of `--clip-model`, loaded and warmed up, for the whole-query rows.
fn load_clip(a: &Args) -> Option<ClipModel> {
    a.clip_model.as_ref().map(|dir| {
        let ort = a.ort.as_ref().expect("--clip-model needs --ort LIB");
        cloudvault::ml::init_runtime(std::path::Path::new(ort)).unwrap_or_else(|e| panic!("{e}"));
        let m = ClipModel::load(std::path::Path::new(dir), &ClipOptions::default())
            .unwrap_or_else(|e| panic!("{e}"));
        m.embed_texts(&["warm-up"]).expect("text embedding");
        eprintln!("   text encoder: {dir}");
        m
    })
}

/// Writes the data, queries and exact top-10 into `dir` (for the other implementations).
fn write_bench_data(dir: &str, data: &[f32], queries: &[f32], truth: &[Vec<u32>]) {
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(format!("{dir}/{name}"), bytes).expect("write bench data");
    };
    let as_bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    write("data.f32", &as_bytes(data));
    write("queries.f32", &as_bytes(queries));
    let t: Vec<u8> = truth
        .iter()
        .flatten()
        .flat_map(|r| r.to_le_bytes())
        .collect();
    write("truth.u32", &t);
}

/// Per-vector scale (what the index does) against one global scale for every vector, both
/// without rescoring: which quantisation ranks better.
fn compare_quantisation(
    set: &str,
    n: usize,
    dim: usize,
    data: &[f32],
    queries: &[f32],
    truth: &[Vec<u32>],
) {
    let mut pv = vec![0i8; n * dim];
    let mut pv_s = vec![0f32; n];
    let mut maxabs = 0f32;
    for (r, v) in data.chunks_exact(dim).enumerate() {
        let code = &mut pv[r * dim..(r + 1) * dim];
        int8::quantize_per_vector(v, code);
        pv_s[r] = int8::unit_scale(code);
        maxabs = v.iter().fold(maxabs, |m, x| m.max(x.abs()));
    }
    let q8: Vec<Vec<i8>> = queries
        .chunks_exact(dim)
        .map(|q| {
            let mut c = vec![0i8; dim];
            int8::quantize_per_vector(q, &mut c);
            c
        })
        .collect();
    let r_pv = ranking_recall(&pv, &pv_s, &q8, dim, truth);
    println!("quant\t{set}\t{n}\tper-vector\t{r_pv:.4}");
    // Global: the largest |value| in the data (no clipping), and the 99.9th percentile of
    // per-vector maxima (clips the rare outliers, finer steps for the rest).
    let mut maxima: Vec<f32> = data
        .chunks_exact(dim)
        .map(|v| v.iter().fold(0f32, |m, x| m.max(x.abs())))
        .collect();
    maxima.sort_by(f32::total_cmp);
    let p999 = maxima[(maxima.len() - 1) * 999 / 1000];
    for (label, g) in [("global-max", maxabs), ("global-p99.9", p999)] {
        let scale = g / int8::QMAX;
        for (r, v) in data.chunks_exact(dim).enumerate() {
            int8::quantize_with_scale(v, scale, &mut pv[r * dim..(r + 1) * dim]);
        }
        pv_s.fill(1.0);
        let r = ranking_recall(&pv, &pv_s, &q8, dim, truth);
        println!("quant\t{set}\t{n}\t{label}\t{r:.4}");
    }
}
