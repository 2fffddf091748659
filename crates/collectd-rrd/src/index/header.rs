//! A reader for the fixed part of an RRD file (step, data sources, archives), so that the
//! index learns a file's data sources without spawning `rrdtool info` per file.
//!
//! The RRD format is the in-memory layout of rrdtool's C structs, so it depends on the
//! writer's architecture: byte order, the size of `unsigned long` (4 or 8) and the
//! alignment of `double` (4 on i386, 8 elsewhere). The layout is detected from the float
//! cookie (8.642135e130) that every RRD file carries, then checked for plausibility; a file
//! that does not fit any known layout is an error, and the caller may fall back to
//! `rrdtool info`.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// The float cookie rrdtool writes after the version to detect foreign layouts.
const FLOAT_COOKIE: f64 = 8.642135E130;
/// Size of the `ds_nam`, `dst` and `cf_nam` character arrays.
const NAME_SIZE: usize = 20;
/// Number of `unival` parameters in the head, DS and RRA definitions.
const PAR_COUNT: usize = 10;
/// Headers larger than this are refused (about 8000 data sources).
const MAX_HEADER: usize = 1 << 20;

/// Why an RRD header could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    /// The file could not be opened or read.
    #[error("cannot read RRD header of {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with rrdtool's `RRD\0` cookie.
    #[error("not an RRD file (no RRD cookie)")]
    NotRrd,
    /// The float cookie is at no known place: a layout this reader does not know.
    #[error("unknown RRD layout (float cookie not found)")]
    UnknownLayout,
    /// The header is shorter than its counts say, or the counts are implausible.
    #[error("truncated or corrupt RRD header: {0}")]
    Corrupt(&'static str),
}

/// One data source of an RRD file.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    /// The DS name, e.g. `value`, `rx`, `shortterm`.
    pub name: String,
    /// The DS type: `GAUGE`, `COUNTER`, `DERIVE`, `ABSOLUTE`, `DCOUNTER`, `DDERIVE`, `COMPUTE`.
    pub kind: String,
    /// The minimal heartbeat in seconds (not meaningful for `COMPUTE`).
    pub heartbeat: u64,
    /// The lower limit, `None` when unknown (`U`).
    pub min: Option<f64>,
    /// The upper limit, `None` when unknown (`U`).
    pub max: Option<f64>,
}

/// One round-robin archive of an RRD file.
#[derive(Debug, Clone, PartialEq)]
pub struct Archive {
    /// The consolidation function: `AVERAGE`, `MIN`, `MAX`, `LAST`, ...
    pub cf: String,
    /// Number of rows.
    pub rows: u64,
    /// Primary data points per row.
    pub pdp_per_row: u64,
}

/// The fixed part of an RRD file.
#[derive(Debug, Clone, PartialEq)]
pub struct RrdHeader {
    /// The format version, e.g. `0003`.
    pub version: String,
    /// The base step in seconds.
    pub step: u64,
    /// The data sources, in file order.
    pub data_sources: Vec<DataSource>,
    /// The archives, in file order.
    pub archives: Vec<Archive>,
    /// The time of the last update (seconds since the epoch), when it could be read.
    pub last_update: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
struct Layout {
    little: bool,
    /// Size of `unsigned long` and `time_t`.
    word: usize,
    /// Alignment of `double` (and so of `unival`).
    align: usize,
}

impl Layout {
    fn pad(&self, offset: usize) -> usize {
        offset.div_ceil(self.align) * self.align
    }

    fn word_at(&self, b: &[u8], at: usize) -> Option<u64> {
        let bytes = b.get(at..at + self.word)?;
        Some(match (self.word, self.little) {
            (8, true) => u64::from_le_bytes(bytes.try_into().ok()?),
            (8, false) => u64::from_be_bytes(bytes.try_into().ok()?),
            (_, true) => u64::from(u32::from_le_bytes(bytes.try_into().ok()?)),
            (_, false) => u64::from(u32::from_be_bytes(bytes.try_into().ok()?)),
        })
    }

    fn double_at(&self, b: &[u8], at: usize) -> Option<f64> {
        let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some(if self.little { f64::from_le_bytes(bytes) } else { f64::from_be_bytes(bytes) })
    }

