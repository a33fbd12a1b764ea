//! URL rules shared by the validator (configured hosts) and the key fetcher (URLs it may GET):
//! `https`, or plain `http` to a loopback host only; no user info, query or fragment in a base
//! URL.

/// Accepts `https://host[:port][/path]`, or `http://` for loopback hosts only; returns it
/// without a trailing slash.
pub(crate) fn normalise_base_url(url: &str) -> Option<String> {
    base_url(url).ok()
}

/// As [`normalise_base_url`], saying which rule `url` breaks.
pub(crate) fn base_url(url: &str) -> Result<String, &'static str> {
    let url = url.trim_end_matches('/');
    let (rest, https) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, true)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (rest, false)
    } else {
        return Err("only https URLs (or http to a loopback host) are allowed");
    };
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() {
        return Err("the URL has no host");
    }
    // User info (`user@host`) would let `http://127.0.0.1@evil.example` pass as loopback;
    // queries and fragments have no place in a base URL.
    if authority.contains('@') || url.contains(['?', '#']) {
        return Err("user info, query and fragment are not allowed");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the URL contains whitespace");
    }
    if !https && !is_loopback_authority(authority) {
        return Err("plain http is allowed only to loopback hosts (localhost, 127.0.0.1, [::1])");
    }
    Ok(url.to_owned())
}

/// Whether `authority` (`host[:port]`) is a loopback host: 127.0.0.0/8, `[::1]`, `localhost`.
pub(crate) fn is_loopback_authority(authority: &str) -> bool {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, _)) => h,
            None => return false,
        }
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    if host.eq_ignore_ascii_case("localhost") || host == "::1" {
        return true;
    }
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Checks that `url` may be fetched: an absolute `https` URL without user info or fragment,
/// or `http` to a loopback host (127.0.0.0/8, `[::1]`, `localhost`). The error says why not.
#[cfg(feature = "fetch")]
pub(crate) fn check_fetch_url(url: &str) -> Result<reqwest::Url, &'static str> {
    const NOT_HTTPS: &str =
        "not an absolute https URL (plain http is accepted only for loopback hosts)";
    if normalise_base_url(url).is_none() {
        return Err(NOT_HTTPS);
    }
    let parsed = reqwest::Url::parse(url).map_err(|_| "not a valid URL")?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("a URL with user info (user@host) is refused");
    }
    if parsed.fragment().is_some() {
        return Err("a URL with a #fragment is refused");
    }
    match parsed.scheme() {
        "https" if parsed.host_str().is_some() => Ok(parsed),
        // `normalise_base_url` looked at the text; the parsed host is what would be dialled.
        "http" if parsed.host_str().is_some_and(is_loopback_authority) => Ok(parsed),
        _ => Err(NOT_HTTPS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_urls_are_accepted() {
        assert_eq!(
            normalise_base_url("https://login.microsoftonline.com/").as_deref(),
            Some("https://login.microsoftonline.com")
        );
        assert!(normalise_base_url("http://127.0.0.1:8080").is_some());
        assert!(normalise_base_url("http://localhost:1").is_some());
        assert!(normalise_base_url("http://[::1]:1").is_some());
        assert!(normalise_base_url("http://example.com").is_none());
        assert!(normalise_base_url("http://127.0.0.1.evil.com").is_none());
        assert!(normalise_base_url("http://127.0.0.1:80@evil.example").is_none());
        assert!(normalise_base_url("https://user@login.microsoftonline.com").is_none());
        assert!(normalise_base_url("https://login.microsoftonline.com/t?x=1").is_none());
        assert!(normalise_base_url("https://login.microsoftonline.com#f").is_none());
        assert!(normalise_base_url("ftp://x").is_none());
        assert!(normalise_base_url("https://").is_none());
    }

    #[cfg(feature = "fetch")]
    #[test]
    fn only_https_or_loopback_http_may_be_fetched() {
        assert!(
            check_fetch_url("https://login.microsoftonline.com/common/discovery/v2.0/keys").is_ok()
        );
        assert!(check_fetch_url("http://127.0.0.1:8080/keys").is_ok());
        assert!(check_fetch_url("http://localhost/keys").is_ok());
        assert!(check_fetch_url("http://[::1]:9/keys").is_ok());
        for url in [
            "http://example.com/keys",
            "http://127.0.0.1:80@evil.example/keys",
            "https://user:pw@idp.example/keys",
            "https://idp.example/keys#frag",
            "ftp://idp.example/keys",
            "/relative/keys",
            "",
        ] {
            assert!(check_fetch_url(url).is_err(), "{url}");
        }
    }
}
