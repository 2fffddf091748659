//! The test vectors of protocol.md §6: decoding, encoding, signing and encryption.

use collectd::protocol::{
    AuthFile, CdTime, Credentials, DsType, NoticeKind, PacketWriter, ParseErrorKind, Protection, ReceiveSecurity,
    Security, SecurityLevel, Value, ValueList, WriterOptions, encrypt, encrypt_with_iv, parse, sign,
};

fn unhex(text: &str) -> Vec<u8> {
    let clean: String = text.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    hex::decode(clean).expect("valid hex")
}

const PACKET1: &str = "000000106578616d706c652e636f6d000002000b676f6c616e67000004000a6761756765000008000c156db1cfaf08ba7a0009000c00000000400000000006000f0001010000000000002440";

fn admin() -> Credentials {
    Credentials::new("admin", "admin").unwrap()
}

fn admin_users() -> AuthFile {
    AuthFile::parse(b"admin: admin\n")
}

#[test]
fn vector_a_decodes_to_the_documented_value_list() {
    let bytes = unhex(PACKET1);
    assert_eq!(bytes.len(), 76);
    let datagram = parse(&bytes, &ReceiveSecurity::none());
    assert!(datagram.errors.is_empty(), "{:?}", datagram.errors);
    let vls: Vec<_> = datagram.value_lists().collect();
    assert_eq!(vls.len(), 1);
    let vl = vls[0];
    assert_eq!(vl.host, "example.com");
    assert_eq!(vl.plugin, "golang");
    assert_eq!(vl.plugin_instance, "");
    assert_eq!(vl.type_, "gauge");
    assert_eq!(vl.type_instance, "");
    assert_eq!(vl.time, CdTime::from_raw(0x156db1cfaf08ba7a));
    assert!((vl.time.as_secs_f64() - 1_438_041_918.734_9).abs() < 1e-4);
    assert_eq!(vl.interval, CdTime::from_secs(1));
    assert_eq!(vl.values.to_vec(), vec![Value::Gauge(10.0)]);
}

#[test]
fn vector_a_is_what_the_writer_produces_for_the_same_value_list() {
    // The writer uses collectd's part order (HOST, TIME, INTERVAL, PLUGIN, TYPE, VALUES),
    // go-collectd's packet1.bin another one; both parse to the same value list.
    let vl = ValueList::new("example.com", "golang", "gauge", vec![Value::Gauge(10.0)])
        .with_time(CdTime::from_raw(0x156db1cfaf08ba7a))
        .with_interval(CdTime::from_secs(1));
    let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    writer.write(&vl).unwrap();
    let ours = writer.finish().unwrap().unwrap();
    let expected = unhex(
        "0000 0010 6578616d706c652e636f6d00
         0008 000c 156db1cfaf08ba7a
         0009 000c 0000000040000000
         0002 000b 676f6c616e6700
         0004 000a 676175676500
         0006 000f 0001 01 0000000000002440",
    );
    assert_eq!(hex::encode(&ours), hex::encode(&expected));
    assert_eq!(ours.len(), unhex(PACKET1).len());
    let theirs = unhex(PACKET1);
    let a = parse(&ours, &ReceiveSecurity::none());
    let b = parse(&theirs, &ReceiveSecurity::none());
    assert_eq!(a.value_lists().collect::<Vec<_>>(), b.value_lists().collect::<Vec<_>>());
}

#[test]
fn vector_b_values_part() {
    let values = [Value::Gauge(42.0), Value::Derive(31337), Value::Gauge(f64::NAN)];
    let vl = ValueList::new("h", "p", "t", &values).with_time(CdTime::from_secs(1));
    let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    writer.write(&vl).unwrap();
    let packet = writer.finish().unwrap().unwrap();
    let expected = unhex("0006 0021 0003 01 02 01 0000000000004540 0000000000007a69 000000000000f87f");
    assert!(packet.ends_with(&expected), "{}", hex::encode(&packet));
    let datagram = parse(&packet, &ReceiveSecurity::none());
    let decoded = datagram.value_lists().next().unwrap().values.to_vec();
    assert_eq!(decoded, values.to_vec());
    assert!(matches!(decoded[2], Value::Gauge(v) if v.is_nan()));
}

