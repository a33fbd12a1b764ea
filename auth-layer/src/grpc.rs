//! gRPC (tonic) support: a synchronous [`AuthInterceptor`], [`principal`] to read the caller
//! in a handler, and [`to_status`] to turn an [`AuthError`] into a tonic [`Status`].
//! Feature `tonic`.
//!
//! There are two ways to protect a tonic server:
//!
//! - **The Tower layers** ([`AuthenticateLayer`](crate::AuthenticateLayer),
//!   [`RequireScope`](crate::RequireScope), [`RequireRole`](crate::RequireRole),
//!   [`RequireScopeOrRole`](crate::RequireScopeOrRole)) on `Server::builder().layer(…)` (every
//!   service) or around one service (`.add_service(RequireScope::any(auth, ["x"]).layer(svc))`:
//!   the layered service keeps `svc`'s gRPC name). For gRPC requests (`content-type: application/grpc*`)
//!   refusals are trailers-only gRPC responses: `Unauthenticated` (16) for a missing, malformed
//!   or invalid token, `PermissionDenied` (7) for a missing scope or role, each with a
//!   `www-authenticate` entry. An unknown `kid` waits for one (shared, rate-limited) key
//!   refresh, as over HTTP.
//! - **[`AuthInterceptor`]**, a tonic [`Interceptor`] for one service. Interceptors are
//!   synchronous, so it validates with the keys already loaded
//!   ([`Authenticator::try_authenticate`]): a token naming an unknown `kid` starts a
//!   background key refresh and is refused with `Unauthenticated` at once; the client's retry
//!   a moment later succeeds. Build the [`Authenticator`] with
//!   [`build_and_fetch`](crate::AuthenticatorBuilder::build_and_fetch) (or give it static
//!   keys), so the keys are loaded before the first request: with a lazy
//!   [`build`](crate::AuthenticatorBuilder::build), requests are refused until the first fetch
//!   has finished.
//!
//! Both put the caller's [`Principal`] into the request's extensions, where handlers read it
//! with [`principal`]. When a layer already validated the token, the interceptor uses its
//! principal (the token is validated once per request).
//!
//! gRPC has no `invalid_request`: a malformed `authorization` entry (two of them, an empty or
//! malformed bearer value) is refused with `Unauthenticated`, like a missing one. The scheme
//! name is matched in any letter case (`Bearer`, `bearer`, …).
//!
//! ```
//! use auth_layer::Authenticator;
//! use auth_layer::grpc::{AuthInterceptor, principal};
//! use auth_testkit::{TokenBuilder, default_keyset, ids};
//! use tonic::service::Interceptor;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // In production: `.build_and_fetch().await?`, keys from Entra's discovery document.
//! let auth = Authenticator::builder()
//!     .tenant_id(ids::TENANT_ID)
//!     .client_id(ids::API_CLIENT_ID)
//!     .keys(default_keyset())
//!     .build()?;
//! let mut interceptor = AuthInterceptor::new(auth).require_scope("Case.Read");
//!
//! // What tonic does with each request of the intercepted service:
//! let token = TokenBuilder::delegated().scopes("Case.Read").sign();
//! let mut request = tonic::Request::new(());
//! request.metadata_mut().insert("authorization", format!("Bearer {token}").parse()?);
//! let request = interceptor.call(request)?;
//! assert_eq!(principal(&request).and_then(|p| p.name()), Some(ids::USER_NAME));
//!
//! // No token: Unauthenticated, with a challenge.
//! let refused = interceptor.call(tonic::Request::new(())).unwrap_err();
//! assert_eq!(refused.code(), tonic::Code::Unauthenticated);
//! assert_eq!(refused.metadata().get("www-authenticate").unwrap(), "Bearer");
//!
//! // A token without the scope: PermissionDenied.
//! let token = TokenBuilder::delegated().scopes("Case.Write").sign();
//! let mut request = tonic::Request::new(());
//! request.metadata_mut().insert("authorization", format!("Bearer {token}").parse()?);
//! let refused = interceptor.call(request).unwrap_err();
//! assert_eq!(refused.code(), tonic::Code::PermissionDenied);
//! # Ok(()) }
//! ```
//!
//! On a server, with the layers for every service and the interceptor for one (`Greeter`
//! stands for any tonic service, e.g. a `tonic-build` generated `GreeterServer`):
//!
//! ```no_run
//! use std::convert::Infallible;
//!
//! use auth_layer::grpc::AuthInterceptor;
//! use auth_layer::{AuthenticateLayer, Authenticator};
//! use tonic::body::Body;
//! use tonic::server::NamedService;
//! use tonic::service::interceptor::InterceptedService;
//! use tonic::transport::Server;
//!
//! async fn serve<Greeter>(greeter: Greeter) -> Result<(), Box<dyn std::error::Error>>
//! where
//!     Greeter: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
//!         + NamedService + Clone + Send + Sync + 'static,
//!     Greeter::Future: Send + 'static,
//! {
//!     let auth = Authenticator::from_env()?.build_and_fetch().await?;
//!     Server::builder()
//!         // Every service: a valid token (Unauthenticated otherwise).
//!         .layer(AuthenticateLayer::new(auth.clone()))
//!         // This service: also the `Greet` scope (PermissionDenied otherwise). A generated
//!         // server offers the same as `GreeterServer::with_interceptor(svc, interceptor)`.
//!         .add_service(InterceptedService::new(
//!             greeter,
//!             AuthInterceptor::new(auth).require_scope("Greet"),
//!         ))
//!         .serve("[::1]:50051".parse()?)
//!         .await?;
//!     Ok(())
//! }
//! ```
//!
//! In a handler:
//!
//! ```
//! use auth_layer::grpc::principal;
//! use tonic::{Request, Response, Status};
//!
//! # struct HelloRequest; struct HelloReply { message: String }
//! fn say_hello(request: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
//!     let caller = principal(&request).ok_or_else(|| Status::unauthenticated("no caller"))?;
//!     let message = format!("Hello, {}!", caller.name().unwrap_or("stranger"));
//!     Ok(Response::new(HelloReply { message }))
//! }
//! ```

