//! `RedisTokenCache` over TLS (`rediss://`), as Azure Cache for Redis serves it (TLS only, port
//! 6380), against a real `redis-server` with `tls-port` and a certificate made with `rcgen`.
//!
//! Skips (with a message) when `redis-server` is not installed, except under CI, where it fails.
//! Debian's `redis-server` is built with TLS support.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth_client::{CacheKey, CachedToken, RedisCacheBuildError, RedisTokenCache, TokenCache};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

const KEY: [u8; 32] = *b"test-key-0123456789abcdef-32byte";

/// A CA and a server certificate for 127.0.0.1 / localhost, as PEM.
struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    Pki {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// `redis-server` with TLS only (`--port 0 --tls-port P`), killed on drop.
struct TlsRedis {
    child: Child,
    port: u16,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TlsRedis {
    fn start(pki: &Pki) -> Option<TlsRedis> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server is not installed: CI must install it (apt-get install -y redis-server)"
            );
            eprintln!("skipped: install redis-server");
            return None;
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("redis-tls-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dir = TempDir(dir);
        let write = |name: &str, pem: &str| {
            let path = dir.0.join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        let cert = write("server.pem", &pki.cert_pem);
        let key = write("server.key", &pki.key_pem);
        let ca = write("ca.pem", &pki.ca_pem);
        for _ in 0..5 {
            let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new("redis-server")
                .args([
                    "--port",
                    "0",
                    "--tls-port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                ])
                .args(["--tls-cert-file", path(&cert), "--tls-key-file", path(&key)])
                .args(["--tls-ca-cert-file", path(&ca), "--tls-auth-clients", "no"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("redis-server exited ({status}): is it built with TLS support?");
                }
                if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                    return Some(TlsRedis {
                        child,
                        port,
                        _dir: dir,
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server with TLS did not start");
    }

    fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn tokens_round_trip_over_tls_with_the_servers_ca() {
    let pki = pki();
    let Some(redis) = TlsRedis::start(&pki) else {
        return;
    };
    let key = CacheKey::app(
        "https://login.microsoftonline.com/contoso",
        "client",
        &["api://x/.default"],
    );
    let entry = CachedToken::new(
        "the-access-token",
        "Bearer",
        now() + 3600,
        None,
        vec!["api://x/.default".into()],
    );
    let writer = RedisTokenCache::builder(redis.url())
        .encryption_key(KEY)
        .tls_root_certificates(pki.ca_pem.clone())
        .build()
        .unwrap();
    writer.set(&key, entry.clone()).await.unwrap();
    // Another replica (its own memory) reads it from Redis, over TLS.
    let reader = RedisTokenCache::builder(redis.url())
        .encryption_key(KEY)
        .tls_root_certificates(pki.ca_pem.clone())
        .build()
        .unwrap();
    assert_eq!(reader.get(&key).await.unwrap(), Some(entry));
    assert_eq!(reader.stats().l2_hits, 1);
    assert!(!reader.is_degraded());
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_is_not_trusted() {
    let pki_a = pki();
    let other = pki();
    let Some(redis) = TlsRedis::start(&pki_a) else {
        return;
    };
    let key = CacheKey::app(
        "https://login.microsoftonline.com/contoso",
        "client",
        &["s"],
    );
    let cache = RedisTokenCache::builder(redis.url())
        .encryption_key(KEY)
        .tls_root_certificates(other.ca_pem)
        .build()
        .unwrap();
    // The cache degrades to memory only (a token request still works); Redis is not used.
    let _ = cache.get(&key).await;
    assert_eq!(cache.stats().l2_hits, 0);
    assert!(
        cache.is_degraded(),
        "a TLS handshake with an untrusted certificate succeeded"
    );
}

#[test]
fn verification_is_never_skipped_and_roots_need_tls() {
    let insecure = RedisTokenCache::builder("rediss://127.0.0.1:6380/#insecure")
        .encryption_key(KEY)
        .build();
    assert!(matches!(insecure, Err(RedisCacheBuildError::InsecureTls)));
    let plain = RedisTokenCache::builder("redis://127.0.0.1:6379")
        .encryption_key(KEY)
        .tls_root_certificates(pki().ca_pem)
        .build();
    assert!(matches!(
        plain,
        Err(RedisCacheBuildError::RootCertificatesWithoutTls)
    ));
}
