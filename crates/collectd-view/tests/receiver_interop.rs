//! `collectd-view receive` against a real collectd 5.12 with the rrdtool plugin: the same
//! datagrams go to both, and every RRD file must come out the same — the same paths, the
//! same `rrdtool info` (step, data sources, RRAs, and the update state: last update,
//! last_ds, PDP and CDP preparation; only the random current rows differ) and the same
//! values fetched from every RRA.

mod cli;

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use cli::Proc;
use collectd::protocol::{
    CdTime, Credentials, EncodeError, PacketWriter, Security, TimeResolution, Value, ValueList, WriterOptions,
};
use testkit::Collectd;

/// One series: names, interval (None: no interval part), time offset and values of round k.
struct Series {
    plugin: &'static str,
    plugin_instance: &'static str,
    type_: &'static str,
    type_instance: &'static str,
    interval: Option<f64>,
    /// Offsets from t0 (seconds) of the value lists of round k.
    times: fn(u64) -> Vec<f64>,
    values: fn(u64) -> Vec<Value>,
}

fn every(step: f64) -> impl Fn(u64) -> Vec<f64> {
    move |k| vec![k as f64 * step]
}

fn ten(k: u64) -> Vec<f64> {
    every(10.0)(k)
}

fn series() -> Vec<Series> {
    use Value::{Absolute, Counter, Derive, Gauge};
    vec![
        Series {
            plugin: "test",
            plugin_instance: "",
            type_: "gauge",
            type_instance: "plain",
            interval: Some(10.0),
            times: ten,
            values: |k| {
                vec![Gauge(match k {
                    5 => f64::NAN,
                    7 => f64::INFINITY,
                    _ => k as f64 * 1.5 - 3.0,
                })]
            },
        },
        Series {
            // Ends with a NaN: rrdtool keeps the text of the last update (`last_ds`), which
            // shows what collectd writes for NaN: `%.15g` gives "nan", not "U".
            plugin: "test",
            plugin_instance: "",
            type_: "gauge",
            type_instance: "nan",
            interval: Some(10.0),
            times: ten,
            values: |k| vec![Gauge(if k % 2 == 1 { f64::NAN } else { k as f64 })],
        },
        Series {
            plugin: "test",
            plugin_instance: "",
            type_: "derive",
            type_instance: "neg",
            interval: Some(10.0),
            times: ten,
            values: |k| vec![Derive(if k < 15 { k as i64 * 100 } else { 1500 - (k as i64 - 15) * 700 })],
        },
        Series {
            plugin: "test",
            plugin_instance: "",
            type_: "counter",
            type_instance: "",
            interval: Some(10.0),
            times: ten,
            values: |k| vec![Counter((4_294_967_295u64 - 500 + k * 100) % 4_294_967_296)],
        },
        Series {
            plugin: "test",
            plugin_instance: "",
            type_: "absolute",
            type_instance: "",
            interval: Some(10.0),
            times: ten,
            values: |k| vec![Absolute(k * 7)],
        },
        Series {
            plugin: "load",
            plugin_instance: "",
            type_: "load",
            type_instance: "",
            interval: Some(1.0),
            times: |k| vec![k as f64],
            values: |k| vec![Gauge(k as f64 * 0.01), Gauge(0.5), Gauge(k as f64)],
        },
        Series {
            plugin: "interface",
            plugin_instance: "eth0",
            type_: "if_octets",
            type_instance: "",
            interval: Some(7.0),
            times: |k| vec![k as f64 * 7.0],
            values: |k| vec![Derive(k as i64 * 1000), Derive(k as i64 * 3000)],
        },
        Series {
            // 1.5 s: step round(1.5) = 2, heartbeat round(3.0) = 3; times x.5 round up.
            plugin: "df",
            plugin_instance: "root",
            type_: "df_complex",
            type_instance: "used",
            interval: Some(1.5),
            times: |k| vec![k as f64 * 1.5],
            values: |k| vec![Gauge(1e9 + k as f64)],
        },
        Series {
            // No interval part: both use their own 10 s.
            plugin: "memory",
            plugin_instance: "",
            type_: "memory",
            type_instance: "used",
            interval: None,
            times: ten,
            values: |k| vec![Gauge(k as f64 * 1e6)],
        },
        Series {
            // Two values in the same second: the second one is refused by rrdtool.
            plugin: "test",
            plugin_instance: "",
            type_: "gauge",
            type_instance: "subsecond",
            interval: Some(10.0),
            times: |k| vec![k as f64 * 10.0 + 0.2, k as f64 * 10.0 + 0.3],
            values: |k| vec![Gauge(k as f64)],
        },
        Series {
            // A DERIVE sent for a GAUGE type: read as the double with the same bits.
            plugin: "test",
            plugin_instance: "",
            type_: "gauge",
            type_instance: "mismatch",
            interval: Some(10.0),
            times: ten,
            values: |k| vec![Derive(42 + k as i64)],
        },
        Series {
            plugin: "/a/b",
            plugin_instance: "",
            type_: "gauge",
            type_instance: "/",
            interval: Some(10.0),
            times: ten,
            values: |k| vec![Gauge(k as f64)],
        },
        Series {
            plugin: "test",
            plugin_instance: "",
            type_: "nosuchtype",
            type_instance: "",
            interval: Some(10.0),
            times: ten,
            values: |k| vec![Gauge(k as f64)],
        },
        Series {
            plugin: "test",
            plugin_instance: "",
            type_: "load",
            type_instance: "short",
            interval: Some(10.0),
            times: ten,
            values: |k| vec![Gauge(k as f64)],
        },
        Series {
            plugin: "cpu",
            plugin_instance: "0",
            type_: "cpu",
            type_instance: "idle",
            interval: Some(10.0),
            times: ten,
            values: |k| vec![Derive(k as i64 * 97)],
        },
        Series {
            plugin: "test",
            plugin_instance: "",
            type_: "percent",
            type_instance: "",
            interval: Some(10.0),
            times: ten,
            values: |k| vec![Gauge(k as f64 * 5.0)],
        },
        Series {
            plugin: "test",
            plugin_instance: "",
            type_: "gauge",
            type_instance: "digits",
            interval: Some(10.0),
            times: ten,
            values: |k| vec![Gauge(1.234_567_890_123_456_7e300 / (k as f64 + 1.0) + 1.0 / 3.0)],
        },
    ]
}

