//! `collectd-view`: parses the command line, installs the logger and runs the subcommand.

use clap::Parser;

use std::process::ExitCode;

fn main() -> ExitCode {
    collectd_view::cli::logging::init();
    match collectd_view::cli::Cli::parse().run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Each line with its control characters escaped: an error may quote a name
            // that came from the network.
            let report = collectd_view::cli::error_report(&e);
            eprintln!("{}", collectd_view::cli::logging::printable_lines(report.trim_end()));
            ExitCode::FAILURE
        }
    }
}
