//! Which graph renderings run, and which wait: at most one per rrdtool worker at a time,
//! a bounded number waiting (beyond it, 503 at once), a bounded wait (then 503 with
//! `Retry-After`), and a request whose client has gone away is dropped before it reaches
//! rrdtool. Pages and the overview do not pass through here, so they never wait behind
//! graphs.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::Semaphore;

use super::server::{Client, current_client};
use super::{Problem, blocking};

/// Seconds a client is told to wait after a 503.
pub const RETRY_AFTER_SECS: u64 = 5;

/// The status of a request whose client went away (nginx's; nobody reads it).
fn client_gone() -> Problem {
    Problem::new(
        StatusCode::from_u16(499).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
        "Client closed the request",
        "the connection was closed before the graph was drawn; it was not drawn",
    )
}

fn busy(detail: String) -> Problem {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "Too busy", detail)
}

/// The gate every rendering passes.
#[derive(Debug)]
pub struct RenderGate {
    running: Semaphore,
    waiting: AtomicUsize,
    started: AtomicU64,
    abandoned: AtomicU64,
    refused: AtomicU64,
    max_waiting: usize,
    max_wait: Duration,
}

/// What a [`RenderGate`] did: requests waiting now, renderings started, requests dropped
/// because their client went away, and requests refused with 503.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateStats {
    /// Waiting for a slot now.
    pub waiting: usize,
    /// Renderings started (each reached rrdtool or its cache).
    pub started: u64,
    /// Dropped before rendering: the client had gone.
    pub abandoned: u64,
    /// Answered 503: the queue was full or the wait ran out.
    pub refused: u64,
}

/// Counts a waiting request until it is dropped; dropped while still waiting (the server
/// dropped the request because its connection closed), it counts as abandoned.
struct Waiting<'a> {
    gate: &'a RenderGate,
    settled: bool,
}

impl Waiting<'_> {
    fn settle(mut self) {
        self.settled = true;
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.gate.waiting.fetch_sub(1, Ordering::Relaxed);
        if !self.settled {
            self.gate.abandoned.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl RenderGate {
    /// `slots` renderings at once, `max_waiting` more waiting at most `max_wait` each.
    pub fn new(slots: usize, max_waiting: usize, max_wait: Duration) -> RenderGate {
        RenderGate {
            running: Semaphore::new(slots.max(1)),
            waiting: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            abandoned: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            max_waiting,
            max_wait,
        }
    }

    /// What the gate did so far.
    pub fn stats(&self) -> GateStats {
        GateStats {
            waiting: self.waiting(),
            started: self.started.load(Ordering::Relaxed),
            abandoned: self.abandoned.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }

    fn gone(&self) -> Problem {
        self.abandoned.fetch_add(1, Ordering::Relaxed);
        client_gone()
    }

    fn busy(&self, detail: String) -> Problem {
        self.refused.fetch_add(1, Ordering::Relaxed);
        busy(detail)
    }

    /// Requests waiting for a slot now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Runs `work` (blocking: it calls rrdtool) once a slot is free, unless the queue is
    /// full, the wait runs out, or the client of the current request goes away first.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Problem> {
        let client = current_client();
        if client.as_ref().is_some_and(|c| c.is_gone()) {
            return Err(self.gone());
        }
        let queued = self.waiting.fetch_add(1, Ordering::Relaxed);
        let waiting = Waiting { gate: self, settled: false };
        if queued >= self.max_waiting {
            waiting.settle();
            return Err(self.busy(format!("{queued} graphs are already waiting to be drawn; try again shortly")));
        }
        let acquire = tokio::time::timeout(self.max_wait, self.running.acquire());
        let acquired = tokio::select! {
            acquired = acquire => acquired,
            () = gone(client.as_deref()) => {
                // Counted as abandoned when `waiting` drops unsettled.
                drop(waiting);
                return Err(client_gone());
            }
        };
        waiting.settle();
        let permit = match acquired {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(self.busy("the server is stopping".into())),
            Err(_) => {
                return Err(self.busy(format!(
                    "no rrdtool worker was free within {} s; try again shortly",
                    self.max_wait.as_secs()
                )));
            }
        };
        if client.as_ref().is_some_and(|c| c.is_gone()) {
            return Err(self.gone());
        }
        self.started.fetch_add(1, Ordering::Relaxed);
        let result = blocking(work).await;
        drop(permit);
        result
    }
}

/// Resolves when the client goes away; never without a client.
async fn gone(client: Option<&Client>) {
    match client {
        Some(c) => c.gone().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_and_a_long_wait_answer_503() {
        let gate = std::sync::Arc::new(RenderGate::new(1, 1, Duration::from_millis(200)));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let busy_gate = gate.clone();
        let first = tokio::spawn(async move {
            busy_gate
                .run(move || {
                    hold.recv().ok();
                    Ok(())
                })
                .await
        });
        // The first holds the only slot; the second waits, the third finds the queue full.
        while gate.running.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let second_gate = gate.clone();
        let second = tokio::spawn(async move { second_gate.run(|| Ok(())).await });
        while gate.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        let third = gate.run(|| Ok(())).await.unwrap_err();
        assert_eq!(third.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(third.detail.contains("already waiting"), "{}", third.detail);
        let second = second.await.unwrap().unwrap_err();
        assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(second.detail.contains("no rrdtool worker was free"), "{}", second.detail);
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        assert_eq!(gate.waiting(), 0);
        gate.run(|| Ok(())).await.unwrap();
    }
}
