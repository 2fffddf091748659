//! A corpus of malformed and unusual datagrams, one test per case: the error (kind and
//! byte offset) a collectd 5.12 receiver would stop at, the records read before it, and
//! the receiver's rules about state and security between parts (protocol.md §3).

use collectd::protocol::{
    AuthFile, CdTime, Credentials, Datagram, DropReason, Event, Notice, NoticeKind, ParseError, ParseErrorKind,
    Protection, ReceiveSecurity, SecurityLevel, Value, ValueList, encrypt_with_iv, parse, parse_each, part, sign,
};

// ---------------------------------------------------------------------------------------
// Building datagrams part by part
// ---------------------------------------------------------------------------------------

/// A part with the given payload; its length field counts the header.
fn raw(part_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = header(part_type, (payload.len() + 4) as u16);
    out.extend_from_slice(payload);
    out
}

/// A part header alone, with any length.
fn header(part_type: u16, length: u16) -> Vec<u8> {
    let mut out = part_type.to_be_bytes().to_vec();
    out.extend_from_slice(&length.to_be_bytes());
    out
}

/// A string part: the bytes and their NUL.
fn string(part_type: u16, value: &[u8]) -> Vec<u8> {
    let mut payload = value.to_vec();
    payload.push(0);
    raw(part_type, &payload)
}

fn number(part_type: u16, value: u64) -> Vec<u8> {
    raw(part_type, &value.to_be_bytes())
}

/// A VALUES part with the given type codes and 8-byte values.
fn values(list: &[(u8, [u8; 8])]) -> Vec<u8> {
    let mut payload = (list.len() as u16).to_be_bytes().to_vec();
    payload.extend(list.iter().map(|(code, _)| *code));
    for (_, bytes) in list {
        payload.extend_from_slice(bytes);
    }
    raw(part::VALUES, &payload)
}

fn gauge(value: f64) -> Vec<u8> {
    values(&[(1, value.to_le_bytes())])
}

const TIME: u64 = 1_700_000_000 << 30;

/// A datagram under construction that remembers where each part starts.
#[derive(Default)]
struct Packet(Vec<u8>);

impl Packet {
    /// Appends a part and returns its offset.
    fn push(&mut self, part: impl AsRef<[u8]>) -> usize {
        let offset = self.0.len();
        self.0.extend_from_slice(part.as_ref());
        offset
    }

    /// Appends the parts of a complete value list `host/plugin/gauge` with value `v`.
    fn value_list(&mut self, host: &str, v: f64) -> &mut Self {
        self.push(string(part::HOST, host.as_bytes()));
        self.push(number(part::TIME_HR, TIME));
        self.push(string(part::PLUGIN, b"plugin"));
        self.push(string(part::TYPE, b"gauge"));
        self.push(gauge(v));
        self
    }

    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The value list `Packet::value_list` writes.
fn expected(host: &str, v: f64) -> ValueList<'static> {
    ValueList::new(host.to_owned(), "plugin", "gauge", vec![Value::Gauge(v)]).with_time(CdTime::from_raw(TIME))
}

fn none() -> ReceiveSecurity<'static> {
    ReceiveSecurity::none()
}

