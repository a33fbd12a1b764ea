//! Deterministic test keys and the JWKS documents built from them.
//!
//! The private keys are checked in under `auth-testkit/keys/` (PKCS#8 DER,
//! with PEM copies) and embedded with `include_bytes!`, so every test run,
//! every machine and every engineer signs with the same keys, like rustls'
//! `test-ca/`. They are **public test material**: never trust them anywhere.
//! `cargo run -p auth-testkit --example regenerate_keys` regenerates them.
//!
//! | constructor                  | kind       | in [`default_jwks`] | meant for                                   |
//! |------------------------------|------------|---------------------|---------------------------------------------|
//! | [`TestKey::rsa_a`]           | RSA 2048   | yes                 | the default signing key                     |
//! | [`TestKey::rsa_b`]           | RSA 2048   | yes                 | key rotation                                |
//! | [`TestKey::ec_p256`]         | EC P-256   | yes                 | ES256 tokens                                |
//! | [`TestKey::rsa_untrusted`]   | RSA 2048   | no                  | the attacker's key                          |
//! | [`TestKey::rsa_1024`]        | RSA 1024   | no                  | a weak key a validator must drop at load    |
//!
//! Each key is parsed once (a [`OnceLock`] per key) and handed out as a
//! `&'static TestKey`, so the constructors are cheap enough to call anywhere.

use std::fmt;
use std::sync::OnceLock;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Map, Value, json};

use crate::base64url;

const RSA_A_PKCS8: &[u8] = include_bytes!("../keys/rsa-a.pkcs8.der");
const RSA_B_PKCS8: &[u8] = include_bytes!("../keys/rsa-b.pkcs8.der");
const RSA_UNTRUSTED_PKCS8: &[u8] = include_bytes!("../keys/rsa-untrusted.pkcs8.der");
const RSA_1024_PKCS8: &[u8] = include_bytes!("../keys/rsa-1024.pkcs8.der");
const EC_P256_PKCS8: &[u8] = include_bytes!("../keys/ec-p256.pkcs8.der");

/// RSA algorithms a [`TestKey`] of at least 2048 bits signs with.
const RSA_ALGS: &[&str] = &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
/// RSA algorithms the weak 1024-bit key signs with (PKCS#1 v1.5 only).
const WEAK_RSA_ALGS: &[&str] = &["RS256", "RS384", "RS512"];
/// Algorithms the P-256 key signs with.
const EC_ALGS: &[&str] = &["ES256"];

/// A checked-in, deterministic test key pair.
///
/// Get one with [`TestKey::rsa_a`], [`TestKey::rsa_b`],
/// [`TestKey::rsa_untrusted`], [`TestKey::rsa_1024`] or [`TestKey::ec_p256`].
///
/// ```
/// use auth_testkit::TestKey;
///
/// let key = TestKey::rsa_a();
/// assert_eq!(key.kid(), "testkit-rsa-a");
/// assert_eq!(key.jwk()["kty"], "RSA");
/// assert_eq!(key.sign("RS256", b"hello").len(), 256);
/// ```
pub struct TestKey {
    name: &'static str,
    kid: &'static str,
    pkcs8: &'static [u8],
    spki: Vec<u8>,
    x5t: String,
    material: Material,
}

enum Material {
    Rsa {
        /// `None` for keys below 2048 bits, which aws-lc-rs refuses to load;
        /// those sign through [`weak_rsa`].
        pair: Option<RsaKeyPair>,
        /// Modulus, big-endian, no leading zero.
        n: Vec<u8>,
        /// Public exponent, big-endian, no leading zero.
        e: Vec<u8>,
        /// Private exponent, big-endian, no leading zero.
        d: Vec<u8>,
        /// The PKCS#1 `RSAPublicKey` DER.
        pkcs1_public: Vec<u8>,
        /// The PKCS#1 `RSAPrivateKey` DER inside the PKCS#8 document.
        pkcs1_private: &'static [u8],
    },
    Ec {
        pair: EcdsaKeyPair,
        /// Uncompressed SEC1 point `0x04 || x || y`.
        point: Vec<u8>,
    },
}

