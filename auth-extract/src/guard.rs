//! Typed guards: [`Scope<S>`] and [`Role<R>`] put the permission a handler needs into its
//! signature. The [`scope!`](crate::scope!) and [`role!`](crate::role!) macros define the
//! marker types.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use auth_layer::{Authenticator, Principal, Require};
use axum_core::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;

use crate::rejection::AuthRejection;
use crate::{AppPrincipal, DelegatedUser, resolve};

/// A delegated permission (an `scp` value) as a type, for [`Scope<S>`]. Define one with
/// [`scope!`](crate::scope!).
///
/// ```
/// use auth_extract::ScopeName;
///
/// // What `auth_extract::scope!(pub CaseCreate = "Case.Create");` expands to:
/// #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
/// pub struct CaseCreate;
/// impl ScopeName for CaseCreate {
///     const NAME: &'static str = "Case.Create";
/// }
/// assert_eq!(CaseCreate::NAME, "Case.Create");
/// ```
pub trait ScopeName {
    /// The scope, exactly as in the token's `scp` (case-sensitive).
    const NAME: &'static str;
}

/// An application permission (a `roles` value) as a type, for [`Role<R>`]. Define one with
/// [`role!`](crate::role!).
///
/// ```
/// use auth_extract::RoleName;
///
/// // What `auth_extract::role!(pub FilesWrite = "Files.Write");` expands to:
/// #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
/// pub struct FilesWrite;
/// impl RoleName for FilesWrite {
///     const NAME: &'static str = "Files.Write";
/// }
/// assert_eq!(FilesWrite::NAME, "Files.Write");
/// ```
pub trait RoleName {
    /// The role, exactly as in the token's `roles` (case-sensitive).
    const NAME: &'static str;
}

