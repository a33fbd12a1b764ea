//! `obo-example-frontend`: the web app of the On-Behalf-Of pattern. It signs the user in for
//! the internal API (Token A: audience `api://obo-example-internal-api`, scope
//! `user_impersonation`) and uploads documents through it.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | the start page: "Sign in", or (signed in) the upload form |
//! | `GET /login` | redirects to Entra's authorize endpoint (state, nonce, PKCE S256) |
//! | `GET /redirect` (and the path of `REDIRECT_URI`) | redeems the code, validates the ID token, starts the session |
//! | `POST /upload` | calls `POST {INTERNAL_API_URL}/upload` with Token A and shows the answer |
//! | `GET`/`POST /logout` | signs out: the session here, then at Entra |
//!
//! Sign-in, sessions, CSRF and Token A come from `auth-web`; with `REDIS_URL` (and
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
use crate::html::escape;
use crate::web::{WebApp, WebAppConfig, WebAppDefaults, WebCore, WebSettings, web_router};

/// The app's name (and the emulator's app registration).
pub const NAME: &str = "obo-example-frontend";

/// The settings of `obo-example-frontend`, with [`DEFAULTS`].
pub type Config = WebAppConfig;

/// `LISTEN_ADDR` `127.0.0.1:3000`; `INTERNAL_API_URL` `http://127.0.0.1:3001`,
/// `INTERNAL_API_SCOPE` `api://obo-example-internal-api/user_impersonation`;
/// `INTERNAL_API_RESOURCE`: the middle tier's RFC 8707 resource indicator (`OIDC_ISSUER` only).
pub const DEFAULTS: WebAppDefaults = WebAppDefaults {
    listen: "127.0.0.1:3000",
    api_url: ("INTERNAL_API_URL", "http://127.0.0.1:3001"),
    api_scope: (
        "INTERNAL_API_SCOPE",
        "api://obo-example-internal-api/user_impersonation",
    ),
    api_resource: "INTERNAL_API_RESOURCE",
};

/// The router, for a server listening on `bound` (the default redirect URI uses it).
pub fn router(config: &Config, bound: SocketAddr) -> Result<Router, ConfigError> {
    let settings = WebSettings {
        name: NAME,
        title: "Documents (obo-example-frontend)",
        intro: "Sign in with your work account to upload documents.",
        signed_in_page,
        config,
        bound,
        api_path: "/upload",
    };
    web_router(settings, "/upload", upload)
}

fn signed_in_page(app: &WebApp, user: &SignedIn, csrf: &str, result: Option<String>) -> Response {
    let body = format!(
        "{who}<form method=\"post\" action=\"/upload\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"name\">Document name</label>\
         <input id=\"name\" name=\"name\" type=\"text\" required maxlength=\"200\" value=\"report.txt\">\
         <label for=\"content\">Content</label>\
         <textarea id=\"content\" name=\"content\" rows=\"4\">Quarterly numbers</textarea>\
         <button type=\"submit\">Upload</button></form>{result}",
        who = WebCore::who(user, csrf),
        csrf = escape(csrf),
        result = result.unwrap_or_default(),
    );
    app.core.page(StatusCode::OK, "Upload a document", &body)
}

/// The form of `POST /upload` (its `csrf` field is checked by `CsrfForm`).
#[derive(Debug, Deserialize)]
struct UploadForm {
    name: String,
    #[serde(default)]
    content: String,
}

async fn upload(
    State(app): State<WebApp>,
    user: SignedIn,
    csrf: CsrfToken,
    tokens: UserTokenAcquisition,
    CsrfForm(form): CsrfForm<UploadForm>,
) -> Response {
    let token = match app.token_for_user(&tokens).await {
        Ok(token) => token,
        Err(refused) => return refused,
    };
    let body = json!({ "name": form.name, "content": form.content });
    let answer = app
        .core
        .call_api(&app.api_url, "POST /upload", &token, &body)
        .await;
    let result = WebCore::answer_box("The internal API", answer, pretty);
    signed_in_page(&app, &user, csrf.value(), Some(result))
}

/// Pretty-prints JSON, or returns the text.
fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned())
}