impl TestKey {
    /// `rsa-a`: RSA 2048, kid `testkit-rsa-a`. The default signing key,
    /// published in [`default_jwks`].
    pub fn rsa_a() -> &'static TestKey {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(|| TestKey::load_rsa("rsa-a", "testkit-rsa-a", RSA_A_PKCS8))
    }

    /// `rsa-b`: RSA 2048, kid `testkit-rsa-b`. A second published key, for
    /// rotation tests.
    pub fn rsa_b() -> &'static TestKey {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(|| TestKey::load_rsa("rsa-b", "testkit-rsa-b", RSA_B_PKCS8))
    }

    /// `rsa-untrusted`: RSA 2048, kid `testkit-rsa-untrusted`. Never in
    /// [`default_jwks`]: the attacker's key.
    pub fn rsa_untrusted() -> &'static TestKey {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(|| {
            TestKey::load_rsa(
                "rsa-untrusted",
                "testkit-rsa-untrusted",
                RSA_UNTRUSTED_PKCS8,
            )
        })
    }

    /// `rsa-1024`: RSA 1024, kid `testkit-rsa-1024`. A weak key that a
    /// validator must drop when loading a JWKS. Not in [`default_jwks`].
    ///
    /// aws-lc-rs refuses RSA keys below 2048 bits, so this key signs
    /// (RS256/RS384/RS512 only) through a small, slow, test-only PKCS#1 v1.5
    /// implementation; its signatures verify with aws-lc-rs'
    /// `RSA_PKCS1_1024_8192_*_FOR_LEGACY_USE_ONLY`.
    pub fn rsa_1024() -> &'static TestKey {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(|| TestKey::load_rsa("rsa-1024", "testkit-rsa-1024", RSA_1024_PKCS8))
    }

    /// `ec-p256`: ECDSA P-256, kid `testkit-ec-p256`, signs ES256. Published
    /// in [`default_jwks`].
    pub fn ec_p256() -> &'static TestKey {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(|| TestKey::load_ec("ec-p256", "testkit-ec-p256", EC_P256_PKCS8))
    }

    /// Every test key: `rsa-a`, `rsa-b`, `rsa-untrusted`, `rsa-1024`, `ec-p256`.
    pub fn all() -> [&'static TestKey; 5] {
        [
            TestKey::rsa_a(),
            TestKey::rsa_b(),
            TestKey::rsa_untrusted(),
            TestKey::rsa_1024(),
            TestKey::ec_p256(),
        ]
    }

    /// The test key whose [`kid`](TestKey::kid) is `kid`, if any.
    ///
    /// ```
    /// use auth_testkit::TestKey;
    ///
    /// assert_eq!(TestKey::by_kid("testkit-rsa-b").unwrap().name(), "rsa-b");
    /// assert!(TestKey::by_kid("nope").is_none());
    /// ```
    pub fn by_kid(kid: &str) -> Option<&'static TestKey> {
        TestKey::all().into_iter().find(|key| key.kid == kid)
    }

    fn load_rsa(name: &'static str, kid: &'static str, pkcs8: &'static [u8]) -> TestKey {
        let parts = der::rsa_private_key_from_pkcs8(pkcs8).unwrap_or_else(|| {
            panic!("invariant: checked-in keys/{name}.pkcs8.der is a PKCS#8 RSA private key")
        });
        let pair = if parts.n.len() * 8 >= 2048 {
            Some(RsaKeyPair::from_pkcs8(pkcs8).unwrap_or_else(|err| {
                panic!("invariant: aws-lc-rs accepts checked-in keys/{name}.pkcs8.der: {err}")
            }))
        } else {
            None
        };
        let pkcs1_public = der::rsa_public_key(&parts.n, &parts.e);
        let spki = der::spki(der::RSA_ALGORITHM_ID, &pkcs1_public);
        TestKey {
            name,
            kid,
            pkcs8,
            x5t: thumbprint(&spki),
            spki,
            material: Material::Rsa {
                pair,
                n: parts.n,
                e: parts.e,
                d: parts.d,
                pkcs1_public,
                pkcs1_private: parts.pkcs1,
            },
        }
    }

    fn load_ec(name: &'static str, kid: &'static str, pkcs8: &'static [u8]) -> TestKey {
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .unwrap_or_else(|err| {
                panic!("invariant: checked-in keys/{name}.pkcs8.der is a PKCS#8 P-256 key: {err}")
            });
        let point = pair.public_key().as_ref().to_vec();
        assert_eq!(
            (point.len(), point.first()),
            (65, Some(&0x04)),
            "invariant: aws-lc-rs returns P-256 public keys as uncompressed SEC1 points"
        );
        let spki = der::spki(der::EC_P256_ALGORITHM_ID, &point);
        TestKey {
            name,
            kid,
            pkcs8,
            x5t: thumbprint(&spki),
            spki,
            material: Material::Ec { pair, point },
        }
    }

    /// The key's file name under `auth-testkit/keys/`, e.g. `"rsa-a"`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The key id published in the JWK and put in token headers, e.g.
    /// `"testkit-rsa-a"`.
    pub fn kid(&self) -> &'static str {
        self.kid
    }

    /// An Entra-style `x5t` for the key: 27 base64url characters (20 bytes,
    /// the size of the SHA-1 certificate thumbprint Entra publishes).
    ///
    /// The test keys have no certificate, so this is derived
    /// deterministically instead: the first 20 bytes of the SHA-256 of
    /// [`public_key_der`](TestKey::public_key_der). Unlike Entra, `kid` and
    /// `x5t` differ, so tests can tell which one a validator matched on.
    pub fn x5t(&self) -> &str {
        &self.x5t
    }

    /// The JWK `kty`: `"RSA"` or `"EC"`.
    pub fn kty(&self) -> &'static str {
        match self.material {
            Material::Rsa { .. } => "RSA",
            Material::Ec { .. } => "EC",
        }
    }

    /// The key size in bits: 2048 or 1024 for RSA (the modulus), 256 for P-256.
    pub fn bits(&self) -> usize {
        match &self.material {
            Material::Rsa { n, .. } => n.len() * 8,
            Material::Ec { .. } => 256,
        }
    }

    /// The algorithms [`sign`](TestKey::sign) accepts for this key.
    pub fn supported_algs(&self) -> &'static [&'static str] {
        match &self.material {
            Material::Rsa { pair: Some(_), .. } => RSA_ALGS,
            Material::Rsa { pair: None, .. } => WEAK_RSA_ALGS,
            Material::Ec { .. } => EC_ALGS,
        }
    }

    /// The public JWK, shaped like the keys Entra publishes: RSA keys have
    /// `kty`, `use: "sig"`, `kid`, `x5t`, `n`, `e` and **no** `alg`; the EC key
    /// has `kty: "EC"`, `use`, `kid`, `crv: "P-256"`, `x`, `y`.
    ///
    /// ```
    /// let jwk = auth_testkit::TestKey::rsa_a().jwk();
    /// assert_eq!(jwk["use"], "sig");
    /// assert_eq!(jwk["e"], "AQAB");
    /// assert!(jwk.get("alg").is_none());
    /// ```
    pub fn jwk(&self) -> Value {
        match &self.material {
            Material::Rsa { n, e, .. } => json!({
                "kty": "RSA",
                "use": "sig",
                "kid": self.kid,
                "x5t": self.x5t,
                "n": base64url(n),
                "e": base64url(e),
            }),
            Material::Ec { point, .. } => json!({
                "kty": "EC",
                "use": "sig",
                "kid": self.kid,
                "crv": "P-256",
                "x": base64url(&point[1..33]),
                "y": base64url(&point[33..65]),
            }),
        }
    }

    /// [`jwk`](TestKey::jwk), then `edit` applied to its members: for
    /// variants such as an `alg`, `use: "enc"`, `key_ops` or a missing `kid`.
    ///
    /// ```
    /// use serde_json::json;
    ///
    /// let jwk = auth_testkit::TestKey::rsa_a().jwk_with(|jwk| {
    ///     jwk.insert("alg".into(), json!("RS256"));
    ///     jwk.insert("use".into(), json!("enc"));
    ///     jwk.remove("x5t");
    /// });
    /// assert_eq!(jwk["alg"], "RS256");
    /// assert_eq!(jwk["use"], "enc");
    /// assert!(jwk.get("x5t").is_none());
    /// ```
    pub fn jwk_with(&self, edit: impl FnOnce(&mut Map<String, Value>)) -> Value {
        let mut jwk = self.jwk();
        if let Value::Object(members) = &mut jwk {
            edit(members);
        }
        jwk
    }

    /// The public key as X.509 `SubjectPublicKeyInfo` DER: the bytes an
    /// attacker would try as the HMAC secret in an algorithm-confusion attack.
    pub fn public_key_der(&self) -> &[u8] {
        &self.spki
    }

    /// [`public_key_der`](TestKey::public_key_der) as PEM
    /// (`-----BEGIN PUBLIC KEY-----`, 64-column lines, trailing newline), the
    /// other classic algorithm-confusion secret.
    pub fn public_key_pem(&self) -> String {
        pem("PUBLIC KEY", &self.spki)
    }

    /// For RSA keys, the PKCS#1 `RSAPublicKey` DER (`SEQUENCE { n, e }`); `None`
    /// for the EC key.
    pub fn public_key_pkcs1_der(&self) -> Option<&[u8]> {
        match &self.material {
            Material::Rsa { pkcs1_public, .. } => Some(pkcs1_public),
            Material::Ec { .. } => None,
        }
    }

    /// For RSA keys, the modulus `n` and public exponent `e`, big-endian
    /// without leading zeros; `None` for the EC key.
    pub fn rsa_public_components(&self) -> Option<(&[u8], &[u8])> {
        match &self.material {
            Material::Rsa { n, e, .. } => Some((n, e)),
            Material::Ec { .. } => None,
        }
    }

    /// For the EC key, the uncompressed SEC1 point `0x04 || x || y` (65 bytes);
    /// `None` for RSA keys.
    pub fn ec_public_point(&self) -> Option<&[u8]> {
        match &self.material {
            Material::Rsa { .. } => None,
            Material::Ec { point, .. } => Some(point),
        }
    }

    /// The private key as PKCS#8 DER: the checked-in `keys/<name>.pkcs8.der`.
    pub fn pkcs8_der(&self) -> &'static [u8] {
        self.pkcs8
    }

    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the
    /// same as `keys/<name>.pkcs8.pem`.
    pub fn private_key_pem(&self) -> String {
        pem("PRIVATE KEY", self.pkcs8)
    }

    /// For RSA keys, the private key as PKCS#1 `RSAPrivateKey` DER (the format
    /// some libraries' `from_rsa_der` expect); `None` for the EC key.
    pub fn private_key_pkcs1_der(&self) -> Option<&'static [u8]> {
        match &self.material {
            Material::Rsa { pkcs1_private, .. } => Some(pkcs1_private),
            Material::Ec { .. } => None,
        }
    }

    /// Signs `message` with JWS algorithm `alg`, returning the raw JWS
    /// signature bytes.
    ///
    /// RSA keys sign `RS256`, `RS384`, `RS512`, `PS256`, `PS384`, `PS512`
    /// (the 1024-bit key only the `RS*` ones); the EC key signs `ES256` in the
    /// JWS fixed-width `r || s` format (64 bytes). See
    /// [`supported_algs`](TestKey::supported_algs).
    ///
    /// # Panics
    ///
    /// On any other combination, with a message naming the key and the
    /// algorithms it supports: this is test code, a wrong combination is a bug
    /// in the test. HMAC and `none` tokens are built by
    /// [`crate::dangerous`].
    ///
    /// ```
    /// let sig = auth_testkit::TestKey::ec_p256().sign("ES256", b"header.payload");
    /// assert_eq!(sig.len(), 64);
    /// ```
    pub fn sign(&self, alg: &str, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match (&self.material, alg) {
            (
                Material::Rsa {
                    pair: Some(pair), ..
                },
                _,
            ) if RSA_ALGS.contains(&alg) => {
                let encoding: &'static dyn signature::RsaEncoding = match alg {
                    "RS256" => &signature::RSA_PKCS1_SHA256,
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    "RS512" => &signature::RSA_PKCS1_SHA512,
                    "PS256" => &signature::RSA_PSS_SHA256,
                    "PS384" => &signature::RSA_PSS_SHA384,
                    _ => &signature::RSA_PSS_SHA512,
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(encoding, &rng, message, &mut sig)
                    .unwrap_or_else(|err| panic!("aws-lc-rs failed to sign {alg}: {err}"));
                sig
            }
            (
                Material::Rsa {
                    pair: None, n, d, ..
                },
                _,
            ) if WEAK_RSA_ALGS.contains(&alg) => weak_rsa::sign_pkcs1_v15(alg, n, d, message),
            (Material::Ec { pair, .. }, "ES256") => pair
                .sign(&rng, message)
                .unwrap_or_else(|err| panic!("aws-lc-rs failed to sign ES256: {err}"))
                .as_ref()
                .to_vec(),
            _ => panic!(
                "TestKey::sign: the {} key `{}` cannot sign with alg {alg:?}; it supports {:?} \
                 (HMAC and `none` tokens are built by auth_testkit::dangerous)",
                self.kty(),
                self.name,
                self.supported_algs(),
            ),
        }
    }
}

