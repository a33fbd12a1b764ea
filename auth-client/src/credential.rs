//! Client credentials: a secret, a certificate (signed client assertions), or a federated
//! assertion (a file read on every use, or a callback). Secrets and certificates may come from
//! files that are re-read when they change (`file_source`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use base64::Engine as _;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::cache::BoxFuture;
use crate::error::{BuildError, Error};
use crate::file_source::{self, FileSource};
use crate::random;
use crate::redact::REDACTED;

/// `client_assertion_type` of every client assertion (RFC 7523).
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lifetime of a signed client assertion: 10 minutes, as MSAL signs them. A fresh one is
/// signed for every request, so it never needs to live longer.
const ASSERTION_LIFETIME: u64 = 600;

/// A boxed error, as assertion callbacks return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Called with the audience (the token endpoint URL) the assertion must name.
type AssertionCallback =
    Arc<dyn Fn(String) -> BoxFuture<'static, Result<String, BoxError>> + Send + Sync>;

/// The signature algorithm of certificate client assertions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AssertionAlgorithm {
    /// RSASSA-PSS with SHA-256, header `x5t#S256` (the SHA-256 thumbprint). The default, and
    /// what Entra recommends.
    #[default]
    Ps256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, header `x5t` (the SHA-1 thumbprint), for identity
    /// providers without PS256.
    Rs256,
    /// ECDSA P-256 with SHA-256, for an EC private key
    /// ([`private_key_pem`](crate::ConfidentialClientBuilder::private_key_pem)).
    Es256,
}

impl AssertionAlgorithm {
    /// The JWS `alg` name.
    pub fn name(self) -> &'static str {
        match self {
            AssertionAlgorithm::Ps256 => "PS256",
            AssertionAlgorithm::Rs256 => "RS256",
            AssertionAlgorithm::Es256 => "ES256",
        }
    }
}

/// A plain private key and its key id, for `private_key_jwt` with providers that register a
/// client's public key (or JWKS) rather than a certificate: RSA (RS256, PS256) or EC P-256
/// (ES256). The assertion's header carries `kid`. `Debug` shows the key type and `kid` only.
#[derive(Clone)]
pub struct ClientPrivateKey {
    key: SigningKey,
    kid: String,
}

#[derive(Clone)]
enum SigningKey {
    Rsa(Arc<RsaKeyPair>),
    Ec(Arc<EcdsaKeyPair>),
}

