//! Client authentication at the token endpoint: `client_secret` in the body, HTTP Basic, or a
//! `client_assertion` (JWT bearer, RS256 + `x5t` or PS256 + `x5t#S256`, signed by a registered
//! certificate).

use std::collections::HashMap;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use serde_json::Value;

use super::errors::AadError;
use super::state::Shared;
use super::sync::lock;
use super::tenant::AppRegistration;
use super::tokens::ClientAuth;
use crate::base64url_decode;

const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest client-assertion lifetime accepted ahead of now.
const MAX_ASSERTION_AHEAD: i64 = 3600;

fn invalid_client(code: u32, message: impl Into<String>) -> AadError {
    AadError::new(StatusCode::UNAUTHORIZED, "invalid_client", code, message)
}

fn bad_assertion(message: impl Into<String>) -> AadError {
    invalid_client(700027, message)
}

/// The client id and secret of an `Authorization: Basic` header (each form-urlencoded, RFC 6749
/// section 2.3.1).
fn basic(headers: &HeaderMap) -> Result<Option<(String, String)>, AadError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || {
        invalid_client(
            7000215,
            "Invalid client secret provided: the Authorization header is not valid HTTP Basic.",
        )
    };
    let value = value.to_str().map_err(|_| malformed())?;
    let Some(encoded) = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, rest)| rest.trim())
    else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| malformed())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    let decode = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()
            .and_then(|mut v| v.pop())
            .map(|(_, v)| v)
    };
    match (decode(id), decode(secret)) {
        (Some(id), Some(secret)) => Ok(Some((id, secret))),
        _ => Err(malformed()),
    }
}

/// Which grant is authenticating: public clients may redeem codes and refresh tokens only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    /// A confidential client must authenticate; a public client need not.
    IfConfidential,
    /// Every client must authenticate (client credentials, On-Behalf-Of).
    Always,
}

/// Authenticates the calling client.
pub(crate) fn authenticate<'t>(
    shared: &'t Shared,
    segment: &str,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    need: Need,
    now: i64,
) -> Result<(&'t AppRegistration, ClientAuth), AadError> {
    let tenant = &shared.tenant;
    let basic = basic(headers)?;
    let body_id = params.get("client_id").filter(|s| !s.is_empty());
    let client_id = match (&basic, body_id) {
        (Some((id, _)), Some(body)) if !id.eq_ignore_ascii_case(body) => {
            return Err(AadError::bad(
                "invalid_request",
                900144,
                "The client_id in the request body does not match the one in the Authorization \
                 header.",
            ));
        }
        (Some((id, _)), _) => id.clone(),
        (None, Some(body)) => body.clone(),
        (None, None) => {
            return Err(AadError::bad(
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            ));
        }
    };
    let app = tenant.app_by_client_id(&client_id).ok_or_else(|| {
        AadError::bad(
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. \
                 This can happen if the application has not been installed by the \
                 administrator of the tenant or consented to by any user in the tenant. You may \
                 have sent your authentication request to the wrong tenant.",
                tenant.tenant_id()
            ),
        )
    })?;

    let secret = basic
        .map(|(_, s)| s)
        .or_else(|| params.get("client_secret").cloned());
    if let Some(secret) = secret {
        if app.secrets().iter().any(|s| s == &secret) {
            return Ok((app, ClientAuth::Secret));
        }
        return Err(invalid_client(
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is \
                 the client secret value, not the client secret ID, for a secret added to app \
                 '{}'.",
                app.client_id()
            ),
        ));
    }
    if let Some(assertion) = params.get("client_assertion") {
        if params.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE) {
            return Err(bad_assertion(format!(
                "The client_assertion_type must be '{ASSERTION_TYPE}'."
            )));
        }
        if is_federated(shared, assertion) {
            verify_federated_assertion(shared, app, assertion, now)?;
        } else {
            verify_assertion(shared, segment, app, assertion, now)?;
        }
        return Ok((app, ClientAuth::Certificate));
    }
    if need == Need::Always || app.is_confidential() {
        return Err(invalid_client(
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or \
             'client_secret'.",
        ));
    }
    Ok((app, ClientAuth::None))
}

