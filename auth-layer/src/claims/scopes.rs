//! [`Scopes`]: a token's delegated permissions, parsed once into a duplicate-free list.

use std::fmt;

/// The delegated permissions of a token: Entra's space-separated `scp` (or an array, as some
/// providers send), or RFC 9068's `scope`, parsed once into a duplicate-free list.
#[derive(Clone, Default)]
pub struct Scopes {
    list: ScopeList,
    len: usize,
}

/// How [`Scopes`] are stored: in one string when no scope has a space (always so for `scp` and
/// `scope` strings, which are split on spaces), else one string per scope.
#[derive(Clone)]
enum ScopeList {
    /// Distinct non-empty scopes without spaces, joined by single spaces (`""` for none).
    Spaced(String),
    /// Distinct non-empty scopes (an array form with a scope containing a space).
    Listed(Vec<String>),
}

impl Default for ScopeList {
    fn default() -> Self {
        ScopeList::Spaced(String::new())
    }
}

/// Joins the distinct non-empty `scopes` (none containing a space) with single spaces; returns
/// the text and how many scopes it holds.
fn join_distinct<'a>(scopes: impl Iterator<Item = &'a str>, capacity: usize) -> (String, usize) {
    let mut text = String::with_capacity(capacity);
    // Where the first scopes end in `text`, for a cheap duplicate check; past them, `text` is
    // split again.
    let mut ends = [0u32; 32];
    let mut len = 0;
    for scope in scopes {
        if scope.is_empty() {
            continue;
        }
        let seen = if len <= ends.len() {
            let mut start = 0;
            ends[..len].iter().any(|&end| {
                let seen = &text[start..end as usize];
                start = end as usize + 1;
                seen == scope
            })
        } else {
            text.split(' ').any(|seen| seen == scope)
        };
        if seen {
            continue;
        }
        if len > 0 {
            text.push(' ');
        }
        text.push_str(scope);
        if let Some(end) = ends.get_mut(len) {
            // At most the payload's length, which fits in u32 (checked by the parser).
            *end = text.len() as u32;
        }
        len += 1;
    }
    (text, len)
}

impl Scopes {
    pub(super) fn parse_str(s: &str) -> Self {
        let (text, len) = join_distinct(s.split(' '), s.len());
        Scopes {
            list: ScopeList::Spaced(text),
            len,
        }
    }

    pub(super) fn from_strs<'a>(v: impl Iterator<Item = &'a str> + Clone) -> Self {
        if v.clone().any(|scope| scope.contains(' ')) {
            let mut list: Vec<String> = Vec::new();
            for scope in v {
                if !scope.is_empty() && !list.iter().any(|seen| seen == scope) {
                    list.push(scope.to_owned());
                }
            }
            return Scopes {
                len: list.len(),
                list: ScopeList::Listed(list),
            };
        }
        let capacity = v.clone().map(|s| s.len() + 1).sum();
        let (text, len) = join_distinct(v, capacity);
        Scopes {
            list: ScopeList::Spaced(text),
            len,
        }
    }

    /// Whether `scope` is granted (exact, case-sensitive match, as Entra compares).
    pub fn contains(&self, scope: &str) -> bool {
        self.iter().any(|s| s == scope)
    }

    /// The scopes, in token order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (spaced, listed) = match &self.list {
            ScopeList::Spaced(text) if self.len > 0 => (Some(text.split(' ')), None),
            ScopeList::Spaced(_) => (None, None),
            ScopeList::Listed(list) => (None, Some(list.iter().map(String::as_str))),
        };
        spaced
            .into_iter()
            .flatten()
            .chain(listed.into_iter().flatten())
    }

    /// How many scopes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no scope.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl PartialEq for Scopes {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for Scopes {}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Scopes")
            .field(&self.iter().collect::<Vec<_>>())
            .finish()
    }
}
