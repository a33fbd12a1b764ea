//! One log line per request of a resource API: status, token kind, client, reason. Never the
//! token.
//!
//! The middleware validates the bearer token once with the service's
//! [`Authenticator`] and puts the
//! [`Principal`] into the request's extensions, where the route's
//! `RequireScope` / `RequireRole` layer and the handler's extractors reuse it (the token is not
//! validated again). An invalid token is refused here, with auth-layer's RFC 6750 response; the
//! log line then carries the validator's operator-facing reason, which never contains token
//! content — except, for an audience refusal, the token's `aud` (not secret: it names the API
//! the caller asked a token for), which says whether the caller or this service is
//! misconfigured.

use auth_layer::{AuthError, Authenticator, Principal, TokenKind, ValidationError, bearer_token};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine as _;
use http::header::WWW_AUTHENTICATE;

use crate::ops::Health;
use crate::trace::{Event, Trace};

/// The middleware's state: which service, its authenticator, and an optional [`Trace`].
#[derive(Clone, Debug)]
pub struct AccessLog {
    service: &'static str,
    auth: Authenticator,
    trace: Trace,
}

impl AccessLog {
    /// The access log of `service`.
    pub fn new(service: &'static str, auth: Authenticator, trace: Trace) -> Self {
        AccessLog {
            service,
            auth,
            trace,
        }
    }

    /// Adds the middleware to `router` (outermost, so it sees every request), and the
    /// operator routes `/healthz`, `/readyz` (ready once the signing keys are loaded) and
    /// `/metrics` outside it (see [`ops`](crate::ops)).
    pub fn wrap<S: Clone + Send + Sync + 'static>(
        self,
        router: axum::Router<S>,
    ) -> axum::Router<S> {
        let health = Health::new().signing_keys(&self.auth);
        router
            .layer(axum::middleware::from_fn_with_state(self, access_log))
            .merge(health.routes())
    }
}

/// The outcome of one request, as logged.
struct Outcome {
    kind: &'static str,
    client: String,
    reason: Option<String>,
}

async fn access_log(State(log): State<AccessLog>, mut request: Request, next: Next) -> Response {
    let what = format!("{} {}", request.method(), request.uri().path());
    let mut outcome = Outcome {
        kind: "-",
        client: "-".to_owned(),
        reason: None,
    };
    // Copy the token out of the headers (the request is mutated below); it is only validated.
    let token = bearer_token(request.headers(), request.uri()).map(str::to_owned);
    match token {
        Ok(token) => match log.auth.authenticate(&token).await {
            Ok(principal) => {
                outcome.kind = kind_name(&principal);
                outcome.client = principal.client_id().unwrap_or("-").to_owned();
                request.extensions_mut().insert(principal);
            }
            Err(err) => {
                outcome.reason = Some(match &err {
                    // A wrong client id or scope: the token's aud beside the accepted ones, so
                    // the operator sees which side to fix.
                    ValidationError::AudienceMismatch { .. } => {
                        format!("{err} (the token's aud: {:?})", token_audiences(&token))
                    }
                    _ => err.to_string(),
                });
                let response = AuthError::InvalidToken(err)
                    .to_response::<axum::body::Body>(log.auth.challenge(), false);
                log.record(&what, &response, outcome);
                return response;
            }
        },
        // No or malformed credentials: the route's layer answers (401 / 400), or the route is
        // public.
        Err(err) => outcome.reason = Some(err.description().to_owned()),
    }
    let response = next.run(request).await;
    if response.status().is_success() {
        outcome.reason = None;
    } else if let Some(description) = error_description(&response) {
        outcome.reason = Some(description);
    } else if outcome.reason.is_none() || response.status() != 401 {
        outcome.reason = response
            .status()
            .canonical_reason()
            .map(str::to_owned)
            .or(outcome.reason);
    }
    log.record(&what, &response, outcome);
    response
}

impl AccessLog {
    fn record(&self, what: &str, response: &Response, outcome: Outcome) {
        let status = response.status().as_u16();
        let reason = outcome.reason.as_deref().unwrap_or("-");
        metrics::counter!(
            "http_requests_total",
            "service" => self.service,
            "status" => status.to_string(),
        )
        .increment(1);
        tracing::info!(
            service = self.service,
            request = what,
            status,
            kind = outcome.kind,
            client = %outcome.client,
            reason,
            "request"
        );
        self.trace.served(Event::Served {
            service: self.service.to_owned(),
            request: what.to_owned(),
            status,
            kind: outcome.kind.to_owned(),
            client: outcome.client,
            reason: reason.to_owned(),
        });
    }
}

/// At most this many `aud` values, each cut to [`MAX_AUDIENCE_LEN`] characters, are logged.
const MAX_AUDIENCES: usize = 5;
const MAX_AUDIENCE_LEN: usize = 200;

/// The `aud` values of a token the validator refused for its audience. The validator checks
/// `aud` only after the signature verified, so these are the identity provider's values, not an
/// attacker's; they are bounded, and logged `Debug`-formatted (control characters escaped).
fn token_audiences(token: &str) -> Vec<String> {
    let Some(claims) = token
        .split('.')
        .nth(1)
        .and_then(|payload| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<serde_json::Value>(&json).ok())
    else {
        return Vec::new();
    };
    let values: Vec<&str> = match claims.get("aud") {
        Some(serde_json::Value::String(aud)) => vec![aud.as_str()],
        Some(serde_json::Value::Array(auds)) => {
            auds.iter().filter_map(serde_json::Value::as_str).collect()
        }
        _ => Vec::new(),
    };
    values
        .into_iter()
        .take(MAX_AUDIENCES)
        .map(|aud| aud.chars().take(MAX_AUDIENCE_LEN).collect())
        .collect()
}

fn kind_name(principal: &Principal) -> &'static str {
    match principal.kind() {
        TokenKind::Delegated => "delegated",
        TokenKind::App => "app",
    }
}

/// The `error_description` of a `WWW-Authenticate: Bearer …` challenge (a fixed, safe text).
fn error_description(response: &Response) -> Option<String> {
    let value = response.headers().get(WWW_AUTHENTICATE)?.to_str().ok()?;
    let start = value.find("error_description=\"")? + "error_description=\"".len();
    let rest = &value[start..];
    let end = rest.find('"')?;
    Some(rest[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(payload: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(payload))
    }

    #[test]
    fn audiences_are_read_bounded() {
        assert_eq!(
            token_audiences(&token(r#"{"aud":"api://shared-documents"}"#)),
            ["api://shared-documents"]
        );
        let many = format!(
            r#"{{"aud":["a","b","c","d","e","f","{}"]}}"#,
            "x".repeat(500)
        );
        let auds = token_audiences(&token(&many));
        assert_eq!(auds.len(), MAX_AUDIENCES);
        let long = format!(r#"{{"aud":"{}"}}"#, "y".repeat(500));
        assert_eq!(token_audiences(&token(&long))[0].len(), MAX_AUDIENCE_LEN);
        assert!(token_audiences("not a token").is_empty());
    }
}
