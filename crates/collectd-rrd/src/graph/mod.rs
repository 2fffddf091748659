//! The graph model and its translation into `rrdtool graph` / `xport` arguments. Pure: no
//! I/O, no clock, no process; the same [`Graph`] gives the same argv every time.
//!
//! A [`Graph`] is a list of [`Series`] (each one or more [`Source`]s: file, data source),
//! a [`Kind`] saying how to draw them, a time range (rrdtool's at-style times), a size, a
//! [`Format`], a title and a vertical label.
//!
//! - [`Kind::Band`]: per series a min–max band (from the MIN and MAX archives) under the
//!   average line; legend with min, average, max, last.
//! - [`Kind::Lines`]: one average line per series.
//! - [`Kind::Stack`]: the series stacked with cumulative `ADDNAN` sums (a gap in every series
//!   stays a gap; one missing series does not zero the others), optionally a total drawn
//!   as a line above, and an "other" remainder `max(total − Σ series, 0)`.
//!
//! A series of several sources is their sum, average, minimum or maximum
//! ([`Combine`]), ignoring unknown values (`ADDNAN`, `AVG`, `MINNAN`, `MAXNAN`): that is
//! how hosts are summed or averaged.
//!
//! Variable names are generated (`s0`, `s0min`, `t`, …), never taken from names; paths and
//! legends are escaped ([`escape`]); colours come from a hash of the label ([`color`])
//! unless a series carries its own.
//!
//! A graph also takes, as data: an order of its series ([`Graph::order`], e.g. by value,
//! [`style::order_by_value`]), a scale (a `CDEF` multiplying every value) and a `--base`;
//! [`style`] fills these in from per-type and per-category overrides.

pub mod averages;
pub mod color;
pub mod escape;
pub mod style;

use std::path::PathBuf;

/// Why a graph cannot be turned into arguments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// The graph has no series, or a series has no source.
    #[error("graph {title:?} has nothing to draw: {what}")]
    Empty {
        /// The graph's title.
        title: String,
        /// What is empty.
        what: String,
    },
    /// A data source name rrdtool would refuse (`[A-Za-z0-9_]{1,19}`).
    #[error("invalid data source name {ds:?} in {file}")]
    DataSource {
        /// The DS name.
        ds: String,
        /// The file.
        file: String,
    },
    /// A path that cannot be passed to rrdtool (not UTF-8, a line break, a trailing `\`).
    #[error("unusable RRD path {0:?}")]
    Path(String),
    /// A text argument with control characters.
    #[error("invalid {what}: {value:?} (control characters are not allowed)")]
    Text {
        /// Which argument.
        what: &'static str,
        /// Its value.
        value: String,
    },
    /// A `--base` other than 1000 or 1024.
    #[error("invalid base {0} (1000 or 1024)")]
    Base(u32),
    /// A scale that is not a finite, non-zero number.
    #[error("invalid scale {0} (a finite number other than 0)")]
    Scale(String),
    /// A size out of range.
    #[error("invalid size {width}x{height} (each must be 10..=10000 pixels)")]
    Size {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
}

/// An image format rrdtool can render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// PNG.
    #[default]
    Png,
    /// SVG.
    Svg,
    /// PDF.
    Pdf,
}

impl Format {
    /// The name rrdtool's `--imgformat` takes.
    pub fn rrdtool_name(self) -> &'static str {
        match self {
            Format::Png => "PNG",
            Format::Svg => "SVG",
            Format::Pdf => "PDF",
        }
    }

    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
            Format::Pdf => "pdf",
        }
    }

    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Svg => "image/svg+xml",
            Format::Pdf => "application/pdf",
        }
    }
}

impl Format {
    /// The format a file name's extension calls for (`.svg`, `.pdf`; anything else: PNG).
    pub fn from_file_name(name: &str) -> Format {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".svg") {
            Format::Svg
        } else if lower.ends_with(".pdf") {
            Format::Pdf
        } else {
            Format::Png
        }
    }
}

/// An image format that is not png, svg or pdf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format {0:?} (png, svg or pdf)")]
pub struct FormatError(pub String);

impl std::str::FromStr for Format {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, FormatError> {
        match s.to_ascii_lowercase().as_str() {
            "png" => Ok(Format::Png),
            "svg" => Ok(Format::Svg),
            "pdf" => Ok(Format::Pdf),
            _ => Err(FormatError(s.to_owned())),
        }
    }
}

/// A consolidation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cf {
    /// `AVERAGE`.
    Average,
    /// `MIN`.
    Min,
    /// `MAX`.
    Max,
    /// `LAST`.
    Last,
}

impl Cf {
    /// rrdtool's name.
    pub fn name(self) -> &'static str {
        match self {
            Cf::Average => "AVERAGE",
            Cf::Min => "MIN",
            Cf::Max => "MAX",
            Cf::Last => "LAST",
        }
    }
}

