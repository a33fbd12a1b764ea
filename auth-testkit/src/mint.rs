//! Minting Microsoft Entra ID shaped tokens in one call.
//!
//! [`TokenBuilder`] starts from a preset that looks like what Entra issues
//! ([`delegated`](TokenBuilder::delegated), [`app`](TokenBuilder::app),
//! [`id_token`](TokenBuilder::id_token), [`graph_token`](TokenBuilder::graph_token)),
//! in the v2 or v1 format, and lets a test change any claim or header member
//! before signing with a [`TestKey`].
//!
//! ```
//! use auth_testkit::{TestKey, TokenBuilder, ids, now};
//! use serde_json::json;
//!
//! let token: String = TokenBuilder::delegated().scopes("Case.Create Files.Read").sign();
//! let app = TokenBuilder::app().roles(["Files.Write"]).sign();
//! let v1 = TokenBuilder::delegated().v1().sign();
//! let custom = TokenBuilder::delegated()
//!     .claim("tid", json!(ids::OTHER_TENANT_ID))
//!     .remove("nbf")
//!     .header("typ", json!("at+jwt"))
//!     .kid("other")
//!     .key(TestKey::rsa_b())
//!     .alg("RS384")
//!     .expires_in(-600)
//!     .issued_at(now() - 3600)
//!     .sign();
//! # for t in [token, app, v1, custom] { assert_eq!(t.split('.').count(), 3); }
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use crate::TestKey;
use crate::base64url;

/// Well-known identifiers of the test tenant, apps and user.
///
/// All are re-exported at the crate root, so both
/// `auth_testkit::ids::TENANT_ID` and `auth_testkit::TENANT_ID` work.
pub mod ids {
    /// The test tenant (directory) id: the `tid` of every minted token by default.
    pub const TENANT_ID: &str = "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10";
    /// Another tenant, for cross-tenant tests.
    pub const OTHER_TENANT_ID: &str = "2b7d4c19-3e5a-4f81-b6c2-9d0e1a4f7c63";
    /// Client (application) id of the protected API: the v2 `aud`.
    pub const API_CLIENT_ID: &str = "c4e8a2d1-7b3f-4e9a-8d56-1f0b9c3e7a24";
    /// Application ID URI of the protected API: the v1 `aud`.
    pub const API_APP_ID_URI: &str = "api://tower-entra-test-api";
    /// Client id of the calling client application: `azp` (v2) / `appid` (v1).
    pub const CLIENT_APP_ID: &str = "5a1f9e3c-2d84-4b7e-a6f0-3c9d8e2b1f47";
    /// Client id of some other application, for "caller not allowed" tests.
    pub const OTHER_CLIENT_APP_ID: &str = "e9c3b7a5-1f62-4d08-9e4b-7a2c6f1d3b95";
    /// Object id of the test user: `oid` of delegated tokens.
    pub const USER_OID: &str = "0d4b7f2e-9c1a-4e63-8b5d-2f7a1c9e6b30";
    /// Pairwise subject of the test user: `sub` of delegated tokens.
    pub const USER_SUB: &str = "q3Lx9ZkP2vR7tW1yN8bC5mF0hJ4dG6sA_eUoIiTnKw";
    /// Display name of the test user: `name`.
    pub const USER_NAME: &str = "Alice Example";
    /// Sign-in name of the test user: `preferred_username` (v2), `upn` and
    /// `unique_name` (v1).
    pub const USER_UPN: &str = "alice@example.onmicrosoft.com";
    /// Object id of the client's service principal: `oid` and `sub` of
    /// app-only tokens.
    pub const APP_OID: &str = "7e2c5a9f-4b1d-4f86-a3e0-8d6b2c4f1a59";
    /// Application id of Microsoft Graph, the `aud` of Graph tokens.
    pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
    /// The default `scp` of delegated tokens.
    pub const DEFAULT_SCOPE: &str = "access_as_user";
    /// The default `roles` entry of app-only tokens.
    pub const DEFAULT_APP_ROLE: &str = "Files.Write";
    /// The Entra public-cloud login instance, base of v2 issuers.
    pub const DEFAULT_INSTANCE: &str = "https://login.microsoftonline.com";
    /// The base of v1 issuers.
    pub const V1_ISSUER_BASE: &str = "https://sts.windows.net";

    /// The v1 issuer of tenant `tid`: `https://sts.windows.net/{tid}/`.
    ///
    /// ```
    /// assert_eq!(
    ///     auth_testkit::v1_issuer("t"),
    ///     "https://sts.windows.net/t/"
    /// );
    /// ```
    pub fn v1_issuer(tid: &str) -> String {
        format!("{V1_ISSUER_BASE}/{tid}/")
    }

