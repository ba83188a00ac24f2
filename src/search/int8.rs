//! Int8 scalar quantisation of embeddings and the int8 dot-product kernels the index scans with.
//!
//! Values are kept in [-127, 127] (never -128), so every kernel is exact integer arithmetic:
//! the AVX2 kernel's `maddubs` pair sums stay ≤ 2·127·127 = 32,258 (no i16 saturation) and
//! `sign(-128)` never occurs. Exact integers make the SIMD path equal the portable one bit for bit.

/// Largest magnitude of a quantised component.
pub const QMAX: f32 = 127.0;

/// Quantises `v` with one scale for the whole vector: `v[i] ≈ scale · out[i]`, with
/// `scale = max|v| / 127`. Returns the scale (0 for an all-zero vector, then `out` is all 0).
/// `v` must be finite.
pub fn quantize_per_vector(v: &[f32], out: &mut [i8]) -> f32 {
    debug_assert_eq!(v.len(), out.len());
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        out.fill(0);
        return 0.0;
    }
    let scale = max / QMAX;
    quantize_with_scale(v, scale, out);
    scale
}

/// `1 / ‖code‖`: the factor that makes the quantised vector unit length (0 for all zeros).
pub fn unit_scale(code: &[i8]) -> f32 {
    let sq: i64 = code.iter().map(|&c| c as i64 * c as i64).sum();
    if sq == 0 {
        0.0
    } else {
        (1.0 / (sq as f64).sqrt()) as f32
    }
}

/// Quantises `v` with a given scale, clamping to ±127 (values beyond `127 · scale` are clipped).
/// The global-scale scheme (one scale for every vector) uses this; the index uses per-vector
/// scales, which measured better (see bench/RESULTS.md).
pub fn quantize_with_scale(v: &[f32], scale: f32, out: &mut [i8]) {
    let inv = 1.0 / scale;
    for (o, &x) in out.iter_mut().zip(v) {
        *o = (x * inv).round().clamp(-QMAX, QMAX) as i8;
    }
}

/// Portable kernel: plain integer dot product (LLVM vectorises it with the baseline SSE2).
#[inline]
pub fn dot_portable(a: &[i8], b: &[i8]) -> i32 {
    debug_assert_eq!(a.len(), b.len());
    let mut sum = 0i32;
    // Fixed-size chunks let LLVM keep i32 lanes without a loop-carried scalar dependency.
    let mut ca = a.chunks_exact(32);
    let mut cb = b.chunks_exact(32);
    for (x, y) in (&mut ca).zip(&mut cb) {
        let mut s = 0i32;
        for i in 0..32 {
            s += x[i] as i32 * y[i] as i32;
        }
        sum += s;
    }
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        sum += x as i32 * y as i32;
    }
    sum
}

/// Dot products of `q` with each row of `rows` (row-major, `q.len()` values per row) into `out`.
pub type ScanFn = fn(rows: &[i8], q: &[i8], out: &mut [i32]);

/// Portable block scan.
pub fn scan_portable(rows: &[i8], q: &[i8], out: &mut [i32]) {
    for (row, o) in rows.chunks_exact(q.len()).zip(out.iter_mut()) {
        *o = dot_portable(row, q);
    }
}

/// AVX2 block scan; `None` when the CPU lacks AVX2 (or is not x86_64).
pub fn scan_avx2() -> Option<ScanFn> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            return Some(|rows, q, out| {
                // SAFETY: AVX2 presence was checked just above.
                unsafe { x86::scan_avx2(rows, q, out) }
            });
        }
    }
    None
}

/// The fastest block scan this CPU runs.
pub fn best_scan() -> ScanFn {
    scan_avx2().unwrap_or(scan_portable)
}

/// Name of the kernel [`best_scan`] picks (for benchmark output).
pub fn best_scan_name() -> &'static str {
    if scan_avx2().is_some() {
        "avx2"
    } else {
        "portable"
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// `maddubs` multiplies unsigned by signed bytes, so each 32-byte step feeds it |x| and
    /// q·sign(x) (both exact for values in ±127), then widens the i16 pair sums with `madd`.
    #[target_feature(enable = "avx2")]
    pub unsafe fn scan_avx2(rows: &[i8], q: &[i8], out: &mut [i32]) {
        let dim = q.len();
        let body = dim / 64 * 64;
        let ones = _mm256_set1_epi16(1);
        for (row, o) in rows.chunks_exact(dim).zip(out.iter_mut()) {
            let mut acc0 = _mm256_setzero_si256();
            let mut acc1 = _mm256_setzero_si256();
            let mut i = 0;
            while i < body {
                // SAFETY: i + 64 <= body <= dim = row.len() = q.len().
                unsafe {
                    let x0 = _mm256_loadu_si256(row.as_ptr().add(i) as *const __m256i);
                    let x1 = _mm256_loadu_si256(row.as_ptr().add(i + 32) as *const __m256i);
                    let q0 = _mm256_loadu_si256(q.as_ptr().add(i) as *const __m256i);
                    let q1 = _mm256_loadu_si256(q.as_ptr().add(i + 32) as *const __m256i);
                    let p0 = _mm256_maddubs_epi16(_mm256_abs_epi8(x0), _mm256_sign_epi8(q0, x0));
                    let p1 = _mm256_maddubs_epi16(_mm256_abs_epi8(x1), _mm256_sign_epi8(q1, x1));
                    acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p0, ones));
                    acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(p1, ones));
                }
                i += 64;
            }
            let acc = _mm256_add_epi32(acc0, acc1);
            let lo = _mm256_castsi256_si128(acc);
            let hi = _mm256_extracti128_si256::<1>(acc);
            let s = _mm_add_epi32(lo, hi);
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
            let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b10_11_00_01>(s));
            let mut sum = _mm_cvtsi128_si32(s);
            for j in body..dim {
                sum += row[j] as i32 * q[j] as i32;
            }
            *o = sum;
        }
    }
}

/// f32 dot product with eight fixed partial sums: vectorisable and deterministic (the same
/// inputs always give the same bits, whatever the caller).
#[inline]
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0f32;
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `Σ q[i] · codes[i]` in f32 (the caller multiplies by the row's scale), same summation order
/// as [`dot_f32`].
#[inline]
pub fn dot_f32_i8(q: &[f32], codes: &[i8]) -> f32 {
    debug_assert_eq!(q.len(), codes.len());
    let mut acc = [0f32; 8];
    let mut cq = q.chunks_exact(8);
    let mut cc = codes.chunks_exact(8);
    for (x, y) in (&mut cq).zip(&mut cc) {
        for l in 0..8 {
            acc[l] += x[l] * y[l] as f32;
        }
    }
    let mut tail = 0f32;
    for (&x, &y) in cq.remainder().iter().zip(cc.remainder()) {
        tail += x * y as f32;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}
