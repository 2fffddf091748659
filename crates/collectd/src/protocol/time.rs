//! `CdTime`: collectd's fixed-point timestamp and interval type (units of 2^-30 s).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const FRACTION_BITS: u32 = 30;
const FRACTION_MASK: u64 = (1 << FRACTION_BITS) - 1;
const HALF_UNIT: u64 = 1 << (FRACTION_BITS - 1);
const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A time or an interval as collectd counts it: a `u64` in units of 2^-30 seconds.
///
/// This is collectd's `cdtime_t`. The conversions round exactly as collectd's
/// `utils_time.h` macros do, so a value converted here and there agrees bit for bit
/// with what a collectd server computes:
/// - to whole seconds: round to nearest, `(t + 2^29) >> 30`;
/// - from and to nanoseconds: round the fraction to nearest.
///
/// ```
/// use collectd::protocol::CdTime;
/// use std::time::Duration;
///
/// let ten = CdTime::from_secs(10);
/// assert_eq!(ten.raw(), 0x0000_0002_8000_0000);
/// assert_eq!(ten.as_secs_rounded(), 10);
/// assert_eq!(CdTime::from(Duration::from_millis(1500)).as_secs_f64(), 1.5);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CdTime(u64);

impl CdTime {
    /// Zero: for a time, "not set" (collectd drops values whose time is zero).
    ///
    /// ```
    /// use collectd::protocol::CdTime;
    ///
    /// assert_eq!(CdTime::ZERO.raw(), 0);
    /// assert_eq!(CdTime::default(), CdTime::ZERO);
    /// ```
    pub const ZERO: CdTime = CdTime(0);

    /// Wraps a raw `cdtime_t` value, as found on the wire in TIME_HR/INTERVAL_HR parts.
    ///
    /// ```
    /// use collectd::protocol::CdTime;
    ///
    /// let t = CdTime::from_raw(0x4000_0000);
    /// assert_eq!(t, CdTime::from_secs(1));
    /// ```
    pub const fn from_raw(raw: u64) -> Self {
        CdTime(raw)
    }

    /// The raw `cdtime_t` value.
    ///
    /// ```
    /// assert_eq!(collectd::protocol::CdTime::from_secs(1).raw(), 1 << 30);
    /// ```
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Whole seconds (collectd's `TIME_T_TO_CDTIME_T`); saturates past 2^34 s.
    ///
    /// ```
    /// use collectd::protocol::CdTime;
    ///
    /// assert_eq!(CdTime::from_secs(10).raw(), 10 << 30);
    /// assert_eq!(CdTime::from_secs(u64::MAX).raw(), u64::MAX); // saturates
    /// ```
    pub const fn from_secs(secs: u64) -> Self {
        if secs > (u64::MAX >> FRACTION_BITS) { CdTime(u64::MAX) } else { CdTime(secs << FRACTION_BITS) }
    }

    /// Nanoseconds, with the fraction rounded to nearest (collectd's `NS_TO_CDTIME_T`).
    ///
    /// ```
    /// use collectd::protocol::CdTime;
    ///
    /// assert_eq!(CdTime::from_nanos(1_500_000_000), CdTime::from_raw(3 << 29));
    /// assert_eq!(CdTime::from_nanos(123).as_nanos(), 123);
    /// ```
    pub const fn from_nanos(nanos: u128) -> Self {
        let secs = nanos / NANOS_PER_SEC as u128;
        let frac = (nanos % NANOS_PER_SEC as u128) as u64;
        if secs > (u64::MAX >> FRACTION_BITS) as u128 {
            return CdTime(u64::MAX);
        }
        let frac_units = ((frac << FRACTION_BITS) + NANOS_PER_SEC / 2) / NANOS_PER_SEC;
        CdTime(((secs as u64) << FRACTION_BITS) + frac_units)
    }

    /// Seconds as a float (collectd's `DOUBLE_TO_CDTIME_T`: truncates toward zero).
    /// Negative and NaN give zero; too large saturates.
    ///
    /// ```
    /// use collectd::protocol::CdTime;
    ///
    /// assert_eq!(CdTime::from_secs_f64(1.5).raw(), 3 << 29);
    /// assert_eq!(CdTime::from_secs_f64(-1.0), CdTime::ZERO);
    /// ```
    pub fn from_secs_f64(secs: f64) -> Self {
        // `as` saturates for out-of-range floats and maps NaN to 0.
        CdTime((secs * (1u64 << FRACTION_BITS) as f64) as u64)
    }

    /// Whole seconds, rounded to nearest (collectd's `CDTIME_T_TO_TIME_T`).
    ///
    /// ```
    /// use collectd::protocol::CdTime;
    ///
    /// assert_eq!(CdTime::from_secs_f64(2.49).as_secs_rounded(), 2);
    /// assert_eq!(CdTime::from_secs_f64(2.5).as_secs_rounded(), 3);
    /// ```
    pub const fn as_secs_rounded(self) -> u64 {
        // The addition cannot overflow in 128 bits.
        ((self.0 as u128 + HALF_UNIT as u128) >> FRACTION_BITS) as u64
    }

    /// Nanoseconds, with the fraction rounded to nearest (collectd's `CDTIME_T_TO_NS`).
    ///
    /// ```
    /// use collectd::protocol::CdTime;
    ///
    /// assert_eq!(CdTime::from_secs(2).as_nanos(), 2_000_000_000);
    /// assert_eq!(CdTime::from_raw(1).as_nanos(), 1); // 2^-30 s rounds to 1 ns
    /// ```
    pub const fn as_nanos(self) -> u128 {
        let secs = (self.0 >> FRACTION_BITS) as u128;
        let frac = self.0 & FRACTION_MASK;
        secs * NANOS_PER_SEC as u128 + ((frac * NANOS_PER_SEC + HALF_UNIT) >> FRACTION_BITS) as u128
    }

    /// Seconds as a float (collectd's `CDTIME_T_TO_DOUBLE`).
    ///
    /// ```
    /// assert_eq!(collectd::protocol::CdTime::from_raw(3 << 29).as_secs_f64(), 1.5);
    /// ```
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / (1u64 << FRACTION_BITS) as f64
    }

