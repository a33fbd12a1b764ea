//! Shared set-up and oracles for the fuzz targets in `fuzz_targets/`.
//!
//! Everything here is deterministic: the validator reads a [`FixedClock`] frozen at [`NOW`], so a
//! crash input reproduces on any day.

use std::sync::OnceLock;

use auth_layer::{Algorithm, AuthError, Challenge, Claims, FixedClock, KeySet, Validator};
use auth_testkit::{TestKey, ids};
use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The instant the fuzz validators live at (2025-06-15T15:06:40Z). Seed tokens are minted with
/// `iat` = `nbf` = `NOW` and `exp` = `NOW + 3600`.
pub const NOW: i64 = 1_750_000_000;
/// The validator's clock-skew leeway (the library default).
pub const LEEWAY: i64 = 60;

/// The header `typ` values the default policy accepts (ASCII case-insensitively), absent included.
pub const ACCEPTED_TYP: [&str; 3] = ["JWT", "at+jwt", "application/at+jwt"];

/// The validator under test: the testkit tenant, the test API's client id and App ID URI, RS256
/// and ES256, the default leeway, `FixedClock(NOW)`. Built once.
pub fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| {
        Validator::builder()
            .tenant_id(ids::TENANT_ID)
            .client_id(ids::API_CLIENT_ID)
            .audience(ids::API_APP_ID_URI)
            .algorithms([Algorithm::RS256, Algorithm::ES256])
            .clock(FixedClock::at(NOW))
            .build()
            .expect("the fuzz validator configuration is valid")
    })
}

/// The testkit's default key set (rsa-a, rsa-b, ec-p256), parsed once.
pub fn keys() -> &'static KeySet {
    static K: OnceLock<KeySet> = OnceLock::new();
    K.get_or_init(auth_testkit::default_keyset)
}

/// The two issuers the validator accepts.
pub fn accepted_issuers() -> [String; 2] {
    [
        ids::v1_issuer(ids::TENANT_ID),
        ids::v2_issuer(ids::TENANT_ID),
    ]
}

/// The audiences the validator accepts (each also with one trailing `/`).
pub fn accepted_audiences() -> [String; 3] {
    [
        ids::API_CLIENT_ID.to_owned(),
        format!("api://{}", ids::API_CLIENT_ID),
        ids::API_APP_ID_URI.to_owned(),
    ]
}

/// Whether `segment` is canonical base64url: URL-safe alphabet, no padding, zero trailing bits.
pub fn is_canonical_b64url(segment: &str) -> bool {
    segment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && URL_SAFE_NO_PAD
            .decode(segment)
            .is_ok_and(|bytes| URL_SAFE_NO_PAD.encode(bytes) == segment)
}

