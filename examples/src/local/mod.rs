//! Everything on loopback: the Entra emulator (default tenant) and every example service,
//! in this process, each on `127.0.0.1:0`. The tour walks it; the tests use it.
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use examples::local::{ALICE, Local};
//!
//! let local = Local::start().await?;
//! let web_app = local.client_as("auth-code-client")?;
//! let redirect = format!("{}/callback", local.auth_code_client.url());
//! let tokens = local
//!     .sign_in(&web_app, &redirect, &["api://backend-api-id/Case.Create"], ALICE)
//!     .await?;
//! # let _ = tokens; Ok(()) }
//! ```
//!
//! The emulator signs with the testkit's key `rsa_a`, so that [`Local::mint`] can produce
//! tokens Entra would never issue (expired ones, a user token for an app-only API) that the
//! services must refuse.

pub mod browser;

use std::net::SocketAddr;

use auth_client::{AuthorizationRequest, AuthorizationResponse, ConfidentialClient, UserTokens};
use auth_testkit::emulator::Emulator;
use auth_testkit::{TestKey, TokenBuilder};

use self::browser::{Browser, Page, attribute_after, hidden_input};
use crate::config::{ClientConfig, ConfigError, ResourceConfig};
use crate::server::{Running, bind, spawn};
use crate::trace::Trace;
use crate::{
    auth_code_api, auth_code_client, grpc, obo_frontend, obo_internal_api, obo_shared_api, s2s_api,
    s2s_consumer,
};

/// Alice: username and password in the default tenant (app role `Case.Approver`).
pub const ALICE: (&str, &str) = ("alice@example.onmicrosoft.com", "alice-password");
/// Bob: no app roles.
pub const BOB: (&str, &str) = ("bob@example.onmicrosoft.com", "bob-password");
/// `auth-code-api`'s scope for creating cases.
pub const CASE_CREATE: &str = "api://backend-api-id/Case.Create";
/// `auth-code-api`'s other scope.
pub const CASE_READ: &str = "api://backend-api-id/Case.Read";
/// The internal API's scope (Token A).
pub const INTERNAL_SCOPE: &str = "api://obo-example-internal-api/user_impersonation";
/// The shared API's read scope (Token B of `GET /process-documents`).
pub const SHARED_READ: &str = "api://shared-documents/Documents.Read";
/// The shared API's write scope (Token B of `POST /upload`).
pub const SHARED_WRITE: &str = "api://shared-documents/Documents.Write";
/// The s2s API's client-credentials scope.
pub const S2S_SCOPE: &str = "api://s2s-example-api/.default";

/// The emulator and the services, running until dropped.
#[derive(Debug)]
pub struct Local {
    /// The Entra emulator, default tenant.
    pub idp: Emulator,
    /// What the services record.
    pub trace: Trace,
    /// `auth-code-client`.
    pub auth_code_client: Running,
    /// `auth-code-api`.
    pub auth_code_api: Running,
    /// `obo-example-frontend`.
    pub frontend: Running,
    /// `obo-example-internal-api`.
    pub internal_api: Running,
    /// `obo-example-shared-api`.
    pub shared_api: Running,
    /// `s2s-example-api`.
    pub s2s_api: Running,
    /// The gRPC example.
    pub grpc: Running,
}

