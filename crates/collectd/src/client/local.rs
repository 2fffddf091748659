//! The recording path: each thread's caches from names to slots, so known names take no lock.
//!
//! A thread keeps, per connection, its own shard (where it adds) and maps from the raw
//! names the program passes to slot numbers. A name seen for the first time is resolved
//! through the connection's registry, under its lock, once per thread. Calls that cannot
//! use the thread's state (the thread is being torn down, or a logger records from
//! inside a record call) resolve through the registry and add to the shared shard.

use std::cell::RefCell;
use std::sync::Arc;

use super::connection::ConnectionInner;
use super::hash::FastMap;
use super::registry::{Resolved, lock};
use super::shard::Shard;

/// One thread's view of one connection.
struct ConnectionCache {
    connection_id: u64,
    shard: Arc<Shard>,
    categories_by_name: FastMap<Box<str>, u32>,
    categories: Vec<Option<CategoryCache>>,
}

#[derive(Default)]
struct CategoryCache {
    stats: FastMap<Box<str>, StatCache>,
}

/// A stat's base slot and its specifics' slots; `None` marks a refused name.
struct StatCache {
    base: Option<u32>,
    specifics: FastMap<Box<str>, Option<u32>>,
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
pub(crate) fn resolve(connection: &ConnectionInner, category: u32, stat: &str, specific: Option<&str>) -> Option<u32> {
    let Resolved { index, complaint } = lock(&connection.registry.names).slot(category, stat, specific);
    log_complaint(complaint);
    index
}

/// Runs `f` with this thread's cache for `connection`, or returns `None` when the
/// thread's caches cannot be used right now.
fn with_cache<R>(connection: &ConnectionInner, f: impl FnOnce(&mut ConnectionCache) -> R) -> Option<R> {
    CACHES
        .try_with(|caches| {
            let mut caches = caches.try_borrow_mut().ok()?;
            let position = match caches.iter().position(|c| c.connection_id == connection.id) {
                Some(position) => position,
                None => {
                    caches.push(ConnectionCache {
                        connection_id: connection.id,
                        shard: connection.registry.new_shard(),
                        categories_by_name: FastMap::default(),
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
pub(crate) fn category(connection: &ConnectionInner, name: &str) -> u32 {
    let cached = with_cache(connection, |cache| {
        if let Some(&index) = cache.categories_by_name.get(name) {
            return index;
        }
        let (index, complaint) = lock(&connection.registry.names).category(name);
        cache.categories_by_name.insert(name.into(), index);
        log_complaint(complaint);
        index
    });
    cached.unwrap_or_else(|| {
        let (index, complaint) = lock(&connection.registry.names).category(name);
        log_complaint(complaint);
        index
    })
}

fn refuse_value(category: u32, stat: &str, value: f64) {
    log::warn!(target: "collectd", "refused non-finite value {value} for stat {stat:?} (category #{category})");
}

/// Adds each `(stat, value)` to the category's base count and to each specific's count.
pub(crate) fn record<S: AsRef<str>>(
    connection: &ConnectionInner,
    category: u32,
    specifics: &[S],
    stats: &[(&str, f64)],
) {
    let done = with_cache(connection, |cache| {
        let ConnectionCache { shard, categories, .. } = cache;
        let index = category as usize;
        if categories.len() <= index {
            categories.resize_with(index + 1, || None);
        }
        let category_cache = categories[index].get_or_insert_with(CategoryCache::default);
        for &(stat, value) in stats {
            if !value.is_finite() {
                refuse_value(category, stat, value);
                continue;
            }
            let stat_cache = match category_cache.stats.get_mut(stat) {
                Some(stat_cache) => stat_cache,
                None => category_cache.stats.entry(stat.into()).or_insert_with(|| StatCache {
                    base: resolve(connection, category, stat, None),
                    specifics: FastMap::default(),
                }),
            };
            let Some(base) = stat_cache.base else { continue };
            shard.add(base, value);
            for specific in specifics {
                let specific = specific.as_ref();
                let slot = match stat_cache.specifics.get(specific) {
                    Some(&slot) => slot,
                    None => {
                        let slot = resolve(connection, category, stat, Some(specific));
                        stat_cache.specifics.insert(specific.into(), slot);
                        slot
                    }
                };
                if let Some(slot) = slot {
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
fn record_uncached<S: AsRef<str>>(connection: &ConnectionInner, category: u32, specifics: &[S], stats: &[(&str, f64)]) {
    for &(stat, value) in stats {
        if !value.is_finite() {
            refuse_value(category, stat, value);
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
pub(crate) fn add_to_slots(connection: &ConnectionInner, slots: &[u32], value: f64) {
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
pub(crate) fn set_exact(connection: &ConnectionInner, category: u32, stats: &[(&str, f64)]) {
    for &(stat, value) in stats {
        if !value.is_finite() {
            refuse_value(category, stat, value);
            continue;
        }
        let cached = with_cache(connection, |cache| {
            let index = category as usize;
            let base =
                cache.categories.get(index).and_then(Option::as_ref).and_then(|c| c.stats.get(stat)).map(|s| s.base);
            match base {
                Some(base) => base,
                None => {
                    if cache.categories.len() <= index {
                        cache.categories.resize_with(index + 1, || None);
                    }
                    let category_cache = cache.categories[index].get_or_insert_with(CategoryCache::default);
                    let base = resolve(connection, category, stat, None);
                    category_cache.stats.insert(stat.into(), StatCache { base, specifics: FastMap::default() });
                    base
                }
            }
        });
        let base = match cached {
            Some(base) => base,
            None => resolve(connection, category, stat, None),
        };
        if let Some(base) = base {
            connection.registry.set_exact(base, value);
        }
    }
}

/// This thread's shard for `connection` and the base slot of `stat`, for a stat handle.
pub(crate) fn stat_slot(connection: &ConnectionInner, category: u32, stat: &str) -> Option<(Arc<Shard>, u32)> {
    let cached = with_cache(connection, |cache| cache.shard.clone());
    let shard = cached.unwrap_or_else(|| connection.registry.shared.clone());
    let base = resolve(connection, category, stat, None)?;
    Some((shard, base))
}
