//! The receiver's diagnostics on stderr: rate-limited warnings, and messages said once per key.
//!
//! A receiver fed garbage must not flood its log: at most [`BURST`] warnings are printed
//! per second, and the number suppressed is printed when printing resumes. Messages about
//! a type or a sender that would repeat for every datagram (unknown type, wrong number of
//! values) are printed once per key, as collectd's `c_complain_once` does.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Warnings printed per second at most.
pub const BURST: u32 = 20;

struct Limiter {
    window_start: Option<Instant>,
    printed: u32,
    suppressed: u64,
}

static LIMITER: Mutex<Limiter> = Mutex::new(Limiter { window_start: None, printed: 0, suppressed: 0 });

/// The prefix of every line.
const PREFIX: &str = "collectd-view";

/// Prints a warning on stderr, unless more than [`BURST`] were printed this second.
pub fn warn(message: &str) {
    let mut limiter = LIMITER.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    let new_window = limiter.window_start.is_none_or(|start| now.duration_since(start) >= Duration::from_secs(1));
    if new_window {
        if limiter.suppressed > 0 {
            eprintln!("{PREFIX}: {} more warnings were suppressed", limiter.suppressed);
        }
        *limiter = Limiter { window_start: Some(now), printed: 0, suppressed: 0 };
    }
    if limiter.printed < BURST {
        limiter.printed += 1;
        eprintln!("{PREFIX}: {message}");
    } else {
        limiter.suppressed += 1;
    }
}

/// Prints an informational line on stderr, never suppressed.
pub fn info(message: &str) {
    eprintln!("{PREFIX}: {message}");
}

/// Remembers which keys were complained about.
#[derive(Debug, Default)]
pub struct Once {
    seen: HashSet<String>,
}

impl Once {
    /// Calls [`warn`] with the message the first time `key` is seen; true then.
    pub fn warn(&mut self, key: &str, message: impl FnOnce() -> String) -> bool {
        if self.seen.contains(key) {
            return false;
        }
        self.seen.insert(key.to_owned());
        warn(&message());
        true
    }
}
