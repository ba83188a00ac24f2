//! The in-memory embedding index of one user: int8-quantised rows scanned in full for each query
//! (brute force, no graph), the best candidates rescored in f32, hits best first.
//!
//! Why a scan: photo libraries here are 1k–1M pictures, a scan of int8 rows is bounded by memory
//! bandwidth (1M × 512 dims = 512 MB) and has no recall cliff, where HNSW measured < 0.9 recall
//! under 20 ms on spread-out vectors (bench/RESULTS.md).
//!
//! Input rules (documented contract):
//! - a stored vector must have `dim` finite values and a non-zero norm; it is L2-normalised
//!   again here (callers send normalised CLIP vectors, this only guards). [`EmbeddingIndex::upsert`]
//!   with a bad vector *removes* the id (the newest vector of that file is unusable, an older one
//!   would be stale) and logs a warning; [`EmbeddingIndex::try_upsert`] returns the error instead;
//! - a query with the wrong length, a NaN/∞ or a zero norm gives no hits;
//! - `score` is the cosine of the normalised query with the stored vector as this index keeps it:
//!   with [`Rescore::Int8`] (the default) that is the dequantised int8 row, within ~1e-3 of the
//!   f32 cosine for CLIP-like vectors; [`Rescore::F16`] / [`Rescore::F32`] keep a copy of every
//!   vector (2 / 4 bytes a value) and score against it;
//! - hits are ordered by score (higher first), ties by id (byte order), so equal vectors come back
//!   in a stable order whatever the insertion order or thread count.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use super::int8;

/// Below this many rows one thread scans faster than two (thread start-up and the merge cost
/// more than the scan).
pub const PARALLEL_MIN_ROWS: usize = 20_000;

/// Candidates kept from the int8 scan per requested hit, before the exact rescoring.
pub const DEFAULT_OVERSAMPLE: usize = 4;

/// Fewest candidates rescored, whatever `k` (a `k = 1` query still gets a margin).
pub const MIN_CANDIDATES: usize = 32;

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    /// Cosine similarity, in [-1, 1] up to rounding.
    pub score: f32,
}

/// Why a vector was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VectorError {
    #[error("vector has {got} values, the index holds {want}-dimensional vectors")]
    WrongDim { got: usize, want: usize },
    #[error("vector holds a NaN or infinite value")]
    NotFinite,
    #[error("vector has zero length and no direction")]
    Zero,
}

/// What the final candidates are scored against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rescore {
    /// The int8 row itself, dequantised (no extra memory).
    Int8,
    /// A half-precision copy of every vector (+2 bytes a value).
    F16,
    /// A full f32 copy of every vector (+4 bytes a value): exact f32 cosines.
    F32,
}

enum Copy {
    None,
    F16(Vec<half::f16>),
    F32(Vec<f32>),
}

/// Embeddings of one user, searchable by cosine similarity.
pub struct EmbeddingIndex {
    dim: usize,
    /// Row-major int8 codes, `dim` per row.
    codes: Vec<i8>,
    /// Per-row scale `1 / ‖codes[row]‖`: `scales[row] · codes[row]` is the unit vector nearest
    /// to the stored one on the int8 grid, so a rescored int8 score is a true cosine (a vector
    /// against itself scores ~1.0, not the 0.997 a plain dequantisation gives at 24 dims).
    scales: Vec<f32>,
    ids: Vec<Box<str>>,
    /// id → row, hashed by id; holds only the row number (the id lives once, in `ids`).
    rows: HashTable<u32>,
    hasher: RandomState,
    copy: Copy,
    oversample: usize,
    scan: int8::ScanFn,
}

impl std::fmt::Debug for EmbeddingIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddingIndex")
            .field("dim", &self.dim)
            .field("len", &self.len())
            .field("rescore", &self.rescore())
            .finish()
    }
}

/// A scan candidate. `Ord` puts the *worse* one first (lower score, then higher row), so a
/// `BinaryHeap` of them has the one to evict on top. Rows break ties so the kept set is the
/// same however the rows are split between threads.
#[derive(Clone, Copy)]
struct Cand {
    score: f32,
    row: u32,
}

