//! From a metric's name and labels to where it goes: category, stat and specifics.

use metrics::Key;

/// Where a metric goes: its category's number, its stat, and its specifics.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Placement {
    pub(super) category: u32,
    pub(super) stat: String,
    pub(super) specifics: Vec<String>,
}

/// Splits a metric name into category and stat, as the module documentation's table says.
pub(super) fn split_name<'n>(name: &'n str, default_category: &'n str) -> (&'n str, &'n str) {
    if let Some((category, stat)) = name.split_once('.') {
        return (category, stat);
    }
    match name.split_once('_') {
        Some((category, stat)) if !category.is_empty() && !stat.is_empty() => (category, stat),
        _ => (default_category, name),
    }
}

/// The specifics a key's labels give.
pub(super) fn label_specifics(key: &Key) -> Vec<String> {
    key.labels()
        .map(|label| match label.key() {
            "specific" => label.value().to_string(),
            other => format!("{other}_{}", label.value()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_category_and_stat() {
        assert_eq!(split_name("coin_stats.flips", "metrics"), ("coin_stats", "flips"));
        assert_eq!(split_name("a.b.c", "metrics"), ("a", "b.c"));
        assert_eq!(split_name("http_requests_total", "metrics"), ("http", "requests_total"));
        assert_eq!(split_name("uptime", "metrics"), ("metrics", "uptime"));
        assert_eq!(split_name("_x", "metrics"), ("metrics", "_x"));
    }

    #[test]
    fn labels_become_specifics() {
        let key =
            Key::from_parts("x", vec![metrics::Label::new("specific", "heads"), metrics::Label::new("code", "200")]);
        assert_eq!(label_specifics(&key), vec!["heads".to_string(), "code_200".to_string()]);
    }
}
