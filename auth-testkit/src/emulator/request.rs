//! Reading token and authorize requests: the form body as Entra reads it, and the errors every
//! endpoint shares (a missing parameter, an unknown tenant).

use std::collections::HashMap;

use axum::http::{HeaderMap, header};

use super::errors::AadError;

/// `AADSTS90002`: the tenant path segment names no tenant the emulator serves.
pub(crate) fn tenant_not_found(segment: &str) -> AadError {
    AadError::bad(
        "invalid_tenant",
        90002,
        format!(
            "Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and \
             are signing into the correct cloud. Check with your subscription administrator, \
             this may happen if there are no active subscriptions for the tenant."
        ),
    )
}

/// `AADSTS900144`: a required parameter is missing.
pub(crate) fn missing(parameter: &str) -> AadError {
    AadError::bad(
        "invalid_request",
        900144,
        format!("The request body must contain the following parameter: '{parameter}'."),
    )
}

/// Form parameters; a repeated parameter is an error, as at Entra.
pub(crate) fn form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, AadError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return Err(AadError::bad(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'. (The body \
             must be application/x-www-form-urlencoded.)",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        AadError::bad(
            "invalid_request",
            9000411,
            "The request is not properly formatted: the body is not form-urlencoded UTF-8.",
        )
    })?;
    let mut params = HashMap::new();
    for (name, value) in pairs {
        if params.contains_key(&name) {
            return Err(AadError::bad(
                "invalid_request",
                9000411,
                format!(
                    "The request is not properly formatted. The parameter '{name}' is duplicated."
                ),
            ));
        }
        params.insert(name, value);
    }
    Ok(params)
}