    /// The v2 issuer of tenant `tid`: `https://login.microsoftonline.com/{tid}/v2.0`.
    ///
    /// ```
    /// assert_eq!(
    ///     auth_testkit::v2_issuer("t"),
    ///     "https://login.microsoftonline.com/t/v2.0"
    /// );
    /// ```
    pub fn v2_issuer(tid: &str) -> String {
        format!("{DEFAULT_INSTANCE}/{tid}/v2.0")
    }
}

use ids::{
    API_APP_ID_URI, API_CLIENT_ID, APP_OID, CLIENT_APP_ID, DEFAULT_APP_ROLE, DEFAULT_SCOPE,
    GRAPH_APP_ID, TENANT_ID, USER_NAME, USER_OID, USER_SUB, USER_UPN,
};

/// Opaque Entra-internal claim values: fixed, so tokens are reproducible.
const AIO: &str = "AWQAm/8aAAAAq3Lx9ZkP2vR7tW1yN8bC5mF0hJ4dG6sAeUoIiTnKwXzYv";
const RH: &str = "0.AXkAXowOjwtvjk2aQ1wdK3qeENGi6MQ_e5pOjVYfC5w-eiR5AAB5AA.";
const UTI: &str = "tEsTkItUtI0123456789Ab";
/// The `nonce` claim of ID tokens.
const ID_TOKEN_NONCE: &str = "testkit-nonce-6f1e3b";
/// The `nonce` header member of Graph tokens.
const GRAPH_HEADER_NONCE: &str = "Vq2LtestkitGraphNonce-8fJ3kQyZ0xWcR5hN1mB7dT4gA";

/// Current time as Unix seconds, from [`SystemTime`].
///
/// ```
/// assert!(auth_testkit::now() > 1_700_000_000);
/// ```
pub fn now() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("invariant: the system clock is after 1970");
    i64::try_from(elapsed.as_secs()).expect("invariant: Unix seconds fit in i64")
}

/// Which preset a builder started from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Delegated,
    App,
    IdToken,
    Graph,
}

/// Access-token format: which issuer, audience and claim names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// One change on top of the preset; applied in call order.
#[derive(Clone, Debug)]
enum Edit {
    Set(String, Value),
    Remove(String),
}

/// JSON object members in insertion order, so signed tokens look like
/// Entra's (and are reproducible) without serde_json's `preserve_order`.
#[derive(Default)]
struct Members(Vec<(String, Value)>);

