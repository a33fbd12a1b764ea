//! `RedisTokenCache` against a real `redis-server` and the emulator: round trip, TTL expiry, L1
//! in front of L2, two replicas sharing tokens, encryption at rest, Redis killed, hung and
//! restarted mid-test, single-flight.
//!
//! Each test starts its own `redis-server` on a free loopback port (`--save "" --appendonly
//! no`: nothing is written to disk) and stops it when done, so `cargo test -p tower-entra-client
//! --features redis` works wherever `redis-server` is on the `PATH` (Debian: `apt-get install
//! redis-server`). Without it, each test prints `skipped: install redis-server` to stderr and
//! passes, except under CI (the `CI` environment variable set), where it fails.
//!
//! The latency figures of docs/redis-cache.md come from the ignored test at the end:
//! `cargo test --release -p tower-entra-client --features redis --test redis -- --ignored --nocapture`.

mod common;

use std::fmt::{self, Write as _};
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth_client::{
    CacheKey, CachedToken, ConfidentialClient, RedisTokenCache, RedisTokenCacheBuilder, TokenCache,
};
use auth_testkit::emulator::{Emulator, Grant};
use common::*;
use tracing::field::{Field, Visit};
use tracing::span;

const KEY: [u8; 32] = *b"test-key-0123456789abcdef-32byte";

/// A `redis-server` of this test, on a free loopback port; killed on drop.
struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    /// Starts one, or `None` (after saying so) when `redis-server` is not installed outside CI.
    fn start() -> Option<RedisServer> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            if std::env::var_os("CI").is_some() {
                panic!(
                    "redis-server is not installed: CI must install it (apt-get install -y redis-server)"
                );
            }
            eprintln!("skipped: install redis-server");
            return None;
        }
        for _ in 0..5 {
            // A free port: bind port 0, note the port, release it.
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut server = RedisServer { child: None, port };
            if server.spawn() {
                return Some(server);
            }
        }
        panic!("redis-server did not start on 5 free ports");
    }

    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--logfile", ""])
            .arg("--dir")
            .arg(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                eprintln!("redis-server exited: {status}");
                self.child = None;
                return false;
            }
            if self.ping() {
                // Ours, not another test's server that got the port first.
                if self.server_pid() == Some(self.child.as_ref().unwrap().id()) {
                    return true;
                }
                self.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not answer PING within 10 s");
    }

    fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut answer = [0u8; 5];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG"
    }

    fn server_pid(&self) -> Option<u32> {
        let mut connection = redis::Client::open(self.url())
            .ok()?
            .get_connection()
            .ok()?;
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query(&mut connection)
            .ok()?;
        info.lines()
            .find_map(|l| l.strip_prefix("process_id:"))?
            .trim()
            .parse()
            .ok()
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn pid(&self) -> String {
        self.child.as_ref().unwrap().id().to_string()
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills it and starts a new, empty one on the same port.
    fn restart(&mut self) {
        self.kill();
        assert!(self.spawn(), "redis-server did not restart on its port");
    }

    /// SIGSTOP / SIGCONT: a server that accepts connections and never answers.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn cache(&self) -> RedisTokenCacheBuilder {
        RedisTokenCache::builder(self.url()).encryption_key(KEY)
    }

    async fn raw(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    async fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut self.raw().await)
            .await
            .unwrap();
        keys.sort();
        keys
    }

    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut self.raw().await)
            .await
            .unwrap()
    }

    async fn pttl(&self, key: &str) -> i64 {
        redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut self.raw().await)
            .await
            .unwrap()
    }

    /// `GET` commands the server has run.
    async fn gets(&self) -> u64 {
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut self.raw().await)
            .await
            .unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix("cmdstat_get:calls="))
            .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A stopped server would not die of SIGKILL… it would, but let it go cleanly.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
        }
        self.kill();
    }
}

async fn emulator() -> Emulator {
    Emulator::builder().auto_login(ALICE).start().await.unwrap()
}

