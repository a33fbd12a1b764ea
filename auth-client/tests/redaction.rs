//! Secrets and tokens never appear in `Debug` output, error messages or logs.

mod common;

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_client::{
    AuthorizationRequest, CachedToken, ClientCertificate, ClientCredential, ConfidentialClient,
};
use auth_testkit::emulator::TokenFault;
use common::*;
use tracing::field::{Field, Visit};
use tracing::span;

/// Records every event and span field, at every level, as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Visitor<'a>(&'a mut String);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &span::Attributes<'_>) -> span::Id {
        span.record(&mut Visitor(&mut self.0.lock().unwrap()));
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, values: &span::Record<'_>) {
        values.record(&mut Visitor(&mut self.0.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = self.0.lock().unwrap();
        let _ = write!(
            text,
            "\n{} {}: ",
            event.metadata().level(),
            event.metadata().target()
        );
        event.record(&mut Visitor(&mut text));
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

fn assert_absent(haystack: &str, secrets: &[(&str, &str)]) {
    for (what, secret) in secrets {
        assert!(!secret.is_empty());
        assert!(
            !haystack.contains(secret),
            "{what} leaked into:\n{haystack}"
        );
    }
}

#[tokio::test]
async fn secrets_and_tokens_are_absent_from_debug_output_errors_and_logs() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());

    let idp = extended_emulator().await;
    let mut debug = String::new();
    let mut secrets: Vec<(&str, String)> = Vec::new();

    // Client credentials with a secret; a wrong secret; a retried 500; throttling.
    let consumer = idp.app("s2s-example-consumer");
    let client = common::client(&idp, "s2s-example-consumer");
    secrets.push(("client secret", consumer.secret().to_owned()));
    let token = client.acquire_token_for_client(&[S2S_SCOPE]).await.unwrap();
    secrets.push(("app token", token.secret().to_owned()));
    writeln!(debug, "{client:?} {token:?}").unwrap();
    let wrong = ConfidentialClient::builder()
        .authority(idp.authority())
        .client_id(consumer.client_id())
        .client_secret("a-wrong-secret-value")
        .build()
        .unwrap();
    secrets.push(("wrong secret", "a-wrong-secret-value".to_owned()));
    let err = wrong
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap_err();
    writeln!(debug, "{wrong:?} {err:?} {err}").unwrap();
    idp.set_token_fault(Some(TokenFault::status(500).times(1)));
    client
        .acquire_token_for_client(&["api://obo-example-internal-api/.default"])
        .await
        .unwrap();
    idp.set_token_fault(Some(TokenFault::throttled(Duration::from_secs(5))));
    let err = client
        .acquire_token_for_client(&["api://shared-documents/.default"])
        .await
        .unwrap_err();
    writeln!(debug, "{err:?} {err}").unwrap();
    idp.set_token_fault(None);

    // A certificate.
    let (cert, key) = certificate();
    let certificate = ClientCertificate::from_pem(&cert, &key).unwrap();
    let key_body: String = key.lines().filter(|l| !l.starts_with("-----")).collect();
    secrets.push(("private key", key_body[..40].to_owned()));
    let cert_client = ConfidentialClient::builder()
        .authority(idp.authority())
        .client_id(idp.app("cert-daemon").client_id())
        .credential(ClientCredential::certificate(certificate.clone()))
        .build()
        .unwrap();
    cert_client
        .acquire_token_for_client(&[S2S_SCOPE])
        .await
        .unwrap();
    writeln!(debug, "{certificate:?} {cert_client:?}").unwrap();

    // Authorization code, refresh, On-Behalf-Of.
    let web = common::client(&idp, "auth-code-client");
    secrets.push((
        "web secret",
        idp.app("auth-code-client").secret().to_owned(),
    ));
    let start = web
        .authorization_url(AuthorizationRequest::new(WEB_REDIRECT).scopes([CASE_CREATE]))
        .await
        .unwrap();
    let verifier = serde_json::to_value(&start.session).unwrap()["code_verifier"]
        .as_str()
        .unwrap()
        .to_owned();
    secrets.push(("PKCE verifier", verifier));
    let callback = follow(&start.url).await;
    secrets.push(("authorization code", callback.code().unwrap().to_owned()));
    let tokens = web.redeem_code(&start.session, &callback).await.unwrap();
    secrets.push(("user access token", tokens.access_token.secret().to_owned()));
    let id = tokens.id_token.clone().unwrap();
    secrets.push(("ID token", id.raw().to_owned()));
    let refresh = tokens.refresh_token.clone().unwrap();
    secrets.push(("refresh token", refresh.secret().to_owned()));
    let refreshed = web.refresh(&refresh, &[CASE_CREATE]).await.unwrap();
    secrets.push((
        "rotated refresh token",
        refreshed
            .refresh_token
            .as_ref()
            .unwrap()
            .secret()
            .to_owned(),
    ));
    let replayed = web
        .redeem_code(&start.session, &callback)
        .await
        .unwrap_err();
    writeln!(
        debug,
        "{start:?} {callback:?} {tokens:?} {refreshed:?} {replayed:?} {replayed}"
    )
    .unwrap();

    let token_a = token_a(&idp).await;
    secrets.push(("inbound user token", token_a.clone()));
    let middle = common::client(&idp, "obo-example-internal-api");
    secrets.push((
        "middle-tier secret",
        idp.app("obo-example-internal-api").secret().to_owned(),
    ));
    let token_b = middle
        .acquire_token_on_behalf_of(&token_a, &[SHARED_READ])
        .await
        .unwrap();
    secrets.push(("OBO token", token_b.secret().to_owned()));
    idp.set_obo_claims_challenge(Some("{}"));
    let err = middle
        .acquire_token_on_behalf_of(&token_a, &["api://shared-documents/Documents.Write"])
        .await
        .unwrap_err();
    writeln!(debug, "{middle:?} {token_b:?} {err:?} {err}").unwrap();

    let entry = CachedToken::new(token_b.secret(), "Bearer", 1, None, vec![]);
    writeln!(debug, "{entry:?}").unwrap();

    let secrets: Vec<(&str, &str)> = secrets.iter().map(|(w, s)| (*w, s.as_str())).collect();
    assert_absent(&debug, &secrets);
    let logs = capture.0.lock().unwrap().clone();
    assert!(
        logs.contains("token request"),
        "the flows log at debug:\n{logs}"
    );
    assert!(
        logs.contains("WARN"),
        "throttling is logged at warn:\n{logs}"
    );
    assert_absent(&logs, &secrets);
}
