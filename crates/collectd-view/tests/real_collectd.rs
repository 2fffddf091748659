//! The graph utility on files written by a real collectd 5.12, fed by the library (two hosts)
//! and by its own `load` plugin: golden argv for each kind, printed commands that rrdtool
//! runs, images of the asked size, and xport values equal to what was sent.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use collectd_rrd::graph::{Format, Graph};
use collectd_rrd::index::Index;
use collectd_rrd::rrdtool::{Pool, PoolConfig};
use collectd_rrd::select::{self, GraphOptions, Mode, PluginSelection, Request};

const INTERVALS: u32 = 5;

/// Series sent, by host and file name.
const SERIES: [(&str, &str); 7] = [
    ("web1", "gauge-coin_stats-flips"),
    ("web1", "gauge-coin_stats-heads-flips"),
    ("web1", "gauge-coin_stats-tails-flips"),
    ("web1", "gauge-some_category-some_counter"),
    ("web1", "gauge-some_category-another_stat"),
    ("web2", "gauge-coin_stats-flips"),
    ("web2", "gauge-coin_stats-tails-flips"),
];

/// A collectd that received `INTERVALS` snapshots from hosts web1 and web2.
struct Fed {
    collectd: testkit::Collectd,
    index: Arc<Index>,
}

fn feed() -> Option<Fed> {
    testkit::require_collectd()?;
    testkit::require_rrdtool()?;
    let collectd = testkit::Collectd::builder()
        .interval(1)
        .listen(testkit::Security::None)
        .csv(true)
        .rrdtool(true)
        .plugin("load")
        .start()
        .expect("collectd starts");
    let connect = |host: &str| {
        collectd::Connection::builder()
            .hostname(host)
            .collectd_host("127.0.0.1")
            .collectd_port(collectd.port())
            .interval(Duration::from_secs(1))
            .build()
    };
    let (web1, web2) = (connect("web1"), connect("web2"));
    for k in 1..=INTERVALS {
        let k = f64::from(k);
        let coins = web1.counter("coin_stats");
        coins.record(&["heads"], &[("flips", k)]);
        coins.record(&["tails"], &[("flips", 2.0 * k)]);
        web1.counter("some_category").record(&[], &[("some_counter", 10.0 * k), ("another_stat", 0.5)]);
        web2.counter("coin_stats").record(&["tails"], &[("flips", 3.0 * k)]);
        web1.flush();
        web2.flush();
        // Pacing: one value per interval (1 s), as collectd requires.
        std::thread::sleep(Duration::from_millis(1000));
    }
    // Every series the tests read, in the CSV and, up to its last CSV row, in the RRD file:
    // collectd writes one value list after the other (the rrdtool plugin through its own
    // queue thread), so one series' last row says nothing of another's.
    let last_row = |host: &str, name: &str| {
        let rows = collectd.csv_rows(host, "any", name);
        (rows.len() >= INTERVALS as usize).then(|| rows[rows.len() - 1].0.round() as i64)
    };
    let last_update = |host: &str, name: &str| -> Option<i64> {
        let info = testkit::try_rrd_info(collectd.rrd_path(host, "any", name)).ok()?;
        testkit::parse_rrd_info(&info).get("last_update")?.parse().ok()
    };
    let landed = || {
        SERIES.iter().all(|&(host, name)| last_row(host, name).is_some())
            && SERIES.iter().all(|&(host, name)| last_update(host, name) >= last_row(host, name))
    };
    collectd.wait_until(Duration::from_secs(10), landed).unwrap_or_else(|e| {
        let got: Vec<String> = SERIES
            .iter()
            .map(|&(host, name)| {
                let rows = collectd.csv_rows(host, "any", name).len();
                format!("{host}/{name}: {rows} CSV rows, RRD last update {:?}", last_update(host, name))
            })
            .collect();
        panic!("not every interval reached collectd's files:\n{}\n{e}", got.join("\n"))
    });
    collectd.wait_for_file("rrd/testkit/load/load.rrd", Duration::from_secs(10)).expect("the load plugin wrote");
    let index = Arc::new(Index::open(collectd.rrd_dir()).expect("the DataDir indexes"));
    Some(Fed { collectd, index })
}

