//! A parsed JWK set (RFC 7517) holding only keys that are safe to verify with.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents, VerificationAlgorithm};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use crate::Algorithm;
use crate::json;

/// JWK members are decoded leniently about padding (some providers pad), strictly about the
/// alphabet. Tokens themselves are decoded strictly (see `jws.rs`).
const JWK_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// RSA keys below this size are dropped at load (RFC 8725 §3.5, NIST SP 800-131A).
const MIN_RSA_BITS: u32 = 2048;
/// RSA keys above this size are dropped at load: aws-lc-rs refuses them and they cost CPU.
const MAX_RSA_BITS: u32 = 8192;
/// A key set with more keys than this is refused (Entra publishes fewer than ten).
const MAX_KEYS: usize = 100;
/// Key ids longer than this are not indexed (a hostile `kid` in a token is refused by the
/// validator before lookup, see checklist rule 10).
pub(crate) const MAX_KID_LEN: usize = 256;

/// Why a whole key-set document was refused. A JWKS cache keeps its last good set when this
/// happens.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeySetError {
    /// The document is not a JSON object, or not valid JSON.
    #[error("the key set is not a valid JSON object")]
    InvalidJson,
    /// A member name appears twice in one object of the document.
    #[error("the key set repeats a member name in one JSON object")]
    DuplicateMember,
    /// There is no `keys` array.
    #[error("the key set has no \"keys\" array")]
    MissingKeys,
    /// Two keys share one `kid`: a validator could not tell which one signed a token.
    #[error("the key set has two keys with the same kid {kid:?}")]
    DuplicateKeyId {
        /// The repeated key id.
        kid: String,
    },
    /// More keys than a key set may hold.
    #[error("the key set has {count} keys; at most {MAX_KEYS} are accepted")]
    TooManyKeys {
        /// How many keys the document has.
        count: usize,
    },
    /// Every key was dropped (see [`KeySet::dropped`] for why), so nothing could be verified.
    #[error("the key set has no usable signing key ({dropped} dropped)")]
    NoUsableKeys {
        /// How many keys were dropped.
        dropped: usize,
    },
}

/// Why one key of a set was left out at load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// A symmetric (`oct`) key: never acceptable for verifying third-party tokens.
    SymmetricKey,
    /// A key type this crate does not verify with (e.g. `OKP`), or a missing `kty`.
    UnsupportedKeyType,
    /// `use` is not `sig`, or `key_ops` does not include `verify`.
    NotForSignatures,
    /// An RSA modulus outside 2048–8192 bits.
    RsaKeySize {
        /// The modulus size in bits.
        bits: u32,
    },
    /// An RSA public exponent `e` that is even or below 65537 (F4): no standard key generator
    /// makes one, and small exponents enable known signature forgeries (NIST SP 800-56B /
    /// FIPS 186-5 require an odd `e` with 65537 ≤ e < 2^256).
    RsaExponent,
    /// The key's own `alg` is unknown or does not fit its key type.
    UnsupportedAlgorithm,
    /// The key has neither `kid` nor `x5t`, or a `kid` longer than 256 bytes.
    NoUsableKeyId,
    /// Members missing, of the wrong type, or not decodable, or rejected by the crypto library.
    Malformed,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::SymmetricKey => f.write_str("symmetric (oct) keys are never used"),
            DropReason::UnsupportedKeyType => f.write_str("unsupported key type"),
            DropReason::NotForSignatures => f.write_str("the key is not for verifying signatures"),
            DropReason::RsaKeySize { bits } => {
                write!(f, "RSA key of {bits} bits (2048 to 8192 accepted)")
            }
            DropReason::RsaExponent => f.write_str("the RSA exponent is even or below 65537"),
            DropReason::UnsupportedAlgorithm => {
                f.write_str("the key's alg is unknown or does not fit its type")
            }
            DropReason::NoUsableKeyId => f.write_str("no usable kid or x5t"),
            DropReason::Malformed => f.write_str("malformed key"),
        }
    }
}

/// A key that was left out of a [`KeySet`] at load, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DroppedKey {
    /// The key's `kid`, when it had a string one.
    pub kid: Option<String>,
    /// Why it was dropped.
    pub reason: DropReason,
}

/// The key type of a [`VerifyingKey`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyType {
    Rsa,
    EcP256,
    EcP384,
}

