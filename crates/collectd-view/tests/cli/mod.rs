//! Test support for the `dump` and `receive` subcommands: the built binary as a child
//! process on loopback, its output collected line by line, datagrams sent to it, and RRD
//! files read back with rrdtool.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The `collectd-view` binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_collectd-view");

type Lines = Arc<Mutex<Vec<String>>>;

/// Collects `reader`'s lines into `lines` until end of file; the thread ends then.
fn collect(reader: impl std::io::Read + Send + 'static, lines: Lines) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            lines.lock().unwrap().push(line);
        }
    })
}

/// How long, after the process exited, its output may take to reach end of file.
const OUTPUT_EOF: Duration = Duration::from_secs(10);

/// A running `collectd-view` with its stdout and stderr collected.
pub struct Proc {
    child: Child,
    stdout: Lines,
    stderr: Lines,
    /// The threads collecting stdout and stderr: finished once both reached end of file.
    readers: Vec<thread::JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Starts `collectd-view ARGS…`.
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Proc {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("collectd-view starts");
        let stdout: Lines = Arc::default();
        let stderr: Lines = Arc::default();
        let readers = vec![
            collect(child.stdout.take().unwrap(), stdout.clone()),
            collect(child.stderr.take().unwrap(), stderr.clone()),
        ];
        Proc { child, stdout, stderr, readers, status: None }
    }

    /// Starts it and waits for its "listening on" line; panics with its stderr otherwise.
    pub fn spawn_listening<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Proc {
        let mut p = Proc::spawn(args);
        if p.wait_stderr("listening on", Duration::from_secs(10)).is_none() {
            let status = p.wait_exit(Duration::from_secs(1));
            panic!("collectd-view did not start listening ({status:?}); stderr:\n{}", p.stderr());
        }
        p
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// The stdout lines so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits for a stderr line containing `needle`.
    pub fn wait_stderr(&self, needle: &str, timeout: Duration) -> Option<String> {
        poll(timeout, || self.stderr.lock().unwrap().iter().find(|l| l.contains(needle)).cloned())
    }

    /// Waits until stdout has `n` lines; returns what it has then.
    pub fn wait_stdout(&self, n: usize, timeout: Duration) -> Vec<String> {
        poll(timeout, || (self.stdout.lock().unwrap().len() >= n).then_some(()));
        self.stdout_lines()
    }

    /// Sends a signal with `kill(1)` (e.g. "TERM", "INT").
    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill").arg(format!("-{name}")).arg(self.pid().to_string()).status().unwrap().success();
        assert!(ok, "kill -{name} {}", self.pid());
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        if self.status.is_some() {
            return false;
        }
        match self.child.try_wait().unwrap() {
            Some(status) => {
                self.status = Some(status);
                false
            }
            None => true,
        }
    }

    /// Waits for the process to exit, then for the reader threads to have taken its last
    /// lines (end of file on stdout and stderr).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        poll(timeout, || !self.is_running())?;
        // The last lines may still be in the pipes: wait for end of file, not a fixed time.
        let eof = poll(OUTPUT_EOF, || self.readers.iter().all(|r| r.is_finished()).then_some(()));
        assert!(
            eof.is_some(),
            "collectd-view exited ({:?}) but its output did not end within {OUTPUT_EOF:?}",
            self.status
        );
        self.status
    }

    /// SIGTERM, then waits for a clean exit; panics with stderr otherwise.
    pub fn terminate(&mut self) -> String {
        self.signal("TERM");
        let status = self.wait_exit(Duration::from_secs(60));
        let stderr = self.stderr();
        assert!(status.is_some_and(|s| s.success()), "exit {status:?}; stderr:\n{stderr}");
        stderr
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if thread::panicking() {
            eprintln!("--- collectd-view stderr ---\n{}", self.stderr());
        }
    }
}

/// Waits for a condition: testkit's, under the name these tests use.
pub use testkit::poll_until as poll;

/// A socket to send from, on the loopback of `to`'s family.
pub fn sender(to: SocketAddr) -> UdpSocket {
    let from: SocketAddr = match to {
        SocketAddr::V4(_) => (Ipv4Addr::LOCALHOST, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::LOCALHOST, 0).into(),
    };
    UdpSocket::bind(from).unwrap()
}

