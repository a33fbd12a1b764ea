//! The authorize endpoint and its sign-in page: validates the request like Entra (client,
//! exact redirect URI, `response_type=code`, scopes, PKCE), signs the user in (form or
//! auto-login), records the user's consent, and redirects with a single-use code.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};

use super::errors::{AadError, no_store, random_token};
use super::request::{form, tenant_not_found};
use super::scopes::{self, Resource};
use super::state::{AuthCode, CODE_LIFETIME, LOGIN_LIFETIME, PendingLogin, ResponseMode, Shared};
use super::sync::lock;
use super::tenant::{AppRegistration, User};
use super::tokens;

/// (scheme, host, port, rest) of an absolute URI.
fn split_uri(uri: &str) -> Option<(String, String, Option<&str>, &str)> {
    let (scheme, after) = uri.split_once("://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let port = authority[close + 1..].strip_prefix(':');
        (&authority[..=close], port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    Some((
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase(),
        port,
        rest,
    ))
}

/// Whether `requested` matches `registered`: exactly, or, for `http` loopback URIs
/// (`localhost`, `127.0.0.1`, `[::1]`), with any port (Entra's rule for loopback redirect URIs).
pub(crate) fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Some(a), Some(b)) = (split_uri(registered), split_uri(requested)) else {
        return false;
    };
    let loopback = |h: &str| matches!(h, "localhost" | "127.0.0.1" | "[::1]");
    a.0 == "http" && b.0 == "http" && loopback(&a.1) && a.1 == b.1 && a.3 == b.3
}

fn query_params(uri: &Uri) -> HashMap<String, String> {
    let pairs: Vec<(String, String)> = uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let mut params = HashMap::new();
    for (name, value) in pairs {
        params.entry(name).or_insert(value);
    }
    params
}

/// Either an error shown to the caller (no trustworthy redirect URI), or one redirected back.
enum Failure {
    Show(AadError),
    Redirect(Box<PendingLogin>, AadError),
}

/// `GET /{tenant}/oauth2/v2.0/authorize`.
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    Path(segment): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let now = shared.now();
    shared.sweep(now);
    let params = query_params(&uri);
    let pending = match begin(&shared, &segment, &params, now) {
        Ok(pending) => pending,
        Err(Failure::Show(err)) => return err.response(&shared.base_url, &headers, now),
        Err(Failure::Redirect(pending, err)) => return redirect_error(&shared, &pending, &err),
    };
    let prompt = params.get("prompt").map(String::as_str).unwrap_or_default();
    if let Some(username) = &shared.auto_login
        && let Some(user) = shared.tenant.user(username)
    {
        return complete(&shared, &pending, user, now);
    }
    if prompt == "none" {
        let err = AadError::bad(
            "login_required",
            50058,
            "A silent sign-in request was sent but no user is signed in.",
        );
        return redirect_error(&shared, &pending, &err);
    }
    let tx = random_token();
    lock(&shared.logins).insert(tx.clone(), pending.clone());
    login_page(&shared, &pending, &tx, None, StatusCode::OK)
}

/// `POST /{tenant}/oauth2/v2.0/authorize`: the sign-in form.
pub(crate) async fn sign_in(
    State(shared): State<Arc<Shared>>,
    Path(_segment): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = shared.now();
    shared.sweep(now);
    let params = match form(&headers, &body) {
        Ok(params) => params,
        Err(err) => return err.response(&shared.base_url, &headers, now),
    };
    let Some(tx) = params.get("login_tx") else {
        return AadError::bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'login_tx' (post the \
             sign-in form the authorize endpoint rendered).",
        )
        .response(&shared.base_url, &headers, now);
    };
    let pending = lock(&shared.logins).get(tx).cloned();
    let Some(pending) = pending else {
        return AadError::bad(
            "invalid_request",
            9002313,
            "Invalid request. Request is malformed or invalid: the sign-in session is unknown or \
             expired; start again from the application.",
        )
        .response(&shared.base_url, &headers, now);
    };
    let username = params
        .get("username")
        .map(String::as_str)
        .unwrap_or_default();
    let password = params
        .get("password")
        .map(String::as_str)
        .unwrap_or_default();
    match shared.tenant.user(username.trim()) {
        Some(user) if user.password() == password => {
            lock(&shared.logins).remove(tx);
            complete(&shared, &pending, user, now)
        }
        _ => {
            let mut retry = pending.clone();
            retry.login_hint = Some(username.to_owned());
            login_page(
                &shared,
                &retry,
                tx,
                Some(
                    "AADSTS50126: Error validating credentials due to invalid username or \
                     password.",
                ),
                StatusCode::OK,
            )
        }
    }
}

