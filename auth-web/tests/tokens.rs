//! Per-user downstream tokens against the emulator: cached in the session, refreshed with the
//! rotated refresh token, and incremental consent through sign-in.

mod common;

use auth_testkit::emulator::Grant;
use auth_web::tower_sessions::MemoryStore;
use common::{Browser, emulator, serve};

#[tokio::test]
async fn tokens_come_from_the_session_without_a_token_request() {
    let idp = emulator().await;
    let app = serve(&idp, MemoryStore::default(), |b| b).await;
    let mut browser = Browser::new();
    browser.sign_in(&app.url, None).await;

    // The sign-in's access token is in the session: no token request.
    let before = idp.token_requests_total();
    let page = browser.get(&format!("{}/create", app.url)).await;
    assert_eq!(
        (page.status, page.body.as_str()),
        (200, "token for api://backend-api-id/Case.Create")
    );
    assert_eq!(idp.token_requests_total(), before);
}

/// An app with both API scopes consented, keeping one token per session: every switch of API
/// scope is a refresh, each with the refresh token the previous one returned.
#[tokio::test]
async fn a_missing_token_is_refreshed_with_the_rotated_refresh_token() {
    use auth_testkit::emulator::{DEFAULT_TENANT_TOML, TenantConfig};
    let tenant = TenantConfig::from_toml_str(&format!(
        "{DEFAULT_TENANT_TOML}
[[apps]]
name = \"cases-web\"
secrets = [\"cases-web-secret\"]
redirect_uris = [\"http://127.0.0.1:8080/redirect\"]
[[apps.required_resource_access]]
resource = \"api://backend-api-id\"
scopes = [\"Case.Create\", \"Case.Read\"]
admin_consent = true
"
    ))
    .unwrap();
    let idp = auth_testkit::Emulator::builder()
        .tenant(tenant)
        .auto_login(common::ALICE)
        .start()
        .await
        .unwrap();
    let registration = idp.app("cases-web");
    let client = auth_client::ConfidentialClient::builder()
        .authority(idp.authority())
        .client_id(registration.client_id())
        .client_secret(registration.secret())
        .build()
        .unwrap();
    let app = common::serve_client(client, MemoryStore::default(), |b| {
        b.max_tokens_per_session(1)
    })
    .await;
    let mut browser = Browser::new();
    browser.sign_in(&app.url, None).await;
    let refreshes = idp.token_requests(Grant::RefreshToken);
    for (n, path) in [(1, "/read"), (1, "/read"), (2, "/create"), (3, "/read")] {
        let page = browser.get(&format!("{}{path}", app.url)).await;
        assert_eq!(page.status, 200, "{page:?}");
        assert_eq!(
            idp.token_requests(Grant::RefreshToken),
            refreshes + n,
            "{path}"
        );
    }
}

#[tokio::test]
async fn incremental_consent_goes_through_sign_in_and_back() {
    let idp = emulator().await;
    let app = serve(&idp, MemoryStore::default(), |b| b).await;
    let mut browser = Browser::new();
    browser.sign_in(&app.url, None).await;

    // Case.Read is not consented: the refresh fails with AADSTS65001 → sign in again.
    let page = browser.get(&format!("{}/read?tab=1", app.url)).await;
    assert_eq!(page.status, 303, "{page:?}");
    assert_eq!(
        page.location.as_deref(),
        Some("/login?return_to=%2Fread%3Ftab%3D1")
    );

    let login = browser
        .get(&format!("{}{}", app.url, page.location.unwrap()))
        .await;
    let authorize = login.location.unwrap();
    assert!(
        authorize.contains("Case.Read"),
        "the new sign-in asks for the scope: {authorize}"
    );
    assert!(authorize.contains("login_hint="), "{authorize}");
    let callback = browser.authorize(&authorize).await; // the user consents
    let back = browser.get(&callback).await;
    assert_eq!(back.location.as_deref(), Some("/read?tab=1"));

    let page = browser.get(&format!("{}/read?tab=1", app.url)).await;
    assert_eq!(
        (page.status, page.body.as_str()),
        (200, "token for api://backend-api-id/Case.Read")
    );
    // The first API's token is still there.
    assert_eq!(
        browser.get(&format!("{}/create", app.url)).await.status,
        200
    );

    // An API client gets 401, not a redirect.
    let mut api = Browser::new();
    api.accept_html = false;
    assert_eq!(api.get(&format!("{}/read", app.url)).await.status, 401);
}
