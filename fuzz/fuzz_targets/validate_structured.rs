//! Structured tokens: a JOSE header and claims built from interesting values (or free-form
//! bytes), encoding tweaks, and — by default — a genuine signature by a testkit key, so the
//! fuzzer reaches every claim rule past the signature check.
//!
//! Every field's first variant is the value of a valid token, so the empty input is a token the
//! validator accepts, and each mutation moves one step away from it. Whatever the validator
//! accepts must pass `tower_entra_fuzz::check_accepted` (issuer, tenant, audience, lifetime,
//! alg, canonical encoding, independent signature check).
#![no_main]

use arbitrary::Arbitrary;
use auth_layer::{AuthError, Challenge};
use auth_testkit::{TestKey, base64url, dangerous, ids};
use libfuzzer_sys::fuzz_target;
use tower_entra_fuzz::{NOW, check_accepted, check_challenge, debug, keys, validator};

#[derive(Arbitrary, Debug)]
struct Input {
    signer: Signer,
    header: Part<HeaderSpec>,
    claims: Part<ClaimsSpec>,
    header_encoding: SegmentTweak,
    payload_encoding: SegmentTweak,
    signature: SignatureTweak,
    token: TokenTweak,
}

/// Who signs, with which algorithm (always a combination the key can sign).
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Signer {
    RsaA,
    EcP256,
    RsaB,
    RsaUntrusted,
    RsaAPs256,
    RsaARs384,
    /// An empty signature.
    Unsigned,
    /// No real signature: these bytes, base64url-encoded.
    Garbage(u8, u16),
}

impl Signer {
    fn key_alg(self) -> Option<(&'static TestKey, &'static str)> {
        Some(match self {
            Signer::RsaA => (TestKey::rsa_a(), "RS256"),
            Signer::EcP256 => (TestKey::ec_p256(), "ES256"),
            Signer::RsaB => (TestKey::rsa_b(), "RS256"),
            Signer::RsaUntrusted => (TestKey::rsa_untrusted(), "RS256"),
            Signer::RsaAPs256 => (TestKey::rsa_a(), "PS256"),
            Signer::RsaARs384 => (TestKey::rsa_a(), "RS384"),
            Signer::Unsigned | Signer::Garbage(..) => return None,
        })
    }
    /// The `alg` and `kid` a valid header would carry.
    fn header_defaults(self) -> (&'static str, &'static str) {
        match self.key_alg() {
            Some((key, alg)) => (alg, key.kid()),
            None => ("RS256", TestKey::rsa_a().kid()),
        }
    }
}

/// Structured JSON, or free-form bytes.
#[derive(Arbitrary, Debug)]
enum Part<T> {
    Structured(T),
    Raw(Vec<u8>),
}

/// One member: the valid value (which may be "absent"), a value from the member's list of
/// interesting values, absent, or any JSON.
#[derive(Arbitrary, Debug)]
enum Member<T> {
    Default,
    Pick(T),
    Absent,
    Any(Json),
}

#[derive(Arbitrary, Debug)]
struct HeaderSpec {
    typ: Member<u8>,
    alg: Member<u8>,
    kid: Member<u8>,
    x5t: Member<u8>,
    extra: Vec<(u8, Json)>,
    layout: Layout,
}

#[derive(Arbitrary, Debug)]
struct ClaimsSpec {
    aud: Member<Aud>,
    iss: Member<u8>,
    iat: Member<Time>,
    nbf: Member<Time>,
    exp: Member<Time>,
    tid: Member<u8>,
    scp: Member<Scopes>,
    roles: Member<Vec<u8>>,
    idtyp: Member<u8>,
    azp: Member<u8>,
    ver: Member<u8>,
    extra: Vec<(u8, Json)>,
    layout: Layout,
}

/// How an object's members are laid out as text.
#[derive(Arbitrary, Debug)]
struct Layout {
    /// Whitespace between tokens (index into `WHITESPACE`; 0 = none).
    whitespace: u8,
    reverse: bool,
    /// Repeat the member at this index (modulo the count) with another value.
    duplicate: Option<(u8, Json)>,
    /// Write the member at this index with an escaped name (`"\u0061lg"`).
    escape_name: Option<u8>,
    /// A byte-order mark before the object.
    bom: bool,
    /// Text after the object (index into `TRAILERS`; 0 = nothing).
    trailer: u8,
}

