//! Load figures of the web interface (ignored by default; run with
//! `cargo test --release -p collectd-view --test web_load -- --ignored --nocapture`):
//!
//! - graph image latency, p50 and p99, with 4 concurrent clients against a warm server on
//!   the files of a real collectd fed by the library (every request a new range, so every
//!   one is rendered; then the same graph again, served from the cache);
//! - overview and search time with 10,000 series (files made with `rrdtool create` in the
//!   layout collectd uses: `HOST/any/gauge-CATEGORY[-SPECIFIC]-STAT.rrd`).
//!
//! The load generator is plain `std::net` HTTP/1.1 with keep-alive, on loopback only; every
//! loop is bounded in count.

mod webkit;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use collectd_view::web::{self, ServeConfig};
use webkit::Conn;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(what: &str, mut times: Vec<Duration>, wall: Duration) -> (Duration, Duration) {
    times.sort();
    let (p50, p99) = (percentile(&times, 0.50), percentile(&times, 0.99));
    eprintln!(
        "{what}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms ({:.0} req/s)",
        times.len(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        times.len() as f64 / wall.as_secs_f64()
    );
    (p50, p99)
}

/// Runs `clients` threads, each sending `per_client` requests built by `path(client, i)`.
fn load(
    addr: std::net::SocketAddr,
    clients: usize,
    per_client: usize,
    path: Arc<dyn Fn(usize, usize) -> String + Send + Sync>,
) -> (Vec<Duration>, Duration) {
    let t0 = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let path = path.clone();
            thread::spawn(move || {
                let mut conn = Conn::new(addr);
                let mut times = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let p = path(c, i);
                    let t = Instant::now();
                    let r = conn.get(&p).expect("response");
                    times.push(t.elapsed());
                    assert_eq!(r.status, 200, "{p}: {}", r.text());
                    assert!(!r.body.is_empty());
                }
                times
            })
        })
        .collect();
    let times = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    (times, t0.elapsed())
}

