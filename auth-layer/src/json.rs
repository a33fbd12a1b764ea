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

/// How many member names [`SeenNames`] keeps inline, on the stack, before it spills to the heap.
const INLINE_NAMES: usize = 16;

/// Remembers the member names of one object. The first few unescaped names are kept on the
/// stack (no allocation for the objects real tokens have); escaped names and the rest go to a
/// `Vec`, and past [`LINEAR_LIMIT`] everything moves to a hash set.
struct SeenNames<'de> {
    inline: [&'de str; INLINE_NAMES],
    inline_len: usize,
    spill: Vec<Cow<'de, str>>,
    many: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> SeenNames<'de> {
    fn new() -> Self {
        Self {
            inline: [""; INLINE_NAMES],
            inline_len: 0,
            spill: Vec::new(),
            many: None,
        }
    }

    /// Records `name`; `false` if it was already there.
    fn insert(&mut self, name: Cow<'de, str>) -> bool {
        if let Some(many) = &mut self.many {
            return many.insert(name);
        }
        let inline = &self.inline[..self.inline_len];
        if inline.iter().any(|seen| **seen == *name) || self.spill.contains(&name) {
            return false;
        }
        match name {
            Cow::Borrowed(name) if self.inline_len < INLINE_NAMES => {
                self.inline[self.inline_len] = name;
                self.inline_len += 1;
            }
            name => self.spill.push(name),
        }
        if self.inline_len + self.spill.len() > LINEAR_LIMIT {
            let mut many: HashSet<Cow<'de, str>> = self.spill.drain(..).collect();
            many.extend(
                self.inline[..self.inline_len]
                    .iter()
                    .map(|n| Cow::Borrowed(*n)),
            );
            self.inline_len = 0;
            self.many = Some(many);
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

/// The value of a member the caller asked for, reduced to the shapes JOSE uses. Strings borrow
/// from the document unless they had escapes; string arrays are lent for one sink call.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Captured<'de, 'a> {
    /// A string.
    Str(Cow<'de, str>),
    /// A number.
    Num(Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An array whose elements are all strings (possibly empty).
    StrArray(&'a [Cow<'de, str>]),
    /// Any other array, or an object (already checked for duplicate names).
    Other,
}

/// What [`ValueSeed`] read; a string array's elements are left in the scratch vector.
enum Scanned<'de> {
    Str(Cow<'de, str>),
    Num(Number),
    Bool(bool),
    Null,
    StrArray,
    Other,
}

/// Reads one captured value; string-array elements go to `scratch` (reused across members, so
/// a document costs at most one allocation for all its string arrays).
struct ValueSeed<'s, 'de> {
    scratch: &'s mut Vec<Cow<'de, str>>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, 'de> {
    type Value = Scanned<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_, 'de> {
    type Value = Scanned<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Scanned<'de>, E> {
        Ok(Scanned::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scanned<'de>, E> {
        Ok(if v >= 0 {
            Scanned::Num(Number::Unsigned(v.unsigned_abs()))
        } else {
            Scanned::Num(Number::Negative(v))
        })
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scanned<'de>, E> {
        Ok(Scanned::Num(Number::Unsigned(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scanned<'de>, E> {
        Ok(Scanned::Num(Number::Float(v)))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scanned<'de>, E> {
        Ok(Scanned::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scanned<'de>, E> {
        Ok(Scanned::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Scanned<'de>, E> {
        Ok(Scanned::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Scanned<'de>, E> {
        Ok(Scanned::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scanned<'de>, A::Error> {
        self.scratch.clear();
        let mut all_strings = true;
        while let Some(element) = seq.next_element::<MaybeString<'de>>()? {
            match element {
                MaybeString::Str(s) if all_strings => self.scratch.push(s),
                _ => all_strings = false,
            }
        }
        Ok(if all_strings {
            Scanned::StrArray
        } else {
            Scanned::Other
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scanned<'de>, A::Error> {
        StrictIgnoreVisitor.visit_map(map)?;
        Ok(Scanned::Other)
    }
}

/// An array element: a string, or anything else (consumed strictly).
enum MaybeString<'de> {
    Str(Cow<'de, str>),
    NotStr,
}

impl<'de> de::Deserialize<'de> for MaybeString<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeString<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<MaybeString<'de>, E> {
                Ok(MaybeString::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<MaybeString<'de>, E> {
                Ok(MaybeString::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<MaybeString<'de>, E> {
                Ok(MaybeString::Str(Cow::Owned(v)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<MaybeString<'de>, E> {
                Ok(MaybeString::NotStr)
            }
            fn visit_i64<E>(self, _: i64) -> Result<MaybeString<'de>, E> {
                Ok(MaybeString::NotStr)
            }
            fn visit_u64<E>(self, _: u64) -> Result<MaybeString<'de>, E> {
                Ok(MaybeString::NotStr)
            }
            fn visit_f64<E>(self, _: f64) -> Result<MaybeString<'de>, E> {
                Ok(MaybeString::NotStr)
            }
            fn visit_unit<E>(self) -> Result<MaybeString<'de>, E> {
                Ok(MaybeString::NotStr)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<MaybeString<'de>, A::Error> {
                StrictIgnoreVisitor.visit_seq(seq)?;
                Ok(MaybeString::NotStr)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MaybeString<'de>, A::Error> {
                StrictIgnoreVisitor.visit_map(map)?;
                Ok(MaybeString::NotStr)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A member a caller wants, named by a small index (below 64) for duplicate detection.
pub(crate) trait Key: Copy {
    /// A number below 64, distinct for each key.
    fn index(self) -> u32;
}

/// Names the members a caller wants: returns the caller's key for `name`, or `None` for members
/// that are only checked. Write it as a `match` so the compiler dispatches on length and bytes
/// instead of scanning a list.
pub(crate) type Wanted<K> = fn(&str) -> Option<K>;

/// Parses `text` as one JSON object, refusing duplicate names at every depth, and hands each
/// member `wanted` names to `sink`, in document order (each name at most once, by
/// construction). `sink` only records: the document is parsed to the end either way, and a
/// JSON error wins over anything the sink saw.
///
/// Takes `&str`: UTF-8 is validated once for the whole document, not string by string.
pub(crate) fn parse_object<'de, K, F>(
    text: &'de str,
    wanted: Wanted<K>,
    sink: F,
) -> Result<(), JsonError>
where
    K: Key,
    F: for<'a> FnMut(K, Captured<'de, 'a>),
{
    let mut de = serde_json::Deserializer::from_str(text);
    ObjectSeed { wanted, sink }
        .deserialize(&mut de)
        .map_err(|e| JsonError::classify(&e))?;
    de.end().map_err(|_| JsonError::Invalid)
}

/// Checks that `bytes` is one JSON value with no duplicate member names at any depth.
pub(crate) fn check_strict(bytes: &[u8]) -> Result<(), JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    <StrictIgnore as de::Deserialize>::deserialize(&mut de).map_err(|e| JsonError::classify(&e))?;
    de.end().map_err(|_| JsonError::Invalid)
}

struct ObjectSeed<K, F> {
    wanted: Wanted<K>,
    sink: F,
}

impl<'de, K, F> DeserializeSeed<'de> for ObjectSeed<K, F>
where
    K: Key,
    F: for<'a> FnMut(K, Captured<'de, 'a>),
{
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, K, F> Visitor<'de> for ObjectSeed<K, F>
where
    K: Key,
    F: for<'a> FnMut(K, Captured<'de, 'a>),
{
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        // Wanted names are deduplicated by key, in a bit set; only the other names go through
        // `SeenNames`.
        let mut captured: u64 = 0;
        let mut others = SeenNames::new();
        let mut scratch: Vec<Cow<'de, str>> = Vec::new();
        while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
            match (self.wanted)(&name) {
                Some(key) => {
                    debug_assert!(key.index() < 64, "a Key's index is below 64");
                    let bit = 1u64 << (key.index() & 63);
                    if captured & bit != 0 {
                        return Err(de::Error::custom(DUPLICATE));
                    }
                    captured |= bit;
                    let value = match map.next_value_seed(ValueSeed {
                        scratch: &mut scratch,
                    })? {
                        Scanned::Str(s) => Captured::Str(s),
                        Scanned::Num(n) => Captured::Num(n),
                        Scanned::Bool(b) => Captured::Bool(b),
                        Scanned::Null => Captured::Null,
                        Scanned::StrArray => Captured::StrArray(&scratch),
                        Scanned::Other => Captured::Other,
                    };
                    (self.sink)(key, value);
                }
                None => {
                    if !others.insert(name) {
                        return Err(de::Error::custom(DUPLICATE));
                    }
                    map.next_value::<StrictIgnore>()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The members these tests capture ("x" and "m0".."m99" are deliberately not among them).
    const NAMES: [&str; 12] = [
        "a", "alg", "s", "n", "neg", "f", "b", "z", "arr", "mixed", "o", "e",
    ];

    #[derive(Clone, Copy)]
    struct Named(usize);

    impl Key for Named {
        fn index(self) -> u32 {
            self.0 as u32
        }
    }

    fn test_wanted(name: &str) -> Option<Named> {
        NAMES.iter().position(|w| *w == name).map(Named)
    }

    /// A captured member, owned, for comparisons.
    #[derive(Debug, PartialEq)]
    enum Owned {
        Str(String, bool),
        Num(Number),
        Bool(bool),
        Null,
        StrArray(Vec<String>),
        Other,
    }

    type Members = Vec<(&'static str, Owned)>;

    fn parse(doc: &[u8], wanted: Wanted<Named>) -> Result<Members, JsonError> {
        let text = std::str::from_utf8(doc).map_err(|_| JsonError::Invalid)?;
        let mut members = Vec::new();
        parse_object(text, wanted, |name, value| {
            let owned = match value {
                Captured::Str(s) => Owned::Str(s.to_string(), matches!(s, Cow::Borrowed(_))),
                Captured::Num(n) => Owned::Num(n),
                Captured::Bool(b) => Owned::Bool(b),
                Captured::Null => Owned::Null,
                Captured::StrArray(v) => Owned::StrArray(v.iter().map(|s| s.to_string()).collect()),
                Captured::Other => Owned::Other,
            };
            members.push((NAMES[name.0], owned));
        })?;
        Ok(members)
    }

    #[test]
    fn duplicate_top_level_member_is_refused() {
        let err = parse(br#"{"a":1,"b":2,"a":3}"#, test_wanted).unwrap_err();
        assert_eq!(err, JsonError::DuplicateMember);
    }

    #[test]
    fn duplicate_member_of_an_ignored_member_is_refused() {
        let err = parse(br#"{"x":1,"x":2}"#, test_wanted).unwrap_err();
        assert_eq!(err, JsonError::DuplicateMember);
    }

    #[test]
    fn duplicate_nested_member_is_refused() {
        let err = parse(br#"{"a":{"k":1,"k":2}}"#, test_wanted).unwrap_err();
        assert_eq!(err, JsonError::DuplicateMember);
        let err = parse(br#"{"z":[{"k":1,"k":2}]}"#, test_wanted).unwrap_err();
        assert_eq!(err, JsonError::DuplicateMember);
    }

    #[test]
    fn escaped_and_plain_spellings_of_one_name_are_duplicates() {
        let err = parse(br#"{"alg":"RS256","\u0061lg":"none"}"#, test_wanted).unwrap_err();
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
            parse(doc.as_bytes(), test_wanted).unwrap_err(),
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
                parse(doc, test_wanted).unwrap_err(),
                JsonError::Invalid,
                "{doc:?}"
            );
        }
    }

    #[test]
    fn captures_shapes() {
        let m = parse(
            br#"{"s":"x","n":1,"neg":-1,"f":1.5,"b":true,"z":null,"arr":["a","b"],"mixed":["a",1],"o":{}}"#,
            test_wanted,
        )
        .unwrap();
        assert_eq!(
            m,
            vec![
                ("s", Owned::Str("x".into(), true)),
                ("n", Owned::Num(Number::Unsigned(1))),
                ("neg", Owned::Num(Number::Negative(-1))),
                ("f", Owned::Num(Number::Float(1.5))),
                ("b", Owned::Bool(true)),
                ("z", Owned::Null),
                ("arr", Owned::StrArray(vec!["a".into(), "b".into()])),
                ("mixed", Owned::Other),
                ("o", Owned::Other),
            ]
        );
    }
    #[test]
    fn escaped_strings_are_unescaped_copies_and_plain_ones_borrowed() {
        let m = parse(br#"{"s":"a\/b","arr":["x","y\u0041"]}"#, test_wanted).unwrap();
        assert_eq!(
            m,
            vec![
                ("s", Owned::Str("a/b".into(), false)),
                ("arr", Owned::StrArray(vec!["x".into(), "yA".into()])),
            ]
        );
        let m = parse(br#"{"s":"plain"}"#, test_wanted).unwrap();
        assert_eq!(m, vec![("s", Owned::Str("plain".into(), true))]);
    }

    #[test]
    fn string_arrays_do_not_leak_into_each_other() {
        let m = parse(
            br#"{"arr":["a","b","c"],"mixed":["d"],"o":["e",1],"e":[]}"#,
            test_wanted,
        )
        .unwrap();
        assert_eq!(
            m,
            vec![
                (
                    "arr",
                    Owned::StrArray(vec!["a".into(), "b".into(), "c".into()])
                ),
                ("mixed", Owned::StrArray(vec!["d".into()])),
                ("o", Owned::Other),
                ("e", Owned::StrArray(vec![])),
            ]
        );
    }

    #[test]
    fn duplicates_are_caught_inline_spilled_and_escaped() {
        for count in [3, INLINE_NAMES, INLINE_NAMES + 5] {
            let names: Vec<String> = (0..count).map(|i| format!("\"k{i}\":{i}")).collect();
            let body = names.join(",");
            // Each earlier name repeated, plainly and escaped (`\u006b` is `k`), at the top
            // level and nested.
            for dup in [0, count / 2, count - 1] {
                for spelling in [format!("k{dup}"), format!("\\u006b{dup}")] {
                    for doc in [
                        format!("{{{body},\"{spelling}\":0}}"),
                        format!("{{\"x\":{{{body},\"{spelling}\":0}}}}"),
                    ] {
                        assert_eq!(
                            parse(doc.as_bytes(), test_wanted).unwrap_err(),
                            JsonError::DuplicateMember,
                            "{doc}"
                        );
                    }
                }
            }
            // An escaped *first* spelling is caught too.
            let doc = format!("{{\"\\u006b0\":0,{body}}}");
            assert_eq!(
                parse(doc.as_bytes(), test_wanted).unwrap_err(),
                JsonError::DuplicateMember,
                "{doc}"
            );
            let doc = format!("{{{body}}}");
            assert!(parse(doc.as_bytes(), test_wanted).is_ok(), "{doc}");
        }
    }

    #[test]
    fn wanted_members_are_deduplicated_by_key_including_escaped_spellings() {
        assert_eq!(
            parse(br#"{"s":"x","n":1,"\u0073":"y"}"#, test_wanted).unwrap_err(),
            JsonError::DuplicateMember
        );
    }
}
