//! What `os.register_at_fork` runs around a fork (registered by `__init__.py`).
//!
//! A lock held at the moment of `fork()` stays held for ever in the child, whose only
//! thread is the one that forked. The library's background threads take their locks
//! at any moment (the sender holds the sink's lock for a whole send), so before a fork
//! they are stopped: [`before_fork`] runs `shutdown()`, which sends what was recorded
//! so far and joins both threads. The parent's values are thus sent once, by the
//! parent, before the child exists. Python threads cannot be inside the library at the
//! fork: every call into it holds the GIL throughout, and the forking thread holds it.
//!
//! After the fork the parent starts its threads again; the child makes the runtime as
//! new (`Runtime::forget_after_fork`: no inherited sums, statistics or socket) and, if
//! the parent's threads were running, starts its own, so what it records is sent from
//! its own socket. The price: each fork sends one early snapshot (the part of the
//! interval recorded so far), and the parent's next interval starts at the fork.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;

use crate::logbridge;

/// Whether the threads ran when the fork began: the parent and the child start theirs again.
static RESTART: AtomicBool = AtomicBool::new(false);

fn restart(py: Python<'_>) {
    if RESTART.load(Ordering::SeqCst)
        && let Err(error) = collectd::start_threads()
        && !matches!(error, collectd::Error::AlreadyStarted)
    {
        log::error!(target: "collectd", "after fork: {error}; statistics will not be sent");
    }
    logbridge::drain(py);
}

/// Before `fork()`: sends what was recorded and stops the background threads.
#[pyfunction]
pub(crate) fn before_fork() {
    let runtime = collectd::Runtime::global();
    let running = runtime.is_running();
    RESTART.store(running, Ordering::SeqCst);
    if running {
        runtime.shutdown();
    }
}

/// In the parent after `fork()`: the threads run again.
#[pyfunction]
pub(crate) fn after_fork_in_parent(py: Python<'_>) {
    restart(py);
}

/// In the child after `fork()`: nothing of the parent's is sent; the child's own
/// threads start if the parent's were running.
#[pyfunction]
pub(crate) fn after_fork_in_child(py: Python<'_>) {
    logbridge::forget_after_fork();
    collectd::Runtime::global().forget_after_fork();
    restart(py);
}
