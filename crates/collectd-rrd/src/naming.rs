//! collectd's names for a DataDir, both ways, in one place: a value list's identifier →
//! its RRD file path (as collectd's rrdtool plugin writes it), a path → its identifier
//! (as the index reads it), and the original module's type instances ⇄ category /
//! specific / stat.
//!
//! The writer ([`crate::write`]) and the reader ([`crate::index`]) both go through here,
//! so a file written by one is found, and understood, by the other; the round trip is
//! tested below.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use collectd::protocol::ValueList;
pub use collectd::{MODULE_PLUGIN, MODULE_TYPE};

/// Why a value list has no file in the DataDir.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NamingError {
    /// A name would make the path leave its directory (`.` or `..`); collectd would write
    /// there, this project refuses.
    #[error("{field} {name:?} would make the path {path} leave the data directory")]
    UnsafeName {
        /// Which name.
        field: &'static str,
        /// The name after escaping.
        name: String,
        /// The path it would give.
        path: String,
    },
}

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

    /// The type instance that stores this series: `CATEGORY-STAT` or
    /// `CATEGORY-SPECIFIC-STAT`, the inverse of [`module_meaning`].
    ///
    /// ```
    /// use collectd_rrd::naming::{MODULE_PLUGIN, MODULE_TYPE, Meaning, module_meaning};
    ///
    /// let meaning = Meaning::Specific { category: "coin_stats".into(), specific: "heads".into(), stat: "flips".into() };
    /// assert_eq!(meaning.type_instance(), "coin_stats-heads-flips");
    /// assert_eq!(module_meaning(MODULE_PLUGIN, MODULE_TYPE, Some(&meaning.type_instance())), Some(meaning));
    /// ```
    pub fn type_instance(&self) -> String {
        match self {
            Meaning::Base { category, stat } => format!("{category}-{stat}"),
            Meaning::Specific { category, specific, stat } => format!("{category}-{specific}-{stat}"),
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

/// `name` or `name-instance`, as collectd builds directory and file names.
///
/// ```
/// assert_eq!(collectd_rrd::naming::join_instance("cpu", Some("0")), "cpu-0");
/// assert_eq!(collectd_rrd::naming::join_instance("load", None), "load");
/// ```
pub fn join_instance(name: &str, instance: Option<&str>) -> String {
    match instance {
        Some(i) => format!("{name}-{i}"),
        None => name.to_owned(),
    }
}

/// collectd's identifier of one RRD file: `host/plugin[-pinst]/type[-tinst]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Identifier {
    /// The host directory's name.
    pub host: String,
    /// The plugin (plugin directory up to its first `-`).
    pub plugin: String,
    /// The plugin instance (after the first `-`), if any.
    pub plugin_instance: Option<String>,
    /// The type (file name up to its first `-`).
    pub type_: String,
    /// The type instance (after the first `-`), if any.
    pub type_instance: Option<String>,
}

impl std::fmt::Display for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.host, self.plugin)?;
        if let Some(pi) = &self.plugin_instance {
            write!(f, "-{pi}")?;
        }
        write!(f, "/{}", self.type_)?;
        if let Some(ti) = &self.type_instance {
            write!(f, "-{ti}")?;
        }
        Ok(())
    }
}

impl Identifier {
    /// The identifier of the RRD file at `path` under `data_dir`
    /// (`data_dir/host/plugin[-pinst]/type[-tinst].rrd`), or `None` for any other path.
    ///
    /// ```
    /// use std::path::Path;
    /// use collectd_rrd::naming::Identifier;
    ///
    /// let id = Identifier::from_path(Path::new("/rrd"), Path::new("/rrd/web1/cpu-0/cpu-user.rrd")).unwrap();
    /// assert_eq!(id.to_string(), "web1/cpu-0/cpu-user");
    /// assert_eq!((id.plugin_instance.as_deref(), id.type_instance.as_deref()), (Some("0"), Some("user")));
    /// ```
    pub fn from_path(data_dir: &Path, path: &Path) -> Option<Identifier> {
        let mut parts = path.strip_prefix(data_dir).ok()?.iter().map(|p| p.to_str());
        let (host, dir, file) = (parts.next()??, parts.next()??, parts.next()??);
        if parts.next().is_some() {
            return None;
        }
        Some(Identifier::from_names(host, dir, file.strip_suffix(".rrd")?))
    }

    /// The identifier of a host directory, plugin directory and file stem as listed.
    pub fn from_names(host: &str, plugin_dir: &str, file_stem: &str) -> Identifier {
        let (plugin, plugin_instance) = split_instance(plugin_dir);
        let (type_, type_instance) = split_instance(file_stem);
        Identifier {
            host: host.to_owned(),
            plugin: plugin.to_owned(),
            plugin_instance: plugin_instance.map(str::to_owned),
            type_: type_.to_owned(),
            type_instance: type_instance.map(str::to_owned),
        }
    }

    /// `host/plugin[-pinst]/type[-tinst].rrd`, the file's path under the DataDir.
    pub fn relative_path(&self) -> PathBuf {
        let dir = join_instance(&self.plugin, self.plugin_instance.as_deref());
        let file = join_instance(&self.type_, self.type_instance.as_deref());
        [self.host.as_str(), dir.as_str(), &format!("{file}.rrd")].iter().collect()
    }
}

