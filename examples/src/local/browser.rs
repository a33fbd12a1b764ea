//! A small browser for the tour and the tests: follows no redirect by itself (each is a hop to
//! show), keeps cookies per host, reads forms and results out of pages.

use std::collections::HashMap;

use http::header::{COOKIE, LOCATION, SET_COOKIE};

/// A page as the browser got it.
#[derive(Debug)]
pub struct Page {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header, made absolute.
    pub location: Option<String>,
    /// The body.
    pub body: String,
}

/// A reqwest client that does not follow redirects, plus a cookie jar (host-only cookies,
/// path `/`: all the web apps set).
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    /// `host:port` → cookie name → value.
    jar: HashMap<String, HashMap<String, String>>,
}

fn authority(url: &str) -> String {
    url.parse::<http::Uri>()
        .ok()
        .and_then(|u| u.authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_default()
}

impl Browser {
    /// A browser with an empty cookie jar.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new() -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Browser {
            http,
            jar: HashMap::new(),
        })
    }

    fn cookie_header(&self, url: &str) -> Option<String> {
        let cookies = self.jar.get(&authority(url))?;
        if cookies.is_empty() {
            return None;
        }
        Some(
            cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    async fn send(&mut self, url: &str, request: reqwest::RequestBuilder) -> Result<Page, String> {
        let request = match self.cookie_header(url) {
            Some(cookies) => request.header(COOKIE, cookies),
            None => request,
        };
        let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
        let jar = self.jar.entry(authority(url)).or_default();
        for value in response.headers().get_all(SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                jar.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| absolute(url, l));
        let body = response.text().await.unwrap_or_default();
        Ok(Page {
            status,
            location,
            body,
        })
    }

    /// `GET url`.
    ///
    /// # Errors
    /// The request failed (connection refused, …).
    pub async fn get(&mut self, url: &str) -> Result<Page, String> {
        let request = self.http.get(url);
        self.send(url, request).await
    }

    /// `POST url` with a form body.
    ///
    /// # Errors
    /// The request failed.
    pub async fn post_form(&mut self, url: &str, fields: &[(&str, &str)]) -> Result<Page, String> {
        let request = self.http.post(url).form(fields);
        self.send(url, request).await
    }
}

/// `location` resolved against `base` (the apps redirect to `/`).
fn absolute(base: &str, location: &str) -> String {
    if location.starts_with('/') {
        let scheme = if base.starts_with("https:") {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}{location}", authority(base))
    } else {
        location.to_owned()
    }
}

/// Undoes the HTML escapes the pages use.
pub fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of the first `attr="…"` after `marker` in `html`.
pub fn attribute_after(html: &str, marker: &str, attr: &str) -> Option<String> {
    let start = html.find(marker)?;
    let rest = &html[start..];
    let key = format!("{attr}=\"");
    let at = rest.find(&key)? + key.len();
    let end = rest[at..].find('"')?;
    Some(unescape(&rest[at..at + end]))
}

/// The value of the hidden input `name`.
pub fn hidden_input(html: &str, name: &str) -> Option<String> {
    attribute_after(html, &format!("name=\"{name}\""), "value")
}

/// The text of the element with `id`.
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let start = html.find(&marker)?;
    let open_end = html[start..].find('>')? + start + 1;
    let close = html[open_end..].find("</")? + open_end;
    Some(unescape(&html[open_end..close]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_results_are_read_out_of_pages() {
        let html = "<form method=\"post\" action=\"http://h/a?x=1&amp;y=2\"><input type=\"hidden\" name=\"csrf\" value=\"a&amp;b\">\
                    <pre id=\"api-response\">Case &quot;1&quot;</pre>";
        assert_eq!(
            attribute_after(html, "<form", "action").unwrap(),
            "http://h/a?x=1&y=2"
        );
        assert_eq!(hidden_input(html, "csrf").unwrap(), "a&b");
        assert_eq!(element_text(html, "api-response").unwrap(), "Case \"1\"");
        assert_eq!(hidden_input(html, "missing"), None);
        assert_eq!(
            absolute("http://127.0.0.1:80/login", "/"),
            "http://127.0.0.1:80/"
        );
    }
}
