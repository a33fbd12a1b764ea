//! Client credentials against the emulator: secret, certificate (PS256 / RS256), federated
//! assertions, OIDC discovery, the cache, proactive refresh, throttling, retries, timeouts.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use auth_client::{
    AssertionAlgorithm, BoxFuture, CacheError, CacheKey, CachedToken, ClientAuthMethod,
    ConfidentialClient, Error, TokenCache,
};
use auth_testkit::AdvancingClock;
use auth_testkit::emulator::{Emulator, Grant, TokenFault};
use common::*;

fn cc(idp: &Emulator) -> usize {
    idp.token_requests(Grant::ClientCredentials)
}

#[tokio::test]
async fn a_secret_gets_an_app_token_with_the_admin_consented_roles() {
    let idp = Emulator::start().await;
    let client = client(&idp, "s2s-example-consumer");
    let token = client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    let c = claims(token.secret());
    assert_eq!(c["aud"], idp.app("s2s-example-api").client_id());
    assert_eq!(c["roles"], serde_json::json!(["Files.Write"]));
    // Entra emits `idtyp` only when the API's registration lists it as an optional claim.
    assert!(c.get("idtyp").is_none(), "{c}");
    assert_eq!(c["azpacr"], "1");
    assert_eq!(token.token_type(), "Bearer");
    assert_eq!(token.scopes(), [S2S_SCOPE]);
    let lifetime = token.expires_at_unix() as i64 - auth_testkit::now();
    assert!((3590..=3600).contains(&lifetime), "{lifetime}");
}

#[tokio::test]
async fn a_consumer_without_admin_consent_gets_a_token_without_roles() {
    let idp = Emulator::start().await;
    let client = client(&idp, "s2s-example-consumer-unconsented");
    let token = client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    let c = claims(token.secret());
    assert!(c.get("roles").is_none(), "{c}");
    assert!(c.get("idtyp").is_none(), "{c}");
}

#[tokio::test]
async fn certificates_sign_ps256_and_rs256_assertions_fresh_for_every_request() {
    let idp = extended_emulator().await;
    let (cert, key) = certificate();
    for (algorithm, chain) in [
        (AssertionAlgorithm::Ps256, false),
        (AssertionAlgorithm::Rs256, false),
        (AssertionAlgorithm::Ps256, true),
    ] {
        let client = ConfidentialClient::builder()
            .authority(idp.authority())
            .client_id(idp.app("cert-daemon").client_id())
            .certificate_pem(&cert, &key)
            .assertion_algorithm(algorithm)
            .send_certificate_chain(chain)
            .build()
            .unwrap();
        let token = client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
        let c = claims(token.secret());
        assert_eq!(
            c["azpacr"], "2",
            "{algorithm:?}: a certificate-authenticated client"
        );
        assert_eq!(c["roles"], serde_json::json!(["Files.Write"]));
        // Another scope: a second request, with a new assertion (the emulator refuses a reused
        // `jti`).
        client
            .acquire_token_for_client(&["api://obo-example-internal-api/.default"])
            .await
            .unwrap();
    }
    assert_eq!(cc(&idp), 6);
}

#[tokio::test]
async fn a_certificate_whose_key_does_not_match_is_refused_at_build() {
    let (cert, _) = certificate();
    let other_key = auth_testkit::TestKey::rsa_a().private_key_pem();
    let err = ConfidentialClient::builder()
        .authority("https://login.microsoftonline.com/contoso.onmicrosoft.com")
        .client_id("c")
        .certificate_pem(&cert, &other_key)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("does not belong"), "{err}");
}

#[tokio::test]
async fn an_unregistered_certificate_is_invalid_client_700027() {
    let idp = extended_emulator().await;
    let (cert, key) = certificate();
    // The consumer has no certificate registered.
    let client = ConfidentialClient::builder()
        .authority(idp.authority())
        .client_id(idp.app("s2s-example-consumer").client_id())
        .certificate_pem(&cert, &key)
        .build()
        .unwrap();
    let err = client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap_err();
    assert!(err.is_invalid_client(), "{err}");
    assert_eq!(err.aadsts_codes(), [700027]);
    assert!(err.to_string().contains("Certificates & secrets"), "{err}");
}

