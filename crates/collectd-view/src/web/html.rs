//! The markup shared by every page: the layout (header, search box, breadcrumbs), graph
//! figures with their toolbar, the range bar (presets, custom range, pan and zoom), the
//! mode switch, and the error page. `maud` escapes every interpolated value.

use std::time::SystemTime;

use maud::{DOCTYPE, Markup, html};

use super::endpoints::{asset_version, refresh_seconds};
use super::params::{Mode, Query, Target, View, graph_url};
use super::time::{self, PRESETS, Resolved, Utc, human_duration};
use super::{GraphOut, Problem};

/// One breadcrumb: its text and, except for the current page, its link.
pub type Crumb = (String, Option<String>);

/// The page layout: header with search box and the combined-graph basket, breadcrumbs,
/// then `body`. `page` names the page for the script (`data-page`).
pub fn layout(title: &str, page: &str, crumbs: &[Crumb], q: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · collectd-view" }
                link rel="icon" href={ "/assets/favicon.svg?v=" (asset_version("favicon.svg")) } type="image/svg+xml";
                link rel="stylesheet" href={ "/assets/app.css?v=" (asset_version("app.css")) };
            }
            body data-page=(page) {
                header.top {
                    a.brand href="/" { span.logo { "◔" } " collectd-view" }
                    form.search action="/" method="get" role="search" {
                        input #q type="search" name="q" value=(q) placeholder="Search series… (host, category, stat, plugin)"
                            autocomplete="off" aria-label="Search series";
                    }
                    nav.tools {
                        button.linkish #save-view type="button" title="Save this page's URL under a name (kept in this browser)" { "☆ Save view" }
                        a #basket href="/combine" title="The graph you are combining from 'Add to graph'" {
                            "Combined graph " span.count #basket-count { "0" }
                        }
                    }
                }
                nav.crumbs aria-label="Breadcrumbs" {
                    @for (i, (label, href)) in crumbs.iter().enumerate() {
                        @if i > 0 { span.sep aria-hidden="true" { "›" } }
                        @match href {
                            Some(h) => a href=(h) { (label) },
                            None => span.current aria-current="page" { (label) },
                        }
                    }
                }
                div #announce .sr-only aria-live="polite" {}
                main { (body) }
                footer { "collectd-view · graphs by rrdtool · data from collectd" }
                script src={ "/assets/app.js?v=" (asset_version("app.js")) } {}
            }
        }
    }
}

/// The error page of a [`Problem`].
pub fn problem_page(p: &Problem) -> Markup {
    let crumbs = vec![("Overview".to_owned(), Some("/".to_owned())), (p.title.clone(), None)];
    let body = html! {
        section.problem {
            h1 { (p.status.as_u16()) " · " (p.title) }
            p.detail { (p.detail) }
            @if !p.nearby.is_empty() {
                h2 { "What exists here" }
                ul.nearby {
                    @for (name, link) in &p.nearby {
                        li { @match link { Some(l) => a href=(l) { (name) }, None => code { (name) } } }
                    }
                }
            }
            p { a href="/" { "← Back to the overview" } }
        }
    };
    layout(&p.title, "problem", &crumbs, "", body)
}

/// A page's URL: its path, the parameters that stay (selection), and the mode.
#[derive(Debug, Clone, Default)]
pub struct PageUrl {
    /// The path (already encoded).
    pub path: String,
    /// Parameters other than range, size and mode.
    pub fixed: Vec<(String, String)>,
    /// The mode parameter, when not the default.
    pub mode: Option<&'static str>,
}

impl PageUrl {
    fn query(&self, mode: Option<&str>, view: &View) -> String {
        let mut q = Query::default();
        for (k, v) in &self.fixed {
            q.push(k, v);
        }
        if let Some(m) = mode {
            q.push("mode", m);
        }
        view.page_query(&mut q);
        q.url(&self.path)
    }

    /// This page over `view`.
    pub fn with_view(&self, view: &View) -> String {
        self.query(self.mode, view)
    }

    /// This page in another mode (`None`: the default).
    pub fn with_mode(&self, mode: Option<&str>, view: &View) -> String {
        self.query(mode, view)
    }
}