impl Members {
    fn set(&mut self, name: &str, value: impl Into<Value>) {
        let value = value.into();
        match self.0.iter_mut().find(|(key, _)| key == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    fn remove(&mut self, name: &str) {
        self.0.retain(|(key, _)| key != name);
    }

    fn apply(&mut self, edits: &[Edit]) {
        for edit in edits {
            match edit {
                Edit::Set(name, value) => self.set(name, value.clone()),
                Edit::Remove(name) => self.remove(name),
            }
        }
    }

    /// Compact JSON, members in order.
    fn to_json_text(&self) -> String {
        let mut out = String::from("{");
        for (i, (name, value)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&Value::String(name.clone()).to_string());
            out.push(':');
            out.push_str(&value.to_string());
        }
        out.push('}');
        out
    }

    fn to_value(&self) -> Value {
        Value::Object(self.0.iter().cloned().collect::<Map<_, _>>())
    }
}

/// Builds and signs an Entra-shaped JWT in one expression.
///
/// Start from a preset, change what the test is about, call
/// [`sign`](TokenBuilder::sign):
///
/// | preset                                   | default shape (v2 unless noted)                                                    |
/// |------------------------------------------|------------------------------------------------------------------------------------|
/// | [`delegated`](TokenBuilder::delegated)   | user token: `scp` = `"access_as_user"`, `azp`, `name`, `oid`, `preferred_username` |
/// | [`app`](TokenBuilder::app)               | app-only token: `roles` = `["Files.Write"]`, `oid` = `sub`, no `idtyp`             |
/// | [`id_token`](TokenBuilder::id_token)     | an OIDC ID token for the API's client id: `nonce`, no `scp`/`roles`/`azp`          |
/// | [`graph_token`](TokenBuilder::graph_token) | v1 delegated token for Microsoft Graph, with a `nonce` **header** member         |
///
/// Every token defaults to tenant [`ids::TENANT_ID`], `iat` = `nbf` = the time
/// the builder was created, `exp` = `iat + 3600`, and is signed `RS256` by
/// [`TestKey::rsa_a`].
///
/// # Which setting wins
///
/// - The *shape* setters [`v1`](Self::v1), [`v2`](Self::v2),
///   [`tenant`](Self::tenant), [`issued_at`](Self::issued_at),
///   [`expires_in`](Self::expires_in), [`not_before_in`](Self::not_before_in),
///   [`key`](Self::key) and [`alg`](Self::alg) decide the preset's defaults,
///   whenever they are called.
/// - Every claim or header edit ([`claim`](Self::claim),
///   [`remove`](Self::remove), [`scopes`](Self::scopes),
///   [`roles`](Self::roles), [`audience`](Self::audience),
///   [`idtyp`](Self::idtyp), [`header`](Self::header),
///   [`remove_header`](Self::remove_header), [`kid`](Self::kid)) is applied on
///   top of those defaults in call order: the last edit of a member wins, and
///   edits always beat defaults (`.claim("tid", x).tenant(y)` keeps `tid` = `x`
///   but takes `iss` from `y`).
/// - [`alg`](Self::alg) sets both the header `alg` and the signing algorithm;
///   `.header("alg", …)` changes only the header, for mismatch tests.
#[derive(Clone, Debug)]
pub struct TokenBuilder {
    kind: Kind,
    version: Version,
    tenant: String,
    key: &'static TestKey,
    alg: Option<String>,
    issued_at: i64,
    lifetime: i64,
    not_before_offset: i64,
    claim_edits: Vec<Edit>,
    header_edits: Vec<Edit>,
}

impl Default for TokenBuilder {
    /// Same as [`TokenBuilder::delegated`].
    fn default() -> Self {
        TokenBuilder::delegated()
    }
}

impl TokenBuilder {
    fn preset(kind: Kind, version: Version) -> Self {
        TokenBuilder {
            kind,
            version,
            tenant: TENANT_ID.to_owned(),
            key: TestKey::rsa_a(),
            alg: None,
            issued_at: now(),
            lifetime: 3600,
            not_before_offset: 0,
            claim_edits: Vec::new(),
            header_edits: Vec::new(),
        }
    }

    /// A v2 delegated (user) access token for the test API.
    ///
    /// Header `{"typ":"JWT","alg":"RS256","kid":…}`; claims `aud`
    /// ([`ids::API_CLIENT_ID`]), `iss`, `iat`, `nbf`, `exp`, `aio`, `azp`
    /// ([`ids::CLIENT_APP_ID`]), `azpacr` `"0"`, `name`, `oid`
    /// ([`ids::USER_OID`]), `preferred_username`, `rh`, `scp`
    /// (`"access_as_user"`), `sub`, `tid`, `uti`, `ver` `"2.0"`. No `idtyp`
    /// (see [`idtyp`](Self::idtyp)).
    ///
    /// With [`v1`](Self::v1): header adds `x5t`; `aud` is
    /// [`ids::API_APP_ID_URI`], `iss` is the `sts.windows.net` issuer, `appid`
    /// and `appidacr` replace `azp`/`azpacr`, `unique_name` and `upn` replace
    /// `preferred_username`, `ver` is `"1.0"`.
    ///
    /// ```
    /// use auth_testkit::{TokenBuilder, ids};
    ///
    /// let claims = TokenBuilder::delegated().claims_json();
    /// assert_eq!(claims["aud"], ids::API_CLIENT_ID);
    /// assert_eq!(claims["scp"], "access_as_user");
    /// assert_eq!(claims["ver"], "2.0");
    /// ```
    pub fn delegated() -> Self {
        TokenBuilder::preset(Kind::Delegated, Version::V2)
    }

    /// [`delegated`](Self::delegated) padded with the other claims a real Entra user token
    /// carries (`amr`, `ipaddr`, `wids`, `groups`, `xms_cc`), so that it is as large as one:
    /// 1,638 bytes signed with the default key. The token the benchmarks and the load harness
    /// measure with (docs/performance.md).
    ///
    /// ```
    /// let token = auth_testkit::TokenBuilder::delegated_with_real_claims().sign();
    /// assert!((1_500..1_800).contains(&token.len()));
    /// ```
    pub fn delegated_with_real_claims() -> Self {
        let pair = |a: &str, b: &str| Value::Array(vec![a.into(), b.into()]);
        TokenBuilder::delegated()
            .scopes("Case.Create Case.Read Files.Read.All User.Read")
            .claim("amr", pair("pwd", "mfa"))
            .claim("ipaddr", "203.0.113.7")
            .claim(
                "wids",
                pair(
                    "b79fbf4d-3ef9-4689-8143-76b194e85509",
                    "62e90394-69f5-4237-9190-012177145e10",
                ),
            )
            .claim(
                "groups",
                pair(
                    "6f1e1a4e-2b7b-4d6a-9d55-6b6c1f0a2e11",
                    "c3d4e5f6-a7b8-49c0-81d2-e3f4a5b6c7d8",
                ),
            )
            .claim("xms_cc", Value::Array(vec!["cp1".into()]))
    }

