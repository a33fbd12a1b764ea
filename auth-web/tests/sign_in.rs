//! auth-web's routes over HTTP, against the emulator: sign-in, every sign-in failure, the
//! session cookie, lifetimes, require-sign-in, CSRF, logout, front-channel logout, tenants.

mod common;

use std::time::Duration;

use auth_web::tower_sessions::MemoryStore;
use common::{ALICE, Browser, emulator, serve};

fn session_cookie(page: &common::Page) -> Option<&String> {
    page.set_cookie.iter().find(|c| c.starts_with("session="))
}

#[tokio::test]
async fn login_redirects_to_authorize_with_pkce_state_and_nonce_and_a_lax_httponly_cookie() {
    let idp = emulator().await;
    let app = serve(&idp, MemoryStore::default(), |b| b).await;
    let mut browser = Browser::new();
    let page = browser.get(&format!("{}/login", app.url)).await;
    assert_eq!(page.status, 303);
    let location = page.location.clone().unwrap();
    assert!(
        location.starts_with(&idp.authorization_endpoint()),
        "{location}"
    );
    for needle in [
        "code_challenge_method=S256",
        "state=",
        "nonce=",
        "response_type=code",
        "Case.Create",
        "offline_access",
    ] {
        assert!(location.contains(needle), "{needle} in {location}");
    }
    let cookie = session_cookie(&page).expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    assert!(!cookie.contains("Secure"), "plain-http app: {cookie}");
}

#[tokio::test]
async fn sign_in_rotates_the_session_id_and_returns_to_the_page() {
    let idp = emulator().await;
    let app = serve(&idp, MemoryStore::default(), |b| b).await;
    let mut browser = Browser::new();
    assert_eq!(
        browser.get(&format!("{}/", app.url)).await.body,
        "anonymous"
    );

    let start = browser
        .get(&format!("{}/login?return_to=%2Fprivate%3Fx%3D1", app.url))
        .await;
    let before = browser.cookies["session"].clone();
    let callback = browser.authorize(start.location.as_deref().unwrap()).await;
    let done = browser.get(&callback).await;
    assert_eq!(done.status, 303, "{done:?}");
    assert_eq!(done.location.as_deref(), Some("/private?x=1"));
    let after = browser.cookies["session"].clone();
    assert_ne!(
        before, after,
        "the session id changes at sign-in (no fixation)"
    );

    let me: serde_json::Value =
        serde_json::from_str(&browser.get(&format!("{}/me", app.url)).await.body).unwrap();
    let alice = idp.user(ALICE);
    assert_eq!(me["name"], "Alice Example");
    assert_eq!(me["username"], ALICE);
    assert_eq!(me["oid"], alice.object_id());
    assert_eq!(me["tid"], idp.tenant_id());
    assert_eq!(me["claims"]["aud"], idp.app("auth-code-client").client_id());
    assert_eq!(
        browser.get(&format!("{}/private?x=1", app.url)).await.body,
        "private page"
    );

    // The pre-sign-in id is worthless now.
    let mut planted = Browser::new();
    planted.cookies.insert("session".into(), before);
    assert_eq!(
        planted.get(&format!("{}/", app.url)).await.body,
        "anonymous"
    );
    // No page carries a token.
    assert!(
        !browser
            .get(&format!("{}/me", app.url))
            .await
            .body
            .contains("eyJ")
    );
}

#[tokio::test]
async fn callback_refuses_a_missing_session_a_wrong_or_missing_state() {
    let idp = emulator().await;
    let app = serve(&idp, MemoryStore::default(), |b| b).await;

    let mut stranger = Browser::new();
    let page = stranger
        .get(&format!("{}/redirect?code=x&state=y", app.url))
        .await;
    assert_eq!(page.status, 400);
    assert!(
        page.body.contains("No sign-in is in progress"),
        "{}",
        page.body
    );

    let mut browser = Browser::new();
    let start = browser.get(&format!("{}/login", app.url)).await;
    let callback = browser.authorize(start.location.as_deref().unwrap()).await;
    let code = callback
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    for forged in [
        format!("{}/redirect?code={code}&state=forged", app.url),
        format!("{}/redirect?code={code}", app.url),
    ] {
        let page = browser.get(&forged).await;
        assert_eq!(page.status, 400);
        assert!(page.body.contains("state does not match"), "{}", page.body);
    }
    // The real callback still works: a forged one does not consume the sign-in.
    assert_eq!(browser.get(&callback).await.status, 303);
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let idp = emulator().await;
    let app = serve(&idp, MemoryStore::default(), |b| b).await;
    let mut browser = Browser::new();
    let start = browser.get(&format!("{}/login", app.url)).await;
    let before = browser.clone();
    let callback = browser.authorize(start.location.as_deref().unwrap()).await;
    assert_eq!(browser.get(&callback).await.status, 303);
    // Same browser, same callback: the sign-in was used up.
    let replay = browser.get(&callback).await;
    assert_eq!(replay.status, 400, "{replay:?}");
    // The pre-sign-in session (rotated away) cannot redeem it either.
    let mut old = before;
    assert_eq!(old.get(&callback).await.status, 400);
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    let idp = emulator().await;
    let app = serve(&idp, MemoryStore::default(), |b| b).await;
    let mut browser = Browser::new();
    let start = browser.get(&format!("{}/login", app.url)).await;
    let url = start.location.unwrap();
    let nonce = url
        .split("nonce=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let tampered = url.replace(&format!("nonce={nonce}"), "nonce=attacker-chosen");
    let callback = browser.authorize(&tampered).await;
    let page = browser.get(&callback).await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("nonce does not match"), "{}", page.body);
    assert_eq!(
        browser.get(&format!("{}/", app.url)).await.body,
        "anonymous"
    );
}

