//! Issue 16, point 12: a full disk. rrdtool 1.7 answers `create` with OK when it could
//! not write the file; the receiver then logged "update failed: … No such file". It must
//! check the file after `create` and report the real cause.
//!
//! The test mounts a 64 KiB tmpfs (a collectd RRD of one gauge needs about 150 KiB). Where
//! the machine forbids `mount` (not root, no `CAP_SYS_ADMIN`) it is skipped with a
//! message; any other failure to mount fails it, so a machine that allows mounting, as
//! CI's does (it runs as root), always runs it.

mod cli;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cli::Proc;

/// A tmpfs mounted for the test, unmounted on drop.
struct TinyFs {
    dir: tempfile::TempDir,
}

impl TinyFs {
    fn mount(size: &str) -> Result<TinyFs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!("mount: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        Ok(TinyFs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// The tmpfs, or `None` (with a message) where this machine does not allow mounting.
/// Any other failure fails the test: where `mount` is allowed (CI runs as root), the
/// test runs.
fn tiny_fs() -> Option<TinyFs> {
    match TinyFs::mount("64k") {
        Ok(fs) => Some(fs),
        Err(e) if forbidden(&e) => {
            eprintln!("skipped: this machine does not allow mounting a small tmpfs ({e})");
            None
        }
        Err(e) => panic!("cannot mount a small tmpfs: {e}"),
    }
}

fn forbidden(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    ["permission denied", "operation not permitted", "must be superuser", "only root"].iter().any(|w| m.contains(w))
}

#[test]
fn a_full_disk_is_reported_as_such() {
    if testkit::require_rrdtool().is_none() {
        return;
    }
    let Some(fs) = tiny_fs() else { return };
    let data: PathBuf = fs.path().join("rrd");
    let addr = cli::free_addr();
    let mut ours =
        Proc::spawn_listening(&["receive", "--listen", &addr.to_string(), "--data-dir", data.to_str().unwrap()]);
    let t = cli::now() - 60;
    let datagram = cli::raw_gauge_datagram([b"full", b"test", b"", b"gauge", b""], t, 10, 1.0);
    cli::sender(addr).send_to(&datagram, addr).unwrap();
    let line = ours.wait_stderr("full/test/gauge.rrd", Duration::from_secs(20));
    let stderr = ours.terminate();
    let line = line.unwrap_or_else(|| panic!("no message about the file; stderr:\n{stderr}"));
    assert!(line.contains("rrdtool create failed") && line.contains("No space left on device"), "{line}");
    assert!(!stderr.contains("No such file"), "{stderr}");
    let counters = cli::receiver_counters(&stderr);
    assert_eq!((cli::counter(&counters, "failed"), cli::counter(&counters, "files_created")), (1, 0));
    assert!(!data.join("full/test/gauge.rrd").exists());
    // The probe that found the cause is gone.
    let left: Vec<_> = std::fs::read_dir(data.join("full/test")).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}
