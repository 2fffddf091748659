//! collectd's binary network protocol, sans I/O: value lists and notifications to bytes and back.
//!
//! Nothing here opens a socket or reads a clock (except [`CdTime::now`], which callers
//! choose to call): the [`PacketWriter`] fills datagrams, [`parse`] reads them, and the
//! functions of the security part sign, encrypt, verify and decrypt. The client and the
//! receivers do the I/O.
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
    Datagram, DropReason, MAX_NESTING, Notice, NoticeKind, ParseError, ParseErrorKind, Protection, Received, Record,
    parse,
};
pub use record::{Identifier, Notification, Severity, ValueList};
pub use security::{
    AuthFile, Credentials, CredentialsError, ENCRYPTION_OVERHEAD, MAX_ENCRYPT_USERNAME, MAX_SIGN_USERNAME,
    MissingAuthFile, ReceiveSecurity, SIGNATURE_OVERHEAD, Security, SecurityLevel, encrypt, encrypt_with_iv, sign,
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
    pub const HOST: u16 = 0x0000;
    /// Time in whole seconds (number).
    pub const TIME: u16 = 0x0001;
    /// Plugin name (string).
    pub const PLUGIN: u16 = 0x0002;
    /// Plugin instance (string).
    pub const PLUGIN_INSTANCE: u16 = 0x0003;
    /// Type name (string).
    pub const TYPE: u16 = 0x0004;
    /// Type instance (string).
    pub const TYPE_INSTANCE: u16 = 0x0005;
    /// Values.
    pub const VALUES: u16 = 0x0006;
    /// Interval in whole seconds (number).
    pub const INTERVAL: u16 = 0x0007;
    /// Time in units of 2^-30 s (number).
    pub const TIME_HR: u16 = 0x0008;
    /// Interval in units of 2^-30 s (number).
    pub const INTERVAL_HR: u16 = 0x0009;
    /// Notification message (string).
    pub const MESSAGE: u16 = 0x0100;
    /// Notification severity (number).
    pub const SEVERITY: u16 = 0x0101;
    /// HMAC-SHA-256 signature.
    pub const SIGNATURE: u16 = 0x0200;
    /// AES-256-OFB encryption.
    pub const ENCRYPTION: u16 = 0x0210;
}
