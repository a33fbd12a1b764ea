//! Structured JWKS documents: keys assembled from real testkit key material (rsa-a, rsa-b,
//! rsa-untrusted, rsa-1024, ec-p256), re-encoded or damaged, with chosen `kty`, `use`,
//! `key_ops`, `alg`, `crv`, `kid`, `x5t` and `issuer`.
//!
//! Beyond the invariants of `check_key_set`, a behavioural oracle: when the set holds a key
//! whose material and kid are exactly rsa-a's (or ec-p256's), a valid token signed by that key
//! must validate iff the key's own `alg` allows the token's alg and its `issuer` member
//! matches; a token naming the same kid but signed by another key must never validate.
#![no_main]

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use arbitrary::Arbitrary;
use auth_layer::KeySet;
use auth_testkit::{TestKey, TokenBuilder, base64url, ids};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use tower_entra_fuzz::{NOW, check_key_set, debug, validator};

#[derive(Arbitrary, Debug)]
struct Doc {
    keys: Vec<Jwk>,
    /// Extra top-level members.
    top: Vec<(u8, u8)>,
}

#[derive(Arbitrary, Debug)]
struct Jwk {
    material: Material,
    kty: Choice,
    use_: Choice,
    key_ops: Option<Vec<u8>>,
    alg: Choice,
    crv: Choice,
    kid: Choice,
    x5t: Choice,
    issuer: Choice,
    encoding: Encoding,
}

/// The default (variant 0) is the value a real key of this material would have.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Choice {
    Default,
    Pick(u8),
    Absent,
    WrongType(u8),
}

#[derive(Arbitrary, Debug)]
enum Material {
    Key(u8),
    /// RSA components from arbitrary bytes.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// EC coordinates from arbitrary bytes.
    Ec {
        x: Vec<u8>,
        y: Vec<u8>,
    },
    /// A real key's `n`/`x` with `e`/`y` of another.
    Mixed(u8, u8),
}

#[derive(Arbitrary, Debug)]
enum Encoding {
    UrlSafe,
    Padded,
    Standard,
    LeadingZeros(u8),
    Truncated(u8),
    Whitespace,
}

const KTYS: &[&str] = &["RSA", "EC", "oct", "OKP", "rsa", "", "RSA-HSM"];
const USES: &[&str] = &["sig", "enc", "SIG", "", "sig "];
const OPS: &[&str] = &["verify", "sign", "encrypt", "wrapKey", "VERIFY", ""];
const ALGS: &[&str] = &[
    "RS256", "ES256", "PS256", "RS384", "RS512", "PS384", "PS512", "ES384", "HS256", "none", "",
    "EdDSA", "rs256",
];
const CRVS: &[&str] = &[
    "P-256",
    "P-384",
    "P-521",
    "secp256k1",
    "p-256",
    "Ed25519",
    "",
];
const KIDS: &[&str] = &[
    "testkit-rsa-a",
    "testkit-ec-p256",
    "testkit-rsa-b",
    "k",
    "",
    "testkit-rsa-a ",
];
const ISSUERS: &[&str] = &[
    "https://login.microsoftonline.com/{tenantid}/v2.0",
    "https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/v2.0",
    "https://login.microsoftonline.com/2b7d4c19-3e5a-4f81-b6c2-9d0e1a4f7c63/v2.0",
    "https://sts.windows.net/{tenantid}/",
    "{tenantid}",
    "",
];
const TOP: &[&str] = &["keys", "kty", "\u{0}", ""];

fn key(i: u8) -> &'static TestKey {
    let all = TestKey::all();
    all[usize::from(i) % all.len()]
}

fn pick(list: &[&str], i: u8) -> String {
    list[usize::from(i) % list.len()].to_owned()
}

fn wrong_type(i: u8) -> Value {
    match i % 5 {
        0 => Value::Null,
        1 => json!(1),
        2 => json!(["sig"]),
        3 => json!({}),
        _ => json!(true),
    }
}

fn set(
    jwk: &mut Map<String, Value>,
    name: &str,
    choice: Choice,
    default: Option<String>,
    list: &[&str],
) {
    let value = match choice {
        Choice::Default => default.map(Value::String),
        Choice::Pick(i) => Some(Value::String(pick(list, i))),
        Choice::Absent => None,
        Choice::WrongType(i) => Some(wrong_type(i)),
    };
    match value {
        Some(v) => {
            jwk.insert(name.to_owned(), v);
        }
        None => {
            jwk.remove(name);
        }
    }
}

fn encode(bytes: &[u8], encoding: &Encoding) -> String {
    match encoding {
        Encoding::UrlSafe => base64url(bytes),
        Encoding::Padded => {
            let s = base64url(bytes);
            let pad = (4 - s.len() % 4) % 4;
            format!("{s}{}", "=".repeat(pad))
        }
        Encoding::Standard => base64url(bytes).replace('-', "+").replace('_', "/"),
        Encoding::LeadingZeros(n) => {
            let mut v = vec![0; usize::from(*n % 4)];
            v.extend_from_slice(bytes);
            base64url(v)
        }
        Encoding::Truncated(n) => base64url(&bytes[..bytes.len().saturating_sub(usize::from(*n))]),
        Encoding::Whitespace => {
            let s = base64url(bytes);
            let (a, b) = s.split_at(s.len() / 2);
            format!("{a} {b}")
        }
    }
}

/// Decoded public components of a test key: (n, e) or (x, y).
fn components(k: &TestKey) -> (Vec<u8>, Vec<u8>, bool) {
    let jwk = k.jwk();
    let get = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(auth_testkit::base64url_decode)
    };
    match (get("n"), get("e")) {
        (Some(n), Some(e)) => (n, e, true),
        _ => (
            get("x").unwrap_or_default(),
            get("y").unwrap_or_default(),
            false,
        ),
    }
}

