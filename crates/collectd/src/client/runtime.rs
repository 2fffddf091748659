//! The runtime: a set of connections, the snapshot thread, the sender thread and the sink they send through.
//!
//! The snapshot thread only says when each connection is due: it queues a request,
//! never a snapshot, and takes no lock of a connection. The sender takes each snapshot
//! when it comes to its request, encodes it and sends it, paced (at most
//! [`DEFAULT_SEND_RATE`] datagrams a second, in bursts of [`BURST`], so a receiver with
//! collectd's default socket buffer keeps up with a large snapshot). A connection
//! already waiting for the sender is not queued twice: its sums go with the next
//! snapshot (counted as deferred), so memory stays flat and nothing is lost when the
//! sender is slow. Flushes are requests too, answered by the sender in order: the
//! caller waits for its answer at most the runtime's flush timeout, and `shutdown`
//! returns within that timeout and a little more whatever the sink does.
//!
//! Everything the threads touch (the queue, the sink, the threads' own state) is in an
//! [`Engine`] stamped with the id of the process that made it. Every entry point
//! compares that id with the caller's: in a forked child the parent's engine (whose
//! threads are gone and whose locks may be held forever by them) is left alone and a
//! new one made, and the sums and counters copied from the parent are forgotten, so
//! that the parent's values are sent by the parent only.
//!
//! The process-wide functions (`start_threads`, `flush`, `shutdown`) work on
//! [`Runtime::global`]; a runtime can also be made on its own (with its own sink, for
//! tests), stopped and started again, and reset in a forked child.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::encode::encode;
use super::registry::{lock, try_lock_for};
use super::sink::{Delivery, Destination, Sink};
use super::state::{ConnectionState, SendCounters, Settings};
use super::udp::UdpSink;
use crate::Error;
use crate::protocol::CdTime;

/// How long [`Runtime::flush`] waits for its snapshot to be sent, unless
/// [`Runtime::set_flush_timeout`] says otherwise; [`Runtime::shutdown`] returns within
/// it and [`SHUTDOWN_GRACE`].
///
/// ```
/// assert_eq!(collectd::DEFAULT_FLUSH_TIMEOUT, std::time::Duration::from_secs(10));
/// ```
pub const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// How much longer than its flush timeout [`Runtime::shutdown`] may take: the time it
/// gives the sender to stop once the last snapshot is sent (or the timeout passed).
///
/// ```
/// assert!(collectd::SHUTDOWN_GRACE < std::time::Duration::from_secs(1));
/// ```
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(200);

/// The most datagrams a runtime sends in one second, unless [`Runtime::set_send_rate`]
/// says otherwise: 5,000 datagrams of at most 1452 bytes (7 MB/s), a million
/// statistics in about four seconds, within the default 10-second interval.
///
/// collectd's network plugin reads its socket from one thread into an unbounded list,
/// so what it loses is what overflows the socket's receive buffer (the system's
/// default, 208 KiB on Linux: about 90 datagrams) while that thread waits for a CPU.
/// Sent at once, collectd 5.12 on the same machine kept 15–33% of 100,000 statistics;
/// at this rate, 94–100% on a machine loaded far beyond its cores, and all of them on
/// a quiet one.
///
/// ```
/// assert_eq!(collectd::DEFAULT_SEND_RATE, 5_000);
/// ```
pub const DEFAULT_SEND_RATE: u32 = 5_000;

/// The most datagrams sent back to back, well within collectd's default receive
/// buffer; a snapshot of up to this many datagrams (about 1,500 statistics) leaves at
/// once.
///
/// ```
/// assert_eq!(collectd::BURST, 32);
/// ```
pub const BURST: u32 = 32;

/// The snapshot thread looks for new connections at least this often.
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// How long a sender started by a flush (without `start_threads`) waits for another
/// flush before it stops: a program that flushes often keeps one thread.
const TRANSIENT_LINGER: Duration = Duration::from_secs(1);
/// How long a forked child tries the locks it inherited before concluding that a thread
/// of the parent, which did not survive the fork, holds them.
const INHERITED_LOCK_WAIT: Duration = Duration::from_millis(200);

/// The most notifications waiting for the sender; beyond, new ones are refused
/// (counted unsent, logged), so a program that notifies in a loop while the sender is
/// stuck keeps its memory.
pub(crate) const MAX_QUEUED_NOTIFICATIONS: usize = 1024;

/// A notification's datagram, waiting for the sender.
struct QueuedNotification {
    connection: Arc<ConnectionState>,
    datagram: Vec<u8>,
}

/// What the sender is asked to do.
enum Item {
    /// A connection's periodic snapshot is due.
    Periodic(Arc<ConnectionState>),
    /// A flush: a snapshot of each connection, then the flush with this id is done.
    Flush { id: u64, connections: Connections },
}

/// The connections of a flush: one (a connection's own flush, which allocates nothing
/// here) or several.
enum Connections {
    One(Arc<ConnectionState>),
    All(Vec<Arc<ConnectionState>>),
}

impl Connections {
    fn as_slice(&self) -> &[Arc<ConnectionState>] {
        match self {
            Connections::One(connection) => std::slice::from_ref(connection),
            Connections::All(connections) => connections,
        }
    }
}

/// Whether a sender thread runs, and whether it stays when the queue is empty.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SenderRole {
    None,
    /// Started by a flush without `start_threads`: stops once the queue has been empty
    /// for [`TRANSIENT_LINGER`].
    Transient,
    /// Started by `start_threads`: stays until `shutdown`.
    Persistent,
}

