//! Selections by name (host, category, stat, specific; plugin, type, instances) looked up in
//! an index [`Snapshot`] and turned into [`Graph`]s of the kinds the names call for.
//!
//! Names select files only by lookup in the index: no path is ever built from a name.
//! A selection that matches nothing is a [`SelectError::NotFound`] listing what does
//! exist at that level (hosts, categories, stats, specifics, plugins, types).

pub mod tree;

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::graph::style::{GraphConfig, StyleKey};
use crate::graph::{Combine, Graph, Kind, Series, Source};
use crate::index::{ModuleTree, RrdFile, Snapshot, Stat};

/// Why a selection could not be made into graphs.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    /// A name is not in the index.
    #[error("{what} not found{}", nearby(available))]
    NotFound {
        /// What was looked for and where, e.g. `category "x" on host h1 (any)`.
        what: String,
        /// What exists at that level.
        available: Vec<String>,
    },
    /// The request is contradictory or empty.
    #[error("{0}")]
    Invalid(String),
    /// A file's data sources could not be read.
    #[error("cannot read the data sources of {file}: {message}")]
    DataSources {
        /// The file.
        file: String,
        /// Why.
        message: String,
    },
}

fn nearby(available: &[String]) -> String {
    if available.is_empty() {
        "; there is nothing at that level".into()
    } else {
        format!("; available: {}", available.join(", "))
    }
}

/// How to draw the selected series: the one list of draw modes of the command line
/// (`--mode`) and the web interface (`mode=`).
///
/// ```
/// use collectd_rrd::select::Mode;
///
/// assert_eq!("stack".parse::<Mode>().unwrap(), Mode::Stack);
/// assert_eq!(Mode::Stack.name(), "stacked");
/// assert_eq!("average".parse::<Mode>().unwrap().name(), "avg");
/// assert!("pie".parse::<Mode>().unwrap_err().to_string().contains("auto, band, lines, stacked"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// What the names call for: a stat alone as a band, a stat with specifics as a stack
    /// with its base as the total, a single-DS file as a band, otherwise lines.
    #[default]
    Auto,
    /// Min–max band and average line per series.
    Band,
    /// One line per series.
    Lines,
    /// The series stacked.
    Stack,
    /// Series that differ only by host summed into one.
    Sum,
    /// Series that differ only by host averaged into one.
    Average,
    /// The minimum across hosts.
    Min,
    /// The maximum across hosts.
    Max,
}

impl Mode {
    /// Every mode, in the order they are offered.
    pub const ALL: [Mode; 8] =
        [Mode::Auto, Mode::Band, Mode::Lines, Mode::Stack, Mode::Sum, Mode::Average, Mode::Min, Mode::Max];

    /// The name the command line and URLs use (`stack` and `average` are read too).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Band => "band",
            Mode::Lines => "lines",
            Mode::Stack => "stacked",
            Mode::Sum => "sum",
            Mode::Average => "avg",
            Mode::Min => "min",
            Mode::Max => "max",
        }
    }
}

/// A draw mode that is not one of [`Mode::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a mode (auto, band, lines, stacked, sum, avg, min, max)")]
pub struct ModeError(pub String);

impl std::str::FromStr for Mode {
    type Err = ModeError;
    fn from_str(s: &str) -> Result<Self, ModeError> {
        match s {
            "stack" => Ok(Mode::Stack),
            "average" => Ok(Mode::Average),
            _ => Mode::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| ModeError(s.to_owned())),
        }
    }
}

/// A selection of ordinary plugin files. `None` instances select every instance
/// (and the files without one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginSelection {
    /// The plugin, e.g. `load`, `cpu`, `interface`.
    pub plugin: String,
    /// The plugin instance; `None`: all.
    pub plugin_instance: Option<String>,
    /// The type, e.g. `load`, `if_octets`.
    pub type_: String,
    /// The type instance; `None`: all.
    pub type_instance: Option<String>,
}

