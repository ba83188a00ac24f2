//! Tests of the embedding index against brute-force references and a model of its contents.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::index::{EmbeddingIndex, Hit, PARALLEL_MIN_ROWS, Rescore, VectorError};
use super::int8;

fn gaussian(rng: &mut StdRng, dim: usize) -> Vec<f32> {
    // Box–Muller; enough for test data.
    (0..dim)
        .map(|_| {
            let u1: f64 = rng.random_range(f64::EPSILON..1.0);
            let u2: f64 = rng.random();
            ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
        })
        .collect()
}

/// The index's normalisation, restated.
fn unit(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    v.iter().map(|&x| (x as f64 / n) as f32).collect()
}

fn cos64(a: &[f32], b: &[f32]) -> f64 {
    let (a, b) = (unit(a), unit(b));
    a.iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum()
}

/// Brute force over f32 vectors: scores with the same f32 dot the index uses for its f32 copy,
/// best first, ties by id.
fn brute_force(data: &BTreeMap<String, Vec<f32>>, q: &[f32], k: usize, min: f32) -> Vec<Hit> {
    let q = unit(q);
    let mut all: Vec<Hit> = data
        .iter()
        .map(|(id, v)| Hit {
            id: id.clone(),
            score: int8::dot_f32(&q, &unit(v)),
        })
        .filter(|h| h.score >= min)
        .collect();
    all.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    all.truncate(k);
    all
}

fn ids(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.id.as_str()).collect()
}

/// Small random sets with duplicated vectors (exact ties): with an f32 copy and every row a
/// candidate, the hits are exactly the brute-force f32 answer, scores bit for bit.
#[test]
fn f32_rescore_equals_brute_force_on_small_sets() {
    let mut rng = StdRng::seed_from_u64(1);
    for case in 0..60 {
        let dim = [3, 17, 64, 512][case % 4];
        let n = rng.random_range(1..150);
        let mut idx = EmbeddingIndex::with_rescore(dim, Rescore::F32);
        idx.set_oversample(1000);
        let mut data = BTreeMap::new();
        for i in 0..n {
            // Every fifth vector repeats an earlier one under another id: ties.
            let v = if i % 5 == 4 {
                data.values().next().cloned().unwrap()
            } else {
                gaussian(&mut rng, dim)
            };
            let id = format!("{:03}-{}", rng.random_range(0..1000), i);
            idx.upsert(&id, &v);
            data.insert(id, v);
        }
        for _ in 0..5 {
            let q = gaussian(&mut rng, dim);
            let k = rng.random_range(1..n + 3);
            let min = if rng.random_bool(0.3) {
                0.1
            } else {
                f32::NEG_INFINITY
            };
            let got = idx.search_with(&q, k, min, 1);
            assert_eq!(
                got,
                brute_force(&data, &q, k, min),
                "case {case} n={n} k={k}"
            );
        }
        // A query equal to the shared vector: all its copies tie at the top, in id order.
        let (_, first) = data.iter().next().unwrap();
        let got = idx.search(first, 3.min(n));
        assert_eq!(got, brute_force(&data, first, 3.min(n), f32::NEG_INFINITY));
    }
}

/// With the default int8 rows and more rows than candidates (the quantised scan runs), data
/// whose cosines to the query are ≥ 0.004 apart gives exactly the brute-force order, equal
/// vectors by id, and scores within the quantisation error.
#[test]
fn int8_scan_equals_brute_force_when_scores_are_apart() {
    let mut rng = StdRng::seed_from_u64(2);
    let dim = 512;
    for case in 0..6 {
        // A random orthonormal pair (q, w): v_i = c_i q + √(1 − c_i²) w + small noise in other
        // directions keeps cos(v_i, q) ≈ c_i.
        let q = unit(&gaussian(&mut rng, dim));
        let mut w = gaussian(&mut rng, dim);
        let p: f32 = w.iter().zip(&q).map(|(a, b)| a * b).sum();
        w.iter_mut().zip(&q).for_each(|(a, b)| *a -= p * b);
        let w = unit(&w);
        let n = 400;
        let mut idx = EmbeddingIndex::new(dim);
        let mut vecs: Vec<Vec<f32>> = Vec::with_capacity(n);
        for i in 0..n {
            // Pairs of equal vectors (ties between ids), cosines 0.005 apart between pairs.
            let c = 0.95 - (i / 2) as f32 * 0.005;
            let s = (1.0 - c * c).sqrt();
            let noise = gaussian(&mut rng, dim);
            let v: Vec<f32> = (0..dim)
                .map(|j| c * q[j] + s * w[j] + 0.0005 * noise[j])
                .collect();
            vecs.push(if i % 2 == 1 { vecs[i - 1].clone() } else { v });
        }
        // Insert in a random order so row order and score order differ.
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let mut data: BTreeMap<String, Vec<f32>> = BTreeMap::new();
        for &i in &order {
            let id = format!("v{i:04}");
            idx.upsert(&id, &vecs[i]);
            data.insert(id, vecs[i].clone());
        }
        assert!(idx.len() > 4 * 40, "the int8 scan must run (case {case})");
        let got = idx.search(&q, 40);
        let want = brute_force(&data, &q, 40, f32::NEG_INFINITY);
        assert_eq!(ids(&got), ids(&want), "case {case}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g.score - w.score).abs() < 2e-3,
                "{} {} vs {}",
                g.id,
                g.score,
                w.score
            );
        }
    }
}

