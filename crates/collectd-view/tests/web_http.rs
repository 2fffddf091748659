//! The web interface at the HTTP level: every route, caching headers, and hostile input
//! (traversal attempts, huge sizes, unknown names, malformed times), against RRD files made
//! as collectd makes them and a real rrdtool. Requests go straight into the router.

use testkit::fixture as support;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use collectd_rrd::index::Index;
use collectd_rrd::rrdtool::{Pool, PoolConfig};
use collectd_view::web::{self, AppState};
use http_body_util::BodyExt;
use support::DataDir;
use tower::ServiceExt;

struct Fixture {
    d: DataDir,
    app: Router,
}

fn fixture() -> Option<Fixture> {
    if !support::require_rrdtool() {
        return None;
    }
    let d = DataDir::build();
    // A file rrdtool cannot read although its header is fine: a good file cut short.
    let good = std::fs::read(d.path("h1/any/gauge-coin_stats-flips.rrd")).unwrap();
    let p = d.path("h1/any/gauge-broken-stat.rrd");
    std::fs::write(&p, &good[..6000]).unwrap();
    // The original module with a plugin instance: HOST/any-X/.
    let x = d.path("h1/any-X/gauge-coin_stats-flips.rrd");
    std::fs::create_dir_all(x.parent().unwrap()).unwrap();
    std::fs::copy(d.path("h2/any/gauge-coin_stats-flips.rrd"), &x).unwrap();
    // A host whose name is markup.
    let evil = d.path("evil<img src=x onerror=alert(1)>\"&'/any/gauge-c-s.rrd");
    std::fs::create_dir_all(evil.parent().unwrap()).unwrap();
    std::fs::copy(d.path("h2/any/gauge-coin_stats-flips.rrd"), &evil).unwrap();
    let index = Arc::new(Index::open(d.dir.path()).unwrap());
    let pool = Pool::new(PoolConfig::default()).unwrap();
    let state = AppState::new(index, pool, None, None);
    Some(Fixture { d, app: web::router(state) })
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: header::HeaderName) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    }
}

async fn get_with(app: &Router, uri: &str, headers: &[(&str, &str)]) -> Reply {
    let mut req = Request::builder().uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply { status, headers, body }
}

async fn get(app: &Router, uri: &str) -> Reply {
    get_with(app, uri, &[]).await
}

async fn page(app: &Router, uri: &str) -> String {
    let r = get_with(app, uri, &[("accept", "text/html")]).await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.text());
    assert!(r.header(header::CONTENT_TYPE).starts_with("text/html"), "{uri}");
    let t = r.text();
    assert!(t.starts_with("<!DOCTYPE html>"), "{uri}");
    assert!(t.contains("class=\"crumbs\""), "{uri}: breadcrumbs");
    t
}

fn png_size(b: &[u8]) -> (u32, u32) {
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    (u32::from_be_bytes(b[16..20].try_into().unwrap()), u32::from_be_bytes(b[20..24].try_into().unwrap()))
}

