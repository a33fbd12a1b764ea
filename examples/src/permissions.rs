//! The resource APIs' permission check: Entra's `roles` (app tokens) and `scp` (user tokens),
//! or — under `OIDC_ISSUER` — where the provider named by `OIDC_PROVIDER` puts them.
//!
//! TEMPORARY (one call site, [`require`]): the `OIDC_ISSUER` branch reads the provider's claims
//! itself until auth-layer's provider profiles (the classification issue: a profile on the
//! authenticator builder and a provider-neutral `permissions_any` policy) are merged; then it
//! becomes that policy. Where each provider puts what: `docs/oidc-providers.md`.

use std::sync::Arc;

use auth_layer::{AuthError, Authenticator, Insufficient, Principal, RequireRole, RequireScope};
use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use serde_json::Value;

use crate::config::{ProviderProfile, ResourceConfig};

/// The calling client as the provider names it (`client_id`, `cid`, `azp`): put into the
/// request's extensions by the `OIDC_ISSUER` check, for handlers that report it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallingClient(pub String);

/// Who a route serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Applications acting as themselves (client credentials): application permissions.
    App,
    /// Signed-in users through a client (delegated permissions).
    User,
}

/// Adds the permission check configured by `resource` to `routes`: a `caller` token with any
/// of [`ResourceConfig::permissions`]`(seed)`, read where [`ResourceConfig::placement`] says.
pub fn require<S>(
    routes: Router<S>,
    auth: &Authenticator,
    resource: &ResourceConfig,
    caller: Caller,
    seed: &str,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    require_in(
        routes,
        auth,
        resource.placement(),
        caller,
        resource.permissions(seed),
    )
}

/// Adds the permission check to `routes`: a `caller` token with any of `permissions`, read
/// from Entra's `roles`/`scp` (`placement` `None`) or where the provider profile puts them.
pub fn require_in<S>(
    routes: Router<S>,
    auth: &Authenticator,
    placement: Option<ProviderProfile>,
    caller: Caller,
    permissions: Vec<String>,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    match (placement, caller) {
        (None, Caller::App) => routes.route_layer(RequireRole::any(auth.clone(), permissions)),
        (None, Caller::User) => routes.route_layer(RequireScope::any(auth.clone(), permissions)),
        (Some(profile), caller) => {
            let gate = Gate {
                auth: auth.clone(),
                permissions: permissions.into(),
                caller,
                profile,
            };
            routes.route_layer(from_fn_with_state(gate, check))
        }
    }
}

#[derive(Clone)]
struct Gate {
    auth: Authenticator,
    permissions: Arc<[String]>,
    caller: Caller,
    profile: ProviderProfile,
}

async fn check(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let refuse = |err: AuthError| err.to_response(gate.auth.challenge(), false);
    let principal = match request.extensions().get::<Principal>() {
        Some(principal) => principal.clone(),
        None => {
            let token = match auth_layer::bearer_token(request.headers(), request.uri()) {
                Ok(token) => token.to_owned(),
                Err(err) => return refuse(err),
            };
            match gate.auth.authenticate(&token).await {
                Ok(principal) => principal,
                Err(err) => return refuse(AuthError::from(err)),
            }
        }
    };
    let is_app = is_app(gate.profile, &principal);
    if is_app != (gate.caller == Caller::App) {
        return refuse(AuthError::InsufficientScope(Insufficient {
            required: gate.permissions.to_vec(),
            reason: match gate.caller {
                Caller::App => "this route needs an application's own token, not a user's",
                Caller::User => "this route needs a user's token, not an application's own",
            },
        }));
    }
    let held = permissions(gate.profile, &principal);
    if !gate.permissions.iter().any(|p| held.contains(p)) {
        return refuse(AuthError::InsufficientScope(Insufficient {
            required: gate.permissions.to_vec(),
            reason: "the token lacks a required permission",
        }));
    }
    if let Some(client) = calling_client(gate.profile, &principal) {
        request.extensions_mut().insert(CallingClient(client));
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// The calling client, as the authenticator's provider profile read it (`client_id`, `cid`,
/// `azp` or `appid`: auth-layer's `Profile`, configured from `OIDC_PROVIDER`).
fn calling_client(_profile: ProviderProfile, principal: &Principal) -> Option<String> {
    principal.client_id().map(str::to_owned)
}

/// Whether the token is an application's own: the authenticator's provider profile decided it
/// on positive evidence (auth-layer refuses a token it cannot classify).
fn is_app(_profile: ProviderProfile, principal: &Principal) -> bool {
    principal.kind() == auth_layer::TokenKind::App
}

/// The permissions the token carries, by the profile's rule.
fn permissions(profile: ProviderProfile, principal: &Principal) -> Vec<String> {
    let mut held: Vec<String> = principal
        .claims()
        .scopes()
        .iter()
        .map(str::to_owned)
        .collect();
    let strings = |value: Option<Value>| -> Vec<String> {
        match value {
            Some(Value::Array(items)) => items
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    match profile {
        ProviderProfile::Auth0 => held.extend(strings(principal.claims().get("permissions"))),
        ProviderProfile::Keycloak => held.extend(strings(
            principal
                .claims()
                .get("realm_access")
                .and_then(|r| r.get("roles").cloned()),
        )),
        _ => {}
    }
    held
}