/// A replica: its own client, its own cache (own L1), the shared Redis.
fn replica(idp: &Emulator, app: &str, cache: &RedisTokenCache) -> ConfidentialClient {
    builder(idp, app).cache(cache.clone()).build().unwrap()
}

fn cc(idp: &Emulator) -> usize {
    idp.token_requests(Grant::ClientCredentials)
}

fn obo(idp: &Emulator) -> usize {
    idp.token_requests(Grant::OnBehalfOf)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn app_key(idp: &Emulator) -> CacheKey {
    CacheKey::app(
        &idp.authority(),
        idp.app("s2s-example-consumer").client_id(),
        &[S2S_SCOPE],
    )
}

#[tokio::test]
async fn entries_round_trip_under_namespaced_keys_and_are_removed() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let writer = redis.cache().key_prefix("app-a:").build().unwrap();
    let key = CacheKey::on_behalf_of(
        "https://login.microsoftonline.com/contoso",
        "client",
        &CacheKey::assertion_hash("the-user-token"),
        &["api://x/read"],
    );
    let entry = CachedToken::new(
        "the-access-token",
        "Bearer",
        now() + 3600,
        Some(now() + 1800),
        vec!["api://x/read".into()],
    );
    writer.set(&key, entry.clone()).await.unwrap();

    let redis_key = format!("app-a:{}", key.as_str());
    assert_eq!(writer.redis_key(&key), redis_key);
    assert_eq!(redis.keys().await, [redis_key.as_str()]);
    assert!(!redis_key.contains("the-user-token"));
    assert!(redis_key.contains(&CacheKey::assertion_hash("the-user-token")));

    // Another instance (empty L1) reads it from Redis, then from memory.
    let reader = redis.cache().key_prefix("app-a:").build().unwrap();
    assert_eq!(reader.get(&key).await.unwrap(), Some(entry.clone()));
    assert_eq!(reader.get(&key).await.unwrap(), Some(entry.clone()));
    let stats = reader.stats();
    assert_eq!((stats.l2_hits, stats.l1_hits), (1, 1), "{stats:?}");
    assert_eq!(reader.l1_len(), 1);

    // Another prefix is another namespace.
    let other = redis.cache().key_prefix("app-b:").build().unwrap();
    assert_eq!(other.get(&key).await.unwrap(), None);
    assert_eq!(other.stats().misses, 1);

    // Removed from Redis (and the remover's memory).
    writer.remove(&key).await.unwrap();
    assert_eq!(redis.keys().await, Vec::<String>::new());
    let fresh = redis.cache().key_prefix("app-a:").build().unwrap();
    assert_eq!(fresh.get(&key).await.unwrap(), None);
    assert_eq!(writer.get(&key).await.unwrap(), None);
}

#[tokio::test]
async fn entries_live_until_expiry_minus_the_margin() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let cache = redis.cache().build().unwrap(); // margin: 5 minutes
    let short = CacheKey::app("https://login.example/t", "c", &["short"]);
    let long = CacheKey::app("https://login.example/t", "c", &["long"]);
    let within = CacheKey::app("https://login.example/t", "c", &["within-margin"]);
    cache
        .set(
            &short,
            CachedToken::new("s", "Bearer", now() + 302, None, vec![]),
        )
        .await
        .unwrap();
    cache
        .set(
            &long,
            CachedToken::new("l", "Bearer", now() + 3600, None, vec![]),
        )
        .await
        .unwrap();
    // A token that expires within the margin is never served from a cache: not written.
    cache
        .set(
            &within,
            CachedToken::new("w", "Bearer", now() + 200, None, vec![]),
        )
        .await
        .unwrap();
    assert_eq!(cache.stats().l2_writes, 2);

    let short_ttl = redis.pttl(&cache.redis_key(&short)).await;
    assert!((1..=2000).contains(&short_ttl), "{short_ttl}");
    let long_ttl = redis.pttl(&cache.redis_key(&long)).await;
    assert!((3_298_000..=3_300_000).contains(&long_ttl), "{long_ttl}");
    assert_eq!(redis.pttl(&cache.redis_key(&within)).await, -2);

    tokio::time::sleep(Duration::from_millis(short_ttl as u64 + 100)).await;
    assert_eq!(redis.get(&cache.redis_key(&short)).await, None);
    let fresh = redis.cache().build().unwrap();
    assert_eq!(fresh.get(&short).await.unwrap(), None);
    assert!(fresh.get(&long).await.unwrap().is_some());
}

