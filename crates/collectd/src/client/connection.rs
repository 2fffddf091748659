//! The public API an application records through: connections, their builder, counters and stat handles.
//!
//! Only the API lives here: the state is in `state`, recording in `local`, encoding in
//! `encode`, sending in `runtime` and the sinks.

use std::sync::Arc;
use std::time::Duration;

use super::encode::{encode, writer_options};
use super::local;
use super::runtime::Runtime;
use super::shard::{Chunk, Shard, add_to_slot};
use super::state::{ConnectionState, SenderStats, Settings};
use crate::protocol::{
    CdTime, Credentials, DEFAULT_MAX_PACKET_SIZE, MAX_MESSAGE_LEN, MAX_NAME_LEN, Notification, Security, Severity,
    TimeResolution, encode_notification,
};

/// What a [worker process's](ConnectionBuilder::process_slot) plugin instance ends
/// with, before its slot number: `api-worker3`.
///
/// ```
/// assert_eq!(collectd::PROCESS_PREFIX, "worker");
/// ```
pub const PROCESS_PREFIX: &str = "worker";

/// collectd's default port.
///
/// ```
/// let conn = collectd::Connection::new();
/// assert_eq!(collectd::DEFAULT_PORT, 25826);
/// assert_eq!(conn.collectd_port(), collectd::DEFAULT_PORT);
/// ```
pub const DEFAULT_PORT: u16 = 25826;
/// The original module's send interval.
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(collectd::DEFAULT_INTERVAL, Duration::from_secs(10));
/// assert_eq!(collectd::Connection::new().interval(), collectd::DEFAULT_INTERVAL);
/// ```
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);

/// A destination and an identity for statistics: where they are sent, and the host
/// name and plugin instance they are sent under.
///
/// Connections with the same settings are one and the same, as in the original module:
///
/// ```
/// use collectd::Connection;
///
/// let a = Connection::builder().hostname("web1").collectd_port(25999).build();
/// let b = Connection::builder().hostname("web1").collectd_port(25999).build();
/// let c = Connection::builder().hostname("web2").collectd_port(25999).build();
/// assert!(Connection::ptr_eq(&a, &b));
/// assert!(!Connection::ptr_eq(&a, &c));
/// ```
#[derive(Clone)]
pub struct Connection {
    pub(crate) state: Arc<ConnectionState>,
    runtime: Runtime,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.state.settings;
        f.debug_struct("Connection")
            .field("hostname", &s.hostname)
            .field("collectd_host", &s.collectd_host)
            .field("collectd_port", &s.collectd_port)
            .field("more_servers", &s.more_servers)
            .field("plugin_instance", &s.plugin_instance)
            .field("interval", &s.interval)
            .finish_non_exhaustive()
    }
}

impl Default for Connection {
    fn default() -> Self {
        Connection::new()
    }
}

impl Connection {
    /// The original module's defaults: this machine's host name, collectd on
    /// `localhost:25826`, no plugin instance, a 10-second interval.
    ///
    /// ```
    /// let conn = collectd::Connection::new();
    /// assert_eq!(conn.collectd_host(), "localhost");
    /// assert_eq!(conn.plugin_instance(), "");
    /// assert!(collectd::Connection::ptr_eq(&conn, &collectd::Connection::default()));
    /// ```
    pub fn new() -> Self {
        Connection::builder().build()
    }

    /// A builder for every setting.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().hostname("web1").collectd_port(26002).build();
    /// assert_eq!(conn.hostname(), "web1");
    /// assert_eq!(conn.collectd_port(), 26002);
    /// ```
    pub fn builder() -> ConnectionBuilder {
        ConnectionBuilder::default()
    }

    /// True when both are the same connection.
    ///
    /// ```
    /// use collectd::Connection;
    ///
    /// let a = Connection::builder().hostname("a").collectd_port(26003).build();
    /// let b = a.clone();
    /// assert!(Connection::ptr_eq(&a, &b));
    /// assert!(!Connection::ptr_eq(&a, &Connection::builder().hostname("b").collectd_port(26003).build()));
    /// ```
    pub fn ptr_eq(a: &Connection, b: &Connection) -> bool {
        Arc::ptr_eq(&a.state, &b.state)
    }

    /// The runtime that sends this connection's statistics: [`Runtime::global`] unless
    /// the builder was given another.
    ///
    /// ```
    /// let runtime = collectd::Runtime::with_sink(collectd::MemorySink::new());
    /// let conn = collectd::Connection::builder().hostname("runtime-getter-doc").runtime(&runtime).build();
    /// assert!(conn.runtime().ptr_eq(&runtime));
    /// ```
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The counter of a category, created on first use (as the original's `conn.category`).
    ///
    /// The category name is sanitised (see [`sanitize`](crate::sanitize)); a name that
    /// is empty once sanitised records nothing, and is logged once.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().collectd_port(25998).build();
    /// conn.counter("coin_stats").record(&["heads"], &[("flips", 1.0)]);
    /// ```
    pub fn counter(&self, category: &str) -> Counter<'_> {
        Counter { connection: &self.state, category: local::category(&self.state, category) }
    }

