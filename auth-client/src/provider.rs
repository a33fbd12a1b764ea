//! Where tokens come from: an Entra [`Authority`] (endpoints by convention) or any OpenID
//! Connect issuer (endpoints by discovery, read with auth-layer's [`ProviderMetadata`]).

use auth_layer::authority::{Authority, AuthorityError, check_base_url};
use auth_layer::discovery::{DiscoveryError, ProviderMetadata, metadata_url};

use crate::error::{BuildError, Error};
use crate::transport::Transport;

/// Where tokens come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Provider {
    /// Microsoft Entra ID: endpoints `{authority}/oauth2/v2.0/…`.
    Entra(Authority),
    /// Any OIDC provider: endpoints from `{issuer}/.well-known/openid-configuration`.
    Oidc {
        /// The issuer, exactly as configured (no trailing slash added or removed).
        issuer: String,
    },
}

/// The endpoints a client uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoints {
    pub(crate) authorization: String,
    pub(crate) token: String,
    /// `None` for Entra: the JWKS cache discovers from the authority itself.
    pub(crate) jwks_uri: Option<String>,
    /// The discovered issuer (`None` for Entra: endpoints by convention).
    pub(crate) issuer: Option<String>,
    /// RFC 9207 `authorization_response_iss_parameter_supported`.
    pub(crate) iss_parameter_supported: bool,
    /// `token_endpoint_auth_signing_alg_values_supported` (empty when not advertised).
    pub(crate) token_auth_signing_algs: Vec<String>,
}

impl From<AuthorityError> for BuildError {
    fn from(e: AuthorityError) -> Self {
        match e {
            AuthorityError::InvalidUrl { url, reason } => BuildError::InvalidUrl { url, reason },
            AuthorityError::InvalidTenant(t) | AuthorityError::InvalidGuid(t) => {
                BuildError::InvalidTenant(t)
            }
            _ => BuildError::Config("invalid authority"),
        }
    }
}

impl Provider {
    /// An OIDC issuer.
    pub(crate) fn oidc(issuer: &str) -> Result<Provider, BuildError> {
        check_base_url(issuer)?;
        Ok(Provider::Oidc {
            issuer: issuer.trim().to_owned(),
        })
    }

    /// Whether this is Microsoft Entra ID.
    pub(crate) fn is_entra(&self) -> bool {
        matches!(self, Provider::Entra(_))
    }

    /// The string that identifies the provider in cache keys.
    pub(crate) fn key(&self) -> String {
        match self {
            Provider::Entra(authority) => authority.url(),
            Provider::Oidc { issuer } => issuer.trim_end_matches('/').to_owned(),
        }
    }

    /// Entra's endpoints, known without discovery.
    pub(crate) fn entra_endpoints(&self) -> Option<Endpoints> {
        match self {
            Provider::Entra(authority) => Some(Endpoints {
                authorization: authority.authorize_endpoint(),
                token: authority.token_endpoint(),
                jwks_uri: None,
                issuer: None,
                iss_parameter_supported: false,
                token_auth_signing_algs: Vec::new(),
            }),
            Provider::Oidc { .. } => None,
        }
    }

    /// Fetches and checks `{issuer}/.well-known/openid-configuration`.
    pub(crate) async fn discover(issuer: &str, transport: &Transport) -> Result<Endpoints, Error> {
        let url = metadata_url(issuer);
        let fail = |reason: String| Error::Discovery {
            url: url.clone(),
            reason,
        };
        let response = transport.get(&url).await.map_err(|e| e.error)?;
        if response.status != 200 {
            return Err(fail(format!("HTTP {}", response.status)));
        }
        let doc = ProviderMetadata::from_json(&response.body).map_err(|e| fail(e.to_string()))?;
        doc.check_issuer(issuer, None)
            .map_err(|e| fail(e.to_string()))?;
        let endpoint = |value: Option<String>, name: &'static str| -> Result<String, Error> {
            let value = value.ok_or_else(|| fail(DiscoveryError::Missing(name).to_string()))?;
            check_base_url(&value).map_err(|e| fail(format!("{name}: {e}")))?;
            Ok(value)
        };
        Ok(Endpoints {
            authorization: endpoint(doc.authorization_endpoint, "authorization_endpoint")?,
            token: endpoint(doc.token_endpoint, "token_endpoint")?,
            jwks_uri: Some(endpoint(doc.jwks_uri, "jwks_uri")?),
            issuer: Some(issuer.to_owned()),
            iss_parameter_supported: doc.authorization_response_iss_parameter_supported,
            token_auth_signing_algs: doc.token_endpoint_auth_signing_alg_values_supported,
        })
    }
}

/// Refuses an Entra authority whose host is neither a known Microsoft cloud host, nor loopback
/// (a local emulator), nor explicitly trusted: tokens, secrets and assertions would go to it.
/// MSAL's authority validation refuses such hosts too.
pub(crate) fn check_entra_host(
    authority: &Authority,
    trusted: &[String],
) -> Result<(), BuildError> {
    let host = authority.host();
    if authority.cloud().is_some() || trusted.contains(&host) || authority.is_loopback() {
        return Ok(());
    }
    Err(BuildError::UnknownAuthorityHost(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entra(url: &str) -> Authority {
        Authority::parse(url).unwrap()
    }

    #[test]
    fn entra_providers_name_their_endpoints_by_convention() {
        let p = Provider::Entra(entra(
            "https://login.microsoftonline.com/Contoso.onmicrosoft.com/v2.0/",
        ));
        assert_eq!(
            p.key(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com"
        );
        let e = p.entra_endpoints().unwrap();
        assert_eq!(
            e.token,
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert!(Provider::oidc("http://example.com").is_err());
        assert!(Provider::oidc("http://127.0.0.1:9/realms/x").is_ok());
    }

    #[test]
    fn entra_authority_hosts_must_be_known_clouds_loopback_or_trusted() {
        for known in [
            "https://login.microsoftonline.com",
            "https://LOGIN.windows.net/",
            "https://login.microsoftonline.us",
            "https://login.usgovcloudapi.net",
            "https://login.partner.microsoftonline.cn",
            "https://login.chinacloudapi.cn",
            "http://127.0.0.1:8080",
            "https://localhost:9443",
        ] {
            let a = Authority::new(known, "common").unwrap();
            assert!(check_entra_host(&a, &[]).is_ok(), "{known}");
        }
        for (unknown, host) in [
            (
                "https://login.microsoftonline.com.evil.example",
                "login.microsoftonline.com.evil.example",
            ),
            ("https://evil.example", "evil.example"),
            (
                "https://login.microsoftonline.de",
                "login.microsoftonline.de",
            ),
        ] {
            let a = Authority::new(unknown, "common").unwrap();
            assert_eq!(
                check_entra_host(&a, &[]),
                Err(BuildError::UnknownAuthorityHost(host.into())),
                "{unknown}"
            );
        }
        let proxy = Authority::new("https://proxy.example:8443/x", "common").unwrap();
        assert!(check_entra_host(&proxy, &["proxy.example".into()]).is_ok());
    }
}