#[tokio::test]
async fn two_replicas_share_app_and_on_behalf_of_tokens() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = emulator().await;
    let user_token = token_a(&idp).await;
    let cache_a = redis.cache().build().unwrap();
    let cache_b = redis.cache().build().unwrap();
    let a_app = replica(&idp, "s2s-example-consumer", &cache_a);
    let a_obo = replica(&idp, "obo-example-internal-api", &cache_a);
    let b_app = replica(&idp, "s2s-example-consumer", &cache_b);
    let b_obo = replica(&idp, "obo-example-internal-api", &cache_b);

    let app = a_app.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    let on_behalf = a_obo
        .acquire_token_on_behalf_of(&user_token, &[SHARED_READ])
        .await
        .unwrap();
    assert_eq!((cc(&idp), obo(&idp)), (1, 1));

    // The second replica: zero token-endpoint calls, the same tokens.
    let app_b = b_app.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    let on_behalf_b = b_obo
        .acquire_token_on_behalf_of(&user_token, &[SHARED_READ])
        .await
        .unwrap();
    assert_eq!((cc(&idp), obo(&idp)), (1, 1));
    assert_eq!(app_b.secret(), app.secret());
    assert_eq!(on_behalf_b.secret(), on_behalf.secret());
    assert_eq!(
        b_app.stats().token_requests + b_obo.stats().token_requests,
        0
    );
    assert_eq!(cache_b.stats().l2_hits, 2, "{:?}", cache_b.stats());

    // Keys: namespaced, never a token; TTL = lifetime (1 h) minus the 5-minute margin.
    let keys = redis.keys().await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in &keys {
        assert!(key.starts_with("tower-entra:auth-client/v2/"), "{key}");
        for secret in [user_token.as_str(), app.secret(), on_behalf.secret()] {
            assert!(!key.contains(secret));
        }
        let ttl = redis.pttl(key).await;
        assert!((3_290_000..=3_300_000).contains(&ttl), "{ttl}");
    }
    assert!(
        keys.iter()
            .any(|k| k.contains(&CacheKey::assertion_hash(&user_token)))
    );
}

#[tokio::test]
async fn l1_hits_never_touch_redis() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let idp = emulator().await;
    let cache = redis.cache().build().unwrap();
    let client = replica(&idp, "s2s-example-consumer", &cache);
    let first = client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    let gets = redis.gets().await;
    for _ in 0..100 {
        let again = client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
        assert_eq!(again.secret(), first.secret());
    }
    assert_eq!(redis.gets().await, gets, "an L1 hit sent a GET to Redis");
    assert_eq!(cache.stats().l1_hits, 100);

    // Even with Redis gone: served from memory, no Redis failure at all.
    redis.kill();
    for _ in 0..10 {
        client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    }
    let stats = cache.stats();
    assert_eq!((stats.l1_hits, stats.l2_failures), (110, 0), "{stats:?}");
    assert_eq!(cc(&idp), 1);
}

#[tokio::test]
async fn a_replica_due_for_refresh_takes_the_token_another_replica_refreshed() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = emulator().await;
    idp.set_refresh_in(Some(Duration::from_secs(2)));
    let cache_a = redis.cache().build().unwrap();
    let cache_b = redis.cache().build().unwrap();
    let a = replica(&idp, "s2s-example-consumer", &cache_a);
    let b = replica(&idp, "s2s-example-consumer", &cache_b);
    let first = a.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    b.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_eq!(cc(&idp), 1);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    // B: served the cached token at once, refreshes in the background, stores the new one.
    let served = b.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_eq!(served.secret(), first.secret());
    let deadline = Instant::now() + Duration::from_secs(5);
    while cache_b.stats().l2_writes < 1 || cc(&idp) < 2 {
        assert!(Instant::now() < deadline, "no background refresh");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let refreshed = b.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_ne!(refreshed.secret(), first.secret());

    // A's memory holds the token due for refresh: it looks in Redis and takes B's.
    let from_a = a.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    assert_eq!(from_a.secret(), refreshed.secret());
    assert_eq!(a.stats().background_refreshes, 0);
    assert_eq!(cc(&idp), 2);
}

