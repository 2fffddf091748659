//! The state of a page or graph as URL parameters: strict parsing (every parameter known,
//! every value bounded, a [`BadParam`] naming the parameter and the reason otherwise) and
//! the canonical URLs built back from it.
//!
//! A graph is a [`Target`] (what), a [`View`] (range and size) and a [`Mode`] mode (how).
//! Names are kept as text: they are looked up in the index later, never joined into paths.

use std::fmt::Write;

use super::time::{self, TimeArg};
pub use collectd_rrd::select::{Mode, ModeError};

/// Largest query string accepted.
pub const MAX_QUERY: usize = 16 * 1024;
/// Most series of a combined graph, and most specifics of a stat graph.
pub const MAX_SERIES: usize = 50;
/// Bounds of the plot size.
pub const WIDTH: (u32, u32) = (20, 4000);
/// Bounds of the plot height.
pub const HEIGHT: (u32, u32) = (10, 2000);
/// Longest name accepted in any parameter.
const MAX_NAME: usize = 255;

/// A parameter that could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParam {
    /// The parameter.
    pub name: String,
    /// Why.
    pub reason: String,
}

impl BadParam {
    /// A bad `name`, for `reason`.
    pub fn new(name: impl Into<String>, reason: impl Into<String>) -> Self {
        BadParam { name: name.into(), reason: reason.into() }
    }
}

impl std::fmt::Display for BadParam {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parameter {:?}: {}", self.name, self.reason)
    }
}

/// Decoded query parameters in order.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes a raw query string (`None`: no query), accepting only `allowed` keys.
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Params, BadParam> {
        let raw = raw.unwrap_or("");
        if raw.len() > MAX_QUERY {
            return Err(BadParam::new("query", format!("longer than {MAX_QUERY} bytes")));
        }
        let mut out = Vec::new();
        for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
            if k.is_empty() && v.is_empty() {
                continue;
            }
            if !allowed.contains(&k.as_ref()) {
                return Err(BadParam::new(
                    k.as_ref(),
                    format!("unknown parameter (known here: {})", allowed.join(", ")),
                ));
            }
            if v.len() > MAX_QUERY / 4 || v.chars().any(char::is_control) {
                return Err(BadParam::new(k.as_ref(), "value too long or with control characters"));
            }
            out.push((k.into_owned(), v.into_owned()));
        }
        Ok(Params(out))
    }

    /// The single value of `key`; an error if given twice.
    pub fn one(&self, key: &str) -> Result<Option<&str>, BadParam> {
        let mut it = self.0.iter().filter(|(k, _)| k == key);
        let first = it.next().map(|(_, v)| v.as_str());
        if it.next().is_some() {
            return Err(BadParam::new(key, "given more than once"));
        }
        Ok(first)
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// The single value of `key` as a name (non-empty, bounded, no `/`), if given.
    pub fn name(&self, key: &str) -> Result<Option<String>, BadParam> {
        self.one(key)?.map(|v| check_name(key, v)).transpose()
    }

    /// Like [`Params::name`], required.
    pub fn required(&self, key: &str) -> Result<String, BadParam> {
        self.name(key)?.ok_or_else(|| BadParam::new(key, "missing"))
    }

    /// A flag: absent, `0` or `1`.
    pub fn flag(&self, key: &str) -> Result<bool, BadParam> {
        match self.one(key)? {
            None | Some("0") => Ok(false),
            Some("1") => Ok(true),
            Some(v) => Err(BadParam::new(key, format!("{v:?} is not 0 or 1"))),
        }
    }
}

/// Checks a name taken from a URL: it will only be looked up, but an absurd one is refused
/// early with a clear message.
pub fn check_name(key: &str, v: &str) -> Result<String, BadParam> {
    if v.is_empty() {
        return Err(BadParam::new(key, "empty"));
    }
    if v.len() > MAX_NAME {
        return Err(BadParam::new(key, format!("longer than {MAX_NAME} bytes")));
    }
    if v.contains('/') || v.chars().any(char::is_control) {
        return Err(BadParam::new(key, format!("{v:?} is not a name ('/' and control characters cannot appear)")));
    }
    Ok(v.to_owned())
}

