//! [`CustomClaims<T>`]: the token's claims, deserialized into the application's own type.

use std::ops::{Deref, DerefMut};

use auth_layer::{Authenticator, Principal};
use serde::de::DeserializeOwned;

use crate::rejection::{ClaimsMismatch, CustomClaimsRejection};
use crate::resolve::{FromPrincipal, from_request_parts};

/// The claims of the caller's validated token (either kind), deserialized into `T`: for custom
/// or optional claims that the typed accessors of [`auth_layer::Claims`] do not cover.
///
/// Found like the other extractors (from the request's extensions, or validated once with the
/// [`Authenticator`](auth_layer::Authenticator) of the router's state). Deserialized on every
/// extraction; keep `T` small.
///
/// Refusals ([`CustomClaimsRejection`]): no token 401, malformed request 400, invalid token 401
/// `invalid_token`; a valid token whose claims do not fit `T` (a required claim is absent or
/// has another type) is **403** `insufficient_scope` with the description "the token lacks
/// claims this route needs" ([`ClaimsMismatch`]): the caller is authenticated, but its token
/// does not carry what the route needs. Make a claim `Option` in `T` when its absence is fine.
///
/// `Option<CustomClaims<T>>`: `None` without credentials, the same refusals otherwise.
///
/// ```
/// use auth_extract::CustomClaims;
/// use auth_layer::Authenticator;
/// use auth_testkit::{TokenBuilder, default_keyset, ids};
/// use axum::{Router, body::Body, routing::get};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// #[derive(serde::Deserialize)]
/// struct Employee {
///     oid: String,
///     #[serde(default)]
///     ctry: Option<String>,
///     employee_id: String,
/// }
///
/// async fn badge(CustomClaims(e): CustomClaims<Employee>) -> String {
///     format!("{} {} {}", e.oid, e.employee_id, e.ctry.as_deref().unwrap_or("-"))
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let auth = Authenticator::builder()
///     .tenant_id(ids::TENANT_ID)
///     .client_id(ids::API_CLIENT_ID)
///     .keys(default_keyset())
///     .build()?;
/// let app = Router::new().route("/badge", get(badge)).with_state(auth);
///
/// let call = |token: String| {
///     Request::get("/badge")
///         .header("authorization", format!("Bearer {token}"))
///         .body(Body::empty())
///         .unwrap()
/// };
/// let with_claim = TokenBuilder::delegated().claim("employee_id", "E-1024").sign();
/// assert_eq!(app.clone().oneshot(call(with_claim)).await?.status(), StatusCode::OK);
///
/// let without = TokenBuilder::delegated().sign();
/// assert_eq!(app.oneshot(call(without)).await?.status(), StatusCode::FORBIDDEN);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[doc(alias = "Claims")]
pub struct CustomClaims<T>(pub T);

impl<T> Deref for CustomClaims<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for CustomClaims<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: DeserializeOwned> FromPrincipal for CustomClaims<T> {
    type Rejection = CustomClaimsRejection;

    fn from_principal(
        principal: Principal,
        auth: &Authenticator,
    ) -> Result<Self, CustomClaimsRejection> {
        principal
            .deserialize::<T>()
            .map(CustomClaims)
            .map_err(|err| {
                let challenge = auth.challenge().clone();
                CustomClaimsRejection::Mismatch(ClaimsMismatch::new(&err, challenge))
            })
    }
}

from_request_parts!(CustomClaims<T: DeserializeOwned> => CustomClaimsRejection);
