//! `counter!(..).increment(1)` through the collectd recorder and through the Prometheus one, same run.

use criterion::{Criterion, criterion_group, criterion_main};
use metrics_exporter_prometheus::PrometheusBuilder;

fn counter_increment(c: &mut Criterion) {
    let collectd = collectd::metrics::CollectdRecorder::builder()
        .hostname("bench-metrics")
        .collectd_host("127.0.0.1")
        .collectd_port(9)
        .build();
    let prometheus = PrometheusBuilder::new().build_recorder();
    let mut group = c.benchmark_group("metrics_counter_increment");
    metrics::with_local_recorder(&collectd, || {
        group.bench_function("collectd", |b| {
            b.iter(|| metrics::counter!("coin_stats_flips", "specific" => "heads").increment(1))
        });
    });
    metrics::with_local_recorder(&prometheus, || {
        group.bench_function("prometheus", |b| {
            b.iter(|| metrics::counter!("coin_stats_flips", "specific" => "heads").increment(1))
        });
    });
    group.finish();
    // Keep the sums from growing into the unrepresentable.
    collectd.connection().take_datagrams();
}

criterion_group!(benches, counter_increment);
criterion_main!(benches);
