//! The runtime: a set of connections, the snapshot thread, the sender thread and the sink they send through.
//!
//! One thread takes a snapshot of every connection each interval and queues it; another
//! encodes and sends what is queued. The queue is bounded: when the sender is stuck
//! (a name that takes long to resolve), the oldest snapshots are dropped, counted and
//! logged, so memory stays flat. Snapshots are taken under the queue's lock and sent
//! under the sink's lock, so a connection's datagrams leave in the order of their
//! times, periodic or flushed.
//!
//! The process-wide functions (`start_threads`, `flush`, `shutdown`) work on
//! [`Runtime::global`]; a runtime can also be made on its own (with its own sink, for
//! tests), stopped and started again, and reset in a forked child.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::encode::encode;
use super::registry::{Snapshot, lock};
use super::sink::{Delivery, Destination, Sink};
use super::state::{ConnectionState, Settings};
use super::udp::UdpSink;
use crate::Error;
use crate::protocol::CdTime;

/// Snapshots waiting for the sender, at most.
const QUEUE_CAPACITY: usize = 256;
/// The snapshot thread looks for new connections at least this often.
const MAX_SLEEP: Duration = Duration::from_secs(1);

struct Job {
    connection: Arc<ConnectionState>,
    snapshot: Snapshot,
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    stopping: bool,
}

struct Threads {
    snapshotter: JoinHandle<()>,
    sender: JoinHandle<()>,
}

struct Core {
    connections: Mutex<HashMap<Settings, Arc<ConnectionState>>>,
    queue: Mutex<Queue>,
    queue_changed: Condvar,
    sink: Mutex<Box<dyn Sink>>,
    threads: Mutex<Option<Threads>>,
    snapshotter_stop: Mutex<bool>,
    snapshotter_wake: Condvar,
    dropped_logged_at: Mutex<Option<Instant>>,
    /// Which start of the threads is current: threads of an earlier one (forgotten by
    /// [`Runtime::forget_after_fork`]) stop without sending when they see it change.
    generation: AtomicU64,
}

