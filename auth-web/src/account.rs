//! What a session holds (server-side only): the sign-ins in progress, the signed-in account
//! with its refresh token, the user's access tokens, the CSRF token, and the scopes a new
//! sign-in must ask for.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use auth_client::{AuthCodeSession, CachedToken, RefreshToken};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Session keys, all under one prefix so an app's own keys cannot collide.
pub(crate) const PENDING: &str = "auth_web.pending";
pub(crate) const ACCOUNT: &str = "auth_web.account";
pub(crate) const TOKENS: &str = "auth_web.tokens";
pub(crate) const CSRF: &str = "auth_web.csrf";
pub(crate) const REAUTH: &str = "auth_web.reauth";

/// How many sign-ins may be in progress in one session (several tabs); the oldest goes first.
pub(crate) const MAX_PENDING: usize = 4;
/// A sign-in left unfinished this long is dropped (the authorize page was abandoned).
pub(crate) const PENDING_LIFETIME_SECS: u64 = 15 * 60;

pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A sign-in in progress: `state`, `nonce`, PKCE verifier (in the flow), and where to go after.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PendingSignIn {
    pub(crate) flow: AuthCodeSession,
    pub(crate) return_to: String,
}

/// The signed-in account.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Account {
    /// The validated ID token's claims.
    pub(crate) claims: Map<String, Value>,
    /// Unix seconds.
    pub(crate) signed_in_at: u64,
    /// The raw ID token, for `id_token_hint` at sign-out.
    pub(crate) id_token: String,
    pub(crate) refresh_token: Option<RefreshToken>,
    /// The scopes consented so far (asked for again at the next sign-in).
    pub(crate) scopes: Vec<String>,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("oid", &self.claims.get("oid"))
            .field("tid", &self.claims.get("tid"))
            .field("signed_in_at", &self.signed_in_at)
            .field("id_token", &"[redacted]")
            .field("refresh_token", &self.refresh_token)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// What the next sign-in must ask for: scopes not yet consented, a claims challenge.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Reauth {
    pub(crate) scopes: Vec<String>,
    pub(crate) claims: Option<String>,
}

/// The user's access tokens, newest last, bounded.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Tokens(pub(crate) Vec<CachedToken>);

impl Tokens {
    /// A token covering every scope of `scopes` (case-insensitive) that lives past `until`.
    pub(crate) fn find(&self, scopes: &[String], until: u64) -> Option<&CachedToken> {
        self.0.iter().rev().find(|t| {
            t.expires_at() > until
                && scopes
                    .iter()
                    .all(|s| t.scopes().iter().any(|have| have.eq_ignore_ascii_case(s)))
        })
    }

    /// Adds `token`: drops expired ones and those for the same scopes, then the oldest beyond
    /// `max`.
    pub(crate) fn insert(&mut self, token: CachedToken, max: usize, now: u64) {
        let same = |t: &CachedToken| {
            t.scopes().len() == token.scopes().len()
                && t.scopes()
                    .iter()
                    .all(|s| token.scopes().iter().any(|o| o.eq_ignore_ascii_case(s)))
        };
        self.0.retain(|t| t.expires_at() > now && !same(t));
        self.0.push(token);
        let excess = self.0.len().saturating_sub(max);
        self.0.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(scopes: &[&str], expires_at: u64) -> CachedToken {
        CachedToken::new(
            "eyJ0eXAi.x.y",
            "Bearer",
            expires_at,
            None,
            scopes.iter().map(|s| (*s).to_owned()).collect(),
        )
    }

    #[test]
    fn tokens_per_session_are_bounded_and_found_by_scope() {
        let mut tokens = Tokens::default();
        for i in 0..20 {
            tokens.insert(token(&[&format!("api://a/S{i}")], 1000 + i), 8, 10);
        }
        assert_eq!(tokens.0.len(), 8);
        assert!(tokens.find(&["api://a/s19".to_owned()], 500).is_some());
        assert!(tokens.find(&["api://a/S0".to_owned()], 500).is_none());
        // Expired (or about to be) tokens are not found.
        assert!(tokens.find(&["api://a/S19".to_owned()], 2000).is_none());
        // The same scopes replace the old token.
        tokens.insert(token(&["API://A/S19"], 5000), 8, 10);
        assert_eq!(tokens.0.len(), 8);
    }

    #[test]
    fn account_debug_hides_the_tokens() {
        let account = Account {
            claims: Map::new(),
            signed_in_at: 1,
            id_token: "eyJhbGciOi.secret.sig".into(),
            refresh_token: Some(RefreshToken::new("0.AAAA-refresh")),
            scopes: vec![],
        };
        let text = format!("{account:?}");
        assert!(
            !text.contains("secret") && !text.contains("0.AAAA"),
            "{text}"
        );
    }
}
