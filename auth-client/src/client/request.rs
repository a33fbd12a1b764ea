//! The token endpoint's wire shapes: the grants' form parameters and the success response.

use crate::cache::CachedToken;

/// Entra's On-Behalf-Of grant (RFC 7523 jwt-bearer with `requested_token_use=on_behalf_of`):
/// <https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-on-behalf-of-flow>.
const OBO_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RFC 8693 §2.1 token exchange: <https://www.rfc-editor.org/rfc/rfc8693#section-2.1>.
const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693 §3: the subject token is an access token; an access token is requested.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Options of one app-only or On-Behalf-Of token request, for
/// [`acquire_token_for_client_with`](crate::ConfidentialClient::acquire_token_for_client_with)
/// and
/// [`acquire_token_on_behalf_of_with`](crate::ConfidentialClient::acquire_token_on_behalf_of_with).
///
/// ```
/// use auth_client::TokenRequest;
///
/// // After the downstream API answered 401 with a claims challenge (CAE): a fresh token
/// // that satisfies it, bypassing the cache.
/// let request = TokenRequest::new(["api://s2s-example-api/.default"])
///     .claims(r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#);
/// # let _ = request;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct TokenRequest {
    pub(crate) scopes: Vec<String>,
    pub(crate) resource: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) claims: Option<String>,
    pub(crate) force_refresh: bool,
}

impl TokenRequest {
    /// A request for `scopes` (each may hold several, separated by spaces).
    pub fn new<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        TokenRequest {
            scopes: scopes
                .into_iter()
                .flat_map(|s| {
                    s.into()
                        .split_whitespace()
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .collect(),
            ..TokenRequest::default()
        }
    }

    /// An RFC 8707 `resource` indicator for this request (overrides the builder's
    /// [`resource`](crate::ConfidentialClientBuilder::resource)). Not for Entra: its v2
    /// endpoint refuses `resource` (the scope names the resource), so the request fails with
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) there.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// RFC 8693 `audience` of a token exchange (On-Behalf-Of with a provider other than
    /// Entra; Keycloak names the target client this way). Ignored by other grants.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// A `claims` request (JSON): the claims challenge a resource API answered with (Conditional
    /// Access, Continuous Access Evaluation). Such a request bypasses the cache, as MSAL's
    /// `WithClaims` does; the new token replaces the cached one. Merged with the client
    /// capabilities ([`client_capabilities`](crate::ConfidentialClientBuilder::client_capabilities)).
    pub fn claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    /// Skips the cache: always asks the token endpoint (MSAL's `WithForceRefresh`), and caches
    /// the new token.
    pub fn force_refresh(mut self) -> Self {
        self.force_refresh = true;
        self
    }

    /// The scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// Whether the cache is skipped: a `claims` request or a forced refresh.
    pub(super) fn bypasses_cache(&self) -> bool {
        self.force_refresh || self.claims.is_some()
    }
}

/// One token-endpoint request: a grant, its scopes, and the parameters every grant may carry.
#[derive(Clone)]
pub(super) struct Grant {
    pub(super) kind: GrantKind,
    pub(super) scopes: Vec<String>,
    /// RFC 8707 `resource` (never for Entra).
    pub(super) resource: Option<String>,
    /// A `claims` request (JSON), client capabilities merged in.
    pub(super) claims: Option<String>,
}

/// The grant and its own parameters.
#[derive(Clone)]
pub(super) enum GrantKind {
    ClientCredentials,
    /// Entra's On-Behalf-Of.
    OnBehalfOf {
        assertion: String,
    },
    /// RFC 8693 token exchange (On-Behalf-Of with other providers).
    TokenExchange {
        subject_token: String,
        audience: Option<String>,
    },
    AuthorizationCode {
        code: String,
        redirect_uri: String,
        verifier: String,
    },
    Refresh {
        refresh_token: String,
    },
}

impl Grant {
    /// A grant without `resource` or `claims`.
    pub(super) fn new(kind: GrantKind, scopes: Vec<String>) -> Self {
        Grant {
            kind,
            scopes,
            resource: None,
            claims: None,
        }
    }

