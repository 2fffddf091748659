//! Where series come from: the RRD DataDir (the default) or a Prometheus-compatible
//! database.

pub mod prometheus;
