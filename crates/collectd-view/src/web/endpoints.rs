//! The non-page routes: graph images (`/graph.png`, `/graph.svg`, `/graph.pdf`) with caching headers,
//! their geometry (`/graph.json`), their data (`/data.csv`, `/data.json`), the rrdtool
//! command line (`/command.txt`), search (`/search.json`) and the embedded assets.

use std::fmt::Write;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::params::{BadParam, GRAPH_KEYS, Mode, Params, Target, View};
use super::{AppState, GraphOut, Problem, cache, style_options, time};
use collectd_rrd::graph::{Format, Graph, escape};
use collectd_rrd::rrdtool::Xport;

/// Size of a graph requested without `w`/`h`.
pub const DEFAULT_SIZE: (u32, u32) = (800, 300);

/// What a graph endpoint was asked for.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    /// What.
    pub target: Target,
    /// How.
    pub mode: Mode,
    /// Range and size.
    pub view: View,
    /// A sparkline (plot only).
    pub spark: bool,
    /// As a download.
    pub download: bool,
    /// rrdtool's `--zoom`: 2 for screens of twice the density (1 otherwise).
    pub zoom: u32,
}

impl GraphRequest {
    /// Reads a graph endpoint's query.
    pub fn parse(query: Option<&str>) -> Result<GraphRequest, Problem> {
        let p = Params::parse(query, GRAPH_KEYS)?;
        let target = Target::from_params(&p)?;
        let mode = target.mode(&p)?;
        let view = View::from_params(&p, DEFAULT_SIZE)?;
        let zoom = match p.one("zoom")? {
            None | Some("1") => 1,
            Some("2") => 2,
            Some(v) => return Err(BadParam::new("zoom", format!("{v:?} is not 1 or 2")).into()),
        };
        Ok(GraphRequest { target, mode, view, spark: p.flag("spark")?, download: p.flag("dl")?, zoom })
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}

/// A file name made from a title: `[A-Za-z0-9_-]`, other runs as `_`.
pub fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() || c == '-' {
            s.push(c);
        } else if !s.ends_with('_') {
            s.push('_');
        }
    }
    let s = s.trim_matches('_');
    if s.is_empty() { "graph".to_owned() } else { s.chars().take(100).collect() }
}

/// Wraps `text` at about `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split(' ') {
            if !line.is_empty() && line.chars().count() + word.chars().count() + 1 > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            while line.chars().count() > width {
                let cut: String = line.chars().take(width).collect();
                line = line.chars().skip(width).collect();
                lines.push(cut);
            }
        }
        lines.push(line);
    }
    lines.truncate(20);
    lines
}

/// An SVG image saying what went wrong, for `<img>` elements: a graph that cannot be
/// drawn shows the reason instead of a broken image.
pub fn error_svg(p: &Problem) -> String {
    let esc = |s: &str| maud::html! { (s) }.into_string();
    let mut text = p.detail.clone();
    if !p.nearby.is_empty() {
        let names: Vec<&str> = p.nearby.iter().map(|(n, _)| n.as_str()).collect();
        text.push_str(&format!("\navailable: {}", names.join(", ")));
    }
    let lines = wrap(&text, 88);
    let w = 640;
    let h = 46 + 17 * lines.len();
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\
         <rect x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"{}\" rx=\"4\" fill=\"#fdf3f2\" stroke=\"#d9534f\"/>\
         <text x=\"14\" y=\"24\" font-family=\"DejaVu Sans, sans-serif\" font-size=\"14\" font-weight=\"bold\" fill=\"#a12622\">{}</text>",
        w - 1,
        h - 1,
        esc(&p.title)
    );
    for (i, l) in lines.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"14\" y=\"{}\" font-family=\"DejaVu Sans Mono, monospace\" font-size=\"12\" fill=\"#2b3137\">{}</text>",
            46 + 17 * i,
            esc(l)
        );
    }
    s.push_str("</svg>");
    s
}

fn image_problem(p: Problem, headers: &HeaderMap) -> Response {
    if wants_html(headers) {
        return p.into_response();
    }
    let mut r = (p.status, error_svg(&p)).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&p.title) {
        h.insert("x-graph-error", v);
    }
    r
}

