//! Running the `rrdtool` binary (`info`, `fetch`) on RRD files and parsing
//! its output.
//!
//! The binary is run directly (no shell) with `LC_ALL=C` so numbers use a
//! decimal point.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::error::{Error, ErrorKind};
use crate::gate::{RRDTOOL_PACKAGE, find_rrdtool};

/// One row of `rrdtool fetch`: the row's time (seconds since the epoch) and
/// one value per data source, `None` for unknown (`nan`).
pub type FetchRow = (i64, Vec<Option<f64>>);

fn run_rrdtool(args: &[&std::ffi::OsStr]) -> Result<String, Error> {
    let bin = find_rrdtool().ok_or_else(|| {
        Error::new(
            ErrorKind::NotInstalled,
            format!("rrdtool binary not found: install the Debian package `{RRDTOOL_PACKAGE}`"),
        )
    })?;
    let out = Command::new(&bin)
        .args(args)
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| Error::new(ErrorKind::Io, format!("running {}: {e}", bin.display())))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(Error::new(
            ErrorKind::Command,
            format!("rrdtool {:?} failed ({}): {}{}", args, out.status, String::from_utf8_lossy(&out.stderr), stdout),
        ));
    }
    Ok(stdout)
}

/// Runs `rrdtool info PATH` and returns its output.
///
/// # Errors
///
/// When rrdtool is missing, cannot be run, or fails (e.g. no such file).
pub fn try_rrd_info(path: impl AsRef<Path>) -> Result<String, Error> {
    run_rrdtool(&["info".as_ref(), path.as_ref().as_os_str()])
}

/// Runs `rrdtool info PATH` and returns its output (`key = value` lines, see
/// [`parse_rrd_info`]).
///
/// # Panics
///
/// When [`try_rrd_info`] fails; the message includes rrdtool's stderr.
pub fn rrd_info(path: impl AsRef<Path>) -> String {
    try_rrd_info(path).unwrap_or_else(|e| panic!("{e}"))
}

/// Splits `rrdtool info` output into a map from key (e.g. `step`,
/// `ds[value].type`, `rra[0].pdp_per_row`) to value, with the double quotes
/// around string values removed.
///
/// ```
/// let info = testkit::parse_rrd_info("step = 10\nds[value].type = \"GAUGE\"\n");
/// assert_eq!(info["step"], "10");
/// assert_eq!(info["ds[value].type"], "GAUGE");
/// ```
pub fn parse_rrd_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once(" = "))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
            (k.trim().to_owned(), v.to_owned())
        })
        .collect()
}

/// Runs `rrdtool fetch PATH CF -s START -e END` (times in seconds since the
/// epoch) and parses the rows.
///
/// # Errors
///
/// When rrdtool is missing or fails, or a row cannot be parsed.
pub fn try_rrd_fetch(path: impl AsRef<Path>, cf: &str, start: i64, end: i64) -> Result<Vec<FetchRow>, Error> {
    try_rrd_fetch_at(path, cf, start, end, None)
}

/// [`try_rrd_fetch`] at a resolution (`-r SECONDS`): rrdtool reads the archive closest to it.
///
/// # Errors
///
/// As [`try_rrd_fetch`].
pub fn try_rrd_fetch_at(
    path: impl AsRef<Path>,
    cf: &str,
    start: i64,
    end: i64,
    resolution: Option<u64>,
) -> Result<Vec<FetchRow>, Error> {
    let (start, end) = (start.to_string(), end.to_string());
    let resolution = resolution.map(|r| r.to_string());
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "fetch".as_ref(),
        path.as_ref().as_os_str(),
        cf.as_ref(),
        "-s".as_ref(),
        start.as_ref(),
        "-e".as_ref(),
        end.as_ref(),
    ];
    if let Some(r) = &resolution {
        args.extend([std::ffi::OsStr::new("-r"), std::ffi::OsStr::new(r)]);
    }
    parse_rrd_fetch(&run_rrdtool(&args)?)
}

/// The time of a file's last update (`rrdtool last`), when it can be read.
pub fn rrd_last(path: impl AsRef<Path>) -> Option<i64> {
    run_rrdtool(&["last".as_ref(), path.as_ref().as_os_str()]).ok()?.trim().parse().ok()
}

/// Runs `rrdtool fetch PATH CF -s START -e END` and returns one row per step:
/// `(time, values)` with `None` for unknown values.
///
/// # Panics
///
/// When [`try_rrd_fetch`] fails.
pub fn rrd_fetch(path: impl AsRef<Path>, cf: &str, start: i64, end: i64) -> Vec<FetchRow> {
    try_rrd_fetch(path, cf, start, end).unwrap_or_else(|e| panic!("{e}"))
}

/// Parses `rrdtool fetch` output: a header line of data-source names, a blank
/// line, then `TIME: v1 v2 ...` rows where unknown values print as `nan` or
/// `-nan`.
///
/// ```
/// let rows = testkit::parse_rrd_fetch(
///     "                 value\n\n1700000010: 1.5000000000e+00\n1700000020: -nan\n",
/// ).unwrap();
/// assert_eq!(rows, vec![(1700000010, vec![Some(1.5)]), (1700000020, vec![None])]);
/// ```
///
/// # Errors
///
/// When a row's time or value is not a number.
pub fn parse_rrd_fetch(text: &str) -> Result<Vec<FetchRow>, Error> {
    let bad = |line: &str| Error::new(ErrorKind::Command, format!("bad rrdtool fetch row: {line:?}"));
    let mut rows = Vec::new();
    for line in text.lines() {
        let Some((time, values)) = line.split_once(':') else {
            continue; // header or blank line
        };
        let time: i64 = time.trim().parse().map_err(|_| bad(line))?;
        let values = values
            .split_whitespace()
            .map(|v| {
                if v.trim_start_matches('-').eq_ignore_ascii_case("nan") {
                    Ok(None)
                } else {
                    v.parse().map(Some).map_err(|_| bad(line))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        rows.push((time, values));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_with_several_sources() {
        let text = "     shortterm  midterm longterm\n\n10: 1.0e+00 nan 2.5e-01\n";
        assert_eq!(parse_rrd_fetch(text).unwrap(), vec![(10, vec![Some(1.0), None, Some(0.25)])]);
        assert!(parse_rrd_fetch("10: x\n").is_err());
    }
}