/// Whether `assertion` is a token the emulator issued (its header names one of the emulator's
/// published keys): a federated credential (a managed identity's token), not a certificate
/// assertion.
fn is_federated(shared: &Shared, assertion: &str) -> bool {
    let Some(header) = assertion.split('.').next().and_then(decode_json) else {
        return false;
    };
    let Some(kid) = header["kid"].as_str() else {
        return false;
    };
    lock(&shared.ring).published.iter().any(|k| k.kid == kid)
}

/// Checks an emulator-issued assertion against the app's federated identity credentials, with
/// Entra's codes: no credential with the assertion's issuer `700211`, audience `700212`,
/// subject `700213` (`invalid_client`, 401;
/// <https://github.com/Azure/azure-workload-identity/issues/1200>,
/// <https://github.com/Azure/login/issues/482>); outside its time range `700024`; a bad
/// signature `700027`.
fn verify_federated_assertion(
    shared: &Shared,
    app: &AppRegistration,
    assertion: &str,
    now: i64,
) -> Result<(), AadError> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(bad_assertion("Client assertion is not a valid JWT."));
    };
    let (Some(header), Some(claims), Some(sig)) =
        (decode_json(h), decode_json(p), base64url_decode(s))
    else {
        return Err(bad_assertion("Client assertion is not a valid JWT."));
    };
    let kid = header["kid"].as_str().unwrap_or_default();
    let key = lock(&shared.ring)
        .published
        .iter()
        .find(|k| k.kid == kid)
        .cloned();
    let input = format!("{h}.{p}");
    let signed = header["alg"] == "RS256" && key.is_some_and(|k| k.verify(input.as_bytes(), &sig));
    if !signed {
        return Err(bad_assertion(
            "Client assertion failed signature validation.",
        ));
    }
    let claim = |name: &str| claims[name].as_str().unwrap_or_default().to_owned();
    let (iss, sub, aud) = (claim("iss"), claim("sub"), claim("aud"));
    let no_match = |code: u32, what: &str, value: &str| {
        invalid_client(
            code,
            format!(
                "No matching federated identity record found for presented assertion {what} \
                 '{value}'. Check your federated identity credential Subject, Audience and \
                 Issuer against the presented assertion."
            ),
        )
    };
    if iss != shared.v2_issuer() {
        return Err(no_match(700211, "issuer", &iss));
    }
    let audience_ok = |c: &super::tenant::FederatedCredential| {
        c.audiences.iter().any(|a| {
            a == &aud
                || (a.eq_ignore_ascii_case(super::tenant::TOKEN_EXCHANGE_AUDIENCE)
                    && aud == super::tokens::TOKEN_EXCHANGE_APP_ID)
        })
    };
    let credentials = app.federated_credentials();
    if !credentials.iter().any(audience_ok) {
        return Err(no_match(700212, "audience", &aud));
    }
    // Case-sensitive, as Entra matches subjects since 2025:
    // https://github.com/Azure/login/issues/517
    if !credentials
        .iter()
        .any(|c| audience_ok(c) && c.subject == sub)
    {
        return Err(no_match(700213, "subject", &sub));
    }
    let (exp, nbf) = (claims["exp"].as_i64(), claims["nbf"].as_i64());
    if exp.is_none_or(|exp| exp <= now) || nbf.is_some_and(|nbf| nbf > now + 60) {
        return Err(invalid_client(
            700024,
            "Client assertion is not within its valid time range.",
        ));
    }
    Ok(())
}

fn decode_json(segment: &str) -> Option<Value> {
    let bytes = base64url_decode(segment)?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(Value::Object(map)),
        _ => None,
    }
}

