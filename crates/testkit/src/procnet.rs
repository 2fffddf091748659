//! Linux `/proc` inspection: which UDP sockets are bound to a port, and
//! whether a given process holds one of them.
//!
//! This is how [`crate::Collectd`] confirms its listener really is bound: the
//! network plugin binds during config parsing and only logs failures.

use std::collections::HashSet;
use std::fs;

/// Who holds UDP sockets bound to a local port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortHolders {
    /// Sockets on the port that belong to the process.
    pub(crate) own: usize,
    /// Sockets on the port that belong to anyone else.
    pub(crate) others: usize,
}

/// Socket inodes of UDP sockets (IPv4 and IPv6) whose local port is `port`.
fn udp_inodes_on_port(port: u16) -> Option<Vec<u64>> {
    let table = collectd::server::udp_sockets()?;
    Some(table.into_iter().filter(|e| e.port == port).map(|e| e.inode).collect())
}

/// Socket inodes among the open file descriptors of `pid`.
fn socket_inodes_of(pid: u32) -> Option<HashSet<u64>> {
    let entries = fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(
        entries
            .filter_map(|e| {
                let target = fs::read_link(e.ok()?.path()).ok()?;
                let target = target.to_str()?;
                target.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
            })
            .collect(),
    )
}

/// Counts UDP sockets bound to `port`, split into those held by `pid` and
/// the rest. `None` when `/proc` cannot be read (not Linux, or hidden).
pub(crate) fn udp_port_holders(pid: u32, port: u16) -> Option<PortHolders> {
    let on_port = udp_inodes_on_port(port)?;
    let mine = socket_inodes_of(pid)?;
    let own = on_port.iter().filter(|i| mine.contains(i)).count();
    Some(PortHolders { own, others: on_port.len() - own })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn sees_own_socket() {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        let Some(h) = udp_port_holders(std::process::id(), port) else {
            eprintln!("skipped: /proc not readable");
            return;
        };
        assert_eq!(h, PortHolders { own: 1, others: 0 });
        drop(sock);
        assert_eq!(udp_port_holders(std::process::id(), port), Some(PortHolders { own: 0, others: 0 }));
    }
}
