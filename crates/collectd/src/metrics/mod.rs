//! A [`metrics`](https://docs.rs/metrics) recorder that ships counters, gauges and histograms to collectd.
//!
//! Any program instrumented with the `metrics` crate reaches collectd by installing one
//! recorder (feature `metrics` of this crate):
//!
//! ```no_run
//! let recorder = collectd::metrics::CollectdRecorder::builder()
//!     .collectd_host("127.0.0.1")
//!     .interval(std::time::Duration::from_secs(10))
//!     .install()
//!     .expect("no other recorder installed");
//! metrics::counter!("coin_stats.flips", "specific" => "heads").increment(1);
//! metrics::gauge!("queue.size").set(12.0);
//! metrics::histogram!("consumer.time", "specific" => "prime").record(0.25);
//! # drop(recorder);
//! ```
//!
//! It records through the library's own aggregation and sender: the files land as
//! `HOST/any[-INST]/gauge-CATEGORY[-SPECIFIC]-STAT.rrd`, exactly like the original
//! module's, and the web interface drills down into them the same way.
//!
//! # From metric names and labels to category, specific and stat
//!
//! | metric | labels | category | specific(s) | stat | file(s) |
//! |---|---|---|---|---|---|
//! | `coin_stats.flips` | | `coin_stats` | | `flips` | `gauge-coin_stats-flips` |
//! | `coin_stats.flips` | `specific=heads` | `coin_stats` | `heads` | `flips` | `gauge-coin_stats-flips`, `gauge-coin_stats-heads-flips` |
//! | `http_requests_total` | `method=GET` | `http` | `method_GET` | `requests_total` | `gauge-http-requests_total`, `gauge-http-method_GET-requests_total` |
//! | `http_requests_total` | `method=GET`, `code=200` | `http` | `method_GET`, `code_200` | `requests_total` | the base and one file per label |
//! | `uptime` | | the default category (`metrics`) | | `uptime` | `gauge-metrics-uptime` |
//!
//! - The category is the name up to its first `.`, or else up to its first `_`; a name
//!   with neither goes to the default category ([`RecorderBuilder::default_category`]).
//!   The stat is the rest of the name.
//! - The label `specific` gives a specific named by its value; every other label gives a
//!   specific `KEY_VALUE`. As with `record(&specifics, ..)`, each specific gets the value
//!   and the base (the file without a specific) gets it once.
//! - Names are sanitised and kept within collectd's 127 bytes as the library does
//!   ([`crate::sanitize`]); a refused or shortened name is logged once.
//!
//! # Counters, gauges, histograms
//!
//! - **Counters** send their increments per interval, summed like `record()`: a file shows
//!   how much was added in each interval. `absolute(n)` adds the difference from the
//!   previous absolute value (or `n` after a reset).
//! - **Gauges** send their current value every interval, **kept until changed** — unlike
//!   [`Counter::set_exact`](crate::Counter::set_exact), whose value is reset to 0 after
//!   each snapshot. The base of a labelled gauge is the sum of its label sets' values.
//! - **Histograms** send, per interval, the stats `STAT_count`, `STAT_sum`, `STAT_min`,
//!   `STAT_max`, `STAT_mean`, `STAT_p50`, `STAT_p90` and `STAT_p99` of the values recorded
//!   in that interval (for the base: all label sets together). An interval without values
//!   sends 0 for all of them once they exist.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

use crate::client::{
    ConnectionBuilder, FastMap, add_snapshot_hook, add_to_slots, category_number, lock, resolve_slot, set_slot_exactly,
};
use crate::{Connection, Credentials};

/// The suffixes of the stats a histogram sends, in order.
const HISTOGRAM_STATS: [&str; 8] = ["count", "sum", "min", "max", "mean", "p50", "p90", "p99"];

/// The bits of "never set" for a gauge.
const GAUGE_UNSET: u64 = 0x7ff8_dead_beef_0002;

/// Where a metric goes: its category's number, its stat, and its specifics.
#[derive(Clone, Debug, PartialEq)]
struct Placement {
    category: u32,
    stat: String,
    specifics: Vec<String>,
}

