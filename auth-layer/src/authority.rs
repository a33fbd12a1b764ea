//! Entra authorities and their parts, checked once: [`Guid`], [`TenantId`], [`Authority`] and
//! the Microsoft [`Cloud`]s. The validator, the authenticator, the key cache and auth-client's
//! `ConfidentialClient` parse with these types, so one string means the same everywhere:
//!
//! - an **authority** is `{instance}/{tenant}` (a trailing `/` or `/v2.0` is allowed), e.g.
//!   `https://login.microsoftonline.com/contoso.onmicrosoft.com`, as MSAL documents it
//!   (<https://learn.microsoft.com/en-us/entra/identity-platform/msal-client-application-configuration#authority>);
//! - a **tenant id** is the tenant's GUID, one of its domain names, or `organizations`,
//!   `common` or `consumers`;
//! - an **issuer** is what tokens carry in `iss` (for Entra, always the tenant's GUID:
//!   `{instance}/{tid}/v2.0` or `https://sts.windows.net/{tid}/`).
//!
//! ```
//! use auth_layer::authority::{Authority, Cloud, TenantId};
//!
//! let a = Authority::parse("https://login.microsoftonline.com/Contoso.onmicrosoft.com/v2.0")?;
//! assert_eq!(a.instance(), "https://login.microsoftonline.com");
//! assert_eq!(a.tenant(), &TenantId::parse("contoso.onmicrosoft.com")?);
//! assert_eq!(a.cloud(), Some(Cloud::Public));
//! assert_eq!(
//!     a.token_endpoint(),
//!     "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
//! );
//! # Ok::<(), auth_layer::authority::AuthorityError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::url::{base_url, is_loopback_authority};

/// A configuration the authority types refused; the message names the fix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// Not a GUID in the 8-4-4-4-12 form.
    #[error(
        "{0:?} is not a GUID (8-4-4-4-12 hex digits, e.g. 8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10); \
         the Entra admin center shows it on the tenant's or the app registration's Overview page"
    )]
    InvalidGuid(String),
    /// Not a tenant id, domain name, `organizations`, `common` or `consumers`.
    #[error(
        "{0:?} is not a tenant: use the tenant's id (a GUID), one of its domain names \
         (contoso.onmicrosoft.com), organizations, common or consumers"
    )]
    InvalidTenant(String),
    /// A URL (instance, authority, issuer) the rules refuse.
    #[error("{url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// A GUID in Entra's canonical form: 8-4-4-4-12 **lowercase** hex digits, as tenant ids
/// (`tid`), object ids (`oid`) and client ids appear in tokens.
///
/// [`Guid::parse`] accepts either case and keeps the lowercase form, so comparisons with claims
/// are exact.
///
/// ```
/// use auth_layer::authority::Guid;
///
/// let g = Guid::parse("8F0E8C5E-6F0B-4D8E-9A43-5C1D2B7A9E10")?;
/// assert_eq!(g.as_str(), "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10");
/// assert!(Guid::parse("{8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10}").is_err());
/// assert_eq!(Guid::from_bytes([0xab; 16]).as_str(), "abababab-abab-abab-abab-abababababab");
/// # Ok::<(), auth_layer::authority::AuthorityError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(Box<str>);

impl Guid {
    /// Parses the 8-4-4-4-12 form (either case; no braces, no `urn:uuid:`).
    ///
    /// # Errors
    /// [`AuthorityError::InvalidGuid`] for anything else.
    pub fn parse(s: &str) -> Result<Guid, AuthorityError> {
        let lower = s.trim().to_ascii_lowercase();
        if is_guid(&lower) {
            Ok(Guid(lower.into()))
        } else {
            Err(AuthorityError::InvalidGuid(s.to_owned()))
        }
    }

    /// Formats 16 bytes as a GUID, in order (set the version bits yourself, e.g. a random
    /// version-4 GUID: `b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80`).
    pub fn from_bytes(bytes: [u8; 16]) -> Guid {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(36);
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                s.push('-');
            }
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        Guid(s.into())
    }

    /// The lowercase 8-4-4-4-12 text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl FromStr for Guid {
    type Err = AuthorityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Guid::parse(s)
    }
}

