//! The packet writer: value lists and notifications into datagrams, as collectd sends them.

use std::fmt;
use std::ops::Range;

use super::part;
use super::record::{Notification, ValueList};
use super::security::{self, Security};
use super::time::CdTime;

/// The longest name collectd accepts: its buffers hold 128 bytes with the NUL.
///
/// ```
/// use collectd::protocol::{CdTime, EncodeError, Field, MAX_NAME_LEN, Value, ValueList, validate_value_list};
///
/// let host = "h".repeat(MAX_NAME_LEN + 1);
/// let vl = ValueList::new(host.as_str(), "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1));
/// assert_eq!(validate_value_list(&vl), Err(EncodeError::StringTooLong { field: Field::Host, len: 128 }));
/// ```
pub const MAX_NAME_LEN: usize = 127;
/// The longest notification message collectd accepts: 256 bytes with the NUL.
///
/// ```
/// use collectd::protocol::{CdTime, MAX_MESSAGE_LEN, Notification, Severity, WriterOptions, encode_notification};
///
/// let long = "x".repeat(MAX_MESSAGE_LEN + 1);
/// let n = Notification::new(Severity::Okay, CdTime::from_secs(1), long.as_str());
/// assert!(encode_notification(&n, &WriterOptions::default()).is_err());
/// assert_eq!(MAX_MESSAGE_LEN, 255);
/// ```
pub const MAX_MESSAGE_LEN: usize = 255;
/// collectd's default `MaxPacketSize`, and the writer's.
///
/// ```
/// use collectd::protocol::{DEFAULT_MAX_PACKET_SIZE, WriterOptions};
///
/// assert_eq!(DEFAULT_MAX_PACKET_SIZE, 1452);
/// assert_eq!(WriterOptions::default().get_max_packet_size(), DEFAULT_MAX_PACKET_SIZE);
/// ```
pub const DEFAULT_MAX_PACKET_SIZE: usize = 1452;
/// The sizes collectd accepts for `MaxPacketSize`.
///
/// ```
/// use collectd::protocol::{EncodeError, PACKET_SIZE_RANGE, PacketWriter, WriterOptions};
///
/// assert!(PACKET_SIZE_RANGE.contains(&1452));
/// let error = PacketWriter::new(WriterOptions::default().max_packet_size(512)).unwrap_err();
/// assert_eq!(error, EncodeError::PacketSizeOutOfRange { size: 512 });
/// ```
pub const PACKET_SIZE_RANGE: std::ops::RangeInclusive<usize> = 1024..=65535;
/// The most values one VALUES part can hold (its length is a 16-bit count of bytes).
///
/// ```
/// use collectd::protocol::{CdTime, EncodeError, MAX_VALUES, Value, ValueList, validate_value_list};
///
/// assert_eq!(MAX_VALUES, 7281);
/// let vl = ValueList::new("h", "p", "t", vec![Value::Gauge(0.0); MAX_VALUES + 1]).with_time(CdTime::from_secs(1));
/// assert_eq!(validate_value_list(&vl), Err(EncodeError::TooManyValues { count: MAX_VALUES + 1 }));
/// ```
pub const MAX_VALUES: usize = (u16::MAX as usize - 6) / 9;

/// How times and intervals are written.
///
/// ```
/// use collectd::protocol::{CdTime, PacketWriter, TimeResolution, Value, ValueList, WriterOptions, part};
///
/// let options = WriterOptions::default().time_resolution(TimeResolution::Seconds);
/// let mut writer = PacketWriter::new(options).unwrap();
/// writer.write(&ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1))).unwrap();
/// let datagram = writer.finish().unwrap().unwrap();
/// assert_eq!(datagram[6..8], part::TIME.to_be_bytes()); // after the 6-byte HOST part
/// assert_eq!(TimeResolution::default(), TimeResolution::HighResolution);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TimeResolution {
    /// TIME_HR and INTERVAL_HR in units of 2^-30 s, as collectd 5 sends.
    #[default]
    HighResolution,
    /// TIME and INTERVAL in whole seconds (rounded to nearest), as collectd 4.x needs
    /// and the original Python module sent.
    Seconds,
}