#[derive(Arbitrary, Debug)]
enum Aud {
    One(u8),
    Many(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Scopes {
    Text(u8),
    Array(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Time {
    /// `NOW + offset` seconds.
    Offset(i16),
    /// `NOW + offset + fraction/256`, written as a decimal.
    Fraction(i16, u8),
    /// A special spelling (index into `TIME_TEXTS`).
    Special(u8),
    /// Any integer.
    Int(i64),
    /// Any float.
    Float(f64),
}

/// Any JSON value, nesting bounded by construction.
#[derive(Arbitrary, Debug)]
enum Json {
    Scalar(Scalar),
    Array(Vec<Scalar>),
    Object(Vec<(String, Scalar)>),
    /// `depth` nested arrays around a scalar (crosses serde_json's recursion limit of 128).
    Nested(u8, Scalar),
}

#[derive(Arbitrary, Debug)]
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    /// Literal JSON text (index into `JSON_TEXTS`), possibly invalid.
    Text(u8),
}

#[derive(Arbitrary, Debug)]
enum SegmentTweak {
    None,
    /// `=` padding (when the length needs it; `==` otherwise).
    Pad,
    /// `-`/`_` to `+`/`/` (and a `+` at the end when there was none).
    StandardAlphabet,
    /// Insert a whitespace byte at this position.
    Whitespace(u16, u8),
    /// Set a discarded trailing bit of the last character.
    TrailingBits,
    /// Replace the byte at this position with this one.
    Replace(u16, u8),
}

#[derive(Arbitrary, Debug)]
enum SignatureTweak {
    None,
    Segment(SegmentTweak),
    Truncate(u16),
    FlipBit(u16),
    Empty,
    /// Prepend a zero byte to the signature.
    LeadingZero,
}

#[derive(Arbitrary, Debug)]
enum TokenTweak {
    None,
    LeadingSpace,
    TrailingNewline,
    ExtraSegment,
    TwoSegments,
    Prefix(u8),
}

const ALGS: &[&str] = &[
    "RS256", "ES256", "none", "None", "NONE", "nOnE", "HS256", "HS384", "HS512", "PS256", "RS384",
    "RS512", "ES384", "PS512", "EdDSA", "ES256K", "rs256", "RS256 ", " RS256", "", "RSA-OAEP",
    "dir", "A128GCM",
];
const TYPS: &[&str] = &[
    "JWT",
    "jwt",
    "at+jwt",
    "AT+JWT",
    "application/at+jwt",
    "application/jwt",
    "JOSE",
    "JOSE+JSON",
    "id_token",
    "",
    "JWT ",
    "logout+jwt",
];
/// Header member names as JSON text (so escaped spellings are possible).
const HEADER_NAMES: &[&str] = &[
    r#""crit""#,
    r#""jku""#,
    r#""x5u""#,
    r#""jwk""#,
    r#""x5c""#,
    r#""nonce""#,
    r#""enc""#,
    r#""zip""#,
    r#""b64""#,
    r#""cty""#,
    r#""x5t#S256""#,
    r#""alg""#,
    r#""kid""#,
    r#""typ""#,
    r#""x5t""#,
    r#""\u0061lg""#,
    r#""\u006bid""#,
    r#""ALG""#,
    r#""alg ""#,
    r#""""#,
    r#""foo""#,
    r#""iss""#,
    r#""epk""#,
    r#""p2s""#,
    r#""url""#,
    r#""\ud800""#,
];
const ISSUERS: &[&str] = &[
    "https://sts.windows.net/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/",
    "https://login.microsoftonline.com/2b7d4c19-3e5a-4f81-b6c2-9d0e1a4f7c63/v2.0",
    "https://sts.windows.net/2b7d4c19-3e5a-4f81-b6c2-9d0e1a4f7c63/",
    "https://login.microsoftonline.com/8F0E8C5E-6F0B-4D8E-9A43-5C1D2B7A9E10/v2.0",
    "https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/v2.0/",
    "https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10",
    "https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/",
    "https://sts.windows.net/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10",
    "https://sts.windows.net/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/v2.0",
    "https://login.microsoftonline.com/common/v2.0",
    "https://login.microsoftonline.com/organizations/v2.0",
    "https://login.microsoftonline.com/{tenantid}/v2.0",
    "http://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/v2.0",
    "https://login.microsoftonline.com.evil.example/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/v2.0",
    "https://evil.example/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/v2.0",
    "https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/v2.0\u{0}",
    " https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/v2.0",
    "https://login.microsoftonline.com//8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/v2.0",
    "https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10/v2.0/../v2.0",
    "https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e1/v2.0",
    "https://login.microsoftonline.com/8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10x/v2.0",
    "",
];
const AUDIENCES: &[&str] = &[
    ids::API_CLIENT_ID,
    "api://c4e8a2d1-7b3f-4e9a-8d56-1f0b9c3e7a24",
    ids::API_APP_ID_URI,
    "api://tower-entra-test-api/",
    "c4e8a2d1-7b3f-4e9a-8d56-1f0b9c3e7a24/",
    "api://tower-entra-test-api//",
    "C4E8A2D1-7B3F-4E9A-8D56-1F0B9C3E7A24",
    ids::GRAPH_APP_ID,
    ids::CLIENT_APP_ID,
    "https://graph.microsoft.com",
    "api://tower-entra-test-api ",
    "",
    "/",
];
const TENANTS: &[&str] = &[
    ids::TENANT_ID,
    ids::OTHER_TENANT_ID,
    "8F0E8C5E-6F0B-4D8E-9A43-5C1D2B7A9E10",
    "common",
    "",
    "8f0e8c5e-6f0b-4d8e-9a43-5c1d2b7a9e10 ",
];
const SCOPES: &[&str] = &[
    "access_as_user",
    "",
    " ",
    "Case.Create Files.Read",
    "a  b",
    "a a",
    "\u{0}",
    "Case.Create",
];
const ROLES: &[&str] = &["Files.Write", "", "Admin", "Files.Write Admin"];
const IDTYPS: &[&str] = &["app", "user", "App", "", "device", "app "];
const CLIENTS: &[&str] = &[
    ids::CLIENT_APP_ID,
    ids::API_CLIENT_ID,
    ids::OTHER_CLIENT_APP_ID,
    "",
];
const VERSIONS: &[&str] = &["2.0", "1.0", "3.0", ""];
/// Extra claim names as JSON text.
const CLAIM_NAMES: &[&str] = &[
    r#""nonce""#,
    r#""c_hash""#,
    r#""at_hash""#,
    r#""_claim_names""#,
    r#""hasgroups""#,
    r#""groups""#,
    r#""wids""#,
    r#""xms_cc""#,
    r#""appid""#,
    r#""client_id""#,
    r#""sub""#,
    r#""oid""#,
    r#""scope""#,
    r#""upn""#,
    r#""name""#,
    r#""preferred_username""#,
    r#""azpacr""#,
    r#""appidacr""#,
    r#""uti""#,
    r#""\u0069ss""#,
    r#""\u0061ud""#,
    r#""\u0065xp""#,
    r#""iss ""#,
    r#""ISS""#,
    r#""aud""#,
    r#""exp""#,
    r#""tid""#,
    r#""nbf""#,
    r#""foo""#,
];
const TIME_TEXTS: &[&str] = &[
    "1750003600",
    "1750003600.0",
    "1.7500036e9",
    "1750003600e0",
    "17500036E2",
    "-0",
    "0",
    "-1",
    "1749999940",
    "1749999939",
    "1749999940.5",
    "1750000060",
    "1750000061",
    "1750000060.5",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "9.3e18",
    "1e308",
    "1e999",
    "-1e999",
    "\"1750003600\"",
    "null",
    "true",
    "[1750003600]",
    "1750003600.000000000000000000001",
    "0.0000001e16",
];
const JSON_TEXTS: &[&str] = &[
    "1e999",
    "-0",
    "0.0",
    "1E2",
    r#""\ud800""#,
    r#""\udc00\ud800""#,
    r#""\u0000""#,
    "[]",
    "{}",
    r#"{"a":1,"a":2}"#,
    r#"{"a":1,"\u0061":2}"#,
    "tru",
    "nul",
    "01",
    "1.",
    ".5",
    "+1",
    "0x10",
    "NaN",
    "Infinity",
    r#""\x41""#,
    "\"\u{7f}\"",
    "\"\t\"",
    "[1,]",
    r#"{"a":1,}"#,
    "'a'",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
];
const WHITESPACE: &[&str] = &[
    "", " ", "\n", "\t", "\r\n", "\u{a0}", "\u{feff}", "\u{0}", "\u{b}",
];
const TRAILERS: &[&str] = &["", " ", "\n", "x", "{}", ",", "\u{0}", "// c"];
const PREFIXES: &[&str] = &["Bearer ", "bearer ", "\"", "'", "=", ".", "\u{feff}"];

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn render_scalar(s: &Scalar) -> String {
    match s {
        Scalar::Null => "null".into(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(i) => i.to_string(),
        Scalar::UInt(u) => u.to_string(),
        Scalar::Float(f) if f.is_finite() => format!("{f:?}"),
        Scalar::Float(_) => "1e999".into(),
        Scalar::Str(s) => json_str(s),
        Scalar::Text(i) => pick(JSON_TEXTS, *i).into(),
    }
}

fn render_json(j: &Json) -> String {
    match j {
        Json::Scalar(s) => render_scalar(s),
        Json::Array(items) => {
            format!(
                "[{}]",
                items
                    .iter()
                    .map(render_scalar)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
        Json::Object(members) => format!(
            "{{{}}}",
            members
                .iter()
                .map(|(k, v)| format!("{}:{}", json_str(k), render_scalar(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Json::Nested(depth, s) => {
            let d = usize::from(*depth);
            format!("{}{}{}", "[".repeat(d), render_scalar(s), "]".repeat(d))
        }
    }
}

fn render_time(t: &Time) -> String {
    match t {
        Time::Offset(o) => (NOW + i64::from(*o)).to_string(),
        Time::Fraction(o, f) => {
            let v = NOW as f64 + f64::from(*o) + f64::from(*f) / 256.0;
            format!("{v:?}")
        }
        Time::Special(i) => pick(TIME_TEXTS, *i).into(),
        Time::Int(i) => i.to_string(),
        Time::Float(f) if f.is_finite() => format!("{f:?}"),
        Time::Float(_) => "1e999".into(),
    }
}

/// Pushes member `name` (JSON text) rendered from `m`; `default` is the valid value's JSON text
/// (`None`: absent by default); `pick` renders a listed value.
fn push<T>(
    out: &mut Vec<(String, String)>,
    name: &str,
    m: &Member<T>,
    default: Option<String>,
    pick: impl FnOnce(&T) -> String,
) {
    let value = match m {
        Member::Default => default,
        Member::Pick(t) => Some(pick(t)),
        Member::Absent => None,
        Member::Any(j) => Some(render_json(j)),
    };
    if let Some(v) = value {
        out.push((json_str(name), v));
    }
}

fn render_object(
    mut members: Vec<(String, String)>,
    extra: &[(u8, Json)],
    names: &[&str],
    layout: &Layout,
) -> Vec<u8> {
    for (name, value) in extra {
        members.push((pick(names, *name).to_owned(), render_json(value)));
    }
    if let Some((i, value)) = &layout.duplicate
        && !members.is_empty()
    {
        let name = members[usize::from(*i) % members.len()].0.clone();
        members.push((name, render_json(value)));
    }
    if let Some(i) = layout.escape_name
        && !members.is_empty()
    {
        let n = members.len();
        let name = &mut members[usize::from(i) % n].0;
        // `"alg"` becomes `"\u0061lg"`: the same member name to a JSON parser.
        if let Some(first) = name[1..].chars().next().filter(char::is_ascii_alphanumeric) {
            *name = format!("\"\\u{:04x}{}", u32::from(first), &name[2..]);
        }
    }
    if layout.reverse {
        members.reverse();
    }
    let ws = pick(WHITESPACE, layout.whitespace);
    let mut text = String::new();
    if layout.bom {
        text.push('\u{feff}');
    }
    text.push('{');
    for (i, (name, value)) in members.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(ws);
        text.push_str(name);
        text.push_str(ws);
        text.push(':');
        text.push_str(ws);
        text.push_str(value);
    }
    text.push_str(ws);
    text.push('}');
    text.push_str(pick(TRAILERS, layout.trailer));
    text.into_bytes()
}

fn header_bytes(spec: &HeaderSpec, signer: Signer) -> Vec<u8> {
    let (alg, kid) = signer.header_defaults();
    let mut m = Vec::new();
    push(&mut m, "typ", &spec.typ, Some(json_str("JWT")), |i| {
        json_str(pick(TYPS, *i))
    });
    push(&mut m, "alg", &spec.alg, Some(json_str(alg)), |i| {
        json_str(pick(ALGS, *i))
    });
    push(&mut m, "kid", &spec.kid, Some(json_str(kid)), |i| {
        json_str(&kid_choice(*i))
    });
    push(&mut m, "x5t", &spec.x5t, None, |i| {
        json_str(&kid_choice(*i))
    });
    render_object(m, &spec.extra, HEADER_NAMES, &spec.layout)
}

/// Key ids and thumbprints worth trying: every testkit key's, and hostile ones.
fn kid_choice(i: u8) -> String {
    let keys = TestKey::all();
    let n = keys.len();
    let i = usize::from(i);
    match i % (2 * n + 8) {
        k if k < n => keys[k].kid().to_owned(),
        k if k < 2 * n => keys[k - n].x5t().to_owned(),
        k => match k - 2 * n {
            0 => String::new(),
            1 => "a".repeat(256),
            2 => "a".repeat(257),
            3 => "testkit-rsa-a\n".into(),
            4 => "TESTKIT-RSA-A".into(),
            5 => "testkit-rsa-a\u{0}".into(),
            6 => "../../../etc/passwd".into(),
            _ => " testkit-rsa-a".into(),
        },
    }
}

fn claims_bytes(spec: &ClaimsSpec) -> Vec<u8> {
    let s = |list: &[&str], i: &u8| json_str(pick(list, *i));
    let mut m = Vec::new();
    push(
        &mut m,
        "aud",
        &spec.aud,
        Some(json_str(ids::API_CLIENT_ID)),
        |a| match a {
            Aud::One(i) => s(AUDIENCES, i),
            Aud::Many(v) => format!(
                "[{}]",
                v.iter()
                    .map(|i| s(AUDIENCES, i))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        },
    );
    push(
        &mut m,
        "iss",
        &spec.iss,
        Some(json_str(&ids::v2_issuer(ids::TENANT_ID))),
        |i| s(ISSUERS, i),
    );
    push(&mut m, "iat", &spec.iat, Some(NOW.to_string()), render_time);
    push(&mut m, "nbf", &spec.nbf, Some(NOW.to_string()), render_time);
    push(
        &mut m,
        "exp",
        &spec.exp,
        Some((NOW + 3600).to_string()),
        render_time,
    );
    push(
        &mut m,
        "tid",
        &spec.tid,
        Some(json_str(ids::TENANT_ID)),
        |i| s(TENANTS, i),
    );
    push(
        &mut m,
        "scp",
        &spec.scp,
        Some(json_str("access_as_user")),
        |sc| match sc {
            Scopes::Text(i) => s(SCOPES, i),
            Scopes::Array(v) => format!(
                "[{}]",
                v.iter().map(|i| s(SCOPES, i)).collect::<Vec<_>>().join(",")
            ),
        },
    );
    push(&mut m, "roles", &spec.roles, None, |v| {
        format!(
            "[{}]",
            v.iter().map(|i| s(ROLES, i)).collect::<Vec<_>>().join(",")
        )
    });
    push(&mut m, "idtyp", &spec.idtyp, None, |i| s(IDTYPS, i));
    push(
        &mut m,
        "azp",
        &spec.azp,
        Some(json_str(ids::CLIENT_APP_ID)),
        |i| s(CLIENTS, i),
    );
    push(&mut m, "ver", &spec.ver, Some(json_str("2.0")), |i| {
        s(VERSIONS, i)
    });
    push(
        &mut m,
        "sub",
        &Member::<u8>::Default,
        Some(json_str(ids::USER_SUB)),
        |_| String::new(),
    );
    render_object(m, &spec.extra, CLAIM_NAMES, &spec.layout)
}

const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn tweak_segment(segment: &str, tweak: &SegmentTweak) -> String {
    match tweak {
        SegmentTweak::None => segment.to_owned(),
        SegmentTweak::Pad => {
            let pad = (4 - segment.len() % 4) % 4;
            format!("{segment}{}", "=".repeat(if pad == 0 { 2 } else { pad }))
        }
        SegmentTweak::StandardAlphabet => {
            let s = segment.replace('-', "+").replace('_', "/");
            if s == segment { format!("{s}+") } else { s }
        }
        SegmentTweak::Whitespace(pos, which) => {
            let mut s = segment.to_owned();
            let at = usize::from(*pos) % (s.len() + 1);
            let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
            s.insert_str(
                at,
                pick(&[" ", "\n", "\r\n", "\t", "\u{a0}", "\u{0}"], *which),
            );
            s
        }
        SegmentTweak::TrailingBits => {
            let mut bytes = segment.as_bytes().to_vec();
            if let Some(last) = bytes.last_mut()
                && let Some(i) = STD.iter().position(|c| c == last)
                && matches!(segment.len() % 4, 2 | 3)
            {
                *last = STD[i | 1];
            }
            String::from_utf8(bytes).unwrap_or_default()
        }
        SegmentTweak::Replace(pos, byte) => {
            let mut bytes = segment.as_bytes().to_vec();
            if !bytes.is_empty() {
                let i = usize::from(*pos) % bytes.len();
                bytes[i] = *byte;
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }
}

fn build_token(input: &Input) -> String {
    let header = match &input.header {
        Part::Structured(spec) => header_bytes(spec, input.signer),
        Part::Raw(bytes) => bytes.clone(),
    };
    let payload = match &input.claims {
        Part::Structured(spec) => claims_bytes(spec),
        Part::Raw(bytes) => bytes.clone(),
    };
    let header_b64 = tweak_segment(&base64url(&header), &input.header_encoding);
    let payload_b64 = tweak_segment(&base64url(&payload), &input.payload_encoding);
    // The JWS signing input is the encoded text, so encoding tweaks are signed too.
    let token = match input.signer.key_alg() {
        Some((key, alg)) => dangerous::sign_segments(&header_b64, &payload_b64, key, alg),
        None => {
            let sig = match input.signer {
                Signer::Garbage(byte, len) => base64url(vec![byte; usize::from(len % 1100)]),
                _ => String::new(),
            };
            dangerous::assemble(&header_b64, &payload_b64, &sig)
        }
    };
    let (signing_input, signature) = token.rsplit_once('.').expect("three segments");
    let signature = match &input.signature {
        SignatureTweak::None => signature.to_owned(),
        SignatureTweak::Segment(t) => tweak_segment(signature, t),
        SignatureTweak::Truncate(n) => signature[..usize::from(*n).min(signature.len())].to_owned(),
        SignatureTweak::FlipBit(bit) => {
            let mut bytes = auth_testkit::base64url_decode(signature).unwrap_or_default();
            if !bytes.is_empty() {
                let bit = usize::from(*bit) % (bytes.len() * 8);
                bytes[bit / 8] ^= 1 << (bit % 8);
            }
            base64url(bytes)
        }
        SignatureTweak::Empty => String::new(),
        SignatureTweak::LeadingZero => {
            let mut bytes = vec![0];
            bytes.extend(auth_testkit::base64url_decode(signature).unwrap_or_default());
            base64url(bytes)
        }
    };
    let token = format!("{signing_input}.{signature}");
    match input.token {
        TokenTweak::None => token,
        TokenTweak::LeadingSpace => format!(" {token}"),
        TokenTweak::TrailingNewline => format!("{token}\n"),
        TokenTweak::ExtraSegment => format!("{token}.{signature}"),
        TokenTweak::TwoSegments => signing_input.to_owned(),
        TokenTweak::Prefix(i) => format!("{}{token}", pick(PREFIXES, i)),
    }
}

fuzz_target!(|data: &[u8]| {
    let input = match Input::arbitrary_take_rest(arbitrary::Unstructured::new(data)) {
        Ok(input) => input,
        Err(e) => {
            if debug() {
                eprintln!("not an Input: {e}");
            }
            return;
        }
    };
    let token = build_token(&input);
    let result = validator().validate(&token, keys());
    if debug() {
        eprintln!("{input:#?}\ntoken: {token}\nresult: {result:?}");
    }
    match result {
        Ok(claims) => check_accepted(&token, &claims),
        Err(err) => check_challenge(&AuthError::InvalidToken(err), &Challenge::default()),
    }
});
