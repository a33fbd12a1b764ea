//! Two replicas of a web app sharing sessions through a real `redis-server` (started on a free
//! loopback port, nothing written to disk, killed on drop): sign in on one, post a form on the
//! other, sign out on the first. Skipped (with a note on stderr) when `redis-server` is not
//! installed, except under CI (`CI` set), where it fails.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auth_web::RedisSessionStore;
use common::{Browser, emulator, serve_on};

/// A `redis-server` of this test; killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl RedisServer {
    fn start() -> Option<RedisServer> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server is not installed: CI must install it"
            );
            eprintln!("skipped: install redis-server");
            return None;
        }
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--logfile", ""])
            .arg("--dir")
            .arg(std::env::temp_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) {
                let mut answer = [0u8; 5];
                if stream.write_all(b"PING\r\n").is_ok()
                    && stream.read_exact(&mut answer).is_ok()
                    && &answer == b"+PONG"
                {
                    return Some(server);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not answer PING within 10 s");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

fn store(redis: &RedisServer, key: &[u8]) -> RedisSessionStore {
    RedisSessionStore::new(redis::Client::open(redis.url()).unwrap(), key)
        .unwrap()
        .prefix("cases:session:")
}

#[tokio::test]
async fn two_replicas_share_sessions_through_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = emulator().await;
    // One public URL (the redirect URI), two replicas behind it.
    let a = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a_url = format!("http://{}", a.local_addr().unwrap());
    let b_url = format!("http://{}", b.local_addr().unwrap());
    let key = [42u8; 32];
    let _replica_a = serve_on(&idp, store(&redis, &key), |b| b, a, &a_url).await;
    let _replica_b = serve_on(&idp, store(&redis, &key), |b| b, b, &a_url).await;

    let mut browser = Browser::new();
    // Sign-in starts on A; the callback lands on B.
    let start = browser.get(&format!("{a_url}/login")).await;
    let callback = browser.authorize(start.location.as_deref().unwrap()).await;
    let on_b = callback.replacen(&a_url, &b_url, 1);
    assert_eq!(browser.get(&on_b).await.status, 303);
    assert_eq!(
        browser.get(&format!("{a_url}/")).await.body,
        "signed in: Alice Example"
    );

    // The form comes from A, is posted to B; B's token is A's.
    let token = browser.get(&format!("{a_url}/csrf")).await.body;
    let posted = browser
        .post_form(
            &format!("{b_url}/form"),
            &[("title", "from B"), ("csrf", &token)],
        )
        .await;
    assert_eq!(
        (posted.status, posted.body.as_str()),
        (200, "posted from B")
    );
    assert_eq!(browser.get(&format!("{b_url}/create")).await.status, 200);

    // At rest the session is sealed: no token, no claim, no session id in Redis.
    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("cases:session:*")
        .query(&mut connection)
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let sid = browser.cookies["session"].clone();
    assert!(!keys[0].contains(&sid));
    let raw: Vec<u8> = redis::cmd("GET")
        .arg(&keys[0])
        .query(&mut connection)
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(
        !text.contains("eyJ") && !text.contains("Alice") && !text.contains("refresh_token"),
        "{text}"
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg(&keys[0])
        .query(&mut connection)
        .unwrap();
    assert!(ttl > 0 && ttl <= 8 * 3600, "{ttl}");

    // A replica with another key cannot read the sessions.
    let c = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let c_url = format!("http://{}", c.local_addr().unwrap());
    let _replica_c = serve_on(&idp, store(&redis, &[7u8; 32]), |b| b, c, &a_url).await;
    let mut elsewhere = browser.clone(); // C drops the cookie it cannot use
    assert_eq!(elsewhere.get(&format!("{c_url}/")).await.body, "anonymous");

    // Signed out on A: gone on B too, and from Redis.
    let token = browser.get(&format!("{a_url}/csrf")).await.body;
    let out = browser
        .post_form(&format!("{a_url}/logout"), &[("csrf", &token)])
        .await;
    assert_eq!(out.status, 303);
    browser.cookies.insert("session".into(), sid);
    assert_eq!(browser.get(&format!("{b_url}/")).await.body, "anonymous");
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("cases:session:*")
        .query(&mut connection)
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
}