    /// The counter of `category`, resolved once and holding its own handle on the
    /// connection: for code that keeps a counter in a struct and records through it
    /// often (a language binding's counter object, say), without looking the category up
    /// again on every call.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().collectd_port(26009).build();
    /// let coins = conn.owned_counter("coin_stats");
    /// coins.counter().record(&["heads"], &[("flips", 1.0)]);
    /// ```
    pub fn owned_counter(&self, category: &str) -> OwnedCounter {
        OwnedCounter { connection: self.clone(), category: local::category(&self.state, category) }
    }

    /// The host name statistics are sent under.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().hostname("web1").collectd_port(26004).build();
    /// assert_eq!(conn.hostname(), "web1");
    /// ```
    pub fn hostname(&self) -> &str {
        &self.state.settings.hostname
    }

    /// The plugin instance statistics are sent under (empty for none).
    ///
    /// ```
    /// let conn = collectd::Connection::builder().plugin_instance("api").collectd_port(26005).build();
    /// assert_eq!(conn.plugin_instance(), "api");
    /// ```
    pub fn plugin_instance(&self) -> &str {
        &self.state.settings.plugin_instance
    }

    /// The server's host name or address.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().collectd_host("127.0.0.1").collectd_port(26006).build();
    /// assert_eq!(conn.collectd_host(), "127.0.0.1");
    /// ```
    pub fn collectd_host(&self) -> &str {
        &self.state.settings.collectd_host
    }

    /// The server's port.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().collectd_port(26007).build();
    /// assert_eq!(conn.collectd_port(), 26007);
    /// ```
    pub fn collectd_port(&self) -> u16 {
        self.state.settings.collectd_port
    }

    /// How often statistics are sent.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let conn = collectd::Connection::builder().interval(Duration::from_secs(30)).collectd_port(26008).build();
    /// assert_eq!(conn.interval(), Duration::from_secs(30));
    /// ```
    pub fn interval(&self) -> Duration {
        self.state.settings.interval
    }

    /// What the sender did for this connection so far: see [`SenderStats`] for what
    /// UDP can and cannot know.
    ///
    /// ```
    /// let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let conn = collectd::Connection::builder()
    ///     .hostname("sender-stats-doc")
    ///     .collectd_host("127.0.0.1")
    ///     .collectd_port(server.local_addr().unwrap().port())
    ///     .build();
    /// conn.counter("jobs").record(&[], &[("done", 1.0)]);
    /// conn.flush();
    /// let stats = conn.sender_stats();
    /// assert_eq!((stats.packets_sent, stats.value_lists_sent), (1, 1));
    ///
    /// // Where nothing listens on this machine, the refusal is known.
    /// let nobody = collectd::Connection::builder()
    ///     .hostname("sender-stats-doc")
    ///     .collectd_host("127.0.0.1")
    ///     .collectd_port(9) // the discard port: nothing listens
    ///     .build();
    /// nobody.counter("jobs").record(&[], &[("done", 1.0)]);
    /// nobody.flush();
    /// let stats = nobody.sender_stats();
    /// assert_eq!((stats.packets_sent, stats.packets_refused, stats.value_lists_sent, stats.value_lists_unsent), (1, 1, 0, 1));
    /// ```
    pub fn sender_stats(&self) -> SenderStats {
        self.runtime.check_fork();
        let registry = &self.state.registry;
        SenderStats {
            names_refused: registry.names_refused.load(std::sync::atomic::Ordering::Relaxed),
            names_expired: registry.names_expired.load(std::sync::atomic::Ordering::Relaxed),
            ..self.state.counters.read()
        }
    }

    /// What the sender did for each server of this connection (the first one, then those
    /// given to [`ConnectionBuilder::add_server`]), each counted on its own;
    /// [`sender_stats`](Self::sender_stats) is their sum.
    ///
    /// ```
    /// let up = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let conn = collectd::Connection::builder()
    ///     .hostname("server-stats-doc")
    ///     .collectd_host("127.0.0.1")
    ///     .collectd_port(up.local_addr().unwrap().port())
    ///     .add_server("127.0.0.1", 9) // the discard port: nothing listens
    ///     .build();
    /// conn.counter("jobs").record(&[], &[("done", 1.0)]);
    /// conn.flush();
    /// let servers = conn.server_stats();
    /// assert_eq!((servers[0].port, servers[0].stats.value_lists_sent), (up.local_addr().unwrap().port(), 1));
    /// assert_eq!((servers[1].port, servers[1].stats.value_lists_unsent), (9, 1));
    /// assert_eq!(conn.sender_stats().packets_sent, 2);
    /// ```
    pub fn server_stats(&self) -> Vec<ServerStats> {
        self.runtime.check_fork();
        self.state
            .destinations
            .iter()
            .map(|d| ServerStats { host: d.host.clone(), port: d.port, stats: d.counters.read() })
            .collect()
    }

    /// Takes a snapshot of this connection now and sends it, after anything already
    /// queued; returns once it is sent (failures are logged and counted), or after the
    /// runtime's [flush timeout](Runtime::flush_timeout), as [`Runtime::flush`] does.
    ///
    /// ```
    /// let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let conn = collectd::Connection::builder()
    ///     .hostname("flush-doc")
    ///     .collectd_host("127.0.0.1")
    ///     .collectd_port(server.local_addr().unwrap().port())
    ///     .build();
    /// conn.counter("jobs").record(&[], &[("done", 1.0)]);
    /// conn.flush();
    /// assert_eq!(conn.sender_stats().value_lists_sent, 1);
    /// ```
    pub fn flush(&self) {
        self.runtime.flush_connection(&self.state);
    }

