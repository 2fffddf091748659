//! The HTTP server around the router: connections accepted with a header-read timeout,
//! each request told whether its client is still there, and a stop that waits for
//! requests in progress at most [`SHUTDOWN_DEADLINE`], whatever half-open connections
//! clients keep.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

use super::guard::HostPolicy;
use super::{AppState, ServeConfig, WebError, open, router_for};

/// Longest a client may take to send a request's headers, including the first request of
/// a connection and each next one on a kept-alive connection.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest a stop waits for requests in progress before closing their connections.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// One client connection, as the requests on it see it.
#[derive(Debug, Default)]
pub struct Client {
    gone: AtomicBool,
    notify: Notify,
}

impl Client {
    /// Whether the client closed its side of the connection (or it failed).
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Acquire)
    }

    /// Resolves once the client is gone.
    pub async fn gone(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_gone() {
                return;
            }
            notified.await;
        }
    }

    fn mark_gone(&self) {
        if !self.gone.swap(true, Ordering::AcqRel) {
            self.notify.notify_waiters();
        }
    }
}

tokio::task_local! {
    static CLIENT: Arc<Client>;
}

/// The client of the request this task serves, when it came through [`serve`] or [`spawn`].
pub fn current_client() -> Option<Arc<Client>> {
    CLIENT.try_with(Arc::clone).ok()
}

/// Runs `work` as part of a request of `client` (for work spawned off the request's task).
pub async fn on_behalf_of<F: Future>(client: Option<Arc<Client>>, work: F) -> F::Output {
    match client {
        Some(client) => CLIENT.scope(client, work).await,
        None => work.await,
    }
}

/// A connection's socket that tells its [`Client`] when the peer has closed it: the
/// server reads while a request is in progress, and sees the end of the stream then.
struct Watched<S> {
    socket: S,
    client: Arc<Client>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let asked = buf.remaining() > 0;
        let polled = Pin::new(&mut self.socket).poll_read(cx, buf);
        match &polled {
            Poll::Ready(Ok(())) if asked && buf.filled().len() == before => self.client.mark_gone(),
            Poll::Ready(Err(_)) => self.client.mark_gone(),
            _ => {}
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.socket).poll_write(cx, data);
        if let Poll::Ready(Err(_)) = &polled {
            self.client.mark_gone();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}

/// Serves `app` on `listener` until `stop` resolves, then lets requests in progress finish
/// for at most [`SHUTDOWN_DEADLINE`].
async fn run(listener: TcpListener, app: Router, stop: impl Future<Output = ()>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    tokio::pin!(stop);
    loop {
        let (socket, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, mostly: wait a little rather than spin.
                    log::warn!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let client = Arc::new(Client::default());
        let io = TokioIo::new(Watched { socket, client: client.clone() });
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            CLIENT.scope(client.clone(), app.clone().oneshot(request))
        });
        let connection = graceful.watch(http.serve_connection(io, service));
        tokio::spawn(async move {
            // A client that resets or times out is its own business.
            let _ = connection.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_DEADLINE, graceful.shutdown()).await.is_err() {
        log::warn!("closing the connections still open {} s after the stop", SHUTDOWN_DEADLINE.as_secs());
    }
}

/// A server running on its own thread (for tests and embedding); stops when dropped.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), WebError>>>,
}

impl Server {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and waits for its thread.
    pub fn stop(mut self) -> Result<(), WebError> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<(), WebError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take() {
            Some(t) => t.join().unwrap_or_else(|_| Err(WebError::Io(io::Error::other("server thread panicked")))),
            None => Ok(()),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, WebError> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("collectd-view-web").build()?)
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, WebError> {
    TcpListener::bind(addr).await.map_err(|source| WebError::Bind { addr, source })
}

/// Starts serving `state` on `addr` (port 0: any free port) on a thread of its own.
pub fn spawn(state: AppState, addr: SocketAddr) -> Result<Server, WebError> {
    let rt = runtime()?;
    let listener = rt.block_on(bind(addr))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new().name("collectd-view-serve".into()).spawn(move || {
        rt.block_on(run(listener, router_for(state, HostPolicy::default()), async move {
            let _ = rx.await;
        }));
        // Blocking work still running (a rendering) ends with its own timeout.
        rt.shutdown_timeout(SHUTDOWN_DEADLINE);
        Ok(())
    })?;
    Ok(Server { addr, stop: Some(tx), thread: Some(thread) })
}

/// `collectd-view serve`: indexes the DataDir, starts rrdtool, serves until Ctrl-C or
/// SIGTERM, then stops within [`SHUTDOWN_DEADLINE`] (a second signal is not needed).
pub fn serve(config: ServeConfig) -> Result<(), WebError> {
    let state = open(&config)?;
    let rt = runtime()?;
    let served = rt.block_on(async move {
        let listener = bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let snap = state.snapshot();
        log::info!(
            "serving {} ({} hosts, {} files) on http://{addr}/",
            config.data_dir.display(),
            snap.hosts.len(),
            snap.file_count()
        );
        let hosts = HostPolicy::new(config.allow_hosts.clone());
        run(listener, router_for(state, hosts), shutdown_signal()).await;
        log::info!("stopped serving");
        Ok(())
    });
    rt.shutdown_timeout(SHUTDOWN_DEADLINE);
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
