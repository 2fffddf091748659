//! The exports, orders, overrides and thresholds of graphing-prior-art §6, at the HTTP
//! level and through the CLI, against RRD files made as collectd makes them and a real
//! rrdtool: PDF (§6.9), stacks ordered by value (§6.2), per-type overrides from a data file
//! (§6.4, §6.5), current values with thresholds on the overview (§6.11).

use testkit::fixture as support;

use std::process::Command;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use collectd_rrd::graph::style::GraphConfig;
use collectd_rrd::index::Index;
use collectd_rrd::rrdtool::{Pool, PoolConfig};
use collectd_view::web::{self, AppState, StateOptions};
use http_body_util::BodyExt;
use support::DataDir;
use tower::ServiceExt;

const STAT: &str = "host=h1&cat=coin_stats&stat=flips";

fn make_app(d: &DataDir, user_config: Option<&str>) -> Router {
    let index = Arc::new(Index::open(d.dir.path()).unwrap());
    let pool = Pool::new(PoolConfig::default()).unwrap();
    let mut config = GraphConfig::defaults();
    if let Some(text) = user_config {
        config.merge(&GraphConfig::parse(text, "test.toml").unwrap());
    }
    let state =
        AppState::with_options(index, pool, StateOptions { config: Some(Arc::new(config)), ..StateOptions::default() });
    web::router(state)
}

async fn get(app: &Router, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = app.clone().oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, ct, body)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_collectd-view")).args(args).output().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdf_export_everywhere() {
    if !support::require_rrdtool() {
        return;
    }
    let d = DataDir::build();
    let app = make_app(&d, None);
    let (status, ct, body) = get(&app, &format!("/graph.pdf?{STAT}&dl=1")).await;
    assert_eq!(status, StatusCode::OK, "{}", text(&body));
    assert_eq!(ct, "application/pdf");
    assert!(body.starts_with(b"%PDF"), "{:?}", &body[..body.len().min(20)]);
    // Every graph links its PDF next to PNG and SVG.
    let (_, _, page) = get(&app, "/host/h1/category/coin_stats").await;
    let page = text(&page);
    assert!(page.contains("/graph.pdf?") && page.contains(">PDF</a>"), "no PDF link");
    let (_, _, page) = get(&app, "/host/h1/plugin/load/type/load").await;
    assert!(text(&page).contains(">PDF</a>"));

    let dir = d.dir.path().to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("g.pdf");
    let base = ["graph", "--data-dir", dir, "--host", "h1", "--category", "coin_stats", "--stat", "flips"];
    let r = cli(&[&base[..], &["-o", out.to_str().unwrap()]].concat());
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(std::fs::read(&out).unwrap().starts_with(b"%PDF"), "format from the extension");
    let out2 = tmp.path().join("g.bin");
    let r = cli(&[&base[..], &["--format", "pdf", "-o", out2.to_str().unwrap()]].concat());
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(std::fs::read(&out2).unwrap().starts_with(b"%PDF"));
}

