//! Freshness: a client of collectd's `unixsock` plugin that asks the rrdtool plugin to write
//! out what it still holds in its cache (`FLUSH plugin=rrdtool identifier=…`) before files
//! are read, as collection3 does.
//!
//! - Only files whose modification time is older than the collection interval are flushed
//!   (a fresher file has nothing worth waiting for), each at most once per
//!   [`Flusher::MIN_GAP`]; a flush that changed nothing holds the file back longer.
//! - The identifier is the file's path under the DataDir without `.rrd`: exactly the key
//!   the rrdtool plugin caches it under.
//! - collectd queues the write and answers at once; the flusher then waits briefly for
//!   the files' modification times to change.
//! - Never fatal: a socket that is down or slow is logged once (until it works again) and
//!   the files are read as they are.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// Why a flush failed.
#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    /// The socket could not be reached, written or read in time.
    #[error("collectd socket {socket}: {source}")]
    Io {
        /// The socket.
        socket: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// collectd answered with an error (a negative status).
    #[error("collectd socket {socket} answered {reply:?}")]
    Refused {
        /// The socket.
        socket: String,
        /// collectd's reply line.
        reply: String,
    },
}

/// Flushes collectd's rrdtool cache through its unixsock socket. Thread-safe.
#[derive(Debug)]
pub struct Flusher {
    socket: PathBuf,
    data_dir: PathBuf,
    interval: Duration,
    timeout: Duration,
    settle: Duration,
    /// When each file was last flushed, and whether that changed it.
    recent: Mutex<HashMap<PathBuf, (Instant, bool)>>,
    warned: AtomicBool,
}

impl Flusher {
    /// Least time between two flushes of one file.
    pub const MIN_GAP: Duration = Duration::from_secs(5);
    /// Least time between two flushes of one file whose last flush changed nothing.
    pub const IDLE_GAP: Duration = Duration::from_secs(60);

    /// A flusher for the files under `data_dir` (collectd's rrdtool `DataDir`) through the
    /// socket at `socket`; files younger than `interval` are not flushed.
    pub fn new(socket: impl Into<PathBuf>, data_dir: impl Into<PathBuf>, interval: Duration) -> Flusher {
        Flusher {
            socket: socket.into(),
            data_dir: data_dir.into(),
            interval,
            timeout: Duration::from_secs(2),
            settle: Duration::from_millis(500),
            recent: Mutex::new(HashMap::new()),
            warned: AtomicBool::new(false),
        }
    }

    /// The socket's path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// collectd's identifier of the file at `path` (`host/plugin[-pi]/type[-ti]`), or `None`
    /// for a path outside the DataDir.
    pub fn identifier(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.data_dir).ok()?.to_str()?;
        Some(rel.strip_suffix(".rrd").unwrap_or(rel).to_owned())
    }

    /// Sends one `FLUSH` for `identifiers` (all in one command) and returns collectd's
    /// reply line (`0 Done: …`).
    pub fn flush_identifiers(&self, identifiers: &[String]) -> Result<String, FlushError> {
        let io = |source| FlushError::Io { socket: self.socket.display().to_string(), source };
        let mut command = String::from("FLUSH plugin=rrdtool timeout=0");
        for id in identifiers {
            command.push_str(" identifier=\"");
            for c in id.chars() {
                if c == '"' || c == '\\' {
                    command.push('\\');
                }
                command.push(c);
            }
            command.push('"');
        }
        command.push('\n');
        let mut stream = UnixStream::connect(&self.socket).map_err(io)?;
        stream.set_read_timeout(Some(self.timeout)).map_err(io)?;
        stream.set_write_timeout(Some(self.timeout)).map_err(io)?;
        stream.write_all(command.as_bytes()).map_err(io)?;
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line).map_err(io)?;
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            return Err(io(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no reply")));
        }
        if line.starts_with('-') {
            return Err(FlushError::Refused { socket: self.socket.display().to_string(), reply: line });
        }
        Ok(line)
    }

    /// Flushes those of `files` that need it (see the module's rules) and waits briefly for
    /// them to be written. Never fails: problems are logged once. Returns how many files
    /// were flushed.
    pub fn flush_files(&self, files: &[PathBuf]) -> usize {
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut due: Vec<(PathBuf, String, Option<SystemTime>)> = Vec::new();
        {
            let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            for f in files {
                let mtime = std::fs::metadata(f).and_then(|m| m.modified()).ok();
                let old = mtime.is_none_or(|m| wall.duration_since(m).unwrap_or_default() >= self.interval);
                let gap_ok = match recent.get(f) {
                    Some((at, changed)) => {
                        now.duration_since(*at) >= if *changed { Self::MIN_GAP } else { Self::IDLE_GAP }
                    }
                    None => true,
                };
                if old
                    && gap_ok
                    && let Some(id) = self.identifier(f)
                {
                    due.push((f.clone(), id, mtime));
                }
            }
        }
        if due.is_empty() {
            return 0;
        }
        let ids: Vec<String> = due.iter().map(|d| d.1.clone()).collect();
        match self.flush_identifiers(&ids) {
            Ok(_) => {
                if self.warned.swap(false, Ordering::Relaxed) {
                    log::info!("collectd socket {} works again", self.socket.display());
                }
            }
            Err(e) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    log::warn!("cannot flush collectd ({e}); reading files as they are");
                }
                let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
                for (f, _, _) in &due {
                    recent.insert(f.clone(), (now, true));
                }
                return 0;
            }
        }
        // collectd queues the writes: wait for the files to change, briefly.
        let changed = |f: &Path, before: Option<SystemTime>| {
            std::fs::metadata(f).and_then(|m| m.modified()).ok().is_some_and(|m| Some(m) != before)
        };
        let deadline = Instant::now() + self.settle;
        while Instant::now() < deadline && !due.iter().all(|(f, _, m)| changed(f, *m)) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() > 100_000 {
            recent.clear();
        }
        for (f, _, m) in &due {
            recent.insert(f.clone(), (now, changed(f, *m)));
        }
        due.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_a_dead_socket() {
        let dir = tempfile::tempdir().unwrap();
        let f = Flusher::new(dir.path().join("nosock"), "/var/lib/collectd/rrd", Duration::from_secs(10));
        assert_eq!(
            f.identifier(Path::new("/var/lib/collectd/rrd/h1/interface-eth0/if_octets.rrd")).as_deref(),
            Some("h1/interface-eth0/if_octets")
        );
        assert_eq!(f.identifier(Path::new("/elsewhere/x.rrd")), None);
        assert!(matches!(f.flush_identifiers(&["a/b/c".into()]), Err(FlushError::Io { .. })));
        // Never fails, and does not retry at once.
        let file = PathBuf::from("/var/lib/collectd/rrd/h1/load/load.rrd");
        assert_eq!(f.flush_files(std::slice::from_ref(&file)), 0);
        assert_eq!(f.flush_files(&[file]), 0);
    }
}
