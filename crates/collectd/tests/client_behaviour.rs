//! The original module's behaviour, case by case (seed-behaviour.md), grouped like its
//! test suite: connections, counters, snapshots, packets, sockets.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::sync::Mutex;
use std::time::Duration;

use collectd::protocol::{AuthFile, Protection, ReceiveSecurity, SecurityLevel, Value, parse, part};
use collectd::{Connection, Credentials};

/// Captures what the library logs under the target `collectd`.
struct CapturingLogger;

static LOGGED: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl log::Log for CapturingLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target() == "collectd"
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            LOGGED.lock().unwrap().push(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

fn install_logger() {
    static LOGGER: CapturingLogger = CapturingLogger;
    let _ = log::set_logger(&LOGGER).map(|()| log::set_max_level(log::LevelFilter::Info));
}

fn logged_containing(needle: &str) -> usize {
    LOGGED.lock().unwrap().iter().filter(|m| m.contains(needle)).count()
}

/// A connection no other test uses (connections are process-wide singletons).
fn connection(name: &str) -> Connection {
    Connection::builder().hostname(name).collectd_host("127.0.0.1").collectd_port(9).build()
}

/// Takes a snapshot and decodes it: type instance → value, checking the fixed parts.
fn snapshot(conn: &Connection) -> BTreeMap<String, f64> {
    let mut values = BTreeMap::new();
    for datagram in conn.take_datagrams() {
        let parsed = parse(&datagram, &ReceiveSecurity::none());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        for vl in parsed.value_lists() {
            assert_eq!(vl.host, conn.hostname());
            assert_eq!(vl.plugin, "any");
            assert_eq!(vl.plugin_instance, conn.plugin_instance());
            assert_eq!(vl.type_, "gauge");
            assert_eq!(vl.values.len(), 1);
            let Some(Value::Gauge(v)) = vl.values.get(0) else { panic!("not a gauge: {vl:?}") };
            assert!(values.insert(vl.type_instance.to_string(), v).is_none(), "{} sent twice", vl.type_instance);
        }
    }
    values
}

fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

mod connections {
    use super::*;

    #[test]
    fn defaults_are_the_originals() {
        let conn = Connection::new();
        assert_eq!(conn.collectd_host(), "localhost");
        assert_eq!(conn.collectd_port(), 25826);
        assert_eq!(conn.plugin_instance(), "");
        assert_eq!(conn.interval(), Duration::from_secs(10));
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(conn.hostname(), hostname.trim());
    }

    #[test]
    fn identical_parameters_give_the_same_connection() {
        let build = |host: &str, server: &str, port: u16, inst: &str| {
            Connection::builder().hostname(host).collectd_host(server).collectd_port(port).plugin_instance(inst).build()
        };
        let a = build("conn-same", "127.0.0.1", 9, "");
        assert!(Connection::ptr_eq(&a, &build("conn-same", "127.0.0.1", 9, "")));
        assert!(!Connection::ptr_eq(&a, &build("conn-other", "127.0.0.1", 9, "")));
        assert!(!Connection::ptr_eq(&a, &build("conn-same", "::1", 9, "")));
        assert!(!Connection::ptr_eq(&a, &build("conn-same", "127.0.0.1", 10, "")));
        assert!(!Connection::ptr_eq(&a, &build("conn-same", "127.0.0.1", 9, "x")));
        assert!(Connection::ptr_eq(&Connection::new(), &Connection::new()));
    }

    #[test]
    fn a_category_is_one_counter_however_it_is_reached() {
        let conn = connection("conn-counter-cache");
        conn.counter("foo").record(&[], &[("x", 1.0)]);
        let again = conn.counter("foo");
        again.record(&[], &[("x", 2.0)]);
        conn.counter("bar").record(&[], &[("x", 5.0)]);
        assert_eq!(snapshot(&conn), map(&[("bar-x", 5.0), ("foo-x", 3.0)]));
    }

    #[test]
    fn each_connection_has_its_own_snapshot() {
        let a = connection("conn-own-a");
        let b = Connection::builder().hostname("conn-own-b").collectd_port(9).plugin_instance("api").build();
        a.counter("test").record(&[], &[("foo", 1.0)]);
        b.counter("test").record(&[], &[("foo", 2.0)]);
        assert_eq!(snapshot(&a), map(&[("test-foo", 1.0)]));
        assert_eq!(snapshot(&b), map(&[("test-foo", 2.0)]));
    }
}

mod counters {
    use super::*;

    #[test]
    fn values_are_summed() {
        let conn = connection("counters-sum");
        let test = conn.counter("test");
        test.record(&[], &[("foo", 0.5)]);
        test.record(&[], &[("foo", 1.5)]);
        assert_eq!(snapshot(&conn), map(&[("test-foo", 2.0)]));
    }

    #[test]
    fn specifics_and_the_base_each_get_the_value() {
        let conn = connection("counters-specifics");
        conn.counter("test").record(&["sub1", "sub2"], &[("foo", 2.0)]);
        assert_eq!(snapshot(&conn), map(&[("test-foo", 2.0), ("test-sub1-foo", 2.0), ("test-sub2-foo", 2.0)]));
    }

    #[test]
    fn the_base_sums_every_specific() {
        let conn = connection("counters-base");
        let test = conn.counter("test");
        test.record(&["sub1"], &[("foo", 2.0)]);
        test.record(&["sub2"], &[("foo", 3.0)]);
        assert_eq!(snapshot(&conn), map(&[("test-foo", 5.0), ("test-sub1-foo", 2.0), ("test-sub2-foo", 3.0)]));
    }

    #[test]
    fn the_documented_example() {
        let conn = connection("counters-doc");
        let example = conn.counter("example");
        example.record(&[], &[("baz", 1.0)]);
        example.record(&["foo"], &[("baz", 2.0)]);
        example.record(&["bar"], &[("baz", 3.0)]);
        assert_eq!(snapshot(&conn), map(&[("example-bar-baz", 3.0), ("example-baz", 6.0), ("example-foo-baz", 2.0)]));
    }

    #[test]
    fn several_stats_in_one_call() {
        let conn = connection("counters-several");
        collectd::record!(conn, consumer, "prime"; count = 1, time = 0.25);
        assert_eq!(
            snapshot(&conn),
            map(&[
                ("consumer-count", 1.0),
                ("consumer-prime-count", 1.0),
                ("consumer-prime-time", 0.25),
                ("consumer-time", 0.25)
            ])
        );
    }

    #[test]
    fn record_without_stats_records_nothing() {
        let conn = connection("counters-nothing");
        conn.counter("test").record(&[], &[]);
        conn.counter("test").record(&["sub1"], &[]);
        assert!(conn.take_datagrams().is_empty());
    }

    #[test]
    fn set_exact_sets_the_base() {
        let conn = connection("counters-exact-1");
        let test = conn.counter("test");
        test.set_exact(&[("foo", 3.0)]);
        test.set_exact(&[("foo", 2.0)]);
        assert_eq!(snapshot(&conn), map(&[("test-foo", 2.0)]));

        test.record(&[], &[("foo", 5.0)]);
        test.set_exact(&[("foo", 2.0)]);
        assert_eq!(snapshot(&conn), map(&[("test-foo", 2.0)]));

        test.set_exact(&[("foo", 2.0)]);
        test.record(&[], &[("foo", 5.0)]);
        assert_eq!(snapshot(&conn), map(&[("test-foo", 7.0)]));
    }

    #[test]
    fn set_exact_leaves_specifics_alone() {
        let conn = connection("counters-exact-2");
        let test = conn.counter("test");
        test.record(&["sub1"], &[("foo", 4.0)]);
        test.set_exact(&[("foo", 1.0)]);
        assert_eq!(snapshot(&conn), map(&[("test-foo", 1.0), ("test-sub1-foo", 4.0)]));
    }

    #[test]
    fn set_exact_overrides_what_other_threads_recorded() {
        let conn = connection("counters-exact-threads");
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| conn.counter("test").record(&[], &[("foo", 10.0)]));
            }
        });
        conn.counter("test").set_exact(&[("foo", 2.0)]);
        assert_eq!(snapshot(&conn), map(&[("test-foo", 2.0)]));
    }

    #[test]
    fn many_threads_at_once_lose_nothing() {
        let conn = connection("counters-threads");
        std::thread::scope(|s| {
            for t in 0..8 {
                let conn = &conn;
                s.spawn(move || {
                    let test = conn.counter("test");
                    let handle = test.stat("bar");
                    for _ in 0..10_000 {
                        test.record(&[if t % 2 == 0 { "even" } else { "odd" }], &[("foo", 1.0)]);
                        handle.add(0.5);
                    }
                });
            }
        });
        assert_eq!(
            snapshot(&conn),
            map(&[
                ("test-bar", 40_000.0),
                ("test-even-foo", 40_000.0),
                ("test-foo", 80_000.0),
                ("test-odd-foo", 40_000.0)
            ])
        );
    }

    #[test]
    fn non_finite_values_are_refused_and_logged() {
        install_logger();
        let conn = connection("counters-nan");
        let test = conn.counter("test");
        test.record(&["sub"], &[("foo", 1.0), ("bar", f64::NAN)]);
        test.record(&[], &[("foo", f64::INFINITY)]);
        test.set_exact(&[("baz", f64::NEG_INFINITY)]);
        test.stat("foo").add(f64::NAN);
        assert_eq!(snapshot(&conn), map(&[("test-foo", 1.0), ("test-sub-foo", 1.0)]));
        // Logged, at most once every 10 s: a NaN in a hot loop does not flood the log.
        assert_eq!(logged_containing("refused non-finite value"), 1);
    }

    #[test]
    fn names_are_sanitised_and_colliding_names_combined() {
        let conn = connection("counters-names");
        let foo = conn.counter("^@#@foo%$&&*");
        foo.record(&["()#@bar&*()baz$^_+"], &[("*()#@spam!@$^&*", 1.0)]);
        let test = conn.counter("test");
        test.record(&["foo-bar"], &[("baz", 2.0)]);
        test.record(&["foo/bar"], &[("baz", 3.0)]);
        assert_eq!(
            snapshot(&conn),
            map(&[("foo-bar_baz-spam", 1.0), ("foo-spam", 1.0), ("test-baz", 5.0), ("test-foo_bar-baz", 5.0)])
        );
        assert_eq!(collectd::sanitize("^@#@foo%$&&*"), "foo");
    }

    #[test]
    fn empty_names_are_refused_or_ignored_and_logged() {
        install_logger();
        let conn = connection("counters-empty-names");
        conn.counter("test").record(&["@@@"], &[("foo", 1.0)]);
        conn.counter("@@@").record(&[], &[("foo", 1.0)]);
        conn.counter("test").record(&[], &[("#$%", 1.0)]);
        assert_eq!(snapshot(&conn), map(&[("test-foo", 1.0)]));
        assert_eq!(logged_containing("specific \"@@@\""), 1, "logged once");
        assert_eq!(logged_containing("category name \"@@@\""), 1);
        assert_eq!(logged_containing("stat name \"#$%\""), 1);
        // Logged once, however often it happens.
        conn.counter("test").record(&["@@@"], &[("foo", 1.0)]);
        assert_eq!(logged_containing("specific \"@@@\""), 1);
    }
}

