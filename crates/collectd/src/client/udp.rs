//! The default sink, UDP: one socket per destination, names resolved by threads of their
//! own (the results cached and refreshed), refusals read back from the socket, failures
//! logged at a bounded rate.
//!
//! A name is never resolved on the send path: a send takes the cached address, and only
//! the first send to a name waits for its lookup, at most the resolve timeout from the
//! lookup's start. A lookup that never returns (a resolver that does not answer) costs
//! one thread and one timeout; the sends after it fail at once, counted, until a lookup
//! succeeds.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::registry::lock;
use super::sink::{Delivery, Destination, Sink};

/// How long a resolved address is trusted before the name is resolved again (in the
/// background: the address is used meanwhile). Also how long a lookup that has not
/// returned is waited for before another is started.
const RESOLVE_EVERY: Duration = Duration::from_secs(300);
/// At most one log line per destination and this period while failures go on.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Sends in a row without any failure or refusal after which sending is believed to
/// work again: the second one would have read a refusal of the first, come back late.
const CLEAN_SENDS_TO_RECOVER: u32 = 2;

/// How long the first send to a name waits for its lookup, unless
/// [`UdpSink::resolve_timeout`] says otherwise.
///
/// ```
/// assert_eq!(collectd::DEFAULT_RESOLVE_TIMEOUT, std::time::Duration::from_secs(5));
/// ```
pub const DEFAULT_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A function from a host name and port to addresses, as
/// [`ToSocketAddrs`](std::net::ToSocketAddrs) (the default) resolves them: what a
/// [`UdpSink::with_resolver`] is given.
pub type Resolve = dyn Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync;

fn system_resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    Ok((host, port).to_socket_addrs()?.collect())
}

/// A name with both kinds of address (like "localhost") goes to its IPv4 one, as the
/// original module's AF_INET socket did; an IPv6-only name or literal goes to IPv6.
fn pick(addresses: &[SocketAddr]) -> Option<SocketAddr> {
    addresses.iter().find(|a| a.is_ipv4()).or(addresses.first()).copied()
}

/// Logs the first failure, then at most one line per period with the count since; says
/// that sending works again only after [`CLEAN_SENDS_TO_RECOVER`] clean sends.
struct FailureLog {
    last_logged: Option<Instant>,
    unlogged: u64,
    failing: bool,
    clean_sends: u32,
}

impl FailureLog {
    fn new() -> Self {
        FailureLog { last_logged: None, unlogged: 0, failing: false, clean_sends: 0 }
    }

    fn failed(&mut self, destination: &str, what: &str, error: &dyn std::fmt::Display) {
        self.failing = true;
        self.clean_sends = 0;
        let now = Instant::now();
        if self.last_logged.is_none_or(|t| now.duration_since(t) >= LOG_EVERY) {
            let more = match self.unlogged {
                0 => String::new(),
                n => format!(" ({n} more failures since the last message)"),
            };
            log::warn!(target: "collectd", "{what} {destination}: {error}{more}; this interval's datagrams are lost, the next interval tries again");
            self.last_logged = Some(now);
            self.unlogged = 0;
        } else {
            self.unlogged += 1;
        }
    }

    fn succeeded(&mut self, destination: &str) {
        if !self.failing {
            return;
        }
        self.clean_sends += 1;
        if self.clean_sends >= CLEAN_SENDS_TO_RECOVER {
            log::info!(target: "collectd", "sending to {destination} works again");
            *self = FailureLog::new();
        }
    }
}

/// One name's lookups.
#[derive(Default)]
struct Lookup {
    address: Option<SocketAddr>,
    resolved_at: Option<Instant>,
    /// When the lookup under way started.
    started: Option<Instant>,
    /// Why the last lookup failed.
    error: Option<String>,
}

/// Resolves names on threads of their own and keeps the results.
struct Resolver {
    resolve: Arc<Resolve>,
    timeout: Duration,
    lookups: Mutex<HashMap<(String, u16), Lookup>>,
    changed: Condvar,
}

impl Resolver {
    fn new(resolve: Arc<Resolve>, timeout: Duration) -> Arc<Self> {
        Arc::new(Resolver { resolve, timeout, lookups: Mutex::new(HashMap::new()), changed: Condvar::new() })
    }

