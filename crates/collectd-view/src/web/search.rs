//! Search over every series of the index: one lower-cased text per file (host, directory,
//! file name, and the original module's category / specific / stat), built once per
//! snapshot, matched by "every word is a substring".

use std::sync::Arc;

use super::params::{Query, SeriesRef, seg};
use collectd_rrd::index::{Meaning, RrdFile, Snapshot};

/// One searchable series.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its host.
    pub host: String,
    /// How it is shown (`host › category › specific › stat`, `host › plugin › type`).
    pub label: String,
    /// The page showing it.
    pub href: String,
    /// Its reference in a combined graph.
    pub sref: SeriesRef,
    hay: String,
}

/// The series of one snapshot.
#[derive(Debug, Default)]
pub struct SearchIndex {
    hosts: Vec<usize>,
    entries: Vec<Entry>,
}

/// The page of one file: the stat page (with the specific) for the module's files, the type
/// page (with the type instance) for the others.
pub fn file_href(f: &RrdFile) -> String {
    let id = &f.id;
    let mut q = Query::default();
    let path = match &f.meaning {
        Some(m) => {
            if let Some(i) = &id.plugin_instance {
                q.push("inst", i);
            }
            if let Some(sp) = m.specific() {
                q.push("specific", sp);
            }
            format!("/host/{}/category/{}/stat/{}", seg(&id.host), seg(m.category()), seg(m.stat()))
        }
        None => {
            if let Some(ti) = &id.type_instance {
                q.push("ti", ti);
            }
            let dir = collectd_rrd::naming::join_instance(&id.plugin, id.plugin_instance.as_deref());
            format!("/host/{}/plugin/{}/type/{}", seg(&id.host), seg(&dir), seg(&id.type_))
        }
    };
    q.url(&path)
}

/// The combined-graph reference of a file (all its data sources).
pub fn file_ref(f: &RrdFile) -> SeriesRef {
    let id = &f.id;
    SeriesRef {
        host: id.host.clone(),
        dir: collectd_rrd::naming::join_instance(&id.plugin, id.plugin_instance.as_deref()),
        file: collectd_rrd::naming::join_instance(&id.type_, id.type_instance.as_deref()),
        ds: None,
    }
}

/// How a file is named in lists: `host › category › stat › specific`, `host › dir › file`.
pub fn file_label(f: &RrdFile) -> String {
    let id = &f.id;
    let dir = collectd_rrd::naming::join_instance(&id.plugin, id.plugin_instance.as_deref());
    match &f.meaning {
        Some(Meaning::Base { category, stat }) => {
            let inst = id.plugin_instance.as_deref().map(|i| format!(" ({i})")).unwrap_or_default();
            format!("{} › {category}{inst} › {stat}", id.host)
        }
        Some(Meaning::Specific { category, specific, stat }) => {
            let inst = id.plugin_instance.as_deref().map(|i| format!(" ({i})")).unwrap_or_default();
            format!("{} › {category}{inst} › {stat} › {specific}", id.host)
        }
        None => {
            format!(
                "{} › {dir} › {}",
                id.host,
                collectd_rrd::naming::join_instance(&id.type_, id.type_instance.as_deref())
            )
        }
    }
}

fn host_ptrs(snap: &Snapshot) -> Vec<usize> {
    snap.hosts.values().map(|h| Arc::as_ptr(h) as usize).collect()
}

impl SearchIndex {
    /// Builds the index of `snap`.
    pub fn build(snap: &Snapshot) -> SearchIndex {
        let mut entries = Vec::with_capacity(snap.file_count());
        for f in snap.files() {
            let label = file_label(f);
            let hay = format!("{label} {}", f.id).to_lowercase();
            entries.push(Entry { host: f.id.host.clone(), label, href: file_href(f), sref: file_ref(f), hay });
        }
        SearchIndex { hosts: host_ptrs(snap), entries }
    }

    /// Whether this index was built from a snapshot with the same hosts as `snap` (the
    /// index shares unchanged hosts between snapshots).
    pub fn is_for(&self, snap: &Snapshot) -> bool {
        self.hosts == host_ptrs(snap)
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no series.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries matching every word of `q` (case-insensitive substrings): how many, and
    /// the first `limit`.
    pub fn search(&self, q: &str, limit: usize) -> (usize, Vec<&Entry>) {
        let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
        let mut total = 0;
        let mut out = Vec::new();
        for e in &self.entries {
            if words.iter().all(|w| e.hay.contains(w.as_str())) {
                total += 1;
                if out.len() < limit {
                    out.push(e);
                }
            }
        }
        (total, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use collectd_rrd::index::Index;

    #[test]
    fn finds_by_every_word() {
        let dir = tempfile::tempdir().unwrap();
        for f in
            ["web1/any/gauge-coin_stats-heads-flips.rrd", "web2/any-X/gauge-coin_stats-flips.rrd", "web1/load/load.rrd"]
        {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"").unwrap();
        }
        let snap = Index::open(dir.path()).unwrap().snapshot();
        let idx = SearchIndex::build(&snap);
        assert!(idx.is_for(&snap));
        assert_eq!(idx.len(), 3);
        let (n, hits) = idx.search("COIN flips", 10);
        assert_eq!(n, 2);
        assert_eq!(hits[0].href, "/host/web1/category/coin_stats/stat/flips?specific=heads");
        assert_eq!(hits[1].href, "/host/web2/category/coin_stats/stat/flips?inst=X");
        assert_eq!(hits[1].sref.to_param(), "web2/any-X/gauge-coin_stats-flips");
        let (n, hits) = idx.search("load", 10);
        assert_eq!(n, 1);
        assert_eq!(hits[0].href, "/host/web1/plugin/load/type/load");
        assert_eq!(idx.search("", 1).0, 3);
        assert_eq!(idx.search("nothing", 10).0, 0);
    }
}
