//! The options that read series from a Prometheus-compatible database instead of the
//! DataDir, shared by `ls`, `graph` and `serve`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use collectd_rrd::source::prometheus::PrometheusSource;
use collectd_rrd::source::prometheus::client::{Auth, Config};
use collectd_rrd::write::types_db::TypesDb;

/// `--prometheus URL` and its companions.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct PromArgs {
    /// Read series from a Prometheus-compatible database (Prometheus, VictoriaMetrics,
    /// Thanos, Mimir) at this base URL, with any path prefix before /api/v1
    /// (VictoriaMetrics cluster: http://vmselect:8481/select/0/prometheus), instead of the
    /// DataDir. Series are named as collectd's write_prometheus writes them.
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// HTTP basic authentication user (the password is read from --prometheus-password-file).
    #[arg(long, value_name = "USER", requires = "prometheus_password_file")]
    pub prometheus_user: Option<String>,
    /// File whose first line is the basic authentication password.
    #[arg(long, value_name = "FILE", requires = "prometheus_user")]
    pub prometheus_password_file: Option<PathBuf>,
    /// File whose first line is a bearer token.
    #[arg(long, value_name = "FILE", conflicts_with = "prometheus_user")]
    pub prometheus_token_file: Option<PathBuf>,
    /// Longest one database request may take, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub prometheus_timeout: u64,
    /// How often the database scrapes collectd, in seconds: the shortest step read.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub scrape_interval: u64,
    /// types.db files splitting metric names into plugin, type and data source (default:
    /// collectd's standard types, built in). Repeatable.
    #[arg(long = "types-db", value_name = "FILE")]
    pub types_db: Vec<PathBuf>,
}

impl PromArgs {
    /// The source, when `--prometheus` was given.
    pub fn source(&self) -> Result<Option<PrometheusSource>> {
        let Some(url) = &self.prometheus else { return Ok(None) };
        let auth = match (&self.prometheus_user, &self.prometheus_password_file, &self.prometheus_token_file) {
            (Some(user), Some(file), _) => Auth::Basic { user: user.clone(), password_file: file.clone() },
            (_, _, Some(file)) => Auth::Bearer { token_file: file.clone() },
            _ => Auth::None,
        };
        let types = if self.types_db.is_empty() {
            TypesDb::builtin()
        } else {
            TypesDb::load(&self.types_db).context("reading --types-db")?.0
        };
        let config = Config { url: url.clone(), auth, timeout: Duration::from_secs(self.prometheus_timeout.max(1)) };
        Ok(Some(PrometheusSource::new(config, types, self.scrape_interval)?))
    }
}
