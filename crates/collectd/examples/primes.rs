//! The original module's "more complex example": a producer thread draws random numbers
//! and queues those in range, a consumer thread tests them for primality, and a watcher
//! thread reports the queue's length.
//!
//! ```text
//! cargo run --example primes -- --collectd-host 127.0.0.1 --interval 1 --quiet --duration 30
//! ```
//!
//! A collectd server with the rrdtool plugin then has, under `HOST/any/` (or
//! `HOST/any-INST/` with `--plugin-instance INST`):
//!
//! * `gauge-queue-size.rrd`: a snapshot of the length of the queue of numbers;
//! * `gauge-producer-too_small.rrd`, `gauge-producer-too_big.rrd`: counts of the numbers
//!   the producer discarded for being below 2 or above 10^9;
//! * `gauge-producer-just_right.rrd`: a count of the numbers queued for the consumer;
//! * `gauge-consumer-count.rrd`: a count of the numbers the consumer tested, and
//!   `gauge-consumer-prime-count.rrd`, `gauge-consumer-composite-count.rrd` by outcome;
//! * `gauge-consumer-time.rrd`: the wall-clock seconds spent testing them, and
//!   `gauge-consumer-prime-time.rrd`, `gauge-consumer-composite-time.rrd` by outcome.
//!
//! A file appears once its statistic was first recorded: a short run may, for instance,
//! never draw a number that is too small.
//!
//! Differences from the original: the queue is bounded (the original's grows without
//! limit when the consumer falls behind), primality is tested by trial division up to
//! the square root (the original tries every number below `n`: seconds for a prime near
//! 10^9), and the watcher samples the queue every 10 ms instead of in a busy loop.

mod common;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use collectd::Connection;
use common::{Rng, Totals};

/// Numbers waiting for the consumer, at most.
const QUEUE_CAPACITY: usize = 100;
/// How often the watcher samples the queue's length.
const WATCH_EVERY: Duration = Duration::from_millis(10);

fn usage() -> String {
    format!(
        "Tests random numbers for primality in a consumer thread, fed through a queue by a
producer thread, and sends statistics about both to a collectd server.

Usage: primes [FLAGS]

{}
  --quiet                do not print a line for every number tested
  --report FILE          with --duration: at exit, write the total recorded for each
                         statistic to FILE, one `name total` line each
  --help                 print this help",
        common::COMMON_USAGE
    )
}

fn is_prime(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| !n.is_multiple_of(d))
}

/// The length of the queue: a `sync_channel` does not tell it, so the two threads keep
/// count. It includes the number the producer is handing over (waiting for room) and
/// the one the consumer just took, so it may read up to two more than the capacity.
struct QueueLength(AtomicUsize);

/// Draws numbers as the original does, `int((time.time() % 30) ** normalvariate(5, 2))`,
/// and queues those from 2 to 10^9, until `stop`.
fn producer(conn: &Connection, numbers: SyncSender<u64>, length: &QueueLength, stop: &AtomicBool) -> Totals {
    let mut rng = Rng::from_time();
    let mut totals = Totals::default();
    let producer = conn.counter("producer");
    while !stop.load(Ordering::Relaxed) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        // `as` saturates: a huge (or infinite) power becomes u64::MAX, which is too big.
        let n = (now % 30.0).powf(rng.normalvariate(5.0, 2.0)) as u64;
        let outcome = match n {
            0..2 => "too_small",
            2..=1_000_000_000 => "just_right",
            _ => "too_big",
        };
        producer.record(&[], &[(outcome, 1.0)]);
        totals.add("producer", &[], &[(outcome, 1.0)]);
        if outcome == "just_right" {
            length.0.fetch_add(1, Ordering::Relaxed);
            // Blocks while the queue is full. It only fails once the consumer is gone.
            if numbers.send(n).is_err() {
                break;
            }
        }
    }
    totals
}

/// Tests every queued number, until the producer is gone and the queue is empty.
fn consumer(conn: &Connection, numbers: Receiver<u64>, length: &QueueLength, quiet: bool) -> Totals {
    let mut totals = Totals::default();
    let mut print = !quiet;
    for n in numbers {
        length.0.fetch_sub(1, Ordering::Relaxed);
        let before = Instant::now();
        let primality = is_prime(n);
        let elapsed = before.elapsed().as_secs_f64();
        let kind = if primality { "prime" } else { "composite" };
        if print {
            // Stop printing, not testing, once nobody reads (`primes | head`).
            print = common::say(format_args!("{n} is {}", if primality { "prime" } else { "not prime" }));
        }
        collectd::record!(conn, consumer, kind; count = 1, time = elapsed);
        totals.add("consumer", &[kind], &[("count", 1.0), ("time", elapsed)]);
    }
    totals
}

/// Reports the queue's length every 10 ms, until `stop`.
fn watch_queue(conn: &Connection, length: &QueueLength, stop: &AtomicBool) {
    let queue = conn.counter("queue");
    while !stop.load(Ordering::Relaxed) {
        queue.set_exact(&[("size", length.0.load(Ordering::Relaxed) as f64)]);
        std::thread::sleep(WATCH_EVERY);
    }
}

fn main() -> ExitCode {
    let mut quiet = false;
    let mut report: Option<PathBuf> = None;
    let options = common::parse_args(&usage(), |args, flag| {
        match flag.name.as_str() {
            "--quiet" => {
                args.no_value(flag)?;
                quiet = true;
            }
            "--report" => report = Some(args.value(flag)?),
            _ => return Ok(false),
        }
        Ok(true)
    });
    let conn = match common::start(&options, report.is_some()) {
        Ok(conn) => conn,
        Err(code) => return code,
    };

    let (sender, receiver) = sync_channel(QUEUE_CAPACITY);
    let length = QueueLength(AtomicUsize::new(0));
    let stop = AtomicBool::new(false);
    let totals = std::thread::scope(|scope| {
        let producer = scope.spawn(|| producer(&conn, sender, &length, &stop));
        let consumer = scope.spawn(|| consumer(&conn, receiver, &length, quiet));
        let watcher = scope.spawn(|| watch_queue(&conn, &length, &stop));
        // Until --duration has passed, or Ctrl-C / SIGTERM.
        common::wait_for_the_end(options.duration);
        // The producer stops; the consumer empties the queue and stops when the producer is gone.
        stop.store(true, Ordering::Relaxed);
        let mut totals = producer.join().expect("the producer does not panic");
        totals.merge(consumer.join().expect("the consumer does not panic"));
        watcher.join().expect("the watcher does not panic");
        totals
    });

    // Sends what was recorded since the last interval, then stops the sender: without
    // it, a program loses what it recorded since the last interval.
    collectd::shutdown();
    common::say(format_args!(
        "tested {} numbers: {} prime, {} composite",
        totals.get("consumer-count"),
        totals.get("consumer-prime-count"),
        totals.get("consumer-composite-count"),
    ));
    common::print_summary(&conn);
    if let Some(path) = report
        && let Err(error) = totals.write(&path)
    {
        eprintln!("error: cannot write {}: {error}", path.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
