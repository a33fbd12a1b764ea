//! [`EmulatorBuilder`]: where the tenant, the signing key and TLS come from; binding and
//! starting the server.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::discovery::{self, KeyServing};
use super::keys::{KeyRing, SigningKey};
use super::state::{DEFAULT_TOKEN_LIFETIME, EmulatorClock, Shared};
use super::sync::lock;
use super::tenant::TenantConfig;
use super::{Emulator, EmulatorError, errors, routes, server, tls};

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
        let server = server::spawn(listener, routes::router(Arc::clone(&shared)), tls_config);
        Ok(Emulator {
            shared,
            ca_pem: identity.and_then(|i| i.ca_pem),
            _server: server,
        })
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
}
