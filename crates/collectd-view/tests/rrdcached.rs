//! collectd-view with a real rrdcached: values a real collectd 5.12 sends through its
//! `rrdcached` plugin wait in rrdcached's cache, not in the files on disk, and are what
//! `collectd-view graph --rrdcached` draws and the pool's xport returns with the daemon set;
//! a missing or dead rrdcached is rrdtool's own error, quickly, not a hang or a crash.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use collectd_rrd::graph::Graph;
use collectd_rrd::index::Index;
use collectd_rrd::rrdtool::{Pool, PoolConfig, RrdtoolError};
use collectd_rrd::select::{self, GraphOptions, Mode, Request};

const INTERVALS: u32 = 3;

/// What rrdtool says when nothing listens at the daemon's address.
const CANNOT_CONNECT: &str = "Unable to connect to rrdcached";

/// A failure must come well before the pool's 30 s timeout.
const QUICK: Duration = Duration::from_secs(10);

/// A collectd writing through an rrdcached that received `INTERVALS` snapshots from hosts
/// web1 and web2, every one still in rrdcached's cache.
struct Fed {
    // Dropped in this order: collectd stops sending before rrdcached stops.
    collectd: testkit::Collectd,
    cached: testkit::Rrdcached,
    index: Arc<Index>,
}

impl Fed {
    fn file(&self, host: &str, name: &str) -> PathBuf {
        self.cached.base_dir().join(host).join("any").join(format!("{name}.rrd"))
    }

    /// `(time, value)` as collectd wrote them to CSV: what the library sent.
    fn sent(&self, host: &str, name: &str) -> Vec<(i64, f64)> {
        let rows = self.collectd.csv_rows(host, "any", name);
        rows.iter().map(|(t, v)| (t.round() as i64, v[0])).collect()
    }
}

/// Series written, by host and file name.
const SERIES: [(&str, &str); 5] = [
    ("web1", "gauge-coin_stats-flips"),
    ("web1", "gauge-coin_stats-heads-flips"),
    ("web1", "gauge-coin_stats-tails-flips"),
    ("web2", "gauge-coin_stats-flips"),
    ("web2", "gauge-coin_stats-tails-flips"),
];

fn feed() -> Option<Fed> {
    testkit::require_collectd()?;
    testkit::require_rrdtool()?;
    testkit::require_rrdcached()?;
    let cached = testkit::Rrdcached::start().expect("rrdcached starts");
    let collectd = testkit::Collectd::builder()
        .interval(1)
        .listen(testkit::Security::None)
        .csv(true)
        .rrdcached(&cached.address(), cached.base_dir())
        .start()
        .expect("collectd starts");
    // Whole-second times: collectd's rrdcached plugin (unlike its rrdtool plugin) passes
    // sub-second times on, and rrdtool would then weigh two neighbouring values into a
    // 1-s step; with whole seconds each value fills its own steps and comes back exactly.
    let connect = |host: &str| {
        collectd::Connection::builder()
            .hostname(host)
            .collectd_host("127.0.0.1")
            .collectd_port(collectd.port())
            .interval(Duration::from_secs(1))
            .legacy_time(true)
            .build()
    };
    let (web1, web2) = (connect("web1"), connect("web2"));
    for k in 1..=INTERVALS {
        let k = f64::from(k);
        let coins = web1.counter("coin_stats");
        coins.record(&["heads"], &[("flips", k)]);
        coins.record(&["tails"], &[("flips", 2.0 * k)]);
        web2.counter("coin_stats").record(&["tails"], &[("flips", 3.0 * k)]);
        web1.flush();
        web2.flush();
        if k < f64::from(INTERVALS) {
            // Pacing: one value per interval (1 s), as collectd requires.
            std::thread::sleep(Duration::from_millis(1000));
        }
    }
    let fed = Fed { index: Arc::new(Index::open(cached.base_dir()).expect("the DataDir indexes")), cached, collectd };
    fed.collectd
        .wait_until(Duration::from_secs(10), || {
            SERIES.iter().all(|(host, name)| {
                fed.collectd.csv_rows(host, "any", name).len() >= INTERVALS as usize
                    && fed.cached.pending(&fed.file(host, name)).is_ok_and(|p| p.len() >= INTERVALS as usize)
            })
        })
        .unwrap_or_else(|e| panic!("every interval reached rrdcached: {e}\n--- rrdcached ---\n{}", fed.cached.log()));
    fed.index.refresh().expect("the DataDir indexes");
    Some(fed)
}

