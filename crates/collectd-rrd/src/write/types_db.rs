//! collectd's `types.db`: what data sources each type has, read from files or from a built-in
//! table of collectd 5.12's standard types.
//!
//! A value list names a type (`load`, `if_octets`, …); the type says how many values it
//! carries, and for each one the data source's name, kind and bounds, which become the
//! `DS:name:KIND:heartbeat:min:max` lines of the RRD file. The file format, as collectd's
//! `types_list.c` reads it:
//!
//! ```text
//! # comment
//! load    shortterm:GAUGE:0:5000, midterm:GAUGE:0:5000, longterm:GAUGE:0:5000
//! ```
//!
//! - fields are separated by blanks; the first is the type, each other one a data source
//!   `name:KIND:min:max` (a trailing comma is dropped); `U` is "no bound";
//! - lines starting with `#` and lines with fewer than two fields are ignored;
//! - a line with a malformed data source is skipped as a whole (and reported);
//! - a type defined again replaces the earlier definition.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use collectd::protocol::DsType;

/// collectd's `DATA_MAX_NAME_LEN`: names keep at most 127 bytes.
const MAX_NAME: usize = 127;
/// collectd splits a line into at most 64 fields.
const MAX_FIELDS: usize = 64;

/// One data source of a type: `name:KIND:min:max`.
#[derive(Clone, Debug)]
pub struct DataSource {
    /// Its name (`value`, `rx`, `shortterm`, …), the RRD data source's name.
    pub name: String,
    /// GAUGE, DERIVE, COUNTER or ABSOLUTE.
    pub ds_type: DsType,
    /// Lower bound; NaN for none (`U`).
    pub min: f64,
    /// Upper bound; NaN for none (`U`).
    pub max: f64,
}

impl PartialEq for DataSource {
    fn eq(&self, other: &Self) -> bool {
        let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
        self.name == other.name
            && self.ds_type == other.ds_type
            && same(self.min, other.min)
            && same(self.max, other.max)
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = |v: f64| if v.is_nan() { "U".to_owned() } else { v.to_string() };
        write!(f, "{}:{}:{}:{}", self.name, self.ds_type, bound(self.min), bound(self.max))
    }
}

/// A type and its data sources, in order (collectd's `data_set_t`).
#[derive(Clone, Debug, PartialEq)]
pub struct DataSet {
    /// The type's name.
    pub name: String,
    /// Its data sources; never empty.
    pub sources: Vec<DataSource>,
}

/// Why a types.db file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TypesDbError {
    /// The file could not be read.
    #[error("cannot read types.db {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file defines no type at all: surely not a types.db.
    #[error("{path} defines no type; is it a types.db file?")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// A line of a types.db file that was skipped, as collectd skips it (with an error in its log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineWarning {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LineWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The known types, by name.
///
/// ```
/// use collectd_rrd::write::types_db::TypesDb;
///
/// let db = TypesDb::builtin();
/// let load = db.get("load").unwrap();
/// assert_eq!(load.sources.len(), 3);
/// assert_eq!(load.sources[0].name, "shortterm");
/// assert_eq!(load.sources[0].max, 5000.0);
///
/// let mut custom = TypesDb::default();
/// let warnings = custom.parse("queue  depth:GAUGE:0:U, age:DERIVE:0:U\nbroken x:y\n");
/// assert_eq!(custom.get("queue").unwrap().sources[1].name, "age");
/// assert_eq!(warnings.len(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct TypesDb {
    sets: HashMap<String, Arc<DataSet>>,
}

impl TypesDb {
    /// The built-in table: the common types of collectd 5.12's standard `types.db` (see
    /// [`BUILTIN`]).
    pub fn builtin() -> Self {
        let mut db = TypesDb::default();
        for (name, sources) in BUILTIN {
            db.insert(DataSet {
                name: (*name).to_owned(),
                sources: sources
                    .iter()
                    .map(|&(n, ds_type, min, max)| DataSource { name: n.to_owned(), ds_type, min, max })
                    .collect(),
            });
        }
        db
    }

