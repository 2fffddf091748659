//! The web interface (`collectd-view serve`): routes, shared state, and the request-level
//! error page; pages in [`pages`], images and data in [`endpoints`], markup in [`html`].
//!
//! - **Names are looked up, never joined.** Every host, category, plugin directory, file
//!   and data source in a URL is looked up in the index snapshot ([`build`]); a path is only
//!   ever one the index listed.
//! - **State in the URL.** Every page's range, size, mode and selection is in its URL
//!   ([`params`]); a combined graph is a list of `s=host/dir/file[/ds]` parameters.
//! - **Bounded input.** Width, height, span, number of series and query length are bounded;
//!   a bad parameter gets a 400 page naming it and saying why ([`params::BadParam`]).
//! - **rrdtool off the async threads.** Lookups and renderings run in `spawn_blocking`
//!   through the [`collectd_rrd::rrdtool::Pool`]; images are cached by argv and freshness
//!   ([`cache`]), carry an ETag, Last-Modified and a `max-age` of one pixel of time.
//! - **Fresh and styled.** With `--collectd-socket`, collectd's rrdtool cache is flushed
//!   for a graph's files before they are read ([`collectd_rrd::flush`]); stacks are ordered by
//!   value; per-type overrides and thresholds come from `--graph-config`
//!   ([`collectd_rrd::graph::style`]) over the embedded defaults.
//! - **Everything embedded.** Templates are `maud` (compile-time, escaping); the CSS and
//!   JavaScript are ours, included in the binary; no CDN, no build step.

pub mod admission;
pub mod build;
pub mod cache;
pub mod endpoints;
pub mod guard;
pub mod html;
pub mod pages;
pub mod params;
pub mod search;
pub mod server;
pub mod time;

pub use server::{Server, serve, spawn};

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use cache::{RenderCache, Rendered};
use collectd_rrd::flush::Flusher;
use collectd_rrd::graph::style::GraphConfig;
use collectd_rrd::graph::{Format, GraphError, Grid, Kind};
use collectd_rrd::index::{Index, IndexError, Refresher, Snapshot};
use collectd_rrd::rrdtool::{Pool, PoolConfig, RrdtoolError};
use params::{BadParam, Mode, Target, View};
use search::SearchIndex;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The DataDir could not be indexed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// rrdtool could not be started.
    #[error(transparent)]
    Rrdtool(#[from] RrdtoolError),
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The async runtime or the server failed.
    #[error("web server: {0}")]
    Io(#[from] std::io::Error),
    /// The graph configuration file is unusable.
    #[error(transparent)]
    Config(#[from] collectd_rrd::graph::style::ConfigError),
}

/// Settings of `collectd-view serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// collectd's DataDir.
    pub data_dir: PathBuf,
    /// Where to listen (loopback by default).
    pub listen: SocketAddr,
    /// rrdcached address: rrdtool flushes files there before reading them.
    pub rrdcached: Option<String>,
    /// The rrdtool program.
    pub rrdtool: OsString,
    /// Number of rrdtool processes.
    pub workers: usize,
    /// Longest a rendering may take.
    pub timeout: Duration,
    /// How often the index is rescanned (incrementally) in the background.
    pub rescan: Duration,
    /// Per-type overrides and thresholds (the embedded defaults unless told otherwise).
    pub graph_config: Arc<GraphConfig>,
    /// collectd's unixsock socket: flush the rrdtool plugin's cache before reading.
    pub collectd_socket: Option<PathBuf>,
    /// collectd's interval: files older than this are flushed before being read.
    pub collectd_interval: Duration,
    /// Host names the `Host` header may carry besides IP addresses and `localhost`
    /// ([`guard::HostPolicy`]).
    pub allow_hosts: Vec<String>,
}

impl ServeConfig {
    /// The defaults for `data_dir`: 127.0.0.1:8080, one rrdtool per core (at most 4).
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        ServeConfig {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            rrdcached: None,
            rrdtool: "rrdtool".into(),
            workers: cores.clamp(1, 4),
            timeout: Duration::from_secs(30),
            rescan: Duration::from_secs(10),
            graph_config: Arc::new(GraphConfig::defaults()),
            collectd_socket: None,
            collectd_interval: Duration::from_secs(10),
            allow_hosts: Vec::new(),
        }
    }
}