/// Defines marker types for [`Scope<S>`]: `scope!(pub CaseCreate = "Case.Create");` declares
/// `pub struct CaseCreate;` implementing [`ScopeName`]. Several at once, with attributes:
/// `scope! { pub CaseRead = "Case.Read"; pub CaseCreate = "Case.Create"; }`.
///
/// ```
/// use auth_extract::{Scope, ScopeName, scope};
///
/// scope!(pub CaseCreate = "Case.Create");
/// scope! {
///     /// Read cases.
///     pub CaseRead = "Case.Read";
///     CaseDelete = "Case.Delete";
/// }
///
/// assert_eq!(CaseCreate::NAME, "Case.Create");
/// assert_eq!(CaseRead::NAME, "Case.Read");
/// assert_eq!(CaseDelete::NAME, "Case.Delete");
/// async fn create(user: Scope<CaseCreate>) {}
/// ```
#[macro_export]
macro_rules! scope {
    ($($(#[$meta:meta])* $vis:vis $name:ident = $value:literal);+ $(;)?) => {
        $(
            #[doc = concat!("The `", $value, "` delegated permission (scope).")]
            $(#[$meta])*
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            $vis struct $name;

            impl $crate::ScopeName for $name {
                const NAME: &'static str = $value;
            }
        )+
    };
}

/// Defines marker types for [`Role<R>`]: `role!(pub FilesWrite = "Files.Write");` declares
/// `pub struct FilesWrite;` implementing [`RoleName`]. Several at once, with attributes:
/// `role! { pub FilesRead = "Files.Read"; pub FilesWrite = "Files.Write"; }`.
///
/// ```
/// use auth_extract::{Role, RoleName, role};
///
/// role!(pub FilesWrite = "Files.Write");
/// role! {
///     pub FilesRead = "Files.Read";
///     /// Purge files.
///     FilesPurge = "Files.Purge";
/// }
///
/// assert_eq!(FilesWrite::NAME, "Files.Write");
/// assert_eq!(FilesRead::NAME, "Files.Read");
/// assert_eq!(FilesPurge::NAME, "Files.Purge");
/// async fn upload(app: Role<FilesWrite>) {}
/// ```
#[macro_export]
macro_rules! role {
    ($($(#[$meta:meta])* $vis:vis $name:ident = $value:literal);+ $(;)?) => {
        $(
            #[doc = concat!("The `", $value, "` application permission (app role).")]
            $(#[$meta])*
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            $vis struct $name;

            impl $crate::RoleName for $name {
                const NAME: &'static str = $value;
            }
        )+
    };
}

/// A [`DelegatedUser`] whose token grants the scope `S`: the handler's signature states the
/// delegated permission it needs.
///
/// Refusals ([`AuthRejection`]): those of [`DelegatedUser`] (401, 400, 401 `invalid_token`),
/// and 403 `insufficient_scope` with `scope="{S::NAME}"` when the token lacks the scope or is
/// app-only. Require several scopes with several guards (`Scope<A>, Scope<B>`): the token is
/// validated once. `Option<Scope<S>>`: `None` without credentials, the same refusals otherwise.
/// Dereferences to [`DelegatedUser`].
///
/// ```
/// use auth_extract::{Scope, scope};
/// use auth_layer::Authenticator;
/// use auth_testkit::{TokenBuilder, default_keyset, ids};
/// use axum::{Router, body::Body, routing::post};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// scope!(pub CaseCreate = "Case.Create");
///
/// async fn create_case(user: Scope<CaseCreate>) -> String {
///     format!("case opened by {}", user.oid().unwrap_or("?"))
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
/// let app = Router::new().route("/cases", post(create_case)).with_state(auth);
///
/// let call = |token: String| {
///     Request::post("/cases")
///         .header("authorization", format!("Bearer {token}"))
///         .body(Body::empty())
///         .unwrap()
/// };
/// let granted = TokenBuilder::delegated().scopes("Case.Create").sign();
/// assert_eq!(app.clone().oneshot(call(granted)).await?.status(), StatusCode::OK);
///
/// let res = app.oneshot(call(TokenBuilder::delegated().scopes("Case.Read").sign())).await?;
/// assert_eq!(res.status(), StatusCode::FORBIDDEN);
/// let challenge = res.headers()["www-authenticate"].to_str()?;
/// assert!(challenge.contains("error=\"insufficient_scope\""));
/// assert!(challenge.ends_with("scope=\"Case.Create\""));
/// # Ok(()) }
/// ```
pub struct Scope<S: ScopeName> {
    user: DelegatedUser,
    scope: PhantomData<fn() -> S>,
}

impl<S: ScopeName> Scope<S> {
    /// The required scope, `S::NAME`. (Not `name()`: that is the user's display name, reached
    /// through `Deref` to [`DelegatedUser`].)
    pub fn scope_name(&self) -> &'static str {
        S::NAME
    }

    /// The user.
    pub fn user(&self) -> &DelegatedUser {
        &self.user
    }

    /// The user, by value.
    pub fn into_user(self) -> DelegatedUser {
        self.user
    }

    fn check<St>(principal: Principal, state: &St) -> Result<Self, AuthRejection>
    where
        Authenticator: FromRef<St>,
    {
        Require::scopes_any([S::NAME])
            .check(&principal)
            .map_err(|e| resolve::refuse(state, e))?;
        Ok(Self {
            user: DelegatedUser { principal },
            scope: PhantomData,
        })
    }
}

impl<S: ScopeName> Deref for Scope<S> {
    type Target = DelegatedUser;

    fn deref(&self) -> &DelegatedUser {
        &self.user
    }
}

impl<S: ScopeName> Clone for Scope<S> {
    fn clone(&self) -> Self {
        Self {
            user: self.user.clone(),
            scope: PhantomData,
        }
    }
}

impl<S: ScopeName> fmt::Debug for Scope<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("scope", &S::NAME)
            .field("user", &self.user)
            .finish()
    }
}

impl<S, St> FromRequestParts<St> for Scope<S>
where
    S: ScopeName,
    Authenticator: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let principal = resolve::required(parts, state).await?;
        Self::check(principal, state)
    }
}

impl<S, St> OptionalFromRequestParts<St> for Scope<S>
where
    S: ScopeName,
    Authenticator: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &St,
    ) -> Result<Option<Self>, Self::Rejection> {
        match resolve::optional(parts, state).await? {
            Some(principal) => Self::check(principal, state).map(Some),
            None => Ok(None),
        }
    }
}

