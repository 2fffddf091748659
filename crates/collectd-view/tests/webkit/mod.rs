//! Test support for the web interface: a minimal HTTP/1.1 client on `std::net` (loopback
//! only), and a minimal W3C WebDriver client driving Debian's chromium through chromedriver.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One HTTP response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn check_loopback(addr: &SocketAddr) {
    assert!(addr.ip().is_loopback(), "tests only talk to loopback, not {addr}");
}

/// A keep-alive HTTP/1.1 connection.
pub struct Conn {
    addr: SocketAddr,
    reader: Option<BufReader<TcpStream>>,
}

impl Conn {
    /// A connection to `addr` (opened on first use, reopened when closed).
    pub fn new(addr: SocketAddr) -> Conn {
        check_loopback(&addr);
        Conn { addr, reader: None }
    }

    /// Sends one request and reads the response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        for attempt in 0..2 {
            if self.reader.is_none() {
                let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
                s.set_read_timeout(Some(Duration::from_secs(60)))?;
                s.set_nodelay(true)?;
                self.reader = Some(BufReader::new(s));
            }
            let r = self.try_request(method, path, headers, body);
            match r {
                Ok(resp) => return Ok(resp),
                Err(e) if attempt == 0 => {
                    self.reader = None;
                    let _ = e;
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!()
    }

    fn try_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        let reader = self.reader.as_mut().ok_or_else(|| std::io::Error::other("no connection"))?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n", self.addr, body.len());
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let s = reader.get_mut();
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed"));
        }
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v): &(String, String)| v.clone());
        let mut body = Vec::new();
        if status == 304 || status == 204 || method == "HEAD" {
        } else if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            loop {
                line.clear();
                reader.read_line(&mut line)?;
                let n = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                    .map_err(|_| std::io::Error::other("bad chunk size"))?;
                if n == 0 {
                    line.clear();
                    reader.read_line(&mut line)?;
                    break;
                }
                let mut chunk = vec![0; n + 2];
                reader.read_exact(&mut chunk)?;
                body.extend_from_slice(&chunk[..n]);
            }
        } else if let Some(len) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
            body.resize(len, 0);
            reader.read_exact(&mut body)?;
        } else {
            reader.read_to_end(&mut body)?;
            self.reader = None;
        }
        if get("connection").is_some_and(|v| v.eq_ignore_ascii_case("close")) {
            self.reader = None;
        }
        Ok(Response { status, headers, body })
    }

    /// `GET path`.
    pub fn get(&mut self, path: &str) -> std::io::Result<Response> {
        self.request("GET", path, &[], b"")
    }
}

/// The browser gate ([`testkit::require_browser`]): skips only under the documented
/// variable, outside CI; otherwise a missing browser fails the test naming the packages.
#[allow(unused_imports)] // not every test binary that includes this module uses it
pub use testkit::require_browser;

/// The cargo target directory of the running test binary (`target/`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/<profile>/deps/<test>
    exe.ancestors().nth(3).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("target"))
}

/// Decodes standard base64 (WebDriver screenshots).
pub fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let Some(v) = val(c) else { continue };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// A running chromedriver; killed when dropped.
pub struct Driver {
    child: Child,
    addr: SocketAddr,
    chromium: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until it is ready.
    pub fn start(chromium: &Path, chromedriver: &Path) -> Driver {
        let port = testkit::free_tcp_port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let d = Driver { child, addr, chromium: chromium.to_owned() };
        let deadline = Instant::now() + Duration::from_secs(20);
        let ready = || {
            Conn::new(addr)
                .get("/status")
                .is_ok_and(|r| serde_json::from_slice::<Value>(&r.body).is_ok_and(|v| v["value"]["ready"] == true))
        };
        testkit::poll_until(deadline.saturating_duration_since(Instant::now()), ready)
            .expect("chromedriver did not become ready");
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let r = Conn::new(self.addr)
            .request(method, path, &[("Content-Type", "application/json"), ("Connection", "close")], body.as_bytes())
            .unwrap_or_else(|e| panic!("webdriver {method} {path}: {e}"));
        let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        assert!(r.status < 400, "webdriver {method} {path}: {} {}", r.status, r.text());
        v["value"].clone()
    }

