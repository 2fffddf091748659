//! The index of a collectd DataDir: hosts → plugin directories → RRD files, with the
//! original module's names (`any/gauge-CATEGORY[-SPECIFIC]-STAT`) read as
//! category / specific / stat.
//!
//! # Design
//!
//! - An [`Index`] holds an immutable [`Snapshot`] behind an `Arc`; readers take the current
//!   snapshot without any I/O ([`Index::snapshot`]), so a request never walks the disk.
//! - [`Index::refresh`] rescans *incrementally*: it stats the DataDir, each host directory
//!   and each plugin directory, and lists again only the directories whose mtime changed
//!   (adding or removing a file changes its directory's mtime; updating an RRD does not).
//!   Unchanged subtrees are shared with the previous snapshot. [`Index::refresh_if_stale`]
//!   does this at most once per minimum interval, and [`Index::spawn_refresher`] runs it in
//!   a background thread.
//! - Data sources are read lazily from each file's header ([`header`]), not at scan time,
//!   and cached by path and file size (an RRD's size changes only when its structure does).
//!   Reading a header is one `open` and one 4 KiB `read`; no process is spawned. The
//!   layout is architecture-dependent, so an unknown layout is an error the caller can
//!   answer with `rrdtool info` (see [`crate::rrdtool::Pool::info`]).
//! - Names are shown, never hidden: a directory or file name that is not UTF-8, or that
//!   holds control characters, is listed with [`naming::display_name`] (`nu\xff`, `\x1b[31m`);
//!   the file keeps its real path ([`RrdFile::path`]).
//! - Names are never dropped: a file of plugin `any`, type `gauge` whose type instance is
//!   not `CATEGORY-STAT` or `CATEGORY-SPECIFIC-STAT` is listed as it is
//!   ([`ModuleTree::unparsed`]), and so is every file of every other plugin.

pub mod header;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crate::naming;
pub use crate::naming::{Identifier, Meaning, join_instance};
pub use header::{Archive, DataSource, HeaderError, RrdHeader};

/// How close to the scan time a directory's mtime may be and still be trusted: a
/// directory modified within this window of the previous listing is listed again, so that
/// a file created in the same clock tick as the listing is not missed.
const SETTLE: Duration = Duration::from_secs(2);

/// Why the index could not be built or a header not be read.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The DataDir itself cannot be read.
    #[error("cannot read data directory {path}: {source}")]
    DataDir {
        /// The DataDir.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The DataDir exists but is not a directory.
    #[error("data directory {0} is not a directory")]
    NotADirectory(PathBuf),
    /// A file's header could not be read.
    #[error("{path}: {source}")]
    Header {
        /// The RRD file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: HeaderError,
    },
}

/// One RRD file found in the DataDir.
#[derive(Debug, Clone, PartialEq)]
pub struct RrdFile {
    /// Its collectd identifier, as read from the directory and file names.
    pub id: Identifier,
    /// Its path (the DataDir joined with names read from the directory listing).
    pub path: PathBuf,
    /// The original module's meaning, for `any/gauge-…` files whose names parse.
    pub meaning: Option<Meaning>,
}

/// The original module's statistics under one `any[-INSTANCE]` directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModuleTree {
    /// Categories by name.
    pub categories: BTreeMap<String, Category>,
    /// Files of this directory whose names are not the module's (listed as they are).
    pub unparsed: Vec<Arc<RrdFile>>,
}

/// One category (a counter of the original module).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Category {
    /// Stats by name.
    pub stats: BTreeMap<String, Stat>,
}

/// One stat of a category: the base (sum) series and one series per specific.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stat {
    /// The base series (`CATEGORY-STAT`), the sum over all records.
    pub base: Option<Arc<RrdFile>>,
    /// The specifics' series (`CATEGORY-SPECIFIC-STAT`) by specific.
    pub specifics: BTreeMap<String, Arc<RrdFile>>,
}

/// One plugin directory of a host: `plugin[-instance]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginDir {
    /// The directory name as on disk.
    pub dir_name: String,
    /// The plugin (up to the first `-`).
    pub plugin: String,
    /// The plugin instance (after the first `-`).
    pub instance: Option<String>,
    /// The directory.
    pub path: PathBuf,
    /// RRD files by file name without `.rrd` (`type[-instance]`).
    pub files: BTreeMap<String, Arc<RrdFile>>,
    /// For plugin `any`: the original module's statistics.
    pub module: Option<ModuleTree>,
    mtime: Option<SystemTime>,
    listed_at: SystemTime,
}

