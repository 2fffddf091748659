//! End to end: a program instrumented with `metrics` ships to a real collectd 5.12.
#![cfg(feature = "metrics")]

use std::time::Duration;

use collectd::metrics::CollectdRecorder;

#[test]
fn counters_gauges_and_histograms_land_in_the_documented_files() {
    if testkit::require_collectd().is_none() {
        eprintln!("skipped: collectd is not installed");
        return;
    }
    let collectd = testkit::Collectd::builder()
        .interval(1)
        .listen(testkit::Security::None)
        .csv(true)
        .rrdtool(true)
        .start()
        .expect("collectd starts");
    let recorder = CollectdRecorder::builder()
        .hostname("metrics-app")
        .collectd_host("127.0.0.1")
        .collectd_port(collectd.port())
        .interval(Duration::from_secs(1))
        .install()
        .expect("the recorder installs");

    metrics::counter!("coin_stats.flips", "specific" => "heads").increment(3);
    metrics::counter!("coin_stats.flips", "specific" => "tails").increment(2);
    metrics::gauge!("queue.size").set(12.5);
    for v in [0.5, 1.5, 2.5] {
        metrics::histogram!("consumer.time").record(v);
    }
    recorder.connection().flush();

    let files = [
        ("gauge-coin_stats-flips", 5.0),
        ("gauge-coin_stats-heads-flips", 3.0),
        ("gauge-coin_stats-tails-flips", 2.0),
        ("gauge-queue-size", 12.5),
        ("gauge-consumer-time_count", 3.0),
        ("gauge-consumer-time_sum", 4.5),
        ("gauge-consumer-time_min", 0.5),
        ("gauge-consumer-time_max", 2.5),
        ("gauge-consumer-time_mean", 1.5),
        ("gauge-consumer-time_p50", 1.5),
    ];
    for (file, expected) in files {
        collectd
            .wait_for_file(format!("rrd/metrics-app/any/{file}.rrd"), Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{file}.rrd: {e}"));
        let rows = collectd
            .wait_until(Duration::from_secs(10), || {
                let rows = collectd.csv_rows("metrics-app", "any", file);
                (!rows.is_empty()).then_some(rows)
            })
            .unwrap_or_else(|e| panic!("{file} CSV: {e}"));
        assert!((rows[0].1[0] - expected).abs() < 1e-6, "{file}: {rows:?}");
    }
    collectd::shutdown();
}
