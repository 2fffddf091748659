//! Free-port selection on 127.0.0.1 for collectd listeners and test sockets.

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::sync::{Mutex, PoisonError};

/// Ports already handed out by this process, per protocol (UDP, TCP).
///
/// Two tests running in parallel threads must not get the same port: the
/// kernel rarely hands out the same ephemeral port twice in a row, but
/// collectd binds its listen socket with `SO_REUSEADDR`, so a clash between
/// two collectd instances would go unnoticed by `bind`.
static HANDED_OUT: Mutex<(Vec<u16>, Vec<u16>)> = Mutex::new((Vec::new(), Vec::new()));

/// How many times to ask the kernel for a port not yet handed out.
const ATTEMPTS: usize = 64;

fn pick(udp: bool) -> u16 {
    let mut guard = HANDED_OUT.lock().unwrap_or_else(PoisonError::into_inner);
    for _ in 0..ATTEMPTS {
        let port = if udp {
            UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|s| s.local_addr())
        } else {
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).and_then(|s| s.local_addr())
        }
        .unwrap_or_else(|e| panic!("cannot bind a socket on 127.0.0.1: {e}"))
        .port();
        let used = if udp { &mut guard.0 } else { &mut guard.1 };
        if !used.contains(&port) {
            used.push(port);
            return port;
        }
    }
    panic!("no unused port on 127.0.0.1 after {ATTEMPTS} attempts");
}

/// Returns a UDP port on 127.0.0.1 that was free a moment ago.
///
/// The port is found by binding port 0 and reading the port the kernel chose;
/// the socket is closed before returning. Within one process the same port is
/// never returned twice.
///
/// # Panics
///
/// If no socket can be bound on 127.0.0.1.
pub fn free_udp_port() -> u16 {
    pick(true)
}

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// Same method and guarantees as [`free_udp_port`].
///
/// # Panics
///
/// If no socket can be bound on 127.0.0.1.
pub fn free_tcp_port() -> u16 {
    pick(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_bindable() {
        let a = free_udp_port();
        let b = free_udp_port();
        assert_ne!(a, b);
        UdpSocket::bind((Ipv4Addr::LOCALHOST, a)).unwrap();
        let t = free_tcp_port();
        TcpListener::bind((Ipv4Addr::LOCALHOST, t)).unwrap();
    }
}
