//! [`JwksError`]: why a key cache could not be configured, or why a fetch failed.

use crate::key_set::KeySetError;

/// Why a JWKS cache could not be configured, or why a fetch failed.
///
/// Each message names the URL involved and what to check. None contains a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// A configured or discovered URL may not be fetched.
    #[error("{url:?} cannot be used: {reason}")]
    InvalidUrl {
        /// The URL as configured or discovered.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The configuration is incomplete or contradictory.
    #[error("invalid JWKS cache configuration: {0}")]
    Config(&'static str),
    /// The discovery document names another issuer than the configured one.
    #[error(
        "the discovery document names issuer {discovered:?}, but {expected:?} is expected; \
         check the authority and tenant (an authority with a tenant domain name publishes its \
         tenant-id issuer: configure expected_issuer(...) for it)"
    )]
    IssuerMismatch {
        /// The expected issuer (may hold `{tenantid}`).
        expected: String,
        /// The issuer the document names.
        discovered: String,
    },
    /// Entra answered that the tenant in the URL does not exist (`AADSTS90002`, HTTP 400
    /// `invalid_tenant`:
    /// <https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes>). A
    /// configuration error, not an outage.
    #[error(
        "GET {url}: Entra does not know this tenant (AADSTS90002); check the tenant id \
         (AZURE_TENANT_ID: the Directory (tenant) ID on the app registration's Overview page) and \
         that the authority host is the tenant's cloud (AZURE_AUTHORITY_HOST: \
         https://login.microsoftonline.com, login.microsoftonline.us for US Government, \
         login.partner.microsoftonline.cn for China)"
    )]
    TenantNotFound {
        /// The URL fetched.
        url: String,
    },
    /// The server answered with a status other than 200.
    #[error("GET {url} answered HTTP {status}; check the URL and the identity provider's status")]
    Http {
        /// The URL fetched.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// Connecting, TLS, or reading the response failed.
    #[error("GET {url} failed: {message}; check DNS, egress rules, proxy settings and TLS trust")]
    Transport {
        /// The URL fetched.
        url: String,
        /// The error and its causes.
        message: String,
    },
    /// No complete response within the timeout.
    #[error(
        "GET {url} timed out; the identity provider is slow or unreachable (see \
         JwksCacheBuilder::timeout and connect_timeout)"
    )]
    Timeout {
        /// The URL fetched.
        url: String,
    },
    /// The response body is larger than the cap.
    #[error(
        "GET {url}: the response is larger than the {limit}-byte cap; check the URL (see \
         JwksCacheBuilder::max_response_size)"
    )]
    TooLarge {
        /// The URL fetched.
        url: String,
        /// The configured cap in bytes.
        limit: usize,
    },
    /// The discovery document is not usable.
    #[error("{url} is not a usable OpenID Connect discovery document: {reason}")]
    InvalidDocument {
        /// The metadata URL.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The key-set document was refused by [`KeySet::from_jwks_json`](crate::KeySet::from_jwks_json).
    #[error("{url} is not a usable key set: {source}")]
    KeySet {
        /// The key-set URL.
        url: String,
        /// Why the key set was refused.
        source: KeySetError,
    },
    /// The default HTTP client could not be built.
    #[error("the default HTTP client could not be built: {message}")]
    Client {
        /// The error and its causes.
        message: String,
    },
    /// A refreshing cache was built outside a Tokio runtime.
    #[error(
        "a refreshing JWKS cache must be built inside a Tokio runtime (it spawns its refresh task)"
    )]
    NoRuntime,
    /// The fetch task ended without a result (its runtime is shutting down).
    #[error("the key-set fetch was abandoned: the Tokio runtime is shutting down")]
    Abandoned,
}

impl JwksError {
    /// Whether this is a configuration error (an invalid URL, setting or missing runtime),
    /// which no retry fixes, rather than a failed fetch.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            JwksError::InvalidUrl { .. } | JwksError::Config(_) | JwksError::NoRuntime
        )
    }

    /// Whether the identity provider said the tenant does not exist (Entra's AADSTS90002):
    /// a wrong tenant id or cloud, which no retry fixes.
    pub fn is_tenant_not_found(&self) -> bool {
        matches!(self, JwksError::TenantNotFound { .. })
    }

    /// Whether a GET timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, JwksError::Timeout { .. })
    }
}
