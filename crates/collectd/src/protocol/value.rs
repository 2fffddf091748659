//! Data-source values: the four collectd types, and the list of values a value list carries.

use std::borrow::Cow;
use std::fmt;

/// A data-source type, with its code on the wire.
///
/// ```
/// use collectd::protocol::DsType;
///
/// assert_eq!(DsType::Derive.code(), 2);
/// assert_eq!(DsType::from_code(1), Some(DsType::Gauge));
/// assert_eq!(DsType::Absolute.to_string(), "ABSOLUTE");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DsType {
    /// A monotonically increasing unsigned counter that may wrap (code 0).
    Counter,
    /// A plain floating-point reading (code 1).
    Gauge,
    /// A signed counter whose rate is stored (code 2).
    Derive,
    /// An unsigned count reset on every read (code 3).
    Absolute,
}

impl DsType {
    /// The type's code in a VALUES part.
    ///
    /// ```
    /// use collectd::protocol::DsType;
    ///
    /// let codes = [DsType::Counter, DsType::Gauge, DsType::Derive, DsType::Absolute].map(DsType::code);
    /// assert_eq!(codes, [0, 1, 2, 3]);
    /// ```
    pub const fn code(self) -> u8 {
        match self {
            DsType::Counter => 0,
            DsType::Gauge => 1,
            DsType::Derive => 2,
            DsType::Absolute => 3,
        }
    }

    /// The type for a VALUES code, or `None` for a code collectd does not know.
    ///
    /// ```
    /// use collectd::protocol::DsType;
    ///
    /// assert_eq!(DsType::from_code(3), Some(DsType::Absolute));
    /// assert_eq!(DsType::from_code(4), None);
    /// ```
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(DsType::Counter),
            1 => Some(DsType::Gauge),
            2 => Some(DsType::Derive),
            3 => Some(DsType::Absolute),
            _ => None,
        }
    }

    /// The name collectd and rrdtool use: `COUNTER`, `GAUGE`, `DERIVE` or `ABSOLUTE`.
    ///
    /// ```
    /// assert_eq!(collectd::protocol::DsType::Counter.name(), "COUNTER");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            DsType::Counter => "COUNTER",
            DsType::Gauge => "GAUGE",
            DsType::Derive => "DERIVE",
            DsType::Absolute => "ABSOLUTE",
        }
    }
}

impl fmt::Display for DsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One value of a value list, with its data-source type.
///
/// ```
/// use collectd::protocol::{DsType, Value};
///
/// let v = Value::Gauge(0.25);
/// assert_eq!(v.ds_type(), DsType::Gauge);
/// // Gauges travel as little-endian doubles, the other types as big-endian integers.
/// assert_eq!(v.to_wire(), 0.25f64.to_le_bytes());
/// assert_eq!(Value::Derive(-1).to_wire(), [0xff; 8]);
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Value {
    /// COUNTER: unsigned, wraps.
    Counter(u64),
    /// GAUGE: a float; NaN means "unknown".
    Gauge(f64),
    /// DERIVE: signed.
    Derive(i64),
    /// ABSOLUTE: unsigned.
    Absolute(u64),
}

/// The one NaN collectd writes: `00 00 00 00 00 00 f8 7f` on the wire.
const CANONICAL_NAN_WIRE: [u8; 8] = [0, 0, 0, 0, 0, 0, 0xf8, 0x7f];

impl Value {
    /// The value's data-source type.
    ///
    /// ```
    /// use collectd::protocol::{DsType, Value};
    ///
    /// assert_eq!(Value::Counter(7).ds_type(), DsType::Counter);
    /// assert_eq!(Value::Gauge(0.5).ds_type(), DsType::Gauge);
    /// ```
    pub const fn ds_type(&self) -> DsType {
        match self {
            Value::Counter(_) => DsType::Counter,
            Value::Gauge(_) => DsType::Gauge,
            Value::Derive(_) => DsType::Derive,
            Value::Absolute(_) => DsType::Absolute,
        }
    }

