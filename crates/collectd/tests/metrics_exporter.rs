//! The `metrics` recorder: names, labels and kinds mapped to the original module's files.
#![cfg(feature = "metrics")]

use std::collections::BTreeMap;

use collectd::metrics::CollectdRecorder;
use collectd::protocol::{ReceiveSecurity, parse};

fn recorder(name: &str) -> CollectdRecorder {
    CollectdRecorder::builder().hostname(name).collectd_host("127.0.0.1").collectd_port(9).build()
}

/// type instance → value of one snapshot of the recorder's connection.
fn snapshot(recorder: &CollectdRecorder) -> BTreeMap<String, f64> {
    let mut values = BTreeMap::new();
    for datagram in recorder.connection().take_datagrams() {
        for vl in parse(&datagram, &ReceiveSecurity::none()).value_lists() {
            assert_eq!((vl.plugin.as_ref(), vl.type_.as_ref()), ("any", "gauge"));
            values.insert(vl.type_instance.to_string(), vl.values.get(0).unwrap().as_f64());
        }
    }
    values
}

fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn counters_sum_per_interval_like_record() {
    let recorder = recorder("metrics-counters");
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("coin_stats.flips", "specific" => "heads").increment(1);
        metrics::counter!("coin_stats.flips", "specific" => "heads").increment(2);
        metrics::counter!("coin_stats.flips", "specific" => "tails").increment(4);
        metrics::counter!("http_requests_total", "method" => "GET", "code" => "200").increment(1);
        metrics::counter!("uptime").absolute(10);
        metrics::counter!("uptime").absolute(15);
    });
    assert_eq!(
        snapshot(&recorder),
        map(&[
            ("coin_stats-flips", 7.0),
            ("coin_stats-heads-flips", 3.0),
            ("coin_stats-tails-flips", 4.0),
            ("http-code_200-requests_total", 1.0),
            ("http-method_GET-requests_total", 1.0),
            ("http-requests_total", 1.0),
            ("metrics-uptime", 15.0),
        ])
    );
    // Per-interval increments: the next interval reports zero.
    assert!(snapshot(&recorder).values().all(|&v| v == 0.0));
}

#[test]
fn gauges_keep_their_value_until_changed() {
    let recorder = recorder("metrics-gauges");
    metrics::with_local_recorder(&recorder, || {
        metrics::gauge!("queue.size", "specific" => "a").set(3.0);
        metrics::gauge!("queue.size", "specific" => "b").set(4.0);
        metrics::gauge!("queue.size", "specific" => "b").increment(1.0);
    });
    let expected = map(&[("queue-a-size", 3.0), ("queue-b-size", 5.0), ("queue-size", 8.0)]);
    assert_eq!(snapshot(&recorder), expected);
    assert_eq!(snapshot(&recorder), expected, "a gauge is kept, not reset");
    metrics::with_local_recorder(&recorder, || metrics::gauge!("queue.size", "specific" => "a").decrement(3.0));
    assert_eq!(snapshot(&recorder), map(&[("queue-a-size", 0.0), ("queue-b-size", 5.0), ("queue-size", 5.0)]));
}

#[test]
fn histograms_send_summaries_per_interval() {
    let recorder = recorder("metrics-histograms");
    metrics::with_local_recorder(&recorder, || {
        for v in 1..=10 {
            metrics::histogram!("consumer.time", "specific" => "prime").record(f64::from(v));
        }
        metrics::histogram!("consumer.time", "specific" => "composite").record(100.0);
    });
    let values = snapshot(&recorder);
    assert_eq!(values["consumer-prime-time_count"], 10.0);
    assert_eq!(values["consumer-prime-time_sum"], 55.0);
    assert_eq!(values["consumer-prime-time_min"], 1.0);
    assert_eq!(values["consumer-prime-time_max"], 10.0);
    assert_eq!(values["consumer-prime-time_mean"], 5.5);
    assert_eq!(values["consumer-prime-time_p50"], 5.0);
    assert_eq!(values["consumer-prime-time_p90"], 9.0);
    assert_eq!(values["consumer-prime-time_p99"], 10.0);
    assert_eq!(values["consumer-composite-time_count"], 1.0);
    // The base summarises every label set.
    assert_eq!(values["consumer-time_count"], 11.0);
    assert_eq!(values["consumer-time_sum"], 155.0);
    assert_eq!(values["consumer-time_max"], 100.0);
    assert_eq!(values["consumer-time_min"], 1.0);
    assert_eq!(values.len(), 24);
    // No values in the next interval: zeros.
    assert!(snapshot(&recorder).values().all(|&v| v == 0.0));
}

#[test]
fn bad_names_are_handled_like_the_library_does() {
    let recorder = recorder("metrics-names");
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("a-b.c/d", "specific" => "x y").increment(1);
        metrics::counter!("a_b.c_d", "specific" => "x_y").increment(1);
        metrics::counter!(format!("cat.{}", "s".repeat(300))).increment(1);
        metrics::counter!("ok.@@@").increment(1);
    });
    let values = snapshot(&recorder);
    // Names that sanitise alike are combined, never lost.
    assert_eq!(values["a_b-c_d"], 2.0);
    assert_eq!(values["a_b-x_y-c_d"], 2.0);
    assert!(values.keys().all(|k| k.len() <= 127));
    assert_eq!(values.len(), 3, "{values:?}");
}