    /// Offsets: (ds_cnt, rra_cnt, pdp_step, end of stat_head).
    fn stat_head(&self) -> (usize, usize, usize, usize) {
        let cookie = self.pad(9);
        let ds = cookie + 8;
        let rra = ds + self.word;
        let step = rra + self.word;
        let par = self.pad(step + self.word);
        (ds, rra, step, par + PAR_COUNT * 8)
    }

    fn ds_def_size(&self) -> usize {
        self.pad(2 * NAME_SIZE) + PAR_COUNT * 8
    }

    /// Offsets inside an rra_def: (row_cnt, pdp_cnt, size).
    fn rra_def(&self) -> (usize, usize, usize) {
        let rows = NAME_SIZE.div_ceil(self.word) * self.word;
        let pdp = rows + self.word;
        let par = self.pad(pdp + self.word);
        (rows, pdp, par + PAR_COUNT * 8)
    }
}

fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn detect(b: &[u8]) -> Result<Layout, HeaderError> {
    if b.len() < 4 || &b[..4] != b"RRD\0" {
        return Err(HeaderError::NotRrd);
    }
    // Candidates in order of likelihood: LP64, i386, ILP32 with 8-aligned doubles; both
    // byte orders.
    let mut found = None;
    'outer: for little in [true, false] {
        for (word, align) in [(8, 8), (4, 4), (4, 8)] {
            let layout = Layout { little, word, align };
            let cookie_at = layout.pad(9);
            if layout.double_at(b, cookie_at) != Some(FLOAT_COOKIE) {
                continue;
            }
            let (ds, rra, step, _) = layout.stat_head();
            let plausible = matches!(layout.word_at(b, ds), Some(1..=8000))
                && matches!(layout.word_at(b, rra), Some(1..=100_000))
                && matches!(layout.word_at(b, step), Some(1..=100_000_000));
            if plausible {
                found = Some(layout);
                break 'outer;
            }
        }
    }
    found.ok_or(HeaderError::UnknownLayout)
}

/// Parses the header from the first bytes of an RRD file. `b` must hold at least the
/// stat head, DS and RRA definitions (and the live head for `last_update`).
pub fn parse(b: &[u8]) -> Result<RrdHeader, HeaderError> {
    let layout = detect(b)?;
    let version = c_string(&b[4..9]);
    let (ds_at, rra_at, step_at, head_end) = layout.stat_head();
    let word = |at| layout.word_at(b, at).ok_or(HeaderError::Corrupt("short stat head"));
    let ds_count = word(ds_at)? as usize;
    let rra_count = word(rra_at)? as usize;
    let step = word(step_at)?;

    let ds_size = layout.ds_def_size();
    let mut data_sources = Vec::with_capacity(ds_count);
    for i in 0..ds_count {
        let at = head_end + i * ds_size;
        let def = b.get(at..at + ds_size).ok_or(HeaderError::Corrupt("short DS definitions"))?;
        let par = layout.pad(2 * NAME_SIZE);
        let name = c_string(&def[..NAME_SIZE]);
        if name.is_empty() {
            return Err(HeaderError::Corrupt("empty DS name"));
        }
        let unknown_to_none = |v: Option<f64>| v.filter(|v| !v.is_nan());
        data_sources.push(DataSource {
            name,
            kind: c_string(&def[NAME_SIZE..2 * NAME_SIZE]),
            heartbeat: layout.word_at(def, par).unwrap_or(0),
            min: unknown_to_none(layout.double_at(def, par + 8)),
            max: unknown_to_none(layout.double_at(def, par + 16)),
        });
    }

    let rra_start = head_end + ds_count * ds_size;
    let (rows_at, pdp_at, rra_size) = layout.rra_def();
    let mut archives = Vec::with_capacity(rra_count);
    for i in 0..rra_count {
        let at = rra_start + i * rra_size;
        let def = b.get(at..at + rra_size).ok_or(HeaderError::Corrupt("short RRA definitions"))?;
        archives.push(Archive {
            cf: c_string(&def[..NAME_SIZE]),
            rows: layout.word_at(def, rows_at).unwrap_or(0),
            pdp_per_row: layout.word_at(def, pdp_at).unwrap_or(0),
        });
    }
    // live_head: time_t last_up (a long on every platform rrdtool supports here).
    let live_at = rra_start + rra_count * rra_size;
    let last_update =
        layout.word_at(b, live_at).map(|v| if layout.word == 4 { i64::from(v as u32 as i32) } else { v as i64 });
    Ok(RrdHeader { version, step, data_sources, archives, last_update })
}

