//! [`AuthenticateLayer`]: validate the bearer token of every request and put the [`Principal`]
//! into its extensions.
//!
//! ```
//! use axum::{Extension, Router, routing::get};
//! use auth_layer::{AuthenticateLayer, Authenticator, Principal};
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
//!     .route("/me", get(|Extension(p): Extension<Principal>| async move {
//!         p.name().unwrap_or_default().to_owned()
//!     }))
//!     .layer(AuthenticateLayer::new(auth));
//!
//! let anonymous = Request::get("/me").body(axum::body::Body::empty())?;
//! let res = app.clone().oneshot(anonymous).await?;
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(res.headers()["www-authenticate"], "Bearer");
//!
//! let token = TokenBuilder::delegated().sign();
//! let signed_in = Request::get("/me")
//!     .header("authorization", format!("Bearer {token}"))
//!     .body(axum::body::Body::empty())?;
//! assert_eq!(app.oneshot(signed_in).await?.status(), StatusCode::OK);
//! # Ok(()) }
//! ```

use tower_layer::Layer;

use crate::Authenticator;
#[cfg(doc)]
use crate::Principal;
use crate::authorize::{Authorize, Policy};

/// Validates the bearer token of every request (401 without a valid one) and inserts the
/// [`Principal`] into the request's extensions. Any later layer or extractor reuses it: the
/// token is validated once per request.
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthenticateLayer {
    auth: Authenticator,
    optional: bool,
}

impl AuthenticateLayer {
    /// Requires a valid bearer token on every request.
    pub fn new(auth: Authenticator) -> Self {
        Self {
            auth,
            optional: false,
        }
    }

    /// Lets requests without credentials through (no [`Principal`] in their extensions), for
    /// routes that also serve anonymous callers. An invalid token is still refused with 401.
    pub fn optional(auth: Authenticator) -> Self {
        Self {
            auth,
            optional: true,
        }
    }
}

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorize::new(
            inner,
            self.auth.clone(),
            Policy::Authenticated {
                optional: self.optional,
            },
        )
    }
}
