//! One test per rule of the validator's security checklist (rules 1–29), named after the rule.
//! Each asserts the specific error, so removing the rule makes its test fail.

use std::time::Duration;

use auth_layer::{
    Algorithm, FixedClock, Groups, KeySet, TokenKind, TokenPart, ValidationError, Validator,
};
use auth_testkit::dangerous;
use auth_testkit::ids::{
    API_APP_ID_URI, API_CLIENT_ID, CLIENT_APP_ID, GRAPH_APP_ID, OTHER_TENANT_ID, TENANT_ID,
    USER_NAME, USER_OID,
};
use auth_testkit::{TestKey, TokenBuilder, default_keyset, jwks_json, keyset, now};
use serde_json::{Value, json};

fn validator() -> Validator {
    Validator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .audience(API_APP_ID_URI)
        .build()
        .expect("valid configuration")
}

fn validator_allowing(algs: &[Algorithm]) -> Validator {
    Validator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .audience(API_APP_ID_URI)
        .algorithms(algs.iter().copied())
        .build()
        .expect("valid configuration")
}

fn check(token: &str) -> Result<auth_layer::Claims, ValidationError> {
    validator().validate(token, &default_keyset())
}

fn keyset_from(jwks: Value) -> KeySet {
    KeySet::from_jwks_json(jwks.to_string().as_bytes()).expect("usable key set")
}

fn claims_of(builder: &TokenBuilder) -> Value {
    builder.claims_json()
}

#[test]
fn baseline_testkit_tokens_are_accepted() {
    let c = check(&TokenBuilder::delegated().scopes("Case.Create").sign()).unwrap();
    assert_eq!(c.kind(), TokenKind::Delegated);
    assert_eq!(c.object_id(), Some(USER_OID));
    assert_eq!(c.name(), Some(USER_NAME));
    assert_eq!(c.client_id(), Some(CLIENT_APP_ID));
    let c = check(&TokenBuilder::delegated().v1().sign()).unwrap();
    assert_eq!(c.version(), Some("1.0"));
    let c = check(&TokenBuilder::app().roles(["Files.Write"]).sign()).unwrap();
    assert_eq!(c.kind(), TokenKind::App);
    assert!(c.has_role("Files.Write"));
    let c = check(&TokenBuilder::app().v1().sign()).unwrap();
    assert_eq!(c.kind(), TokenKind::App);
}

// 1. alg none in any letter case, with or without a signature.
#[test]
fn rule_01_alg_none_is_rejected_in_any_case() {
    let claims = claims_of(&TokenBuilder::delegated());
    for spelling in ["none", "None", "NONE", "nOnE"] {
        let with_sig = dangerous::alg_none(&claims, spelling, true);
        assert_eq!(
            check(&with_sig).unwrap_err(),
            ValidationError::AlgorithmNone,
            "{spelling}"
        );
        let without = dangerous::alg_none(&claims, spelling, false);
        assert!(matches!(
            check(&without).unwrap_err(),
            ValidationError::AlgorithmNone | ValidationError::MissingSignature
        ));
    }
}

// 2. Empty signature segment.
#[test]
fn rule_02_empty_signature_is_rejected() {
    let token = dangerous::empty_signature(&TokenBuilder::delegated().sign());
    assert!(token.ends_with('.'));
    assert_eq!(
        check(&token).unwrap_err(),
        ValidationError::MissingSignature
    );
}

// 3. HMAC with the RSA public key as the secret (alg confusion), and with an empty secret.
#[test]
fn rule_03_hmac_alg_confusion_is_rejected() {
    let claims = claims_of(&TokenBuilder::delegated());
    let key = TestKey::rsa_a();
    let pem = key.public_key_pem();
    for alg in ["HS256", "HS384", "HS512"] {
        for secret in [key.public_key_der(), pem.as_bytes(), b"".as_slice()] {
            let token = dangerous::hmac_confusion(&claims, alg, secret);
            assert_eq!(
                check(&token).unwrap_err(),
                ValidationError::SymmetricAlgorithm
            );
        }
    }
}

/// The testkit's rsa-a key, its JWK declaring `alg`.
fn key_declaring(alg: &str) -> KeySet {
    let jwks =
        json!({"keys": [TestKey::rsa_a().jwk_with(|k| { k.insert("alg".into(), json!(alg)); })]});
    KeySet::from_jwks_json(jwks.to_string().as_bytes()).unwrap()
}

// Issue 13: a JWK without `alg` verifies its family's default algorithm only (RS256 for RSA),
// not every algorithm the allow-list admits.
#[test]
fn a_jwk_without_alg_verifies_only_the_family_default_algorithm() {
    let v = validator_allowing(&[Algorithm::RS256, Algorithm::PS256]);
    let ps256 = TokenBuilder::delegated().alg("PS256").sign();
    assert_eq!(
        v.validate(&ps256, &default_keyset()).unwrap_err(),
        ValidationError::KeyAlgorithmMismatch(Algorithm::PS256)
    );
    assert!(v.validate(&ps256, &key_declaring("PS256")).is_ok());
    let rs256 = TokenBuilder::delegated().sign();
    assert!(v.validate(&rs256, &default_keyset()).is_ok());
}

