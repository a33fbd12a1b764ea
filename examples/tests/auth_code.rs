//! `auth-code-client` and `auth-code-api` against the emulator, in-process.

mod common;

use auth_testkit::now;
use common::{Answer, app_token, call, csrf, signed_in_browser, user_token};
use examples::local::browser::{Browser, element_text};
use examples::local::{ALICE, BOB, CASE_CREATE, CASE_READ, Local, S2S_SCOPE};

async fn create_case(local: &Local, token: Option<&str>) -> Answer {
    let url = format!("{}/create-case", local.auth_code_api.url());
    call("POST", &url, token, None).await
}

fn redirect(local: &Local) -> String {
    format!("{}/callback", local.auth_code_client.url())
}

#[tokio::test]
async fn api_creates_a_case_for_a_user_with_the_scope() {
    let local = Local::start().await.unwrap();
    let token = user_token(
        &local,
        "auth-code-client",
        &redirect(&local),
        &[CASE_CREATE],
        BOB,
    )
    .await;
    let answer = create_case(&local, Some(&token)).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let bob = local.idp.user(BOB.0);
    assert_eq!(
        answer.body,
        format!(
            "Case created successfully by user: Bob Example (OID: {})",
            bob.object_id()
        )
    );
}

#[tokio::test]
async fn api_refuses_without_token_without_scope_app_tokens_and_expired_tokens() {
    let local = Local::start().await.unwrap();

    let anonymous = create_case(&local, None).await;
    assert_eq!(
        (anonymous.status, anonymous.challenge.as_str()),
        (401, "Bearer")
    );

    let read_only = user_token(
        &local,
        "auth-code-client",
        &redirect(&local),
        &[CASE_READ],
        ALICE,
    )
    .await;
    let answer = create_case(&local, Some(&read_only)).await;
    assert_eq!(answer.status, 403);
    assert!(
        answer.challenge.contains("insufficient_scope")
            && answer.challenge.contains("scope=\"Case.Create\""),
        "{answer:?}"
    );

    // An app token for another API: the audience is wrong.
    let other = app_token(&local, "s2s-example-consumer", S2S_SCOPE).await;
    let answer = create_case(&local, Some(&other)).await;
    assert_eq!(answer.status, 401);
    assert!(answer.challenge.contains("another audience"), "{answer:?}");

    // An app-only token for this API: no user, no scope.
    let app = local
        .mint()
        .audience(local.idp.app("auth-code-api").client_id())
        .remove("scp")
        .idtyp("app")
        .sign();
    let answer = create_case(&local, Some(&app)).await;
    assert_eq!(answer.status, 403, "{answer:?}");

    let expired = local
        .mint_for_alice("auth-code-api")
        .scopes("Case.Create")
        .issued_at(now() - 7200)
        .expires_in(3600)
        .sign();
    let answer = create_case(&local, Some(&expired)).await;
    assert_eq!(answer.status, 401);
    assert!(answer.challenge.contains("expired"), "{answer:?}");

    // A v1-shaped token with the App ID URI as audience is accepted too.
    let v1 = local
        .mint_for_alice("auth-code-api")
        .audience("api://backend-api-id")
        .scopes("Case.Create")
        .sign();
    assert_eq!(create_case(&local, Some(&v1)).await.status, 200);
}

#[tokio::test]
async fn web_app_signs_in_and_creates_a_case() {
    let local = Local::start().await.unwrap();
    let base = local.auth_code_client.url();
    let (mut browser, home) = signed_in_browser(&base, ALICE).await;
    assert!(
        home.body
            .contains("Signed in as <strong>Alice Example</strong>"),
        "{}",
        home.body
    );
    assert!(home.body.contains(">Create a case</button>"));

    let page = browser
        .post_form(&format!("{base}/cases"), &[("csrf", &csrf(&home))])
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    let alice = local.idp.user(ALICE.0);
    assert_eq!(
        element_text(&page.body, "api-response").unwrap(),
        format!(
            "Case created successfully by user: Alice Example (OID: {})",
            alice.object_id()
        )
    );
    // The session cookie is HttpOnly and SameSite; no token reaches the page.
    assert!(!page.body.contains("eyJ"));
}

#[tokio::test]
async fn web_app_pages_are_plain_html_with_a_sign_in_button() {
    let local = Local::start().await.unwrap();
    let answer = call(
        "GET",
        &format!("{}/", local.auth_code_client.url()),
        None,
        None,
    )
    .await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.starts_with("<!DOCTYPE html>"));
    assert!(answer.body.contains("<html lang=\"en\">"));
    assert!(answer.body.contains(
        "<form method=\"get\" action=\"/login\"><button type=\"submit\">Sign in</button></form>"
    ));
}

#[tokio::test]
async fn web_app_refuses_cases_without_sign_in_or_with_a_wrong_csrf_token() {
    let local = Local::start().await.unwrap();
    let base = local.auth_code_client.url();

    let mut stranger = Browser::new().unwrap();
    let page = stranger
        .post_form(&format!("{base}/cases"), &[("csrf", "x")])
        .await
        .unwrap();
    assert_eq!(page.status, 401);

    let (mut browser, _) = signed_in_browser(&base, ALICE).await;
    let page = browser
        .post_form(&format!("{base}/cases"), &[("csrf", "forged")])
        .await
        .unwrap();
    assert_eq!(page.status, 403);
    // A form without its fields is a client error, not a crash.
    let page = browser
        .post_form(&format!("{base}/cases"), &[])
        .await
        .unwrap();
    assert!((400..500).contains(&page.status), "{}", page.status);
}

#[tokio::test]
async fn web_app_callback_refuses_a_forged_state_and_a_missing_session() {
    let local = Local::start().await.unwrap();
    let base = local.auth_code_client.url();

    let mut stranger = Browser::new().unwrap();
    let page = stranger
        .get(&format!("{base}/redirect?code=x&state=y"))
        .await
        .unwrap();
    assert_eq!(page.status, 400);
    assert!(page.body.contains("Sign-in failed"));

    // A session with a sign-in in progress, and a callback with another state.
    let mut browser = Browser::new().unwrap();
    let login = browser.get(&format!("{base}/login")).await.unwrap();
    assert_eq!(login.status, 303);
    assert!(
        login
            .location
            .unwrap()
            .contains("code_challenge_method=S256")
    );
    let page = browser
        .get(&format!("{base}/redirect?code=x&state=forged"))
        .await
        .unwrap();
    assert_eq!(page.status, 400);
    assert!(page.body.contains("state does not match"), "{}", page.body);
}
