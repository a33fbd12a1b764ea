//! Configuration from environment variables, the Azure SDK's names first.
//!
//! Every service reads its settings with a `from_env()` (or `from_vars(..)` over any variable
//! source, for tests). The variables are documented in `examples/README.md`.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use auth_client::{ClientCredential, ConfidentialClient};
use auth_layer::{Authenticator, AuthenticatorBuilder, Profile};

/// Entra's public cloud, the default `AZURE_AUTHORITY_HOST`.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

/// Why a configuration could not be read or used.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is not set (or empty).
    Missing(&'static str),
    /// A variable is set to something unusable.
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong with it (never its value when the variable is a secret).
        reason: String,
    },
    /// The token validator could not be set up.
    Authenticator(auth_layer::AuthenticatorError),
    /// The token client could not be set up.
    Client(auth_client::BuildError),
    /// A socket could not be bound.
    Bind(SocketAddr, std::io::Error),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Missing(name) => write!(f, "the environment variable {name} is not set"),
            ConfigError::Invalid { name, reason } => write!(f, "{name}: {reason}"),
            ConfigError::Authenticator(e) => write!(f, "token validation setup: {e}"),
            ConfigError::Client(e) => write!(f, "token client setup: {e}"),
            ConfigError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<auth_layer::AuthenticatorError> for ConfigError {
    fn from(e: auth_layer::AuthenticatorError) -> Self {
        ConfigError::Authenticator(e)
    }
}

impl From<auth_client::BuildError> for ConfigError {
    fn from(e: auth_client::BuildError) -> Self {
        ConfigError::Client(e)
    }
}

/// A variable lookup.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// A source of configuration variables: the process environment, or a map in tests.
pub struct Vars<'a>(Lookup<'a>);

impl fmt::Debug for Vars<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Vars")
    }
}

impl<'a> Vars<'a> {
    /// The process environment.
    pub fn env() -> Vars<'static> {
        Vars(Box::new(|name| std::env::var(name).ok()))
    }

    /// Any lookup function, e.g. over a `HashMap` in a test.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Vars(Box::new(lookup))
    }

    /// Pairs, for tests: `Vars::from_pairs(&[("AZURE_TENANT_ID", "…")])`.
    pub fn from_pairs(pairs: &'a [(&'a str, &'a str)]) -> Self {
        Vars(Box::new(move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }))
    }

    /// The trimmed value, `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The value, or [`ConfigError::Missing`].
    pub fn require(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing(name))
    }

    /// The value, or `default`.
    pub fn or(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_owned())
    }

    /// `LISTEN_ADDR`, or `default`.
    pub fn listen_addr(&self, default: &str) -> Result<SocketAddr, ConfigError> {
        self.listen_addr_named("LISTEN_ADDR", default)
    }

    /// A socket address from the variable `name` (or `default`).
    ///
    /// # Errors
    /// Not a socket address (`host:port`).
    pub fn listen_addr_named(
        &self,
        name: &'static str,
        default: &str,
    ) -> Result<SocketAddr, ConfigError> {
        let text = self.or(name, default);
        text.parse().map_err(|_| ConfigError::Invalid {
            name,
            reason: format!("{text:?} is not a socket address such as 127.0.0.1:8080"),
        })
    }

    /// An `http(s)` base URL, without a trailing slash.
    pub fn url(&self, name: &'static str, default: &str) -> Result<String, ConfigError> {
        let text = self.or(name, default);
        check_url(name, &text)?;
        Ok(text.trim_end_matches('/').to_owned())
    }

    /// A whole number of seconds.
    pub fn seconds(&self, name: &'static str) -> Result<Option<Duration>, ConfigError> {
        self.get(name)
            .map(|text| {
                text.parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| ConfigError::Invalid {
                        name,
                        reason: format!("{text:?} is not a whole number of seconds"),
                    })
            })
            .transpose()
    }

    /// A list separated by commas or whitespace.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|v| {
            v.split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }
}

