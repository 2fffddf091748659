//! The datagram parser: bytes into value lists and notifications, as collectd 5.12's receiver reads them.
//!
//! The rules are those of collectd's `parse_packet` (`src/network.c`):
//! - parts are read while more than 4 bytes remain; a part shorter than 4 bytes or longer
//!   than what remains ends the datagram ("truncated");
//! - host, plugin, instances, type, time, interval and severity persist from part to part
//!   within one datagram, never across datagrams; a signed or encrypted payload starts
//!   from an empty state;
//! - unknown part types are skipped;
//! - a value list is dropped when its time is zero or its host, plugin or type is empty;
//! - the first malformed part ends the datagram (or the signed/encrypted payload it is
//!   in), and what was read before it is kept;
//! - security follows collectd's accept/skip table for the `None`, `Sign` and `Encrypt` levels.
//!
//! One parser serves two outputs ([`Output`]): [`parse_each`] streams raw events to a
//! closure, [`parse`] collects records with names decoded as UTF-8.
//!
//! Two deliberate differences, both about input no collectd sends: a number part shorter
//! than 12 bytes is an error (collectd would read past the part), and signed or encrypted
//! parts nest at most [`MAX_NESTING`] deep (collectd recurses without limit).

use std::borrow::Cow;
use std::fmt;

use super::part;
use super::record::{Notification, Severity, ValueList};
use super::security::{self, ENCRYPTION_OVERHEAD, ReceiveSecurity, SIGNATURE_OVERHEAD, SecurityLevel};
use super::time::CdTime;
use super::value::{DsType, Values};

/// Payload bytes (NUL included) a name may have: collectd's `DATA_MAX_NAME_LEN`.
const NAME_BUFFER: usize = 128;
/// Payload bytes (NUL included) a message may have: collectd's `NOTIF_MAX_MSG_LEN`.
const MESSAGE_BUFFER: usize = 256;
/// How deep signed and encrypted parts may nest inside each other.
///
/// ```
/// use collectd::protocol::{AuthFile, Credentials, MAX_NESTING, ParseErrorKind, ReceiveSecurity, SecurityLevel};
/// use collectd::protocol::{parse, sign};
///
/// let credentials = Credentials::new("admin", "secret").unwrap();
/// let mut datagram = Vec::new();
/// for _ in 0..=MAX_NESTING {
///     datagram = sign(&datagram, &credentials);
/// }
/// let users = AuthFile::parse(b"admin: secret\n");
/// let parsed = parse(&datagram, &ReceiveSecurity::new(SecurityLevel::None, Some(&users)).unwrap());
/// assert_eq!(parsed.errors[0].kind, ParseErrorKind::NestingTooDeep);
/// ```
pub const MAX_NESTING: usize = 8;

/// How a record reached the receiver.
///
/// ```
/// use collectd::protocol::{AuthFile, Credentials, Protection, ReceiveSecurity, SecurityLevel, parse, sign};
/// use collectd::protocol::{CdTime, PacketWriter, Value, ValueList, WriterOptions};
///
/// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
/// writer.write(&ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1))).unwrap();
/// let signed = sign(&writer.finish().unwrap().unwrap(), &Credentials::new("admin", "secret").unwrap());
/// let users = AuthFile::parse(b"admin: secret\n");
/// let security = ReceiveSecurity::new(SecurityLevel::Sign, Some(&users)).unwrap();
/// assert_eq!(parse(&signed, &security).records[0].protection, Protection::Signed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protection {
    /// In plain parts (or after a signature that could not be verified).
    Plain,
    /// Inside a verified signature.
    Signed,
    /// Inside an encrypted part whose checksum matched.
    Encrypted,
}

/// A value list or a notification.
///
/// ```
/// use collectd::protocol::{CdTime, Notification, ReceiveSecurity, Record, Severity, WriterOptions};
/// use collectd::protocol::{encode_notification, parse};
///
/// let n = Notification::new(Severity::Warning, CdTime::from_secs(1), "disk full").with_host("h");
/// let datagram = encode_notification(&n, &WriterOptions::default()).unwrap();
/// match &parse(&datagram, &ReceiveSecurity::none()).records[0].record {
///     Record::Notification(received) => assert_eq!(received.message, "disk full"),
///     Record::Values(_) => unreachable!("a notification was sent"),
/// }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Record<'a> {
    /// A value list.
    Values(ValueList<'a>),
    /// A notification.
    Notification(Notification<'a>),
}

/// A record as received, with how it was protected and who sent it.
///
/// ```
/// use collectd::protocol::{CdTime, PacketWriter, Protection, ReceiveSecurity, Value, ValueList, WriterOptions, parse};
///
/// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
/// writer.write(&ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1))).unwrap();
/// let datagram = writer.finish().unwrap().unwrap();
/// let received = &parse(&datagram, &ReceiveSecurity::none()).records[0];
/// assert_eq!(received.protection, Protection::Plain);
/// assert_eq!(received.username, None);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Received<'a> {
    /// The value list or notification.
    pub record: Record<'a>,
    /// Plain, signed or encrypted.
    pub protection: Protection,
    /// The username of the signature or encryption, if any.
    pub username: Option<Cow<'a, str>>,
}

impl Received<'_> {
    /// A copy that borrows nothing.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, PacketWriter, ReceiveSecurity, Received, Value, ValueList, WriterOptions};
    /// use collectd::protocol::parse;
    ///
    /// let received: Received<'static> = {
    ///     let vl = ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1));
    ///     let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    ///     writer.write(&vl).unwrap();
    ///     let datagram = writer.finish().unwrap().unwrap();
    ///     parse(&datagram, &ReceiveSecurity::none()).records.remove(0).into_owned()
    /// }; // outlives the datagram
    /// assert_eq!(received.username, None);
    /// ```
    pub fn into_owned(self) -> Received<'static> {
        Received {
            record: match self.record {
                Record::Values(vl) => Record::Values(vl.into_owned()),
                Record::Notification(n) => Record::Notification(n.into_owned()),
            },
            protection: self.protection,
            username: self.username.map(|u| Cow::Owned(u.into_owned())),
        }
    }
}

