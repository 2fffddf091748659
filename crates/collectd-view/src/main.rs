//! `collectd-view`: parses the command line, installs the logger and runs the subcommand.

use clap::Parser;

use std::process::ExitCode;

fn main() -> ExitCode {
    collectd_view::cli::logging::init();
    match collectd_view::cli::Cli::parse().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // As `main` returning the error would print it, each line with its control
            // characters escaped: an error may quote a name from the network.
            eprintln!("Error: {}", collectd_view::cli::logging::printable_lines(&format!("{e:?}")));
            ExitCode::FAILURE
        }
    }
}
