//! `collectd-rrd`: everything about a collectd DataDir and rrdtool, as a library with no
//! flags, no web and no async runtime.
//!
//! - [`naming`]: path ⇄ identifier ⇄ category / specific / stat, both ways, once.
//! - [`index`]: the DataDir as hosts → plugins → types, with the original module's names
//!   read as category / specific / stat; thread-safe, refreshed incrementally.
//! - [`graph`]: the graph model and its pure translation into `rrdtool graph` arguments,
//!   with the graph policies that need data (stack order, averages).
//! - [`select`]: selections by name → graphs of the kinds the names call for; the `ls` tree.
//! - [`time`]: rrdtool's at-style times (`-1d`, `now-2h`, `end-1w`), read strictly.
//! - [`rrdtool`]: a pool of long-lived `rrdtool -` processes and the typed commands run on it.
//! - [`write`](mod@write): RRD files as collectd's rrdtool plugin writes them (types.db, create
//!   parameters, update rules, the batching writer).
//! - [`receive`]: the embedded receiver: datagrams → RRD files.
//! - [`flush`]: asks collectd (unixsock) or rrdcached to write cached values before a read.
//! - [`log_limit`]: rate-limited warnings through `log`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod flush;
pub mod graph;
pub mod index;
pub mod log_limit;
pub mod naming;
pub mod receive;
pub mod rrdtool;
pub mod select;
pub mod source;
pub mod time;
pub mod write;

use std::sync::Arc;

use index::{Index, IndexError, RrdFile};
use rrdtool::{Pool, RrdtoolError};

/// Why a file's data sources could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DsError {
    /// The header could not be read, and no rrdtool was there to ask.
    #[error(transparent)]
    Header(Box<IndexError>),
    /// Neither the header nor `rrdtool info` could be read.
    #[error("{header}; rrdtool info: {info}")]
    HeaderThenInfo {
        /// Why the header could not be read.
        header: Box<IndexError>,
        /// Why `rrdtool info` failed.
        #[source]
        info: Box<RrdtoolError>,
    },
}

/// The usual data-source lookup: the index's own header reader, falling back to
/// `rrdtool info` through `pool` (when given) for files whose layout it does not know.
///
/// ```no_run
/// use std::sync::Arc;
///
/// let index = Arc::new(collectd_rrd::index::Index::open("/var/lib/collectd/rrd").unwrap());
/// let lookup = collectd_rrd::ds_lookup(&index, None);
/// for file in index.snapshot().files() {
///     println!("{}: {:?}", file.id, lookup(file).unwrap_or_default());
/// }
/// ```
pub fn ds_lookup<'a>(
    index: &'a Arc<Index>,
    pool: Option<&'a Pool>,
) -> impl Fn(&RrdFile) -> Result<Vec<String>, DsError> + 'a {
    ds_lookup_with(index, move || pool)
}

/// [`ds_lookup`] with the pool asked for only when a header needs `rrdtool info`, so
/// that a command-line tool starts rrdtool only if some file needs it.
pub fn ds_lookup_with<'a>(
    index: &'a Arc<Index>,
    pool: impl Fn() -> Option<&'a Pool> + 'a,
) -> impl Fn(&RrdFile) -> Result<Vec<String>, DsError> + 'a {
    move |file| match index.header(file) {
        Ok(h) => Ok(h.data_sources.iter().map(|d| d.name.clone()).collect()),
        Err(header) => match pool() {
            Some(p) => p
                .data_sources(&file.path)
                .map_err(|info| DsError::HeaderThenInfo { header: Box::new(header), info: Box::new(info) }),
            None => Err(DsError::Header(Box::new(header))),
        },
    }
}
