//! collectd's names in a Prometheus-compatible database, both ways, as collectd 5.12's
//! `write_prometheus` plugin (and `collectd_exporter`, which it copies) writes them.
//!
//! One value list gives one series per data source:
//!
//! - the metric name is `collectd`, then the plugin unless it equals the type, then the
//!   type, then the data source's name unless it is `value`, then `total` for DERIVE and
//!   COUNTER data sources, joined by `_` (`collectd_cpu_total`,
//!   `collectd_interface_if_octets_rx_total`, `collectd_load_shortterm`,
//!   `collectd_any_gauge`);
//! - the labels are, in order: the plugin instance under the plugin's name
//!   (`cpu="0"`), the type instance under `type` when there is a plugin instance and
//!   under the plugin's name when there is none (`any="coin_stats-heads-flips"`), and
//!   the host under `instance`.
//!
//! A database that scrapes the plugin with `honor_labels: false` (Prometheus' and
//! VictoriaMetrics' default) keeps its own `instance` (the scrape target) and renames
//! the plugin's to `exported_instance`: the host is read from `exported_instance` when a
//! series has it.
//!
//! Reading a series back needs the types (a name like `collectd_interface_if_octets_rx`
//! splits into plugin, type and data source only by knowing that `if_octets` is a type
//! with a data source `rx`), and one case cannot be told apart: with one instance label
//! under the plugin's name, the plugin wrote either a plugin instance or a type
//! instance. [`identify`] reads it as a type instance for the original module's `any`
//! plugin and for plugins whose type is their own name (`memory/memory-used`), as a
//! plugin instance otherwise (`interface-eth0/if_octets`); either way the series'
//! labels, and so its queries, are the same ([`selector`] of [`labels`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use collectd::protocol::DsType;

use crate::naming::{Identifier, MODULE_PLUGIN, Meaning, module_meaning};
use crate::write::types_db::TypesDb;

/// The prefix of every metric name the plugin writes.
pub const PREFIX: &str = "collectd";
/// The label holding the host, as the plugin writes it.
pub const HOST_LABEL: &str = "instance";
/// The host's label after a scrape with `honor_labels: false` renamed it.
pub const EXPORTED_HOST_LABEL: &str = "exported_instance";
/// The label holding the type instance when there is also a plugin instance.
pub const TYPE_LABEL: &str = "type";
/// Labels a scrape adds, never the plugin's own (`job`; `instance` is handled apart).
const SCRAPE_LABELS: &[&str] = &["job", "__name__", EXPORTED_HOST_LABEL, HOST_LABEL];

/// The metric name of data source `ds_name` (of kind `ds_type`) of `type_` written by
/// `plugin`, as `write_prometheus`' `metric_family_name` builds it.
///
/// ```
/// use collectd::protocol::DsType;
/// use collectd_rrd::source::prometheus::naming::metric_name;
///
/// assert_eq!(metric_name("any", "gauge", "value", DsType::Gauge), "collectd_any_gauge");
/// assert_eq!(metric_name("cpu", "cpu", "value", DsType::Derive), "collectd_cpu_total");
/// assert_eq!(metric_name("interface", "if_octets", "rx", DsType::Derive), "collectd_interface_if_octets_rx_total");
/// assert_eq!(metric_name("load", "load", "shortterm", DsType::Gauge), "collectd_load_shortterm");
/// ```
pub fn metric_name(plugin: &str, type_: &str, ds_name: &str, ds_type: DsType) -> String {
    let mut name = String::from(PREFIX);
    if plugin != type_ {
        let _ = write!(name, "_{plugin}");
    }
    let _ = write!(name, "_{type_}");
    if ds_name != "value" {
        let _ = write!(name, "_{ds_name}");
    }
    if matches!(ds_type, DsType::Counter | DsType::Derive) {
        name.push_str("_total");
    }
    name
}