/// One series of a combined graph: `host/plugin-dir/type-file[/ds]`, collectd's
/// identifier with an optional data source.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeriesRef {
    /// Host.
    pub host: String,
    /// Plugin directory (`plugin[-instance]`).
    pub dir: String,
    /// File name without `.rrd` (`type[-instance]`).
    pub file: String,
    /// Data source; `None`: every data source of the file.
    pub ds: Option<String>,
}

impl SeriesRef {
    /// Reads `host/dir/file[/ds]`.
    pub fn parse(v: &str) -> Result<SeriesRef, BadParam> {
        let parts: Vec<&str> = v.split('/').collect();
        let bad = || BadParam::new("s", format!("{v:?} is not host/plugin-directory/type-file[/data-source]"));
        let (host, dir, file, ds) = match parts.as_slice() {
            [h, d, f] => (h, d, f, None),
            [h, d, f, ds] => (h, d, f, Some(*ds)),
            _ => return Err(bad()),
        };
        let name = |x: &str| check_name("s", x).map_err(|_| bad());
        Ok(SeriesRef { host: name(host)?, dir: name(dir)?, file: name(file)?, ds: ds.map(name).transpose()? })
    }

    /// The `s` value.
    pub fn to_param(&self) -> String {
        match &self.ds {
            Some(ds) => format!("{}/{}/{}/{ds}", self.host, self.dir, self.file),
            None => format!("{}/{}/{}", self.host, self.dir, self.file),
        }
    }
}

/// What a graph shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A stat of the original module, its specifics stacked under its base.
    Stat {
        /// Host.
        host: String,
        /// The module's plugin instance (`any-INST`).
        inst: Option<String>,
        /// Category.
        cat: String,
        /// Stat.
        stat: String,
        /// Specifics to show; empty: all.
        specifics: Vec<String>,
    },
    /// The files of one type in one plugin directory.
    Plugin {
        /// Host.
        host: String,
        /// Plugin directory (`plugin[-instance]`).
        dir: String,
        /// Type.
        type_: String,
        /// Type instance; `None`: all.
        ti: Option<String>,
    },
    /// A combined graph of any series.
    Combine {
        /// The series, in order.
        series: Vec<SeriesRef>,
    },
}

impl Target {
    /// Reads a target from a graph endpoint's parameters.
    pub fn from_params(p: &Params) -> Result<Target, BadParam> {
        let s = p.all("s");
        if !s.is_empty() {
            for k in ["host", "cat", "plugin"] {
                if p.one(k)?.is_some() {
                    return Err(BadParam::new(k, "cannot be combined with s"));
                }
            }
            return Target::combine(&s);
        }
        let host = p.required("host")?;
        match (p.name("cat")?, p.name("plugin")?) {
            (Some(_), Some(_)) => Err(BadParam::new("plugin", "give cat or plugin, not both")),
            (Some(cat), None) => Target::stat(p, host, cat, p.required("stat")?),
            (None, Some(dir)) => Ok(Target::Plugin { host, dir, type_: p.required("type")?, ti: p.name("ti")? }),
            (None, None) => Err(BadParam::new("cat", "missing (a graph needs cat and stat, plugin and type, or s)")),
        }
    }

    /// A stat target with `inst` and `specific` read from `p`.
    pub fn stat(p: &Params, host: String, cat: String, stat: String) -> Result<Target, BadParam> {
        let specifics = p.all("specific");
        if specifics.len() > MAX_SERIES {
            return Err(BadParam::new("specific", format!("at most {MAX_SERIES}")));
        }
        let specifics = specifics.into_iter().map(|v| check_name("specific", v)).collect::<Result<Vec<_>, _>>()?;
        Ok(Target::Stat { host, inst: p.name("inst")?, cat, stat, specifics })
    }

    /// A combined target from `s` values.
    pub fn combine(s: &[&str]) -> Result<Target, BadParam> {
        if s.len() > MAX_SERIES {
            return Err(BadParam::new("s", format!("{} series; at most {MAX_SERIES}", s.len())));
        }
        Ok(Target::Combine { series: s.iter().map(|v| SeriesRef::parse(v)).collect::<Result<_, _>>()? })
    }

