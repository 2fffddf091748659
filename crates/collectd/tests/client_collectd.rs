//! The client against a real collectd 5.12: the two examples, several connections,
//! legacy time, signing and encryption, and a server that is not there.
//!
//! Every test starts its own collectd (testkit) on a free loopback port and checks what
//! the csv and rrdtool plugins wrote. No test here calls `collectd::start_threads` or
//! the process-wide `collectd::flush` (see `client_threads.rs`): each flushes its own
//! connections, so parallel tests do not disturb each other.

// The counting global allocator is an `unsafe` trait: this file lifts the workspace's
// `unsafe_code` lint for it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use collectd::{Connection, ConnectionBuilder, Credentials};
use testkit::{Collectd, CsvRow, Security};

/// How long to wait for collectd to write what was sent.
const LANDING: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Counting allocations per thread, for the "memory does not grow" check.

thread_local! {
    /// Bytes allocated minus bytes freed by this thread.
    static NET_ALLOCATED: Cell<i64> = const { Cell::new(0) };
}

struct CountingAllocator;

fn count_allocated(bytes: i64) {
    // `try_with`: allocations may happen while the thread's locals are torn down.
    let _ = NET_ALLOCATED.try_with(|net| net.set(net.get() + bytes));
}

// SAFETY: every call is forwarded to the system allocator unchanged; the bookkeeping
// touches only a const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as `GlobalAlloc::alloc`.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            count_allocated(layout.size() as i64);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as `GlobalAlloc::alloc_zeroed`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            count_allocated(layout.size() as i64);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as `GlobalAlloc::dealloc`.
        unsafe { System.dealloc(ptr, layout) };
        count_allocated(-(layout.size() as i64));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as `GlobalAlloc::realloc`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            count_allocated(new_size as i64 - layout.size() as i64);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn net_allocated() -> i64 {
    NET_ALLOCATED.with(Cell::get)
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// A collectd listening on loopback with the csv (and optionally rrdtool) plugin, or
/// `None` when collectd is not installed and interop tests may be skipped.
fn start_collectd(security: Security, rrdtool: bool) -> Option<Collectd> {
    testkit::require_collectd()?;
    let mut builder = Collectd::builder().interval(1).listen(security).csv(true).rrdtool(rrdtool);
    if security != Security::None {
        builder = builder.auth_file("admin: admin\n");
    }
    Some(builder.start().expect("collectd starts"))
}

/// A connection to `cd` as `hostname`.
fn to(cd: &Collectd, hostname: &str) -> ConnectionBuilder {
    Connection::builder()
        .hostname(hostname)
        .collectd_host("127.0.0.1")
        .collectd_port(cd.port())
        .interval(Duration::from_secs(1))
}

fn values(rows: &[CsvRow]) -> impl Iterator<Item = f64> + '_ {
    rows.iter().map(|(_, values)| values[0])
}

/// Waits until the csv files hold exactly `expected` (sums by name, compared within
/// `tolerance` per row) and returns the rows by name; panics with both sides otherwise.
fn wait_for_sums(
    cd: &Collectd,
    host: &str,
    plugin_dir: &str,
    expected: &BTreeMap<String, f64>,
    tolerance_per_row: f64,
) -> BTreeMap<String, Vec<CsvRow>> {
    wait_for_sums_and(cd, host, plugin_dir, expected, tolerance_per_row, |_| true)
}

