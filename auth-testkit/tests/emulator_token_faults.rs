//! The token endpoint's faults and knobs: `set_token_fault`, `set_obo_claims_challenge`,
//! `set_refresh_in`.

use std::time::Duration;

use auth_testkit::base64url;
use auth_testkit::emulator::{Emulator, Grant, TokenFault};
use aws_lc_rs::digest;
use serde_json::Value;

const ALICE: &str = "alice@example.onmicrosoft.com";
const VERIFIER: &str = "a-verifier-that-is-long-enough-for-pkce-0123456789";
const REDIRECT: &str = "http://127.0.0.1:3000/redirect";

async fn post(idp: &Emulator, form: &[(&str, &str)]) -> (u16, Option<String>, Value) {
    let response = reqwest::Client::new()
        .post(idp.token_endpoint())
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, response.json().await.unwrap())
}

async fn client_credentials(idp: &Emulator) -> (u16, Option<String>, Value) {
    let consumer = idp.app("s2s-example-consumer");
    post(
        idp,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", consumer.client_id()),
            ("client_secret", consumer.secret()),
            ("scope", "api://s2s-example-api/.default"),
        ],
    )
    .await
}

/// Alice's token for the internal API, through the frontend (auto-login, PKCE).
async fn frontend_token(idp: &Emulator) -> String {
    let frontend = idp.app("obo-example-frontend");
    let challenge = base64url(digest::digest(&digest::SHA256, VERIFIER.as_bytes()));
    let query = serde_urlencoded::to_string([
        ("client_id", frontend.client_id()),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "api://obo-example-internal-api/user_impersonation"),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser
        .get(format!("{}?{query}", idp.authorization_endpoint()))
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(location.split_once('?').unwrap().1).unwrap();
    let code = params.iter().find(|(k, _)| k == "code").unwrap().1.clone();
    let (status, _, body) = post(
        idp,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", frontend.client_id()),
            ("client_secret", frontend.secret()),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn token_faults_answer_with_their_status_and_retry_after_then_clear() {
    let idp = Emulator::start().await;
    idp.set_token_fault(Some(TokenFault::throttled(Duration::from_secs(2)).times(1)));
    let (status, retry_after, body) = client_credentials(&idp).await;
    assert_eq!((status, retry_after.as_deref()), (429, Some("2")));
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(body["error_codes"][0], 90033);
    // `times(1)`: the next request is served.
    let (status, _, body) = client_credentials(&idp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(idp.token_requests(Grant::ClientCredentials), 2);

    idp.set_token_fault(Some(TokenFault::status(500)));
    for _ in 0..2 {
        let (status, retry_after, _) = client_credentials(&idp).await;
        assert_eq!((status, retry_after), (500, None));
    }
    idp.set_token_fault(Some(TokenFault::unavailable(Some(Duration::from_secs(7)))));
    let (status, retry_after, _) = client_credentials(&idp).await;
    assert_eq!((status, retry_after.as_deref()), (503, Some("7")));
    idp.set_token_fault(None);
    assert_eq!(client_credentials(&idp).await.0, 200);
    assert_eq!(idp.token_requests(Grant::ClientCredentials), 6);
}

#[tokio::test]
async fn obo_claims_challenge_is_interaction_required_with_claims() {
    let idp = Emulator::builder().auto_login(ALICE).start().await.unwrap();
    let incoming = frontend_token(&idp).await;
    let middle = idp.app("obo-example-internal-api");
    let obo = |assertion: String| {
        let idp = &idp;
        async move {
            post(
                idp,
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                    ("client_id", middle.client_id()),
                    ("client_secret", middle.secret()),
                    ("assertion", &assertion),
                    ("scope", "api://shared-documents/Documents.Read"),
                    ("requested_token_use", "on_behalf_of"),
                ],
            )
            .await
        }
    };
    let claims = r#"{"access_token":{"acrs":{"essential":true,"value":"c1"}}}"#;
    idp.set_obo_claims_challenge(Some(claims));
    let (status, _, body) = obo(incoming.clone()).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "interaction_required");
    assert_eq!(body["error_codes"][0], 50076);
    assert_eq!(body["claims"], claims);
    // The assertion is still checked first.
    let (_, _, body) = obo("not.a.token".to_owned()).await;
    assert_eq!(body["error_codes"][0], 50013);

    idp.set_obo_claims_challenge(None);
    let (status, _, body) = obo(incoming).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn refresh_in_is_added_to_token_responses_when_set() {
    let idp = Emulator::start().await;
    let (_, _, body) = client_credentials(&idp).await;
    assert!(body.get("refresh_in").is_none());
    idp.set_refresh_in(Some(Duration::from_secs(1800)));
    let (_, _, body) = client_credentials(&idp).await;
    assert_eq!(body["refresh_in"], 1800);
    idp.set_refresh_in(None);
    let (_, _, body) = client_credentials(&idp).await;
    assert!(body.get("refresh_in").is_none());
}
