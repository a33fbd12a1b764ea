//! Deterministic test keys and the JWKS documents built from them.
//!
//! The private keys are checked in under `auth-testkit/keys/` (PKCS#8 DER,
//! with PEM copies) and embedded with `include_bytes!`, so every test run,
//! every machine and every engineer signs with the same keys, like rustls'
//! `test-ca/`. They are **public test material**: never trust them anywhere.
//! `cargo run -p auth-testkit --example regenerate_keys` regenerates them.
//!
//! `rsa-1024` is **public-only**: aws-lc-rs (rightly) refuses RSA keys below
//! 2048 bits, so the testkit embeds its public key (`keys/rsa-1024.pub.der`)
//! and never signs with it. A validator must drop it at load, so tests only
//! need its JWK, and a token merely naming its `kid` (signed by another key)
//! proves it unusable.
//!
//! | constructor                  | kind       | in [`default_jwks`] | meant for                                   |
//! |------------------------------|------------|---------------------|---------------------------------------------|
//! | [`TestKey::rsa_a`]           | RSA 2048   | yes                 | the default signing key                     |
//! | [`TestKey::rsa_b`]           | RSA 2048   | yes                 | key rotation                                |
//! | [`TestKey::ec_p256`]         | EC P-256   | yes                 | ES256 tokens                                |
//! | [`TestKey::rsa_untrusted`]   | RSA 2048   | no                  | the attacker's key                          |
//! | [`TestKey::rsa_1024`]        | RSA 1024   | no                  | a weak, public-only key to drop at load     |
//!
//! Each key is parsed once (a [`OnceLock`] per key) and handed out as a
//! `&'static TestKey`, so the constructors are cheap enough to call anywhere.

use std::fmt;
use std::sync::OnceLock;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Map, Value, json};

use crate::base64url;

const RSA_A_PKCS8: &[u8] = include_bytes!("../keys/rsa-a.pkcs8.der");
const RSA_B_PKCS8: &[u8] = include_bytes!("../keys/rsa-b.pkcs8.der");
const RSA_UNTRUSTED_PKCS8: &[u8] = include_bytes!("../keys/rsa-untrusted.pkcs8.der");
/// Never parsed: aws-lc-rs refuses it. Handed out by [`TestKey::pkcs8_der`].
const RSA_1024_PKCS8: &[u8] = include_bytes!("../keys/rsa-1024.pkcs8.der");
/// The SubjectPublicKeyInfo DER of `rsa-1024`, the only part the testkit uses.
const RSA_1024_SPKI: &[u8] = include_bytes!("../keys/rsa-1024.pub.der");
const EC_P256_PKCS8: &[u8] = include_bytes!("../keys/ec-p256.pkcs8.der");