#[tokio::test]
async fn values_are_encrypted_at_rest() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = emulator().await;
    let cache = redis.cache().build().unwrap();
    let token = replica(&idp, "s2s-example-consumer", &cache)
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap();
    let redis_key = cache.redis_key(&app_key(&idp));
    let raw = redis.get(&redis_key).await.expect("stored");
    let text = String::from_utf8_lossy(&raw);
    let payload = token.secret().split('.').nth(1).unwrap();
    assert!(!text.contains(token.secret()));
    assert!(!text.contains(payload));
    assert!(!text.contains("access_token"));
    assert_eq!(raw[0], 1, "format version");

    // A replica with another key cannot read it: a miss, one token request, its own value.
    let other_key = redis.cache().encryption_key([42; 32]).build().unwrap();
    replica(&idp, "s2s-example-consumer", &other_key)
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap();
    // Read twice: by the caller, then by the flight it starts (a miss is checked again).
    assert_eq!(other_key.stats().rejected, 2);
    assert_eq!(cc(&idp), 2);
    // A replica rotating keys (new key, old one as previous) reads the other's value.
    let rotated = redis
        .cache()
        .encryption_key([1; 32])
        .previous_encryption_key([42; 32])
        .build()
        .unwrap();
    replica(&idp, "s2s-example-consumer", &rotated)
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap();
    assert_eq!(rotated.stats().l2_hits, 1);
    assert_eq!(cc(&idp), 2);

    // Copied under another key (e.g. another user's On-Behalf-Of key): refused.
    let elsewhere = CacheKey::app(&idp.authority(), "someone-else", &[S2S_SCOPE]);
    let stolen = redis.get(&redis_key).await.unwrap();
    let _: () = redis::cmd("SET")
        .arg(cache.redis_key(&elsewhere))
        .arg(stolen)
        .query_async(&mut redis.raw().await)
        .await
        .unwrap();
    let fresh = redis.cache().encryption_key([42; 32]).build().unwrap();
    assert_eq!(fresh.get(&elsewhere).await.unwrap(), None);
    assert_eq!(fresh.stats().rejected, 1);

    // Opting out stores JSON in clear (under its own prefix here).
    let clear = RedisTokenCache::builder(redis.url())
        .allow_unencrypted()
        .key_prefix("clear:")
        .build()
        .unwrap();
    let token = replica(&idp, "s2s-example-consumer", &clear)
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap();
    let raw = redis.get(&clear.redis_key(&app_key(&idp))).await.unwrap();
    assert!(String::from_utf8_lossy(&raw).contains(token.secret()));
}

#[tokio::test]
async fn a_least_privilege_acl_user_is_enough() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // GET, SET, DEL on the prefix's keys, nothing else (docs/redis-cache.md).
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("tokens")
        .arg("on")
        .arg(">s3cret")
        .arg("resetkeys")
        .arg("~tower-entra:*")
        .arg("resetchannels")
        .arg("-@all")
        .arg("+get")
        .arg("+set")
        .arg("+del")
        .query_async(&mut redis.raw().await)
        .await
        .unwrap();
    let url = format!("redis://tokens:s3cret@127.0.0.1:{}", redis.port);
    let idp = emulator().await;
    let cache_a = RedisTokenCache::builder(&url)
        .encryption_key(KEY)
        .build()
        .unwrap();
    let cache_b = RedisTokenCache::builder(&url)
        .encryption_key(KEY)
        .build()
        .unwrap();
    replica(&idp, "s2s-example-consumer", &cache_a)
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap();
    replica(&idp, "s2s-example-consumer", &cache_b)
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap();
    assert_eq!(cc(&idp), 1);
    assert_eq!(cache_a.stats().l2_failures + cache_b.stats().l2_failures, 0);
    assert_eq!(cache_b.stats().l2_hits, 1);
    assert!(!format!("{cache_a:?}").contains("s3cret"));

    // Outside the allowed keys: refused (NOPERM), which costs a token request, not the call.
    let elsewhere = RedisTokenCache::builder(&url)
        .encryption_key(KEY)
        .key_prefix("other:")
        .build()
        .unwrap();
    replica(&idp, "s2s-example-consumer", &elsewhere)
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap();
    assert_eq!(cc(&idp), 2);
    assert_eq!(elsewhere.stats().l2_failures, 1, "{:?}", elsewhere.stats());
}