/// An [`AppPrincipal`] whose app-only token carries the role `R`: the handler's signature
/// states the application permission it needs.
///
/// Refusals ([`AuthRejection`]): those of [`AppPrincipal`] (401, 400, 401 `invalid_token`),
/// and 403 `insufficient_scope` with `scope="{R::NAME}"` when the token lacks the role or is a
/// delegated token (app roles assigned to *users* are not accepted here; check them with
/// [`DelegatedUser::has_role`]). `Option<Role<R>>`: `None` without credentials, the same
/// refusals otherwise. Dereferences to [`AppPrincipal`].
///
/// ```
/// use auth_extract::{Role, role};
/// use auth_layer::Authenticator;
/// use auth_testkit::{TokenBuilder, default_keyset, ids};
/// use axum::{Router, body::Body, routing::put};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// role!(pub FilesWrite = "Files.Write");
///
/// async fn store(app: Role<FilesWrite>) -> String {
///     format!("stored for {}", app.client_id().unwrap_or("?"))
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
/// let app = Router::new().route("/files", put(store)).with_state(auth);
///
/// let call = |token: String| {
///     Request::put("/files")
///         .header("authorization", format!("Bearer {token}"))
///         .body(Body::empty())
///         .unwrap()
/// };
/// let granted = TokenBuilder::app().roles(["Files.Write"]).sign();
/// assert_eq!(app.clone().oneshot(call(granted)).await?.status(), StatusCode::OK);
///
/// let res = app.oneshot(call(TokenBuilder::app().roles(["Files.Read"]).sign())).await?;
/// assert_eq!(res.status(), StatusCode::FORBIDDEN);
/// assert!(res.headers()["www-authenticate"].to_str()?.ends_with("scope=\"Files.Write\""));
/// # Ok(()) }
/// ```
pub struct Role<R: RoleName> {
    app: AppPrincipal,
    role: PhantomData<fn() -> R>,
}

impl<R: RoleName> Role<R> {
    /// The required role, `R::NAME`.
    pub fn role_name(&self) -> &'static str {
        R::NAME
    }

    /// The application.
    pub fn app(&self) -> &AppPrincipal {
        &self.app
    }

    /// The application, by value.
    pub fn into_app(self) -> AppPrincipal {
        self.app
    }

    fn check<St>(principal: Principal, state: &St) -> Result<Self, AuthRejection>
    where
        Authenticator: FromRef<St>,
    {
        Require::roles_any([R::NAME])
            .check(&principal)
            .map_err(|e| resolve::refuse(state, e))?;
        Ok(Self {
            app: AppPrincipal { principal },
            role: PhantomData,
        })
    }
}

impl<R: RoleName> Deref for Role<R> {
    type Target = AppPrincipal;

    fn deref(&self) -> &AppPrincipal {
        &self.app
    }
}

impl<R: RoleName> Clone for Role<R> {
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
            role: PhantomData,
        }
    }
}

impl<R: RoleName> fmt::Debug for Role<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Role")
            .field("role", &R::NAME)
            .field("app", &self.app)
            .finish()
    }
}

impl<R, St> FromRequestParts<St> for Role<R>
where
    R: RoleName,
    Authenticator: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, Self::Rejection> {
        let principal = resolve::required(parts, state).await?;
        Self::check(principal, state)
    }
}

impl<R, St> OptionalFromRequestParts<St> for Role<R>
where
    R: RoleName,
    Authenticator: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &St,
    ) -> Result<Option<Self>, Self::Rejection> {
        match resolve::optional(parts, state).await? {
            Some(principal) => Self::check(principal, state).map(Some),
            None => Ok(None),
        }
    }
}