/// Random data, int8 rows: every hit's score is within the quantisation error of its true
/// cosine, and no hit is worse than the true k-th by more than twice that error.
#[test]
fn int8_scores_are_close_to_f32_on_random_data() {
    let mut rng = StdRng::seed_from_u64(3);
    let dim = 512;
    let mut idx = EmbeddingIndex::new(dim);
    let mut data = BTreeMap::new();
    for i in 0..3000 {
        let v = gaussian(&mut rng, dim);
        idx.upsert(&format!("r{i}"), &v);
        data.insert(format!("r{i}"), v);
    }
    let mut same = 0;
    for _ in 0..20 {
        // A perturbed stored vector, so the top hits are meaningful.
        let base = &data[&format!("r{}", rng.random_range(0..3000))];
        let q: Vec<f32> = gaussian(&mut rng, dim)
            .iter()
            .zip(base)
            .map(|(n, b)| b + 0.5 * n)
            .collect();
        let got = idx.search(&q, 10);
        let want = brute_force(&data, &q, 10, f32::NEG_INFINITY);
        let kth = want[9].score as f64;
        for h in &got {
            let truth = cos64(&data[&h.id], &q);
            assert!(
                (h.score as f64 - truth).abs() < 2e-3,
                "{} {} vs {truth}",
                h.id,
                h.score
            );
            assert!(truth > kth - 4e-3, "{} is far below the true 10th", h.id);
        }
        same += got
            .iter()
            .filter(|h| want.iter().any(|w| w.id == h.id))
            .count();
    }
    assert!(
        same >= 190,
        "recall@10 {} on 20 queries",
        same as f64 / 200.0
    );
}

#[test]
fn upsert_replaces_an_existing_id() {
    let mut rng = StdRng::seed_from_u64(4);
    let dim = 64;
    let mut idx = EmbeddingIndex::new(dim);
    let (a, b, c) = (
        gaussian(&mut rng, dim),
        gaussian(&mut rng, dim),
        gaussian(&mut rng, dim),
    );
    idx.upsert("a", &a);
    idx.upsert("c", &c);
    idx.upsert("a", &b);
    assert_eq!(idx.len(), 2);
    idx.check_invariants();
    let hits = idx.search(&b, 1);
    assert_eq!(hits[0].id, "a");
    assert!((hits[0].score - 1.0).abs() < 2e-3);
    // Scored against the new vector, not the old one.
    let hits = idx.search(&a, 2);
    let ha = hits.iter().find(|h| h.id == "a").unwrap();
    assert!((ha.score as f64 - cos64(&a, &b)).abs() < 2e-3);
}

#[test]
fn removed_ids_never_come_back() {
    let mut rng = StdRng::seed_from_u64(5);
    let dim = 32;
    let mut idx = EmbeddingIndex::new(dim);
    let vs: Vec<Vec<f32>> = (0..300).map(|_| gaussian(&mut rng, dim)).collect();
    for (i, v) in vs.iter().enumerate() {
        idx.upsert(&format!("p{i}"), v);
    }
    for i in (0..300).step_by(3) {
        assert!(idx.remove(&format!("p{i}")));
        assert!(!idx.remove(&format!("p{i}")), "second remove of p{i}");
    }
    assert!(!idx.remove("never-there"));
    assert_eq!(idx.len(), 200);
    idx.check_invariants();
    for i in (0..300).step_by(3) {
        // Its own vector as the query, every row returned: still absent.
        let hits = idx.search_with(&vs[i], 300, f32::NEG_INFINITY, 2);
        assert_eq!(hits.len(), 200);
        assert!(hits.iter().all(|h| h.id != format!("p{i}")));
        assert!(!idx.contains(&format!("p{i}")));
    }
    // The survivors still find themselves first.
    for i in (1..300).step_by(3) {
        assert_eq!(idx.search(&vs[i], 1)[0].id, format!("p{i}"));
    }
}

