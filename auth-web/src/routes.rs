//! The sign-in routes of [`WebAuth::routes`]: `/login`, the redirect URI's path, `/logout`,
//! and optionally Entra's front-channel logout URL.

use auth_client::{AuthorizationRequest, AuthorizationResponse};
use auth_layer::discovery::{ProviderMetadata, metadata_url};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Query};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use http::header::{CACHE_CONTROL, HeaderValue};
use http::{StatusCode, Uri};
use serde::Deserialize;
use tower_sessions::Session;

use crate::account::{
    ACCOUNT, Account, MAX_PENDING, PENDING, PENDING_LIFETIME_SECS, PendingSignIn, REAUTH, Reauth,
    TOKENS, Tokens, now_unix,
};
use crate::config::{EndSession, WebAuth};
use crate::csrf::{CSRF_FIELD, check, renew, same_token, session_token};
use crate::return_to::same_origin_path;

impl WebAuth {
    /// The sign-in routes, to merge into the app's router (which must have
    /// [`layer`](Self::layer) applied):
    ///
    /// | route | what |
    /// |---|---|
    /// | `GET /login?return_to=/path` | starts a sign-in (authorization code + PKCE, `state` and `nonce` kept in the session) and redirects to the provider; `return_to` must be a path on this site |
    /// | `GET {redirect URI path}` | checks `state`, redeems the code, validates the ID token (`nonce`, issuer, tenant), rotates the session id and redirects to `return_to` |
    /// | `GET /logout` | a page with the sign-out button |
    /// | `POST /logout` | (with the CSRF token) clears the session, then redirects to the provider's `end_session_endpoint` with `post_logout_redirect_uri` |
    /// | `GET {front-channel logout path}` | (when configured) ends this browser's session when the provider signs the user out |
    pub fn routes<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let i = &self.inner;
        let mut router = Router::new()
            .route(&i.login_path, get(login))
            .route(&i.callback_path, get(callback))
            .route(&i.logout_path, get(logout_page).post(logout));
        if let Some(path) = &i.front_channel_logout_path {
            router = router.route(path, get(front_channel_logout));
        }
        router
    }
}

/// A minimal page (the routes' own errors). `text` is escaped.
fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><main><h1>{title}</h1><p role=\"alert\">{text}</p><p><a href=\"/\">Back to the start page</a></p></main></body></html>",
        title = escape(title),
        text = escape(text),
    );
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
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

fn store_failed(err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "auth-web: session store error");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Sign-in is unavailable",
        "The session store is unavailable. Try again later.",
    )
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    return_to: Option<String>,
}

/// `GET /login`.
async fn login(
    Extension(auth): Extension<WebAuth>,
    session: Session,
    Query(query): Query<LoginQuery>,
) -> Response {
    let i = &auth.inner;
    let return_to = match query.return_to.as_deref() {
        None => i.after_sign_in.clone(),
        Some(candidate) => match same_origin_path(candidate) {
            Some(path) => path.to_owned(),
            None => {
                return page(
                    StatusCode::BAD_REQUEST,
                    "Sign-in refused",
                    "return_to must be a path on this site.",
                );
            }
        },
    };
    let reauth: Option<Reauth> = match session.get(REAUTH).await {
        Ok(reauth) => reauth,
        Err(err) => return store_failed(err),
    };
    let account: Option<Account> = session.get(ACCOUNT).await.ok().flatten();
    // Incremental consent: the scopes a token request lacked (one resource per request, as
    // Entra requires), else the app's sign-in scopes.
    let scopes = reauth
        .as_ref()
        .filter(|r| !r.scopes.is_empty())
        .map_or_else(|| i.scopes.clone(), |r| r.scopes.clone());
    let mut request = AuthorizationRequest::new(&i.redirect_uri).scopes(scopes);
    if let Some(claims) = reauth.as_ref().and_then(|r| r.claims.clone()) {
        request = request.claims(claims);
    }
    if let Some(hint) = account
        .as_ref()
        .and_then(|a| a.claims.get("preferred_username"))
        .and_then(|v| v.as_str())
    {
        request = request.login_hint(hint);
    }
    let start = match i.client.authorization_url(request).await {
        Ok(start) => start,
        Err(err) => {
            tracing::error!(error = %err, "auth-web: cannot start the sign-in");
            return page(
                StatusCode::BAD_GATEWAY,
                "Sign-in is unavailable",
                "The identity provider could not be reached. Try again later.",
            );
        }
    };
    let mut pending: Vec<PendingSignIn> = session
        .get(PENDING)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let now = now_unix();
    pending.retain(|p| p.flow.created_at() + PENDING_LIFETIME_SECS > now);
    pending.push(PendingSignIn {
        flow: start.session,
        return_to,
    });
    let excess = pending.len().saturating_sub(MAX_PENDING);
    pending.drain(..excess);
    if let Err(err) = session.insert(PENDING, &pending).await {
        return store_failed(err);
    }
    Redirect::to(&start.url).into_response()
}

