//! Batched RRD writes through the rrdtool pool, with collectd's update rules: a file is
//! created on its first value, values not newer than the last one for the file are
//! dropped, and the values of one file go to rrdtool together.
//!
//! - **Submit** (the receive loop, never blocking on I/O): a value whose time is not
//!   after the last value accepted for the same file is dropped, exactly as collectd's
//!   rrdtool plugin drops it (`rrd_cache_insert`, full-resolution times); otherwise it
//!   joins the file's pending batch. When the pending values of all files reach
//!   `max_pending`, new values are dropped and counted, so memory stays bounded when
//!   rrdtool cannot keep up.
//! - **Flush** (`threads` flush threads): every `flush_interval`, or at once when a file
//!   has `batch_size` pending values, or at shutdown. Flushing a file checks that it
//!   exists (creating it with the first pending value's interval and time, as
//!   `cu_rrd_create_file` does) and reads its last update once (`rrdtool last`); values
//!   whose whole second is not after the file's last update are dropped, as rrdtool would
//!   refuse them ("illegal attempt to update … minimum one second step") — which keeps one
//!   refused value from failing a whole batch; the rest go in `rrdtool update` commands of
//!   at most `batch_size` values. A flush thread takes up to 64 files at a time, and
//!   their update commands go to one rrdtool worker together (pipelined, one pipe write
//!   and no round trip per file).
//! - **Shutdown** ([`Writer::shutdown`], also on drop): every pending value is written
//!   before the threads end.

use std::collections::{HashMap, VecDeque};
use std::ffi::{OsStr, OsString};
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use collectd::protocol::CdTime;

use super::create::{self, CreateConfig};
use super::types_db::DataSet;
use crate::naming::display_path;
use crate::rrdtool::{Pool, RrdtoolError};

/// How the writer batches.
#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// Longest a value waits before it is written (default 1 s).
    pub flush_interval: Duration,
    /// Pending values that make a file flush at once; also the most values of one
    /// `rrdtool update` (default 512).
    pub batch_size: usize,
    /// Most values pending over all files; beyond, new values are dropped (default 1,000,000).
    pub max_pending: usize,
    /// Flush threads, each using one rrdtool process at a time (default 2).
    pub threads: usize,
    /// File layout.
    pub create: CreateConfig,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            flush_interval: Duration::from_secs(1),
            batch_size: 512,
            max_pending: 1_000_000,
            threads: 2,
            create: CreateConfig::default(),
        }
    }
}

/// Why the writer could not start.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// A flush thread could not be started.
    #[error("cannot start a flush thread: {0}")]
    Thread(#[source] std::io::Error),
    /// The configuration makes no sense.
    #[error("bad writer configuration: {0}")]
    Config(String),
}

/// Counters of what happened to submitted values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Values accepted into a batch.
    pub accepted: u64,
    /// Dropped: not newer than the last value of the same file (collectd's rule).
    pub too_old: u64,
    /// Dropped: not in a later second than the file's last update (rrdtool's rule).
    pub not_newer_on_disk: u64,
    /// Dropped: too many values pending.
    pub backlog_dropped: u64,
    /// Written to RRD files.
    pub written: u64,
    /// Lost to errors (file creation or update failed; see the log).
    pub failed: u64,
    /// Files created.
    pub files_created: u64,
    /// `rrdtool update` commands run.
    pub updates: u64,
    /// Values pending now.
    pub pending: u64,
}

/// What [`Writer::submit`] did with a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// It is in a batch.
    Queued,
    /// Dropped: not newer than the last value of the file.
    TooOld,
    /// Dropped: the backlog is full.
    Backlog,
}

/// The pending values of one file.
#[derive(Default)]
struct Batch {
    times: Vec<CdTime>,
    /// The interval of each value (the file is created with the first usable one).
    intervals: Vec<CdTime>,
    /// `sources` raw values per time.
    values: Vec<u64>,
}

