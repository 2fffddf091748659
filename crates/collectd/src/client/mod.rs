//! The client: connections, counters and the background sender, with the original module's API.

mod connection;
mod hash;
mod local;
mod names;
mod registry;
mod runtime;
mod shard;
mod transport;

pub use connection::{Connection, ConnectionBuilder, Counter, DEFAULT_INTERVAL, DEFAULT_PORT, SenderStats, Stat};
pub use names::sanitize;
pub use runtime::{flush, shutdown, start_threads};

#[cfg(feature = "metrics")]
pub(crate) use hash::FastMap;
#[cfg(feature = "metrics")]
pub(crate) use registry::lock;

/// Crate-internal access for the `metrics` recorder, which records through the same
/// aggregation as `Counter::record`.
#[cfg(feature = "metrics")]
mod internal {
    use super::registry::SnapshotHook;
    use super::{Connection, local};

    pub(crate) fn category_number(connection: &Connection, name: &str) -> u32 {
        local::category(&connection.inner, name)
    }

    pub(crate) fn add_to_slots(connection: &Connection, slots: &[u32], value: f64) {
        local::add_to_slots(&connection.inner, slots, value);
    }

    pub(crate) fn resolve_slot(
        connection: &Connection,
        category: u32,
        stat: &str,
        specific: Option<&str>,
    ) -> Option<u32> {
        local::resolve(&connection.inner, category, stat, specific)
    }

    pub(crate) fn set_slot_exactly(connection: &Connection, slot: u32, value: f64) {
        connection.inner.registry.set_exact(slot, value);
    }

    pub(crate) use super::local::refuse_value;

    pub(crate) fn add_snapshot_hook(connection: &Connection, hook: SnapshotHook) {
        connection.inner.registry.add_snapshot_hook(hook);
    }
}
#[cfg(feature = "metrics")]
pub(crate) use internal::*;
