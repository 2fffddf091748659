//! The HTML pages: overview → host → category → stat, plugin → type, combine, command;
//! and the 404 page for unknown paths. Each page reads its whole state from its URL, looks
//! every name up in the index snapshot, and links its children with the same range.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};

use super::endpoints::{GraphRequest, command_lines};
use super::html::{
    Crumb, Figure, PageUrl, add_link, age_badge, figure, layout, mode_bar, range_bar, spark_img, sparkline, with_unit,
};
use super::params::{Mode, Params, Query, SeriesRef, Target, View, seg};
use super::search::{file_href, file_label, file_ref};
use super::{AppState, GraphOut, Problem, blocking};
use collectd_rrd::graph::Format;
use collectd_rrd::graph::style::{Level, StyleKey, Threshold};
use collectd_rrd::index::{Host, ModuleTree, PluginDir, RrdFile, Snapshot};

/// Plot size of the large graph of a detail page.
pub const DETAIL_SIZE: (u32, u32) = (960, 320);
/// Plot size of each graph of a category or plugin page.
pub const LIST_SIZE: (u32, u32) = (800, 200);
/// Size of a sparkline.
pub const SPARK_SIZE: (u32, u32) = (180, 36);
/// Most sparklines in a host's card on the overview.
const CARD_SPARKS: usize = 3;
/// Most current values in a host's card on the overview.
const CARD_VALUES: usize = 4;
/// Most stat files read per host to find its busiest stats.
const CARD_SCAN: usize = 64;
/// Most stat files read per host for a compact card (two values shown).
const COMPACT_SCAN: usize = 8;
/// Most search results rendered into the overview.
const PAGE_RESULTS: usize = 100;
/// Above this many hosts, the overview's cards are compact (one sparkline, two values, a
/// few links each): a page of a few hundred hosts stays small and quick to draw.
pub(crate) const COMPACT_HOSTS: usize = 24;
/// Most category or plugin links on a compact card.
const COMPACT_TAGS: usize = 6;

/// Seconds since `t`.
fn age_of(t: Option<std::time::SystemTime>) -> Option<i64> {
    t.map(|t| std::time::SystemTime::now().duration_since(t).map_or(0, |d| d.as_secs() as i64))
}

/// The newest modification and oldest creation times of a host's files: the overview's
/// while fresh, else a `stat` per file.
fn host_times(st: &AppState, h: &Arc<Host>) -> (Option<std::time::SystemTime>, Option<std::time::SystemTime>) {
    st.fresh_card_data(h).map_or_else(|| super::cache::file_times(h), |c| (c.newest, c.oldest))
}

/// `view` fitted (when no range was asked for) to the age of the data of `hosts`.
fn fit_to_hosts<'h>(st: &AppState, view: View, hosts: impl IntoIterator<Item = &'h Arc<Host>>) -> View {
    if !view.defaulted {
        return view;
    }
    let oldest = hosts.into_iter().filter_map(|h| host_times(st, h).1).min();
    view.fit_age(age_of(oldest))
}

/// A page as a response: the HTML, or the problem page that says what went wrong.
fn page_response(page: Result<Markup, Problem>) -> Response {
    match page {
        Ok(m) => {
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], m.into_string())
                .into_response()
        }
        Err(p) => p.into_response(),
    }
}

fn path_of<T>(p: Result<Path<T>, PathRejection>) -> Result<T, Problem> {
    p.map(|Path(t)| t).map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "Bad request", format!("bad path: {e}")))
}

/// Keys of pages that only take a range.
const RANGE_KEYS: &[&str] = &["start", "end"];

/// `path` with the range of `view` (when not the default) and `extra` parameters.
fn link(path: &str, extra: &[(&str, &str)], view: &View) -> String {
    let mut q = Query::default();
    for (k, v) in extra {
        q.push(k, v);
    }
    let mut plain = view.clone();
    plain.sized = false;
    plain.page_query(&mut q);
    q.url(path)
}

fn host_path(host: &str) -> String {
    format!("/host/{}", seg(host))
}

fn category_path(host: &str, cat: &str) -> String {
    format!("/host/{}/category/{}", seg(host), seg(cat))
}

fn inst_params(inst: Option<&str>) -> Vec<(&str, &str)> {
    inst.map(|i| vec![("inst", i)]).unwrap_or_default()
}

fn lookup_host<'s>(snap: &'s Snapshot, host: &str, view: &View) -> Result<&'s Arc<Host>, Problem> {
    snap.host(host).ok_or_else(|| {
        Problem::not_found(format!("host {host:?} not found"))
            .nearby_links(snap.hosts.keys().map(|h| (h.clone(), link(&host_path(h), &[], view))).collect())
    })
}

/// The module directories of a host: (instance, tree).
fn modules(h: &Host) -> Vec<(Option<&str>, &ModuleTree)> {
    h.plugins.values().filter_map(|p| p.module.as_ref().map(|m| (p.instance.as_deref(), m))).collect()
}

fn others(h: &Host) -> Vec<&Arc<PluginDir>> {
    h.plugins.values().filter(|p| p.module.is_none()).collect()
}

fn stale_after(st: &AppState, h: &Host) -> i64 {
    let step = h
        .plugins
        .values()
        .flat_map(|p| p.files.values())
        .next()
        .and_then(|f| st.index().header(f).ok())
        .map(|hd| hd.step as i64)
        .unwrap_or(10);
    (step * 5).max(60)
}

fn range_crumbs(view: &View, crumbs: &[(&str, Option<String>)]) -> Vec<Crumb> {
    let mut out = vec![("Overview".to_owned(), Some(link("/", &[], view)))];
    out.extend(crumbs.iter().map(|(l, h)| ((*l).to_owned(), h.clone())));
    out
}