/// One host directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// The host name (the directory name).
    pub name: String,
    /// The directory.
    pub path: PathBuf,
    /// Plugin directories by directory name.
    pub plugins: BTreeMap<String, Arc<PluginDir>>,
    mtime: Option<SystemTime>,
    listed_at: SystemTime,
}

/// An immutable view of the DataDir at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The DataDir (absolute when it could be made so).
    pub data_dir: PathBuf,
    /// Hosts by name.
    pub hosts: BTreeMap<String, Arc<Host>>,
    /// When the scan that produced this snapshot started.
    pub scanned_at: SystemTime,
    /// How long that scan took.
    pub scan_duration: Duration,
    /// How many directories were listed again by that scan (the rest were reused).
    pub relisted_dirs: usize,
    mtime: Option<SystemTime>,
}

impl Snapshot {
    /// Every RRD file, in host / plugin directory / file name order.
    pub fn files(&self) -> impl Iterator<Item = &Arc<RrdFile>> {
        self.hosts.values().flat_map(|h| h.plugins.values()).flat_map(|p| p.files.values())
    }

    /// Number of RRD files.
    pub fn file_count(&self) -> usize {
        self.hosts.values().flat_map(|h| h.plugins.values()).map(|p| p.files.len()).sum()
    }

    /// A host by name.
    pub fn host(&self, name: &str) -> Option<&Arc<Host>> {
        self.hosts.get(name)
    }

    /// The original module's tree of `host` under `any` (`instance` `None`) or
    /// `any-INSTANCE`.
    pub fn module(&self, host: &str, instance: Option<&str>) -> Option<&ModuleTree> {
        self.hosts
            .get(host)?
            .plugins
            .values()
            .find(|p| p.plugin == naming::MODULE_PLUGIN && p.instance.as_deref() == instance)?
            .module
            .as_ref()
    }

    /// The file with exactly this identifier, if it exists.
    pub fn find(&self, id: &Identifier) -> Option<&Arc<RrdFile>> {
        let host = self.hosts.get(&id.host)?;
        let dir = join_instance(&id.plugin, id.plugin_instance.as_deref());
        let file = join_instance(&id.type_, id.type_instance.as_deref());
        host.plugins.get(&dir)?.files.get(&file)
    }
}

fn mtime_of(path: &Path) -> Option<(fs::Metadata, Option<SystemTime>)> {
    let meta = fs::metadata(path).ok()?;
    let mtime = meta.modified().ok();
    Some((meta, mtime))
}

/// Whether a directory listed at `listed_at` with mtime `old` can be reused when its
/// mtime is now `new`.
fn unchanged(old: Option<SystemTime>, new: Option<SystemTime>, listed_at: SystemTime) -> bool {
    match (old, new) {
        (Some(old), Some(new)) => old == new && old + SETTLE <= listed_at,
        _ => false,
    }
}

/// Directory entries as (name, path, file type), skipping hidden names (collectd never
/// creates a directory that begins with a dot). Names are shown with
/// [`naming::display_name`]: a name that is not UTF-8 or holds control characters is
/// listed escaped (`nu\xff`), never dropped, and two names on disk are always two names
/// here; the path is the real one.
fn list(dir: &Path) -> std::io::Result<Vec<(String, PathBuf, fs::FileType)>> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let raw = entry.file_name();
        if raw.as_bytes().starts_with(b".") {
            continue;
        }
        let Ok(ft) = entry.file_type() else { continue };
        out.push((naming::display_os(&raw).into_owned(), entry.path(), ft));
    }
    Ok(out)
}

fn is_dir(path: &Path, ft: &fs::FileType) -> bool {
    ft.is_dir() || (ft.is_symlink() && path.is_dir())
}