impl Local {
    /// Starts the emulator and every service.
    ///
    /// # Errors
    /// Something could not start (no loopback port, …).
    pub async fn start() -> Result<Local, ConfigError> {
        let idp = Emulator::builder()
            .signing_key_pem(TestKey::rsa_a().private_key_pem())
            .start()
            .await
            .map_err(|e| ConfigError::Invalid {
                name: "emulator",
                reason: e.to_string(),
            })?;
        let trace = Trace::recording();
        let any = SocketAddr::from(([127, 0, 0, 1], 0));

        let config = auth_code_api::Config {
            listen: any,
            resource: resource(&idp, auth_code_api::NAME, "api://backend-api-id"),
            trace: trace.clone(),
        };
        let auth_code_api = spawn(bind(any).await?, auth_code_api::router(&config).await?);

        let config = obo_shared_api::Config {
            listen: any,
            resource: resource(&idp, obo_shared_api::NAME, "api://shared-documents"),
            write_permissions: vec!["Documents.Write".to_owned()],
            trace: trace.clone(),
        };
        let shared_api = spawn(bind(any).await?, obo_shared_api::router(&config).await?);

        let config = obo_internal_api::Config {
            listen: any,
            resource: resource(
                &idp,
                obo_internal_api::NAME,
                "api://obo-example-internal-api",
            ),
            client: client(&idp, obo_internal_api::NAME),
            shared_api_url: shared_api.url(),
            shared_api_scope: SHARED_READ.to_owned(),
            shared_api_write_scope: SHARED_WRITE.to_owned(),
            trace: trace.clone(),
        };
        let internal_api = spawn(bind(any).await?, obo_internal_api::router(&config).await?);

        let config = s2s_api::Config {
            listen: any,
            resource: resource(&idp, s2s_api::NAME, "api://s2s-example-api"),
            trace: trace.clone(),
        };
        let s2s_api = spawn(bind(any).await?, s2s_api::router(&config).await?);

        let listener = bind(any).await?;
        let bound = local_addr(&listener)?;
        let config = auth_code_client::Config {
            listen: bound,
            client: client(&idp, auth_code_client::NAME),
            redirect_uri: None,
            api_url: auth_code_api.url(),
            api_scope: CASE_CREATE.to_owned(),
            sessions: crate::Sessions::default(),
            trace: trace.clone(),
        };
        let auth_code_client = spawn(listener, auth_code_client::router(&config, bound)?);

        let listener = bind(any).await?;
        let bound = local_addr(&listener)?;
        let config = obo_frontend::Config {
            listen: bound,
            client: client(&idp, obo_frontend::NAME),
            redirect_uri: None,
            api_url: internal_api.url(),
            api_scope: INTERNAL_SCOPE.to_owned(),
            sessions: crate::Sessions::default(),
            trace: trace.clone(),
        };
        let frontend = spawn(listener, obo_frontend::router(&config, bound)?);

        let grpc_auth = resource(&idp, auth_code_api::NAME, "api://backend-api-id")
            .grpc_authenticator()
            .await?;
        let grpc = grpc::spawn(bind(any).await?, &grpc_auth);

        Ok(Local {
            idp,
            trace,
            auth_code_client,
            auth_code_api,
            frontend,
            internal_api,
            shared_api,
            s2s_api,
            grpc,
        })
    }

    /// The token-validation settings of the emulator app `app`, also accepting `audience`.
    pub fn resource(&self, app: &str, audience: &str) -> ResourceConfig {
        resource(&self.idp, app, audience)
    }

    /// The client settings of the emulator app `app` (its secret).
    pub fn client_config(&self, app: &str) -> ClientConfig {
        client(&self.idp, app)
    }

    /// A token client acting as the emulator app `app`.
    ///
    /// # Errors
    /// The client cannot be built.
    pub fn client_as(&self, app: &str) -> Result<ConfidentialClient, ConfigError> {
        self.client_config(app).client()
    }

    /// A consumer configuration for the emulator app `app` against the s2s API.
    pub fn consumer_config(&self, app: &str) -> s2s_consumer::Config {
        s2s_consumer::Config {
            name: app.to_owned(),
            client: self.client_config(app),
            api_url: self.s2s_api.url(),
            api_scope: S2S_SCOPE.to_owned(),
            interval: None,
            trace: self.trace.clone(),
        }
    }

    /// Signs `user` in to `client` for `scopes` through the emulator's sign-in form, and
    /// redeems the code: the user's tokens.
    ///
    /// # Errors
    /// Any step failed; the message says which.
    pub async fn sign_in(
        &self,
        client: &ConfidentialClient,
        redirect: &str,
        scopes: &[&str],
        user: (&str, &str),
    ) -> Result<UserTokens, String> {
        let start = client
            .authorization_url(AuthorizationRequest::new(redirect).scopes(scopes.iter().copied()))
            .await
            .map_err(|e| e.to_string())?;
        let mut browser = Browser::new()?;
        let form = browser.get(&start.url).await?;
        expect_status(&form, 200, "the authorize endpoint")?;
        let callback = submit_sign_in(&mut browser, &form, user).await?;
        let uri: http::Uri = callback
            .parse()
            .map_err(|_| format!("the callback {callback:?} is not a URI"))?;
        client
            .redeem_code(&start.session, &AuthorizationResponse::from_uri(&uri))
            .await
            .map_err(|e| e.to_string())
    }

    /// A token builder signing with the emulator's key and naming its issuer: for tokens the
    /// emulator would not issue. Set the audience, scopes or roles, lifetime.
    pub fn mint(&self) -> TokenBuilder {
        TokenBuilder::delegated()
            .key(TestKey::rsa_a())
            .kid(&self.idp.signing_kid())
            .claim("iss", self.idp.issuer())
            .claim("tid", self.idp.tenant_id())
    }

