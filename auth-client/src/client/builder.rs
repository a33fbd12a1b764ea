//! [`ConfidentialClientBuilder`]: the configuration, checked once by `build()`.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use auth_layer::authority::{Authority, TenantId, is_guid};
use auth_layer::jwks::JwksCache;
use auth_layer::{Clock, SystemClock, Validator, ValidatorBuilder};
use tokio::sync::OnceCell;

use super::endpoint::{ClientAuthMethod, TokenEndpoint};
use super::flight::{Flights, Throttle};
use super::stats::Counters;
use super::{
    ConfidentialClient, DEFAULT_CONNECT_TIMEOUT, DEFAULT_EXPIRY_MARGIN, DEFAULT_INSTANCE,
    DEFAULT_RETRY_DELAY, DEFAULT_TIMEOUT, Inner,
};
use crate::cache::{DEFAULT_CACHE_CAPACITY, InMemoryTokenCache, TokenCache};
use crate::credential::{
    AssertionAlgorithm, ClientCertificate, ClientCredential, ClientPrivateKey,
};
use crate::error::BuildError;
use crate::provider::{Provider, check_entra_host};
use crate::transport::Transport;
/// The validator needs an owned `Clock`; the client shares one.
#[derive(Clone)]
struct SharedClock(Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now(&self) -> f64 {
        self.0.now()
    }
}

impl ConfidentialClient {
    /// Starts a configuration.
    pub fn builder() -> ConfidentialClientBuilder {
        ConfidentialClientBuilder::default()
    }
}

type ValidatorHook = Box<dyn FnOnce(ValidatorBuilder) -> ValidatorBuilder + Send>;

/// Configures a [`ConfidentialClient`], reqwest-style: consuming `#[must_use]` setters; invalid
/// input is remembered and reported once by [`build`](Self::build).
///
/// Required: an authority ([`authority`](Self::authority), or [`instance`](Self::instance) +
/// [`tenant_id`](Self::tenant_id), or [`issuer`](Self::issuer)), a
/// [`client_id`](Self::client_id), and one credential ([`client_secret`](Self::client_secret),
/// [`certificate_pem`](Self::certificate_pem) / [`certificate_file`](Self::certificate_file),
/// [`federated_token_file`](Self::federated_token_file),
/// [`client_assertion`](Self::client_assertion), or [`credential`](Self::credential)).
///
/// Entra authorities use `{authority}/oauth2/v2.0/authorize` and `/token` (no discovery); the
/// ID-token keys come from the authority's discovery document through auth-layer's
/// [`JwksCache`]. OIDC issuers are discovered (`{issuer}/.well-known/openid-configuration`),
/// once, on first use.
#[must_use]
pub struct ConfidentialClientBuilder {
    authority_url: Option<String>,
    instance: Option<String>,
    tenant: Option<String>,
    issuer: Option<String>,
    client_id: Option<String>,
    credential: Option<ClientCredential>,
    auth_method: ClientAuthMethod,
    algorithm: Option<AssertionAlgorithm>,
    send_chain: bool,
    capabilities: Vec<String>,
    trusted_hosts: Vec<String>,
    http_client: Option<reqwest::Client>,
    timeout: Duration,
    connect_timeout: Duration,
    retry_delay: Duration,
    cache: Option<Arc<dyn TokenCache>>,
    cache_capacity: usize,
    expiry_margin: Duration,
    clock: Arc<dyn Clock>,
    resource: Option<String>,
    jwks: Option<JwksCache>,
    validator_hook: Option<ValidatorHook>,
    error: Option<BuildError>,
}

impl Default for ConfidentialClientBuilder {
    fn default() -> Self {
        ConfidentialClientBuilder {
            authority_url: None,
            instance: None,
            tenant: None,
            issuer: None,
            client_id: None,
            credential: None,
            auth_method: ClientAuthMethod::default(),
            algorithm: None,
            send_chain: false,
            capabilities: Vec::new(),
            trusted_hosts: Vec::new(),
            http_client: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            retry_delay: DEFAULT_RETRY_DELAY,
            cache: None,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            expiry_margin: DEFAULT_EXPIRY_MARGIN,
            clock: Arc::new(SystemClock),
            resource: None,
            jwks: None,
            validator_hook: None,
            error: None,
        }
    }
}

impl ConfidentialClientBuilder {
    pub(crate) fn fail(mut self, error: BuildError) -> Self {
        self.error.get_or_insert(error);
        self
    }