fn scan_plugin_dir(host: &str, dir_name: &str, path: &Path, mtime: Option<SystemTime>, now: SystemTime) -> PluginDir {
    let (plugin, instance) = naming::split_instance(dir_name);
    let mut files = BTreeMap::new();
    for (name, file_path, ft) in list(path).unwrap_or_default() {
        let Some(stem) = name.strip_suffix(".rrd") else {
            continue;
        };
        if stem.is_empty() || ft.is_dir() {
            continue;
        }
        let id = Identifier::from_names(host, dir_name, stem);
        let meaning = naming::module_meaning(&id.plugin, &id.type_, id.type_instance.as_deref());
        let file = RrdFile { id, path: file_path, meaning };
        files.insert(stem.to_owned(), Arc::new(file));
    }
    let module = (plugin == naming::MODULE_PLUGIN).then(|| build_module(&files));
    PluginDir {
        dir_name: dir_name.to_owned(),
        plugin: plugin.to_owned(),
        instance: instance.map(str::to_owned),
        path: path.to_owned(),
        files,
        module,
        mtime,
        listed_at: now,
    }
}

fn build_module(files: &BTreeMap<String, Arc<RrdFile>>) -> ModuleTree {
    let mut tree = ModuleTree::default();
    for file in files.values() {
        match &file.meaning {
            Some(Meaning::Base { category, stat }) => {
                let s = tree.categories.entry(category.clone()).or_default().stats.entry(stat.clone()).or_default();
                s.base = Some(file.clone());
            }
            Some(Meaning::Specific { category, specific, stat }) => {
                tree.categories
                    .entry(category.clone())
                    .or_default()
                    .stats
                    .entry(stat.clone())
                    .or_default()
                    .specifics
                    .insert(specific.clone(), file.clone());
            }
            None => tree.unparsed.push(file.clone()),
        }
    }
    tree
}

/// Offers worker processes' series (`any-INST-workerN/`, see
/// [`naming::worker_instance`]) as specifics of their total's (`any-INST/`, written by
/// collectd's `aggregation` plugin): each base stat of a worker becomes specific
/// `workerN` of the same stat in the total's tree. The total's tree is rebuilt from its
/// own files first, so a worker that is gone leaves no trace.
fn add_workers(plugins: &mut BTreeMap<String, Arc<PluginDir>>) {
    let mut workers: BTreeMap<String, Vec<(String, Arc<PluginDir>)>> = BTreeMap::new();
    for dir in plugins.values() {
        if dir.plugin != naming::MODULE_PLUGIN {
            continue;
        }
        let Some((total, worker)) = dir.instance.as_deref().and_then(naming::worker_instance) else { continue };
        let total_dir = join_instance(naming::MODULE_PLUGIN, total);
        workers.entry(total_dir).or_default().push((worker.to_owned(), dir.clone()));
    }
    for (total_dir, workers) in workers {
        let Some(total) = plugins.get_mut(&total_dir) else { continue };
        let mut tree = build_module(&total.files);
        for (worker, dir) in workers {
            for file in dir.files.values() {
                if let Some(Meaning::Base { category, stat }) = &file.meaning
                    && let Some(stat) = tree.categories.get_mut(category).and_then(|c| c.stats.get_mut(stat))
                {
                    stat.specifics.insert(worker.clone(), file.clone());
                }
            }
        }
        if total.module.as_ref() != Some(&tree) {
            Arc::make_mut(total).module = Some(tree);
        }
    }
}

