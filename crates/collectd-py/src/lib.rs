//! `collectd._native`: the Python package's native half, on the `collectd` library.
//!
//! The pure-Python `collectd/__init__.py` gives the original module's API (connection
//! identity, counters as attributes, `AssertionError` on a second `start_threads`,
//! fork and exit hooks); this module does the work: connections, recording, the
//! background threads, and the hand-off of the library's log records to Python.
//!
//! No function here releases the GIL. Recording takes well under a microsecond, and a
//! flush waits only for the sender, which never takes the GIL (see `logbridge`). So
//! when Python forks, no other Python thread is inside the library, and the fork hooks
//! (`fork`) only have the library's own threads to stop.

mod args;
mod fork;
mod logbridge;

use std::borrow::Cow;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use args::{Inline, Specifics, Stats};

/// The library's connection with these settings (the same one for the same settings).
#[pyclass(frozen, module = "collectd._native", name = "Connection")]
struct PyConnection {
    inner: collectd::Connection,
}

#[pymethods]
impl PyConnection {
    /// Every setting, positionally or by name; `__init__.py` supplies the defaults.
    #[new]
    #[pyo3(signature = (hostname, collectd_host, collectd_port, plugin_inst, interval, max_packet_size,
                        legacy_time, security, username, password, ttl, servers=Vec::new(),
                        expire_after=None, max_names=None, process_slot=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        hostname: &str,
        collectd_host: &str,
        collectd_port: u16,
        plugin_inst: &str,
        interval: f64,
        max_packet_size: usize,
        legacy_time: bool,
        security: Option<&str>,
        username: Option<&str>,
        password: Option<&str>,
        ttl: Option<u32>,
        servers: Vec<(String, u16)>,
        expire_after: Option<u32>,
        max_names: Option<usize>,
        process_slot: Option<u32>,
    ) -> PyResult<Self> {
        if !interval.is_finite() || interval <= 0.0 {
            return Err(PyValueError::new_err(format!(
                "interval must be a positive number of seconds, not {interval}"
            )));
        }
        let mut builder = collectd::Connection::builder()
            .hostname(hostname)
            .collectd_host(collectd_host)
            .collectd_port(collectd_port)
            .plugin_instance(plugin_inst)
            .interval(Duration::from_secs_f64(interval.min(1e9)))
            .max_packet_size(max_packet_size)
            .legacy_time(legacy_time);
        if let Some(ttl) = ttl {
            builder = builder.ttl(ttl);
        }
        for (host, port) in servers {
            builder = builder.add_server(host, port);
        }
        if let Some(intervals) = expire_after {
            builder = builder.expire_after(intervals);
        }
        if let Some(names) = max_names {
            builder = builder.max_names(names);
        }
        if let Some(slot) = process_slot {
            builder = builder.process_slot(slot);
        }
        builder = match security {
            None => {
                if username.is_some() || password.is_some() {
                    return Err(PyValueError::new_err(
                        "username and password need security=\"sign\" or security=\"encrypt\"",
                    ));
                }
                builder
            }
            Some(level @ ("sign" | "encrypt")) => {
                let credentials = collectd::Credentials::new(username.unwrap_or(""), password.unwrap_or(""))
                    .map_err(|e| PyValueError::new_err(format!("security={level:?}: {e}")))?;
                if level == "sign" { builder.sign(credentials) } else { builder.encrypt(credentials) }
            }
            Some(other) => {
                return Err(PyValueError::new_err(format!(
                    "security must be None, \"sign\" or \"encrypt\", not {other:?}"
                )));
            }
        };
        let inner = builder.build();
        logbridge::drain(py);
        Ok(PyConnection { inner })
    }

    /// The host name statistics are sent under (as collectd receives it).
    #[getter]
    fn hostname(&self) -> &str {
        self.inner.hostname()
    }

    /// The collectd server's host name or address.
    #[getter]
    fn collectd_host(&self) -> &str {
        self.inner.collectd_host()
    }

    /// The collectd server's port.
    #[getter]
    fn collectd_port(&self) -> u16 {
        self.inner.collectd_port()
    }

    /// The plugin instance (empty for none).
    #[getter]
    fn plugin_inst(&self) -> &str {
        self.inner.plugin_instance()
    }

    /// Seconds between two sends.
    #[getter]
    fn interval(&self) -> f64 {
        self.inner.interval().as_secs_f64()
    }

    /// True when both are the library's same connection.
    fn same_as(&self, other: &PyConnection) -> bool {
        collectd::Connection::ptr_eq(&self.inner, &other.inner)
    }

    /// What the sender did so far: `(packets_sent, bytes_sent, value_lists_sent,
    /// send_errors, snapshots_dropped)`.
    fn sender_stats(&self) -> (u64, u64, u64, u64, u64) {
        let s = self.inner.sender_stats();
        (s.packets_sent, s.bytes_sent, s.value_lists_sent, s.send_errors, s.snapshots_dropped)
    }

    /// Sends a notification now, in its own datagram (never held for the interval):
    /// severity `"FAILURE"`, `"WARNING"` or `"OKAY"` (any case), the message (at most 255
    /// bytes; longer is cut, an empty one is not sent), and an optional type and type
    /// instance (sanitised as stat names). Only an unknown severity raises (`ValueError`).
    #[pyo3(signature = (severity, message, type_ = "", type_instance = ""))]
    fn notify(&self, py: Python<'_>, severity: &str, message: &str, type_: &str, type_instance: &str) -> PyResult<()> {
        let severity = match severity.to_ascii_uppercase().as_str() {
            "FAILURE" => collectd::protocol::Severity::Failure,
            "WARNING" => collectd::protocol::Severity::Warning,
            "OKAY" => collectd::protocol::Severity::Okay,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "severity must be \"FAILURE\", \"WARNING\" or \"OKAY\", not {severity:?}"
                )));
            }
        };
        self.inner.notification(severity, message).type_(type_).type_instance(type_instance).send();
        logbridge::drain(py);
        Ok(())
    }

    /// Takes a snapshot of this connection now and sends it (after anything queued).
    fn flush(&self, py: Python<'_>) {
        self.inner.flush();
        logbridge::drain(py);
    }
}

