//! `s2s-example-consumer`: a daemon. It gets an app-only token with its client credentials
//! (scope `api://s2s-example-api/.default`: the app roles an administrator granted it) and
//! uploads a file to `s2s-example-api`, once or every `INTERVAL_SECS`.

use std::fmt;
use std::time::Duration;

use auth_client::ConfidentialClient;
use http::header::{AUTHORIZATION, CONTENT_TYPE};

use crate::config::{ClientConfig, ConfigError, Vars};
use crate::trace::{Trace, excerpt};

/// The daemon's name (and the emulator's app registration).
pub const NAME: &str = "s2s-example-consumer";

/// The settings of `s2s-example-consumer`.
#[derive(Clone, Debug)]
pub struct Config {
    /// The name it goes by in logs and traces (default `s2s-example-consumer`).
    pub name: String,
    /// This daemon's registration: `AZURE_*`.
    pub client: ClientConfig,
    /// `S2S_API_URL` (default `http://127.0.0.1:4000`).
    pub api_url: String,
    /// `S2S_API_SCOPE` (default `api://s2s-example-api/.default`; under `OIDC_ISSUER` the
    /// provider's permission names, e.g. `files.write`).
    pub api_scope: String,
    /// `INTERVAL_SECS`: upload every that many seconds; unset: once.
    pub interval: Option<Duration>,
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
            name: NAME.to_owned(),
            // `S2S_API_RESOURCE`: the API's RFC 8707 resource indicator (OIDC_ISSUER only).
            client: ClientConfig::from_vars(vars)?.resource_from(vars, "S2S_API_RESOURCE")?,
            api_url: vars.url("S2S_API_URL", "http://127.0.0.1:4000")?,
            api_scope: vars.or("S2S_API_SCOPE", "api://s2s-example-api/.default"),
            interval: vars.seconds("INTERVAL_SECS")?,
            trace: Trace::off(),
        })
    }
}

/// What the API answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    /// The HTTP status.
    pub status: u16,
    /// The body (e.g. `File uploaded successfully by Service: …`).
    pub body: String,
    /// The `WWW-Authenticate` challenge of a refusal.
    pub challenge: Option<String>,
}

impl Upload {
    /// A 2xx answer.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a run failed before the API answered.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConsumerError {
    /// No token: the identity provider refused or could not be reached.
    Token(auth_client::Error),
    /// The API could not be reached.
    Http(reqwest::Error),
    /// The configuration is unusable.
    Config(ConfigError),
}

impl fmt::Display for ConsumerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsumerError::Token(e) => write!(f, "no token: {e}"),
            ConsumerError::Http(e) => write!(f, "the API could not be reached: {e}"),
            ConsumerError::Config(e) => write!(f, "configuration: {e}"),
        }
    }
}

impl std::error::Error for ConsumerError {}

/// The daemon: one token client (its cache serves the token until shortly before it expires).
#[derive(Clone, Debug)]
pub struct Consumer {
    name: String,
    client: ConfidentialClient,
    http: reqwest::Client,
    upload_url: String,
    scope: String,
    trace: Trace,
}

impl Consumer {
    /// Builds the token client (no I/O).
    pub fn new(config: &Config) -> Result<Self, ConfigError> {
        Ok(Consumer {
            name: config.name.clone(),
            client: config.client.client()?,
            http: config.client.http.client()?,
            upload_url: format!("{}/upload", config.api_url),
            scope: config.api_scope.clone(),
            trace: config.trace.clone(),
        })
    }

    /// Gets a token (client credentials, cached) and uploads one file.
    pub async fn run_once(&self) -> Result<Upload, ConsumerError> {
        let before = self.client.stats().token_requests;
        let hop = self.trace.call(
            &self.name,
            "Entra token endpoint",
            format!("client_credentials ({})", self.scope),
            None,
        );
        let token = match self.client.acquire_token_for_client(&[&self.scope]).await {
            Ok(token) => token,
            Err(err) => {
                hop.finish(format!("refused: {}", err.summary()));
                tracing::error!(app = %self.name, error = %err, "no token");
                return Err(ConsumerError::Token(err));
            }
        };
        let cached = self.client.stats().token_requests == before;
        hop.finish_with(
            if cached {
                "app token (from the cache)"
            } else {
                "app token"
            },
            Some(token.secret()),
        );
        let hop = self.trace.call(
            &self.name,
            &self.upload_url,
            "POST /upload",
            Some(token.secret()),
        );
        let sent = self
            .http
            .post(&self.upload_url)
            .header(AUTHORIZATION, token.authorization_header())
            .header(CONTENT_TYPE, "text/csv")
            .body("date,amount\n2025-01-01,42\n")
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => {
                hop.finish(format!("failed: {err}"));
                tracing::error!(app = %self.name, error = %err, "upload failed");
                return Err(ConsumerError::Http(err));
            }
        };
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get(http::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.unwrap_or_default();
        match &challenge {
            Some(challenge) => {
                hop.finish(format!("{status}, WWW-Authenticate: {challenge}"));
                tracing::warn!(app = %self.name, status, challenge = %challenge, "upload refused");
            }
            None => hop.finish(format!("{status} {}", excerpt(&body))),
        }
        tracing::info!(app = %self.name, status, answer = %excerpt(&body), "upload");
        Ok(Upload {
            status,
            body,
            challenge,
        })
    }
}

/// One run with a fresh client.
pub async fn run_once(config: &Config) -> Result<Upload, ConsumerError> {
    Consumer::new(config)
        .map_err(ConsumerError::Config)?
        .run_once()
        .await
}