impl fmt::Debug for TestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestKey")
            .field("name", &self.name)
            .field("kid", &self.kid)
            .field("kty", &self.kty())
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

/// The `x5t` of a key: base64url of the first 20 bytes of SHA-256(SPKI).
fn thumbprint(spki: &[u8]) -> String {
    let digest = digest::digest(&digest::SHA256, spki);
    base64url(&digest.as_ref()[..20])
}

/// PEM armour with 64-column lines.
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        // The base64 alphabet is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// `{"keys": [...]}` with the [`TestKey::jwk`] of each key, in order.
///
/// ```
/// use auth_testkit::{TestKey, jwks};
///
/// let doc = jwks(&[TestKey::rsa_a(), TestKey::rsa_untrusted()]);
/// assert_eq!(doc["keys"][1]["kid"], "testkit-rsa-untrusted");
/// ```
pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|key| key.jwk()).collect::<Vec<_>>() })
}

/// [`jwks`] serialized as JSON text, ready to serve or to feed to a key-set
/// parser.
pub fn jwks_json(keys: &[&TestKey]) -> String {
    jwks(keys).to_string()
}

/// The keys a test tenant publishes: `rsa-a`, `rsa-b` and `ec-p256` (not
/// `rsa-untrusted`, not `rsa-1024`).
pub fn default_keys() -> [&'static TestKey; 3] {
    [TestKey::rsa_a(), TestKey::rsa_b(), TestKey::ec_p256()]
}

