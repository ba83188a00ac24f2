//! `cloudvault`: clap → Config::load → tracing → the chosen command.

use clap::Parser;

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
