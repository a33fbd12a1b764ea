//! `s2s-example-api`: the resource API of the service-to-service pattern.
//!
//! `POST /upload` needs an **app-only** token with the application role `Files.Write` and
//! answers `File uploaded successfully by Service: {client id}`. A user's (delegated) token is
//! refused with 403, even one that carries the role.

use std::net::SocketAddr;

use auth_extract::{Role, RoleName as _, role};
use auth_layer::{Authenticator, RequireRole};
use axum::Router;
use axum::body::Bytes;
use axum::routing::post;

use crate::access_log::AccessLog;
use crate::config::{ConfigError, ResourceConfig, Vars};
use crate::trace::Trace;

/// The API's name (and the emulator's app registration).
pub const NAME: &str = "s2s-example-api";

role!(
    /// The application permission `POST /upload` needs.
    pub FilesWrite = "Files.Write"
);

/// The settings of `s2s-example-api`.
#[derive(Clone, Debug)]
pub struct Config {
    /// `LISTEN_ADDR` (default `127.0.0.1:4000`).
    pub listen: SocketAddr,
    /// Token validation: `AZURE_*` / `OIDC_ISSUER`, `ACCEPTED_AUDIENCES` (default
    /// `api://s2s-example-api`), `JWKS_MIN_REFRESH_SECS`.
    pub resource: ResourceConfig,
    /// Records the requests (the tour); off by default.
    pub trace: Trace,
}

impl Config {
    /// Reads the environment (see `examples/README.md`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&Vars::env())
    }

    /// Reads `vars`.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Config {
            listen: vars.listen_addr("127.0.0.1:4000")?,
            resource: ResourceConfig::from_vars(vars, &["api://s2s-example-api"])?,
            trace: Trace::off(),
        })
    }
}

/// The router, with the authenticator built (and the keys fetched) from `config`.
pub async fn router(config: &Config) -> Result<Router, ConfigError> {
    let auth = config.resource.authenticator().await?;
    Ok(router_with(auth, config.trace.clone()))
}

/// The router around an existing authenticator.
pub fn router_with(auth: Authenticator, trace: Trace) -> Router {
    let routes = Router::new()
        .route("/upload", post(upload))
        .route_layer(RequireRole::any(auth.clone(), [FilesWrite::NAME]))
        .with_state(auth.clone());
    AccessLog::new(NAME, auth, trace).wrap(routes)
}

/// `POST /upload`: the body is the file (axum caps it at 2 MB).
async fn upload(app: Role<FilesWrite>, file: Bytes) -> String {
    tracing::info!(service = NAME, bytes = file.len(), "file received");
    format!(
        "File uploaded successfully by Service: {}",
        app.client_id().unwrap_or("unknown")
    )
}
