//! Raw bytes as a bearer token: `Validator::validate` and `bearer_token` must never panic, and
//! whatever they accept must pass the independent checks of `tower_entra_fuzz::check_accepted`.
#![no_main]

use auth_layer::{AuthError, Challenge, bearer_token};
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue, Uri};
use libfuzzer_sys::fuzz_target;
use tower_entra_fuzz::{check_accepted, check_challenge, keys, validator};

fn validate(token: &str) {
    match validator().validate(token, keys()) {
        Ok(claims) => check_accepted(token, &claims),
        // Every refusal renders a well-formed challenge.
        Err(err) => check_challenge(&AuthError::InvalidToken(err), &Challenge::default()),
    }
}

fuzz_target!(|data: &[u8]| {
    // The token as given (invalid UTF-8 replaced, as a framework handing over `&str` would
    // never produce it, but the bytes around it still matter).
    let token = String::from_utf8_lossy(data);
    validate(&token);

    // The same bytes as an `Authorization` header value.
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    match bearer_token(&headers, &Uri::from_static("/api")) {
        Ok(token) => {
            // RFC 6750 b64token, no surrounding space, and then validated like any token.
            let body = token.trim_end_matches('=');
            assert!(!body.is_empty(), "empty bearer token {token:?}");
            assert!(
                body.bytes().all(|b| b.is_ascii_alphanumeric()
                    || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')),
                "bearer_token returned a non-b64token {token:?}"
            );
            validate(token);
        }
        Err(err) => {
            assert!(
                matches!(
                    err,
                    AuthError::MissingCredentials | AuthError::InvalidRequest(_)
                ),
                "{err:?}"
            );
            check_challenge(&err, &Challenge::default());
        }
    }
    // A token in the query string is always refused, header or not.
    let in_query = bearer_token(&headers, &Uri::from_static("/api?x=1&access_token=abc"));
    assert!(
        matches!(
            in_query,
            Err(AuthError::InvalidRequest(_) | AuthError::MissingCredentials)
        ),
        "{in_query:?}"
    );
    if let Err(AuthError::MissingCredentials) = in_query {
        // Only a non-Bearer scheme may still say "missing credentials" with a query token.
        let scheme_is_bearer = data.len() >= 6
            && data[..6].eq_ignore_ascii_case(b"bearer")
            && (data.len() == 6 || data[6] == b' ');
        assert!(
            !scheme_is_bearer,
            "a Bearer header with ?access_token= was not refused"
        );
    }
});