fn check_url(name: &'static str, text: &str) -> Result<(), ConfigError> {
    if text.starts_with("http://") || text.starts_with("https://") {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            name,
            reason: format!("{text:?} is not an http(s) URL"),
        })
    }
}

/// HTTP client settings: `EXTRA_CA_FILE`, an extra root certificate (PEM, one or more) to
/// trust, e.g. the emulator's CA when it serves https.
#[derive(Clone, Debug, Default)]
pub struct Http {
    extra_roots: Vec<reqwest::Certificate>,
}

impl Http {
    /// Reads `EXTRA_CA_FILE`.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let Some(path) = vars.get("EXTRA_CA_FILE") else {
            return Ok(Http::default());
        };
        let pem = std::fs::read(&path).map_err(|e| ConfigError::Invalid {
            name: "EXTRA_CA_FILE",
            reason: format!("cannot read {path}: {e}"),
        })?;
        Http::with_pem(&pem).map_err(|reason| ConfigError::Invalid {
            name: "EXTRA_CA_FILE",
            reason: format!("{path}: {reason}"),
        })
    }

    /// Trusts the certificates of this PEM bundle too.
    ///
    /// # Errors
    /// The PEM holds no certificate or does not parse.
    pub fn with_pem(pem: &[u8]) -> Result<Self, String> {
        let extra_roots = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| format!("not a PEM certificate bundle: {e}"))?;
        if extra_roots.is_empty() {
            return Err("no certificate in the PEM".to_owned());
        }
        Ok(Http { extra_roots })
    }

    /// Whether extra roots are configured (the crates' own default clients are used
    /// otherwise).
    pub fn has_extra_roots(&self) -> bool {
        !self.extra_roots.is_empty()
    }

    /// A client for calls to other services: bounded timeouts, no redirects followed, the
    /// extra roots trusted.
    ///
    /// # Errors
    /// The TLS backend cannot be initialised.
    pub fn client(&self) -> Result<reqwest::Client, ConfigError> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none());
        for cert in &self.extra_roots {
            builder = builder.add_root_certificate(cert.clone());
        }
        builder.build().map_err(|e| ConfigError::Invalid {
            name: "EXTRA_CA_FILE",
            reason: format!("no HTTP client can be built: {e}"),
        })
    }
}

/// Who issues the tokens an API accepts: an Entra tenant, or a plain OIDC issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Issuer {
    /// `AZURE_TENANT_ID` at `AZURE_AUTHORITY_HOST` (v1 and v2 issuers of that tenant).
    Entra {
        /// `AZURE_AUTHORITY_HOST` (the instance), without a trailing slash.
        authority_host: String,
        /// `AZURE_TENANT_ID`.
        tenant_id: String,
    },
    /// `OIDC_ISSUER`: exactly this issuer, keys from its discovery document.
    Oidc(String),
}

/// `OIDC_PROVIDER`: where a plain OIDC provider puts the calling client and the permissions
/// in its access tokens (see `docs/oidc-providers.md` for the sources).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderProfile {
    /// Entra's shapes at a plain issuer (`entra`): `roles` for applications, `scp` for users.
    Entra,
    /// RFC 9068 JWT access tokens (`rfc9068`, the default): `client_id`, permissions in
    /// `scope`; an app token has `sub` = `client_id` (RFC 9068 §2.2).
    #[default]
    Rfc9068,
    /// Okta custom authorization servers (`okta`): `cid`, permissions in `scp`; an app token
    /// has `sub` = `cid` and no `uid`.
    Okta,
    /// Auth0 (`auth0`): `azp`, permissions in `permissions` (RBAC on) or `scope`; an app token
    /// has `gty` = `client-credentials` (`sub` = `{client id}@clients`).
    Auth0,
    /// Keycloak (`keycloak`): `azp`, permissions in `scope` and `realm_access.roles`; an app
    /// token is a service account's (`preferred_username` starts with `service-account-`).
    Keycloak,
}

