//! The On-Behalf-Of chain: `obo-example-frontend` → `obo-example-internal-api` →
//! `obo-example-shared-api`, against the emulator, in-process.

mod common;

use common::{app_token, call, csrf, signed_in_browser, user_token};
use examples::local::browser::element_text;
use examples::local::{
    ALICE, CASE_CREATE, INTERNAL_SCOPE, Local, S2S_SCOPE, SHARED_READ, SHARED_WRITE,
};
use serde_json::{Value, json};

async fn token_a(local: &Local) -> String {
    let redirect = format!("{}/redirect", local.frontend.url());
    user_token(
        local,
        "obo-example-frontend",
        &redirect,
        &[INTERNAL_SCOPE],
        ALICE,
    )
    .await
}

/// Token B, as the middle tier gets it.
async fn token_b(local: &Local, scope: &str) -> String {
    let middle = local.client_as("obo-example-internal-api").unwrap();
    middle
        .acquire_token_on_behalf_of(&token_a(local).await, &[scope])
        .await
        .unwrap()
        .into_secret()
}

#[tokio::test]
async fn shared_api_lists_and_stores_documents_with_the_users_identity() {
    let local = Local::start().await.unwrap();
    let base = local.shared_api.url();
    let alice = local.idp.user(ALICE.0).object_id().to_owned();
    let middle_tier = local
        .idp
        .app("obo-example-internal-api")
        .client_id()
        .to_owned();

    let read = token_b(&local, SHARED_READ).await;
    // Our own route: what the API saw in Token B.
    let answer = call("GET", &format!("{base}/documents"), Some(&read), None).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let listing = answer.json();
    assert_eq!(listing["caller"]["oid"], alice.as_str());
    assert_eq!(listing["caller"]["client_id"], middle_tier.as_str());
    assert_eq!(listing["documents"][0]["name"], "Policy1.pdf");

    // Documents.Read does not allow writing.
    let answer = call(
        "POST",
        &format!("{base}/documents"),
        Some(&read),
        Some(json!({"name": "a.txt"})),
    )
    .await;
    assert_eq!(answer.status, 403);
    assert!(
        answer.challenge.contains("scope=\"Documents.Write\""),
        "{answer:?}"
    );

    let write = token_b(&local, SHARED_WRITE).await;
    let answer = call(
        "POST",
        &format!("{base}/documents"),
        Some(&write),
        Some(json!({"name": "a.txt", "size": 5})),
    )
    .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    let stored = answer.json();
    assert_eq!(stored["name"], "a.txt");
    assert_eq!(stored["uploaded_by"], ALICE.0);
    assert_eq!(stored["oid"], alice.as_str());

    // Bad input is a 400, not a crash.
    for body in [
        json!({"name": ""}),
        json!({"nom": "x"}),
        json!("text"),
        json!({"name": "a\u{0}b"}),
    ] {
        let answer = call(
            "POST",
            &format!("{base}/documents"),
            Some(&write),
            Some(body.clone()),
        )
        .await;
        assert_eq!(answer.status, 400, "{body} → {answer:?}");
    }
    // The document is listed: by name after the seed's two on `GET /docs`, with its metadata
    // on `GET /documents`.
    let answer = call("GET", &format!("{base}/docs"), Some(&read), None).await;
    assert_eq!(
        answer.json(),
        json!({"docs": ["Policy1.pdf", "Specs.docx", "a.txt"], "user": "Alice Example"})
    );
    let answer = call("GET", &format!("{base}/documents"), Some(&read), None).await;
    assert_eq!(answer.json()["documents"][2]["uploaded_by"], ALICE.0);
}

/// The seed's shared API answers `GET /docs` with `{"docs": ["Policy1.pdf", "Specs.docx"],
/// "user": …}`: exactly that, no more fields, so the seed's clients read it unchanged.
#[tokio::test]
async fn shared_api_answers_get_docs_with_the_seeds_body() {
    let local = Local::start().await.unwrap();
    let read = token_b(&local, SHARED_READ).await;
    let answer = call(
        "GET",
        &format!("{}/docs", local.shared_api.url()),
        Some(&read),
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.json(),
        json!({"docs": ["Policy1.pdf", "Specs.docx"], "user": "Alice Example"})
    );
}

/// The seed's internal API answers `GET /process-documents` with the text
/// `Successfully chained identity to Shared API!` once the shared API accepted Token B.
#[tokio::test]
async fn internal_api_answers_process_documents_with_the_seeds_text() {
    let local = Local::start().await.unwrap();
    let answer = call(
        "GET",
        &format!("{}/process-documents", local.internal_api.url()),
        Some(&token_a(&local).await),
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, "Successfully chained identity to Shared API!");
    assert_eq!(answer.body, examples::obo_internal_api::CHAINED);
}

