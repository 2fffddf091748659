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
    // Over the right end, where the hover found values: a range without data shows a
    // message instead of a plot.
    a.drag(plot_point(&a, 0.6), plot_point(&a, 0.99));
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
    a.click(&a.wait_for(".add[data-ref='web1/any/gauge-coin_stats-flips']", WAIT));
    a.goto(&format!("{base}/host/web2/category/coin_stats/stat/flips?start=end-3min"));
    a.click(&a.wait_for(".add[data-ref='web2/any/gauge-coin_stats-flips']", WAIT));
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

/// Writes `secs` seconds of history, ending now, through the embedded receiver (as the
/// demo does, without waiting for it): web1 and web2 (the module's coin flips and a
/// counter), worker1 (a queue), server1 (an ordinary collectd host: load, cpu, memory,
/// three interfaces, a disk); and old1, whose files are then dated 10 minutes back (stale).
fn write_history(dir: &Path, secs: u64) {
    use collectd::protocol::{CdTime, EncodeError, PacketWriter, Value, ValueList, WriterOptions};
    use collectd_rrd::receive::{Receiver, ReceiverConfig};
    use collectd_rrd::rrdtool::{Pool, PoolConfig};

    let pool = Pool::new(PoolConfig::default()).expect("rrdtool");
    let receiver = Receiver::start(ReceiverConfig::new("127.0.0.1:0".parse().unwrap(), dir), pool).expect("receiver");
    let addr = receiver.local_addr();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let now = collectd_rrd::time::now() as u64;
    let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    let mut sent = 0u64;
    let send_to = |writer: &mut PacketWriter, vl: ValueList<'_>, sent: &mut u64| {
        match writer.write(&vl) {
            Ok(()) => {}
            Err(EncodeError::PacketFull) => {
                socket.send_to(&writer.finish().unwrap().unwrap(), addr).unwrap();
                writer.write(&vl).unwrap();
            }
            Err(e) => panic!("{e:?}"),
        }
        *sent += 1;
    };
    for k in 0..=secs {
        let mut send = |vl: ValueList<'_>| send_to(&mut writer, vl, &mut sent);
        let t = now - secs + k;
        let at = |vl: ValueList<'static>| vl.with_time(CdTime::from_secs(t)).with_interval(CdTime::from_secs(1));
        let wave = ((k as f64) / 20.0).sin();
        for (i, host) in ["web1", "web2", "old1"].into_iter().enumerate() {
            let heads = 3.0 + 2.0 * wave + i as f64;
            let tails = 4.0 - wave;
            for (ti, v) in [
                ("coin_stats-heads-flips", heads),
                ("coin_stats-tails-flips", tails),
                ("coin_stats-flips", heads + tails + 0.5),
                ("some_category-some_counter", (k % 7) as f64 + 1.0),
            ] {
                send(at(ValueList::new(host, "any", "gauge", vec![Value::Gauge(v)]).with_type_instance(ti)));
            }
        }
        send(at(ValueList::new("worker1", "any", "gauge", vec![Value::Gauge(20.0 + 10.0 * wave)])
            .with_type_instance("queue-size")));
        let s = "server1";
        send(at(ValueList::new(
            s,
            "load",
            "load",
            vec![Value::Gauge(0.5 + 0.3 * wave), Value::Gauge(0.4), Value::Gauge(0.3)],
        )));
        for (j, (state, rate)) in
            [("user", 40), ("system", 15), ("idle", 300), ("nice", 5), ("interrupt", 2), ("softirq", 3)]
                .into_iter()
                .enumerate()
        {
            let jiffies = (k as i64) * rate + (j as i64) * 1000;
            send(at(ValueList::new(s, "cpu", "cpu", vec![Value::Derive(jiffies)])
                .with_plugin_instance("0")
                .with_type_instance(state)));
        }
        for (state, v) in [("used", 2.0e9 + 1e8 * wave), ("free", 1.0e9), ("cached", 5.0e8), ("buffered", 1.0e8)] {
            send(at(ValueList::new(s, "memory", "memory", vec![Value::Gauge(v)]).with_type_instance(state)));
        }
        for (ifname, rate) in [("eth0", 50_000i64), ("eth1", 1_000), ("lo", 900_000)] {
            let bytes = (k as i64) * rate;
            send(at(ValueList::new(s, "interface", "if_octets", vec![Value::Derive(bytes), Value::Derive(bytes / 3)])
                .with_plugin_instance(ifname)));
        }
        let bytes = (k as i64) * 20_000;
        send(at(ValueList::new(s, "disk", "disk_octets", vec![Value::Derive(bytes), Value::Derive(bytes * 2)])
            .with_plugin_instance("sda")));
        if let Some(d) = writer.finish().unwrap() {
            socket.send_to(&d, addr).unwrap();
        }
    }
    let deadline = Instant::now() + WAIT;
    while receiver.stats().value_lists < sent {
        assert!(Instant::now() < deadline, "the receiver read {} of {sent} value lists", receiver.stats().value_lists);
        thread::sleep(Duration::from_millis(50));
    }
    let stats = receiver.stop();
    assert_eq!(stats.writer.failed, 0, "{stats}");
    let old = std::time::SystemTime::now() - Duration::from_secs(600);
    for f in std::fs::read_dir(dir.join("old1/any")).unwrap() {
        std::fs::File::options().write(true).open(f.unwrap().path()).unwrap().set_modified(old).unwrap();
    }
}

