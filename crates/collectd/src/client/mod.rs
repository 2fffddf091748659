//! The client: connections, counters and the background sender, with the original module's API.

mod connection;
mod hash;
mod local;
mod names;
mod registry;
mod runtime;
mod shard;
mod transport;

pub use connection::{Connection, ConnectionBuilder, Counter, DEFAULT_INTERVAL, DEFAULT_PORT, SenderStats, Stat};
pub use names::sanitize;
pub use runtime::{flush, shutdown, start_threads};
