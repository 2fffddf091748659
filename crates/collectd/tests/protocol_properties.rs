//! Property tests of the wire protocol: what the writer encodes, the parser gives back,
//! at every packet size, time resolution and security mode; the parser never panics,
//! whatever the bytes; the writer refuses what collectd would drop, and then leaves the
//! packet as it was.

use std::borrow::Cow;

use collectd::protocol::{
    AuthFile, CdTime, Credentials, Datagram, EncodeError, Event, Field, Notification, PacketWriter, ParseError,
    ParseErrorKind, Protection, ReceiveSecurity, Received, Record, Security, SecurityLevel, Severity, TimeResolution,
    Value, ValueList, WriterOptions, encode_notification, parse, parse_each, validate_value_list,
};
use collectd::protocol::{MAX_MESSAGE_LEN, MAX_NAME_LEN, MAX_VALUES};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// Few cases by default, as the file runs in CI in debug mode; `PROPTEST_CASES=n`
/// overrides the count for every test (e.g. for a long run in release mode).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(cases);
    ProptestConfig { cases, max_shrink_iters: 2048, failure_persistence: None, ..ProptestConfig::default() }
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

/// The longest prefix of `chars` that fits in `max` bytes.
fn fit(chars: impl IntoIterator<Item = char>, max: usize) -> String {
    let mut out = String::new();
    for c in chars {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// Any Unicode scalar value but NUL.
fn non_nul_char() -> impl Strategy<Value = char> {
    any::<char>().prop_map(|c| if c == '\0' { '\u{1}' } else { c })
}

/// A name of 0 to 127 bytes without NUL: short ASCII names (so consecutive value lists
/// often share them), arbitrary Unicode, and names of exactly 127 bytes.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec!["", "a", "web1", "cpu", "gauge", "coin_stats-heads"]).prop_map(String::from),
        3 => vec(non_nul_char(), 0..40).prop_map(|cs| fit(cs, MAX_NAME_LEN)),
        2 => vec(non_nul_char(), 100..140).prop_map(|cs| fit(cs, MAX_NAME_LEN)),
        1 => vec(non_nul_char(), 0..127).prop_map(|cs| {
            // Exactly 127 bytes: the chars that fit, then ASCII padding.
            let mut s = fit(cs, MAX_NAME_LEN);
            while s.len() < MAX_NAME_LEN {
                s.push('x');
            }
            s
        }),
    ]
}

/// A name of 1 to 127 bytes (host, plugin, type).
fn required_name() -> impl Strategy<Value = String> {
    name().prop_map(|s| if s.is_empty() { "h".to_owned() } else { s })
}

/// A gauge, with NaN (several payloads), infinities, subnormals and negative zero well represented.
fn gauge() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => any::<f64>(),
        2 => any::<u64>().prop_map(f64::from_bits),
        1 => select(vec![
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001), // signalling NaN
            f64::from_bits(0xfff8_dead_beef_0001),
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            f64::from_bits(1), // smallest subnormal
            -f64::from_bits(0x000f_ffff_ffff_ffff),
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
        ]),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u64>().prop_map(Value::Counter),
        gauge().prop_map(Value::Gauge),
        any::<i64>().prop_map(Value::Derive),
        any::<u64>().prop_map(Value::Absolute),
    ]
}

/// A raw time or interval: anything, with the edges where whole seconds round to zero
/// or overflow well represented, and a pool of typical times (so they repeat).
fn raw_time() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => any::<u64>(),
        3 => select(vec![1_700_000_000u64 << 30, (1_700_000_000u64 << 30) + (1 << 29), 10 << 30]),
        1 => select(vec![
            1u64,
            (1 << 29) - 1, // 0.4999… s: rounds to 0 s
            1 << 29,       // 0.5 s: rounds to 1 s
            (1 << 30) - 1,
            u64::MAX - (1 << 29) + 1, // rounds to 2^34 s, which a receiver shifts to 0
            u64::MAX - (1 << 29),     // rounds to 2^34 - 1 s
            u64::MAX,
        ]),
    ]
}

fn nonzero_time() -> impl Strategy<Value = u64> {
    raw_time().prop_map(|t| t.max(1))
}

/// 1 to 16 values (at most 150 bytes, so any value list fits in every packet, even
/// 1024 bytes with a 64-byte username and 5 names of 127 bytes).
fn values() -> impl Strategy<Value = Vec<Value>> {
    vec(value(), 1..=16)
}

prop_compose! {
    fn value_list()(
        host in required_name(),
        plugin in required_name(),
        plugin_instance in name(),
        type_ in required_name(),
        type_instance in name(),
        time in nonzero_time(),
        interval in raw_time(),
        values in values(),
    ) -> ValueList<'static> {
        ValueList::new(host, plugin, type_, values)
            .with_plugin_instance(plugin_instance)
            .with_type_instance(type_instance)
            .with_time(CdTime::from_raw(time))
            .with_interval(CdTime::from_raw(interval))
    }
}

