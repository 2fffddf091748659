//! `collectd-view receive`: receive datagrams and write RRD files as collectd's network and
//! rrdtool plugins would, until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use collectd::protocol::CdTime;
use collectd::server::parse_listen_addr;
use collectd_rrd::receive::{Receiver, ReceiverConfig, ReceiverError};
use collectd_rrd::rrdtool::{Pool, PoolConfig};
use collectd_rrd::write::{CreateConfig, TypesDb, WriterConfig};

use super::listen::{ListenArgs, flag_error};

/// How often the main thread looks for a signal.
const POLL: Duration = Duration::from_millis(100);

/// `collectd-view receive`: receive datagrams and write RRD files.
#[derive(clap::Args, Debug, Clone)]
pub struct ReceiveArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub listen: ListenArgs,
    /// Directory of the RRD files (collectd's rrdtool `DataDir`); created when missing.
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// types.db file (repeatable; later files override earlier ones). Without it, a
    /// built-in table of collectd's common types is used; give
    /// /usr/share/collectd/types.db for all of them.
    #[arg(long = "types-db", value_name = "FILE")]
    pub types_db: Vec<PathBuf>,
    /// Interval, in seconds, of value lists that carry none (collectd's global Interval).
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub interval: f64,
    /// Longest a value waits before it is written, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub flush_interval: f64,
    /// Values of one file that are written at once without waiting (and the most per
    /// `rrdtool update`).
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub batch_size: usize,
    /// Most values waiting to be written; beyond, new values are dropped and counted.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_pending: usize,
    /// rrdtool processes writing in parallel.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub workers: usize,
    /// The rrdtool program.
    #[arg(long, value_name = "PROGRAM", default_value = "rrdtool")]
    pub rrdtool: String,
    /// collectd rrdtool `StepSize`: a fixed step in seconds for new files.
    #[arg(long, value_name = "SECS")]
    pub step_size: Option<u64>,
    /// collectd rrdtool `HeartBeat`: a fixed heartbeat in seconds for new files.
    #[arg(long, value_name = "SECS")]
    pub heartbeat: Option<u64>,
    /// collectd rrdtool `RRARows`.
    #[arg(long, value_name = "N", default_value_t = 1200)]
    pub rra_rows: u32,
    /// collectd rrdtool `RRATimespan` (seconds; repeatable or comma-separated).
    #[arg(long = "rra-timespan", value_name = "SECS", value_delimiter = ',')]
    pub rra_timespans: Vec<u64>,
    /// collectd rrdtool `XFF`, in [0, 1).
    #[arg(long, value_name = "FRACTION", default_value_t = 0.1)]
    pub xff: f64,
}

/// Checks the options and reads the types database (its skipped lines are reported).
pub fn config(args: &ReceiveArgs) -> anyhow::Result<ReceiverConfig> {
    let bad = |option: &'static str, reason: String| anyhow::anyhow!("--{option}: {reason}");
    if !(args.interval.is_finite() && args.interval > 0.0) {
        return Err(bad("interval", format!("{} is not a positive number of seconds", args.interval)));
    }
    if !(args.flush_interval.is_finite() && args.flush_interval > 0.0) {
        return Err(bad("flush-interval", format!("{} is not a positive number of seconds", args.flush_interval)));
    }
    if !(0.0..1.0).contains(&args.xff) {
        return Err(bad("xff", format!("{} is not in [0, 1)", args.xff)));
    }
    for (option, value) in
        [("batch-size", args.batch_size), ("max-pending", args.max_pending), ("workers", args.workers)]
    {
        if value == 0 {
            return Err(bad(option, "must be at least 1".into()));
        }
    }
    if args.rra_rows == 0 {
        return Err(bad("rra-rows", "must be at least 1".into()));
    }
    if args.rra_timespans.contains(&0) {
        return Err(bad("rra-timespan", "timespans must be above 0".into()));
    }
    let types = if args.types_db.is_empty() {
        TypesDb::builtin()
    } else {
        let (db, warnings) = TypesDb::load(&args.types_db)?;
        for (path, warning) in warnings {
            log::warn!("types.db {}: {warning}; line skipped", path.display());
        }
        db
    };
    let listen = parse_listen_addr(&args.listen.listen).map_err(flag_error)?;
    let mut timespans = args.rra_timespans.clone();
    timespans.sort_unstable();
    Ok(ReceiverConfig {
        listen,
        interface: args.listen.interface.clone(),
        receive_buffer: args.listen.receive_buffer,
        security_level: args.listen.security_level,
        auth_file: args.listen.auth_file.clone(),
        data_dir: args.data_dir.clone(),
        types: Arc::new(types),
        default_interval: CdTime::from_secs_f64(args.interval),
        writer: WriterConfig {
            flush_interval: Duration::from_secs_f64(args.flush_interval),
            batch_size: args.batch_size,
            max_pending: args.max_pending,
            threads: args.workers,
            create: CreateConfig {
                step_size: args.step_size,
                heartbeat: args.heartbeat,
                rra_rows: args.rra_rows,
                rra_timespans: timespans,
                xff: args.xff,
            },
        },
    })
}

/// `collectd-view receive`: runs until SIGINT or SIGTERM, then writes what is pending and
/// prints the counters. A second signal exits at once.
pub fn run(args: ReceiveArgs) -> anyhow::Result<()> {
    let config = config(&args)?;
    let pool =
        Pool::new(PoolConfig { program: args.rrdtool.clone().into(), workers: args.workers, ..PoolConfig::default() })
            .with_context(|| format!("--rrdtool {}", args.rrdtool))?;
    let term = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 1, term.clone())
            .context("installing signal handlers")?;
        signal_hook::flag::register(signal, term.clone()).context("installing signal handlers")?;
    }
    let types = config.types.len();
    let data_dir = config.data_dir.clone();
    // The AuthFile is checked here too, to name the flags of what is wrong.
    args.listen.auth()?;
    let receiver = Receiver::start(config, pool).map_err(|e| match e {
        ReceiverError::Listen(e) => flag_error(e),
        ReceiverError::DataDir { path, source } => anyhow::anyhow!("--data-dir {}: {source}", path.display()),
        other => other.into(),
    })?;
    log::info!(
        "receive: {}; writing RRD files to {} ({} types known)",
        receiver.description(),
        data_dir.display(),
        types
    );
    while !term.load(Ordering::Relaxed) {
        std::thread::sleep(POLL);
    }
    log::info!("receive: stopping; writing pending values");
    let stats = receiver.stop();
    log::info!("receive: stopped; {stats}");
    Ok(())
}
