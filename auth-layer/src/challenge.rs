//! Why a request was refused, and the response that says so (RFC 6750 §3, gRPC status).

use std::fmt;

use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::{ErrorCode, ValidationError};

/// Why the authentication layers refused a request.
///
/// Each variant maps to one RFC 6750 response: [`AuthError::MissingCredentials`] to 401 with a
/// bare `Bearer` challenge, [`AuthError::InvalidRequest`] to 400 `invalid_request`,
/// [`AuthError::InvalidToken`] to 401 `invalid_token`, [`AuthError::InsufficientScope`] to 403
/// `insufficient_scope`. For gRPC requests the same outcomes become `Unauthenticated` (16) or
/// `PermissionDenied` (7) trailers-only responses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization` header, or one with another scheme (e.g. `Basic`).
    MissingCredentials,
    /// The request is malformed: two `Authorization` headers, an empty or malformed bearer
    /// value, or a token sent in more than one way (or in the query string).
    InvalidRequest(&'static str),
    /// The token is not valid.
    InvalidToken(ValidationError),
    /// The token is valid but does not grant what the route requires.
    InsufficientScope(Insufficient),
}

/// What a valid token lacked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insufficient {
    /// The scopes or roles the route requires (rendered in the challenge's `scope` parameter,
    /// which is left out when this is empty).
    pub required: Vec<String>,
    /// A fixed, client-safe explanation.
    pub reason: &'static str,
}

impl AuthError {
    /// The RFC 6750 error code, or `None` for a request without credentials.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            AuthError::MissingCredentials => None,
            AuthError::InvalidRequest(_) => Some(ErrorCode::InvalidRequest),
            AuthError::InvalidToken(_) => Some(ErrorCode::InvalidToken),
            AuthError::InsufficientScope(_) => Some(ErrorCode::InsufficientScope),
        }
    }

    /// The HTTP status: 401, 400, 401 or 403.
    pub fn status(&self) -> StatusCode {
        match self.error_code() {
            None => StatusCode::UNAUTHORIZED,
            Some(code) => StatusCode::from_u16(code.status()).unwrap_or(StatusCode::UNAUTHORIZED),
        }
    }

    /// A fixed, client-safe description (no token content, no `"` or `\`).
    pub fn description(&self) -> &'static str {
        match self {
            AuthError::MissingCredentials => "a bearer token is required",
            AuthError::InvalidRequest(reason) => reason,
            AuthError::InvalidToken(err) => err.description(),
            AuthError::InsufficientScope(i) => i.reason,
        }
    }

    /// The gRPC status code: `Unauthenticated` (16) when the caller cannot be identified,
    /// `PermissionDenied` (7) when it can but lacks a permission.
    pub fn grpc_code(&self) -> u16 {
        match self {
            AuthError::InsufficientScope(_) => 7,
            _ => 16,
        }
    }

    /// The `WWW-Authenticate` value for this error.
    pub fn www_authenticate(&self, challenge: &Challenge) -> HeaderValue {
        let mut v = String::from("Bearer");
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(realm) = &challenge.realm {
            params.push(("realm", realm.clone()));
        }
        if let Some(code) = self.error_code() {
            params.push(("error", code.as_str().to_owned()));
            params.push(("error_description", self.description().to_owned()));
        }
        if let AuthError::InsufficientScope(i) = self
            && !i.required.is_empty()
        {
            params.push(("scope", i.required.join(" ")));
        }
        if let Some(url) = &challenge.resource_metadata {
            params.push(("resource_metadata", url.clone()));
        }
        for (i, (name, value)) in params.iter().enumerate() {
            v.push_str(if i == 0 { " " } else { ", " });
            v.push_str(name);
            v.push_str("=\"");
            push_quoted(&mut v, value);
            v.push('"');
        }
        // Every piece is either fixed text or sanitised by `push_quoted`, so this only fails
        // if that invariant is broken; fall back to a bare challenge rather than panicking.
        HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("Bearer"))
    }

    /// The response for this error: RFC 6750 for HTTP; a trailers-only gRPC status when `grpc`.
    pub fn to_response<B: ErrorBody>(&self, challenge: &Challenge, grpc: bool) -> Response<B> {
        let www = self.www_authenticate(challenge);
        if grpc {
            let mut res = Response::new(B::default());
            let h = res.headers_mut();
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
            h.insert("grpc-status", HeaderValue::from(self.grpc_code()));
            h.insert("grpc-message", grpc_message(self.description()));
            h.insert(WWW_AUTHENTICATE, www);
            h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return res;
        }
        let status = self.status();
        let mut res = match challenge.body {
            BodyStyle::Empty => Response::new(B::default()),
            BodyStyle::ProblemJson => {
                let doc = serde_json::json!({
                    "type": "about:blank",
                    "title": status.canonical_reason().unwrap_or("Error"),
                    "status": status.as_u16(),
                    "detail": self.description(),
                });
                let mut res = Response::new(B::from_problem_json(doc.to_string()));
                res.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/problem+json"),
                );
                res
            }
        };
        *res.status_mut() = status;
        res.headers_mut().insert(WWW_AUTHENTICATE, www);
        // A refusal depends on the request's credentials: no cache may store it and serve it
        // to another caller (RFC 9111 §5.2.2.5).
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::InvalidToken(err) => write!(f, "invalid token: {err}"),
            AuthError::InsufficientScope(i) => {
                write!(f, "{} (requires {})", i.reason, i.required.join(" "))
            }
            other => f.write_str(other.description()),
        }
    }
}

