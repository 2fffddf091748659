//! Indexing a DataDir of 10,000 RRD files: the first full scan, and an incremental
//! refresh (directory mtimes unchanged, so nothing is listed again).

use std::fs;
use std::time::Duration;

use collectd_rrd::index::Index;
use criterion::{Criterion, criterion_group, criterion_main};

/// 20 hosts × (1 `any` directory of 300 module files + 10 plugin directories of 20 files)
/// = 20 × 500 = 10,000 files.
fn build() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for h in 0..20 {
        let any = dir.path().join(format!("host{h:02}/any"));
        fs::create_dir_all(&any).unwrap();
        for c in 0..10 {
            for s in 0..10 {
                fs::write(any.join(format!("gauge-cat{c}-stat{s}.rrd")), b"").unwrap();
                for sp in 0..2 {
                    fs::write(any.join(format!("gauge-cat{c}-spec{sp}-stat{s}.rrd")), b"").unwrap();
                }
            }
        }
        for p in 0..10 {
            let pd = dir.path().join(format!("host{h:02}/plugin{p}-inst"));
            fs::create_dir_all(&pd).unwrap();
            for t in 0..20 {
                fs::write(pd.join(format!("type{t}-ti.rrd")), b"").unwrap();
            }
        }
    }
    // Let the directories settle so that refreshes may reuse them.
    std::thread::sleep(Duration::from_millis(2100));
    dir
}

fn bench(c: &mut Criterion) {
    let dir = build();
    let index = Index::open(dir.path()).unwrap();
    assert_eq!(index.snapshot().file_count(), 10_000);
    let mut group = c.benchmark_group("index_10000_files");
    group.sample_size(20);
    group.bench_function("full_scan", |b| b.iter(|| Index::open(dir.path()).unwrap().snapshot().file_count()));
    // The first refresh after settling relists; the following ones reuse everything.
    index.refresh().unwrap();
    group.bench_function("incremental_refresh", |b| b.iter(|| index.refresh().unwrap().relisted_dirs));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
