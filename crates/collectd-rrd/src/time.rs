//! rrdtool's at-style times, read strictly, once for the whole project: the command line's
//! `--start` / `--end` and the web interface's `start` / `end` go through [`TimeArg::parse`],
//! are written back in a canonical form rrdtool reads the same way, and are resolved against
//! a clock ([`resolve`]) or without one ([`span`]).
//!
//! Accepted: epoch seconds (`1700000000`), or a base (`now`/`n`, `end`/`e`, `start`/`s`,
//! or none, meaning now) followed by offsets such as `-1d`, `-1 week`, `+2h30min`. Units:
//! s, min, h, d, w, mon (31 days), y (365 days) and their long names; a bare `m` is refused
//! as ambiguous. rrdtool receives the canonical form in seconds (`end-86400`), so it never
//! reads a unit differently than the page did.

/// Why a time or a range is refused; the message says what and where.
///
/// ```
/// let error = collectd_rrd::time::TimeArg::parse("end-1m").unwrap_err();
/// assert_eq!(error.to_string(), "\"end-1m\": unit \"m\" is ambiguous: write min (minutes) or mon (months)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeError(String);

/// The latest absolute time accepted (2100-01-01), and the longest offset (100 years).
const MAX_EPOCH: i64 = 4_102_444_800;
/// The earliest time rrdtool reads (1980-01-01): it refuses to fetch anything before, and
/// reads a smaller number as a date rather than as seconds.
pub const MIN_EPOCH: i64 = 315_532_800;
const MAX_OFFSET: i64 = 100 * 365 * 86_400;
/// Shortest and longest span of a graph.
pub const MIN_SPAN: i64 = 10;
/// Longest span of a graph (50 years).
pub const MAX_SPAN: i64 = 50 * 365 * 86_400;

/// What a relative time is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The clock.
    Now,
    /// The other end of the range: the start (only for `end`).
    Start,
    /// The other end of the range: the end (only for `start`).
    End,
}

/// One time of a range, as read from a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeArg {
    /// Seconds since the epoch.
    Epoch(i64),
    /// A base plus an offset in seconds.
    Rel(Base, i64),
}

fn unit_seconds(unit: &str) -> Result<i64, TimeError> {
    Ok(match unit {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "wk" | "wks" | "week" | "weeks" => 604_800,
        "mon" | "mons" | "month" | "months" => 31 * 86_400,
        "y" | "yr" | "yrs" | "year" | "years" => 365 * 86_400,
        "m" => return Err(TimeError("unit \"m\" is ambiguous: write min (minutes) or mon (months)".into())),
        other => return Err(TimeError(format!("unknown time unit {other:?} (s, min, h, d, w, mon, y)"))),
    })
}

/// `[+-]N unit [+-]N unit …` → seconds.
fn offsets(s: &str) -> Result<i64, TimeError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    let skip = |i: &mut usize| {
        while *i < b.len() && b[*i] == b' ' {
            *i += 1;
        }
    };
    skip(&mut i);
    if i == b.len() {
        return Ok(0);
    }
    let mut sign = 0;
    while i < b.len() {
        // A term without a sign continues the previous one (`-1d12h`).
        match b[i] {
            b'+' => sign = 1,
            b'-' => sign = -1,
            _ if sign != 0 => {}
            _ => return Err(TimeError(format!("expected + or - at {:?}", &s[i..]))),
        }
        if matches!(b[i], b'+' | b'-') {
            i += 1;
        }
        skip(&mut i);
        let n0 = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if n0 == i {
            return Err(TimeError(format!("expected a number after the sign in {s:?}")));
        }
        let n: i64 = s[n0..i].parse().map_err(|_| TimeError(format!("number too large in {s:?}")))?;
        skip(&mut i);
        let u0 = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = unit_seconds(&s[u0..i])?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(sign * v))
            .filter(|t| t.abs() <= MAX_OFFSET)
            .ok_or_else(|| TimeError(format!("offset too large in {s:?} (at most 100 years)")))?;
        skip(&mut i);
    }
    Ok(total)
}

