//! The claims the parser reads, by name: one table.
//!
//! Adding a plain string claim is one line in the `strings` part of the table below and its
//! accessor on [`Claims`](super::Claims) (`self.string(Member::…)`): the parser stores it, type
//! checked, in [`Strings`], with no other change.

use super::span::Span;
use crate::json;

/// Generates [`Member`] (string claims first, so that their discriminants index [`Strings`]),
/// [`STRING_CLAIMS`], [`Member::name`] and [`wanted`] from one table.
macro_rules! members {
    (
        strings { $($string:ident => $string_name:literal,)* }
        others { $($other:ident => $other_name:literal,)* }
    ) => {
        /// The claims the validator reads (every other claim is only checked for duplicates).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(super) enum Member {
            $(
                #[doc = concat!("`", $string_name, "` (a plain string claim)")]
                $string,
            )*
            $(
                #[doc = concat!("`", $other_name, "`")]
                $other,
            )*
        }

        /// How many plain string claims: the first `STRING_CLAIMS` members.
        pub(super) const STRING_CLAIMS: usize = [$(Member::$string),*].len();

        /// How many members.
        const MEMBERS: usize = STRING_CLAIMS + [$(Member::$other),*].len();

        impl Member {
            /// The claim's name in the payload.
            pub(super) fn name(self) -> &'static str {
                match self {
                    $(Member::$string => $string_name,)*
                    $(Member::$other => $other_name,)*
                }
            }
        }

        /// Names the members the parser hands over ([`json::Wanted`]); a `match`, so the
        /// compiler dispatches on length and bytes.
        pub(super) fn wanted(name: &str) -> Option<Member> {
            Some(match name {
                $($string_name => Member::$string,)*
                $($other_name => Member::$other,)*
                _ => return None,
            })
        }
    };
}

members! {
    strings {
        Tid => "tid",
        Oid => "oid",
        Sub => "sub",
        Name => "name",
        PreferredUsername => "preferred_username",
        Upn => "upn",
        Azp => "azp",
        ClientId => "client_id",
        ClientIdLegacy => "clientId",
        Appid => "appid",
        Cid => "cid",
        Uid => "uid",
        Gty => "gty",
        Azpacr => "azpacr",
        Appidacr => "appidacr",
        Ver => "ver",
        Uti => "uti",
        Idtyp => "idtyp",
        Scope => "scope",
    }
    others {
        Iss => "iss",
        Aud => "aud",
        Exp => "exp",
        Nbf => "nbf",
        Iat => "iat",
        Scp => "scp",
        Roles => "roles",
        Wids => "wids",
        Groups => "groups",
        XmsCc => "xms_cc",
        ClaimNames => "_claim_names",
        Hasgroups => "hasgroups",
        Nonce => "nonce",
        CHash => "c_hash",
        AtHash => "at_hash",
    }
}

// The JSON parser tracks members in a 64-bit set.
const _: () = assert!(MEMBERS <= 64);

impl json::Key for Member {
    fn index(self) -> u32 {
        self as u32
    }
}

/// The plain string claims of a token, each where it lives in the claims' text (none when
/// absent), indexed by [`Member`].
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Strings([Option<Span>; STRING_CLAIMS]);

impl Strings {
    /// Where `member`'s value is; `None` when it is absent or not a plain string claim.
    pub(super) fn get(&self, member: Member) -> Option<Span> {
        self.0.get(member as usize).copied().flatten()
    }

    /// Records where `member`'s value is; does nothing for a member that is not a plain
    /// string claim.
    pub(super) fn set(&mut self, member: Member, span: Option<Span>) {
        debug_assert!(
            (member as usize) < STRING_CLAIMS,
            "{member:?} is a string claim"
        );
        if let Some(slot) = self.0.get_mut(member as usize) {
            *slot = span;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_found_by_name_and_string_claims_index_strings() {
        let mut found = 0;
        let mut strings = Strings::default();
        for name in [
            "tid",
            "oid",
            "sub",
            "name",
            "upn",
            "azp",
            "clientId",
            "ver",
            "scope",
            "iss",
            "aud",
            "exp",
            "scp",
            "roles",
            "_claim_names",
            "at_hash",
        ] {
            let member = wanted(name).expect("a member");
            assert_eq!(member.name(), name);
            assert!((member as usize) < MEMBERS);
            if (member as usize) < STRING_CLAIMS {
                let span = Span {
                    start: found,
                    end: found + 1,
                };
                strings.set(member, Some(span));
                assert_eq!(strings.get(member), Some(span));
                found += 1;
            } else {
                assert_eq!(
                    strings.get(member),
                    None,
                    "{name} is not a plain string claim"
                );
            }
        }
        assert_eq!(found, 9);
        assert_eq!(wanted("amr"), None);
        assert_eq!(wanted("Tid"), None);
    }
}