    /// The address to send to: the cached one (looked up again in the background when it
    /// is stale, or when `again`), or, when there is none yet, what a lookup finds within
    /// the timeout from its start.
    fn address(self: &Arc<Self>, host: &str, port: u16, again: bool) -> Result<SocketAddr, String> {
        let key = (host.to_string(), port);
        let mut lookups = lock(&self.lookups);
        let lookup = lookups.entry(key.clone()).or_default();
        let stale = again || lookup.resolved_at.is_none_or(|t| t.elapsed() >= RESOLVE_EVERY);
        if stale && lookup.started.is_none_or(|t| t.elapsed() >= RESOLVE_EVERY) {
            lookup.started = Some(Instant::now());
            if let Err(error) = self.spawn_lookup(key.clone()) {
                lookup.started = None;
                lookup.error = Some(format!("cannot start a thread to resolve the name: {error}"));
            }
        }
        loop {
            let lookup = &lookups[&key];
            if let Some(address) = lookup.address {
                return Ok(address);
            }
            let Some(started) = lookup.started else {
                return Err(lookup.error.clone().unwrap_or_else(|| "the name does not resolve".into()));
            };
            let left = (started + self.timeout).saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("the name did not resolve within {:?}", self.timeout));
            }
            lookups = self.changed.wait_timeout(lookups, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    fn spawn_lookup(self: &Arc<Self>, key: (String, u16)) -> io::Result<()> {
        let resolver = self.clone();
        std::thread::Builder::new().name("collectd-resolve".into()).spawn(move || {
            let found = (resolver.resolve)(&key.0, key.1).and_then(|addresses| {
                pick(&addresses)
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the name resolves to no address"))
            });
            let mut lookups = lock(&resolver.lookups);
            if let Some(lookup) = lookups.get_mut(&key) {
                lookup.started = None;
                match found {
                    Ok(address) => {
                        lookup.address = Some(address);
                        lookup.resolved_at = Some(Instant::now());
                        lookup.error = None;
                    }
                    // A stale address is still used: the name may resolve again.
                    Err(error) => lookup.error = Some(error.to_string()),
                }
            }
            drop(lookups);
            resolver.changed.notify_all();
        })?;
        Ok(())
    }
}

struct Socket {
    /// The socket, connected to the address it was opened for.
    socket: Option<(UdpSocket, SocketAddr)>,
    /// Look the name up again before the next send: the last one failed.
    again: bool,
    failures: FailureLog,
}

/// Sends datagrams over UDP, the way collectd's own clients do: the [`Sink`] of
/// [`Runtime::global`](crate::Runtime::global) and of a [`Runtime::new`](crate::Runtime::new).
///
/// A name with both IPv4 and IPv6 addresses (like `localhost`) is sent to over IPv4, as
/// the original module did. Names are resolved on a thread of their own, never while
/// sending: the first send to a name waits at most the
/// [resolve timeout](Self::resolve_timeout) for it, later ones use the address found,
/// which is looked up again every 5 minutes, and after a failure, in the background.
/// Datagrams for a name without an address are counted as errors.
///
/// Each destination's socket is connected, so the kernel reports an ICMP "port
/// unreachable" as a refusal on the socket, which is read during and right after each
/// send ([`Delivery::refused`]). Failures are logged at most once a minute per
/// destination, and "works again" only after two sends without any.
///
/// ```
/// use collectd::{Delivery, Destination, Sink, UdpSink};
///
/// let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// let port = server.local_addr().unwrap().port();
/// let mut sink = UdpSink::new();
/// let delivery = sink.send(&Destination::new("127.0.0.1", port), &[b"datagram".to_vec()]);
/// assert_eq!(delivery, Delivery::all_sent(&[b"datagram".to_vec()]));
/// let mut buffer = [0u8; 64];
/// assert_eq!(server.recv(&mut buffer).unwrap(), 8);
/// ```
pub struct UdpSink {
    resolver: Arc<Resolver>,
    sockets: HashMap<(String, u16, Option<u32>), Socket>,
}

impl Default for UdpSink {
    fn default() -> Self {
        UdpSink::new()
    }
}

impl std::fmt::Debug for UdpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSink")
            .field("destinations", &self.sockets.len())
            .field("resolve_timeout", &self.resolver.timeout)
            .finish()
    }
}

impl UdpSink {
    /// A sink with no socket open yet, resolving names with the system's resolver: each
    /// destination's socket is opened on its first send.
    ///
    /// ```
    /// let runtime = collectd::Runtime::with_sink(collectd::UdpSink::new());
    /// # drop(runtime);
    /// ```
    pub fn new() -> Self {
        UdpSink::with_resolver(system_resolve)
    }

    /// A sink resolving names with `resolve` (on threads of their own) instead of the
    /// system's resolver: for tests, or a program with its own name service.
    ///
    /// ```
    /// use std::net::{Ipv4Addr, SocketAddr};
    /// use std::time::Duration;
    /// use collectd::{Destination, Sink, UdpSink};
    ///
    /// let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let port = server.local_addr().unwrap().port();
    /// let mut sink = UdpSink::with_resolver(|_name, port| Ok(vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))]));
    /// assert_eq!(sink.send(&Destination::new("collectd.internal", port), &[b"x".to_vec()]).packets_sent, 1);
    ///
    /// // A resolver that never answers costs the first send the resolve timeout, no more.
    /// let mut stuck = UdpSink::with_resolver(|_, _| loop { std::thread::park() })
    ///     .resolve_timeout(Duration::from_millis(50));
    /// assert_eq!(stuck.send(&Destination::new("nowhere", port), &[b"x".to_vec()]).send_errors, 1);
    /// ```
    pub fn with_resolver(resolve: impl Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync + 'static) -> Self {
        UdpSink { resolver: Resolver::new(Arc::new(resolve), DEFAULT_RESOLVE_TIMEOUT), sockets: HashMap::new() }
    }