/// A request that cannot be answered as asked: status, title, what was wrong, and what
/// exists nearby (names, with links when there is a page for them).
#[derive(Debug, Clone)]
pub struct Problem {
    /// HTTP status.
    pub status: StatusCode,
    /// Short title.
    pub title: String,
    /// What was wrong, in full (rrdtool's own message for a failed rendering).
    pub detail: String,
    /// What exists nearby: (name, link).
    pub nearby: Vec<(String, Option<String>)>,
}

impl Problem {
    /// A problem with `status`.
    pub fn new(status: StatusCode, title: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem { status, title: title.into(), detail: detail.into(), nearby: Vec::new() }
    }

    /// A 404 for `what`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "Not found", what)
    }

    /// Adds names that exist nearby, without links.
    pub fn nearby_names(mut self, names: Vec<String>) -> Self {
        self.nearby.extend(names.into_iter().map(|n| (n, None)));
        self
    }

    /// Adds names that exist nearby, with links.
    pub fn nearby_links(mut self, links: Vec<(String, String)>) -> Self {
        self.nearby.extend(links.into_iter().map(|(n, l)| (n, Some(l))));
        self
    }
}

impl From<BadParam> for Problem {
    fn from(b: BadParam) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, "Bad request", b.to_string())
    }
}

impl From<RrdtoolError> for Problem {
    fn from(e: RrdtoolError) -> Self {
        match e {
            RrdtoolError::Rrdtool { message, .. } => {
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "rrdtool could not draw this graph", message)
            }
            e @ RrdtoolError::Timeout { .. } => {
                Problem::new(StatusCode::GATEWAY_TIMEOUT, "rrdtool timed out", e.to_string())
            }
            RrdtoolError::Graph(g) => g.into(),
            e => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "rrdtool failed", e.to_string()),
        }
    }
}

impl From<GraphError> for Problem {
    fn from(e: GraphError) -> Self {
        match e {
            GraphError::Size { .. } | GraphError::Text { .. } => {
                Problem::new(StatusCode::BAD_REQUEST, "Bad request", e.to_string())
            }
            e => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Cannot make this graph", e.to_string()),
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = html::problem_page(&self).into_string();
        (self.status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body)
            .into_response()
    }
}

/// A rendered graph and the range it was rendered for.
#[derive(Debug, Clone)]
pub struct GraphOut {
    /// The image (shared with the cache).
    pub rendered: Arc<Rendered>,
    /// The range, resolved when the request came.
    pub range: time::Resolved,
    /// Seconds a client may reuse it.
    pub max_age: i64,
}

/// Settings of an [`AppState`] beyond its index and pool.
#[derive(Debug, Clone, Default)]
pub struct StateOptions {
    /// rrdcached address (`--daemon`).
    pub daemon: Option<String>,
    /// Background rescan period.
    pub rescan: Option<Duration>,
    /// Overrides and thresholds; `None`: the embedded defaults.
    pub config: Option<Arc<GraphConfig>>,
    /// Flushes collectd before files are read.
    pub flusher: Option<Arc<Flusher>>,
}

/// Seconds a current value (`rrdtool lastupdate`), and the overview's card data of a host
/// (newest modification time, current values), are reused.
const CURRENT_TTL: Duration = Duration::from_secs(5);
/// Renderings at once on a pool of `workers`: all but one, so that the overview's reads
/// (`rrdtool lastupdate`) find a worker free however many graphs wait.
fn render_slots(workers: usize) -> usize {
    workers.saturating_sub(1).max(1)
}

/// Renderings that may wait per rrdtool worker; beyond, a graph request gets 503 at once.
const RENDER_QUEUE_PER_WORKER: usize = 16;
/// Longest a graph request waits for an rrdtool worker before it gets 503.
const RENDER_WAIT: Duration = Duration::from_secs(10);

/// Seconds a stack's value order is reused.
const ORDER_TTL: Duration = Duration::from_secs(60);

/// How long after a file's modification its modification time is trusted to tell a later
/// write (timestamps are coarser than writes are apart).
const MTIME_SETTLE: Duration = Duration::from_secs(2);

/// The last values of a file: time and (DS, value).
pub type LastValues = Option<collectd_rrd::rrdtool::LastUpdate>;

/// What changes whenever a file is written (or replaced): modification and change times,
/// inode and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    mtime: std::time::SystemTime,
    ctime: (i64, i64),
    ino: (u64, u64),
    len: u64,
}

