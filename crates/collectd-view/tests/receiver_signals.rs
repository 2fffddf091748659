//! `collectd-view receive` as a process: SIGTERM and SIGINT write every pending value
//! before a clean exit; malformed datagrams are reported and never stop it; the AuthFile
//! is re-read when it changes; bad options say what and where.

mod cli;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use cli::Proc;
use collectd::protocol::{CdTime, Credentials, PacketWriter, Security, Value, ValueList, WriterOptions};

/// Datagrams holding `rounds` values for each of `files` gauges, one second apart.
fn datagrams(t0: u64, files: usize, rounds: u64, options: WriterOptions) -> Vec<Vec<u8>> {
    let mut w = PacketWriter::new(options).unwrap();
    let mut out = Vec::new();
    for r in 0..rounds {
        for f in 0..files {
            let vl = ValueList::new("sig", "test", "gauge", vec![Value::Gauge((r * 100 + f as u64) as f64)])
                .with_type_instance(format!("f{f}"))
                .with_time(CdTime::from_secs(t0 + r))
                .with_interval(CdTime::from_secs(1));
            if w.write(&vl).is_err() {
                out.extend(w.finish().unwrap());
                w.write(&vl).unwrap();
            }
        }
    }
    out.extend(w.finish().unwrap());
    out
}

fn start(dir: &Path, extra: &[&str]) -> (Proc, SocketAddr) {
    let addr = cli::free_addr();
    let mut args = vec!["receive", "--listen"];
    let listen = addr.to_string();
    args.push(&listen);
    args.extend(["--data-dir", dir.to_str().unwrap(), "--flush-interval", "3600"]);
    args.extend(extra);
    (Proc::spawn_listening(&args), addr)
}

fn check_all_written(dir: &Path, t0: u64, files: usize, rounds: u64) {
    for f in 0..files {
        let path = dir.join(format!("sig/test/gauge-f{f}.rrd"));
        assert_eq!(cli::last_update(&path), Some((t0 + rounds - 1) as i64), "{}", path.display());
        // Row T holds the value written at T (step 1); the first value only starts the file.
        let rows = testkit::rrd_fetch(&path, "AVERAGE", t0 as i64, (t0 + rounds - 1) as i64);
        let last = (t0 + rounds - 1) as i64;
        let got: Vec<(i64, Option<f64>)> = rows.iter().filter(|(t, _)| *t <= last).map(|(t, v)| (*t, v[0])).collect();
        let want: Vec<(i64, Option<f64>)> =
            (1..rounds).map(|r| ((t0 + r) as i64, Some((r * 100 + f as u64) as f64))).collect();
        assert_eq!(got, want, "{}", path.display());
    }
}

fn pending_values_are_written_on(signal: &str) {
    if testkit::require_rrdtool().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut receiver, addr) = start(dir.path(), &[]);
    let (files, rounds) = (20, 30);
    let t0 = cli::now() - 3600;
    let socket = cli::sender(addr);
    for d in datagrams(t0, files, rounds, WriterOptions::default()) {
        socket.send_to(&d, addr).unwrap();
    }
    assert!(cli::wait_drained(addr.port(), Duration::from_secs(10)), "the receiver reads everything");
    assert!(cli::rrd_files(dir.path()).is_empty(), "nothing is written before the hour-long flush interval");
    receiver.signal(signal);
    let status = receiver.wait_exit(Duration::from_secs(60));
    assert!(status.is_some_and(|s| s.success()), "{status:?}\n{}", receiver.stderr());
    let counters = cli::receiver_counters(&receiver.stderr());
    let sent = files as u64 * rounds;
    assert_eq!(cli::counter(&counters, "value_lists"), sent);
    assert_eq!(cli::counter(&counters, "written"), sent);
    assert_eq!(cli::counter(&counters, "pending"), 0);
    assert_eq!(cli::counter(&counters, "files_created"), files as u64);
    check_all_written(dir.path(), t0, files, rounds);
}

#[test]
fn sigterm_writes_pending_values() {
    pending_values_are_written_on("TERM");
}

#[test]
fn sigint_writes_pending_values() {
    pending_values_are_written_on("INT");
}