/// The labels of `id`'s series, in the plugin's order (plugin instance, type instance,
/// host), under the plugin's names. An empty instance counts as none, as in collectd.
///
/// ```
/// use collectd_rrd::naming::Identifier;
/// use collectd_rrd::source::prometheus::naming::labels;
///
/// let id = Identifier {
///     host: "web1".into(), plugin: "any".into(), plugin_instance: None,
///     type_: "gauge".into(), type_instance: Some("coin_stats-heads-flips".into()),
/// };
/// let pairs = labels(&id);
/// assert_eq!(pairs, [("any".to_owned(), "coin_stats-heads-flips".to_owned()), ("instance".to_owned(), "web1".to_owned())]);
/// ```
pub fn labels(id: &Identifier) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(3);
    let pinst = id.plugin_instance.as_deref().filter(|s| !s.is_empty());
    let tinst = id.type_instance.as_deref().filter(|s| !s.is_empty());
    if let Some(p) = pinst {
        out.push((id.plugin.clone(), p.to_owned()));
    }
    if let Some(t) = tinst {
        let name = if pinst.is_some() { TYPE_LABEL } else { id.plugin.as_str() };
        out.push((name.to_owned(), t.to_owned()));
    }
    out.push((HOST_LABEL.to_owned(), id.host.clone()));
    out
}

/// Writes `value` as a PromQL string literal (double quotes, `\`, `"` and control
/// characters escaped).
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `name` can stand bare in PromQL as a metric or label name.
pub fn is_plain_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A PromQL series selector: `metric{l1="v1",...}`, each matcher `name="value"` or
/// `name=~"regex"` as given. A metric name PromQL cannot take bare goes in as a
/// `__name__` matcher.
///
/// ```
/// use collectd_rrd::source::prometheus::naming::{Matcher, selector};
///
/// let m = [Matcher::eq("any", "coin_stats-flips"), Matcher::re("instance", "web1|web2")];
/// assert_eq!(selector("collectd_any_gauge", &m), r#"collectd_any_gauge{any="coin_stats-flips",instance=~"web1|web2"}"#);
/// ```
pub fn selector(metric: &str, matchers: &[Matcher]) -> String {
    let mut out = String::new();
    let mut parts: Vec<String> = Vec::with_capacity(matchers.len() + 1);
    if is_plain_name(metric) {
        out.push_str(metric);
    } else {
        parts.push(format!("__name__={}", quote(metric)));
    }
    parts.extend(matchers.iter().map(|m| format!("{}{}{}", m.name, m.op, quote(&m.value))));
    out.push('{');
    out.push_str(&parts.join(","));
    out.push('}');
    out
}

/// One label matcher of a [`selector`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    /// The label's name.
    pub name: String,
    /// `=` or `=~`.
    pub op: &'static str,
    /// The value or regular expression.
    pub value: String,
}

impl Matcher {
    /// `name="value"`.
    pub fn eq(name: impl Into<String>, value: impl Into<String>) -> Matcher {
        Matcher { name: name.into(), op: "=", value: value.into() }
    }

    /// `name=~"regex"`.
    pub fn re(name: impl Into<String>, regex: impl Into<String>) -> Matcher {
        Matcher { name: name.into(), op: "=~", value: regex.into() }
    }
}

/// Escapes `s` for a PromQL (RE2) regular expression matching it literally.
pub fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A series read back: the value list's identifier and the data source it carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId {
    /// host / plugin[-pinst] / type[-tinst], as the RRD DataDir would name the file.
    pub id: Identifier,
    /// The data source's name (`value`, `rx`, `shortterm`).
    pub ds: String,
    /// True when the metric ends in `_total`: a DERIVE or COUNTER, stored as the raw
    /// count, so graphs take its `rate()` as rrdtool stores the rate.
    pub counter: bool,
    /// The label holding the host in this database (`instance` or `exported_instance`).
    pub host_label: String,
}

impl SeriesId {
    /// The original module's category / specific / stat, for the `any` plugin's `gauge`
    /// series (exactly as the RRD index reads its files).
    pub fn meaning(&self) -> Option<Meaning> {
        module_meaning(&self.id.plugin, &self.id.type_, self.id.type_instance.as_deref())
    }

    /// The metric name this series has.
    pub fn metric(&self) -> String {
        let kind = if self.counter { DsType::Derive } else { DsType::Gauge };
        metric_name(&self.id.plugin, &self.id.type_, &self.ds, kind)
    }