impl ProviderProfile {
    /// Reads `OIDC_PROVIDER` (`entra`, `rfc9068`, `okta`, `auth0`, `keycloak`; default `rfc9068`).
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        match vars.get("OIDC_PROVIDER").map(|v| v.to_ascii_lowercase()) {
            None => Ok(ProviderProfile::Rfc9068),
            Some(v) => match v.as_str() {
                "entra" => Ok(ProviderProfile::Entra),
                "rfc9068" => Ok(ProviderProfile::Rfc9068),
                "okta" => Ok(ProviderProfile::Okta),
                "auth0" => Ok(ProviderProfile::Auth0),
                "keycloak" => Ok(ProviderProfile::Keycloak),
                _ => Err(ConfigError::Invalid {
                    name: "OIDC_PROVIDER",
                    reason: format!("{v:?} is not one of entra, rfc9068, okta, auth0, keycloak"),
                }),
            },
        }
    }
}

/// The settings of a resource API's token validation.
#[derive(Clone, Debug)]
pub struct ResourceConfig {
    /// Who issues the tokens.
    pub issuer: Issuer,
    /// `AZURE_CLIENT_ID`: this API's application (client) id; accepted as `aud` (and
    /// `api://{client id}`).
    pub client_id: String,
    /// `ACCEPTED_AUDIENCES`: more audiences (App ID URIs such as `api://backend-api-id`),
    /// separated by commas or spaces.
    pub accepted_audiences: Vec<String>,
    /// `JWKS_MIN_REFRESH_SECS`: the kid-miss refresh window (auth-layer's default: 5 minutes).
    pub jwks_min_refresh: Option<Duration>,
    /// `REQUIRED_PERMISSIONS`: the permissions a route needs (any one suffices), separated by
    /// commas or spaces, instead of the service's seed permission (`Files.Write`…).
    pub required_permissions: Option<Vec<String>>,
    /// `OIDC_PROVIDER`: where permissions are read under `OIDC_ISSUER`.
    pub provider: ProviderProfile,
    /// `EXTRA_CA_FILE`.
    pub http: Http,
    /// `OIDC_PROVIDER`: the provider profile that classifies tokens (`entra`, `rfc9068`, `okta`,
    /// `auth0`, `keycloak`); unset: `entra` for Entra issuers, `rfc9068` for `OIDC_ISSUER`.
    pub profile: Option<String>,
}

impl ResourceConfig {
    /// Reads `AZURE_AUTHORITY_HOST`, `AZURE_TENANT_ID` (or `OIDC_ISSUER`), `AZURE_CLIENT_ID`,
    /// `ACCEPTED_AUDIENCES` (default `default_audiences` for Entra; none under `OIDC_ISSUER`),
    /// `REQUIRED_PERMISSIONS`, `OIDC_PROVIDER`, `JWKS_MIN_REFRESH_SECS`, `EXTRA_CA_FILE`.
    pub fn from_vars(vars: &Vars<'_>, default_audiences: &[&str]) -> Result<Self, ConfigError> {
        let issuer = match vars.get("OIDC_ISSUER") {
            Some(issuer) => {
                check_url("OIDC_ISSUER", &issuer)?;
                Issuer::Oidc(issuer)
            }
            None => Issuer::Entra {
                authority_host: authority_host(vars)?,
                tenant_id: vars
                    .require("AZURE_TENANT_ID")
                    .map_err(|_| ConfigError::Invalid {
                        name: "AZURE_TENANT_ID",
                        reason: "not set (set it, or OIDC_ISSUER for another OIDC provider)"
                            .to_owned(),
                    })?,
            },
        };
        let profile = vars.get("OIDC_PROVIDER");
        if let Some(name) = &profile
            && Profile::from_name(name).is_none()
        {
            return Err(ConfigError::Invalid {
                name: "OIDC_PROVIDER",
                reason: format!("{name:?} is not one of entra, rfc9068, okta, auth0, keycloak"),
            });
        }
        // The seed's App ID URIs are Entra's; another provider's audiences are its own.
        let default_audiences: &[&str] = match issuer {
            Issuer::Entra { .. } => default_audiences,
            Issuer::Oidc(_) => &[],
        };
        Ok(ResourceConfig {
            profile,
            issuer,
            client_id: client_id(vars)?,
            accepted_audiences: vars
                .list("ACCEPTED_AUDIENCES")
                .unwrap_or_else(|| default_audiences.iter().map(|a| (*a).to_owned()).collect()),
            jwks_min_refresh: vars.seconds("JWKS_MIN_REFRESH_SECS")?,
            required_permissions: vars.list("REQUIRED_PERMISSIONS"),
            provider: ProviderProfile::from_vars(vars)?,
            http: Http::from_vars(vars)?,
        })
    }

