//! What collectd 5.12's rrdtool plugin would ask of rrdtool: file paths, `rrdtool create`
//! arguments and update strings, as pure functions.
//!
//! The rules (collectd `src/rrdtool.c`, `src/utils/rrdcreate/rrdcreate.c`, `src/daemon/plugin.c`):
//! - **Path**: [`crate::naming::file_path`].
//! - **Step** (`-s`): the `StepSize` option, else the value list's interval rounded to
//!   whole seconds; a step below one second makes no file.
//! - **Start** (`-b`): the value's time rounded to whole seconds, minus one.
//! - **Data sources**: `DS:name:KIND:heartbeat:min:max`, the heartbeat being the `HeartBeat`
//!   option (or twice `StepSize` when only that is set), else twice the interval rounded to
//!   seconds; min and max printed with `%f`, or `U` when unbounded.
//! - **RRAs** (`rra_get`): for each timespan (3600, 86400, 604800, 2678400, 31622400 s by
//!   default) raised to at least `step × rows`, and each of AVERAGE, MIN, MAX:
//!   `RRA:CF:%.10f(xff):pdp:rows`, where the first timespan has `pdp = 1`, the others
//!   `pdp = floor(span / (rows × step))`, and `rows = ceil(span / (pdp × step))`.
//! - **Update**: `"<time rounded to seconds>:<v1>:<v2>…"`, gauges with `%.15g`, counters
//!   and absolutes as unsigned, derives as signed integers. The values are read as the
//!   *types.db* kind says, whatever kind the datagram declared: collectd keeps them in a C
//!   union, so a DERIVE 42 received for a GAUGE source is the double with the bits of 42.

use std::ffi::OsString;
use std::path::Path;

use collectd::protocol::{CdTime, DsType, Value};

use super::cformat::{format_f, format_g};
use super::types_db::DataSet;

/// The rrdtool plugin's file-layout options (`StepSize`, `HeartBeat`, `RRARows`,
/// `RRATimespan`, `XFF`), with collectd's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateConfig {
    /// `StepSize`: a fixed step in seconds instead of the interval.
    pub step_size: Option<u64>,
    /// `HeartBeat`: a fixed heartbeat in seconds instead of twice the interval.
    pub heartbeat: Option<u64>,
    /// `RRARows` (default 1200).
    pub rra_rows: u32,
    /// `RRATimespan` values in seconds, ascending; empty for the defaults.
    pub rra_timespans: Vec<u64>,
    /// `XFF` (default 0.1), in `[0, 1)`.
    pub xff: f64,
}

impl Default for CreateConfig {
    fn default() -> Self {
        CreateConfig { step_size: None, heartbeat: None, rra_rows: 1200, rra_timespans: Vec::new(), xff: 0.1 }
    }
}

/// collectd's default RRA timespans: an hour, a day, a week, 31 days, 366 days.
pub const DEFAULT_TIMESPANS: [u64; 5] = [3600, 86400, 604_800, 2_678_400, 31_622_400];
/// The consolidation functions of every timespan, in order.
pub const CONSOLIDATIONS: [&str; 3] = ["AVERAGE", "MIN", "MAX"];

/// Why no file can be made or named for a value list.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RrdCreateError {
    /// The interval rounds to zero seconds and no `StepSize` is set (collectd: "Could not
    /// calculate RRAs").
    #[error("interval {interval} s rounds to a step of 0 s; collectd makes no file for it")]
    ZeroStep {
        /// The interval in seconds.
        interval: f64,
    },
    /// The options cannot give any RRA.
    #[error("bad RRA options: {0}")]
    BadConfig(String),
}

/// The step: `StepSize`, else the interval rounded to seconds.
pub fn step(interval: CdTime, config: &CreateConfig) -> Result<u64, RrdCreateError> {
    let step = config.step_size.filter(|&s| s > 0).unwrap_or_else(|| interval.as_secs_rounded());
    if step == 0 {
        return Err(RrdCreateError::ZeroStep { interval: interval.as_secs_f64() });
    }
    Ok(step)
}

