//! The layer itself: one request through `Authorize` (an `AuthenticateLayer` whose
//! verified-token cache holds the token) against the same request through an identity layer,
//! over the same hello-world service. The difference is what the layer costs a warm request
//! beyond the cache hit the `authenticator` bench measures: bearer extraction, the principal in
//! the request's extensions, the response future. A regression there shows here before it
//! shows in the load test (docs/performance.md).
//!
//! Run: `cargo bench -p auth-layer --bench layer`. Compare the medians of one run.
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use auth_layer::{AuthenticateLayer, Authenticator};
use auth_testkit::ids::{API_CLIENT_ID, TENANT_ID};
use auth_testkit::{TokenBuilder, default_keyset};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::{HeaderValue, Request, Response};
use tower::{Layer, Service, ServiceExt as _, layer::util::Identity};

/// The token the load harness sends: delegated v2 with a real token's claims, ~1.6 KB.
fn entra_like_token() -> String {
    TokenBuilder::delegated_with_real_claims()
        .expires_in(3 * 3600)
        .sign()
}

/// Calls `service` once and polls the response future to completion (it is ready at once: no
/// key fetch, a synchronous inner service).
fn call<S>(service: &mut S, request: Request<()>) -> Response<String>
where
    S: Service<Request<()>, Response = Response<String>, Error = Infallible>,
{
    let mut future = pin!(service.call(request));
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(Ok(response)) => response,
        Poll::Pending => unreachable!("the hello service and a cache hit answer at once"),
    }
}

fn bench(c: &mut Criterion) {
    let token = entra_like_token();
    let authorization = HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
    let request = || {
        let mut request = Request::new(());
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, authorization.clone());
        request
    };
    let hello = tower::service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    let auth = Authenticator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .keys(default_keyset())
        .build()
        .expect("valid configuration");
    assert!(auth.try_authenticate(&token).is_ok(), "the token is cached");

    let mut identity = Identity::new().layer(hello);
    let mut authorize = AuthenticateLayer::new(auth.clone()).layer(hello);
    runtime.block_on(async {
        let ready = authorize.ready().await.expect("ready");
        assert_eq!(call(ready, request()).status(), 200);
    });
    let hits = auth.stats().cache_hits;

    let mut group = c.benchmark_group("layer");
    group.bench_function("identity_layer", |b| {
        b.iter_batched(
            request,
            |r| call(&mut identity, black_box(r)),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("authorize_verified_token_cache_hit", |b| {
        b.iter_batched(
            request,
            |r| call(&mut authorize, black_box(r)),
            BatchSize::SmallInput,
        );
    });
    group.finish();
    assert!(
        auth.stats().cache_hits > hits,
        "every request was a cache hit"
    );
    assert_eq!(auth.stats().full_validations, 1);
}

criterion_group!(benches, bench);
criterion_main!(benches);