    /// A v2 app-only (client credentials) access token for the test API, in
    /// Entra's default shape: `roles` `["Files.Write"]`, `oid` = `sub` =
    /// [`ids::APP_OID`], `azp` = [`ids::CLIENT_APP_ID`] with `azpacr` `"1"`; no
    /// `scp`, `name` or user names, and no `idtyp` (Entra sends it only when the
    /// API's registration asks for the optional claim: add it with
    /// `.idtyp("app")`). [`v1`](Self::v1) switches to `appid` / `appidacr` as for
    /// [`delegated`](Self::delegated).
    ///
    /// ```
    /// let claims = auth_testkit::TokenBuilder::app().claims_json();
    /// assert_eq!(claims["roles"], serde_json::json!(["Files.Write"]));
    /// assert!(claims.get("idtyp").is_none());
    /// assert_eq!(claims["oid"], claims["sub"]);
    /// assert!(claims.get("scp").is_none());
    /// ```
    pub fn app() -> Self {
        TokenBuilder::preset(Kind::App, Version::V2)
    }

    /// An Entra v2 **ID token** issued to the API's client id (`aud` =
    /// [`ids::API_CLIENT_ID`]) with a `nonce` claim and no `scp`, `roles` or
    /// `azp`: for "an ID token presented as an access token" tests.
    ///
    /// ```
    /// let claims = auth_testkit::TokenBuilder::id_token().claims_json();
    /// assert!(claims.get("nonce").is_some());
    /// assert!(claims.get("scp").is_none() && claims.get("azp").is_none());
    /// ```
    pub fn id_token() -> Self {
        TokenBuilder::preset(Kind::IdToken, Version::V2)
    }

    /// A delegated token for Microsoft Graph, as Graph receives them: v1
    /// format, `aud` = [`ids::GRAPH_APP_ID`], `scp` `"User.Read"`, and a
    /// `nonce` **header** member, which makes the signature unverifiable by
    /// anyone but Graph. For "token for another resource" tests.
    ///
    /// ```
    /// let graph = auth_testkit::TokenBuilder::graph_token();
    /// assert!(graph.header_json().get("nonce").is_some());
    /// assert_eq!(graph.claims_json()["aud"], auth_testkit::ids::GRAPH_APP_ID);
    /// ```
    pub fn graph_token() -> Self {
        TokenBuilder::preset(Kind::Graph, Version::V1)
    }

    /// Switches to the v1 token format (`ver` `"1.0"`, `sts.windows.net`
    /// issuer, App ID URI audience, `appid`, `upn`; header `x5t`).
    pub fn v1(mut self) -> Self {
        self.version = Version::V1;
        self
    }

    /// Switches to the v2 token format (`ver` `"2.0"`,
    /// `login.microsoftonline.com/{tid}/v2.0` issuer, client-id audience, `azp`).
    pub fn v2(mut self) -> Self {
        self.version = Version::V2;
        self
    }

    /// Issues the token from tenant `tid`: changes both `tid` and the tenant in `iss`.
    ///
    /// ```
    /// use auth_testkit::{TokenBuilder, ids};
    ///
    /// let claims = TokenBuilder::delegated().tenant(ids::OTHER_TENANT_ID).claims_json();
    /// assert_eq!(claims["tid"], ids::OTHER_TENANT_ID);
    /// assert_eq!(claims["iss"], ids::v2_issuer(ids::OTHER_TENANT_ID));
    /// ```
    pub fn tenant(mut self, tid: &str) -> Self {
        tid.clone_into(&mut self.tenant);
        self
    }

    /// Sets `aud`.
    pub fn audience(self, aud: &str) -> Self {
        self.claim("aud", aud)
    }

    /// Sets `scp`, the space-separated delegated scopes.
    pub fn scopes(self, scopes: &str) -> Self {
        self.claim("scp", scopes)
    }

    /// Sets `roles`, the app roles (on any preset, including delegated).
    pub fn roles<I, S>(self, roles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let roles: Vec<Value> = roles
            .into_iter()
            .map(|role| Value::String(role.into()))
            .collect();
        self.claim("roles", roles)
    }

