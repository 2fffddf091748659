//! What travels in a datagram: value lists and notifications, with their identifiers.

use std::borrow::Cow;
use std::fmt;

use super::time::CdTime;
use super::value::Values;

/// One reading of one identifier: what a VALUES part dispatches in collectd.
///
/// The identifier is `host/plugin[-plugin_instance]/type[-type_instance]`; a collectd
/// server with the rrdtool plugin stores it as the file
/// `host/plugin[-plugin_instance]/type[-type_instance].rrd`.
///
/// Strings borrow where they can (the parser borrows from the datagram); strings
/// received as bytes that are not UTF-8 are converted lossily.
///
/// ```
/// use collectd::protocol::{CdTime, Value, ValueList};
///
/// let vl = ValueList::new("web1", "any", "gauge", vec![Value::Gauge(3.0)])
///     .with_type_instance("coin_stats-flips")
///     .with_time(CdTime::from_secs(1_700_000_000))
///     .with_interval(CdTime::from_secs(10));
/// assert_eq!(vl.identifier().to_string(), "web1/any/gauge-coin_stats-flips");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ValueList<'a> {
    /// The host the reading is about (never empty on the wire).
    pub host: Cow<'a, str>,
    /// The plugin that made the reading (never empty on the wire).
    pub plugin: Cow<'a, str>,
    /// The plugin instance; empty for none.
    pub plugin_instance: Cow<'a, str>,
    /// The type, a name from collectd's `types.db` (never empty on the wire).
    pub type_: Cow<'a, str>,
    /// The type instance; empty for none.
    pub type_instance: Cow<'a, str>,
    /// When the reading was made; zero is never sent (collectd would drop it).
    pub time: CdTime,
    /// How often the reading is made; zero means "the receiver's own interval".
    pub interval: CdTime,
    /// The values, one per data source of the type.
    pub values: Values<'a>,
}

impl<'a> ValueList<'a> {
    /// A value list with empty instances, zero time and zero interval.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Value, ValueList};
    ///
    /// let vl = ValueList::new("web1", "cpu", "percent", vec![Value::Gauge(12.5)]);
    /// assert_eq!(vl.identifier().to_string(), "web1/cpu/percent");
    /// assert_eq!((vl.time, vl.interval), (CdTime::ZERO, CdTime::ZERO));
    /// ```
    pub fn new(
        host: impl Into<Cow<'a, str>>,
        plugin: impl Into<Cow<'a, str>>,
        type_: impl Into<Cow<'a, str>>,
        values: impl Into<Values<'a>>,
    ) -> Self {
        ValueList {
            host: host.into(),
            plugin: plugin.into(),
            plugin_instance: Cow::Borrowed(""),
            type_: type_.into(),
            type_instance: Cow::Borrowed(""),
            time: CdTime::ZERO,
            interval: CdTime::ZERO,
            values: values.into(),
        }
    }

    /// Sets the plugin instance.
    ///
    /// ```
    /// use collectd::protocol::{Value, ValueList};
    ///
    /// let vl = ValueList::new("web1", "cpu", "percent", vec![Value::Gauge(12.5)]).with_plugin_instance("0");
    /// assert_eq!(vl.identifier().to_string(), "web1/cpu-0/percent");
    /// ```
    pub fn with_plugin_instance(mut self, plugin_instance: impl Into<Cow<'a, str>>) -> Self {
        self.plugin_instance = plugin_instance.into();
        self
    }

    /// Sets the type instance.
    ///
    /// ```
    /// use collectd::protocol::{Value, ValueList};
    ///
    /// let vl = ValueList::new("web1", "cpu", "percent", vec![Value::Gauge(12.5)]).with_type_instance("user");
    /// assert_eq!(vl.identifier().to_string(), "web1/cpu/percent-user");
    /// ```
    pub fn with_type_instance(mut self, type_instance: impl Into<Cow<'a, str>>) -> Self {
        self.type_instance = type_instance.into();
        self
    }

    /// Sets the time.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, EncodeError, Value, ValueList, validate_value_list};
    ///
    /// let vl = ValueList::new("web1", "cpu", "percent", vec![Value::Gauge(12.5)]);
    /// assert_eq!(validate_value_list(&vl), Err(EncodeError::ZeroTime));
    /// let vl = vl.with_time(CdTime::from_secs(1_700_000_000));
    /// assert!(validate_value_list(&vl).is_ok());
    /// ```
    pub fn with_time(mut self, time: CdTime) -> Self {
        self.time = time;
        self
    }

    /// Sets the interval.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Value, ValueList};
    ///
    /// let vl = ValueList::new("web1", "cpu", "percent", vec![Value::Gauge(12.5)]);
    /// let vl = vl.with_interval(CdTime::from_secs(10));
    /// assert_eq!(vl.interval.as_secs_rounded(), 10);
    /// ```
    pub fn with_interval(mut self, interval: CdTime) -> Self {
        self.interval = interval;
        self
    }

