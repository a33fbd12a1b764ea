//! Serving a router on a listener, in-process (tests, the tour) or from a binary.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::ConfigError;

/// A service running in this process; stops when dropped.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Running {
    pub(crate) fn new(addr: SocketAddr, stop: oneshot::Sender<()>) -> Self {
        Running {
            addr,
            stop: Some(stop),
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{addr}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `addr` (use port 0 for any free port).
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ConfigError> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| ConfigError::Bind(addr, e))
}

/// Serves `router` on `listener` in a background task until the handle is dropped.
pub fn spawn(listener: TcpListener, router: Router) -> Running {
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await;
        if let Err(err) = served {
            tracing::error!(%err, "the server stopped");
        }
    });
    Running::new(addr, stop)
}

/// The grace period for in-flight requests after SIGTERM / Ctrl-C: `SHUTDOWN_GRACE_SECS`
/// (default 30 s, Kubernetes' default `terminationGracePeriodSeconds`).
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Reads `SHUTDOWN_GRACE_SECS` (whole seconds; default [`DEFAULT_SHUTDOWN_GRACE`]).
///
/// # Errors
/// The variable is set but not a whole number of seconds.
pub fn shutdown_grace_from_env() -> Result<Duration, ConfigError> {
    Ok(crate::config::Vars::env()
        .seconds("SHUTDOWN_GRACE_SECS")?
        .unwrap_or(DEFAULT_SHUTDOWN_GRACE))
}

/// Completes on SIGTERM (what Kubernetes, systemd and `docker stop` send) or Ctrl-C (SIGINT).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM; only Ctrl-C stops gracefully");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        () = terminate => tracing::info!("SIGTERM: shutting down"),
    }
}

/// Serves `router` on `listener` until SIGTERM or Ctrl-C, then stops accepting connections and
/// lets the requests in flight finish, for at most `grace`. Returns `Ok` after a graceful stop
/// (the binary exits 0), including when the grace period ran out (logged with a warning).
///
/// # Errors
/// The server failed before a shutdown signal.
pub async fn serve_until_shutdown(
    listener: TcpListener,
    router: Router,
    grace: Duration,
) -> std::io::Result<()> {
    let (signalled, on_signal) = oneshot::channel::<()>();
    let server = axum::serve(listener, router).with_graceful_shutdown(async move {
        shutdown_signal().await;
        let _ = signalled.send(());
    });
    let server = std::future::IntoFuture::into_future(server);
    tokio::pin!(server);
    tokio::select! {
        served = &mut server => return served,
        _ = on_signal => {}
    }
    match tokio::time::timeout(grace, server).await {
        Ok(served) => {
            tracing::info!("stopped: every request in flight finished");
            served
        }
        Err(_) => {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "stopped: the grace period ran out with requests still in flight"
            );
            Ok(())
        }
    }
}

/// Serves `router` until SIGTERM or Ctrl-C with the grace period of `SHUTDOWN_GRACE_SECS`
/// (the binaries).
///
/// # Errors
/// `SHUTDOWN_GRACE_SECS` is invalid, or the server failed.
pub async fn serve_until_signal(
    listener: TcpListener,
    router: Router,
) -> Result<(), Box<dyn std::error::Error>> {
    let grace = shutdown_grace_from_env()?;
    serve_until_shutdown(listener, router, grace).await?;
    Ok(())
}