/// Scans `data_dir`, reusing every directory of `prev` whose mtime did not change.
fn scan(data_dir: &Path, prev: Option<&Snapshot>) -> Result<Snapshot, IndexError> {
    let started = Instant::now();
    let now = SystemTime::now();
    let (meta, root_mtime) = mtime_of(data_dir).ok_or_else(|| IndexError::DataDir {
        path: data_dir.to_owned(),
        source: fs::metadata(data_dir).err().unwrap_or_else(|| std::io::Error::other("unreadable")),
    })?;
    if !meta.is_dir() {
        return Err(IndexError::NotADirectory(data_dir.to_owned()));
    }
    let mut relisted = 0;

    // Host names: reuse the previous list when the DataDir did not change.
    let host_names: Vec<(String, PathBuf)> = match prev {
        Some(p) if unchanged(p.mtime, root_mtime, p.scanned_at) => {
            p.hosts.values().map(|h| (h.name.clone(), h.path.clone())).collect()
        }
        _ => {
            relisted += 1;
            list(data_dir)
                .map_err(|source| IndexError::DataDir { path: data_dir.to_owned(), source })?
                .into_iter()
                .filter(|(_, path, ft)| is_dir(path, ft))
                .map(|(name, path, _)| (name, path))
                .collect()
        }
    };

    let mut hosts = BTreeMap::new();
    for (host_name, host_path) in host_names {
        let Some((_, host_mtime)) = mtime_of(&host_path) else {
            continue; // removed since the listing
        };
        let old_host = prev.and_then(|p| p.hosts.get(&host_name));
        let plugin_names: Vec<(String, PathBuf)> = match old_host {
            Some(h) if unchanged(h.mtime, host_mtime, h.listed_at) => {
                h.plugins.values().map(|p| (p.dir_name.clone(), p.path.clone())).collect()
            }
            _ => {
                relisted += 1;
                list(&host_path)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(_, path, ft)| is_dir(path, ft))
                    .map(|(name, path, _)| (name, path))
                    .collect()
            }
        };
        let mut plugins = BTreeMap::new();
        let mut all_reused = old_host.is_some_and(|h| h.plugins.len() == plugin_names.len());
        for (dir_name, dir_path) in plugin_names {
            let Some((_, dir_mtime)) = mtime_of(&dir_path) else {
                all_reused = false;
                continue;
            };
            let old_dir = old_host.and_then(|h| h.plugins.get(&dir_name));
            let dir = match old_dir {
                Some(d) if unchanged(d.mtime, dir_mtime, d.listed_at) => d.clone(),
                _ => {
                    relisted += 1;
                    all_reused = false;
                    Arc::new(scan_plugin_dir(&host_name, &dir_name, &dir_path, dir_mtime, now))
                }
            };
            plugins.insert(dir_name, dir);
        }
        let host = match old_host {
            Some(h) if all_reused && unchanged(h.mtime, host_mtime, h.listed_at) => h.clone(),
            _ => {
                add_workers(&mut plugins);
                Arc::new(Host { name: host_name.clone(), path: host_path, plugins, mtime: host_mtime, listed_at: now })
            }
        };
        hosts.insert(host_name, host);
    }
    Ok(Snapshot {
        data_dir: data_dir.to_owned(),
        hosts,
        scanned_at: now,
        scan_duration: started.elapsed(),
        relisted_dirs: relisted,
        mtime: root_mtime,
    })
}

/// Options of an [`Index`].
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// [`Index::refresh_if_stale`] rescans at most this often.
    pub min_refresh_interval: Duration,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions { min_refresh_interval: Duration::from_secs(5) }
    }
}

type HeaderCache = HashMap<PathBuf, (u64, Arc<RrdHeader>)>;

/// A thread-safe, cheaply refreshable index of a collectd DataDir. Share it with an
/// `Arc`.
#[derive(Debug)]
pub struct Index {
    data_dir: PathBuf,
    options: IndexOptions,
    current: RwLock<Arc<Snapshot>>,
    /// Serialises rescans and remembers when the last one started.
    refreshing: Mutex<Instant>,
    headers: Mutex<HeaderCache>,
}

