//! The PNG encoding shim of the pool's workers: the library `build.rs` makes from
//! `shim/png_encoding.rs`, written to a private directory and preloaded into each
//! `rrdtool -` worker.
//!
//! With it, libpng inside rrdtool writes rows without filters at a chosen zlib level
//! instead of searching all five filters at level 6: the same pixels for about a third
//! less CPU per image (see the shim's source for why this needs a preload). Everything
//! here is best effort: when the library was not built or cannot be written, its path
//! cannot go into `LD_PRELOAD`, or the dynamic loader refuses it (a `noexec` temporary
//! directory), workers start as plain rrdtool.
//!
//! Safety of the preload: the library sits in a directory of our own, mode 0700, in the
//! sticky temporary directory, so nobody else can write, replace or rename it. A tmp
//! cleaner may still delete the directory on a quiet server, after which somebody could
//! create one of the same name: so before each worker starts, [`PngShim::intact`]
//! checks that the directory and the library are still the very ones written here
//! (device, inode, owner, mode), and the pool writes a fresh copy when they are not.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The library, or nothing when `build.rs` could not build it.
static LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/png_encoding.so"));

/// What identifies a file: device, inode, owner, mode.
type Identity = (u64, u64, u32, u32);

fn identity(path: &Path) -> io::Result<Identity> {
    let meta = fs::symlink_metadata(path)?;
    Ok((meta.dev(), meta.ino(), meta.uid(), meta.mode()))
}

/// The shim on disk, for as long as the pool may start workers.
#[derive(Debug)]
pub(crate) struct PngShim {
    /// Owns the directory: dropping it removes the library.
    dir: tempfile::TempDir,
    path: PathBuf,
    level: u8,
    /// The directory's and the library's identities when written.
    written: (Identity, Identity),
}

impl PngShim {
    /// Writes the library into a new private directory. `Ok(None)` when there is no
    /// library to write or its path could not be preloaded.
    pub(crate) fn install(level: u8, parent: Option<&Path>) -> io::Result<Option<PngShim>> {
        if LIBRARY.is_empty() {
            return Ok(None);
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix("collectd-view-png-");
        let dir = match parent {
            Some(parent) => builder.tempdir_in(parent)?,
            None => builder.tempdir()?,
        };
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))?;
        let path = dir.path().join("png_encoding.so");
        fs::write(&path, LIBRARY)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o500))?;
        // LD_PRELOAD separates entries with spaces and colons: such a path cannot go in.
        if path.to_str().is_none_or(|p| p.contains([' ', ':', '\t', '\n'])) {
            return Ok(None);
        }
        let written = (identity(dir.path())?, identity(&path)?);
        Ok(Some(PngShim { dir, path, level: level.min(9), written }))
    }

    /// A fresh copy in a new directory beside this one's, for a shim no longer
    /// [`intact`](PngShim::intact). What is now at the old path is not ours: it is left
    /// alone, not deleted.
    pub(crate) fn replace(self) -> io::Result<Option<PngShim>> {
        let fresh = PngShim::install(self.level, self.dir.path().parent());
        let _ = self.dir.keep();
        fresh
    }

    /// True while the directory and the library are the ones [`PngShim::install`] wrote.
    pub(crate) fn intact(&self) -> bool {
        matches!((identity(self.dir.path()), identity(&self.path)), (Ok(d), Ok(l)) if (d, l) == self.written)
    }

    /// Sets the environment of a worker so that it loads the shim.
    pub(crate) fn apply(&self, command: &mut Command) {
        // After whatever is preloaded already (a sanitizer runtime insists on being
        // first); any preloaded library still comes before libpng.
        let mut preload = std::env::var_os("LD_PRELOAD").filter(|p| !p.is_empty()).unwrap_or_default();
        if !preload.is_empty() {
            preload.push(" ");
        }
        preload.push(OsString::from(&self.path));
        command.env("LD_PRELOAD", preload).env("COLLECTD_VIEW_PNG_LEVEL", self.level.to_string());
    }

    /// True when the running process `pid` has the library's code mapped: the dynamic
    /// loader accepted it. (A refused library can leave a read-only mapping behind, so
    /// only an executable one counts.) Read once the process has answered a command, so
    /// loading is over.
    pub(crate) fn loaded_in(&self, pid: u32) -> bool {
        let Some(path) = self.path.to_str() else { return false };
        let executable = |line: &str| line.split_whitespace().nth(1).is_some_and(|perms| perms.contains('x'));
        fs::read_to_string(format!("/proc/{pid}/maps"))
            .is_ok_and(|maps| maps.lines().any(|line| line.ends_with(path) && executable(line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_was_built_and_exports_png_write_info() {
        // An ELF shared object that names the one function it replaces.
        assert!(LIBRARY.starts_with(b"\x7fELF"), "build.rs did not build the shim");
        assert!(LIBRARY.windows(14).any(|w| w == b"png_write_info"));
    }

    #[test]
    fn installs_into_a_private_directory_and_removes_it_on_drop() {
        let shim = PngShim::install(3, None).unwrap().expect("a usable temporary directory");
        let dir = shim.path.parent().unwrap().to_owned();
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o077, 0, "private directory");
        assert_eq!(fs::read(&shim.path).unwrap(), LIBRARY);
        assert!(shim.intact());
        let mut command = Command::new("true");
        shim.apply(&mut command);
        let env = |name: &str| {
            command.get_envs().find(|(k, _)| *k == name).and_then(|(_, v)| v).map(|v| v.to_string_lossy().into_owned())
        };
        assert!(env("LD_PRELOAD").unwrap().ends_with(shim.path.to_str().unwrap()));
        assert_eq!(env("COLLECTD_VIEW_PNG_LEVEL").as_deref(), Some("3"));
        drop(shim);
        assert!(!dir.exists());
    }

    #[test]
    fn a_replaced_library_is_not_intact() {
        let shim = PngShim::install(3, None).unwrap().unwrap();
        // What a tmp cleaner and somebody else could leave behind: the same path, other
        // bytes, another inode.
        fs::remove_file(&shim.path).unwrap();
        fs::write(&shim.path, b"not the shim").unwrap();
        assert!(!shim.intact());
        fs::remove_dir_all(shim.dir.path()).unwrap();
        assert!(!shim.intact());
    }
}
