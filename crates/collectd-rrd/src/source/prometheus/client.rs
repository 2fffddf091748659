//! The Prometheus HTTP query API, as Prometheus, VictoriaMetrics, Thanos and Mimir answer
//! it: `/api/v1/series`, `/api/v1/labels`, `/api/v1/query`, `/api/v1/query_range`.
//!
//! Blocking, through `ureq` (TLS by rustls), with a timeout on every request; every error
//! names the URL it was asking and, when the database answered, the database's message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

/// How to authenticate to the database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// HTTP basic authentication; the password is read from a file (its first line).
    Basic {
        /// The user name.
        user: String,
        /// The file holding the password.
        password_file: PathBuf,
    },
    /// A bearer token read from a file (its first line).
    Bearer {
        /// The file holding the token.
        token_file: PathBuf,
    },
}

/// Where the database is and how to talk to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The base URL, with any path prefix before `/api/v1`: `http://127.0.0.1:9090`,
    /// `https://vm.example/select/0/prometheus` (VictoriaMetrics cluster).
    pub url: String,
    /// Credentials.
    pub auth: Auth,
    /// The longest one request may take, connecting and reading included.
    pub timeout: Duration,
}

impl Config {
    /// `url` with no credentials and a 10 s timeout.
    pub fn new(url: impl Into<String>) -> Config {
        Config { url: url.into(), auth: Auth::None, timeout: Duration::from_secs(10) }
    }
}

/// Why a request to the database failed. Each variant names the URL asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrometheusError {
    /// The base URL is not an `http://` or `https://` URL.
    #[error("{url}: not an http:// or https:// URL")]
    BadUrl {
        /// The URL given.
        url: String,
    },
    /// A credentials file could not be read.
    #[error("cannot read the credentials file {}: {source}", path.display())]
    Credentials {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No answer within the timeout.
    #[error("{url}: no answer within {} s (timeout)", timeout.as_secs_f64())]
    Timeout {
        /// The URL asked.
        url: String,
        /// The timeout.
        timeout: Duration,
    },
    /// The database could not be reached (refused, unknown host, TLS failure, ...).
    #[error("{url}: cannot reach the database: {message}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// What failed.
        message: String,
    },
    /// An HTTP error status, with the database's message (its JSON `error`, else the body).
    #[error("{url}: HTTP {status}: {message}")]
    Status {
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The database's message.
        message: String,
    },
    /// The database answered `"status": "error"`.
    #[error("{url}: the database refused the query ({kind}): {message}")]
    Query {
        /// The URL asked.
        url: String,
        /// Its `errorType`.
        kind: String,
        /// Its `error`.
        message: String,
    },
    /// The database said its answer is partial (VictoriaMetrics' `isPartial`): some of
    /// its storage nodes did not answer.
    #[error("{url}: the database's answer is partial (some storage nodes did not answer)")]
    Partial {
        /// The URL asked.
        url: String,
    },
    /// The answer is not the API's JSON.
    #[error("{url}: not a Prometheus API answer: {message}")]
    Decode {
        /// The URL asked.
        url: String,
        /// What was wrong.
        message: String,
    },
}

impl PrometheusError {
    /// The URL the failed request asked (the base URL for configuration errors).
    pub fn url(&self) -> Option<&str> {
        match self {
            PrometheusError::Credentials { .. } => None,
            PrometheusError::BadUrl { url }
            | PrometheusError::Timeout { url, .. }
            | PrometheusError::Unreachable { url, .. }
            | PrometheusError::Status { url, .. }
            | PrometheusError::Query { url, .. }
            | PrometheusError::Partial { url }
            | PrometheusError::Decode { url, .. } => Some(url),
        }
    }
}

/// One series with its labels (`__name__` included).
pub type Labels = BTreeMap<String, String>;

/// A series of a range query: its labels and its points (seconds, value).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    /// The labels (`__name__` absent after an aggregation or a function).
    pub labels: Labels,
    /// (time in seconds, value), in time order; `NaN` is kept as the database gave it.
    pub points: Vec<(f64, f64)>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(rename = "errorType", default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(rename = "isPartial", default)]
    is_partial: Option<bool>,
}

#[derive(Deserialize)]
struct QueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct MatrixItem {
    metric: Labels,
    values: Vec<(f64, String)>,
}

#[derive(Deserialize)]
struct VectorItem {
    metric: Labels,
    value: (f64, String),
}