/// What went wrong in a datagram, and where: the byte offset from the datagram's start
/// (inside an encrypted part, the offset the plaintext byte has in the datagram).
///
/// ```
/// use collectd::protocol::{ParseErrorKind, ReceiveSecurity, parse};
///
/// // A HOST part that claims 16 bytes in a datagram of 5.
/// let parsed = parse(&[0x00, 0x00, 0x00, 0x10, b'h'], &ReceiveSecurity::none());
/// let error = &parsed.errors[0];
/// assert_eq!(error.offset, 0);
/// assert_eq!(error.kind, ParseErrorKind::PartExceedsDatagram { length: 16, remaining: 5 });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Offset of the part (or byte) at fault.
    pub offset: usize,
    /// What is wrong with it.
    pub kind: ParseErrorKind,
}

/// The ways a datagram can be malformed or refused.
///
/// ```
/// use collectd::protocol::{ParseErrorKind, ReceiveSecurity, part, parse};
///
/// // A HOST part whose string does not end with a NUL byte.
/// let parsed = parse(&[0x00, 0x00, 0x00, 0x06, b'h', b'i'], &ReceiveSecurity::none());
/// assert_eq!(parsed.errors[0].kind, ParseErrorKind::StringWithoutNul { part_type: part::HOST });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A part's length is larger than what is left of the datagram (a truncated datagram).
    PartExceedsDatagram {
        /// The part's declared length.
        length: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// A part's length is below the 4-byte header.
    PartTooShort {
        /// The part's declared length.
        length: usize,
    },
    /// 1 to 4 bytes are left after the last part: too few for a part header.
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A part's length is wrong for its type (a number is 12 bytes, a string at least 5).
    BadLength {
        /// The part type.
        part_type: u16,
        /// The part's declared length.
        length: usize,
    },
    /// A string part does not end with a NUL byte.
    StringWithoutNul {
        /// The part type.
        part_type: u16,
    },
    /// A string is longer than collectd accepts (127 bytes; 255 for a message).
    StringTooLong {
        /// The part type.
        part_type: u16,
        /// Its payload length, NUL included.
        length: usize,
    },
    /// A VALUES part's length does not match its number of values (`6 + 9n`).
    ValuesLengthMismatch {
        /// The part's declared length.
        length: usize,
        /// The number of values it declares.
        count: usize,
    },
    /// A VALUES part needs more bytes than the datagram has left.
    ValuesTruncated {
        /// Bytes the values need.
        needed: usize,
        /// Bytes left.
        remaining: usize,
    },
    /// A data-source type code other than 0–3.
    UnknownDsType {
        /// The code.
        code: u8,
    },
    /// A signature or encryption part too short for its fixed fields, or with a bad
    /// username length.
    BadSecurityPart {
        /// The part type.
        part_type: u16,
        /// The part's declared length.
        length: usize,
    },
    /// A signed or encrypted part from a user the receiver does not know (or, for an
    /// encrypted part, a receiver without users: collectd cannot decrypt it).
    UnknownUser {
        /// The username.
        username: String,
    },
    /// A signature that does not match: the rest of the datagram is dropped.
    SignatureMismatch {
        /// The username.
        username: String,
    },
    /// An encrypted part whose SHA-1 does not match after decryption (wrong password or
    /// tampered bytes).
    ChecksumMismatch {
        /// The username.
        username: String,
    },
    /// Signed and encrypted parts nested more than [`MAX_NESTING`] deep.
    NestingTooDeep,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: ", self.offset)?;
        match &self.kind {
            ParseErrorKind::PartExceedsDatagram { length, remaining } => write!(
                f,
                "truncated datagram: a part of {length} bytes but only {remaining} left (is the sender's packet size above the receiver's MaxPacketSize?)"
            ),
            ParseErrorKind::PartTooShort { length } => {
                write!(f, "part length {length} is shorter than its 4-byte header")
            }
            ParseErrorKind::TrailingBytes { count } => write!(f, "{count} trailing bytes after the last part"),
            ParseErrorKind::BadLength { part_type, length } => {
                write!(f, "part type 0x{part_type:04x} cannot be {length} bytes long")
            }
            ParseErrorKind::StringWithoutNul { part_type } => {
                write!(f, "string part 0x{part_type:04x} does not end with a NUL byte")
            }
            ParseErrorKind::StringTooLong { part_type, length } => {
                write!(
                    f,
                    "string part 0x{part_type:04x} holds {length} bytes with its NUL; collectd accepts at most 128 (256 for a message)"
                )
            }
            ParseErrorKind::ValuesLengthMismatch { length, count } => {
                write!(f, "VALUES part of {length} bytes declares {count} values (needs {})", 6 + 9 * count)
            }
            ParseErrorKind::ValuesTruncated { needed, remaining } => {
                write!(f, "VALUES part needs {needed} bytes but only {remaining} are left")
            }
            ParseErrorKind::UnknownDsType { code } => write!(f, "unknown data-source type {code}"),
            ParseErrorKind::BadSecurityPart { part_type, length } => {
                write!(f, "security part 0x{part_type:04x} of {length} bytes is malformed")
            }
            ParseErrorKind::UnknownUser { username } => write!(f, "unknown user {username:?}"),
            ParseErrorKind::SignatureMismatch { username } => {
                write!(f, "HMAC-SHA-256 signature mismatch for user {username:?}; the rest of the datagram is dropped")
            }
            ParseErrorKind::ChecksumMismatch { username } => {
                write!(f, "checksum mismatch after decryption for user {username:?} (wrong password or altered bytes)")
            }
            ParseErrorKind::NestingTooDeep => write!(f, "signed/encrypted parts nested over {MAX_NESTING} deep"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Something collectd's receiver logs without it being an error.
///
/// ```
/// use collectd::protocol::{NoticeKind, ReceiveSecurity, parse};
///
/// // A part of the unknown type 0x1234, 5 bytes long.
/// let parsed = parse(&[0x12, 0x34, 0x00, 0x05, 0x00], &ReceiveSecurity::none());
/// assert!(parsed.errors.is_empty());
/// assert_eq!(parsed.notices[0].offset, 0);
/// assert_eq!(parsed.notices[0].kind, NoticeKind::UnknownPart { part_type: 0x1234 });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Offset of the part concerned.
    pub offset: usize,
    /// What happened.
    pub kind: NoticeKind,
}

/// The things a receiver skips or accepts with a remark.
///
/// ```
/// use collectd::protocol::{AuthFile, NoticeKind, ReceiveSecurity, SecurityLevel, parse};
///
/// let users = AuthFile::parse(b"admin: secret\n");
/// let security = ReceiveSecurity::new(SecurityLevel::Sign, Some(&users)).unwrap();
/// // A plain HOST part, which the Sign level skips.
/// let parsed = parse(&[0x00, 0x00, 0x00, 0x06, b'h', 0], &security);
/// assert_eq!(parsed.notices[0].kind, NoticeKind::UnprotectedPartsIgnored { level: SecurityLevel::Sign });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoticeKind {
    /// Parts were skipped because the level requires signing or encryption (reported
    /// once per datagram or payload, at the first skipped part).
    UnprotectedPartsIgnored {
        /// The receiver's level.
        level: SecurityLevel,
    },
    /// A signed datagram was accepted without verification: the receiver has no users.
    UnverifiedSignature,
    /// A value list was dropped, as collectd drops it.
    ValueListDropped {
        /// Why.
        reason: DropReason,
    },
    /// A notification was ignored, as collectd ignores it.
    NotificationIgnored {
        /// Why.
        reason: DropReason,
    },
    /// A part of a type collectd does not know was skipped.
    UnknownPart {
        /// The part type.
        part_type: u16,
    },
}

/// Why a value list or notification was not dispatched.
///
/// ```
/// use collectd::protocol::{CdTime, DropReason, NoticeKind, PacketWriter, ReceiveSecurity, Value, ValueList};
/// use collectd::protocol::{WriterOptions, parse};
///
/// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
/// writer.write(&ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1))).unwrap();
/// let mut datagram = writer.finish().unwrap().unwrap();
/// datagram.drain(6..18); // the TIME_HR part, after the 6-byte HOST part
/// let parsed = parse(&datagram, &ReceiveSecurity::none());
/// assert_eq!(parsed.notices[0].kind, NoticeKind::ValueListDropped { reason: DropReason::NoTime });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// No time part before it, or a zero time.
    NoTime,
    /// No host, or an empty one.
    NoHost,
    /// No plugin, or an empty one.
    NoPlugin,
    /// No type, or an empty one.
    NoType,
    /// A severity other than 1, 2 or 4.
    UnknownSeverity(u64),
    /// An empty message.
    EmptyMessage,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: ", self.offset)?;
        match &self.kind {
            NoticeKind::UnprotectedPartsIgnored { level } => {
                write!(f, "parts without the protection security level {level:?} requires were ignored")
            }
            NoticeKind::UnverifiedSignature => {
                f.write_str("signed datagram accepted without verification: no users are configured")
            }
            NoticeKind::ValueListDropped { reason } => write!(f, "value list dropped: {reason:?}"),
            NoticeKind::NotificationIgnored { reason } => write!(f, "notification ignored: {reason:?}"),
            NoticeKind::UnknownPart { part_type } => write!(f, "unknown part type 0x{part_type:04x} skipped"),
        }
    }
}

