//! `collectd-view demo`: the whole chain on loopback (the library's traffic → the embedded
//! receiver → RRD files → the web interface), with no collectd server to install.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use collectd_rrd::receive::{Receiver, ReceiverConfig};
use collectd_rrd::rrdtool::{Pool, PoolConfig};

use crate::demo;
use crate::web::{self, ServeConfig};

/// Options of `collectd-view demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct DemoArgs {
    /// Where the web interface listens (loopback unless told otherwise; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Where the embedded receiver listens for collectd datagrams (default: a free loopback port).
    #[arg(long)]
    pub receive: Option<SocketAddr>,
    /// The DataDir to write (default: a temporary directory, removed at exit).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub duration: Option<f64>,
}

/// Runs the demo until Ctrl-C or the duration.
pub fn run(args: DemoArgs) -> Result<()> {
    let temporary = match &args.data_dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new().prefix("collectd-view-demo-").tempdir().context("creating a data directory")?,
        ),
    };
    let data_dir =
        args.data_dir.clone().unwrap_or_else(|| temporary.as_ref().expect("created above").path().to_path_buf());
    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;

    let pool = Pool::new(PoolConfig::default()).context("starting rrdtool")?;
    let listen = args.receive.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let receiver = Receiver::start(ReceiverConfig::new(listen, &data_dir), pool).context("starting the receiver")?;
    let receive_addr = receiver.local_addr();

    let mut serve = ServeConfig::new(&data_dir);
    serve.listen = args.listen;
    serve.rescan = Duration::from_secs(2);
    let state = web::open(&serve).context("opening the web interface")?;
    let server = web::spawn(state, args.listen).with_context(|| {
        format!("listening on {} (is it taken? --listen 127.0.0.1:0 picks a free port)", args.listen)
    })?;

    println!("collectd-view demo");
    println!("  receiver:      udp://{receive_addr}  (writing RRD files like collectd's rrdtool plugin)");
    println!("  data dir:      {}", data_dir.display());
    println!("  traffic:       the original's examples: hosts web1, web2 (basic), worker1 (primes), every 1 s");
    println!("  web interface: {}", server.url());
    match args.duration {
        Some(secs) => println!("running for {secs} s"),
        None => println!("press Ctrl-C to stop"),
    }

    let stop = Arc::new(AtomicBool::new(false));
    let traffic = demo::start_traffic(receive_addr, &stop);
    match collectd::start_threads() {
        Ok(()) | Err(collectd::Error::AlreadyStarted) => {}
        Err(error) => return Err(error).context("starting the library's sender"),
    }

    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, interrupted.clone()).context("installing signal handlers")?;
    }
    let deadline = args.duration.map(|secs| Instant::now() + Duration::from_secs_f64(secs.max(0.0)));
    while !interrupted.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
        std::thread::sleep(Duration::from_millis(100));
    }

    println!("stopping: sending the last interval and writing what is pending");
    stop.store(true, Ordering::Relaxed);
    for thread in traffic {
        let _ = thread.join();
    }
    // shutdown() has sent the last interval into the receiver's socket; stop() reads
    // what the socket holds before it ends.
    collectd::shutdown();
    let stats = receiver.stop();
    println!("receiver: {stats}");
    server.stop().context("stopping the web interface")?;
    drop(temporary);
    Ok(())
}
