//! [`Profile`]: how a provider's access tokens say who is calling (a user through a client, or
//! an application as itself), which claim names the client, and where an application's
//! permissions are.
//!
//! Every rule classifies on **positive evidence**; a token no rule classifies is refused with
//! [`ValidationError::Unclassified`], never defaulted to either kind. The rules and the token
//! shapes they were written from are listed, with sources, in `docs/security.md`.

use std::fmt;
use std::sync::Arc;

use crate::claims::{AppPermissions, ClientClaim};
use crate::{Claims, TokenKind, ValidationError};

type Classifier = Arc<dyn Fn(&Claims) -> Option<TokenKind> + Send + Sync>;

/// A provider profile: the rule that reads a token's kind, calling client and permissions.
///
/// Select one with [`ValidatorBuilder::profile`](crate::ValidatorBuilder::profile) (or
/// [`AuthenticatorBuilder::profile`](crate::AuthenticatorBuilder::profile)). Without one, Entra
/// issuers use [`Profile::entra`] and every other issuer [`Profile::rfc9068`].
///
/// ```
/// use auth_layer::{Profile, TokenKind, Validator};
///
/// let okta = Validator::builder()
///     .issuer("https://example.okta.com/oauth2/default")
///     .audience("api://default")
///     .profile(Profile::okta())
///     .build()?;
///
/// // Anything else: a custom rule; `None` refuses the token as unclassified.
/// let custom = Profile::custom("acme", |claims| match claims.get("acme_kind")?.as_str()? {
///     "svc" => Some(TokenKind::App),
///     "usr" => Some(TokenKind::Delegated),
///     _ => None,
/// });
/// assert_eq!(custom.name(), "acme");
/// # Ok::<(), auth_layer::BuildError>(())
/// ```
#[derive(Clone)]
pub struct Profile {
    rule: Rule,
}

#[derive(Clone)]
enum Rule {
    Entra,
    Rfc9068,
    Okta,
    Auth0,
    Keycloak,
    Custom {
        name: &'static str,
        classify: Classifier,
    },
}

impl Profile {
    /// Microsoft Entra ID (v1 and v2 access tokens).
    ///
    /// - The token must name its client: `azp` (v2) or `appid` (v1); ID tokens never do, so a
    ///   token without either is refused ([`ValidationError::MissingClaim`]).
    /// - `idtyp` decides when present (`app` or `user`; an optional claim).
    /// - Otherwise a non-empty `scp` ⇒ delegated; no `scp` and `oid == sub` ⇒ app-only
    ///   (Microsoft's documented test); anything else is unclassified.
    /// - Permissions: delegated `scp`; application `roles`. An app-only token without `roles`
    ///   (no admin consent) is a valid app token with no permissions.
    pub fn entra() -> Self {
        Self { rule: Rule::Entra }
    }

    /// RFC 9068 JWT access tokens (panva's `oidc-provider`, and the default for any exact
    /// issuer).
    ///
    /// - The header's `typ` must be `at+jwt` or `application/at+jwt` (RFC 9068 §4).
    /// - `client_id` and `sub` are required (§2.2); `sub == client_id` ⇒ app-only (§2.2: a
    ///   client acting for itself), otherwise delegated.
    /// - Permissions: `scope` for both kinds.
    pub fn rfc9068() -> Self {
        Self {
            rule: Rule::Rfc9068,
        }
    }

    /// Okta custom authorization servers.
    ///
    /// - The client is `cid` (required).
    /// - `uid` present ⇒ delegated (Okta puts the user's id there); `sub == cid` ⇒ app-only
    ///   (client credentials); anything else is unclassified.
    /// - Permissions: `scp` for both kinds.
    pub fn okta() -> Self {
        Self { rule: Rule::Okta }
    }

    /// Auth0.
    ///
    /// - The client is `azp` (or `client_id` with Auth0's RFC 9068 token profile); required.
    /// - `gty == "client-credentials"` or `sub == "{client}@clients"` ⇒ app-only; any other
    ///   `sub` not ending in `@clients` ⇒ delegated; anything else is unclassified.
    /// - Permissions: `scope` for both kinds.
    pub fn auth0() -> Self {
        Self { rule: Rule::Auth0 }
    }

