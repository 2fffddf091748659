//! collectd's names for a DataDir, both ways, in one place: a value list's identifier →
//! its RRD file path (as collectd's rrdtool plugin writes it), a path → its identifier
//! (as the index reads it), and the original module's type instances ⇄ category /
//! specific / stat.
//!
//! The writer ([`crate::write`]) and the reader ([`crate::index`]) both go through here,
//! so a file written by one is found, and understood, by the other; the round trip is
//! tested below.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use collectd::protocol::{RawValueList, ValueList};
pub use collectd::{MODULE_PLUGIN, MODULE_TYPE};

/// Why a value list has no file in the DataDir.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NamingError {
    /// A host or plugin directory that begins with a dot (`.`, `..`, `.hidden`):
    /// collectd's `check_create_dir` refuses to create it, and so does the receiver.
    #[error("{field} {name} begins with a dot: collectd refuses to create the directory of {path}")]
    HiddenDirectory {
        /// Which name: `host` or `plugin directory`.
        field: &'static str,
        /// The name after `escape_slashes`, shown with [`display_name`].
        name: String,
        /// The path it would give, shown with [`display_path`].
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

/// A worker process's plugin instance, as the client's `process_slot` sends it:
/// `INST-workerN` (or `workerN`), read as worker `workerN` of plugin instance `INST`
/// (or of none), whose total collectd's `aggregation` plugin writes under `INST`.
///
/// ```
/// use collectd_rrd::naming::worker_instance;
///
/// assert_eq!(worker_instance("api-worker3"), Some((Some("api"), "worker3")));
/// assert_eq!(worker_instance("worker0"), Some((None, "worker0")));
/// assert_eq!(worker_instance("api"), None);
/// assert_eq!(worker_instance("api-workers"), None);
/// ```
pub fn worker_instance(instance: &str) -> Option<(Option<&str>, &str)> {
    let (total, worker) = match instance.rsplit_once('-') {
        Some((total, worker)) => (Some(total), worker),
        None => (None, instance),
    };
    let digits = worker.strip_prefix(collectd::PROCESS_PREFIX)?;
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && total != Some("")).then_some((total, worker))
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
///
/// The names are text for people and for selecting: each is the directory or file name
/// shown with [`display_name`], so a name that is not UTF-8 or holds control characters
/// is listed escaped (`nu\xff`) rather than hidden, and printing an identifier never
/// sends a terminal escape sequence. The file itself is found by its real path (the
/// index's [`crate::index::RrdFile::path`]).
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
    ///
    /// Names are shown with [`display_name`]: a directory `nu\xff` (byte 0xFF) gives the
    /// host `nu\xff` (backslash, `x`, `f`, `f`).
    pub fn from_path(data_dir: &Path, path: &Path) -> Option<Identifier> {
        let mut parts = path.strip_prefix(data_dir).ok()?.iter().map(display_os);
        let (host, dir, file) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Identifier::from_names(&host, &dir, file.strip_suffix(".rrd")?))
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

    /// `host/plugin[-pinst]/type[-tinst].rrd`, the file's path under the DataDir for names
    /// that needed no escaping (see [`Identifier`]).
    pub fn relative_path(&self) -> PathBuf {
        let dir = join_instance(&self.plugin, self.plugin_instance.as_deref());
        let file = join_instance(&self.type_, self.type_instance.as_deref());
        [self.host.as_str(), dir.as_str(), &format!("{file}.rrd")].iter().collect()
    }
}

/// collectd's `escape_slashes` (`src/utils/common/common.c`), which `plugin_dispatch_values`
/// applies to every name: a name that is exactly `/` becomes `root`; otherwise a leading
/// `/` is dropped and every other `/` becomes `_`.
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
    match escape_slashes_bytes(name.as_bytes()) {
        Cow::Borrowed(_) => Cow::Borrowed(name),
        // Only ASCII `/` was replaced by ASCII: still UTF-8.
        Cow::Owned(bytes) => {
            Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
        }
    }
}

/// [`escape_slashes`] on the bytes of a name, as collectd sees names (C strings of any
/// encoding).
///
/// ```
/// use collectd_rrd::naming::escape_slashes_bytes;
///
/// assert_eq!(escape_slashes_bytes(b"/"), &b"root"[..]);
/// assert_eq!(escape_slashes_bytes(b"/nu\xff/x"), &b"nu\xff_x"[..]);
/// ```
pub fn escape_slashes_bytes(name: &[u8]) -> Cow<'_, [u8]> {
    if name == b"/" {
        return Cow::Borrowed(b"root");
    }
    if !name.contains(&b'/') {
        return Cow::Borrowed(name);
    }
    let rest = name.strip_prefix(b"/").unwrap_or(name);
    Cow::Owned(rest.iter().map(|&b| if b == b'/' { b'_' } else { b }).collect())
}

/// The five names of a value list as bytes, exactly as they came over the network (before
/// [`escape_slashes_bytes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawNames<'a> {
    /// Host.
    pub host: &'a [u8],
    /// Plugin.
    pub plugin: &'a [u8],
    /// Plugin instance; empty for none.
    pub plugin_instance: &'a [u8],
    /// Type.
    pub type_: &'a [u8],
    /// Type instance; empty for none.
    pub type_instance: &'a [u8],
}

