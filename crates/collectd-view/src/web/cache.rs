//! Caches of the web server: rendered images by (argv, freshness), with one rendering per
//! key however many requests ask at once; and what is derived from each host for the
//! overview ([`PerHost`]: newest modification time, staleness, current values), so that a
//! request reads no file.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use super::Problem;
use collectd_rrd::graph::Format;
use collectd_rrd::index::{Host, RrdFile, Snapshot};
use collectd_rrd::rrdtool::Geometry;

/// A rendered image and what its HTTP response carries.
#[derive(Debug)]
pub struct Rendered {
    /// The image.
    pub data: Vec<u8>,
    /// Its format.
    pub format: Format,
    /// Where the plot is in it, and what range it shows.
    pub geometry: Geometry,
    /// The entity tag (quoted).
    pub etag: String,
    /// The newest modification time of the files drawn, when known.
    pub last_modified: Option<SystemTime>,
    /// Per series (a stack's total last): minimum, average, maximum and last over the
    /// range, `None` where it holds no value ([`collectd_rrd::graph::Graph::printed`]).
    pub values: Vec<[Option<f64>; 4]>,
    /// The graph's title.
    pub title: String,
    /// The values' unit (empty: none).
    pub unit: String,
    /// rrdtool's `--zoom` (1: none): the image is this many times its geometry.
    pub zoom: u32,
}

impl Rendered {
    /// Whether the range holds any value of any series.
    pub fn has_data(&self) -> bool {
        self.values.iter().any(|v| v.iter().any(Option::is_some))
    }

    /// The series that sums the graph up: a stack's total, else the first; its values.
    pub fn headline(&self) -> Option<[Option<f64>; 4]> {
        self.values.last().copied()
    }
}

type Slot = OnceLock<Result<Arc<Rendered>, Problem>>;

#[derive(Default)]
struct Entries {
    map: HashMap<String, Arc<Slot>>,
    order: VecDeque<String>,
    bytes: usize,
}

/// Rendered images by key, bounded in bytes and entries; oldest first out.
pub struct RenderCache {
    entries: Mutex<Entries>,
    max_bytes: usize,
    max_entries: usize,
}

impl std::fmt::Debug for RenderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderCache").field("max_bytes", &self.max_bytes).finish_non_exhaustive()
    }
}

/// A stable-within-the-process hash of a key, as an entity tag.
pub fn etag_of(key: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    format!("\"{:016x}\"", h.finish())
}

impl RenderCache {
    /// A cache of at most `max_bytes` of images and `max_entries` entries.
    pub fn new(max_bytes: usize, max_entries: usize) -> Self {
        RenderCache { entries: Mutex::default(), max_bytes, max_entries }
    }

    /// The image under `key`, rendered by `render` if absent. Concurrent callers with the
    /// same key wait for one rendering. Failures are returned to every waiter and not kept.
    pub fn get_or_render(
        &self,
        key: &str,
        render: impl FnOnce() -> Result<Rendered, Problem>,
    ) -> Result<Arc<Rendered>, Problem> {
        let slot = {
            let mut e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            match e.map.get(key) {
                Some(s) => s.clone(),
                None => {
                    let s = Arc::new(Slot::new());
                    e.map.insert(key.to_owned(), s.clone());
                    e.order.push_back(key.to_owned());
                    s
                }
            }
        };
        let mut rendered_here = false;
        let result = slot
            .get_or_init(|| {
                rendered_here = true;
                render().map(Arc::new)
            })
            .clone();
        if rendered_here {
            let mut e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            match &result {
                Ok(img) => {
                    e.bytes += img.data.len();
                    self.evict(&mut e, key);
                }
                Err(_) => {
                    if e.map.get(key).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                        e.map.remove(key);
                        e.order.retain(|k| k != key);
                    }
                }
            }
        }
        result
    }

    fn evict(&self, e: &mut Entries, keep: &str) {
        while e.bytes > self.max_bytes || e.map.len() > self.max_entries {
            let Some(k) = e.order.pop_front() else { break };
            if k == keep {
                e.order.push_back(k);
                if e.order.len() == 1 {
                    break;
                }
                continue;
            }
            if let Some(s) = e.map.remove(&k)
                && let Some(Ok(img)) = s.get()
            {
                e.bytes = e.bytes.saturating_sub(img.data.len());
            }
        }
    }

    /// Number of entries (rendered or being rendered).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).map.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The newest modification time among `files`.
