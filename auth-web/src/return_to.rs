//! `return_to`: where a sign-in lands afterwards. Only a path on this site is accepted, so
//! `/login?return_to=…` cannot send a freshly signed-in user to another site (an open
//! redirect, OWASP "Unvalidated Redirects and Forwards":
//! <https://cheatsheetseries.owasp.org/cheatsheets/Unvalidated_Redirects_and_Forwards_Cheat_Sheet.html>).

/// The longest `return_to` accepted.
const MAX_LEN: usize = 2048;

/// `candidate` if it is a same-origin path (`/cases?x=1`): it starts with one `/`, has no
/// backslash (browsers read `/\evil.example` as `//evil.example`), no control character or
/// space, and no scheme or authority.
pub(crate) fn same_origin_path(candidate: &str) -> Option<&str> {
    let ok = candidate.len() <= MAX_LEN
        && candidate.starts_with('/')
        && !candidate.starts_with("//")
        && !candidate.contains('\\')
        && !candidate
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
        && candidate
            .parse::<http::Uri>()
            .is_ok_and(|u| u.scheme().is_none() && u.authority().is_none());
    ok.then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_accepts_only_same_origin_paths() {
        for good in ["/", "/cases", "/cases?id=1&x=%2F", "/a/b#frag"] {
            assert_eq!(same_origin_path(good), Some(good), "{good}");
        }
        for bad in [
            "",
            "cases",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "\\/evil.example",
            "/\t/evil.example",
            " /cases",
            "/x\r\nLocation: https://evil.example",
            "javascript:alert(1)",
            "http:/evil.example",
        ] {
            assert_eq!(same_origin_path(bad), None, "{bad:?}");
        }
        assert_eq!(same_origin_path(&format!("/{}", "a".repeat(3000))), None);
    }
}
