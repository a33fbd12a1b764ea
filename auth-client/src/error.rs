//! Why a token could not be acquired, and why a client could not be configured.

use std::fmt;
use std::time::{Duration, SystemTime};

use auth_layer::ValidationError;
use auth_layer::jwks::JwksError;

use crate::claims_challenge::ClaimsChallenge;

/// Why a [`ConfidentialClientBuilder`](crate::ConfidentialClientBuilder) (or
/// [`ConfidentialClient::from_env`](crate::ConfidentialClient::from_env)) refused its
/// configuration. Reported once, by `build()`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An environment variable that [`from_env`](crate::ConfidentialClient::from_env) needs is
    /// not set.
    #[error("the environment variable {0} is not set")]
    MissingVariable(&'static str),
    /// No authority: set `authority(...)`, `instance(...)` + `tenant_id(...)`, or
    /// `issuer(...)`.
    #[error(
        "no authority: set authority(\"https://login.microsoftonline.com/<tenant-id>\"), \
         instance(...) + tenant_id(...), or issuer(...)"
    )]
    NoAuthority,
    /// No client id.
    #[error("no client id: set client_id(...) to the app registration's Application (client) ID")]
    NoClientId,
    /// No credential: a confidential client needs a secret, a certificate or a federated
    /// credential.
    #[error(
        "no client credential: set client_secret(...), certificate_pem(...)/certificate_file(...), \
         federated_token_file(...) or client_assertion(...)"
    )]
    NoCredential,
    /// A URL cannot be used (only https, or http to a loopback host).
    #[error("{url:?} cannot be used: {reason}")]
    InvalidUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An Entra authority on a host that is not one of Microsoft's cloud hosts (public, US
    /// Government, China, and their aliases), not loopback, and not trusted with
    /// [`trust_authority_host`](crate::ConfidentialClientBuilder::trust_authority_host).
    #[error(
        "{0:?} is not a Microsoft Entra cloud host (login.microsoftonline.com, \
         login.microsoftonline.us, login.partner.microsoftonline.cn or an alias): use \
         issuer(...) for another OpenID Connect provider, or trust_authority_host({0:?}) if it \
         really fronts Entra"
    )]
    UnknownAuthorityHost(String),
    /// The tenant is not a tenant id, domain name, `common`, `organizations` or `consumers`.
    #[error("{0:?} is not a tenant id or tenant domain name")]
    InvalidTenant(String),
    /// The certificate or its private key cannot be used.
    #[error("the client certificate cannot be used: {0}")]
    Certificate(String),
    /// The client secret file cannot be read or holds no usable secret
    /// ([`ClientCredential::secret_file`](crate::ClientCredential::secret_file)).
    #[error("the client secret file cannot be used: {0}")]
    SecretFile(String),
    /// A setting is invalid or two settings contradict each other.
    #[error("invalid configuration: {0}")]
    Config(&'static str),
    /// The default HTTP client could not be built.
    #[error("the HTTP client could not be built: {0}")]
    HttpClient(String),
    /// The ID-token validator could not be configured.
    #[error("the ID-token validator could not be configured: {0}")]
    Validator(#[from] auth_layer::BuildError),
}

/// Why a token could not be acquired.
///
/// Every message says what happened and what to check; none contains a token, a secret or a
/// code. Entra's error responses are kept whole in [`ServerError`] (reach it with
/// [`server_error`](Self::server_error)), and the predicates answer the questions callers
/// branch on:
///
/// ```
/// use auth_client::{ConfidentialClient, Error};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let idp = auth_testkit::Emulator::start().await;
/// let client = ConfidentialClient::builder()
///     .authority(idp.authority())
///     .client_id(idp.app("s2s-example-consumer").client_id())
///     .client_secret("not-the-secret")
///     .build()?;
///
/// let err: Error = client
///     .acquire_token_for_client(&["api://s2s-example-api/.default"])
///     .await
///     .unwrap_err();
/// assert!(err.is_invalid_client());
/// assert_eq!(err.aadsts_codes(), [7000215]);
/// assert!(err.to_string().contains("not its Secret ID"));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The identity provider answered with an OAuth 2.0 error (token endpoint), or the
    /// authorization redirect carried one.
    #[error("{0}")]
    Server(Box<ServerError>),
    /// The identity provider is throttling (HTTP 429 or 503 with `Retry-After`), or an
    /// identical request was throttled and its `Retry-After` time has not passed: then nothing
    /// was sent.
    #[error("{0}")]
    Throttled(Box<Throttled>),
    /// An HTTP error status without an OAuth error body.
    #[error(
        "POST {url} answered HTTP {status} without an OAuth error body; check the authority URL \
         and the identity provider's status"
    )]
    Http {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// Connecting, TLS, or reading the response failed (after one retry).
    #[error(
        "{url} could not be reached: {message}; check DNS, egress rules, proxy settings and TLS trust"
    )]
    Transport {
        /// The URL requested.
        url: String,
        /// The error and its causes.
        message: String,
    },
    /// No complete response within the timeout.
    #[error(
        "{url} did not answer within {timeout:?}; the identity provider is slow or unreachable \
         (see ConfidentialClientBuilder::timeout)"
    )]
    Timeout {
        /// The URL requested.
        url: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// A success response that is not a usable token response (or discovery document).
    #[error("{url} answered with an unusable response: {reason}")]
    InvalidResponse {
        /// The URL requested.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// OpenID Connect discovery failed (non-Entra authorities).
    #[error("OpenID Connect discovery from {url} failed: {reason}")]
    Discovery {
        /// The metadata URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The client credential could not be produced: the federated token file could not be
    /// read, the assertion callback failed, or signing failed.
    #[error("the client credential could not be produced: {0}")]
    Credential(String),
    /// The authorization response's `state` is not the session's.
    #[error(
        "the authorization response's state does not match the session's: it is not the answer \
         to this session's sign-in (a forged or stale callback); start the sign-in again"
    )]
    StateMismatch,
    /// The authorization response's RFC 9207 `iss` is missing (the provider advertises
    /// `authorization_response_iss_parameter_supported`) or names another issuer: it may come
    /// from another authorization server (a mix-up attack). Refused before any request.
    #[error(
        "the authorization response's iss is missing or names another issuer (RFC 9207): it \
         may come from another authorization server; start the sign-in again"
    )]
    IssuerMismatch,
    /// The authorization response has neither a code nor an error.
    #[error("the authorization response has no code")]
    MissingCode,
    /// `openid` was requested but the token response has no ID token.
    #[error("the token response has no ID token although openid was requested")]
    MissingIdToken,
    /// The ID token failed validation (signature, issuer, audience = client id, lifetime).
    #[error("the ID token is not valid: {0}")]
    IdToken(ValidationError),
    /// The ID token's `nonce` is not the session's.
    #[error(
        "the ID token's nonce does not match the session's: the token was not issued for this \
         sign-in (a replayed or injected token); start the sign-in again"
    )]
    NonceMismatch,
    /// The signing keys for ID-token validation could not be loaded.
    #[error("the ID token's signing keys are unavailable: {0}")]
    Keys(JwksError),
    /// The request itself is invalid (e.g. no scopes).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// The in-flight request this call waited for was abandoned (the runtime is shutting down).
    #[error("the token request was abandoned: the Tokio runtime is shutting down")]
    Abandoned,
}