    /// Keycloak.
    ///
    /// - The client is `azp` (required).
    /// - A service-account token (`preferred_username` starting with `service-account-`, or the
    ///   service-account mapper's `client_id` / `clientId` claim) ⇒ app-only; any other token
    ///   with a `sub` ⇒ delegated.
    /// - Permissions: `scope` for both kinds.
    pub fn keycloak() -> Self {
        Self {
            rule: Rule::Keycloak,
        }
    }

    /// A custom rule for any other provider: `classify` sees the verified claims and returns
    /// the kind, or `None` to refuse the token as [`ValidationError::Unclassified`].
    ///
    /// The client is the first of `azp`, `client_id`, `appid`, `cid`; an app-only token's
    /// permissions are its `roles` and its scopes.
    pub fn custom(
        name: &'static str,
        classify: impl Fn(&Claims) -> Option<TokenKind> + Send + Sync + 'static,
    ) -> Self {
        Self {
            rule: Rule::Custom {
                name,
                classify: Arc::new(classify),
            },
        }
    }

    /// The built-in profile called `name` (`entra`, `rfc9068`, `okta`, `auth0`, `keycloak`),
    /// for configuration files and command lines.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "entra" => Self::entra(),
            "rfc9068" => Self::rfc9068(),
            "okta" => Self::okta(),
            "auth0" => Self::auth0(),
            "keycloak" => Self::keycloak(),
            _ => return None,
        })
    }

    /// The profile's name.
    pub fn name(&self) -> &'static str {
        match &self.rule {
            Rule::Entra => "entra",
            Rule::Rfc9068 => "rfc9068",
            Rule::Okta => "okta",
            Rule::Auth0 => "auth0",
            Rule::Keycloak => "keycloak",
            Rule::Custom { name, .. } => name,
        }
    }

    /// Classifies verified claims: sets their kind, client and permission source, or refuses
    /// them. `at_jwt`: the header's `typ` was `at+jwt` / `application/at+jwt`.
    pub(crate) fn classify(
        &self,
        claims: &mut Claims,
        at_jwt: bool,
    ) -> Result<(), ValidationError> {
        let name = self.name();
        let unclassified = ValidationError::Unclassified { profile: name };
        let (client, kind, permissions) = match &self.rule {
            Rule::Entra => {
                let client = entra_client(claims)?;
                (Some(client), entra_kind(claims)?, AppPermissions::Roles)
            }
            Rule::Rfc9068 => {
                if !at_jwt {
                    return Err(ValidationError::UnacceptedType);
                }
                let client = claims
                    .client_claim(ClientClaim::ClientId)
                    .ok_or(ValidationError::MissingClaim("client_id"))?;
                let sub = claims
                    .subject()
                    .ok_or(ValidationError::MissingClaim("sub"))?;
                let kind = if sub == client {
                    TokenKind::App
                } else {
                    TokenKind::Delegated
                };
                (Some(ClientClaim::ClientId), kind, AppPermissions::Scopes)
            }
            Rule::Okta => {
                let client = claims
                    .client_claim(ClientClaim::Cid)
                    .ok_or(ValidationError::MissingClaim("cid"))?;
                let kind = if claims.uid().is_some() {
                    TokenKind::Delegated
                } else if claims.subject() == Some(client) {
                    TokenKind::App
                } else {
                    return Err(unclassified);
                };
                (Some(ClientClaim::Cid), kind, AppPermissions::Scopes)
            }
            Rule::Auth0 => {
                let which = [ClientClaim::Azp, ClientClaim::ClientId]
                    .into_iter()
                    .find(|w| claims.client_claim(*w).is_some())
                    .ok_or(ValidationError::MissingClaim("azp"))?;
                let client = claims.client_claim(which).unwrap_or_default();
                let sub = claims.subject().unwrap_or_default();
                let app_sub = sub.strip_suffix("@clients").is_some_and(|id| id == client);
                let kind = if claims.gty() == Some("client-credentials") || app_sub {
                    TokenKind::App
                } else if !sub.is_empty() && !sub.ends_with("@clients") {
                    TokenKind::Delegated
                } else {
                    return Err(unclassified);
                };
                (Some(which), kind, AppPermissions::Scopes)
            }
            Rule::Keycloak => {
                claims
                    .client_claim(ClientClaim::Azp)
                    .ok_or(ValidationError::MissingClaim("azp"))?;
                let service_account = claims
                    .preferred_username()
                    .is_some_and(|u| u.starts_with("service-account-"))
                    || claims.client_claim(ClientClaim::ClientId).is_some()
                    || claims.client_claim(ClientClaim::ClientIdLegacy).is_some();
                let kind = if service_account {
                    TokenKind::App
                } else if claims.subject().is_some_and(|s| !s.is_empty()) {
                    TokenKind::Delegated
                } else {
                    return Err(unclassified);
                };
                (Some(ClientClaim::Azp), kind, AppPermissions::Scopes)
            }
            Rule::Custom { classify, .. } => {
                let client = [
                    ClientClaim::Azp,
                    ClientClaim::ClientId,
                    ClientClaim::Appid,
                    ClientClaim::Cid,
                ]
                .into_iter()
                .find(|w| claims.client_claim(*w).is_some());
                claims.set_client(client);
                let kind = classify(claims).ok_or(unclassified)?;
                (client, kind, AppPermissions::RolesAndScopes)
            }
        };
        claims.set_client(client);
        claims.set_kind(kind, permissions, name);
        Ok(())
    }
}

