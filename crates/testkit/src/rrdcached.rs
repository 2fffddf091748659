//! The rrdcached daemon under test: `rrdcached -g` on a unix socket in a temporary
//! directory, holding updates in its cache; its `PENDING` command; shutdown.
//!
//! # Observed behaviour of Debian's rrdcached 1.7.2 (with rrdtool 1.7.2)
//!
//! * `-z 0` is refused ("Invalid write jitter 0: value must be positive"); leaving `-z`
//!   out means no jitter. `-f` below twice `-w` gives a warning on stderr.
//! * `-b DIR` must not go through a symbolic link ("Base directory (-b) resolved via file
//!   system links!"), so testkit passes the canonical path.
//! * Over a unix socket, rrdtool's client library resolves every file name with
//!   `realpath()` and sends the absolute path; with `-B`, rrdcached accepts absolute paths
//!   inside `-b`. Over TCP the client refuses absolute names ("absolute path names not
//!   allowed when talking to a remote daemon") and relative ones are taken relative to
//!   `-b`.
//! * `rrdtool graph`/`xport`/`fetch --daemon ADDR` make rrdcached write the pending
//!   updates of the files they read (and only those) before reading them from disk.
//! * With no daemon at `ADDR`: "Unable to connect to rrdcached: No such file or directory"
//!   (no socket file) or "... Connection refused" (a socket file left by a killed daemon).
//! * `PENDING FILE` answers `N updates pending` and N lines `TIME:V1:V2…` (as the client
//!   sent them); a file without pending updates, or outside `-b`, gives `0 updates
//!   pending`.
//! * SIGTERM: rrdcached writes every pending update, removes its socket and exits.
//!   SIGKILL leaves the socket file behind.
//! * An `rrdtool -` process keeps its connection to the daemon between commands; when the
//!   daemon is gone, its next command with `--daemon` kills it with SIGPIPE.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::daemon::{KEEP_ENV, read_lossy};
use crate::error::{Error, ErrorKind};
use crate::gate::{RRDCACHED_PACKAGE, SKIP_ENV, find_rrdcached};
use crate::process::Process;
use crate::wait::POLL;

/// File names inside the temporary directory.
const SOCKET: &str = "rrdcached.sock";
const BASE_DIR: &str = "data";
const LOG: &str = "rrdcached.log";
const PIDFILE: &str = "rrdcached.pid";
const STDOUT: &str = "rrdcached.stdout";
const STDERR: &str = "rrdcached.stderr";

/// `-w`: an update is written to its file this many seconds after it arrived, far longer
/// than any test, so updates stay in the cache until something asks for them.
const WRITE_TIMEOUT: &str = "3600";
/// `-f`: at least twice `-w`, or rrdcached warns.
const FLUSH_INTERVAL: &str = "7200";

/// Longest unix socket path (`sun_path` is 108 bytes with the terminating NUL).
const MAX_SOCKET_PATH: usize = 107;

/// How long [`Rrdcached::start`] waits for the socket to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Read and write timeout of the [`Rrdcached::pending`] connection.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A running `rrdcached -g` in its own temporary directory, listening only on the unix
/// socket `<dir>/rrdcached.sock`.
///
/// It runs as
/// `rrdcached -g -l unix:<dir>/rrdcached.sock -b <dir>/data -B -w 3600 -f 7200
/// -p <dir>/rrdcached.pid -o <dir>/rrdcached.log -V LOG_INFO`: files must be inside
/// [`base_dir`](Self::base_dir), no journal is kept, and updates stay in the cache for an
/// hour unless a client asks for a flush (`rrdtool … --daemon`).
///
/// Dropping it stops the process (SIGTERM, then SIGKILL after 5 s), reaps it and deletes
/// the directory; if the thread is panicking it first prints the log. Set
/// `TESTKIT_KEEP_DIR=1` to keep the directory.
///
/// ```no_run
/// let Some(_bin) = testkit::require_rrdcached() else { return };
/// let cached = testkit::Rrdcached::start().expect("rrdcached starts");
/// // rrdtool update --daemon <cached.address()> <cached.base_dir()>/x.rrd N:1
/// ```
#[derive(Debug)]
pub struct Rrdcached {
    process: Process,
    dir: TempDir,
    base_dir: PathBuf,
    socket: PathBuf,
    command: String,
}

