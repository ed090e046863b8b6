//! The `livecue` binary: parse the command line, run it, map the result to an exit status.

use std::process::ExitCode;

use clap::Parser;
use livecue::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_tracing(cli.verbose);
    match cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("livecue: {e:#}");
            ExitCode::FAILURE
        }
    }
}
