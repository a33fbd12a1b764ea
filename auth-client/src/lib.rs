//! # auth-client
//!
//! Token acquisition for confidential clients of Microsoft Entra ID (or any OpenID Connect
//! provider), the counterpart of `auth-layer`'s validation:
//!
//! | pattern | who | method |
//! |---|---|---|
//! | service to service | a daemon calling an API with app roles | [`ConfidentialClient::acquire_token_for_client`] |
//! | On-Behalf-Of | a middle-tier API calling a downstream API as the user | [`ConfidentialClient::acquire_token_on_behalf_of`], or the axum extractor [`OnBehalfOf<Api>`](OnBehalfOf) |
//! | authorization code + PKCE | a web app signing a user in | [`ConfidentialClient::authorization_url`], [`ConfidentialClient::redeem_code`] |
//! | refresh token | the web app, later | [`ConfidentialClient::refresh`] |
//!
//! Credentials: a client secret, a certificate (PS256 / RS256 client assertions), a plain
//! private key with its `kid` (RS256 / PS256 / ES256), or a federated assertion (workload
//! identity file, or a callback told the audience); [`ConfidentialClient::from_env`]
//! reads the Azure SDK's variables. App and On-Behalf-Of tokens are cached (bounded, behind the
//! [`TokenCache`] trait), refreshed proactively when Entra sends `refresh_in`, and concurrent
//! identical requests share one token-endpoint call. Errors keep Entra's AADSTS codes and say
//! what to check ([`Error`]); throttling is handled as MSAL does (`Retry-After`, 60 s after a
//! 429 without it); secrets and tokens never
//! appear in `Debug` output or logs.
//!
//! `docs/token-acquisition.md` is the guide: every flow end to end, caching, errors, the
//! Conditional Access claims challenge, and the emulator tests.
//!
//! ```
//! use auth_client::ConfidentialClient;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let idp = auth_testkit::Emulator::start().await;
//! let consumer = idp.app("s2s-example-consumer");
//!
//! let client = ConfidentialClient::builder()
//!     .authority(idp.authority()) // https://login.microsoftonline.com/<tenant-id>
//!     .client_id(consumer.client_id())
//!     .client_secret(consumer.secret())
//!     .build()?;
//! let token = client.acquire_token_for_client(&["api://s2s-example-api/.default"]).await?;
//!
//! let response = reqwest::Client::new()
//!     .get(format!("{}/oidc/userinfo", idp.base_url())) // any API: send the token
//!     .header("authorization", token.authorization_header());
//! # let _ = response;
//! assert!(!format!("{token:?}").contains(token.secret()));
//! # Ok(()) }
//! ```
//!
//! A certificate instead of a secret (the certificate registered on the app registration):
//!
//! ```
//! use auth_client::{AssertionAlgorithm, ConfidentialClient};
//! # use auth_testkit::emulator::{DEFAULT_TENANT_TOML, Emulator, TenantConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let key_pem = auth_testkit::TestKey::rsa_b().private_key_pem();
//! # let key = rcgen::KeyPair::from_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256)?;
//! # let cert_pem = rcgen::CertificateParams::new(vec!["daemon".to_owned()])?.self_signed(&key)?.pem();
//! # let tenant = TenantConfig::from_toml_str(&format!("{DEFAULT_TENANT_TOML}
//! # [[apps]]
//! # name = \"daemon\"
//! # certificates = ['''{cert_pem}''']
//! # [[apps.required_resource_access]]
//! # resource = \"s2s-example-api\"
//! # roles = [\"Files.Write\"]
//! # admin_consent = true
//! # "))?;
//! # let idp = Emulator::builder().tenant(tenant).start().await?;
//! // cert_pem / key_pem: PEM files (PKCS#8 or PKCS#1 RSA key).
//! let client = ConfidentialClient::builder()
//!     .authority(idp.authority())
//!     .client_id(idp.app("daemon").client_id())
//!     .certificate_pem(&cert_pem, &key_pem) // PS256 + x5t#S256 by default
//!     .assertion_algorithm(AssertionAlgorithm::Rs256) // or RS256 + x5t
//!     .build()?;
//! let token = client.acquire_token_for_client(&["api://s2s-example-api/.default"]).await?;
//! # assert!(!token.secret().is_empty());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod auth_code;
#[cfg(feature = "axum")]
mod axum;
mod cache;
mod claims_challenge;
mod client;
mod credential;
mod env;
mod error;
mod file_source;
mod managed_identity;
mod metrics;
mod provider;
mod random;
mod redact;
#[cfg(feature = "redis")]
mod redis_cache;
mod summary;
mod sync;
mod token;
mod transport;

pub use auth_code::{
    AuthCodeSession, AuthorizationRequest, AuthorizationResponse, AuthorizationUrl, ResponseMode,
};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use axum::{DownstreamApi, OboRejection, OnBehalfOf};
pub use cache::{
    BoxFuture, CacheError, CacheKey, CacheKeyKind, CachedToken, DEFAULT_CACHE_CAPACITY,
    InMemoryTokenCache, TokenCache,
};
pub use claims_challenge::{ClaimsChallenge, ClaimsEncoding};
pub use client::builder::ConfidentialClientBuilder;
pub use client::endpoint::{ClientAuthMethod, DEFAULT_THROTTLE};
pub use client::request::TokenRequest;
pub use client::stats::ClientStats;
pub use client::{
    ConfidentialClient, DEFAULT_CONNECT_TIMEOUT, DEFAULT_EXPIRY_MARGIN, DEFAULT_INSTANCE,
    DEFAULT_RETRY_DELAY, DEFAULT_TIMEOUT,
};
pub use credential::{
    AssertionAlgorithm, BoxError, ClientCertificate, ClientCredential, ClientPrivateKey,
};
pub use error::{BuildError, Error, ServerError, Throttled};
pub use managed_identity::{
    IMDS_ENDPOINT, ManagedIdentity, ManagedIdentityBuilder, ManagedIdentityId,
    TOKEN_EXCHANGE_AUDIENCE,
};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis_cache::{
    DEFAULT_REDIS_KEY_PREFIX, DEFAULT_REDIS_RETRY_INTERVAL, DEFAULT_REDIS_TIMEOUT,
    DEFAULT_REDIS_WARN_INTERVAL, RedisCacheBuildError, RedisCacheStats, RedisTokenCache,
    RedisTokenCacheBuilder,
};
pub use token::{AccessToken, IdToken, RefreshToken, UserTokens};