impl ClientPrivateKey {
    /// From a PEM private key (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1
    /// `EC PRIVATE KEY`) and the `kid` the provider knows its public key by.
    ///
    /// # Errors
    /// [`BuildError::Certificate`] when the key cannot be read, is encrypted, is RSA shorter
    /// than 2048 bits, or is EC on another curve than P-256; or when `kid` is empty.
    pub fn from_pem(key_pem: &str, kid: &str) -> Result<Self, BuildError> {
        let bad = |m: &str| BuildError::Certificate(m.to_owned());
        if kid.trim().is_empty() {
            return Err(bad(
                "the private key needs the kid the provider knows it by",
            ));
        }
        if key_pem.contains("ENCRYPTED PRIVATE KEY") {
            return Err(bad(
                "encrypted private keys are not supported: decrypt it first",
            ));
        }
        let der = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|_| {
            bad("the PEM has no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY section")
        })?;
        let key = match &der {
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der())
                .map(|k| SigningKey::Rsa(Arc::new(k)))
                .map_err(|_| bad("the RSA private key is not usable (2048 bits or more)"))?,
            PrivateKeyDer::Sec1(der) => EcdsaKeyPair::from_private_key_der(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                der.secret_sec1_der(),
            )
            .map(|k| SigningKey::Ec(Arc::new(k)))
            .map_err(|_| bad("the EC private key is not a P-256 key"))?,
            PrivateKeyDer::Pkcs8(der) => {
                let bytes = der.secret_pkcs8_der();
                match RsaKeyPair::from_pkcs8(bytes) {
                    Ok(k) => SigningKey::Rsa(Arc::new(k)),
                    Err(_) => EcdsaKeyPair::from_pkcs8(
                        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        bytes,
                    )
                    .map(|k| SigningKey::Ec(Arc::new(k)))
                    .map_err(|_| {
                        bad("the private key is neither RSA (2048 bits or more) nor EC P-256")
                    })?,
                }
            }
            _ => return Err(bad("unsupported private key format")),
        };
        Ok(ClientPrivateKey {
            key,
            kid: kid.trim().to_owned(),
        })
    }

    /// The key id sent as `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm when none is configured: from the provider's
    /// `token_endpoint_auth_signing_alg_values_supported` (OIDC Discovery §3): ES256 for an EC
    /// key; for RSA, RS256 when advertised (or nothing is advertised: RS256 is OIDC's
    /// mandatory-to-implement algorithm), else PS256 when advertised.
    pub(crate) fn algorithm(&self, advertised: &[String]) -> Result<AssertionAlgorithm, Error> {
        let offered = |name: &str| advertised.is_empty() || advertised.iter().any(|a| a == name);
        match self.key {
            SigningKey::Ec(_) if offered("ES256") => Ok(AssertionAlgorithm::Es256),
            SigningKey::Rsa(_) if offered("RS256") => Ok(AssertionAlgorithm::Rs256),
            SigningKey::Rsa(_) if offered("PS256") => Ok(AssertionAlgorithm::Ps256),
            _ => Err(Error::Credential(format!(
                "the provider's token_endpoint_auth_signing_alg_values_supported ({}) has no \
                 algorithm for this key; set assertion_algorithm(..)",
                advertised.join(", ")
            ))),
        }
    }

    /// Signs a client assertion (RFC 7523 §3) with `kid` in the header.
    pub(crate) fn sign_assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: u64,
        algorithm: AssertionAlgorithm,
    ) -> Result<String, Error> {
        let mut header = serde_json::Map::new();
        header.insert("alg".into(), algorithm.name().into());
        header.insert("typ".into(), "JWT".into());
        header.insert("kid".into(), self.kid.clone().into());
        let input = assertion_input(header, client_id, audience, now)?;
        let failed = || Error::Credential("signing the client assertion failed".to_owned());
        let sig = match (&self.key, algorithm) {
            (SigningKey::Rsa(key), AssertionAlgorithm::Ps256 | AssertionAlgorithm::Rs256) => {
                let padding: &'static dyn signature::RsaEncoding =
                    if algorithm == AssertionAlgorithm::Ps256 {
                        &signature::RSA_PSS_SHA256
                    } else {
                        &signature::RSA_PKCS1_SHA256
                    };
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(padding, &SystemRandom::new(), input.as_bytes(), &mut sig)
                    .map_err(|_| failed())?;
                sig
            }
            (SigningKey::Ec(key), AssertionAlgorithm::Es256) => key
                .sign(&SystemRandom::new(), input.as_bytes())
                .map_err(|_| failed())?
                .as_ref()
                .to_vec(),
            _ => {
                return Err(Error::Credential(format!(
                    "{} cannot be signed with this key type",
                    algorithm.name()
                )));
            }
        };
        Ok(format!("{input}.{}", random::b64url(sig)))
    }
}

impl fmt::Debug for ClientPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.key {
            SigningKey::Rsa(_) => "RSA",
            SigningKey::Ec(_) => "EC P-256",
        };
        f.debug_struct("ClientPrivateKey")
            .field("type", &kind)
            .field("kid", &self.kid)
            .field("private_key", &REDACTED)
            .finish()
    }
}

/// `{header}.{claims}` of a client assertion: `aud` = the token endpoint, `iss` = `sub` = the
/// client id, a random `jti`, `nbf` = `iat` = now, `exp` = now + 10 minutes.
fn assertion_input(
    header: serde_json::Map<String, serde_json::Value>,
    client_id: &str,
    audience: &str,
    now: u64,
) -> Result<String, Error> {
    let claims = serde_json::json!({
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": random::guid()?,
        "nbf": now,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME,
    });
    Ok(format!(
        "{}.{}",
        random::b64url(serde_json::Value::Object(header).to_string()),
        random::b64url(claims.to_string())
    ))
}