impl FileStamp {
    fn of(path: &std::path::Path) -> Option<FileStamp> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        Some(FileStamp {
            mtime: m.modified().ok()?,
            ctime: (m.ctime(), m.ctime_nsec()),
            ino: (m.dev(), m.ino()),
            len: m.len(),
        })
    }

    /// Whether its times are at least [`MTIME_SETTLE`] before `checked`, so that any write
    /// after `checked` changes them.
    fn settled_at(&self, checked: std::time::SystemTime) -> bool {
        let ctime = std::time::UNIX_EPOCH
            .checked_add(Duration::new(self.ctime.0.max(0) as u64, self.ctime.1.clamp(0, 999_999_999) as u32));
        [Some(self.mtime), ctime]
            .into_iter()
            .all(|t| t.and_then(|t| t.checked_add(MTIME_SETTLE)).is_some_and(|t| t <= checked))
    }
}

/// A file's last values as read, and what tells whether they still are.
#[derive(Debug)]
struct Current {
    /// When they were read, or found to be still the file's.
    at: std::time::Instant,
    /// The file's stamp just before they were read, when it had settled: the values are
    /// the file's as long as its stamp is this one.
    stamp: Option<FileStamp>,
    values: LastValues,
}

struct Inner {
    index: Arc<Index>,
    pool: Pool,
    daemon: Option<String>,
    config: Arc<GraphConfig>,
    flusher: Option<Arc<Flusher>>,
    current: Mutex<std::collections::HashMap<PathBuf, Current>>,
    cards: cache::PerHost<pages::CardData>,
    orders: Mutex<std::collections::HashMap<String, (std::time::Instant, Vec<String>)>>,
    cache: RenderCache,
    search: Mutex<Arc<SearchIndex>>,
    renders: admission::RenderGate,
    _refresher: Option<Refresher>,
}

/// What every handler shares: the index, the rrdtool pool and the caches. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("data_dir", &self.0.index.data_dir()).finish_non_exhaustive()
    }
}

/// The interface's grid: the house look's ([`collectd_rrd::graph::style::look_grid`]).
pub fn web_grid() -> Grid {
    collectd_rrd::graph::style::look_grid()
}

/// The rrdtool options that give every graph the interface's look: the house look the
/// command line shares ([`collectd_rrd::graph::style::look`]); `zoom` 2 renders every
/// pixel as 2×2 (fonts included) for screens of that density.
pub fn style_options(spark: bool, zoom: u32) -> Vec<String> {
    let mut o = collectd_rrd::graph::style::look(spark);
    if zoom > 1 {
        o.push("--zoom".into());
        o.push(zoom.to_string());
    }
    o
}

impl AppState {
    /// State over an index and a pool. `rescan`: start a background rescan at this period.
    pub fn new(index: Arc<Index>, pool: Pool, daemon: Option<String>, rescan: Option<Duration>) -> AppState {
        AppState::with_options(index, pool, StateOptions { daemon, rescan, ..StateOptions::default() })
    }

