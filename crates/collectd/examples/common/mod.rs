//! What both examples share: the command-line flags, a tiny random number generator,
//! and the messages printed at start and exit.
//!
//! Flags are parsed by hand so the examples need nothing beyond the `collectd` crate.

// Each example uses only part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Display;
use std::io::Write as _;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Set on Ctrl-C (SIGINT) or SIGTERM, once [`start`] has run: the example then stops
/// recording and calls `collectd::shutdown()`, so the last partial interval is sent
/// (a program killed without it loses what it recorded since the last interval).
fn stop_requested() -> &'static Arc<AtomicBool> {
    static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    STOP.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// True once Ctrl-C or SIGTERM came.
pub fn stopping() -> bool {
    stop_requested().load(Ordering::Relaxed)
}

/// Sleeps for `pause`, or less when the run ends first (a signal, or `deadline`);
/// true when the run has ended.
pub fn pause(pause: Duration, deadline: Option<Instant>) -> bool {
    let until = Instant::now() + pause;
    let until = deadline.map_or(until, |deadline| until.min(deadline));
    while !stopping() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return deadline.is_some_and(|deadline| Instant::now() >= deadline);
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
    true
}

/// Waits until the run ends: `duration` passed, or a signal came.
pub fn wait_for_the_end(duration: Option<Duration>) {
    let deadline = duration.map(|duration| Instant::now() + duration);
    while !pause(Duration::from_secs(3600), deadline) {}
}

/// The usage text of the flags every example accepts.
pub const COMMON_USAGE: &str = "Flags:
  --collectd-host HOST   the collectd server's host name or address (default: localhost)
  --collectd-port PORT   the collectd server's port (default: 25826)
  --interval SECS        how often statistics are sent, fractions allowed (default: 10)
  --hostname NAME        the host name to send statistics under (default: this machine's)
  --plugin-instance NAME the plugin instance: files land in HOST/any-NAME/ (default: none;
                         --plugin-inst, the original module's name, is accepted too)
  --duration SECS        stop after SECS seconds; without it the example runs until
                         Ctrl-C (SIGINT) or SIGTERM. Either way it then calls
                         collectd::shutdown(), which sends the last partial interval";

/// The flags every example accepts.
#[derive(Debug)]
pub struct Options {
    pub collectd_host: String,
    pub collectd_port: u16,
    pub interval: Duration,
    pub hostname: Option<String>,
    pub plugin_instance: Option<String>,
    pub duration: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            collectd_host: "localhost".into(),
            collectd_port: collectd::DEFAULT_PORT,
            interval: collectd::DEFAULT_INTERVAL,
            hostname: None,
            plugin_instance: None,
            duration: None,
        }
    }
}

impl Options {
    /// The connection these options describe.
    pub fn connection(&self) -> collectd::Connection {
        let mut builder = collectd::Connection::builder()
            .collectd_host(&self.collectd_host)
            .collectd_port(self.collectd_port)
            .interval(self.interval);
        if let Some(hostname) = &self.hostname {
            builder = builder.hostname(hostname);
        }
        if let Some(plugin_instance) = &self.plugin_instance {
            builder = builder.plugin_instance(plugin_instance);
        }
        builder.build()
    }

