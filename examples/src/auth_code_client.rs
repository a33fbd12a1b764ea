//! `auth-code-client`: a web app that signs users in with the authorization code flow + PKCE
//! and calls `auth-code-api` with their delegated token.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the start page: "Sign in", or (signed in) "Create a case" |
//! | `GET /login` | redirects to Entra's authorize endpoint (state, nonce, PKCE S256) |
//! | `GET /redirect` (and the path of `REDIRECT_URI`) | redeems the code, validates the ID token, starts the session |
//! | `POST /cases` | calls `POST {BACKEND_API_URL}/create-case` with the user's token and shows the answer |
//! | `GET`/`POST /logout` | signs out: the session here, then at Entra |
//!
//! Sign-in, sessions, CSRF and the user's tokens come from `auth-web`; with `REDIS_URL` (and
//! `SESSION_ENCRYPTION_KEY`) the sessions live in Redis, so replicas behind one URL share them.

use std::net::SocketAddr;

use auth_web::{CsrfForm, CsrfToken, SignedIn, UserTokenAcquisition};
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::config::ConfigError;
use crate::web::{WebApp, WebAppConfig, WebAppDefaults, WebCore, WebSettings, web_router};

/// The app's name (and the emulator's app registration).
pub const NAME: &str = "auth-code-client";

/// The settings of `auth-code-client`, with [`DEFAULTS`].
pub type Config = WebAppConfig;

/// `LISTEN_ADDR` `127.0.0.1:8080`; `BACKEND_API_URL` `http://127.0.0.1:8081` (where
/// `auth-code-api` runs), `BACKEND_API_SCOPE` `api://backend-api-id/Case.Create`;
/// `BACKEND_API_RESOURCE`: the API's RFC 8707 resource indicator (`OIDC_ISSUER` only).
pub const DEFAULTS: WebAppDefaults = WebAppDefaults {
    listen: "127.0.0.1:8080",
    api_url: ("BACKEND_API_URL", "http://127.0.0.1:8081"),
    api_scope: ("BACKEND_API_SCOPE", "api://backend-api-id/Case.Create"),
    api_resource: "BACKEND_API_RESOURCE",
};

/// The router, for a server listening on `bound` (the default redirect URI uses it).
pub fn router(config: &Config, bound: SocketAddr) -> Result<Router, ConfigError> {
    let settings = WebSettings {
        name: NAME,
        title: "Case management (auth-code-client)",
        intro: "Sign in with your work account to create a case.",
        signed_in_page,
        config,
        bound,
        api_path: "/create-case",
    };
    web_router(settings, "/cases", create_case)
}

fn signed_in_page(app: &WebApp, user: &SignedIn, csrf: &str, result: Option<String>) -> Response {
    let body = format!(
        "{who}<form method=\"post\" action=\"/cases\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <button type=\"submit\">Create a case</button></form>{result}",
        who = WebCore::who(user, csrf),
        csrf = crate::html::escape(csrf),
        result = result.unwrap_or_default(),
    );
    app.core.page(StatusCode::OK, "Cases", &body)
}

/// The form of `POST /cases` (its `csrf` field is checked by `CsrfForm`).
#[derive(Debug, Deserialize)]
struct CaseForm {}

async fn create_case(
    State(app): State<WebApp>,
    user: SignedIn,
    csrf: CsrfToken,
    tokens: UserTokenAcquisition,
    CsrfForm(CaseForm {}): CsrfForm<CaseForm>,
) -> Response {
    let token = match app.token_for_user(&tokens).await {
        Ok(token) => token,
        Err(refused) => return refused,
    };
    let body = json!({ "title": "New case", "description": "Created from auth-code-client" });
    let answer = app
        .core
        .call_api(&app.api_url, "POST /create-case", &token, &body)
        .await;
    let result = WebCore::answer_box("The API", answer, str::to_owned);
    signed_in_page(&app, &user, csrf.value(), Some(result))
}