fn owned(datagram: &Datagram<'_>) -> Vec<ValueList<'static>> {
    datagram.value_lists().map(|vl| vl.clone().into_owned()).collect()
}

/// Parses with a receiver at level None without users; checks that the datagram ended
/// with exactly `error`, after exactly the value lists `before`.
#[track_caller]
fn assert_stops(bytes: &[u8], offset: usize, kind: ParseErrorKind, before: &[ValueList<'_>]) {
    assert_stops_at(bytes, &none(), offset, kind, before);
}

#[track_caller]
fn assert_stops_at(
    bytes: &[u8],
    security: &ReceiveSecurity<'_>,
    offset: usize,
    kind: ParseErrorKind,
    before: &[ValueList<'_>],
) {
    let datagram = parse(bytes, security);
    assert_eq!(datagram.errors, vec![ParseError { offset, kind }], "{}", hex::encode(bytes));
    assert_eq!(owned(&datagram), before);
}

fn admin() -> Credentials {
    Credentials::new("admin", "admin").unwrap()
}

fn users() -> AuthFile {
    AuthFile::parse(b"admin: admin\n")
}

const IV: [u8; 16] = [7; 16];

/// Where the plaintext of `encrypt_with_iv(…, admin(), …)` starts in its part.
const PLAINTEXT_OFFSET: usize = 42 + 5;

// ---------------------------------------------------------------------------------------
// Part headers
// ---------------------------------------------------------------------------------------

#[test]
fn truncated_part() {
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let at = p.push(header(part::HOST, 20));
    p.push(b"abcdef");
    assert_stops(
        p.bytes(),
        at,
        ParseErrorKind::PartExceedsDatagram { length: 20, remaining: 10 },
        &[expected("a", 1.0)],
    );
}

#[test]
fn truncated_values_part_like_recvfrom_cuts_it() {
    // A datagram cut inside its last VALUES part: the part's header says more than is left.
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let at = p.push(gauge(2.0));
    let cut = p.bytes().len() - 3;
    assert_stops(
        &p.bytes()[..cut],
        at,
        ParseErrorKind::PartExceedsDatagram { length: 15, remaining: 12 },
        &[expected("a", 1.0)],
    );
}

#[test]
fn part_length_below_4() {
    for length in 0..4 {
        let mut p = Packet::default();
        p.value_list("a", 1.0);
        let at = p.push(header(0x0042, length));
        p.push([0u8; 8]);
        assert_stops(p.bytes(), at, ParseErrorKind::PartTooShort { length: length as usize }, &[expected("a", 1.0)]);
    }
}

#[test]
fn trailing_1_to_4_bytes() {
    for count in 1..=4 {
        let mut p = Packet::default();
        p.value_list("a", 1.0);
        let at = p.push(vec![0xab; count]);
        assert_stops(p.bytes(), at, ParseErrorKind::TrailingBytes { count }, &[expected("a", 1.0)]);
    }
    // Five bytes of zero padding are a HOST part of length 0.
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let at = p.push([0u8; 5]);
    assert_stops(p.bytes(), at, ParseErrorKind::PartTooShort { length: 0 }, &[expected("a", 1.0)]);
}

#[test]
fn unknown_part_types_are_skipped() {
    let mut p = Packet::default();
    let first = p.push(raw(0x0042, b"whatever"));
    p.value_list("a", 1.0);
    let second = p.push(raw(0xffff, &[]));
    let third = p.push(raw(0x0102, &[1, 2, 3, 4, 5, 6, 7, 8]));
    p.push(gauge(2.0));
    let datagram = parse(p.bytes(), &none());
    assert!(datagram.errors.is_empty(), "{:?}", datagram.errors);
    assert_eq!(owned(&datagram), vec![expected("a", 1.0), expected("a", 2.0)]);
    let unknown = |offset, part_type| Notice { offset, kind: NoticeKind::UnknownPart { part_type } };
    assert_eq!(datagram.notices, vec![unknown(first, 0x0042), unknown(second, 0xffff), unknown(third, 0x0102)]);
}

// ---------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------

#[test]
fn string_without_nul() {
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let at = p.push(raw(part::PLUGIN, b"abc"));
    p.push(gauge(2.0));
    assert_stops(p.bytes(), at, ParseErrorKind::StringWithoutNul { part_type: part::PLUGIN }, &[expected("a", 1.0)]);
}

#[test]
fn empty_string_part_without_payload() {
    // Length 4: not even the NUL.
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let at = p.push(header(part::TYPE_INSTANCE, 4));
    p.push(gauge(2.0));
    assert_stops(
        p.bytes(),
        at,
        ParseErrorKind::BadLength { part_type: part::TYPE_INSTANCE, length: 4 },
        &[expected("a", 1.0)],
    );
}

#[test]
fn string_of_128_chars_is_refused() {
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let at = p.push(string(part::HOST, &[b'h'; 128]));
    p.push(gauge(2.0));
    assert_stops(
        p.bytes(),
        at,
        ParseErrorKind::StringTooLong { part_type: part::HOST, length: 129 },
        &[expected("a", 1.0)],
    );
}

#[test]
fn string_of_127_chars_is_accepted() {
    let host = "h".repeat(127);
    let mut p = Packet::default();
    p.value_list(&host, 1.0);
    let datagram = parse(p.bytes(), &none());
    assert!(datagram.errors.is_empty());
    assert_eq!(owned(&datagram), vec![expected(&host, 1.0)]);
}

#[test]
fn message_of_256_chars_is_refused_and_255_accepted() {
    let mut p = Packet::default();
    p.push(number(part::TIME_HR, TIME));
    p.push(number(part::SEVERITY, 2));
    p.push(string(part::MESSAGE, &[b'm'; 255]));
    let at = p.push(string(part::MESSAGE, &[b'm'; 256]));
    let datagram = parse(p.bytes(), &none());
    assert_eq!(
        datagram.errors,
        vec![ParseError { offset: at, kind: ParseErrorKind::StringTooLong { part_type: part::MESSAGE, length: 257 } }]
    );
    let notifications: Vec<_> = datagram.notifications().collect();
    assert_eq!(notifications.len(), 1);
    assert_eq!(notifications[0].message.len(), 255);
}

#[test]
fn string_with_inner_nul_is_cut_at_it() {
    // What C code sees of "ab\0cd\0" is "ab".
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    p.push(raw(part::HOST, b"ab\0cd\0"));
    p.push(gauge(2.0));
    let datagram = parse(p.bytes(), &none());
    assert!(datagram.errors.is_empty());
    assert_eq!(owned(&datagram), vec![expected("a", 1.0), expected("ab", 2.0)]);
}

#[test]
fn names_that_are_not_utf8_are_replaced_in_every_value_list() {
    // collectd takes names as bytes; they come back as text, invalid sequences replaced.
    let mut p = Packet::default();
    p.push(raw(part::HOST, b"a\xffb\0"));
    p.push(number(part::TIME_HR, TIME));
    p.push(string(part::PLUGIN, b"plugin"));
    p.push(string(part::TYPE, b"gauge"));
    p.push(raw(part::TYPE_INSTANCE, b"\xc3\x28\0"));
    p.push(gauge(1.0));
    p.push(gauge(2.0));
    let datagram = parse(p.bytes(), &none());
    assert!(datagram.errors.is_empty());
    let vls = owned(&datagram);
    assert_eq!(vls.len(), 2);
    for vl in &vls {
        assert_eq!(vl.host, "a\u{fffd}b");
        assert_eq!(vl.type_instance, "\u{fffd}(");
    }
}

// ---------------------------------------------------------------------------------------
// VALUES
// ---------------------------------------------------------------------------------------

#[test]
fn values_length_mismatch() {
    // One value declared, one byte too many.
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let mut payload = vec![0, 1, 1];
    payload.extend_from_slice(&2.0f64.to_le_bytes());
    payload.push(0);
    let at = p.push(raw(part::VALUES, &payload));
    assert_stops(p.bytes(), at, ParseErrorKind::ValuesLengthMismatch { length: 16, count: 1 }, &[expected("a", 1.0)]);

    // One byte too few, with more parts after it.
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let at = p.push(raw(part::VALUES, &[0, 1, 1, 0, 0, 0, 0, 0, 0, 0]));
    p.value_list("b", 3.0);
    assert_stops(p.bytes(), at, ParseErrorKind::ValuesLengthMismatch { length: 14, count: 1 }, &[expected("a", 1.0)]);
}

#[test]
fn values_truncated() {
    // Fewer than 15 bytes left for a VALUES part.
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let at = p.push(raw(part::VALUES, &[0, 1, 1, 0, 0, 0]));
    assert_stops(p.bytes(), at, ParseErrorKind::ValuesTruncated { needed: 15, remaining: 10 }, &[expected("a", 1.0)]);

    // Three values declared in a 15-byte part at the end of the datagram.
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let mut payload = vec![0, 3, 1, 1, 1];
    payload.extend_from_slice(&[0; 6]);
    let at = p.push(raw(part::VALUES, &payload));
    assert_stops(p.bytes(), at, ParseErrorKind::ValuesTruncated { needed: 33, remaining: 15 }, &[expected("a", 1.0)]);
}

#[test]
fn unknown_ds_type_code_9() {
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let at = p.push(values(&[(1, 2.0f64.to_le_bytes()), (9, [0; 8])]));
    p.value_list("b", 3.0);
    // The offset is that of the bad type code: after the header and the count, the second code.
    assert_stops(p.bytes(), at + 6 + 1, ParseErrorKind::UnknownDsType { code: 9 }, &[expected("a", 1.0)]);
}

#[test]
fn all_four_ds_types_decode() {
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    p.push(values(&[
        (0, 7u64.to_be_bytes()),
        (1, (-0.5f64).to_le_bytes()),
        (2, (-7i64).to_be_bytes()),
        (3, u64::MAX.to_be_bytes()),
    ]));
    let datagram = parse(p.bytes(), &none());
    assert!(datagram.errors.is_empty());
    let vls = owned(&datagram);
    assert_eq!(
        vls[1].values.to_vec(),
        vec![Value::Counter(7), Value::Gauge(-0.5), Value::Derive(-7), Value::Absolute(u64::MAX)]
    );
}

// ---------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------

#[test]
fn bad_number_part_length() {
    for (part_type, length) in [(part::TIME_HR, 8u16), (part::TIME, 4), (part::INTERVAL_HR, 11), (part::SEVERITY, 5)] {
        let mut p = Packet::default();
        p.value_list("a", 1.0);
        let at = p.push(header(part_type, length));
        p.push(vec![0u8; length as usize - 4]);
        p.value_list("b", 2.0);
        assert_stops(
            p.bytes(),
            at,
            ParseErrorKind::BadLength { part_type, length: length as usize },
            &[expected("a", 1.0)],
        );
    }
}

#[test]
fn number_part_longer_than_12_bytes_is_read_as_collectd_reads_it() {
    // collectd's parse_part_number moves on by 12 bytes but shrinks what is left by the
    // declared length: the 4 extra bytes are read as the next part header, and the last
    // 4 bytes of the datagram are never read.
    let mut p = Packet::default();
    p.push(string(part::HOST, b"a"));
    let mut long_time = header(part::TIME_HR, 16);
    long_time.extend_from_slice(&TIME.to_be_bytes());
    long_time.extend_from_slice(&header(0x0042, 4)); // an empty unknown part
    let time_at = p.push(long_time);
    p.push(string(part::PLUGIN, b"plugin"));
    p.push(string(part::TYPE, b"gauge"));
    p.push(gauge(1.0));
    p.push([0xee; 4]); // unread
    let datagram = parse(p.bytes(), &none());
    assert!(datagram.errors.is_empty(), "{:?}", datagram.errors);
    assert_eq!(
        datagram.notices,
        vec![Notice { offset: time_at + 12, kind: NoticeKind::UnknownPart { part_type: 0x42 } }]
    );
    assert_eq!(owned(&datagram), vec![expected("a", 1.0)]);
}

#[test]
fn seconds_times_are_shifted() {
    let mut p = Packet::default();
    p.push(string(part::HOST, b"a"));
    p.push(number(part::TIME, 1_700_000_000));
    p.push(number(part::INTERVAL, 10));
    p.push(string(part::PLUGIN, b"plugin"));
    p.push(string(part::TYPE, b"gauge"));
    p.push(gauge(1.0));
    let datagram = parse(p.bytes(), &none());
    assert_eq!(owned(&datagram), vec![expected("a", 1.0).with_interval(CdTime::from_secs(10))]);
}

#[test]
fn notifications_follow_collectds_rules() {
    let ignored = |offset, reason| Notice { offset, kind: NoticeKind::NotificationIgnored { reason } };
    let mut p = Packet::default();
    // No time yet.
    p.push(number(part::SEVERITY, 4));
    let no_time = p.push(string(part::MESSAGE, b"m"));
    p.push(number(part::TIME_HR, TIME));
    // Severity 3 is not one of 1, 2, 4.
    p.push(number(part::SEVERITY, 3));
    let bad_severity = p.push(string(part::MESSAGE, b"m"));
    // collectd keeps the low 32 bits: 0x1_0000_0002 is WARNING.
    p.push(number(part::SEVERITY, 0x1_0000_0002));
    p.push(string(part::HOST, b"h"));
    p.push(string(part::TYPE_INSTANCE, b"ti"));
    p.push(string(part::MESSAGE, b"first"));
    let empty = p.push(string(part::MESSAGE, b""));
    // The identifier persists from one notification to the next.
    p.push(string(part::MESSAGE, b"second"));
    let datagram = parse(p.bytes(), &none());
    assert!(datagram.errors.is_empty());
    assert_eq!(
        datagram.notices,
        vec![
            ignored(no_time, DropReason::NoTime),
            ignored(bad_severity, DropReason::UnknownSeverity(3)),
            ignored(empty, DropReason::EmptyMessage),
        ]
    );
    let notifications: Vec<_> = datagram.notifications().collect();
    assert_eq!(notifications.len(), 2);
    for (n, message) in notifications.iter().zip(["first", "second"]) {
        assert_eq!(n.message, message);
        assert_eq!(n.severity, collectd::protocol::Severity::Warning);
        assert_eq!(n.time, CdTime::from_raw(TIME));
        assert_eq!((&*n.host, &*n.plugin, &*n.type_instance), ("h", "", "ti"));
    }
}

// ---------------------------------------------------------------------------------------
// Signature and encryption parts
// ---------------------------------------------------------------------------------------

#[test]
fn bad_signature_part_lengths() {
    let users = users();
    let levels = [none(), ReceiveSecurity::new(SecurityLevel::None, Some(&users)).unwrap()];
    // 36 bytes: header and MAC but no username; 20: not even the MAC.
    for length in [36u16, 20, 4 + 1] {
        for security in &levels {
            let mut p = Packet::default();
            p.value_list("a", 1.0);
            let at = p.push(header(part::SIGNATURE, length));
            p.push(vec![0u8; length as usize - 4]);
            p.value_list("b", 2.0);
            assert_stops_at(
                p.bytes(),
                security,
                at,
                ParseErrorKind::BadSecurityPart { part_type: part::SIGNATURE, length: length as usize },
                &[expected("a", 1.0)],
            );
        }
    }
    // A well-formed signature part with at most 36 bytes left in the datagram.
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let at = p.push(header(part::SIGNATURE, 36));
    p.push([0u8; 32]);
    assert_stops(
        p.bytes(),
        at,
        ParseErrorKind::BadSecurityPart { part_type: part::SIGNATURE, length: 36 },
        &[expected("a", 1.0)],
    );
}

#[test]
fn bad_encryption_part_lengths() {
    let users = users();
    let security = ReceiveSecurity::new(SecurityLevel::None, Some(&users)).unwrap();
    // (part length, username length): no room for a payload; a username longer than the
    // part allows.
    for (length, user_len) in [(42u16, 5u16), (20, 5), (60, 18), (60, 400)] {
        let mut p = Packet::default();
        p.value_list("a", 1.0);
        let mut part = header(part::ENCRYPTION, length);
        part.extend_from_slice(&user_len.to_be_bytes());
        part.resize(length as usize, b'x');
        let at = p.push(part);
        p.value_list("b", 2.0);
        assert_stops_at(
            p.bytes(),
            &security,
            at,
            ParseErrorKind::BadSecurityPart { part_type: part::ENCRYPTION, length: length as usize },
            &[expected("a", 1.0)],
        );
    }
}

#[test]
fn encrypted_part_with_username_length_0() {
    // collectd rejects ulen == 0 before looking anything up.
    let users = users();
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let mut part = header(part::ENCRYPTION, 80);
    part.extend_from_slice(&[0, 0]);
    part.resize(80, 0x55);
    let at = p.push(part);
    for security in [
        none(),
        ReceiveSecurity::new(SecurityLevel::None, Some(&users)).unwrap(),
        ReceiveSecurity::new(SecurityLevel::Sign, Some(&users)).unwrap(),
    ] {
        let before: &[ValueList<'_>] =
            if security.level() == SecurityLevel::None { &[expected("a", 1.0)] } else { &[] };
        assert_stops_at(
            p.bytes(),
            &security,
            at,
            ParseErrorKind::BadSecurityPart { part_type: part::ENCRYPTION, length: 80 },
            before,
        );
    }
}

#[test]
fn errors_inside_signed_and_encrypted_payloads_have_datagram_offsets() {
    let users = users();
    let security = ReceiveSecurity::new(SecurityLevel::None, Some(&users)).unwrap();
    let mut payload = Packet::default();
    payload.value_list("a", 1.0);
    let bad_at = payload.push(raw(part::PLUGIN, b"no-nul"));
    payload.value_list("b", 2.0);

    let mut outer = Packet::default();
    outer.value_list("plain", 0.5);
    let signed_at = outer.push(sign(payload.bytes(), &admin()));
    let datagram = parse(outer.bytes(), &security);
    let offset = signed_at + 36 + 5 + bad_at;
    let kind = ParseErrorKind::StringWithoutNul { part_type: part::PLUGIN };
    assert_eq!(datagram.errors, vec![ParseError { offset, kind: kind.clone() }]);
    assert_eq!(owned(&datagram), vec![expected("plain", 0.5), expected("a", 1.0)]);
    assert_eq!(datagram.records[1].protection, Protection::Signed);

    let mut outer = Packet::default();
    outer.value_list("plain", 0.5);
    let encrypted_at = outer.push(encrypt_with_iv(payload.bytes(), &admin(), IV));
    outer.value_list("after", 3.0);
    let datagram = parse(outer.bytes(), &security);
    // The error ends the encrypted payload only: the plain parts after it are read.
    let offset = encrypted_at + PLAINTEXT_OFFSET + bad_at;
    assert_eq!(datagram.errors, vec![ParseError { offset, kind }]);
    assert_eq!(owned(&datagram), vec![expected("plain", 0.5), expected("a", 1.0), expected("after", 3.0)]);
    assert_eq!(datagram.records[1].protection, Protection::Encrypted);
}

// ---------------------------------------------------------------------------------------
// Dropped value lists
// ---------------------------------------------------------------------------------------

fn dropped(offset: usize, reason: DropReason) -> Notice {
    Notice { offset, kind: NoticeKind::ValueListDropped { reason } }
}

#[test]
fn value_list_without_time_is_dropped_with_a_notice() {
    // No TIME part at all.
    let mut p = Packet::default();
    p.push(string(part::HOST, b"a"));
    p.push(string(part::PLUGIN, b"plugin"));
    p.push(string(part::TYPE, b"gauge"));
    let at = p.push(gauge(1.0));
    // A TIME part of 0.
    p.push(number(part::TIME_HR, 0));
    let zero_at = p.push(gauge(2.0));
    p.push(number(part::TIME, 0));
    let zero_secs_at = p.push(gauge(3.0));
    let datagram = parse(p.bytes(), &none());
    assert!(datagram.errors.is_empty());
    assert!(datagram.records.is_empty());
    assert_eq!(
        datagram.notices,
        vec![
            dropped(at, DropReason::NoTime),
            dropped(zero_at, DropReason::NoTime),
            dropped(zero_secs_at, DropReason::NoTime)
        ]
    );
}

#[test]
fn value_list_with_empty_host_plugin_or_type_is_dropped_with_a_notice() {
    for (part_type, reason) in
        [(part::HOST, DropReason::NoHost), (part::PLUGIN, DropReason::NoPlugin), (part::TYPE, DropReason::NoType)]
    {
        let mut p = Packet::default();
        p.value_list("a", 1.0);
        // An empty string part (5 bytes: the NUL) clears the field.
        p.push(string(part_type, b""));
        let at = p.push(gauge(2.0));
        // Setting it again makes value lists valid again.
        p.push(string(part_type, b"x"));
        p.push(gauge(3.0));
        let datagram = parse(p.bytes(), &none());
        assert!(datagram.errors.is_empty());
        assert_eq!(datagram.notices, vec![dropped(at, reason)]);
        let vls = owned(&datagram);
        assert_eq!(vls.len(), 2, "{part_type}");
        assert_eq!(vls[0], expected("a", 1.0));
    }
    // A datagram with no HOST part at all.
    let mut p = Packet::default();
    p.push(number(part::TIME_HR, TIME));
    p.push(string(part::PLUGIN, b"plugin"));
    p.push(string(part::TYPE, b"gauge"));
    let at = p.push(gauge(1.0));
    assert_eq!(parse(p.bytes(), &none()).notices, vec![dropped(at, DropReason::NoHost)]);
}

// ---------------------------------------------------------------------------------------
// State between parts and datagrams
// ---------------------------------------------------------------------------------------

#[test]
fn state_persists_across_parts() {
    let mut p = Packet::default();
    p.push(string(part::HOST, b"h"));
    p.push(number(part::TIME_HR, TIME));
    p.push(number(part::INTERVAL_HR, 10 << 30));
    p.push(string(part::PLUGIN, b"cpu"));
    p.push(string(part::PLUGIN_INSTANCE, b"0"));
    p.push(string(part::TYPE, b"percent"));
    p.push(string(part::TYPE_INSTANCE, b"idle"));
    p.push(gauge(1.0));
    // Changing TYPE keeps the old TYPE_INSTANCE; changing PLUGIN keeps PLUGIN_INSTANCE.
    p.push(string(part::TYPE, b"gauge"));
    p.push(gauge(2.0));
    p.push(string(part::PLUGIN, b"memory"));
    p.push(gauge(3.0));
    let datagram = parse(p.bytes(), &none());
    assert!(datagram.errors.is_empty());
    let ids: Vec<_> = datagram.value_lists().map(|vl| vl.identifier().to_string()).collect();
    assert_eq!(ids, ["h/cpu-0/percent-idle", "h/cpu-0/gauge-idle", "h/memory-0/gauge-idle"]);
    assert!(datagram.value_lists().all(|vl| vl.time == CdTime::from_raw(TIME)));
    assert!(datagram.value_lists().all(|vl| vl.interval == CdTime::from_secs(10)));
}

#[test]
fn state_never_carries_across_datagrams() {
    let mut first = Packet::default();
    first.value_list("a", 1.0);
    assert_eq!(owned(&parse(first.bytes(), &none())), vec![expected("a", 1.0)]);

    // A datagram with only a VALUES part: nothing from the first one is known.
    let mut second = Packet::default();
    let at = second.push(gauge(2.0));
    let datagram = parse(second.bytes(), &none());
    assert!(datagram.records.is_empty());
    assert_eq!(datagram.notices, vec![dropped(at, DropReason::NoTime)]);

    let mut third = Packet::default();
    third.push(number(part::TIME_HR, TIME));
    let at = third.push(gauge(2.0));
    assert_eq!(parse(third.bytes(), &none()).notices, vec![dropped(at, DropReason::NoHost)]);
}

/// The payload of a value list without HOST.
fn hostless_payload() -> (Packet, usize) {
    let mut payload = Packet::default();
    payload.push(number(part::TIME_HR, TIME));
    payload.push(string(part::PLUGIN, b"plugin"));
    payload.push(string(part::TYPE, b"gauge"));
    let values_at = payload.push(gauge(1.0));
    (payload, values_at)
}

#[test]
fn plain_host_before_a_signature_is_not_inherited() {
    let users = users();
    let (payload, values_at) = hostless_payload();
    let mut p = Packet::default();
    p.push(string(part::HOST, b"outer"));
    let signed_at = p.push(sign(payload.bytes(), &admin()));
    let inner_values_at = signed_at + 36 + 5 + values_at;

    // None with users: the HOST part is read, but the signed payload starts empty.
    let at_none = parse(p.bytes(), &ReceiveSecurity::new(SecurityLevel::None, Some(&users)).unwrap());
    assert!(at_none.errors.is_empty());
    assert!(at_none.records.is_empty());
    assert_eq!(at_none.notices, vec![dropped(inner_values_at, DropReason::NoHost)]);

    // Sign: the HOST part is skipped anyway.
    let at_sign = parse(p.bytes(), &ReceiveSecurity::new(SecurityLevel::Sign, Some(&users)).unwrap());
    assert!(at_sign.records.is_empty());
    assert_eq!(
        at_sign.notices,
        vec![
            Notice { offset: 0, kind: NoticeKind::UnprotectedPartsIgnored { level: SecurityLevel::Sign } },
            dropped(inner_values_at, DropReason::NoHost),
        ]
    );

    // Without users the signature is skipped unverified, and then the parts after it
    // are plain parts of the same payload: the HOST does apply.
    let unverified = parse(p.bytes(), &none());
    assert_eq!(unverified.notices, vec![Notice { offset: signed_at, kind: NoticeKind::UnverifiedSignature }]);
    assert_eq!(owned(&unverified), vec![expected("outer", 1.0)]);
    assert_eq!(unverified.records[0].protection, Protection::Plain);
}

#[test]
fn plain_host_before_an_encrypted_part_is_not_inherited() {
    let users = users();
    let (payload, values_at) = hostless_payload();
    let mut p = Packet::default();
    p.push(string(part::HOST, b"outer"));
    let encrypted_at = p.push(encrypt_with_iv(payload.bytes(), &admin(), IV));
    let datagram = parse(p.bytes(), &ReceiveSecurity::new(SecurityLevel::None, Some(&users)).unwrap());
    assert!(datagram.errors.is_empty());
    assert!(datagram.records.is_empty());
    assert_eq!(datagram.notices, vec![dropped(encrypted_at + PLAINTEXT_OFFSET + values_at, DropReason::NoHost)]);
}

#[test]
fn plain_parts_after_an_encrypted_part() {
    let users = users();
    let mut inner = Packet::default();
    inner.value_list("secret", 1.0);
    let mut p = Packet::default();
    p.push(encrypt_with_iv(inner.bytes(), &admin(), IV));
    let plain_at = p.push({
        let mut plain = Packet::default();
        plain.value_list("plain", 2.0);
        plain.0
    });

    // Accepted at level None.
    let at_none = parse(p.bytes(), &ReceiveSecurity::new(SecurityLevel::None, Some(&users)).unwrap());
    assert!(at_none.errors.is_empty());
    assert!(at_none.notices.is_empty());
    assert_eq!(owned(&at_none), vec![expected("secret", 1.0), expected("plain", 2.0)]);
    assert_eq!(at_none.records[0].protection, Protection::Encrypted);
    assert_eq!(at_none.records[0].username.as_deref(), Some("admin"));
    assert_eq!(at_none.records[1].protection, Protection::Plain);
    assert_eq!(at_none.records[1].username, None);

    // Skipped at level Encrypt, with one notice at the first plain part.
    let at_encrypt = parse(p.bytes(), &ReceiveSecurity::new(SecurityLevel::Encrypt, Some(&users)).unwrap());
    assert!(at_encrypt.errors.is_empty());
    assert_eq!(owned(&at_encrypt), vec![expected("secret", 1.0)]);
    assert_eq!(
        at_encrypt.notices,
        vec![Notice { offset: plain_at, kind: NoticeKind::UnprotectedPartsIgnored { level: SecurityLevel::Encrypt } }]
    );

    // At level Sign an encrypted part counts as protected too; the plain parts do not.
    let at_sign = parse(p.bytes(), &ReceiveSecurity::new(SecurityLevel::Sign, Some(&users)).unwrap());
    assert_eq!(owned(&at_sign), vec![expected("secret", 1.0)]);
    assert_eq!(
        at_sign.notices,
        vec![Notice { offset: plain_at, kind: NoticeKind::UnprotectedPartsIgnored { level: SecurityLevel::Sign } }]
    );
}

// ---------------------------------------------------------------------------------------
// The streaming parser's order
// ---------------------------------------------------------------------------------------

/// `parse_each` reports records, notices and errors in the order of the datagram's
/// parts (which `parse`, collecting them into three lists, cannot show).
#[test]
fn streaming_events_come_in_datagram_order() {
    let mut p = Packet::default();
    p.value_list("a", 1.0);
    let unknown = p.push(raw(0x7777, b"?"));
    p.push(string(part::HOST, b"b"));
    p.push(gauge(2.0));
    p.push(number(part::TIME_HR, 0)); // the next value list has no time: dropped
    let dropped = p.push(gauge(3.0));
    let truncated = p.push(header(part::HOST, 40));
    let mut events = Vec::new();
    parse_each(p.bytes(), &none(), |event| {
        events.push(match event {
            Event::Values(vl) => format!("values {}", String::from_utf8_lossy(vl.host)),
            Event::Notification(_) => "notification".to_owned(),
            Event::Notice(notice) => format!("notice at {}", notice.offset),
            Event::Error(error) => format!("error at {}", error.offset),
        })
    });
    assert_eq!(
        events,
        [
            "values a".to_owned(),
            format!("notice at {unknown}"),
            "values b".to_owned(),
            format!("notice at {dropped}"),
            format!("error at {truncated}"),
        ]
    );
}