/// The heartbeat of every data source: `HeartBeat`, else twice `StepSize` when that is set
/// (collectd's `rrd_init`), else twice the interval, rounded to seconds.
pub fn heartbeat(interval: CdTime, config: &CreateConfig) -> u64 {
    match (config.heartbeat.filter(|&h| h > 0), config.step_size.filter(|&s| s > 0)) {
        (Some(hb), _) => hb,
        (None, Some(step)) => 2 * step,
        (None, None) => CdTime::from_raw(interval.raw().wrapping_mul(2)).as_secs_rounded(),
    }
}

/// The `DS:` arguments of a type.
///
/// ```
/// use collectd::protocol::CdTime;
/// use collectd_rrd::write::{create::{ds_defs, CreateConfig}, types_db::TypesDb};
///
/// let db = TypesDb::builtin();
/// let defs = ds_defs(db.get("load").unwrap(), CdTime::from_secs(10), &CreateConfig::default());
/// assert_eq!(defs[0], "DS:shortterm:GAUGE:20:0.000000:5000.000000");
/// let defs = ds_defs(db.get("gauge").unwrap(), CdTime::from_secs(10), &CreateConfig::default());
/// assert_eq!(defs, ["DS:value:GAUGE:20:U:U"]);
/// ```
pub fn ds_defs(set: &DataSet, interval: CdTime, config: &CreateConfig) -> Vec<String> {
    let hb = heartbeat(interval, config);
    let bound = |v: f64| if v.is_nan() { "U".to_owned() } else { format_f(v, 6) };
    set.sources
        .iter()
        .map(|ds| format!("DS:{}:{}:{}:{}:{}", ds.name, ds.ds_type.name(), hb, bound(ds.min), bound(ds.max)))
        .collect()
}

/// The `RRA:` arguments for a step (collectd's `rra_get`).
///
/// ```
/// use collectd_rrd::write::create::{rra_defs, CreateConfig};
///
/// let rras = rra_defs(10, &CreateConfig::default()).unwrap();
/// assert_eq!(rras.len(), 15);
/// assert_eq!(rras[0], "RRA:AVERAGE:0.1000000000:1:1200");
/// assert_eq!(rras[3], "RRA:AVERAGE:0.1000000000:7:1235");
/// assert_eq!(rras[14], "RRA:MAX:0.1000000000:2635:1201");
/// ```
pub fn rra_defs(step: u64, config: &CreateConfig) -> Result<Vec<String>, RrdCreateError> {
    let rows = u64::from(config.rra_rows);
    if rows == 0 {
        return Err(RrdCreateError::BadConfig("RRARows must be above 0".into()));
    }
    if !(0.0..1.0).contains(&config.xff) {
        return Err(RrdCreateError::BadConfig(format!("XFF {} is not in [0, 1)", config.xff)));
    }
    if step == 0 {
        return Err(RrdCreateError::BadConfig("the step is 0".into()));
    }
    let timespans: &[u64] = if config.rra_timespans.is_empty() { &DEFAULT_TIMESPANS } else { &config.rra_timespans };
    let xff = format_f(config.xff, 10);
    let mut out = Vec::with_capacity(timespans.len() * CONSOLIDATIONS.len());
    let mut pdp = 0u64;
    for &timespan in timespans {
        let span = if timespan / step < rows { step * rows } else { timespan };
        pdp = if pdp == 0 { 1 } else { (span as f64 / (rows * step) as f64).floor() as u64 };
        let count = (span as f64 / (pdp * step) as f64).ceil() as u64;
        for cf in CONSOLIDATIONS {
            out.push(format!("RRA:{cf}:{xff}:{pdp}:{count}"));
        }
    }
    Ok(out)
}

/// The whole `rrdtool create` argv (without `rrdtool`) for the file of a value list whose
/// first value has `time` and `interval`:
/// `create PATH -s STEP -b START DS:… RRA:…`. The path is kept as bytes (see
/// [`crate::rrdtool::Pool::run_os`]); every other argument is ASCII.
pub fn create_args(
    path: &Path,
    set: &DataSet,
    time: CdTime,
    interval: CdTime,
    config: &CreateConfig,
) -> Result<Vec<OsString>, RrdCreateError> {
    let step = step(interval, config)?;
    let rras = rra_defs(step, config)?;
    let mut start = time.as_secs_rounded() as i64;
    if start <= 0 {
        start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    }
    let mut args: Vec<OsString> = vec!["create".into(), path.into(), "-s".into(), step.to_string().into(), "-b".into()];
    args.push((start - 1).to_string().into());
    args.extend(ds_defs(set, interval, config).into_iter().map(OsString::from));
    args.extend(rras.into_iter().map(OsString::from));
    Ok(args)
}

