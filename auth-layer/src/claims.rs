//! The claims of a validated access token, typed for what Entra APIs need.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::ValidationError;
use crate::json::{Captured, Members, Number};

/// Whether a user is present behind a token.
///
/// The rule, in order (documented in the guide's security model):
/// 1. `idtyp` decides when present: `app` ⇒ [`TokenKind::App`], `user` ⇒
///    [`TokenKind::Delegated`]. Entra emits it when the `idtyp` optional claim is configured on
///    the API's app registration, which we recommend.
/// 2. Otherwise a non-empty `scp` ⇒ delegated (Entra puts delegated permissions in `scp` and
///    application permissions in `roles`).
/// 3. Otherwise a non-empty RFC 9068 `scope` ⇒ delegated, unless `sub` equals the calling client
///    (RFC 9068's client-credentials shape) ⇒ app.
/// 4. Otherwise ⇒ app-only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A user signed in and a client acts for them (authorization code, On-Behalf-Of).
    Delegated,
    /// An application acts as itself (client credentials); no user.
    App,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenKind::Delegated => "delegated",
            TokenKind::App => "app",
        })
    }
}

/// The delegated permissions of a token: Entra's space-separated `scp` (or an array, as some
/// providers send), or RFC 9068's `scope`, parsed once into a duplicate-free list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    fn parse_str(s: &str) -> Self {
        let mut out: Vec<String> = Vec::new();
        for scope in s.split(' ').filter(|s| !s.is_empty()) {
            if !out.iter().any(|seen| seen == scope) {
                out.push(scope.to_owned());
            }
        }
        Scopes(out)
    }

    fn from_vec(v: Vec<String>) -> Self {
        let mut out: Vec<String> = Vec::with_capacity(v.len());
        for scope in v {
            if !scope.is_empty() && !out.contains(&scope) {
                out.push(scope);
            }
        }
        Scopes(out)
    }

    /// Whether `scope` is granted (exact, case-sensitive match, as Entra compares).
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// The scopes, in token order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// How many scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no scope.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The groups a token reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Groups {
    /// No `groups` claim and no overage marker: the app is not configured to receive groups.
    NotIssued,
    /// The `groups` claim, as issued.
    Listed(Vec<String>),
    /// Too many groups to fit in the token: `_claim_names` (or `hasgroups`) is present and
    /// `groups` is absent. Query Microsoft Graph for the user's groups; never treat this as
    /// "member of no group".
    Overage,
}

/// The claims of a validated token.
///
/// The typed accessors cover what Entra APIs need; [`Claims::raw`], [`Claims::get`] and
/// [`Claims::deserialize`] reach every other claim.
#[derive(Clone)]
pub struct Claims {
    pub(crate) issuer: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) expires_at: f64,
    pub(crate) not_before: Option<f64>,
    pub(crate) issued_at: Option<f64>,
    pub(crate) tenant_id: Option<String>,
    pub(crate) object_id: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) preferred_username: Option<String>,
    pub(crate) upn: Option<String>,
    pub(crate) scopes: Scopes,
    pub(crate) roles: Vec<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) client_auth_method: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) uti: Option<String>,
    pub(crate) idtyp: Option<String>,
    pub(crate) wids: Vec<String>,
    pub(crate) xms_cc: Vec<String>,
    pub(crate) groups: Groups,
    pub(crate) kind: TokenKind,
    pub(crate) key_id: String,
    payload: Vec<u8>,
}