fn sign_in_failed(text: &str) -> Response {
    page(StatusCode::BAD_REQUEST, "Sign-in failed", text)
}

/// `GET {redirect URI path}`.
async fn callback(Extension(auth): Extension<WebAuth>, session: Session, uri: Uri) -> Response {
    let i = &auth.inner;
    let response = AuthorizationResponse::from_uri(&uri);
    let mut pending: Vec<PendingSignIn> = match session.get(PENDING).await {
        Ok(pending) => pending.unwrap_or_default(),
        Err(err) => return store_failed(err),
    };
    if pending.is_empty() {
        return sign_in_failed(
            "No sign-in is in progress in this browser session (it expired, or cookies are \
             blocked). Start again.",
        );
    }
    let found = response.state().and_then(|state| {
        pending
            .iter()
            .position(|p| same_token(state, p.flow.state()))
    });
    let Some(index) = found else {
        return sign_in_failed(
            "The sign-in did not complete: the state does not match this session.",
        );
    };
    // Single use: a replayed callback finds nothing.
    let entry = pending.remove(index);
    if let Err(err) = session.insert(PENDING, &pending).await {
        return store_failed(err);
    }
    if entry.flow.created_at() + PENDING_LIFETIME_SECS <= now_unix() {
        return sign_in_failed("The sign-in took too long. Start again.");
    }
    let tokens = match i.client.redeem_code(&entry.flow, &response).await {
        Ok(tokens) => tokens,
        Err(err) => {
            tracing::warn!(error = %err, "auth-web: sign-in failed");
            return sign_in_failed(&format!("The sign-in did not complete: {}.", err.summary()));
        }
    };
    let Some(id_token) = tokens.id_token else {
        return sign_in_failed("The sign-in did not complete: no ID token.");
    };
    let claims = id_token.claims();
    if let Some(allowed) = &i.allowed_tenants {
        let tid = claims.tenant_id().unwrap_or_default().to_ascii_lowercase();
        if !allowed.contains(&tid) {
            tracing::warn!(tid = %tid, "auth-web: sign-in from a tenant that is not allowed");
            return page(
                StatusCode::FORBIDDEN,
                "Sign-in refused",
                "Your organization is not allowed to use this application.",
            );
        }
    }
    let previous: Option<Account> = session.get(ACCOUNT).await.ok().flatten();
    let same_user = previous
        .as_ref()
        .is_some_and(|p| p.claims.get("sub").and_then(|v| v.as_str()) == claims.subject());
    let mut stored: Tokens = if same_user {
        session.get(TOKENS).await.ok().flatten().unwrap_or_default()
    } else {
        Tokens::default()
    };
    let now = now_unix();
    let access = tokens.access_token;
    stored.insert(
        auth_client::CachedToken::new(
            access.secret(),
            access.token_type(),
            access.expires_at_unix(),
            None,
            access.scopes().to_vec(),
        ),
        i.max_tokens,
        now,
    );
    let account = Account {
        claims: claims.raw(),
        signed_in_at: now,
        id_token: id_token.raw().to_owned(),
        refresh_token: tokens.refresh_token,
        scopes: entry.flow.scopes().to_vec(),
    };
    tracing::info!(oid = ?claims.object_id(), "auth-web: signed in");
    // A new session id at sign-in: an id planted before sign-in (session fixation) is worthless.
    // https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#renew-the-session-id-after-any-privilege-level-change
    let saved = async {
        session.cycle_id().await?;
        session.remove_value(REAUTH).await?;
        session.insert(ACCOUNT, &account).await?;
        session.insert(TOKENS, &stored).await
    };
    if let Err(err) = saved.await {
        return store_failed(err);
    }
    if let Err(err) = renew(&session).await {
        return err.into_response();
    }
    Redirect::to(&entry.return_to).into_response()
}

