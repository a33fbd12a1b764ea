//! Compact JWS (RFC 7515 §7.1) parsing: structure, canonical base64url, the JOSE header.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::error::{TokenPart, ValidationError};
use crate::json::{self, Captured, JsonError};
use crate::jwks::key_set::MAX_KID_LEN;

/// Canonical base64url: URL-safe alphabet, no padding, no non-zero trailing bits (checklist 18).
const STRICT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// The largest signature we decode: an RSA-8192 signature is 1,024 bytes.
pub(crate) const MAX_SIGNATURE_LEN: usize = 1024;

/// The three segments of a compact JWS, still encoded.
pub(crate) struct Compact<'t> {
    pub(crate) header: &'t str,
    pub(crate) payload: &'t str,
    pub(crate) signature: &'t str,
    /// `header || '.' || payload`: the JWS signing input.
    pub(crate) signing_input: &'t [u8],
}

/// Splits a token into its three segments at its two dots (the signature may be empty: the
/// caller reports that after the header, so `alg: none` is named as such). Any other byte that
/// is not base64url is refused by the strict decoder of its segment.
pub(crate) fn split(token: &str) -> Result<Compact<'_>, ValidationError> {
    // `find`/`rfind`/`contains` of a `char` use core's word-at-a-time memchr.
    let (Some(first), Some(second)) = (token.find('.'), token.rfind('.')) else {
        return Err(ValidationError::NotCompactJws);
    };
    if first == second || token[first + 1..second].contains('.') {
        // Two or four-plus segments (JWE has five).
        return Err(ValidationError::NotCompactJws);
    }
    if first == 0 || second == first + 1 {
        // An empty header or payload.
        return Err(ValidationError::NotCompactJws);
    }
    Ok(Compact {
        header: &token[..first],
        payload: &token[first + 1..second],
        signature: &token[second + 1..],
        signing_input: &token.as_bytes()[..second],
    })
}

/// Decodes one segment strictly.
pub(crate) fn decode(segment: &str, part: TokenPart) -> Result<Vec<u8>, ValidationError> {
    STRICT
        .decode(segment)
        .map_err(|_| ValidationError::InvalidBase64(part))
}

/// Decodes the signature into `buf` without allocating; returns the signature bytes.
pub(crate) fn decode_signature<'b>(
    segment: &str,
    buf: &'b mut [u8; MAX_SIGNATURE_LEN],
) -> Result<&'b [u8], ValidationError> {
    if segment.len() > (MAX_SIGNATURE_LEN * 4).div_ceil(3) {
        return Err(ValidationError::InvalidSignature);
    }
    let len = STRICT
        .decode_slice(segment, buf)
        .map_err(|_| ValidationError::InvalidBase64(TokenPart::Signature))?;
    Ok(&buf[..len])
}

/// What a validator needs from a JOSE header, after every header rule has passed.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) x5t: Option<String>,
}

/// Which `typ` values are accepted (checklist 14).
#[derive(Clone, Debug)]
pub(crate) struct TypPolicy {
    pub(crate) allow_absent: bool,
    /// Accepted values, compared ASCII case-insensitively (media types are case-insensitive).
    pub(crate) accepted: Vec<String>,
}

impl Default for TypPolicy {
    fn default() -> Self {
        Self {
            allow_absent: true,
            accepted: vec!["JWT".into(), "at+jwt".into(), "application/at+jwt".into()],
        }
    }
}

/// The header members the rules look at.
fn header_member(name: &str) -> Option<&'static str> {
    Some(match name {
        "alg" => "alg",
        "kid" => "kid",
        "x5t" => "x5t",
        "typ" => "typ",
        "cty" => "cty",
        "crit" => "crit",
        "jku" => "jku",
        "x5u" => "x5u",
        "jwk" => "jwk",
        "x5c" => "x5c",
        "nonce" => "nonce",
        "enc" => "enc",
        "zip" => "zip",
        "b64" => "b64",
        _ => return None,
    })
}