#[test]
#[ignore = "load figures: run with --ignored --nocapture (release build)"]
fn graph_latency_with_four_clients_on_real_collectd_files() {
    if testkit::require_collectd().is_none() || testkit::require_rrdtool().is_none() {
        return;
    }
    let cd = testkit::Collectd::builder()
        .interval(1)
        .listen(testkit::Security::None)
        .rrdtool(true)
        .plugin("load")
        .start()
        .expect("collectd starts");
    let conns: Vec<_> = ["web1", "web2"]
        .iter()
        .map(|h| {
            collectd::Connection::builder()
                .hostname(*h)
                .collectd_host("127.0.0.1")
                .collectd_port(cd.port())
                .interval(Duration::from_secs(1))
                .build()
        })
        .collect();
    for k in 0..8u64 {
        for c in &conns {
            c.counter("coin_stats").record(&[if k % 2 == 0 { "heads" } else { "tails" }], &[("flips", 1.0)]);
            c.counter("some_category").record(&[], &[("some_counter", k as f64)]);
            c.flush();
        }
        // Pacing: one value per interval, as collectd requires.
        thread::sleep(Duration::from_secs(1));
    }
    cd.wait_for_file("rrd/web2/any/gauge-coin_stats-flips.rrd", Duration::from_secs(10)).unwrap();
    let mut config = ServeConfig::new(cd.rrd_dir());
    config.workers = 2;
    let server = web::spawn(web::open(&config).unwrap(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.addr();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let graphs = [
        "host=web1&cat=coin_stats&stat=flips",
        "host=web2&cat=some_category&stat=some_counter",
        "s=web1/any/gauge-coin_stats-flips&s=web2/any/gauge-coin_stats-flips&mode=sum",
        &format!("host={}&plugin=load&type=load", cd.hostname()),
    ]
    .map(str::to_owned);
    // Warm: each graph once.
    let mut c = Conn::new(addr);
    for g in &graphs {
        assert_eq!(c.get(&format!("/graph.png?{g}")).unwrap().status, 200);
    }
    eprintln!("rrdtool workers: {}; files: {}", config.workers, cd.rrd_dir().display());

    // Every request a new absolute range: each is rendered by rrdtool.
    let g2 = graphs.clone();
    let (times, wall) = load(
        addr,
        4,
        100,
        Arc::new(move |c, i| {
            let end = now - (c * 1000 + i) as u64;
            format!("/graph.png?{}&start={}&end={end}&w=800&h=300", g2[(c + i) % 4], end - 3600)
        }),
    );
    let (p50, p99) = report("graph.png rendered (4 clients, 800x300, 1 h)", times, wall);
    // The same graph again: from the cache.
    let g3 = graphs.clone();
    let (times, wall) = load(addr, 4, 500, Arc::new(move |c, _| format!("/graph.png?{}&start=end-1h", g3[c])));
    report("graph.png cached (4 clients)", times, wall);
    // Pages that render their graphs.
    let (times, wall) = load(
        addr,
        4,
        25,
        Arc::new(|_, i| format!("/host/web1/category/coin_stats/stat/flips?start=end-{}&end=now", 3600 + i)),
    );
    report("stat page, graph rendered (4 clients)", times, wall);
    assert!(p50 < Duration::from_secs(1) && p99 < Duration::from_secs(5), "p50 {p50:?} p99 {p99:?}");
}

/// Creates `hosts` × 100 files as collectd lays them out, through one `rrdtool -`.
fn make_datadir(dir: &std::path::Path, hosts: usize) -> usize {
    let mut child = Command::new("rrdtool")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("rrdtool");
    let mut stdin = child.stdin.take().unwrap();
    let mut n = 0;
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 3600;
    for h in 0..hosts {
        let any = dir.join(format!("host{h:03}")).join("any");
        std::fs::create_dir_all(&any).unwrap();
        for c in 0..5 {
            for s in 0..4 {
                let mut names = vec![format!("gauge-category{c}-stat{s}")];
                names.extend((0..4).map(|sp| format!("gauge-category{c}-specific{sp}-stat{s}")));
                for name in names {
                    // collectd's layout and RRA kinds, with RRARows 100 to keep 10,000 files small.
                    writeln!(
                        stdin,
                        "create {}/{name}.rrd -s 10 -b {start} DS:value:GAUGE:20:U:U \
                         RRA:AVERAGE:0.1:1:100 RRA:MIN:0.1:1:100 RRA:MAX:0.1:1:100 \
                         RRA:AVERAGE:0.1:36:100 RRA:MIN:0.1:36:100 RRA:MAX:0.1:36:100",
                        any.display()
                    )
                    .unwrap();
                    n += 1;
                }
            }
        }
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    n
}

#[test]
#[ignore = "load figures: run with --ignored --nocapture (release build)"]
fn overview_and_search_with_10000_series() {
    if testkit::require_rrdtool().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let n = make_datadir(dir.path(), 100);
    eprintln!("created {n} RRD files in {:?}", t.elapsed());
    assert_eq!(n, 10_000);
    let t = Instant::now();
    let mut config = ServeConfig::new(dir.path());
    config.workers = 2;
    let state = web::open(&config).unwrap();
    eprintln!("index of {} files opened in {:?}", state.snapshot().file_count(), t.elapsed());
    let server = web::spawn(state, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.addr();
    let mut c = Conn::new(addr);
    let t = Instant::now();
    let first = c.get("/").unwrap();
    eprintln!("first overview (reads 10,000 mtimes): {:?}, {} bytes", t.elapsed(), first.body.len());
    assert!(first.text().contains("100 hosts · 10000 series"));

    let (times, wall) = load(addr, 1, 50, Arc::new(|_, _| "/".to_owned()));
    report("overview, 10,000 series, 100 hosts", times, wall);
    let (times, wall) = load(addr, 4, 50, Arc::new(|_, _| "/".to_owned()));
    report("overview, 10,000 series (4 clients)", times, wall);
    let queries = ["stat3", "host042", "specific2 stat1", "category4 specific0 stat0 host099", "nothing-matches", "a"];
    let (times, wall) = load(
        addr,
        1,
        300,
        Arc::new(move |_, i| format!("/search.json?q={}", queries[i % queries.len()].replace(' ', "+"))),
    );
    report("search.json, 10,000 series", times, wall);
    let (times, wall) = load(addr, 1, 30, Arc::new(|_, i| format!("/?q=host{:03}+stat2", i % 100)));
    report("overview with ?q= (server-rendered results)", times, wall);
    let r = c.get("/search.json?q=category4+specific0+stat0+host099").unwrap();
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["total"], 1);
    eprintln!("one search inside the server: {} µs", j["micros"]);
    let (times, wall) = load(addr, 1, 20, Arc::new(|_, i| format!("/host/host{:03}", i * 5)));
    report("host page (100 series, sparklines not fetched)", times, wall);
}

/// Sends one value for each of `per_host` series of each of `hosts` hosts (the module's
/// layout: 10 categories × 10 stats × a base and 4 specifics) to a receiver writing `dir`,
/// with RRARows 10 and one timespan so that 100,000 files stay small; returns the count.
fn receive_datadir(dir: &std::path::Path, hosts: usize, per_host: usize) -> u64 {
    use collectd::protocol::{CdTime, EncodeError, PacketWriter, Value, ValueList, WriterOptions};
    use collectd_rrd::receive::{Receiver, ReceiverConfig};
    use collectd_rrd::rrdtool::{Pool, PoolConfig};

    let pool = Pool::new(PoolConfig { workers: 2, ..PoolConfig::default() }).unwrap();
    let mut config = ReceiverConfig::new("127.0.0.1:0".parse().unwrap(), dir);
    config.writer.create.rra_rows = 10;
    config.writer.create.rra_timespans = vec![3600];
    let receiver = Receiver::start(config, pool).unwrap();
    let addr = receiver.local_addr();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let now = collectd_rrd::time::now() as u64;
    let mut writer = PacketWriter::new(WriterOptions::default()).unwrap();
    let mut sent = 0u64;
    for h in 0..hosts {
        let host = format!("host{h:03}");
        for i in 0..per_host {
            let (c, s, sp) = (i / 50, (i / 5) % 10, i % 5);
            let name =
                if sp == 0 { format!("category{c}-stat{s}") } else { format!("category{c}-specific{sp}-stat{s}") };
            let vl = ValueList::new(host.as_str(), "any", "gauge", vec![Value::Gauge((i % 17) as f64)])
                .with_type_instance(name.as_str())
                .with_time(CdTime::from_secs(now))
                .with_interval(CdTime::from_secs(10));
            match writer.write(&vl) {
                Ok(()) => {}
                Err(EncodeError::PacketFull) => {
                    socket.send_to(&writer.finish().unwrap().unwrap(), addr).unwrap();
                    writer.write(&vl).unwrap();
                }
                Err(e) => panic!("{e:?}"),
            }
            sent += 1;
        }
        if let Some(d) = writer.finish().unwrap() {
            socket.send_to(&d, addr).unwrap();
        }
        // Paced by the receiver (loopback datagrams are dropped, not queued, when it lags).
        while receiver.stats().value_lists + 2_000 < sent {
            thread::sleep(Duration::from_millis(5));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    while receiver.stats().value_lists < sent {
        assert!(Instant::now() < deadline, "the receiver read {} of {sent}", receiver.stats().value_lists);
        thread::sleep(Duration::from_millis(50));
    }
    let stats = receiver.stop();
    assert_eq!(stats.writer.failed, 0, "{stats}");
    sent
}

#[test]
#[ignore = "load figures: run with --ignored --nocapture (release build)"]
fn overview_of_200_hosts_with_100000_series_written_by_the_receiver() {
    if testkit::require_rrdtool().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let n = receive_datadir(dir.path(), 200, 500);
    eprintln!("the receiver wrote {n} RRD files in {:?}", t.elapsed());
    let mut config = ServeConfig::new(dir.path());
    config.workers = 2;
    let state = web::open(&config).unwrap();
    assert_eq!(state.snapshot().file_count(), 100_000);
    let server = web::spawn(state, "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.addr();
    let mut c = Conn::new(addr);
    let t = Instant::now();
    let first = c.get("/").unwrap();
    let first_time = t.elapsed();
    let body = first.text();
    let per_host = body.len() / 200;
    let sparks = body.matches("class=\"spark\"").count();
    eprintln!(
        "first overview: {first_time:?}, {} bytes ({per_host} bytes per host card), {sparks} sparklines (lazily loaded)",
        body.len()
    );
    assert!(body.contains("200 hosts") && body.contains("100000 series"));
    let (times, wall) = load(addr, 1, 50, Arc::new(|_, _| "/".to_owned()));
    let (p50, _) = report("overview, 100,000 series, 200 hosts (warm)", times, wall);
    assert!(first_time <= Duration::from_secs(1), "first answer {first_time:?}");
    assert!(p50 <= Duration::from_millis(5), "warm median {p50:?}");
    assert!(per_host <= 2048, "{per_host} bytes of HTML per host");
    assert!(sparks <= 200, "one sparkline per host at most: {sparks}");
}
