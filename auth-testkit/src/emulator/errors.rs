//! Entra-style errors: `{"error", "error_description": "AADSTSnnnnn: …", "error_codes": [n],
//! "timestamp", "trace_id", "correlation_id", "error_uri"}` (plus `suberror` / `claims` where
//! Entra sends them), with Entra's HTTP statuses.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// One AADSTS error, ready to render as JSON or to put in a redirect.
#[derive(Clone, Debug)]
pub(crate) struct AadError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) code: u32,
    pub(crate) message: String,
    pub(crate) suberror: Option<&'static str>,
    /// `claims` (a Conditional Access challenge).
    pub(crate) claims: Option<String>,
    /// A `Retry-After` header, in seconds.
    pub(crate) retry_after: Option<u64>,
}

impl AadError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        message: impl Into<String>,
    ) -> Self {
        AadError {
            status,
            error,
            code,
            message: message.into(),
            suberror: None,
            claims: None,
            retry_after: None,
        }
    }

    /// 400 with this OAuth error and code.
    pub(crate) fn bad(error: &'static str, code: u32, message: impl Into<String>) -> Self {
        AadError::new(StatusCode::BAD_REQUEST, error, code, message)
    }

    pub(crate) fn with_suberror(mut self, suberror: &'static str) -> Self {
        self.suberror = Some(suberror);
        self
    }

    pub(crate) fn with_claims(mut self, claims: impl Into<String>) -> Self {
        self.claims = Some(claims.into());
        self
    }

    pub(crate) fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// `AADSTSnnnnn: message`.
    pub(crate) fn description(&self) -> String {
        format!("AADSTS{}: {}", self.code, self.message)
    }

    /// The JSON body.
    pub(crate) fn body(&self, base_url: &str, correlation_id: &str, now: i64) -> Value {
        let trace_id = new_guid();
        let timestamp = format_timestamp(now);
        let mut body = Map::new();
        body.insert("error".into(), json!(self.error));
        body.insert(
            "error_description".into(),
            json!(format!(
                "{}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
                self.description()
            )),
        );
        body.insert("error_codes".into(), json!([self.code]));
        body.insert("timestamp".into(), json!(timestamp));
        body.insert("trace_id".into(), json!(trace_id));
        body.insert("correlation_id".into(), json!(correlation_id));
        body.insert(
            "error_uri".into(),
            json!(format!("{base_url}/error?code={}", self.code)),
        );
        if let Some(suberror) = self.suberror {
            body.insert("suberror".into(), json!(suberror));
        }
        if let Some(claims) = &self.claims {
            body.insert("claims".into(), json!(claims));
        }
        Value::Object(body)
    }

    /// The JSON response.
    pub(crate) fn response(&self, base_url: &str, headers: &HeaderMap, now: i64) -> Response {
        let correlation_id = correlation_id(headers);
        let mut response = (
            self.status,
            axum::Json(self.body(base_url, &correlation_id, now)),
        )
            .into_response();
        no_store(&mut response);
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED
            && let Ok(value) = "Basic realm=\"\"".parse()
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// Entra echoes `client-request-id` as the correlation id; otherwise a fresh one.
pub(crate) fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .map_or_else(new_guid, str::to_owned)
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, as Entra sends with tokens and errors.
pub(crate) fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store, no-cache"),
    );
    headers.insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
}

/// A random GUID (version 4).
pub(crate) fn new_guid() -> String {
    let mut b = random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    auth_layer::authority::Guid::from_bytes(b).to_string()
}

/// `N` random bytes from the system generator (zeros if it fails, which it does not).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    use aws_lc_rs::rand::SecureRandom as _;
    let mut b = [0u8; N];
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut b);
    b
}

/// An opaque random token: 32 random bytes, base64url.
pub(crate) fn random_token() -> String {
    crate::base64url(random_bytes::<32>())
}

/// `2024-05-01 12:34:56Z`, Entra's `timestamp` format (an out-of-range time is written as the
/// epoch; the emulator's clock is never out of range).
pub(crate) fn format_timestamp(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
        .replacen('T', " ", 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_formatted_like_entra() {
        assert_eq!(format_timestamp(0), "1970-01-01 00:00:00Z");
        assert_eq!(format_timestamp(1_700_000_000), "2023-11-14 22:13:20Z");
        assert_eq!(format_timestamp(951_782_400), "2000-02-29 00:00:00Z");
    }

    #[test]
    fn guids_are_random_v4() {
        let a = new_guid();
        assert_ne!(a, new_guid());
        assert!(crate::emulator::tenant::is_guid(&a));
        assert_eq!(&a[14..15], "4");
    }
}