    /// Sets the `idtyp` claim (`"user"` or `"app"`), which Entra only sends
    /// when the optional claim is configured.
    pub fn idtyp(self, idtyp: &str) -> Self {
        self.claim("idtyp", idtyp)
    }

    /// Sets (adds or overrides) claim `name`. The last edit of a claim wins.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claim_edits
            .push(Edit::Set(name.to_owned(), value.into()));
        self
    }

    /// Removes claim `name` (until a later edit sets it again).
    pub fn remove(mut self, name: &str) -> Self {
        self.claim_edits.push(Edit::Remove(name.to_owned()));
        self
    }

    /// Sets (adds or overrides) header member `name`. Setting `"alg"` this way
    /// changes only the header: the token is still signed with
    /// [`alg`](Self::alg)'s algorithm.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header_edits
            .push(Edit::Set(name.to_owned(), value.into()));
        self
    }

    /// Removes header member `name`.
    pub fn remove_header(mut self, name: &str) -> Self {
        self.header_edits.push(Edit::Remove(name.to_owned()));
        self
    }

    /// Sets the header `kid` (by default the signing key's
    /// [`kid`](TestKey::kid)).
    pub fn kid(self, kid: &str) -> Self {
        self.header("kid", kid)
    }

    /// Sets the JWS algorithm: the header `alg` *and* the algorithm the token
    /// is signed with. Defaults to `RS256` for RSA keys and `ES256` for the EC
    /// key. [`sign`](Self::sign) panics if the key cannot sign it (see
    /// [`TestKey::sign`]).
    pub fn alg(mut self, alg: &str) -> Self {
        self.alg = Some(alg.to_owned());
        self
    }

    /// Signs with `key` (default [`TestKey::rsa_a`]); the default `kid` (and
    /// v1 `x5t`) follow the key.
    pub fn key(mut self, key: &'static TestKey) -> Self {
        self.key = key;
        self
    }

    /// Sets `iat` (Unix seconds); `nbf` and `exp` stay relative to it.
    pub fn issued_at(mut self, unix_secs: i64) -> Self {
        self.issued_at = unix_secs;
        self
    }

    /// Sets `exp` to `iat + secs`; negative means already expired.
    pub fn expires_in(mut self, secs: i64) -> Self {
        self.lifetime = secs;
        self
    }

    /// Sets `nbf` to `iat + secs` (default 0); positive means not yet valid.
    pub fn not_before_in(mut self, secs: i64) -> Self {
        self.not_before_offset = secs;
        self
    }

    /// The algorithm the token will be signed with.
    pub fn signing_alg(&self) -> &str {
        match &self.alg {
            Some(alg) => alg,
            None if self.key.kty() == "EC" => "ES256",
            None => "RS256",
        }
    }

    /// The key the token will be signed with.
    pub fn signing_key(&self) -> &'static TestKey {
        self.key
    }

    fn header_members(&self) -> Members {
        let mut header = Members::default();
        header.set("typ", "JWT");
        if self.kind == Kind::Graph {
            header.set("nonce", GRAPH_HEADER_NONCE);
        }
        header.set("alg", self.signing_alg());
        if self.version == Version::V1 {
            header.set("x5t", self.key.x5t());
        }
        header.set("kid", self.key.kid());
        header.apply(&self.header_edits);
        header
    }

    fn claim_members(&self) -> Members {
        let v2 = self.version == Version::V2;
        let tid = self.tenant.as_str();
        let mut c = Members::default();
        let aud = match (self.kind, v2) {
            (Kind::Graph, _) => GRAPH_APP_ID,
            (Kind::IdToken, _) | (_, true) => API_CLIENT_ID,
            (_, false) => API_APP_ID_URI,
        };
        c.set("aud", aud);
        c.set(
            "iss",
            if v2 {
                ids::v2_issuer(tid)
            } else {
                ids::v1_issuer(tid)
            },
        );
        c.set("iat", self.issued_at);
        c.set("nbf", self.issued_at.saturating_add(self.not_before_offset));
        c.set("exp", self.issued_at.saturating_add(self.lifetime));
        c.set("aio", AIO);
        let app = self.kind == Kind::App;
        if self.kind != Kind::IdToken {
            let acr = if app { "1" } else { "0" };
            if v2 {
                c.set("azp", CLIENT_APP_ID);
                c.set("azpacr", acr);
            } else {
                c.set("appid", CLIENT_APP_ID);
                c.set("appidacr", acr);
            }
        }
        if !app {
            c.set("name", USER_NAME);
        }
        if self.kind == Kind::IdToken {
            c.set("nonce", ID_TOKEN_NONCE);
        }
        c.set("oid", if app { APP_OID } else { USER_OID });
        if !app && v2 {
            c.set("preferred_username", USER_UPN);
        }
        c.set("rh", RH);
        match self.kind {
            Kind::App => c.set("roles", vec![DEFAULT_APP_ROLE]),
            Kind::Delegated => c.set("scp", DEFAULT_SCOPE),
            Kind::Graph => c.set("scp", "User.Read"),
            Kind::IdToken => {}
        }
        c.set("sub", if app { APP_OID } else { USER_SUB });
        c.set("tid", tid);
        if !app && !v2 {
            c.set("unique_name", USER_UPN);
            c.set("upn", USER_UPN);
        }
        c.set("uti", UTI);
        c.set("ver", if v2 { "2.0" } else { "1.0" });
        c.apply(&self.claim_edits);
        c
    }

    /// The claims as they will be signed. (The signed JSON keeps the member
    /// order shown in [`claims_text`](Self::claims_text); a
    /// [`serde_json::Value`] object sorts its members.)
    pub fn claims_json(&self) -> Value {
        self.claim_members().to_value()
    }

    /// The JOSE header as it will be signed.
    pub fn header_json(&self) -> Value {
        self.header_members().to_value()
    }

    /// The exact claims JSON text that [`sign`](Self::sign) encodes.
    pub fn claims_text(&self) -> String {
        self.claim_members().to_json_text()
    }

    /// The exact header JSON text that [`sign`](Self::sign) encodes.
    pub fn header_text(&self) -> String {
        self.header_members().to_json_text()
    }

    /// Signs and returns the compact JWS:
    /// `base64url(header) . base64url(claims) . base64url(signature)`.
    ///
    /// # Panics
    ///
    /// If the key cannot sign the algorithm (e.g. `.alg("HS256")`; use
    /// [`crate::dangerous`] for such tokens).
    pub fn sign(&self) -> String {
        sign_compact(
            self.header_text().as_bytes(),
            self.claims_text().as_bytes(),
            self.key,
            self.signing_alg(),
        )
    }
}

