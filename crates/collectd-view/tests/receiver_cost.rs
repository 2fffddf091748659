//! CPU per stored value: `collectd-view receive` against a real collectd 5.12 with the
//! network and rrdtool plugins, both at their defaults, given the same datagrams.
//!
//! For each load of R values/s: R distinct identifiers (`cost/bench/gauge-iNNNNN`), one
//! gauge each, every second (times are the current second, interval 1 s), for S seconds,
//! paced evenly over each second and sent to both. The CPU of each side is utime+stime
//! from `/proc`, from before the first datagram until every file of that side holds the
//! last second (collectd: its process; the receiver: its process, its live rrdtool
//! workers, and the workers it has already reaped). Then both stop (SIGTERM), and the
//! table shows per side: CPU ticks, values stored and lost, and how long after the last
//! datagram the last file got its last value.
//!
//! Stored and lost: for the receiver, its own counters (`written`, and what was sent but
//! not written); for collectd, which counts nothing of the kind, the values in the
//! datagrams the kernel dropped on its socket plus one per file that did not reach the
//! last second (a value lost in the middle of a series is not visible in its file).
//!
//! ```sh
//! cargo test --release -p collectd-view --test receiver_cost -- --ignored --nocapture
//! COLLECTD_VIEW_COST_LOADS=20000:10,50000:10 cargo test --release -p collectd-view \
//!     --test receiver_cost -- --ignored --nocapture
//! ```
//!
//! `COLLECTD_VIEW_COST_RECEIVER_ARGS` adds options to the receiver's command line (e.g.
//! `--flush-interval 10`), to compare a setting against collectd's defaults.
//!
//! The test fails when a side loses values below 20,000 values/s or the files differ in
//! their last update; the ratio itself is printed, not asserted (the machine's load
//! decides it as much as the code does).

mod cli;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cli::Proc;
use collectd::protocol::{CdTime, EncodeError, PacketWriter, Value, ValueList, WriterOptions};
use testkit::Collectd;

/// `LOAD:SECONDS,…` by default.
const DEFAULT_LOADS: &str = "1000:8,4000:12,10000:10";

/// utime+stime of `pid`, with the children it has waited for, and (when `live_children`)
/// of the children still running, in clock ticks.
fn cpu_ticks(pid: u32, live_children: bool) -> u64 {
    let own = stat_ticks(pid, true).unwrap_or(0);
    if !live_children {
        return own;
    }
    let mut children = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let list = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            children.extend(list.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        }
    }
    own + children.into_iter().filter_map(|c| stat_ticks(c, true)).sum::<u64>()
}

/// Fields 14-17 of `/proc/PID/stat`: utime, stime and (when `reaped`) cutime, cstime.
fn stat_ticks(pid: u32, reaped: bool) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count after the last `)`.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<u64> = rest.split_whitespace().skip(11).take(4).map(|f| f.parse().unwrap_or(0)).collect();
    Some(fields[0] + fields[1] + if reaped { fields[2] + fields[3] } else { 0 })
}

/// `name: ticks` of each thread of `pid`, for the log.
fn thread_ticks(pid: u32) -> String {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let name = stat.split_once('(').and_then(|(_, r)| r.rsplit_once(')')).map_or("?", |(n, _)| n);
        let tid: u32 = task.file_name().to_string_lossy().parse().unwrap_or(0);
        let ticks = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat"))
            .ok()
            .and_then(|s| {
                let rest = &s[s.rfind(')')? + 2..];
                let f: Vec<u64> = rest.split_whitespace().skip(11).take(2).map(|f| f.parse().unwrap_or(0)).collect();
                Some(f[0] + f[1])
            })
            .unwrap_or(0);
        out.push(format!("{name}: {ticks}"));
    }
    out.join(", ")
}

/// The file of identifier `k` under a data directory.
fn file(dir: &Path, k: u64) -> PathBuf {
    dir.join(format!("cost/bench/gauge-i{k:05}.rrd"))
}

/// How many of the `count` files under `dir` hold second `last` (read from their headers).
fn files_at(dir: &Path, count: u64, last: i64) -> u64 {
    (0..count)
        .filter(|&k| collectd_rrd::index::header::read(&file(dir, k)).ok().and_then(|h| h.last_update) == Some(last))
        .count() as u64
}