/// [`jwks`] of [`default_keys`].
///
/// ```
/// let doc = auth_testkit::default_jwks();
/// let kids: Vec<_> = doc["keys"].as_array().unwrap().iter().map(|k| k["kid"].clone()).collect();
/// assert_eq!(kids, ["testkit-rsa-a", "testkit-rsa-b", "testkit-ec-p256"]);
/// ```
pub fn default_jwks() -> Value {
    jwks(&default_keys())
}

/// [`jwks_json`] of [`default_keys`].
pub fn default_jwks_json() -> String {
    jwks_json(&default_keys())
}

/// An `auth_layer::KeySet` loaded from [`jwks_json`] of `keys`, through the
/// same `KeySet::from_jwks_json` path production uses.
///
/// # Panics
///
/// If `auth_layer` rejects the whole document (it never should for test
/// keys; an individual weak key such as [`TestKey::rsa_1024`] is dropped by
/// the key set, not an error).
///
/// ```
/// use auth_testkit::{TestKey, keyset};
///
/// let set = keyset(&[TestKey::rsa_a()]);
/// assert!(set.contains_kid("testkit-rsa-a"));
/// ```
pub fn keyset(keys: &[&TestKey]) -> auth_layer::KeySet {
    auth_layer::KeySet::from_jwks_json(jwks_json(keys).as_bytes())
        .expect("invariant: auth_layer accepts a JWKS built from the testkit keys")
}

/// [`keyset`] of [`default_keys`].
pub fn default_keyset() -> auth_layer::KeySet {
    keyset(&default_keys())
}