/// All datagrams: `rounds` rounds of every series, then a value older than the newest.
fn datagrams(t0: u64, rounds: u64, options: &WriterOptions, tag: &str) -> Vec<Vec<u8>> {
    let mut writer = PacketWriter::new(options.clone()).unwrap();
    let mut out = Vec::new();
    let host = format!("interop{tag}");
    let mut push = |vl: ValueList<'_>, writer: &mut PacketWriter| match writer.write(&vl) {
        Ok(()) => {}
        Err(EncodeError::PacketFull) => {
            out.extend(writer.finish().unwrap());
            writer.write(&vl).unwrap();
        }
        Err(e) => panic!("{e:?}"),
    };
    let all = series();
    for k in 0..rounds {
        for s in &all {
            for offset in (s.times)(k) {
                let vl = ValueList::new(host.as_str(), s.plugin, s.type_, (s.values)(k))
                    .with_plugin_instance(s.plugin_instance)
                    .with_type_instance(s.type_instance)
                    .with_time(CdTime::from_secs_f64(t0 as f64 + offset))
                    .with_interval(s.interval.map_or(CdTime::ZERO, CdTime::from_secs_f64));
                push(vl, &mut writer);
            }
        }
    }
    // Older than what the file has: dropped by both.
    let old = ValueList::new(host.as_str(), "test", "gauge", vec![Value::Gauge(-1.0)])
        .with_type_instance("plain")
        .with_time(CdTime::from_secs(t0 + 50))
        .with_interval(CdTime::from_secs(10));
    push(old, &mut writer);
    out.extend(writer.finish().unwrap());
    out
}

