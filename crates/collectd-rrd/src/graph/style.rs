//! Per-type and per-category graph overrides and thresholds, read from data files
//! (`--graph-config FILE`, TOML) over a small default file embedded in the binary, and
//! applied to a [`Graph`] without I/O.
//!
//! ```toml
//! [type.if_octets]
//! scale = 8                 # every value × 8 (bytes → bits)
//! base = 1024               # --base
//! unit = "bit/s"            # the vertical label when none is given
//! vertical_label = "bits per second"
//! colors = { rx = "#1f77b4", tx = "#ff7f0e" }
//! order = ["rx", "tx"]      # the first at the bottom of a stack
//! stacked = true            # stack several series by default (false: lines)
//!
//! [category.coin_stats]     # the original module's categories
//! colors = { heads = "#2ca02c", tails = "#d62728" }
//!
//! [threshold.load]          # keyed by type (first DS, or `ds`)…
//! warning = 2.0
//! critical = 4.0
//! ds = "shortterm"
//! [threshold.coin_stats.flips]   # …or by category and stat
//! critical = 100
//! ```
//!
//! A colour or order key names a series by its label, by one word of its label, or by its
//! data source.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::color::Rgb;
use super::{Graph, Kind, Series};

/// The default overrides shipped with the binary (a few common collectd types).
pub const DEFAULT_CONFIG: &str = include_str!("default_config.toml");

/// A graph configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read graph config {file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a bad key or value.
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// Line (1-based; 0 when unknown).
        line: usize,
        /// Column (1-based; 0 when unknown).
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// Overrides for one type or category.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Style {
    /// Multiply every value by this.
    pub scale: Option<f64>,
    /// `--base` (1000 or 1024).
    pub base: Option<u32>,
    /// The unit, shown as the vertical label when none is given.
    pub unit: Option<String>,
    /// The vertical label.
    pub vertical_label: Option<String>,
    /// Colours by series name (`#rrggbb`).
    #[serde(default)]
    pub colors: BTreeMap<String, String>,
    /// Series names in drawing order (the first at the bottom of a stack).
    #[serde(default)]
    pub order: Vec<String>,
    /// Whether several series are stacked by default.
    pub stacked: Option<bool>,
    /// Whether legend values take an SI prefix (`12.3 k`); `false` for counts and jiffies.
    pub si_prefix: Option<bool>,
}

impl Style {
    /// `other` over `self`: what `other` sets wins; colours are merged.
    fn merge(&mut self, other: &Style) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f.clone(); } )* };
        }
        take!(scale, base, unit, vertical_label, stacked, si_prefix);
        self.colors.extend(other.colors.iter().map(|(k, v)| (k.clone(), v.clone())));
        if !other.order.is_empty() {
            self.order = other.order.clone();
        }
    }
}

/// Warning and critical levels of a current value.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// At or above this, a warning.
    pub warning: Option<f64>,
    /// At or above this, critical.
    pub critical: Option<f64>,
    /// The data source it applies to (default: the file's first, or `value`).
    pub ds: Option<String>,
}

/// Where a value stands against its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Below the warning level (or no threshold).
    Ok,
    /// At or above the warning level.
    Warning,
    /// At or above the critical level.
    Critical,
}

impl Level {
    /// `ok`, `warning` or `critical` (CSS classes).
    pub fn name(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }
}

impl Threshold {
    /// The level of `value`.
    pub fn level(&self, value: f64) -> Level {
        if self.critical.is_some_and(|c| value >= c) {
            Level::Critical
        } else if self.warning.is_some_and(|w| value >= w) {
            Level::Warning
        } else {
            Level::Ok
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default, rename = "type")]
    types: BTreeMap<String, Style>,
    #[serde(default, rename = "category")]
    categories: BTreeMap<String, Style>,
    #[serde(default, rename = "threshold")]
    thresholds: BTreeMap<String, toml::Value>,
}

/// What a graph shows, for looking its style up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StyleKey<'a> {
    /// A collectd type (`if_octets`, `load`).
    Type(&'a str),
    /// A category of the original module.
    Category(&'a str),
}

/// Overrides by type and category, and thresholds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphConfig {
    /// Overrides by collectd type.
    pub types: BTreeMap<String, Style>,
    /// Overrides by category of the original module.
    pub categories: BTreeMap<String, Style>,
    /// Thresholds by type (`load`) or by `category/stat`.
    pub thresholds: BTreeMap<String, Threshold>,
}

