//! `collectd-view demo`: the whole chain on loopback, with no collectd server to install.
//!
//! The library sends the original module's two examples (at a 1-second interval) to the
//! embedded receiver, which writes RRD files as collectd's rrdtool plugin would, and the
//! web interface shows them. Real deployments keep a real collectd in the receiver's place.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver as Queue, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use collectd::Connection;

use crate::receiver::{Receiver, ReceiverConfig};
use crate::rrdtool::{Pool, PoolConfig};
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

/// How often the demo's connections send: the examples at a 1-second interval.
const INTERVAL: Duration = Duration::from_secs(1);

/// A small xorshift64* generator: the demo's traffic needs variety, not quality.
struct Random(u64);

impl Random {
    fn seeded(salt: u64) -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        Random((nanos ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }

    /// A float in [0, 1).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A normally distributed float (Box–Muller).
    fn normal(&mut self, mean: f64, deviation: f64) -> f64 {
        let (u, v) = (self.next().max(f64::MIN_POSITIVE), self.next());
        mean + deviation * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Sleeps up to `duration`, returning early (false) when asked to stop.
fn pause(stop: &AtomicBool, duration: Duration) -> bool {
    let end = Instant::now() + duration;
    while Instant::now() < end {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20).min(end.saturating_duration_since(Instant::now())));
    }
    !stop.load(Ordering::Relaxed)
}

/// The original's first example: some_category and coin flips, at a brisker pace.
fn basic(conn: Connection, stop: Arc<AtomicBool>, salt: u64) {
    let mut random = Random::seeded(salt);
    loop {
        conn.counter("some_category").record(&[], &[("some_counter", 1.0), ("another_stat", random.next())]);
        let side = if random.next() < 0.5 { "heads" } else { "tails" };
        conn.counter("coin_stats").record(&[side], &[("flips", 1.0)]);
        if !pause(&stop, Duration::from_millis(50 + (random.next() * 150.0) as u64)) {
            return;
        }
    }
}

fn is_prime(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| !n.is_multiple_of(d))
}

/// The original's second example: a producer, a consumer and a queue watcher.
fn primes(conn: Connection, stop: Arc<AtomicBool>) -> Vec<JoinHandle<()>> {
    let (sender, queue): (SyncSender<u64>, Queue<u64>) = sync_channel(100);
    let queued = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let producer = {
        let (conn, stop, queued) = (conn.clone(), stop.clone(), queued.clone());
        std::thread::spawn(move || {
            let mut random = Random::seeded(7);
            while pause(&stop, Duration::from_millis(20)) {
                let base = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()) % 30.0;
                let n = base.powf(random.normal(5.0, 2.0));
                if n < 2.0 {
                    conn.counter("producer").record(&[], &[("too_small", 1.0)]);
                } else if n > 1e9 {
                    conn.counter("producer").record(&[], &[("too_big", 1.0)]);
                } else {
                    match sender.try_send(n as u64) {
                        Ok(()) => {
                            queued.fetch_add(1, Ordering::Relaxed);
                            conn.counter("producer").record(&[], &[("just_right", 1.0)]);
                        }
                        Err(TrySendError::Full(_)) => {}
                        Err(TrySendError::Disconnected(_)) => return,
                    }
                }
            }
        })
    };
    let consumer = {
        let (conn, stop, queued) = (conn.clone(), stop.clone(), queued.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok(n) = queue.recv_timeout(Duration::from_millis(100)) else { continue };
                queued.fetch_sub(1, Ordering::Relaxed);
                let before = Instant::now();
                let kind = if is_prime(n) { "prime" } else { "composite" };
                let elapsed = before.elapsed().as_secs_f64();
                conn.counter("consumer").record(&[kind], &[("count", 1.0), ("time", elapsed)]);
            }
        })
    };
    let watcher = std::thread::spawn(move || {
        while pause(&stop, Duration::from_millis(100)) {
            conn.counter("queue").set_exact(&[("size", queued.load(Ordering::Relaxed) as f64)]);
        }
    });
    vec![producer, consumer, watcher]
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
    let connect = |host: &str| {
        Connection::builder()
            .hostname(host)
            .collectd_host(receive_addr.ip().to_string())
            .collectd_port(receive_addr.port())
            .interval(INTERVAL)
            .build()
    };
    let mut traffic = Vec::new();
    for (salt, host) in ["web1", "web2"].into_iter().enumerate() {
        let (conn, stop) = (connect(host), stop.clone());
        traffic.push(std::thread::spawn(move || basic(conn, stop, salt as u64)));
    }
    traffic.extend(primes(connect("worker1"), stop.clone()));
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
    collectd::shutdown();
    // Let the last datagrams reach the receiver's socket before it stops.
    std::thread::sleep(Duration::from_millis(300));
    let stats = receiver.stop();
    println!("receiver: {stats}");
    server.stop().context("stopping the web interface")?;
    drop(temporary);
    Ok(())
}
