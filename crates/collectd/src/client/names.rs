//! Statistic names: the original module's sanitising, and the type instances sent on the wire.

use std::borrow::Cow;

use crate::protocol::MAX_NAME_LEN;

/// Makes a name safe for file names, as the original module does: every run of
/// characters outside `[A-Za-z0-9]` becomes one `_`, then leading and trailing `_`
/// are removed.
///
/// ```
/// assert_eq!(collectd::sanitize("^@#@foo%$&&*"), "foo");
/// assert_eq!(collectd::sanitize("()#@bar&*()baz$^_+"), "bar_baz");
/// assert_eq!(collectd::sanitize("foo-bar"), collectd::sanitize("foo/bar"));
/// ```
pub fn sanitize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_separator = false;
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            if pending_separator && !out.is_empty() {
                out.push('_');
            }
            pending_separator = false;
            out.push(c);
        } else {
            pending_separator = true;
        }
    }
    out
}

/// The type instance of a statistic: `category-stat` for the base count, or
/// `category-specific-stat`. The parts are already sanitised.
///
/// When the result would exceed collectd's 127 bytes, the longest part is shortened and
/// ends with `_` and 8 hex digits of a hash of the whole name, so distinct long names
/// stay distinct and the result still splits into the same parts.
pub(crate) fn type_instance(category: &str, specific: Option<&str>, stat: &str) -> String {
    let mut parts: Vec<Cow<'_, str>> = match specific {
        Some(specific) => vec![category.into(), specific.into(), stat.into()],
        None => vec![category.into(), stat.into()],
    };
    let joined = parts.join("-");
    if joined.len() <= MAX_NAME_LEN {
        return joined;
    }
    let tag = format!("_{:08x}", fnv1a(joined.as_bytes()) as u32);
    while parts.iter().map(|p| p.len()).sum::<usize>() + parts.len() - 1 > MAX_NAME_LEN {
        let longest = (0..parts.len()).max_by_key(|&i| parts[i].len()).expect("parts are not empty");
        let excess = parts.iter().map(|p| p.len()).sum::<usize>() + parts.len() - 1 - MAX_NAME_LEN;
        let part = &parts[longest];
        // Names are ASCII after sanitising, so any byte index is a char boundary.
        let keep = part.len().saturating_sub(excess + tag.len()).max(1);
        let shortened = format!("{}{}", &part[..keep], tag);
        if shortened.len() >= part.len() {
            // Cannot shorten this part further; shorten the others by truncation.
            let cut = part.len().saturating_sub(excess).max(1);
            parts[longest] = Cow::Owned(part[..cut].to_string());
        } else {
            parts[longest] = Cow::Owned(shortened);
        }
    }
    parts.join("-")
}

/// FNV-1a: a stable hash for name tags (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_matches_the_original() {
        assert_eq!(sanitize("^@#@foo%$&&*"), "foo");
        assert_eq!(sanitize("()#@bar&*()baz$^_+"), "bar_baz");
        assert_eq!(sanitize("*()#@spam!@$^&*"), "spam");
        let junk: String = (0u8..=127).map(char::from).filter(|c| !c.is_ascii_alphanumeric()).collect();
        assert_eq!(sanitize(&format!("{junk}foo{junk}bar{junk}")), "foo_bar");
        assert_eq!(sanitize("a__b"), "a_b");
        assert_eq!(sanitize("héllo"), "h_llo");
        assert_eq!(sanitize("@@@"), "");
    }

    #[test]
    fn type_instances() {
        assert_eq!(type_instance("coin_stats", Some("heads"), "flips"), "coin_stats-heads-flips");
        assert_eq!(type_instance("coin_stats", None, "flips"), "coin_stats-flips");
    }

    #[test]
    fn long_names_fit_and_stay_distinct() {
        let long_a = "a".repeat(200);
        let long_b = format!("{}b", "a".repeat(199));
        for (specific, stat) in [(None, "x"), (Some("s"), "x"), (Some(long_a.as_str()), long_a.as_str())] {
            let name = type_instance(&long_a, specific, stat);
            assert!(name.len() <= MAX_NAME_LEN, "{}", name.len());
            assert_eq!(name.split('-').count(), if specific.is_some() { 3 } else { 2 });
        }
        assert_ne!(type_instance(&long_a, None, "x"), type_instance(&long_b, None, "x"));
    }
}
