//! What auth-client records through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`): nothing is recorded without it, and recording costs nothing measurable when the
//! application installed no recorder. The conventions are auth-layer's: `snake_case` names with
//! the unit as suffix, and only stable, low-cardinality labels (never a client id, a scope, a
//! URL or anything from a token).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `auth_client_token_acquisitions_total` | counter | `grant` (`client_credentials`, `on_behalf_of`, `token_exchange`, `authorization_code`, `refresh_token`, `managed_identity`), `outcome` (`ok`, or a stable error label: see below), `cache` (`hit`: served from the token cache; `miss`: waited for a token request, its own or one it joined) |
//! | `auth_client_token_request_duration_seconds` | histogram | `grant`, `outcome`: one HTTP exchange with the token endpoint (or a managed-identity endpoint), each attempt of a retry on its own |
//!
//! Error labels: the OAuth `error` of the provider's answer when it is one of the registered
//! codes (`access_denied`, `invalid_client`, `invalid_grant`, `invalid_request`, `invalid_scope`,
//! `unauthorized_client`, `unsupported_grant_type`, `interaction_required`, `consent_required`,
//! `login_required`, `invalid_target`, Entra's `invalid_resource`, `temporarily_unavailable`,
//! `server_error`; any other code is `server_error_other`), else `throttled`, `http_error`, `transport`, `timeout`,
//! `invalid_response`, `discovery`, `credential`, `state_mismatch`, `issuer_mismatch`,
//! `missing_code`, `missing_id_token`, `id_token`, `nonce_mismatch`, `keys`, `invalid_request`
//! (refused before anything was sent), `abandoned`.

use crate::error::Error;

/// The registered OAuth error codes kept as labels (RFC 6749 §5.2 and §4.1.2.1, OIDC Core
/// §3.1.2.6, RFC 8707 §2), and Entra's `invalid_resource` (AADSTS500011, an unknown resource:
/// <https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes>); any other
/// is `server_error_other`.
const OAUTH_ERRORS: [&str; 14] = [
    "access_denied",
    "invalid_client",
    "invalid_grant",
    "invalid_request",
    "invalid_scope",
    "unauthorized_client",
    "unsupported_grant_type",
    "interaction_required",
    "consent_required",
    "login_required",
    "invalid_target",
    "invalid_resource",
    "temporarily_unavailable",
    "server_error",
];

/// A stable, low-cardinality label for an error (never its text).
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) fn error_label(error: &Error) -> &'static str {
    match error {
        Error::Server(server) => OAUTH_ERRORS
            .iter()
            .find(|code| **code == server.error())
            .copied()
            .unwrap_or("server_error_other"),
        Error::Throttled(_) => "throttled",
        Error::Http { .. } => "http_error",
        Error::Transport { .. } => "transport",
        Error::Timeout { .. } => "timeout",
        Error::InvalidResponse { .. } => "invalid_response",
        Error::Discovery { .. } => "discovery",
        Error::Credential(_) => "credential",
        Error::StateMismatch => "state_mismatch",
        Error::IssuerMismatch => "issuer_mismatch",
        Error::MissingCode => "missing_code",
        Error::MissingIdToken => "missing_id_token",
        Error::IdToken(_) => "id_token",
        Error::NonceMismatch => "nonce_mismatch",
        Error::Keys(_) => "keys",
        Error::InvalidRequest(_) => "invalid_request",
        Error::Abandoned => "abandoned",
    }
}

/// The `outcome` label of a result.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) fn outcome_label<T>(result: &Result<T, Error>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => error_label(e),
    }
}

/// Where an acquisition's token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cache {
    /// Served from the token cache.
    Hit,
    /// Waited for a token request (its own or a joined one), or a grant that is never cached.
    Miss,
}

/// Records one token acquisition (a call of an `acquire_*`, `redeem_code` or `refresh`).
#[inline]
pub(crate) fn acquisition<T>(grant: &'static str, result: &Result<T, Error>, cache: Cache) {
    #[cfg(feature = "metrics")]
    metrics::counter!(
        "auth_client_token_acquisitions_total",
        "grant" => grant,
        "outcome" => outcome_label(result),
        "cache" => match cache { Cache::Hit => "hit", Cache::Miss => "miss" },
    )
    .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (grant, result, cache);
}

/// Records one HTTP exchange with a token endpoint (`outcome`: from [`outcome_label`], or `ok`).
#[inline]
pub(crate) fn token_request(
    grant: &'static str,
    outcome: &'static str,
    elapsed: std::time::Duration,
) {
    #[cfg(feature = "metrics")]
    metrics::histogram!(
        "auth_client_token_request_duration_seconds",
        "grant" => grant,
        "outcome" => outcome,
    )
    .record(elapsed.as_secs_f64());
    #[cfg(not(feature = "metrics"))]
    let _ = (grant, outcome, elapsed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_labels_are_short_snake_case_and_never_the_servers_text() {
        let server = crate::error::ServerError::from_json(
            Some(400),
            &serde_json::json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}),
            crate::error::RequestContext {
                grant: "client_credentials",
                client_id: "c".into(),
                scopes: vec![],
                entra: true,
                redirect_uri: None,
            },
        )
        .unwrap();
        assert_eq!(
            error_label(&Error::Server(Box::new(server))),
            "invalid_client"
        );
        let odd = crate::error::ServerError::from_json(
            Some(400),
            &serde_json::json!({"error": "made_up_by_a_provider_1234"}),
            crate::error::RequestContext {
                grant: "client_credentials",
                client_id: "c".into(),
                scopes: vec![],
                entra: false,
                redirect_uri: None,
            },
        )
        .unwrap();
        assert_eq!(
            error_label(&Error::Server(Box::new(odd))),
            "server_error_other"
        );
        for error in [
            Error::Abandoned,
            Error::Credential("secret-looking text".into()),
            Error::Http {
                url: "https://x".into(),
                status: 404,
            },
        ] {
            let label = error_label(&error);
            assert!(
                label.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{label}"
            );
        }
        assert_eq!(outcome_label::<()>(&Ok(())), "ok");
    }
}