mod snapshots {
    use super::*;

    #[test]
    fn a_snapshot_resets_and_names_stay_known() {
        let conn = connection("snap-reset");
        conn.counter("test").record(&[], &[("foo", 2.0)]);
        assert_eq!(snapshot(&conn), map(&[("test-foo", 2.0)]));
        assert_eq!(snapshot(&conn), map(&[("test-foo", 0.0)]));
        assert_eq!(snapshot(&conn), map(&[("test-foo", 0.0)]));
    }

    #[test]
    fn set_exact_values_reset_too() {
        let conn = connection("snap-exact");
        let test = conn.counter("test");
        test.set_exact(&[("foo", 3.0)]);
        test.set_exact(&[("foo", 2.0)]);
        assert_eq!(snapshot(&conn), map(&[("test-foo", 2.0)]));
        assert_eq!(snapshot(&conn), map(&[("test-foo", 0.0)]));
    }

    #[test]
    fn accessed_but_never_recorded_sends_nothing() {
        let conn = connection("snap-untouched");
        let _ = conn.counter("test");
        let _ = conn.counter("test").stat("foo");
        assert!(conn.take_datagrams().is_empty());
        conn.counter("other").record(&[], &[("x", 1.0)]);
        assert_eq!(snapshot(&conn), map(&[("other-x", 1.0)]));
    }

