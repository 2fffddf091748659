//! `collectd-view`: parses the command line, installs the logger and runs the subcommand.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    collectd_view::cli::logging::init();
    collectd_view::cli::Cli::parse().run()
}
