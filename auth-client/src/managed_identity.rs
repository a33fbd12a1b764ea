//! Managed identity: tokens from the Azure Instance Metadata Service (VMs, AKS nodes, Container
//! Instances) or from App Service / Functions / Container Apps (`IDENTITY_ENDPOINT` +
//! `IDENTITY_HEADER`), for a system-assigned identity or a user-assigned one by client id,
//! object id or resource id. Also usable as the federated client assertion of an app
//! registration ([`ClientCredential::managed_identity`](crate::ClientCredential::managed_identity)).
//!
//! Sources: IMDS
//! (<https://learn.microsoft.com/en-us/entra/identity/managed-identities-azure-resources/how-to-use-vm-token>),
//! App Service
//! (<https://learn.microsoft.com/en-us/azure/app-service/overview-managed-identity#rest-endpoint-reference>),
//! MSAL's IMDS retry rules
//! (<https://github.com/AzureAD/microsoft-authentication-library-for-dotnet/blob/main/docs/imds_retry_based_on_errors.md>).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::debug;

use crate::cache::{CacheKey, CacheKeyKind, CachedToken, InMemoryTokenCache};
use crate::error::{BuildError, Error, RequestContext, ServerError};
use crate::metrics::{self, Cache};
use crate::token::AccessToken;
use crate::transport::Transport;

/// The IMDS token endpoint (a link-local address every Azure VM reaches).
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
/// The audience of a managed identity's token used as a federated client assertion in the public
/// cloud (US Government: `api://AzureADTokenExchangeUSGov`, China:
/// `api://AzureADTokenExchangeChina`):
/// <https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity>.
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
const IMDS_API_VERSION: &str = "2018-02-01";
const APP_SERVICE_API_VERSION: &str = "2019-08-01";
/// Tokens are served from memory until this long before they expire.
const EXPIRY_MARGIN: u64 = 5 * 60;
/// Retries of 404, 408, 429 and 5xx (exponential: 1 s, 2 s, 4 s by default).
const MAX_RETRIES: u32 = 3;
/// 410 (IMDS is being updated) is retried every 10 s for up to 70 s.
const GONE_RETRIES: u32 = 7;

/// Which managed identity.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManagedIdentityId {
    /// The resource's system-assigned identity.
    SystemAssigned,
    /// A user-assigned identity by its client id.
    ClientId(String),
    /// A user-assigned identity by its object (principal) id.
    ObjectId(String),
    /// A user-assigned identity by its Azure resource id.
    ResourceId(String),
}

#[derive(Clone, PartialEq, Eq)]
enum Source {
    Imds { endpoint: String },
    AppService { endpoint: String, header: String },
}

/// Acquires tokens as a managed identity. Cheap to clone; tokens are cached in memory (served
/// until 5 minutes before they expire).
///
/// ```no_run
/// use auth_client::ManagedIdentity;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // System-assigned, endpoint from the environment (App Service) or IMDS.
/// let identity = ManagedIdentity::builder().build()?;
/// let token = identity.acquire_token("https://vault.azure.net").await?;
/// # let _ = token; Ok(()) }
/// ```
#[derive(Clone)]
pub struct ManagedIdentity {
    inner: Arc<Inner>,
}

struct Inner {
    id: ManagedIdentityId,
    source: Source,
    transport: Transport,
    retry_delay: Duration,
    cache: InMemoryTokenCache,
}

/// Configures a [`ManagedIdentity`].
#[must_use]
#[derive(Debug)]
pub struct ManagedIdentityBuilder {
    id: ManagedIdentityId,
    source: Option<Source>,
    http_client: Option<reqwest::Client>,
    timeout: Duration,
    retry_delay: Duration,
}

impl ManagedIdentity {
    /// Starts a configuration (system-assigned unless set otherwise).
    pub fn builder() -> ManagedIdentityBuilder {
        ManagedIdentityBuilder {
            id: ManagedIdentityId::SystemAssigned,
            source: None,
            http_client: None,
            timeout: Duration::from_secs(10),
            retry_delay: Duration::from_secs(1),
        }
    }