fn data_problem(p: Problem, headers: &HeaderMap) -> Response {
    if wants_html(headers) {
        return p.into_response();
    }
    let available: Vec<&str> = p.nearby.iter().map(|(n, _)| n.as_str()).collect();
    let body = json!({ "error": p.title, "detail": p.detail, "available": available }).to_string();
    (p.status, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body).into_response()
}

fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

async fn render(st: AppState, req: GraphRequest, format: Format) -> Result<GraphOut, Problem> {
    st.rendering(move |st| st.render(&req.target, req.mode, &req.view, format, req.spark, req.zoom)).await
}

async fn graph(st: AppState, headers: HeaderMap, query: Option<String>, format: Format) -> Response {
    let req = match GraphRequest::parse(query.as_deref()) {
        Ok(r) => r,
        Err(p) => return image_problem(p, &headers),
    };
    let download = req.download;
    let target = req.target.clone();
    let out = match render(st.clone(), req, format).await {
        Ok(o) => o,
        Err(p) => return image_problem(p, &headers),
    };
    let img = &out.rendered;
    let cache_control = format!("public, max-age={}", out.max_age);
    let mut common = vec![
        (header::ETAG, img.etag.clone()),
        (header::CACHE_CONTROL, cache_control),
        (header::VARY, "Accept".to_owned()),
    ];
    if let Some(t) = img.last_modified {
        common.push((header::LAST_MODIFIED, httpdate::fmt_http_date(t)));
    }
    let mut response = if etag_matches(&headers, &img.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, img.data.clone()).into_response()
    };
    let ok = response.status() == StatusCode::OK;
    let h = response.headers_mut();
    for (k, v) in common {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    }
    if ok {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.mime()));
        if download {
            let name = match &target {
                Target::Stat { host, cat, stat, .. } => format!("{host}_{cat}_{stat}"),
                Target::Plugin { host, dir, type_, .. } => format!("{host}_{dir}_{type_}"),
                Target::Combine { .. } => "combined".to_owned(),
            };
            let v = format!("attachment; filename=\"{}.{}\"", slug(&name), format.extension());
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
        }
    }
    response
}

/// `GET /graph.png`: the graph as PNG.
pub async fn graph_png(State(st): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    graph(st, headers, q, Format::Png).await
}

/// `GET /graph.svg`: the graph as SVG.
pub async fn graph_svg(State(st): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    graph(st, headers, q, Format::Svg).await
}

/// `GET /graph.pdf`: the graph as PDF.
pub async fn graph_pdf(State(st): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    graph(st, headers, q, Format::Pdf).await
}

/// Seconds between automatic reloads of a relative graph: one pixel of time, at least
/// 10 s, at most 5 min; 0 for an absolute range.
pub fn refresh_seconds(range: &time::Resolved, width: u32) -> i64 {
    if range.relative { range.pixel(width).clamp(10, 300) } else { 0 }
}

/// The geometry of a rendered graph as JSON (for zooming and hovering).
pub fn geometry_json(out: &GraphOut, width: u32) -> serde_json::Value {
    let g = &out.rendered.geometry;
    json!({
        "graph_left": g.graph_left,
        "graph_top": g.graph_top,
        "graph_width": g.graph_width,
        "graph_height": g.graph_height,
        "image_width": g.image_width,
        "image_height": g.image_height,
        "start": g.start,
        "end": g.end,
        "value_min": g.value_min,
        "value_max": g.value_max,
        "relative": out.range.relative,
        "refresh": refresh_seconds(&out.range, width),
        "etag": out.rendered.etag,
        "zoom": out.rendered.zoom,
        "has_data": out.rendered.has_data(),
        "unit": out.rendered.unit,
        "values": out.rendered.values.iter().map(|v| json!({"min": v[0], "avg": v[1], "max": v[2], "last": v[3]})).collect::<Vec<_>>(),
    })
}

/// `GET /graph.json`: where the plot is in the image and what range it shows.
pub async fn graph_json(State(st): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let req = match GraphRequest::parse(q.as_deref()) {
        Ok(r) => r,
        Err(p) => return data_problem(p, &headers),
    };
    let width = req.view.width;
    match render(st, req, Format::Png).await {
        Ok(out) => {
            let body = geometry_json(&out, width).to_string();
            ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-cache")], body).into_response()
        }
        Err(p) => data_problem(p, &headers),
    }
}

