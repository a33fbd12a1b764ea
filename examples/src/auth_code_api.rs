//! `auth-code-api`: the resource API of the authorization code pattern.
//!
//! `POST /create-case` needs a delegated token with the scope `Case.Create` and answers
//! `Case created successfully by user: {name} (OID: {oid})`.

use std::net::SocketAddr;

use auth_extract::{DelegatedUser, ScopeName as _, scope};
use auth_layer::Authenticator;
use axum::Router;
use axum::routing::post;

use crate::access_log::AccessLog;
use crate::config::{ConfigError, ResourceConfig, Vars};
use crate::permissions::{self, Caller};
use crate::trace::Trace;

/// The API's name (and the emulator's app registration).
pub const NAME: &str = "auth-code-api";

scope!(
    /// The delegated permission `POST /create-case` needs.
    pub CaseCreate = "Case.Create"
);

/// The settings of `auth-code-api`.
#[derive(Clone, Debug)]
pub struct Config {
    /// `LISTEN_ADDR` (default `127.0.0.1:8081`).
    pub listen: SocketAddr,
    /// Token validation: `AZURE_*` / `OIDC_ISSUER`, `ACCEPTED_AUDIENCES` (default
    /// `api://backend-api-id`), `JWKS_MIN_REFRESH_SECS`.
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
            listen: vars.listen_addr("127.0.0.1:8081")?,
            resource: ResourceConfig::from_vars(vars, &["api://backend-api-id"])?,
            trace: Trace::off(),
        })
    }
}

/// The router, with the authenticator built (and the keys fetched) from `config`.
pub async fn router(config: &Config) -> Result<Router, ConfigError> {
    let auth = config.resource.authenticator().await?;
    Ok(router_for(auth, &config.resource, config.trace.clone()))
}

/// The router around an existing authenticator, for an Entra tenant (scope `Case.Create`).
pub fn router_with(auth: Authenticator, trace: Trace) -> Router {
    gated(auth, None, vec![CaseCreate::NAME.to_owned()], trace)
}

/// The router around an existing authenticator, with `resource`'s permission settings
/// (`REQUIRED_PERMISSIONS`, `OIDC_ISSUER` + `OIDC_PROVIDER`).
pub fn router_for(auth: Authenticator, resource: &ResourceConfig, trace: Trace) -> Router {
    let permissions = resource.permissions(CaseCreate::NAME);
    gated(auth, resource.placement(), permissions, trace)
}

fn gated(
    auth: Authenticator,
    placement: Option<crate::config::ProviderProfile>,
    permissions: Vec<String>,
    trace: Trace,
) -> Router {
    let routes = Router::new().route("/create-case", post(create_case));
    let routes = permissions::require_in(routes, &auth, placement, Caller::User, permissions)
        .with_state(auth.clone());
    AccessLog::new(NAME, auth, trace).wrap(routes)
}

/// `POST /create-case`: the route layer checked the permission; the extractor hands over the
/// user.
async fn create_case(user: DelegatedUser) -> String {
    format!(
        "Case created successfully by user: {} (OID: {})",
        user.name().or(user.username()).unwrap_or("unknown"),
        user.object_id().unwrap_or("unknown")
    )
}
