//! Interop of the `protocol` module with a real collectd 5.12 (Debian `collectd-core`).
//!
//! Every test starts its own collectd through `testkit`: on 127.0.0.1 with a free port,
//! in a temporary directory, with its own `collectd.conf` (`Interval 1`, `WriteThreads 1`,
//! the `logfile` plugin, and the `csv` plugin with `StoreRates false`).
//!
//! - Receiving: a `<Listen>` at each security level (`Sign` and `Encrypt` with an
//!   AuthFile) is fed datagrams built by [`PacketWriter`] and [`encode_notification`];
//!   the csv plugin must write exactly the values sent, the logfile plugin the
//!   notifications, and what collectd refuses must leave no trace but its log message.
//! - Sending: a collectd with a `<Server>` block at each security level sends its own
//!   `load`, `memory` and `cpu` readings to a socket of the test; [`parse`] must accept,
//!   verify and decrypt them, and the values must equal that collectd's own CSV.
//!
//! When the collectd binary is missing these tests fail with a message naming the
//! Debian package to install (`collectd-core`, see `make deps`). Set
//! `COLLECTD_RS_SKIP_INTEROP=1` to skip them instead (ignored when `CI=true`).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use collectd::protocol::{
    AuthFile, CdTime, Credentials, DsType, EncodeError, Notification, PacketWriter, ParseErrorKind, Protection,
    ReceiveSecurity, Record, Security, SecurityLevel, Severity, TimeResolution, Value, ValueList, WriterOptions,
    encode_notification, parse, part,
};
use testkit::Collectd;

/// How long to wait for collectd to write something.
const WAIT: Duration = Duration::from_secs(10);

/// Gate: skip (with a line on stderr) or fail when collectd is not installed.
macro_rules! require_collectd {
    () => {
        if testkit::require_collectd().is_none() {
            eprintln!("skipped: collectd is not installed and {}=1", testkit::SKIP_ENV);
            return;
        }
    };
}

/// The base time of the datagrams we send: 2023-11-14 22:13:20 UTC.
const T0: u64 = 1_700_000_000;
/// How collectd's logfile plugin prints [`T0`] (it runs with `TZ=UTC`).
const T0_LOG: &str = "[2023-11-14 22:13:20]";
/// The host of the value lists we send (collectd's own is `testkit`).
const PEER: &str = "peer";
/// The AuthFile of the listeners.
const AUTH_FILE: &str = "admin: admin\n";
/// The largest datagram a listener reads: collectd's default `MaxPacketSize`.
const MAX_PACKET: usize = 1452;

/// `T0 + ms` milliseconds.
fn at_ms(ms: u64) -> CdTime {
    CdTime::from_nanos(u128::from(T0 * 1000 + ms) * 1_000_000)
}

/// How the csv plugin prints the time `T0 + ms` milliseconds (`%.3f`).
fn epoch_ms(ms: u64) -> String {
    let total = T0 * 1000 + ms;
    format!("{}.{:03}", total / 1000, total % 1000)
}

fn admin() -> Credentials {
    Credentials::new("admin", "admin").unwrap()
}

/// The listener's level, as testkit spells it.
fn testkit_level(level: SecurityLevel) -> testkit::Security {
    match level {
        SecurityLevel::None => testkit::Security::None,
        SecurityLevel::Sign => testkit::Security::Sign,
        SecurityLevel::Encrypt => testkit::Security::Encrypt,
    }
}

/// A sender's protection matching a receiver's level.
fn protect(level: SecurityLevel, credentials: Credentials) -> Security {
    match level {
        SecurityLevel::None => Security::None,
        SecurityLevel::Sign => Security::Sign(credentials),
        SecurityLevel::Encrypt => Security::Encrypt(credentials),
    }
}

fn level_name(level: SecurityLevel) -> &'static str {
    match level {
        SecurityLevel::None => "plain",
        SecurityLevel::Sign => "signed",
        SecurityLevel::Encrypt => "encrypted",
    }
}

/// A collectd listening at `level` (with [`AUTH_FILE`] above `None`), writing CSV.
fn listener(level: SecurityLevel) -> Collectd {
    let mut builder = Collectd::builder().interval(1).listen(testkit_level(level)).csv(true);
    if level != SecurityLevel::None {
        builder = builder.auth_file(AUTH_FILE);
    }
    builder.start().unwrap_or_else(|e| panic!("collectd with a {level:?} listener starts: {e}"))
}

