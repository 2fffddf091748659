//! Runtimes: started, stopped and started again, reset as in a forked child, and sending
//! through an in-memory sink, so what is sent is checked without a socket and every wait
//! is for a condition (datagrams kept by the sink), not for a clock.
//!
//! Only `the_global_functions_start_again_after_shutdown` touches the process-wide
//! runtime; every other test has a runtime of its own.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::time::Duration;

use collectd::protocol::{ReceiveSecurity, Value, parse};
use collectd::{Connection, MemorySink, Runtime, SentDatagram};

/// Long enough for a periodic snapshot of a 1-second interval on a busy machine.
const PERIODIC: Duration = Duration::from_secs(10);

/// Type instance → sum over the datagrams.
fn sums(sent: &[SentDatagram]) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    for sent in sent {
        let parsed = parse(&sent.datagram, &ReceiveSecurity::none());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        for vl in parsed.value_lists() {
            let Some(Value::Gauge(value)) = vl.values.get(0) else { panic!("not a gauge: {vl:?}") };
            *sums.entry(vl.type_instance.to_string()).or_default() += value;
        }
    }
    sums
}

fn map(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn every_second(runtime: &Runtime, name: &str) -> Connection {
    Connection::builder().hostname(name).interval(Duration::from_secs(1)).runtime(runtime).build()
}

#[test]
fn shutdown_then_start_threads_again_sends_periodically() {
    let sink = MemorySink::new();
    let runtime = Runtime::with_sink(sink.clone());
    let conn = every_second(&runtime, "restart");

    runtime.start_threads().expect("the threads start");
    conn.counter("jobs").record(&[], &[("done", 1.0)]);
    assert!(sink.wait_for(1, PERIODIC), "a periodic snapshot is sent without a flush");
    runtime.shutdown();
    assert!(!runtime.is_running());
    assert_eq!(sums(&sink.take()), map(&[("jobs-done", 1.0)]));

    // Nothing runs between shutdown and start: what is recorded waits.
    conn.counter("jobs").record(&[], &[("done", 2.0)]);
    assert!(sink.is_empty());

    runtime.start_threads().expect("the threads start again after shutdown");
    assert!(runtime.is_running());
    assert!(matches!(runtime.start_threads(), Err(collectd::Error::AlreadyStarted)));
    assert!(sink.wait_for(1, PERIODIC), "the restarted threads send periodically");
    conn.counter("jobs").record(&[], &[("done", 4.0)]);
    runtime.shutdown();
    assert_eq!(sums(&sink.take()), map(&[("jobs-done", 6.0)]), "nothing lost across the restart");
    let stats = conn.sender_stats();
    assert_eq!((stats.send_errors, stats.snapshots_dropped), (0, 0), "{stats:?}");
}

#[test]
fn the_global_functions_start_again_after_shutdown() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server.set_read_timeout(Some(PERIODIC)).unwrap();
    let conn = Connection::builder()
        .hostname("global-restart")
        .collectd_host("127.0.0.1")
        .collectd_port(server.local_addr().unwrap().port())
        .interval(Duration::from_secs(1))
        .build();
    assert!(conn.runtime().ptr_eq(Runtime::global()));

    collectd::start_threads().expect("the threads start");
    collectd::shutdown();
    collectd::start_threads().expect("the threads start again after shutdown");
    conn.counter("jobs").record(&[], &[("done", 3.0)]);
    // The periodic snapshot of the restarted threads: recv waits for it.
    let mut buffer = [0u8; 65535];
    let n = server.recv(&mut buffer).expect("a periodic datagram after the restart");
    collectd::shutdown();
    let vl = parse(&buffer[..n], &ReceiveSecurity::none()).value_lists().next().unwrap().to_owned();
    assert_eq!((vl.type_instance.as_ref(), vl.values.get(0)), ("jobs-done", Some(Value::Gauge(3.0))));
}