#[tokio::test]
async fn federated_assertions_come_from_a_file_read_on_every_use_or_a_callback() {
    let idp = Arc::new(extended_emulator().await);
    let dir = std::env::temp_dir().join(format!("auth-client-federated-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    let daemon = idp.app("cert-daemon").client_id().to_owned();

    let client = ConfidentialClient::builder()
        .authority(idp.authority())
        .client_id(&daemon)
        .federated_token_file(&file)
        .build()
        .unwrap();
    std::fs::write(&file, format!("{}\n", external_assertion(&idp))).unwrap();
    client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    // Kubernetes replaces the file: the next request reads the new assertion.
    std::fs::write(&file, external_assertion(&idp)).unwrap();
    client
        .acquire_token_for_client(&["api://obo-example-internal-api/.default"])
        .await
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    let err = client
        .acquire_token_for_client(&["api://shared-documents/.default"])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Credential(_)), "{err}");
    assert!(err.to_string().contains("cannot be read"), "{err}");

    let calls = Arc::new(AtomicUsize::new(0));
    let (idp2, calls2) = (Arc::clone(&idp), Arc::clone(&calls));
    let client = ConfidentialClient::builder()
        .authority(idp.authority())
        .client_id(&daemon)
        .client_assertion(move |audience: String| {
            // The callback is told the token endpoint the assertion is for.
            assert!(audience.ends_with("/oauth2/v2.0/token"), "{audience}");
            calls2.fetch_add(1, Ordering::SeqCst);
            let assertion = external_assertion(&idp2);
            async move { Ok::<_, std::io::Error>(assertion) }
        })
        .build()
        .unwrap();
    client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    client
        .acquire_token_for_client(&["api://obo-example-internal-api/.default"])
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn different_keys_never_wait_for_each_other() {
    let idp = Arc::new(extended_emulator().await);
    let gate = Arc::new(tokio::sync::Notify::new());
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (idp2, gate2, first2) = (Arc::clone(&idp), Arc::clone(&gate), Arc::clone(&first));
    let client = ConfidentialClient::builder()
        .authority(idp.authority())
        .client_id(idp.app("cert-daemon").client_id())
        .client_assertion(move |_audience| {
            // The first request's credential hangs until the gate opens.
            let blocked = first2.swap(false, Ordering::SeqCst);
            let (gate, assertion) = (Arc::clone(&gate2), external_assertion(&idp2));
            async move {
                if blocked {
                    gate.notified().await;
                }
                Ok::<_, std::io::Error>(assertion)
            }
        })
        .build()
        .unwrap();
    let slow = {
        let client = client.clone();
        tokio::spawn(async move { client.acquire_token_for_client(&[S2S_SCOPE]).await })
    };
    while first.load(Ordering::SeqCst) {
        tokio::task::yield_now().await;
    }
    // Another key completes while the first is stuck.
    tokio::time::timeout(
        Duration::from_secs(5),
        client.acquire_token_for_client(&["api://obo-example-internal-api/.default"]),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(!slow.is_finished());
    gate.notify_one();
    slow.await.unwrap().unwrap();
    assert_eq!(cc(&idp), 2);
}

#[tokio::test]
async fn client_secret_basic_authenticates() {
    let idp = Emulator::start().await;
    let client = builder(&idp, "s2s-example-consumer")
        .client_auth_method(ClientAuthMethod::SecretBasic)
        .build()
        .unwrap();
    client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_client_with_an_actionable_message() {
    let idp = Emulator::start().await;
    let consumer = idp.app("s2s-example-consumer");
    let client = ConfidentialClient::builder()
        .authority(idp.authority())
        .client_id(consumer.client_id())
        .client_secret("wrong-secret")
        .build()
        .unwrap();
    let err = client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap_err();
    assert!(err.is_invalid_client() && !err.is_invalid_grant() && !err.is_throttled());
    assert_eq!(err.aadsts_codes(), [7000215]);
    let server = err.server_error().unwrap();
    assert_eq!(server.status(), Some(401));
    assert!(server.trace_id().is_some() && server.timestamp().is_some());
    // The client sends a client-request-id, which Entra echoes as the correlation id.
    assert_eq!(err.correlation_id().map(str::len), Some(36));
    let text = err.to_string();
    assert!(
        text.contains("AADSTS7000215") && text.contains("not its Secret ID"),
        "{text}"
    );
    assert!(
        text.contains(consumer.client_id()) && !text.contains("wrong-secret"),
        "{text}"
    );

    // Only one scope of the `/.default` form.
    let client = common::client(&idp, "s2s-example-consumer");
    let err = client
        .acquire_token_for_client(&["api://s2s-example-api/Files.Write"])
        .await
        .unwrap_err();
    assert_eq!(err.aadsts_codes(), [1002012]);
    assert!(err.to_string().contains("{resource}/.default"), "{err}");
    assert!(matches!(
        client.acquire_token_for_client(&[]).await,
        Err(Error::InvalidRequest(_))
    ));
}

#[tokio::test]
async fn tokens_are_served_from_the_cache_until_the_expiry_margin() {
    let idp = Emulator::start().await;
    let clock = AdvancingClock::default();
    let client = builder(&idp, "s2s-example-consumer")
        .clock(clock.clone())
        .build()
        .unwrap();
    let first = client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    // Scope order and case do not matter for the cache.
    let second = client
        .acquire_token_for_client(&["API://S2S-EXAMPLE-API/.default"])
        .await
        .unwrap();
    assert_eq!(first.secret(), second.secret());
    assert_eq!(cc(&idp), 1);
    assert_eq!(client.stats().cache_hits, 1);

    // 54 minutes later the token is still served; 56 minutes later it is within 5 minutes of
    // expiry and a new one is requested.
    clock.advance(Duration::from_secs(54 * 60));
    client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_eq!(cc(&idp), 1);
    clock.advance(Duration::from_secs(2 * 60));
    let third = client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_ne!(third.secret(), first.secret());
    assert_eq!(cc(&idp), 2);

    // A smaller margin keeps tokens longer.
    let clock = AdvancingClock::default();
    let client = builder(&idp, "s2s-example-consumer")
        .clock(clock.clone())
        .expiry_margin(Duration::from_secs(60))
        .build()
        .unwrap();
    client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    clock.advance(Duration::from_secs(58 * 60));
    client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_eq!(cc(&idp), 3);

    client.remove_cached_app_token(&[S2S_SCOPE]).await.unwrap();
    client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_eq!(cc(&idp), 4);
}

#[tokio::test]
async fn refresh_in_starts_one_background_refresh_while_the_cached_token_is_served() {
    let idp = Emulator::start().await;
    idp.set_refresh_in(Some(Duration::from_secs(1800)));
    let clock = AdvancingClock::default();
    let client = builder(&idp, "s2s-example-consumer")
        .clock(clock.clone())
        .build()
        .unwrap();
    let first = client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_eq!(cc(&idp), 1);

    clock.advance(Duration::from_secs(1801));
    // Every caller gets the cached token at once; one refresh runs in the background.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let client = client.clone();
        calls.spawn(async move { client.acquire_token_for_client(&[S2S_SCOPE]).await });
    }
    while let Some(result) = calls.join_next().await {
        assert_eq!(result.unwrap().unwrap().secret(), first.secret());
    }
    tokio::time::timeout(Duration::from_secs(5), async {
        while cc(&idp) < 2
            || client
                .acquire_token_for_client(&[S2S_SCOPE])
                .await
                .unwrap()
                .secret()
                == first.secret()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    let refreshed = client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_ne!(refreshed.secret(), first.secret());
    assert_eq!(cc(&idp), 2);
    assert_eq!(client.stats().background_refreshes, 1);
}

#[tokio::test]
async fn retry_after_is_honoured_no_identical_request_before_that_time() {
    let idp = Emulator::start().await;
    let clock = AdvancingClock::default();
    let client = builder(&idp, "s2s-example-consumer")
        .clock(clock.clone())
        .build()
        .unwrap();
    idp.set_token_fault(Some(TokenFault::throttled(Duration::from_secs(2))));

    let err = client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap_err();
    assert!(err.is_throttled(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    let Error::Throttled(t) = &err else {
        unreachable!()
    };
    assert!(t.was_sent() && t.status() == Some(429));
    assert_eq!(
        err.server_error().map(|s| s.error()),
        Some("temporarily_unavailable")
    );
    assert_eq!(cc(&idp), 1);

    // An immediate retry is refused locally: no request.
    let err = client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap_err();
    let Error::Throttled(t) = &err else {
        panic!("{err}")
    };
    assert!(!t.was_sent());
    assert!(t.retry_after().unwrap() <= Duration::from_secs(2));
    assert!(err.to_string().contains("not sent"), "{err}");
    assert_eq!(cc(&idp), 1);
    assert_eq!(client.stats().throttled, 1);

    // Another request (other scopes) is not blocked.
    let err = client
        .acquire_token_for_client(&["api://obo-example-internal-api/.default"])
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Throttled(t) if t.was_sent()));
    assert_eq!(cc(&idp), 2);

    // After the time, a request goes out.
    idp.set_token_fault(None);
    clock.advance(Duration::from_secs(2));
    client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_eq!(cc(&idp), 3);
}

#[tokio::test]
async fn retry_after_is_honoured_in_real_time_too() {
    let idp = Emulator::start().await;
    let client = common::client(&idp, "s2s-example-consumer");
    // 429 with Retry-After: 2.
    idp.set_token_fault(Some(TokenFault::throttled(Duration::from_secs(2))));
    let err = client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap_err();
    assert!(err.is_throttled() && err.is_transient(), "{err}");
    assert_eq!(cc(&idp), 1, "a 429 is not retried");
    // An immediate retry returns throttled without a request.
    let err = client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Throttled(t) if !t.was_sent()),
        "{err}"
    );
    assert_eq!(cc(&idp), 1);
    // After the time, a request goes out.
    tokio::time::sleep(Duration::from_millis(2050)).await;
    let err = client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::Throttled(t) if t.was_sent()), "{err}");
    assert_eq!(cc(&idp), 2);
}