    /// The 8 bytes of this value in a VALUES part. Every NaN is written as collectd's one NaN.
    ///
    /// ```
    /// use collectd::protocol::Value;
    ///
    /// assert_eq!(Value::Counter(1).to_wire(), [0, 0, 0, 0, 0, 0, 0, 1]);
    /// assert_eq!(Value::Gauge(f64::NAN).to_wire(), [0, 0, 0, 0, 0, 0, 0xf8, 0x7f]);
    /// ```
    pub fn to_wire(&self) -> [u8; 8] {
        match *self {
            Value::Counter(v) | Value::Absolute(v) => v.to_be_bytes(),
            Value::Gauge(v) if v.is_nan() => CANONICAL_NAN_WIRE,
            Value::Gauge(v) => v.to_le_bytes(),
            Value::Derive(v) => v.to_be_bytes(),
        }
    }

    /// Decodes 8 wire bytes as a value of the given type.
    ///
    /// ```
    /// use collectd::protocol::{DsType, Value};
    ///
    /// assert_eq!(Value::from_wire(DsType::Derive, [0xff; 8]), Value::Derive(-1));
    /// let gauge = Value::Gauge(2.5);
    /// assert_eq!(Value::from_wire(DsType::Gauge, gauge.to_wire()), gauge);
    /// ```
    pub fn from_wire(ds_type: DsType, bytes: [u8; 8]) -> Self {
        match ds_type {
            DsType::Counter => Value::Counter(u64::from_be_bytes(bytes)),
            DsType::Gauge => Value::Gauge(f64::from_le_bytes(bytes)),
            DsType::Derive => Value::Derive(i64::from_be_bytes(bytes)),
            DsType::Absolute => Value::Absolute(u64::from_be_bytes(bytes)),
        }
    }

    /// The value as a float, as rrdtool and the CSV plugin print it.
    ///
    /// ```
    /// use collectd::protocol::Value;
    ///
    /// assert_eq!(Value::Derive(-3).as_f64(), -3.0);
    /// assert_eq!(Value::Absolute(10).as_f64(), 10.0);
    /// ```
    pub fn as_f64(&self) -> f64 {
        match *self {
            Value::Counter(v) | Value::Absolute(v) => v as f64,
            Value::Gauge(v) => v,
            Value::Derive(v) => v as f64,
        }
    }
}

/// Equality compares types and values; two NaN gauges are equal (both mean "unknown"),
/// so decoded packets can be compared with what was encoded.
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (*self, *other) {
            (Value::Gauge(a), Value::Gauge(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Value::Counter(a), Value::Counter(b)) | (Value::Absolute(a), Value::Absolute(b)) => a == b,
            (Value::Derive(a), Value::Derive(b)) => a == b,
            _ => false,
        }
    }
}

/// The values of one value list: either decoded values, or a view of a VALUES part's
/// bytes that decodes on access (what the parser returns, so parsing allocates nothing).
///
/// ```
/// use collectd::protocol::{Value, Values};
///
/// let values = Values::from(vec![Value::Gauge(1.0), Value::Derive(2)]);
/// assert_eq!(values.len(), 2);
/// assert_eq!(values.get(1), Some(Value::Derive(2)));
/// assert_eq!(values.iter().map(|v| v.as_f64()).sum::<f64>(), 3.0);
/// ```
#[derive(Clone)]
pub struct Values<'a>(ValuesRepr<'a>);

#[derive(Clone)]
enum ValuesRepr<'a> {
    Decoded(Cow<'a, [Value]>),
    /// `codes` holds one known type code per value; `data` holds 8 bytes per value.
    Wire {
        codes: &'a [u8],
        data: &'a [u8],
    },
}

impl<'a> Values<'a> {
    /// A view over a VALUES part's type codes and data; the caller has checked that
    /// every code is known and that `data.len() == 8 * codes.len()`.
    pub(crate) fn from_wire_checked(codes: &'a [u8], data: &'a [u8]) -> Self {
        debug_assert_eq!(codes.len() * 8, data.len());
        debug_assert!(codes.iter().all(|&c| DsType::from_code(c).is_some()));
        Values(ValuesRepr::Wire { codes, data })
    }