/// The settings of a [`PacketWriter`].
///
/// ```
/// use collectd::protocol::{Credentials, Security, TimeResolution, WriterOptions};
///
/// let options = WriterOptions::default()
///     .max_packet_size(1024)
///     .time_resolution(TimeResolution::Seconds)
///     .security(Security::Sign(Credentials::new("admin", "admin").unwrap()));
/// assert_eq!(options.get_max_packet_size(), 1024);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterOptions {
    max_packet_size: usize,
    time_resolution: TimeResolution,
    security: Security,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            max_packet_size: DEFAULT_MAX_PACKET_SIZE,
            time_resolution: TimeResolution::HighResolution,
            security: Security::None,
        }
    }
}

impl WriterOptions {
    /// The largest datagram to write, sealing included: 1024 to 65535 (checked by
    /// [`PacketWriter::new`]). It must not exceed the receiver's `MaxPacketSize`.
    ///
    /// ```
    /// use collectd::protocol::{PacketWriter, WriterOptions};
    ///
    /// let writer = PacketWriter::new(WriterOptions::default().max_packet_size(1024)).unwrap();
    /// assert_eq!(writer.capacity(), 1024);
    /// assert!(PacketWriter::new(WriterOptions::default().max_packet_size(100)).is_err());
    /// ```
    pub fn max_packet_size(mut self, bytes: usize) -> Self {
        self.max_packet_size = bytes;
        self
    }

    /// How times and intervals are written.
    ///
    /// ```
    /// use collectd::protocol::{TimeResolution, WriterOptions};
    ///
    /// let options = WriterOptions::default().time_resolution(TimeResolution::Seconds);
    /// assert_eq!(options.get_time_resolution(), TimeResolution::Seconds);
    /// ```
    pub fn time_resolution(mut self, resolution: TimeResolution) -> Self {
        self.time_resolution = resolution;
        self
    }

    /// Signing or encryption.
    ///
    /// ```
    /// use collectd::protocol::{Credentials, PacketWriter, Security, WriterOptions};
    ///
    /// let credentials = Credentials::new("admin", "secret").unwrap();
    /// let writer = PacketWriter::new(WriterOptions::default().security(Security::Sign(credentials))).unwrap();
    /// assert_eq!(writer.capacity(), 1452 - (36 + 5)); // the signature part takes its share
    /// ```
    pub fn security(mut self, security: Security) -> Self {
        self.security = security;
        self
    }

    /// The largest datagram the writer produces.
    ///
    /// ```
    /// use collectd::protocol::WriterOptions;
    ///
    /// assert_eq!(WriterOptions::default().get_max_packet_size(), 1452);
    /// assert_eq!(WriterOptions::default().max_packet_size(8192).get_max_packet_size(), 8192);
    /// ```
    pub fn get_max_packet_size(&self) -> usize {
        self.max_packet_size
    }

    /// How times and intervals are written.
    ///
    /// ```
    /// use collectd::protocol::{TimeResolution, WriterOptions};
    ///
    /// assert_eq!(WriterOptions::default().get_time_resolution(), TimeResolution::HighResolution);
    /// ```
    pub fn get_time_resolution(&self) -> TimeResolution {
        self.time_resolution
    }

    /// Signing or encryption.
    ///
    /// ```
    /// use collectd::protocol::{Security, WriterOptions};
    ///
    /// assert_eq!(WriterOptions::default().get_security(), &Security::None);
    /// ```
    pub fn get_security(&self) -> &Security {
        &self.security
    }

    fn check(&self) -> Result<(), EncodeError> {
        if !PACKET_SIZE_RANGE.contains(&self.max_packet_size) {
            return Err(EncodeError::PacketSizeOutOfRange { size: self.max_packet_size });
        }
        Ok(())
    }

    /// Bytes left for parts once the sealing is accounted for.
    fn payload_capacity(&self) -> usize {
        self.max_packet_size - self.security.overhead()
    }
}

/// Which string of a value list or notification an error is about.
///
/// ```
/// use collectd::protocol::{CdTime, EncodeError, Field, Value, ValueList, validate_value_list};
///
/// let vl = ValueList::new("h", "", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1));
/// assert_eq!(validate_value_list(&vl), Err(EncodeError::EmptyField { field: Field::Plugin }));
/// assert_eq!(Field::TypeInstance.to_string(), "type instance");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The host.
    Host,
    /// The plugin.
    Plugin,
    /// The plugin instance.
    PluginInstance,
    /// The type.
    Type,
    /// The type instance.
    TypeInstance,
    /// A notification's message.
    Message,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::Host => "host",
            Field::Plugin => "plugin",
            Field::PluginInstance => "plugin instance",
            Field::Type => "type",
            Field::TypeInstance => "type instance",
            Field::Message => "message",
        })
    }
}