async fn xport(st: AppState, query: Option<String>) -> Result<(GraphRequest, Graph, Xport), Problem> {
    let req = GraphRequest::parse(query.as_deref())?;
    let r2 = req.clone();
    let (g, x) = st.rendering(move |st| st.xport(&r2.target, r2.mode, &r2.view)).await?;
    Ok((req, g, x))
}

fn attachment(title: &str, ext: &str) -> String {
    format!("attachment; filename=\"{}.{ext}\"", slug(title))
}

/// CSV of an xport: `time,utc,<legend>…`, empty cells for unknown values.
pub fn to_csv(x: &Xport) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
    };
    let mut out = String::from("time,utc");
    for l in &x.legends {
        out.push(',');
        out.push_str(&field(l.trim()));
    }
    out.push('\n');
    for (t, values) in &x.rows {
        let _ = write!(out, "{t},{}", time::Utc(*t).to_string().trim_end_matches(" UTC"));
        for v in values {
            out.push(',');
            if let Some(v) = v {
                let _ = write!(out, "{v}");
            }
        }
        out.push('\n');
    }
    out
}

/// JSON of an xport: valid JSON made by us (rrdtool's own is not always valid).
pub fn to_json(title: &str, x: &Xport) -> serde_json::Value {
    let legends: Vec<&str> = x.legends.iter().map(|l| l.trim()).collect();
    let mut columns = vec!["time"];
    columns.extend(legends.iter().copied());
    let rows: Vec<serde_json::Value> = x
        .rows
        .iter()
        .map(|(t, vs)| {
            let mut row = vec![json!(t)];
            row.extend(vs.iter().map(|v| json!(v)));
            serde_json::Value::Array(row)
        })
        .collect();
    json!({
        "title": title,
        "start": x.start,
        "end": x.end,
        "step": x.step,
        "legends": legends,
        "columns": columns,
        "rows": rows,
    })
}

/// `GET /data.csv`: the values the graph draws, as CSV.
pub async fn data_csv(State(st): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    match xport(st, q).await {
        Ok((_, g, x)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, attachment(&g.title, "csv")),
                (header::CACHE_CONTROL, "no-cache".to_owned()),
            ],
            to_csv(&x),
        )
            .into_response(),
        Err(p) => data_problem(p, &headers),
    }
}