/// Batches up to this many values keep their buffers for the next batch of the file.
const RECYCLE_UP_TO: usize = 256;

impl Batch {
    fn len(&self) -> usize {
        self.times.len()
    }

    /// Empties the batch for reuse, or `None` when its buffers are too large to keep.
    fn recycle(mut self) -> Option<Batch> {
        if self.times.capacity() > RECYCLE_UP_TO {
            return None;
        }
        self.times.clear();
        self.intervals.clear();
        self.values.clear();
        Some(self)
    }
}

struct FileEntry {
    set: Arc<DataSet>,
    /// collectd's cache: time of the last value accepted.
    last_time: CdTime,
    pending: Batch,
    queued: bool,
    in_flight: bool,
    /// The file's last update, once known.
    disk_last: Option<i64>,
}

struct State {
    files: HashMap<Arc<Path>, FileEntry>,
    ready: VecDeque<Arc<Path>>,
    pending_total: usize,
    in_flight: usize,
    next_tick: Instant,
    shutdown: bool,
    stats: WriterStats,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    pool: Pool,
    config: WriterConfig,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Writes values to RRD files in batches; see the module documentation.
pub struct Writer {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("config", &self.shared.config).finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the flush threads.
    pub fn start(pool: Pool, config: WriterConfig) -> Result<Writer, WriterError> {
        if config.batch_size == 0 || config.threads == 0 || config.flush_interval.is_zero() {
            return Err(WriterError::Config(format!(
                "batch size {}, threads {} and flush interval {:?} must be above zero",
                config.batch_size, config.threads, config.flush_interval
            )));
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                files: HashMap::new(),
                ready: VecDeque::new(),
                pending_total: 0,
                in_flight: 0,
                next_tick: Instant::now() + config.flush_interval,
                shutdown: false,
                stats: WriterStats::default(),
            }),
            wake: Condvar::new(),
            pool,
            config,
        });
        let mut writer = Writer { shared: shared.clone(), threads: Vec::new() };
        for i in 0..shared.config.threads {
            let s = shared.clone();
            let handle = std::thread::Builder::new()
                .name(format!("rrd-flush-{i}"))
                .spawn(move || flush_loop(&s))
                .map_err(WriterError::Thread)?;
            writer.threads.push(handle);
        }
        Ok(writer)
    }

    /// Queues one value list for `path`: `values` are the raw values (see
    /// [`create::raw_bits`]), one per data source of `set`.
    pub fn submit(
        &self,
        path: PathBuf,
        set: &Arc<DataSet>,
        time: CdTime,
        interval: CdTime,
        values: &[u64],
    ) -> Submitted {
        let shared = &self.shared;
        let mut guard = shared.lock();
        let state = &mut *guard;
        if state.pending_total >= shared.config.max_pending {
            state.stats.backlog_dropped += 1;
            return Submitted::Backlog;
        }
        let key: Arc<Path> = match state.files.get_key_value(path.as_path()) {
            Some((key, _)) => key.clone(),
            None => {
                let key: Arc<Path> = Arc::from(path.as_path());
                let entry = FileEntry {
                    set: set.clone(),
                    last_time: CdTime::ZERO,
                    pending: Batch::default(),
                    queued: false,
                    in_flight: false,
                    disk_last: None,
                };
                state.files.insert(key.clone(), entry);
                key
            }
        };
        let entry = state.files.get_mut(&key).expect("inserted above");
        if time <= entry.last_time {
            state.stats.too_old += 1;
            return Submitted::TooOld;
        }
        entry.last_time = time;
        entry.pending.times.push(time);
        entry.pending.intervals.push(interval);
        entry.pending.values.extend_from_slice(values);
        state.pending_total += 1;
        state.stats.accepted += 1;
        let due = entry.pending.len() >= shared.config.batch_size || state.shutdown;
        if due && !entry.queued && !entry.in_flight {
            entry.queued = true;
            state.ready.push_back(key);
            shared.wake.notify_one();
        }
        Submitted::Queued
    }

    /// The counters so far.
    pub fn stats(&self) -> WriterStats {
        let state = self.shared.lock();
        WriterStats { pending: state.pending_total as u64, ..state.stats }
    }

    /// Writes every pending value, stops the threads and returns the final counters.
    pub fn shutdown(mut self) -> WriterStats {
        self.close();
        self.stats()
    }

    fn close(&mut self) {
        {
            let mut state = self.shared.lock();
            state.shutdown = true;
            enqueue_waiting(&mut state);
            self.shared.wake.notify_all();
        }
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.close();
        }
    }
}

