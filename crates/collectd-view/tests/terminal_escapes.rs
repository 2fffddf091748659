//! Issue 16, point 13: names come from the network, and a name may hold terminal control
//! sequences (`ESC[31m`, an OSC window title ending with BEL). Every human-facing output
//! shows them escaped: the receiver's log lines, `ls`, `graph`'s printed command and its
//! errors, `dump`'s lines.

mod cli;

use std::process::Command;
use std::time::Duration;

use cli::Proc;

const HOST: &[u8] = b"\x1b]0;pwned\x07";
const SHOWN_HOST: &str = r"\x1b]0;pwned\x07";

/// No ESC, BEL or other control character but the line breaks.
fn assert_printable(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let bad: Vec<char> = text.chars().filter(|&c| c.is_control() && c != '\n').collect();
    assert!(bad.is_empty(), "{what} prints {bad:?}:\n{}", text.escape_debug());
}

fn run(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(cli::BIN).args(args).output().unwrap()
}

#[test]
fn names_with_terminal_controls_are_printed_escaped() {
    if testkit::require_rrdtool().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let addr = cli::free_addr();
    let mut ours = Proc::spawn_listening(&[
        std::ffi::OsStr::new("receive"),
        "--listen".as_ref(),
        addr.to_string().as_ref(),
        "--data-dir".as_ref(),
        dir.path().as_os_str(),
    ]);
    let t = cli::now() - 100;
    let socket = cli::sender(addr);
    for k in 0..3 {
        let stored = cli::raw_gauge_datagram([HOST, b"test", b"", b"gauge", b"\x1b[31mred"], t + 10 * k, 10, 1.0);
        socket.send_to(&stored, addr).unwrap();
    }
    // Logged: an unknown type, and a name collectd refuses.
    let unknown = cli::raw_gauge_datagram([HOST, b"test", b"", b"\x1b[2Jnosuch", b""], t, 10, 1.0);
    let hidden = cli::raw_gauge_datagram([b".\x1b[31m", b"test", b"", b"gauge", b""], t, 10, 1.0);
    socket.send_to(&unknown, addr).unwrap();
    socket.send_to(&hidden, addr).unwrap();
    let file =
        dir.path().join(std::ffi::OsStr::new(std::str::from_utf8(HOST).unwrap())).join("test/gauge-\x1b[31mred.rrd");
    assert!(testkit::poll_until(Duration::from_secs(20), || file.exists()).is_some(), "{}", ours.stderr());
    assert!(ours.wait_stderr("dataset not found", Duration::from_secs(10)).is_some(), "{}", ours.stderr());
    assert!(ours.wait_stderr("begins with a dot", Duration::from_secs(10)).is_some(), "{}", ours.stderr());
    let stderr = ours.terminate();
    assert_printable("receive", stderr.as_bytes());
    assert!(stderr.contains(r"dataset not found: \x1b[2Jnosuch (from "), "{stderr}");
    assert!(stderr.contains(&format!("{SHOWN_HOST}/test/")), "{stderr}");
    assert!(stderr.contains(r"host .\x1b[31m begins with a dot"), "{stderr}");

    let data_dir = dir.path().as_os_str();
    let ls = run(&["ls".as_ref(), "--data-dir".as_ref(), data_dir]);
    assert!(ls.status.success(), "{}", String::from_utf8_lossy(&ls.stderr));
    assert_printable("ls", &ls.stdout);
    assert_printable("ls (stderr)", &ls.stderr);
    let listing = String::from_utf8(ls.stdout).unwrap();
    assert!(listing.lines().any(|l| l == SHOWN_HOST), "{listing}");
    assert!(listing.contains(r"gauge-\x1b[31mred.rrd  (type gauge, instance \x1b[31mred)"), "{listing}");

    // A host that is not there: the error lists the hosts that are.
    let graph = |host: &str| {
        run(&[
            "graph".as_ref(),
            "--data-dir".as_ref(),
            data_dir,
            "--host".as_ref(),
            host.as_ref(),
            "--plugin".as_ref(),
            "test".as_ref(),
            "--type".as_ref(),
            "gauge".as_ref(),
            "--print-command".as_ref(),
        ])
    };
    let missing = graph("nosuch");
    assert!(!missing.status.success());
    assert_printable("graph (unknown host)", &missing.stderr);
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains(SHOWN_HOST),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    // The host itself, as `ls` shows it: the printed command quotes the path's control
    // characters (`$'…\x1b…'`), and the graph renders.
    let shown = graph(SHOWN_HOST);
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    assert_printable("graph --print-command", &shown.stdout);
    assert_printable("graph --print-command (stderr)", &shown.stderr);
    let command = String::from_utf8(shown.stdout).unwrap();
    assert!(command.contains(r"$'DEF:"), "{command}");
    assert!(command.contains(r"\x1b]0;pwned\x07/test/gauge-\x1b[31mred.rrd"), "{command}");
    let png = dir.path().join("g.png");
    let rendered = run(&[
        "graph".as_ref(),
        "--data-dir".as_ref(),
        data_dir,
        "--host".as_ref(),
        SHOWN_HOST.as_ref(),
        "--plugin".as_ref(),
        "test".as_ref(),
        "--type".as_ref(),
        "gauge".as_ref(),
        "-o".as_ref(),
        png.as_os_str(),
    ]);
    assert!(rendered.status.success(), "{}", String::from_utf8_lossy(&rendered.stderr));
    assert_printable("graph -o (stderr)", &rendered.stderr);
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
}
