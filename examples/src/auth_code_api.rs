//! `auth-code-api`: the resource API of the authorization code pattern.
//!
//! `POST /create-case` needs a delegated token with the scope `Case.Create` and answers
//! `Case created successfully by user: {name} (OID: {oid})`.

use auth_extract::{DelegatedUser, ScopeName as _, scope};
use auth_layer::Authenticator;
use axum::Router;
use axum::routing::post;

use crate::config::{ConfigError, ResourceConfig};
use crate::permissions::Caller;
use crate::resource_api::{ApiConfig, ApiDefaults, ApiRoute};
use crate::trace::Trace;

/// The API's name (and the emulator's app registration).
pub const NAME: &str = "auth-code-api";

scope!(
    /// The delegated permission `POST /create-case` needs.
    pub CaseCreate = "Case.Create"
);

/// The settings of `auth-code-api`: `LISTEN_ADDR`, token validation (`AZURE_*` /
/// `OIDC_ISSUER`, `ACCEPTED_AUDIENCES`, `JWKS_MIN_REFRESH_SECS`), with [`DEFAULTS`].
pub type Config = ApiConfig;

/// `LISTEN_ADDR` `127.0.0.1:8081`, `ACCEPTED_AUDIENCES` `api://backend-api-id`.
pub const DEFAULTS: ApiDefaults = ApiDefaults {
    listen: "127.0.0.1:8081",
    audiences: &["api://backend-api-id"],
};

/// The router, with the authenticator built (and the keys fetched) from `config`.
pub async fn router(config: &Config) -> Result<Router, ConfigError> {
    config.router(router_for).await
}

/// The router around an existing authenticator, for an Entra tenant (scope `Case.Create`).
pub fn router_with(auth: Authenticator, trace: Trace) -> Router {
    route().entra(auth, trace)
}

/// The router around an existing authenticator, with `resource`'s permission settings
/// (`REQUIRED_PERMISSIONS`, `OIDC_ISSUER` + `OIDC_PROVIDER`).
pub fn router_for(auth: Authenticator, resource: &ResourceConfig, trace: Trace) -> Router {
    route().configured(auth, resource, trace)
}

/// `POST /create-case`, for a user holding `Case.Create`.
fn route() -> ApiRoute {
    ApiRoute {
        name: NAME,
        path: "/create-case",
        route: post(create_case),
        caller: Caller::User,
        permission: CaseCreate::NAME,
    }
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
