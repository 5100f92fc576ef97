//! The server `holdfast-bench` starts when it is given no `--url`: the real one, started through
//! `holdfast::server` on `127.0.0.1:0` as `holdfast serve` starts it (restored from, and logging
//! to, a temporary data directory), on its own thread. Stopping it takes the same path as
//! SIGTERM (drain, final snapshot), then the directory is removed.

use holdfast::actors::engine::EngineConfig;
use holdfast::config::Durability;
use holdfast::durability::DurabilityConfig;
use holdfast::http::HttpOptions;
use holdfast::server::{ServerConfig, ServerThread};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

/// A running in-process server.
pub struct LocalServer {
    pub address: SocketAddr,
    server: ServerThread,
    /// Removed when the server is dropped, after it has stopped.
    directory: tempfile::TempDir,
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
        let config = ServerConfig {
            engine: EngineConfig::default(),
            durability: DurabilityConfig {
                data_dir: directory.path().to_path_buf(),
                mode: durability.into(),
                snapshot_interval,
                keep_snapshots: holdfast::limits::KEEP_SNAPSHOTS_DEFAULT,
                disk: holdfast::durability::disk::Disk::real(),
            },
            // The `--webhook` receiver is on loopback, in the tool's own process.
            http: HttpOptions {
                webhooks: holdfast::webhooks::DeliveryOptions {
                    allow_private: true,
                },
                ..HttpOptions::default()
            },
        };
        let server = ServerThread::spawn(config, listener)
            .map_err(|e| format!("the in-process server cannot start: {e}"))?;
        Ok(LocalServer {
            address: server.address(),
            server,
            directory,
        })
    }

    /// Drains and stops the server (final snapshot included) and removes its directory.
    pub fn stop(mut self) -> Result<(), String> {
        let stopped = self
            .server
            .stop()
            .map_err(|e| format!("the in-process server failed: {e}"));
        let _ = self.directory.close();
        stopped
    }
}