/// Checks, independently of `auth-layer`, everything that must hold of a token the validator
/// accepted. Panics (a fuzzing finding) when something does not.
pub fn check_accepted(token: &str, claims: &Claims) {
    // Structure: three canonical base64url segments.
    let segments: Vec<&str> = token.split('.').collect();
    assert_eq!(segments.len(), 3, "accepted a token without 3 segments");
    for s in &segments {
        assert!(!s.is_empty(), "accepted an empty segment");
        assert!(
            is_canonical_b64url(s),
            "accepted non-canonical base64url {s:?}"
        );
    }
    let header_bytes = URL_SAFE_NO_PAD.decode(segments[0]).unwrap();
    let payload_bytes = URL_SAFE_NO_PAD.decode(segments[1]).unwrap();
    let signature = URL_SAFE_NO_PAD.decode(segments[2]).unwrap();

    // Header: an object with alg RS256/ES256, an accepted typ, no dangerous member.
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header_bytes)
        .unwrap_or_else(|e| panic!("accepted a header that is not a JSON object: {e}"));
    let alg = header.get("alg").and_then(|v| v.as_str());
    assert!(
        matches!(alg, Some("RS256" | "ES256")),
        "accepted header alg {alg:?}"
    );
    for forbidden in [
        "crit", "jku", "x5u", "jwk", "x5c", "nonce", "enc", "zip", "b64", "cty",
    ] {
        assert!(
            !header.contains_key(forbidden),
            "accepted a header with {forbidden:?}"
        );
    }
    match header.get("typ") {
        None => {}
        Some(serde_json::Value::String(t)) => assert!(
            ACCEPTED_TYP.iter().any(|a| a.eq_ignore_ascii_case(t)),
            "accepted typ {t:?}"
        ),
        Some(other) => panic!("accepted a non-string typ {other}"),
    }
    let kid = header.get("kid").and_then(|v| v.as_str());
    let x5t = header.get("x5t").and_then(|v| v.as_str());

    // The key: by kid when the header has one, else by x5t (then x5t as a kid); it must be a
    // key of the default set, and the one `Claims::key_id` names.
    let default_keys = auth_testkit::default_keys();
    let key = match (kid, x5t) {
        (Some(kid), _) => default_keys.iter().find(|k| k.kid() == kid),
        (None, Some(x5t)) => default_keys
            .iter()
            .find(|k| k.x5t() == x5t)
            .or_else(|| default_keys.iter().find(|k| k.kid() == x5t)),
        (None, None) => panic!("accepted a header without kid and x5t"),
    }
    .unwrap_or_else(|| panic!("accepted a token for kid {kid:?} / x5t {x5t:?}"));
    assert_eq!(
        claims.key_id(),
        key.kid(),
        "Claims::key_id names another key"
    );
    let signing_input = &token.as_bytes()[..segments[0].len() + 1 + segments[1].len()];
    assert!(
        independently_verifies(key, alg.unwrap(), signing_input, &signature),
        "accepted a signature that aws-lc-rs alone does not verify"
    );

    // Claims: issuer, tenant, audience, lifetime.
    let issuers = accepted_issuers();
    assert!(
        issuers.iter().any(|i| i == claims.issuer()),
        "accepted issuer {:?}",
        claims.issuer()
    );
    assert_eq!(claims.tenant_id(), Some(ids::TENANT_ID), "accepted tid");
    let audiences = accepted_audiences();
    assert!(
        claims.audiences().iter().any(|a| {
            let a = a.strip_suffix('/').unwrap_or(a);
            audiences.iter().any(|ok| ok == a)
        }),
        "accepted audiences {:?}",
        claims.audiences()
    );
    let now = NOW as f64;
    let leeway = LEEWAY as f64;
    assert!(
        claims.expires_at() + leeway > now,
        "accepted exp {}",
        claims.expires_at()
    );
    if let Some(nbf) = claims.not_before() {
        assert!(nbf <= now + leeway, "accepted nbf {nbf}");
    }
    if let Some(idtyp) = claims.idtyp() {
        assert!(matches!(idtyp, "app" | "user"), "accepted idtyp {idtyp:?}");
    }
    // The ID-token rule, as documented: addressed to the client id (audiences compare with one
    // trailing `/` removed, as everywhere else), no permissions at all.
    if claims
        .audiences()
        .iter()
        .any(|a| a.strip_suffix('/').unwrap_or(a) == ids::API_CLIENT_ID)
    {
        assert!(
            !claims.scopes().is_empty()
                || !claims.roles().is_empty()
                || claims.idtyp() == Some("app"),
            "accepted an ID-token-shaped token"
        );
    }

    // The payload: a JSON object whose members agree with the typed claims.
    let raw = claims.raw();
    assert!(
        !raw.is_empty(),
        "Claims::raw() is empty for an accepted token"
    );
    assert_eq!(
        raw.get("iss").and_then(|v| v.as_str()),
        Some(claims.issuer()),
        "raw iss differs from the typed issuer"
    );
    let payload: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&payload_bytes)
            .unwrap_or_else(|e| panic!("accepted a payload that is not a JSON object: {e}"));
    for forbidden in ["nonce", "c_hash", "at_hash"] {
        assert!(
            !payload.contains_key(forbidden),
            "accepted an ID-token claim {forbidden:?}"
        );
    }
}