/// Sends every datagram to both receivers, paced so neither drops or reorders any.
fn send_to_both(datagrams: &[Vec<u8>], collectd: &Collectd, ours: SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for d in datagrams {
        assert!(d.len() <= 1452, "keep within collectd's MaxPacketSize");
        collectd.send(d).unwrap();
        socket.send_to(d, ours).unwrap();
        // Pacing, not synchronisation: collectd's default buffer keeps every datagram.
        thread::sleep(Duration::from_millis(3));
    }
}

/// Stops our receiver (it writes what is pending), waits until collectd's files have the
/// same last update, stops collectd, and compares every file. Returns our counters.
fn compare(mut collectd: Collectd, mut ours: Proc, our_dir: &Path) -> std::collections::BTreeMap<String, String> {
    let stderr = ours.terminate();
    let counters = cli::receiver_counters(&stderr);
    let theirs_dir = collectd.rrd_dir();
    let ours_files = cli::rrd_files(our_dir);
    assert!(!ours_files.is_empty(), "no file written; stderr:\n{stderr}");
    let compared: Vec<&PathBuf> = ours_files.iter().filter(|f| !timing_dependent(f)).collect();
    for file in &compared {
        let want = cli::last_update(our_dir.join(file));
        let theirs = theirs_dir.join(file);
        let caught_up = cli::poll(Duration::from_secs(20), || (cli::last_update(&theirs) == want).then_some(()));
        assert!(
            caught_up.is_some(),
            "collectd's {} never reached last update {want:?}\n{}",
            file.display(),
            collectd.log()
        );
    }
    // collectd writes what its rrdtool plugin still caches when it stops.
    collectd.stop().unwrap();
    assert_eq!(cli::rrd_files(&theirs_dir), ours_files, "the same files");
    for file in &compared {
        let (a, b) = (our_dir.join(file), theirs_dir.join(file));
        let info = cli::structure_and_state(&a);
        assert_eq!(info, cli::structure_and_state(&b), "rrdtool info of {}", file.display());
        let step: u64 = info["step"].parse().unwrap();
        let last: i64 = info["last_update"].parse().unwrap();
        let mut resolutions: Vec<u64> = info
            .iter()
            .filter(|(k, _)| k.ends_with(".pdp_per_row"))
            .map(|(_, v)| v.parse::<u64>().unwrap() * step)
            .collect();
        resolutions.sort_unstable();
        resolutions.dedup();
        for cf in ["AVERAGE", "MIN", "MAX"] {
            for &r in &resolutions {
                let start = last - (r as i64) * 40;
                let (x, y) = (cli::fetch(&a, cf, start, last, r), cli::fetch(&b, cf, start, last, r));
                assert_eq!(x, y, "fetch {cf} -r {r} of {}", file.display());
            }
        }
    }
    counters
}

/// Files whose content in collectd depends on thread timing: two values in the same
/// second reach collectd's rrdtool queue thread either one by one (the second is refused
/// alone) or in one `rrd_update_r` call with the next round's values (the refused value
/// aborts the call, and the valid values after it are lost too). The receiver behaves as
/// the first case, always; the test checks that separately.
fn timing_dependent(file: &Path) -> bool {
    file.ends_with("test/gauge-subsecond.rrd")
}

fn collectd_with_rrdtool(security: testkit::Security, auth: Option<&str>) -> Option<Collectd> {
    testkit::require_collectd()?;
    testkit::require_rrdtool()?;
    let mut builder = Collectd::builder().listen(security).rrdtool(true);
    if let Some(auth) = auth {
        builder = builder.auth_file(auth);
    }
    Some(builder.start().expect("collectd starts"))
}