/// The engine's state, behind one lock and one condition variable.
struct State {
    items: VecDeque<Item>,
    /// Notifications, sent before any item and between the batches of a snapshot.
    notifications: VecDeque<QueuedNotification>,
    /// Connections with a periodic request queued.
    periodic_queued: HashSet<u64>,
    /// The id of the last flush queued, and the last flush done (or given up): flushes
    /// are answered in order, so every id up to `flush_done` is answered.
    flush_queued: u64,
    flush_done: u64,
    sender: SenderRole,
    /// A sender of another epoch stops at its next look, without sending more.
    sender_epoch: u64,
    /// A snapshot thread of another generation stops at its next look.
    snapshotter_generation: u64,
    /// Between `start_threads` and `shutdown`.
    started: bool,
    shutting_down: bool,
}

/// What the threads of one process work with; see the module's documentation.
struct Engine {
    /// The process that made it.
    pid: u32,
    state: Mutex<State>,
    changed: Condvar,
    /// `None` when a forked child could not take over the parent's sink.
    sink: Mutex<Option<Box<dyn Sink>>>,
    /// The connections, as the snapshot thread sees them.
    connections: Mutex<Vec<Arc<ConnectionState>>>,
}

impl Engine {
    fn new(pid: u32, sink: Option<Box<dyn Sink>>, connections: Vec<Arc<ConnectionState>>) -> Self {
        Engine {
            pid,
            state: Mutex::new(State {
                items: VecDeque::new(),
                notifications: VecDeque::new(),
                periodic_queued: HashSet::new(),
                flush_queued: 0,
                flush_done: 0,
                sender: SenderRole::None,
                sender_epoch: 0,
                snapshotter_generation: 0,
                started: false,
                shutting_down: false,
            }),
            changed: Condvar::new(),
            sink: Mutex::new(sink),
            connections: Mutex::new(connections),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn wait_for<'a>(&self, state: MutexGuard<'a, State>, timeout: Duration) -> MutexGuard<'a, State> {
        self.changed.wait_timeout(state, timeout).unwrap_or_else(PoisonError::into_inner).0
    }

    /// Stops this engine's threads (at their next look, without sending more) and
    /// answers every flush waiting on it.
    fn retire(&self) {
        let mut state = self.state();
        state.sender_epoch += 1;
        state.snapshotter_generation += 1;
        state.sender = SenderRole::None;
        state.started = false;
        state.items.clear();
        state.drop_notifications();
        state.periodic_queued.clear();
        state.flush_done = state.flush_queued;
        drop(state);
        self.changed.notify_all();
    }
}

impl State {
    /// Drops the queued notifications, counting them unsent.
    fn drop_notifications(&mut self) {
        for queued in self.notifications.drain(..) {
            queued.connection.count_all(|c| add(&c.notifications_unsent, 1));
        }
    }
}

/// Where a runtime's sink comes from.
enum SinkSource {
    /// Made anew for each process (a forked child makes its own).
    Factory(Box<dyn Fn() -> Box<dyn Sink> + Send + Sync>),
    /// Given once: a forked child takes over the parent's, if no thread of the parent
    /// was using it at the fork.
    Given,
}

struct Core {
    /// Every connection of the runtime. Taken by the program's calls only, never by the
    /// runtime's threads, so a forked child can always read it.
    connections: Mutex<HashMap<Settings, Arc<ConnectionState>>>,
    /// This process's engine. Held only for moments, and never by the runtime's threads.
    engine: Mutex<Arc<Engine>>,
    sinks: SinkSource,
    flush_timeout_ms: AtomicU64,
    send_rate: AtomicU64,
}

/// Logs, once in the life of the process, that the last interval needs a shutdown.
fn hint_shutdown_once() {
    static HINTED: AtomicBool = AtomicBool::new(false);
    if !HINTED.swap(true, Ordering::Relaxed) {
        log::info!(target: "collectd", "statistics are sent once every interval by a background thread: call collectd::shutdown() (or Runtime::shutdown) before the program exits, or whatever was recorded since the last interval is lost");
    }
}

/// The connections of a program and the two background threads that send them: one
/// says when each connection is due, the other takes its snapshot, encodes it and sends
/// it through the runtime's [`Sink`], paced.
///
/// [`start_threads`](crate::start_threads), [`flush`](crate::flush) and
/// [`shutdown`](crate::shutdown) work on [`Runtime::global`], which sends over UDP and
/// holds every connection built without [`ConnectionBuilder::runtime`](crate::ConnectionBuilder::runtime).
/// A runtime of one's own has its own connections (equal settings give the same
/// connection only within one runtime) and its own sink:
///
/// ```
/// use std::time::Duration;
/// use collectd::{Connection, MemorySink, Runtime};
///
/// let sink = MemorySink::new();
/// let runtime = Runtime::with_sink(sink.clone());
/// let conn = Connection::builder().hostname("runtime-doc").interval(Duration::from_secs(1)).runtime(&runtime).build();
/// runtime.start_threads().unwrap();
/// conn.counter("jobs").record(&[], &[("done", 1.0)]);
/// assert!(sink.wait_for(1, Duration::from_secs(10)), "the periodic snapshot is sent");
/// runtime.shutdown();
/// ```
///
/// # Exiting and forking
///
/// What was recorded since the last interval is sent by [`shutdown`](Self::shutdown):
/// a program that exits without it loses that much (the first `start_threads` of a
/// process logs this once, at `info` level).
///
/// After `fork`, the child's runtime starts afresh at its first call into the runtime
/// ([`start_threads`](Self::start_threads), [`flush`](Self::flush),
/// [`shutdown`](Self::shutdown), [`forget_after_fork`](Self::forget_after_fork), a
/// connection's `flush` or `sender_stats`, building a connection): the parent's
/// threads, queue and sums are left to the parent, which sends them once; the child
/// gets a sink of its own (see [`with_sinks`](Self::with_sinks)), sends what it records
/// from then on, and its threads run once it calls `start_threads` (a daemon that forks
/// twice included). What the child records before that first call is forgotten with the
/// parent's sums, so a child should make one right away:
/// [`forget_after_fork`](Self::forget_after_fork) is meant for that.
#[derive(Clone)]
pub struct Runtime {
    core: Arc<Core>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("connections", &lock(&self.core.connections).len())
            .field("running", &self.is_running())
            .finish_non_exhaustive()
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

impl Runtime {
    /// The process-wide runtime: the one [`start_threads`](crate::start_threads),
    /// [`flush`](crate::flush) and [`shutdown`](crate::shutdown) work on, sending over UDP.
    ///
    /// ```
    /// let conn = collectd::Connection::builder().hostname("global-doc").collectd_port(26050).build();
    /// assert!(conn.runtime().ptr_eq(collectd::Runtime::global()));
    /// ```
    pub fn global() -> &'static Runtime {
        static GLOBAL: OnceLock<Runtime> = OnceLock::new();
        GLOBAL.get_or_init(Runtime::new)
    }