/// What to graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Hosts (at least one).
    pub hosts: Vec<String>,
    /// The original module's plugin instance (`any-INSTANCE`); `None`: `any`.
    pub module_instance: Option<String>,
    /// Categories of the original module.
    pub categories: Vec<String>,
    /// Stats; empty: every stat of the categories, one graph each.
    pub stats: Vec<String>,
    /// Specifics to stack; empty: all the stat has.
    pub specifics: Vec<String>,
    /// Ordinary plugin files.
    pub plugins: Vec<PluginSelection>,
    /// How to draw.
    pub mode: Mode,
}

/// Size, range, format and rrdcached settings applied to every graph made.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphOptions {
    /// Start (at-style).
    pub start: String,
    /// End (at-style).
    pub end: String,
    /// Plot width.
    pub width: u32,
    /// Plot height.
    pub height: u32,
    /// Format.
    pub format: crate::graph::Format,
    /// rrdcached address.
    pub daemon: Option<String>,
    /// Per-type and per-category overrides ([`GraphConfig`]); `None`: none at all (not even
    /// the embedded defaults).
    pub config: Option<Arc<GraphConfig>>,
}

impl Default for GraphOptions {
    fn default() -> Self {
        let g = Graph::new(Kind::Lines, Vec::new());
        GraphOptions {
            start: g.start,
            end: g.end,
            width: g.width,
            height: g.height,
            format: g.format,
            daemon: None,
            config: None,
        }
    }
}

impl GraphOptions {
    fn apply(&self, g: &mut Graph) {
        g.start = self.start.clone();
        g.end = self.end.clone();
        g.width = self.width;
        g.height = self.height;
        g.format = self.format;
        g.daemon = self.daemon.clone();
    }
}

/// A looked-up module stat on one host.
#[derive(Debug, Clone)]
struct StatItem {
    host: String,
    category: String,
    stat_name: String,
    stat: Stat,
    specifics: Vec<(String, Arc<RrdFile>)>,
}

/// A series with the names it came from, for labels and titles.
#[derive(Debug, Clone)]
struct Named {
    /// (component, value) from the most general to the most specific.
    parts: Vec<(&'static str, String)>,
    source: Source,
}

/// Reads a file's data source names; the index's header reader, with `rrdtool info` as a
/// possible fallback, is the usual implementation.
pub type DsLookup<'a> = dyn Fn(&RrdFile) -> Result<Vec<String>, crate::DsError> + 'a;

/// The data source names of `file` through `ds_of`; a file without any is an error too.
pub fn ds_names(file: &RrdFile, ds_of: &DsLookup) -> Result<Vec<String>, SelectError> {
    let names = ds_of(file)
        .map_err(|e| SelectError::DataSources { file: file.path.display().to_string(), message: e.to_string() })?;
    if names.is_empty() {
        return Err(SelectError::DataSources {
            file: file.path.display().to_string(),
            message: "no data sources".into(),
        });
    }
    Ok(names)
}

fn module_tree<'s>(snap: &'s Snapshot, host: &str, instance: Option<&str>) -> Result<&'s ModuleTree, SelectError> {
    let h = snap.host(host).ok_or_else(|| SelectError::NotFound {
        what: format!("host {host:?}"),
        available: snap.hosts.keys().cloned().collect(),
    })?;
    snap.module(host, instance).ok_or_else(|| SelectError::NotFound {
        what: format!(
            "original module's directory {:?} on host {host:?}",
            crate::naming::join_instance(crate::naming::MODULE_PLUGIN, instance)
        ),
        available: h.plugins.values().filter(|p| p.module.is_some()).map(|p| p.dir_name.clone()).collect(),
    })
}