/// Verifies `signature` over `message` with the test key's public half and aws-lc-rs directly.
pub fn independently_verifies(key: &TestKey, alg: &str, message: &[u8], signature: &[u8]) -> bool {
    match alg {
        "RS256" => key.public_key_pkcs1_der().is_some_and(|der| {
            UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der)
                .verify(message, signature)
                .is_ok()
        }),
        "ES256" => key.ec_public_point().is_some_and(|point| {
            UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, signature)
                .is_ok()
        }),
        _ => false,
    }
}

/// One `auth-param` of a parsed challenge: its name and unescaped value.
pub type Param = (String, String);

/// A minimal RFC 9110 §11.3 parser for what `AuthError::www_authenticate` renders:
/// `Bearer` then optionally ` name="value"` pairs separated by `, `. Values must be
/// quoted-strings: `"`, qdtext / quoted-pairs, `"`. Returns `None` on any deviation.
pub fn parse_bearer_challenge(value: &str) -> Option<Vec<Param>> {
    let rest = value.strip_prefix("Bearer")?;
    let mut params = Vec::new();
    if rest.is_empty() {
        return Some(params);
    }
    let mut rest = rest.strip_prefix(' ')?;
    loop {
        let name_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b))
            .count();
        if name_len == 0 {
            return None;
        }
        let name = &rest[..name_len];
        let quoted = rest[name_len..].strip_prefix("=\"")?.as_bytes();
        let mut unescaped = Vec::new();
        let mut i = 0;
        loop {
            match *quoted.get(i)? {
                b'"' => break,
                b'\\' => {
                    let escaped = *quoted.get(i + 1)?;
                    if !(escaped == b'\t' || (b' '..=b'~').contains(&escaped) || escaped >= 0x80) {
                        return None;
                    }
                    unescaped.push(escaped);
                    i += 2;
                }
                b @ (b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E | 0x80..) => {
                    unescaped.push(b);
                    i += 1;
                }
                _ => return None,
            }
        }
        params.push((name.to_owned(), String::from_utf8(unescaped).ok()?));
        // `quoted[i]` is the closing quote; everything after it is ASCII or whole characters.
        rest = std::str::from_utf8(&quoted[i + 1..]).ok()?;
        if rest.is_empty() {
            return Some(params);
        }
        rest = rest.strip_prefix(", ")?;
    }
}

/// What `push_quoted` keeps of a value: visible ASCII and space (everything else is dropped).
pub fn sanitised(value: &str) -> String {
    value.chars().filter(|c| (' '..='~').contains(c)).collect()
}

/// Renders `err`'s challenge and checks it round-trips through [`parse_bearer_challenge`] with
/// exactly the expected parameters. Panics on a mismatch.
pub fn check_challenge(err: &AuthError, challenge: &Challenge) {
    let header = err.www_authenticate(challenge);
    let text = header
        .to_str()
        .unwrap_or_else(|_| panic!("WWW-Authenticate is not visible ASCII: {header:?}"));
    assert!(
        !text.bytes().any(|b| b.is_ascii_control()),
        "control byte in {text:?}"
    );
    let params = parse_bearer_challenge(text)
        .unwrap_or_else(|| panic!("WWW-Authenticate does not parse: {text:?}"));

    let mut expected: Vec<Param> = Vec::new();
    if let Some(realm) = &challenge.realm {
        expected.push(("realm".into(), sanitised(realm)));
    }
    if let Some(code) = err.error_code() {
        expected.push(("error".into(), code.as_str().into()));
        expected.push(("error_description".into(), sanitised(err.description())));
    }
    if let AuthError::InsufficientScope(i) = err
        && !i.required.is_empty()
    {
        expected.push(("scope".into(), sanitised(&i.required.join(" "))));
    }
    if let Some(url) = &challenge.resource_metadata {
        expected.push(("resource_metadata".into(), sanitised(url)));
    }
    assert_eq!(params, expected, "WWW-Authenticate {text:?}");
}

