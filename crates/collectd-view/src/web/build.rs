//! Targets into graphs: every name of a [`Target`] looked up in the index snapshot (never
//! joined into a path), the sources read from the files the index lists, and the graph
//! model filled in with the kind, labels and title the names call for.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use axum::http::StatusCode;

use super::Problem;
use super::params::{Mode, SeriesRef, Target, View};
use collectd_rrd::graph::style::{GraphConfig, StyleKey};
use collectd_rrd::graph::{Combine, Graph, Kind, Series, Source};
use collectd_rrd::index::{RrdFile, Snapshot};
use collectd_rrd::select::{self, DsLookup, GraphOptions, Request, SelectError};

/// A graph made from a target, with what the web layer needs beside it.
#[derive(Debug, Clone)]
pub struct Built {
    /// The graph (range and size from the view).
    pub graph: Graph,
    /// The RRD files it reads (for Last-Modified and cache keys).
    pub files: Vec<PathBuf>,
}

fn not_found(what: String, available: Vec<String>) -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "Not found", format!("{what} not found")).nearby_names(available)
}

impl From<SelectError> for Problem {
    fn from(e: SelectError) -> Self {
        match e {
            SelectError::NotFound { what, available } => not_found(what, available),
            SelectError::Invalid(m) => Problem::new(StatusCode::BAD_REQUEST, "Bad request", m),
            e @ SelectError::DataSources { .. } => {
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Unreadable file", e.to_string())
            }
        }
    }
}

/// Builds the graph of `target` drawn as `mode` over `view`.
pub fn build(
    snap: &Snapshot,
    target: &Target,
    mode: Mode,
    view: &View,
    daemon: Option<&str>,
    config: &Arc<GraphConfig>,
    ds_of: &DsLookup,
) -> Result<Built, Problem> {
    let mut graph = match target {
        Target::Stat { host, inst, cat, stat, specifics } => {
            let req = Request {
                hosts: vec![host.clone()],
                module_instance: inst.clone(),
                categories: vec![cat.clone()],
                stats: vec![stat.clone()],
                specifics: specifics.clone(),
                plugins: Vec::new(),
                mode: if mode == Mode::Band { Mode::Band } else { Mode::Auto },
            };
            let options = GraphOptions { config: Some(config.clone()), ..GraphOptions::default() };
            let mut graphs = select::plan(snap, &req, &options, ds_of)?;
            let mut g = graphs.pop().ok_or_else(|| not_found(format!("stat {stat:?}"), Vec::new()))?;
            if mode == Mode::Lines {
                if let Kind::Stack { total, .. } = &g.kind {
                    let total = total.clone();
                    g.series.extend(total);
                }
                g.kind = Kind::Lines;
            }
            g
        }
        Target::Plugin { host, dir, type_, ti } => {
            let mut g = plugin_graph(snap, host, dir, type_, ti.as_deref(), mode, ds_of)?;
            if let Some(style) = config.style(StyleKey::Type(type_)) {
                g.apply_style(style, mode == Mode::Auto);
            }
            g
        }
        Target::Combine { series } => combine_graph(snap, series, mode, ds_of)?,
    };
    graph.start = view.start.canonical();
    graph.end = view.end.canonical();
    graph.width = view.width;
    graph.height = view.height;
    graph.daemon = daemon.map(str::to_owned);
    graph.grid = super::web_grid();
    let mut files: Vec<PathBuf> = graph.series.iter().flat_map(|s| s.sources.iter().map(|s| s.file.clone())).collect();
    if let Kind::Stack { total: Some(t), .. } = &graph.kind {
        files.extend(t.sources.iter().map(|s| s.file.clone()));
    }
    files.sort();
    files.dedup();
    Ok(Built { graph, files })
}