    /// This time as a [`SystemTime`], counting from the Unix epoch.
    ///
    /// ```
    /// use collectd::protocol::CdTime;
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let t = CdTime::from_secs(1_700_000_000).to_system_time();
    /// assert_eq!(t, UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    /// ```
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from(self)
    }

    /// A [`SystemTime`] as a `CdTime`; times before the epoch give zero.
    ///
    /// ```
    /// use collectd::protocol::CdTime;
    /// use std::time::{Duration, UNIX_EPOCH};
    ///
    /// let t = CdTime::from_system_time(UNIX_EPOCH + Duration::from_millis(1500));
    /// assert_eq!(t.as_secs_f64(), 1.5);
    /// assert_eq!(CdTime::from_system_time(UNIX_EPOCH - Duration::from_secs(1)), CdTime::ZERO);
    /// ```
    pub fn from_system_time(time: SystemTime) -> Self {
        time.duration_since(UNIX_EPOCH).map(CdTime::from).unwrap_or(CdTime::ZERO)
    }

    /// The current time (reads the system clock).
    ///
    /// ```
    /// use collectd::protocol::CdTime;
    ///
    /// let now = CdTime::now();
    /// assert!(now > CdTime::from_secs(1_700_000_000)); // after November 2023
    /// ```
    pub fn now() -> Self {
        CdTime::from_system_time(SystemTime::now())
    }
}

impl From<Duration> for CdTime {
    fn from(duration: Duration) -> Self {
        CdTime::from_nanos(duration.as_nanos())
    }
}

impl From<CdTime> for Duration {
    fn from(time: CdTime) -> Self {
        let nanos = time.as_nanos();
        Duration::new((nanos / NANOS_PER_SEC as u128) as u64, (nanos % NANOS_PER_SEC as u128) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples() {
        assert_eq!(CdTime::from_secs(10).raw(), 0x0000_0002_8000_0000);
        assert_eq!(CdTime::from_secs(1).raw(), 0x4000_0000);
        // protocol.md vector A: 0x156db1cfaf08ba7a is 1438041918.7349 s.
        let t = CdTime::from_raw(0x156d_b1cf_af08_ba7a);
        assert!((t.as_secs_f64() - 1_438_041_918.734_9).abs() < 1e-4);
        assert_eq!(t.as_secs_rounded(), 1_438_041_919);
    }

    #[test]
    fn rounding_to_seconds_is_to_nearest() {
        assert_eq!(CdTime::from_raw((5 << 30) + (1 << 29) - 1).as_secs_rounded(), 5);
        assert_eq!(CdTime::from_raw((5 << 30) + (1 << 29)).as_secs_rounded(), 6);
        assert_eq!(CdTime::from_raw(u64::MAX).as_secs_rounded(), 1 << 34);
    }

    #[test]
    fn nanosecond_round_trip_is_exact_for_nanosecond_inputs() {
        // 2^-30 s is finer than a nanosecond, so ns → cdtime → ns is the identity.
        for nanos in [0u128, 1, 499_999_999, 500_000_000, 999_999_999, 1_426_076_671_123_000_000] {
            assert_eq!(CdTime::from_nanos(nanos).as_nanos(), nanos);
        }
    }

    #[test]
    fn duration_and_system_time() {
        let d = Duration::new(1_426_076_671, 123_000_000);
        let t = CdTime::from(d);
        assert_eq!(Duration::from(t), d);
        assert_eq!(CdTime::from_system_time(t.to_system_time()), t);
        assert_eq!(CdTime::from_secs_f64(-1.0), CdTime::ZERO);
        assert_eq!(CdTime::from_secs_f64(f64::NAN), CdTime::ZERO);
        assert_eq!(CdTime::from_secs_f64(1.5).raw(), 3 << 29);
    }
}