/// Random upserts (new and existing ids), removes (present and absent) and searches against a
/// map of what should be there, for each rescoring kind.
#[test]
fn random_operations_match_a_reference_model() {
    for (seed, rescore) in [(6, Rescore::Int8), (7, Rescore::F16), (8, Rescore::F32)] {
        let mut rng = StdRng::seed_from_u64(seed);
        let dim = 24;
        let mut idx = EmbeddingIndex::with_rescore(dim, rescore);
        let mut model: BTreeMap<String, Vec<f32>> = BTreeMap::new();
        for step in 0..3000 {
            let id = format!("id{}", rng.random_range(0..120));
            match rng.random_range(0..10) {
                0..=5 => {
                    let v = gaussian(&mut rng, dim);
                    idx.upsert(&id, &v);
                    model.insert(id, v);
                }
                6..=8 => assert_eq!(idx.remove(&id), model.remove(&id).is_some(), "step {step}"),
                _ => {
                    // A refused vector takes the id out.
                    idx.upsert(&id, &[f32::NAN; 24]);
                    model.remove(&id);
                }
            }
            assert_eq!(idx.len(), model.len());
            if step % 50 == 0 {
                idx.check_invariants();
                for id in (0..120).map(|i| format!("id{i}")) {
                    assert_eq!(
                        idx.contains(&id),
                        model.contains_key(&id),
                        "step {step} {id}"
                    );
                }
                // Every row comes back exactly once, each stored vector finds its own id with
                // a score of ~1.
                let q = gaussian(&mut rng, dim);
                let all = idx.search(&q, 1000);
                let mut got: Vec<&str> = ids(&all);
                got.sort();
                assert_eq!(got, model.keys().map(|s| s.as_str()).collect::<Vec<_>>());
                for (id, v) in &model {
                    let h = idx.search(v, model.len());
                    let me = h.iter().find(|h| &h.id == id).unwrap();
                    assert!(
                        (me.score - 1.0).abs() < 2e-3,
                        "{rescore:?} {id} {}",
                        me.score
                    );
                    assert!(h[0].score - me.score < 2e-3);
                }
            }
        }
    }
}

#[test]
fn bad_vectors_are_refused_and_others_normalised() {
    let mut idx = EmbeddingIndex::new(4);
    assert_eq!(
        idx.try_upsert("a", &[1.0, 0.0, 0.0]),
        Err(VectorError::WrongDim { got: 3, want: 4 })
    );
    assert_eq!(idx.try_upsert("a", &[0.0; 4]), Err(VectorError::Zero));
    assert_eq!(
        idx.try_upsert("a", &[1.0, f32::NAN, 0.0, 0.0]),
        Err(VectorError::NotFinite)
    );
    assert_eq!(
        idx.try_upsert("a", &[1.0, f32::INFINITY, 0.0, 0.0]),
        Err(VectorError::NotFinite)
    );
    assert!(idx.is_empty());

    // Not unit length: normalised. Huge and tiny (finite) values too.
    idx.upsert("big", &[3e30, 4e30, 0.0, 0.0]);
    idx.upsert("tiny", &[0.0, 0.0, 1e-40, 0.0]);
    idx.upsert("plain", &[0.0, 0.0, 0.0, 7.0]);
    assert_eq!(idx.len(), 3);
    let h = idx.search(&[0.6, 0.8, 0.0, 0.0], 1);
    assert_eq!(h[0].id, "big");
    assert!((h[0].score - 1.0).abs() < 1e-3);
    assert_eq!(idx.search(&[0.0, 0.0, 5.0, 0.0], 1)[0].id, "tiny");

    // A refused replacement takes the old vector out; try_upsert leaves it alone.
    assert!(idx.try_upsert("plain", &[0.0; 4]).is_err());
    assert!(idx.contains("plain"));
    idx.upsert("plain", &[0.0; 4]);
    assert!(!idx.contains("plain"));
    idx.check_invariants();

    // Unusable queries: no hits.
    assert!(idx.search(&[1.0, 0.0, 0.0], 5).is_empty());
    assert!(idx.search(&[0.0; 4], 5).is_empty());
    assert!(idx.search(&[f32::NAN, 1.0, 0.0, 0.0], 5).is_empty());
    assert!(idx.search(&[1.0, 0.0, 0.0, 0.0], 0).is_empty());
    assert!(
        EmbeddingIndex::new(4)
            .search(&[1.0, 0.0, 0.0, 0.0], 5)
            .is_empty()
    );
    // The floor applies to the returned scores.
    let all = idx.search_with(&[1.0, 0.0, 0.0, 0.0], 10, 0.5, 1);
    assert_eq!(ids(&all), ["big"]);
}

fn random_codes(rng: &mut StdRng, n: usize) -> Vec<i8> {
    (0..n)
        .map(|_| rng.random_range(-127..=127i32) as i8)
        .collect()
}