    /// A runtime of its own, sending over UDP (a new [`UdpSink`] in each process), with
    /// no connection yet and no thread running.
    ///
    /// ```
    /// let runtime = collectd::Runtime::new();
    /// assert!(!runtime.is_running());
    /// assert!(!runtime.ptr_eq(collectd::Runtime::global()));
    /// ```
    pub fn new() -> Self {
        Runtime::with_sinks(UdpSink::new)
    }

    /// A runtime of its own sending through `sink`, with no connection yet and no thread running.
    ///
    /// A forked child takes the sink over (after [`Sink::forget`]) unless a thread of the
    /// parent was sending through it at the fork: the child then sends nothing and counts
    /// its values unsent (logged). [`with_sinks`](Self::with_sinks) has no such case.
    ///
    /// ```
    /// let sink = collectd::MemorySink::new();
    /// let runtime = collectd::Runtime::with_sink(sink.clone());
    /// let conn = collectd::Connection::builder().hostname("with-sink-doc").runtime(&runtime).build();
    /// conn.counter("c").record(&[], &[("s", 1.0)]);
    /// runtime.flush();
    /// assert_eq!(sink.len(), 1);
    /// ```
    pub fn with_sink(sink: impl Sink) -> Self {
        Runtime::build(Some(Box::new(sink)), SinkSource::Given)
    }

    /// A runtime of its own that makes its sink with `make`: once now, and once more in
    /// each forked child that uses the runtime, so a child never shares its parent's.
    ///
    /// ```
    /// let runtime = collectd::Runtime::with_sinks(collectd::UdpSink::new);
    /// assert!(!runtime.is_running());
    /// ```
    pub fn with_sinks<S: Sink>(make: impl Fn() -> S + Send + Sync + 'static) -> Self {
        let sink: Box<dyn Sink> = Box::new(make());
        Runtime::build(Some(sink), SinkSource::Factory(Box::new(move || Box::new(make()))))
    }

    fn build(sink: Option<Box<dyn Sink>>, sinks: SinkSource) -> Self {
        Runtime {
            core: Arc::new(Core {
                connections: Mutex::new(HashMap::new()),
                engine: Mutex::new(Arc::new(Engine::new(std::process::id(), sink, Vec::new()))),
                sinks,
                flush_timeout_ms: AtomicU64::new(DEFAULT_FLUSH_TIMEOUT.as_millis() as u64),
                send_rate: AtomicU64::new(u64::from(DEFAULT_SEND_RATE)),
            }),
        }
    }

    /// True when both are the same runtime.
    ///
    /// ```
    /// let runtime = collectd::Runtime::new();
    /// assert!(runtime.ptr_eq(&runtime.clone()));
    /// assert!(!runtime.ptr_eq(&collectd::Runtime::new()));
    /// ```
    pub fn ptr_eq(&self, other: &Runtime) -> bool {
        Arc::ptr_eq(&self.core, &other.core)
    }

    /// How long [`flush`](Self::flush) waits at most ([`DEFAULT_FLUSH_TIMEOUT`] unless set).
    ///
    /// ```
    /// let runtime = collectd::Runtime::with_sink(collectd::MemorySink::new());
    /// assert_eq!(runtime.flush_timeout(), collectd::DEFAULT_FLUSH_TIMEOUT);
    /// ```
    pub fn flush_timeout(&self) -> Duration {
        Duration::from_millis(self.core.flush_timeout_ms.load(Ordering::Relaxed))
    }

    /// Sets how long [`flush`](Self::flush) waits at most, and so how long
    /// [`shutdown`](Self::shutdown) takes at most (this and [`SHUTDOWN_GRACE`]).
    /// Millisecond precision.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let runtime = collectd::Runtime::with_sink(collectd::MemorySink::new());
    /// runtime.set_flush_timeout(Duration::from_secs(2));
    /// assert_eq!(runtime.flush_timeout(), Duration::from_secs(2));
    /// ```
    pub fn set_flush_timeout(&self, timeout: Duration) {
        let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self.core.flush_timeout_ms.store(ms, Ordering::Relaxed);
    }

    /// The most datagrams sent per second ([`DEFAULT_SEND_RATE`] unless set; 0: unpaced).
    ///
    /// ```
    /// let runtime = collectd::Runtime::with_sink(collectd::MemorySink::new());
    /// assert_eq!(runtime.send_rate(), collectd::DEFAULT_SEND_RATE);
    /// ```
    pub fn send_rate(&self) -> u32 {
        u32::try_from(self.core.send_rate.load(Ordering::Relaxed)).unwrap_or(u32::MAX)
    }

