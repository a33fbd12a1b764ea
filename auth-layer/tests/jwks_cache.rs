//! The JWKS cache against a loopback identity provider (`auth_testkit::jwks_server`): each test
//! proves one rule of the refresh policy with the server's request counters and the cache's
//! stats. Nothing leaves 127.0.0.1.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use auth_layer::jwks::{JwksCache, JwksError};
use auth_layer::{Authenticator, KeySetError, TryAuthenticateError, ValidationError};
use auth_testkit::jwks_server::{Fault, JwksServer};
use auth_testkit::{TestKey, TokenBuilder, base64url, ids};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const HOUR: Duration = Duration::from_secs(3600);

/// The cache as the library uses it: under an [`Authenticator`], which owns the one
/// validate / refresh-once / retry loop. No verified-token cache, so every call looks at the
/// keys.
fn over(cache: &JwksCache) -> Authenticator {
    Authenticator::builder()
        .tenant_id(ids::TENANT_ID)
        .client_id(ids::API_CLIENT_ID)
        .jwks(cache.clone())
        .no_verified_token_cache()
        .build()
        .expect("test authenticator configuration is valid")
}

fn signed_by(key: &'static TestKey) -> String {
    TokenBuilder::delegated().key(key).sign()
}

/// A token whose header names `kid`: refused at key lookup, before its (borrowed) signature is
/// looked at, so thousands can be made without signing.
fn with_kid(kid: &str) -> String {
    static SIGNED: OnceLock<String> = OnceLock::new();
    let signed = SIGNED.get_or_init(|| signed_by(TestKey::rsa_a()));
    let (_, rest) = signed.split_once('.').expect("a compact JWS has dots");
    let header = json!({"typ": "JWT", "alg": "RS256", "kid": kid});
    format!("{}.{rest}", base64url(header.to_string()))
}