fn request(hosts: &[&str], categories: &[&str], stats: &[&str], mode: Mode) -> Request {
    Request {
        hosts: hosts.iter().map(|s| s.to_string()).collect(),
        categories: categories.iter().map(|s| s.to_string()).collect(),
        stats: stats.iter().map(|s| s.to_string()).collect(),
        mode,
        ..Request::default()
    }
}

fn plan(index: &Arc<Index>, request: &Request, options: &GraphOptions) -> Vec<Graph> {
    let lookup = collectd_rrd::ds_lookup(index, None);
    select::plan(&index.snapshot(), request, options, &lookup).expect("the selection exists")
}

/// One graph (or graph list) of each kind, by golden-file name.
fn kinds(index: &Arc<Index>) -> Vec<(String, Graph)> {
    let options = GraphOptions { start: "end-1h".into(), ..GraphOptions::default() };
    let mut load = request(&["testkit"], &[], &[], Mode::Auto);
    load.plugins.push(PluginSelection { plugin: "load".into(), type_: "load".into(), ..PluginSelection::default() });
    let selections = [
        ("stat_band", request(&["web1"], &["some_category"], &["some_counter"], Mode::Auto)),
        ("stat_with_specifics", request(&["web1"], &["coin_stats"], &["flips"], Mode::Auto)),
        ("category", request(&["web1"], &["some_category"], &[], Mode::Auto)),
        ("across_hosts_lines", request(&["web1", "web2"], &["coin_stats"], &["flips"], Mode::Lines)),
        ("across_hosts_sum", request(&["web1", "web2"], &["coin_stats"], &["flips"], Mode::Sum)),
        ("plugin_load", load),
    ];
    let mut out = Vec::new();
    for (name, selection) in selections {
        let graphs = plan(index, &selection, &options);
        if graphs.len() == 1 {
            out.push((name.to_string(), graphs.into_iter().next().unwrap()));
        } else {
            out.extend(graphs.into_iter().enumerate().map(|(i, g)| (format!("{name}_{i}"), g)));
        }
    }
    out
}

