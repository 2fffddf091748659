//! The binary's logger: what the libraries say through `log`, on stderr, one line each as
//! `collectd-view: [LEVEL: ]message`. Warnings show by default, and this program's own
//! progress (listening, serving, stopping); `RUST_LOG` (env_logger's syntax) says otherwise.

use std::io::Write;

/// What shows without `RUST_LOG`: warnings from everything (the client library's among
/// them), and the progress lines of this program and its read/write library.
pub const DEFAULT_FILTER: &str = "warn,collectd_view=info,collectd_rrd=info";

/// Installs the logger; call once, first thing in `main`.
pub fn init() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(DEFAULT_FILTER))
        .format(|out, record| {
            let level = match record.level() {
                log::Level::Info => String::new(),
                log::Level::Warn => "warning: ".to_owned(),
                log::Level::Error => "error: ".to_owned(),
                other => format!("{} {}: ", other.as_str().to_ascii_lowercase(), record.target()),
            };
            writeln!(out, "collectd-view: {level}{}", record.args())
        })
        .init();
}