/// Just enough DER to read PKCS#8 RSA keys and write public-key structures
/// and ECDSA signatures.
pub(crate) mod der {
    /// `AlgorithmIdentifier { rsaEncryption, NULL }` (contents of the SEQUENCE).
    pub(crate) const RSA_ALGORITHM_ID: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    /// `AlgorithmIdentifier { id-ecPublicKey, prime256v1 }` (contents of the SEQUENCE).
    pub(crate) const EC_P256_ALGORITHM_ID: &[u8] = &[
        0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
        0x3d, 0x03, 0x01, 0x07,
    ];

    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const BIT_STRING: u8 = 0x03;
    const OCTET_STRING: u8 = 0x04;

    /// A DER reader over a byte slice.
    struct Reader<'a>(&'a [u8]);

    impl<'a> Reader<'a> {
        /// Reads one element with tag `tag`, returning its contents.
        fn read(&mut self, tag: u8) -> Option<&'a [u8]> {
            let (&found, rest) = self.0.split_first()?;
            if found != tag {
                return None;
            }
            let (&first, mut rest) = rest.split_first()?;
            let len = if first < 0x80 {
                usize::from(first)
            } else {
                let count = usize::from(first & 0x7f);
                if count == 0 || count > 4 || rest.len() < count {
                    return None;
                }
                let (len_bytes, after) = rest.split_at(count);
                rest = after;
                len_bytes
                    .iter()
                    .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
            };
            if rest.len() < len {
                return None;
            }
            let (contents, after) = rest.split_at(len);
            self.0 = after;
            Some(contents)
        }
    }

    /// The parts of an RSA private key the testkit needs.
    pub(crate) struct RsaPrivateParts {
        pub(crate) n: Vec<u8>,
        pub(crate) e: Vec<u8>,
        pub(crate) d: Vec<u8>,
        /// The PKCS#1 `RSAPrivateKey` DER inside the PKCS#8 document.
        pub(crate) pkcs1: &'static [u8],
    }

    /// Parses a PKCS#8 `PrivateKeyInfo` holding an `rsaEncryption` key.
    pub(crate) fn rsa_private_key_from_pkcs8(pkcs8: &'static [u8]) -> Option<RsaPrivateParts> {
        let mut info = Reader(Reader(pkcs8).read(SEQUENCE)?);
        info.read(INTEGER)?; // version
        let algorithm = info.read(SEQUENCE)?;
        if !algorithm.starts_with(&RSA_ALGORITHM_ID[..11]) {
            return None;
        }
        let pkcs1 = info.read(OCTET_STRING)?;
        let mut key = Reader(Reader(pkcs1).read(SEQUENCE)?);
        key.read(INTEGER)?; // version
        let n = strip_leading_zeros(key.read(INTEGER)?).to_vec();
        let e = strip_leading_zeros(key.read(INTEGER)?).to_vec();
        let d = strip_leading_zeros(key.read(INTEGER)?).to_vec();
        Some(RsaPrivateParts { n, e, d, pkcs1 })
    }

    /// Drops leading zero bytes (keeps at least one byte).
    pub(crate) fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
        let start = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len().saturating_sub(1));
        &bytes[start..]
    }

    /// Tag-length-value with a definite DER length.
    pub(crate) fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = contents.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let significant = strip_leading_zeros(&bytes);
            out.push(0x80 | significant.len() as u8);
            out.extend_from_slice(significant);
        }
        out.extend_from_slice(contents);
        out
    }

    /// A DER INTEGER holding the unsigned big-endian value `value`.
    pub(crate) fn unsigned_integer(value: &[u8]) -> Vec<u8> {
        let value = strip_leading_zeros(value);
        let mut contents = Vec::with_capacity(value.len() + 1);
        if value.first().is_some_and(|&b| b & 0x80 != 0) {
            contents.push(0);
        }
        contents.extend_from_slice(value);
        tlv(INTEGER, &contents)
    }

    /// PKCS#1 `RSAPublicKey ::= SEQUENCE { modulus, publicExponent }`.
    pub(crate) fn rsa_public_key(n: &[u8], e: &[u8]) -> Vec<u8> {
        let mut contents = unsigned_integer(n);
        contents.extend(unsigned_integer(e));
        tlv(SEQUENCE, &contents)
    }

    /// X.509 `SubjectPublicKeyInfo` for `algorithm_id` and `public_key` bytes.
    pub(crate) fn spki(algorithm_id: &[u8], public_key: &[u8]) -> Vec<u8> {
        let mut bits = vec![0]; // no unused bits
        bits.extend_from_slice(public_key);
        let mut contents = tlv(SEQUENCE, algorithm_id);
        contents.extend(tlv(BIT_STRING, &bits));
        tlv(SEQUENCE, &contents)
    }

    /// ASN.1 `ECDSA-Sig-Value ::= SEQUENCE { r, s }` for a fixed `r || s` signature.
    pub(crate) fn ecdsa_signature(fixed: &[u8]) -> Vec<u8> {
        let (r, s) = fixed.split_at(fixed.len() / 2);
        let mut contents = unsigned_integer(r);
        contents.extend(unsigned_integer(s));
        tlv(SEQUENCE, &contents)
    }
}

/// RSA PKCS#1 v1.5 signing in plain Rust, for the 1024-bit key that aws-lc-rs
/// (rightly) refuses to load. Slow, not constant-time, test-only.
mod weak_rsa {
    use aws_lc_rs::digest;

