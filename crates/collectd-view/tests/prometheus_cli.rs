//! `collectd-view ls --prometheus` and `graph --prometheus` against a real VictoriaMetrics
//! scraping collectd 5.12's write_prometheus, fed by the library for two hosts; and the
//! command's errors when the database is not there.

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::time::Duration;

use testkit::{Collectd, Tsdb, TsdbKind};

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_collectd-view")).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn ls_and_graph_read_a_victoria_metrics_database() {
    if testkit::require_collectd().is_none() || testkit::require_tsdb(TsdbKind::VictoriaMetrics).is_none() {
        eprintln!("skipped: collectd or victoria-metrics not installed");
        return;
    }
    testkit::require_rrdtool().expect("rrdtool");
    let wp_port = testkit::free_tcp_port();
    let collectd = Collectd::builder()
        .interval(1)
        .listen(testkit::Security::None)
        .plugin("write_prometheus")
        .extra_config(&format!("<Plugin write_prometheus>\n  Host \"127.0.0.1\"\n  Port \"{wp_port}\"\n</Plugin>\n"))
        // libmicrohttpd's harmless "MHD_OPTION_EXTERNAL_LOGGER is not the first option".
        .allow_startup_errors(true)
        .start()
        .expect("collectd starts");
    let target: SocketAddr = ([127, 0, 0, 1], wp_port).into();
    let mut vm = Tsdb::start(TsdbKind::VictoriaMetrics, &[target], 1).expect("victoria-metrics starts");
    let url = vm.url();
    let connect = |host: &str| {
        collectd::Connection::builder()
            .hostname(host)
            .collectd_host("127.0.0.1")
            .collectd_port(collectd.port())
            .interval(Duration::from_secs(1))
            .build()
    };
    let (web1, web2) = (connect("web1"), connect("web2"));
    // The library records every second (collectd's interval) for the whole test.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let recorder = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                web1.counter("coin_stats").record(&["heads"], &[("flips", 1.0)]);
                web2.counter("coin_stats").record(&["tails"], &[("flips", 2.0)]);
                web1.flush();
                web2.flush();
                // Pacing: one value per interval (1 s), as collectd requires.
                std::thread::sleep(Duration::from_secs(1));
            }
        })
    };
    let ls = testkit::poll_until(Duration::from_secs(40), || {
        let out = cli(&["ls", "--prometheus", &url]);
        let t = text(&out);
        (out.status.success() && t.contains("web1") && t.contains("web2") && t.contains("specific tails")).then_some(t)
    })
    .unwrap_or_else(|| {
        panic!("ls --prometheus never listed both hosts:\n{}", text(&cli(&["ls", "--prometheus", &url])))
    });
    assert!(ls.contains("  any  (original module)\n    category coin_stats\n      stat flips"), "{ls}");

    // graph: the PromQL, aggregated in the database for a combine, and a PNG.
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("sum.png");
    let out = cli(&[
        "graph",
        "--prometheus",
        &url,
        "--scrape-interval",
        "1",
        "--host",
        "web1",
        "--host",
        "web2",
        "--category",
        "coin_stats",
        "--stat",
        "flips",
        "--mode",
        "sum",
        "--start",
        "end-10min",
        "--print-command",
        "-o",
        png.to_str().unwrap(),
    ]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("# PromQL, step 1s: collectd_any_gauge{any=~"), "{t}");
    assert!(
        t.contains("sum by (any) (collectd_any_gauge{any=\"coin_stats-flips\",exported_instance=~\"web1|web2\"})"),
        "{t}"
    );
    let image = std::fs::read(&png).unwrap();
    assert!(image.starts_with(b"\x89PNG"), "not a PNG");

    // serve: the pages and exports over the database (mirrored into RRD files).
    let port = testkit::free_tcp_port();
    let mut serve = Command::new(env!("CARGO_BIN_EXE_collectd-view"))
        .args(["serve", "--prometheus", &url, "--scrape-interval", "1", "--prometheus-span", "600"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let overview = testkit::poll_until(Duration::from_secs(30), || {
        http_get(port, "/").filter(|p| p.contains("web1") && p.contains("web2"))
    });
    let csv = testkit::poll_until(Duration::from_secs(30), || {
        http_get(port, "/data.csv?host=web2&cat=coin_stats&stat=flips&start=end-10min")
            .filter(|c| c.lines().any(|l| l.ends_with(",2,2") || l.ends_with(",2.0,2.0")))
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    recorder.join().unwrap();
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(overview.is_some(), "the overview never listed web1 and web2");
    let csv = csv.expect("the CSV export of web2's flips");
    // Every value web2 recorded for tails was 2, and its base (the sum) too.
    let values: Vec<&str> = csv.lines().skip(1).flat_map(|l| l.split(',').skip(2)).filter(|v| !v.is_empty()).collect();
    assert!(!values.is_empty() && values.iter().all(|v| v.parse::<f64>().ok() == Some(2.0)), "{csv}");

    // A wrong path and a stopped database: non-zero exit, the URL and the database's words.
    let out = cli(&["ls", "--prometheus", &format!("{url}/nope")]);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(t.contains(&format!("{url}/nope/api/v1/series")) && t.contains("unsupported path"), "{t}");
    vm.stop();
    let started = std::time::Instant::now();
    let out = cli(&["graph", "--prometheus", &url, "--host", "web1", "--category", "coin_stats", "-o", "-"]);
    let t = text(&out);
    assert!(!out.status.success());
    assert!(t.contains(&url) && t.contains("cannot reach the database"), "{t}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The body of `GET path` on 127.0.0.1:port, when the answer is 200.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").ok()?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).ok()?;
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let (head, body) = reply.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}
