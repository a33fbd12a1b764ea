//! Builds [`Claims`] from a verified payload in one strict pass: every string a range of the
//! payload (no copy) unless it had escapes.

use std::borrow::Cow;
use std::sync::Arc;

use super::member::{Member, Strings, wanted};
use super::scopes::Scopes;
use super::span::Span;
use super::strs::GroupsRepr;
use super::{AppPermissions, Claims, TokenKind};
use crate::error::{TokenPart, ValidationError};
use crate::json::{self, Captured, JsonError, Number};

/// Parses an RFC 7519 NumericDate: a non-negative finite number within i64 seconds.
fn numeric_date(value: &Captured<'_, '_>) -> Option<f64> {
    match value {
        Captured::Num(Number::Unsigned(u)) => i64::try_from(*u).ok().map(|i| i as f64),
        Captured::Num(Number::Float(f)) if f.is_finite() && *f >= 0.0 && *f < i64::MAX as f64 => {
            Some(*f)
        }
        _ => None,
    }
}

/// The largest payload [`Claims`] hold: spans are `u32`, and unescaped copies can add at most
/// the payload's length again.
const MAX_PAYLOAD_LEN: usize = (u32::MAX / 2) as usize;

/// `scp` or `scope` as read, turned into [`Scopes`] once the winner is known.
#[derive(Clone, Copy)]
enum ScopeSource {
    /// A space-separated string.
    Str(Span),
    /// An array: a range of `lists`.
    Array(Span),
}

/// Collects the claims while the payload is parsed. Every string becomes a [`Span`] of the
/// payload, or of `extra` (offset by the payload's length) when it had escapes. The first
/// claim error is kept and later members are ignored, as a parser that stops there would.
struct Builder<'p> {
    payload: &'p str,
    extra: String,
    lists: Vec<Span>,
    error: Option<ValidationError>,
    issuer: Option<Span>,
    audiences: Option<Span>,
    expires_at: Option<f64>,
    not_before: Option<f64>,
    issued_at: Option<f64>,
    /// The plain string claims (`member.rs`).
    strings: Strings,
    scp: Option<ScopeSource>,
    roles: Span,
    wids: Span,
    xms_cc: Span,
    groups: Option<Span>,
    overage: bool,
    id_token_claims: bool,
}

impl<'p> Builder<'p> {
    fn new(payload: &'p str) -> Self {
        Builder {
            payload,
            extra: String::new(),
            lists: Vec::new(),
            error: None,
            issuer: None,
            audiences: None,
            expires_at: None,
            not_before: None,
            issued_at: None,
            strings: Strings::default(),
            scp: None,
            roles: Span::default(),
            wids: Span::default(),
            xms_cc: Span::default(),
            groups: None,
            overage: false,
            id_token_claims: false,
        }
    }

    /// Where `s` lives: its range of the payload when it is a slice of it (no copy), else a
    /// range of `extra`, where it is copied (strings that had escapes, which the JSON parser
    /// unescaped into a `String` of their own).
    fn span(&mut self, s: &str) -> Span {
        // The offset of `s` into the payload, by address (no dereference): when `s` lies within
        // the payload's bytes, it *is* those bytes.
        let start = (s.as_ptr() as usize).wrapping_sub(self.payload.as_ptr() as usize);
        if start <= self.payload.len()
            && s.len() <= self.payload.len() - start
            && self.payload.is_char_boundary(start)
            && self.payload.is_char_boundary(start + s.len())
        {
            // Both fit in u32: the payload is at most MAX_PAYLOAD_LEN bytes.
            return Span {
                start: start as u32,
                end: (start + s.len()) as u32,
            };
        }
        let start = self.payload.len() + self.extra.len();
        self.extra.push_str(s);
        // `extra` holds unescaped strings of the payload, so it is shorter than the payload.
        Span {
            start: start as u32,
            end: (start + s.len()) as u32,
        }
    }

    /// Adds `items` to `lists`; returns their range there.
    fn list<'s>(&mut self, items: impl IntoIterator<Item = &'s Cow<'p, str>>) -> Span
    where
        'p: 's,
    {
        if self.lists.capacity() == 0 {
            // One allocation for the lists of a typical token.
            self.lists.reserve(16);
        }
        let start = self.lists.len() as u32;
        for item in items {
            let span = self.span(item);
            self.lists.push(span);
        }
        Span {
            start,
            end: self.lists.len() as u32,
        }
    }

