//! Deliberately broken tokens, **for negative tests only**.
//!
//! Every function here returns something a correct validator must reject:
//! `alg: none`, HMAC algorithm confusion with a public key as the secret,
//! duplicate JSON members, non-canonical base64url, malformed ECDSA and RSA
//! signatures, wrong segment counts, oversized tokens... Each is documented
//! with the attack or the parser bug it probes, so a security test can read
//! as a table:
//!
//! ```
//! use auth_testkit::{TestKey, TokenBuilder, dangerous};
//!
//! let claims = TokenBuilder::delegated().claims_json();
//! let valid = TokenBuilder::delegated().sign();
//! let must_reject: Vec<(&str, String)> = vec![
//!     ("alg none", dangerous::alg_none(&claims, "none", false)),
//!     ("alg nOnE", dangerous::alg_none(&claims, "nOnE", true)),
//!     ("HS256 with the RSA public key", dangerous::hmac_confusion(
//!         &claims, "HS256", TestKey::rsa_a().public_key_pem().as_bytes())),
//!     ("padded signature", dangerous::with_padding(&valid)),
//!     ("psychic signature", dangerous::ecdsa_zero_signature(&claims)),
//!     ("two segments", dangerous::with_segments(&valid, 2)),
//! ];
//! # assert_eq!(must_reject.len(), 6);
//! ```
//!
//! Helpers that re-sign use the checked-in test keys: [`TestKey::rsa_a`]
//! with `RS256` unless stated otherwise, so a validator loaded with
//! `default_jwks()` would accept the token *but for* the defect under test.
//! Helpers that take a `claims: &Value` serialize it with serde_json
//! (members sorted); get one from
//! [`TokenBuilder::claims_json`](crate::TokenBuilder::claims_json).

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};

use crate::mint::{self, sign_compact};
use crate::{TestKey, TokenBuilder, base64url};

/// Signs the **exact** header and payload text given (so duplicate members,
/// odd whitespace or member order survive) with `key` and `alg`, and returns
/// the compact JWS.
///
/// ```
/// use auth_testkit::{TestKey, dangerous};
///
/// let token = dangerous::sign_raw(
///     r#"{"alg":"RS256","kid":"testkit-rsa-a","alg":"none"}"#,
///     r#"{"sub":"x"}"#,
///     TestKey::rsa_a(),
///     "RS256",
/// );
/// assert_eq!(token.split('.').count(), 3);
/// ```
pub fn sign_raw(header_json: &str, payload_json: &str, key: &TestKey, alg: &str) -> String {
    sign_compact(header_json.as_bytes(), payload_json.as_bytes(), key, alg)
}

/// [`sign_raw`] for arbitrary bytes (invalid UTF-8, a byte-order mark, ...).
pub fn sign_raw_bytes(header: &[u8], payload: &[u8], key: &TestKey, alg: &str) -> String {
    sign_compact(header, payload, key, alg)
}

/// Signs already-encoded segments exactly as given: for tokens whose
/// header or payload *encoding* is non-canonical yet correctly signed (the
/// JWS signing input is the encoded text, not the decoded bytes).
///
/// ```
/// use auth_testkit::{TestKey, base64url, dangerous};
///
/// // 13 bytes of JSON: 18 base64url characters, then "==" padding.
/// let padded = format!("{}==", base64url(r#"{"sub":"abc"}"#));
/// let header = base64url(r#"{"alg":"RS256","kid":"testkit-rsa-a"}"#);
/// let token = dangerous::sign_segments(&header, &padded, TestKey::rsa_a(), "RS256");
/// assert!(token.contains("==."));
/// ```
pub fn sign_segments(header_b64: &str, payload_b64: &str, key: &TestKey, alg: &str) -> String {
    mint::sign_segments(header_b64, payload_b64, key, alg)
}

/// Joins three already-encoded segments with `.`, no signing.
///
/// ```
/// assert_eq!(auth_testkit::dangerous::assemble("a", "b", ""), "a.b.");
/// ```
pub fn assemble(header_b64: &str, payload_b64: &str, sig_b64: &str) -> String {
    format!("{header_b64}.{payload_b64}.{sig_b64}")
}

/// The default header for `alg` and `key`: `{"typ":"JWT","alg":…,"kid":…}`.
fn header_text(alg: &str, kid: &str) -> String {
    format!(
        r#"{{"typ":"JWT","alg":{},"kid":{}}}"#,
        json!(alg),
        json!(kid)
    )
}

/// The three segments of a compact token.
///
/// # Panics
///
/// If `token` does not have exactly three `.`-separated segments.
fn split(token: &str) -> [&str; 3] {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => [h, p, s],
        _ => panic!("dangerous: expected a compact JWS with three segments, got {token:?}"),
    }
}

/// Decodes a strict base64url segment of a testkit token.
fn decode(segment: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap_or_else(|err| panic!("dangerous: segment {segment:?} is not base64url: {err}"))
}