    /// The exact matchers of this series (host under [`host_label`](Self::host_label)).
    pub fn matchers(&self) -> Vec<Matcher> {
        labels(&self.id)
            .into_iter()
            .map(|(k, v)| if k == HOST_LABEL { Matcher::eq(self.host_label.clone(), v) } else { Matcher::eq(k, v) })
            .collect()
    }

    /// The selector of exactly this series.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use collectd_rrd::source::prometheus::naming::identify;
    /// use collectd_rrd::write::types_db::TypesDb;
    ///
    /// let labels: BTreeMap<String, String> =
    ///     [("cpu", "0"), ("type", "user"), ("exported_instance", "web1"), ("instance", "127.0.0.1:9103"), ("job", "collectd")]
    ///         .into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
    /// let s = identify("collectd_cpu_total", &labels, &TypesDb::builtin()).unwrap();
    /// assert_eq!(s.id.to_string(), "web1/cpu-0/cpu-user");
    /// assert_eq!(s.selector(), r#"collectd_cpu_total{cpu="0",type="user",exported_instance="web1"}"#);
    /// ```
    pub fn selector(&self) -> String {
        selector(&self.metric(), &self.matchers())
    }
}

/// Reads a series (metric name and labels, as `/api/v1/series` gives them) back as the
/// value list's identifier and data source, or `None` for a series that is not
/// collectd's. `types` splits the name into plugin, type and data source (see the
/// module's documentation); a type it does not know is read as a single `value`.
pub fn identify(metric: &str, labels: &BTreeMap<String, String>, types: &TypesDb) -> Option<SeriesId> {
    let rest = metric.strip_prefix(PREFIX)?.strip_prefix('_')?;
    let (host_label, host) = match labels.get(EXPORTED_HOST_LABEL) {
        Some(h) => (EXPORTED_HOST_LABEL, h),
        None => (HOST_LABEL, labels.get(HOST_LABEL)?),
    };
    // A name ending in `_total` is a counter, unless only the unsuffixed reading fits.
    let readings: Vec<(&str, bool)> = match rest.strip_suffix("_total") {
        Some(r) if !r.is_empty() => vec![(r, true), (rest, false)],
        _ => vec![(rest, false)],
    };
    let plugin_keys: Vec<&String> =
        labels.keys().filter(|k| !SCRAPE_LABELS.contains(&k.as_str()) && k.as_str() != TYPE_LABEL).collect();
    let mut fallback = None;
    for &(body, counter) in &readings {
        // The plugin is a label's name when the value list had an instance.
        let plugin_label = plugin_keys
            .iter()
            .filter(|k| body == k.as_str() || body.starts_with(&format!("{k}_")))
            .max_by_key(|k| k.len());
        let split = match plugin_label {
            Some(p) => split_with_plugin(p, body, types, counter),
            None => split_without_plugin(body, types, counter),
        };
        let Some((plugin, type_, ds, known)) = split else { continue };
        let pinst_label = labels.get(&plugin);
        let tinst_label = labels.get(TYPE_LABEL);
        let (plugin_instance, type_instance) = match (pinst_label, tinst_label) {
            (Some(p), Some(t)) => (Some(p.clone()), Some(t.clone())),
            (Some(one), None) => {
                if plugin == MODULE_PLUGIN || plugin == type_ {
                    (None, Some(one.clone()))
                } else {
                    (Some(one.clone()), None)
                }
            }
            // `type` without a plugin instance is not the plugin's; keep it as written.
            (None, Some(t)) => (None, Some(t.clone())),
            (None, None) => (None, None),
        };
        let series = SeriesId {
            id: Identifier { host: host.clone(), plugin, plugin_instance, type_, type_instance },
            ds,
            counter,
            host_label: host_label.to_owned(),
        };
        if known {
            return Some(series);
        }
        fallback.get_or_insert(series);
    }
    fallback
}

/// Whether `types` has `type_` with data source `ds` of a kind that matches `counter`.
fn known(types: &TypesDb, type_: &str, ds: &str, counter: bool) -> bool {
    types.get(type_).is_some_and(|set| {
        set.sources.iter().any(|s| s.name == ds && matches!(s.ds_type, DsType::Counter | DsType::Derive) == counter)
    })
}

