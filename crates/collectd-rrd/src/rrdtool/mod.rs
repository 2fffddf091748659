//! A pool of long-lived `rrdtool -` processes that renders graphs, exports data and reads
//! file info, one command at a time per process, from any number of threads.
//!
//! - **No shell.** Each worker is `rrdtool -` spawned directly; commands are argv encoded
//!   as pipe-mode lines ([`pipe::encode_line`]).
//! - **Blocking and thread-safe.** [`Pool`] is `Send + Sync` and cheap to clone (an `Arc`);
//!   a call checks a worker out, runs one command and puts it back. Async code calls it
//!   from `spawn_blocking`.
//! - **Timeouts and replacement.** A watchdog thread kills a worker whose command runs past
//!   the timeout; a worker that crashed, hung or desynchronised is dropped and a fresh one
//!   is spawned on the next call. A command that failed because its worker was already
//!   dead is retried once on a fresh worker.
//! - **rrdtool's own messages.** `ERROR: …` replies become [`RrdtoolError::Rrdtool`] with
//!   the message as rrdtool wrote it.
//! - **Geometry.** [`Pool::render`] uses `graphv -` and keeps the plot area, time range
//!   and value range with the image ([`Geometry`]), for zooming in a web page.
//! - **Locale.** Workers run with `LC_NUMERIC=C` so numbers parse; other locale settings
//!   are inherited (dates on the axis follow the user's locale).
//! - **Cheaper PNGs.** Workers preload a small library that makes libpng skip its row
//!   filter search ([`PoolConfig::png_zlib_level`]; same pixels, about a third less CPU
//!   per image).

mod alias;
mod commands;
pub mod pipe;
mod png_shim;
mod pool;
pub mod xport;

use std::ffi::OsString;
use std::time::Duration;

use crate::graph::GraphError;
pub use commands::{Geometry, Image, LastUpdate};
pub use pipe::Reply;
pub use pool::{Pool, PoolConfig};
pub use xport::Xport;

/// What went wrong running rrdtool.
#[derive(Debug, thiserror::Error)]
pub enum RrdtoolError {
    /// rrdtool could not be started at all.
    #[error("cannot run {program:?}: {source} (is rrdtool installed? On Debian: apt-get install rrdtool)")]
    Spawn {
        /// The program.
        program: OsString,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// rrdtool answered `ERROR: …` to the command.
    #[error("rrdtool {command}: {message}")]
    Rrdtool {
        /// The command (`graphv`, `xport`, `info`, …).
        command: String,
        /// rrdtool's own message.
        message: String,
    },
    /// The command ran past the timeout; its worker was killed.
    #[error("rrdtool {command} did not answer within {timeout:?}; the worker was replaced")]
    Timeout {
        /// The command.
        command: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The worker died or its output could not be read.
    #[error("rrdtool worker failed during {command}: {detail}{stderr}")]
    Worker {
        /// The command.
        command: String,
        /// What happened.
        detail: String,
        /// The end of rrdtool's stderr, if any (prefixed with `; stderr: `).
        stderr: String,
    },
    /// The graph cannot be turned into arguments.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// An argument cannot be sent in pipe mode.
    #[error(transparent)]
    Encode(#[from] pipe::Unencodable),
    /// rrdtool's reply lacks something it should have.
    #[error("unexpected reply to rrdtool {command}: {detail}")]
    Reply {
        /// The command.
        command: String,
        /// What is missing.
        detail: String,
    },
    /// xport output could not be read.
    #[error(transparent)]
    Xport(#[from] xport::XportError),
}
