//! OpenID Connect discovery documents (OpenID Connect Discovery 1.0, RFC 8414): parsed strictly
//! and checked against the issuer they were fetched for. The key cache (for `jwks_uri`) and
//! auth-client (for the authorization and token endpoints) read them through
//! [`ProviderMetadata`]; each fetches with its own HTTP client.
//!
//! ```
//! use auth_layer::discovery::{ProviderMetadata, metadata_url};
//!
//! let issuer = "https://idp.example/realms/demo";
//! assert_eq!(
//!     metadata_url(issuer),
//!     "https://idp.example/realms/demo/.well-known/openid-configuration"
//! );
//! let body = br#"{"issuer":"https://idp.example/realms/demo",
//!   "jwks_uri":"https://idp.example/realms/demo/certs",
//!   "token_endpoint":"https://idp.example/realms/demo/token"}"#;
//! let metadata = ProviderMetadata::from_json(body)?;
//! metadata.check_issuer(issuer, None)?;
//! assert_eq!(metadata.jwks_uri.as_deref(), Some("https://idp.example/realms/demo/certs"));
//! # Ok::<(), auth_layer::discovery::DiscoveryError>(())
//! ```

use serde::Deserialize;

use crate::json;

/// The path OIDC Discovery 1.0 §4 appends to an issuer.
pub const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// The placeholder in Entra's multi-tenant discovery documents (`organizations`, `common`):
/// `"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0"`.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// `{issuer}/.well-known/openid-configuration` (a trailing `/` of the issuer is dropped, as
/// OIDC Discovery 1.0 §4 says).
pub fn metadata_url(issuer: &str) -> String {
    format!("{}{WELL_KNOWN}", issuer.trim_end_matches('/'))
}

/// Why a discovery document was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// Not a JSON object, a member of the wrong type, or a member name repeated.
    #[error("the discovery document is not valid: {0}")]
    Invalid(&'static str),
    /// The document names another issuer (OIDC Discovery 1.0 §4.3: it must be exactly the
    /// issuer it was fetched for).
    #[error(
        "the discovery document names issuer {discovered:?}, not {expected:?} \
         (OpenID Connect Discovery 1.0 §4.3); check the configured authority or issuer"
    )]
    IssuerMismatch {
        /// The issuer configured.
        expected: String,
        /// The issuer the document names.
        discovered: String,
    },
    /// A member the caller needs is absent.
    #[error("the discovery document has no {0}")]
    Missing(&'static str),
}

/// The members of a provider's metadata this workspace uses; every other member is ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// `issuer`: exactly the issuer (Entra's multi-tenant documents hold `{tenantid}`).
    pub issuer: String,
    /// `jwks_uri`: where the signing keys are.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// `authorization_endpoint`.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// `token_endpoint`.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// `end_session_endpoint` (OpenID Connect RP-Initiated Logout 1.0).
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// `token_endpoint_auth_signing_alg_values_supported` (empty when not advertised).
    #[serde(default)]
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
}

impl ProviderMetadata {
    /// Parses a document strictly: a JSON object with no member name repeated at any depth,
    /// an `issuer` string, and the right type for every member read.
    ///
    /// # Errors
    /// [`DiscoveryError::Invalid`] with the reason.
    pub fn from_json(body: &[u8]) -> Result<ProviderMetadata, DiscoveryError> {
        json::check_strict(body).map_err(|e| match e {
            json::JsonError::DuplicateMember => {
                DiscoveryError::Invalid("a member name is repeated")
            }
            json::JsonError::Invalid => DiscoveryError::Invalid("not a JSON object"),
        })?;
        let metadata: ProviderMetadata = serde_json::from_slice(body).map_err(|_| {
            DiscoveryError::Invalid("no \"issuer\" string, or a member of the wrong type")
        })?;
        if metadata.issuer.is_empty() {
            return Err(DiscoveryError::Invalid("the \"issuer\" is empty"));
        }
        Ok(metadata)
    }

    /// Checks that the document names `expected` as its issuer, byte for byte, after
    /// replacing `{tenantid}` with `tenant` on both sides when a tenant is given (Entra's
    /// multi-tenant documents).
    ///
    /// # Errors
    /// [`DiscoveryError::IssuerMismatch`].
    pub fn check_issuer(&self, expected: &str, tenant: Option<&str>) -> Result<(), DiscoveryError> {
        let matches = match tenant {
            Some(tenant) => {
                self.issuer.replace(TENANT_PLACEHOLDER, tenant)
                    == expected.replace(TENANT_PLACEHOLDER, tenant)
            }
            None => self.issuer == expected,
        };
        if matches {
            Ok(())
        } else {
            Err(DiscoveryError::IssuerMismatch {
                expected: expected.to_owned(),
                discovered: self.issuer.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issuer_must_match_exactly() {
        let m = ProviderMetadata::from_json(br#"{"issuer":"https://idp/x"}"#).unwrap();
        assert!(m.check_issuer("https://idp/x", None).is_ok());
        for other in ["https://idp/x/", "https://idp/X", "https://idp", ""] {
            assert!(m.check_issuer(other, None).is_err(), "{other}");
        }
    }

    #[test]
    fn an_entra_tenant_template_matches_only_its_tenant() {
        let m = ProviderMetadata::from_json(
            br#"{"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0"}"#,
        )
        .unwrap();
        let t = "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10";
        let expected = format!("https://login.microsoftonline.com/{t}/v2.0");
        assert!(m.check_issuer(&expected, Some(t)).is_ok());
        assert!(m.check_issuer(&expected, None).is_err());
        assert!(
            m.check_issuer("https://evil.example/{tenantid}/v2.0", Some(t))
                .is_err()
        );
    }

    #[test]
    fn documents_are_parsed_strictly() {
        for bad in [
            &b"[]"[..],
            b"{}",
            br#"{"issuer":""}"#,
            br#"{"issuer":1}"#,
            br#"{"issuer":"a","issuer":"b"}"#,
            br#"{"issuer":"a","jwks_uri":["x"]}"#,
            br#"{"issuer":"a","x":{"y":1,"y":2}}"#,
        ] {
            assert!(
                matches!(
                    ProviderMetadata::from_json(bad),
                    Err(DiscoveryError::Invalid(_))
                ),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let m = ProviderMetadata::from_json(
            br#"{"issuer":"a","authorization_response_iss_parameter_supported":true,
                 "token_endpoint_auth_signing_alg_values_supported":["ES256"],"other":[1,{"z":null}]}"#,
        )
        .unwrap();
        assert!(m.authorization_response_iss_parameter_supported);
        assert_eq!(
            m.token_endpoint_auth_signing_alg_values_supported,
            ["ES256"]
        );
        assert_eq!(m.jwks_uri, None);
    }
}