/// Entra access tokens always name their client: `azp` in v2, `appid` in v1
/// (https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference).
/// ID tokens carry neither.
fn entra_client(claims: &Claims) -> Result<ClientClaim, ValidationError> {
    if claims.client_claim(ClientClaim::Azp).is_some() {
        Ok(ClientClaim::Azp)
    } else if claims.client_claim(ClientClaim::Appid).is_some() {
        Ok(ClientClaim::Appid)
    } else if claims.version() == Some("1.0") {
        Err(ValidationError::MissingClaim("appid"))
    } else {
        Err(ValidationError::MissingClaim("azp"))
    }
}

/// `idtyp` when present (an optional claim:
/// https://learn.microsoft.com/en-us/entra/identity-platform/optional-claims-reference);
/// else `scp` ⇒ delegated; else `oid == sub` ⇒ app-only, the test Microsoft documents for a
/// protected web API that wants "only daemon apps" (`bool isAppOnlyToken = oid == sub;` in
/// <https://learn.microsoft.com/en-us/entra/identity-platform/scenario-protected-web-api-verification-scope-app-roles>);
/// else unclassified.
fn entra_kind(claims: &Claims) -> Result<TokenKind, ValidationError> {
    match claims.idtyp() {
        Some("app") => return Ok(TokenKind::App),
        Some("user") => return Ok(TokenKind::Delegated),
        Some(_) => return Err(ValidationError::InvalidClaim("idtyp")),
        None => {}
    }
    if claims.has_scp() {
        return Ok(TokenKind::Delegated);
    }
    match (claims.object_id(), claims.subject()) {
        (Some(oid), Some(sub)) if !oid.is_empty() && oid == sub => Ok(TokenKind::App),
        _ => Err(ValidationError::Unclassified { profile: "entra" }),
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Profile").field(&self.name()).finish()
    }
}

