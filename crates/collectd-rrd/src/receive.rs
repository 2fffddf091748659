//! The embedded receiver: collectd datagrams in, RRD files out, as a collectd 5.12 server
//! with the network and rrdtool plugins would write them.
//!
//! The socket and the AuthFile are [`collectd::server`]'s; the files are [`crate::write`]'s.
//! The loop ([`Receiver`]) reads each datagram whole (up to 65535 bytes), parses it with
//! [`collectd::protocol::parse_each`] at the configured security level, and hands each value
//! list to the writer after collectd's dispatch checks: a type that is not in the types
//! database, or a value list whose number of values differs from the type's, is dropped
//! (and reported once per type). A malformed datagram is reported with the parser's reason
//! and offset, and the records before the fault are kept, as collectd keeps them.
//! Notifications are counted and otherwise ignored, as the rrdtool plugin ignores them.
//!
//! Names are kept as bytes, as collectd keeps them: the file of a value list is
//! [`naming::raw_file_path`] (collectd's own rules, name by name: `escape_slashes`, no
//! host or plugin directory that begins with a dot, every other byte kept). Log lines
//! show names with [`naming::display_name`].
//!
//! Deliberate differences from collectd: datagrams are never truncated (collectd cuts them
//! at `MaxPacketSize`); unknown types are reported once per type rather than every time.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use collectd::protocol::{CdTime, Event, NoticeKind, RawValueList, SecurityLevel, parse_each};
use collectd::server::{Auth, ListenError, Listener, MAX_DATAGRAM, udp_drops};

use crate::log_limit::{self, Once};
use crate::naming;
use crate::rrdtool::Pool;
use crate::write::{TypesDb, Writer, WriterConfig, WriterError, WriterStats, create};

/// How often the loop looks at the stop flag while no datagram arrives.
const POLL: Duration = Duration::from_millis(100);
/// How often the AuthFile's modification time is checked at most.
const AUTH_CHECK: Duration = Duration::from_millis(200);

/// What stops the receiver from starting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiverError {
    /// The listening side.
    #[error(transparent)]
    Listen(#[from] ListenError),
    /// The writer.
    #[error(transparent)]
    Writer(#[from] WriterError),
    /// The data directory cannot be made.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The receive thread could not be started.
    #[error("cannot start the receive thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// Everything the receiver needs.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Interface for multicast groups.
    pub interface: Option<String>,
    /// Receive buffer to ask for.
    pub receive_buffer: usize,
    /// Security level.
    pub security_level: SecurityLevel,
    /// AuthFile.
    pub auth_file: Option<PathBuf>,
    /// Where the RRD files go.
    pub data_dir: PathBuf,
    /// The types.
    pub types: Arc<TypesDb>,
    /// Interval of value lists that carry none.
    pub default_interval: CdTime,
    /// Batching and file layout.
    pub writer: WriterConfig,
}

impl ReceiverConfig {
    /// A plain receiver (security level None) with collectd's defaults: the built-in
    /// types.db, a 10-second default interval, a 4 MiB receive buffer asked for.
    pub fn new(listen: SocketAddr, data_dir: impl Into<PathBuf>) -> ReceiverConfig {
        ReceiverConfig {
            listen,
            interface: None,
            receive_buffer: 4 << 20,
            security_level: SecurityLevel::None,
            auth_file: None,
            data_dir: data_dir.into(),
            types: Arc::new(TypesDb::builtin()),
            default_interval: CdTime::from_secs(10),
            writer: WriterConfig::default(),
        }
    }
}

/// What the receiver did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Datagrams read.
    pub datagrams: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Datagrams with a parse error (their records before the error were used).
    pub malformed: u64,
    /// Value lists decoded.
    pub value_lists: u64,
    /// Notifications decoded (and ignored).
    pub notifications: u64,
    /// Value lists dropped: type not in the types database.
    pub unknown_type: u64,
    /// Value lists dropped: number of values differs from the type's.
    pub wrong_count: u64,
    /// Value lists dropped: a host or plugin directory that begins with a dot, which
    /// collectd refuses to create.
    pub bad_name: u64,
    /// Datagrams the kernel dropped on this socket (from `/proc/net/udp`), when known.
    pub kernel_drops: Option<u64>,
    /// What the writer did.
    pub writer: WriterStats,
}

