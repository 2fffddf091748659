//! An in-memory sink: keeps every datagram the runtime sends, for tests of what is sent.
//!
//! Tests wait on a count of datagrams (a condition variable), never on a clock, and can
//! make the sink refuse datagrams, as a server that is down.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::registry::lock;
use super::sink::{Delivery, Destination, Sink};

/// One datagram a [`MemorySink`] received, with where it was going.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SentDatagram {
    /// The destination's host name or address.
    pub host: String,
    /// The destination's port.
    pub port: u16,
    /// The datagram.
    pub datagram: Vec<u8>,
}

#[derive(Default)]
struct Held {
    sent: Vec<SentDatagram>,
    refusing: bool,
}

#[derive(Default)]
struct Shared {
    held: Mutex<Held>,
    changed: Condvar,
}

/// A [`Sink`] that keeps the datagrams instead of sending them. Clones share what is
/// kept: give one clone to [`Runtime::with_sink`](crate::Runtime::with_sink), read the other.
///
/// ```
/// use collectd::protocol::{ReceiveSecurity, parse};
/// use collectd::{Connection, MemorySink, Runtime};
///
/// let sink = MemorySink::new();
/// let runtime = Runtime::with_sink(sink.clone());
/// let conn = Connection::builder().hostname("h").runtime(&runtime).build();
/// conn.counter("jobs").record(&[], &[("done", 1.0)]);
/// conn.flush();
/// let sent = sink.take();
/// assert_eq!((sent[0].host.as_str(), sent[0].port), ("localhost", collectd::DEFAULT_PORT));
/// let parsed = parse(&sent[0].datagram, &ReceiveSecurity::none());
/// assert_eq!(parsed.value_lists().next().unwrap().identifier().to_string(), "h/any/gauge-jobs-done");
/// ```
#[derive(Clone, Default)]
pub struct MemorySink {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MemorySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = lock(&self.shared.held);
        f.debug_struct("MemorySink").field("held", &held.sent.len()).field("refusing", &held.refusing).finish()
    }
}

impl MemorySink {
    /// An empty sink that accepts everything.
    ///
    /// ```
    /// assert!(collectd::MemorySink::new().is_empty());
    /// ```
    pub fn new() -> Self {
        MemorySink::default()
    }

    /// Takes the datagrams kept so far, oldest first.
    ///
    /// ```
    /// let sink = collectd::MemorySink::new();
    /// assert!(sink.take().is_empty());
    /// ```
    pub fn take(&self) -> Vec<SentDatagram> {
        std::mem::take(&mut lock(&self.shared.held).sent)
    }

    /// How many datagrams are kept (received and not taken).
    ///
    /// ```
    /// assert_eq!(collectd::MemorySink::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        lock(&self.shared.held).sent.len()
    }

    /// True when no datagram is kept.
    ///
    /// ```
    /// assert!(collectd::MemorySink::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until at least `count` datagrams are kept, or `timeout` has passed; true
    /// when they are. Wakes as soon as a datagram arrives.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let sink = collectd::MemorySink::new();
    /// assert!(sink.wait_for(0, Duration::ZERO));
    /// assert!(!sink.wait_for(1, Duration::from_millis(1)));
    /// ```
    pub fn wait_for(&self, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut held = lock(&self.shared.held);
        while held.sent.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            held = self.shared.changed.wait_timeout(held, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        true
    }

    /// Refuses (drops and reports as errors) every datagram from now on while `refusing`,
    /// as a server that is down would.
    ///
    /// ```
    /// use collectd::{Connection, MemorySink, Runtime};
    ///
    /// let sink = MemorySink::new();
    /// let runtime = Runtime::with_sink(sink.clone());
    /// let conn = Connection::builder().hostname("refusing-doc").runtime(&runtime).build();
    /// sink.refuse(true);
    /// conn.counter("jobs").record(&[], &[("done", 1.0)]);
    /// conn.flush();
    /// assert_eq!((conn.sender_stats().send_errors, sink.len()), (1, 0));
    /// ```
    pub fn refuse(&self, refusing: bool) {
        lock(&self.shared.held).refusing = refusing;
    }
}

impl Sink for MemorySink {
    fn send(&mut self, destination: &Destination<'_>, datagrams: &[Vec<u8>]) -> Delivery {
        let mut held = lock(&self.shared.held);
        if held.refusing {
            return Delivery::none_sent(datagrams);
        }
        held.sent.extend(datagrams.iter().map(|datagram| SentDatagram {
            host: destination.host.to_string(),
            port: destination.port,
            datagram: datagram.clone(),
        }));
        drop(held);
        self.shared.changed.notify_all();
        Delivery::all_sent(datagrams)
    }
}
