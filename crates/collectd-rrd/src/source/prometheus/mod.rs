//! A Prometheus-compatible database (Prometheus, VictoriaMetrics, Thanos, Mimir) as a
//! source of collectd's series, through the Prometheus HTTP query API.

pub mod client;
pub mod naming;
