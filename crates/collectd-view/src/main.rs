//! `collectd-view`: parses the command line, installs the logger and runs the subcommand.

use clap::Parser;

fn main() -> std::process::ExitCode {
    collectd_view::cli::logging::init();
    match collectd_view::cli::Cli::parse().run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{}", collectd_view::cli::error_report(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
