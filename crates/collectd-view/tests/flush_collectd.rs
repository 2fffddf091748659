//! Freshness against a real collectd 5.12 (§6.10): its rrdtool plugin keeps values in its
//! cache (`CacheTimeout 120`), so the file lags; a graph request through the web interface
//! with `--collectd-socket` flushes them (unixsock `FLUSH`) before rendering.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use collectd_rrd::flush::Flusher;
use collectd_rrd::index::Index;
use collectd_rrd::rrdtool::{Pool, PoolConfig};
use collectd_view::web::{self, AppState, StateOptions};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_request_flushes_collectds_cache() {
    if testkit::require_collectd().is_none() || testkit::require_rrdtool().is_none() {
        return;
    }
    let sockdir = tempfile::tempdir().unwrap();
    let socket = sockdir.path().join("sock");
    let collectd = testkit::Collectd::builder()
        .interval(1)
        .rrdtool(true)
        .plugin("load")
        .plugin("unixsock")
        .extra_config(&format!(
            "<Plugin rrdtool>\n  CacheTimeout 120\n  CacheFlush 900\n</Plugin>\n\
             <Plugin unixsock>\n  SocketFile \"{}\"\n</Plugin>\n",
            socket.display()
        ))
        .start()
        .expect("collectd starts");
    let file = collectd.wait_for_file("rrd/testkit/load/load.rrd", Duration::from_secs(10)).expect("load file");
    // collectd has values, the file none of them. The flush writes values older than its
    // timeout (1 s): wait until collectd's newest value is 2 s after its first.
    let id = "testkit/load/load";
    let first = testkit::poll_until(Duration::from_secs(10), || last_value_time(&socket, id))
        .unwrap_or_else(|| panic!("collectd never had a load value\n{}", collectd.log()));
    testkit::poll_until(Duration::from_secs(10), || last_value_time(&socket, id).filter(|&t| t >= first + 2.0))
        .unwrap_or_else(|| panic!("collectd had no load value 2 s after {first}\n{}", collectd.log()));
    let pool = Pool::new(PoolConfig::default()).unwrap();
    let (_, before) = pool.last_update(&file).unwrap();
    assert!(before.iter().all(|(_, v)| v.is_none()), "values still in collectd's cache: {before:?}");

    let rrd_dir = collectd.rrd_dir();
    let index = Arc::new(Index::open(&rrd_dir).unwrap());
    let flusher = Arc::new(Flusher::new(&socket, index.data_dir(), Duration::from_secs(1)));
    let state = AppState::with_options(
        index,
        pool.clone(),
        StateOptions { flusher: Some(flusher.clone()), ..StateOptions::default() },
    );
    let app = web::router(state);
    let req = Request::builder().uri("/graph.png?host=testkit&plugin=load&type=load&start=end-1h").body(Body::empty());
    let resp = app.oneshot(req.unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let _ = resp.into_body().collect().await.unwrap();

    // The flusher waited for the write; allow collectd's queue a moment more anyway.
    let written =
        || pool.last_update(&file).ok().map(|(_, after)| after).filter(|a| a.iter().any(|(_, v)| v.is_some()));
    testkit::poll_until(Duration::from_secs(5), written)
        .unwrap_or_else(|| panic!("not flushed into the file: {:?}\n{}", pool.last_update(&file), collectd.log()));

    // A direct call: collectd's own answer.
    let reply = flusher.flush_identifiers(&["testkit/load/load".to_owned()]).unwrap();
    assert!(reply.starts_with("0 "), "{reply}");
    // A socket that is down never fails the render.
    let down = Flusher::new(sockdir.path().join("none"), collectd.rrd_dir(), Duration::ZERO);
    assert_eq!(down.flush_files(&[file]), 0);
}

/// The time of collectd's newest value of `identifier` (unixsock `LISTVAL`), when it has one.
fn last_value_time(socket: &std::path::Path, identifier: &str) -> Option<f64> {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket).ok()?;
    writeln!(stream, "LISTVAL").ok()?;
    let mut lines = BufReader::new(&stream).lines();
    // "N Values found", then N lines of "TIME IDENTIFIER".
    let count: usize = lines.next()?.ok()?.split_whitespace().next()?.parse().ok()?;
    lines.take(count).map_while(Result::ok).find_map(|line| {
        let (time, id) = line.split_once(' ')?;
        (id == identifier).then(|| time.parse().ok()).flatten()
    })
}