fn lookup_stats(snap: &Snapshot, req: &Request) -> Result<Vec<StatItem>, SelectError> {
    let mut items = Vec::new();
    let inst = req.module_instance.as_deref();
    let dir = crate::naming::join_instance(crate::naming::MODULE_PLUGIN, inst);
    for host in &req.hosts {
        if req.categories.is_empty() {
            break;
        }
        let tree = module_tree(snap, host, inst)?;
        for cat in &req.categories {
            let category = tree.categories.get(cat).ok_or_else(|| SelectError::NotFound {
                what: format!("category {cat:?} on host {host:?} ({dir})"),
                available: tree.categories.keys().cloned().collect(),
            })?;
            let stat_names: Vec<String> =
                if req.stats.is_empty() { category.stats.keys().cloned().collect() } else { req.stats.clone() };
            for stat_name in stat_names {
                let stat = category.stats.get(&stat_name).ok_or_else(|| SelectError::NotFound {
                    what: format!("stat {stat_name:?} in category {cat:?} on host {host:?} ({dir})"),
                    available: category.stats.keys().cloned().collect(),
                })?;
                let specifics = if req.specifics.is_empty() {
                    stat.specifics.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
                } else {
                    let mut out = Vec::new();
                    for sp in &req.specifics {
                        let f = stat.specifics.get(sp).ok_or_else(|| SelectError::NotFound {
                            what: format!(
                                "specific {sp:?} of stat {stat_name:?} in category {cat:?} on host {host:?} ({dir})"
                            ),
                            available: stat.specifics.keys().cloned().collect(),
                        })?;
                        out.push((sp.clone(), f.clone()));
                    }
                    out
                };
                items.push(StatItem {
                    host: host.clone(),
                    category: cat.clone(),
                    stat_name,
                    stat: stat.clone(),
                    specifics,
                });
            }
        }
    }
    Ok(items)
}

fn lookup_plugins(snap: &Snapshot, req: &Request, ds_of: &DsLookup) -> Result<Vec<Named>, SelectError> {
    let mut out = Vec::new();
    for sel in &req.plugins {
        for host in &req.hosts {
            let h = snap.host(host).ok_or_else(|| SelectError::NotFound {
                what: format!("host {host:?}"),
                available: snap.hosts.keys().cloned().collect(),
            })?;
            let dirs: Vec<_> = h
                .plugins
                .values()
                .filter(|p| {
                    p.plugin == sel.plugin && (sel.plugin_instance.is_none() || p.instance == sel.plugin_instance)
                })
                .collect();
            if dirs.is_empty() {
                return Err(SelectError::NotFound {
                    what: format!(
                        "plugin directory {:?} on host {host:?}",
                        crate::naming::join_instance(&sel.plugin, sel.plugin_instance.as_deref())
                    ),
                    available: h.plugins.keys().cloned().collect(),
                });
            }
            let mut found = false;
            for dir in &dirs {
                for file in dir.files.values().filter(|f| {
                    f.id.type_ == sel.type_ && (sel.type_instance.is_none() || f.id.type_instance == sel.type_instance)
                }) {
                    found = true;
                    for ds in ds_names(file, ds_of)? {
                        out.push(Named {
                            parts: vec![
                                ("host", host.clone()),
                                ("plugin", dir.dir_name.clone()),
                                (
                                    "type",
                                    crate::naming::join_instance(&file.id.type_, file.id.type_instance.as_deref()),
                                ),
                                ("ds", ds.clone()),
                            ],
                            source: Source { file: file.path.clone(), ds },
                        });
                    }
                }
            }
            if !found {
                return Err(SelectError::NotFound {
                    what: format!(
                        "type {:?} under plugin {:?} on host {host:?}",
                        crate::naming::join_instance(&sel.type_, sel.type_instance.as_deref()),
                        crate::naming::join_instance(&sel.plugin, sel.plugin_instance.as_deref())
                    ),
                    available: dirs
                        .iter()
                        .flat_map(|d| d.files.keys().map(move |f| format!("{}/{f}", d.dir_name)))
                        .collect(),
                });
            }
        }
    }
    Ok(out)
}

fn first_ds(file: &RrdFile, ds_of: &DsLookup) -> Result<String, SelectError> {
    let names = ds_names(file, ds_of)?;
    Ok(if names.iter().any(|n| n == "value") { "value".to_owned() } else { names[0].clone() })
}