/// `alg: none` (RFC 7515 "Unsecured JWS") with the given spelling of `none`
/// (`"none"`, `"None"`, `"NONE"`, `"nOnE"`, ...), rsa-a's `kid`, and either an
/// empty signature (`with_signature == false`) or a genuine RS256 signature
/// by rsa-a over the same signing input, so the token is rejected only for
/// its `alg`.
///
/// ```
/// let claims = auth_testkit::TokenBuilder::delegated().claims_json();
/// assert!(auth_testkit::dangerous::alg_none(&claims, "none", false).ends_with('.'));
/// ```
pub fn alg_none(claims: &Value, alg_spelling: &str, with_signature: bool) -> String {
    let key = TestKey::rsa_a();
    let header = base64url(header_text(alg_spelling, key.kid()));
    let payload = base64url(claims.to_string());
    let signature = if with_signature {
        base64url(key.sign("RS256", format!("{header}.{payload}").as_bytes()))
    } else {
        String::new()
    };
    assemble(&header, &payload, &signature)
}

/// `token` with its signature removed: `header.payload.`.
pub fn empty_signature(token: &str) -> String {
    let [header, payload, _] = split(token);
    assemble(header, payload, "")
}

/// Algorithm confusion: `claims` under header `{"typ":"JWT","alg":alg,"kid":<rsa-a>}`
/// with an HMAC tag keyed by `secret`. Pass rsa-a's
/// [`public_key_pem`](TestKey::public_key_pem) or
/// [`public_key_der`](TestKey::public_key_der) (the classic attack: a
/// validator that feeds the "key" to HMAC accepts), or `b""` for an empty
/// secret.
///
/// # Panics
///
/// If `alg` is not `HS256`, `HS384` or `HS512`.
///
/// ```
/// use auth_testkit::{TestKey, TokenBuilder, dangerous};
///
/// let claims = TokenBuilder::delegated().claims_json();
/// let der = dangerous::hmac_confusion(&claims, "HS256", TestKey::rsa_a().public_key_der());
/// let empty = dangerous::hmac_confusion(&claims, "HS512", b"");
/// # assert_ne!(der, empty);
/// ```
pub fn hmac_confusion(claims: &Value, alg: &str, secret: &[u8]) -> String {
    let algorithm = match alg {
        "HS256" => hmac::HMAC_SHA256,
        "HS384" => hmac::HMAC_SHA384,
        "HS512" => hmac::HMAC_SHA512,
        _ => panic!("dangerous::hmac_confusion: alg must be HS256, HS384 or HS512, not {alg:?}"),
    };
    let header = base64url(header_text(alg, TestKey::rsa_a().kid()));
    let payload = base64url(claims.to_string());
    let tag = hmac::sign(
        &hmac::Key::new(algorithm, secret),
        format!("{header}.{payload}").as_bytes(),
    );
    assemble(&header, &payload, &base64url(tag.as_ref()))
}

/// Re-signs `token` after `edit` changed its header (e.g. adding `crit`,
/// `jku`, `x5u`, `jwk`, `x5c`, `cty`, or a hostile `kid` such as `123` or a
/// 10 kB string). The payload segment is kept byte for byte; the header is
/// re-serialized (members sorted).
///
/// The token is re-signed the way the original was: with the test key named
/// by the **original** header's `kid` and the **original** `alg`.
///
/// # Panics
///
/// If the original `kid` is not a testkit key, or its `alg` is not one that
/// key signs.
///
/// ```
/// use auth_testkit::{TokenBuilder, dangerous};
/// use serde_json::json;
///
/// let token = TokenBuilder::delegated().sign();
/// let hostile = dangerous::edit_header(&token, |h| {
///     h.insert("kid".into(), json!(123));
///     h.insert("crit".into(), json!(["exp"]));
/// });
/// # assert_ne!(token, hostile);
/// ```
pub fn edit_header(token: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let [header_b64, payload_b64, _] = split(token);
    let header: Value = serde_json::from_slice(&decode(header_b64))
        .unwrap_or_else(|err| panic!("dangerous::edit_header: header is not JSON: {err}"));
    let Value::Object(mut members) = header else {
        panic!("dangerous::edit_header: header is not a JSON object");
    };
    let kid = members
        .get("kid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let key = TestKey::by_kid(kid).unwrap_or_else(|| {
        panic!("dangerous::edit_header: original kid {kid:?} is not a testkit key")
    });
    let alg = members
        .get("alg")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    edit(&mut members);
    sign_segments(
        &base64url(Value::Object(members).to_string()),
        payload_b64,
        key,
        &alg,
    )
}

/// [`edit_header`] setting one member: `with_header(&token, "jku", json!("https://evil.example/keys"))`.
pub fn with_header(token: &str, name: &str, value: Value) -> String {
    edit_header(token, |header| {
        header.insert(name.to_owned(), value);
    })
}

