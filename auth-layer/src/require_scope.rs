//! [`RequireScope`]: a route for delegated (user) tokens that carry a scope.
//!
//! ```
//! use axum::{Router, routing::post};
//! use auth_layer::{Authenticator, RequireScope};
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
//!     .route("/create-case", post(|| async { "Case created" }))
//!     .route_layer(RequireScope::any(auth, ["Case.Create"]));
//!
//! let call = |token: String| {
//!     Request::post("/create-case")
//!         .header("authorization", format!("Bearer {token}"))
//!         .body(axum::body::Body::empty())
//!         .unwrap()
//! };
//! let with_scope = TokenBuilder::delegated().scopes("Case.Create").sign();
//! assert_eq!(app.clone().oneshot(call(with_scope)).await?.status(), StatusCode::OK);
//!
//! let without = TokenBuilder::delegated().scopes("Case.Read").sign();
//! let res = app.clone().oneshot(call(without)).await?;
//! assert_eq!(res.status(), StatusCode::FORBIDDEN);
//! assert!(res.headers()["www-authenticate"].to_str()?.contains("scope=\"Case.Create\""));
//!
//! // An app-only token never passes a scope check.
//! let app_token = TokenBuilder::app().sign();
//! assert_eq!(app.oneshot(call(app_token)).await?.status(), StatusCode::FORBIDDEN);
//! # Ok(()) }
//! ```

use std::sync::Arc;

use tower_layer::Layer;

use crate::Authenticator;
use crate::authorize::{Authorize, Policy, names};

/// Requires a **delegated** token (a user is present) with any — or, with
/// [`RequireScope::all`], every — of the given scopes. App-only tokens are refused with 403,
/// as are tokens without the scope (`insufficient_scope`, with the scopes in the challenge).
/// Validates the token itself when no earlier layer did.
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireScope {
    auth: Authenticator,
    scopes: Arc<[String]>,
    all: bool,
}

impl RequireScope {
    /// Any one of `scopes` suffices.
    pub fn any<I, S>(auth: Authenticator, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            auth,
            scopes: names(scopes),
            all: false,
        }
    }

    /// Every one of `scopes` is needed.
    pub fn all<I, S>(auth: Authenticator, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            auth,
            scopes: names(scopes),
            all: true,
        }
    }
}

impl<S> Layer<S> for RequireScope {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let policy = Policy::Scopes {
            scopes: self.scopes.clone(),
            all: self.all,
        };
        Authorize::new(inner, self.auth.clone(), policy)
    }
}
