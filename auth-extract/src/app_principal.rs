//! [`AppPrincipal`]: an application calling as itself with an app-only token.

use auth_layer::{Principal, Require, Strs};

use crate::resolve::principal_of_kind;

/// An application calls as itself, no user present (client credentials flow,
/// service-to-service): a valid *app-only* token, whose permissions are `roles`.
///
/// Found like [`DelegatedUser`](crate::DelegatedUser): from the request's extensions when an
/// authentication layer ran, otherwise by validating the bearer token with the
/// [`Authenticator`] of the router's state (once per request).
///
/// Refusals ([`AuthRejection`]): no token 401, malformed request 400, invalid token 401
/// `invalid_token`, and a delegated token 403 `insufficient_scope` ("this route needs an
/// app-only token"). `Option<AppPrincipal>`: `None` without credentials, the same refusals
/// otherwise.
///
/// Authorize calling applications by [`roles`](Self::roles) (application permissions granted
/// by an admin), or by [`client_id`](Self::client_id) against an allow-list.
///
/// [`Authenticator`]: auth_layer::Authenticator
/// [`AuthRejection`]: crate::AuthRejection
///
/// ```
/// use auth_extract::AppPrincipal;
/// use auth_layer::Authenticator;
/// use auth_testkit::{TokenBuilder, default_keyset, ids};
/// use axum::{Router, body::Body, routing::post};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// async fn sync(app: AppPrincipal) -> StatusCode {
///     if app.client_id() == Some(ids::CLIENT_APP_ID) && app.has_role("Files.Write") {
///         StatusCode::NO_CONTENT
///     } else {
///         StatusCode::FORBIDDEN
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
/// let app = Router::new().route("/sync", post(sync)).with_state(auth);
///
/// let call = |token: String| {
///     Request::post("/sync")
///         .header("authorization", format!("Bearer {token}"))
///         .body(Body::empty())
///         .unwrap()
/// };
/// let service = app.clone().oneshot(call(TokenBuilder::app().sign())).await?;
/// assert_eq!(service.status(), StatusCode::NO_CONTENT);
///
/// let user = app.oneshot(call(TokenBuilder::delegated().sign())).await?;
/// assert_eq!(user.status(), StatusCode::FORBIDDEN);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AppPrincipal {
    pub(crate) principal: Principal,
}

impl AppPrincipal {
    /// The calling application's client id: `azp` (v2), `client_id` (RFC 9068) or `appid`
    /// (v1).
    pub fn client_id(&self) -> Option<&str> {
        self.principal.client_id()
    }

    /// `oid`: the object id of the calling application's service principal in this tenant.
    pub fn object_id(&self) -> Option<&str> {
        self.principal.object_id()
    }

    /// `tid`: the tenant that issued the token.
    pub fn tenant_id(&self) -> Option<&str> {
        self.principal.tenant_id()
    }

    /// `roles`: the application permissions granted to the caller.
    pub fn roles(&self) -> Strs<'_> {
        self.principal.roles()
    }

    /// Whether `roles` contains `role` (exact match).
    pub fn has_role(&self, role: &str) -> bool {
        self.principal.has_role(role)
    }
}

principal_of_kind!(AppPrincipal, TokenKind::App, Require::application);
