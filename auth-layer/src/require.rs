//! [`Require`]: what a route requires of its caller, as one value shared by every layer
//! ([`RequireLayer`], [`RequireScope`], [`RequireRole`], [`RequireScopeOrRole`]), the tonic
//! interceptor and `auth-extract`'s guards, so each rule and its refusal text live here once.
//!
//! ```
//! use axum::{Router, routing::post};
//! use auth_layer::{Authenticator, Require};
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
//! // Provider-neutral: a user's scope or an application's permission (Entra `roles`, the
//! // `scope` of an RFC 9068 / Okta / Auth0 / Keycloak client-credentials token).
//! let app = Router::new()
//!     .route("/upload", post(|| async { "File uploaded" }))
//!     .route_layer(Require::permissions_any(["Files.Write"]).layer(auth));
//!
//! let call = |token: String| {
//!     Request::post("/upload")
//!         .header("authorization", format!("Bearer {token}"))
//!         .body(axum::body::Body::empty())
//!         .unwrap()
//! };
//! let daemon = TokenBuilder::app().roles(["Files.Write"]).sign();
//! assert_eq!(app.clone().oneshot(call(daemon)).await?.status(), StatusCode::OK);
//! let user = TokenBuilder::delegated().scopes("Files.Write").sign();
//! assert_eq!(app.clone().oneshot(call(user)).await?.status(), StatusCode::OK);
//! let unconsented = TokenBuilder::app().remove("roles").sign();
//! assert_eq!(app.oneshot(call(unconsented)).await?.status(), StatusCode::FORBIDDEN);
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;

use crate::authorize::{Authorize, Policy};
use crate::challenge::{AuthError, Insufficient};
use crate::{Authenticator, Principal, TokenKind};

type Predicate = Arc<dyn Fn(&Principal) -> bool + Send + Sync>;

/// A route's requirement of its caller: a public, cloneable value.
///
/// | constructor | passes |
/// |---|---|
/// | [`authenticated`](Self::authenticated) | any valid token |
/// | [`user`](Self::user) / [`application`](Self::application) | a user token / an application's own token |
/// | [`scopes_any`](Self::scopes_any) / [`scopes_all`](Self::scopes_all) | a **user** token with any / all of the scopes |
/// | [`roles_any`](Self::roles_any) / [`roles_all`](Self::roles_all) | an **application's own** token with any / all of the roles ([`allow_user_roles`](Self::allow_user_roles): users' roles too) |
/// | [`scope_or_role`](Self::scope_or_role) | a user with one of the scopes, or an application with one of the roles |
/// | [`permissions_any`](Self::permissions_any) / [`permissions_all`](Self::permissions_all) | either kind, by [`Claims::has_permission`](crate::Claims::has_permission) (provider-neutral) |
/// | [`from_fn`](Self::from_fn) | whatever the function accepts |
///
/// A refusal is `403 insufficient_scope` with a fixed reason that holds for every provider.
#[derive(Clone)]
#[must_use]
pub struct Require {
    rule: Rule,
}

#[derive(Clone)]
enum Rule {
    Authenticated,
    Kind(TokenKind),
    Scopes {
        names: Arc<[String]>,
        all: bool,
    },
    Roles {
        names: Arc<[String]>,
        all: bool,
        allow_users: bool,
    },
    ScopeOrRole {
        scopes: Arc<[String]>,
        roles: Arc<[String]>,
    },
    Permissions {
        names: Arc<[String]>,
        all: bool,
    },
    Custom(Predicate),
}

/// The refusal texts: true for every provider.
const NEEDS_USER: &str = "this route needs a token issued to a signed-in user; an application's own token is not accepted";
const NEEDS_APP: &str = "this route needs an application's own token; a token issued to a signed-in user is not accepted";
const LACKS_SCOPE: &str = "the token lacks a required scope";
const LACKS_ROLE: &str = "the token lacks a required role";
const LACKS_PERMISSION: &str = "the token lacks a required permission";
const REFUSED_BY_POLICY: &str = "the token does not satisfy this route's policy";

impl Require {
    /// Any valid token.
    pub fn authenticated() -> Self {
        Self {
            rule: Rule::Authenticated,
        }
    }

    /// A token issued to a signed-in user (delegated), whatever its scopes.
    pub fn user() -> Self {
        Self {
            rule: Rule::Kind(TokenKind::Delegated),
        }
    }