/// [`wait_for_sums`], also waiting until `also` holds of the rows: a test that asserts
/// more than the sums (a row count, say) waits for that too, since a row that does not
/// change a sum (a flush of zeros) may land after the sums already match.
fn wait_for_sums_and(
    cd: &Collectd,
    host: &str,
    plugin_dir: &str,
    expected: &BTreeMap<String, f64>,
    tolerance_per_row: f64,
    also: impl Fn(&BTreeMap<String, Vec<CsvRow>>) -> bool,
) -> BTreeMap<String, Vec<CsvRow>> {
    let read = || -> BTreeMap<String, Vec<CsvRow>> {
        expected.keys().map(|name| (name.clone(), cd.csv_rows(host, plugin_dir, &format!("gauge-{name}")))).collect()
    };
    let matches = |rows: &BTreeMap<String, Vec<CsvRow>>| {
        expected.iter().all(|(name, &total)| {
            let rows = &rows[name];
            (values(rows).sum::<f64>() - total).abs() <= tolerance_per_row * (rows.len() + 1) as f64
        })
    };
    if let Some(rows) = testkit::poll_until(LANDING, || Some(read()).filter(|rows| matches(rows) && also(rows))) {
        return rows;
    }
    let got: BTreeMap<String, (f64, usize)> =
        read().into_iter().map(|(name, rows)| (name, (values(&rows).sum(), rows.len()))).collect();
    panic!("csv sums in {host}/{plugin_dir}: expected {expected:?}, got (sum, rows) {got:?}");
}

/// The row value at each time, for lining up the rows of related series.
fn by_time(rows: &[CsvRow]) -> BTreeMap<String, f64> {
    rows.iter().map(|(time, values)| (format!("{time:.3}"), values[0])).collect()
}

/// Checks that `total`'s rows are the sums of the `parts`' rows at the same times.
///
/// A snapshot may fall between the two additions of one `record` call (the base count
/// first, then the specific's): the difference then shows in one row and is made up in
/// the next, so the running difference may be off by the recorded amount, but only for
/// one row at a time, and ends at zero.
fn assert_rows_add_up(total: &[CsvRow], parts: &[&[CsvRow]], unit: f64) {
    let parts: Vec<BTreeMap<String, f64>> = parts.iter().map(|rows| by_time(rows)).collect();
    let mut carried = 0.0;
    for (time, value) in by_time(total) {
        let sum: f64 = parts.iter().map(|part| part.get(&time).copied().unwrap_or(0.0)).sum();
        carried += value - sum;
        assert!(
            carried.abs() < 1e-6 || (carried - unit).abs() < 1e-6,
            "at {time}: total {value}, parts {sum} (running difference {carried})"
        );
    }
    assert!(carried.abs() < 1e-6, "totals differ by {carried} in the end");
}

/// The `*.rrd` file names in `dir`.
fn rrd_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|name| name.ends_with(".rrd"))
                .collect()
        })
        .unwrap_or_default()
}

/// The totals an example wrote with `--report`: `name total` lines.
fn read_report(path: &Path) -> BTreeMap<String, f64> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(|line| {
            let (name, total) = line.split_once(' ').unwrap_or_else(|| panic!("bad report line {line:?}"));
            (name.to_string(), total.parse().unwrap_or_else(|e| panic!("bad report line {line:?}: {e}")))
        })
        .collect()
}

/// The path of a compiled example, built on first use with the cargo that runs the tests,
/// into the target directory this test binary lives in (`<target>/<profile>/deps/`).
fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let profile_dir = exe.parent().and_then(Path::parent).ok_or("test binary outside <target>/<profile>/deps")?;
        let profile = profile_dir.file_name().and_then(|n| n.to_str()).ok_or("bad profile directory")?;
        let mut target_dir = profile_dir.parent().ok_or("no target directory")?;
        let mut command = Command::new(env!("CARGO"));
        command.current_dir(env!("CARGO_MANIFEST_DIR")).args(["build", "--examples", "-p", "collectd"]);
        // The features this test was built with (`make test` uses --all-features), so
        // that cargo finds everything up to date rather than building the crate again.
        if cfg!(feature = "metrics") {
            command.args(["--features", "metrics"]);
        }
        match profile {
            "debug" => {}
            "release" => {
                command.arg("--release");
            }
            other => {
                command.args(["--profile", other]);
            }
        }
        // With `--target TRIPLE` the layout is <target>/TRIPLE/<profile>/.
        if !target_dir.join("CACHEDIR.TAG").exists()
            && let (Some(parent), Some(triple)) = (target_dir.parent(), target_dir.file_name())
            && parent.join("CACHEDIR.TAG").exists()
        {
            command.arg("--target").arg(triple);
            target_dir = parent;
        }
        let output = command.env("CARGO_TARGET_DIR", target_dir).output().map_err(|e| format!("running cargo: {e}"))?;
        if !output.status.success() {
            return Err(format!("cargo build --examples failed:\n{}", String::from_utf8_lossy(&output.stderr)));
        }
        Ok(profile_dir.join("examples"))
    });
    match dir {
        Ok(dir) => dir.join(name),
        Err(message) => panic!("{message}"),
    }
}

