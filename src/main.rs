//! The `gopy` binary: parse the command line, set up logging, hand over to the library.

use std::process::ExitCode;

use clap::Parser;

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
