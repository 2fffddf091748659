//! collectd's binary network protocol, sans I/O: value lists and notifications to bytes and back.
//!
//! Nothing here opens a socket or reads a clock (except [`CdTime::now`], which callers
//! choose to call): the [`PacketWriter`] fills datagrams, [`parse_each`] reads them (and
//! [`parse`] collects what it reads), and the functions of the security part sign,
//! encrypt, verify and decrypt. The client and the receivers do the I/O.
//!
//! The facts this follows are those of collectd 5.12's `src/network.c`; see the
//! project's `protocol.md` for the list, with test vectors.

mod parser;
mod record;
mod security;
mod time;
mod value;
mod writer;

pub use parser::{
    Datagram, DropReason, Event, MAX_NESTING, Notice, NoticeKind, ParseError, ParseErrorKind, Protection,
    RawNotification, RawValueList, Received, Record, parse, parse_each,
};
pub use record::{Identifier, Notification, Severity, ValueList};
/// For test vectors only (a fixed IV); use [`encrypt`].
#[doc(hidden)]
pub use security::encrypt_with_iv;
pub use security::{
    AuthFile, Credentials, CredentialsError, ENCRYPTION_OVERHEAD, MAX_ENCRYPT_USERNAME, MAX_SIGN_USERNAME,
    MissingAuthFile, RandomError, ReceiveSecurity, SIGNATURE_OVERHEAD, Security, SecurityLevel, encrypt, sign,
};
pub use time::CdTime;
pub use value::{DsType, Value, Values};
pub use writer::{
    DEFAULT_MAX_PACKET_SIZE, EncodeError, Field, MAX_MESSAGE_LEN, MAX_NAME_LEN, MAX_VALUES, PACKET_SIZE_RANGE,
    PacketWriter, TimeResolution, WriterOptions, encode_notification, validate_value_list,
};

/// Part type codes (`src/network.h`).
pub mod part {
    /// Host name (string).
    ///
    /// ```
    /// use collectd::protocol::{CdTime, PacketWriter, Value, ValueList, WriterOptions, part};
    ///
    /// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    /// writer.write(&ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1))).unwrap();
    /// let datagram = writer.finish().unwrap().unwrap();
    /// assert_eq!(datagram[..2], part::HOST.to_be_bytes()); // collectd writes the host first
    /// assert_eq!(part::HOST, 0x0000);
    /// ```
    pub const HOST: u16 = 0x0000;
    /// Time in whole seconds (number).
    ///
    /// ```
    /// assert_eq!(collectd::protocol::part::TIME, 0x0001);
    /// ```
    pub const TIME: u16 = 0x0001;
    /// Plugin name (string).
    ///
    /// ```
    /// assert_eq!(collectd::protocol::part::PLUGIN, 0x0002);
    /// ```
    pub const PLUGIN: u16 = 0x0002;
    /// Plugin instance (string).
    ///
    /// ```
    /// assert_eq!(collectd::protocol::part::PLUGIN_INSTANCE, 0x0003);
    /// ```
    pub const PLUGIN_INSTANCE: u16 = 0x0003;
    /// Type name (string).
    ///
    /// ```
    /// assert_eq!(collectd::protocol::part::TYPE, 0x0004);
    /// ```
    pub const TYPE: u16 = 0x0004;
    /// Type instance (string).
    ///
    /// ```
    /// assert_eq!(collectd::protocol::part::TYPE_INSTANCE, 0x0005);
    /// ```
    pub const TYPE_INSTANCE: u16 = 0x0005;
    /// Values.
    ///
    /// ```
    /// assert_eq!(collectd::protocol::part::VALUES, 0x0006);
    /// ```
    pub const VALUES: u16 = 0x0006;
    /// Interval in whole seconds (number).
    ///
    /// ```
    /// assert_eq!(collectd::protocol::part::INTERVAL, 0x0007);
    /// ```
    pub const INTERVAL: u16 = 0x0007;
    /// Time in units of 2^-30 s (number).
    ///
    /// ```
    /// use collectd::protocol::{CdTime, PacketWriter, Value, ValueList, WriterOptions, part};
    ///
    /// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    /// writer.write(&ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1))).unwrap();
    /// let datagram = writer.finish().unwrap().unwrap();
    /// assert_eq!(datagram[6..8], part::TIME_HR.to_be_bytes()); // right after the 6-byte HOST part
    /// assert_eq!(part::TIME_HR, 0x0008);
    /// ```
    pub const TIME_HR: u16 = 0x0008;
    /// Interval in units of 2^-30 s (number).
    ///
    /// ```
    /// assert_eq!(collectd::protocol::part::INTERVAL_HR, 0x0009);
    /// ```
    pub const INTERVAL_HR: u16 = 0x0009;
    /// Notification message (string).
    ///
    /// ```
    /// assert_eq!(collectd::protocol::part::MESSAGE, 0x0100);
    /// ```
    pub const MESSAGE: u16 = 0x0100;
    /// Notification severity (number).
    ///
    /// ```
    /// assert_eq!(collectd::protocol::part::SEVERITY, 0x0101);
    /// ```
    pub const SEVERITY: u16 = 0x0101;
    /// HMAC-SHA-256 signature.
    ///
    /// ```
    /// use collectd::protocol::{Credentials, part, sign};
    ///
    /// let signed = sign(b"payload", &Credentials::new("admin", "admin").unwrap());
    /// assert_eq!(signed[..2], part::SIGNATURE.to_be_bytes());
    /// assert_eq!(part::SIGNATURE, 0x0200);
    /// ```
    pub const SIGNATURE: u16 = 0x0200;
    /// AES-256-OFB encryption.
    ///
    /// ```
    /// use collectd::protocol::{Credentials, encrypt, part};
    ///
    /// let encrypted = encrypt(b"payload", &Credentials::new("admin", "admin").unwrap()).unwrap();
    /// assert_eq!(encrypted[..2], part::ENCRYPTION.to_be_bytes());
    /// assert_eq!(part::ENCRYPTION, 0x0210);
    /// ```
    pub const ENCRYPTION: u16 = 0x0210;
}
