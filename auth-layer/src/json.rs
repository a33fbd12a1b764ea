//! Strict JSON for JOSE headers, JWT claims and JWK sets.
//!
//! `serde_json` on its own lets the last of two members with the same name win, which lets an
//! attacker smuggle a second `alg` or `aud` past a checker that reads the first (RFC 8725 §3.2,
//! checklist rule 20). Everything here parses in one pass, refuses duplicate member names at every
//! depth, and captures only the members the caller asks for.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// The message our duplicate-member errors start with, so they can be told apart from syntax
/// errors after `serde_json` has wrapped them.
const DUPLICATE: &str = "duplicate member name";

/// Objects with more members than this switch from a linear scan to a hash set, so a hostile
/// object with thousands of members costs O(n), not O(n²). Real tokens have 20–40 claims, for
/// which a scan of borrowed names is cheaper than hashing.
const LINEAR_LIMIT: usize = 64;

/// Why a JSON document was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not JSON, not an object at the top level, invalid UTF-8, a byte-order mark, …
    Invalid,
    /// A member name appears twice in one object.
    DuplicateMember,
}

impl JsonError {
    fn classify(err: &serde_json::Error) -> Self {
        if err.to_string().starts_with(DUPLICATE) {
            JsonError::DuplicateMember
        } else {
            JsonError::Invalid
        }
    }
}

/// Remembers the member names of one object.
struct SeenNames<'de> {
    few: Vec<Cow<'de, str>>,
    many: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> SeenNames<'de> {
    fn new() -> Self {
        Self {
            few: Vec::new(),
            many: None,
        }
    }

    /// Records `name`; `false` if it was already there.
    fn insert(&mut self, name: Cow<'de, str>) -> bool {
        if let Some(many) = &mut self.many {
            return many.insert(name);
        }
        if self.few.contains(&name) {
            return false;
        }
        self.few.push(name);
        if self.few.len() > LINEAR_LIMIT {
            self.many = Some(self.few.drain(..).collect());
        }
        true
    }
}

/// A member name, borrowed from the input when it has no escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// Consumes any JSON value, refusing duplicate member names in nested objects, keeping nothing.
/// (`serde::de::IgnoredAny` would skip those checks, so it is never used here.)
pub(crate) struct StrictIgnore;

impl<'de> de::Deserialize<'de> for StrictIgnore {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictIgnoreVisitor)
    }
}

struct StrictIgnoreVisitor;

impl<'de> Visitor<'de> for StrictIgnoreVisitor {
    type Value = StrictIgnore;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<StrictIgnore, E> {
        Ok(StrictIgnore)
    }
    fn visit_i64<E>(self, _: i64) -> Result<StrictIgnore, E> {
        Ok(StrictIgnore)
    }
    fn visit_u64<E>(self, _: u64) -> Result<StrictIgnore, E> {
        Ok(StrictIgnore)
    }
    fn visit_f64<E>(self, _: f64) -> Result<StrictIgnore, E> {
        Ok(StrictIgnore)
    }
    fn visit_str<E>(self, _: &str) -> Result<StrictIgnore, E> {
        Ok(StrictIgnore)
    }
    fn visit_unit<E>(self) -> Result<StrictIgnore, E> {
        Ok(StrictIgnore)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictIgnore, A::Error> {
        while seq.next_element::<StrictIgnore>()?.is_some() {}
        Ok(StrictIgnore)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictIgnore, A::Error> {
        let mut seen = SeenNames::new();
        while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
            if !seen.insert(name) {
                return Err(de::Error::custom(DUPLICATE));
            }
            map.next_value::<StrictIgnore>()?;
        }
        Ok(StrictIgnore)
    }
}

/// A JSON number, kept exactly as `serde_json` reported it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Number {
    /// A non-negative integer.
    Unsigned(u64),
    /// A negative integer.
    Negative(i64),
    /// A number with a fraction or an exponent.
    Float(f64),
}