/// The readings of `tail` (after plugin and `_`, or the whole name when plugin = type)
/// as type and data source: the whole as a type of one `value`, or a type then a data
/// source at each `_`.
fn type_ds_splits(tail: &str) -> impl Iterator<Item = (&str, &str)> {
    std::iter::once((tail, "value"))
        .chain(tail.match_indices('_').map(move |(i, _)| (&tail[..i], &tail[i + 1..])))
        .filter(|(t, d)| !t.is_empty() && !d.is_empty())
}

/// (plugin, type, data source, known to `types`).
type Split = (String, String, String, bool);

fn split_with_plugin(plugin: &str, body: &str, types: &TypesDb, counter: bool) -> Option<Split> {
    let mut candidates: Vec<(&str, &str)> = Vec::new();
    // plugin = type: `plugin` or `plugin_ds`.
    if body == plugin {
        candidates.push((plugin, "value"));
    } else if let Some(ds) = body.strip_prefix(plugin).and_then(|r| r.strip_prefix('_')) {
        candidates.push((plugin, ds));
        candidates.extend(type_ds_splits(ds));
    }
    let pick = candidates.iter().find(|(t, d)| known(types, t, d, counter));
    let (type_, ds, is_known) = match pick {
        Some(&(t, d)) => (t, d, true),
        // Unknown type: everything after the plugin is the type, with one `value`.
        None => match candidates.get(1).or(candidates.first()) {
            Some(&(t, d)) if body != plugin => (t, if t == plugin { d } else { "value" }, false),
            _ => (plugin, "value", false),
        },
    };
    Some((plugin.to_owned(), type_.to_owned(), ds.to_owned(), is_known))
}

