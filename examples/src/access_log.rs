//! One log line per request of a resource API: status, token kind, client, reason. Never the
//! token.
//!
//! The middleware validates the bearer token once with the service's
//! [`Authenticator`] and puts the
//! [`Principal`] into the request's extensions, where the route's
//! `RequireScope` / `RequireRole` layer and the handler's extractors reuse it (the token is not
//! validated again). An invalid token is refused here, with auth-layer's RFC 6750 response; the
//! log line then carries the validator's operator-facing reason, which never contains token
//! content.

use auth_layer::{AuthError, Authenticator, Principal, TokenKind, bearer_token};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
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
                outcome.reason = Some(err.to_string());
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
