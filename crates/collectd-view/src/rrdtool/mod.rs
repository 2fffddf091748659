//! A pool of long-lived `rrdtool -` processes that renders graphs, exports data and reads
//! file info, one command at a time per process, from any number of threads.
//!
//! - **No shell.** Each worker is `rrdtool -` spawned directly; commands are argv encoded
//!   as pipe-mode lines ([`pipe::encode_line`]).
//! - **Blocking and thread-safe.** [`Pool`] is `Send + Sync` and cheap to clone (an `Arc`);
//!   a call checks a worker out, runs one command and puts it back. Async code calls it
//!   from `spawn_blocking`.
//! - **Timeouts and replacement.** A watchdog thread kills a worker whose command runs past
//!   the timeout; a worker that crashed, hung or desynchronised is dropped and a fresh one
//!   is spawned on the next call. A command that failed because its worker was already
//!   dead is retried once on a fresh worker.
//! - **rrdtool's own messages.** `ERROR: …` replies become [`RrdtoolError::Rrdtool`] with
//!   the message as rrdtool wrote it.
//! - **Geometry.** [`Pool::render`] uses `graphv -` and keeps the plot area, time range
//!   and value range with the image ([`Geometry`]), for zooming in a web page.
//! - **Locale.** Workers run with `LC_NUMERIC=C` so numbers parse; other locale settings
//!   are inherited (dates on the axis follow the user's locale).
//! - **Cheaper PNGs.** Workers preload a small library that makes libpng skip its row
//!   filter search ([`PoolConfig::png_zlib_level`]; same pixels, about a third less CPU
//!   per image).

pub mod pipe;
mod png_shim;
pub mod xport;

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::graph::{Format, Graph, GraphError};
pub use pipe::Reply;
use png_shim::PngShim;
pub use xport::Xport;

/// What went wrong running rrdtool.
#[derive(Debug, thiserror::Error)]
pub enum RrdtoolError {
    /// rrdtool could not be started at all.
    #[error("cannot run {program:?}: {source} (is rrdtool installed? On Debian: apt-get install rrdtool)")]
    Spawn {
        /// The program.
        program: OsString,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// rrdtool answered `ERROR: …` to the command.
    #[error("rrdtool {command}: {message}")]
    Rrdtool {
        /// The command (`graphv`, `xport`, `info`, …).
        command: String,
        /// rrdtool's own message.
        message: String,
    },
    /// The command ran past the timeout; its worker was killed.
    #[error("rrdtool {command} did not answer within {timeout:?}; the worker was replaced")]
    Timeout {
        /// The command.
        command: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The worker died or its output could not be read.
    #[error("rrdtool worker failed during {command}: {detail}{stderr}")]
    Worker {
        /// The command.
        command: String,
        /// What happened.
        detail: String,
        /// The end of rrdtool's stderr, if any (prefixed with `; stderr: `).
        stderr: String,
    },
    /// The graph cannot be turned into arguments.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// An argument cannot be sent in pipe mode.
    #[error(transparent)]
    Encode(#[from] pipe::Unencodable),
    /// rrdtool's reply lacks something it should have.
    #[error("unexpected reply to rrdtool {command}: {detail}")]
    Reply {
        /// The command.
        command: String,
        /// What is missing.
        detail: String,
    },
    /// xport output could not be read.
    #[error(transparent)]
    Xport(#[from] xport::XportError),
}

/// What `rrdtool lastupdate` tells: the time of the last update and, per data source, the
/// value written then (`None`: unknown).
pub type LastUpdate = (i64, Vec<(String, Option<f64>)>);

/// Settings of a [`Pool`].
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// The rrdtool program (default `rrdtool`, looked up in `PATH`).
    pub program: OsString,
    /// Maximum number of worker processes (default 2).
    pub workers: usize,
    /// Longest a command may run before its worker is killed (default 30 s).
    pub timeout: Duration,
    /// A worker is replaced after this many commands (bounds any leak in rrdtool).
    pub max_commands_per_worker: u64,
    /// rrdcached address used by [`Pool::info`] (`--daemon`); graphs carry their own.
    pub daemon: Option<String>,
    /// `Some(level)` (default 3): workers write PNG rows without filters, deflated at this
    /// zlib level (0-9), through a library preloaded into them; the pixels are the same
    /// and the encoding far cheaper (at level 3 the files are about as large as libpng's
    /// default makes them; at 0 they are not compressed at all). `None`: libpng's
    /// defaults (every filter tried, level 6), as a plain `rrdtool graph` writes them.
    pub png_zlib_level: Option<u8>,
    /// Where the shim of [`PoolConfig::png_zlib_level`] is written, in a private
    /// directory of its own; `None` (default): the system's temporary directory. The
    /// dynamic loader refuses libraries on a `noexec` file system: the pool then notices
    /// and runs plain rrdtool.
    pub png_shim_dir: Option<PathBuf>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            program: "rrdtool".into(),
            workers: 2,
            timeout: Duration::from_secs(30),
            max_commands_per_worker: 10_000,
            daemon: None,
            png_zlib_level: Some(3),
            png_shim_dir: None,
        }
    }
}

/// Where the plot is inside an image, and what it shows: enough to map a pixel to a
/// time and a value.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Geometry {
    /// Left edge of the plot area, pixels from the image's left.
    pub graph_left: u32,
    /// Top edge of the plot area.
    pub graph_top: u32,
    /// Width of the plot area.
    pub graph_width: u32,
    /// Height of the plot area.
    pub graph_height: u32,
    /// Width of the whole image.
    pub image_width: u32,
    /// Height of the whole image.
    pub image_height: u32,
    /// Time at the plot's left edge (seconds since the epoch).
    pub start: i64,
    /// Time at the plot's right edge.
    pub end: i64,
    /// Value at the plot's bottom.
    pub value_min: f64,
    /// Value at the plot's top.
    pub value_max: f64,
}

