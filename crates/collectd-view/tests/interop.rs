//! Index, graph model, rrdtool pool and CLI against RRD files made as collectd 5.12 makes
//! them, with a real rrdtool.

use testkit::fixture as support;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use collectd_rrd::graph::{Format, Graph};
use collectd_rrd::index::Index;
use collectd_rrd::rrdtool::{Pool, PoolConfig, RrdtoolError};
use collectd_rrd::select::{self, GraphOptions, Mode, PluginSelection, Request};
use support::DataDir;

fn setup() -> Option<(DataDir, Arc<Index>)> {
    if !support::require_rrdtool() {
        return None;
    }
    let d = DataDir::build();
    let index = Arc::new(Index::open(d.dir.path()).unwrap());
    Some((d, index))
}

fn pool() -> Pool {
    Pool::new(PoolConfig::default()).unwrap()
}

fn request(hosts: &[&str], categories: &[&str], stats: &[&str]) -> Request {
    Request {
        hosts: hosts.iter().map(|s| s.to_string()).collect(),
        categories: categories.iter().map(|s| s.to_string()).collect(),
        stats: stats.iter().map(|s| s.to_string()).collect(),
        ..Request::default()
    }
}

fn plugin(host: &str, plugin: &str, type_: &str) -> Request {
    Request {
        hosts: vec![host.into()],
        plugins: vec![PluginSelection { plugin: plugin.into(), type_: type_.into(), ..PluginSelection::default() }],
        ..Request::default()
    }
}

fn plan(index: &Arc<Index>, req: &Request, opts: &GraphOptions) -> Vec<Graph> {
    let lookup = collectd_rrd::ds_lookup(index, None);
    select::plan(&index.snapshot(), req, opts, &lookup).unwrap()
}

fn one_hour() -> GraphOptions {
    GraphOptions { start: "end-1h".into(), ..GraphOptions::default() }
}

/// The graphs of every kind, by golden-file name.
fn kinds(index: &Arc<Index>) -> Vec<(String, Graph)> {
    let o = one_hour();
    let mut out = Vec::new();
    let mut add = |name: &str, graphs: Vec<Graph>| {
        for (i, g) in graphs.into_iter().enumerate() {
            out.push((format!("{name}{}", if i > 0 { format!("_{i}") } else { String::new() }), g));
        }
    };
    add("stat_band", plan(index, &request(&["h1"], &["some_category"], &["some_counter"]), &o));
    add("stat_specifics_stack", plan(index, &request(&["h1"], &["coin_stats"], &["flips"]), &o));
    let mut r = request(&["h1"], &["coin_stats"], &["flips"]);
    r.specifics = vec!["heads".into(), "tails".into()];
    add("stat_two_specifics", plan(index, &r, &o));
    add("category", plan(index, &request(&["h1"], &["coin_stats", "some_category"], &[]), &o));
    add("hosts_lines", plan(index, &request(&["h1", "h2"], &["coin_stats"], &["flips"]), &o));
    let mut r = request(&["h1", "h2"], &["coin_stats"], &["flips"]);
    r.mode = Mode::Sum;
    add("hosts_sum", plan(index, &r, &o));
    r.mode = Mode::Average;
    add("hosts_average", plan(index, &r, &o));
    let mut r = request(&["h1"], &["coin_stats", "some_category"], &["flips", "some_counter"]);
    r.stats = vec!["flips".into()];
    r.categories = vec!["coin_stats".into()];
    r.plugins = plugin("h1", "load", "load").plugins;
    r.mode = Mode::Lines;
    add("across_plugins", plan(index, &r, &o));
    add("plugin_one_ds", plan(index, &plugin("h1", "memory", "memory"), &o));
    add("plugin_many_ds", plan(index, &plugin("h1", "load", "load"), &o));
    let week = GraphOptions { start: "end-1w".into(), ..GraphOptions::default() };
    add("stat_band_week", plan(index, &request(&["h1"], &["some_category"], &["some_counter"]), &week));
    out
}

