//! Starts the real collectd 5.12 on loopback and checks that testkit's
//! builder, readiness wait, log/CSV/RRD helpers and shutdown work with it.

use std::net::UdpSocket;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use testkit::{Collectd, ErrorKind, Security};

const WAIT: Duration = Duration::from_secs(10);

/// Gate: the collectd binary, or skip.
macro_rules! require_collectd {
    () => {
        if testkit::require_collectd().is_none() {
            eprintln!("skipped: collectd not installed");
            return;
        }
    };
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn string_part(kind: u16, s: &str) -> Vec<u8> {
    let len = u16::try_from(4 + s.len() + 1).unwrap();
    let mut p = [kind.to_be_bytes(), len.to_be_bytes()].concat();
    p.extend_from_slice(s.as_bytes());
    p.push(0);
    p
}

fn number_part(kind: u16, v: u64) -> Vec<u8> {
    [&kind.to_be_bytes()[..], &12u16.to_be_bytes(), &v.to_be_bytes()].concat()
}

/// A plain packet with one gauge value for `host/plugin/gauge-instance`.
fn gauge_packet(host: &str, plugin: &str, instance: &str, time: u64, value: f64) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(string_part(0x0000, host));
    p.extend(number_part(0x0008, time << 30));
    p.extend(number_part(0x0009, 1 << 30));
    p.extend(string_part(0x0002, plugin));
    p.extend(string_part(0x0004, "gauge"));
    p.extend(string_part(0x0005, instance));
    p.extend([0x00, 0x06, 0x00, 15, 0x00, 0x01, 0x01]);
    p.extend(value.to_le_bytes());
    p
}

/// A plain notification packet (severity 2 = WARNING).
fn notification_packet(host: &str, plugin: &str, message: &str) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend(number_part(0x0008, now() << 30));
    p.extend(number_part(0x0101, 2));
    p.extend(string_part(0x0000, host));
    p.extend(string_part(0x0002, plugin));
    p.extend(string_part(0x0100, message));
    p
}

#[test]
fn listen_none_with_csv_and_rrdtool_receives_values() {
    require_collectd!();
    let cd = Collectd::builder()
        .interval(1)
        .listen(Security::None)
        .csv(true)
        .rrdtool(true)
        .start()
        .expect("collectd starts");
    assert!(cd.port() > 0);
    assert!(cd.listen_addr().ip().is_loopback());
    assert!(cd.log().contains("[info] Initialization complete, entering read-loop."));
    assert!(cd.log().contains("plugin \"network\" successfully loaded"));

    // Sent right after start(): must not race with the listener.
    let t0 = now() - 5;
    for i in 0..3 {
        cd.send(&gauge_packet("peer", "tk", "x", t0 + i, 1.5 + i as f64)).unwrap();
    }
    let rows = cd
        .wait_until(WAIT, || {
            let rows = cd.csv_rows("peer", "tk", "gauge-x");
            (rows.len() >= 3).then_some(rows)
        })
        .expect("csv rows appear");
    assert_eq!(rows[0], ((t0) as f64, vec![1.5]));
    assert_eq!(rows[2], ((t0 + 2) as f64, vec![3.5]));

    let rrd = cd.wait_for_file("rrd/peer/tk/gauge-x.rrd", WAIT).expect("rrd file appears");
    assert_eq!(rrd, cd.rrd_path("peer", "tk", "gauge-x"));
    if testkit::require_rrdtool().is_none() {
        eprintln!("skipped: rrdtool not installed");
        return;
    }
    // The rrdtool plugin writes asynchronously; wait for the last update.
    let info = cd
        .wait_until(WAIT, || {
            let info = testkit::parse_rrd_info(&testkit::rrd_info(&rrd));
            (info.get("last_update").map(String::as_str) == Some(&*(t0 + 2).to_string())).then_some(info)
        })
        .expect("rrd updated");
    assert_eq!(info["step"], "1");
    assert_eq!(info["ds[value].type"], "GAUGE");
    let fetched = testkit::rrd_fetch(&rrd, "AVERAGE", t0 as i64, (t0 + 2) as i64);
    let value_at = |t: u64| fetched.iter().find(|(time, _)| *time == t as i64).map(|(_, v)| v[0]);
    assert_eq!(value_at(t0 + 1), Some(Some(2.5)), "{fetched:?}");
    assert_eq!(value_at(t0 + 2), Some(Some(3.5)), "{fetched:?}");
}

#[test]
fn own_readings_reach_a_test_socket() {
    require_collectd!();
    // First part type per security level: HOST, SIGNATURE, ENCRYPTION.
    for (security, first_part) in
        [(Security::None, [0x00, 0x00]), (Security::Sign, [0x02, 0x00]), (Security::Encrypt, [0x02, 0x10])]
    {
        let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
        sink.set_read_timeout(Some(WAIT)).unwrap();
        let port = sink.local_addr().unwrap().port();
        let credentials = (security != Security::None).then_some(("admin", "admin"));
        let _cd = Collectd::builder()
            .interval(1)
            .plugin("load")
            .server("127.0.0.1", port, security, credentials)
            .start()
            .expect("collectd starts");
        let mut buf = [0u8; 65535];
        let (n, from) = sink.recv_from(&mut buf).expect("a datagram within 10 s");
        assert!(from.ip().is_loopback());
        assert!(n > 36, "{n} bytes");
        assert_eq!(buf[..2], first_part, "{security:?}");
    }
}

