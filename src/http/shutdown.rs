//! The signals that stop the server: SIGTERM (what service managers and container runtimes
//! send) and Ctrl-C (SIGINT). Whichever comes first resolves [`signal`]; `http::run` then
//! drains. actix-web's own signal handling is disabled so that this is the only path.

/// Resolves on the first SIGTERM or Ctrl-C. If a handler cannot be installed, that signal is
/// logged and ignored (the other still works).
pub async fn signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}