#[tokio::test]
async fn a_503_with_retry_after_is_throttling_and_is_not_retried() {
    let idp = Emulator::start().await;
    let client = common::client(&idp, "s2s-example-consumer");
    idp.set_token_fault(Some(TokenFault::unavailable(Some(Duration::from_secs(1)))));
    let err = client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap_err();
    let Error::Throttled(t) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        (t.status(), t.retry_after()),
        (Some(503), Some(Duration::from_secs(1)))
    );
    assert!(t.until().is_some());
    assert_eq!(cc(&idp), 1);
    idp.set_token_fault(None);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_eq!(cc(&idp), 2);
}

#[tokio::test]
async fn server_errors_are_retried_once() {
    let idp = Emulator::start().await;
    let client = client(&idp, "s2s-example-consumer");
    idp.set_token_fault(Some(TokenFault::status(500).times(1)));
    client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_eq!(cc(&idp), 2);

    idp.set_token_fault(Some(TokenFault::unavailable(None)));
    let err = client
        .acquire_token_for_client(&["api://obo-example-internal-api/.default"])
        .await
        .unwrap_err();
    assert!(err.is_transient() && !err.is_throttled(), "{err}");
    assert_eq!(err.server_error().and_then(|s| s.status()), Some(503));
    assert_eq!(cc(&idp), 4, "one retry, then the error");
    assert_eq!(client.stats().token_requests, 4);
}