impl AsRef<str> for Guid {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Whether `s` is a GUID in Entra's canonical form (lowercase 8-4-4-4-12), as tokens carry
/// `tid` and `oid`. No allocation, and branch-free over the 36 bytes (the compiler vectorises
/// it): the validator calls it per token (twice: the issuer's tenant segment and the profile's
/// choice).
#[inline]
pub fn is_guid(s: &str) -> bool {
    let Ok(b) = <&[u8; 36]>::try_from(s.as_bytes()) else {
        return false;
    };
    let (mut bad, mut dashes) = (0u8, 0u8);
    for &c in b {
        let dash = c == b'-';
        let hex = c.is_ascii_digit() | (c.wrapping_sub(b'a') < 6);
        bad |= u8::from(!(hex | dash));
        dashes += u8::from(dash);
    }
    // Every byte a hex digit or a dash, exactly four dashes, and those where 8-4-4-4-12 puts
    // them: the other 32 are hex digits.
    bad == 0 && dashes == 4 && b[8] == b'-' && b[13] == b'-' && b[18] == b'-' && b[23] == b'-'
}

/// An Entra tenant as an authority names it: its id, a domain name, or one of the three
/// multi-tenant aliases
/// (<https://learn.microsoft.com/en-us/entra/identity-platform/msal-client-application-configuration#audience>).
///
/// Tokens always name the tenant by id (`tid`, and in `iss`), so an API validating tokens needs
/// [`TenantId::Id`]; a client requesting tokens may use any form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TenantId {
    /// The tenant's id (recommended).
    Id(Guid),
    /// One of the tenant's domain names, e.g. `contoso.onmicrosoft.com` (lowercase).
    Domain(Box<str>),
    /// `organizations`: any work or school account.
    Organizations,
    /// `common`: work, school and personal Microsoft accounts.
    Common,
    /// `consumers`: personal Microsoft accounts only.
    Consumers,
}

impl TenantId {
    /// Parses a tenant (case-insensitive; kept lowercase).
    ///
    /// ```
    /// use auth_layer::authority::TenantId;
    ///
    /// assert!(matches!(TenantId::parse("Organizations")?, TenantId::Organizations));
    /// assert!(TenantId::parse("8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10")?.guid().is_some());
    /// assert_eq!(TenantId::parse("Contoso.onmicrosoft.com")?.as_str(), "contoso.onmicrosoft.com");
    /// assert!(TenantId::parse("a/b").is_err());
    /// # Ok::<(), auth_layer::authority::AuthorityError>(())
    /// ```
    ///
    /// # Errors
    /// [`AuthorityError::InvalidTenant`] unless it is a GUID, `organizations`, `common`,
    /// `consumers`, or a name of ASCII letters, digits, `-` and `.` (at most 253 characters).
    pub fn parse(s: &str) -> Result<TenantId, AuthorityError> {
        let lower = s.trim().to_ascii_lowercase();
        Ok(match lower.as_str() {
            "organizations" => TenantId::Organizations,
            "common" => TenantId::Common,
            "consumers" => TenantId::Consumers,
            t if is_guid(t) => TenantId::Id(Guid(lower.into())),
            t if !t.is_empty()
                && t.len() <= 253
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
            {
                TenantId::Domain(lower.into())
            }
            _ => return Err(AuthorityError::InvalidTenant(s.to_owned())),
        })
    }

    /// The tenant as it appears in an authority URL.
    pub fn as_str(&self) -> &str {
        match self {
            TenantId::Id(g) => g.as_str(),
            TenantId::Domain(d) => d,
            TenantId::Organizations => "organizations",
            TenantId::Common => "common",
            TenantId::Consumers => "consumers",
        }
    }

    /// The tenant's GUID, when it is given by id.
    pub fn guid(&self) -> Option<&Guid> {
        match self {
            TenantId::Id(g) => Some(g),
            _ => None,
        }
    }

    /// `organizations` or `common`: tokens of many tenants (`consumers` is one tenant, the
    /// Microsoft account tenant).
    pub fn is_multi_tenant(&self) -> bool {
        matches!(self, TenantId::Organizations | TenantId::Common)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TenantId {
    type Err = AuthorityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TenantId::parse(s)
    }
}

/// A Microsoft cloud (a national cloud or the public one), known by its authority hosts.
///
/// Hosts and aliases from MSAL's built-in instance metadata (msal-common `AuthorityMetadata.ts`,
/// <https://github.com/AzureAD/microsoft-authentication-library-for-js/blob/dev/lib/msal-common/src/authority/AuthorityMetadata.ts>)
/// and Microsoft's national-cloud endpoints
/// (<https://learn.microsoft.com/en-us/entra/identity-platform/authentication-national-cloud>).
/// The retired Microsoft Cloud Deutschland (`login.microsoftonline.de`, closed in 2021) is not
/// one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cloud {
    /// The public cloud: `login.microsoftonline.com`.
    Public,
    /// Azure Government (US): `login.microsoftonline.us`.
    UsGovernment,
    /// Microsoft Azure operated by 21Vianet (China): `login.partner.microsoftonline.cn`.
    China,
}