/// Graphs of `start..=end` (epoch seconds), read through `daemon` if given.
fn range(start: i64, end: i64, daemon: Option<&str>) -> GraphOptions {
    GraphOptions {
        start: start.to_string(),
        end: end.to_string(),
        daemon: daemon.map(str::to_owned),
        ..GraphOptions::default()
    }
}

/// The graph of stat `flips` of category `coin_stats` on `host`.
fn plan(index: &Arc<Index>, host: &str, options: &GraphOptions) -> Graph {
    let request = Request {
        hosts: vec![host.into()],
        categories: vec!["coin_stats".into()],
        stats: vec!["flips".into()],
        mode: Mode::Auto,
        ..Request::default()
    };
    let lookup = collectd_rrd::ds_lookup(index, None);
    let mut graphs = select::plan(&index.snapshot(), &request, options, &lookup).expect("the selection exists");
    assert_eq!(graphs.len(), 1);
    graphs.remove(0)
}

/// The file's values on disk, read without any daemon, in `start..=end`.
fn on_disk(file: &Path, start: i64, end: i64) -> Vec<(i64, f64)> {
    let rows = testkit::try_rrd_fetch(file, "AVERAGE", start, end).expect("rrdtool fetch reads the file");
    rows.into_iter().filter_map(|(t, v)| v[0].map(|v| (t, v))).collect()
}

/// Runs `collectd-view ARGS` in `cwd`, timed.
fn cli(cwd: &Path, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_collectd-view")).args(args).current_dir(cwd).output().unwrap();
    (out, started.elapsed())
}

/// Runs `collectd-view graph` of HOST's coin_stats/flips in `cwd`, into `png`, with
/// `extra` arguments and, when given, `--rrdcached DAEMON`; timed.
fn graph_cli(
    cwd: &Path,
    data_dir: &str,
    host: &str,
    daemon: Option<&str>,
    extra: &[&str],
    png: &Path,
) -> (Output, Duration) {
    let mut args = vec!["graph", "--data-dir", data_dir, "--host", host, "--category", "coin_stats", "--stat", "flips"];
    args.extend(extra);
    if let Some(d) = daemon {
        args.extend(["--rrdcached", d]);
    }
    args.extend(["-o", png.to_str().unwrap()]);
    cli(cwd, &args)
}

fn png_size(b: &[u8]) -> (u32, u32) {
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&b[12..16], b"IHDR");
    (u32::from_be_bytes(b[16..20].try_into().unwrap()), u32::from_be_bytes(b[20..24].try_into().unwrap()))
}

