//! OpenID Connect discovery: from an authority or metadata URL to the `jwks_uri` and issuer.

use crate::authority::Authority;
use crate::discovery::{DiscoveryError, ProviderMetadata, WELL_KNOWN};
use crate::jwks::error::JwksError;
use crate::jwks::fetch::check_url;

/// Where and what to discover.
#[derive(Clone, Debug)]
pub(crate) struct DiscoveryConfig {
    /// The metadata document's URL.
    pub(crate) metadata_url: String,
    /// The issuer the document must name (may hold `{tenantid}`).
    pub(crate) expected_issuer: String,
    /// The tenant `{tenantid}` is replaced with on both sides of the comparison.
    pub(crate) tenant: Option<String>,
}

/// What a discovery document said.
#[derive(Clone, Debug)]
pub(crate) struct Discovered {
    /// The `issuer`, as published (Entra's multi-tenant documents publish a `{tenantid}` template).
    pub(crate) issuer: String,
    /// The `jwks_uri`, checked with [`check_url`].
    pub(crate) jwks_uri: String,
}

/// From an Entra-style authority `{instance}/{tenant}` (a trailing `/v2.0` or `/` is allowed):
/// metadata at `{instance}/{tenant}/v2.0/.well-known/openid-configuration`, expected issuer
/// `{instance}/{tenant}/v2.0`.
pub(crate) fn from_authority(
    authority: &str,
    expected_issuer: Option<String>,
) -> Result<DiscoveryConfig, JwksError> {
    let parsed = Authority::parse(authority).map_err(|e| JwksError::InvalidUrl {
        url: authority.to_owned(),
        reason: match e {
            crate::authority::AuthorityError::InvalidUrl { reason, .. } => reason,
            _ => "the tenant is not a tenant id, a domain name, organizations, common or consumers",
        },
    })?;
    let metadata_url = parsed.metadata_url();
    check_url(&metadata_url).map_err(|_| JwksError::InvalidUrl {
        url: authority.to_owned(),
        reason: "not an absolute https URL (plain http is accepted only for loopback hosts)",
    })?;
    Ok(DiscoveryConfig {
        metadata_url,
        expected_issuer: expected_issuer.unwrap_or_else(|| parsed.v2_issuer()),
        tenant: Some(parsed.tenant().as_str().to_owned()),
    })
}

/// From a full metadata URL. Without an explicit expected issuer, the URL must end in
/// `/.well-known/openid-configuration` and the issuer must be what precedes it (OIDC Discovery
/// 1.0 §4.3). For `…/{tenant}/v2.0/.well-known/openid-configuration` the tenant is known.
pub(crate) fn from_metadata_url(
    url: &str,
    expected_issuer: Option<String>,
) -> Result<DiscoveryConfig, JwksError> {
    check_url(url)?;
    let prefix = url.strip_suffix(WELL_KNOWN);
    let tenant = prefix
        .and_then(|p| p.strip_suffix("/v2.0"))
        .and_then(|p| p.rsplit_once('/'))
        .map(|(_, tenant)| tenant.to_owned())
        .filter(|t| !t.is_empty());
    let expected_issuer = match (expected_issuer, prefix) {
        (Some(issuer), _) => issuer,
        (None, Some(prefix)) => prefix.to_owned(),
        (None, None) => {
            return Err(JwksError::Config(
                "a metadata URL that does not end in /.well-known/openid-configuration needs \
                 expected_issuer(...)",
            ));
        }
    };
    Ok(DiscoveryConfig {
        metadata_url: url.to_owned(),
        expected_issuer,
        tenant,
    })
}

impl DiscoveryConfig {
    /// Parses and checks a fetched discovery document.
    pub(crate) fn parse(&self, body: &[u8]) -> Result<Discovered, JwksError> {
        let metadata = ProviderMetadata::from_json(body).and_then(|m| {
            m.check_issuer(&self.expected_issuer, self.tenant.as_deref())?;
            Ok(m)
        });
        let metadata = metadata.map_err(|e| match e {
            DiscoveryError::IssuerMismatch {
                expected,
                discovered,
            } => JwksError::IssuerMismatch {
                expected,
                discovered,
            },
            DiscoveryError::Invalid(reason) => JwksError::InvalidDocument {
                url: self.metadata_url.clone(),
                reason,
            },
            DiscoveryError::Missing(reason) => JwksError::InvalidDocument {
                url: self.metadata_url.clone(),
                reason,
            },
        })?;
        let Some(jwks_uri) = metadata.jwks_uri else {
            return Err(JwksError::InvalidDocument {
                url: self.metadata_url.clone(),
                reason: "no \"jwks_uri\" string",
            });
        };
        check_url(&jwks_uri)?;
        Ok(Discovered {
            issuer: metadata.issuer,
            jwks_uri,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10";

    #[test]
    fn authority_gives_the_v2_metadata_url_and_issuer() {
        for authority in [
            format!("https://login.microsoftonline.com/{TID}"),
            format!("https://login.microsoftonline.com/{TID}/"),
            format!("https://login.microsoftonline.com/{TID}/v2.0"),
        ] {
            let d = from_authority(&authority, None).unwrap();
            assert_eq!(
                d.metadata_url,
                format!(
                    "https://login.microsoftonline.com/{TID}/v2.0/.well-known/openid-configuration"
                )
            );
            assert_eq!(
                d.expected_issuer,
                format!("https://login.microsoftonline.com/{TID}/v2.0")
            );
        }
        for bad in [
            "https://login.microsoftonline.com",
            "http://login.microsoftonline.com/common",
            "https://login.microsoftonline.com/common?x=1",
            "login.microsoftonline.com/common",
        ] {
            assert!(from_authority(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn issuer_is_compared_after_tenant_substitution() {
        let common = from_authority("https://login.microsoftonline.com/common", None).unwrap();
        let doc = br#"{"issuer":"https://login.microsoftonline.com/{tenantid}/v2.0","jwks_uri":"https://login.microsoftonline.com/common/discovery/v2.0/keys"}"#;
        assert_eq!(
            common.parse(doc).unwrap().issuer,
            "https://login.microsoftonline.com/{tenantid}/v2.0"
        );
        let other =
            br#"{"issuer":"https://evil.example/v2.0","jwks_uri":"https://evil.example/keys"}"#;
        assert!(matches!(
            common.parse(other),
            Err(JwksError::IssuerMismatch { .. })
        ));
    }

    #[test]
    fn documents_without_a_safe_jwks_uri_are_refused() {
        let d = from_metadata_url(
            "https://idp.example/realms/x/.well-known/openid-configuration",
            None,
        )
        .unwrap();
        assert_eq!(d.expected_issuer, "https://idp.example/realms/x");
        let http =
            br#"{"issuer":"https://idp.example/realms/x","jwks_uri":"http://idp.example/keys"}"#;
        assert!(matches!(d.parse(http), Err(JwksError::InvalidUrl { .. })));
        let dup = br#"{"issuer":"https://idp.example/realms/x","jwks_uri":"https://a/k","jwks_uri":"https://b/k"}"#;
        assert!(matches!(
            d.parse(dup),
            Err(JwksError::InvalidDocument { .. })
        ));
        assert!(matches!(
            d.parse(b"<html>"),
            Err(JwksError::InvalidDocument { .. })
        ));
        assert!(from_metadata_url("https://idp.example/metadata", None).is_err());
    }
}
