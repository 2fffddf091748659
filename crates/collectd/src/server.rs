//! The socket side of receiving (feature `server`): the listen address, the UDP socket
//! (receive buffer, multicast groups), the security level with its AuthFile, re-read
//! when it changes, and the kernel's view of UDP sockets (`/proc/net/udp`).
//!
//! The datagrams it receives are parsed by [`crate::protocol::parse`] or
//! [`crate::protocol::parse_each`]; what is done with them is the caller's.
//!
//! The socket is set up as collectd's network plugin sets up a `<Listen>` socket
//! (`network_bind_socket`): bound to the address itself, and for a
//! multicast address the group is joined (`IP_ADD_MEMBERSHIP` / `IPV6_ADD_MEMBERSHIP` on
//! the given interface, else the kernel's choice) with multicast loop turned off. Unlike
//! collectd, the receive buffer is raised (8 MiB asked by default) so bursts are not
//! dropped while the process is busy, and a datagram may be up to 65535 bytes.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::protocol::{AuthFile, ReceiveSecurity, SecurityLevel};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

/// collectd's port.
pub const DEFAULT_PORT: u16 = 25826;
/// The receive buffer asked of the kernel by default.
pub const DEFAULT_RECEIVE_BUFFER: usize = 8 << 20;
/// The largest UDP payload: every datagram is read whole.
pub const MAX_DATAGRAM: usize = 65535;

/// What went wrong setting up the listening side.
///
/// ```
/// use collectd::server::{ListenError, parse_listen_addr};
///
/// let error = parse_listen_addr("127.0.0.1:99999").unwrap_err();
/// assert!(matches!(error, ListenError::BadAddress { .. }));
/// assert_eq!(error.to_string(), "listen address \"127.0.0.1:99999\": port \"99999\" is not a number from 0 to 65535");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ListenError {
    /// The listen address is not an address.
    BadAddress {
        /// The value given.
        text: String,
        /// Why it is not usable.
        reason: String,
    },
    /// A socket operation failed.
    Socket {
        /// The address.
        addr: SocketAddr,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        source: io::Error,
    },
    /// The multicast interface names no interface.
    NoInterface {
        /// The name given.
        name: String,
        /// The underlying error.
        source: io::Error,
    },
    /// Sign or encrypt without an AuthFile: collectd refuses such a socket too.
    NeedsAuthFile {
        /// The level.
        level: &'static str,
    },
    /// The AuthFile cannot be read.
    AuthFile {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

impl std::fmt::Display for ListenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListenError::BadAddress { text, reason } => write!(f, "listen address {text:?}: {reason}"),
            ListenError::Socket { addr, action, source } => write!(f, "{addr}: cannot {action}: {source}"),
            ListenError::NoInterface { name, source } => {
                write!(f, "interface {name:?}: no such network interface ({source})")
            }
            ListenError::NeedsAuthFile { level } => write!(
                f,
                "security level {level} needs an AuthFile with the users it accepts (collectd refuses this socket too)"
            ),
            ListenError::AuthFile { path, source } => write!(f, "AuthFile {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for ListenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ListenError::Socket { source, .. }
            | ListenError::NoInterface { source, .. }
            | ListenError::AuthFile { source, .. } => Some(source),
            ListenError::BadAddress { .. } | ListenError::NeedsAuthFile { .. } => None,
        }
    }
}

