//! Notifications from a connection: sent at once in their own datagram, ahead of
//! snapshots, counted, never failing; and received by a real collectd 5.12, whose
//! logfile plugin writes them with their severity and text, plain, signed and encrypted.

use std::time::Duration;

use collectd::protocol::{CdTime, ReceiveSecurity, Severity, parse};
use collectd::{Connection, Credentials, MemorySink, Runtime};
use testkit::{Collectd, Security};

const WAIT: Duration = Duration::from_secs(10);

/// 2023-11-14 22:13:20 UTC, as collectd's logfile prints it.
const T0: u64 = 1_700_000_000;
const T0_LOG: &str = "[2023-11-14 22:13:20]";

#[test]
fn a_notification_goes_at_once_in_its_own_datagram_and_is_counted() {
    let sink = MemorySink::new();
    let runtime = Runtime::with_sink(sink.clone());
    let conn = Connection::builder().hostname("n1").plugin_instance("worker").runtime(&runtime).build();
    conn.counter("jobs").record(&[], &[("done", 1.0)]);
    // No thread started, no flush: the notification is not held for an interval.
    conn.notification(Severity::Failure, "disk full").type_("df").type_instance("root").send();
    assert!(sink.wait_for(1, WAIT), "the notification is sent without a flush");
    let sent = sink.take();
    assert_eq!(sent.len(), 1, "only the notification: the statistics wait for their interval");
    let parsed = parse(&sent[0].datagram, &ReceiveSecurity::none());
    assert_eq!(parsed.value_lists().count(), 0);
    let n = parsed.notifications().next().expect("a notification");
    assert_eq!(
        (n.severity, n.host.as_ref(), n.plugin.as_ref(), n.plugin_instance.as_ref()),
        (Severity::Failure, "n1", "any", "worker")
    );
    assert_eq!((n.type_.as_ref(), n.type_instance.as_ref(), n.message.as_ref()), ("df", "root", "disk full"));
    // The sink has it a moment before the sender counts it.
    testkit::poll_until(WAIT, || conn.sender_stats().notifications_sent == 1).expect("counted");
    let stats = conn.sender_stats();
    assert_eq!((stats.notifications_sent, stats.notifications_unsent, stats.packets_sent), (1, 0, 1));
    assert_eq!(stats.value_lists_sent, 0);
}

#[test]
fn bad_names_and_messages_are_fixed_or_refused_never_raised() {
    let sink = MemorySink::new();
    let runtime = Runtime::with_sink(sink.clone());
    let conn = Connection::builder().hostname("n2").runtime(&runtime).build();
    conn.notify(Severity::Okay, ""); // refused: nothing to say
    let long = "é".repeat(200); // 400 bytes
    conn.notification(Severity::Warning, &long).type_("a/b c").type_instance("\0x\0").send();
    conn.notify(Severity::Okay, "nul\0inside");
    conn.flush(); // answered after every notification queued before it
    let sent = sink.take();
    assert_eq!(sent.len(), 2);
    let first = parse(&sent[0].datagram, &ReceiveSecurity::none());
    let n = first.notifications().next().unwrap();
    assert_eq!((n.type_.as_ref(), n.type_instance.as_ref()), ("a_b_c", "x"));
    assert_eq!(n.message.len(), 254, "cut to 255 bytes at a character boundary");
    assert!(long.starts_with(n.message.as_ref()));
    let second = parse(&sent[1].datagram, &ReceiveSecurity::none());
    assert_eq!(second.notifications().next().unwrap().message, "nulinside");
    let stats = conn.sender_stats();
    assert_eq!((stats.notifications_sent, stats.notifications_unsent), (2, 1));
}

#[test]
fn a_refused_notification_is_counted_unsent() {
    let sink = MemorySink::new();
    let runtime = Runtime::with_sink(sink.clone());
    let conn = Connection::builder().hostname("n3").runtime(&runtime).build();
    sink.refuse(true);
    conn.notify(Severity::Warning, "nobody hears");
    conn.flush();
    let stats = conn.sender_stats();
    assert_eq!((stats.notifications_sent, stats.notifications_unsent, stats.send_errors), (0, 1, 1));
}

/// A sink that holds the sender in its first send until released.
#[derive(Clone, Default)]
struct Gate(std::sync::Arc<(std::sync::Mutex<(bool, bool)>, std::sync::Condvar)>);

impl collectd::Sink for Gate {
    fn send(&mut self, _: &collectd::Destination<'_>, datagrams: &[Vec<u8>]) -> collectd::Delivery {
        let (lock, changed) = &*self.0;
        let mut state = lock.lock().unwrap();
        state.0 = true; // entered
        changed.notify_all();
        while !state.1 {
            state = changed.wait(state).unwrap();
        }
        collectd::Delivery::all_sent(datagrams)
    }
}

