//! Typed guards: [`Scope<S>`] and [`Role<R>`] put the permission a handler needs into its
//! signature. The [`scope!`](crate::scope!) and [`role!`](crate::role!) macros define the
//! marker types.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use auth_layer::{Authenticator, Principal, Require};

use crate::rejection::AuthRejection;
use crate::resolve::{self, FromPrincipal, from_request_parts};
use crate::{AppPrincipal, DelegatedUser};

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

/// The rest of a guard ([`Scope<S>`], [`Role<R>`]): the caller of the right kind (`$caller`)
/// whose token carries the permission the marker `$marker` names, checked with `$check`.
/// Generates the accessors, `Deref` to the caller, `Clone` and `Debug` without bounds on the
/// marker, and the extractor impls.
macro_rules! permission_guard {
    (
        impl $guard:ident<$marker:ident: $name_trait:ident> {
            $caller_field:ident: $caller:ident,
            $marker_field:ident: PhantomData,
            check: $check:path,
        }
        $(#[$name_doc:meta])* fn $name_fn:ident;
        $(#[$get_doc:meta])* fn $get_fn:ident;
        $(#[$into_doc:meta])* fn $into_fn:ident;
    ) => {
        impl<$marker: $name_trait> $guard<$marker> {
            $(#[$name_doc])*
            pub fn $name_fn(&self) -> &'static str {
                $marker::NAME
            }

            $(#[$get_doc])*
            pub fn $get_fn(&self) -> &$caller {
                &self.$caller_field
            }

            $(#[$into_doc])*
            pub fn $into_fn(self) -> $caller {
                self.$caller_field
            }
        }

        impl<$marker: $name_trait> FromPrincipal for $guard<$marker> {
            type Rejection = AuthRejection;

            fn from_principal(
                principal: Principal,
                auth: &Authenticator,
            ) -> Result<Self, AuthRejection> {
                $check([$marker::NAME])
                    .check(&principal)
                    .map_err(|e| resolve::refuse(auth, e))?;
                Ok(Self {
                    $caller_field: $caller { principal },
                    $marker_field: PhantomData,
                })
            }
        }

        from_request_parts!($guard<$marker: $name_trait> => AuthRejection);

        impl<$marker: $name_trait> Deref for $guard<$marker> {
            type Target = $caller;

            fn deref(&self) -> &$caller {
                &self.$caller_field
            }
        }

        impl<$marker: $name_trait> Clone for $guard<$marker> {
            fn clone(&self) -> Self {
                Self {
                    $caller_field: self.$caller_field.clone(),
                    $marker_field: PhantomData,
                }
            }
        }

        impl<$marker: $name_trait> fmt::Debug for $guard<$marker> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($guard))
                    .field(stringify!($marker_field), &$marker::NAME)
                    .field(stringify!($caller_field), &self.$caller_field)
                    .finish()
            }
        }
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
///     format!("case opened by {}", user.object_id().unwrap_or("?"))
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

permission_guard! {
    impl Scope<S: ScopeName> {
        user: DelegatedUser,
        scope: PhantomData,
        check: Require::scopes_any,
    }
    /// The required scope, `S::NAME`. (Not `name()`: that is the user's display name, reached
    /// through `Deref` to [`DelegatedUser`].)
    fn scope_name;
    /// The user.
    fn user;
    /// The user, by value.
    fn into_user;
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

permission_guard! {
    impl Role<R: RoleName> {
        app: AppPrincipal,
        role: PhantomData,
        check: Require::roles_any,
    }
    /// The required role, `R::NAME`.
    fn role_name;
    /// The application.
    fn app;
    /// The application, by value.
    fn into_app;
}
