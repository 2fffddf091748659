//! The web interface's view of time: the preset ranges, durations and UTC times as the
//! pages print them. Reading and resolving `start` / `end` is [`collectd_rrd::time`]'s.

use std::fmt;

pub use collectd_rrd::time::{Base, MAX_SPAN, MIN_SPAN, Resolved, TimeArg, TimeError, now, resolve};

/// A preset range: its label and its `start` (the end being `now`).
pub const PRESETS: [(&str, &str); 6] =
    [("1h", "end-1h"), ("6h", "end-6h"), ("1d", "end-1d"), ("1w", "end-1w"), ("1m", "end-1mon"), ("1y", "end-1y")];

/// A duration as a short text: `45 s`, `3 min`, `2 h`, `5 d`.
pub fn human_duration(secs: i64) -> String {
    let s = secs.abs();
    let (n, unit) = if s < 120 {
        (s, "s")
    } else if s < 7200 {
        (s / 60, "min")
    } else if s < 2 * 86_400 {
        (s / 3600, "h")
    } else {
        (s / 86_400, "d")
    };
    format!("{n} {unit}")
}

/// A UTC time as `2024-05-01 12:00:00 UTC`.
pub struct Utc(pub i64);

impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        write!(f, "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs % 3600 / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc() {
        assert_eq!(Utc(0).to_string(), "1970-01-01 00:00:00 UTC");
        assert_eq!(Utc(1_700_000_000).to_string(), "2023-11-14 22:13:20 UTC");
    }
}