    /// The identifier, for display and comparison.
    ///
    /// ```
    /// use collectd::protocol::{Value, ValueList};
    ///
    /// let vl = ValueList::new("web1", "any", "gauge", vec![Value::Gauge(1.0)]).with_type_instance("jobs-done");
    /// let id = vl.identifier();
    /// assert_eq!((id.host, id.type_instance), ("web1", "jobs-done"));
    /// assert_eq!(id.to_string(), "web1/any/gauge-jobs-done");
    /// ```
    pub fn identifier(&self) -> Identifier<'_> {
        Identifier {
            host: &self.host,
            plugin: &self.plugin,
            plugin_instance: &self.plugin_instance,
            type_: &self.type_,
            type_instance: &self.type_instance,
        }
    }

    /// A copy that borrows nothing.
    ///
    /// ```
    /// use collectd::protocol::{Value, ValueList};
    ///
    /// let vl: ValueList<'static> = {
    ///     let host = String::from("web1");
    ///     ValueList::new(host.as_str(), "any", "gauge", vec![Value::Gauge(1.0)]).into_owned()
    /// }; // outlives `host`
    /// assert_eq!(vl.host, "web1");
    /// ```
    pub fn into_owned(self) -> ValueList<'static> {
        ValueList {
            host: Cow::Owned(self.host.into_owned()),
            plugin: Cow::Owned(self.plugin.into_owned()),
            plugin_instance: Cow::Owned(self.plugin_instance.into_owned()),
            type_: Cow::Owned(self.type_.into_owned()),
            type_instance: Cow::Owned(self.type_instance.into_owned()),
            time: self.time,
            interval: self.interval,
            values: self.values.into_owned(),
        }
    }
}

/// The five names that identify a series: `host/plugin[-pinst]/type[-tinst]`.
///
/// ```
/// use collectd::protocol::Identifier;
///
/// let id = Identifier { host: "h", plugin: "any", plugin_instance: "api", type_: "gauge", type_instance: "" };
/// assert_eq!(id.to_string(), "h/any-api/gauge");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Identifier<'a> {
    /// Host name.
    pub host: &'a str,
    /// Plugin name.
    pub plugin: &'a str,
    /// Plugin instance, or empty.
    pub plugin_instance: &'a str,
    /// Type name.
    pub type_: &'a str,
    /// Type instance, or empty.
    pub type_instance: &'a str,
}

impl fmt::Display for Identifier<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.plugin)?;
        if !self.plugin_instance.is_empty() {
            write!(f, "-{}", self.plugin_instance)?;
        }
        write!(f, "/{}", self.type_)?;
        if !self.type_instance.is_empty() {
            write!(f, "-{}", self.type_instance)?;
        }
        Ok(())
    }
}

/// How bad a notification is, with its code in a SEVERITY part.
///
/// ```
/// use collectd::protocol::Severity;
///
/// assert_eq!(Severity::Warning.code(), 2);
/// assert_eq!(Severity::from_code(4), Some(Severity::Okay));
/// assert_eq!(Severity::Failure.name(), "FAILURE");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Severity {
    /// Code 1.
    Failure,
    /// Code 2.
    Warning,
    /// Code 4.
    Okay,
}

impl Severity {
    /// The code in a SEVERITY part.
    ///
    /// ```
    /// use collectd::protocol::Severity;
    ///
    /// let codes = [Severity::Failure, Severity::Warning, Severity::Okay].map(Severity::code);
    /// assert_eq!(codes, [1, 2, 4]);
    /// ```
    pub const fn code(self) -> u64 {
        match self {
            Severity::Failure => 1,
            Severity::Warning => 2,
            Severity::Okay => 4,
        }
    }

    /// The severity for a code; collectd ignores notifications with any other code.
    ///
    /// ```
    /// use collectd::protocol::Severity;
    ///
    /// assert_eq!(Severity::from_code(1), Some(Severity::Failure));
    /// assert_eq!(Severity::from_code(3), None);
    /// ```
    pub const fn from_code(code: u64) -> Option<Self> {
        match code {
            1 => Some(Severity::Failure),
            2 => Some(Severity::Warning),
            4 => Some(Severity::Okay),
            _ => None,
        }
    }

    /// `FAILURE`, `WARNING` or `OKAY`, as collectd prints it.
    ///
    /// ```
    /// assert_eq!(collectd::protocol::Severity::Warning.name(), "WARNING");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Severity::Failure => "FAILURE",
            Severity::Warning => "WARNING",
            Severity::Okay => "OKAY",
        }
    }
}

