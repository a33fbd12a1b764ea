//! What the two web apps (`auth-code-client`, `obo-example-frontend`) share, on `auth-web`:
//! the sign-in routes, the session (in memory, or in Redis when `REDIS_URL` is set), the pages,
//! and calling an API with the user's token.

use std::net::SocketAddr;
use std::sync::Arc;

use auth_client::AccessToken;
use auth_web::{
    BoundedMemoryStore, CsrfToken, RedisSessionStore, SignedIn, TokenError, UserTokenAcquisition,
    WebAuth,
};
use axum::Router;
use axum::extract::State;
use axum::handler::Handler;
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use http::StatusCode;
use http::header::AUTHORIZATION;

use crate::config::{ClientConfig, ConfigError, Vars, redirect_uri};
use crate::html::{page, result_box, sign_in_button};
use crate::trace::{Trace, excerpt};

/// Where the sessions live: `REDIS_URL` (every replica of the app shares them; sealed with
/// `SESSION_ENCRYPTION_KEY`, 32 bytes in base64) or this process's memory.
#[derive(Clone, Debug, Default)]
pub struct Sessions {
    redis: Option<(String, [u8; 32])>,
}

impl Sessions {
    /// From `REDIS_URL` and `SESSION_ENCRYPTION_KEY`.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let Some(url) = vars.get("REDIS_URL") else {
            return Ok(Sessions::default());
        };
        let encoded = vars.require("SESSION_ENCRYPTION_KEY")?;
        let key: [u8; 32] = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| ConfigError::Invalid {
                name: "SESSION_ENCRYPTION_KEY",
                reason: "expected 32 bytes in base64 (openssl rand -base64 32)".to_owned(),
            })?;
        Ok(Sessions {
            redis: Some((url, key)),
        })
    }

    /// Sessions in Redis at `url`, sealed with `key`.
    pub fn redis(url: impl Into<String>, key: [u8; 32]) -> Self {
        Sessions {
            redis: Some((url.into(), key)),
        }
    }
}

/// What a web app uses when the environment does not say, and the names of its API's
/// variables.
#[derive(Clone, Copy, Debug)]
pub struct WebAppDefaults {
    /// The default of `LISTEN_ADDR`.
    pub listen: &'static str,
    /// The variable holding the API's URL (e.g. `BACKEND_API_URL`), and its default.
    pub api_url: (&'static str, &'static str),
    /// The variable holding the API's scopes, space-separated (e.g. `BACKEND_API_SCOPE`),
    /// and its default.
    pub api_scope: (&'static str, &'static str),
    /// The variable holding the API's RFC 8707 resource indicator (`OIDC_ISSUER` only), e.g.
    /// `BACKEND_API_RESOURCE`.
    pub api_resource: &'static str,
}

/// The settings of a web app that signs users in and calls an API for them.
#[derive(Clone, Debug)]
pub struct WebAppConfig {
    /// `LISTEN_ADDR`.
    pub listen: SocketAddr,
    /// This web app's registration: `AZURE_*` (or `OIDC_ISSUER`).
    pub client: ClientConfig,
    /// `REDIRECT_URI` (default `http://{LISTEN_ADDR}/redirect`, as registered in the default
    /// tenant).
    pub redirect_uri: Option<String>,
    /// Where the API runs.
    pub api_url: String,
    /// The API's scopes the app asks for, space-separated.
    pub api_scope: String,
    /// `REDIS_URL` + `SESSION_ENCRYPTION_KEY`: sessions in Redis (default: in memory).
    pub sessions: Sessions,
    /// Records the calls (the tour); off by default.
    pub trace: Trace,
}

impl WebAppConfig {
    /// Reads the environment (see `examples/README.md`).
    pub fn from_env(defaults: WebAppDefaults) -> Result<Self, ConfigError> {
        Self::from_vars(&Vars::env(), defaults)
    }

