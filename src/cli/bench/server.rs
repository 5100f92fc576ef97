//! The server `holdfast bench` starts when it is given no `--url`: the real one (restored from,
//! and logging to, a temporary data directory; `holdfast::http::run` on `127.0.0.1:0`), in its
//! own actix system on its own thread, as `holdfast serve` runs it. Stopping it takes the same
//! path as SIGTERM (drain, final snapshot), then the directory is removed.

use crate::actors::engine::EngineConfig;
use crate::actors::snapshotter::start_durable;
use crate::config::Durability;
use crate::durability::wal::DurabilityMode;
use crate::durability::DurabilityConfig;
use crate::http::HttpOptions;
use crate::limits;
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

/// A running in-process server.
pub struct LocalServer {
    pub address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<Result<(), String>>>,
    /// Removed when the server is dropped, after its thread has ended.
    directory: Option<tempfile::TempDir>,
}

impl LocalServer {
    /// Starts a server with `durability` and `snapshot_interval` on a fresh temporary
    /// directory; returns once it is restored and its listener is bound.
    pub fn start(
        durability: Durability,
        snapshot_interval: Duration,
    ) -> Result<LocalServer, String> {
        let directory = tempfile::Builder::new()
            .prefix("holdfast-bench-")
            .tempdir()
            .map_err(|e| format!("cannot make a temporary data directory: {e}"))?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let config = DurabilityConfig {
            data_dir: directory.path().to_path_buf(),
            mode: match durability {
                Durability::Wal => DurabilityMode::Wal,
                Durability::Snapshot => DurabilityMode::Snapshot,
            },
            snapshot_interval,
            keep_snapshots: limits::KEEP_SNAPSHOTS_DEFAULT,
        };
        let (started, restored) = std::sync::mpsc::channel::<Result<(), String>>();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || serve(listener, config, started, stopped));
        match restored.recv() {
            Ok(Ok(())) => Ok(LocalServer {
                address,
                stop: Some(stop),
                thread: Some(thread),
                directory: Some(directory),
            }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(match thread.join() {
                Ok(Err(error)) => error,
                _ => "the server thread ended before it served".to_owned(),
            }),
        }
    }

    /// Drains and stops the server (final snapshot included) and removes its directory.
    pub fn stop(mut self) -> Result<(), String> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err("the server thread panicked".to_owned())),
            None => Ok(()),
        };
        if let Some(directory) = self.directory.take() {
            let _ = directory.close();
        }
        result
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

/// The server thread: restore, report, serve until stopped, final snapshot.
fn serve(
    listener: TcpListener,
    config: DurabilityConfig,
    started: std::sync::mpsc::Sender<Result<(), String>>,
    stopped: tokio::sync::oneshot::Receiver<()>,
) -> Result<(), String> {
    actix_rt::System::new().block_on(async move {
        let durable = match start_durable(EngineConfig::default(), config) {
            Ok(durable) => durable,
            Err(error) => {
                let error = format!("the in-process server cannot start: {error}");
                let _ = started.send(Err(error.clone()));
                return Err(error);
            }
        };
        let _ = started.send(Ok(()));
        let shutdown = async {
            let _ = stopped.await;
        };
        let served = crate::http::run(
            listener,
            durable.engine.clone(),
            HttpOptions::default(),
            shutdown,
        )
        .await
        .map_err(|e| format!("the in-process server failed: {e}"));
        let snapshot = durable
            .snapshots
            .shutdown()
            .await
            .map(|_| ())
            .map_err(|e| format!("the in-process server's final snapshot failed: {e}"));
        served.and(snapshot)
    })
}