impl Rrdcached {
    /// Starts rrdcached (found with [`crate::find_rrdcached`]) in a fresh temporary
    /// directory and waits until its socket accepts connections.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotInstalled`] (naming the Debian package), [`ErrorKind::Io`],
    /// [`ErrorKind::Exited`] or [`ErrorKind::Timeout`]; the message includes the command
    /// line, rrdcached's stderr and log.
    pub fn start() -> Result<Rrdcached, Error> {
        let binary = find_rrdcached().ok_or_else(|| {
            Error::new(
                ErrorKind::NotInstalled,
                format!(
                    "rrdcached binary not found: install the Debian package `{RRDCACHED_PACKAGE}` \
                     (make deps), or set {SKIP_ENV}=1 to skip interop tests on this machine"
                ),
            )
        })?;
        Self::start_binary(&binary)
    }

    /// Like [`start`](Self::start), with this rrdcached binary.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_binary(binary: &Path) -> Result<Rrdcached, Error> {
        let io_err = |what: &str, e: io::Error| Error::new(ErrorKind::Io, format!("{what}: {e}"));
        let dir = tempfile::Builder::new()
            .prefix("testkit-rrdcached-")
            .tempdir()
            .map_err(|e| io_err("creating temp dir", e))?;
        // rrdcached refuses a base directory reached through a symbolic link.
        let root = dir.path().canonicalize().map_err(|e| io_err("resolving the temp dir", e))?;
        let base_dir = root.join(BASE_DIR);
        fs::create_dir(&base_dir).map_err(|e| io_err("creating the base dir", e))?;
        let socket = root.join(SOCKET);
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(Error::new(
                ErrorKind::Io,
                format!("socket path {} is too long for a unix socket; set TMPDIR shorter", socket.display()),
            ));
        }
        let args: Vec<String> = vec![
            "-g".into(),
            "-l".into(),
            format!("unix:{}", socket.display()),
            "-b".into(),
            base_dir.display().to_string(),
            "-B".into(),
            "-w".into(),
            WRITE_TIMEOUT.into(),
            "-f".into(),
            FLUSH_INTERVAL.into(),
            "-p".into(),
            root.join(PIDFILE).display().to_string(),
            "-o".into(),
            root.join(LOG).display().to_string(),
            "-V".into(),
            "LOG_INFO".into(),
        ];
        let command = format!("{} {}", binary.display(), args.join(" "));
        let stdout = File::create(root.join(STDOUT)).map_err(|e| io_err("stdout file", e))?;
        let stderr = File::create(root.join(STDERR)).map_err(|e| io_err("stderr file", e))?;
        let child = Command::new(binary)
            .args(&args)
            .current_dir(&root)
            .env("TZ", "UTC")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(|e| io_err(&format!("spawning {command}"), e))?;
        let mut cached = Rrdcached { process: Process::new(child), dir, base_dir, socket, command };
        if let Err(e) = cached.wait_ready() {
            cached.terminate();
            return Err(cached.error(e.kind(), e.message()));
        }
        Ok(cached)
    }

    fn wait_ready(&mut self) -> Result<(), Error> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if UnixStream::connect(&self.socket).is_ok() {
                return Ok(());
            }
            if !self.is_running() {
                let status = self.process.exit_status().map_or_else(|| "unknown status".to_owned(), |s| s.to_string());
                return Err(Error::new(ErrorKind::Exited, format!("rrdcached exited ({status}) before it was ready")));
            }
            if Instant::now() >= deadline {
                let msg =
                    format!("rrdcached did not accept connections on {} within {READY_TIMEOUT:?}", self.address());
                return Err(Error::new(ErrorKind::Timeout, msg));
            }
            thread::sleep(POLL);
        }
    }

    /// The address to give rrdtool (`--daemon`) or collectd (`DaemonAddress`):
    /// `unix:<dir>/rrdcached.sock`.
    pub fn address(&self) -> String {
        format!("unix:{}", self.socket.display())
    }

    /// The socket file.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// The base directory (`-b`, with `-B`): RRD files must be inside it. Canonical, so
    /// paths built from it are the names rrdcached knows the files by.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// The temporary directory (socket, pid file, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The command line rrdcached was started with.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// rrdcached's log file and stderr.
    pub fn log(&self) -> String {
        let root = self.socket.parent().unwrap_or_else(|| self.dir.path());
        format!("{}{}", read_lossy(&root.join(LOG)), read_lossy(&root.join(STDERR)))
    }

    /// The process id, while the process has not been stopped.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// True while rrdcached is running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// The updates rrdcached holds for `file` and has not written yet (its `PENDING`
    /// command), one `TIME:V1:V2…` string each, as the client sent them. Asking does not
    /// write them.
    ///
    /// `file` must be the name rrdcached knows the file by: the absolute path, as
    /// rrdtool's client sends it over a unix socket (see [`base_dir`](Self::base_dir)).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the socket cannot be used (5 s timeouts) or the name has a
    /// line break; [`ErrorKind::Command`] when rrdcached answers with an error.
    pub fn pending(&self, file: &Path) -> Result<Vec<String>, Error> {
        let name = file.to_string_lossy();
        if name.contains(['\n', '\r']) {
            return Err(self.error(ErrorKind::Io, &format!("file name {name:?} has a line break")));
        }
        let io = |e: io::Error| self.error(ErrorKind::Io, &format!("PENDING {name} on {}: {e}", self.address()));
        let stream = UnixStream::connect(&self.socket).map_err(io)?;
        stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io)?;
        stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io)?;
        // rrdcached splits a command at spaces; a backslash escapes the next character.
        let escaped = name.replace('\\', "\\\\").replace(' ', "\\ ");
        (&stream).write_all(format!("PENDING {escaped}\n").as_bytes()).map_err(io)?;
        let mut reader = BufReader::new(&stream);
        let mut status = String::new();
        reader.read_line(&mut status).map_err(io)?;
        let status = status.trim_end();
        let count: i64 = status
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| self.error(ErrorKind::Command, &format!("unexpected answer to PENDING: {status:?}")))?;
        if count < 0 {
            return Err(self.error(ErrorKind::Command, &format!("PENDING {name}: {status}")));
        }
        let mut lines = Vec::new();
        for _ in 0..count {
            let mut line = String::new();
            reader.read_line(&mut line).map_err(io)?;
            lines.push(line.trim_end().to_owned());
        }
        Ok(lines)
    }

    /// Stops rrdcached with SIGTERM (it writes every pending update and removes its
    /// socket), then SIGKILL if it still runs after 5 s. Returns the exit status; calling
    /// it again returns the same status.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if waiting for the process fails.
    pub fn stop(&mut self) -> Result<ExitStatus, Error> {
        let stopped = self.process.stop().map_err(|e| self.error(ErrorKind::Io, &format!("stopping: {e}")))?;
        stopped.ok_or_else(|| self.error(ErrorKind::Io, "exit status unknown"))
    }

    /// Kills rrdcached at once with SIGKILL, as a crash would: pending updates are lost
    /// and the socket file stays behind.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] if waiting for the process fails.
    pub fn kill(&mut self) -> Result<ExitStatus, Error> {
        let killed = self.process.kill().map_err(|e| self.error(ErrorKind::Io, &format!("killing: {e}")))?;
        killed.ok_or_else(|| self.error(ErrorKind::Io, "exit status unknown"))
    }

    fn terminate(&mut self) {
        let _ = self.stop();
    }

    /// An error whose message also shows the command line and the log.
    fn error(&self, kind: ErrorKind, message: &str) -> Error {
        Error::new(
            kind,
            format!("{message}\n--- rrdcached command ---\n{}\n--- rrdcached log ---\n{}", self.command, self.log()),
        )
    }
}

impl Drop for Rrdcached {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "--- testkit: rrdcached in {} ---\n{}\n--- rrdcached log ---\n{}",
                self.dir().display(),
                self.command,
                self.log()
            );
        }
        self.terminate();
        if std::env::var(KEEP_ENV).is_ok_and(|v| v == "1") {
            self.dir.disable_cleanup(true);
            eprintln!("testkit: kept rrdcached dir {}", self.dir().display());
        }
    }
}
