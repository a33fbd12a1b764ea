//! The web apps' pages: plain, accessible HTML with a little CSS, no script.

use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;
use http::header::{CACHE_CONTROL, HeaderValue};

const CSS: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f3f4f6;color:#1b1b1b}\
header{background:#0f2b46;color:#fff;padding:.75rem 1.5rem}\
header p{margin:0;font-weight:600}\
main{max-width:640px;margin:2rem auto;background:#fff;padding:2rem 2.25rem;border-radius:6px;box-shadow:0 2px 8px rgba(0,0,0,.12)}\
h1{font-size:1.5rem;margin:0 0 1rem}\
label{display:block;font-weight:600;margin:1rem 0 .25rem}\
input,textarea{width:100%;padding:.55rem .65rem;font:inherit;border:1px solid #8a8886;border-radius:3px}\
input:focus,textarea:focus,button:focus,a:focus{outline:3px solid #0067b8;outline-offset:2px}\
button{margin-top:1rem;padding:.6rem 1.4rem;font:inherit;font-weight:600;color:#fff;background:#0067b8;border:0;border-radius:3px;cursor:pointer}\
button:hover{background:#005da6}\
.who{color:#444}\
.result{margin-top:1.5rem;padding:.9rem 1rem;border-left:4px solid #107c10;background:#dff6dd;overflow-wrap:anywhere}\
.result.error{border-color:#a80000;background:#fde7e9}\
.result pre{white-space:pre-wrap;margin:.25rem 0 0;font-size:.9rem}\
footer{max-width:640px;margin:0 auto;font-size:.8rem;color:#555;padding:0 .5rem}";

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `app` names the application in the banner, `body` is trusted HTML.
pub(crate) fn page(status: StatusCode, app: &str, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · {app}</title><style>{CSS}</style></head>\
         <body><header><p>{app}</p></header><main><h1>{title}</h1>{body}</main>\
         <footer>A tower-entra example. Sign-in by Microsoft Entra ID (or the local emulator).</footer>\
         </body></html>",
        title = escape(title),
        app = escape(app),
    );
    let mut response = (status, Html(html)).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A result box: the API's answer, or an error (`role="status"` / `role="alert"`).
pub(crate) fn result_box(ok: bool, heading: &str, text: &str) -> String {
    let (class, role) = if ok {
        ("result", "status")
    } else {
        ("result error", "alert")
    };
    format!(
        "<section class=\"{class}\" role=\"{role}\" aria-label=\"{heading}\"><strong>{heading}</strong>\
         <pre id=\"api-response\">{text}</pre></section>",
        heading = escape(heading),
        text = escape(text),
    )
}

/// The "Sign in" button (a form, so it works without script and with the keyboard).
pub(crate) fn sign_in_button() -> &'static str {
    "<form method=\"get\" action=\"/login\"><button type=\"submit\">Sign in</button></form>"
}