/// A rendered graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The image bytes.
    pub data: Vec<u8>,
    /// Their format.
    pub format: Format,
    /// The plot's geometry.
    pub geometry: Geometry,
    /// Every `key = value` line of `graphv` (legend boxes, PRINT results, …).
    pub info: Vec<(String, String)>,
}

fn geometry(info: &[(String, String)]) -> Result<Geometry, String> {
    let map: HashMap<&str, &str> = info.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let int = |k: &str| -> Result<i64, String> {
        map.get(k).and_then(|v| v.trim().parse::<f64>().ok()).map(|v| v as i64).ok_or_else(|| format!("no {k}"))
    };
    let float = |k: &str| map.get(k).and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(f64::NAN);
    let px = |k: &str| int(k).map(|v| v.clamp(0, i64::from(u32::MAX)) as u32);
    Ok(Geometry {
        graph_left: px("graph_left")?,
        graph_top: px("graph_top")?,
        graph_width: px("graph_width")?,
        graph_height: px("graph_height")?,
        image_width: px("image_width")?,
        image_height: px("image_height")?,
        start: int("graph_start")?,
        end: int("graph_end")?,
        value_min: float("value_min"),
        value_max: float("value_max"),
    })
}

/// The end of a worker's stderr, kept for error messages.
type StderrTail = Arc<Mutex<Vec<u8>>>;
const STDERR_TAIL: usize = 2048;

struct Worker {
    child: Arc<Mutex<Child>>,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: StderrTail,
    commands: u64,
}