impl std::error::Error for AuthError {}

impl From<ValidationError> for AuthError {
    fn from(err: ValidationError) -> Self {
        AuthError::InvalidToken(err)
    }
}

/// How refusals are rendered: realm, RFC 9728 `resource_metadata`, and the body.
///
/// Usually set through the [`AuthenticatorBuilder`](crate::AuthenticatorBuilder) (`realm`,
/// `resource_metadata`, `problem_json`, `grpc_service`) and read with
/// [`Authenticator::challenge`](crate::Authenticator::challenge). To build one yourself (to
/// render an [`AuthError`] outside the layers), start from [`Challenge::new`] and chain the
/// setters: the struct is `#[non_exhaustive]`, so a new setting is not a breaking change
/// (<https://doc.rust-lang.org/std/attribute.non_exhaustive.html>). Its fields stay readable.
///
/// ```
/// use auth_layer::{AuthError, BodyStyle, Challenge};
///
/// let challenge = Challenge::new()
///     .realm("cases")
///     .resource_metadata("https://api.example.com/.well-known/oauth-protected-resource")
///     .body(BodyStyle::ProblemJson);
/// assert_eq!(challenge.realm.as_deref(), Some("cases"));
/// assert!(!challenge.grpc_service);
/// assert_eq!(
///     AuthError::MissingCredentials.www_authenticate(&challenge),
///     "Bearer realm=\"cases\", resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource\""
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Challenge {
    /// The `realm` parameter, if any.
    pub realm: Option<String>,
    /// The RFC 9728 `resource_metadata` URL, if any.
    pub resource_metadata: Option<String>,
    /// The response body.
    pub body: BodyStyle,
    /// Whether the service is a gRPC service: only then is a request whose `content-type` is
    /// `application/grpc*` refused gRPC-style (HTTP 200 with `grpc-status` 16 / 7 in a
    /// trailers-only response). A REST service never answers that way, whatever the request
    /// claims to be. Set with
    /// [`AuthenticatorBuilder::grpc_service`](crate::AuthenticatorBuilder::grpc_service).
    pub grpc_service: bool,
}

impl Challenge {
    /// No realm, no `resource_metadata`, an empty body, not a gRPC service (the same as
    /// [`Challenge::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the `realm` parameter.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Sets the RFC 9728 `resource_metadata` URL (the protected resource metadata document).
    pub fn resource_metadata(mut self, url: impl Into<String>) -> Self {
        self.resource_metadata = Some(url.into());
        self
    }

    /// Sets the response body of HTTP refusals.
    pub fn body(mut self, body: BodyStyle) -> Self {
        self.body = body;
        self
    }

    /// Sets whether the service is a gRPC service (see the field
    /// [`grpc_service`](Challenge#structfield.grpc_service)).
    pub fn grpc_service(mut self, grpc_service: bool) -> Self {
        self.grpc_service = grpc_service;
        self
    }
}

/// The body of a refusal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyStyle {
    /// No body (RFC 6750's examples; the default).
    #[default]
    Empty,
    /// An RFC 9457 problem document (`application/problem+json`).
    ProblemJson,
}

