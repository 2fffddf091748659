//! Rendering a 1-hour 800×300 PNG of a stat with 4 specifics: through the warm pool of
//! `rrdtool -` processes, versus spawning `rrdtool graph -` once per image as CGP does
//! (PHP `passthru` of an `escapeshellarg`-quoted command line: `sh -c 'rrdtool graph - …'`),
//! and, for reference, spawning rrdtool directly without the shell.
//!
//! The pool's workers preload the PNG encoding shim (`PoolConfig::png_zlib_level`), which
//! makes each image cheaper to encode whoever runs rrdtool. So that the comparison does
//! not credit the pool with what the shim does, two more cases separate them: the pool
//! with libpng's defaults, and spawning rrdtool directly with the shim preloaded.

use testkit::fixture as support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::Arc;

use collectd_rrd::index::Index;
use collectd_rrd::rrdtool::{Pool, PoolConfig};
use collectd_rrd::select::{self, GraphOptions, Request};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    assert!(support::require_rrdtool(), "rrdtool is needed for this benchmark");
    let d = support::DataDir::build();
    // A stat with 4 specifics and its base.
    let gauge = [("value", "GAUGE", None, None)];
    let step = d.step as i64;
    for (name, mul) in [("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("", 0.0)] {
        let rel = if name.is_empty() {
            "h1/any/gauge-bench-hits.rrd".to_owned()
        } else {
            format!("h1/any/gauge-bench-{name}-hits.rrd")
        };
        let p = d.path(&rel);
        support::create(&p, d.t0, d.step, &gauge);
        let rows: Vec<(i64, Vec<f64>)> = (0..support::POINTS)
            .map(|k| {
                let v = if name.is_empty() { 10.0 * (k % 4) as f64 + 12.0 } else { mul * (k % 4) as f64 };
                (d.t0 + k * step, vec![v])
            })
            .collect();
        support::update(&p, &rows);
    }
    let index = Arc::new(Index::open(d.dir.path()).unwrap());
    let lookup = collectd_rrd::ds_lookup(&index, None);
    let req = Request {
        hosts: vec!["h1".into()],
        categories: vec!["bench".into()],
        stats: vec!["hits".into()],
        ..Request::default()
    };
    let opts = GraphOptions { start: "end-1h".into(), width: 800, height: 300, ..GraphOptions::default() };
    let graph = select::plan(&index.snapshot(), &req, &opts, &lookup).unwrap().remove(0);
    assert_eq!(graph.series.len(), 4);

    let pool = Pool::new(PoolConfig { workers: 1, ..PoolConfig::default() }).unwrap();
    pool.warm_up().unwrap();
    assert!(pool.png_shim_loaded());
    let plain_pool = Pool::new(PoolConfig { workers: 1, png_zlib_level: None, ..PoolConfig::default() }).unwrap();
    plain_pool.warm_up().unwrap();
    // The shim as the pool installs it, for the spawned rrdtool that gets it too.
    let shim_dir = tempfile::tempdir().unwrap();
    let shim = shim_dir.path().join("png_encoding.so");
    std::fs::write(&shim, include_bytes!(concat!(env!("OUT_DIR"), "/png_encoding.so"))).unwrap();
    std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o500)).unwrap();
    let level = PoolConfig::default().png_zlib_level.unwrap().to_string();
    let argv = graph.command("-").unwrap();
    let shell = graph.shell_command("-").unwrap();

    let mut group = c.benchmark_group("render_1h_800x300_png_4_specifics");
    group.sample_size(30);
    group.bench_function("warm_pool", |b| {
        b.iter(|| {
            let img = pool.render(&graph).unwrap();
            assert!(img.data.len() > 1000);
        })
    });
    group.bench_function("spawn_per_image_via_shell", |b| {
        b.iter(|| {
            let out = Command::new("sh").arg("-c").arg(&shell).output().unwrap();
            assert!(out.status.success() && out.stdout.len() > 1000);
        })
    });
    group.bench_function("spawn_per_image_direct", |b| {
        b.iter(|| {
            let out = Command::new(&argv[0]).args(&argv[1..]).output().unwrap();
            assert!(out.status.success() && out.stdout.len() > 1000);
        })
    });
    group.bench_function("warm_pool_libpng_defaults", |b| {
        b.iter(|| {
            let img = plain_pool.render(&graph).unwrap();
            assert!(img.data.len() > 1000);
        })
    });
    group.bench_function("spawn_per_image_direct_with_shim", |b| {
        b.iter(|| {
            let out = Command::new(&argv[0])
                .args(&argv[1..])
                .env("LD_PRELOAD", &shim)
                .env("COLLECTD_VIEW_PNG_LEVEL", &level)
                .output()
                .unwrap();
            assert!(out.status.success() && out.stdout.len() > 1000);
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
