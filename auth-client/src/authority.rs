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
    /// The discovered issuer (`None` for Entra: endpoints by convention).
    pub(crate) issuer: Option<String>,
    /// RFC 9207 `authorization_response_iss_parameter_supported`.
    pub(crate) iss_parameter_supported: bool,
    /// `token_endpoint_auth_signing_alg_values_supported` (empty when not advertised).
    pub(crate) token_auth_signing_algs: Vec<String>,
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

    /// Whether this is Microsoft Entra ID.
    pub(crate) fn is_entra(&self) -> bool {
        matches!(self, Authority::Entra { .. })
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
                    issuer: None,
                    iss_parameter_supported: false,
                    token_auth_signing_algs: Vec::new(),
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
            issuer: Some(issuer.to_owned()),
            iss_parameter_supported: doc
                .get("authorization_response_iss_parameter_supported")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            token_auth_signing_algs: doc
                .get("token_endpoint_auth_signing_alg_values_supported")
                .and_then(serde_json::Value::as_array)
                .map(|algs| {
                    algs.iter()
                        .filter_map(|a| a.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// Microsoft's cloud hosts and their aliases, grouped by cloud, the canonical (issuer) host
/// first. From MSAL's built-in instance metadata (msal-common `AuthorityMetadata.ts`,
/// <https://github.com/AzureAD/microsoft-authentication-library-for-js/blob/dev/lib/msal-common/src/authority/AuthorityMetadata.ts>)
/// and Microsoft's national-cloud endpoints
/// (<https://learn.microsoft.com/en-us/entra/identity-platform/authentication-national-cloud>).
/// The retired Microsoft Cloud Deutschland (`login.microsoftonline.de`, closed in 2021) is not
/// listed.
const KNOWN_CLOUDS: [&[&str]; 3] = [
    // Public cloud; v2 issuer https://login.microsoftonline.com/{tid}/v2.0.
    &[
        "login.microsoftonline.com",
        "login.windows.net",
        "login.microsoft.com",
        "sts.windows.net",
    ],
    // US Government; v2 issuer https://login.microsoftonline.us/{tid}/v2.0.
    &[
        "login.microsoftonline.us",
        "login.usgovcloudapi.net",
        "login-us.microsoftonline.com",
    ],
    // China (operated by 21Vianet); v2 issuer https://login.partner.microsoftonline.cn/{tid}/v2.0.
    &["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
];

/// The host of a base URL (`https://host[:port][/path]`), lowercase, without the port.
fn host_of(instance: &str) -> String {
    let rest = instance.split_once("://").map_or(instance, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let host = if authority.starts_with('[') {
        authority.split(']').next().map_or("", |h| h).to_owned() + "]"
    } else {
        authority
            .rsplit_once(':')
            .map_or(authority, |(h, _)| h)
            .to_owned()
    };
    host.to_ascii_lowercase()
}

/// Refuses an Entra instance whose host is neither a known Microsoft cloud host, nor loopback
/// (a local emulator), nor explicitly trusted: tokens, secrets and assertions would go to it.
pub(crate) fn check_entra_host(instance: &str, trusted: &[String]) -> Result<(), BuildError> {
    let host = host_of(instance);
    let authority = instance.split_once("://").map_or(instance, |(_, r)| r);
    let known = KNOWN_CLOUDS
        .iter()
        .any(|cloud| cloud.contains(&host.as_str()));
    if known || trusted.contains(&host) || is_loopback(authority.split('/').next().unwrap_or("")) {
        return Ok(());
    }
    Err(BuildError::UnknownAuthorityHost(host))
}

/// The instance ID tokens name: the cloud's canonical host for a known alias (e.g.
/// `login.windows.net` → `login.microsoftonline.com`), otherwise `instance` itself.
pub(crate) fn issuer_instance(instance: &str) -> String {
    let host = host_of(instance);
    KNOWN_CLOUDS
        .iter()
        .find(|cloud| cloud.contains(&host.as_str()))
        .map_or_else(
            || instance.to_owned(),
            |cloud| format!("https://{}", cloud[0]),
        )
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
            assert!(check_entra_host(known, &[]).is_ok(), "{known}");
        }
        for unknown in [
            "https://login.microsoftonline.com.evil.example",
            "https://evil.example",
            "https://login.microsoftonline.de",
        ] {
            assert_eq!(
                check_entra_host(unknown, &[]),
                Err(BuildError::UnknownAuthorityHost(host_of(unknown))),
                "{unknown}"
            );
        }
        assert!(
            check_entra_host("https://proxy.example:8443/x", &["proxy.example".into()]).is_ok()
        );
    }

    #[test]
    fn sovereign_aliases_map_to_their_issuer_host() {
        assert_eq!(
            issuer_instance("https://login.windows.net"),
            "https://login.microsoftonline.com"
        );
        assert_eq!(
            issuer_instance("https://login.usgovcloudapi.net"),
            "https://login.microsoftonline.us"
        );
        assert_eq!(
            issuer_instance("https://login.chinacloudapi.cn"),
            "https://login.partner.microsoftonline.cn"
        );
        assert_eq!(issuer_instance("http://127.0.0.1:9"), "http://127.0.0.1:9");
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
