//! Authorities: an Entra instance + tenant (endpoints by convention), or any OpenID Connect
//! issuer (endpoints by discovery).

use crate::error::{BuildError, Error};
use crate::transport::Transport;

/// Where tokens come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Authority {
    /// Microsoft Entra ID: `{instance}/{tenant}`, endpoints `{authority}/oauth2/v2.0/…`.
    Entra {
        /// `https://login.microsoftonline.com` (no trailing slash).
        instance: String,
        /// Tenant id, domain, `common`, `organizations` or `consumers` (lowercase).
        tenant: String,
    },
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
}

impl Authority {
    /// From `instance` and `tenant`.
    pub(crate) fn entra(instance: &str, tenant: &str) -> Result<Authority, BuildError> {
        let instance = check_base_url(instance)?;
        let tenant = tenant.trim().to_ascii_lowercase();
        let valid = !tenant.is_empty()
            && tenant.len() <= 256
            && tenant
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        if !valid {
            return Err(BuildError::InvalidTenant(tenant));
        }
        Ok(Authority::Entra { instance, tenant })
    }

    /// From an authority URL `{instance}/{tenant}` (a trailing `/` or `/v2.0` is allowed).
    pub(crate) fn from_url(url: &str) -> Result<Authority, BuildError> {
        let trimmed = url.trim().trim_end_matches('/');
        let trimmed = trimmed.strip_suffix("/v2.0").unwrap_or(trimmed);
        let Some((instance, tenant)) = trimmed.rsplit_once('/') else {
            return Err(invalid(url, "expected {instance}/{tenant}"));
        };
        if !instance.contains("://") || instance.ends_with(':') || instance.ends_with('/') {
            return Err(invalid(
                url,
                "expected {instance}/{tenant}, e.g. https://login.microsoftonline.com/<tenant-id>",
            ));
        }
        Authority::entra(instance, tenant)
    }

    /// An OIDC issuer.
    pub(crate) fn oidc(issuer: &str) -> Result<Authority, BuildError> {
        check_base_url(issuer)?;
        Ok(Authority::Oidc {
            issuer: issuer.trim().to_owned(),
        })
    }

    /// The string that identifies the authority in cache keys.
    pub(crate) fn key(&self) -> String {
        match self {
            Authority::Entra { instance, tenant } => format!("{instance}/{tenant}"),
            Authority::Oidc { issuer } => issuer.trim_end_matches('/').to_owned(),
        }
    }

    /// Entra's endpoints, known without discovery.
    pub(crate) fn entra_endpoints(&self) -> Option<Endpoints> {
        match self {
            Authority::Entra { .. } => {
                let base = self.key();
                Some(Endpoints {
                    authorization: format!("{base}/oauth2/v2.0/authorize"),
                    token: format!("{base}/oauth2/v2.0/token"),
                    jwks_uri: None,
                })
            }
            Authority::Oidc { .. } => None,
        }
    }

    /// Fetches and checks `{issuer}/.well-known/openid-configuration`.
    pub(crate) async fn discover(issuer: &str, transport: &Transport) -> Result<Endpoints, Error> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let fail = |reason: String| Error::Discovery {
            url: url.clone(),
            reason,
        };
        let response = transport.get(&url).await.map_err(|e| e.error)?;
        if response.status != 200 {
            return Err(fail(format!("HTTP {}", response.status)));
        }
        let doc = response
            .json()
            .ok_or_else(|| fail("the document is not a JSON object".to_owned()))?;
        let text = |name: &str| doc.get(name).and_then(serde_json::Value::as_str);
        if text("issuer") != Some(issuer) {
            return Err(fail(format!(
                "the document names issuer {:?}, not {issuer:?} (OIDC Discovery §4.3)",
                text("issuer").unwrap_or("")
            )));
        }
        let endpoint = |name: &str| -> Result<String, Error> {
            let value = text(name).ok_or_else(|| fail(format!("no {name}")))?;
            check_base_url(value).map_err(|e| fail(format!("{name}: {e}")))?;
            Ok(value.to_owned())
        };
        Ok(Endpoints {
            authorization: endpoint("authorization_endpoint")?,
            token: endpoint("token_endpoint")?,
            jwks_uri: Some(endpoint("jwks_uri")?),
        })
    }
}

fn invalid(url: &str, reason: &'static str) -> BuildError {
    BuildError::InvalidUrl {
        url: url.to_owned(),
        reason,
    }
}

/// Accepts `https://host[:port][/path]`, or `http://` to a loopback host (`localhost`,
/// `127.0.0.0/8`, `[::1]`); no user info, query or fragment. Returns it without a trailing `/`.
pub(crate) fn check_base_url(url: &str) -> Result<String, BuildError> {
    let url = url.trim();
    let normalised = url.trim_end_matches('/');
    let (rest, https) = if let Some(rest) = normalised.strip_prefix("https://") {
        (rest, true)
    } else if let Some(rest) = normalised.strip_prefix("http://") {
        (rest, false)
    } else {
        return Err(invalid(
            url,
            "only https URLs (or http to a loopback host) are allowed",
        ));
    };
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() {
        return Err(invalid(url, "the URL has no host"));
    }
    if authority.contains('@') || rest.contains(['?', '#']) {
        return Err(invalid(
            url,
            "user info, query and fragment are not allowed",
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid(url, "the URL contains whitespace"));
    }
    if !https && !is_loopback(authority) {
        return Err(invalid(
            url,
            "plain http is allowed only to loopback hosts (localhost, 127.0.0.1, [::1])",
        ));
    }
    Ok(normalised.to_owned())
}

/// Whether `host[:port]` is a loopback host.
fn is_loopback(authority: &str) -> bool {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, _)) => h,
            None => return false,
        }
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_parse_and_name_their_endpoints() {
        let a =
            Authority::from_url("https://login.microsoftonline.com/Contoso.onmicrosoft.com/v2.0/")
                .unwrap();
        assert_eq!(
            a,
            Authority::Entra {
                instance: "https://login.microsoftonline.com".into(),
                tenant: "contoso.onmicrosoft.com".into()
            }
        );
        let e = a.entra_endpoints().unwrap();
        assert_eq!(
            e.token,
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert!(Authority::from_url("https://login.microsoftonline.com").is_err());
        assert!(Authority::from_url("http://example.com/tenant").is_err());
        assert!(Authority::from_url("http://127.0.0.1:9/tenant").is_ok());
        assert!(Authority::entra("https://x", "a/b").is_err());
    }

    #[test]
    fn only_https_or_loopback_http_is_accepted() {
        assert!(check_base_url("https://idp.example.com/realms/x/").is_ok());
        assert!(check_base_url("http://localhost:8080").is_ok());
        assert!(check_base_url("http://[::1]:1/x").is_ok());
        for bad in [
            "http://example.com",
            "http://127.0.0.1.evil.com",
            "ftp://x",
            "https://",
            "https://user@host",
            "https://host/?q",
        ] {
            assert!(check_base_url(bad).is_err(), "{bad}");
        }
    }
}
