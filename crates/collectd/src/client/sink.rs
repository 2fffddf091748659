//! Where datagrams go: the [`Sink`] trait the runtime sends through, and what one send did.
//!
//! The runtime encodes each snapshot and hands the datagrams to its sink: a [`UdpSink`]
//! (the default: one UDP socket per destination), a [`MemorySink`] that keeps them (for
//! tests of what is sent: no socket, no waiting on the network), or a program's own.
//!
//! [`UdpSink`]: crate::UdpSink
//! [`MemorySink`]: crate::MemorySink

/// Where a connection's datagrams go: the server's host name or address, its port, and
/// the datagrams' time-to-live, as set on the [`ConnectionBuilder`](crate::ConnectionBuilder).
///
/// ```
/// let destination = collectd::Destination::new("127.0.0.1", 25826).with_ttl(4);
/// assert_eq!((destination.host, destination.port, destination.ttl), ("127.0.0.1", 25826, Some(4)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Destination<'a> {
    /// The server's host name or address.
    pub host: &'a str,
    /// The server's port.
    pub port: u16,
    /// The datagrams' time-to-live, when one is set.
    pub ttl: Option<u32>,
}

impl<'a> Destination<'a> {
    /// A destination without a time-to-live of its own.
    ///
    /// ```
    /// let destination = collectd::Destination::new("localhost", 25826);
    /// assert_eq!(destination.ttl, None);
    /// ```
    pub fn new(host: &'a str, port: u16) -> Self {
        Destination { host, port, ttl: None }
    }

    /// The same destination with a time-to-live.
    ///
    /// ```
    /// assert_eq!(collectd::Destination::new("239.192.74.66", 25826).with_ttl(2).ttl, Some(2));
    /// ```
    pub fn with_ttl(self, ttl: u32) -> Self {
        Destination { ttl: Some(ttl), ..self }
    }
}

/// What a [`Sink::send`] did with one snapshot's datagrams; the runtime adds it to the
/// connection's [`SenderStats`](crate::SenderStats).
///
/// ```
/// let datagrams = vec![vec![0u8; 100], vec![0u8; 50]];
/// let sent = collectd::Delivery::all_sent(&datagrams);
/// assert_eq!((sent.packets_sent, sent.bytes_sent, sent.send_errors, sent.complete), (2, 150, 0, true));
/// let lost = collectd::Delivery::none_sent(&datagrams);
/// assert_eq!((lost.packets_sent, lost.send_errors, lost.complete), (0, 2, false));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// Datagrams handed on.
    pub packets_sent: u64,
    /// Bytes in those datagrams.
    pub bytes_sent: u64,
    /// Datagrams lost: not handed on, or (for UDP) reported refused by the server.
    pub send_errors: u64,
    /// Of `send_errors`, the datagrams the server is known to have refused (for UDP, an
    /// ICMP "port unreachable" reported on the socket during or right after this send;
    /// it may stand for a datagram of an earlier send). The runtime counts the value
    /// lists of a send with a refusal as unsent.
    pub refused: u64,
    /// Every datagram of this send was handed on.
    pub complete: bool,
}

impl Delivery {
    /// Every datagram handed on.
    ///
    /// ```
    /// assert!(collectd::Delivery::all_sent(&[vec![1, 2, 3]]).complete);
    /// ```
    pub fn all_sent(datagrams: &[Vec<u8>]) -> Self {
        Delivery {
            packets_sent: datagrams.len() as u64,
            bytes_sent: datagrams.iter().map(|d| d.len() as u64).sum(),
            send_errors: 0,
            refused: 0,
            complete: true,
        }
    }

    /// No datagram handed on: each is an error.
    ///
    /// ```
    /// assert_eq!(collectd::Delivery::none_sent(&[vec![1], vec![2]]).send_errors, 2);
    /// ```
    pub fn none_sent(datagrams: &[Vec<u8>]) -> Self {
        Delivery { send_errors: datagrams.len() as u64, ..Delivery::default() }
    }
}

/// Where a [`Runtime`](crate::Runtime) sends the datagrams of each snapshot.
///
/// A sink is called from one thread at a time (the runtime holds it behind a lock), in
/// the order of the snapshots' times for each connection, with at most [`BURST`]
/// datagrams at a time (the runtime paces them). It must not panic; failures are
/// reported in the [`Delivery`] (and logged by the sink, at a bounded rate). It should
/// not block for long: [`Runtime::flush`](crate::Runtime::flush) and
/// [`Runtime::shutdown`](crate::Runtime::shutdown) stop waiting for it after the flush
/// timeout.
///
/// [`BURST`]: crate::BURST
///
/// ```
/// use collectd::{Delivery, Destination, Sink};
///
/// /// Counts datagrams and drops them.
/// #[derive(Default)]
/// struct Counting(u64);
///
/// impl Sink for Counting {
///     fn send(&mut self, _: &Destination<'_>, datagrams: &[Vec<u8>]) -> Delivery {
///         self.0 += datagrams.len() as u64;
///         Delivery::all_sent(datagrams)
///     }
/// }
///
/// let runtime = collectd::Runtime::with_sink(Counting::default());
/// let conn = collectd::Connection::builder().hostname("sink-doc").runtime(&runtime).build();
/// conn.counter("jobs").record(&[], &[("done", 1.0)]);
/// conn.flush();
/// assert_eq!(conn.sender_stats().packets_sent, 1);
/// ```
pub trait Sink: Send + 'static {
    /// Sends one snapshot's datagrams to `destination`.
    fn send(&mut self, destination: &Destination<'_>, datagrams: &[Vec<u8>]) -> Delivery;

    /// Lets go of what a forked child inherited from its parent (open sockets, say),
    /// without sending anything, when the child takes over a sink given to
    /// [`Runtime::with_sink`](crate::Runtime::with_sink); see
    /// [`Runtime::forget_after_fork`](crate::Runtime::forget_after_fork). Nothing by default.
    fn forget(&mut self) {}
}
