//! The background threads against a real collectd 5.12.
//!
//! `start_threads` is process-wide, so this file holds a single test: no other test in
//! this binary may start or stop the threads.

use std::collections::BTreeMap;
use std::thread;
use std::time::{Duration, Instant};

use collectd::Connection;
use testkit::{Collectd, CsvRow, Security};

/// How long to wait for collectd to write what was sent.
const LANDING: Duration = Duration::from_secs(10);

fn sum(rows: &[CsvRow]) -> f64 {
    rows.iter().map(|(_, values)| values[0]).sum()
}

/// Records from several threads over a few 1-second intervals: the periodic snapshots
/// arrive while recording goes on, and `shutdown` sends the last partial interval, so
/// every recorded value is in collectd's files. A second `start_threads` is refused;
/// after `shutdown` the threads can be started again.
#[test]
fn periodic_sends_and_shutdown_lose_nothing() {
    if testkit::require_collectd().is_none() {
        eprintln!("skipped: collectd is not installed");
        return;
    }
    let cd = Collectd::builder().interval(1).listen(Security::None).csv(true).start().expect("collectd starts");
    let conn = Connection::builder()
        .hostname("threads")
        .collectd_host("127.0.0.1")
        .collectd_port(cd.port())
        .interval(Duration::from_secs(1))
        .build();
    let rows = |name: &str| cd.csv_rows("threads", "any", &format!("gauge-{name}"));

    collectd::start_threads().expect("the threads start");
    assert!(matches!(collectd::start_threads(), Err(collectd::Error::AlreadyStarted)));

    // Three recording threads (which end before the shutdown) and this one, every 10 ms
    // for 3.3 s: about three periodic snapshots, then a partial interval.
    const THREADS: usize = 3;
    let started = Instant::now();
    let record_for = |specific: &'static str, value: f64| {
        let (conn, started) = (conn.clone(), started);
        move || {
            let work = conn.counter("work");
            let mut recorded = 0.0;
            while started.elapsed() < Duration::from_millis(3300) {
                work.record(&[specific], &[("items", value)]);
                recorded += value;
                // Pacing, not synchronising: the records are spread over real 1-second
                // intervals (collectd stores at most one value per second), so periodic
                // snapshots are taken while recording goes on. The end is a join.
                thread::sleep(Duration::from_millis(10));
            }
            recorded
        }
    };
    let workers: Vec<_> = (0..THREADS).map(|_| thread::spawn(record_for("worker", 0.25))).collect();
    let main_total = record_for("main", 1.0)();
    let worker_total: f64 = workers.into_iter().map(|w| w.join().expect("the worker does not panic")).sum();

    // The periodic snapshots arrived without any flush.
    cd.wait_until(Duration::from_secs(3), || rows("work-items").len() >= 3)
        .unwrap_or_else(|e| panic!("{e}\nperiodic rows: {:?}", rows("work-items")));
    assert!(sum(&rows("work-items")) > 0.0, "periodic rows: {:?}", rows("work-items"));

    // Some records after the last snapshot, then shutdown sends them.
    conn.counter("work").record(&["main"], &[("items", 1.0)]);
    let main_total = main_total + 1.0;
    collectd::shutdown();

    let expected = BTreeMap::from([
        ("work-items", main_total + worker_total),
        ("work-main-items", main_total),
        ("work-worker-items", worker_total),
    ]);
    let sums = || expected.keys().map(|name| (*name, sum(&rows(name)))).collect::<BTreeMap<_, _>>();
    cd.wait_until(LANDING, || sums() == expected)
        .unwrap_or_else(|e| panic!("{e}\nexpected {expected:?}\ngot {:?}", sums()));
    let all = rows("work-items");
    assert!(all.len() >= 4, "{all:?}");
    let times: Vec<f64> = all.iter().map(|(time, _)| *time).collect();
    assert!(times.windows(2).all(|w| w[1] - w[0] >= 0.999), "rows less than a second apart: {times:?}");
    assert_eq!(conn.sender_stats().send_errors, 0);
    assert_eq!(conn.sender_stats().snapshots_dropped, 0);

    // After shutdown the threads may be started again, and stopped again.
    collectd::start_threads().expect("the threads start again after shutdown");
    conn.counter("work").record(&["main"], &[("items", 2.0)]);
    collectd::shutdown();
    let expected_after = main_total + 2.0;
    cd.wait_until(LANDING, || sum(&rows("work-main-items")) == expected_after)
        .unwrap_or_else(|e| panic!("{e}\nwork-main-items rows: {:?}", rows("work-main-items")));
}
