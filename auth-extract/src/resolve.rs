//! Finding the caller of a request — the [`Principal`] an authentication layer (or an earlier
//! extractor) put into the request's extensions, or the bearer token validated here once — and
//! making an extractor of it: every extractor of this crate is a [`FromPrincipal`] type, and
//! [`from_request_parts!`] gives it its `FromRequestParts` and `OptionalFromRequestParts`
//! impls, as axum-core writes its rejection types with one macro each
//! (`define_rejection!`, `composite_rejection!`:
//! <https://github.com/tokio-rs/axum/blob/main/axum-core/src/macros.rs>) instead of by hand.

use auth_layer::{AuthError, Authenticator, Principal, bearer_token_from_parts};
use axum_core::extract::FromRef;
use http::request::Parts;

use crate::rejection::AuthRejection;

/// An extractor of this crate: how it is made from the caller's validated [`Principal`] (the
/// checks it adds: the token's kind, a scope or role, the claims' shape).
pub(crate) trait FromPrincipal: Sized {
    /// The extractor's rejection; an [`AuthRejection`] when there is no valid caller.
    type Rejection: From<AuthRejection>;

    /// The extractor for `principal`, or its refusal, rendered with `auth`'s challenge.
    fn from_principal(principal: Principal, auth: &Authenticator) -> Result<Self, Self::Rejection>;
}

/// `T` for the caller; a request without credentials is refused (401, bare `Bearer`
/// challenge).
pub(crate) async fn required<T, S>(parts: &mut Parts, state: &S) -> Result<T, T::Rejection>
where
    T: FromPrincipal,
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    let auth = Authenticator::from_ref(state);
    match principal(parts, &auth).await? {
        Some(principal) => T::from_principal(principal, &auth),
        None => Err(refuse(&auth, AuthError::MissingCredentials).into()),
    }
}

/// `T` for the caller, or `None` when the request carries no credentials (no `Authorization`
/// header, or another scheme). A malformed request, an invalid token, or a caller `T` refuses
/// is refused: a caller who is present is not anonymous.
pub(crate) async fn optional<T, S>(parts: &mut Parts, state: &S) -> Result<Option<T>, T::Rejection>
where
    T: FromPrincipal,
    Authenticator: FromRef<S>,
    S: Send + Sync,
{
    let auth = Authenticator::from_ref(state);
    match principal(parts, &auth).await? {
        Some(principal) => T::from_principal(principal, &auth).map(Some),
        None => Ok(None),
    }
}

/// The caller, or `None` when the request carries no credentials.
///
/// A token validated here is inserted into the extensions as a [`Principal`], so every later
/// extractor (and layer) of the request reuses it.
async fn principal(
    parts: &mut Parts,
    auth: &Authenticator,
) -> Result<Option<Principal>, AuthRejection> {
    // Only a principal of the state's own authenticator is trusted; one made by another
    // (another tenant set, audience or profile) means the token is validated again here.
    if let Some(principal) = parts
        .extensions
        .get::<Principal>()
        .filter(|p| p.is_from(auth))
    {
        return Ok(Some(principal.clone()));
    }
    let token = match bearer_token_from_parts(parts) {
        Ok(token) => token,
        Err(AuthError::MissingCredentials) => return Ok(None),
        Err(err) => return Err(refuse(auth, err)),
    };
    match auth.authenticate(token).await {
        Ok(principal) => {
            parts.extensions.insert(principal.clone());
            Ok(Some(principal))
        }
        Err(err) => Err(refuse(auth, AuthError::InvalidToken(err))),
    }
}

/// A rejection rendered with `auth`'s challenge.
pub(crate) fn refuse(auth: &Authenticator, error: AuthError) -> AuthRejection {
    AuthRejection::new(error, auth.challenge().clone())
}

/// Implements `FromRequestParts` and `OptionalFromRequestParts` for a [`FromPrincipal`] type,
/// for any router state that provides the [`Authenticator`]:
/// `from_request_parts!(DelegatedUser => AuthRejection);`, or with one type parameter,
/// `from_request_parts!(Scope<S: ScopeName> => AuthRejection);`.
macro_rules! from_request_parts {
    ($extractor:ident $(<$param:ident: $bound:path>)? => $rejection:ty) => {
        impl<$($param: $bound,)? St> ::axum_core::extract::FromRequestParts<St>
            for $extractor$(<$param>)?
        where
            ::auth_layer::Authenticator: ::axum_core::extract::FromRef<St>,
            St: Send + Sync,
        {
            type Rejection = $rejection;

            async fn from_request_parts(
                parts: &mut ::http::request::Parts,
                state: &St,
            ) -> Result<Self, Self::Rejection> {
                $crate::resolve::required(parts, state).await
            }
        }

        impl<$($param: $bound,)? St> ::axum_core::extract::OptionalFromRequestParts<St>
            for $extractor$(<$param>)?
        where
            ::auth_layer::Authenticator: ::axum_core::extract::FromRef<St>,
            St: Send + Sync,
        {
            type Rejection = $rejection;

            async fn from_request_parts(
                parts: &mut ::http::request::Parts,
                state: &St,
            ) -> Result<Option<Self>, Self::Rejection> {
                $crate::resolve::optional(parts, state).await
            }
        }
    };
}

pub(crate) use from_request_parts;

/// The rest of an extractor for one kind of caller ([`DelegatedUser`](crate::DelegatedUser),
/// [`AppPrincipal`](crate::AppPrincipal)), a struct with a `principal` field: its principal and
/// claims, `TryFrom<Principal>` by [`TokenKind`](auth_layer::TokenKind), and the extractor
/// impls, refusing the other kind with `$require()` (403 `insufficient_scope`).
/// `principal_of_kind!(AppPrincipal, TokenKind::App, Require::application);`
macro_rules! principal_of_kind {
    ($extractor:ident, TokenKind::$kind:ident, $require:path) => {
        impl $extractor {
            /// The validated principal.
            pub fn principal(&self) -> &::auth_layer::Principal {
                &self.principal
            }

            /// Every claim of the token.
            pub fn claims(&self) -> &::auth_layer::Claims {
                self.principal.claims()
            }

            /// The validated principal, by value.
            pub fn into_principal(self) -> ::auth_layer::Principal {
                self.principal
            }
        }

        impl TryFrom<::auth_layer::Principal> for $extractor {
            /// A principal of the other kind, given back.
            type Error = ::auth_layer::Principal;

            /// `Self` for a principal of this kind.
            fn try_from(
                principal: ::auth_layer::Principal,
            ) -> Result<Self, ::auth_layer::Principal> {
                if principal.kind() == ::auth_layer::TokenKind::$kind {
                    Ok(Self { principal })
                } else {
                    Err(principal)
                }
            }
        }

        impl $crate::resolve::FromPrincipal for $extractor {
            type Rejection = $crate::AuthRejection;

            fn from_principal(
                principal: ::auth_layer::Principal,
                auth: &::auth_layer::Authenticator,
            ) -> Result<Self, $crate::AuthRejection> {
                $require()
                    .check(&principal)
                    .map_err(|e| $crate::resolve::refuse(auth, e))?;
                Ok(Self { principal })
            }
        }

        $crate::resolve::from_request_parts!($extractor => $crate::AuthRejection);
    };
}

pub(crate) use principal_of_kind;