    fn set_credential(mut self, credential: ClientCredential) -> Self {
        if self.credential.is_some() {
            return self.fail(BuildError::Config("set exactly one client credential"));
        }
        self.credential = Some(credential);
        self
    }

    /// An Entra authority `{instance}/{tenant}`, e.g.
    /// `https://login.microsoftonline.com/<tenant-id>` (in tests, the emulator's
    /// `authority()`). https only, or http to a loopback host.
    pub fn authority(mut self, authority: impl Into<String>) -> Self {
        self.authority_url = Some(authority.into());
        self
    }

    /// The Entra instance (authority host), default `https://login.microsoftonline.com`; use
    /// with [`tenant_id`](Self::tenant_id).
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// The Entra tenant: its id (recommended), a domain name, `organizations` or `common`.
    pub fn tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Any other OpenID Connect provider, by issuer URL (Keycloak realm, Auth0 tenant, Okta
    /// authorization server, panva's oidc-provider…): endpoints and keys by discovery; ID
    /// tokens (and RFC 9207 authorization responses) must carry exactly this `iss`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Trusts an Entra authority host that is not one of Microsoft's known cloud hosts (e.g.
    /// a proxy in front of Entra). Known hosts need no trust: the public cloud
    /// (`login.microsoftonline.com`, `login.windows.net`, `login.microsoft.com`,
    /// `sts.windows.net`), US Government (`login.microsoftonline.us`,
    /// `login.usgovcloudapi.net`, `login-us.microsoftonline.com`), China
    /// (`login.partner.microsoftonline.cn`, `login.chinacloudapi.cn`), and loopback hosts
    /// (a local emulator). Any other host is refused by [`build`](Self::build), as MSAL's
    /// authority validation refuses it.
    pub fn trust_authority_host(mut self, host: impl Into<String>) -> Self {
        self.trusted_hosts
            .push(host.into().trim().to_ascii_lowercase());
        self
    }

    /// Client capabilities announced to Entra (only) in every token request, e.g. `["cp1"]`: this
    /// client handles claims challenges, so Entra may issue long-lived tokens subject to
    /// Continuous Access Evaluation. Sent as `claims`
    /// `{"access_token":{"xms_cc":{"values":["cp1"]}}}`, merged with a request's own claims,
    /// as MSAL does
    /// (<https://learn.microsoft.com/en-us/entra/identity-platform/claims-challenge>). With
    /// capabilities, answer a downstream API's 401 claims challenge with a
    /// [`TokenRequest`](crate::TokenRequest) carrying its [`claims`](crate::TokenRequest::claims).
    pub fn client_capabilities<I, S>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.capabilities
            .extend(capabilities.into_iter().map(Into::into));
        self
    }

