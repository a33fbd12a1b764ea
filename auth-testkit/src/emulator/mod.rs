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
mod client_auth;
pub(crate) mod discovery;
mod errors;
pub(crate) mod keys;
mod managed_identity;
mod scopes;
pub(crate) mod server;
mod tenant;
mod tls;
mod token_endpoint;
mod token_faults;
mod tokens;

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::Value;

pub use discovery::Fault;
pub use tenant::{
    AppRegistration, AppRole, ClientCertificate, DEFAULT_TENANT_TOML, FederatedCredential,
    MODELLED_OPTIONAL_CLAIMS, ManagedIdentity, ResourceAccess, TOKEN_EXCHANGE_AUDIENCE,
    TenantConfig, TenantError, User, UserAppRole, derive_guid,
};
pub use token_faults::TokenFault;

use discovery::{Endpoint, KeyServing, lock};
use keys::{KeyRing, SigningKey};

/// How long authorization codes live (Entra: 10 minutes).
const CODE_LIFETIME: i64 = 600;
/// How long refresh tokens live without use (Entra: 90 days).
const REFRESH_LIFETIME: i64 = 90 * 24 * 3600;
/// How long a sign-in page stays usable.
const LOGIN_LIFETIME: i64 = 3600;
/// The default access-token lifetime.
const DEFAULT_TOKEN_LIFETIME: i64 = 3600;

/// A token-endpoint grant, for the per-grant request counters.
///
/// ```
/// use auth_testkit::emulator::{Emulator, Grant};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let idp = Emulator::start().await;
/// assert_eq!(idp.token_requests(Grant::OnBehalfOf), 0);
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Grant {
    /// `authorization_code`.
    AuthorizationCode,
    /// `refresh_token`.
    RefreshToken,
    /// `client_credentials`.
    ClientCredentials,
    /// `urn:ietf:params:oauth:grant-type:jwt-bearer` with `requested_token_use=on_behalf_of`.
    OnBehalfOf,
    /// Anything else (missing or unsupported `grant_type`).
    Other,
    /// A managed-identity token request (IMDS or the App Service identity endpoint).
    ManagedIdentity,
}

impl Grant {
    const ALL: [Grant; 6] = [
        Grant::AuthorizationCode,
        Grant::RefreshToken,
        Grant::ClientCredentials,
        Grant::OnBehalfOf,
        Grant::Other,
        Grant::ManagedIdentity,
    ];

    fn index(self) -> usize {
        match self {
            Grant::AuthorizationCode => 0,
            Grant::RefreshToken => 1,
            Grant::ClientCredentials => 2,
            Grant::OnBehalfOf => 3,
            Grant::Other => 4,
            Grant::ManagedIdentity => 5,
        }
    }

    /// The `grant_type` value (`"other"` for [`Grant::Other`]).
    ///
    /// ```
    /// assert_eq!(auth_testkit::emulator::Grant::ClientCredentials.as_str(), "client_credentials");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization_code",
            Grant::RefreshToken => "refresh_token",
            Grant::ClientCredentials => "client_credentials",
            Grant::OnBehalfOf => "on_behalf_of",
            Grant::Other => "other",
            Grant::ManagedIdentity => "managed_identity",
        }
    }
}

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

/// A code issued by the authorize endpoint.
#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    client_id: String,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    challenge: Option<(String, String)>,
    user_oid: String,
    expires: i64,
    redeemed: bool,
}

/// What a refresh token stands for.
#[derive(Clone, Debug)]
pub(crate) struct RefreshGrant {
    client_id: String,
    user_oid: String,
    scope: String,
    expires: i64,
}

/// An authorize request waiting for the user to sign in.
#[derive(Clone, Debug)]
pub(crate) struct PendingLogin {
    tenant_segment: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    challenge: Option<(String, String)>,
    response_mode: authorize::ResponseMode,
    client_info: bool,
    login_hint: Option<String>,
    expires: i64,
}

/// The emulator's clock: the system clock plus an offset tests advance.
#[derive(Clone, Debug)]
pub(crate) struct EmulatorClock(Arc<AtomicI64>);

impl auth_layer::Clock for EmulatorClock {
    fn now(&self) -> f64 {
        crate::now() as f64 + self.0.load(Ordering::SeqCst) as f64
    }
}

