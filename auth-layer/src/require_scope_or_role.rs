//! [`RequireScopeOrRole`]: a route both users (by scope) and daemons (by role) may call, like
//! Microsoft.Identity.Web's `RequiredScopeOrAppPermission`.
//!
//! ```
//! use axum::{Router, routing::get};
//! use auth_layer::{Authenticator, RequireScopeOrRole};
//! use auth_testkit::{TokenBuilder, default_keyset, ids};
//! use http::{Request, StatusCode};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Authenticator::builder()
//!     .tenant_id(ids::TENANT_ID)
//!     .client_id(ids::API_CLIENT_ID)
//!     .keys(default_keyset())
//!     .build()?;
//! let app = Router::new()
//!     .route("/docs", get(|| async { "[]" }))
//!     .route_layer(RequireScopeOrRole::new(auth, ["Documents.Read"], ["Documents.Read.All"]));
//! let call = |token: String| {
//!     Request::get("/docs")
//!         .header("authorization", format!("Bearer {token}"))
//!         .body(axum::body::Body::empty())
//!         .unwrap()
//! };
//! let user = TokenBuilder::delegated().scopes("Documents.Read").sign();
//! let daemon = TokenBuilder::app().roles(["Documents.Read.All"]).sign();
//! let wrong = TokenBuilder::app().roles(["Documents.Read"]).sign();
//! assert_eq!(app.clone().oneshot(call(user)).await?.status(), StatusCode::OK);
//! assert_eq!(app.clone().oneshot(call(daemon)).await?.status(), StatusCode::OK);
//! assert_eq!(app.oneshot(call(wrong)).await?.status(), StatusCode::FORBIDDEN);
//! # Ok(()) }
//! ```

use std::sync::Arc;

use tower_layer::Layer;

use crate::Authenticator;
use crate::authorize::{Authorize, Policy, names};

/// Accepts a delegated token with any of `scopes`, or an app-only token with any of `roles`.
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireScopeOrRole {
    auth: Authenticator,
    scopes: Arc<[String]>,
    roles: Arc<[String]>,
}

impl RequireScopeOrRole {
    /// Users need one of `scopes`; applications one of `roles`.
    pub fn new<I, S, J, R>(auth: Authenticator, scopes: I, roles: J) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
        J: IntoIterator<Item = R>,
        R: Into<String>,
    {
        Self {
            auth,
            scopes: names(scopes),
            roles: names(roles),
        }
    }
}

impl<S> Layer<S> for RequireScopeOrRole {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let policy = Policy::ScopeOrRole {
            scopes: self.scopes.clone(),
            roles: self.roles.clone(),
        };
        Authorize::new(inner, self.auth.clone(), policy)
    }
}