use std::sync::Arc;

use http::Uri;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::server::NamedService;
use tonic::service::Interceptor;
use tonic::{Code, Request, Status};

use crate::authorize::Authorize;
use crate::bearer::bearer_token;
use crate::challenge::{AuthError, Challenge};
use crate::{Authenticator, Principal, Require};

/// The caller of a request, as a layer or an [`AuthInterceptor`] put it into the request's
/// extensions; `None` on an unprotected service (or behind
/// [`AuthenticateLayer::optional`](crate::AuthenticateLayer::optional) without credentials).
pub fn principal<T>(request: &Request<T>) -> Option<&Principal> {
    request.extensions().get::<Principal>()
}

/// The tonic [`Status`] for a refusal: `PermissionDenied` for
/// [`AuthError::InsufficientScope`], `Unauthenticated` otherwise; the message is the error's
/// fixed, client-safe [`description`](AuthError::description), and the metadata carries the
/// `www-authenticate` challenge (as over HTTP, with `realm` and `resource_metadata` from
/// `challenge`).
pub fn to_status(err: &AuthError, challenge: &Challenge) -> Status {
    let code = match err.grpc_code() {
        7 => Code::PermissionDenied,
        _ => Code::Unauthenticated,
    };
    let mut metadata = MetadataMap::with_capacity(1);
    // The challenge is visible ASCII by construction, so this always succeeds.
    if let Ok(value) = MetadataValue::try_from(err.www_authenticate(challenge).as_bytes()) {
        metadata.insert("www-authenticate", value);
    }
    Status::with_metadata(code, err.description(), metadata)
}

/// A tonic [`Interceptor`] that authenticates every request of a service, optionally requires
/// scopes or roles, and puts the [`Principal`] into the request's extensions.
///
/// Synchronous: validates with the keys already loaded. A token naming an unknown `kid`
/// starts a background key refresh (rate-limited) and is refused with `Unauthenticated`; a
/// retry after the refresh succeeds. See the [module documentation](self).
///
/// | outcome                                                        | status             |
/// |----------------------------------------------------------------|--------------------|
/// | no `authorization` entry, or another scheme                    | `Unauthenticated`  |
/// | malformed entry (two, empty or malformed bearer value)         | `Unauthenticated`  |
/// | invalid token (signature, expiry, audience, unknown `kid`, …)  | `Unauthenticated`  |
/// | valid token lacking a required scope or role                   | `PermissionDenied` |
///
/// Every refusal carries a `www-authenticate` metadata entry (see [`to_status`]).
///
/// Requirements add up: each `require_*` call adds one that must hold. The policy semantics
/// are the layers': scopes are only granted by **delegated** (user) tokens, roles only by
/// **app-only** tokens. For "a user with a scope *or* an application with a role" use
/// [`require_scope_or_role`](Self::require_scope_or_role) — chaining
/// [`require_scope`](Self::require_scope) and [`require_role`](Self::require_role) requires
/// both, which no token satisfies.
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthInterceptor {
    auth: Authenticator,
    requirements: Arc<[Require]>,
}