/// Value lists that change a random subset of the previous one's fields (to an empty
/// instance too), so that de-duplication is exercised in every combination.
fn related_value_lists(max: usize) -> impl Strategy<Value = Vec<ValueList<'static>>> {
    let pool = |names: &[&'static str]| select(names.to_vec()).prop_map(String::from);
    let change = (
        proptest::option::weighted(0.3, pool(&["web1", "web2"])),
        proptest::option::weighted(0.3, pool(&["any", "cpu"])),
        proptest::option::weighted(0.3, pool(&["", "0", "api"])),
        proptest::option::weighted(0.3, pool(&["gauge", "derive"])),
        proptest::option::weighted(0.5, pool(&["", "heads", "tails-flips"])),
        proptest::option::weighted(0.3, select(vec![1u64 << 30, 2 << 30, (3 << 30) + 5])),
        proptest::option::weighted(0.3, select(vec![0u64, 10 << 30, 1 << 20])),
        vec(value(), 1..4),
    );
    (value_list(), vec(change, 0..max)).prop_map(|(first, changes)| {
        let mut out = vec![first];
        for (host, plugin, pinst, type_, tinst, time, interval, values) in changes {
            let prev = out.last().unwrap();
            let mut next = ValueList { values: values.into(), ..prev.clone() };
            if let Some(v) = host {
                next.host = v.into();
            }
            if let Some(v) = plugin {
                next.plugin = v.into();
            }
            if let Some(v) = pinst {
                next.plugin_instance = v.into();
            }
            if let Some(v) = type_ {
                next.type_ = v.into();
            }
            if let Some(v) = tinst {
                next.type_instance = v.into();
            }
            if let Some(v) = time {
                next.time = CdTime::from_raw(v);
            }
            if let Some(v) = interval {
                next.interval = CdTime::from_raw(v);
            }
            out.push(next);
        }
        out
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    None,
    Sign,
    Encrypt,
}

fn mode() -> impl Strategy<Value = Mode> {
    select(vec![Mode::None, Mode::Sign, Mode::Encrypt])
}

fn resolution() -> impl Strategy<Value = TimeResolution> {
    select(vec![TimeResolution::HighResolution, TimeResolution::Seconds])
}

/// A sender's security and the AuthFile a receiver needs for it.
#[derive(Debug)]
struct Setup {
    mode: Mode,
    creds: Credentials,
    users: AuthFile,
}

impl Setup {
    fn new(mode: Mode, user: &str, password: &str) -> Self {
        // The AuthFile line an operator would write.
        let users = AuthFile::parse(format!("{user}: {password}\n").as_bytes());
        assert_eq!(users.password(user.as_bytes()), Some(password.as_bytes()));
        Setup { mode, creds: Credentials::new(user, password).unwrap(), users }
    }

    fn security(&self) -> Security {
        match self.mode {
            Mode::None => Security::None,
            Mode::Sign => Security::Sign(self.creds.clone()),
            Mode::Encrypt => Security::Encrypt(self.creds.clone()),
        }
    }

    /// The receiver at the level matching the mode.
    fn receiver(&self) -> ReceiveSecurity<'_> {
        match self.mode {
            Mode::None => ReceiveSecurity::none(),
            Mode::Sign => ReceiveSecurity::new(SecurityLevel::Sign, Some(&self.users)).unwrap(),
            Mode::Encrypt => ReceiveSecurity::new(SecurityLevel::Encrypt, Some(&self.users)).unwrap(),
        }
    }

    fn protection(&self) -> Protection {
        match self.mode {
            Mode::None => Protection::Plain,
            Mode::Sign => Protection::Signed,
            Mode::Encrypt => Protection::Encrypted,
        }
    }

    fn username(&self) -> Option<&str> {
        (self.mode != Mode::None).then(|| self.creds.username())
    }
}

/// Any security mode, with usernames of 1 to 64 bytes and passwords an AuthFile line can
/// carry (the username has no `:` and does not start with a space or `#`; the password
/// does not start with a space).
fn setup() -> impl Strategy<Value = Setup> {
    let credentials =
        prop_oneof![Just(("admin".to_owned(), "admin".to_owned())), ("[a-zA-Z0-9_.@-]{1,64}", "[!-~][ -~]{0,40}")];
    (mode(), credentials).prop_map(|(mode, (user, password))| Setup::new(mode, &user, &password))
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The number a TIME/INTERVAL or TIME_HR/INTERVAL_HR part carries.
fn time_on_wire(time: CdTime, resolution: TimeResolution) -> u64 {
    match resolution {
        TimeResolution::HighResolution => time.raw(),
        TimeResolution::Seconds => time.as_secs_rounded(),
    }
}

/// What the receiver computes from a time the writer sends with this resolution.
fn time_on_receiver(time: CdTime, resolution: TimeResolution) -> CdTime {
    match resolution {
        TimeResolution::HighResolution => time,
        // TIME/INTERVAL carry whole seconds, rounded; collectd shifts them by 30 bits.
        TimeResolution::Seconds => CdTime::from_raw(time.as_secs_rounded() << 30),
    }
}

fn expected_on_receiver(vl: &ValueList<'_>, resolution: TimeResolution) -> ValueList<'static> {
    let mut expected = vl.clone().into_owned();
    expected.time = time_on_receiver(vl.time, resolution);
    expected.interval = time_on_receiver(vl.interval, resolution);
    expected
}

/// Equality of value lists down to the wire bits of each value (so -0.0 differs from
/// 0.0, and every NaN is collectd's one NaN).
fn assert_same(actual: &ValueList<'_>, expected: &ValueList<'_>) -> Result<(), TestCaseError> {
    prop_assert_eq!(actual.identifier(), expected.identifier());
    prop_assert_eq!(actual.time, expected.time);
    prop_assert_eq!(actual.interval, expected.interval);
    let wire = |vl: &ValueList<'_>| vl.values.iter().map(|v| (v.ds_type(), v.to_wire())).collect::<Vec<_>>();
    prop_assert_eq!(wire(actual), wire(expected));
    Ok(())
}

/// Writes the value lists as a client does: on `PacketFull`, finish and retry. Value lists
/// the writer refuses must be refused for the documented reason (only: a time that is
/// zero once in whole seconds). Returns the datagrams and the value lists written.
fn write_all<'v>(
    writer: &mut PacketWriter,
    vls: &'v [ValueList<'static>],
) -> Result<(Vec<Vec<u8>>, Vec<&'v ValueList<'static>>), TestCaseError> {
    let resolution = writer.options().get_time_resolution();
    let mut datagrams = Vec::new();
    let mut written = Vec::new();
    for vl in vls {
        let before = writer.len();
        let result = match writer.write(vl) {
            Err(EncodeError::PacketFull) => {
                prop_assert!(!writer.is_empty(), "PacketFull on an empty packet");
                prop_assert_eq!(writer.len(), before);
                datagrams.push(writer.finish().unwrap().unwrap());
                writer.write(vl)
            }
            other => other,
        };
        let reaches_zero = time_on_receiver(vl.time, resolution) == CdTime::ZERO;
        match result {
            Ok(()) => {
                prop_assert!(!reaches_zero, "wrote a value list whose time the receiver sees as 0");
                written.push(vl);
            }
            Err(EncodeError::ZeroTime) if reaches_zero => prop_assert!(writer.len() <= before),
            Err(e) => return Err(TestCaseError::fail(format!("unexpected {e:?} for {vl:?}"))),
        }
    }
    datagrams.extend(writer.finish().unwrap());
    Ok((datagrams, written))
}

fn owned_value_lists(bytes: &[u8], security: &ReceiveSecurity<'_>) -> (Vec<ValueList<'static>>, Vec<ParseError>) {
    let datagram = parse(bytes, security);
    (datagram.value_lists().map(|vl| vl.clone().into_owned()).collect(), datagram.errors)
}

// ---------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config(64))]

    /// One value list, alone in a packet, at every resolution and security mode.
    #[test]
    fn value_list_round_trips(vl in value_list(), resolution in resolution(), setup in setup()) {
        let options = WriterOptions::default().time_resolution(resolution).security(setup.security());
        let mut writer = PacketWriter::new(options).unwrap();
        let (datagrams, written) = write_all(&mut writer, std::slice::from_ref(&vl))?;
        if written.is_empty() {
            // Refused: its time rounds to zero whole seconds.
            prop_assert!(datagrams.is_empty());
            return Ok(());
        }
        prop_assert_eq!(datagrams.len(), 1);
        let datagram = parse(&datagrams[0], &setup.receiver());
        prop_assert!(datagram.errors.is_empty(), "{:?}", datagram.errors);
        prop_assert!(datagram.notices.is_empty(), "{:?}", datagram.notices);
        prop_assert_eq!(datagram.records.len(), 1);
        let received = &datagram.records[0];
        prop_assert_eq!(received.protection, setup.protection());
        prop_assert_eq!(received.username.as_deref(), setup.username());
        let Record::Values(parsed) = &received.record else { return Err(TestCaseError::fail("not values")) };
        assert_same(parsed, &expected_on_receiver(&vl, resolution))?;
    }

}

