//! `collectd-view serve` as a process: SIGTERM stops it within its deadline whatever its
//! clients do, and what `--receive` accepted is written before it exits.

mod cli;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cli::Proc;
use collectd::protocol::{CdTime, PacketWriter, Value, ValueList, WriterOptions};

/// A client that began a request and never finished it keeps no one waiting: SIGTERM
/// stops the server (5 s for requests in progress, then the connections are closed), and
/// the receiver writes the value it had accepted.
#[test]
fn sigterm_stops_serve_despite_half_open_connections() {
    if testkit::require_rrdtool().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let udp = cli::free_addr();
    let data_dir = dir.path().to_str().unwrap();
    let mut p =
        Proc::spawn(&["serve", "--data-dir", data_dir, "--listen", "127.0.0.1:0", "--receive", &udp.to_string()]);
    let line = p
        .wait_stderr("serving", Duration::from_secs(20))
        .unwrap_or_else(|| panic!("serve did not start; stderr:\n{}", p.stderr()));
    let http: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));

    // Half-open: headers begun, never ended. Another connection idles after a request.
    let mut slow = TcpStream::connect(http).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").unwrap();
    let mut idle = TcpStream::connect(http).unwrap();
    idle.write_all(b"GET /no/such/page HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();

    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let vl = ValueList::new("sig", "test", "gauge", vec![Value::Gauge(42.0)])
        .with_time(CdTime::from_secs(now))
        .with_interval(CdTime::from_secs(10));
    let mut w = PacketWriter::new(WriterOptions::default()).unwrap();
    w.write(&vl).unwrap();
    let datagram = w.finish().unwrap().expect("a value list makes a datagram");
    cli::sender(udp).send_to(&datagram, udp).unwrap();

    let signalled = Instant::now();
    p.signal("TERM");
    let status = p.wait_exit(Duration::from_secs(30));
    let took = signalled.elapsed();
    assert!(status.is_some(), "still running {took:?} after SIGTERM; stderr:\n{}", p.stderr());
    assert!(status.unwrap().success(), "{status:?}; stderr:\n{}", p.stderr());
    let file = dir.path().join("sig/test/gauge.rrd");
    assert!(file.exists(), "the received value was not written; stderr:\n{}", p.stderr());
    assert_eq!(cli::last_update(&file), Some(now as i64), "{}", p.stderr());
    drop((slow, idle));
}