    /// The modes that make sense for this target.
    pub fn modes(&self) -> &'static [Mode] {
        match self {
            Target::Stat { .. } => &[Mode::Auto, Mode::Lines, Mode::Band],
            Target::Plugin { .. } => &[Mode::Auto, Mode::Lines, Mode::Stack],
            Target::Combine { .. } => &[Mode::Lines, Mode::Stack, Mode::Sum, Mode::Average, Mode::Min, Mode::Max],
        }
    }

    /// The default mode.
    pub fn default_mode(&self) -> Mode {
        match self {
            Target::Combine { .. } => Mode::Lines,
            _ => Mode::Auto,
        }
    }

    /// Reads `mode` for this target.
    pub fn mode(&self, p: &Params) -> Result<Mode, BadParam> {
        let Some(v) = p.one("mode")? else { return Ok(self.default_mode()) };
        let mut m: Mode = v.parse().map_err(|e: ModeError| BadParam::new("mode", e.to_string()))?;
        if m == Mode::Auto {
            m = self.default_mode();
        }
        if !self.modes().contains(&m) {
            let names: Vec<&str> = self.modes().iter().map(|m| m.name()).collect();
            return Err(BadParam::new("mode", format!("{v:?} does not apply here (use {})", names.join(", "))));
        }
        Ok(m)
    }

    /// The target as graph-endpoint parameters.
    pub fn query(&self, q: &mut Query) {
        match self {
            Target::Stat { host, inst, cat, stat, specifics } => {
                q.push("host", host);
                if let Some(i) = inst {
                    q.push("inst", i);
                }
                q.push("cat", cat);
                q.push("stat", stat);
                for s in specifics {
                    q.push("specific", s);
                }
            }
            Target::Plugin { host, dir, type_, ti } => {
                q.push("host", host);
                q.push("plugin", dir);
                q.push("type", type_);
                if let Some(t) = ti {
                    q.push("ti", t);
                }
            }
            Target::Combine { series } => {
                for s in series {
                    q.push("s", &s.to_param());
                }
            }
        }
    }

    /// The page showing this target large (the stat page, the type page, the combine page).
    pub fn detail_url(&self, view: &View, mode: Mode) -> String {
        let mut q = Query::default();
        let path = match self {
            Target::Stat { host, inst, cat, stat, specifics } => {
                if let Some(i) = inst {
                    q.push("inst", i);
                }
                for s in specifics {
                    q.push("specific", s);
                }
                format!("/host/{}/category/{}/stat/{}", seg(host), seg(cat), seg(stat))
            }
            Target::Plugin { host, dir, type_, ti } => {
                if let Some(t) = ti {
                    q.push("ti", t);
                }
                format!("/host/{}/plugin/{}/type/{}", seg(host), seg(dir), seg(type_))
            }
            Target::Combine { series } => {
                for s in series {
                    q.push("s", &s.to_param());
                }
                "/combine".to_owned()
            }
        };
        if mode != self.default_mode() {
            q.push("mode", mode.name());
        }
        view.page_query(&mut q);
        q.url(&path)
    }
}

/// Range and size of a graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// `start` as given.
    pub start_text: String,
    /// `end` as given.
    pub end_text: String,
    /// `start` as read.
    pub start: TimeArg,
    /// `end` as read.
    pub end: TimeArg,
    /// Plot width.
    pub width: u32,
    /// Plot height.
    pub height: u32,
    /// Whether the size was given (else the page's default applies).
    pub sized: bool,
    /// Whether neither `start` nor `end` was given: the page may fit the range to the
    /// data's age ([`View::fit_age`]).
    pub defaulted: bool,
}

/// The default range.
pub const DEFAULT_START: &str = "end-1d";
/// The default end.
pub const DEFAULT_END: &str = "now";

