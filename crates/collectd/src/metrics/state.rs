//! A recorder's state: its connection, default category and handles by key, and what
//! it does before each snapshot (gauges' values, histograms' summaries).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::Key;

use super::naming::{Placement, label_specifics, split_name};
use super::storage::{CounterHandle, GAUGE_UNSET, GaugeHandle, Handles, HistogramHandle};
use super::summary::{HISTOGRAM_STATS, Summary};
use crate::Connection;
use crate::client::{Aggregation, FastMap, lock};

/// What a [`CollectdRecorder`](super::CollectdRecorder) shares between its clones.
pub(super) struct RecorderInner {
    /// Unique among recorders: the key of each thread's handle cache.
    pub(super) id: u64,
    pub(super) connection: Connection,
    pub(super) aggregation: Aggregation,
    pub(super) default_category: String,
    pub(super) handles: Mutex<Handles>,
}

impl RecorderInner {
    fn placement(&self, key: &Key, stat_suffix: Option<&str>) -> Placement {
        let (category_name, stat) = split_name(key.name(), &self.default_category);
        let category = self.aggregation.category(category_name);
        let stat = match stat_suffix {
            Some(suffix) => format!("{stat}_{suffix}"),
            None => stat.to_string(),
        };
        Placement { category, stat, specifics: label_specifics(key) }
    }

    /// The base slot and the specifics' slots of a placement (refused names left out).
    fn slots(&self, placement: &Placement) -> Vec<u32> {
        let base = self.aggregation.slot(placement.category, &placement.stat, None);
        let specifics = placement
            .specifics
            .iter()
            .filter_map(|s| self.aggregation.slot(placement.category, &placement.stat, Some(s)));
        base.into_iter().chain(specifics).collect()
    }

    // Handles are made outside the handles lock: resolving names may log, and a logger
    // that records metrics would otherwise re-enter the lock.

    pub(super) fn counter(&self, key: &Key) -> Arc<CounterHandle> {
        if let Some(handle) = lock(&self.handles).counters.get(key) {
            return handle.clone();
        }
        let placement = self.placement(key, None);
        let handle = Arc::new(CounterHandle {
            aggregation: self.aggregation.clone(),
            slots: self.slots(&placement),
            last_absolute: AtomicU64::new(0),
        });
        lock(&self.handles).counters.entry(key.clone()).or_insert(handle).clone()
    }

    pub(super) fn gauge(&self, key: &Key) -> Arc<GaugeHandle> {
        if let Some(handle) = lock(&self.handles).gauges.get(key) {
            return handle.clone();
        }
        let placement = self.placement(key, None);
        let handle = Arc::new(GaugeHandle { bits: AtomicU64::new(GAUGE_UNSET), slots: self.slots(&placement) });
        lock(&self.handles).gauges.entry(key.clone()).or_insert(handle).clone()
    }

    pub(super) fn histogram(&self, key: &Key) -> Arc<HistogramHandle> {
        if let Some(handle) = lock(&self.handles).histograms.get(key) {
            return handle.clone();
        }
        let slots = HISTOGRAM_STATS.iter().map(|suffix| self.slots(&self.placement(key, Some(suffix)))).collect();
        let handle = Arc::new(HistogramHandle { summary: Mutex::new(Summary::default()), slots });
        lock(&self.handles).histograms.entry(key.clone()).or_insert(handle).clone()
    }

    /// Sets the gauges' current values and the histograms' summaries, before the sums are taken.
    pub(super) fn before_snapshot(&self) {
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
            self.aggregation.set_exactly(slot, value);
        }
    }
}
