//! A daemon process the kit started: its pid while it runs, how it is stopped (SIGTERM,
//! a grace period, SIGKILL) or killed, and its exit status once it ended.

use std::io;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::wait::POLL;

/// How long a process may take to exit after SIGTERM before it gets SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(5);

/// A started process, then its exit status.
#[derive(Debug)]
pub(crate) struct Process {
    child: Option<Child>,
    exit: Option<ExitStatus>,
}

impl Process {
    pub(crate) fn new(child: Child) -> Process {
        Process { child: Some(child), exit: None }
    }

    /// The process id, while the process has not been stopped.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The exit status, once the process is known to have ended.
    pub(crate) fn exit_status(&self) -> Option<ExitStatus> {
        self.exit
    }

    /// True while the process runs (an ended one is reaped and its status kept).
    pub(crate) fn is_running(&mut self) -> bool {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(status))) => {
                self.exit = Some(status);
                self.child = None;
                false
            }
            Some(Err(_)) | None => false,
        }
    }

    /// SIGTERM, up to [`TERM_GRACE`] to exit, then SIGKILL; always reaps. The exit status,
    /// also on later calls (`None` only if it could never be read).
    pub(crate) fn stop(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(mut child) = self.child.take() {
            self.exit = Some(stop_child(&mut child)?);
        }
        Ok(self.exit)
    }

    /// SIGKILL at once, as a crash would; reaps. The exit status, as for [`Process::stop`].
    pub(crate) fn kill(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(mut child) = self.child.take() {
            // An error here means it already exited, which wait() reports.
            let _ = child.kill();
            self.exit = Some(child.wait()?);
        }
        Ok(self.exit)
    }
}

fn stop_child(child: &mut Child) -> io::Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    let termed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if termed {
        let deadline = Instant::now() + TERM_GRACE;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            thread::sleep(POLL);
        }
    }
    // SIGKILL; an error here means it already exited, which wait() reports.
    let _ = child.kill();
    child.wait()
}