// Issue 13: RSA keys with an exponent below 65537 or even are dropped at load, with the reason.
#[test]
fn rsa_jwks_with_a_small_or_even_exponent_are_dropped_with_the_reason() {
    for e in ["Aw", "AQAC"] {
        let jwk = TestKey::rsa_a().jwk_with(|k| {
            k.insert("e".into(), json!(e));
        });
        let good = TestKey::rsa_b().jwk();
        let keys =
            KeySet::from_jwks_json(json!({"keys": [jwk, good]}).to_string().as_bytes()).unwrap();
        assert_eq!(keys.len(), 1, "{e}");
        assert_eq!(
            keys.dropped()[0].reason,
            auth_layer::DropReason::RsaExponent,
            "{e}"
        );
    }
}

// 4. alg outside the allow-list (default RS256 only).
#[test]
fn rule_04_algorithm_outside_allow_list_is_rejected() {
    for alg in ["RS384", "RS512", "PS256"] {
        let token = TokenBuilder::delegated().alg(alg).sign();
        let err = check(&token).unwrap_err();
        assert!(
            matches!(err, ValidationError::AlgorithmNotAllowed(_)),
            "{alg}: {err:?}"
        );
    }
    // The same tokens pass once allowed: it is the allow-list that refused them.
    // (A key without `alg` verifies RS256 only, so each key here declares its algorithm.)
    let v = validator_allowing(&[Algorithm::RS384, Algorithm::RS512, Algorithm::PS256]);
    for alg in ["RS384", "RS512", "PS256"] {
        let token = TokenBuilder::delegated().alg(alg).sign();
        assert!(v.validate(&token, &key_declaring(alg)).is_ok(), "{alg}");
    }
    let token = TokenBuilder::delegated().alg("RS256").sign();
    assert_eq!(
        v.validate(&token, &default_keyset()).unwrap_err(),
        ValidationError::AlgorithmNotAllowed(Algorithm::RS256)
    );
    let unknown = TokenBuilder::delegated()
        .header("alg", json!("XS999"))
        .sign();
    assert_eq!(
        check(&unknown).unwrap_err(),
        ValidationError::UnsupportedAlgorithm
    );
    let missing = TokenBuilder::delegated().remove_header("alg").sign();
    assert_eq!(
        check(&missing).unwrap_err(),
        ValidationError::MissingAlgorithm
    );
}

// 5. Key type does not fit alg, or the JWK's own alg differs from the header.
#[test]
fn rule_05_key_must_fit_the_algorithm() {
    let v = validator_allowing(&[Algorithm::RS256, Algorithm::ES256]);
    // ES256 header naming the RSA key.
    let token = TokenBuilder::delegated()
        .key(TestKey::ec_p256())
        .kid(TestKey::rsa_a().kid())
        .sign();
    assert_eq!(
        v.validate(&token, &default_keyset()).unwrap_err(),
        ValidationError::KeyAlgorithmMismatch(Algorithm::ES256)
    );
    // RS256 header naming the EC key.
    let token = TokenBuilder::delegated()
        .kid(TestKey::ec_p256().kid())
        .sign();
    assert_eq!(
        v.validate(&token, &default_keyset()).unwrap_err(),
        ValidationError::KeyAlgorithmMismatch(Algorithm::RS256)
    );
    // The JWK says RS384; the header says RS256.
    let jwks = json!({"keys": [TestKey::rsa_a().jwk_with(|k| { k.insert("alg".into(), json!("RS384")); })]});
    let token = TokenBuilder::delegated().sign();
    assert_eq!(
        validator()
            .validate(&token, &keyset_from(jwks))
            .unwrap_err(),
        ValidationError::KeyAlgorithmMismatch(Algorithm::RS256)
    );
    // And an ES256 token verifies with the EC key when ES256 is allowed.
    let token = TokenBuilder::delegated().key(TestKey::ec_p256()).sign();
    assert!(v.validate(&token, &default_keyset()).is_ok());
}

// 6. JWK with use other than sig, or key_ops without verify, is never used.
#[test]
fn rule_06_keys_not_for_signing_are_never_used() {
    let token = TokenBuilder::delegated().sign();
    let enc = TestKey::rsa_a().jwk_with(|k| {
        k.insert("use".into(), json!("enc"));
    });
    let ops = TestKey::rsa_a().jwk_with(|k| {
        k.insert("key_ops".into(), json!(["encrypt", "wrapKey"]));
    });
    for bad in [enc, ops] {
        let set = keyset_from(json!({"keys": [bad, TestKey::rsa_b().jwk()]}));
        assert_eq!(set.len(), 1);
        assert_eq!(
            validator().validate(&token, &set).unwrap_err(),
            ValidationError::UnknownKey
        );
    }
    let ok = TestKey::rsa_a().jwk_with(|k| {
        k.insert("key_ops".into(), json!(["verify"]));
    });
    assert!(
        validator()
            .validate(&token, &keyset_from(json!({"keys": [ok]})))
            .is_ok()
    );
}

