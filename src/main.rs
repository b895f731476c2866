//! The `freshgate` binary: parse the command line and hand over to the library.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    freshgate::cli::run(freshgate::cli::Cli::parse())
}