/// An X.509 certificate and its RSA private key, for signed client assertions
/// (`private_key_jwt`).
///
/// Parsed from PEM: certificates (`CERTIFICATE`, the leaf first or in any order: the leaf is
/// the one whose key is the private key) and one private key (PKCS#8 `PRIVATE KEY` or PKCS#1
/// `RSA PRIVATE KEY`; encrypted keys are refused). Keys shorter than 2048 bits are refused.
/// `Debug` shows the thumbprints only.
///
/// ```
/// use auth_client::ClientCertificate;
/// let err = ClientCertificate::from_pem("no certificate here", "nor a key").unwrap_err();
/// assert!(err.to_string().contains("no CERTIFICATE"));
/// ```
#[derive(Clone)]
pub struct ClientCertificate {
    /// The leaf first; never empty.
    chain: Vec<Vec<u8>>,
    key: Arc<RsaKeyPair>,
    x5t: String,
    x5t_s256: String,
}

impl ClientCertificate {
    /// From a PEM certificate (or chain) and a PEM private key.
    ///
    /// # Errors
    /// [`BuildError::Certificate`] when either cannot be parsed, the key is not RSA (or too
    /// short), or the key does not belong to any of the certificates.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, BuildError> {
        let bad = |m: String| BuildError::Certificate(m);
        let certs: Vec<Vec<u8>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .map(|c| c.map(|c| c.as_ref().to_vec()))
            .collect::<Result<_, _>>()
            .map_err(|e| bad(format!("the certificate PEM cannot be read: {e}")))?;
        if certs.is_empty() {
            return Err(bad("the PEM has no CERTIFICATE section".to_owned()));
        }
        if key_pem.contains("ENCRYPTED PRIVATE KEY") {
            return Err(bad(
                "encrypted private keys are not supported: decrypt it first (e.g. `openssl pkey \
                 -in key.pem -out plain.pem`) and protect the file instead"
                    .to_owned(),
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|_| bad("the PEM has no PRIVATE KEY or RSA PRIVATE KEY section".to_owned()))?;
        let key = match &key {
            PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
            _ => {
                return Err(bad(
                    "only RSA private keys are supported (Entra client certificates are RSA)"
                        .to_owned(),
                ));
            }
        }
        .map_err(|e| bad(format!("the private key is not a usable RSA key ({e})")))?;
        // The SubjectPublicKeyInfo of the matching certificate embeds the key's RSAPublicKey
        // DER verbatim.
        let public = key.public_key().as_ref();
        let leaf = certs
            .iter()
            .position(|der| der.windows(public.len()).any(|w| w == public))
            .ok_or_else(|| {
                bad(
                    "the private key does not belong to the certificate (or any in the chain)"
                        .to_owned(),
                )
            })?;
        let mut chain = certs;
        let leaf_der = chain.remove(leaf);
        // Invariant from here on: `chain` is not empty and `chain[0]` is the leaf.
        chain.insert(0, leaf_der);
        let x5t = random::b64url(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &chain[0]));
        let x5t_s256 = random::b64url(digest::digest(&digest::SHA256, &chain[0]));
        Ok(ClientCertificate {
            chain,
            key: Arc::new(key),
            x5t,
            x5t_s256,
        })
    }

    /// From one PEM holding the certificate(s) and the private key (the format of
    /// `AZURE_CLIENT_CERTIFICATE_PATH`).
    ///
    /// # Errors
    /// As [`from_pem`](Self::from_pem).
    pub fn from_pem_bundle(pem: &str) -> Result<Self, BuildError> {
        Self::from_pem(pem, pem)
    }

