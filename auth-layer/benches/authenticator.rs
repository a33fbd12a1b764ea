//! The verified-token cache: a hit against a full validation of the same token, through the
//! `Authenticator` as the layers call it.
//!
//! Run: `cargo bench -p auth-layer --bench authenticator`. Compare the medians of one run.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use auth_layer::Authenticator;
use auth_testkit::ids::{API_CLIENT_ID, TENANT_ID};
use auth_testkit::{TokenBuilder, default_keyset};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let token = TokenBuilder::delegated()
        .scopes("Case.Create Case.Read")
        .sign();
    let build = |cache: bool| {
        let b = Authenticator::builder()
            .tenant_id(TENANT_ID)
            .client_id(API_CLIENT_ID)
            .keys(default_keyset());
        let b = if cache {
            b
        } else {
            b.no_verified_token_cache()
        };
        b.build().expect("valid configuration")
    };
    let cold = build(false);
    let warm = build(true);
    assert!(warm.try_authenticate(&token).is_ok());

    let mut group = c.benchmark_group("authenticator");
    group.bench_function("full_validation", |b| {
        b.iter(|| {
            cold.try_authenticate(black_box(&token))
                .expect("valid without waiting")
        });
    });
    group.bench_function("verified_token_cache_hit", |b| {
        b.iter(|| {
            warm.try_authenticate(black_box(&token))
                .expect("valid without waiting")
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
