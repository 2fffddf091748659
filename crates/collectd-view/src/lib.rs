//! `collectd-view`: the program that graphs, browses and receives what collectd stores as RRD
//! files. The read/write work is the `collectd_rrd` library's; this crate is its user
//! interfaces, built as a library so that its tests can drive them in-process.
//!
//! - [`cli`]: every subcommand's options and `run`, and the logger.
//! - [`web`]: the web interface (`serve`): overview → host → category → stat, combine.
//! - [`dump`]: received value lists and notifications as JSON lines (`dump`).
//! - [`demo`]: the original module's examples as traffic for `demo`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod demo;
pub mod dump;
pub mod web;
