//! An Entra reading of a token for humans: what it is, who it is for, and what looks wrong.

use std::fmt::Write as _;

use auth_layer::{Claims, Groups, TokenKind};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

/// Inspection is lenient (it must show broken tokens); validation is not.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A decoded, unverified token.
pub(crate) struct Reading {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    segments: usize,
    signature_len: usize,
}

fn decode_object(segment: &str, what: &str) -> Result<Map<String, Value>, String> {
    let bytes = LENIENT
        .decode(segment.trim())
        .map_err(|e| format!("the {what} is not base64url: {e}"))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(format!("the {what} is JSON but not an object")),
        Err(e) => Err(format!("the {what} is not JSON: {e}")),
    }
}

impl Reading {
    pub(crate) fn of(token: &str) -> Result<Self, String> {
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() == 5 {
            return Err("this is an encrypted token (JWE, five segments): it cannot be read without the decryption key".into());
        }
        if parts.len() != 3 {
            return Err(format!(
                "a JWT has three dot-separated segments; this has {}",
                parts.len()
            ));
        }
        Ok(Self {
            header: decode_object(parts[0], "header")?,
            claims: decode_object(parts[1], "payload")?,
            segments: parts.len(),
            signature_len: LENIENT.decode(parts[2]).map(|s| s.len()).unwrap_or(0),
        })
    }

    fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    fn number(&self, name: &str) -> Option<f64> {
        self.claims.get(name).and_then(Value::as_f64)
    }

    pub(crate) fn render(&self, full: bool, now: i64) -> String {
        let mut out = String::new();
        if full {
            let _ = writeln!(out, "header:\n{}", pretty(&self.header));
            let _ = writeln!(out, "claims:\n{}", pretty(&self.claims));
        }
        let iss = self.claim_str("iss").unwrap_or("(none)");
        let version = match (self.claim_str("ver"), iss) {
            (Some(v), _) => format!("v{v}"),
            (None, i) if i.starts_with("https://sts.windows.net/") => "v1 (from iss)".into(),
            (None, i) if i.ends_with("/v2.0") => "v2 (from iss)".into(),
            _ => "unknown (not an Entra token?)".into(),
        };
        let scp = self.claims.get("scp").map(scopes_text);
        let roles: Vec<String> = self
            .claims
            .get("roles")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let kind = self.entra_kind(scp.as_deref());
        let client = self
            .claim_str("azp")
            .or(self.claim_str("appid"))
            .or(self.claim_str("client_id"));
        let aud = match self.claims.get("aud") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            _ => "(none)".into(),
        };
        let _ = writeln!(out, "reading:");
        let _ = writeln!(
            out,
            "  format      {version}, alg {}, kid {}",
            hs(&self.header, "alg"),
            hs(&self.header, "kid")
        );
        let _ = writeln!(out, "  kind        {kind}");
        let _ = writeln!(out, "  issuer      {iss}");
        let _ = writeln!(
            out,
            "  tenant      {}",
            self.claim_str("tid").unwrap_or("(none)")
        );
        let _ = writeln!(out, "  audience    {aud}");
        if let Some(s) = &scp {
            let _ = writeln!(out, "  scopes      {s}");
        }
        if !roles.is_empty() {
            let _ = writeln!(out, "  roles       {}", roles.join(", "));
        }
        let _ = writeln!(out, "  client      {}", client.unwrap_or("(none)"));
        if let Some(name) = self.claim_str("name") {
            let _ = writeln!(
                out,
                "  user        {name} <{}>",
                self.claim_str("preferred_username")
                    .or(self.claim_str("upn"))
                    .unwrap_or("?")
            );
        }
        if let Some(oid) = self.claim_str("oid") {
            let _ = writeln!(out, "  object id   {oid}");
        }
        for (label, claim) in [("issued", "iat"), ("not before", "nbf"), ("expires", "exp")] {
            if let Some(t) = self.number(claim) {
                let _ = writeln!(
                    out,
                    "  {label:<11} {} ({})",
                    utc(t as i64),
                    relative(t as i64 - now)
                );
            }
        }
        let warnings = self.warnings(now, &roles, scp.as_deref());
        if warnings.is_empty() {
            let _ = writeln!(
                out,
                "warnings: none (this tool does not verify the signature: use `entra-token verify`)"
            );
        } else {
            let _ = writeln!(out, "warnings:");
            for w in warnings {
                let _ = writeln!(out, "  - {w}");
            }
        }
        out
    }

    /// The kind by auth-layer's Entra profile: `idtyp`, else `scp`, else `oid == sub`, and an
    /// access token names its client (`azp` / `appid`).
    fn entra_kind(&self, scp: Option<&str>) -> &'static str {
        let has_client = self.claim_str("azp").is_some() || self.claim_str("appid").is_some();
        match (self.claim_str("idtyp"), scp) {
            _ if !has_client => "not an Entra access token (no azp/appid, as in ID tokens)",
            (Some("app"), _) => "app-only (idtyp=app)",
            (Some("user"), _) => "delegated (idtyp=user)",
            (_, Some(s)) if !s.is_empty() => "delegated (has scp)",
            _ if self.claim_str("oid").is_some()
                && self.claim_str("oid") == self.claim_str("sub") =>
            {
                "app-only (oid = sub)"
            }
            _ => "unclassified (no idtyp, no scp, oid differs from sub): refused",
        }
    }

    fn warnings(&self, now: i64, roles: &[String], scp: Option<&str>) -> Vec<String> {
        let mut w = Vec::new();
        match self.number("exp") {
            None => w.push("no exp: validators refuse tokens without an expiry".to_owned()),
            Some(exp) if (exp as i64) < now => {
                // `relative` of a past instant already reads "… ago".
                w.push(format!("expired {}", relative(exp as i64 - now)));
            }
            _ => {}
        }
        if self.header.contains_key("nonce") {
            w.push("the header has a nonce: this token is for Microsoft Graph (or another first-party API) and only that API can verify it; request a token for your API's scope".into());
        }
        if ["nonce", "c_hash", "at_hash"]
            .iter()
            .any(|c| self.claims.contains_key(*c))
        {
            w.push("this looks like an ID token (nonce/c_hash/at_hash claims): send an access token to APIs".into());
        }
        if self.claims.contains_key("_claim_names") && !self.claims.contains_key("groups") {
            w.push(
                "groups overage: the user is in too many groups to list; query Microsoft Graph"
                    .into(),
            );
        }
        match hs(&self.header, "alg").as_str() {
            "RS256" => {}
            a if a.eq_ignore_ascii_case("none") => w.push("alg none: an unsigned token".into()),
            a if a.starts_with("HS") => w.push(format!(
                "alg {a}: HMAC tokens are never accepted by resource APIs"
            )),
            a => w.push(format!(
                "alg {a}: Entra signs with RS256; validators accept only RS256 by default"
            )),
        }
        if !self.header.contains_key("kid") && !self.header.contains_key("x5t") {
            w.push("no kid or x5t: no key can be found for it".into());
        }
        for bad in ["jku", "x5u", "jwk", "x5c", "crit"] {
            if self.header.contains_key(bad) {
                w.push(format!("the header has {bad}: validators refuse it"));
            }
        }
        if self.claims.get("aud").and_then(Value::as_str)
            == Some("00000003-0000-0000-c000-000000000000")
        {
            w.push("the audience is Microsoft Graph".into());
        }
        if roles.is_empty() && self.entra_kind(scp).starts_with("app-only") {
            w.push("app-only token without roles: the client's application permission may lack admin consent".into());
        }
        if self.signature_len == 0 && self.segments == 3 {
            w.push("the signature is empty".into());
        }
        w
    }
}

