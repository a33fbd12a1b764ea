//! # auth-layer
//!
//! Bearer-token validation for Tower services (axum, tonic, hyper) protected by Microsoft Entra
//! ID or any standards-compliant OIDC provider.
//!
//! This crate decides: it verifies a token's signature against a parsed [`KeySet`], applies
//! every header and claim rule of RFC 8725 / RFC 9068 and Entra's own (v1 and v2 issuers,
//! tenant checks across Entra's shared signing keys, App ID URI and client-id audiences), and
//! returns typed [`Claims`] or a typed [`ValidationError`].
//!
//! ```
//! use auth_layer::{KeySet, TokenKind, Validator};
//! use auth_testkit::{TokenBuilder, default_keyset, ids::{API_CLIENT_ID, TENANT_ID}};
//!
//! let validator = Validator::builder()
//!     .tenant_id(TENANT_ID)
//!     .client_id(API_CLIENT_ID)
//!     .build()?;
//! let keys: KeySet = default_keyset();
//!
//! let token = TokenBuilder::delegated().scopes("Case.Create").sign();
//! let claims = validator.validate(&token, &keys)?;
//! assert_eq!(claims.kind(), TokenKind::Delegated);
//! assert!(claims.scopes().contains("Case.Create"));
//!
//! // A token addressed to Microsoft Graph is refused, with an error that says why.
//! let graph = auth_testkit::TokenBuilder::graph_token().sign();
//! assert!(validator.validate(&graph, &keys).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Validation does no I/O and takes no lock: keys are parsed once, when the [`KeySet`] is
//! built, into aws-lc-rs's ready-to-verify form.
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod algorithm;
mod authenticate;
mod authenticator;
pub mod authority;
pub mod authorize;
mod bearer;
mod challenge;
mod claims;
mod clock;
pub mod discovery;
mod error;
#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
pub mod grpc;
mod json;
pub mod jwks;
mod jws;
mod key_set;
mod metrics;
mod principal;
mod profile;
mod protected_resource;
mod require;
mod url;
mod validator;
mod verified_cache;

pub use algorithm::Algorithm;
pub use authenticate::AuthenticateLayer;
pub use authenticator::{
    Authenticator, AuthenticatorBuilder, AuthenticatorError, AuthenticatorStats,
    TryAuthenticateError,
};
pub use bearer::{bearer_token, bearer_token_from_parts};
pub use challenge::{AuthError, BodyStyle, Challenge, ErrorBody, Insufficient};
pub use claims::{Claims, Groups, Scopes, Strs, StrsIter, TokenKind};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{BuildError, ErrorCode, IssuerVersion, TokenPart, ValidationError};
pub use key_set::{DropReason, DroppedKey, KeySet, KeySetError, VerifyingKey};
pub use principal::Principal;
pub use profile::Profile;
pub use protected_resource::ProtectedResourceMetadata;
pub use require::{Require, RequireLayer, RequireRole, RequireScope, RequireScopeOrRole};
pub use validator::{
    DEFAULT_INSTANCE, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_SIZE, DEFAULT_V1_ISSUER_BASE,
    DangerousValidatorBuilder, MAX_SAFE_LEEWAY, Validator, ValidatorBuilder,
};
pub use verified_cache::DEFAULT_VERIFIED_TOKEN_CACHE_CAPACITY;

/// The README's examples, compiled and run as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
