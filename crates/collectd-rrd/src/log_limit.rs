//! Rate-limited warnings through the `log` crate, and messages said once per key.
//!
//! A receiver fed garbage must not flood its log: at most [`BURST`] warnings are logged
//! per second, and the number suppressed is logged when logging resumes. Messages about
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

/// Logs a warning, unless more than [`BURST`] were logged this second. Control
/// characters in the message (a name from the network, rrdtool's words about a path) are
/// escaped ([`crate::naming::printable`]): a log line never carries a terminal escape.
///
/// ```
/// collectd_rrd::log_limit::warn("rrdtool update failed");
/// ```
pub fn warn(message: &str) {
    let mut limiter = LIMITER.lock().unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    let new_window = limiter.window_start.is_none_or(|start| now.duration_since(start) >= Duration::from_secs(1));
    if new_window {
        if limiter.suppressed > 0 {
            log::warn!("{} more warnings were suppressed", limiter.suppressed);
        }
        *limiter = Limiter { window_start: Some(now), printed: 0, suppressed: 0 };
    }
    if limiter.printed < BURST {
        limiter.printed += 1;
        log::warn!("{}", crate::naming::printable(message));
    } else {
        limiter.suppressed += 1;
    }
}

/// Prints an informational line on stderr, never suppressed.
pub fn info(message: &str) {
    log::warn!("{}", crate::naming::printable(message));
}

/// Remembers which keys were complained about.
///
/// ```
/// let mut once = collectd_rrd::log_limit::Once::default();
/// assert!(once.warn("type:foo", || "unknown type foo".to_owned()));
/// assert!(!once.warn("type:foo", || unreachable!()));
/// ```
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