/// One data source of one RRD file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Source {
    /// The RRD file (from the index, never from raw input).
    pub file: PathBuf,
    /// The data source name.
    pub ds: String,
}

/// How the sources of a series are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Combine {
    /// Their sum; unknown values are skipped (`ADDNAN`), all unknown gives unknown.
    #[default]
    Sum,
    /// Their average over the known values (`AVG`).
    Average,
    /// Their minimum over the known values (`MINNAN`).
    Min,
    /// Their maximum over the known values (`MAXNAN`).
    Max,
}

/// One drawn series: a label and the sources it is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The legend text (also the colour's seed).
    pub label: String,
    /// The sources; one for a plain series.
    pub sources: Vec<Source>,
    /// How several sources are combined.
    pub combine: Combine,
    /// The consolidation function of the line (`AVERAGE` unless told otherwise); bands
    /// also read `MIN` and `MAX`.
    pub cf: Cf,
    /// The colour; `None`: one hashed from the label ([`color::for_name`]).
    pub color: Option<color::Rgb>,
}

impl Series {
    /// A series of one source, drawn from the AVERAGE archives.
    pub fn single(label: impl Into<String>, file: impl Into<PathBuf>, ds: impl Into<String>) -> Self {
        Series {
            label: label.into(),
            sources: vec![Source { file: file.into(), ds: ds.into() }],
            combine: Combine::Sum,
            cf: Cf::Average,
            color: None,
        }
    }

    /// A series combining several sources.
    pub fn combined(label: impl Into<String>, sources: Vec<Source>, combine: Combine) -> Self {
        Series { label: label.into(), sources, combine, cf: Cf::Average, color: None }
    }

    /// The colour the series is drawn in.
    pub fn rgb(&self) -> color::Rgb {
        self.color.unwrap_or_else(|| color::for_name(&self.label))
    }
}

/// How a graph draws its series.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Per series: a min–max band and the average line.
    Band,
    /// Per series: one line.
    Lines,
    /// The series stacked; `total` drawn as a line above; `remainder` adds an "other" area
    /// for what the total has beyond the stacked series.
    Stack {
        /// The total (e.g. the base series of a stat), drawn as a line.
        total: Option<Series>,
        /// Whether to draw `max(total − Σ series, 0)` as an "other" area on top.
        remainder: bool,
    },
}

/// Whether to add `reduce=MIN`/`reduce=MAX` to the band's DEFs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduce {
    /// When the span is longer than the graph's width times [`Graph::step_hint`] (several
    /// rows per pixel), or unknown.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// A graph: series, kind, time range, size, format and texts.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// What to draw.
    pub series: Vec<Series>,
    /// How to draw it.
    pub kind: Kind,
    /// Start time, at-style (`end-1d`, `-3600`, epoch seconds).
    pub start: String,
    /// End time, at-style (`now`).
    pub end: String,
    /// Width of the plot area in pixels.
    pub width: u32,
    /// Height of the plot area in pixels.
    pub height: u32,
    /// Image format.
    pub format: Format,
    /// Title (empty for none).
    pub title: String,
    /// Vertical label (empty for none).
    pub vertical_label: String,
    /// rrdcached address: rrdtool flushes the files there before reading (`--daemon`).
    pub daemon: Option<String>,
    /// `-Z`: a missing file or DS becomes a gap instead of an error.
    pub missing_as_gap: bool,
    /// `reduce=` on band DEFs.
    pub reduce: Reduce,
    /// The files' step in seconds, for [`Reduce::Auto`] (collectd's default: 10).
    pub step_hint: u32,
    /// Series labels in the order to draw them (the first at the bottom of a stack, then
    /// up); series not named keep their order after those named. Empty: as listed.
    pub order: Vec<String>,
    /// Every value is multiplied by this (e.g. 8: bytes to bits), with a `CDEF`.
    pub scale: Option<f64>,
    /// `--base`: 1024 for memory and disk sizes (rrdtool's default is 1000).
    pub base: Option<u32>,
    /// The grid lines' colours.
    pub grid: Grid,
    /// rrdtool options giving the graph its look (colours, fonts, no watermark: see
    /// [`style::look`]), placed before the graph's own options.
    pub look: Vec<String>,
    /// The values' unit, named in the legend's header (empty: none).
    pub unit: String,
    /// Whether legend values take an SI prefix (`12.3 k`); `false` for counts and jiffies,
    /// printed with four significant digits and no prefix.
    pub si_prefix: bool,
    /// `PRINT` each series' minimum, average, maximum and last value (in that order, the
    /// stack's total after the series): `graphv` reports them as `print[i]`, `nan` when
    /// the range holds no value ([`Graph::printed`] reads them back).
    pub print_values: bool,
}

