//! A local Microsoft Entra ID emulator: discovery, keys, the authorize endpoint with a sign-in
//! page, and a token endpoint that behaves like Entra's for the tenant's app registrations
//! (declared scopes and app roles, admin consent, On-Behalf-Of preconditions, AADSTS errors).
//!
//! Start one in-process from a test; it binds `127.0.0.1:0` and stops when dropped:
//!
//! ```
//! use auth_testkit::emulator::Emulator;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let idp = Emulator::start().await;
//! let consumer = idp.app("s2s-example-consumer");
//! let api = idp.app("s2s-example-api");
//!
//! let response: serde_json::Value = reqwest::Client::new()
//!     .post(idp.token_endpoint())
//!     .form(&[
//!         ("grant_type", "client_credentials"),
//!         ("client_id", consumer.client_id()),
//!         ("client_secret", consumer.secret()),
//!         ("scope", &api.default_scope()),
//!     ])
//!     .send()
//!     .await
//!     .unwrap()
//!     .json()
//!     .await
//!     .unwrap();
//! assert_eq!(response["token_type"], "Bearer");
//! assert_eq!(idp.token_requests(auth_testkit::emulator::Grant::ClientCredentials), 1);
//! # }
//! ```
//!
//! The `entra-emulator` binary serves the same thing from the command line; `docs/emulator.md`
//! documents the tenant file, the endpoints and the admin API.

mod admin;
mod authorize;
mod builder;
mod client_auth;
pub(crate) mod discovery;
mod errors;
mod grant;
pub(crate) mod keys;
mod managed_identity;
mod metadata;
mod pkce;
mod request;
mod routes;
mod scopes;
pub(crate) mod server;
mod state;
pub(crate) mod sync;
mod tenant;
mod tls;
mod token_endpoint;
mod token_faults;
mod tokens;
mod userinfo;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub use builder::EmulatorBuilder;
pub use discovery::Fault;
pub use grant::Grant;
pub use tenant::{
    AppRegistration, AppRole, ClientCertificate, DEFAULT_TENANT_TOML, FederatedCredential,
    MODELLED_OPTIONAL_CLAIMS, ManagedIdentity, ResourceAccess, TOKEN_EXCHANGE_AUDIENCE,
    TenantConfig, TenantError, User, UserAppRole, derive_guid,
};
pub use token_faults::TokenFault;

use discovery::Endpoint;
use state::Shared;
use sync::lock;

/// Why the emulator could not start, or a handle call was refused.
///
/// ```
/// use auth_testkit::emulator::{Emulator, EmulatorError};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let err = Emulator::builder().auto_login("nobody@example.com").start().await.unwrap_err();
/// assert!(matches!(err, EmulatorError::Config(_)));
///
/// let idp = Emulator::start().await;
/// let too_short = idp.set_token_lifetime(std::time::Duration::from_secs(60));
/// assert!(matches!(too_short, Err(EmulatorError::Config(_))));
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The tenant file is invalid.
    Tenant(TenantError),
    /// A file could not be read or written.
    Io(String),
    /// A key or certificate could not be generated or loaded.
    Crypto(String),
    /// A setting is invalid (e.g. an auto-login user who is not in the tenant).
    Config(String),
}

impl fmt::Display for EmulatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmulatorError::Tenant(e) => write!(f, "{e}"),
            EmulatorError::Io(e) | EmulatorError::Crypto(e) | EmulatorError::Config(e) => {
                f.write_str(e)
            }
        }
    }
}

impl std::error::Error for EmulatorError {}

impl From<TenantError> for EmulatorError {
    fn from(e: TenantError) -> Self {
        EmulatorError::Tenant(e)
    }
}

