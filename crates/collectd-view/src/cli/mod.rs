//! The command line: every subcommand's clap `Args` and its `run`, and the logger.

pub mod demo;
pub mod dump;
pub mod graph;
mod lazy_pool;
pub mod listen;
pub mod logging;
pub mod ls;
pub mod prom;
pub mod receive;
pub mod serve;

use std::path::Path;

use clap::{Parser, Subcommand};

/// collectd's DataDir when collectd is installed from a distribution's package: the
/// default of `--data-dir`.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/collectd/rrd";

/// An error as the command prints it: `collectd-view: error: {e}`, then each cause whose
/// text the lines above do not already contain (many errors repeat their source's message).
pub fn error_report(e: &anyhow::Error) -> String {
    let mut out = format!("collectd-view: error: {e}\n");
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(&format!("  caused by: {text}\n"));
        }
    }
    out
}

/// Fails with a hint when `data_dir` does not exist: which option names another, and the
/// demo for a first look.
pub fn check_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    if data_dir.exists() {
        return Ok(());
    }
    let default = data_dir == Path::new(DEFAULT_DATA_DIR);
    anyhow::bail!(
        "{}data directory {} does not exist\n  hint: give collectd's DataDir (the rrdtool plugin's) with --data-dir DIR, \
         or run `collectd-view demo` to see example data",
        if default { "the default " } else { "" },
        data_dir.display()
    )
}

/// Graph, browse and receive the statistics that collectd stores as RRD files.
#[derive(Parser, Debug)]
#[command(name = "collectd-view", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List hosts, plugins and files, with category / specific / stat for the original
    /// module's files and the data sources of every file.
    Ls(ls::LsArgs),
    /// Make a graph: print its `rrdtool graph` command line, or render it.
    Graph(Box<graph::GraphArgs>),
    /// Print each received value list and notification as a JSON line.
    Dump(dump::DumpArgs),
    /// Receive datagrams and write RRD files as collectd's rrdtool plugin does.
    Receive(Box<receive::ReceiveArgs>),
    /// Serve the web interface: overview, drill-down, combined graphs.
    Serve(serve::ServeArgs),
    /// Run the whole chain on loopback: example traffic, the receiver, the web interface.
    Demo(demo::DemoArgs),
}

impl Cli {
    /// Runs the subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Ls(args) => ls::run(args),
            Command::Graph(args) => graph::run(*args),
            Command::Dump(args) => dump::run(args),
            Command::Receive(args) => receive::run(*args),
            Command::Serve(args) => serve::run(args),
            Command::Demo(args) => demo::run(args),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_print_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot read x: {0}")]
        struct Repeats(#[source] std::io::Error);
        let e = anyhow::Error::new(Repeats(std::io::Error::other("disk on fire"))).context("opening the index");
        assert_eq!(
            error_report(&e),
            "collectd-view: error: opening the index\n  caused by: cannot read x: disk on fire\n"
        );
    }

    #[test]
    fn a_missing_default_data_dir_gets_a_hint() {
        let e = check_data_dir(Path::new("/nonexistent/rrd")).unwrap_err().to_string();
        assert!(e.starts_with("data directory /nonexistent/rrd does not exist"), "{e}");
        if !Path::new(DEFAULT_DATA_DIR).exists() {
            let e = check_data_dir(Path::new(DEFAULT_DATA_DIR)).unwrap_err().to_string();
            assert!(e.starts_with("the default data directory /var/lib/collectd/rrd does not exist"), "{e}");
            assert!(e.contains("--data-dir DIR") && e.contains("collectd-view demo"), "{e}");
        }
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