/// Every algorithm auth-layer knows.
pub const ALL_ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Parses `document` with `KeySet::from_jwks_json` and checks the invariants of what comes
/// back against a plain `serde_json` reading of the same document. Returns the set, if any.
pub fn check_key_set(document: &[u8]) -> Option<KeySet> {
    let set = KeySet::from_jwks_json(document).ok()?;
    let value: serde_json::Value = serde_json::from_slice(document)
        .unwrap_or_else(|e| panic!("a key set was built from invalid JSON: {e}"));
    let jwks = value
        .get("keys")
        .and_then(|k| k.as_array())
        .expect("a key set was built from a document without a keys array");
    assert!(!set.is_empty(), "an Ok key set is empty");
    assert!(
        jwks.len() <= 100,
        "a key set of {} keys was accepted",
        jwks.len()
    );
    assert_eq!(
        set.len() + set.dropped().len(),
        jwks.len(),
        "every key is either kept or dropped"
    );
    for key in set.keys() {
        let fits: Vec<Algorithm> = ALL_ALGORITHMS
            .into_iter()
            .filter(|a| key.fits(*a))
            .collect();
        assert!(!fits.is_empty(), "key {:?} fits no algorithm", key.id());
        // A key is RSA or EC, never both.
        let rsa = fits.iter().any(|a| a.is_rsa());
        assert!(
            fits.iter().all(|a| a.is_rsa() == rsa),
            "key {:?} fits {fits:?}",
            key.id()
        );
        if let Some(alg) = key.algorithm() {
            assert_eq!(fits, [alg], "key {:?} declares alg {alg}", key.id());
        }
        assert!(
            key.kid().is_some() || key.x5t().is_some(),
            "a key without kid and x5t was kept"
        );
        if let Some(kid) = key.kid() {
            assert!(kid.len() <= 256, "a {}-byte kid was kept", kid.len());
            assert!(set.contains_kid(kid));
            let found = set.find(Some(kid), None).expect("find by kid");
            assert_eq!(found.kid(), Some(kid));
            // The JWK it came from: the one with this string kid (kids are unique).
            let jwk = jwks
                .iter()
                .find(|j| j.get("kid").and_then(|k| k.as_str()) == Some(kid))
                .expect("a kept kid comes from the document");
            let kty = jwk.get("kty").and_then(|k| k.as_str());
            assert!(
                matches!((kty, rsa), (Some("RSA"), true) | (Some("EC"), false)),
                "key {kid:?} of kty {kty:?} fits {fits:?}"
            );
            if let Some(u) = jwk.get("use") {
                assert_eq!(u.as_str(), Some("sig"), "key {kid:?} with use {u}");
            }
            assert_eq!(key.issuer(), jwk.get("issuer").and_then(|i| i.as_str()));
        }
    }
    // Kids are unique across the whole document.
    let kids: Vec<&str> = jwks
        .iter()
        .filter_map(|j| j.get("kid").and_then(|k| k.as_str()))
        .collect();
    for (i, kid) in kids.iter().enumerate() {
        assert!(!kids[..i].contains(kid), "duplicate kid {kid:?} accepted");
    }
    Some(set)
}

/// Whether `FUZZ_DEBUG` is set: targets then print what they built and the outcome (for
/// reproducing a finding with `cargo fuzz run <target> <file>`).
pub fn debug() -> bool {
    static D: OnceLock<bool> = OnceLock::new();
    *D.get_or_init(|| std::env::var_os("FUZZ_DEBUG").is_some())
}
