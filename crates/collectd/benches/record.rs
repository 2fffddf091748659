//! The recording path against its peers, measured in one process so ratios hold up on a noisy machine.
//!
//! Groups (each compares ours with a peer in the same run):
//! - `record`: `conn.counter("coin_stats").record(&["heads"], &[("flips", 1.0)])` against
//!   `metrics::counter!("coin_stats_flips", "specific" => "heads").increment(1)` with
//!   `metrics-exporter-prometheus`'s recorder installed.
//! - `record_held`: the same record with the counter held in a variable, against the same peer.
//! - `stat_add`: a stat handle's `add` against a bare compare-and-swap `f64` add on an `AtomicU64`.
//! - `two_threads`: one and two threads recording the same stat at once, for ours and the
//!   peer; the throughput (elements/s) is the combined number of records per second.
//! - `snapshot`: snapshot and encode of 10,000 distinct stats (`take_datagrams`, which
//!   encodes without sending).
//!
//! Run with `cargo bench -p collectd --bench record` (add `-- --warm-up-time 1
//! --measurement-time 3` for a shorter run). Nothing is sent: the connections point at
//! loopback ports and only `take_datagrams` is called.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use collectd::Connection;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// A connection on loopback; these benchmarks never send anything to it.
fn connection(port: u16) -> Connection {
    Connection::builder().hostname("bench").collectd_host("127.0.0.1").collectd_port(port).build()
}

/// Installs the Prometheus exporter's recorder as the process's `metrics` recorder (once).
fn install_prometheus_recorder() {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap();
    if !*installed {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        metrics::set_global_recorder(recorder).expect("no other recorder is installed");
        *installed = true;
    }
}

fn metrics_record() {
    metrics::counter!("coin_stats_flips", "specific" => "heads").increment(black_box(1));
}

fn record(c: &mut Criterion) {
    install_prometheus_recorder();
    let conn = connection(25_901);
    let mut group = c.benchmark_group("record");
    group.bench_function("collectd", |b| {
        b.iter(|| conn.counter("coin_stats").record(&["heads"], &[("flips", black_box(1.0))]))
    });
    group.bench_function("metrics_prometheus", |b| b.iter(metrics_record));
    group.finish();
}

fn record_held(c: &mut Criterion) {
    install_prometheus_recorder();
    let conn = connection(25_902);
    let counter = conn.counter("coin_stats");
    let mut group = c.benchmark_group("record_held");
    group.bench_function("collectd", |b| b.iter(|| counter.record(&["heads"], &[("flips", black_box(1.0))])));
    group.bench_function("metrics_prometheus", |b| b.iter(metrics_record));
    group.finish();
}

/// The peer of `Stat::add`: the least an `f64` sum in an `AtomicU64` can cost.
fn cas_add(slot: &AtomicU64, value: f64) {
    let mut current = slot.load(Ordering::Relaxed);
    loop {
        let sum = f64::from_bits(current) + value;
        match slot.compare_exchange_weak(current, sum.to_bits(), Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

fn stat_add(c: &mut Criterion) {
    let conn = connection(25_903);
    let flips = conn.counter("coin_stats").stat("flips");
    let slot = AtomicU64::new(0f64.to_bits());
    let mut group = c.benchmark_group("stat_add");
    group.bench_function("collectd", |b| b.iter(|| flips.add(black_box(1.0))));
    group.bench_function("cas_f64_add", |b| b.iter(|| cas_add(black_box(&slot), black_box(1.0))));
    group.finish();
}

/// Threads kept alive across samples, so that a sample measures recording and not
/// thread start-up (and so each keeps its thread-local state, as a real program's do).
struct Workers {
    threads: Vec<JoinHandle<()>>,
    start: Arc<Barrier>,
    done: Arc<Barrier>,
    iterations: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    /// When each worker began and ended its part of the current sample.
    spans: Arc<Mutex<Vec<(Instant, Instant)>>>,
}

impl Workers {
    fn new(count: usize, work: impl Fn() + Send + Sync + 'static) -> Self {
        let work = Arc::new(work);
        let start = Arc::new(Barrier::new(count + 1));
        let done = Arc::new(Barrier::new(count + 1));
        let iterations = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let spans = Arc::new(Mutex::new(Vec::with_capacity(count)));
        let threads = (0..count)
            .map(|_| {
                let (work, start, done) = (work.clone(), start.clone(), done.clone());
                let (iterations, stop, spans) = (iterations.clone(), stop.clone(), spans.clone());
                std::thread::spawn(move || {
                    loop {
                        start.wait();
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let began = Instant::now();
                        for _ in 0..iterations.load(Ordering::Relaxed) {
                            work();
                        }
                        let ended = Instant::now();
                        spans.lock().unwrap().push((began, ended));
                        done.wait();
                    }
                })
            })
            .collect();
        Workers { threads, start, done, iterations, stop, spans }
    }

    /// Wall time for every worker to run `work` `iterations` times, all at once: from
    /// the first worker's start to the last one's end, as the workers saw them (the
    /// thread starting the sample may itself be scheduled late).
    fn run(&self, iterations: u64) -> Duration {
        self.iterations.store(iterations, Ordering::Relaxed);
        self.start.wait();
        self.done.wait();
        let mut spans = self.spans.lock().unwrap();
        let began = spans.iter().map(|span| span.0).min().expect("every worker ran");
        let ended = spans.iter().map(|span| span.1).max().expect("every worker ran");
        spans.clear();
        ended - began
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.start.wait();
        for thread in self.threads.drain(..) {
            thread.join().expect("worker thread");
        }
    }
}

fn two_threads(c: &mut Criterion) {
    install_prometheus_recorder();
    let conn = connection(25_904);
    let ours = move || conn.counter("coin_stats").record(&["heads"], &[("flips", black_box(1.0))]);
    let mut group = c.benchmark_group("two_threads");
    for threads in [1, 2] {
        // One iteration is one record on each thread.
        group.throughput(Throughput::Elements(threads as u64));
        let workers = Workers::new(threads, ours.clone());
        group.bench_function(format!("collectd/{threads}"), |b| b.iter_custom(|n| workers.run(n)));
        drop(workers);
        let workers = Workers::new(threads, metrics_record);
        group.bench_function(format!("metrics_prometheus/{threads}"), |b| b.iter_custom(|n| workers.run(n)));
    }
    group.finish();
}

fn snapshot(c: &mut Criterion) {
    const STATS: usize = 10_000;
    let conn = connection(25_905);
    let names: Vec<String> = (0..STATS).map(|i| format!("stat_{i:05}")).collect();
    let mut group = c.benchmark_group("snapshot");
    group.throughput(Throughput::Elements(STATS as u64));
    group.bench_function("collectd/take_datagrams_10000", |b| {
        b.iter_batched(
            || {
                let many = conn.counter("many");
                for name in &names {
                    many.record(&[], &[(name, 1.0)]);
                }
            },
            |()| conn.take_datagrams(),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, record, record_held, stat_add, two_threads, snapshot);
criterion_main!(benches);
