//! Either kind of caller: [`Caller`] (user or application) and [`Authenticated`] (the
//! [`Principal`] itself).

use std::ops::Deref;

use auth_layer::{Authenticator, Claims, Principal, TokenKind};

use crate::rejection::AuthRejection;
use crate::resolve::{FromPrincipal, from_request_parts};
use crate::{AppPrincipal, DelegatedUser};

/// The caller of a route that serves both users and applications: a [`DelegatedUser`] or an
/// [`AppPrincipal`], decided by the token's kind ([`TokenKind`]).
///
/// Refusals ([`AuthRejection`]): no token 401, malformed request 400, invalid token 401
/// `invalid_token`; never 403 (both kinds are accepted). `Option<Caller>`: `None` without
/// credentials, the same refusals otherwise.
///
/// ```
/// use auth_extract::Caller;
/// use auth_layer::Authenticator;
/// use auth_testkit::{TokenBuilder, default_keyset, ids};
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// async fn who(caller: Caller) -> String {
///     match caller {
///         Caller::User(user) => format!("user {}", user.object_id().unwrap_or("?")),
///         Caller::App(app) => format!("app {}", app.client_id().unwrap_or("?")),
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
/// let app = Router::new().route("/who", get(who)).with_state(auth);
///
/// for token in [TokenBuilder::delegated().sign(), TokenBuilder::app().sign()] {
///     let req = Request::get("/who")
///         .header("authorization", format!("Bearer {token}"))
///         .body(Body::empty())?;
///     assert_eq!(app.clone().oneshot(req).await?.status(), StatusCode::OK);
/// }
/// let anonymous = app.oneshot(Request::get("/who").body(Body::empty())?).await?;
/// assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub enum Caller {
    /// A user, through a client application (delegated token).
    User(DelegatedUser),
    /// An application acting as itself (app-only token).
    App(AppPrincipal),
}

impl Caller {
    /// Delegated or app-only.
    pub fn kind(&self) -> TokenKind {
        match self {
            Caller::User(_) => TokenKind::Delegated,
            Caller::App(_) => TokenKind::App,
        }
    }

    /// `oid`: the user's object id, or the calling application's service principal's.
    pub fn object_id(&self) -> Option<&str> {
        self.principal().object_id()
    }

    /// `tid`: the tenant that issued the token.
    pub fn tenant_id(&self) -> Option<&str> {
        self.principal().tenant_id()
    }

    /// The calling client application (`azp` / `appid`).
    pub fn client_id(&self) -> Option<&str> {
        self.principal().client_id()
    }

    /// The user, if a user is present.
    pub fn user(&self) -> Option<&DelegatedUser> {
        match self {
            Caller::User(user) => Some(user),
            Caller::App(_) => None,
        }
    }

    /// The application, if the token is app-only.
    pub fn app(&self) -> Option<&AppPrincipal> {
        match self {
            Caller::User(_) => None,
            Caller::App(app) => Some(app),
        }
    }

    /// The validated principal.
    pub fn principal(&self) -> &Principal {
        match self {
            Caller::User(user) => user.principal(),
            Caller::App(app) => app.principal(),
        }
    }

    /// Every claim of the token.
    pub fn claims(&self) -> &Claims {
        self.principal().claims()
    }

    /// The validated principal, by value.
    pub fn into_principal(self) -> Principal {
        match self {
            Caller::User(user) => user.into_principal(),
            Caller::App(app) => app.into_principal(),
        }
    }
}

impl From<Principal> for Caller {
    fn from(principal: Principal) -> Self {
        match principal.kind() {
            TokenKind::Delegated => Caller::User(DelegatedUser { principal }),
            TokenKind::App => Caller::App(AppPrincipal { principal }),
        }
    }
}

impl FromPrincipal for Caller {
    type Rejection = AuthRejection;

    fn from_principal(principal: Principal, _: &Authenticator) -> Result<Self, AuthRejection> {
        Ok(Caller::from(principal))
    }
}

from_request_parts!(Caller => AuthRejection);

/// The validated [`Principal`] of either kind, as an extractor (`auth_layer::Principal` itself
/// cannot be one: it is a foreign type).
///
/// Like `Extension<Principal>`, but it also works without an authentication layer (it validates
/// the token with the [`Authenticator`] of the router's state), and refuses with RFC 6750
/// responses rather than a 500. Refusals: no token 401, malformed request 400, invalid token
/// 401. `Option<Authenticated>`: `None` without credentials.
///
/// ```
/// use auth_extract::Authenticated;
/// use auth_layer::{AuthenticateLayer, Authenticator};
/// use auth_testkit::{TokenBuilder, default_keyset, ids};
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// async fn tenant(Authenticated(principal): Authenticated) -> String {
///     principal.tenant_id().unwrap_or_default().to_owned()
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
/// // With a layer in front, the extractor reuses the layer's principal (the state still
/// // provides the Authenticator, for the extractor's refusals).
/// let app = Router::new()
///     .route("/tenant", get(tenant))
///     .layer(AuthenticateLayer::new(auth.clone()))
///     .with_state(auth.clone());
///
/// let req = Request::get("/tenant")
///     .header("authorization", format!("Bearer {}", TokenBuilder::app().sign()))
///     .body(Body::empty())?;
/// assert_eq!(app.oneshot(req).await?.status(), StatusCode::OK);
/// assert_eq!(auth.stats().full_validations, 1);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Authenticated(pub Principal);

impl Deref for Authenticated {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl FromPrincipal for Authenticated {
    type Rejection = AuthRejection;

    fn from_principal(principal: Principal, _: &Authenticator) -> Result<Self, AuthRejection> {
        Ok(Authenticated(principal))
    }
}

from_request_parts!(Authenticated => AuthRejection);
