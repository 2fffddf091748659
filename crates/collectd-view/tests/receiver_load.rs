//! Load test of `collectd-view receive` on loopback, bounded in time: 20,000 values/s
//! (400 files × 50 values/s, each value one second after the previous one of its file)
//! for COLLECTD_VIEW_LOADTEST_SECS seconds (10 by default; 60 for the full run).
//!
//! Checks: no crash; every value sent is received (no kernel drop, thanks to the raised
//! receive buffer) and written, and the files hold exactly the values sent; memory stays
//! flat (VmRSS at start, middle and end); SIGTERM then writes what is pending. The figures
//! are printed on stderr (`cargo test --test receiver_load -- --nocapture`).

mod cli;

use std::time::{Duration, Instant};

use cli::Proc;
use collectd::protocol::{CdTime, EncodeError, PacketWriter, Value, ValueList, WriterOptions};

const FILES: u64 = 400;
const RATE: u64 = 20_000;
const ROUNDS_PER_SEC: u64 = RATE / FILES;

fn value(round: u64, file: u64) -> f64 {
    ((round * 7 + file) % 100_000) as f64
}

#[test]
fn twenty_thousand_values_per_second() {
    if testkit::require_rrdtool().is_none() {
        return;
    }
    let secs: u64 = std::env::var("COLLECTD_VIEW_LOADTEST_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let rounds = secs * ROUNDS_PER_SEC;
    let dir = tempfile::tempdir().unwrap();
    let addr = cli::free_addr();
    let mut receiver =
        Proc::spawn_listening(&["receive", "--listen", &addr.to_string(), "--data-dir", dir.path().to_str().unwrap()]);
    let socket = cli::sender(addr);
    let t0 = cli::now() - rounds - 600;
    let names: Vec<String> = (0..FILES).map(|f| format!("f{f:03}")).collect();
    // Started: it said it listens, after its rrdtool workers started.
    let rss_start = cli::rss_kib(receiver.pid()).unwrap();
    let mut rss_middle = 0;

    // VmRSS every second while sending.
    let pid = receiver.pid();
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                samples.extend(cli::rss_kib(pid));
                // A sample a second: pacing the sampler, not waiting for anything.
                std::thread::sleep(Duration::from_secs(1));
            }
            samples
        })
    };

    let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    let (mut datagrams, mut sent) = (0u64, 0u64);
    let period = Duration::from_secs(1) / ROUNDS_PER_SEC as u32;
    let started = Instant::now();
    for round in 0..rounds {
        let due = started + period * round as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            // Pacing the traffic at its rate.
            std::thread::sleep(wait);
        }
        for (file, name) in names.iter().enumerate() {
            let vl = ValueList::new("load", "bench", "gauge", vec![Value::Gauge(value(round, file as u64))])
                .with_type_instance(name.as_str())
                .with_time(CdTime::from_secs(t0 + round))
                .with_interval(CdTime::from_secs(1));
            match writer.write(&vl) {
                Ok(()) => {}
                Err(EncodeError::PacketFull) => {
                    socket.send_to(&writer.finish().unwrap().unwrap(), addr).unwrap();
                    datagrams += 1;
                    writer.write(&vl).unwrap();
                }
                Err(e) => panic!("{e:?}"),
            }
            sent += 1;
        }
        if let Some(d) = writer.finish().unwrap() {
            socket.send_to(&d, addr).unwrap();
            datagrams += 1;
        }
        if round == rounds / 2 {
            rss_middle = cli::rss_kib(receiver.pid()).unwrap();
        }
    }
    let sending = started.elapsed();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    assert!(cli::wait_drained(addr.port(), Duration::from_secs(30)), "the receiver reads everything");
    let rss_end = cli::rss_kib(receiver.pid()).unwrap();
    assert!(receiver.is_running(), "the receiver survived");
    let stopping = Instant::now();
    let stderr = receiver.terminate();
    let stop_time = stopping.elapsed();
    let counters = cli::receiver_counters(&stderr);
    let received = cli::counter(&counters, "value_lists");
    let written = cli::counter(&counters, "written");
    eprintln!(
        "load test: {secs} s, {FILES} files: sent {sent} values in {datagrams} datagrams in {:.1} s ({:.0} values/s); \
         received {received}, lost {} (kernel drops: {}), written {written}, failed {}, backlog dropped {}; \
         {} rrdtool updates; stop took {:.2} s; VmRSS start {rss_start} KiB, middle {rss_middle} KiB, end {rss_end} KiB; \
         VmRSS each second (KiB): {samples:?}; {}",
        sending.as_secs_f64(),
        sent as f64 / sending.as_secs_f64(),
        sent - received,
        counters["kernel_drops"],
        cli::counter(&counters, "failed"),
        cli::counter(&counters, "backlog_dropped"),
        cli::counter(&counters, "updates"),
        stop_time.as_secs_f64(),
        stderr.lines().find(|l| l.contains("receive buffer")).unwrap_or_default(),
    );
    assert!(sending < Duration::from_secs_f64(secs as f64 * 1.1 + 1.0), "the sender kept the rate: {sending:?}");
    assert_eq!(received, sent, "values lost before the receiver");
    assert_eq!(written, sent, "values lost in the receiver");
    assert_eq!(cli::counter(&counters, "pending"), 0);
    assert_eq!(cli::counter(&counters, "files_created"), FILES);
    // Flat memory: what the process holds does not grow with the number of values.
    assert!(rss_end < rss_middle + 32 * 1024, "VmRSS grew from {rss_middle} to {rss_end} KiB");
    assert!(rss_end < 256 * 1024, "VmRSS {rss_end} KiB");

    // The files hold every value (the step-1 RRA keeps 3600 rows).
    let last = (t0 + rounds - 1) as i64;
    let first = last - (rounds.min(3600) as i64 - 2);
    for (file, name) in names.iter().enumerate() {
        let path = dir.path().join(format!("load/bench/gauge-{name}.rrd"));
        assert_eq!(cli::last_update(&path), Some(last), "{name}");
        let rows = testkit::rrd_fetch(&path, "AVERAGE", first - 1, last);
        let got: Vec<(i64, Option<f64>)> = rows.iter().filter(|(t, _)| *t <= last).map(|(t, v)| (*t, v[0])).collect();
        let want: Vec<(i64, Option<f64>)> =
            (first..=last).map(|t| (t, Some(value((t as u64) - t0, file as u64)))).collect();
        assert_eq!(got, want, "{name}");
    }
}