impl std::fmt::Display for ReceiverStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = &self.writer;
        write!(
            f,
            "datagrams={} bytes={} malformed={} value_lists={} notifications={} unknown_type={} wrong_count={} \
             bad_name={} kernel_drops={} accepted={} too_old={} not_newer_on_disk={} backlog_dropped={} \
             written={} failed={} pending={} files_created={} updates={}",
            self.datagrams,
            self.bytes,
            self.malformed,
            self.value_lists,
            self.notifications,
            self.unknown_type,
            self.wrong_count,
            self.bad_name,
            self.kernel_drops.map_or_else(|| "unknown".to_owned(), |d| d.to_string()),
            w.accepted,
            w.too_old,
            w.not_newer_on_disk,
            w.backlog_dropped,
            w.written,
            w.failed,
            w.pending,
            w.files_created,
            w.updates,
        )
    }
}

#[derive(Default)]
struct Counters {
    datagrams: AtomicU64,
    bytes: AtomicU64,
    malformed: AtomicU64,
    value_lists: AtomicU64,
    notifications: AtomicU64,
    unknown_type: AtomicU64,
    wrong_count: AtomicU64,
    bad_name: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A running receiver: a thread reading the socket, and the writer's flush threads.
pub struct Receiver {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    writer: Option<Arc<Writer>>,
    counters: Arc<Counters>,
    local: SocketAddr,
    description: String,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").field("local", &self.local).finish_non_exhaustive()
    }
}

impl Receiver {
    /// Binds the socket, creates the data directory and starts receiving.
    pub fn start(config: ReceiverConfig, pool: Pool) -> Result<Receiver, ReceiverError> {
        let auth = Auth::new(config.security_level, config.auth_file.as_deref())?;
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|source| ReceiverError::DataDir { path: config.data_dir.clone(), source })?;
        let listener = Listener::bind(config.listen, config.interface.as_deref(), config.receive_buffer, POLL)?;
        let local = listener.local;
        let description = listener.describe();
        if let Some(warning) = listener.buffer_warning() {
            log_limit::warn(&warning);
        }
        let writer = Arc::new(Writer::start(pool, config.writer.clone())?);
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let mut state = LoopState {
            listener,
            auth,
            next_auth_check: Instant::now() + AUTH_CHECK,
            sink: Sink {
                types: config.types.clone(),
                data_dir: config.data_dir.clone(),
                default_interval: config.default_interval,
                writer: writer.clone(),
                counters: counters.clone(),
                once: Once::default(),
                raw: Vec::new(),
            },
        };
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("receive".into())
            .spawn(move || state.run(&stop2))
            .map_err(ReceiverError::Thread)?;
        Ok(Receiver { stop, thread: Some(thread), writer: Some(writer), counters, local, description })
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The socket's setup, for the log.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The counters so far.
    pub fn stats(&self) -> ReceiverStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ReceiverStats {
            datagrams: get(&c.datagrams),
            bytes: get(&c.bytes),
            malformed: get(&c.malformed),
            value_lists: get(&c.value_lists),
            notifications: get(&c.notifications),
            unknown_type: get(&c.unknown_type),
            wrong_count: get(&c.wrong_count),
            bad_name: get(&c.bad_name),
            kernel_drops: udp_drops(self.local),
            writer: self.writer.as_ref().map(|w| w.stats()).unwrap_or_default(),
        }
    }

    /// Stops receiving (after reading what the socket still holds), writes every pending
    /// value and returns the final counters.
    pub fn stop(mut self) -> ReceiverStats {
        // The socket closes with the receive thread: read its drop count first.
        let kernel_drops = udp_drops(self.local);
        self.stop_thread();
        let mut stats = ReceiverStats { kernel_drops, ..self.stats() };
        if let Some(writer) = self.writer.take() {
            // The loop thread has ended, so this is the last reference.
            stats.writer = match Arc::try_unwrap(writer) {
                Ok(writer) => writer.shutdown(),
                Err(shared) => shared.stats(),
            };
        }
        stats
    }

    fn stop_thread(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // The writer flushes when its last reference goes.
        self.stop_thread();
    }
}

struct LoopState {
    listener: Listener,
    auth: Auth,
    next_auth_check: Instant,
    sink: Sink,
}