    /// An application's own token (app-only), whatever its permissions.
    pub fn application() -> Self {
        Self {
            rule: Rule::Kind(TokenKind::App),
        }
    }

    /// A user token with any one of `scopes`.
    pub fn scopes_any<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            rule: Rule::Scopes {
                names: names(scopes),
                all: false,
            },
        }
    }

    /// A user token with every one of `scopes`.
    pub fn scopes_all<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            rule: Rule::Scopes {
                names: names(scopes),
                all: true,
            },
        }
    }

    /// An application's own token with any one of `roles`.
    pub fn roles_any<I, S>(roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            rule: Rule::Roles {
                names: names(roles),
                all: false,
                allow_users: false,
            },
        }
    }

    /// An application's own token with every one of `roles`.
    pub fn roles_all<I, S>(roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            rule: Rule::Roles {
                names: names(roles),
                all: true,
                allow_users: false,
            },
        }
    }

    /// A user token with one of `scopes`, or an application's own token with one of `roles`
    /// (Microsoft.Identity.Web's `RequiredScopeOrAppPermission`).
    pub fn scope_or_role<I, S, J, R>(scopes: I, roles: J) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
        J: IntoIterator<Item = R>,
        R: Into<String>,
    {
        Self {
            rule: Rule::ScopeOrRole {
                scopes: names(scopes),
                roles: names(roles),
            },
        }
    }

    /// A token of either kind granting any one of `permissions`, whatever the provider calls
    /// them (see [`Claims::has_permission`](crate::Claims::has_permission)).
    pub fn permissions_any<I, S>(permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            rule: Rule::Permissions {
                names: names(permissions),
                all: false,
            },
        }
    }

    /// A token of either kind granting every one of `permissions`.
    pub fn permissions_all<I, S>(permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            rule: Rule::Permissions {
                names: names(permissions),
                all: true,
            },
        }
    }

    /// Whatever `accept` returns `true` for.
    pub fn from_fn(accept: impl Fn(&Principal) -> bool + Send + Sync + 'static) -> Self {
        Self {
            rule: Rule::Custom(Arc::new(accept)),
        }
    }

    /// With [`roles_any`](Self::roles_any) / [`roles_all`](Self::roles_all): also accepts user
    /// tokens whose user was assigned the role (Entra puts user-assigned app roles in `roles`
    /// too). Off by default: an application-only route should not accept users. No effect on
    /// other requirements.
    pub fn allow_user_roles(mut self) -> Self {
        if let Rule::Roles { allow_users, .. } = &mut self.rule {
            *allow_users = true;
        }
        self
    }

    /// A layer that authenticates with `auth` (unless an earlier layer of the same
    /// authenticator did) and enforces this requirement.
    pub fn layer(self, auth: Authenticator) -> RequireLayer {
        RequireLayer {
            auth,
            require: self,
        }
    }

    /// Checks `principal`.
    ///
    /// # Errors
    /// [`AuthError::InsufficientScope`] with the required names and a fixed reason.
    pub fn check(&self, principal: &Principal) -> Result<(), AuthError> {
        let kind = principal.kind();
        match &self.rule {
            Rule::Authenticated => Ok(()),
            Rule::Kind(TokenKind::Delegated) if kind != TokenKind::Delegated => {
                Err(refuse(&[], NEEDS_USER))
            }
            Rule::Kind(TokenKind::App) if kind != TokenKind::App => Err(refuse(&[], NEEDS_APP)),
            Rule::Kind(_) => Ok(()),
            Rule::Scopes { names, all } => {
                if kind != TokenKind::Delegated {
                    return Err(refuse(names, NEEDS_USER));
                }
                grants(|s| principal.scopes().contains(s), names, *all)
                    .then_some(())
                    .ok_or_else(|| refuse(names, LACKS_SCOPE))
            }
            Rule::Roles {
                names,
                all,
                allow_users,
            } => {
                if kind != TokenKind::App && !allow_users {
                    return Err(refuse(names, NEEDS_APP));
                }
                grants(|r| principal.has_role(r), names, *all)
                    .then_some(())
                    .ok_or_else(|| refuse(names, LACKS_ROLE))
            }
            Rule::ScopeOrRole { scopes, roles } => match kind {
                TokenKind::Delegated
                    if grants(|s| principal.scopes().contains(s), scopes, false) =>
                {
                    Ok(())
                }
                TokenKind::App if grants(|r| principal.has_role(r), roles, false) => Ok(()),
                TokenKind::Delegated => Err(refuse(scopes, LACKS_SCOPE)),
                TokenKind::App => Err(refuse(roles, LACKS_ROLE)),
            },
            Rule::Permissions { names, all } => {
                grants(|p| principal.has_permission(p), names, *all)
                    .then_some(())
                    .ok_or_else(|| refuse(names, LACKS_PERMISSION))
            }
            Rule::Custom(accept) => {
                if accept(principal) {
                    Ok(())
                } else {
                    Err(refuse(&[], REFUSED_BY_POLICY))
                }
            }
        }
    }
}

