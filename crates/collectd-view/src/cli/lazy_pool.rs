//! The command-line tools' rrdtool, started only when something needs it.

use std::sync::OnceLock;

use collectd_rrd::rrdtool::{Pool, PoolConfig};

/// The command-line tools' rrdtool: one pool, started the first time something needs
/// rrdtool (`rrdtool info` for a header the index cannot read, ordering a stack, rendering),
/// so that printing commands and listing files work without rrdtool.
pub struct LazyPool {
    config: PoolConfig,
    pool: OnceLock<Result<Pool, String>>,
}

impl LazyPool {
    pub fn new(config: PoolConfig) -> Self {
        LazyPool { config, pool: OnceLock::new() }
    }

    /// The pool, started now if it was not; why it could not start otherwise.
    pub fn get(&self) -> Result<&Pool, &str> {
        self.pool
            .get_or_init(|| Pool::new(self.config.clone()).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }

    /// What starting the pool gave, if it was started.
    pub fn started(&self) -> Option<Result<&Pool, &str>> {
        self.pool.get().map(|r| r.as_ref().map_err(String::as_str))
    }
}