/// `end-<span>` in the largest unit that divides it.
pub fn relative_start(span: i64) -> String {
    for (unit, secs) in [("y", 365 * 86_400), ("w", 604_800), ("d", 86_400), ("h", 3600), ("min", 60)] {
        if span % secs == 0 {
            return format!("end-{}{unit}", span / secs);
        }
    }
    format!("end-{span}")
}

/// The view moved or zoomed to `start..end`; a range reaching now becomes relative (live).
fn moved(view: &View, start: i64, end: i64, now: i64) -> View {
    let span = (end - start).clamp(time::MIN_SPAN, time::MAX_SPAN);
    if end >= now {
        view.with_range(&relative_start(span), "now")
    } else {
        view.with_range(&start.to_string(), &end.to_string())
    }
}

/// The range bar: presets, pan and zoom, the custom range form, and whether it is live.
pub fn range_bar(url: &PageUrl, view: &View, range: Option<&Resolved>) -> Markup {
    let now = time::now();
    let is_preset = |start: &str| view.start_text == start && view.end_text == "now";
    html! {
        div.rangebar {
            div.presets role="group" aria-label="Time range" {
                @for (label, start, _) in PRESETS {
                    @let v = view.with_range(start, "now");
                    a.preset.active[is_preset(start)] href=(url.with_view(&v)) { (label) }
                }
            }
            @if let Some(r) = range {
                @let span = r.span();
                @let half = span / 2;
                @let mid = r.start + half;
                div.nav role="group" aria-label="Pan and zoom" {
                    a #pan-earlier href=(url.with_view(&moved(view, r.start - half, r.end - half, now))) title="Earlier (←)" { "◀" }
                    @if span / 2 >= time::MIN_SPAN {
                        a #zoom-in href=(url.with_view(&moved(view, mid - span / 4, mid + span / 4, now))) title="Zoom in (+)" { "+" }
                    }
                    a #zoom-out href=(url.with_view(&moved(view, mid - span, mid + span, now))) title="Zoom out (−)" { "−" }
                    a #pan-later href=(url.with_view(&moved(view, r.start + half, r.end + half, now))) title="Later (→)" { "▶" }
                }
            }
            form.custom method="get" action=(url.path) {
                @for (k, v) in &url.fixed { input type="hidden" name=(k) value=(v); }
                @if let Some(m) = url.mode { input type="hidden" name="mode" value=(m); }
                @if view.sized {
                    input type="hidden" name="w" value=(view.width);
                    input type="hidden" name="h" value=(view.height);
                }
                label { "from " input #start name="start" value=(view.start_text) size="14" title="epoch seconds, or e.g. end-2d, now-6h"; }
                label { "to " input #end name="end" value=(view.end_text) size="14" title="epoch seconds, or e.g. now, now-1h"; }
                button type="submit" { "Apply" }
            }
            @if let Some(r) = range {
                @if r.relative {
                    span.badge.live title="Relative range: the graphs reload by themselves" {
                        "● live · every " (human_duration(refresh_seconds(r, view.width))) }
                } @else {
                    span.badge.fixed title="Absolute range: the graphs do not reload" {
                        "fixed · " (Utc(r.start)) " → " (Utc(r.end)) }
                }
            }
        }
    }
}

/// The mode switch of a target.
pub fn mode_bar(url: &PageUrl, view: &View, target: &Target, current: Mode) -> Markup {
    let label = |m: Mode| match (target, m) {
        (Target::Stat { .. }, Mode::Auto) => "stacked",
        (Target::Plugin { .. }, Mode::Auto) => "auto",
        (_, m) => match m {
            Mode::Sum => "sum across hosts",
            Mode::Average => "average across hosts",
            Mode::Min => "minimum across hosts",
            Mode::Max => "maximum across hosts",
            m => m.name(),
        },
    };
    html! {
        div.modes role="group" aria-label="How to draw" {
            span.muted { "Mode as " }
            @for m in target.modes() {
                @let mode = if *m == target.default_mode() { None } else { Some(m.name()) };
                a.mode.active[*m == current] data-mode=(m.name()) href=(url.with_mode(mode, view)) { (label(*m)) }
            }
        }
    }
}

/// A graph figure.
#[derive(Debug)]
pub struct Figure<'a> {
    /// What.
    pub target: &'a Target,
    /// How.
    pub mode: Mode,
    /// Range and size.
    pub view: &'a View,
    /// A heading, with a link.
    pub heading: Option<(String, Option<String>)>,
    /// The rendering made while building the page (its geometry is embedded).
    pub rendered: Option<&'a Result<GraphOut, Problem>>,
    /// "Add to graph" buttons: (label, series reference).
    pub add: Vec<(String, String)>,
    /// Drag to zoom and hover readout.
    pub interactive: bool,
}

/// The `<figure>` of a graph: the image (with its geometry as data attributes), and a
/// toolbar with downloads, data, the rrdtool command and "add to graph". A range without
/// any value says so in words, with a link to a range that has the newest value.
pub fn figure(f: &Figure) -> Markup {
    let png = graph_url("/graph.png", f.target, f.mode, f.view, &[]);
    let geo = graph_url("/graph.json", f.target, f.mode, f.view, &[]);
    let data = graph_url("/data.json", f.target, f.mode, f.view, &[]);
    let ok = f.rendered.and_then(|r| r.as_ref().ok());
    let err = f.rendered.and_then(|r| r.as_ref().err());
    let empty = ok.filter(|o| !o.rendered.has_data());
    html! {
        figure.graph {
            @if let Some((title, link)) = &f.heading {
                h3 { @match link { Some(l) => a href=(l) { (title) }, None => (title) } }
            }
            @if let Some(p) = err {
                div.graph-error role="alert" {
                    strong { (p.title) }
                    pre { (p.detail) }
                }
            } @else if let Some(o) = empty {
                (no_data(f, o))
            } @else {
                div.plot data-src=(png) data-geo=(geo) data-data=(data) data-interactive=(if f.interactive { "1" } else { "0" })
                    data-w=(f.view.width)
                    data-iw=[ok.map(|o| o.rendered.geometry.image_width)]
                    data-left=[ok.map(|o| o.rendered.geometry.graph_left)]
                    data-top=[ok.map(|o| o.rendered.geometry.graph_top)]
                    data-width=[ok.map(|o| o.rendered.geometry.graph_width)]
                    data-height=[ok.map(|o| o.rendered.geometry.graph_height)]
                    data-start=[ok.map(|o| o.rendered.geometry.start)]
                    data-end=[ok.map(|o| o.rendered.geometry.end)]
                    data-refresh=[ok.map(|o| refresh_seconds(&o.range, f.view.width))]
                {
                    img src=(png) alt=(alt_text(f, ok))
                        width=[ok.map(|o| o.rendered.geometry.image_width)]
                        height=[ok.map(|o| o.rendered.geometry.image_height)];
                }
            }
            figcaption.toolbar {
                @for (label, r) in &f.add {
                    (add_link(r, &format!("+ {label}"), f.view))
                }
                span.downloads {
                    a href=(graph_url("/graph.png", f.target, f.mode, f.view, &[("dl", "1")])) download { "PNG" }
                    a href=(graph_url("/graph.svg", f.target, f.mode, f.view, &[("dl", "1")])) download { "SVG" }
                    a href=(graph_url("/graph.pdf", f.target, f.mode, f.view, &[("dl", "1")])) download { "PDF" }
                    a.csv href=(graph_url("/data.csv", f.target, f.mode, f.view, &[])) download { "CSV" }
                    a href=(graph_url("/data.json", f.target, f.mode, f.view, &[("dl", "1")])) download { "JSON" }
                    a.command href=(graph_url("/command", f.target, f.mode, f.view, &[])) { "rrdtool command" }
                }
            }
        }
    }
}

/// A value with its unit, rounded to four significant digits.
pub fn with_unit(v: f64, unit: &str) -> String {
    let text = if v == 0.0 {
        "0".to_owned()
    } else if (1e-3..1e7).contains(&v.abs()) {
        let digits = (3_i32.saturating_sub(v.abs().log10().floor() as i32)).clamp(0, 6) as usize;
        let t = format!("{v:.digits$}");
        if t.contains('.') { t.trim_end_matches('0').trim_end_matches('.').to_owned() } else { t }
    } else {
        format!("{v:.3e}")
    };
    if unit.is_empty() { text } else { format!("{text} {unit}") }
}

/// A graph's alternative text: what it shows, over which range, and its last value.
fn alt_text(f: &Figure, ok: Option<&GraphOut>) -> String {
    let Some(o) = ok else {
        return f.heading.as_ref().map_or_else(|| "graph".to_owned(), |h| format!("graph of {}", h.0));
    };
    let r = &o.rendered;
    let what = if r.title.is_empty() { f.heading.as_ref().map_or("graph", |h| h.0.as_str()) } else { r.title.as_str() };
    let mut alt = format!("{what}, {}", time::range_words(&o.range));
    if let Some(last) = r.headline().and_then(|v| v[3]) {
        alt.push_str(&format!(": last value {}", with_unit(last, &r.unit)));
    }
    alt
}

/// What a graph without any value in its range shows instead: the newest value's age and a
/// link to a range that holds it.
fn no_data(f: &Figure, o: &GraphOut) -> Markup {
    let age =
        o.rendered.last_modified.and_then(|t| SystemTime::now().duration_since(t).ok()).map(|d| d.as_secs() as i64);
    html! {
        div.nodata role="status" {
            p {
                strong { "No data in this range" }
                " (" (time::range_words(&o.range)) ")"
                @if let Some(a) = age { " — the newest value is " (human_duration(a)) " old." } @else { "." }
            }
            @if let Some(a) = age {
                @let start = time::preset_covering(a);
                @let v = f.view.with_range(start, "now");
                p { a.with-data href=(f.target.detail_url(&v, f.mode)) { "Show " (time::range_words(&time::Resolved { start: time::now() - span_of(start), end: time::now(), relative: true })) } }
            }
        }
    }
}

fn span_of(start: &str) -> i64 {
    PRESETS.iter().find(|(_, s, _)| *s == start).map_or(86_400, |(_, _, span)| *span)
}

/// "Add to the combined graph": a link that opens the combined graph with the series
/// (so it works without JavaScript); the script keeps the visitor's collection instead and
/// says "added".
pub fn add_link(sref: &str, text: &str, view: &View) -> Markup {
    let mut q = Query::default();
    q.push("s", sref);
    let mut v = view.clone();
    v.sized = false;
    v.page_query(&mut q);
    html! {
        a.add href=(q.url("/combine")) data-ref=(sref) role="button" aria-label={ (text) ": add " (sref) " to the combined graph" } { (text) }
    }
}

/// A sparkline image linking to `href`.
pub fn sparkline(target: &Target, view: &View, href: &str, label: &str) -> Markup {
    spark_img(target, target.default_mode(), view, href, label)
}

/// A sparkline of `target` drawn as `mode`: lazily loaded (only those on screen are
/// requested), with its range in the alternative text; the script adds its minimum,
/// maximum and last value once it has loaded.
pub fn spark_img(target: &Target, mode: Mode, view: &View, href: &str, label: &str) -> Markup {
    let src = graph_url("/graph.png", target, mode, view, &[("spark", "1")]);
    let over = view.resolve().map(|r| time::range_words(&r)).unwrap_or_default();
    html! {
        a.spark href=(href) title=(label) {
            img src=(src) alt={ (label) ", " (over) } loading="lazy" width=(view.width) height=(view.height);
        }
    }
}

/// "updated 5 s ago", or a stale badge.
pub fn age_badge(newest: Option<SystemTime>, stale_after: i64) -> Markup {
    let Some(t) = newest else {
        return html! { span.badge.stale { "no data" } };
    };
    let age = SystemTime::now().duration_since(t).map(|d| d.as_secs() as i64).unwrap_or(0);
    let when = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    html! {
        @if age > stale_after {
            span.badge.stale title={ "last update " (Utc(when)) } { "stale · " (human_duration(age)) " ago" }
        } @else {
            span.badge.fresh title={ "last update " (Utc(when)) } { "updated " (human_duration(age)) " ago" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_to_four_digits_with_their_unit() {
        assert_eq!(with_unit(0.0, "jiffies"), "0 jiffies");
        assert_eq!(with_unit(177.6400001, ""), "177.6");
        assert_eq!(with_unit(0.017_24, "jiffies"), "0.01724 jiffies");
        assert_eq!(with_unit(2_000_000.0, "bytes"), "2000000 bytes");
        assert_eq!(with_unit(1.8446744073709552e19, ""), "1.845e19");
        assert_eq!(with_unit(-3.5, "%"), "-3.5 %");
    }
}
