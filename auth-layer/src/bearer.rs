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
    let (first, second) = (values.next(), values.next());
    // The common case in one pass over the bytes: one header, `Bearer <b64token>`, no token in
    // the query. It answers only `Ok`, and only where the checks below would give the same
    // token; anything else takes the path below, which picks the refusal.
    if !in_query
        && second.is_none()
        && let Some(token) = first.and_then(|value| well_formed_bearer(value.as_bytes()))
    {
        return Ok(token);
    }
    let Some(value) = first else {
        return Err(if in_query {
            AuthError::InvalidRequest("send the token in the Authorization header, not the URL")
        } else {
            AuthError::MissingCredentials
        });
    };
    if second.is_some() {
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
    if !is_b64token(token.as_bytes()) {
        return Err(AuthError::InvalidRequest("the bearer token is malformed"));
    }
    if in_query {
        return Err(AuthError::InvalidRequest(
            "the token was sent in more than one way",
        ));
    }
    Ok(token)
}

/// The bytes of the one `Authorization: Bearer …` value of a request, without the per-byte
/// checks of [`bearer_token`]: one header, the scheme `Bearer` (any letter case) and one space,
/// no `access_token` in the query; the value after the scheme, spaces trimmed.
///
/// Only for a lookup in the verified-token cache, whose hits are exact copies of validated
/// tokens: those are base64url segments and dots, every byte of them a `b64token` byte, so
/// [`bearer_token`] would have returned the same token. Anything else is answered by
/// [`bearer_token`].
pub(crate) fn unchecked_bearer<'h>(headers: &'h HeaderMap, uri: &Uri) -> Option<&'h [u8]> {
    if uri.query().is_some_and(has_access_token_param) {
        return None;
    }
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (value, None) = (values.next()?, values.next()) else {
        return None;
    };
    let (scheme, rest) = value.as_bytes().split_at_checked(7)?;
    if !(scheme[..6].eq_ignore_ascii_case(b"bearer") && scheme[6] == b' ') {
        return None;
    }
    Some(trim_spaces(rest))
}

/// `value` without the spaces (only `' '`) at either end.
fn trim_spaces(value: &[u8]) -> &[u8] {
    let mut value = value;
    while let [b' ', tail @ ..] = value {
        value = tail;
    }
    while let [head @ .., b' '] = value {
        value = head;
    }
    value
}

/// [`bearer_token`] for request parts.
///
/// # Errors
/// As [`bearer_token`].
pub fn bearer_token_from_parts(parts: &Parts) -> Result<&str, AuthError> {
    bearer_token(&parts.headers, &parts.uri)
}

/// The token of `Bearer <b64token>` (the scheme in any letter case, one space, then the token
/// with optional spaces around it), or `None` for anything else. Everything it accepts is
/// visible ASCII, so it agrees with the checks of [`bearer_token`] without their separate passes
/// over a ~1.6 KB token.
fn well_formed_bearer(value: &[u8]) -> Option<&str> {
    let (scheme, rest) = value.split_at_checked(7)?;
    if !(scheme[..6].eq_ignore_ascii_case(b"bearer") && scheme[6] == b' ') {
        return None;
    }
    let token = trim_spaces(rest);
    if !is_b64token(token) {
        return None;
    }
    // ASCII, as just checked: this cannot fail, and std's check of ASCII is word-at-a-time.
    std::str::from_utf8(token).ok()
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
///
/// Branch-free per byte (the compiler vectorises the loop): on the hot path of every request.
fn is_b64token(token: &[u8]) -> bool {
    let mut body = token;
    while let [head @ .., b'='] = body {
        body = head;
    }
    if body.is_empty() {
        return false;
    }
    // Fixed-size blocks without an early exit inside: the compiler turns each into a few
    // vector instructions.
    let mut blocks = body.chunks_exact(32);
    for block in &mut blocks {
        let mut bad = 0u8;
        for &b in block {
            bad |= u8::from(!is_b64token_byte(b));
        }
        if bad != 0 {
            return false;
        }
    }
    blocks.remainder().iter().all(|&b| is_b64token_byte(b))
}

/// `ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/"`, without branches, in five tests.
fn is_b64token_byte(b: u8) -> bool {
    // `| 0x20` folds ASCII upper case onto lower case; nothing else lands on `a..=z`.
    // `-` `.` `/` and the digits are one run, 0x2D..=0x39.
    ((b | 0x20).wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'-') < 13)
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
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
    fn b64token_bytes_are_exactly_rfc_6750s() {
        for b in 0..=u8::MAX {
            let rfc = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(is_b64token_byte(b), rfc, "{b:#04x}");
        }
        assert!(is_b64token(b"a.b-c_d~e+f/g=="));
        assert!(!is_b64token(b"=="));
        assert!(!is_b64token(b""));
        assert!(!is_b64token(b"a=b"));
    }

    #[test]
    fn the_one_pass_path_agrees_with_the_checks() {
        // Every value here goes through both paths; `bearer_token` must give the slow path's
        // answer whichever one answered.
        let token = "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ4In0.c2ln-_~+/=";
        for value in [
            format!("Bearer {token}"),
            format!("bearer   {token}  "),
            format!("BEARER {token}"),
            format!("Bearer  {token}\t"),
            format!("Bearer\t{token}"),
            format!("Bearer {token} x"),
            format!("Bearer {token}é"),
            format!("Bearerx {token}"),
            "Bearer ".to_owned(),
            "Bearer   ".to_owned(),
            "Bearer a=b".to_owned(),
            "Bearer ==".to_owned(),
            "Basic abc".to_owned(),
        ] {
            let fast = well_formed_bearer(value.as_bytes());
            let full = extract(&[("authorization", &value)], "/");
            if let Some(fast) = fast {
                assert_eq!(full, Ok(fast.to_owned()), "{value:?}");
            }
            assert_eq!(fast.is_some(), full.is_ok(), "{value:?}");
        }
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