impl View {
    /// Reads `start`, `end`, `w`, `h`, with `size` as the default size.
    pub fn from_params(p: &Params, size: (u32, u32)) -> Result<View, BadParam> {
        let start_text = p.one("start")?.unwrap_or(DEFAULT_START).to_owned();
        let end_text = p.one("end")?.unwrap_or(DEFAULT_END).to_owned();
        let start = TimeArg::parse(&start_text).map_err(|e| BadParam::new("start", e.to_string()))?;
        let end = TimeArg::parse(&end_text).map_err(|e| BadParam::new("end", e.to_string()))?;
        let dim = |key: &str, (lo, hi): (u32, u32), default: u32| -> Result<u32, BadParam> {
            match p.one(key)? {
                None => Ok(default),
                Some(v) => {
                    let n: u32 = v.parse().map_err(|_| BadParam::new(key, format!("{v:?} is not a number")))?;
                    if !(lo..=hi).contains(&n) {
                        return Err(BadParam::new(key, format!("{n} is out of range ({lo} to {hi} pixels)")));
                    }
                    Ok(n)
                }
            }
        };
        let width = dim("w", WIDTH, size.0)?;
        let height = dim("h", HEIGHT, size.1)?;
        let sized = p.one("w")?.is_some() || p.one("h")?.is_some();
        let defaulted = p.one("start")?.is_none() && p.one("end")?.is_none();
        let v = View { start_text, end_text, start, end, width, height, sized, defaulted };
        // Reject impossible ranges now, with the parameter's name.
        time::resolve(v.start, v.end, time::now()).map_err(|e| {
            let e = e.to_string();
            let name = if e.starts_with("end") {
                "end"
            } else if e.starts_with("start ") {
                "start"
            } else {
                "start/end"
            };
            BadParam::new(name, e)
        })?;
        Ok(v)
    }

    /// The default view of `size`.
    pub fn default_sized(size: (u32, u32)) -> View {
        View {
            start_text: DEFAULT_START.into(),
            end_text: DEFAULT_END.into(),
            start: TimeArg::parse(DEFAULT_START).unwrap_or(TimeArg::Rel(time::Base::End, -86_400)),
            end: TimeArg::Rel(time::Base::Now, 0),
            width: size.0,
            height: size.1,
            sized: false,
            defaulted: true,
        }
    }

    /// A view opened without a range fitted to data `age` seconds old: the smallest preset
    /// covering it ([`time::preset_for_age`]); a range that was asked for is kept.
    pub fn fit_age(&self, age: Option<i64>) -> View {
        if !self.defaulted {
            return self.clone();
        }
        let mut v = self.with_range(time::preset_for_age(age), DEFAULT_END);
        v.defaulted = true;
        v
    }

    /// The same view over `start`..`end` (texts as they will appear in URLs).
    pub fn with_range(&self, start: &str, end: &str) -> View {
        let mut v = self.clone();
        if let (Ok(s), Ok(e)) = (TimeArg::parse(start), TimeArg::parse(end)) {
            v.start = s;
            v.end = e;
            v.start_text = start.to_owned();
            v.end_text = end.to_owned();
            v.defaulted = false;
        }
        v
    }

    /// The same view at another size.
    pub fn sized(&self, width: u32, height: u32) -> View {
        View { width, height, sized: true, ..self.clone() }
    }

    /// Resolves the range now.
    pub fn resolve(&self) -> Result<time::Resolved, time::TimeError> {
        time::resolve(self.start, self.end, time::now())
    }

    /// Range (and size, if it was given) as page parameters; defaults omitted.
    pub fn page_query(&self, q: &mut Query) {
        if self.start_text != DEFAULT_START || self.end_text != DEFAULT_END || !self.defaulted {
            q.push("start", &self.start_text);
        }
        if self.end_text != DEFAULT_END {
            q.push("end", &self.end_text);
        }
        if self.sized {
            q.push("w", &self.width.to_string());
            q.push("h", &self.height.to_string());
        }
    }

    /// Range and size as graph-endpoint parameters (always explicit).
    pub fn graph_query(&self, q: &mut Query) {
        q.push("start", &self.start_text);
        q.push("end", &self.end_text);
        q.push("w", &self.width.to_string());
        q.push("h", &self.height.to_string());
    }
}

/// A query string under construction.
#[derive(Debug, Clone, Default)]
pub struct Query(String);

impl Query {
    /// Appends `key=value`, encoded.
    pub fn push(&mut self, key: &str, value: &str) {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.extend(form_urlencoded::byte_serialize(key.as_bytes()));
        self.0.push('=');
        self.0.extend(form_urlencoded::byte_serialize(value.as_bytes()));
    }