/// Everything read from one datagram.
///
/// ```
/// use collectd::protocol::{CdTime, PacketWriter, ReceiveSecurity, Value, ValueList, WriterOptions, parse};
///
/// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
/// writer.write(&ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1))).unwrap();
/// let datagram = writer.finish().unwrap().unwrap();
/// let parsed = parse(&datagram, &ReceiveSecurity::none());
/// assert_eq!(parsed.records.len(), 1);
/// assert!(parsed.errors.is_empty() && parsed.notices.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Datagram<'a> {
    /// The records collectd would dispatch, in order.
    pub records: Vec<Received<'a>>,
    /// Errors; each ended the datagram or the signed/encrypted payload it occurred in.
    pub errors: Vec<ParseError>,
    /// Things skipped or accepted with a remark.
    pub notices: Vec<Notice>,
}

impl<'a> Datagram<'a> {
    /// The value lists, in order.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, PacketWriter, ReceiveSecurity, Value, ValueList, WriterOptions, parse};
    ///
    /// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    /// let vl = ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1));
    /// writer.write(&vl).unwrap();
    /// writer.write(&vl.clone().with_type_instance("b")).unwrap();
    /// let datagram = writer.finish().unwrap().unwrap();
    /// let parsed = parse(&datagram, &ReceiveSecurity::none());
    /// let names: Vec<String> = parsed.value_lists().map(|vl| vl.identifier().to_string()).collect();
    /// assert_eq!(names, ["h/p/t", "h/p/t-b"]);
    /// ```
    pub fn value_lists(&self) -> impl Iterator<Item = &ValueList<'a>> {
        self.records.iter().filter_map(|r| match &r.record {
            Record::Values(vl) => Some(vl),
            Record::Notification(_) => None,
        })
    }

    /// The notifications, in order.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Notification, ReceiveSecurity, Severity, WriterOptions};
    /// use collectd::protocol::{encode_notification, parse};
    ///
    /// let n = Notification::new(Severity::Failure, CdTime::from_secs(1), "down").with_host("h");
    /// let datagram = encode_notification(&n, &WriterOptions::default()).unwrap();
    /// let parsed = parse(&datagram, &ReceiveSecurity::none());
    /// assert_eq!(parsed.notifications().next().unwrap().severity, Severity::Failure);
    /// assert_eq!(parsed.value_lists().count(), 0);
    /// ```
    pub fn notifications(&self) -> impl Iterator<Item = &Notification<'a>> {
        self.records.iter().filter_map(|r| match &r.record {
            Record::Notification(n) => Some(n),
            Record::Values(_) => None,
        })
    }
}