/// One signing key, parsed once into the form aws-lc-rs verifies with.
pub struct VerifyingKey {
    /// The `kid`, else the `x5t`: shared with the claims of every token this key verifies.
    id: Arc<str>,
    kid: Option<String>,
    x5t: Option<String>,
    issuer: Option<String>,
    alg: Option<Algorithm>,
    key_type: KeyType,
    /// The RFC 7638 JWK thumbprint (SHA-256) of the public key material.
    thumbprint: [u8; 32],
    /// One pre-parsed key per algorithm this key may be used with, indexed by `Algorithm::index`.
    parsed: [Option<ParsedPublicKey>; 8],
}

impl VerifyingKey {
    /// The key id (`kid`), if the JWK had one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The X.509 thumbprint (`x5t`), if the JWK had one.
    pub fn x5t(&self) -> Option<&str> {
        self.x5t.as_deref()
    }

    /// The JWK's `issuer` member (an Entra extension, possibly a `{tenantid}` template).
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The JWK's own `alg`, if it declared one.
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.alg
    }

    /// A name for logs: the `kid`, else the `x5t`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key's RFC 7638 JWK thumbprint: SHA-256 over the canonical JSON of its public
    /// material (`e`, `kty`, `n` for RSA; `crv`, `kty`, `x`, `y` for EC). Two keys with one
    /// thumbprint are the same key, whatever their `kid`; a `kid` re-published with new
    /// material has a new thumbprint.
    /// (<https://www.rfc-editor.org/rfc/rfc7638#section-3.2>)
    pub fn thumbprint(&self) -> &[u8; 32] {
        &self.thumbprint
    }

    /// Whether `id` is this key's [`id`](Self::id) string itself (the one the claims of
    /// tokens it verified share), not just an equal string. Sound as an identity: whoever
    /// holds `id` (claims hold an `Arc` of it) keeps that allocation alive, so no other key's
    /// id can live at the same address.
    pub(crate) fn owns_id(&self, id: &str) -> bool {
        std::ptr::eq(self.id.as_ptr(), id.as_ptr()) && self.id.len() == id.len()
    }

    /// [`VerifyingKey::id`], shared (a reference-count increment, no copy).
    pub(crate) fn shared_id(&self) -> Arc<str> {
        Arc::clone(&self.id)
    }

    /// Whether this key may verify `alg`: the key type fits and the JWK's own `alg`, if any,
    /// is the same.
    pub fn fits(&self, alg: Algorithm) -> bool {
        self.parsed[alg.index()].is_some()
    }

    /// Verifies `signature` over `message` with `alg`. `false` when the key does not fit the
    /// algorithm or the signature is wrong.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        match &self.parsed[alg.index()] {
            Some(key) => key.verify_sig(message, signature).is_ok(),
            None => false,
        }
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("x5t", &self.x5t)
            .field("type", &self.key_type)
            .field("alg", &self.alg)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// An immutable set of verified-safe signing keys, parsed from a JWKS document.
///
/// Parsing does all the expensive work once: each usable key becomes a ready-to-verify
/// aws-lc-rs key, so validating a token never parses key material. At load:
/// symmetric (`oct`) keys, RSA keys under 2048 bits, keys whose `use` is not `sig` or whose
/// `key_ops` lacks `verify`, and keys whose own `alg` does not fit their type are dropped
/// (see [`KeySet::dropped`]); two keys with one `kid` refuse the whole document.
///
/// ```
/// use auth_layer::KeySet;
/// let keys = KeySet::from_jwks_json(br#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"s"}]}"#);
/// // A set with nothing but a symmetric key has no usable key at all.
/// assert!(keys.is_err());
/// ```
pub struct KeySet {
    keys: Vec<VerifyingKey>,
    dropped: Vec<DroppedKey>,
}

impl KeySet {
    /// A set with no keys: every token fails with an unknown-key error.
    pub fn empty() -> Self {
        Self {
            keys: Vec::new(),
            dropped: Vec::new(),
        }
    }

