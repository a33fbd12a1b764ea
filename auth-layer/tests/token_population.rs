//! The token population (issue 13): real-shaped tokens of Entra ID, Okta, Auth0, Keycloak and
//! panva's `oidc-provider`, each with the kind or the refusal it must get. The shapes follow
//! the providers' documentation and public token samples (sources in `docs/security.md`,
//! "Token classification"), not this project's testkit defaults; the same table is there.

use auth_layer::{KeySet, Profile, TokenKind, ValidationError, Validator};
use auth_testkit::ids::{API_APP_ID_URI, API_CLIENT_ID, GRAPH_APP_ID, TENANT_ID};
use auth_testkit::{TokenBuilder, default_keyset};
use serde_json::json;

type Expected = Result<TokenKind, ValidationError>;

const APP: Expected = Ok(TokenKind::App);
const USER: Expected = Ok(TokenKind::Delegated);

fn entra() -> Validator {
    Validator::builder()
        .tenant_id(TENANT_ID)
        .client_id(API_CLIENT_ID)
        .audience(API_APP_ID_URI)
        .build()
        .unwrap()
}

fn provider(issuer: &str, audience: &str, profile: Option<Profile>) -> Validator {
    let b = Validator::builder().issuer(issuer).audience(audience);
    match profile {
        Some(p) => b.profile(p),
        None => b,
    }
    .build()
    .unwrap()
}

/// A bare JWT for a non-Entra issuer: the testkit's lifetime and key, none of Entra's claims.
fn oidc(issuer: &str, audience: &str) -> TokenBuilder {
    let mut b = TokenBuilder::delegated();
    for claim in [
        "tid",
        "oid",
        "azp",
        "azpacr",
        "name",
        "preferred_username",
        "rh",
        "aio",
        "uti",
        "ver",
        "scp",
        "sub",
    ] {
        b = b.remove(claim);
    }
    b.claim("iss", issuer).audience(audience)
}

const OKTA: &str = "https://example.okta.com/oauth2/default";
const AUTH0: &str = "https://example.eu.auth0.com/";
const KEYCLOAK: &str = "https://sso.example.com/realms/acme";
const PANVA: &str = "https://op.example.com";