/// The statistics of one category on one connection. Python's `collectd.Counter`
/// subclasses it.
#[pyclass(frozen, subclass, module = "collectd._native", name = "Counter")]
struct PyCounter {
    /// The category resolved once: recording looks up only the stats' names.
    counter: collectd::OwnedCounter,
    /// The name as given (sanitised by the library when recording).
    category: Py<PyString>,
}

#[pymethods]
impl PyCounter {
    #[new]
    fn new(connection: &Bound<'_, PyAny>, category: &Bound<'_, PyAny>) -> PyResult<Self> {
        let connection = connection
            .cast::<PyConnection>()
            .map_err(|_| PyTypeError::new_err("Counter(connection, category) needs a collectd._native.Connection"))?;
        let category =
            category.cast::<PyString>().map_err(|_| PyTypeError::new_err("a category name is a str"))?.clone();
        let counter = connection.get().inner.owned_counter(&category.to_string_lossy());
        Ok(PyCounter { counter, category: category.unbind() })
    }

    /// The category's name, as it was given.
    #[getter]
    fn category(&self, py: Python<'_>) -> Py<PyString> {
        self.category.clone_ref(py)
    }

    /// Adds each stat's value to its base count and to each specific's count. Never raises.
    #[pyo3(signature = (*specific, **stats))]
    fn record(&self, py: Python<'_>, specific: &Bound<'_, PyTuple>, stats: Option<&Bound<'_, PyDict>>) {
        let specifics = Specifics::read("record", specific);
        let stats = Stats::read("record", stats);
        match (specifics.borrowed(), stats.borrowed()) {
            // Names are valid UTF-8 but for lone surrogates: no copy then.
            (Some(names), Some(pairs)) => self.counter.counter().record(&names, &pairs),
            _ => {
                let (names, pairs) = (specifics.names(), stats.pairs());
                let names: Inline<&str> = names.iter().map(Cow::as_ref).collect();
                let pairs: Inline<(&str, f64)> = pairs.iter().map(|(n, v)| (n.as_ref(), *v)).collect();
                self.counter.counter().record(&names, &pairs);
            }
        }
        logbridge::drain(py);
    }