/// Queues every file with pending values that is neither queued nor being flushed.
fn enqueue_waiting(state: &mut State) {
    let State { files, ready, .. } = state;
    for (path, entry) in files.iter_mut() {
        if !entry.pending.times.is_empty() && !entry.queued && !entry.in_flight {
            entry.queued = true;
            ready.push_back(path.clone());
        }
    }
}

fn flush_loop(shared: &Shared) {
    let mut state = shared.lock();
    loop {
        let now = Instant::now();
        if now >= state.next_tick {
            enqueue_waiting(&mut state);
            state.next_tick = now + shared.config.flush_interval;
        }
        if !state.ready.is_empty() {
            // Up to a pipelined group of files at a time (see `flush_group`).
            let mut group = Vec::new();
            while group.len() < Pool::MAX_PIPELINED
                && let Some(path) = state.ready.pop_front()
            {
                let Some(entry) = state.files.get_mut(&path) else { continue };
                entry.queued = false;
                if entry.in_flight || entry.pending.times.is_empty() {
                    continue;
                }
                entry.in_flight = true;
                let batch = std::mem::take(&mut entry.pending);
                let set = entry.set.clone();
                let disk_last = entry.disk_last;
                state.pending_total -= batch.len();
                state.in_flight += 1;
                group.push(Flush { path, set, batch, disk_last });
            }
            if group.is_empty() {
                continue;
            }
            drop(state);

            let outcomes = flush_group(shared, &group);

            state = shared.lock();
            for (flush, outcome) in group.into_iter().zip(outcomes) {
                let Flush { path, batch, .. } = flush;
                state.in_flight -= 1;
                let stats = &mut state.stats;
                stats.written += outcome.written;
                stats.failed += outcome.failed;
                stats.not_newer_on_disk += outcome.not_newer;
                stats.files_created += u64::from(outcome.created);
                stats.updates += outcome.updates;
                let shutdown = state.shutdown;
                let batch_size = shared.config.batch_size;
                let entry = state.files.get_mut(&path).expect("files are never removed");
                entry.in_flight = false;
                entry.disk_last = outcome.disk_last;
                // Reuse the buffers: a steady stream then allocates nothing per batch.
                if entry.pending.times.is_empty()
                    && let Some(empty) = batch.recycle()
                {
                    entry.pending = empty;
                }
                let requeue = !entry.pending.times.is_empty() && (shutdown || entry.pending.len() >= batch_size);
                if requeue {
                    entry.queued = true;
                    state.ready.push_back(path);
                }
            }
            shared.wake.notify_all();
            continue;
        }
        if state.shutdown {
            if state.in_flight == 0 {
                shared.wake.notify_all();
                return;
            }
            state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            continue;
        }
        let wait = state.next_tick.saturating_duration_since(Instant::now());
        state = shared.wake.wait_timeout(state, wait).unwrap_or_else(|e| e.into_inner()).0;
    }
}

/// One file's batch taken for flushing.
struct Flush {
    path: Arc<Path>,
    set: Arc<DataSet>,
    batch: Batch,
    disk_last: Option<i64>,
}

/// A file's single `rrdtool update`, ready to be pipelined with other files'.
struct Prepared {
    line: Vec<u8>,
    /// Values in the command.
    count: u64,
    /// Values dropped: not after the file's last update.
    not_newer: u64,
    /// The second of the last value in the command.
    last: i64,
}