/// A notification: a message about an identifier, with a severity and a time.
///
/// ```
/// use collectd::protocol::{CdTime, Notification, Severity};
///
/// let n = Notification::new(Severity::Warning, CdTime::from_secs(1_700_000_000), "queue is long")
///     .with_host("web1")
///     .with_plugin("any");
/// assert_eq!(n.message, "queue is long");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Notification<'a> {
    /// How bad it is.
    pub severity: Severity,
    /// When it happened; zero is never sent (collectd would ignore it).
    pub time: CdTime,
    /// Host name, or empty.
    pub host: Cow<'a, str>,
    /// Plugin name, or empty.
    pub plugin: Cow<'a, str>,
    /// Plugin instance, or empty.
    pub plugin_instance: Cow<'a, str>,
    /// Type name, or empty.
    pub type_: Cow<'a, str>,
    /// Type instance, or empty.
    pub type_instance: Cow<'a, str>,
    /// The message: 1 to 255 bytes.
    pub message: Cow<'a, str>,
}

impl<'a> Notification<'a> {
    /// A notification with an empty identifier.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Notification, Severity};
    ///
    /// let n = Notification::new(Severity::Okay, CdTime::from_secs(1_700_000_000), "back to normal");
    /// assert_eq!(n.severity, Severity::Okay);
    /// assert_eq!((n.host.as_ref(), n.plugin.as_ref()), ("", ""));
    /// ```
    pub fn new(severity: Severity, time: CdTime, message: impl Into<Cow<'a, str>>) -> Self {
        Notification {
            severity,
            time,
            host: Cow::Borrowed(""),
            plugin: Cow::Borrowed(""),
            plugin_instance: Cow::Borrowed(""),
            type_: Cow::Borrowed(""),
            type_instance: Cow::Borrowed(""),
            message: message.into(),
        }
    }

    /// Sets the host.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Notification, Severity};
    ///
    /// let n = Notification::new(Severity::Okay, CdTime::from_secs(1), "up").with_host("web1");
    /// assert_eq!(n.host, "web1");
    /// ```
    pub fn with_host(mut self, host: impl Into<Cow<'a, str>>) -> Self {
        self.host = host.into();
        self
    }

    /// Sets the plugin.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Notification, Severity};
    ///
    /// let n = Notification::new(Severity::Okay, CdTime::from_secs(1), "up").with_plugin("ping");
    /// assert_eq!(n.plugin, "ping");
    /// ```
    pub fn with_plugin(mut self, plugin: impl Into<Cow<'a, str>>) -> Self {
        self.plugin = plugin.into();
        self
    }

    /// Sets the plugin instance.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Notification, Severity};
    ///
    /// let n = Notification::new(Severity::Okay, CdTime::from_secs(1), "up").with_plugin_instance("eth0");
    /// assert_eq!(n.plugin_instance, "eth0");
    /// ```
    pub fn with_plugin_instance(mut self, plugin_instance: impl Into<Cow<'a, str>>) -> Self {
        self.plugin_instance = plugin_instance.into();
        self
    }

    /// Sets the type.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Notification, Severity};
    ///
    /// let n = Notification::new(Severity::Okay, CdTime::from_secs(1), "up").with_type("ping");
    /// assert_eq!(n.type_, "ping");
    /// ```
    pub fn with_type(mut self, type_: impl Into<Cow<'a, str>>) -> Self {
        self.type_ = type_.into();
        self
    }

    /// Sets the type instance.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Notification, Severity};
    ///
    /// let n = Notification::new(Severity::Okay, CdTime::from_secs(1), "up").with_type_instance("gateway");
    /// assert_eq!(n.type_instance, "gateway");
    /// ```
    pub fn with_type_instance(mut self, type_instance: impl Into<Cow<'a, str>>) -> Self {
        self.type_instance = type_instance.into();
        self
    }

    /// A copy that borrows nothing.
    ///
    /// ```
    /// use collectd::protocol::{CdTime, Notification, Severity};
    ///
    /// let n: Notification<'static> = {
    ///     let message = String::from("queue is long");
    ///     Notification::new(Severity::Warning, CdTime::from_secs(1), message.as_str()).into_owned()
    /// }; // outlives `message`
    /// assert_eq!(n.message, "queue is long");
    /// ```
    pub fn into_owned(self) -> Notification<'static> {
        Notification {
            severity: self.severity,
            time: self.time,
            host: Cow::Owned(self.host.into_owned()),
            plugin: Cow::Owned(self.plugin.into_owned()),
            plugin_instance: Cow::Owned(self.plugin_instance.into_owned()),
            type_: Cow::Owned(self.type_.into_owned()),
            type_instance: Cow::Owned(self.type_instance.into_owned()),
            message: Cow::Owned(self.message.into_owned()),
        }
    }
}
