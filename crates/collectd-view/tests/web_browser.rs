//! The web interface in a real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`) driven over WebDriver, on the files a real collectd writes while the
//! library feeds it from two hosts. Overview → host → category → stat; hover; zoom by
//! dragging; two series from two hosts combined and opened in a fresh browser; CSV
//! download; automatic reload. Screenshots of each page go to `target/e2e/`.

mod webkit;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use collectd_view::web::{self, ServeConfig};
use serde_json::json;
use webkit::{Driver, Session};

const SECS: Duration = Duration::from_secs(1);
const WAIT: Duration = Duration::from_secs(15);

/// Feeds collectd from two hosts every second until stopped.
fn feed(port: u16, stop: Arc<AtomicBool>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let conns: Vec<_> = ["web1", "web2"]
            .iter()
            .map(|h| {
                collectd::Connection::builder()
                    .hostname(*h)
                    .collectd_host("127.0.0.1")
                    .collectd_port(port)
                    .interval(SECS)
                    .build()
            })
            .collect();
        let mut k = 0u64;
        while !stop.load(Ordering::Relaxed) {
            for (i, c) in conns.iter().enumerate() {
                let side = if (k + i as u64).is_multiple_of(3) { "heads" } else { "tails" };
                c.counter("coin_stats").record(&[side], &[("flips", 1.0 + (k % 4) as f64)]);
                c.counter("coin_stats").record(&["edge"], &[("flips", 0.5)]);
                c.counter("some_category").record(&[], &[("some_counter", (k % 5) as f64 + i as f64)]);
                c.flush();
            }
            k += 1;
            // Pacing: one value per interval, as collectd requires.
            thread::sleep(SECS);
        }
    })
}

fn images_loaded(s: &Session) {
    s.wait_until(
        "images to load",
        "const imgs = [...document.querySelectorAll('.plot img, a.spark img')]; \
         return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);",
        WAIT,
    );
}

fn path_is(s: &Session, prefix: &str) {
    s.wait_until(
        &format!("path {prefix}"),
        &format!("return location.pathname.startsWith({}) && document.readyState === 'complete';", json!(prefix)),
        WAIT,
    );
}