/// Flushes a group of files. The common case, a file whose last update is known with at
/// most `batch_size` usable values, makes one `rrdtool update` line; those lines run
/// together on one worker ([`Pool::run_lines`]), which spares a pipe round trip, two
/// thread switches and a watchdog arming per file. Any other file (to be created, its
/// last update to be read, a long backlog, a name pipe mode cannot carry) takes
/// [`flush_file`]'s path, command by command.
fn flush_group(shared: &Shared, group: &[Flush]) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(group.len());
    let mut lines = Vec::new();
    let mut prepared = Vec::new();
    for flush in group {
        match prepare_update(shared, flush) {
            Some(mut p) => {
                lines.push(std::mem::take(&mut p.line));
                prepared.push((outcomes.len(), p));
                outcomes.push(None);
            }
            None => outcomes.push(Some(flush_file(shared, &flush.path, &flush.set, &flush.batch, flush.disk_last))),
        }
    }
    let results = shared.pool.run_lines("update", &lines);
    for ((index, p), result) in prepared.into_iter().zip(results) {
        let mut out = Outcome { not_newer: p.not_newer, updates: 1, ..Outcome::default() };
        match result {
            Ok(_) => {
                out.written = p.count;
                out.disk_last = Some(p.last);
            }
            Err(e) => {
                let shown = display_path(&group[index].path);
                crate::log_limit::warn(&format!("{shown}: rrdtool update of {} values failed: {e}", p.count));
                out.failed = p.count;
                // Read the file's last update again before the next batch.
                out.disk_last = None;
            }
        }
        outcomes[index] = Some(out);
    }
    outcomes.into_iter().map(|o| o.expect("every file has an outcome")).collect()
}

/// The one `rrdtool update` line of a file's batch, when the batch takes the pipelined
/// path (see [`flush_group`]); `None` otherwise.
fn prepare_update(shared: &Shared, flush: &Flush) -> Option<Prepared> {
    let Flush { path, set, batch, disk_last } = flush;
    let disk_last = (*disk_last)?;
    // As collectd checks the file for every value: one deleted meanwhile is created anew.
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return None;
    }
    let sources = set.sources.len();
    let mut last = disk_last;
    let mut not_newer = 0;
    let mut args: Vec<OsString> = Vec::with_capacity(2 + batch.len());
    args.push("update".into());
    args.push(path.as_os_str().into());
    for (i, &time) in batch.times.iter().enumerate() {
        let second = create::update_time(time) as i64;
        if second <= last {
            not_newer += 1;
            continue;
        }
        last = second;
        args.push(create::update_arg(time, set, &batch.values[i * sources..(i + 1) * sources]).into());
    }
    let count = (args.len() - 2) as u64;
    if count == 0 || count > shared.config.batch_size as u64 {
        return None;
    }
    let line = crate::rrdtool::pipe::encode_line_bytes(args.iter().map(|a| a.as_bytes())).ok()?;
    Some(Prepared { line, count, not_newer, last })
}

#[derive(Default)]
struct Outcome {
    written: u64,
    failed: u64,
    not_newer: u64,
    created: bool,
    updates: u64,
    disk_last: Option<i64>,
}