/// `GET /logout`: the sign-out button (a `POST` with the CSRF token).
async fn logout_page(Extension(auth): Extension<WebAuth>, session: Session) -> Response {
    let token = match session_token(&session).await {
        Ok(token) => token,
        Err(err) => return err.into_response(),
    };
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign out</title></head>\
         <body><main><h1>Sign out</h1><form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"{CSRF_FIELD}\" value=\"{token}\">\
         <button type=\"submit\">Sign out</button></form></main></body></html>",
        action = escape(auth.logout_path()),
        token = escape(&token),
    );
    let mut response = Html(html).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /logout`.
async fn logout(Extension(auth): Extension<WebAuth>, session: Session, body: Bytes) -> Response {
    let account: Option<Account> = match session.get(ACCOUNT).await {
        Ok(account) => account,
        Err(err) => return store_failed(err),
    };
    let Some(account) = account else {
        // Nobody signed in: nothing to protect, nothing to clear at the provider.
        let _ = session.flush().await;
        return Redirect::to(&auth.inner.after_sign_in).into_response();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let presented = fields
        .iter()
        .find(|(name, _)| name == CSRF_FIELD)
        .map(|(_, v)| v.as_str());
    if let Err(refused) = check(&session, presented).await {
        return refused.into_response();
    }
    if let Err(err) = session.flush().await {
        return store_failed(err);
    }
    tracing::info!("auth-web: signed out");
    match end_session_url(&auth, &account.id_token).await {
        Some(url) => Redirect::to(&url).into_response(),
        None => Redirect::to(&auth.inner.post_logout_redirect_uri).into_response(),
    }
}

/// The provider's sign-out URL: `end_session_endpoint` with `post_logout_redirect_uri`,
/// `client_id` and `id_token_hint` (OpenID Connect RP-Initiated Logout 1.0 §2,
/// <https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout>; Entra reads
/// `post_logout_redirect_uri`,
/// <https://learn.microsoft.com/en-us/entra/identity-platform/v2-protocols-oidc#send-a-sign-out-request>).
pub(crate) async fn end_session_url(auth: &WebAuth, id_token: &str) -> Option<String> {
    let i = &auth.inner;
    let endpoint = match &i.end_session {
        EndSession::LocalOnly => return None,
        EndSession::Url(url) => url.clone(),
        EndSession::Discover => i
            .end_session_found
            .get_or_try_init(|| discover_end_session(auth))
            .await
            .ok()?
            .clone()?,
    };
    let mut params = vec![
        (
            "post_logout_redirect_uri",
            i.post_logout_redirect_uri.as_str(),
        ),
        ("client_id", i.client.client_id()),
    ];
    if !id_token.is_empty() {
        params.push(("id_token_hint", id_token));
    }
    let query = serde_urlencoded::to_string(&params).ok()?;
    let sep = if endpoint.contains('?') { '&' } else { '?' };
    Some(format!("{endpoint}{sep}{query}"))
}

/// `end_session_endpoint` from the discovery document (Entra's v2.0 one first); `Ok(None)`
/// when the provider has none, `Err` (not remembered) when it could not be fetched.
async fn discover_end_session(auth: &WebAuth) -> Result<Option<String>, ()> {
    let authority = auth.client().authority().trim_end_matches('/');
    let candidates = [
        metadata_url(&format!("{authority}/v2.0")),
        metadata_url(authority),
    ];
    let mut reached = false;
    for url in candidates {
        let Ok(response) = auth.inner.http.get(&url).send().await else {
            continue;
        };
        if !response.status().is_success() {
            reached = true;
            continue;
        }
        let Ok(body) = response.bytes().await else {
            continue;
        };
        let Ok(doc) = ProviderMetadata::from_json(&body) else {
            continue;
        };
        reached = true;
        let endpoint = doc
            .end_session_endpoint
            .filter(|e| e.starts_with("https://") || e.starts_with("http://"));
        if let Some(endpoint) = endpoint {
            return Ok(Some(endpoint));
        }
    }
    if reached { Ok(None) } else { Err(()) }
}

#[derive(Debug, Deserialize)]
struct FrontChannelQuery {
    sid: Option<String>,
}

/// `GET {front-channel logout path}?sid=…`: Entra loads it (in an iframe) when the user signs
/// out elsewhere; this browser's session ends if it belongs to that sign-in session (`sid`).
async fn front_channel_logout(
    session: Session,
    Query(query): Query<FrontChannelQuery>,
) -> Response {
    let account: Option<Account> = session.get(ACCOUNT).await.ok().flatten();
    if let Some(account) = account {
        let own = account.claims.get("sid").and_then(|v| v.as_str());
        let matches = match (query.sid.as_deref(), own) {
            (Some(sid), Some(own)) => same_token(sid, own),
            (Some(_), None) => false,
            (None, _) => true,
        };
        if matches && let Err(err) = session.flush().await {
            return store_failed(err);
        }
    }
    let mut response = (StatusCode::OK, "Signed out").into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