/// Reads a listen address: `IP`, `IP:PORT`, `[IPV6]:PORT`, `HOST` or `HOST:PORT`.
///
/// ```
/// use collectd::server::parse_listen_addr;
///
/// assert_eq!(parse_listen_addr("127.0.0.1:9999").unwrap().to_string(), "127.0.0.1:9999");
/// assert_eq!(parse_listen_addr("::1").unwrap().to_string(), "[::1]:25826");
/// assert_eq!(parse_listen_addr("[ff18::efc0:4a42]").unwrap().port(), 25826);
/// assert!(parse_listen_addr("127.0.0.1:http").is_err());
/// ```
pub fn parse_listen_addr(text: &str) -> Result<SocketAddr, ListenError> {
    let bad = |reason: String| ListenError::BadAddress { text: text.to_owned(), reason };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad("empty address".into()));
    }
    if let Ok(addr) = trimmed.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = trimmed.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, DEFAULT_PORT));
    }
    if let Some(inner) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inner
            .parse::<IpAddr>()
            .map(|ip| SocketAddr::new(ip, DEFAULT_PORT))
            .map_err(|_| bad(format!("{inner:?} is not an IPv6 address")));
    }
    let (host, port) = match trimmed.rsplit_once(':') {
        Some((host, port)) => {
            let port =
                port.parse::<u16>().map_err(|_| bad(format!("port {port:?} is not a number from 0 to 65535")))?;
            (host, port)
        }
        None => (trimmed, DEFAULT_PORT),
    };
    if host.contains(':') {
        return Err(bad("an IPv6 address with a port is written [ADDR]:PORT".into()));
    }
    let mut addrs = (host, port).to_socket_addrs().map_err(|e| bad(format!("cannot resolve {host:?}: {e}")))?;
    addrs.next().ok_or_else(|| bad(format!("{host:?} has no address")))
}

/// The index of a network interface, from `/sys/class/net/NAME/ifindex`.
pub fn interface_index(name: &str) -> Result<u32, ListenError> {
    let no = |source| ListenError::NoInterface { name: name.to_owned(), source };
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(no(io::Error::new(io::ErrorKind::InvalidInput, "not an interface name")));
    }
    let text = std::fs::read_to_string(Path::new("/sys/class/net").join(name).join("ifindex")).map_err(no)?;
    text.trim().parse().map_err(|e| no(io::Error::new(io::ErrorKind::InvalidData, e)))
}

/// A bound UDP socket and what the kernel granted.
#[derive(Debug)]
pub struct Listener {
    /// The socket, with a read timeout so loops can check for shutdown.
    pub socket: UdpSocket,
    /// The address it is bound to.
    pub local: SocketAddr,
    /// The multicast group joined, if any.
    pub group: Option<IpAddr>,
    /// The receive buffer asked for.
    pub receive_buffer_asked: usize,
    /// The receive buffer the kernel reports (Linux reports twice the usable size and caps
    /// the request at `net.core.rmem_max`).
    pub receive_buffer_granted: usize,
}

impl Listener {
    /// Binds `addr` as collectd binds a `<Listen>` address, raising the receive buffer to
    /// `receive_buffer` bytes and joining the multicast group of a multicast address (on
    /// `interface`, when given).
    pub fn bind(
        addr: SocketAddr,
        interface: Option<&str>,
        receive_buffer: usize,
        read_timeout: Duration,
    ) -> Result<Listener, ListenError> {
        let fail = |action: &'static str| move |source: io::Error| ListenError::Socket { addr, action, source };
        let if_index = interface.map(interface_index).transpose()?;
        let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
            .map_err(fail("create a UDP socket"))?;
        // Several listeners of one multicast group share its port. A unicast port is not
        // shared: with SO_REUSEADDR on both, Linux would split the datagrams between this
        // socket and another program's (a collectd on the same port), silently.
        if addr.ip().is_multicast() {
            socket.set_reuse_address(true).map_err(fail("set SO_REUSEADDR"))?;
        }
        // A refused size is not fatal: what was granted is reported.
        let _ = socket.set_recv_buffer_size(receive_buffer);
        let granted = socket.recv_buffer_size().map_err(fail("read SO_RCVBUF"))?;
        socket.bind(&addr.into()).map_err(fail("bind"))?;
        let mut group = None;
        match addr.ip() {
            IpAddr::V4(ip) if ip.is_multicast() => {
                socket.set_multicast_loop_v4(false).map_err(fail("set IP_MULTICAST_LOOP"))?;
                let iface = match if_index {
                    Some(index) => InterfaceIndexOrAddress::Index(index),
                    None => InterfaceIndexOrAddress::Address(Ipv4Addr::UNSPECIFIED),
                };
                socket.join_multicast_v4_n(&ip, &iface).map_err(fail("join the multicast group"))?;
                group = Some(addr.ip());
            }
            IpAddr::V6(ip) if ip.is_multicast() => {
                socket.set_multicast_loop_v6(false).map_err(fail("set IPV6_MULTICAST_LOOP"))?;
                socket.join_multicast_v6(&ip, if_index.unwrap_or(0)).map_err(fail("join the multicast group"))?;
                group = Some(addr.ip());
            }
            _ => {
                if let Some(name) = interface {
                    socket.bind_device(Some(name.as_bytes())).map_err(fail("bind to the interface"))?;
                }
            }
        }
        let socket: UdpSocket = socket.into();
        socket.set_read_timeout(Some(read_timeout)).map_err(fail("set a read timeout"))?;
        let local = socket.local_addr().map_err(fail("read the bound address"))?;
        Ok(Listener { socket, local, group, receive_buffer_asked: receive_buffer, receive_buffer_granted: granted })
    }