    /// Sets the most datagrams sent per second, after a first [`BURST`]; 0 sends every
    /// snapshot at once, as fast as the sink takes it (which a receiver with default
    /// buffers does not keep up with beyond a few thousand statistics).
    ///
    /// ```
    /// let runtime = collectd::Runtime::with_sink(collectd::MemorySink::new());
    /// runtime.set_send_rate(50_000);
    /// assert_eq!(runtime.send_rate(), 50_000);
    /// ```
    pub fn set_send_rate(&self, datagrams_per_second: u32) {
        self.core.send_rate.store(u64::from(datagrams_per_second), Ordering::Relaxed);
    }

    /// True while the background threads run (between [`start_threads`](Self::start_threads)
    /// and [`shutdown`](Self::shutdown)).
    ///
    /// ```
    /// let runtime = collectd::Runtime::with_sink(collectd::MemorySink::new());
    /// runtime.start_threads().unwrap();
    /// assert!(runtime.is_running());
    /// runtime.shutdown();
    /// assert!(!runtime.is_running());
    /// ```
    pub fn is_running(&self) -> bool {
        self.engine().state().started
    }

    /// This process's engine; in a forked child, a new one (see [`renew`](Self::renew)).
    fn engine(&self) -> Arc<Engine> {
        let pid = std::process::id();
        let mut current = lock(&self.core.engine);
        if current.pid != pid {
            self.renew(&mut current, pid);
        }
        current.clone()
    }

    /// Makes this process's runtime start afresh after a fork (when the pid changed).
    pub(crate) fn check_fork(&self) {
        drop(self.engine());
    }

    /// Replaces the engine. In a forked child (`pid` is not the engine's) the parent's
    /// engine is never touched again but for one try of its sink's lock, and never
    /// dropped: its threads are gone and whatever they held stays held. In the same
    /// process, the engine is retired: its threads stop without sending more.
    ///
    /// Either way every connection's sums and counters start from zero.
    fn renew(&self, current: &mut Arc<Engine>, pid: u32) {
        let forked = current.pid != pid;
        if forked {
            log::info!(target: "collectd", "process {pid} is a fork of process {}: the sums copied from it are dropped (it sends them), with whatever this process recorded before this call; a child should call Runtime::forget_after_fork() or start_threads() right after the fork", current.pid);
        }
        // In the same process, a lock is held by a live thread, for a moment.
        let wait = if forked { INHERITED_LOCK_WAIT } else { self.flush_timeout() };
        let sink = match &self.core.sinks {
            SinkSource::Factory(make) => Some(make()),
            SinkSource::Given => {
                let taken = try_lock_for(&current.sink, wait).and_then(|mut sink| sink.take());
                match taken {
                    Some(mut sink) => {
                        sink.forget();
                        Some(sink)
                    }
                    None => {
                        log::error!(target: "collectd", "the runtime's sink was in use (by a thread that did not survive the fork, or still sending) and cannot be taken over: this runtime sends nothing from now on, and counts its values unsent; Runtime::with_sinks gives each process its own sink");
                        None
                    }
                }
            }
        };
        let connections: Vec<Arc<ConnectionState>> = match try_lock_for(&self.core.connections, wait) {
            Some(map) => map.values().cloned().collect(),
            None => {
                log::error!(target: "collectd", "the runtime's connections were locked at the fork by a thread that did not survive it: their sums are not reset");
                Vec::new()
            }
        };
        for connection in &connections {
            if !connection.registry.forget_sums(wait) {
                log::error!(target: "collectd", "the sums of {} were locked at the fork by a thread that did not survive it: they cannot be reset, and this connection may send nothing in this process", connection.settings.hostname);
            }
            connection.reset_counters();
        }
        let old = std::mem::replace(current, Arc::new(Engine::new(pid, sink, connections)));
        if forked {
            // The parent's threads hold references that will never be released, and
            // perhaps its locks: dropping it could only run destructors on state that
            // is half-way through a change.
            std::mem::forget(old);
        } else {
            old.retire();
        }
    }

    /// The connection with these settings in this runtime, created on first use.
    pub(crate) fn connection(&self, settings: Settings) -> Arc<ConnectionState> {
        let pid = std::process::id();
        // The engine first, then the map: the order `renew` takes them in.
        let mut current = lock(&self.core.engine);
        if current.pid != pid {
            self.renew(&mut current, pid);
        }
        let mut connections = lock(&self.core.connections);
        if let Some(existing) = connections.get(&settings) {
            return existing.clone();
        }
        let connection = Arc::new(ConnectionState::new(settings.clone()));
        connections.insert(settings, connection.clone());
        lock(&current.connections).push(connection.clone());
        connection
    }

    fn all_connections(&self) -> Vec<Arc<ConnectionState>> {
        lock(&self.core.connections).values().cloned().collect()
    }

    /// Spawns a sender thread of the current epoch.
    fn spawn_sender(&self, engine: &Arc<Engine>, state: &mut State, role: SenderRole) -> Result<(), Error> {
        let (runtime, engine_for_thread, epoch) = (self.clone(), engine.clone(), state.sender_epoch);
        std::thread::Builder::new()
            .name("collectd-send".into())
            .spawn(move || runtime.send_loop(&engine_for_thread, epoch))
            .map_err(Error::Spawn)?;
        state.sender = role;
        Ok(())
    }