    /// [`mint`](Self::mint) a delegated token for Alice, from `auth-code-client`, to `api`.
    pub fn mint_for_alice(&self, api: &str) -> TokenBuilder {
        let user = self.idp.user(ALICE.0);
        self.mint()
            .audience(self.idp.app(api).client_id())
            .claim("oid", user.object_id())
            .claim("name", user.name())
            .claim("preferred_username", user.username())
            .claim("azp", self.idp.app(auth_code_client::NAME).client_id())
    }
}

fn resource(idp: &Emulator, app: &str, audience: &str) -> ResourceConfig {
    ResourceConfig::entra(idp.base_url(), idp.tenant_id(), idp.app(app).client_id())
        .audience(audience)
}

fn client(idp: &Emulator, app: &str) -> ClientConfig {
    let app = idp.app(app);
    ClientConfig::with_secret(
        idp.base_url(),
        idp.tenant_id(),
        app.client_id(),
        app.secret(),
    )
}

fn local_addr(listener: &tokio::net::TcpListener) -> Result<SocketAddr, ConfigError> {
    listener.local_addr().map_err(|e| ConfigError::Invalid {
        name: "LISTEN_ADDR",
        reason: e.to_string(),
    })
}

/// A hop of [`web_sign_in`], for whoever wants to show it.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum WebStep<'a> {
    /// `GET /` answered the start page with its "Sign in" button.
    StartPage,
    /// `GET /login` redirected to this authorize URL.
    Login {
        /// The authorize URL (client id, scopes, state, nonce, PKCE challenge).
        authorize: &'a str,
    },
    /// The authorize endpoint answered its sign-in page.
    SignInPage,
    /// The sign-in form redirected to the web app's callback.
    SignedIn {
        /// The callback URL (code and state).
        callback: &'a str,
    },
    /// The web app's callback redeemed the code and redirected to `/`.
    Callback,
}

/// Signs `user` in to the web app at `base` the way a browser does: `/`, `/login`, the
/// emulator's sign-in form, the callback; returns the signed-in start page. `step` sees each
/// hop.
///
/// # Errors
/// A hop answered something unexpected; the message says which.
pub async fn web_sign_in(
    browser: &mut Browser,
    base: &str,
    user: (&str, &str),
    step: &mut (dyn FnMut(WebStep<'_>) + Send),
) -> Result<Page, String> {
    let start = browser.get(&format!("{base}/")).await?;
    expect_status(&start, 200, "the start page")?;
    if !start.body.contains(">Sign in</button>") {
        return Err("the start page has no Sign in button".to_owned());
    }
    step(WebStep::StartPage);
    let login = browser.get(&format!("{base}/login")).await?;
    expect_status(&login, 303, "GET /login")?;
    let authorize = login.location.unwrap_or_default();
    step(WebStep::Login {
        authorize: &authorize,
    });
    let form = browser.get(&authorize).await?;
    expect_status(&form, 200, "the authorize endpoint")?;
    step(WebStep::SignInPage);
    let callback = submit_sign_in(browser, &form, user).await?;
    step(WebStep::SignedIn {
        callback: &callback,
    });
    let done = browser.get(&callback).await?;
    expect_status(&done, 303, "the callback")?;
    step(WebStep::Callback);
    let home = browser.get(&format!("{base}/")).await?;
    expect_status(&home, 200, "the signed-in page")?;
    Ok(home)
}

/// `Ok` when the page has `status`, an error naming `what` otherwise.
///
/// # Errors
/// The status differs.
pub fn expect_status(page: &Page, status: u16, what: &str) -> Result<(), String> {
    if page.status == status {
        Ok(())
    } else {
        Err(format!(
            "{what} answered {} (expected {status}): {}",
            page.status,
            crate::trace::excerpt(&page.body)
        ))
    }
}

/// Posts the emulator's sign-in form (a page from its authorize endpoint) as `user`; the
/// callback URL it redirects to.
///
/// # Errors
/// The page has no sign-in form, or the sign-in did not redirect.
pub async fn submit_sign_in(
    browser: &mut Browser,
    form: &Page,
    user: (&str, &str),
) -> Result<String, String> {
    let action =
        attribute_after(&form.body, "<form", "action").ok_or("the sign-in page has no form")?;
    let tx = hidden_input(&form.body, "login_tx").ok_or("the sign-in form has no login_tx")?;
    let page = browser
        .post_form(
            &action,
            &[
                ("login_tx", tx.as_str()),
                ("username", user.0),
                ("password", user.1),
            ],
        )
        .await?;
    expect_status(&page, 302, "the sign-in form")?;
    page.location
        .ok_or_else(|| "the sign-in answered no redirect".to_owned())
}