impl Ord for Cand {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.row.cmp(&other.row))
    }
}
impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Cand {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Cand {}

/// Rows scanned per kernel call (the dot products land in a small stack buffer first).
const BLOCK: usize = 64;

impl EmbeddingIndex {
    /// An empty index of `dim`-dimensional vectors, rescoring with the int8 rows.
    pub fn new(dim: usize) -> Self {
        Self::with_rescore(dim, Rescore::Int8)
    }

    /// An empty index that rescores its candidates against `rescore`.
    pub fn with_rescore(dim: usize, rescore: Rescore) -> Self {
        assert!(dim > 0, "an embedding index needs a dimension > 0");
        Self {
            dim,
            codes: Vec::new(),
            scales: Vec::new(),
            ids: Vec::new(),
            rows: HashTable::new(),
            hasher: RandomState::new(),
            copy: match rescore {
                Rescore::Int8 => Copy::None,
                Rescore::F16 => Copy::F16(Vec::new()),
                Rescore::F32 => Copy::F32(Vec::new()),
            },
            oversample: DEFAULT_OVERSAMPLE,
            scan: int8::best_scan(),
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn rescore(&self) -> Rescore {
        match self.copy {
            Copy::None => Rescore::Int8,
            Copy::F16(_) => Rescore::F16,
            Copy::F32(_) => Rescore::F32,
        }
    }

    /// Candidates rescored per requested hit (at least 1).
    pub fn set_oversample(&mut self, oversample: usize) {
        self.oversample = oversample.max(1);
    }

    pub fn oversample(&self) -> usize {
        self.oversample
    }

    /// Makes room for `additional` more vectors (a bulk load at start-up avoids regrowing
    /// hundreds of megabytes several times).
    pub fn reserve(&mut self, additional: usize) {
        self.codes.reserve(additional * self.dim);
        self.scales.reserve(additional);
        self.ids.reserve(additional);
        let hasher = &self.hasher;
        let ids = &self.ids;
        self.rows
            .reserve(additional, |&r| hasher.hash_one(&*ids[r as usize]));
        match &mut self.copy {
            Copy::None => {}
            Copy::F16(c) => c.reserve(additional * self.dim),
            Copy::F32(c) => c.reserve(additional * self.dim),
        }
        advise_huge_pages(&self.codes);
    }

    pub fn contains(&self, id: &str) -> bool {
        self.row_of(id).is_some()
    }

    /// Inserts or replaces `id`'s vector. A vector that cannot be used (see the module
    /// documentation) removes `id` instead and logs why; use [`Self::try_upsert`] to get the error.
    pub fn upsert(&mut self, id: &str, v: &[f32]) {
        if let Err(e) = self.try_upsert(id, v) {
            tracing::warn!(id, error = %e, "embedding refused; the id is left out of the index");
            self.remove(id);
        }
    }

    /// Inserts or replaces `id`'s vector; on error the index is unchanged.
    pub fn try_upsert(&mut self, id: &str, v: &[f32]) -> Result<(), VectorError> {
        let unit = normalized(v, self.dim)?;
        let dim = self.dim;
        let mut code = vec![0i8; dim];
        int8::quantize_per_vector(&unit, &mut code);
        let scale = int8::unit_scale(&code);
        let row = match self.row_of(id) {
            Some(row) => {
                self.codes[row * dim..(row + 1) * dim].copy_from_slice(&code);
                self.scales[row] = scale;
                match &mut self.copy {
                    Copy::None => {}
                    Copy::F16(c) => half::slice::HalfFloatSliceExt::convert_from_f32_slice(
                        &mut c[row * dim..(row + 1) * dim],
                        &unit,
                    ),
                    Copy::F32(c) => c[row * dim..(row + 1) * dim].copy_from_slice(&unit),
                }
                return Ok(());
            }
            None => self.ids.len(),
        };
        let row32 = u32::try_from(row).expect("more than 4 billion vectors in one index");
        let cap = self.codes.capacity();
        self.codes.extend_from_slice(&code);
        if self.codes.capacity() != cap {
            advise_huge_pages(&self.codes);
        }
        self.scales.push(scale);
        match &mut self.copy {
            Copy::None => {}
            Copy::F16(c) => c.extend(unit.iter().map(|&x| half::f16::from_f32(x))),
            Copy::F32(c) => c.extend_from_slice(&unit),
        }
        self.ids.push(id.into());
        let hasher = &self.hasher;
        let ids = &self.ids;
        self.rows.insert_unique(hasher.hash_one(id), row32, |&r| {
            hasher.hash_one(&*ids[r as usize])
        });
        Ok(())
    }

    /// Removes `id`; false if it was not there. The last row moves into the hole.
    pub fn remove(&mut self, id: &str) -> bool {
        let hash = self.hasher.hash_one(id);
        let ids = &self.ids;
        let Ok(entry) = self.rows.find_entry(hash, |&r| &*ids[r as usize] == id) else {
            return false;
        };
        let row = *entry.get() as usize;
        entry.remove();
        let last = self.ids.len() - 1;
        let dim = self.dim;
        if row != last {
            self.codes
                .copy_within(last * dim..(last + 1) * dim, row * dim);
            match &mut self.copy {
                Copy::None => {}
                Copy::F16(c) => c.copy_within(last * dim..(last + 1) * dim, row * dim),
                Copy::F32(c) => c.copy_within(last * dim..(last + 1) * dim, row * dim),
            }
            let moved_hash = self.hasher.hash_one(&*self.ids[last]);
            let slot = self
                .rows
                .find_mut(moved_hash, |&r| r as usize == last)
                .expect("every row has an id-map entry");
            *slot = row as u32;
        }
        self.scales.swap_remove(row);
        self.ids.swap_remove(row);
        self.codes.truncate(last * dim);
        match &mut self.copy {
            Copy::None => {}
            Copy::F16(c) => c.truncate(last * dim),
            Copy::F32(c) => c.truncate(last * dim),
        }
        true
    }

    /// The `k` best hits for `q`, one thread, no score floor.
    pub fn search(&self, q: &[f32], k: usize) -> Vec<Hit> {
        self.search_with(q, k, f32::NEG_INFINITY, 1)
    }

    /// The `k` best hits with a score ≥ `min_score`, scanning with up to `threads` threads
    /// (one below [`PARALLEL_MIN_ROWS`] rows). Same answer for any thread count.
    pub fn search_with(&self, q: &[f32], k: usize, min_score: f32, threads: usize) -> Vec<Hit> {
        let n = self.len();
        if k == 0 || n == 0 {
            return Vec::new();
        }
        let Ok(q) = normalized(q, self.dim) else {
            return Vec::new();
        };
        let want = k.saturating_mul(self.oversample).max(MIN_CANDIDATES);
        let rows: Vec<u32> = if want >= n {
            // Everything is a candidate: skip the approximate pass.
            (0..n as u32).collect()
        } else {
            let mut q8 = vec![0i8; self.dim];
            int8::quantize_per_vector(&q, &mut q8);
            self.candidates(&q8, want, threads)
        };
        let mut hits: Vec<(f32, u32)> = rows
            .into_iter()
            .map(|r| (self.exact_score(&q, r as usize), r))
            .filter(|&(s, _)| s >= min_score)
            .collect();
        hits.sort_unstable_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then_with(|| self.ids[a.1 as usize].cmp(&self.ids[b.1 as usize]))
        });
        hits.truncate(k);
        hits.into_iter()
            .map(|(score, r)| Hit {
                id: self.ids[r as usize].to_string(),
                score,
            })
            .collect()
    }

    /// Heap bytes held by the index (allocator rounding and slack excluded).
    pub fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        let id_bytes: usize = self.ids.iter().map(|s| s.len()).sum();
        let copy = match &self.copy {
            Copy::None => 0,
            Copy::F16(c) => c.capacity() * 2,
            Copy::F32(c) => c.capacity() * 4,
        };
        self.codes.capacity()
            + self.scales.capacity() * size_of::<f32>()
            + self.ids.capacity() * size_of::<Box<str>>()
            + id_bytes
            // hashbrown: one u32 and one control byte per bucket (buckets ≈ capacity · 8/7).
            + (self.rows.capacity() * 8 / 7) * (size_of::<u32>() + 1)
            + copy
    }

    fn row_of(&self, id: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(id);
        self.rows
            .find(hash, |&r| &*self.ids[r as usize] == id)
            .map(|&r| r as usize)
    }

    /// Cosine of the unit query with row `r` as rescoring sees it.
    fn exact_score(&self, q: &[f32], r: usize) -> f32 {
        let d = self.dim;
        match &self.copy {
            Copy::None => int8::dot_f32_i8(q, &self.codes[r * d..(r + 1) * d]) * self.scales[r],
            Copy::F32(c) => int8::dot_f32(q, &c[r * d..(r + 1) * d]),
            Copy::F16(c) => {
                let mut buf = vec![0f32; d];
                half::slice::HalfFloatSliceExt::convert_to_f32_slice(
                    &c[r * d..(r + 1) * d],
                    &mut buf,
                );
                int8::dot_f32(q, &buf)
            }
        }
    }

    /// The `want` best rows by the int8 score, split across threads for large indexes.
    fn candidates(&self, q8: &[i8], want: usize, threads: usize) -> Vec<u32> {
        let n = self.len();
        let threads = if n < PARALLEL_MIN_ROWS {
            1
        } else {
            threads.clamp(1, 64)
        };
        let mut all: Vec<Cand> = if threads == 1 {
            self.scan_range(q8, 0, n, want)
        } else {
            let bounds: Vec<usize> = (0..=threads).map(|t| n * t / threads).collect();
            std::thread::scope(|s| {
                let handles: Vec<_> = (1..threads)
                    .map(|t| {
                        let (lo, hi) = (bounds[t], bounds[t + 1]);
                        s.spawn(move || self.scan_range(q8, lo, hi, want))
                    })
                    .collect();
                let mut all = self.scan_range(q8, bounds[0], bounds[1], want);
                for h in handles {
                    all.extend(h.join().expect("scan thread panicked"));
                }
                all
            })
        };
        // Best first (`Cand` orders the better one as smaller), the same order the heaps used.
        all.sort_unstable();
        all.truncate(want);
        all.into_iter().map(|c| c.row).collect()
    }

    /// Top `want` rows of `lo..hi` by approximate score (`dot · row scale`; the query's scale is
    /// the same for every row and left out).
    fn scan_range(&self, q8: &[i8], lo: usize, hi: usize, want: usize) -> Vec<Cand> {
        let d = self.dim;
        let mut heap: BinaryHeap<Cand> = BinaryHeap::with_capacity(want + 1);
        let mut dots = [0i32; BLOCK];
        let mut start = lo;
        while start < hi {
            let end = (start + BLOCK).min(hi);
            let m = end - start;
            (self.scan)(&self.codes[start * d..end * d], q8, &mut dots[..m]);
            for (j, &dot) in dots[..m].iter().enumerate() {
                let cand = Cand {
                    score: dot as f32 * self.scales[start + j],
                    row: (start + j) as u32,
                };
                if heap.len() < want {
                    heap.push(cand);
                } else if let Some(mut worst) = heap.peek_mut() {
                    // Rows ascend within a range, so an equal score never displaces.
                    if cand.score > worst.score {
                        *worst = cand;
                    }
                }
            }
            start = end;
        }
        heap.into_vec()
    }
}