    /// The grant's name in logs and error messages.
    pub(super) fn name(&self) -> &'static str {
        match self.kind {
            GrantKind::ClientCredentials => "client_credentials",
            GrantKind::OnBehalfOf { .. } => "on_behalf_of",
            GrantKind::TokenExchange { .. } => crate::error::TOKEN_EXCHANGE,
            GrantKind::AuthorizationCode { .. } => "authorization_code",
            GrantKind::Refresh { .. } => "refresh_token",
        }
    }

    /// The redirect URI of a code redemption.
    pub(super) fn redirect_uri(&self) -> Option<&str> {
        match &self.kind {
            GrantKind::AuthorizationCode { redirect_uri, .. } => Some(redirect_uri),
            _ => None,
        }
    }

    /// The requested scopes.
    pub(super) fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The grant's parameters (client authentication is added by the caller).
    pub(super) fn params(&self) -> Vec<(&'static str, String)> {
        let scope = self.scopes.join(" ");
        let mut p = Vec::with_capacity(10);
        match &self.kind {
            GrantKind::ClientCredentials => {
                p.push(("grant_type", "client_credentials".to_owned()));
                p.push(("scope", scope));
            }
            GrantKind::OnBehalfOf { assertion } => {
                p.push(("grant_type", OBO_GRANT.to_owned()));
                p.push(("assertion", assertion.clone()));
                p.push(("requested_token_use", "on_behalf_of".to_owned()));
                p.push(("scope", scope));
            }
            GrantKind::TokenExchange {
                subject_token,
                audience,
            } => {
                p.push(("grant_type", TOKEN_EXCHANGE_GRANT.to_owned()));
                p.push(("subject_token", subject_token.clone()));
                p.push(("subject_token_type", ACCESS_TOKEN_TYPE.to_owned()));
                p.push(("requested_token_type", ACCESS_TOKEN_TYPE.to_owned()));
                if let Some(audience) = audience {
                    p.push(("audience", audience.clone()));
                }
                if !scope.is_empty() {
                    p.push(("scope", scope));
                }
            }
            GrantKind::AuthorizationCode {
                code,
                redirect_uri,
                verifier,
            } => {
                p.push(("grant_type", "authorization_code".to_owned()));
                p.push(("code", code.clone()));
                p.push(("redirect_uri", redirect_uri.clone()));
                p.push(("code_verifier", verifier.clone()));
                p.push(("scope", scope));
            }
            GrantKind::Refresh { refresh_token } => {
                p.push(("grant_type", "refresh_token".to_owned()));
                p.push(("refresh_token", refresh_token.clone()));
                if !scope.is_empty() {
                    p.push(("scope", scope));
                }
            }
        }
        if let Some(resource) = &self.resource {
            p.push(("resource", resource.clone()));
        }
        if let Some(claims) = &self.claims {
            p.push(("claims", claims.clone()));
        }
        p
    }
}

/// A successful token response.
pub(super) struct TokenResponse {
    pub(super) access_token: String,
    pub(super) token_type: String,
    pub(super) expires_in: Option<u64>,
    pub(super) refresh_in: Option<u64>,
    pub(super) scope: Option<String>,
    pub(super) refresh_token: Option<String>,
    pub(super) id_token: Option<String>,
}

impl TokenResponse {
    /// Reads a token response body.
    pub(super) fn parse(body: &serde_json::Value) -> Result<TokenResponse, &'static str> {
        let text = |name: &str| {
            body.get(name)
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        // Entra's v1 endpoint and some providers send numbers as strings.
        let number = |name: &str| {
            body.get(name).and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            })
        };
        let access_token = text("access_token").ok_or("no access_token")?;
        if !access_token.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
            return Err("the access_token is not visible ASCII");
        }
        Ok(TokenResponse {
            access_token,
            token_type: text("token_type").unwrap_or_else(|| "Bearer".to_owned()),
            expires_in: number("expires_in"),
            refresh_in: number("refresh_in"),
            scope: text("scope"),
            refresh_token: text("refresh_token"),
            id_token: text("id_token"),
        })
    }

    /// The cache entry: expiry from `expires_in` (or the JWT's `exp`), `refresh_in` made
    /// absolute, scopes from the response (or the request).
    pub(super) fn entry(&self, now: f64, requested: &[String]) -> CachedToken {
        let now_secs = now.max(0.0) as u64;
        let expires_at = match self.expires_in {
            Some(secs) => now_secs.saturating_add(secs),
            None => jwt_exp(&self.access_token).unwrap_or(now_secs),
        };
        let refresh_at = self.refresh_in.map(|secs| now_secs.saturating_add(secs));
        let scopes = match &self.scope {
            Some(scope) => scope.split_whitespace().map(str::to_owned).collect(),
            None => requested.to_vec(),
        };
        CachedToken::new(
            self.access_token.clone(),
            self.token_type.clone(),
            expires_at,
            refresh_at,
            scopes,
        )
    }
}

/// The `exp` of a JWT access token, read without verification (only to bound caching when the
/// server sent no `expires_in`).
fn jwt_exp(token: &str) -> Option<u64> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_u64()
}
/// The scopes, each argument split on whitespace.
pub(super) fn split_scopes(scopes: &[&str]) -> Vec<String> {
    scopes
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random;

    #[test]
    fn token_responses_accept_string_numbers_and_fall_back_to_the_jwt_exp() {
        let body =
            serde_json::json!({"access_token": "a.b.c", "expires_in": "3599", "refresh_in": 1800});
        let t = TokenResponse::parse(&body).unwrap();
        assert_eq!((t.expires_in, t.refresh_in), (Some(3599), Some(1800)));
        let entry = t.entry(1000.0, &["s".into()]);
        assert_eq!(entry.expires_at(), 4599);
        assert_eq!(entry.refresh_at(), Some(2800));
        assert_eq!(entry.scopes(), ["s"]);

        let payload = random::b64url(r#"{"exp":1234}"#);
        let body = serde_json::json!({"access_token": format!("h.{payload}.s")});
        let t = TokenResponse::parse(&body).unwrap();
        assert_eq!(t.entry(1000.0, &[]).expires_at(), 1234);
        assert!(TokenResponse::parse(&serde_json::json!({"token_type": "Bearer"})).is_err());
        assert!(TokenResponse::parse(&serde_json::json!({"access_token": "a b"})).is_err());
    }
}