fn begin(
    shared: &Shared,
    segment: &str,
    params: &HashMap<String, String>,
    now: i64,
) -> Result<PendingLogin, Failure> {
    let tenant = &shared.tenant;
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let show = |code: u32, error: &'static str, message: String| {
        Failure::Show(AadError::bad(error, code, message))
    };
    if shared.tenant_path(segment).is_none() {
        return Err(Failure::Show(tenant_not_found(segment)));
    }
    let Some(client_id) = param("client_id") else {
        return Err(show(
            900144,
            "invalid_request",
            "The request body must contain the following parameter: 'client_id'.".to_owned(),
        ));
    };
    let Some(client) = tenant.app_by_client_id(client_id) else {
        return Err(show(
            700016,
            "unauthorized_client",
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. \
                 This can happen if the application has not been installed by the \
                 administrator of the tenant or consented to by any user in the tenant. You may \
                 have sent your authentication request to the wrong tenant.",
                tenant.tenant_id()
            ),
        ));
    };
    let Some(redirect_uri) = param("redirect_uri") else {
        return Err(show(
            900144,
            "invalid_request",
            "The request body must contain the following parameter: 'redirect_uri'.".to_owned(),
        ));
    };
    if redirect_uri.contains('#')
        || !client
            .redirect_uris()
            .iter()
            .any(|r| redirect_matches(r, redirect_uri))
    {
        return Err(show(
            50011,
            "invalid_request",
            format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the \
                 redirect URIs configured for the application '{}'. Make sure the redirect URI \
                 sent in the request matches one added to your application in the Azure portal.",
                client.client_id()
            ),
        ));
    }
    let (mode, mode_error) = match param("response_mode") {
        None | Some("query") => (ResponseMode::Query, None),
        Some("fragment") => (ResponseMode::Fragment, None),
        Some("form_post") => (ResponseMode::FormPost, None),
        Some(other) => (ResponseMode::Query, Some(other.to_owned())),
    };
    let challenge = param("code_challenge").map(|c| {
        (
            c.to_owned(),
            param("code_challenge_method").unwrap_or("plain").to_owned(),
        )
    });
    let pending = PendingLogin {
        tenant_segment: segment.to_owned(),
        client_id: client.client_id().to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scope: param("scope").unwrap_or_default().to_owned(),
        state: param("state").map(str::to_owned),
        nonce: param("nonce").map(str::to_owned),
        challenge,
        response_mode: mode,
        client_info: param("client_info") == Some("1"),
        login_hint: param("login_hint").map(str::to_owned),
        expires: now + LOGIN_LIFETIME,
    };
    let redirect = |err: AadError| Failure::Redirect(Box::new(pending.clone()), err);
    if let Some(mode) = mode_error {
        return Err(redirect(AadError::bad(
            "invalid_request",
            900144,
            format!(
                "The response_mode '{mode}' is not supported: use query, fragment or form_post."
            ),
        )));
    }
    match param("response_type") {
        Some("code") => {}
        None => {
            return Err(redirect(AadError::bad(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'response_type'.",
            )));
        }
        Some(other) if other.split(' ').any(|t| t == "id_token" || t == "token") => {
            return Err(redirect(AadError::bad(
                "unsupported_response_type",
                700054,
                format!(
                    "response_type '{other}' is not enabled for the application: the emulator's \
                     apps do not enable implicit grant; use response_type=code."
                ),
            )));
        }
        Some(other) => {
            return Err(redirect(AadError::bad(
                "unsupported_response_type",
                700054,
                format!("response_type '{other}' is not supported: use response_type=code."),
            )));
        }
    }
    if let Some((_, method)) = &pending.challenge
        && method != "S256"
        && method != "plain"
    {
        return Err(redirect(AadError::bad(
            "invalid_request",
            501471,
            format!("The code_challenge_method '{method}' is not supported: use S256."),
        )));
    }
    scopes::parse(tenant, client.name(), &pending.scope).map_err(redirect)?;
    Ok(pending)
}