impl Cloud {
    /// Every known cloud.
    pub const ALL: [Cloud; 3] = [Cloud::Public, Cloud::UsGovernment, Cloud::China];

    /// Its authority hosts, the canonical one (the v2 issuer host) first.
    pub fn hosts(self) -> &'static [&'static str] {
        match self {
            Cloud::Public => &[
                "login.microsoftonline.com",
                "login.windows.net",
                "login.microsoft.com",
                "sts.windows.net",
            ],
            Cloud::UsGovernment => &[
                "login.microsoftonline.us",
                "login.usgovcloudapi.net",
                "login-us.microsoftonline.com",
            ],
            Cloud::China => &["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
        }
    }

    /// The instance v2 tokens name in `iss`, e.g. `https://login.microsoftonline.com`.
    pub fn instance(self) -> String {
        format!("https://{}", self.hosts()[0])
    }

    /// The base of v1 issuers (`{base}/{tid}/`): `https://sts.windows.net` for the public cloud
    /// and US Government, `https://sts.chinacloudapi.cn` for China
    /// (<https://learn.microsoft.com/en-us/entra/identity-platform/authentication-national-cloud>,
    /// <https://learn.microsoft.com/en-us/answers/questions/1190472>).
    pub fn v1_issuer_base(self) -> &'static str {
        match self {
            Cloud::Public | Cloud::UsGovernment => "https://sts.windows.net",
            Cloud::China => "https://sts.chinacloudapi.cn",
        }
    }

    /// The cloud a host (case-insensitive, no port) belongs to.
    pub fn of_host(host: &str) -> Option<Cloud> {
        Cloud::ALL
            .into_iter()
            .find(|c| c.hosts().iter().any(|h| h.eq_ignore_ascii_case(host)))
    }
}

/// An Entra authority: an instance (`https://host[:port][/path]`) and a tenant.
///
/// The instance must be `https`, or `http` to a loopback host (a local emulator); no user info,
/// query or fragment. Whether the host is one of Microsoft's is the caller's decision
/// ([`Authority::cloud`]): a client sending secrets refuses unknown hosts, a validator need not.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Authority {
    instance: Box<str>,
    tenant: TenantId,
}

impl Authority {
    /// Parses `{instance}/{tenant}`; a trailing `/` or `/v2.0` is allowed.
    ///
    /// # Errors
    /// [`AuthorityError::InvalidUrl`] when it is not that shape or the instance breaks the URL
    /// rules, [`AuthorityError::InvalidTenant`] for the tenant segment.
    pub fn parse(url: &str) -> Result<Authority, AuthorityError> {
        const SHAPE: &str = "an authority is {instance}/{tenant}, e.g. https://login.microsoftonline.com/<tenant-id>";
        let trimmed = url.trim().trim_end_matches('/');
        let trimmed = trimmed.strip_suffix("/v2.0").unwrap_or(trimmed);
        match trimmed.rsplit_once('/') {
            Some((instance, tenant))
                if instance.contains("://")
                    && !instance.ends_with(':')
                    && !instance.ends_with('/') =>
            {
                Authority::new(instance, tenant).map_err(|e| match e {
                    AuthorityError::InvalidUrl { reason, .. } => AuthorityError::InvalidUrl {
                        url: url.to_owned(),
                        reason,
                    },
                    other => other,
                })
            }
            _ => Err(AuthorityError::InvalidUrl {
                url: url.to_owned(),
                reason: SHAPE,
            }),
        }
    }

    /// From an instance and a tenant.
    ///
    /// # Errors
    /// As [`Authority::parse`].
    pub fn new(instance: &str, tenant: &str) -> Result<Authority, AuthorityError> {
        let instance = check_base_url(instance)?;
        let tenant = TenantId::parse(tenant)?;
        Ok(Authority {
            instance: instance.into(),
            tenant,
        })
    }

