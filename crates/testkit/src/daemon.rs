//! The collectd daemon under test: config generation, process start-up and
//! readiness, waiting helpers, and shutdown.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::csv::{CsvRow, read_series};
use crate::error::{Error, ErrorKind};
use crate::gate::{COLLECTD_PACKAGE, SKIP_ENV, TYPES_DB, find_collectd};
use crate::ports::free_udp_port;
use crate::process::Process;
use crate::procnet::udp_port_holders;
use crate::wait::{POLL, WaitOutcome, poll_until};

/// File names inside the temporary directory.
const CONF: &str = "collectd.conf";
const LOG: &str = "collectd.log";
const STDOUT: &str = "collectd.stdout";
const STDERR: &str = "collectd.stderr";
const PIDFILE: &str = "collectd.pid";
const AUTHFILE: &str = "authfile";

/// What collectd 5.12 logs (INFO) once every plugin's init callback has run.
/// The network plugin binds its listen sockets earlier, while the config is
/// parsed, and starts its receive thread in its init callback, so after this
/// line datagrams sent to the listener are received (or queued by the kernel).
const READY_LINE: &str = "Initialization complete, entering read-loop.";

/// If set to `1`, the temporary directory of every [`Collectd`] is kept
/// (and its path printed) instead of being deleted on drop.
pub(crate) const KEEP_ENV: &str = "TESTKIT_KEEP_DIR";

/// A network-plugin `SecurityLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Security {
    /// `SecurityLevel None`: plain packets.
    #[default]
    None,
    /// `SecurityLevel Sign`: HMAC-SHA-256 signed packets.
    Sign,
    /// `SecurityLevel Encrypt`: AES-256-OFB encrypted packets.
    Encrypt,
}

impl Security {
    /// The spelling used in `collectd.conf` (`None`, `Sign`, `Encrypt`).
    pub fn as_config_str(self) -> &'static str {
        match self {
            Security::None => "None",
            Security::Sign => "Sign",
            Security::Encrypt => "Encrypt",
        }
    }
}

#[derive(Debug, Clone)]
struct ListenSpec {
    ip: IpAddr,
    port: Option<u16>,
    security: Security,
}

#[derive(Debug, Clone)]
struct ServerSpec {
    ip: IpAddr,
    port: u16,
    security: Security,
    credentials: Option<(String, String)>,
}

/// Builder for a [`Collectd`]; see [`Collectd::builder`].
///
/// The generated `collectd.conf` always contains, in this order:
///
/// * `Hostname` (default `"testkit"`), `FQDNLookup false`, `BaseDir`,
///   `PIDFile` (both in the temp dir), `TypesDB "/usr/share/collectd/types.db"`,
///   `Interval` if set, and `WriteThreads 1` (see
///   [`write_threads`](Self::write_threads));
/// * `LoadPlugin logfile` with `LogLevel info` (Debian's collectd is built
///   without debug support, so `debug` is rejected and falls back to
///   `info`), `File "<dir>/collectd.log"`, `Timestamp true`,
///   `PrintSeverity true`;
/// * the extra read plugins, then `network`, `csv`, `rrdtool`, `rrdcached` as
///   requested;
/// * the `<Plugin network>` block with `MaxPacketSize`, extra network
///   options, the `<Listen>` block and the `<Server>` blocks;
/// * the `<Plugin csv>` (`DataDir "<dir>/csv"`, `StoreRates false`),
///   `<Plugin rrdtool>` (`DataDir "<dir>/rrd"`) and `<Plugin rrdcached>` (see
///   [`rrdcached`](Self::rrdcached)) blocks;
/// * any [`extra_config`](Self::extra_config) text.
///
/// collectd runs with `TZ=UTC` and `LC_ALL=C`, so log timestamps and the
/// dates in CSV file names are UTC.
#[derive(Debug, Clone)]
#[must_use]
pub struct CollectdBuilder {
    binary: Option<PathBuf>,
    hostname: String,
    interval: Option<f64>,
    write_threads: u32,
    listen: Option<ListenSpec>,
    auth_file: Option<String>,
    max_packet_size: Option<u32>,
    servers: Vec<ServerSpec>,
    flush_interval: Option<f64>,
    network_options: Vec<String>,
    plugins: Vec<String>,
    csv: bool,
    rrdtool: bool,
    rrdcached: Option<(String, PathBuf)>,
    extra_config: String,
    allow_startup_errors: bool,
    ready_timeout: Duration,
}

