//! What the two web apps (`auth-code-client`, `obo-example-frontend`) share: sign-in with the
//! authorization code flow + PKCE, the session, and calling an API with the user's token.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_client::{
    AccessToken, AuthorizationRequest, AuthorizationResponse, ConfidentialClient, Error,
};
use axum::Router;
use axum::extract::State;
use axum::handler::Handler;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::header::{AUTHORIZATION, SET_COOKIE};
use http::{HeaderMap, StatusCode, Uri};

use crate::config::{ClientConfig, ConfigError};
use crate::html::{page, result_box, sign_in_button};
use crate::session::{Session, SessionStore, User};
use crate::trace::{Trace, excerpt};

/// A web app's state: the sign-in machinery and the API it calls.
#[derive(Clone, Debug)]
pub(crate) struct WebApp {
    pub(crate) core: Arc<WebCore>,
    /// The URL its form posts go to.
    pub(crate) api_url: String,
}

/// What differs between the two web apps.
pub(crate) struct WebSettings<'a> {
    pub(crate) name: &'static str,
    pub(crate) title: &'static str,
    pub(crate) client: &'a ClientConfig,
    /// Space-separated API scopes.
    pub(crate) scopes: &'a str,
    pub(crate) redirect_uri: String,
    pub(crate) cookie: &'static str,
    pub(crate) trace: Trace,
    pub(crate) api_url: String,
}

/// The web app's router: `GET /`, `GET /login`, `GET /redirect` (and the redirect URI's path),
/// and the app's form action.
pub(crate) fn web_router<H1, T1, H2, T2>(
    settings: WebSettings<'_>,
    home: H1,
    action_path: &str,
    action: H2,
) -> Result<Router, ConfigError>
where
    H1: Handler<T1, WebApp>,
    H2: Handler<T2, WebApp>,
    T1: 'static,
    T2: 'static,
{
    let secure = settings.redirect_uri.starts_with("https:");
    let core = WebCore {
        name: settings.name,
        title: settings.title,
        client: settings.client.client()?,
        scopes: settings
            .scopes
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        sessions: SessionStore::new(settings.cookie, secure),
        redirect_uri: settings.redirect_uri,
        http: settings.client.http.client()?,
        trace: settings.trace,
    };
    let callback = core.callback_path();
    let app = WebApp {
        core: Arc::new(core),
        api_url: settings.api_url,
    };
    let mut router = Router::new()
        .route("/", get(home))
        .route("/login", get(login))
        .route("/redirect", get(redirect))
        .route(action_path, post(action));
    if callback != "/redirect" {
        router = router.route(&callback, get(redirect));
    }
    Ok(router.with_state(app))
}

async fn login(State(app): State<WebApp>, headers: HeaderMap) -> Response {
    app.core.login(&headers).await
}

async fn redirect(State(app): State<WebApp>, headers: HeaderMap, uri: Uri) -> Response {
    app.core.callback(&headers, &uri).await
}

/// A web app's sign-in machinery.
#[derive(Clone, Debug)]
pub(crate) struct WebCore {
    /// The app's name, e.g. `auth-code-client`.
    pub(crate) name: &'static str,
    /// The page banner.
    pub(crate) title: &'static str,
    pub(crate) client: ConfidentialClient,
    /// The API scopes to sign in for.
    pub(crate) scopes: Vec<String>,
    pub(crate) redirect_uri: String,
    pub(crate) sessions: SessionStore,
    pub(crate) http: reqwest::Client,
    pub(crate) trace: Trace,
}

/// Refresh the access token when it has less than this left.
const REFRESH_MARGIN: Duration = Duration::from_secs(120);

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What an API call returned.
pub(crate) struct ApiAnswer {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
}

impl WebCore {
    /// The path the redirect URI names (the callback route besides `/redirect`).
    pub(crate) fn callback_path(&self) -> String {
        self.redirect_uri
            .parse::<Uri>()
            .ok()
            .map(|u| u.path().to_owned())
            .filter(|p| p.starts_with('/') && p.len() > 1)
            .unwrap_or_else(|| "/redirect".to_owned())
    }

    /// A page of this app.
    pub(crate) fn page(&self, status: StatusCode, title: &str, body: &str) -> Response {
        page(status, self.title, title, body)
    }

    /// An error page with a way back.
    pub(crate) fn error_page(&self, status: StatusCode, title: &str, text: &str) -> Response {
        let body = format!(
            "{}<p><a href=\"/\">Back to the start page</a></p>",
            result_box(false, title, text)
        );
        self.page(status, title, &body)
    }