/// Reads and parses the header of the RRD file at `path`, reading only its first bytes.
pub fn read(path: &Path) -> Result<RrdHeader, HeaderError> {
    let io = |source| HeaderError::Io { path: path.display().to_string(), source };
    let mut file = File::open(path).map_err(io)?;
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        let n = file.read(&mut buf[len..]).map_err(io)?;
        len += n;
        match parse(&buf[..len]) {
            Err(HeaderError::Corrupt(_)) if n > 0 && buf.len() < MAX_HEADER => {
                if len == buf.len() {
                    buf.resize(buf.len() * 2, 0);
                }
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an LP64 little-endian header like rrdtool 1.7 on x86_64 writes.
    fn lp64(ds: &[(&str, &str)], rras: &[(&str, u64, u64)]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(b"RRD\0");
        b.extend_from_slice(b"0003\0");
        b.resize(16, 0);
        b.extend_from_slice(&FLOAT_COOKIE.to_le_bytes());
        b.extend_from_slice(&(ds.len() as u64).to_le_bytes());
        b.extend_from_slice(&(rras.len() as u64).to_le_bytes());
        b.extend_from_slice(&10u64.to_le_bytes());
        b.resize(128, 0);
        for (name, kind) in ds {
            let start = b.len();
            b.extend_from_slice(name.as_bytes());
            b.resize(start + 20, 0);
            b.extend_from_slice(kind.as_bytes());
            b.resize(start + 40, 0);
            b.extend_from_slice(&20u64.to_le_bytes());
            b.extend_from_slice(&f64::NAN.to_le_bytes());
            b.extend_from_slice(&5000f64.to_le_bytes());
            b.resize(start + 120, 0);
        }
        for (cf, rows, pdp) in rras {
            let start = b.len();
            b.extend_from_slice(cf.as_bytes());
            b.resize(start + 24, 0);
            b.extend_from_slice(&rows.to_le_bytes());
            b.extend_from_slice(&pdp.to_le_bytes());
            b.resize(start + 120, 0);
        }
        b.extend_from_slice(&1_700_000_000u64.to_le_bytes());
        b.extend_from_slice(&0u64.to_le_bytes());
        b
    }

    #[test]
    fn parses_lp64() {
        let b = lp64(&[("rx", "DERIVE"), ("tx", "DERIVE")], &[("AVERAGE", 1200, 1), ("MAX", 1235, 7)]);
        let h = parse(&b).unwrap();
        assert_eq!(h.version, "0003");
        assert_eq!(h.step, 10);
        assert_eq!(h.data_sources.len(), 2);
        assert_eq!(h.data_sources[1].name, "tx");
        assert_eq!(h.data_sources[1].kind, "DERIVE");
        assert_eq!(h.data_sources[0].heartbeat, 20);
        assert_eq!(h.data_sources[0].min, None);
        assert_eq!(h.data_sources[0].max, Some(5000.0));
        assert_eq!(h.archives[1], Archive { cf: "MAX".into(), rows: 1235, pdp_per_row: 7 });
        assert_eq!(h.last_update, Some(1_700_000_000));
    }

    #[test]
    fn refuses_garbage_without_panicking() {
        assert!(matches!(parse(b""), Err(HeaderError::NotRrd)));
        assert!(matches!(parse(b"RRD\0"), Err(HeaderError::UnknownLayout)));
        let b = lp64(&[("value", "GAUGE")], &[("AVERAGE", 1, 1)]);
        for cut in 0..b.len() - 16 {
            let _ = parse(&b[..cut]);
        }
        assert!(matches!(parse(&b[..200]), Err(HeaderError::Corrupt("short DS definitions"))));
    }
}