impl Default for CollectdBuilder {
    fn default() -> Self {
        Self {
            binary: None,
            hostname: "testkit".to_owned(),
            interval: None,
            write_threads: 1,
            listen: None,
            auth_file: None,
            max_packet_size: None,
            servers: Vec::new(),
            flush_interval: None,
            network_options: Vec::new(),
            plugins: Vec::new(),
            csv: false,
            rrdtool: false,
            rrdcached: None,
            extra_config: String::new(),
            allow_startup_errors: false,
            ready_timeout: Duration::from_secs(10),
        }
    }
}

fn loopback_ip(host: &str) -> IpAddr {
    match host.parse::<IpAddr>() {
        Ok(ip) if ip.is_loopback() => ip,
        _ => panic!("testkit only uses loopback addresses (127.0.0.1, ::1), got {host:?}"),
    }
}

/// Quotes a string for `collectd.conf` (backslash and double quote escaped).
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn quote_path(p: &Path) -> String {
    quote(&p.to_string_lossy())
}

impl CollectdBuilder {
    /// Uses this collectd binary instead of looking one up.
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Sets the global `Hostname` (default `testkit`), which names the host
    /// directory of the csv and rrdtool plugins.
    pub fn hostname(mut self, name: &str) -> Self {
        self.hostname = name.to_owned();
        self
    }

    /// Sets the global `Interval` in seconds (fractions allowed). Unset means
    /// collectd's default of 10 s.
    pub fn interval(mut self, seconds: impl Into<f64>) -> Self {
        self.interval = Some(seconds.into());
        self
    }

    /// Sets the global `WriteThreads` (default here: 1; `0` leaves it unset,
    /// i.e. collectd's default of 5).
    ///
    /// With several write threads, value lists are handed to the csv and
    /// rrdtool writers concurrently: rows for one series can be written out
    /// of order (then "uc_update: Value too old"), the csv plugin's header
    /// creation can race and lose rows, and the first updates of a new RRD
    /// fail with "cu_rrd_create_file: File ... is already being created".
    /// One thread keeps the write order equal to the receive order.
    pub fn write_threads(mut self, threads: u32) -> Self {
        self.write_threads = threads;
        self
    }

    /// Adds a `<Listen "127.0.0.1" PORT>` block with this `SecurityLevel`; the
    /// port is a free one chosen at start (see [`Collectd::port`]).
    pub fn listen(mut self, security: Security) -> Self {
        let (ip, port) = self.listen.as_ref().map_or((IpAddr::V4(Ipv4Addr::LOCALHOST), None), |l| (l.ip, l.port));
        self.listen = Some(ListenSpec { ip, port, security });
        self
    }

    /// Listens on this loopback address (e.g. `"::1"`) instead of 127.0.0.1.
    /// Implies [`listen`](Self::listen) with `Security::None` if not called.
    ///
    /// # Panics
    ///
    /// If `host` is not a loopback IP address literal.
    pub fn listen_ip(mut self, host: &str) -> Self {
        let ip = loopback_ip(host);
        let spec = self.listen.get_or_insert(ListenSpec { ip, port: None, security: Security::None });
        spec.ip = ip;
        self
    }

    /// Listens on this fixed port instead of a free one chosen at start.
    /// Implies [`listen`](Self::listen) with `Security::None` if not called.
    pub fn listen_port(mut self, port: u16) -> Self {
        let spec = self.listen.get_or_insert(ListenSpec {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: None,
            security: Security::None,
        });
        spec.port = Some(port);
        self
    }

    /// Writes `contents` to an `AuthFile` in the temp dir (lines of
    /// `user: password`) and references it from the `<Listen>` block.
    pub fn auth_file(mut self, contents: &str) -> Self {
        self.auth_file = Some(contents.to_owned());
        self
    }

    /// Sets the network plugin's `MaxPacketSize` (1024–65535).
    pub fn max_packet_size(mut self, bytes: u32) -> Self {
        self.max_packet_size = Some(bytes);
        self
    }

