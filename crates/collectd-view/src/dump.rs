//! The records `collectd-view dump` prints ([`crate::cli::dump`]): every value list and
//! notification received, as one JSON object per line; malformed datagrams are reported on
//! stderr.
//!
//! A value list:
//!
//! ```json
//! {"kind":"values","host":"web1","plugin":"load","plugin_instance":"","type":"load","type_instance":"",
//!  "time":1700000000.25,"interval":10.0,"values":[{"type":"GAUGE","value":0.05},…],
//!  "from":"127.0.0.1:40312","protection":"signed","username":"admin"}
//! ```
//!
//! A notification has `"kind":"notification"`, `severity` (`FAILURE`, `WARNING`, `OKAY`) and
//! `message` instead of `interval` and `values`. Times and intervals are seconds since the
//! epoch as floats; `interval` is `null` when the datagram carried none. Values keep the
//! data-source type the datagram declared; COUNTER, DERIVE and ABSOLUTE are exact
//! integers, a NaN gauge is `null` and infinite gauges are the strings `"inf"`/`"-inf"`.
//! `protection` is `plain`, `signed` or `encrypted`, and `username` appears for the
//! last two.
//!
//! Each parse error is one stderr line with the sender, the size, the byte offset and the
//! parser's reason; the records decoded before the error are printed, and the process goes
//! on. Output is flushed after every datagram, so a pipe sees records as they arrive.

use std::net::SocketAddr;

use collectd::protocol::{CdTime, Protection, Received, Record, Value};
use serde::Serialize;

/// One data-source value in the JSON.
#[derive(Serialize, Debug, PartialEq)]
pub struct JsonValue {
    /// GAUGE, DERIVE, COUNTER or ABSOLUTE, as the datagram declared.
    #[serde(rename = "type")]
    pub ds_type: &'static str,
    /// The value.
    pub value: serde_json::Value,
}