// 7. oct keys ignored at load; RSA keys under 2048 bits dropped at load.
#[test]
fn rule_07_symmetric_and_small_rsa_keys_are_dropped_at_load() {
    let oct = json!({"kty": "oct", "kid": TestKey::rsa_a().kid(), "k": "c2VjcmV0"});
    let set = keyset_from(json!({"keys": [oct, TestKey::rsa_b().jwk()]}));
    assert_eq!(set.len(), 1);
    assert_eq!(
        set.dropped()[0].reason,
        auth_layer::DropReason::SymmetricKey
    );

    let weak = TestKey::rsa_1024();
    let set = keyset(&[weak, TestKey::rsa_b()]);
    assert!(!set.contains_kid(weak.kid()));
    let token = TokenBuilder::delegated().kid(weak.kid()).sign();
    assert_eq!(
        validator().validate(&token, &set).unwrap_err(),
        ValidationError::UnknownKey
    );
}

// 8. Key embedded in the token header (jwk, x5c) is never used (CVE-2018-0114).
#[test]
fn rule_08_embedded_keys_are_never_used() {
    let attacker = TestKey::rsa_untrusted();
    let token = TokenBuilder::delegated()
        .key(attacker)
        .header("jwk", attacker.jwk())
        .sign();
    assert_eq!(check(&token).unwrap_err(), ValidationError::EmbeddedKey);
    let token = TokenBuilder::delegated()
        .header("x5c", json!(["MIIB"]))
        .sign();
    assert_eq!(check(&token).unwrap_err(), ValidationError::EmbeddedKey);
    // Even with the embedded key's kid pointing at nothing we know, nothing verifies.
    let token = TokenBuilder::delegated().key(attacker).sign();
    assert_eq!(check(&token).unwrap_err(), ValidationError::UnknownKey);
}

// 9. jku / x5u headers are refused (and nothing is fetched: the validator has no I/O at all).
#[test]
fn rule_09_remote_key_references_are_rejected() {
    for name in ["jku", "x5u"] {
        let token = TokenBuilder::delegated()
            .header(name, json!("https://attacker.example/keys"))
            .sign();
        assert_eq!(
            check(&token).unwrap_err(),
            ValidationError::RemoteKeyReference,
            "{name}"
        );
    }
}

// 10. Hostile kid values.
#[test]
fn rule_10_hostile_kids_are_rejected_without_side_effects() {
    let long = "k".repeat(300);
    for kid in [
        json!("../../dev/null"),
        json!("' OR '1'='1"),
        json!("$(reboot); `id`"),
        json!("a\u{0}b"),
        json!(long),
        json!(123),
        json!(null),
        json!(["a"]),
        json!(""),
    ] {
        let token = TokenBuilder::delegated().header("kid", kid.clone()).sign();
        let err = check(&token).unwrap_err();
        assert!(
            matches!(
                err,
                ValidationError::UnknownKey | ValidationError::InvalidKeyId
            ),
            "{kid}: {err:?}"
        );
    }
    let token = TokenBuilder::delegated().header("kid", json!(123)).sign();
    assert_eq!(check(&token).unwrap_err(), ValidationError::InvalidKeyId);
    let token = TokenBuilder::delegated()
        .header("kid", json!("k".repeat(257)))
        .sign();
    assert_eq!(check(&token).unwrap_err(), ValidationError::InvalidKeyId);
}

// 11. crit header present, any value.
#[test]
fn rule_11_crit_header_is_rejected() {
    for crit in [json!(["exp"]), json!([]), json!(["alg"]), json!("b64")] {
        let token = TokenBuilder::delegated()
            .header("crit", crit.clone())
            .sign();
        assert_eq!(
            check(&token).unwrap_err(),
            ValidationError::CriticalHeader,
            "{crit}"
        );
    }
}

// 12. ECDSA r = s = 0 (CVE-2022-21449), DER-encoded, wrong length.
#[test]
fn rule_12_malformed_ecdsa_signatures_are_rejected() {
    let v = validator_allowing(&[Algorithm::ES256]);
    let claims = claims_of(&TokenBuilder::delegated());
    for token in [
        dangerous::ecdsa_zero_signature(&claims),
        dangerous::ecdsa_der_signature(&claims),
        dangerous::ecdsa_wrong_length(&claims),
    ] {
        assert_eq!(
            v.validate(&token, &default_keyset()).unwrap_err(),
            ValidationError::InvalidSignature
        );
    }
}

// 13. Truncated or re-padded RSA signature.
#[test]
fn rule_13_truncated_or_repadded_rsa_signatures_are_rejected() {
    let token = TokenBuilder::delegated().sign();
    for bad in [
        dangerous::truncated_signature(&token),
        dangerous::signature_with_leading_zero(&token),
    ] {
        assert_eq!(check(&bad).unwrap_err(), ValidationError::InvalidSignature);
    }
    assert_eq!(
        check(&dangerous::flip_signature_bit(&token)).unwrap_err(),
        ValidationError::InvalidSignature
    );
    assert_eq!(
        check(&dangerous::flip_payload_bit(&token)).unwrap_err(),
        ValidationError::InvalidSignature
    );
}

