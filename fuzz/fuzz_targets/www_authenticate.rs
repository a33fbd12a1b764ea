//! `WWW-Authenticate` rendering and refusal responses: arbitrary realms, resource-metadata URLs
//! and required scopes must always render a header value that parses back (RFC 9110 §11.3
//! quoted-strings, properly escaped) into exactly the parameters that were rendered, and
//! `to_response` must never panic for HTTP or gRPC.
#![no_main]

use arbitrary::Arbitrary;
use auth_layer::{AuthError, BodyStyle, Challenge, Insufficient, ValidationError};
use libfuzzer_sys::fuzz_target;
use tower_entra_fuzz::check_challenge;

#[derive(Arbitrary, Debug)]
struct Input {
    realm: Option<String>,
    resource_metadata: Option<String>,
    required: Vec<String>,
    error: Which,
    reason: u8,
    problem_json: bool,
    grpc: bool,
}

#[derive(Arbitrary, Debug)]
enum Which {
    InsufficientScope,
    MissingCredentials,
    InvalidRequest,
    InvalidToken(u8),
}

/// Fixed reasons, including ones a careless caller might pass (quotes, backslashes, non-ASCII).
const REASONS: &[&str] = &[
    "x",
    "the token lacks a required scope",
    "",
    "a \"quoted\" reason",
    "back\\slash\\",
    "line\r\nbreak",
    "caf\u{e9} \u{1f600}",
    "\u{0}\u{7f}\t",
    "%41 percent",
];

fn validation_error(i: u8) -> ValidationError {
    let all = [
        ValidationError::NotCompactJws,
        ValidationError::MissingSignature,
        ValidationError::AlgorithmNone,
        ValidationError::InvalidSignature,
        ValidationError::UnknownKey,
        ValidationError::UntrustedIssuer,
        ValidationError::TenantMismatch,
        ValidationError::IdToken,
        ValidationError::MissingClaim("exp"),
        ValidationError::InvalidClaim("aud"),
        ValidationError::Expired {
            seconds_ago: u64::MAX,
        },
        ValidationError::NotYetValid { seconds_ahead: 0 },
    ];
    all[usize::from(i) % all.len()].clone()
}

fuzz_target!(|input: Input| {
    let reason = REASONS[usize::from(input.reason) % REASONS.len()];
    let err = match input.error {
        Which::InsufficientScope => AuthError::InsufficientScope(Insufficient {
            required: input.required,
            reason,
        }),
        Which::MissingCredentials => AuthError::MissingCredentials,
        Which::InvalidRequest => AuthError::InvalidRequest(reason),
        Which::InvalidToken(i) => AuthError::InvalidToken(validation_error(i)),
    };
    let mut challenge = Challenge::new().body(if input.problem_json {
        BodyStyle::ProblemJson
    } else {
        BodyStyle::Empty
    });
    if let Some(realm) = input.realm {
        challenge = challenge.realm(realm);
    }
    if let Some(url) = input.resource_metadata {
        challenge = challenge.resource_metadata(url);
    }
    check_challenge(&err, &challenge);

    let res = err.to_response::<String>(&challenge, input.grpc);
    let www = res
        .headers()
        .get(http::header::WWW_AUTHENTICATE)
        .expect("every refusal carries WWW-Authenticate");
    assert_eq!(www, err.www_authenticate(&challenge));
    if input.grpc {
        assert_eq!(res.status(), http::StatusCode::OK);
        let code = res.headers()["grpc-status"].to_str().unwrap();
        assert_eq!(code, err.grpc_code().to_string());
        let message = res.headers()["grpc-message"].to_str().unwrap();
        assert!(
            !message.bytes().any(|b| b.is_ascii_control()),
            "{message:?}"
        );
        assert!(res.body().is_empty());
    } else {
        assert_eq!(res.status(), err.status());
        if input.problem_json {
            let doc: serde_json::Value =
                serde_json::from_str(res.body()).expect("the problem document is JSON");
            assert_eq!(doc["status"], err.status().as_u16());
            assert_eq!(doc["detail"], err.description());
        } else {
            assert!(res.body().is_empty());
        }
    }
});