/// The colours of the grid lines, `RRGGBB` or `RRGGBBAA` as rrdtool's `--color` takes them.
///
/// The lines are drawn solid (`--grid-dash 1:0`), not in rrdtool's dots of one pixel on,
/// one off: cairo strokes every dash on its own, so dotted grid lines cost about a fifth of
/// the time rrdtool takes to draw a graph, solid ones almost nothing. At half the opacity
/// of the dots they put as much ink on the page; the default is rrdtool's own colours at
/// half their opacity.
///
/// ```
/// use collectd_rrd::graph::{Graph, Grid, Kind, Series};
///
/// let mut graph = Graph::new(Kind::Lines, vec![Series::single("x", "/d/x.rrd", "value")]);
/// graph.grid = Grid { minor: "E6E8EB80".into(), major: "C9CED480".into() };
/// let args = graph.args().unwrap();
/// assert!(args.windows(2).any(|w| w == ["--color", "GRID#E6E8EB80"]));
/// assert!(args.windows(2).any(|w| w == ["--grid-dash", "1:0"]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    /// Minor grid lines (`GRID`).
    pub minor: String,
    /// Major grid lines (`MGRID`).
    pub major: String,
}

impl Default for Grid {
    /// rrdtool's grid colours (`8F8F8F` at 75 %, `DE4F4F` at 60 %) at half that opacity.
    fn default() -> Self {
        Grid { minor: "8F8F8F60".into(), major: "DE4F4F4D".into() }
    }
}

impl Grid {
    fn args(&self) -> Result<[String; 6], GraphError> {
        for (what, value) in [("minor grid colour", &self.minor), ("major grid colour", &self.major)] {
            if !matches!(value.len(), 6 | 8) || !value.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(GraphError::Text { what, value: value.clone() });
            }
        }
        Ok([
            "--grid-dash".into(),
            "1:0".into(),
            "--color".into(),
            format!("GRID#{}", self.minor),
            "--color".into(),
            format!("MGRID#{}", self.major),
        ])
    }
}

impl Graph {
    /// A graph of `series` drawn as `kind` over the last day, 800×300 PNG.
    pub fn new(kind: Kind, series: Vec<Series>) -> Self {
        Graph {
            series,
            kind,
            start: "end-1d".into(),
            end: "now".into(),
            width: 800,
            height: 300,
            format: Format::Png,
            title: String::new(),
            vertical_label: String::new(),
            daemon: None,
            missing_as_gap: false,
            reduce: Reduce::Auto,
            step_hint: 10,
            order: Vec::new(),
            scale: None,
            base: None,
            grid: Grid::default(),
            look: Vec::new(),
            unit: String::new(),
            si_prefix: true,
            print_values: false,
        }
    }

    /// The series in drawing order ([`Graph::order`] applied).
    pub fn ordered_series(&self) -> Vec<&Series> {
        let mut out: Vec<&Series> = Vec::with_capacity(self.series.len());
        for name in &self.order {
            for s in &self.series {
                if &s.label == name && !out.iter().any(|o| std::ptr::eq(*o, s)) {
                    out.push(s);
                }
            }
        }
        for s in &self.series {
            if !out.iter().any(|o| std::ptr::eq(*o, s)) {
                out.push(s);
            }
        }
        out
    }

    /// This graph with its series reordered as [`Graph::order`] says and the order cleared.
    fn in_order(&self) -> std::borrow::Cow<'_, Graph> {
        if self.order.is_empty() {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut g = self.clone();
        g.series = self.ordered_series().into_iter().cloned().collect();
        g.order.clear();
        std::borrow::Cow::Owned(g)
    }

    /// The arguments of `rrdtool graph FILE` after FILE: options, then elements.
    pub fn args(&self) -> Result<Vec<String>, GraphError> {
        if !self.order.is_empty() {
            return self.in_order().args();
        }
        let mut out = self.look.clone();
        for o in &self.look {
            text("look option", o)?;
        }
        out.extend(self.options()?);
        if matches!(self.kind, Kind::Stack { .. } | Kind::Band) {
            // Areas from 0, so that a stack's parts (and a band's floor) are not cut off;
            // without --rigid, rrdtool still goes below 0 for negative values.
            out.push("--lower-limit".into());
            out.push("0".into());
        }
        out.push("--imgformat".into());
        out.push(self.format.rrdtool_name().into());
        out.extend(self.grid.args()?);
        if !self.title.is_empty() {
            out.push("--title".into());
            out.push(self.title.clone());
        }
        if !self.vertical_label.is_empty() {
            out.push("--vertical-label".into());
            out.push(self.vertical_label.clone());
        }
        if let Some(base) = self.base {
            if base != 1000 && base != 1024 {
                return Err(GraphError::Base(base));
            }
            out.push("--base".into());
            out.push(base.to_string());
        }
        if self.missing_as_gap {
            out.push("--use-nan-for-all-missing-data".into());
        }
        Builder::new(self).elements(&mut out)?;
        Ok(out)
    }