#[tokio::test]
async fn shared_api_refuses_missing_tokens_and_token_a() {
    let local = Local::start().await.unwrap();
    let url = format!("{}/docs", local.shared_api.url());
    assert_eq!(call("GET", &url, None, None).await.status, 401);
    // Token A is addressed to the internal API, not to the shared API.
    let answer = call("GET", &url, Some(&token_a(&local).await), None).await;
    assert_eq!(answer.status, 401);
    assert!(answer.challenge.contains("another audience"), "{answer:?}");
}

#[tokio::test]
async fn internal_api_exchanges_token_a_and_calls_the_shared_api() {
    let local = Local::start().await.unwrap();
    let base = local.internal_api.url();
    let token = token_a(&local).await;

    let answer = call(
        "GET",
        &format!("{base}/process-documents"),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, examples::obo_internal_api::CHAINED);

    let answer = call(
        "POST",
        &format!("{base}/upload"),
        Some(&token),
        Some(json!({"name": "b.txt", "content": "hello"})),
    )
    .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(answer.json()["shared_api"]["size"], 5);

    // The shared API's refusal of bad input comes back as a 400.
    let answer = call(
        "POST",
        &format!("{base}/upload"),
        Some(&token),
        Some(json!({"name": " "})),
    )
    .await;
    assert_eq!(answer.status, 400, "{answer:?}");
    let answer = call(
        "POST",
        &format!("{base}/upload"),
        Some(&token),
        Some(Value::Null),
    )
    .await;
    assert_eq!(answer.status, 400, "{answer:?}");
}

#[tokio::test]
async fn internal_api_refuses_before_any_exchange() {
    let local = Local::start().await.unwrap();
    let url = format!("{}/process-documents", local.internal_api.url());
    assert_eq!(call("GET", &url, None, None).await.status, 401);

    // A token for another API.
    let redirect = format!("{}/callback", local.auth_code_client.url());
    let other = user_token(&local, "auth-code-client", &redirect, &[CASE_CREATE], ALICE).await;
    let answer = call("GET", &url, Some(&other), None).await;
    assert_eq!(answer.status, 401);

    // The right audience without user_impersonation (v1, as the internal API's tokens are).
    let no_scope = local
        .mint_for_alice("obo-example-internal-api")
        .v1()
        .claim("iss", local.idp.v1_issuer())
        .audience("api://obo-example-internal-api")
        .scopes("something.else")
        .sign();
    let answer = call("GET", &url, Some(&no_scope), None).await;
    assert_eq!(answer.status, 403, "{answer:?}");

    // An app-only token for the internal API: there is no user to act for.
    let app = local
        .mint()
        .audience(local.idp.app("obo-example-internal-api").client_id())
        .remove("scp")
        .idtyp("app")
        .sign();
    let answer = call("GET", &url, Some(&app), None).await;
    assert_eq!(answer.status, 403, "{answer:?}");
    assert!(answer.challenge.contains("delegated"), "{answer:?}");

    // The daemon's token for another API.
    let other_app = app_token(&local, "s2s-example-consumer", S2S_SCOPE).await;
    assert_eq!(call("GET", &url, Some(&other_app), None).await.status, 401);
}

#[tokio::test]
async fn frontend_uploads_through_the_middle_tier() {
    let local = Local::start().await.unwrap();
    let base = local.frontend.url();
    let (mut browser, home) = signed_in_browser(&base, ALICE).await;
    assert!(home.body.contains(">Upload</button>"));
    let page = browser
        .post_form(
            &format!("{base}/upload"),
            &[
                ("csrf", &csrf(&home)),
                ("name", "c.txt"),
                ("content", "abc"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    let answer: Value =
        serde_json::from_str(&element_text(&page.body, "api-response").unwrap()).unwrap();
    assert_eq!(answer["shared_api"]["name"], "c.txt");
    assert_eq!(answer["shared_api"]["uploaded_by"], ALICE.0);
    assert_eq!(
        answer["shared_api"]["via_client"],
        local.idp.app("obo-example-internal-api").client_id()
    );

    let page = browser
        .post_form(
            &format!("{base}/upload"),
            &[("csrf", "forged"), ("name", "d.txt")],
        )
        .await
        .unwrap();
    assert_eq!(page.status, 403);
}

#[tokio::test]
async fn frontend_needs_a_signed_in_session() {
    let local = Local::start().await.unwrap();
    let url = format!("{}/upload", local.frontend.url());
    let mut stranger = examples::local::browser::Browser::new().unwrap();
    let page = stranger
        .post_form(&url, &[("csrf", "x"), ("name", "e.txt")])
        .await
        .unwrap();
    assert_eq!(page.status, 401);
}
