//! Lists of strings borrowed from the claims ([`Strs`]) and group membership ([`Groups`]).

use std::fmt;

use super::span::Span;

/// A list of strings from a token's claims (`aud`, `roles`, `wids`, `groups`, `xms_cc`),
/// borrowed from the [`Claims`](super::Claims): no allocation per element.
///
/// Iterate it, or use [`Strs::contains`], [`Strs::len`], [`Strs::get`]; it compares equal to
/// slices and arrays of strings.
#[derive(Clone, Copy)]
pub struct Strs<'a> {
    pub(super) text: &'a str,
    pub(super) spans: &'a [Span],
}

impl<'a> Strs<'a> {
    /// How many strings.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The string at `index`.
    pub fn get(&self, index: usize) -> Option<&'a str> {
        self.spans.get(index).map(|s| &self.text[s.range()])
    }

    /// The first string.
    pub fn first(&self) -> Option<&'a str> {
        self.get(0)
    }

    /// Whether the list contains `value` (exact match).
    pub fn contains(&self, value: &str) -> bool {
        self.iter().any(|s| s == value)
    }

    /// The strings, in token order.
    pub fn iter(&self) -> StrsIter<'a> {
        StrsIter {
            text: self.text,
            spans: self.spans.iter(),
        }
    }

    /// The strings joined with `separator`.
    pub fn join(&self, separator: &str) -> String {
        let mut out = String::new();
        for (i, s) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(separator);
            }
            out.push_str(s);
        }
        out
    }

    /// The strings, owned.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl fmt::Debug for Strs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq<Strs<'_>> for Strs<'_> {
    fn eq(&self, other: &Strs<'_>) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Strs<'_> {}

impl<S: AsRef<str>> PartialEq<[S]> for Strs<'_> {
    fn eq(&self, other: &[S]) -> bool {
        self.iter().eq(other.iter().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Strs<'_> {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Strs<'_> {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl<'a> IntoIterator for Strs<'a> {
    type Item = &'a str;
    type IntoIter = StrsIter<'a>;
    fn into_iter(self) -> StrsIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Strs<'a> {
    type Item = &'a str;
    type IntoIter = StrsIter<'a>;
    fn into_iter(self) -> StrsIter<'a> {
        self.iter()
    }
}

/// The iterator of a [`Strs`].
#[derive(Clone, Debug)]
pub struct StrsIter<'a> {
    text: &'a str,
    spans: std::slice::Iter<'a, Span>,
}

impl<'a> Iterator for StrsIter<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        self.spans.next().map(|s| &self.text[s.range()])
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl DoubleEndedIterator for StrsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.spans.next_back().map(|s| &self.text[s.range()])
    }
}

impl ExactSizeIterator for StrsIter<'_> {}

impl std::iter::FusedIterator for StrsIter<'_> {}

/// The groups a token reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Groups<'a> {
    /// No `groups` claim and no overage marker: the app is not configured to receive groups.
    NotIssued,
    /// The `groups` claim, as issued.
    Listed(Strs<'a>),
    /// Too many groups to fit in the token: `_claim_names` (or `hasgroups`) is present and
    /// `groups` is absent. Query Microsoft Graph for the user's groups; never treat this as
    /// "member of no group".
    Overage,
}

/// [`Groups`] as stored: the list is a range of `Claims::lists`.
#[derive(Clone, Copy, Debug)]
pub(super) enum GroupsRepr {
    NotIssued,
    Listed(Span),
    Overage,
}
