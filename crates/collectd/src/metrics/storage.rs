//! The metric handles the `metrics` macros record through: counters add to slots, gauges
//! keep their value, histograms keep a summary; and the map of them by key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{CounterFn, GaugeFn, HistogramFn, Key};

use super::summary::Summary;
use crate::client::{Aggregation, FastMap, lock};

/// The bits of "never set" for a gauge.
pub(super) const GAUGE_UNSET: u64 = 0x7ff8_dead_beef_0002;

/// A counter: its increments go to its slots, summed like `record()`.
pub(super) struct CounterHandle {
    pub(super) aggregation: Aggregation,
    /// The base slot and the specifics' slots, as `record()` would find them.
    pub(super) slots: Vec<u32>,
    pub(super) last_absolute: AtomicU64,
}

impl CounterFn for CounterHandle {
    fn increment(&self, value: u64) {
        self.aggregation.add(&self.slots, value as f64);
    }

    fn absolute(&self, value: u64) {
        let previous = self.last_absolute.swap(value, Ordering::Relaxed);
        self.increment(if value >= previous { value - previous } else { value });
    }
}

pub(super) struct GaugeHandle {
    pub(super) bits: AtomicU64,
    /// The base slot and the specifics' slots.
    pub(super) slots: Vec<u32>,
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

/// A histogram: the values of the current interval, summarised at each snapshot.
pub(super) struct HistogramHandle {
    pub(super) summary: Mutex<Summary>,
    /// For each of [`HISTOGRAM_STATS`]: the base slot, then the specifics' slots. Label
    /// sets of one metric share the base slot, so the base summarises them all.
    pub(super) slots: Vec<Vec<u32>>,
}

impl HistogramFn for HistogramHandle {
    fn record(&self, value: f64) {
        if value.is_finite() {
            lock(&self.summary).add(value);
        } else {
            Aggregation::refuse(value);
        }
    }
}

#[derive(Default)]
pub(super) struct Handles {
    pub(super) counters: FastMap<Key, Arc<CounterHandle>>,
    pub(super) gauges: FastMap<Key, Arc<GaugeHandle>>,
    pub(super) histograms: FastMap<Key, Arc<HistogramHandle>>,
}