    /// Adds a `<Server "HOST" "PORT">` block so collectd sends its own
    /// readings (and notifications) to a test socket. `credentials` become
    /// `Username` / `Password`.
    ///
    /// With at least one server, the network plugin gets `FlushInterval 1`
    /// unless [`flush_interval`](Self::flush_interval) says otherwise;
    /// otherwise collectd only sends when its 1452-byte buffer is full.
    ///
    /// # Panics
    ///
    /// If `host` is not a loopback IP address literal.
    pub fn server(mut self, host: &str, port: u16, security: Security, credentials: Option<(&str, &str)>) -> Self {
        self.servers.push(ServerSpec {
            ip: loopback_ip(host),
            port,
            security,
            credentials: credentials.map(|(u, p)| (u.to_owned(), p.to_owned())),
        });
        self
    }

    /// Sets the network plugin's `FlushInterval` (seconds, in its
    /// `<LoadPlugin network>` block): how often the send buffer is flushed.
    /// `0` leaves it unset (collectd's default: no periodic flush).
    pub fn flush_interval(mut self, seconds: impl Into<f64>) -> Self {
        self.flush_interval = Some(seconds.into());
        self
    }

    /// Adds a line to the top level of `<Plugin network>`, e.g.
    /// `"Forward true"` or `"ReportStats true"`.
    pub fn network_option(mut self, line: &str) -> Self {
        self.network_options.push(line.to_owned());
        self
    }