    /// Sends a notification now, in its own datagram, under the connection's host name,
    /// plugin (`any`) and plugin instance: collectd hands it to its notification plugins
    /// (the logfile plugin writes `Notification: severity = WARNING, host = ..., message
    /// = ...`). The same as `conn.notification(severity, message).send()`; see
    /// [`notification`](Self::notification) for a type, a type instance or a time.
    ///
    /// It does not wait for the next interval, nor for the sender: it is queued ahead
    /// of every snapshot and sent as soon as the sender can, with the connection's
    /// security. At most 1,024 wait for a sender that is stuck (a sink that blocks);
    /// beyond, new ones are dropped, counted and logged at most once a minute. Never
    /// fails and never blocks on I/O: a message that is empty is not sent, one with NUL bytes or longer than 255 bytes is cleaned or cut (logged);
    /// the outcome is counted in [`SenderStats::notifications_sent`] or
    /// [`SenderStats::notifications_unsent`].
    ///
    /// ```
    /// use collectd::protocol::{ReceiveSecurity, Severity, parse};
    /// use collectd::{Connection, MemorySink, Runtime};
    /// use std::time::Duration;
    ///
    /// let sink = MemorySink::new();
    /// let runtime = Runtime::with_sink(sink.clone());
    /// let conn = Connection::builder().hostname("web1").plugin_instance("api").runtime(&runtime).build();
    /// conn.notify(Severity::Warning, "queue is long");
    /// assert!(sink.wait_for(1, Duration::from_secs(10)));
    /// let sent = sink.take();
    /// let parsed = parse(&sent[0].datagram, &ReceiveSecurity::none());
    /// let n = parsed.notifications().next().unwrap();
    /// assert_eq!((n.severity, n.host.as_ref(), n.plugin.as_ref(), n.plugin_instance.as_ref()), (Severity::Warning, "web1", "any", "api"));
    /// assert_eq!(n.message, "queue is long");
    /// ```
    pub fn notify(&self, severity: Severity, message: &str) {
        self.notification(severity, message).send();
    }

    /// A notification to complete with a type, a type instance or a time, then
    /// [`send`](NotificationBuilder::send); see [`notify`](Self::notify).
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Severity};
    ///
    /// let conn = collectd::Connection::builder().hostname("notification-doc").collectd_port(26023).build();
    /// conn.notification(Severity::Failure, "disk full")
    ///     .type_("df")
    ///     .type_instance("root")
    ///     .time(CdTime::from_secs(1_700_000_000))
    ///     .send();
    /// ```
    pub fn notification<'n>(&'n self, severity: Severity, message: &'n str) -> NotificationBuilder<'n> {
        NotificationBuilder { connection: self, severity, message, type_: "", type_instance: "", time: None }
    }

    /// Takes a snapshot now, resetting the sums as a periodic snapshot does, and returns
    /// the datagrams instead of sending them: for programs that carry datagrams
    /// themselves. Empty when nothing was ever recorded.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().hostname("h").collectd_port(25997).build();
    /// conn.counter("test").record(&[], &[("foo", 2.0)]);
    /// let datagrams = conn.take_datagrams();
    /// assert_eq!(datagrams.len(), 1);
    /// ```
    pub fn take_datagrams(&self) -> Vec<Vec<u8>> {
        self.runtime.check_fork();
        let s = &self.state.settings;
        match self.state.registry.snapshot(CdTime::now()) {
            Some(snapshot) => encode(s, &snapshot).map(|encoded| encoded.datagrams).unwrap_or_else(|error| {
                log::error!(target: "collectd", "cannot encode statistics for {}: {error}", s.hostname);
                Vec::new()
            }),
            None => Vec::new(),
        }
    }
}

/// A notification about to be sent: [`Connection::notification`].
#[derive(Clone, Copy, Debug)]
#[must_use = "a notification is sent by `send`"]
pub struct NotificationBuilder<'n> {
    connection: &'n Connection,
    severity: Severity,
    message: &'n str,
    type_: &'n str,
    type_instance: &'n str,
    time: Option<CdTime>,
}

impl<'n> NotificationBuilder<'n> {
    /// The type of the identifier (default: none), sanitised as stat names are (see
    /// [`sanitize`](crate::sanitize)).
    ///
    /// ```
    /// use collectd::protocol::{ReceiveSecurity, Severity, parse};
    /// use collectd::{Connection, MemorySink, Runtime};
    ///
    /// let sink = MemorySink::new();
    /// let runtime = Runtime::with_sink(sink.clone());
    /// let conn = Connection::builder().hostname("h").runtime(&runtime).build();
    /// conn.notification(Severity::Okay, "back").type_("queue/length").type_instance("jobs").send();
    /// conn.flush(); // sent after the notification
    /// let sent = sink.take();
    /// let parsed = parse(&sent[0].datagram, &ReceiveSecurity::none());
    /// let n = parsed.notifications().next().unwrap();
    /// assert_eq!((n.type_.as_ref(), n.type_instance.as_ref()), ("queue_length", "jobs"));
    /// ```
    pub fn type_(mut self, type_: &'n str) -> Self {
        self.type_ = type_;
        self
    }