    /// The signed-in session of this request.
    pub(crate) fn signed_in(&self, headers: &HeaderMap) -> Option<(String, Session, User)> {
        let (id, session) = self.sessions.load(headers)?;
        let user = session.user.clone()?;
        Some((id, session, user))
    }

    /// The "who is signed in" paragraph.
    pub(crate) fn who(user: &User) -> String {
        format!(
            "<p class=\"who\">Signed in as <strong>{}</strong> ({}, object id <code>{}</code>)</p>",
            crate::html::escape(&user.name),
            crate::html::escape(&user.username),
            crate::html::escape(&user.oid)
        )
    }

    /// The page for visitors who are not signed in.
    pub(crate) fn anonymous_home(&self, intro: &str) -> Response {
        let body = format!("<p>{}</p>{}", crate::html::escape(intro), sign_in_button());
        self.page(StatusCode::OK, "Welcome", &body)
    }

    /// `GET /login`: starts the authorization code flow and redirects to the authorize
    /// endpoint.
    pub(crate) async fn login(&self, headers: &HeaderMap) -> Response {
        let request = AuthorizationRequest::new(&self.redirect_uri).scopes(self.scopes.clone());
        let start = match self.client.authorization_url(request).await {
            Ok(start) => start,
            Err(err) => {
                tracing::error!(app = self.name, error = %err, "cannot start the sign-in");
                return self.error_page(
                    StatusCode::BAD_GATEWAY,
                    "Sign-in is unavailable",
                    "The identity provider could not be reached. Try again later.",
                );
            }
        };
        let Some((id, mut session)) = self
            .sessions
            .load(headers)
            .or_else(|| self.sessions.create())
        else {
            return self.error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in is unavailable",
                "No session could be created.",
            );
        };
        session.pending = Some(start.session);
        self.sessions.save(&id, session);
        let mut response = Redirect::to(&start.url).into_response();
        response
            .headers_mut()
            .insert(SET_COOKIE, self.sessions.set_cookie(&id));
        response
    }

    /// `GET /redirect`: finishes the sign-in (state, code + PKCE verifier, ID token), then
    /// redirects to `/` with a new session id.
    pub(crate) async fn callback(&self, headers: &HeaderMap, uri: &Uri) -> Response {
        let Some((old_id, mut session)) = self.sessions.load(headers) else {
            return self.error_page(
                StatusCode::BAD_REQUEST,
                "Sign-in failed",
                "Your sign-in session was not found (it expired, or cookies are blocked). Start again.",
            );
        };
        let Some(pending) = session.pending.take() else {
            return self.error_page(
                StatusCode::BAD_REQUEST,
                "Sign-in failed",
                "No sign-in is in progress in this session. Start again.",
            );
        };
        self.sessions.save(&old_id, session);
        let callback = AuthorizationResponse::from_uri(uri);
        let hop = self.trace.call(
            self.name,
            "Entra token endpoint",
            "authorization_code (code + PKCE verifier)",
            None,
        );
        let tokens = match self.client.redeem_code(&pending, &callback).await {
            Ok(tokens) => tokens,
            Err(err) => {
                hop.finish(format!("refused: {}", error_summary(&err)));
                tracing::warn!(app = self.name, error = %err, "sign-in failed");
                return self.error_page(
                    StatusCode::BAD_REQUEST,
                    "Sign-in failed",
                    &format!("The sign-in did not complete: {}.", error_summary(&err)),
                );
            }
        };
        hop.finish_with(
            "access token, validated ID token, refresh token",
            Some(tokens.access_token.secret()),
        );
        let user = tokens.id_token.as_ref().map_or_else(User::default, |id| {
            let claims = id.claims();
            User {
                name: claims.name().unwrap_or("(no name)").to_owned(),
                username: claims.username().unwrap_or_default().to_owned(),
                oid: claims.object_id().unwrap_or_default().to_owned(),
            }
        });
        tracing::info!(app = self.name, user = %user.username, "signed in");
        // A new session id at sign-in: an id planted before sign-in is worthless.
        self.sessions.remove(&old_id);
        let Some((id, mut fresh)) = self.sessions.create() else {
            return self.error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in failed",
                "No session could be created.",
            );
        };
        fresh.user = Some(user);
        fresh.access_token = Some(tokens.access_token);
        fresh.refresh_token = tokens.refresh_token;
        self.sessions.save(&id, fresh);
        let mut response = Redirect::to("/").into_response();
        response
            .headers_mut()
            .insert(SET_COOKIE, self.sessions.set_cookie(&id));
        response
    }

    /// The session's access token for the API, refreshed (and the refresh token rotated) when
    /// it is about to expire.
    pub(crate) async fn access_token(
        &self,
        id: &str,
        mut session: Session,
    ) -> Result<AccessToken, Error> {
        if let Some(token) = &session.access_token
            && token.expires_at_unix() > now_unix() + REFRESH_MARGIN.as_secs()
        {
            return Ok(token.clone());
        }
        let Some(refresh) = session.refresh_token.clone() else {
            return Err(Error::InvalidRequest(
                "the session has no refresh token: sign in again",
            ));
        };
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let hop = self
            .trace
            .call(self.name, "Entra token endpoint", "refresh_token", None);
        let refreshed = self.client.refresh(&refresh, &scopes).await;
        let tokens = match refreshed {
            Ok(tokens) => tokens,
            Err(err) => {
                hop.finish(format!("refused: {}", error_summary(&err)));
                return Err(err);
            }
        };
        hop.finish_with("new access token", Some(tokens.access_token.secret()));
        session.access_token = Some(tokens.access_token.clone());
        session.refresh_token = tokens.refresh_token.or(Some(refresh));
        self.sessions.save(id, session);
        Ok(tokens.access_token)
    }

    /// A signed-in user's form post: checks the session and the form's CSRF token, gets the
    /// user's access token (refreshed if need be), and `POST`s `body` to `url` with it. The
    /// user, the CSRF token for the next form, and the API's answer (`None`: unreachable); or
    /// the refusal page.
    pub(crate) async fn post_for_user(
        &self,
        headers: &HeaderMap,
        presented_csrf: &str,
        url: &str,
        what: &str,
        body: &serde_json::Value,
    ) -> Result<(User, String, Option<ApiAnswer>), Response> {
        let Some((id, session, user)) = self.signed_in(headers) else {
            return Err(self.error_page(
                StatusCode::UNAUTHORIZED,
                "Not signed in",
                "Sign in first, then try again.",
            ));
        };
        if !session.csrf_matches(presented_csrf) {
            return Err(self.error_page(
                StatusCode::FORBIDDEN,
                "Request refused",
                "The form is stale or was not sent by this site. Reload the page and try again.",
            ));
        }
        let csrf = session.csrf.clone();
        let token = self.access_token(&id, session).await.map_err(|err| {
            self.error_page(
                StatusCode::UNAUTHORIZED,
                "Please sign in again",
                &format!("Your session has ended: {}.", error_summary(&err)),
            )
        })?;
        let answer = match self.call_api(url, what, &token, body).await {
            Ok(answer) => Some(answer),
            Err(err) => {
                tracing::warn!(app = self.name, error = %err, "the API call failed");
                None
            }
        };
        Ok((user, csrf, answer))
    }

    /// Calls `url` with the user's token: `POST` with a JSON body.
    pub(crate) async fn call_api(
        &self,
        url: &str,
        what: &str,
        token: &AccessToken,
        body: &serde_json::Value,
    ) -> Result<ApiAnswer, reqwest::Error> {
        let hop = self.trace.call(self.name, url, what, Some(token.secret()));
        let sent = self
            .http
            .post(url)
            .header(AUTHORIZATION, token.authorization_header())
            .json(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => {
                hop.finish(format!("failed: {err}"));
                return Err(err);
            }
        };
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        hop.finish(format!("{} {}", status.as_u16(), excerpt(&body)));
        Ok(ApiAnswer { status, body })
    }
}

/// A short, user-safe summary of a token-acquisition error: the OAuth error and AADSTS codes.
pub(crate) fn error_summary(err: &Error) -> String {
    match err.server_error() {
        Some(server) => {
            let codes: Vec<String> = server
                .aadsts_codes()
                .iter()
                .map(|c| format!("AADSTS{c}"))
                .collect();
            if codes.is_empty() {
                server.error().to_owned()
            } else {
                format!("{} ({})", server.error(), codes.join(", "))
            }
        }
        None => match err {
            Error::StateMismatch => "the state does not match this session".to_owned(),
            Error::NonceMismatch => "the ID token's nonce does not match".to_owned(),
            Error::MissingCode => "the callback has no code".to_owned(),
            _ if err.is_transient() => "the identity provider is unavailable".to_owned(),
            _ => "the identity provider's answer was not usable".to_owned(),
        },
    }
}