/// Renders the graphs of a page concurrently, each through the render gate, on behalf of
/// this request's client.
async fn render_all(st: &AppState, items: Vec<(Target, Mode, View)>) -> Vec<Result<GraphOut, Problem>> {
    let client = super::server::current_client();
    let handles: Vec<_> = items
        .into_iter()
        .map(|(t, m, v)| {
            let (st, client) = (st.clone(), client.clone());
            let render = async move { st.rendering(move |st| st.render(&t, m, &v, Format::Png, false, 1)).await };
            tokio::spawn(super::server::on_behalf_of(client, render))
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap_or_else(|e| {
            Err(Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error", format!("rendering failed: {e}")))
        }));
    }
    out
}

fn search_results(st: &AppState, snap: &Snapshot, q: &str) -> Markup {
    let idx = st.search_index(snap);
    let (total, hits) = idx.search(q, PAGE_RESULTS);
    html! {
        p.count #result-count { (total) " of " (idx.len()) " series match" @if total > hits.len() { " (first " (hits.len()) " shown)" } }
        ul.results {
            @for e in hits {
                li {
                    a href=(e.href) { (e.label) }
                    (add_link(&e.sref.to_param(), "+ add", &View::default_sized(SPARK_SIZE)))
                }
            }
        }
    }
}

/// `GET /?q=&start=&end=`: every host with a summary, and the search.
pub async fn overview(State(st): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let r = async {
        let p = Params::parse(q.as_deref(), &["q", "start", "end"])?;
        let query = p.one("q")?.unwrap_or("").to_owned();
        let view = View::from_params(&p, SPARK_SIZE)?;
        let st2 = st.clone();
        blocking(move || Ok(overview_page(&st2, &query, &view))).await
    }
    .await;
    page_response(r)
}

fn overview_page(st: &AppState, query: &str, view: &View) -> Markup {
    let snap = st.snapshot();
    let cards = st.card_data(&snap);
    let view = &view.fit_age(age_of(cards.iter().filter_map(|c| c.oldest).min()));
    let compact = snap.hosts.len() > COMPACT_HOSTS;
    let card_view = format!("{}{}", card_view_key(view), if compact { "&compact" } else { "" });
    let url = PageUrl { path: "/".into(), fixed: Vec::new(), mode: None };
    let stale = cards.iter().filter(|c| c.is_stale()).count();
    let body = html! {
        section.intro {
            h1 { "Overview" }
            p.muted {
                (snap.hosts.len()) " hosts"
                @if stale > 0 { " (" (stale) " stale)" }
                " · " (snap.file_count()) " series in " code { (snap.data_dir.display()) }
            }
        }
        section #search-results .search-results hidden[query.is_empty()] {
            @if !query.is_empty() { (search_results(st, &snap, query)) }
        }
        section #saved-views .saved hidden {}
        div.sparkrange { span.muted { "Sparklines over " } (range_bar(&url, view, None)) }
        @if snap.hosts.is_empty() {
            p.empty { "No hosts yet: collectd has not written any RRD file under this directory." }
        }
        section.hosts.compact[compact] {
            @for (h, data) in snap.hosts.values().zip(&cards) {
                (host_card(h, data, view, &card_view, compact))
            }
        }
    };
    layout("Overview", "overview", &[("Overview".into(), None)], query, body)
}

/// What a host's card shows besides names: when it was last updated, when its data is
/// stale, its current values. Derived for every host at most every few seconds, and again
/// when the host's files changed ([`AppState::card_data`]); with the card's markup once
/// shown.
pub(crate) struct CardData {
    /// The newest modification time of its files.
    newest: Option<std::time::SystemTime>,
    /// The oldest creation time of its files (the age of its data).
    oldest: Option<std::time::SystemTime>,
    stale_after: i64,
    values: Vec<CurrentValue>,
    /// The card's markup but its age badge (which ages by itself), for the last view it
    /// was shown with.
    markup: Mutex<Option<Arc<CardMarkup>>>,
}

impl CardData {
    /// Whether the host has written nothing for longer than its staleness limit.
    fn is_stale(&self) -> bool {
        age_of(self.newest).is_none_or(|a| a > self.stale_after)
    }
}

/// A host card's markup around its age badge, for one view.
struct CardMarkup {
    /// The view's range and size (all a card takes from it).
    view: String,
    /// The header's heading (before the age badge).
    heading: String,
    /// Everything after the header.
    body: String,
}

/// Derives a host's [`CardData`] (blocking: a `stat` per file, file headers, `rrdtool
/// lastupdate`).
pub(crate) fn card_data(st: &AppState, h: &Host, compact: bool) -> CardData {
    let (newest, oldest) = super::cache::file_times(h);
    CardData {
        newest,
        oldest,
        stale_after: stale_after(st, h),
        values: current_values(st, h, if compact { COMPACT_SCAN } else { CARD_SCAN }),
        markup: Mutex::default(),
    }
}

/// What of `view` a host card shows: range and size, as the card's links carry them.
fn card_view_key(view: &View) -> String {
    let mut q = Query::default();
    view.graph_query(&mut q);
    view.page_query(&mut q);
    q.as_str().to_owned()
}

/// A host's card: names, current values, sparklines and links, made once per card data and
/// view (`card_view`: [`card_view_key`] of `view`); then the age badge, made each time.
fn host_card(h: &Host, data: &CardData, view: &View, card_view: &str, compact: bool) -> Markup {
    let stale = data.is_stale();
    let key = format!("{card_view}{}", if stale { "&stale" } else { "" });
    let kept = data.markup.lock().unwrap_or_else(|e| e.into_inner()).clone().filter(|m| m.view == key);
    let m = kept.unwrap_or_else(|| {
        let m = Arc::new(card_markup(h, data, view, key, compact, stale));
        *data.markup.lock().unwrap_or_else(|e| e.into_inner()) = Some(m.clone());
        m
    });
    html! {
        article.card.host-card.stale[stale] data-host=(h.name) {
            header {
                (PreEscaped(&m.heading))
                (age_badge(data.newest, data.stale_after))
            }
            (PreEscaped(&m.body))
        }
    }
}

/// `n` things, or nothing when there are none: `3 plugins`, `1 category`.
fn count(n: usize, one: &str, many: &str) -> Option<String> {
    match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {many}")),
    }
}