    /// `DigestInfo` prefixes from RFC 8017 section 9.2, note 1.
    const SHA256_PREFIX: &[u8] = &[
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    const SHA384_PREFIX: &[u8] = &[
        0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02,
        0x05, 0x00, 0x04, 0x30,
    ];
    const SHA512_PREFIX: &[u8] = &[
        0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03,
        0x05, 0x00, 0x04, 0x40,
    ];

    /// RSASSA-PKCS1-v1_5 signature of `message` (RS256, RS384 or RS512).
    pub(super) fn sign_pkcs1_v15(alg: &str, n: &[u8], d: &[u8], message: &[u8]) -> Vec<u8> {
        let (algorithm, prefix) = match alg {
            "RS256" => (&digest::SHA256, SHA256_PREFIX),
            "RS384" => (&digest::SHA384, SHA384_PREFIX),
            "RS512" => (&digest::SHA512, SHA512_PREFIX),
            _ => panic!("weak_rsa: unsupported alg {alg:?}"),
        };
        let hash = digest::digest(algorithm, message);
        let k = n.len();
        let t_len = prefix.len() + hash.as_ref().len();
        assert!(k >= t_len + 11, "weak_rsa: modulus too short for {alg}");
        // EM = 0x00 || 0x01 || PS (0xff...) || 0x00 || DigestInfo
        let mut em = vec![0xff; k];
        em[0] = 0x00;
        em[1] = 0x01;
        em[k - t_len - 1] = 0x00;
        em[k - t_len..k - hash.as_ref().len()].copy_from_slice(prefix);
        em[k - hash.as_ref().len()..].copy_from_slice(hash.as_ref());
        mod_pow(&em, d, n)
    }

    /// `base^exp mod modulus` (all big-endian, `modulus` odd and without
    /// leading zeros, `base < modulus`), as `modulus.len()` big-endian bytes.
    /// Montgomery multiplication over 32-bit limbs.
    pub(super) fn mod_pow(base: &[u8], exp: &[u8], modulus: &[u8]) -> Vec<u8> {
        let len = modulus.len().div_ceil(4);
        let n = limbs(modulus, len);
        assert!(n[0] & 1 == 1, "weak_rsa: modulus must be odd");
        // n0inv = -n^-1 mod 2^32 (Newton iteration doubles the correct bits).
        let mut inv: u32 = 1;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(n[0].wrapping_mul(inv)));
        }
        let n0inv = inv.wrapping_neg();

        // R mod n and R^2 mod n with R = 2^(32 len), by repeated doubling.
        let mut x = vec![0u32; len + 1];
        x[0] = 1;
        for _ in 0..32 * len {
            double_mod(&mut x, &n);
        }
        let r_mod_n = x[..len].to_vec();
        for _ in 0..32 * len {
            double_mod(&mut x, &n);
        }
        let r2 = x[..len].to_vec();