/// The events of the Redis cache, from every test of this binary: the global subscriber (a
/// thread-local one misses events whose callsite another test's thread registered first). A
/// test tells its own by the Redis address in them.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<(tracing::Level, String)>>>);

fn events() -> &'static Events {
    static EVENTS: OnceLock<Events> = OnceLock::new();
    EVENTS.get_or_init(|| {
        let events = Events::default();
        tracing::subscriber::set_global_default(events.clone()).unwrap();
        events
    })
}

struct Message<'a>(&'a mut String);

impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Events {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target().starts_with("auth_client::redis_cache")
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = String::new();
        event.record(&mut Message(&mut text));
        if text.contains("Redis token cache") {
            self.0
                .lock()
                .unwrap()
                .push((*event.metadata().level(), text));
        }
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

impl Events {
    /// Events at `level` containing `text` and `redis` (an address).
    fn count(&self, level: tracing::Level, text: &str, redis: &str) -> usize {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|(l, t)| *l == level && t.contains(text) && t.contains(redis))
            .count()
    }
}

#[tokio::test]
async fn a_redis_outage_costs_token_requests_never_availability() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let events = events();
    let address = format!("redis=127.0.0.1:{}/0 ", redis.port);
    let idp = emulator().await;
    let retry = Duration::from_millis(100);
    let url = redis.url();
    let cache = || {
        RedisTokenCache::builder(&url)
            .encryption_key(KEY)
            .retry_interval(retry)
            .build()
            .unwrap()
    };
    let cache_a = cache();
    let a = replica(&idp, "obo-example-internal-api", &cache_a);
    let user_1 = token_a(&idp).await;
    a.acquire_token_on_behalf_of(&user_1, &[SHARED_READ])
        .await
        .unwrap();
    assert_eq!((obo(&idp), cache_a.stats().l2_writes), (1, 1));

    // Redis killed: A's open connection breaks; new keys and new replicas go to Entra.
    redis.kill();
    let mut users = Vec::new();
    for _ in 0..3 {
        users.push(token_a(&idp).await);
    }
    for user in &users {
        let started = Instant::now();
        a.acquire_token_on_behalf_of(user, &[SHARED_READ])
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        tokio::time::sleep(retry).await; // each request tries Redis again
    }
    let cache_c = cache();
    replica(&idp, "obo-example-internal-api", &cache_c)
        .acquire_token_on_behalf_of(&user_1, &[SHARED_READ])
        .await
        .unwrap();
    assert_eq!(obo(&idp), 5);
    assert!(cache_a.stats().l2_failures >= 3, "{:?}", cache_a.stats());
    assert!(cache_a.stats().l2_skipped >= 3, "{:?}", cache_a.stats());
    // Memory still answers: the first user's token, without Entra.
    a.acquire_token_on_behalf_of(&user_1, &[SHARED_READ])
        .await
        .unwrap();
    assert_eq!(obo(&idp), 5);
    // Logged once per cache instance (per warn interval), not once per failure.
    assert_eq!(
        events.count(
            tracing::Level::WARN,
            "Redis token cache unavailable",
            &address
        ),
        2,
        "{:?}",
        events.0.lock().unwrap()
    );

    // Redis back (empty): after the retry interval the cache is used again.
    redis.restart();
    tokio::time::sleep(retry).await;
    let user_4 = token_a(&idp).await;
    a.acquire_token_on_behalf_of(&user_4, &[SHARED_READ])
        .await
        .unwrap();
    assert_eq!(obo(&idp), 6);
    assert!(!cache_a.is_degraded());
    assert_eq!(redis.keys().await.len(), 1);
    let cache_d = cache();
    let d = replica(&idp, "obo-example-internal-api", &cache_d);
    d.acquire_token_on_behalf_of(&user_4, &[SHARED_READ])
        .await
        .unwrap();
    assert_eq!(obo(&idp), 6, "the new replica found the token in Redis");
    assert_eq!(cache_d.stats().l2_hits, 1);
    assert_eq!(
        events.count(
            tracing::Level::INFO,
            "Redis token cache reachable again",
            &address
        ),
        1
    );
}