    /// Reads `vars`.
    pub fn from_vars(vars: &Vars<'_>, defaults: WebAppDefaults) -> Result<Self, ConfigError> {
        let (url_var, url) = defaults.api_url;
        let (scope_var, scope) = defaults.api_scope;
        Ok(WebAppConfig {
            listen: vars.listen_addr(defaults.listen)?,
            client: ClientConfig::from_vars(vars)?.resource_from(vars, defaults.api_resource)?,
            redirect_uri: vars.get("REDIRECT_URI"),
            api_url: vars.url(url_var, url)?,
            api_scope: vars.or(scope_var, scope),
            sessions: Sessions::from_vars(vars)?,
            trace: Trace::off(),
        })
    }
}

/// A web app's state: its sign-in configuration, and the API its form posts go to.
#[derive(Clone, Debug)]
pub(crate) struct WebApp {
    pub(crate) core: Arc<WebCore>,
    /// The URL its form posts go to.
    pub(crate) api_url: String,
}

/// A web app's page for a signed-in user: the user, the CSRF token for its forms, and the
/// result of the last action, if any.
pub(crate) type SignedInPage = fn(&WebApp, &SignedIn, &str, Option<String>) -> Response;

impl WebApp {
    /// The user's token for the API (from the session, refreshed silently, or — consent,
    /// expiry — through sign-in and back), or the page that says why not.
    pub(crate) async fn token_for_user(
        &self,
        tokens: &UserTokenAcquisition,
    ) -> Result<AccessToken, Response> {
        let scopes: Vec<&str> = self.core.scopes.iter().map(String::as_str).collect();
        tokens
            .acquire_token_for_user(&scopes)
            .await
            .map_err(|err| self.token_refused(err))
    }

    /// A token error as a page: a redirect through sign-in, or the provider's refusal.
    fn token_refused(&self, err: TokenError) -> Response {
        if err.is_sign_in_required() {
            return err.into_response();
        }
        let summary = err
            .provider_error()
            .map_or_else(|| err.to_string(), auth_client::Error::summary);
        let body = result_box(false, "No token for the API", &summary);
        self.core.page(err.status(), "Please try again", &body)
    }
}

/// `GET /`: the signed-in page, or the invitation to sign in.
async fn home(State(app): State<WebApp>, user: Option<SignedIn>, csrf: CsrfToken) -> Response {
    match user {
        Some(user) => (app.core.signed_in_page)(&app, &user, csrf.value(), None),
        None => app.core.anonymous_home(),
    }
}

/// A web app: its configuration, and what differs between the two.
pub(crate) struct WebSettings<'a> {
    pub(crate) name: &'static str,
    pub(crate) title: &'static str,
    /// What the start page tells visitors who are not signed in.
    pub(crate) intro: &'static str,
    pub(crate) signed_in_page: SignedInPage,
    pub(crate) config: &'a WebAppConfig,
    /// The address the server listens on (the default redirect URI uses it).
    pub(crate) bound: SocketAddr,
    /// The API's route the form action calls, e.g. `/create-case`.
    pub(crate) api_path: &'static str,
}