    /// The values a `graphv` of this graph printed (with [`Graph::print_values`]), from its
    /// `print[i]` lines: per series (the stack's total last) minimum, average, maximum and
    /// last, `None` where the range holds no value.
    pub fn printed(info: &[(String, String)]) -> Vec<[Option<f64>; 4]> {
        let mut values: Vec<(usize, Option<f64>)> = info
            .iter()
            .filter_map(|(k, v)| {
                let i = k.strip_prefix("print[")?.strip_suffix(']')?.parse().ok()?;
                let v = v.trim().trim_matches('"').trim().parse::<f64>().ok().filter(|v| v.is_finite());
                Some((i, v))
            })
            .collect();
        values.sort_by_key(|(i, _)| *i);
        values.chunks_exact(4).map(|c| [c[0].1, c[1].1, c[2].1, c[3].1]).collect()
    }

    /// The full command: `rrdtool graph OUTPUT args…` (`OUTPUT` `-` writes to stdout).
    pub fn command(&self, output: &str) -> Result<Vec<String>, GraphError> {
        let mut argv = vec!["rrdtool".to_owned(), "graph".to_owned(), output.to_owned()];
        argv.extend(self.args()?);
        Ok(argv)
    }

    /// [`Graph::command`], quoted for a POSIX shell.
    pub fn shell_command(&self, output: &str) -> Result<String, GraphError> {
        Ok(escape::shell_line(&self.command(output)?))
    }

    /// The arguments of `rrdtool xport` returning, per series, the values the graph draws
    /// (the average line, the stack's individual series, then the total), as JSON with
    /// timestamps.
    pub fn xport_args(&self) -> Result<Vec<String>, GraphError> {
        if !self.order.is_empty() {
            return self.in_order().xport_args();
        }
        let mut out = self.options()?;
        // xport has no size: keep --start/--end (and --daemon), drop --width/--height.
        out.drain(4..8);
        out.push("--json".into());
        out.push("--showtime".into());
        let mut b = Builder::new(self);
        b.validate()?;
        let mut vnames = Vec::new();
        for (i, s) in self.series.iter().enumerate() {
            let v = b.def_series(&format!("s{i}"), s, s.cf, false);
            vnames.push((v, s.label.clone()));
        }
        if let Kind::Stack { total: Some(total), .. } = &self.kind {
            let v = b.def_series("t", total, total.cf, false);
            vnames.push((v, total.label.clone()));
        }
        out.append(&mut b.out);
        for (v, label) in vnames {
            out.push(format!("XPORT:{v}:{}", escape::legend(&label)));
        }
        Ok(out)
    }

    fn options(&self) -> Result<Vec<String>, GraphError> {
        if !(10..=10_000).contains(&self.width) || !(10..=10_000).contains(&self.height) {
            return Err(GraphError::Size { width: self.width, height: self.height });
        }
        text("start time", &self.start)?;
        text("end time", &self.end)?;
        if self.start.trim().is_empty() || self.end.trim().is_empty() {
            return Err(GraphError::Text { what: "time range", value: format!("{}..{}", self.start, self.end) });
        }
        text("title", &self.title)?;
        text("vertical label", &self.vertical_label)?;
        let mut out = vec![
            "--start".to_owned(),
            self.start.clone(),
            "--end".to_owned(),
            self.end.clone(),
            "--width".to_owned(),
            self.width.to_string(),
            "--height".to_owned(),
            self.height.to_string(),
        ];
        if let Some(d) = &self.daemon {
            text("rrdcached address", d)?;
            out.push("--daemon".into());
            out.push(d.clone());
        }
        Ok(out)
    }

    fn long_span(&self) -> bool {
        match self.reduce {
            Reduce::Always => true,
            Reduce::Never => false,
            Reduce::Auto => match crate::time::span(&self.start, &self.end) {
                Some(span) => span > i64::from(self.width) * i64::from(self.step_hint.max(1)),
                None => true,
            },
        }
    }
}

fn text(what: &'static str, value: &str) -> Result<(), GraphError> {
    if value.chars().any(char::is_control) {
        return Err(GraphError::Text { what, value: value.to_owned() });
    }
    Ok(())
}

fn valid_ds(ds: &str) -> bool {
    (1..=19).contains(&ds.len()) && ds.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Legend value format with an SI prefix: two decimals, then the prefix (`  12.35 k`).
const GPRINT_SI: &str = "%7.2lf %s";
/// Legend value format without prefix (counts, jiffies): four significant digits.
const GPRINT_PLAIN: &str = "%9.4lg";
/// What is printed (`PRINT`) when [`Graph::print_values`] is set: enough digits to read back.
const PRINT_FORMAT: &str = "%.6lg";

/// Accumulates elements for one graph.
struct Builder<'g> {
    graph: &'g Graph,
    out: Vec<String>,
    label_width: usize,
    /// The colour of each series (distinct within the graph).
    colors: Vec<color::Rgb>,
    /// `PRINT` elements, emitted after the legend.
    prints: Vec<String>,
}

