//! auth-web against a real, certified OpenID Provider (panva's `oidc-provider`): a web app built
//! on `WebAuth` signs Alice in by issuer discovery alone — authorization code + PKCE, the RFC 9207
//! `iss` on the callback, the ID token validated — and the signed-in user is the provider's.
//!
//! The web app runs in-process (`tower::ServiceExt::oneshot`) behind the redirect URI the
//! harness registers; cookies are carried by hand, as a browser would.

mod support;

use auth_client::ConfidentialClient;
use auth_web::{BoundedMemoryStore, SignedIn, WebAuth};
use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, Response, header};
use support::{OidcProvider, ProviderOptions, follow_to_callback};
use tower::ServiceExt as _;

const REDIRECT_URI: &str = "http://127.0.0.1:8080/callback";

/// `name=value` of the response's session cookie, if it set one.
fn session_cookie(response: &Response<Body>) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

async fn fetch(app: &Router, path: &str, cookie: Option<&str>) -> Response<Body> {
    let mut request = Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    app.clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_web_app_on_auth_web_signs_a_user_in_at_a_plain_oidc_provider() {
    let Some(idp) = OidcProvider::start(ProviderOptions::default()).await else {
        return;
    };
    let client = ConfidentialClient::builder()
        .issuer(&idp.issuer)
        .client_id("web-app")
        .client_secret("web-app-secret-0123456789abcdef")
        .build()
        .unwrap();
    let auth = WebAuth::builder(client)
        .redirect_uri(REDIRECT_URI)
        .scopes(Vec::<String>::new())
        .build()
        .unwrap();
    let app: Router = Router::new()
        .route(
            "/me",
            get(|user: SignedIn| async move {
                format!(
                    "{} {}",
                    user.subject().unwrap_or("-"),
                    user.issuer().unwrap_or("-")
                )
            }),
        )
        .merge(auth.routes())
        .layer(auth.layer(BoundedMemoryStore::default()));

    // Not signed in: the extractor refuses.
    assert_eq!(fetch(&app, "/me", None).await.status(), 401);

    // Sign-in starts at the provider's authorization endpoint, discovered from the issuer.
    let login = fetch(&app, "/login", None).await;
    assert_eq!(login.status(), 303);
    let before = session_cookie(&login).expect("a session for the sign-in state");
    let authorize = login.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(authorize.starts_with(&idp.issuer), "{authorize}");
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );

    // The provider signs Alice in and redirects back with code, state and iss (RFC 9207).
    let callback = follow_to_callback(&authorize, REDIRECT_URI).await;
    assert!(callback.contains("iss="), "{callback}");
    let path = callback.strip_prefix("http://127.0.0.1:8080").unwrap();
    let done = fetch(&app, path, Some(&before)).await;
    assert_eq!(done.status(), 303, "the callback completes the sign-in");
    let after = session_cookie(&done).expect("the session id is rotated at sign-in");
    assert_ne!(after, before);

    // The signed-in user is the provider's Alice, from its validated ID token.
    let me = fetch(&app, "/me", Some(&after)).await;
    assert_eq!(me.status(), 200);
    let body = axum::body::to_bytes(me.into_body(), 4096).await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&body),
        format!("alice {}", idp.issuer)
    );

    // A replayed callback is refused: the sign-in state was single-use.
    assert_eq!(fetch(&app, path, Some(&after)).await.status(), 400);
}