impl AuthInterceptor {
    /// Requires a valid bearer token (delegated or app-only).
    pub fn new(auth: Authenticator) -> Self {
        Self {
            auth,
            requirements: Arc::new([]),
        }
    }

    /// Also requires a delegated token with this scope (`scp`).
    pub fn require_scope(self, scope: impl Into<String>) -> Self {
        self.require_any_scope([scope])
    }

    /// Also requires a delegated token with any one of these scopes.
    pub fn require_any_scope<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.require(Require::scopes_any(scopes))
    }

    /// Also requires an app-only token with this application role (`roles`).
    pub fn require_role(self, role: impl Into<String>) -> Self {
        self.require_any_role([role])
    }

    /// Also requires an app-only token with any one of these roles.
    pub fn require_any_role<I, S>(self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.require(Require::roles_any(roles))
    }

    /// Also requires a delegated token with one of `scopes` or an app-only token with one of
    /// `roles` (like [`RequireScopeOrRole`](crate::RequireScopeOrRole)).
    pub fn require_scope_or_role<I, S, J, R>(self, scopes: I, roles: J) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
        J: IntoIterator<Item = R>,
        R: Into<String>,
    {
        self.require(Require::scope_or_role(scopes, roles))
    }

    /// Also requires `requirement` (any [`Require`], e.g.
    /// [`Require::permissions_any`]).
    pub fn require(mut self, requirement: Require) -> Self {
        let mut requirements = self.requirements.to_vec();
        requirements.push(requirement);
        self.requirements = requirements.into();
        self
    }

    /// The authenticator.
    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    /// Authenticates and authorizes `request` (what [`Interceptor::call`] does).
    ///
    /// # Errors
    /// The refusal as a [`Status`] (see the [type documentation](Self)).
    pub fn check<T>(&self, request: Request<T>) -> Result<Request<T>, Status> {
        let refuse = |err: AuthError| {
            tracing::debug!(code = err.grpc_code(), reason = %err, "gRPC request refused");
            to_status(&err, self.auth.challenge())
        };
        // Validated already by a layer of the same authenticator in front of this service.
        if let Some(principal) = principal(&request).filter(|p| p.is_from(&self.auth)) {
            self.authorize(principal).map_err(refuse)?;
            return Ok(request);
        }
        // Take the metadata apart to read it as HTTP headers (moves, no copies).
        let (metadata, mut extensions, message) = request.into_parts();
        let headers = metadata.into_headers();
        let principal = bearer_token(&headers, &Uri::default())
            .and_then(|token| {
                self.auth
                    .try_authenticate(token)
                    .map_err(|e| AuthError::InvalidToken(e.into_validation_error()))
            })
            .map_err(refuse)?;
        self.authorize(&principal).map_err(refuse)?;
        extensions.insert(principal);
        Ok(Request::from_parts(
            MetadataMap::from_headers(headers),
            extensions,
            message,
        ))
    }

    fn authorize(&self, principal: &Principal) -> Result<(), AuthError> {
        self.requirements
            .iter()
            .try_for_each(|requirement| requirement.check(principal))
    }
}

impl Interceptor for AuthInterceptor {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        self.check(request)
    }
}

/// A layer around one service keeps the service's gRPC name, so
/// `Server::builder().add_service(RequireScope::any(auth, ["x"]).layer(svc))` routes to it.
impl<S: NamedService> NamedService for Authorize<S> {
    const NAME: &'static str = S::NAME;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::challenge::Insufficient;

    #[test]
    fn refusals_map_to_grpc_codes_with_a_challenge() {
        let challenge = Challenge {
            realm: Some("api".into()),
            ..Challenge::default()
        };
        let status = to_status(&AuthError::MissingCredentials, &challenge);
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(
            status.metadata().get("www-authenticate").unwrap(),
            "Bearer realm=\"api\""
        );

        let malformed = to_status(
            &AuthError::InvalidRequest("the bearer token is empty"),
            &challenge,
        );
        assert_eq!(malformed.code(), Code::Unauthenticated);
        assert_eq!(malformed.message(), "the bearer token is empty");

        let denied = AuthError::InsufficientScope(Insufficient {
            required: vec!["Case.Read".into()],
            reason: "the token lacks a required scope",
        });
        let status = to_status(&denied, &Challenge::default());
        assert_eq!(status.code(), Code::PermissionDenied);
        let www = status
            .metadata()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(www.contains("error=\"insufficient_scope\""), "{www}");
        assert!(www.ends_with("scope=\"Case.Read\""), "{www}");
    }
}
