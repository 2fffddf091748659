//! Fixtures: RRD files made exactly as collectd 5.12's rrdtool plugin makes them
//! (`src/utils/rrdcreate/rrdcreate.c`: step, `DS:name:TYPE:<2*step>:min:max`, 15 RRAs), in a
//! temporary DataDir, with known values, for tests and benchmarks of the read side.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether rrdtool is installed: [`crate::require_rrdtool`]'s gate (false means skip).
pub fn require_rrdtool() -> bool {
    crate::require_rrdtool().is_some()
}

/// collectd's RRA list for `step` (RRARows 1200, XFF 0.1, default timespans).
pub fn collectd_rras(step: u64) -> Vec<String> {
    let rows = 1200u64;
    let mut out = Vec::new();
    for (i, span) in [3600u64, 86_400, 604_800, 2_678_400, 31_622_400].iter().enumerate() {
        let span = (*span).max(step * rows);
        let pdp = if i == 0 { 1 } else { span / (rows * step) };
        let rra_rows = span.div_ceil(pdp * step);
        for cf in ["AVERAGE", "MIN", "MAX"] {
            out.push(format!("RRA:{cf}:0.1000000000:{pdp}:{rra_rows}"));
        }
    }
    out
}

fn run(args: &[String]) {
    let out = Command::new("rrdtool").args(args).output().expect("run rrdtool");
    assert!(out.status.success(), "rrdtool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Creates `path` as collectd does for a type with these data sources
/// (`(name, TYPE, min, max)`, min/max `None` for `U`), starting at `start`.
pub fn create(path: &Path, start: i64, step: u64, ds: &[(&str, &str, Option<f64>, Option<f64>)]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut args = vec![
        "create".to_owned(),
        path.to_str().unwrap().to_owned(),
        "-s".to_owned(),
        step.to_string(),
        "-b".to_owned(),
        (start - 1).to_string(),
    ];
    let lim = |v: Option<f64>| v.map_or("U".to_owned(), |v| format!("{v:.6}"));
    for (name, kind, min, max) in ds {
        args.push(format!("DS:{name}:{kind}:{}:{}:{}", 2 * step, lim(*min), lim(*max)));
    }
    args.extend(collectd_rras(step));
    run(&args);
}

/// Updates `path` with `(time, values)` rows, as collectd does (`time:v1:v2`, `%.15g`).
pub fn update(path: &Path, rows: &[(i64, Vec<f64>)]) {
    for chunk in rows.chunks(500) {
        let mut args = vec!["update".to_owned(), path.to_str().unwrap().to_owned()];
        for (t, vs) in chunk {
            let vals: Vec<String> = vs.iter().map(|v| format!("{v}")).collect();
            args.push(format!("{t}:{}", vals.join(":")));
        }
        run(&args);
    }
}

/// A DataDir with known contents: the original module's example names on two hosts,
/// and collectd's own `load` plugin.
pub struct DataDir {
    /// Keeps the directory alive.
    pub dir: tempfile::TempDir,
    /// First update time (aligned to the step).
    pub t0: i64,
    /// Last update time.
    pub t_end: i64,
    /// Step.
    pub step: u64,
}

/// Number of updates written to each file (2 hours at 10 s).
pub const POINTS: i64 = 720;

/// Value of the `heads` specific at update number `k`.
pub fn heads(k: i64) -> f64 {
    (k % 5) as f64
}
/// Value of the `tails` specific at update number `k`.
pub fn tails(k: i64) -> f64 {
    (k % 3) as f64 * 2.0
}
/// Value of the `edge` specific at update number `k`.
pub fn edge(k: i64) -> f64 {
    if k % 7 == 0 { 1.0 } else { 0.0 }
}
/// Value of the base `flips` at update number `k`: the specifics plus 3 recorded with no
/// specific (so the specifics do not add up to it: "other" = 3).
pub fn flips(k: i64) -> f64 {
    heads(k) + tails(k) + edge(k) + 3.0
}

impl DataDir {
    /// Path of a file inside the DataDir.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Builds the DataDir; values end at the last step boundary before now.
    pub fn build() -> DataDir {
        let step = 10u64;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let t_end = now - now % step as i64 - step as i64;
        let t0 = t_end - (POINTS - 1) * step as i64;
        let dir = tempfile::tempdir().unwrap();
        let d = DataDir { dir, t0, t_end, step };
        let times = |f: &dyn Fn(i64) -> Vec<f64>| -> Vec<(i64, Vec<f64>)> {
            (0..POINTS).map(|k| (t0 + k * step as i64, f(k))).collect()
        };
        let gauge = [("value", "GAUGE", None, None)];
        type F = fn(i64) -> f64;
        let module: [(&str, F); 6] = [
            ("h1/any/gauge-coin_stats-flips.rrd", flips),
            ("h1/any/gauge-coin_stats-heads-flips.rrd", heads),
            ("h1/any/gauge-coin_stats-tails-flips.rrd", tails),
            ("h1/any/gauge-coin_stats-edge-flips.rrd", edge),
            ("h1/any/gauge-some_category-some_counter.rrd", heads),
            ("h2/any/gauge-coin_stats-flips.rrd", tails),
        ];
        for (rel, f) in module {
            let p = d.path(rel);
            create(&p, t0, step, &gauge);
            update(&p, &times(&|k| vec![f(k)]));
        }
        // A name that does not parse: listed as it is.
        let p = d.path("h1/any/gauge-just_one_part.rrd");
        create(&p, t0, step, &gauge);
        // collectd's own load plugin: three DSs.
        let p = d.path("h1/load/load.rrd");
        let load_ds = [
            ("shortterm", "GAUGE", Some(0.0), Some(5000.0)),
            ("midterm", "GAUGE", Some(0.0), Some(5000.0)),
            ("longterm", "GAUGE", Some(0.0), Some(5000.0)),
        ];
        create(&p, t0, step, &load_ds);
        update(&p, &times(&|k| vec![0.5 + heads(k) / 10.0, 0.4, 0.3]));
        // An ordinary single-DS type with a type instance.
        let p = d.path("h1/memory/memory-used.rrd");
        create(&p, t0, step, &[("value", "GAUGE", Some(0.0), Some(281_474_976_710_656.0))]);
        update(&p, &times(&|k| vec![1e9 + (k % 10) as f64 * 1e6]));
        d
    }
}
