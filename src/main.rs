//! `cloudvault`: clap → Config::load → tracing → the chosen command.

use clap::Parser;

fn main() -> std::process::ExitCode {
    // Argon2 allocates 19 MiB per password check; with glibc's adaptive mmap threshold those
    // blocks end up on the heap and are never returned (RSS grew ~19 MiB per login). A fixed
    // threshold keeps big buffers in mmap, handed back on free.
    // SAFETY: called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
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