/// Images of `scope` on screen have loaded (those below the fold load lazily).
fn visible_images_loaded(s: &Session, scope: &str) {
    s.exec(
        "const e = document.querySelector(arguments[0]); if (e) e.scrollIntoView({block: 'start'});",
        json!([scope]),
    );
    s.wait_until(
        &format!("images of {scope} on screen to load"),
        &format!(
            "const imgs = [...document.querySelectorAll({})].filter(i => {{ const r = i.getBoundingClientRect(); \
               return r.bottom > 0 && r.top < innerHeight; }}); \
             return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0);",
            json!(format!("{scope} img"))
        ),
        WAIT,
    );
}

fn no_horizontal_scroll(s: &Session, what: &str) {
    let v = s.exec("return [document.documentElement.scrollWidth, window.innerWidth]", json!([]));
    let (doc, view) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
    assert!(doc <= view, "{what}: the document is {doc} px wide in a {view} px viewport");
}

fn no_axe_violations(s: &Session, what: &str) {
    let v = s.axe_violations();
    assert!(v.is_empty(), "{what}: WCAG 2.1 A/AA violations:\n{}", v.join("\n"));
}

#[test]
fn newcomer_screens_at_phone_and_desktop_width() {
    if testkit::require_rrdtool().is_none() {
        eprintln!("skipped: rrdtool not installed");
        return;
    }
    let Some((chromium, chromedriver)) = webkit::require_browser() else { return };
    let t_start = Instant::now();
    let shots = webkit::target_dir().join("e2e");
    let data = tempfile::tempdir().unwrap();
    // Four minutes of history, written in a few seconds.
    write_history(data.path(), 240);
    let mut config = ServeConfig::new(data.path());
    config.workers = 2;
    let server = web::spawn(web::open(&config).expect("index and rrdtool"), "127.0.0.1:0".parse().unwrap())
        .expect("server starts");
    let base = server.url();

    let driver = Driver::start(&chromium, &chromedriver);
    let tmp = tempfile::tempdir().unwrap();
    let s = driver.session(&tmp.path().join("profile"), &tmp.path().join("downloads"));
    for (w, h, dpr, mobile) in [(390u32, 844u32, 2.0, true), (1400, 1000, 1.0, false)] {
        let shot = |name: &str| s.screenshot_emulated(&shots.join(format!("{name}-{w}.png")), w, h, dpr, mobile);
        s.emulate(w, h, dpr, mobile);

        // The overview opens on a range the data fills: 4 minutes of data, the 5-minute preset.
        s.goto(&format!("{base}/"));
        s.wait_for(".host-card[data-host=web1]", WAIT);
        assert_eq!(s.text(&s.find(".presets a.active").expect("a preset is active")), "5min");
        visible_images_loaded(&s, ".host-card[data-host=web1]");
        let drawn = s.coloured_pixels(".host-card[data-host=web1] a.spark img");
        assert!(drawn > 40, "web1's sparkline at {w} px has data drawn ({drawn} coloured pixels)");
        s.wait_until(
            "web1's sparkline figures",
            "const t = document.querySelector('.host-card[data-host=web1] .spark-stats'); \
             return !!t && /–.* · last [0-9.]+ [↑↓→]/.test(t.textContent);",
            WAIT,
        );
        let card = s.text(&s.find(".host-card[data-host=web1] .meta").unwrap());
        assert!(!card.contains(" 0 ") && !card.starts_with('0'), "no zero counts: {card}");
        let old = s.find(".host-card.stale[data-host=old1]").expect("old1 is dimmed as stale");
        assert!(s.text(&old).contains("last known:"), "{}", s.text(&old));
        no_horizontal_scroll(&s, "overview");
        let search = s.exec("return document.getElementById('q').getBoundingClientRect().width", json!([]));
        assert!(search.as_f64().unwrap() >= 200.0, "the search box is usable: {search} px");
        no_axe_violations(&s, "overview");
        shot("newcomer-overview");

        // A stat page opened without a range: the same range, its graph drawn, at the width shown.
        s.goto(&format!("{base}/host/web1/category/coin_stats/stat/flips"));
        visible_images_loaded(&s, ".plot");
        s.wait_until(
            "the graph at its shown width",
            "const i = document.querySelector('.plot img'); return i.complete && i.naturalWidth > 0 && \
             i.naturalWidth / Number(i.dataset.zoom || 1) <= i.parentElement.parentElement.clientWidth + 1;",
            WAIT,
        );
        let drawn = s.coloured_pixels(".plot img");
        assert!(drawn > 500, "the stat graph at {w} px has data drawn ({drawn} coloured pixels)");
        let dims = s.exec(
            "const i = document.querySelector('.plot img'); return [i.naturalWidth, i.clientWidth, Number(i.dataset.zoom || 1)];",
            json!([]),
        );
        let (natural, shown, zoom) = (dims[0].as_f64().unwrap(), dims[1].as_f64().unwrap(), dims[2].as_f64().unwrap());
        assert_eq!(zoom, dpr, "drawn at the screen's density");
        assert!(natural >= shown * dpr * 0.95, "crisp: {natural} image pixels for {shown} CSS pixels at {dpr}x");
        let alt = s.exec("return document.querySelector('.plot img').alt", json!([]));
        assert!(alt.as_str().unwrap().contains("the last 5 min: last value"), "{alt}");
        let crumb = s.exec("return document.querySelector('nav.crumbs a[href^=\"/host/web1\"]').href", json!([]));
        assert!(crumb.as_str().unwrap().contains("start=end-5min"), "links keep the range: {crumb}");
        no_horizontal_scroll(&s, "stat page");
        no_axe_violations(&s, "stat page");
        shot("newcomer-stat");

        // An ordinary collectd host: a summary first, instances grouped.
        s.goto(&format!("{base}/host/server1"));
        let summary = s.text(&s.wait_for("div.summary", WAIT));
        for want in ["load", "cpu", "memory", "busiest interface: eth0", "busiest disk: sda"] {
            assert!(summary.contains(want), "{want:?} in the summary: {summary}");
        }
        visible_images_loaded(&s, "div.summary");
        no_horizontal_scroll(&s, "host page");
        no_axe_violations(&s, "host page");
        shot("newcomer-host");
    }

    // The cpu stack: distinct colours, from 0; a range without data says so, with a way out.
    let cpu =
        webkit::Conn::new(server.addr()).get("/command.txt?host=server1&plugin=cpu-0&type=cpu&start=end-5min").unwrap();
    let cmd = cpu.text();
    assert!(cmd.contains("--lower-limit 0") && cmd.contains("(jiffies)") && cmd.contains("%9.4lg"), "{cmd}");
    s.goto(&format!("{base}/host/web1/category/coin_stats/stat/flips?start=1000000000&end=1000003600"));
    let nodata = s.text(&s.wait_for(".nodata", WAIT));
    assert!(nodata.contains("No data in this range") && nodata.contains("the newest value is"), "{nodata}");
    s.click(&s.find(".nodata a.with-data").unwrap());
    path_is(&s, "/host/web1/category/coin_stats/stat/flips");
    visible_images_loaded(&s, ".plot");
    assert!(s.coloured_pixels(".plot img") > 500, "the range offered has data");

    // Combining: "+" says what it did; a shared link leaves the visitor's collection alone.
    s.goto(&format!("{base}/host/web1/category/coin_stats/stat/flips?start=end-5min"));
    let add = s.wait_for(".add[data-ref='web1/any/gauge-coin_stats-flips']", WAIT);
    s.click(&add);
    assert!(s.text(&add).contains("added to the combined graph"), "{}", s.text(&add));
    assert_eq!(s.text(&s.find("#basket-count").unwrap()), "1");
    let basket = s.attr(&s.find("#basket").unwrap(), "href").unwrap();
    assert!(basket.contains("start=end-5min"), "the combined graph keeps the range: {basket}");
    s.goto(&format!("{base}/combine?s=web2/any/gauge-some_category-some_counter&start=end-5min"));
    s.wait_for("#collection-notice", WAIT);
    let kept = s.exec("return JSON.parse(localStorage.getItem('collectd-view.basket'))", json!([]));
    assert_eq!(kept, json!(["web1/any/gauge-coin_stats-flips"]), "the visitor's collection is kept");
    assert_eq!(s.text(&s.find("#basket-count").unwrap()), "1");
    no_axe_violations(&s, "combine page");
    s.click(&s.find("#merge").unwrap());
    assert_eq!(s.text(&s.find("#basket-count").unwrap()), "2");
    s.screenshot_emulated(&shots.join("newcomer-combine-1400.png"), 1400, 1000, 1.0, false);
    // A real title; adding without JavaScript (a form and links).
    let mut c = webkit::Conn::new(server.addr());
    let two = "s=web1/any/gauge-coin_stats-flips&s=web2/any/gauge-some_category-some_counter&start=end-5min";
    let j: serde_json::Value = serde_json::from_slice(&c.get(&format!("/data.json?{two}")).unwrap().body).unwrap();
    assert_eq!(j["title"], "coin_stats flips, some_category some_counter on 2 hosts");
    let page = c.get("/combine?s=web1/any/gauge-coin_stats-flips&q=web2+some_counter").unwrap().text();
    assert!(
        page.contains("class=\"add-here\" href=\"/combine?s=web1%2Fany%2Fgauge-coin_stats-flips&amp;s=web2%2Fany%2Fgauge-some_category-some_counter"),
        "{page}"
    );
    drop(s);
    server.stop().unwrap();
    eprintln!("newcomer browser test took {:?}; screenshots in {}", t_start.elapsed(), shots.display());
}
