//! Test support: starts real collectd processes on loopback in temporary directories.
//!
//! This crate is a dev-dependency of the workspace's integration tests. It
//! owns everything those tests need to talk to the real thing:
//!
//! * [`require_collectd`] / [`require_rrdtool`] / [`require_rrdcached`]: find
//!   the Debian binaries, or decide that interop tests are skipped on this
//!   machine;
//! * [`Collectd`] / [`CollectdBuilder`]: write a `collectd.conf` into a fresh
//!   temporary directory, run `collectd -f -C <conf>` and wait until it is
//!   ready, then stop it again on drop;
//! * [`Rrdcached`]: run `rrdcached -g` on a unix socket in a fresh temporary
//!   directory, holding updates in its cache, and read what it holds;
//! * [`free_udp_port`] / [`free_tcp_port`]: pick unused ports on 127.0.0.1;
//! * [`parse_csv`], [`rrd_info`], [`rrd_fetch`]: read what collectd wrote;
//! * [`Tsdb`]: VictoriaMetrics or Prometheus on loopback, scraping collectd's
//!   `write_prometheus`, for the Prometheus source's tests.
//!
//! Only loopback addresses and unix sockets are ever used: the builder
//! refuses any other address, no plugin that reaches the network is loaded
//! except `network` on loopback (and `rrdcached`, on a unix socket or
//! loopback), and [`Rrdcached`] listens on a unix socket only.
//!
//! # Observed behaviour of Debian's collectd 5.12 (collectd-core 5.12.0-14)
//!
//! * Ready: the log shows `[info] Initialization complete, entering
//!   read-loop.` The network plugin binds `<Listen>` sockets while parsing
//!   the config and logs nothing on success, so [`CollectdBuilder::start`]
//!   also checks `/proc` that collectd holds the socket.
//! * `LogLevel debug` is rejected (no debug build):
//!   `logfile: invalid loglevel [debug] defaulting to 'info'`; testkit uses
//!   `info`.
//! * Messages before the logfile plugin is configured go to stderr
//!   ([`Collectd::stderr`]).
//! * Received notifications are written by the logfile plugin itself, at any
//!   `LogLevel`: `[info] Notification: severity = WARNING, host = h, plugin
//!   = p, message = text` (empty fields are left out; `plugin_instance`,
//!   `type`, `type_instance` appear between `plugin` and `message`).
//! * A `<Listen>` with `SecurityLevel Sign`/`Encrypt` and no `AuthFile`:
//!   collectd logs ``[error] network plugin: A security level higher than
//!   `none' was requested, but no AuthFile option was given. Cowardly refusing
//!   to open this socket!`` and keeps running without the socket; `start()`
//!   reports [`ErrorKind::StartupErrors`].
//! * A `LoadPlugin` of a missing plugin fails the whole config: collectd
//!   prints "Error: Parsing the config file failed!" and exits 1
//!   ([`ErrorKind::Exited`]).
//! * CSV files: `csv/HOST/PLUGIN[-INST]/TYPE[-INST]-YYYY-MM-DD`, the date
//!   being the writer's current date (UTC here, as collectd runs with
//!   `TZ=UTC`); header `epoch,<ds names>`; rows like
//!   `1700000000.000,1.500000`.
//! * With collectd's default of 5 write threads, writes of one series can
//!   be reordered and RRD creation races; testkit sets `WriteThreads 1`
//!   (see [`CollectdBuilder::write_threads`]).
//! * A `<Server>` only sends when its buffer is full unless the network
//!   plugin has a `FlushInterval`; testkit sets `FlushInterval 1` when a
//!   server is configured (see [`CollectdBuilder::flush_interval`]).
//!
//! A typical test:
//!
//! ```no_run
//! use std::time::Duration;
//!
//! let Some(_bin) = testkit::require_collectd() else {
//!     eprintln!("skipped: collectd is not installed");
//!     return;
//! };
//! let cd = testkit::Collectd::builder()
//!     .interval(1)
//!     .listen(testkit::Security::None)
//!     .csv(true)
//!     .start()
//!     .expect("collectd starts");
//! // ... send datagrams to cd.listen_addr() ...
//! cd.wait_for_file("csv/testkit", Duration::from_secs(5)).unwrap();
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod csv;
mod daemon;
mod error;
pub mod fixture;
mod gate;
mod ports;
mod process;
mod procnet;
mod rrd;
mod rrdcached;
mod tsdb;
mod wait;

pub use csv::{CsvRow, parse_csv};
pub use daemon::{Collectd, CollectdBuilder, Security};
pub use error::{Error, ErrorKind};
pub use gate::{
    BROWSER_PACKAGES, COLLECTD_PACKAGE, RRDCACHED_PACKAGE, RRDTOOL_PACKAGE, SKIP_ENV, TYPES_DB, find_browser,
    find_collectd, find_rrdcached, find_rrdtool, require_browser, require_collectd, require_rrdcached, require_rrdtool,
};
pub use ports::{free_tcp_port, free_udp_port};
pub use rrd::{
    FetchRow, parse_rrd_fetch, parse_rrd_info, rrd_fetch, rrd_info, rrd_last, try_rrd_fetch, try_rrd_fetch_at,
    try_rrd_info,
};
pub use rrdcached::Rrdcached;
pub use tsdb::{PROMETHEUS_PACKAGE, Tsdb, TsdbKind, VICTORIA_METRICS_PACKAGE, find_tsdb, require_tsdb};
pub use wait::{WaitOutcome, poll_until};
