//! What auth-layer records through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`): nothing is recorded without it, and recording costs nothing measurable when the
//! application installed no recorder.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `auth_validations_total` | counter | `outcome` (`accepted`, `refused`), `reason` (a stable label of the [`ValidationError`] variant, `-` when accepted) |
//! | `auth_verified_token_cache_hits_total` | counter | — |
//! | `auth_jwks_fetches_total` | counter | `outcome` (`ok`, `failed`) |
//! | `auth_jwks_staleness_seconds` | gauge | `source` (the cache's discovery or JWKS URL: one series per cache) — seconds since the signing keys were last fetched successfully, `+Inf` before the first success. Set after every fetch and by [`JwksCache::record_staleness`](crate::jwks::JwksCache::record_staleness) (call it before rendering a scrape so the value is current) |
//! | `auth_jwks_last_success_timestamp_seconds` | gauge | `source` — Unix time of the last successful fetch (`time() - …` in PromQL is the staleness at any moment) |

use crate::ValidationError;

/// A stable, low-cardinality label for a refusal reason (never token content).
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) const fn reason_label(error: &ValidationError) -> &'static str {
    match error {
        ValidationError::TooLarge { .. } => "too_large",
        ValidationError::NotCompactJws => "not_compact_jws",
        ValidationError::InvalidBase64(_) => "invalid_base64",
        ValidationError::InvalidJson(_) => "invalid_json",
        ValidationError::DuplicateMember(_) => "duplicate_member",
        ValidationError::MissingSignature => "missing_signature",
        ValidationError::MissingAlgorithm => "missing_algorithm",
        ValidationError::AlgorithmNone => "algorithm_none",
        ValidationError::SymmetricAlgorithm => "symmetric_algorithm",
        ValidationError::UnsupportedAlgorithm => "unsupported_algorithm",
        ValidationError::AlgorithmNotAllowed(_) => "algorithm_not_allowed",
        ValidationError::CriticalHeader => "critical_header",
        ValidationError::RemoteKeyReference => "remote_key_reference",
        ValidationError::EmbeddedKey => "embedded_key",
        ValidationError::UnsupportedStructure => "unsupported_structure",
        ValidationError::UnacceptedType => "unaccepted_type",
        ValidationError::IssuedForAnotherApi => "issued_for_another_api",
        ValidationError::MissingKeyId => "missing_key_id",
        ValidationError::InvalidKeyId => "invalid_key_id",
        ValidationError::UnknownKey => "unknown_key",
        ValidationError::KeysUnavailable => "keys_unavailable",
        ValidationError::KeyAlgorithmMismatch(_) => "key_algorithm_mismatch",
        ValidationError::InvalidSignature => "invalid_signature",
        ValidationError::MissingClaim(_) => "missing_claim",
        ValidationError::InvalidClaim(_) => "invalid_claim",
        ValidationError::Expired { .. } => "expired",
        ValidationError::NotYetValid { .. } => "not_yet_valid",
        ValidationError::UntrustedIssuer => "untrusted_issuer",
        ValidationError::TenantNotAllowed { .. } => "tenant_not_allowed",
        ValidationError::TenantMismatch => "tenant_mismatch",
        ValidationError::KeyIssuerMismatch => "key_issuer_mismatch",
        ValidationError::AudienceMismatch { .. } => "audience_mismatch",
        ValidationError::IdToken => "id_token",
        ValidationError::Unclassified { .. } => "unclassified",
    }
}

/// Records one validation outcome (`cached`: answered by the verified-token cache).
#[inline]
pub(crate) fn validation<T>(result: &Result<T, ValidationError>, cached: bool) {
    #[cfg(feature = "metrics")]
    if cached {
        metrics::counter!("auth_verified_token_cache_hits_total").increment(1);
    }
    #[cfg(feature = "metrics")]
    match result {
        Ok(_) => {
            metrics::counter!("auth_validations_total", "outcome" => "accepted", "reason" => "-")
                .increment(1)
        }
        Err(e) => metrics::counter!(
            "auth_validations_total",
            "outcome" => "refused",
            "reason" => reason_label(e),
        )
        .increment(1),
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (result, cached);
}

/// Records one key fetch.
#[inline]
#[cfg_attr(not(feature = "fetch"), allow(dead_code))]
pub(crate) fn key_fetch(ok: bool) {
    #[cfg(feature = "metrics")]
    metrics::counter!("auth_jwks_fetches_total", "outcome" => if ok { "ok" } else { "failed" })
        .increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = ok;
}

/// Records the staleness of a remote key cache (`None`: never loaded) and, after a successful
/// fetch, its time.
#[inline]
#[cfg_attr(not(feature = "fetch"), allow(dead_code))]
pub(crate) fn key_staleness(
    source: &str,
    staleness: Option<std::time::Duration>,
    fetched_at: Option<std::time::SystemTime>,
) {
    #[cfg(feature = "metrics")]
    {
        let seconds = staleness.map_or(f64::INFINITY, |s| s.as_secs_f64());
        metrics::gauge!("auth_jwks_staleness_seconds", "source" => source.to_owned()).set(seconds);
        if let Some(at) = fetched_at.and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()) {
            metrics::gauge!(
                "auth_jwks_last_success_timestamp_seconds",
                "source" => source.to_owned()
            )
            .set(at.as_secs_f64());
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (source, staleness, fetched_at);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_labels_are_short_snake_case() {
        for error in [
            ValidationError::AlgorithmNone,
            ValidationError::UnknownKey,
            ValidationError::InvalidSignature,
            ValidationError::IdToken,
        ] {
            let label = reason_label(&error);
            assert!(
                label.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{label}"
            );
        }
    }
}
