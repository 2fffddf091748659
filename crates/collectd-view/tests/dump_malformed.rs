//! `collectd-view dump` fed a corpus of malformed datagrams between good ones: every good
//! record prints, every bad datagram is reported on stderr with the parser's reason and
//! offset (what it decoded before the fault still prints, as collectd keeps it), and the
//! process survives. Also IPv6 and multicast listening.

mod cli;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use cli::Proc;
use collectd::protocol::{CdTime, PacketWriter, ReceiveSecurity, Value, ValueList, WriterOptions, parse};
use serde_json::Value as Json;

fn good(n: usize) -> Vec<u8> {
    let mut w = PacketWriter::new(WriterOptions::default()).unwrap();
    for (i, v) in [Value::Gauge(n as f64), Value::Derive(-(n as i64))].into_iter().enumerate() {
        let type_ = if i == 0 { "gauge" } else { "derive" };
        w.write(
            &ValueList::new("corpus", "dump", type_, vec![v])
                .with_type_instance(format!("good-{n}"))
                .with_time(CdTime::from_secs(1_700_000_000 + n as u64))
                .with_interval(CdTime::from_secs(10)),
        )
        .unwrap();
    }
    w.finish().unwrap().unwrap()
}

/// A deterministic pseudo-random generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn set_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Malformed datagrams of every kind the parser reports.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let base = good(0);
    let mut out = Vec::new();
    // Truncations at every length (a cut inside a part leaves its length too large).
    for len in 1..base.len() {
        out.push((format!("truncated to {len}"), base[..len].to_vec()));
    }
    // Bad part lengths on the first part (HOST) and the VALUES part.
    let values_at = base.len() - 15;
    for (at, what) in [(0, "host"), (values_at, "values")] {
        for length in [0u16, 1, 2, 3, 4, (base.len() - at + 1) as u16, 0xffff] {
            let mut d = base.clone();
            set_u16(&mut d, at + 2, length);
            out.push((format!("{what} part length {length}"), d));
        }
    }
    // A string without its NUL.
    let mut d = base.clone();
    d[4 + "corpus".len()] = b'x';
    out.push(("host without NUL".into(), d));
    // A string of 128 characters (collectd accepts 127).
    let mut long = vec![0x00, 0x00, 0x00, 0x00];
    long.extend(std::iter::repeat_n(b'h', 128));
    long.push(0);
    let len = long.len() as u16;
    set_u16(&mut long, 2, len);
    long.extend_from_slice(&base[base.len() - 15..]);
    out.push(("host of 128 characters".into(), long));
    // VALUES whose count does not match its length, and an unknown data-source type.
    let mut d = base.clone();
    set_u16(&mut d, values_at + 4, 2);
    out.push(("values count 2 in a part for 1".into(), d));
    let mut d = base.clone();
    d[values_at + 6] = 9;
    out.push(("data-source type 9".into(), d));
    // A signature part too short, an encrypted part from nobody.
    out.push(("short signature part".into(), vec![0x02, 0x00, 0x00, 0x08, 1, 2, 3, 4]));
    let mut enc = vec![0x02, 0x10, 0x00, 0x40, 0x00, 0x03, b'b', b'o', b'b'];
    enc.resize(0x40, 0xaa);
    out.push(("encrypted for an unknown user".into(), enc));
    // Trailing bytes after good parts.
    let mut d = base.clone();
    d.extend_from_slice(&[0, 0, 0]);
    out.push(("3 trailing bytes".into(), d));
    // Random bytes.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for i in 0..300 {
        let len = (rng.next() % 1500) as usize;
        let mut d: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 3 == 0 && d.len() > 4 {
            // Make the first part header plausible so the parser goes deeper.
            d[0] = 0;
            d[1] = (rng.next() % 10) as u8;
            set_u16(&mut d, 2, (4 + rng.next() % 40) as u16);
        }
        out.push((format!("random #{i}"), d));
    }
    out
}