    /// Parses a JWKS document (`{"keys": [...]}`).
    ///
    /// # Errors
    /// [`KeySetError`] when the document is not a strict JSON object with a `keys` array, has
    /// duplicate `kid`s or more than 100 keys, or has no usable key.
    pub fn from_jwks_json(document: &[u8]) -> Result<Self, KeySetError> {
        json::check_strict(document).map_err(|e| match e {
            json::JsonError::DuplicateMember => KeySetError::DuplicateMember,
            json::JsonError::Invalid => KeySetError::InvalidJson,
        })?;
        let value: Value =
            serde_json::from_slice(document).map_err(|_| KeySetError::InvalidJson)?;
        let Some(root) = value.as_object() else {
            return Err(KeySetError::InvalidJson);
        };
        let Some(Value::Array(jwks)) = root.get("keys") else {
            return Err(KeySetError::MissingKeys);
        };
        if jwks.len() > MAX_KEYS {
            return Err(KeySetError::TooManyKeys { count: jwks.len() });
        }

        let mut seen_kids: Vec<&str> = Vec::with_capacity(jwks.len());
        for jwk in jwks {
            if let Some(kid) = jwk.get("kid").and_then(Value::as_str) {
                if seen_kids.contains(&kid) {
                    return Err(KeySetError::DuplicateKeyId {
                        kid: kid.to_owned(),
                    });
                }
                seen_kids.push(kid);
            }
        }

        let mut keys = Vec::with_capacity(jwks.len());
        let mut dropped = Vec::new();
        for jwk in jwks {
            match parse_jwk(jwk) {
                Ok(key) => keys.push(key),
                Err(reason) => dropped.push(DroppedKey {
                    kid: jwk.get("kid").and_then(Value::as_str).map(str::to_owned),
                    reason,
                }),
            }
        }
        if keys.is_empty() {
            return Err(KeySetError::NoUsableKeys {
                dropped: dropped.len(),
            });
        }
        Ok(Self { keys, dropped })
    }

    /// The number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no usable key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The usable keys.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// The keys left out at load, with the reason for each.
    pub fn dropped(&self) -> &[DroppedKey] {
        &self.dropped
    }

    /// Whether a key with this `kid` is in the set.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Finds the key a token header names: by `kid` when the header has one, otherwise by
    /// `x5t` (matched against each key's `x5t`, then its `kid`, as Entra v1 tokens need).
    pub fn find(&self, kid: Option<&str>, x5t: Option<&str>) -> Option<&VerifyingKey> {
        match (kid, x5t) {
            (Some(kid), _) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
            (None, Some(x5t)) => self
                .keys
                .iter()
                .find(|k| k.x5t.as_deref() == Some(x5t))
                .or_else(|| self.keys.iter().find(|k| k.kid.as_deref() == Some(x5t))),
            (None, None) => None,
        }
    }
}

impl Default for KeySet {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field(
                "keys",
                &self.keys.iter().map(VerifyingKey::id).collect::<Vec<_>>(),
            )
            .field("dropped", &self.dropped)
            .finish()
    }
}

fn params(alg: Algorithm) -> &'static dyn VerificationAlgorithm {
    match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
    }
}

fn rsa_params(alg: Algorithm) -> Option<&'static signature::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        Algorithm::ES256 | Algorithm::ES384 => return None,
    })
}

fn optional_str(jwk: &Map<String, Value>, name: &str) -> Result<Option<String>, DropReason> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(DropReason::Malformed),
    }
}

