//! Benchmark driver for `bench/thumbnails.sh`: runs CloudVault's thumbnail paths over a set of JPEGs
//! on N threads and prints one tab-separated result line (no timing of its own start-up).
//!
//! ```text
//! cargo run --release --example thumbbench -- --mode small|full --threads N --reps R --out DIR FILE...
//! ```
//! `small`: `media::thumbnail_jpeg(file, 256)` written to a file (what Pillow's draft path does).
//! `full`:  `media::process_file` (1440 and 256 thumbnails, EXIF facts), the worker pool's real call.
//! Output: `mode threads count wall_s per_s cpu_ms_per_thumb`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use cloudvault::media::{self, MediaKind, MediaLimits, ThumbTargets};

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

fn main() {
    let mut mode = String::from("small");
    let mut threads = 1usize;
    let mut reps = 1usize;
    let mut out = PathBuf::from("/tmp/thumbbench-out");
    let mut files: Vec<PathBuf> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mode" => mode = args.next().expect("--mode small|full"),
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--threads N")
            }
            "--reps" => reps = args.next().and_then(|v| v.parse().ok()).expect("--reps N"),
            "--out" => out = args.next().map(PathBuf::from).expect("--out DIR"),
            _ => files.push(PathBuf::from(a)),
        }
    }
    assert!(!files.is_empty(), "no input files");
    assert!(mode == "small" || mode == "full", "--mode small|full");
    std::fs::create_dir_all(&out).unwrap();
    let limits = MediaLimits::default();
    let run = |i: usize| {
        let src = &files[i % files.len()];
        if mode == "small" {
            let jpeg = media::thumbnail_jpeg(src, media::SMALL_PX, &limits)
                .unwrap_or_else(|e| panic!("{}: {e}", src.display()));
            std::fs::write(out.join(format!("s{i}.jpg")), jpeg).unwrap();
        } else {
            let t = ThumbTargets {
                small: out.join(format!("s{i}.jpg")),
                large: out.join(format!("l{i}.jpg")),
            };
            media::process_file(src, MediaKind::Image, &t, &limits)
                .unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        }
    };
    // Warm-up (page cache, allocator, rayon's pool), not timed.
    run(0);

    let total = files.len() * reps;
    let next = AtomicUsize::new(0);
    let cpu0 = cpu_seconds();
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    run(i);
                }
            });
        }
    });
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    println!(
        "{mode}\t{threads}\t{total}\t{wall:.3}\t{:.2}\t{:.1}",
        total as f64 / wall,
        cpu * 1000.0 / total as f64
    );
}