/// One line of output.
#[derive(Serialize, Debug, PartialEq)]
pub struct JsonRecord {
    /// `values` or `notification`.
    pub kind: &'static str,
    /// Notification severity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<&'static str>,
    /// Host.
    pub host: String,
    /// Plugin.
    pub plugin: String,
    /// Plugin instance.
    pub plugin_instance: String,
    /// Type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Type instance.
    pub type_instance: String,
    /// Time in seconds since the epoch.
    pub time: f64,
    /// Interval in seconds (value lists only; null when not sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Option<f64>>,
    /// Values (value lists only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<JsonValue>>,
    /// Message (notifications only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The sender's address.
    pub from: String,
    /// `plain`, `signed` or `encrypted`.
    pub protection: &'static str,
    /// The signing or encrypting user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

fn json_value(value: Value) -> JsonValue {
    let v = match value {
        Value::Gauge(g) if g.is_nan() => serde_json::Value::Null,
        Value::Gauge(g) if g.is_infinite() => serde_json::Value::from(if g > 0.0 { "inf" } else { "-inf" }),
        Value::Gauge(g) => serde_json::Value::from(g),
        Value::Counter(c) | Value::Absolute(c) => serde_json::Value::from(c),
        Value::Derive(d) => serde_json::Value::from(d),
    };
    JsonValue { ds_type: value.ds_type().name(), value: v }
}

fn seconds(t: CdTime) -> f64 {
    t.as_secs_f64()
}

/// The JSON object for a received record.
///
/// ```
/// use collectd::protocol::{parse, ReceiveSecurity};
/// use collectd_view::dump::record_json;
///
/// // protocol.md vector A: example.com/golang/gauge = 10 at 1438041918.7349, interval 1 s.
/// let bytes = hex("000000106578616d706c652e636f6d000002000b676f6c616e67000004000a6761756765000008000c156db1cfaf08ba7a0009000c00000000400000000006000f0001010000000000002440");
/// let datagram = collectd::protocol::parse(&bytes, &ReceiveSecurity::none());
/// let json = record_json(&datagram.records[0], "127.0.0.1:9".parse().unwrap());
/// let line = serde_json::to_string(&json).unwrap();
/// assert!(line.starts_with(r#"{"kind":"values","host":"example.com","plugin":"golang","plugin_instance":"","type":"gauge""#));
/// assert!(line.ends_with(r#""interval":1.0,"values":[{"type":"GAUGE","value":10.0}],"from":"127.0.0.1:9","protection":"plain"}"#));
/// # fn hex(s: &str) -> Vec<u8> { (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect() }
/// ```
pub fn record_json(received: &Received<'_>, from: SocketAddr) -> JsonRecord {
    let protection = match received.protection {
        Protection::Plain => "plain",
        Protection::Signed => "signed",
        Protection::Encrypted => "encrypted",
    };
    let username = received.username.as_ref().map(|u| u.to_string());
    match &received.record {
        Record::Values(vl) => JsonRecord {
            kind: "values",
            severity: None,
            host: vl.host.to_string(),
            plugin: vl.plugin.to_string(),
            plugin_instance: vl.plugin_instance.to_string(),
            type_: vl.type_.to_string(),
            type_instance: vl.type_instance.to_string(),
            time: seconds(vl.time),
            interval: Some((vl.interval != CdTime::ZERO).then(|| seconds(vl.interval))),
            values: Some(vl.values.iter().map(json_value).collect()),
            message: None,
            from: from.to_string(),
            protection,
            username,
        },
        Record::Notification(n) => JsonRecord {
            kind: "notification",
            severity: Some(n.severity.name()),
            host: n.host.to_string(),
            plugin: n.plugin.to_string(),
            plugin_instance: n.plugin_instance.to_string(),
            type_: n.type_.to_string(),
            type_instance: n.type_instance.to_string(),
            time: seconds(n.time),
            interval: None,
            values: None,
            message: Some(n.message.to_string()),
            from: from.to_string(),
            protection,
            username,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use collectd::protocol::{Notification, ReceiveSecurity, Severity, ValueList, WriterOptions, encode_notification};
    use std::borrow::Cow;

    fn from() -> SocketAddr {
        "[::1]:5".parse().unwrap()
    }

    #[test]
    fn values_of_every_type() {
        let vl = ValueList::new(
            "h",
            "p",
            "t",
            vec![
                Value::Gauge(f64::NAN),
                Value::Gauge(f64::NEG_INFINITY),
                Value::Counter(u64::MAX),
                Value::Derive(-3),
                Value::Absolute(7),
            ],
        )
        .with_time(CdTime::from_secs_f64(1_700_000_000.5));
        let received = Received {
            record: Record::Values(vl),
            protection: Protection::Encrypted,
            username: Some(Cow::Borrowed("u")),
        };
        let json = serde_json::to_value(record_json(&received, from())).unwrap();
        assert_eq!(json["interval"], serde_json::Value::Null);
        assert_eq!(json["time"], 1_700_000_000.5);
        assert_eq!(
            json["values"],
            serde_json::json!([
                {"type": "GAUGE", "value": null},
                {"type": "GAUGE", "value": "-inf"},
                {"type": "COUNTER", "value": 18446744073709551615u64},
                {"type": "DERIVE", "value": -3},
                {"type": "ABSOLUTE", "value": 7},
            ])
        );
        assert_eq!(json["from"], "[::1]:5");
        assert_eq!(json["protection"], "encrypted");
        assert_eq!(json["username"], "u");
        assert!(json.get("severity").is_none() && json.get("message").is_none());
    }

    #[test]
    fn notifications() {
        let n = Notification::new(Severity::Failure, CdTime::from_secs(1_700_000_000), "disk \"full\"")
            .with_host("h")
            .with_plugin("df");
        let bytes = encode_notification(&n, &WriterOptions::default()).unwrap();
        let datagram = collectd::protocol::parse(&bytes, &ReceiveSecurity::none());
        let line = serde_json::to_string(&record_json(&datagram.records[0], from())).unwrap();
        assert_eq!(
            line,
            r#"{"kind":"notification","severity":"FAILURE","host":"h","plugin":"df","plugin_instance":"","type":"","type_instance":"","time":1700000000.0,"message":"disk \"full\"","from":"[::1]:5","protection":"plain"}"#
        );
    }
}