    /// From a PEM file holding the certificate(s) and the private key.
    ///
    /// # Errors
    /// [`BuildError::Certificate`] when the file cannot be read, or as
    /// [`from_pem`](Self::from_pem).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, BuildError> {
        let path = path.as_ref();
        let pem = std::fs::read_to_string(path)
            .map_err(|e| BuildError::Certificate(format!("cannot read {}: {e}", path.display())))?;
        Self::from_pem_bundle(&pem)
    }

    /// The SHA-1 thumbprint of the certificate, base64url (`x5t`). Entra's portal shows it in
    /// hex: compare with [`thumbprint_hex`](Self::thumbprint_hex).
    pub fn x5t(&self) -> &str {
        &self.x5t
    }

    /// The SHA-256 thumbprint of the certificate, base64url (`x5t#S256`).
    pub fn x5t_s256(&self) -> &str {
        &self.x5t_s256
    }

    /// The SHA-1 thumbprint in uppercase hex, as the Entra admin center shows it.
    pub fn thumbprint_hex(&self) -> String {
        // `chain[0]` is the leaf: the constructor never builds an empty chain.
        digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &self.chain[0])
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    /// Signs a client assertion: `aud` = the token endpoint, `iss` = `sub` = the client id,
    /// a random `jti`, `nbf` = `iat` = now, `exp` = now + 10 minutes.
    pub(crate) fn sign_assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: u64,
        algorithm: AssertionAlgorithm,
        send_chain: bool,
    ) -> Result<String, Error> {
        let mut header = serde_json::Map::new();
        let padding: &'static dyn signature::RsaEncoding = match algorithm {
            AssertionAlgorithm::Ps256 => {
                header.insert("alg".into(), "PS256".into());
                header.insert("typ".into(), "JWT".into());
                header.insert("x5t#S256".into(), self.x5t_s256.clone().into());
                &signature::RSA_PSS_SHA256
            }
            AssertionAlgorithm::Rs256 => {
                header.insert("alg".into(), "RS256".into());
                header.insert("typ".into(), "JWT".into());
                header.insert("x5t".into(), self.x5t.clone().into());
                &signature::RSA_PKCS1_SHA256
            }
            AssertionAlgorithm::Es256 => {
                return Err(Error::Credential(
                    "certificates hold RSA keys here: ES256 needs private_key_pem(..) with an EC \
                     key"
                    .to_owned(),
                ));
            }
        };
        if send_chain {
            let x5c: Vec<serde_json::Value> = self
                .chain
                .iter()
                .map(|der| base64::engine::general_purpose::STANDARD.encode(der).into())
                .collect();
            header.insert("x5c".into(), x5c.into());
        }
        let input = assertion_input(header, client_id, audience, now)?;
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(padding, &SystemRandom::new(), input.as_bytes(), &mut sig)
            .map_err(|_| Error::Credential("signing the client assertion failed".to_owned()))?;
        Ok(format!("{input}.{}", random::b64url(sig)))
    }
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t", &self.x5t)
            .field("x5t#S256", &self.x5t_s256)
            .field("chain_len", &self.chain.len())
            .field("private_key", &REDACTED)
            .finish()
    }
}

/// How a confidential client authenticates: one of a client secret, a certificate, or a
/// federated assertion. `Debug` never shows a secret or an assertion.
///
/// ```
/// use auth_client::ClientCredential;
///
/// let secret = ClientCredential::secret("s3cr3t");
/// assert!(!format!("{secret:?}").contains("s3cr3t"));
///
/// // Workload identity (AKS): the projected service-account token, read on every use.
/// let federated = ClientCredential::federated_token_file("/var/run/secrets/azure/tokens/azure-identity-token");
/// // Or any source of assertions.
/// // Or any source of assertions; the callback is told the audience (the token endpoint).
/// let callback = ClientCredential::assertion_callback(|_audience: String| async {
///     Ok::<_, std::io::Error>("eyJ…".to_owned())
/// });
/// ```
#[derive(Clone)]
pub struct ClientCredential(Kind);

#[derive(Clone)]
enum Kind {
    Secret(String),
    SecretFile(Arc<FileSource<String>>),
    Certificate(ClientCertificate),
    CertificateFile(Arc<FileSource<ClientCertificate>>),
    PrivateKey(ClientPrivateKey),
    FederatedFile(PathBuf),
    Callback(AssertionCallback),
}