fn scopes_text(v: &Value) -> String {
    match v {
        Value::String(s) => s
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

fn hs(map: &Map<String, Value>, name: &str) -> String {
    match map.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => "(none)".into(),
    }
}

fn pretty(map: &Map<String, Value>) -> String {
    serde_json::to_string_pretty(map).unwrap_or_default()
}

/// A one-line summary of an accepted token for `verify`.
pub(crate) fn summary(c: &Claims) -> String {
    let mut s = format!("valid: {}", c.kind());
    match c.kind() {
        TokenKind::Delegated => {
            let _ = write!(
                s,
                " user {}",
                c.name().or(c.username()).unwrap_or("(no name)")
            );
            if let Some(oid) = c.object_id() {
                let _ = write!(s, " (oid {oid})");
            }
        }
        TokenKind::App => {
            let _ = write!(s, " client {}", c.client_id().unwrap_or("(unknown)"));
        }
    }
    let _ = write!(s, ", tenant {}", c.tenant_id().unwrap_or("(none)"));
    if let Some(client) = c.client_id().filter(|_| c.kind() == TokenKind::Delegated) {
        let _ = write!(s, ", client {client}");
    }
    let _ = write!(s, ", aud {}", c.audiences().join(" "));
    if !c.scopes().is_empty() {
        let _ = write!(
            s,
            ", scopes [{}]",
            c.scopes().iter().collect::<Vec<_>>().join(" ")
        );
    }
    if !c.roles().is_empty() {
        let _ = write!(s, ", roles [{}]", c.roles().join(" "));
    }
    if let Groups::Overage = c.groups() {
        s.push_str(", groups overage");
    }
    let _ = write!(
        s,
        ", ver {}, key {}, expires {}",
        c.version().unwrap_or("?"),
        c.key_id(),
        utc(c.expires_at() as i64)
    );
    s
}

/// Unix seconds as an RFC 3339 UTC time (`?` when out of range).
pub(crate) fn utc(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "?".to_owned())
}

/// A signed offset from now, for humans: "in 59m 12s", "3h 2m ago".
pub(crate) fn relative(delta: i64) -> String {
    let a = delta.unsigned_abs();
    let text = if a >= 86_400 {
        format!("{}d {}h", a / 86_400, a % 86_400 / 3600)
    } else if a >= 3600 {
        format!("{}h {}m", a / 3600, a % 3600 / 60)
    } else if a >= 60 {
        format!("{}m {}s", a / 60, a % 60)
    } else {
        format!("{a}s")
    };
    if delta >= 0 {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_620_218_159), "2021-05-05T12:35:59Z");
        assert_eq!(utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn relative_reads_both_ways() {
        assert_eq!(relative(3552), "in 59m 12s");
        assert_eq!(relative(-10_920), "3h 2m ago");
    }

    #[test]
    fn an_expired_token_reads_expired_ago_never_expired_in() {
        let exp = 1_000_000;
        let reading = Reading::of(
            &auth_testkit::TokenBuilder::delegated()
                .issued_at(exp - 3600)
                .sign(),
        )
        .unwrap();
        let text = reading.render(false, exp + 601);
        assert!(text.contains("expired 10m 1s ago"), "{text}");
        assert!(!text.contains("expired in"), "{text}");
    }
}