pub fn newest_mtime(files: &[PathBuf]) -> Option<SystemTime> {
    files.iter().filter_map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok()).max()
}

/// The modification times of a host's files (those that can be read), one `stat` each.
pub fn file_mtimes(host: &Host) -> impl Iterator<Item = (&Arc<RrdFile>, SystemTime)> {
    host.plugins
        .values()
        .flat_map(|p| p.files.values())
        .filter_map(|f| std::fs::metadata(&f.path).and_then(|m| m.modified()).ok().map(|t| (f, t)))
}

/// The newest modification time and the oldest creation time of a host's files (a `stat`
/// per file; creation times where the file system records them).
pub fn file_times(host: &Host) -> (Option<SystemTime>, Option<SystemTime>) {
    let (mut newest, mut oldest): (Option<SystemTime>, Option<SystemTime>) = (None, None);
    for f in host.plugins.values().flat_map(|p| p.files.values()) {
        let Ok(m) = std::fs::metadata(&f.path) else { continue };
        if let Ok(t) = m.modified() {
            newest = Some(newest.map_or(t, |n| n.max(t)));
        }
        if let Ok(t) = m.created() {
            oldest = Some(oldest.map_or(t, |o| o.min(t)));
        }
    }
    (newest, oldest)
}

/// The newest modification time of a host's files.
pub fn newest_mtime_of(host: &Host) -> Option<SystemTime> {
    file_mtimes(host).map(|(_, t)| t).max()
}

/// Something derived from each host of a snapshot (the overview's card data: newest
/// modification time, staleness, current values), kept at most a maximum age and derived
/// again, for that host only, as soon as the snapshot holds another [`Host`] under its
/// name (files added or removed).
///
/// One caller at a time derives what is missing or too old, on up to `threads` threads at
/// once (the derivations wait on rrdtool); the others wait for it and take its results.
pub struct PerHost<T> {
    entries: Mutex<HashMap<String, Entry<T>>>,
    deriving: Mutex<()>,
    max_age: Duration,
}

struct Entry<T> {
    /// The host it was derived from: held, so that its address is not reused.
    host: Arc<Host>,
    /// When the derivation it was part of started.
    at: Instant,
    value: Arc<T>,
}

impl<T> std::fmt::Debug for PerHost<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerHost").field("max_age", &self.max_age).finish_non_exhaustive()
    }
}

impl<T: Send + Sync> PerHost<T> {
    /// Keeps each host's value at most `max_age`.
    pub fn new(max_age: Duration) -> Self {
        PerHost { entries: Mutex::default(), deriving: Mutex::default(), max_age }
    }