#[test]
fn forget_after_fork_drops_the_parents_sums_and_threads() {
    let sink = MemorySink::new();
    let runtime = Runtime::with_sink(sink.clone());
    let conn = every_second(&runtime, "forked");
    let jobs = conn.counter("jobs");

    // The parent has sent some, and recorded more since.
    jobs.record(&["parent"], &[("done", 1.0)]);
    runtime.flush();
    assert_eq!(conn.sender_stats().packets_sent, 1);
    runtime.start_threads().expect("the threads start");
    jobs.record(&["parent"], &[("done", 10.0)]);
    let handle = jobs.stat("done");
    handle.add(100.0);

    // In the child.
    runtime.forget_after_fork();
    assert!(!runtime.is_running(), "the threads are forgotten");
    assert_eq!(conn.sender_stats(), collectd::SenderStats::default(), "the child counts from zero");
    sink.take();

    // The child records on the same connection and handles, and starts its own threads.
    jobs.record(&[], &[("done", 2.0)]);
    handle.add(3.0);
    runtime.start_threads().expect("the child's threads start");
    runtime.shutdown();
    assert_eq!(
        sums(&sink.take()),
        map(&[("jobs-done", 5.0)]),
        "only what the child recorded, and not the parent's stats as zeros"
    );
    assert_eq!(conn.sender_stats().value_lists_sent, 1);
}

#[test]
fn a_refusing_sink_counts_errors_and_recording_goes_on() {
    let sink = MemorySink::new();
    let runtime = Runtime::with_sink(sink.clone());
    let conn = Connection::builder().hostname("refused").runtime(&runtime).build();
    sink.refuse(true);
    conn.counter("jobs").record(&[], &[("done", 1.0)]);
    conn.flush();
    let stats = conn.sender_stats();
    assert_eq!((stats.packets_sent, stats.send_errors, stats.value_lists_sent), (0, 1, 0), "{stats:?}");

    sink.refuse(false);
    conn.counter("jobs").record(&[], &[("done", 2.0)]);
    conn.flush();
    assert_eq!(sums(&sink.take()), map(&[("jobs-done", 2.0)]), "a refused snapshot is lost, the next one is sent");
    let stats = conn.sender_stats();
    assert_eq!((stats.packets_sent, stats.send_errors, stats.value_lists_sent), (1, 1, 1), "{stats:?}");
}

#[test]
fn connections_are_shared_within_a_runtime_only() {
    let (sink_a, sink_b) = (MemorySink::new(), MemorySink::new());
    let (a, b) = (Runtime::with_sink(sink_a.clone()), Runtime::with_sink(sink_b.clone()));
    let builder = Connection::builder().hostname("shared").collectd_host("collectd.example").collectd_port(2000);
    let on_a = builder.clone().runtime(&a).build();
    assert!(Connection::ptr_eq(&on_a, &builder.clone().runtime(&a).build()));
    let on_b = builder.runtime(&b).build();
    assert!(!Connection::ptr_eq(&on_a, &on_b));

    on_a.counter("c").record(&[], &[("s", 1.0)]);
    on_b.counter("c").record(&[], &[("s", 2.0)]);
    a.flush();
    let sent = sink_a.take();
    assert_eq!((sent[0].host.as_str(), sent[0].port), ("collectd.example", 2000));
    assert_eq!(sums(&sent), map(&[("c-s", 1.0)]));
    assert!(sink_b.is_empty(), "a flush sends its own runtime's connections only");
    on_b.flush();
    assert_eq!(sums(&sink_b.take()), map(&[("c-s", 2.0)]));
}

#[test]
fn a_flush_sends_queued_snapshots_first_in_time_order() {
    let sink = MemorySink::new();
    let runtime = Runtime::with_sink(sink.clone());
    let conn = every_second(&runtime, "ordered");
    for round in 0..3 {
        conn.counter("c").record(&[], &[("s", f64::from(round))]);
        conn.flush();
    }
    let times: Vec<_> = sink
        .take()
        .iter()
        .map(|sent| parse(&sent.datagram, &ReceiveSecurity::none()).value_lists().next().unwrap().time)
        .collect();
    assert_eq!(times.len(), 3);
    assert!(times.windows(2).all(|w| w[1].raw() >= w[0].raw() + (1 << 30)), "a second apart at least: {times:?}");
}