impl GraphConfig {
    /// Parses a configuration; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<GraphConfig, ConfigError> {
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            ConfigError::Parse { file: origin.to_owned(), line, column, message: e.message().to_owned() }
        })?;
        let bad = |what: String, key: &str| {
            let (line, column) = find_key(text, key);
            ConfigError::Parse { file: origin.to_owned(), line, column, message: what }
        };
        for (kind, map) in [("type", &raw.types), ("category", &raw.categories)] {
            for (name, style) in map {
                if let Some(k) = style.scale
                    && (!k.is_finite() || k == 0.0)
                {
                    return Err(bad(
                        format!("[{kind}.{name}] scale = {k}: must be a finite number other than 0"),
                        name,
                    ));
                }
                if let Some(b) = style.base
                    && b != 1000
                    && b != 1024
                {
                    return Err(bad(format!("[{kind}.{name}] base = {b}: must be 1000 or 1024"), name));
                }
                for (series, c) in &style.colors {
                    if parse_color(c).is_none() {
                        return Err(bad(
                            format!("[{kind}.{name}] colors.{series} = {c:?}: not a colour like \"#1f77b4\""),
                            name,
                        ));
                    }
                }
                for t in [&style.unit, &style.vertical_label].into_iter().flatten() {
                    if t.chars().any(char::is_control) {
                        return Err(bad(format!("[{kind}.{name}]: control characters in {t:?}"), name));
                    }
                }
            }
        }
        let mut thresholds = BTreeMap::new();
        for (name, v) in raw.thresholds {
            let as_threshold = |key: String, v: toml::Value| -> Result<(String, Threshold), ConfigError> {
                let t: Threshold = v
                    .try_into()
                    .map_err(|e: toml::de::Error| bad(format!("[threshold.{key}]: {}", e.message()), &key))?;
                if t.warning.is_none() && t.critical.is_none() {
                    return Err(bad(format!("[threshold.{key}]: give warning, critical or both"), &key));
                }
                Ok((key, t))
            };
            let is_leaf =
                v.as_table().is_some_and(|t| t.keys().any(|k| ["warning", "critical", "ds"].contains(&k.as_str())));
            match v {
                toml::Value::Table(stats) if !is_leaf => {
                    for (stat, tv) in stats {
                        let (k, t) = as_threshold(format!("{name}/{stat}"), tv)?;
                        thresholds.insert(k, t);
                    }
                }
                v => {
                    let (k, t) = as_threshold(name, v)?;
                    thresholds.insert(k, t);
                }
            }
        }
        Ok(GraphConfig { types: raw.types, categories: raw.categories, thresholds })
    }

    /// The embedded defaults ([`DEFAULT_CONFIG`]).
    pub fn defaults() -> GraphConfig {
        GraphConfig::parse(DEFAULT_CONFIG, "<embedded default graph config>")
            .expect("the embedded default graph config parses")
    }

    /// The embedded defaults with the file at `path` (if any) merged over them.
    pub fn load(path: Option<&Path>) -> Result<GraphConfig, ConfigError> {
        let mut config = GraphConfig::defaults();
        if let Some(path) = path {
            let file = path.display().to_string();
            let text =
                std::fs::read_to_string(path).map_err(|source| ConfigError::Io { file: file.clone(), source })?;
            config.merge(&GraphConfig::parse(&text, &file)?);
        }
        Ok(config)
    }

    /// `other` over `self`, key by key (and field by field within a style).
    pub fn merge(&mut self, other: &GraphConfig) {
        for (mine, theirs) in [(&mut self.types, &other.types), (&mut self.categories, &other.categories)] {
            for (k, s) in theirs {
                mine.entry(k.clone()).or_default().merge(s);
            }
        }
        self.thresholds.extend(other.thresholds.iter().map(|(k, v)| (k.clone(), v.clone())));
    }

    /// The style of `key`, if any.
    pub fn style(&self, key: StyleKey<'_>) -> Option<&Style> {
        match key {
            StyleKey::Type(t) => self.types.get(t),
            StyleKey::Category(c) => self.categories.get(c),
        }
    }

    /// The threshold of a type, or of a category's stat.
    pub fn threshold(&self, key: &str) -> Option<&Threshold> {
        self.thresholds.get(key)
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Line and column of the table header or key naming `key` (for errors found after parsing).
fn find_key(text: &str, key: &str) -> (usize, usize) {
    let last = key.rsplit('/').next().unwrap_or(key);
    for (i, l) in text.lines().enumerate() {
        let t = l.trim_start();
        if t.starts_with('[') && (t.contains(&format!(".{last}]")) || t.contains(&format!(".\"{last}\"]"))) {
            return (i + 1, l.len() - t.len() + 1);
        }
    }
    (0, 0)
}

/// `#rrggbb` (or `rrggbb`) as a colour.
pub fn parse_color(s: &str) -> Option<Rgb> {
    let h = s.strip_prefix('#').unwrap_or(s);
    if h.len() != 6 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some(Rgb(byte(0)?, byte(2)?, byte(4)?))
}

/// Whether the configuration key `key` names `series`: its label, a word of it, or its
/// (single) data source.
fn names(series: &Series, key: &str) -> bool {
    series.label == key
        || series.label.split(' ').any(|w| w == key)
        || (series.sources.len() == 1 && series.sources[0].ds == key)
}

impl Graph {
    /// Applies `style`: scale, base, labels, colours, order; `auto` (the kind was not
    /// asked for) lets `stacked` turn lines into a stack or a stack into lines.
    pub fn apply_style(&mut self, style: &Style, auto: bool) {
        if style.scale.is_some() {
            self.scale = style.scale;
        }
        if style.base.is_some() {
            self.base = style.base;
        }
        if let Some(v) = style.vertical_label.as_ref().or(style.unit.as_ref()) {
            self.vertical_label = v.clone();
        }
        if let Some(u) = &style.unit {
            self.unit = u.clone();
        }
        if let Some(si) = style.si_prefix {
            self.si_prefix = si;
        }
        let mut series: Vec<&mut Series> = self.series.iter_mut().collect();
        if let Kind::Stack { total: Some(t), .. } = &mut self.kind {
            series.push(t);
        }
        for s in series {
            if let Some(c) = style.colors.iter().find(|(k, _)| names(s, k)).and_then(|(_, c)| parse_color(c)) {
                s.color = Some(c);
            }
        }
        if !style.order.is_empty() {
            let mut order = Vec::new();
            for key in &style.order {
                for s in &self.series {
                    if names(s, key) && !order.contains(&s.label) {
                        order.push(s.label.clone());
                    }
                }
            }
            self.order = order;
        }
        if auto {
            match (style.stacked, &self.kind) {
                (Some(true), Kind::Lines) if self.series.len() > 1 => {
                    self.kind = Kind::Stack { total: None, remainder: false };
                }
                (Some(false), Kind::Stack { total, .. }) => {
                    let total = total.clone();
                    self.series.extend(total);
                    self.kind = Kind::Lines;
                }
                _ => {}
            }
        }
    }
}

/// The colours of the grid lines of the house look ([`look`]): light grey, drawn solid at
/// half opacity (as much ink as dotted lines at full opacity; see [`super::Grid`]).
pub fn look_grid() -> super::Grid {
    super::Grid { minor: "E6E8EB80".into(), major: "C9CED480".into() }
}

/// The rrdtool options of the house look, shared by the web interface and the command
/// line: white background, no border, dark text, DejaVu fonts, slope mode and no rrdtool
/// watermark (with [`look_grid`] for the grid). `spark`: the bare plot of a sparkline.
pub fn look(spark: bool) -> Vec<String> {
    let mut o: Vec<String> = [
        "--border",
        "0",
        "--color",
        "BACK#FFFFFF",
        "--color",
        "CANVAS#FFFFFF",
        "--color",
        "SHADEA#FFFFFF",
        "--color",
        "SHADEB#FFFFFF",
        "--color",
        "FONT#2B3137",
        "--color",
        "AXIS#8A939C",
        "--color",
        "FRAME#8A939C",
        "--color",
        "ARROW#8A939C",
        "--font",
        "DEFAULT:8:DejaVu Sans",
        "--font",
        "TITLE:10:DejaVu Sans",
        "--font",
        "LEGEND:8:DejaVu Sans Mono",
        "--slope-mode",
        "--disable-rrdtool-tag",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if spark {
        o.push("--only-graph".into());
    }
    o
}

/// The labels ordered by value: the largest average first (the bottom of a stack), series
/// without a value last, ties by label.
pub fn order_by_value(values: &[(String, Option<f64>)]) -> Vec<String> {
    let mut v: Vec<&(String, Option<f64>)> = values.iter().collect();
    v.sort_by(|a, b| {
        let key = |x: &Option<f64>| x.filter(|f| f.is_finite());
        match (key(&a.1), key(&b.1)) {
            (Some(x), Some(y)) => y.total_cmp(&x).then_with(|| a.0.cmp(&b.0)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.0.cmp(&b.0),
        }
    });
    v.into_iter().map(|(l, _)| l.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Series;

    #[test]
    fn defaults_parse_and_user_file_overrides() {
        let d = GraphConfig::defaults();
        assert_eq!(d.types["if_octets"].scale, Some(8.0));
        let user = GraphConfig::parse(
            "[type.if_octets]\nscale = 1\ncolors = { rx = \"#000000\" }\n[threshold.load]\nwarning = 2.0\ncritical = 4\n\
             [threshold.coin_stats.flips]\ncritical = 100\n",
            "u.toml",
        )
        .unwrap();
        let mut c = d.clone();
        c.merge(&user);
        let s = &c.types["if_octets"];
        assert_eq!(s.scale, Some(1.0));
        assert_eq!(s.colors["rx"], "#000000");
        assert_eq!(s.colors["tx"], d.types["if_octets"].colors["tx"]);
        assert_eq!(s.unit.as_deref(), Some("bit/s"));
        assert_eq!(c.threshold("load").unwrap().critical, Some(4.0));
        assert_eq!(c.threshold("coin_stats/flips").unwrap().level(150.0), Level::Critical);
        assert_eq!(c.threshold("load").unwrap().level(2.5), Level::Warning);
        assert_eq!(c.threshold("load").unwrap().level(1.0), Level::Ok);
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = GraphConfig::parse("[type.x]\nscale = \"eight\"\n", "g.toml").unwrap_err().to_string();
        assert!(e.starts_with("g.toml:2:"), "{e}");
        let e = GraphConfig::parse("[type.x]\nsclae = 8\n", "g.toml").unwrap_err().to_string();
        assert!(e.starts_with("g.toml:2:") && e.contains("sclae"), "{e}");
        let e = GraphConfig::parse("\n[type.x]\nbase = 1023\n", "g.toml").unwrap_err().to_string();
        assert!(e.starts_with("g.toml:2:") && e.contains("1000 or 1024"), "{e}");
        let e = GraphConfig::parse("[type.x]\ncolors = { a = \"red\" }\n", "g.toml").unwrap_err().to_string();
        assert!(e.contains("colors.a"), "{e}");
        let e = GraphConfig::parse("[threshold.load]\nwarn = 1\n", "g.toml").unwrap_err().to_string();
        assert!(e.contains("threshold.load") && e.contains("warn"), "{e}");
    }

    #[test]
    fn style_applies_scale_base_colours_order() {
        let mut g =
            Graph::new(Kind::Lines, vec![Series::single("tx", "/i.rrd", "tx"), Series::single("rx", "/i.rrd", "rx")]);
        let c = GraphConfig::defaults();
        g.apply_style(c.style(StyleKey::Type("if_octets")).unwrap(), true);
        let args = g.args().unwrap();
        assert!(args.windows(2).any(|w| w == ["--base", "1024"]) || !args.contains(&"--base".to_owned()));
        assert!(args.contains(&"DEF:s0raw=/i.rrd:rx:AVERAGE".to_owned()), "{args:?}");
        assert!(args.contains(&"CDEF:s0=s0raw,8,*".to_owned()), "{args:?}");
        assert!(args.iter().any(|a| a.starts_with("LINE1:s0#1f77b4:rx")), "{args:?}");
        assert_eq!(g.vertical_label, "bits per second");
        let mut m = Graph::new(Kind::Lines, vec![Series::single("used", "/m.rrd", "value")]);
        m.apply_style(&Style { base: Some(1024), ..Style::default() }, true);
        assert!(m.args().unwrap().windows(2).any(|w| w == ["--base", "1024"]));
        let mut cpu =
            Graph::new(Kind::Lines, vec![Series::single("a", "/a", "value"), Series::single("b", "/b", "value")]);
        cpu.apply_style(c.style(StyleKey::Type("cpu")).unwrap(), true);
        assert!(matches!(cpu.kind, Kind::Stack { .. }));
    }

    #[test]
    fn value_order() {
        let v = [
            ("a".to_owned(), Some(1.0)),
            ("b".to_owned(), Some(5.0)),
            ("c".to_owned(), None),
            ("d".to_owned(), Some(1.0)),
        ];
        assert_eq!(order_by_value(&v), ["b", "a", "d", "c"]);
    }
}