    /// State over an index and a pool, with `options`.
    pub fn with_options(index: Arc<Index>, pool: Pool, options: StateOptions) -> AppState {
        let refresher = options.rescan.map(|every| index.spawn_refresher(every));
        let search = SearchIndex::build(&index.snapshot());
        AppState(Arc::new(Inner {
            index,
            daemon: options.daemon,
            config: options.config.unwrap_or_else(|| Arc::new(GraphConfig::defaults())),
            flusher: options.flusher,
            current: Mutex::new(std::collections::HashMap::new()),
            cards: cache::PerHost::new(CURRENT_TTL),
            orders: Mutex::new(std::collections::HashMap::new()),
            cache: RenderCache::new(64 << 20, 2000),
            search: Mutex::new(Arc::new(search)),
            renders: admission::RenderGate::new(
                render_slots(pool.config().workers),
                RENDER_QUEUE_PER_WORKER * pool.config().workers,
                RENDER_WAIT,
            ),
            pool,
            _refresher: refresher,
        }))
    }

    /// The overrides and thresholds.
    pub fn config(&self) -> &Arc<GraphConfig> {
        &self.0.config
    }

    /// The last values written to `file`, reused for 5 s (`CURRENT_TTL`);
    /// `None` when rrdtool cannot read them.
    ///
    /// After that, without rrdcached (where values wait to be written), they are reused
    /// as long as the file is unchanged: its values change only when it is written, and a
    /// write changes its modification and change times (compared once they are older
    /// than 2 s (`MTIME_SETTLE`), finer than the clock ticks that stamp them). So a `stat`
    /// replaces `rrdtool lastupdate` for files collectd has not written since.
    pub fn last_values(&self, file: &std::path::Path) -> LastValues {
        let now = std::time::Instant::now();
        let stamp = {
            let cur = self.0.current.lock().unwrap_or_else(|e| e.into_inner());
            match cur.get(file) {
                Some(c) if now.duration_since(c.at) < CURRENT_TTL => return c.values.clone(),
                Some(c) if c.values.is_some() => c.stamp,
                _ => None,
            }
        };
        let by_file = self.0.daemon.is_none() && self.0.pool.config().daemon.is_none();
        let checked = std::time::SystemTime::now();
        let new_stamp = if by_file { FileStamp::of(file) } else { None };
        if let (Some(old), Some(new)) = (stamp, new_stamp)
            && old == new
        {
            let mut cur = self.0.current.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = cur.get_mut(file)
                && c.stamp == Some(new)
            {
                c.at = now;
                return c.values.clone();
            }
        }
        let values = self.0.pool.last_update(file).ok();
        let stamp = new_stamp.filter(|s| s.settled_at(checked));
        let mut cur = self.0.current.lock().unwrap_or_else(|e| e.into_inner());
        if cur.len() > 50_000 {
            cur.clear();
        }
        cur.insert(file.to_owned(), Current { at: now, stamp, values: values.clone() });
        values
    }

    /// What every host's card on the overview shows besides names (newest modification
    /// time, staleness, current values), derived again when older than [`CURRENT_TTL`] or
    /// when the host's files changed; those missing are derived on as many threads as
    /// rrdtool has workers.
    pub(crate) fn card_data(&self, snap: &Snapshot) -> Vec<Arc<pages::CardData>> {
        // Compact cards (many hosts) show two values: fewer files are read for them.
        let compact = snap.hosts.len() > pages::COMPACT_HOSTS;
        self.0.cards.get(snap, self.0.pool.config().workers, |h| pages::card_data(self, h, compact))
    }

    /// A host's card data if the overview derived it and it is still fresh.
    pub(crate) fn fresh_card_data(&self, h: &Arc<collectd_rrd::index::Host>) -> Option<Arc<pages::CardData>> {
        self.0.cards.peek(h)
    }

    /// Flushes collectd's cache for `files` when a socket was given (never fails).
    pub fn flush(&self, files: &[PathBuf]) {
        if let Some(f) = &self.0.flusher {
            f.flush_files(files);
        }
    }