    /// The instance, without a trailing `/`.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// `{instance}/{tenant}`.
    pub fn url(&self) -> String {
        format!("{}/{}", self.instance, self.tenant)
    }

    /// The v2 issuer of this authority's tenant, `{instance}/{tenant}/v2.0` (Entra's
    /// multi-tenant discovery documents publish `{instance}/{tenantid}/v2.0` instead).
    pub fn v2_issuer(&self) -> String {
        format!("{}/v2.0", self.url())
    }

    /// The OpenID Connect metadata URL, `{instance}/{tenant}/v2.0/.well-known/openid-configuration`.
    pub fn metadata_url(&self) -> String {
        crate::discovery::metadata_url(&self.v2_issuer())
    }

    /// The v2 authorization endpoint, `{authority}/oauth2/v2.0/authorize`.
    pub fn authorize_endpoint(&self) -> String {
        format!("{}/oauth2/v2.0/authorize", self.url())
    }

    /// The v2 token endpoint, `{authority}/oauth2/v2.0/token`.
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth2/v2.0/token", self.url())
    }

    /// The host, lowercase, without the port.
    pub fn host(&self) -> String {
        host_of(&self.instance)
    }

    /// The Microsoft cloud whose host this is (none for a loopback emulator or a proxy).
    pub fn cloud(&self) -> Option<Cloud> {
        Cloud::of_host(&self.host())
    }

    /// Whether the host is loopback (`localhost`, `127.0.0.0/8`, `[::1]`): a local emulator.
    pub fn is_loopback(&self) -> bool {
        let rest = self
            .instance
            .split_once("://")
            .map_or(&*self.instance, |(_, r)| r);
        is_loopback_authority(rest.split('/').next().unwrap_or(""))
    }

    /// The instance tokens of this authority name in `iss`: the cloud's canonical host for a
    /// known alias (`https://login.windows.net` → `https://login.microsoftonline.com`), else the
    /// instance itself.
    pub fn issuer_instance(&self) -> String {
        self.cloud()
            .map_or_else(|| self.instance.to_string(), Cloud::instance)
    }
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.instance, self.tenant)
    }
}

impl FromStr for Authority {
    type Err = AuthorityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Authority::parse(s)
    }
}

/// Checks a base URL (an instance, an issuer, an endpoint): `https://host[:port][/path]`, or
/// `http://` to a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`); no user info, query,
/// fragment or whitespace. Returns it without a trailing `/`.
///
/// ```
/// use auth_layer::authority::check_base_url;
///
/// assert_eq!(check_base_url("https://idp.example/realms/x/")?, "https://idp.example/realms/x");
/// assert!(check_base_url("http://127.0.0.1:8080").is_ok());
/// assert!(check_base_url("http://idp.example").is_err());
/// assert!(check_base_url("https://127.0.0.1@evil.example").is_err());
/// # Ok::<(), auth_layer::authority::AuthorityError>(())
/// ```
///
/// # Errors
/// [`AuthorityError::InvalidUrl`] with the rule it breaks.
pub fn check_base_url(url: &str) -> Result<String, AuthorityError> {
    base_url(url.trim()).map_err(|reason| AuthorityError::InvalidUrl {
        url: url.to_owned(),
        reason,
    })
}

