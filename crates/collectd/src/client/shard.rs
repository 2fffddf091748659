//! Per-thread sums: each thread adds into its own slots, so recording never shares a cache line.
//!
//! A shard is an array of `f64` sums stored as `AtomicU64` bits, indexed by a statistic's
//! number within its connection, growing in chunks of doubling size so a slot never
//! moves once created. Only its thread adds to it (with a compare-and-swap, because the
//! snapshot resets slots from another thread), so the cache line stays with that core.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// The bits of "never recorded": a NaN no recorded value can produce (non-finite
/// values are refused before they reach a slot).
pub(crate) const UNTOUCHED: u64 = 0x7ff8_dead_beef_0001;
/// Chunk `k` holds `2^(FIRST_CHUNK_BITS + k)` slots: 64, 128, 256, ...
const FIRST_CHUNK_BITS: u32 = 6;
const CHUNKS: usize = 27;

/// A chunk of slots.
pub(crate) type Chunk = Arc<[AtomicU64]>;

/// One thread's slots for one connection.
#[derive(Default)]
pub(crate) struct Shard {
    chunks: [OnceLock<Chunk>; CHUNKS],
}

/// Which chunk holds slot `index`, and where in it.
fn locate(index: u32) -> (usize, usize) {
    let i = index as u64 + (1 << FIRST_CHUNK_BITS);
    let bits = 63 - i.leading_zeros();
    let chunk = (bits - FIRST_CHUNK_BITS) as usize;
    (chunk, (i - (1 << bits)) as usize)
}

fn chunk_len(chunk: usize) -> usize {
    1 << (FIRST_CHUNK_BITS as usize + chunk)
}

impl Shard {
    /// The chunk holding slot `index` (created on first use) and the offset in it.
    pub(crate) fn chunk_for(&self, index: u32) -> (&Chunk, usize) {
        let (chunk, offset) = locate(index);
        let chunk =
            self.chunks[chunk].get_or_init(|| (0..chunk_len(chunk)).map(|_| AtomicU64::new(UNTOUCHED)).collect());
        (chunk, offset)
    }

    /// The slot for `index`, if its chunk exists.
    pub(crate) fn existing_slot(&self, index: u32) -> Option<&AtomicU64> {
        let (chunk, offset) = locate(index);
        self.chunks.get(chunk)?.get().map(|c| &c[offset])
    }

    /// Calls `f(index, slot)` for every existing slot below `count`, chunk by chunk.
    fn each_slot(&self, count: usize, mut f: impl FnMut(usize, &AtomicU64)) {
        let mut first = 0;
        for (chunk, cell) in self.chunks.iter().enumerate() {
            if first >= count {
                return;
            }
            if let Some(slots) = cell.get() {
                let len = slots.len().min(count - first);
                for (offset, slot) in slots[..len].iter().enumerate() {
                    f(first + offset, slot);
                }
            }
            first += chunk_len(chunk);
        }
    }

    /// Takes the sum of every recorded slot below `count` (see [`take_slot`]), chunk by
    /// chunk, calling `f(index, sum)`.
    pub(crate) fn take_each(&self, count: usize, mut f: impl FnMut(usize, f64)) {
        self.each_slot(count, |index, slot| {
            if let Some(sum) = take_slot(slot) {
                f(index, sum);
            }
        });
    }

    /// As [`take_each`](Self::take_each), leaving each slot as never recorded instead
    /// of zero: `f` is called only for the slots recorded since the last take.
    pub(crate) fn take_each_untouched(&self, count: usize, mut f: impl FnMut(usize, f64)) {
        self.each_slot(count, |index, slot| {
            if slot.load(Ordering::Relaxed) != UNTOUCHED {
                let bits = slot.swap(UNTOUCHED, Ordering::Relaxed);
                if bits != UNTOUCHED {
                    f(index, f64::from_bits(bits));
                }
            }
        });
    }

    /// Marks every slot below `count` as never recorded, dropping its sum.
    pub(crate) fn clear(&self, count: usize) {
        self.each_slot(count, |_, slot| slot.store(UNTOUCHED, Ordering::Relaxed));
    }

    /// Adds to slot `index`.
    pub(crate) fn add(&self, index: u32, value: f64) {
        let (chunk, offset) = self.chunk_for(index);
        add_to_slot(&chunk[offset], value);
    }
}