    /// Loads another plugin (`LoadPlugin NAME`), e.g. `load` or `memory`.
    /// Do not load plugins that reach the network.
    ///
    /// # Panics
    ///
    /// If `name` is not made of ASCII letters, digits and `_`.
    pub fn plugin(mut self, name: &str) -> Self {
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad plugin name {name:?}"
        );
        self.plugins.push(name.to_owned());
        self
    }

    /// Enables the csv plugin writing to `<dir>/csv` with `StoreRates false`.
    pub fn csv(mut self, enabled: bool) -> Self {
        self.csv = enabled;
        self
    }

    /// Enables the rrdtool plugin writing to `<dir>/rrd`.
    pub fn rrdtool(mut self, enabled: bool) -> Self {
        self.rrdtool = enabled;
        self
    }

    /// Loads the rrdcached plugin: values are sent to the rrdcached at `address`
    /// (`DaemonAddress`, e.g. [`Rrdcached::address`](crate::Rrdcached::address)) as
    /// updates of files under `data_dir` (`DataDir`, which that rrdcached must accept,
    /// e.g. [`Rrdcached::base_dir`](crate::Rrdcached::base_dir)).
    ///
    /// The block also has `CreateFiles true`, `CreateFilesAsync false`, `HeartBeat 60`
    /// (a test stalled for a second leaves no unknown step) and `CollectStatistics false`. collectd 5.12 then creates a missing file itself, on
    /// disk, with the rrdtool plugin's parameters, and sends every value as an update to
    /// the daemon, which keeps it until it writes the file.
    ///
    /// # Panics
    ///
    /// If `address` is neither a unix socket (`unix:/path` or `/path`) nor on a loopback
    /// IP address literal.
    pub fn rrdcached(mut self, address: &str, data_dir: impl Into<PathBuf>) -> Self {
        if !(address.starts_with("unix:") || address.starts_with('/')) {
            let host = address.rsplit_once(':').map_or(address, |(h, _)| h);
            loopback_ip(host.trim_start_matches('[').trim_end_matches(']'));
        }
        self.rrdcached = Some((address.to_owned(), data_dir.into()));
        self
    }

    /// Appends raw text to the end of `collectd.conf`, e.g. another
    /// `<Plugin rrdtool>` block with `StepSize 10`.
    pub fn extra_config(mut self, text: &str) -> Self {
        self.extra_config.push_str(text);
        if !text.ends_with('\n') {
            self.extra_config.push('\n');
        }
        self
    }

    /// By default [`start`](Self::start) fails if collectd logs any
    /// `[error]` line while starting. Set `true` to accept them.
    pub fn allow_startup_errors(mut self, allow: bool) -> Self {
        self.allow_startup_errors = allow;
        self
    }

    /// How long [`start`](Self::start) waits for collectd to become ready
    /// (default 10 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Renders `collectd.conf` for the temp dir `dir` and listen port `port`.
    fn render(&self, dir: &Path, port: Option<u16>) -> String {
        let mut c = String::new();
        // `writeln!` to a String cannot fail.
        macro_rules! line {
            ($($arg:tt)*) => { let _ = writeln!(c, $($arg)*); };
        }
        line!("# Written by testkit for a collectd test run.");
        line!("Hostname {}", quote(&self.hostname));
        line!("FQDNLookup false");
        line!("BaseDir {}", quote_path(dir));
        line!("PIDFile {}", quote_path(&dir.join(PIDFILE)));
        line!("TypesDB {}", quote(TYPES_DB));
        if let Some(i) = self.interval {
            line!("Interval {i}");
        }
        if self.write_threads > 0 {
            line!("WriteThreads {}", self.write_threads);
        }
        line!();
        line!("LoadPlugin logfile");
        line!("<Plugin logfile>");
        line!("  LogLevel info");
        line!("  File {}", quote_path(&dir.join(LOG)));
        line!("  Timestamp true");
        line!("  PrintSeverity true");
        line!("</Plugin>");
        line!();
        for p in &self.plugins {
            line!("LoadPlugin {p}");
        }
        let network = self.listen.is_some() || !self.servers.is_empty() || !self.network_options.is_empty();
        let flush = match self.flush_interval {
            Some(f) => f,
            None if !self.servers.is_empty() => 1.0,
            None => 0.0,
        };
        if network {
            if flush > 0.0 {
                line!("<LoadPlugin network>");
                line!("  FlushInterval {flush}");
                line!("</LoadPlugin>");
            } else {
                line!("LoadPlugin network");
            }
        }
        if self.csv {
            line!("LoadPlugin csv");
        }
        if self.rrdtool {
            line!("LoadPlugin rrdtool");
        }
        if self.rrdcached.is_some() {
            line!("LoadPlugin rrdcached");
        }
        if network {
            line!();
            line!("<Plugin network>");
            if let Some(size) = self.max_packet_size {
                line!("  MaxPacketSize {size}");
            }
            for opt in &self.network_options {
                line!("  {opt}");
            }
            if let (Some(l), Some(port)) = (&self.listen, port) {
                line!("  <Listen {} \"{port}\">", quote(&l.ip.to_string()));
                line!("    SecurityLevel {}", l.security.as_config_str());
                if self.auth_file.is_some() {
                    line!("    AuthFile {}", quote_path(&dir.join(AUTHFILE)));
                }
                line!("  </Listen>");
            }
            for s in &self.servers {
                line!("  <Server {} \"{}\">", quote(&s.ip.to_string()), s.port);
                line!("    SecurityLevel {}", s.security.as_config_str());
                if let Some((user, password)) = &s.credentials {
                    line!("    Username {}", quote(user));
                    line!("    Password {}", quote(password));
                }
                line!("  </Server>");
            }
            line!("</Plugin>");
        }
        if self.csv {
            line!();
            line!("<Plugin csv>");
            line!("  DataDir {}", quote_path(&dir.join("csv")));
            line!("  StoreRates false");
            line!("</Plugin>");
        }
        if self.rrdtool {
            line!();
            line!("<Plugin rrdtool>");
            line!("  DataDir {}", quote_path(&dir.join("rrd")));
            line!("</Plugin>");
        }
        if let Some((address, data_dir)) = &self.rrdcached {
            line!();
            line!("<Plugin rrdcached>");
            line!("  DaemonAddress {}", quote(address));
            line!("  DataDir {}", quote_path(data_dir));
            line!("  CreateFiles true");
            line!("  CreateFilesAsync false");
            // A test that stalls for a second or two must not leave unknown steps.
            line!("  HeartBeat 60");
            line!("  CollectStatistics false");
            line!("</Plugin>");
        }
        if !self.extra_config.is_empty() {
            line!();
            c.push_str(&self.extra_config);
        }
        c
    }

    /// Writes the config into a fresh temp dir, starts
    /// `collectd -f -C <dir>/collectd.conf` and waits until it is ready:
    ///
    /// 1. the log shows "Initialization complete, entering read-loop.";
    /// 2. unless [`allow_startup_errors`](Self::allow_startup_errors), the
    ///    log has no `[error]` line;
    /// 3. with a listener, collectd's own process holds a UDP socket on the
    ///    listen port and nobody else does (checked in `/proc`; skipped
    ///    where `/proc` is unreadable).
    ///
    /// After this returns, datagrams sent to [`Collectd::listen_addr`] are
    /// received: the socket is bound while the config is parsed and the
    /// receive thread starts before step 1.
    ///
    /// If an automatically chosen port turns out to be shared with another
    /// process, it retries (up to 3 times) with a new port.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotInstalled`], [`ErrorKind::Io`],
    /// [`ErrorKind::Exited`], [`ErrorKind::Timeout`],
    /// [`ErrorKind::StartupErrors`] (e.g. a `Sign` listener without an
    /// `AuthFile`: "Cowardly refusing to open this socket!") or
    /// [`ErrorKind::NotListening`]. The error carries the config, the log
    /// and collectd's stderr.
    pub fn start(self) -> Result<Collectd, Error> {
        let binary = match &self.binary {
            Some(b) => b.clone(),
            None => find_collectd().ok_or_else(|| {
                Error::new(
                    ErrorKind::NotInstalled,
                    format!(
                        "collectd binary not found: install the Debian package \
                         `{COLLECTD_PACKAGE}` (make deps), or set {SKIP_ENV}=1 to \
                         skip interop tests on this machine"
                    ),
                )
            })?,
        };
        let auto_port = self.listen.as_ref().is_some_and(|l| l.port.is_none());
        let attempts = if auto_port { 3 } else { 1 };
        let mut last_err = None;
        for _ in 0..attempts {
            let mut cd = self.spawn(&binary)?;
            match cd.wait_ready(&self) {
                Ok(()) => return Ok(cd),
                Err((e, port_shared)) => {
                    cd.terminate();
                    let e = cd.error_with_context(e);
                    if !(port_shared && auto_port) {
                        return Err(e);
                    }
                    last_err = Some(e);
                }
            }
        }
        Err(last_err.expect("at least one attempt"))
    }

    fn spawn(&self, binary: &Path) -> Result<Collectd, Error> {
        let io_err = |what: &str, e: io::Error| Error::new(ErrorKind::Io, format!("{what}: {e}"));
        let dir = tempfile::Builder::new()
            .prefix("testkit-collectd-")
            .tempdir()
            .map_err(|e| io_err("creating temp dir", e))?;
        let listen = self.listen.as_ref().map(|l| {
            let port = l.port.unwrap_or_else(free_udp_port);
            SocketAddr::new(l.ip, port)
        });
        let config = self.render(dir.path(), listen.map(|a| a.port()));
        let conf_path = dir.path().join(CONF);
        fs::write(&conf_path, &config).map_err(|e| io_err("writing collectd.conf", e))?;
        if let Some(auth) = &self.auth_file {
            fs::write(dir.path().join(AUTHFILE), auth).map_err(|e| io_err("writing AuthFile", e))?;
        }
        let stdout = File::create(dir.path().join(STDOUT)).map_err(|e| io_err("stdout file", e))?;
        let stderr = File::create(dir.path().join(STDERR)).map_err(|e| io_err("stderr file", e))?;
        let child = Command::new(binary)
            .arg("-f")
            .arg("-C")
            .arg(&conf_path)
            .current_dir(dir.path())
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("UPSTART_JOB")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| {
                Error::new(ErrorKind::Io, format!("spawning {}: {e}", binary.display())).with_context(
                    &config,
                    String::new(),
                    String::new(),
                )
            })?;
        Ok(Collectd { process: Process::new(child), dir, config, listen, hostname: self.hostname.clone() })
    }
}