/// Why a value list or notification was not written. The packet is unchanged.
///
/// ```
/// use collectd::protocol::{EncodeError, Field, Value, ValueList, validate_value_list};
///
/// let vl = ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]);
/// let error = validate_value_list(&vl).unwrap_err();
/// assert_eq!(error, EncodeError::ZeroTime);
/// assert_eq!(error.to_string(), "the time is zero; collectd would drop it");
/// assert_eq!(EncodeError::NulInString { field: Field::Host }.to_string(), "the host contains a NUL byte");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The value list does not fit in what is left of this packet: finish the packet
    /// and write the value list into the next one.
    PacketFull,
    /// The value list (or notification) does not fit even in an empty packet.
    TooLarge {
        /// Bytes it needs.
        needed: usize,
        /// Bytes a packet has for parts.
        capacity: usize,
    },
    /// A string over 127 bytes (255 for a message): collectd would drop the rest of the datagram.
    StringTooLong {
        /// Which string.
        field: Field,
        /// Its length in bytes.
        len: usize,
    },
    /// A string with a NUL byte: collectd would cut it or drop the rest of the datagram.
    NulInString {
        /// Which string.
        field: Field,
    },
    /// An empty host, plugin, type or message: collectd would drop the value list.
    EmptyField {
        /// Which string.
        field: Field,
    },
    /// A zero time: collectd drops value lists and notifications without a time. With
    /// [`TimeResolution::Seconds`], also a time the receiver sees as zero: under half a
    /// second, or so large that its whole seconds overflow collectd's `<< 30`.
    ZeroTime,
    /// A value list without values.
    NoValues,
    /// More values than a VALUES part can hold.
    TooManyValues {
        /// How many were given.
        count: usize,
    },
    /// A maximum packet size outside 1024–65535.
    PacketSizeOutOfRange {
        /// The size asked for.
        size: usize,
    },
    /// The operating system could not give random bytes for an encryption IV.
    Random(String),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::PacketFull => f.write_str("the packet is full; start a new one"),
            EncodeError::TooLarge { needed, capacity } => {
                write!(f, "the value list or notification needs {needed} bytes but a packet holds only {capacity}")
            }
            EncodeError::StringTooLong { field, len } => {
                let max = if *field == Field::Message { MAX_MESSAGE_LEN } else { MAX_NAME_LEN };
                write!(f, "the {field} is {len} bytes long; collectd accepts at most {max}")
            }
            EncodeError::NulInString { field } => write!(f, "the {field} contains a NUL byte"),
            EncodeError::EmptyField { field } => write!(f, "the {field} is empty"),
            EncodeError::ZeroTime => f.write_str("the time is zero; collectd would drop it"),
            EncodeError::NoValues => f.write_str("the value list has no values"),
            EncodeError::TooManyValues { count } => {
                write!(f, "{count} values; a VALUES part holds at most {MAX_VALUES}")
            }
            EncodeError::PacketSizeOutOfRange { size } => {
                write!(f, "maximum packet size {size} is outside 1024–65535")
            }
            EncodeError::Random(e) => write!(f, "no random bytes for the encryption IV: {e}"),
        }
    }
}

impl std::error::Error for EncodeError {}

fn check_name(field: Field, value: &str, required: bool) -> Result<(), EncodeError> {
    check_name_if_new(field, value, required, true)
}

/// `check_name`, without the scan for NUL bytes when the value is not `new`: when it is
/// the one already written in the packet, which was checked then.
fn check_name_if_new(field: Field, value: &str, required: bool, new: bool) -> Result<(), EncodeError> {
    if value.is_empty() && required {
        return Err(EncodeError::EmptyField { field });
    }
    if value.len() > MAX_NAME_LEN {
        return Err(EncodeError::StringTooLong { field, len: value.len() });
    }
    // A fold without early exit, which the compiler vectorizes: names are short.
    if new && value.bytes().fold(false, |nul, b| nul | (b == 0)) {
        return Err(EncodeError::NulInString { field });
    }
    Ok(())
}