impl fmt::Debug for Require {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            Rule::Authenticated => f.write_str("Require::authenticated()"),
            Rule::Kind(TokenKind::Delegated) => f.write_str("Require::user()"),
            Rule::Kind(TokenKind::App) => f.write_str("Require::application()"),
            Rule::Scopes { names, all } => write!(f, "Require::scopes(all: {all}, {names:?})"),
            Rule::Roles {
                names,
                all,
                allow_users,
            } => write!(
                f,
                "Require::roles(all: {all}, allow_user_roles: {allow_users}, {names:?})"
            ),
            Rule::ScopeOrRole { scopes, roles } => {
                write!(f, "Require::scope_or_role({scopes:?}, {roles:?})")
            }
            Rule::Permissions { names, all } => {
                write!(f, "Require::permissions(all: {all}, {names:?})")
            }
            Rule::Custom(_) => f.write_str("Require::from_fn(..)"),
        }
    }
}

fn grants(have: impl Fn(&str) -> bool, wanted: &[String], all: bool) -> bool {
    if all {
        wanted.iter().all(|w| have(w))
    } else {
        wanted.iter().any(|w| have(w))
    }
}

fn refuse(required: &[String], reason: &'static str) -> AuthError {
    AuthError::InsufficientScope(Insufficient {
        required: required.to_vec(),
        reason,
    })
}

fn names<I, S>(names: I) -> Arc<[String]>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    names.into_iter().map(Into::into).collect()
}

/// A layer enforcing a [`Require`] (built by [`Require::layer`]).
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireLayer {
    auth: Authenticator,
    require: Require,
}

impl<S> Layer<S> for RequireLayer {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorize::new(
            inner,
            self.auth.clone(),
            Policy::Require(self.require.clone()),
        )
    }
}

/// Requires a **delegated** token (a user is present) with any — or, with
/// [`RequireScope::all`], every — of the given scopes: [`Require::scopes_any`] as a one-liner.
/// Application tokens are refused with 403, as are tokens without the scope
/// (`insufficient_scope`, with the scopes in the challenge).
///
/// ```
/// use axum::{Router, routing::post};
/// use auth_layer::{Authenticator, RequireScope};
/// use auth_testkit::{TokenBuilder, default_keyset, ids};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
/// let app = Router::new()
///     .route("/create-case", post(|| async { "Case created" }))
///     .route_layer(RequireScope::any(auth, ["Case.Create"]));
///
/// let call = |token: String| {
///     Request::post("/create-case")
///         .header("authorization", format!("Bearer {token}"))
///         .body(axum::body::Body::empty())
///         .unwrap()
/// };
/// let with_scope = TokenBuilder::delegated().scopes("Case.Create").sign();
/// assert_eq!(app.clone().oneshot(call(with_scope)).await?.status(), StatusCode::OK);
///
/// let without = TokenBuilder::delegated().scopes("Case.Read").sign();
/// let res = app.clone().oneshot(call(without)).await?;
/// assert_eq!(res.status(), StatusCode::FORBIDDEN);
/// assert!(res.headers()["www-authenticate"].to_str()?.contains("scope=\"Case.Create\""));
///
/// // An application's own token never passes a scope check.
/// let app_token = TokenBuilder::app().sign();
/// assert_eq!(app.oneshot(call(app_token)).await?.status(), StatusCode::FORBIDDEN);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireScope(RequireLayer);

impl RequireScope {
    /// Any one of `scopes` suffices.
    pub fn any<I, S>(auth: Authenticator, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(Require::scopes_any(scopes).layer(auth))
    }

