//! A [`metrics`](https://docs.rs/metrics) recorder that ships counters, gauges and histograms to collectd.
//!
//! Any program instrumented with the `metrics` crate reaches collectd by installing one
//! recorder (feature `metrics` of this crate):
//!
//! ```no_run
//! let recorder = collectd::metrics::CollectdRecorder::builder()
//!     .collectd_host("127.0.0.1")
//!     .interval(std::time::Duration::from_secs(10))
//!     .install()
//!     .expect("no other recorder installed");
//! metrics::counter!("coin_stats.flips", "specific" => "heads").increment(1);
//! metrics::gauge!("queue.size").set(12.0);
//! metrics::histogram!("consumer.time", "specific" => "prime").record(0.25);
//! # drop(recorder);
//! ```
//!
//! It records through the library's own aggregation and sender: the files land as
//! `HOST/any[-INST]/gauge-CATEGORY[-SPECIFIC]-STAT.rrd`, exactly like the original
//! module's, and the web interface drills down into them the same way.
//!
//! # From metric names and labels to category, specific and stat
//!
//! | metric | labels | category | specific(s) | stat | file(s) |
//! |---|---|---|---|---|---|
//! | `coin_stats.flips` | | `coin_stats` | | `flips` | `gauge-coin_stats-flips` |
//! | `coin_stats.flips` | `specific=heads` | `coin_stats` | `heads` | `flips` | `gauge-coin_stats-flips`, `gauge-coin_stats-heads-flips` |
//! | `http_requests_total` | `method=GET` | `http` | `method_GET` | `requests_total` | `gauge-http-requests_total`, `gauge-http-method_GET-requests_total` |
//! | `http_requests_total` | `method=GET`, `code=200` | `http` | `method_GET`, `code_200` | `requests_total` | the base and one file per label |
//! | `uptime` | | the default category (`metrics`) | | `uptime` | `gauge-metrics-uptime` |
//!
//! - The category is the name up to its first `.`, or else up to its first `_`; a name
//!   with neither goes to the default category ([`RecorderBuilder::default_category`]).
//!   The stat is the rest of the name.
//! - The label `specific` gives a specific named by its value; every other label gives a
//!   specific `KEY_VALUE`. As with `record(&specifics, ..)`, each specific gets the value
//!   and the base (the file without a specific) gets it once.
//! - Names are sanitised and kept within collectd's 127 bytes as the library does
//!   ([`crate::sanitize`]); a refused or shortened name is logged once.
//!
//! # Counters, gauges, histograms
//!
//! - **Counters** send their increments per interval, summed like `record()`: a file shows
//!   how much was added in each interval. `absolute(n)` adds the difference from the
//!   previous absolute value (or `n` after a reset).
//! - **Gauges** send their current value every interval, **kept until changed** — unlike
//!   [`Counter::set_exact`](crate::Counter::set_exact), whose value is reset to 0 after
//!   each snapshot. The base of a labelled gauge is the sum of its label sets' values.
//! - **Histograms** send, per interval, the stats `STAT_count`, `STAT_sum`, `STAT_min`,
//!   `STAT_max`, `STAT_mean`, `STAT_p50`, `STAT_p90` and `STAT_p99` of the values recorded
//!   in that interval (for the base: all label sets together). An interval without values
//!   sends 0 for all of them once they exist.
//!
//! # Modules
//!
//! `builder` (settings, install), `recorder` (the `metrics::Recorder` and its per-thread
//! handle cache), `state` (a recorder's handles and what it does before each snapshot),
//! `storage` (the counter, gauge and histogram handles), `summary` (a histogram's
//! interval summary) and `naming` (metric name and labels to category, stat, specifics).
//! They record through the client's aggregation, the same as `Counter::record`.

mod builder;
mod naming;
mod recorder;
mod state;
mod storage;
mod summary;

pub use builder::{InstallError, RecorderBuilder};
pub use recorder::CollectdRecorder;
