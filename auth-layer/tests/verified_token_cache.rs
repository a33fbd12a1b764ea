//! The verified-token cache never answers differently from a full validation at the same
//! instant (issue 13). Each test caches a token, changes one thing that can change while the
//! token does not, and compares the cached authenticator's answer with an uncached one's over
//! the same keys and configuration. Each fails if its re-check is removed from
//! `verified_cache.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use auth_layer::jwks::JwksCache;
use auth_layer::{Authenticator, AuthenticatorBuilder, ValidationError};
use auth_testkit::jwks_server::{Fault, JwksServer};
use auth_testkit::{AdvancingClock, TestKey, TokenBuilder, default_keyset, ids};

/// The same configuration twice: with the verified-token cache, and without.
fn cached_and_uncached(
    configure: impl Fn(AuthenticatorBuilder) -> AuthenticatorBuilder,
) -> (Authenticator, Authenticator) {
    // The home tenant, unless the configuration accepts any tenant (a tenant list and
    // any_tenant() together are refused at build()).
    let base = || Authenticator::builder().client_id(ids::API_CLIENT_ID);
    let cached = configure(base()).build().expect("valid configuration");
    let uncached = configure(base())
        .no_verified_token_cache()
        .build()
        .expect("valid configuration");
    (cached, uncached)
}

/// Caches `token` in `cached` and checks it is answered from the cache.
async fn cache(cached: &Authenticator, token: &str) {
    cached.authenticate(token).await.expect("valid at first");
    let hits = cached.stats().cache_hits;
    cached
        .authenticate(token)
        .await
        .expect("valid from the cache");
    assert_eq!(cached.stats().cache_hits, hits + 1, "served from the cache");
}

async fn eventually(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < limit, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn cache_hit_rechecks_the_tenant_filter() {
    // A tenant filter may change its mind (a tenant is offboarded at runtime).
    let allowed = Arc::new(AtomicBool::new(true));
    let (cached, uncached) = cached_and_uncached(|b| {
        let allowed = Arc::clone(&allowed);
        b.any_tenant()
            .validator(move |v| v.tenant_filter(move |_tenant| allowed.load(Ordering::SeqCst)))
            .keys(default_keyset())
    });
    let token = TokenBuilder::delegated().sign();
    cache(&cached, &token).await;

    allowed.store(false, Ordering::SeqCst);
    let full = uncached.authenticate(&token).await.unwrap_err();
    assert!(
        matches!(full, ValidationError::TenantNotAllowed { .. }),
        "{full:?}"
    );
    assert_eq!(cached.authenticate(&token).await.unwrap_err(), full);
}

#[tokio::test]
async fn cache_hit_fails_closed_after_max_staleness() {
    let idp = JwksServer::start().await;
    let jwks = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .refresh_interval(Duration::from_millis(100))
        .min_refresh_interval(Duration::from_millis(100))
        .max_staleness(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    let (cached, uncached) =
        cached_and_uncached(|b| b.tenant_id(ids::TENANT_ID).jwks(jwks.clone()));
    let token = TokenBuilder::delegated().sign();
    cache(&cached, &token).await;

    idp.set_jwks_fault(Some(Fault::Status(503)));
    eventually(Duration::from_secs(5), "the keys to go stale", || {
        jwks.stats()
            .staleness
            .is_some_and(|s| s > Duration::from_millis(350))
    })
    .await;
    let full = uncached.authenticate(&token).await.unwrap_err();
    assert_eq!(full, ValidationError::KeysUnavailable);
    assert_eq!(cached.authenticate(&token).await.unwrap_err(), full);
}

/// Caches a token signed with key A, then has the provider publish `republished` in A's place
/// and the key cache refresh (an unknown `kid` makes it): the token's answer, full and cached,
/// is then asserted by the caller.
async fn cached_then_key_a_republished(
    republished: serde_json::Value,
) -> (Authenticator, Authenticator, String) {
    let idp = JwksServer::with_keys(&[TestKey::rsa_a()]).await;
    let jwks = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .min_refresh_interval(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let (cached, uncached) =
        cached_and_uncached(|b| b.tenant_id(ids::TENANT_ID).jwks(jwks.clone()));
    let token = TokenBuilder::delegated().key(TestKey::rsa_a()).sign();
    cache(&cached, &token).await;

    idp.set_jwks(serde_json::json!({ "keys": [republished] }));
    let unknown = TokenBuilder::delegated()
        .key(TestKey::rsa_untrusted())
        .sign();
    let _ = uncached.authenticate(&unknown).await;
    assert_eq!(
        jwks.stats().fetches_succeeded,
        2,
        "the key set was refreshed"
    );
    assert!(jwks.current().contains_kid(TestKey::rsa_a().kid()));
    (cached, uncached, token)
}

#[tokio::test]
async fn cache_hit_rechecks_the_signing_key_material_not_its_kid() {
    // The provider re-publishes key A's kid with other material (key B's).
    let republished = TestKey::rsa_b().jwk_with(|jwk| {
        jwk.insert("kid".into(), TestKey::rsa_a().kid().into());
        jwk.remove("x5t");
        jwk.remove("x5c");
    });
    let (cached, uncached, token) = cached_then_key_a_republished(republished).await;

    let full = uncached.authenticate(&token).await.unwrap_err();
    assert_eq!(full, ValidationError::InvalidSignature);
    assert_eq!(cached.authenticate(&token).await.unwrap_err(), full);
}

#[tokio::test]
async fn cache_hit_rechecks_the_lifetime_by_the_validators_clock() {
    let clock = AdvancingClock::default();
    let (cached, uncached) = cached_and_uncached(|b| {
        let clock = clock.clone();
        b.tenant_id(ids::TENANT_ID)
            .validator(move |v| v.clock(clock))
            .keys(default_keyset())
    });
    let token = TokenBuilder::delegated().sign();
    cache(&cached, &token).await;

    clock.advance(Duration::from_secs(3 * 60 * 60));
    let full = uncached.authenticate(&token).await.unwrap_err();
    assert!(matches!(full, ValidationError::Expired { .. }), "{full:?}");
    assert_eq!(cached.authenticate(&token).await.unwrap_err(), full);
}

#[tokio::test]
async fn cache_hit_rechecks_the_key_issuer_of_a_republished_key() {
    // A hit whose key is the very one that verified the token skips the rules that cannot
    // change (issuer, audience, the key's `issuer`); after a refresh parsed the key again they
    // run again: the same kid and material may come back scoped to another issuer.
    let republished = TestKey::rsa_a().jwk_with(|jwk| {
        jwk.insert(
            "issuer".into(),
            "https://login.microsoftonline.com/{tenantid}/oauth2/v2.0/other".into(),
        );
    });
    let (cached, uncached, token) = cached_then_key_a_republished(republished).await;

    let full = uncached.authenticate(&token).await.unwrap_err();
    assert_eq!(full, ValidationError::KeyIssuerMismatch);
    assert_eq!(cached.authenticate(&token).await.unwrap_err(), full);
}
