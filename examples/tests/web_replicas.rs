//! Two replicas of `auth-code-client` behind one URL, sessions in a real `redis-server`
//! (`REDIS_URL`): sign in through one, create a case through the other, sign out. Skipped (with
//! a note on stderr) when `redis-server` is not installed, except under CI, where it fails.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::csrf;
use examples::config::ClientConfig;
use examples::local::browser::{Browser, element_text};
use examples::local::{ALICE, CASE_CREATE, Local, web_sign_in};
use examples::{Sessions, Trace, auth_code_client};

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

fn redis_server() -> Option<RedisServer> {
    if Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install redis-server"
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

/// A reverse proxy would do this; the test's "one URL" is a single listener whose requests go
/// to the replicas in turn.
async fn round_robin(listener: tokio::net::TcpListener, replicas: Vec<axum::Router>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = Arc::new(AtomicUsize::new(0));
    let proxy = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let replicas = replicas.clone();
        let next = Arc::clone(&next);
        async move {
            use tower::ServiceExt as _;
            let i = next.fetch_add(1, Ordering::SeqCst) % replicas.len();
            replicas[i].clone().oneshot(request).await
        }
    });
    axum::serve(listener, proxy).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_behind_one_url_share_sessions_in_redis() {
    let Some(redis) = redis_server() else {
        return;
    };
    let local = Local::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bound = listener.local_addr().unwrap();
    let registration = local.idp.app(auth_code_client::NAME);
    let config = auth_code_client::Config {
        listen: bound,
        client: ClientConfig::with_secret(
            local.idp.base_url(),
            local.idp.tenant_id(),
            registration.client_id(),
            registration.secret(),
        ),
        redirect_uri: None,
        api_url: local.auth_code_api.url(),
        api_scope: CASE_CREATE.to_owned(),
        sessions: Sessions::redis(format!("redis://127.0.0.1:{}", redis.port), [9u8; 32]),
        trace: Trace::off(),
    };
    let replicas = vec![
        auth_code_client::router(&config, bound).unwrap(),
        auth_code_client::router(&config, bound).unwrap(),
    ];
    let server = tokio::spawn(round_robin(listener, replicas));
    let base = format!("http://{bound}");

    // Sign-in: start page, /login, callback, signed-in page — alternating replicas.
    let mut browser = Browser::new().unwrap();
    let home = web_sign_in(&mut browser, &base, ALICE, &mut |_| {})
        .await
        .unwrap();
    assert!(
        home.body
            .contains("Signed in as <strong>Alice Example</strong>"),
        "{}",
        home.body
    );
    for _ in 0..2 {
        let page = browser
            .post_form(&format!("{base}/cases"), &[("csrf", &csrf(&home))])
            .await
            .unwrap();
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            element_text(&page.body, "api-response")
                .unwrap()
                .starts_with("Case created successfully by user: Alice Example"),
            "{}",
            page.body
        );
    }
    // Sign out on one replica: signed out on both.
    let page = browser
        .post_form(&format!("{base}/logout"), &[("csrf", &csrf(&home))])
        .await
        .unwrap();
    assert_eq!(page.status, 303);
    for _ in 0..2 {
        let page = browser.get(&format!("{base}/")).await.unwrap();
        assert!(page.body.contains(">Sign in</button>"), "{}", page.body);
    }
    server.abort();
}