#[test]
fn port_held_by_someone_else_is_detected() {
    require_collectd!();
    let squatter = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = squatter.local_addr().unwrap().port();
    let err = Collectd::builder().listen_port(port).start().expect_err("bind fails");
    assert_eq!(err.kind(), ErrorKind::StartupErrors, "{err}");
    assert!(err.log().contains("Address already in use"), "{err}");
    let err = Collectd::builder().listen_port(port).allow_startup_errors(true).start().expect_err("bind fails");
    assert_eq!(err.kind(), ErrorKind::NotListening, "{err}");
}

#[test]
fn log_waits_time_out_with_context() {
    require_collectd!();
    let cd = Collectd::builder().listen(Security::None).start().unwrap();
    let mark = cd.log_mark();
    assert!(mark > 0);
    cd.wait_for_log("Initialization complete", Duration::ZERO).unwrap();
    let err = cd.wait_for_log_since(mark, "Initialization complete", Duration::from_millis(100)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.log().contains("Initialization complete"));
    assert!(err.config().contains("<Listen"));
}

#[test]
fn csv_rows_of_a_local_read_plugin() {
    require_collectd!();
    let cd = Collectd::builder().interval(1).plugin("load").csv(true).start().expect("collectd starts");
    let rows = cd
        .wait_until(WAIT, || {
            let rows = cd.csv_rows("testkit", "load", "load");
            (rows.len() >= 2).then_some(rows)
        })
        .expect("two load rows");
    assert!(rows.iter().all(|(_, v)| v.len() == 3));
    assert!(rows[1].0 > rows[0].0);
}

#[test]
fn sign_and_encrypt_listeners_start_with_an_auth_file() {
    require_collectd!();
    for (security, ignored) in [
        (Security::Sign, "Unsigned packet or part has been ignored."),
        (Security::Encrypt, "Unencrypted packet or part has been ignored."),
    ] {
        let cd = Collectd::builder()
            .listen(security)
            .auth_file("admin: admin\n")
            .start()
            .unwrap_or_else(|e| panic!("{security:?} listener starts: {e}"));
        assert!(cd.config().contains("AuthFile"));
        // A plain packet is received and ignored at this level.
        cd.send(&gauge_packet("peer", "tk", "x", now(), 1.0)).unwrap();
        cd.wait_for_log(ignored, WAIT).unwrap();
    }
}

#[test]
fn sign_listener_without_auth_file_is_refused() {
    require_collectd!();
    let err = Collectd::builder().listen(Security::Sign).start().expect_err("collectd refuses the socket");
    assert_eq!(err.kind(), ErrorKind::StartupErrors, "{err}");
    assert!(err.log().contains(
        "A security level higher than `none' was requested, but no AuthFile option was given. \
         Cowardly refusing to open this socket!"
    ));
    assert!(err.to_string().contains("<Listen"), "error shows the config");

    // collectd keeps running without the socket; accepting startup errors
    // still fails, because nothing listens.
    let err =
        Collectd::builder().listen(Security::Encrypt).allow_startup_errors(true).start().expect_err("nothing listens");
    assert_eq!(err.kind(), ErrorKind::NotListening, "{err}");
}

#[test]
fn notifications_are_logged() {
    require_collectd!();
    let cd = Collectd::builder().listen(Security::None).start().unwrap();
    cd.send(&notification_packet("nhost", "nplug", "hello from testkit")).unwrap();
    let line = cd.wait_for_log("Notification: severity = WARNING", WAIT).unwrap();
    assert!(
        line.ends_with(
            "[info] Notification: severity = WARNING, host = nhost, plugin = nplug, \
             message = hello from testkit"
        ),
        "{line}"
    );
}

#[test]
fn ipv6_loopback_listener() {
    require_collectd!();
    if UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback");
        return;
    }
    let cd = Collectd::builder().listen_ip("::1").csv(true).start().unwrap();
    assert!(cd.listen_addr().is_ipv6());
    cd.send(&gauge_packet("peer6", "tk", "", now(), 7.0)).unwrap();
    let rows = cd
        .wait_until(WAIT, || {
            let rows = cd.csv_rows("peer6", "tk", "gauge");
            (!rows.is_empty()).then_some(rows)
        })
        .unwrap();
    assert_eq!(rows[0].1, vec![7.0]);
}

#[test]
fn stop_is_clean_and_idempotent() {
    require_collectd!();
    let mut cd = Collectd::builder().listen(Security::None).start().unwrap();
    assert!(cd.is_running());
    let pid = cd.pid().unwrap();
    let status = cd.stop().unwrap();
    assert!(status.success(), "{status}");
    assert!(!cd.is_running());
    assert_eq!(cd.pid(), None);
    assert_eq!(cd.stop().unwrap(), status);
    assert!(cd.log().contains("Exiting normally."));
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn unknown_plugin_makes_collectd_exit() {
    require_collectd!();
    // Unlike a refused <Listen>, a failed LoadPlugin fails the whole config:
    // collectd prints "Error: Parsing the config file failed!" and exits 1.
    let err = Collectd::builder().plugin("no_such_plugin").start().expect_err("LoadPlugin of a missing plugin fails");
    assert_eq!(err.kind(), ErrorKind::Exited, "{err}");
    assert!(err.log().contains("Could not find plugin \"no_such_plugin\""));
    assert!(err.stderr().contains("Parsing the config file failed"));
}