    /// The encoded query (without `?`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `path` with this query.
    pub fn url(&self, path: &str) -> String {
        if self.0.is_empty() { path.to_owned() } else { format!("{path}?{}", self.0) }
    }
}

/// Percent-encodes one path segment (everything but unreserved characters).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The graph-endpoint URL (`/graph.png`, `/data.csv`, …) of a target, mode and view.
pub fn graph_url(endpoint: &str, target: &Target, mode: Mode, view: &View, extra: &[(&str, &str)]) -> String {
    let mut q = Query::default();
    target.query(&mut q);
    if mode != target.default_mode() {
        q.push("mode", mode.name());
    }
    view.graph_query(&mut q);
    for (k, v) in extra {
        q.push(k, v);
    }
    q.url(endpoint)
}

/// The parameters every graph endpoint accepts.
pub const GRAPH_KEYS: &[&str] = &[
    "host", "inst", "cat", "stat", "specific", "plugin", "type", "ti", "s", "mode", "start", "end", "w", "h", "spark",
    "dl", "t", "zoom",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Result<Params, BadParam> {
        Params::parse(Some(q), GRAPH_KEYS)
    }

    #[test]
    fn targets_round_trip() {
        let params = p("host=h1&cat=coin_stats&stat=flips&specific=heads&specific=tails&inst=X").unwrap();
        let t = Target::from_params(&params).unwrap();
        let mut q = Query::default();
        t.query(&mut q);
        assert_eq!(q.as_str(), "host=h1&inst=X&cat=coin_stats&stat=flips&specific=heads&specific=tails");
        let t = Target::from_params(&p("s=h1/any/gauge-c-s&s=h2/load/load/shortterm").unwrap()).unwrap();
        let Target::Combine { series } = &t else { panic!() };
        assert_eq!(series[1].ds.as_deref(), Some("shortterm"));
        assert_eq!(series[0].to_param(), "h1/any/gauge-c-s");
    }

    #[test]
    fn refuses_with_the_parameter_named() {
        let e = |q: &str| {
            let params = match p(q) {
                Ok(p) => p,
                Err(e) => return e,
            };
            match Target::from_params(&params) {
                Err(e) => e,
                Ok(t) => match View::from_params(&params, (800, 300)) {
                    Err(e) => e,
                    Ok(_) => t.mode(&params).expect_err("an error"),
                },
            }
        };
        assert_eq!(e("evil=1").name, "evil");
        assert_eq!(e("host=h&cat=c").name, "stat");
        assert_eq!(e("host=h&cat=c&stat=s&w=100000").name, "w");
        assert_eq!(e("host=h&cat=c&stat=s&h=abc").name, "h");
        assert_eq!(e("host=h&cat=c&stat=s&start=yesterday").name, "start");
        assert_eq!(e("host=h&cat=c&stat=s&mode=sum").name, "mode");
        assert_eq!(e("host=h&host=g&cat=c&stat=s").name, "host");
        assert_eq!(e("s=../../etc/passwd/x/y").name, "s");
        assert_eq!(e("s=a/b").name, "s");
        assert_eq!(e("host=..%2F..&cat=c&stat=s").name, "host");
        let many = (0..51).map(|i| format!("s=h/d/f{i}")).collect::<Vec<_>>().join("&");
        assert_eq!(e(&many).name, "s");
        assert_eq!(e(&"x".repeat(20_000)).name, "query");
    }

    #[test]
    fn urls_encode_names() {
        assert_eq!(seg("a b/c%"), "a%20b%2Fc%25");
        let v = View::default_sized((800, 300));
        let t = Target::Stat {
            host: "h 1".into(),
            inst: None,
            cat: "c".into(),
            stat: "s".into(),
            specifics: vec!["x&y".into()],
        };
        assert_eq!(t.detail_url(&v, Mode::Auto), "/host/h%201/category/c/stat/s?specific=x%26y");
        assert_eq!(
            graph_url("/graph.png", &t, Mode::Lines, &v, &[]),
            "/graph.png?host=h+1&cat=c&stat=s&specific=x%26y&mode=lines&start=end-1d&end=now&w=800&h=300"
        );
    }
}
