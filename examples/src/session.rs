//! Web-app sessions: a random session id in an `HttpOnly; SameSite=Lax` cookie, the session
//! itself in memory (bounded, expiring).
//!
//! The session holds what must never reach the browser: the pending sign-in (its PKCE
//! verifier), the user's access and refresh tokens. A new id is issued at sign-in (no session
//! fixation), and every form carries the session's CSRF token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use auth_client::{AccessToken, AuthCodeSession, RefreshToken};
use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;
use http::HeaderMap;
use http::header::{COOKIE, HeaderValue};

/// How long an idle session lives.
const IDLE_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// How many sessions are kept at most (the oldest go first).
const MAX_SESSIONS: usize = 10_000;

/// 32 random bytes from the system CSPRNG, base64url; `None` if the generator fails.
pub(crate) fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The signed-in user, from the validated ID token.
#[derive(Clone, Debug, Default)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) username: String,
    pub(crate) oid: String,
}

/// One browser's session.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// A sign-in in progress (state, nonce, PKCE verifier).
    pub(crate) pending: Option<AuthCodeSession>,
    /// After sign-in.
    pub(crate) user: Option<User>,
    pub(crate) access_token: Option<AccessToken>,
    pub(crate) refresh_token: Option<RefreshToken>,
    /// Forms must echo it.
    pub(crate) csrf: String,
    last_seen: Instant,
}

impl Session {
    fn new(csrf: String) -> Self {
        Session {
            pending: None,
            user: None,
            access_token: None,
            refresh_token: None,
            csrf,
            last_seen: Instant::now(),
        }
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    pub(crate) fn csrf_matches(&self, presented: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(
            self.csrf.as_bytes(),
            presented.as_bytes(),
        )
        .is_ok()
    }
}

/// The in-memory session store of one web app.
#[derive(Clone, Debug)]
pub(crate) struct SessionStore {
    sessions: Arc<Mutex<HashMap<String, Session>>>,
    cookie: &'static str,
    secure: bool,
}

impl SessionStore {
    /// A store whose cookie is `cookie`; `secure` adds the `Secure` attribute (https apps).
    pub(crate) fn new(cookie: &'static str, secure: bool) -> Self {
        SessionStore {
            sessions: Arc::default(),
            cookie,
            secure,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The session id the request's cookie names, if any.
    fn cookie_id(&self, headers: &HeaderMap) -> Option<String> {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.cookie)
            .map(|(_, value)| value.to_owned())
    }

    /// The request's live session: its id and a copy.
    pub(crate) fn load(&self, headers: &HeaderMap) -> Option<(String, Session)> {
        let id = self.cookie_id(headers)?;
        let mut sessions = self.lock();
        let session = sessions.get_mut(&id)?;
        if session.last_seen.elapsed() > IDLE_LIFETIME {
            sessions.remove(&id);
            return None;
        }
        session.last_seen = Instant::now();
        Some((id, session.clone()))
    }

    /// Creates an empty session; `None` if no random id can be made.
    pub(crate) fn create(&self) -> Option<(String, Session)> {
        let id = random_token()?;
        let session = Session::new(random_token()?);
        let mut sessions = self.lock();
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, s| s.last_seen.elapsed() <= IDLE_LIFETIME);
            if sessions.len() >= MAX_SESSIONS
                && let Some(oldest) = sessions
                    .iter()
                    .min_by_key(|(_, s)| s.last_seen)
                    .map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(id.clone(), session.clone());
        Some((id, session))
    }

    /// Stores `session` under `id`.
    pub(crate) fn save(&self, id: &str, mut session: Session) {
        session.last_seen = Instant::now();
        self.lock().insert(id.to_owned(), session);
    }

    /// Forgets `id`.
    pub(crate) fn remove(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The `Set-Cookie` value for `id`.
    pub(crate) fn set_cookie(&self, id: &str) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        // The id is base64url: always a valid header value.
        HeaderValue::from_str(&format!(
            "{}={id}; Path=/; HttpOnly; SameSite=Lax{secure}",
            self.cookie
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=1; Max-Age=0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_found_by_their_cookie_only() {
        let store = SessionStore::new("sid", false);
        let (id, mut session) = store.create().unwrap();
        assert_eq!(id.len(), 43);
        session.csrf = "token".to_owned();
        store.save(&id, session);

        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("other=1; sid={id}")).unwrap(),
        );
        let (found, session) = store.load(&headers).unwrap();
        assert_eq!(found, id);
        assert!(session.csrf_matches("token") && !session.csrf_matches("tokeN"));

        headers.insert(COOKIE, HeaderValue::from_static("sid=forged"));
        assert!(store.load(&headers).is_none());
        store.remove(&id);
        assert!(store.load(&HeaderMap::new()).is_none());

        let cookie = store.set_cookie(&id);
        let cookie = cookie.to_str().unwrap();
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && !cookie.contains("Secure")
        );
        assert!(
            SessionStore::new("sid", true)
                .set_cookie(&id)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
    }
}