    /// A warning when the kernel granted a smaller receive buffer than asked.
    pub fn buffer_warning(&self) -> Option<String> {
        (self.receive_buffer_granted < self.receive_buffer_asked).then(|| {
            format!(
                "the kernel granted a receive buffer of {} bytes for {} asked: bursts may be dropped; \
                 raise it with `sysctl -w net.core.rmem_max={}`",
                self.receive_buffer_granted,
                self.receive_buffer_asked,
                self.receive_buffer_asked.div_ceil(2)
            )
        })
    }

    /// A line for the log: address, group, receive buffer.
    pub fn describe(&self) -> String {
        let mut s = format!("listening on {}", self.local);
        if let Some(group) = self.group {
            s.push_str(&format!(" (joined multicast group {group})"));
        }
        s.push_str(&format!(
            "; receive buffer {} bytes granted for {} asked",
            self.receive_buffer_granted, self.receive_buffer_asked
        ));
        s
    }
}

/// The security level and the AuthFile, re-read when its modification time changes (as
/// collectd's `fbh_check_file` does on every lookup).
#[derive(Debug)]
pub struct Auth {
    level: SecurityLevel,
    file: Option<WatchedAuthFile>,
}

#[derive(Debug)]
struct WatchedAuthFile {
    path: PathBuf,
    modified: Option<SystemTime>,
    users: AuthFile,
    /// The last reload error, so it is reported once.
    last_error: Option<String>,
}

impl Auth {
    /// Reads the AuthFile, if any; sign and encrypt need one.
    pub fn new(level: SecurityLevel, path: Option<&Path>) -> Result<Auth, ListenError> {
        let file = match path {
            Some(path) => {
                let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
                let users =
                    AuthFile::read(path).map_err(|source| ListenError::AuthFile { path: path.to_owned(), source })?;
                Some(WatchedAuthFile { path: path.to_owned(), modified, users, last_error: None })
            }
            None => None,
        };
        if level != SecurityLevel::None && file.is_none() {
            let level = if level == SecurityLevel::Sign { "sign" } else { "encrypt" };
            return Err(ListenError::NeedsAuthFile { level });
        }
        Ok(Auth { level, file })
    }

