//! `auth-code-client`: a web app that signs users in with the authorization code flow + PKCE
//! and calls `auth-code-api` with their delegated token.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the start page: "Sign in", or (signed in) "Create a case" |
//! | `GET /login` | redirects to Entra's authorize endpoint (state, nonce, PKCE S256) |
//! | `GET /redirect` (and the path of `REDIRECT_URI`) | redeems the code, validates the ID token, starts the session |
//! | `POST /cases` | calls `POST {BACKEND_API_URL}/create-case` with the user's token and shows the answer |

use std::net::SocketAddr;

use axum::extract::{Form, State};
use axum::response::Response;
use axum::{Router, http::HeaderMap};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::config::{ClientConfig, ConfigError, Vars, redirect_uri};
use crate::html::{escape, result_box};
use crate::trace::Trace;
use crate::web::{WebApp, WebCore, WebSettings, web_router};

/// The app's name (and the emulator's app registration).
pub const NAME: &str = "auth-code-client";

/// The settings of `auth-code-client`.
#[derive(Clone, Debug)]
pub struct Config {
    /// `LISTEN_ADDR` (default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// This web app's registration: `AZURE_*`.
    pub client: ClientConfig,
    /// `REDIRECT_URI` (default `http://{LISTEN_ADDR}/redirect`, as registered in the default tenant).
    pub redirect_uri: Option<String>,
    /// `BACKEND_API_URL` (default `http://127.0.0.1:8081`): where `auth-code-api` runs.
    pub backend_api_url: String,
    /// `BACKEND_API_SCOPE` (default `api://backend-api-id/Case.Create`).
    pub backend_api_scope: String,
    /// Records the calls (the tour); off by default.
    pub trace: Trace,
}

impl Config {
    /// Reads the environment (see `examples/README.md`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&Vars::env())
    }

    /// Reads `vars`.
    pub fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Config {
            listen: vars.listen_addr("127.0.0.1:8080")?,
            client: ClientConfig::from_vars(vars)?,
            redirect_uri: vars.get("REDIRECT_URI"),
            backend_api_url: vars.url("BACKEND_API_URL", "http://127.0.0.1:8081")?,
            backend_api_scope: vars.or("BACKEND_API_SCOPE", "api://backend-api-id/Case.Create"),
            trace: Trace::off(),
        })
    }
}

/// The router, for a server listening on `bound` (the default redirect URI uses it).
pub fn router(config: &Config, bound: SocketAddr) -> Result<Router, ConfigError> {
    let settings = WebSettings {
        name: NAME,
        title: "Case management (auth-code-client)",
        client: &config.client,
        scopes: &config.backend_api_scope,
        redirect_uri: redirect_uri(config.redirect_uri.as_deref(), bound, "/redirect")?,
        cookie: "auth_code_client_session",
        trace: config.trace.clone(),
        api_url: format!("{}/create-case", config.backend_api_url),
    };
    web_router(settings, home, "/cases", create_case)
}

async fn home(State(app): State<WebApp>, headers: HeaderMap) -> Response {
    match app.core.signed_in(&headers) {
        Some((_, session, user)) => signed_in_page(&app, &user, &session.csrf, None),
        None => app
            .core
            .anonymous_home("Sign in with your work account to create a case."),
    }
}

fn signed_in_page(
    app: &WebApp,
    user: &crate::session::User,
    csrf: &str,
    result: Option<String>,
) -> Response {
    let body = format!(
        "{who}<form method=\"post\" action=\"/cases\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\">Create a case</button></form>{result}",
        who = WebCore::who(user),
        csrf = escape(csrf),
        result = result.unwrap_or_default(),
    );
    app.core.page(StatusCode::OK, "Cases", &body)
}

/// The form of `POST /cases`.
#[derive(Debug, Deserialize)]
struct CaseForm {
    csrf: String,
}

async fn create_case(
    State(app): State<WebApp>,
    headers: HeaderMap,
    Form(form): Form<CaseForm>,
) -> Response {
    let body = json!({ "title": "New case", "description": "Created from auth-code-client" });
    let posted = app
        .core
        .post_for_user(
            &headers,
            &form.csrf,
            &app.api_url,
            "POST /create-case",
            &body,
        )
        .await;
    let (user, csrf, answer) = match posted {
        Ok(posted) => posted,
        Err(refused) => return refused,
    };
    let result = match answer {
        Some(answer) => result_box(
            answer.status.is_success(),
            &format!("The API answered {}", answer.status),
            &answer.body,
        ),
        None => result_box(false, "The API could not be reached", "Try again later."),
    };
    signed_in_page(&app, &user, &csrf, Some(result))
}