    /// Queues a flush of `connections` and waits for the sender to answer it, until
    /// `deadline`; true when it was answered.
    fn flush_on(&self, engine: &Arc<Engine>, connections: Connections, deadline: Instant) -> bool {
        let mut state = engine.state();
        state.flush_queued += 1;
        let id = state.flush_queued;
        state.items.push_back(Item::Flush { id, connections });
        if state.sender == SenderRole::None
            && let Err(error) = self.spawn_sender(engine, &mut state, SenderRole::Transient)
        {
            log::error!(target: "collectd", "cannot flush: {error}");
            state.items.pop_back();
            state.flush_done = state.flush_done.max(id);
            return false;
        }
        engine.changed.notify_all();
        loop {
            if state.flush_done >= id {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                // Not started yet: taken back, and its sums go with the next snapshot.
                // Started: the sender goes on with it.
                if let Some(position) =
                    state.items.iter().position(|item| matches!(item, Item::Flush { id: i, .. } if *i == id))
                {
                    state.items.remove(position);
                }
                log::warn!(target: "collectd", "a flush did not finish within {:?}: the sender is still busy (pacing a large snapshot, or a sink that blocks); what was not sent goes later", self.flush_timeout());
                return false;
            }
            state = engine.wait_for(state, left);
        }
    }

    /// Sends a snapshot of `connection` taken now, after anything already queued.
    pub(crate) fn flush_connection(&self, connection: &Arc<ConnectionState>) {
        let engine = self.engine();
        self.flush_on(&engine, Connections::One(connection.clone()), Instant::now() + self.flush_timeout());
    }

    /// Takes a snapshot of every connection of this runtime and sends it, after
    /// anything already queued; returns when it is sent, or when the
    /// [flush timeout](Self::flush_timeout) has passed (the sender is still busy:
    /// pacing a large snapshot, or a sink that blocks). Snapshots not started by then
    /// are taken back, and their sums go with the next snapshot; one being sent is sent
    /// on. Send failures are logged and counted in
    /// [`SenderStats`](crate::SenderStats), not returned. Works with or without the
    /// threads (without, a sender thread runs until the queue is empty).
    ///
    /// ```
    /// let sink = collectd::MemorySink::new();
    /// let runtime = collectd::Runtime::with_sink(sink.clone());
    /// let a = collectd::Connection::builder().hostname("a").runtime(&runtime).build();
    /// let b = collectd::Connection::builder().hostname("b").runtime(&runtime).build();
    /// a.counter("c").record(&[], &[("s", 1.0)]);
    /// b.counter("c").record(&[], &[("s", 1.0)]);
    /// runtime.flush();
    /// assert_eq!(sink.len(), 2);
    /// ```
    pub fn flush(&self) {
        let engine = self.engine();
        self.flush_on(&engine, Connections::All(self.all_connections()), Instant::now() + self.flush_timeout());
    }

    /// Starts the two background threads. A second call, while they run, is an error.
    ///
    /// The first call in a process logs (at `info` level, once) that
    /// [`shutdown`](Self::shutdown) must be called before the program exits.
    ///
    /// ```
    /// let runtime = collectd::Runtime::with_sink(collectd::MemorySink::new());
    /// runtime.start_threads().unwrap();
    /// assert!(matches!(runtime.start_threads(), Err(collectd::Error::AlreadyStarted)));
    /// runtime.shutdown();
    /// ```
    pub fn start_threads(&self) -> Result<(), Error> {
        let engine = self.engine();
        let mut state = engine.state();
        // A shutdown under way finishes within its bound.
        while state.shutting_down {
            state = engine.wait_for(state, MAX_SLEEP);
        }
        if state.started {
            return Err(Error::AlreadyStarted);
        }
        hint_shutdown_once();
        state.snapshotter_generation += 1;
        let (runtime, engine_for_thread, generation) = (self.clone(), engine.clone(), state.snapshotter_generation);
        std::thread::Builder::new()
            .name("collectd-snapshot".into())
            .spawn(move || runtime.snapshot_loop(&engine_for_thread, generation))
            .map_err(Error::Spawn)?;
        match state.sender {
            SenderRole::None => {
                if let Err(error) = self.spawn_sender(&engine, &mut state, SenderRole::Persistent) {
                    state.snapshotter_generation += 1;
                    engine.changed.notify_all();
                    return Err(error);
                }
            }
            SenderRole::Transient | SenderRole::Persistent => state.sender = SenderRole::Persistent,
        }
        state.started = true;
        Ok(())
    }

    /// Sends what was recorded since the last interval (a final [`flush`](Self::flush)),
    /// then stops the background threads. Returns within the
    /// [flush timeout](Self::flush_timeout) and [`SHUTDOWN_GRACE`], whatever the sink
    /// does: a sender still busy then is left to stop on its own, and what it had not
    /// sent is counted unsent. [`start_threads`](Self::start_threads) may be called
    /// again afterwards.
    ///
    /// ```
    /// let sink = collectd::MemorySink::new();
    /// let runtime = collectd::Runtime::with_sink(sink.clone());
    /// let conn = collectd::Connection::builder().hostname("shutdown-doc").runtime(&runtime).build();
    /// runtime.start_threads().unwrap();
    /// conn.counter("c").record(&[], &[("s", 1.0)]);
    /// runtime.shutdown();
    /// assert_eq!(sink.len(), 1);
    /// ```
    pub fn shutdown(&self) {
        let engine = self.engine();
        let timeout = self.flush_timeout();
        let deadline = Instant::now() + timeout;
        {
            let mut state = engine.state();
            if state.shutting_down {
                // Another thread is shutting down: wait for it, within the same bound.
                while state.shutting_down && Instant::now() < deadline + SHUTDOWN_GRACE {
                    state = engine.wait_for(state, SHUTDOWN_GRACE);
                }
                return;
            }
            state.shutting_down = true;
            state.started = false;
            // The snapshot thread stops at its next look.
            state.snapshotter_generation += 1;
            engine.changed.notify_all();
        }
        self.flush_on(&engine, Connections::All(self.all_connections()), deadline);
        let mut state = engine.state();
        if state.sender == SenderRole::Persistent {
            state.sender = SenderRole::Transient;
            engine.changed.notify_all();
        }
        let stop_by = deadline.max(Instant::now()) + SHUTDOWN_GRACE;
        while state.sender != SenderRole::None {
            let left = stop_by.saturating_duration_since(Instant::now());
            if left.is_zero() {
                log::warn!(target: "collectd", "the sender did not finish within {timeout:?}: it is left to stop on its own, and what it had not sent is counted unsent");
                state.sender_epoch += 1;
                state.sender = SenderRole::None;
                state.items.clear();
                state.drop_notifications();
                state.periodic_queued.clear();
                state.flush_done = state.flush_queued;
                break;
            }
            state = engine.wait_for(state, left);
        }
        state.shutting_down = false;
        drop(state);
        engine.changed.notify_all();
    }

