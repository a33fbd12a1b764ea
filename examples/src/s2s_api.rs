//! `s2s-example-api`: the resource API of the service-to-service pattern.
//!
//! `POST /upload` needs an **app-only** token with the application role `Files.Write` and
//! answers `File uploaded successfully by Service: {client id}`. A user's (delegated) token is
//! refused with 403, even one that carries the role. Under `OIDC_ISSUER` the permission
//! (`REQUIRED_PERMISSIONS`) is read where `OIDC_PROVIDER` puts it (see [`crate::permissions`]).

use auth_extract::{Authenticated, RoleName as _, role};
use auth_layer::Authenticator;
use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::routing::post;

use crate::config::{ConfigError, ResourceConfig};
use crate::permissions::{Caller, CallingClient};
use crate::resource_api::{ApiConfig, ApiDefaults, ApiRoute};
use crate::trace::Trace;

/// The API's name (and the emulator's app registration).
pub const NAME: &str = "s2s-example-api";

role!(
    /// The application permission `POST /upload` needs.
    pub FilesWrite = "Files.Write"
);

/// The settings of `s2s-example-api`: `LISTEN_ADDR`, token validation (`AZURE_*` /
/// `OIDC_ISSUER`, `ACCEPTED_AUDIENCES`, `JWKS_MIN_REFRESH_SECS`), with [`DEFAULTS`].
pub type Config = ApiConfig;

/// `LISTEN_ADDR` `127.0.0.1:4000`, `ACCEPTED_AUDIENCES` `api://s2s-example-api`.
pub const DEFAULTS: ApiDefaults = ApiDefaults {
    listen: "127.0.0.1:4000",
    audiences: &["api://s2s-example-api"],
};

/// The router, with the authenticator built (and the keys fetched) from `config`.
pub async fn router(config: &Config) -> Result<Router, ConfigError> {
    config.router(router_for).await
}

/// The router around an existing authenticator, for an Entra tenant (role `Files.Write`).
pub fn router_with(auth: Authenticator, trace: Trace) -> Router {
    route().entra(auth, trace)
}

/// The router around an existing authenticator, with `resource`'s permission settings
/// (`REQUIRED_PERMISSIONS`, `OIDC_ISSUER` + `OIDC_PROVIDER`).
pub fn router_for(auth: Authenticator, resource: &ResourceConfig, trace: Trace) -> Router {
    route().configured(auth, resource, trace)
}

/// `POST /upload`, for an application holding `Files.Write`.
fn route() -> ApiRoute {
    ApiRoute {
        name: NAME,
        path: "/upload",
        route: post(upload),
        caller: Caller::App,
        permission: FilesWrite::NAME,
    }
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