fn card_markup(h: &Host, data: &CardData, view: &View, key: String, compact: bool, stale: bool) -> CardMarkup {
    let series: usize = h.plugins.values().map(|p| p.files.len()).sum();
    let mods = modules(h);
    let n_cats: usize = mods.iter().map(|(_, m)| m.categories.len()).sum();
    let plugin_dirs = others(h);
    let most_sparks = if compact { 1 } else { CARD_SPARKS };
    let mut sparks: Vec<(Target, Mode, String, String)> = Vec::new();
    // An ordinary collectd host's summary comes first: load, then cpu and memory.
    for (dir, ty) in [("load", "load"), ("memory", "memory")] {
        if sparks.len() < most_sparks && h.plugins.get(dir).is_some_and(|d| d.files.values().any(|f| f.id.type_ == ty))
        {
            let t = Target::Plugin { host: h.name.clone(), dir: dir.to_owned(), type_: ty.to_owned(), ti: None };
            let href = t.detail_url(view, Mode::Auto);
            sparks.push((t, Mode::Auto, format!("{dir} · {ty}"), href));
        }
    }
    'outer: for (inst, m) in &mods {
        for (cat, c) in &m.categories {
            for (stat, s) in &c.stats {
                if sparks.len() >= most_sparks {
                    break 'outer;
                }
                if s.base.is_some() {
                    let t = Target::Stat {
                        host: h.name.clone(),
                        inst: inst.map(str::to_owned),
                        cat: cat.clone(),
                        stat: stat.clone(),
                        specifics: Vec::new(),
                    };
                    let href = t.detail_url(&view.clone(), Mode::Auto);
                    sparks.push((t, Mode::Band, format!("{cat} · {stat}"), href));
                }
            }
        }
    }
    for d in &plugin_dirs {
        let types: BTreeSet<&str> = d.files.values().map(|f| f.id.type_.as_str()).collect();
        for ty in types {
            if sparks.len() >= most_sparks {
                break;
            }
            if sparks
                .iter()
                .any(|(t, ..)| matches!(t, Target::Plugin { dir, type_, .. } if *dir == d.dir_name && type_ == ty))
            {
                continue;
            }
            let t = Target::Plugin { host: h.name.clone(), dir: d.dir_name.clone(), type_: ty.to_owned(), ti: None };
            let href = t.detail_url(view, Mode::Auto);
            sparks.push((t, Mode::Auto, format!("{} · {ty}", d.dir_name), href));
        }
    }
    let heading = html! {
        h2 { a href=(link(&host_path(&h.name), &[], view)) { (h.name) } }
    };
    let plugin_groups: BTreeSet<&str> = plugin_dirs.iter().map(|d| d.plugin.as_str()).collect();
    let meta: Vec<String> = [
        count(series, "series", "series"),
        count(n_cats, "category", "categories"),
        count(plugin_groups.len(), "plugin", "plugins"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let values = if compact { &data.values[..data.values.len().min(2)] } else { &data.values[..] };
    let tags = if compact { COMPACT_TAGS } else { usize::MAX };
    let cat_links: Vec<(String, String)> = mods
        .iter()
        .flat_map(|(inst, m)| {
            m.categories.keys().map(move |cat| {
                let label = match inst {
                    Some(i) => format!("{cat} ({i})"),
                    None => cat.clone(),
                };
                (label, link(&category_path(&h.name, cat), &inst_params(*inst), view))
            })
        })
        .collect();
    let body = html! {
        p.meta { (meta.join(" · ")) }
        (value_badges(values, view, stale))
        div.sparks {
            @for (t, m, label, href) in &sparks {
                div.spark-item {
                    (spark_for(t, *m, view, href, label))
                    span.spark-label { (label) }
                    span.spark-stats {}
                }
            }
        }
        @if !cat_links.is_empty() {
            p.tags {
                span.muted { "Categories " }
                @for (label, href) in cat_links.iter().take(tags) { a.tag href=(href) { (label) } }
                @if cat_links.len() > tags { a.more href=(link(&host_path(&h.name), &[], view)) { "+" (cat_links.len() - tags) " more" } }
            }
        }
        @if !plugin_dirs.is_empty() {
            p.tags {
                span.muted { "Plugins " }
                @for d in plugin_dirs.iter().take(tags) {
                    a.tag.plugin href=(link(&format!("/host/{}/plugin/{}", seg(&h.name), seg(&d.dir_name)), &[], view)) { (d.dir_name) }
                }
                @if plugin_dirs.len() > tags { a.more href=(link(&host_path(&h.name), &[], view)) { "+" (plugin_dirs.len() - tags) " more" } }
            }
        }
    };
    CardMarkup { view: key, heading: heading.into_string(), body: body.into_string() }
}

/// A current value shown on a host's card.
struct CurrentValue {
    label: String,
    value: f64,
    /// The unit, from the type's style.
    unit: String,
    level: Level,
    threshold: Option<Threshold>,
    /// The graph its badge links to.
    target: Target,
}

/// The value of `ds` (or the first GAUGE data source) last written to `file`; `None` for
/// files without a gauge (a counter's last raw value means nothing on its own) or value.
fn gauge_value(st: &AppState, file: &RrdFile, ds: Option<&str>) -> Option<(String, f64)> {
    let header = st.index().header(file).ok()?;
    let gauge = |name: &str| header.data_sources.iter().any(|d| d.name == name && d.kind == "GAUGE");
    let want = match ds {
        Some(d) if gauge(d) => d.to_owned(),
        Some(_) => return None,
        None => header.data_sources.iter().find(|d| d.kind == "GAUGE")?.name.clone(),
    };
    let (_, values) = st.last_values(&file.path)?;
    values.into_iter().find(|(n, _)| *n == want).and_then(|(n, v)| Some((n, v?)))
}

/// A host's current values: the types and stats with thresholds, `load`, then the busiest
/// stats of the original module (largest last value).
fn current_values(st: &AppState, h: &Host, scan: usize) -> Vec<CurrentValue> {
    let config = st.config();
    let mut out = Vec::new();
    for d in others(h) {
        for f in d.files.values() {
            let threshold = config.threshold(&f.id.type_).cloned();
            if threshold.is_none() && f.id.type_ != "load" {
                continue;
            }
            let ds = threshold
                .as_ref()
                .and_then(|t| t.ds.clone())
                .or_else(|| (f.id.type_ == "load").then(|| "shortterm".to_owned()));
            if let Some((ds, value)) = gauge_value(st, f, ds.as_deref()) {
                let t = Target::Plugin {
                    host: h.name.clone(),
                    dir: d.dir_name.clone(),
                    type_: f.id.type_.clone(),
                    ti: f.id.type_instance.clone(),
                };
                let name = collectd_rrd::naming::join_instance(&f.id.type_, f.id.type_instance.as_deref());
                let label =
                    if d.dir_name == name { format!("{name} {ds}") } else { format!("{} {name} {ds}", d.dir_name) };
                let label = if f.id.type_ == "load" && d.dir_name == "load" { format!("load {ds}") } else { label };
                let unit = config.style(StyleKey::Type(&f.id.type_)).and_then(|s| s.unit.clone()).unwrap_or_default();
                out.push(CurrentValue {
                    label,
                    value,
                    unit,
                    level: threshold.as_ref().map_or(Level::Ok, |t| t.level(value)),
                    threshold,
                    target: t,
                });
            }
        }
    }
    let mut busiest = Vec::new();
    for (inst, m) in modules(h) {
        for (cat, c) in &m.categories {
            for (stat, s) in &c.stats {
                let Some(base) = &s.base else { continue };
                let threshold = config.threshold(&format!("{cat}/{stat}")).cloned();
                if threshold.is_none() && busiest.len() >= scan {
                    continue;
                }
                let Some((_, value)) = gauge_value(st, base, threshold.as_ref().and_then(|t| t.ds.as_deref())) else {
                    continue;
                };
                let t = Target::Stat {
                    host: h.name.clone(),
                    inst: inst.map(str::to_owned),
                    cat: cat.clone(),
                    stat: stat.clone(),
                    specifics: Vec::new(),
                };
                let v = CurrentValue {
                    label: format!("{cat} {stat}"),
                    value,
                    unit: config.style(StyleKey::Category(cat)).and_then(|s| s.unit.clone()).unwrap_or_default(),
                    level: threshold.as_ref().map_or(Level::Ok, |t| t.level(value)),
                    threshold: threshold.clone(),
                    target: t,
                };
                if threshold.is_some() { out.push(v) } else { busiest.push(v) }
            }
        }
    }
    busiest.sort_by(|a, b| b.value.total_cmp(&a.value).then_with(|| a.label.cmp(&b.label)));
    out.sort_by_key(|v| std::cmp::Reverse(v.level));
    out.extend(busiest);
    out.truncate(CARD_VALUES.max(out.iter().filter(|v| v.level != Level::Ok).count()));
    out
}

/// A number in a few characters: 0.52, 12.3, 4.1k, 2.5M.
fn short_number(v: f64) -> String {
    let a = v.abs();
    let (x, suffix) = if a >= 1e12 {
        (v / 1e12, "T")
    } else if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let digits = if x.abs() >= 100.0 {
        0
    } else if x.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{x:.digits$}{suffix}")
}

fn value_badges(values: &[CurrentValue], view: &View, stale: bool) -> Markup {
    html! {
        @if !values.is_empty() {
            div.values {
                @if stale { span.last-known { "last known:" } }
                @for v in values {
                    @let shown = with_unit(v.value, &v.unit);
                    @let title = match &v.threshold {
                        Some(t) => format!("{}: {shown} (warning ≥ {}, critical ≥ {})", v.label,
                            t.warning.map_or("–".to_owned(), |w| w.to_string()), t.critical.map_or("–".to_owned(), |c| c.to_string())),
                        None => format!("{}: {shown}", v.label),
                    };
                    a.badge.value.(v.level.name()) href=(v.target.detail_url(view, Mode::Auto)) title=(title) data-level=(v.level.name()) {
                        (v.label) " " b { (short_number(v.value)) } @if !v.unit.is_empty() { " " (v.unit) }
                    }
                }
            }
        }
    }
}

fn spark_for(t: &Target, mode: Mode, view: &View, href: &str, label: &str) -> Markup {
    if mode == t.default_mode() {
        return sparkline(t, view, href, label);
    }
    spark_img(t, mode, view, href, label)
}

/// `GET /host/{host}`: the host's categories (the original module's data) and plugins.
pub async fn host(
    State(st): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let r = async {
        let host = path_of(path)?;
        let p = Params::parse(q.as_deref(), RANGE_KEYS)?;
        let view = View::from_params(&p, SPARK_SIZE)?;
        let st2 = st.clone();
        blocking(move || host_page(&st2, &host, &view)).await
    }
    .await;
    page_response(r)
}

fn host_page(st: &AppState, host: &str, view: &View) -> Result<Markup, Problem> {
    let snap = st.snapshot();
    let h = lookup_host(&snap, host, view)?;
    // The overview's times while fresh, else a `stat` per file of the host.
    let (newest, oldest) = host_times(st, h);
    let view = &view.fit_age(age_of(oldest));
    let url = PageUrl { path: host_path(host), fixed: Vec::new(), mode: None };
    let mods = modules(h);
    let plugin_dirs = others(h);
    let series: usize = h.plugins.values().map(|p| p.files.len()).sum();
    let stale = stale_after(st, h);
    let summary = host_summary(st, h);
    let summary_view = view.sized(SUMMARY_SIZE.0, SUMMARY_SIZE.1);
    let mut groups: Vec<(&str, Vec<&Arc<PluginDir>>)> = Vec::new();
    for d in &plugin_dirs {
        match groups.iter_mut().find(|(p, _)| *p == d.plugin) {
            Some((_, v)) => v.push(d),
            None => groups.push((d.plugin.as_str(), vec![d])),
        }
    }
    let body = html! {
        section.intro {
            h1 { (host) " " (age_badge(newest, stale)) }
            p.muted { (series) " series" }
        }
        div.sparkrange { span.muted { "Graphs over " } (range_bar(&url, view, None)) }
        @if !summary.is_empty() {
            h2 { "Summary" }
            div.summary {
                @for (label, t) in &summary {
                    @let href = t.detail_url(view, Mode::Auto);
                    figure.graph.small {
                        h3 { a href=(href) { (label) } }
                        div.plot data-src=(super::params::graph_url("/graph.png", t, Mode::Auto, &summary_view, &[]))
                            data-geo=(super::params::graph_url("/graph.json", t, Mode::Auto, &summary_view, &[]))
                            data-w=(SUMMARY_SIZE.0) data-interactive="0" {
                            img src=(super::params::graph_url("/graph.png", t, Mode::Auto, &summary_view, &[]))
                                alt={ (label) " on " (host) ", " (view.resolve().map(|r| super::time::range_words(&r)).unwrap_or_default()) } loading="lazy";
                        }
                    }
                }
            }
        }
        @if !mods.is_empty() {
            h2 { "Categories" span.muted.small { " · the original module's statistics" } }
            @for (inst, m) in &mods {
                @if let Some(i) = inst { h3.inst { "Instance " code { (i) } " (any-" (i) ")" } }
                div.cards {
                    @for (cat, c) in &m.categories {
                        article.card {
                            h3 { a href=(link(&category_path(host, cat), &inst_params(*inst), view)) { (cat) } }
                            table.stats {
                                @for (stat, s) in &c.stats {
                                    @let t = Target::Stat { host: host.to_owned(), inst: inst.map(str::to_owned), cat: cat.clone(), stat: stat.clone(), specifics: Vec::new() };
                                    @let href = t.detail_url(view, Mode::Auto);
                                    tr {
                                        td { a href=(href) { (stat) } }
                                        td { (spark_for(&t, if s.base.is_some() { Mode::Band } else { Mode::Auto }, view, &href, stat)) }
                                        td.muted.small { (s.specifics.len()) " specific" @if s.specifics.len() != 1 { "s" } }
                                        td { @if let Some(b) = &s.base { (add_link(&file_ref(b).to_param(), "+", view)) } }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !m.unparsed.is_empty() {
                    p.tags { span.muted { "Other files " }
                        @for f in &m.unparsed { a.tag href=(file_href(f)) { (f.id.type_) @if let Some(ti) = &f.id.type_instance { "-" (ti) } } }
                    }
                }
            }
        }
        @if !groups.is_empty() {
            h2 { "Plugins" span.muted.small { " · collectd's own plugins, instances together" } }
            div.cards {
                @for (plugin, dirs) in &groups {
                    article.card {
                        h3 {
                            @if let [d] = dirs.as_slice() {
                                a href=(link(&format!("/host/{}/plugin/{}", seg(host), seg(&d.dir_name)), &[], view)) { (d.dir_name) }
                            } @else {
                                (plugin) span.muted.small { " · " (dirs.len()) " instances" }
                            }
                        }
                        table.stats {
                            @for d in dirs {
                                @let types: BTreeSet<&str> = d.files.values().map(|f| f.id.type_.as_str()).collect();
                                @for ty in types {
                                    @let t = Target::Plugin { host: host.to_owned(), dir: d.dir_name.clone(), type_: ty.to_owned(), ti: None };
                                    @let href = t.detail_url(view, Mode::Auto);
                                    @let n = d.files.values().filter(|f| f.id.type_ == ty).count();
                                    @let label = if dirs.len() > 1 { format!("{} · {ty}", d.instance.as_deref().unwrap_or(&d.dir_name)) } else { ty.to_owned() };
                                    tr {
                                        td { a href=(href) { (label) } }
                                        td { (sparkline(&t, view, &href, &format!("{} {ty}", d.dir_name))) }
                                        td.muted.small { (n) " file" @if n != 1 { "s" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let crumbs = range_crumbs(view, &[(host, None)]);
    Ok(layout(host, "host", &crumbs, "", body))
}

/// Plot size of the graphs of a host's summary.
const SUMMARY_SIZE: (u32, u32) = (360, 90);

/// An ordinary collectd host's summary, as CGP shows one: load, cpu, memory, the busiest
/// interface and the busiest disk (most bytes counted; `lo` aside), those it has.
fn host_summary(st: &AppState, h: &Host) -> Vec<(String, Target)> {
    let plugin = |dir: &PluginDir, ty: &str| Target::Plugin {
        host: h.name.clone(),
        dir: dir.dir_name.clone(),
        type_: ty.to_owned(),
        ti: None,
    };
    let has = |d: &PluginDir, ty: &str| d.files.values().any(|f| f.id.type_ == ty);
    let mut out = Vec::new();
    if let Some(d) = h.plugins.get("load").filter(|d| has(d, "load")) {
        out.push(("load".to_owned(), plugin(d, "load")));
    }
    let cpus: Vec<&Arc<PluginDir>> = h.plugins.values().filter(|d| d.plugin == "cpu" && has(d, "cpu")).collect();
    if let Some(d) = cpus.iter().find(|d| d.instance.is_none()).or(cpus.first()) {
        let label =
            if cpus.len() > 1 { format!("cpu ({} of {} cpus)", d.dir_name, cpus.len()) } else { "cpu".to_owned() };
        out.push((label, plugin(d, "cpu")));
    }
    if let Some(d) = h.plugins.get("memory").filter(|d| has(d, "memory")) {
        out.push(("memory".to_owned(), plugin(d, "memory")));
    }
    for (plugin_name, ty, what) in
        [("interface", "if_octets", "busiest interface"), ("disk", "disk_octets", "busiest disk")]
    {
        let busiest = h
            .plugins
            .values()
            .filter(|d| d.plugin == plugin_name && d.instance.as_deref() != Some("lo"))
            .flat_map(|d| d.files.values().filter(|f| f.id.type_ == ty).map(move |f| (d, f)))
            .map(|(d, f)| {
                let total: f64 =
                    st.last_values(&f.path).map(|(_, v)| v.iter().filter_map(|(_, x)| *x).sum()).unwrap_or(0.0);
                (total, d, f)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((_, d, f)) = busiest {
            let name = f.id.type_instance.clone().or_else(|| d.instance.clone()).unwrap_or_else(|| d.dir_name.clone());
            out.push((
                format!("{what}: {name}"),
                Target::Plugin {
                    host: h.name.clone(),
                    dir: d.dir_name.clone(),
                    type_: ty.to_owned(),
                    ti: f.id.type_instance.clone(),
                },
            ));
        }
    }
    out
}

/// Looks up the module tree and category of a category or stat page.
fn lookup_category<'s>(
    snap: &'s Snapshot,
    host: &str,
    inst: Option<&str>,
    cat: &str,
    view: &View,
) -> Result<&'s collectd_rrd::index::Category, Problem> {
    let h = lookup_host(snap, host, view)?;
    let all_cats = || {
        modules(h)
            .iter()
            .flat_map(|(i, m)| {
                m.categories.keys().map(move |c| {
                    let label = match i {
                        Some(i) => format!("{c} ({i})"),
                        None => c.clone(),
                    };
                    (label, link(&category_path(host, c), &inst_params(*i), view))
                })
            })
            .collect::<Vec<_>>()
    };
    let m = snap.module(host, inst).ok_or_else(|| {
        let dir = collectd_rrd::naming::join_instance(collectd_rrd::naming::MODULE_PLUGIN, inst);
        Problem::not_found(format!("host {host:?} has no directory {dir:?} of the original module"))
            .nearby_links(all_cats())
    })?;
    m.categories.get(cat).ok_or_else(|| {
        Problem::not_found(format!("category {cat:?} not found on host {host:?}")).nearby_links(all_cats())
    })
}

/// `GET /host/{host}/category/{cat}?inst=`: one graph per stat, specifics stacked under
/// the total line.
pub async fn category(
    State(st): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let r = async {
        let (host, cat) = path_of(path)?;
        let p = Params::parse(q.as_deref(), &["inst", "start", "end", "w", "h"])?;
        let inst = p.name("inst")?;
        let view = View::from_params(&p, LIST_SIZE)?;
        let snap = st.snapshot();
        let view = fit_to_hosts(&st, view, snap.host(&host));
        let c = lookup_category(&snap, &host, inst.as_deref(), &cat, &view)?;
        let stats: Vec<(String, Option<SeriesRef>)> =
            c.stats.iter().map(|(name, s)| (name.clone(), s.base.as_ref().map(|b| file_ref(b)))).collect();
        let targets: Vec<Target> = stats
            .iter()
            .map(|(s, _)| Target::Stat {
                host: host.clone(),
                inst: inst.clone(),
                cat: cat.clone(),
                stat: s.clone(),
                specifics: Vec::new(),
            })
            .collect();
        let rendered =
            render_all(&st, targets.iter().map(|t| (t.clone(), Mode::Auto, view.clone())).collect()).await;
        let fixed: Vec<(String, String)> = inst.iter().map(|i| ("inst".to_owned(), i.clone())).collect();
        let url = PageUrl { path: category_path(&host, &cat), fixed, mode: None };
        let range = view.resolve().ok();
        let body = html! {
            section.intro {
                h1 { (cat) @if let Some(i) = &inst { small.muted { " instance " (i) } } }
                p.muted { "Category of the original module on " a href=(link(&host_path(&host), &[], &view)) { (host) } " · " (stats.len()) " stat" @if stats.len() != 1 { "s" } " · specifics stacked under the total" }
            }
            (range_bar(&url, &view, range.as_ref()))
            @for ((t, (stat, base)), r) in targets.iter().zip(&stats).zip(&rendered) {
                @let add: Vec<(String, String)> = base.iter().map(|b| (format!("{stat} to graph"), b.to_param())).collect();
                (figure(&Figure {
                    target: t, mode: Mode::Auto, view: &view,
                    heading: Some((stat.clone(), Some(t.detail_url(&without_size(&view), Mode::Auto)))),
                    rendered: Some(r), add, interactive: true,
                }))
            }
        };
        let crumbs = range_crumbs(&view, &[(&host, Some(link(&host_path(&host), &[], &view))), (&cat, None)]);
        Ok::<_, Problem>(layout(&format!("{cat} on {host}"), "category", &crumbs, "", body))
    }
    .await;
    page_response(r)
}

fn without_size(view: &View) -> View {
    let mut v = view.clone();
    v.sized = false;
    v
}

/// `GET /host/{host}/category/{cat}/stat/{stat}?inst=&specific=&mode=`: one stat large,
/// with zoom, pan, hover and links to each specific.
pub async fn stat(
    State(st): State<AppState>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let r = async {
        let (host, cat, stat) = path_of(path)?;
        let p = Params::parse(q.as_deref(), &["inst", "specific", "mode", "start", "end", "w", "h"])?;
        let target = Target::stat(&p, host.clone(), cat.clone(), stat.clone())?;
        let (inst, specifics) = match &target {
            Target::Stat { inst, specifics, .. } => (inst.clone(), specifics.clone()),
            _ => (None, Vec::new()),
        };
        let mode = target.mode(&p)?;
        let view = View::from_params(&p, DETAIL_SIZE)?;
        let snap = st.snapshot();
        let view = fit_to_hosts(&st, view, snap.host(&host));
        let c = lookup_category(&snap, &host, inst.as_deref(), &cat, &view)?;
        let inst_q = inst_params(inst.as_deref());
        let s = c.stats.get(&stat).ok_or_else(|| {
            Problem::not_found(format!("stat {stat:?} not found in category {cat:?} on host {host:?}")).nearby_links(
                c.stats
                    .keys()
                    .map(|s| (s.clone(), link(&format!("{}/stat/{}", category_path(&host, &cat), seg(s)), &inst_q, &view)))
                    .collect(),
            )
        })?;
        let stat_path = format!("{}/stat/{}", category_path(&host, &cat), seg(&stat));
        for sp in &specifics {
            if !s.specifics.contains_key(sp) {
                return Err(Problem::not_found(format!("specific {sp:?} of stat {stat:?} not found")).nearby_links(
                    s.specifics
                        .keys()
                        .map(|k| {
                            let mut e = inst_q.clone();
                            e.push(("specific", k));
                            (k.clone(), link(&stat_path, &e, &view))
                        })
                        .collect(),
                ));
            }
        }
        let rendered = render_all(&st, vec![(target.clone(), mode, view.clone())]).await;
        let mut fixed: Vec<(String, String)> = inst.iter().map(|i| ("inst".to_owned(), i.clone())).collect();
        fixed.extend(specifics.iter().map(|sp| ("specific".to_owned(), sp.clone())));
        let url = PageUrl {
            path: stat_path.clone(),
            fixed,
            mode: (mode != target.default_mode()).then(|| mode.name()),
        };
        let range = rendered[0].as_ref().ok().map(|o| o.range).or_else(|| view.resolve().ok());
        let mut add = Vec::new();
        if let Some(b) = &s.base {
            add.push(("total to graph".to_owned(), file_ref(b).to_param()));
        }
        for sp in &specifics {
            if let Some(f) = s.specifics.get(sp) {
                add.push((format!("{sp} to graph"), file_ref(f).to_param()));
            }
        }
        let page_view = without_size(&view);
        let body = html! {
            section.intro {
                h1 { (stat) @if !specifics.is_empty() { small.muted { " · " (specifics.join(", ")) } } }
                p.muted { "Stat of category " a href=(link(&category_path(&host, &cat), &inst_q, &view)) { (cat) } " on " a href=(link(&host_path(&host), &[], &view)) { (host) }
                    @if let Some(i) = &inst { " (instance " (i) ")" } }
            }
            @if !s.specifics.is_empty() { (mode_bar(&url, &view, &target, mode)) }
            (range_bar(&url, &view, range.as_ref()))
            (figure(&Figure { target: &target, mode, view: &view, heading: None, rendered: Some(&rendered[0]), add, interactive: true }))
            div.hover-readout #readout aria-live="polite" {}
            @if !s.specifics.is_empty() {
                section.specifics {
                    h2 { "Specifics" }
                    ul.links {
                        li { a.active[specifics.is_empty()] href=(link(&stat_path, &inst_q, &page_view)) { "all, stacked under the total" } }
                        @for (sp, f) in &s.specifics {
                            li {
                                a.active[specifics.len() == 1 && &specifics[0] == sp] href=(link(&stat_path, &[inst_q.as_slice(), &[("specific", sp.as_str())]].concat(), &page_view)) { (sp) }
                                (add_link(&file_ref(f).to_param(), "+ add to graph", &page_view))
                            }
                        }
                    }
                }
            }
        };
        let crumbs = range_crumbs(
            &view,
            &[
                (&host, Some(link(&host_path(&host), &[], &view))),
                (&cat, Some(link(&category_path(&host, &cat), &inst_q, &view))),
                (&stat, None),
            ],
        );
        Ok::<_, Problem>(layout(&format!("{stat} · {cat} on {host}"), "stat", &crumbs, "", body))
    }
    .await;
    page_response(r)
}

fn lookup_dir<'s>(snap: &'s Snapshot, host: &str, dir: &str, view: &View) -> Result<&'s Arc<PluginDir>, Problem> {
    let h = lookup_host(snap, host, view)?;
    h.plugins.get(dir).ok_or_else(|| {
        Problem::not_found(format!("plugin directory {dir:?} not found on host {host:?}")).nearby_links(
            h.plugins
                .keys()
                .map(|d| (d.clone(), link(&format!("/host/{}/plugin/{}", seg(host), seg(d)), &[], view)))
                .collect(),
        )
    })
}

/// `GET /host/{host}/plugin/{dir}`: one graph per type of a plugin directory.
pub async fn plugin(
    State(st): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let r = async {
        let (host, dir) = path_of(path)?;
        let p = Params::parse(q.as_deref(), &["start", "end", "w", "h"])?;
        let view = View::from_params(&p, LIST_SIZE)?;
        let snap = st.snapshot();
        let view = fit_to_hosts(&st, view, snap.host(&host));
        let d = lookup_dir(&snap, &host, &dir, &view)?;
        let types: BTreeSet<String> = d.files.values().map(|f| f.id.type_.clone()).collect();
        let targets: Vec<Target> = types
            .iter()
            .map(|t| Target::Plugin { host: host.clone(), dir: dir.clone(), type_: t.clone(), ti: None })
            .collect();
        let rendered =
            render_all(&st, targets.iter().map(|t| (t.clone(), Mode::Auto, view.clone())).collect()).await;
        let url = PageUrl { path: format!("/host/{}/plugin/{}", seg(&host), seg(&dir)), fixed: Vec::new(), mode: None };
        let range = view.resolve().ok();
        let body = html! {
            section.intro {
                h1 { (dir) }
                p.muted { "Plugin " code { (d.plugin) } @if let Some(i) = &d.instance { ", instance " code { (i) } } " on " a href=(link(&host_path(&host), &[], &view)) { (host) } " · " (d.files.len()) " files" }
            }
            (range_bar(&url, &view, range.as_ref()))
            @for (t, r) in targets.iter().zip(&rendered) {
                @let Target::Plugin { type_, .. } = t else { continue };
                @let files: Vec<_> = d.files.values().filter(|f| &f.id.type_ == type_).collect();
                @let add: Vec<(String, String)> = if files.len() <= 4 {
                    files.iter().map(|f| (format!("{} to graph", collectd_rrd::naming::join_instance(&f.id.type_, f.id.type_instance.as_deref())), file_ref(f).to_param())).collect()
                } else { Vec::new() };
                (figure(&Figure { target: t, mode: Mode::Auto, view: &view, heading: Some((type_.clone(), Some(t.detail_url(&without_size(&view), Mode::Auto)))), rendered: Some(r), add, interactive: true }))
            }
        };
        let crumbs = range_crumbs(&view, &[(&host, Some(link(&host_path(&host), &[], &view))), (&dir, None)]);
        Ok::<_, Problem>(layout(&format!("{dir} on {host}"), "plugin", &crumbs, "", body))
    }
    .await;
    page_response(r)
}

/// `GET /host/{host}/plugin/{dir}/type/{type}?ti=&mode=`: one type large.
pub async fn type_page(
    State(st): State<AppState>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    RawQuery(q): RawQuery,
) -> Response {
    let r = async {
        let (host, dir, ty) = path_of(path)?;
        let p = Params::parse(q.as_deref(), &["ti", "mode", "start", "end", "w", "h"])?;
        let ti = p.name("ti")?;
        let target = Target::Plugin { host: host.clone(), dir: dir.clone(), type_: ty.clone(), ti: ti.clone() };
        let mode = target.mode(&p)?;
        let view = View::from_params(&p, DETAIL_SIZE)?;
        let snap = st.snapshot();
        let view = fit_to_hosts(&st, view, snap.host(&host));
        let d = lookup_dir(&snap, &host, &dir, &view)?;
        let type_path = format!("/host/{}/plugin/{}/type/{}", seg(&host), seg(&dir), seg(&ty));
        let files: Vec<_> = d.files.values().filter(|f| f.id.type_ == ty).collect();
        let all_files = || {
            d.files
                .values()
                .map(|f| {
                    let name = collectd_rrd::naming::join_instance(&f.id.type_, f.id.type_instance.as_deref());
                    (name, file_href(f))
                })
                .collect::<Vec<_>>()
        };
        if files.is_empty() {
            return Err(Problem::not_found(format!("type {ty:?} not found in {host}/{dir}")).nearby_links(all_files()));
        }
        if let Some(ti) = &ti
            && !files.iter().any(|f| f.id.type_instance.as_deref() == Some(ti))
        {
            return Err(Problem::not_found(format!("type instance {ti:?} of {ty:?} not found in {host}/{dir}"))
                .nearby_links(all_files()));
        }
        let rendered = render_all(&st, vec![(target.clone(), mode, view.clone())]).await;
        let fixed: Vec<(String, String)> = ti.iter().map(|t| ("ti".to_owned(), t.clone())).collect();
        let url = PageUrl { path: type_path.clone(), fixed, mode: (mode != target.default_mode()).then(|| mode.name()) };
        let range = rendered[0].as_ref().ok().map(|o| o.range).or_else(|| view.resolve().ok());
        let shown: Vec<_> = files.iter().filter(|f| ti.is_none() || f.id.type_instance == ti).collect();
        let add: Vec<(String, String)> = if shown.len() <= 4 {
            shown
                .iter()
                .map(|f| {
                    let n = collectd_rrd::naming::join_instance(&f.id.type_, f.id.type_instance.as_deref());
                    (format!("{n} to graph"), file_ref(f).to_param())
                })
                .collect()
        } else {
            Vec::new()
        };
        let page_view = without_size(&view);
        let title = match &ti {
            Some(t) => format!("{ty}-{t}"),
            None => ty.clone(),
        };
        let body = html! {
            section.intro {
                h1 { (title) }
                p.muted { "Type " code { (ty) } " of " a href=(link(&format!("/host/{}/plugin/{}", seg(&host), seg(&dir)), &[], &view)) { (dir) } " on " a href=(link(&host_path(&host), &[], &view)) { (host) } }
            }
            (mode_bar(&url, &view, &target, mode))
            (range_bar(&url, &view, range.as_ref()))
            (figure(&Figure { target: &target, mode, view: &view, heading: None, rendered: Some(&rendered[0]), add, interactive: true }))
            div.hover-readout #readout aria-live="polite" {}
            @if files.len() > 1 || ti.is_some() {
                section.specifics {
                    h2 { "Instances" }
                    ul.links {
                        li { a.active[ti.is_none()] href=(link(&type_path, &[], &page_view)) { "all" } }
                        @for f in &files {
                            @let name = f.id.type_instance.clone().unwrap_or_else(|| "(none)".into());
                            li {
                                @match &f.id.type_instance {
                                    Some(i) => a.active[ti.as_deref() == Some(i.as_str())] href=(link(&type_path, &[("ti", i)], &page_view)) { (name) },
                                    None => span { (name) },
                                }
                                (add_link(&file_ref(f).to_param(), "+ add to graph", &page_view))
                            }
                        }
                    }
                }
            }
        };
        let crumbs = range_crumbs(
            &view,
            &[
                (&host, Some(link(&host_path(&host), &[], &view))),
                (&dir, Some(link(&format!("/host/{}/plugin/{}", seg(&host), seg(&dir)), &[], &view))),
                (&title, None),
            ],
        );
        Ok::<_, Problem>(layout(&format!("{title} · {dir} on {host}"), "type", &crumbs, "", body))
    }
    .await;
    page_response(r)
}

/// `GET /combine?s=host/dir/file[/ds]&…&mode=`: a graph of any series, with their order,
/// removal and the drawing mode in the URL.
pub async fn combine(State(st): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let r = async {
        let p = Params::parse(q.as_deref(), &["s", "mode", "start", "end", "w", "h", "q"])?;
        let find = p.one("q")?.unwrap_or("").trim().to_owned();
        let target = Target::combine(&p.all("s"))?;
        let series = match &target {
            Target::Combine { series } => series.clone(),
            _ => Vec::new(),
        };
        let mode = target.mode(&p)?;
        let view = View::from_params(&p, DETAIL_SIZE)?;
        let snap = st.snapshot();
        let view = fit_to_hosts(&st, view, series.iter().filter_map(|s| snap.host(&s.host)));
        let crumbs = range_crumbs(&view, &[("Combined graph", None)]);
        if series.is_empty() {
            let body = html! {
                section.intro {
                    h1 { "Combined graph" }
                    p { "Nothing to combine yet. Use " strong { "+ Add to graph" } " on any graph or search result: the series collect in "
                        strong { "Combined graph" } " at the top right, and this page draws them together (as lines, stacked, or summed across hosts)." }
                    p.muted { "The page's URL holds the whole graph: share it, bookmark it." }
                }
                (add_series(&st, &series, mode, &target, &view, &find))
            };
            return Ok(layout("Combined graph", "combine", &crumbs, "", body));
        }
        let rendered = render_all(&st, vec![(target.clone(), mode, view.clone())]).await;
        if let Err(p) = &rendered[0]
            && p.status == StatusCode::NOT_FOUND
        {
            return Err(p.clone());
        }
        let with_series = |list: &[SeriesRef]| -> String {
            let mut q = Query::default();
            for s in list {
                q.push("s", &s.to_param());
            }
            if mode != target.default_mode() {
                q.push("mode", mode.name());
            }
            view.page_query(&mut q);
            q.url("/combine")
        };
        let fixed: Vec<(String, String)> = series.iter().map(|s| ("s".to_owned(), s.to_param())).collect();
        let url = PageUrl { path: "/combine".into(), fixed, mode: (mode != target.default_mode()).then(|| mode.name()) };
        let range = rendered[0].as_ref().ok().map(|o| o.range).or_else(|| view.resolve().ok());
        let snap = st.snapshot();
        let rows: Vec<_> = (0..series.len())
            .map(|i| {
                let s = &series[i];
                let up = (i > 0).then(|| {
                    let mut l = series.clone();
                    l.swap(i, i - 1);
                    with_series(&l)
                });
                let down = (i + 1 < series.len()).then(|| {
                    let mut l = series.clone();
                    l.swap(i, i + 1);
                    with_series(&l)
                });
                let mut l = series.clone();
                l.remove(i);
                let page = snap
                    .hosts
                    .get(&s.host)
                    .and_then(|h| h.plugins.get(&s.dir))
                    .and_then(|d| d.files.get(&s.file))
                    .map(|f| {
                        let mut label = file_label(f);
                        if let Some(ds) = &s.ds {
                            label.push_str(&format!(" › {ds}"));
                        }
                        (file_href(f), label)
                    });
                (s.clone(), page, up, down, with_series(&l))
            })
            .collect();
        let body = html! {
            section.intro {
                h1 { "Combined graph" }
                p.muted { (series.len()) " series · the URL holds the whole graph" }
            }
            (mode_bar(&url, &view, &target, mode))
            (range_bar(&url, &view, range.as_ref()))
            (figure(&Figure { target: &target, mode, view: &view, heading: None, rendered: Some(&rendered[0]), add: Vec::new(), interactive: true }))
            div.hover-readout #readout aria-live="polite" {}
            section.series-list {
                h2 { "Series" }
                ol #series {
                    @for (s, page, up, down, removed) in &rows {
                        li data-ref=(s.to_param()) {
                            @match page {
                                Some((href, label)) => { a href=(href) { (label) } " " code.muted.small { (s.to_param()) } },
                                None => code { (s.to_param()) },
                            }
                            span.actions {
                                @if let Some(u) = up { a.move-up href=(u) title="Move up" { "↑" } }
                                @if let Some(d) = down { a.move-down href=(d) title="Move down" { "↓" } }
                                a.remove href=(removed) title="Remove from the graph" { "✕" }
                            }
                        }
                    }
                }
                p { a.clear href="/combine" data-clear="1" { "Clear the combined graph" } }
            }
            (add_series(&st, &series, mode, &target, &view, &find))
        };
        Ok::<_, Problem>(layout("Combined graph", "combine", &crumbs, "", body))
    }
    .await;
    page_response(r)
}

/// Most search results offered on the combined graph's page.
const ADD_RESULTS: usize = 20;

/// The combined graph's "add a series" form: a search whose results link to this graph
/// with one more series (adding without JavaScript).
fn add_series(st: &AppState, series: &[SeriesRef], mode: Mode, target: &Target, view: &View, find: &str) -> Markup {
    let with = |extra: &SeriesRef| {
        let mut q = Query::default();
        for s in series.iter().chain([extra]) {
            q.push("s", &s.to_param());
        }
        if mode != target.default_mode() {
            q.push("mode", mode.name());
        }
        view.page_query(&mut q);
        q.url("/combine")
    };
    let hits: Vec<(String, SeriesRef)> = if find.is_empty() {
        Vec::new()
    } else {
        let snap = st.snapshot();
        let idx = st.search_index(&snap);
        idx.search(find, ADD_RESULTS).1.into_iter().map(|e| (e.label.clone(), e.sref.clone())).collect()
    };
    html! {
        section.add-series {
            h2 { "Add a series" }
            form.find method="get" action="/combine" role="search" {
                @for s in series { input type="hidden" name="s" value=(s.to_param()); }
                @if mode != target.default_mode() { input type="hidden" name="mode" value=(mode.name()); }
                @if !view.defaulted || view.start_text != super::params::DEFAULT_START { input type="hidden" name="start" value=(view.start_text); }
                @if view.end_text != super::params::DEFAULT_END { input type="hidden" name="end" value=(view.end_text); }
                label { "Find " input type="search" name="q" value=(find) placeholder="host, category, stat, plugin"; }
                button type="submit" { "Find" }
            }
            @if !find.is_empty() {
                @if hits.is_empty() { p.muted { "No series match " code { (find) } "." } }
                ul.results {
                    @for (label, sref) in &hits {
                        li {
                            (label) " "
                            @if series.contains(sref) { span.muted { "(in the graph)" } }
                            @else { a.add-here href=(with(sref)) aria-label={ "+ add " (label) " to this graph" } { "+ add" } }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /command?<graph parameters>`: the exact `rrdtool graph` and `rrdtool xport`
/// command lines of a graph, shell-quoted.
pub async fn command(State(st): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let r = async {
        let req = GraphRequest::parse(q.as_deref())?;
        let back = req.target.detail_url(&req.view, req.mode);
        let req2 = req.clone();
        let st2 = st.clone();
        let (graph, xport) = st2.rendering(move |st| command_lines(st, &req2)).await?;
        let crumbs = range_crumbs(&req.view, &[("Graph", Some(back.clone())), ("rrdtool command", None)]);
        let body = html! {
            section.intro {
                h1 { "rrdtool command" }
                p.muted { "The exact command line of " a href=(back) { "this graph" } ", shell-quoted: paste it into a shell to make the same image. "
                    "(The server runs the same arguments in rrdtool's pipe mode, as " code { "graphv -" } ".)" }
            }
            div.command {
                button.copy type="button" data-copy="cmd" { "Copy" }
                pre #cmd { (graph) }
            }
            h2 { "Its data" }
            div.command {
                button.copy type="button" data-copy="xport" { "Copy" }
                pre #xport { (xport) }
            }
        };
        Ok::<_, Problem>(layout("rrdtool command", "command", &crumbs, "", body))
    }
    .await;
    page_response(r)
}

/// Any other path: a 404 page.
pub async fn not_found(uri: Uri) -> Response {
    Problem::not_found(format!("there is no page at {}", uri.path()))
        .nearby_links(vec![("Overview".into(), "/".into()), ("Combined graph".into(), "/combine".into())])
        .into_response()
}
