//! The process-wide part: the connections, the snapshot thread, the sender thread, flush and shutdown.
//!
//! One thread takes a snapshot of every connection each interval and queues it; another
//! encodes and sends what is queued. The queue is bounded: when the sender is stuck
//! (a name that takes long to resolve), the oldest snapshots are dropped, counted and
//! logged, so memory stays flat. Snapshots are taken under the queue's lock and sent
//! under the transport's lock, so a connection's datagrams leave in the order of their
//! times, periodic or flushed.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::connection::{Connection, Settings};
use super::registry::{Snapshot, lock};
use super::transport::Transport;
use crate::Error;
use crate::protocol::CdTime;

/// Snapshots waiting for the sender, at most.
const QUEUE_CAPACITY: usize = 256;
/// The snapshot thread looks for new connections at least this often.
const MAX_SLEEP: Duration = Duration::from_secs(1);

struct Job {
    connection: Connection,
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

#[derive(Default)]
struct Runtime {
    connections: Mutex<HashMap<Settings, Connection>>,
    queue: Mutex<Queue>,
    queue_changed: Condvar,
    transport: Mutex<Transport>,
    threads: Mutex<Option<Threads>>,
    snapshotter_stop: Mutex<bool>,
    snapshotter_wake: Condvar,
    dropped_logged_at: Mutex<Option<Instant>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(Runtime::default)
}

/// The connection with these settings, created on first use.
pub(crate) fn connection(settings: Settings) -> Connection {
    let mut connections = lock(&runtime().connections);
    connections
        .entry(settings.clone())
        .or_insert_with(|| Connection::from_settings(NEXT_ID.fetch_add(1, Ordering::Relaxed), settings))
        .clone()
}

fn all_connections() -> Vec<Connection> {
    lock(&runtime().connections).values().cloned().collect()
}

/// Queues a snapshot of `connection`, if it has one, dropping the oldest job when full.
fn queue_snapshot(queue: &mut Queue, connection: &Connection) {
    let Some(snapshot) = connection.inner.registry.snapshot(CdTime::now()) else { return };
    if queue.jobs.len() >= QUEUE_CAPACITY
        && let Some(dropped) = queue.jobs.pop_front()
    {
        dropped.connection.inner.counters.snapshots_dropped.fetch_add(1, Ordering::Relaxed);
        let mut logged = lock(&runtime().dropped_logged_at);
        if logged.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
            let host = dropped.connection.hostname();
            log::warn!(target: "collectd", "the sender is not keeping up; dropped the oldest queued snapshot (of {host})");
            *logged = Some(Instant::now());
        }
    }
    queue.jobs.push_back(Job { connection: connection.clone(), snapshot });
}

fn send_job(transport: &mut Transport, job: &Job) {
    match job.connection.encode(&job.snapshot) {
        Ok(datagrams) => transport.send(&job.connection, &datagrams, job.snapshot.len() as u64),
        Err(error) => {
            log::error!(target: "collectd", "cannot encode statistics of {}: {error}", job.connection.hostname())
        }
    }
}

/// Sends everything queued, then a fresh snapshot of each connection given.
fn flush_connections(connections: &[Connection]) {
    let rt = runtime();
    let mut transport = lock(&rt.transport);
    let jobs: Vec<Job> = {
        let mut queue = lock(&rt.queue);
        for connection in connections {
            queue_snapshot(&mut queue, connection);
        }
        queue.jobs.drain(..).collect()
    };
    for job in &jobs {
        send_job(&mut transport, job);
    }
}

pub(crate) fn flush_connection(connection: &Connection) {
    flush_connections(std::slice::from_ref(connection));
}

/// Takes a snapshot of every connection now and sends it, after anything already
/// queued; returns when it is sent. Send failures are logged, not returned. Works
/// with or without [`start_threads`].
///
/// ```
/// let conn = collectd::Connection::builder().collectd_port(25992).build();
/// conn.counter("jobs").record(&[], &[("done", 1.0)]);
/// collectd::flush();
/// ```
pub fn flush() {
    flush_connections(&all_connections());
}

