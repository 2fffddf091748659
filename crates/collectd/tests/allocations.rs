//! What the hot paths allocate: recording nothing once the names are known, and under
//! 128 bytes per distinct stat beside its name; the streaming parser nothing at all.
//!
//! A counting global allocator wraps the system allocator. It counts per thread, so each
//! test sees only its own allocations however the test harness schedules them.

// A global allocator is an `unsafe` trait: this test file alone needs the workspace's
// `unsafe_code` lint lifted.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use collectd::Connection;
use collectd::protocol::{CdTime, EncodeError, Event, PacketWriter, ReceiveSecurity, Value, ValueList};
use collectd::protocol::{WriterOptions, parse_each};

/// The system allocator, counting what the current thread allocates and frees.
struct Counting;

thread_local! {
    /// Allocations made by this thread.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed by this thread.
    static LIVE_BYTES: Cell<i64> = const { Cell::new(0) };
}

fn count(allocations: u64, bytes: i64) {
    // `try_with`: the allocator also runs while thread-locals are being torn down.
    let _ = ALLOCATIONS.try_with(|a| a.set(a.get() + allocations));
    let _ = LIVE_BYTES.try_with(|b| b.set(b.get() + bytes));
}

// SAFETY: every call is forwarded unchanged to `System`; counting touches only
// const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(1, layout.size() as i64);
        // SAFETY: the caller upholds `alloc`'s contract, which is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(1, layout.size() as i64);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(0, -(layout.size() as i64));
        // SAFETY: `ptr` was allocated by `System` with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(1, new_size as i64 - layout.size() as i64);
        // SAFETY: as for `dealloc`, and `new_size` is valid as the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What this thread allocated while `f` ran: (allocations, net live bytes).
fn measure<R>(f: impl FnOnce() -> R) -> (R, u64, i64) {
    let (allocations, bytes) = (ALLOCATIONS.with(Cell::get), LIVE_BYTES.with(Cell::get));
    let result = f();
    (result, ALLOCATIONS.with(Cell::get) - allocations, LIVE_BYTES.with(Cell::get) - bytes)
}

/// A connection of its own for each test, on loopback; nothing here sends anything.
fn connection(port: u16) -> Connection {
    Connection::builder().hostname("alloc").collectd_host("127.0.0.1").collectd_port(port).build()
}

const CALLS: usize = 10_000;

/// Runs `f` once to warm up (names meet the registry, the thread's caches fill), then
/// `CALLS` times, and asserts that those calls allocated nothing at all.
fn assert_allocation_free(what: &str, f: impl Fn()) {
    f();
    let ((), allocations, bytes) = measure(|| {
        for _ in 0..CALLS {
            f();
        }
    });
    assert_eq!((allocations, bytes), (0, 0), "{what}: {allocations} allocations, {bytes} bytes over {CALLS} calls");
}

#[test]
fn recording_known_names_allocates_nothing() {
    let conn = connection(25_911);
    assert_allocation_free("conn.counter(..).record(..)", || {
        conn.counter("coin_stats").record(&["heads"], &[("flips", 1.0)])
    });
    let counter = conn.counter("coin_stats");
    assert_allocation_free("held counter record", || counter.record(&["heads"], &[("flips", 1.0)]));
    assert_allocation_free("record with two specifics and two stats", || {
        counter.record(&["heads", "gold"], &[("flips", 1.0), ("time", 0.25)])
    });
    assert_allocation_free("set_exact on a known stat", || conn.counter("queue").set_exact(&[("size", 12.0)]));
    let flips = counter.stat("flips");
    assert_allocation_free("Stat::add", || flips.add(1.0));
    // Everything was counted where it should be.
    assert!(!conn.take_datagrams().is_empty());
}

/// The same with names that expire and a cap on names: the thread checks the
/// registry's generation on every record, and allocates nothing for it. (A snapshot in
/// which nothing expires leaves the thread's cache as it was.)
#[test]
fn recording_known_names_allocates_nothing_with_expiry_and_a_cap() {
    let conn = Connection::builder()
        .hostname("alloc-expiring")
        .collectd_host("127.0.0.1")
        .collectd_port(25_912)
        .expire_after(3)
        .max_names(1000)
        .build();
    let counter = conn.counter("coin_stats");
    assert_allocation_free("record with expiry", || counter.record(&["heads"], &[("flips", 1.0)]));
    assert!(!conn.take_datagrams().is_empty());
    assert_allocation_free("record with expiry, after a snapshot", || counter.record(&["heads"], &[("flips", 1.0)]));
    let flips = counter.stat("flips");
    assert_allocation_free("Stat::add with expiry", || flips.add(1.0));
}