fn flush_file(shared: &Shared, path: &Path, set: &DataSet, batch: &Batch, disk_last: Option<i64>) -> Outcome {
    let total = batch.len() as u64;
    let mut out = Outcome { disk_last, ..Outcome::default() };
    // Values before this index were lost already.
    let mut skip = 0;
    let fail = |mut out: Outcome, message: String| {
        crate::log_limit::warn(&message);
        out.failed = total;
        out
    };
    // For messages: the path's bytes with control characters and non-UTF-8 bytes escaped.
    let shown = display_path(path);
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {
            if out.disk_last.is_none() {
                match last_update(&shared.pool, path) {
                    Ok(last) => out.disk_last = Some(last),
                    Err(e) => return fail(out, format!("{shown}: cannot read the last update: {e}")),
                }
            }
        }
        Ok(_) => return fail(out, format!("{shown}: not a regular file")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // collectd tries to create the file for every value until it succeeds; a
            // value whose interval gives no step makes no file and is lost.
            let mut created = None;
            for i in 0..batch.len() {
                match create::create_args(path, set, batch.times[i], batch.intervals[i], &shared.config.create) {
                    Ok(args) => {
                        created = Some((i, args));
                        break;
                    }
                    Err(e) if i == 0 => crate::log_limit::warn(&format!("{shown}: not created: {e}")),
                    Err(_) => {}
                }
            }
            let Some((first, args)) = created else {
                out.failed += total;
                return out;
            };
            out.failed += first as u64;
            skip = first;
            if let Some(dir) = path.parent()
                && let Err(e) = std::fs::create_dir_all(dir)
            {
                return fail(out, format!("{}: cannot create the directory: {e}", display_path(dir)));
            }
            if let Err(e) = shared.pool.run_os(&args) {
                return fail(out, format!("{shown}: rrdtool create failed: {e}"));
            }
            if let Err(e) = check_created(path, &args) {
                return fail(out, format!("{shown}: rrdtool create failed: {e}"));
            }
            out.created = true;
            // `-b` is the first value's second minus one.
            let start: i64 = args[5].to_str().and_then(|a| a.parse().ok()).unwrap_or(0);
            out.disk_last = Some(start);
        }
        Err(e) => return fail(out, format!("{shown}: {e}")),
    }
    let mut last = out.disk_last.unwrap_or(i64::MIN);
    let sources = set.sources.len();
    let mut args: Vec<OsString> = Vec::with_capacity(2 + batch.len().min(shared.config.batch_size));
    let run = |args: &mut Vec<OsString>, last: i64, out: &mut Outcome| {
        let count = (args.len() - 2) as u64;
        if count == 0 {
            return;
        }
        out.updates += 1;
        match shared.pool.run_os(args.as_slice()) {
            Ok(_) => {
                out.written += count;
                out.disk_last = Some(last);
            }
            Err(e) => {
                crate::log_limit::warn(&format!("{shown}: rrdtool update of {count} values failed: {e}"));
                out.failed += count;
                // Read the file's last update again before the next batch.
                out.disk_last = None;
            }
        }
        args.clear();
    };
    for (i, &time) in batch.times.iter().enumerate().skip(skip) {
        if args.is_empty() {
            args.push("update".into());
            args.push(path.into());
        }
        let second = create::update_time(time) as i64;
        if second <= last {
            out.not_newer += 1;
            continue;
        }
        last = second;
        args.push(create::update_arg(time, set, &batch.values[i * sources..(i + 1) * sources]).into());
        if args.len() - 2 >= shared.config.batch_size {
            run(&mut args, last, &mut out);
            if out.disk_last.is_none() {
                // The rest is lost too: without a known last update, rrdtool would refuse
                // a part of it anyway, and the next flush starts afresh.
                out.failed += (batch.len() - i - 1) as u64;
                return out;
            }
        }
    }
    if args.len() > 2 {
        run(&mut args, last, &mut out);
    }
    out
}

/// Why `rrdtool create` made no file although it answered OK.
#[derive(Debug, thiserror::Error)]
pub enum CreateCheckError {
    /// The file system refused the file's bytes: the real cause (no space left, quota,
    /// read-only file system, permissions), found by writing as much as the file needs.
    #[error("rrdtool answered OK but no file was made: {source} (writing the {size} bytes the file needs in {dir})")]
    Refused {
        /// The directory.
        dir: String,
        /// About how many bytes the file needs.
        size: u64,
        /// What the file system answered.
        #[source]
        source: std::io::Error,
    },
    /// The file is missing though its bytes can be written: the cause is unknown.
    #[error("rrdtool answered OK but no file was made ({detail}; {size} bytes could be written in {dir})")]
    Missing {
        /// The directory.
        dir: String,
        /// About how many bytes the file needs.
        size: u64,
        /// What `stat` says about the path.
        detail: String,
    },
}