/// Splits a metric name into category and stat, as the module documentation's table says.
fn split_name<'n>(name: &'n str, default_category: &'n str) -> (&'n str, &'n str) {
    if let Some((category, stat)) = name.split_once('.') {
        return (category, stat);
    }
    match name.split_once('_') {
        Some((category, stat)) if !category.is_empty() && !stat.is_empty() => (category, stat),
        _ => (default_category, name),
    }
}

/// The specifics a key's labels give.
fn label_specifics(key: &Key) -> Vec<String> {
    key.labels()
        .map(|label| match label.key() {
            "specific" => label.value().to_string(),
            other => format!("{other}_{}", label.value()),
        })
        .collect()
}

struct CounterHandle {
    connection: Connection,
    /// The base slot and the specifics' slots, as `record()` would find them.
    slots: Vec<u32>,
    last_absolute: AtomicU64,
}

impl CounterFn for CounterHandle {
    fn increment(&self, value: u64) {
        add_to_slots(&self.connection, &self.slots, value as f64);
    }

    fn absolute(&self, value: u64) {
        let previous = self.last_absolute.swap(value, Ordering::Relaxed);
        self.increment(if value >= previous { value - previous } else { value });
    }
}

struct GaugeHandle {
    bits: AtomicU64,
    /// The base slot and the specifics' slots.
    slots: Vec<u32>,
}

impl GaugeHandle {
    fn update(&self, f: impl Fn(f64) -> f64) {
        let _ = self.bits.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
            let current = if bits == GAUGE_UNSET { 0.0 } else { f64::from_bits(bits) };
            let next = f(current);
            next.is_finite().then(|| next.to_bits())
        });
    }
}

impl GaugeFn for GaugeHandle {
    fn increment(&self, value: f64) {
        self.update(|current| current + value);
    }

    fn decrement(&self, value: f64) {
        self.update(|current| current - value);
    }

    fn set(&self, value: f64) {
        self.update(|_| value);
    }
}

/// Values a histogram summary keeps for its percentiles, at most: exact up to that many
/// values in an interval, a uniform sample of them beyond.
const RESERVOIR: usize = 1024;

/// One interval of a histogram: count, sum, min and max exactly, percentiles from a
/// bounded reservoir, so memory stays flat however many values are recorded.
#[derive(Clone, Debug)]
struct Summary {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    reservoir: Vec<f64>,
    /// xorshift state for reservoir replacement.
    random: u64,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            count: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            reservoir: Vec::new(),
            random: 0x9e37_79b9_7f4a_7c15,
        }
    }
}

impl Summary {
    fn add(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        if self.reservoir.len() < RESERVOIR {
            self.reservoir.push(value);
        } else {
            // Algorithm R: the n-th value replaces a random kept one with probability RESERVOIR/n.
            self.random ^= self.random << 13;
            self.random ^= self.random >> 7;
            self.random ^= self.random << 17;
            let slot = (self.random % self.count) as usize;
            if slot < RESERVOIR {
                self.reservoir[slot] = value;
            }
        }
    }

    fn merge(&mut self, other: &Summary) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.reservoir.extend_from_slice(&other.reservoir);
    }

    /// The values of [`HISTOGRAM_STATS`], in order (nearest-rank percentiles).
    fn stats(mut self) -> [f64; 8] {
        self.reservoir.sort_unstable_by(f64::total_cmp);
        let kept = self.reservoir.len();
        let percentile = |p: f64| self.reservoir[((p * kept as f64).ceil() as usize).clamp(1, kept) - 1];
        let count = self.count as f64;
        [count, self.sum, self.min, self.max, self.sum / count, percentile(0.50), percentile(0.90), percentile(0.99)]
    }
}

struct HistogramHandle {
    summary: Mutex<Summary>,
    /// For each of [`HISTOGRAM_STATS`]: the base slot, then the specifics' slots. Label
    /// sets of one metric share the base slot, so the base summarises them all.
    slots: Vec<Vec<u32>>,
}