    fn string(&mut self, value: &Captured<'p, '_>, claim: &'static str) -> Option<Span> {
        match value {
            Captured::Str(s) => Some(self.span(s)),
            _ => self.fail(ValidationError::InvalidClaim(claim)),
        }
    }

    fn strings(&mut self, value: &Captured<'p, '_>, claim: &'static str) -> Option<Span> {
        match value {
            Captured::StrArray(v) => Some(self.list(v.iter())),
            _ => self.fail(ValidationError::InvalidClaim(claim)),
        }
    }

    fn date(&mut self, value: &Captured<'p, '_>, claim: &'static str) -> Option<f64> {
        match numeric_date(value) {
            Some(d) => Some(d),
            None => self.fail(ValidationError::InvalidClaim(claim)),
        }
    }

    fn fail<T>(&mut self, error: ValidationError) -> Option<T> {
        self.error.get_or_insert(error);
        None
    }

    /// Takes one member, checking its type.
    fn member(&mut self, member: Member, value: Captured<'p, '_>) {
        use Member as C;
        if self.error.is_some() {
            return;
        }
        let v = &value;
        match member {
            C::Iss => self.issuer = self.string(v, "iss"),
            C::Aud => {
                self.audiences = match v {
                    Captured::Str(s) => Some(self.list([s])),
                    Captured::StrArray(a) => Some(self.list(a.iter())),
                    _ => self.fail(ValidationError::InvalidClaim("aud")),
                };
            }
            C::Exp => self.expires_at = self.date(v, "exp"),
            C::Nbf => self.not_before = self.date(v, "nbf"),
            C::Iat => self.issued_at = self.date(v, "iat"),
            // Entra sends `"1.0"` / `"2.0"`; Okta sends the number `1`, which names no Entra
            // version (https://developer.okta.com/docs/api/openapi/oktaoauth/guides/overview/).
            C::Ver if matches!(v, Captured::Num(_)) => {}
            C::Scp => {
                self.scp = match v {
                    Captured::Str(s) => Some(ScopeSource::Str(self.span(s))),
                    Captured::StrArray(a) => Some(ScopeSource::Array(self.list(a.iter()))),
                    _ => self.fail(ValidationError::InvalidClaim("scp")),
                };
            }
            C::Roles => self.roles = self.strings(v, "roles").unwrap_or_default(),
            C::Wids => self.wids = self.strings(v, "wids").unwrap_or_default(),
            C::XmsCc => self.xms_cc = self.strings(v, "xms_cc").unwrap_or_default(),
            C::Groups => self.groups = self.strings(v, "groups"),
            C::ClaimNames => self.overage = true,
            C::Hasgroups => self.overage |= *v == Captured::Bool(true),
            C::Nonce | C::CHash | C::AtHash => self.id_token_claims = true,
            // Every other member is a plain string claim (`member.rs`'s table).
            string => {
                let span = self.string(v, string.name());
                self.strings.set(string, span);
            }
        }
    }

    /// A string by span, of the payload or of `extra`.
    fn resolve(&self, span: Span) -> &str {
        let len = self.payload.len();
        let (start, end) = (span.start as usize, span.end as usize);
        if start >= len && end > len {
            &self.extra[start - len..end - len]
        } else {
            &self.payload[start..end]
        }
    }

    fn scopes(&self, source: ScopeSource) -> Scopes {
        match source {
            ScopeSource::Str(s) => Scopes::parse_str(self.resolve(s)),
            ScopeSource::Array(range) => {
                Scopes::from_strs(self.lists[range.range()].iter().map(|s| self.resolve(*s)))
            }
        }
    }

