//! Rotation without restart: a certificate file and a secret file swapped under a running
//! client. The next token request after the swap authenticates with the new credential; a
//! half-written or garbage file leaves the previous one working.

mod common;

use std::path::PathBuf;

use auth_client::{ClientCredential, ConfidentialClient, Error, TokenRequest};
use auth_testkit::TestKey;
use auth_testkit::emulator::{DEFAULT_TENANT_TOML, Emulator, TenantConfig};
use common::S2S_SCOPE;

/// A self-signed certificate for `key`, and the PEM bundle (certificate, then key) a
/// certificate file holds.
fn bundle(key: &TestKey, name: &str) -> (String, String) {
    let key_pem = key.private_key_pem();
    let pair = rcgen::KeyPair::from_pem_and_sign_algo(&key_pem, &rcgen::PKCS_RSA_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .self_signed(&pair)
        .unwrap()
        .pem();
    let bundle = format!("{cert}{key_pem}");
    (cert, bundle)
}

/// The default tenant plus `rotating-daemon`: two certificates (the old and the renewed one)
/// and two secrets registered, as during a rotation, with `Files.Write` on the S2S API.
async fn emulator(old_cert: &str, new_cert: &str) -> Emulator {
    let text = format!(
        r#"{DEFAULT_TENANT_TOML}
[[apps]]
name = "rotating-daemon"
certificates = ['''{old_cert}''', '''{new_cert}''']
secrets = ["old-secret~1", "new-secret~2"]
[[apps.required_resource_access]]
resource = "s2s-example-api"
roles = ["Files.Write"]
admin_consent = true
"#
    );
    Emulator::builder()
        .tenant(TenantConfig::from_toml_str(&text).unwrap())
        .start()
        .await
        .unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auth-client-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Replaces the file as an operator (or Kubernetes) does: written aside, renamed into place.
fn swap(path: &PathBuf, content: impl AsRef<[u8]>) {
    let aside = path.with_extension("new");
    std::fs::write(&aside, content).unwrap();
    std::fs::rename(&aside, path).unwrap();
}

/// A token request that skips the cache: it authenticates with the credential now.
async fn authenticate(client: &ConfidentialClient) -> Result<(), Error> {
    client
        .acquire_token_for_client_with(&TokenRequest::new([S2S_SCOPE]).force_refresh())
        .await
        .map(|_| ())
}

fn client(idp: &Emulator, credential: ClientCredential) -> ConfidentialClient {
    ConfidentialClient::builder()
        .authority(idp.authority())
        .client_id(idp.app("rotating-daemon").client_id())
        .credential(credential)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_swapped_certificate_file_is_used_from_the_next_request_and_garbage_keeps_the_old_one() {
    let (old_cert, old_bundle) = bundle(TestKey::rsa_a(), "rotating-daemon-2025");
    let (new_cert, new_bundle) = bundle(TestKey::rsa_b(), "rotating-daemon-2026");
    // A certificate the app registration does not know.
    let (_, unknown_bundle) = bundle(TestKey::rsa_untrusted(), "someone-else");
    let idp = emulator(&old_cert, &new_cert).await;
    let dir = temp_dir("cert-rotation");
    let path = dir.join("client.pem");
    std::fs::write(&path, &old_bundle).unwrap();
    let client = client(&idp, ClientCredential::certificate_file(&path).unwrap());
    authenticate(&client).await.expect("the old certificate");

    // Swapped for a certificate the registration does not trust: the very next request uses
    // it, and Entra refuses it (AADSTS700027) — proof that the file was read again.
    swap(&path, &unknown_bundle);
    let err = authenticate(&client).await.unwrap_err();
    assert!(err.is_invalid_client(), "{err}");
    assert_eq!(err.aadsts_codes(), [700027], "{err}");

    // The renewed certificate: works without a restart.
    swap(&path, &new_bundle);
    authenticate(&client)
        .await
        .expect("the renewed certificate");

    // Half-written (the key cut off) and garbage files keep the renewed certificate working.
    let half = &new_bundle[..new_bundle.len() * 2 / 3];
    std::fs::write(&path, half).unwrap();
    authenticate(&client)
        .await
        .expect("a half-written file keeps the certificate in use");
    std::fs::write(&path, b"\x00\x01 not a PEM \xff").unwrap();
    authenticate(&client)
        .await
        .expect("a garbage file keeps the certificate in use");
    std::fs::remove_file(&path).unwrap();
    authenticate(&client)
        .await
        .expect("a file removed mid-swap keeps the certificate in use");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_swapped_secret_file_is_used_from_the_next_request_and_garbage_keeps_the_old_one() {
    let (old_cert, _) = bundle(TestKey::rsa_a(), "rotating-daemon-2025");
    let (new_cert, _) = bundle(TestKey::rsa_b(), "rotating-daemon-2026");
    let idp = emulator(&old_cert, &new_cert).await;
    let dir = temp_dir("secret-rotation");
    let path = dir.join("client-secret");
    std::fs::write(&path, "old-secret~1\n").unwrap();
    let credential = ClientCredential::secret_file(&path).unwrap();
    assert!(!format!("{credential:?}").contains("old-secret"));
    let client = client(&idp, credential);
    authenticate(&client).await.expect("the old secret");

    // A wrong secret: the next request sends it, and Entra refuses it (AADSTS7000215).
    swap(&path, "not-the-secret");
    let err = authenticate(&client).await.unwrap_err();
    assert_eq!(err.aadsts_codes(), [7000215], "{err}");

    // The new secret: works without a restart.
    swap(&path, "new-secret~2\n");
    authenticate(&client).await.expect("the new secret");

    // An empty file (caught mid-write), binary garbage, two words: the new secret stays.
    for garbage in [&b""[..], b"\xff\xfe\x00", b"two words"] {
        std::fs::write(&path, garbage).unwrap();
        authenticate(&client)
            .await
            .expect("an unusable file keeps the secret in use");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unusable_files_are_refused_at_build_without_their_content() {
    let dir = temp_dir("rotation-build");
    let path = dir.join("bad");
    std::fs::write(&path, "hunter2 hunter2").unwrap();
    let err = ClientCredential::secret_file(&path).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let err = ClientCredential::certificate_file(&path).unwrap_err();
    assert!(err.to_string().contains("CERTIFICATE"), "{err}");
    assert!(ClientCredential::secret_file(dir.join("missing")).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
