//! Caches of the web server: rendered images by (argv, freshness), with one rendering per
//! key however many requests ask at once; and the modification times of every file, for
//! "updated N s ago" and stale badges without a `stat` per file per request.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::Problem;
use crate::graph::Format;
use crate::index::Snapshot;
use crate::rrdtool::Geometry;

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

/// Modification times of every file of one snapshot.
#[derive(Debug, Default)]
pub struct Mtimes {
    /// When they were read.
    pub read_at: Option<Instant>,
    /// The hosts of the snapshot they were read for (by pointer), to tell a new scan.
    hosts: Vec<usize>,
    /// By file.
    pub files: HashMap<PathBuf, SystemTime>,
    /// The newest per host.
    pub hosts_newest: HashMap<String, SystemTime>,
}

impl Mtimes {
    /// Reads them for `snap`.
    pub fn read(snap: &Snapshot) -> Mtimes {
        let mut files = HashMap::with_capacity(snap.file_count());
        let mut hosts_newest = HashMap::new();
        for host in snap.hosts.values() {
            let mut newest: Option<SystemTime> = None;
            for f in host.plugins.values().flat_map(|p| p.files.values()) {
                if let Ok(t) = std::fs::metadata(&f.path).and_then(|m| m.modified()) {
                    files.insert(f.path.clone(), t);
                    newest = newest.max(Some(t));
                }
            }
            if let Some(t) = newest {
                hosts_newest.insert(host.name.clone(), t);
            }
        }
        Mtimes { read_at: Some(Instant::now()), hosts: host_ptrs(snap), files, hosts_newest }
    }

    /// The modification time of one file.
    pub fn of(&self, path: &Path) -> Option<SystemTime> {
        self.files.get(path).copied()
    }
}

fn host_ptrs(snap: &Snapshot) -> Vec<usize> {
    snap.hosts.values().map(|h| Arc::as_ptr(h) as usize).collect()
}

/// The latest [`Mtimes`], refreshed when older than a maximum age or when the snapshot
/// changed.
#[derive(Debug)]
pub struct Freshness {
    current: RwLock<Arc<Mtimes>>,
    max_age: Duration,
}

impl Freshness {
    /// Keeps mtimes at most `max_age` old.
    pub fn new(max_age: Duration) -> Self {
        Freshness { current: RwLock::new(Arc::new(Mtimes::default())), max_age }
    }

    /// Current mtimes for `snap`, read again (blocking) when stale.
    pub fn get(&self, snap: &Snapshot) -> Arc<Mtimes> {
        let cur = self.current.read().unwrap_or_else(|e| e.into_inner()).clone();
        let fresh = cur.read_at.is_some_and(|t| t.elapsed() < self.max_age) && cur.hosts == host_ptrs(snap);
        if fresh {
            return cur;
        }
        self.refresh(snap)
    }

    /// Reads mtimes now.
    pub fn refresh(&self, snap: &Snapshot) -> Arc<Mtimes> {
        let m = Arc::new(Mtimes::read(snap));
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = m.clone();
        m
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
}
