//! The claims challenge a middle tier passes back to its client when On-Behalf-Of needs the user
//! to satisfy a Conditional Access policy.

use base64::Engine as _;
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};

/// How the `claims` parameter of the `WWW-Authenticate` challenge is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimsEncoding {
    /// Standard base64 of the claims JSON, as Microsoft.Identity.Web and Entra's Continuous
    /// Access Evaluation send it (`claims="eyJhY2Nlc3NfdG9rZW4iOnsi…"`). MSAL-based clients
    /// base64-decode it and pass the JSON as `claims` to their next token request. The
    /// default.
    #[default]
    Base64,
    /// The JSON itself as an RFC 9110 quoted-string (`claims="{\"access_token\":…}"`), for
    /// clients that expect it unencoded. Falls back to base64 when the JSON has characters a
    /// header cannot carry.
    Quoted,
}

/// A Conditional Access claims challenge from Entra (`interaction_required` with `claims`),
/// rendered as the response a middle tier returns to its client:
///
/// ```text
/// HTTP/1.1 401 Unauthorized
/// WWW-Authenticate: Bearer error="insufficient_claims", error_description="…",
///     claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWV9fX0="
/// ```
///
/// The client (e.g. the web app using MSAL) decodes `claims` and signs the user in again
/// passing it (`claims` parameter of the authorize request, see
/// [`AuthorizationRequest::claims`](crate::AuthorizationRequest::claims)); the new token
/// satisfies the policy and the next On-Behalf-Of succeeds.
///
/// ```
/// use auth_client::{ClaimsChallenge, ClaimsEncoding};
///
/// let challenge = ClaimsChallenge::new(r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#);
/// let response: http::Response<String> = challenge.to_response();
/// assert_eq!(response.status(), 401);
/// let header = response.headers()["www-authenticate"].to_str().unwrap();
/// assert!(header.starts_with(r#"Bearer error="insufficient_claims""#));
/// assert!(header.contains(r#"claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19""#));
///
/// let quoted = challenge.encoding(ClaimsEncoding::Quoted).www_authenticate();
/// assert!(quoted.to_str().unwrap().contains(r#"claims="{\"access_token\":"#));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsChallenge {
    claims: String,
    encoding: ClaimsEncoding,
    authorization_uri: Option<String>,
}

impl ClaimsChallenge {
    /// A challenge carrying `claims` (the JSON document of Entra's `claims` member).
    pub fn new(claims: impl Into<String>) -> Self {
        ClaimsChallenge {
            claims: claims.into(),
            encoding: ClaimsEncoding::default(),
            authorization_uri: None,
        }
    }

    /// The claims JSON, as Entra sent it.
    pub fn claims(&self) -> &str {
        &self.claims
    }

    /// How `claims` is written (default [`ClaimsEncoding::Base64`]).
    #[must_use]
    pub fn encoding(mut self, encoding: ClaimsEncoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Adds `authorization_uri="…"` (the authority's authorize endpoint), as Entra's own
    /// challenges do.
    #[must_use]
    pub fn authorization_uri(mut self, uri: impl Into<String>) -> Self {
        self.authorization_uri = Some(uri.into());
        self
    }

    /// The `WWW-Authenticate` value:
    /// `Bearer error="insufficient_claims", error_description="…", claims="…"`.
    pub fn www_authenticate(&self) -> HeaderValue {
        let mut v = String::from("Bearer ");
        if let Some(uri) = &self.authorization_uri {
            v.push_str("authorization_uri=\"");
            push_quoted(&mut v, uri);
            v.push_str("\", ");
        }
        v.push_str(
            "error=\"insufficient_claims\", error_description=\"a Conditional Access policy \
             requires the user to sign in again with the claims of this challenge\", claims=\"",
        );
        let visible = self.claims.bytes().all(|b| (b' '..=b'~').contains(&b));
        if self.encoding == ClaimsEncoding::Quoted && visible {
            push_quoted(&mut v, &self.claims);
        } else {
            v.push_str(&base64::engine::general_purpose::STANDARD.encode(&self.claims));
        }
        v.push('"');
        // Every piece is fixed text, base64, or escaped visible ASCII, so this only fails if
        // that invariant is broken; a bare challenge is still a valid 401.
        HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("Bearer"))
    }

    /// A `401 Unauthorized` response with the challenge and a small JSON body
    /// `{"error":"insufficient_claims","claims":"…"}` (the claims base64-encoded).
    pub fn to_response<B: From<String>>(&self) -> Response<B> {
        let body = serde_json::json!({
            "error": "insufficient_claims",
            "error_description": "a Conditional Access policy requires the user to sign in again",
            "claims": base64::engine::general_purpose::STANDARD.encode(&self.claims),
        });
        let mut response = Response::new(B::from(body.to_string()));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        let headers = response.headers_mut();
        headers.insert(WWW_AUTHENTICATE, self.www_authenticate());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for ClaimsChallenge {
    fn into_response(self) -> axum_core::response::Response {
        self.to_response::<String>()
            .map(axum_core::body::Body::from)
    }
}

/// Appends `value` as the inside of an RFC 9110 quoted-string: `"` and `\` escaped, control
/// and non-ASCII characters dropped.
pub(crate) fn push_quoted(out: &mut String, value: &str) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_claims_fall_back_to_base64_when_quoted() {
        let c = ClaimsChallenge::new("{\"x\":\"é\"}").encoding(ClaimsEncoding::Quoted);
        let h = c.www_authenticate();
        assert!(
            h.to_str().unwrap().contains("claims=\"eyJ4Ijoiw6kifQ==\""),
            "{h:?}"
        );
    }

    #[test]
    fn authorization_uri_is_escaped_and_first() {
        let c = ClaimsChallenge::new("{}").authorization_uri("https://idp/\"x");
        let h = c.www_authenticate();
        assert!(
            h.to_str()
                .unwrap()
                .starts_with("Bearer authorization_uri=\"https://idp/\\\"x\", error="),
            "{h:?}"
        );
    }
}
