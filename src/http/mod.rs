//! The HTTP shim: actix-web over the [`Engine`]. It parses, authenticates and validates a
//! request into a typed command, awaits the engine, and writes the answer; it holds no
//! reservation state (the company actors do).
//!
//! - [`run`]: serve on a bound listener until a shutdown future resolves, then drain;
//!   `crate::server` calls it for the binary, the load tool and the tests alike.
//! - [`routes`]: one handler per operation and the endpoint table; [`configuration`]: the
//!   handlers of a company's settings and resources; [`events`]: the event page and streams;
//!   [`webhooks`]: the handlers of a company's webhook endpoints; [`voice`]: Retell and Vapi
//!   calling holdfast directly; [`extract`]: the checked request parts;
//!   [`dto`]: wire shapes and the raw -> command stage; [`time`]: RFC 3339 in and out;
//!   [`error`]: every error to problem+json, in one place; [`auth`]: keys;
//!   [`openapi`]: the generated document; [`responses`]: the error answers each operation
//!   documents; [`shutdown`]: the signals that stop the server;
//!   [`edge_errors`]: the counting of requests this layer refuses before any book sees them.
//!
//! Shutdown, in order: the shutdown future resolves (SIGTERM or Ctrl-C in the binary) ->
//! `/healthz` answers 503 so a balancer stops sending -> the listener closes and in-flight
//! requests finish (at most `shutdown_timeout`) -> `run` returns -> the server writes the final
//! snapshot and closes the log.

pub mod admin;
pub mod auth;
pub mod configuration;
pub mod dto;
pub mod edge_errors;
pub mod error;
pub mod events;
pub mod extract;
pub mod openapi;
pub mod responses;
pub mod routes;
pub mod serve;
pub mod shutdown;
pub mod time;
pub mod voice;
pub mod webhooks;

use crate::actors::engine::Engine;
use crate::actors::snapshotter::Snapshots;
use crate::webhooks::{Deliveries, DeliveryOptions};
use actix_web::{web, App};
use auth::Keys;
use std::future::Future;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Whether the server is restored and serving: what `/healthz` answers. Shared so that whoever
/// restores state (the durability work) can hold it down until the restore is done.
#[derive(Clone, Debug, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the server ready (or not).
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }

    /// Whether the server is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// What the HTTP shim serves: the engine, the snapshot writer of its data directory, and the
/// webhook deliveries.
#[derive(Clone)]
pub struct Services {
    pub engine: Engine,
    pub snapshots: Snapshots,
    pub deliveries: Deliveries,
}

/// What every handler shares: the engine, the snapshot writer, the keys, readiness. Read-only
/// after start.
pub struct AppState {
    pub engine: Engine,
    pub snapshots: Snapshots,
    pub deliveries: Deliveries,
    pub keys: Keys,
    /// The admin page's signed-in sessions.
    pub admin_sessions: admin::session::Sessions,
    pub ready: Readiness,
}

/// How to serve.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    pub keys: Keys,
    /// Longest wait for in-flight requests at shutdown; then connections are dropped.
    pub shutdown_timeout: Duration,
    /// Set by [`run`] once the listener serves; cleared when the drain starts.
    pub ready: Readiness,
    /// How webhook deliveries run (whether they may go to private addresses): the `PUT` of an
    /// endpoint judges its URL by the same rule.
    pub webhooks: DeliveryOptions,
}

impl Default for HttpOptions {
    fn default() -> HttpOptions {
        HttpOptions {
            keys: Keys::open(),
            shutdown_timeout: Duration::from_secs(crate::limits::SHUTDOWN_DRAIN_SECONDS_DEFAULT),
            ready: Readiness::default(),
            webhooks: DeliveryOptions::default(),
        }
    }
}

/// The actix application: routes and shared state, answers compressed with gzip for callers
/// that accept it (event streams excepted: they say `Content-Encoding: identity`, which the
/// compressor leaves alone, so it never holds back an event). Exposed for `actix_web::test`
/// use.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .wrap(actix_web::middleware::Compress::default())
        .app_data(state)
        .configure(routes::configure)
}

/// Serves the API on `listener`, on the engine's threads (see `serve`), until `shutdown`
/// resolves, then drains and returns. Must run inside an actix `System` (the one the engine was
/// started in). `crate::server` calls it.
pub async fn run(
    listener: TcpListener,
    services: Services,
    options: HttpOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let ready = options.ready.clone();
    let threads = services.engine.registry().threads();
    let state = web::Data::new(AppState {
        engine: services.engine,
        snapshots: services.snapshots,
        deliveries: services.deliveries,
        keys: options.keys,
        admin_sessions: admin::session::Sessions::default(),
        ready: ready.clone(),
    });
    // A signal future installs its handlers when first polled: poll it once before serving,
    // so that a SIGTERM right after "serving" is a shutdown, never the default action (exit).
    let mut shutdown = std::pin::pin!(shutdown);
    let asked_already = futures::poll!(shutdown.as_mut()).is_ready();
    // Ready before the first accept: whatever is accepted is served, never told "starting".
    ready.set(true);
    let serving = match serve::Serving::start(&listener, &threads, state).await {
        Ok(serving) => serving,
        Err(error) => {
            ready.set(false);
            return Err(error);
        }
    };
    tracing::info!(threads = threads.len(), "serving");
    if !asked_already {
        shutdown.as_mut().await;
    }
    ready.set(false);
    tracing::info!("shutting down: no new connections; finishing requests in flight");
    serving.drain(options.shutdown_timeout).await;
    // Every answer has been written. The server writes the final snapshot after `run` returns,
    // so that it holds everything any caller was told.
    tracing::info!("stopped");
    Ok(())
}