    /// Every one of `scopes` is needed.
    pub fn all<I, S>(auth: Authenticator, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(Require::scopes_all(scopes).layer(auth))
    }
}

impl<S> Layer<S> for RequireScope {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.layer(inner)
    }
}

/// Requires an **application's own** token with any — or, with [`RequireRole::all`], every —
/// of the given roles: [`Require::roles_any`] as a one-liner. User tokens are refused with 403
/// unless [`RequireRole::allow_user_roles`] opts in to app roles assigned to users.
///
/// ```
/// use axum::{Router, routing::post};
/// use auth_layer::{Authenticator, RequireRole};
/// use auth_testkit::{TokenBuilder, default_keyset, ids};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
/// let app = Router::new()
///     .route("/upload", post(|| async { "File uploaded" }))
///     .route_layer(RequireRole::any(auth, ["Files.Write"]));
///
/// let call = |token: String| {
///     Request::post("/upload")
///         .header("authorization", format!("Bearer {token}"))
///         .body(axum::body::Body::empty())
///         .unwrap()
/// };
/// let daemon = TokenBuilder::app().roles(["Files.Write"]).sign();
/// assert_eq!(app.clone().oneshot(call(daemon)).await?.status(), StatusCode::OK);
///
/// // No admin consent: a valid app token with no roles gets 403, not 401.
/// let unconsented = TokenBuilder::app().remove("roles").sign();
/// assert_eq!(app.clone().oneshot(call(unconsented)).await?.status(), StatusCode::FORBIDDEN);
///
/// // A user's token is refused even if a role was assigned to the user.
/// let user = TokenBuilder::delegated().roles(["Files.Write"]).sign();
/// assert_eq!(app.oneshot(call(user)).await?.status(), StatusCode::FORBIDDEN);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireRole(RequireLayer);

impl RequireRole {
    /// Any one of `roles` suffices.
    pub fn any<I, S>(auth: Authenticator, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(Require::roles_any(roles).layer(auth))
    }

    /// Every one of `roles` is needed.
    pub fn all<I, S>(auth: Authenticator, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self(Require::roles_all(roles).layer(auth))
    }

    /// Also accepts user tokens whose user was assigned the role (see
    /// [`Require::allow_user_roles`]).
    pub fn allow_user_roles(mut self) -> Self {
        self.0.require = self.0.require.allow_user_roles();
        self
    }
}

impl<S> Layer<S> for RequireRole {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.layer(inner)
    }
}

/// Accepts a user token with any of `scopes`, or an application's own token with any of
/// `roles`: [`Require::scope_or_role`] as a one-liner.
///
/// ```
/// use axum::{Router, routing::get};
/// use auth_layer::{Authenticator, RequireScopeOrRole};
/// use auth_testkit::{TokenBuilder, default_keyset, ids};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
/// let app = Router::new()
///     .route("/docs", get(|| async { "[]" }))
///     .route_layer(RequireScopeOrRole::new(auth, ["Documents.Read"], ["Documents.Read.All"]));
/// let call = |token: String| {
///     Request::get("/docs")
///         .header("authorization", format!("Bearer {token}"))
///         .body(axum::body::Body::empty())
///         .unwrap()
/// };
/// let user = TokenBuilder::delegated().scopes("Documents.Read").sign();
/// let daemon = TokenBuilder::app().roles(["Documents.Read.All"]).sign();
/// let wrong = TokenBuilder::app().roles(["Documents.Read"]).sign();
/// assert_eq!(app.clone().oneshot(call(user)).await?.status(), StatusCode::OK);
/// assert_eq!(app.clone().oneshot(call(daemon)).await?.status(), StatusCode::OK);
/// assert_eq!(app.oneshot(call(wrong)).await?.status(), StatusCode::FORBIDDEN);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RequireScopeOrRole(RequireLayer);

impl RequireScopeOrRole {
    /// Users need one of `scopes`; applications one of `roles`.
    pub fn new<I, S, J, R>(auth: Authenticator, scopes: I, roles: J) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
        J: IntoIterator<Item = R>,
        R: Into<String>,
    {
        Self(Require::scope_or_role(scopes, roles).layer(auth))
    }
}

impl<S> Layer<S> for RequireScopeOrRole {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.0.layer(inner)
    }
}