/// Appends `"name":value` to `members` text (an object without its closing brace).
fn push_member(text: &mut String, name: &str, value: &Value) {
    if !text.ends_with('{') {
        text.push(',');
    }
    text.push_str(&json!(name).to_string());
    text.push(':');
    text.push_str(&value.to_string());
}

/// An object's JSON text with `name` set to `first` in place (or appended),
/// and then `"name":second` appended again at the end.
fn with_duplicate(
    object: &Map<String, Value>,
    name: &str,
    first: &Value,
    second: &Value,
) -> String {
    let mut text = String::from("{");
    let mut seen = false;
    for (member, value) in object {
        if member == name {
            seen = true;
            push_member(&mut text, member, first);
        } else {
            push_member(&mut text, member, value);
        }
    }
    if !seen {
        push_member(&mut text, name, first);
    }
    push_member(&mut text, name, second);
    text.push('}');
    text
}

/// A token whose header has member `name` twice: `first` in its usual place
/// and `second` last, e.g. `duplicate_header_member(&claims, "alg",
/// json!("RS256"), json!("none"))` gives
/// `{"alg":"RS256","kid":"testkit-rsa-a","typ":"JWT","alg":"none"}`. Signed by
/// rsa-a with RS256 regardless. RFC 8725 / RFC 7515 §5.2: reject duplicates.
pub fn duplicate_header_member(claims: &Value, name: &str, first: Value, second: Value) -> String {
    let key = TestKey::rsa_a();
    let mut header = Map::new();
    header.insert("typ".into(), json!("JWT"));
    header.insert("alg".into(), json!("RS256"));
    header.insert("kid".into(), json!(key.kid()));
    let header = with_duplicate(&header, name, &first, &second);
    sign_raw(&header, &claims.to_string(), key, "RS256")
}

/// A correctly signed (rsa-a, RS256) token whose claims have member `name`
/// twice, `first` then `second`: e.g. two `aud` or two `exp` members, where
/// a first-wins and a last-wins parser disagree.
///
/// # Panics
///
/// If `claims` is not a JSON object.
///
/// ```
/// use auth_testkit::{TokenBuilder, base64url_decode, dangerous, now};
/// use serde_json::json;
///
/// let claims = TokenBuilder::delegated().claims_json();
/// let token = dangerous::duplicate_claim(&claims, "exp", json!(now() - 60), json!(now() + 3600));
/// let payload = base64url_decode(token.split('.').nth(1).unwrap()).unwrap();
/// assert_eq!(String::from_utf8(payload).unwrap().matches("\"exp\"").count(), 2);
/// ```
pub fn duplicate_claim(claims: &Value, name: &str, first: Value, second: Value) -> String {
    let Value::Object(object) = claims else {
        panic!("dangerous::duplicate_claim: claims must be a JSON object");
    };
    let key = TestKey::rsa_a();
    let payload = with_duplicate(object, name, &first, &second);
    sign_raw(&header_text("RS256", key.kid()), &payload, key, "RS256")
}

/// `token` with `=` padding appended to its **signature** segment (the only
/// segment whose text is not covered by the signature, so a lenient decoder
/// would accept the result). Every testkit key's signature length needs
/// padding (256 and 64 bytes), so the result always contains `=`.
///
/// # Panics
///
/// If the signature segment's length is already a multiple of 4.
pub fn with_padding(token: &str) -> String {
    let [header, payload, signature] = split(token);
    let pad = (4 - signature.len() % 4) % 4;
    assert!(
        pad > 0,
        "dangerous::with_padding: this signature needs no padding"
    );
    assemble(header, payload, &format!("{signature}{}", "=".repeat(pad)))
}

/// `token` with its signature segment in the *standard* base64 alphabet
/// (`+` and `/` instead of `-` and `_`): same bytes to a lenient decoder.
///
/// If the signature happens to contain neither `-` nor `_` (about 1 in 50,000
/// RSA signatures), every segment is converted instead; the result then also
/// breaks the signature, so it is still a token to reject, just less precise.
///
/// # Panics
///
/// If no segment contains `-` or `_` at all (practically impossible for a
/// real token).
pub fn with_standard_alphabet(token: &str) -> String {
    let to_standard = |segment: &str| segment.replace('-', "+").replace('_', "/");
    let [header, payload, signature] = split(token);
    let converted = if signature.contains(['-', '_']) {
        assemble(header, payload, &to_standard(signature))
    } else {
        to_standard(token)
    };
    assert_ne!(
        converted, token,
        "dangerous::with_standard_alphabet: token has no '-' or '_' to convert"
    );
    converted
}

/// `token` with a line break (`"\r\n"`) in the middle of its signature
/// segment: MIME-style decoders skip it. See [`with_whitespace_variants`]
/// for more placements.
pub fn with_whitespace(token: &str) -> String {
    let [header, payload, signature] = split(token);
    let (left, right) = signature.split_at(signature.len() / 2);
    assemble(header, payload, &format!("{left}\r\n{right}"))
}