struct Side {
    ticks: u64,
    stored: u64,
    lost: u64,
    /// From the last datagram to the last file holding the last second.
    drain: Option<Duration>,
}

struct Run {
    rate: u64,
    secs: u64,
    collectd: Side,
    receiver: Side,
    /// The receiver's own ticks (without its rrdtool workers), up to its stop.
    receiver_own: u64,
}

fn run(rate: u64, secs: u64) -> Run {
    let mut collectd =
        Collectd::builder().listen(testkit::Security::None).rrdtool(true).start().expect("collectd starts");
    let dir = tempfile::tempdir().unwrap();
    let addr = cli::free_addr();
    let mut args = vec!["receive".to_owned(), "--listen".to_owned(), addr.to_string(), "--data-dir".to_owned()];
    args.push(dir.path().to_str().unwrap().to_owned());
    // Options of the receiver to compare (its defaults otherwise).
    if let Ok(extra) = std::env::var("COLLECTD_VIEW_COST_RECEIVER_ARGS") {
        args.extend(extra.split_whitespace().map(str::to_owned));
    }
    let mut receiver = Proc::spawn_listening(&args);
    let collectd_pid = collectd.pid().expect("collectd's pid");
    let collectd_addr: SocketAddr = collectd.listen_addr();
    let socket = cli::sender(addr);

    let names: Vec<String> = (0..rate).map(|k| format!("i{k:05}")).collect();
    let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    let value = |round: u64, k: u64| ((round * 7 + k) % 100_000) as f64;

    // Start on a whole second, so that each round's values carry a second of their own.
    let first = cli::now() + 1;
    let epoch = std::time::UNIX_EPOCH + Duration::from_secs(first);
    let wait = epoch.duration_since(std::time::SystemTime::now()).unwrap_or_default();
    // Pacing: the traffic starts on the second.
    std::thread::sleep(wait);
    let start = Instant::now();
    let c0 = cpu_ticks(collectd_pid, false);
    let r0 = cpu_ticks(receiver.pid(), true);
    let r0_own = stat_ticks(receiver.pid(), false).unwrap_or(0);
    let (mut sent, mut datagrams) = (0u64, 0u64);
    let send = |d: &[u8]| {
        socket.send_to(d, addr).unwrap();
        socket.send_to(d, collectd_addr).unwrap();
    };
    for round in 0..secs {
        let round_start = start + Duration::from_secs(round);
        let time = CdTime::from_secs(first + round);
        for (k, name) in names.iter().enumerate() {
            // Spread the round over its second, a slice of 100 values at a time.
            if k % 100 == 0 {
                let due = round_start + Duration::from_secs(1).mul_f64(k as f64 / rate as f64 * 0.9);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    // Pacing the traffic at its rate.
                    std::thread::sleep(wait);
                }
            }
            let vl = ValueList::new("cost", "bench", "gauge", vec![Value::Gauge(value(round, k as u64))])
                .with_type_instance(name.as_str())
                .with_time(time)
                .with_interval(CdTime::from_secs(1));
            match writer.write(&vl) {
                Ok(()) => {}
                Err(EncodeError::PacketFull) => {
                    send(&writer.finish().unwrap().unwrap());
                    datagrams += 1;
                    writer.write(&vl).unwrap();
                }
                Err(e) => panic!("{e:?}"),
            }
            sent += 1;
        }
        if let Some(d) = writer.finish().unwrap() {
            send(&d);
            datagrams += 1;
        }
    }
    let sent_at = Instant::now();
    let last = (first + secs - 1) as i64;

    // Wait for each side's files to hold the last second (or for a long enough while).
    let limit = Duration::from_secs(60 + rate / 1000 * 2);
    let mut drains: [Option<Duration>; 2] = [None, None];
    let mut ticks = [0u64; 2];
    let dirs = [collectd.rrd_dir(), dir.path().to_owned()];
    let pids = [collectd_pid, receiver.pid()];
    let mut next_check = [0u64; 2];
    let _ = cli::poll(limit, || {
        for side in 0..2 {
            if drains[side].is_some() {
                continue;
            }
            // Count from the first file not yet known to be done.
            let done = next_check[side]
                + (next_check[side]..rate)
                    .take_while(|&k| {
                        collectd_rrd::index::header::read(&file(&dirs[side], k)).ok().and_then(|h| h.last_update)
                            == Some(last)
                    })
                    .count() as u64;
            next_check[side] = done;
            if done == rate {
                drains[side] = Some(sent_at.elapsed());
                ticks[side] = cpu_ticks(pids[side], side == 1);
            }
        }
        drains.iter().all(Option::is_some).then_some(())
    });
    for side in 0..2 {
        if drains[side].is_none() {
            ticks[side] = cpu_ticks(pids[side], side == 1);
        }
    }
    eprintln!("receiver threads (name: ticks): {}", thread_ticks(receiver.pid()));
    let receiver_own = stat_ticks(receiver.pid(), false).unwrap_or(0) - r0_own;
    let collectd_drops = collectd::server::udp_drops(collectd_addr).unwrap_or(0);
    let collectd_at_last = files_at(&dirs[0], rate, last);
    collectd.stop().expect("collectd stops");
    let stderr = receiver.terminate();
    let counters = cli::receiver_counters(&stderr);
    let written = cli::counter(&counters, "written");
    let per_datagram = sent as f64 / datagrams as f64;
    Run {
        rate,
        secs,
        collectd: Side {
            ticks: ticks[0] - c0,
            lost: (collectd_drops as f64 * per_datagram).round() as u64 + (rate - collectd_at_last),
            stored: 0,
            drain: drains[0],
        },
        receiver_own,
        receiver: Side { ticks: ticks[1] - r0, stored: written, lost: sent - written.min(sent), drain: drains[1] },
    }
    .with_stored(sent)
}