/// Writes the value lists into as many datagrams as needed.
fn encode_all(options: WriterOptions, value_lists: &[ValueList<'_>]) -> Vec<Vec<u8>> {
    let mut writer = PacketWriter::new(options).unwrap();
    let mut datagrams = Vec::new();
    for vl in value_lists {
        match writer.write(vl) {
            Ok(()) => {}
            Err(EncodeError::PacketFull) => {
                datagrams.push(writer.finish().unwrap().expect("a full packet is not empty"));
                writer.write(vl).unwrap();
            }
            Err(e) => panic!("{}: {e}", vl.identifier()),
        }
    }
    datagrams.extend(writer.finish().unwrap());
    datagrams
}

/// One datagram with one gauge value list `PEER/plugin/gauge-instance`.
fn one_gauge(security: Security, plugin: &str, instance: &str, value: f64) -> Vec<u8> {
    let vl = ValueList::new(PEER, plugin, "gauge", vec![Value::Gauge(value)])
        .with_type_instance(instance)
        .with_time(at_ms(0))
        .with_interval(CdTime::from_secs(1));
    let mut datagrams = encode_all(WriterOptions::default().security(security), &[vl]);
    assert_eq!(datagrams.len(), 1);
    datagrams.pop().unwrap()
}

/// The complete lines of one series' CSV files (all dates, in order): the headers and the rows.
fn csv_lines(cd: &Collectd, host: &str, plugin_dir: &str, type_file_prefix: &str) -> (Vec<String>, Vec<String>) {
    let dir = cd.csv_dir().join(host).join(plugin_dir);
    let Ok(entries) = fs::read_dir(&dir) else {
        return (Vec::new(), Vec::new());
    };
    let is_date = |s: &str| {
        s.len() == 10
            && s.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() })
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.strip_prefix(type_file_prefix).and_then(|r| r.strip_prefix('-')).is_some_and(is_date))
        .collect();
    names.sort();
    let (mut headers, mut rows) = (Vec::new(), Vec::new());
    for name in names {
        let text = fs::read_to_string(dir.join(name)).unwrap_or_default();
        // The last line may be being written.
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        for line in complete.lines() {
            if line.starts_with("epoch") { &mut headers } else { &mut rows }.push(line.to_owned());
        }
    }
    (headers, rows)
}