fn population() -> Vec<(&'static str, Validator, String, Expected)> {
    let keycloak = || Some(Profile::keycloak());
    vec![
        // --- Entra ID (default profile for Entra issuers) ---
        (
            "entra v2 app, consented, no idtyp",
            entra(),
            TokenBuilder::app().sign(),
            APP,
        ),
        (
            "entra v2 app, unconsented (no roles, no scp, no idtyp)",
            entra(),
            TokenBuilder::app().remove("roles").sign(),
            APP,
        ),
        (
            "entra v2 app with idtyp=app",
            entra(),
            TokenBuilder::app().idtyp("app").sign(),
            APP,
        ),
        (
            "entra v1 app (appid, oid == sub, no roles)",
            entra(),
            TokenBuilder::app().v1().remove("roles").sign(),
            APP,
        ),
        (
            "entra v2 delegated",
            entra(),
            TokenBuilder::delegated().sign(),
            USER,
        ),
        (
            "entra v1 delegated",
            entra(),
            TokenBuilder::delegated().v1().sign(),
            USER,
        ),
        (
            "entra delegated with idtyp=user",
            entra(),
            TokenBuilder::delegated().idtyp("user").sign(),
            USER,
        ),
        (
            "entra delegated with user-assigned roles",
            entra(),
            TokenBuilder::delegated().roles(["Files.Write"]).sign(),
            USER,
        ),
        (
            "entra delegated, scp swapped for roles",
            entra(),
            TokenBuilder::delegated()
                .remove("scp")
                .roles(["Files.Write"])
                .sign(),
            Err(ValidationError::Unclassified { profile: "entra" }),
        ),
        (
            "entra v2 ID token with nonce",
            entra(),
            TokenBuilder::id_token().sign(),
            Err(ValidationError::IdToken),
        ),
        (
            "entra v2 ID token without nonce, with roles",
            entra(),
            TokenBuilder::id_token()
                .remove("nonce")
                .roles(["Files.Write"])
                .sign(),
            Err(ValidationError::MissingClaim("azp")),
        ),
        (
            "entra v1 ID token without nonce",
            entra(),
            TokenBuilder::id_token()
                .v1()
                .audience(API_CLIENT_ID)
                .remove("nonce")
                .claim("unique_name", "alice@contoso.example")
                .claim("amr", json!(["pwd"]))
                .sign(),
            Err(ValidationError::MissingClaim("appid")),
        ),
        (
            "entra v2 ID token with at_hash",
            entra(),
            TokenBuilder::id_token()
                .remove("nonce")
                .claim("at_hash", "x")
                .sign(),
            Err(ValidationError::IdToken),
        ),
        (
            "Microsoft Graph token (nonce header)",
            entra(),
            TokenBuilder::graph_token().sign(),
            Err(ValidationError::IssuedForAnotherApi),
        ),
        (
            "Microsoft Graph app token (no nonce header)",
            entra(),
            TokenBuilder::app().audience(GRAPH_APP_ID).sign(),
            Err(ValidationError::AudienceMismatch {
                accepted: vec![
                    API_CLIENT_ID.into(),
                    format!("api://{API_CLIENT_ID}"),
                    API_APP_ID_URI.into(),
                ],
            }),
        ),
        // --- Okta (custom authorization server) ---
        (
            "okta user (uid, scp array)",
            provider(OKTA, "api://default", Some(Profile::okta())),
            oidc(OKTA, "api://default")
                .remove_header("typ")
                .claim("ver", 1)
                .claim("jti", "AT.x")
                .claim("cid", "0oa1client")
                .claim("uid", "00u1user")
                .claim("sub", "alice@example.com")
                .claim("scp", json!(["openid", "files.read"]))
                .sign(),
            USER,
        ),
        (
            "okta client credentials (sub == cid)",
            provider(OKTA, "api://default", Some(Profile::okta())),
            oidc(OKTA, "api://default")
                .remove_header("typ")
                .claim("ver", 1)
                .claim("cid", "0oa1client")
                .claim("sub", "0oa1client")
                .claim("scp", json!(["files.write"]))
                .sign(),
            APP,
        ),
        // --- Auth0 ---
        (
            "auth0 machine-to-machine (gty, sub = {azp}@clients)",
            provider(AUTH0, "https://files.example.com", Some(Profile::auth0())),
            oidc(AUTH0, "https://files.example.com")
                .claim("azp", "JjK0kreOPlmX0Gbi")
                .claim("sub", "JjK0kreOPlmX0Gbi@clients")
                .claim("gty", "client-credentials")
                .claim("scope", "files.write")
                .sign(),
            APP,
        ),
        (
            "auth0 user",
            provider(AUTH0, "https://files.example.com", Some(Profile::auth0())),
            oidc(AUTH0, "https://files.example.com")
                .claim("azp", "web")
                .claim("sub", "auth0|64b0")
                .claim("scope", "openid profile files.read")
                .sign(),
            USER,
        ),
        // --- Keycloak ---
        (
            "keycloak service account",
            provider(KEYCLOAK, "account", keycloak()),
            oidc(KEYCLOAK, "account")
                .claim("typ", "Bearer")
                .claim("azp", "nightly-job")
                .claim("sub", "c18502d5-0a22-4ccf-8674-12ec55b10e0b")
                .claim("preferred_username", "service-account-nightly-job")
                .claim("client_id", "nightly-job")
                .claim("scope", "profile email")
                .sign(),
            APP,
        ),
        (
            "keycloak user",
            provider(KEYCLOAK, "account", keycloak()),
            oidc(KEYCLOAK, "account")
                .claim("typ", "Bearer")
                .claim("azp", "web")
                .claim("sub", "5f1c2a7e-3b1d-4c55-9f0e-8d2a6b7c1e90")
                .claim("sid", "s1")
                .claim("preferred_username", "alice")
                .claim("scope", "openid profile")
                .sign(),
            USER,
        ),
        // --- panva oidc-provider (RFC 9068, the default for exact issuers) ---
        (
            "oidc-provider client credentials (sub = client_id)",
            provider(PANVA, "https://files.example.com", None),
            oidc(PANVA, "https://files.example.com")
                .header("typ", json!("at+jwt"))
                .claim("client_id", "svc")
                .claim("sub", "svc")
                .claim("scope", "files.write")
                .sign(),
            APP,
        ),
        (
            "oidc-provider user",
            provider(PANVA, "https://files.example.com", None),
            oidc(PANVA, "https://files.example.com")
                .header("typ", json!("at+jwt"))
                .claim("client_id", "web")
                .claim("sub", "account-1")
                .claim("scope", "openid files.read")
                .sign(),
            USER,
        ),
        (
            "RFC 9068 user token without scope",
            provider(PANVA, "https://files.example.com", None),
            oidc(PANVA, "https://files.example.com")
                .header("typ", json!("application/at+jwt"))
                .claim("client_id", "web")
                .claim("sub", "account-1")
                .sign(),
            USER,
        ),
        (
            "RFC 9068 profile, typ JWT",
            provider(PANVA, "https://files.example.com", None),
            oidc(PANVA, "https://files.example.com")
                .claim("client_id", "svc")
                .claim("sub", "svc")
                .sign(),
            Err(ValidationError::UnacceptedType),
        ),
    ]
}

#[test]
fn every_token_of_the_population_gets_its_expected_kind_or_refusal() {
    let keys: KeySet = default_keyset();
    let mut failures = Vec::new();
    for (name, validator, token, expected) in population() {
        let got = validator.validate(&token, &keys).map(|c| c.kind());
        if got != expected {
            failures.push(format!("{name}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
