//! The tokens the flows return. Every secret value is redacted in `Debug`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;
use serde::{Deserialize, Serialize};

use crate::cache::CachedToken;
use crate::redact::REDACTED;

/// An access token and what is known about it: type, expiry, scopes.
///
/// `Debug` never shows the token; [`secret`](Self::secret) does, for the `Authorization`
/// header ([`authorization_header`](Self::authorization_header) builds it, marked sensitive).
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    secret: String,
    token_type: String,
    expires_at: u64,
    scopes: Vec<String>,
}

impl AccessToken {
    pub(crate) fn from_cached(token: CachedToken) -> Self {
        let (secret, token_type, expires_at, scopes) = token.into_parts();
        AccessToken {
            secret,
            token_type,
            expires_at,
            scopes,
        }
    }

    /// The token itself. Send it; never log it.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The token, consumed.
    pub fn into_secret(self) -> String {
        self.secret
    }

    /// `token_type` as the server sent it (`Bearer`).
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// When the token expires (from `expires_in`, on this client's clock).
    pub fn expires_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.expires_at)
    }

    /// `expires_at` in seconds since the Unix epoch.
    pub fn expires_at_unix(&self) -> u64 {
        self.expires_at
    }

    /// The scopes the token was issued for (the response's `scope`, or the requested ones).
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// `Bearer {token}`, marked sensitive (HTTP/2 never indexes it; `Debug` hides it).
    pub fn authorization_header(&self) -> HeaderValue {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.secret))
            // An access token is visible ASCII; a server sending anything else gets a header
            // that fails authentication instead of a panic.
            .unwrap_or(HeaderValue::from_static("Bearer invalid"));
        value.set_sensitive(true);
        value
    }
}

/// A token from storage (e.g. a web app's session store, where `auth-web` keeps a user's
/// tokens as [`CachedToken`]s).
impl From<CachedToken> for AccessToken {
    fn from(token: CachedToken) -> Self {
        AccessToken::from_cached(token)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &REDACTED)
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// A refresh token: keep it server-side (e.g. in the user's session store), redeem it with
/// [`ConfidentialClient::refresh`](crate::ConfidentialClient::refresh). Serializable; redacted
/// in `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RefreshToken(String);

impl RefreshToken {
    /// Wraps a refresh token from storage.
    pub fn new(token: impl Into<String>) -> Self {
        RefreshToken(token.into())
    }

    /// The token itself. Store it; never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken([redacted])")
    }
}

/// A validated ID token: its claims (signature, issuer, `aud` = client id, lifetime and
/// `nonce` checked) and the raw token (redacted in `Debug`).
#[derive(Clone)]
pub struct IdToken {
    raw: String,
    claims: auth_layer::Claims,
}

impl IdToken {
    pub(crate) fn new(raw: String, claims: auth_layer::Claims) -> Self {
        IdToken { raw, claims }
    }

    /// The validated claims (`oid`, `tid`, `name`, `preferred_username`, `sub`, …).
    pub fn claims(&self) -> &auth_layer::Claims {
        &self.claims
    }

    /// The raw token (e.g. as `id_token_hint` at logout).
    pub fn raw(&self) -> &str {
        &self.raw
    }
}

impl fmt::Debug for IdToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdToken")
            .field("raw", &REDACTED)
            .field("issuer", &self.claims.issuer())
            .field("subject", &self.claims.subject())
            .field("object_id", &self.claims.object_id())
            .field("tenant_id", &self.claims.tenant_id())
            .finish_non_exhaustive()
    }
}

/// The tokens of a signed-in user: from a code redemption or a refresh.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UserTokens {
    /// The access token for the requested API.
    pub access_token: AccessToken,
    /// The validated ID token (present when `openid` was requested, which this client always
    /// does for the authorization code flow).
    pub id_token: Option<IdToken>,
    /// The refresh token to keep: the new one when the server rotated it, otherwise the one
    /// just redeemed (for a refresh), or `None` when the server issued none.
    pub refresh_token: Option<RefreshToken>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let token = AccessToken {
            secret: "eyJ.secret.sig".into(),
            token_type: "Bearer".into(),
            expires_at: 10,
            scopes: vec!["a".into()],
        };
        let text = format!("{token:?} {:?}", RefreshToken::new("rt-secret"));
        assert!(
            !text.contains("secret.sig") && !text.contains("rt-secret"),
            "{text}"
        );
        assert!(format!("{:?}", token.authorization_header()).contains("Sensitive"));
    }
}
