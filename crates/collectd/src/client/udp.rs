//! Sending datagrams over UDP: one socket per destination, names resolved again
//! periodically, failures logged at a bounded rate.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::connection::{Connection, Settings};

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

struct Destination {
    socket: Option<UdpSocket>,
    resolved_at: Option<Instant>,
    failures: FailureLog,
}

/// Sockets by destination.
#[derive(Default)]
pub(crate) struct Transport {
    destinations: HashMap<(String, u16, Option<u32>), Destination>,
}

fn open_socket(settings: &Settings) -> io::Result<UdpSocket> {
    let addrs: Vec<SocketAddr> = (settings.collectd_host.as_str(), settings.collectd_port).to_socket_addrs()?.collect();
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
    if let (Some(ttl), IpAddr::V4(ip)) = (settings.ttl, addr.ip()) {
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

impl Transport {
    /// Sends a connection's datagrams, counting what happened.
    pub(crate) fn send(&mut self, connection: &Connection, datagrams: &[Vec<u8>], value_lists: u64) {
        let settings = &connection.inner.settings;
        let counters = &connection.inner.counters;
        let key = (settings.collectd_host.clone(), settings.collectd_port, settings.ttl);
        let name = format!("{}:{}", settings.collectd_host, settings.collectd_port);
        let destination = self.destinations.entry(key).or_insert_with(|| Destination {
            socket: None,
            resolved_at: None,
            failures: FailureLog::new(),
        });
        let stale = destination.resolved_at.is_none_or(|t| t.elapsed() >= RESOLVE_EVERY);
        if destination.socket.is_none() || stale {
            match open_socket(settings) {
                Ok(socket) => {
                    destination.socket = Some(socket);
                    destination.resolved_at = Some(Instant::now());
                }
                Err(error) => {
                    destination.socket = None;
                    destination.resolved_at = None;
                    counters.send_errors.fetch_add(datagrams.len() as u64, Ordering::Relaxed);
                    destination.failures.failed(&name, "cannot reach collectd at", &error);
                    return;
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
                counters.send_errors.fetch_add(1, Ordering::Relaxed);
                destination.failures.failed(&name, "collectd refused a datagram at", error);
                refused = true;
                result = socket.send(datagram);
            }
            match result {
                Ok(sent) => {
                    counters.packets_sent.fetch_add(1, Ordering::Relaxed);
                    counters.bytes_sent.fetch_add(sent as u64, Ordering::Relaxed);
                }
                Err(error) => {
                    counters.send_errors.fetch_add(1, Ordering::Relaxed);
                    destination.failures.failed(&name, "cannot send to collectd at", &error);
                    failed = true;
                }
            }
        }
        if failed || refused {
            // Resolve the name again next time: the server may have moved.
            destination.resolved_at = None;
        }
        if !failed {
            counters.value_lists_sent.fetch_add(value_lists, Ordering::Relaxed);
            if !refused {
                destination.failures.succeeded(&name);
            }
        }
    }
}
