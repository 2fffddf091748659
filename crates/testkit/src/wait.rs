//! Polling with a deadline: the one waiting loop every `wait_*` helper uses.

use std::thread;
use std::time::{Duration, Instant};

/// How often conditions are re-checked.
pub(crate) const POLL: Duration = Duration::from_millis(20);

/// What a polled condition returns: `bool` (done or not) or `Option<T>`
/// (done with a value, or not yet).
pub trait WaitOutcome {
    /// The value produced once the condition holds.
    type Output;
    /// `Some` when the condition holds.
    fn into_option(self) -> Option<Self::Output>;
}

impl WaitOutcome for bool {
    type Output = ();
    fn into_option(self) -> Option<()> {
        self.then_some(())
    }
}

impl<T> WaitOutcome for Option<T> {
    type Output = T;
    fn into_option(self) -> Option<T> {
        self
    }
}

/// Calls `condition` every 20 ms until it holds or `timeout` has passed.
///
/// The condition is always checked at least once, and once more after the
/// deadline, so a zero timeout means "check now". Returns `None` on timeout.
///
/// ```
/// use std::time::Duration;
/// let mut n = 0;
/// let got = testkit::poll_until(Duration::from_secs(1), || {
///     n += 1;
///     (n == 3).then_some(n)
/// });
/// assert_eq!(got, Some(3));
/// ```
pub fn poll_until<R: WaitOutcome>(timeout: Duration, mut condition: impl FnMut() -> R) -> Option<R::Output> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = condition().into_option() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return condition().into_option();
        }
        thread::sleep(POLL.min(deadline - now));
    }
}
