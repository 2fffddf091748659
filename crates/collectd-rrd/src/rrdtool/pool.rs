//! The pool's process management: long-lived `rrdtool -` workers checked out one command
//! at a time, a watchdog that kills a worker past its timeout, replacement of workers that
//! died, hung or served their quota, and the PNG shim they preload.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::{BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::RrdtoolError;
use super::pipe::{self, Reply};
use super::png_shim::PngShim;

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

/// The rrdtool program with the pool's locale: `LC_NUMERIC=C` so numbers parse.
fn rrdtool_command(config: &PoolConfig) -> Command {
    let mut cmd = Command::new(&config.program);
    cmd.env("LC_NUMERIC", "C");
    if let Some(all) = std::env::var_os("LC_ALL") {
        // LC_ALL would override LC_NUMERIC: keep its other effects through LC_CTYPE
        // and LC_TIME, drop it.
        cmd.env_remove("LC_ALL");
        cmd.env("LC_CTYPE", &all).env("LC_TIME", &all);
    }
    cmd
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
        let mut cmd = rrdtool_command(config);
        cmd.arg("-").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some(shim) = png_shim {
            shim.apply(&mut cmd);
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
    /// When the watchdog thread wakes next by itself (`None`: it waits to be woken). A
    /// new deadline after it needs no wake-up: with one timeout for all commands, that is
    /// nearly every one, which spares a thread switch per command.
    wakes_at: Option<Instant>,
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
            st.wakes_at = next;
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
        if st.wakes_at.is_none_or(|at| deadline < at) {
            st.wakes_at = Some(deadline);
            self.cv.notify_all();
        }
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
    aliases: super::alias::Aliases,
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
    /// `path` as rrdtool can be given it: itself, or a link to it with a plain name.
    pub(crate) fn rrdtool_path<'p>(
        &self,
        path: &'p std::path::Path,
    ) -> std::io::Result<std::borrow::Cow<'p, std::path::Path>> {
        self.inner.aliases.of(path)
    }

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
                aliases: super::alias::Aliases::default(),
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
            match self.attempt(&mut w, "graphv", line.as_bytes()) {
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

    fn attempt(&self, w: &mut Worker, command: &str, line: &[u8]) -> Attempt {
        let timeout = self.inner.config.timeout;
        let (id, fired) = self.inner.watchdog.arm(Instant::now() + timeout, w.child.clone());
        w.commands += 1;
        let first_use = w.commands == 1;
        let written = w.stdin.write_all(line).and_then(|_| w.stdin.write_all(b"\n")).and_then(|_| w.stdin.flush());
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
        self.run_line(&command, line.as_bytes())
    }

    /// Runs one rrdtool command whose arguments may be any bytes, as paths of names that
    /// are not UTF-8 or hold line breaks are: on a worker when pipe mode can carry them,
    /// otherwise in an rrdtool process of its own, given the arguments as they are (with
    /// the same timeout). `create` and `update` answer an empty reply either way; `last`
    /// and `info` answer their lines.
    ///
    /// ```no_run
    /// use std::ffi::OsStr;
    /// use std::os::unix::ffi::OsStrExt;
    /// use collectd_rrd::rrdtool::{Pool, PoolConfig};
    ///
    /// let pool = Pool::new(PoolConfig::default())?;
    /// let reply = pool.run_os(&[OsStr::new("last"), OsStr::from_bytes(b"/rrd/h\nx/p/gauge.rrd")])?;
    /// println!("{}", reply.text());
    /// # Ok::<(), collectd_rrd::rrdtool::RrdtoolError>(())
    /// ```
    pub fn run_os<S: AsRef<OsStr>>(&self, args: &[S]) -> Result<Reply, RrdtoolError> {
        let command = args.first().map(|a| a.as_ref().to_string_lossy().into_owned()).unwrap_or_default();
        match pipe::encode_line_bytes(args.iter().map(|a| a.as_ref().as_bytes())) {
            Ok(line) => self.run_line(&command, &line),
            Err(_) => self.run_alone(&command, args),
        }
    }

    /// Runs `rrdtool ARGS…` as a process of its own, under the watchdog.
    fn run_alone<S: AsRef<OsStr>>(&self, command: &str, args: &[S]) -> Result<Reply, RrdtoolError> {
        let config = &self.inner.config;
        let mut cmd = rrdtool_command(config);
        cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child =
            cmd.spawn().map_err(|source| RrdtoolError::Spawn { program: config.program.clone(), source })?;
        let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(RrdtoolError::Spawn {
                program: config.program.clone(),
                source: std::io::Error::other("no pipes"),
            });
        };
        let child = Arc::new(Mutex::new(child));
        let (id, fired) = self.inner.watchdog.arm(Instant::now() + config.timeout, child.clone());
        let errors = thread::Builder::new().name("rrdtool-stderr".into()).spawn(move || {
            let mut text = Vec::new();
            let _ = stderr.read_to_end(&mut text);
            text
        });
        let mut out = Vec::new();
        let read = stdout.read_to_end(&mut out);
        let err_text = errors.ok().and_then(|t| t.join().ok()).unwrap_or_default();
        // Both pipes are closed: the process has ended or is about to.
        let status = child.lock().unwrap_or_else(|e| e.into_inner()).wait();
        self.inner.watchdog.disarm(id);
        if fired.load(Ordering::SeqCst) {
            return Err(RrdtoolError::Timeout { command: command.into(), timeout: config.timeout });
        }
        let worker_error =
            |detail: String| RrdtoolError::Worker { command: command.into(), detail, stderr: String::new() };
        read.map_err(|e| worker_error(format!("reading rrdtool's output: {e}")))?;
        let status = status.map_err(|e| worker_error(format!("waiting for rrdtool: {e}")))?;
        let err_text = String::from_utf8_lossy(&err_text);
        if !status.success() {
            let message = err_text.trim();
            let message = message.strip_prefix("ERROR:").unwrap_or(message).trim();
            let message = if message.is_empty() { format!("rrdtool ended with {status}") } else { message.to_owned() };
            return Err(RrdtoolError::Rrdtool { command: command.into(), message });
        }
        let lines = String::from_utf8_lossy(&out).lines().map(str::to_owned).collect();
        Ok(Reply { lines, blobs: Vec::new() })
    }

    /// Runs several commands (pipe-mode lines without newlines, see
    /// [`pipe::encode_line_bytes`]) on one worker: written together, then answered in
    /// order, so that a worker runs them back to back without a round trip each. The
    /// results are in the order of `lines`; an `ERROR:` reply fails its own command only.
    /// The timeout applies to the whole group. At most [`Pool::MAX_PIPELINED`] lines:
    /// their replies must fit in the pipe while the lines are being written.
    pub fn run_lines(&self, command: &str, lines: &[Vec<u8>]) -> Vec<Result<Reply, RrdtoolError>> {
        assert!(lines.len() <= Self::MAX_PIPELINED, "at most {} lines at once", Self::MAX_PIPELINED);
        if lines.is_empty() {
            return Vec::new();
        }
        let all_fail = |e: RrdtoolError| {
            let detail = e.to_string();
            lines
                .iter()
                .map(|_| {
                    Err(RrdtoolError::Worker { command: command.into(), detail: detail.clone(), stderr: String::new() })
                })
                .collect()
        };
        let mut retried = false;
        loop {
            let mut w = match self.checkout() {
                Ok(w) => w,
                Err(e) => return all_fail(e),
            };
            match self.attempt_lines(&mut w, command, lines) {
                Ok((results, healthy)) => {
                    self.checkin(w, healthy);
                    return results;
                }
                Err(e) => {
                    self.checkin(w, false);
                    if retried {
                        return all_fail(e);
                    }
                    retried = true;
                }
            }
        }
    }

    /// Most lines of one [`Pool::run_lines`]: their replies (an `OK` line each, an error
    /// message at worst) stay well within a pipe's 64 KiB while the lines are written.
    pub const MAX_PIPELINED: usize = 64;

    /// One try of [`Pool::run_lines`]: the results and whether the worker is still sound,
    /// or `Err` when the worker was dead before anything ran (retry on a fresh one).
    #[allow(clippy::type_complexity)]
    fn attempt_lines(
        &self,
        w: &mut Worker,
        command: &str,
        lines: &[Vec<u8>],
    ) -> Result<(Vec<Result<Reply, RrdtoolError>>, bool), RrdtoolError> {
        let timeout = self.inner.config.timeout;
        let (id, fired) = self.inner.watchdog.arm(Instant::now() + timeout, w.child.clone());
        let first_use = w.commands == 0;
        w.commands += lines.len() as u64;
        let mut input = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in lines {
            input.extend_from_slice(line);
            input.push(b'\n');
        }
        let mut results = Vec::with_capacity(lines.len());
        let mut healthy = true;
        if let Err(e) = w.stdin.write_all(&input).and_then(|_| w.stdin.flush()) {
            let err = RrdtoolError::Worker {
                command: command.into(),
                detail: format!("writing the commands: {e}"),
                stderr: w.stderr_tail(),
            };
            self.inner.watchdog.disarm(id);
            if !first_use {
                return Err(err);
            }
            let detail = err.to_string();
            results.extend(lines.iter().map(|_| {
                Err(RrdtoolError::Worker { command: command.into(), detail: detail.clone(), stderr: String::new() })
            }));
            return Ok((results, false));
        }
        for i in 0..lines.len() {
            match pipe::read_reply(&mut w.stdout) {
                pipe::ReadOutcome::Ok(r) => results.push(Ok(r)),
                pipe::ReadOutcome::Error(message) => {
                    results.push(Err(RrdtoolError::Rrdtool { command: command.into(), message }))
                }
                pipe::ReadOutcome::Broken(detail, started) => {
                    healthy = false;
                    let err = if fired.load(Ordering::SeqCst) {
                        RrdtoolError::Timeout { command: command.into(), timeout }
                    } else {
                        RrdtoolError::Worker { command: command.into(), detail, stderr: w.stderr_tail() }
                    };
                    // A reused worker that answers nothing at all had died while idle.
                    if i == 0 && !started && !first_use && !fired.load(Ordering::SeqCst) {
                        self.inner.watchdog.disarm(id);
                        return Err(err);
                    }
                    let detail = err.to_string();
                    results.push(Err(err));
                    while results.len() < lines.len() {
                        results.push(Err(RrdtoolError::Worker {
                            command: command.into(),
                            detail: format!("not run: {detail}"),
                            stderr: String::new(),
                        }));
                    }
                    break;
                }
            }
        }
        self.inner.watchdog.disarm(id);
        if first_use && healthy {
            self.check_png_shim(w);
        }
        Ok((results, healthy))
    }

    fn run_line(&self, command: &str, line: &[u8]) -> Result<Reply, RrdtoolError> {
        let mut retried = false;
        loop {
            let mut w = self.checkout()?;
            match self.attempt(&mut w, command, line) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn pool_is_send_and_sync() {
        assert_send_sync::<Pool>();
    }

    #[test]
    fn pipelined_lines_answer_in_order() {
        if testkit::require_rrdtool().is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::new(PoolConfig { workers: 1, ..PoolConfig::default() }).unwrap();
        let a = dir.path().join("a.rrd").to_str().unwrap().to_owned();
        let missing = dir.path().join("missing.rrd").to_str().unwrap().to_owned();
        let line = |args: &[&str]| pipe::encode_line(args).unwrap().into_bytes();
        let lines = [
            line(&["create", &a, "-s", "1", "-b", "1000000000", "DS:v:GAUGE:2:U:U", "RRA:LAST:0:1:10"]),
            line(&["update", &a, "1000000001:1"]),
            line(&["update", &missing, "1000000001:1"]),
            line(&["update", &a, "1000000002:2"]),
            line(&["last", &a]),
        ];
        let results = pool.run_lines("update", &lines);
        assert_eq!(results.len(), 5);
        assert!(results[..2].iter().all(Result::is_ok), "{results:?}");
        assert!(matches!(&results[2], Err(RrdtoolError::Rrdtool { message, .. }) if message.contains("missing.rrd")));
        assert!(results[3].is_ok());
        assert_eq!(results[4].as_ref().unwrap().lines, ["1000000002"]);
        // The worker is still in step: the next command gets its own answer.
        assert_eq!(pool.run(&["last", &a]).unwrap().lines, ["1000000002"]);
        assert_eq!(pool.spawned(), 1);
        assert!(pool.run_lines("update", &[]).is_empty());
    }
}