    /// The number of values.
    ///
    /// ```
    /// use collectd::protocol::{Value, Values};
    ///
    /// assert_eq!(Values::from(vec![Value::Gauge(1.0), Value::Gauge(2.0)]).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        match &self.0 {
            ValuesRepr::Decoded(values) => values.len(),
            ValuesRepr::Wire { codes, .. } => codes.len(),
        }
    }

    /// True when there are no values.
    ///
    /// ```
    /// use collectd::protocol::{Value, Values};
    ///
    /// assert!(Values::from(Vec::new()).is_empty());
    /// assert!(!Values::from(vec![Value::Counter(1)]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `index`.
    ///
    /// ```
    /// use collectd::protocol::{Value, Values};
    ///
    /// let values = Values::from(&[Value::Counter(1), Value::Derive(-2)]);
    /// assert_eq!(values.get(1), Some(Value::Derive(-2)));
    /// assert_eq!(values.get(2), None);
    /// ```
    pub fn get(&self, index: usize) -> Option<Value> {
        match &self.0 {
            ValuesRepr::Decoded(values) => values.get(index).copied(),
            ValuesRepr::Wire { codes, data } => {
                let ds_type = DsType::from_code(*codes.get(index)?)?;
                let bytes = data.get(index * 8..index * 8 + 8)?;
                Some(Value::from_wire(ds_type, bytes.try_into().ok()?))
            }
        }
    }

    /// The values in order.
    ///
    /// ```
    /// use collectd::protocol::{Value, Values};
    ///
    /// let values = Values::from(vec![Value::Gauge(1.5), Value::Counter(2)]);
    /// let total: f64 = values.iter().map(|v| v.as_f64()).sum();
    /// assert_eq!(total, 3.5);
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Value> + '_ {
        (0..self.len()).map(|i| self.get(i).expect("index within len"))
    }

    /// The values, decoded into a vector.
    ///
    /// ```
    /// use collectd::protocol::{Value, Values};
    ///
    /// let values = Values::from(&[Value::Gauge(1.0), Value::Absolute(4)]);
    /// assert_eq!(values.to_vec(), vec![Value::Gauge(1.0), Value::Absolute(4)]);
    /// ```
    pub fn to_vec(&self) -> Vec<Value> {
        self.iter().collect()
    }

    /// A copy that borrows nothing.
    ///
    /// ```
    /// use collectd::protocol::{Value, Values};
    ///
    /// let owned: Values<'static> = {
    ///     let borrowed = [Value::Gauge(1.0)];
    ///     Values::from(&borrowed).into_owned()
    /// }; // outlives `borrowed`
    /// assert_eq!(owned.get(0), Some(Value::Gauge(1.0)));
    /// ```
    pub fn into_owned(self) -> Values<'static> {
        Values(ValuesRepr::Decoded(Cow::Owned(self.to_vec())))
    }

    /// The type code and wire bytes of each value, in order (what a VALUES part holds).
    pub(crate) fn write_wire(&self, codes_out: &mut [u8], data_out: &mut [u8]) {
        match &self.0 {
            ValuesRepr::Wire { codes, data } => {
                codes_out.copy_from_slice(codes);
                data_out.copy_from_slice(data);
            }
            ValuesRepr::Decoded(values) => {
                for (i, value) in values.iter().enumerate() {
                    codes_out[i] = value.ds_type().code();
                    data_out[i * 8..i * 8 + 8].copy_from_slice(&value.to_wire());
                }
            }
        }
    }
}

/// Owned values fit any lifetime, so `ValueList::new(&host, …, vec![…])` borrows `host`.
impl<'a> From<Vec<Value>> for Values<'a> {
    fn from(values: Vec<Value>) -> Self {
        Values(ValuesRepr::Decoded(Cow::Owned(values)))
    }
}

impl<'a> From<&'a [Value]> for Values<'a> {
    fn from(values: &'a [Value]) -> Self {
        Values(ValuesRepr::Decoded(Cow::Borrowed(values)))
    }
}

impl<'a, const N: usize> From<&'a [Value; N]> for Values<'a> {
    fn from(values: &'a [Value; N]) -> Self {
        Values(ValuesRepr::Decoded(Cow::Borrowed(values.as_slice())))
    }
}

impl PartialEq for Values<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl fmt::Debug for Values<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