/// Where the records of a datagram go (apart from the socket and the AuthFile, which the
/// parser borrows meanwhile).
struct Sink {
    types: Arc<TypesDb>,
    data_dir: PathBuf,
    default_interval: CdTime,
    writer: Arc<Writer>,
    counters: Arc<Counters>,
    once: Once,
    raw: Vec<u64>,
}

impl LoopState {
    fn run(&mut self, stop: &AtomicBool) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while !stop.load(Ordering::Relaxed) {
            let (len, from) = match self.listener.socket.recv_from(&mut buf) {
                Ok(received) => received,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log_limit::warn(&format!("receiving on {}: {e}", self.listener.local));
                    std::thread::sleep(POLL);
                    continue;
                }
            };
            if Instant::now() >= self.next_auth_check {
                if let Some(message) = self.auth.refresh() {
                    log::info!("{message}");
                }
                self.next_auth_check = Instant::now() + AUTH_CHECK;
            }
            self.datagram(&buf[..len], from);
        }
        self.drain(&mut buf);
    }

    /// Reads what the socket still holds when asked to stop: datagrams that reached the
    /// socket were accepted by this process and are written, not dropped.
    fn drain(&mut self, buf: &mut [u8]) {
        if let Err(e) = self.listener.socket.set_nonblocking(true) {
            log_limit::warn(&format!("receiving on {}: cannot read what is left: {e}", self.listener.local));
            return;
        }
        loop {
            match self.listener.socket.recv_from(buf) {
                Ok((len, from)) => self.datagram(&buf[..len], from),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            }
        }
    }

    fn datagram(&mut self, bytes: &[u8], from: SocketAddr) {
        let c = self.sink.counters.clone();
        let sink = &mut self.sink;
        bump(&c.datagrams);
        c.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let security = self.auth.security();
        let mut malformed = false;
        // The streaming parser gives the names as bytes: a name is kept as collectd keeps
        // it, whatever its encoding.
        parse_each(bytes, &security, |event| match event {
            Event::Values(vl) => sink.value_list(&vl),
            Event::Notification(_) => bump(&c.notifications),
            Event::Error(error) => {
                malformed = true;
                log_limit::warn(&format!("malformed datagram from {from} ({} bytes): {error}", bytes.len()));
            }
            Event::Notice(notice) => {
                let key = match notice.kind {
                    NoticeKind::UnprotectedPartsIgnored { .. } => "unprotected",
                    NoticeKind::UnverifiedSignature => "unverified",
                    _ => return,
                };
                sink.once.warn(&format!("{key}:{}", from.ip()), || format!("datagram from {from}: {notice}"));
            }
        });
        if malformed {
            bump(&c.malformed);
        }
    }
}

impl Sink {
    fn value_list(&mut self, vl: &RawValueList<'_>) {
        let c = &self.counters;
        bump(&c.value_lists);
        let names = naming::RawNames::of_raw(vl);
        // types.db names are text: a type that is not UTF-8 is in no types database.
        let Some(set) = std::str::from_utf8(vl.type_).ok().and_then(|t| self.types.get(t)) else {
            bump(&c.unknown_type);
            let type_ = naming::display_name(vl.type_);
            self.once.warn(&format!("type:{type_}"), || {
                format!(
                    "dataset not found: {type_} (from \"{}\"), check your types.db! Its values are dropped.",
                    names.display()
                )
            });
            return;
        };
        if set.sources.len() != vl.values.len() {
            bump(&c.wrong_count);
            self.once.warn(&format!("count:{}:{}", set.name, vl.values.len()), || {
                format!(
                    "<{}> type {} has {} data sources but {} values were received; dropped",
                    names.display(),
                    set.name,
                    set.sources.len(),
                    vl.values.len()
                )
            });
            return;
        }
        let interval = if vl.interval == CdTime::ZERO { self.default_interval } else { vl.interval };
        let path = match naming::raw_file_path(&self.data_dir, &names) {
            Ok(path) => path,
            Err(e) => {
                bump(&c.bad_name);
                self.once.warn(&format!("path:{}", names.display()), || format!("<{}>: {e}; dropped", names.display()));
                return;
            }
        };
        self.raw.clear();
        self.raw.extend(vl.values.iter().map(create::raw_bits));
        self.writer.submit(path, set, vl.time, interval, &self.raw);
    }
}
