//! `collectd-view serve`: the web interface over a DataDir, optionally with the embedded
//! receiver writing into it (`--receive`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use collectd_rrd::graph::style::GraphConfig;
use collectd_rrd::receive::{Receiver, ReceiverConfig};
use collectd_rrd::rrdtool::{Pool, PoolConfig};

use crate::web::{self, ServeConfig};

/// The arguments of `collectd-view serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// collectd's DataDir.
    #[arg(long, default_value = super::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
    /// Address to listen on (loopback unless told otherwise).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// rrdcached address: rrdtool flushes the files there before reading (`--daemon`). Use
    /// its unix socket (`unix:/path`): over TCP rrdtool refuses absolute file names.
    #[arg(long)]
    pub rrdcached: Option<String>,
    /// The rrdtool program.
    #[arg(long, default_value = "rrdtool")]
    pub rrdtool: String,
    /// Number of rrdtool processes (default: one per core, at most 4).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Longest a rendering may take, in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Also receive collectd datagrams on this address and write them into the DataDir,
    /// as `collectd-view receive` does (security level None; use `receive` for more).
    #[arg(long, value_name = "ADDR")]
    pub receive: Option<SocketAddr>,
    /// Per-type graph overrides and thresholds (TOML), merged over the embedded defaults.
    #[arg(long, value_name = "FILE")]
    pub graph_config: Option<PathBuf>,
    /// collectd's unixsock socket: before a graph or export, flush what collectd's rrdtool
    /// plugin still caches for its files.
    #[arg(long, value_name = "PATH")]
    pub collectd_socket: Option<PathBuf>,
    /// A host name the browser may use to reach this server (repeatable; `*`: any). IP
    /// addresses and localhost always work; other names are refused, so that a web page
    /// cannot reach the server through a name it points at this address (DNS rebinding).
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,
    /// collectd's Interval in seconds: only files older than this are flushed.
    #[arg(long, default_value_t = 10.0)]
    pub collectd_interval: f64,
    /// A Prometheus-compatible database instead of the DataDir (see --prometheus-span).
    #[command(flatten)]
    pub prom: super::prom::PromArgs,
    /// With --prometheus: how far back the pages reach, in seconds. The database's series
    /// are mirrored into RRD files in a temporary DataDir (one row per
    /// max(scrape interval, span / 1440) seconds), kept up to date every row.
    #[arg(long, value_name = "SECS", default_value_t = 86_400)]
    pub prometheus_span: u64,
}

/// Runs `collectd-view serve` until Ctrl-C or SIGTERM.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let mirror = match args.prom.source()? {
        Some(source) => Some(start_mirror(source, args.prometheus_span, &args.rrdtool)?),
        None => None,
    };
    if args.receive.is_none() && mirror.is_none() {
        super::check_data_dir(&args.data_dir)?;
    }
    let data_dir = mirror.as_ref().map_or_else(|| args.data_dir.clone(), |(dir, _)| dir.path().to_owned());
    let mut config = ServeConfig::new(data_dir);
    config.listen = args.listen;
    config.rrdcached = args.rrdcached;
    config.rrdtool = args.rrdtool.into();
    if let Some(w) = args.workers {
        config.workers = w.clamp(1, 64);
    }
    config.timeout = Duration::from_secs(args.timeout.max(1));
    config.graph_config = Arc::new(GraphConfig::load(args.graph_config.as_deref())?);
    config.collectd_socket = args.collectd_socket;
    config.allow_hosts = args.allow_hosts;
    config.collectd_interval = Duration::from_secs_f64(args.collectd_interval.clamp(0.0, 86_400.0));
    let receiver = match args.receive {
        Some(listen) => {
            let pool = Pool::new(PoolConfig::default()).context("starting rrdtool for --receive")?;
            let receiver = Receiver::start(ReceiverConfig::new(listen, &config.data_dir), pool)
                .with_context(|| format!("--receive {listen}"))?;
            log::info!("receiving on udp://{}", receiver.local_addr());
            Some(receiver)
        }
        None => None,
    };
    if let Some((_, step)) = &mirror {
        config.rescan = Duration::from_secs(*step).min(config.rescan);
    }
    let served = web::serve(config);
    if let Some(receiver) = receiver {
        // Writes what is pending before exit.
        log::info!("receiver {}", receiver.stop());
    }
    Ok(served?)
}

/// Mirrors the database into a temporary DataDir (one sync now, so that a database that
/// cannot be read fails the command), then keeps it up to date from a thread. Returns the
/// directory (removed when dropped) and the seconds per row.
fn start_mirror(
    source: collectd_rrd::source::prometheus::PrometheusSource,
    span: u64,
    rrdtool: &str,
) -> anyhow::Result<(tempfile::TempDir, u64)> {
    use collectd_rrd::source::prometheus::Mirror;
    let span = span.max(60);
    let step = source.scrape_interval().max(span.div_ceil(1440));
    let dir = tempfile::Builder::new().prefix("collectd-view-prometheus-").tempdir()?;
    let pool =
        Pool::new(PoolConfig { program: rrdtool.into(), workers: 1, png_zlib_level: None, ..PoolConfig::default() })?;
    let mut mirror = Mirror::new(dir.path(), span, step);
    let url = source.client().base_url().to_owned();
    let n = mirror.sync(&source, &pool, collectd_rrd::time::now())?;
    log::info!("{url}: {n} collectd series, mirrored every {step} s into {}", dir.path().display());
    std::thread::Builder::new().name("prometheus-mirror".into()).spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(step));
            if let Err(e) = mirror.sync(&source, &pool, collectd_rrd::time::now()) {
                log::warn!("{e}");
            }
        }
    })?;
    Ok((dir, step))
}