#[test]
fn values_wait_in_rrdcached_until_collectd_view_asks_for_them() {
    let Some(mut fed) = feed() else { return };
    let address = fed.cached.address();
    let sent = |host: &str, name: &str| fed.sent(host, name);
    let heads = sent("web1", "gauge-coin_stats-heads-flips");
    let (first, last) = (heads[0].0, heads[heads.len() - 1].0);
    let (start, end) = (first - 3, last + 1);

    // rrdcached holds every value collectd sent, as sent; none is on disk.
    for (host, name) in SERIES {
        let file = fed.file(host, name);
        let pending: Vec<(i64, f64)> = fed
            .cached
            .pending(&file)
            .unwrap()
            .iter()
            .map(|line| {
                let (t, v) = line.split_once(':').unwrap_or_else(|| panic!("pending update {line:?}"));
                (t.parse::<f64>().unwrap() as i64, v.parse().unwrap())
            })
            .collect();
        assert_eq!(pending, sent(host, name), "{host}/{name}: pending in rrdcached");
        assert_eq!(on_disk(&file, start, end), [], "{host}/{name}: on disk before any flush");
    }

    // The pool without the daemon sees nothing; with it, exactly what was sent.
    let pool = Pool::new(PoolConfig::default()).unwrap();
    let without = pool.xport(&plan(&fed.index, "web1", &range(start, end, None))).unwrap();
    assert!(without.rows.iter().all(|(_, v)| v.iter().all(Option::is_none)), "values without the daemon: {without:?}");
    let xport = pool.xport(&plan(&fed.index, "web1", &range(start, end, Some(&address)))).unwrap();
    assert_eq!(xport.step, 1);
    let column = |legend: &str| {
        xport.legends.iter().position(|l| l.starts_with(legend)).unwrap_or_else(|| panic!("{legend} in {xport:?}"))
    };
    let (heads_col, tails_col, total_col) = (column("heads"), column("tails"), column("flips"));
    let tails = sent("web1", "gauge-coin_stats-tails-flips");
    assert_eq!(heads.len(), INTERVALS as usize);
    for (k, ((t, h), (t2, tl))) in heads.iter().zip(&tails).enumerate() {
        let k = f64::from(k as u32 + 1);
        assert_eq!((*h, *t2, *tl), (k, *t, 2.0 * k), "CSV: what the library sent");
        let row = xport.rows.iter().find(|(time, _)| time == t).unwrap_or_else(|| panic!("no row at {t}: {xport:?}"));
        assert_eq!(row.1[heads_col], Some(k), "heads at {t}");
        assert_eq!(row.1[tails_col], Some(2.0 * k), "tails at {t}");
        assert_eq!(row.1[total_col], Some(3.0 * k), "total at {t}");
    }
    // Reading through the daemon made it write web1's files, and only those.
    let file = fed.file("web1", "gauge-coin_stats-heads-flips");
    assert_eq!(fed.cached.pending(&file).unwrap(), Vec::<String>::new());
    assert_eq!(on_disk(&file, start, end), heads);
    let web2_tails = fed.file("web2", "gauge-coin_stats-tails-flips");
    assert_eq!(fed.cached.pending(&web2_tails).unwrap().len(), INTERVALS as usize);

    // The CLI: an image of web2 drawn through rrdcached differs from the one drawn from
    // disk before, and equals the one drawn from disk once rrdcached has written the files.
    // Through rrdcached, the DataDir is given relative to the working directory and through
    // a symbolic link: over a unix socket rrdtool sends the file names resolved with
    // realpath(), the names collectd's updates are cached under.
    let out_dir = tempfile::tempdir().unwrap();
    let data_dir = fed.cached.base_dir().to_str().unwrap().to_owned();
    let link = "rrd-link";
    std::os::unix::fs::symlink(fed.cached.base_dir(), out_dir.path().join(link)).unwrap();
    // (At least the 10 s the web interface and the CLI accept as a range.)
    let (start_s, end_s) = (start.min(end - 10).to_string(), end.to_string());
    let graph = |name: &str, daemon: Option<&str>| -> (Vec<u8>, String) {
        let png = out_dir.path().join(name);
        let data_dir = if daemon.is_some() { link } else { &data_dir };
        let size = ["--start", &start_s, "--end", &end_s, "--width", "400", "--height", "120"];
        let (out, _) = graph_cli(out_dir.path(), data_dir, "web2", daemon, &size, &png);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{name}: {stderr}");
        (std::fs::read(&png).unwrap(), stderr)
    };
    let (before, _) = graph("before.png", None);
    let (cached, stderr) = graph("cached.png", Some(&address));
    let (after, _) = graph("after.png", None);
    // (The CLI draws in the web interface's look.)
    let mut looked = plan(
        &fed.index,
        "web2",
        &GraphOptions { width: 400, height: 120, ..range(start.min(end - 10), end, Some(&address)) },
    );
    looked.look = collectd_rrd::graph::style::look(false);
    looked.grid = collectd_rrd::graph::style::look_grid();
    let geometry = pool.render(&looked);
    let g = geometry.unwrap().geometry;
    assert_eq!((g.graph_width, g.graph_height), (400, 120));
    assert_eq!(png_size(&cached), (g.image_width, g.image_height));
    assert!(stderr.contains(&format!("{}x{} png", g.image_width, g.image_height)), "{stderr}");
    assert_ne!(cached, before, "the image through rrdcached shows the cached values");
    assert_eq!(cached, after, "the image through rrdcached equals the one of the written files");
    assert_eq!(on_disk(&web2_tails, start, end), sent("web2", "gauge-coin_stats-tails-flips"));
    assert_eq!(fed.cached.pending(&web2_tails).unwrap(), Vec::<String>::new());

    // rrdcached dies (its socket file stays): rrdtool's message, quickly, from the pool
    // (whose worker was connected to it) and from the CLI; then the pool works on.
    fed.cached.kill().unwrap();
    assert!(fed.cached.socket_path().exists(), "a killed rrdcached leaves its socket");
    let with_daemon = plan(&fed.index, "web1", &range(start, end, Some(&address)));
    assert_eq!(pool.spawned(), 1);
    let started = Instant::now();
    let err = pool.xport(&with_daemon).unwrap_err();
    assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
    match &err {
        RrdtoolError::Rrdtool { command, message } => {
            assert_eq!(command, "xport");
            assert!(message.contains(CANNOT_CONNECT), "{message}");
        }
        other => panic!("want rrdtool's message, got {other:?}"),
    }
    // The worker kept its connection to the daemon and died of SIGPIPE writing to it; the
    // pool ran the command again on a fresh worker, which got rrdtool's message.
    assert_eq!(pool.spawned(), 2);
    let xport = pool.xport(&plan(&fed.index, "web1", &range(start, end, None))).unwrap();
    assert!(xport.rows.iter().any(|(_, v)| v[heads_col] == Some(1.0)), "{xport:?}");
    let png = out_dir.path().join("dead.png");
    let (out, took) = graph_cli(out_dir.path(), &data_dir, "web1", Some(&address), &[], &png);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains(CANNOT_CONNECT), "{stderr}");
    assert!(stderr.contains("Connection refused"), "{stderr}");
    assert!(took < QUICK, "took {took:?}");
    assert!(!png.exists(), "no image is written");
}