impl ClientCredential {
    /// A client secret (`client_secret_post` by default, or `client_secret_basic`).
    pub fn secret(secret: impl Into<String>) -> Self {
        ClientCredential(Kind::Secret(secret.into()))
    }

    /// A certificate: a client assertion signed with its key, fresh for every request.
    pub fn certificate(certificate: ClientCertificate) -> Self {
        ClientCredential(Kind::Certificate(certificate))
    }

    /// A certificate from a PEM file holding the certificate(s) and the private key (as
    /// [`ClientCertificate::from_file`]), **re-read when the file changes**: a renewed
    /// certificate is used from the next token request on, without a restart. The file is
    /// read before every token request (not before cached tokens); a changed file replaces the
    /// certificate in use only once it parses, so a half-written or garbage file leaves the
    /// previous certificate working (logged at `warn`, naming the file, never its content).
    /// Register the new certificate in the app registration before swapping the file.
    ///
    /// # Errors
    /// [`BuildError::Certificate`] when the file cannot be read or parsed now.
    pub fn certificate_file(path: impl AsRef<Path>) -> Result<Self, BuildError> {
        FileSource::open(path.as_ref(), "certificate", parse_certificate)
            .map(|source| ClientCredential(Kind::CertificateFile(Arc::new(source))))
            .map_err(BuildError::Certificate)
    }

    /// A client secret read from a file (a mounted Kubernetes secret, Key Vault's CSI driver),
    /// **re-read when the file changes**, as [`certificate_file`](Self::certificate_file) is:
    /// the new secret is sent from the next token request on. The file holds the secret's
    /// value; surrounding whitespace is trimmed, and a file that is empty, not UTF-8, or holds
    /// whitespace or characters other than visible ASCII inside the secret (Entra's secrets are
    /// visible ASCII) is refused, leaving the previous secret in use. A secret cut short is
    /// still a valid-looking secret: replace the file atomically (write, then rename), as
    /// Kubernetes does.
    ///
    /// # Errors
    /// [`BuildError::SecretFile`] when the file cannot be read or holds no usable secret now.
    pub fn secret_file(path: impl AsRef<Path>) -> Result<Self, BuildError> {
        FileSource::open(path.as_ref(), "client secret", file_source::parse_secret)
            .map(|source| ClientCredential(Kind::SecretFile(Arc::new(source))))
            .map_err(BuildError::SecretFile)
    }

    /// A plain private key and its `kid` (`private_key_jwt` with a registered public key): a
    /// client assertion signed fresh for every request.
    pub fn private_key(key: ClientPrivateKey) -> Self {
        ClientCredential(Kind::PrivateKey(key))
    }

    /// A federated credential read from this file on every use (Kubernetes projects a fresh
    /// service-account token into it: `AZURE_FEDERATED_TOKEN_FILE`).
    pub fn federated_token_file(path: impl Into<PathBuf>) -> Self {
        ClientCredential(Kind::FederatedFile(path.into()))
    }

    /// A client assertion produced by `callback` for every request, given the audience it
    /// must name (the token endpoint URL): a federated token (another identity provider's, a
    /// managed identity's token for `api://AzureADTokenExchange`), or an assertion signed
    /// elsewhere (an HSM, a key vault).
    pub fn assertion_callback<F, Fut, E>(callback: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<String, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        let callback: AssertionCallback = Arc::new(move |audience| {
            let fut = callback(audience);
            Box::pin(async move { fut.await.map_err(Into::into) })
        });
        ClientCredential(Kind::Callback(callback))
    }

    /// A managed identity as the app's federated credential (no secret anywhere): its token for
    /// [`TOKEN_EXCHANGE_AUDIENCE`](crate::TOKEN_EXCHANGE_AUDIENCE) (`api://AzureADTokenExchange`,
    /// the public cloud's) is the client assertion. The app registration needs a federated
    /// identity credential trusting that identity
    /// (<https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity>).
    pub fn managed_identity(identity: crate::ManagedIdentity) -> Self {
        Self::managed_identity_for(identity, crate::TOKEN_EXCHANGE_AUDIENCE)
    }

