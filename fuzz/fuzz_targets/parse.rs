//! Parses arbitrary bytes as a datagram at every receiver security level, then writes
//! every value list it got back into a packet of its own and parses that: the parser
//! must never panic, what it returns must survive a round trip through the writer, and
//! the streaming parser must report as many records, errors and notices as `parse`.

#![no_main]

use std::sync::LazyLock;

use collectd::protocol::{
    AuthFile, EncodeError, Event, PacketWriter, ReceiveSecurity, SecurityLevel, ValueList, WriterOptions, parse,
    parse_each, validate_value_list,
};
use libfuzzer_sys::fuzz_target;

/// Users whose packets the seed corpus can sign or encrypt ("admin"/"admin" is the
/// password of protocol.md's test vectors).
static USERS: LazyLock<AuthFile> = LazyLock::new(|| AuthFile::parse(b"admin: admin\nbob: secret\n"));

fuzz_target!(|data: &[u8]| {
    let receivers = [
        ReceiveSecurity::none(),
        ReceiveSecurity::new(SecurityLevel::None, Some(&USERS)).unwrap(),
        ReceiveSecurity::new(SecurityLevel::Sign, Some(&USERS)).unwrap(),
        ReceiveSecurity::new(SecurityLevel::Encrypt, Some(&USERS)).unwrap(),
    ];
    for receiver in &receivers {
        let datagram = parse(data, receiver);
        for error in &datagram.errors {
            assert!(error.offset < data.len(), "{error} in {} bytes", data.len());
        }
        for notice in &datagram.notices {
            assert!(notice.offset < data.len(), "{notice} in {} bytes", data.len());
        }
        for vl in datagram.value_lists() {
            round_trip(vl);
        }
        let mut streamed = [0usize; 3];
        parse_each(data, receiver, |event| match event {
            Event::Values(_) | Event::Notification(_) => streamed[0] += 1,
            Event::Error(_) => streamed[1] += 1,
            Event::Notice(_) => streamed[2] += 1,
        });
        assert_eq!(streamed, [datagram.records.len(), datagram.errors.len(), datagram.notices.len()]);
    }
});

/// Writes the value list alone into a packet, parses it, and checks it comes back the same.
fn round_trip(vl: &ValueList<'_>) {
    // What the parser returns, the writer accepts, except for two things the receiver lets
    // through: a VALUES part with no values, and names whose invalid UTF-8 was replaced
    // with U+FFFD (three bytes each), which can make them longer than 127 bytes.
    match validate_value_list(vl) {
        Ok(()) => {}
        Err(EncodeError::NoValues) => return,
        Err(EncodeError::StringTooLong { .. }) => return,
        Err(e) => panic!("a parsed value list fails validation: {e}: {vl:?}"),
    }
    let mut writer = PacketWriter::new(WriterOptions::default().max_packet_size(65535)).unwrap();
    match writer.write(vl) {
        Ok(()) => {}
        // Up to 7281 values and five names of 127 bytes exceed 65535 bytes.
        Err(EncodeError::TooLarge { .. }) => return,
        Err(e) => panic!("the writer refuses a parsed value list: {e}: {vl:?}"),
    }
    let packet = writer.finish().unwrap().unwrap();
    let reparsed = parse(&packet, &ReceiveSecurity::none());
    assert!(reparsed.errors.is_empty(), "{:?}", reparsed.errors);
    assert!(reparsed.notices.is_empty(), "{:?}", reparsed.notices);
    let vls: Vec<_> = reparsed.value_lists().collect();
    assert_eq!(vls.len(), 1);
    let again = vls[0];
    assert_eq!(again.identifier(), vl.identifier());
    assert_eq!((again.time, again.interval), (vl.time, vl.interval));
    // Down to the bits: every NaN is collectd's one NaN, both before and after.
    let wire = |vl: &ValueList<'_>| vl.values.iter().map(|v| (v.ds_type(), v.to_wire())).collect::<Vec<_>>();
    assert_eq!(wire(again), wire(vl));
}
