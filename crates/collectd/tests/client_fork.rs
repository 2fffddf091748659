//! fork() after `start_threads()`, with real processes and a UDP socket as the server:
//! what was recorded before the fork arrives once (sent by the parent), the child's own
//! values arrive, the child's `shutdown()` returns without a panic, a daemon (forked
//! twice) sends by itself, and a fork while the sender is inside its sink does not
//! leave the child waiting on the parent's locks.
//!
//! All of it is one test, run step by step: a fork copies only the forking thread, and
//! other tests of this binary running at the same time would be copied half-way.

// fork, waitpid, setsid and _exit have no safe wrapper in std: this test file lifts
// the workspace's `unsafe_code` lint for those calls only.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use collectd::protocol::{ReceiveSecurity, Value, parse};
use collectd::{Connection, Delivery, Destination, Runtime, Sink, UdpSink};

/// How long a child may take before it is taken for deadlocked.
const CHILD_LIMIT: Duration = Duration::from_secs(30);

/// Runs `body` in a forked child, which exits with 0 when it returns true (1 when it
/// returns false or panics); returns the child's pid.
fn fork(body: impl FnOnce() -> bool) -> libc::pid_t {
    // SAFETY: fork has no preconditions; the child runs only `body` and then `_exit`s,
    // never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let ok = std::panic::catch_unwind(AssertUnwindSafe(body)).unwrap_or(false);
        // SAFETY: _exit ends the child at once, without running the parent's atexit
        // handlers or destructors (which belong to the parent).
        unsafe { libc::_exit(if ok { 0 } else { 1 }) }
    }
    pid
}

/// Waits for the child to exit: its exit code, or `None` when it had not exited within
/// [`CHILD_LIMIT`] (it is killed then) or died of a signal.
fn wait(pid: libc::pid_t) -> Option<i32> {
    let deadline = Instant::now() + CHILD_LIMIT;
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid place for waitpid to write to; `pid` is our child.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(done >= 0, "waitpid failed: {}", std::io::Error::last_os_error());
        if done == pid {
            return libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        }
        if Instant::now() >= deadline {
            // SAFETY: as above; the child is ours and has not been reaped.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The server: sums by type instance of everything it received.
struct Server {
    socket: UdpSocket,
    sums: BTreeMap<String, f64>,
}

impl Server {
    fn new() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        Server { socket, sums: BTreeMap::new() }
    }

    fn port(&self) -> u16 {
        self.socket.local_addr().unwrap().port()
    }

    fn take(&mut self, datagram: &[u8]) {
        for vl in parse(datagram, &ReceiveSecurity::none()).value_lists() {
            let Some(Value::Gauge(value)) = vl.values.get(0) else { panic!("not a gauge: {vl:?}") };
            *self.sums.entry(vl.type_instance.to_string()).or_default() += value;
        }
    }

    /// Reads everything the socket holds now. Loopback delivers a datagram before its
    /// send returns, so once every sender has returned (or exited), this is all.
    fn drain(&mut self) -> &BTreeMap<String, f64> {
        self.socket.set_nonblocking(true).unwrap();
        let mut buffer = [0u8; 65535];
        while let Ok(n) = self.socket.recv(&mut buffer) {
            let datagram = buffer[..n].to_vec();
            self.take(&datagram);
        }
        &self.sums
    }

    /// Reads until `name` sums to at least `value`, or `limit` passes.
    fn wait_for(&mut self, name: &str, value: f64, limit: Duration) -> &BTreeMap<String, f64> {
        self.socket.set_nonblocking(false).unwrap();
        self.socket.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let deadline = Instant::now() + limit;
        let mut buffer = [0u8; 65535];
        while self.sums.get(name).copied().unwrap_or(0.0) < value && Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buffer) {
                let datagram = buffer[..n].to_vec();
                self.take(&datagram);
            }
        }
        &self.sums
    }
}

fn connection(runtime: &Runtime, host: &str, port: u16) -> Connection {
    Connection::builder()
        .hostname(host)
        .collectd_host("127.0.0.1")
        .collectd_port(port)
        .interval(Duration::from_secs(1))
        .runtime(runtime)
        .build()
}

fn record_100(conn: &Connection, stat: &str) {
    for _ in 0..100 {
        conn.counter("c").record(&[], &[(stat, 1.0)]);
    }
}

/// A sink that, in the process that made the runtime, blocks inside `send` until the
/// gate opens; in a forked child it is a plain UDP sink.
struct Gated {
    pid: u32,
    gate: Arc<(Mutex<(bool, bool)>, Condvar)>,
    udp: UdpSink,
}