fn ds_names(file: &RrdFile, ds_of: &DsLookup) -> Result<Vec<String>, Problem> {
    select::ds_names(file, ds_of)
        .map_err(|e| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Unreadable file", e.to_string()))
}

fn plugin_graph(
    snap: &Snapshot,
    host: &str,
    dir: &str,
    type_: &str,
    ti: Option<&str>,
    mode: Mode,
    ds_of: &DsLookup,
) -> Result<Graph, Problem> {
    let h = snap.host(host).ok_or_else(|| not_found(format!("host {host:?}"), snap.hosts.keys().cloned().collect()))?;
    let d = h.plugins.get(dir).ok_or_else(|| {
        not_found(format!("plugin directory {dir:?} on host {host:?}"), h.plugins.keys().cloned().collect())
    })?;
    let files: Vec<_> = d
        .files
        .values()
        .filter(|f| f.id.type_ == type_ && (ti.is_none() || f.id.type_instance.as_deref() == ti))
        .collect();
    if files.is_empty() {
        let what = match ti {
            Some(ti) => format!("type {type_:?} instance {ti:?} in {host}/{dir}"),
            None => format!("type {type_:?} in {host}/{dir}"),
        };
        return Err(not_found(what, d.files.keys().cloned().collect()));
    }
    let mut series = Vec::new();
    let many_files = files.len() > 1;
    for f in &files {
        let names = ds_names(f, ds_of)?;
        let many_ds = names.len() > 1;
        for ds in names {
            let inst = f.id.type_instance.clone().unwrap_or_else(|| f.id.type_.clone());
            let label = match (many_files, many_ds) {
                (true, true) => format!("{inst} {ds}"),
                (true, false) => inst,
                (false, true) => ds.clone(),
                (false, false) => ti.map(str::to_owned).unwrap_or(if ds == "value" { inst } else { ds.clone() }),
            };
            series.push(Series::single(label, f.path.clone(), ds));
        }
    }
    let kind = match mode {
        Mode::Stack => Kind::Stack { total: None, remainder: false },
        Mode::Lines => Kind::Lines,
        _ if series.len() == 1 => Kind::Band,
        _ => Kind::Lines,
    };
    let mut g = Graph::new(kind, series);
    g.title = match ti {
        Some(ti) => format!("{host} / {dir} / {type_}-{ti}"),
        None => format!("{host} / {dir} / {type_}"),
    };
    g.vertical_label = type_.to_owned();
    Ok(g)
}

/// How a file is named to a person: the original module's meaning, or `type[-instance]`.
pub fn display_name(file: &RrdFile) -> String {
    match &file.meaning {
        Some(m) => match m.specific() {
            Some(sp) => format!("{} {sp} {}", m.category(), m.stat()),
            None => format!("{} {}", m.category(), m.stat()),
        },
        None => collectd_rrd::naming::join_instance(&file.id.type_, file.id.type_instance.as_deref()),
    }
}

/// One resolved series of a combined graph.
struct Part {
    /// host, directory, name, data source (empty when the file has only one).
    parts: [String; 4],
    source: Source,
}

/// Looks up the series of a combined graph.
fn lookup_refs(snap: &Snapshot, refs: &[SeriesRef], ds_of: &DsLookup) -> Result<Vec<Part>, Problem> {
    let mut out = Vec::new();
    for r in refs {
        let h = snap
            .host(&r.host)
            .ok_or_else(|| not_found(format!("host {:?}", r.host), snap.hosts.keys().cloned().collect()))?;
        let d = h.plugins.get(&r.dir).ok_or_else(|| {
            not_found(format!("plugin directory {:?} on host {:?}", r.dir, r.host), h.plugins.keys().cloned().collect())
        })?;
        let f = d.files.get(&r.file).ok_or_else(|| {
            not_found(format!("file {:?} in {}/{}", r.file, r.host, r.dir), d.files.keys().cloned().collect())
        })?;
        let names = ds_names(f, ds_of)?;
        let chosen = match &r.ds {
            Some(ds) if names.contains(ds) => vec![ds.clone()],
            Some(ds) => return Err(not_found(format!("data source {ds:?} of {}", f.id), names)),
            None => names.clone(),
        };
        for ds in chosen {
            let shown_ds = if names.len() > 1 { ds.clone() } else { String::new() };
            out.push(Part {
                parts: [r.host.clone(), r.dir.clone(), display_name(f), shown_ds],
                source: Source { file: f.path.clone(), ds },
            });
        }
    }
    Ok(out)
}

/// Labels from the parts that vary between series; title from those that do not.
fn labels(parts: &[[String; 4]]) -> (Vec<String>, String) {
    let parts: Vec<Vec<&str>> = parts.iter().map(|p| p.iter().map(String::as_str).collect()).collect();
    select::labels_and_title(&parts, 2)
}

fn combine_graph(snap: &Snapshot, refs: &[SeriesRef], mode: Mode, ds_of: &DsLookup) -> Result<Graph, Problem> {
    if refs.is_empty() {
        return Err(Problem::new(StatusCode::BAD_REQUEST, "Bad request", "a combined graph needs at least one s"));
    }
    let parts = lookup_refs(snap, refs, ds_of)?;
    let combine = match mode {
        Mode::Sum => Some((Combine::Sum, "sum")),
        Mode::Average => Some((Combine::Average, "average")),
        Mode::Min => Some((Combine::Min, "minimum")),
        Mode::Max => Some((Combine::Max, "maximum")),
        _ => None,
    };
    let hosts: BTreeSet<&str> = parts.iter().map(|p| p.parts[0].as_str()).collect();
    let (series, title) = match combine {
        None => {
            let (labels, title) = labels(&parts.iter().map(|p| p.parts.clone()).collect::<Vec<_>>());
            let series: Vec<Series> = parts
                .iter()
                .zip(labels)
                .map(|(p, l)| Series::single(l, p.source.file.clone(), p.source.ds.clone()))
                .collect();
            (series, title)
        }
        Some((how, word)) => {
            // Series that differ only by host become one.
            let keyed: Vec<[String; 4]> = parts
                .iter()
                .map(|p| {
                    let mut k = p.parts.clone();
                    k[0] = String::new();
                    k
                })
                .collect();
            let (labels, title) = labels(&keyed);
            let mut groups: Vec<(String, Vec<Source>)> = Vec::new();
            for (p, label) in parts.iter().zip(labels) {
                match groups.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, v)) => v.push(p.source.clone()),
                    None => groups.push((label, vec![p.source.clone()])),
                }
            }
            let series = groups.into_iter().map(|(l, s)| Series::combined(l, s, how)).collect();
            let n = hosts.len();
            (series, format!("{title} ({word} of {n} host{})", if n == 1 { "" } else { "s" }))
        }
    };
    let kind = match mode {
        Mode::Stack => Kind::Stack { total: None, remainder: false },
        _ => Kind::Lines,
    };
    let mut g = Graph::new(kind, series);
    g.title = combined_title(&parts, title);
    g.missing_as_gap = true;
    Ok(g)
}

