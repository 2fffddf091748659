//! The recording path: each thread's caches from names to slots, so known names take no lock.
//!
//! A thread keeps, per connection, its own shard (where it adds) and maps from the raw
//! names the program passes to slot numbers. A name seen for the first time is resolved
//! through the connection's registry, under its lock, once per thread. Calls that cannot
//! use the thread's state (the thread is being torn down, or a logger records from
//! inside a record call) resolve through the registry and add to the shared shard.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use super::hash::NameMap;
use super::registry::{Resolved, lock};
use super::shard::Shard;
use super::state::ConnectionState;

/// One thread's view of one connection.
struct ConnectionCache {
    connection_id: u64,
    /// The registry's generation the slot numbers below are of: when names expire, the
    /// thread forgets them.
    generation: u64,
    shard: Arc<Shard>,
    categories_by_name: NameMap<u32>,
    categories: Vec<Option<CategoryCache>>,
}

/// One thread's view of one category.
#[derive(Default)]
struct CategoryCache {
    /// Stats by raw name.
    stats: NameMap<StatCache>,
    /// Specifics' slots by raw name, one map for each stat recorded with specifics
    /// (`StatCache::specifics` says which).
    specifics: Vec<NameMap<Slot>>,
}

/// What a thread knows of a stat: 8 bytes, as every stat a thread records has one.
#[derive(Clone, Copy)]
struct StatCache {
    base: Slot,
    /// The stat's map in `CategoryCache::specifics`, or [`NO_SPECIFICS`].
    specifics: u32,
}

const NO_SPECIFICS: u32 = u32::MAX;

/// A slot number, or none for a refused name, in four bytes where `Option<u32>` takes
/// eight. (The registry never hands out `u32::MAX`: that would take 4 billion names.)
#[derive(Clone, Copy, PartialEq, Eq)]
struct Slot(u32);

impl Slot {
    const NONE: Slot = Slot(u32::MAX);

    fn new(slot: Option<u32>) -> Slot {
        slot.map_or(Slot::NONE, Slot)
    }

    #[inline]
    fn get(self) -> Option<u32> {
        (self != Slot::NONE).then_some(self.0)
    }
}

impl CategoryCache {
    /// The thread's cache of category number `category`, created on first use.
    #[inline]
    fn of(categories: &mut Vec<Option<CategoryCache>>, category: u32) -> &mut CategoryCache {
        let index = category as usize;
        if categories.len() <= index {
            categories.resize_with(index + 1, || None);
        }
        categories[index].get_or_insert_with(CategoryCache::default)
    }

    /// What the thread knows of `stat`, resolved through the registry on first use.
    #[inline]
    fn stat(&mut self, connection: &ConnectionState, category: u32, stat: &str) -> StatCache {
        if let Some(&known) = self.stats.get(stat) {
            return known;
        }
        let new = StatCache { base: Slot::new(resolve(connection, category, stat, None)), specifics: NO_SPECIFICS };
        self.stats.insert_new(stat, new);
        new
    }

    /// The map of `stat`'s specifics, created on first use.
    #[inline]
    fn specifics_of(&mut self, stat: &str, known: StatCache) -> &mut NameMap<Slot> {
        let index = if known.specifics == NO_SPECIFICS {
            let index = self.specifics.len() as u32;
            self.specifics.push(NameMap::default());
            if let Some(number) = self.stats.find(stat) {
                self.stats.value_mut(number).specifics = index;
            }
            index
        } else {
            known.specifics
        };
        &mut self.specifics[index as usize]
    }
}

thread_local! {
    static CACHES: RefCell<Vec<ConnectionCache>> = const { RefCell::new(Vec::new()) };
}

fn log_complaint(complaint: Option<String>) {
    if let Some(message) = complaint {
        log::warn!(target: "collectd", "{message}");
    }
}

/// Resolves a slot through the registry (the slow path), logging after the lock is released.
pub(crate) fn resolve(connection: &ConnectionState, category: u32, stat: &str, specific: Option<&str>) -> Option<u32> {
    resolve_and(connection, category, stat, specific, false)
}

/// [`resolve`], keeping the slot from expiring: for handles that add to it directly.
pub(crate) fn resolve_pinned(
    connection: &ConnectionState,
    category: u32,
    stat: &str,
    specific: Option<&str>,
) -> Option<u32> {
    resolve_and(connection, category, stat, specific, true)
}

fn resolve_and(
    connection: &ConnectionState,
    category: u32,
    stat: &str,
    specific: Option<&str>,
    pin: bool,
) -> Option<u32> {
    let registry = &connection.registry;
    let mut names = lock(&registry.names);
    let Resolved { index, complaint, refused } = names.slot(category, stat, specific);
    if pin && let Some(index) = index {
        names.pin(index);
    }
    let max = names.max_names();
    drop(names);
    if refused {
        registry.refused(max);
    }
    log_complaint(complaint);
    index
}