/// `GET /data.json`: the values the graph draws, as JSON.
pub async fn data_json(State(st): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    match xport(st, q).await {
        Ok((req, g, x)) => {
            let mut r = (
                [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-cache")],
                to_json(&g.title, &x).to_string(),
            )
                .into_response();
            if req.download
                && let Ok(v) = HeaderValue::from_str(&attachment(&g.title, "json"))
            {
                r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Err(p) => data_problem(p, &headers),
    }
}

/// The shell-quoted `rrdtool graph` and `rrdtool xport` command lines of a request, exactly
/// as the server runs them (pipe mode aside: `graphv -` instead of `graph FILE`).
pub fn command_lines(st: &AppState, req: &GraphRequest) -> Result<(String, String), Problem> {
    let built = st.build(&req.target, req.mode, &req.view)?;
    let mut argv = vec!["rrdtool".to_owned(), "graph".to_owned(), "graph.png".to_owned()];
    argv.extend(style_options(req.spark, req.zoom));
    argv.extend(built.graph.args()?);
    let mut x = vec!["rrdtool".to_owned(), "xport".to_owned()];
    x.extend(built.graph.xport_args()?);
    Ok((escape::shell_line(&argv), escape::shell_line(&x)))
}

/// `GET /command.txt`: the `rrdtool graph` command line as plain text.
pub async fn command_text(State(st): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let r = async {
        let req = GraphRequest::parse(q.as_deref())?;
        st.rendering(move |st| command_lines(st, &req)).await
    }
    .await;
    match r {
        Ok((g, _)) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], g + "\n").into_response(),
        Err(p) => {
            (p.status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{}: {}\n", p.title, p.detail))
                .into_response()
        }
    }
}

/// Most search results returned.
pub const MAX_RESULTS: usize = 500;

/// `GET /search.json?q=&limit=`: series whose names contain every word of `q`.
pub async fn search_json(State(st): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let r = (|| -> Result<(String, usize), Problem> {
        let p = Params::parse(q.as_deref(), &["q", "limit"])?;
        let query = p.one("q")?.unwrap_or("").to_owned();
        let limit = match p.one("limit")? {
            None => 100,
            Some(v) => v.parse::<usize>().ok().filter(|n| (1..=MAX_RESULTS).contains(n)).ok_or_else(|| {
                Problem::from(super::params::BadParam::new("limit", format!("must be 1 to {MAX_RESULTS}")))
            })?,
        };
        Ok((query, limit))
    })();
    let (query, limit) = match r {
        Ok(x) => x,
        Err(p) => return data_problem(p, &headers),
    };
    let t0 = Instant::now();
    let snap = st.snapshot();
    let idx = st.search_index(&snap);
    let (total, hits) = idx.search(&query, limit);
    let results: Vec<serde_json::Value> = hits
        .iter()
        .map(|e| json!({ "label": e.label, "href": e.href, "ref": e.sref.to_param(), "host": e.host }))
        .collect();
    let body = json!({
        "q": query,
        "total": total,
        "series": idx.len(),
        "shown": results.len(),
        "results": results,
        "micros": t0.elapsed().as_micros() as u64,
    });
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-cache")], body.to_string())
        .into_response()
}

/// The embedded assets: name, MIME type, contents.
const ASSETS: &[(&str, &str, &str)] = &[
    ("app.css", "text/css; charset=utf-8", include_str!("assets/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("assets/app.js")),
    ("favicon.svg", "image/svg+xml", include_str!("assets/favicon.svg")),
];

/// The version tag of an asset (for cache-busting URLs).
pub fn asset_version(name: &str) -> &'static str {
    static VERSIONS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let v = VERSIONS.get_or_init(|| {
        ASSETS.iter().map(|(n, _, body)| (*n, cache::etag_of(body).trim_matches('"')[..8].to_owned())).collect()
    });
    v.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap_or("0")
}

fn serve_asset(name: &str, headers: &HeaderMap) -> Response {
    let Some((_, mime, body)) = ASSETS.iter().find(|(n, _, _)| *n == name) else {
        return Problem::not_found(format!("asset {name:?}")).into_response();
    };
    let etag = format!("\"{}\"", asset_version(name));
    let cc = "public, max-age=86400";
    if etag_matches(headers, &etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, cc.to_owned())])
            .into_response();
    }
    ([(header::CONTENT_TYPE, (*mime).to_owned()), (header::ETAG, etag), (header::CACHE_CONTROL, cc.to_owned())], *body)
        .into_response()
}

/// `GET /assets/{name}`: an embedded asset.
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve_asset(&name, &headers)
}

/// `GET /favicon.ico`: the icon (SVG).
pub async fn favicon(headers: HeaderMap) -> Response {
    serve_asset("favicon.svg", &headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_are_valid() {
        let x = Xport {
            start: 10,
            end: 20,
            step: 10,
            legends: vec!["a, \"b\"".into(), "c".into()],
            rows: vec![(10, vec![Some(1.5), None]), (20, vec![None, Some(2.0)])],
        };
        assert_eq!(to_csv(&x), "time,utc,\"a, \"\"b\"\"\",c\n10,1970-01-01 00:00:10,1.5,\n20,1970-01-01 00:00:20,,2\n");
        let j = to_json("t", &x);
        assert_eq!(j["columns"], json!(["time", "a, \"b\"", "c"]));
        assert_eq!(j["rows"][0], json!([10, 1.5, null]));
    }

    #[test]
    fn error_image_escapes() {
        let p = Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "x", "<script>alert(1)</script> & more");
        let s = error_svg(&p);
        assert!(s.contains("&lt;script&gt;") && !s.contains("<script>"));
        assert_eq!(slug("coin_stats / flips on web1"), "coin_stats_flips_on_web1");
        assert_eq!(slug("///"), "graph");
    }
}