/// The host of a base URL (`scheme://host[:port][/path]`), lowercase, without the port.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
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

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10";

    #[test]
    fn a_guid_is_exactly_8_4_4_4_12_hex_digits_kept_lowercase() {
        assert!(is_guid(TID));
        assert!(!is_guid(&TID.to_ascii_uppercase()));
        assert!(!is_guid(&TID[1..]));
        assert!(!is_guid("common"));
        assert!(!is_guid("8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e1g"));
        assert!(!is_guid("8f0e8c5e06f0b-4d8e-9a43-5c1d2b7a9e10"));
        assert!(!is_guid("8f0e8c5e-6f0b-4d8e-9a43-5c1d-b7a9e10"));
        assert!(!is_guid("8f0e8c5e-6f0b-4d8e-9a43+5c1d2b7a9e10"));
        assert!(!is_guid("8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e1\u{e9}"));
        assert_eq!(
            Guid::parse(&TID.to_ascii_uppercase()).unwrap().as_str(),
            TID
        );
        for bad in [
            "",
            "{8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10}",
            "8f0e8c5e6f0b4d8e9a435c1d2b7a9e10",
            "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e1g",
            "8f0e8c5e_6f0b-4d8e-9a43-5c1d2b7a9e10",
        ] {
            assert!(Guid::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn guids_format_their_bytes_in_order() {
        let mut b = [0u8; 16];
        for (i, x) in b.iter_mut().enumerate() {
            *x = i as u8;
        }
        assert_eq!(
            Guid::from_bytes(b).as_str(),
            "00010203-0405-0607-0809-0a0b0c0d0e0f"
        );
    }

    #[test]
    fn tenants_are_ids_domains_or_the_three_aliases() {
        assert_eq!(TenantId::parse(TID).unwrap().guid().unwrap().as_str(), TID);
        assert_eq!(TenantId::parse(" COMMON ").unwrap(), TenantId::Common);
        assert_eq!(TenantId::parse("consumers").unwrap(), TenantId::Consumers);
        assert!(TenantId::parse("organizations").unwrap().is_multi_tenant());
        assert!(!TenantId::parse("consumers").unwrap().is_multi_tenant());
        assert_eq!(
            TenantId::parse("Contoso.OnMicrosoft.com").unwrap(),
            TenantId::Domain("contoso.onmicrosoft.com".into())
        );
        for bad in ["", "a/b", "a?b", "x@y", "a b", &"a".repeat(254)] {
            assert!(
                matches!(TenantId::parse(bad), Err(AuthorityError::InvalidTenant(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn authorities_are_instance_and_tenant_with_optional_v2_suffix() {
        for url in [
            "https://login.microsoftonline.com/Contoso.onmicrosoft.com",
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/",
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
            " https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/ ",
        ] {
            let a = Authority::parse(url).unwrap();
            assert_eq!(a.instance(), "https://login.microsoftonline.com", "{url}");
            assert_eq!(a.tenant().as_str(), "contoso.onmicrosoft.com");
            assert_eq!(
                a.to_string(),
                "https://login.microsoftonline.com/contoso.onmicrosoft.com"
            );
        }
        let a = Authority::parse(&format!("http://127.0.0.1:9/base/{TID}")).unwrap();
        assert_eq!(a.instance(), "http://127.0.0.1:9/base");
        assert!(a.is_loopback());
        assert_eq!(a.cloud(), None);
        assert_eq!(
            a.metadata_url(),
            format!("http://127.0.0.1:9/base/{TID}/v2.0/.well-known/openid-configuration")
        );
        assert_eq!(
            a.authorize_endpoint(),
            format!("http://127.0.0.1:9/base/{TID}/oauth2/v2.0/authorize")
        );
    }

    #[test]
    fn an_authority_without_a_tenant_or_with_a_bad_instance_is_refused() {
        for bad in [
            "https://login.microsoftonline.com",
            "https://login.microsoftonline.com/",
            "login.microsoftonline.com/common",
            "http://login.microsoftonline.com/common",
            "https://user@login.microsoftonline.com/common",
            "https://login.microsoftonline.com/common?x=1",
            "https:///common",
        ] {
            assert!(
                matches!(
                    Authority::parse(bad),
                    Err(AuthorityError::InvalidUrl { .. } | AuthorityError::InvalidTenant(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn known_cloud_hosts_and_aliases_map_to_their_issuer_instance() {
        for (url, cloud, issuer) in [
            (
                "https://login.windows.net/common",
                Cloud::Public,
                "https://login.microsoftonline.com",
            ),
            (
                "https://LOGIN.usgovcloudapi.net/common",
                Cloud::UsGovernment,
                "https://login.microsoftonline.us",
            ),
            (
                "https://login.chinacloudapi.cn/common",
                Cloud::China,
                "https://login.partner.microsoftonline.cn",
            ),
        ] {
            let a = Authority::parse(url).unwrap();
            assert_eq!(a.cloud(), Some(cloud), "{url}");
            assert_eq!(a.issuer_instance(), issuer, "{url}");
        }
        for unknown in [
            "https://login.microsoftonline.com.evil.example/common",
            "https://login.microsoftonline.de/common",
        ] {
            assert_eq!(
                Authority::parse(unknown).unwrap().cloud(),
                None,
                "{unknown}"
            );
        }
        assert_eq!(
            Cloud::China.v1_issuer_base(),
            "https://sts.chinacloudapi.cn"
        );
        assert_eq!(
            Cloud::UsGovernment.v1_issuer_base(),
            "https://sts.windows.net"
        );
    }
}
