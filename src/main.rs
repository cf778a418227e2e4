//! The `gopy` binary: parse the command line, set up logging, hand over to the library.

use std::process::ExitCode;

use clap::Parser;

/// jemalloc instead of glibc's malloc: a webhook step allocates many small short-lived
/// buffers (request bodies, JSON, SQL rows, replies) across tokio's threads, and glibc's
/// allocator spent about as much CPU on them as gopy's own code did (see BENCHMARKS.md,
/// "Zalo webhook run").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    gopy::telemetry::init_logging();
    let cli = gopy::cli::Cli::parse();
    match gopy::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Lỗi / error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