impl TimeArg {
    /// Reads a `--start` / `--end` option or a `start` / `end` parameter.
    ///
    /// ```
    /// use collectd_rrd::time::{Base, TimeArg};
    ///
    /// assert_eq!(TimeArg::parse("end-1d").unwrap(), TimeArg::Rel(Base::End, -86_400));
    /// assert_eq!(TimeArg::parse("-30min").unwrap().canonical(), "now-1800");
    /// assert!(TimeArg::parse("noon yesterday").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<TimeArg, TimeError> {
        let s = text.trim().to_ascii_lowercase();
        if s.is_empty() {
            return Err(TimeError("empty time".into()));
        }
        if s.len() > 64 {
            return Err(TimeError("time longer than 64 characters".into()));
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+- ".contains(&b)) {
            return Err(TimeError(format!("{text:?} is not a time (epoch seconds, or e.g. now-1h, end-1d)")));
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            let n: i64 = s.parse().map_err(|_| TimeError(format!("{text:?}: number too large")))?;
            if n < MIN_EPOCH {
                return Err(TimeError(format!("{text:?} is before 1980, which rrdtool does not read")));
            }
            if n > MAX_EPOCH {
                return Err(TimeError(format!("{text:?} is after the year 2100")));
            }
            return Ok(TimeArg::Epoch(n));
        }
        let word_end = s.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(s.len());
        let (base, rest) = match &s[..word_end] {
            "now" | "n" => (Base::Now, &s[word_end..]),
            "end" | "e" => (Base::End, &s[word_end..]),
            "start" | "s" => (Base::Start, &s[word_end..]),
            "" => (Base::Now, s.as_str()),
            other => {
                return Err(TimeError(format!("{other:?} is not a time base (now, end, start, or epoch seconds)")));
            }
        };
        Ok(TimeArg::Rel(base, offsets(rest).map_err(|e| TimeError(format!("{text:?}: {e}")))?))
    }

    /// The form passed to rrdtool: `1700000000`, `now`, `now-3600`, `end-86400`,
    /// `start+3600`.
    pub fn canonical(&self) -> String {
        match *self {
            TimeArg::Epoch(n) => n.to_string(),
            TimeArg::Rel(base, off) => {
                let b = match base {
                    Base::Now => "now",
                    Base::Start => "start",
                    Base::End => "end",
                };
                if off == 0 { b.to_owned() } else { format!("{b}{off:+}") }
            }
        }
    }
}

/// A resolved range.
///
/// ```
/// use collectd_rrd::time::{TimeArg, resolve};
///
/// let range = resolve(TimeArg::parse("end-1h").unwrap(), TimeArg::parse("now").unwrap(), 1_700_000_000).unwrap();
/// assert_eq!((range.start, range.end, range.span(), range.relative), (1_699_996_400, 1_700_000_000, 3600, true));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// Start, seconds since the epoch.
    pub start: i64,
    /// End.
    pub end: i64,
    /// Whether the range moves with the clock (it then refreshes by itself).
    pub relative: bool,
}

impl Resolved {
    /// The span in seconds.
    pub fn span(&self) -> i64 {
        self.end - self.start
    }

    /// Seconds of time per pixel of a plot `width` pixels wide (at least 1).
    pub fn pixel(&self, width: u32) -> i64 {
        (self.span() / i64::from(width.max(1))).max(1)
    }
}

/// Resolves `start` and `end` at `now` (seconds since the epoch): checks that they do not both refer to each other,
/// that the start is before the end, and that the span is within bounds.
pub fn resolve(start: TimeArg, end: TimeArg, now: i64) -> Result<Resolved, TimeError> {
    use TimeArg::*;
    let (s, e, relative) = match (start, end) {
        (Rel(Base::Start, _), _) => return Err(TimeError("start cannot be relative to itself".into())),
        (_, Rel(Base::End, _)) => return Err(TimeError("end cannot be relative to itself".into())),
        (Rel(Base::End, _), Rel(Base::Start, _)) => {
            return Err(TimeError("start and end cannot both be relative to each other".into()));
        }
        (Epoch(s), Epoch(e)) => (s, e, false),
        (Epoch(s), Rel(Base::Now, o)) => (s, now + o, true),
        (Epoch(s), Rel(Base::Start, o)) => (s, s + o, false),
        (Rel(Base::Now, o), Epoch(e)) => (now + o, e, true),
        (Rel(Base::Now, so), Rel(Base::Now, eo)) => (now + so, now + eo, true),
        (Rel(Base::Now, so), Rel(Base::Start, eo)) => (now + so, now + so + eo, true),
        (Rel(Base::End, so), Epoch(e)) => (e + so, e, false),
        (Rel(Base::End, so), Rel(Base::Now, eo)) => (now + eo + so, now + eo, true),
    };
    if e <= s {
        return Err(TimeError(format!("the start ({s}) must be before the end ({e})")));
    }
    let span = e - s;
    if span < MIN_SPAN {
        return Err(TimeError(format!("the range is {span} s long; the shortest is {MIN_SPAN} s")));
    }
    if span > MAX_SPAN {
        return Err(TimeError(format!("the range is {span} s long; the longest is 50 years")));
    }
    if s < MIN_EPOCH {
        return Err(TimeError(format!("the start ({s}) is before 1980, which rrdtool does not read")));
    }
    Ok(Resolved { start: s, end: e, relative })
}