impl<'g> Builder<'g> {
    fn new(graph: &'g Graph) -> Self {
        let mut label_width = graph.series.iter().map(|s| s.label.chars().count()).max().unwrap_or(0);
        if let Kind::Stack { total: Some(t), remainder } = &graph.kind {
            label_width = label_width.max(t.label.chars().count());
            if *remainder {
                label_width = label_width.max(OTHER.len());
            }
        }
        let wanted: Vec<(&str, Option<color::Rgb>)> =
            graph.series.iter().map(|s| (s.label.as_str(), s.color)).collect();
        Builder { graph, out: Vec::new(), label_width, colors: color::distinct(&wanted), prints: Vec::new() }
    }

    fn validate(&self) -> Result<(), GraphError> {
        let g = self.graph;
        let mut all: Vec<&Series> = g.series.iter().collect();
        if let Kind::Stack { total: Some(t), .. } = &g.kind {
            all.push(t);
        }
        if g.series.is_empty() {
            return Err(GraphError::Empty { title: g.title.clone(), what: "no series".into() });
        }
        if let Some(k) = g.scale
            && (!k.is_finite() || k == 0.0)
        {
            return Err(GraphError::Scale(k.to_string()));
        }
        for s in all {
            text("legend", &s.label)?;
            if s.sources.is_empty() {
                return Err(GraphError::Empty {
                    title: g.title.clone(),
                    what: format!("series {:?} has no source", s.label),
                });
            }
            for src in &s.sources {
                let path = src.file.to_str().ok_or_else(|| GraphError::Path(src.file.display().to_string()))?;
                // rrdtool's pipe mode carries any character but a line break; a printed
                // command quotes the others ([`escape::shell_word`]).
                if path.is_empty() || path.ends_with('\\') || path.contains(['\n', '\r', '\0']) {
                    return Err(GraphError::Path(path.to_owned()));
                }
                if !valid_ds(&src.ds) {
                    return Err(GraphError::DataSource { ds: src.ds.clone(), file: path.to_owned() });
                }
            }
        }
        Ok(())
    }

    /// Emits the DEFs (and a combining CDEF) for `series` under the name `name`; returns
    /// the vname holding the series.
    fn def_series(&mut self, name: &str, series: &Series, cf: Cf, reduce: bool) -> String {
        let reduce =
            if reduce && matches!(cf, Cf::Min | Cf::Max) { format!(":reduce={}", cf.name()) } else { String::new() };
        let def = |vname: &str, src: &Source| {
            format!(
                "DEF:{vname}={}:{}:{}{reduce}",
                escape::field(src.file.to_str().unwrap_or_default()),
                src.ds,
                cf.name()
            )
        };
        // With a scale, the sources are read (and combined) under `{name}raw`, then scaled
        // into `name`.
        let scale = self.graph.scale.filter(|k| *k != 1.0);
        let read_as = if scale.is_some() { format!("{name}raw") } else { name.to_owned() };
        let name = read_as.as_str();
        let finish = |out: &mut Vec<String>| {
            let target = name.strip_suffix("raw").filter(|_| scale.is_some()).unwrap_or(name);
            if let Some(k) = scale {
                out.push(format!("CDEF:{target}={name},{k},*"));
            }
            target.to_owned()
        };
        if let [only] = series.sources.as_slice() {
            self.out.push(def(name, only));
            return finish(&mut self.out);
        }
        let parts: Vec<String> = (0..series.sources.len()).map(|j| format!("{name}_{j}")).collect();
        for (v, src) in parts.iter().zip(&series.sources) {
            self.out.push(def(v, src));
        }
        let rpn = match series.combine {
            Combine::Sum => chain(&parts, "ADDNAN"),
            Combine::Min => chain(&parts, "MINNAN"),
            Combine::Max => chain(&parts, "MAXNAN"),
            Combine::Average => format!("{},{},AVG", parts.join(","), parts.len()),
        };
        self.out.push(format!("CDEF:{name}={rpn}"));
        finish(&mut self.out)
    }

    fn padded(&self, label: &str) -> String {
        let n = label.chars().count();
        let pad = self.label_width.saturating_sub(n);
        escape::legend(&format!("{label}{}", " ".repeat(pad)))
    }

    /// The legend header naming the value columns (and their unit).
    fn header(&mut self) {
        let pad = " ".repeat(self.label_width + 2);
        let unit = if self.graph.unit.is_empty() { String::new() } else { format!("  ({})", self.graph.unit) };
        let line = format!("{pad}{:>10}{:>10}{:>10}{:>10}{unit}", "Minimum", "Average", "Maximum", "Last");
        self.out.push(format!("COMMENT:{}\\l", escape::legend(&line)));
    }