/// Several whitespace placements, each a token to reject: leading space,
/// trailing space, trailing newline, a space after each `.`, a tab in the
/// header, a line break in the payload, a space in the signature.
pub fn with_whitespace_variants(token: &str) -> Vec<String> {
    let [header, payload, signature] = split(token);
    let middle = |s: &str, ws: &str| {
        let (left, right) = s.split_at(s.len() / 2);
        format!("{left}{ws}{right}")
    };
    vec![
        format!(" {token}"),
        format!("{token} "),
        format!("{token}\n"),
        format!("{header}. {payload}. {signature}"),
        assemble(&middle(header, "\t"), payload, signature),
        assemble(header, &middle(payload, "\n"), signature),
        assemble(header, payload, &middle(signature, " ")),
    ]
}

/// Sets a discarded low bit of the last character of `segment` (which must
/// have `len % 4` of 2 or 3): decodes to the same bytes leniently.
fn non_canonical(segment: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = segment.as_bytes().to_vec();
    let last = bytes
        .last_mut()
        .unwrap_or_else(|| panic!("dangerous: cannot make an empty segment non-canonical"));
    let index = ALPHABET
        .iter()
        .position(|c| c == last)
        .unwrap_or_else(|| panic!("dangerous: {segment:?} is not base64url"));
    // len % 4 == 2: 4 unused bits; len % 4 == 3: 2 unused bits. Set the lowest.
    assert!(
        matches!(segment.len() % 4, 2 | 3),
        "dangerous: a segment of length {} has no trailing bits",
        segment.len()
    );
    *last = ALPHABET[index | 1];
    String::from_utf8(bytes).expect("invariant: base64url alphabet is ASCII")
}

/// `token` with non-canonical trailing bits in its signature segment: the
/// last character changed so that the bits past the end of the data are not
/// zero. A lenient decoder yields the same signature bytes (so the token
/// would verify); RFC 4648 §3.5 canonical decoding rejects it. Every testkit
/// signature length leaves trailing bits (the segment length is 2 mod 4).
pub fn with_non_canonical_trailing_bits(token: &str) -> String {
    let [header, payload, signature] = split(token);
    assemble(header, payload, &non_canonical(signature))
}

/// A token whose *payload* segment is non-canonical base64url (trailing bits
/// set) yet correctly signed by rsa-a over that exact text: lenient decoders
/// see `claims`. The claims JSON is padded with trailing spaces until its
/// encoding has trailing bits.
pub fn non_canonical_payload(claims: &Value) -> String {
    let key = TestKey::rsa_a();
    let mut json = claims.to_string();
    while json.len().is_multiple_of(3) {
        json.push(' ');
    }
    let payload = non_canonical(&base64url(&json));
    sign_segments(
        &base64url(header_text("RS256", key.kid())),
        &payload,
        key,
        "RS256",
    )
}

/// A token whose *payload* segment carries `=` padding yet is correctly
/// signed by rsa-a over that exact text.
pub fn padded_payload(claims: &Value) -> String {
    let key = TestKey::rsa_a();
    let mut json = claims.to_string();
    while json.len().is_multiple_of(3) {
        json.push(' ');
    }
    let payload = URL_SAFE_NO_PAD.encode(&json);
    let payload = format!("{payload}{}", "=".repeat((4 - payload.len() % 4) % 4));
    sign_segments(
        &base64url(header_text("RS256", key.kid())),
        &payload,
        key,
        "RS256",
    )
}

/// `token` with `n` segments instead of three: `n < 3` keeps the first `n`
/// (`0` gives `""`), `n > 3` appends copies of the signature segment (so a
/// parser that only looks at the first three would accept it).
///
/// ```
/// let token = auth_testkit::TokenBuilder::delegated().sign();
/// for n in [1, 2, 4, 5, 6] {
///     assert_eq!(auth_testkit::dangerous::with_segments(&token, n).split('.').count(), n);
/// }
/// ```
pub fn with_segments(token: &str, n: usize) -> String {
    let segments = split(token);
    let mut out: Vec<&str> = segments.iter().copied().take(n).collect();
    while out.len() < n {
        out.push(segments[2]);
    }
    out.join(".")
}

/// `token` in the flattened JWS JSON serialization (RFC 7515 §7.2.2):
/// `{"payload":…,"protected":…,"signature":…}`. Access tokens are compact
/// only.
pub fn jws_json_serialization(token: &str) -> String {
    let [header, payload, signature] = split(token);
    json!({ "protected": header, "payload": payload, "signature": signature }).to_string()
}

/// A five-segment JWE-looking token (`RSA-OAEP-256` / `A256GCM`, rsa-a's
/// `kid`) with deterministic junk for the encrypted key, IV, ciphertext and
/// tag. Entra can encrypt tokens; a validator of signed tokens must refuse.
pub fn jwe_like() -> String {
    let header = json!({
        "alg": "RSA-OAEP-256",
        "enc": "A256GCM",
        "kid": TestKey::rsa_a().kid(),
        "typ": "JWT",
    });
    let junk = |len: usize, seed: u8| -> String {
        base64url(
            (0..len)
                .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
                .collect::<Vec<u8>>(),
        )
    };
    [
        base64url(header.to_string()),
        junk(256, 1),
        junk(12, 2),
        junk(300, 3),
        junk(16, 4),
    ]
    .join(".")
}

