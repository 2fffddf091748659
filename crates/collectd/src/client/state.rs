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
    /// More servers every datagram goes to, besides `collectd_host:collectd_port`.
    pub(crate) more_servers: Vec<(String, u16)>,
    /// Snapshots a name may go unrecorded before it expires; `None`: never.
    pub(crate) expire_after: Option<u32>,
    /// The most distinct names held at once; `None`: no limit.
    pub(crate) max_names: Option<usize>,
}

impl Settings {
    /// Every server, the first one first, each once.
    pub(crate) fn servers(&self) -> Vec<(String, u16)> {
        let mut servers = vec![(self.collectd_host.clone(), self.collectd_port)];
        for server in &self.more_servers {
            if !servers.contains(server) {
                servers.push(server.clone());
            }
        }
        servers
    }
}

/// Counters of what the sender did for a connection, readable as [`SenderStats`].
#[derive(Default)]
pub(crate) struct SendCounters {
    pub(crate) packets_sent: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) value_lists_sent: AtomicU64,
    pub(crate) send_errors: AtomicU64,
    pub(crate) snapshots_dropped: AtomicU64,
    pub(crate) value_lists_unsent: AtomicU64,
    pub(crate) packets_refused: AtomicU64,
    pub(crate) snapshots_deferred: AtomicU64,
    pub(crate) notifications_sent: AtomicU64,
    pub(crate) notifications_unsent: AtomicU64,
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
            value_lists_unsent: self.value_lists_unsent.load(Ordering::Relaxed),
            packets_refused: self.packets_refused.load(Ordering::Relaxed),
            snapshots_deferred: self.snapshots_deferred.load(Ordering::Relaxed),
            notifications_sent: self.notifications_sent.load(Ordering::Relaxed),
            notifications_unsent: self.notifications_unsent.load(Ordering::Relaxed),
            names_refused: 0,
            names_expired: 0,
        }
    }

    /// Back to zero (a forked child starts its own count).
    pub(crate) fn reset(&self) {
        for counter in [
            &self.packets_sent,
            &self.bytes_sent,
            &self.value_lists_sent,
            &self.send_errors,
            &self.snapshots_dropped,
            &self.value_lists_unsent,
            &self.packets_refused,
            &self.snapshots_deferred,
            &self.notifications_sent,
            &self.notifications_unsent,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
    }
}

/// What the sender did for a connection since it was created (in a forked child: since
/// the fork).
///
/// Every value list of a snapshot ends up in `value_lists_sent` or `value_lists_unsent`.
/// "Sent" means handed to the operating system with no refusal reported: UDP cannot
/// know whether a datagram arrived. A server on the same machine (or one whose host
/// answers with ICMP "port unreachable") that is down is known, and counted in
/// `packets_refused`: the kernel reports the refusal on the socket, which is read right
/// after each send, so on loopback every datagram to a closed port is counted refused.
/// A refusal that comes back later is counted when it is reported, at the next send,
/// but the value lists it stood for were already counted as sent. A host that is down
/// or drops datagrams silently, a firewall, and a receiver whose buffer overflows
/// report nothing at all: those losses show only on the server.
///
/// A connection with several servers ([`add_server`](crate::ConnectionBuilder::add_server))
/// counts each server's sends on their own ([`server_stats`](crate::Connection::server_stats));
/// its `sender_stats` add them up: a datagram sent to two servers counts twice, and a
/// value list lost on the way to one of them counts once sent and once unsent.
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
    /// Value lists in those datagrams, when no refusal was reported for their send.
    pub value_lists_sent: u64,
    /// Datagrams that could not be sent (unreachable server, a name that does not
    /// resolve, ...) or that the server is known to have refused.
    pub send_errors: u64,
    /// Snapshots abandoned unsent because [`shutdown`](crate::Runtime::shutdown) ran
    /// out of time while they were being sent.
    pub snapshots_dropped: u64,
    /// Value lists taken in a snapshot that were not sent, or are known not to have
    /// arrived: not encodable, no address for the server's name, send failed, refused,
    /// or abandoned by a shutdown that ran out of time.
    pub value_lists_unsent: u64,
    /// Datagrams the server is known to have refused (ICMP "port unreachable"): part of
    /// `send_errors`.
    pub packets_refused: u64,
    /// Periodic snapshots that were due while the sender was still busy (pacing a large
    /// snapshot, or waiting for a name): not taken then, their sums went with the next
    /// snapshot, so nothing was lost but one value covers more than one interval.
    pub snapshots_deferred: u64,
    /// Notifications ([`Connection::notify`](crate::Connection::notify)) handed to the
    /// operating system with no refusal reported. Their datagrams are counted in
    /// `packets_sent` and `bytes_sent` (and, when lost, in `send_errors`) too.
    pub notifications_sent: u64,
    /// Notifications not sent, or known not to have arrived: refused before sending
    /// (an empty message, a full queue), not encodable, send failed or refused, or
    /// still queued when a shutdown ran out of time.
    pub notifications_unsent: u64,
    /// New names refused because the connection held its
    /// [most names](crate::ConnectionBuilder::max_names) (each refused name once per
    /// thread that records it, until expiries make room). The connection's own: zero in
    /// [`server_stats`](crate::Connection::server_stats).
    pub names_refused: u64,
    /// Names [expired](crate::ConnectionBuilder::expire_after) and forgotten. The
    /// connection's own: zero in [`server_stats`](crate::Connection::server_stats).
    pub names_expired: u64,
}

/// One server of a connection, with what was sent to it.
pub(crate) struct DestinationState {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) counters: SendCounters,
}

/// One connection: what it is (settings), what it holds (registry), what was sent (counters).
pub(crate) struct ConnectionState {
    /// Unique in the process, whatever runtime the connection belongs to: the key of
    /// each thread's caches.
    pub(crate) id: u64,
    pub(crate) settings: Settings,
    pub(crate) registry: Registry,
    /// Every destination's counters added up.
    pub(crate) counters: SendCounters,
    /// Each server's own counters, in the order of [`Settings::servers`].
    pub(crate) destinations: Vec<DestinationState>,
}

impl ConnectionState {
    /// A new connection with a fresh id and no statistics.
    pub(crate) fn new(settings: Settings) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let destinations = settings
            .servers()
            .into_iter()
            .map(|(host, port)| DestinationState { host, port, counters: SendCounters::default() })
            .collect();
        let registry = Registry::new(settings.expire_after, settings.max_names);
        ConnectionState {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            settings,
            registry,
            counters: SendCounters::default(),
            destinations,
        }
    }

    /// Counts something that happened for every destination (a value list that could
    /// not be encoded is unsent to each), in each one's counters and the total.
    pub(crate) fn count_all(&self, add: impl Fn(&SendCounters)) {
        for destination in &self.destinations {
            add(&destination.counters);
            add(&self.counters);
        }
    }

    /// Counts something that happened for the destination at `index`, in its counters
    /// and the total.
    pub(crate) fn count_one(&self, index: usize, add: impl Fn(&SendCounters)) {
        if let Some(destination) = self.destinations.get(index) {
            add(&destination.counters);
        }
        add(&self.counters);
    }

    /// Every counter back to zero.
    pub(crate) fn reset_counters(&self) {
        self.counters.reset();
        for destination in &self.destinations {
            destination.counters.reset();
        }
    }
}