    /// Emits VDEFs and GPRINTs for min (of `min`), average and last (of `avg`), max (of
    /// `max`).
    fn values(&mut self, min: &str, avg: &str, max: &str) {
        self.out.push(format!("VDEF:{avg}vmin={min},MINIMUM"));
        self.out.push(format!("VDEF:{avg}vavg={avg},AVERAGE"));
        self.out.push(format!("VDEF:{avg}vmax={max},MAXIMUM"));
        self.out.push(format!("VDEF:{avg}vlast={avg},LAST"));
        let format = if self.graph.si_prefix { GPRINT_SI } else { GPRINT_PLAIN };
        for (v, end) in [("vmin", ""), ("vavg", ""), ("vmax", ""), ("vlast", "\\l")] {
            self.out.push(format!("GPRINT:{avg}{v}:{format}{end}"));
        }
    }

    /// Queues the `PRINT`s of a series whose values [`Builder::values`] defined under `avg`.
    fn print(&mut self, avg: &str) {
        if self.graph.print_values {
            for v in ["vmin", "vavg", "vmax", "vlast"] {
                self.prints.push(format!("PRINT:{avg}{v}:{PRINT_FORMAT}"));
            }
        }
    }

    fn elements(mut self, out: &mut Vec<String>) -> Result<(), GraphError> {
        self.validate()?;
        let g = self.graph;
        match &g.kind {
            Kind::Band => self.band(),
            Kind::Lines => self.lines(),
            Kind::Stack { total, remainder } => self.stack(total.as_ref(), *remainder),
        }
        out.append(&mut self.out);
        out.append(&mut self.prints);
        Ok(())
    }

    fn band(&mut self) {
        let reduce = self.graph.long_span();
        let mut drawn = Vec::new();
        for (i, s) in self.graph.series.iter().enumerate() {
            let avg = self.def_series(&format!("s{i}"), s, s.cf, false);
            let min = self.def_series(&format!("s{i}min"), s, Cf::Min, reduce);
            let max = self.def_series(&format!("s{i}max"), s, Cf::Max, reduce);
            self.out.push(format!("CDEF:s{i}rng={max},{min},-"));
            drawn.push((i, avg, min, max, self.colors[i]));
        }
        for (i, _, min, _, c) in &drawn {
            self.out.push(format!("AREA:{min}"));
            self.out.push(format!("AREA:s{i}rng#{}::STACK", c.lighten(0.6).hex()));
        }
        self.header();
        for (i, avg, min, max, c) in drawn {
            let label = self.padded(&self.graph.series[i].label);
            self.out.push(format!("LINE1:{avg}#{}:{}", c.hex(), legend_field(&label)));
            self.values(&min, &avg, &max);
            self.print(&avg);
        }
    }

    fn lines(&mut self) {
        let mut drawn = Vec::new();
        for (i, s) in self.graph.series.iter().enumerate() {
            let v = self.def_series(&format!("s{i}"), s, s.cf, false);
            drawn.push((i, v, self.colors[i]));
        }
        self.header();
        for (i, v, c) in drawn {
            let label = self.padded(&self.graph.series[i].label);
            self.out.push(format!("LINE1:{v}#{}:{}", c.hex(), legend_field(&label)));
            self.values(&v, &v, &v);
            self.print(&v);
        }
    }

    fn stack(&mut self, total: Option<&Series>, remainder: bool) {
        let mut parts = Vec::new();
        for (i, s) in self.graph.series.iter().enumerate() {
            parts.push(self.def_series(&format!("s{i}"), s, s.cf, false));
        }
        let total_v = total.map(|t| self.def_series("t", t, t.cf, false));
        // Cumulative sums: c_i = s_0 + … + s_i, unknown values skipped.
        let mut cums = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let rpn = match cums.last() {
                None => p.clone(),
                Some(prev) => format!("{prev},{p},ADDNAN"),
            };
            self.out.push(format!("CDEF:c{i}={rpn}"));
            cums.push(format!("c{i}"));
        }
        let rest = match (&total_v, remainder) {
            (Some(t), true) => {
                let top = cums.last().cloned().unwrap_or_default();
                // What the total has beyond the series, at least 0; below a billionth of
                // the total it is rounding residue (printed as "177.64a"), so 0.
                self.out.push(format!(
                    "CDEF:rest={t},{top},UN,0,{top},IF,-,0,MAX,DUP,{t},ABS,0.000000001,*,LT,EXC,0,EXC,IF"
                ));
                self.out.push(format!("CDEF:crest={top},rest,ADDNAN"));
                Some(())
            }
            _ => None,
        };
        self.header();
        // Draw from the top down so that each area covers only its own band.
        if rest.is_some() {
            let c = color::Rgb(0x99, 0x99, 0x99);
            let label = self.padded(OTHER);
            self.out.push(format!("AREA:crest#{}:{}", c.lighten(0.5).hex(), legend_field(&label)));
            self.out.push(format!("LINE1:crest#{}", c.hex()));
            self.values("rest", "rest", "rest");
        }
        for i in (0..parts.len()).rev() {
            let s = &self.graph.series[i];
            let c = self.colors[i];
            let label = self.padded(&s.label);
            self.out.push(format!("AREA:c{i}#{}:{}", c.lighten(0.45).hex(), legend_field(&label)));
            self.out.push(format!("LINE1:c{i}#{}", c.hex()));
            let v = parts[i].clone();
            self.values(&v, &v, &v);
        }
        for p in &parts {
            self.print(p);
        }
        if let (Some(t), Some(total)) = (total_v, total) {
            let label = self.padded(&total.label);
            self.out.push(format!("LINE2:{t}#000000:{}", legend_field(&label)));
            self.values(&t, &t, &t);
            self.print(&t);
        }
    }
}

