//! Several processes recording the same statistics: each sends as its worker slot
//! (`process_slot`), collectd's `aggregation` plugin (configured as the README shows)
//! writes their sum where a single process's values go, and that total is exact; worker
//! restarts reuse their slot's files. Against a real collectd 5.12, with real processes:
//! this test binary runs itself as the workers (`worker_process`, which does nothing
//! unless started so).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use collectd::Connection;
use testkit::{Collectd, Security};

/// Set in a worker's environment: "PORT SLOT VALUE INTERVALS".
const WORKER_ENV: &str = "COLLECTD_TEST_WORKER";
const HOST: &str = "workers";
const WAIT: Duration = Duration::from_secs(20);

/// The aggregation block of the README, for plugin instance `api`.
const AGGREGATION: &str = r#"
LoadPlugin aggregation
<Plugin aggregation>
  <Aggregation>
    Plugin "any"
    PluginInstance "/^api-worker[0-9]+$/"
    Type "gauge"
    GroupBy "Host"
    GroupBy "TypeInstance"
    CalculateSum true
    SetPlugin "any"
    SetPluginInstance "api"
  </Aggregation>
</Plugin>
"#;

/// A worker: records VALUE once per interval for INTERVALS intervals, flushing each.
#[test]
fn worker_process() {
    let Ok(spec) = std::env::var(WORKER_ENV) else { return };
    let numbers: Vec<u64> = spec.split_whitespace().map(|n| n.parse().unwrap()).collect();
    let [port, slot, value, intervals] = numbers[..] else { panic!("bad {WORKER_ENV}: {spec}") };
    let conn = Connection::builder()
        .hostname(HOST)
        .plugin_instance("api")
        .process_slot(slot as u32)
        .collectd_host("127.0.0.1")
        .collectd_port(port as u16)
        .interval(Duration::from_secs(1))
        .build();
    let done = conn.counter("jobs").stat("done");
    for _ in 0..intervals {
        done.add(value as f64);
        conn.flush();
        // Pacing at collectd's interval (1 s): one value per worker per interval, as a
        // worker sending every interval does.
        std::thread::sleep(Duration::from_secs(1));
    }
    assert_eq!(conn.sender_stats().send_errors, 0);
}

fn spawn_worker(port: u16, slot: u64, value: u64, intervals: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "worker_process", "--nocapture", "--test-threads=1"])
        .env(WORKER_ENV, format!("{port} {slot} {value} {intervals}"))
        .stdout(Stdio::null())
        .spawn()
        .expect("a worker starts")
}

/// The sum of every row of `gauge-jobs-done` in `HOST/DIR` (NaN rows left out).
fn csv_sum(cd: &Collectd, dir: &str) -> f64 {
    cd.csv_rows(HOST, dir, "gauge-jobs-done").iter().map(|(_, v)| v[0]).filter(|v| !v.is_nan()).sum()
}

fn dirs(path: &Path) -> BTreeSet<String> {
    std::fs::read_dir(path)
        .map(|entries| entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default()
}

#[test]
fn four_processes_store_their_exact_total_and_restarts_stay_bounded() {
    if std::env::var(WORKER_ENV).is_ok() {
        return;
    }
    let Some(_) = testkit::require_collectd() else {
        eprintln!("skipped: collectd is not installed");
        return;
    };
    let cd =
        Collectd::builder().interval(1).listen(Security::None).csv(true).extra_config(AGGREGATION).start().unwrap();
    let port = cd.port();

    // Four workers, each its own count per interval, for three intervals.
    let intervals = 3;
    let workers: Vec<Child> = (0..4).map(|slot| spawn_worker(port, slot, slot + 1, intervals)).collect();
    for mut worker in workers {
        assert!(worker.wait().unwrap().success());
    }
    let per_worker = |slot: u64| (slot + 1) as f64 * intervals as f64;
    for slot in 0..4 {
        let dir = format!("any-api-worker{slot}");
        let reached = cd.wait_until(WAIT, || csv_sum(&cd, &dir) == per_worker(slot));
        assert!(reached.is_ok(), "{dir}: {} instead of {}", csv_sum(&cd, &dir), per_worker(slot));
    }
    let total: f64 = (0..4).map(per_worker).sum();
    let reached = cd.wait_until(WAIT, || csv_sum(&cd, "any-api") == total);
    assert!(reached.is_ok(), "the stored total is {} instead of {total}\n{}", csv_sum(&cd, "any-api"), cd.log());

    // Workers killed and restarted in their slots: the same files, no new ones.
    let mut second: Vec<Child> = (0..4).map(|slot| spawn_worker(port, slot, 10, 2)).collect();
    second[1].kill().unwrap();
    second[1].wait().unwrap();
    second[1] = spawn_worker(port, 1, 10, 2);
    for worker in &mut second {
        assert!(worker.wait().unwrap().success());
    }
    let host_dir = cd.csv_dir().join(HOST);
    let expected: BTreeSet<String> =
        ["any-api", "any-api-worker0", "any-api-worker1", "any-api-worker2", "any-api-worker3"]
            .map(String::from)
            .into();
    assert_eq!(dirs(&host_dir), expected);
    // The total is still exactly the workers' sum, whatever the killed worker sent.
    let workers_sum = || (0..4).map(|slot| csv_sum(&cd, &format!("any-api-worker{slot}"))).sum::<f64>();
    let reached = cd.wait_until(WAIT, || {
        let sum = workers_sum();
        sum >= total + 70.0 && csv_sum(&cd, "any-api") == sum
    });
    assert!(reached.is_ok(), "total {} against the workers' {}", csv_sum(&cd, "any-api"), workers_sum());
    let log = cd.log();
    assert!(!log.contains("too old"), "collectd dropped values:\n{log}");
}
