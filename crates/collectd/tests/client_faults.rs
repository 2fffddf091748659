//! Faults: a name that never resolves, a sink that never returns, a server that is down,
//! sums that overflow, and a program that would exit without `shutdown()`.
//!
//! A logger kept by this file records every line the library logs, so the tests can
//! count them; each test looks only at the lines of its own connection (by host name
//! or port), since the tests run in parallel. Every test installs it first thing, so
//! that no line (the once-only ones above all) is logged before it is there.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::process::Command;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use collectd::protocol::{ReceiveSecurity, Value, parse};
use collectd::{Connection, Delivery, Destination, MemorySink, Runtime, SentDatagram, Sink, UdpSink};

// ---------------------------------------------------------------------------------------
// A logger that keeps every line.

static LINES: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

struct Keeper;

impl log::Log for Keeper {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = record.args().to_string();
        LINES.lock().unwrap_or_else(|e| e.into_inner()).push((record.level(), line));
    }

    fn flush(&self) {}
}

fn keep_log_lines() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&Keeper).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// The lines logged so far that contain `needle`.
fn lines_with(needle: &str) -> Vec<(log::Level, String)> {
    LINES.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|(_, line)| line.contains(needle)).cloned().collect()
}

/// Type instance → sum over the datagrams.
fn sums(sent: &[SentDatagram]) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    for sent in sent {
        for vl in parse(&sent.datagram, &ReceiveSecurity::none()).value_lists() {
            let Some(Value::Gauge(value)) = vl.values.get(0) else { panic!("not a gauge: {vl:?}") };
            *sums.entry(vl.type_instance.to_string()).or_default() += value;
        }
    }
    sums
}

/// A loopback port nothing listens on (bound, then closed).
fn closed_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

// ---------------------------------------------------------------------------------------
// Point 2: a name that never resolves, a sink that never returns.

/// A resolver that never answers costs the first send its resolve timeout and the
/// later ones nothing; `flush()` returns, `shutdown()` returns within its bound, and
/// what could not be sent is counted.
#[test]
fn a_name_that_never_resolves_blocks_neither_flush_nor_shutdown() {
    keep_log_lines();
    let sink = UdpSink::with_resolver(|_, _| {
        loop {
            std::thread::park();
        }
    })
    .resolve_timeout(Duration::from_millis(300));
    let runtime = Runtime::with_sink(sink);
    runtime.set_flush_timeout(Duration::from_secs(3));
    let conn = Connection::builder()
        .hostname("never-resolves")
        .collectd_host("collectd.never-resolves.invalid")
        .interval(Duration::from_secs(1))
        .runtime(&runtime)
        .build();
    runtime.start_threads().unwrap();
    let counter = conn.counter("jobs");

    let started = Instant::now();
    counter.record(&[], &[("done", 1.0)]);
    conn.flush();
    let first = started.elapsed();
    assert!(first < Duration::from_secs(3), "the first flush took {first:?}");

    // The lookup is still hanging: the next flushes do not wait for it again.
    let started = Instant::now();
    for _ in 0..20 {
        counter.record(&[], &[("done", 1.0)]);
        conn.flush();
    }
    let twenty = started.elapsed();
    assert!(twenty < Duration::from_secs(2), "20 flushes took {twenty:?}");

    let started = Instant::now();
    runtime.shutdown();
    let shutdown = started.elapsed();
    assert!(shutdown <= runtime.flush_timeout() + collectd::SHUTDOWN_GRACE, "shutdown took {shutdown:?}");

    let stats = conn.sender_stats();
    assert_eq!(stats.value_lists_sent, 0, "{stats:?}");
    assert!(stats.value_lists_unsent >= 21, "every flush's value list is counted unsent: {stats:?}");
    assert!(stats.send_errors >= 21, "{stats:?}");
}

/// A sink that blocks forever inside `send`.
struct Stuck;

impl Sink for Stuck {
    fn send(&mut self, _: &Destination<'_>, _: &[Vec<u8>]) -> Delivery {
        loop {
            std::thread::park();
        }
    }
}