/// Checks what collectd would refuse in a value list, without writing it.
///
/// ```
/// use collectd::protocol::{CdTime, EncodeError, Value, ValueList, validate_value_list};
///
/// let vl = ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1));
/// assert_eq!(validate_value_list(&vl), Ok(()));
/// let empty = ValueList::new("h", "p", "t", Vec::new()).with_time(CdTime::from_secs(1));
/// assert_eq!(validate_value_list(&empty), Err(EncodeError::NoValues));
/// ```
pub fn validate_value_list(vl: &ValueList<'_>) -> Result<(), EncodeError> {
    validate_new_names(vl, [true; 5])
}

/// `validate_value_list`, scanning for NUL bytes only the names marked new (host, plugin,
/// plugin instance, type, type instance).
fn validate_new_names(vl: &ValueList<'_>, new: [bool; 5]) -> Result<(), EncodeError> {
    check_name_if_new(Field::Host, &vl.host, true, new[0])?;
    check_name_if_new(Field::Plugin, &vl.plugin, true, new[1])?;
    check_name_if_new(Field::PluginInstance, &vl.plugin_instance, false, new[2])?;
    check_name_if_new(Field::Type, &vl.type_, true, new[3])?;
    check_name_if_new(Field::TypeInstance, &vl.type_instance, false, new[4])?;
    if vl.time == CdTime::ZERO {
        return Err(EncodeError::ZeroTime);
    }
    match vl.values.len() {
        0 => Err(EncodeError::NoValues),
        n if n > MAX_VALUES => Err(EncodeError::TooManyValues { count: n }),
        _ => Ok(()),
    }
}

fn string_part_len(value: &str) -> usize {
    4 + value.len() + 1
}

const NUMBER_PART_LEN: usize = 12;

/// The time a receiver computes from a TIME or TIME_HR number: collectd shifts whole
/// seconds left by 30 bits, losing the bits that overflow.
fn time_on_receiver(part_type: u16, number: u64) -> u64 {
    if part_type == part::TIME { number << 30 } else { number }
}

fn put_string(buf: &mut Vec<u8>, part_type: u16, value: &str) -> Range<usize> {
    buf.extend_from_slice(&part_type.to_be_bytes());
    buf.extend_from_slice(&(string_part_len(value) as u16).to_be_bytes());
    let start = buf.len();
    buf.extend_from_slice(value.as_bytes());
    let range = start..buf.len();
    buf.push(0);
    range
}

fn put_number(buf: &mut Vec<u8>, part_type: u16, value: u64) {
    buf.extend_from_slice(&part_type.to_be_bytes());
    buf.extend_from_slice(&(NUMBER_PART_LEN as u16).to_be_bytes());
    buf.extend_from_slice(&value.to_be_bytes());
}

/// Writes parts into room already made in the packet buffer, without growing it part by part.
struct Cursor<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn bytes(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        self.buf[self.pos..end].copy_from_slice(bytes);
        self.pos = end;
    }

    fn header(&mut self, part_type: u16, length: usize) {
        let [t0, t1] = part_type.to_be_bytes();
        let [l0, l1] = (length as u16).to_be_bytes();
        self.bytes(&[t0, t1, l0, l1]);
    }

    /// A string part; returns where the string is in the buffer.
    fn string(&mut self, part_type: u16, value: &str) -> Range<usize> {
        self.header(part_type, string_part_len(value));
        let start = self.pos;
        self.bytes(value.as_bytes());
        let range = start..self.pos;
        self.bytes(&[0]);
        range
    }

    fn number(&mut self, part_type: u16, value: u64) {
        self.header(part_type, NUMBER_PART_LEN);
        self.bytes(&value.to_be_bytes());
    }
}

/// The identifier and times written last in the current packet, as collectd's
/// `add_to_buffer` remembers them: a part is written only when its value changed.
/// Strings are remembered as ranges of the packet buffer, so nothing is copied.
#[derive(Clone, Debug, Default)]
struct PacketState {
    host: Range<usize>,
    plugin: Range<usize>,
    plugin_instance: Range<usize>,
    type_: Range<usize>,
    type_instance: Range<usize>,
    time: u64,
    interval: u64,
}

