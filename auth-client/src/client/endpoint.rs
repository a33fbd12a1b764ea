//! The token endpoint: client authentication, the POST, one retry, and reading the answer.

use std::sync::Arc;
use std::time::Duration;

use auth_layer::Clock;
use tokio::sync::OnceCell;
use tracing::{debug, warn};

use super::flight::{Throttle, unix};
use super::request::{Grant, TokenResponse};
use super::stats::Counters;
use crate::credential::{ASSERTION_TYPE, AssertionAlgorithm, ClientCredential};
use crate::error::{Error, RequestContext, ServerError, Throttled};
use crate::metrics;
use crate::provider::{Endpoints, Provider};
use crate::random;
use crate::transport::{RawResponse, SendError, Transport};

/// How a client secret is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `client_id` and `client_secret` in the form body (`client_secret_post`; Entra's usual
    /// way). The default.
    #[default]
    SecretPost,
    /// HTTP Basic (`client_secret_basic`), both values form-urlencoded first (RFC 6749
    /// §2.3.1).
    SecretBasic,
}
/// How long a request is held back after a 429, or a 5xx that persisted through the retry,
/// without `Retry-After`: 60 seconds, MSAL's `HttpStatusProvider` default
/// (<https://github.com/AzureAD/microsoft-authentication-library-for-dotnet/blob/main/src/client/Microsoft.Identity.Client/OAuth2/Throttling/HttpStatusProvider.cs>).
pub const DEFAULT_THROTTLE: Duration = Duration::from_secs(60);

/// What to do with a response.
enum Classified {
    Token(TokenResponse),
    Fail(Error),
    Retry(Error),
}

/// Everything a token request needs: where to send it, how to authenticate, how to retry.
pub(super) struct TokenEndpoint {
    pub(super) authority: Provider,
    /// `{instance}/{tenant}` for Entra, the issuer otherwise: the authority in cache keys.
    pub(super) authority_key: String,
    pub(super) client_id: String,
    pub(super) credential: ClientCredential,
    pub(super) auth_method: ClientAuthMethod,
    /// Set by the builder; otherwise the credential's default (PS256 for certificates, from
    /// discovery for plain keys).
    pub(super) algorithm: Option<AssertionAlgorithm>,
    pub(super) send_chain: bool,
    pub(super) transport: Transport,
    pub(super) retry_delay: Duration,
    pub(super) clock: Arc<dyn Clock>,
    /// Set at build time for Entra; discovered on first use otherwise.
    pub(super) endpoints: OnceCell<Endpoints>,
    pub(super) throttle: Throttle,
    pub(super) counters: Counters,
}

impl TokenEndpoint {
    /// The context error messages name.
    pub(super) fn context(&self, grant: &'static str, scopes: &[String]) -> RequestContext {
        RequestContext {
            grant,
            client_id: self.client_id.clone(),
            scopes: scopes.to_vec(),
            entra: self.authority.is_entra(),
            redirect_uri: None,
        }
    }

    /// The endpoints: Entra's by convention, or the issuer's by discovery (once).
    pub(super) async fn endpoints(&self) -> Result<&Endpoints, Error> {
        self.endpoints
            .get_or_try_init(|| async {
                match &self.authority {
                    Provider::Oidc { issuer } => Provider::discover(issuer, &self.transport).await,
                    // Entra endpoints are set at build time; unreachable in practice.
                    entra => entra.entra_endpoints().ok_or(Error::Abandoned),
                }
            })
            .await
    }