/// `127.0.0.1:PORT` on a free port.
pub fn free_addr() -> SocketAddr {
    (Ipv4Addr::LOCALHOST, testkit::free_udp_port()).into()
}

/// Every `.rrd` file under `dir`, relative to it, sorted.
pub fn rrd_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "rrd") {
                out.push(path.strip_prefix(root).unwrap().to_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `rrdtool info` as a map, without what differs between two files made the same way:
/// the file name and the RRAs' current rows (rrdtool starts them at random).
pub fn structure_and_state(path: &Path) -> BTreeMap<String, String> {
    let mut info = testkit::parse_rrd_info(&testkit::rrd_info(path));
    info.remove("filename");
    info.retain(|k, _| !k.ends_with(".cur_row"));
    info
}

/// `rrdtool fetch` at a resolution, parsed; panics with rrdtool's message when it fails.
pub fn fetch(path: &Path, cf: &str, start: i64, end: i64, resolution: u64) -> Vec<testkit::FetchRow> {
    testkit::try_rrd_fetch_at(path, cf, start, end, Some(resolution))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `rrdtool last`.
#[allow(unused_imports)] // not every test binary that includes this module uses it
pub use testkit::rrd_last as last_update;

/// The `key=value` counters of the receiver's final "stopped;" line.
pub fn receiver_counters(stderr: &str) -> BTreeMap<String, String> {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.contains("receive: stopped;"))
        .unwrap_or_else(|| panic!("no summary:\n{stderr}"));
    line.split_whitespace().filter_map(|w| w.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// One counter as a number.
pub fn counter(counters: &BTreeMap<String, String>, key: &str) -> u64 {
    counters.get(key).unwrap_or_else(|| panic!("no {key} in {counters:?}")).parse().unwrap()
}

/// Seconds since the epoch, now.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// VmRSS of a process in KiB, from /proc.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Bytes waiting in the receive queue of the UDP socket bound to `port` (IPv4 or IPv6);
/// `None` when no such socket is found.
pub fn udp_rx_queue(port: u16) -> Option<u64> {
    let on_port = collectd::server::udp_sockets()?.into_iter().filter(|e| e.port == port);
    on_port.map(|e| e.rx_queue).reduce(|a, b| a + b)
}

/// Waits until the socket on `port` has read everything sent to it.
pub fn wait_drained(port: u16, timeout: Duration) -> bool {
    poll(timeout, || (udp_rx_queue(port) == Some(0)).then_some(())).is_some()
}

/// A datagram of one value list whose names are any bytes (the library's writer takes
/// text): HOST, TIME, INTERVAL (whole seconds), PLUGIN, PLUGIN_INSTANCE, TYPE,
/// TYPE_INSTANCE and one GAUGE value.
pub fn raw_gauge_datagram(names: [&[u8]; 5], time: u64, interval: u64, value: f64) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, kind: u16, s: &[u8]) {
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&((4 + s.len() + 1) as u16).to_be_bytes());
        out.extend_from_slice(s);
        out.push(0);
    }
    fn number(out: &mut Vec<u8>, kind: u16, n: u64) {
        out.extend_from_slice(&kind.to_be_bytes());
        out.extend_from_slice(&12u16.to_be_bytes());
        out.extend_from_slice(&n.to_be_bytes());
    }
    let [host, plugin, plugin_instance, type_, type_instance] = names;
    let mut out = Vec::new();
    string(&mut out, 0x0000, host);
    number(&mut out, 0x0001, time);
    number(&mut out, 0x0007, interval);
    string(&mut out, 0x0002, plugin);
    string(&mut out, 0x0003, plugin_instance);
    string(&mut out, 0x0004, type_);
    string(&mut out, 0x0005, type_instance);
    out.extend_from_slice(&0x0006u16.to_be_bytes());
    out.extend_from_slice(&15u16.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.push(1); // GAUGE
    out.extend_from_slice(&value.to_le_bytes());
    out
}
