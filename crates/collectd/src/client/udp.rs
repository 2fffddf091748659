//! The default sink, UDP: one socket per destination, names resolved again
//! periodically, failures logged at a bounded rate.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

use super::sink::{Delivery, Destination, Sink};

/// How long a resolved address is trusted before the name is resolved again.
const RESOLVE_EVERY: Duration = Duration::from_secs(300);
/// At most one log line per destination and this period while failures go on.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// Logs the first failure, then at most one line per period with the count since.
struct FailureLog {
    last_logged: Option<Instant>,
    unlogged: u64,
}

impl FailureLog {
    fn new() -> Self {
        FailureLog { last_logged: None, unlogged: 0 }
    }

    fn failed(&mut self, destination: &str, what: &str, error: &dyn std::fmt::Display) {
        let now = Instant::now();
        if self.last_logged.is_none_or(|t| now.duration_since(t) >= LOG_EVERY) {
            let more = match self.unlogged {
                0 => String::new(),
                n => format!(" ({n} more failures since the last message)"),
            };
            log::warn!(target: "collectd", "{what} {destination}: {error}{more}; this interval's datagrams are dropped, the next interval tries again");
            self.last_logged = Some(now);
            self.unlogged = 0;
        } else {
            self.unlogged += 1;
        }
    }

    fn succeeded(&mut self, destination: &str) {
        if self.last_logged.is_some() {
            log::info!(target: "collectd", "sending to {destination} works again");
            self.last_logged = None;
            self.unlogged = 0;
        }
    }
}

struct Socket {
    socket: Option<UdpSocket>,
    resolved_at: Option<Instant>,
    failures: FailureLog,
}

/// Sends datagrams over UDP, the way collectd's own clients do: the [`Sink`] of
/// [`Runtime::global`](crate::Runtime::global) and of a [`Runtime::new`](crate::Runtime::new).
///
/// A name with both IPv4 and IPv6 addresses (like `localhost`) is sent to over IPv4, as
/// the original module did; names are resolved again every 5 minutes, and after a
/// failure. Failures are logged at most once a minute per destination.
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
#[derive(Default)]
pub struct UdpSink {
    sockets: HashMap<(String, u16, Option<u32>), Socket>,
}

impl std::fmt::Debug for UdpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpSink").field("destinations", &self.sockets.len()).finish()
    }
}

impl UdpSink {
    /// A sink with no socket open yet: each destination's is opened on its first send.
    ///
    /// ```
    /// let runtime = collectd::Runtime::with_sink(collectd::UdpSink::new());
    /// # drop(runtime);
    /// ```
    pub fn new() -> Self {
        UdpSink::default()
    }
}

fn open_socket(destination: &Destination<'_>) -> io::Result<UdpSocket> {
    let addrs: Vec<SocketAddr> = (destination.host, destination.port).to_socket_addrs()?.collect();
    // A name with both kinds of address (like "localhost") goes to its IPv4 one, as the
    // original module's AF_INET socket did; an IPv6-only name or literal goes to IPv6.
    let addr = addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the name resolves to no address"))?;
    let local: SocketAddr = match addr.ip() {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)?;
    if let (Some(ttl), IpAddr::V4(ip)) = (destination.ttl, addr.ip()) {
        if ip.is_multicast() {
            socket.set_multicast_ttl_v4(ttl)?;
        } else {
            socket.set_ttl(ttl)?;
        }
    }
    // Connected, so the kernel reports ICMP errors (port unreachable) on later sends.
    socket.connect(addr)?;
    Ok(socket)
}

impl Sink for UdpSink {
    /// Sends the datagrams over the destination's socket, counting what happened.
    fn send(&mut self, target: &Destination<'_>, datagrams: &[Vec<u8>]) -> Delivery {
        let mut delivery = Delivery::default();
        let key = (target.host.to_string(), target.port, target.ttl);
        let name = format!("{}:{}", target.host, target.port);
        let destination = self.sockets.entry(key).or_insert_with(|| Socket {
            socket: None,
            resolved_at: None,
            failures: FailureLog::new(),
        });
        let stale = destination.resolved_at.is_none_or(|t| t.elapsed() >= RESOLVE_EVERY);
        if destination.socket.is_none() || stale {
            match open_socket(target) {
                Ok(socket) => {
                    destination.socket = Some(socket);
                    destination.resolved_at = Some(Instant::now());
                }
                Err(error) => {
                    destination.socket = None;
                    destination.resolved_at = None;
                    destination.failures.failed(&name, "cannot reach collectd at", &error);
                    return Delivery::none_sent(datagrams);
                }
            }
        }
        let socket = destination.socket.as_ref().expect("opened above");
        let mut failed = false;
        let mut refused = false;
        for datagram in datagrams {
            let mut result = socket.send(datagram);
            if let Err(error) = &result
                && error.kind() == io::ErrorKind::ConnectionRefused
            {
                // The ICMP "port unreachable" of an earlier datagram, reported by this
                // send, which did not go out: count the lost one, and send this one again,
                // as the server may be back.
                delivery.send_errors += 1;
                destination.failures.failed(&name, "collectd refused a datagram at", error);
                refused = true;
                result = socket.send(datagram);
            }
            match result {
                Ok(sent) => {
                    delivery.packets_sent += 1;
                    delivery.bytes_sent += sent as u64;
                }
                Err(error) => {
                    delivery.send_errors += 1;
                    destination.failures.failed(&name, "cannot send to collectd at", &error);
                    failed = true;
                }
            }
        }
        if failed || refused {
            // Resolve the name again next time: the server may have moved.
            destination.resolved_at = None;
        }
        delivery.complete = !failed;
        if !failed && !refused {
            destination.failures.succeeded(&name);
        }
        delivery
    }

    /// Closes every socket: a forked child opens its own.
    fn forget(&mut self) {
        self.sockets.clear();
    }
}