/// Everything the handlers share.
pub(crate) struct Shared {
    base_url: String,
    tenant: TenantConfig,
    keys: KeyServing,
    ring: Mutex<KeyRing>,
    clock: EmulatorClock,
    token_lifetime: AtomicI64,
    auto_login: Option<String>,
    codes: Mutex<HashMap<String, AuthCode>>,
    refresh_tokens: Mutex<HashMap<String, RefreshGrant>>,
    logins: Mutex<HashMap<String, PendingLogin>>,
    /// (user oid, client id, resource client id) → scopes the user consented to.
    consents: Mutex<HashMap<(String, String, String), BTreeSet<String>>>,
    /// (client id, jti) → expiry of client assertions seen.
    assertion_ids: Mutex<HashMap<(String, String), i64>>,
    counters: [AtomicUsize; 6],
    /// The App Service identity endpoint's `IDENTITY_HEADER` secret.
    identity_header: String,
    log: bool,
    /// A fault the token endpoint answers with (see [`TokenFault`]).
    token_fault: Mutex<Option<TokenFault>>,
    /// While set, On-Behalf-Of answers `interaction_required` with these `claims`.
    obo_claims: Mutex<Option<String>>,
    /// `refresh_in` (seconds) added to token responses; 0: none.
    refresh_in: AtomicI64,
}

impl Shared {
    /// The emulator's current time (Unix seconds).
    fn now(&self) -> i64 {
        crate::now().saturating_add(self.clock.0.load(Ordering::SeqCst))
    }

    /// `{base}/{tenantid}/v2.0`: the issuer template in the key set.
    fn issuer_template(&self) -> String {
        format!("{}/{{tenantid}}/v2.0", self.base_url)
    }

    fn v2_issuer(&self) -> String {
        format!("{}/{}/v2.0", self.base_url, self.tenant.tenant_id())
    }

    /// Which tenant a path segment names.
    fn tenant_path(&self, segment: &str) -> Option<TenantPath> {
        if segment.eq_ignore_ascii_case(self.tenant.tenant_id()) {
            Some(TenantPath::Tenant)
        } else if segment.eq_ignore_ascii_case("common")
            || segment.eq_ignore_ascii_case("organizations")
        {
            Some(TenantPath::Multi)
        } else {
            None
        }
    }

    fn republish(&self, ring: &KeyRing) {
        *lock(&self.keys.jwks) = ring.jwks(&self.issuer_template());
    }

    fn user_consents(
        &self,
        user_oid: &str,
        client_id: &str,
        resource_client_id: &str,
    ) -> BTreeSet<String> {
        lock(&self.consents)
            .get(&(
                user_oid.to_owned(),
                client_id.to_owned(),
                resource_client_id.to_owned(),
            ))
            .cloned()
            .unwrap_or_default()
    }

    /// Drops expired codes, logins, assertion ids and refresh tokens.
    fn sweep(&self, now: i64) {
        lock(&self.codes).retain(|_, c| c.expires > now);
        lock(&self.logins).retain(|_, l| l.expires > now);
        lock(&self.assertion_ids).retain(|_, exp| *exp > now - 600);
        lock(&self.refresh_tokens).retain(|_, r| r.expires > now);
    }

    fn count(&self, grant: Grant) {
        self.counters[grant.index()].fetch_add(1, Ordering::SeqCst);
    }

    /// The error of the configured token fault, if any (consuming one of its `times`).
    fn token_fault(&self) -> Option<errors::AadError> {
        let mut slot = lock(&self.token_fault);
        let fault = slot.as_mut()?;
        let (error, stays) = fault.fire();
        if !stays {
            *slot = None;
        }
        Some(error)
    }
}

/// A tenant path segment the emulator answers for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TenantPath {
    /// The tenant id.
    Tenant,
    /// `common` or `organizations`.
    Multi,
}

/// Where the signing key comes from.
enum KeySource {
    Generate,
    Pem(String),
    File(PathBuf),
}

/// Where the tenant comes from.
enum TenantSource {
    Default,
    File(PathBuf),
    Config(Box<TenantConfig>),
}