    /// Sets each stat's base count to exactly its value. Never raises.
    #[pyo3(signature = (*args, **stats))]
    fn set_exact(&self, py: Python<'_>, args: &Bound<'_, PyTuple>, stats: Option<&Bound<'_, PyDict>>) {
        if !args.is_empty() {
            log::warn!(target: "collectd", "set_exact() takes stats as keywords only; {} positional argument(s) left out", args.len());
        }
        let stats = Stats::read("set_exact", stats);
        let pairs = stats.pairs();
        let borrowed: Inline<(&str, f64)> = pairs.iter().map(|(n, v)| (n.as_ref(), *v)).collect();
        self.counter.counter().set_exact(&borrowed);
        logbridge::drain(py);
    }
}

/// Starts the background threads; false when they already run.
#[pyfunction]
fn start_threads(py: Python<'_>) -> PyResult<bool> {
    logbridge::refresh_threshold(py);
    let started = match collectd::start_threads() {
        Ok(()) => Ok(true),
        Err(collectd::Error::AlreadyStarted) => Ok(false),
        Err(error) => Err(pyo3::exceptions::PyRuntimeError::new_err(error.to_string())),
    };
    logbridge::drain(py);
    started
}

/// True while the background threads run.
#[pyfunction]
fn is_running() -> bool {
    collectd::Runtime::global().is_running()
}

/// Sends a snapshot of every connection now.
#[pyfunction]
fn flush(py: Python<'_>) {
    logbridge::refresh_threshold(py);
    collectd::flush();
    logbridge::drain(py);
}

/// Sends what was recorded since the last interval, then stops the threads.
#[pyfunction]
fn shutdown(py: Python<'_>) {
    collectd::shutdown();
    logbridge::drain(py);
}

/// The original module's sanitising of names.
#[pyfunction]
fn sanitize(name: &str) -> String {
    collectd::sanitize(name)
}

/// Passes the library's queued log records to Python logging.
#[pyfunction]
fn drain_logs(py: Python<'_>) {
    logbridge::drain(py);
}

/// The native module.
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    logbridge::install(m.py());
    m.add_class::<PyConnection>()?;
    m.add_class::<PyCounter>()?;
    m.add_function(wrap_pyfunction!(start_threads, m)?)?;
    m.add_function(wrap_pyfunction!(is_running, m)?)?;
    m.add_function(wrap_pyfunction!(flush, m)?)?;
    m.add_function(wrap_pyfunction!(shutdown, m)?)?;
    m.add_function(wrap_pyfunction!(sanitize, m)?)?;
    m.add_function(wrap_pyfunction!(drain_logs, m)?)?;
    m.add_function(wrap_pyfunction!(fork::before_fork, m)?)?;
    m.add_function(wrap_pyfunction!(fork::after_fork_in_parent, m)?)?;
    m.add_function(wrap_pyfunction!(fork::after_fork_in_child, m)?)?;
    m.add("DEFAULT_PORT", collectd::DEFAULT_PORT)?;
    m.add("DEFAULT_INTERVAL", collectd::DEFAULT_INTERVAL.as_secs_f64())?;
    m.add("DEFAULT_MAX_PACKET_SIZE", collectd::protocol::DEFAULT_MAX_PACKET_SIZE)?;
    Ok(())
}