impl<'a> RawNames<'a> {
    /// The names of a value list decoded by [`collectd::protocol::parse`].
    pub fn of(vl: &'a ValueList<'_>) -> RawNames<'a> {
        RawNames {
            host: vl.host.as_bytes(),
            plugin: vl.plugin.as_bytes(),
            plugin_instance: vl.plugin_instance.as_bytes(),
            type_: vl.type_.as_bytes(),
            type_instance: vl.type_instance.as_bytes(),
        }
    }

    /// The names of a value list from [`collectd::protocol::parse_each`], bytes kept.
    pub fn of_raw(vl: &RawValueList<'a>) -> RawNames<'a> {
        RawNames {
            host: vl.host,
            plugin: vl.plugin,
            plugin_instance: vl.plugin_instance,
            type_: vl.type_,
            type_instance: vl.type_instance,
        }
    }

    /// collectd's identifier (`format_name`: `host/plugin[-pinst]/type[-tinst]`), each name
    /// shown with [`display_name`], for messages.
    ///
    /// ```
    /// use collectd_rrd::naming::RawNames;
    ///
    /// let names = RawNames { host: b"nu\xff", plugin: b"p", plugin_instance: b"", type_: b"gauge", type_instance: b"\x1b[31m" };
    /// assert_eq!(names.display(), r"nu\xff/p/gauge-\x1b[31m");
    /// ```
    pub fn display(&self) -> String {
        let mut out = String::new();
        out.push_str(&display_name(self.host));
        out.push('/');
        out.push_str(&display_name(self.plugin));
        if !self.plugin_instance.is_empty() {
            out.push('-');
            out.push_str(&display_name(self.plugin_instance));
        }
        out.push('/');
        out.push_str(&display_name(self.type_));
        if !self.type_instance.is_empty() {
            out.push('-');
            out.push_str(&display_name(self.type_instance));
        }
        out
    }
}

/// `name` or `name-instance` as bytes.
fn join_instance_bytes(name: &[u8], instance: &[u8]) -> Vec<u8> {
    let mut out = name.to_vec();
    if !instance.is_empty() {
        out.push(b'-');
        out.extend_from_slice(instance);
    }
    out
}

/// The RRD file of a value list: `data_dir/host/plugin[-pinst]/type[-tinst].rrd`.
///
/// The same as [`raw_file_path`] for names decoded as UTF-8.
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
    raw_file_path(data_dir, &RawNames::of(vl))
}

/// The RRD file of a value list's raw names, by collectd 5.12's rules, name by name:
///
/// - every name goes through [`escape_slashes_bytes`] (`plugin_dispatch_values`), so no
///   name holds a `/` and no name is empty (the parser drops lists without host, plugin
///   or type);
/// - the path is `data_dir/host/plugin[-pinst]/type[-tinst].rrd` (`format_name`; an empty
///   instance adds no `-`), its bytes kept as they are: any encoding, spaces, quotes,
///   line breaks and control characters included, as collectd writes them (a Linux path
///   is bytes);
/// - a host or plugin directory that begins with `.` is refused (`check_create_dir`:
///   "Cowardly refusing to create a directory that begins with a `.'"), which keeps
///   `..` and hidden trees such as `.._.._tmp_x` out; the file name may begin with a dot,
///   as collectd does not check it.
///
/// ```
/// use std::path::Path;
/// use std::os::unix::ffi::OsStrExt;
/// use collectd_rrd::naming::{NamingError, RawNames, raw_file_path};
///
/// let names = RawNames { host: b"nu\xff", plugin: b"p", plugin_instance: b"", type_: b"gauge", type_instance: b"a\nb" };
/// let path = raw_file_path(Path::new("/rrd"), &names).unwrap();
/// assert_eq!(path.as_os_str().as_bytes(), b"/rrd/nu\xff/p/gauge-a\nb.rrd");
///
/// let hidden = RawNames { host: b"../../tmp/x", ..names };
/// assert!(matches!(raw_file_path(Path::new("/rrd"), &hidden), Err(NamingError::HiddenDirectory { .. })));
/// ```
pub fn raw_file_path(data_dir: &Path, names: &RawNames<'_>) -> Result<PathBuf, NamingError> {
    let host = escape_slashes_bytes(names.host);
    let plugin_dir =
        join_instance_bytes(&escape_slashes_bytes(names.plugin), &escape_slashes_bytes(names.plugin_instance));
    let mut file = join_instance_bytes(&escape_slashes_bytes(names.type_), &escape_slashes_bytes(names.type_instance));
    file.extend_from_slice(b".rrd");
    let path =
        data_dir.join(OsStr::from_bytes(&host)).join(OsStr::from_bytes(&plugin_dir)).join(OsStr::from_bytes(&file));
    for (field, name) in [("host", host.as_ref()), ("plugin directory", plugin_dir.as_slice())] {
        if name.first() == Some(&b'.') {
            return Err(NamingError::HiddenDirectory {
                field,
                name: display_name(name).into_owned(),
                path: display_path(&path),
            });
        }
    }
    Ok(path)
}