/// A client of one database.
///
/// ```no_run
/// use collectd_rrd::source::prometheus::client::{Client, Config};
///
/// let client = Client::new(Config::new("http://127.0.0.1:8428"))?;
/// for labels in client.series(&["{__name__=~\"collectd_.*\"}"], None)? {
///     println!("{labels:?}");
/// }
/// # Ok::<(), collectd_rrd::source::prometheus::client::PrometheusError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    authorization: Option<String>,
    timeout: Duration,
    agent: ureq::Agent,
}

fn first_line(path: &Path) -> Result<String, PrometheusError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| PrometheusError::Credentials { path: path.to_owned(), source })?;
    Ok(text.lines().next().unwrap_or("").trim_end().to_owned())
}

impl Client {
    /// A client for `config`; reads the credentials files now.
    pub fn new(config: Config) -> Result<Client, PrometheusError> {
        let base = config.url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() <= "https://".len() {
            return Err(PrometheusError::BadUrl { url: config.url });
        }
        let authorization = match &config.auth {
            Auth::None => None,
            Auth::Basic { user, password_file } => {
                let password = first_line(password_file)?;
                let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                Some(format!("Basic {pair}"))
            }
            Auth::Bearer { token_file } => Some(format!("Bearer {}", first_line(token_file)?)),
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("collectd-view/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Client { base, authorization, timeout: config.timeout, agent })
    }

    /// The base URL (without a trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// POSTs `form` to `base/api/v1/{endpoint}` and returns the envelope's `data`.
    fn call<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &str,
        form: &[(&str, String)],
    ) -> Result<T, PrometheusError> {
        let url = format!("{}/api/v1/{endpoint}", self.base);
        let mut request = self.agent.post(&url);
        if let Some(a) = &self.authorization {
            request = request.header("Authorization", a);
        }
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut response = request.send_form(pairs).map_err(|e| self.transport(&url, e))?;
        let status = response.status().as_u16();
        let body =
            response.body_mut().with_config().limit(1 << 30).read_to_string().map_err(|e| self.transport(&url, e))?;
        let envelope: Result<Envelope<T>, _> = serde_json::from_str(&body);
        match envelope {
            Ok(e) if e.status == "success" && (200..300).contains(&status) => {
                if e.is_partial == Some(true) {
                    return Err(PrometheusError::Partial { url });
                }
                e.data.ok_or_else(|| PrometheusError::Decode { url, message: "no data".into() })
            }
            Ok(e) if e.status == "error" || e.error.is_some() => {
                // Databases quote the whole query back; a page or a terminal needs the gist.
                let message = truncate(&e.error.unwrap_or_default(), 1000);
                if (200..300).contains(&status) || status == 400 || status == 422 {
                    Err(PrometheusError::Query { url, kind: e.error_type.unwrap_or_default(), message })
                } else {
                    Err(PrometheusError::Status { url, status, message })
                }
            }
            _ if !(200..300).contains(&status) => {
                let message = body.trim();
                let message = if message.is_empty() { "(empty body)".to_owned() } else { truncate(message, 500) };
                Err(PrometheusError::Status { url, status, message })
            }
            Ok(e) => Err(PrometheusError::Decode { url, message: format!("status {:?}", e.status) }),
            Err(e) => Err(PrometheusError::Decode { url, message: e.to_string() }),
        }
    }

    fn transport(&self, url: &str, e: ureq::Error) -> PrometheusError {
        match e {
            ureq::Error::Timeout(_) => PrometheusError::Timeout { url: url.to_owned(), timeout: self.timeout },
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                PrometheusError::Timeout { url: url.to_owned(), timeout: self.timeout }
            }
            other => PrometheusError::Unreachable { url: url.to_owned(), message: other.to_string() },
        }
    }

    /// `/api/v1/series`: the label sets of the series any of `matchers` selects, over
    /// `range` (start, end in seconds; the database's default without).
    pub fn series(&self, matchers: &[&str], range: Option<(i64, i64)>) -> Result<Vec<Labels>, PrometheusError> {
        let mut form: Vec<(&str, String)> = matchers.iter().map(|m| ("match[]", (*m).to_owned())).collect();
        if let Some((start, end)) = range {
            form.push(("start", start.to_string()));
            form.push(("end", end.to_string()));
        }
        self.call("series", &form)
    }

    /// `/api/v1/labels`: the label names of the series `matchers` select (all without).
    pub fn labels(&self, matchers: &[&str]) -> Result<Vec<String>, PrometheusError> {
        let form: Vec<(&str, String)> = matchers.iter().map(|m| ("match[]", (*m).to_owned())).collect();
        self.call("labels", &form)
    }