/// The series in `<csv>/host/plugin_dir`: its file names without their `-YYYY-MM-DD`.
fn csv_series(cd: &Collectd, host: &str, plugin_dir: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(cd.csv_dir().join(host).join(plugin_dir))
        .map(|entries| entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    for name in &mut names {
        name.truncate(name.len().saturating_sub("-YYYY-MM-DD".len()));
    }
    names.sort();
    names.dedup();
    names
}

/// What one series' CSV must hold, exactly.
struct Expected {
    plugin_dir: String,
    type_file: String,
    header: &'static str,
    rows: Vec<String>,
}

/// Waits until every series has as many rows as expected, then compares them exactly.
fn assert_csv(cd: &Collectd, host: &str, expected: &[Expected]) {
    cd.wait_until(WAIT, || {
        expected.iter().all(|e| csv_lines(cd, host, &e.plugin_dir, &e.type_file).1.len() >= e.rows.len())
    })
    .unwrap_or_else(|e| panic!("not every series reached the CSV: {}", e.message()));
    for e in expected {
        let (headers, rows) = csv_lines(cd, host, &e.plugin_dir, &e.type_file);
        let series = format!("{host}/{}/{}", e.plugin_dir, e.type_file);
        assert!(!headers.is_empty() && headers.iter().all(|h| h == e.header), "{series}: headers {headers:?}");
        assert_eq!(rows, e.rows, "{series}");
    }
}

/// The log lines at `[warning]` or `[error]`.
fn complaints(cd: &Collectd) -> Vec<String> {
    cd.log().lines().filter(|l| l.contains("[warning]") || l.contains("[error]")).map(str::to_owned).collect()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// Sends value lists of the four DS types, a two-value list, 300 value lists over
/// several datagrams and a notification, all protected for `level`, to a listener at
/// `level`; checks the CSV rows and the notification's log line exactly.
fn values_and_notification_land_exactly(level: SecurityLevel) {
    let cd = listener(level);
    let name = level_name(level);
    let plugin_dir = format!("rs-{name}");
    let options = WriterOptions::default().max_packet_size(MAX_PACKET).security(protect(level, admin()));
    let vl = |type_: &'static str, ms: u64, values: Vec<Value>| {
        ValueList::new(PEER, "rs", type_, values)
            .with_plugin_instance(name)
            .with_time(at_ms(ms))
            .with_interval(CdTime::from_secs(1))
    };

    // One series per DS type; one value list per time (250 ms past each second).
    let gauges: [(f64, &str); 11] = [
        (0.0, "0.000000"),
        (-0.0, "-0.000000"),
        (-1.5, "-1.500000"),
        (0.1, "0.100000"),
        (1e-6, "0.000001"),
        (123_456.789, "123456.789000"),
        (9_007_199_254_740_992.0, "9007199254740992.000000"),
        (1e15, "1000000000000000.000000"),
        (f64::NAN, "nan"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ];
    let derives: [(i64, &str); 5] =
        [(0, "0"), (42, "42"), (-5, "-5"), (i64::MIN, "-9223372036854775808"), (i64::MAX, "9223372036854775807")];
    let counters: [(u64, &str); 4] = [(0, "0"), (1, "1"), (1 << 32, "4294967296"), (u64::MAX, "18446744073709551615")];
    let absolutes: [(u64, &str); 3] = [(0, "0"), (7, "7"), (u64::MAX, "18446744073709551615")];
    let octets: [((i64, i64), &str); 2] = [((1, 2), "1,2"), ((1_000_000_007, -1), "1000000007,-1")];

    let mut value_lists = Vec::new();
    let mut expected = Vec::new();
    let mut series = |type_: &'static str, header, values: Vec<(Vec<Value>, &str)>| {
        let mut rows = Vec::new();
        for (i, (values, text)) in values.into_iter().enumerate() {
            let ms = 1000 * i as u64 + 250;
            value_lists.push(vl(type_, ms, values));
            rows.push(format!("{},{text}", epoch_ms(ms)));
        }
        expected.push(Expected { plugin_dir: plugin_dir.clone(), type_file: type_.to_owned(), header, rows });
    };
    series("gauge", "epoch,value", gauges.iter().map(|&(v, t)| (vec![Value::Gauge(v)], t)).collect());
    series("derive", "epoch,value", derives.iter().map(|&(v, t)| (vec![Value::Derive(v)], t)).collect());
    series("counter", "epoch,value", counters.iter().map(|&(v, t)| (vec![Value::Counter(v)], t)).collect());
    series("absolute", "epoch,value", absolutes.iter().map(|&(v, t)| (vec![Value::Absolute(v)], t)).collect());
    series(
        "if_octets",
        "epoch,rx,tx",
        octets.iter().map(|&((rx, tx), t)| (vec![Value::Derive(rx), Value::Derive(tx)], t)).collect(),
    );

    // 300 value lists with distinct type instances, cycling through the DS types.
    let many_dir = format!("many-{name}");
    for i in 0..300u64 {
        let (type_, value, text) = match i % 4 {
            0 => ("gauge", Value::Gauge(i as f64 + 0.5), format!("{i}.500000")),
            1 => ("derive", Value::Derive(-(i as i64) * 1000), format!("{}", -(i as i64) * 1000)),
            2 => ("counter", Value::Counter(u64::MAX - i), format!("{}", u64::MAX - i)),
            _ => ("absolute", Value::Absolute(i * 1_000_000_007), format!("{}", i * 1_000_000_007)),
        };
        let instance = format!("n{i:03}");
        value_lists.push(
            ValueList::new(PEER, "many", type_, vec![value])
                .with_plugin_instance(name)
                .with_type_instance(instance.clone())
                .with_time(at_ms(500))
                .with_interval(CdTime::from_secs(1)),
        );
        expected.push(Expected {
            plugin_dir: many_dir.clone(),
            type_file: format!("{type_}-{instance}"),
            header: "epoch,value",
            rows: vec![format!("{},{text}", epoch_ms(500))],
        });
    }

    let datagrams = encode_all(options.clone(), &value_lists);
    assert!(datagrams.len() >= 5, "{} value lists in only {} datagrams", value_lists.len(), datagrams.len());
    let lens: Vec<usize> = datagrams.iter().map(Vec::len).collect();
    assert!(lens.iter().all(|&n| n <= MAX_PACKET), "{lens:?}");
    assert!(lens.iter().any(|&n| n > MAX_PACKET - 60), "the writer should fill its packets: {lens:?}");
    for datagram in &datagrams {
        cd.send(datagram).unwrap();
    }

    let severity = match level {
        SecurityLevel::None => Severity::Okay,
        SecurityLevel::Sign => Severity::Warning,
        SecurityLevel::Encrypt => Severity::Failure,
    };
    let message = format!("a {name} notification: {} value lists sent", value_lists.len());
    let notification = Notification::new(severity, at_ms(250), message.as_str())
        .with_host(PEER)
        .with_plugin("rs")
        .with_plugin_instance(name)
        .with_type("gauge")
        .with_type_instance("ti");
    cd.send(&encode_notification(&notification, &options).unwrap()).unwrap();

    assert_csv(&cd, PEER, &expected);
    assert_eq!(csv_series(&cd, PEER, &many_dir).len(), 300, "one series per value list, no more");
    let line = cd.wait_for_log("Notification: severity", WAIT).unwrap();
    assert_eq!(
        line,
        format!(
            "{T0_LOG} [info] Notification: severity = {}, host = {PEER}, plugin = rs, plugin_instance = {name}, \
             type = gauge, type_instance = ti, message = {message}",
            severity.name()
        )
    );
    assert_eq!(complaints(&cd), Vec::<String>::new());
}

#[test]
fn plain_values_and_notification_land_exactly() {
    require_collectd!();
    values_and_notification_land_exactly(SecurityLevel::None);
}

#[test]
fn signed_values_and_notification_land_exactly() {
    require_collectd!();
    values_and_notification_land_exactly(SecurityLevel::Sign);
}

#[test]
fn encrypted_values_and_notification_land_exactly() {
    require_collectd!();
    values_and_notification_land_exactly(SecurityLevel::Encrypt);
}

/// TIME/INTERVAL (whole seconds, rounded to nearest by the writer, halves up) and
/// TIME_HR/INTERVAL_HR both land with the expected epoch, here in encrypted datagrams;
/// the logfile prints a notification's own time, even one without host or plugin.
#[test]
fn legacy_and_high_resolution_times_land_with_their_epochs() {
    require_collectd!();
    let cd = listener(SecurityLevel::Encrypt);
    // (time after T0 in ms, as printed with TIME_HR, as printed with TIME)
    let times = [
        (0, epoch_ms(0), epoch_ms(0)),
        (1_250, epoch_ms(1_250), epoch_ms(1_000)),
        (2_750, epoch_ms(2_750), epoch_ms(3_000)),
        (3_500, epoch_ms(3_500), epoch_ms(4_000)),
        (5_123, epoch_ms(5_123), epoch_ms(5_000)),
        (86_400_999, epoch_ms(86_400_999), epoch_ms(86_401_000)),
    ];
    let mut expected = Vec::new();
    for (resolution, instance) in [(TimeResolution::HighResolution, "hr"), (TimeResolution::Seconds, "legacy")] {
        let options =
            WriterOptions::default().time_resolution(resolution).security(protect(SecurityLevel::Encrypt, admin()));
        let value_lists: Vec<ValueList<'_>> = times
            .iter()
            .enumerate()
            .map(|(i, (ms, _, _))| {
                ValueList::new(PEER, "time", "gauge", vec![Value::Gauge(i as f64)])
                    .with_type_instance(instance)
                    .with_time(at_ms(*ms))
                    .with_interval(CdTime::from_nanos(1_500_000_000))
            })
            .collect();
        // The same value lists unencrypted show which time parts the writer uses.
        let plain = encode_all(WriterOptions::default().time_resolution(resolution), &value_lists);
        let parts: Vec<u16> = plain.iter().flat_map(|d| part_types(d)).collect();
        let (time, interval, not_time) = match resolution {
            TimeResolution::HighResolution => (part::TIME_HR, part::INTERVAL_HR, part::TIME),
            TimeResolution::Seconds => (part::TIME, part::INTERVAL, part::TIME_HR),
        };
        assert!(parts.contains(&time) && parts.contains(&interval) && !parts.contains(&not_time), "{parts:x?}");
        for datagram in encode_all(options.clone(), &value_lists) {
            cd.send(&datagram).unwrap();
        }
        let rows = times
            .iter()
            .enumerate()
            .map(|(i, (_, hr, legacy))| {
                let epoch = if resolution == TimeResolution::Seconds { legacy } else { hr };
                format!("{epoch},{i}.000000")
            })
            .collect();
        expected.push(Expected {
            plugin_dir: "time".into(),
            type_file: format!("gauge-{instance}"),
            header: "epoch,value",
            rows,
        });
        let notification = Notification::new(Severity::Okay, at_ms(3_600_000), format!("{instance} time"));
        cd.send(&encode_notification(&notification, &options).unwrap()).unwrap();
    }
    assert_csv(&cd, PEER, &expected);
    for instance in ["hr", "legacy"] {
        // T0 + 1 h; the notification has no host or plugin.
        let line = cd.wait_for_log(&format!("message = {instance} time"), WAIT).unwrap();
        assert_eq!(
            line,
            format!("[2023-11-14 23:13:20] [info] Notification: severity = OKAY, message = {instance} time")
        );
    }
    assert_eq!(complaints(&cd), Vec::<String>::new());
}

/// The part types of a plain datagram, in order.
fn part_types(datagram: &[u8]) -> Vec<u16> {
    let mut types = Vec::new();
    let mut rest = datagram;
    while rest.len() >= 4 {
        let length = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        types.push(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[length.clamp(4, rest.len())..];
    }
    types
}

/// One way a datagram is refused, by collectd and by our parser alike.
struct Refused {
    what: &'static str,
    datagram: Vec<u8>,
    /// What our parser reports: an error, or `None` for parts skipped by the level.
    error: Option<ParseErrorKind>,
}

/// Sends every refused datagram, then `accepted` ones (the last is the marker); once
/// the marker is in the CSV, everything before it has been processed. Checks that only
/// the accepted value lists landed, and that our parser agrees.
fn refuse_then_accept(cd: &Collectd, level: SecurityLevel, refused: &[Refused], accepted: &[(&str, Vec<u8>)]) {
    let users = AuthFile::parse(AUTH_FILE.as_bytes());
    let security = ReceiveSecurity::new(level, Some(&users)).unwrap();
    for r in refused {
        let datagram = parse(&r.datagram, &security);
        assert!(datagram.records.is_empty(), "{}: our parser accepted it", r.what);
        match &r.error {
            Some(kind) => assert_eq!(datagram.errors.iter().map(|e| &e.kind).collect::<Vec<_>>(), [kind], "{}", r.what),
            None => {
                assert!(datagram.errors.is_empty(), "{}: {:?}", r.what, datagram.errors);
                assert!(!datagram.notices.is_empty(), "{}: skipped without a notice", r.what);
            }
        }
        cd.send(&r.datagram).unwrap();
    }
    for (instance, datagram) in accepted {
        assert_eq!(parse(datagram, &security).value_lists().count(), 1, "{instance}");
        cd.send(datagram).unwrap();
    }
    let expected: Vec<Expected> = accepted
        .iter()
        .map(|(instance, _)| Expected {
            plugin_dir: "guard".into(),
            type_file: format!("gauge-{instance}"),
            header: "epoch,value",
            rows: vec![format!("{},1.000000", epoch_ms(0))],
        })
        .collect();
    assert_csv(cd, PEER, &expected);
    let mut landed: Vec<String> = accepted.iter().map(|(i, _)| format!("gauge-{i}")).collect();
    landed.sort();
    assert_eq!(csv_series(cd, PEER, "guard"), landed, "only the accepted value lists land");
}

/// With a byte flipped.
fn flip(datagram: &[u8], at: usize) -> Vec<u8> {
    let mut bad = datagram.to_vec();
    bad[at] ^= 0x01;
    bad
}

#[test]
fn sign_listener_rejects_wrong_password_tampering_and_unsigned_packets() {
    require_collectd!();
    let cd = listener(SecurityLevel::Sign);
    let sign = |c: Credentials, instance| one_gauge(Security::Sign(c), "guard", instance, 1.0);
    let wrong = Credentials::new("admin", "Admin").unwrap();
    let stranger = Credentials::new("mallory", "admin").unwrap();
    let signed = sign(admin(), "tampered-mac");
    let signed_value = sign(admin(), "tampered-value");
    let mismatch = || Some(ParseErrorKind::SignatureMismatch { username: "admin".into() });
    let refused = [
        Refused { what: "wrong password", datagram: sign(wrong, "wrong-password"), error: mismatch() },
        // The first byte of the HMAC.
        Refused { what: "tampered MAC", datagram: flip(&signed, 4), error: mismatch() },
        // The last byte of the gauge (the high byte of a little-endian double).
        Refused { what: "tampered value", datagram: flip(&signed_value, signed_value.len() - 1), error: mismatch() },
        Refused {
            what: "unknown user",
            datagram: sign(stranger, "unknown-user"),
            error: Some(ParseErrorKind::UnknownUser { username: "mallory".into() }),
        },
        Refused { what: "plain", datagram: one_gauge(Security::None, "guard", "plain", 1.0), error: None },
    ];
    // Sign accepts encrypted packets too.
    let accepted = [
        ("encrypted", one_gauge(Security::Encrypt(admin()), "guard", "encrypted", 1.0)),
        ("marker", sign(admin(), "marker")),
    ];
    refuse_then_accept(&cd, SecurityLevel::Sign, &refused, &accepted);
    let log = cd.log();
    assert_eq!(
        count(
            &log,
            "[warning] network plugin: Verifying HMAC-SHA-256 signature failed: Hash mismatch. Username: admin\n"
        ),
        3,
        "{log}"
    );
    assert_eq!(count(&log, "[error] network plugin: Unknown user: mallory\n"), 1, "{log}");
    assert_eq!(count(&log, "Verifying HMAC-SHA-256 signature failed with status -2."), 1, "{log}");
    assert_eq!(count(&log, "[info] network plugin: Unsigned packet or part has been ignored.\n"), 1, "{log}");
    assert_eq!(complaints(&cd).len(), 5, "{log}");
}

#[test]
fn encrypt_listener_rejects_wrong_password_tampering_and_unencrypted_packets() {
    require_collectd!();
    let cd = listener(SecurityLevel::Encrypt);
    let encrypt = |c: Credentials, instance| one_gauge(Security::Encrypt(c), "guard", instance, 1.0);
    let wrong = Credentials::new("admin", "Admin").unwrap();
    let stranger = Credentials::new("mallory", "admin").unwrap();
    let iv = encrypt(admin(), "tampered-iv");
    let hash = encrypt(admin(), "tampered-hash");
    let value = encrypt(admin(), "tampered-value");
    let mismatch = || Some(ParseErrorKind::ChecksumMismatch { username: "admin".into() });
    // Layout: type(2) length(2) ulen(2) "admin"(5) IV(16) SHA-1(20) payload.
    let refused = [
        Refused { what: "wrong password", datagram: encrypt(wrong, "wrong-password"), error: mismatch() },
        Refused { what: "tampered IV", datagram: flip(&iv, 11), error: mismatch() },
        Refused { what: "tampered checksum", datagram: flip(&hash, 27), error: mismatch() },
        Refused { what: "tampered value", datagram: flip(&value, value.len() - 1), error: mismatch() },
        Refused {
            what: "unknown user",
            datagram: encrypt(stranger, "unknown-user"),
            error: Some(ParseErrorKind::UnknownUser { username: "mallory".into() }),
        },
        Refused { what: "plain", datagram: one_gauge(Security::None, "guard", "plain", 1.0), error: None },
        Refused { what: "signed", datagram: one_gauge(Security::Sign(admin()), "guard", "signed", 1.0), error: None },
    ];
    let accepted = [("marker", encrypt(admin(), "marker"))];
    refuse_then_accept(&cd, SecurityLevel::Encrypt, &refused, &accepted);
    let log = cd.log();
    assert_eq!(count(&log, "[error] network plugin: Checksum mismatch. Username: admin\n"), 4, "{log}");
    // collectd says "Failed to get cypher" for an unknown user (our parser: UnknownUser).
    assert_eq!(count(&log, "[error] network plugin: Failed to get cypher. Username: mallory\n"), 1, "{log}");
    assert_eq!(count(&log, "[error] network plugin: Decrypting AES256 part failed with status -1.\n"), 5, "{log}");
    assert_eq!(count(&log, "[info] network plugin: Unencrypted packet or part has been ignored.\n"), 2, "{log}");
    assert_eq!(complaints(&cd).len(), 10, "{log}");
}

/// The sender's username and password (a space inside, as AuthFiles allow).
const SENDER_USER: &str = "sender";
const SENDER_PASSWORD: &str = "s3cret pass";

/// What has been compared so far, per series.
#[derive(Default)]
struct Comparison {
    /// Value lists found in the CSV with the same time and values, per `plugin_dir/type_file`.
    matched: BTreeMap<String, usize>,
}

impl Comparison {
    fn count(&self, series: &str) -> usize {
        self.matched.get(series).copied().unwrap_or(0)
    }

    fn cpu_derives(&self) -> usize {
        self.matched.iter().filter(|(k, _)| k.starts_with("cpu")).map(|(_, n)| *n).max().unwrap_or(0)
    }

    fn done(&self) -> bool {
        ["load/load", "memory/memory-used", "memory/memory-free"].iter().all(|s| self.count(s) >= 2)
            && self.cpu_derives() >= 2
    }
}

/// A CSV field equals a value at the CSV's precision: integers exactly, gauges to `%lf`.
fn csv_field_matches(value: Value, field: &str) -> bool {
    match value {
        Value::Gauge(g) if g.is_nan() => field.trim_start_matches('-') == "nan",
        // %lf rounds to 6 decimals (at most 5e-7 off); reading it back adds half an ulp.
        Value::Gauge(g) => field.parse::<f64>().is_ok_and(|c| (c - g).abs() <= 5e-7 + g.abs() * f64::EPSILON),
        Value::Derive(d) => field == d.to_string(),
        Value::Counter(c) | Value::Absolute(c) => field == c.to_string(),
    }
}

/// Compares every received value list with the sender's CSV row at the same time
/// (the CSV prints times to the millisecond). Panics on a mismatch, or when the CSV
/// has moved past a value list's time without a row for it.
fn compare_with_csv(cd: &Collectd, received: &[ValueList<'static>]) -> Comparison {
    let mut by_series: BTreeMap<(String, String), Vec<&ValueList<'static>>> = BTreeMap::new();
    for vl in received {
        assert_eq!(vl.host, cd.hostname(), "{}", vl.identifier());
        let mut plugin_dir = vl.plugin.to_string();
        if !vl.plugin_instance.is_empty() {
            plugin_dir = format!("{plugin_dir}-{}", vl.plugin_instance);
        }
        let mut type_file = vl.type_.to_string();
        if !vl.type_instance.is_empty() {
            type_file = format!("{type_file}-{}", vl.type_instance);
        }
        by_series.entry((plugin_dir, type_file)).or_default().push(vl);
    }
    let mut comparison = Comparison::default();
    for ((plugin_dir, type_file), vls) in by_series {
        let (_, rows) = csv_lines(cd, cd.hostname(), &plugin_dir, &type_file);
        let rows: Vec<(f64, Vec<&str>)> = rows
            .iter()
            .map(|row| {
                let mut fields = row.split(',');
                let epoch = fields.next().unwrap().parse::<f64>().unwrap_or_else(|e| panic!("{row:?}: {e}"));
                (epoch, fields.collect())
            })
            .collect();
        let last_csv_time = rows.iter().map(|r| r.0).fold(f64::NEG_INFINITY, f64::max);
        for vl in vls {
            let t = vl.time.as_secs_f64();
            // %.3f is at most 0.5 ms off; the double holding 1.7e9 s adds under 1 µs.
            match rows.iter().find(|(epoch, _)| (epoch - t).abs() <= 0.000_501) {
                Some((epoch, fields)) => {
                    let values = vl.values.to_vec();
                    assert!(
                        fields.len() == values.len()
                            && values.iter().zip(fields).all(|(&v, f)| csv_field_matches(v, f)),
                        "{} at {t:.6}: sent {values:?}, its CSV row at {epoch:.3} has {fields:?}",
                        vl.identifier()
                    );
                    *comparison.matched.entry(format!("{plugin_dir}/{type_file}")).or_default() += 1;
                }
                None => assert!(
                    last_csv_time < t,
                    "{} at {t:.6} was sent but its CSV has no row at that time (it has rows up to {last_csv_time:.3})",
                    vl.identifier()
                ),
            }
        }
    }
    comparison
}

/// A collectd with a `<Server>` at `level` sends its own readings to our socket; our
/// parser accepts, verifies or decrypts them, and they equal that collectd's CSV.
fn own_readings_match_the_senders_csv(level: SecurityLevel) {
    let sink = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    sink.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let port = sink.local_addr().unwrap().port();
    let credentials = (level != SecurityLevel::None).then_some((SENDER_USER, SENDER_PASSWORD));
    let cd = Collectd::builder()
        .interval(1)
        .plugin("load")
        .plugin("memory")
        .plugin("cpu")
        .server("127.0.0.1", port, testkit_level(level), credentials)
        .csv(true)
        .start()
        .unwrap_or_else(|e| panic!("collectd with a {level:?} server starts: {e}"));

    let users = AuthFile::parse(format!("# the sender\n{SENDER_USER}: {SENDER_PASSWORD}\n").as_bytes());
    let wrong_users = AuthFile::parse(format!("{SENDER_USER}: {SENDER_PASSWORD}!\n").as_bytes());
    let security = match level {
        SecurityLevel::None => ReceiveSecurity::none(),
        _ => ReceiveSecurity::new(level, Some(&users)).unwrap(),
    };
    let (protection, username) = match level {
        SecurityLevel::None => (Protection::Plain, None),
        SecurityLevel::Sign => (Protection::Signed, Some(SENDER_USER)),
        SecurityLevel::Encrypt => (Protection::Encrypted, Some(SENDER_USER)),
    };

    let mut received: Vec<ValueList<'static>> = Vec::new();
    let mut datagrams = 0;
    let mut buf = vec![0u8; 65_535];
    let deadline = Instant::now() + Duration::from_secs(15);
    let comparison = loop {
        match sink.recv_from(&mut buf) {
            Ok((n, from)) => {
                assert!(from.ip().is_loopback(), "{from}");
                let bytes = &buf[..n];
                assert!(n <= MAX_PACKET, "a {n}-byte datagram");
                let datagram = parse(bytes, &security);
                assert!(datagram.errors.is_empty(), "{:?}", datagram.errors);
                assert!(datagram.notices.is_empty(), "{:?}", datagram.notices);
                assert!(!datagram.records.is_empty(), "an empty {n}-byte datagram");
                for r in datagram.records {
                    assert_eq!(r.protection, protection);
                    assert_eq!(r.username.as_deref(), username);
                    match r.record {
                        Record::Values(vl) => {
                            let ds = match vl.type_.as_ref() {
                                "cpu" => Some(DsType::Derive),
                                "load" | "memory" => Some(DsType::Gauge),
                                _ => None,
                            };
                            assert!(ds.is_none_or(|ds| vl.values.iter().all(|v| v.ds_type() == ds)), "{vl:?}");
                            assert_eq!(vl.interval, CdTime::from_secs(1), "{}", vl.identifier());
                            received.push(vl.into_owned());
                        }
                        Record::Notification(n) => panic!("unexpected notification {n:?}"),
                    }
                }
                // With the wrong password nothing gets through.
                if level != SecurityLevel::None {
                    let wrong = ReceiveSecurity::new(level, Some(&wrong_users)).unwrap();
                    let refused = parse(bytes, &wrong);
                    assert!(refused.records.is_empty());
                    let expected = match level {
                        SecurityLevel::Sign => ParseErrorKind::SignatureMismatch { username: SENDER_USER.into() },
                        _ => ParseErrorKind::ChecksumMismatch { username: SENDER_USER.into() },
                    };
                    assert_eq!(refused.errors.iter().map(|e| &e.kind).collect::<Vec<_>>(), [&expected]);
                }
                datagrams += 1;
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("receiving: {e}"),
        }
        let comparison = compare_with_csv(&cd, &received);
        if comparison.done() {
            break comparison;
        }
        assert!(
            Instant::now() < deadline,
            "after {datagrams} datagrams and {} value lists, matched only {:?}",
            received.len(),
            comparison.matched
        );
    };
    assert!(comparison.matched.len() >= 8, "{:?}", comparison.matched);
    assert_eq!(complaints(&cd), Vec::<String>::new());
}

#[test]
fn plain_readings_of_a_real_collectd_match_its_csv() {
    require_collectd!();
    own_readings_match_the_senders_csv(SecurityLevel::None);
}

#[test]
fn signed_readings_of_a_real_collectd_match_its_csv() {
    require_collectd!();
    own_readings_match_the_senders_csv(SecurityLevel::Sign);
}

#[test]
fn encrypted_readings_of_a_real_collectd_match_its_csv() {
    require_collectd!();
    own_readings_match_the_senders_csv(SecurityLevel::Encrypt);
}
