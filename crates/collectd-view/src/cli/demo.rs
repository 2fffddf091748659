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

/// What the demo prints when it starts: where everything is, that a temporary data dir is
/// removed at exit, how to send one's own statistics to it, and how to run `ls` and
/// `graph` on its files.
pub fn banner(
    web: &str,
    receive_addr: SocketAddr,
    data_dir: &std::path::Path,
    temporary: bool,
    duration: Option<f64>,
) -> String {
    let dir = data_dir.display();
    let kept = if temporary { "temporary: removed when the demo stops (--data-dir DIR keeps it)" } else { "kept" };
    let (ip, port) = (receive_addr.ip(), receive_addr.port());
    let stop = match duration {
        Some(secs) => format!("running for {secs} s"),
        None => "press Ctrl-C to stop".to_owned(),
    };
    format!(
        "collectd-view demo\n\
         \x20 web interface: {web}/\n\
         \x20 receiver:      udp://{receive_addr}  (writes RRD files like collectd's rrdtool plugin)\n\
         \x20 data dir:      {dir}  ({kept})\n\
         \x20 traffic:       the original's examples: hosts web1, web2 (basic), worker1 (primes), every 1 s\n\
         \n\
         Send your own statistics to the receiver: in collectd.conf,\n\
         \x20   LoadPlugin network\n\
         \x20   <Plugin network>\n\
         \x20     Server \"{ip}\" \"{port}\"\n\
         \x20   </Plugin>\n\
         or from this library: Connection::builder().collectd_host(\"{ip}\").collectd_port({port}).\n\
         \n\
         The command line on the same files (while the demo runs):\n\
         \x20   collectd-view ls --data-dir {dir}\n\
         \x20   collectd-view graph --data-dir {dir} --host web1 --category coin_stats --stat flips -o flips.png\n\
         \n\
         {stop}\n"
    )
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

    print!("{}", banner(&server.url(), receive_addr, &data_dir, temporary.is_some(), args.duration));
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
    if let Some(t) = temporary {
        println!("removing the temporary data dir {}", t.path().display());
        drop(t);
    }
    Ok(())
}