proptest! {
    #![proptest_config(config(32))]

    /// Many value lists, split into packets at any size: every datagram fits, and the
    /// value lists come back complete and in order.
    #[test]
    fn packets_split_at_every_size(
        vls in vec(value_list(), 1..100),
        size in prop_oneof![1024usize..=1200, 1024usize..=65535],
        resolution in resolution(),
        setup in setup(),
    ) {
        let options = WriterOptions::default()
            .max_packet_size(size)
            .time_resolution(resolution)
            .security(setup.security());
        let mut writer = PacketWriter::new(options).unwrap();
        let (datagrams, written) = write_all(&mut writer, &vls)?;
        let receiver = setup.receiver();
        let mut parsed = Vec::new();
        for datagram in &datagrams {
            prop_assert!(datagram.len() <= size, "{} > {}", datagram.len(), size);
            let (vls, errors) = owned_value_lists(datagram, &receiver);
            prop_assert!(errors.is_empty(), "{:?}", errors);
            prop_assert!(!vls.is_empty(), "an empty datagram");
            parsed.extend(vls);
        }
        prop_assert_eq!(parsed.len(), written.len());
        for (p, w) in parsed.iter().zip(&written) {
            assert_same(p, &expected_on_receiver(w, resolution))?;
        }
    }
}

