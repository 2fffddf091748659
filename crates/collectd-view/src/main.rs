//! `collectd-view`: command-line entry point; argument parsing only.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use collectd_view::graph::style::GraphConfig;
use collectd_view::graph::{Format, Kind};
use collectd_view::index::Index;
use collectd_view::rrdtool::{Pool, PoolConfig};
use collectd_view::select::{self, GraphOptions, Mode, PluginSelection, Request};

/// Graph, browse and receive the statistics that collectd stores as RRD files.
#[derive(Parser, Debug)]
#[command(name = "collectd-view", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List hosts, plugins and files, with category / specific / stat for the original
    /// module's files and the data sources of every file.
    Ls {
        /// collectd's DataDir.
        #[arg(long, default_value = "/var/lib/collectd/rrd")]
        data_dir: PathBuf,
        /// The rrdtool program, run (`rrdtool info`) only for files whose header cannot be
        /// read directly.
        #[arg(long, default_value = "rrdtool")]
        rrdtool: String,
    },
    /// Make a graph: print its `rrdtool graph` command line, or render it.
    Graph(Box<GraphArgs>),
    /// Print each received value list and notification as a JSON line.
    Dump(collectd_view::dump::DumpArgs),
    /// Receive datagrams and write RRD files as collectd's rrdtool plugin does.
    Receive(Box<collectd_view::receiver::ReceiveArgs>),
    /// Serve the web interface: overview, drill-down, combined graphs.
    Serve(collectd_view::web::ServeArgs),
    /// Run the whole chain on loopback: example traffic, the receiver, the web interface.
    Demo(collectd_view::demo::DemoArgs),
}

#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("destination").required(true).multiple(true).args(["print_command", "output"]))]
struct GraphArgs {
    /// collectd's DataDir.
    #[arg(long, default_value = "/var/lib/collectd/rrd")]
    data_dir: PathBuf,
    /// Host (repeat to combine hosts).
    #[arg(long = "host", required = true)]
    hosts: Vec<String>,
    /// The original module's plugin instance (directory `any-INSTANCE`).
    #[arg(long)]
    instance: Option<String>,
    /// Category of the original module (repeatable).
    #[arg(long = "category")]
    categories: Vec<String>,
    /// Stat (repeatable); without it, one graph per stat of the category.
    #[arg(long = "stat")]
    stats: Vec<String>,
    /// Specific to stack (repeatable); without it, all the stat has.
    #[arg(long = "specific")]
    specifics: Vec<String>,
    /// Ordinary collectd plugin (e.g. load, cpu, interface).
    #[arg(long, requires = "type_")]
    plugin: Option<String>,
    /// Plugin instance (default: all).
    #[arg(long, requires = "plugin")]
    plugin_instance: Option<String>,
    /// Type (e.g. load, if_octets).
    #[arg(long = "type", requires = "plugin")]
    type_: Option<String>,
    /// Type instance (default: all).
    #[arg(long, requires = "plugin")]
    type_instance: Option<String>,
    /// How to draw: auto, band, lines, stack, sum, avg, min, max (the last four combine
    /// hosts).
    #[arg(long, default_value = "auto")]
    mode: Mode,
    /// Start time (rrdtool at-style: end-1d, -3600, epoch seconds).
    #[arg(long, default_value = "end-1d", allow_hyphen_values = true)]
    start: String,
    /// End time (rrdtool at-style).
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    end: String,
    /// Plot width in pixels.
    #[arg(long, default_value_t = 800)]
    width: u32,
    /// Plot height in pixels.
    #[arg(long, default_value_t = 300)]
    height: u32,
    /// Image format: png, svg or pdf (default: from the -o extension, else png).
    #[arg(long)]
    format: Option<Format>,
    /// rrdcached address: rrdtool flushes the files there first (`--daemon`). Use its unix
    /// socket (`unix:/path`): over TCP rrdtool refuses the absolute file names graphs use.
    #[arg(long)]
    rrdcached: Option<String>,
    /// Per-type graph overrides (TOML), merged over the embedded defaults.
    #[arg(long, value_name = "FILE")]
    graph_config: Option<PathBuf>,
    /// Order of a stack's series: `value` (the largest average over the range at the
    /// bottom; reads the data with rrdtool) or `name`.
    #[arg(long, default_value = "value", value_parser = ["value", "name"])]
    stack_order: String,
    /// Print the shell-quoted `rrdtool graph` command line(s).
    #[arg(long)]
    print_command: bool,
    /// Render to FILE (`-`: stdout). With several graphs, `{}` in FILE (or a suffix before
    /// the extension) is replaced by each graph's name.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<String>,
    /// The rrdtool program.
    #[arg(long, default_value = "rrdtool")]
    rrdtool: String,
    /// Longest a rendering may take, in seconds.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Ls { data_dir, rrdtool } => ls(&data_dir, &rrdtool),
        Command::Graph(args) => graph(*args),
        Command::Dump(args) => collectd_view::dump::run(args),
        Command::Receive(args) => collectd_view::receiver::run(*args),
        Command::Serve(args) => Ok(collectd_view::web::run(args)?),
        Command::Demo(args) => collectd_view::demo::run(args),
    }
}