    /// The type instance of the identifier (default: none), sanitised as stat names are.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().hostname("type-instance-doc").collectd_port(26024).build();
    /// conn.notification(collectd::protocol::Severity::Okay, "ok").type_instance("eth0").send();
    /// ```
    pub fn type_instance(mut self, type_instance: &'n str) -> Self {
        self.type_instance = type_instance;
        self
    }

    /// When it happened (default: when [`send`](Self::send) is called).
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Severity};
    ///
    /// let conn = collectd::Connection::builder().hostname("time-doc").collectd_port(26025).build();
    /// conn.notification(Severity::Okay, "ok").time(CdTime::from_secs(1_700_000_000)).send();
    /// ```
    pub fn time(mut self, time: CdTime) -> Self {
        self.time = Some(time);
        self
    }

    /// Queues the notification for the sender, ahead of every snapshot; see
    /// [`Connection::notify`]. Never fails, never blocks on I/O.
    ///
    /// ```
    /// let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let conn = collectd::Connection::builder()
    ///     .hostname("send-doc")
    ///     .collectd_host("127.0.0.1")
    ///     .collectd_port(server.local_addr().unwrap().port())
    ///     .build();
    /// conn.notification(collectd::protocol::Severity::Okay, "started").send();
    /// conn.flush(); // returns once everything queued before it is sent
    /// assert_eq!(conn.sender_stats().notifications_sent, 1);
    /// ```
    pub fn send(self) {
        let connection = self.connection;
        connection.runtime.check_fork();
        let state = &connection.state;
        let settings = &state.settings;
        let unsent = || {
            state.count_all(|c| {
                c.notifications_unsent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            });
        };
        let message = fit_message(self.message);
        if message.is_empty() {
            log::warn!(target: "collectd", "a notification of {} with an empty message is not sent", settings.hostname);
            unsent();
            return;
        }
        let type_ = checked_name("notification type", self.type_);
        let type_instance = checked_name("notification type instance", self.type_instance);
        let notification = Notification {
            severity: self.severity,
            time: self.time.unwrap_or_else(CdTime::now),
            host: settings.hostname.as_str().into(),
            plugin: crate::MODULE_PLUGIN.into(),
            plugin_instance: settings.plugin_instance.as_str().into(),
            type_: type_.into(),
            type_instance: type_instance.into(),
            message,
        };
        match encode_notification(&notification, &writer_options(settings)) {
            Ok(datagram) => connection.runtime.send_notification(state, datagram),
            Err(error) => {
                log::error!(target: "collectd", "cannot encode a notification of {}: {error}", settings.hostname);
                unsent();
            }
        }
    }
}

/// A notification message collectd accepts: no NUL, at most 255 bytes (cut at a
/// character boundary); logged when changed.
fn fit_message(message: &str) -> std::borrow::Cow<'_, str> {
    if message.len() <= MAX_MESSAGE_LEN && !message.contains('\0') {
        return message.into();
    }
    let mut fixed: String = message.chars().filter(|&c| c != '\0').collect();
    if fixed.len() > MAX_MESSAGE_LEN {
        let mut cut = MAX_MESSAGE_LEN;
        while !fixed.is_char_boundary(cut) {
            cut -= 1;
        }
        fixed.truncate(cut);
    }
    log::warn!(target: "collectd", "a notification message of {} bytes with NUL bytes or over {MAX_MESSAGE_LEN} bytes is sent as {} bytes", message.len(), fixed.len());
    fixed.into()
}

/// A name sanitised as stat names are, and cut to collectd's 127 bytes; logged when changed.
fn checked_name(what: &str, name: &str) -> String {
    let mut fixed = crate::sanitize(name);
    fixed.truncate(MAX_NAME_LEN);
    if fixed != name {
        log::warn!(target: "collectd", "{what} {name:?} is sent as {fixed:?}");
    }
    fixed
}

/// Settings for a [`Connection`]; [`build`](Self::build) returns the existing
/// connection when one with the same settings exists.
///
/// ```
/// use std::time::Duration;
///
/// let conn = collectd::Connection::builder()
///     .hostname("web1")
///     .collectd_host("127.0.0.1")
///     .collectd_port(25996)
///     .plugin_instance("api")
///     .interval(Duration::from_secs(1))
///     .build();
/// assert_eq!(conn.plugin_instance(), "api");
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct ConnectionBuilder {
    settings: Settings,
    runtime: Option<Runtime>,
    process_slot: Option<u32>,
}

/// The settings of `Connection::new()`: this host, collectd on localhost:25826, every 10 s.
impl Default for Settings {
    fn default() -> Self {
        Settings {
            hostname: default_hostname(),
            collectd_host: "localhost".into(),
            collectd_port: DEFAULT_PORT,
            plugin_instance: String::new(),
            interval: DEFAULT_INTERVAL,
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            time_resolution: TimeResolution::HighResolution,
            security: Security::None,
            ttl: None,
            more_servers: Vec::new(),
            expire_after: None,
            max_names: None,
        }
    }
}