/// Fills datagrams with value lists, writing each identifier part only when it changed
/// since the previous value list in the same datagram, as collectd does.
///
/// ```
/// use collectd::protocol::{CdTime, EncodeError, PacketWriter, Value, ValueList, WriterOptions};
///
/// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
/// let mut datagrams = Vec::new();
/// for i in 0..100 {
///     let name = format!("stats-item{i}");
///     let vl = ValueList::new("web1", "any", "gauge", vec![Value::Gauge(i as f64)])
///         .with_type_instance(name.as_str())
///         .with_time(CdTime::from_secs(1_700_000_000));
///     match writer.write(&vl) {
///         Ok(()) => {}
///         Err(EncodeError::PacketFull) => {
///             datagrams.push(writer.finish().unwrap().unwrap());
///             writer.write(&vl).unwrap();
///         }
///         Err(other) => panic!("{other}"),
///     }
/// }
/// datagrams.extend(writer.finish().unwrap());
/// assert_eq!(datagrams.len(), 3);
/// assert!(datagrams.iter().all(|d| d.len() <= 1452));
/// ```
#[derive(Clone, Debug)]
pub struct PacketWriter {
    options: WriterOptions,
    capacity: usize,
    buf: Vec<u8>,
    state: PacketState,
    value_lists: usize,
}

impl PacketWriter {
    /// A writer with the given options; fails when the packet size is out of range.
    ///
    /// ```
    /// use collectd::protocol::{EncodeError, PacketWriter, WriterOptions};
    ///
    /// assert!(PacketWriter::new(WriterOptions::default()).is_ok());
    /// let error = PacketWriter::new(WriterOptions::default().max_packet_size(70_000)).unwrap_err();
    /// assert_eq!(error, EncodeError::PacketSizeOutOfRange { size: 70_000 });
    /// ```
    pub fn new(options: WriterOptions) -> Result<Self, EncodeError> {
        options.check()?;
        let capacity = options.payload_capacity();
        Ok(PacketWriter {
            capacity,
            buf: Vec::with_capacity(capacity),
            options,
            state: PacketState::default(),
            value_lists: 0,
        })
    }

    /// The writer's options.
    ///
    /// ```
    /// use collectd::protocol::{PacketWriter, WriterOptions};
    ///
    /// let writer = PacketWriter::new(WriterOptions::default().max_packet_size(2048)).unwrap();
    /// assert_eq!(writer.options().get_max_packet_size(), 2048);
    /// ```
    pub fn options(&self) -> &WriterOptions {
        &self.options
    }