impl Run {
    fn with_stored(mut self, sent: u64) -> Run {
        self.collectd.stored = sent - self.collectd.lost.min(sent);
        self
    }
}

fn drain(d: Option<Duration>) -> String {
    d.map_or_else(|| "never".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()))
}

#[test]
#[ignore = "a benchmark: minutes of CPU on both sides; run with --ignored --nocapture"]
fn cpu_per_stored_value_against_collectd() {
    if testkit::require_rrdtool().is_none() || testkit::find_collectd().is_none() {
        eprintln!("skipped: needs rrdtool and collectd 5.12");
        return;
    }
    let loads = std::env::var("COLLECTD_VIEW_COST_LOADS").unwrap_or_else(|_| DEFAULT_LOADS.to_owned());
    let mut runs = Vec::new();
    for load in loads.split(',') {
        let (rate, secs) = load.split_once(':').expect("LOAD:SECONDS");
        let run = run(rate.trim().parse().unwrap(), secs.trim().parse().unwrap());
        eprintln!(
            "{} values/s, {} s: collectd {} ticks, receiver {} ticks ({} in its own process)",
            run.rate, run.secs, run.collectd.ticks, run.receiver.ticks, run.receiver_own
        );
        runs.push(run);
    }
    println!();
    println!(
        "| load | collectd ticks | receiver ticks (with rrdtool) | ratio | collectd stored / lost | receiver stored / lost | last file written after the last datagram: collectd / receiver |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for r in &runs {
        println!(
            "| {} values/s, {} s | {} | {} | {:.2} | {} / {} | {} / {} | {} / {} |",
            r.rate,
            r.secs,
            r.collectd.ticks,
            r.receiver.ticks,
            r.receiver.ticks as f64 / r.collectd.ticks.max(1) as f64,
            r.collectd.stored,
            r.collectd.lost,
            r.receiver.stored,
            r.receiver.lost,
            drain(r.collectd.drain),
            drain(r.receiver.drain),
        );
    }
    for r in &runs {
        if r.rate < 20_000 {
            assert_eq!(r.receiver.lost, 0, "the receiver lost values at {} values/s", r.rate);
            assert!(r.receiver.drain.is_some(), "the receiver's files reach the last second at {} values/s", r.rate);
        }
    }
}
