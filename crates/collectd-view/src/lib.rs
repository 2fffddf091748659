//! `collectd-view`: everything that reads collectd's RRD files.
//!
//! - [`index`]: the DataDir as hosts → plugins → types, with the original module's names
//!   read as category / specific / stat; thread-safe, refreshed incrementally.
//! - [`graph`]: the graph model and its pure translation into `rrdtool graph` arguments.
//! - [`rrdtool`]: a pool of long-lived `rrdtool -` processes that renders and exports.
//! - [`select`]: selections by name → graphs of the kinds the names call for; the `ls` tree.
//! - [`receiver`]: the embedded receiver: datagrams → RRD files as collectd's rrdtool plugin
//!   writes them (`receive`).
//! - [`demo`]: the whole chain on loopback: library traffic → receiver → files → web (`demo`).
//! - [`dump`]: received value lists and notifications as JSON lines (`dump`).
//! - [`flush`]: asks collectd (unixsock) to write its cached values before files are read.
//! - [`web`]: the web interface (`serve`): overview → host → category → stat, combine.

#![warn(missing_docs)]

pub mod demo;
pub mod dump;
pub mod flush;
pub mod graph;
pub mod index;
pub mod receiver;
pub mod rrdtool;
pub mod select;
pub mod web;

use std::sync::Arc;

use index::{Index, RrdFile};
use rrdtool::Pool;

/// The usual data-source lookup: the index's own header reader, falling back to
/// `rrdtool info` through `pool` (when given) for files whose layout it does not know.
pub fn ds_lookup<'a>(
    index: &'a Arc<Index>,
    pool: Option<&'a Pool>,
) -> impl Fn(&RrdFile) -> Result<Vec<String>, String> + 'a {
    ds_lookup_with(index, move || pool)
}

/// [`ds_lookup`] with the pool asked for only when a header needs `rrdtool info`, so
/// that a command-line tool starts rrdtool only if some file needs it.
pub fn ds_lookup_with<'a>(
    index: &'a Arc<Index>,
    pool: impl Fn() -> Option<&'a Pool> + 'a,
) -> impl Fn(&RrdFile) -> Result<Vec<String>, String> + 'a {
    move |file| match index.header(file) {
        Ok(h) => Ok(h.data_sources.iter().map(|d| d.name.clone()).collect()),
        Err(e) => match pool() {
            Some(p) => p.data_sources(&file.path).map_err(|pe| format!("{e}; rrdtool info: {pe}")),
            None => Err(e.to_string()),
        },
    }
}