#[test]
fn golden_argv_commands_images_and_values() {
    let Some(fed) = feed() else { return };
    let data_dir = fed.collectd.rrd_dir();
    let data_dir = data_dir.to_str().unwrap();

    // Golden argv for each kind (paths shown as {DATA_DIR}); UPDATE_GOLDEN=1 rewrites them.
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden_collectd");
    let update = std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1");
    let kinds = kinds(&fed.index);
    assert_eq!(kinds.iter().filter(|(n, _)| n.starts_with("category")).count(), 2, "one graph per stat");
    let mut mismatches = Vec::new();
    for (name, graph) in &kinds {
        let argv = graph.command("-").unwrap().join("\n").replace(data_dir, "{DATA_DIR}") + "\n";
        let file = golden_dir.join(format!("{name}.argv"));
        if update {
            std::fs::create_dir_all(&golden_dir).unwrap();
            std::fs::write(&file, &argv).unwrap();
        } else {
            let want = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", file.display()));
            if want != argv {
                mismatches.push(format!("{name}:\n--- want\n{want}--- got\n{argv}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));

    // The printed command, run by rrdtool through a shell, draws a PNG.
    let out_dir = tempfile::tempdir().unwrap();
    for (name, graph) in &kinds {
        let out = out_dir.path().join(format!("{name}.png"));
        let command = graph.shell_command(out.to_str().unwrap()).unwrap();
        let run = Command::new("sh").arg("-c").arg(&command).output().unwrap();
        assert!(run.status.success(), "{name}: {command}\n{}", String::from_utf8_lossy(&run.stderr));
        assert_eq!(&std::fs::read(&out).unwrap()[..8], b"\x89PNG\r\n\x1a\n", "{name}");
    }

    // Rendered PNG and SVG through the pool: valid images with the asked plot size.
    let pool = Pool::new(PoolConfig::default()).unwrap();
    for (format, width, height) in [(Format::Png, 800, 300), (Format::Svg, 500, 150), (Format::Pdf, 400, 120)] {
        let options = GraphOptions { start: "end-1h".into(), width, height, format, ..GraphOptions::default() };
        let graph = &plan(&fed.index, &request(&["web1"], &["coin_stats"], &["flips"], Mode::Auto), &options)[0];
        let image = pool.render(graph).unwrap();
        let g = image.geometry;
        assert_eq!((g.graph_width, g.graph_height), (width, height));
        match format {
            Format::Png => {
                let d = &image.data;
                assert_eq!(&d[..8], b"\x89PNG\r\n\x1a\n");
                let size = (
                    u32::from_be_bytes(d[16..20].try_into().unwrap()),
                    u32::from_be_bytes(d[20..24].try_into().unwrap()),
                );
                assert_eq!(size, (g.image_width, g.image_height));
            }
            Format::Svg => {
                let text = String::from_utf8(image.data.clone()).unwrap();
                assert!(text.contains(&format!("width=\"{}pt\" height=\"{}pt\"", g.image_width, g.image_height)));
            }
            Format::Pdf => assert!(image.data.starts_with(b"%PDF"), "{:?}", &image.data[..16]),
        }
    }

    // xport of the stacked graph returns, at each sent time, the values that were sent.
    let heads = fed.collectd.csv_rows("web1", "any", "gauge-coin_stats-heads-flips");
    let tails = fed.collectd.csv_rows("web1", "any", "gauge-coin_stats-tails-flips");
    let (first, last) = (heads[0].0.round() as i64, heads[heads.len() - 1].0.round() as i64);
    let options =
        GraphOptions { start: (first - 3).to_string(), end: (last + 1).to_string(), ..GraphOptions::default() };
    let graph = &plan(&fed.index, &request(&["web1"], &["coin_stats"], &["flips"], Mode::Auto), &options)[0];
    let xport = pool.xport(graph).unwrap();
    assert_eq!(xport.step, 1);
    let column = |legend: &str| {
        xport
            .legends
            .iter()
            .position(|l| l.starts_with(legend))
            .unwrap_or_else(|| panic!("{legend} in {:?}", xport.legends))
    };
    let (heads_col, tails_col, total_col) = (column("heads"), column("tails"), column("flips"));
    let at = |t: i64| xport.rows.iter().find(|(time, _)| *time == t).map(|(_, v)| v.clone());
    let mut checked = 0;
    for (k, ((t, h), (_, tl))) in heads.iter().zip(&tails).enumerate() {
        let sent = f64::from(k as u32 + 1);
        assert_eq!((h[0], tl[0]), (sent, 2.0 * sent), "CSV row {k}: what the library sent");
        let row = at(t.round() as i64).unwrap_or_else(|| panic!("no xport row at {t}: {xport:?}"));
        assert_eq!(row[heads_col], Some(sent), "heads at {t}");
        assert_eq!(row[tails_col], Some(2.0 * sent), "tails at {t}");
        assert_eq!(row[total_col], Some(3.0 * sent), "total at {t}");
        checked += 1;
    }
    assert_eq!(checked, INTERVALS as usize);
}

#[test]
fn ls_shows_category_specific_and_stat_of_real_files() {
    let Some(fed) = feed() else { return };
    let out = Command::new(env!("CARGO_BIN_EXE_collectd-view"))
        .args(["ls", "--data-dir"])
        .arg(fed.collectd.rrd_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in ["web1", "web2", "testkit", "coin_stats", "flips", "heads", "tails", "some_counter", "load"] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}