#[tokio::test]
async fn return_to_refuses_open_redirect_attempts() {
    let idp = emulator().await;
    let app = serve(&idp, MemoryStore::default(), |b| b).await;
    let mut browser = Browser::new();
    for evil in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "https:evil.example",
        "/\r\nLocation: https://evil.example",
        "javascript:alert(1)",
    ] {
        let query = serde_urlencoded::to_string([("return_to", evil)]).unwrap();
        let page = browser.get(&format!("{}/login?{query}", app.url)).await;
        assert_eq!(page.status, 400, "{evil}: {page:?}");
        assert!(page.location.is_none());
    }
    // Without return_to the sign-in lands on the start page.
    let done = browser.sign_in(&app.url, None).await;
    assert_eq!(done.location.as_deref(), Some("/"));
}

#[tokio::test]
async fn idle_and_absolute_lifetimes_end_the_session() {
    let idp = emulator().await;
    let idle = serve(&idp, MemoryStore::default(), |b| {
        b.idle_lifetime(Duration::from_secs(1))
    })
    .await;
    let mut browser = Browser::new();
    browser.sign_in(&idle.url, None).await;
    assert_eq!(
        browser.get(&format!("{}/", idle.url)).await.body,
        "signed in: Alice Example"
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        browser.get(&format!("{}/", idle.url)).await.body,
        "anonymous"
    );

    let absolute = serve(&idp, MemoryStore::default(), |b| {
        b.absolute_lifetime(Duration::from_secs(2))
    })
    .await;
    let mut browser = Browser::new();
    browser.sign_in(&absolute.url, None).await;
    assert_eq!(
        browser.get(&format!("{}/", absolute.url)).await.body,
        "signed in: Alice Example"
    );
    // Active all along, but past the absolute lifetime.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        browser.get(&format!("{}/csrf", absolute.url)).await;
    }
    assert_eq!(
        browser.get(&format!("{}/", absolute.url)).await.body,
        "anonymous"
    );
}

#[tokio::test]
async fn require_sign_in_redirects_browsers_and_refuses_api_clients() {
    let idp = emulator().await;
    let app = serve(&idp, MemoryStore::default(), |b| b).await;
    let mut browser = Browser::new();
    let page = browser.get(&format!("{}/private?tab=2", app.url)).await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some("/login?return_to=%2Fprivate%3Ftab%3D2")
    );

    let mut api = Browser::new();
    api.accept_html = false;
    let page = api.get(&format!("{}/private", app.url)).await;
    assert_eq!(page.status, 401);
    let body: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(body["error"], "sign_in_required");
    assert_eq!(api.get(&format!("{}/me", app.url)).await.status, 401);
}