    /// Reads types.db files in order, later definitions replacing earlier ones, as
    /// collectd's `TypesDB` option does. Returns the skipped lines of each file.
    pub fn load(paths: &[PathBuf]) -> Result<(Self, Vec<(PathBuf, LineWarning)>), TypesDbError> {
        let mut db = TypesDb::default();
        let mut warnings = Vec::new();
        for path in paths {
            let (defined, skipped) = db.parse_counting(&read(path)?);
            if defined == 0 {
                return Err(TypesDbError::Empty { path: path.clone() });
            }
            warnings.extend(skipped.into_iter().map(|w| (path.clone(), w)));
        }
        Ok((db, warnings))
    }

    /// Adds the definitions in `text` (the contents of a types.db file); returns the lines
    /// that were skipped.
    pub fn parse(&mut self, text: &str) -> Vec<LineWarning> {
        self.parse_counting(text).1
    }

    /// [`parse`](Self::parse), also counting the definitions read.
    fn parse_counting(&mut self, text: &str) -> (usize, Vec<LineWarning>) {
        let mut warnings = Vec::new();
        let mut defined = 0;
        for (i, line) in text.lines().enumerate() {
            match parse_line(line) {
                Ok(Some(set)) => {
                    self.insert(set);
                    defined += 1;
                }
                Ok(None) => {}
                Err(message) => warnings.push(LineWarning { line: i + 1, message }),
            }
        }
        (defined, warnings)
    }

    /// Adds or replaces a type.
    pub fn insert(&mut self, set: DataSet) {
        self.sets.insert(set.name.clone(), Arc::new(set));
    }

    /// The type called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<DataSet>> {
        self.sets.get(name)
    }

    /// How many types are known.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// True when no type is known.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// The types, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<DataSet>> {
        self.sets.values()
    }
}