#[tokio::test]
async fn a_hung_redis_costs_at_most_the_timeout() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = emulator().await;
    let timeout = Duration::from_millis(150);
    let cache_a = redis.cache().timeout(timeout).build().unwrap();
    let a = replica(&idp, "obo-example-internal-api", &cache_a);
    let user_1 = token_a(&idp).await;
    let user_2 = token_a(&idp).await;
    a.acquire_token_on_behalf_of(&user_1, &[SHARED_READ])
        .await
        .unwrap();

    // Stopped: it accepts connections and answers nothing.
    redis.signal("-STOP");
    let started = Instant::now();
    a.acquire_token_on_behalf_of(&user_2, &[SHARED_READ])
        .await
        .unwrap();
    let open_connection = started.elapsed();
    let cache_b = redis.cache().timeout(timeout).build().unwrap();
    let started = Instant::now();
    replica(&idp, "obo-example-internal-api", &cache_b)
        .acquire_token_on_behalf_of(&user_1, &[SHARED_READ])
        .await
        .unwrap();
    let new_connection = started.elapsed();
    redis.signal("-CONT");
    eprintln!("hung Redis: {open_connection:?} (open connection), {new_connection:?} (connecting)");
    for elapsed in [open_connection, new_connection] {
        assert!(elapsed >= timeout, "{elapsed:?}");
        assert!(elapsed < timeout + Duration::from_secs(1), "{elapsed:?}");
    }
    assert_eq!(obo(&idp), 3);
    assert_eq!(cache_a.stats().l2_failures, 1, "{:?}", cache_a.stats());
    assert_eq!(cache_b.stats().l2_failures, 1, "{:?}", cache_b.stats());
}

#[tokio::test]
async fn single_flight_stays_per_process() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = emulator().await;
    let user = token_a(&idp).await;
    let cache = redis.cache().build().unwrap();
    let client = replica(&idp, "obo-example-internal-api", &cache);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let client = client.clone();
        let user = user.clone();
        tasks.spawn(async move {
            client
                .acquire_token_on_behalf_of(&user, &[SHARED_READ])
                .await
                .map(|t| t.secret().to_owned())
        });
    }
    let tokens: Vec<String> = tasks
        .join_all()
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert!(tokens.iter().all(|t| t == &tokens[0]));
    assert_eq!(obo(&idp), 1);
}

