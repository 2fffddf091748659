//! A Prometheus-compatible database (Prometheus, VictoriaMetrics, Thanos, Mimir) as a
//! [`Source`] of collectd's series, through the Prometheus HTTP query API: series as
//! collectd's `write_prometheus` writes them ([`naming`]), read back as the RRD
//! DataDir's identifiers and meanings.
//!
//! Queries are few and bounded: the listing is one `/api/v1/series` call whatever the
//! number of series, and values are read with one `query_range` per metric name, its
//! selector matching every series asked for at once. DERIVE and COUNTER series (metric
//! names ending in `_total`) are read as `rate()`, as rrdtool stores them; gauges are
//! averaged over each step (`avg_over_time`) as rrdtool consolidates, once a step is
//! longer than the scrape interval.
//!
//! [`PrometheusSource::materialize`] writes what it reads into RRD files laid out as a
//! DataDir, so that the graph model, rrdtool and every kind of graph (and its geometry)
//! are the same as for the RRD source.

pub mod client;
pub mod naming;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use self::client::{Client, Config, PrometheusError};
use self::naming::{Matcher, SeriesId, identify, regex_escape, selector};
use super::{Entry, Listing, Points, Source, SourceError, Window};
use crate::naming::Identifier;
use crate::rrdtool::Pool;
use crate::write::types_db::TypesDb;

/// The most values one label's matcher of a [`PrometheusSource::group_selector`] spells out.
pub const MAX_ALTERNATIVES: usize = 32;

/// The selector of every series `write_prometheus` writes.
pub const ALL_COLLECTD: &str = "{__name__=~\"collectd_.+\"}";

/// A cross-host aggregation, run in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// `sum by (...)`.
    Sum,
    /// `avg by (...)`.
    Avg,
    /// `min by (...)`.
    Min,
    /// `max by (...)`.
    Max,
}

impl Aggregate {
    /// The PromQL operator.
    pub fn operator(self) -> &'static str {
        match self {
            Aggregate::Sum => "sum",
            Aggregate::Avg => "avg",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
        }
    }
}

/// A Prometheus-compatible database as a source.
#[derive(Debug, Clone)]
pub struct PrometheusSource {
    client: Client,
    types: TypesDb,
    scrape_interval: u64,
}

/// One query of a read: the PromQL and the series it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// The PromQL.
    pub query: String,
    /// The metric name its series have (functions drop `__name__` from the answer).
    pub metric: String,
    /// The series asked for.
    pub series: Vec<SeriesId>,
}

impl PrometheusSource {
    /// A source over the database of `config`, splitting metric names with `types`, whose
    /// series are scraped every `scrape_interval` seconds (the shortest step it reads at).
    pub fn new(config: Config, types: TypesDb, scrape_interval: u64) -> Result<Self, PrometheusError> {
        Ok(PrometheusSource { client: Client::new(config)?, types, scrape_interval: scrape_interval.max(1) })
    }

    /// The HTTP client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The scrape interval, in seconds.
    pub fn scrape_interval(&self) -> u64 {
        self.scrape_interval
    }