    /// A new browser session with a fresh profile in `profile`, downloads into `downloads`.
    pub fn session(&self, profile: &Path, downloads: &Path) -> Session<'_> {
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": self.chromium.to_str().unwrap(),
                    "args": [
                        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--no-first-run", "--hide-scrollbars", "--window-size=1280,1000",
                        format!("--user-data-dir={}", profile.display()),
                    ],
                    "prefs": {
                        "download.default_directory": downloads.to_str().unwrap(),
                        "download.prompt_for_download": false,
                    },
                },
            }},
        });
        let v = self.call("POST", "/session", Some(caps));
        let id = v["sessionId"].as_str().expect("session id").to_owned();
        let s = Session { driver: self, id };
        // Headless Chrome needs downloads allowed explicitly.
        let _ = s.cdp(
            "Browser.setDownloadBehavior",
            json!({ "behavior": "allow", "downloadPath": downloads.to_str().unwrap() }),
        );
        s
    }
}

/// One browser session; closed when dropped.
pub struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = Conn::new(self.driver.addr).request(
            "DELETE",
            &format!("/session/{}", self.id),
            &[("Connection", "close")],
            b"",
        );
    }
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Session<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver.call(method, &format!("/session/{}{path}", self.id), body)
    }

    /// A Chrome DevTools command (chromedriver's extension).
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.call("POST", "/goog/cdp/execute", Some(json!({ "cmd": cmd, "params": params })))
    }

    /// Opens `url` and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap_or_default().to_owned()
    }

    /// Runs `script` (a function body; `arguments` available) and returns its value.
    pub fn exec(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// The first element matching `css`, if any.
    pub fn find(&self, css: &str) -> Option<Element> {
        let v = self.call("POST", "/elements", Some(json!({ "using": "css selector", "value": css })));
        v.as_array()?.first().and_then(|e| e[ELEMENT].as_str()).map(|s| Element(s.to_owned()))
    }

    /// Waits up to `timeout` for an element matching `css`.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        testkit::poll_until(timeout, || self.find(css))
            .unwrap_or_else(|| panic!("no element {css:?} on {}", self.url()))
    }

    /// Waits until `script` returns true.
    pub fn wait_until(&self, what: &str, script: &str, timeout: Duration) {
        testkit::poll_until(timeout, || self.exec(script, json!([])) == Value::Bool(true))
            .unwrap_or_else(|| panic!("timed out waiting for {what} on {}", self.url()));
    }

    /// Clicks an element.
    pub fn click(&self, e: &Element) {
        self.call("POST", &format!("/element/{}/click", e.0), Some(json!({})));
    }

    /// An element's text.
    pub fn text(&self, e: &Element) -> String {
        self.call("GET", &format!("/element/{}/text", e.0), None).as_str().unwrap_or_default().to_owned()
    }

    /// An element's attribute.
    pub fn attr(&self, e: &Element, name: &str) -> Option<String> {
        self.call("GET", &format!("/element/{}/attribute/{name}", e.0), None).as_str().map(str::to_owned)
    }

    /// Types into an element.
    pub fn send_keys(&self, e: &Element, text: &str) {
        self.call("POST", &format!("/element/{}/value", e.0), Some(json!({ "text": text })));
    }

    /// Presses, moves and releases the mouse at viewport coordinates: a drag.
    pub fn drag(&self, from: (f64, f64), to: (f64, f64)) {
        let actions = json!({ "actions": [{
            "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
            "actions": [
                { "type": "pointerMove", "duration": 0, "origin": "viewport", "x": from.0.round() as i64, "y": from.1.round() as i64 },
                { "type": "pointerDown", "button": 0 },
                { "type": "pointerMove", "duration": 150, "origin": "viewport", "x": ((from.0 + to.0) / 2.0).round() as i64, "y": to.1.round() as i64 },
                { "type": "pointerMove", "duration": 150, "origin": "viewport", "x": to.0.round() as i64, "y": to.1.round() as i64 },
                { "type": "pointerUp", "button": 0 },
            ],
        }]});
        self.call("POST", "/actions", Some(actions));
    }

    /// Moves the mouse to viewport coordinates.
    pub fn hover(&self, at: (f64, f64)) {
        let actions = json!({ "actions": [{
            "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
            "actions": [
                { "type": "pointerMove", "duration": 50, "origin": "viewport", "x": at.0.round() as i64, "y": at.1.round() as i64 },
            ],
        }]});
        self.call("POST", "/actions", Some(actions));
    }

    /// Emulates a screen `width`×`height` CSS pixels at `dpr` device pixels per CSS pixel
    /// (a phone when `mobile`), until [`Session::screenshot`] or another call resets it.
    pub fn emulate(&self, width: u32, height: u32, dpr: f64, mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": dpr, "mobile": mobile }),
        );
    }

    /// A screenshot of the page as emulated by [`Session::emulate`]: the viewport made as
    /// tall as the page (up to 4000 px), its width and density kept.
    pub fn screenshot_emulated(&self, path: &Path, width: u32, height: u32, dpr: f64, mobile: bool) {
        let h = self
            .exec("return Math.min(4000, document.documentElement.scrollHeight)", json!([]))
            .as_i64()
            .unwrap_or(i64::from(height));
        self.emulate(width, h.max(i64::from(height)) as u32, dpr, mobile);
        let v = self.call("GET", "/screenshot", None);
        self.emulate(width, height, dpr, mobile);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, base64_decode(v.as_str().unwrap_or_default())).unwrap();
    }

    /// Runs the vendored axe-core (`webkit/axe/`, no CDN) on the page for the WCAG 2.0/2.1
    /// A and AA rules; returns each violation as `rule: target…` (empty: none).
    pub fn axe_violations(&self) -> Vec<String> {
        const AXE: &str = include_str!("axe/axe.min.js");
        self.exec(&format!("{AXE}\n;return true;"), json!([]));
        let script = "const done = arguments[arguments.length - 1]; \
            axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }) \
              .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' (' + (n.failureSummary || '').replace(/\\s+/g, ' ').slice(0, 160) + ')').join('; ')))) \
              .catch(e => done(['axe failed: ' + e]));";
        let v = self.call("POST", "/execute/async", Some(json!({ "script": script, "args": [] })));
        v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()).unwrap_or_default()
    }

    /// How many pixels of the image matched by `css` are drawn in colour (saturated, not
    /// the white background, the grey grid or the black text): data, not an empty box.
    pub fn coloured_pixels(&self, css: &str) -> i64 {
        let script = "const img = document.querySelector(arguments[0]); \
            if (!img || !img.complete || !img.naturalWidth) return -1; \
            const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight; \
            const x = c.getContext('2d'); x.drawImage(img, 0, 0); \
            const d = x.getImageData(0, 0, c.width, c.height).data; let n = 0; \
            for (let i = 0; i < d.length; i += 4) { \
              const mx = Math.max(d[i], d[i+1], d[i+2]), mn = Math.min(d[i], d[i+1], d[i+2]); \
              if (d[i+3] > 200 && mx - mn > 40) n++; } \
            return n;";
        self.exec(script, json!([css])).as_i64().unwrap_or(-1)
    }

    /// A full-page PNG screenshot.
    pub fn screenshot(&self, path: &Path) {
        // Make the viewport as tall as the page so the whole page is captured.
        let h = self
            .exec("return Math.min(4000, document.documentElement.scrollHeight)", json!([]))
            .as_i64()
            .unwrap_or(1000);
        let _ = self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1280, "height": h.max(700), "deviceScaleFactor": 1, "mobile": false }),
        );
        let v = self.call("GET", "/screenshot", None);
        let _ = self.cdp("Emulation.clearDeviceMetricsOverride", json!({}));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, base64_decode(v.as_str().unwrap_or_default())).unwrap();
    }
}