proptest! {
    #![proptest_config(config(64))]

    /// Consecutive value lists that share some fields and not others: what the writer
    /// leaves out (because it is unchanged) the receiver still knows.
    #[test]
    fn deduplication_never_loses_state(
        vls in related_value_lists(60),
        size in prop_oneof![1024usize..=1100, Just(65535usize)],
        resolution in resolution(),
    ) {
        let options = WriterOptions::default().max_packet_size(size).time_resolution(resolution);
        let mut writer = PacketWriter::new(options).unwrap();
        let mut datagrams = Vec::new();
        let mut written = Vec::new();
        for (i, vl) in vls.iter().enumerate() {
            if time_on_receiver(vl.time, resolution) == CdTime::ZERO {
                prop_assert_eq!(writer.write(vl), Err(EncodeError::ZeroTime));
                continue;
            }
            let before = writer.len();
            match writer.write(vl) {
                Ok(()) => {
                    // A value list equal to the previous one but for its values costs
                    // only its VALUES part.
                    let unchanged = i > 0 && before > 0 && {
                        let prev = &vls[i - 1];
                        prev.identifier() == vl.identifier()
                            && time_on_wire(prev.time, resolution) == time_on_wire(vl.time, resolution)
                            && time_on_wire(prev.interval, resolution) == time_on_wire(vl.interval, resolution)
                            && written.last() == Some(&(i - 1))
                    };
                    if unchanged {
                        prop_assert_eq!(writer.len() - before, 6 + 9 * vl.values.len());
                    }
                }
                Err(EncodeError::PacketFull) => {
                    datagrams.push(writer.finish().unwrap().unwrap());
                    writer.write(vl).unwrap();
                }
                Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
            }
            written.push(i);
        }
        datagrams.extend(writer.finish().unwrap());
        let mut parsed = Vec::new();
        for datagram in &datagrams {
            let (vls, errors) = owned_value_lists(datagram, &ReceiveSecurity::none());
            prop_assert!(errors.is_empty(), "{:?}", errors);
            parsed.extend(vls);
        }
        prop_assert_eq!(parsed.len(), written.len());
        for (p, &i) in parsed.iter().zip(&written) {
            assert_same(p, &expected_on_receiver(&vls[i], resolution))?;
        }
    }

    /// Notifications, with every severity, any identifier fields (empty or not) and
    /// messages of 1 to 255 bytes.
    #[test]
    fn notification_round_trips(
        severity in select(vec![Severity::Failure, Severity::Warning, Severity::Okay]),
        time in nonzero_time(),
        fields in (name(), name(), name(), name(), name()),
        message in prop_oneof![
            vec(non_nul_char(), 1..80).prop_map(|cs| fit(cs, MAX_MESSAGE_LEN)),
            vec(non_nul_char(), 240..300).prop_map(|cs| fit(cs, MAX_MESSAGE_LEN)),
            Just("x".repeat(MAX_MESSAGE_LEN)),
            Just("m".to_owned()),
        ],
        resolution in resolution(),
        setup in setup(),
    ) {
        prop_assume!(!message.is_empty());
        let (host, plugin, plugin_instance, type_, type_instance) = fields;
        let n = Notification::new(severity, CdTime::from_raw(time), message)
            .with_host(host)
            .with_plugin(plugin)
            .with_plugin_instance(plugin_instance)
            .with_type(type_)
            .with_type_instance(type_instance);
        let options = WriterOptions::default().time_resolution(resolution).security(setup.security());
        let expected_time = time_on_receiver(n.time, resolution);
        let strings = [&n.host, &n.plugin, &n.plugin_instance, &n.type_, &n.type_instance];
        let payload = 24 + strings.iter().filter(|s| !s.is_empty()).map(|s| s.len() + 5).sum::<usize>()
            + n.message.len() + 5;
        let capacity = 1452 - setup.security().overhead();
        let bytes = match encode_notification(&n, &options) {
            Err(EncodeError::ZeroTime) if expected_time == CdTime::ZERO => return Ok(()),
            other => other.unwrap(),
        };
        prop_assert!(expected_time != CdTime::ZERO, "encoded a notification the receiver sees at time 0");
        prop_assert_eq!(bytes.len(), payload + setup.security().overhead());
        // In the smallest packets, the largest notifications do not fit once sealed.
        let small = options.clone().max_packet_size(1024);
        match encode_notification(&n, &small) {
            Ok(small_bytes) => prop_assert!(small_bytes.len() <= 1024 && payload <= capacity - 428),
            Err(e) => {
                prop_assert_eq!(e, EncodeError::TooLarge { needed: payload, capacity: capacity - 428 });
            }
        }
        let datagram = parse(&bytes, &setup.receiver());
        prop_assert!(datagram.errors.is_empty(), "{:?}", datagram.errors);
        prop_assert!(datagram.notices.is_empty(), "{:?}", datagram.notices);
        prop_assert_eq!(datagram.records.len(), 1);
        prop_assert_eq!(datagram.records[0].protection, setup.protection());
        prop_assert_eq!(datagram.records[0].username.as_deref(), setup.username());
        let expected = Notification { time: expected_time, ..n };
        prop_assert_eq!(&datagram.records[0].record, &Record::Notification(expected));
    }

    /// Up to the largest VALUES part: the writer either round-trips the value list or
    /// says it is too large for a packet, and only when it is.
    #[test]
    fn large_value_counts(n in prop_oneof![1usize..=300, (MAX_VALUES - 200)..=(MAX_VALUES + 2)], seed in any::<u64>()) {
        let values: Vec<Value> = (0..n as u64).map(|i| Value::Derive((seed ^ i) as i64)).collect();
        let vl = ValueList::new("h", "p", "t", values).with_time(CdTime::from_secs(1));
        let mut writer = PacketWriter::new(WriterOptions::default().max_packet_size(65535)).unwrap();
        let needed = 3 * 6 + 12 + 6 + 9 * n;
        match writer.write(&vl) {
            Ok(()) => {
                prop_assert!(needed <= 65535);
                let packet = writer.finish().unwrap().unwrap();
                prop_assert_eq!(packet.len(), needed);
                let (parsed, errors) = owned_value_lists(&packet, &ReceiveSecurity::none());
                prop_assert!(errors.is_empty());
                assert_same(&parsed[0], &vl)?;
            }
            Err(EncodeError::TooLarge { needed: reported, capacity }) => {
                prop_assert!(n <= MAX_VALUES && needed > 65535);
                prop_assert_eq!((reported, capacity), (needed, 65535));
            }
            Err(EncodeError::TooManyValues { count }) => prop_assert!(count == n && n > MAX_VALUES),
            Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
        }
        prop_assert!(writer.is_empty());
    }
}

