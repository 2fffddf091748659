//! `collectd-view dump` receiving from a real collectd 5.12 (`<Server>` blocks) at each
//! security level: its own readings (the load plugin) and notifications (the threshold
//! plugin) print as JSON lines with the sender's address and, when signed or encrypted,
//! the username.

mod cli;

use std::time::Duration;

use cli::Proc;
use serde_json::Value as Json;
use testkit::{Collectd, Security};

/// A threshold that the load always crosses, so collectd sends a WARNING every interval.
const THRESHOLD: &str = r#"
LoadPlugin threshold
<Plugin threshold>
  <Plugin "load">
    <Type "load">
      DataSource "shortterm"
      WarningMin 1000000
      FailureMin -1
      Persist true
    </Type>
  </Plugin>
</Plugin>
"#;

fn dump_from_collectd(security: Security) {
    if testkit::require_collectd().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth");
    std::fs::write(&auth, "# users\nwriter: s3cret pass\n").unwrap();
    let addr = cli::free_addr();
    let level = match security {
        Security::None => "none",
        Security::Sign => "sign",
        Security::Encrypt => "encrypt",
    };
    let mut args =
        vec!["dump".to_owned(), "--listen".into(), addr.to_string(), "--security-level".into(), level.into()];
    if security != Security::None {
        args.extend(["--auth-file".to_owned(), auth.to_str().unwrap().to_owned()]);
    }
    let dump = Proc::spawn_listening(&args);
    let credentials = (security != Security::None).then_some(("writer", "s3cret pass"));
    let collectd = Collectd::builder()
        .interval(1)
        .plugin("load")
        .plugin("threshold")
        .extra_config(THRESHOLD)
        .server("127.0.0.1", addr.port(), security, credentials)
        .start()
        .expect("collectd starts");

    let found = cli::poll(Duration::from_secs(20), || {
        let lines = dump.stdout_lines();
        let records: Vec<Json> = lines.iter().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
        let load = records.iter().find(|r| r["kind"] == "values" && r["plugin"] == "load").cloned();
        let warning = records.iter().find(|r| r["kind"] == "notification").cloned();
        load.zip(warning)
    });
    let Some((load, warning)) = found else {
        panic!("no load values and notification from collectd; stdout:\n{:?}\n{}", dump.stdout_lines(), collectd.log());
    };
    assert_eq!(load["host"], "testkit");
    assert_eq!(load["type"], "load");
    assert_eq!(load["interval"], 1.0);
    let values = load["values"].as_array().unwrap();
    assert_eq!(values.len(), 3);
    assert!(values.iter().all(|v| v["type"] == "GAUGE" && v["value"].is_f64()), "{values:?}");
    let now = cli::now() as f64;
    assert!((load["time"].as_f64().unwrap() - now).abs() < 60.0, "{load}");
    assert!(load["from"].as_str().unwrap().starts_with("127.0.0.1:"), "{load}");
    assert_eq!(warning["severity"], "WARNING", "{warning}");
    assert_eq!(warning["host"], "testkit");
    assert_eq!(warning["plugin"], "load");
    assert!(warning["message"].as_str().unwrap().contains("shortterm"), "{warning}");
    let (protection, username) = match security {
        Security::None => ("plain", Json::Null),
        Security::Sign => ("signed", Json::from("writer")),
        Security::Encrypt => ("encrypted", Json::from("writer")),
    };
    for record in [&load, &warning] {
        assert_eq!(record["protection"], protection, "{record}");
        assert_eq!(record.get("username").cloned().unwrap_or(Json::Null), username, "{record}");
    }
    assert!(!dump.stderr().contains("malformed"), "{}", dump.stderr());
}

#[test]
fn dump_from_collectd_without_security() {
    dump_from_collectd(Security::None);
}

#[test]
fn dump_from_collectd_signed() {
    dump_from_collectd(Security::Sign);
}

#[test]
fn dump_from_collectd_encrypted() {
    dump_from_collectd(Security::Encrypt);
}

/// `--count N` exits after N records, with status 0.
#[test]
fn dump_count_exits_after_n_records() {
    if testkit::require_collectd().is_none() {
        return;
    }
    let addr = cli::free_addr();
    let mut dump = Proc::spawn_listening(&["dump", "--listen", &addr.to_string(), "--count", "4"]);
    let _collectd = Collectd::builder()
        .interval(1)
        .plugin("load")
        .server("127.0.0.1", addr.port(), Security::None, None)
        .start()
        .expect("collectd starts");
    let status = dump.wait_exit(Duration::from_secs(20));
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{}", dump.stderr());
    assert_eq!(dump.stdout_lines().len(), 4);
}