/// Labels from the varying parts, title from the constant ones.
fn label_and_title(named: &[Named]) -> (Vec<String>, String) {
    let parts: Vec<Vec<&str>> = named.iter().map(|n| n.parts.iter().map(|p| p.1.as_str()).collect()).collect();
    let most_specific = parts.iter().map(Vec::len).max().unwrap_or(1).saturating_sub(1);
    labels_and_title(&parts, most_specific)
}

/// Labels and a title for series named by parts from the most general to the most
/// specific (host, plugin, type, data source, ...): each label holds the parts that vary
/// between the series, the title the parts they share (joined by ` / `). Empty parts are
/// left out. When nothing varies (one series), the label is the parts from
/// `single_from` on, and the title keeps every part.
///
/// ```
/// use collectd_rrd::select::labels_and_title;
///
/// let parts = [vec!["web1", "cpu-0", "cpu-user", ""], vec!["web2", "cpu-0", "cpu-user", ""]];
/// assert_eq!(labels_and_title(&parts, 2), (vec!["web1".to_owned(), "web2".to_owned()], "cpu-0 / cpu-user".to_owned()));
/// let one = [vec!["web1", "load", "load", "shortterm"]];
/// assert_eq!(labels_and_title(&one, 2), (vec!["load shortterm".to_owned()], "web1 / load / load / shortterm".to_owned()));
/// ```
pub fn labels_and_title<S: AsRef<str>>(parts: &[Vec<S>], single_from: usize) -> (Vec<String>, String) {
    fn part<S: AsRef<str>>(p: &[S], i: usize) -> &str {
        p.get(i).map_or("", |s| s.as_ref())
    }
    let n_parts = parts.iter().map(Vec::len).max().unwrap_or(0);
    let varying: Vec<bool> =
        (0..n_parts).map(|i| parts.iter().map(|p| part(p, i)).collect::<BTreeSet<_>>().len() > 1).collect();
    let join = |p: &[S], keep: &dyn Fn(usize) -> bool, sep: &str| {
        (0..p.len()).filter(|&i| keep(i) && !part(p, i).is_empty()).map(|i| part(p, i)).collect::<Vec<_>>().join(sep)
    };
    let single = !varying.iter().any(|v| *v);
    let labels = parts
        .iter()
        .map(|p| if single { join(p, &|i| i >= single_from, " ") } else { join(p, &|i| varying[i], " ") })
        .collect();
    let title = parts.first().map(|p| join(p, &|i| !varying[i], " / ")).unwrap_or_default();
    (labels, title)
}

fn plain_series(named: &[Named]) -> (Vec<Series>, String) {
    let (labels, title) = label_and_title(named);
    let series =
        named.iter().zip(labels).map(|(n, l)| Series::single(l, n.source.file.clone(), n.source.ds.clone())).collect();
    (series, title)
}

/// Groups series that differ only by host into one combined series each.
fn aggregate(named: &[Named], combine: Combine) -> (Vec<Series>, String) {
    let without_host: Vec<Named> = named
        .iter()
        .map(|n| Named { parts: n.parts.iter().filter(|p| p.0 != "host").cloned().collect(), source: n.source.clone() })
        .collect();
    let (labels, mut title) = label_and_title(&without_host);
    let mut groups: Vec<(String, Vec<Source>)> = Vec::new();
    for (n, label) in without_host.iter().zip(labels) {
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, v)) => v.push(n.source.clone()),
            None => groups.push((label, vec![n.source.clone()])),
        }
    }
    let hosts: BTreeSet<&str> =
        named.iter().filter_map(|n| n.parts.iter().find(|p| p.0 == "host").map(|p| p.1.as_str())).collect();
    let how = match combine {
        Combine::Sum => "sum",
        Combine::Average => "average",
        Combine::Min => "minimum",
        Combine::Max => "maximum",
    };
    title = format!("{title} ({how} of {} hosts)", hosts.len());
    let series = groups.into_iter().map(|(label, sources)| Series::combined(label, sources, combine)).collect();
    (series, title)
}

