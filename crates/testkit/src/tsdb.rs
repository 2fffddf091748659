//! Prometheus-compatible databases for the Prometheus source's tests: Debian's
//! `victoria-metrics` and `prometheus`, started on a free loopback port with their data
//! in a fresh temporary directory, scraping the given loopback targets (collectd's
//! `write_prometheus`), and stopped on drop.
//!
//! Observed behaviour (victoria-metrics 1.79 and prometheus 2.42, Debian 12):
//!
//! * Both keep the scrape target's own `instance` label and rename the `instance` label
//!   collectd writes (the host) to `exported_instance` (`honor_labels: false`, the
//!   default, which the kit keeps, as most deployments do).
//! * VictoriaMetrics hides the last 30 s of data from queries by default
//!   (`-search.latencyOffset`); the kit sets it to 0 so that tests see what was just
//!   scraped.

use std::fs;
use std::io::Read as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::gate::{find_program, require};
use crate::ports::free_tcp_port;
use crate::process::Process;
use crate::wait::poll_until;

/// Debian package that provides `/usr/bin/victoria-metrics`.
pub const VICTORIA_METRICS_PACKAGE: &str = "victoria-metrics";
/// Debian package that provides `/usr/bin/prometheus`.
pub const PROMETHEUS_PACKAGE: &str = "prometheus";

/// Which database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsdbKind {
    /// VictoriaMetrics (single node), with its own scraper (`-promscrape.config`).
    VictoriaMetrics,
    /// Prometheus.
    Prometheus,
}

impl TsdbKind {
    /// The program's name.
    pub fn program(self) -> &'static str {
        match self {
            TsdbKind::VictoriaMetrics => "victoria-metrics",
            TsdbKind::Prometheus => "prometheus",
        }
    }

    fn package(self) -> &'static str {
        match self {
            TsdbKind::VictoriaMetrics => VICTORIA_METRICS_PACKAGE,
            TsdbKind::Prometheus => PROMETHEUS_PACKAGE,
        }
    }
}

/// The database's binary, in `/usr/bin` or on `PATH`.
pub fn find_tsdb(kind: TsdbKind) -> Option<PathBuf> {
    let preferred = format!("/usr/bin/{}", kind.program());
    find_program(kind.program(), &[preferred.as_str()])
}

/// Gate for tests that run `kind`; same rules as [`require_collectd`](crate::require_collectd),
/// with the Debian package `victoria-metrics` or `prometheus`.
///
/// # Panics
///
/// When the binary is missing and skipping is not allowed.
pub fn require_tsdb(kind: TsdbKind) -> Option<PathBuf> {
    require(find_tsdb(kind), &format!("{} binary", kind.program()), kind.package())
}

/// A running database, stopped (SIGTERM, then SIGKILL) on drop.
#[derive(Debug)]
pub struct Tsdb {
    kind: TsdbKind,
    dir: tempfile::TempDir,
    port: u16,
    process: Process,
}

impl Tsdb {
    /// Starts `kind` on a free port of 127.0.0.1, scraping `targets` (loopback only) every
    /// `scrape_interval` seconds under the job `collectd`, and waits until its port
    /// accepts connections.
    ///
    /// # Panics
    ///
    /// If a target is not on a loopback address.
    pub fn start(kind: TsdbKind, targets: &[SocketAddr], scrape_interval: u32) -> Result<Tsdb, Error> {
        for t in targets {
            assert!(t.ip().is_loopback(), "scrape target {t} is not on loopback");
        }
        let binary = find_tsdb(kind)
            .ok_or_else(|| Error::new(ErrorKind::NotInstalled, format!("{} not found", kind.program())))?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("testkit-{}-", kind.program()))
            .tempdir()
            .map_err(|e| Error::new(ErrorKind::Io, format!("temporary directory: {e}")))?;
        let list: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
        let config = format!(
            "global:\n  scrape_interval: {scrape_interval}s\n  scrape_timeout: {scrape_interval}s\n\
             scrape_configs:\n  - job_name: collectd\n    static_configs:\n      - targets: [{}]\n",
            list.join(", ")
        );
        let config_path = dir.path().join("scrape.yml");
        fs::write(&config_path, config).map_err(|e| Error::new(ErrorKind::Io, format!("scrape.yml: {e}")))?;
        let port = free_tcp_port();
        let data = dir.path().join("data");
        let listen = format!("127.0.0.1:{port}");
        let mut command = Command::new(&binary);
        match kind {
            TsdbKind::VictoriaMetrics => command.args([
                format!("-storageDataPath={}", data.display()),
                format!("-httpListenAddr={listen}"),
                format!("-promscrape.config={}", config_path.display()),
                "-search.latencyOffset=0s".into(),
                "-search.disableCache".into(),
                "-retentionPeriod=1d".into(),
                // Samples scraped twice (same collectd timestamp) count once, as in Prometheus.
                "-dedup.minScrapeInterval=1ms".into(),
                "-loggerLevel=ERROR".into(),
            ]),
            TsdbKind::Prometheus => command.args([
                format!("--config.file={}", config_path.display()),
                format!("--storage.tsdb.path={}", data.display()),
                format!("--web.listen-address={listen}"),
                "--log.level=error".into(),
            ]),
        };
        let log =
            fs::File::create(dir.path().join("log")).map_err(|e| Error::new(ErrorKind::Io, format!("log: {e}")))?;
        let log2 = log.try_clone().map_err(|e| Error::new(ErrorKind::Io, format!("log: {e}")))?;
        let child = command
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot run {}: {e}", binary.display())))?;
        let mut tsdb = Tsdb { kind, dir, port, process: Process::new(child) };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let up = poll_until(Duration::from_secs(30), || {
            if !tsdb.process.is_running() {
                return Some(false);
            }
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok().then_some(true)
        });
        match up {
            Some(true) => Ok(tsdb),
            Some(false) => {
                Err(Error::new(ErrorKind::Exited, format!("{} exited while starting:\n{}", kind.program(), tsdb.log())))
            }
            None => Err(Error::new(
                ErrorKind::Timeout,
                format!("{} did not listen on {listen} within 30 s:\n{}", kind.program(), tsdb.log()),
            )),
        }
    }

    /// Which database this is.
    pub fn kind(&self) -> TsdbKind {
        self.kind
    }

    /// Its base URL, `http://127.0.0.1:PORT` (the Prometheus API is under `/api/v1`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its temporary directory (`scrape.yml`, `data/`, `log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What it printed so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = fs::File::open(self.dir.path().join("log")) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    /// Stops it (SIGTERM, then SIGKILL after a grace period), as a database going away
    /// mid-session.
    pub fn stop(&mut self) {
        let _ = self.process.stop();
    }

    /// True while it runs.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }
}

impl Drop for Tsdb {
    fn drop(&mut self) {
        let _ = self.process.kill();
    }
}