/// The connections of a program and the two background threads that send them: one
/// takes a snapshot of every connection each interval, the other encodes and sends it
/// through the runtime's [`Sink`].
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

    /// A runtime of its own, sending over UDP, with no connection yet and no thread running.
    ///
    /// ```
    /// let runtime = collectd::Runtime::new();
    /// assert!(!runtime.is_running());
    /// assert!(!runtime.ptr_eq(collectd::Runtime::global()));
    /// ```
    pub fn new() -> Self {
        Runtime::with_sink(UdpSink::new())
    }

    /// A runtime of its own sending through `sink`, with no connection yet and no thread running.
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
        Runtime {
            core: Arc::new(Core {
                connections: Mutex::new(HashMap::new()),
                queue: Mutex::new(Queue::default()),
                queue_changed: Condvar::new(),
                sink: Mutex::new(Box::new(sink)),
                threads: Mutex::new(None),
                snapshotter_stop: Mutex::new(false),
                snapshotter_wake: Condvar::new(),
                dropped_logged_at: Mutex::new(None),
                generation: AtomicU64::new(0),
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
        lock(&self.core.threads).is_some()
    }

    /// The connection with these settings in this runtime, created on first use.
    pub(crate) fn connection(&self, settings: Settings) -> Arc<ConnectionState> {
        let mut connections = lock(&self.core.connections);
        connections.entry(settings.clone()).or_insert_with(|| Arc::new(ConnectionState::new(settings))).clone()
    }

    fn all_connections(&self) -> Vec<Arc<ConnectionState>> {
        lock(&self.core.connections).values().cloned().collect()
    }

    /// Queues a snapshot of `connection`, if it has one, dropping the oldest job when full.
    fn queue_snapshot(&self, queue: &mut Queue, connection: &Arc<ConnectionState>) {
        let Some(snapshot) = connection.registry.snapshot(CdTime::now()) else { return };
        if queue.jobs.len() >= QUEUE_CAPACITY
            && let Some(dropped) = queue.jobs.pop_front()
        {
            dropped.connection.counters.snapshots_dropped.fetch_add(1, Ordering::Relaxed);
            let mut logged = lock(&self.core.dropped_logged_at);
            if logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                let host = &dropped.connection.settings.hostname;
                log::warn!(target: "collectd", "the sender is not keeping up; dropped the oldest queued snapshot (of {host})");
                *logged = Some(Instant::now());
            }
        }
        queue.jobs.push_back(Job { connection: connection.clone(), snapshot });
    }

    /// Sends everything queued, then a fresh snapshot of each connection given.
    fn flush_connections(&self, connections: &[Arc<ConnectionState>]) {
        let mut sink = lock(&self.core.sink);
        let jobs: Vec<Job> = {
            let mut queue = lock(&self.core.queue);
            for connection in connections {
                self.queue_snapshot(&mut queue, connection);
            }
            queue.jobs.drain(..).collect()
        };
        for job in &jobs {
            send_job(sink.as_mut(), job);
        }
    }

    /// Sends what is queued, then a snapshot of `connection` taken now.
    pub(crate) fn flush_connection(&self, connection: &Arc<ConnectionState>) {
        self.flush_connections(std::slice::from_ref(connection));
    }

    /// Takes a snapshot of every connection of this runtime now and sends it, after
    /// anything already queued; returns when it is sent. Send failures are logged and
    /// counted, not returned. Works with or without the threads.
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
        self.flush_connections(&self.all_connections());
    }

    /// Starts the two background threads. A second call, while they run, is an error.
    ///
    /// ```
    /// let runtime = collectd::Runtime::with_sink(collectd::MemorySink::new());
    /// runtime.start_threads().unwrap();
    /// assert!(matches!(runtime.start_threads(), Err(collectd::Error::AlreadyStarted)));
    /// runtime.shutdown();
    /// ```
    pub fn start_threads(&self) -> Result<(), Error> {
        let core = &self.core;
        let mut threads = lock(&core.threads);
        if threads.is_some() {
            return Err(Error::AlreadyStarted);
        }
        *lock(&core.snapshotter_stop) = false;
        lock(&core.queue).stopping = false;
        let generation = core.generation.load(Ordering::SeqCst);
        let runtime = self.clone();
        let snapshotter = std::thread::Builder::new()
            .name("collectd-snapshot".into())
            .spawn(move || runtime.snapshot_loop(generation))
            .map_err(Error::Spawn)?;
        let runtime = self.clone();
        let sender =
            match std::thread::Builder::new().name("collectd-send".into()).spawn(move || runtime.send_loop(generation))
            {
                Ok(sender) => sender,
                Err(error) => {
                    self.stop_snapshotter(snapshotter);
                    return Err(Error::Spawn(error));
                }
            };
        *threads = Some(Threads { snapshotter, sender });
        Ok(())
    }

    fn stop_snapshotter(&self, snapshotter: JoinHandle<()>) {
        *lock(&self.core.snapshotter_stop) = true;
        self.core.snapshotter_wake.notify_all();
        let _ = snapshotter.join();
    }

    /// Sends what was recorded since the last interval (a final [`flush`](Self::flush)),
    /// then stops the background threads. Nothing recorded before the call is lost.
    /// [`start_threads`](Self::start_threads) may be called again afterwards.
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
        let core = &self.core;
        // Held to the end, so a start_threads() meanwhile waits instead of reviving the
        // threads being stopped.
        let mut threads = lock(&core.threads);
        if let Some(Threads { snapshotter, sender }) = threads.take() {
            self.stop_snapshotter(snapshotter);
            self.flush();
            lock(&core.queue).stopping = true;
            core.queue_changed.notify_all();
            let _ = sender.join();
        } else {
            self.flush();
        }
    }

    /// Makes this runtime as new in a forked child: its threads are forgotten without
    /// being joined (they do not exist in the child), nothing queued or recorded before
    /// is sent (that is the parent's to send), every connection's sums and sender
    /// statistics start from zero, and the sink lets go of what it inherited (the UDP
    /// sink closes its sockets). The connections stay valid: what is recorded on them
    /// from now on is the child's, sent once [`start_threads`](Self::start_threads) is
    /// called again.
    ///
    /// Call it in the child first thing after `fork`, from the thread that forked, and
    /// fork only while no thread of the parent is inside this library's calls (the
    /// runtime's own threads hold its locks only for moments; a lock held at the fork
    /// would never be released in the child). In a process that did not fork, threads
    /// still running from before stop on their own, without sending.
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
        let core = &self.core;
        let mut threads = lock(&core.threads);
        core.generation.fetch_add(1, Ordering::SeqCst);
        // Dropping the handles detaches the threads instead of joining them.
        drop(threads.take());
        *lock(&core.snapshotter_stop) = false;
        core.snapshotter_wake.notify_all();
        {
            let mut queue = lock(&core.queue);
            queue.jobs.clear();
            queue.stopping = false;
        }
        core.queue_changed.notify_all();
        lock(&core.sink).forget();
        for connection in self.all_connections() {
            connection.registry.forget_sums();
            connection.counters.reset();
        }
        *lock(&core.dropped_logged_at) = None;
    }

    fn is_current(&self, generation: u64) -> bool {
        self.core.generation.load(Ordering::SeqCst) == generation
    }

    fn snapshot_loop(self, generation: u64) {
        let core = &self.core;
        let mut schedule = Schedule::default();
        loop {
            let connections = self.all_connections();
            let (due, next) = schedule.take_due(&connections, Instant::now());
            if !due.is_empty() {
                let mut queue = lock(&core.queue);
                for connection in due {
                    self.queue_snapshot(&mut queue, connection);
                }
                drop(queue);
                core.queue_changed.notify_all();
            }
            let stop = lock(&core.snapshotter_stop);
            let timeout = next.saturating_duration_since(Instant::now());
            let (stop, _) = core
                .snapshotter_wake
                .wait_timeout_while(stop, timeout, |stop| !*stop && self.is_current(generation))
                .unwrap_or_else(PoisonError::into_inner);
            if *stop || !self.is_current(generation) {
                return;
            }
        }
    }

    fn send_loop(self, generation: u64) {
        let core = &self.core;
        loop {
            {
                let queue = lock(&core.queue);
                let queue = core
                    .queue_changed
                    .wait_while(queue, |q| q.jobs.is_empty() && !q.stopping && self.is_current(generation))
                    .unwrap_or_else(PoisonError::into_inner);
                if !self.is_current(generation) || (queue.jobs.is_empty() && queue.stopping) {
                    return;
                }
            }
            // The sink first, then the job: a flush holding the sink sends queued jobs
            // itself, in order.
            let mut sink = lock(&core.sink);
            if !self.is_current(generation) {
                return;
            }
            let job = lock(&core.queue).jobs.pop_front();
            if let Some(job) = job {
                send_job(sink.as_mut(), &job);
            }
        }
    }
}