#[test]
fn malformed_datagrams_never_stop_the_receiver() {
    if testkit::require_rrdtool().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (mut receiver, addr) = start(dir.path(), &[]);
    let t0 = cli::now() - 3600;
    let socket = cli::sender(addr);
    let good = datagrams(t0, 2, 10, WriterOptions::default());
    let mut state = 0x1234_5678_9abc_def0u64;
    for (i, d) in good.iter().enumerate() {
        socket.send_to(&d[..d.len() / 2], addr).unwrap();
        for _ in 0..20 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let junk: Vec<u8> = (0..(state % 600) as usize).map(|k| (state >> (k % 56)) as u8).collect();
            socket.send_to(&junk, addr).unwrap();
        }
        socket.send_to(d, addr).unwrap();
        if i % 5 == 0 {
            // Pacing, not synchronisation: the flood stays within the socket's buffer.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    assert!(cli::wait_drained(addr.port(), Duration::from_secs(10)));
    assert!(receiver.is_running());
    let stderr = receiver.terminate();
    assert!(stderr.contains("malformed datagram from 127.0.0.1:"), "{stderr}");
    assert!(stderr.contains("at byte"), "{stderr}");
    let counters = cli::receiver_counters(&stderr);
    assert!(cli::counter(&counters, "malformed") >= good.len() as u64, "{counters:?}");
    assert_eq!(cli::counter(&counters, "failed"), 0);
    check_all_written(dir.path(), t0, 2, 10);
}

#[test]
fn signed_datagrams_and_the_auth_file_is_reread() {
    if testkit::require_rrdtool().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("auth");
    std::fs::write(&auth, "alice: one\n").unwrap();
    let data = dir.path().join("rrd");
    let (mut receiver, addr) = start(&data, &["--security-level", "sign", "--auth-file", auth.to_str().unwrap()]);
    let socket = cli::sender(addr);
    let t0 = cli::now() - 3600;
    let signed = |password: &str, t: u64| {
        let creds = Credentials::new("alice", password).unwrap();
        datagrams(t, 1, 1, WriterOptions::default().security(Security::Sign(creds)))
    };
    // Signed with the current password: accepted. Plain: ignored.
    socket.send_to(&signed("one", t0)[0], addr).unwrap();
    socket.send_to(&datagrams(t0 + 1, 1, 1, WriterOptions::default())[0], addr).unwrap();
    // Both read (and so the signed one checked) before the password changes: the receiver
    // looks at the file when a datagram arrives, so a late read would meet the new one.
    assert!(cli::wait_drained(addr.port(), Duration::from_secs(10)), "the receiver reads both datagrams");
    // The password changes: the old one is refused, the new one accepted.
    std::fs::write(&auth, "alice: two\n").unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(2);
    std::fs::File::options().write(true).open(&auth).unwrap().set_modified(later).unwrap();
    // The receiver looks at the file when a datagram arrives, at most every 200 ms: nudge
    // it with datagrams it ignores (plain, below level sign) until it says it re-read it.
    let plain = datagrams(t0 + 1, 1, 1, WriterOptions::default()).remove(0);
    cli::poll(Duration::from_secs(10), || {
        socket.send_to(&plain, addr).unwrap();
        receiver.stderr().contains("re-read")
    })
    .expect("the auth file is re-read");
    socket.send_to(&signed("one", t0 + 2)[0], addr).unwrap();
    socket.send_to(&signed("two", t0 + 3)[0], addr).unwrap();
    assert!(cli::wait_drained(addr.port(), Duration::from_secs(10)));
    let stderr = receiver.terminate();
    let counters = cli::receiver_counters(&stderr);
    assert_eq!(cli::counter(&counters, "written"), 2, "{stderr}");
    assert!(stderr.contains("signature mismatch for user \"alice\""), "{stderr}");
    let path = data.join("sig/test/gauge-f0.rrd");
    assert_eq!(cli::last_update(&path), Some((t0 + 3) as i64));
}

#[test]
fn bad_options_say_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let data = data.to_str().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let missing = dir.path().join("missing.db");
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, "# no types\n").unwrap();
    for (args, says) in [
        (vec!["receive", "--listen", "127.0.0.1:1"], "--data-dir"),
        (vec!["receive", "--listen", "nohost:x", "--data-dir", data], "--listen \"nohost:x\": port \"x\""),
        (
            vec!["receive", "--listen", "127.0.0.1:1", "--data-dir", data, "--types-db", missing.to_str().unwrap()],
            &format!("cannot read types.db {}", missing.display()),
        ),
        (
            vec!["receive", "--listen", "127.0.0.1:1", "--data-dir", data, "--types-db", empty.to_str().unwrap()],
            "defines no type",
        ),
        (vec!["receive", "--listen", "127.0.0.1:1", "--data-dir", file.join("sub").to_str().unwrap()], "--data-dir"),
        (vec!["receive", "--listen", "127.0.0.1:1", "--data-dir", data, "--interval", "0"], "--interval: 0 is not"),
        (vec!["receive", "--listen", "127.0.0.1:1", "--data-dir", data, "--xff", "1"], "--xff: 1 is not in [0, 1)"),
        (
            vec!["receive", "--listen", "127.0.0.1:1", "--data-dir", data, "--rrdtool", "/no/rrdtool"],
            "--rrdtool /no/rrdtool",
        ),
        (
            vec!["receive", "--listen", "127.0.0.1:1", "--data-dir", data, "--security-level", "encrypt"],
            "--security-level encrypt: needs --auth-file",
        ),
    ] {
        let mut p = Proc::spawn(&args);
        let status = p.wait_exit(Duration::from_secs(10)).expect("exits");
        assert!(!status.success(), "{args:?}");
        assert!(p.stderr().contains(says), "{args:?}: {says:?} not in\n{}", p.stderr());
    }
}