impl Error {
    /// The OAuth error response, if the identity provider sent one (also for throttling
    /// responses with an OAuth body).
    pub fn server_error(&self) -> Option<&ServerError> {
        match self {
            Error::Server(e) => Some(e),
            Error::Throttled(t) => t.server.as_ref(),
            _ => None,
        }
    }

    /// The AADSTS codes of Entra's `error_codes` (or found in the description); empty
    /// otherwise.
    pub fn aadsts_codes(&self) -> &[u32] {
        self.server_error().map_or(&[], ServerError::aadsts_codes)
    }

    /// `invalid_client`: the client credential was refused (wrong or expired secret, unknown
    /// certificate, bad assertion), or AADSTS 7000215 / 7000218 / 7000222 / 700027 / 700024.
    pub fn is_invalid_client(&self) -> bool {
        self.server_error()
            .is_some_and(ServerError::is_invalid_client)
    }

    /// Consent is missing (AADSTS65001, `consent_required`).
    pub fn is_consent_required(&self) -> bool {
        self.server_error()
            .is_some_and(ServerError::is_consent_required)
    }

    /// The user must interact (`interaction_required`, `login_required`, `consent_required`,
    /// MFA or Conditional Access step-up, suberrors `basic_action`, `additional_action`,
    /// `message_only`, `user_password_expired`, `consent_required`). For On-Behalf-Of, pass
    /// [`claims_challenge`](Self::claims_challenge) back to the client.
    pub fn is_interaction_required(&self) -> bool {
        self.server_error()
            .is_some_and(ServerError::is_interaction_required)
    }

