//! The Prometheus source against real databases: Debian's collectd 5.12 with
//! `write_prometheus`, fed by the library for two hosts (and its own `load` plugin),
//! scraped every second by VictoriaMetrics and by Prometheus, read back through the
//! Prometheus HTTP API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use collectd_rrd::index::Index;
use collectd_rrd::naming::{Identifier, Meaning};
use collectd_rrd::rrdtool::{Pool, PoolConfig};
use collectd_rrd::source::prometheus::client::{Config, PrometheusError};
use collectd_rrd::source::prometheus::{Aggregate, Mirror, PrometheusSource};
use collectd_rrd::source::{RrdSource, Source, SourceError, Window};
use collectd_rrd::write::types_db::TypesDb;
use testkit::{Collectd, Tsdb, TsdbKind};

/// Intervals of 1 s the library records.
const INTERVALS: u32 = 8;

struct Setup {
    collectd: Collectd,
    tsdb: Tsdb,
    source: PrometheusSource,
}

fn setup(kind: TsdbKind) -> Option<Setup> {
    testkit::require_collectd()?;
    testkit::require_tsdb(kind)?;
    let wp_port = testkit::free_tcp_port();
    let collectd = Collectd::builder()
        .interval(1)
        .listen(testkit::Security::None)
        .csv(true)
        .plugin("load")
        .plugin("write_prometheus")
        .extra_config(&format!("<Plugin write_prometheus>\n  Host \"127.0.0.1\"\n  Port \"{wp_port}\"\n</Plugin>\n"))
        // write_prometheus 5.12 with libmicrohttpd 0.9.75 logs "[error] ... MHD_OPTION_EXTERNAL_LOGGER
        // is not the first option" at start, and then serves normally.
        .allow_startup_errors(true)
        .start()
        .expect("collectd starts");
    let target: SocketAddr = ([127, 0, 0, 1], wp_port).into();
    let tsdb = Tsdb::start(kind, &[target], 1).expect("the database starts");
    let connect = |host: &str| {
        collectd::Connection::builder()
            .hostname(host)
            .collectd_host("127.0.0.1")
            .collectd_port(collectd.port())
            .interval(Duration::from_secs(1))
            .build()
    };
    let mut config = Config::new(tsdb.url());
    config.timeout = Duration::from_secs(5);
    let source = PrometheusSource::new(config, TypesDb::builtin(), 1).expect("a client");
    // The library records only once the database scrapes (it has collectd's own load):
    // write_prometheus serves the latest values only, so what comes before is never seen.
    testkit::poll_until(Duration::from_secs(30), || {
        source.list().ok()?.entries.iter().any(|e| e.id.plugin == "load").then_some(())
    })
    .unwrap_or_else(|| panic!("{} never scraped collectd:\n{}", tsdb.url(), tsdb.log()));
    let (web1, web2) = (connect("web1"), connect("web2"));
    for k in 1..=INTERVALS {
        let k = f64::from(k);
        let coins = web1.counter("coin_stats");
        coins.record(&["heads"], &[("flips", k)]);
        coins.record(&["tails"], &[("flips", 2.0 * k)]);
        web2.counter("coin_stats").record(&["tails"], &[("flips", 3.0 * k)]);
        web1.flush();
        web2.flush();
        // Pacing: one value per interval (1 s), as collectd requires.
        std::thread::sleep(Duration::from_secs(1));
    }
    Some(Setup { collectd, tsdb, source })
}

fn module_id(host: &str, type_instance: &str) -> Identifier {
    Identifier {
        host: host.into(),
        plugin: "any".into(),
        plugin_instance: None,
        type_: "gauge".into(),
        type_instance: Some(type_instance.into()),
    }
}

