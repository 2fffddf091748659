//! The crate's error type: what went wrong, plus the collectd config, log and
//! stderr at that moment so a failing test shows everything needed to debug it.

use std::fmt;

/// What kind of failure an [`Error`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The collectd or rrdtool binary (or collectd's `types.db`) is missing.
    NotInstalled,
    /// A file-system or process-spawning operation failed.
    Io,
    /// collectd exited on its own before it was ready (or while waiting).
    Exited,
    /// collectd logged an `[error]` line while starting up, for example
    /// "Cowardly refusing to open this socket!" for a `Sign` listener without
    /// an `AuthFile`.
    StartupErrors,
    /// collectd started but does not hold the UDP listen socket (it failed to
    /// bind, or another process also holds the port).
    NotListening,
    /// A wait (`start`, `wait_for_log`, `wait_for_file`, `wait_until`) ran out
    /// of time.
    Timeout,
    /// An `rrdtool` invocation failed or printed something unparsable.
    Command,
}

/// An error from this crate.
///
/// Its `Display` output includes the message and, when the error concerns a
/// running collectd, the generated config, the log file and collectd's
/// stderr. `Debug` prints the same text (prefixed by the kind), so
/// `.expect()` / `.unwrap()` on a `Result<_, Error>` in a test prints all of
/// it readably.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    config: String,
    log: String,
    stderr: String,
}

impl Error {
    /// An error without collectd context (used by the rrdtool helpers and the
    /// binary lookup).
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), config: String::new(), log: String::new(), stderr: String::new() }
    }

    /// Attaches collectd's config, log and stderr to the error.
    pub(crate) fn with_context(mut self, config: &str, log: String, stderr: String) -> Self {
        self.config = config.to_owned();
        self.log = log;
        self.stderr = stderr;
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The one-line description, without the attached config and log.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The `collectd.conf` that was used (empty if not about collectd).
    pub fn config(&self) -> &str {
        &self.config
    }

    /// The collectd log file contents when the error happened (empty if not
    /// about collectd).
    pub fn log(&self) -> &str {
        &self.log
    }

    /// What collectd wrote to stderr (messages logged before the `logfile`
    /// plugin was configured go there).
    pub fn stderr(&self) -> &str {
        &self.stderr
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if !self.config.is_empty() {
            write!(f, "\n--- collectd.conf ---\n{}", self.config)?;
        }
        if !self.log.is_empty() {
            write!(f, "\n--- collectd.log ---\n{}", self.log)?;
        }
        if !self.stderr.is_empty() {
            write!(f, "\n--- collectd stderr ---\n{}", self.stderr)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {self}", self.kind)
    }
}

impl std::error::Error for Error {}