impl HistogramFn for HistogramHandle {
    fn record(&self, value: f64) {
        if value.is_finite() {
            lock(&self.summary).add(value);
        } else {
            crate::client::refuse_value(None, value);
        }
    }
}

#[derive(Default)]
struct Handles {
    counters: FastMap<Key, Arc<CounterHandle>>,
    gauges: FastMap<Key, Arc<GaugeHandle>>,
    histograms: FastMap<Key, Arc<HistogramHandle>>,
}

struct RecorderInner {
    id: u64,
    connection: Connection,
    default_category: String,
    handles: Mutex<Handles>,
}

/// A `metrics` recorder sending to collectd; see the [module documentation](self).
///
/// ```
/// use collectd::protocol::{ReceiveSecurity, parse};
///
/// let recorder = collectd::metrics::CollectdRecorder::builder().hostname("h").collectd_port(26030).build();
/// metrics::with_local_recorder(&recorder, || metrics::counter!("coin_stats.flips").increment(3));
/// let datagrams = recorder.connection().take_datagrams();
/// let parsed = parse(&datagrams[0], &ReceiveSecurity::none());
/// assert_eq!(parsed.value_lists().next().unwrap().type_instance, "coin_stats-flips");
/// ```
#[derive(Clone)]
pub struct CollectdRecorder {
    inner: Arc<RecorderInner>,
}