/// A running collectd 5.12 (`collectd -f`) in its own temporary directory.
///
/// Dropping it stops the process (SIGTERM, then SIGKILL after 5 s), reaps it
/// and deletes the directory. If the current thread is panicking, the drop
/// first prints the config and the log to stderr, which cargo's test harness
/// shows for failing tests. Set `TESTKIT_KEEP_DIR=1` to keep the directory.
#[derive(Debug)]
pub struct Collectd {
    process: Process,
    dir: TempDir,
    config: String,
    listen: Option<SocketAddr>,
    hostname: String,
}

impl Collectd {
    /// A builder with no listener, no servers and no writers.
    pub fn builder() -> CollectdBuilder {
        CollectdBuilder::default()
    }

    /// The UDP port of the `<Listen>` block.
    ///
    /// # Panics
    ///
    /// If the builder had no listener.
    pub fn port(&self) -> u16 {
        self.listen_addr().port()
    }

    /// The address of the `<Listen>` block, e.g. `127.0.0.1:40123`.
    ///
    /// # Panics
    ///
    /// If the builder had no listener.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen.expect("this collectd has no <Listen> block; call .listen() on the builder")
    }

    /// Sends one datagram to the listener from a fresh loopback socket.
    ///
    /// # Errors
    ///
    /// When binding or sending fails.
    ///
    /// # Panics
    ///
    /// If the builder had no listener.
    pub fn send(&self, datagram: &[u8]) -> io::Result<()> {
        let to = self.listen_addr();
        let from: SocketAddr = match to {
            SocketAddr::V4(_) => (Ipv4Addr::LOCALHOST, 0).into(),
            SocketAddr::V6(_) => (std::net::Ipv6Addr::LOCALHOST, 0).into(),
        };
        let sock = UdpSocket::bind(from)?;
        let sent = sock.send_to(datagram, to)?;
        if sent != datagram.len() {
            return Err(io::Error::other(format!("sent {sent} of {} bytes", datagram.len())));
        }
        Ok(())
    }

    /// The temporary directory (collectd's `BaseDir`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The csv plugin's `DataDir`: `<dir>/csv`.
    pub fn csv_dir(&self) -> PathBuf {
        self.dir().join("csv")
    }

    /// The rrdtool plugin's `DataDir`: `<dir>/rrd`.
    pub fn rrd_dir(&self) -> PathBuf {
        self.dir().join("rrd")
    }

    /// The path of an RRD file: `<dir>/rrd/HOST/PLUGIN_DIR/TYPE_FILE.rrd`,
    /// e.g. `rrd_path("testkit", "load", "load")`.
    pub fn rrd_path(&self, host: &str, plugin_dir: &str, type_file: &str) -> PathBuf {
        self.rrd_dir().join(host).join(plugin_dir).join(format!("{type_file}.rrd"))
    }

    /// The configured `Hostname` (default `testkit`).
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The generated `collectd.conf`.
    pub fn config(&self) -> &str {
        &self.config
    }

    /// The path of the log file written by the logfile plugin.
    pub fn log_path(&self) -> PathBuf {
        self.dir().join(LOG)
    }

    /// The current log contents (empty if nothing was logged yet).
    ///
    /// Lines look like `[2024-01-31 12:00:00] [info] message`; received
    /// notifications appear as
    /// `[info] Notification: severity = WARNING, host = h, plugin = p, ..., message = text`.
    pub fn log(&self) -> String {
        read_lossy(&self.log_path())
    }

    /// What collectd wrote to stderr (messages from before the logfile
    /// plugin was configured, e.g. `plugin_load: plugin "logfile"
    /// successfully loaded.`).
    pub fn stderr(&self) -> String {
        read_lossy(&self.dir().join(STDERR))
    }

    /// The process id, while the process has not been stopped.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// True while collectd is running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// Waits until the log contains `needle`, returning the first line that
    /// contains it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Timeout`] (with config, log and stderr attached).
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> Result<String, Error> {
        self.wait_for_log_since(0, needle, timeout)
    }

    /// The current length of the log in bytes, to pass to
    /// [`wait_for_log_since`](Self::wait_for_log_since) so that only lines
    /// logged after this call count.
    pub fn log_mark(&self) -> usize {
        fs::metadata(self.log_path()).map_or(0, |m| usize::try_from(m.len()).unwrap_or(usize::MAX))
    }

    /// Like [`wait_for_log`](Self::wait_for_log), but only looks at the log
    /// after byte offset `mark` (from [`log_mark`](Self::log_mark)).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Timeout`] (with config, log and stderr attached).
    pub fn wait_for_log_since(&self, mark: usize, needle: &str, timeout: Duration) -> Result<String, Error> {
        poll_until(timeout, || {
            let log = self.log();
            log.get(mark..).unwrap_or_default().lines().find(|l| l.contains(needle)).map(str::to_owned)
        })
        .ok_or_else(|| {
            self.error(
                ErrorKind::Timeout,
                format!("collectd did not log {needle:?} (after byte {mark}) within {timeout:?}"),
            )
        })
    }

    /// Waits until `<dir>/relative` exists, returning its full path.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Timeout`] (with config, log and stderr attached).
    pub fn wait_for_file(&self, relative: impl AsRef<Path>, timeout: Duration) -> Result<PathBuf, Error> {
        let path = self.dir().join(relative);
        poll_until(timeout, || path.exists()).map(|()| path.clone()).ok_or_else(|| {
            self.error(ErrorKind::Timeout, format!("{} did not appear within {timeout:?}", path.display()))
        })
    }

    /// Polls `condition` every 20 ms until it returns `true` / `Some(value)`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Timeout`] (with config, log and stderr attached).
    pub fn wait_until<R: WaitOutcome>(
        &self,
        timeout: Duration,
        condition: impl FnMut() -> R,
    ) -> Result<R::Output, Error> {
        poll_until(timeout, condition)
            .ok_or_else(|| self.error(ErrorKind::Timeout, format!("condition not met within {timeout:?}")))
    }

    /// All rows written so far by the csv plugin for one series, read from
    /// `<dir>/csv/HOST/PLUGIN_DIR/TYPE_FILE_PREFIX-YYYY-MM-DD` (all dates, in
    /// order). `plugin_dir` is `plugin[-plugin_instance]` and
    /// `type_file_prefix` is `type[-type_instance]`, e.g.
    /// `csv_rows("testkit", "load", "load")`. No files yet gives no rows.
    pub fn csv_rows(&self, host: &str, plugin_dir: &str, type_file_prefix: &str) -> Vec<CsvRow> {
        read_series(&self.csv_dir().join(host).join(plugin_dir), type_file_prefix)
    }

    /// Stops collectd: SIGTERM (collectd logs "Exiting normally." and flushes
    /// its writers), then SIGKILL if it is still running after 5 s. Returns
    /// the exit status; calling it again returns the same status.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if waiting for the process fails.
    pub fn stop(&mut self) -> Result<ExitStatus, Error> {
        match self.process.stop() {
            Ok(Some(status)) => Ok(status),
            Ok(None) => Err(self.error(ErrorKind::Io, "collectd exit status unknown".into())),
            Err(e) => Err(self.error(ErrorKind::Io, format!("stopping collectd: {e}"))),
        }
    }

    /// Stops the process, ignoring errors.
    fn terminate(&mut self) {
        let _ = self.stop();
    }

    fn error(&self, kind: ErrorKind, message: String) -> Error {
        self.error_with_context(Error::new(kind, message))
    }

    fn error_with_context(&self, e: Error) -> Error {
        e.with_context(&self.config, self.log(), self.stderr())
    }

    /// Readiness wait for [`CollectdBuilder::start`]. On error, the flag says
    /// whether the listen port is also held by another process.
    fn wait_ready(&mut self, opts: &CollectdBuilder) -> Result<(), (Error, bool)> {
        let deadline = Instant::now() + opts.ready_timeout;
        let log = loop {
            let log = self.log();
            if log.contains(READY_LINE) {
                break log;
            }
            if !self.is_running() {
                let status = self.process.exit_status().map_or_else(|| "unknown status".to_owned(), |s| s.to_string());
                let msg = format!("collectd exited ({status}) before it was ready");
                return Err((Error::new(ErrorKind::Exited, msg), false));
            }
            if Instant::now() >= deadline {
                let msg = format!("collectd did not log {READY_LINE:?} within {:?}", opts.ready_timeout);
                return Err((Error::new(ErrorKind::Timeout, msg), false));
            }
            thread::sleep(POLL);
        };
        if !opts.allow_startup_errors {
            let errors: Vec<&str> = log.lines().filter(|l| l.contains("[error]")).collect();
            if !errors.is_empty() {
                let msg = format!("collectd logged errors while starting:\n{}", errors.join("\n"));
                return Err((Error::new(ErrorKind::StartupErrors, msg), false));
            }
        }
        if let (Some(addr), Some(pid)) = (self.listen, self.pid())
            && let Some(holders) = udp_port_holders(pid, addr.port())
        {
            if holders.own == 0 {
                let msg = format!("collectd does not hold a UDP socket on {addr}");
                return Err((Error::new(ErrorKind::NotListening, msg), holders.others > 0));
            }
            if holders.others > 0 {
                let msg = format!(
                    "UDP port {} is also bound by {} socket(s) of other processes",
                    addr.port(),
                    holders.others
                );
                return Err((Error::new(ErrorKind::NotListening, msg), true));
            }
        }
        Ok(())
    }
}

