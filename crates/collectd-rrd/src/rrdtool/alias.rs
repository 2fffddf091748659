//! Paths that rrdtool's pipe mode cannot carry (not UTF-8, or holding a line break: a
//! collectd host name may be either) given to rrdtool through a symbolic link with a plain
//! name, in a private directory of the pool that goes with it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Whether a path reaches rrdtool unchanged through pipe mode.
pub(crate) fn pipe_safe(path: &Path) -> bool {
    path.to_str().is_some_and(|p| !p.is_empty() && !p.ends_with('\\') && !p.contains(['\n', '\r', '\0']))
}

/// The pool's links, made on first need.
#[derive(Debug, Default)]
pub(crate) struct Aliases {
    links: Mutex<Option<(tempfile::TempDir, HashMap<PathBuf, PathBuf>)>>,
}

impl Aliases {
    /// `path` itself when rrdtool can be given it, else a link to it with a plain name.
    pub(crate) fn of<'p>(&self, path: &'p Path) -> std::io::Result<Cow<'p, Path>> {
        if pipe_safe(path) {
            return Ok(Cow::Borrowed(path));
        }
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        if links.is_none() {
            let dir = tempfile::Builder::new().prefix("collectd-rrd-links-").tempdir()?;
            *links = Some((dir, HashMap::new()));
        }
        let (dir, known) = links.as_mut().expect("made above");
        if let Some(link) = known.get(path) {
            return Ok(Cow::Owned(link.clone()));
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        path.hash(&mut hasher);
        let link = dir.path().join(format!("{:016x}-{}.rrd", hasher.finish(), known.len()));
        std::os::unix::fs::symlink(path, &link)?;
        known.insert(path.to_owned(), link.clone());
        Ok(Cow::Owned(link))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn unusable_paths_get_a_plain_link_to_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join(OsStr::from_bytes(b"nu\xff")).join("line\nbreak.rrd");
        std::fs::create_dir_all(odd.parent().unwrap()).unwrap();
        std::fs::write(&odd, b"rrd bytes").unwrap();
        let aliases = Aliases::default();
        let plain = dir.path().join("plain.rrd");
        assert!(matches!(aliases.of(&plain).unwrap(), Cow::Borrowed(_)));
        let link = aliases.of(&odd).unwrap().into_owned();
        assert!(pipe_safe(&link), "{}", link.display());
        assert_eq!(std::fs::read(&link).unwrap(), b"rrd bytes");
        assert_eq!(aliases.of(&odd).unwrap(), link, "one link per path");
    }
}