/// A value list as the wire holds it, borrowed from the datagram (or from the decrypted
/// payload of an encryption part) and never copied.
///
/// Names are the bytes before each string part's NUL: exactly what collectd's receiver
/// sees, since collectd treats names as C strings and never checks their encoding.
/// [`RawValueList::to_value_list`] decodes them as UTF-8.
///
/// ```
/// use collectd::protocol::{CdTime, Event, PacketWriter, ReceiveSecurity, Value, ValueList, WriterOptions};
/// use collectd::protocol::parse_each;
///
/// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
/// let vl = ValueList::new("web1", "any", "gauge", vec![Value::Gauge(2.5)]).with_time(CdTime::from_secs(9));
/// writer.write(&vl.with_type_instance("coin_stats-heads-flips")).unwrap();
/// let datagram = writer.finish().unwrap().unwrap();
/// parse_each(&datagram, &ReceiveSecurity::none(), |event| {
///     if let Event::Values(raw) = event {
///         assert_eq!(raw.type_instance, b"coin_stats-heads-flips");
///         assert_eq!(raw.values.get(0), Some(Value::Gauge(2.5)));
///     }
/// });
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RawValueList<'r> {
    /// The host (never empty: collectd drops value lists without one).
    pub host: &'r [u8],
    /// The plugin (never empty).
    pub plugin: &'r [u8],
    /// The plugin instance; empty for none.
    pub plugin_instance: &'r [u8],
    /// The type (never empty).
    pub type_: &'r [u8],
    /// The type instance; empty for none.
    pub type_instance: &'r [u8],
    /// When the reading was made (never zero).
    pub time: CdTime,
    /// How often the reading is made; zero when the datagram did not say.
    pub interval: CdTime,
    /// The values, a view over the VALUES part.
    pub values: Values<'r>,
    /// Plain, signed or encrypted.
    pub protection: Protection,
    /// The username of the signature or encryption, if any.
    pub username: Option<&'r [u8]>,
}

impl<'r> RawValueList<'r> {
    /// The value list with its names decoded as UTF-8 (invalid sequences replaced by
    /// U+FFFD); valid names borrow.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Event, PacketWriter, ReceiveSecurity, Value, ValueList, WriterOptions};
    /// use collectd::protocol::parse_each;
    ///
    /// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    /// writer.write(&ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1))).unwrap();
    /// let datagram = writer.finish().unwrap().unwrap();
    /// let mut names = Vec::new();
    /// parse_each(&datagram, &ReceiveSecurity::none(), |event| {
    ///     if let Event::Values(raw) = event {
    ///         names.push(raw.to_value_list().identifier().to_string());
    ///     }
    /// });
    /// assert_eq!(names, ["h/p/t"]);
    /// ```
    pub fn to_value_list(&self) -> ValueList<'r> {
        ValueList {
            host: text(self.host),
            plugin: text(self.plugin),
            plugin_instance: text(self.plugin_instance),
            type_: text(self.type_),
            type_instance: text(self.type_instance),
            time: self.time,
            interval: self.interval,
            values: self.values.clone(),
        }
    }
}

/// A notification as the wire holds it, borrowed like a [`RawValueList`].
///
/// ```
/// use collectd::protocol::{CdTime, Event, Notification, ReceiveSecurity, Severity, WriterOptions};
/// use collectd::protocol::{encode_notification, parse_each};
///
/// let n = Notification::new(Severity::Warning, CdTime::from_secs(1), "disk full").with_host("db1");
/// let datagram = encode_notification(&n, &WriterOptions::default()).unwrap();
/// parse_each(&datagram, &ReceiveSecurity::none(), |event| {
///     if let Event::Notification(raw) = event {
///         assert_eq!((raw.host, raw.message), (&b"db1"[..], &b"disk full"[..]));
///         assert_eq!(raw.severity, Severity::Warning);
///     }
/// });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawNotification<'r> {
    /// How bad it is.
    pub severity: Severity,
    /// When it happened (never zero).
    pub time: CdTime,
    /// Host name, or empty.
    pub host: &'r [u8],
    /// Plugin name, or empty.
    pub plugin: &'r [u8],
    /// Plugin instance, or empty.
    pub plugin_instance: &'r [u8],
    /// Type name, or empty.
    pub type_: &'r [u8],
    /// Type instance, or empty.
    pub type_instance: &'r [u8],
    /// The message (never empty).
    pub message: &'r [u8],
    /// Plain, signed or encrypted.
    pub protection: Protection,
    /// The username of the signature or encryption, if any.
    pub username: Option<&'r [u8]>,
}

impl<'r> RawNotification<'r> {
    /// The notification with its strings decoded as UTF-8 (invalid sequences replaced by
    /// U+FFFD); valid strings borrow.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Event, Notification, ReceiveSecurity, Severity, WriterOptions};
    /// use collectd::protocol::{encode_notification, parse_each};
    ///
    /// let n = Notification::new(Severity::Okay, CdTime::from_secs(1), "back").with_host("db1");
    /// let datagram = encode_notification(&n, &WriterOptions::default()).unwrap();
    /// let mut received = Vec::new();
    /// parse_each(&datagram, &ReceiveSecurity::none(), |event| {
    ///     if let Event::Notification(raw) = event {
    ///         received.push(raw.to_notification().into_owned());
    ///     }
    /// });
    /// assert_eq!(received, [n]);
    /// ```
    pub fn to_notification(&self) -> Notification<'r> {
        Notification {
            severity: self.severity,
            time: self.time,
            host: text(self.host),
            plugin: text(self.plugin),
            plugin_instance: text(self.plugin_instance),
            type_: text(self.type_),
            type_instance: text(self.type_instance),
            message: text(self.message),
        }
    }
}