// 14. typ: absent, JWT, at+jwt, application/at+jwt accepted; anything else refused; configurable.
#[test]
fn rule_14_only_access_token_types_are_accepted() {
    assert!(check(&TokenBuilder::delegated().remove_header("typ").sign()).is_ok());
    for typ in ["JWT", "jwt", "at+jwt", "application/at+jwt"] {
        assert!(
            check(&TokenBuilder::delegated().header("typ", json!(typ)).sign()).is_ok(),
            "{typ}"
        );
    }
    for typ in [json!("secevent+jwt"), json!("JOSE"), json!(""), json!(1)] {
        let token = TokenBuilder::delegated().header("typ", typ.clone()).sign();
        assert_eq!(
            check(&token).unwrap_err(),
            ValidationError::UnacceptedType,
            "{typ}"
        );
    }
    let strict = Validator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .accepted_types(false, ["at+jwt"])
        .build()
        .unwrap();
    let jwt = TokenBuilder::delegated().header("typ", json!("JWT")).sign();
    assert_eq!(
        strict.validate(&jwt, &default_keyset()).unwrap_err(),
        ValidationError::UnacceptedType
    );
}

// 15. A nonce header: a token for Microsoft Graph or another first-party API.
#[test]
fn rule_15_graph_tokens_with_a_nonce_header_get_their_own_error() {
    let token = TokenBuilder::graph_token().sign();
    let err = check(&token).unwrap_err();
    assert_eq!(err, ValidationError::IssuedForAnotherApi);
    assert!(err.to_string().contains("Graph"));
    assert!(err.description().contains("another API"));
    // Even addressed to us, a nonce header is refused.
    let token = TokenBuilder::delegated()
        .header("nonce", json!("abc"))
        .sign();
    assert_eq!(
        check(&token).unwrap_err(),
        ValidationError::IssuedForAnotherApi
    );
}

// 16. A header naming its key by x5t only (real Entra v1 tokens).
#[test]
fn rule_16_key_is_found_by_x5t_when_there_is_no_kid() {
    let key = TestKey::rsa_a();
    let token = TokenBuilder::delegated()
        .v1()
        .remove_header("kid")
        .header("x5t", json!(key.x5t()))
        .sign();
    let claims = check(&token).unwrap();
    assert_eq!(claims.version(), Some("1.0"));
    let token = TokenBuilder::delegated()
        .remove_header("kid")
        .remove_header("x5t")
        .sign();
    assert_eq!(check(&token).unwrap_err(), ValidationError::MissingKeyId);
}

// 17. Not exactly three segments; JWS JSON serialization.
#[test]
fn rule_17_only_three_segment_compact_tokens_are_accepted() {
    let token = TokenBuilder::delegated().sign();
    for n in [2, 4, 5, 6] {
        assert_eq!(
            check(&dangerous::with_segments(&token, n)).unwrap_err(),
            ValidationError::NotCompactJws,
            "{n}"
        );
    }
    assert_eq!(
        check(&dangerous::jws_json_serialization(&token)).unwrap_err(),
        ValidationError::NotCompactJws
    );
    assert_eq!(
        check(&dangerous::jwe_like()).unwrap_err(),
        ValidationError::NotCompactJws
    );
}

// 18. Base64url must be canonical.
#[test]
fn rule_18_base64url_must_be_canonical() {
    let token = TokenBuilder::delegated().sign();
    for bad in dangerous::with_whitespace_variants(&token) {
        let err = check(&bad).unwrap_err();
        assert!(
            matches!(err, ValidationError::InvalidBase64(_)),
            "{bad:?}: {err:?}"
        );
    }
    for bad in [
        dangerous::with_padding(&token),
        dangerous::with_standard_alphabet(&token),
        dangerous::with_whitespace(&token),
        dangerous::with_non_canonical_trailing_bits(&token),
    ] {
        // These damage only the signature segment, which the signature does not cover: only a
        // strict decoder refuses them.
        assert_eq!(
            check(&bad).unwrap_err(),
            ValidationError::InvalidBase64(TokenPart::Signature),
            "{bad}"
        );
    }
    // Non-canonical text in a signed segment is refused too, before any JSON is read.
    let claims = claims_of(&TokenBuilder::delegated());
    for bad in [
        dangerous::non_canonical_payload(&claims),
        dangerous::padded_payload(&claims),
    ] {
        assert_eq!(
            check(&bad).unwrap_err(),
            ValidationError::InvalidBase64(TokenPart::Payload)
        );
    }
}

// 19. Header or payload not a JSON object, invalid UTF-8, a byte-order mark.
#[test]
fn rule_19_header_and_payload_must_be_utf8_json_objects() {
    for raw in [
        &b"[]"[..],
        b"\"x\"",
        b"\xEF\xBB\xBF{\"alg\":\"RS256\"}",
        b"{\"alg\":\"RS256\",\"kid\":\"\xFF\"}",
        b"{",
    ] {
        let token = dangerous::header_bytes(raw);
        assert_eq!(
            check(&token).unwrap_err(),
            ValidationError::InvalidJson(TokenPart::Header),
            "{raw:?}"
        );
    }
    for raw in [
        &b"[]"[..],
        b"\"x\"",
        b"\xEF\xBB\xBF{}",
        b"{\"iss\":\"\xFF\"}",
        b"null",
    ] {
        let token = dangerous::payload_bytes(raw);
        assert_eq!(
            check(&token).unwrap_err(),
            ValidationError::InvalidJson(TokenPart::Payload),
            "{raw:?}"
        );
    }
}