impl std::fmt::Debug for CollectdRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectdRecorder").field("connection", &self.inner.connection).finish_non_exhaustive()
    }
}

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
        /// See [`ConnectionBuilder::plugin_inst`].
        ///
        /// ```
        /// use collectd::metrics::CollectdRecorder;
        ///
        /// let recorder = CollectdRecorder::builder().plugin_inst("api").collectd_port(26033).build();
        /// assert_eq!(recorder.connection().plugin_inst(), "api");
        /// ```
        plugin_inst(&str),
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
        let inner = Arc::new(RecorderInner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            connection: self.connection.build(),
            default_category: self.default_category,
            handles: Mutex::new(Handles::default()),
        });
        let weak: Weak<RecorderInner> = Arc::downgrade(&inner);
        add_snapshot_hook(
            &inner.connection,
            Box::new(move || {
                if let Some(inner) = weak.upgrade() {
                    inner.before_snapshot();
                }
            }),
        );
        CollectdRecorder { inner }
    }

    /// Builds the recorder, installs it as the global `metrics` recorder, and starts the
    /// background threads (if they are not running already).
    ///
    /// ```
    /// use collectd::metrics::{CollectdRecorder, InstallError};
    ///
    /// let builder = CollectdRecorder::builder().collectd_host("127.0.0.1").collectd_port(9);
    /// let recorder = builder.clone().install().unwrap();
    /// metrics::counter!("jobs.done").increment(1);
    /// assert!(matches!(builder.install(), Err(InstallError::RecorderAlreadySet)));
    /// collectd::shutdown(); // sends jobs-done to 127.0.0.1:9, where nothing listens
    /// assert_eq!(recorder.connection().sender_stats().value_lists_sent, 1);
    /// ```
    pub fn install(self) -> Result<CollectdRecorder, InstallError> {
        let recorder = self.build();
        metrics::set_global_recorder(recorder.clone()).map_err(|_| InstallError::RecorderAlreadySet)?;
        match crate::start_threads() {
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

    /// The connection the recorder sends through (for `flush` or its sender statistics).
    ///
    /// ```
    /// let recorder = collectd::metrics::CollectdRecorder::builder().hostname("web1").collectd_port(26043).build();
    /// assert_eq!(recorder.connection().hostname(), "web1");
    /// assert_eq!(recorder.connection().sender_stats().packets_sent, 0);
    /// ```
    pub fn connection(&self) -> &Connection {
        &self.inner.connection
    }
}

impl RecorderInner {
    fn placement(&self, key: &Key, stat_suffix: Option<&str>) -> Placement {
        let (category_name, stat) = split_name(key.name(), &self.default_category);
        let category = category_number(&self.connection, category_name);
        let stat = match stat_suffix {
            Some(suffix) => format!("{stat}_{suffix}"),
            None => stat.to_string(),
        };
        Placement { category, stat, specifics: label_specifics(key) }
    }

    /// The base slot and the specifics' slots of a placement (refused names left out).
    fn slots(&self, placement: &Placement) -> Vec<u32> {
        let base = resolve_slot(&self.connection, placement.category, &placement.stat, None);
        let specifics = placement
            .specifics
            .iter()
            .filter_map(|s| resolve_slot(&self.connection, placement.category, &placement.stat, Some(s)));
        base.into_iter().chain(specifics).collect()
    }

    // Handles are made outside the handles lock: resolving names may log, and a logger
    // that records metrics would otherwise re-enter the lock.

    fn counter(&self, key: &Key) -> Arc<CounterHandle> {
        if let Some(handle) = lock(&self.handles).counters.get(key) {
            return handle.clone();
        }
        let placement = self.placement(key, None);
        let handle = Arc::new(CounterHandle {
            connection: self.connection.clone(),
            slots: self.slots(&placement),
            last_absolute: AtomicU64::new(0),
        });
        lock(&self.handles).counters.entry(key.clone()).or_insert(handle).clone()
    }

    fn gauge(&self, key: &Key) -> Arc<GaugeHandle> {
        if let Some(handle) = lock(&self.handles).gauges.get(key) {
            return handle.clone();
        }
        let placement = self.placement(key, None);
        let handle = Arc::new(GaugeHandle { bits: AtomicU64::new(GAUGE_UNSET), slots: self.slots(&placement) });
        lock(&self.handles).gauges.entry(key.clone()).or_insert(handle).clone()
    }

    fn histogram(&self, key: &Key) -> Arc<HistogramHandle> {
        if let Some(handle) = lock(&self.handles).histograms.get(key) {
            return handle.clone();
        }
        let slots = HISTOGRAM_STATS.iter().map(|suffix| self.slots(&self.placement(key, Some(suffix)))).collect();
        let handle = Arc::new(HistogramHandle { summary: Mutex::new(Summary::default()), slots });
        lock(&self.handles).histograms.entry(key.clone()).or_insert(handle).clone()
    }

    /// Sets the gauges' current values and the histograms' summaries, before the sums are taken.
    fn before_snapshot(&self) {
        let handles = lock(&self.handles);
        let mut exact: FastMap<u32, f64> = FastMap::default();
        for gauge in handles.gauges.values() {
            let bits = gauge.bits.load(Ordering::Relaxed);
            if bits != GAUGE_UNSET {
                for &slot in &gauge.slots {
                    *exact.entry(slot).or_insert(0.0) += f64::from_bits(bits);
                }
            }
        }
        // A histogram's summary goes to its base (shared by its label sets, so the base
        // summarises them all) and to each of its specifics: one merged summary per group
        // of slots, keyed by the group's count slot, each summarised once.
        let mut groups: FastMap<u32, (Vec<u32>, Summary)> = FastMap::default();
        for histogram in handles.histograms.values() {
            let summary = std::mem::take(&mut *lock(&histogram.summary));
            if summary.count == 0 {
                continue;
            }
            let places = histogram.slots.iter().map(Vec::len).min().unwrap_or(0);
            for place in 0..places {
                let (_, merged) = groups.entry(histogram.slots[0][place]).or_insert_with(|| {
                    (histogram.slots.iter().map(|slots| slots[place]).collect(), Summary::default())
                });
                merged.merge(&summary);
            }
        }
        for (slots, summary) in groups.into_values() {
            exact.extend(slots.into_iter().zip(summary.stats()));
        }
        drop(handles);
        for (slot, value) in exact {
            set_slot_exactly(&self.connection, slot, value);
        }
    }
}

/// Which recorder, which kind of handle, which key hash: the thread cache's key.
type CacheKey = (u64, u8, u64);

thread_local! {
    /// Handles this thread already looked up, so `counter!(..)` on a known key takes no lock.
    static HANDLE_CACHE: RefCell<FastMap<CacheKey, Vec<(Key, CachedHandle)>>> = RefCell::new(FastMap::default());
}

#[derive(Clone)]
enum CachedHandle {
    Counter(Arc<CounterHandle>),
    Gauge(Arc<GaugeHandle>),
    Histogram(Arc<HistogramHandle>),
}

impl CollectdRecorder {
    fn cached(&self, kind: u8, key: &Key, make: impl FnOnce() -> CachedHandle) -> CachedHandle {
        let cache_key = (self.inner.id, kind, key.get_hash());
        let hit = HANDLE_CACHE
            .try_with(|cache| {
                let cache = cache.try_borrow().ok()?;
                cache.get(&cache_key)?.iter().find(|(k, _)| k == key).map(|(_, h)| h.clone())
            })
            .ok()
            .flatten();
        if let Some(handle) = hit {
            return handle;
        }
        let handle = make();
        let _ = HANDLE_CACHE.try_with(|cache| {
            if let Ok(mut cache) = cache.try_borrow_mut() {
                cache.entry(cache_key).or_default().push((key.clone(), handle.clone()));
            }
        });
        handle
    }
}

impl Recorder for CollectdRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        match self.cached(0, key, || CachedHandle::Counter(self.inner.counter(key))) {
            CachedHandle::Counter(handle) => Counter::from_arc(handle),
            _ => unreachable!("kind 0 caches counters"),
        }
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        match self.cached(1, key, || CachedHandle::Gauge(self.inner.gauge(key))) {
            CachedHandle::Gauge(handle) => Gauge::from_arc(handle),
            _ => unreachable!("kind 1 caches gauges"),
        }
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        match self.cached(2, key, || CachedHandle::Histogram(self.inner.histogram(key))) {
            CachedHandle::Histogram(handle) => Histogram::from_arc(handle),
            _ => unreachable!("kind 2 caches histograms"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_category_and_stat() {
        assert_eq!(split_name("coin_stats.flips", "metrics"), ("coin_stats", "flips"));
        assert_eq!(split_name("a.b.c", "metrics"), ("a", "b.c"));
        assert_eq!(split_name("http_requests_total", "metrics"), ("http", "requests_total"));
        assert_eq!(split_name("uptime", "metrics"), ("metrics", "uptime"));
        assert_eq!(split_name("_x", "metrics"), ("metrics", "_x"));
    }

    #[test]
    fn labels_become_specifics() {
        let key =
            Key::from_parts("x", vec![metrics::Label::new("specific", "heads"), metrics::Label::new("code", "200")]);
        assert_eq!(label_specifics(&key), vec!["heads".to_string(), "code_200".to_string()]);
    }

    fn summary_of(values: impl IntoIterator<Item = f64>) -> Summary {
        let mut summary = Summary::default();
        values.into_iter().for_each(|v| summary.add(v));
        summary
    }

    #[test]
    fn summaries() {
        let stats = summary_of((1..=100).map(f64::from)).stats();
        assert_eq!(stats, [100.0, 5050.0, 1.0, 100.0, 50.5, 50.0, 90.0, 99.0]);
        assert_eq!(summary_of([7.0]).stats(), [1.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0]);
    }

    #[test]
    fn summaries_stay_bounded_and_exact_where_they_can() {
        let n: u64 = 100_000;
        let summary = summary_of((1..=n).map(|v| v as f64));
        assert_eq!(summary.reservoir.len(), RESERVOIR);
        let stats = summary.stats();
        // Count, sum, min, max and mean stay exact; percentiles are sampled.
        assert_eq!(&stats[..5], &[n as f64, (n * (n + 1) / 2) as f64, 1.0, n as f64, (n + 1) as f64 / 2.0]);
        assert!((stats[5] - 50_000.0).abs() < 5_000.0, "p50 {}", stats[5]);
        assert!((stats[6] - 90_000.0).abs() < 3_000.0, "p90 {}", stats[6]);
    }
}