    #[test]
    fn values_recorded_by_a_thread_that_ended_are_kept() {
        let conn = connection("snap-ended-thread");
        std::thread::scope(|s| {
            s.spawn(|| conn.counter("test").record(&[], &[("foo", 4.0)]));
        });
        assert_eq!(snapshot(&conn), map(&[("test-foo", 4.0)]));
        assert_eq!(snapshot(&conn), map(&[("test-foo", 0.0)]));
    }

    #[test]
    fn snapshot_times_advance_by_at_least_a_second() {
        let conn = connection("snap-times");
        let test = conn.counter("test");
        let mut times = Vec::new();
        for _ in 0..3 {
            test.record(&[], &[("foo", 1.0)]);
            let datagram = conn.take_datagrams().remove(0);
            let parsed = parse(&datagram, &ReceiveSecurity::none());
            times.push(parsed.value_lists().next().unwrap().time.as_secs_f64());
        }
        assert!(times[1] - times[0] >= 1.0 && times[2] - times[1] >= 1.0, "{times:?}");
    }
}

mod packets {
    use super::*;

    #[test]
    fn many_stats_split_over_packets_within_the_size() {
        let conn = Connection::builder().hostname("packets-split").collectd_port(9).max_packet_size(1024).build();
        let test = conn.counter("test");
        for i in 0..500 {
            test.record(&[], &[(&format!("stat{i}"), i as f64)]);
        }
        let datagrams = conn.take_datagrams();
        assert!(datagrams.len() > 1);
        assert!(datagrams.iter().all(|d| d.len() <= 1024));
        let values = {
            let mut all = BTreeMap::new();
            for d in &datagrams {
                for vl in parse(d, &ReceiveSecurity::none()).value_lists() {
                    all.insert(vl.type_instance.to_string(), vl.values.get(0).unwrap().as_f64());
                }
            }
            all
        };
        assert_eq!(values.len(), 500);
        assert!((0..500).all(|i| values[&format!("test-stat{i}")] == i as f64));
    }

