//! A small reading of rrdtool's at-style times, enough to know a graph's span without a
//! clock (`end-1d` … `now`, `-3600` … `now`, two epoch seconds). rrdtool itself parses the
//! times; this only estimates the span, and says `None` when it cannot.

/// What a time is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Epoch,
    Now,
    Start,
    End,
}

/// Seconds of a unit name, as rrdtool's at-style parser accepts them (`m` taken as
/// minutes; this is only an estimate).
fn unit_seconds(unit: &str) -> Option<i64> {
    Some(match unit {
        "" | "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "wk" | "wks" | "week" | "weeks" => 604_800,
        "mon" | "mons" | "month" | "months" => 2_592_000,
        "y" | "yr" | "yrs" | "year" | "years" => 31_536_000,
        _ => return None,
    })
}

/// Parses `[+-]N unit [+-]N unit ...` into seconds.
fn offset(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    let mut sign = 1;
    let mut first = true;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        match b[i] {
            b'+' => {
                sign = 1;
                i += 1;
            }
            b'-' => {
                sign = -1;
                i += 1;
            }
            _ if first => return None,
            _ => {}
        }
        first = false;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let n0 = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n: i64 = s[n0..i].parse().ok()?;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let u0 = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = unit_seconds(&s[u0..i])?;
        total = total.checked_add(sign * n.checked_mul(unit)?)?;
    }
    Some(total)
}

fn parse(s: &str) -> Option<(Base, i64)> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        // rrdtool reads a negative number as seconds relative to now.
        return Some(if n < 0 { (Base::Now, n) } else { (Base::Epoch, n) });
    }
    for (prefix, base) in [
        ("now", Base::Now),
        ("end", Base::End),
        ("start", Base::Start),
        ("n", Base::Now),
        ("e", Base::End),
        ("s", Base::Start),
    ] {
        if let Some(rest) = s.strip_prefix(prefix)
            && (rest.is_empty() || rest.starts_with(['+', '-', ' ']))
        {
            return Some((base, offset(rest)?));
        }
    }
    if s.starts_with(['+', '-']) {
        return Some((Base::Now, offset(s)?));
    }
    None
}

/// The span in seconds from `start` to `end`, when it can be known without a clock.
pub fn span(start: &str, end: &str) -> Option<i64> {
    let (sb, so) = parse(start)?;
    let (eb, eo) = parse(end)?;
    match (sb, eb) {
        (Base::End, Base::Epoch | Base::Now) => Some(-so),
        (Base::Epoch | Base::Now, Base::Start) => Some(eo),
        (Base::Epoch, Base::Epoch) | (Base::Now, Base::Now) => Some(eo - so),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans() {
        assert_eq!(span("end-1d", "now"), Some(86_400));
        assert_eq!(span("e-3600", "now"), Some(3600));
        assert_eq!(span("-1h", "now"), Some(3600));
        assert_eq!(span("now-2h", "now-1h"), Some(3600));
        assert_eq!(span("-7200", "-3600"), Some(3600));
        assert_eq!(span("1000", "4600"), Some(3600));
        assert_eq!(span("1000", "s+1w"), Some(604_800));
        assert_eq!(span("end-1d12h", "now"), Some(129_600));
        assert_eq!(span("end - 2 weeks", "now"), Some(1_209_600));
        assert_eq!(span("1000", "now"), None);
        assert_eq!(span("noon yesterday", "now"), None);
        assert_eq!(span("end-1fortnight", "now"), None);
    }
}