    /// Re-reads the AuthFile if its modification time changed. Returns a message when the
    /// file was reloaded or could not be (the previous users stay in force then).
    pub fn refresh(&mut self) -> Option<String> {
        let file = self.file.as_mut()?;
        let modified = match std::fs::metadata(&file.path).and_then(|m| m.modified()) {
            Ok(m) => m,
            Err(e) => {
                let message = format!(
                    "auth file {}: {e}; keeping the {} users read before",
                    file.path.display(),
                    file.users.len()
                );
                return report_once(&mut file.last_error, message);
            }
        };
        if file.modified == Some(modified) {
            return None;
        }
        match AuthFile::read(&file.path) {
            Ok(users) => {
                file.users = users;
                file.modified = Some(modified);
                file.last_error = None;
                Some(format!("auth file {} re-read: {} users", file.path.display(), file.users.len()))
            }
            Err(e) => {
                let message = format!(
                    "auth file {}: {e}; keeping the {} users read before",
                    file.path.display(),
                    file.users.len()
                );
                report_once(&mut file.last_error, message)
            }
        }
    }

    /// The security for parsing a datagram.
    pub fn security(&self) -> ReceiveSecurity<'_> {
        ReceiveSecurity::new(self.level, self.file.as_ref().map(|f| &f.users))
            .expect("a level above none always has users (checked in Auth::new)")
    }

    /// The level.
    pub fn level(&self) -> SecurityLevel {
        self.level
    }
}

fn report_once(last: &mut Option<String>, message: String) -> Option<String> {
    if last.as_deref() == Some(message.as_str()) {
        return None;
    }
    *last = Some(message.clone());
    Some(message)
}

/// One UDP socket as the kernel lists it in `/proc/net/udp` or `/proc/net/udp6`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UdpSocketEntry {
    /// The local port it is bound to.
    pub port: u16,
    /// Whether it is listed in `/proc/net/udp6`.
    pub ipv6: bool,
    /// Bytes waiting in its receive queue.
    pub rx_queue: u64,
    /// Its inode, as in `/proc/PID/fd/N -> socket:[INODE]`.
    pub inode: u64,
    /// Datagrams the kernel dropped on it (a full receive buffer, mostly).
    pub drops: u64,
}

/// Every UDP socket the kernel lists (`/proc/net/udp` then `/proc/net/udp6`); `None` when
/// neither table can be read (not Linux, or `/proc` hidden).
///
/// ```
/// let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// let port = socket.local_addr().unwrap().port();
/// if let Some(table) = collectd::server::udp_sockets() {
///     assert!(table.iter().any(|entry| entry.port == port && !entry.ipv6));
/// }
/// ```
pub fn udp_sockets() -> Option<Vec<UdpSocketEntry>> {
    let mut entries = Vec::new();
    let mut readable = false;
    for (table, ipv6) in [("/proc/net/udp", false), ("/proc/net/udp6", true)] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        readable = true;
        entries.extend(text.lines().skip(1).filter_map(|line| parse_udp_line(line, ipv6)));
    }
    readable.then_some(entries)
}

/// One row: `sl local_address rem_address st tx_queue:rx_queue tr:when retrnsmt uid
/// timeout inode ref pointer drops`, addresses and queues in hexadecimal.
fn parse_udp_line(line: &str, ipv6: bool) -> Option<UdpSocketEntry> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (_, port) = fields.get(1)?.rsplit_once(':')?;
    let (_, rx_queue) = fields.get(4)?.split_once(':')?;
    Some(UdpSocketEntry {
        port: u16::from_str_radix(port, 16).ok()?,
        ipv6,
        rx_queue: u64::from_str_radix(rx_queue, 16).ok()?,
        inode: fields.get(9)?.parse().ok()?,
        drops: fields.get(12)?.parse().ok()?,
    })
}

