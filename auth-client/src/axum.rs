//! axum integration: [`OnBehalfOf<Api>`] gives a handler a token for a downstream API on
//! behalf of the current user, in one argument.

use std::any::type_name;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use auth_layer::{AuthError, Challenge, Principal, TokenKind, bearer_token_from_parts};
use axum_core::extract::{FromRef, FromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderValue, StatusCode};

use crate::claims_challenge::ClaimsChallenge;
use crate::client::ConfidentialClient;
use crate::error::Error;
use crate::token::AccessToken;

/// A downstream API this service calls On-Behalf-Of its users: the scopes to request.
/// Declare one with [`downstream_api!`](crate::downstream_api).
pub trait DownstreamApi: Send + Sync + 'static {
    /// The delegated scopes of the downstream API, e.g.
    /// `["api://shared-documents/Documents.Read"]` (one resource).
    const SCOPES: &'static [&'static str];
}

/// Declares [`DownstreamApi`] marker types:
///
/// ```
/// auth_client::downstream_api!(
///     /// The central documents API.
///     pub SharedApi = ["api://shared-documents/Documents.Read"];
///     pub GraphApi = ["User.Read"]
/// );
/// use auth_client::DownstreamApi;
/// assert_eq!(SharedApi::SCOPES, ["api://shared-documents/Documents.Read"]);
/// ```
#[macro_export]
macro_rules! downstream_api {
    ($($(#[$meta:meta])* $vis:vis $name:ident = [$($scope:expr),+ $(,)?]);+ $(;)?) => {
        $(
            $(#[$meta])*
            #[doc = concat!("Downstream API `", stringify!($name), "` (scopes ", $(stringify!($scope), " ",)+ ").")]
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            $vis struct $name;

            impl $crate::DownstreamApi for $name {
                const SCOPES: &'static [&'static str] = &[$($scope),+];
            }
        )+
    };
}

/// A token for the downstream API `A`, acquired On-Behalf-Of the user whose bearer token the
/// request carries: the middle tier's "validate Token A, exchange it for Token B" in one
/// handler argument.
///
/// **The route must already be authenticated** by auth-layer
/// ([`AuthenticateLayer`](auth_layer::AuthenticateLayer) or a `Require*` layer) or by an
/// auth-extract extractor placed **before** this one in the handler's arguments: the
/// extractor exchanges the `Authorization: Bearer` token only when an
/// [`auth_layer::Principal`] is in the request's extensions (that is, the token was
/// validated), and refuses with 401 otherwise. App-only callers are refused with 403: there is
/// no user to act for.
///
/// The [`ConfidentialClient`] comes from the router state (`ConfidentialClient: FromRef<S>`);
/// the exchange is cached and single-flight (see [`ConfidentialClient`]). Failures become
/// [`OboRejection`]s: a Conditional Access claims challenge is passed back to the client
/// (401 `insufficient_claims`), other failures are 502/503/500 with a safe message (the
/// details are logged, without tokens).
///
/// ```
/// use auth_client::{ConfidentialClient, OnBehalfOf, downstream_api};
/// use auth_layer::{AuthenticateLayer, Authenticator};
/// use axum::{Router, routing::get};
/// use http::{Request, StatusCode};
/// use tower::ServiceExt;
///
/// downstream_api!(SharedApi = ["api://shared-documents/Documents.Read"]);
///
/// /// GET /documents: validate Token A (the layer), exchange it for Token B, call the API.
/// async fn documents(token: OnBehalfOf<SharedApi>) -> String {
///     // reqwest::Client::new().get(CENTRAL_API).header("authorization", token.authorization_header())…
///     format!("Token B expires at {}", token.expires_at_unix())
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let idp = auth_testkit::Emulator::builder()
///     .auto_login("alice@example.onmicrosoft.com")
///     .start()
///     .await?;
/// let internal_api = idp.app("obo-example-internal-api");
/// let auth = Authenticator::builder()
///     .instance(idp.base_url())
///     .tenant_id(idp.tenant_id())
///     .client_id(internal_api.client_id())
///     .audience("api://obo-example-internal-api")
///     .build_and_fetch()
///     .await?;
/// let client = ConfidentialClient::builder()
///     .authority(idp.authority())
///     .client_id(internal_api.client_id())
///     .client_secret(internal_api.secret())
///     .build()?;
/// let app = Router::new()
///     .route("/documents", get(documents))
///     .layer(AuthenticateLayer::new(auth))
///     .with_state(client);
///
/// # use auth_client::{AuthorizationRequest, AuthorizationResponse};
/// # let frontend = idp.app("obo-example-frontend");
/// # let web = ConfidentialClient::builder().authority(idp.authority()).client_id(frontend.client_id()).client_secret(frontend.secret()).build()?;
/// # let start = web.authorization_url(AuthorizationRequest::new("http://127.0.0.1:3000/redirect").scopes(["api://obo-example-internal-api/user_impersonation"])).await?;
/// # let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
/// # let location = browser.get(&start.url).send().await?.headers()["location"].to_str()?.to_owned();
/// # let token_a = web.redeem_code(&start.session, &AuthorizationResponse::from_uri(&location.parse()?)).await?.access_token;
/// // Token A: Alice's token for the internal API, from the frontend.
/// let request = Request::get("/documents")
///     .header("authorization", token_a.authorization_header())
///     .body(axum::body::Body::empty())?;
/// assert_eq!(app.clone().oneshot(request).await?.status(), StatusCode::OK);
///
/// let anonymous = Request::get("/documents").body(axum::body::Body::empty())?;
/// assert_eq!(app.oneshot(anonymous).await?.status(), StatusCode::UNAUTHORIZED);
/// # Ok(()) }
/// ```
pub struct OnBehalfOf<A> {
    token: AccessToken,
    _api: PhantomData<fn() -> A>,
}

impl<A> OnBehalfOf<A> {
    /// The token for `A`.
    pub fn token(&self) -> &AccessToken {
        &self.token
    }

    /// The token for `A`, consumed.
    pub fn into_token(self) -> AccessToken {
        self.token
    }
}

impl<A> Deref for OnBehalfOf<A> {
    type Target = AccessToken;

    fn deref(&self) -> &AccessToken {
        &self.token
    }
}

impl<A> Clone for OnBehalfOf<A> {
    fn clone(&self) -> Self {
        OnBehalfOf {
            token: self.token.clone(),
            _api: PhantomData,
        }
    }
}

impl<A> fmt::Debug for OnBehalfOf<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnBehalfOf")
            .field("api", &type_name::<A>())
            .field("token", &self.token)
            .finish()
    }
}