/// This machine's host name, as the original's `socket.gethostname()`; read once.
fn default_hostname() -> String {
    static HOSTNAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOSTNAME.get_or_init(read_hostname).clone()
}

fn read_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Makes a host name or plugin instance acceptable to collectd: no NUL, at most 127 bytes.
fn fit_identifier(what: &str, value: String) -> String {
    let mut fixed: String = value.chars().filter(|&c| c != '\0').collect();
    if fixed.len() > MAX_NAME_LEN {
        let mut cut = MAX_NAME_LEN;
        while !fixed.is_char_boundary(cut) {
            cut -= 1;
        }
        fixed.truncate(cut);
    }
    if fixed != value {
        log::warn!(target: "collectd", "{what} {value:?} is not acceptable to collectd; using {fixed:?}");
    }
    fixed
}

impl ConnectionBuilder {
    /// The host name to send statistics under (default: this machine's). At most 127
    /// bytes; longer names are cut, and logged.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().hostname("web1").collectd_port(26009).build();
    /// assert_eq!(conn.hostname(), "web1");
    /// let long = collectd::Connection::builder().hostname("x".repeat(200)).collectd_port(26009).build();
    /// assert_eq!(long.hostname().len(), 127);
    /// ```
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.settings.hostname = hostname.into();
        self
    }

    /// The collectd server's host name or address, IPv4 or IPv6 (default `localhost`).
    ///
    /// ```
    /// let conn = collectd::Connection::builder().collectd_host("::1").collectd_port(26010).build();
    /// assert_eq!(conn.collectd_host(), "::1");
    /// ```
    pub fn collectd_host(mut self, host: impl Into<String>) -> Self {
        self.settings.collectd_host = host.into();
        self
    }

    /// The collectd server's port (default 25826).
    ///
    /// ```
    /// let conn = collectd::Connection::builder().collectd_port(26011).build();
    /// assert_eq!(conn.collectd_port(), 26011);
    /// ```
    pub fn collectd_port(mut self, port: u16) -> Self {
        self.settings.collectd_port = port;
        self
    }

    /// The plugin instance: files land in `HOST/any-INST/` instead of `HOST/any/`.
    ///
    /// ```
    /// use collectd::protocol::{ReceiveSecurity, parse};
    ///
    /// let conn = collectd::Connection::builder().hostname("h").plugin_instance("api").collectd_port(26012).build();
    /// conn.counter("c").record(&[], &[("s", 1.0)]);
    /// let datagrams = conn.take_datagrams();
    /// let parsed = parse(&datagrams[0], &ReceiveSecurity::none());
    /// assert_eq!(parsed.value_lists().next().unwrap().identifier().to_string(), "h/any-api/gauge-c-s");
    /// ```
    pub fn plugin_instance(mut self, plugin_instance: impl Into<String>) -> Self {
        self.settings.plugin_instance = plugin_instance.into();
        self
    }

    /// Sends as worker process `slot` of a group of processes recording the same
    /// statistics (a prefork web server's or a job runner's workers): the plugin
    /// instance becomes `INST-workerSLOT` (`workerSLOT` without a plugin instance), so
    /// each process's values land in their own files, `HOST/any-INST-workerSLOT/`,
    /// instead of clashing in `HOST/any-INST/` (where collectd would drop some as "too
    /// old", or rrdtool average them). collectd's `aggregation` plugin, configured as
    /// the README shows, writes their exact sum to `HOST/any-INST/`, where a single
    /// process's values go; the read side (`collectd-rrd`) offers that total as the
    /// series and each worker as a specific.
    ///
    /// `slot` is the worker's number in its pool (0 to N−1), not its process id: a
    /// worker restarted in the same slot writes to the same files, so their number
    /// stays bounded. Without it (the default) every process sends under the plugin
    /// instance itself, as a single process should.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().hostname("w").plugin_instance("api").process_slot(3).collectd_port(26027).build();
    /// assert_eq!(conn.plugin_instance(), "api-worker3");
    /// let bare = collectd::Connection::builder().hostname("w").process_slot(0).collectd_port(26027).build();
    /// assert_eq!(bare.plugin_instance(), "worker0");
    /// ```
    pub fn process_slot(mut self, slot: u32) -> Self {
        self.process_slot = Some(slot);
        self
    }

    /// How often statistics are snapshot and sent (default 10 s; at least 1 s, since
    /// collectd's rrdtool plugin stores whole-second steps and two values in the same
    /// second are refused).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let conn = collectd::Connection::builder().interval(Duration::from_millis(10)).collectd_port(26013).build();
    /// assert_eq!(conn.interval(), Duration::from_secs(1)); // raised to the minimum
    /// ```
    pub fn interval(mut self, interval: Duration) -> Self {
        self.settings.interval = interval.max(Duration::from_secs(1));
        self
    }

    /// The largest datagram to send, 1024 to 65535 (default 1452, collectd's receive
    /// buffer). Values outside the range are clamped, and logged.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().hostname("h").max_packet_size(1024).collectd_port(26014).build();
    /// let counter = conn.counter("many");
    /// for i in 0..100 {
    ///     counter.record(&[], &[(&format!("stat{i}"), 1.0)]);
    /// }
    /// let datagrams = conn.take_datagrams();
    /// assert!(datagrams.len() > 1);
    /// assert!(datagrams.iter().all(|d| d.len() <= 1024));
    /// ```
    pub fn max_packet_size(mut self, bytes: usize) -> Self {
        self.settings.max_packet_size = bytes;
        self
    }

    /// Sends whole-second TIME and INTERVAL parts, for collectd 4.x servers, as the
    /// original module did (default: high-resolution parts, as collectd 5 sends).
    ///
    /// ```
    /// use collectd::protocol::{ReceiveSecurity, parse};
    ///
    /// let conn = collectd::Connection::builder().hostname("h").legacy_time(true).collectd_port(26015).build();
    /// conn.counter("c").record(&[], &[("s", 1.0)]);
    /// let datagrams = conn.take_datagrams();
    /// let time = parse(&datagrams[0], &ReceiveSecurity::none()).value_lists().next().unwrap().time;
    /// assert_eq!(time.raw() % (1 << 30), 0, "whole seconds");
    /// ```
    pub fn legacy_time(mut self, legacy: bool) -> Self {
        self.settings.time_resolution = if legacy { TimeResolution::Seconds } else { TimeResolution::HighResolution };
        self
    }

    /// Signs every datagram (the server's `SecurityLevel Sign`).
    ///
    /// ```
    /// use collectd::protocol::{Credentials, part};
    ///
    /// let credentials = Credentials::new("admin", "secret").unwrap();
    /// let conn = collectd::Connection::builder().hostname("h").sign(credentials).collectd_port(26016).build();
    /// conn.counter("c").record(&[], &[("s", 1.0)]);
    /// assert_eq!(conn.take_datagrams()[0][..2], part::SIGNATURE.to_be_bytes());
    /// ```
    pub fn sign(mut self, credentials: Credentials) -> Self {
        self.settings.security = Security::Sign(credentials);
        self
    }

    /// Encrypts every datagram (the server's `SecurityLevel Encrypt`).
    ///
    /// ```
    /// use collectd::protocol::{Credentials, part};
    ///
    /// let credentials = Credentials::new("admin", "secret").unwrap();
    /// let conn = collectd::Connection::builder().hostname("h").encrypt(credentials).collectd_port(26017).build();
    /// conn.counter("c").record(&[], &[("s", 1.0)]);
    /// assert_eq!(conn.take_datagrams()[0][..2], part::ENCRYPTION.to_be_bytes());
    /// ```
    pub fn encrypt(mut self, credentials: Credentials) -> Self {
        self.settings.security = Security::Encrypt(credentials);
        self
    }

    /// One more collectd server to send every datagram to, besides
    /// [`collectd_host`](Self::collectd_host):[`collectd_port`](Self::collectd_port), as
    /// collectd's network plugin does with several `<Server>` blocks. Each server has its
    /// own socket, name lookup, error log and statistics
    /// ([`Connection::server_stats`]); one that is down or refuses costs the others
    /// nothing (a name that does not resolve costs, once, the first send's wait for its
    /// lookup: see [`UdpSink::resolve_timeout`](crate::UdpSink::resolve_timeout)).
    /// Called again, adds another; a server given twice is sent to once.
    ///
    /// ```
    /// use collectd::{Connection, MemorySink, Runtime};
    ///
    /// let sink = MemorySink::new();
    /// let runtime = Runtime::with_sink(sink.clone());
    /// let conn = Connection::builder()
    ///     .hostname("add-server-doc")
    ///     .collectd_host("a.example")
    ///     .add_server("b.example", 25827)
    ///     .runtime(&runtime)
    ///     .build();
    /// conn.counter("jobs").record(&[], &[("done", 1.0)]);
    /// conn.flush();
    /// let sent: Vec<(String, u16)> = sink.take().into_iter().map(|d| (d.host, d.port)).collect();
    /// assert_eq!(sent, [("a.example".to_string(), 25826), ("b.example".to_string(), 25827)]);
    /// ```
    pub fn add_server(mut self, host: impl Into<String>, port: u16) -> Self {
        self.settings.more_servers.push((host.into(), port));
        self
    }

    /// Forgets a name once it has not been recorded for `intervals` intervals (at least
    /// 1): it is no longer sent, its memory is freed (its slot is reused by a new name),
    /// and it comes back, from zero, when recorded again. Without it (the default, as
    /// the original module) every name ever recorded is sent each interval, as 0 when
    /// idle, and held for the life of the connection.
    ///
    /// For programs whose names come and go (a name per customer, per URL, per job),
    /// where memory would otherwise grow with every name ever seen. Names recorded
    /// through a [`Stat`] handle (or a `metrics` handle) never expire: the handle adds to
    /// the slot directly. Category names are kept. When names expire, each recording
    /// thread looks its names up again once (under the connection's lock).
    ///
    /// ```
    /// use collectd::{Connection, MemorySink, Runtime};
    /// use collectd::protocol::{ReceiveSecurity, parse};
    ///
    /// let sink = MemorySink::new();
    /// let runtime = Runtime::with_sink(sink.clone());
    /// let conn = Connection::builder().hostname("expire-doc").expire_after(2).runtime(&runtime).build();
    /// conn.counter("jobs").record(&[], &[("done", 1.0), ("once", 1.0)]);
    /// let sent_names = || -> usize {
    ///     conn.flush();
    ///     sink.take().iter().map(|d| parse(&d.datagram, &ReceiveSecurity::none()).value_lists().count()).sum()
    /// };
    /// assert_eq!(sent_names(), 2);
    /// conn.counter("jobs").record(&[], &[("done", 1.0)]);
    /// assert_eq!(sent_names(), 2, "`once` is idle for one interval: sent as 0");
    /// conn.counter("jobs").record(&[], &[("done", 1.0)]);
    /// assert_eq!(sent_names(), 1, "idle for two: forgotten");
    /// assert_eq!(conn.sender_stats().names_expired, 1);
    /// ```
    pub fn expire_after(mut self, intervals: u32) -> Self {
        self.settings.expire_after = Some(intervals.max(1));
        self
    }

    /// The most distinct names (`category[-specific]-stat`) the connection holds; a new
    /// name beyond is refused: not recorded, counted in
    /// [`SenderStats::names_refused`], and logged at most once a minute. Names already
    /// held keep recording. With [`expire_after`](Self::expire_after), expired names make
    /// room again. No limit by default.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().hostname("max-names-doc").max_names(2).collectd_port(26026).build();
    /// let counter = conn.counter("c");
    /// counter.record(&[], &[("a", 1.0), ("b", 1.0), ("c", 1.0)]);
    /// assert_eq!(conn.take_datagrams().len(), 1);
    /// assert_eq!(conn.sender_stats().names_refused, 1);
    /// ```
    pub fn max_names(mut self, names: usize) -> Self {
        self.settings.max_names = Some(names);
        self
    }

    /// The time-to-live of the datagrams, 1–255: for a multicast destination, how many
    /// routers they may cross (the OS default is 1). Applies to IPv4 destinations; IPv6
    /// ones keep the system's hop limit.
    ///
    /// ```
    /// use collectd::Connection;
    ///
    /// let with_ttl = Connection::builder().hostname("ttl-doc").collectd_port(26018).ttl(4).build();
    /// let without = Connection::builder().hostname("ttl-doc").collectd_port(26018).build();
    /// assert!(!Connection::ptr_eq(&with_ttl, &without), "the TTL is one of the settings");
    /// let zero = Connection::builder().hostname("ttl-doc").collectd_port(26018).ttl(0).build();
    /// let one = Connection::builder().hostname("ttl-doc").collectd_port(26018).ttl(1).build();
    /// assert!(Connection::ptr_eq(&zero, &one), "0 is raised to 1");
    /// ```
    pub fn ttl(mut self, ttl: u32) -> Self {
        self.settings.ttl = Some(ttl.clamp(1, 255));
        self
    }

    /// The runtime whose threads send the connection's statistics, and whose sink they
    /// go through (default: [`Runtime::global`]). Connections are shared within a
    /// runtime only: the same settings on another runtime give another connection.
    ///
    /// ```
    /// use collectd::{Connection, MemorySink, Runtime};
    ///
    /// let runtime = Runtime::with_sink(MemorySink::new());
    /// let builder = Connection::builder().hostname("builder-runtime-doc");
    /// let own = builder.clone().runtime(&runtime).build();
    /// assert!(own.runtime().ptr_eq(&runtime));
    /// assert!(!Connection::ptr_eq(&own, &builder.build()));
    /// ```
    pub fn runtime(mut self, runtime: &Runtime) -> Self {
        self.runtime = Some(runtime.clone());
        self
    }

    /// The connection with these settings: the existing one, or a new one.
    ///
    /// ```
    /// let builder = collectd::Connection::builder().hostname("build-doc").collectd_port(26019);
    /// let a = builder.clone().build();
    /// let b = builder.build();
    /// assert!(collectd::Connection::ptr_eq(&a, &b));
    /// ```
    pub fn build(self) -> Connection {
        let runtime = self.runtime.unwrap_or_else(|| Runtime::global().clone());
        let mut settings = self.settings;
        settings.hostname = fit_identifier("host name", settings.hostname);
        if settings.hostname.is_empty() {
            log::warn!(target: "collectd", "empty host name; using \"localhost\"");
            settings.hostname = "localhost".into();
        }
        if let Some(slot) = self.process_slot {
            settings.plugin_instance = if settings.plugin_instance.is_empty() {
                format!("{PROCESS_PREFIX}{slot}")
            } else {
                format!("{}-{PROCESS_PREFIX}{slot}", settings.plugin_instance)
            };
        }
        settings.plugin_instance = fit_identifier("plugin instance", settings.plugin_instance);
        let size = settings.max_packet_size.clamp(1024, 65535);
        if size != settings.max_packet_size {
            log::warn!(target: "collectd", "maximum packet size {} is outside 1024–65535; using {size}", settings.max_packet_size);
            settings.max_packet_size = size;
        }
        Connection { state: runtime.connection(settings), runtime }
    }
}