#[test]
fn golden_argv_for_each_kind() {
    let Some((d, index)) = setup() else { return };
    let dir = d.dir.path().to_str().unwrap();
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1");
    let mut mismatches = Vec::new();
    for (name, graph) in kinds(&index) {
        let argv = graph.command("-").unwrap().join("\n").replace(dir, "{DATA_DIR}") + "\n";
        let file = golden_dir.join(format!("{name}.argv"));
        if update {
            std::fs::create_dir_all(&golden_dir).unwrap();
            std::fs::write(&file, &argv).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", file.display()));
        if want != argv {
            mismatches.push(format!("{name}:\n--- want\n{want}--- got\n{argv}"));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn printed_commands_run_in_a_shell() {
    let Some((_d, index)) = setup() else { return };
    let out_dir = tempfile::tempdir().unwrap();
    for (name, graph) in kinds(&index) {
        let out = out_dir.path().join(format!("{name}.png"));
        let cmd = graph.shell_command(out.to_str().unwrap()).unwrap();
        let status = Command::new("sh").arg("-c").arg(&cmd).output().unwrap();
        assert!(status.status.success(), "{name}: {cmd}\n{}", String::from_utf8_lossy(&status.stderr));
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name}");
    }
}

fn png_size(b: &[u8]) -> (u32, u32) {
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&b[12..16], b"IHDR");
    let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
    (w, h)
}

#[test]
fn renders_png_svg_and_pdf_of_the_asked_size() {
    let Some((_d, index)) = setup() else { return };
    let pool = pool();
    for (format, width, height) in [(Format::Png, 640, 200), (Format::Svg, 500, 150), (Format::Pdf, 400, 120)] {
        let opts = GraphOptions { start: "end-1h".into(), width, height, format, ..GraphOptions::default() };
        let graphs = plan(&index, &request(&["h1"], &["coin_stats"], &["flips"]), &opts);
        let img = pool.render(&graphs[0]).unwrap();
        let g = img.geometry;
        assert_eq!((g.graph_width, g.graph_height), (width, height));
        assert!(g.image_width > width && g.image_height > height);
        assert!(g.end - g.start >= 3600 - 10 && g.end - g.start <= 3600 + 10, "{g:?}");
        assert!(g.value_max >= 11.0, "{g:?}");
        match format {
            Format::Png => assert_eq!(png_size(&img.data), (g.image_width, g.image_height)),
            Format::Svg => {
                let text = String::from_utf8(img.data.clone()).unwrap();
                assert!(text.starts_with("<?xml"), "{}", &text[..50]);
                assert!(
                    text.contains(&format!("width=\"{}pt\" height=\"{}pt\"", g.image_width, g.image_height)),
                    "{}",
                    &text[..300]
                );
            }
            Format::Pdf => assert!(img.data.starts_with(b"%PDF"), "{:?}", &img.data[..16]),
        }
    }
}

#[test]
fn xport_returns_the_values_that_were_sent() {
    let Some((d, index)) = setup() else { return };
    let pool = pool();
    let step = d.step as i64;
    let (k0, k1) = (100, 160);
    let opts = GraphOptions {
        start: (d.t0 + k0 * step).to_string(),
        end: (d.t0 + k1 * step).to_string(),
        ..GraphOptions::default()
    };
    let graphs = plan(&index, &request(&["h1"], &["coin_stats"], &["flips"]), &opts);
    let x = pool.xport(&graphs[0]).unwrap();
    assert_eq!(x.step, step);
    assert_eq!(x.legends, ["edge", "heads", "tails", "flips (sum)"]);
    let mut checked = 0;
    for (t, values) in &x.rows {
        let k = (t - d.t0) / step;
        if !(k0 < k && k <= k1) {
            continue;
        }
        let want = [support::edge(k), support::heads(k), support::tails(k), support::flips(k)];
        let got: Vec<f64> = values.iter().map(|v| v.expect("known value")).collect();
        assert_eq!(got, want, "row at {t} (update {k})");
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} rows checked: {x:?}");

    // Summed across hosts: h1's flips + h2's flips (tails).
    let mut r = request(&["h1", "h2"], &["coin_stats"], &["flips"]);
    r.mode = Mode::Sum;
    let graphs = plan(&index, &r, &opts);
    let x = pool.xport(&graphs[0]).unwrap();
    for (t, values) in &x.rows {
        let k = (t - d.t0) / step;
        if k0 < k && k <= k1 {
            assert_eq!(values[0], Some(support::flips(k) + support::tails(k)), "at {t}");
        }
    }
}

#[test]
fn header_reader_agrees_with_rrdtool_info() {
    let Some((_d, index)) = setup() else { return };
    let pool = pool();
    let snap = index.snapshot();
    assert_eq!(snap.file_count(), 9);
    for file in snap.files() {
        let h = index.header(file).unwrap();
        let info = pool.info(&file.path).unwrap();
        let get = |k: &str| info.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(get("step"), Some(h.step.to_string()));
        assert_eq!(h.archives.len(), 15, "{}", file.path.display());
        for (i, a) in h.archives.iter().enumerate() {
            assert_eq!(get(&format!("rra[{i}].cf")), Some(a.cf.clone()));
            assert_eq!(get(&format!("rra[{i}].rows")), Some(a.rows.to_string()));
            assert_eq!(get(&format!("rra[{i}].pdp_per_row")), Some(a.pdp_per_row.to_string()));
        }
        assert_eq!(get("last_update"), h.last_update.map(|t| t.to_string()));
        let names: Vec<String> = h.data_sources.iter().map(|d| d.name.clone()).collect();
        assert_eq!(names, pool.data_sources(&file.path).unwrap());
        for ds in &h.data_sources {
            assert_eq!(get(&format!("ds[{}].type", ds.name)), Some(ds.kind.clone()));
        }
    }
    let load = snap.files().find(|f| f.id.plugin == "load").unwrap();
    let h = index.header(load).unwrap();
    let names: Vec<&str> = h.data_sources.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["shortterm", "midterm", "longterm"]);
    assert_eq!(h.data_sources[0].max, Some(5000.0));
    let pdp: Vec<(u64, u64)> = h.archives.iter().step_by(3).map(|a| (a.pdp_per_row, a.rows)).collect();
    assert_eq!(pdp, [(1, 1200), (7, 1235), (50, 1210), (223, 1202), (2635, 1201)]);
}

#[test]
fn index_lists_module_names_and_unparsed_files() {
    let Some((d, index)) = setup() else { return };
    let snap = index.snapshot();
    let m = snap.module("h1", None).unwrap();
    let flips = &m.categories["coin_stats"].stats["flips"];
    assert!(flips.base.is_some());
    assert_eq!(flips.specifics.keys().collect::<Vec<_>>(), ["edge", "heads", "tails"]);
    assert_eq!(m.unparsed.len(), 1);
    assert_eq!(m.unparsed[0].id.to_string(), "h1/any/gauge-just_one_part");
    // A new file appears after a refresh, without reopening.
    let p = d.path("h3/any/gauge-new_cat-new_stat.rrd");
    support::create(&p, d.t0, 10, &[("value", "GAUGE", None, None)]);
    let snap = index.refresh().unwrap();
    assert!(snap.module("h3", None).unwrap().categories.contains_key("new_cat"));
}

#[test]
fn rrdtool_errors_carry_rrdtools_message() {
    let Some((d, _index)) = setup() else { return };
    let pool = pool();
    let missing = d.path("h1/any/gauge-nope-nope.rrd");
    let g = Graph::new(
        collectd_rrd::graph::Kind::Band,
        vec![collectd_rrd::graph::Series::single("x", missing.clone(), "value")],
    );
    let err = pool.render(&g).unwrap_err();
    match &err {
        RrdtoolError::Rrdtool { command, message } => {
            assert_eq!(command, "graphv");
            assert!(message.contains(missing.to_str().unwrap()), "{message}");
        }
        other => panic!("unexpected {other:?}"),
    }
    // The worker is still usable afterwards.
    assert_eq!(pool.spawned(), 1);
    let info = pool.info(&d.path("h1/load/load.rrd")).unwrap();
    assert!(info.iter().any(|(k, v)| k == "ds[shortterm].type" && v == "GAUGE"));
    assert_eq!(pool.spawned(), 1);
}

#[test]
fn pool_serves_many_threads() {
    let Some((_d, index)) = setup() else { return };
    let pool = Pool::new(PoolConfig { workers: 2, ..PoolConfig::default() }).unwrap();
    let graphs = plan(&index, &request(&["h1"], &["coin_stats"], &["flips"]), &one_hour());
    let graph = Arc::new(graphs[0].clone());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            let graph = graph.clone();
            std::thread::spawn(move || {
                for _ in 0..3 {
                    let img = pool.render(&graph).unwrap();
                    assert_eq!(&img.data[..4], b"\x89PNG");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(pool.spawned() <= 2);
}

/// `sh -` reads commands from stdin like `rrdtool -`: it stands in for a worker that hangs
/// (`sleep`) or crashes (`exit`).
#[test]
fn hung_and_crashed_workers_are_replaced() {
    let pool = Pool::new(PoolConfig {
        program: "sh".into(),
        workers: 1,
        timeout: Duration::from_millis(300),
        ..PoolConfig::default()
    })
    .unwrap();
    let ok = pool.run(&["echo", "OK"]).unwrap();
    assert!(ok.lines.is_empty());
    let started = std::time::Instant::now();
    let err = pool.run(&["exec", "sleep", "30"]).unwrap_err();
    assert!(matches!(err, RrdtoolError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(pool.run(&["echo", "OK"]).is_ok());
    assert_eq!(pool.spawned(), 2);
    let err = pool.run(&["echo", "ERROR:", "bad", "thing"]).unwrap_err();
    assert!(matches!(&err, RrdtoolError::Rrdtool { message, .. } if message == "bad thing"), "{err:?}");
    let err = pool.run(&["exit", "3"]).unwrap_err();
    assert!(matches!(err, RrdtoolError::Worker { .. }), "{err:?}");
    assert!(pool.run(&["echo", "OK"]).is_ok());
}

#[test]
fn missing_rrdtool_is_named() {
    let err = Pool::new(PoolConfig { program: "/nonexistent/rrdtool".into(), ..PoolConfig::default() }).unwrap_err();
    assert!(err.to_string().contains("apt-get install rrdtool"), "{err}");
}

/// Runs `collectd-view ARGS` in a directory of its own, so that a relative output file
/// (`-o flips.svg`) never lands in the source tree.
fn cli(args: &[&str]) -> std::process::Output {
    let cwd = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_collectd-view")).args(args).current_dir(cwd.path()).output().unwrap()
}

#[test]
fn cli_ls_graph_and_errors() {
    let Some((d, _index)) = setup() else { return };
    let dir = d.dir.path().to_str().unwrap();
    let out = cli(&["ls", "--data-dir", dir]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "category coin_stats",
        "stat flips  (3 specifics)",
        "specific heads  gauge-coin_stats-heads-flips.rrd  [value]",
        "unparsed  gauge-just_one_part.rrd",
        "load.rrd  (type load)  [shortterm, midterm, longterm]",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }

    let base = [
        "graph",
        "--data-dir",
        dir,
        "--host",
        "h1",
        "--category",
        "coin_stats",
        "--stat",
        "flips",
        "--start",
        "end-1h",
    ];
    let out = cli(&[&base[..], &["--print-command"]].concat());
    assert!(out.status.success());
    let cmd = String::from_utf8(out.stdout).unwrap();
    // The printed command writes a file (not PNG bytes to the terminal), in the web
    // interface's look (no rrdtool watermark); the start is passed on in the canonical
    // form the web interface also gives rrdtool.
    assert!(cmd.starts_with("rrdtool graph graph.png --border 0 "), "{cmd}");
    assert!(cmd.contains(" --disable-rrdtool-tag ") && cmd.contains(" --start end-3600 --end now "), "{cmd}");
    assert!(cmd.contains(" --lower-limit 0 "), "a stack starts at 0: {cmd}");
    let run_dir = tempfile::tempdir().unwrap();
    let sh = Command::new("sh").arg("-c").arg(cmd.trim()).current_dir(run_dir.path()).output().unwrap();
    assert!(sh.status.success(), "{}", String::from_utf8_lossy(&sh.stderr));
    assert!(!sh.stdout.starts_with(b"\x89PNG"), "no image on the terminal");
    assert!(std::fs::read(run_dir.path().join("graph.png")).unwrap().starts_with(b"\x89PNG"));
    // With -o FILE, the printed command writes FILE.
    let out = cli(&[&base[..], &["--print-command", "-o", "flips.svg"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cmd = String::from_utf8(out.stdout).unwrap();
    assert!(cmd.starts_with("rrdtool graph flips.svg ") && cmd.contains("--imgformat SVG"), "{cmd}");
    // A range that ends before it starts: the web interface's words, once, before rrdtool.
    let out = cli(&[&base[..base.len() - 2], &["--start", "now", "--end", "now-1h", "--print-command"]].concat());
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("collectd-view: error: --start now --end now-3600: "), "{err}");
    assert!(!err.contains("rrdtool") && !err.contains("Caused by"), "{err}");
    // A DataDir that does not exist: a hint, and no cause repeated.
    let out = cli(&["ls", "--data-dir", "/nonexistent/collectd/rrd"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("collectd-view: error: data directory /nonexistent/collectd/rrd does not exist"), "{err}");
    assert!(err.contains("hint: give collectd's DataDir") && err.contains("collectd-view demo"), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let mut unique = lines.clone();
    unique.dedup();
    assert_eq!(lines, unique, "no line twice: {err}");
    // A time the web interface refuses is refused here too, with the same words.
    let out = cli(&[&base[..base.len() - 2], &["--start", "end-1m", "--print-command"]].concat());
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("--start") && err.contains("unit \"m\" is ambiguous: write min (minutes) or mon (months)"),
        "{err}"
    );

    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("g.png");
    let svg = tmp.path().join("g.svg");
    for (file, magic) in [(&png, &b"\x89PNG"[..]), (&svg, &b"<?xml"[..])] {
        let out = cli(&[&base[..], &["-o", file.to_str().unwrap()]].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(std::fs::read(file).unwrap().starts_with(magic));
    }

    // A category: one graph per stat, one file each.
    let out = cli(&[
        "graph",
        "--data-dir",
        dir,
        "--host",
        "h1",
        "--category",
        "coin_stats",
        "--category",
        "some_category",
        "-o",
        tmp.path().join("cat.png").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(tmp.path().join("cat-coin_stats_flips_on_h1.png").exists());
    assert!(tmp.path().join("cat-some_category_some_counter_on_h1.png").exists());

    let out = cli(&["graph", "--data-dir", dir, "--host", "h1", "--category", "coin", "--print-command"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("category \"coin\"") && err.contains("available: coin_stats, some_category"), "{err}");
    let out = cli(&["graph", "--data-dir", dir, "--host", "nohost", "--category", "coin_stats", "--print-command"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("available: h1, h2"), "{err}");
    let out =
        cli(&["graph", "--data-dir", dir, "--host", "h1", "--plugin", "lod", "--type", "load", "--print-command"]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("available: any, load, memory"), "{err}");
}

/// A valid RRD file whose header the index's own reader refuses (a step of over three years
/// fails its plausibility check) is listed by `ls` with the data sources `rrdtool info`
/// reads; without rrdtool, `ls` still lists everything and says what it could not read.
#[test]
fn cli_ls_and_graph_fall_back_to_rrdtool_info() {
    let Some((d, _index)) = setup() else { return };
    let odd = d.path("h1/interface-eth0/if_octets.rrd");
    let step = 200_000_000;
    support::create(&odd, d.t0, step, &[("rx", "DERIVE", Some(0.0), None), ("tx", "DERIVE", Some(0.0), None)]);
    let index = Index::open(d.dir.path()).unwrap();
    let snap = index.snapshot();
    let file = snap.files().find(|f| f.path == odd).unwrap();
    assert!(
        index.header(file).is_err(),
        "the header reader now reads this file: pick another one it cannot read to test the fallback"
    );
    assert_eq!(pool().data_sources(&odd).unwrap(), ["rx", "tx"]);

    let dir = d.dir.path().to_str().unwrap();
    let out = cli(&["ls", "--data-dir", dir]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "if_octets.rrd  (type if_octets)  [rx, tx]",
        "load.rrd  (type load)  [shortterm, midterm, longterm]",
        "specific heads  gauge-coin_stats-heads-flips.rrd  [value]",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }

    let out = cli(&["ls", "--data-dir", dir, "--rrdtool", "/nonexistent/rrdtool"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("if_octets.rrd  (type if_octets)  [data sources unreadable: "), "{text}");
    assert!(text.contains("load.rrd  (type load)  [shortterm, midterm, longterm]"), "{text}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("/nonexistent/rrdtool") && stderr.contains("apt-get install rrdtool"), "{stderr}");

    // `graph` finds the data sources the same way.
    let graph = ["graph", "--data-dir", dir, "--host", "h1", "--plugin", "interface", "--plugin-instance", "eth0"];
    let out = cli(&[&graph[..], &["--type", "if_octets", "--print-command"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let command = String::from_utf8(out.stdout).unwrap();
    for ds in ["rx", "tx"] {
        assert!(command.contains(&format!("{}:{ds}:AVERAGE", odd.display())), "{ds} not in {command}");
    }
}