    /// Handles `flag` if it is one of the common flags; `Ok(false)` for any other flag.
    fn accept(&mut self, args: &mut Args, flag: &Flag) -> Result<bool, String> {
        match flag.name.as_str() {
            "--collectd-host" => self.collectd_host = args.value(flag)?,
            "--collectd-port" => self.collectd_port = args.value(flag)?,
            "--interval" => {
                self.interval = args.seconds(flag)?;
                if self.interval.is_zero() {
                    return Err(format!("{} must be more than 0", flag.name));
                }
            }
            "--hostname" => self.hostname = Some(args.value(flag)?),
            "--plugin-instance" | "--plugin-inst" => self.plugin_instance = Some(args.value(flag)?),
            "--duration" => self.duration = Some(args.seconds(flag)?),
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// One flag from the command line: `--name`, with its value when given as `--name=value`.
pub struct Flag {
    pub name: String,
    inline_value: Option<String>,
}

/// The command line, read flag by flag.
pub struct Args {
    args: std::vec::IntoIter<String>,
}

impl Args {
    /// The value of `flag`: the part after `=`, or the next argument.
    pub fn value<T: FromStr>(&mut self, flag: &Flag) -> Result<T, String>
    where
        T::Err: Display,
    {
        let text = match &flag.inline_value {
            Some(value) => value.clone(),
            None => self.args.next().ok_or_else(|| format!("{} needs a value", flag.name))?,
        };
        text.parse().map_err(|error| format!("bad value {text:?} for {}: {error}", flag.name))
    }

    /// The value of `flag` as a number of seconds (fractions allowed).
    pub fn seconds(&mut self, flag: &Flag) -> Result<Duration, String> {
        let seconds: f64 = self.value(flag)?;
        Duration::try_from_secs_f64(seconds).map_err(|_| format!("bad number of seconds {seconds} for {}", flag.name))
    }

    /// Refuses a value given to a flag that takes none (`--quiet=yes`).
    pub fn no_value(&self, flag: &Flag) -> Result<(), String> {
        match flag.inline_value {
            Some(_) => Err(format!("{} takes no value", flag.name)),
            None => Ok(()),
        }
    }

    fn next_flag(&mut self) -> Option<Result<Flag, String>> {
        let arg = self.args.next()?;
        if !arg.starts_with("--") {
            return Some(Err(format!("unexpected argument {arg:?}")));
        }
        let (name, inline_value) = match arg.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (arg, None),
        };
        Some(Ok(Flag { name, inline_value }))
    }
}

/// Parses the command line: the common flags, and the example's own through `extra`,
/// which returns `Ok(false)` for a flag it does not know.
///
/// Prints the usage and exits 0 on `--help`; prints the problem and exits 2 on a bad flag.
pub fn parse_args(usage: &str, mut extra: impl FnMut(&mut Args, &Flag) -> Result<bool, String>) -> Options {
    let mut args = Args { args: std::env::args().skip(1).collect::<Vec<_>>().into_iter() };
    let mut options = Options::default();
    let result = (|| {
        while let Some(flag) = args.next_flag() {
            let flag = flag?;
            if flag.name == "--help" || flag.name == "-h" {
                println!("{usage}");
                std::process::exit(0);
            }
            if !options.accept(&mut args, &flag)? && !extra(&mut args, &flag)? {
                return Err(format!("unknown flag {}", flag.name));
            }
        }
        Ok(())
    })();
    if let Err(message) = result {
        let program = std::env::args().next().unwrap_or_default();
        eprintln!("error: {message}\nTry `{program} --help` for the list of flags.");
        std::process::exit(2);
    }
    options
}

/// Prints a line on stdout; unlike `println!`, does not panic when stdout is a closed
/// pipe (`primes | head`). Returns false then.
pub fn say(line: std::fmt::Arguments<'_>) -> bool {
    writeln!(std::io::stdout(), "{line}").is_ok()
}

/// Prints where statistics go.
/// Checks the flags that go together, builds the connection, says where it sends, and
/// starts the background threads; on failure, the exit code to return.
pub fn start(options: &Options, reporting: bool) -> Result<collectd::Connection, std::process::ExitCode> {
    if reporting && options.duration.is_none() {
        eprintln!("error: --report needs --duration (the report is written when the run ends)");
        return Err(std::process::ExitCode::from(2));
    }
    let conn = options.connection();
    announce(&conn);
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(error) = signal_hook::flag::register(signal, stop_requested().clone()) {
            eprintln!("warning: cannot catch signal {signal}: {error}");
        }
    }
    // From here on, every way out of the example calls collectd::shutdown().
    if let Err(error) = collectd::start_threads() {
        eprintln!("error: {error}");
        return Err(std::process::ExitCode::FAILURE);
    }
    Ok(conn)
}

pub fn announce(conn: &collectd::Connection) {
    let plugin_dir = match conn.plugin_instance() {
        "" => "any".to_string(),
        inst => format!("any-{inst}"),
    };
    say(format_args!(
        "sending statistics to collectd at {}:{} every {:?}, as {}/{plugin_dir}/",
        conn.collectd_host(),
        conn.collectd_port(),
        conn.interval(),
        conn.hostname(),
    ));
}

/// Prints what the sender did.
pub fn print_summary(conn: &collectd::Connection) {
    let stats = conn.sender_stats();
    say(format_args!(
        "sent {} datagrams ({} bytes, {} values); {} values not sent; {} send errors ({} refused), {} snapshots dropped, {} deferred",
        stats.packets_sent,
        stats.bytes_sent,
        stats.value_lists_sent,
        stats.value_lists_unsent,
        stats.send_errors,
        stats.packets_refused,
        stats.snapshots_dropped,
        stats.snapshots_deferred
    ));
}

/// Totals of what an example recorded, by the name collectd files them under
/// (`category[-specific]-stat`), for `--report`.
#[derive(Default)]
pub struct Totals(BTreeMap<String, f64>);

impl Totals {
    /// Adds what `counter.record(specifics, stats)` adds.
    pub fn add(&mut self, category: &str, specifics: &[&str], stats: &[(&str, f64)]) {
        for &(stat, value) in stats {
            *self.0.entry(format!("{category}-{stat}")).or_default() += value;
            for specific in specifics {
                *self.0.entry(format!("{category}-{specific}-{stat}")).or_default() += value;
            }
        }
    }

    /// Adds every total of `other`.
    pub fn merge(&mut self, other: Totals) {
        for (name, value) in other.0 {
            *self.0.entry(name).or_default() += value;
        }
    }

    /// The total of one statistic (0 when never recorded).
    pub fn get(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(0.0)
    }

    /// Writes one `name total` line per statistic, in name order.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let text: String = self.0.iter().map(|(name, total)| format!("{name} {total}\n")).collect();
        std::fs::write(path, text)
    }
}

/// A xorshift64* generator: plenty for made-up statistics, and no dependency.
pub struct Rng(u64);

impl Rng {
    /// Seeded from the clock and the process id.
    pub fn from_time() -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        Rng::new(nanos ^ (u64::from(std::process::id()) << 32))
    }

    pub fn new(seed: u64) -> Self {
        // Spread the seed's bits (splitmix64) and never start from 0, xorshift's fixed point.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)).max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[0, 1)`, as Python's `random.random()`.
    pub fn random(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `low..=high`, as Python's `random.randint(low, high)`.
    pub fn randint(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }

    /// Normally distributed (Box–Muller), as Python's `random.normalvariate(mu, sigma)`.
    pub fn normalvariate(&mut self, mu: f64, sigma: f64) -> f64 {
        let u1 = 1.0 - self.random(); // in (0, 1], so the logarithm is finite
        let u2 = self.random();
        mu + sigma * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}