#[test]
fn same_files_as_collectd() {
    let Some(collectd) = collectd_with_rrdtool(testkit::Security::None, None) else { return };
    let dir = tempfile::tempdir().unwrap();
    let addr = cli::free_addr();
    let ours =
        Proc::spawn_listening(&["receive", "--listen", &addr.to_string(), "--data-dir", dir.path().to_str().unwrap()]);
    let t0 = cli::now() / 60 * 60 - 1200;
    let mut packets = datagrams(t0, 40, &WriterOptions::default(), "");
    // Whole-second TIME and INTERVAL parts, as collectd 4 and the original module sent.
    packets.extend(datagrams(t0, 12, &WriterOptions::default().time_resolution(TimeResolution::Seconds), "-seconds"));
    send_to_both(&packets, &collectd, addr);
    let counters = compare(collectd, ours, dir.path());

    // What the comparison covered.
    let host = dir.path().join("interop");
    for (file, step, heartbeat) in [
        ("test/gauge-plain.rrd", "10", "20"),
        ("load/load.rrd", "1", "2"),
        ("interface-eth0/if_octets.rrd", "7", "14"),
        ("df-root/df_complex-used.rrd", "2", "3"),
        ("memory/memory-used.rrd", "10", "20"),
        ("a_b/gauge-root.rrd", "10", "20"),
        ("cpu-0/cpu-idle.rrd", "10", "20"),
    ] {
        let info = testkit::parse_rrd_info(&testkit::rrd_info(host.join(file)));
        assert_eq!(info["step"], step, "{file}");
        let ds = info.keys().find(|k| k.ends_with(".minimal_heartbeat")).unwrap();
        assert_eq!(info[ds], heartbeat, "{file}");
        assert_eq!(info.keys().filter(|k| k.ends_with(".cf")).count(), 15, "{file}");
    }
    let nan = testkit::parse_rrd_info(&testkit::rrd_info(host.join("test/gauge-nan.rrd")));
    assert_eq!(nan["ds[value].last_ds"], "nan");
    // The first value of each second is kept, the second one dropped.
    let subsecond = host.join("test/gauge-subsecond.rrd");
    let last = cli::last_update(&subsecond).unwrap();
    let rows = testkit::rrd_fetch(&subsecond, "AVERAGE", last - 300, last);
    let known: Vec<f64> = rows.iter().filter_map(|(_, v)| v[0]).collect();
    assert_eq!(known, (10..=39).map(f64::from).collect::<Vec<_>>(), "{rows:?}");
    assert!(!host.join("test/nosuchtype.rrd").exists());
    assert!(!host.join("test/load-short.rrd").exists());
    assert!(dir.path().join("interop-seconds/test/gauge-plain.rrd").exists());
    assert_eq!(cli::counter(&counters, "unknown_type"), 40 + 12);
    assert_eq!(cli::counter(&counters, "wrong_count"), 40 + 12);
    // The old value of each host, and the sub-second values of the whole-second
    // datagrams (the same time twice).
    assert_eq!(cli::counter(&counters, "too_old"), 2 + 12);
    // The sub-second values of the high-resolution datagrams: newer, but in the same second.
    assert_eq!(cli::counter(&counters, "not_newer_on_disk"), 40);
    assert_eq!(cli::counter(&counters, "failed"), 0);
    assert_eq!(cli::counter(&counters, "pending"), 0);
}

#[test]
fn same_files_as_collectd_at_security_level_sign() {
    let auth = "alice: secret\n";
    let Some(collectd) = collectd_with_rrdtool(testkit::Security::Sign, Some(auth)) else { return };
    let dir = tempfile::tempdir().unwrap();
    let auth_path = dir.path().join("auth");
    std::fs::write(&auth_path, auth).unwrap();
    let data = dir.path().join("rrd");
    let addr = cli::free_addr();
    let ours = Proc::spawn_listening(&[
        "receive",
        "--listen",
        &addr.to_string(),
        "--data-dir",
        data.to_str().unwrap(),
        "--security-level",
        "sign",
        "--auth-file",
        auth_path.to_str().unwrap(),
    ]);
    let t0 = cli::now() / 60 * 60 - 1200;
    let alice = Credentials::new("alice", "secret").unwrap();
    let mallory = Credentials::new("alice", "guess").unwrap();
    let mut packets = datagrams(t0, 6, &WriterOptions::default().security(Security::Sign(alice.clone())), "-signed");
    packets.extend(datagrams(t0, 6, &WriterOptions::default().security(Security::Encrypt(alice)), "-encrypted"));
    // Ignored by both: plain, and signed with the wrong password.
    packets.extend(datagrams(t0, 3, &WriterOptions::default(), "-plain"));
    packets.extend(datagrams(t0, 3, &WriterOptions::default().security(Security::Sign(mallory)), "-forged"));
    send_to_both(&packets, &collectd, addr);
    compare(collectd, ours, &data);
    let hosts: Vec<String> =
        std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    let mut hosts = hosts;
    hosts.sort();
    assert_eq!(hosts, ["interop-encrypted", "interop-signed"]);
}