/// The label of the stack's remainder.
pub const OTHER: &str = "other";

/// A legend as the last field of a LINE/AREA: with an explicit `legend=` key when it
/// contains `=`, which rrdtool would otherwise read as `key=value`.
fn legend_field(escaped: &str) -> String {
    if escaped.contains('=') { format!("legend={escaped}") } else { escaped.to_owned() }
}

fn chain(parts: &[String], op: &str) -> String {
    let mut rpn = parts[0].clone();
    for p in &parts[1..] {
        rpn.push(',');
        rpn.push_str(p);
        rpn.push(',');
        rpn.push_str(op);
    }
    rpn
}

#[cfg(test)]
mod tests {
    use super::*;

    fn band() -> Graph {
        let mut g = Graph::new(Kind::Band, vec![Series::single("flips", "/d/h/any/gauge-c-flips.rrd", "value")]);
        g.start = "end-1h".into();
        g
    }

    #[test]
    fn band_argv() {
        let args = band().args().unwrap();
        assert_eq!(
            args,
            [
                "--start",
                "end-1h",
                "--end",
                "now",
                "--width",
                "800",
                "--height",
                "300",
                "--lower-limit",
                "0",
                "--imgformat",
                "PNG",
                "--grid-dash",
                "1:0",
                "--color",
                "GRID#8F8F8F60",
                "--color",
                "MGRID#DE4F4F4D",
                "DEF:s0=/d/h/any/gauge-c-flips.rrd:value:AVERAGE",
                "DEF:s0min=/d/h/any/gauge-c-flips.rrd:value:MIN",
                "DEF:s0max=/d/h/any/gauge-c-flips.rrd:value:MAX",
                "CDEF:s0rng=s0max,s0min,-",
                "AREA:s0min",
                &format!("AREA:s0rng#{}::STACK", color::for_name("flips").lighten(0.6).hex()),
                "COMMENT:          Minimum   Average   Maximum      Last\\l",
                &format!("LINE1:s0#{}:flips", color::for_name("flips").hex()),
                "VDEF:s0vmin=s0min,MINIMUM",
                "VDEF:s0vavg=s0,AVERAGE",
                "VDEF:s0vmax=s0max,MAXIMUM",
                "VDEF:s0vlast=s0,LAST",
                "GPRINT:s0vmin:%7.2lf %s",
                "GPRINT:s0vavg:%7.2lf %s",
                "GPRINT:s0vmax:%7.2lf %s",
                "GPRINT:s0vlast:%7.2lf %s\\l",
            ]
        );
    }

    #[test]
    fn long_spans_reduce_the_band() {
        let mut g = band();
        g.start = "end-1w".into();
        let args = g.args().unwrap();
        assert!(args.contains(&"DEF:s0min=/d/h/any/gauge-c-flips.rrd:value:MIN:reduce=MIN".to_owned()));
        assert!(args.contains(&"DEF:s0max=/d/h/any/gauge-c-flips.rrd:value:MAX:reduce=MAX".to_owned()));
    }

    #[test]
    fn escapes_paths_and_legends() {
        let mut g = Graph::new(Kind::Lines, vec![Series::single("a:b=c", "/d/we:ird/x.rrd", "value")]);
        g.title = "it's a title".into();
        let args = g.args().unwrap();
        assert!(args.contains(&"DEF:s0=/d/we\\:ird/x.rrd:value:AVERAGE".to_owned()));
        assert!(args.iter().any(|a| a.starts_with("LINE1:s0#") && a.ends_with(":legend=a\\:b=c")));
        let sh = g.shell_command("-").unwrap();
        assert!(sh.contains("'it'\\''s a title'"));
    }