/// Configures an [`Emulator`]; [`start`](Self::start) binds and serves.
///
/// ```
/// use auth_testkit::emulator::Emulator;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_testkit::emulator::EmulatorError> {
/// let idp = Emulator::builder()
///     .auto_login("alice@example.onmicrosoft.com")
///     .tls(true)
///     .start()
///     .await?;
/// assert!(idp.base_url().starts_with("https://127.0.0.1:"));
/// assert!(idp.ca_pem().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
/// # Ok(()) }
/// ```
#[must_use]
pub struct EmulatorBuilder {
    tenant: TenantSource,
    tls: bool,
    tls_pem: Option<(String, String)>,
    signing_key: KeySource,
    auto_login: Option<String>,
    listen: SocketAddr,
    log: bool,
    identity_header: Option<String>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            tenant: TenantSource::Default,
            tls: false,
            tls_pem: None,
            signing_key: KeySource::Generate,
            auto_login: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: false,
            identity_header: None,
        }
    }
}

impl fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorBuilder")
            .field("tls", &self.tls)
            .field("auto_login", &self.auto_login)
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

impl EmulatorBuilder {
    /// Loads the tenant from this TOML file (default: the embedded default tenant).
    pub fn tenant_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tenant = TenantSource::File(path.into());
        self
    }

    /// Uses this tenant.
    pub fn tenant(mut self, tenant: TenantConfig) -> Self {
        self.tenant = TenantSource::Config(Box::new(tenant));
        self
    }

    /// Serves https with a freshly generated CA ([`Emulator::ca_pem`]) and server certificate
    /// for `127.0.0.1` / `localhost`.
    pub fn tls(mut self, tls: bool) -> Self {
        self.tls = tls;
        self
    }

    /// Serves https with this certificate chain and private key (both PEM).
    pub fn tls_identity(mut self, cert_pem: impl Into<String>, key_pem: impl Into<String>) -> Self {
        self.tls = true;
        self.tls_pem = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// Signs with this RSA key (PKCS#8 PEM) instead of a generated one.
    pub fn signing_key_pem(mut self, pem: impl Into<String>) -> Self {
        self.signing_key = KeySource::Pem(pem.into());
        self
    }

    /// Signs with the RSA key in this PKCS#8 PEM file.
    pub fn signing_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.signing_key = KeySource::File(path.into());
        self
    }

    /// The authorize endpoint signs this user in without showing the sign-in page.
    pub fn auto_login(mut self, username: impl Into<String>) -> Self {
        self.auto_login = Some(username.into());
        self
    }

    /// The address to bind (default `127.0.0.1:0`).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The secret the App Service identity endpoint expects in `X-IDENTITY-HEADER` (its
    /// `IDENTITY_HEADER`; default: random, see [`Emulator::identity_header`]).
    pub fn identity_header(mut self, secret: impl Into<String>) -> Self {
        self.identity_header = Some(secret.into());
        self
    }

    /// Logs one line per request to stderr.
    pub fn log_requests(mut self, log: bool) -> Self {
        self.log = log;
        self
    }

    /// Binds and starts serving.
    ///
    /// # Errors
    /// An invalid tenant, key or certificate, an unknown auto-login user, or a bind failure.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        let tenant = match self.tenant {
            TenantSource::Default => TenantConfig::default_tenant(),
            TenantSource::File(path) => TenantConfig::from_file(path)?,
            TenantSource::Config(config) => *config,
        };
        if let Some(user) = &self.auto_login
            && tenant.user(user).is_none()
        {
            return Err(EmulatorError::Config(format!(
                "the auto-login user {user:?} is not in the tenant"
            )));
        }
        let key = match self.signing_key {
            KeySource::Generate => SigningKey::generate(),
            KeySource::Pem(pem) => SigningKey::from_pkcs8_pem(&pem),
            KeySource::File(path) => {
                let pem = std::fs::read_to_string(&path).map_err(|e| {
                    EmulatorError::Io(format!("cannot read {}: {e}", path.display()))
                })?;
                SigningKey::from_pkcs8_pem(&pem)
            }
        }
        .map_err(EmulatorError::Crypto)?;
        let identity = match (self.tls, self.tls_pem) {
            (_, Some((cert, key))) => Some(tls::TlsIdentity::from_pem(&cert, &key)),
            (true, None) => Some(tls::TlsIdentity::generate()),
            (false, None) => None,
        }
        .transpose()
        .map_err(EmulatorError::Crypto)?;
        let tls_config = identity
            .as_ref()
            .map(tls::TlsIdentity::server_config)
            .transpose()
            .map_err(EmulatorError::Crypto)?;

        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .map_err(|e| EmulatorError::Io(format!("cannot bind {}: {e}", self.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| EmulatorError::Io(format!("no local address: {e}")))?;
        let scheme = if tls_config.is_some() {
            "https"
        } else {
            "http"
        };
        // A wildcard bind is advertised on loopback, the address clients here can use.
        let host = match addr.ip() {
            std::net::IpAddr::V6(ip) if ip.is_unspecified() => "[::1]".to_owned(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            std::net::IpAddr::V4(ip) if ip.is_unspecified() => "127.0.0.1".to_owned(),
            std::net::IpAddr::V4(ip) => ip.to_string(),
        };
        let base_url = format!("{scheme}://{host}:{}", addr.port());

        let ring = KeyRing::new(key);
        let shared = Arc::new(Shared {
            keys: KeyServing::new(base_url.clone(), Value::Null),
            base_url,
            tenant,
            ring: Mutex::new(ring),
            clock: EmulatorClock(Arc::new(AtomicI64::new(0))),
            token_lifetime: AtomicI64::new(DEFAULT_TOKEN_LIFETIME),
            auto_login: self.auto_login,
            codes: Mutex::default(),
            refresh_tokens: Mutex::default(),
            logins: Mutex::default(),
            consents: Mutex::default(),
            assertion_ids: Mutex::default(),
            counters: Default::default(),
            identity_header: self.identity_header.unwrap_or_else(errors::random_token),
            log: self.log,
            token_fault: Mutex::new(None),
            obo_claims: Mutex::new(None),
            refresh_in: AtomicI64::new(0),
        });
        shared.republish(&lock(&shared.ring));
        for slot in [
            &shared.keys.jwks_cache_control,
            &shared.keys.discovery_cache_control,
        ] {
            *lock(slot) = Some(discovery::ENTRA_METADATA_CACHE_CONTROL.to_owned());
        }
        let server = server::spawn(listener, router(Arc::clone(&shared)), tls_config);
        Ok(Emulator {
            shared,
            ca_pem: identity.and_then(|i| i.ca_pem),
            _server: server,
        })
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
    /// Starts an emulator of the default tenant on `127.0.0.1:0`, plain http.
    ///
    /// # Panics
    /// If it cannot start (no loopback port, no key): test code cannot run anyway.
    pub async fn start() -> Emulator {
        Emulator::builder()
            .start()
            .await
            .unwrap_or_else(|err| panic!("the Entra emulator cannot start: {err}"))
    }

    /// Starts a configuration.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

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

fn router(shared: Arc<Shared>) -> Router {
    let log = shared.log;
    let router = Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(token_endpoint::discovery_v2),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(token_endpoint::discovery_v1),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(token_endpoint::jwks))
        .route("/{tenant}/discovery/keys", get(token_endpoint::jwks))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(authorize::authorize).post(authorize::sign_in),
        )
        .route(
            "/{tenant}/oauth2/authorize",
            get(authorize::authorize).post(authorize::sign_in),
        )
        .route("/{tenant}/oauth2/v2.0/token", post(token_endpoint::token))
        .route("/{tenant}/oauth2/token", post(token_endpoint::token))
        .route(
            "/{tenant}/discovery/instance",
            get(token_endpoint::instance_discovery),
        )
        .route(managed_identity::IMDS_PATH, get(managed_identity::imds))
        .route(
            managed_identity::APP_SERVICE_PATH,
            get(managed_identity::app_service),
        )
        .route(
            "/oidc/userinfo",
            get(token_endpoint::userinfo).post(token_endpoint::userinfo),
        )
        .merge(admin::routes(Arc::clone(&shared)))
        .fallback(token_endpoint::not_found)
        .method_not_allowed_fallback(token_endpoint::method_not_allowed)
        .with_state(shared);
    if log {
        router.layer(axum::middleware::from_fn(log_request))
    } else {
        router
    }
}

async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status: StatusCode = response.status();
    eprintln!("entra-emulator: {method} {path} -> {}", status.as_u16());
    response
}