impl<S, A> FromRequestParts<S> for OnBehalfOf<A>
where
    A: DownstreamApi,
    ConfidentialClient: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = OboRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(principal) = parts.extensions.get::<Principal>() else {
            return Err(OboRejection::Unauthenticated);
        };
        if principal.kind() != TokenKind::Delegated {
            return Err(OboRejection::NotAUser);
        }
        let assertion = bearer_token_from_parts(parts).map_err(OboRejection::Credentials)?;
        let client = ConfidentialClient::from_ref(state);
        match client
            .acquire_token_on_behalf_of(assertion, A::SCOPES)
            .await
        {
            Ok(token) => Ok(OnBehalfOf {
                token,
                _api: PhantomData,
            }),
            Err(error) => {
                let rejection = OboRejection::from_error(error, &client);
                match &rejection {
                    OboRejection::ClaimsChallenge(_) => tracing::info!(
                        api = type_name::<A>(),
                        "On-Behalf-Of needs the user to satisfy a Conditional Access policy; \
                         passing the claims challenge to the client"
                    ),
                    OboRejection::Token(error) => tracing::warn!(
                        api = type_name::<A>(),
                        error = %error,
                        "On-Behalf-Of token acquisition failed"
                    ),
                    _ => {}
                }
                Err(rejection)
            }
        }
    }
}

/// Why [`OnBehalfOf`] refused a request, and the response that says so.
///
/// | case | response |
/// |---|---|
/// | no [`Principal`] in the extensions (route not authenticated) | 401, `WWW-Authenticate: Bearer` |
/// | malformed `Authorization` header | 400/401 as auth-layer answers |
/// | an app-only caller | 403 |
/// | Conditional Access (`interaction_required` + `claims`) | 401 `insufficient_claims` with the claims challenge ([`ClaimsChallenge`]) |
/// | the user's token cannot be exchanged ([`Error::is_invalid_user_assertion`]: Entra's AADSTS50013, 500131, 500133, 50027; a token exchange's `invalid_request` / `invalid_token`) | 401 `invalid_token`: the caller gets a new token |
/// | throttled | 503 with `Retry-After` |
/// | the identity provider is unreachable, slow or failing | 502 |
/// | anything else (credential refused, consent missing, bad scopes) | 500 |
///
/// Bodies are JSON with a fixed, safe `error_description`; the details go to the logs.
#[derive(Debug)]
#[non_exhaustive]
pub enum OboRejection {
    /// No validated caller in the request's extensions.
    Unauthenticated,
    /// The `Authorization` header is missing or malformed.
    Credentials(AuthError),
    /// The caller is an application, not a user.
    NotAUser,
    /// The user must satisfy a Conditional Access policy.
    ClaimsChallenge(ClaimsChallenge),
    /// The exchange failed.
    Token(Error),
}