/// Parses the decoded header and applies the header rules, in a fixed order so that the most
/// specific error wins.
pub(crate) fn parse_header(
    bytes: &[u8],
    allowed: AlgorithmSet,
    typ: &TypPolicy,
) -> Result<Header, ValidationError> {
    let members = json::parse_object(bytes, header_member).map_err(|e| match e {
        JsonError::DuplicateMember => ValidationError::DuplicateMember(TokenPart::Header),
        JsonError::Invalid => ValidationError::InvalidJson(TokenPart::Header),
    })?;

    let mut alg = None;
    let mut kid = None;
    let mut x5t = None;
    let mut typ_value = None;
    for (name, value) in members {
        match name {
            "alg" => alg = Some(value),
            "kid" => kid = Some(value),
            "x5t" => x5t = Some(value),
            "typ" => typ_value = Some(value),
            "nonce" => return Err(ValidationError::IssuedForAnotherApi),
            "crit" => return Err(ValidationError::CriticalHeader),
            "jku" | "x5u" => return Err(ValidationError::RemoteKeyReference),
            "jwk" | "x5c" => return Err(ValidationError::EmbeddedKey),
            _ => return Err(ValidationError::UnsupportedStructure), // cty, enc, zip, b64
        }
    }

    let alg = match alg {
        Some(Captured::Str(name)) => algorithm(&name, allowed)?,
        _ => return Err(ValidationError::MissingAlgorithm),
    };

    match typ_value {
        None if typ.allow_absent => {}
        Some(Captured::Str(t)) if typ.accepted.iter().any(|a| a.eq_ignore_ascii_case(&t)) => {}
        _ => return Err(ValidationError::UnacceptedType),
    }

    let kid = key_id(kid)?;
    let x5t = key_id(x5t)?;
    if kid.is_none() && x5t.is_none() {
        return Err(ValidationError::MissingKeyId);
    }
    Ok(Header { alg, kid, x5t })
}

fn algorithm(name: &str, allowed: AlgorithmSet) -> Result<Algorithm, ValidationError> {
    if name.eq_ignore_ascii_case("none") {
        return Err(ValidationError::AlgorithmNone);
    }
    if matches!(name, "HS256" | "HS384" | "HS512") {
        return Err(ValidationError::SymmetricAlgorithm);
    }
    let alg = Algorithm::from_name(name).ok_or(ValidationError::UnsupportedAlgorithm)?;
    if !allowed.contains(alg) {
        return Err(ValidationError::AlgorithmNotAllowed(alg));
    }
    Ok(alg)
}

fn key_id(value: Option<Captured>) -> Result<Option<String>, ValidationError> {
    match value {
        None => Ok(None),
        Some(Captured::Str(s))
            if !s.is_empty() && s.len() <= MAX_KID_LEN && !s.chars().any(char::is_control) =>
        {
            Ok(Some(s))
        }
        Some(_) => Err(ValidationError::InvalidKeyId),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_accepts_three_segments_only() {
        assert!(split("a.b.c").is_ok());
        for bad in [
            "a.b",
            "a.b.c.d",
            "a.b.c.d.e",
            "a.b.c.d.e.f",
            ".b.c",
            "a..c",
            "{\"a\":1}",
        ] {
            assert_eq!(
                split(bad).err(),
                Some(ValidationError::NotCompactJws),
                "{bad}"
            );
        }
        assert_eq!(split("a.b.").map(|c| c.signature).ok(), Some(""));
    }

    #[test]
    fn bytes_outside_base64url_are_refused_by_the_strict_decoder() {
        for bad in ["QQ=", "Q+", "Q/", "Q Q", "QQ\n", "Q\u{e9}"] {
            assert!(decode(bad, TokenPart::Header).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn decoding_refuses_non_canonical_trailing_bits() {
        // "QQ" is canonical for b"A"; "QR" carries non-zero trailing bits.
        assert_eq!(decode("QQ", TokenPart::Header).unwrap(), b"A");
        assert!(decode("QR", TokenPart::Header).is_err());
    }

    #[test]
    fn alg_none_in_any_case_is_refused() {
        for name in ["none", "None", "NONE", "nOnE"] {
            assert_eq!(
                algorithm(name, AlgorithmSet::only(Algorithm::RS256)),
                Err(ValidationError::AlgorithmNone)
            );
        }
    }
}
