//! The whole life of one holdfast server, in one place: lock the data directory, restore every
//! company, open the write-ahead log, start the engine and the snapshotter, serve HTTP, and on
//! shutdown drain, take the final snapshot and close the log.
//!
//! Everything that starts a server goes through here: the binary (`holdfast serve`), the load
//! tool's in-process server, and the tests, so that a test server runs with a real log and a
//! real snapshot writer, exactly like production. [`Server::start`] returns only once every
//! company is restored, so a server that answers `/healthz` serves restored state.
//!
//! While it runs, the server also watches its log: when the disk fails, changes are refused and
//! the recovery (`crate::actors::recovery`) rebuilds the books from the disk and reopens the log
//! once the disk takes writes again.
//!
//! Shutdown, in order: the shutdown future resolves -> `/healthz` answers 503 -> the listener
//! closes and in-flight requests finish -> the final snapshot is written (it holds everything
//! any caller was told) -> the log writes what is queued and stops.

use crate::actors::engine::{Engine, EngineConfig};
use crate::actors::recovery::Recovery;
use crate::actors::snapshotter::{SnapshotFailed, Snapshots, Snapshotter};
use crate::core::book::Book;
use crate::durability::log::LogWriter;
use crate::durability::snapshot::SnapshotInfo;
use crate::durability::{self, DurabilityConfig, ExpiredOnRestore, RestoreReport, StartupError};
use crate::http::{self, HttpOptions};
use crate::webhooks::Deliveries;
use actix::prelude::*;
use std::collections::HashMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use uuid::Uuid;

/// How to start a server.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub engine: EngineConfig,
    pub durability: DurabilityConfig,
    pub http: HttpOptions,
}

/// Why serving ended with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("serving HTTP failed: {0}")]
    Http(#[from] std::io::Error),
    #[error("the final snapshot failed: {0}")]
    FinalSnapshot(#[from] SnapshotFailed),
}

/// A restored, running engine with its snapshot writer, ready to serve.
pub struct Server {
    engine: Engine,
    snapshots: Snapshots,
    /// Kept so the periodic snapshots run as long as the server lives.
    _snapshotter: Addr<Snapshotter>,
    /// Brings the log back after it failed; stopped at shutdown.
    recovery: actix_rt::task::JoinHandle<()>,
    /// One task per webhook endpoint; stopped at shutdown.
    deliveries: Deliveries,
    report: RestoreReport,
    http: HttpOptions,
}

impl Server {
    /// Locks the data directory, restores every company (newest valid snapshot, then the log,
    /// then expiry of what ran out while down), opens the log and starts the engine with the
    /// restored books and the snapshotter. Must run inside an actix `System`.
    pub fn start(config: ServerConfig) -> Result<Server, StartupError> {
        let ServerConfig {
            engine: engine_config,
            durability: durability_config,
            http,
        } = config;
        let io_error = |source| StartupError::Io {
            dir: durability_config.data_dir.clone(),
            source,
        };
        let lock = durability::lock_directory(&durability_config.data_dir)?;
        let now_ms = engine_config.clock.now_ms();
        let restored =
            durability::restore(&durability_config.data_dir, &engine_config.settings, now_ms)?;
        let log_writer = LogWriter::open(
            &durability_config.data_dir,
            durability_config.mode,
            restored.next_lsn,
            durability_config.disk.clone(),
        )
        .map_err(io_error)?;
        let mut books = restored.books;
        log_restore_expiries(&mut books, &restored.expired, &log_writer, now_ms);
        let endpoints: Vec<(String, String)> = books
            .iter()
            .flat_map(|book| {
                let company = book.company().to_string();
                book.webhooks()
                    .map(move |(id, _)| (company.clone(), id.to_string()))
            })
            .collect();
        if restored.report.replayed > 0 {
            // Replayed records are in memory only until a snapshot holds them: take one soon.
            log_writer.mark_changed();
        }
        let engine = Engine::start(engine_config, Some(log_writer.clone()));
        for book in books {
            let company = book.company().clone();
            engine
                .registry()
                .get_or_start_with(&company, move || book)
                .map_err(|e| io_error(std::io::Error::other(e.to_string())))?;
        }
        let report = restored.report;
        let snapshots = Snapshots::new(
            engine.registry_handle(),
            engine.clock().clone(),
            log_writer,
            &durability_config,
            report.snapshot.as_ref(),
            lock,
        )
        .map_err(io_error)?;
        let snapshotter =
            Snapshotter::new(snapshots.clone(), durability_config.snapshot_interval).start();
        let recovery = Recovery {
            registry: engine.registry_handle(),
            clock: engine.clock().clone(),
            snapshots: snapshots.clone(),
        };
        let recovery = actix_rt::spawn(recovery.run());
        let deliveries = Deliveries::new(engine.clone(), http.webhooks)
            .map_err(|e| io_error(std::io::Error::other(e.to_string())))?;
        // Deliveries resume from the first event each endpoint has not acknowledged.
        for (company, id) in &endpoints {
            deliveries.watch(company, id);
        }
        tracing::info!(
            data_dir = %durability_config.data_dir.display(),
            mode = ?durability_config.mode,
            snapshot = ?report.snapshot.as_ref().map(|s| s.file.display().to_string()),
            companies = report.companies,
            reservations = report.reservations,
            replayed = report.replayed,
            replay_refused = report.replay_refused,
            expired_on_restore = report.expired_on_restore,
            quarantined = report.quarantined.len(),
            "restored from disk"
        );
        Ok(Server {
            engine,
            snapshots,
            _snapshotter: snapshotter,
            recovery,
            deliveries,
            report,
            http,
        })
    }

    /// The engine (cheap to clone).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The webhook deliveries (cheap to clone).
    pub fn deliveries(&self) -> &Deliveries {
        &self.deliveries
    }

    /// The snapshot writer (cheap to clone).
    pub fn snapshots(&self) -> &Snapshots {
        &self.snapshots
    }

    /// What restore found and did.
    pub fn restore_report(&self) -> &RestoreReport {
        &self.report
    }

    /// Serves on `listener` until `shutdown` resolves, drains, then shuts down (final snapshot,
    /// log closed). The final snapshot is written even when serving failed.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServeError> {
        let services = http::Services {
            engine: self.engine.clone(),
            snapshots: self.snapshots.clone(),
            deliveries: self.deliveries.clone(),
        };
        let served = http::run(listener, services, self.http.clone(), shutdown).await;
        let closed = self.shut_down().await;
        served?;
        closed?;
        Ok(())
    }

    /// The graceful end without serving (or after it): a final snapshot, then the log writes
    /// what is queued and stops.
    pub async fn shut_down(self) -> Result<SnapshotInfo, SnapshotFailed> {
        self.recovery.abort();
        self.deliveries.shutdown();
        self.snapshots.shutdown().await
    }
}