/// What the streaming parser [`parse_each`] reports, in datagram order.
///
/// ```
/// use collectd::protocol::{Event, ParseErrorKind, ReceiveSecurity, parse_each};
///
/// // A HOST part that claims 16 bytes in a datagram of 5.
/// let mut errors = Vec::new();
/// parse_each(&[0x00, 0x00, 0x00, 0x10, b'h'], &ReceiveSecurity::none(), |event| {
///     if let Event::Error(error) = event {
///         errors.push(error.kind);
///     }
/// });
/// assert_eq!(errors, [ParseErrorKind::PartExceedsDatagram { length: 16, remaining: 5 }]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Event<'r> {
    /// A value list collectd would dispatch.
    Values(RawValueList<'r>),
    /// A notification collectd would dispatch.
    Notification(RawNotification<'r>),
    /// An error: it ended the datagram, or the signed or encrypted payload it is in.
    Error(ParseError),
    /// Something skipped, or accepted with a remark.
    Notice(Notice),
}

/// Parses a datagram as a collectd receiver with the given security settings would,
/// calling `visit` for every record, error and notice, in order.
///
/// This is the parser itself; [`parse`] collects what it reports. An event is valid
/// for the call of `visit` that receives it (records of an encrypted part borrow its
/// decrypted payload, which the parser drops afterwards): keep what you need with
/// [`RawValueList::to_value_list`] and `into_owned`, or copy the bytes. Names are raw
/// bytes, as collectd sees them. Nothing is allocated for a plain or correctly signed
/// datagram (errors naming a user carry the name as a `String`; an encrypted part is
/// decrypted into a buffer of its own). Never panics.
///
/// ```
/// use collectd::protocol::{CdTime, Event, PacketWriter, ReceiveSecurity, Value, ValueList, WriterOptions};
/// use collectd::protocol::parse_each;
///
/// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
/// for (i, stat) in ["flips", "wins"].into_iter().enumerate() {
///     let vl = ValueList::new("web1", "any", "gauge", vec![Value::Gauge(i as f64)]);
///     writer.write(&vl.with_type_instance(format!("coin_stats-{stat}")).with_time(CdTime::from_secs(9))).unwrap();
/// }
/// let datagram = writer.finish().unwrap().unwrap();
/// let mut sum = 0.0;
/// parse_each(&datagram, &ReceiveSecurity::none(), |event| match event {
///     Event::Values(raw) => sum += raw.values.iter().map(|v| v.as_f64()).sum::<f64>(),
///     Event::Error(error) => eprintln!("malformed: {error}"),
///     Event::Notification(_) | Event::Notice(_) => {}
/// });
/// assert_eq!(sum, 1.0);
/// ```
pub fn parse_each<F>(datagram: &[u8], security: &ReceiveSecurity<'_>, mut visit: F)
where
    F: FnMut(Event<'_>),
{
    Parser { security }.parse_payload(datagram, 0, Protection::Plain, false, None, 0, &mut Streamer(&mut visit));
}

/// Parses a datagram as a collectd receiver with the given security settings would,
/// and collects the records, errors and notices.
///
/// Names are decoded as UTF-8 (invalid sequences replaced by U+FFFD), once per string
/// part; strings and values borrow from `datagram` (records of encrypted parts are
/// copied out of the decrypted buffer). Never panics. [`parse_each`] streams the same
/// results without collecting or decoding them.
///
/// ```
/// use collectd::protocol::{parse, ReceiveSecurity, Value};
///
/// // protocol.md vector A (go-collectd's packet1.bin).
/// let bytes = [
///     0x00, 0x00, 0x00, 0x10, b'e', b'x', b'a', b'm', b'p', b'l', b'e', b'.', b'c', b'o', b'm', 0,
///     0x00, 0x02, 0x00, 0x0b, b'g', b'o', b'l', b'a', b'n', b'g', 0,
///     0x00, 0x04, 0x00, 0x0a, b'g', b'a', b'u', b'g', b'e', 0,
///     0x00, 0x08, 0x00, 0x0c, 0x15, 0x6d, 0xb1, 0xcf, 0xaf, 0x08, 0xba, 0x7a,
///     0x00, 0x09, 0x00, 0x0c, 0, 0, 0, 0, 0x40, 0, 0, 0,
///     0x00, 0x06, 0x00, 0x0f, 0x00, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0x24, 0x40,
/// ];
/// let datagram = parse(&bytes, &ReceiveSecurity::none());
/// assert!(datagram.errors.is_empty());
/// let vl = datagram.value_lists().next().unwrap();
/// assert_eq!(vl.identifier().to_string(), "example.com/golang/gauge");
/// assert_eq!(vl.values.get(0), Some(Value::Gauge(10.0)));
/// ```
pub fn parse<'a>(datagram: &'a [u8], security: &ReceiveSecurity<'_>) -> Datagram<'a> {
    // A value list the client sends takes about 40 bytes (VALUES and a TYPE_INSTANCE):
    // reserving for that saves growing the vector for the usual datagrams (up to 64
    // records, so a large datagram of a few value lists does not reserve much).
    let capacity = (datagram.len() / 40).min(64);
    let mut collector = Collector(Datagram { records: Vec::with_capacity(capacity), ..Datagram::default() });
    Parser { security }.parse_payload(datagram, 0, Protection::Plain, false, None, 0, &mut collector);
    collector.0
}

/// The receiver's state between parts: collectd's `vl` and `n`, with names as the
/// output keeps them.
struct PartState<N> {
    host: N,
    plugin: N,
    plugin_instance: N,
    type_: N,
    type_instance: N,
    time: u64,
    interval: u64,
    severity: u64,
}

/// A name as the parser's state keeps it.
trait Name {
    /// The name before its part is read: empty.
    fn unset() -> Self;

    /// True for an empty name: collectd's test for a missing host, plugin or type.
    fn is_unset(&self) -> bool;
}

impl Name for &[u8] {
    fn unset() -> Self {
        &[]
    }

    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

impl Name for Cow<'_, str> {
    fn unset() -> Self {
        // Not `Cow::default()`, which is an owned string: records would clone it.
        Cow::Borrowed("")
    }

    fn is_unset(&self) -> bool {
        self.is_empty()
    }
}

/// Where the parser's findings go: [`parse_each`]'s raw events or [`parse`]'s records.
/// One parser serves both; what differs is how a name is kept between parts.
trait Output<'b> {
    /// A name as the state keeps it.
    type Name: Name;

    /// Turns the bytes of a string part (before its NUL) into a name, once per part.
    fn name(&mut self, bytes: &'b [u8]) -> Self::Name;

    /// A value list collectd would dispatch: the state's names and time, and `values`.
    fn value_list(
        &mut self,
        state: &PartState<Self::Name>,
        values: Values<'b>,
        protection: Protection,
        username: Option<&Self::Name>,
    );

    /// A notification collectd would dispatch.
    fn notification(
        &mut self,
        state: &PartState<Self::Name>,
        severity: Severity,
        message: &'b [u8],
        protection: Protection,
        username: Option<&Self::Name>,
    );

    /// An error: it ended the datagram or the payload it is in.
    fn error(&mut self, error: ParseError);

    /// Something skipped or accepted with a remark.
    fn notice(&mut self, notice: Notice);

    /// Parses the decrypted payload of an encryption part, whose bytes live only as long
    /// as this call: `parser.parse_payload` with an output that fits that lifetime.
    fn decrypted(
        &mut self,
        parser: &Parser<'_, '_>,
        plaintext: &[u8],
        base: usize,
        signed: bool,
        user: &[u8],
        depth: usize,
    );
}

/// [`parse_each`]'s output: raw events straight to the caller's closure.
struct Streamer<'f, F>(&'f mut F);

impl<N: Name> PartState<N> {
    fn new() -> Self {
        PartState {
            host: N::unset(),
            plugin: N::unset(),
            plugin_instance: N::unset(),
            type_: N::unset(),
            type_instance: N::unset(),
            time: 0,
            interval: 0,
            severity: 0,
        }
    }
}

impl<'b, F: FnMut(Event<'_>)> Output<'b> for Streamer<'_, F> {
    type Name = &'b [u8];

    #[inline]
    fn name(&mut self, bytes: &'b [u8]) -> &'b [u8] {
        bytes
    }

    #[inline(always)]
    fn value_list(
        &mut self,
        state: &PartState<&'b [u8]>,
        values: Values<'b>,
        protection: Protection,
        username: Option<&&'b [u8]>,
    ) {
        (self.0)(Event::Values(RawValueList {
            host: state.host,
            plugin: state.plugin,
            plugin_instance: state.plugin_instance,
            type_: state.type_,
            type_instance: state.type_instance,
            time: CdTime::from_raw(state.time),
            interval: CdTime::from_raw(state.interval),
            values,
            protection,
            username: username.copied(),
        }));
    }

    fn notification(
        &mut self,
        state: &PartState<&'b [u8]>,
        severity: Severity,
        message: &'b [u8],
        protection: Protection,
        username: Option<&&'b [u8]>,
    ) {
        (self.0)(Event::Notification(RawNotification {
            severity,
            time: CdTime::from_raw(state.time),
            host: state.host,
            plugin: state.plugin,
            plugin_instance: state.plugin_instance,
            type_: state.type_,
            type_instance: state.type_instance,
            message,
            protection,
            username: username.copied(),
        }));
    }

    fn error(&mut self, error: ParseError) {
        (self.0)(Event::Error(error));
    }

    fn notice(&mut self, notice: Notice) {
        (self.0)(Event::Notice(notice));
    }

    fn decrypted(
        &mut self,
        parser: &Parser<'_, '_>,
        plaintext: &[u8],
        base: usize,
        signed: bool,
        user: &[u8],
        depth: usize,
    ) {
        parser.parse_payload(plaintext, base, Protection::Encrypted, signed, Some(user), depth, self);
    }
}

/// [`parse`]'s output: records with names decoded once per string part (each record
/// then shares the part's `Cow`, a pointer copy when it borrows).
struct Collector<'b>(Datagram<'b>);

impl<'b> Output<'b> for Collector<'b> {
    type Name = Cow<'b, str>;

    #[inline]
    fn name(&mut self, bytes: &'b [u8]) -> Cow<'b, str> {
        text(bytes)
    }

    #[inline(always)]
    fn value_list(
        &mut self,
        state: &PartState<Cow<'b, str>>,
        values: Values<'b>,
        protection: Protection,
        username: Option<&Cow<'b, str>>,
    ) {
        self.0.records.push(Received {
            record: Record::Values(ValueList {
                host: share(&state.host),
                plugin: share(&state.plugin),
                plugin_instance: share(&state.plugin_instance),
                type_: share(&state.type_),
                type_instance: share(&state.type_instance),
                time: CdTime::from_raw(state.time),
                interval: CdTime::from_raw(state.interval),
                values,
            }),
            protection,
            username: username.map(share),
        });
    }

    fn notification(
        &mut self,
        state: &PartState<Cow<'b, str>>,
        severity: Severity,
        message: &'b [u8],
        protection: Protection,
        username: Option<&Cow<'b, str>>,
    ) {
        self.0.records.push(Received {
            record: Record::Notification(Notification {
                severity,
                time: CdTime::from_raw(state.time),
                host: share(&state.host),
                plugin: share(&state.plugin),
                plugin_instance: share(&state.plugin_instance),
                type_: share(&state.type_),
                type_instance: share(&state.type_instance),
                message: text(message),
            }),
            protection,
            username: username.map(share),
        });
    }

    fn error(&mut self, error: ParseError) {
        self.0.errors.push(error);
    }

    fn notice(&mut self, notice: Notice) {
        self.0.notices.push(notice);
    }

    fn decrypted(
        &mut self,
        parser: &Parser<'_, '_>,
        plaintext: &[u8],
        base: usize,
        signed: bool,
        user: &[u8],
        depth: usize,
    ) {
        // The records borrow the plaintext, which the caller drops after this: copy them.
        let mut inner: Collector<'_> = Collector(Datagram::default());
        parser.parse_payload(plaintext, base, Protection::Encrypted, signed, Some(user), depth, &mut inner);
        self.0.records.extend(inner.0.records.into_iter().map(|record| record.into_owned()));
        self.0.errors.append(&mut inner.0.errors);
        self.0.notices.append(&mut inner.0.notices);
    }
}

/// The bytes as text, invalid UTF-8 replaced. Valid UTF-8 (what senders send) takes the
/// fast check of `str::from_utf8` and borrows.
#[inline]
fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// A copy of a decoded string: `Cow::clone`, inlined (a borrowed string, the common case,
/// is a pointer copy).
#[inline]
fn share<'b>(text: &Cow<'b, str>) -> Cow<'b, str> {
    match text {
        Cow::Borrowed(text) => Cow::Borrowed(text),
        Cow::Owned(text) => Cow::Owned(text.clone()),
    }
}