const STAT: &str = "host=h1&cat=coin_stats&stat=flips";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_with_breadcrumbs_and_links() {
    let Some(f) = fixture() else { return };
    let app = &f.app;

    let t = page(app, "/").await;
    // Links carry the range the page opened with: fitted to the data's age (minutes here).
    for want in
        ["href=\"/host/h1?start=end-5min\"", "href=\"/host/h2?start=end-5min\"", "series", "updated", "/graph.png?"]
    {
        assert!(t.contains(want), "overview lacks {want}");
    }
    // Names are escaped, wherever they appear.
    assert!(t.contains("evil&lt;img src=x onerror=alert(1)&gt;&quot;&amp;'"), "{t}");
    assert!(!t.contains("<img src=x"));
    assert!(t.contains("href=\"/host/evil%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%22%26%27?start=end-5min\""));

    let t = page(app, "/?q=coin+heads").await;
    assert!(t.contains("1 of 12 series match"), "{t}");
    assert!(t.contains("/host/h1/category/coin_stats/stat/flips?specific=heads"));

    let t = page(app, "/host/h1").await;
    for want in [
        "coin_stats",
        "some_category",
        "load",
        "memory",
        "/host/h1/category/coin_stats",
        "data-ref=\"h1/any/gauge-coin_stats-flips\"",
    ] {
        assert!(t.contains(want), "host page lacks {want}");
    }
    let t = page(app, "/host/h1/category/coin_stats?start=end-2h").await;
    assert!(t.contains("<h3><a href=\"/host/h1/category/coin_stats/stat/flips?start=end-2h\">flips</a></h3>"), "{t}");
    assert!(t.contains("data-left=\""), "geometry embedded");
    assert!(t.contains("live · every"));

    let t = page(app, "/host/h1/category/coin_stats/stat/flips?start=end-2h").await;
    for want in [
        "?specific=heads",
        "?specific=tails",
        "?specific=edge",
        "data-start=\"",
        "data-refresh=\"",
        "PNG",
        "SVG",
        "CSV",
        "JSON",
        "rrdtool command",
        "id=\"pan-earlier\"",
    ] {
        assert!(t.contains(want), "stat page lacks {want}");
    }
    // An absolute range over the fixture's data (its last hour).
    let end = web::time::now();
    let start = end - 3600;
    let t = page(
        app,
        &format!("/host/h1/category/coin_stats/stat/flips?specific=heads&mode=lines&start={start}&end={end}"),
    )
    .await;
    assert!(t.contains(&format!("fixed · {}", web::time::Utc(start))), "absolute range badge");
    assert!(t.contains("data-refresh=\"0\""), "absolute ranges do not refresh: {t}");

    let t = page(app, "/host/h1/category/coin_stats?inst=X").await;
    assert!(t.contains("instance X") && t.contains("/host/h1/category/coin_stats/stat/flips?inst=X"), "{t}");
    let t = page(app, "/host/h1").await;
    assert!(t.contains("href=\"/host/h1/category/coin_stats?inst=X&amp;start=end-5min\""), "{t}");
    let t = page(app, "/host/h1/plugin/load").await;
    assert!(t.contains("/host/h1/plugin/load/type/load"));
    let t = page(app, "/host/h1/plugin/memory/type/memory?ti=used").await;
    assert!(t.contains("memory-used"));

    let t = page(app, "/combine").await;
    assert!(t.contains("Nothing to combine yet"));
    let t = page(app, "/combine?s=h1/any/gauge-coin_stats-flips&s=h2/any/gauge-coin_stats-flips&mode=sum").await;
    assert!(t.contains("class=\"mode active\" data-mode=\"sum\""));
    assert!(t.contains("move-down") && t.contains("class=\"remove\""));
    // Reordering is a link with the series swapped.
    assert!(
        t.contains(
            "href=\"/combine?s=h2%2Fany%2Fgauge-coin_stats-flips&amp;s=h1%2Fany%2Fgauge-coin_stats-flips&amp;mode=sum&amp;start=end-5min\""
        ),
        "{t}"
    );

    let t = page(app, &format!("/command?{STAT}&start=end-1h")).await;
    assert!(t.contains("rrdtool graph graph.png"));
    let r = get(app, &format!("/command.txt?{STAT}&start=end-1h")).await;
    assert_eq!(r.status, StatusCode::OK);
    let cmd = r.text();
    let dir = f.d.dir.path().to_str().unwrap();
    assert!(cmd.starts_with("rrdtool graph graph.png --border 0"), "{cmd}");
    assert!(cmd.contains(&format!("DEF:t={dir}/h1/any/gauge-coin_stats-flips.rrd:value:AVERAGE")), "{cmd}");
    assert!(cmd.contains("--start end-3600 --end now"), "{cmd}");
    // The interface's own grid colours, not the command-line defaults.
    assert!(cmd.contains("GRID#E6E8EB80") && cmd.contains("MGRID#C9CED480"), "{cmd}");
    assert!(!cmd.contains("8F8F8F") && !cmd.contains("DE4F4F"), "{cmd}");
    // The printed command runs in a shell and makes a PNG.
    let out = f.d.dir.path().join("cmd.png");
    let cmd = cmd.trim().replacen("graph.png", out.to_str().unwrap(), 1);
    let st = std::process::Command::new("sh").arg("-c").arg(&cmd).output().unwrap();
    assert!(st.status.success(), "{cmd}: {}", String::from_utf8_lossy(&st.stderr));
    assert!(png_size(&std::fs::read(&out).unwrap()).0 > 0);

    for (path, mime) in
        [("/assets/app.css", "text/css"), ("/assets/app.js", "text/javascript"), ("/favicon.ico", "image/svg+xml")]
    {
        let r = get(app, path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.header(header::CONTENT_TYPE).starts_with(mime), "{path}");
        let r2 = get_with(app, path, &[("if-none-match", &r.header(header::ETAG))]).await;
        assert_eq!(r2.status, StatusCode::NOT_MODIFIED);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_carry_caching_headers_and_data_is_exact() {
    let Some(f) = fixture() else { return };
    let app = &f.app;

    let r = get(app, &format!("/graph.png?{STAT}&w=640&h=200")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header(header::CONTENT_TYPE), "image/png");
    let (w, h) = png_size(&r.body);
    assert!(w > 640 && h > 200, "{w}x{h}: plot plus axes and legend");
    // One pixel of a day at 640 px: 135 s.
    assert_eq!(r.header(header::CACHE_CONTROL), "public, max-age=135");
    let etag = r.header(header::ETAG);
    assert!(etag.starts_with('"') && etag.len() > 4);
    let lm = httpdate::parse_http_date(&r.header(header::LAST_MODIFIED)).unwrap();
    // The newest of the graph's files (the base and its specifics, written one by one).
    let mtime = ["flips", "heads-flips", "tails-flips", "edge-flips"]
        .iter()
        .map(|name| std::fs::metadata(f.d.path(&format!("h1/any/gauge-coin_stats-{name}.rrd"))).unwrap())
        .map(|meta| meta.modified().unwrap())
        .max()
        .unwrap();
    // HTTP dates have whole seconds: Last-Modified is that mtime, cut to the second.
    assert!(lm <= mtime && mtime.duration_since(lm).unwrap().as_secs() < 1, "Last-Modified is the files' mtime");
    let again = get_with(app, &format!("/graph.png?{STAT}&w=640&h=200"), &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());

    let r = get(app, &format!("/graph.png?{STAT}&dl=1")).await;
    assert_eq!(r.header(header::CONTENT_DISPOSITION), "attachment; filename=\"h1_coin_stats_flips.png\"");
    let r = get(app, &format!("/graph.svg?{STAT}&start=1000000000&end=1000086400")).await;
    assert_eq!(r.header(header::CONTENT_TYPE), "image/svg+xml");
    assert!(r.text().contains("<svg"));
    assert_eq!(r.header(header::CACHE_CONTROL), "public, max-age=3600", "an absolute range in the past");

    let r = get(app, &format!("/graph.json?{STAT}&w=500&h=150&start=end-1h")).await;
    let g: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(g["graph_width"], 500);
    assert_eq!(g["graph_height"], 150);
    assert_eq!(g["end"].as_i64().unwrap() - g["start"].as_i64().unwrap(), 3600);
    assert_eq!(g["relative"], true);
    assert_eq!(g["refresh"], 10);

    // The data: exactly what was written (support::heads at update k).
    let (t0, step) = (f.d.t0, f.d.step as i64);
    let (s, e) = (t0 + 100 * step, t0 + 160 * step);
    let r = get(app, &format!("/data.csv?host=h1&cat=coin_stats&stat=flips&specific=heads&start={s}&end={e}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header(header::CONTENT_TYPE), "text/csv; charset=utf-8");
    let csv = r.text();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), "time,utc,heads,flips (sum)");
    let mut checked = 0;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let t: i64 = cells[0].parse().unwrap();
        let k = (t - t0) / step;
        if !cells[2].is_empty() && t > s && t < e {
            assert_eq!(cells[2].parse::<f64>().unwrap(), support::heads(k), "{line}");
            assert_eq!(cells[3].parse::<f64>().unwrap(), support::flips(k), "{line}");
            checked += 1;
        }
    }
    assert!(checked > 50, "{checked} rows checked");
    let r = get(app, &format!("/data.json?{STAT}&start={s}&end={e}")).await;
    let j: serde_json::Value = serde_json::from_slice(&r.body).expect("valid JSON");
    assert_eq!(j["columns"][0], "time");
    assert_eq!(j["legends"].as_array().unwrap().len(), 4, "heads, tails, edge and the total");

    let r = get(app, "/search.json?q=H1+flips&limit=2").await;
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["total"], 5, "4 in any, 1 in any-X");
    assert_eq!(j["shown"], 2);
    assert_eq!(j["results"][0]["ref"], "h1/any/gauge-coin_stats-edge-flips");

    // Combined across hosts: summed into one series.
    let r =
        get(app, "/data.json?s=h1/any/gauge-coin_stats-flips&s=h2/any/gauge-coin_stats-flips&mode=sum&start=end-1h")
            .await;
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["legends"].as_array().unwrap().len(), 1);
    assert!(j["title"].as_str().unwrap().contains("sum of 2 hosts"), "{}", j["title"]);
    let r = get(app, "/data.json?s=h1/load/load/shortterm&s=h1/load/load/midterm&start=end-1h").await;
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["legends"], serde_json::json!(["shortterm", "midterm"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_gets_a_clear_answer() {
    let Some(f) = fixture() else { return };
    let app = &f.app;
    let html = [("accept", "text/html")];
    // (uri, status, text the answer must contain)
    let cases: Vec<(String, StatusCode, &str)> = vec![
        // Traversal: names are looked up, never joined.
        ("/host/..%2F..%2Fetc".into(), StatusCode::NOT_FOUND, "host &quot;../../etc&quot; not found"),
        ("/host/%2E%2E/plugin/%2E%2E".into(), StatusCode::NOT_FOUND, "not found"),
        ("/host/h1/plugin/..%2F..%2F..%2Fetc/type/passwd".into(), StatusCode::NOT_FOUND, "not found"),
        ("/graph.png?s=../../etc/passwd".into(), StatusCode::NOT_FOUND, "host &quot;..&quot; not found"),
        ("/graph.png?s=h1/../../../../etc/passwd".into(), StatusCode::BAD_REQUEST, "parameter &quot;s&quot;"),
        ("/graph.png?host=h1&plugin=..&type=passwd".into(), StatusCode::NOT_FOUND, "plugin directory"),
        ("/graph.png?host=%2Fetc&cat=c&stat=s".into(), StatusCode::BAD_REQUEST, "parameter &quot;host&quot;"),
        ("/data.csv?host=h1&cat=coin_stats%00&stat=flips".into(), StatusCode::BAD_REQUEST, "control characters"),
        // Unknown names: 404 listing what exists.
        ("/host/nope".into(), StatusCode::NOT_FOUND, "href=\"/host/h1\""),
        (
            "/host/h1/category/nope".into(),
            StatusCode::NOT_FOUND,
            "href=\"/host/h1/category/coin_stats?start=end-5min\"",
        ),
        ("/host/h1/category/coin_stats/stat/nope".into(), StatusCode::NOT_FOUND, "/stat/flips"),
        ("/host/h1/category/coin_stats/stat/flips?specific=nope".into(), StatusCode::NOT_FOUND, "specific=heads"),
        ("/host/h1/plugin/nope".into(), StatusCode::NOT_FOUND, "/host/h1/plugin/load"),
        ("/host/h1/plugin/load/type/nope".into(), StatusCode::NOT_FOUND, "not found"),
        ("/combine?s=h1/any/gauge-nope".into(), StatusCode::NOT_FOUND, "gauge-coin_stats-flips"),
        ("/graph.png?s=h1/load/load/nope".into(), StatusCode::NOT_FOUND, "shortterm"),
        ("/no/such/page".into(), StatusCode::NOT_FOUND, "there is no page at /no/such/page"),
        ("/host/h1/category/coin_stats?inst=Y".into(), StatusCode::NOT_FOUND, "coin_stats (X)"),
        ("/host/%FF%FE".into(), StatusCode::BAD_REQUEST, "bad path"),
        // Bounds.
        (
            format!("/graph.png?{STAT}&w=100000"),
            StatusCode::BAD_REQUEST,
            "parameter &quot;w&quot;: 100000 is out of range",
        ),
        (format!("/graph.png?{STAT}&h=0"), StatusCode::BAD_REQUEST, "parameter &quot;h&quot;"),
        (format!("/graph.png?{STAT}&w=-5"), StatusCode::BAD_REQUEST, "is not a number"),
        (format!("/graph.png?{STAT}&start=400000000&end=4000000000"), StatusCode::BAD_REQUEST, "longest is 50 years"),
        // rrdtool fetches nothing before 1980: refused here rather than failing in rrdtool.
        (format!("/graph.png?{STAT}&start=end-50y"), StatusCode::BAD_REQUEST, "before 1980"),
        (format!("/graph.png?{STAT}&start=1000"), StatusCode::BAD_REQUEST, "before 1980"),
        (format!("/graph.png?{STAT}&start=end-1s"), StatusCode::BAD_REQUEST, "shortest"),
        (
            format!("/combine?{}", (0..51).map(|i| format!("s=h1/d/f{i}")).collect::<Vec<_>>().join("&")),
            StatusCode::BAD_REQUEST,
            "at most 50",
        ),
        (format!("/?q={}", "x".repeat(20_000)), StatusCode::BAD_REQUEST, "longer than"),
        // Malformed times and parameters.
        (format!("/graph.png?{STAT}&start=yesterday"), StatusCode::BAD_REQUEST, "parameter &quot;start&quot;"),
        (format!("/graph.png?{STAT}&start=now;rm%20-rf%20/"), StatusCode::BAD_REQUEST, "is not a time"),
        (
            format!("/graph.png?{STAT}&end=end-1d"),
            StatusCode::BAD_REQUEST,
            "parameter &quot;end&quot;: end cannot be relative to itself",
        ),
        (format!("/graph.png?{STAT}&start=2000000000&end=1000000000"), StatusCode::BAD_REQUEST, "must be before"),
        (format!("/graph.png?{STAT}&start=end-1m"), StatusCode::BAD_REQUEST, "ambiguous"),
        (format!("/graph.png?{STAT}&start=99999999999999999999"), StatusCode::BAD_REQUEST, "too large"),
        (format!("/graph.png?{STAT}&mode=sum"), StatusCode::BAD_REQUEST, "does not apply here"),
        (format!("/graph.png?{STAT}&evil=1"), StatusCode::BAD_REQUEST, "unknown parameter"),
        (format!("/graph.png?{STAT}&host=h2"), StatusCode::BAD_REQUEST, "given more than once"),
        ("/graph.png?host=h1".into(), StatusCode::BAD_REQUEST, "parameter &quot;cat&quot;: missing"),
        ("/search.json?limit=100000".into(), StatusCode::BAD_REQUEST, "limit"),
        ("/assets/..%2F..%2Fmod.rs".into(), StatusCode::NOT_FOUND, "asset"),
    ];
    for (uri, status, want) in &cases {
        let r = get_with(app, uri, &html).await;
        assert_eq!(r.status, *status, "{uri}: {}", r.text());
        assert!(r.text().contains(want), "{uri}: {want:?} missing from {}", r.text());
        assert!(r.text().starts_with("<!DOCTYPE html>"), "{uri}: an HTML page");
    }
    // An <img> gets an image that says what is wrong, never a broken image.
    let r = get(app, &format!("/graph.png?{STAT}&w=100000")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.header(header::CONTENT_TYPE), "image/svg+xml");
    assert!(r.text().contains("out of range"));
    // A file rrdtool cannot draw: rrdtool's own message, as an image and on the page.
    let r = get(app, "/graph.png?host=h1&cat=broken&stat=stat").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.header(header::CONTENT_TYPE), "image/svg+xml");
    let msg = r.text();
    assert!(msg.contains("gauge-broken-stat.rrd"), "{msg}");
    let t = page(app, "/host/h1/category/broken").await;
    assert!(t.contains("class=\"graph-error\"") && t.contains("gauge-broken-stat.rrd"), "{t}");
    // Data endpoints answer JSON errors to scripts.
    let r = get(app, "/data.json?host=h1&cat=nope&stat=x").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["available"], serde_json::json!(["broken", "coin_stats", "some_category"]), "{j}");
    let r = get(app, "/command.txt?host=h9&cat=c&stat=s").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

/// Every response carries the security headers; a `Host` that is not this server's is
/// refused (DNS rebinding) unless `--allow-host` names it.
#[tokio::test]
async fn security_headers_and_host_names() {
    let Some(f) = fixture() else { return };
    for uri in ["/".to_owned(), format!("/graph.png?{STAT}"), "/no/such/page".to_owned()] {
        let r = get(&f.app, &uri).await;
        let csp = r.header(header::CONTENT_SECURITY_POLICY);
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{uri}: {csp:?}");
        assert_eq!(r.header(header::X_FRAME_OPTIONS), "DENY", "{uri}");
        assert_eq!(r.header(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{uri}");
    }
    let index = Arc::new(Index::open(f.d.dir.path()).unwrap());
    let state = AppState::new(index, Pool::new(PoolConfig::default()).unwrap(), None, None);
    let allowing = |names: &[&str]| {
        web::router_for(state.clone(), web::guard::HostPolicy::new(names.iter().map(|n| n.to_string()).collect()))
    };
    let app = allowing(&[]);
    for (host, status) in [
        ("127.0.0.1:8080", StatusCode::OK),
        ("[::1]:8080", StatusCode::OK),
        ("localhost:8080", StatusCode::OK),
        ("rebound.example:8080", StatusCode::MISDIRECTED_REQUEST),
    ] {
        let r = get_with(&app, "/", &[("host", host)]).await;
        assert_eq!(r.status, status, "{host}: {}", r.text());
        assert!(!r.header(header::CONTENT_SECURITY_POLICY).is_empty(), "{host}: no CSP on {status}");
    }
    let r = get_with(&app, "/", &[("host", "rebound.example:8080"), ("accept", "text/html")]).await;
    assert!(r.text().contains("--allow-host rebound.example"), "{}", r.text());
    let r = get_with(&allowing(&["rebound.example"]), "/", &[("host", "REBOUND.example:8080")]).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = get_with(&allowing(&["*"]), "/", &[("host", "any.example")]).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Graph requests whose clients went away while they waited for rrdtool are dropped
/// without being drawn, and the server answers the next request as usual.
#[test]
fn abandoned_graph_requests_are_not_drawn() {
    use std::io::{Read, Write};
    let Some(f) = fixture() else { return };
    let index = Arc::new(Index::open(f.d.dir.path()).unwrap());
    let pool = Pool::new(PoolConfig { workers: 1, ..PoolConfig::default() }).unwrap();
    let state = AppState::new(index, pool, None, None);
    let server = web::spawn(state.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    // Hold the only rendering slot, so that every request waits.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (release, hold) = std::sync::mpsc::channel::<()>();
    let holder = {
        let state = state.clone();
        rt.spawn(async move {
            state
                .rendering(move |_| {
                    hold.recv().ok();
                    Ok(())
                })
                .await
        })
    };
    testkit::poll_until(std::time::Duration::from_secs(10), || state.render_stats().started == 1)
        .expect("the holder has the slot");
    // Fewer than the queue holds (16 per worker): every one waits.
    const ABANDONED: u64 = 12;
    let mut clients = Vec::new();
    for width in 0..ABANDONED {
        let mut c = std::net::TcpStream::connect(server.addr()).unwrap();
        let request = format!("GET /graph.png?{STAT}&w={} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 300 + width);
        c.write_all(request.as_bytes()).unwrap();
        clients.push(c);
    }
    testkit::poll_until(std::time::Duration::from_secs(20), || state.render_stats().waiting == ABANDONED as usize)
        .unwrap_or_else(|| panic!("the requests did not all wait: {:?}", state.render_stats()));
    // Pages do not wait behind graphs.
    let mut c = std::net::TcpStream::connect(server.addr()).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut overview = Vec::new();
    c.read_to_end(&mut overview).unwrap();
    assert!(overview.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&overview[..overview.len().min(200)]));
    // Their clients give up, as a browser leaving the page does.
    drop(clients);
    let dropped = testkit::poll_until(std::time::Duration::from_secs(20), || {
        let s = state.render_stats();
        (s.abandoned == ABANDONED && s.waiting == 0).then_some(s)
    });
    let stats = state.render_stats();
    assert!(dropped.is_some(), "abandoned requests still waiting: {stats:?}");
    release.send(()).unwrap();
    rt.block_on(holder).unwrap().unwrap();
    assert_eq!(state.render_stats().started, 1, "an abandoned request was drawn: {:?}", state.render_stats());
    // The next request is drawn.
    let mut c = std::net::TcpStream::connect(server.addr()).unwrap();
    c.write_all(format!("GET /graph.png?{STAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut reply = Vec::new();
    c.read_to_end(&mut reply).unwrap();
    assert!(reply.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&reply[..reply.len().min(200)]));
    assert_eq!(state.render_stats().started, 2);
}