fn check(kind: TsdbKind) {
    let Some(Setup { collectd, mut tsdb, source }) = setup(kind) else {
        eprintln!("skipped: collectd or {} not installed", kind.program());
        return;
    };
    // The series appear with their meanings once scraped.
    let tails2 = module_id("web2", "coin_stats-tails-flips");
    let listing = testkit::poll_until(Duration::from_secs(30), || {
        let l = source.list().ok()?;
        (l.get(&tails2).is_some() && l.get(&module_id("web1", "coin_stats-heads-flips")).is_some()).then_some(l)
    })
    .unwrap_or_else(|| panic!("the module's series never appeared in {}:\n{}", tsdb.url(), tsdb.log()));
    let heads = listing.get(&module_id("web1", "coin_stats-heads-flips")).unwrap();
    assert_eq!(
        heads.meaning,
        Some(Meaning::Specific { category: "coin_stats".into(), specific: "heads".into(), stat: "flips".into() })
    );
    assert_eq!(heads.data_sources, ["value"]);
    let base = listing.get(&module_id("web1", "coin_stats-flips")).expect("the base series");
    assert_eq!(base.meaning, Some(Meaning::Base { category: "coin_stats".into(), stat: "flips".into() }));
    let tree = listing.render_tree();
    assert!(tree.contains("category coin_stats") && tree.contains("specific tails"), "{tree}");
    let load = listing
        .entries
        .iter()
        .find(|e| e.id.plugin == "load" && e.id.host == collectd.hostname())
        .expect("collectd's own load plugin");
    assert_eq!(load.data_sources, ["longterm", "midterm", "shortterm"]);

    // What the database holds is what collectd received (its CSV), value for value.
    let series = source.series().unwrap();
    let pick = |id: &Identifier| series.iter().find(|s| &s.id == id).unwrap().clone();
    let csv = collectd.csv_rows("web2", "any", "gauge-coin_stats-tails-flips");
    assert!(!csv.is_empty());
    let (first, last) = (csv[0].0 as i64, csv[csv.len() - 1].0.ceil() as i64);
    let window = Window::new(first, last, 1);
    let tails = pick(&tails2);
    let points = testkit::poll_until(Duration::from_secs(10), || {
        let p = source.fetch(std::slice::from_ref(&tails), window).ok()?.remove(&tails)?;
        (p.iter().filter(|(_, v)| v.is_some()).count() + 1 >= csv.len()).then_some(p)
    })
    .unwrap_or_else(|| {
        let got = source.fetch(std::slice::from_ref(&tails), window);
        panic!("{} does not hold the values of {}: {got:?}, csv {csv:?}", tsdb.url(), tails.selector())
    });
    for (t, v) in csv.iter().map(|(t, v)| (t.round() as i64, v[0])) {
        let got = points.iter().find(|(pt, _)| *pt == t).and_then(|(_, v)| *v);
        // A scrape may fall between two values; the database then holds the later one.
        if let Some(got) = got {
            assert!(csv.iter().any(|(_, row)| row[0] == got), "{t}: {got} was never recorded ({v})");
        }
    }
    let recorded: Vec<f64> = (1..=INTERVALS).map(|k| 3.0 * f64::from(k)).collect();
    for (_, v) in points.iter().filter_map(|(t, v)| v.map(|v| (t, v))) {
        assert!(recorded.contains(&v), "{v} is not a value the library sent: {recorded:?}");
    }

    // Materialized as RRD files, the same values come back through rrdtool.
    let pool = Pool::new(PoolConfig { workers: 1, png_zlib_level: None, ..PoolConfig::default() }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    source.materialize(&pool, dir.path(), std::slice::from_ref(&tails), window).unwrap();
    let rrd = RrdSource { index: Arc::new(Index::open(dir.path()).unwrap()), pool: Arc::new(pool) };
    let from_rrd = rrd.read(&tails2, "value", window).unwrap();
    for (t, v) in &points {
        if let Some(v) = v {
            let got = from_rrd.iter().find(|(rt, _)| rt == t).and_then(|(_, v)| *v);
            assert_eq!(got, Some(*v), "at {t}: {from_rrd:?} vs {points:?}");
        }
    }

    // Mirrored into a DataDir (what `serve --prometheus` serves), the same values again.
    let pool = Pool::new(PoolConfig { workers: 1, png_zlib_level: None, ..PoolConfig::default() }).unwrap();
    let mirror_dir = tempfile::tempdir().unwrap();
    let mut mirror = Mirror::new(mirror_dir.path(), 600, 1);
    assert!(mirror.sync(&source, &pool, window.end).unwrap() >= 4);
    let rrd = RrdSource { index: Arc::new(Index::open(mirror_dir.path()).unwrap()), pool: Arc::new(pool) };
    let mirrored = rrd.read(&tails2, "value", window).unwrap();
    let known = |p: &[(i64, Option<f64>)]| p.iter().filter(|(_, v)| v.is_some()).count();
    assert!(known(&mirrored) + 1 >= known(&points), "{mirrored:?} vs {points:?}");
    for (t, v) in &mirrored {
        if let Some(v) = v {
            assert_eq!(points.iter().find(|(pt, _)| pt == t).and_then(|(_, v)| *v), Some(*v), "at {t}");
        }
    }

    // Combined in the database (`sum by`), each step is the sum of the hosts' values.
    let tails1 = pick(&module_id("web1", "coin_stats-tails-flips"));
    let both = [tails1.clone(), tails.clone()];
    let query = source.combine_query(Aggregate::Sum, &both, window);
    assert!(query.starts_with("sum by (any) ("), "{query}");
    let summed = source.client().query_range(&query, window.start, window.end, 1).unwrap();
    assert_eq!(summed.len(), 1, "{query}: {summed:?}");
    let per_host = source.fetch(&both, window).unwrap();
    let mut compared = 0;
    for &(t, sum) in &summed[0].points {
        let t = t as i64;
        let value = |s| per_host[s].iter().find(|(pt, _)| *pt == t).and_then(|(_, v)| *v);
        if let (Some(a), Some(b)) = (value(&tails1), value(&tails)) {
            assert_eq!(sum, a + b, "at {t}");
            compared += 1;
        }
    }
    assert!(compared >= 3, "only {compared} steps with both hosts");

    // Errors name the URL and carry the database's own message.
    let e = source.client().query_range("sum(", window.start, window.end, 1).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, PrometheusError::Query { .. }), "{text}");
    assert!(text.contains(&tsdb.url()) && text.contains("query_range"), "{text}");
    let wrong =
        PrometheusSource::new(Config::new(format!("{}/wrong/path", tsdb.url())), TypesDb::builtin(), 1).unwrap();
    let e = wrong.list().unwrap_err();
    let text = e.to_string();
    assert!(text.contains(&format!("{}/wrong/path/api/v1/series", tsdb.url())), "{text}");
    // The database's own words: Prometheus "404 page not found", VictoriaMetrics
    // "unsupported path requested".
    assert!(text.contains("page not found") || text.contains("unsupported path"), "{text}");
    assert!(matches!(e, SourceError::Prometheus(PrometheusError::Status { .. })), "{text}");

    // The database stopped mid-session: a clear error, quickly.
    tsdb.stop();
    let started = std::time::Instant::now();
    let e = source.list().unwrap_err();
    assert!(matches!(e, SourceError::Prometheus(PrometheusError::Unreachable { .. })), "{e}");
    assert!(e.to_string().contains(&tsdb.url()), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn victoria_metrics_serves_collectd_series_with_their_meanings() {
    check(TsdbKind::VictoriaMetrics);
}

#[test]
fn prometheus_serves_collectd_series_with_their_meanings() {
    check(TsdbKind::Prometheus);
}

/// The cost of the mirror `serve --prometheus` uses, over 10,000 series imported into a
/// real VictoriaMetrics: the listing, a first sync and a later one, and how many
/// database queries each takes (run with `--ignored --nocapture`).
#[test]
#[ignore = "a measurement: cargo test -p collectd-rrd --test prometheus -- --ignored --nocapture"]
fn mirror_of_ten_thousand_series() {
    let Some(_) = testkit::require_tsdb(TsdbKind::VictoriaMetrics) else { return };
    let vm = Tsdb::start(TsdbKind::VictoriaMetrics, &[], 10).expect("victoria-metrics starts");
    let end = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut body = String::new();
    for i in 0..10_000 {
        let (host, cat, spec) = (i % 10, i / 1000, i % 100);
        for k in 0..30 {
            let t = (end - 300 + 10 * k) * 1000;
            body.push_str(&format!(
                "collectd_any_gauge{{any=\"cat{cat}-s{spec}_{i}-flips\",instance=\"host{host}\"}} {k} {t}\n"
            ));
        }
    }
    let agent = ureq::Agent::new_with_defaults();
    agent.post(&format!("{}/api/v1/import/prometheus", vm.url())).send(body.as_bytes()).unwrap();
    agent.get(&format!("{}/internal/force_flush", vm.url())).call().unwrap();
    let source = PrometheusSource::new(Config::new(vm.url()), TypesDb::builtin(), 10).unwrap();
    let listed = testkit::poll_until(Duration::from_secs(30), || {
        let n = source.series().ok()?.len();
        (n == 10_000).then_some(n)
    })
    .expect("10,000 series listed");
    let t = std::time::Instant::now();
    let listing = source.list().unwrap();
    eprintln!("listing {listed} series ({} entries): {:?}, 1 query", listing.entries.len(), t.elapsed());
    let plan = source.plan(&source.series().unwrap(), Window::new(end - 300, end, 10));
    eprintln!("values of all of them: {} query_range", plan.len());
    let pool = Pool::new(PoolConfig { workers: 1, png_zlib_level: None, ..PoolConfig::default() }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut mirror = Mirror::new(dir.path(), 300, 10);
    let t = std::time::Instant::now();
    mirror.sync(&source, &pool, end).unwrap();
    eprintln!("first sync (create + 30 rows each): {:?}", t.elapsed());
    let t = std::time::Instant::now();
    mirror.sync(&source, &pool, end + 10).unwrap();
    eprintln!("next sync: {:?}", t.elapsed());
}