/// A combined graph's title: what its series show. When they show different things, the
/// title names them (the first three, then how many more) before what they share
/// (`common`: a host, the plugin directory), which alone ("any") says nothing.
fn combined_title(parts: &[Part], common: String) -> String {
    let mut names: Vec<&str> = Vec::new();
    for p in parts {
        if !names.contains(&p.parts[2].as_str()) {
            names.push(&p.parts[2]);
        }
    }
    if names.len() <= 1 {
        return if common.is_empty() { names.first().map_or("combined graph", |n| n).to_owned() } else { common };
    }
    let mut t = names[..names.len().min(3)].join(", ");
    if names.len() > 3 {
        t.push_str(&format!(" and {} more", names.len() - 3));
    }
    let hosts: BTreeSet<&str> = parts.iter().map(|p| p.parts[0].as_str()).collect();
    match hosts.len() {
        1 => format!("{t} on {}", parts[0].parts[0]),
        n => format!("{t} on {n} hosts"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_titles_name_what_is_shown() {
        let part = |h: &str, n: &str| Part {
            parts: [h.to_owned(), "any".to_owned(), n.to_owned(), String::new()],
            source: Source { file: "/x.rrd".into(), ds: "value".into() },
        };
        let parts = [part("web1", "coin_stats flips"), part("web2", "some_category some_counter")];
        assert_eq!(combined_title(&parts, "any".into()), "coin_stats flips, some_category some_counter on 2 hosts");
        let parts = [part("web1", "coin_stats flips"), part("web1", "queue size")];
        assert_eq!(combined_title(&parts, "web1 / any".into()), "coin_stats flips, queue size on web1");
        let parts = [part("web1", "coin_stats flips"), part("web2", "coin_stats flips")];
        assert_eq!(combined_title(&parts, "any / coin_stats flips".into()), "any / coin_stats flips");
    }

    #[test]
    fn labels_vary_and_title_keeps_the_rest() {
        let p = |h: &str, n: &str| [h.to_owned(), collectd::MODULE_PLUGIN.to_owned(), n.to_owned(), String::new()];
        let (l, t) = labels(&[p("web1", "coin flips"), p("web2", "coin flips")]);
        assert_eq!(l, ["web1", "web2"]);
        assert_eq!(t, "any / coin flips");
        let (l, t) = labels(&[p("web1", "coin flips")]);
        assert_eq!(l, ["coin flips"]);
        assert_eq!(t, "web1 / any / coin flips");
    }
}