/// A TCP server that counts connections and closes each at once, or holds it open.
async fn bad_server(hold: bool) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            if hold {
                held.push(socket);
            }
        }
    });
    (
        format!("http://{addr}/{}", auth_testkit::ids::TENANT_ID),
        connections,
    )
}

#[tokio::test]
async fn connection_failures_are_retried_once_then_reported() {
    let (authority, connections) = bad_server(false).await;
    let client = ConfidentialClient::builder()
        .authority(&authority)
        .client_id("c")
        .client_secret("s3cret")
        .retry_delay(Duration::from_millis(10))
        .build()
        .unwrap();
    let err = client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    assert!(err.is_transient());
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    assert!(!err.to_string().contains("s3cret"));
}

#[tokio::test]
async fn timeouts_are_configurable_and_not_retried() {
    let (authority, connections) = bad_server(true).await;
    let client = ConfidentialClient::builder()
        .authority(&authority)
        .client_id("c")
        .client_secret("s")
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn other_oidc_providers_are_discovered_from_the_issuer() {
    let idp = Emulator::start().await;
    let consumer = idp.app("s2s-example-consumer");
    // The emulator's v2 issuer serves `{issuer}/.well-known/openid-configuration`.
    let client = ConfidentialClient::builder()
        .issuer(idp.issuer())
        .client_id(consumer.client_id())
        .client_secret(consumer.secret())
        .client_auth_method(ClientAuthMethod::SecretBasic)
        .build()
        .unwrap();
    assert_eq!(client.authorization_endpoint(), None);
    client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    client
        .acquire_token_for_client(&["api://obo-example-internal-api/.default"])
        .await
        .unwrap();
    assert_eq!(idp.discovery_hits(), 1);
    assert_eq!(
        client.authorization_endpoint(),
        Some(idp.authorization_endpoint().as_str())
    );

    // A discovery document naming another issuer is refused.
    let client = ConfidentialClient::builder()
        .issuer(format!("{}/", idp.issuer()))
        .client_id(consumer.client_id())
        .client_secret(consumer.secret())
        .build()
        .unwrap();
    let err = client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Discovery { .. }), "{err}");
}