/// The bytes before the first NUL: what C code sees of a string.
#[inline]
fn c_string(bytes: &[u8]) -> &[u8] {
    // Usually the only NUL is the last byte: check the rest eight bytes at a time.
    if let [head @ .., 0] = bytes
        && !has_zero_byte(head)
    {
        return head;
    }
    match bytes.iter().position(|&b| b == 0) {
        Some(nul) => &bytes[..nul],
        None => bytes,
    }
}

/// True when a byte of `bytes` is zero: the classic word-at-a-time test, which for the
/// short names of collectd parts beats both a byte loop and memchr. The bytes after the
/// last whole word are tested as the last eight bytes (overlapping that word), so no
/// name takes a byte loop unless it is shorter than a word.
#[inline]
fn has_zero_byte(bytes: &[u8]) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |word: &[u8]| {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        w.wrapping_sub(LOW) & !w & HIGH != 0
    };
    if bytes.len() < 8 {
        return bytes.contains(&0);
    }
    let mut words = bytes.chunks_exact(8);
    if words.any(zero_in) {
        return true;
    }
    !words.remainder().is_empty() && zero_in(&bytes[bytes.len() - 8..])
}

#[inline]
fn be16(bytes: &[u8], at: usize) -> u16 {
    let mut word = [0u8; 2];
    word.copy_from_slice(&bytes[at..at + 2]);
    u16::from_be_bytes(word)
}

