//! `collectd-view demo`, run for a short while: its pages show the examples' categories with
//! graphs, and it exits cleanly on SIGTERM with everything written.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A plain HTTP/1.1 GET on loopback: status and body.
fn get(port: u16, path: &str) -> Option<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut body = response[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut decoded = Vec::new();
        let mut rest = &body[..];
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).ok()?.trim(), 16).ok()?;
            if size == 0 {
                break;
            }
            decoded.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[line_end + 2 + size + 2..];
        }
        body = decoded;
    }
    Some((status, body))
}

/// Waits until `check` passes on the page at `path`.
fn wait_for_page(port: u16, path: &str, check: impl Fn(&str) -> bool) -> String {
    let page = || match get(port, path) {
        Some((200, body)) => Some(String::from_utf8_lossy(&body).into_owned()),
        _ => None,
    };
    testkit::poll_until(Duration::from_secs(30), || page().filter(|text| check(text))).unwrap_or_else(|| match page() {
        Some(text) => panic!("GET {path} never passed the check:\n{text}"),
        None => panic!("GET {path} never answered 200"),
    })
}

struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn demo_pages_show_the_examples_categories_with_graphs() {
    if testkit::require_rrdtool().is_none() {
        return;
    }
    let port = testkit::free_tcp_port();
    let data_dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_collectd-view"))
        .args(["demo", "--listen", &format!("127.0.0.1:{port}"), "--duration", "120", "--data-dir"])
        .arg(data_dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the demo starts");
    let mut demo = Demo(child);

    let overview = wait_for_page(port, "/", |t| ["web1", "web2", "worker1"].iter().all(|h| t.contains(h)));
    assert!(overview.contains("coin_stats") || overview.contains("categories"), "{overview}");

    let host =
        wait_for_page(port, "/host/worker1", |t| ["producer", "consumer", "queue"].iter().all(|c| t.contains(c)));
    assert!(host.contains("/host/worker1/category/consumer"), "{host}");

    let category = wait_for_page(port, "/host/web1/category/coin_stats", |t| t.contains("flips") && t.contains("<img"));
    let src = category
        .split("<img")
        .nth(1)
        .and_then(|tag| tag.split("src=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .expect("a graph image")
        .replace("&amp;", "&");
    let (status, image) = get(port, &src).expect("the graph answers");
    assert_eq!(status, 200, "{src}: {}", String::from_utf8_lossy(&image));
    assert_eq!(&image[..8], b"\x89PNG\r\n\x1a\n", "{src} is a PNG");

    let some = wait_for_page(port, "/host/web2/category/some_category", |t| {
        t.contains("some_counter") && t.contains("another_stat")
    });
    assert!(some.matches("<img").count() >= 2, "one graph per stat:\n{some}");

    // SIGTERM: the demo sends the last interval, writes what is pending and exits 0.
    let pid = demo.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = testkit::poll_until(Duration::from_secs(20), || demo.0.try_wait().unwrap())
        .expect("the demo did not stop on SIGTERM");
    let mut out = String::new();
    demo.0.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(status.success(), "exit {status}: {out}");
    assert!(out.contains("failed=0") && out.contains("pending=0"), "{out}");
    for file in ["web1/any/gauge-coin_stats-flips.rrd", "worker1/any/gauge-queue-size.rrd"] {
        assert!(data_dir.path().join(file).exists(), "{file} missing");
    }
    // The banner: where to send one's own statistics, and the command line on these files.
    let dir = data_dir.path().display().to_string();
    for want in
        ["Send your own statistics", "Server \"127.0.0.1\"", &format!("collectd-view ls --data-dir {dir}"), "(kept)"]
    {
        assert!(out.contains(want), "{want:?} not in the banner:\n{out}");
    }
    // The queue never holds more than its 100 places (no counter wrapped to 2^64).
    let queue = data_dir.path().join("worker1/any/gauge-queue-size.rrd");
    let fetched = Command::new("rrdtool").arg("fetch").arg(&queue).args(["MAX", "-s", "end-10min"]).output().unwrap();
    let text = String::from_utf8_lossy(&fetched.stdout);
    let values: Vec<f64> = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(_, v)| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .collect();
    assert!(!values.is_empty(), "{text}");
    assert!(values.iter().all(|v| (0.0..=101.0).contains(v)), "queue sizes {values:?}");
}