/// Response bodies the layers can build refusals with.
///
/// Implemented for axum's body (feature `axum`, default), tonic's body (feature `tonic`;
/// gRPC refusals are trailers-only, so always empty), `String` and `Vec<u8>`. Implement it for
/// your own body type to use the layers with another framework.
pub trait ErrorBody: Default {
    /// A body holding an `application/problem+json` document. The default ignores it (an empty
    /// body) for body types that cannot carry one.
    fn from_problem_json(json: String) -> Self {
        let _ = json;
        Self::default()
    }
}

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl ErrorBody for axum_core::body::Body {
    fn from_problem_json(json: String) -> Self {
        axum_core::body::Body::from(json)
    }
}

#[cfg(feature = "tonic")]
#[cfg_attr(docsrs, doc(cfg(feature = "tonic")))]
impl ErrorBody for tonic::body::Body {}

impl ErrorBody for String {
    fn from_problem_json(json: String) -> Self {
        json
    }
}

impl ErrorBody for Vec<u8> {
    fn from_problem_json(json: String) -> Self {
        json.into_bytes()
    }
}

/// Appends `value` as the inside of an RFC 9110 quoted-string: `"` and `\` escaped, control
/// and non-ASCII characters dropped (header values are visible ASCII).
fn push_quoted(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => {}
        }
    }
}

/// `grpc-message` is percent-encoded (gRPC over HTTP/2 spec).
fn grpc_message(text: &str) -> HeaderValue {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (b' '..=b'~').contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&out).unwrap_or(HeaderValue::from_static("unauthenticated"))
}

/// Whether a request is gRPC (`content-type: application/grpc*`).
pub(crate) fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(err: &AuthError, challenge: &Challenge) -> String {
        err.www_authenticate(challenge).to_str().unwrap().to_owned()
    }

    #[test]
    fn challenge_setters_set_each_field_and_new_is_the_default() {
        assert_eq!(Challenge::new(), Challenge::default());
        let c = Challenge::new()
            .realm("api")
            .resource_metadata("https://api.example.com/prm")
            .body(BodyStyle::ProblemJson)
            .grpc_service(true);
        assert_eq!(c.realm.as_deref(), Some("api"));
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("https://api.example.com/prm")
        );
        assert_eq!(c.body, BodyStyle::ProblemJson);
        assert!(c.grpc_service);
        assert!(!c.grpc_service(false).grpc_service);
    }

    #[test]
    fn missing_credentials_get_a_bare_challenge() {
        assert_eq!(
            header(&AuthError::MissingCredentials, &Challenge::default()),
            "Bearer"
        );
        let realm = Challenge::new().realm("api");
        assert_eq!(
            header(&AuthError::MissingCredentials, &realm),
            "Bearer realm=\"api\""
        );
        assert_eq!(
            AuthError::MissingCredentials.status(),
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn invalid_token_challenge_names_the_error() {
        let err = AuthError::InvalidToken(ValidationError::InvalidSignature);
        assert_eq!(
            header(&err, &Challenge::default()),
            "Bearer error=\"invalid_token\", error_description=\"the token's signature is invalid\""
        );
        assert_eq!(err.status(), StatusCode::UNAUTHORIZED);
    }

    #[test]
    fn insufficient_scope_lists_the_required_scopes() {
        let err = AuthError::InsufficientScope(Insufficient {
            required: vec!["Case.Create".into(), "Case.Write".into()],
            reason: "the token lacks a required scope",
        });
        let h = header(&err, &Challenge::default());
        assert!(h.ends_with("scope=\"Case.Create Case.Write\""), "{h}");
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        assert_eq!(err.grpc_code(), 7);
    }

    #[test]
    fn quoted_values_are_escaped() {
        let c = Challenge::new().realm("a\"b\\c\nd");
        assert_eq!(
            header(&AuthError::MissingCredentials, &c),
            "Bearer realm=\"a\\\"b\\\\cd\""
        );
    }

    #[test]
    fn grpc_refusals_are_trailers_only() {
        let res: Response<String> =
            AuthError::MissingCredentials.to_response(&Challenge::default(), true);
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["grpc-status"], "16");
        assert_eq!(res.headers()["content-type"], "application/grpc");
        assert!(res.body().is_empty());
    }

    #[test]
    fn problem_json_bodies_carry_the_description() {
        let c = Challenge::new().body(BodyStyle::ProblemJson);
        let res: Response<String> =
            AuthError::InvalidRequest("two Authorization headers").to_response(&c, false);
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()["content-type"], "application/problem+json");
        let doc: serde_json::Value = serde_json::from_str(res.body()).unwrap();
        assert_eq!(doc["status"], 400);
        assert_eq!(doc["detail"], "two Authorization headers");
    }
}