    /// Sends one token request: client authentication built fresh for each attempt, one retry
    /// (jittered) for 5xx and connection failures, `Retry-After` remembered.
    pub(super) async fn request_token(
        &self,
        request: &Grant,
        throttle_key: &str,
    ) -> Result<TokenResponse, Error> {
        if let Some(err) = self.throttle.check(throttle_key, self.clock.now()) {
            Counters::bump(&self.counters.throttled);
            return Err(err);
        }
        let endpoints = self.endpoints().await?;
        let url = endpoints.token.as_str();
        let grant = request.name();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut form = request.params();
            let mut basic = None;
            let secret = self.credential.client_secret().await;
            match secret.as_deref() {
                Some(secret) if self.auth_method == ClientAuthMethod::SecretBasic => {
                    basic = Some((self.client_id.as_str(), secret));
                }
                Some(secret) => {
                    form.push(("client_id", self.client_id.clone()));
                    form.push(("client_secret", secret.to_owned()));
                }
                None => {
                    let now = self.clock.now().max(0.0) as u64;
                    let assertion = self
                        .credential
                        .assertion(
                            &self.client_id,
                            url,
                            now,
                            self.algorithm,
                            &endpoints.token_auth_signing_algs,
                            self.send_chain,
                        )
                        .await?
                        .ok_or_else(|| Error::Credential("no client assertion".to_owned()))?;
                    form.push(("client_id", self.client_id.clone()));
                    form.push(("client_assertion_type", ASSERTION_TYPE.to_owned()));
                    form.push(("client_assertion", assertion));
                }
            }
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let request_id = random::guid()?;
            debug!(grant, url, client_request_id = %request_id, attempt, "token request");
            Counters::bump(&self.counters.token_requests);
            let started = std::time::Instant::now();
            let outcome = self
                .transport
                .post_form(url, &pairs, basic, &request_id)
                .await;
            let outcome = outcome.map(|raw| self.classify(raw, url, request, throttle_key));
            metrics::token_request(
                grant,
                match &outcome {
                    Ok(Classified::Token(_)) => "ok",
                    Ok(Classified::Fail(error) | Classified::Retry(error))
                    | Err(SendError { error, .. }) => metrics::error_label(error),
                },
                started.elapsed(),
            );
            let retry = match outcome {
                Err(SendError { error, retryable }) if retryable && attempt == 1 => error,
                Err(SendError { error, .. }) => return Err(error),
                Ok(classified) => match classified {
                    Classified::Token(token) => {
                        debug!(grant, expires_in = token.expires_in, "token issued");
                        return Ok(token);
                    }
                    Classified::Fail(error) => {
                        debug!(grant, error = %error, "token request refused");
                        return Err(error);
                    }
                    Classified::Retry(error) if attempt == 1 => error,
                    Classified::Retry(error) => {
                        // A 5xx again after the retry, without Retry-After: hold this request
                        // back as MSAL does.
                        let until = self.clock.now() + DEFAULT_THROTTLE.as_secs_f64();
                        self.throttle.hold(throttle_key, until);
                        return Err(error);
                    }
                },
            };
            let delay = self.retry_delay.mul_f64(0.5 + random::fraction());
            debug!(grant, error = %retry, delay_ms = delay.as_millis() as u64, "retrying the token request once");
            tokio::time::sleep(delay).await;
        }
    }

    fn classify(
        &self,
        raw: RawResponse,
        url: &str,
        request: &Grant,
        throttle_key: &str,
    ) -> Classified {
        let status = raw.status;
        let json = raw.json();
        let server = || {
            json.as_ref().and_then(|body| {
                ServerError::from_json(
                    Some(status),
                    body,
                    RequestContext {
                        redirect_uri: request.redirect_uri().map(str::to_owned),
                        ..self.context(request.name(), request.scopes())
                    },
                )
            })
        };
        if (200..300).contains(&status) {
            let parsed = json
                .as_ref()
                .ok_or("the body is not a JSON object")
                .and_then(TokenResponse::parse);
            return match parsed {
                Ok(token) => Classified::Token(token),
                Err(reason) => Classified::Fail(Error::InvalidResponse {
                    url: url.to_owned(),
                    reason: reason.to_owned(),
                }),
            };
        }
        // MSAL's throttling: `Retry-After` on any error status is honoured for that request,
        // and a 429 without it holds the request back 60 s (MSAL.NET `RetryAfterProvider` and
        // `HttpStatusProvider`,
        // https://github.com/AzureAD/microsoft-authentication-library-for-dotnet/tree/main/src/client/Microsoft.Identity.Client/OAuth2/Throttling).
        if status == 429 || raw.retry_after.is_some() {
            let now = self.clock.now();
            let wait = raw.retry_after.unwrap_or(DEFAULT_THROTTLE);
            let until = now + wait.as_secs_f64();
            self.throttle.hold(throttle_key, until);
            warn!(
                grant = request.name(),
                status,
                retry_after_secs = raw.retry_after.map(|d| d.as_secs()),
                "the token endpoint is throttling"
            );
            return Classified::Fail(Error::Throttled(Box::new(Throttled {
                status: Some(status),
                retry_after: Some(wait),
                until: Some(unix(until)),
                server: server(),
            })));
        }
        let error = match server() {
            Some(server) => Error::Server(Box::new(server)),
            None => Error::Http {
                url: url.to_owned(),
                status,
            },
        };
        if status >= 500 {
            Classified::Retry(error)
        } else {
            Classified::Fail(error)
        }
    }
}