impl Claims {
    /// `iss`: who issued the token.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// `aud`: the audiences (a string `aud` becomes one element).
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }
    /// `exp` in Unix seconds (fractions allowed by RFC 7519).
    pub fn expires_at(&self) -> f64 {
        self.expires_at
    }
    /// `nbf` in Unix seconds.
    pub fn not_before(&self) -> Option<f64> {
        self.not_before
    }
    /// `iat` in Unix seconds.
    pub fn issued_at(&self) -> Option<f64> {
        self.issued_at
    }
    /// `tid`: the Entra tenant.
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }
    /// `oid`: the user's (or service principal's) object id, the same across apps in a tenant.
    pub fn object_id(&self) -> Option<&str> {
        self.object_id.as_deref()
    }
    /// `sub`: the subject (pairwise per app in Entra; use `oid` to identify users across apps).
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }
    /// `name`: the user's display name (delegated tokens).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// `preferred_username` (v2 tokens).
    pub fn preferred_username(&self) -> Option<&str> {
        self.preferred_username.as_deref()
    }
    /// `upn` (v1 tokens).
    pub fn upn(&self) -> Option<&str> {
        self.upn.as_deref()
    }
    /// The user name to show: `preferred_username`, else `upn`. Never use it for authorization
    /// (it is mutable); use [`Claims::object_id`].
    pub fn username(&self) -> Option<&str> {
        self.preferred_username.as_deref().or(self.upn.as_deref())
    }
    /// Delegated permissions (`scp`, or `scope`).
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }
    /// `roles`: application permissions (app-only tokens) or app roles assigned to the user.
    pub fn roles(&self) -> &[String] {
        &self.roles
    }
    /// Whether `roles` contains `role` (exact match).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
    /// The calling client application: `azp` (v2), `client_id` (RFC 9068) or `appid` (v1).
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }
    /// How the client authenticated: `azpacr` (v2) or `appidacr` (v1): `0` public client,
    /// `1` secret, `2` certificate or federated credential.
    pub fn client_auth_method(&self) -> Option<&str> {
        self.client_auth_method.as_deref()
    }
    /// `ver`: `1.0` or `2.0`.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
    /// `uti`: Entra's token identifier (for correlation, not for replay detection).
    pub fn uti(&self) -> Option<&str> {
        self.uti.as_deref()
    }
    /// `idtyp`: `app` or `user` when the optional claim is configured.
    pub fn idtyp(&self) -> Option<&str> {
        self.idtyp.as_deref()
    }
    /// `wids`: the user's tenant-wide directory roles (template ids).
    pub fn wids(&self) -> &[String] {
        &self.wids
    }
    /// `xms_cc`: client capabilities (e.g. `cp1` for Conditional Access claims challenges).
    pub fn client_capabilities(&self) -> &[String] {
        &self.xms_cc
    }
    /// Group membership, with overage reported as such.
    pub fn groups(&self) -> &Groups {
        &self.groups
    }
    /// Delegated (user present) or app-only; see [`TokenKind`] for the rule.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }
    /// The `kid` (or `x5t`) of the key that verified the token.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Every claim, as JSON (parsed on demand from the verified payload).
    pub fn raw(&self) -> Map<String, Value> {
        // The payload passed the strict parser as a JSON object, so this cannot fail; an empty
        // map is returned rather than panicking if that invariant were ever broken.
        serde_json::from_slice(&self.payload).unwrap_or_default()
    }

    /// One claim by name, as JSON.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.raw().remove(name)
    }

    /// Deserializes all claims into the caller's own type.
    ///
    /// # Errors
    /// When the claims do not fit `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.payload)
    }
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("kind", &self.kind)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("tenant_id", &self.tenant_id)
            .field("object_id", &self.object_id)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("roles", &self.roles)
            .field("expires_at", &self.expires_at)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The claims the validator reads (every other claim is only checked for duplicates).
pub(crate) fn wanted(name: &str) -> Option<&'static str> {
    Some(match name {
        "iss" => "iss",
        "aud" => "aud",
        "exp" => "exp",
        "nbf" => "nbf",
        "iat" => "iat",
        "tid" => "tid",
        "oid" => "oid",
        "sub" => "sub",
        "name" => "name",
        "preferred_username" => "preferred_username",
        "upn" => "upn",
        "azp" => "azp",
        "client_id" => "client_id",
        "appid" => "appid",
        "azpacr" => "azpacr",
        "appidacr" => "appidacr",
        "ver" => "ver",
        "uti" => "uti",
        "idtyp" => "idtyp",
        "scp" => "scp",
        "scope" => "scope",
        "roles" => "roles",
        "wids" => "wids",
        "groups" => "groups",
        "xms_cc" => "xms_cc",
        "_claim_names" => "_claim_names",
        "hasgroups" => "hasgroups",
        "nonce" => "nonce",
        "c_hash" => "c_hash",
        "at_hash" => "at_hash",
        _ => return None,
    })
}

/// Parses an RFC 7519 NumericDate: a non-negative finite number within i64 seconds.
fn numeric_date(value: &Captured) -> Option<f64> {
    match value {
        Captured::Num(Number::Unsigned(u)) => i64::try_from(*u).ok().map(|i| i as f64),
        Captured::Num(Number::Float(f)) if f.is_finite() && *f >= 0.0 && *f < i64::MAX as f64 => {
            Some(*f)
        }
        _ => None,
    }
}

fn string(value: Captured, claim: &'static str) -> Result<String, ValidationError> {
    match value {
        Captured::Str(s) => Ok(s),
        _ => Err(ValidationError::InvalidClaim(claim)),
    }
}

fn strings(value: Captured, claim: &'static str) -> Result<Vec<String>, ValidationError> {
    match value {
        Captured::StrArray(v) => Ok(v),
        _ => Err(ValidationError::InvalidClaim(claim)),
    }
}

