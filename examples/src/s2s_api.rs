//! `s2s-example-api`: the resource API of the service-to-service pattern.
//!
//! `POST /upload` needs an **app-only** token with the application role `Files.Write` and
//! answers `File uploaded successfully by Service: {client id}`. A user's (delegated) token is
//! refused with 403, even one that carries the role. Under `OIDC_ISSUER` the permission
//! (`REQUIRED_PERMISSIONS`) is read where `OIDC_PROVIDER` puts it (see [`crate::permissions`]).

use std::net::SocketAddr;

use auth_extract::{Authenticated, RoleName as _, role};
use auth_layer::Authenticator;
use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::routing::post;

use crate::access_log::AccessLog;
use crate::config::{ConfigError, ResourceConfig, Vars};
use crate::permissions::{self, Caller, CallingClient};
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
    Ok(router_for(auth, &config.resource, config.trace.clone()))
}

/// The router around an existing authenticator, for an Entra tenant (role `Files.Write`).
pub fn router_with(auth: Authenticator, trace: Trace) -> Router {
    let routes = Router::new().route("/upload", post(upload));
    let permissions = vec![FilesWrite::NAME.to_owned()];
    let routes = permissions::require_in(routes, &auth, None, Caller::App, permissions)
        .with_state(auth.clone());
    AccessLog::new(NAME, auth, trace).wrap(routes)
}

/// The router around an existing authenticator, with `resource`'s permission settings
/// (`REQUIRED_PERMISSIONS`, `OIDC_ISSUER` + `OIDC_PROVIDER`).
pub fn router_for(auth: Authenticator, resource: &ResourceConfig, trace: Trace) -> Router {
    let routes = Router::new().route("/upload", post(upload));
    let routes = permissions::require(routes, &auth, resource, Caller::App, FilesWrite::NAME)
        .with_state(auth.clone());
    AccessLog::new(NAME, auth, trace).wrap(routes)
}

/// `POST /upload`: the body is the file (axum caps it at 2 MB). The permission check ran in
/// the route layer (an app-only token holding the permission).
/// The calling client is the provider's (`CallingClient`, under `OIDC_ISSUER`) or Entra's.
async fn upload(
    Authenticated(app): Authenticated,
    client: Option<Extension<CallingClient>>,
    file: Bytes,
) -> String {
    tracing::info!(service = NAME, bytes = file.len(), "file received");
    let client = match &client {
        Some(Extension(CallingClient(client))) => Some(client.as_str()),
        None => app.client_id(),
    };
    format!(
        "File uploaded successfully by Service: {}",
        client.unwrap_or("unknown")
    )
}