/// RSA algorithms a [`TestKey`] of at least 2048 bits signs with.
const RSA_ALGS: &[&str] = &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
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
        /// `None` for the public-only `rsa-1024`, which aws-lc-rs refuses to
        /// load as a key pair.
        pair: Option<RsaKeyPair>,
        public: rsa::PublicKey,
    },
    Ec {
        pair: EcdsaKeyPair,
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
    /// **Public-only**: aws-lc-rs refuses to sign with RSA keys below 2048
    /// bits, so [`sign`](TestKey::sign) panics for this key. Tests only need
    /// its [`jwk`](TestKey::jwk); to show it is unusable, sign a token with
    /// another key that names it:
    ///
    /// ```
    /// use auth_testkit::{TestKey, TokenBuilder};
    ///
    /// let weak = TestKey::rsa_1024();
    /// assert_eq!(weak.bits(), 1024);
    /// let token = TokenBuilder::delegated().kid(weak.kid()).sign(); // signed by rsa-a
    /// # assert_eq!(token.split('.').count(), 3);
    /// ```
    pub fn rsa_1024() -> &'static TestKey {
        static KEY: OnceLock<TestKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let public = rsa::PublicKey::from_der(RSA_1024_SPKI).unwrap_or_else(|err| {
                panic!("invariant: aws-lc-rs parses checked-in keys/rsa-1024.pub.der: {err}")
            });
            TestKey::new_rsa("rsa-1024", "testkit-rsa-1024", RSA_1024_PKCS8, None, public)
        })
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
        let pair = RsaKeyPair::from_pkcs8(pkcs8).unwrap_or_else(|err| {
            panic!("invariant: aws-lc-rs accepts checked-in keys/{name}.pkcs8.der: {err}")
        });
        let public = pair.public_key().clone();
        TestKey::new_rsa(name, kid, pkcs8, Some(pair), public)
    }

    fn new_rsa(
        name: &'static str,
        kid: &'static str,
        pkcs8: &'static [u8],
        pair: Option<RsaKeyPair>,
        public: rsa::PublicKey,
    ) -> TestKey {
        let spki = public.as_der().unwrap_or_else(|err| {
            panic!("invariant: aws-lc-rs encodes the {name} public key as SPKI: {err}")
        });
        TestKey {
            name,
            kid,
            pkcs8,
            x5t: thumbprint(spki.as_ref()),
            spki: spki.as_ref().to_vec(),
            material: Material::Rsa { pair, public },
        }
    }

    fn load_ec(name: &'static str, kid: &'static str, pkcs8: &'static [u8]) -> TestKey {
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
            .unwrap_or_else(|err| {
                panic!("invariant: checked-in keys/{name}.pkcs8.der is a PKCS#8 P-256 key: {err}")
            });
        let point = pair.public_key().as_ref();
        assert_eq!(
            (point.len(), point.first()),
            (65, Some(&0x04)),
            "invariant: aws-lc-rs returns P-256 public keys as uncompressed SEC1 points"
        );
        let spki = pair.public_key().as_der().unwrap_or_else(|err| {
            panic!("invariant: aws-lc-rs encodes the {name} public key as SPKI: {err}")
        });
        TestKey {
            name,
            kid,
            pkcs8,
            x5t: thumbprint(spki.as_ref()),
            spki: spki.as_ref().to_vec(),
            material: Material::Ec { pair },
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
            Material::Rsa { public, .. } => public.modulus_len() * 8,
            Material::Ec { .. } => 256,
        }
    }

    /// The algorithms [`sign`](TestKey::sign) accepts for this key (none for
    /// the public-only [`TestKey::rsa_1024`]).
    pub fn supported_algs(&self) -> &'static [&'static str] {
        match &self.material {
            Material::Rsa { pair: Some(_), .. } => RSA_ALGS,
            Material::Rsa { pair: None, .. } => &[],
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
            Material::Rsa { public, .. } => json!({
                "kty": "RSA",
                "use": "sig",
                "kid": self.kid,
                "x5t": self.x5t,
                "n": base64url(public.modulus().big_endian_without_leading_zero()),
                "e": base64url(public.exponent().big_endian_without_leading_zero()),
            }),
            Material::Ec { pair } => {
                let point = pair.public_key().as_ref();
                json!({
                    "kty": "EC",
                    "use": "sig",
                    "kid": self.kid,
                    "crv": "P-256",
                    "x": base64url(&point[1..33]),
                    "y": base64url(&point[33..65]),
                })
            }
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
            Material::Rsa { public, .. } => Some(public.as_ref()),
            Material::Ec { .. } => None,
        }
    }

    /// For RSA keys, the modulus `n` and public exponent `e`, big-endian
    /// without leading zeros; `None` for the EC key.
    pub fn rsa_public_components(&self) -> Option<(&[u8], &[u8])> {
        match &self.material {
            Material::Rsa { public, .. } => Some((
                public.modulus().big_endian_without_leading_zero(),
                public.exponent().big_endian_without_leading_zero(),
            )),
            Material::Ec { .. } => None,
        }
    }

    /// For the EC key, the uncompressed SEC1 point `0x04 || x || y` (65 bytes);
    /// `None` for RSA keys.
    pub fn ec_public_point(&self) -> Option<&[u8]> {
        match &self.material {
            Material::Rsa { .. } => None,
            Material::Ec { pair } => Some(pair.public_key().as_ref()),
        }
    }

    /// The private key as PKCS#8 DER: the checked-in `keys/<name>.pkcs8.der`.
    ///
    /// For the public-only [`TestKey::rsa_1024`] these are the checked-in
    /// bytes as they are, for other tools: the testkit never parses them, and
    /// aws-lc-rs refuses to load them.
    pub fn pkcs8_der(&self) -> &'static [u8] {
        self.pkcs8
    }

    /// [`pkcs8_der`](TestKey::pkcs8_der) as PEM (`-----BEGIN PRIVATE KEY-----`),
    /// the same as `keys/<name>.pkcs8.pem`.
    pub fn private_key_pem(&self) -> String {
        pem("PRIVATE KEY", self.pkcs8)
    }

    /// Signs `message` with JWS algorithm `alg`, returning the raw JWS
    /// signature bytes.
    ///
    /// The 2048-bit RSA keys sign `RS256`, `RS384`, `RS512`, `PS256`,
    /// `PS384`, `PS512`; the EC key signs `ES256` in the JWS fixed-width
    /// `r || s` format (64 bytes). See
    /// [`supported_algs`](TestKey::supported_algs).
    ///
    /// # Panics
    ///
    /// For the public-only [`TestKey::rsa_1024`], whatever `alg`. On any other
    /// unsupported combination, with a message naming the key and the
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
            (Material::Rsa { pair: None, .. }, _) => panic!(
                "TestKey::sign: {} is public-only: aws-lc-rs cannot sign with sub-2048-bit keys; \
                 tests only need its JWK (to name it in a token, sign with another key and set \
                 TokenBuilder::kid)",
                self.name
            ),
            (Material::Ec { pair }, "ES256") => pair
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
    fn weak_key_is_public_only_with_a_1024_bit_modulus() {
        let key = TestKey::rsa_1024();
        assert!(
            RsaKeyPair::from_pkcs8(key.pkcs8_der()).is_err(),
            "aws-lc-rs refuses it"
        );
        assert!(key.supported_algs().is_empty());
        let n = crate::base64url_decode(key.jwk()["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len(), 128);
        assert!(n[0] & 0x80 != 0, "the top bit is set: exactly 1024 bits");
        let (modulus, _) = key.rsa_public_components().unwrap();
        assert_eq!(modulus, n);
        assert_eq!(
            key.public_key_der(),
            RSA_1024_SPKI,
            "aws-lc-rs re-encodes it as is"
        );
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
    #[should_panic(
        expected = "rsa-1024 is public-only: aws-lc-rs cannot sign with sub-2048-bit keys; \
                    tests only need its JWK"
    )]
    fn weak_key_does_not_sign() {
        TestKey::rsa_1024().sign("RS256", b"x");
    }

    #[test]
    fn keyset_loads_the_default_keys() {
        let set = default_keyset();
        for key in default_keys() {
            assert!(set.contains_kid(key.kid()), "{}", key.kid());
        }
        assert!(!set.contains_kid(TestKey::rsa_untrusted().kid()));
    }
}