impl Worker {
    fn spawn(config: &PoolConfig, png_shim: Option<&PngShim>) -> Result<Worker, RrdtoolError> {
        let mut cmd = Command::new(&config.program);
        cmd.arg("-").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).env("LC_NUMERIC", "C");
        if let Some(shim) = png_shim {
            shim.apply(&mut cmd);
        }
        if let Some(all) = std::env::var_os("LC_ALL") {
            // LC_ALL would override LC_NUMERIC: keep its other effects through LC_CTYPE
            // and LC_TIME, drop it.
            cmd.env_remove("LC_ALL");
            cmd.env("LC_CTYPE", &all).env("LC_TIME", &all);
        }
        let mut child =
            cmd.spawn().map_err(|source| RrdtoolError::Spawn { program: config.program.clone(), source })?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RrdtoolError::Spawn {
                program: config.program.clone(),
                source: std::io::Error::other("no pipes"),
            });
        };
        let tail: StderrTail = Arc::default();
        let tail2 = tail.clone();
        // Drain stderr so rrdtool never blocks on it; keep its end for messages.
        let _ = thread::Builder::new().name("rrdtool-stderr".into()).spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut t = tail2.lock().unwrap_or_else(|e| e.into_inner());
                t.extend_from_slice(&buf[..n]);
                if t.len() > STDERR_TAIL {
                    let cut = t.len() - STDERR_TAIL;
                    t.drain(..cut);
                }
            }
        });
        Ok(Worker {
            child: Arc::new(Mutex::new(child)),
            stdin,
            stdout: BufReader::with_capacity(64 * 1024, stdout),
            stderr: tail,
            commands: 0,
        })
    }

    fn stderr_tail(&self) -> String {
        // Give the drain thread a moment to catch the last words of a dying process.
        thread::sleep(Duration::from_millis(20));
        let t = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let s = String::from_utf8_lossy(&t).trim().to_owned();
        if s.is_empty() { s } else { format!("; stderr: {s}") }
    }

    fn kill(&self) {
        let mut c = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Watch {
    deadline: Instant,
    child: Arc<Mutex<Child>>,
    fired: Arc<AtomicBool>,
}

#[derive(Default)]
struct WatchState {
    entries: HashMap<u64, Watch>,
    shutdown: bool,
}

/// Kills workers whose command runs past its deadline.
#[derive(Default)]
struct Watchdog {
    state: Mutex<WatchState>,
    cv: Condvar,
    next: AtomicU64,
}

impl Watchdog {
    fn run(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if st.shutdown {
                return;
            }
            let now = Instant::now();
            let expired: Vec<u64> = st.entries.iter().filter(|(_, w)| w.deadline <= now).map(|(k, _)| *k).collect();
            for k in expired {
                if let Some(w) = st.entries.remove(&k) {
                    w.fired.store(true, Ordering::SeqCst);
                    let _ = w.child.lock().unwrap_or_else(|e| e.into_inner()).kill();
                }
            }
            let next = st.entries.values().map(|w| w.deadline).min();
            st = match next {
                Some(d) => {
                    let wait = d.saturating_duration_since(Instant::now());
                    self.cv.wait_timeout(st, wait).unwrap_or_else(|e| e.into_inner()).0
                }
                None => self.cv.wait(st).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }

    fn arm(&self, deadline: Instant, child: Arc<Mutex<Child>>) -> (u64, Arc<AtomicBool>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let fired = Arc::new(AtomicBool::new(false));
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.entries.insert(id, Watch { deadline, child, fired: fired.clone() });
        self.cv.notify_all();
        (id, fired)
    }

    fn disarm(&self, id: u64) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.entries.remove(&id);
    }
}

struct Slots {
    idle: Vec<Worker>,
    live: usize,
}

struct Inner {
    config: PoolConfig,
    /// The PNG shim workers preload; `None` once it proved unusable.
    png_shim: Mutex<Option<PngShim>>,
    /// Whether a worker has been checked for having loaded the shim.
    png_shim_checked: AtomicBool,
    slots: Mutex<Slots>,
    freed: Condvar,
    watchdog: Arc<Watchdog>,
    spawned: AtomicU64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let mut st = self.watchdog.state.lock().unwrap_or_else(|e| e.into_inner());
        st.shutdown = true;
        self.watchdog.cv.notify_all();
    }
}

/// A pool of `rrdtool -` worker processes. Clone it freely; all clones share the workers.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

/// Outcome of one attempt on one worker.
enum Attempt {
    Done(Result<Reply, RrdtoolError>),
    /// The worker was dead before the command could be written: retry on a fresh one.
    Stale(RrdtoolError),
}

impl Pool {
    /// Starts a pool and one worker, so that a missing rrdtool is reported here.
    pub fn new(config: PoolConfig) -> Result<Pool, RrdtoolError> {
        let config = PoolConfig { workers: config.workers.max(1), ..config };
        // Best effort: without the shim, workers are plain rrdtool.
        let png_shim = config
            .png_zlib_level
            .and_then(|level| PngShim::install(level, config.png_shim_dir.as_deref()).ok().flatten());
        let first = Worker::spawn(&config, png_shim.as_ref())?;
        let watchdog = Arc::new(Watchdog::default());
        let w2 = watchdog.clone();
        thread::Builder::new()
            .name("rrdtool-watchdog".into())
            .spawn(move || w2.run())
            .map_err(|source| RrdtoolError::Spawn { program: "watchdog thread".into(), source })?;
        Ok(Pool {
            inner: Arc::new(Inner {
                config,
                png_shim: Mutex::new(png_shim),
                png_shim_checked: AtomicBool::new(false),
                slots: Mutex::new(Slots { idle: vec![first], live: 1 }),
                freed: Condvar::new(),
                watchdog,
                spawned: AtomicU64::new(1),
            }),
        })
    }