    /// Every collectd series of the database (one `/api/v1/series` call), read back with
    /// [`naming::identify`], sorted; series that are not collectd's are left out.
    pub fn series(&self) -> Result<Vec<SeriesId>, PrometheusError> {
        let mut out: Vec<SeriesId> = self
            .client
            .series(&[ALL_COLLECTD], None)?
            .iter()
            .filter_map(|labels| identify(labels.get("__name__")?, labels, &self.types))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The listing made of `series`.
    pub fn listing(series: &[SeriesId]) -> Listing {
        let mut by_id: BTreeMap<&Identifier, Vec<String>> = BTreeMap::new();
        for s in series {
            by_id.entry(&s.id).or_default().push(s.ds.clone());
        }
        Listing::new(
            by_id
                .into_iter()
                .map(|(id, data_sources)| Entry {
                    meaning: crate::naming::module_meaning(&id.plugin, &id.type_, id.type_instance.as_deref()),
                    id: id.clone(),
                    data_sources,
                })
                .collect(),
        )
    }

    /// The selector matching all of `series` (same metric) at once: each label equal to
    /// its one value, or matching the alternatives of its values.
    pub fn group_selector(metric: &str, series: &[&SeriesId]) -> String {
        let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let per_series: Vec<Vec<Matcher>> = series.iter().map(|s| s.matchers()).collect();
        for m in per_series.iter().flatten() {
            values.entry(m.name.clone()).or_default().insert(m.value.clone());
        }
        let matchers: Vec<Matcher> = values
            .into_iter()
            // A label with many values is left out rather than spelled out (databases cap a
            // query's length: VictoriaMetrics at 16 KiB): the query then selects more, and
            // `fetch` keeps only the series asked for.
            .filter(|(_, vals)| vals.len() <= MAX_ALTERNATIVES)
            .map(|(name, vals)| {
                let missing = per_series.iter().any(|ms| !ms.iter().any(|m| m.name == name));
                if vals.len() == 1 && !missing {
                    Matcher::eq(name, vals.into_iter().next().expect("one value"))
                } else {
                    let mut alts: Vec<String> = vals.iter().map(|v| regex_escape(v)).collect();
                    if missing {
                        alts.push(String::new());
                    }
                    Matcher::re(name, alts.join("|"))
                }
            })
            .collect();
        selector(metric, &matchers)
    }

    /// The PromQL that reads `sel` as rrdtool stores it, at `window`'s step.
    pub fn as_stored(&self, sel: &str, counter: bool, window: Window) -> String {
        if counter {
            let range = (2 * window.step).max(4 * self.scrape_interval);
            format!("rate({sel}[{range}s])")
        } else if window.step > self.scrape_interval {
            format!("avg_over_time({sel}[{}s])", window.step)
        } else {
            sel.to_owned()
        }
    }

    /// The queries reading `series` over `window`: one per metric name.
    pub fn plan(&self, series: &[SeriesId], window: Window) -> Vec<Planned> {
        let mut groups: BTreeMap<(String, bool), Vec<&SeriesId>> = BTreeMap::new();
        for s in series {
            groups.entry((s.metric(), s.counter)).or_default().push(s);
        }
        groups
            .into_iter()
            .map(|((metric, counter), members)| Planned {
                query: self.as_stored(&Self::group_selector(&metric, &members), counter, window),
                series: members.into_iter().cloned().collect(),
                metric,
            })
            .collect()
    }

    /// The PromQL of `op` across the hosts of `series` (one identifier's data source on
    /// several hosts), by the labels that are not the host's: what a combined graph
    /// draws, ready to paste into Grafana.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use collectd_rrd::source::Window;
    /// use collectd_rrd::source::prometheus::{Aggregate, PrometheusSource};
    /// use collectd_rrd::source::prometheus::client::Config;
    /// use collectd_rrd::source::prometheus::naming::identify;
    /// use collectd_rrd::write::types_db::TypesDb;
    ///
    /// let source = PrometheusSource::new(Config::new("http://127.0.0.1:8428"), TypesDb::builtin(), 1).unwrap();
    /// let series: Vec<_> = ["web1", "web2"].iter().map(|h| {
    ///     let labels: BTreeMap<String, String> = [("any", "coin_stats-flips"), ("instance", h)]
    ///         .into_iter().map(|(k, v)| (k.to_owned(), v.to_string())).collect();
    ///     identify("collectd_any_gauge", &labels, &TypesDb::builtin()).unwrap()
    /// }).collect();
    /// assert_eq!(source.combine_query(Aggregate::Sum, &series, Window::new(0, 600, 1)),
    ///            r#"sum by (any) (collectd_any_gauge{any="coin_stats-flips",instance=~"web1|web2"})"#);
    /// ```
    pub fn combine_query(&self, op: Aggregate, series: &[SeriesId], window: Window) -> String {
        let Some(first) = series.first() else { return String::new() };
        let host_labels = [naming::HOST_LABEL, naming::EXPORTED_HOST_LABEL];
        let by: Vec<String> =
            first.matchers().into_iter().map(|m| m.name).filter(|n| !host_labels.contains(&n.as_str())).collect();
        let members: Vec<&SeriesId> = series.iter().collect();
        let inner = self.as_stored(&Self::group_selector(&first.metric(), &members), first.counter, window);
        format!("{} by ({}) ({inner})", op.operator(), by.join(", "))
    }

    /// Runs the queries of `series` over `window`: each series' points, at every step of
    /// the window (`None` where the database has none).
    pub fn fetch(&self, series: &[SeriesId], window: Window) -> Result<BTreeMap<SeriesId, Points>, PrometheusError> {
        let mut out = BTreeMap::new();
        for planned in self.plan(series, window) {
            let wanted: BTreeSet<&SeriesId> = planned.series.iter().collect();
            for result in self.client.query_range(&planned.query, window.start, window.end, window.step)? {
                let Some(id) = identify(&planned.metric, &result.labels, &self.types) else { continue };
                let Some(key) = wanted.get(&id) else { continue };
                out.insert((*key).clone(), self.on_steps(&result.points, window));
            }
        }
        for s in series {
            out.entry(s.clone()).or_insert_with(|| self.on_steps(&[], window));
        }
        Ok(out)
    }

    /// `points` on the window's steps, unknown where absent or not finite.
    fn on_steps(&self, points: &[(f64, f64)], window: Window) -> Points {
        let by_time: BTreeMap<i64, f64> = points.iter().map(|&(t, v)| (t.round() as i64, v)).collect();
        let step = window.step as i64;
        (0..)
            .map(|k| window.start + k * step)
            .take_while(|t| *t <= window.end)
            .map(|t| (t, by_time.get(&t).copied().filter(|v| v.is_finite())))
            .collect()
    }

    /// Reads `series` over `window` and writes them as RRD files under `data_dir`, laid out
    /// as collectd's rrdtool plugin lays out a DataDir (`host/plugin[-pinst]/type[-tinst].rrd`,
    /// one RRD data source per collectd data source, one row per step), with `pool`'s
    /// rrdtool. Returns the files written.
    pub fn materialize(
        &self,
        pool: &Pool,
        data_dir: &Path,
        series: &[SeriesId],
        window: Window,
    ) -> Result<Vec<PathBuf>, SourceError> {
        let points = self.fetch(series, window)?;
        let mut files: BTreeMap<&Identifier, Vec<(&str, &Points)>> = BTreeMap::new();
        for (s, p) in &points {
            files.entry(&s.id).or_default().push((&s.ds, p));
        }
        let mut written = Vec::new();
        for (id, sources) in files {
            let dir =
                data_dir.join(&id.host).join(crate::naming::join_instance(&id.plugin, id.plugin_instance.as_deref()));
            std::fs::create_dir_all(&dir).map_err(SourceError::Temp)?;
            let path =
                dir.join(format!("{}.rrd", crate::naming::join_instance(&id.type_, id.type_instance.as_deref())));
            write_rrd(pool, &path, &sources, window)?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Creates `path` with one GAUGE data source per source and one row per step, and writes
/// their points.
fn write_rrd(pool: &Pool, path: &Path, sources: &[(&str, &Points)], window: Window) -> Result<(), SourceError> {
    // The file starts one step before its first known point, so that the first update
    // covers exactly one step (as collectd's first value after creating a file).
    let first = sources
        .iter()
        .filter_map(|(_, p)| p.iter().find(|(_, v)| v.is_some()).map(|(t, _)| *t))
        .min()
        .unwrap_or(window.start);
    let names: Vec<&str> = sources.iter().map(|(ds, _)| *ds).collect();
    create_rrd(pool, path, &names, first - window.step as i64, window)?;
    append_rrd(pool, path, sources, i64::MIN)?;
    Ok(())
}

/// Creates `path` with a GAUGE data source per name, starting at `start`, one row per step
/// of `window` (AVERAGE, MIN and MAX).
fn create_rrd(pool: &Pool, path: &Path, names: &[&str], start: i64, window: Window) -> Result<(), SourceError> {
    let step = window.step;
    let rows = ((window.end - window.start).max(0) as u64 / step + 2).to_string();
    let mut create = vec![
        "create".to_owned(),
        path.display().to_string(),
        "--start".to_owned(),
        start.to_string(),
        "--step".to_owned(),
        step.to_string(),
    ];
    for ds in names {
        create.push(format!("DS:{}:GAUGE:{}:U:U", rrd_ds_name(ds), 2 * step));
    }
    for cf in ["AVERAGE", "MIN", "MAX"] {
        create.push(format!("RRA:{cf}:0.5:1:{rows}"));
    }
    pool.run(&create)?;
    Ok(())
}

/// Writes the points of `sources` later than `after` to `path`; returns the last time
/// written (`after` when none).
fn append_rrd(pool: &Pool, path: &Path, sources: &[(&str, &Points)], after: i64) -> Result<i64, SourceError> {
    let file = path.display().to_string();
    let mut values: BTreeMap<i64, Vec<Option<f64>>> = BTreeMap::new();
    for (i, (_, p)) in sources.iter().enumerate() {
        for (t, v) in p.iter().filter(|(t, v)| *t > after && v.is_some()) {
            values.entry(*t).or_insert_with(|| vec![None; sources.len()])[i] = *v;
        }
    }
    let last = values.keys().next_back().copied().unwrap_or(after);
    let lines: Vec<String> = values
        .into_iter()
        .map(|(t, row)| {
            let cols: Vec<String> = row.iter().map(|v| v.map_or_else(|| "U".to_owned(), |v| v.to_string())).collect();
            format!("{t}:{}", cols.join(":"))
        })
        .collect();
    for chunk in lines.chunks(256) {
        let mut update = vec!["update".to_owned(), file.clone()];
        update.extend(chunk.iter().cloned());
        pool.run(&update)?;
    }
    Ok(last)
}

/// A DataDir of RRD files kept in step with the database: [`Mirror::sync`] lists the
/// series (one `/api/v1/series` call), creates the files of new ones, and appends the
/// points scraped since the last sync (one `query_range` per metric name), so that the
/// web interface, written for a DataDir, serves the database's series.
///
/// The files hold `span` seconds at `step` seconds per row, as a round robin: older
/// points roll off, as in collectd's own files.
#[derive(Debug)]
pub struct Mirror {
    dir: PathBuf,
    span: u64,
    step: u64,
    /// Per file: its data sources (as created) and the last time written.
    files: BTreeMap<Identifier, (Vec<String>, i64)>,
}

impl Mirror {
    /// A mirror into `dir` (created if missing) of the last `span` seconds at `step`
    /// seconds per row.
    pub fn new(dir: impl Into<PathBuf>, span: u64, step: u64) -> Mirror {
        let step = step.max(1);
        Mirror { dir: dir.into(), span: span.max(step), step, files: BTreeMap::new() }
    }

    /// The DataDir.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Brings the files up to date at `now` (seconds); returns how many series were read.
    pub fn sync(&mut self, source: &PrometheusSource, pool: &Pool, now: i64) -> Result<usize, SourceError> {
        let series = source.series()?;
        let from = now - self.span as i64;
        let start = self.files.values().map(|(_, last)| *last).min().unwrap_or(from).max(from);
        let window = Window::new(start, now, self.step);
        let points = source.fetch(&series, window)?;
        let mut by_file: BTreeMap<&Identifier, Vec<(&str, &Points)>> = BTreeMap::new();
        for (s, p) in &points {
            by_file.entry(&s.id).or_default().push((&s.ds, p));
        }
        for (id, sources) in by_file {
            let names: Vec<String> = sources.iter().map(|(ds, _)| (*ds).to_owned()).collect();
            let dir =
                self.dir.join(&id.host).join(crate::naming::join_instance(&id.plugin, id.plugin_instance.as_deref()));
            let path =
                dir.join(format!("{}.rrd", crate::naming::join_instance(&id.type_, id.type_instance.as_deref())));
            let known = self.files.get(id).filter(|(ds, _)| *ds == names && path.exists());
            let after = match known {
                Some((_, last)) => *last,
                None => {
                    std::fs::create_dir_all(&dir).map_err(SourceError::Temp)?;
                    let _ = std::fs::remove_file(&path);
                    let full = Window::new(from, now, self.step);
                    // As in `write_rrd`: one step before the first known point.
                    let first = sources
                        .iter()
                        .filter_map(|(_, p)| p.iter().find(|(_, v)| v.is_some()).map(|(t, _)| *t))
                        .min()
                        .map_or(full.start - 1, |t| t - self.step as i64);
                    create_rrd(pool, &path, &sources.iter().map(|(d, _)| *d).collect::<Vec<_>>(), first, full)?;
                    first
                }
            };
            let last = append_rrd(pool, &path, &sources, after)?;
            self.files.insert(id.clone(), (names, last));
        }
        Ok(series.len())
    }
}

/// An RRD data source name (at most 19 of `[A-Za-z0-9_]`) for collectd's `ds`.
fn rrd_ds_name(ds: &str) -> String {
    ds.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).take(19).collect()
}

impl Source for PrometheusSource {
    fn describe(&self) -> String {
        self.client.base_url().to_owned()
    }

    fn list(&self) -> Result<Listing, SourceError> {
        Ok(Self::listing(&self.series()?))
    }

    fn read(&self, id: &Identifier, ds: &str, window: Window) -> Result<Points, SourceError> {
        let series = self.series()?;
        let found = series.into_iter().find(|s| &s.id == id && s.ds == ds).ok_or_else(|| SourceError::NoSeries {
            source_name: self.describe(),
            id: Box::new(id.clone()),
            ds: ds.to_owned(),
        })?;
        Ok(self.fetch(std::slice::from_ref(&found), window)?.remove(&found).unwrap_or_default())
    }
}