/// The kernel's drop count for the UDP socket bound to `local`, when it can be found.
///
/// ```
/// let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// let drops = collectd::server::udp_drops(socket.local_addr().unwrap());
/// assert!(drops.is_none_or(|drops| drops == 0));
/// ```
pub fn udp_drops(local: SocketAddr) -> Option<u64> {
    let on_port = udp_sockets()?.into_iter().filter(|e| e.port == local.port() && e.ipv6 == local.is_ipv6());
    on_port.map(|e| e.drops).reduce(|a, b| a + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernels_udp_table() {
        let line = "  821: 0100007F:63A2 00000000:0000 07 00000000:00000A00 00:00000000 00000000     0        0 4242 2 0000000000000000 17";
        let entry = parse_udp_line(line, false).unwrap();
        assert_eq!(entry, UdpSocketEntry { port: 0x63A2, ipv6: false, rx_queue: 0xA00, inode: 4242, drops: 17 });
        assert_eq!(parse_udp_line("  sl  local_address rem_address", false), None);
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let local = socket.local_addr().unwrap();
        if let Some(table) = udp_sockets() {
            assert_eq!(table.iter().filter(|e| e.port == local.port() && !e.ipv6).count(), 1);
            assert_eq!(udp_drops(local), Some(0));
        }
    }

    #[test]
    fn addresses() {
        let ok = |s: &str| parse_listen_addr(s).unwrap().to_string();
        assert_eq!(ok("127.0.0.1"), "127.0.0.1:25826");
        assert_eq!(ok("[::1]:5"), "[::1]:5");
        assert_eq!(ok("239.192.74.66:25826"), "239.192.74.66:25826");
        assert_eq!(ok("localhost:7").rsplit_once(':').unwrap().1, "7");
        for (bad, says) in
            [("", "empty"), ("127.0.0.1:99999", "port \"99999\""), ("[zz]", "not an IPv6"), ("::1:x", "port")]
        {
            let e = parse_listen_addr(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("listen address {bad:?}")) && e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn a_unicast_port_in_use_is_refused_not_shared() {
        // collectd binds its port with SO_REUSEADDR; a second listener must not take a
        // share of its datagrams.
        let taken = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        taken.set_reuse_address(true).unwrap();
        taken.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
        let addr = taken.local_addr().unwrap().as_socket().unwrap();
        let e = Listener::bind(addr, None, 1 << 16, Duration::from_millis(10)).unwrap_err();
        assert!(matches!(e, ListenError::Socket { action: "bind", .. }), "{e}");
    }

    #[test]
    fn binds_loopback_and_reports_the_buffer() {
        let l = Listener::bind("127.0.0.1:0".parse().unwrap(), None, 1 << 20, Duration::from_millis(10)).unwrap();
        assert!(l.local.port() > 0);
        // What is granted depends on net.core.rmem_max; Linux reports at least 2 × 1024.
        assert!(l.receive_buffer_granted >= 2048, "{}", l.receive_buffer_granted);
        assert!(l.describe().starts_with("listening on 127.0.0.1:"));
        let e = interface_index("no-such-if0").unwrap_err().to_string();
        assert!(e.contains("interface \"no-such-if0\""), "{e}");
    }

    #[test]
    fn auth_needs_a_file_above_none_and_reloads() {
        assert!(matches!(Auth::new(SecurityLevel::Sign, None), Err(ListenError::NeedsAuthFile { level: "sign" })));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth");
        assert!(matches!(Auth::new(SecurityLevel::None, Some(&path)), Err(ListenError::AuthFile { .. })));
        std::fs::write(&path, "alice: one\n").unwrap();
        let mut auth = Auth::new(SecurityLevel::Encrypt, Some(&path)).unwrap();
        assert_eq!(auth.security().users().unwrap().password(b"alice"), Some(&b"one"[..]));
        assert_eq!(auth.refresh(), None);
        std::fs::write(&path, "alice: two\nbob: three\n").unwrap();
        let mtime = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
        assert!(auth.refresh().unwrap().contains("2 users"));
        assert_eq!(auth.security().users().unwrap().password(b"alice"), Some(&b"two"[..]));
        std::fs::remove_file(&path).unwrap();
        assert!(auth.refresh().unwrap().contains("keeping the 2 users"));
        assert_eq!(auth.refresh(), None, "reported once");
        assert_eq!(auth.security().users().unwrap().len(), 2);
    }
}
