//! One connection's state: its settings, its statistics (the registry), its send counters and its id.
//!
//! This is the data every other part of the client works on; it knows nothing of how
//! statistics are recorded, encoded, scheduled or sent (the modules that do import it,
//! never the other way round).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::registry::Registry;
use crate::protocol::{Security, TimeResolution};

/// Everything that makes a connection what it is: equal settings, same connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Settings {
    pub(crate) hostname: String,
    pub(crate) collectd_host: String,
    pub(crate) collectd_port: u16,
    pub(crate) plugin_instance: String,
    pub(crate) interval: Duration,
    pub(crate) max_packet_size: usize,
    pub(crate) time_resolution: TimeResolution,
    pub(crate) security: Security,
    pub(crate) ttl: Option<u32>,
}

/// Counters of what the sender did for a connection, readable as [`SenderStats`].
#[derive(Default)]
pub(crate) struct SendCounters {
    pub(crate) packets_sent: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) value_lists_sent: AtomicU64,
    pub(crate) send_errors: AtomicU64,
    pub(crate) snapshots_dropped: AtomicU64,
}

impl SendCounters {
    /// The counters now.
    pub(crate) fn read(&self) -> SenderStats {
        SenderStats {
            packets_sent: self.packets_sent.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            value_lists_sent: self.value_lists_sent.load(Ordering::Relaxed),
            send_errors: self.send_errors.load(Ordering::Relaxed),
            snapshots_dropped: self.snapshots_dropped.load(Ordering::Relaxed),
        }
    }

    /// Back to zero (a forked child starts its own count).
    pub(crate) fn reset(&self) {
        for counter in
            [&self.packets_sent, &self.bytes_sent, &self.value_lists_sent, &self.send_errors, &self.snapshots_dropped]
        {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

/// What the sender did for a connection since it was created.
///
/// ```
/// let conn = collectd::Connection::builder().hostname("stats-doc").collectd_port(26001).build();
/// let stats: collectd::SenderStats = conn.sender_stats();
/// assert_eq!(stats, collectd::SenderStats::default());
/// assert_eq!(stats.packets_sent, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderStats {
    /// Datagrams handed to the operating system.
    pub packets_sent: u64,
    /// Bytes in those datagrams.
    pub bytes_sent: u64,
    /// Value lists in those datagrams.
    pub value_lists_sent: u64,
    /// Datagrams that could not be sent (unreachable server, unresolvable name, ...).
    pub send_errors: u64,
    /// Snapshots dropped because the queue to the sender was full.
    pub snapshots_dropped: u64,
}

/// One connection: what it is (settings), what it holds (registry), what was sent (counters).
pub(crate) struct ConnectionState {
    /// Unique in the process, whatever runtime the connection belongs to: the key of
    /// each thread's caches.
    pub(crate) id: u64,
    pub(crate) settings: Settings,
    pub(crate) registry: Registry,
    pub(crate) counters: SendCounters,
}

impl ConnectionState {
    /// A new connection with a fresh id and no statistics.
    pub(crate) fn new(settings: Settings) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        ConnectionState {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            settings,
            registry: Registry::new(),
            counters: SendCounters::default(),
        }
    }
}