// 20. Duplicate member names in header or claims: never "last one wins".
#[test]
fn rule_20_duplicate_members_are_rejected() {
    let claims = claims_of(&TokenBuilder::delegated());
    let token = dangerous::duplicate_header_member(&claims, "alg", json!("RS256"), json!("none"));
    assert_eq!(
        check(&token).unwrap_err(),
        ValidationError::DuplicateMember(TokenPart::Header)
    );
    let token = dangerous::duplicate_header_member(
        &claims,
        "kid",
        json!("a"),
        json!(TestKey::rsa_a().kid()),
    );
    assert_eq!(
        check(&token).unwrap_err(),
        ValidationError::DuplicateMember(TokenPart::Header)
    );
    for (name, first, second) in [
        (
            "aud",
            json!("https://graph.microsoft.com"),
            json!(API_CLIENT_ID),
        ),
        ("exp", json!(now() - 600), json!(now() + 3600)),
        ("tid", json!(OTHER_TENANT_ID), json!(TENANT_ID)),
        ("xms_custom", json!(1), json!(2)),
    ] {
        let token = dangerous::duplicate_claim(&claims, name, first, second);
        assert_eq!(
            check(&token).unwrap_err(),
            ValidationError::DuplicateMember(TokenPart::Payload),
            "{name}"
        );
    }
}

// 21. Token larger than the cap: refused before any decoding.
#[test]
fn rule_21_oversized_tokens_are_rejected_before_decoding() {
    let big = dangerous::oversized(40 * 1024);
    assert_eq!(
        check(&big).unwrap_err(),
        ValidationError::TooLarge { limit: 32 * 1024 }
    );
    // Garbage of the same size is refused by size, not by parsing: nothing was decoded.
    let junk = "!".repeat(33 * 1024);
    assert_eq!(
        check(&junk).unwrap_err(),
        ValidationError::TooLarge { limit: 32 * 1024 }
    );
    let roomy = Validator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .max_token_size(64 * 1024)
        .build()
        .unwrap();
    assert!(roomy.validate(&big, &default_keyset()).is_ok());
}

// 22. Nested JWT (cty: JWT) and other structures we do not process.
#[test]
fn rule_22_nested_and_encrypted_structures_are_rejected() {
    for (name, value) in [
        ("cty", "JWT"),
        ("enc", "A256GCM"),
        ("zip", "DEF"),
        ("b64", "false"),
    ] {
        let token = TokenBuilder::delegated().header(name, json!(value)).sign();
        assert_eq!(
            check(&token).unwrap_err(),
            ValidationError::UnsupportedStructure,
            "{name}"
        );
    }
}

// 23. exp required; exp in the past beyond leeway; nbf in the future beyond leeway.
#[test]
fn rule_23_lifetime_is_enforced_with_leeway() {
    assert_eq!(
        check(&TokenBuilder::delegated().remove("exp").sign()).unwrap_err(),
        ValidationError::MissingClaim("exp")
    );
    let expired = TokenBuilder::delegated()
        .issued_at(now() - 7200)
        .expires_in(3600 - 120)
        .sign();
    assert!(matches!(
        check(&expired).unwrap_err(),
        ValidationError::Expired { .. }
    ));
    let within_leeway = TokenBuilder::delegated()
        .issued_at(now() - 3630)
        .expires_in(3600)
        .sign();
    assert!(check(&within_leeway).is_ok());
    let future = TokenBuilder::delegated().not_before_in(600).sign();
    assert!(matches!(
        check(&future).unwrap_err(),
        ValidationError::NotYetValid { .. }
    ));
    let slightly = TokenBuilder::delegated().not_before_in(30).sign();
    assert!(check(&slightly).is_ok());
    // The leeway is configurable and the clock injectable.
    let t = 1_700_000_000;
    let token = TokenBuilder::delegated()
        .issued_at(t)
        .expires_in(3600)
        .sign();
    let at = |secs: i64, leeway: u64| {
        Validator::builder()
            .tenant_id(TENANT_ID)
            .client_id(API_CLIENT_ID)
            .leeway(Duration::from_secs(leeway))
            .clock(FixedClock::at(secs))
            .build()
            .unwrap()
            .validate(&token, &default_keyset())
    };
    assert!(at(t + 3600 + 59, 60).is_ok());
    assert!(at(t + 3600 + 61, 60).is_err());
    assert!(at(t + 3601, 0).is_err());
    assert_eq!(
        at(t + 3600 + 100, 0).unwrap_err(),
        ValidationError::Expired { seconds_ago: 100 }
    );
}