    /// The app registration's Application (client) ID.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into().trim().to_owned());
        self
    }

    /// Authenticates with a client secret.
    pub fn client_secret(self, secret: impl Into<String>) -> Self {
        self.set_credential(ClientCredential::secret(secret))
    }

    /// Authenticates with a certificate: PEM certificate (or chain) and PEM private key
    /// (PKCS#8 or PKCS#1 RSA). Client assertions are PS256 with `x5t#S256` by default (see
    /// [`assertion_algorithm`](Self::assertion_algorithm)).
    pub fn certificate_pem(self, cert_pem: &str, key_pem: &str) -> Self {
        match ClientCertificate::from_pem(cert_pem, key_pem) {
            Ok(cert) => self.set_credential(ClientCredential::certificate(cert)),
            Err(e) => self.fail(e),
        }
    }

    /// Authenticates with the certificate and private key in this PEM file: read now, and
    /// re-read when it changes ([`ClientCredential::certificate_file`]).
    pub fn certificate_file(self, path: impl Into<PathBuf>) -> Self {
        match ClientCredential::certificate_file(path.into()) {
            Ok(credential) => self.set_credential(credential),
            Err(e) => self.fail(e),
        }
    }

    /// Authenticates with a federated assertion read from this file on every request
    /// (workload identity: `AZURE_FEDERATED_TOKEN_FILE`).
    pub fn federated_token_file(self, path: impl Into<PathBuf>) -> Self {
        self.set_credential(ClientCredential::federated_token_file(path))
    }

    /// Authenticates with `private_key_jwt` (RFC 7523) signed by a plain private key the
    /// provider knows by `kid` (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC P-256). The algorithm is
    /// [`assertion_algorithm`](Self::assertion_algorithm) when set, otherwise chosen from the
    /// provider's `token_endpoint_auth_signing_alg_values_supported`: ES256 for an EC key,
    /// RS256 (else PS256) for RSA.
    pub fn private_key_pem(self, key_pem: &str, kid: &str) -> Self {
        match ClientPrivateKey::from_pem(key_pem, kid) {
            Ok(key) => self.set_credential(ClientCredential::private_key(key)),
            Err(e) => self.fail(e),
        }
    }

    /// Authenticates with an assertion `callback` produces for every request; the callback
    /// receives the audience the assertion must name (the token endpoint URL).
    pub fn client_assertion<F, Fut, E>(self, callback: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<String, E>> + Send + 'static,
        E: Into<crate::credential::BoxError>,
    {
        self.set_credential(ClientCredential::assertion_callback(callback))
    }

    /// Authenticates with this credential.
    pub fn credential(self, credential: ClientCredential) -> Self {
        self.set_credential(credential)
    }

    /// The signature algorithm of client assertions: for certificates PS256 with `x5t#S256`
    /// by default, or RS256 with `x5t` for providers without PS256; for
    /// [`private_key_pem`](Self::private_key_pem), chosen from discovery unless set here.
    pub fn assertion_algorithm(mut self, algorithm: AssertionAlgorithm) -> Self {
        self.algorithm = Some(algorithm);
        self
    }

    /// Sends the certificate chain (`x5c`) in certificate assertions, for Entra's subject name
    /// + issuer authentication (default `false`).
    pub fn send_certificate_chain(mut self, send: bool) -> Self {
        self.send_chain = send;
        self
    }

    /// How a client secret is sent (default `client_secret_post`).
    pub fn client_auth_method(mut self, method: ClientAuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// The HTTP client (proxies, extra root certificates such as the emulator's CA…). Its
    /// redirect policy applies (the default client follows none). Also used for the ID-token
    /// keys.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Total timeout of one exchange with the token endpoint, connect to last byte (default
    /// 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout of the default HTTP client (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Base delay before the single retry of a 5xx answer or connection failure (default
    /// 500 ms, jittered ±50 %).
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// Keeps app and On-Behalf-Of tokens in this store instead of the default in-memory one.
    pub fn cache(mut self, cache: impl TokenCache) -> Self {
        self.cache = Some(Arc::new(cache));
        self
    }

    /// Capacity of the default in-memory cache, in entries (default 10,000).
    pub fn cache_capacity(mut self, entries: usize) -> Self {
        self.cache_capacity = entries;
        self
    }

    /// A cached token is served until this long before it expires (default 5 minutes). Tokens
    /// that live less than this are returned but never served from the cache.
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    /// The clock for expiry decisions, assertion timestamps and ID-token validation (default:
    /// the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// A default RFC 8707 `resource` indicator, sent on every grant (client credentials, token
    /// exchange, authorize, code redemption, refresh) to providers other than Entra; such
    /// providers issue a JWT access token for the resource (an opaque one without it).
    /// Entra's v2 endpoint refuses the parameter (the scope names the resource), so
    /// [`build`](Self::build) fails with an Entra authority.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Validates ID tokens with the keys of this cache instead of one built from the authority.
    pub fn jwks(mut self, cache: JwksCache) -> Self {
        self.jwks = Some(cache);
        self
    }

    /// Adjusts the ID-token validator (e.g. `|v| v.algorithms([Algorithm::ES256])` for a
    /// provider signing with ECDSA, or more tenants).
    pub fn id_token_validator(
        mut self,
        configure: impl FnOnce(ValidatorBuilder) -> ValidatorBuilder + Send + 'static,
    ) -> Self {
        self.validator_hook = Some(Box::new(configure));
        self
    }

    /// Checks the configuration and builds the client. Needs no runtime and does no I/O.
    ///
    /// # Errors
    /// The first invalid setting, or [`BuildError::NoAuthority`] / [`BuildError::NoClientId`] /
    /// [`BuildError::NoCredential`].
    pub fn build(self) -> Result<ConfidentialClient, BuildError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let entra_parts = self.instance.is_some() || self.tenant.is_some();
        let authority = match (&self.issuer, &self.authority_url) {
            (Some(_), Some(_)) => {
                return Err(BuildError::Config(
                    "set either an Entra authority or an OIDC issuer, not both",
                ));
            }
            (Some(_), None) | (None, Some(_)) if entra_parts => {
                return Err(BuildError::Config(
                    "instance(...)/tenant_id(...) cannot be combined with authority(...) or \
                     issuer(...)",
                ));
            }
            (Some(issuer), None) => Provider::oidc(issuer)?,
            (None, Some(url)) => Provider::Entra(Authority::parse(url)?),
            (None, None) => match &self.tenant {
                Some(tenant) => Provider::Entra(Authority::new(
                    self.instance.as_deref().unwrap_or(DEFAULT_INSTANCE),
                    tenant,
                )?),
                None => return Err(BuildError::NoAuthority),
            },
        };
        if let Provider::Entra(authority) = &authority {
            check_entra_host(authority, &self.trusted_hosts)?;
            if self.resource.is_some() {
                return Err(BuildError::Config(
                    "resource(...) is for providers other than Entra: Entra's v2 endpoint refuses \
                     the resource parameter; name the resource in the scope \
                     ({resource}/.default)",
                ));
            }
        }
        let client_id = self
            .client_id
            .filter(|c| !c.is_empty())
            .ok_or(BuildError::NoClientId)?;
        let credential = self.credential.ok_or(BuildError::NoCredential)?;
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(BuildError::Config("timeouts must be greater than zero"));
        }
        let http = match self.http_client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("auth-client/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| BuildError::HttpClient(e.to_string()))?,
        };

        let mut v = Validator::builder().clock(SharedClock(Arc::clone(&self.clock)));
        match &authority {
            Provider::Entra(authority) => {
                // ID tokens name the cloud's canonical host whichever alias was configured.
                v = v.instance(authority.issuer_instance());
                v = match authority.tenant() {
                    TenantId::Id(tid) => v.tenant_id(tid.as_str()),
                    // A domain or alias: ID tokens carry the tenant's GUID, unknown here.
                    _ => v.any_tenant(),
                };
            }
            Provider::Oidc { issuer } => v = v.issuer(issuer.clone()),
        }
        let lower = client_id.to_ascii_lowercase();
        v = if is_guid(&lower) {
            v.client_id(lower)
        } else {
            v.audience(client_id.clone())
        };
        v = v.accept_id_tokens();
        if let Some(hook) = self.validator_hook {
            v = hook(v);
        }
        let validator = v.build()?;

        let (cache, memory): (Arc<dyn TokenCache>, _) = match self.cache {
            Some(cache) => (cache, None),
            None => {
                let memory = Arc::new(InMemoryTokenCache::new(self.cache_capacity));
                (Arc::clone(&memory) as Arc<dyn TokenCache>, Some(memory))
            }
        };
        let authority_key = authority.key();
        Ok(ConfidentialClient {
            inner: Arc::new(Inner {
                endpoint: TokenEndpoint {
                    endpoints: OnceCell::new_with(authority.entra_endpoints()),
                    authority,
                    authority_key,
                    client_id,
                    credential,
                    auth_method: self.auth_method,
                    algorithm: self.algorithm,
                    send_chain: self.send_chain,
                    transport: Transport {
                        client: http,
                        timeout: self.timeout,
                    },
                    retry_delay: self.retry_delay,
                    clock: self.clock,
                    throttle: Throttle::default(),
                    counters: Counters::default(),
                },
                cache,
                memory,
                expiry_margin: self.expiry_margin.as_secs_f64(),
                resource: self.resource,
                capabilities: self.capabilities,
                jwks: OnceCell::new_with(self.jwks),
                validator,
                flights: Flights::default(),
            }),
        })
    }
}