    #[test]
    fn refuses_bad_input() {
        let g = Graph::new(Kind::Lines, vec![]);
        assert!(matches!(g.args(), Err(GraphError::Empty { .. })));
        let g = Graph::new(Kind::Lines, vec![Series::single("x", "/a.rrd", "no-dash")]);
        assert!(matches!(g.args(), Err(GraphError::DataSource { .. })));
        let g = Graph::new(Kind::Lines, vec![Series::single("x", "/a\n.rrd", "v")]);
        assert!(matches!(g.args(), Err(GraphError::Path(_))));
        let mut g = Graph::new(Kind::Lines, vec![Series::single("x", "/a.rrd", "v")]);
        g.start = "now\n".into();
        assert!(matches!(g.args(), Err(GraphError::Text { .. })));
        g.start = "end-1d".into();
        g.width = 1;
        assert!(matches!(g.args(), Err(GraphError::Size { .. })));
    }

    #[test]
    fn combined_sources() {
        let srcs = |n: usize| {
            (0..n).map(|i| Source { file: format!("/h{i}.rrd").into(), ds: "value".into() }).collect::<Vec<_>>()
        };
        let g = Graph::new(Kind::Lines, vec![Series::combined("sum", srcs(3), Combine::Sum)]);
        let args = g.args().unwrap();
        assert!(args.contains(&"CDEF:s0=s0_0,s0_1,ADDNAN,s0_2,ADDNAN".to_owned()));
        let g = Graph::new(Kind::Lines, vec![Series::combined("avg", srcs(2), Combine::Average)]);
        assert!(g.args().unwrap().contains(&"CDEF:s0=s0_0,s0_1,2,AVG".to_owned()));
    }

    #[test]
    fn stack_uses_addnan_and_remainder() {
        let g = Graph::new(
            Kind::Stack { total: Some(Series::single("flips", "/b.rrd", "value")), remainder: true },
            vec![Series::single("heads", "/h.rrd", "value"), Series::single("tails", "/t.rrd", "value")],
        );
        let args = g.args().unwrap();
        for want in [
            "CDEF:c0=s0",
            "CDEF:c1=c0,s1,ADDNAN",
            "CDEF:rest=t,c1,UN,0,c1,IF,-,0,MAX,DUP,t,ABS,0.000000001,*,LT,EXC,0,EXC,IF",
            "CDEF:crest=c1,rest,ADDNAN",
        ] {
            assert!(args.contains(&want.to_owned()), "{want} missing from {args:?}");
        }
        let tails = args.iter().position(|a| a.starts_with("AREA:c1#")).unwrap();
        let heads = args.iter().position(|a| a.starts_with("AREA:c0#")).unwrap();
        assert!(tails < heads, "top of the stack is drawn first");
        assert!(args.iter().any(|a| a.starts_with("LINE2:t#000000:flips")));
        assert!(!args.iter().any(|a| a.contains("UN,0,s0,IF") || a.contains(",0,s")), "no unknown-as-zero");
    }

    #[test]
    fn units_prefixes_zero_floor_and_prints() {
        let mut g = Graph::new(
            Kind::Stack { total: None, remainder: false },
            vec![Series::single("user", "/u.rrd", "value"), Series::single("system", "/s.rrd", "value")],
        );
        g.unit = "jiffies".into();
        g.si_prefix = false;
        g.print_values = true;
        g.look = crate::graph::style::look(false);
        let args = g.args().unwrap();
        assert_eq!(args[..2], ["--border", "0"], "the look comes first");
        assert!(args.contains(&"--disable-rrdtool-tag".to_owned()));
        assert!(args.windows(2).any(|w| w == ["--lower-limit", "0"]), "stacks start at 0");
        assert!(args.iter().any(|a| a.starts_with("COMMENT:") && a.contains("(jiffies)")), "{args:?}");
        assert!(args.contains(&"GPRINT:s0vavg:%9.4lg".to_owned()), "no SI prefix: {args:?}");
        let prints: Vec<&String> = args.iter().filter(|a| a.starts_with("PRINT:")).collect();
        assert_eq!(prints.len(), 8, "{prints:?}");
        assert_eq!(prints[3], "PRINT:s0vlast:%.6lg");
        let lines = Graph::new(Kind::Lines, vec![Series::single("x", "/x.rrd", "value")]);
        assert!(!lines.args().unwrap().contains(&"--lower-limit".to_owned()), "lines keep rrdtool's scale");
        let info: Vec<(String, String)> = ["1", "2.5", "4", "3", "nan", "-nan", "nan", "nan"]
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("print[{i}]"), format!("\"{v}\"")))
            .collect();
        assert_eq!(Graph::printed(&info), [[Some(1.0), Some(2.5), Some(4.0), Some(3.0)], [None, None, None, None]]);
    }

    #[test]
    fn xport_args() {
        let args = band().xport_args().unwrap();
        assert_eq!(
            &args[4..],
            ["--json", "--showtime", "DEF:s0=/d/h/any/gauge-c-flips.rrd:value:AVERAGE", "XPORT:s0:flips"]
        );
    }
}