/// The value of a member the caller asked for, reduced to the shapes JOSE uses.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Captured {
    /// A string.
    Str(String),
    /// A number.
    Num(Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An array whose elements are all strings (possibly empty).
    StrArray(Vec<String>),
    /// Any other array, or an object (already checked for duplicate names).
    Other,
}

impl<'de> de::Deserialize<'de> for Captured {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CapturedVisitor)
    }
}

struct CapturedVisitor;

impl<'de> Visitor<'de> for CapturedVisitor {
    type Value = Captured;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Captured, E> {
        Ok(Captured::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Captured, E> {
        Ok(if v >= 0 {
            Captured::Num(Number::Unsigned(v.unsigned_abs()))
        } else {
            Captured::Num(Number::Negative(v))
        })
    }
    fn visit_u64<E>(self, v: u64) -> Result<Captured, E> {
        Ok(Captured::Num(Number::Unsigned(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Captured, E> {
        Ok(Captured::Num(Number::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Captured, E> {
        Ok(Captured::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Captured, E> {
        Ok(Captured::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Captured, E> {
        Ok(Captured::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Captured, A::Error> {
        let mut strings = Vec::new();
        let mut all_strings = true;
        while let Some(element) = seq.next_element::<MaybeString>()? {
            match element {
                MaybeString::Str(s) if all_strings => strings.push(s),
                _ => all_strings = false,
            }
        }
        Ok(if all_strings {
            Captured::StrArray(strings)
        } else {
            Captured::Other
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Captured, A::Error> {
        StrictIgnoreVisitor.visit_map(map)?;
        Ok(Captured::Other)
    }
}

/// An array element: a string, or anything else (consumed strictly).
enum MaybeString {
    Str(String),
    NotStr,
}

impl<'de> de::Deserialize<'de> for MaybeString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<MaybeString, E> {
                Ok(MaybeString::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<MaybeString, E> {
                Ok(MaybeString::Str(v))
            }
            fn visit_bool<E>(self, _: bool) -> Result<MaybeString, E> {
                Ok(MaybeString::NotStr)
            }
            fn visit_i64<E>(self, _: i64) -> Result<MaybeString, E> {
                Ok(MaybeString::NotStr)
            }
            fn visit_u64<E>(self, _: u64) -> Result<MaybeString, E> {
                Ok(MaybeString::NotStr)
            }
            fn visit_f64<E>(self, _: f64) -> Result<MaybeString, E> {
                Ok(MaybeString::NotStr)
            }
            fn visit_unit<E>(self) -> Result<MaybeString, E> {
                Ok(MaybeString::NotStr)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<MaybeString, A::Error> {
                StrictIgnoreVisitor.visit_seq(seq)?;
                Ok(MaybeString::NotStr)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MaybeString, A::Error> {
                StrictIgnoreVisitor.visit_map(map)?;
                Ok(MaybeString::NotStr)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The members of one top-level object that a caller asked for, in document order.
pub(crate) type Members = Vec<(&'static str, Captured)>;

/// Names the members a caller wants: returns the caller's own `&'static` spelling of `name`, or
/// `None` for members that are only checked. Write it as a `match` so the compiler dispatches on
/// length and bytes instead of scanning a list.
pub(crate) type Wanted = fn(&str) -> Option<&'static str>;

/// Parses `bytes` as one JSON object, refusing duplicate names at every depth, and returns the
/// members `wanted` names (each at most once, by construction).
pub(crate) fn parse_object(bytes: &[u8], wanted: Wanted) -> Result<Members, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let members = ObjectSeed { wanted }
        .deserialize(&mut de)
        .map_err(|e| JsonError::classify(&e))?;
    de.end().map_err(|_| JsonError::Invalid)?;
    Ok(members)
}

/// Checks that `bytes` is one JSON value with no duplicate member names at any depth.
pub(crate) fn check_strict(bytes: &[u8]) -> Result<(), JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    <StrictIgnore as de::Deserialize>::deserialize(&mut de).map_err(|e| JsonError::classify(&e))?;
    de.end().map_err(|_| JsonError::Invalid)
}

struct ObjectSeed {
    wanted: Wanted,
}

impl<'de> DeserializeSeed<'de> for ObjectSeed {
    type Value = Members;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Members, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ObjectSeed {
    type Value = Members;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
        // Wanted names are deduplicated against the (short) list of captured members, by
        // pointer; only the other names go through `SeenNames`.
        let mut others = SeenNames::new();
        let mut members: Members = Vec::with_capacity(24);
        while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
            match (self.wanted)(&name) {
                Some(w) => {
                    if members.iter().any(|(seen, _)| std::ptr::eq(*seen, w)) {
                        return Err(de::Error::custom(DUPLICATE));
                    }
                    members.push((w, map.next_value::<Captured>()?));
                }
                None => {
                    if !others.insert(name) {
                        return Err(de::Error::custom(DUPLICATE));
                    }
                    map.next_value::<StrictIgnore>()?;
                }
            }
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The members these tests capture ("x" and "m0".."m99" are deliberately not among them).
    fn test_wanted(name: &str) -> Option<&'static str> {
        ["a", "alg", "s", "n", "neg", "f", "b", "z", "arr", "mixed", "o"]
            .into_iter()
            .find(|w| *w == name)
    }

    #[test]
    fn duplicate_top_level_member_is_refused() {
        let err = parse_object(br#"{"a":1,"b":2,"a":3}"#, test_wanted).unwrap_err();
        assert_eq!(err, JsonError::DuplicateMember);
    }

    #[test]
    fn duplicate_member_of_an_ignored_member_is_refused() {
        let err = parse_object(br#"{"x":1,"x":2}"#, test_wanted).unwrap_err();
        assert_eq!(err, JsonError::DuplicateMember);
    }

    #[test]
    fn duplicate_nested_member_is_refused() {
        let err = parse_object(br#"{"a":{"k":1,"k":2}}"#, test_wanted).unwrap_err();
        assert_eq!(err, JsonError::DuplicateMember);
        let err = parse_object(br#"{"z":[{"k":1,"k":2}]}"#, test_wanted).unwrap_err();
        assert_eq!(err, JsonError::DuplicateMember);
    }

    #[test]
    fn escaped_and_plain_spellings_of_one_name_are_duplicates() {
        let err = parse_object(br#"{"alg":"RS256","\u0061lg":"none"}"#, test_wanted).unwrap_err();
        assert_eq!(err, JsonError::DuplicateMember);
    }

    #[test]
    fn many_members_use_the_hash_set_and_still_catch_duplicates() {
        let mut doc = String::from("{");
        for i in 0..100 {
            doc.push_str(&format!("\"m{i}\":{i},"));
        }
        doc.push_str("\"m7\":0}");
        assert_eq!(
            parse_object(doc.as_bytes(), test_wanted).unwrap_err(),
            JsonError::DuplicateMember
        );
    }

    #[test]
    fn non_objects_bom_and_bad_utf8_are_invalid() {
        for doc in [
            &b"[]"[..],
            b"\"x\"",
            b"1",
            b"null",
            b"\xEF\xBB\xBF{}",
            b"{\"a\":\"\xFF\"}",
            b"{} x",
        ] {
            assert_eq!(
                parse_object(doc, test_wanted).unwrap_err(),
                JsonError::Invalid,
                "{doc:?}"
            );
        }
    }

    #[test]
    fn captures_shapes() {
        let m = parse_object(
            br#"{"s":"x","n":1,"neg":-1,"f":1.5,"b":true,"z":null,"arr":["a","b"],"mixed":["a",1],"o":{}}"#,
            test_wanted,
        )
        .unwrap();
        assert_eq!(
            m,
            vec![
                ("s", Captured::Str("x".into())),
                ("n", Captured::Num(Number::Unsigned(1))),
                ("neg", Captured::Num(Number::Negative(-1))),
                ("f", Captured::Num(Number::Float(1.5))),
                ("b", Captured::Bool(true)),
                ("z", Captured::Null),
                ("arr", Captured::StrArray(vec!["a".into(), "b".into()])),
                ("mixed", Captured::Other),
                ("o", Captured::Other),
            ]
        );
    }
}