/// A running emulator. Stops when dropped.
///
/// `docs/emulator.md` documents the endpoints. The handles drive what a test needs to
/// provoke:
///
/// ```
/// use std::time::Duration;
/// use auth_testkit::emulator::{Emulator, Fault};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let idp = Emulator::start().await;
/// assert_eq!(idp.authority(), format!("{}/{}", idp.base_url(), idp.tenant_id()));
/// assert_eq!(idp.issuer(), format!("{}/v2.0", idp.authority()));
/// assert_eq!(idp.v1_issuer(), format!("https://sts.windows.net/{}/", idp.tenant_id()));
/// assert_eq!(idp.app("auth-code-api").identifier_uris(), ["api://backend-api-id"]);
///
/// // A key rollover in three steps.
/// let old = idp.signing_kid();
/// let new = idp.publish_new_key();
/// assert!(idp.sign_with(&new));
/// assert!(idp.withdraw_key(&old));
/// assert_eq!(idp.published_kids(), [new]);
///
/// // Faults, token lifetime, the clock.
/// idp.set_jwks_fault(Some(Fault::Status(503)));
/// idp.clear_faults();
/// idp.set_token_lifetime(Duration::from_secs(600)).unwrap();
/// let before = idp.now();
/// idp.advance_clock(Duration::from_secs(3600));
/// assert!(idp.now() >= before + 3600);
/// # }
/// ```
pub struct Emulator {
    shared: Arc<Shared>,
    ca_pem: Option<String>,
    _server: server::ServerHandle,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("base_url", &self.shared.base_url)
            .field("tenant_id", &self.tenant_id())
            .finish_non_exhaustive()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.keys.closed.send_replace(true);
    }
}