/// A token with arbitrary payload bytes, correctly signed by rsa-a (RS256):
/// non-object JSON (`b"[]"`, `b"\"x\""`, `b"null"`), invalid UTF-8, a UTF-8
/// byte-order mark before `{`, trailing garbage after the object...
///
/// ```
/// let bom = auth_testkit::dangerous::payload_bytes(b"\xef\xbb\xbf{\"sub\":\"x\"}");
/// # assert_eq!(bom.split('.').count(), 3);
/// ```
pub fn payload_bytes(raw: &[u8]) -> String {
    let key = TestKey::rsa_a();
    sign_raw_bytes(
        header_text("RS256", key.kid()).as_bytes(),
        raw,
        key,
        "RS256",
    )
}

/// A token with arbitrary header bytes over the default delegated claims,
/// signed by rsa-a with RS256 whatever the header says.
pub fn header_bytes(raw: &[u8]) -> String {
    let claims = TokenBuilder::delegated().claims_text();
    sign_raw_bytes(raw, claims.as_bytes(), TestKey::rsa_a(), "RS256")
}

/// The ES256 header for the EC key.
fn es256_header() -> String {
    base64url(header_text("ES256", TestKey::ec_p256().kid()))
}

/// A genuine ES256 signature (fixed `r || s`) by ec-p256 over `claims`, and
/// the encoded header and payload.
fn es256_parts(claims: &Value) -> (String, String, Vec<u8>) {
    let header = es256_header();
    let payload = base64url(claims.to_string());
    let signature = TestKey::ec_p256().sign("ES256", format!("{header}.{payload}").as_bytes());
    (header, payload, signature)
}

/// CVE-2022-21449 ("psychic signatures"): an ES256 token for ec-p256 whose
/// signature is 64 zero bytes (`r = s = 0`).
pub fn ecdsa_zero_signature(claims: &Value) -> String {
    let header = es256_header();
    let payload = base64url(claims.to_string());
    assemble(&header, &payload, &base64url([0u8; 64]))
}

/// A valid ES256 signature by ec-p256, re-encoded as ASN.1 DER
/// (`SEQUENCE { INTEGER r, INTEGER s }`) instead of JWS's fixed `r || s`
/// (RFC 7518 §3.4): a validator must not accept the DER form.
pub fn ecdsa_der_signature(claims: &Value) -> String {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};

    let header = es256_header();
    let payload = base64url(claims.to_string());
    let pair = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        TestKey::ec_p256().pkcs8_der(),
    )
    .expect("invariant: the checked-in ec-p256 key is a PKCS#8 P-256 key");
    let signature = pair
        .sign(
            &SystemRandom::new(),
            format!("{header}.{payload}").as_bytes(),
        )
        .expect("invariant: ECDSA signing with a valid key does not fail");
    assemble(&header, &payload, &base64url(signature.as_ref()))
}

/// A valid ES256 signature by ec-p256 with `r` and `s` each left-padded with
/// a zero byte: 66 bytes instead of 64, numerically the same `r` and `s`, so
/// only a validator that checks the length rejects it.
pub fn ecdsa_wrong_length(claims: &Value) -> String {
    let (header, payload, signature) = es256_parts(claims);
    let (r, s) = signature.split_at(32);
    let mut padded = vec![0];
    padded.extend_from_slice(r);
    padded.push(0);
    padded.extend_from_slice(s);
    assemble(&header, &payload, &base64url(padded))
}

/// `token` with the last byte of its signature dropped (RSA signatures must
/// be exactly the modulus length).
pub fn truncated_signature(token: &str) -> String {
    let [header, payload, signature] = split(token);
    let mut bytes = decode(signature);
    bytes.pop();
    assemble(header, payload, &base64url(bytes))
}

/// `token` with a `0x00` byte prepended to its signature ("re-padded"): the
/// same integer, one byte too long.
pub fn signature_with_leading_zero(token: &str) -> String {
    let [header, payload, signature] = split(token);
    let mut bytes = vec![0];
    bytes.extend(decode(signature));
    assemble(header, payload, &base64url(bytes))
}

/// A syntactically valid delegated token signed by rsa-a, padded with a
/// `junk` claim until the token is at least `bytes` long (and only a few
/// bytes longer): for maximum-size tests.
///
/// ```
/// let token = auth_testkit::dangerous::oversized(64 * 1024);
/// assert!(token.len() >= 64 * 1024 && token.len() < 64 * 1024 + 16);
/// ```
pub fn oversized(bytes: usize) -> String {
    let builder = TokenBuilder::delegated();
    let base_len = builder.clone().claim("junk", "").sign().len();
    // Four base64 characters per three JSON bytes.
    let mut junk_len = bytes.saturating_sub(base_len) * 3 / 4;
    loop {
        let token = builder.clone().claim("junk", "A".repeat(junk_len)).sign();
        if token.len() >= bytes {
            return token;
        }
        junk_len += 1;
    }
}