/// What the sender did for one server of a connection: [`Connection::server_stats`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// The server's host name or address.
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// What was sent to it.
    pub stats: SenderStats,
}

/// A counter that owns a handle on its connection: [`Connection::owned_counter`].
#[derive(Clone, Debug)]
pub struct OwnedCounter {
    connection: Connection,
    category: u32,
}

impl OwnedCounter {
    /// The counter, to record through.
    pub fn counter(&self) -> Counter<'_> {
        Counter { connection: &self.connection.state, category: self.category }
    }

    /// The connection it records on.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }
}

/// The statistics of one category on one connection.
///
/// Cheap to get again: `conn.counter("x")` on a known name looks it up without a lock.
/// Holding the counter in a variable saves that lookup in hot loops.
///
/// ```
/// use collectd::protocol::{ReceiveSecurity, parse};
///
/// let conn = collectd::Connection::builder().hostname("h").collectd_port(26020).build();
/// let coins = conn.counter("coin_stats");
/// coins.record(&["heads"], &[("flips", 1.0)]);
/// coins.record(&["tails"], &[("flips", 1.0)]);
/// let datagrams = conn.take_datagrams();
/// // The base count, heads and tails.
/// assert_eq!(parse(&datagrams[0], &ReceiveSecurity::none()).value_lists().count(), 3);
/// ```
#[derive(Clone, Copy)]
pub struct Counter<'c> {
    connection: &'c ConnectionState,
    category: u32,
}

