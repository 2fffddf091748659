//! The web interface's view of time: the preset ranges, durations and UTC times as the
//! pages print them. Reading and resolving `start` / `end` is [`collectd_rrd::time`]'s.

use std::fmt;

pub use collectd_rrd::time::{Base, MAX_SPAN, MIN_SPAN, Resolved, TimeArg, TimeError, now, resolve};

/// A preset range: its label, its `start` (the end being `now`) and its span in seconds.
pub const PRESETS: [(&str, &str, i64); 8] = [
    ("5min", "end-5min", 300),
    ("30min", "end-30min", 1800),
    ("1h", "end-1h", 3600),
    ("6h", "end-6h", 21_600),
    ("1d", "end-1d", 86_400),
    ("1w", "end-1w", 604_800),
    ("1mon", "end-1mon", 2_678_400),
    ("1y", "end-1y", 31_622_400),
];

/// The longest range a page opens with when none is asked for: a day (older data is a
/// click away).
pub const LONGEST_DEFAULT: i64 = 86_400;

/// The `start` of the smallest preset covering `age` seconds of data (a day at most;
/// unknown age: a day): the range a page opens with when none is asked for, so that data
/// a few minutes old fills the graphs instead of a sliver at their right edge.
pub fn preset_for_age(age: Option<i64>) -> &'static str {
    let age = age.unwrap_or(LONGEST_DEFAULT).min(LONGEST_DEFAULT);
    PRESETS.iter().find(|(_, _, span)| *span >= age).map_or("end-1d", |(_, start, _)| start)
}

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

/// The `start` of the smallest preset whose range reaches back `age` seconds and a
/// minute more (a year at most): a range showing a value that old.
pub fn preset_covering(age: i64) -> &'static str {
    PRESETS.iter().find(|(_, _, span)| *span > age.max(0) + 60).map_or("end-1y", |(_, start, _)| start)
}

/// A range as words: `the last 5 min` for a relative range ending now, else
/// `2024-05-01 12:00:00 UTC to 2024-05-01 13:00:00 UTC`.
pub fn range_words(r: &Resolved) -> String {
    if r.relative && r.end >= now() - 1 {
        format!("the last {}", human_duration(r.span()))
    } else {
        format!("{} to {}", Utc(r.start), Utc(r.end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_range_fits_the_age() {
        assert_eq!(preset_for_age(Some(0)), "end-5min");
        assert_eq!(preset_for_age(Some(299)), "end-5min");
        assert_eq!(preset_for_age(Some(301)), "end-30min");
        assert_eq!(preset_for_age(Some(12 * 60)), "end-30min");
        assert_eq!(preset_for_age(Some(5 * 3600)), "end-6h");
        assert_eq!(preset_for_age(Some(40 * 86_400)), "end-1d");
        assert_eq!(preset_for_age(None), "end-1d");
    }

    #[test]
    fn utc() {
        assert_eq!(Utc(0).to_string(), "1970-01-01 00:00:00 UTC");
        assert_eq!(Utc(1_700_000_000).to_string(), "2023-11-14 22:13:20 UTC");
    }
}