impl Index {
    /// Scans `data_dir` (made absolute) and returns the index.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Index, IndexError> {
        Self::with_options(data_dir, IndexOptions::default())
    }

    /// Like [`Index::open`], with options.
    pub fn with_options(data_dir: impl AsRef<Path>, options: IndexOptions) -> Result<Index, IndexError> {
        let given = data_dir.as_ref();
        let data_dir = std::path::absolute(given).unwrap_or_else(|_| given.to_owned());
        let snapshot = scan(&data_dir, None)?;
        Ok(Index {
            data_dir,
            options,
            current: RwLock::new(Arc::new(snapshot)),
            refreshing: Mutex::new(Instant::now()),
            headers: Mutex::new(HashMap::new()),
        })
    }

    /// The DataDir.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The current snapshot. No I/O.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Rescans now (incrementally) and returns the new snapshot.
    pub fn refresh(&self) -> Result<Arc<Snapshot>, IndexError> {
        let mut last = self.refreshing.lock().unwrap_or_else(|e| e.into_inner());
        *last = Instant::now();
        self.rescan()
    }

    /// Rescans if the last rescan started at least the minimum interval ago; otherwise
    /// returns the current snapshot. Concurrent callers do not rescan twice.
    pub fn refresh_if_stale(&self) -> Result<Arc<Snapshot>, IndexError> {
        let Ok(mut last) = self.refreshing.try_lock() else {
            return Ok(self.snapshot()); // another thread is rescanning
        };
        if last.elapsed() < self.options.min_refresh_interval {
            return Ok(self.snapshot());
        }
        *last = Instant::now();
        self.rescan()
    }

    fn rescan(&self) -> Result<Arc<Snapshot>, IndexError> {
        let prev = self.snapshot();
        let next = Arc::new(scan(&self.data_dir, Some(&prev))?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = next.clone();
        Ok(next)
    }

    /// The header (step, data sources, archives) of `file`, read on first use and cached
    /// by path and size.
    pub fn header(&self, file: &RrdFile) -> Result<Arc<RrdHeader>, IndexError> {
        let err = |source| IndexError::Header { path: file.path.clone(), source };
        let len = fs::metadata(&file.path)
            .map_err(|source| err(HeaderError::Io { path: file.path.display().to_string(), source }))?
            .len();
        if let Some((cached_len, h)) = self.headers.lock().unwrap_or_else(|e| e.into_inner()).get(&file.path)
            && *cached_len == len
        {
            return Ok(h.clone());
        }
        let h = Arc::new(header::read(&file.path).map_err(err)?);
        self.headers.lock().unwrap_or_else(|e| e.into_inner()).insert(file.path.clone(), (len, h.clone()));
        Ok(h)
    }

    /// Starts a background thread that calls [`Index::refresh`] every `every`. The thread
    /// stops when the returned handle is dropped.
    pub fn spawn_refresher(self: &Arc<Self>, every: Duration) -> Refresher {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let index = Arc::downgrade(self);
        let stop2 = stop.clone();
        let failed = Arc::new(AtomicBool::new(false));
        let failed2 = failed.clone();
        let thread = thread::Builder::new()
            .name("collectd-view-index".into())
            .spawn(move || {
                let (lock, cv) = &*stop2;
                let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    let (guard, _) = cv.wait_timeout(stopped, every).unwrap_or_else(|e| e.into_inner());
                    stopped = guard;
                    if *stopped {
                        return;
                    }
                    let Some(index) = index.upgrade() else { return };
                    failed2.store(index.refresh().is_err(), Ordering::Relaxed);
                }
            })
            .ok();
        Refresher { stop, thread, failed }
    }
}

/// A background refresher started by [`Index::spawn_refresher`]; stops when dropped.
#[derive(Debug)]
pub struct Refresher {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<thread::JoinHandle<()>>,
    failed: Arc<AtomicBool>,
}

impl Refresher {
    /// Whether the last background rescan failed (e.g. the DataDir disappeared).
    pub fn last_failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}