/// Starts the two background threads: one snapshots every connection each interval,
/// the other encodes and sends. Without them, nothing is sent except by [`flush`].
///
/// A second call, while they run, is an error.
///
/// ```
/// collectd::start_threads().unwrap();
/// assert!(matches!(collectd::start_threads(), Err(collectd::Error::AlreadyStarted)));
/// collectd::shutdown();
/// ```
pub fn start_threads() -> Result<(), Error> {
    let rt = runtime();
    let mut threads = lock(&rt.threads);
    if threads.is_some() {
        return Err(Error::AlreadyStarted);
    }
    *lock(&rt.snapshotter_stop) = false;
    lock(&rt.queue).stopping = false;
    let snapshotter =
        std::thread::Builder::new().name("collectd-snapshot".into()).spawn(snapshot_loop).map_err(Error::Spawn)?;
    let sender = match std::thread::Builder::new().name("collectd-send".into()).spawn(send_loop) {
        Ok(sender) => sender,
        Err(error) => {
            stop_snapshotter(snapshotter);
            return Err(Error::Spawn(error));
        }
    };
    *threads = Some(Threads { snapshotter, sender });
    Ok(())
}

fn stop_snapshotter(snapshotter: JoinHandle<()>) {
    let rt = runtime();
    *lock(&rt.snapshotter_stop) = true;
    rt.snapshotter_wake.notify_all();
    let _ = snapshotter.join();
}

/// Sends what was recorded since the last interval (a final [`flush`]), then stops the
/// background threads. Nothing recorded before the call is lost. [`start_threads`] may
/// be called again afterwards.
///
/// ```
/// collectd::start_threads().unwrap();
/// collectd::shutdown();
/// ```
pub fn shutdown() {
    let rt = runtime();
    // Held to the end, so a start_threads() meanwhile waits instead of reviving the
    // threads being stopped.
    let mut threads = lock(&rt.threads);
    if let Some(Threads { snapshotter, sender }) = threads.take() {
        stop_snapshotter(snapshotter);
        flush();
        lock(&rt.queue).stopping = true;
        rt.queue_changed.notify_all();
        let _ = sender.join();
    } else {
        flush();
    }
}

fn snapshot_loop() {
    let rt = runtime();
    let mut due: HashMap<u64, Instant> = HashMap::new();
    loop {
        let now = Instant::now();
        let mut next = now + MAX_SLEEP;
        let mut queued = false;
        for connection in all_connections() {
            let interval = connection.interval();
            let when = due.entry(connection.inner.id).or_insert(now + interval);
            if now >= *when {
                queue_snapshot(&mut lock(&rt.queue), &connection);
                queued = true;
                *when += interval;
                if *when <= now {
                    *when = now + interval;
                }
            }
            next = next.min(*when);
        }
        if queued {
            rt.queue_changed.notify_all();
        }
        let stop = lock(&rt.snapshotter_stop);
        let timeout = next.saturating_duration_since(Instant::now());
        let (stop, _) = rt
            .snapshotter_wake
            .wait_timeout_while(stop, timeout, |stop| !*stop)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *stop {
            return;
        }
    }
}

fn send_loop() {
    let rt = runtime();
    loop {
        {
            let queue = lock(&rt.queue);
            let queue = rt
                .queue_changed
                .wait_while(queue, |q| q.jobs.is_empty() && !q.stopping)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if queue.jobs.is_empty() && queue.stopping {
                return;
            }
        }
        // The transport first, then the job: a flush holding the transport sends
        // queued jobs itself, in order.
        let mut transport = lock(&rt.transport);
        let job = lock(&rt.queue).jobs.pop_front();
        if let Some(job) = job {
            send_job(&mut transport, &job);
        }
    }
}