    /// True when the current packet holds nothing.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, PacketWriter, Value, ValueList, WriterOptions};
    ///
    /// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    /// assert!(writer.is_empty());
    /// writer.write(&ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1))).unwrap();
    /// assert!(!writer.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes of parts in the current packet, before sealing.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, PacketWriter, Value, ValueList, WriterOptions};
    ///
    /// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    /// writer.write(&ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1))).unwrap();
    /// // HOST, PLUGIN and TYPE (6 bytes each), TIME_HR (12) and VALUES (15).
    /// assert_eq!(writer.len(), 3 * 6 + 12 + 15);
    /// assert_eq!(writer.finish().unwrap().unwrap().len(), 45);
    /// ```
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Value lists in the current packet.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, PacketWriter, Value, ValueList, WriterOptions};
    ///
    /// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    /// let vl = ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1));
    /// writer.write(&vl).unwrap();
    /// writer.write(&vl).unwrap();
    /// assert_eq!(writer.value_lists(), 2);
    /// ```
    pub fn value_lists(&self) -> usize {
        self.value_lists
    }

    /// Bytes of parts a packet can hold once sealing is accounted for.
    ///
    /// ```
    /// use collectd::protocol::{Credentials, PacketWriter, Security, WriterOptions};
    ///
    /// assert_eq!(PacketWriter::new(WriterOptions::default()).unwrap().capacity(), 1452);
    /// let credentials = Credentials::new("admin", "secret").unwrap();
    /// let encrypted = WriterOptions::default().security(Security::Encrypt(credentials));
    /// assert_eq!(PacketWriter::new(encrypted).unwrap().capacity(), 1452 - (42 + 5));
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn time_wire(&self, time: CdTime) -> (u16, u64) {
        match self.options.time_resolution {
            TimeResolution::HighResolution => (part::TIME_HR, time.raw()),
            TimeResolution::Seconds => (part::TIME, time.as_secs_rounded()),
        }
    }

    fn interval_wire(&self, interval: CdTime) -> (u16, u64) {
        match self.options.time_resolution {
            TimeResolution::HighResolution => (part::INTERVAL_HR, interval.raw()),
            TimeResolution::Seconds => (part::INTERVAL, interval.as_secs_rounded()),
        }
    }

    fn differs(&self, remembered: &Range<usize>, value: &str) -> bool {
        &self.buf[remembered.clone()] != value.as_bytes()
    }

    /// Appends a value list to the current packet.
    ///
    /// On [`EncodeError::PacketFull`], [`finish`](Self::finish) the packet and write the
    /// value list again. Every other error is about the value list itself. On any error
    /// the packet is unchanged.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, EncodeError, Field, PacketWriter, Value, ValueList, WriterOptions};
    ///
    /// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    /// writer.write(&ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1))).unwrap();
    /// let before = writer.len();
    /// let bad = ValueList::new("h", "", "t", vec![Value::Gauge(2.0)]).with_time(CdTime::from_secs(1));
    /// assert_eq!(writer.write(&bad), Err(EncodeError::EmptyField { field: Field::Plugin }));
    /// assert_eq!(writer.len(), before, "the packet is unchanged");
    /// ```
    pub fn write(&mut self, vl: &ValueList<'_>) -> Result<(), EncodeError> {
        // The names that differ from the packet's are written; the others were checked
        // when they were written, so need no scan for NUL bytes.
        let host = self.differs(&self.state.host, &vl.host);
        let plugin = self.differs(&self.state.plugin, &vl.plugin);
        let plugin_instance = self.differs(&self.state.plugin_instance, &vl.plugin_instance);
        let type_ = self.differs(&self.state.type_, &vl.type_);
        let type_instance = self.differs(&self.state.type_instance, &vl.type_instance);
        validate_new_names(vl, [host, plugin, plugin_instance, type_, type_instance])?;
        let (time_type, time) = self.time_wire(vl.time);
        if time_on_receiver(time_type, time) == 0 {
            return Err(EncodeError::ZeroTime);
        }
        let (interval_type, interval) = self.interval_wire(vl.interval);
        let time_changed = time != self.state.time;
        let interval_changed = interval != self.state.interval;

        let mut needed = 6 + 9 * vl.values.len();
        needed += if host { string_part_len(&vl.host) } else { 0 };
        needed += if time_changed { NUMBER_PART_LEN } else { 0 };
        needed += if interval_changed { NUMBER_PART_LEN } else { 0 };
        needed += if plugin { string_part_len(&vl.plugin) } else { 0 };
        needed += if plugin_instance { string_part_len(&vl.plugin_instance) } else { 0 };
        needed += if type_ { string_part_len(&vl.type_) } else { 0 };
        needed += if type_instance { string_part_len(&vl.type_instance) } else { 0 };
        if self.buf.len() + needed > self.capacity {
            if self.buf.is_empty() {
                return Err(EncodeError::TooLarge { needed, capacity: self.capacity });
            }
            return Err(EncodeError::PacketFull);
        }

        // Make room for all the parts at once, then fill it in.
        let start = self.buf.len();
        self.buf.resize(start + needed, 0);
        let mut out = Cursor { buf: &mut self.buf, pos: start };
        // collectd's order: HOST, TIME, INTERVAL, PLUGIN, PLUGIN_INSTANCE, TYPE, TYPE_INSTANCE, VALUES.
        if host {
            self.state.host = out.string(part::HOST, &vl.host);
        }
        if time_changed {
            out.number(time_type, time);
            self.state.time = time;
        }
        if interval_changed {
            out.number(interval_type, interval);
            self.state.interval = interval;
        }
        if plugin {
            self.state.plugin = out.string(part::PLUGIN, &vl.plugin);
        }
        if plugin_instance {
            self.state.plugin_instance = out.string(part::PLUGIN_INSTANCE, &vl.plugin_instance);
        }
        if type_ {
            self.state.type_ = out.string(part::TYPE, &vl.type_);
        }
        if type_instance {
            self.state.type_instance = out.string(part::TYPE_INSTANCE, &vl.type_instance);
        }
        let n = vl.values.len();
        out.header(part::VALUES, 6 + 9 * n);
        out.bytes(&(n as u16).to_be_bytes());
        let (codes, data) = out.buf[out.pos..out.pos + 9 * n].split_at_mut(n);
        vl.values.write_wire(codes, data);
        debug_assert_eq!(out.pos + 9 * n, self.buf.len());
        self.value_lists += 1;
        Ok(())
    }

    /// Seals the current packet (signs or encrypts it, as configured) and returns it,
    /// or `None` when it is empty. The next value list starts a new packet.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, PacketWriter, ReceiveSecurity, Value, ValueList, WriterOptions, parse};
    ///
    /// let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    /// assert_eq!(writer.finish(), Ok(None));
    /// writer.write(&ValueList::new("h", "p", "t", vec![Value::Gauge(1.0)]).with_time(CdTime::from_secs(1))).unwrap();
    /// let datagram = writer.finish().unwrap().unwrap();
    /// assert!(writer.is_empty());
    /// assert_eq!(parse(&datagram, &ReceiveSecurity::none()).records.len(), 1);
    /// ```
    pub fn finish(&mut self) -> Result<Option<Vec<u8>>, EncodeError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let sealed = seal(&self.buf, &self.options.security)?;
        self.buf.clear();
        self.state = PacketState::default();
        self.value_lists = 0;
        Ok(Some(sealed))
    }
}