/// A store that keeps JSON strings (as a Redis one would) and can be switched to failing.
#[derive(Default)]
struct JsonStore {
    entries: std::sync::Mutex<std::collections::HashMap<String, String>>,
    broken: std::sync::atomic::AtomicBool,
}

impl TokenCache for JsonStore {
    fn get<'a>(
        &'a self,
        key: &'a CacheKey,
    ) -> BoxFuture<'a, Result<Option<CachedToken>, CacheError>> {
        Box::pin(async move {
            if self.broken.load(Ordering::SeqCst) {
                return Err(CacheError::new("connection refused"));
            }
            let json = self.entries.lock().unwrap().get(key.as_str()).cloned();
            json.map(|j| CachedToken::from_json(&j)).transpose()
        })
    }

    fn set<'a>(
        &'a self,
        key: &'a CacheKey,
        token: CachedToken,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move {
            if self.broken.load(Ordering::SeqCst) {
                return Err(CacheError::new("connection refused"));
            }
            assert!(token.ttl() > Duration::from_secs(3000));
            self.entries
                .lock()
                .unwrap()
                .insert(key.as_str().to_owned(), token.to_json());
            Ok(())
        })
    }

    fn remove<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<(), CacheError>> {
        Box::pin(async move {
            self.entries.lock().unwrap().remove(key.as_str());
            Ok(())
        })
    }
}

#[derive(Clone, Default)]
struct Shared(Arc<JsonStore>);

impl TokenCache for Shared {
    fn get<'a>(
        &'a self,
        key: &'a CacheKey,
    ) -> BoxFuture<'a, Result<Option<CachedToken>, CacheError>> {
        self.0.get(key)
    }
    fn set<'a>(
        &'a self,
        key: &'a CacheKey,
        token: CachedToken,
    ) -> BoxFuture<'a, Result<(), CacheError>> {
        self.0.set(key, token)
    }
    fn remove<'a>(&'a self, key: &'a CacheKey) -> BoxFuture<'a, Result<(), CacheError>> {
        self.0.remove(key)
    }
}

#[tokio::test]
async fn a_custom_store_is_shared_and_a_broken_one_costs_requests_not_availability() {
    let idp = Emulator::start().await;
    let store = Shared::default();
    // Two replicas sharing one store: the second is served the first one's token.
    let a = builder(&idp, "s2s-example-consumer")
        .cache(store.clone())
        .build()
        .unwrap();
    let b = builder(&idp, "s2s-example-consumer")
        .cache(store.clone())
        .build()
        .unwrap();
    let ta = a.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    let tb = b.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_eq!(ta.secret(), tb.secret());
    assert_eq!(cc(&idp), 1);
    let stored = store
        .0
        .entries
        .lock()
        .unwrap()
        .values()
        .next()
        .cloned()
        .unwrap();
    assert!(stored.contains("\"expires_at\""), "{stored}");

    store.0.broken.store(true, Ordering::SeqCst);
    a.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    a.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_eq!(cc(&idp), 3);
}