#[inline]
fn be64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_be_bytes(word)
}

/// The parser: the receiver's security settings, and collectd's `parse_packet`.
struct Parser<'s, 'u> {
    security: &'s ReceiveSecurity<'u>,
}

impl Parser<'_, '_> {
    /// One call of collectd's `parse_packet`, over `bytes` whose first byte is at
    /// `base` in the datagram.
    #[allow(clippy::too_many_arguments)]
    fn parse_payload<'b, O: Output<'b>>(
        &self,
        bytes: &'b [u8],
        base: usize,
        protection: Protection,
        signed: bool,
        username: Option<&'b [u8]>,
        depth: usize,
        out: &mut O,
    ) {
        let encrypted = protection == Protection::Encrypted;
        let level = self.security.level();
        let username = username.map(|user| out.name(user));
        let mut state = PartState::<O::Name>::new();
        let mut pos = 0usize;
        // `end - pos` is collectd's `buffer_size`; it shrinks by a part's declared length
        // while `pos` moves by what was read, which differ only for odd number parts.
        let mut end = bytes.len();
        let mut ignored_reported = false;

        while end - pos > 4 {
            let remaining = end - pos;
            let offset = base + pos;
            let part_type = be16(bytes, pos);
            let length = be16(bytes, pos + 2) as usize;
            if length > remaining {
                error(out, offset, ParseErrorKind::PartExceedsDatagram { length, remaining });
                return;
            }
            if length < 4 {
                error(out, offset, ParseErrorKind::PartTooShort { length });
                return;
            }

            if part_type == part::ENCRYPTION {
                if depth >= MAX_NESTING {
                    error(out, offset, ParseErrorKind::NestingTooDeep);
                    return;
                }
                match self.open_encrypted(&bytes[pos..end], offset, length) {
                    Ok((user, plaintext_offset, plaintext)) => {
                        out.decrypted(self, &plaintext, offset + plaintext_offset, signed, c_string(user), depth + 1);
                        pos += length;
                        continue;
                    }
                    Err(kind) => {
                        error(out, offset, kind);
                        return;
                    }
                }
            }

            let unprotected_for_level = match level {
                SecurityLevel::Encrypt => !encrypted,
                SecurityLevel::Sign => !encrypted && !signed && part_type != part::SIGNATURE,
                SecurityLevel::None => false,
            };
            if unprotected_for_level {
                if !ignored_reported {
                    notice(out, offset, NoticeKind::UnprotectedPartsIgnored { level });
                    ignored_reported = true;
                }
                pos += length;
                continue;
            }

            match part_type {
                part::SIGNATURE => {
                    if remaining <= SIGNATURE_OVERHEAD || length <= SIGNATURE_OVERHEAD {
                        error(out, offset, ParseErrorKind::BadSecurityPart { part_type, length });
                        return;
                    }
                    let Some(users) = self.security.users() else {
                        notice(out, offset, NoticeKind::UnverifiedSignature);
                        pos += length;
                        continue;
                    };
                    if depth >= MAX_NESTING {
                        error(out, offset, ParseErrorKind::NestingTooDeep);
                        return;
                    }
                    let mac = &bytes[pos + 4..pos + SIGNATURE_OVERHEAD];
                    let user_raw = &bytes[pos + SIGNATURE_OVERHEAD..pos + length];
                    let user = c_string(user_raw);
                    let Some(password) = users.password(user) else {
                        error(out, offset, ParseErrorKind::UnknownUser { username: text(user).into_owned() });
                        return;
                    };
                    let covered = &bytes[pos + SIGNATURE_OVERHEAD..end];
                    if !security::verify_signature(password, covered, mac) {
                        error(out, offset, ParseErrorKind::SignatureMismatch { username: text(user).into_owned() });
                        return;
                    }
                    self.parse_payload(
                        &bytes[pos + length..end],
                        offset + length,
                        if encrypted { Protection::Encrypted } else { Protection::Signed },
                        true,
                        Some(user),
                        depth + 1,
                        out,
                    );
                    return;
                }
                part::VALUES => {
                    if remaining < 15 {
                        error(out, offset, ParseErrorKind::ValuesTruncated { needed: 15, remaining });
                        return;
                    }
                    let count = be16(bytes, pos + 4) as usize;
                    let needed = 6 + 9 * count;
                    if remaining < needed {
                        error(out, offset, ParseErrorKind::ValuesTruncated { needed, remaining });
                        return;
                    }
                    if length != needed {
                        error(out, offset, ParseErrorKind::ValuesLengthMismatch { length, count });
                        return;
                    }
                    let codes = &bytes[pos + 6..pos + 6 + count];
                    if let Some(i) = codes.iter().position(|&c| DsType::from_code(c).is_none()) {
                        error(out, offset + 6 + i, ParseErrorKind::UnknownDsType { code: codes[i] });
                        return;
                    }
                    let data = &bytes[pos + 6 + count..pos + needed];
                    let reason = if state.time == 0 {
                        Some(DropReason::NoTime)
                    } else if state.host.is_unset() {
                        Some(DropReason::NoHost)
                    } else if state.plugin.is_unset() {
                        Some(DropReason::NoPlugin)
                    } else if state.type_.is_unset() {
                        Some(DropReason::NoType)
                    } else {
                        None
                    };
                    match reason {
                        Some(reason) => notice(out, offset, NoticeKind::ValueListDropped { reason }),
                        None => out.value_list(
                            &state,
                            Values::from_wire_checked(codes, data),
                            protection,
                            username.as_ref(),
                        ),
                    }
                    pos += length;
                }
                part::TIME | part::TIME_HR | part::INTERVAL | part::INTERVAL_HR | part::SEVERITY => {
                    if remaining < 12 || length < 12 {
                        error(out, offset, ParseErrorKind::BadLength { part_type, length });
                        return;
                    }
                    let number = be64(bytes, pos + 4);
                    match part_type {
                        // `<< 30` drops the high bits, as collectd's shift does.
                        part::TIME => state.time = number << 30,
                        part::TIME_HR => state.time = number,
                        part::INTERVAL => state.interval = number << 30,
                        part::INTERVAL_HR => state.interval = number,
                        // collectd stores the severity in an `int`: the low 32 bits.
                        _ => state.severity = number & 0xffff_ffff,
                    }
                    pos += 12;
                    end -= length - 12;
                }
                part::HOST
                | part::PLUGIN
                | part::PLUGIN_INSTANCE
                | part::TYPE
                | part::TYPE_INSTANCE
                | part::MESSAGE => {
                    if length <= 4 {
                        error(out, offset, ParseErrorKind::BadLength { part_type, length });
                        return;
                    }
                    let payload = &bytes[pos + 4..pos + length];
                    let limit = if part_type == part::MESSAGE { MESSAGE_BUFFER } else { NAME_BUFFER };
                    if payload.len() > limit {
                        error(out, offset, ParseErrorKind::StringTooLong { part_type, length: payload.len() });
                        return;
                    }
                    if payload[payload.len() - 1] != 0 {
                        error(out, offset, ParseErrorKind::StringWithoutNul { part_type });
                        return;
                    }
                    let value = c_string(payload);
                    match part_type {
                        part::HOST => state.host = out.name(value),
                        part::PLUGIN => state.plugin = out.name(value),
                        part::PLUGIN_INSTANCE => state.plugin_instance = out.name(value),
                        part::TYPE => state.type_ = out.name(value),
                        part::TYPE_INSTANCE => state.type_instance = out.name(value),
                        _ => dispatch_notification(out, &state, value, offset, protection, username.as_ref()),
                    }
                    pos += length;
                }
                _ => {
                    notice(out, offset, NoticeKind::UnknownPart { part_type });
                    pos += length;
                }
            }
        }
        if end > pos {
            error(out, base + pos, ParseErrorKind::TrailingBytes { count: end - pos });
        }
    }
}

