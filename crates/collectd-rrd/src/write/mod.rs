//! Writing RRD files as collectd 5.12's rrdtool plugin writes them: the types database,
//! `rrdtool create` parameters and update strings (pure), and the batching writer that
//! runs them through the rrdtool pool.
//!
//! - [`types_db`]: which data sources each type has (built in, or from types.db files);
//! - [`create`]: `rrdtool create` arguments and update strings (pure; paths are
//!   [`crate::naming::file_path`]);
//! - [`cformat`]: C's `%f` and `%.15g`, which those strings need;
//! - [`writer`]: batches per file through the rrdtool pool, with collectd's update rules.

pub mod cformat;
pub mod create;
pub mod types_db;
pub mod writer;

pub use create::{CreateConfig, RrdCreateError};
pub use types_db::{DataSet, TypesDb, TypesDbError};
pub use writer::{Writer, WriterConfig, WriterError, WriterStats};