/// `a + b` for finite `a` and `b`, held at `±f64::MAX` when it would be infinite (which
/// is logged, once in the life of the process): collectd would store `inf`, and every
/// later sum would stay infinite.
#[inline]
pub(crate) fn saturating_add(a: f64, b: f64) -> f64 {
    let sum = a + b;
    if sum.is_finite() { sum } else { saturated(sum) }
}

#[cold]
#[inline(never)]
fn saturated(sum: f64) -> f64 {
    static LOGGED: AtomicBool = AtomicBool::new(false);
    if !LOGGED.swap(true, Ordering::Relaxed) {
        log::warn!(target: "collectd", "a sum overflowed and is held at {:e} instead of {sum} (further overflows are not logged)", f64::MAX.copysign(sum));
    }
    f64::MAX.copysign(sum)
}

/// Adds `value` to a slot: the hot path of every record. A sum beyond `f64::MAX` is
/// held there (see [`saturating_add`]).
#[inline]
pub(crate) fn add_to_slot(slot: &AtomicU64, value: f64) {
    let mut current = slot.load(Ordering::Relaxed);
    loop {
        let sum = if current == UNTOUCHED { value } else { saturating_add(f64::from_bits(current), value) };
        match slot.compare_exchange_weak(current, sum.to_bits(), Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return,
            Err(actual) => current = actual,
        }
    }
}

/// Takes a slot's sum and leaves zero: `None` when the slot was never recorded.
pub(crate) fn take_slot(slot: &AtomicU64) -> Option<f64> {
    match slot.load(Ordering::Relaxed) {
        UNTOUCHED => None,
        0 => Some(0.0),
        _ => Some(f64::from_bits(slot.swap(0, Ordering::Relaxed))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_indices_without_gaps() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(63), (0, 63));
        assert_eq!(locate(64), (1, 0));
        assert_eq!(locate(191), (1, 127));
        assert_eq!(locate(192), (2, 0));
        assert_eq!(locate(u32::MAX).0, CHUNKS - 1);
        let mut expected = (0usize, 0usize);
        for index in 0..10_000u32 {
            let (c, o) = locate(index);
            assert_eq!((c, o), expected);
            assert!(o < chunk_len(c));
            expected = if o + 1 == chunk_len(c) { (c + 1, 0) } else { (c, o + 1) };
        }
    }

    #[test]
    fn add_and_take() {
        let shard = Shard::default();
        assert!(shard.existing_slot(5).is_none());
        shard.add(5, 0.5);
        shard.add(5, 1.5);
        let slot = shard.existing_slot(5).unwrap();
        assert_eq!(take_slot(slot), Some(2.0));
        assert_eq!(take_slot(slot), Some(0.0));
        assert_eq!(take_slot(shard.existing_slot(6).unwrap()), None);
    }

    #[test]
    fn take_each_visits_recorded_slots_below_count() {
        let shard = Shard::default();
        shard.take_each(1000, |_, _| panic!("nothing recorded"));
        for index in [0, 63, 64, 200, 5000] {
            shard.add(index, f64::from(index) + 0.5);
        }
        let mut taken = Vec::new();
        shard.take_each(5000, |index, sum| taken.push((index, sum)));
        assert_eq!(taken, [(0, 0.5), (63, 63.5), (64, 64.5), (200, 200.5)]);
        taken.clear();
        shard.take_each(5001, |index, sum| taken.push((index, sum)));
        // Taken slots read zero afterwards; the one left out before is taken now.
        assert_eq!(taken, [(0, 0.0), (63, 0.0), (64, 0.0), (200, 0.0), (5000, 5000.5)]);
    }

    #[test]
    fn sums_are_held_at_the_largest_finite_value() {
        let shard = Shard::default();
        shard.add(0, f64::MAX);
        shard.add(0, f64::MAX);
        shard.add(1, -f64::MAX);
        shard.add(1, -1e308);
        let mut taken = Vec::new();
        shard.take_each(2, |index, sum| taken.push((index, sum)));
        assert_eq!(taken, [(0, f64::MAX), (1, -f64::MAX)]);
        assert_eq!(saturating_add(1e308, 1e308) - 1e308, f64::MAX - 1e308);
    }

    #[test]
    fn cleared_slots_read_as_never_recorded() {
        let shard = Shard::default();
        for index in [0, 70, 300] {
            shard.add(index, 1.0);
        }
        shard.clear(100);
        let mut taken = Vec::new();
        shard.take_each(1000, |index, sum| taken.push((index, sum)));
        assert_eq!(taken, [(300, 1.0)], "only slots below the count are cleared");
    }
}