// 24. exp / nbf / iat as a string, boolean, negative or beyond i64: invalid, never "absent".
#[test]
fn rule_24_numeric_dates_of_the_wrong_type_are_invalid_not_absent() {
    for claim in ["exp", "nbf", "iat"] {
        for bad in [
            json!("2000000000"),
            json!(true),
            json!(-1),
            json!(1e300),
            json!(u64::MAX),
            json!(null),
            json!({}),
        ] {
            let token = TokenBuilder::delegated().claim(claim, bad.clone()).sign();
            let err = check(&token).unwrap_err();
            assert!(
                matches!(err, ValidationError::InvalidClaim(c) if c == claim),
                "{claim}={bad}: {err:?}"
            );
        }
    }
    let fractional = TokenBuilder::delegated()
        .claim("exp", json!(now() as f64 + 600.5))
        .sign();
    assert!(check(&fractional).is_ok());
}

// 25. aud missing; array with an accepted audience; array without one; empty array.
#[test]
fn rule_25_audience_presence_and_arrays() {
    assert_eq!(
        check(&TokenBuilder::delegated().remove("aud").sign()).unwrap_err(),
        ValidationError::MissingClaim("aud")
    );
    assert!(
        check(
            &TokenBuilder::delegated()
                .claim("aud", json!(["other", API_CLIENT_ID]))
                .sign()
        )
        .is_ok()
    );
    for aud in [json!(["other", "another"]), json!([])] {
        let err = check(&TokenBuilder::delegated().claim("aud", aud.clone()).sign()).unwrap_err();
        assert!(
            matches!(err, ValidationError::AudienceMismatch { .. }),
            "{aud}"
        );
    }
    assert_eq!(
        check(&TokenBuilder::delegated().claim("aud", json!(7)).sign()).unwrap_err(),
        ValidationError::InvalidClaim("aud")
    );
}

// 26. Entra audiences: client-id GUID, api://{client id}, App ID URIs with or without '/'.
#[test]
fn rule_26_entra_audiences() {
    let accepted = [
        API_CLIENT_ID.to_owned(),
        format!("api://{API_CLIENT_ID}"),
        format!("api://{API_CLIENT_ID}/"),
        API_APP_ID_URI.to_owned(),
        format!("{API_APP_ID_URI}/"),
    ];
    for aud in accepted {
        assert!(
            check(&TokenBuilder::delegated().audience(&aud).sign()).is_ok(),
            "{aud}"
        );
    }
    for aud in [
        GRAPH_APP_ID,
        "https://graph.microsoft.com",
        "api://tower-entra-test-api-2",
        "API://TOWER-ENTRA-TEST-API",
    ] {
        let err = check(&TokenBuilder::delegated().audience(aud).sign()).unwrap_err();
        assert!(
            matches!(err, ValidationError::AudienceMismatch { .. }),
            "{aud}"
        );
    }
    let https_uri = Validator::builder()
        .tenant_id(TENANT_ID)
        .audience("https://contoso.com/api/")
        .build()
        .unwrap();
    assert!(
        https_uri
            .validate(
                &TokenBuilder::delegated()
                    .audience("https://contoso.com/api")
                    .sign(),
                &default_keyset()
            )
            .is_ok()
    );
}

// 27. Issuer compared byte-exact after template substitution.
#[test]
fn rule_27_issuer_is_compared_byte_exact() {
    let v1 = format!("https://sts.windows.net/{TENANT_ID}/");
    let v2 = format!("https://login.microsoftonline.com/{TENANT_ID}/v2.0");
    assert!(check(&TokenBuilder::delegated().claim("iss", json!(v1)).sign()).is_ok());
    assert!(check(&TokenBuilder::delegated().claim("iss", json!(v2)).sign()).is_ok());
    let bad = [
        format!("https://sts.windows.net/{TENANT_ID}"),
        format!("https://STS.windows.net/{TENANT_ID}/"),
        format!("https://login.microsoftonline.com/{TENANT_ID}/V2.0"),
        format!("https://login.microsoftonline.com/{TENANT_ID}/v2.0 "),
        format!("https://login.microsoftonline.com/{TENANT_ID}/v2.0\u{0}"),
        format!("https://login.micr\u{043e}softonline.com/{TENANT_ID}/v2.0"),
        format!("https://login.microsoftonline.com/{TENANT_ID}/v2.0/"),
        format!("http://login.microsoftonline.com/{TENANT_ID}/v2.0"),
        format!(
            "https://login.microsoftonline.com/{}/v2.0",
            TENANT_ID.to_uppercase()
        ),
        "https://login.microsoftonline.com/common/v2.0".to_owned(),
    ];
    for iss in bad {
        let err = check(&TokenBuilder::delegated().claim("iss", json!(iss)).sign()).unwrap_err();
        assert!(
            matches!(err, ValidationError::UntrustedIssuer),
            "{iss:?}: {err:?}"
        );
    }
    assert_eq!(
        check(&TokenBuilder::delegated().remove("iss").sign()).unwrap_err(),
        ValidationError::MissingClaim("iss")
    );
}