/// Viewport coordinates of a point at fraction `fx` of the plot area's width, mid-height.
fn plot_point(s: &Session, fx: f64) -> (f64, f64) {
    let v = s.exec(
        "const p = document.querySelector('.plot'); const img = p.querySelector('img'); \
         const r = img.getBoundingClientRect(); const k = img.clientWidth / img.naturalWidth; \
         const d = p.dataset; \
         return [r.left + (Number(d.left) + Number(d.width) * arguments[0]) * k, \
                 r.top + (Number(d.top) + Number(d.height) / 2) * k];",
        json!([fx]),
    );
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

fn query(s: &Session, key: &str) -> Option<String> {
    s.exec("return new URL(location.href).searchParams.get(arguments[0]);", json!([key])).as_str().map(str::to_owned)
}

#[test]
fn drill_down_zoom_combine_and_download_in_chromium() {
    if testkit::require_collectd().is_none() || testkit::require_rrdtool().is_none() {
        eprintln!("skipped: collectd or rrdtool not installed");
        return;
    }
    let Some((chromium, chromedriver)) = webkit::require_browser() else { return };
    let t_start = Instant::now();
    let shots = webkit::target_dir().join("e2e");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = |s: &Session, name: &str| s.screenshot(&shots.join(format!("{name}.png")));

    // A real collectd with the rrdtool plugin, fed by the library as web1 and web2.
    let cd = testkit::Collectd::builder()
        .interval(1)
        .listen(testkit::Security::None)
        .rrdtool(true)
        .plugin("load")
        .start()
        .expect("collectd starts");
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed(cd.port(), stop.clone());
    for host in ["web1", "web2"] {
        for f in ["gauge-coin_stats-flips", "gauge-coin_stats-heads-flips", "gauge-some_category-some_counter"] {
            cd.wait_for_file(format!("rrd/{host}/any/{f}.rrd"), Duration::from_secs(10)).expect("collectd writes");
        }
    }
    let mut config = ServeConfig::new(cd.rrd_dir());
    config.workers = 2;
    config.rescan = SECS;
    let state = web::open(&config).expect("index and rrdtool");
    let server = web::spawn(state, "127.0.0.1:0".parse().unwrap()).expect("server starts");
    let base = server.url();
    // A few intervals of data before looking: collectd has written 4 rows after the first.
    let file = cd.rrd_dir().join("web1/any/gauge-coin_stats-flips.rrd");
    let first = testkit::poll_until(WAIT, || testkit::rrd_last(&file)).expect("a first row");
    testkit::poll_until(WAIT, || testkit::rrd_last(&file).filter(|&t| t >= first + 4)).expect("four more rows");

    let driver = Driver::start(&chromium, &chromedriver);
    let tmp = tempfile::tempdir().unwrap();
    let downloads = tmp.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let a = driver.session(&tmp.path().join("profile-a"), &downloads);

    // Overview: both hosts, a summary each, sparklines.
    a.goto(&format!("{base}/?start=end-3min"));
    a.wait_for(".host-card[data-host=web1]", WAIT);
    a.wait_for(".host-card[data-host=web2]", WAIT);
    images_loaded(&a);
    let card = a.text(&a.find(".host-card[data-host=web1]").unwrap());
    assert!(card.contains("series") && card.contains("updated"), "{card}");
    shot(&a, "overview");

    // Search as you type.
    let q = a.find("#q").unwrap();
    a.send_keys(&q, "heads flips");
    a.wait_until(
        "search results",
        "const c = document.getElementById('result-count'); return !!c && /^2 of \\d+ series match/.test(c.textContent);",
        WAIT,
    );
    assert_eq!(query(&a, "q").as_deref(), Some("heads flips"), "the search is in the URL");
    shot(&a, "overview-search");

    // → host → category → stat, by clicking.
    a.click(&a.find(".host-card[data-host=web1] h2 a").unwrap());
    path_is(&a, "/host/web1");
    images_loaded(&a);
    shot(&a, "host");
    a.click(&a.wait_for("article.card h3 a[href*='/category/coin_stats']", WAIT));
    path_is(&a, "/host/web1/category/coin_stats");
    images_loaded(&a);
    shot(&a, "category");
    a.click(&a.wait_for("figure h3 a[href*='/stat/flips']", WAIT));
    path_is(&a, "/host/web1/category/coin_stats/stat/flips");
    images_loaded(&a);
    assert_eq!(query(&a, "start").as_deref(), Some("end-3min"), "the range follows the drill-down");
    let crumbs = a.text(&a.find("nav.crumbs").unwrap()).replace(' ', "");
    assert_eq!(crumbs, "Overview›web1›coin_stats›flips");
    for sp in ["heads", "tails", "edge"] {
        assert!(a.find(&format!("section.specifics a[href*='specific={sp}']")).is_some(), "link to {sp}");
    }

    // Hover: time and values of the nearest point.
    // (The data is the last few seconds of the 3 minutes: the right end of the plot.)
    let check = "const t = document.querySelector('.plot .tip'); return !!t && !t.hidden && /\\d\\d:\\d\\d:\\d\\d/.test(t.textContent) && /flips \\(sum\\): [0-9.]+/.test(t.textContent);";
    let mut n = 0;
    testkit::poll_until(WAIT, || {
        n += 1;
        a.hover(plot_point(&a, if n % 2 == 0 { 0.97 } else { 0.975 }));
        a.exec(check, json!([])) == json!(true)
    })
    .expect("no hover readout with values");
    shot(&a, "stat-hover");

    // Drag across the graph to zoom: the URL gets the absolute range, the page says so.
    let (s0, e0) = (
        a.exec("return Number(document.querySelector('.plot').dataset.start)", json!([])),
        a.exec("return Number(document.querySelector('.plot').dataset.end)", json!([])),
    );
    let (s0, e0) = (s0.as_i64().unwrap(), e0.as_i64().unwrap());
    a.drag(plot_point(&a, 0.5), plot_point(&a, 0.95));
    a.wait_until("zoomed page", "return /^\\d+$/.test(new URL(location.href).searchParams.get('end') || '') && document.readyState === 'complete';", WAIT);
    images_loaded(&a);
    let (s1, e1): (i64, i64) =
        (query(&a, "start").unwrap().parse().unwrap(), query(&a, "end").unwrap().parse().unwrap());
    assert!(s1 > s0 && e1 < e0 && e1 - s1 < (e0 - s0) * 6 / 10, "zoomed {s0}..{e0} to {s1}..{e1}");
    assert!(a.text(&a.find(".badge.fixed").unwrap()).starts_with("fixed"));
    assert_eq!(a.exec("return document.querySelector('.plot').dataset.refresh", json!([])), "0");
    shot(&a, "stat-zoomed");

    // Combine: add the total of web1 and of web2, open the combined graph.
    a.goto(&format!("{base}/host/web1/category/coin_stats/stat/flips?start=end-3min"));
    a.click(&a.wait_for("button.add[data-ref='web1/any/gauge-coin_stats-flips']", WAIT));
    a.goto(&format!("{base}/host/web2/category/coin_stats/stat/flips?start=end-3min"));
    a.click(&a.wait_for("button.add[data-ref='web2/any/gauge-coin_stats-flips']", WAIT));
    assert_eq!(a.text(&a.find("#basket-count").unwrap()), "2");
    a.click(&a.find("#basket").unwrap());
    path_is(&a, "/combine");
    images_loaded(&a);
    let s = a.exec("return new URL(location.href).searchParams.getAll('s')", json!([]));
    assert_eq!(s, json!(["web1/any/gauge-coin_stats-flips", "web2/any/gauge-coin_stats-flips"]));
    // Summed across hosts, over the last 3 minutes.
    a.click(&a.find("a.mode[data-mode=sum]").unwrap());
    a.wait_until("sum mode", "return new URL(location.href).searchParams.get('mode') === 'sum';", WAIT);
    a.click(&a.find(".presets a[href*='start=end-1h']").unwrap());
    a.wait_until("1h range", "return new URL(location.href).searchParams.get('start') === 'end-1h';", WAIT);
    let url = a.url().replace("start=end-1h", "start=end-3min");
    a.goto(&url);
    images_loaded(&a);
    shot(&a, "combine");
    drop(a);

    // The combined graph's URL in a fresh browser (new profile: no basket, no history).
    let b = driver.session(&tmp.path().join("profile-b"), &downloads);
    b.goto(&url);
    images_loaded(&b);
    assert_eq!(b.exec("return document.querySelectorAll('#series li').length", json!([])), 2);
    assert_eq!(b.text(&b.find("#basket-count").unwrap()), "2", "the basket follows the URL");
    assert!(b.find("a.mode.active[data-mode=sum]").is_some());
    let title: serde_json::Value = {
        let data_url = b.exec("return document.querySelector('.plot').dataset.data", json!([]));
        let mut c = webkit::Conn::new(server.addr());
        serde_json::from_slice(&c.get(data_url.as_str().unwrap()).unwrap().body).unwrap()
    };
    assert!(title["title"].as_str().unwrap().contains("sum of 2 hosts"), "{title}");
    shot(&b, "combine-fresh");
    let loaded_at = Instant::now();
    let first_src = b.exec("return document.querySelector('.plot img').src", json!([]));

    // Download the data as CSV.
    b.click(&b.find("a.csv").unwrap());
    let downloaded = || {
        let entries = std::fs::read_dir(&downloads).unwrap().filter_map(Result::ok);
        entries.map(|e| e.path()).find(|p| p.extension().is_some_and(|x| x == "csv"))
    };
    let csv = testkit::poll_until(WAIT, downloaded)
        .map(|p| std::fs::read_to_string(p).unwrap())
        .unwrap_or_else(|| panic!("no CSV downloaded into {}", downloads.display()));
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("time,utc,coin_stats flips"), "{csv}");
    assert!(
        lines.any(|l| l.split(',').nth(2).is_some_and(|v| v.parse::<f64>().is_ok_and(|v| v > 0.0))),
        "values in {csv}"
    );

    // A relative range reloads by itself (every 10 s at this span): wait for the reload.
    b.wait_until(
        "automatic reload",
        &format!(
            "const i = document.querySelector('.plot img'); return i.src !== {} && i.complete && i.naturalWidth > 0;",
            first_src
        ),
        WAIT,
    );
    assert!(loaded_at.elapsed() >= Duration::from_secs(9), "reloaded after {:?}, not every 10 s", loaded_at.elapsed());

    // The exact command line.
    b.click(&b.find("a.command").unwrap());
    path_is(&b, "/command");
    let cmd = b.text(&b.find("#cmd").unwrap());
    assert!(cmd.starts_with("rrdtool graph graph.png") && cmd.contains("ADDNAN"), "{cmd}");
    shot(&b, "command");

    // Errors are pages that say what is wrong.
    b.goto(&format!("{base}/host/web9"));
    assert!(b.text(&b.find("section.problem").unwrap()).contains("web1"));
    shot(&b, "error-404");
    b.goto(&format!("{base}/host/web1/category/coin_stats/stat/flips?w=99999"));
    assert!(b.text(&b.find("section.problem").unwrap()).contains("parameter \"w\""));
    shot(&b, "error-400");
    drop(b);

    stop.store(true, Ordering::Relaxed);
    feeder.join().unwrap();
    server.stop().unwrap();
    eprintln!("browser test took {:?}; screenshots in {}", t_start.elapsed(), shots.display());
    assert!(Path::new(&shots.join("stat-zoomed.png")).is_file());
}