fn split_without_plugin(body: &str, types: &TypesDb, counter: bool) -> Option<Split> {
    // plugin = type first (`load_shortterm`, `uptime`), then `plugin_type[_ds]`.
    for (t, d) in type_ds_splits(body) {
        if known(types, t, d, counter) {
            return Some((t.to_owned(), t.to_owned(), d.to_owned(), true));
        }
    }
    for (i, _) in body.match_indices('_') {
        let (plugin, tail) = (&body[..i], &body[i + 1..]);
        for (t, d) in type_ds_splits(tail) {
            if known(types, t, d, counter) {
                return Some((plugin.to_owned(), t.to_owned(), d.to_owned(), true));
            }
        }
    }
    // Unknown: the whole name is plugin = type with one `value`.
    Some((body.to_owned(), body.to_owned(), "value".to_owned(), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses the text exposition format's sample lines (as `write_prometheus` serves
    /// them) into (metric, labels, value); enough for the plugin's own output.
    fn parse_exposition(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
        let mut out = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let (metric, rest) = line.split_once('{').unwrap();
            let (labels_text, value_text) = rest.split_once("} ").unwrap();
            let mut labels = BTreeMap::new();
            for pair in labels_text.split("\",") {
                let (k, v) = pair.split_once("=\"").unwrap();
                labels.insert(k.to_owned(), v.trim_end_matches('"').to_owned());
            }
            let value = value_text.split_whitespace().next().unwrap().parse().unwrap();
            out.push((metric.to_owned(), labels, value));
        }
        out
    }

    /// Captured from collectd 5.12.0's write_prometheus (Debian's collectd-core) fed by
    /// this library's `basic` example for host web1, and for host web2 with
    /// `--plugin-instance shard1`, next to collectd's own load, cpu, memory, interface
    /// (lo) and df (/) plugins on host db1.
    const SCRAPE: &str = include_str!("write_prometheus-5.12.txt");

    fn id(host: &str, plugin: &str, pinst: Option<&str>, type_: &str, tinst: Option<&str>) -> Identifier {
        Identifier {
            host: host.into(),
            plugin: plugin.into(),
            plugin_instance: pinst.map(Into::into),
            type_: type_.into(),
            type_instance: tinst.map(Into::into),
        }
    }

    #[test]
    fn the_plugin_output_reads_back_as_identifiers_and_meanings() {
        let types = TypesDb::builtin();
        let got: Vec<(String, String, bool)> = parse_exposition(SCRAPE)
            .iter()
            .map(|(m, l, _)| {
                let s = identify(m, l, &types).unwrap_or_else(|| panic!("{m} {l:?}"));
                (s.id.to_string(), s.ds, s.counter)
            })
            .collect();
        let want = [
            ("web1/any/gauge-coin_stats-flips", "value", false),
            ("web1/any/gauge-coin_stats-heads-flips", "value", false),
            ("web2/any-shard1/gauge-coin_stats-flips", "value", false),
            ("db1/cpu-0/cpu-user", "value", true),
            ("db1/interface-lo/if_octets", "rx", true),
            ("db1/interface-lo/if_packets", "tx", true),
            ("db1/load/load", "shortterm", false),
            ("db1/memory/memory-used", "value", false),
            ("db1/df-root/df_complex-free", "value", false),
        ];
        for (id, ds, counter) in want {
            assert!(got.contains(&(id.to_owned(), ds.to_owned(), counter)), "{id} {ds} not in {got:#?}");
        }
        assert_eq!(got.len(), parse_exposition(SCRAPE).len());
    }

    #[test]
    fn the_module_series_mean_category_specific_stat() {
        let types = TypesDb::builtin();
        let meanings: Vec<Option<Meaning>> =
            parse_exposition(SCRAPE).iter().map(|(m, l, _)| identify(m, l, &types).unwrap().meaning()).collect();
        assert_eq!(meanings[0], Some(Meaning::Base { category: "coin_stats".into(), stat: "flips".into() }));
        assert_eq!(
            meanings[1],
            Some(Meaning::Specific { category: "coin_stats".into(), specific: "heads".into(), stat: "flips".into() })
        );
        assert_eq!(meanings[5], Some(Meaning::Base { category: "coin_stats".into(), stat: "flips".into() }));
        assert_eq!(meanings.iter().filter(|m| m.is_some()).count(), 10);
    }

    #[test]
    fn forward_and_back_give_the_plugin_output_exactly() {
        let types = TypesDb::builtin();
        for (metric, labels, _) in parse_exposition(SCRAPE) {
            let s = identify(&metric, &labels, &types).unwrap();
            assert_eq!(s.metric(), metric);
            let written: BTreeMap<String, String> = super::labels(&s.id).into_iter().collect();
            assert_eq!(written, labels, "{metric}");
        }
    }

    #[test]
    fn a_scrape_that_renamed_the_host_label_is_read_from_exported_instance() {
        let types = TypesDb::builtin();
        let labels: BTreeMap<String, String> = [
            ("any", "coin_stats-flips"),
            ("exported_instance", "web1"),
            ("instance", "127.0.0.1:9103"),
            ("job", "collectd"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let s = identify("collectd_any_gauge", &labels, &types).unwrap();
        assert_eq!(s.id, id("web1", "any", None, "gauge", Some("coin_stats-flips")));
        assert_eq!(s.host_label, "exported_instance");
        assert_eq!(s.selector(), r#"collectd_any_gauge{any="coin_stats-flips",exported_instance="web1"}"#);
    }

    #[test]
    fn other_series_and_unknown_types_are_handled() {
        let types = TypesDb::builtin();
        let host: BTreeMap<String, String> = [("instance".to_owned(), "h".to_owned())].into();
        assert_eq!(identify("up", &host, &types), None);
        assert_eq!(identify("collectd_any_gauge", &BTreeMap::new(), &types), None);
        let s = identify("collectd_myplugin_mytype_total", &host, &types).unwrap();
        assert_eq!(
            (s.id.plugin.as_str(), s.id.type_.as_str(), s.counter),
            ("myplugin_mytype", "myplugin_mytype", true)
        );
        assert_eq!(s.metric(), "collectd_myplugin_mytype_total");
    }

    #[test]
    fn selectors_quote_what_promql_needs() {
        assert_eq!(quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(selector("bad-name", &[Matcher::eq("x", "1")]), r#"{__name__="bad-name",x="1"}"#);
        assert_eq!(regex_escape("a.b|c"), r"a\.b\|c");
    }
}