impl Sink for Gated {
    fn send(&mut self, destination: &Destination<'_>, datagrams: &[Vec<u8>]) -> Delivery {
        if std::process::id() == self.pid {
            let (state, changed) = &*self.gate;
            let mut state = state.lock().unwrap();
            state.0 = true; // entered
            changed.notify_all();
            while !state.1 {
                state = changed.wait(state).unwrap();
            }
        }
        self.udp.send(destination, datagrams)
    }
}

#[test]
fn fork_after_start_threads_sends_each_value_once_from_the_process_that_recorded_it() {
    // 1. The process-wide runtime: a child that records and shuts down.
    let mut server = Server::new();
    let global = Runtime::global();
    let conn = connection(global, "forked", server.port());
    collectd::start_threads().unwrap();
    record_100(&conn, "parent");
    let child = fork(|| {
        // What a child does first (Python's register_at_fork(after_in_child=...)): what
        // it records before its first call into the runtime is dropped with the
        // parent's sums, as the library cannot see a fork on its recording path.
        global.forget_after_fork();
        conn.counter("c").record(&[], &[("child", 7.0)]);
        collectd::shutdown();
        let stats = conn.sender_stats();
        // The child's own value list, and nothing of the parent's.
        stats.value_lists_sent == 1 && !global.is_running()
    });
    assert_eq!(wait(child), Some(0), "the child failed, panicked or hung");
    collectd::shutdown();
    let sums = server.drain();
    assert_eq!(sums.get("c-parent"), Some(&100.0), "the parent's 100, exactly once: {sums:?}");
    assert_eq!(sums.get("c-child"), Some(&7.0), "{sums:?}");

    // 2. A daemon: forked twice, it starts its own threads, which send periodically.
    let mut server = Server::new();
    let conn = connection(global, "daemon", server.port());
    collectd::start_threads().unwrap();
    record_100(&conn, "parent");
    let child = fork(|| {
        // SAFETY: setsid has no preconditions.
        unsafe { libc::setsid() };
        fork(|| {
            if collectd::start_threads().is_err() {
                return false;
            }
            conn.counter("c").record(&[], &[("daemon", 5.0)]);
            let deadline = Instant::now() + Duration::from_secs(10);
            while conn.sender_stats().value_lists_sent == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            // Says whether the periodic send happened before the shutdown.
            let periodic = conn.sender_stats().value_lists_sent > 0;
            conn.counter("c").record(&[], &[("daemon_sent_periodically", if periodic { 1.0 } else { 0.0 })]);
            collectd::shutdown();
            true
        });
        true
    });
    assert_eq!(wait(child), Some(0));
    let sums = server.wait_for("c-daemon_sent_periodically", 1.0, Duration::from_secs(20));
    assert_eq!(sums.get("c-daemon"), Some(&5.0), "{sums:?}");
    assert_eq!(sums.get("c-daemon_sent_periodically"), Some(&1.0), "{sums:?}");
    collectd::shutdown();
    let sums = server.drain();
    assert_eq!(sums.get("c-parent"), Some(&100.0), "{sums:?}");

    // 3. A fork while the parent's sender is inside its sink, holding the runtime's locks.
    let mut server = Server::new();
    let gate = Arc::new((Mutex::new((false, false)), Condvar::new()));
    let pid = std::process::id();
    let gate_for_sinks = gate.clone();
    let runtime = Runtime::with_sinks(move || Gated { pid, gate: gate_for_sinks.clone(), udp: UdpSink::new() });
    let conn = connection(&runtime, "locked", server.port());
    record_100(&conn, "parent");
    runtime.start_threads().unwrap();
    {
        let (state, changed) = &*gate;
        let state = state.lock().unwrap();
        let (state, timeout) = changed.wait_timeout_while(state, Duration::from_secs(10), |state| !state.0).unwrap();
        assert!(!timeout.timed_out() && state.0, "the periodic send did not reach the sink");
    }
    let child = fork(|| {
        // The child's first call: its own threads, while the parent's sender is still
        // inside the sink, holding the parent's sink lock.
        if runtime.start_threads().is_err() {
            return false;
        }
        conn.counter("c").record(&[], &[("child", 3.0)]);
        runtime.flush();
        runtime.shutdown();
        // The flush's value list, and the shutdown's (a zero, as every known stat is
        // sent each time).
        conn.sender_stats().value_lists_sent >= 1
    });
    assert_eq!(wait(child), Some(0), "the child failed, panicked or waited for its parent's locks");
    {
        let (state, changed) = &*gate;
        state.lock().unwrap().1 = true;
        changed.notify_all();
    }
    runtime.shutdown();
    let sums = server.drain();
    assert_eq!(sums.get("c-parent"), Some(&100.0), "{sums:?}");
    assert_eq!(sums.get("c-child"), Some(&3.0), "{sums:?}");
}