/// Whatever the sink does, `flush()` returns after the flush timeout and `shutdown()`
/// within the flush timeout and the grace; the runtime can be started again.
#[test]
fn a_sink_that_never_returns_blocks_neither_flush_nor_shutdown() {
    keep_log_lines();
    let runtime = Runtime::with_sink(Stuck);
    runtime.set_flush_timeout(Duration::from_millis(500));
    let conn = Connection::builder().hostname("stuck-sink").runtime(&runtime).build();
    runtime.start_threads().unwrap();
    conn.counter("c").record(&[], &[("s", 1.0)]);
    let started = Instant::now();
    conn.flush();
    runtime.flush();
    let flushes = started.elapsed();
    assert!(flushes < Duration::from_secs(3), "two flushes took {flushes:?}");
    let started = Instant::now();
    runtime.shutdown();
    let shutdown = started.elapsed();
    assert!(
        shutdown <= runtime.flush_timeout() + collectd::SHUTDOWN_GRACE + Duration::from_millis(100),
        "{shutdown:?}"
    );
    assert!(!runtime.is_running());
    runtime.start_threads().expect("starts again after a shutdown that gave up on the sender");
    let started = Instant::now();
    runtime.shutdown();
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// The same in a network namespace whose resolver never answers (a DNS server on
/// 127.0.0.1 that swallows queries): the system's resolver, as a program meets it.
/// Runs this test binary again under `unshare`; skipped where the machine forbids it.
#[test]
fn a_resolver_that_never_answers_in_a_network_namespace() {
    keep_log_lines();
    if std::env::var_os("COLLECTD_TEST_IN_NAMESPACE").is_some() {
        in_a_namespace_whose_resolver_never_answers();
        return;
    }
    let allowed = Command::new("unshare").args(["-rnm", "true"]).status().is_ok_and(|s| s.success());
    if !allowed {
        eprintln!("skipped: this machine does not allow `unshare -rnm` (user and network namespaces)");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let resolv = work.path().join("resolv.conf");
    std::fs::write(&resolv, "nameserver 127.0.0.1\noptions timeout:30 attempts:5\n").unwrap();
    let exe = std::env::current_exe().unwrap();
    let script = format!(
        "ip link set lo up && mount --bind '{}' /etc/resolv.conf && exec '{}' --exact a_resolver_that_never_answers_in_a_network_namespace --nocapture --test-threads=1",
        resolv.display(),
        exe.display()
    );
    let output = Command::new("unshare")
        .args(["-rnm", "sh", "-c", &script])
        .env("COLLECTD_TEST_IN_NAMESPACE", "1")
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "in the namespace ({}):\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("1 passed"), "the test did not run in the namespace:\n{stdout}\n{stderr}");
    eprintln!("{stderr}");
}

fn in_a_namespace_whose_resolver_never_answers() {
    // The DNS server: receives every query, answers none.
    let _swallow = UdpSocket::bind("127.0.0.1:53").expect("port 53 in the namespace");
    let host = "collectd.example.com";
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::net::ToSocketAddrs;
        let _ = tx.send((host, 25826).to_socket_addrs().map(|a| a.count()));
    });
    if let Ok(answer) = rx.recv_timeout(Duration::from_secs(2)) {
        panic!("the namespace's resolver answered: {answer:?}");
    }
    let runtime = Runtime::new();
    runtime.set_flush_timeout(Duration::from_secs(3));
    let conn = Connection::builder()
        .hostname("namespace")
        .collectd_host(host)
        .interval(Duration::from_secs(1))
        .runtime(&runtime)
        .build();
    runtime.start_threads().unwrap();
    conn.counter("jobs").record(&[], &[("done", 1.0)]);
    let started = Instant::now();
    conn.flush();
    let flush = started.elapsed();
    conn.counter("jobs").record(&[], &[("done", 1.0)]);
    let started = Instant::now();
    runtime.shutdown();
    let shutdown = started.elapsed();
    let stats = conn.sender_stats();
    eprintln!("in the namespace: flush {flush:?}, shutdown {shutdown:?}, {stats:?}");
    assert!(flush <= runtime.flush_timeout() + Duration::from_millis(500), "flush took {flush:?}");
    assert!(
        shutdown <= runtime.flush_timeout() + collectd::SHUTDOWN_GRACE + Duration::from_millis(100),
        "{shutdown:?}"
    );
    assert_eq!(stats.value_lists_sent, 0, "{stats:?}");
}