/// Logs the holds expired during restore, so that a second crash replays the same state.
fn log_restore_expiries(
    books: &mut [Book],
    expired: &[ExpiredOnRestore],
    log_writer: &LogWriter,
    now_ms: i64,
) {
    let expired: HashMap<&str, &[Uuid]> = expired
        .iter()
        .map(|e| (e.company.as_str(), e.tokens.as_slice()))
        .collect();
    for book in books {
        let Some(tokens) = expired.get(book.company().as_ref()) else {
            continue;
        };
        for record in durability::expiry_records(book.company(), tokens, now_ms) {
            // `None`: the log already failed; the recovery rebuilds this book from the disk.
            if let Some(lsn) = log_writer.append(|| record) {
                book.set_log_position(lsn);
            }
        }
    }
}

/// Starts a server in its own actix system and serves until `shutdown` resolves: what the
/// binary runs. Blocks the calling thread.
pub fn run(
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RunError> {
    // The engine's arbiters must start inside the actix system that runs the server.
    actix_rt::System::new().block_on(async move {
        let server = Server::start(config)?;
        server.serve(listener, shutdown).await?;
        Ok(())
    })
}

/// Why [`run`] or [`ServerThread`] ended with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot start from the data directory: {0}")]
    Startup(#[from] StartupError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error("the server thread panicked")]
    Panicked,
    #[error("the server thread ended before it served")]
    EndedBeforeServing,
}

/// A server running on a thread of its own, in its own actix system (tests, the load tool's
/// in-process server). Dropped, it stops through the same path as SIGTERM and is joined.
pub struct ServerThread {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), RunError>>>,
}

impl ServerThread {
    /// Starts a server on `listener`; returns once it is restored and serving, or with the
    /// reason it could not start.
    pub fn spawn(config: ServerConfig, listener: TcpListener) -> Result<ServerThread, RunError> {
        let address = listener.local_addr().map_err(ServeError::from)?;
        let (started, restored) = std::sync::mpsc::channel::<()>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let server = Server::start(config)?;
                let _ = started.send(());
                let shutdown = async {
                    let _ = stopped.await;
                };
                server.serve(listener, shutdown).await?;
                Ok(())
            })
        });
        if restored.recv().is_err() {
            // The thread ended before it was restored: its answer says why.
            return Err(match thread.join() {
                Ok(Err(error)) => error,
                Ok(Ok(())) => RunError::EndedBeforeServing,
                Err(_) => RunError::Panicked,
            });
        }
        Ok(ServerThread {
            address,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops the server (drain, final snapshot, log closed) and waits for its thread.
    pub fn stop(&mut self) -> Result<(), RunError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().unwrap_or(Err(RunError::Panicked)),
            None => Ok(()),
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