// 28. Entra keys are shared by all tenants: the tenant must be checked.
#[test]
fn rule_28_tenant_confusion_is_rejected() {
    // A validly signed token from another tenant.
    let err = check(&TokenBuilder::delegated().tenant(OTHER_TENANT_ID).sign()).unwrap_err();
    assert!(
        matches!(&err, ValidationError::TenantNotAllowed { tenant, .. } if tenant == OTHER_TENANT_ID)
    );
    assert!(err.to_string().contains(TENANT_ID), "{err}");
    // tid differs from the issuer's tenant, is missing, or is not a GUID.
    for tid in [
        json!(OTHER_TENANT_ID),
        json!("not-a-guid"),
        json!(TENANT_ID.to_uppercase()),
    ] {
        let err = check(&TokenBuilder::delegated().claim("tid", tid.clone()).sign()).unwrap_err();
        assert_eq!(err, ValidationError::TenantMismatch, "{tid}");
    }
    assert_eq!(
        check(&TokenBuilder::delegated().remove("tid").sign()).unwrap_err(),
        ValidationError::TenantMismatch
    );
    // An allow-list accepts exactly its tenants; any_tenant with a filter decides by callback.
    let multi = Validator::builder()
        .tenant_ids([TENANT_ID, OTHER_TENANT_ID])
        .client_id(API_CLIENT_ID)
        .build()
        .unwrap();
    assert!(
        multi
            .validate(
                &TokenBuilder::delegated().tenant(OTHER_TENANT_ID).sign(),
                &default_keyset()
            )
            .is_ok()
    );
    let filtered = Validator::builder()
        .tenant_filter(|t| t == TENANT_ID)
        .client_id(API_CLIENT_ID)
        .build()
        .unwrap();
    assert!(
        filtered
            .validate(&TokenBuilder::delegated().sign(), &default_keyset())
            .is_ok()
    );
    assert!(matches!(
        filtered
            .validate(
                &TokenBuilder::delegated().tenant(OTHER_TENANT_ID).sign(),
                &default_keyset()
            )
            .unwrap_err(),
        ValidationError::TenantNotAllowed { .. }
    ));
    // The JWK's issuer (Entra's {tenantid} template) must match the token's issuer.
    let templated = |iss: &str| {
        let jwk = TestKey::rsa_a().jwk_with(|k| {
            k.insert("issuer".into(), json!(iss));
        });
        keyset_from(json!({"keys": [jwk]}))
    };
    let entra = templated("https://login.microsoftonline.com/{tenantid}/v2.0");
    assert!(
        validator()
            .validate(&TokenBuilder::delegated().sign(), &entra)
            .is_ok()
    );
    assert!(
        validator()
            .validate(&TokenBuilder::delegated().v1().sign(), &entra)
            .is_ok(),
        "v1 token, v2 key issuer"
    );
    let pinned = templated(&format!(
        "https://login.microsoftonline.com/{OTHER_TENANT_ID}/v2.0"
    ));
    assert_eq!(
        validator()
            .validate(&TokenBuilder::delegated().sign(), &pinned)
            .unwrap_err(),
        ValidationError::KeyIssuerMismatch
    );
    let other_idp = templated("https://idp.example.com/{tenantid}");
    assert_eq!(
        validator()
            .validate(&TokenBuilder::delegated().sign(), &other_idp)
            .unwrap_err(),
        ValidationError::KeyIssuerMismatch
    );
}

// 29. An ID token presented as an access token.
#[test]
fn rule_29_id_tokens_are_not_access_tokens() {
    assert_eq!(
        check(&TokenBuilder::id_token().sign()).unwrap_err(),
        ValidationError::IdToken
    );
    for claim in ["nonce", "c_hash", "at_hash"] {
        let token = TokenBuilder::delegated().claim(claim, json!("x")).sign();
        assert_eq!(
            check(&token).unwrap_err(),
            ValidationError::IdToken,
            "{claim}"
        );
    }
    // No nonce, but no client either: Entra access tokens always name theirs (azp / appid), ID
    // tokens never do.
    let bare = TokenBuilder::id_token().remove("nonce").sign();
    assert_eq!(
        check(&bare).unwrap_err(),
        ValidationError::MissingClaim("azp")
    );
    let v1 = TokenBuilder::delegated()
        .v1()
        .remove("appid")
        .remove("appidacr")
        .sign();
    assert_eq!(
        check(&v1).unwrap_err(),
        ValidationError::MissingClaim("appid")
    );
    // An app-only token without roles (no admin consent) is a valid app token, in Entra's
    // default shape (no idtyp): it gets 403 at a role gate, not 401.
    let no_consent = TokenBuilder::app().remove("roles").sign();
    let claims = check(&no_consent).unwrap();
    assert_eq!(claims.kind(), TokenKind::App);
    assert!(claims.roles().is_empty());
}

// 30 (classification, used by the layers): the kind rule.
#[test]
fn token_kind_follows_idtyp_then_scp_then_oid_equal_to_sub() {
    assert_eq!(
        check(&TokenBuilder::delegated().idtyp("user").sign())
            .unwrap()
            .kind(),
        TokenKind::Delegated
    );
    assert_eq!(
        check(&TokenBuilder::app().remove("idtyp").sign())
            .unwrap()
            .kind(),
        TokenKind::App
    );
    assert_eq!(
        check(
            &TokenBuilder::app()
                .remove("idtyp")
                .claim("scp", json!("x"))
                .sign()
        )
        .unwrap()
        .kind(),
        TokenKind::Delegated
    );
}

