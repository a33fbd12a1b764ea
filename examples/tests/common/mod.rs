//! Helpers shared by the example tests: plain HTTP calls and signed-in browsers.
#![allow(dead_code, unreachable_pub)]

use examples::local::browser::{Browser, Page, hidden_input};
use examples::local::{Local, web_sign_in};
use serde_json::Value;

/// What a service answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub challenge: String,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// `method url` with an optional bearer token and JSON body.
pub async fn call(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> Answer {
    let mut request = reqwest::Client::new().request(method.parse().unwrap(), url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    Answer {
        status,
        challenge,
        body: response.text().await.unwrap(),
    }
}

/// A browser signed in to the web app at `base` as `user`, and its signed-in start page.
pub async fn signed_in_browser(base: &str, user: (&str, &str)) -> (Browser, Page) {
    let mut browser = Browser::new().unwrap();
    let home = web_sign_in(&mut browser, base, user, &mut |_| {})
        .await
        .unwrap();
    (browser, home)
}

pub fn csrf(page: &Page) -> String {
    hidden_input(&page.body, "csrf").expect("the page has a CSRF field")
}

/// A user's access token for `scopes`, signed in through `app`.
pub async fn user_token(
    local: &Local,
    app: &str,
    redirect: &str,
    scopes: &[&str],
    user: (&str, &str),
) -> String {
    let client = local.client_as(app).unwrap();
    local
        .sign_in(&client, redirect, scopes, user)
        .await
        .unwrap()
        .access_token
        .into_secret()
}

/// An app-only token of the emulator app `app` for `scope` (client credentials).
pub async fn app_token(local: &Local, app: &str, scope: &str) -> String {
    local
        .client_as(app)
        .unwrap()
        .acquire_token_for_client(&[scope])
        .await
        .unwrap()
        .into_secret()
}