/// collectd's `escape_slashes`: a name that is exactly `/` becomes `root`; otherwise a
/// leading `/` is dropped and every other `/` becomes `_`.
///
/// ```
/// use collectd_rrd::naming::escape_slashes;
///
/// assert_eq!(escape_slashes("/"), "root");
/// assert_eq!(escape_slashes("/a/b"), "a_b");
/// assert_eq!(escape_slashes("a/b/"), "a_b_");
/// assert_eq!(escape_slashes("plain"), "plain");
/// ```
pub fn escape_slashes(name: &str) -> Cow<'_, str> {
    if name == "/" {
        return Cow::Borrowed("root");
    }
    if !name.contains('/') {
        return Cow::Borrowed(name);
    }
    let rest = if name.len() > 1 { name.strip_prefix('/').unwrap_or(name) } else { name };
    Cow::Owned(rest.replace('/', "_"))
}

/// The names of a value list after `escape_slashes`, as collectd's writers see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscapedNames<'a> {
    /// Host.
    pub host: Cow<'a, str>,
    /// Plugin.
    pub plugin: Cow<'a, str>,
    /// Plugin instance.
    pub plugin_instance: Cow<'a, str>,
    /// Type.
    pub type_: Cow<'a, str>,
    /// Type instance.
    pub type_instance: Cow<'a, str>,
}

impl<'a> EscapedNames<'a> {
    /// Escapes the names of `vl`.
    pub fn of(vl: &'a ValueList<'_>) -> Self {
        EscapedNames {
            host: escape_slashes(&vl.host),
            plugin: escape_slashes(&vl.plugin),
            plugin_instance: escape_slashes(&vl.plugin_instance),
            type_: escape_slashes(&vl.type_),
            type_instance: escape_slashes(&vl.type_instance),
        }
    }
}

/// The RRD file of a value list: `data_dir/host/plugin[-pinst]/type[-tinst].rrd`.
///
/// ```
/// use std::path::Path;
/// use collectd::protocol::{Value, ValueList};
/// use collectd_rrd::naming::file_path;
///
/// let vl = ValueList::new("web1", "/a/b", "gauge", vec![Value::Gauge(1.0)]).with_type_instance("/");
/// let path = file_path(Path::new("/var/lib/collectd/rrd"), &vl).unwrap();
/// assert_eq!(path, Path::new("/var/lib/collectd/rrd/web1/a_b/gauge-root.rrd"));
/// ```
pub fn file_path(data_dir: &Path, vl: &ValueList<'_>) -> Result<PathBuf, NamingError> {
    let names = EscapedNames::of(vl);
    let instance = |name: &str| (!name.is_empty()).then(|| name.to_owned());
    let plugin_dir = join_instance(&names.plugin, instance(&names.plugin_instance).as_deref());
    let file = format!("{}.rrd", join_instance(&names.type_, instance(&names.type_instance).as_deref()));
    let path = data_dir.join(names.host.as_ref()).join(&plugin_dir).join(&file);
    for (field, name) in [("host", names.host.as_ref()), ("plugin directory", plugin_dir.as_str())] {
        if name == "." || name == ".." {
            return Err(NamingError::UnsafeName { field, name: name.to_owned(), path: path.display().to_string() });
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use collectd::protocol::Value;

    #[test]
    fn written_paths_read_back_as_their_identifiers() {
        let data_dir = Path::new("/data");
        for (pinst, tinst) in [("", ""), ("X", ""), ("", "coin_stats-heads-flips"), ("a-b", "c-d-e")] {
            let vl = ValueList::new("web1", MODULE_PLUGIN, MODULE_TYPE, vec![Value::Gauge(1.0)])
                .with_plugin_instance(pinst)
                .with_type_instance(tinst);
            let path = file_path(data_dir, &vl).unwrap();
            let id = Identifier::from_path(data_dir, &path).unwrap();
            let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
            assert_eq!(
                id,
                Identifier {
                    host: "web1".into(),
                    plugin: MODULE_PLUGIN.into(),
                    plugin_instance: some(pinst),
                    type_: MODULE_TYPE.into(),
                    type_instance: some(tinst),
                },
                "{}",
                path.display()
            );
            assert_eq!(id.relative_path(), path.strip_prefix(data_dir).unwrap());
        }
        assert_eq!(Identifier::from_path(data_dir, Path::new("/data/h/p/t.txt")), None);
        assert_eq!(Identifier::from_path(data_dir, Path::new("/elsewhere/h/p/t.rrd")), None);
    }

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

    #[test]
    fn paths_escape_and_refuse_escaping_the_data_dir() {
        let dir = Path::new("/data");
        let vl = |host: &str, plugin: &str, pinst: &str, type_: &str, tinst: &str| {
            ValueList::new(host.to_owned(), plugin.to_owned(), type_.to_owned(), vec![Value::Gauge(0.0)])
                .with_plugin_instance(pinst.to_owned())
                .with_type_instance(tinst.to_owned())
        };
        assert_eq!(
            file_path(dir, &vl("h", "cpu", "0", "cpu", "idle")).unwrap(),
            Path::new("/data/h/cpu-0/cpu-idle.rrd")
        );
        assert_eq!(file_path(dir, &vl("/", "/", "", "/x/", "")).unwrap(), Path::new("/data/root/root/x_.rrd"));
        assert!(matches!(file_path(dir, &vl("..", "p", "", "gauge", "")), Err(NamingError::UnsafeName { .. })));
        assert!(matches!(file_path(dir, &vl("h", "..", "", "gauge", "")), Err(NamingError::UnsafeName { .. })));
        assert!(file_path(dir, &vl("h", "..", "x", "gauge", "")).is_ok());
        assert!(file_path(dir, &vl("h", "p", "", "..", "")).is_ok()); // "...rrd" stays inside
    }
}