/// Sends `rounds` gauge values (one every 10 s from `t0`) for every name set to both
/// receivers; the value of round k for set i is `i * 1000 + k`, so files that merge show.
fn send_names_to_both(names: &[[&[u8]; 5]], t0: u64, rounds: u64, collectd: &Collectd, ours: SocketAddr) {
    let packets: Vec<Vec<u8>> = (0..rounds)
        .flat_map(|k| {
            names
                .iter()
                .enumerate()
                .map(move |(i, n)| cli::raw_gauge_datagram(*n, t0 + 10 * k, 10, i as f64 * 1000.0 + k as f64))
        })
        .collect();
    send_to_both(&packets, collectd, ours);
}

fn spawn_receiver(dir: &Path) -> (Proc, SocketAddr) {
    let addr = cli::free_addr();
    let ours = Proc::spawn_listening(&[
        std::ffi::OsStr::new("receive"),
        "--listen".as_ref(),
        addr.to_string().as_ref(),
        "--data-dir".as_ref(),
        dir.as_os_str(),
    ]);
    (ours, addr)
}

/// Issue 16, point 10: names are bytes to collectd. Hosts `nu\xff`, `nu\xfe` and
/// `nu\u{FFFD}` are three directories there; decoded lossily they were one file here
/// (and the values of the other two were dropped as not newer). `ls` lists them escaped.
#[test]
fn undecodable_names_stay_apart_as_in_collectd() {
    let Some(collectd) = collectd_with_rrdtool(testkit::Security::None, None) else { return };
    let dir = tempfile::tempdir().unwrap();
    let (ours, addr) = spawn_receiver(dir.path());
    let t0 = cli::now() / 60 * 60 - 600;
    let names: [[&[u8]; 5]; 4] = [
        [b"nu\xff", b"test", b"", b"gauge", b""],
        [b"nu\xfe", b"test", b"", b"gauge", b""],
        ["nu\u{FFFD}".as_bytes(), b"test", b"", b"gauge", b""],
        [b"latin1", b"test", b"caf\xe9", b"gauge", b"\xe9t\xe9"],
    ];
    send_names_to_both(&names, t0, 12, &collectd, addr);
    let counters = compare(collectd, ours, dir.path());
    assert_eq!(cli::counter(&counters, "too_old"), 0);
    let mut hosts: Vec<Vec<u8>> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| std::os::unix::ffi::OsStrExt::as_bytes(e.unwrap().file_name().as_os_str()).to_vec())
        .collect();
    hosts.sort();
    assert_eq!(hosts, [&b"latin1"[..], "nu\u{FFFD}".as_bytes(), b"nu\xfe", b"nu\xff"]);

    let ls = std::process::Command::new(cli::BIN).args(["ls", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert!(ls.status.success(), "{}", String::from_utf8_lossy(&ls.stderr));
    let listing = String::from_utf8(ls.stdout).expect("ls prints UTF-8 only");
    let lines: Vec<&str> = listing.lines().collect();
    for host in [r"nu\xff", r"nu\xfe", "nu\u{FFFD}", "latin1"] {
        assert!(lines.contains(&host), "{host} in\n{listing}");
    }
    assert!(listing.contains(r"test-caf\xe9  (plugin test, instance caf\xe9)"), "{listing}");
    assert!(listing.contains(r"gauge-\xe9t\xe9.rrd  (type gauge, instance \xe9t\xe9)  [value]"), "{listing}");

    // `serve` lists them too, escaped, each with its own link.
    let port = testkit::free_tcp_port();
    let web = Proc::spawn(&[
        std::ffi::OsStr::new("serve"),
        "--data-dir".as_ref(),
        dir.path().as_os_str(),
        "--listen".as_ref(),
        format!("127.0.0.1:{port}").as_ref(),
    ]);
    assert!(web.wait_stderr("serving", Duration::from_secs(20)).is_some(), "{}", web.stderr());
    let page = http_get(port, "/");
    for host in [r"nu\xff", r"nu\xfe", "nu\u{FFFD}"] {
        assert!(page.contains(&format!(">{host}</a>")), "{host} in\n{page}");
    }
    assert!(page.contains(r#"href="/host/nu%5Cxff"#), "{page}");
}

/// The body of `GET path` on 127.0.0.1:port.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let reply = String::from_utf8(reply).expect("the page is UTF-8");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    reply
}

/// Issue 16, point 11: collectd's rules, name by name (`escape_slashes`, then
/// `check_create_dir` refuses a host or plugin directory that begins with a dot; every
/// other byte, a line break included, is kept). Each name is sent to collectd 5.12 and
/// to the receiver, and the same files must come out.
#[test]
fn dot_and_line_break_names_follow_collectd() {
    let Some(collectd) = collectd_with_rrdtool(testkit::Security::None, None) else { return };
    let dir = tempfile::tempdir().unwrap();
    let (ours, addr) = spawn_receiver(dir.path());
    let t0 = cli::now() / 60 * 60 - 600;
    let refused: [[&[u8]; 5]; 5] = [
        [b"../../tmp/x", b"test", b"", b"gauge", b""],
        [b".hidden", b"test", b"", b"gauge", b""],
        [b"dots", b".p", b"", b"gauge", b""],
        [b"dots", b"..", b"x", b"gauge", b""],
        [b"dots", b"/.slash", b"", b"gauge", b""],
    ];
    let stored: [[&[u8]; 5]; 8] = [
        [b"line\nbreak", b"test", b"", b"gauge", b""],
        [b"dots", b"test", b"", b"gauge", b"x\ny"],
        [b"dots", b"test", b"", b"gauge", b".x"],
        [b"dots", b"test", b"", b"gauge", b".."],
        [b"dots.", b"p.", b"i.", b"gauge", b""],
        [b"sp ace", b"q\"u'o", b"tab\t", b"gauge", b"cr\r"],
        [b"/", b"/a/b/", b"/", b"gauge", b"/"],
        [b"dots", b"test", b".", b"gauge", b""],
    ];
    let all: Vec<[&[u8]; 5]> = refused.iter().chain(&stored).copied().collect();
    send_names_to_both(&all, t0, 6, &collectd, addr);
    let counters = compare(collectd, ours, dir.path());
    assert_eq!(cli::counter(&counters, "bad_name"), refused.len() as u64 * 6);
    let files: Vec<Vec<u8>> = cli::rrd_files(dir.path())
        .iter()
        .map(|f| std::os::unix::ffi::OsStrExt::as_bytes(f.as_os_str()).to_vec())
        .collect();
    assert_eq!(files.len(), stored.len(), "{files:?}");
    assert!(files.contains(&b"line\nbreak/test/gauge.rrd".to_vec()), "{files:?}");
    assert!(files.contains(&b"dots/test/gauge-x\ny.rrd".to_vec()), "{files:?}");
    assert!(files.contains(&b"root/a_b_-root/gauge-root.rrd".to_vec()), "{files:?}");
    // No hidden directory (`.._.._tmp_x`, `.hidden`, `..-x`); a file name may begin with a dot.
    for f in &files {
        let dirs: Vec<&[u8]> = f.split(|&b| b == b'/').take(2).collect();
        assert!(dirs.iter().all(|d| !d.starts_with(b".")), "{}", String::from_utf8_lossy(f));
    }
    assert!(files.contains(&b"dots/test/gauge-.x.rrd".to_vec()), "{files:?}");
}
