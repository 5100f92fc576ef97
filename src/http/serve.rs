//! Serving HTTP on the engine's own threads: every arbiter that runs company actors also accepts
//! connections and runs their requests.
//!
//! Why not actix-web's `HttpServer`: its workers are threads of their own, so every request to
//! a company crossed threads twice (the worker to the company's arbiter, and the answer back),
//! and two thread pools shared the cores. Here a request whose company lives on the thread that
//! accepted its connection is answered with no thread crossed (the actor's mailbox and the
//! answer are wake-ups inside one event loop); any other crosses once there and once back. The
//! HTTP protocol itself is actix-web's (`actix_http::HttpService` with the same `App`), only the
//! accept loops and the drain are ours.
//!
//! The drain, in order: the listener stops accepting on every thread; every connection is told
//! to close once its request in flight is answered (idle keep-alive connections close at once);
//! after [`HttpOptions::shutdown_timeout`](super::HttpOptions) the rest are dropped. The
//! threads, and with them the company actors, keep running: the final snapshot is taken after
//! this returns, so that it holds everything any caller was told.
//!
//! One accept loop hands connections to the threads in turn; each thread runs its connections
//! as tasks of its own event loop.
//!
//! Invariant: a connection is counted from its accept until its task ends, so "no connection
//! open" means no request can still be answered.

use crate::http::{app, AppState};
use crate::limits;
use actix_http::HttpService;
use actix_rt::ArbiterHandle;
use actix_service::{map_config, IntoServiceFactory, Service, ServiceFactory, ServiceFactoryExt};
use actix_web::dev::AppConfig;
use actix_web::web;
use std::io;
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Notify};

/// Where the serving stands; every thread watches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Serving,
    /// No more accepts; connections close once their request in flight is answered.
    Draining,
    /// Connections still open are dropped.
    Stopped,
}

/// Open connections of one serving thread, and a signal whenever one closes.
#[derive(Default)]
struct Connections {
    open: AtomicUsize,
    closed: Notify,
}

impl Connections {
    fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    fn close_one(&self) {
        self.open.fetch_sub(1, Ordering::AcqRel);
        self.closed.notify_waiters();
    }

    /// Waits until no connection is open.
    async fn all_closed(&self) {
        loop {
            let closed = self.closed.notified();
            if self.open() == 0 {
                return;
            }
            closed.await;
        }
    }
}

/// The HTTP server running on the engine's threads.
pub struct Serving {
    phase: watch::Sender<Phase>,
    connections: Vec<Arc<Connections>>,
}

impl Serving {
    /// Starts serving on every thread of `threads` and accepting on `listener`; returns once
    /// every thread is ready to serve, or with the first thread's error.
    pub async fn start(
        listener: &TcpListener,
        threads: &[ArbiterHandle],
        state: web::Data<AppState>,
    ) -> io::Result<Serving> {
        let local_addr = listener.local_addr()?;
        let listener = listener.try_clone()?;
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let (phase, _) = watch::channel(Phase::Serving);
        let mut connections = Vec::with_capacity(threads.len());
        let mut handoffs = Vec::with_capacity(threads.len());
        let mut started = Vec::with_capacity(threads.len());
        for thread in threads {
            let state = state.clone();
            let phase = phase.subscribe();
            let counted = Arc::new(Connections::default());
            connections.push(counted.clone());
            let (handoff, accepted) = mpsc::channel(limits::CONNECTIONS_HANDED_OVER_MAX);
            handoffs.push(handoff);
            let (report, reported) = oneshot::channel();
            started.push(reported);
            // The service and its connections are not `Send`: they are made on the thread
            // that runs them.
            let spawned = thread.spawn_fn(move || {
                actix_rt::spawn(serve_thread(
                    accepted, state, local_addr, phase, counted, report,
                ));
            });
            if !spawned {
                return Err(io::Error::other("an engine thread has stopped"));
            }
        }
        let serving = Serving { phase, connections };
        for reported in started {
            let outcome = reported
                .await
                .unwrap_or_else(|_| Err(io::Error::other("an engine thread has stopped")));
            if let Err(error) = outcome {
                serving.drain(Duration::ZERO).await;
                return Err(error);
            }
        }
        actix_rt::spawn(accept_loop(
            listener,
            handoffs,
            serving.connections.clone(),
            serving.phase.subscribe(),
        ));
        Ok(serving)
    }

    /// Stops accepting, lets the requests in flight be answered for up to `timeout`, then drops
    /// what is still open. Returns once no connection is open.
    pub async fn drain(&self, timeout: Duration) {
        self.phase.send_replace(Phase::Draining);
        let all_closed = futures::future::join_all(self.connections.iter().map(|c| c.all_closed()));
        if tokio::time::timeout(timeout, all_closed).await.is_err() {
            let open: usize = self.connections.iter().map(|c| c.open()).sum();
            tracing::warn!(
                open,
                "connections still open after the drain timeout: dropped"
            );
        }
        self.phase.send_replace(Phase::Stopped);
        futures::future::join_all(self.connections.iter().map(|c| c.all_closed())).await;
    }
}

