//! Where series come from: the RRD DataDir (the default, [`RrdSource`]) or a
//! Prometheus-compatible database ([`prometheus::PrometheusSource`]), behind one interface
//! ([`Source`]): the listing (hosts → plugins → types with their data sources, and the
//! original module's category / specific / stat) and the values of a series over a range
//! at a step.
//!
//! The names are the same whichever the source: a listed entry has the identifier the
//! RRD file has (`host/plugin[-pinst]/type[-tinst]`), so pages, graphs and selections
//! are written once.

pub mod prometheus;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::index::Index;
use crate::naming::{Identifier, Meaning};
use crate::rrdtool::{Pool, RrdtoolError};

/// Why a source could not list or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The database failed (the error names its URL and message).
    #[error(transparent)]
    Prometheus(#[from] prometheus::client::PrometheusError),
    /// rrdtool failed reading or writing a file.
    #[error(transparent)]
    Rrdtool(#[from] RrdtoolError),
    /// The DataDir could not be read.
    #[error(transparent)]
    Index(#[from] crate::index::IndexError),
    /// A series asked for is not in the source.
    #[error("{source_name}: no series {id} ({ds})")]
    NoSeries {
        /// The source ([`Source::describe`]).
        source_name: String,
        /// The identifier asked for.
        id: Box<Identifier>,
        /// The data source asked for.
        ds: String,
    },
    /// A temporary file could not be written.
    #[error("cannot write a temporary file: {0}")]
    Temp(#[source] std::io::Error),
}

/// One listed entry: what the RRD DataDir has as one file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// Its identifier.
    pub id: Identifier,
    /// Its data sources, in order.
    pub data_sources: Vec<String>,
    /// The original module's meaning, for `any/gauge-…` series.
    pub meaning: Option<Meaning>,
}

/// Every entry of a source, in identifier order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The entries, sorted by identifier.
    pub entries: Vec<Entry>,
}

impl Listing {
    /// A listing of `entries` (sorted here).
    pub fn new(mut entries: Vec<Entry>) -> Listing {
        entries.sort();
        entries.dedup_by(|a, b| a.id == b.id);
        Listing { entries }
    }

    /// The hosts, sorted.
    pub fn hosts(&self) -> Vec<&str> {
        let mut hosts: Vec<&str> = self.entries.iter().map(|e| e.id.host.as_str()).collect();
        hosts.dedup();
        hosts
    }

    /// The entry of `id`.
    pub fn get(&self, id: &Identifier) -> Option<&Entry> {
        self.entries.binary_search_by(|e| e.id.cmp(id)).ok().map(|i| &self.entries[i])
    }

    /// The listing as `collectd-view ls` prints it: hosts, plugin directories, and under
    /// them the original module's categories, stats and specifics, or the types with their
    /// data sources.
    ///
    /// ```
    /// use collectd_rrd::naming::{Identifier, module_meaning};
    /// use collectd_rrd::source::{Entry, Listing};
    ///
    /// let id = Identifier { host: "web1".into(), plugin: "any".into(), plugin_instance: None,
    ///                       type_: "gauge".into(), type_instance: Some("coin_stats-heads-flips".into()) };
    /// let meaning = module_meaning("any", "gauge", id.type_instance.as_deref());
    /// let listing = Listing::new(vec![Entry { id, data_sources: vec!["value".into()], meaning }]);
    /// assert_eq!(listing.render_tree(),
    ///     "web1\n  any  (original module)\n    category coin_stats\n      stat flips  (1 specific)\n        specific heads  gauge-coin_stats-heads-flips  [value]\n");
    /// ```
    pub fn render_tree(&self) -> String {
        // host → plugin directory → entries
        let mut tree: BTreeMap<&str, BTreeMap<String, Vec<&Entry>>> = BTreeMap::new();
        for e in &self.entries {
            let dir = crate::naming::join_instance(&e.id.plugin, e.id.plugin_instance.as_deref());
            tree.entry(&e.id.host).or_default().entry(dir).or_default().push(e);
        }
        let mut out = String::new();
        for (host, dirs) in tree {
            let _ = writeln!(out, "{host}");
            for (dir, entries) in dirs {
                let file = |e: &Entry| crate::naming::join_instance(&e.id.type_, e.id.type_instance.as_deref());
                let ds = |e: &Entry| format!("[{}]", e.data_sources.join(", "));
                if entries.iter().any(|e| e.meaning.is_some()) {
                    let _ = writeln!(out, "  {dir}  (original module)");
                    // category → stat → (base, specifics)
                    type Stats<'a> = BTreeMap<&'a str, (Option<&'a Entry>, Vec<(&'a str, &'a Entry)>)>;
                    let mut cats: BTreeMap<&str, Stats> = BTreeMap::new();
                    for e in entries.iter().filter(|e| e.meaning.is_some()) {
                        let m = e.meaning.as_ref().expect("filtered");
                        let slot = cats.entry(m.category()).or_default().entry(m.stat()).or_default();
                        match m.specific() {
                            None => slot.0 = Some(e),
                            Some(s) => slot.1.push((s, e)),
                        }
                    }
                    for (cat, stats) in cats {
                        let _ = writeln!(out, "    category {cat}");
                        for (stat, (base, specifics)) in stats {
                            let n = specifics.len();
                            let _ = writeln!(out, "      stat {stat}  ({n} specific{})", if n == 1 { "" } else { "s" });
                            if let Some(b) = base {
                                let _ = writeln!(out, "        base  {}  {}", file(b), ds(b));
                            }
                            for (s, e) in specifics {
                                let _ = writeln!(out, "        specific {s}  {}  {}", file(e), ds(e));
                            }
                        }
                    }
                    for e in entries.iter().filter(|e| e.meaning.is_none()) {
                        let _ = writeln!(out, "    unparsed  {}  {}", file(e), ds(e));
                    }
                } else {
                    let first = &entries[0].id;
                    let inst = first.plugin_instance.as_deref().map(|i| format!(", instance {i}")).unwrap_or_default();
                    let _ = writeln!(out, "  {dir}  (plugin {}{inst})", first.plugin);
                    for e in entries {
                        let ti = e.id.type_instance.as_deref().map(|i| format!(", instance {i}")).unwrap_or_default();
                        let _ = writeln!(out, "    {}  (type {}{ti})  {}", file(e), e.id.type_, ds(e));
                    }
                }
            }
        }
        out
    }
}

/// A time range and the step to read it at, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first time (aligned down to the step by [`Window::new`]).
    pub start: i64,
    /// The last time.
    pub end: i64,
    /// Seconds between points.
    pub step: u64,
}

impl Window {
    /// The window from `start` to `end` at `step` seconds (at least 1), its start aligned
    /// down to a multiple of the step as rrdtool aligns its rows.
    pub fn new(start: i64, end: i64, step: u64) -> Window {
        let step = step.max(1);
        Window { start: start.div_euclid(step as i64) * step as i64, end: end.max(start), step }
    }

    /// The window of a graph `width` pixels wide: one point per pixel (at least
    /// `min_step` seconds apart), as rrdtool picks its resolution for a graph.
    ///
    /// ```
    /// use collectd_rrd::source::Window;
    /// assert_eq!(Window::for_width(0, 86_400, 800, 10).step, 108);
    /// assert_eq!(Window::for_width(0, 600, 800, 10).step, 10);
    /// ```
    pub fn for_width(start: i64, end: i64, width: u32, min_step: u64) -> Window {
        let span = (end - start).max(1) as u64;
        let step = span.div_ceil(u64::from(width.max(1))).max(min_step);
        Window::new(start, end, step)
    }
}

/// The values of one series over a [`Window`]: time and value (`None`: unknown).
pub type Points = Vec<(i64, Option<f64>)>;

/// A source of collectd's series.
pub trait Source: Send + Sync {
    /// Where the series come from, for messages: the DataDir or the database's URL.
    fn describe(&self) -> String;
    /// Every entry.
    fn list(&self) -> Result<Listing, SourceError>;
    /// The values of data source `ds` of `id` over `window` (as stored: rates for
    /// DERIVE and COUNTER data sources).
    fn read(&self, id: &Identifier, ds: &str, window: Window) -> Result<Points, SourceError>;
}

/// The RRD DataDir as a [`Source`]: the index for the listing, `rrdtool xport` for values.
#[derive(Debug, Clone)]
pub struct RrdSource {
    /// The DataDir's index.
    pub index: Arc<Index>,
    /// The rrdtool processes.
    pub pool: Arc<Pool>,
}

impl Source for RrdSource {
    fn describe(&self) -> String {
        self.index.data_dir().display().to_string()
    }

    fn list(&self) -> Result<Listing, SourceError> {
        let snap = self.index.refresh_if_stale()?;
        let lookup = crate::ds_lookup(&self.index, Some(&self.pool));
        let entries = snap
            .files()
            .map(|f| Entry {
                id: f.id.clone(),
                data_sources: lookup(f).unwrap_or_default(),
                meaning: f.meaning.clone(),
            })
            .collect();
        Ok(Listing::new(entries))
    }

    fn read(&self, id: &Identifier, ds: &str, window: Window) -> Result<Points, SourceError> {
        let snap = self.index.refresh_if_stale()?;
        let file = snap.find(id).ok_or_else(|| SourceError::NoSeries {
            source_name: self.describe(),
            id: Box::new(id.clone()),
            ds: ds.to_owned(),
        })?;
        let path = crate::graph::escape::field(&file.path.display().to_string());
        let ds_name = crate::graph::escape::field(ds);
        let args = vec![
            "xport".to_owned(),
            "--json".to_owned(),
            "--start".to_owned(),
            window.start.to_string(),
            "--end".to_owned(),
            window.end.to_string(),
            "--step".to_owned(),
            window.step.to_string(),
            format!("DEF:v={path}:{ds_name}:AVERAGE"),
            "XPORT:v:v".to_owned(),
        ];
        let reply = self.pool.run(&args)?;
        let x = crate::rrdtool::xport::parse(&reply.text()).map_err(RrdtoolError::from)?;
        Ok(x.rows.into_iter().map(|(t, v)| (t, v.first().copied().flatten())).collect())
    }
}