fn read(path: &Path) -> Result<String, TypesDbError> {
    let bytes = std::fs::read(path).map_err(|source| TypesDbError::Read { path: path.to_owned(), source })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn truncate_name(name: &str) -> String {
    if name.len() <= MAX_NAME {
        return name.to_owned();
    }
    let mut end = MAX_NAME;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

/// One line: `Ok(None)` for a comment or a line collectd ignores, `Err` for a line it
/// rejects.
fn parse_line(line: &str) -> Result<Option<DataSet>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let fields: Vec<&str> = line.split([' ', '\t', '\r', '\n']).filter(|f| !f.is_empty()).take(MAX_FIELDS).collect();
    if fields.len() < 2 || fields[0].starts_with('#') {
        return Ok(None);
    }
    let name = truncate_name(fields[0]);
    let sources = fields[1..]
        .iter()
        .enumerate()
        .map(|(i, f)| parse_source(f).map_err(|e| format!("type {name}: data source #{i} {f:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(DataSet { name, sources }))
}

fn parse_source(field: &str) -> Result<DataSource, String> {
    if field.len() < 11 {
        return Err("too short for name:KIND:min:max".into());
    }
    let field = field.strip_suffix(',').unwrap_or(field);
    let parts: Vec<&str> = field.split(':').filter(|p| !p.is_empty()).take(8).collect();
    if parts.len() != 4 {
        return Err(format!("{} fields instead of 4", parts.len()));
    }
    let ds_type = match parts[1].to_ascii_uppercase().as_str() {
        "GAUGE" => DsType::Gauge,
        "COUNTER" => DsType::Counter,
        "DERIVE" => DsType::Derive,
        "ABSOLUTE" => DsType::Absolute,
        other => return Err(format!("kind {other} is not GAUGE, COUNTER, DERIVE or ABSOLUTE")),
    };
    let bound = |s: &str| if s.eq_ignore_ascii_case("U") { f64::NAN } else { atof(s) };
    Ok(DataSource { name: truncate_name(parts[0]), ds_type, min: bound(parts[2]), max: bound(parts[3]) })
}

/// C's `atof`: the longest prefix that reads as a decimal number (after leading blanks),
/// `inf`/`infinity`/`nan` in any case, and 0 when there is none.
pub(crate) fn atof(s: &str) -> f64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let bytes = s.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        end = 1;
    }
    let lower = s[end..].to_ascii_lowercase();
    let sign = if s.starts_with('-') { -1.0 } else { 1.0 };
    if lower.starts_with("inf") {
        return sign * f64::INFINITY;
    }
    if lower.starts_with("nan") {
        return f64::NAN;
    }
    let digits = |from: usize| bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count();
    let int = digits(end);
    end += int;
    let mut frac = 0;
    if bytes.get(end) == Some(&b'.') {
        frac = digits(end + 1);
        if int + frac > 0 {
            end += 1 + frac;
        }
    }
    if int + frac == 0 {
        return 0.0;
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let mut e = end + 1;
        if matches!(bytes.get(e), Some(b'+' | b'-')) {
            e += 1;
        }
        let exp = digits(e);
        if exp > 0 {
            end = e + exp;
        }
    }
    s[..end].parse().unwrap_or(0.0)
}

const U: f64 = f64::NAN;
use DsType::{Absolute as A, Counter as C, Derive as D, Gauge as G};

/// A data source of the built-in table: name, kind, min, max.
pub type BuiltinSource = (&'static str, DsType, f64, f64);

/// The built-in types: the generic ones and those of collectd's common plugins (cpu, df,
/// disk, interface, load, memory, processes, swap, users, uptime, vmem, ping, sensors,
/// apache, nginx, …), as collectd 5.12's `types.db` defines them. The unit test
/// `builtin_table_matches_the_system_types_db` checks every entry against
/// `/usr/share/collectd/types.db` when it is installed. Other types need `--types-db`.
pub const BUILTIN: &[(&str, &[BuiltinSource])] = &[
    ("absolute", &[("value", A, 0.0, U)]),
    ("apache_bytes", &[("value", D, 0.0, U)]),
    ("apache_connections", &[("value", G, 0.0, 65535.0)]),
    ("apache_idle_workers", &[("value", G, 0.0, 65535.0)]),
    ("apache_requests", &[("value", D, 0.0, U)]),
    ("apache_scoreboard", &[("value", G, 0.0, 65535.0)]),
    ("bitrate", &[("value", G, 0.0, 4294967295.0)]),
    ("bool", &[("value", G, 0.0, 1.0)]),
    ("bytes", &[("value", G, 0.0, U)]),
    ("cache_ratio", &[("value", G, 0.0, 100.0)]),
    ("capacity", &[("value", G, 0.0, U)]),
    ("charge", &[("value", G, 0.0, U)]),
    ("compression_ratio", &[("value", G, 0.0, 2.0)]),
    ("connections", &[("value", D, 0.0, U)]),
    ("conntrack", &[("value", G, 0.0, 4294967295.0)]),
    ("contextswitch", &[("value", D, 0.0, U)]),
    ("count", &[("value", G, 0.0, U)]),
    ("counter", &[("value", C, U, U)]),
    ("cpu", &[("value", D, 0.0, U)]),
    ("cpufreq", &[("value", G, 0.0, U)]),
    ("current", &[("value", G, U, U)]),
    ("current_connections", &[("value", G, 0.0, U)]),
    ("current_sessions", &[("value", G, 0.0, U)]),
    ("delay", &[("value", G, -1000000.0, 1000000.0)]),
    ("derive", &[("value", D, 0.0, U)]),
    ("df", &[("used", G, 0.0, 1125899906842623.0), ("free", G, 0.0, 1125899906842623.0)]),
    ("df_complex", &[("value", G, 0.0, U)]),
    ("df_inodes", &[("value", G, 0.0, U)]),
    ("disk_io_time", &[("io_time", D, 0.0, U), ("weighted_io_time", D, 0.0, U)]),
    ("disk_latency", &[("read", G, 0.0, U), ("write", G, 0.0, U)]),
    ("disk_merged", &[("read", D, 0.0, U), ("write", D, 0.0, U)]),
    ("disk_octets", &[("read", D, 0.0, U), ("write", D, 0.0, U)]),
    ("disk_ops", &[("read", D, 0.0, U), ("write", D, 0.0, U)]),
    ("disk_time", &[("read", D, 0.0, U), ("write", D, 0.0, U)]),
    ("dns_query", &[("value", D, 0.0, U)]),
    ("duration", &[("seconds", G, 0.0, U)]),
    ("energy", &[("value", G, U, U)]),
    ("energy_wh", &[("value", G, U, U)]),
    ("entropy", &[("value", G, 0.0, 4294967295.0)]),
    ("errors", &[("value", D, 0.0, U)]),
    ("fanspeed", &[("value", G, 0.0, U)]),
    ("file_handles", &[("value", G, 0.0, U)]),
    ("file_size", &[("value", G, 0.0, U)]),
    ("files", &[("value", G, 0.0, U)]),
    ("fork_rate", &[("value", D, 0.0, U)]),
    ("freepages", &[("value", G, 0.0, U)]),
    ("frequency", &[("value", G, 0.0, U)]),
    ("frequency_offset", &[("value", G, -1000000.0, 1000000.0)]),
    ("gauge", &[("value", G, U, U)]),
    ("hash_collisions", &[("value", D, 0.0, U)]),
    ("http_requests", &[("value", D, 0.0, U)]),
    ("humidity", &[("value", G, 0.0, 100.0)]),
    ("if_dropped", &[("rx", D, 0.0, U), ("tx", D, 0.0, U)]),
    ("if_errors", &[("rx", D, 0.0, U), ("tx", D, 0.0, U)]),
    ("if_multicast", &[("value", D, 0.0, U)]),
    ("if_octets", &[("rx", D, 0.0, U), ("tx", D, 0.0, U)]),
    ("if_packets", &[("rx", D, 0.0, U), ("tx", D, 0.0, U)]),
    ("invocations", &[("value", D, 0.0, U)]),
    ("io_octets", &[("rx", D, 0.0, U), ("tx", D, 0.0, U)]),
    ("io_ops", &[("read", D, 0.0, U), ("write", D, 0.0, U)]),
    ("ipt_bytes", &[("value", D, 0.0, U)]),
    ("ipt_packets", &[("value", D, 0.0, U)]),
    ("irq", &[("value", D, 0.0, U)]),
    ("job_stats", &[("value", D, 0.0, U)]),
    ("latency", &[("value", G, 0.0, U)]),
    ("load", &[("shortterm", G, 0.0, 5000.0), ("midterm", G, 0.0, 5000.0), ("longterm", G, 0.0, 5000.0)]),
    ("memory", &[("value", G, 0.0, 281474976710656.0)]),
    ("memory_bandwidth", &[("value", D, 0.0, U)]),
    ("mysql_commands", &[("value", D, 0.0, U)]),
    ("nginx_connections", &[("value", G, 0.0, U)]),
    ("nginx_requests", &[("value", D, 0.0, U)]),
    ("objects", &[("value", G, 0.0, U)]),
    ("operations", &[("value", D, 0.0, U)]),
    ("operations_per_second", &[("value", G, 0.0, U)]),
    ("packets", &[("value", D, 0.0, U)]),
    ("pending_operations", &[("value", G, 0.0, U)]),
    ("percent", &[("value", G, 0.0, 100.1)]),
    ("percent_bytes", &[("value", G, 0.0, 100.1)]),
    ("percent_inodes", &[("value", G, 0.0, 100.1)]),
    ("ping", &[("value", G, 0.0, 65535.0)]),
    ("ping_droprate", &[("value", G, 0.0, 1.0)]),
    ("ping_stddev", &[("value", G, 0.0, 65535.0)]),
    ("power", &[("value", G, U, U)]),
    ("pressure", &[("value", G, 0.0, U)]),
    ("protocol_counter", &[("value", D, 0.0, U)]),
    ("ps_code", &[("value", G, 0.0, 9223372036854775807.0)]),
    ("ps_count", &[("processes", G, 0.0, 1000000.0), ("threads", G, 0.0, 1000000.0)]),
    ("ps_cputime", &[("user", D, 0.0, U), ("syst", D, 0.0, U)]),
    ("ps_data", &[("value", G, 0.0, 9223372036854775807.0)]),
    ("ps_disk_octets", &[("read", D, 0.0, U), ("write", D, 0.0, U)]),
    ("ps_disk_ops", &[("read", D, 0.0, U), ("write", D, 0.0, U)]),
    ("ps_pagefaults", &[("minflt", D, 0.0, U), ("majflt", D, 0.0, U)]),
    ("ps_rss", &[("value", G, 0.0, 9223372036854775807.0)]),
    ("ps_stacksize", &[("value", G, 0.0, 9223372036854775807.0)]),
    ("ps_state", &[("value", G, 0.0, 65535.0)]),
    ("ps_vm", &[("value", G, 0.0, 9223372036854775807.0)]),
    ("queue_length", &[("value", G, 0.0, U)]),
    ("records", &[("value", G, 0.0, U)]),
    ("requests", &[("value", G, 0.0, U)]),
    ("response_code", &[("value", G, 0.0, U)]),
    ("response_time", &[("value", G, 0.0, U)]),
    ("signal_power", &[("value", G, U, 0.0)]),
    ("snr", &[("value", G, 0.0, U)]),
    ("spl", &[("value", G, U, U)]),
    ("swap", &[("value", G, 0.0, 1099511627776.0)]),
    ("swap_io", &[("value", D, 0.0, U)]),
    ("tcp_connections", &[("value", G, 0.0, 4294967295.0)]),
    ("tdp", &[("value", G, U, U)]),
    ("temperature", &[("value", G, U, U)]),
    ("threads", &[("value", G, 0.0, U)]),
    ("time_dispersion", &[("value", G, -1000000.0, 1000000.0)]),
    ("time_offset", &[("value", G, -1000000.0, 1000000.0)]),
    ("timeleft", &[("value", G, 0.0, U)]),
    ("timestamp", &[("value", G, 0.0, 18446744073709551615.0)]),
    ("total_bytes", &[("value", D, 0.0, U)]),
    ("total_connections", &[("value", D, 0.0, U)]),
    ("total_events", &[("value", D, 0.0, U)]),
    ("total_objects", &[("value", D, 0.0, U)]),
    ("total_operations", &[("value", D, 0.0, U)]),
    ("total_requests", &[("value", D, 0.0, U)]),
    ("total_sessions", &[("value", D, 0.0, U)]),
    ("total_threads", &[("value", D, 0.0, U)]),
    ("total_time_in_ms", &[("value", D, 0.0, U)]),
    ("total_values", &[("value", D, 0.0, U)]),
    ("uptime", &[("value", G, 0.0, 4294967295.0)]),
    ("users", &[("value", G, 0.0, 65535.0)]),
    ("vcpu", &[("value", G, 0.0, U)]),
    ("virt_cpu_total", &[("value", D, 0.0, U)]),
    ("vmpage_action", &[("value", D, 0.0, U)]),
    ("vmpage_faults", &[("minflt", D, 0.0, U), ("majflt", D, 0.0, U)]),
    ("vmpage_io", &[("in", D, 0.0, U), ("out", D, 0.0, U)]),
    ("vmpage_number", &[("value", G, 0.0, 4294967295.0)]),
    ("voltage", &[("value", G, U, U)]),
];

#[cfg(test)]
mod tests {
    use super::*;

    const SYSTEM_TYPES_DB: &str = "/usr/share/collectd/types.db";

    #[test]
    fn builtin_has_the_types_the_brief_names() {
        let db = TypesDb::builtin();
        for name in [
            "gauge",
            "derive",
            "counter",
            "absolute",
            "load",
            "memory",
            "cpu",
            "df_complex",
            "if_octets",
            "if_packets",
            "if_errors",
            "disk_octets",
            "disk_ops",
            "ps_state",
            "users",
            "uptime",
            "percent",
            "bytes",
            "count",
            "temperature",
        ] {
            assert!(db.get(name).is_some(), "{name} missing");
        }
        assert_eq!(db.len(), BUILTIN.len(), "a type is listed twice");
    }

    #[test]
    fn builtin_table_matches_the_system_types_db() {
        let Ok(text) = std::fs::read_to_string(SYSTEM_TYPES_DB) else {
            eprintln!("skipped: {SYSTEM_TYPES_DB} is not installed (Debian package collectd-core)");
            return;
        };
        let mut system = TypesDb::default();
        let warnings = system.parse(&text);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(system.len() > 300, "{} types", system.len());
        for set in TypesDb::builtin().iter() {
            let theirs = system.get(&set.name).unwrap_or_else(|| panic!("{} is not in {SYSTEM_TYPES_DB}", set.name));
            assert_eq!(**theirs, **set, "{}", set.name);
        }
    }

    #[test]
    fn parses_like_collectd() {
        let mut db = TypesDb::default();
        let warnings = db.parse(
            "# comment\n\
             \n\
             lonely\n\
             a\tvalue:gauge:u:U\r\n\
             b  x:DERIVE:-5.5:1e3, y:COUNTER:0:U,\n\
             bad  v:GAUGE:0\n\
             short v:G:0:U\n\
             kind  value:FLOAT:0:U\n\
             a  value:ABSOLUTE:0:10\n",
        );
        let messages: Vec<usize> = warnings.iter().map(|w| w.line).collect();
        assert_eq!(messages, [6, 7, 8]);
        // Redefinition replaces.
        let a = db.get("a").unwrap();
        assert_eq!(a.sources[0].ds_type, DsType::Absolute);
        assert_eq!(a.sources[0].max, 10.0);
        let b = db.get("b").unwrap();
        assert_eq!(b.sources.len(), 2);
        assert_eq!((b.sources[0].min, b.sources[0].max), (-5.5, 1000.0));
        assert_eq!(b.sources[1].name, "y");
        assert!(b.sources[1].max.is_nan());
        assert!(db.get("lonely").is_none());
        assert_eq!(db.len(), 2);
    }

    #[test]
    fn atof_reads_a_prefix() {
        assert_eq!(atof("12abc"), 12.0);
        assert_eq!(atof("  -3.5e2x"), -350.0);
        assert_eq!(atof("1e"), 1.0);
        assert_eq!(atof(".5"), 0.5);
        assert_eq!(atof("x"), 0.0);
        assert_eq!(atof("-inf"), f64::NEG_INFINITY);
        assert_eq!(atof("18446744073709551615"), 18446744073709551615.0);
    }

    #[test]
    fn load_reports_missing_and_empty_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.db");
        assert!(matches!(TypesDb::load(std::slice::from_ref(&missing)), Err(TypesDbError::Read { .. })));
        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, "# nothing\n").unwrap();
        assert!(matches!(TypesDb::load(&[empty]), Err(TypesDbError::Empty { .. })));
        let good = dir.path().join("good.db");
        std::fs::write(&good, "mine value:GAUGE:0:U\n").unwrap();
        let (db, warnings) = TypesDb::load(&[good]).unwrap();
        assert!(db.get("mine").is_some() && warnings.is_empty());
    }
}