/// Characters that are not control characters but can hide or reorder text on a terminal
/// or a page: zero-width characters, line and paragraph separators, bidirectional
/// embeddings, overrides and isolates, and the byte order mark.
fn is_deceptive(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

fn escape_into(out: &mut String, bytes: &[u8], backslash: bool) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' if backslash => out.push_str(r"\\"),
                '\n' => out.push_str(r"\n"),
                '\r' => out.push_str(r"\r"),
                '\t' => out.push_str(r"\t"),
                c if c.is_ascii_control() => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if c.is_control() || is_deceptive(c) => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

fn needs_escape(bytes: &[u8], backslash: bool) -> bool {
    match std::str::from_utf8(bytes) {
        Err(_) => true,
        Ok(s) => s.chars().any(|c| (backslash && c == '\\') || c.is_control() || is_deceptive(c)),
    }
}

/// A name (from the network or a directory listing) as people are shown it, in `ls`, the
/// web pages and log lines: printable text that says exactly which bytes the name has.
///
/// A backslash is doubled; `\n`, `\r`, `\t` are written so; other ASCII control
/// characters (`ESC`, `DEL`, …) and bytes that are not UTF-8 become `\xNN`; Unicode
/// control characters and characters that hide or reorder text (bidirectional overrides,
/// zero-width spaces) become `\u{NNNN}`. Everything else is kept. Two different names
/// are always shown differently: `nu\xff` (byte 0xFF) is `nu\xff`, the text `nu\xff` is
/// `nu\\xff`, and U+FFFD is shown as itself.
///
/// ```
/// use collectd_rrd::naming::display_name;
///
/// assert_eq!(display_name(b"web1"), "web1");
/// assert_eq!(display_name(b"nu\xff"), r"nu\xff");
/// assert_eq!(display_name("nu\u{FFFD}".as_bytes()), "nu\u{FFFD}");
/// assert_eq!(display_name(br"nu\xff"), r"nu\\xff");
/// assert_eq!(display_name(b"\x1b[31mred\x1b]0;title\x07"), r"\x1b[31mred\x1b]0;title\x07");
/// assert_eq!(display_name("a\u{202E}b\nc".as_bytes()), r"a\u{202e}b\nc");
/// ```
pub fn display_name(name: &[u8]) -> Cow<'_, str> {
    if !needs_escape(name, true) {
        // Checked above: valid UTF-8.
        return String::from_utf8_lossy(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    escape_into(&mut out, name, true);
    Cow::Owned(out)
}

/// [`display_name`] of a file or directory name.
pub fn display_os(name: &OsStr) -> Cow<'_, str> {
    display_name(name.as_bytes())
}

/// A path for messages: its bytes shown as [`display_name`] shows a name (the `/`s kept).
///
/// ```
/// use std::path::Path;
/// use std::os::unix::ffi::OsStrExt;
///
/// let path = Path::new(std::ffi::OsStr::from_bytes(b"/rrd/nu\xff/\x1b[2J/gauge.rrd"));
/// assert_eq!(collectd_rrd::naming::display_path(path), r"/rrd/nu\xff/\x1b[2J/gauge.rrd");
/// ```
pub fn display_path(path: &Path) -> String {
    display_name(path.as_os_str().as_bytes()).into_owned()
}

/// Text bound for a terminal or a log line (a message that may quote a name, rrdtool's
/// stderr) with its control characters, and characters that hide or reorder text, escaped
/// as [`display_name`] escapes them; backslashes are kept as they are, so the text of an
/// already escaped name is unchanged.
///
/// ```
/// use collectd_rrd::naming::printable;
///
/// assert_eq!(printable("ERROR: opening '/rrd/\x1b]0;pwned\x07/x.rrd'"), r"ERROR: opening '/rrd/\x1b]0;pwned\x07/x.rrd'");
/// assert_eq!(printable(r"nu\xff"), r"nu\xff");
/// ```
pub fn printable(text: &str) -> Cow<'_, str> {
    if !needs_escape(text.as_bytes(), false) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    escape_into(&mut out, text.as_bytes(), false);
    Cow::Owned(out)
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
        for (host, plugin, pinst) in [("..", "p", ""), ("h", "..", ""), ("h", "..", "x"), (".hidden", "p", "")] {
            assert!(
                matches!(
                    file_path(dir, &vl(host, plugin, pinst, "gauge", "")),
                    Err(NamingError::HiddenDirectory { .. })
                ),
                "{host}/{plugin}-{pinst}"
            );
        }
        // escape_slashes first: `../../tmp/x` is `.._.._tmp_x`, hidden; `/.x` is `.x`.
        assert!(file_path(dir, &vl("../../tmp/x", "p", "", "gauge", "")).is_err());
        assert!(file_path(dir, &vl("h", "/.x", "", "gauge", "")).is_err());
        assert!(file_path(dir, &vl("h.", "p.", "", "gauge", ".x")).is_ok());
        assert!(file_path(dir, &vl("h", "p", "", "..", "")).is_ok()); // "...rrd" stays inside
    }
}
