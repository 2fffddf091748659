//! Several servers on one connection: every datagram to each, each server with its own
//! lookup, errors and statistics; one that stops costs the others nothing, and gets what
//! is recorded once it is back. Against two real collectd 5.12 (testkit).

use std::time::Duration;

use collectd::protocol::Severity;
use collectd::{Connection, MemorySink, Runtime};
use testkit::{Collectd, Security};

const WAIT: Duration = Duration::from_secs(15);

#[test]
fn every_datagram_goes_to_each_server_with_its_own_counts() {
    let sink = MemorySink::new();
    let runtime = Runtime::with_sink(sink.clone());
    let conn = Connection::builder()
        .hostname("servers-memory")
        .collectd_host("a")
        .add_server("b", 1)
        .add_server("a", 25826) // the first server again: sent once
        .runtime(&runtime)
        .build();
    let counter = conn.counter("c");
    for i in 0..3000 {
        counter.record(&[], &[(&format!("s{i}"), 1.0)]);
    }
    conn.notify(Severity::Okay, "hello");
    conn.flush();
    let sent = sink.take();
    let to = |host: &str| sent.iter().filter(|d| d.host == host).map(|d| d.datagram.clone()).collect::<Vec<_>>();
    assert!(to("a").len() > 2);
    assert_eq!(to("a"), to("b"), "the same datagrams, in the same order, to each server");
    let servers = conn.server_stats();
    assert_eq!(servers.iter().map(|s| (s.host.as_str(), s.port)).collect::<Vec<_>>(), [("a", 25826), ("b", 1)]);
    for server in &servers {
        assert_eq!((server.stats.value_lists_sent, server.stats.notifications_sent), (3000, 1), "{server:?}");
    }
    let total = conn.sender_stats();
    assert_eq!((total.value_lists_sent, total.packets_sent), (6000, 2 * to("a").len() as u64));
}

/// A collectd on `port` (a free one when `None`) with the csv plugin.
fn collectd_on(port: Option<u16>) -> Collectd {
    let mut builder = Collectd::builder().interval(1).listen(Security::None).csv(true);
    if let Some(port) = port {
        builder = builder.listen_port(port);
    }
    builder.start().expect("collectd starts")
}

/// The sum of every row collectd wrote for `gauge-NAME`.
fn csv_sum(cd: &Collectd, host: &str, name: &str) -> f64 {
    cd.csv_rows(host, "any", &format!("gauge-{name}")).iter().map(|(_, values)| values[0]).sum()
}

fn wait_for_sum(cd: &Collectd, host: &str, name: &str, expected: f64) {
    let reached = cd.wait_until(WAIT, || csv_sum(cd, host, name) == expected);
    assert!(reached.is_ok(), "{name} on port {}: {} instead of {expected}", cd.port(), csv_sum(cd, host, name));
}

#[test]
fn a_server_that_stops_costs_the_other_nothing_and_gets_values_once_back() {
    let Some(_) = testkit::require_collectd() else {
        eprintln!("skipped: collectd is not installed");
        return;
    };
    const HOST: &str = "two-servers";
    let a = collectd_on(None);
    let mut b = collectd_on(None);
    let b_port = b.port();
    let conn = Connection::builder()
        .hostname(HOST)
        .collectd_host("127.0.0.1")
        .collectd_port(a.port())
        .add_server("127.0.0.1", b_port)
        .interval(Duration::from_secs(1))
        .build();
    let stat = conn.counter("multi").stat("value");

    stat.add(1.0);
    conn.flush();
    wait_for_sum(&a, HOST, "multi-value", 1.0);
    wait_for_sum(&b, HOST, "multi-value", 1.0);

    // b stops: its datagrams are refused (loopback answers with ICMP port unreachable,
    // reported on the socket), a gets every value on time.
    b.stop().expect("collectd stops");
    let mut sent_while_down = 0.0;
    let refused = testkit::poll_until(WAIT, || {
        stat.add(2.0);
        sent_while_down += 2.0;
        conn.flush();
        conn.server_stats()[1].stats.send_errors > 0
    });
    assert!(refused.is_some(), "no refusal counted for the stopped server: {:?}", conn.server_stats());
    wait_for_sum(&a, HOST, "multi-value", 1.0 + sent_while_down);
    let servers = conn.server_stats();
    assert_eq!((servers[0].stats.send_errors, servers[0].stats.value_lists_unsent), (0, 0), "{servers:?}");
    assert!(servers[1].stats.value_lists_unsent > 0, "{servers:?}");

    // b comes back on its port: what is recorded from then on reaches both.
    let b = collectd_on(Some(b_port));
    let before_b = csv_sum(&b, HOST, "multi-value");
    assert_eq!(before_b, 0.0, "a new collectd writes into a new directory");
    stat.add(4.0);
    conn.flush();
    wait_for_sum(&a, HOST, "multi-value", 1.0 + sent_while_down + 4.0);
    wait_for_sum(&b, HOST, "multi-value", 4.0);
    assert_eq!(conn.server_stats()[0].stats.send_errors, 0);
}