    /// An Entra configuration (tests, the tour).
    pub fn entra(
        authority_host: impl Into<String>,
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
    ) -> Self {
        ResourceConfig {
            profile: None,
            issuer: Issuer::Entra {
                authority_host: authority_host.into().trim_end_matches('/').to_owned(),
                tenant_id: tenant_id.into(),
            },
            client_id: client_id.into(),
            accepted_audiences: Vec::new(),
            jwks_min_refresh: None,
            required_permissions: None,
            provider: ProviderProfile::default(),
            http: Http::default(),
        }
    }

    /// The permissions a route needs: `REQUIRED_PERMISSIONS`, or the service's `seed` one.
    pub fn permissions(&self, seed: &str) -> Vec<String> {
        self.required_permissions
            .clone()
            .unwrap_or_else(|| vec![seed.to_owned()])
    }

    /// Where the permissions are: Entra's `roles`/`scp`, or the `OIDC_PROVIDER` profile under
    /// `OIDC_ISSUER`.
    pub fn placement(&self) -> Option<ProviderProfile> {
        match self.issuer {
            Issuer::Entra { .. } => None,
            Issuer::Oidc(_) if self.provider == ProviderProfile::Entra => None,
            Issuer::Oidc(_) => Some(self.provider),
        }
    }

    /// Adds an accepted audience.
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.accepted_audiences.push(audience.into());
        self
    }

    /// The authenticator builder for this configuration.
    ///
    /// # Errors
    /// No HTTP client can be built for the extra root certificates.
    pub fn authenticator_builder(&self) -> Result<AuthenticatorBuilder, ConfigError> {
        let mut b = Authenticator::builder();
        b = match &self.issuer {
            Issuer::Entra {
                authority_host,
                tenant_id,
            } => b.instance(authority_host.as_str()).tenant_id(tenant_id),
            // Other providers' client ids need not be GUIDs: accept it as an audience.
            Issuer::Oidc(issuer) => b.issuer(issuer).audience(&self.client_id),
        };
        if matches!(self.issuer, Issuer::Entra { .. }) {
            b = b.client_id(&self.client_id);
        }
        if let Some(profile) = self.profile.as_deref().and_then(Profile::from_name) {
            b = b.profile(profile);
        }
        for audience in &self.accepted_audiences {
            b = b.audience(audience);
        }
        if let Some(window) = self.jwks_min_refresh {
            b = b.min_refresh_interval(window);
        }
        if self.http.has_extra_roots() {
            b = b.http_client(self.http.client()?);
        }
        Ok(b)
    }

    /// Builds the authenticator and starts loading the signing keys in the background
    /// ([`spawn_key_loader`](crate::ops::spawn_key_loader): retried with backoff), so that an
    /// unreachable identity provider at start-up makes the service *not ready* rather than
    /// exit. A configuration error (a bad GUID or URL) still fails here.
    pub async fn authenticator(&self) -> Result<Authenticator, ConfigError> {
        let auth = self.authenticator_builder()?.build()?;
        crate::ops::spawn_key_loader(&auth);
        Ok(auth)
    }

    /// As [`authenticator`](Self::authenticator), for a gRPC service: refusals of gRPC
    /// requests are gRPC statuses (`AuthenticatorBuilder::grpc_service`).
    pub async fn grpc_authenticator(&self) -> Result<Authenticator, ConfigError> {
        let auth = self.authenticator_builder()?.grpc_service().build()?;
        crate::ops::spawn_key_loader(&auth);
        Ok(auth)
    }
}