        let base_m = mont_mul(&limbs(base, len), &r2, &n, n0inv);
        let mut acc = r_mod_n;
        for byte in exp {
            for bit in (0..8).rev() {
                acc = mont_mul(&acc, &acc, &n, n0inv);
                if (byte >> bit) & 1 == 1 {
                    acc = mont_mul(&acc, &base_m, &n, n0inv);
                }
            }
        }
        let mut one = vec![0u32; len];
        one[0] = 1;
        let result = mont_mul(&acc, &one, &n, n0inv);
        let mut out = Vec::with_capacity(len * 4);
        for limb in result.iter().rev() {
            out.extend_from_slice(&limb.to_be_bytes());
        }
        out.split_off(out.len() - modulus.len())
    }

    /// Big-endian bytes to `len` little-endian 32-bit limbs.
    fn limbs(bytes: &[u8], len: usize) -> Vec<u32> {
        let mut out = vec![0u32; len];
        for (i, &byte) in bytes.iter().rev().enumerate() {
            out[i / 4] |= u32::from(byte) << (8 * (i % 4));
        }
        out
    }

    /// `x = 2x mod n`, for `x < n` held in `n.len() + 1` limbs.
    fn double_mod(x: &mut [u32], n: &[u32]) {
        let mut carry = 0u32;
        for limb in x.iter_mut() {
            let next = *limb >> 31;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        if !less_than(x, n) {
            subtract(x, n);
        }
    }

    /// `t < n`, with `t` one limb longer than `n`.
    fn less_than(t: &[u32], n: &[u32]) -> bool {
        if t[n.len()] != 0 {
            return false;
        }
        for i in (0..n.len()).rev() {
            if t[i] != n[i] {
                return t[i] < n[i];
            }
        }
        false
    }

    /// `t -= n`, with `t` one limb longer than `n` and `t >= n`.
    fn subtract(t: &mut [u32], n: &[u32]) {
        let mut borrow = 0u64;
        for i in 0..n.len() {
            let diff = u64::from(t[i])
                .wrapping_sub(u64::from(n[i]))
                .wrapping_sub(borrow);
            t[i] = diff as u32;
            borrow = (diff >> 63) & 1;
        }
        t[n.len()] = t[n.len()].wrapping_sub(borrow as u32);
    }

    /// Montgomery product `a * b * R^-1 mod n` (CIOS).
    fn mont_mul(a: &[u32], b: &[u32], n: &[u32], n0inv: u32) -> Vec<u32> {
        let len = n.len();
        let mut t = vec![0u32; len + 2];
        for &b_i in b {
            let b_i = u64::from(b_i);
            let mut carry = 0u64;
            for j in 0..len {
                let sum = u64::from(t[j]) + u64::from(a[j]) * b_i + carry;
                t[j] = sum as u32;
                carry = sum >> 32;
            }
            let sum = u64::from(t[len]) + carry;
            t[len] = sum as u32;
            t[len + 1] = (sum >> 32) as u32;

            let m = u64::from(t[0].wrapping_mul(n0inv));
            let mut carry = (u64::from(t[0]) + m * u64::from(n[0])) >> 32;
            for j in 1..len {
                let sum = u64::from(t[j]) + m * u64::from(n[j]) + carry;
                t[j - 1] = sum as u32;
                carry = sum >> 32;
            }
            let sum = u64::from(t[len]) + carry;
            t[len - 1] = sum as u32;
            t[len] = t[len + 1] + (sum >> 32) as u32;
            t[len + 1] = 0;
        }
        if !less_than(&t[..=len], n) {
            subtract(&mut t[..=len], n);
        }
        t.truncate(len);
        t
    }
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::encoding::AsDer as _;
    use aws_lc_rs::signature::{RsaPublicKeyComponents, UnparsedPublicKey};

    use super::*;

    #[test]
    fn keys_have_the_promised_sizes_and_kids() {
        let expected = [
            ("rsa-a", "testkit-rsa-a", "RSA", 2048),
            ("rsa-b", "testkit-rsa-b", "RSA", 2048),
            ("rsa-untrusted", "testkit-rsa-untrusted", "RSA", 2048),
            ("rsa-1024", "testkit-rsa-1024", "RSA", 1024),
            ("ec-p256", "testkit-ec-p256", "EC", 256),
        ];
        let keys = TestKey::all();
        for (key, (name, kid, kty, bits)) in keys.iter().zip(expected) {
            assert_eq!(
                (key.name(), key.kid(), key.kty(), key.bits()),
                (name, kid, kty, bits)
            );
            assert_eq!(key.x5t().len(), 27, "{name}");
            assert!(crate::base64url_decode(key.x5t()).is_some(), "{name}");
        }
        // All distinct keys, all distinct thumbprints.
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a.public_key_der(), b.public_key_der());
                assert_ne!(a.x5t(), b.x5t());
            }
        }
        assert!(std::ptr::eq(TestKey::rsa_a(), TestKey::rsa_a()));
    }

    #[test]
    fn rsa_jwk_has_entra_members_and_no_alg() {
        for key in [TestKey::rsa_a(), TestKey::rsa_b(), TestKey::rsa_1024()] {
            let jwk = key.jwk();
            let members: Vec<_> = jwk.as_object().unwrap().keys().cloned().collect();
            assert_eq!(members, ["e", "kid", "kty", "n", "use", "x5t"]);
            assert_eq!(jwk["kty"], "RSA");
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk["kid"], key.kid());
            assert_eq!(jwk["x5t"], key.x5t());
            assert_eq!(jwk["e"], "AQAB");
            let n = crate::base64url_decode(jwk["n"].as_str().unwrap()).unwrap();
            assert_eq!(n.len() * 8, key.bits());
            assert_ne!(n[0], 0, "no leading zero");
        }
    }

    #[test]
    fn ec_jwk_has_the_point() {
        let key = TestKey::ec_p256();
        let jwk = key.jwk();
        let members: Vec<_> = jwk.as_object().unwrap().keys().cloned().collect();
        assert_eq!(members, ["crv", "kid", "kty", "use", "x", "y"]);
        assert_eq!(jwk["crv"], "P-256");
        let x = crate::base64url_decode(jwk["x"].as_str().unwrap()).unwrap();
        let y = crate::base64url_decode(jwk["y"].as_str().unwrap()).unwrap();
        let mut point = vec![0x04];
        point.extend(x);
        point.extend(y);
        assert_eq!(point, key.ec_public_point().unwrap());
    }

    #[test]
    fn jwks_lists_keys_in_order_and_default_excludes_untrusted_and_weak() {
        let doc = default_jwks();
        let kids: Vec<_> = doc["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kids, ["testkit-rsa-a", "testkit-rsa-b", "testkit-ec-p256"]);
        let parsed: Value = serde_json::from_str(&default_jwks_json()).unwrap();
        assert_eq!(parsed, doc);
        assert_eq!(jwks(&[]), json!({"keys": []}));
    }

    #[test]
    fn jwk_with_edits_members() {
        let jwk = TestKey::rsa_b().jwk_with(|m| {
            m.insert("alg".into(), json!("RS256"));
            m.insert("key_ops".into(), json!(["verify"]));
            m.remove("kid");
        });
        assert_eq!(jwk["alg"], "RS256");
        assert_eq!(jwk["key_ops"], json!(["verify"]));
        assert!(jwk.get("kid").is_none());
    }

    #[test]
    fn public_key_der_matches_aws_lc_rs() {
        for key in [TestKey::rsa_a(), TestKey::rsa_b(), TestKey::rsa_untrusted()] {
            let pair = RsaKeyPair::from_pkcs8(key.pkcs8_der()).unwrap();
            assert_eq!(
                pair.public_key().as_ref(),
                key.public_key_pkcs1_der().unwrap()
            );
            let spki = pair.public_key().as_der().unwrap();
            assert_eq!(spki.as_ref(), key.public_key_der());
        }
        let key = TestKey::ec_p256();
        let pair =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, key.pkcs8_der())
                .unwrap();
        assert_eq!(
            pair.public_key().as_der().unwrap().as_ref(),
            key.public_key_der()
        );
    }

    #[test]
    fn pem_matches_checked_in_files() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/keys");
        for key in TestKey::all() {
            let private = std::fs::read_to_string(format!("{dir}/{}.pkcs8.pem", key.name()));
            assert_eq!(private.unwrap(), key.private_key_pem(), "{}", key.name());
            let public = std::fs::read_to_string(format!("{dir}/{}.pub.pem", key.name()));
            assert_eq!(public.unwrap(), key.public_key_pem(), "{}", key.name());
        }
        let pem = TestKey::rsa_a().public_key_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(pem.lines().all(|line| line.len() <= 64));
    }

    #[test]
    fn rsa_signatures_verify_against_the_jwk_components() {
        let message = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0";
        let cases: [(&str, &signature::RsaParameters); 6] = [
            ("RS256", &signature::RSA_PKCS1_2048_8192_SHA256),
            ("RS384", &signature::RSA_PKCS1_2048_8192_SHA384),
            ("RS512", &signature::RSA_PKCS1_2048_8192_SHA512),
            ("PS256", &signature::RSA_PSS_2048_8192_SHA256),
            ("PS384", &signature::RSA_PSS_2048_8192_SHA384),
            ("PS512", &signature::RSA_PSS_2048_8192_SHA512),
        ];
        for key in [TestKey::rsa_a(), TestKey::rsa_b(), TestKey::rsa_untrusted()] {
            let jwk = key.jwk();
            let n = crate::base64url_decode(jwk["n"].as_str().unwrap()).unwrap();
            let e = crate::base64url_decode(jwk["e"].as_str().unwrap()).unwrap();
            let public = RsaPublicKeyComponents { n: &n, e: &e };
            for (alg, params) in cases {
                let sig = key.sign(alg, message);
                assert_eq!(sig.len(), 256);
                public.verify(params, message, &sig).unwrap();
                assert!(public.verify(params, b"other", &sig).is_err());
            }
        }
    }

    #[test]
    fn weak_key_signatures_verify_with_legacy_params() {
        let key = TestKey::rsa_1024();
        assert!(
            RsaKeyPair::from_pkcs8(key.pkcs8_der()).is_err(),
            "aws-lc-rs refuses it"
        );
        let (n, e) = key.rsa_public_components().unwrap();
        let public = RsaPublicKeyComponents { n, e };
        let message = b"header.payload";
        let sig = key.sign("RS256", message);
        assert_eq!(sig.len(), 128);
        public
            .verify(
                &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                message,
                &sig,
            )
            .unwrap();
        public
            .verify(
                &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
                message,
                &key.sign("RS512", message),
            )
            .unwrap();
        // ...and never with the production parameters.
        assert!(
            public
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, &sig)
                .is_err()
        );
    }

    #[test]
    fn weak_rsa_matches_aws_lc_rs_on_a_2048_bit_key() {
        // PKCS#1 v1.5 is deterministic, so the hand-rolled path must produce
        // byte-identical signatures to aws-lc-rs.
        let key = TestKey::rsa_b();
        let Material::Rsa { n, d, .. } = &key.material else {
            unreachable!()
        };
        for alg in ["RS256", "RS384", "RS512"] {
            let ours = weak_rsa::sign_pkcs1_v15(alg, n, d, b"cross-check");
            assert_eq!(ours, key.sign(alg, b"cross-check"), "{alg}");
        }
    }

    #[test]
    fn es256_signature_is_fixed_64_bytes_and_verifies() {
        let key = TestKey::ec_p256();
        let sig = key.sign("ES256", b"message");
        assert_eq!(sig.len(), 64);
        UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            key.ec_public_point().unwrap(),
        )
        .verify(b"message", &sig)
        .unwrap();
    }

    #[test]
    #[should_panic(expected = "cannot sign with alg \"ES256\"")]
    fn unsupported_combination_panics_clearly() {
        TestKey::rsa_a().sign("ES256", b"x");
    }

    #[test]
    #[should_panic(expected = "cannot sign with alg \"PS256\"")]
    fn weak_key_does_not_do_pss() {
        TestKey::rsa_1024().sign("PS256", b"x");
    }

    #[test]
    fn keyset_loads_the_default_keys() {
        let set = default_keyset();
        for key in default_keys() {
            assert!(set.contains_kid(key.kid()), "{}", key.kid());
        }
        assert!(!set.contains_kid(TestKey::rsa_untrusted().kid()));
    }

    #[test]
    fn der_helpers() {
        assert_eq!(der::unsigned_integer(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(der::unsigned_integer(&[0x00, 0x7f]), [0x02, 0x01, 0x7f]);
        assert_eq!(der::tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(der::tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(der::strip_leading_zeros(&[0, 0]), [0]);
    }
}