#[test]
fn good_records_print_and_bad_datagrams_are_reported() {
    let addr = cli::free_addr();
    let mut dump = Proc::spawn_listening(&["dump", "--listen", &addr.to_string()]);
    let socket = cli::sender(addr);
    let none = ReceiveSecurity::none();
    let mut expected_records = 0;
    let mut expected_errors = Vec::new();
    let corpus = corpus();
    for (n, (what, bad)) in corpus.iter().enumerate() {
        let good = good(n + 1);
        for d in [&good, bad] {
            let parsed = parse(d, &none);
            expected_records += parsed.records.len();
            expected_errors.extend(parsed.errors.iter().map(|e| (what.clone(), e.to_string())));
            socket.send_to(d, addr).unwrap();
        }
        if n % 20 == 0 {
            // Pacing, not synchronisation: the burst stays within the socket's buffer.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let lines = dump.wait_stdout(expected_records, Duration::from_secs(20));
    assert_eq!(lines.len(), expected_records, "stderr:\n{}", dump.stderr());
    cli::poll(Duration::from_secs(10), || {
        (dump.stderr().matches("malformed datagram").count() >= expected_errors.len()).then_some(())
    });
    assert!(dump.is_running(), "dump died");

    // Every good datagram printed both its records, in order.
    let records: Vec<Json> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let goods: Vec<String> = records
        .iter()
        .filter(|r| r["host"] == "corpus" && r["plugin"] == "dump")
        .map(|r| format!("{}/{}", r["type"].as_str().unwrap(), r["type_instance"].as_str().unwrap()))
        .collect();
    for n in 1..=corpus.len() {
        let gauge = format!("gauge/good-{n}");
        assert!(goods.contains(&gauge), "{gauge} missing");
    }
    // Every parse error is on stderr, with its offset and reason.
    let stderr = dump.stderr();
    assert_eq!(stderr.matches("malformed datagram").count(), expected_errors.len(), "{stderr}");
    for (what, error) in &expected_errors {
        assert!(stderr.contains(error.as_str()), "{what}: {error:?} not reported in\n{stderr}");
    }
    assert!(stderr.contains("at byte 0: part length 0 is shorter than its 4-byte header"), "{stderr}");
    assert!(stderr.contains("does not end with a NUL byte"), "{stderr}");
    assert!(stderr.contains("unknown data-source type 9"), "{stderr}");
    assert!(stderr.contains("unknown user \"bob\""), "{stderr}");

    // Still alive and still printing.
    socket.send_to(&good(999_999), addr).unwrap();
    let after = dump.wait_stdout(expected_records + 2, Duration::from_secs(10));
    assert!(after.last().unwrap().contains("good-999999"), "{after:?}");
    assert!(dump.is_running());
}

#[test]
fn ipv6_loopback() {
    let addr: SocketAddr = format!("[::1]:{}", testkit::free_udp_port()).parse().unwrap();
    let dump = Proc::spawn_listening(&["dump", "--listen", &addr.to_string(), "--count", "2"]);
    let socket = cli::sender(addr);
    socket.send_to(&good(6), addr).unwrap();
    let lines = dump.wait_stdout(2, Duration::from_secs(10));
    let record: Json = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(record["type_instance"], "good-6");
    assert!(record["from"].as_str().unwrap().starts_with("[::1]:"), "{record}");
}

/// IPv4 multicast on the loopback interface only: the group is joined on `lo`, and the
/// test's datagrams leave with TTL 0 through 127.0.0.1, so they never reach a network.
#[test]
fn ipv4_multicast_group_on_loopback() {
    let group = Ipv4Addr::new(239, 192, 74, 66);
    let port = testkit::free_udp_port();
    let listen = format!("{group}:{port}");
    let dump = Proc::spawn_listening(&["dump", "--listen", &listen, "--interface", "lo", "--count", "2"]);
    assert!(dump.stderr().contains("joined multicast group 239.192.74.66"), "{}", dump.stderr());
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
    socket.set_multicast_if_v4(&Ipv4Addr::LOCALHOST).unwrap();
    socket.set_multicast_ttl_v4(0).unwrap();
    socket.set_multicast_loop_v4(true).unwrap();
    socket.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into()).unwrap();
    let to: SocketAddr = (group, port).into();
    let lines = cli::poll(Duration::from_secs(10), || {
        socket.send_to(&good(7), &to.into()).unwrap();
        let lines = dump.stdout_lines();
        (!lines.is_empty()).then_some(lines)
    })
    .expect("a multicast datagram arrives");
    assert!(lines[0].contains("good-7"), "{lines:?}");
}

/// Joining an IPv6 multicast group (collectd's default ff18::efc0:4a42) on the loopback
/// interface works; sending to it needs multicast routes that loopback lacks here.
#[test]
fn ipv6_multicast_group_is_joined() {
    let port = testkit::free_udp_port();
    let listen = format!("[ff18::efc0:4a42]:{port}");
    let mut dump = Proc::spawn_listening(&["dump", "--listen", &listen, "--interface", "lo"]);
    assert!(dump.stderr().contains("joined multicast group ff18::efc0:4a42"), "{}", dump.stderr());
    assert!(dump.is_running());
}

#[test]
fn bad_options_say_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    for (args, says) in [
        (vec!["dump", "--listen", "127.0.0.1:99999"], "--listen \"127.0.0.1:99999\": port \"99999\" is not a number"),
        (vec!["dump", "--listen", "[zz]"], "--listen \"[zz]\": \"zz\" is not an IPv6 address"),
        (
            vec!["dump", "--listen", "127.0.0.1:1", "--security-level", "sign"],
            "--security-level sign: needs --auth-file",
        ),
        (
            vec!["dump", "--listen", "127.0.0.1:1", "--security-level", "paranoid"],
            "\"paranoid\" is not one of none, sign, encrypt",
        ),
        (
            vec!["dump", "--listen", "127.0.0.1:1", "--auth-file", missing.to_str().unwrap()],
            &format!("--auth-file {}: No such file", missing.display()),
        ),
        (
            vec!["dump", "--listen", "239.1.2.3:1", "--interface", "nosuch0"],
            "--interface \"nosuch0\": no such network interface",
        ),
        (vec!["dump", "--listen", "192.0.2.99:1"], "--listen 192.0.2.99:1: cannot bind"),
        (vec!["dump", "--listen", "127.0.0.1:1", "--count", "0"], "--count must be at least 1"),
    ] {
        let mut p = Proc::spawn(&args);
        let status = p.wait_exit(Duration::from_secs(10)).expect("exits");
        assert!(!status.success(), "{args:?}");
        assert!(p.stderr().contains(says), "{args:?}: {:?} not in\n{}", says, p.stderr());
    }
}