impl OboRejection {
    /// The rejection for an On-Behalf-Of error (a claims challenge gets the authority's
    /// `authorization_uri`).
    pub fn from_error(error: Error, client: &ConfidentialClient) -> Self {
        match error.claims_challenge() {
            Some(challenge) => {
                OboRejection::ClaimsChallenge(match client.authorization_endpoint() {
                    Some(uri) => challenge.authorization_uri(uri),
                    None => challenge,
                })
            }
            None => OboRejection::Token(error),
        }
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> StatusCode {
        match self {
            OboRejection::Unauthenticated | OboRejection::ClaimsChallenge(_) => {
                StatusCode::UNAUTHORIZED
            }
            OboRejection::Credentials(e) => e.status(),
            OboRejection::NotAUser => StatusCode::FORBIDDEN,
            OboRejection::Token(e) if e.is_throttled() => StatusCode::SERVICE_UNAVAILABLE,
            OboRejection::Token(e) if e.is_invalid_user_assertion() => StatusCode::UNAUTHORIZED,
            OboRejection::Token(e) if e.is_transient() => StatusCode::BAD_GATEWAY,
            OboRejection::Token(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The fixed, client-safe description in the response body.
    pub fn description(&self) -> &'static str {
        match self {
            OboRejection::Unauthenticated => "a validated bearer token is required",
            OboRejection::Credentials(e) => e.description(),
            OboRejection::NotAUser => {
                "this operation acts on behalf of a user; an application token cannot be used"
            }
            OboRejection::ClaimsChallenge(_) => {
                "a Conditional Access policy requires the user to sign in again"
            }
            OboRejection::Token(e) if e.is_throttled() => {
                "the identity provider is throttling this service; retry later"
            }
            OboRejection::Token(e) if e.is_invalid_user_assertion() => {
                "the token cannot be exchanged for a downstream API; get a new token"
            }
            OboRejection::Token(e) if e.is_transient() => {
                "the identity provider could not issue a token for a downstream API"
            }
            OboRejection::Token(_) => "this service cannot obtain a token for a downstream API",
        }
    }
}

impl fmt::Display for OboRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OboRejection::Token(e) => write!(f, "On-Behalf-Of failed: {e}"),
            other => f.write_str(other.description()),
        }
    }
}

impl std::error::Error for OboRejection {}

impl From<Error> for OboRejection {
    /// Without the client, a claims challenge has no `authorization_uri`.
    fn from(error: Error) -> Self {
        match error.claims_challenge() {
            Some(challenge) => OboRejection::ClaimsChallenge(challenge),
            None => OboRejection::Token(error),
        }
    }
}

fn json_body(status: StatusCode, error: &str, description: &str) -> Response {
    let body = serde_json::json!({"error": error, "error_description": description}).to_string();
    let mut response = Response::new(axum_core::body::Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

impl IntoResponse for OboRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let description = self.description();
        match self {
            OboRejection::Unauthenticated => AuthError::MissingCredentials
                .to_response::<String>(&Challenge::default(), false)
                .map(axum_core::body::Body::from),
            OboRejection::Credentials(e) => e
                .to_response::<String>(&Challenge::default(), false)
                .map(axum_core::body::Body::from),
            OboRejection::ClaimsChallenge(challenge) => challenge.into_response(),
            OboRejection::NotAUser => json_body(status, "forbidden", description),
            OboRejection::Token(e) => {
                if status == StatusCode::UNAUTHORIZED {
                    let mut response = json_body(status, "invalid_token", description);
                    response.headers_mut().insert(
                        WWW_AUTHENTICATE,
                        HeaderValue::from_static(
                            "Bearer error=\"invalid_token\", error_description=\"the token \
                             cannot be exchanged for a downstream API\"",
                        ),
                    );
                    return response;
                }
                let mut response = json_body(status, "downstream_token_unavailable", description);
                if let Some(after) = e.retry_after() {
                    let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
                    response
                        .headers_mut()
                        .insert(RETRY_AFTER, HeaderValue::from(secs));
                }
                response
            }
        }
    }
}