    /// The value of every host of `snap`, in its order; those missing, too old or derived
    /// from another `Host` are derived again by `derive` (blocking).
    pub fn get(&self, snap: &Snapshot, threads: usize, derive: impl Fn(&Arc<Host>) -> T + Sync) -> Vec<Arc<T>> {
        if let Some(all) = self.fresh(snap) {
            return all;
        }
        let _one = self.deriving.lock().unwrap_or_else(|e| e.into_inner());
        // Another caller may have derived them while this one waited.
        let missing: Vec<&Arc<Host>> = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            snap.hosts.values().filter(|h| !self.is_fresh(entries.get(&h.name), h)).collect()
        };
        // One time for all, so that they grow old together and are derived again in one go.
        let at = Instant::now();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(h) = missing.get(i) else { return done };
                done.push((*h, Arc::new(derive(h))));
            }
        };
        let threads = threads.clamp(1, missing.len().max(1));
        let derived: Vec<_> = if threads == 1 {
            work()
        } else {
            std::thread::scope(|s| {
                let handles: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
                let mut all = work();
                for h in handles {
                    // A panicking derivation panics here too, as it would have on one thread.
                    all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
                }
                all
            })
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for (h, value) in derived {
            entries.insert(h.name.clone(), Entry { host: h.clone(), at, value });
        }
        // Hosts gone from the snapshot are forgotten.
        entries.retain(|name, _| snap.hosts.contains_key(name));
        snap.hosts
            .values()
            .map(|h| match entries.get(&h.name) {
                Some(e) if Arc::ptr_eq(&e.host, h) => e.value.clone(),
                // Not reached: every host of `snap` was fresh or has just been derived.
                _ => Arc::new(derive(h)),
            })
            .collect()
    }

    /// The value of `host` if it is there and fresh (never derives).
    pub fn peek(&self, host: &Arc<Host>) -> Option<Arc<T>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let e = entries.get(&host.name);
        self.is_fresh(e, host).then(|| e.map(|e| e.value.clone())).flatten()
    }

    fn is_fresh(&self, e: Option<&Entry<T>>, h: &Arc<Host>) -> bool {
        e.is_some_and(|e| Arc::ptr_eq(&e.host, h) && e.at.elapsed() < self.max_age)
    }

    /// Every host's value, when all are there and fresh.
    fn fresh(&self, snap: &Snapshot) -> Option<Vec<Arc<T>>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        snap.hosts
            .values()
            .map(|h| {
                let e = entries.get(&h.name);
                self.is_fresh(e, h).then(|| e.map(|e| e.value.clone())).flatten()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    fn img(n: usize) -> Rendered {
        Rendered {
            data: vec![0; n],
            format: Format::Png,
            geometry: Geometry::default(),
            etag: String::new(),
            last_modified: None,
            values: Vec::new(),
            title: String::new(),
            unit: String::new(),
            zoom: 1,
        }
    }

    #[test]
    fn renders_once_and_evicts_oldest() {
        let c = RenderCache::new(250, 10);
        let mut calls = 0;
        for _ in 0..3 {
            c.get_or_render("a", || {
                calls += 1;
                Ok(img(100))
            })
            .unwrap();
        }
        assert_eq!(calls, 1);
        c.get_or_render("b", || Ok(img(100))).unwrap();
        c.get_or_render("c", || Ok(img(100))).unwrap();
        assert_eq!(c.len(), 2, "a was evicted");
        let e = c.get_or_render("d", || Err(Problem::new(StatusCode::BAD_REQUEST, "x", "y")));
        assert!(e.is_err());
        assert_eq!(c.len(), 2, "failures are not kept");
    }

    #[test]
    fn per_host_derives_again_only_what_is_old_or_changed() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for f in ["h1/load/load.rrd", "h2/load/load.rrd", "h3/load/load.rrd"] {
            std::fs::create_dir_all(d.join(f).parent().unwrap()).unwrap();
            std::fs::write(d.join(f), b"").unwrap();
        }
        // Directories modified long ago, so that a rescan reuses those that did not change.
        let old = SystemTime::now() - Duration::from_secs(3600);
        for p in ["", "h1", "h1/load", "h2", "h2/load", "h3", "h3/load"] {
            std::fs::File::open(d.join(p)).unwrap().set_modified(old).unwrap();
        }
        let index = collectd_rrd::index::Index::open(d).unwrap();
        let derived = AtomicUsize::new(0);
        let derive = |h: &Arc<Host>| {
            derived.fetch_add(1, Ordering::Relaxed);
            format!("{} {}", h.name, h.plugins.values().map(|p| p.files.len()).sum::<usize>())
        };
        let names = |v: Vec<Arc<String>>| v.iter().map(|s| s.as_str().to_owned()).collect::<Vec<_>>();
        let c = PerHost::new(Duration::from_secs(60));
        assert_eq!(names(c.get(&index.snapshot(), 2, derive)), ["h1 1", "h2 1", "h3 1"]);
        assert_eq!(derived.load(Ordering::Relaxed), 3);
        c.get(&index.snapshot(), 2, derive);
        assert_eq!(derived.load(Ordering::Relaxed), 3, "fresh: nothing derived");
        // A file more on h2, h3 gone: h2 only is derived again, h3 forgotten.
        std::fs::write(d.join("h2/load/load-2.rrd"), b"").unwrap();
        std::fs::remove_dir_all(d.join("h3")).unwrap();
        let snap = index.refresh().unwrap();
        assert_eq!(names(c.get(&snap, 2, derive)), ["h1 1", "h2 2"]);
        assert_eq!(derived.load(Ordering::Relaxed), 4);
        assert_eq!(c.entries.lock().unwrap().len(), 2);
        // Too old: every host again.
        let c = PerHost::new(Duration::ZERO);
        c.get(&snap, 1, derive);
        c.get(&snap, 1, derive);
        assert_eq!(derived.load(Ordering::Relaxed), 8);
    }
}