    /// `/api/v1/query_range`: `query` from `start` to `end` (seconds) every `step` seconds.
    pub fn query_range(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: u64,
    ) -> Result<Vec<RangeSeries>, PrometheusError> {
        let form = [
            ("query", query.to_owned()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("step", step.max(1).to_string()),
        ];
        let data: QueryData = self.call("query_range", &form)?;
        self.matrix(data, "query_range")
    }

    /// `/api/v1/query` at `time` (now without): an instant vector as (labels, time, value),
    /// or, for a range-vector query (`x[5m]`), each series' raw samples.
    pub fn query(&self, query: &str, time: Option<i64>) -> Result<Vec<RangeSeries>, PrometheusError> {
        let mut form = vec![("query", query.to_owned())];
        if let Some(t) = time {
            form.push(("time", t.to_string()));
        }
        let data: QueryData = self.call("query", &form)?;
        if data.result_type == "matrix" {
            return self.matrix(data, "query");
        }
        let url = format!("{}/api/v1/query", self.base);
        match data.result_type.as_str() {
            "vector" => {
                let items: Vec<VectorItem> = serde_json::from_value(data.result)
                    .map_err(|e| PrometheusError::Decode { url: url.clone(), message: e.to_string() })?;
                Ok(items
                    .into_iter()
                    .map(|i| RangeSeries { labels: i.metric, points: vec![(i.value.0, parse_value(&i.value.1))] })
                    .collect())
            }
            "scalar" => {
                let (t, v): (f64, String) = serde_json::from_value(data.result)
                    .map_err(|e| PrometheusError::Decode { url: url.clone(), message: e.to_string() })?;
                Ok(vec![RangeSeries { labels: Labels::new(), points: vec![(t, parse_value(&v))] }])
            }
            other => Err(PrometheusError::Decode { url, message: format!("result type {other:?}") }),
        }
    }

    fn matrix(&self, data: QueryData, endpoint: &str) -> Result<Vec<RangeSeries>, PrometheusError> {
        let url = format!("{}/api/v1/{endpoint}", self.base);
        if data.result_type != "matrix" {
            return Err(PrometheusError::Decode { url, message: format!("result type {:?}", data.result_type) });
        }
        let items: Vec<MatrixItem> =
            serde_json::from_value(data.result).map_err(|e| PrometheusError::Decode { url, message: e.to_string() })?;
        Ok(items
            .into_iter()
            .map(|i| RangeSeries {
                labels: i.metric,
                points: i.values.into_iter().map(|(t, v)| (t, parse_value(&v))).collect(),
            })
            .collect())
    }
}

/// A sample value as the API writes it: a decimal string, `NaN`, `+Inf`, `-Inf`.
fn parse_value(text: &str) -> f64 {
    match text {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        t => t.parse().unwrap_or(f64::NAN),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_and_missing_credentials_are_refused_up_front() {
        let e = Client::new(Config::new("127.0.0.1:9090")).unwrap_err();
        assert!(matches!(e, PrometheusError::BadUrl { .. }), "{e}");
        let mut c = Config::new("http://127.0.0.1:9");
        c.auth = Auth::Bearer { token_file: "/nonexistent/token".into() };
        let e = Client::new(c).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/token"), "{e}");
    }

    #[test]
    fn a_closed_port_is_unreachable_and_named() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let client = Client::new(Config::new(format!("http://127.0.0.1:{port}/prefix/"))).unwrap();
        let e = client.labels(&[]).unwrap_err();
        assert!(matches!(e, PrometheusError::Unreachable { .. }), "{e}");
        assert_eq!(e.url(), Some(format!("http://127.0.0.1:{port}/prefix/api/v1/labels").as_str()));
    }

    #[test]
    fn a_silent_server_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut c = Config::new(format!("http://127.0.0.1:{port}"));
        c.timeout = Duration::from_millis(300);
        let started = std::time::Instant::now();
        let e = Client::new(c).unwrap().query("1", None).unwrap_err();
        assert!(matches!(e, PrometheusError::Timeout { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(listener);
    }

    #[test]
    fn values_read_as_the_api_writes_them() {
        assert_eq!(parse_value("1.5"), 1.5);
        assert!(parse_value("NaN").is_nan());
        assert_eq!(parse_value("+Inf"), f64::INFINITY);
        assert_eq!(truncate("ééé", 3), "é…");
    }
}