    /// Orders a stack by its series' averages over its range (reused for a minute).
    fn order_stack(&self, graph: &mut collectd_rrd::graph::Graph) -> Result<(), Problem> {
        if !matches!(graph.kind, Kind::Stack { .. }) || graph.series.len() < 2 || !graph.order.is_empty() {
            return Ok(());
        }
        let key = graph.xport_args()?.join("\u{0}");
        let now = std::time::Instant::now();
        if let Some((at, order)) = self.0.orders.lock().unwrap_or_else(|e| e.into_inner()).get(&key)
            && now.duration_since(*at) < ORDER_TTL
        {
            graph.order = order.clone();
            return Ok(());
        }
        collectd_rrd::graph::averages::order_stack_by_value(&self.0.pool, graph)?;
        let mut orders = self.0.orders.lock().unwrap_or_else(|e| e.into_inner());
        if orders.len() > 10_000 {
            orders.clear();
        }
        orders.insert(key, (now, graph.order.clone()));
        Ok(())
    }

    /// The index.
    pub fn index(&self) -> &Arc<Index> {
        &self.0.index
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.0.index.snapshot()
    }

    /// The search index of the current snapshot (rebuilt when hosts changed).
    pub fn search_index(&self, snap: &Snapshot) -> Arc<SearchIndex> {
        let mut cur = self.0.search.lock().unwrap_or_else(|e| e.into_inner());
        if !cur.is_for(snap) {
            *cur = Arc::new(SearchIndex::build(snap));
        }
        cur.clone()
    }

    /// Data source lookup through the index's header reader, then `rrdtool info`.
    pub fn ds_lookup(
        &self,
    ) -> impl Fn(&collectd_rrd::index::RrdFile) -> Result<Vec<String>, collectd_rrd::DsError> + '_ {
        collectd_rrd::ds_lookup(&self.0.index, Some(&self.0.pool))
    }

    /// Builds the graph of a target (blocking: may read file headers).
    pub fn build(&self, target: &Target, mode: Mode, view: &View) -> Result<build::Built, Problem> {
        let snap = self.snapshot();
        let lookup = self.ds_lookup();
        let mut built = build::build(&snap, target, mode, view, self.0.daemon.as_deref(), &self.0.config, &lookup)?;
        // Files whose names rrdtool's pipe cannot carry are read through links.
        if let std::borrow::Cow::Owned(linked) = self.0.pool.linked(&built.graph)? {
            built.graph = linked;
        }
        self.order_stack(&mut built.graph)?;
        Ok(built)
    }

    /// What the render gate did so far.
    pub fn render_stats(&self) -> admission::GateStats {
        self.0.renders.stats()
    }

    /// Runs blocking work that calls rrdtool through the render gate ([`admission`]).
    pub async fn rendering<T: Send + 'static>(
        &self,
        work: impl FnOnce(&AppState) -> Result<T, Problem> + Send + 'static,
    ) -> Result<T, Problem> {
        let st = self.clone();
        self.0.renders.run(move || work(&st)).await
    }

    /// Renders (or takes from the cache) a target's graph. Blocking.
    pub fn render(
        &self,
        target: &Target,
        mode: Mode,
        view: &View,
        format: Format,
        spark: bool,
        zoom: u32,
    ) -> Result<GraphOut, Problem> {
        let range = view.resolve().map_err(|e| Problem::from(BadParam::new("start", e.to_string())))?;
        let built = self.build(target, mode, view)?;
        let mut graph = built.graph;
        graph.format = format;
        graph.print_values = true;
        let options = style_options(spark, zoom);
        let argv = graph.args()?;
        let pixel = range.pixel(view.width);
        let now = time::now();
        let token = if range.relative {
            format!("bucket {}", now / pixel)
        } else {
            format!("mtime {:?}", cache::newest_mtime(&built.files))
        };
        let key = format!("{}\u{1}{}\u{1}{token}", options.join("\u{0}"), argv.join("\u{0}"));
        let rendered = self.0.cache.get_or_render(&key, || {
            self.flush(&built.files);
            let img = self.0.pool.render_with(&graph, &options)?;
            Ok(Rendered {
                data: img.data,
                format,
                geometry: img.geometry,
                etag: cache::etag_of(&key),
                last_modified: cache::newest_mtime(&built.files),
                values: collectd_rrd::graph::Graph::printed(&img.info),
                title: graph.title.clone(),
                unit: graph.unit.clone(),
                zoom,
            })
        })?;
        let max_age = if !range.relative && range.end < now - 3600 { 3600 } else { pixel };
        Ok(GraphOut { rendered, range, max_age })
    }

    /// Exports a target's data. Blocking.
    pub fn xport(
        &self,
        target: &Target,
        mode: Mode,
        view: &View,
    ) -> Result<(collectd_rrd::graph::Graph, collectd_rrd::rrdtool::Xport), Problem> {
        view.resolve().map_err(|e| Problem::from(BadParam::new("start", e.to_string())))?;
        let built = self.build(target, mode, view)?;
        self.flush(&built.files);
        let x = self.0.pool.xport(&built.graph)?;
        Ok((built.graph, x))
    }
}