/// Compact JWS over exact header and payload bytes.
pub(crate) fn sign_compact(header: &[u8], payload: &[u8], key: &TestKey, alg: &str) -> String {
    sign_segments(&base64url(header), &base64url(payload), key, alg)
}

/// Compact JWS over exact, already-encoded segments.
pub(crate) fn sign_segments(
    header_b64: &str,
    payload_b64: &str,
    key: &TestKey,
    alg: &str,
) -> String {
    let signing_input = format!("{header_b64}.{payload_b64}");
    let signature = key.sign(alg, signing_input.as_bytes());
    format!("{signing_input}.{}", base64url(signature))
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
    use serde_json::json;

    use super::*;
    use crate::base64url_decode;

    /// (header, claims, signature, signing input) of a compact token.
    fn parts(token: &str) -> (Value, Value, Vec<u8>, String) {
        let segments: Vec<&str> = token.split('.').collect();
        assert_eq!(segments.len(), 3, "{token}");
        let header = serde_json::from_slice(&base64url_decode(segments[0]).unwrap()).unwrap();
        let claims = serde_json::from_slice(&base64url_decode(segments[1]).unwrap()).unwrap();
        let sig = base64url_decode(segments[2]).unwrap();
        (
            header,
            claims,
            sig,
            format!("{}.{}", segments[0], segments[1]),
        )
    }

    fn names(value: &Value) -> Vec<String> {
        value.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn delegated_v2_shape() {
        let before = now();
        let token = TokenBuilder::delegated().sign();
        let (header, claims, sig, _) = parts(&token);
        assert_eq!(
            header,
            json!({"typ": "JWT", "alg": "RS256", "kid": "testkit-rsa-a"})
        );
        assert!(token.starts_with(&base64url(
            r#"{"typ":"JWT","alg":"RS256","kid":"testkit-rsa-a"}"#
        )));
        assert_eq!(sig.len(), 256);
        assert_eq!(claims["aud"], ids::API_CLIENT_ID);
        assert_eq!(
            claims["iss"],
            format!("https://login.microsoftonline.com/{TENANT_ID}/v2.0")
        );
        assert_eq!(claims["tid"], TENANT_ID);
        assert_eq!(claims["azp"], CLIENT_APP_ID);
        assert_eq!(claims["azpacr"], "0");
        assert_eq!(claims["name"], USER_NAME);
        assert_eq!(claims["oid"], USER_OID);
        assert_eq!(claims["preferred_username"], USER_UPN);
        assert_eq!(claims["scp"], "access_as_user");
        assert_eq!(claims["sub"], USER_SUB);
        assert_eq!(claims["ver"], "2.0");
        let iat = claims["iat"].as_i64().unwrap();
        assert!(iat >= before && iat <= now());
        assert_eq!(claims["nbf"].as_i64(), Some(iat));
        assert_eq!(claims["exp"].as_i64(), Some(iat + 3600));
        for absent in ["idtyp", "roles", "appid", "upn", "nonce"] {
            assert!(claims.get(absent).is_none(), "{absent}");
        }
        let mut expected = vec![
            "aio",
            "aud",
            "azp",
            "azpacr",
            "exp",
            "iat",
            "iss",
            "name",
            "nbf",
            "oid",
            "preferred_username",
            "rh",
            "scp",
            "sub",
            "tid",
            "uti",
            "ver",
        ];
        expected.sort_unstable();
        assert_eq!(names(&claims), expected);
    }

    #[test]
    fn signed_bytes_keep_entra_order() {
        let text = TokenBuilder::delegated()
            .issued_at(1_700_000_000)
            .claims_text();
        assert!(text.starts_with(
            r#"{"aud":"c4e8a2d1-7b3f-4e9a-8d56-1f0b9c3e7a24","iss":"https://login.microsoftonline.com/"#
        ));
        assert!(text.ends_with(r#""ver":"2.0"}"#));
        assert!(text.contains(r#""iat":1700000000,"nbf":1700000000,"exp":1700003600"#));
    }

    #[test]
    fn delegated_v1_shape() {
        let (header, claims, _, _) = parts(&TokenBuilder::delegated().v1().sign());
        assert_eq!(header["x5t"], TestKey::rsa_a().x5t());
        assert_eq!(header["kid"], "testkit-rsa-a");
        assert_eq!(claims["aud"], ids::API_APP_ID_URI);
        assert_eq!(
            claims["iss"],
            format!("https://sts.windows.net/{TENANT_ID}/")
        );
        assert_eq!(claims["appid"], CLIENT_APP_ID);
        assert_eq!(claims["appidacr"], "0");
        assert_eq!(claims["upn"], USER_UPN);
        assert_eq!(claims["unique_name"], USER_UPN);
        assert_eq!(claims["ver"], "1.0");
        for absent in ["azp", "azpacr", "preferred_username"] {
            assert!(claims.get(absent).is_none(), "{absent}");
        }
        // Back to v2.
        let claims = TokenBuilder::delegated().v1().v2().claims_json();
        assert_eq!(claims["ver"], "2.0");
    }

    #[test]
    fn app_shapes() {
        let (_, claims, _, _) = parts(&TokenBuilder::app().sign());
        assert_eq!(claims["roles"], json!(["Files.Write"]));
        assert!(claims.get("idtyp").is_none());
        assert_eq!(claims["oid"], APP_OID);
        assert_eq!(claims["sub"], APP_OID);
        assert_eq!(claims["azp"], CLIENT_APP_ID);
        assert_eq!(claims["azpacr"], "1");
        for absent in ["scp", "name", "preferred_username", "upn"] {
            assert!(claims.get(absent).is_none(), "{absent}");
        }
        let (_, claims, _, _) = parts(&TokenBuilder::app().v1().roles(["A", "B"]).sign());
        assert_eq!(claims["roles"], json!(["A", "B"]));
        assert_eq!(claims["appid"], CLIENT_APP_ID);
        assert_eq!(claims["appidacr"], "1");
        assert_eq!(claims["aud"], ids::API_APP_ID_URI);
        assert_eq!(claims["ver"], "1.0");
        assert!(claims.get("upn").is_none());
    }

    #[test]
    fn id_token_and_graph_token() {
        let claims = TokenBuilder::id_token().claims_json();
        assert_eq!(claims["aud"], ids::API_CLIENT_ID);
        assert!(claims["nonce"].is_string());
        for absent in ["scp", "roles", "azp", "appid"] {
            assert!(claims.get(absent).is_none(), "{absent}");
        }
        let (header, claims, _, _) = parts(&TokenBuilder::graph_token().sign());
        assert!(header["nonce"].is_string());
        assert_eq!(header["x5t"], TestKey::rsa_a().x5t());
        assert_eq!(claims["aud"], GRAPH_APP_ID);
        assert_eq!(claims["ver"], "1.0");
    }

    #[test]
    fn edits_apply_in_order_and_shape_setters_stay_consistent() {
        let builder = TokenBuilder::delegated()
            .scopes("Case.Create Files.Read")
            .claim("tid", json!(ids::OTHER_TENANT_ID))
            .claim("tid", json!("last"))
            .remove("nbf")
            .audience("api://x")
            .idtyp("user")
            .header("typ", json!("at+jwt"))
            .kid("other")
            .key(TestKey::rsa_b())
            .alg("RS384")
            .issued_at(1_000)
            .expires_in(-600);
        let claims = builder.claims_json();
        assert_eq!(claims["scp"], "Case.Create Files.Read");
        assert_eq!(claims["tid"], "last");
        assert!(claims.get("nbf").is_none());
        assert_eq!(claims["aud"], "api://x");
        assert_eq!(claims["idtyp"], "user");
        assert_eq!(claims["iat"], 1_000);
        assert_eq!(claims["exp"], 400);
        let header = builder.header_json();
        assert_eq!(
            header,
            json!({"typ": "at+jwt", "alg": "RS384", "kid": "other"})
        );

        let (_, _, sig, input) = parts(&builder.sign());
        let (n, e) = TestKey::rsa_b().rsa_public_components().unwrap();
        RsaPublicKeyComponents { n, e }
            .verify(
                &signature::RSA_PKCS1_2048_8192_SHA384,
                input.as_bytes(),
                &sig,
            )
            .unwrap();

        let claims = TokenBuilder::delegated().tenant("t2").claims_json();
        assert_eq!(
            (&claims["tid"], &claims["iss"]),
            (&json!("t2"), &json!(ids::v2_issuer("t2")))
        );
        let claims = TokenBuilder::delegated().v1().tenant("t3").claims_json();
        assert_eq!(claims["iss"], ids::v1_issuer("t3"));
        let claims = TokenBuilder::delegated()
            .not_before_in(60)
            .issued_at(10)
            .claims_json();
        assert_eq!(claims["nbf"], 70);
        let header = TokenBuilder::delegated()
            .remove_header("kid")
            .header("alg", "none")
            .header_json();
        assert_eq!(header, json!({"typ": "JWT", "alg": "none"}));
    }

    #[test]
    fn header_alg_edit_does_not_change_signing_alg() {
        let builder = TokenBuilder::delegated().header("alg", "PS256");
        assert_eq!(builder.signing_alg(), "RS256");
        let (header, _, sig, input) = parts(&builder.sign());
        assert_eq!(header["alg"], "PS256");
        let (n, e) = TestKey::rsa_a().rsa_public_components().unwrap();
        RsaPublicKeyComponents { n, e }
            .verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                input.as_bytes(),
                &sig,
            )
            .unwrap();
    }

    #[test]
    fn rs256_token_verifies_against_published_jwk() {
        let (_, _, sig, input) = parts(&TokenBuilder::delegated().sign());
        let jwk = TestKey::rsa_a().jwk();
        let n = base64url_decode(jwk["n"].as_str().unwrap()).unwrap();
        let e = base64url_decode(jwk["e"].as_str().unwrap()).unwrap();
        let public = RsaPublicKeyComponents { n: &n, e: &e };
        public
            .verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                input.as_bytes(),
                &sig,
            )
            .unwrap();
        let other = TestKey::rsa_b().rsa_public_components().unwrap();
        assert!(
            RsaPublicKeyComponents {
                n: other.0,
                e: other.1
            }
            .verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                input.as_bytes(),
                &sig
            )
            .is_err()
        );
    }

    #[test]
    fn ec_key_defaults_to_es256() {
        let builder = TokenBuilder::delegated().key(TestKey::ec_p256());
        let (header, _, sig, input) = parts(&builder.sign());
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], "testkit-ec-p256");
        assert_eq!(sig.len(), 64);
        UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            TestKey::ec_p256().ec_public_point().unwrap(),
        )
        .verify(input.as_bytes(), &sig)
        .unwrap();
    }

    #[test]
    fn a_token_can_name_the_public_only_weak_key() {
        let token = TokenBuilder::delegated()
            .kid(TestKey::rsa_1024().kid())
            .sign();
        let (header, _, sig, _) = parts(&token);
        assert_eq!(header["kid"], "testkit-rsa-1024");
        assert_eq!(sig.len(), 256, "signed by rsa-a");
    }

    #[test]
    #[should_panic(expected = "cannot sign with alg \"HS256\"")]
    fn hmac_alg_panics() {
        let _ = TokenBuilder::delegated().alg("HS256").sign();
    }

    #[test]
    fn issuers() {
        assert_eq!(ids::v1_issuer("abc"), "https://sts.windows.net/abc/");
        assert_eq!(
            ids::v2_issuer("abc"),
            "https://login.microsoftonline.com/abc/v2.0"
        );
    }
}