// ---------------------------------------------------------------------------------------
// The parser never panics
// ---------------------------------------------------------------------------------------

fn users() -> AuthFile {
    AuthFile::parse(b"admin: admin\nbob: secret\n")
}

/// What the streaming parser reports, decoded and collected by hand.
fn collect_each(bytes: &[u8], receiver: &ReceiveSecurity<'_>) -> Datagram<'static> {
    let user = |raw: Option<&[u8]>| raw.map(|u| Cow::Owned(String::from_utf8_lossy(u).into_owned()));
    let mut collected = Datagram::default();
    parse_each(bytes, receiver, |event| match event {
        Event::Values(raw) => collected.records.push(Received {
            record: Record::Values(raw.to_value_list().into_owned()),
            protection: raw.protection,
            username: user(raw.username),
        }),
        Event::Notification(raw) => collected.records.push(Received {
            record: Record::Notification(raw.to_notification().into_owned()),
            protection: raw.protection,
            username: user(raw.username),
        }),
        Event::Error(error) => collected.errors.push(error),
        Event::Notice(notice) => collected.notices.push(notice),
    });
    collected
}

/// Parses at every receiver configuration; checks that every offset is inside the
/// datagram, and that the streaming parser reports exactly what `parse` collects.
fn parse_everywhere(bytes: &[u8]) -> Result<(), TestCaseError> {
    let users = users();
    let receivers = [
        ReceiveSecurity::none(),
        ReceiveSecurity::new(SecurityLevel::None, Some(&users)).unwrap(),
        ReceiveSecurity::new(SecurityLevel::Sign, Some(&users)).unwrap(),
        ReceiveSecurity::new(SecurityLevel::Encrypt, Some(&users)).unwrap(),
    ];
    for receiver in &receivers {
        let datagram = parse(bytes, receiver);
        // Debug text, not `==`: NaN gauges are equal on the wire but not as floats.
        prop_assert_eq!(format!("{:?}", collect_each(bytes, receiver)), format!("{datagram:?}"));
        for error in &datagram.errors {
            prop_assert!(error.offset < bytes.len(), "{error:?} in {} bytes", bytes.len());
            let _ = error.to_string();
        }
        for notice in &datagram.notices {
            prop_assert!(notice.offset < bytes.len(), "{notice:?} in {} bytes", bytes.len());
            let _ = notice.to_string();
        }
        for record in &datagram.records {
            if let Record::Values(vl) = &record.record {
                let _ = vl.values.to_vec();
            }
        }
    }
    Ok(())
}

/// A part with a plausible type and header: what makes random input reach deep.
fn part() -> impl Strategy<Value = Vec<u8>> {
    let part_type = prop_oneof![
        select(vec![0x0000u16, 0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0007, 0x0008, 0x0009]),
        select(vec![0x0100u16, 0x0101, 0x0200, 0x0210]),
        any::<u16>(),
    ];
    let body = prop_oneof![
        vec(any::<u8>(), 0..40),
        // A string with its NUL.
        "[a-z]{0,10}".prop_map(|s| {
            let mut b = s.into_bytes();
            b.push(0);
            b
        }),
        // A number.
        any::<u64>().prop_map(|n| n.to_be_bytes().to_vec()),
        // Values with mostly known codes.
        vec((0u8..5, any::<[u8; 8]>()), 0..5).prop_map(|vs| {
            let mut b = (vs.len() as u16).to_be_bytes().to_vec();
            b.extend(vs.iter().map(|v| v.0));
            vs.iter().for_each(|v| b.extend_from_slice(&v.1));
            b
        }),
        // A signature or encryption header for a known user.
        vec(any::<u8>(), 32..=32).prop_map(|mut mac| {
            mac.extend_from_slice(b"admin");
            mac
        }),
        vec(any::<u8>(), 16..60).prop_map(|rest| {
            let mut b = vec![0, 5];
            b.extend_from_slice(b"admin");
            b.extend(rest);
            b
        }),
    ];
    let length_fix = prop_oneof![8 => Just(None), 1 => any::<u16>().prop_map(Some)];
    (part_type, body, length_fix).prop_map(|(t, body, fix)| {
        let len = fix.unwrap_or((body.len() + 4).min(65535) as u16);
        let mut b = t.to_be_bytes().to_vec();
        b.extend_from_slice(&len.to_be_bytes());
        b.extend(body);
        b
    })
}

/// A valid datagram (one packet of random value lists, any security mode) and the
/// receiver for it.
fn valid_datagram() -> impl Strategy<Value = (Vec<u8>, Setup, Vec<usize>)> {
    (vec(value_list(), 1..8), setup()).prop_map(|(vls, setup)| {
        let options = WriterOptions::default().max_packet_size(65535).security(setup.security());
        let mut writer = PacketWriter::new(options).unwrap();
        let mut ends = Vec::new();
        for vl in &vls {
            writer.write(vl).unwrap();
            ends.push(writer.len());
        }
        (writer.finish().unwrap().unwrap(), setup, ends)
    })
}

/// The offsets where parts start in a plain, well-formed datagram, and its end.
fn part_boundaries(bytes: &[u8]) -> Vec<usize> {
    let mut out = vec![0];
    let mut pos = 0;
    while pos < bytes.len() {
        pos += u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]) as usize;
        out.push(pos);
    }
    assert_eq!(pos, bytes.len());
    out
}