fn stat_named(item: &StatItem, file: &Arc<RrdFile>, specific: Option<&str>, ds: String) -> Named {
    let mut parts =
        vec![("host", item.host.clone()), ("category", item.category.clone()), ("stat", item.stat_name.clone())];
    if let Some(sp) = specific {
        parts.push(("specific", sp.to_owned()));
    }
    Named { parts, source: Source { file: file.path.clone(), ds } }
}

/// The graph of one stat with its specifics stacked under its base (the kind the
/// original module's names call for).
fn stat_graph(item: &StatItem, mode: Mode, ds_of: &DsLookup) -> Result<Graph, SelectError> {
    let title = format!("{} / {} on {}", item.category, item.stat_name, item.host);
    let base = match &item.stat.base {
        Some(f) => Some(Series::single(format!("{} (sum)", item.stat_name), f.path.clone(), first_ds(f, ds_of)?)),
        None => None,
    };
    let stack = !item.specifics.is_empty() && mode != Mode::Band;
    let mut g = if stack {
        let mut parts = Vec::new();
        for (sp, f) in &item.specifics {
            parts.push(Series::single(sp.clone(), f.path.clone(), first_ds(f, ds_of)?));
        }
        Graph::new(Kind::Stack { remainder: base.is_some(), total: base }, parts)
    } else {
        let Some(base) = base else {
            return Err(SelectError::Invalid(format!(
                "stat {:?} of category {:?} on host {:?} has no base series",
                item.stat_name, item.category, item.host
            )));
        };
        let mut b = base;
        b.label = item.stat_name.clone();
        Graph::new(Kind::Band, vec![b])
    };
    g.title = title;
    g.vertical_label = item.stat_name.clone();
    Ok(g)
}

/// Turns a request into graphs. With categories but no stats, one graph per stat.
pub fn plan(
    snap: &Snapshot,
    req: &Request,
    options: &GraphOptions,
    ds_of: &DsLookup,
) -> Result<Vec<Graph>, SelectError> {
    if req.hosts.is_empty() {
        return Err(SelectError::NotFound {
            what: "host (none given)".into(),
            available: snap.hosts.keys().cloned().collect(),
        });
    }
    if req.categories.is_empty() && req.plugins.is_empty() {
        return Err(SelectError::Invalid(
            "nothing selected: give a category (with --category) or a plugin and type".into(),
        ));
    }
    if req.categories.is_empty() && (!req.stats.is_empty() || !req.specifics.is_empty()) {
        return Err(SelectError::Invalid("a stat or specific needs a category".into()));
    }
    let stats = lookup_stats(snap, req)?;
    let plugin_series = lookup_plugins(snap, req, ds_of)?;

    // Partition: one graph per (category, stat) when no stat was named; else one graph.
    let mut groups: Vec<(Vec<StatItem>, Vec<Named>)> = Vec::new();
    if req.stats.is_empty() && !stats.is_empty() {
        let keys: BTreeSet<(String, String)> =
            stats.iter().map(|s| (s.category.clone(), s.stat_name.clone())).collect();
        for key in keys {
            let items = stats.iter().filter(|s| (s.category.clone(), s.stat_name.clone()) == key).cloned().collect();
            groups.push((items, Vec::new()));
        }
        if !plugin_series.is_empty() {
            groups.push((Vec::new(), plugin_series));
        }
    } else {
        groups.push((stats, plugin_series));
    }

    let mut graphs = Vec::new();
    for (items, plugins) in groups {
        let mut g = build(&items, &plugins, req.mode, ds_of)?;
        options.apply(&mut g);
        let categories: BTreeSet<&str> = items.iter().map(|i| i.category.as_str()).collect();
        let types: BTreeSet<&str> = req.plugins.iter().map(|p| p.type_.as_str()).collect();
        let key = match (categories.len(), plugins.is_empty(), types.len()) {
            (1, true, _) => categories.first().map(|c| StyleKey::Category(c)),
            (0, false, 1) => types.first().map(|t| StyleKey::Type(t)),
            _ => None,
        };
        if let (Some(config), Some(key)) = (&options.config, key)
            && let Some(style) = config.style(key)
        {
            g.apply_style(style, req.mode == Mode::Auto);
        }
        graphs.push(g);
    }
    Ok(graphs)
}