/// Encodes a job's snapshot, sends it, and counts what happened.
fn send_job(sink: &mut dyn Sink, job: &Job) {
    let connection = &job.connection;
    let settings = &connection.settings;
    match encode(settings, &job.snapshot) {
        Ok(datagrams) => {
            let mut destination = Destination::new(&settings.collectd_host, settings.collectd_port);
            destination.ttl = settings.ttl;
            let delivery = sink.send(&destination, &datagrams);
            count(connection, &delivery, job.snapshot.len() as u64);
        }
        Err(error) => {
            log::error!(target: "collectd", "cannot encode statistics of {}: {error}", settings.hostname)
        }
    }
}

/// Adds a delivery to the connection's sender statistics.
fn count(connection: &ConnectionState, delivery: &Delivery, value_lists: u64) {
    let counters = &connection.counters;
    counters.packets_sent.fetch_add(delivery.packets_sent, Ordering::Relaxed);
    counters.bytes_sent.fetch_add(delivery.bytes_sent, Ordering::Relaxed);
    counters.send_errors.fetch_add(delivery.send_errors, Ordering::Relaxed);
    if delivery.complete {
        counters.value_lists_sent.fetch_add(value_lists, Ordering::Relaxed);
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
    use crate::protocol::{DEFAULT_MAX_PACKET_SIZE, Security, TimeResolution};

    fn connection(seconds: u64) -> Arc<ConnectionState> {
        Arc::new(ConnectionState::new(Settings {
            hostname: format!("every-{seconds}"),
            collectd_host: "127.0.0.1".into(),
            collectd_port: 9,
            plugin_instance: String::new(),
            interval: Duration::from_secs(seconds),
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            time_resolution: TimeResolution::HighResolution,
            security: Security::None,
            ttl: None,
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
    fn the_wake_up_is_never_later_than_max_sleep() {
        let connections = [connection(60)];
        let mut schedule = Schedule::default();
        let now = Instant::now();
        assert_eq!(schedule.take_due(&connections, now).1, now + MAX_SLEEP);
    }
}