impl Counter<'_> {
    /// Adds each stat's value to its base count and, for each specific, to that
    /// specific's count, as the original's `record(*specifics, **stats)`.
    ///
    /// Never panics and never blocks on I/O. Non-finite values are refused and logged;
    /// a specific that is empty once sanitised is ignored (the base still counts).
    ///
    /// ```
    /// let conn = collectd::Connection::builder().collectd_port(25995).build();
    /// let example = conn.counter("example");
    /// example.record(&[], &[("baz", 1.0)]);
    /// example.record(&["foo"], &[("baz", 2.0)]);
    /// example.record(&["bar"], &[("baz", 3.0)]);
    /// // Sent as example-baz = 6, example-foo-baz = 2, example-bar-baz = 3.
    /// ```
    pub fn record(&self, specifics: &[&str], stats: &[(&str, f64)]) {
        local::record(self.connection, self.category, specifics, stats);
    }

    /// Sets each stat's base count to exactly its value (specifics are untouched), as the
    /// original's `set_exact(**stats)`. A later `record` adds to it.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().collectd_port(25994).build();
    /// conn.counter("queue").set_exact(&[("size", 12.0)]);
    /// ```
    pub fn set_exact(&self, stats: &[(&str, f64)]) {
        local::set_exact(self.connection, self.category, stats);
    }

    /// A handle on a stat's base count, for hot loops: [`Stat::add`] skips every lookup.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().collectd_port(25993).build();
    /// let flips = conn.counter("coin_stats").stat("flips");
    /// for _ in 0..1000 {
    ///     flips.add(1.0);
    /// }
    /// ```
    pub fn stat(&self, stat: &str) -> Stat {
        let target = local::stat_slot(self.connection, self.category, stat).map(|(shard, index)| {
            let (chunk, offset) = shard.chunk_for(index);
            let chunk = chunk.clone();
            StatTarget { _shard: shard, chunk, offset }
        });
        Stat { target }
    }
}