/// `token` with one bit of its signature flipped (re-encoded canonically).
pub fn flip_signature_bit(token: &str) -> String {
    let [header, payload, signature] = split(token);
    let mut bytes = decode(signature);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    assemble(header, payload, &base64url(bytes))
}

/// `token` with one bit of its payload flipped (re-encoded canonically), the
/// signature untouched. The bit is the low bit of a letter inside the `uti`
/// value (or `aio`, or the first string value), so the payload stays valid
/// JSON with the same claims except that opaque value: only the signature
/// check can reject it.
pub fn flip_payload_bit(token: &str) -> String {
    let [header, payload, signature] = split(token);
    let mut bytes = decode(payload);
    let position = [&b"\"uti\":\""[..], b"\"aio\":\"", b"\":\""]
        .iter()
        .find_map(|marker| {
            let start = bytes.windows(marker.len()).position(|w| w == *marker)? + marker.len();
            let offset = bytes[start..]
                .iter()
                .take_while(|&&b| b != b'"')
                .position(u8::is_ascii_alphabetic)?;
            Some(start + offset)
        })
        .unwrap_or(bytes.len().saturating_sub(1));
    // Flipping bit 0 of an ASCII letter gives another character that needs
    // no escaping in a JSON string (never '"' or '\\').
    bytes[position] ^= 0x01;
    assemble(header, &base64url(bytes), signature)
}

