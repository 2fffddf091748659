//! Bounded memory under cardinality: with names that expire, a million names that go
//! idle leave memory where it was, round after round (the names, hash tables and the
//! thread's cache are freed; the slots and per-slot vectors are reused); a cap on names
//! holds.
//!
//! One test per concern in this file measures the whole process's live bytes (a
//! counting global allocator), so the memory test runs alone in its binary's only
//! thread that records: the cap test records on a connection of its own and allocates
//! little, and both are run one after the other by a single #[test].

// A global allocator is an `unsafe` trait: this test file alone needs the workspace's
// `unsafe_code` lint lifted.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};

use collectd::protocol::{ReceiveSecurity, parse};
use collectd::{Connection, Delivery, Destination, MemorySink, Runtime, Sink};

/// Live bytes of the whole process.
static LIVE: AtomicI64 = AtomicI64::new(0);

struct Counting;

// SAFETY: every call is forwarded to the system allocator unchanged; the bookkeeping is
// one atomic add, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as `GlobalAlloc::alloc`.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as `GlobalAlloc::alloc_zeroed`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as `GlobalAlloc::dealloc`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as `GlobalAlloc::realloc`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

/// Counts value lists and drops the datagrams.
#[derive(Clone, Default)]
struct Discard(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl Sink for Discard {
    fn send(&mut self, _: &Destination<'_>, datagrams: &[Vec<u8>]) -> Delivery {
        let lists: usize = datagrams.iter().map(|d| parse(d, &ReceiveSecurity::none()).value_lists().count()).sum();
        self.0.fetch_add(lists as u64, Ordering::Relaxed);
        Delivery::all_sent(datagrams)
    }
}

const NAMES: usize = 1_000_000;

fn a_million_idle_names_leave_memory_flat() {
    let sink = Discard::default();
    let runtime = Runtime::with_sink(sink.clone());
    runtime.set_send_rate(0);
    let conn = Connection::builder().hostname("bounded").expire_after(2).runtime(&runtime).build();
    let counter = conn.counter("c");
    let mut name = String::new();
    let sent = || sink.0.swap(0, Ordering::Relaxed);
    let mut after_rounds = Vec::new();
    for round in 0..3 {
        for i in 0..NAMES {
            name.clear();
            write!(name, "r{round}_{i}").unwrap();
            counter.record(&[], &[(name.as_str(), 1.0)]);
        }
        let peak = live();
        conn.flush();
        assert_eq!(sent(), NAMES as u64, "round {round}: every name sent once recorded");
        conn.flush();
        assert_eq!(sent(), NAMES as u64, "round {round}: idle for one interval: sent as 0");
        conn.flush();
        assert_eq!(sent(), 0, "round {round}: idle for two: forgotten");
        // The thread's next call on the connection drops its cache of the old names.
        let _ = conn.counter("c");
        let idle = live();
        eprintln!("round {round}: {} MB live with the names, {} MB once they expired", peak >> 20, idle >> 20);
        after_rounds.push(idle);
        assert!(idle < peak / 2, "round {round}: expired names freed too little: {idle} of {peak} bytes");
    }
    assert_eq!(conn.sender_stats().names_expired, 3 * NAMES as u64);
    // Flat: the slots of expired names wait out one snapshot (a thread that had not
    // seen the expiry may still add to them), so the second million takes new slots
    // while the first million's are freed; from then on new names reuse them.
    let (second, last) = (after_rounds[1], after_rounds[2]);
    assert!(last <= second + second / 20, "memory grew from {second} to {last} bytes with a third million names");
}

fn the_cap_holds() {
    let sink = MemorySink::new();
    let runtime = Runtime::with_sink(sink.clone());
    let conn = Connection::builder().hostname("capped").max_names(1000).runtime(&runtime).build();
    let counter = conn.counter("c");
    for i in 0..2000 {
        counter.record(&[], &[(&format!("s{i}"), 1.0)]);
    }
    counter.record(&[], &[("s0", 1.0)]); // a name held keeps recording
    conn.flush();
    let sent: Vec<(String, f64)> = sink
        .take()
        .iter()
        .flat_map(|d| {
            parse(&d.datagram, &ReceiveSecurity::none())
                .value_lists()
                .map(|vl| (vl.type_instance.to_string(), vl.values.get(0).map_or(f64::NAN, |v| v.as_f64())))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(sent.len(), 1000);
    assert_eq!(sent[0], ("c-s0".to_string(), 2.0));
    assert_eq!(conn.sender_stats().names_refused, 1000);

    // With expiry, expired names make room.
    let runtime = Runtime::with_sink(sink.clone());
    let conn =
        Connection::builder().hostname("capped-expiring").max_names(10).expire_after(1).runtime(&runtime).build();
    let counter = conn.counter("c");
    for i in 0..20 {
        counter.record(&[], &[(&format!("old{i}"), 1.0)]);
    }
    conn.flush();
    conn.flush(); // idle for one interval: expired
    for i in 0..20 {
        counter.record(&[], &[(&format!("new{i}"), 1.0)]);
    }
    conn.flush();
    let stats = conn.sender_stats();
    assert_eq!((stats.names_refused, stats.names_expired), (20, 10));
    let last = sink.take().pop().unwrap();
    assert_eq!(parse(&last.datagram, &ReceiveSecurity::none()).value_lists().count(), 10);
}

/// Run in one test: the memory test counts the whole process's bytes.
#[test]
fn bounded_memory() {
    a_million_idle_names_leave_memory_flat();
    the_cap_holds();
}
