//! [`DelegatedUser`]: the signed-in user behind a delegated token.

use auth_layer::{Principal, Require, Scopes, Strs};

use crate::resolve::principal_of_kind;

/// A user signed in and a client application calls for them (authorization code flow or
/// On-Behalf-Of): a valid *delegated* token (`scp`).
///
/// As an extractor it takes the [`Principal`] an authentication layer put into the request's
/// extensions, or, when no layer ran, validates the bearer token with the
/// [`Authenticator`] of the router's state (`Authenticator: FromRef<S>`) and stores the
/// [`Principal`] there, so the other extractors of the request do not validate it again.
///
/// Refusals ([`AuthRejection`]): no token 401, malformed request 400, invalid token 401
/// `invalid_token`, and an app-only token 403 `insufficient_scope` ("this route needs a
/// token issued to a signed-in user").
///
/// `Option<DelegatedUser>` serves anonymous callers too: `None` without credentials; an invalid
/// token is still 401, and an app-only token still 403 (a caller that is present but of the
/// wrong kind is not anonymous).
///
/// Identify users by [`object_id`](Self::object_id) (with [`tenant_id`](Self::tenant_id) in
/// multi-tenant apps), never by [`username`](Self::username) or [`name`](Self::name), which
/// users or admins can change.
///
/// [`Authenticator`]: auth_layer::Authenticator
/// [`AuthRejection`]: crate::AuthRejection
///
/// ```
/// use auth_extract::DelegatedUser;
/// use auth_layer::Authenticator;
/// use auth_testkit::{TokenBuilder, default_keyset, ids};
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// async fn me(user: DelegatedUser) -> String {
///     format!("{} ({})", user.name().unwrap_or("?"), user.object_id().unwrap_or("?"))
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
/// let app = Router::new().route("/me", get(me)).with_state(auth);
///
/// let call = |token: String| {
///     Request::get("/me")
///         .header("authorization", format!("Bearer {token}"))
///         .body(Body::empty())
///         .unwrap()
/// };
/// let user = app.clone().oneshot(call(TokenBuilder::delegated().sign())).await?;
/// assert_eq!(user.status(), StatusCode::OK);
///
/// let app_only = app.clone().oneshot(call(TokenBuilder::app().sign())).await?;
/// assert_eq!(app_only.status(), StatusCode::FORBIDDEN);
///
/// let anonymous = app.oneshot(Request::get("/me").body(Body::empty())?).await?;
/// assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
/// assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DelegatedUser {
    pub(crate) principal: Principal,
}

impl DelegatedUser {
    /// `oid`: the user's object id, stable across the apps of a tenant. The key to identify a
    /// user by (with [`tenant_id`](Self::tenant_id)).
    pub fn object_id(&self) -> Option<&str> {
        self.principal.object_id()
    }

    /// `tid`: the tenant the user signed in to.
    pub fn tenant_id(&self) -> Option<&str> {
        self.principal.tenant_id()
    }

    /// `name`: the user's display name.
    pub fn name(&self) -> Option<&str> {
        self.principal.name()
    }

    /// The sign-in name to show: `preferred_username` (v2 tokens), else `upn` (v1 tokens).
    /// Mutable: never use it for authorization.
    pub fn username(&self) -> Option<&str> {
        self.principal.username()
    }

    /// The delegated permissions granted to the client (`scp`).
    pub fn scopes(&self) -> &Scopes {
        self.principal.scopes()
    }

    /// Whether `scope` is granted (exact match).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.principal.scopes().contains(scope)
    }

    /// `roles`: the app roles assigned to the user (or to a group of theirs).
    pub fn roles(&self) -> Strs<'_> {
        self.principal.roles()
    }

    /// Whether `roles` contains `role` (exact match).
    pub fn has_role(&self, role: &str) -> bool {
        self.principal.has_role(role)
    }

    /// The client application calling for the user: `azp` (v2) or `appid` (v1).
    pub fn client_id(&self) -> Option<&str> {
        self.principal.client_id()
    }
}

principal_of_kind!(DelegatedUser, TokenKind::Delegated, Require::user);