/// Runs blocking work off the async threads; a panic becomes a 500 page.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|e| {
        Err(Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "Internal error", format!("the request failed: {e}")))
    })
}

/// The router of every page, image, data and asset route, every response with the
/// security headers ([`guard`]); the `Host` header is not checked (see [`router_for`]).
pub fn router(state: AppState) -> Router {
    routes(state).layer(axum::middleware::from_fn(guard::security_headers))
}

/// [`router`], refusing requests whose `Host` header `hosts` does not allow.
pub fn router_for(state: AppState, hosts: guard::HostPolicy) -> Router {
    routes(state)
        .layer(axum::middleware::from_fn_with_state(Arc::new(hosts), guard::check_host))
        .layer(axum::middleware::from_fn(guard::security_headers))
}

fn routes(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/host/{host}", get(pages::host))
        .route("/host/{host}/category/{cat}", get(pages::category))
        .route("/host/{host}/category/{cat}/stat/{stat}", get(pages::stat))
        .route("/host/{host}/plugin/{dir}", get(pages::plugin))
        .route("/host/{host}/plugin/{dir}/type/{type}", get(pages::type_page))
        .route("/combine", get(pages::combine))
        .route("/command", get(pages::command))
        .route("/command.txt", get(endpoints::command_text))
        .route("/graph.png", get(endpoints::graph_png))
        .route("/graph.svg", get(endpoints::graph_svg))
        .route("/graph.pdf", get(endpoints::graph_pdf))
        .route("/graph.json", get(endpoints::graph_json))
        .route("/data.csv", get(endpoints::data_csv))
        .route("/data.json", get(endpoints::data_json))
        .route("/search.json", get(endpoints::search_json))
        .route("/assets/{name}", get(endpoints::asset))
        .route("/favicon.ico", get(endpoints::favicon))
        .fallback(pages::not_found)
        .with_state(state)
}

/// Opens the index and the pool of `config` and returns the state (rescanning in the
/// background).
pub fn open(config: &ServeConfig) -> Result<AppState, WebError> {
    let index = Arc::new(Index::open(&config.data_dir)?);
    let pool = Pool::new(PoolConfig {
        program: config.rrdtool.clone(),
        // One more than renders: the overview's reads never wait behind graphs.
        workers: config.workers + 1,
        timeout: config.timeout,
        daemon: config.rrdcached.clone(),
        ..PoolConfig::default()
    })?;
    pool.warm_up()?;
    let flusher =
        config.collectd_socket.as_ref().map(|s| Arc::new(Flusher::new(s, index.data_dir(), config.collectd_interval)));
    Ok(AppState::with_options(
        index,
        pool,
        StateOptions {
            daemon: config.rrdcached.clone(),
            rescan: Some(config.rescan),
            config: Some(config.graph_config.clone()),
            flusher,
        },
    ))
}
