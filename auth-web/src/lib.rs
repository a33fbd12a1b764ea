//! # auth-web
//!
//! Signing users in to axum web apps with Microsoft Entra ID or any OpenID Connect provider:
//! the axum counterpart of Microsoft.Identity.Web's `AddMicrosoftIdentityWebApp` +
//! `EnableTokenAcquisitionToCallDownstreamApi`.
//!
//! | piece | what |
//! |---|---|
//! | [`WebAuth::routes`] | `/login` (`?return_to=` same-site paths only), the redirect URI, `/logout`, front-channel logout |
//! | [`WebAuth::layer`] | sessions on `tower-sessions` ([`BoundedMemoryStore`], or [`RedisSessionStore`] with the `redis` feature): `HttpOnly`, `SameSite=Lax`, `Secure` behind https, id rotated at sign-in, idle and absolute lifetimes |
//! | [`SignedIn`] | the signed-in user (`Option<SignedIn>` for public pages) |
//! | [`RequireSignInLayer`] | sign-in required: browsers are redirected, APIs get `401` |
//! | [`UserTokenAcquisition`] | the user's tokens for downstream APIs, kept server-side, refreshed silently, incremental consent through [`TokenError::SignInRequired`] |
//! | [`CsrfToken`], [`CsrfForm`] | the synchronizer-token CSRF defence for form posts |
//!
//! Sign-in uses `auth-client`'s authorization code flow with PKCE: `state`, `nonce` and the
//! PKCE verifier live in the session until the callback; the ID token is validated (signature,
//! issuer — for `organizations`/`common` authorities the issuer must name the token's `tid` —
//! audience, lifetime, nonce). `docs/web-apps.md` is the guide.
//!
//! ```
//! use auth_web::{BoundedMemoryStore, CsrfToken, SignedIn, WebAuth};
//! use axum::Router;
//! use axum::response::Html;
//! use axum::routing::get;
//!
//! async fn home(user: Option<SignedIn>, csrf: CsrfToken) -> Html<String> {
//!     Html(match user {
//!         Some(user) => format!(
//!             "Hello {}! <form method=post action=/logout>{}<button>Sign out</button></form>",
//!             user.name().unwrap_or("there"),
//!             csrf.hidden_input()
//!         ),
//!         None => "<a href=\"/login\">Sign in</a>".to_owned(),
//!     })
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let idp = auth_testkit::Emulator::start().await;
//! # let registration = idp.app("auth-code-client");
//! let client = auth_client::ConfidentialClient::builder()
//!     .authority(idp.authority()) // https://login.microsoftonline.com/<tenant-id>
//!     .client_id(registration.client_id())
//!     .client_secret(registration.secret())
//!     .build()?;
//! let auth = WebAuth::builder(client)
//!     .redirect_uri("http://localhost:8080/redirect")
//!     .scopes(["api://backend-api-id/Case.Create"])
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/", get(home))
//!     .merge(auth.routes())
//!     .layer(auth.layer(BoundedMemoryStore::default()));
//!
//! // GET /login: to the authorize endpoint, with PKCE; the session cookie is HttpOnly and Lax.
//! use tower::ServiceExt as _;
//! let request = http::Request::get("/login").body(axum::body::Body::empty())?;
//! let response = app.oneshot(request).await?;
//! assert_eq!(response.status(), 303);
//! assert!(response.headers()["location"].to_str()?.contains("code_challenge_method=S256"));
//! let cookie = response.headers()["set-cookie"].to_str()?;
//! assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod account;
mod config;
mod csrf;
mod layer;
mod memory_store;
#[cfg(feature = "redis")]
mod redis_store;
mod require;
mod return_to;
mod routes;
mod signed_in;
mod tokens;

pub use config::{
    BuildError, DEFAULT_ABSOLUTE_LIFETIME, DEFAULT_IDLE_LIFETIME, DEFAULT_MAX_TOKENS_PER_SESSION,
    EndSession, WebAuth, WebAuthBuilder,
};
pub use csrf::{CSRF_FIELD, CSRF_HEADER, CsrfForm, CsrfRejection, CsrfToken};
pub use layer::{AddWebAuth, WebAuthLayer};
pub use memory_store::{BoundedMemoryStore, DEFAULT_SESSION_CAPACITY};
#[cfg(feature = "redis")]
pub use redis_store::{KeyLengthError, RedisSessionStore};
pub use require::{RequireSignIn, RequireSignInLayer};
pub use signed_in::{SignedIn, SignedInRejection};
pub use tokens::{TokenError, UserTokenAcquisition};

/// `tower-sessions`, re-exported: [`MemoryStore`](tower_sessions::MemoryStore), the
/// [`SessionStore`](tower_sessions::SessionStore) trait, and [`Session`](tower_sessions::Session)
/// for the app's own session data.
pub use tower_sessions;