/// The 8 bytes collectd keeps for a value (`value_t`, a C union), whatever its kind.
///
/// ```
/// use collectd::protocol::Value;
/// use collectd_rrd::write::create::raw_bits;
///
/// assert_eq!(raw_bits(Value::Derive(-1)), u64::MAX);
/// assert_eq!(raw_bits(Value::Gauge(1.0)), 1.0f64.to_bits());
/// ```
pub fn raw_bits(value: Value) -> u64 {
    match value {
        Value::Counter(v) | Value::Absolute(v) => v,
        Value::Gauge(v) => v.to_bits(),
        Value::Derive(v) => v as u64,
    }
}

/// The update time collectd prints: the time rounded to seconds, as a C `unsigned`.
pub fn update_time(time: CdTime) -> u64 {
    u64::from(time.as_secs_rounded() as u32)
}

/// One update argument, `TIME:V1:V2…`, from the values' raw bits read as `set` says.
///
/// ```
/// use collectd::protocol::{CdTime, Value};
/// use collectd_rrd::write::{create::{raw_bits, update_arg}, types_db::TypesDb};
///
/// let db = TypesDb::builtin();
/// let t = CdTime::from_secs(1_700_000_000) ;
/// let gauge = [raw_bits(Value::Gauge(0.1))];
/// assert_eq!(update_arg(t, db.get("gauge").unwrap(), &gauge), "1700000000:0.1");
/// let octets = [raw_bits(Value::Derive(-5)), raw_bits(Value::Derive(7))];
/// assert_eq!(update_arg(t, db.get("if_octets").unwrap(), &octets), "1700000000:-5:7");
/// // A DERIVE 42 received for a gauge is read as the double with those bits.
/// assert_eq!(update_arg(t, db.get("gauge").unwrap(), &[42]), "1700000000:2.07507571253324e-322");
/// ```
pub fn update_arg(time: CdTime, set: &DataSet, values: &[u64]) -> String {
    let mut out = update_time(time).to_string();
    for (ds, &bits) in set.sources.iter().zip(values) {
        out.push(':');
        match ds.ds_type {
            DsType::Gauge => out.push_str(&format_g(f64::from_bits(bits), 15)),
            DsType::Derive => out.push_str(&(bits as i64).to_string()),
            DsType::Counter | DsType::Absolute => out.push_str(&bits.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::types_db::TypesDb;

    fn rra(step: u64) -> Vec<(u64, u64)> {
        rra_defs(step, &CreateConfig::default())
            .unwrap()
            .iter()
            .step_by(3)
            .map(|r| {
                let f: Vec<&str> = r.split(':').collect();
                (f[3].parse().unwrap(), f[4].parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn rras_for_step_10_are_the_verified_ones() {
        // protocol.md §4, checked with `rrdtool info` on files collectd 5.12 made.
        assert_eq!(rra(10), [(1, 1200), (7, 1235), (50, 1210), (223, 1202), (2635, 1201)]);
        let all = rra_defs(10, &CreateConfig::default()).unwrap();
        let cfs: Vec<&str> = all.iter().map(|r| r.split(':').nth(1).unwrap()).collect();
        assert_eq!(&cfs[..6], ["AVERAGE", "MIN", "MAX", "AVERAGE", "MIN", "MAX"]);
    }

    #[test]
    fn rras_for_other_steps() {
        assert_eq!(rra(1)[..2], [(1, 3600), (72, 1200)]);
        // A step whose rows × step exceeds the first timespans raises them.
        assert_eq!(rra(7)[..2], [(1, 1200), (10, 1235)]);
        assert_eq!(rra(3600)[0], (1, 1200));
        assert_eq!(rra(3600)[1], (1, 1200));
    }

    #[test]
    fn configured_rras() {
        let config =
            CreateConfig { rra_rows: 100, rra_timespans: vec![600, 7200], xff: 0.5, ..CreateConfig::default() };
        assert_eq!(
            rra_defs(10, &config).unwrap(),
            [
                "RRA:AVERAGE:0.5000000000:1:100",
                "RRA:MIN:0.5000000000:1:100",
                "RRA:MAX:0.5000000000:1:100",
                "RRA:AVERAGE:0.5000000000:7:103",
                "RRA:MIN:0.5000000000:7:103",
                "RRA:MAX:0.5000000000:7:103",
            ]
        );
        assert!(rra_defs(10, &CreateConfig { rra_rows: 0, ..CreateConfig::default() }).is_err());
        assert!(rra_defs(10, &CreateConfig { xff: 1.0, ..CreateConfig::default() }).is_err());
    }

    #[test]
    fn step_and_heartbeat_round_like_collectd() {
        let c = CreateConfig::default();
        let secs = |s: f64| CdTime::from_secs_f64(s);
        assert_eq!(step(secs(10.0), &c), Ok(10));
        assert_eq!(step(secs(1.5), &c), Ok(2));
        assert_eq!(heartbeat(secs(1.5), &c), 3); // round(2 × 1.5), not 2 × round(1.5)
        assert_eq!(heartbeat(secs(1.2), &c), 2);
        assert!(matches!(step(secs(0.4), &c), Err(RrdCreateError::ZeroStep { .. })));
        let fixed = CreateConfig { step_size: Some(60), ..CreateConfig::default() };
        assert_eq!(step(secs(10.0), &fixed), Ok(60));
        assert_eq!(heartbeat(secs(10.0), &fixed), 120);
        let both = CreateConfig { step_size: Some(60), heartbeat: Some(500), ..CreateConfig::default() };
        assert_eq!(heartbeat(secs(10.0), &both), 500);
    }

    #[test]
    fn create_argv() {
        let db = TypesDb::builtin();
        let args = create_args(
            Path::new("/d/h/p/if_octets.rrd"),
            db.get("if_octets").unwrap(),
            CdTime::from_secs_f64(1_700_000_000.6),
            CdTime::from_secs(10),
            &CreateConfig::default(),
        )
        .unwrap();
        assert_eq!(
            args[..9],
            [
                "create",
                "/d/h/p/if_octets.rrd",
                "-s",
                "10",
                "-b",
                "1700000000",
                "DS:rx:DERIVE:20:0.000000:U",
                "DS:tx:DERIVE:20:0.000000:U",
                "RRA:AVERAGE:0.1000000000:1:1200",
            ]
        );
        assert_eq!(args.len(), 6 + 2 + 15);
        let memory = ds_defs(db.get("memory").unwrap(), CdTime::from_secs(10), &CreateConfig::default());
        assert_eq!(memory, ["DS:value:GAUGE:20:0.000000:281474976710656.000000"]);
        let delay = ds_defs(db.get("delay").unwrap(), CdTime::from_secs(1), &CreateConfig::default());
        assert_eq!(delay, ["DS:value:GAUGE:2:-1000000.000000:1000000.000000"]);
    }

    #[test]
    fn update_strings() {
        let db = TypesDb::builtin();
        let t = CdTime::from_secs_f64(1_700_000_000.5);
        let gauge = db.get("gauge").unwrap();
        assert_eq!(update_arg(t, gauge, &[f64::NAN.to_bits()]), "1700000001:nan");
        assert_eq!(update_arg(t, gauge, &[(-f64::NAN).to_bits()]), "1700000001:-nan");
        assert_eq!(update_arg(t, gauge, &[(1.0f64 / 3.0).to_bits()]), "1700000001:0.333333333333333");
        assert_eq!(update_arg(t, gauge, &[16848515072.0f64.to_bits()]), "1700000001:16848515072");
        let counter = db.get("counter").unwrap();
        assert_eq!(update_arg(t, counter, &[u64::MAX]), "1700000001:18446744073709551615");
        let load = db.get("load").unwrap();
        let bits: Vec<u64> = [0.05, 0.35, 0.49].iter().map(|v: &f64| v.to_bits()).collect();
        assert_eq!(update_arg(t, load, &bits), "1700000001:0.05:0.35:0.49");
        // Time rounds to nearest, as CDTIME_T_TO_TIME_T.
        assert_eq!(update_time(CdTime::from_secs_f64(9.49)), 9);
    }
}