    /// Applies the rules that need every member; returns the claims, less the text.
    fn finish(self, key_id: Arc<str>) -> Result<(Claims, String), ValidationError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let issuer = self.issuer.ok_or(ValidationError::MissingClaim("iss"))?;
        let audiences = self.audiences.ok_or(ValidationError::MissingClaim("aud"))?;
        let expires_at = self
            .expires_at
            .ok_or(ValidationError::MissingClaim("exp"))?;
        let groups = match (self.groups, self.overage) {
            (Some(list), _) => GroupsRepr::Listed(list),
            (None, true) => GroupsRepr::Overage,
            (None, false) => GroupsRepr::NotIssued,
        };
        let scp = self.scp.map(|s| self.scopes(s));
        let has_scp = scp.as_ref().is_some_and(|s| !s.is_empty());
        let scopes = match (scp, self.strings.get(Member::Scope)) {
            (Some(scp), _) => scp,
            (None, Some(scope)) => Scopes::parse_str(self.resolve(scope)),
            (None, None) => Scopes::default(),
        };
        let claims = Claims {
            text: String::new(),
            payload_len: self.payload.len() as u32,
            lists: self.lists,
            issuer,
            audiences,
            expires_at,
            not_before: self.not_before,
            issued_at: self.issued_at,
            strings: self.strings,
            scopes,
            roles: self.roles,
            client: None,
            has_scp,
            wids: self.wids,
            xms_cc: self.xms_cc,
            groups,
            // Placeholder until the validator's profile classifies the token: `Claims` never
            // leave the validator unclassified (`Validator::validate` calls `classify`).
            kind: TokenKind::Delegated,
            app_permissions: AppPermissions::Scopes,
            profile: "",
            key_id,
            id_token_claims: self.id_token_claims,
        };
        Ok((claims, self.extra))
    }
}

impl Claims {
    /// Parses the verified payload strictly (duplicate names refused at every depth) and builds
    /// typed claims from it, checking every type. The claims keep `payload`; their strings
    /// are ranges of it.
    pub(crate) fn parse(payload: String, key_id: Arc<str>) -> Result<Self, ValidationError> {
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(ValidationError::TooLarge {
                limit: MAX_PAYLOAD_LEN,
            });
        }
        let mut builder = Builder::new(&payload);
        json::parse_object(&payload, wanted, |name, value| builder.member(name, value)).map_err(
            |e| match e {
                JsonError::DuplicateMember => ValidationError::DuplicateMember(TokenPart::Payload),
                JsonError::Invalid => ValidationError::InvalidJson(TokenPart::Payload),
            },
        )?;
        let (mut claims, extra) = builder.finish(key_id)?;
        let mut text = payload;
        text.push_str(&extra);
        claims.text = text;
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::claims::Groups;

    fn claims(json: &str) -> Result<Claims, ValidationError> {
        Claims::parse(json.to_owned(), "k".into())
    }

    const BASE: &str = r#""iss":"i","aud":"a","exp":2000000000"#;