/// Standard-alphabet encoding, exposed for tests that build their own
/// mixed-alphabet segments.
///
/// ```
/// assert_eq!(auth_testkit::dangerous::base64_standard(b"\xfb\xff"), "+/8");
/// ```
pub fn base64_standard(bytes: impl AsRef<[u8]>) -> String {
    STANDARD_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
    use base64::alphabet;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::{DecodePaddingMode, general_purpose};

    use super::*;
    use crate::base64url_decode;

    /// Accepts padding, trailing bits; URL-safe alphabet.
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );

    fn claims() -> Value {
        TokenBuilder::delegated().claims_json()
    }

    fn valid() -> String {
        TokenBuilder::delegated().sign()
    }

    fn segments(token: &str) -> Vec<&str> {
        token.split('.').collect()
    }

    fn header_of(token: &str) -> Value {
        serde_json::from_slice(&base64url_decode(segments(token)[0]).unwrap()).unwrap()
    }

    fn verifies_rsa_a(header_b64: &str, payload_b64: &str, sig: &[u8]) -> bool {
        let (n, e) = TestKey::rsa_a().rsa_public_components().unwrap();
        RsaPublicKeyComponents { n, e }
            .verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                format!("{header_b64}.{payload_b64}").as_bytes(),
                sig,
            )
            .is_ok()
    }

    fn verifies_token(token: &str) -> bool {
        let s = segments(token);
        verifies_rsa_a(s[0], s[1], &base64url_decode(s[2]).unwrap())
    }

    #[test]
    fn sign_raw_keeps_exact_bytes() {
        let header = r#"{"alg":"RS256","kid":"testkit-rsa-a","alg":"none"}"#;
        let token = sign_raw(header, r#"{"a":1}"#, TestKey::rsa_a(), "RS256");
        let s = segments(&token);
        assert_eq!(base64url_decode(s[0]).unwrap(), header.as_bytes());
        assert!(verifies_token(&token));
    }

    #[test]
    fn alg_none_variants() {
        for spelling in ["none", "None", "nOnE"] {
            let token = alg_none(&claims(), spelling, false);
            assert!(token.ends_with('.'));
            assert_eq!(header_of(&token)["alg"], spelling);
            let token = alg_none(&claims(), spelling, true);
            let s = segments(&token);
            assert!(!s[2].is_empty());
            assert!(
                verifies_token(&token),
                "a real signature, only alg is wrong"
            );
        }
    }

    #[test]
    fn empty_signature_drops_it() {
        let token = valid();
        let stripped = empty_signature(&token);
        assert!(stripped.ends_with('.'));
        assert!(token.starts_with(&stripped));
    }

    #[test]
    fn hmac_confusion_is_keyed_by_secret() {
        let pem = TestKey::rsa_a().public_key_pem();
        for alg in ["HS256", "HS384", "HS512"] {
            let token = hmac_confusion(&claims(), alg, pem.as_bytes());
            assert_eq!(header_of(&token)["alg"], alg);
            assert_eq!(header_of(&token)["kid"], "testkit-rsa-a");
            let s = segments(&token);
            let algorithm = match alg {
                "HS256" => hmac::HMAC_SHA256,
                "HS384" => hmac::HMAC_SHA384,
                _ => hmac::HMAC_SHA512,
            };
            let key = hmac::Key::new(algorithm, pem.as_bytes());
            hmac::verify(
                &key,
                format!("{}.{}", s[0], s[1]).as_bytes(),
                &base64url_decode(s[2]).unwrap(),
            )
            .unwrap();
        }
        let empty = hmac_confusion(&claims(), "HS256", b"");
        assert_eq!(base64url_decode(segments(&empty)[2]).unwrap().len(), 32);
    }

    #[test]
    #[should_panic(expected = "alg must be HS256")]
    fn hmac_confusion_rejects_other_algs() {
        hmac_confusion(&claims(), "RS256", b"");
    }

    #[test]
    fn edit_header_resigns_with_original_key() {
        let token = TokenBuilder::delegated().key(TestKey::rsa_b()).sign();
        let edited = with_header(&token, "kid", json!(123));
        assert_eq!(header_of(&edited)["kid"], 123);
        let s = segments(&edited);
        assert_eq!(s[1], segments(&token)[1]);
        let (n, e) = TestKey::rsa_b().rsa_public_components().unwrap();
        RsaPublicKeyComponents { n, e }
            .verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                format!("{}.{}", s[0], s[1]).as_bytes(),
                &base64url_decode(s[2]).unwrap(),
            )
            .unwrap();
        let ec = TokenBuilder::delegated().key(TestKey::ec_p256()).sign();
        let edited = with_header(&ec, "jku", json!("https://evil.example/keys"));
        assert_eq!(base64url_decode(segments(&edited)[2]).unwrap().len(), 64);
    }

    #[test]
    fn duplicates_are_in_the_signed_bytes() {
        let token = duplicate_header_member(&claims(), "alg", json!("RS256"), json!("none"));
        let header = String::from_utf8(base64url_decode(segments(&token)[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            r#"{"alg":"RS256","kid":"testkit-rsa-a","typ":"JWT","alg":"none"}"#
        );
        assert!(verifies_token(&token));

        let token = duplicate_claim(
            &claims(),
            "aud",
            json!(crate::ids::API_CLIENT_ID),
            json!("evil"),
        );
        let payload = String::from_utf8(base64url_decode(segments(&token)[1]).unwrap()).unwrap();
        assert_eq!(payload.matches("\"aud\":").count(), 2);
        assert!(payload.ends_with(r#","aud":"evil"}"#));
        assert!(verifies_token(&token));

        let token = duplicate_claim(&json!({}), "exp", json!(1), json!(2));
        let payload = base64url_decode(segments(&token)[1]).unwrap();
        assert_eq!(payload, br#"{"exp":1,"exp":2}"#);
    }

    #[test]
    fn padding_and_alphabet_breakers() {
        // Signature lengths 256 and 64 (two `=`, 4 trailing bits) and 128 (one
        // `=`, 2 trailing bits, as a 1024-bit RSA key would make).
        let short = segments(&valid())[..2].join(".") + "." + &base64url([0xa5; 128]);
        for token in [
            valid(),
            TokenBuilder::delegated().key(TestKey::ec_p256()).sign(),
            short,
        ] {
            let padded = with_padding(&token);
            assert!(padded.ends_with('='), "{token}");
            let s = segments(&padded);
            assert!(base64url_decode(s[2]).is_none());
            assert_eq!(
                LENIENT.decode(s[2]).unwrap(),
                base64url_decode(segments(&token)[2]).unwrap()
            );

            let trailing = with_non_canonical_trailing_bits(&token);
            let s = segments(&trailing);
            assert_ne!(trailing, token);
            assert!(base64url_decode(s[2]).is_none(), "strict decoder rejects");
            assert_eq!(
                LENIENT.decode(s[2]).unwrap(),
                base64url_decode(segments(&token)[2]).unwrap(),
                "lenient decoder sees the same bytes"
            );
        }

        let token = valid();
        let standard = with_standard_alphabet(&token);
        assert!(standard.contains(['+', '/']));
        let s = segments(&standard);
        assert_eq!(
            general_purpose::STANDARD_NO_PAD.decode(s[2]).unwrap(),
            base64url_decode(segments(&token)[2]).unwrap()
        );
    }

    #[test]
    fn validly_signed_non_canonical_payloads() {
        let token = non_canonical_payload(&claims());
        let s = segments(&token);
        assert!(base64url_decode(s[1]).is_none());
        let lenient: Value = serde_json::from_slice(&LENIENT.decode(s[1]).unwrap()).unwrap();
        assert_eq!(lenient, claims());
        assert!(verifies_rsa_a(s[0], s[1], &base64url_decode(s[2]).unwrap()));

        let token = padded_payload(&claims());
        let s = segments(&token);
        assert!(s[1].ends_with('='));
        let lenient: Value = serde_json::from_slice(&LENIENT.decode(s[1]).unwrap()).unwrap();
        assert_eq!(lenient, claims());
        assert!(verifies_rsa_a(s[0], s[1], &base64url_decode(s[2]).unwrap()));
    }

    #[test]
    fn whitespace_breakers() {
        let token = valid();
        assert!(with_whitespace(&token).contains("\r\n"));
        let variants = with_whitespace_variants(&token);
        assert_eq!(variants.len(), 7);
        for variant in variants {
            assert_ne!(variant, token);
            assert_eq!(variant.split_whitespace().collect::<String>(), token);
        }
    }

    #[test]
    fn segment_count_and_serializations() {
        let token = valid();
        assert_eq!(with_segments(&token, 0), "");
        assert_eq!(with_segments(&token, 3), token);
        for n in [1, 2, 4, 5, 6] {
            assert_eq!(with_segments(&token, n).split('.').count(), n);
        }
        let json: Value = serde_json::from_str(&jws_json_serialization(&token)).unwrap();
        let s = segments(&token);
        assert_eq!(
            json,
            json!({"protected": s[0], "payload": s[1], "signature": s[2]})
        );
        let jwe = jwe_like();
        assert_eq!(jwe.split('.').count(), 5);
        assert_eq!(header_of(&jwe)["enc"], "A256GCM");
        assert!(jwe.split('.').all(|s| base64url_decode(s).is_some()));
    }

    #[test]
    fn byte_breakers_are_signed() {
        for raw in [
            &b"[]"[..],
            b"\"x\"",
            b"\xff\xfe{}",
            b"\xef\xbb\xbf{\"sub\":\"x\"}",
        ] {
            let token = payload_bytes(raw);
            let s = segments(&token);
            assert_eq!(base64url_decode(s[1]).unwrap(), raw);
            assert!(verifies_token(&token));
        }
        let token = header_bytes(b"{\"alg\":\"RS256\",\"alg\":\"RS256\"");
        let s = segments(&token);
        assert_eq!(
            base64url_decode(s[0]).unwrap(),
            b"{\"alg\":\"RS256\",\"alg\":\"RS256\""
        );
        assert!(verifies_token(&token));
    }

    #[test]
    fn ecdsa_breakers() {
        let point = TestKey::ec_p256().ec_public_point().unwrap();
        let zero = ecdsa_zero_signature(&claims());
        assert_eq!(header_of(&zero)["alg"], "ES256");
        assert_eq!(base64url_decode(segments(&zero)[2]).unwrap(), [0u8; 64]);

        let der_token = ecdsa_der_signature(&claims());
        let s = segments(&der_token);
        let der_sig = base64url_decode(s[2]).unwrap();
        assert_eq!(der_sig[0], 0x30);
        let input = format!("{}.{}", s[0], s[1]);
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
            .verify(input.as_bytes(), &der_sig)
            .unwrap();
        assert!(
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(input.as_bytes(), &der_sig)
                .is_err()
        );

        let long = ecdsa_wrong_length(&claims());
        let s = segments(&long);
        let sig = base64url_decode(s[2]).unwrap();
        assert_eq!(sig.len(), 66);
        let fixed = [&sig[1..33], &sig[34..]].concat();
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(format!("{}.{}", s[0], s[1]).as_bytes(), &fixed)
            .unwrap();
    }

    #[test]
    fn rsa_signature_breakers() {
        let token = valid();
        let original = base64url_decode(segments(&token)[2]).unwrap();
        let truncated = base64url_decode(segments(&truncated_signature(&token))[2]).unwrap();
        assert_eq!(truncated, original[..255]);
        let padded = base64url_decode(segments(&signature_with_leading_zero(&token))[2]).unwrap();
        assert_eq!(padded.len(), 257);
        assert_eq!(padded[0], 0);
        assert_eq!(padded[1..], original[..]);
    }

    #[test]
    fn bit_flips_change_one_bit_and_stay_canonical() {
        let token = valid();
        let s = segments(&token);
        let flipped = flip_signature_bit(&token);
        let f = segments(&flipped);
        let (a, b) = (
            base64url_decode(s[2]).unwrap(),
            base64url_decode(f[2]).unwrap(),
        );
        let diff: u32 = a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum();
        assert_eq!(diff, 1);
        assert!(!verifies_token(&flipped));

        let flipped = flip_payload_bit(&token);
        let f = segments(&flipped);
        assert_eq!((f[0], f[2]), (s[0], s[2]));
        let (a, b) = (
            base64url_decode(s[1]).unwrap(),
            base64url_decode(f[1]).unwrap(),
        );
        let diff: u32 = a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum();
        assert_eq!(diff, 1);
        let original: Value = serde_json::from_slice(&a).unwrap();
        let changed: Value = serde_json::from_slice(&b).unwrap();
        assert_ne!(original["uti"], changed["uti"]);
        assert_eq!(original["aud"], changed["aud"]);
        assert!(!verifies_token(&flipped));
    }

    #[test]
    fn oversized_reaches_the_size() {
        for size in [100, 8 * 1024, 100_000] {
            let token = oversized(size);
            assert!(
                token.len() >= size && token.len() < size.max(1500) + 16,
                "{size}: {}",
                token.len()
            );
            assert!(verifies_token(&token));
        }
    }
}