    /// `invalid_grant`: the code, refresh token or user assertion was refused.
    pub fn is_invalid_grant(&self) -> bool {
        self.server_error()
            .is_some_and(ServerError::is_invalid_grant)
    }

    /// The user's token presented for On-Behalf-Of (or RFC 8693 token exchange) is no good:
    /// expired, addressed to another app, badly signed or malformed. The caller must get a new
    /// token for this API and retry: [`OnBehalfOf`](crate::OnBehalfOf) answers 401
    /// `invalid_token`.
    ///
    /// Entra: AADSTS50013 (assertion invalid, e.g. bad signature), AADSTS500131 (assertion
    /// audience is another app), AADSTS500133 (assertion not within its valid time range, i.e.
    /// expired), AADSTS50027 (invalid or malformed JWT) —
    /// <https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes>.
    /// Other providers, for a token exchange: `invalid_request` (RFC 8693 §2.2.2 names it for
    /// an invalid `subject_token`) and `invalid_token` (Keycloak's answer).
    pub fn is_invalid_user_assertion(&self) -> bool {
        self.server_error()
            .is_some_and(ServerError::is_invalid_user_assertion)
    }

    /// `invalid_target` (RFC 8707 / RFC 8693): the requested `resource` or `audience` is
    /// unknown or not allowed for this client; Entra's equivalent is AADSTS500011 (resource
    /// not found in the tenant).
    pub fn is_invalid_target(&self) -> bool {
        self.server_error()
            .is_some_and(ServerError::is_invalid_target)
    }

    /// Throttled (HTTP 429, or 503 with `Retry-After`), now or by an earlier identical request.
    pub fn is_throttled(&self) -> bool {
        matches!(self, Error::Throttled(_))
    }

    /// When to retry, for throttling errors that said (`Retry-After`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Throttled(t) => t.retry_after,
            _ => None,
        }
    }

    /// Entra's `claims` challenge (Conditional Access), if the response carried one.
    pub fn claims(&self) -> Option<&str> {
        self.server_error().and_then(ServerError::claims)
    }

    /// The challenge a middle tier returns to its client when On-Behalf-Of needs the user to
    /// satisfy a Conditional Access policy: present for `interaction_required` errors that
    /// carry `claims`.
    pub fn claims_challenge(&self) -> Option<ClaimsChallenge> {
        let server = self.server_error()?;
        if !server.is_interaction_required() {
            return None;
        }
        server.claims().map(ClaimsChallenge::new)
    }

    /// Entra's `correlation_id`, for support cases.
    pub fn correlation_id(&self) -> Option<&str> {
        self.server_error().and_then(ServerError::correlation_id)
    }

    /// Whether retrying later might succeed without any change: throttling, transport errors,
    /// timeouts, 5xx, `temporarily_unavailable`.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Throttled(_) | Error::Transport { .. } | Error::Timeout { .. } => true,
            Error::Http { status, .. } => *status >= 500,
            Error::Server(e) => {
                e.status.is_some_and(|s| s >= 500) || e.error == "temporarily_unavailable"
            }
            _ => false,
        }
    }
}

/// A throttling answer (HTTP 429, or 503 with `Retry-After`), or a request not sent because an
/// identical one was throttled and its time has not come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Throttled {
    pub(crate) status: Option<u16>,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) until: Option<SystemTime>,
    pub(crate) server: Option<ServerError>,
}

