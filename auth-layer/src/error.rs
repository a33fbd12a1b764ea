//! Why a token was refused.

use std::fmt;

use crate::Algorithm;

/// The part of a compact JWS a structural error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenPart {
    /// The JOSE header (first segment).
    Header,
    /// The claims (second segment).
    Payload,
    /// The signature (third segment).
    Signature,
}

impl fmt::Display for TokenPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenPart::Header => "header",
            TokenPart::Payload => "payload",
            TokenPart::Signature => "signature",
        })
    }
}

/// The OAuth 2.0 bearer-token error code (RFC 6750 §3.1) a failure maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_request` (HTTP 400): the request is malformed (e.g. two `Authorization` headers).
    InvalidRequest,
    /// `invalid_token` (HTTP 401): the token is expired, revoked, malformed, or invalid.
    InvalidToken,
    /// `insufficient_scope` (HTTP 403): the token is valid but lacks the privileges required.
    InsufficientScope,
}

impl ErrorCode {
    /// The code as it appears in a `WWW-Authenticate` header.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
        }
    }

    /// The HTTP status RFC 6750 pairs with the code.
    pub const fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope => 403,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which Entra issuer shape a token's `iss` had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssuerVersion {
    /// `https://sts.windows.net/{tid}/`
    V1,
    /// `https://login.microsoftonline.com/{tid}/v2.0`
    V2,
}

impl fmt::Display for IssuerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IssuerVersion::V1 => "v1",
            IssuerVersion::V2 => "v2",
        })
    }
}

