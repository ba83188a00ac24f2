//! `cloudvault`: clap → Config::load → tracing → the chosen command.

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Argon2 allocates 19 MiB per password check; with glibc's adaptive mmap threshold those
    // blocks end up on the heap and are never returned (RSS grew ~19 MiB per login). A fixed
    // threshold keeps big buffers in mmap, handed back on free.
    // SAFETY: called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        // A fixed mmap threshold also freezes the trim threshold at 128 KiB, so every freed read
        // buffer was trimmed and faulted in again (1 GiB GET: 1,909 -> 1,037 MB/s). Keep 16 MiB.
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
        // One arena per blocking thread kept freed memory around: two are enough here.
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
    let cli = cloudvault::cli::Cli::parse();
    match cloudvault::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