/// No rrdcached at the address at all: every way collectd-view reads through a daemon
/// fails with rrdtool's message, quickly; only rrdtool is needed.
#[test]
fn missing_rrdcached_socket_is_rrdtools_error() {
    let Some(_) = testkit::require_rrdtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("h/any/gauge-coin_stats-flips.rrd");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let status = Command::new("rrdtool")
        .args(["create", file.to_str().unwrap(), "-s", "10", "DS:value:GAUGE:20:U:U", "RRA:AVERAGE:0.5:1:100"])
        .status()
        .unwrap();
    assert!(status.success());
    let address = format!("unix:{}", dir.path().join("no-rrdcached.sock").display());
    let index = Arc::new(Index::open(dir.path()).unwrap());
    let graph = plan(&index, "h", &GraphOptions { daemon: Some(address.clone()), ..GraphOptions::default() });

    let pool = Pool::new(PoolConfig { daemon: Some(address.clone()), ..PoolConfig::default() }).unwrap();
    let started = Instant::now();
    let errors = [
        ("graphv", pool.render(&graph).map(drop)),
        ("xport", pool.xport(&graph).map(drop)),
        ("info", pool.info(&file).map(drop)),
        ("lastupdate", pool.last_update(&file).map(drop)),
    ];
    for (want, result) in errors {
        match result {
            Err(RrdtoolError::Rrdtool { command, message }) => {
                assert_eq!(command, want);
                assert_eq!(message, format!("{CANNOT_CONNECT}: No such file or directory"));
            }
            other => panic!("{want}: want rrdtool's message, got {other:?}"),
        }
    }
    assert!(started.elapsed() < QUICK, "took {:?}", started.elapsed());
    assert_eq!(pool.spawned(), 1, "an unreachable daemon does not cost the worker");

    let png = dir.path().join("g.png");
    let (out, took) = graph_cli(dir.path(), dir.path().to_str().unwrap(), "h", Some(&address), &[], &png);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("{CANNOT_CONNECT}: No such file or directory")), "{stderr}");
    assert!(took < QUICK, "took {took:?}");
    assert!(!png.exists(), "no image is written");
}