    #[test]
    fn a_numeric_ver_is_accepted_and_names_no_version() {
        let c = claims(&format!(r#"{{{BASE},"ver":1}}"#)).unwrap();
        assert_eq!(c.version(), None);
        assert_eq!(
            claims(&format!(r#"{{{BASE},"ver":true}}"#)).unwrap_err(),
            ValidationError::InvalidClaim("ver")
        );
    }

    #[test]
    fn scopes_are_a_set_split_on_spaces() {
        let c = claims(&format!(
            r#"{{{BASE},"scp":"Case.Create  Files.Read Case.Create"}}"#
        ))
        .unwrap();
        assert_eq!(
            c.scopes().iter().collect::<Vec<_>>(),
            ["Case.Create", "Files.Read"]
        );
        assert!(c.scopes().contains("Files.Read"));
        assert!(!c.scopes().contains("files.read"));
    }

    #[test]
    fn groups_overage_is_reported_as_overage_never_as_no_groups() {
        let c = claims(&format!(r#"{{{BASE},"_claim_names":{{"groups":"src1"}}}}"#)).unwrap();
        assert_eq!(c.groups(), Groups::Overage);
        let c = claims(&format!(r#"{{{BASE},"hasgroups":true}}"#)).unwrap();
        assert_eq!(c.groups(), Groups::Overage);
        let c = claims(&format!(r#"{{{BASE},"groups":["g"]}}"#)).unwrap();
        match c.groups() {
            Groups::Listed(list) => assert_eq!(list, ["g"]),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            claims(&format!("{{{BASE}}}")).unwrap().groups(),
            Groups::NotIssued
        );
    }

    #[test]
    fn numeric_dates_must_be_non_negative_numbers_within_i64() {
        for bad in [
            r#""2000000000""#,
            "true",
            "-1",
            "1e300",
            "9223372036854775808",
            "null",
            "[1]",
        ] {
            let json = format!(r#"{{"iss":"i","aud":"a","exp":{bad}}}"#);
            assert_eq!(
                claims(&json).unwrap_err(),
                ValidationError::InvalidClaim("exp"),
                "{bad}"
            );
        }
        let c = claims(r#"{"iss":"i","aud":"a","exp":2000000000.5}"#).unwrap();
        assert_eq!(c.expires_at(), 2_000_000_000.5);
    }

    #[test]
    fn raw_and_custom_deserialization_reach_every_claim() {
        #[derive(serde::Deserialize)]
        struct Mine {
            custom: u32,
        }
        let c = claims(&format!(r#"{{{BASE},"custom":7}}"#)).unwrap();
        assert_eq!(c.get("custom"), Some(Value::from(7)));
        assert_eq!(c.deserialize::<Mine>().unwrap().custom, 7);
    }
    #[test]
    fn escaped_strings_are_unescaped_and_plain_ones_read_in_place() {
        let c = claims(
            r#"{"iss":"https:\/\/idp\/t","aud":["a\u0070i","plain"],"exp":2000000000,
                "tid":"t\u00e9nant","sub":"s","azp":"s","scp":"a\u0020b a","roles":["r\"1","r2"],
                "wids":[],"xms_cc":["cp1"],"groups":["g\u0031","g2"],"custom":"\u0041"}"#,
        )
        .unwrap();
        assert_eq!(c.issuer(), "https://idp/t");
        assert_eq!(c.audiences(), ["api", "plain"]);
        assert_eq!(c.tenant_id(), Some("ténant"));
        assert_eq!(c.scopes().iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(c.roles(), ["r\"1", "r2"]);
        assert!(c.has_role("r\"1") && !c.has_role("r"));
        assert!(c.wids().is_empty());
        assert_eq!(c.client_capabilities(), ["cp1"]);
        match c.groups() {
            Groups::Listed(g) => {
                assert_eq!(g, ["g1", "g2"]);
                assert_eq!(g.len(), 2);
                assert_eq!(g.get(1), Some("g2"));
                assert_eq!(g.iter().rev().collect::<Vec<_>>(), ["g2", "g1"]);
                assert_eq!(g.join(","), "g1,g2");
            }
            other => panic!("{other:?}"),
        }
        // The raw claims are the payload as sent, not the unescaped copies after it.
        assert_eq!(c.get("custom"), Some(Value::from("A")));
        assert_eq!(c.raw().len(), 12);
        let copy = c.clone();
        drop(c);
        assert_eq!(copy.issuer(), "https://idp/t");
        assert_eq!(copy.audiences().to_vec(), ["api", "plain"]);
    }

    #[test]
    fn long_scope_lists_are_still_sets() {
        let names: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
        let scp = format!("{} {} s0 s39", names.join(" "), names.join(" "));
        let c = claims(&format!(r#"{{{BASE},"scp":"{scp}"}}"#)).unwrap();
        assert_eq!(c.scopes().iter().collect::<Vec<_>>(), names);
        assert_eq!(c.scopes().len(), 40);
    }

    #[test]
    fn scope_arrays_are_sets_too() {
        let c = claims(&format!(r#"{{{BASE},"scp":["b","","a","b","a c"]}}"#)).unwrap();
        assert_eq!(c.scopes().iter().collect::<Vec<_>>(), ["b", "a", "a c"]);
        assert_eq!(c.scopes().len(), 3);
        assert!(c.scopes().contains("a c") && !c.scopes().contains("c"));
        assert!(c.has_scp());
        let c = claims(&format!(r#"{{{BASE},"scp":["x","y","x",""]}}"#)).unwrap();
        assert_eq!(c.scopes().iter().collect::<Vec<_>>(), ["x", "y"]);
        let spaced = claims(&format!(r#"{{{BASE},"scp":"x  y"}}"#)).unwrap();
        assert_eq!(c.scopes(), spaced.scopes());
        let none = claims(&format!(r#"{{{BASE},"scp":[""]}}"#)).unwrap();
        assert!(none.scopes().is_empty() && none.scopes().iter().next().is_none());
        assert_eq!(none.scopes(), &Scopes::default());
        assert!(!none.has_scp());
    }

    #[test]
    fn debug_shows_the_typed_claims_but_never_the_payload() {
        let c = claims(&format!(
            r#"{{{BASE},"roles":["r"],"secret":"hunter2","scp":"s1 s2"}}"#
        ))
        .unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains(r#"issuer: "i""#), "{debug}");
        assert!(debug.contains(r#"audiences: ["a"]"#), "{debug}");
        assert!(debug.contains(r#"Scopes(["s1", "s2"])"#), "{debug}");
        assert!(debug.contains(r#"roles: ["r"]"#), "{debug}");
    }
}