/// The specifics of `args` (DEF lines of one file each) in stack order, bottom first.
fn stack_order(command: &str) -> Vec<String> {
    let mut defs: Vec<(usize, String)> = Vec::new();
    for word in command.split_whitespace() {
        let w = word.trim_matches('\'');
        if let Some(rest) = w.strip_prefix("DEF:s")
            && let Some((i, def)) = rest.split_once('=')
            && let Ok(i) = i.parse::<usize>()
        {
            let name = def.split("gauge-coin_stats-").nth(1).unwrap_or("").split('-').next().unwrap_or("").to_owned();
            defs.push((i, name));
        }
    }
    defs.sort();
    defs.into_iter().map(|(_, n)| n).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stacks_are_ordered_by_value() {
    if !support::require_rrdtool() {
        return;
    }
    let d = DataDir::build();
    let app = make_app(&d, None);
    // Averages over the data: heads 2.0, tails 2.0, edge 1/7. Names order: edge, heads,
    // tails; by value: the two large ones at the bottom, edge on top.
    let (status, _, body) = get(&app, &format!("/command.txt?{STAT}&start=end-2h")).await;
    assert_eq!(status, StatusCode::OK, "{}", text(&body));
    let order = stack_order(&text(&body));
    assert_eq!(order.len(), 3, "{}", text(&body));
    assert_eq!(order[2], "edge", "the smallest on top: {order:?}");
    // The legend follows: the top of the stack first.
    let cmd = text(&body);
    let top = cmd.find("AREA:c2#").unwrap();
    let bottom = cmd.find("AREA:c0#").unwrap();
    assert!(top < bottom);
    // The export's columns follow the same order.
    let (_, _, csv) = get(&app, &format!("/data.csv?{STAT}&start=end-2h")).await;
    let header = text(&csv).lines().next().unwrap().to_owned();
    assert!(header.ends_with(",edge,flips (sum)"), "{header}");

    // The CLI too, and `--stack-order name` keeps the names' order.
    let dir = d.dir.path().to_str().unwrap();
    let base = ["graph", "--data-dir", dir, "--host", "h1", "--category", "coin_stats", "--stat", "flips"];
    let r = cli(&[&base[..], &["--start", "end-2h", "--print-command"]].concat());
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert_eq!(stack_order(&text(&r.stdout))[2], "edge");
    let r = cli(&[&base[..], &["--stack-order", "name", "--print-command"]].concat());
    assert_eq!(stack_order(&text(&r.stdout)), ["edge", "heads", "tails"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_type_overrides_come_from_a_data_file() {
    if !support::require_rrdtool() {
        return;
    }
    let d = DataDir::build();
    let user = "[type.load]\nscale = 8\nbase = 1024\nvertical_label = \"load ×8\"\n\
                colors = { shortterm = \"#123456\" }\norder = [\"longterm\"]\n\
                [category.coin_stats]\ncolors = { heads = \"#2ca02c\" }\n";
    let app = make_app(&d, Some(user));
    let (status, _, body) = get(&app, "/command.txt?host=h1&plugin=load&type=load").await;
    let cmd = text(&body);
    assert_eq!(status, StatusCode::OK, "{cmd}");
    assert!(cmd.contains("--base 1024"), "{cmd}");
    assert!(cmd.contains("DEF:s0raw=") && cmd.contains("CDEF:s0=s0raw,8,*"), "{cmd}");
    assert!(cmd.contains("#123456:shortterm"), "{cmd}");
    assert!(cmd.contains("DEF:s0raw=") && cmd.contains(":longterm:AVERAGE"), "{cmd}");
    let s0 = cmd.split_whitespace().find(|w| w.contains("DEF:s0raw=")).unwrap();
    assert!(s0.contains(":longterm:"), "order puts longterm first: {s0}");
    let (_, _, body) = get(&app, &format!("/command.txt?{STAT}")).await;
    assert!(text(&body).contains("#2ca02c"), "category colour");
    // The embedded defaults: memory in base 1024.
    let (_, _, body) = get(&app, "/command.txt?host=h1&plugin=memory&type=memory").await;
    assert!(text(&body).contains("--base 1024"), "{}", text(&body));
    // The image renders.
    let (status, _, body) = get(&app, "/graph.png?host=h1&plugin=load&type=load").await;
    assert_eq!(status, StatusCode::OK, "{}", text(&body));

    // The CLI reads the same file.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("graphs.toml");
    std::fs::write(&file, user).unwrap();
    let dir = d.dir.path().to_str().unwrap();
    let f = file.to_str().unwrap();
    let args = ["graph", "--data-dir", dir, "--host", "h1", "--plugin", "load", "--type", "load", "--print-command"];
    let r = cli(&[&args[..], &["--graph-config", f]].concat());
    let cmd = text(&r.stdout);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(cmd.contains("--base 1024") && cmd.contains("CDEF:s0=s0raw,8,*") && cmd.contains("#123456"), "{cmd}");
    // A bad file: what and where.
    std::fs::write(&file, "[type.load]\nscale = 8\nbase = \"big\"\n").unwrap();
    let r = cli(&[&args[..], &["--graph-config", f]].concat());
    assert!(!r.status.success());
    let err = text(&r.stderr);
    assert!(err.contains(&format!("{f}:3:")), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_shows_current_values_against_thresholds() {
    if !support::require_rrdtool() {
        return;
    }
    let d = DataDir::build();
    // Load shortterm is between 0.5 and 0.9; flips of h2 at most 4.
    let app = make_app(
        &d,
        Some("[threshold.load]\nwarning = 0.2\ncritical = 0.4\n[threshold.coin_stats.flips]\nwarning = 100\n"),
    );
    let (status, _, body) = get(&app, "/").await;
    let page = text(&body);
    assert_eq!(status, StatusCode::OK);
    let card = |host: &str| {
        let at = page.find(&format!("data-host=\"{host}\"")).unwrap();
        let end = page[at..].find("</article>").unwrap();
        page[at..at + end].to_owned()
    };
    let h1 = card("h1");
    assert!(h1.contains("class=\"badge value critical\""), "{h1}");
    assert!(h1.contains("load shortterm"), "{h1}");
    assert!(h1.contains("coin_stats flips"), "{h1}");
    let h2 = card("h2");
    assert!(h2.contains("class=\"badge value ok\"") && !h2.contains("value critical"), "{h2}");

    // Without thresholds the values are shown, none of them critical.
    let quiet = make_app(&d, Some("[threshold.load]\ncritical = 1000\n"));
    let (_, _, body) = get(&quiet, "/").await;
    let page = text(&body);
    assert!(page.contains("load shortterm") && !page.contains("value critical"));
}