/// Signs `user` in: records consent to the requested scopes, issues a code, redirects.
fn complete(shared: &Shared, pending: &PendingLogin, user: &User, now: i64) -> Response {
    let Some(client) = shared.tenant.app_by_client_id(&pending.client_id) else {
        let err = AadError::bad(
            "unauthorized_client",
            700016,
            "The application was removed.",
        );
        return redirect_error(shared, pending, &err);
    };
    record_consent(shared, client, user, &pending.scope);
    let code = format!("1.emulator.{}", random_token());
    lock(&shared.codes).insert(
        code.clone(),
        AuthCode {
            client_id: pending.client_id.clone(),
            redirect_uri: pending.redirect_uri.clone(),
            scope: pending.scope.clone(),
            nonce: pending.nonce.clone(),
            challenge: pending.challenge.clone(),
            user_oid: user.object_id().to_owned(),
            expires: now + CODE_LIFETIME,
            redeemed: false,
        },
    );
    let mut params = vec![("code".to_owned(), code)];
    if pending.client_info {
        params.push((
            "client_info".to_owned(),
            tokens::client_info(user, shared.tenant.tenant_id()),
        ));
    }
    if let Some(state) = &pending.state {
        params.push(("state".to_owned(), state.clone()));
    }
    params.push(("session_state".to_owned(), super::errors::new_guid()));
    respond(pending, &params)
}

/// The user accepts the consent prompt: every requested scope the resource exposes (for
/// `.default`, every scope the client declares for it).
fn record_consent(shared: &Shared, client: &AppRegistration, user: &User, scope: &str) {
    let Ok(request) = scopes::parse(&shared.tenant, client.name(), scope) else {
        return;
    };
    let mut consents = lock(&shared.consents);
    for part in &request.resources {
        let Resource::App(resource) = part.resource else {
            continue;
        };
        let names: Vec<String> = if part.default {
            client
                .access_to(resource.client_id())
                .map(|a| a.scopes.clone())
                .unwrap_or_default()
        } else {
            part.names.clone()
        };
        consents
            .entry((
                user.object_id().to_owned(),
                client.client_id().to_owned(),
                resource.client_id().to_owned(),
            ))
            .or_default()
            .extend(names);
    }
}

fn redirect_error(shared: &Shared, pending: &PendingLogin, err: &AadError) -> Response {
    let mut params = vec![
        ("error".to_owned(), err.error.to_owned()),
        ("error_description".to_owned(), err.description()),
        (
            "error_uri".to_owned(),
            format!("{}/error?code={}", shared.base_url, err.code),
        ),
    ];
    if let Some(state) = &pending.state {
        params.push(("state".to_owned(), state.clone()));
    }
    respond(pending, &params)
}

/// Sends `params` to the redirect URI in the request's response mode.
fn respond(pending: &PendingLogin, params: &[(String, String)]) -> Response {
    let encoded = serde_urlencoded::to_string(params).unwrap_or_default();
    let uri = &pending.redirect_uri;
    let location = match pending.response_mode {
        ResponseMode::Query => {
            let sep = if uri.contains('?') { '&' } else { '?' };
            format!("{uri}{sep}{encoded}")
        }
        ResponseMode::Fragment => format!("{uri}#{encoded}"),
        ResponseMode::FormPost => {
            let inputs: String = params
                .iter()
                .map(|(k, v)| {
                    format!(
                        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                        escape(k),
                        escape(v)
                    )
                })
                .collect();
            let page = format!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Working...</title></head>\
                 <body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{}\">{inputs}\
                 <noscript><p>Script is disabled. Select Continue.</p><button type=\"submit\">Continue</button></noscript>\
                 </form></body></html>",
                escape(uri)
            );
            let mut response = Html(page).into_response();
            no_store(&mut response);
            return response;
        }
    };
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    no_store(&mut response);
    response
}