fn decode_member(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, DropReason> {
    let text = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or(DropReason::Malformed)?;
    JWK_BASE64.decode(text).map_err(|_| DropReason::Malformed)
}

fn parse_jwk(jwk: &Value) -> Result<VerifyingKey, DropReason> {
    let jwk = jwk.as_object().ok_or(DropReason::Malformed)?;
    let kty = jwk
        .get("kty")
        .and_then(Value::as_str)
        .ok_or(DropReason::UnsupportedKeyType)?;
    if kty == "oct" {
        return Err(DropReason::SymmetricKey);
    }
    if let Some(use_) = jwk.get("use")
        && use_.as_str() != Some("sig")
    {
        return Err(DropReason::NotForSignatures);
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err(DropReason::NotForSignatures);
        }
    }
    let kid = optional_str(jwk, "kid")?;
    let x5t = optional_str(jwk, "x5t")?;
    let issuer = optional_str(jwk, "issuer")?;
    if kid.is_none() && x5t.is_none() || kid.as_ref().is_some_and(|k| k.len() > MAX_KID_LEN) {
        return Err(DropReason::NoUsableKeyId);
    }
    let alg = match optional_str(jwk, "alg")? {
        None => None,
        Some(name) => Some(Algorithm::from_name(&name).ok_or(DropReason::UnsupportedAlgorithm)?),
    };

    let mut parsed: [Option<ParsedPublicKey>; 8] = Default::default();
    let thumbprint;
    let key_type = match kty {
        "RSA" => {
            let n = decode_member(jwk, "n")?;
            let e = decode_member(jwk, "e")?;
            let n = strip_leading_zeros(&n);
            let bits = bit_length(n);
            if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                return Err(DropReason::RsaKeySize { bits });
            }
            let e = strip_leading_zeros(&e);
            if !rsa_exponent_is_acceptable(e) {
                return Err(DropReason::RsaExponent);
            }
            thumbprint = jwk_thumbprint(&[("e", e), ("kty", b"RSA"), ("n", n)]);
            let components = RsaPublicKeyComponents { n, e };
            // A JWK without `alg` verifies its family's default only (RS256), not every RSA
            // algorithm the validator allows: RFC 7517 §4.4 makes `alg` the key's intended
            // algorithm, and a key is used with one algorithm (RFC 8725 §3.1).
            let intended = alg.unwrap_or(Algorithm::RS256);
            for candidate in Algorithm::ALL {
                if candidate != intended {
                    continue;
                }
                if let Some(p) = rsa_params(candidate) {
                    let key = components
                        .to_parsed_public_key(p)
                        .map_err(|_| DropReason::Malformed)?;
                    parsed[candidate.index()] = Some(key);
                }
            }
            KeyType::Rsa
        }
        "EC" => {
            let (key_type, alg_for_curve, len, crv) = match jwk.get("crv").and_then(Value::as_str) {
                Some("P-256") => (KeyType::EcP256, Algorithm::ES256, 32, "P-256"),
                Some("P-384") => (KeyType::EcP384, Algorithm::ES384, 48, "P-384"),
                _ => return Err(DropReason::UnsupportedKeyType),
            };
            if alg.is_some_and(|a| a != alg_for_curve) {
                return Err(DropReason::UnsupportedAlgorithm);
            }
            let x = decode_member(jwk, "x")?;
            let y = decode_member(jwk, "y")?;
            if x.len() != len || y.len() != len {
                return Err(DropReason::Malformed);
            }
            thumbprint = jwk_thumbprint(&[
                ("crv", crv.as_bytes()),
                ("kty", b"EC"),
                ("x", &x),
                ("y", &y),
            ]);
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let key = ParsedPublicKey::new(params(alg_for_curve), &point)
                .map_err(|_| DropReason::Malformed)?;
            parsed[alg_for_curve.index()] = Some(key);
            key_type
        }
        _ => return Err(DropReason::UnsupportedKeyType),
    };
    if parsed.iter().all(Option::is_none) {
        // An RSA key whose own alg is an EC algorithm, for instance.
        return Err(DropReason::UnsupportedAlgorithm);
    }
    Ok(VerifyingKey {
        id: kid.as_deref().or(x5t.as_deref()).unwrap_or("").into(),
        kid,
        x5t,
        issuer,
        alg,
        key_type,
        thumbprint,
        parsed,
    })
}

/// Whether a big-endian RSA exponent (without leading zeros) is odd and at least 65537.
fn rsa_exponent_is_acceptable(e: &[u8]) -> bool {
    let Some(last) = e.last() else {
        return false;
    };
    let at_least_f4 = e.len() > 3 || e.iter().fold(0u32, |v, b| (v << 8) | u32::from(*b)) >= 65_537;
    last & 1 == 1 && at_least_f4
}

/// The RFC 7638 thumbprint over `members` (name, raw value), given in lexicographic order:
/// `kty` and `crv` are written as they are, the others base64url-encoded without padding.
fn jwk_thumbprint(members: &[(&str, &[u8])]) -> [u8; 32] {
    let mut json = String::with_capacity(1200);
    json.push('{');
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push('"');
        json.push_str(name);
        json.push_str("\":\"");
        if matches!(*name, "kty" | "crv") {
            json.push_str(&String::from_utf8_lossy(value));
        } else {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(value, &mut json);
        }
        json.push('"');
    }
    json.push('}');
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, json.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