/// Why a bearer token was refused: one variant per rule the validator enforces.
///
/// `Display` is written for the operator reading logs: it says what is wrong and what to check,
/// and never contains token content beyond values the validator has already proven harmless
/// (a tenant id that parsed as a GUID, an algorithm name from a fixed list). For the
/// `error_description` sent to clients use [`ValidationError::description`], which is a fixed
/// text per variant. Every variant maps to [`ErrorCode::InvalidToken`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationError {
    /// The token is longer than the configured cap; nothing was decoded.
    TooLarge {
        /// The configured cap in bytes.
        limit: usize,
    },
    /// Not a compact JWS: not exactly three non-empty dot-separated segments (JWE, the JWS JSON
    /// serialization…).
    NotCompactJws,
    /// A segment is not canonical unpadded base64url (padding, `+` or `/`, whitespace, other
    /// bytes, non-zero trailing bits).
    InvalidBase64(TokenPart),
    /// The header or payload is not a JSON object (or not UTF-8, or starts with a byte-order mark).
    InvalidJson(TokenPart),
    /// The header or payload repeats a member name.
    DuplicateMember(TokenPart),
    /// The signature segment is empty.
    MissingSignature,
    /// The header has no `alg`, or it is not a string.
    MissingAlgorithm,
    /// `alg` is `none`, in any letter case.
    AlgorithmNone,
    /// `alg` is an HMAC algorithm: a resource server never verifies with a shared secret.
    SymmetricAlgorithm,
    /// `alg` is not an algorithm this crate knows.
    UnsupportedAlgorithm,
    /// `alg` is known but not in the configured allow-list.
    AlgorithmNotAllowed(Algorithm),
    /// The header has a `crit` member: no extension is understood.
    CriticalHeader,
    /// The header has `jku` or `x5u`: keys are never fetched from a token's say-so.
    RemoteKeyReference,
    /// The header embeds a key (`jwk` or `x5c`): keys in a token are never trusted.
    EmbeddedKey,
    /// The header has `cty` (a nested JWT) or JWE/unencoded-payload members (`enc`, `zip`, `b64`).
    UnsupportedStructure,
    /// The header's `typ` is not an accepted access-token type.
    UnacceptedType,
    /// The header has a `nonce`: Microsoft Graph and other first-party APIs get such tokens, and
    /// only they can verify them.
    IssuedForAnotherApi,
    /// The header has neither `kid` nor `x5t`.
    MissingKeyId,
    /// The `kid` or `x5t` is not a string, longer than 256 bytes, or has control characters.
    InvalidKeyId,
    /// No key in the current key set has the token's `kid` / `x5t`.
    UnknownKey,
    /// The signing keys are not available: never fetched successfully, or older than the
    /// configured maximum staleness (the JWKS cache fails closed).
    KeysUnavailable,
    /// The key named by the header does not fit `alg` (key type, or the JWK's own `alg`).
    KeyAlgorithmMismatch(Algorithm),
    /// The signature does not verify.
    InvalidSignature,
    /// A required claim is absent.
    MissingClaim(&'static str),
    /// A claim has the wrong type or an invalid value (e.g. `exp` as a string, a negative date).
    InvalidClaim(&'static str),
    /// `exp` is in the past, beyond the leeway.
    Expired {
        /// Seconds since expiry (whole, rounded down), beyond the leeway.
        seconds_ago: u64,
    },
    /// `nbf` is in the future, beyond the leeway.
    NotYetValid {
        /// Seconds until the token becomes valid.
        seconds_ahead: u64,
    },
    /// `iss` matches no configured issuer (compared byte for byte).
    UntrustedIssuer,
    /// `iss` is an Entra issuer of a tenant this API does not accept.
    TenantNotAllowed {
        /// The token's tenant (already checked to be a GUID).
        tenant: String,
        /// v1 or v2 issuer.
        version: IssuerVersion,
        /// The tenants this API accepts (empty when a callback decides).
        allowed: Vec<String>,
    },
    /// `tid` is missing, not a GUID, or differs from the tenant in `iss`.
    TenantMismatch,
    /// The signing key's `issuer` (after `{tenantid}` substitution) differs from the token's.
    KeyIssuerMismatch,
    /// `aud` names no audience this API accepts.
    AudienceMismatch {
        /// The audiences this API accepts.
        accepted: Vec<String>,
    },
    /// The token is an ID token (it has `nonce`, `c_hash` or `at_hash`): ID tokens prove a
    /// sign-in to the client, they are not access tokens for an API. (An Entra token that names
    /// no client, as ID tokens never do, is refused as [`ValidationError::MissingClaim`].)
    IdToken,
    /// The validator's [`Profile`](crate::Profile) found no positive evidence of either kind
    /// (user or application): such a token is refused, never defaulted to a kind.
    Unclassified {
        /// The profile's name (`entra`, `rfc9068`, `okta`, `auth0`, `keycloak`, or a custom
        /// profile's).
        profile: &'static str,
    },
}

impl ValidationError {
    /// The RFC 6750 error code: [`ErrorCode::InvalidToken`] for every validation failure.
    pub const fn error_code(&self) -> ErrorCode {
        ErrorCode::InvalidToken
    }

    /// A fixed, client-safe text for `error_description`: no token content, no `"` or `\`.
    pub const fn description(&self) -> &'static str {
        match self {
            ValidationError::TooLarge { .. } => "the token is too large",
            ValidationError::NotCompactJws
            | ValidationError::InvalidBase64(_)
            | ValidationError::InvalidJson(_)
            | ValidationError::DuplicateMember(_)
            | ValidationError::MissingSignature => "the token is malformed",
            ValidationError::MissingAlgorithm
            | ValidationError::AlgorithmNone
            | ValidationError::SymmetricAlgorithm
            | ValidationError::UnsupportedAlgorithm
            | ValidationError::AlgorithmNotAllowed(_) => "the token's algorithm is not accepted",
            ValidationError::CriticalHeader
            | ValidationError::RemoteKeyReference
            | ValidationError::EmbeddedKey
            | ValidationError::UnsupportedStructure
            | ValidationError::UnacceptedType => "the token's header is not accepted",
            ValidationError::IssuedForAnotherApi => {
                "the token was issued for another API (it has a nonce header, like Microsoft Graph tokens)"
            }
            ValidationError::MissingKeyId
            | ValidationError::InvalidKeyId
            | ValidationError::UnknownKey
            | ValidationError::KeyAlgorithmMismatch(_) => "the token's signing key is not known",
            ValidationError::KeysUnavailable => "the signing keys are not available",
            ValidationError::InvalidSignature => "the token's signature is invalid",
            ValidationError::MissingClaim(_) | ValidationError::InvalidClaim(_) => {
                "the token's claims are invalid"
            }
            ValidationError::Expired { .. } => "the token has expired",
            ValidationError::NotYetValid { .. } => "the token is not valid yet",
            ValidationError::UntrustedIssuer
            | ValidationError::TenantNotAllowed { .. }
            | ValidationError::TenantMismatch
            | ValidationError::KeyIssuerMismatch => "the token's issuer is not accepted",
            ValidationError::AudienceMismatch { .. } => "the token is for another audience",
            ValidationError::IdToken => "an ID token is not an access token",
            ValidationError::Unclassified { .. } => {
                "the token is neither a recognised user token nor a recognised application token"
            }
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationError::TooLarge { limit } => {
                write!(f, "the token is larger than the {limit}-byte cap; it was not decoded")
            }
            ValidationError::NotCompactJws => f.write_str(
                "not a compact JWS: expected three base64url segments separated by dots \
                 (JWE and the JSON serialization are refused)",
            ),
            ValidationError::InvalidBase64(part) => {
                write!(f, "the {part} is not canonical unpadded base64url")
            }
            ValidationError::InvalidJson(part) => {
                write!(f, "the {part} is not a UTF-8 JSON object")
            }
            ValidationError::DuplicateMember(part) => {
                write!(f, "the {part} repeats a member name; duplicates are never resolved")
            }
            ValidationError::MissingSignature => f.write_str("the signature segment is empty"),
            ValidationError::MissingAlgorithm => {
                f.write_str("the header has no alg, or alg is not a string")
            }
            ValidationError::AlgorithmNone => f.write_str("alg \"none\" is never accepted"),
            ValidationError::SymmetricAlgorithm => f.write_str(
                "HMAC algorithms (HS256/HS384/HS512) are never accepted: an API verifies with \
                 its identity provider's public keys",
            ),
            ValidationError::UnsupportedAlgorithm => f.write_str("alg is not a known algorithm"),
            ValidationError::AlgorithmNotAllowed(alg) => write!(
                f,
                "alg {alg} is not in this API's allow-list; add it with \
                 ValidatorBuilder::algorithms if your provider signs with it"
            ),
            ValidationError::CriticalHeader => {
                f.write_str("the header has crit: no JWS extension is understood")
            }
            ValidationError::RemoteKeyReference => f.write_str(
                "the header has jku or x5u: keys are only taken from the configured key set",
            ),
            ValidationError::EmbeddedKey => f.write_str(
                "the header embeds a key (jwk or x5c): keys are only taken from the configured key set",
            ),
            ValidationError::UnsupportedStructure => f.write_str(
                "the header has cty, enc, zip or b64: nested, encrypted or unencoded tokens are refused",
            ),
            ValidationError::UnacceptedType => f.write_str(
                "the header's typ is not an accepted access-token type (by default: absent, JWT, \
                 at+jwt, application/at+jwt; see ValidatorBuilder::accepted_types)",
            ),
            ValidationError::IssuedForAnotherApi => f.write_str(
                "the header has a nonce: this token was issued for Microsoft Graph or another \
                 first-party API and cannot be verified here; request a token for this API's \
                 scope (e.g. api://<client-id>/.default) instead",
            ),
            ValidationError::MissingKeyId => f.write_str("the header has neither kid nor x5t"),
            ValidationError::InvalidKeyId => f.write_str(
                "the header's kid or x5t is not a string, is over 256 bytes, or has control characters",
            ),
            ValidationError::UnknownKey => f.write_str(
                "no key in the current key set has the token's kid; the key may have rolled \
                 (the key set is refreshed) or the token comes from another identity provider",
            ),
            ValidationError::KeysUnavailable => f.write_str(
                "the identity provider's signing keys are not available (never fetched, or older \
                 than the configured maximum staleness); check that the metadata and JWKS URLs \
                 are reachable (the JWKS cache logs each failed fetch)",
            ),
            ValidationError::KeyAlgorithmMismatch(alg) => {
                write!(f, "the signing key named by the header cannot verify {alg}")
            }
            ValidationError::InvalidSignature => f.write_str("the signature does not verify"),
            ValidationError::MissingClaim(claim) => write!(f, "the required claim {claim} is absent"),
            ValidationError::InvalidClaim(claim) => {
                write!(f, "the claim {claim} has the wrong type or an invalid value")
            }
            ValidationError::Expired { seconds_ago } => write!(
                f,
                "the token expired {seconds_ago} s ago (beyond the leeway); clients must refresh tokens"
            ),
            ValidationError::NotYetValid { seconds_ahead } => write!(
                f,
                "the token is not valid for another {seconds_ahead} s (nbf beyond the leeway); check clock skew"
            ),
            ValidationError::UntrustedIssuer => f.write_str(
                "the issuer matches no configured issuer (compared byte for byte); check the \
                 tenant, the instance host and v1 (https://sts.windows.net/{tid}/) vs v2 \
                 (https://login.microsoftonline.com/{tid}/v2.0) issuers",
            ),
            ValidationError::TenantNotAllowed { tenant, version, allowed } => {
                write!(f, "the issuer is a {version} issuer for tenant {tenant}; ")?;
                if allowed.is_empty() {
                    f.write_str("this API's tenant filter refused it")
                } else {
                    write!(f, "this API accepts tenants [{}]", allowed.join(", "))
                }
            }
            ValidationError::TenantMismatch => f.write_str(
                "tid is missing, not a GUID, or differs from the tenant in iss",
            ),
            ValidationError::KeyIssuerMismatch => f.write_str(
                "the signing key is published for another issuer (the JWK's issuer, after \
                 {tenantid} substitution, differs from the token's iss)",
            ),
            ValidationError::AudienceMismatch { accepted } => write!(
                f,
                "aud names none of this API's audiences [{}]; a v2 token carries the client id, \
                 a v1 token the App ID URI (api://…): configure both",
                accepted.join(", ")
            ),
            ValidationError::IdToken => f.write_str(
                "this is an ID token (it has nonce, c_hash or at_hash); send an access token \
                 requested for this API's scope",
            ),
            ValidationError::Unclassified { profile } => write!(
                f,
                "the {profile} profile found no evidence that a user or an application is behind \
                 this token (see the security guide's classification rules); check that the \
                 validator's profile matches the identity provider"
            ),
        }
    }
}

