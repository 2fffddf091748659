//! `collectd-view graph`: the `rrdtool graph` command lines of a selection, and the images.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use collectd_rrd::graph::averages::order_stack_by_value;
use collectd_rrd::graph::style::GraphConfig;
use collectd_rrd::graph::{Format, Kind};
use collectd_rrd::index::Index;
use collectd_rrd::rrdtool::{Pool, PoolConfig};
use collectd_rrd::select::{self, GraphOptions, Mode, PluginSelection, Request};
use collectd_rrd::source::Window;
use collectd_rrd::source::prometheus::naming::SeriesId;
use collectd_rrd::source::prometheus::{Aggregate, PrometheusSource};
use collectd_rrd::time::TimeArg;

use super::lazy_pool::LazyPool;

/// A `--start` / `--end` value, read as the web interface reads `start` / `end`.
fn parse_time(text: &str) -> Result<TimeArg, String> {
    TimeArg::parse(text).map_err(|e| e.to_string())
}

/// The options of `collectd-view graph`.
#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("destination").required(true).multiple(true).args(["print_command", "output"]))]
pub struct GraphArgs {
    /// collectd's DataDir.
    #[arg(long, default_value = super::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Host (repeat to combine hosts).
    #[arg(long = "host", required = true)]
    pub hosts: Vec<String>,
    /// The original module's plugin instance (directory `any-INSTANCE`).
    #[arg(long)]
    pub instance: Option<String>,
    /// Category of the original module (repeatable).
    #[arg(long = "category")]
    pub categories: Vec<String>,
    /// Stat (repeatable); without it, one graph per stat of the category.
    #[arg(long = "stat")]
    pub stats: Vec<String>,
    /// Specific to stack (repeatable); without it, all the stat has.
    #[arg(long = "specific")]
    pub specifics: Vec<String>,
    /// Ordinary collectd plugin (e.g. load, cpu, interface).
    #[arg(long, requires = "type_")]
    pub plugin: Option<String>,
    /// Plugin instance (default: all).
    #[arg(long, requires = "plugin")]
    pub plugin_instance: Option<String>,
    /// Type (e.g. load, if_octets).
    #[arg(long = "type", requires = "plugin")]
    pub type_: Option<String>,
    /// Type instance (default: all).
    #[arg(long, requires = "plugin")]
    pub type_instance: Option<String>,
    /// How to draw: auto, band, lines, stack, sum, avg, min, max (the last four combine
    /// hosts).
    #[arg(long, default_value = "auto")]
    pub mode: Mode,
    /// Start time, rrdtool at-style as the web interface reads it: end-1d, now-2h30min,
    /// -3600, epoch seconds (units s, min, h, d, w, mon, y; a bare m is refused).
    #[arg(long, default_value = "end-1d", allow_hyphen_values = true, value_parser = parse_time)]
    pub start: TimeArg,
    /// End time (as --start).
    #[arg(long, default_value = "now", allow_hyphen_values = true, value_parser = parse_time)]
    pub end: TimeArg,
    /// Plot width in pixels.
    #[arg(long, default_value_t = 800)]
    pub width: u32,
    /// Plot height in pixels.
    #[arg(long, default_value_t = 300)]
    pub height: u32,
    /// Image format: png, svg or pdf (default: from the -o extension, else png).
    #[arg(long)]
    pub format: Option<Format>,
    /// rrdcached address: rrdtool flushes the files there first (`--daemon`). Use its unix
    /// socket (`unix:/path`): over TCP rrdtool refuses the absolute file names graphs use.
    #[arg(long)]
    pub rrdcached: Option<String>,
    /// Per-type graph overrides (TOML), merged over the embedded defaults.
    #[arg(long, value_name = "FILE")]
    pub graph_config: Option<PathBuf>,
    /// Order of a stack's series: `value` (the largest average over the range at the
    /// bottom; reads the data with rrdtool) or `name`.
    #[arg(long, default_value = "value", value_parser = ["value", "name"])]
    pub stack_order: String,
    /// Print the shell-quoted `rrdtool graph` command line(s), writing to the -o FILE
    /// (default: graph.png, or one file per graph named after its title).
    #[arg(long)]
    pub print_command: bool,
    /// Render to FILE (`-`: stdout). With several graphs, `{}` in FILE (or a suffix before
    /// the extension) is replaced by each graph's name.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<String>,
    /// The rrdtool program.
    #[arg(long, default_value = "rrdtool")]
    pub rrdtool: String,
    /// Longest a rendering may take, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// A Prometheus-compatible database instead of the DataDir: --print-command prints
    /// the PromQL, and the graph is drawn from the values it returns.
    #[command(flatten)]
    pub prom: super::prom::PromArgs,
}

/// `graph`: plans the graphs the selection calls for, then prints their command lines,
/// renders them, or both.
pub fn run(a: GraphArgs) -> Result<()> {
    // The range as the web interface checks it: an end before its start, or a span too
    // short or too long, is refused here with the same words, before rrdtool runs.
    let range = collectd_rrd::time::resolve(a.start, a.end, collectd_rrd::time::now())
        .map_err(|e| anyhow::anyhow!("--start {} --end {}: {e}", a.start.canonical(), a.end.canonical()))?;
    if let Some(source) = a.prom.source()? {
        return run_prometheus(a, &source, range);
    }
    super::check_data_dir(&a.data_dir)?;
    let data_dir = a.data_dir.clone();
    let print = a.print_command;
    render(a, &data_dir, print)
}