/// L1 and L2 hit latencies (run in release: see the module documentation).
#[tokio::test(flavor = "current_thread")]
#[ignore = "timing: run with --release --ignored --nocapture"]
async fn hit_latencies() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = emulator().await;
    let per_op = |started: Instant, n: u32| started.elapsed() / n;

    // The default in-memory cache, for comparison.
    let plain = client(&idp, "s2s-example-consumer");
    plain.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    let n = 200_000;
    let started = Instant::now();
    for _ in 0..n {
        plain.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    }
    let default_hit = per_op(started, n);

    // L1 hit through the client.
    let cache = redis.cache().build().unwrap();
    let client = replica(&idp, "s2s-example-consumer", &cache);
    client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    let started = Instant::now();
    for _ in 0..n {
        client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    }
    let l1_client = per_op(started, n);

    // L1 and L2 hits through the TokenCache trait: 5,000 entries in Redis, each read once by
    // a reader whose memory is empty (L2 hit: GET + decrypt + copy to L1), then again (L1).
    let writer = redis.cache().build().unwrap();
    let keys: Vec<CacheKey> = (0..5_000)
        .map(|i| {
            CacheKey::app(
                "https://login.example/t",
                "c",
                &[&format!("api://{i}/.default")],
            )
        })
        .collect();
    let token = "x".repeat(1500); // about the size of an Entra access token
    for key in &keys {
        writer
            .set(
                key,
                CachedToken::new(token.as_str(), "Bearer", now() + 3600, None, vec![]),
            )
            .await
            .unwrap();
    }
    let reader = redis.cache().build().unwrap();
    let connect = CacheKey::app("https://login.example/t", "c", &["connect"]);
    reader.get(&connect).await.unwrap(); // connect (a miss)
    let count = keys.len() as u32;
    let started = Instant::now();
    for key in &keys {
        assert!(reader.get(key).await.unwrap().is_some());
    }
    let l2_trait = per_op(started, count);
    let started = Instant::now();
    for key in &keys {
        assert!(reader.get(key).await.unwrap().is_some());
    }
    let l1_trait = per_op(started, count);
    let stats = reader.stats();
    assert_eq!((stats.l2_hits, stats.l1_hits), (5_000, 5_000), "{stats:?}");

    // Unencrypted L2 hit, for the cost of AES-GCM.
    let clear_writer = RedisTokenCache::builder(redis.url())
        .allow_unencrypted()
        .key_prefix("clear:")
        .build()
        .unwrap();
    for key in &keys {
        clear_writer
            .set(
                key,
                CachedToken::new(token.as_str(), "Bearer", now() + 3600, None, vec![]),
            )
            .await
            .unwrap();
    }
    let clear_reader = RedisTokenCache::builder(redis.url())
        .allow_unencrypted()
        .key_prefix("clear:")
        .build()
        .unwrap();
    clear_reader.get(&connect).await.unwrap();
    let started = Instant::now();
    for key in &keys {
        assert!(clear_reader.get(key).await.unwrap().is_some());
    }
    let l2_clear = per_op(started, count);

    // A second replica's first request: L2 hit through the client (one connection set up
    // beforehand, as a running replica has).
    let mut first_requests = Duration::ZERO;
    let replicas = 200;
    for _ in 0..replicas {
        let cache = redis.cache().build().unwrap();
        cache.get(&keys[0]).await.unwrap(); // connect
        let client = replica(&idp, "s2s-example-consumer", &cache);
        let started = Instant::now();
        client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
        first_requests += started.elapsed();
    }
    let l2_client = first_requests / replicas;
    assert_eq!(cc(&idp), 2);

    // AES-256-GCM alone: seal and open an entry of that size (aws-lc-rs, as the cache does).
    use aws_lc_rs::aead::{AES_256_GCM, Aad, Nonce, RandomizedNonceKey};
    let sealing = RandomizedNonceKey::new(&AES_256_GCM, &KEY).unwrap();
    let plaintext = CachedToken::new(token.as_str(), "Bearer", now(), None, vec![])
        .to_json()
        .into_bytes();
    let n = 20_000;
    let started = Instant::now();
    for _ in 0..n {
        let mut buffer = plaintext.clone();
        let nonce = sealing
            .seal_in_place_append_tag(Aad::from(b"k"), &mut buffer)
            .unwrap();
        let nonce = Nonce::assume_unique_for_key(*nonce.as_ref());
        sealing
            .open_in_place(nonce, Aad::from(b"k"), &mut buffer)
            .unwrap();
    }
    let aes = per_op(started, n);

    println!("default in-memory cache, client hit:  {default_hit:?}");
    println!("RedisTokenCache L1 hit, client:       {l1_client:?}");
    println!("RedisTokenCache L1 hit, trait get:    {l1_trait:?}");
    println!("RedisTokenCache L2 hit, trait get:    {l2_trait:?} (AES-256-GCM)");
    println!("RedisTokenCache L2 hit, unencrypted:  {l2_clear:?}");
    println!("RedisTokenCache L2 hit, client:       {l2_client:?} (a replica's first request)");
    println!(
        "AES-256-GCM seal + open, {} bytes: {aes:?}",
        plaintext.len()
    );
}
