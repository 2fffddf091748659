//! collectd's naming rules: `name[-instance]` splitting and the original module's
//! `CATEGORY[-SPECIFIC]-STAT` type instances.

/// Splits a collectd directory or file name at its first `-` into name and instance,
/// as collectd's `format_name` joins them (`cpu-0` → (`cpu`, `0`), `any` → (`any`, none)).
///
/// An empty instance after the dash (`foo-`) is kept as `Some("")`: the name is reported
/// as it is on disk, never dropped or altered.
pub fn split_instance(name: &str) -> (&str, Option<&str>) {
    match name.split_once('-') {
        Some((base, instance)) => (base, Some(instance)),
        None => (name, None),
    }
}

/// The plugin name under which the original module's statistics are stored.
pub const MODULE_PLUGIN: &str = "any";
/// The type under which the original module's statistics are stored.
pub const MODULE_TYPE: &str = "gauge";

/// What a type instance of the original module means.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Meaning {
    /// `CATEGORY-STAT`: the base count of a stat, the sum over all records of the category.
    Base {
        /// The category (the counter's name).
        category: String,
        /// The stat (the keyword argument's name).
        stat: String,
    },
    /// `CATEGORY-SPECIFIC-STAT`: the part of a stat recorded with one specific.
    Specific {
        /// The category (the counter's name).
        category: String,
        /// The specific (a positional argument of `record`).
        specific: String,
        /// The stat (the keyword argument's name).
        stat: String,
    },
}

impl Meaning {
    /// The category this series belongs to.
    pub fn category(&self) -> &str {
        match self {
            Meaning::Base { category, .. } | Meaning::Specific { category, .. } => category,
        }
    }

    /// The stat this series belongs to.
    pub fn stat(&self) -> &str {
        match self {
            Meaning::Base { stat, .. } | Meaning::Specific { stat, .. } => stat,
        }
    }

    /// The specific, if this is not the base series.
    pub fn specific(&self) -> Option<&str> {
        match self {
            Meaning::Base { .. } => None,
            Meaning::Specific { specific, .. } => Some(specific),
        }
    }
}

/// Whether `s` is a name the original module can produce after sanitising: `[A-Za-z0-9_]+`.
pub fn is_sanitised(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Interprets a file of the original module: plugin `any`, type `gauge`, and a type
/// instance of two (`CATEGORY-STAT`) or three (`CATEGORY-SPECIFIC-STAT`) sanitised parts.
/// Anything else is not the module's and gives `None` (the file is listed as it is).
pub fn module_meaning(plugin: &str, type_: &str, type_instance: Option<&str>) -> Option<Meaning> {
    if plugin != MODULE_PLUGIN || type_ != MODULE_TYPE {
        return None;
    }
    let parts: Vec<&str> = type_instance?.split('-').collect();
    if !parts.iter().all(|p| is_sanitised(p)) {
        return None;
    }
    match parts.as_slice() {
        [category, stat] => Some(Meaning::Base { category: (*category).to_owned(), stat: (*stat).to_owned() }),
        [category, specific, stat] => Some(Meaning::Specific {
            category: (*category).to_owned(),
            specific: (*specific).to_owned(),
            stat: (*stat).to_owned(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_first_dash_only() {
        assert_eq!(split_instance("cpu-0"), ("cpu", Some("0")));
        assert_eq!(split_instance("gauge-a-b-c"), ("gauge", Some("a-b-c")));
        assert_eq!(split_instance("load"), ("load", None));
        assert_eq!(split_instance("foo-"), ("foo", Some("")));
        assert_eq!(split_instance("-foo"), ("", Some("foo")));
    }

    #[test]
    fn module_names() {
        assert_eq!(
            module_meaning("any", "gauge", Some("coin_stats-flips")),
            Some(Meaning::Base { category: "coin_stats".into(), stat: "flips".into() })
        );
        assert_eq!(
            module_meaning("any", "gauge", Some("coin_stats-heads-flips")),
            Some(Meaning::Specific { category: "coin_stats".into(), specific: "heads".into(), stat: "flips".into() })
        );
        assert_eq!(module_meaning("any", "gauge", Some("a")), None);
        assert_eq!(module_meaning("any", "gauge", Some("a-b-c-d")), None);
        assert_eq!(module_meaning("any", "gauge", Some("a--b")), None);
        assert_eq!(module_meaning("any", "gauge", Some("a-b.c")), None);
        assert_eq!(module_meaning("any", "gauge", None), None);
        assert_eq!(module_meaning("any", "counter", Some("a-b")), None);
        assert_eq!(module_meaning("cpu", "gauge", Some("a-b")), None);
    }
}