    #[test]
    fn every_packet_starts_with_the_identifier_and_carries_the_interval() {
        let conn = Connection::builder()
            .hostname("packets-header")
            .collectd_port(9)
            .plugin_instance("X")
            .interval(Duration::from_secs(3))
            .build();
        let test = conn.counter("test");
        for i in 0..200 {
            test.record(&[], &[(&format!("s{i}"), 1.0)]);
        }
        for datagram in conn.take_datagrams() {
            assert_eq!(u16::from_be_bytes([datagram[0], datagram[1]]), part::HOST);
            let parsed = parse(&datagram, &ReceiveSecurity::none());
            for vl in parsed.value_lists() {
                assert_eq!(vl.plugin_instance, "X");
                assert_eq!(vl.interval.as_secs_f64(), 3.0);
            }
        }
    }

    #[test]
    fn legacy_time_sends_whole_seconds() {
        let conn = Connection::builder().hostname("packets-legacy").collectd_port(9).legacy_time(true).build();
        conn.counter("test").record(&[], &[("foo", 1.0)]);
        let datagram = conn.take_datagrams().remove(0);
        let types: Vec<u16> = {
            let mut types = Vec::new();
            let mut pos = 0;
            while pos + 4 <= datagram.len() {
                types.push(u16::from_be_bytes([datagram[pos], datagram[pos + 1]]));
                pos += u16::from_be_bytes([datagram[pos + 2], datagram[pos + 3]]) as usize;
            }
            types
        };
        assert!(types.contains(&part::TIME) && types.contains(&part::INTERVAL), "{types:?}");
        assert!(!types.contains(&part::TIME_HR) && !types.contains(&part::INTERVAL_HR));
        let parsed = parse(&datagram, &ReceiveSecurity::none());
        let vl = parsed.value_lists().next().unwrap();
        assert_eq!(vl.time.raw() % (1 << 30), 0);
        assert_eq!(vl.interval.as_secs_f64(), 10.0);
    }

    #[test]
    fn long_names_never_exceed_127_bytes_and_nothing_else_is_harmed() {
        install_logger();
        let conn = connection("packets-long");
        let long = "x".repeat(300);
        let test = conn.counter("test");
        test.record(&[&long], &[("foo", 1.0)]);
        test.record(&[], &[("bar", 2.0)]);
        let values = snapshot(&conn);
        assert_eq!(values.len(), 3);
        assert!(values.keys().all(|k| k.len() <= 127));
        assert_eq!(values["test-foo"], 1.0);
        assert_eq!(values["test-bar"], 2.0);
        assert!(logged_containing("shortened") >= 1);
    }