fn bit_length(n: &[u8]) -> u32 {
    match n.first() {
        None => 0,
        Some(first) => {
            let len = u32::try_from(n.len()).unwrap_or(u32::MAX / 16);
            (len - 1) * 8 + (8 - first.leading_zeros())
        }
    }
}

#[cfg(test)]
fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1's worked example: the RSA key of RFC 7517 Appendix A.1.
    /// <https://www.rfc-editor.org/rfc/rfc7638#section-3.1>
    #[test]
    fn thumbprint_is_rfc_7638s() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let jwks = format!(
            r#"{{"keys":[{{"kty":"RSA","n":"{n}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}]}}"#
        );
        let keys = KeySet::from_jwks_json(jwks.as_bytes()).unwrap();
        assert_eq!(
            encode(keys.keys()[0].thumbprint()),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn bit_length_counts_significant_bits() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0x80, 0]), 16);
        assert_eq!(bit_length(&[0x7f; 256]), 2047);
    }

    #[test]
    fn refuses_documents_that_are_not_key_sets() {
        assert_eq!(
            KeySet::from_jwks_json(b"[]").unwrap_err(),
            KeySetError::InvalidJson
        );
        assert_eq!(
            KeySet::from_jwks_json(b"<html>").unwrap_err(),
            KeySetError::InvalidJson
        );
        assert_eq!(
            KeySet::from_jwks_json(b"{}").unwrap_err(),
            KeySetError::MissingKeys
        );
        assert_eq!(
            KeySet::from_jwks_json(br#"{"keys":[],"keys":[]}"#).unwrap_err(),
            KeySetError::DuplicateMember
        );
        assert_eq!(
            KeySet::from_jwks_json(br#"{"keys":[]}"#).unwrap_err(),
            KeySetError::NoUsableKeys { dropped: 0 }
        );
    }

    #[test]
    fn symmetric_keys_are_dropped_at_load() {
        let err = KeySet::from_jwks_json(br#"{"keys":[{"kty":"oct","kid":"k","k":"AAAA"}]}"#);
        assert_eq!(err.unwrap_err(), KeySetError::NoUsableKeys { dropped: 1 });
        let jwk: Value = serde_json::from_str(r#"{"kty":"oct","kid":"k","k":"AAAA"}"#).unwrap();
        assert_eq!(parse_jwk(&jwk).unwrap_err(), DropReason::SymmetricKey);
    }

    #[test]
    fn keys_not_for_signing_are_dropped() {
        for jwk in [
            r#"{"kty":"RSA","kid":"k","use":"enc","n":"AQAB","e":"AQAB"}"#,
            r#"{"kty":"RSA","kid":"k","key_ops":["encrypt"],"n":"AQAB","e":"AQAB"}"#,
        ] {
            let jwk: Value = serde_json::from_str(jwk).unwrap();
            assert_eq!(parse_jwk(&jwk).unwrap_err(), DropReason::NotForSignatures);
        }
    }

    #[test]
    fn rsa_keys_with_a_small_or_even_exponent_are_dropped() {
        let n = encode(&[0xC5; 256]); // 2048 bits
        for e in ["Aw", "AQAC", "AQAA", "AP__", ""] {
            // 3, 65538, 65536, 65535, empty
            let jwk = serde_json::json!({"kty":"RSA","kid":"k","n":n,"e":e});
            assert!(
                matches!(
                    parse_jwk(&jwk).unwrap_err(),
                    DropReason::RsaExponent | DropReason::Malformed
                ),
                "{e}"
            );
        }
        assert!(rsa_exponent_is_acceptable(&[1, 0, 1]));
        assert!(rsa_exponent_is_acceptable(&[1, 0, 0, 0, 1]));
        assert!(!rsa_exponent_is_acceptable(&[3]));
        assert!(!rsa_exponent_is_acceptable(&[1, 0, 2]));
        assert_eq!(
            DropReason::RsaExponent.to_string(),
            "the RSA exponent is even or below 65537"
        );
    }

    #[test]
    fn small_rsa_keys_are_dropped() {
        let n = encode(&[0xC5; 128]); // 1024 bits
        let jwk = serde_json::json!({"kty":"RSA","kid":"k","n":n,"e":"AQAB"});
        assert_eq!(
            parse_jwk(&jwk).unwrap_err(),
            DropReason::RsaKeySize { bits: 1024 }
        );
    }
}
