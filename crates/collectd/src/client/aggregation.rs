//! What the `metrics` recorder records through: a connection's slots and sums by number,
//! the same aggregation as `Counter::record`.
//!
//! The recorder resolves names to slot numbers once per metric handle, then adds to
//! the slots (in the calling thread's shard, without a lock) or sets them before each
//! snapshot.

use std::sync::Arc;

use super::connection::Connection;
use super::local;
use super::registry::SnapshotHook;
use super::state::ConnectionState;

/// A handle on one connection's aggregation.
#[derive(Clone)]
pub(crate) struct Aggregation {
    connection: Arc<ConnectionState>,
}

impl Aggregation {
    /// The aggregation of `connection`.
    pub(crate) fn of(connection: &Connection) -> Self {
        Aggregation { connection: connection.state.clone() }
    }

    /// The number of a category, created on first use.
    pub(crate) fn category(&self, name: &str) -> u32 {
        local::category(&self.connection, name)
    }

    /// The slot of `stat` in `category` (with `specific`, or the base count), or `None`
    /// for a refused name (logged once).
    pub(crate) fn slot(&self, category: u32, stat: &str, specific: Option<&str>) -> Option<u32> {
        local::resolve_pinned(&self.connection, category, stat, specific)
    }

    /// Adds `value` to each of `slots`, in the calling thread's shard.
    pub(crate) fn add(&self, slots: &[u32], value: f64) {
        local::add_to_slots(&self.connection, slots, value);
    }

    /// Sets a slot to exactly `value` (summed over no shard but this one).
    pub(crate) fn set_exactly(&self, slot: u32, value: f64) {
        self.connection.registry.set_exact(slot, value);
    }

    /// Logs a refused non-finite value, at a bounded rate (as `record` does).
    pub(crate) fn refuse(value: f64) {
        local::refuse_value(None, value);
    }

    /// Runs `hook` at the start of every snapshot, before the sums are taken.
    pub(crate) fn before_snapshot(&self, hook: SnapshotHook) {
        self.connection.registry.add_snapshot_hook(hook);
    }
}