/// The web app's router: `GET /` (the start page), the app's form action, and auth-web's
/// `/login`, `/redirect` (the redirect URI's path) and `/logout`.
pub(crate) fn web_router<H, T>(
    settings: WebSettings<'_>,
    action_path: &str,
    action: H,
) -> Result<Router, ConfigError>
where
    H: Handler<T, WebApp>,
    T: 'static,
{
    let config = settings.config;
    let scopes: Vec<String> = config
        .api_scope
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let auth = WebAuth::builder(config.client.client()?)
        .redirect_uri(redirect_uri(
            config.redirect_uri.as_deref(),
            settings.bound,
            "/redirect",
        )?)
        .scopes(scopes.clone())
        .cookie_name(format!("{}_session", settings.name.replace('-', "_")))
        .http_client(config.client.http.client()?)
        .build()
        .map_err(|e| ConfigError::Invalid {
            name: "REDIRECT_URI",
            reason: e.to_string(),
        })?;
    let core = WebCore {
        name: settings.name,
        title: settings.title,
        intro: settings.intro,
        signed_in_page: settings.signed_in_page,
        scopes,
        http: config.client.http.client()?,
        trace: config.trace.clone(),
    };
    let app = WebApp {
        core: Arc::new(core),
        api_url: format!("{}{}", config.api_url, settings.api_path),
    };
    let router = Router::new()
        .route("/", get(home))
        .route(action_path, post(action))
        .with_state(app)
        .merge(auth.routes());
    Ok(match &config.sessions.redis {
        None => router.layer(auth.layer(BoundedMemoryStore::default())),
        Some((url, key)) => {
            let client = redis::Client::open(url.as_str()).map_err(|e| ConfigError::Invalid {
                name: "REDIS_URL",
                reason: e.to_string(),
            })?;
            let store = RedisSessionStore::new(client, key)
                .map_err(|e| ConfigError::Invalid {
                    name: "SESSION_ENCRYPTION_KEY",
                    reason: e.to_string(),
                })?
                .prefix(format!("{}:session:", settings.name));
            router.layer(auth.layer(store))
        }
    })
}

/// What a web app shows and calls.
#[derive(Clone, Debug)]
pub(crate) struct WebCore {
    /// The app's name, e.g. `auth-code-client`.
    pub(crate) name: &'static str,
    /// The page banner.
    pub(crate) title: &'static str,
    /// What the start page tells visitors who are not signed in.
    pub(crate) intro: &'static str,
    /// The start page of a signed-in user.
    pub(crate) signed_in_page: SignedInPage,
    /// The API scopes the form action needs.
    pub(crate) scopes: Vec<String>,
    pub(crate) http: reqwest::Client,
    pub(crate) trace: Trace,
}

/// What an API call returned.
pub(crate) struct ApiAnswer {
    pub(crate) status: StatusCode,
    pub(crate) body: String,
}

impl WebCore {
    /// A page of this app.
    pub(crate) fn page(&self, status: StatusCode, title: &str, body: &str) -> Response {
        page(status, self.title, title, body)
    }

    /// The "who is signed in" paragraph and the sign-out button.
    pub(crate) fn who(user: &SignedIn, csrf: &str) -> String {
        format!(
            "<p class=\"who\">Signed in as <strong>{}</strong> ({}, object id <code>{}</code>)</p>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\" class=\"secondary\">Sign out</button></form>",
            crate::html::escape(user.name().unwrap_or("(no name)")),
            crate::html::escape(user.username().unwrap_or_default()),
            crate::html::escape(user.object_id().unwrap_or_default()),
            crate::html::escape(csrf),
        )
    }

    /// The page for visitors who are not signed in.
    pub(crate) fn anonymous_home(&self) -> Response {
        let body = format!(
            "<p>{}</p>{}",
            crate::html::escape(self.intro),
            sign_in_button()
        );
        self.page(StatusCode::OK, "Welcome", &body)
    }

    /// The result box of an API call.
    pub(crate) fn answer_box(
        api: &str,
        answer: Option<ApiAnswer>,
        body: impl Fn(&str) -> String,
    ) -> String {
        match answer {
            Some(answer) => result_box(
                answer.status.is_success(),
                &format!("{api} answered {}", answer.status),
                &body(&answer.body),
            ),
            None => result_box(
                false,
                &format!("{api} could not be reached"),
                "Try again later.",
            ),
        }
    }

    /// Calls `url` with the user's token: `POST` with a JSON body. `None`: unreachable.
    pub(crate) async fn call_api(
        &self,
        url: &str,
        what: &str,
        token: &AccessToken,
        body: &serde_json::Value,
    ) -> Option<ApiAnswer> {
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
                tracing::warn!(app = self.name, error = %err, "the API call failed");
                return None;
            }
        };
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        hop.finish(format!("{} {}", status.as_u16(), excerpt(&body)));
        Some(ApiAnswer { status, body })
    }
}
