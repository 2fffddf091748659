//! `collectd-view dump`: print every value list and notification received as a JSON line
//! on stdout ([`crate::dump`] says what a line holds); malformed datagrams on stderr.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use collectd::protocol::parse;
use collectd::server::MAX_DATAGRAM;

use super::listen::ListenArgs;
use crate::dump;

/// `collectd-view dump`: print received records as JSON lines.
#[derive(clap::Args, Debug, Clone)]
pub struct DumpArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub listen: ListenArgs,
    /// Exit after printing this many records (value lists and notifications).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Also report what the parser skipped (unprotected parts, dropped value lists, unknown
    /// parts) on stderr.
    #[arg(long, short)]
    pub verbose: bool,
}

/// What went wrong dumping.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// `--count 0` would exit before listening.
    #[error("--count must be at least 1")]
    ZeroCount,
}

/// Runs `dump` until `--count` records were printed, stdout is closed, or the process is
/// stopped.
pub fn run(args: DumpArgs) -> anyhow::Result<()> {
    if args.count == Some(0) {
        return Err(DumpError::ZeroCount.into());
    }
    let (listener, mut auth) = args.listen.open(Duration::from_secs(1))?;
    log::info!("dump: {}", listener.describe());
    if let Some(warning) = listener.buffer_warning() {
        log::warn!("{warning}");
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut printed = 0u64;
    loop {
        let (len, from) = match listener.socket.recv_from(&mut buf) {
            Ok(received) => received,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("receiving on {}", listener.local)),
        };
        if let Some(message) = auth.refresh() {
            log::info!("{message}");
        }
        let bytes = &buf[..len];
        let datagram = parse(bytes, &auth.security());
        for record in &datagram.records {
            let json = serde_json::to_string(&dump::record_json(record, from)).context("encoding JSON")?;
            let line = terminal_safe_json(&json);
            if !write_line(&mut out, &line)? {
                return Ok(());
            }
            printed += 1;
            if args.count.is_some_and(|n| printed >= n) {
                return flush(&mut out);
            }
        }
        if !flush_ok(&mut out)? {
            return Ok(());
        }
        for error in &datagram.errors {
            log::warn!("malformed datagram from {from} ({len} bytes): {error}");
        }
        if args.verbose {
            for notice in &datagram.notices {
                log::warn!("datagram from {from} ({len} bytes): {notice}");
            }
        }
    }
}

/// A JSON line with every character a terminal could act on written as a `\uXXXX`
/// escape: serde_json escapes the C0 controls (`ESC` is `\u001b`) but writes `DEL`, the
/// C1 controls (U+009B is a CSI to some terminals) and the bidirectional overrides as they
/// are. They can only be inside strings, where the escape means the same character.
fn terminal_safe_json(json: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    };
    if !json.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes a line; false when stdout is closed (a reader like `head` went away).
fn write_line(out: &mut impl Write, line: &str) -> anyhow::Result<bool> {
    match writeln!(out, "{line}") {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("writing to stdout"),
    }
}

fn flush_ok(out: &mut impl Write) -> anyhow::Result<bool> {
    match out.flush() {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(e).context("writing to stdout"),
    }
}

fn flush(out: &mut impl Write) -> anyhow::Result<()> {
    flush_ok(out).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_carry_no_terminal_controls() {
        let json = serde_json::to_string(&serde_json::json!({"host": "a\u{1b}[31m\u{7f}\u{9b}2J\u{202e}z"})).unwrap();
        let safe = terminal_safe_json(&json);
        assert!(!safe.chars().any(|c| c.is_control()), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["host"], "a\u{1b}[31m\u{7f}\u{9b}2J\u{202e}z");
    }

    #[test]
    fn write_line_stops_quietly_on_a_closed_pipe() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
        }
        assert!(!write_line(&mut Closed, "x").unwrap());
        assert!(!flush_ok(&mut Closed).unwrap());
    }
}
