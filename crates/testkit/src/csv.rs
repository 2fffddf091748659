//! Reading the files of collectd's `csv` plugin.
//!
//! Layout (collectd 5.12 `src/csv.c`): `DataDir/HOST/PLUGIN[-INST]/TYPE[-INST]-YYYY-MM-DD`,
//! where the date is the writer's *current local date* (not the value's
//! time), so one series can span several files. Each file starts with a
//! header `epoch,<ds name>,...`; each row is the time with three decimals and
//! one column per data source: gauges as `%lf` (`nan` for NaN), counters,
//! derives and absolutes as integers (with `StoreRates false`).

use std::fs;
use std::path::Path;

/// One CSV row: the time in seconds since the epoch, and one value per data
/// source (NaN when collectd wrote `nan`/`-nan`; integers converted to `f64`).
pub type CsvRow = (f64, Vec<f64>);

fn parse_value(s: &str) -> Option<f64> {
    let s = s.trim();
    match s.trim_start_matches(['-', '+']).to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// Parses the contents of one csv-plugin file.
///
/// The header line and malformed lines are skipped. A last line without a
/// terminating newline is ignored, because collectd may be writing it right
/// now.
///
/// ```
/// let rows = testkit::parse_csv("epoch,value\n1700000000.500,1.250000\n1700000001.500,nan\n17000");
/// assert_eq!(rows.len(), 2);
/// assert_eq!(rows[0], (1700000000.5, vec![1.25]));
/// assert!(rows[1].1[0].is_nan());
/// ```
pub fn parse_csv(text: &str) -> Vec<CsvRow> {
    let complete = match text.rfind('\n') {
        Some(end) => &text[..end],
        None => "",
    };
    complete
        .lines()
        .filter(|line| !line.starts_with("epoch"))
        .filter_map(|line| {
            let mut fields = line.split(',');
            let time = parse_value(fields.next()?)?;
            let values = fields.map(parse_value).collect::<Option<Vec<f64>>>()?;
            Some((time, values))
        })
        .collect()
}

/// True for `PREFIX-YYYY-MM-DD`.
fn is_dated_file(name: &str, prefix: &str) -> bool {
    let Some(date) = name.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('-')) else {
        return false;
    };
    date.len() == 10
        && date.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        })
}

/// Reads every `TYPE_FILE_PREFIX-YYYY-MM-DD` file in `dir` in date order and
/// returns all rows. A missing directory gives no rows.
pub(crate) fn read_series(dir: &Path, type_file_prefix: &str) -> Vec<CsvRow> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| is_dated_file(name, type_file_prefix))
        .collect();
    names.sort();
    names.iter().filter_map(|name| fs::read_to_string(dir.join(name)).ok()).flat_map(|text| parse_csv(&text)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multi_ds_and_integers() {
        let rows = parse_csv("epoch,rx,tx\n1.000,10,20\nbroken\n2.000,-nan,18446744073709551615\n");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], (1.0, vec![10.0, 20.0]));
        assert!(rows[1].1[0].is_nan());
        assert_eq!(rows[1].1[1], u64::MAX as f64);
    }

    #[test]
    fn dated_file_names() {
        assert!(is_dated_file("load-2024-01-31", "load"));
        assert!(is_dated_file("gauge-x-2024-01-31", "gauge-x"));
        assert!(!is_dated_file("gauge-x-2024-01-31", "gauge"));
        assert!(!is_dated_file("load-2024-01-3", "load"));
        assert!(!is_dated_file("loadavg-2024-01-31", "load"));
    }

    #[test]
    fn reads_files_in_date_order() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("gauge-2024-01-02"), "epoch,value\n3.000,3\n").unwrap();
        fs::write(dir.path().join("gauge-2024-01-01"), "epoch,value\n1.000,1\n2.000,2\n").unwrap();
        fs::write(dir.path().join("gauge-x-2024-01-01"), "epoch,value\n9.000,9\n").unwrap();
        let times: Vec<f64> = read_series(dir.path(), "gauge").iter().map(|r| r.0).collect();
        assert_eq!(times, [1.0, 2.0, 3.0]);
        assert!(read_series(&dir.path().join("missing"), "gauge").is_empty());
    }
}