/// `v` scaled to unit length, or why it cannot be.
fn normalized(v: &[f32], dim: usize) -> Result<Vec<f32>, VectorError> {
    if v.len() != dim {
        return Err(VectorError::WrongDim {
            got: v.len(),
            want: dim,
        });
    }
    if !v.iter().all(|x| x.is_finite()) {
        return Err(VectorError::NotFinite);
    }
    // f64 so that large or tiny (but finite) components neither overflow nor underflow.
    let norm = v
        .iter()
        .map(|&x| (x as f64) * (x as f64))
        .sum::<f64>()
        .sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return Err(VectorError::Zero);
    }
    Ok(v.iter().map(|&x| (x as f64 / norm) as f32).collect())
}

/// Asks Linux for transparent huge pages under the code matrix: the scan reads it end to end,
/// and 2 MiB pages measured ~20% faster than 4 KiB ones here (fewer TLB misses).
fn advise_huge_pages(codes: &Vec<i8>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let cap = codes.capacity();
        if cap < HUGE {
            return;
        }
        let start = codes.as_ptr() as usize;
        let aligned = (start + 4095) & !4095;
        let len = (start + cap - aligned) & !4095;
        // SAFETY: the range lies inside the Vec's allocation; MADV_HUGEPAGE only changes how
        // the kernel backs it, never its contents.
        unsafe {
            libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = codes;
}

#[cfg(test)]
impl EmbeddingIndex {
    /// Panics unless ids, the id map, codes, scales and the copy agree.
    pub(crate) fn check_invariants(&self) {
        let n = self.ids.len();
        assert_eq!(self.codes.len(), n * self.dim);
        assert_eq!(self.scales.len(), n);
        assert_eq!(self.rows.len(), n);
        match &self.copy {
            Copy::None => {}
            Copy::F16(c) => assert_eq!(c.len(), n * self.dim),
            Copy::F32(c) => assert_eq!(c.len(), n * self.dim),
        }
        for (row, id) in self.ids.iter().enumerate() {
            assert_eq!(self.row_of(id), Some(row), "id {id} maps to the wrong row");
        }
    }

    pub(crate) fn set_scan(&mut self, scan: int8::ScanFn) {
        self.scan = scan;
    }
}