/// Polls `condition` every 10 ms until it holds, panicking after `limit`.
async fn eventually(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn rotated_key_is_accepted_after_exactly_one_kid_miss_refresh() {
    let idp = JwksServer::with_keys(&[TestKey::rsa_a()]).await;
    let cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .min_refresh_interval(HOUR)
        .build()
        .await
        .unwrap();
    assert_eq!((idp.discovery_hits(), idp.jwks_hits()), (1, 1));
    assert_eq!(cache.issuer(), Some(idp.issuer(ids::TENANT_ID)));
    over(&cache)
        .authenticate(&signed_by(TestKey::rsa_a()))
        .await
        .unwrap();
    assert_eq!(idp.jwks_hits(), 1, "a known kid never fetches");

    // Entra rolls its keys: rsa-b appears. The initial fetch a moment ago does not delay this
    // first kid-miss refresh.
    idp.publish(&[TestKey::rsa_a(), TestKey::rsa_b()]);
    let rotated = signed_by(TestKey::rsa_b());
    let claims = over(&cache).authenticate(&rotated).await.unwrap();
    assert_eq!(claims.key_id(), TestKey::rsa_b().kid());
    assert_eq!(idp.jwks_hits(), 2, "exactly one kid-miss refresh");
    assert_eq!(
        idp.discovery_hits(),
        1,
        "a kid-miss refresh reuses the discovered jwks_uri"
    );

    over(&cache).authenticate(&rotated).await.unwrap();
    over(&cache).try_authenticate(&rotated).unwrap();
    assert_eq!(idp.jwks_hits(), 2);
    let stats = cache.stats();
    assert_eq!(
        (
            stats.kid_miss_refreshes,
            stats.fetches_succeeded,
            stats.keys_loaded
        ),
        (1, 2, 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_refresh_is_single_flight() {
    let idp = JwksServer::with_keys(&[TestKey::rsa_a()]).await;
    let cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .min_refresh_interval(HOUR)
        .build()
        .await
        .unwrap();
    idp.publish(&[TestKey::rsa_a(), TestKey::rsa_b()]);
    // The fetch takes 300 ms, so the 10,000 requests arrive while it is in flight.
    idp.set_jwks_fault(Some(Fault::Hang(Duration::from_millis(300))));
    let token = Arc::new(signed_by(TestKey::rsa_b()));
    let tasks: Vec<_> = (0..10_000)
        .map(|_| {
            let (cache, token) = (cache.clone(), token.clone());
            tokio::spawn(async move { over(&cache).authenticate(&token).await })
        })
        .collect();
    for task in tasks {
        task.await
            .unwrap()
            .expect("every request waits for the shared fetch, then validates");
    }
    let fetches = idp.jwks_hits() - 1;
    println!("single-flight: 10000 concurrent validations with one unseen kid -> {fetches} fetch");
    assert_eq!(fetches, 1);
    assert_eq!(cache.stats().kid_miss_refreshes, 1);
    assert_eq!(
        cache.stats().kid_miss_rate_limited,
        0,
        "joiners are not rate-limited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kid_miss_refreshes_are_rate_limited() {
    let idp = JwksServer::with_keys(&[TestKey::rsa_a()]).await;
    let cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .min_refresh_interval(HOUR)
        .build()
        .await
        .unwrap();
    let known = Arc::new(signed_by(TestKey::rsa_a()));
    let slowest_refusal_after_first = Arc::new(AtomicUsize::new(0));

    let tasks: Vec<_> = (0..4)
        .map(|t| {
            let (cache, known) = (cache.clone(), known.clone());
            let slowest = slowest_refusal_after_first.clone();
            tokio::spawn(async move {
                for i in 0..25_000 {
                    let random = with_kid(&format!("attacker-{t}-{i}"));
                    let start = Instant::now();
                    let refused = over(&cache).authenticate(&random).await;
                    assert!(matches!(refused, Err(ValidationError::UnknownKey)));
                    if i > 0 {
                        let micros =
                            usize::try_from(start.elapsed().as_micros()).unwrap_or(usize::MAX);
                        slowest.fetch_max(micros, Ordering::Relaxed);
                    }
                    if i % 100 == 0 {
                        over(&cache)
                            .authenticate(&known)
                            .await
                            .expect("known keys keep validating");
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let fetches = idp.jwks_hits() - 1;
    let stats = cache.stats();
    println!(
        "rate limit: 100000 random kids in one window -> {fetches} fetch ({} rate-limited, \
         slowest later refusal {} us)",
        stats.kid_miss_rate_limited,
        slowest_refusal_after_first.load(Ordering::Relaxed)
    );
    assert_eq!(fetches, 1);
    assert_eq!(stats.kid_miss_refreshes, 1);
    assert!(stats.kid_miss_rate_limited >= 99_000, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kid_miss_rate_limit_window_runs_from_the_last_kid_miss_refresh() {
    let window = Duration::from_millis(250);
    let idp = JwksServer::with_keys(&[TestKey::rsa_a()]).await;
    let cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .min_refresh_interval(window)
        .build()
        .await
        .unwrap();

    // Back-to-back misses: one fetch, then fail-fast refusals inside the window.
    assert!(over(&cache).authenticate(&with_kid("a")).await.is_err());
    assert_eq!(idp.jwks_hits(), 2);
    let start = Instant::now();
    assert!(matches!(
        over(&cache).authenticate(&with_kid("b")).await,
        Err(ValidationError::UnknownKey)
    ));
    assert!(
        start.elapsed() < Duration::from_millis(100),
        "a rate-limited miss fails fast"
    );
    assert_eq!(idp.jwks_hits(), 2);
    tokio::time::sleep(window + Duration::from_millis(50)).await;
    assert!(over(&cache).authenticate(&with_kid("c")).await.is_err());
    assert_eq!(idp.jwks_hits(), 3, "the window reopened");

    // 10,000 random kids spread over several windows: at most one fetch per window.
    let before = idp.jwks_hits();
    let start = Instant::now();
    for i in 0..10_000 {
        let _ = over(&cache).authenticate(&with_kid(&format!("r{i}"))).await;
        if i % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    let elapsed = start.elapsed();
    let fetches = idp.jwks_hits() - before;
    let windows = elapsed.as_secs_f64() / window.as_secs_f64();
    println!(
        "rate limit: 10000 random kids over {elapsed:?} ({windows:.1} windows) -> {fetches} fetches"
    );
    assert!(
        fetches as f64 <= windows.floor() + 1.0,
        "{fetches} fetches in {windows:.2} windows"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_keys_validate_without_waiting_for_a_slow_idp() {
    let idp = JwksServer::with_keys(&[TestKey::rsa_a()]).await;
    let cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .timeout(Duration::from_secs(10))
        .build()
        .await
        .unwrap();

    let known = signed_by(TestKey::rsa_a());
    let p99 = |mut samples: Vec<Duration>| {
        samples.sort();
        samples[samples.len() * 99 / 100]
    };
    let mut normal = Vec::with_capacity(500);
    let auth = over(&cache);
    for _ in 0..500 {
        let start = Instant::now();
        auth.authenticate(&known).await.unwrap();
        normal.push(start.elapsed());
    }
    let normal_p99 = p99(normal);

    idp.set_jwks_fault(Some(Fault::Hang(Duration::from_secs(5))));
    let stuck = {
        let cache = cache.clone();
        tokio::spawn(async move {
            over(&cache)
                .authenticate(&signed_by(TestKey::rsa_b()))
                .await
        })
    };
    eventually(
        Duration::from_secs(5),
        "the kid-miss fetch reaches the IdP",
        || idp.jwks_hits() == 2,
    )
    .await;

    let mut slowest = Duration::ZERO;
    let mut during = Vec::with_capacity(500);
    let auth = over(&cache);
    for _ in 0..500 {
        let start = Instant::now();
        auth.authenticate(&known).await.unwrap();
        let one = start.elapsed();
        auth.try_authenticate(&known).unwrap();
        during.push(one);
        slowest = slowest.max(start.elapsed());
    }
    assert!(!stuck.is_finished(), "the fetch is still hanging");
    let during_p99 = p99(during);
    println!(
        "slow IdP: known-key validation p99 {during_p99:?} while a fetch hangs vs {normal_p99:?} \
         before ({:.2}x); slowest {slowest:?}",
        during_p99.as_secs_f64() / normal_p99.as_secs_f64()
    );
    // Nothing waits on the hanging fetch: the p99 stays in the same range (a loose bound, as
    // this machine is shared; the measured ratio is printed and recorded in performance.md).
    assert!(slowest < Duration::from_millis(100), "{slowest:?}");
    assert!(
        during_p99 < normal_p99 * 5 + Duration::from_millis(2),
        "{during_p99:?} vs {normal_p99:?}"
    );
    drop(idp); // releases the hanging request
    assert!(stuck.await.unwrap().is_err());
}

#[tokio::test]
async fn failed_refreshes_keep_the_last_known_good_keys() {
    let idp = JwksServer::with_keys(&[TestKey::rsa_a()]).await;
    let cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .min_refresh_interval(Duration::ZERO)
        .timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    cache.shutdown(); // only the kid-miss refreshes below fetch
    let known = signed_by(TestKey::rsa_a());
    let rotated = signed_by(TestKey::rsa_b());
    // rsa-b is published, but every fetch of it fails.
    idp.publish(&[TestKey::rsa_a(), TestKey::rsa_b()]);

    type Expect = fn(&JwksError) -> bool;
    let cases: [(Fault, Expect); 5] = [
        (Fault::Status(500), |e| {
            matches!(e, JwksError::Http { status: 500, .. })
        }),
        (Fault::Hang(Duration::from_secs(3)), |e| {
            matches!(e, JwksError::Timeout { .. })
        }),
        (Fault::Garbage, |e| {
            matches!(
                e,
                JwksError::KeySet {
                    source: KeySetError::InvalidJson,
                    ..
                }
            )
        }),
        (Fault::Oversized(2 * 1024 * 1024), |e| {
            matches!(
                e,
                JwksError::TooLarge {
                    limit: 1_048_576,
                    ..
                }
            )
        }),
        (Fault::DuplicateKids, |e| {
            matches!(
                e,
                JwksError::KeySet {
                    source: KeySetError::DuplicateKeyId { .. },
                    ..
                }
            )
        }),
    ];
    for (i, (fault, expected)) in cases.into_iter().enumerate() {
        idp.set_jwks_fault(Some(fault.clone()));
        let refused = over(&cache).authenticate(&rotated).await;
        assert!(
            matches!(refused, Err(ValidationError::UnknownKey)),
            "{fault:?}"
        );
        let stats = cache.stats();
        assert_eq!(stats.fetches_failed, i as u64 + 1, "{fault:?}");
        let error = stats.last_error.expect("the failure is recorded");
        assert!(expected(&error), "{fault:?} gave {error:?}");
        over(&cache)
            .authenticate(&known)
            .await
            .expect("the last known good keys still validate");
        assert_eq!(cache.current().len(), 1);
    }
    idp.clear_faults();
    idp.set_jwks(json!({"keys": [{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]}));
    assert!(over(&cache).authenticate(&rotated).await.is_err());
    assert!(matches!(
        cache.stats().last_error,
        Some(JwksError::KeySet {
            source: KeySetError::NoUsableKeys { dropped: 1 },
            ..
        })
    ));
    over(&cache).authenticate(&known).await.unwrap();

    // Recovery: the next successful fetch brings the new set.
    idp.publish(&[TestKey::rsa_a(), TestKey::rsa_b()]);
    over(&cache).authenticate(&rotated).await.unwrap();
    let stats = cache.stats();
    assert_eq!(
        (
            stats.fetches_failed,
            stats.fetches_succeeded,
            stats.keys_loaded
        ),
        (6, 2, 2)
    );
    assert_eq!(stats.last_error, None);
}

/// A raw HTTP/1.1 server that answers every request with an endless chunked body, counting the
/// bytes it managed to write before the client hung up.
async fn endless_chunked_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/keys", listener.local_addr().unwrap());
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, " ".repeat(16 * 1024));
                // Up to 64 MiB; a client that stops reading makes the writes fail early.
                for _ in 0..4096 {
                    if socket.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                    counter.fetch_add(16 * 1024, Ordering::SeqCst);
                }
            });
        }
    });
    (url, written)
}

#[tokio::test]
async fn oversized_bodies_are_cut_off_at_the_cap_while_streaming() {
    let (url, written) = endless_chunked_server().await;
    let err = JwksCache::builder()
        .jwks_uri(&url)
        .max_response_size(64 * 1024)
        .build()
        .await
        .unwrap_err();
    assert_eq!(
        err,
        JwksError::TooLarge {
            url,
            limit: 64 * 1024
        }
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent = written.load(Ordering::SeqCst);
    println!("streaming cap: server managed to send {sent} bytes of a 64 MiB body");
    assert!(
        sent < 16 * 1024 * 1024,
        "the body was not read to the end ({sent} bytes)"
    );
}

#[tokio::test]
async fn discovered_issuer_mismatch_refuses_the_configuration() {
    let idp = JwksServer::start().await;
    idp.set_discovery_issuer(Some("https://login.evil.example/attacker/v2.0"));
    let err = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .build()
        .await
        .unwrap_err();
    assert_eq!(
        err,
        JwksError::IssuerMismatch {
            expected: idp.issuer(ids::TENANT_ID),
            discovered: "https://login.evil.example/attacker/v2.0".to_owned(),
        }
    );
    assert_eq!(
        idp.jwks_hits(),
        0,
        "no key is fetched for a refused configuration"
    );

    // Entra's multi-tenant template matches after {tenantid} substitution.
    let template = format!("{}/{{tenantid}}/v2.0", idp.base_url());
    idp.set_discovery_issuer(Some(&template));
    let cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .build()
        .await
        .unwrap();
    assert_eq!(cache.issuer(), Some(template));
    // An explicit expectation wins over the authority's.
    idp.set_discovery_issuer(None);
    let err = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .expected_issuer("https://sts.windows.net/{tenantid}/")
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, JwksError::IssuerMismatch { .. }), "{err}");
}

#[tokio::test]
async fn non_https_jwks_uri_refuses_the_configuration() {
    let idp = JwksServer::start().await;
    idp.set_discovery_jwks_uri(Some("http://example.com/keys"));
    let err = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, JwksError::InvalidUrl { url, .. } if url == "http://example.com/keys"),
        "{err}"
    );
    assert_eq!((idp.discovery_hits(), idp.jwks_hits()), (1, 0));
    let err = JwksCache::builder()
        .jwks_uri("http://example.com/keys")
        .build()
        .await
        .unwrap_err();
    assert!(matches!(err, JwksError::InvalidUrl { .. }), "{err}");
}

#[tokio::test]
async fn direct_jwks_uri_skips_discovery() {
    let idp = JwksServer::start().await;
    let cache = JwksCache::builder()
        .jwks_uri(idp.jwks_uri(ids::TENANT_ID))
        .build()
        .await
        .unwrap();
    over(&cache)
        .authenticate(&signed_by(TestKey::rsa_b()))
        .await
        .unwrap();
    assert_eq!((idp.discovery_hits(), idp.jwks_hits()), (0, 1));
    assert_eq!(cache.issuer(), None);
    assert_eq!(cache.current().len(), 3);
}

#[tokio::test]
async fn scheduled_refresh_runs_on_schedule_and_stops_on_drop() {
    let idp = JwksServer::start().await;
    let cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .refresh_interval(Duration::from_millis(200))
        .build()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let hits = idp.jwks_hits();
    println!("schedule: {hits} key-set fetches in 1.1 s with a 200 ms interval");
    assert!((3..=8).contains(&hits), "{hits} fetches");
    assert!(
        idp.discovery_hits() >= 3,
        "scheduled refreshes re-run discovery"
    );

    drop(cache);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after_drop = idp.jwks_hits();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        idp.jwks_hits(),
        after_drop,
        "the refresh task stopped with the last handle"
    );
}

#[tokio::test]
async fn shutdown_stops_the_scheduled_refresh_but_keeps_the_keys() {
    let idp = JwksServer::start().await;
    let cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .refresh_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    eventually(Duration::from_secs(5), "a scheduled refresh", || {
        idp.jwks_hits() >= 2
    })
    .await;
    cache.shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = idp.jwks_hits();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(idp.jwks_hits(), after);
    over(&cache)
        .authenticate(&signed_by(TestKey::rsa_a()))
        .await
        .unwrap();
}

#[tokio::test]
async fn cache_control_max_age_shortens_the_schedule() {
    let idp = JwksServer::start().await;
    idp.set_jwks_cache_control(Some("public, max-age=1"));
    let start = Instant::now();
    let _cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .refresh_interval(HOUR)
        .min_refresh_interval(Duration::from_millis(100))
        .build()
        .await
        .unwrap();
    eventually(Duration::from_secs(5), "a refresh after max-age", || {
        idp.jwks_hits() >= 2
    })
    .await;
    assert!(
        start.elapsed() >= Duration::from_millis(850),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lazy_build_fetches_once_for_concurrent_first_requests() {
    let idp = JwksServer::start().await;
    idp.set_jwks_fault(Some(Fault::Hang(Duration::from_millis(200))));
    let cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .build_lazy()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        (idp.discovery_hits(), idp.jwks_hits()),
        (0, 0),
        "nothing is fetched before use"
    );
    assert!(cache.current().is_empty());
    let token = Arc::new(signed_by(TestKey::rsa_a()));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (cache, token) = (cache.clone(), token.clone());
            tokio::spawn(async move { over(&cache).authenticate(&token).await })
        })
        .collect();
    for task in tasks {
        task.await
            .unwrap()
            .expect("the first requests wait for the first fetch");
    }
    assert_eq!((idp.discovery_hits(), idp.jwks_hits()), (1, 1));
    assert_eq!(cache.stats().fetches_attempted, 1);
}

#[tokio::test]
async fn try_authenticate_never_waits_and_refreshes_in_the_background() {
    let idp = JwksServer::with_keys(&[TestKey::rsa_a()]).await;
    let cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .min_refresh_interval(HOUR)
        .build()
        .await
        .unwrap();
    idp.publish(&[TestKey::rsa_a(), TestKey::rsa_b()]);
    idp.set_jwks_fault(Some(Fault::Hang(Duration::from_millis(200))));
    let rotated = signed_by(TestKey::rsa_b());

    let start = Instant::now();
    // The first miss starts the refresh, the second joins it; neither waits.
    for _ in 0..2 {
        assert_eq!(
            over(&cache).try_authenticate(&rotated).unwrap_err(),
            TryAuthenticateError::WouldWait(ValidationError::UnknownKey)
        );
    }
    assert!(start.elapsed() < Duration::from_millis(100));
    eventually(Duration::from_secs(5), "the background refresh", || {
        cache.stats().fetches_succeeded == 2
    })
    .await;
    over(&cache).try_authenticate(&rotated).unwrap();
    assert_eq!(idp.jwks_hits(), 2);
}

#[tokio::test]
async fn validation_fails_closed_after_max_staleness() {
    let idp = JwksServer::start().await;
    let cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .refresh_interval(Duration::from_millis(100))
        .min_refresh_interval(Duration::from_millis(100))
        .max_staleness(Duration::from_millis(400))
        .build()
        .await
        .unwrap();
    let known = signed_by(TestKey::rsa_a());
    idp.set_jwks_fault(Some(Fault::Status(503)));
    over(&cache)
        .authenticate(&known)
        .await
        .expect("still fresh enough");

    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(matches!(
        over(&cache).authenticate(&known).await,
        Err(ValidationError::KeysUnavailable)
    ));
    assert_eq!(
        over(&cache).try_authenticate(&known).unwrap_err(),
        TryAuthenticateError::Refused(ValidationError::KeysUnavailable)
    );
    let stats = cache.stats();
    assert!(
        stats
            .staleness
            .is_some_and(|s| s > Duration::from_millis(400)),
        "{stats:?}"
    );
    assert!(
        stats.fetches_failed >= 1,
        "the scheduled refresh failed: {stats:?}"
    );
    assert_eq!(
        cache.current().len(),
        3,
        "the keys are kept, but not trusted"
    );

    idp.clear_faults();
    eventually(Duration::from_secs(5), "a successful refresh", || {
        cache
            .stats()
            .staleness
            .is_some_and(|s| s < Duration::from_millis(400))
    })
    .await;
    over(&cache)
        .authenticate(&known)
        .await
        .expect("fresh keys validate again");
}

#[tokio::test]
async fn lazy_first_fetch_failure_is_retried_after_a_backoff() {
    let idp = JwksServer::start().await;
    idp.set_jwks_fault(Some(Fault::Status(500)));
    let cache = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .build_lazy()
        .unwrap();
    let known = signed_by(TestKey::rsa_a());
    assert!(over(&cache).authenticate(&known).await.is_err());
    assert!(over(&cache).authenticate(&known).await.is_err());
    assert_eq!(
        idp.jwks_hits(),
        1,
        "the second request is inside the 1 s backoff"
    );
    idp.clear_faults();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    over(&cache).authenticate(&known).await.unwrap();
    assert_eq!(idp.jwks_hits(), 2);
}

#[tokio::test]
async fn try_authenticate_answers_without_waiting_or_says_it_would_wait() {
    let idp = JwksServer::start().await;
    let lazy = JwksCache::builder()
        .authority(idp.authority(ids::TENANT_ID))
        .min_refresh_interval(HOUR)
        .build_lazy()
        .unwrap();
    let known = signed_by(TestKey::rsa_a());
    // Nothing loaded yet: the answer needs the first fetch (started in the background).
    assert_eq!(
        over(&lazy).try_authenticate(&known).unwrap_err(),
        TryAuthenticateError::WouldWait(ValidationError::KeysUnavailable)
    );
    over(&lazy).authenticate(&known).await.unwrap();
    // Loaded: known keys answer at once, without a fetch.
    assert!(over(&lazy).try_authenticate(&known).is_ok());
    // An unknown kid would wait once (a refresh is allowed: started now, joined by
    // `authenticate`), then, rate-limited, is refused at once.
    let unknown = signed_by(TestKey::rsa_untrusted());
    assert!(
        over(&lazy)
            .try_authenticate(&unknown)
            .unwrap_err()
            .is_would_wait()
    );
    assert!(matches!(
        over(&lazy).authenticate(&unknown).await,
        Err(ValidationError::UnknownKey)
    ));
    assert_eq!(
        over(&lazy).try_authenticate(&unknown).unwrap_err(),
        TryAuthenticateError::Refused(ValidationError::UnknownKey)
    );
    assert_eq!(idp.jwks_hits(), 2, "first fetch and one kid-miss refresh");
    // Bad tokens are answered without a fetch too.
    assert!(matches!(
        over(&lazy).try_authenticate("x.y.z"),
        Err(TryAuthenticateError::Refused(
            ValidationError::InvalidJson(_) | ValidationError::InvalidBase64(_)
        ))
    ));
}

#[tokio::test]
async fn a_tenant_entra_does_not_know_is_named_with_the_fix_not_a_bare_400() {
    // The emulator answers discovery for an unknown tenant as Entra does: 400
    // {"error":"invalid_tenant","error_codes":[90002],…}.
    let idp = auth_testkit::Emulator::start().await;
    let typo = "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e11";
    let err = JwksCache::builder()
        .authority(format!("{}/{typo}", idp.base_url()))
        .build()
        .await
        .unwrap_err();
    assert!(err.is_tenant_not_found(), "{err:?}");
    let text = err.to_string();
    for fix in [
        "AADSTS90002",
        "AZURE_TENANT_ID",
        "AZURE_AUTHORITY_HOST",
        typo,
    ] {
        assert!(text.contains(fix), "{fix}: {text}");
    }
    // Another 400 stays a plain HTTP error.
    assert!(
        !JwksError::Http {
            url: "u".into(),
            status: 400
        }
        .is_tenant_not_found()
    );
}