/// How a confidential client proves who it is.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credential {
    /// `AZURE_CLIENT_SECRET`.
    Secret(String),
    /// `AZURE_CLIENT_CERTIFICATE_PATH`: a PEM file with the certificate and its key, re-read
    /// when it changes (a renewed certificate needs no restart).
    CertificateFile(PathBuf),
    /// `AZURE_FEDERATED_TOKEN_FILE`: workload identity.
    FederatedTokenFile(PathBuf),
    /// None of the above: the resource's managed identity as the app's federated credential
    /// (no secret anywhere; the app registration trusts the identity).
    ManagedIdentity(ManagedIdentitySettings),
}

/// Which managed identity, and where its endpoint is: what `auth_client::ManagedIdentity`
/// reads from the environment, read here through [`Vars`] so that tests can set it.
#[derive(Clone, Default)]
pub struct ManagedIdentitySettings {
    /// `AZURE_MANAGED_IDENTITY_CLIENT_ID`: a user-assigned identity's client id; unset:
    /// the system-assigned identity.
    pub user_assigned_client_id: Option<String>,
    /// `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` (App Service, Functions, Container Apps).
    pub app_service: Option<(String, String)>,
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST`: the IMDS host instead of `169.254.169.254`.
    pub imds_host: Option<String>,
}

impl ManagedIdentitySettings {
    /// Reads `AZURE_MANAGED_IDENTITY_CLIENT_ID`, `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` and
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
    pub fn from_vars(vars: &Vars<'_>) -> Self {
        ManagedIdentitySettings {
            user_assigned_client_id: vars.get("AZURE_MANAGED_IDENTITY_CLIENT_ID"),
            app_service: vars
                .get("IDENTITY_ENDPOINT")
                .zip(vars.get("IDENTITY_HEADER")),
            imds_host: vars.get("AZURE_POD_IDENTITY_AUTHORITY_HOST"),
        }
    }

    /// The identity (no I/O).
    pub fn identity(&self, http: &Http) -> Result<auth_client::ManagedIdentity, ConfigError> {
        let mut b = auth_client::ManagedIdentity::builder();
        if let Some(id) = &self.user_assigned_client_id {
            b = b.user_assigned_client_id(id);
        }
        b = match (&self.app_service, &self.imds_host) {
            (Some((endpoint, header)), _) => b.app_service(endpoint, header),
            (None, Some(host)) => b.imds_endpoint(format!(
                "{}/metadata/identity/oauth2/token",
                host.trim_end_matches('/')
            )),
            (None, None) => b.imds_endpoint(auth_client::IMDS_ENDPOINT),
        };
        if http.has_extra_roots() {
            b = b.http_client(http.client()?);
        }
        Ok(b.build()?)
    }
}

impl fmt::Debug for ManagedIdentitySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManagedIdentitySettings")
            .field("user_assigned_client_id", &self.user_assigned_client_id)
            // IDENTITY_HEADER is a secret.
            .field(
                "app_service",
                &self.app_service.as_ref().map(|(endpoint, _)| endpoint),
            )
            .field("imds_host", &self.imds_host)
            .finish()
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Secret(_) => f.write_str("Secret([redacted])"),
            Credential::CertificateFile(p) => f.debug_tuple("CertificateFile").field(p).finish(),
            Credential::FederatedTokenFile(p) => {
                f.debug_tuple("FederatedTokenFile").field(p).finish()
            }
            Credential::ManagedIdentity(m) => f.debug_tuple("ManagedIdentity").field(m).finish(),
        }
    }
}

/// The settings of a confidential client (a web app, the middle tier, a daemon).
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `AZURE_AUTHORITY_HOST`, without a trailing slash.
    pub authority_host: String,
    /// `AZURE_TENANT_ID` (empty under `OIDC_ISSUER`).
    pub tenant_id: String,
    /// `OIDC_ISSUER`: another OpenID Connect provider instead of the Entra tenant.
    pub oidc_issuer: Option<String>,
    /// The RFC 8707 `resource` indicator sent with every grant (the service's
    /// `*_API_RESOURCE` variable); only under `OIDC_ISSUER`.
    pub resource: Option<String>,
    /// `AZURE_CLIENT_ID`.
    pub client_id: String,
    /// `AZURE_CLIENT_SECRET`, `AZURE_CLIENT_CERTIFICATE_PATH` or `AZURE_FEDERATED_TOKEN_FILE`
    /// (the first set wins, as in the Azure SDK); without any, the managed identity.
    pub credential: Credential,
    /// `EXTRA_CA_FILE`.
    pub http: Http,
}

impl ClientConfig {
    /// Reads the Azure SDK variables and `EXTRA_CA_FILE`.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let credential = if let Some(secret) = vars.get("AZURE_CLIENT_SECRET") {
            Credential::Secret(secret)
        } else if let Some(path) = vars.get("AZURE_CLIENT_CERTIFICATE_PATH") {
            Credential::CertificateFile(path.into())
        } else if let Some(path) = vars.get("AZURE_FEDERATED_TOKEN_FILE") {
            Credential::FederatedTokenFile(path.into())
        } else {
            // Last in the chain, as in azure-identity's DefaultAzureCredential: the managed
            // identity (here as the app registration's federated credential).
            Credential::ManagedIdentity(ManagedIdentitySettings::from_vars(vars))
        };
        let oidc_issuer = vars.get("OIDC_ISSUER");
        if let Some(issuer) = &oidc_issuer {
            check_url("OIDC_ISSUER", issuer)?;
        }
        Ok(ClientConfig {
            authority_host: authority_host(vars)?,
            tenant_id: match oidc_issuer {
                Some(_) => String::new(),
                None => vars.require("AZURE_TENANT_ID")?,
            },
            oidc_issuer,
            resource: None,
            client_id: client_id(vars)?,
            credential,
            http: Http::from_vars(vars)?,
        })
    }

    /// Reads the RFC 8707 resource indicator of the API this client calls from `name` (e.g.
    /// `S2S_API_RESOURCE`). Entra v2 has no `resource` parameter (the scope names the API), so
    /// it is refused without `OIDC_ISSUER`.
    pub fn resource_from(
        mut self,
        vars: &Vars<'_>,
        name: &'static str,
    ) -> Result<Self, ConfigError> {
        let Some(resource) = vars.get(name) else {
            return Ok(self);
        };
        if self.oidc_issuer.is_none() {
            return Err(ConfigError::Invalid {
                name,
                reason: "an RFC 8707 resource is for OIDC_ISSUER providers; Entra v2 reads the API from the scope".to_owned(),
            });
        }
        self.resource = Some(resource);
        Ok(self)
    }

    /// A client with a secret (tests, the tour).
    pub fn with_secret(
        authority_host: impl Into<String>,
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        ClientConfig {
            authority_host: authority_host.into().trim_end_matches('/').to_owned(),
            tenant_id: tenant_id.into(),
            oidc_issuer: None,
            resource: None,
            client_id: client_id.into(),
            credential: Credential::Secret(secret.into()),
            http: Http::default(),
        }
    }

    /// `{authority host}/{tenant}`, or the `OIDC_ISSUER`.
    pub fn authority(&self) -> String {
        match &self.oidc_issuer {
            Some(issuer) => issuer.clone(),
            None => format!("{}/{}", self.authority_host, self.tenant_id),
        }
    }

    /// Builds the token client (no I/O).
    pub fn client(&self) -> Result<ConfidentialClient, ConfigError> {
        let credential = match &self.credential {
            Credential::Secret(secret) => ClientCredential::secret(secret.clone()),
            Credential::CertificateFile(path) => ClientCredential::certificate_file(path)?,
            Credential::FederatedTokenFile(path) => {
                ClientCredential::federated_token_file(path.clone())
            }
            Credential::ManagedIdentity(settings) => {
                let identity = settings.identity(&self.http)?;
                tracing::info!(
                    identity = ?identity,
                    "no AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or \
                     AZURE_FEDERATED_TOKEN_FILE: the managed identity is the app's credential"
                );
                ClientCredential::managed_identity(identity)
            }
        };
        let mut b = match &self.oidc_issuer {
            Some(issuer) => ConfidentialClient::builder().issuer(issuer),
            None => ConfidentialClient::builder()
                .instance(self.authority_host.as_str())
                .tenant_id(&self.tenant_id),
        }
        .client_id(&self.client_id)
        .credential(credential);
        if let Some(resource) = &self.resource {
            b = b.resource(resource);
        }
        if self.http.has_extra_roots() {
            b = b.http_client(self.http.client()?);
        }
        Ok(b.build()?)
    }
}

fn authority_host(vars: &Vars<'_>) -> Result<String, ConfigError> {
    let host = vars.or("AZURE_AUTHORITY_HOST", DEFAULT_AUTHORITY_HOST);
    check_url("AZURE_AUTHORITY_HOST", &host)?;
    let host = host.trim_end_matches('/');
    // MSAL's habit is an authority with the tenant in its path; the Azure SDK's variable is
    // the cloud's host alone (https://learn.microsoft.com/azure/developer/rust/sdk/authentication
    // and azure-identity's AZURE_AUTHORITY_HOST).
    if let Some(path) = host
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, path)| path)
        .filter(|path| !path.is_empty())
    {
        return Err(ConfigError::Invalid {
            name: "AZURE_AUTHORITY_HOST",
            reason: format!(
                "has a path (/{path}): it is the cloud's host only, e.g. \
                 https://login.microsoftonline.com; put the tenant in AZURE_TENANT_ID"
            ),
        });
    }
    Ok(host.to_owned())
}

/// `AZURE_CLIENT_ID`: the application (client) ID, never an App ID URI.
fn client_id(vars: &Vars<'_>) -> Result<String, ConfigError> {
    let id = vars.require("AZURE_CLIENT_ID")?;
    if id.starts_with("api://") || id.starts_with("https://") {
        return Err(ConfigError::Invalid {
            name: "AZURE_CLIENT_ID",
            reason: "is an App ID URI: set AZURE_CLIENT_ID to the application (client) ID \
                     (a GUID on Entra), and list the App ID URI in ACCEPTED_AUDIENCES"
                .to_owned(),
        });
    }
    Ok(id)
}

/// The redirect URI of a web app: `REDIRECT_URI`, or `http://{listen address}{default_path}`
/// (`127.0.0.1` for a wildcard listen address: the host the default tenant and the Terraform in
/// `docs/terraform.md` register: Microsoft documents the port of a loopback redirect URI, not its
/// host, as ignored when matching).
pub fn redirect_uri(
    configured: Option<&str>,
    bound: SocketAddr,
    default_path: &str,
) -> Result<String, ConfigError> {
    match configured {
        Some(uri) => {
            check_url("REDIRECT_URI", uri)?;
            Ok(uri.to_owned())
        }
        None if bound.ip().is_unspecified() => {
            Ok(format!("http://127.0.0.1:{}{default_path}", bound.port()))
        }
        None => Ok(format!("http://{bound}{default_path}")),
    }
}