/// `ls`: the tree, with each file's data sources read from its header or, for a header the
/// index cannot read itself, from `rrdtool info` (as the web interface does).
fn ls(data_dir: &Path, rrdtool: &str) -> Result<()> {
    let index = Arc::new(Index::open(data_dir)?);
    // Only `rrdtool info` runs here: no PNG shim to install.
    let rrdtool = LazyPool::new(PoolConfig {
        program: rrdtool.into(),
        workers: 1,
        png_zlib_level: None,
        ..PoolConfig::default()
    });
    let lookup = collectd_view::ds_lookup_with(&index, || rrdtool.get().ok());
    print!("{}", select::tree::render(&index.snapshot(), &lookup));
    if let Some(Err(e)) = rrdtool.started() {
        eprintln!("collectd-view: {e}; data sources of unreadable headers are not shown");
    }
    Ok(())
}

/// The command-line tools' rrdtool: one pool, started the first time something needs
/// rrdtool (`rrdtool info` for a header the index cannot read, ordering a stack, rendering),
/// so that printing commands and listing files work without rrdtool.
struct LazyPool {
    config: PoolConfig,
    pool: OnceLock<Result<Pool, String>>,
}

impl LazyPool {
    fn new(config: PoolConfig) -> Self {
        LazyPool { config, pool: OnceLock::new() }
    }

    /// The pool, started now if it was not; why it could not start otherwise.
    fn get(&self) -> Result<&Pool, &str> {
        self.pool
            .get_or_init(|| Pool::new(self.config.clone()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }

    /// What starting the pool gave, if it was started.
    fn started(&self) -> Option<Result<&Pool, &str>> {
        self.pool.get().map(|r| r.as_ref().map_err(String::as_str))
    }
}

fn graph(a: GraphArgs) -> Result<()> {
    let format = a.format.unwrap_or_else(|| a.output.as_deref().map_or(Format::Png, Format::from_file_name));
    let config = Arc::new(GraphConfig::load(a.graph_config.as_deref())?);
    let request = Request {
        hosts: a.hosts,
        module_instance: a.instance,
        categories: a.categories,
        stats: a.stats,
        specifics: a.specifics,
        plugins: match (a.plugin, a.type_) {
            (Some(plugin), Some(type_)) => vec![PluginSelection {
                plugin,
                plugin_instance: a.plugin_instance,
                type_,
                type_instance: a.type_instance,
            }],
            _ => Vec::new(),
        },
        mode: a.mode,
    };
    let options = GraphOptions {
        start: a.start,
        end: a.end,
        width: a.width,
        height: a.height,
        format,
        daemon: a.rrdcached,
        config: Some(config),
    };
    let index = Arc::new(Index::open(&a.data_dir)?);
    let rrdtool = LazyPool::new(PoolConfig {
        program: a.rrdtool.clone().into(),
        workers: 1,
        timeout: Duration::from_secs(a.timeout),
        daemon: options.daemon.clone(),
        ..PoolConfig::default()
    });
    let lookup = collectd_view::ds_lookup_with(&index, || rrdtool.get().ok());
    let mut graphs = select::plan(&index.snapshot(), &request, &options, &lookup)?;
    let pool = || rrdtool.get().map_err(|e| anyhow::anyhow!("{e}"));
    if a.stack_order == "value" {
        for g in &mut graphs {
            if matches!(g.kind, Kind::Stack { .. }) && g.series.len() > 1 && g.order.is_empty() {
                pool()?.order_stack_by_value(g).with_context(|| format!("reading the averages of {:?}", g.title))?;
            }
        }
    }
    let outputs: Vec<String> = match &a.output {
        None => vec!["-".to_owned(); graphs.len()],
        Some(o) if graphs.len() == 1 => vec![o.clone()],
        Some(o) if o == "-" => bail!("{} graphs cannot all go to stdout", graphs.len()),
        Some(o) => graphs.iter().map(|g| collectd_view::select::output_name(o, g)).collect(),
    };
    if a.print_command {
        for (g, out) in graphs.iter().zip(&outputs) {
            println!("{}", g.shell_command(out)?);
        }
    }
    if a.output.is_some() {
        let pool = pool()?;
        for (g, out) in graphs.iter().zip(&outputs) {
            let image = pool.render(g).with_context(|| format!("rendering {:?}", g.title))?;
            if out == "-" {
                std::io::stdout().write_all(&image.data)?;
            } else {
                std::fs::write(out, &image.data).with_context(|| format!("writing {out}"))?;
                eprintln!(
                    "{out}: {}x{} {}",
                    image.geometry.image_width,
                    image.geometry.image_height,
                    format.extension()
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