    /// Keeps the PNG shim only if `worker`, which has just answered its first command,
    /// really loaded it: the dynamic loader refuses a library on a `noexec` file system
    /// and says so only on stderr. Checked once per pool; after a refusal, workers start
    /// without the shim (this one keeps running as plain rrdtool).
    fn check_png_shim(&self, worker: &Worker) {
        if self.inner.png_shim_checked.swap(true, Ordering::SeqCst) {
            return;
        }
        let pid = worker.child.lock().unwrap_or_else(|e| e.into_inner()).id();
        let mut shim = self.inner.png_shim.lock().unwrap_or_else(|e| e.into_inner());
        if shim.as_ref().is_some_and(|s| !s.loaded_in(pid)) {
            *shim = None;
            // The loader's complaint is not news for the errors this worker may report.
            worker.stderr.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }

    /// The shim for a worker about to start: the installed one while it is intact, else a
    /// fresh copy (or none).
    fn png_shim_for_spawn(&self) -> std::sync::MutexGuard<'_, Option<PngShim>> {
        let mut shim = self.inner.png_shim.lock().unwrap_or_else(|e| e.into_inner());
        if shim.as_ref().is_some_and(|current| !current.intact()) {
            *shim = shim.take().and_then(|old| old.replace().ok().flatten());
        }
        shim
    }