    /// A configuration from the environment, as azure-identity's `DefaultAzureCredential`
    /// configures its managed identity: a user-assigned identity by the client id in
    /// `AZURE_CLIENT_ID` when it is set, else the system-assigned identity
    /// (<https://learn.microsoft.com/en-us/dotnet/api/azure.identity.defaultazurecredentialoptions.managedidentityclientid>:
    /// "Defaults to the value of environment variable AZURE_CLIENT_ID"; the same in
    /// azure-identity for Java, Python and JavaScript). The endpoint is chosen by
    /// [`build`](ManagedIdentityBuilder::build): App Service's `IDENTITY_ENDPOINT` and
    /// `IDENTITY_HEADER`, else IMDS.
    ///
    /// This is for authenticating *as the managed identity*. When the identity is an app
    /// registration's federated credential, `AZURE_CLIENT_ID` is the app's id:
    /// [`ConfidentialClient::from_env`](crate::ConfidentialClient::from_env) reads the
    /// identity's client id from `AZURE_MANAGED_IDENTITY_CLIENT_ID` instead.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let identity = auth_client::ManagedIdentity::from_env().build()?;
    /// let token = identity.acquire_token("https://vault.azure.net").await?;
    /// # let _ = token; Ok(()) }
    /// ```
    pub fn from_env() -> ManagedIdentityBuilder {
        builder_from_vars(|name| std::env::var(name).ok())
    }

    /// Which identity this is.
    pub fn id(&self) -> &ManagedIdentityId {
        &self.inner.id
    }

    /// A token for `resource` (e.g. `https://vault.azure.net`, or
    /// [`TOKEN_EXCHANGE_AUDIENCE`]); a trailing `/.default` is removed (the managed identity
    /// endpoints take a resource, not a scope).
    ///
    /// # Errors
    /// The endpoint's error (`Error::Server`, e.g. an identity not assigned to this resource),
    /// `Error::Http`, transport errors and timeouts, after the retries MSAL makes: 404, 408,
    /// 429 and 5xx up to 3 times with exponential backoff, 410 every 10 s for up to 70 s.
    pub async fn acquire_token(&self, resource: &str) -> Result<AccessToken, Error> {
        let (result, cache) = self.acquire_token_counted(resource).await;
        metrics::acquisition("managed_identity", &result, cache);
        result
    }

    async fn acquire_token_counted(&self, resource: &str) -> (Result<AccessToken, Error>, Cache) {
        let inner = &self.inner;
        let resource = resource.trim();
        let resource = resource.strip_suffix("/.default").unwrap_or(resource);
        if resource.is_empty() {
            return (
                Err(Error::InvalidRequest(
                    "a managed identity token needs a resource",
                )),
                Cache::Miss,
            );
        }
        let key = CacheKey::new(
            CacheKeyKind::App,
            "managed-identity",
            &format!("{:?}", inner.id),
            None,
            Some(resource),
            &[],
            false,
        );
        let now = unix_now();
        if let Some(entry) = inner.cache.get_now(&key)
            && entry.expires_at() > now + EXPIRY_MARGIN
        {
            return (Ok(AccessToken::from_cached(entry)), Cache::Hit);
        }
        let result = inner.fetch(resource).await.map(|entry| {
            inner.cache.insert(&key, entry.clone());
            AccessToken::from_cached(entry)
        });
        (result, Cache::Miss)
    }
}

/// [`ManagedIdentity::from_env`] over any variable source.
pub(crate) fn builder_from_vars(var: impl Fn(&str) -> Option<String>) -> ManagedIdentityBuilder {
    let client_id = var("AZURE_CLIENT_ID")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    match client_id {
        Some(id) => ManagedIdentity::builder().user_assigned_client_id(id),
        None => ManagedIdentity::builder(),
    }
}

