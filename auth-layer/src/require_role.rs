//! [`RequireRole`]: a route for app-only tokens that carry an application permission.
//!
//! ```
//! use axum::{Router, routing::post};
//! use auth_layer::{Authenticator, RequireRole};
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
//!     .route("/upload", post(|| async { "File uploaded" }))
//!     .route_layer(RequireRole::any(auth, ["Files.Write"]));
//!
//! let call = |token: String| {
//!     Request::post("/upload")
//!         .header("authorization", format!("Bearer {token}"))
//!         .body(axum::body::Body::empty())
//!         .unwrap()
//! };
//! let daemon = TokenBuilder::app().roles(["Files.Write"]).sign();
//! assert_eq!(app.clone().oneshot(call(daemon)).await?.status(), StatusCode::OK);
//!
//! // No admin consent: the token has no roles.
//! let unconsented = TokenBuilder::app().remove("roles").sign();
//! assert_eq!(app.clone().oneshot(call(unconsented)).await?.status(), StatusCode::FORBIDDEN);
//!
//! // A user's token is refused even if a role was assigned to the user.
//! let user = TokenBuilder::delegated().roles(["Files.Write"]).sign();
//! assert_eq!(app.oneshot(call(user)).await?.status(), StatusCode::FORBIDDEN);
//! # Ok(()) }
//! ```

use std::sync::Arc;

use tower_layer::Layer;

use crate::Authenticator;
use crate::authorize::{Authorize, Policy, names};

/// Requires an **app-only** token with any — or, with [`RequireRole::all`], every — of the
/// given application roles. Delegated tokens are refused with 403 unless
/// [`RequireRole::allow_user_roles`] opts in to app roles assigned to users.
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireRole {
    auth: Authenticator,
    roles: Arc<[String]>,
    all: bool,
    allow_delegated: bool,
}

impl RequireRole {
    /// Any one of `roles` suffices.
    pub fn any<I, S>(auth: Authenticator, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            auth,
            roles: names(roles),
            all: false,
            allow_delegated: false,
        }
    }

    /// Every one of `roles` is needed.
    pub fn all<I, S>(auth: Authenticator, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            auth,
            roles: names(roles),
            all: true,
            allow_delegated: false,
        }
    }

    /// Also accepts delegated tokens whose user was assigned the role (Entra puts user-assigned
    /// app roles in `roles` too). Off by default: an app-only route should not accept users.
    pub fn allow_user_roles(mut self) -> Self {
        self.allow_delegated = true;
        self
    }
}

impl<S> Layer<S> for RequireRole {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let policy = Policy::Roles {
            roles: self.roles.clone(),
            all: self.all,
            allow_delegated: self.allow_delegated,
        };
        Authorize::new(inner, self.auth.clone(), policy)
    }
}