pub(crate) fn read_lossy(path: &Path) -> String {
    fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
}

impl Drop for Collectd {
    fn drop(&mut self) {
        if thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(200).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            eprintln!(
                "--- testkit: collectd in {} ---\n--- collectd.conf ---\n{}\n--- collectd.log (last {} lines) ---\n{}\n--- collectd stderr ---\n{}",
                self.dir().display(),
                self.config,
                tail.len(),
                tail.join("\n"),
                self.stderr()
            );
        }
        self.terminate();
        if std::env::var(KEEP_ENV).is_ok_and(|v| v == "1") {
            self.dir.disable_cleanup(true);
            eprintln!("testkit: kept collectd dir {}", self.dir().display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_full_config() {
        let b = Collectd::builder()
            .interval(1)
            .listen(Security::Sign)
            .auth_file("admin: admin\n")
            .max_packet_size(1452)
            .server("127.0.0.1", 9999, Security::Encrypt, Some(("u", "p\"w")))
            .plugin("load")
            .csv(true)
            .rrdtool(true);
        let c = b.render(Path::new("/tmp/x"), Some(1234));
        let expected_parts = [
            "Hostname \"testkit\"\nFQDNLookup false\nBaseDir \"/tmp/x\"\n",
            "TypesDB \"/usr/share/collectd/types.db\"\nInterval 1\nWriteThreads 1\n",
            "LoadPlugin logfile\n<Plugin logfile>\n  LogLevel info\n  File \"/tmp/x/collectd.log\"\n",
            "LoadPlugin load\n<LoadPlugin network>\n  FlushInterval 1\n</LoadPlugin>\nLoadPlugin csv\nLoadPlugin rrdtool\n",
            "  MaxPacketSize 1452\n  <Listen \"127.0.0.1\" \"1234\">\n    SecurityLevel Sign\n    AuthFile \"/tmp/x/authfile\"\n  </Listen>\n",
            "  <Server \"127.0.0.1\" \"9999\">\n    SecurityLevel Encrypt\n    Username \"u\"\n    Password \"p\\\"w\"\n  </Server>\n",
            "  DataDir \"/tmp/x/csv\"\n  StoreRates false\n",
            "  DataDir \"/tmp/x/rrd\"\n",
        ];
        for part in expected_parts {
            assert!(c.contains(part), "missing {part:?} in:\n{c}");
        }
        assert!(c.find("LoadPlugin logfile").unwrap() < c.find("LoadPlugin load").unwrap());
    }

    #[test]
    fn fractional_interval_and_no_flush() {
        let c = Collectd::builder()
            .interval(0.5)
            .server("::1", 1, Security::None, None)
            .flush_interval(0)
            .render(Path::new("/d"), None);
        assert!(c.contains("Interval 0.5\n"));
        assert!(c.contains("\nLoadPlugin network\n"));
        assert!(c.contains("<Server \"::1\" \"1\">"));
        assert!(!c.contains("<Listen"));
    }

    #[test]
    fn renders_rrdcached_block() {
        let c = Collectd::builder().rrdcached("unix:/t/rrdcached.sock", "/t/data").render(Path::new("/d"), None);
        assert!(c.contains("\nLoadPlugin rrdcached\n"), "{c}");
        assert!(c.contains(
            "<Plugin rrdcached>\n  DaemonAddress \"unix:/t/rrdcached.sock\"\n  DataDir \"/t/data\"\n  \
             CreateFiles true\n  CreateFilesAsync false\n  HeartBeat 60\n  CollectStatistics false\n</Plugin>\n"
        ));
        let c = Collectd::builder().rrdcached("[::1]:42217", "/t").render(Path::new("/d"), None);
        assert!(c.contains("DaemonAddress \"[::1]:42217\""));
    }

    #[test]
    #[should_panic(expected = "loopback")]
    fn refuses_non_loopback_rrdcached() {
        let _ = Collectd::builder().rrdcached("192.0.2.1:42217", "/t");
    }

    #[test]
    #[should_panic(expected = "loopback")]
    fn refuses_non_loopback_server() {
        let _ = Collectd::builder().server("192.0.2.1", 1, Security::None, None);
    }
}