    /// The configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.inner.config
    }

    /// True when the workers preload the PNG encoding shim ([`PoolConfig::png_zlib_level`]):
    /// it was asked for, built and installed, and no worker refused it (the first worker
    /// to answer a command is checked).
    pub fn png_shim_loaded(&self) -> bool {
        self.inner.png_shim.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// How many worker processes have been started so far (replacements included).
    pub fn spawned(&self) -> u64 {
        self.inner.spawned.load(Ordering::Relaxed)
    }

    /// Starts workers up to the configured number and runs a tiny graph on each, so that
    /// the first real request does not pay for process start and font loading.
    pub fn warm_up(&self) -> Result<(), RrdtoolError> {
        let mut workers = Vec::new();
        for _ in 0..self.inner.config.workers {
            workers.push(self.checkout()?);
        }
        let args = [
            "graphv",
            "-",
            "--start",
            "1000000000",
            "--end",
            "1000000600",
            "--width",
            "10",
            "--height",
            "10",
            // Something to draw: a graph of only a COMMENT returns before rendering, and
            // the fonts would then load on the first real request.
            "HRULE:1#000000:warm",
        ];
        let line = pipe::encode_line(&args)?;
        let mut result = Ok(());
        for mut w in workers {
            match self.attempt(&mut w, "graphv", &line) {
                Attempt::Done(Ok(_)) => self.checkin(w, true),
                Attempt::Done(Err(e)) | Attempt::Stale(e) => {
                    self.checkin(w, false);
                    result = Err(e);
                }
            }
        }
        result
    }

    fn checkout(&self) -> Result<Worker, RrdtoolError> {
        let inner = &self.inner;
        let mut slots = inner.slots.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(w) = slots.idle.pop() {
                return Ok(w);
            }
            if slots.live < inner.config.workers {
                slots.live += 1;
                drop(slots);
                let spawned = Worker::spawn(&inner.config, self.png_shim_for_spawn().as_ref());
                return match spawned {
                    Ok(w) => {
                        inner.spawned.fetch_add(1, Ordering::Relaxed);
                        Ok(w)
                    }
                    Err(e) => {
                        let mut slots = inner.slots.lock().unwrap_or_else(|e| e.into_inner());
                        slots.live -= 1;
                        inner.freed.notify_one();
                        Err(e)
                    }
                };
            }
            slots = inner.freed.wait(slots).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn checkin(&self, w: Worker, healthy: bool) {
        let inner = &self.inner;
        let keep = healthy && w.commands < inner.config.max_commands_per_worker;
        let mut slots = inner.slots.lock().unwrap_or_else(|e| e.into_inner());
        if keep {
            slots.idle.push(w);
        } else {
            slots.live -= 1;
            drop(slots);
            drop(w); // kills and reaps
        }
        inner.freed.notify_one();
    }

    fn attempt(&self, w: &mut Worker, command: &str, line: &str) -> Attempt {
        let timeout = self.inner.config.timeout;
        let (id, fired) = self.inner.watchdog.arm(Instant::now() + timeout, w.child.clone());
        w.commands += 1;
        let first_use = w.commands == 1;
        let written =
            w.stdin.write_all(line.as_bytes()).and_then(|_| w.stdin.write_all(b"\n")).and_then(|_| w.stdin.flush());
        let outcome = match written {
            Err(e) => {
                let err = RrdtoolError::Worker {
                    command: command.into(),
                    detail: format!("writing the command: {e}"),
                    stderr: w.stderr_tail(),
                };
                if first_use { Attempt::Done(Err(err)) } else { Attempt::Stale(err) }
            }
            Ok(()) => match pipe::read_reply(&mut w.stdout) {
                pipe::ReadOutcome::Ok(r) => Attempt::Done(Ok(r)),
                pipe::ReadOutcome::Error(message) => {
                    Attempt::Done(Err(RrdtoolError::Rrdtool { command: command.into(), message }))
                }
                pipe::ReadOutcome::Broken(detail, started) => {
                    if fired.load(Ordering::SeqCst) {
                        Attempt::Done(Err(RrdtoolError::Timeout { command: command.into(), timeout }))
                    } else {
                        let err = RrdtoolError::Worker { command: command.into(), detail, stderr: w.stderr_tail() };
                        // A reused worker that answers nothing at all had died while idle.
                        if first_use || started { Attempt::Done(Err(err)) } else { Attempt::Stale(err) }
                    }
                }
            },
        };
        self.inner.watchdog.disarm(id);
        // Only a worker that answered is still there to be looked at.
        if first_use && matches!(outcome, Attempt::Done(Ok(_) | Err(RrdtoolError::Rrdtool { .. }))) {
            self.check_png_shim(w);
        }
        outcome
    }

    /// Runs one rrdtool command (argv without `rrdtool`, e.g. `["info", "/x.rrd"]`) and
    /// returns its reply.
    pub fn run<S: AsRef<str>>(&self, args: &[S]) -> Result<Reply, RrdtoolError> {
        let command = args.first().map(|a| a.as_ref().to_owned()).unwrap_or_default();
        let line = pipe::encode_line(args)?;
        let mut retried = false;
        loop {
            let mut w = self.checkout()?;
            match self.attempt(&mut w, &command, &line) {
                Attempt::Done(result) => {
                    let healthy = matches!(&result, Ok(_) | Err(RrdtoolError::Rrdtool { .. }));
                    self.checkin(w, healthy);
                    return result;
                }
                Attempt::Stale(e) => {
                    self.checkin(w, false);
                    if retried {
                        return Err(e);
                    }
                    retried = true;
                }
            }
        }
    }

    /// Renders `graph` with `graphv -`, returning the image and its geometry.
    pub fn render(&self, graph: &Graph) -> Result<Image, RrdtoolError> {
        self.render_with(graph, &[])
    }

    /// Like [`Pool::render`], with `options` (e.g. `--color`, `--only-graph`) placed before
    /// the graph's own arguments: the argv is `graphv - OPTIONS… GRAPH-ARGS…`.
    pub fn render_with(&self, graph: &Graph, options: &[String]) -> Result<Image, RrdtoolError> {
        let mut args = vec!["graphv".to_owned(), "-".to_owned()];
        args.extend(options.iter().cloned());
        args.extend(graph.args()?);
        let reply = self.run(&args)?;
        let info = reply.info();
        let geometry = geometry(&info).map_err(|detail| RrdtoolError::Reply { command: "graphv".into(), detail })?;
        let data = reply
            .blobs
            .into_iter()
            .find(|(k, _)| k == "image")
            .map(|(_, b)| b)
            .ok_or_else(|| RrdtoolError::Reply { command: "graphv".into(), detail: "no image".into() })?;
        Ok(Image { data, format: graph.format, geometry, info })
    }

    /// Exports the values `graph` draws (see [`Graph::xport_args`]).
    pub fn xport(&self, graph: &Graph) -> Result<Xport, RrdtoolError> {
        let mut args = vec!["xport".to_owned()];
        args.extend(graph.xport_args()?);
        let reply = self.run(&args)?;
        Ok(xport::parse(&reply.text())?)
    }

    /// The average over the graph's range of each of its series (by label), read with one
    /// `xport`; `None` for a series without any known value.
    pub fn series_averages(&self, graph: &Graph) -> Result<Vec<(String, Option<f64>)>, RrdtoolError> {
        let mut lines = graph.clone();
        lines.kind = crate::graph::Kind::Lines;
        lines.order.clear();
        let x = self.xport(&lines)?;
        Ok(lines
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let known: Vec<f64> =
                    x.rows.iter().filter_map(|(_, v)| v.get(i).copied().flatten()).filter(|v| v.is_finite()).collect();
                let avg = (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64);
                (s.label.clone(), avg)
            })
            .collect())
    }

    /// Orders a stack's series by their average over the graph's range, the largest at the
    /// bottom ([`crate::graph::style::order_by_value`]); a graph that is not a stack of
    /// several series, or already has an order, is left as it is.
    pub fn order_stack_by_value(&self, graph: &mut Graph) -> Result<(), RrdtoolError> {
        if !matches!(graph.kind, crate::graph::Kind::Stack { .. }) || graph.series.len() < 2 || !graph.order.is_empty()
        {
            return Ok(());
        }
        graph.order = crate::graph::style::order_by_value(&self.series_averages(graph)?);
        Ok(())
    }

    /// The last values written to `file` (`rrdtool lastupdate`): the time and, per data
    /// source, its value (`None` for unknown).
    pub fn last_update(&self, file: &Path) -> Result<LastUpdate, RrdtoolError> {
        let path = file.to_str().ok_or_else(|| RrdtoolError::Graph(GraphError::Path(file.display().to_string())))?;
        let mut args = vec!["lastupdate".to_owned()];
        if let Some(d) = &self.inner.config.daemon {
            args.push("--daemon".into());
            args.push(d.clone());
        }
        args.push(path.to_owned());
        let text = self.run(&args)?.text();
        parse_lastupdate(&text).ok_or_else(|| RrdtoolError::Reply {
            command: "lastupdate".into(),
            detail: format!("cannot read {text:?}"),
        })
    }

    /// `rrdtool info FILE` as key/value pairs (`ds[value].type` → `GAUGE`, …).
    pub fn info(&self, file: &Path) -> Result<Vec<(String, String)>, RrdtoolError> {
        let path = file.to_str().ok_or_else(|| RrdtoolError::Graph(GraphError::Path(file.display().to_string())))?;
        let mut args = vec!["info".to_owned()];
        if let Some(d) = &self.inner.config.daemon {
            args.push("--daemon".into());
            args.push(d.clone());
        }
        args.push(path.to_owned());
        Ok(self.run(&args)?.info())
    }

    /// The data source names of `file`, from `rrdtool info` (the fallback when the index
    /// cannot read a header itself).
    pub fn data_sources(&self, file: &Path) -> Result<Vec<String>, RrdtoolError> {
        let mut names = Vec::new();
        for (k, _) in self.info(file)? {
            if let Some(rest) = k.strip_prefix("ds[")
                && let Some(name) = rest.strip_suffix("].index")
            {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }
}

/// Parses `rrdtool lastupdate` output: a line of DS names, a blank line, `TIME: V V…`.
fn parse_lastupdate(text: &str) -> Option<LastUpdate> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let names: Vec<&str> = lines.next()?.split_whitespace().collect();
    let (t, values) = lines.next()?.split_once(':')?;
    let values: Vec<Option<f64>> = values.split_whitespace().map(|v| v.parse::<f64>().ok()).collect();
    if values.len() != names.len() {
        return None;
    }
    Some((t.trim().parse().ok()?, names.into_iter().map(str::to_owned).zip(values).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lastupdate_output() {
        let (t, v) = parse_lastupdate(" shortterm midterm longterm\n\n1700000000: 0.5 U 2e3\n").unwrap();
        assert_eq!(t, 1_700_000_000);
        assert_eq!(
            v,
            [("shortterm".to_owned(), Some(0.5)), ("midterm".into(), None), ("longterm".into(), Some(2000.0))]
        );
        assert!(parse_lastupdate("garbage").is_none());
    }

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn pool_is_send_and_sync() {
        assert_send_sync::<Pool>();
    }

    #[test]
    fn geometry_from_graphv() {
        let info: Vec<(String, String)> = [
            ("graph_left", "51"),
            ("graph_top", "15"),
            ("graph_width", "200"),
            ("graph_height", "100"),
            ("image_width", "281"),
            ("image_height", "141"),
            ("graph_start", "1795550079"),
            ("graph_end", "1795550379"),
            ("value_min", "1.0000000000e+00"),
            ("value_max", "2.0000000000e+01"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let g = geometry(&info).unwrap();
        assert_eq!((g.graph_left, g.graph_width, g.image_height), (51, 200, 141));
        assert_eq!((g.start, g.end), (1795550079, 1795550379));
        assert_eq!((g.value_min, g.value_max), (1.0, 20.0));
        assert!(geometry(&info[1..]).is_err());
    }
}