    /// Makes this runtime as new in a forked child: the parent's threads, queue and sink
    /// are left alone (they are not the child's; the parent sends what it had), every
    /// connection's sums and sender statistics start from zero, and the child gets a
    /// sink of its own (see [`with_sinks`](Self::with_sinks) and
    /// [`with_sink`](Self::with_sink)). The connections stay valid: what is recorded on
    /// them from now on is the child's, sent once [`start_threads`](Self::start_threads)
    /// is called again (or by a flush).
    ///
    /// Every entry point of the runtime does this by itself when it sees that the
    /// process id changed; calling it first thing in the child (Python's
    /// `os.register_at_fork(after_in_child=...)`, say) also drops whatever the child
    /// would record before its first such call. It takes no lock the parent's threads
    /// use, so a fork while the sender was sending is safe; a fork while another thread
    /// of the program was inside this library (building a connection, or naming a
    /// statistic for the first time) may leave that connection unusable in the child
    /// (logged). In a process that did not fork, the threads still running stop on
    /// their own, without sending more.
    ///
    /// ```
    /// use collectd::{Connection, MemorySink, Runtime};
    ///
    /// let sink = MemorySink::new();
    /// let runtime = Runtime::with_sink(sink.clone());
    /// let conn = Connection::builder().hostname("fork-doc").runtime(&runtime).build();
    /// runtime.start_threads().unwrap();
    /// conn.counter("c").record(&[], &[("parents", 1.0)]);
    /// runtime.forget_after_fork(); // as in the child
    /// assert!(!runtime.is_running());
    /// conn.counter("c").record(&[], &[("childs", 1.0)]);
    /// runtime.start_threads().unwrap();
    /// runtime.shutdown();
    /// assert_eq!(sink.len(), 1, "only the child's sums are sent");
    /// ```
    pub fn forget_after_fork(&self) {
        let pid = std::process::id();
        let mut current = lock(&self.core.engine);
        self.renew(&mut current, pid);
    }

    fn snapshot_loop(self, engine: &Engine, generation: u64) {
        let mut schedule = Schedule::default();
        loop {
            let connections = lock(&engine.connections).clone();
            let (due, next) = schedule.take_due(&connections, Instant::now());
            let mut state = engine.state();
            if state.snapshotter_generation != generation {
                return;
            }
            if !due.is_empty() {
                for connection in due {
                    if state.periodic_queued.insert(connection.id) {
                        state.items.push_back(Item::Periodic(connection.clone()));
                    } else {
                        connection.count_all(|c| add(&c.snapshots_deferred, 1));
                    }
                }
                engine.changed.notify_all();
            }
            let timeout = next.saturating_duration_since(Instant::now());
            let state = engine.wait_for(state, timeout);
            if state.snapshotter_generation != generation {
                return;
            }
        }
    }