impl Emulator {
    /// `http(s)://127.0.0.1:{port}`, without a trailing slash: the instance to configure.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The tenant id.
    pub fn tenant_id(&self) -> &str {
        self.shared.tenant.tenant_id()
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantConfig {
        &self.shared.tenant
    }

    /// `{base}/{tenant}`.
    pub fn authority(&self) -> String {
        format!("{}/{}", self.shared.base_url, self.tenant_id())
    }

    /// `{base}/{tenant}/v2.0`: the issuer of v2 tokens.
    pub fn issuer(&self) -> String {
        self.shared.v2_issuer()
    }

    /// `https://sts.windows.net/{tenant}/`: the issuer of v1 tokens, literally as Entra's.
    pub fn v1_issuer(&self) -> String {
        crate::ids::v1_issuer(self.tenant_id())
    }

    /// `{base}/{tenant}/v2.0/.well-known/openid-configuration`.
    pub fn metadata_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer())
    }

    /// `{base}/{tenant}/discovery/v2.0/keys`.
    pub fn jwks_uri(&self) -> String {
        format!("{}/discovery/v2.0/keys", self.authority())
    }

    /// `{base}/{tenant}/oauth2/v2.0/token`.
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth2/v2.0/token", self.authority())
    }

    /// `{base}/{tenant}/oauth2/v2.0/authorize`.
    pub fn authorization_endpoint(&self) -> String {
        format!("{}/oauth2/v2.0/authorize", self.authority())
    }

    /// `{base}`: the Azure IMDS host to configure in place of `http://169.254.169.254` (the
    /// emulator serves `GET /metadata/identity/oauth2/token`; Azure SDKs read it from
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST`).
    pub fn imds_authority(&self) -> &str {
        &self.shared.base_url
    }

    /// `{base}/metadata/identity/oauth2/token`: the IMDS token endpoint.
    pub fn imds_endpoint(&self) -> String {
        format!("{}{}", self.shared.base_url, managed_identity::IMDS_PATH)
    }

    /// `{base}/msi/token`: the App Service identity endpoint (`IDENTITY_ENDPOINT`).
    pub fn identity_endpoint(&self) -> String {
        format!(
            "{}{}",
            self.shared.base_url,
            managed_identity::APP_SERVICE_PATH
        )
    }

    /// The secret the App Service identity endpoint expects (`IDENTITY_HEADER`).
    pub fn identity_header(&self) -> &str {
        &self.shared.identity_header
    }

    /// The managed identity with this name.
    ///
    /// # Panics
    /// When the tenant declares no such identity.
    pub fn managed_identity(&self, name: &str) -> &ManagedIdentity {
        self.shared
            .tenant
            .managed_identity(name)
            .unwrap_or_else(|| panic!("the emulator's tenant has no managed identity {name:?}"))
    }

    /// The app registration with this display name.
    ///
    /// # Panics
    /// When the tenant has no such app (the message lists the apps).
    pub fn app(&self, name: &str) -> &AppRegistration {
        self.shared.tenant.app(name).unwrap_or_else(|| {
            let names: Vec<&str> = self
                .shared
                .tenant
                .apps()
                .iter()
                .map(AppRegistration::name)
                .collect();
            panic!("the emulator's tenant has no app {name:?}; it has {names:?}")
        })
    }

    /// The user with this username (case-insensitive).
    ///
    /// # Panics
    /// When the tenant has no such user.
    pub fn user(&self, username: &str) -> &User {
        self.shared
            .tenant
            .user(username)
            .unwrap_or_else(|| panic!("the emulator's tenant has no user {username:?}"))
    }

    /// The generated CA certificate (PEM) to trust, when serving https with a generated
    /// certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// A `reqwest` client that trusts the emulator's CA (a plain client without TLS).
    ///
    /// # Panics
    /// If the client cannot be built (test code).
    pub fn http_client(&self) -> reqwest::Client {
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = &self.ca_pem {
            let cert = reqwest::Certificate::from_pem(pem.as_bytes())
                .unwrap_or_else(|e| panic!("invariant: the generated CA parses: {e}"));
            builder = builder.add_root_certificate(cert);
        }
        builder
            .build()
            .unwrap_or_else(|e| panic!("cannot build an HTTP client: {e}"))
    }

    /// The `kid` of the key that signs now.
    pub fn signing_kid(&self) -> String {
        lock(&self.shared.ring).active.kid.clone()
    }

    /// The `kid`s the key set publishes, oldest first.
    pub fn published_kids(&self) -> Vec<String> {
        lock(&self.shared.ring)
            .published
            .iter()
            .map(|k| k.kid.clone())
            .collect()
    }

    /// Rollover step 1: generates a key and publishes it (the old key still signs).
    /// Returns its `kid`.
    ///
    /// # Panics
    /// If no RSA key can be generated.
    pub fn publish_new_key(&self) -> String {
        admin::publish_new_key(&self.shared).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Rollover step 2: signs with the published key `kid` from now on. `false` when no
    /// published key has that `kid`.
    pub fn sign_with(&self, kid: &str) -> bool {
        admin::sign_with(&self.shared, kid)
    }

    /// Rollover step 3: withdraws the key `kid` from the key set (if it still signs, tokens
    /// will fail validation: a test of exactly that). `false` when not published.
    pub fn withdraw_key(&self, kid: &str) -> bool {
        admin::withdraw_key(&self.shared, kid)
    }

    /// The three steps at once: publishes a new key, signs with it and withdraws every other
    /// key. Returns the new `kid`.
    ///
    /// # Panics
    /// If no RSA key can be generated.
    pub fn rotate_keys(&self) -> String {
        admin::rotate_keys(&self.shared).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Injects `fault` into key-set responses (`None`: healthy).
    pub fn set_jwks_fault(&self, fault: Option<Fault>) {
        self.shared.keys.set_fault(Endpoint::Jwks, fault);
    }

    /// Injects `fault` into discovery responses (`None`: healthy).
    pub fn set_discovery_fault(&self, fault: Option<Fault>) {
        self.shared.keys.set_fault(Endpoint::Discovery, fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.set_jwks_fault(None);
        self.set_discovery_fault(None);
    }

    /// Key-set requests so far (counted on arrival, faults included).
    pub fn jwks_hits(&self) -> usize {
        self.shared.keys.hits(Endpoint::Jwks)
    }

    /// Discovery requests so far.
    pub fn discovery_hits(&self) -> usize {
        self.shared.keys.hits(Endpoint::Discovery)
    }

    /// Sets the lifetime of access and ID tokens issued from now on (default 1 hour).
    ///
    /// # Errors
    /// [`EmulatorError::Config`] for 5 minutes or less: MSAL treats tokens that expire within 5
    /// minutes as expired, so such tokens would never be reused (test expiry with
    /// [`advance_clock`](Self::advance_clock) instead). More than a day is refused too.
    pub fn set_token_lifetime(&self, lifetime: Duration) -> Result<(), EmulatorError> {
        admin::set_token_lifetime(&self.shared, lifetime.as_secs()).map_err(EmulatorError::Config)
    }

    /// The access-token lifetime in force.
    pub fn token_lifetime(&self) -> Duration {
        Duration::from_secs(
            self.shared
                .token_lifetime
                .load(Ordering::SeqCst)
                .unsigned_abs(),
        )
    }

    /// Moves the emulator's clock forward: tokens, codes and refresh tokens it issues or checks
    /// from now on see the later time.
    pub fn advance_clock(&self, by: Duration) {
        let secs = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.shared.clock.0.fetch_add(secs, Ordering::SeqCst);
    }

    /// The emulator's current time, Unix seconds (system time plus advances).
    pub fn now(&self) -> i64 {
        self.shared.now()
    }

    /// Makes the token endpoint answer every request (or the next `n`, see
    /// [`TokenFault::times`]) with `fault` instead of a token; `None`: healthy. Requests are
    /// still counted per grant.
    ///
    /// ```
    /// use std::time::Duration;
    /// use auth_testkit::emulator::{Emulator, TokenFault};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let idp = Emulator::start().await;
    /// idp.set_token_fault(Some(TokenFault::throttled(Duration::from_secs(2))));
    /// let consumer = idp.app("s2s-example-consumer");
    /// let response = reqwest::Client::new()
    ///     .post(idp.token_endpoint())
    ///     .form(&[
    ///         ("grant_type", "client_credentials"),
    ///         ("client_id", consumer.client_id()),
    ///         ("client_secret", consumer.secret()),
    ///         ("scope", "api://s2s-example-api/.default"),
    ///     ])
    ///     .send()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(response.status(), 429);
    /// assert_eq!(response.headers()["retry-after"], "2");
    /// idp.set_token_fault(None);
    /// # }
    /// ```
    pub fn set_token_fault(&self, fault: Option<TokenFault>) {
        *lock(&self.shared.token_fault) = fault;
    }

    /// While `Some(claims)`, On-Behalf-Of requests (valid ones: the client and the assertion
    /// are still checked first) fail as Entra fails them when Conditional Access requires the
    /// user to do more (e.g. MFA): `400 interaction_required`, `AADSTS50076`, with `claims`
    /// = this JSON. `None`: no challenge.
    pub fn set_obo_claims_challenge(&self, claims: Option<&str>) {
        *lock(&self.shared.obo_claims) = claims.map(str::to_owned);
    }

    /// Adds `refresh_in` (whole seconds) to access-token responses from now on, as Entra does
    /// for long-lived tokens (it asks clients to refresh proactively after that time);
    /// `None`: no `refresh_in` (the default).
    pub fn set_refresh_in(&self, refresh_in: Option<Duration>) {
        let secs = refresh_in.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.shared.refresh_in.store(secs, Ordering::SeqCst);
    }

    /// Token-endpoint requests of this grant so far (counted on arrival, errors included).
    pub fn token_requests(&self, grant: Grant) -> usize {
        self.shared.counters[grant.index()].load(Ordering::SeqCst)
    }

    /// Token-endpoint requests of every grant so far.
    pub fn token_requests_total(&self) -> usize {
        Grant::ALL.iter().map(|g| self.token_requests(*g)).sum()
    }
}