impl Throttled {
    /// The HTTP status (429 or 503); `None` when the request was not sent.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Whether this request reached the identity provider (`false`: refused locally because an
    /// identical request is still throttled).
    pub fn was_sent(&self) -> bool {
        self.status.is_some()
    }

    /// How long to wait, when the server said (`Retry-After`, capped at one hour).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The time before which no identical request is sent.
    pub fn until(&self) -> Option<SystemTime> {
        self.until
    }

    /// The OAuth error body, when the throttling response had one.
    pub fn server_error(&self) -> Option<&ServerError> {
        self.server.as_ref()
    }
}

impl fmt::Display for Throttled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(
                f,
                "the identity provider is throttling token requests (HTTP {status})"
            )?,
            None => f.write_str(
                "an identical token request was throttled by the identity provider; this one \
                 was not sent",
            )?,
        }
        match self.retry_after {
            Some(after) => write!(
                f,
                "; retry in {}s (no identical request is sent before then)",
                after.as_secs_f64().ceil()
            )?,
            None => f.write_str("; retry later")?,
        }
        f.write_str(
            "; cache tokens and avoid request loops (this client caches and coalesces identical \
             requests)",
        )
    }
}

/// What the client was doing when the identity provider refused, to make messages actionable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RequestContext {
    pub(crate) grant: &'static str,
    pub(crate) client_id: String,
    pub(crate) scopes: Vec<String>,
    /// Whether the authority is Microsoft Entra ID: Entra's AADSTS hints apply only then.
    pub(crate) entra: bool,
    /// The redirect URI a code redemption sent (not secret): AADSTS50011's fix names it.
    pub(crate) redirect_uri: Option<String>,
}

/// An OAuth 2.0 error response, with Microsoft Entra ID's extensions: AADSTS `error_codes`,
/// `suberror`, `claims`, `correlation_id`, `trace_id`, `timestamp`.
///
/// Its `Display` says what happened and what to check, for an operator:
///
/// ```text
/// client_credentials token request of app 6179f616-… refused: invalid_grant/consent_required
/// (AADSTS65001): The user or administrator has not consented … Grant admin consent for
/// api://s2s-example-api/.default to app 6179f616-… (Entra admin center > App registrations >
/// API permissions > Grant admin consent), or let the user consent by signing in.
/// [correlation id …]
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    pub(crate) status: Option<u16>,
    pub(crate) error: String,
    pub(crate) description: Option<String>,
    pub(crate) codes: Vec<u32>,
    pub(crate) suberror: Option<String>,
    pub(crate) claims: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) trace_id: Option<String>,
    pub(crate) timestamp: Option<String>,
    pub(crate) error_uri: Option<String>,
    pub(crate) context: RequestContext,
}

impl ServerError {
    /// Reads an OAuth error body; `None` when it has no `error` member.
    pub(crate) fn from_json(
        status: Option<u16>,
        body: &serde_json::Value,
        context: RequestContext,
    ) -> Option<ServerError> {
        let text = |name: &str| {
            body.get(name)
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let error = text("error")?;
        let description = text("error_description");
        let mut codes: Vec<u32> = body
            .get("error_codes")
            .and_then(serde_json::Value::as_array)
            .map(|codes| {
                codes
                    .iter()
                    .filter_map(|c| c.as_u64().and_then(|c| u32::try_from(c).ok()))
                    .collect()
            })
            .unwrap_or_default();
        if codes.is_empty() {
            codes = description.as_deref().map(codes_in).unwrap_or_default();
        }
        Some(ServerError {
            status,
            error,
            description,
            codes,
            suberror: text("suberror"),
            claims: text("claims"),
            correlation_id: text("correlation_id"),
            trace_id: text("trace_id"),
            timestamp: text("timestamp"),
            error_uri: text("error_uri"),
            context,
        })
    }

    /// The HTTP status; `None` for an error from the authorization redirect.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The OAuth `error` code, e.g. `invalid_grant`.
    pub fn error(&self) -> &str {
        &self.error
    }

    /// `error_description` as sent (Entra's holds `AADSTSnnnnn: …`, trace and correlation ids).
    pub fn error_description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The AADSTS codes (`error_codes`, or those found in the description).
    pub fn aadsts_codes(&self) -> &[u32] {
        &self.codes
    }

    /// Entra's `suberror`, e.g. `consent_required`, `basic_action`.
    pub fn suberror(&self) -> Option<&str> {
        self.suberror.as_deref()
    }

    /// Entra's `claims` challenge (a JSON document), for Conditional Access.
    pub fn claims(&self) -> Option<&str> {
        self.claims.as_deref()
    }

    /// Entra's `correlation_id` (this client sends a fresh `client-request-id` per request,
    /// which Entra echoes).
    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }

    /// Entra's `trace_id`.
    pub fn trace_id(&self) -> Option<&str> {
        self.trace_id.as_deref()
    }

    /// Entra's `timestamp`.
    pub fn timestamp(&self) -> Option<&str> {
        self.timestamp.as_deref()
    }

    /// `error_uri`, if sent.
    pub fn error_uri(&self) -> Option<&str> {
        self.error_uri.as_deref()
    }

    fn has_code(&self, codes: &[u32]) -> bool {
        self.codes.iter().any(|c| codes.contains(c))
    }

    /// See [`Error::is_invalid_client`].
    pub fn is_invalid_client(&self) -> bool {
        self.error == "invalid_client"
            || self.has_code(&[7000215, 7000218, 7000222, 700027, 700024])
    }

    /// See [`Error::is_consent_required`].
    pub fn is_consent_required(&self) -> bool {
        self.error == "consent_required"
            || self.suberror.as_deref() == Some("consent_required")
            || self.has_code(&[65001])
    }

    /// See [`Error::is_interaction_required`].
    pub fn is_interaction_required(&self) -> bool {
        matches!(
            self.error.as_str(),
            "interaction_required" | "login_required" | "consent_required"
        ) || matches!(
            self.suberror.as_deref(),
            Some(
                "basic_action"
                    | "additional_action"
                    | "message_only"
                    | "user_password_expired"
                    | "consent_required"
            )
        ) || self.has_code(&[50076, 50079, 50158, 65001])
    }

    /// See [`Error::is_invalid_grant`].
    pub fn is_invalid_grant(&self) -> bool {
        self.error == "invalid_grant"
    }

    /// See [`Error::is_invalid_user_assertion`].
    pub fn is_invalid_user_assertion(&self) -> bool {
        if self.context.entra {
            return self.has_code(&INVALID_USER_ASSERTION);
        }
        self.context.grant == TOKEN_EXCHANGE
            && matches!(self.error.as_str(), "invalid_request" | "invalid_token")
    }

    /// See [`Error::is_invalid_target`].
    pub fn is_invalid_target(&self) -> bool {
        self.error == "invalid_target" || (self.context.entra && self.has_code(&[500011]))
    }

    /// The first line of the description without the `AADSTSnnnnn: ` prefix.
    fn summary(&self) -> Option<&str> {
        let first = self.description.as_deref()?.lines().next()?.trim();
        let rest = first
            .strip_prefix("AADSTS")
            .and_then(|r| r.split_once(": ").map(|(_, m)| m))
            .unwrap_or(first);
        (!rest.is_empty()).then_some(rest)
    }

