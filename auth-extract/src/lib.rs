//! # auth-extract
//!
//! axum extractors for callers authenticated by Microsoft Entra ID (or any OIDC provider)
//! bearer tokens, on top of `auth-layer`'s [`Authenticator`](auth_layer::Authenticator):
//!
//! | extractor                  | accepts                                   | for                          |
//! |----------------------------|-------------------------------------------|------------------------------|
//! | [`DelegatedUser`]          | delegated tokens (`scp`), a user present  | authorization code, OBO      |
//! | [`AppPrincipal`]           | app-only tokens (`roles`), no user        | service-to-service           |
//! | [`Caller`]                 | either, as an enum                        | routes serving both          |
//! | [`Authenticated`]          | either, as the raw [`auth_layer::Principal`] |                           |
//! | [`Scope<S>`] / [`Role<R>`] | a delegated token with scope `S` / an app-only token with role `R` | typed guards |
//! | [`CustomClaims<T>`]        | either, claims deserialized into `T`      | custom claims                |
//!
//! Each also works as `Option<…>` for routes that serve anonymous callers: `None` when the
//! request has no credentials, while an invalid token (401) or a caller of the wrong kind or
//! lacking a permission (403) is still refused: a caller who is present is not anonymous.
//!
//! ## Where the caller comes from
//!
//! The router's state must provide the [`Authenticator`](auth_layer::Authenticator)
//! (`Authenticator: FromRef<S>`; a router without it does not compile). Each extractor:
//! 1. uses the [`Principal`](auth_layer::Principal) in the request's extensions when an
//!    `auth-layer` layer (e.g. [`AuthenticateLayer`](auth_layer::AuthenticateLayer)) or an
//!    earlier extractor put one there: no validation at all;
//! 2. otherwise validates the `Authorization: Bearer` token itself and stores the principal in
//!    the extensions, so the token is validated once per request however many extractors a
//!    handler has. Extractors alone protect a route; a layer is optional.
//!
//! With a layer-only setup, put the same `Authenticator` in the state too: the extractors
//! refuse with its [`Challenge`](auth_layer::Challenge) (realm, `resource_metadata`, body
//! style), so their responses match the layers'.
//!
//! ## Refusals
//!
//! [`AuthRejection`] (and [`CustomClaimsRejection`] for [`CustomClaims<T>`]) respond as RFC 6750
//! says: 401 with a bare `WWW-Authenticate: Bearer` without credentials, 400 `invalid_request`
//! for a malformed request, 401 `invalid_token` for an invalid token, 403 `insufficient_scope`
//! for a valid token of the wrong kind or lacking the scope or role (named in `scope="…"`).
//!
//! ```
//! use auth_extract::{AppPrincipal, Caller, DelegatedUser, Scope, scope};
//! use auth_layer::Authenticator;
//! use auth_testkit::{TokenBuilder, default_keyset, ids};
//! use axum::{Router, body::Body, routing::get};
//! use http::{Request, StatusCode};
//! use tower::ServiceExt;
//!
//! scope!(pub CaseRead = "Case.Read");
//!
//! async fn cases(user: Scope<CaseRead>) -> String {
//!     format!("cases of {}", user.username().unwrap_or("?"))
//! }
//! async fn sync(app: AppPrincipal) -> String {
//!     format!("sync for {}", app.client_id().unwrap_or("?"))
//! }
//! async fn home(caller: Option<Caller>) -> &'static str {
//!     match caller {
//!         Some(Caller::User(_)) => "hello, user",
//!         Some(Caller::App(_)) => "hello, app",
//!         None => "hello, stranger",
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Authenticator::builder()
//!     .tenant_id(ids::TENANT_ID)
//!     .client_id(ids::API_CLIENT_ID)
//!     .keys(default_keyset())
//!     .build()?;
//! let app = Router::new()
//!     .route("/", get(home))
//!     .route("/cases", get(cases))
//!     .route("/sync", get(sync))
//!     .with_state(auth);
//!
//! let call = |uri: &str, token: Option<String>| {
//!     let mut req = Request::get(uri);
//!     if let Some(token) = token {
//!         req = req.header("authorization", format!("Bearer {token}"));
//!     }
//!     req.body(Body::empty()).unwrap()
//! };
//! let user = || Some(TokenBuilder::delegated().scopes("Case.Read").sign());
//! let service = || Some(TokenBuilder::app().sign());
//!
//! assert_eq!(app.clone().oneshot(call("/", None)).await?.status(), StatusCode::OK);
//! assert_eq!(app.clone().oneshot(call("/cases", user())).await?.status(), StatusCode::OK);
//! assert_eq!(app.clone().oneshot(call("/cases", service())).await?.status(), StatusCode::FORBIDDEN);
//! assert_eq!(app.clone().oneshot(call("/sync", service())).await?.status(), StatusCode::OK);
//! assert_eq!(app.clone().oneshot(call("/sync", user())).await?.status(), StatusCode::FORBIDDEN);
//! assert_eq!(app.oneshot(call("/sync", None)).await?.status(), StatusCode::UNAUTHORIZED);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod app_principal;
mod custom_claims;
mod delegated_user;
mod guard;
mod principal;
mod rejection;
mod resolve;

pub use app_principal::AppPrincipal;
pub use custom_claims::CustomClaims;
pub use delegated_user::DelegatedUser;
pub use guard::{Role, RoleName, Scope, ScopeName};
pub use principal::{Authenticated, Caller};
pub use rejection::{AuthRejection, ClaimsMismatch, CustomClaimsRejection};