#[tokio::test]
async fn csrf_token_missing_or_wrong_is_refused() {
    let idp = emulator().await;
    let app = serve(&idp, MemoryStore::default(), |b| b).await;
    let mut browser = Browser::new();
    browser.sign_in(&app.url, None).await;
    let form = format!("{}/form", app.url);
    let missing = browser.post_form(&form, &[("title", "x")]).await;
    assert_eq!(missing.status, 403);
    let wrong = browser
        .post_form(&form, &[("title", "x"), ("csrf", "forged")])
        .await;
    assert_eq!(wrong.status, 403);
    let token = browser.get(&format!("{}/csrf", app.url)).await.body;
    assert_eq!(token.len(), 43);
    let ok = browser
        .post_form(&form, &[("title", "x"), ("csrf", &token)])
        .await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "posted x"));
    // Another session's token is not this session's.
    let mut other = Browser::new();
    other.sign_in(&app.url, None).await;
    assert_eq!(
        other
            .post_form(&form, &[("title", "x"), ("csrf", &token)])
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn logout_clears_the_session_then_ends_the_provider_session() {
    let idp = emulator().await;
    let app = serve(&idp, MemoryStore::default(), |b| b).await;
    let mut browser = Browser::new();
    browser.sign_in(&app.url, None).await;
    let logout = format!("{}/logout", app.url);
    let page = browser.get(&logout).await;
    assert!(page.body.contains("name=\"csrf\""), "{}", page.body);

    assert_eq!(
        browser
            .post_form(&logout, &[("csrf", "forged")])
            .await
            .status,
        403
    );
    assert_eq!(
        browser.get(&format!("{}/", app.url)).await.body,
        "signed in: Alice Example"
    );

    let token = browser.get(&format!("{}/csrf", app.url)).await.body;
    let page = browser.post_form(&logout, &[("csrf", &token)]).await;
    assert_eq!(page.status, 303);
    let location = page.location.unwrap();
    let end_session = format!("{}/oauth2/v2.0/logout?", idp.authority());
    assert!(location.starts_with(&end_session), "{location}");
    let post_logout =
        serde_urlencoded::to_string([("post_logout_redirect_uri", format!("{}/", app.url))])
            .unwrap();
    assert!(location.contains(&post_logout), "{location}");
    assert!(location.contains("id_token_hint=eyJ") && location.contains("client_id="));
    assert_eq!(
        browser.get(&format!("{}/", app.url)).await.body,
        "anonymous"
    );

    // Signed out, a logout post is harmless.
    assert_eq!(browser.post_form(&logout, &[]).await.status, 303);
}

#[tokio::test]
async fn front_channel_logout_ends_the_matching_session_only() {
    let idp = emulator().await;
    let app = serve(&idp, MemoryStore::default(), |b| b).await;
    let mut browser = Browser::new();
    browser.sign_in(&app.url, None).await;
    let page = browser
        .get(&format!("{}/signout-oidc?sid=another-session", app.url))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(
        browser.get(&format!("{}/", app.url)).await.body,
        "signed in: Alice Example"
    );
    browser.get(&format!("{}/signout-oidc", app.url)).await;
    assert_eq!(
        browser.get(&format!("{}/", app.url)).await.body,
        "anonymous"
    );
}

#[tokio::test]
async fn tenants_not_allowed_cannot_sign_in() {
    let idp = emulator().await;
    let app = serve(&idp, MemoryStore::default(), |b| {
        b.allowed_tenants(["72f988bf-86f1-41af-91ab-2d7cd011db47"])
    })
    .await;
    let mut browser = Browser::new();
    let page = browser.sign_in(&app.url, None).await;
    assert_eq!(page.status, 403);
    assert_eq!(
        browser.get(&format!("{}/", app.url)).await.body,
        "anonymous"
    );

    let allowed = serve(&idp, MemoryStore::default(), |b| {
        b.allowed_tenants([idp.tenant_id()])
    })
    .await;
    let mut browser = Browser::new();
    assert_eq!(browser.sign_in(&allowed.url, None).await.status, 303);
}

#[tokio::test]
async fn multi_tenant_authorities_accept_users_whose_issuer_names_their_tid() {
    let idp = emulator().await;
    let registration = idp.app("auth-code-client");
    let client = auth_client::ConfidentialClient::builder()
        .authority(format!("{}/organizations", idp.base_url()))
        .client_id(registration.client_id())
        .client_secret(registration.secret())
        .build()
        .unwrap();
    let app = common::serve_client(client, MemoryStore::default(), |b| b).await;
    let mut browser = Browser::new();
    let page = browser.sign_in(&app.url, None).await;
    assert_eq!(page.status, 303, "{page:?}");
    let me: serde_json::Value =
        serde_json::from_str(&browser.get(&format!("{}/me", app.url)).await.body).unwrap();
    assert_eq!(me["tid"], idp.tenant_id());
    assert_eq!(
        me["claims"]["iss"],
        format!("{}/{}/v2.0", idp.base_url(), idp.tenant_id())
    );
}

#[tokio::test]
async fn extractors_without_the_layer_answer_500_naming_it() {
    use tower::ServiceExt as _;
    let app: axum::Router = axum::Router::new().route(
        "/",
        axum::routing::get(|_: auth_web::SignedIn| async { "unreachable" }),
    );
    let response = app
        .oneshot(
            http::Request::get("/")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&body).contains("did you forget"));
}