/// Seconds since the epoch now.
///
/// ```
/// assert!(collectd_rrd::time::now() > 1_700_000_000);
/// ```
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The span in seconds from `start` to `end` when it is known without a clock (both
/// relative to now, one relative to the other, or two epoch times); `None` when it is not,
/// or when either does not parse.
///
/// ```
/// assert_eq!(collectd_rrd::time::span("end-1d", "now"), Some(86_400));
/// assert_eq!(collectd_rrd::time::span("1000", "now"), None);
/// ```
pub fn span(start: &str, end: &str) -> Option<i64> {
    use TimeArg::*;
    match (TimeArg::parse(start).ok()?, TimeArg::parse(end).ok()?) {
        (Rel(Base::End, so), Epoch(_) | Rel(Base::Now, _)) => Some(-so),
        (Epoch(_) | Rel(Base::Now, _), Rel(Base::Start, eo)) => Some(eo),
        (Epoch(s), Epoch(e)) => Some(e - s),
        (Rel(Base::Now, so), Rel(Base::Now, eo)) => Some(eo - so),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_canonicalises() {
        let c = |s: &str| TimeArg::parse(s).map(|t| t.canonical());
        assert_eq!(c("end-1d").unwrap(), "end-86400");
        assert_eq!(c("now").unwrap(), "now");
        assert_eq!(c("-3600").unwrap(), "now-3600");
        assert_eq!(c("e - 1 week").unwrap(), "end-604800");
        assert_eq!(c("now-1h30min").unwrap(), "now-5400");
        assert_eq!(c("end-1d12h").unwrap(), "end-129600");
        assert_eq!(c("now-1h-30min").unwrap(), "now-5400");
        assert_eq!(c("1700000000").unwrap(), "1700000000");
        assert_eq!(c("start+1mon").unwrap(), "start+2678400");
        assert!(c("end-1m").unwrap_err().to_string().contains("ambiguous"));
        assert!(c("noon yesterday").is_err());
        assert!(c("now;rm -rf /").is_err());
        assert!(c("").is_err());
        assert!(c("99999999999").is_err());
        assert!(c("now-99999999999y").is_err());
        assert!(c(&"-1".repeat(40)).is_err());
    }

    #[test]
    fn resolves() {
        const NOW: i64 = 1_700_000_000;
        let p = |s: &str| TimeArg::parse(s).unwrap();
        let r = resolve(p("end-1d"), p("now"), NOW).unwrap();
        assert_eq!((r.start, r.end, r.relative), (NOW - 86_400, NOW, true));
        assert_eq!(r.pixel(800), 108);
        let r = resolve(p("1600000000"), p("start+1h"), NOW).unwrap();
        assert_eq!((r.start, r.end, r.relative), (1_600_000_000, 1_600_003_600, false));
        let error = |start: &str, end: &str| resolve(p(start), p(end), NOW).unwrap_err().to_string();
        assert!(error("1600002000", "1600001000").contains("before the end"));
        assert!(error("end-1", "now").contains("shortest"));
        assert!(resolve(p("end-1h"), p("start+1h"), NOW).is_err());
        assert!(resolve(p("start"), p("now"), NOW).is_err());
        assert!(error("400000000", "4000000000").contains("longest"));
        // 50 years back from 2023 is 1973: rrdtool would refuse it with an error of its own.
        assert!(error("end-50y", "now").contains("before 1980"), "{}", error("end-50y", "now"));
        assert!(resolve(p("end-40y"), p("now"), NOW).is_ok());
    }

    #[test]
    fn epochs_rrdtool_reads_as_dates_are_refused() {
        for text in ["0", "1000", "99999999", "315532799"] {
            let e = TimeArg::parse(text).unwrap_err().to_string();
            assert!(e.contains("before 1980"), "{text}: {e}");
        }
        assert_eq!(TimeArg::parse("315532800").unwrap(), TimeArg::Epoch(MIN_EPOCH));
    }

    #[test]
    fn spans() {
        assert_eq!(span("end-1d", "now"), Some(86_400));
        assert_eq!(span("e-3600", "now"), Some(3600));
        assert_eq!(span("-1h", "now"), Some(3600));
        assert_eq!(span("now-2h", "now-1h"), Some(3600));
        assert_eq!(span("-7200", "-3600"), Some(3600));
        assert_eq!(span("1600000000", "1600003600"), Some(3600));
        assert_eq!(span("1600000000", "s+1w"), Some(604_800));
        assert_eq!(span("end-1d12h", "now"), Some(129_600));
        assert_eq!(span("end - 2 weeks", "now"), Some(1_209_600));
        assert_eq!(span("1600000000", "now"), None);
        assert_eq!(span("noon yesterday", "now"), None);
        assert_eq!(span("end-1fortnight", "now"), None);
        assert_eq!(span("end-1m", "now"), None, "ambiguous: refused rather than guessed");
    }
}
