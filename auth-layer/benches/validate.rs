//! Full validation against the floor: a raw aws-lc-rs RS256 verify of the same token with a
//! pre-parsed key (base64url-decoding the signature included), and jsonwebtoken 12's decode.
//!
//! Run: `cargo bench -p auth-layer --bench validate`. Compare the medians of one run.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use auth_layer::Validator;
use auth_testkit::ids::{API_CLIENT_ID, TENANT_ID};
use auth_testkit::{TestKey, TokenBuilder, default_keyset};
use aws_lc_rs::signature::{self, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};

/// A delegated v2 token padded with the claims a real Entra token carries, ~1.6 KB.
fn entra_like_token() -> String {
    TokenBuilder::delegated_with_real_claims().sign()
}

fn bench(c: &mut Criterion) {
    let token = entra_like_token();
    eprintln!("token length: {} bytes", token.len());
    let keys = default_keyset();
    let validator = Validator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .build()
        .expect("valid configuration");
    assert!(validator.validate(&token, &keys).is_ok());

    let (n, e) = TestKey::rsa_a().rsa_public_components().expect("RSA key");
    let parsed = RsaPublicKeyComponents { n, e }
        .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
        .expect("valid key");
    let (signing_input, sig_b64) = token.rsplit_once('.').expect("three segments");

    let mut group = c.benchmark_group("rs256");
    group.bench_function("raw_aws_lc_rs_verify_preparsed_key", |b| {
        b.iter(|| {
            let sig = URL_SAFE_NO_PAD
                .decode(black_box(sig_b64))
                .expect("base64url");
            parsed
                .verify_sig(black_box(signing_input.as_bytes()), &sig)
                .expect("valid");
        });
    });
    group.bench_function("auth_layer_full_validation", |b| {
        b.iter(|| validator.validate(black_box(&token), &keys).expect("valid"));
    });

    let decoding_key = jsonwebtoken::DecodingKey::from_rsa_raw_components(n, e);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[API_CLIENT_ID]);
    validation.set_issuer(&[format!(
        "https://login.microsoftonline.com/{TENANT_ID}/v2.0"
    )]);
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &decoding_key, &validation)
                .expect("valid")
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
