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
    // Several intervals: collectd has values, the file none of them.
    std::thread::sleep(Duration::from_millis(3500));
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
    let mut after = Vec::new();
    for _ in 0..50 {
        after = pool.last_update(&file).unwrap().1;
        if after.iter().any(|(_, v)| v.is_some()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(after.iter().any(|(_, v)| v.is_some()), "flushed into the file: {after:?}\n{}", collectd.log());

    // A direct call: collectd's own answer.
    let reply = flusher.flush_identifiers(&["testkit/load/load".to_owned()]).unwrap();
    assert!(reply.starts_with("0 "), "{reply}");
    // A socket that is down never fails the render.
    let down = Flusher::new(sockdir.path().join("none"), collectd.rrd_dir(), Duration::ZERO);
    assert_eq!(down.flush_files(&[file]), 0);
}