fn run_example(name: &str, args: &[&str]) -> Output {
    let output = Command::new(example(name)).args(args).output().expect("the example runs");
    assert!(
        output.status.success(),
        "{name} {args:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

// ---------------------------------------------------------------------------------------
// The examples.

/// The original's first example, as documented: five files under `HOST/any/`, flips
/// adding up, and every recorded value in collectd's files once the run ends.
#[test]
fn basic_example_lands_as_documented() {
    let Some(cd) = start_collectd(Security::None, true) else {
        eprintln!("skipped: collectd is not installed");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let report = work.path().join("report");
    let port = cd.port().to_string();
    let output = run_example(
        "basic",
        &[
            "--collectd-host=127.0.0.1",
            "--collectd-port",
            &port,
            "--interval",
            "1",
            "--duration",
            "3.5",
            "--speed",
            "100",
            "--hostname",
            "basic-host",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(&format!("127.0.0.1:{port}")), "does not say where it sends: {stdout}");
    assert!(stdout.contains("0 send errors"), "{stdout}");

    let totals = read_report(&report);
    let names = [
        "some_category-another_stat",
        "some_category-some_counter",
        "coin_stats-heads-flips",
        "coin_stats-tails-flips",
        "coin_stats-flips",
    ];
    assert_eq!(totals.keys().map(String::as_str).collect::<BTreeSet<_>>(), BTreeSet::from(names), "report");
    // %lf keeps 6 decimals of the random numbers' sums.
    let rows = wait_for_sums(&cd, "basic-host", "any", &totals, 1e-6);

    let rounds = totals["some_category-some_counter"];
    // About 140 rounds (pauses of 10 to 40 ms); far fewer only on a very busy machine.
    assert!(rounds >= 10.0, "only {rounds} rounds in 3.5 s at speed 100");
    assert_eq!(totals["coin_stats-flips"], rounds);
    // 3.5 s at a 1-second interval: 3 periodic snapshots (fewer if the machine is very
    // busy) and the one sent by shutdown().
    assert!(rows["some_category-some_counter"].len() >= 3, "{:?}", rows["some_category-some_counter"]);
    assert_rows_add_up(
        &rows["coin_stats-flips"],
        &[&rows["coin_stats-heads-flips"], &rows["coin_stats-tails-flips"]],
        1.0,
    );

    let dir = cd.rrd_dir().join("basic-host").join("any");
    let expected: BTreeSet<String> = names.iter().map(|name| format!("gauge-{name}.rrd")).collect();
    cd.wait_until(LANDING, || rrd_files(&dir) == expected)
        .unwrap_or_else(|e| panic!("{e}\nfiles: {:?}", rrd_files(&dir)));
    if testkit::require_rrdtool().is_some() {
        let info = testkit::parse_rrd_info(&testkit::rrd_info(dir.join("gauge-coin_stats-flips.rrd")));
        assert_eq!(info["step"], "1", "the RRD step is the connection's interval");
        assert_eq!(info["ds[value].type"], "GAUGE");
    }
}

/// The original's second example with a plugin instance: the documented files under
/// `HOST/any-X/`, exactly those whose statistics occurred, with all values landed.
#[test]
fn primes_example_lands_as_documented() {
    let Some(cd) = start_collectd(Security::None, true) else {
        eprintln!("skipped: collectd is not installed");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let report = work.path().join("report");
    let port = cd.port().to_string();
    let output = run_example(
        "primes",
        &[
            "--collectd-host",
            "127.0.0.1",
            "--collectd-port",
            &port,
            "--interval",
            "1",
            "--duration",
            "2.5",
            "--quiet",
            "--hostname",
            "primes-host",
            "--plugin-instance",
            "X",
            "--report",
            report.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("primes-host/any-X/"), "{stdout}");

    let totals = read_report(&report);
    let documented = [
        "queue-size",
        "producer-too_small",
        "producer-too_big",
        "producer-just_right",
        "consumer-count",
        "consumer-composite-count",
        "consumer-prime-count",
        "consumer-time",
        "consumer-composite-time",
        "consumer-prime-time",
    ];
    for always in ["producer-just_right", "consumer-count", "consumer-time"] {
        assert!(totals.contains_key(always), "{always} missing from {totals:?}");
    }
    for name in totals.keys() {
        assert!(documented.contains(&name.as_str()), "undocumented statistic {name}");
    }
    // Every queued number is tested before the example stops.
    assert_eq!(totals["producer-just_right"], totals["consumer-count"]);

    // Times are sums of many small durations, printed with 6 decimals per row.
    let rows = wait_for_sums(&cd, "primes-host", "any-X", &totals, 1e-6);
    let by_kind = |kind: &str, stat: &str| rows.get(&format!("consumer-{kind}-{stat}")).cloned().unwrap_or_default();
    assert_rows_add_up(&rows["consumer-count"], &[&by_kind("prime", "count"), &by_kind("composite", "count")], 1.0);

    // queue-size is not in the report's sums: wait for its own rows.
    let queue = testkit::poll_until(LANDING, || {
        Some(cd.csv_rows("primes-host", "any-X", "gauge-queue-size")).filter(|rows| !rows.is_empty())
    })
    .expect("no queue-size rows");
    // The example's queue holds 100; its count includes a number on either side of it.
    assert!(values(&queue).all(|size| (0.0..=102.0).contains(&size) && size.fract() == 0.0), "queue sizes {queue:?}");

    let dir = cd.rrd_dir().join("primes-host").join("any-X");
    let expected: BTreeSet<String> =
        totals.keys().map(String::as_str).chain(["queue-size"]).map(|name| format!("gauge-{name}.rrd")).collect();
    cd.wait_until(LANDING, || rrd_files(&dir) == expected)
        .unwrap_or_else(|e| panic!("{e}\nexpected {expected:?}\nfiles: {:?}", rrd_files(&dir)));
    assert!(!cd.rrd_dir().join("primes-host").join("any").exists(), "files outside any-X");
}

// ---------------------------------------------------------------------------------------
// Connections in this process.

/// Connections that differ only in host name land in their own host directories, each
/// with exactly what was recorded on it, over several flushes.
#[test]
fn hostnames_land_in_their_own_directories() {
    let Some(cd) = start_collectd(Security::None, false) else {
        eprintln!("skipped: collectd is not installed");
        return;
    };
    let hosts = ["alpha", "beta", "gamma"];
    let conns: Vec<Connection> = hosts.iter().map(|host| to(&cd, host).build()).collect();
    let mut expected: Vec<BTreeMap<String, f64>> = vec![BTreeMap::new(); hosts.len()];
    for round in 0..3 {
        for (i, conn) in conns.iter().enumerate() {
            // Values with short binary fractions: exact in %lf, so sums compare exactly.
            let done = (i + 1) as f64 * 0.25 + round as f64;
            conn.counter("jobs").record(&["ok"], &[("done", done), ("seconds", 1.5)]);
            conn.counter("jobs").record(&[], &[("done", 2.0)]);
            let totals = &mut expected[i];
            *totals.entry("jobs-done".into()).or_default() += done + 2.0;
            *totals.entry("jobs-ok-done".into()).or_default() += done;
            *totals.entry("jobs-seconds".into()).or_default() += 1.5;
            *totals.entry("jobs-ok-seconds".into()).or_default() += 1.5;
        }
        for conn in &conns {
            conn.flush();
        }
    }
    // A flush with nothing new recorded sends zeros for the known names.
    conns[0].flush();

    for (host, totals) in hosts.iter().zip(&expected) {
        // alpha's fourth row is the flush of zeros: it leaves the sums as they were, so
        // wait for the row count too before asserting it.
        let rows_expected = if *host == "alpha" { 4 } else { 3 };
        let rows = wait_for_sums_and(&cd, host, "any", totals, 0.0, |rows| rows["jobs-done"].len() >= rows_expected);
        assert_eq!(rows["jobs-done"].len(), rows_expected, "{host}: {:?}", rows["jobs-done"]);
    }
    let host_dirs: BTreeSet<String> =
        std::fs::read_dir(cd.csv_dir()).unwrap().filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    assert_eq!(host_dirs, hosts.iter().map(|h| h.to_string()).collect());
    for conn in &conns {
        let stats = conn.sender_stats();
        assert_eq!(stats.send_errors, 0);
        assert_eq!(stats.value_lists_sent, if conn.hostname() == "alpha" { 16 } else { 12 }, "{stats:?}");
    }
}

/// Whole-second times (`legacy_time`, as the original sent them) are accepted, and two
/// flushes within one second still give two rows.
#[test]
fn legacy_time_lands() {
    let Some(cd) = start_collectd(Security::None, false) else {
        eprintln!("skipped: collectd is not installed");
        return;
    };
    let conn = to(&cd, "legacy").legacy_time(true).build();
    conn.counter("coin_stats").record(&["heads"], &[("flips", 3.0)]);
    conn.flush();
    conn.counter("coin_stats").record(&["tails"], &[("flips", 4.0)]);
    conn.flush();
    let expected = BTreeMap::from([
        ("coin_stats-flips".to_string(), 7.0),
        ("coin_stats-heads-flips".to_string(), 3.0),
        ("coin_stats-tails-flips".to_string(), 4.0),
    ]);
    let rows = wait_for_sums(&cd, "legacy", "any", &expected, 0.0);
    let times: Vec<f64> = rows["coin_stats-flips"].iter().map(|(time, _)| *time).collect();
    assert_eq!(times.len(), 2, "{times:?}");
    assert!(times.iter().all(|t| t.fract() == 0.0), "times are not whole seconds: {times:?}");
    assert!(times[1] > times[0], "{times:?}");
}

/// Signed datagrams land on a `Sign` listener and encrypted ones on an `Encrypt`
/// listener; datagrams with a wrong password, or only signed for an `Encrypt`
/// listener, are refused (they are sent first, on the same socket, so once the good
/// ones have landed the bad ones have been handled too).
#[test]
fn signed_and_encrypted_connections_land() {
    let Some(signing) = start_collectd(Security::Sign, false) else {
        eprintln!("skipped: collectd is not installed");
        return;
    };
    let encrypting = start_collectd(Security::Encrypt, false).expect("collectd is installed");
    let good = Credentials::new("admin", "admin").unwrap();
    let bad = Credentials::new("admin", "wrong").unwrap();

    let attempts = [
        (&signing, to(&signing, "forged").sign(bad.clone()).build(), false),
        (&signing, to(&signing, "plain").build(), false),
        (&signing, to(&signing, "signed").sign(good.clone()).build(), true),
        (&encrypting, to(&encrypting, "wrong-key").encrypt(bad).build(), false),
        (&encrypting, to(&encrypting, "signed-only").sign(good.clone()).build(), false),
        (&encrypting, to(&encrypting, "encrypted").encrypt(good).build(), true),
    ];
    for (i, (_, conn, _)) in attempts.iter().enumerate() {
        conn.counter("secret").record(&["x"], &[("value", 1.0 + i as f64)]);
        conn.flush();
    }
    for (i, (cd, conn, lands)) in attempts.iter().enumerate() {
        let host = conn.hostname();
        if *lands {
            let value = 1.0 + i as f64;
            let expected = BTreeMap::from([("secret-value".to_string(), value), ("secret-x-value".to_string(), value)]);
            wait_for_sums(cd, host, "any", &expected, 0.0);
        }
    }
    for (cd, conn, lands) in &attempts {
        let host = conn.hostname();
        assert_eq!(cd.csv_dir().join(host).exists(), *lands, "{host}");
        assert_eq!(conn.sender_stats().send_errors, 0, "{host}");
    }
}

/// Waits until a datagram sent now to the closed `port` on loopback has been refused:
/// the library's socket cannot be watched, but loopback answers in order, so once a
/// probe sent after the library's last datagram is refused, that datagram's refusal has
/// arrived too.
fn wait_for_refusal_after(port: u16) {
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
    probe.connect(("127.0.0.1", port)).unwrap();
    let refused = testkit::poll_until(Duration::from_secs(2), || {
        if let Ok(Some(_)) = probe.take_error() {
            return true;
        }
        // A send that fails reports the refusal of an earlier probe.
        probe.send(b"probe").is_err()
    });
    assert!(refused.is_some(), "no refusal from closed port {port}");
}

/// A server that is not there: flushing returns, recording keeps working, the refusals
/// (ICMP port unreachable, reported on the next send of the connected socket) are
/// counted, memory stays flat, and once a server listens there again, what is recorded
/// reaches it.
#[test]
fn dead_server_costs_nothing_and_recovery_loses_nothing() {
    let port = testkit::free_udp_port();
    let conn = Connection::builder()
        .hostname("nobody-listens")
        .collectd_host("127.0.0.1")
        .collectd_port(port)
        .interval(Duration::from_secs(1))
        .build();
    let counter = conn.counter("dead");
    let flush = || {
        counter.record(&["x"], &[("value", 1.0)]);
        conn.flush();
    };
    // Every refusal is counted, not only the first. (The kernel reports at most one
    // pending refusal per send, and rate-limits ICMP errors: hence flushing until two
    // are counted.)
    let _ = testkit::poll_until(Duration::from_secs(5), || {
        flush();
        conn.sender_stats().send_errors >= 2
    });
    let stats = conn.sender_stats();
    assert!(stats.send_errors >= 2, "send errors to a closed port not counted: {stats:?}");

    // Memory: after a warm-up, many more record + flush rounds allocate nothing for good.
    let record_and_flush = || {
        counter.record(&["x"], &[("value", 1.0)]);
        conn.flush();
    };
    for _ in 0..50 {
        record_and_flush();
    }
    let before = net_allocated();
    for _ in 0..2000 {
        record_and_flush();
    }
    let grown = net_allocated() - before;
    let stats = conn.sender_stats();
    assert!(grown < 16 * 1024, "{grown} bytes kept after 2000 flushes to a dead server ({stats:?})");

    // Recovery. Leave the socket with an unreported refusal pending: the last flush's
    // datagram went out, and its ICMP error has arrived. The next send reports it, and
    // must not lose its own datagram for it.
    let Some(_) = testkit::require_collectd() else {
        eprintln!("skipped the recovery part: collectd is not installed");
        return;
    };
    for _ in 0..10 {
        let sent = conn.sender_stats().packets_sent;
        flush();
        if conn.sender_stats().packets_sent > sent {
            break;
        }
    }
    wait_for_refusal_after(port);
    let cd = match Collectd::builder().interval(1).listen_port(port).csv(true).start() {
        Ok(cd) => cd,
        Err(error) => {
            eprintln!("skipped the recovery part: cannot start collectd on port {port} again: {error}");
            return;
        }
    };
    let back = conn.counter("back");
    back.record(&[], &[("value", 2.5)]);
    conn.flush();
    back.record(&[], &[("value", 4.0)]);
    conn.flush();
    let expected = BTreeMap::from([("back-value".to_string(), 6.5)]);
    wait_for_sums(&cd, "nobody-listens", "any", &expected, 0.0);
}