/// Runs `f` with this thread's cache for `connection`, or returns `None` when the
/// thread's caches cannot be used right now.
fn with_cache<R>(connection: &ConnectionState, f: impl FnOnce(&mut ConnectionCache) -> R) -> Option<R> {
    CACHES
        .try_with(|caches| {
            let mut caches = caches.try_borrow_mut().ok()?;
            let generation = connection.registry.generation.load(Ordering::Acquire);
            let position = match caches.iter().position(|c| c.connection_id == connection.id) {
                Some(position) => {
                    let cache = &mut caches[position];
                    if cache.generation != generation {
                        // Names expired: the slot numbers known here may be reused.
                        cache.categories = Vec::new();
                        cache.generation = generation;
                    }
                    position
                }
                None => {
                    caches.push(ConnectionCache {
                        connection_id: connection.id,
                        generation,
                        shard: connection.registry.new_shard(),
                        categories_by_name: NameMap::default(),
                        categories: Vec::new(),
                    });
                    caches.len() - 1
                }
            };
            Some(f(&mut caches[position]))
        })
        .ok()
        .flatten()
}

/// The number of a category, created on first use.
pub(crate) fn category(connection: &ConnectionState, name: &str) -> u32 {
    let cached = with_cache(connection, |cache| {
        if let Some(&index) = cache.categories_by_name.get(name) {
            return index;
        }
        let (index, complaint) = lock(&connection.registry.names).category(name);
        cache.categories_by_name.insert_new(name, index);
        log_complaint(complaint);
        index
    });
    cached.unwrap_or_else(|| {
        let (index, complaint) = lock(&connection.registry.names).category(name);
        log_complaint(complaint);
        index
    })
}

/// Logs a refused non-finite value: at most one message every 10 seconds, so a NaN in a
/// hot loop does not flood the log (or allocate on every call).
pub(crate) fn refuse_value(stat: Option<&str>, value: f64) {
    static NEXT_LOG_SECS: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let next = NEXT_LOG_SECS.load(Ordering::Relaxed);
    if now >= next && NEXT_LOG_SECS.compare_exchange(next, now + 10, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
        match stat {
            Some(stat) => {
                log::warn!(target: "collectd", "refused non-finite value {value} for stat {stat:?} (further refusals are not logged for 10 s)")
            }
            None => {
                log::warn!(target: "collectd", "refused non-finite value {value} (further refusals are not logged for 10 s)")
            }
        }
    }
}

/// Adds each `(stat, value)` to the category's base count and to each specific's count.
pub(crate) fn record<S: AsRef<str>>(
    connection: &ConnectionState,
    category: u32,
    specifics: &[S],
    stats: &[(&str, f64)],
) {
    let done = with_cache(connection, |cache| {
        let ConnectionCache { shard, categories, .. } = cache;
        let category_cache = CategoryCache::of(categories, category);
        for &(stat, value) in stats {
            if !value.is_finite() {
                refuse_value(Some(stat), value);
                continue;
            }
            let known = category_cache.stat(connection, category, stat);
            let Some(base) = known.base.get() else { continue };
            shard.add(base, value);
            if specifics.is_empty() {
                continue;
            }
            let slots = category_cache.specifics_of(stat, known);
            for specific in specifics {
                let specific = specific.as_ref();
                let slot = match slots.get(specific) {
                    Some(&slot) => slot,
                    None => {
                        let slot = Slot::new(resolve(connection, category, stat, Some(specific)));
                        slots.insert_new(specific, slot);
                        slot
                    }
                };
                if let Some(slot) = slot.get() {
                    shard.add(slot, value);
                }
            }
        }
    });
    if done.is_none() {
        record_uncached(connection, category, specifics, stats);
    }
}

/// The same as [`record`], through the registry and the shared shard.
fn record_uncached<S: AsRef<str>>(connection: &ConnectionState, category: u32, specifics: &[S], stats: &[(&str, f64)]) {
    for &(stat, value) in stats {
        if !value.is_finite() {
            refuse_value(Some(stat), value);
            continue;
        }
        let Some(base) = resolve(connection, category, stat, None) else { continue };
        connection.registry.shared.add(base, value);
        for specific in specifics {
            if let Some(slot) = resolve(connection, category, stat, Some(specific.as_ref())) {
                connection.registry.shared.add(slot, value);
            }
        }
    }
}

/// Adds `value` to each of `slots` (already resolved) in this thread's shard.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) fn add_to_slots(connection: &ConnectionState, slots: &[u32], value: f64) {
    let done = with_cache(connection, |cache| {
        for &slot in slots {
            cache.shard.add(slot, value);
        }
    });
    if done.is_none() {
        for &slot in slots {
            connection.registry.shared.add(slot, value);
        }
    }
}

/// Sets each stat's base count to exactly its value.
pub(crate) fn set_exact(connection: &ConnectionState, category: u32, stats: &[(&str, f64)]) {
    for &(stat, value) in stats {
        if !value.is_finite() {
            refuse_value(Some(stat), value);
            continue;
        }
        let cached = with_cache(connection, |cache| {
            CategoryCache::of(&mut cache.categories, category).stat(connection, category, stat).base
        });
        let base = match cached {
            Some(base) => base.get(),
            None => resolve(connection, category, stat, None),
        };
        if let Some(base) = base {
            connection.registry.set_exact(base, value);
        }
    }
}

/// This thread's shard for `connection` and the base slot of `stat`, for a stat handle.
pub(crate) fn stat_slot(connection: &ConnectionState, category: u32, stat: &str) -> Option<(Arc<Shard>, u32)> {
    let cached = with_cache(connection, |cache| cache.shard.clone());
    let shard = cached.unwrap_or_else(|| connection.registry.shared.clone());
    let base = resolve_pinned(connection, category, stat, None)?;
    Some((shard, base))
}