fn verify_assertion(
    shared: &Shared,
    segment: &str,
    app: &AppRegistration,
    assertion: &str,
    now: i64,
) -> Result<(), AadError> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(bad_assertion(
            "Client assertion is not a valid JWT: it must have three segments.",
        ));
    };
    let (Some(header), Some(claims), Some(sig)) =
        (decode_json(h), decode_json(p), base64url_decode(s))
    else {
        return Err(bad_assertion(
            "Client assertion is not a valid JWT: a segment is not base64url JSON.",
        ));
    };
    let alg = header["alg"].as_str().unwrap_or_default();
    let params: &'static signature::RsaParameters = match alg {
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "PS256" => &signature::RSA_PSS_2048_8192_SHA256,
        other => {
            return Err(bad_assertion(format!(
                "Client assertion uses the unsupported algorithm '{other}': use RS256 with x5t \
                 or PS256 with x5t#S256."
            )));
        }
    };
    let s256 = header["x5t#S256"].as_str();
    let sha1 = header["x5t"].as_str();
    let certificate = app
        .certificates()
        .iter()
        .find(|c| s256.is_some_and(|t| t == c.x5t_s256()) || sha1.is_some_and(|t| t == c.x5t()));
    let Some(certificate) = certificate else {
        let presented = s256.or(sha1).unwrap_or("(none)");
        return Err(bad_assertion(format!(
            "The certificate with identifier used to sign the client assertion is not \
             registered on application. [Reason - The key was not found., Thumbprint of key \
             used by client: '{presented}', Please visit the Azure Portal, Graph Explorer or \
             directly use MS Graph to see configured keys for app Id '{}'.]",
            app.client_id()
        )));
    };
    let input = format!("{h}.{p}");
    UnparsedPublicKey::new(params, certificate.rsa_public_key())
        .verify(input.as_bytes(), &sig)
        .map_err(|_| bad_assertion("Client assertion failed signature validation."))?;

    let claim = |name: &str| claims[name].as_str().unwrap_or_default().to_owned();
    if !claim("iss").eq_ignore_ascii_case(app.client_id())
        || !claim("sub").eq_ignore_ascii_case(app.client_id())
    {
        // https://learn.microsoft.com/azure/developer/java/sdk/troubleshooting-authentication-service-principal
        return Err(invalid_client(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter: 'iss' \
             and 'sub' must both be the client id of the application.",
        ));
    }
    let base = &shared.base_url;
    let tid = shared.tenant.tenant_id();
    let aud_ok = |aud: &str| {
        let aud = aud.trim_end_matches('/');
        [segment, tid].iter().any(|t| {
            aud.eq_ignore_ascii_case(&format!("{base}/{t}/oauth2/v2.0/token"))
                || aud.eq_ignore_ascii_case(&format!("{base}/{t}/oauth2/token"))
                || aud.eq_ignore_ascii_case(&format!("{base}/{t}/v2.0"))
        })
    };
    let aud_valid = match &claims["aud"] {
        Value::String(aud) => aud_ok(aud),
        Value::Array(list) => list.iter().filter_map(Value::as_str).any(aud_ok),
        _ => false,
    };
    if !aud_valid {
        // https://github.com/AzureAD/microsoft-authentication-library-for-dotnet/issues/2746
        return Err(invalid_client(
            700023,
            format!(
                "Client assertion audience claim does not match Realm issuer: the 'aud' must be \
                 the token endpoint {base}/{tid}/oauth2/v2.0/token."
            ),
        ));
    }
    let Some(exp) = claims["exp"].as_i64() else {
        return Err(bad_assertion("Client assertion has no 'exp' claim."));
    };
    let nbf = claims["nbf"].as_i64();
    let out_of_range =
        exp <= now - 60 || exp > now + MAX_ASSERTION_AHEAD || nbf.is_some_and(|nbf| nbf > now + 60);
    if out_of_range {
        return Err(AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700024,
            format!(
                "Client assertion is not within its valid time range (or lives longer than {} \
                 minutes). Current time: {now}, expiry time of assertion {exp}.",
                MAX_ASSERTION_AHEAD / 60
            ),
        ));
    }
    let jti = claim("jti");
    if jti.is_empty() {
        return Err(bad_assertion("Client assertion has no 'jti' claim."));
    }
    let mut seen = lock(&shared.assertion_ids);
    let key = (app.client_id().to_owned(), jti);
    if seen.contains_key(&key) {
        return Err(bad_assertion(
            "Client assertion contains a 'jti' that was already used: replayed assertions are \
             refused.",
        ));
    }
    seen.insert(key, exp);
    Ok(())
}