/// rrdtool 1.7 answers `create` with OK when it could not write the file (a full disk):
/// checks that the file is there, and if not, finds the real cause by writing a
/// temporary file of the size the RRD needs in the same directory.
pub fn check_created(path: &Path, create_args: &[OsString]) -> Result<(), CreateCheckError> {
    let missing = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => return Ok(()),
        Ok(_) => "not a regular file".to_owned(),
        Err(e) => e.to_string(),
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let size = estimated_size(create_args);
    let probe = || -> std::io::Result<()> {
        let mut file = tempfile::Builder::new().prefix(".collectd-view-probe").tempfile_in(dir)?;
        let block = vec![0u8; 64 << 10];
        let mut left = size;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            file.as_file_mut().write_all(&block[..n])?;
            left -= n as u64;
        }
        file.as_file().sync_all()
    };
    match probe() {
        Err(e) => {
            // The OS's own words, without the temporary file's name.
            let source = e.raw_os_error().map_or(e, std::io::Error::from_raw_os_error);
            Err(CreateCheckError::Refused { dir: display_path(dir), size, source })
        }
        Ok(()) => Err(CreateCheckError::Missing { dir: display_path(dir), size, detail: missing }),
    }
}

/// About the size of the RRD file `create_args` makes: a header, and 8 bytes per data
/// source per row of each archive (`RRA:CF:xff:steps:rows`).
fn estimated_size(create_args: &[OsString]) -> u64 {
    let args: Vec<&str> = create_args.iter().filter_map(|a| a.to_str()).collect();
    let sources = args.iter().filter(|a| a.starts_with("DS:")).count() as u64;
    let rras: Vec<u64> =
        args.iter().filter(|a| a.starts_with("RRA:")).filter_map(|a| a.rsplit(':').next()?.parse().ok()).collect();
    let header = 1024 + sources * 240 + rras.len() as u64 * (120 + sources * 96);
    header + rras.iter().sum::<u64>() * sources * 8
}