#[test]
fn vector_c_full_buffer_with_part_deduplication() {
    let first = ValueList::new("example.com", "golang", "gauge", vec![Value::Derive(1)])
        .with_time(CdTime::from_raw(0x15400cffc7df3b64))
        .with_interval(CdTime::from_secs(10));
    let second = first.clone().with_plugin_instance("test").with_time(CdTime::from_raw(0x15400d024ef9db23));
    let second = ValueList { values: vec![Value::Derive(2)].into(), ..second };
    let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    writer.write(&first).unwrap();
    writer.write(&second).unwrap();
    let packet = writer.finish().unwrap().unwrap();
    // Same parts as go-collectd's TestWriteValueList, in collectd's order.
    let expected = unhex(
        "0000 0010 6578616d706c652e636f6d00
         0008 000c 15400cffc7df3b64
         0009 000c 0000000280000000
         0002 000b 676f6c616e6700
         0004 000a 676175676500
         0006 000f 0001 02 0000000000000001
         0008 000c 15400d024ef9db23
         0003 0009 7465737400
         0006 000f 0001 02 0000000000000002",
    );
    assert_eq!(hex::encode(&packet), hex::encode(&expected));
    let datagram = parse(&packet, &ReceiveSecurity::none());
    let vls: Vec<_> = datagram.value_lists().collect();
    assert_eq!(vls.len(), 2);
    assert_eq!(*vls[0], first);
    assert_eq!(*vls[1], second);
    assert!((vls[0].time.as_secs_f64() - 1_426_076_671.123).abs() < 1e-3);
}

#[test]
fn vector_d_captured_packet_fragments() {
    // The parts the first capture starts with, then swap/swap-free and load/load as
    // collectd wrote them (TYPE_INSTANCE "" clears the instance for load).
    let mut packet = unhex("0000000e6c6f63616c686f737400 0008000c1513676ac3a6e097 0009000c0000000280000000");
    packet.extend(unhex("0002000973776170 00 0004000973776170 00 0005000966726565 00"));
    packet.extend(unhex("0006000f00010100000080ff610f42"));
    packet.extend(unhex("000200096c6f616400 000400096c6f616400 0005000500"));
    packet.extend(unhex("0006002100030101019a9999999999a93f666666666666d63f5c8fc2f5285cdf3f"));
    let datagram = parse(&packet, &ReceiveSecurity::none());
    assert!(datagram.errors.is_empty(), "{:?}", datagram.errors);
    let vls: Vec<_> = datagram.value_lists().collect();
    assert_eq!(vls.len(), 2);
    assert_eq!(vls[0].identifier().to_string(), "localhost/swap/swap-free");
    assert_eq!(vls[0].values.to_vec(), vec![Value::Gauge(16_848_515_072.0)]);
    assert_eq!(vls[0].interval, CdTime::from_secs(10));
    assert_eq!(vls[1].identifier().to_string(), "localhost/load/load");
    assert_eq!(vls[1].values.to_vec(), vec![Value::Gauge(0.05), Value::Gauge(0.35), Value::Gauge(0.49)]);
    assert!(vls[1].values.iter().all(|v| v.ds_type() == DsType::Gauge));
    // State persists: the second value list kept host and time from the first parts.
    assert_eq!(vls[1].host, "localhost");
    assert_eq!(vls[1].time, vls[0].time);
}

#[test]
fn vector_e_signed_packet() {
    let signed = sign(b"collectd", &admin());
    let expected =
        unhex("02000029 cda59a37b081c231242a6dbdfb44dbd7412af42983dea51196d2e93021aec545 61646d696e 636f6c6c65637464");
    assert_eq!(hex::encode(&signed), hex::encode(&expected));
}

#[test]
fn vector_f_encrypted_part_decrypts() {
    let part = unhex(
        "02100037000561646d696e4cbe2a747c9f9dcfa0e66f0c2fa748758f023b0b15178f8428da1221a5f653e840f065db4aff032c22e5a3df",
    );
    // Our encryption with the same IV gives the same bytes.
    let iv: [u8; 16] = unhex("4cbe2a747c9f9dcfa0e66f0c2fa74875").try_into().unwrap();
    assert_eq!(hex::encode(encrypt_with_iv(b"collectd", &admin(), iv)), hex::encode(&part));
    // "collectd" is not a valid part list: decryption succeeds, then parsing the
    // plaintext reports it (no checksum error, no unknown user).
    let users = admin_users();
    let security = ReceiveSecurity::new(SecurityLevel::Encrypt, Some(&users)).unwrap();
    let datagram = parse(&part, &security);
    assert!(datagram.records.is_empty());
    for error in &datagram.errors {
        assert!(
            !matches!(error.kind, ParseErrorKind::ChecksumMismatch { .. } | ParseErrorKind::UnknownUser { .. }),
            "{error}"
        );
    }
}

