//! Fast hashing of names, and a compact map from names, for the recording path.
//!
//! Keys are short names chosen by the program itself, so hash flooding is not a
//! concern here; speed is. (The multiply-rotate scheme of the `fxhash` family.)

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Word-at-a-time multiply-rotate hasher.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher {
    hash: u64,
}

impl FastHasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, mut bytes: &[u8]) {
        while bytes.len() >= 8 {
            self.mix(u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")));
            bytes = &bytes[8..];
        }
        if bytes.len() >= 4 {
            self.mix(u64::from(u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"))));
            bytes = &bytes[4..];
        }
        for &b in bytes {
            self.mix(u64::from(b));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A name's hash: the multiply-rotate scheme over its length and 8-byte words, the last
/// partial word read as overlapping loads, then folded so that every bit of the result
/// depends on every byte (the map below takes its slot from the top bits and its tag
/// from the bottom ones).
#[inline]
fn hash_name(bytes: &[u8]) -> u64 {
    let mut hasher = FastHasher { hash: bytes.len() as u64 };
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        hasher.mix(u64::from_le_bytes(word.try_into().expect("8 bytes")));
    }
    let rest = words.remainder();
    match rest.len() {
        0 => {}
        1..4 => {
            let n = rest.len();
            hasher.mix(u64::from(rest[0]) | u64::from(rest[n / 2]) << 8 | u64::from(rest[n - 1]) << 16);
        }
        n => hasher.mix(u64::from(half(rest, 0)) | u64::from(half(rest, n - 4)) << 32),
    }
    let hash = hasher.hash;
    (hash ^ hash >> 32).wrapping_mul(SEED)
}

#[inline]
fn word(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

#[inline]
fn half(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Byte equality, inline: names are short, and a call to `memcmp` for each lookup
/// costs more than comparing them here word by word.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..4 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..8 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        _ => {
            let mut at = 0;
            while at + 8 < n {
                if word(a, at) != word(b, at) {
                    return false;
                }
                at += 8;
            }
            word(a, n - 8) == word(b, n - 8)
        }
    }
}

/// A map from names to small values, numbering its names in insertion order; names
/// cannot be removed (nor can there be 2^32 − 1 of them, far beyond memory here).
///
/// The names live one after another in a single string; an open-addressing table of
/// 8-byte entries (a 32-bit tag of the name's hash, and the name's number) finds them.
/// A lookup hashes once, skips other names by their tags, and compares the bytes
/// inline, with no call to `memcmp`. Per name, beside the name itself: a table entry
/// (the table is at most three quarters full) and the name's end and value, with no
/// allocation of its own; a `HashMap<Box<str>, V>` takes a 16-byte pointer per name,
/// plus the value, in each bucket, and allocates each name.
pub(crate) struct NameMap<V> {
    /// The names, one after another.
    text: String,
    /// Each name's end in `text`, and its value, by number.
    entries: Vec<(usize, V)>,
    /// `tag << 32 | number + 1` for each used entry, 0 for a free one; empty, or a power
    /// of two long and at most three quarters full, so every probe meets a free entry.
    table: Vec<u64>,
}

impl<V> Default for NameMap<V> {
    fn default() -> Self {
        NameMap { text: String::new(), entries: Vec::new(), table: Vec::new() }
    }
}

impl<V> NameMap<V> {
    /// The number of names.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The bytes of all the names.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The name numbered `number`.
    #[inline]
    pub(crate) fn name(&self, number: usize) -> &str {
        let start = if number == 0 { 0 } else { self.entries[number - 1].0 };
        &self.text[start..self.entries[number].0]
    }

    /// The number of `name`, if the map has it.
    #[inline]
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        if self.table.is_empty() {
            return None;
        }
        let hash = hash_name(name.as_bytes());
        let tag = hash & 0xffff_ffff;
        let mask = self.table.len() - 1;
        let mut at = self.home(hash);
        loop {
            let entry = self.table[at];
            if entry == 0 {
                return None;
            }
            if entry >> 32 == tag {
                let number = (entry & 0xffff_ffff) as usize - 1;
                if same_bytes(self.name(number).as_bytes(), name.as_bytes()) {
                    return Some(number);
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// The value of `name`, if the map has it.
    #[inline]
    pub(crate) fn get(&self, name: &str) -> Option<&V> {
        self.find(name).map(|number| &self.entries[number].1)
    }

    /// The value of the name numbered `number`, to change.
    pub(crate) fn value_mut(&mut self, number: usize) -> &mut V {
        &mut self.entries[number].1
    }

    /// Adds a name the map does not have yet, and returns its number.
    pub(crate) fn insert_new(&mut self, name: &str, value: V) -> usize {
        debug_assert!(self.find(name).is_none());
        let number = self.entries.len();
        self.text.push_str(name);
        self.entries.push((self.text.len(), value));
        if self.entries.len() * 4 > self.table.len() * 3 {
            self.table = vec![0; (self.table.len() * 2).max(8)];
            for number in 0..self.entries.len() {
                self.place(number);
            }
        } else {
            self.place(number);
        }
        number
    }

    /// Puts name `number` in the first free entry from its home.
    fn place(&mut self, number: usize) {
        let hash = hash_name(self.name(number).as_bytes());
        let mask = self.table.len() - 1;
        let mut at = self.home(hash);
        while self.table[at] != 0 {
            at = (at + 1) & mask;
        }
        self.table[at] = (hash & 0xffff_ffff) << 32 | (number as u64 + 1);
    }

    /// Where a name's probe starts: the top bits of its hash.
    #[inline]
    fn home(&self, hash: u64) -> usize {
        (hash >> (64 - self.table.len().trailing_zeros())) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_at_every_length() {
        let a: Vec<u8> = (0u8..40).collect();
        for n in 0..a.len() {
            assert!(same_bytes(&a[..n], &a[..n]));
            assert!(!same_bytes(&a[..n], &a[..n + 1]));
            for changed in 0..n {
                let mut b = a[..n].to_vec();
                b[changed] ^= 0x80;
                assert!(!same_bytes(&a[..n], &b), "length {n}, byte {changed}");
            }
        }
    }

    #[test]
    fn names_by_number_and_number_by_name() {
        let mut map = NameMap::default();
        assert_eq!(map.find("x"), None);
        let names: Vec<String> = (0..2000).map(|i| format!("stat_{i}")).chain(["".into(), "a".into()]).collect();
        for (number, name) in names.iter().enumerate() {
            assert_eq!(map.get(name), None);
            assert_eq!(map.insert_new(name, number * 10), number);
        }
        assert_eq!(map.len(), names.len());
        for (number, name) in names.iter().enumerate() {
            assert_eq!(map.name(number), name);
            assert_eq!(map.find(name), Some(number));
            assert_eq!(map.get(name), Some(&(number * 10)));
        }
        *map.value_mut(3) = 7;
        assert_eq!(map.get("stat_3"), Some(&7));
        assert_eq!(map.find("stat_2000"), None);
        assert_eq!(map.find("b"), None);
        assert_eq!(map.text_len(), names.iter().map(String::len).sum::<usize>());
    }
}