impl PartialEq for Profile {
    /// Built-in profiles are equal by name; custom profiles only to clones of themselves.
    fn eq(&self, other: &Self) -> bool {
        match (&self.rule, &other.rule) {
            (Rule::Custom { classify: a, .. }, Rule::Custom { classify: b, .. }) => {
                Arc::ptr_eq(a, b)
            }
            (Rule::Custom { .. }, _) | (_, Rule::Custom { .. }) => false,
            _ => self.name() == other.name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Classifies a payload with `profile`; `at_jwt` as the header would say.
    fn classify(profile: &Profile, json: &str, at_jwt: bool) -> Result<Claims, ValidationError> {
        let mut c = Claims::parse(json.to_owned(), "k".into())?;
        profile.classify(&mut c, at_jwt)?;
        Ok(c)
    }

    fn kind(profile: &Profile, json: &str, at_jwt: bool) -> Result<TokenKind, ValidationError> {
        classify(profile, json, at_jwt).map(|c| c.kind())
    }

    const E: &str =
        r#""iss":"https://login.microsoftonline.com/t/v2.0","aud":"a","exp":2000000000"#;

    #[test]
    fn entra_idtyp_decides_when_present() {
        let p = Profile::entra();
        let app = format!(r#"{{{E},"azp":"c","idtyp":"app","scp":"x"}}"#);
        assert_eq!(kind(&p, &app, false), Ok(TokenKind::App));
        let user = format!(r#"{{{E},"azp":"c","idtyp":"user"}}"#);
        assert_eq!(kind(&p, &user, false), Ok(TokenKind::Delegated));
        let odd = format!(r#"{{{E},"azp":"c","idtyp":"device"}}"#);
        assert_eq!(
            kind(&p, &odd, false),
            Err(ValidationError::InvalidClaim("idtyp"))
        );
    }

    #[test]
    fn entra_scp_means_delegated_and_oid_equal_to_sub_means_app() {
        let p = Profile::entra();
        let user = format!(r#"{{{E},"azp":"c","scp":"a b","oid":"o","sub":"s"}}"#);
        assert_eq!(kind(&p, &user, false), Ok(TokenKind::Delegated));
        let app = format!(r#"{{{E},"azp":"c","oid":"o","sub":"o"}}"#);
        assert_eq!(kind(&p, &app, false), Ok(TokenKind::App));
    }

    #[test]
    fn entra_token_without_evidence_is_unclassified_not_app() {
        let p = Profile::entra();
        // A delegated token with `scp` removed and `roles` added: `sub` is pairwise, not `oid`.
        let t = format!(r#"{{{E},"azp":"c","roles":["r"],"oid":"o","sub":"s"}}"#);
        assert_eq!(
            kind(&p, &t, false),
            Err(ValidationError::Unclassified { profile: "entra" })
        );
        let t = format!(r#"{{{E},"azp":"c","scp":"","roles":["r"]}}"#);
        assert_eq!(
            kind(&p, &t, false),
            Err(ValidationError::Unclassified { profile: "entra" })
        );
    }

    #[test]
    fn entra_access_token_must_name_its_client() {
        let p = Profile::entra();
        let v2 = format!(r#"{{{E},"ver":"2.0","roles":["r"],"oid":"o","sub":"o"}}"#);
        assert_eq!(
            kind(&p, &v2, false),
            Err(ValidationError::MissingClaim("azp"))
        );
        let v1 = format!(r#"{{{E},"ver":"1.0","scp":"x"}}"#);
        assert_eq!(
            kind(&p, &v1, false),
            Err(ValidationError::MissingClaim("appid"))
        );
        let c = classify(&p, &format!(r#"{{{E},"appid":"v1","scp":"x"}}"#), false).unwrap();
        assert_eq!(c.client_id(), Some("v1"));
        let c = classify(
            &p,
            &format!(r#"{{{E},"appid":"v1","azp":"v2","scp":"x"}}"#),
            false,
        )
        .unwrap();
        assert_eq!(c.client_id(), Some("v2"));
    }

    #[test]
    fn entra_app_permissions_are_roles_and_delegated_ones_scp() {
        let p = Profile::entra();
        let app = classify(
            &p,
            &format!(r#"{{{E},"azp":"c","oid":"o","sub":"o","roles":["Files.Write"]}}"#),
            false,
        )
        .unwrap();
        assert!(app.has_permission("Files.Write"));
        let user = classify(
            &p,
            &format!(r#"{{{E},"azp":"c","scp":"Files.Read","roles":["Files.Write"]}}"#),
            false,
        )
        .unwrap();
        assert!(user.has_permission("Files.Read") && !user.has_permission("Files.Write"));
        assert_eq!(user.profile(), "entra");
    }

    const R: &str = r#""iss":"https://idp","aud":"a","exp":2000000000"#;

    #[test]
    fn rfc9068_needs_at_jwt_client_id_and_sub() {
        let p = Profile::rfc9068();
        let app = format!(r#"{{{R},"client_id":"c1","sub":"c1","scope":"read"}}"#);
        assert_eq!(kind(&p, &app, true), Ok(TokenKind::App));
        assert_eq!(kind(&p, &app, false), Err(ValidationError::UnacceptedType));
        // A user token without `scope` is still a user token.
        let user = format!(r#"{{{R},"client_id":"c1","sub":"u1"}}"#);
        assert_eq!(kind(&p, &user, true), Ok(TokenKind::Delegated));
        let no_client = format!(r#"{{{R},"sub":"u1"}}"#);
        assert_eq!(
            kind(&p, &no_client, true),
            Err(ValidationError::MissingClaim("client_id"))
        );
        let no_sub = format!(r#"{{{R},"client_id":"c1"}}"#);
        assert_eq!(
            kind(&p, &no_sub, true),
            Err(ValidationError::MissingClaim("sub"))
        );
        let c = classify(&p, &app, true).unwrap();
        assert!(c.has_permission("read"));
    }

    #[test]
    fn okta_uid_means_user_and_sub_equal_to_cid_means_app() {
        let p = Profile::okta();
        let user = format!(r#"{{{R},"cid":"0oa1","uid":"00u1","sub":"a@b.c","scp":["openid"]}}"#);
        assert_eq!(kind(&p, &user, false), Ok(TokenKind::Delegated));
        let app = format!(r#"{{{R},"cid":"0oa1","sub":"0oa1","scp":["files.write"]}}"#);
        let c = classify(&p, &app, false).unwrap();
        assert_eq!((c.kind(), c.client_id()), (TokenKind::App, Some("0oa1")));
        assert!(c.has_permission("files.write"));
        let neither = format!(r#"{{{R},"cid":"0oa1","sub":"x"}}"#);
        assert_eq!(
            kind(&p, &neither, false),
            Err(ValidationError::Unclassified { profile: "okta" })
        );
    }

    #[test]
    fn auth0_client_credentials_is_app() {
        let p = Profile::auth0();
        let app = format!(
            r#"{{{R},"azp":"abc","sub":"abc@clients","gty":"client-credentials","scope":"read:x"}}"#
        );
        assert_eq!(kind(&p, &app, false), Ok(TokenKind::App));
        let app = format!(r#"{{{R},"azp":"abc","sub":"abc@clients"}}"#);
        assert_eq!(kind(&p, &app, false), Ok(TokenKind::App));
        let user = format!(r#"{{{R},"azp":"abc","sub":"auth0|123","scope":"openid"}}"#);
        assert_eq!(kind(&p, &user, false), Ok(TokenKind::Delegated));
        let other = format!(r#"{{{R},"azp":"abc","sub":"xyz@clients"}}"#);
        assert_eq!(
            kind(&p, &other, false),
            Err(ValidationError::Unclassified { profile: "auth0" })
        );
    }

    #[test]
    fn keycloak_service_account_is_app() {
        let p = Profile::keycloak();
        let app =
            format!(r#"{{{R},"azp":"svc","sub":"f1","preferred_username":"service-account-svc"}}"#);
        assert_eq!(kind(&p, &app, false), Ok(TokenKind::App));
        let app = format!(r#"{{{R},"azp":"svc","sub":"f1","client_id":"svc"}}"#);
        assert_eq!(kind(&p, &app, false), Ok(TokenKind::App));
        let app = format!(r#"{{{R},"azp":"svc","sub":"f1","clientId":"svc"}}"#);
        assert_eq!(kind(&p, &app, false), Ok(TokenKind::App));
        let user = format!(r#"{{{R},"azp":"web","sub":"u1","preferred_username":"alice"}}"#);
        assert_eq!(kind(&p, &user, false), Ok(TokenKind::Delegated));
    }

    #[test]
    fn custom_profile_decides_or_refuses() {
        let p = Profile::custom("acme", |c| {
            (c.subject() == Some("svc")).then_some(TokenKind::App)
        });
        let app = classify(
            &p,
            &format!(r#"{{{R},"azp":"c","sub":"svc","roles":["r"],"scope":"s"}}"#),
            false,
        )
        .unwrap();
        assert!(app.has_permission("r") && app.has_permission("s"));
        assert_eq!(app.client_id(), Some("c"));
        assert_eq!(
            kind(&p, &format!(r#"{{{R},"sub":"x"}}"#), false),
            Err(ValidationError::Unclassified { profile: "acme" })
        );
        assert_eq!(p, p.clone());
        assert_ne!(p, Profile::custom("acme", |_| None));
        assert_eq!(Profile::from_name("okta"), Some(Profile::okta()));
        assert_eq!(Profile::from_name("nope"), None);
    }
}