impl Claims {
    /// Builds typed claims from the strictly parsed members, checking every type.
    pub(crate) fn from_members(
        members: Members,
        payload: Vec<u8>,
        key_id: String,
    ) -> Result<Self, ValidationError> {
        let mut c = Claims {
            issuer: String::new(),
            audiences: Vec::new(),
            expires_at: 0.0,
            not_before: None,
            issued_at: None,
            tenant_id: None,
            object_id: None,
            subject: None,
            name: None,
            preferred_username: None,
            upn: None,
            scopes: Scopes::default(),
            roles: Vec::new(),
            client_id: None,
            client_auth_method: None,
            version: None,
            uti: None,
            idtyp: None,
            wids: Vec::new(),
            xms_cc: Vec::new(),
            groups: Groups::NotIssued,
            kind: TokenKind::App,
            key_id,
            payload,
        };
        let (mut iss, mut aud, mut exp) = (false, false, false);
        let (mut azp, mut client_id, mut appid) = (None, None, None);
        let (mut scp, mut scope) = (None, None);
        let (mut groups, mut overage) = (None, false);
        for (name, value) in members {
            match name {
                "iss" => {
                    c.issuer = string(value, "iss")?;
                    iss = true;
                }
                "aud" => {
                    c.audiences = match value {
                        Captured::Str(s) => vec![s],
                        Captured::StrArray(v) => v,
                        _ => return Err(ValidationError::InvalidClaim("aud")),
                    };
                    aud = true;
                }
                "exp" => {
                    c.expires_at =
                        numeric_date(&value).ok_or(ValidationError::InvalidClaim("exp"))?;
                    exp = true;
                }
                "nbf" => {
                    c.not_before =
                        Some(numeric_date(&value).ok_or(ValidationError::InvalidClaim("nbf"))?);
                }
                "iat" => {
                    c.issued_at =
                        Some(numeric_date(&value).ok_or(ValidationError::InvalidClaim("iat"))?);
                }
                "tid" => c.tenant_id = Some(string(value, "tid")?),
                "oid" => c.object_id = Some(string(value, "oid")?),
                "sub" => c.subject = Some(string(value, "sub")?),
                "name" => c.name = Some(string(value, "name")?),
                "preferred_username" => {
                    c.preferred_username = Some(string(value, "preferred_username")?);
                }
                "upn" => c.upn = Some(string(value, "upn")?),
                "azp" => azp = Some(string(value, "azp")?),
                "client_id" => client_id = Some(string(value, "client_id")?),
                "appid" => appid = Some(string(value, "appid")?),
                "azpacr" => c.client_auth_method = Some(string(value, "azpacr")?),
                "appidacr" => {
                    let v = string(value, "appidacr")?;
                    c.client_auth_method.get_or_insert(v);
                }
                "ver" => c.version = Some(string(value, "ver")?),
                "uti" => c.uti = Some(string(value, "uti")?),
                "idtyp" => c.idtyp = Some(string(value, "idtyp")?),
                "scp" => {
                    scp = Some(match value {
                        Captured::Str(s) => Scopes::parse_str(&s),
                        Captured::StrArray(v) => Scopes::from_vec(v),
                        _ => return Err(ValidationError::InvalidClaim("scp")),
                    });
                }
                "scope" => scope = Some(Scopes::parse_str(&string(value, "scope")?)),
                "roles" => c.roles = strings(value, "roles")?,
                "wids" => c.wids = strings(value, "wids")?,
                "xms_cc" => c.xms_cc = strings(value, "xms_cc")?,
                "groups" => groups = Some(strings(value, "groups")?),
                "_claim_names" => overage = true,
                "hasgroups" => overage |= value == Captured::Bool(true),
                "nonce" | "c_hash" | "at_hash" => return Err(ValidationError::IdToken),
                _ => {}
            }
        }
        if !iss {
            return Err(ValidationError::MissingClaim("iss"));
        }
        if !aud {
            return Err(ValidationError::MissingClaim("aud"));
        }
        if !exp {
            return Err(ValidationError::MissingClaim("exp"));
        }
        c.client_id = azp.or(client_id).or(appid);
        c.groups = match (groups, overage) {
            (Some(list), _) => Groups::Listed(list),
            (None, true) => Groups::Overage,
            (None, false) => Groups::NotIssued,
        };
        let has_scp = scp.as_ref().is_some_and(|s| !s.is_empty());
        let has_scope = scope.as_ref().is_some_and(|s| !s.is_empty());
        c.kind = match c.idtyp.as_deref() {
            Some("app") => TokenKind::App,
            Some("user") => TokenKind::Delegated,
            Some(_) => return Err(ValidationError::InvalidClaim("idtyp")),
            None if has_scp => TokenKind::Delegated,
            None if has_scope && (c.subject.is_none() || c.subject != c.client_id) => {
                TokenKind::Delegated
            }
            None => TokenKind::App,
        };
        c.scopes = scp.or(scope).unwrap_or_default();
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_object;

    fn claims(json: &str) -> Result<Claims, ValidationError> {
        let members = parse_object(json.as_bytes(), wanted).expect("valid JSON");
        Claims::from_members(members, json.as_bytes().to_vec(), "k".into())
    }

    const BASE: &str = r#""iss":"i","aud":"a","exp":2000000000"#;

    #[test]
    fn idtyp_decides_the_kind_when_present() {
        let c = claims(&format!(r#"{{{BASE},"idtyp":"app","scp":"x"}}"#)).unwrap();
        assert_eq!(c.kind(), TokenKind::App);
        let c = claims(&format!(r#"{{{BASE},"idtyp":"user"}}"#)).unwrap();
        assert_eq!(c.kind(), TokenKind::Delegated);
    }

    #[test]
    fn scp_means_delegated_and_its_absence_app() {
        assert_eq!(
            claims(&format!(r#"{{{BASE},"scp":"a b"}}"#))
                .unwrap()
                .kind(),
            TokenKind::Delegated
        );
        assert_eq!(
            claims(&format!(r#"{{{BASE},"roles":["r"]}}"#))
                .unwrap()
                .kind(),
            TokenKind::App
        );
        assert_eq!(
            claims(&format!(r#"{{{BASE},"scp":""}}"#)).unwrap().kind(),
            TokenKind::App
        );
    }

    #[test]
    fn rfc9068_client_credentials_scope_is_app() {
        let c = claims(&format!(
            r#"{{{BASE},"scope":"read","sub":"c1","client_id":"c1"}}"#
        ))
        .unwrap();
        assert_eq!(c.kind(), TokenKind::App);
        let c = claims(&format!(
            r#"{{{BASE},"scope":"read","sub":"u1","client_id":"c1"}}"#
        ))
        .unwrap();
        assert_eq!(c.kind(), TokenKind::Delegated);
    }

    #[test]
    fn scopes_are_a_set_split_on_spaces() {
        let c = claims(&format!(
            r#"{{{BASE},"scp":"Case.Create  Files.Read Case.Create"}}"#
        ))
        .unwrap();
        assert_eq!(
            c.scopes().iter().collect::<Vec<_>>(),
            ["Case.Create", "Files.Read"]
        );
        assert!(c.scopes().contains("Files.Read"));
        assert!(!c.scopes().contains("files.read"));
    }

    #[test]
    fn groups_overage_is_reported_as_overage_never_as_no_groups() {
        let c = claims(&format!(r#"{{{BASE},"_claim_names":{{"groups":"src1"}}}}"#)).unwrap();
        assert_eq!(c.groups(), &Groups::Overage);
        let c = claims(&format!(r#"{{{BASE},"hasgroups":true}}"#)).unwrap();
        assert_eq!(c.groups(), &Groups::Overage);
        let c = claims(&format!(r#"{{{BASE},"groups":["g"]}}"#)).unwrap();
        assert_eq!(c.groups(), &Groups::Listed(vec!["g".into()]));
        assert_eq!(
            claims(&format!("{{{BASE}}}")).unwrap().groups(),
            &Groups::NotIssued
        );
    }

    #[test]
    fn numeric_dates_must_be_non_negative_numbers_within_i64() {
        for bad in [
            r#""2000000000""#,
            "true",
            "-1",
            "1e300",
            "9223372036854775808",
            "null",
            "[1]",
        ] {
            let json = format!(r#"{{"iss":"i","aud":"a","exp":{bad}}}"#);
            assert_eq!(
                claims(&json).unwrap_err(),
                ValidationError::InvalidClaim("exp"),
                "{bad}"
            );
        }
        let c = claims(r#"{"iss":"i","aud":"a","exp":2000000000.5}"#).unwrap();
        assert_eq!(c.expires_at(), 2_000_000_000.5);
    }

    #[test]
    fn client_is_azp_then_client_id_then_appid() {
        let c = claims(&format!(r#"{{{BASE},"appid":"v1","appidacr":"1"}}"#)).unwrap();
        assert_eq!(
            (c.client_id(), c.client_auth_method()),
            (Some("v1"), Some("1"))
        );
        let c = claims(&format!(
            r#"{{{BASE},"appid":"v1","azp":"v2","azpacr":"2"}}"#
        ))
        .unwrap();
        assert_eq!(
            (c.client_id(), c.client_auth_method()),
            (Some("v2"), Some("2"))
        );
    }

    #[test]
    fn raw_and_custom_deserialization_reach_every_claim() {
        #[derive(serde::Deserialize)]
        struct Mine {
            custom: u32,
        }
        let c = claims(&format!(r#"{{{BASE},"custom":7}}"#)).unwrap();
        assert_eq!(c.get("custom"), Some(Value::from(7)));
        assert_eq!(c.deserialize::<Mine>().unwrap().custom, 7);
    }
}
