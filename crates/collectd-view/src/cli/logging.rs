//! The binary's logger: what the libraries say through `log`, on stderr, one line each as
//! `collectd-view: [LEVEL: ]message`, its control characters escaped (a message may quote
//! a name from the network: no line may carry a terminal escape sequence). Warnings show by default, and this program's own
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
            let message = record.args().to_string();
            writeln!(out, "collectd-view: {level}{}", collectd_rrd::naming::printable(&message))
        })
        .init();
}

/// Text of several lines for the terminal: each line with its control characters escaped
/// ([`collectd_rrd::naming::printable`]), the line breaks kept.
///
/// ```
/// use collectd_view::cli::logging::printable_lines;
///
/// assert_eq!(printable_lines("no host \x1b[31m\n\nCaused by: x"), "no host \\x1b[31m\n\nCaused by: x");
/// ```
pub fn printable_lines(text: &str) -> String {
    text.split('\n').map(|line| collectd_rrd::naming::printable(line)).collect::<Vec<_>>().join("\n")
}
