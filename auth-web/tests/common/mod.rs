//! A test web app on auth-web, served on a loopback port, and a cookie-keeping browser.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::BTreeMap;
use std::time::Duration;

use auth_client::ConfidentialClient;
use auth_testkit::Emulator;
use auth_web::tower_sessions::SessionStore;
use auth_web::{
    CsrfForm, CsrfToken, RequireSignInLayer, SignedIn, TokenError, UserTokenAcquisition, WebAuth,
    WebAuthBuilder,
};
use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

pub const ALICE: &str = "alice@example.onmicrosoft.com";
pub const CASE_CREATE: &str = "api://backend-api-id/Case.Create";
/// Exposed by auth-code-api, not consented for auth-code-client.
pub const CASE_READ: &str = "api://backend-api-id/Case.Read";

pub async fn emulator() -> Emulator {
    Emulator::builder().auto_login(ALICE).start().await.unwrap()
}

pub fn client(idp: &Emulator) -> ConfidentialClient {
    let app = idp.app("auth-code-client");
    ConfidentialClient::builder()
        .authority(idp.authority())
        .client_id(app.client_id())
        .client_secret(app.secret())
        .build()
        .unwrap()
}

/// The test app's routes (besides auth-web's).
pub fn app_routes() -> Router {
    async fn home(user: Option<SignedIn>) -> String {
        match user {
            Some(user) => format!("signed in: {}", user.name().unwrap_or("")),
            None => "anonymous".to_owned(),
        }
    }
    async fn me(user: SignedIn) -> axum::Json<serde_json::Value> {
        axum::Json(serde_json::json!({
            "name": user.name(), "username": user.username(), "oid": user.object_id(),
            "tid": user.tenant_id(), "claims": user.claims(),
        }))
    }
    async fn token_for(tokens: UserTokenAcquisition, scope: &str) -> Result<String, TokenError> {
        let token = tokens.acquire_token_for_user(&[scope]).await?;
        // The API's scopes (the response's `scope` may list the OIDC ones too).
        let api: Vec<&str> = token
            .scopes()
            .iter()
            .map(String::as_str)
            .filter(|s| s.starts_with("api://"))
            .collect();
        Ok(format!("token for {}", api.join(" ")))
    }
    Router::new()
        .route("/", get(home))
        .route("/me", get(me))
        .route(
            "/private",
            get(|| async { "private page" }).route_layer(RequireSignInLayer::new()),
        )
        .route(
            "/create",
            get(|t: UserTokenAcquisition| token_for(t, CASE_CREATE)),
        )
        .route(
            "/read",
            get(|t: UserTokenAcquisition| token_for(t, CASE_READ)),
        )
        .route(
            "/csrf",
            get(|c: CsrfToken| async move { c.value().to_owned() }),
        )
        .route(
            "/form",
            post(
                |_: SignedIn, CsrfForm(form): CsrfForm<BTreeMap<String, String>>| async move {
                    format!("posted {}", form.get("title").cloned().unwrap_or_default())
                },
            ),
        )
}

/// A running web app.
pub struct WebApp {
    pub url: String,
    pub auth: WebAuth,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WebApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves the test app on a loopback port with `store`; `configure` adjusts the builder.
pub async fn serve<Store: SessionStore + Clone>(
    idp: &Emulator,
    store: Store,
    configure: impl FnOnce(WebAuthBuilder) -> WebAuthBuilder,
) -> WebApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    serve_on(idp, store, configure, listener, &format!("http://{addr}")).await
}

/// Serves the test app for `client` on a loopback port with `store`.
pub async fn serve_client<Store: SessionStore + Clone>(
    client: ConfidentialClient,
    store: Store,
    configure: impl FnOnce(WebAuthBuilder) -> WebAuthBuilder,
) -> WebApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    serve_with(client, store, configure, listener, &public).await
}

/// Serves the test app on `listener`, with `public` as the redirect URI's origin.
pub async fn serve_on<Store: SessionStore + Clone>(
    idp: &Emulator,
    store: Store,
    configure: impl FnOnce(WebAuthBuilder) -> WebAuthBuilder,
    listener: TcpListener,
    public: &str,
) -> WebApp {
    serve_with(client(idp), store, configure, listener, public).await
}

async fn serve_with<Store: SessionStore + Clone>(
    client: ConfidentialClient,
    store: Store,
    configure: impl FnOnce(WebAuthBuilder) -> WebAuthBuilder,
    listener: TcpListener,
    public: &str,
) -> WebApp {
    let builder = WebAuth::builder(client)
        .redirect_uri(format!("{public}/redirect"))
        .scopes([CASE_CREATE])
        .front_channel_logout_path("/signout-oidc");
    let auth = configure(builder).build().unwrap();
    let app = app_routes().merge(auth.routes()).layer(auth.layer(store));
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    WebApp {
        url: public.to_owned(),
        auth,
        task,
    }
}

/// What a request returned.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub set_cookie: Vec<String>,
}

/// A browser: keeps cookies (by name), follows no redirect by itself.
#[derive(Clone, Debug, Default)]
pub struct Browser {
    pub cookies: BTreeMap<String, String>,
    pub accept_html: bool,
}

impl Browser {
    pub fn new() -> Self {
        Browser {
            cookies: BTreeMap::new(),
            accept_html: true,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let mut request = request.header(
            "accept",
            if self.accept_html {
                "text/html,application/xhtml+xml,*/*;q=0.8"
            } else {
                "application/json"
            },
        );
        if !self.cookies.is_empty() {
            request = request.header("cookie", self.cookie_header());
        }
        let response = request.send().await.unwrap();
        let set_cookie: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for cookie in &set_cookie {
            let pair = cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let expired = cookie.contains("Max-Age=0") || value.is_empty();
            if expired {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: response.status().as_u16(),
            location: response
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned()),
            set_cookie,
            body: response.text().await.unwrap(),
        }
    }

    fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap()
    }

    pub async fn get(&mut self, url: &str) -> Page {
        self.send(Self::http().get(url)).await
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        self.send(Self::http().post(url).form(form)).await
    }

    /// The emulator's authorize page, with auto-login: the redirect back to the app.
    pub async fn authorize(&mut self, authorize_url: &str) -> String {
        let page = Self::http().get(authorize_url).send().await.unwrap();
        assert_eq!(page.status().as_u16(), 302, "{:?}", page.text().await);
        page.headers()["location"].to_str().unwrap().to_owned()
    }

    /// `/login?return_to=…` → authorize → callback; the callback's answer.
    pub async fn sign_in(&mut self, base: &str, return_to: Option<&str>) -> Page {
        let login = match return_to {
            Some(path) => format!(
                "{base}/login?{}",
                serde_urlencoded::to_string([("return_to", path)]).unwrap()
            ),
            None => format!("{base}/login"),
        };
        let start = self.get(&login).await;
        assert_eq!(start.status, 303, "{start:?}");
        let callback = self.authorize(start.location.as_deref().unwrap()).await;
        self.get(&callback).await
    }
}