fn seal(payload: &[u8], security: &Security) -> Result<Vec<u8>, EncodeError> {
    Ok(match security {
        Security::None => payload.to_vec(),
        Security::Sign(credentials) => security::sign(payload, credentials),
        Security::Encrypt(credentials) => {
            security::encrypt(payload, credentials).map_err(|e| EncodeError::Random(e.to_string()))?
        }
    })
}

/// Encodes a notification into its own datagram, as collectd sends them: the time,
/// the severity, the identifier strings that are not empty, then the message.
///
/// ```
/// use collectd::protocol::{encode_notification, CdTime, Notification, Severity, WriterOptions};
///
/// let n = Notification::new(Severity::Okay, CdTime::from_secs(1_700_000_000), "all good")
///     .with_host("web1");
/// let datagram = encode_notification(&n, &WriterOptions::default()).unwrap();
/// assert!(datagram.ends_with(b"all good\0"));
/// ```
pub fn encode_notification(notification: &Notification<'_>, options: &WriterOptions) -> Result<Vec<u8>, EncodeError> {
    options.check()?;
    let n = notification;
    if n.time == CdTime::ZERO {
        return Err(EncodeError::ZeroTime);
    }
    let strings = [
        (Field::Host, part::HOST, &n.host),
        (Field::Plugin, part::PLUGIN, &n.plugin),
        (Field::PluginInstance, part::PLUGIN_INSTANCE, &n.plugin_instance),
        (Field::Type, part::TYPE, &n.type_),
        (Field::TypeInstance, part::TYPE_INSTANCE, &n.type_instance),
    ];
    for (field, _, value) in &strings {
        check_name(*field, value, false)?;
    }
    if n.message.is_empty() {
        return Err(EncodeError::EmptyField { field: Field::Message });
    }
    if n.message.len() > MAX_MESSAGE_LEN {
        return Err(EncodeError::StringTooLong { field: Field::Message, len: n.message.len() });
    }
    if n.message.as_bytes().contains(&0) {
        return Err(EncodeError::NulInString { field: Field::Message });
    }
    let mut buf = Vec::with_capacity(256 + 5 * 132);
    let time = match options.time_resolution {
        TimeResolution::HighResolution => (part::TIME_HR, n.time.raw()),
        TimeResolution::Seconds => (part::TIME, n.time.as_secs_rounded()),
    };
    if time_on_receiver(time.0, time.1) == 0 {
        return Err(EncodeError::ZeroTime);
    }
    put_number(&mut buf, time.0, time.1);
    put_number(&mut buf, part::SEVERITY, n.severity.code());
    for (_, part_type, value) in &strings {
        if !value.is_empty() {
            put_string(&mut buf, *part_type, value);
        }
    }
    put_string(&mut buf, part::MESSAGE, &n.message);
    // At most 12 + 12 + 5 × 132 + 260 = 944 bytes, but a 64-byte username makes the
    // sealing add up to 106: over the smallest packet size.
    let capacity = options.payload_capacity();
    if buf.len() > capacity {
        return Err(EncodeError::TooLarge { needed: buf.len(), capacity });
    }
    seal(&buf, &options.security)
}
