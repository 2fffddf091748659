//! The original module's first example: a counter, a random statistic and coin flips.
//!
//! ```text
//! cargo run --example basic -- --collectd-host 127.0.0.1 --interval 1 --speed 10 --duration 30
//! ```
//!
//! A collectd server with the rrdtool plugin then has, under `HOST/any/`:
//!
//! * `gauge-some_category-some_counter.rrd`: the number of rounds in each interval;
//! * `gauge-some_category-another_stat.rrd`: the sum of the random numbers of those rounds;
//! * `gauge-coin_stats-heads-flips.rrd` and `gauge-coin_stats-tails-flips.rrd`;
//! * `gauge-coin_stats-flips.rrd`: the sum of heads and tails flips.
//!
//! As in the original, each round sleeps a random 1 to 4 seconds; `--speed F` divides
//! those pauses by F (`--speed 100`: 10 to 40 ms), so that a run of a few seconds with
//! `--interval 1` already covers several intervals. `--report FILE` writes, at the end
//! of a `--duration` run, the total recorded for each statistic (`coin_stats-heads-flips 12`),
//! which should equal the sum of what the server stored.

mod common;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use common::{Rng, Totals};

fn usage() -> String {
    format!(
        "Sends made-up statistics (a counter, a random number, coin flips) to a collectd server.

Usage: basic [FLAGS]

{}
  --speed F              divide the random 1-4 s pauses between rounds by F (default: 1)
  --report FILE          with --duration: at exit, write the total recorded for each
                         statistic to FILE, one `name total` line each
  --help                 print this help",
        common::COMMON_USAGE
    )
}

fn main() -> ExitCode {
    let mut speed = 1.0_f64;
    let mut report: Option<PathBuf> = None;
    let options = common::parse_args(&usage(), |args, flag| {
        match flag.name.as_str() {
            "--speed" => {
                speed = args.value(flag)?;
                if !(speed.is_finite() && speed > 0.0) {
                    return Err(format!("--speed must be a positive number, not {speed}"));
                }
            }
            "--report" => report = Some(args.value(flag)?),
            _ => return Ok(false),
        }
        Ok(true)
    });
    let conn = match common::start(&options, report.is_some()) {
        Ok(conn) => conn,
        Err(code) => return code,
    };

    let deadline = options.duration.map(|duration| Instant::now() + duration);
    let mut rng = Rng::from_time();
    let mut totals = Totals::default();
    let mut record = |category: &str, specifics: &[&str], stats: &[(&str, f64)]| {
        conn.counter(category).record(specifics, stats);
        totals.add(category, specifics, stats);
    };
    let mut rounds = 0u64;
    loop {
        record("some_category", &[], &[("some_counter", 1.0), ("another_stat", rng.random())]);
        let side = if rng.randint(0, 1) == 1 { "heads" } else { "tails" };
        record("coin_stats", &[side], &[("flips", 1.0)]);
        rounds += 1;

        let pause = Duration::try_from_secs_f64(rng.randint(1, 4) as f64 / speed).unwrap_or(Duration::MAX);
        if common::pause(pause, deadline) {
            break;
        }
    }

    // Sends what was recorded since the last interval, then stops the sender: without
    // it, a program loses what it recorded since the last interval.
    collectd::shutdown();
    common::say(format_args!("{rounds} rounds recorded"));
    common::print_summary(&conn);
    if let Some(path) = report
        && let Err(error) = totals.write(&path)
    {
        eprintln!("error: cannot write {}: {error}", path.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