fn build(items: &[StatItem], plugins: &[Named], mode: Mode, ds_of: &DsLookup) -> Result<Graph, SelectError> {
    // One stat alone: the kinds of the original module.
    if let ([item], []) = (items, plugins)
        && matches!(mode, Mode::Auto | Mode::Band | Mode::Stack)
    {
        return stat_graph(item, mode, ds_of);
    }
    // Otherwise: every selected series as a named series. A stat contributes its
    // specifics when they were asked for by name... or its base.
    let mut named = Vec::new();
    for item in items {
        if !item.specifics.is_empty() && items.len() == 1 {
            for (sp, f) in &item.specifics {
                named.push(stat_named(item, f, Some(sp), first_ds(f, ds_of)?));
            }
        } else if let Some(base) = &item.stat.base {
            named.push(stat_named(item, base, None, first_ds(base, ds_of)?));
        } else {
            for (sp, f) in &item.specifics {
                named.push(stat_named(item, f, Some(sp), first_ds(f, ds_of)?));
            }
        }
    }
    named.extend(plugins.iter().cloned());
    if named.is_empty() {
        return Err(SelectError::Invalid("the selection has no series".into()));
    }
    let combine = match mode {
        Mode::Sum => Some(Combine::Sum),
        Mode::Average => Some(Combine::Average),
        Mode::Min => Some(Combine::Min),
        Mode::Max => Some(Combine::Max),
        _ => None,
    };
    let (series, title) = match combine {
        Some(c) => aggregate(&named, c),
        None => plain_series(&named),
    };
    let kind = match mode {
        Mode::Band => Kind::Band,
        Mode::Stack => Kind::Stack { total: None, remainder: false },
        Mode::Auto if series.len() == 1 => Kind::Band,
        _ => Kind::Lines,
    };
    let vertical: BTreeSet<&str> = named
        .iter()
        .filter_map(|n| n.parts.iter().find(|p| p.0 == "stat" || p.0 == "ds").map(|p| p.1.as_str()))
        .collect();
    let mut g = Graph::new(kind, series);
    g.title = title;
    if vertical.len() == 1 {
        g.vertical_label = vertical.into_iter().next().unwrap_or_default().to_owned();
    }
    if items.iter().map(|i| &i.host).collect::<BTreeSet<_>>().len() > 1 {
        g.missing_as_gap = true;
    }
    Ok(g)
}