fn packet1_value_list() -> ValueList<'static> {
    ValueList::new("example.com", "golang", "gauge", vec![Value::Gauge(10.0)])
        .with_time(CdTime::from_raw(0x156db1cfaf08ba7a))
        .with_interval(CdTime::from_secs(1))
}

#[test]
fn vector_g_signed_packet1_accepted_at_sign_level() {
    let signed = unhex("020000294c55be22ba7320eb99bd3b1866cee52b3c8abf1b202138e75857ff16857565ec61646d696e");
    let mut expected = signed;
    expected.extend(unhex(PACKET1));
    assert_eq!(expected.len(), 117);
    assert_eq!(sign(&unhex(PACKET1), &admin()), expected);

    let users = admin_users();
    let security = ReceiveSecurity::new(SecurityLevel::Sign, Some(&users)).unwrap();
    let datagram = parse(&expected, &security);
    assert!(datagram.errors.is_empty(), "{:?}", datagram.errors);
    assert_eq!(datagram.records.len(), 1);
    assert_eq!(datagram.records[0].protection, Protection::Signed);
    assert_eq!(datagram.records[0].username.as_deref(), Some("admin"));
    assert_eq!(datagram.value_lists().next().unwrap(), &packet1_value_list());
}

#[test]
fn vector_g_encrypted_packet1_accepted_at_encrypt_level() {
    let encrypted = unhex(
        "0210007b000561646d696e000102030405060708090a0b0c0d0e0fe4817a6ba82715430bb271901be7a9bb4b1d46ef6a5fecaf35b961609677396ddfb362e3622fd58685a365a5bb30531a769001dbef8ba7b5fe468d8de588d4d7a5dca2a2a5e546481ef15a099fcbc299df892cd6af2e9376c0d139e48416da2e",
    );
    assert_eq!(encrypted.len(), 123);
    let iv: [u8; 16] = std::array::from_fn(|i| i as u8);
    assert_eq!(hex::encode(encrypt_with_iv(&unhex(PACKET1), &admin(), iv)), hex::encode(&encrypted));

    let users = admin_users();
    let security = ReceiveSecurity::new(SecurityLevel::Encrypt, Some(&users)).unwrap();
    let datagram = parse(&encrypted, &security);
    assert!(datagram.errors.is_empty(), "{:?}", datagram.errors);
    assert_eq!(datagram.records.len(), 1);
    assert_eq!(datagram.records[0].protection, Protection::Encrypted);
    assert_eq!(datagram.records[0].username.as_deref(), Some("admin"));
    assert_eq!(datagram.value_lists().next().unwrap(), &packet1_value_list());
}

#[test]
fn own_encrypted_packets_round_trip_with_fresh_ivs() {
    let options = WriterOptions::default().security(Security::Encrypt(admin()));
    let mut writer = PacketWriter::new(options).unwrap();
    let users = admin_users();
    let security = ReceiveSecurity::new(SecurityLevel::Encrypt, Some(&users)).unwrap();
    let mut ivs = std::collections::HashSet::new();
    for i in 0..50 {
        let vl = packet1_value_list().with_type_instance(format!("n{i}"));
        writer.write(&vl).unwrap();
        let packet = writer.finish().unwrap().unwrap();
        assert!(packet.len() <= 1452);
        ivs.insert(packet[11..27].to_vec());
        let datagram = parse(&packet, &security);
        assert!(datagram.errors.is_empty(), "{:?}", datagram.errors);
        assert_eq!(datagram.value_lists().next().unwrap(), &vl);
    }
    assert_eq!(ivs.len(), 50, "an IV was reused");
    let _ = encrypt(b"x", &admin()).unwrap();
}