// ---------------------------------------------------------------------------------------
// Point 4: a server that is down.

/// Ten flushes to a loopback port where nothing listens: every datagram is known
/// refused, no value list counts as sent, one warning is logged and no false
/// "works again" line.
#[test]
fn a_server_that_is_down_is_reported_once_and_counted_refused() {
    keep_log_lines();
    let port = closed_port();
    let runtime = Runtime::new();
    let conn = Connection::builder()
        .hostname("down-server")
        .collectd_host("127.0.0.1")
        .collectd_port(port)
        .interval(Duration::from_secs(1))
        .runtime(&runtime)
        .build();
    for round in 0..10 {
        conn.counter("jobs").record(&[], &[("done", f64::from(round))]);
        conn.flush();
    }
    let stats = conn.sender_stats();
    let destination = format!("127.0.0.1:{port}");
    let lines = lines_with(&destination);
    let again = lines.iter().filter(|(_, line)| line.contains("works again")).count();
    let warnings = lines.iter().filter(|(level, _)| *level == log::Level::Warn).count();
    assert_eq!((warnings, again), (1, 0), "lines about {destination}: {lines:#?}");
    assert_eq!(stats.value_lists_sent, 0, "{stats:?}");
    assert_eq!(stats.value_lists_unsent, 10, "{stats:?}");
    assert_eq!(stats.packets_refused, 10, "{stats:?}");

    // The server comes up: after two clean sends, one "works again" line.
    let server = UdpSocket::bind(("127.0.0.1", port)).expect("the port is free again");
    for _ in 0..2 {
        conn.counter("jobs").record(&[], &[("done", 1.0)]);
        conn.flush();
    }
    let again = lines_with(&destination).iter().filter(|(_, line)| line.contains("works again")).count();
    assert_eq!(again, 1);
    assert_eq!(conn.sender_stats().value_lists_sent, 2);
    drop(server);
}

// ---------------------------------------------------------------------------------------
// Point 5: overflow.

/// Sums that would be infinite are held at ±f64::MAX, logged once, never sent as inf;
/// also when each thread's sum is finite and only their total overflows.
#[test]
fn overflowing_sums_are_held_at_the_largest_finite_value() {
    keep_log_lines();
    let sink = MemorySink::new();
    let runtime = Runtime::with_sink(sink.clone());
    let conn = Connection::builder().hostname("overflow").runtime(&runtime).build();
    let counter = conn.counter("big");
    counter.record(&[], &[("twice", f64::MAX)]);
    counter.record(&[], &[("twice", f64::MAX)]);
    counter.record(&[], &[("down", -1e308), ("down", -1e308)]);
    counter.record(&[], &[("back", 1e308), ("back", 1e308), ("back", -1e308)]);
    counter.record(&[], &[("threads", f64::MAX)]);
    let other = conn.clone();
    std::thread::spawn(move || other.counter("big").record(&[], &[("threads", f64::MAX)])).join().unwrap();
    conn.flush();
    let sent = sums(&sink.take());
    assert_eq!(sent["big-twice"], f64::MAX);
    assert_eq!(sent["big-down"], -f64::MAX);
    assert_eq!(sent["big-back"], f64::MAX - 1e308);
    assert_eq!(sent["big-threads"], f64::MAX);
    assert!(sent.values().all(|v| v.is_finite()), "{sent:?}");
    let logged = lines_with("overflowed");
    assert_eq!(logged.len(), 1, "logged once for four overflows: {logged:?}");
}

// ---------------------------------------------------------------------------------------
// Point 6: exiting without shutdown().

/// The first `start_threads()` of the process says how not to lose the last interval;
/// later ones say nothing more.
#[test]
fn the_first_start_threads_says_to_call_shutdown_once() {
    keep_log_lines();
    for _ in 0..2 {
        let runtime = Runtime::with_sink(MemorySink::new());
        runtime.start_threads().unwrap();
        runtime.shutdown();
        runtime.start_threads().unwrap();
        runtime.shutdown();
    }
    let hints = lines_with("shutdown()");
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert!(hints[0].1.contains("before the program exits"), "{hints:?}");
}