/// A file name for one of several graphs written to `template`: `{}` in it is replaced by
/// a name made from the graph's title (`[A-Za-z0-9_]` only); without `{}`, the name is
/// inserted before the extension.
pub fn output_name(template: &str, graph: &Graph) -> String {
    let mut slug = String::new();
    for c in graph.title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('_') {
            slug.push('_');
        }
    }
    let slug = slug.trim_matches('_');
    if template.contains("{}") {
        return template.replace("{}", slug);
    }
    let name_start = template.rfind('/').map_or(0, |i| i + 1);
    match template[name_start..].rfind('.') {
        Some(dot) if dot > 0 => {
            let dot = name_start + dot;
            format!("{}-{slug}{}", &template[..dot], &template[dot..])
        }
        _ => format!("{template}-{slug}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Index;

    #[test]
    fn output_names() {
        let mut g = Graph::new(Kind::Band, Vec::new());
        g.title = "coin_stats / flips on h1".into();
        assert_eq!(output_name("out/x.png", &g), "out/x-coin_stats_flips_on_h1.png");
        assert_eq!(output_name("g-{}.svg", &g), "g-coin_stats_flips_on_h1.svg");
        assert_eq!(output_name("a.d/x", &g), "a.d/x-coin_stats_flips_on_h1");
    }
    use std::fs;

    fn fixture() -> (tempfile::TempDir, Arc<Snapshot>) {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "h1/any/gauge-coin_stats-flips.rrd",
            "h1/any/gauge-coin_stats-heads-flips.rrd",
            "h1/any/gauge-coin_stats-tails-flips.rrd",
            "h1/any/gauge-coin_stats-misses.rrd",
            "h2/any/gauge-coin_stats-flips.rrd",
            "h1/load/load.rrd",
        ] {
            let p = dir.path().join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, b"").unwrap();
        }
        let snap = Index::open(dir.path()).unwrap().snapshot();
        (dir, snap)
    }

    fn ds(f: &RrdFile) -> Result<Vec<String>, crate::DsError> {
        Ok(if f.id.type_ == "load" {
            vec!["shortterm".into(), "midterm".into(), "longterm".into()]
        } else {
            vec!["value".into()]
        })
    }

    fn req(hosts: &[&str], cats: &[&str], stats: &[&str]) -> Request {
        Request {
            hosts: hosts.iter().map(|s| s.to_string()).collect(),
            categories: cats.iter().map(|s| s.to_string()).collect(),
            stats: stats.iter().map(|s| s.to_string()).collect(),
            ..Request::default()
        }
    }

    #[test]
    fn kinds_from_names() {
        let (_d, snap) = fixture();
        let o = GraphOptions::default();
        let g = plan(&snap, &req(&["h1"], &["coin_stats"], &["flips"]), &o, &ds).unwrap();
        assert_eq!(g.len(), 1);
        assert!(matches!(&g[0].kind, Kind::Stack { total: Some(_), remainder: true }));
        assert_eq!(g[0].series.len(), 2);
        let g = plan(&snap, &req(&["h1"], &["coin_stats"], &["misses"]), &o, &ds).unwrap();
        assert_eq!(g[0].kind, Kind::Band);
        // A category: one graph per stat.
        let g = plan(&snap, &req(&["h1"], &["coin_stats"], &[]), &o, &ds).unwrap();
        assert_eq!(g.len(), 2);
        // Across hosts: lines, or summed.
        let g = plan(&snap, &req(&["h1", "h2"], &["coin_stats"], &["flips"]), &o, &ds).unwrap();
        assert_eq!(g[0].kind, Kind::Lines);
        assert_eq!(g[0].series.len(), 2);
        let mut r = req(&["h1", "h2"], &["coin_stats"], &["flips"]);
        r.mode = Mode::Sum;
        let g = plan(&snap, &r, &o, &ds).unwrap();
        assert_eq!(g[0].series.len(), 1);
        assert_eq!(g[0].series[0].sources.len(), 2);
        // An ordinary plugin with several DSs: one line each.
        let mut r = req(&["h1"], &[], &[]);
        r.plugins.push(PluginSelection { plugin: "load".into(), type_: "load".into(), ..Default::default() });
        let g = plan(&snap, &r, &o, &ds).unwrap();
        assert_eq!(g[0].kind, Kind::Lines);
        let labels: Vec<_> = g[0].series.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["shortterm", "midterm", "longterm"]);
    }

    #[test]
    fn not_found_lists_what_exists() {
        let (_d, snap) = fixture();
        let o = GraphOptions::default();
        let e = plan(&snap, &req(&["h9"], &["coin_stats"], &[]), &o, &ds).unwrap_err();
        assert_eq!(e.to_string(), "host \"h9\" not found; available: h1, h2");
        let e = plan(&snap, &req(&["h1"], &["coins"], &[]), &o, &ds).unwrap_err();
        assert!(e.to_string().contains("available: coin_stats"), "{e}");
        let e = plan(&snap, &req(&["h1"], &["coin_stats"], &["x"]), &o, &ds).unwrap_err();
        assert!(e.to_string().contains("available: flips, misses"), "{e}");
        let mut r = req(&["h1"], &["coin_stats"], &["flips"]);
        r.specifics = vec!["edge".into()];
        let e = plan(&snap, &r, &o, &ds).unwrap_err();
        assert!(e.to_string().contains("available: heads, tails"), "{e}");
    }
}
