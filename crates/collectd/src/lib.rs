//! Send application statistics to collectd servers over collectd's binary network protocol.
//!
//! ```no_run
//! let conn = collectd::Connection::new();
//! collectd::start_threads().unwrap();
//! conn.counter("coin_stats").record(&["heads"], &[("flips", 1.0)]);
//! collectd::record!(conn, some_category; some_counter = 1, another_stat = 0.5);
//! collectd::shutdown();
//! ```
//!
//! Every interval (10 s by default) the sums recorded on each connection are sent, as
//! gauges, and reset. A collectd server with the rrdtool plugin stores them as
//! `HOST/any[-INST]/gauge-CATEGORY[-SPECIFIC]-STAT.rrd`:
//! `record(&["heads"], &[("flips", 1.0)])` on category `coin_stats` adds 1 to
//! `gauge-coin_stats-flips.rrd` (the base count) and to `gauge-coin_stats-heads-flips.rrd`.
//!
//! Recording never fails and never blocks on I/O; problems are logged through the `log`
//! crate under the target `collectd`. The [`protocol`] module is collectd's wire format,
//! usable on its own.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod protocol;
#[cfg(feature = "server")]
pub mod server;

pub use client::{
    BURST, Connection, ConnectionBuilder, Counter, DEFAULT_FLUSH_TIMEOUT, DEFAULT_INTERVAL, DEFAULT_PORT,
    DEFAULT_RESOLVE_TIMEOUT, DEFAULT_SEND_RATE, Delivery, Destination, MemorySink, NotificationBuilder, OwnedCounter,
    PROCESS_PREFIX, Resolve, Runtime, SHUTDOWN_GRACE, SenderStats, SentDatagram, ServerStats, Sink, Stat, UdpSink,
    flush, sanitize, shutdown, start_threads,
};
pub use protocol::Credentials;

/// The plugin name of the value lists this library sends, as the original module sent
/// them: collectd's rrdtool plugin stores them under `HOST/any[-INSTANCE]/`.
///
/// ```
/// assert_eq!(format!("web1/{}/", collectd::MODULE_PLUGIN), "web1/any/");
/// ```
pub const MODULE_PLUGIN: &str = "any";

/// The type of the value lists this library sends: every stat is a gauge, stored as
/// `gauge-CATEGORY[-SPECIFIC]-STAT.rrd`.
///
/// ```
/// assert_eq!(format!("{}-coin_stats-flips.rrd", collectd::MODULE_TYPE), "gauge-coin_stats-flips.rrd");
/// ```
pub const MODULE_TYPE: &str = "gauge";

/// What can go wrong when starting the background threads.
///
/// ```
/// collectd::start_threads().unwrap();
/// let error = collectd::start_threads().unwrap_err();
/// assert!(matches!(error, collectd::Error::AlreadyStarted));
/// assert_eq!(error.to_string(), "the collectd background threads are already running");
/// collectd::shutdown();
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// [`start_threads`] was called while the threads run.
    AlreadyStarted,
    /// The operating system refused to start a thread.
    Spawn(std::io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::AlreadyStarted => f.write_str("the collectd background threads are already running"),
            Error::Spawn(e) => write!(f, "cannot start a collectd background thread: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Spawn(e) => Some(e),
            Error::AlreadyStarted => None,
        }
    }
}

/// Records stats with keyword-like syntax, close to the original's
/// `conn.category.record(*specifics, **stats)`; integers are accepted.
///
/// ```
/// let conn = collectd::Connection::builder().collectd_port(25991).build();
/// collectd::record!(conn, coin_stats, "heads"; flips = 1);
/// collectd::record!(conn, consumer, "prime"; count = 1, time = 0.25);
/// collectd::record!(conn, producer; too_small = 1);
/// ```
#[macro_export]
macro_rules! record {
    ($conn:expr, $category:ident $(, $specific:expr)* ; $($stat:ident = $value:expr),+ $(,)?) => {
        $conn.counter(stringify!($category)).record(
            &[$($specific),*],
            &[$((stringify!($stat), ($value) as f64)),+],
        )
    };
}
