//! The listening side shared by `dump` and `receive`: the `--listen` address, the UDP
//! socket (receive buffer, multicast groups), and the security level with its AuthFile,
//! re-read when it changes.
//!
//! The socket is set up as collectd's network plugin sets up a `<Listen>` socket
//! (`network_bind_socket`): `SO_REUSEADDR`, bound to the address itself, and for a
//! multicast address the group is joined (`IP_ADD_MEMBERSHIP` / `IPV6_ADD_MEMBERSHIP` on
//! `--interface`, else the kernel's choice) with multicast loop turned off. Unlike
//! collectd, the receive buffer is raised (8 MiB asked by default) so bursts are not
//! dropped while the process is busy, and a datagram may be up to 65535 bytes.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use collectd::protocol::{AuthFile, ReceiveSecurity, SecurityLevel};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

/// collectd's port.
pub const DEFAULT_PORT: u16 = 25826;
/// The receive buffer asked of the kernel by default.
pub const DEFAULT_RECEIVE_BUFFER: usize = 8 << 20;
/// The largest UDP payload: every datagram is read whole.
pub const MAX_DATAGRAM: usize = 65535;

/// The options of a listening subcommand.
#[derive(clap::Args, Debug, Clone)]
pub struct ListenArgs {
    /// Address to listen on: an IP address or host name, optionally with :PORT (25826 by
    /// default; an IPv6 address with a port goes in brackets). A multicast address (e.g.
    /// 239.192.74.66, ff18::efc0:4a42) joins the group.
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// What datagrams must be: none (anything; signatures are checked when an auth file is
    /// given), sign (signed or encrypted) or encrypt (encrypted).
    #[arg(long, value_name = "LEVEL", default_value = "none", value_parser = parse_security_level)]
    pub security_level: SecurityLevel,
    /// collectd AuthFile (`user: password` lines) for verifying and decrypting; re-read
    /// when it changes. Required by sign and encrypt.
    #[arg(long, value_name = "FILE")]
    pub auth_file: Option<PathBuf>,
    /// Network interface for joining a multicast group (collectd's `Interface`), e.g. lo.
    #[arg(long, value_name = "NAME")]
    pub interface: Option<String>,
    /// Socket receive buffer to ask for, in bytes (the kernel may grant less: see
    /// net.core.rmem_max).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_RECEIVE_BUFFER)]
    pub receive_buffer: usize,
}

fn parse_security_level(text: &str) -> Result<SecurityLevel, String> {
    SecurityLevel::parse(text).ok_or_else(|| format!("{text:?} is not one of none, sign, encrypt"))
}

/// What went wrong setting up the listening side.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The `--listen` value is not an address.
    #[error("--listen {text:?}: {reason}")]
    BadAddress {
        /// The value given.
        text: String,
        /// Why it is not usable.
        reason: String,
    },
    /// A socket operation failed.
    #[error("--listen {addr}: cannot {action}: {source}")]
    Socket {
        /// The address.
        addr: SocketAddr,
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// `--interface` names no interface.
    #[error("--interface {name:?}: no such network interface ({source})")]
    NoInterface {
        /// The name given.
        name: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Sign or encrypt without an AuthFile: collectd refuses such a socket too.
    #[error("--security-level {level}: needs --auth-file with the users it accepts (collectd refuses this socket too)")]
    NeedsAuthFile {
        /// The level.
        level: &'static str,
    },
    /// The AuthFile cannot be read.
    #[error("--auth-file {path}: {source}")]
    AuthFile {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// Reads a `--listen` value: `IP`, `IP:PORT`, `[IPV6]:PORT`, `HOST` or `HOST:PORT`.
///
/// ```
/// use collectd_view::receiver::listen::parse_listen_addr;
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
        socket.set_reuse_address(true).map_err(fail("set SO_REUSEADDR"))?;
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

    /// From the command-line options.
    pub fn from_args(args: &ListenArgs) -> Result<Auth, ListenError> {
        Auth::new(args.security_level, args.auth_file.as_deref())
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

#[cfg(test)]
mod tests {
    use super::*;

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
            assert!(e.starts_with(&format!("--listen {bad:?}")) && e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn binds_loopback_and_reports_the_buffer() {
        let l = Listener::bind("127.0.0.1:0".parse().unwrap(), None, 1 << 20, Duration::from_millis(10)).unwrap();
        assert!(l.local.port() > 0);
        // What is granted depends on net.core.rmem_max; Linux reports at least 2 × 1024.
        assert!(l.receive_buffer_granted >= 2048, "{}", l.receive_buffer_granted);
        assert!(l.describe().starts_with("listening on 127.0.0.1:"));
        let e = interface_index("no-such-if0").unwrap_err().to_string();
        assert!(e.contains("--interface \"no-such-if0\""), "{e}");
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