#[test]
fn notifications_waiting_for_a_stuck_sender_are_bounded() {
    let gate = Gate::default();
    let runtime = Runtime::with_sink(gate.clone());
    let conn = Connection::builder().hostname("n5").runtime(&runtime).build();
    conn.notify(Severity::Okay, "first");
    {
        let (lock, changed) = &*gate.0;
        let mut state = lock.lock().unwrap();
        while !state.0 {
            state = changed.wait(state).unwrap();
        }
    }
    // The sender is stuck in its first send: 1,024 wait, 10 more are dropped.
    for i in 0..1034 {
        conn.notify(Severity::Okay, &format!("n{i}"));
    }
    assert_eq!(conn.sender_stats().notifications_unsent, 10);
    {
        let (lock, changed) = &*gate.0;
        lock.lock().unwrap().1 = true;
        changed.notify_all();
    }
    testkit::poll_until(WAIT, || conn.sender_stats().notifications_sent == 1025).expect("every waiting one is sent");
    assert_eq!(conn.sender_stats().notifications_unsent, 10);
}

/// A notification sent while a large snapshot is being paced out goes between its
/// batches, not after it.
#[test]
fn a_notification_does_not_wait_for_a_large_snapshot() {
    let sink = MemorySink::new();
    let runtime = Runtime::with_sink(sink.clone());
    runtime.set_send_rate(200); // 5,000 names: about 100 datagrams, half a second
    let conn = Connection::builder().hostname("n4").runtime(&runtime).build();
    let counter = conn.counter("many");
    for i in 0..5_000 {
        counter.record(&[], &[(&format!("stat{i}"), 1.0)]);
    }
    let flusher = {
        let conn = conn.clone();
        std::thread::spawn(move || conn.flush())
    };
    assert!(sink.wait_for(1, WAIT), "the snapshot started");
    conn.notify(Severity::Warning, "in the middle");
    flusher.join().unwrap();
    let sent = sink.take();
    let position = sent
        .iter()
        .position(|d| parse(&d.datagram, &ReceiveSecurity::none()).notifications().next().is_some())
        .expect("the notification was sent");
    assert!(position < sent.len() - 1, "the notification went after the whole snapshot ({position} of {})", sent.len());
}

fn notification_reaches_collectd(security: Security) {
    let Some(_) = testkit::require_collectd() else {
        eprintln!("skipped: collectd is not installed");
        return;
    };
    let mut builder = Collectd::builder().interval(1).listen(security);
    if security != Security::None {
        builder = builder.auth_file("admin: admin\n");
    }
    let cd = builder.start().expect("collectd starts");
    let credentials = Credentials::new("admin", "admin").unwrap();
    let host = format!("notifier-{}", security.as_config_str().to_lowercase());
    let mut conn = Connection::builder()
        .hostname(host.as_str())
        .plugin_instance("api")
        .collectd_host("127.0.0.1")
        .collectd_port(cd.port());
    conn = match security {
        Security::None => conn,
        Security::Sign => conn.sign(credentials),
        Security::Encrypt => conn.encrypt(credentials),
    };
    let conn = conn.build();
    let cases = [
        (Severity::Okay, "all good"),
        (Severity::Warning, "queue is long: 1200 jobs"),
        (Severity::Failure, "worker 3 died"),
    ];
    for (severity, message) in cases {
        let message = format!("{message} ({})", security.as_config_str());
        conn.notification(severity, &message).type_("queue").type_instance("jobs").time(CdTime::from_secs(T0)).send();
        let line = cd.wait_for_log(&message, WAIT).expect("collectd logs the notification");
        conn.flush(); // the sender has counted it
        assert_eq!(
            line,
            format!(
                "{T0_LOG} [info] Notification: severity = {}, host = {host}, plugin = any, plugin_instance = api, \
                 type = queue, type_instance = jobs, message = {message}",
                severity.name()
            )
        );
    }
    let stats = conn.sender_stats();
    assert_eq!((stats.notifications_sent, stats.notifications_unsent, stats.send_errors), (3, 0, 0));
    let log = cd.log();
    assert!(!log.contains("[warning]") && !log.contains("[error]"), "collectd complained:\n{log}");
}

#[test]
fn a_plain_notification_reaches_collectd() {
    notification_reaches_collectd(Security::None);
}

#[test]
fn a_signed_notification_reaches_collectd() {
    notification_reaches_collectd(Security::Sign);
}

#[test]
fn an_encrypted_notification_reaches_collectd() {
    notification_reaches_collectd(Security::Encrypt);
}