#[derive(Clone)]
struct StatTarget {
    /// Keeps the shard registered with its connection while the handle lives.
    _shard: Arc<Shard>,
    chunk: Chunk,
    offset: usize,
}

/// A handle on one stat's base count; see [`Counter::stat`]. It can be cloned and
/// sent to other threads (it then adds to the slot of the thread that made it).
///
/// ```
/// use collectd::protocol::{ReceiveSecurity, Value, parse};
///
/// let conn = collectd::Connection::builder().hostname("h").collectd_port(26021).build();
/// let done = conn.counter("jobs").stat("done");
/// let handle = done.clone();
/// std::thread::spawn(move || handle.add(2.0)).join().unwrap();
/// done.add(1.0);
/// let datagrams = conn.take_datagrams();
/// let vl = parse(&datagrams[0], &ReceiveSecurity::none()).value_lists().next().unwrap().clone();
/// assert_eq!(vl.values.get(0), Some(Value::Gauge(3.0)));
/// ```
#[derive(Clone)]
pub struct Stat {
    target: Option<StatTarget>,
}

impl Stat {
    /// Adds to the stat. Non-finite values are refused and logged.
    ///
    /// ```
    /// use collectd::protocol::{ReceiveSecurity, Value, parse};
    ///
    /// let conn = collectd::Connection::builder().hostname("h").collectd_port(26022).build();
    /// let done = conn.counter("jobs").stat("done");
    /// done.add(1.5);
    /// done.add(f64::NAN); // refused and logged
    /// let datagrams = conn.take_datagrams();
    /// let vl = parse(&datagrams[0], &ReceiveSecurity::none()).value_lists().next().unwrap().clone();
    /// assert_eq!(vl.values.get(0), Some(Value::Gauge(1.5)));
    /// ```
    #[inline]
    pub fn add(&self, value: f64) {
        match &self.target {
            Some(target) if value.is_finite() => add_to_slot(&target.chunk[target.offset], value),
            Some(_) => local::refuse_value(None, value),
            None => {}
        }
    }
}

impl std::fmt::Debug for Stat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stat").field("valid", &self.target.is_some()).finish()
    }
}