impl Inner {
    fn request(&self, resource: &str) -> (String, Vec<(&'static str, String)>) {
        let (endpoint, version, resource_id_name) = match &self.source {
            Source::Imds { endpoint } => (endpoint, IMDS_API_VERSION, "msi_res_id"),
            Source::AppService { endpoint, .. } => (endpoint, APP_SERVICE_API_VERSION, "mi_res_id"),
        };
        let mut query = vec![
            ("api-version", version.to_owned()),
            ("resource", resource.to_owned()),
        ];
        match &self.id {
            ManagedIdentityId::SystemAssigned => {}
            ManagedIdentityId::ClientId(id) => query.push(("client_id", id.clone())),
            ManagedIdentityId::ObjectId(id) => query.push(("object_id", id.clone())),
            ManagedIdentityId::ResourceId(id) => query.push((resource_id_name, id.clone())),
        }
        let query = serde_urlencoded::to_string(&query).unwrap_or_default();
        let sep = if endpoint.contains('?') { '&' } else { '?' };
        let headers = match &self.source {
            Source::Imds { .. } => vec![("Metadata", "true".to_owned())],
            Source::AppService { header, .. } => vec![("X-IDENTITY-HEADER", header.clone())],
        };
        (format!("{endpoint}{sep}{query}"), headers)
    }

    async fn fetch(&self, resource: &str) -> Result<CachedToken, Error> {
        let (url, headers) = self.request(resource);
        let headers: Vec<(&'static str, &str)> =
            headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        // The URL without its query, for errors and logs.
        let shown = url.split('?').next().unwrap_or("").to_owned();
        let mut retries = 0;
        let mut gone = 0;
        loop {
            debug!(url = %shown, retries, "managed identity token request");
            let started = std::time::Instant::now();
            let raw = match self.transport.get_with(&url, &headers).await {
                Ok(raw) => raw,
                Err(e) => {
                    metrics::token_request(
                        "managed_identity",
                        metrics::error_label(&e.error),
                        started.elapsed(),
                    );
                    if e.retryable && retries < MAX_RETRIES {
                        self.backoff(&mut retries).await;
                        continue;
                    }
                    return Err(e.error);
                }
            };
            let status = raw.status;
            metrics::token_request(
                "managed_identity",
                match status {
                    200..=299 => "ok",
                    429 => "throttled",
                    _ => "http_error",
                },
                started.elapsed(),
            );
            if (200..300).contains(&status) {
                return parse(raw.json().as_ref(), &shown);
            }
            if status == 410 && gone < GONE_RETRIES {
                gone += 1;
                tokio::time::sleep(self.retry_delay * 10).await;
                continue;
            }
            let transient = matches!(status, 404 | 408 | 429) || status >= 500;
            if transient && retries < MAX_RETRIES {
                self.backoff(&mut retries).await;
                continue;
            }
            let context = RequestContext {
                grant: "managed_identity",
                client_id: format!("{:?}", self.id),
                scopes: vec![resource.to_owned()],
                entra: true,
                redirect_uri: None,
            };
            return Err(
                match raw
                    .json()
                    .and_then(|body| ServerError::from_json(Some(status), &body, context))
                {
                    Some(server) => Error::Server(Box::new(server)),
                    None => Error::Http { url: shown, status },
                },
            );
        }
    }

    async fn backoff(&self, retries: &mut u32) {
        let delay = self.retry_delay * 2u32.pow(*retries);
        *retries += 1;
        tokio::time::sleep(delay).await;
    }
}

/// Reads `{access_token, expires_on | expires_in, token_type}`; both endpoints may send the
/// numbers as strings.
fn parse(body: Option<&serde_json::Value>, url: &str) -> Result<CachedToken, Error> {
    let fail = |reason: &str| Error::InvalidResponse {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let body = body.ok_or_else(|| fail("the body is not a JSON object"))?;
    let number = |name: &str| {
        body.get(name).and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
    };
    let token = body
        .get("access_token")
        .and_then(serde_json::Value::as_str)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| (b'!'..=b'~').contains(&b)))
        .ok_or_else(|| fail("no usable access_token"))?;
    let expires_at = number("expires_on")
        .or_else(|| number("expires_in").map(|secs| unix_now() + secs))
        .ok_or_else(|| fail("no expires_on or expires_in"))?;
    let token_type = body
        .get("token_type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("Bearer");
    Ok(CachedToken::new(
        token,
        token_type,
        expires_at,
        None,
        Vec::new(),
    ))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl ManagedIdentityBuilder {
    /// A user-assigned identity by client id.
    pub fn user_assigned_client_id(mut self, id: impl Into<String>) -> Self {
        self.id = ManagedIdentityId::ClientId(id.into());
        self
    }

    /// A user-assigned identity by object (principal) id.
    pub fn user_assigned_object_id(mut self, id: impl Into<String>) -> Self {
        self.id = ManagedIdentityId::ObjectId(id.into());
        self
    }

    /// A user-assigned identity by Azure resource id.
    pub fn user_assigned_resource_id(mut self, id: impl Into<String>) -> Self {
        self.id = ManagedIdentityId::ResourceId(id.into());
        self
    }

    /// Uses IMDS at this endpoint (default [`IMDS_ENDPOINT`]; tests point it at a local
    /// server).
    pub fn imds_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.source = Some(Source::Imds {
            endpoint: endpoint.into(),
        });
        self
    }

    /// Uses the App Service endpoint (`IDENTITY_ENDPOINT`) with its secret header value
    /// (`IDENTITY_HEADER`), instead of reading them from the environment.
    pub fn app_service(mut self, endpoint: impl Into<String>, header: impl Into<String>) -> Self {
        self.source = Some(Source::AppService {
            endpoint: endpoint.into(),
            header: header.into(),
        });
        self
    }

    /// The HTTP client (its redirect policy applies).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Total timeout of one request (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Base delay of the retries (default 1 s: 1 s, 2 s, 4 s; 410 every 10× this).
    pub fn retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// Builds it. Without an explicit endpoint: App Service when `IDENTITY_ENDPOINT` and
    /// `IDENTITY_HEADER` are set, IMDS otherwise — at `AZURE_POD_IDENTITY_AUTHORITY_HOST` when
    /// that is set (the IMDS host override MSAL and azure-identity read, e.g. MSAL Go's
    /// `azurePodIdentityAuthorityHostEnvVar`:
    /// <https://github.com/AzureAD/microsoft-authentication-library-for-go/blob/main/apps/managedidentity/managedidentity.go>),
    /// else [`IMDS_ENDPOINT`].
    ///
    /// # Errors
    /// [`BuildError::HttpClient`] when the default HTTP client cannot be built;
    /// [`BuildError::Config`] for a zero timeout or an empty identity id.
    pub fn build(self) -> Result<ManagedIdentity, BuildError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let source = match self.source {
            Some(source) => source,
            None => match (var("IDENTITY_ENDPOINT"), var("IDENTITY_HEADER")) {
                (Some(endpoint), Some(header)) => Source::AppService { endpoint, header },
                _ => Source::Imds {
                    endpoint: match var("AZURE_POD_IDENTITY_AUTHORITY_HOST") {
                        Some(host) => format!(
                            "{}/metadata/identity/oauth2/token",
                            host.trim().trim_end_matches('/')
                        ),
                        None => IMDS_ENDPOINT.to_owned(),
                    },
                },
            },
        };
        let empty = match &self.id {
            ManagedIdentityId::SystemAssigned => false,
            ManagedIdentityId::ClientId(id)
            | ManagedIdentityId::ObjectId(id)
            | ManagedIdentityId::ResourceId(id) => id.trim().is_empty(),
        };
        if empty {
            return Err(BuildError::Config("the managed identity's id is empty"));
        }
        if self.timeout.is_zero() {
            return Err(BuildError::Config("timeouts must be greater than zero"));
        }
        let client = match self.http_client {
            Some(client) => client,
            None => reqwest::Client::builder()
                // IMDS is plain http to a link-local address; never through a proxy.
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| BuildError::HttpClient(e.to_string()))?,
        };
        Ok(ManagedIdentity {
            inner: Arc::new(Inner {
                id: self.id,
                source,
                transport: Transport {
                    client,
                    timeout: self.timeout,
                },
                retry_delay: self.retry_delay,
                cache: InMemoryTokenCache::new(64),
            }),
        })
    }
}

impl fmt::Debug for ManagedIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.inner.source {
            Source::Imds { endpoint } => format!("IMDS {endpoint}"),
            Source::AppService { endpoint, .. } => format!("App Service {endpoint}"),
        };
        f.debug_struct("ManagedIdentity")
            .field("id", &self.inner.id)
            .field("source", &source)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Imds { endpoint } => write!(f, "Imds({endpoint})"),
            // The header value is a secret.
            Source::AppService { endpoint, .. } => write!(f, "AppService({endpoint}, [redacted])"),
        }
    }
}
