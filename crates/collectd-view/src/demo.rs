//! The demo's traffic: the original module's two examples, sent by the library.
//!
//! `collectd-view demo` ([`crate::cli::demo`]) wires them to the embedded receiver and the
//! web interface, so the whole chain runs on loopback with no collectd server to install:
//! the library sends the original module's two examples (at a 1-second interval) to the
//! embedded receiver, which writes RRD files as collectd's rrdtool plugin would, and the
//! web interface shows them. Real deployments keep a real collectd in the receiver's place.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver as Queue, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use collectd::Connection;

/// How often the demo's connections send: the examples at a 1-second interval.
pub const INTERVAL: Duration = Duration::from_secs(1);

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
                    // Counted before it is sent: once sent, the consumer may take it (and
                    // count it out) before this thread runs again, and an unsigned counter
                    // taken below zero wraps to 2^64.
                    queued.fetch_add(1, Ordering::Relaxed);
                    match sender.try_send(n as u64) {
                        Ok(()) => conn.counter("producer").record(&[], &[("just_right", 1.0)]),
                        Err(TrySendError::Full(_)) => {
                            queued.fetch_sub(1, Ordering::Relaxed);
                        }
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

/// The hosts the traffic comes from: two run the first example, one the second.
pub const HOSTS: [&str; 3] = ["web1", "web2", "worker1"];

/// Starts the examples' threads, sending to `receiver` every [`INTERVAL`] until `stop` is
/// set; the caller starts the library's sender (`collectd::start_threads`) and joins them.
pub fn start_traffic(receiver: SocketAddr, stop: &Arc<AtomicBool>) -> Vec<JoinHandle<()>> {
    let connect = |host: &str| {
        Connection::builder()
            .hostname(host)
            .collectd_host(receiver.ip().to_string())
            .collectd_port(receiver.port())
            .interval(INTERVAL)
            .build()
    };
    let mut traffic = Vec::new();
    for (salt, host) in HOSTS[..2].iter().enumerate() {
        let (conn, stop) = (connect(host), stop.clone());
        traffic.push(std::thread::spawn(move || basic(conn, stop, salt as u64)));
    }
    traffic.extend(primes(connect(HOSTS[2]), stop.clone()));
    traffic
}