/// `rrdtool last FILE`.
fn last_update(pool: &Pool, path: &Path) -> Result<i64, RrdtoolError> {
    let reply = pool.run_os(&[OsStr::new("last"), path.as_os_str()])?;
    let unexpected = |detail: String| RrdtoolError::Reply { command: "last".into(), detail };
    let line = reply.lines.first().ok_or_else(|| unexpected("empty reply".into()))?;
    line.trim().parse().map_err(|_| unexpected(format!("{line:?} is not a time")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rrdtool::PoolConfig;
    use crate::write::types_db::TypesDb;

    fn pool() -> Option<Pool> {
        testkit::require_rrdtool()?;
        Some(Pool::new(PoolConfig::default()).unwrap())
    }

    fn info(pool: &Pool, path: &Path) -> HashMap<String, String> {
        pool.info(path).unwrap().into_iter().collect()
    }

    #[test]
    fn batches_drop_old_values_and_flush_at_shutdown() {
        let Some(pool) = pool() else { return };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h/p/gauge.rrd");
        let db = TypesDb::builtin();
        let gauge = db.get("gauge").unwrap();
        let config = WriterConfig { flush_interval: Duration::from_secs(60), ..WriterConfig::default() };
        let writer = Writer::start(pool.clone(), config).unwrap();
        let t = |s: f64| CdTime::from_secs_f64(1_700_000_000.0 + s);
        let i = CdTime::from_secs(10);
        let v = |x: f64| [x.to_bits()];
        assert_eq!(writer.submit(path.clone(), gauge, t(0.0), i, &v(1.0)), Submitted::Queued);
        assert_eq!(writer.submit(path.clone(), gauge, t(0.0), i, &v(2.0)), Submitted::TooOld);
        assert_eq!(writer.submit(path.clone(), gauge, t(-5.0), i, &v(2.0)), Submitted::TooOld);
        // Newer at full resolution but in the same second: rrdtool would refuse it.
        assert_eq!(writer.submit(path.clone(), gauge, t(0.2), i, &v(3.0)), Submitted::Queued);
        assert_eq!(writer.submit(path.clone(), gauge, t(10.0), i, &v(4.0)), Submitted::Queued);
        assert_eq!(writer.submit(path.clone(), gauge, t(20.0), i, &v(f64::NAN)), Submitted::Queued);
        assert!(!path.exists(), "nothing is written before the flush interval");
        let stats = writer.shutdown();
        assert_eq!(
            (stats.accepted, stats.too_old, stats.not_newer_on_disk, stats.written, stats.failed, stats.files_created),
            (4, 2, 1, 3, 0, 1)
        );
        assert_eq!(stats.pending, 0);
        let info = info(&pool, &path);
        assert_eq!(info["step"], "10");
        assert_eq!(info["last_update"], "1700000020");
        assert_eq!(info["ds[value].last_ds"], "nan");
        assert_eq!(info["ds[value].minimal_heartbeat"], "20");
    }

    #[test]
    fn existing_files_are_not_rewritten_into_the_past() {
        let Some(pool) = pool() else { return };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h/p/derive.rrd");
        let db = TypesDb::builtin();
        let derive = db.get("derive").unwrap();
        let t = |s: u64| CdTime::from_secs(1_700_000_000 + s);
        let config = WriterConfig { batch_size: 2, ..WriterConfig::default() };
        let writer = Writer::start(pool.clone(), config.clone()).unwrap();
        for k in 0..5 {
            writer.submit(path.clone(), derive, t(10 * k), CdTime::from_secs(10), &[k * 100]);
        }
        let first = writer.shutdown();
        assert_eq!((first.written, first.failed), (5, 0));
        // A new writer knows nothing of the file: it reads its last update.
        let writer = Writer::start(pool.clone(), config).unwrap();
        writer.submit(path.clone(), derive, t(40), CdTime::from_secs(10), &[1]);
        writer.submit(path.clone(), derive, t(50), CdTime::from_secs(10), &[600]);
        let second = writer.shutdown();
        assert_eq!((second.accepted, second.not_newer_on_disk, second.written, second.files_created), (2, 1, 1, 0));
        assert_eq!(info(&pool, &path)["ds[value].last_ds"], "600");
    }

    #[test]
    fn backlog_is_bounded() {
        let Some(pool) = pool() else { return };
        let dir = tempfile::tempdir().unwrap();
        let db = TypesDb::builtin();
        let gauge = db.get("gauge").unwrap();
        let config =
            WriterConfig { max_pending: 3, flush_interval: Duration::from_secs(60), ..WriterConfig::default() };
        let writer = Writer::start(pool, config).unwrap();
        let outcomes: Vec<Submitted> = (0..5)
            .map(|k| {
                writer.submit(
                    dir.path().join("h/p/gauge.rrd"),
                    gauge,
                    CdTime::from_secs(1_700_000_000 + k),
                    CdTime::from_secs(1),
                    &[0],
                )
            })
            .collect();
        assert_eq!(outcomes[2], Submitted::Queued);
        assert_eq!(outcomes[3], Submitted::Backlog);
        let stats = writer.shutdown();
        assert_eq!((stats.backlog_dropped, stats.written), (2, 3));
    }

    #[test]
    fn rejects_a_zero_configuration() {
        let Some(pool) = pool() else { return };
        let config = WriterConfig { threads: 0, ..WriterConfig::default() };
        assert!(matches!(Writer::start(pool, config), Err(WriterError::Config(_))));
    }
}
