//! Hands the Rust library's log records to Python's `logging.getLogger("collectd")`,
//! only from Python threads, only at moments when that is safe.
//!
//! The library logs through the `log` crate, sometimes from its own background threads.
//! Such a thread must never take the GIL: during interpreter finalisation a thread that
//! tries is frozen or killed, and while a Python thread holding the GIL waits for the
//! sender (a flush), the sender waiting for the GIL would deadlock. So [`Bridge`] only
//! queues a record (bounded, counting what it drops), and [`drain`] passes the queue
//! to Python logging from a thread that holds the GIL and no lock of the library: at
//! the end of every call into this module, after a fork, and at exit.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// Records waiting for Python, at most; later ones are counted and dropped.
const CAPACITY: usize = 1000;

/// Python's level numbers.
const DEBUG: i32 = 10;
const INFO: i32 = 20;
const WARNING: i32 = 30;
const ERROR: i32 = 40;
/// `logging` has no TRACE; 5 sits below DEBUG, as several libraries use it.
const TRACE: i32 = 5;

static QUEUE: Mutex<VecDeque<(i32, String)>> = Mutex::new(VecDeque::new());
/// True when the queue may hold records: lets the hot path skip the lock.
static PENDING: AtomicBool = AtomicBool::new(false);
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// The Python logger's effective level, refreshed at each drain: records below it are
/// not even formatted.
static THRESHOLD: AtomicI32 = AtomicI32::new(WARNING);
static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn python_level(level: log::Level) -> i32 {
    match level {
        log::Level::Error => ERROR,
        log::Level::Warn => WARNING,
        log::Level::Info => INFO,
        log::Level::Debug => DEBUG,
        log::Level::Trace => TRACE,
    }
}

/// The `log` logger of this process: queues records for [`drain`].
struct Bridge;

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        python_level(metadata.level()) >= THRESHOLD.load(Ordering::Relaxed)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = record.args().to_string();
        let mut queue = QUEUE.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.len() < CAPACITY {
            queue.push_back((python_level(record.level()), message));
        } else {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        PENDING.store(true, Ordering::Release);
    }

    fn flush(&self) {}
}

static BRIDGE: Bridge = Bridge;

/// Makes [`Bridge`] the `log` logger (once per process; the extension's own `log`).
pub(crate) fn install(py: Python<'_>) {
    if log::set_logger(&BRIDGE).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
    }
    refresh_threshold(py);
}

fn logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    LOGGER
        .get_or_try_init(py, || {
            Ok::<_, PyErr>(py.import("logging")?.call_method1("getLogger", ("collectd",))?.unbind())
        })
        .map(|logger| logger.bind(py))
}

/// Reads the level Python's `collectd` logger lets through now.
pub(crate) fn refresh_threshold(py: Python<'_>) {
    if let Ok(level) = logger(py).and_then(|l| l.call_method0("getEffectiveLevel")).and_then(|l| l.extract::<i32>()) {
        THRESHOLD.store(level, Ordering::Relaxed);
    }
}

/// Passes queued records to Python logging. Cheap when nothing is queued (one atomic
/// load). Call with the GIL held and no lock of the library held; it never raises:
/// a failing handler is Python logging's business (it reports through
/// `logging.raiseExceptions`), anything else is dropped.
#[inline]
pub(crate) fn drain(py: Python<'_>) {
    if PENDING.load(Ordering::Acquire) {
        drain_slow(py);
    }
}

#[cold]
fn drain_slow(py: Python<'_>) {
    PENDING.store(false, Ordering::Release);
    let records: Vec<(i32, String)> = QUEUE.lock().unwrap_or_else(PoisonError::into_inner).drain(..).collect();
    let dropped = DROPPED.swap(0, Ordering::Relaxed);
    let Ok(logger) = logger(py) else { return };
    for (level, message) in records {
        // "%s" keeps a message holding '%' from being read as a format.
        let _ = logger.call_method1("log", (level, "%s", message));
    }
    if dropped > 0 {
        let _ = logger.call_method1(
            "log",
            (WARNING, "%d log records of the collectd sender were dropped (Python took none for a while)", dropped),
        );
    }
    refresh_threshold(py);
}

/// In a forked child: records queued before the fork are the parent's to log.
pub(crate) fn forget_after_fork() {
    // The background threads are stopped before a fork (see `fork`), so nothing
    // holds the lock; `try_lock` keeps that assumption from ever becoming a hang.
    if let Ok(mut queue) = QUEUE.try_lock() {
        queue.clear();
    }
    PENDING.store(false, Ordering::Release);
    DROPPED.store(0, Ordering::Relaxed);
}
