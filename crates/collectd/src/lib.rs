//! Send application statistics to collectd servers over collectd's binary network protocol.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod protocol;