impl Drop for Refresher {
    fn drop(&mut self) {
        let (lock, cv) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, b"").unwrap();
    }

    #[test]
    fn scans_tree_and_module_names() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "h1/any/gauge-coin_stats-flips.rrd",
            "h1/any/gauge-coin_stats-heads-flips.rrd",
            "h1/any/gauge-coin_stats-tails-flips.rrd",
            "h1/any/gauge-weird.rrd",
            "h1/any/gauge-a-b-c-d.rrd",
            "h1/any-X/gauge-c-s.rrd",
            "h1/cpu-0/cpu-idle.rrd",
            "h1/load/load.rrd",
            "h1/load/notes.txt",
            "h2/interface-eth0/if_octets.rrd",
        ] {
            touch(&d.join(f));
        }
        let index = Index::open(d).unwrap();
        let s = index.snapshot();
        assert_eq!(s.file_count(), 9);
        assert_eq!(s.hosts.keys().collect::<Vec<_>>(), ["h1", "h2"]);
        let m = s.module("h1", None).unwrap();
        let flips = &m.categories["coin_stats"].stats["flips"];
        assert!(flips.base.is_some());
        assert_eq!(flips.specifics.keys().collect::<Vec<_>>(), ["heads", "tails"]);
        let unparsed: Vec<_> = m.unparsed.iter().map(|f| f.id.to_string()).collect();
        assert_eq!(unparsed, ["h1/any/gauge-a-b-c-d", "h1/any/gauge-weird"]);
        assert!(s.module("h1", Some("X")).unwrap().categories.contains_key("c"));
        let cpu = &s.hosts["h1"].plugins["cpu-0"];
        assert_eq!(cpu.plugin, "cpu");
        assert_eq!(cpu.instance.as_deref(), Some("0"));
        let idle = &cpu.files["cpu-idle"];
        assert_eq!(idle.id.type_instance.as_deref(), Some("idle"));
        assert!(idle.meaning.is_none());
        assert!(s.find(&idle.id).is_some());
    }

    #[test]
    fn refresh_sees_new_files_and_reuses_old_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        touch(&d.join("h1/load/load.rrd"));
        let index = Index::open(d).unwrap();
        assert_eq!(index.snapshot().file_count(), 1);
        touch(&d.join("h1/any/gauge-c-s.rrd"));
        touch(&d.join("h2/any/gauge-c-s.rrd"));
        let s = index.refresh().unwrap();
        assert_eq!(s.file_count(), 3);
        fs::remove_file(d.join("h1/load/load.rrd")).unwrap();
        let s = index.refresh().unwrap();
        assert_eq!(s.file_count(), 2);
        // Within the minimum interval nothing is rescanned.
        touch(&d.join("h3/any/gauge-c-s.rrd"));
        assert_eq!(index.refresh_if_stale().unwrap().file_count(), 2);
    }

    #[test]
    fn names_that_are_not_utf8_or_hold_control_characters_are_listed_escaped() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for host in [&b"nu\xff"[..], b"nu\xfe", "nu\u{FFFD}".as_bytes(), br"nu\xff", b"\x1b[31mred", b".hidden"] {
            touch(&d.join(OsStr::from_bytes(host)).join("p").join(OsStr::from_bytes(b"gauge-a\nb.rrd")));
        }
        let s = Index::open(d).unwrap().snapshot();
        let hosts: Vec<&str> = s.hosts.keys().map(String::as_str).collect();
        assert_eq!(hosts, [r"\x1b[31mred", r"nu\\xff", r"nu\xfe", r"nu\xff", "nu\u{FFFD}"]);
        let file = &s.hosts[r"nu\xff"].plugins["p"].files[r"gauge-a\nb"];
        assert_eq!(file.id.to_string(), r"nu\xff/p/gauge-a\nb");
        assert_eq!(
            file.path.as_os_str().as_bytes(),
            d.join(OsStr::from_bytes(b"nu\xff/p/gauge-a\nb.rrd")).as_os_str().as_bytes()
        );
        assert!(file.path.exists());
    }

    #[test]
    fn worker_processes_are_specifics_of_their_total() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in [
            "h1/any-api/gauge-jobs-done.rrd",
            "h1/any-api/gauge-jobs-fast-done.rrd",
            "h1/any-api-worker0/gauge-jobs-done.rrd",
            "h1/any-api-worker0/gauge-jobs-fast-done.rrd",
            "h1/any-api-worker1/gauge-jobs-done.rrd",
            "h1/any-api-worker1/gauge-other-x.rrd", // no total for it: not attached
            "h1/any-worker0/gauge-c-s.rrd",         // no `any/` total: listed as it is
        ] {
            touch(&d.join(f));
        }
        let index = Index::open(d).unwrap();
        let s = index.snapshot();
        let total = s.module("h1", Some("api")).unwrap();
        let done = &total.categories["jobs"].stats["done"];
        assert_eq!(done.base.as_ref().unwrap().id.plugin_instance.as_deref(), Some("api"), "the total is the series");
        let specifics: Vec<(&str, &str)> = done
            .specifics
            .iter()
            .map(|(name, file)| (name.as_str(), file.id.plugin_instance.as_deref().unwrap()))
            .collect();
        assert_eq!(specifics, [("fast", "api"), ("worker0", "api-worker0"), ("worker1", "api-worker1")]);
        assert!(!total.categories.contains_key("other"));
        assert!(s.module("h1", Some("worker0")).is_some());
        // A worker that is gone leaves its total's tree at the next scan.
        fs::remove_dir_all(d.join("h1/any-api-worker1")).unwrap();
        let s = index.refresh().unwrap();
        let done = &s.module("h1", Some("api")).unwrap().categories["jobs"].stats["done"];
        assert_eq!(done.specifics.keys().collect::<Vec<_>>(), ["fast", "worker0"]);
    }

    #[test]
    fn missing_data_dir_is_an_error_naming_it() {
        let err = Index::open("/nonexistent/collectd-view-test").unwrap_err();
        assert!(err.to_string().contains("/nonexistent/collectd-view-test"));
    }
}
