//! The recorder: [`CollectdRecorder`], the `metrics::Recorder` that hands out handles,
//! each thread caching the ones it has looked up.

use std::cell::RefCell;
use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

use super::state::RecorderInner;
use super::storage::{CounterHandle, GaugeHandle, HistogramHandle};
use crate::Connection;
use crate::client::FastMap;

/// A `metrics` recorder sending to collectd; see the [module documentation](crate::metrics).
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
    pub(super) inner: Arc<RecorderInner>,
}

impl std::fmt::Debug for CollectdRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectdRecorder").field("connection", &self.inner.connection).finish_non_exhaustive()
    }
}

impl CollectdRecorder {
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