/// A MESSAGE part: the notification collectd would dispatch, or why it ignores it.
fn dispatch_notification<'b, O: Output<'b>>(
    out: &mut O,
    state: &PartState<O::Name>,
    message: &'b [u8],
    offset: usize,
    protection: Protection,
    username: Option<&O::Name>,
) {
    let severity = Severity::from_code(state.severity);
    let reason = if severity.is_none() {
        Some(DropReason::UnknownSeverity(state.severity))
    } else if state.time == 0 {
        Some(DropReason::NoTime)
    } else if message.is_empty() {
        Some(DropReason::EmptyMessage)
    } else {
        None
    };
    match (reason, severity) {
        (None, Some(severity)) => out.notification(state, severity, message, protection, username),
        (reason, _) => {
            notice(out, offset, NoticeKind::NotificationIgnored { reason: reason.unwrap_or(DropReason::EmptyMessage) })
        }
    }
}

fn error<'b>(out: &mut impl Output<'b>, offset: usize, kind: ParseErrorKind) {
    out.error(ParseError { offset, kind });
}

fn notice<'b>(out: &mut impl Output<'b>, offset: usize, kind: NoticeKind) {
    out.notice(Notice { offset, kind });
}

impl Parser<'_, '_> {
    /// Checks and decrypts an encryption part at the start of `rest`: returns the raw
    /// username, the plaintext payload's offset within the part, and the payload.
    fn open_encrypted<'r>(
        &self,
        rest: &'r [u8],
        _offset: usize,
        length: usize,
    ) -> Result<(&'r [u8], usize, Vec<u8>), ParseErrorKind> {
        let bad = ParseErrorKind::BadSecurityPart { part_type: part::ENCRYPTION, length };
        if rest.len() <= ENCRYPTION_OVERHEAD || length <= ENCRYPTION_OVERHEAD {
            return Err(bad);
        }
        let user_len = be16(rest, 4) as usize;
        if user_len == 0 || user_len > length - (ENCRYPTION_OVERHEAD + 1) {
            return Err(bad);
        }
        let user_raw = &rest[6..6 + user_len];
        let user = c_string(user_raw);
        let password = self
            .security
            .users()
            .and_then(|users| users.password(user))
            .ok_or_else(|| ParseErrorKind::UnknownUser { username: text(user).into_owned() })?;
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&rest[6 + user_len..22 + user_len]);
        let mut secret = rest[22 + user_len..length].to_vec();
        if !security::decrypt_in_place(password, &iv, &mut secret) {
            return Err(ParseErrorKind::ChecksumMismatch { username: text(user).into_owned() });
        }
        secret.drain(..20);
        Ok((user_raw, ENCRYPTION_OVERHEAD + user_len, secret))
    }
}