/// The start of the part holding byte `at`.
fn part_start(boundaries: &[usize], at: usize) -> usize {
    *boundaries.iter().rev().find(|&&b| b <= at).unwrap()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        parse_everywhere(&bytes)?;
    }

    #[test]
    fn arbitrary_parts_never_panic(parts in vec(part(), 0..30), tail in vec(any::<u8>(), 0..6)) {
        let mut bytes = parts.concat();
        bytes.extend(tail);
        parse_everywhere(&bytes)?;
    }
}

proptest! {
    #![proptest_config(config(32))]

    /// Truncating a datagram anywhere: no panic; for a plain one, exactly the value lists
    /// that ended before the cut come back, with the error a receiver gets from
    /// `recvfrom` cutting a datagram above its `MaxPacketSize`.
    #[test]
    fn truncations(valid in valid_datagram()) {
        let (bytes, setup, ends) = valid;
        let full = owned_value_lists(&bytes, &setup.receiver()).0;
        prop_assert_eq!(full.len(), ends.len());
        let boundaries = (setup.mode == Mode::None).then(|| part_boundaries(&bytes));
        // Every cut of a plain datagram; of a signed or encrypted one (where each parse
        // verifies or decrypts it all), the first and last bytes and every 7th cut.
        let cuts = (0..bytes.len()).filter(|&cut| {
            boundaries.is_some() || cut < 48 || cut + 16 > bytes.len() || cut % 7 == 0
        });
        for cut in cuts {
            let truncated = &bytes[..cut];
            let datagram = parse(truncated, &setup.receiver());
            let Some(boundaries) = &boundaries else {
                // Signed or encrypted: a cut invalidates the whole datagram.
                prop_assert!(datagram.records.is_empty(), "cut at {cut}");
                continue;
            };
            parse_everywhere(truncated)?;
            let complete = ends.iter().filter(|&&end| end <= cut).count();
            let parsed: Vec<_> = datagram.value_lists().collect();
            prop_assert_eq!(parsed.len(), complete, "cut at {}", cut);
            for (p, f) in parsed.iter().zip(&full) {
                assert_same(p, f)?;
            }
            let start = part_start(boundaries, cut);
            let expected: Vec<ParseError> = if start == cut {
                vec![]
            } else if cut - start <= 4 {
                vec![ParseError { offset: start, kind: ParseErrorKind::TrailingBytes { count: cut - start } }]
            } else {
                let length = u16::from_be_bytes([bytes[start + 2], bytes[start + 3]]) as usize;
                vec![ParseError {
                    offset: start,
                    kind: ParseErrorKind::PartExceedsDatagram { length, remaining: cut - start },
                }]
            };
            prop_assert_eq!(datagram.errors, expected, "cut at {}", cut);
        }
    }

    /// Changing or inserting bytes: no panic; what came before the damaged part of a
    /// plain datagram still comes back.
    #[test]
    fn flipped_and_inserted_bytes(
        valid in valid_datagram(),
        flips in vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
        insert_at in any::<prop::sample::Index>(),
        inserted in vec(any::<u8>(), 1..8),
    ) {
        let (bytes, setup, ends) = valid;
        let receiver = setup.receiver();
        let full = owned_value_lists(&bytes, &receiver).0;
        let boundaries = (setup.mode == Mode::None).then(|| part_boundaries(&bytes));
        let check_prefix = |damaged: &[u8], first_damaged: usize| -> Result<(), TestCaseError> {
            parse_everywhere(damaged)?;
            let (parsed, _) = owned_value_lists(damaged, &receiver);
            match &boundaries {
                Some(boundaries) => {
                    let intact = part_start(boundaries, first_damaged);
                    let kept = ends.iter().filter(|&&end| end <= intact).count();
                    prop_assert!(parsed.len() >= kept);
                    for (p, f) in parsed.iter().zip(&full).take(kept) {
                        assert_same(p, f)?;
                    }
                }
                // A signature covers everything after it, an encrypted part itself: bytes
                // inserted before a signature or around an encrypted part can only form
                // plain parts, which the receiver skips.
                None if first_damaged == 0 => {}
                None if first_damaged == bytes.len() && setup.mode == Mode::Encrypt => {
                    prop_assert_eq!(parsed.len(), full.len());
                }
                None => prop_assert!(parsed.is_empty()),
            }
            Ok(())
        };

        let mut flipped = bytes.clone();
        let mut first = usize::MAX;
        for (index, mask) in &flips {
            let i = index.index(bytes.len());
            flipped[i] ^= mask;
            first = first.min(i);
        }
        check_prefix(&flipped, first)?;

        let at = insert_at.index(bytes.len() + 1);
        let mut longer = bytes.clone();
        longer.splice(at..at, inserted.iter().copied());
        check_prefix(&longer, at)?;
    }
}

