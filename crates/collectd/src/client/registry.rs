//! One connection's statistics: names and their slot numbers, the threads' shards, and snapshots.

use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use super::hash::{FastMap, NameMap};
use super::names::{sanitize, type_instance};
use super::shard::Shard;
use crate::protocol::CdTime;

/// Locks a mutex, recovering from poisoning: the data behind these locks stays
/// consistent between statements, and recording must never panic.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Locks a mutex unless it stays held for `wait`: in a forked child, a lock still held
/// then is held by a thread of the parent that did not survive the fork.
pub(crate) fn try_lock_for<T>(mutex: &Mutex<T>, wait: Duration) -> Option<MutexGuard<'_, T>> {
    let deadline = Instant::now() + wait;
    loop {
        match mutex.try_lock() {
            Ok(guard) => return Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => return Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) if Instant::now() >= deadline => return None,
            Err(TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// A name lookup's outcome: the slot number, or `None` for a name that is refused;
/// and a complaint to log once the locks are released.
pub(crate) struct Resolved {
    pub(crate) index: Option<u32>,
    pub(crate) complaint: Option<String>,
    /// Refused because the connection holds its most names.
    pub(crate) refused: bool,
}

/// The wire names by slot number: appended for ever (the default: the most compact),
/// or, when names expire, freed and their numbers reused.
enum WireNames {
    Append(NameMap<()>),
    Reusable(Reusable),
}

impl Default for WireNames {
    fn default() -> Self {
        WireNames::Append(NameMap::default())
    }
}

/// Wire names whose slots can be freed and reused.
#[derive(Default)]
struct Reusable {
    by_name: FastMap<Arc<str>, u32>,
    /// By slot number; `None` for a free slot.
    names: Vec<Option<Arc<str>>>,
    /// Slots that may hold a straggling addition of a thread that had not yet seen the
    /// expiry: free after the next snapshot drains them.
    quarantined: Vec<u32>,
    free: Vec<u32>,
    /// Slots a [`Stat`](crate::Stat) handle (or a `metrics` handle) adds to directly:
    /// never expired.
    pinned: Vec<bool>,
    text_len: usize,
}

impl WireNames {
    fn find(&self, name: &str) -> Option<usize> {
        match self {
            WireNames::Append(map) => map.find(name),
            WireNames::Reusable(r) => r.by_name.get(name).map(|&i| i as usize),
        }
    }

    fn insert(&mut self, name: &str) -> usize {
        match self {
            WireNames::Append(map) => map.insert_new(name, ()),
            WireNames::Reusable(r) => {
                let name: Arc<str> = name.into();
                r.text_len += name.len();
                let index = match r.free.pop() {
                    Some(index) => {
                        r.names[index as usize] = Some(name.clone());
                        index
                    }
                    None => {
                        r.names.push(Some(name.clone()));
                        r.pinned.push(false);
                        (r.names.len() - 1) as u32
                    }
                };
                r.by_name.insert(name, index);
                index as usize
            }
        }
    }

    /// The number of slots (live or not).
    fn len(&self) -> usize {
        match self {
            WireNames::Append(map) => map.len(),
            WireNames::Reusable(r) => r.names.len(),
        }
    }

    /// The number of names held.
    fn live(&self) -> usize {
        match self {
            WireNames::Append(map) => map.len(),
            WireNames::Reusable(r) => r.by_name.len(),
        }
    }

    fn text_len(&self) -> usize {
        match self {
            WireNames::Append(map) => map.text_len(),
            WireNames::Reusable(r) => r.text_len,
        }
    }

    /// The name of a slot; `None` for a freed one.
    fn name(&self, index: usize) -> Option<&str> {
        match self {
            WireNames::Append(map) => Some(map.name(index)),
            WireNames::Reusable(r) => r.names.get(index)?.as_deref(),
        }
    }
}

/// Names and numbers; behind the connection's `names` mutex, taken only when a thread
/// meets a name for the first time.
#[derive(Default)]
pub(crate) struct Names {
    /// Sanitised category names by category number; `None` when the name is refused.
    categories: Vec<Option<Box<str>>>,
    categories_by_raw_name: FastMap<Box<str>, u32>,
    /// Wire names (`category[-specific]-stat`) by slot number, and slot numbers by wire
    /// name: names that sanitise alike share one slot.
    wire_names: WireNames,
    /// Raw names already complained about, so each is logged once.
    complained: FastMap<Box<str>, ()>,
    /// The most names held at once, when capped.
    max_names: Option<usize>,
}

impl Names {
    pub(crate) fn category(&mut self, raw: &str) -> (u32, Option<String>) {
        if let Some(&index) = self.categories_by_raw_name.get(raw) {
            return (index, None);
        }
        let index = self.categories.len() as u32;
        let clean = sanitize(raw);
        let complaint = if clean.is_empty() {
            self.categories.push(None);
            Some(format!("category name {raw:?} is empty once sanitised; nothing is recorded for it"))
        } else {
            self.categories.push(Some(clean.into()));
            None
        };
        self.categories_by_raw_name.insert(raw.into(), index);
        (index, complaint)
    }

    fn complain_once(&mut self, key: String, message: impl FnOnce() -> String) -> Option<String> {
        if self.complained.contains_key(key.as_str()) {
            return None;
        }
        self.complained.insert(key.into(), ());
        Some(message())
    }

    /// The slot of `stat` (with `specific`, or the base count when `None`) in `category`.
    pub(crate) fn slot(&mut self, category: u32, stat: &str, specific: Option<&str>) -> Resolved {
        let Some(Some(category_name)) = self.categories.get(category as usize) else {
            return Resolved { index: None, complaint: None, refused: false };
        };
        let category_name = category_name.clone();
        let clean_stat = sanitize(stat);
        if clean_stat.is_empty() {
            let complaint = self.complain_once(format!("stat\0{stat}"), || {
                format!("stat name {stat:?} in category {category_name} is empty once sanitised; it is not recorded")
            });
            return Resolved { index: None, complaint, refused: false };
        }
        let clean_specific = match specific {
            None => None,
            Some(raw) => {
                let clean = sanitize(raw);
                if clean.is_empty() {
                    let complaint = self.complain_once(format!("specific\0{raw}"), || {
                        format!("specific {raw:?} in category {category_name} is empty once sanitised; its values go to the base count only")
                    });
                    return Resolved { index: None, complaint, refused: false };
                }
                Some(clean)
            }
        };
        let wire = type_instance(&category_name, clean_specific.as_deref(), &clean_stat);
        let shortened = wire.len()
            < category_name.len() + clean_stat.len() + 1 + clean_specific.as_ref().map_or(0, |s| s.len() + 1);
        if let Some(index) = self.wire_names.find(&wire) {
            return Resolved { index: Some(index as u32), complaint: None, refused: false };
        }
        if let Some(max) = self.max_names
            && self.wire_names.live() >= max
        {
            return Resolved { index: None, complaint: None, refused: true };
        }
        let index = self.wire_names.insert(&wire) as u32;
        let complaint = shortened.then(|| format!("statistic name shortened to {wire} to fit collectd's 127 bytes"));
        Resolved { index: Some(index), complaint, refused: false }
    }

    pub(crate) fn slot_count(&self) -> usize {
        self.wire_names.len()
    }

    /// The most names held at once, when capped.
    pub(crate) fn max_names(&self) -> Option<usize> {
        self.max_names
    }

    /// Keeps `index` from expiring: a handle adds to it directly.
    pub(crate) fn pin(&mut self, index: u32) {
        if let WireNames::Reusable(r) = &mut self.wire_names
            && let Some(pinned) = r.pinned.get_mut(index as usize)
        {
            *pinned = true;
        }
    }
}

/// Per-connection state kept between snapshots.
#[derive(Default)]
struct SnapshotState {
    /// Slots recorded at least once: they are reported every snapshot afterwards.
    known: Vec<bool>,
    sums: Vec<f64>,
    /// With expiry: snapshots in a row each slot was not recorded in.
    idle: Vec<u32>,
    /// With expiry: recorded since the last snapshot.
    recorded: Vec<bool>,
    last_time: CdTime,
}

/// A connection's statistics.
pub(crate) struct Registry {
    pub(crate) names: Mutex<Names>,
    /// Every shard that may hold sums; the first is the shared shard.
    shards: Mutex<Vec<Arc<Shard>>>,
    /// The shard for `set_exact` and for threads that cannot use their own
    /// (a thread being torn down, or a logger recording from inside a record call).
    pub(crate) shared: Arc<Shard>,
    snapshot: Mutex<SnapshotState>,
    /// Called at the start of every snapshot, to set values that are not plain sums.
    before_snapshot: Mutex<Vec<SnapshotHook>>,
    /// Snapshots a name may go unrecorded before it expires; `None`: names never expire.
    expire_after: Option<u32>,
    /// Bumped whenever names expire: each thread then forgets its cache of slot numbers.
    pub(crate) generation: AtomicU64,
    /// New names refused because the connection held its most names.
    pub(crate) names_refused: AtomicU64,
    /// Names expired.
    pub(crate) names_expired: AtomicU64,
    /// When a refusal was last logged (seconds since the Unix epoch).
    refusal_logged: AtomicU64,
}

/// A function run at the start of every snapshot of a connection.
pub(crate) type SnapshotHook = Box<dyn Fn() + Send + Sync>;

/// The statistics taken at one moment: wire names and sums.
pub(crate) struct Snapshot {
    pub(crate) time: CdTime,
    /// The values' wire names, one after another (one string, rather than one per name).
    names: String,
    /// Each value, with where its name ends in `names`.
    values: Vec<(usize, f64)>,
}

impl Snapshot {
    /// The number of values.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// A snapshot of these values, for tests of what is done with one.
    #[cfg(test)]
    pub(crate) fn from_pairs(time: CdTime, pairs: &[(&str, f64)]) -> Snapshot {
        let mut snapshot = Snapshot { time, names: String::new(), values: Vec::new() };
        for &(name, value) in pairs {
            snapshot.names.push_str(name);
            snapshot.values.push((snapshot.names.len(), value));
        }
        snapshot
    }

    /// The values with their wire names, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        let mut start = 0;
        self.values.iter().map(move |&(end, value)| {
            let name = &self.names[start..end];
            start = end;
            (name, value)
        })
    }
}

impl Registry {
    /// A registry whose names expire after `expire_after` snapshots unrecorded (never
    /// when `None`), holding at most `max_names` names (no limit when `None`).
    pub(crate) fn new(expire_after: Option<u32>, max_names: Option<usize>) -> Self {
        let shared = Arc::new(Shard::default());
        let wire_names =
            if expire_after.is_some() { WireNames::Reusable(Reusable::default()) } else { WireNames::default() };
        Registry {
            names: Mutex::new(Names { wire_names, max_names, ..Names::default() }),
            shards: Mutex::new(vec![shared.clone()]),
            shared,
            snapshot: Mutex::new(SnapshotState::default()),
            before_snapshot: Mutex::new(Vec::new()),
            expire_after,
            generation: AtomicU64::new(0),
            names_refused: AtomicU64::new(0),
            names_expired: AtomicU64::new(0),
            refusal_logged: AtomicU64::new(0),
        }
    }

    /// Counts a new name refused for the cap, and logs it at most once a minute.
    pub(crate) fn refused(&self, max: Option<usize>) {
        self.names_refused.fetch_add(1, Ordering::Relaxed);
        super::runtime::log_rarely(&self.refusal_logged, || {
            let max = max.map_or_else(String::new, |m| format!(" ({m})"));
            log::warn!(target: "collectd", "a connection holds its most distinct names{max}: new names are refused (counted in SenderStats::names_refused; logged at most once a minute)");
        });
    }

    /// Runs `hook` at the start of every snapshot, before the sums are taken.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn add_snapshot_hook(&self, hook: SnapshotHook) {
        lock(&self.before_snapshot).push(hook);
    }

    /// A new shard for a thread, registered so snapshots see it.
    pub(crate) fn new_shard(&self) -> Arc<Shard> {
        let shard = Arc::new(Shard::default());
        lock(&self.shards).push(shard.clone());
        shard
    }

    /// Sets a base count to exactly `value`: every shard's sum is cleared and the value
    /// put in the shared shard, under the shards lock so no snapshot sees half of it.
    pub(crate) fn set_exact(&self, index: u32, value: f64) {
        let shards = lock(&self.shards);
        for shard in shards.iter() {
            if let Some(slot) = shard.existing_slot(index)
                && slot.load(Ordering::Relaxed) != super::shard::UNTOUCHED
            {
                slot.store(0, Ordering::Relaxed);
            }
        }
        let (chunk, offset) = self.shared.chunk_for(index);
        chunk[offset].store(value.to_bits(), Ordering::Relaxed);
    }

    /// Forgets every sum and which stats were ever recorded (the names and their slots
    /// stay): the next snapshot holds only what is recorded from now on. For a forked
    /// child, which must not send its parent's sums again.
    ///
    /// Waits at most `wait` for each lock: in a forked child, a lock still held then is
    /// held by a thread of the parent that did not survive the fork. False when a lock
    /// could not be had (nothing is changed then).
    pub(crate) fn forget_sums(&self, wait: Duration) -> bool {
        let Some(mut state) = try_lock_for(&self.snapshot, wait) else { return false };
        let Some(shards) = try_lock_for(&self.shards, wait) else { return false };
        let Some(names) = try_lock_for(&self.names, wait) else { return false };
        let count = names.slot_count();
        drop(names);
        for shard in shards.iter() {
            shard.clear(count);
        }
        *state = SnapshotState::default();
        true
    }

    /// Takes every sum and resets it to zero. `None` when nothing was ever recorded.
    ///
    /// The time is `now`, or one second after the previous snapshot when that is later,
    /// so a flush right after a periodic snapshot is not refused by rrdtool ("minimum one
    /// second step").
    pub(crate) fn snapshot(&self, now: CdTime) -> Option<Snapshot> {
        let mut state = lock(&self.snapshot);
        let state = &mut *state;
        for hook in lock(&self.before_snapshot).iter() {
            hook();
        }
        let count;
        {
            let mut shards = lock(&self.shards);
            // A shard only this list holds belongs to a thread that has ended: nobody can
            // add to it again, so once drained it can go. Such shards are found before
            // draining and before counting the names, so that whatever their thread added
            // (even under a name it created just before ending) is drained below.
            let shared = &self.shared;
            let ended: Vec<bool> =
                shards.iter().map(|shard| !Arc::ptr_eq(shard, shared) && Arc::strong_count(shard) == 1).collect();
            // Pairs with the release of the thread's last reference: its additions are visible.
            fence(Ordering::Acquire);
            count = lock(&self.names).slot_count();
            state.known.resize(count, false);
            state.sums.clear();
            state.sums.resize(count, 0.0);
            let expiring = self.expire_after.is_some();
            if expiring {
                state.idle.resize(count, 0);
                state.recorded.clear();
                state.recorded.resize(count, false);
            }
            for shard in shards.iter() {
                let mut take = |index: usize, value: f64| {
                    state.sums[index] = super::shard::saturating_add(state.sums[index], value);
                    if expiring {
                        state.recorded[index] = true;
                    } else {
                        state.known[index] = true;
                    }
                };
                if expiring { shard.take_each_untouched(count, &mut take) } else { shard.take_each(count, &mut take) }
            }
            let mut ended = ended.into_iter();
            shards.retain(|_| !ended.next().unwrap_or(false));
        }
        let names = if let Some(expire_after) = self.expire_after {
            self.expire(state, count, expire_after)
        } else {
            lock(&self.names)
        };
        if !state.known.iter().any(|&known| known) {
            return None;
        }
        let time = if state.last_time == CdTime::ZERO {
            now
        } else {
            now.max(CdTime::from_raw(state.last_time.raw() + CdTime::from_secs(1).raw()))
        };
        state.last_time = time;
        let mut snapshot = Snapshot {
            time,
            names: String::with_capacity(names.wire_names.text_len()),
            values: Vec::with_capacity(count),
        };
        for index in (0..count).filter(|&i| state.known[i]) {
            let Some(name) = names.wire_names.name(index) else { continue };
            snapshot.names.push_str(name);
            snapshot.values.push((snapshot.names.len(), state.sums[index]));
        }
        Some(snapshot)
    }

    /// With expiry: marks what was recorded as known, and expires the names idle for
    /// `expire_after` snapshots (freeing their names and, after a quarantine of one
    /// snapshot, their slots). Returns the names, locked.
    fn expire<'a>(&'a self, state: &mut SnapshotState, count: usize, expire_after: u32) -> MutexGuard<'a, Names> {
        let mut names = lock(&self.names);
        let WireNames::Reusable(r) = &mut names.wire_names else { return names };
        // Slots freed one snapshot ago were drained just now: any straggling addition
        // is gone with it.
        let quarantined = std::mem::take(&mut r.quarantined);
        r.free.extend(quarantined);
        let mut expired = 0u64;
        for index in 0..count {
            if r.names[index].is_none() {
                state.known[index] = false;
                state.idle[index] = 0;
                continue;
            }
            if state.recorded[index] {
                state.known[index] = true;
                state.idle[index] = 0;
                continue;
            }
            if !state.known[index] {
                continue;
            }
            state.idle[index] += 1;
            if state.idle[index] >= expire_after && !r.pinned[index] {
                let name = r.names[index].take().expect("a live slot has a name");
                r.text_len -= name.len();
                r.by_name.remove(&name);
                r.quarantined.push(index as u32);
                state.known[index] = false;
                state.idle[index] = 0;
                expired += 1;
            }
        }
        if expired > 0 {
            if r.by_name.is_empty() {
                r.by_name = FastMap::default();
            } else if r.by_name.capacity() > 4 * r.by_name.len() {
                r.by_name.shrink_to_fit();
            }
            self.names_expired.fetch_add(expired, Ordering::Relaxed);
            // Threads forget their slot numbers at their next record.
            self.generation.fetch_add(1, Ordering::Release);
        }
        names
    }
}