impl std::error::Error for ValidationError {}

/// A configuration the [`ValidatorBuilder`](crate::ValidatorBuilder) refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No issuer: configure a tenant, `any_tenant`, or an exact issuer.
    #[error("no issuer configured: set a tenant id, any_tenant(), or an exact issuer")]
    NoIssuer,
    /// No audience: configure a client id or an audience.
    #[error("no audience configured: set client_id() and/or audience()")]
    NoAudience,
    /// A tenant id is not a GUID.
    #[error(
        "tenant id {0:?} is not a GUID: tokens name their tenant by id (tid), so use the \
         Directory (tenant) ID from the Entra admin center, or any_tenant() for a multi-tenant API"
    )]
    InvalidTenantId(String),
    /// A client id is not a GUID.
    #[error("client id {0:?} is not a GUID")]
    InvalidClientId(String),
    /// A URL (instance, authority, issuer) is not an absolute https URL (http only for loopback).
    #[error("{0:?} is not an absolute https URL (plain http is accepted only for loopback hosts)")]
    InvalidUrl(String),
    /// An empty allow-list of algorithms.
    #[error("the algorithm allow-list is empty")]
    NoAlgorithms,
    /// A tenant allow-list (`tenant_id`/`tenant_ids`) together with `any_tenant`/`tenant_filter`:
    /// the two exclude each other.
    #[error(
        "tenant_id()/tenant_ids() and any_tenant()/tenant_filter() exclude each other: use \
         tenant_filter(|tid| ...) to combine an allow-list with a callback"
    )]
    ConflictingTenants,
    /// An empty list of accepted `typ` values and absent `typ` refused.
    #[error("{0}")]
    Invalid(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_safe_for_a_quoted_header_parameter() {
        let samples = [
            ValidationError::TooLarge { limit: 1 },
            ValidationError::IssuedForAnotherApi,
            ValidationError::IdToken,
            ValidationError::Unclassified { profile: "entra" },
            ValidationError::AudienceMismatch {
                accepted: vec!["a\"b".into()],
            },
        ];
        for e in samples {
            let d = e.description();
            assert!(!d.contains('"') && !d.contains('\\'), "{d}");
            assert_eq!(e.error_code(), ErrorCode::InvalidToken);
        }
    }
}