/// HTML-escapes text for element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const PAGE_CSS: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f3f4f6;color:#1b1b1b}\
main{max-width:440px;margin:8vh auto;background:#fff;padding:2.5rem 2.75rem;border-radius:6px;box-shadow:0 2px 8px rgba(0,0,0,.15)}\
h1{font-size:1.5rem;margin:0 0 .25rem}\
.sub{margin:0 0 1.5rem;color:#555}\
label{display:block;font-weight:600;margin:1rem 0 .25rem}\
input{width:100%;padding:.6rem .7rem;font:inherit;border:1px solid #8a8886;border-radius:3px}\
input:focus{outline:3px solid #0067b8;outline-offset:1px;border-color:#0067b8}\
button{margin-top:1.75rem;width:100%;padding:.7rem;font:inherit;font-weight:600;color:#fff;background:#0067b8;border:0;border-radius:3px;cursor:pointer}\
button:hover,button:focus{background:#005da6}\
.error{margin:1rem 0 0;padding:.75rem;border-left:4px solid #a80000;background:#fde7e9;color:#a80000}\
.perms{margin:1.5rem 0 0;padding:.75rem 1rem;background:#f8f8f8;border-radius:3px;font-size:.9rem}\
.perms ul{margin:.25rem 0 0;padding-left:1.25rem}\
footer{margin-top:1.5rem;font-size:.8rem;color:#666}";

fn login_page(
    shared: &Shared,
    pending: &PendingLogin,
    tx: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let app_name = shared
        .tenant
        .app_by_client_id(&pending.client_id)
        .map_or("the application", AppRegistration::name);
    let perms: String = pending
        .scope
        .split_whitespace()
        .map(|s| format!("<li>{}</li>", escape(s)))
        .collect();
    let error_html = error.map_or_else(String::new, |e| {
        format!(
            "<p class=\"error\" id=\"signin-error\" role=\"alert\">{}</p>",
            escape(e)
        )
    });
    let described = if error.is_some() {
        " aria-describedby=\"signin-error\" aria-invalid=\"true\""
    } else {
        ""
    };
    let username = pending.login_hint.as_deref().unwrap_or_default();
    let action = format!(
        "{}/{}/oauth2/v2.0/authorize",
        shared.base_url, pending.tenant_segment
    );
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Sign in to your account</title><style>{PAGE_CSS}</style></head>\
         <body><main><h1>Sign in</h1><p class=\"sub\">to continue to {app}</p>{error_html}\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"login_tx\" value=\"{tx}\">\
         <label for=\"username\">Username</label>\
         <input id=\"username\" name=\"username\" type=\"text\" autocomplete=\"username\" required autofocus value=\"{username}\"{described}>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{described}>\
         <section class=\"perms\" aria-label=\"Permissions requested\"><strong>{app} asks for:</strong><ul>{perms}</ul>\
         Signing in accepts these permissions.</section>\
         <button type=\"submit\">Sign in</button></form>\
         <footer>Local Entra ID emulator (tenant {tid}). Test accounts only.</footer></main></body></html>",
        app = escape(app_name),
        action = escape(&action),
        tx = escape(tx),
        username = escape(username),
        tid = escape(shared.tenant.tenant_id()),
    );
    let mut response = (status, Html(page)).into_response();
    no_store(&mut response);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirect_uris_match_on_any_port_and_others_exactly() {
        let r = "http://localhost:3000/redirect";
        assert!(redirect_matches(r, "http://localhost:3000/redirect"));
        assert!(redirect_matches(r, "http://localhost:51234/redirect"));
        assert!(redirect_matches(r, "http://localhost/redirect"));
        assert!(!redirect_matches(r, "http://localhost:3000/other"));
        assert!(!redirect_matches(r, "http://127.0.0.1:3000/redirect"));
        assert!(redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8080/cb"
        ));
        assert!(redirect_matches("http://[::1]:1/cb", "http://[::1]:2/cb"));
        assert!(!redirect_matches(
            "https://app.example/cb",
            "https://app.example:444/cb"
        ));
        assert!(!redirect_matches(
            "https://localhost:1/cb",
            "https://localhost:2/cb"
        ));
        assert!(!redirect_matches(r, "not a uri"));
    }

    #[test]
    fn escape_covers_html_specials() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