    /// [`managed_identity`](Self::managed_identity) with another token-exchange audience
    /// (`api://AzureADTokenExchangeUSGov`, `api://AzureADTokenExchangeChina`).
    pub fn managed_identity_for(identity: crate::ManagedIdentity, audience: &str) -> Self {
        let audience = audience.to_owned();
        Self::assertion_callback(move |_token_endpoint| {
            let identity = identity.clone();
            let audience = audience.clone();
            async move {
                identity
                    .acquire_token(&audience)
                    .await
                    .map(crate::AccessToken::into_secret)
            }
        })
    }

    /// The client secret, for `client_secret_post` / `client_secret_basic` (a secret file's
    /// current one).
    pub(crate) async fn client_secret(&self) -> Option<String> {
        match &self.0 {
            Kind::Secret(s) => Some(s.clone()),
            Kind::SecretFile(source) => Some(source.current().await.as_ref().clone()),
            _ => None,
        }
    }

    /// The client assertion for this request, or `None` for a secret.
    pub(crate) async fn assertion(
        &self,
        client_id: &str,
        audience: &str,
        now: u64,
        algorithm: Option<AssertionAlgorithm>,
        advertised: &[String],
        send_chain: bool,
    ) -> Result<Option<String>, Error> {
        let assertion = match &self.0 {
            Kind::Secret(_) | Kind::SecretFile(_) => return Ok(None),
            Kind::Certificate(cert) => cert.sign_assertion(
                client_id,
                audience,
                now,
                algorithm.unwrap_or_default(),
                send_chain,
            )?,
            Kind::CertificateFile(source) => source.current().await.sign_assertion(
                client_id,
                audience,
                now,
                algorithm.unwrap_or_default(),
                send_chain,
            )?,
            Kind::PrivateKey(key) => {
                let algorithm = match algorithm {
                    Some(algorithm) => algorithm,
                    None => key.algorithm(advertised)?,
                };
                key.sign_assertion(client_id, audience, now, algorithm)?
            }
            Kind::FederatedFile(path) => {
                let text = tokio::fs::read_to_string(path).await.map_err(|e| {
                    Error::Credential(format!(
                        "the federated token file {} cannot be read: {e}",
                        path.display()
                    ))
                })?;
                text.trim().to_owned()
            }
            Kind::Callback(callback) => callback(audience.to_owned()).await.map_err(|e| {
                Error::Credential(format!("the client assertion callback failed: {e}"))
            })?,
        };
        if assertion.is_empty() {
            return Err(Error::Credential(
                "the federated client assertion is empty".to_owned(),
            ));
        }
        Ok(Some(assertion))
    }
}

/// A certificate file's bytes: PEM text with the certificate(s) and the private key.
fn parse_certificate(bytes: &[u8]) -> Result<ClientCertificate, String> {
    let pem = std::str::from_utf8(bytes).map_err(|_| "the file is not PEM text".to_owned())?;
    ClientCertificate::from_pem_bundle(pem).map_err(|e| match e {
        BuildError::Certificate(reason) => reason,
        other => other.to_string(),
    })
}

impl fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Secret(_) => f.write_str("ClientCredential::Secret([redacted])"),
            Kind::SecretFile(source) => f
                .debug_tuple("ClientCredential::SecretFile")
                .field(&source.path())
                .finish(),
            Kind::CertificateFile(source) => f
                .debug_tuple("ClientCredential::CertificateFile")
                .field(&source.path())
                .finish(),
            Kind::Certificate(c) => f
                .debug_tuple("ClientCredential::Certificate")
                .field(c)
                .finish(),
            Kind::PrivateKey(k) => f
                .debug_tuple("ClientCredential::PrivateKey")
                .field(k)
                .finish(),
            Kind::FederatedFile(p) => f
                .debug_tuple("ClientCredential::FederatedTokenFile")
                .field(p)
                .finish(),
            Kind::Callback(_) => f.write_str("ClientCredential::AssertionCallback"),
        }
    }
}