// 31. Groups overage is overage, never "no groups".
#[test]
fn rule_31_groups_overage_is_reported() {
    let token = TokenBuilder::delegated()
        .claim("_claim_names", json!({"groups": "src1"}))
        .sign();
    assert_eq!(check(&token).unwrap().groups(), Groups::Overage);
}

#[test]
fn plain_oidc_issuers_are_compared_exactly() {
    let v = Validator::builder()
        .issuer("https://idp.example.com/realms/demo")
        .audience("account")
        .build()
        .unwrap();
    // RFC 9068 shape (the default profile for exact issuers).
    let token = TokenBuilder::delegated()
        .claim("iss", json!("https://idp.example.com/realms/demo"))
        .header("typ", json!("at+jwt"))
        .claim("client_id", json!("web"))
        .audience("account")
        .remove("tid")
        .sign();
    assert!(v.validate(&token, &default_keyset()).is_ok());
    let token = TokenBuilder::delegated()
        .claim("iss", json!("https://idp.example.com/realms/demo/"))
        .audience("account")
        .sign();
    assert_eq!(
        v.validate(&token, &default_keyset()).unwrap_err(),
        ValidationError::UntrustedIssuer
    );
}

#[test]
fn error_text_never_echoes_token_content() {
    let marker = "ZZmarkerZZ";
    let tokens = [
        TokenBuilder::delegated().claim("iss", json!(marker)).sign(),
        TokenBuilder::delegated().audience(marker).sign(),
        TokenBuilder::delegated().kid(marker).sign(),
        TokenBuilder::delegated()
            .header("typ", json!(marker))
            .sign(),
        TokenBuilder::delegated().claim("tid", json!(marker)).sign(),
        TokenBuilder::delegated()
            .header("alg", json!(marker))
            .sign(),
    ];
    for token in tokens {
        let err = check(&token).unwrap_err();
        let text = format!("{err} {err:?} {}", err.description());
        assert!(!text.contains(marker), "{text}");
        assert!(!err.description().contains('"') && !err.description().contains('\\'));
    }
}

#[test]
fn jwks_with_duplicate_kids_is_refused() {
    let doc = jwks_json(&[TestKey::rsa_a(), TestKey::rsa_a()]);
    assert!(matches!(
        KeySet::from_jwks_json(doc.as_bytes()),
        Err(auth_layer::KeySetError::DuplicateKeyId { .. })
    ));
}

#[test]
fn id_token_mode_accepts_id_tokens_and_nothing_else_changes() {
    let id_validator = Validator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .accept_id_tokens()
        .build()
        .unwrap();
    let id_token = TokenBuilder::id_token().sign();
    let claims = id_validator.validate(&id_token, &default_keyset()).unwrap();
    assert!(claims.get("nonce").is_some());
    // The default validator still refuses it, and the ID-token validator still checks the rest.
    assert_eq!(check(&id_token).unwrap_err(), ValidationError::IdToken);
    let other_tenant = TokenBuilder::id_token().tenant(OTHER_TENANT_ID).sign();
    assert!(matches!(
        id_validator
            .validate(&other_tenant, &default_keyset())
            .unwrap_err(),
        ValidationError::TenantNotAllowed { .. }
    ));
    let expired = TokenBuilder::id_token().issued_at(now() - 7200).sign();
    assert!(matches!(
        id_validator
            .validate(&expired, &default_keyset())
            .unwrap_err(),
        ValidationError::Expired { .. }
    ));
}

#[test]
fn china_clouds_v1_issuer_is_derived_from_its_instance() {
    for instance in [
        "https://login.chinacloudapi.cn",
        "https://login.partner.microsoftonline.cn/",
    ] {
        let v = Validator::builder()
            .instance(instance)
            .tenant_id(TENANT_ID)
            .client_id(API_CLIENT_ID)
            .audience(API_APP_ID_URI)
            .build()
            .unwrap();
        assert_eq!(
            v.v1_issuer(TENANT_ID),
            format!("https://sts.chinacloudapi.cn/{TENANT_ID}/")
        );
        let token = TokenBuilder::delegated()
            .v1()
            .claim("iss", format!("https://sts.chinacloudapi.cn/{TENANT_ID}/"))
            .sign();
        let keys = keyset(&[TestKey::rsa_a()]);
        let result = v.validate(&token, &keys);
        assert!(result.is_ok(), "{instance}: {result:?}");
    }
    // US Government keeps sts.windows.net; an explicit base always wins.
    let gov = Validator::builder()
        .instance("https://login.microsoftonline.us")
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .build()
        .unwrap();
    assert_eq!(
        gov.v1_issuer(TENANT_ID),
        format!("https://sts.windows.net/{TENANT_ID}/")
    );
    let explicit = Validator::builder()
        .v1_issuer_base("https://sts.example.test")
        .instance("https://login.chinacloudapi.cn")
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .build()
        .unwrap();
    assert_eq!(
        explicit.v1_issuer(TENANT_ID),
        format!("https://sts.example.test/{TENANT_ID}/")
    );
}