#[test]
fn avx2_kernel_equals_portable_bit_for_bit() {
    let Some(avx2) = int8::scan_avx2() else {
        #[cfg(target_arch = "x86_64")]
        assert!(
            std::env::var_os("CLOUDVAULT_ALLOW_NO_AVX2").is_some(),
            "this x86_64 CPU has no AVX2: the SIMD path is untested (set CLOUDVAULT_ALLOW_NO_AVX2=1)"
        );
        return;
    };
    let mut rng = StdRng::seed_from_u64(9);
    for dim in [1, 7, 31, 32, 33, 63, 64, 65, 100, 128, 511, 512, 513, 768] {
        let rows = 37;
        let codes = random_codes(&mut rng, rows * dim);
        let q = random_codes(&mut rng, dim);
        let (mut a, mut b) = (vec![0; rows], vec![0; rows]);
        int8::scan_portable(&codes, &q, &mut a);
        avx2(&codes, &q, &mut b);
        assert_eq!(a, b, "dim {dim}");
        // A plain scalar sum as the third opinion.
        for (r, &got) in a.iter().enumerate() {
            let s: i32 = (0..dim)
                .map(|j| codes[r * dim + j] as i32 * q[j] as i32)
                .sum();
            assert_eq!(got, s);
        }
    }
    // Extremes: the largest pair sums, all signs.
    for (x, y) in [
        (127i8, 127i8),
        (-127, 127),
        (127, -127),
        (-127, -127),
        (0, -127),
    ] {
        let codes = vec![x; 512];
        let q = vec![y; 512];
        let (mut a, mut b) = ([0], [0]);
        int8::scan_portable(&codes, &q, &mut a);
        avx2(&codes, &q, &mut b);
        assert_eq!(a[0], 512 * x as i32 * y as i32);
        assert_eq!(a, b);
    }
}

/// The whole search through the portable kernel equals the search through the default one.
#[test]
fn search_with_portable_kernel_equals_default() {
    let mut rng = StdRng::seed_from_u64(10);
    let dim = 512;
    let mut idx = EmbeddingIndex::new(dim);
    for i in 0..2000 {
        idx.upsert(&format!("x{i}"), &gaussian(&mut rng, dim));
    }
    let qs: Vec<Vec<f32>> = (0..10).map(|_| gaussian(&mut rng, dim)).collect();
    let fast: Vec<_> = qs.iter().map(|q| idx.search(q, 10)).collect();
    idx.set_scan(int8::scan_portable);
    let slow: Vec<_> = qs.iter().map(|q| idx.search(q, 10)).collect();
    assert_eq!(fast, slow);
}

/// Enough rows for the parallel scan, with groups of equal vectors spread over the whole index
/// so ties straddle the thread boundaries: any thread count gives the same hits.
#[test]
fn multithreaded_search_equals_single_threaded() {
    let mut rng = StdRng::seed_from_u64(11);
    let dim = 48;
    let n = PARALLEL_MIN_ROWS + 7_001;
    let mut idx = EmbeddingIndex::new(dim);
    let shared: Vec<Vec<f32>> = (0..5).map(|_| gaussian(&mut rng, dim)).collect();
    idx.reserve(n);
    for i in 0..n {
        let v = if i % 997 == 0 {
            shared[i % 5].clone()
        } else {
            gaussian(&mut rng, dim)
        };
        idx.upsert(&format!("m{i:06}"), &v);
    }
    let mut queries: Vec<Vec<f32>> = shared.clone();
    queries.extend((0..5).map(|_| gaussian(&mut rng, dim)));
    for q in &queries {
        let one = idx.search_with(q, 25, f32::NEG_INFINITY, 1);
        assert_eq!(one.len(), 25);
        for t in [2, 3, 7] {
            assert_eq!(
                idx.search_with(q, 25, f32::NEG_INFINITY, t),
                one,
                "{t} threads"
            );
        }
    }
    // The tied group comes back in id order.
    let hits = idx.search_with(&shared[0], 5, 0.99, 2);
    let mut sorted = ids(&hits);
    sorted.sort();
    assert_eq!(ids(&hits), sorted);
    assert!(hits.len() >= 2);
}

#[test]
fn memory_grows_with_the_rows() {
    let mut rng = StdRng::seed_from_u64(12);
    let mut idx = EmbeddingIndex::new(512);
    let empty = idx.memory_bytes();
    for i in 0..1000 {
        idx.upsert(&format!("{i:036}"), &gaussian(&mut rng, 512));
    }
    let m = idx.memory_bytes();
    assert!(m >= empty + 1000 * (512 + 4 + 16 + 36), "{m}");
    assert!(m < 1000 * 1000, "{m} bytes for 1000 int8 rows");
    let mut f16 = EmbeddingIndex::with_rescore(512, Rescore::F16);
    for i in 0..1000 {
        f16.upsert(&format!("{i:036}"), &gaussian(&mut rng, 512));
    }
    assert!(f16.memory_bytes() >= m + 1000 * 512 * 2);
}
