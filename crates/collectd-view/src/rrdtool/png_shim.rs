//! The PNG encoding shim of the pool's workers: the library `build.rs` makes from
//! `shim/png_encoding.rs`, written to a private directory and preloaded into each
//! `rrdtool -` worker.
//!
//! With it, libpng inside rrdtool writes rows without filters at a chosen zlib level
//! instead of searching all five filters at level 6: the same pixels for about a third
//! less CPU per image (see the shim's source for why this needs a preload). Everything
//! here is best effort: when the library was not built or cannot be written, or its
//! path cannot go into `LD_PRELOAD`, workers start as plain rrdtool.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

/// The library, or nothing when `build.rs` could not build it.
static LIBRARY: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/png_encoding.so"));

/// The shim on disk, for as long as the pool may start workers.
#[derive(Debug)]
pub(crate) struct PngShim {
    /// Owns the directory: dropping it removes the library.
    _dir: tempfile::TempDir,
    path: PathBuf,
    level: u8,
}

impl PngShim {
    /// Writes the library into a new private directory. `Ok(None)` when there is no
    /// library to write or its path could not be preloaded.
    pub(crate) fn install(level: u8) -> io::Result<Option<PngShim>> {
        if LIBRARY.is_empty() {
            return Ok(None);
        }
        // A new directory of our own (never writable by others, whatever the umask), so
        // nobody else can swap the library between writing and preloading it.
        let dir = tempfile::Builder::new().prefix("collectd-view-png-").tempdir()?;
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))?;
        let path = dir.path().join("png_encoding.so");
        fs::write(&path, LIBRARY)?;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o500))?;
        // LD_PRELOAD separates entries with spaces and colons: such a path cannot go in.
        let usable = path.to_str().is_some_and(|p| !p.contains([' ', ':', '\t', '\n']));
        Ok(usable.then_some(PngShim { _dir: dir, path, level: level.min(9) }))
    }

    /// Sets the environment of a worker so that it loads the shim.
    pub(crate) fn apply(&self, command: &mut Command) {
        let mut preload = OsString::from(&self.path);
        if let Some(existing) = std::env::var_os("LD_PRELOAD").filter(|p| !p.is_empty()) {
            preload.push(" ");
            preload.push(existing);
        }
        command.env("LD_PRELOAD", preload).env("COLLECTD_VIEW_PNG_LEVEL", self.level.to_string());
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
        let shim = PngShim::install(3).unwrap().expect("a usable temporary directory");
        let dir = shim.path.parent().unwrap().to_owned();
        assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o077, 0, "private directory");
        assert_eq!(fs::read(&shim.path).unwrap(), LIBRARY);
        let mut command = Command::new("true");
        shim.apply(&mut command);
        let env = |name: &str| {
            command.get_envs().find(|(k, _)| *k == name).and_then(|(_, v)| v).map(|v| v.to_string_lossy().into_owned())
        };
        assert!(env("LD_PRELOAD").unwrap().starts_with(shim.path.to_str().unwrap()));
        assert_eq!(env("COLLECTD_VIEW_PNG_LEVEL").as_deref(), Some("3"));
        drop(shim);
        assert!(!dir.exists());
    }
}