/// What the oracle knows about one generated JWK.
struct Built {
    jwk: Value,
    /// The test key whose exact public material this JWK carries (canonically encoded).
    exact: Option<&'static TestKey>,
}

fn build(spec: &Jwk) -> Built {
    let (base, a, b, rsa, exact) = match &spec.material {
        Material::Key(i) => {
            let k = key(*i);
            let (a, b, rsa) = components(k);
            (Some(k), a, b, rsa, Some(k))
        }
        Material::Rsa { n, e } => (None, n.clone(), e.clone(), true, None),
        Material::Ec { x, y } => (None, x.clone(), y.clone(), false, None),
        Material::Mixed(i, j) => {
            let (a, _, rsa) = components(key(*i));
            let (_, b, _) = components(key(*j));
            (Some(key(*i)), a, b, rsa, None)
        }
    };
    let mut jwk = Map::new();
    let kty = if rsa { "RSA" } else { "EC" };
    set(&mut jwk, "kty", spec.kty, Some(kty.into()), KTYS);
    set(&mut jwk, "use", spec.use_, Some("sig".into()), USES);
    if let Some(ops) = &spec.key_ops {
        jwk.insert(
            "key_ops".into(),
            json!(ops.iter().map(|i| pick(OPS, *i)).collect::<Vec<_>>()),
        );
    }
    set(&mut jwk, "alg", spec.alg, None, ALGS);
    set(
        &mut jwk,
        "crv",
        spec.crv,
        (!rsa).then(|| "P-256".into()),
        CRVS,
    );
    set(
        &mut jwk,
        "kid",
        spec.kid,
        base.map(|k| k.kid().to_owned()),
        KIDS,
    );
    set(
        &mut jwk,
        "x5t",
        spec.x5t,
        base.map(|k| k.x5t().to_owned()),
        KIDS,
    );
    set(&mut jwk, "issuer", spec.issuer, None, ISSUERS);
    let (na, nb) = if rsa { ("n", "e") } else { ("x", "y") };
    jwk.insert(na.into(), Value::String(encode(&a, &spec.encoding)));
    jwk.insert(nb.into(), Value::String(encode(&b, &spec.encoding)));
    // Only a canonically or leniently-equivalently encoded copy of a real key is "exact".
    let exact = exact.filter(|_| matches!(spec.encoding, Encoding::UrlSafe | Encoding::Padded));
    Built {
        jwk: Value::Object(jwk),
        exact,
    }
}

/// A valid token (at `NOW`) signed by `key`, naming `kid`; minted once per pair.
fn token(key: &'static TestKey, kid: &str) -> String {
    static CACHE: OnceLock<Mutex<HashMap<(String, String), String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap();
    cache
        .entry((key.kid().to_owned(), kid.to_owned()))
        .or_insert_with(|| {
            TokenBuilder::delegated()
                .key(key)
                .kid(kid)
                .issued_at(NOW)
                .sign()
        })
        .clone()
}

fuzz_target!(|doc: Doc| {
    let built: Vec<Built> = doc.keys.iter().take(8).map(build).collect();
    let mut root = Map::new();
    for (name, value) in &doc.top {
        root.insert(pick(TOP, *name), wrong_type(*value));
    }
    root.insert(
        "keys".into(),
        Value::Array(built.iter().map(|b| b.jwk.clone()).collect()),
    );
    let document = Value::Object(root).to_string();
    if debug() {
        eprintln!(
            "{doc:#?}\ndocument: {document}\nset: {:?}",
            KeySet::from_jwks_json(document.as_bytes())
        );
    }
    let Some(set) = check_key_set(document.as_bytes()) else {
        return;
    };
    oracle(&set, &built);
});

fn oracle(set: &KeySet, built: &[Built]) {
    for b in built {
        let Some(material) = b.exact else { continue };
        let Some(kid) = b.jwk.get("kid").and_then(Value::as_str) else {
            continue;
        };
        if kid.is_empty() || kid.chars().any(char::is_control) {
            // Kept in the set, but a token header may not name it (checklist rule 10).
            continue;
        }
        let Some(kept) = set.find(Some(kid), None) else {
            continue;
        };
        // The token alg the testkit signs this material with by default.
        let alg = if material.kty() == "RSA" {
            auth_layer::Algorithm::RS256
        } else {
            auth_layer::Algorithm::ES256
        };
        // rsa-1024 (public-only, below 2048 bits) must never have been kept.
        assert!(
            !material.supported_algs().is_empty(),
            "a 1024-bit RSA key was kept as {kid:?}"
        );
        assert_eq!(kept.fits(alg), kept.algorithm().is_none_or(|a| a == alg));
        let genuine = token(material, kid);
        let result = validator().validate(&genuine, set);
        let issuer_ok = match kept.issuer() {
            None => true,
            Some(i) => {
                i == "https://login.microsoftonline.com/{tenantid}/v2.0"
                    || i == ids::v2_issuer(ids::TENANT_ID)
            }
        };
        let expected = kept.fits(alg) && issuer_ok;
        assert_eq!(
            result.is_ok(),
            expected,
            "a genuine {alg} token for kid {kid:?} (jwk {}) gave {result:?}",
            b.jwk
        );
        // Another key's signature under the same kid never validates (rsa-untrusted is the
        // forger, unless it is the published key here).
        let forger = if std::ptr::eq(material, TestKey::rsa_untrusted()) {
            TestKey::rsa_a()
        } else {
            TestKey::rsa_untrusted()
        };
        let forged = token(forger, kid);
        let result = validator().validate(&forged, set);
        assert!(result.is_err(), "a forged token for kid {kid:?} validated");
    }
}