    /// What to check, for an operator.
    fn hint(&self) -> Option<String> {
        let client = &self.context.client_id;
        let scopes = self.context.scopes.join(" ");
        // AADSTS codes mean something only from Entra.
        let codes: &[u32] = if self.context.entra { &self.codes } else { &[] };
        let code_hint = codes.iter().find_map(|code| {
            Some(match code {
                65001 => format!(
                    "Grant admin consent for {scopes} to app {client} (Entra admin center > App \
                     registrations > API permissions > Grant admin consent), or let the user \
                     consent by signing in"
                ),
                7000215 => "The client secret is wrong: use the secret's Value, not its Secret \
                            ID, and check that it has not expired"
                    .to_owned(),
                7000222 => "The client secret has expired: create a new one in Certificates & \
                            secrets"
                    .to_owned(),
                7000218 => "No client credential was sent: configure a secret, a certificate or \
                            a federated credential"
                    .to_owned(),
                700027 => format!(
                    "The client assertion was refused: check that the certificate is uploaded \
                     to app {client} (Certificates & secrets), that the private key belongs to \
                     it, and for federated credentials that the federated identity credential \
                     (issuer, subject, audience) matches the token"
                ),
                700024 => "The client assertion is outside its validity period: check this \
                           machine's clock (NTP)"
                    .to_owned(),
                700016 => format!(
                    "App {client} was not found in the tenant: check the client id and tenant \
                     id (AZURE_CLIENT_ID, AZURE_TENANT_ID)"
                ),
                90002 => "The tenant was not found: check the tenant id and the authority host \
                          (AZURE_TENANT_ID, AZURE_AUTHORITY_HOST)"
                    .to_owned(),
                50013 | 50027 => format!(
                    "On-Behalf-Of needs the user's access token addressed to this API (aud = \
                     {client} or its App ID URI), unexpired, and delegated (not an ID token or \
                     an app-only token): the caller must get a new token"
                ),
                500131 => format!(
                    "The user's token is addressed to another app: On-Behalf-Of needs a token \
                     whose aud is app {client} (its client id or App ID URI); the caller must \
                     request a token for this API"
                ),
                500133 => "The user's token has expired (or is not yet valid): the caller must \
                           get a new token and retry"
                    .to_owned(),
                50076 | 50079 | 50158 => "A Conditional Access policy (e.g. MFA) needs the \
                                         user: pass the claims challenge back to the client so \
                                         that it signs the user in again"
                    .to_owned(),
                53003 => "Conditional Access blocked the request: check the sign-in logs for \
                          the policy"
                    .to_owned(),
                1002012 => "Client credentials needs exactly one scope of the form \
                            {resource}/.default, e.g. api://my-api/.default"
                    .to_owned(),
                70011 => format!(
                    "Check that the resource exposes {scopes} (App ID URI and scope names); \
                     .default cannot be mixed with named scopes"
                ),
                28000 => "Request the scopes of one resource per token".to_owned(),
                500011 => "The resource was not found in the tenant: check the downstream API's \
                           App ID URI, and that its service principal exists in this tenant"
                    .to_owned(),
                70008 | 54005 => "The authorization code is expired or was already redeemed: \
                                  start the sign-in again"
                    .to_owned(),
                501481 => "The PKCE code verifier does not match: redeem the code with the \
                           session that started this sign-in"
                    .to_owned(),
                // https://learn.microsoft.com/en-us/troubleshoot/entra/entra-id/app-integration/error-code-aadsts50011-redirect-uri-mismatch
                50011 => {
                    let uri = self
                        .context
                        .redirect_uri
                        .as_deref()
                        .map_or_else(|| "the redirect URI".to_owned(), |u| format!("{u:?}"));
                    format!(
                        "Register {uri} on app {client}: Entra admin center > App \
                         registrations > the app > Authentication > Web > Redirect URIs, \
                         exactly as sent (scheme, host, port, path; http only for localhost); \
                         and redeem the code with the redirect URI its authorization request \
                         sent (REDIRECT_URI)"
                    )
                }
                700082 => "The refresh token has expired: sign the user in again".to_owned(),
                // https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes:
                // "Invalid request. Request is malformed or invalid."
                9002313 if self.context.grant == "refresh_token" => {
                    "Entra found the request malformed or invalid; for a refresh that is \
                     usually a refresh token Entra cannot read (truncated, or not one it \
                     issued): sign the user in again"
                        .to_owned()
                }
                9002313 => "Entra found the request malformed or invalid: check the grant's \
                            parameters (redirect URI, code, scopes, client id)"
                    .to_owned(),
                70000 => "The code or refresh token was issued to another app".to_owned(),
                50034 => "The user does not exist in this tenant".to_owned(),
                _ => return None,
            })
        });
        code_hint.or_else(|| match self.error.as_str() {
            "invalid_client" => Some(format!("Check the client credential of app {client}")),
            "unauthorized_client" => Some(format!(
                "Check that client {client} is registered with the identity provider and may \
                 use this grant"
            )),
            "invalid_target" => Some(
                "Check the requested resource or audience: the identity provider does not know \
                 it or does not allow it for this client"
                    .to_owned(),
            ),
            "invalid_scope" => Some(format!("Check the requested scopes {scopes}")),
            "interaction_required" | "login_required" => Some(
                "The user must sign in again (pass the claims challenge back to the client, \
                 if any)"
                    .to_owned(),
            ),
            "temporarily_unavailable" => {
                Some("The identity provider is temporarily unavailable: retry later".to_owned())
            }
            _ => None,
        })
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ctx = &self.context;
        if ctx.grant == "authorize" {
            write!(
                f,
                "the authorization request of app {} failed: ",
                ctx.client_id
            )?;
        } else {
            write!(
                f,
                "{} token request of app {} refused",
                ctx.grant, ctx.client_id
            )?;
            if let Some(status) = self.status {
                write!(f, " (HTTP {status})")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.error)?;
        if let Some(sub) = &self.suberror {
            write!(f, "/{sub}")?;
        }
        if !self.codes.is_empty() {
            let codes: Vec<String> = self.codes.iter().map(|c| format!("AADSTS{c}")).collect();
            write!(f, " ({})", codes.join(", "))?;
        }
        let summary = self.summary();
        if let Some(summary) = summary {
            write!(f, ": {summary}")?;
        }
        if let Some(hint) = self.hint() {
            // The server's summary may or may not end a sentence.
            let separator = match summary {
                Some(s) if !s.ends_with(['.', '!', '?']) => ". ",
                _ => " ",
            };
            write!(f, "{separator}{hint}.")?;
        }
        match (&self.correlation_id, &self.trace_id) {
            (Some(c), Some(t)) => write!(f, " [correlation id {c}, trace id {t}]"),
            (Some(c), None) => write!(f, " [correlation id {c}]"),
            (None, Some(t)) => write!(f, " [trace id {t}]"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for ServerError {}

/// Entra's codes for an On-Behalf-Of assertion that is no good (see
/// [`Error::is_invalid_user_assertion`]).
const INVALID_USER_ASSERTION: [u32; 4] = [50013, 500131, 500133, 50027];

/// The grant name of an RFC 8693 token exchange in [`RequestContext`].
pub(crate) const TOKEN_EXCHANGE: &str = "token_exchange";

/// Every `AADSTSnnnnn` in `text`.
fn codes_in(text: &str) -> Vec<u32> {
    text.match_indices("AADSTS")
        .filter_map(|(i, _)| {
            let digits: String = text[i + 6..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> RequestContext {
        RequestContext {
            grant: "on_behalf_of",
            client_id: "7708b120-d422-57c9-8912-c46d3170a2be".into(),
            scopes: vec!["api://shared-documents/Documents.Read".into()],
            entra: true,
            redirect_uri: None,
        }
    }

    fn server(body: serde_json::Value, entra: bool, grant: &'static str) -> Error {
        let context = RequestContext {
            grant,
            entra,
            ..ctx()
        };
        Error::Server(Box::new(
            ServerError::from_json(Some(400), &body, context).unwrap(),
        ))
    }

    #[test]
    fn obo_assertion_errors_500131_500133_50013_mean_invalid_user_assertion() {
        for code in [50013, 500131, 500133, 50027] {
            let e = server(
                json!({"error": "invalid_grant", "error_codes": [code]}),
                true,
                "on_behalf_of",
            );
            assert!(e.is_invalid_user_assertion(), "{code}");
        }
        let consent = server(
            json!({"error": "invalid_grant", "error_codes": [65001]}),
            true,
            "on_behalf_of",
        );
        assert!(!consent.is_invalid_user_assertion());
        let exchange = server(json!({"error": "invalid_request"}), false, TOKEN_EXCHANGE);
        assert!(exchange.is_invalid_user_assertion());
        let cc = server(
            json!({"error": "invalid_request"}),
            false,
            "client_credentials",
        );
        assert!(!cc.is_invalid_user_assertion());
    }

    #[test]
    fn aadsts_hints_only_for_entra_authorities() {
        let body = json!({"error": "invalid_grant", "error_description": "AADSTS65001: no consent", "error_codes": [65001]});
        assert!(
            server(body.clone(), true, "on_behalf_of")
                .to_string()
                .contains("Grant admin consent")
        );
        let text = server(body, false, "on_behalf_of").to_string();
        assert!(
            !text.contains("Grant admin consent") && !text.contains("Entra"),
            "{text}"
        );
    }

    #[test]
    fn hints_are_separated_from_the_server_summary() {
        let e = server(
            json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
            false,
            "client_credentials",
        );
        let text = e.to_string();
        assert!(
            text.contains("failed. Check the client credential"),
            "{text}"
        );
    }

    #[test]
    fn aadsts9002313_is_a_malformed_request_not_an_expired_refresh_token() {
        let e = server(
            json!({"error": "invalid_grant", "error_codes": [9002313]}),
            true,
            "refresh_token",
        );
        let text = e.to_string();
        assert!(
            text.contains("malformed or invalid") && !text.contains("expired"),
            "{text}"
        );
    }

    #[test]
    fn invalid_target_is_recognised() {
        assert!(
            server(
                json!({"error": "invalid_target"}),
                false,
                "client_credentials"
            )
            .is_invalid_target()
        );
        assert!(
            server(
                json!({"error": "invalid_resource", "error_codes": [500011]}),
                true,
                "client_credentials"
            )
            .is_invalid_target()
        );
    }

    #[test]
    fn entra_bodies_keep_every_field_and_explain_consent() {
        let body = json!({
            "error": "invalid_grant",
            "error_description": "AADSTS65001: The user or administrator has not consented to use the application.\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: x",
            "error_codes": [65001],
            "suberror": "consent_required",
            "correlation_id": "c-1",
            "trace_id": "t-1",
            "timestamp": "2025-01-01 12:00:00Z",
        });
        let e = ServerError::from_json(Some(400), &body, ctx()).unwrap();
        assert!(e.is_consent_required() && e.is_invalid_grant() && e.is_interaction_required());
        assert!(!e.is_invalid_client());
        assert_eq!(e.aadsts_codes(), [65001]);
        let text = e.to_string();
        assert!(
            text.contains("Grant admin consent for api://shared-documents/Documents.Read"),
            "{text}"
        );
        assert!(
            text.contains("[correlation id c-1, trace id t-1]"),
            "{text}"
        );
        assert!(!text.contains("Trace ID: t\r"), "{text}");
    }

    #[test]
    fn codes_are_read_from_the_description_when_error_codes_is_absent() {
        let body = json!({"error": "access_denied", "error_description": "AADSTS65004: User declined to consent. AADSTS50105"});
        let e = ServerError::from_json(None, &body, ctx()).unwrap();
        assert_eq!(e.aadsts_codes(), [65004, 50105]);
        assert!(ServerError::from_json(None, &json!({"nope": 1}), ctx()).is_none());
    }

    #[test]
    fn interaction_required_with_claims_yields_a_challenge() {
        let body = json!({"error": "interaction_required", "error_codes": [50076], "claims": "{\"access_token\":{\"polids\":{\"essential\":true}}}"});
        let err = Error::Server(Box::new(
            ServerError::from_json(Some(400), &body, ctx()).unwrap(),
        ));
        assert!(err.is_interaction_required());
        assert_eq!(
            err.claims_challenge().unwrap().claims(),
            "{\"access_token\":{\"polids\":{\"essential\":true}}}"
        );
        assert!(err.to_string().contains("Conditional Access"));
    }

    #[test]
    fn throttled_messages_say_when() {
        let t = Throttled {
            status: None,
            retry_after: Some(Duration::from_millis(1500)),
            until: None,
            server: None,
        };
        let text = t.to_string();
        assert!(
            text.contains("not sent") && text.contains("retry in 2s"),
            "{text}"
        );
    }
}
