//! Building a recorder: [`RecorderBuilder`] (the connection's settings and the default
//! category), installing it, and why installing can fail.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::recorder::CollectdRecorder;
use super::state::RecorderInner;
use super::storage::Handles;
use crate::client::Aggregation;
use crate::{Connection, ConnectionBuilder, Credentials};

/// Why [`RecorderBuilder::install`] failed.
///
/// ```
/// use collectd::metrics::InstallError;
///
/// let error = InstallError::Threads(collectd::Error::AlreadyStarted);
/// assert_eq!(error.to_string(), "the collectd background threads are already running");
/// assert_eq!(InstallError::RecorderAlreadySet.to_string(), "a metrics recorder is already installed");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum InstallError {
    /// Another `metrics` recorder is installed.
    RecorderAlreadySet,
    /// The background threads could not be started.
    Threads(crate::Error),
}

impl std::fmt::Display for InstallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InstallError::RecorderAlreadySet => f.write_str("a metrics recorder is already installed"),
            InstallError::Threads(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for InstallError {}

/// Settings for a [`CollectdRecorder`]: the same as [`Connection::builder`]'s, plus the
/// default category.
///
/// ```
/// let recorder = collectd::metrics::CollectdRecorder::builder()
///     .hostname("web1")
///     .collectd_host("127.0.0.1")
///     .collectd_port(25990)
///     .default_category("app")
///     .build();
/// assert_eq!(recorder.connection().hostname(), "web1");
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RecorderBuilder {
    connection: ConnectionBuilder,
    default_category: String,
}

macro_rules! delegate {
    ($($(#[$doc:meta])* $name:ident($arg:ty)),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $arg) -> Self {
            self.connection = self.connection.$name(value);
            self
        }
    )*};
}

impl RecorderBuilder {
    delegate! {
        /// See [`ConnectionBuilder::hostname`].
        ///
        /// ```
        /// let recorder = collectd::metrics::CollectdRecorder::builder().hostname("web1").collectd_port(26031).build();
        /// assert_eq!(recorder.connection().hostname(), "web1");
        /// ```
        hostname(&str),
        /// See [`ConnectionBuilder::collectd_host`].
        ///
        /// ```
        /// let recorder = collectd::metrics::CollectdRecorder::builder().collectd_host("127.0.0.1").build();
        /// assert_eq!(recorder.connection().collectd_host(), "127.0.0.1");
        /// ```
        collectd_host(&str),
        /// See [`ConnectionBuilder::collectd_port`].
        ///
        /// ```
        /// let recorder = collectd::metrics::CollectdRecorder::builder().collectd_port(26032).build();
        /// assert_eq!(recorder.connection().collectd_port(), 26032);
        /// ```
        collectd_port(u16),
        /// See [`ConnectionBuilder::plugin_instance`].
        ///
        /// ```
        /// use collectd::metrics::CollectdRecorder;
        ///
        /// let recorder = CollectdRecorder::builder().plugin_instance("api").collectd_port(26033).build();
        /// assert_eq!(recorder.connection().plugin_instance(), "api");
        /// ```
        plugin_instance(&str),
        /// See [`ConnectionBuilder::interval`].
        ///
        /// ```
        /// use collectd::metrics::CollectdRecorder;
        /// use std::time::Duration;
        ///
        /// let recorder = CollectdRecorder::builder().interval(Duration::from_secs(5)).collectd_port(26034).build();
        /// assert_eq!(recorder.connection().interval(), Duration::from_secs(5));
        /// ```
        interval(Duration),
        /// See [`ConnectionBuilder::max_packet_size`].
        ///
        /// ```
        /// use collectd::{Connection, metrics::CollectdRecorder};
        ///
        /// let recorder = CollectdRecorder::builder().max_packet_size(1024).collectd_port(26035).build();
        /// let same = Connection::builder().max_packet_size(1024).collectd_port(26035).build();
        /// assert!(Connection::ptr_eq(recorder.connection(), &same));
        /// ```
        max_packet_size(usize),
        /// See [`ConnectionBuilder::legacy_time`].
        ///
        /// ```
        /// use collectd::{Connection, metrics::CollectdRecorder};
        ///
        /// let recorder = CollectdRecorder::builder().legacy_time(true).collectd_port(26036).build();
        /// let same = Connection::builder().legacy_time(true).collectd_port(26036).build();
        /// assert!(Connection::ptr_eq(recorder.connection(), &same));
        /// ```
        legacy_time(bool),
        /// See [`ConnectionBuilder::sign`].
        ///
        /// ```
        /// use collectd::{Connection, Credentials, metrics::CollectdRecorder};
        ///
        /// let credentials = Credentials::new("admin", "secret").unwrap();
        /// let recorder = CollectdRecorder::builder().sign(credentials.clone()).collectd_port(26037).build();
        /// let same = Connection::builder().sign(credentials).collectd_port(26037).build();
        /// assert!(Connection::ptr_eq(recorder.connection(), &same));
        /// ```
        sign(Credentials),
        /// See [`ConnectionBuilder::encrypt`].
        ///
        /// ```
        /// use collectd::{Connection, Credentials, metrics::CollectdRecorder};
        ///
        /// let credentials = Credentials::new("admin", "secret").unwrap();
        /// let recorder = CollectdRecorder::builder().encrypt(credentials.clone()).collectd_port(26038).build();
        /// let same = Connection::builder().encrypt(credentials).collectd_port(26038).build();
        /// assert!(Connection::ptr_eq(recorder.connection(), &same));
        /// ```
        encrypt(Credentials),
        /// See [`ConnectionBuilder::ttl`].
        ///
        /// ```
        /// use collectd::{Connection, metrics::CollectdRecorder};
        ///
        /// let recorder = CollectdRecorder::builder().ttl(4).collectd_port(26039).build();
        /// let same = Connection::builder().ttl(4).collectd_port(26039).build();
        /// assert!(Connection::ptr_eq(recorder.connection(), &same));
        /// ```
        ttl(u32),
    }

    /// See [`ConnectionBuilder::runtime`]: the runtime that sends the recorder's
    /// statistics (default: [`Runtime::global`](crate::Runtime::global)).
    ///
    /// ```
    /// use collectd::{MemorySink, Runtime, metrics::CollectdRecorder};
    ///
    /// let sink = MemorySink::new();
    /// let runtime = Runtime::with_sink(sink.clone());
    /// let recorder = CollectdRecorder::builder().hostname("recorder-runtime-doc").runtime(&runtime).build();
    /// metrics::with_local_recorder(&recorder, || metrics::counter!("jobs.done").increment(1));
    /// runtime.flush();
    /// assert_eq!(sink.len(), 1);
    /// ```
    pub fn runtime(mut self, runtime: &crate::Runtime) -> Self {
        self.connection = self.connection.runtime(runtime);
        self
    }

    /// The category of metrics whose name has no `.` or `_` (default `metrics`).
    ///
    /// ```
    /// use collectd::protocol::{ReceiveSecurity, parse};
    ///
    /// let builder = collectd::metrics::CollectdRecorder::builder().hostname("h").collectd_port(26040);
    /// let recorder = builder.default_category("app").build();
    /// metrics::with_local_recorder(&recorder, || metrics::counter!("uptime").increment(1));
    /// let datagrams = recorder.connection().take_datagrams();
    /// let parsed = parse(&datagrams[0], &ReceiveSecurity::none());
    /// assert_eq!(parsed.value_lists().next().unwrap().type_instance, "app-uptime");
    /// ```
    pub fn default_category(mut self, category: impl Into<String>) -> Self {
        self.default_category = category.into();
        self
    }

    /// The recorder, not installed: for `metrics::with_local_recorder` or tests.
    ///
    /// ```
    /// use collectd::protocol::{ReceiveSecurity, Value, parse};
    ///
    /// let recorder = collectd::metrics::CollectdRecorder::builder().hostname("h").collectd_port(26041).build();
    /// metrics::with_local_recorder(&recorder, || metrics::gauge!("queue.size").set(12.0));
    /// let datagrams = recorder.connection().take_datagrams();
    /// let vl = parse(&datagrams[0], &ReceiveSecurity::none()).value_lists().next().unwrap().clone();
    /// assert_eq!((vl.type_instance.as_ref(), vl.values.get(0)), ("queue-size", Some(Value::Gauge(12.0))));
    /// ```
    pub fn build(self) -> CollectdRecorder {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        let connection = self.connection.build();
        let inner = Arc::new(RecorderInner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            aggregation: Aggregation::of(&connection),
            connection,
            default_category: self.default_category,
            handles: Mutex::new(Handles::default()),
        });
        let weak: Weak<RecorderInner> = Arc::downgrade(&inner);
        inner.aggregation.before_snapshot(Box::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.before_snapshot();
            }
        }));
        CollectdRecorder { inner }
    }

    /// Builds the recorder, installs it as the global `metrics` recorder, and starts the
    /// background threads of its connection's runtime (if they are not running already).
    ///
    /// ```
    /// use collectd::metrics::{CollectdRecorder, InstallError};
    ///
    /// let builder = CollectdRecorder::builder().collectd_host("127.0.0.1").collectd_port(9);
    /// let recorder = builder.clone().install().unwrap();
    /// metrics::counter!("jobs.done").increment(1);
    /// assert!(matches!(builder.install(), Err(InstallError::RecorderAlreadySet)));
    /// collectd::shutdown(); // sends jobs-done to 127.0.0.1:9, where nothing listens
    /// let stats = recorder.connection().sender_stats();
    /// assert_eq!((stats.packets_sent, stats.packets_refused, stats.value_lists_unsent), (1, 1, 1));
    /// ```
    pub fn install(self) -> Result<CollectdRecorder, InstallError> {
        let recorder = self.build();
        metrics::set_global_recorder(recorder.clone()).map_err(|_| InstallError::RecorderAlreadySet)?;
        match recorder.connection().runtime().start_threads() {
            Ok(()) | Err(crate::Error::AlreadyStarted) => Ok(recorder),
            Err(error) => Err(InstallError::Threads(error)),
        }
    }
}

impl CollectdRecorder {
    /// A builder with the original module's connection defaults.
    ///
    /// ```
    /// let recorder = collectd::metrics::CollectdRecorder::builder().collectd_port(26042).build();
    /// assert_eq!(recorder.connection().collectd_host(), "localhost");
    /// ```
    pub fn builder() -> RecorderBuilder {
        RecorderBuilder { connection: Connection::builder(), default_category: "metrics".into() }
    }
}