/// protocol.md §2, the receiver table, row by row.
#[test]
fn security_levels_accept_and_skip_as_collectd_does() {
    let plain = unhex(PACKET1);
    let signed = sign(&plain, &admin());
    let encrypted = encrypt(&plain, &admin()).unwrap();
    let users = admin_users();
    let levels = [
        ("None, no AuthFile", ReceiveSecurity::none()),
        ("None + AuthFile", ReceiveSecurity::new(SecurityLevel::None, Some(&users)).unwrap()),
        ("Sign", ReceiveSecurity::new(SecurityLevel::Sign, Some(&users)).unwrap()),
        ("Encrypt", ReceiveSecurity::new(SecurityLevel::Encrypt, Some(&users)).unwrap()),
    ];
    // (plain accepted, signed accepted, encrypted accepted)
    let expected = [(true, true, false), (true, true, true), (false, true, true), (false, false, true)];
    for ((name, security), (p, s, e)) in levels.iter().zip(expected) {
        let count = |bytes: &[u8]| parse(bytes, security).value_lists().count();
        assert_eq!(count(&plain) == 1, p, "{name}: plain");
        assert_eq!(count(&signed) == 1, s, "{name}: signed");
        assert_eq!(count(&encrypted) == 1, e, "{name}: encrypted");
    }
    // None without users: signed accepted unverified, encrypted refused (Failed to get cypher).
    let unverified = parse(&signed, &ReceiveSecurity::none());
    assert_eq!(unverified.records[0].protection, Protection::Plain);
    assert!(unverified.notices.iter().any(|n| n.kind == NoticeKind::UnverifiedSignature));
    let refused = parse(&encrypted, &ReceiveSecurity::none());
    assert!(matches!(refused.errors[0].kind, ParseErrorKind::UnknownUser { .. }));
    // Sign: a plain datagram is skipped with one notice.
    let sign_level = ReceiveSecurity::new(SecurityLevel::Sign, Some(&users)).unwrap();
    let skipped = parse(&plain, &sign_level);
    assert_eq!(skipped.notices.len(), 1);
    assert!(matches!(skipped.notices[0].kind, NoticeKind::UnprotectedPartsIgnored { .. }));
}

#[test]
fn wrong_password_unknown_user_and_tampering_are_rejected() {
    let plain = unhex(PACKET1);
    let users = AuthFile::parse(b"admin: not-admin\n");
    let sign_level = ReceiveSecurity::new(SecurityLevel::Sign, Some(&users)).unwrap();
    let signed = sign(&plain, &admin());
    let datagram = parse(&signed, &sign_level);
    assert!(datagram.records.is_empty());
    assert!(matches!(datagram.errors[0].kind, ParseErrorKind::SignatureMismatch { .. }));

    let encrypt_level = ReceiveSecurity::new(SecurityLevel::Encrypt, Some(&users)).unwrap();
    let encrypted = encrypt(&plain, &admin()).unwrap();
    let datagram = parse(&encrypted, &encrypt_level);
    assert!(datagram.records.is_empty());
    assert!(matches!(datagram.errors[0].kind, ParseErrorKind::ChecksumMismatch { .. }));

    let stranger = Credentials::new("mallory", "admin").unwrap();
    let right = admin_users();
    let sign_level = ReceiveSecurity::new(SecurityLevel::Sign, Some(&right)).unwrap();
    let signed_by_stranger = sign(&plain, &stranger);
    let datagram = parse(&signed_by_stranger, &sign_level);
    assert_eq!(datagram.errors[0].kind, ParseErrorKind::UnknownUser { username: "mallory".into() });

    // Flip each byte of a signed and of an encrypted packet in turn: never accepted.
    let encrypt_level = ReceiveSecurity::new(SecurityLevel::Encrypt, Some(&right)).unwrap();
    let signed = sign(&plain, &admin());
    let encrypted = encrypt(&plain, &admin()).unwrap();
    for i in 4..signed.len() {
        let mut bad = signed.clone();
        bad[i] ^= 0x01;
        assert!(parse(&bad, &sign_level).records.is_empty(), "signed byte {i}");
    }
    for i in 4..encrypted.len() {
        let mut bad = encrypted.clone();
        bad[i] ^= 0x01;
        assert!(parse(&bad, &encrypt_level).records.is_empty(), "encrypted byte {i}");
    }
}