// ---------------------------------------------------------------------------------------
// The writer's validation
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum Defect {
    TooLong(Field),
    Nul(Field),
    Empty(Field),
    ZeroTime,
    NoValues,
    TooManyValues,
}

fn field() -> impl Strategy<Value = Field> {
    select(vec![Field::Host, Field::Plugin, Field::PluginInstance, Field::Type, Field::TypeInstance])
}

fn defect() -> impl Strategy<Value = Defect> {
    prop_oneof![
        field().prop_map(Defect::TooLong),
        field().prop_map(Defect::Nul),
        select(vec![Field::Host, Field::Plugin, Field::Type]).prop_map(Defect::Empty),
        Just(Defect::ZeroTime),
        Just(Defect::NoValues),
        Just(Defect::TooManyValues),
    ]
}

fn field_mut<'v, 'a>(vl: &'v mut ValueList<'a>, field: Field) -> &'v mut Cow<'a, str> {
    match field {
        Field::Host => &mut vl.host,
        Field::Plugin => &mut vl.plugin,
        Field::PluginInstance => &mut vl.plugin_instance,
        Field::Type => &mut vl.type_,
        Field::TypeInstance => &mut vl.type_instance,
        Field::Message => unreachable!(),
    }
}

proptest! {
    #![proptest_config(config(96))]

    /// A value list collectd would drop is refused with the matching error, and the
    /// packet is exactly as it was: finishing it gives the same bytes as a writer that
    /// never saw the bad value list.
    #[test]
    fn writer_refuses_what_collectd_drops(
        before in vec(value_list(), 0..4),
        base in value_list(),
        defect in defect(),
        long in vec(non_nul_char(), 128..200).prop_map(|cs| {
            let mut s = fit(cs, 400);
            while s.len() <= MAX_NAME_LEN {
                s.push('y');
            }
            s
        }),
        nul_name in (name(), any::<prop::sample::Index>()).prop_map(|(s, i)| {
            let mut s = fit(s.chars(), MAX_NAME_LEN - 1);
            let at = s.char_indices().map(|(at, _)| at).chain([s.len()]).nth(i.index(s.chars().count() + 1)).unwrap();
            s.insert(at, '\0');
            s
        }),
        sign in any::<bool>(),
    ) {
        let security = if sign { Security::Sign(Credentials::new("admin", "admin").unwrap()) } else { Security::None };
        let options = WriterOptions::default().max_packet_size(65535).security(security);
        let mut writer = PacketWriter::new(options).unwrap();
        for vl in &before {
            writer.write(vl).unwrap();
        }
        let mut reference = writer.clone();
        let (len, count) = (writer.len(), writer.value_lists());

        let mut bad = base.clone();
        let expected = match defect {
            Defect::TooLong(field) => {
                *field_mut(&mut bad, field) = long.clone().into();
                EncodeError::StringTooLong { field, len: long.len() }
            }
            Defect::Nul(field) => {
                *field_mut(&mut bad, field) = nul_name.clone().into();
                EncodeError::NulInString { field }
            }
            Defect::Empty(field) => {
                *field_mut(&mut bad, field) = "".into();
                EncodeError::EmptyField { field }
            }
            Defect::ZeroTime => {
                bad.time = CdTime::ZERO;
                EncodeError::ZeroTime
            }
            Defect::NoValues => {
                bad.values = Vec::new().into();
                EncodeError::NoValues
            }
            Defect::TooManyValues => {
                bad.values = vec![Value::Gauge(1.0); MAX_VALUES + 1].into();
                EncodeError::TooManyValues { count: MAX_VALUES + 1 }
            }
        };
        prop_assert_eq!(validate_value_list(&bad), Err(expected.clone()));
        prop_assert_eq!(writer.write(&bad), Err(expected));
        prop_assert_eq!((writer.len(), writer.value_lists()), (len, count));

        // And the packet goes on as if nothing happened.
        writer.write(&base).unwrap();
        reference.write(&base).unwrap();
        prop_assert_eq!(writer.finish().unwrap(), reference.finish().unwrap());
    }
}