/// Whether `s` is one of the series `a` selects (by host and directory; the graph
/// planner selects further, as over a DataDir).
fn selects(a: &GraphArgs, s: &SeriesId) -> bool {
    if !a.hosts.contains(&s.id.host) {
        return false;
    }
    match (&a.plugin, &a.type_) {
        (Some(plugin), Some(type_)) => {
            &s.id.plugin == plugin
                && (a.plugin_instance.is_none() || s.id.plugin_instance == a.plugin_instance)
                && &s.id.type_ == type_
                && (a.type_instance.is_none() || s.id.type_instance == a.type_instance)
        }
        _ => s.id.plugin == collectd_rrd::naming::MODULE_PLUGIN && s.id.plugin_instance == a.instance,
    }
}

/// `graph --prometheus`: the PromQL of the selection, and its graphs drawn from the
/// values the database returns, written to RRD files in a temporary DataDir and drawn
/// by the same graph model and rrdtool as the RRD source's (so they look the same).
fn run_prometheus(a: GraphArgs, source: &PrometheusSource, range: collectd_rrd::time::Resolved) -> Result<()> {
    let window = Window::for_width(range.start, range.end, a.width, source.scrape_interval());
    let url = source.client().base_url().to_owned();
    let wanted: Vec<SeriesId> = source.series()?.into_iter().filter(|s| selects(&a, s)).collect();
    if wanted.is_empty() {
        bail!("{url}: no collectd series for host(s) {} and this selection", a.hosts.join(", "));
    }
    if a.print_command {
        for planned in source.plan(&wanted, window) {
            println!("# PromQL, step {}s: {}", window.step, planned.query);
        }
        let op = match a.mode {
            Mode::Sum => Some(Aggregate::Sum),
            Mode::Average => Some(Aggregate::Avg),
            Mode::Min => Some(Aggregate::Min),
            Mode::Max => Some(Aggregate::Max),
            _ => None,
        };
        if let Some(op) = op {
            // One combined series per identifier and data source, across the hosts.
            let mut groups: std::collections::BTreeMap<(String, String), Vec<SeriesId>> = Default::default();
            for s in &wanted {
                let mut key = s.id.clone();
                key.host.clear();
                groups.entry((key.to_string(), s.ds.clone())).or_default().push(s.clone());
            }
            for members in groups.values() {
                println!("# PromQL, step {}s: {}", window.step, source.combine_query(op, members, window));
            }
        }
    }
    if a.output.is_none() {
        return Ok(());
    }
    let dir = tempfile::Builder::new().prefix("collectd-view-prometheus-").tempdir()?;
    let pool = Pool::new(PoolConfig {
        program: a.rrdtool.clone().into(),
        workers: 1,
        timeout: Duration::from_secs(a.timeout),
        png_zlib_level: None,
        ..PoolConfig::default()
    })?;
    source.materialize(&pool, dir.path(), &wanted, window)?;
    drop(pool);
    render(a, dir.path(), false)
}

/// Plans, prints and renders the graphs of `a` over the DataDir `data_dir`.
fn render(a: GraphArgs, data_dir: &std::path::Path, print_command: bool) -> Result<()> {
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
        start: a.start.canonical(),
        end: a.end.canonical(),
        width: a.width,
        height: a.height,
        format,
        daemon: a.rrdcached,
        config: Some(config),
    };
    let index = Arc::new(Index::open(data_dir)?);
    let rrdtool = LazyPool::new(PoolConfig {
        program: a.rrdtool.clone().into(),
        workers: 1,
        timeout: Duration::from_secs(a.timeout),
        daemon: options.daemon.clone(),
        ..PoolConfig::default()
    });
    let lookup = collectd_rrd::ds_lookup_with(&index, || rrdtool.get().ok());
    let mut graphs = select::plan(&index.snapshot(), &request, &options, &lookup)?;
    for g in &mut graphs {
        // The web interface's look: its colours, fonts and grid, no watermark.
        g.look = collectd_rrd::graph::style::look(false);
        g.grid = collectd_rrd::graph::style::look_grid();
    }
    let pool = || rrdtool.get().map_err(|e| anyhow::anyhow!("{e}"));
    if a.stack_order == "value" {
        for g in &mut graphs {
            if matches!(g.kind, Kind::Stack { .. }) && g.series.len() > 1 && g.order.is_empty() {
                order_stack_by_value(pool()?, g).with_context(|| format!("reading the averages of {:?}", g.title))?;
            }
        }
    }
    let outputs: Vec<String> = match &a.output {
        // Printed commands write files (`-` would send the image to the terminal).
        None if graphs.len() == 1 => vec![format!("graph.{}", format.extension())],
        None => graphs.iter().map(|g| select::output_name(&format!("{{}}.{}", format.extension()), g)).collect(),
        Some(o) if graphs.len() == 1 => vec![o.clone()],
        Some(o) if o == "-" => bail!("{} graphs cannot all go to stdout", graphs.len()),
        Some(o) => graphs.iter().map(|g| select::output_name(o, g)).collect(),
    };
    if print_command {
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
                log::info!(
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