    /// The same sink, whose first send to a name waits at most `timeout` for its lookup
    /// (default [`DEFAULT_RESOLVE_TIMEOUT`]).
    ///
    /// ```
    /// let sink = collectd::UdpSink::new().resolve_timeout(std::time::Duration::from_secs(1));
    /// # drop(sink);
    /// ```
    pub fn resolve_timeout(self, timeout: Duration) -> Self {
        UdpSink { resolver: Resolver::new(self.resolver.resolve.clone(), timeout), ..self }
    }
}

fn open_socket(address: SocketAddr, ttl: Option<u32>) -> io::Result<UdpSocket> {
    let local: SocketAddr = match address.ip() {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)?;
    if let (Some(ttl), IpAddr::V4(ip)) = (ttl, address.ip()) {
        if ip.is_multicast() {
            socket.set_multicast_ttl_v4(ttl)?;
        } else {
            socket.set_ttl(ttl)?;
        }
    }
    // Connected, so the kernel reports ICMP errors (port unreachable) on the socket.
    socket.connect(address)?;
    Ok(socket)
}

/// True when the socket holds a refusal (an ICMP "port unreachable" for a datagram sent).
fn refusal_pending(socket: &UdpSocket) -> bool {
    matches!(socket.take_error(), Ok(Some(error)) if error.kind() == io::ErrorKind::ConnectionRefused)
}

impl Sink for UdpSink {
    /// Sends the datagrams over the destination's socket, counting what happened.
    fn send(&mut self, target: &Destination<'_>, datagrams: &[Vec<u8>]) -> Delivery {
        let name = format!("{}:{}", target.host, target.port);
        let key = (target.host.to_string(), target.port, target.ttl);
        let destination = self.sockets.entry(key).or_insert_with(|| Socket {
            socket: None,
            again: false,
            failures: FailureLog::new(),
        });
        let address = match self.resolver.address(target.host, target.port, destination.again) {
            Ok(address) => address,
            Err(error) => {
                destination.failures.failed(&name, "cannot resolve the name of collectd at", &error);
                return Delivery::none_sent(datagrams);
            }
        };
        destination.again = false;
        if destination.socket.as_ref().is_none_or(|(_, opened_for)| *opened_for != address) {
            match open_socket(address, target.ttl) {
                Ok(socket) => destination.socket = Some((socket, address)),
                Err(error) => {
                    destination.socket = None;
                    destination.again = true;
                    destination.failures.failed(&name, "cannot open a socket to collectd at", &error);
                    return Delivery::none_sent(datagrams);
                }
            }
        }
        let Some((socket, _)) = destination.socket.as_ref() else { return Delivery::none_sent(datagrams) };
        let mut delivery = Delivery::default();
        // A refusal come back since the last send stands for one of its datagrams.
        if refusal_pending(socket) {
            delivery.refused += 1;
        }
        let mut failure: Option<io::Error> = None;
        for datagram in datagrams {
            let mut result = socket.send(datagram);
            if let Err(error) = &result
                && error.kind() == io::ErrorKind::ConnectionRefused
            {
                // The refusal of an earlier datagram, reported by this send, which did
                // not go out: count the refused one, and send this one again.
                delivery.refused += 1;
                result = socket.send(datagram);
            }
            match result {
                Ok(sent) => {
                    delivery.packets_sent += 1;
                    delivery.bytes_sent += sent as u64;
                }
                Err(error) => {
                    delivery.send_errors += 1;
                    failure = Some(error);
                }
            }
        }
        // A server on this machine that is down refuses at once: the refusal of the
        // last datagram is already there.
        if refusal_pending(socket) {
            delivery.refused += 1;
        }
        delivery.send_errors += delivery.refused;
        delivery.complete = failure.is_none();
        if let Some(error) = failure {
            // Resolve the name again next time: the server may have moved.
            destination.again = true;
            destination.failures.failed(&name, "cannot send to collectd at", &error);
        } else if delivery.refused > 0 {
            let error = io::Error::from(io::ErrorKind::ConnectionRefused);
            destination.failures.failed(&name, "datagrams refused (nothing listens) by collectd at", &error);
        } else {
            destination.failures.succeeded(&name);
        }
        delivery
    }

    /// Closes every socket and forgets every address and lookup: a forked child opens
    /// and resolves its own.
    fn forget(&mut self) {
        self.sockets.clear();
        self.resolver = Resolver::new(self.resolver.resolve.clone(), self.resolver.timeout);
    }
}