    #[test]
    fn signed_and_encrypted_connections() {
        let users = AuthFile::parse(b"admin: admin\n");
        for (name, encrypt) in [("packets-signed", false), ("packets-encrypted", true)] {
            let credentials = Credentials::new("admin", "admin").unwrap();
            let builder = Connection::builder().hostname(name).collectd_port(9);
            let conn = if encrypt { builder.encrypt(credentials) } else { builder.sign(credentials) }.build();
            conn.counter("test").record(&[], &[("foo", 1.0)]);
            let level = if encrypt { SecurityLevel::Encrypt } else { SecurityLevel::Sign };
            let security = ReceiveSecurity::new(level, Some(&users)).unwrap();
            let datagram = conn.take_datagrams().remove(0);
            let parsed = parse(&datagram, &security);
            assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
            let received = &parsed.records[0];
            assert_eq!(received.protection, if encrypt { Protection::Encrypted } else { Protection::Signed });
            assert_eq!(received.username.as_deref(), Some("admin"));
        }
    }
}

mod sockets {
    use super::*;

    fn receive_all(socket: &UdpSocket) -> BTreeMap<String, f64> {
        socket.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let mut values = BTreeMap::new();
        let mut buf = [0u8; 65535];
        while let Ok(n) = socket.recv(&mut buf) {
            for vl in parse(&buf[..n], &ReceiveSecurity::none()).value_lists() {
                values.insert(vl.type_instance.to_string(), vl.values.get(0).unwrap().as_f64());
            }
        }
        values
    }

    #[test]
    fn flush_sends_to_the_server_over_udp() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let conn = Connection::builder()
            .hostname("sockets-v4")
            .collectd_host("127.0.0.1")
            .collectd_port(server.local_addr().unwrap().port())
            .build();
        conn.counter("coin_stats").record(&["heads"], &[("flips", 1.0)]);
        conn.counter("coin_stats").record(&["tails"], &[("flips", 1.0)]);
        conn.flush();
        assert_eq!(
            receive_all(&server),
            map(&[("coin_stats-flips", 2.0), ("coin_stats-heads-flips", 1.0), ("coin_stats-tails-flips", 1.0)])
        );
        let stats = conn.sender_stats();
        assert_eq!(stats.packets_sent, 1);
        assert_eq!(stats.value_lists_sent, 3);
        assert_eq!(stats.send_errors, 0);
    }

    #[test]
    fn ipv6_destinations() {
        let Ok(server) = UdpSocket::bind("[::1]:0") else {
            eprintln!("skipped: no IPv6 loopback on this machine");
            return;
        };
        let conn = Connection::builder()
            .hostname("sockets-v6")
            .collectd_host("::1")
            .collectd_port(server.local_addr().unwrap().port())
            .build();
        conn.counter("test").record(&[], &[("foo", 3.0)]);
        conn.flush();
        assert_eq!(receive_all(&server), map(&[("test-foo", 3.0)]));
    }

    #[test]
    fn nothing_is_sent_when_nothing_was_recorded() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let conn = Connection::builder()
            .hostname("sockets-quiet")
            .collectd_host("127.0.0.1")
            .collectd_port(server.local_addr().unwrap().port())
            .build();
        let _ = conn.counter("test");
        conn.flush();
        assert!(receive_all(&server).is_empty());
        assert_eq!(conn.sender_stats().packets_sent, 0);
    }

    #[test]
    fn a_dead_server_is_counted_and_recording_goes_on() {
        let port = {
            let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let conn =
            Connection::builder().hostname("sockets-dead").collectd_host("127.0.0.1").collectd_port(port).build();
        // The refusal (ICMP port unreachable) is reported by a later send: flush until one
        // is counted, recording all along.
        let refused = testkit::poll_until(Duration::from_secs(5), || {
            conn.counter("test").record(&[], &[("foo", 1.0)]);
            conn.flush();
            conn.sender_stats().send_errors >= 1
        });
        assert!(refused.is_some(), "{:?}", conn.sender_stats());
        assert!(conn.sender_stats().packets_sent >= 1, "{:?}", conn.sender_stats());
    }
}
