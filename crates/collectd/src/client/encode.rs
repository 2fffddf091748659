//! Encoding a snapshot: a pure function of a connection's settings and a snapshot, giving datagrams.
//!
//! No socket, no clock: the snapshot carries its time, the settings everything else
//! (host name, plugin instance, interval, packet size, time resolution, security). The
//! only outside input is the random IV of an encrypted datagram.

use std::borrow::Cow;

use super::registry::Snapshot;
use super::state::Settings;
use crate::protocol::{CdTime, EncodeError, PacketWriter, Value, ValueList, WriterOptions};

/// The packet writer's options for a connection's settings.
pub(crate) fn writer_options(settings: &Settings) -> WriterOptions {
    WriterOptions::default()
        .max_packet_size(settings.max_packet_size)
        .time_resolution(settings.time_resolution)
        .security(settings.security.clone())
}

/// A snapshot's datagrams, with how many value lists each holds.
#[derive(Default)]
pub(crate) struct Encoded {
    pub(crate) datagrams: Vec<Vec<u8>>,
    /// The number of value lists in each datagram.
    pub(crate) value_lists: Vec<u32>,
    /// Value lists of the snapshot that are in no datagram (not encodable, or their
    /// datagram could not be sealed).
    pub(crate) lost: u64,
}

impl Encoded {
    fn finish(&mut self, writer: &mut PacketWriter, written: &mut u32) {
        match writer.finish() {
            Ok(Some(datagram)) => {
                self.datagrams.push(datagram);
                self.value_lists.push(*written);
            }
            Ok(None) => {}
            Err(error) => {
                log::error!(target: "collectd", "cannot seal a datagram: {error}");
                self.lost += u64::from(*written);
            }
        }
        *written = 0;
    }
}

/// Encodes a snapshot into as few datagrams as fit: each value is a gauge value list
/// `HOST/any[-INST]/gauge-NAME`.
///
/// One value list that cannot be encoded is logged and costs only itself; a datagram
/// that cannot be sealed (no random bytes for an IV) is logged and dropped. The error is
/// for settings no packet can be written with.
pub(crate) fn encode(settings: &Settings, snapshot: &Snapshot) -> Result<Encoded, EncodeError> {
    let mut writer = PacketWriter::new(writer_options(settings))?;
    let interval = CdTime::from(settings.interval);
    let mut encoded = Encoded::default();
    let mut written = 0u32;
    for (name, value) in snapshot.iter() {
        let values = [Value::Gauge(value)];
        let vl = ValueList {
            host: Cow::Borrowed(&settings.hostname),
            plugin: Cow::Borrowed(crate::MODULE_PLUGIN),
            plugin_instance: Cow::Borrowed(&settings.plugin_instance),
            type_: Cow::Borrowed(crate::MODULE_TYPE),
            type_instance: Cow::Borrowed(name),
            time: snapshot.time,
            interval,
            values: (&values).into(),
        };
        let result = match writer.write(&vl) {
            Err(EncodeError::PacketFull) => {
                encoded.finish(&mut writer, &mut written);
                writer.write(&vl)
            }
            other => other,
        };
        match result {
            Ok(()) => written += 1,
            Err(error) => {
                log::error!(target: "collectd", "cannot encode {name} of {}: {error}", settings.hostname);
                encoded.lost += 1;
            }
        }
    }
    encoded.finish(&mut writer, &mut written);
    Ok(encoded)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::protocol::{ReceiveSecurity, parse};

    fn settings() -> Settings {
        Settings {
            hostname: "h".into(),
            collectd_host: "127.0.0.1".into(),
            collectd_port: 9,
            plugin_instance: "inst".into(),
            interval: Duration::from_secs(10),
            ..Settings::default()
        }
    }

    #[test]
    fn a_snapshot_becomes_gauge_value_lists_with_its_time() {
        let time = CdTime::from_secs(1_700_000_000);
        let snapshot = Snapshot::from_pairs(time, &[("c-s", 1.5), ("c-x-s", 0.5)]);
        let encoded = encode(&settings(), &snapshot).unwrap();
        let datagrams = encoded.datagrams;
        assert_eq!((datagrams.len(), encoded.value_lists, encoded.lost), (1, vec![2], 0));
        assert_eq!(encode(&settings(), &snapshot).unwrap().datagrams, datagrams, "the same input gives the same bytes");
        let parsed = parse(&datagrams[0], &ReceiveSecurity::none());
        let got: Vec<(String, CdTime, CdTime, Option<Value>)> = parsed
            .value_lists()
            .map(|vl| (vl.identifier().to_string(), vl.time, vl.interval, vl.values.get(0)))
            .collect();
        let interval = CdTime::from_secs(10);
        assert_eq!(
            got,
            [
                ("h/any-inst/gauge-c-s".to_string(), time, interval, Some(Value::Gauge(1.5))),
                ("h/any-inst/gauge-c-x-s".to_string(), time, interval, Some(Value::Gauge(0.5))),
            ]
        );
    }

    #[test]
    fn a_large_snapshot_is_split_into_datagrams_that_fit() {
        let names: Vec<String> = (0..200).map(|i| format!("category-stat{i}")).collect();
        let pairs: Vec<(&str, f64)> = names.iter().map(|n| (n.as_str(), 1.0)).collect();
        let snapshot = Snapshot::from_pairs(CdTime::from_secs(1), &pairs);
        let settings = Settings { max_packet_size: 1024, ..settings() };
        let encoded = encode(&settings, &snapshot).unwrap();
        assert_eq!(encoded.value_lists.iter().sum::<u32>(), 200);
        let datagrams = encoded.datagrams;
        assert!(datagrams.len() > 1);
        assert!(datagrams.iter().all(|d| d.len() <= 1024));
        let count: usize = datagrams.iter().map(|d| parse(d, &ReceiveSecurity::none()).value_lists().count()).sum();
        assert_eq!(count, 200);
    }
}