/// The accept loop, on the thread that started serving: hands each connection to the serving
/// threads in turn. One loop rather than one per thread, because threads waiting on one
/// listener do not share its connections evenly (measured: one thread took all 64 of a load
/// tool's connections while the other idled); a connection crosses threads once, at its start.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    handoffs: Vec<mpsc::Sender<tokio::net::TcpStream>>,
    connections: Vec<Arc<Connections>>,
    mut phase: watch::Receiver<Phase>,
) {
    let mut next = 0;
    loop {
        let thread = next % handoffs.len();
        next += 1;
        // At the bound, the next connection waits in the listener's backlog until one of this
        // thread's closes.
        while connections[thread].open() >= limits::CONNECTIONS_PER_THREAD_MAX {
            connections[thread].closed.notified().await;
        }
        let accepted = tokio::select! {
            _ = phase.wait_for(|phase| *phase != Phase::Serving) => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                // Counted from here, so that the drain waits for it however far it got.
                connections[thread].open.fetch_add(1, Ordering::AcqRel);
                if handoffs[thread].send(stream).await.is_err() {
                    connections[thread].close_one();
                }
            }
            Err(error) => {
                // Out of file descriptors, most likely: pausing lets connections close instead
                // of spinning on the same error.
                tracing::error!(%error, "cannot accept a connection");
                tokio::select! {
                    _ = phase.wait_for(|phase| *phase != Phase::Serving) => return,
                    () = tokio::time::sleep(limits::ACCEPT_ERROR_PAUSE) => {}
                }
            }
        }
    }
}

/// One serving thread: makes the HTTP service, reports whether it could, then serves each
/// connection handed over as a task of this thread.
async fn serve_thread(
    mut accepted: mpsc::Receiver<tokio::net::TcpStream>,
    state: web::Data<AppState>,
    local_addr: std::net::SocketAddr,
    phase: watch::Receiver<Phase>,
    connections: Arc<Connections>,
    report: oneshot::Sender<io::Result<()>>,
) {
    let service = match http_service(state, local_addr, phase.clone())
        .new_service(())
        .await
    {
        Ok(service) => {
            let _ = report.send(Ok(()));
            Rc::new(service)
        }
        Err(()) => {
            let _ = report.send(Err(io::Error::other("the HTTP service did not start")));
            return;
        }
    };
    while let Some(stream) = accepted.recv().await {
        actix_rt::spawn(connection(
            stream,
            service.clone(),
            phase.clone(),
            connections.clone(),
        ));
    }
}

/// Serves one connection until it closes or the drain's timeout drops it.
async fn connection<S>(
    stream: tokio::net::TcpStream,
    service: Rc<S>,
    mut phase: watch::Receiver<Phase>,
    connections: Arc<Connections>,
) where
    S: Service<tokio::net::TcpStream, Response = ()>,
    S::Error: std::fmt::Debug,
{
    let served = async {
        std::future::poll_fn(|context| service.poll_ready(context))
            .await
            .map_err(|error| tracing::debug!(?error, "the HTTP service is not ready"))?;
        service
            .call(stream)
            .await
            .map_err(|error| tracing::debug!(?error, "connection ended with an error"))
    };
    tokio::select! {
        _ = served => {}
        _ = phase.wait_for(|phase| *phase == Phase::Stopped) => {}
    }
    connections.close_one();
}

/// actix-web's HTTP/1 service for the `App`, with actix-web's own defaults for the timeouts,
/// told to close its connection (after the answer in flight) once the drain starts.
fn http_service(
    state: web::Data<AppState>,
    local_addr: std::net::SocketAddr,
    phase: watch::Receiver<Phase>,
) -> impl ServiceFactory<
    tokio::net::TcpStream,
    Config = (),
    Response = (),
    Error = actix_http::error::DispatchError,
    InitError = (),
> {
    let application = app(state)
        .into_factory()
        .map_err(|error| error.error_response());
    HttpService::build()
        .keep_alive(limits::KEEP_ALIVE)
        .client_request_timeout(limits::CLIENT_REQUEST_TIMEOUT)
        .client_disconnect_timeout(limits::CLIENT_DISCONNECT_TIMEOUT)
        .local_addr(local_addr)
        .graceful_shutdown_signal(move || {
            let mut phase = phase.clone();
            async move {
                let _ = phase.wait_for(|phase| *phase != Phase::Serving).await;
            }
        })
        // Only a request without a `Host` header (HTTP/1.0) sees the configuration's host.
        .finish(map_config(application, |()| AppConfig::default()))
        .tcp()
}