impl fmt::Debug for ConfidentialClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfidentialClientBuilder")
            .field("authority", &self.authority_url)
            .field("instance", &self.instance)
            .field("tenant", &self.tenant)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("credential", &self.credential)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_reports_missing_and_conflicting_settings() {
        let err = ConfidentialClient::builder().build().unwrap_err();
        assert_eq!(err, BuildError::NoAuthority);
        let err = ConfidentialClient::builder()
            .tenant_id("8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10")
            .build()
            .unwrap_err();
        assert_eq!(err, BuildError::NoClientId);
        let err = ConfidentialClient::builder()
            .tenant_id("8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10")
            .client_id("c")
            .build()
            .unwrap_err();
        assert_eq!(err, BuildError::NoCredential);
        let err = ConfidentialClient::builder()
            .tenant_id("t")
            .client_id("c")
            .client_secret("a")
            .client_secret("b")
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::Config(_)));
        let err = ConfidentialClient::builder()
            .authority("http://login.example.com/t")
            .client_id("c")
            .client_secret("a")
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::InvalidUrl { .. }), "{err}");
        let err = ConfidentialClient::builder()
            .authority("https://login.example.com/t")
            .issuer("https://idp")
            .client_id("c")
            .client_secret("a")
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::Config(_)));
    }
}
