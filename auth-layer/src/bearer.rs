//! Finding the bearer token in a request (RFC 6750 §2.1, the `Authorization` header only).

use http::header::AUTHORIZATION;
use http::request::Parts;
use http::{HeaderMap, Uri};

use crate::challenge::AuthError;

/// Returns the bearer token of a request.
///
/// Only the `Authorization: Bearer <token>` header is accepted (the scheme name in any letter
/// case). Tokens in the query string (`access_token=`) are refused: URLs end up in logs.
/// Form-encoded body tokens (RFC 6750 §2.2) are never read.
///
/// # Errors
/// - [`AuthError::MissingCredentials`] when there is no `Authorization` header, or it uses
///   another scheme.
/// - [`AuthError::InvalidRequest`] for two `Authorization` headers, an empty or malformed
///   bearer value, or an `access_token` query parameter (alone or beside the header).
///
/// ```
/// use auth_layer::{bearer_token, AuthError};
/// let req = http::Request::builder()
///     .uri("/cases")
///     .header("authorization", "bearer abc.def.ghi")
///     .body(())
///     .unwrap();
/// assert_eq!(bearer_token(req.headers(), req.uri()), Ok("abc.def.ghi"));
/// ```
pub fn bearer_token<'h>(headers: &'h HeaderMap, uri: &Uri) -> Result<&'h str, AuthError> {
    let in_query = uri.query().is_some_and(has_access_token_param);
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(if in_query {
            AuthError::InvalidRequest("send the token in the Authorization header, not the URL")
        } else {
            AuthError::MissingCredentials
        });
    };
    if values.next().is_some() {
        return Err(AuthError::InvalidRequest(
            "more than one Authorization header",
        ));
    }
    let Ok(value) = value.to_str() else {
        return Err(AuthError::InvalidRequest(
            "the Authorization header is not visible ASCII",
        ));
    };
    // An empty value is a malformed request, not an absent one (RFC 6750 §3.1
    // `invalid_request`: https://www.rfc-editor.org/rfc/rfc6750#section-3.1).
    if value.trim_matches([' ', '\t']).is_empty() {
        return Err(AuthError::InvalidRequest(
            "the Authorization header is empty",
        ));
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // `Bearer<TAB>token`: RFC 6750 §2.1 separates the scheme by one space (`1*SP`).
        if scheme
            .split_once('\t')
            .is_some_and(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        {
            return Err(AuthError::InvalidRequest(
                "the bearer scheme must be followed by a space",
            ));
        }
        return Err(AuthError::MissingCredentials);
    }
    let token = rest.trim_matches(' ');
    if token.is_empty() {
        return Err(AuthError::InvalidRequest("the bearer token is empty"));
    }
    if !is_b64token(token) {
        return Err(AuthError::InvalidRequest("the bearer token is malformed"));
    }
    if in_query {
        return Err(AuthError::InvalidRequest(
            "the token was sent in more than one way",
        ));
    }
    Ok(token)
}

/// [`bearer_token`] for request parts.
///
/// # Errors
/// As [`bearer_token`].
pub fn bearer_token_from_parts(parts: &Parts) -> Result<&str, AuthError> {
    bearer_token(&parts.headers, &parts.uri)
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

fn has_access_token_param(query: &str) -> bool {
    query
        .split('&')
        .any(|pair| pair.split('=').next() == Some("access_token"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(headers: &[(&str, &str)], uri: &str) -> Result<String, AuthError> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        let uri: Uri = uri.parse().unwrap();
        bearer_token(&map, &uri).map(str::to_owned)
    }

    #[test]
    fn an_empty_value_or_a_tab_after_bearer_is_invalid_request() {
        for value in ["", " ", "Bearer\tabc.def.ghi", "bearer\t abc"] {
            assert!(
                matches!(
                    extract(&[("authorization", value)], "/"),
                    Err(AuthError::InvalidRequest(_))
                ),
                "{value:?}"
            );
        }
        assert_eq!(
            extract(&[("authorization", "Basic\tabc")], "/"),
            Err(AuthError::MissingCredentials)
        );
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            assert_eq!(
                extract(&[("authorization", &format!("{scheme} a.b.c"))], "/"),
                Ok("a.b.c".into())
            );
        }
        assert_eq!(
            extract(&[("authorization", "Bearer   a.b.c")], "/"),
            Ok("a.b.c".into())
        );
    }

    #[test]
    fn no_header_or_another_scheme_is_missing_credentials() {
        assert_eq!(extract(&[], "/"), Err(AuthError::MissingCredentials));
        assert_eq!(
            extract(&[("authorization", "Basic dXNlcjpwYXNz")], "/"),
            Err(AuthError::MissingCredentials)
        );
        assert_eq!(
            extract(&[("authorization", "Bearerx a.b.c")], "/"),
            Err(AuthError::MissingCredentials)
        );
    }

    #[test]
    fn malformed_requests_are_invalid_requests() {
        let two = [
            ("authorization", "Bearer a.b.c"),
            ("authorization", "Bearer d.e.f"),
        ];
        for (headers, uri) in [
            (&two[..], "/"),
            (&[("authorization", "Bearer")][..], "/"),
            (&[("authorization", "Bearer ")][..], "/"),
            (&[("authorization", "Bearer a b")][..], "/"),
            (&[("authorization", "Bearer a\"b")][..], "/"),
            (
                &[("authorization", "Bearer a.b.c")][..],
                "/?access_token=a.b.c",
            ),
            (&[][..], "/?x=1&access_token=a.b.c"),
        ] {
            assert!(
                matches!(extract(headers, uri), Err(AuthError::InvalidRequest(_))),
                "{headers:?} {uri}"
            );
        }
    }
}
