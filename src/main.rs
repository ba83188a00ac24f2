//! `cloudvault`: clap → Config::load → tracing → the chosen command.

use clap::Parser;

// jemalloc serves every allocation of the process (Rust, the bundled SQLite, the ONNX runtime):
// glibc's malloc kept freed memory in its arenas, so after a burst of slow transfers the server
// stayed 7-31 % above its idle RSS even with `malloc_trim`; jemalloc hands freed pages back.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read when it starts (`MALLOC_CONF` in the environment overrides them): a
/// background thread returns freed pages to the system ~1 s after they were freed (by default
/// 10 s, and only once the allocator is next used, so an idle server kept a burst's pages).
// SAFETY: jemalloc reads this `const char *` once; it points into a NUL-terminated 'static.
#[unsafe(export_name = "malloc_conf")]
static MALLOC_CONF: Option<&std::ffi::c_char> =
    Some(unsafe { &*c"background_thread:true,dirty_decay_ms:1000".as_ptr() });

fn main() -> std::process::ExitCode {
    let cli = cloudvault::cli::Cli::parse();
    match cloudvault::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
