//! The token endpoint's wire shapes: the grants' form parameters and the success response.

use crate::cache::CachedToken;

const OBO_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// One token-endpoint request: a grant and its parameters.
#[derive(Clone)]
pub(super) enum Grant {
    ClientCredentials {
        scopes: Vec<String>,
    },
    OnBehalfOf {
        assertion: String,
        scopes: Vec<String>,
    },
    AuthorizationCode {
        code: String,
        redirect_uri: String,
        verifier: String,
        scopes: Vec<String>,
        resource: Option<String>,
    },
    Refresh {
        refresh_token: String,
        scopes: Vec<String>,
        resource: Option<String>,
    },
}

impl Grant {
    /// The grant's name in logs and error messages.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Grant::ClientCredentials { .. } => "client_credentials",
            Grant::OnBehalfOf { .. } => "on_behalf_of",
            Grant::AuthorizationCode { .. } => "authorization_code",
            Grant::Refresh { .. } => "refresh_token",
        }
    }

    /// The requested scopes.
    pub(super) fn scopes(&self) -> &[String] {
        match self {
            Grant::ClientCredentials { scopes }
            | Grant::OnBehalfOf { scopes, .. }
            | Grant::AuthorizationCode { scopes, .. }
            | Grant::Refresh { scopes, .. } => scopes,
        }
    }

    /// The grant's parameters (client authentication is added by the caller).
    pub(super) fn params(&self) -> Vec<(&'static str, String)> {
        let scope = self.scopes().join(" ");
        let mut p = Vec::with_capacity(8);
        match self {
            Grant::ClientCredentials { .. } => {
                p.push(("grant_type", "client_credentials".to_owned()));
                p.push(("scope", scope));
            }
            Grant::OnBehalfOf { assertion, .. } => {
                p.push(("grant_type", OBO_GRANT.to_owned()));
                p.push(("assertion", assertion.clone()));
                p.push(("requested_token_use", "on_behalf_of".to_owned()));
                p.push(("scope", scope));
            }
            Grant::AuthorizationCode {
                code,
                redirect_uri,
                verifier,
                resource,
                ..
            } => {
                p.push(("grant_type", "authorization_code".to_owned()));
                p.push(("code", code.clone()));
                p.push(("redirect_uri", redirect_uri.clone()));
                p.push(("code_verifier", verifier.clone()));
                p.push(("scope", scope));
                if let Some(resource) = resource {
                    p.push(("resource", resource.clone()));
                }
            }
            Grant::Refresh {
                refresh_token,
                resource,
                ..
            } => {
                p.push(("grant_type", "refresh_token".to_owned()));
                p.push(("refresh_token", refresh_token.clone()));
                if !scope.is_empty() {
                    p.push(("scope", scope));
                }
                if let Some(resource) = resource {
                    p.push(("resource", resource.clone()));
                }
            }
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