    fn send_loop(self, engine: &Engine, epoch: u64) {
        let mut pacer = Pacer::default();
        loop {
            let item = {
                let mut state = engine.state();
                let mut idle_since: Option<Instant> = None;
                loop {
                    if state.sender_epoch != epoch {
                        return;
                    }
                    if !state.notifications.is_empty() {
                        break None;
                    }
                    if let Some(item) = state.items.pop_front() {
                        if let Item::Periodic(connection) = &item {
                            state.periodic_queued.remove(&connection.id);
                        }
                        break Some(item);
                    }
                    if state.sender == SenderRole::Transient {
                        let idle = *idle_since.get_or_insert_with(Instant::now);
                        let linger = if state.shutting_down { Duration::ZERO } else { TRANSIENT_LINGER };
                        let left = (idle + linger).saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            state.sender = SenderRole::None;
                            engine.changed.notify_all();
                            return;
                        }
                        state = engine.wait_for(state, left);
                        continue;
                    }
                    idle_since = None;
                    state = engine.changed.wait(state).unwrap_or_else(PoisonError::into_inner);
                }
            };
            let Some(item) = item else {
                let mut sink = lock(&engine.sink);
                self.send_notifications(engine, epoch, sink.as_deref_mut(), &mut pacer);
                continue;
            };
            let (connections, flush) = match item {
                Item::Periodic(connection) => (Connections::One(connection), None),
                Item::Flush { id, connections } => (connections, Some(id)),
            };
            {
                let mut sink = lock(&engine.sink);
                for connection in connections.as_slice() {
                    self.send_snapshot(engine, epoch, sink.as_deref_mut(), connection, &mut pacer);
                }
            }
            if let Some(id) = flush {
                let mut state = engine.state();
                if state.sender_epoch == epoch {
                    state.flush_done = state.flush_done.max(id);
                }
                drop(state);
                engine.changed.notify_all();
            }
        }
    }

    /// Waits until the pacer allows a batch of up to `want` datagrams; `None` when the
    /// sender was told to stop meanwhile.
    fn paced(&self, engine: &Engine, epoch: u64, pacer: &mut Pacer, want: usize) -> Option<usize> {
        loop {
            let rate = self.core.send_rate.load(Ordering::Relaxed);
            match pacer.take(want, rate, Instant::now()) {
                Ok(batch) => return Some(batch),
                Err(wait) => {
                    let state = engine.state();
                    if state.sender_epoch != epoch {
                        return None;
                    }
                    drop(engine.wait_for(state, wait));
                }
            }
        }
    }

    /// Takes a snapshot of `connection`, encodes it and sends it, paced, counting what happened.
    fn send_snapshot(
        &self,
        engine: &Engine,
        epoch: u64,
        sink: Option<&mut (dyn Sink + 'static)>,
        connection: &ConnectionState,
        pacer: &mut Pacer,
    ) {
        let Some(snapshot) = connection.registry.snapshot(CdTime::now()) else { return };
        let settings = &connection.settings;
        let encoded = match encode(settings, &snapshot) {
            Ok(encoded) => encoded,
            Err(error) => {
                log::error!(target: "collectd", "cannot encode statistics of {}: {error}", settings.hostname);
                connection.count_all(|c| add(&c.value_lists_unsent, snapshot.len() as u64));
                return;
            }
        };
        connection.count_all(|c| add(&c.value_lists_unsent, encoded.lost));
        let value_lists =
            |range: std::ops::Range<usize>| -> u64 { encoded.value_lists[range].iter().map(|&n| u64::from(n)).sum() };
        let total = encoded.datagrams.len();
        let Some(sink) = sink else {
            connection.count_all(|c| {
                add(&c.send_errors, total as u64);
                add(&c.value_lists_unsent, value_lists(0..total));
            });
            return;
        };
        let mut start = 0;
        while start < total {
            // A notification does not wait for a large snapshot.
            self.send_notifications(engine, epoch, Some(&mut *sink), pacer);
            let Some(batch) = self.paced(engine, epoch, pacer, total - start) else {
                connection.count_all(|c| {
                    add(&c.snapshots_dropped, 1);
                    add(&c.value_lists_unsent, value_lists(start..total));
                });
                return;
            };
            let end = start + batch;
            // Each server in turn, each with its own socket, lookup and counters: one
            // that is down costs the others nothing.
            for (index, server) in connection.destinations.iter().enumerate() {
                let mut destination = Destination::new(&server.host, server.port);
                destination.ttl = settings.ttl;
                let delivery = sink.send(&destination, &encoded.datagrams[start..end]);
                count(connection, index, &delivery, value_lists(start..end));
            }
            start = end;
        }
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Runtime {
    /// Queues a notification's datagram for the sender, ahead of every snapshot, and
    /// starts a sender if none runs. Never blocks on the sender.
    pub(crate) fn send_notification(&self, connection: &Arc<ConnectionState>, datagram: Vec<u8>) {
        let engine = self.engine();
        let mut state = engine.state();
        if state.notifications.len() >= MAX_QUEUED_NOTIFICATIONS {
            drop(state);
            connection.count_all(|c| add(&c.notifications_unsent, 1));
            log_rarely(&NOTIFICATIONS_REFUSED_LOGGED, || {
                log::warn!(target: "collectd", "{MAX_QUEUED_NOTIFICATIONS} notifications are already waiting for the sender: new ones are dropped (counted in notifications_unsent)");
            });
            return;
        }
        state.notifications.push_back(QueuedNotification { connection: connection.clone(), datagram });
        if state.sender == SenderRole::None
            && let Err(error) = self.spawn_sender(&engine, &mut state, SenderRole::Transient)
        {
            log::error!(target: "collectd", "cannot send a notification: {error}");
            state.drop_notifications();
            return;
        }
        drop(state);
        engine.changed.notify_all();
    }

    /// Sends every queued notification (paced with the snapshots), each in its own datagram.
    fn send_notifications(
        &self,
        engine: &Engine,
        epoch: u64,
        mut sink: Option<&mut (dyn Sink + 'static)>,
        pacer: &mut Pacer,
    ) {
        loop {
            let queued = {
                let mut state = engine.state();
                if state.sender_epoch != epoch {
                    return;
                }
                match state.notifications.pop_front() {
                    Some(queued) => queued,
                    None => return,
                }
            };
            let connection = &queued.connection;
            let datagrams = std::slice::from_ref(&queued.datagram);
            let Some(sink) = sink.as_deref_mut() else {
                connection.count_all(|c| {
                    add(&c.send_errors, 1);
                    add(&c.notifications_unsent, 1);
                });
                continue;
            };
            if self.paced(engine, epoch, pacer, 1).is_none() {
                connection.count_all(|c| add(&c.notifications_unsent, 1));
                return;
            }
            for (index, server) in connection.destinations.iter().enumerate() {
                let mut destination = Destination::new(&server.host, server.port);
                destination.ttl = connection.settings.ttl;
                let delivery = sink.send(&destination, datagrams);
                let arrived = delivery.complete && delivery.refused == 0;
                connection.count_one(index, |c| {
                    count_packets(c, &delivery);
                    add(if arrived { &c.notifications_sent } else { &c.notifications_unsent }, 1);
                });
            }
        }
    }
}

static NOTIFICATIONS_REFUSED_LOGGED: AtomicU64 = AtomicU64::new(0);

/// Runs `log` at most once a minute for the given clock (seconds since the Unix epoch
/// of the last time it ran).
pub(crate) fn log_rarely(last: &AtomicU64, log: impl FnOnce()) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let before = last.load(Ordering::Relaxed);
    if (before == 0 || now >= before + 60)
        && last.compare_exchange(before, now.max(1), Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        log();
    }
}

/// Adds a delivery's datagrams to sender statistics.
fn count_packets(counters: &SendCounters, delivery: &Delivery) {
    add(&counters.packets_sent, delivery.packets_sent);
    add(&counters.bytes_sent, delivery.bytes_sent);
    add(&counters.send_errors, delivery.send_errors);
    add(&counters.packets_refused, delivery.refused);
}

/// Adds a delivery to the sender statistics of the destination at `index` (and the
/// connection's total): its value lists count as sent when every datagram was handed on
/// and no refusal was reported.
fn count(connection: &ConnectionState, index: usize, delivery: &Delivery, value_lists: u64) {
    let arrived = delivery.complete && delivery.refused == 0;
    connection.count_one(index, |c| {
        count_packets(c, delivery);
        add(if arrived { &c.value_lists_sent } else { &c.value_lists_unsent }, value_lists);
    });
}

/// A token bucket: at most `rate` datagrams a second, in batches of at most [`BURST`].
#[derive(Default)]
struct Pacer {
    tokens: f64,
    last: Option<Instant>,
}

impl Pacer {
    /// The size of the batch that may go at `now` (up to `want`), or how long to wait
    /// for one of `min(want, BURST)`. A rate of 0 is no pacing.
    fn take(&mut self, want: usize, rate: u64, now: Instant) -> Result<usize, Duration> {
        if rate == 0 {
            return Ok(want);
        }
        let burst = f64::from(BURST);
        let rate = rate as f64;
        self.tokens = match self.last {
            None => burst,
            Some(last) => (self.tokens + now.saturating_duration_since(last).as_secs_f64() * rate).min(burst),
        };
        self.last = Some(now);
        let batch = want.min(BURST as usize);
        if self.tokens >= batch as f64 {
            self.tokens -= batch as f64;
            Ok(batch)
        } else {
            Err(Duration::from_secs_f64((batch as f64 - self.tokens) / rate))
        }
    }
}

/// When each connection's next periodic snapshot is due: a pure function of the
/// connections' intervals and the `now` it is given.
#[derive(Default)]
struct Schedule {
    due: HashMap<u64, Instant>,
}

impl Schedule {
    /// The connections due at `now` (each then due one interval later, or one interval
    /// from now when it fell behind), and when to look again: at the next due time, and
    /// within [`MAX_SLEEP`] so new connections are seen. A connection seen for the first
    /// time is due one interval from now.
    fn take_due<'c>(
        &mut self,
        connections: &'c [Arc<ConnectionState>],
        now: Instant,
    ) -> (Vec<&'c Arc<ConnectionState>>, Instant) {
        let mut next = now + MAX_SLEEP;
        let mut due = Vec::new();
        for connection in connections {
            let interval = connection.settings.interval;
            let when = self.due.entry(connection.id).or_insert(now + interval);
            if now >= *when {
                due.push(connection);
                *when += interval;
                if *when <= now {
                    *when = now + interval;
                }
            }
            next = next.min(*when);
        }
        (due, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(seconds: u64) -> Arc<ConnectionState> {
        Arc::new(ConnectionState::new(Settings {
            hostname: format!("every-{seconds}"),
            collectd_host: "127.0.0.1".into(),
            collectd_port: 9,
            plugin_instance: String::new(),
            interval: Duration::from_secs(seconds),
            ..Settings::default()
        }))
    }

    fn hosts(due: &[&Arc<ConnectionState>]) -> Vec<String> {
        due.iter().map(|c| c.settings.hostname.clone()).collect()
    }

    #[test]
    fn each_connection_is_due_every_interval() {
        let connections = [connection(1), connection(3)];
        let mut schedule = Schedule::default();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let (due, next) = schedule.take_due(&connections, at(0));
        assert!(due.is_empty(), "nothing is due before its first interval");
        assert_eq!(next, at(1000));
        let (due, next) = schedule.take_due(&connections, at(1000));
        assert_eq!(hosts(&due), ["every-1"]);
        assert_eq!(next, at(2000));
        let (due, _) = schedule.take_due(&connections, at(2500));
        assert_eq!(hosts(&due), ["every-1"]);
        let (due, next) = schedule.take_due(&connections, at(3000));
        assert_eq!(hosts(&due), ["every-1", "every-3"]);
        assert_eq!(next, at(4000));
    }

    #[test]
    fn a_schedule_that_fell_behind_does_not_catch_up_in_a_burst() {
        let connections = [connection(1)];
        let mut schedule = Schedule::default();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        schedule.take_due(&connections, at(0));
        let (due, next) = schedule.take_due(&connections, at(5500));
        assert_eq!(due.len(), 1, "one snapshot for the missed intervals");
        assert_eq!(next, at(6500));
        assert!(schedule.take_due(&connections, at(6000)).0.is_empty());
    }

    #[test]
    fn the_pacer_allows_a_burst_then_the_rate() {
        let mut pacer = Pacer::default();
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(pacer.take(10, 0, at(0)), Ok(10), "rate 0: no pacing");
        assert_eq!(pacer.take(100, 1000, at(0)), Ok(BURST as usize), "a full burst at once");
        assert_eq!(pacer.take(100, 1000, at(0)), Err(Duration::from_millis(u64::from(BURST))));
        assert_eq!(pacer.take(100, 1000, at(10)), Err(Duration::from_millis(u64::from(BURST) - 10)));
        assert_eq!(pacer.take(100, 1000, at(u64::from(BURST))), Ok(BURST as usize));
        assert_eq!(pacer.take(5, 1000, at(u64::from(BURST) + 5)), Ok(5), "a small batch needs fewer tokens");
    }

    #[test]
    fn the_wake_up_is_never_later_than_max_sleep() {
        let connections = [connection(60)];
        let mut schedule = Schedule::default();
        let now = Instant::now();
        assert_eq!(schedule.take_due(&connections, now).1, now + MAX_SLEEP);
    }
}
