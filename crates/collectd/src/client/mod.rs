//! The client: connections, counters and the background sender, with the original module's API.
//!
//! The modules, each importing only those listed before it:
//! - `hash`, `shard`, `names`: fast name maps, per-thread sums, name sanitising;
//! - `registry`: one connection's names, shards and snapshots;
//! - `state`: one connection's settings, registry, send counters and id;
//! - `local`: the recording path (each thread's caches from names to slots);
//! - `encode`: a snapshot to datagrams, a pure function of settings and snapshot;
//! - `sink`, `udp`, `memory`: where datagrams go (the trait, UDP, in memory);
//! - `runtime`: the connections, the snapshot and sender threads, flush and shutdown;
//! - `connection`: the public API;
//! - `aggregation` (feature `metrics`): what the `metrics` recorder records through.

#[cfg(feature = "metrics")]
mod aggregation;
mod connection;
mod encode;
mod hash;
mod local;
mod memory;
mod names;
mod registry;
mod runtime;
mod shard;
mod sink;
mod state;
mod udp;

pub use connection::{
    Connection, ConnectionBuilder, Counter, DEFAULT_INTERVAL, DEFAULT_PORT, NotificationBuilder, OwnedCounter,
    PROCESS_PREFIX, ServerStats, Stat,
};
pub use memory::{MemorySink, SentDatagram};
pub use names::sanitize;
pub use runtime::{BURST, DEFAULT_FLUSH_TIMEOUT, DEFAULT_SEND_RATE, Runtime, SHUTDOWN_GRACE};
pub use sink::{Delivery, Destination, Sink};
pub use state::SenderStats;
pub use udp::{DEFAULT_RESOLVE_TIMEOUT, Resolve, UdpSink};

#[cfg(feature = "metrics")]
pub(crate) use aggregation::Aggregation;
#[cfg(feature = "metrics")]
pub(crate) use hash::FastMap;
#[cfg(feature = "metrics")]
pub(crate) use registry::lock;

/// Takes a snapshot of every connection now and sends it, after anything already
/// queued; returns when it is sent. Send failures are logged, not returned. Works
/// with or without [`start_threads`]. The same as `Runtime::global().flush()`.
///
/// ```
/// let conn = collectd::Connection::builder().collectd_port(25992).build();
/// conn.counter("jobs").record(&[], &[("done", 1.0)]);
/// collectd::flush();
/// ```
pub fn flush() {
    Runtime::global().flush();
}

/// Starts the two background threads: one snapshots every connection each interval,
/// the other encodes and sends. Without them, nothing is sent except by [`flush`].
/// The same as `Runtime::global().start_threads()`.
///
/// A second call, while they run, is an error.
///
/// ```
/// collectd::start_threads().unwrap();
/// assert!(matches!(collectd::start_threads(), Err(collectd::Error::AlreadyStarted)));
/// collectd::shutdown();
/// ```
pub fn start_threads() -> Result<(), crate::Error> {
    Runtime::global().start_threads()
}

/// Sends what was recorded since the last interval (a final [`flush`]), then stops the
/// background threads. Nothing recorded before the call is lost. [`start_threads`] may
/// be called again afterwards. The same as `Runtime::global().shutdown()`.
///
/// ```
/// collectd::start_threads().unwrap();
/// collectd::shutdown();
/// ```
pub fn shutdown() {
    Runtime::global().shutdown();
}
