//! What the resource APIs that only answer (`auth-code-api`, `s2s-example-api`) share: their
//! settings ([`ApiConfig`]) and their one route behind the permission check (`ApiRoute`).

use std::net::SocketAddr;

use auth_layer::Authenticator;
use axum::Router;
use axum::routing::MethodRouter;

use crate::access_log::AccessLog;
use crate::config::{ConfigError, ProviderProfile, ResourceConfig, Vars};
use crate::permissions::{self, Caller};
use crate::trace::Trace;

/// What a resource API uses when the environment does not say.
#[derive(Clone, Copy, Debug)]
pub struct ApiDefaults {
    /// The default of `LISTEN_ADDR`.
    pub listen: &'static str,
    /// The default of `ACCEPTED_AUDIENCES` (for Entra; none under `OIDC_ISSUER`).
    pub audiences: &'static [&'static str],
}

/// The settings of a resource API.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// `LISTEN_ADDR`.
    pub listen: SocketAddr,
    /// Token validation: `AZURE_*` / `OIDC_ISSUER`, `ACCEPTED_AUDIENCES`,
    /// `JWKS_MIN_REFRESH_SECS`.
    pub resource: ResourceConfig,
    /// Records the requests (the tour); off by default.
    pub trace: Trace,
}

impl ApiConfig {
    /// Reads the environment (see `examples/README.md`).
    pub fn from_env(defaults: ApiDefaults) -> Result<Self, ConfigError> {
        Self::from_vars(&Vars::env(), defaults)
    }

    /// Reads `vars`.
    pub fn from_vars(vars: &Vars<'_>, defaults: ApiDefaults) -> Result<Self, ConfigError> {
        Ok(ApiConfig {
            listen: vars.listen_addr(defaults.listen)?,
            resource: ResourceConfig::from_vars(vars, defaults.audiences)?,
            trace: Trace::off(),
        })
    }

    /// The API's router, with the authenticator built (and the keys fetched) from this
    /// configuration; `router_for` is the API's own.
    pub async fn router(
        &self,
        router_for: fn(Authenticator, &ResourceConfig, Trace) -> Router,
    ) -> Result<Router, ConfigError> {
        let auth = self.resource.authenticator().await?;
        Ok(router_for(auth, &self.resource, self.trace.clone()))
    }
}

/// A resource API's one route, and the permission it needs.
pub(crate) struct ApiRoute {
    /// The API's name (in the access log).
    pub(crate) name: &'static str,
    pub(crate) path: &'static str,
    pub(crate) route: MethodRouter<Authenticator>,
    /// Delegated or app-only tokens.
    pub(crate) caller: Caller,
    /// The permission, as Entra names it (`Case.Create`, `Files.Write`).
    pub(crate) permission: &'static str,
}

impl ApiRoute {
    /// For an Entra tenant: the permission in `scp` / `roles`.
    pub(crate) fn entra(self, auth: Authenticator, trace: Trace) -> Router {
        let permissions = vec![self.permission.to_owned()];
        self.gated(auth, None, permissions, trace)
    }

    /// With `resource`'s permission settings (`REQUIRED_PERMISSIONS`, `OIDC_ISSUER` +
    /// `OIDC_PROVIDER`).
    pub(crate) fn configured(
        self,
        auth: Authenticator,
        resource: &ResourceConfig,
        trace: Trace,
    ) -> Router {
        let permissions = resource.permissions(self.permission);
        self.gated(auth, resource.placement(), permissions, trace)
    }

    fn gated(
        self,
        auth: Authenticator,
        placement: Option<ProviderProfile>,
        permissions: Vec<String>,
        trace: Trace,
    ) -> Router {
        let routes = Router::new().route(self.path, self.route);
        let routes = permissions::require_in(routes, &auth, placement, self.caller, permissions)
            .with_state(auth.clone());
        AccessLog::new(self.name, auth, trace).wrap(routes)
    }
}