#[test]
fn notification_validation() {
    let ok = Notification::new(Severity::Okay, CdTime::from_secs(1), "m");
    let options = WriterOptions::default();
    assert!(encode_notification(&ok, &options).is_ok());
    let cases = [
        (Notification { message: "".into(), ..ok.clone() }, EncodeError::EmptyField { field: Field::Message }),
        (
            Notification { message: "é".repeat(128).into(), ..ok.clone() },
            EncodeError::StringTooLong { field: Field::Message, len: 256 },
        ),
        (Notification { message: "a\0b".into(), ..ok.clone() }, EncodeError::NulInString { field: Field::Message }),
        (Notification { time: CdTime::ZERO, ..ok.clone() }, EncodeError::ZeroTime),
        (
            Notification { host: "h".repeat(128).into(), ..ok.clone() },
            EncodeError::StringTooLong { field: Field::Host, len: 128 },
        ),
        (
            Notification { type_instance: "\0".into(), ..ok.clone() },
            EncodeError::NulInString { field: Field::TypeInstance },
        ),
    ];
    for (n, expected) in cases {
        assert_eq!(encode_notification(&n, &options), Err(expected));
    }
    assert_eq!(
        encode_notification(&ok, &WriterOptions::default().max_packet_size(1023)),
        Err(EncodeError::PacketSizeOutOfRange { size: 1023 })
    );
    // 127 and 255 bytes are the limits.
    let longest = Notification { message: "m".repeat(255).into(), host: "h".repeat(127).into(), ..ok.clone() };
    assert!(encode_notification(&longest, &options).is_ok());

    // The largest notification, sealed with the longest username, exceeds 1024 bytes.
    let name = || Cow::Owned("n".repeat(MAX_NAME_LEN));
    let largest = Notification {
        message: "m".repeat(MAX_MESSAGE_LEN).into(),
        host: name(),
        plugin: name(),
        plugin_instance: name(),
        type_: name(),
        type_instance: name(),
        ..ok
    };
    let creds = Credentials::new("u".repeat(64), "pw").unwrap();
    for (security, overhead) in [(Security::Sign(creds.clone()), 100), (Security::Encrypt(creds), 106)] {
        let small = WriterOptions::default().max_packet_size(1024).security(security);
        assert_eq!(
            encode_notification(&largest, &small),
            Err(EncodeError::TooLarge { needed: 944, capacity: 1024 - overhead })
        );
        assert_eq!(encode_notification(&largest, &small.max_packet_size(1050)).unwrap().len(), 944 + overhead);
    }
    assert_eq!(encode_notification(&largest, &WriterOptions::default().max_packet_size(1024)).unwrap().len(), 944);
}

#[test]
fn packet_sizes_outside_collectds_range_are_refused() {
    for size in [0, 1, 1023, 65536, usize::MAX] {
        let options = WriterOptions::default().max_packet_size(size);
        assert_eq!(PacketWriter::new(options).unwrap_err(), EncodeError::PacketSizeOutOfRange { size });
    }
    for size in [1024, 1452, 65535] {
        assert!(PacketWriter::new(WriterOptions::default().max_packet_size(size)).is_ok());
    }
}

/// A time under half a second is nonzero, but in whole seconds it is 0, and collectd
/// drops value lists and notifications whose time is 0.
#[test]
fn times_that_round_to_zero_seconds_are_refused() {
    let seconds = WriterOptions::default().time_resolution(TimeResolution::Seconds);
    for raw in [1u64, (1 << 29) - 1, u64::MAX - (1 << 29) + 1, u64::MAX] {
        let vl = ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_raw(raw));
        let mut writer = PacketWriter::new(seconds.clone()).unwrap();
        assert_eq!(writer.write(&vl), Err(EncodeError::ZeroTime), "time {raw:#x}");
        assert!(writer.is_empty());
        let n = Notification::new(Severity::Okay, CdTime::from_raw(raw), "m");
        assert_eq!(encode_notification(&n, &seconds), Err(EncodeError::ZeroTime), "time {raw:#x}");
        // In high resolution they are fine.
        let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
        writer.write(&vl).unwrap();
        let packet = writer.finish().unwrap().unwrap();
        assert_eq!(parse(&packet, &ReceiveSecurity::none()).value_lists().count(), 1);
    }
    // Half a second rounds up to one; the largest time that does not overflow.
    for (raw, secs) in [(1u64 << 29, 1u64), (u64::MAX - (1 << 29), (1 << 34) - 1)] {
        let vl = ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_raw(raw));
        let mut writer = PacketWriter::new(seconds.clone()).unwrap();
        writer.write(&vl).unwrap();
        let packet = writer.finish().unwrap().unwrap();
        let datagram = parse(&packet, &ReceiveSecurity::none());
        assert_eq!(datagram.value_lists().next().unwrap().time, CdTime::from_secs(secs));
    }
}