/// Memory per distinct stat, beside its name.
///
/// "Beside its name" is taken to mean: what the stat costs beyond the bytes of its name.
/// A stat's name is kept twice: the wire name the registry sends (`category-stat`, kept
/// once per connection) and the raw name the recording thread's cache looks calls up by
/// (kept once per recording thread). One copy of each is subtracted, exactly their
/// lengths; everything else counts: hash tables and their empty buckets, vectors' spare
/// capacity, reference counts, fat pointers, the thread's slot (the per-thread sum), and
/// the snapshot's per-stat state, as the stat is recorded and then taken by one snapshot.
/// The measure is for one recording thread; each further thread that records the stat
/// adds its own cache entry and slot.
#[test]
fn memory_per_distinct_stat_is_under_128_bytes_beside_its_name() {
    const STATS: usize = 10_000;
    let conn = connection(25_912);
    // Warm-up: the thread's cache for this connection and the category exist already,
    // so what follows is the cost of the stats alone.
    let many = conn.counter("many");
    many.record(&[], &[("warm_up", 1.0)]);
    let names: Vec<String> = (0..STATS).map(|i| format!("distinct_stat_{i:05}")).collect();
    let name_bytes: usize = names.iter().map(|name| name.len() + "many-".len() + name.len()).sum();

    let (datagrams, _, kept) = measure(|| {
        for name in &names {
            many.record(&[], &[(name, 1.0)]);
        }
        // Dropped at once: the datagrams are the program's, not the stats' memory.
        conn.take_datagrams().len()
    });
    assert!(datagrams > 0);
    let per_stat = (kept - name_bytes as i64) as f64 / STATS as f64;
    println!(
        "{STATS} distinct stats keep {kept} bytes: {:.1} bytes per stat with its names, {per_stat:.1} beside them",
        kept as f64 / STATS as f64
    );
    assert!(per_stat < 128.0, "{per_stat:.1} bytes per stat beside its names");
}

/// The datagrams a snapshot of `stats` distinct stats makes, as the client writes them.
fn snapshot_datagrams(stats: usize) -> Vec<Vec<u8>> {
    let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    let mut datagrams = Vec::new();
    for i in 0..stats {
        let vl = ValueList::new("web1", "any", "gauge", vec![Value::Gauge(i as f64)])
            .with_type_instance(format!("coin_stats-specific{i}-flips"))
            .with_time(CdTime::from_secs(1_700_000_000))
            .with_interval(CdTime::from_secs(10));
        if let Err(EncodeError::PacketFull) = writer.write(&vl) {
            datagrams.push(writer.finish().unwrap().unwrap());
            writer.write(&vl).unwrap();
        }
    }
    datagrams.extend(writer.finish().unwrap());
    datagrams
}

#[test]
fn streaming_parser_allocates_nothing_on_plain_datagrams() {
    let datagrams = snapshot_datagrams(500);
    assert!(datagrams.len() > 10, "several datagrams: {}", datagrams.len());
    let security = ReceiveSecurity::none();
    let ((value_lists, gauge_sum), allocations, bytes) = measure(|| {
        let (mut value_lists, mut gauge_sum) = (0, 0.0);
        for datagram in &datagrams {
            parse_each(datagram, &security, |event| match event {
                Event::Values(raw) => {
                    value_lists += 1;
                    gauge_sum += raw.values.iter().map(|v| v.as_f64()).sum::<f64>();
                    assert_eq!(raw.host, b"web1");
                }
                other => panic!("unexpected {other:?}"),
            });
        }
        (value_lists, gauge_sum)
    });
    assert_eq!(value_lists, 500);
    assert_eq!(gauge_sum, (0..500).sum::<i32>() as f64);
    assert_eq!((allocations, bytes), (0, 0), "parse_each allocated");
}
