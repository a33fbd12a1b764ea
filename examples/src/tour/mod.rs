//! The tour: the emulator and every example service in this process, on loopback, and a walk
//! through the three patterns and their refusals, printed hop by hop.
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let report = examples::tour::run(&mut std::io::stdout()).await?;
//! assert!(report.all_passed());
//! # Ok(()) }
//! ```
//!
//! It needs no network and no tenant: the identity provider is `auth_testkit`'s Entra
//! emulator with its default tenant (the seed's app registrations). It signs with the testkit's
//! key `rsa_a`, so that the tour can also present two tokens Entra would never hand out — an
//! expired one, and a user token for the app-only API — and show them refused.

use std::fmt;
use std::io::Write;
use std::time::{Duration, Instant};

use auth_client::{ConfidentialClient, UserTokens};
use auth_testkit::emulator::TenantConfig;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use tonic::Code;

use crate::config::ConfigError;
use crate::local::browser::{Browser, Page, element_text, hidden_input};
use crate::local::{
    ALICE, BOB, CASE_CREATE, CASE_READ, INTERNAL_SCOPE, Local, S2S_SCOPE, SHARED_READ, WebStep,
    expect_status, web_sign_in,
};
use crate::trace::{Event, TokenSummary, excerpt, short};
use crate::{
    auth_code_api, auth_code_client, grpc, obo_frontend, obo_internal_api, obo_shared_api, s2s_api,
    s2s_consumer,
};

/// One step of the tour and whether it behaved as expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What was checked.
    pub title: String,
    /// Whether it behaved as expected.
    pub ok: bool,
    /// What happened.
    pub detail: String,
}

/// The tour's outcome.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// How long the tour took.
    pub elapsed: Duration,
}

impl Report {
    /// Steps that behaved as expected.
    pub fn passed(&self) -> usize {
        self.steps.iter().filter(|s| s.ok).count()
    }

    /// Steps that did not.
    pub fn failed(&self) -> usize {
        self.steps.len() - self.passed()
    }

    /// Whether every step behaved as expected.
    pub fn all_passed(&self) -> bool {
        !self.steps.is_empty() && self.failed() == 0
    }
}

/// The tour could not start (the emulator or a service).
#[derive(Debug)]
pub struct TourError(String);

impl fmt::Display for TourError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the tour could not start: {}", self.0)
    }
}

impl std::error::Error for TourError {}

impl From<ConfigError> for TourError {
    fn from(e: ConfigError) -> Self {
        TourError(e.to_string())
    }
}

/// Runs the tour, printing to `out`; the report says whether every step behaved as expected.
///
/// # Errors
/// The emulator or a service could not start (no loopback port, …).
pub async fn run(out: &mut (dyn Write + Send)) -> Result<Report, TourError> {
    let started = Instant::now();
    let local = Local::start().await?;
    let mut tour = Tour {
        out,
        names: vec![
            (local.auth_code_client.url(), auth_code_client::NAME),
            (local.auth_code_api.url(), auth_code_api::NAME),
            (local.frontend.url(), obo_frontend::NAME),
            (local.internal_api.url(), obo_internal_api::NAME),
            (local.shared_api.url(), obo_shared_api::NAME),
            (local.s2s_api.url(), s2s_api::NAME),
            (local.idp.base_url().to_owned(), "Entra"),
        ],
        local: &local,
        steps: Vec::new(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TourError(format!("an HTTP client: {e}")))?,
    };
    tour.introduce();
    tour.authorization_code().await;
    tour.on_behalf_of().await;
    tour.service_to_service().await;
    tour.refusals().await;
    tour.grpc().await;
    let report = Report {
        steps: tour.steps.clone(),
        elapsed: started.elapsed(),
    };
    tour.summary(&report);
    Ok(report)
}

/// The tour's state while it walks.
struct Tour<'o> {
    out: &'o mut (dyn Write + Send),
    local: &'o Local,
    names: Vec<(String, &'static str)>,
    steps: Vec<Step>,
    http: reqwest::Client,
}

/// What a direct API call returned.
struct Answer {
    status: u16,
    challenge: String,
    body: String,
}

impl Tour<'_> {
    fn say(&mut self, text: impl AsRef<str>) {
        // The tour's verdict is the report: a closed stdout must not stop it.
        let _ = writeln!(self.out, "{}", text.as_ref());
    }

    fn section(&mut self, title: &str) {
        self.say("");
        self.say(format!("━━ {title}"));
    }

    fn tenant(&self) -> &TenantConfig {
        self.local.idp.tenant()
    }

    /// A client id or App ID URI as the app's name, a service URL as the service's name.
    fn name_of(&self, id: &str) -> String {
        if let Some(app) = self.tenant().app_by_client_id(id) {
            return app.name().to_owned();
        }
        for (base, name) in &self.names {
            if let Some(rest) = id.strip_prefix(base.as_str()) {
                return if rest.is_empty() || *name == "Entra" {
                    (*name).to_owned()
                } else {
                    format!("{name} {rest}")
                };
            }
        }
        id.to_owned()
    }

    /// A token's claims in one line: the audience as the token carries it (a client id GUID or
    /// an Application ID URI such as `api://backend-api-id`: they differ, and an API must
    /// accept the form its tokens carry), with the app's name beside it; clients by name.
    fn render(&self, token: &TokenSummary) -> String {
        let mut shown = token.clone();
        if let Some(app) = self.tenant().resource(&token.audience) {
            shown.audience = format!("{} ({})", token.audience, app.name());
        }
        shown.render(&|id| self.name_of(id))
    }

    /// Prints what the services recorded since the last time, nested by call.
    fn show_trace(&mut self, indent: &str) {
        let events = self.local.trace.take();
        self.show_events(events, indent);
    }

    /// Prints `events`, nested by call.
    fn show_events(&mut self, events: Vec<Event>, indent: &str) {
        let mut depth = 0usize;
        for event in events {
            match event {
                Event::Call {
                    from,
                    to,
                    request,
                    token,
                    ..
                } => {
                    let pad = format!("{indent}{}", "    ".repeat(depth));
                    let to = if to.starts_with("http") {
                        self.name_of(&to)
                            .split(' ')
                            .next()
                            .unwrap_or_default()
                            .to_owned()
                    } else {
                        to
                    };
                    self.say(format!("{pad}{from} → {to}: {request}"));
                    if let Some(token) = &token {
                        let text = self.render(token);
                        self.say(format!("{pad}    token: {text}"));
                    }
                    depth += 1;
                }
                Event::Return { outcome, token, .. } => {
                    depth = depth.saturating_sub(1);
                    let pad = format!("{indent}{}", "    ".repeat(depth));
                    if let Some(token) = &token {
                        let text = self.render(token);
                        self.say(format!("{pad}    got: {text}"));
                    }
                    self.say(format!("{pad}    ← {outcome}"));
                }
                Event::Served {
                    service,
                    request,
                    status,
                    kind,
                    client,
                    reason,
                } => {
                    let pad = format!("{indent}{}", "    ".repeat(depth));
                    let client = if client == "-" {
                        client
                    } else {
                        self.name_of(&client)
                    };
                    self.say(format!(
                        "{pad}{service} log: {request} → {status}, token {kind}, client {client}, reason: {reason}"
                    ));
                }
            }
        }
    }

    fn check(&mut self, title: &str, outcome: Result<String, String>) {
        self.show_trace("      ");
        let (ok, detail) = match outcome {
            Ok(detail) => (true, detail),
            Err(detail) => (false, detail),
        };
        let mark = if ok { "✔" } else { "✘" };
        self.say(format!("  {mark} {title}: {detail}"));
        self.steps.push(Step {
            title: title.to_owned(),
            ok,
            detail,
        });
    }

    fn introduce(&mut self) {
        self.say("tower-entra tour: the three Entra ID patterns, end to end, on this machine");
        self.say("");
        let idp = format!(
            "  Entra emulator            {}  (tenant {}, default tenant file)",
            self.local.idp.base_url(),
            self.local.idp.tenant_id()
        );
        self.say(idp);
        let rows = [
            (auth_code_client::NAME, &self.local.auth_code_client),
            (auth_code_api::NAME, &self.local.auth_code_api),
            (obo_frontend::NAME, &self.local.frontend),
            (obo_internal_api::NAME, &self.local.internal_api),
            (obo_shared_api::NAME, &self.local.shared_api),
            (s2s_api::NAME, &self.local.s2s_api),
            (grpc::NAME, &self.local.grpc),
        ];
        for (name, running) in rows {
            self.say(format!("  {name:<25} {}", running.url()));
        }
        self.say("  (tokens are never printed: only what their claims say)");
    }

    /// Browser hops of a web sign-in: `/login`, the emulator's sign-in form, the callback.
    async fn web_sign_in(
        &mut self,
        browser: &mut Browser,
        app: &str,
        base: &str,
        user: (&str, &str),
    ) -> Result<Page, String> {
        let mut lines = Vec::new();
        let mut callback_path = String::new();
        let apps: Vec<(String, String)> = self
            .tenant()
            .apps()
            .iter()
            .map(|a| (a.client_id().to_owned(), a.name().to_owned()))
            .collect();
        let names = |id: &str| {
            apps.iter()
                .find(|(client_id, _)| client_id == id)
                .map_or_else(|| id.to_owned(), |(_, name)| name.clone())
        };
        let signed_in = web_sign_in(browser, base, user, &mut |step| {
            lines.push(match step {
                WebStep::StartPage => {
                    format!("browser → {app}: GET /  ← 200, a page with a \"Sign in\" button")
                }
                WebStep::Login { authorize } => {
                    let (client_id, scope, pkce) = authorize_parameters(authorize);
                    format!(
                        "browser → {app}: GET /login  ← 303 to Entra's authorize endpoint (client_id = {}, scope \"{scope}\", PKCE {pkce}, state, nonce)",
                        names(&client_id)
                    )
                }
                WebStep::SignInPage => "browser → Entra: GET /authorize  ← 200, the sign-in page".to_owned(),
                WebStep::SignedIn { callback } => {
                    callback_path = path_of(callback);
                    format!(
                        "browser → Entra: POST the sign-in form as {}  ← 302 to {app} {callback_path}?code=…&state=…",
                        user.0
                    )
                }
                _ => format!(
                    "browser → {app}: GET {callback_path}  ← 303 to /, with a new session cookie"
                ),
            });
        })
        .await;
        for line in lines {
            self.say(format!("      {line}"));
        }
        self.show_trace("          ");
        signed_in
    }

    async fn authorization_code(&mut self) {
        self.section("1. Authorization code + PKCE: a web app signs Alice in and calls its API");
        let base = self.local.auth_code_client.url();
        let mut browser = match Browser::new() {
            Ok(b) => b,
            Err(e) => return self.check("sign in to auth-code-client", Err(e)),
        };
        let signed_in = self
            .web_sign_in(&mut browser, auth_code_client::NAME, &base, ALICE)
            .await;
        let home = match signed_in {
            Ok(home)
                if home
                    .body
                    .contains("Signed in as <strong>Alice Example</strong>") =>
            {
                self.check(
                    "Alice signs in to auth-code-client",
                    Ok("the page says \"Signed in as Alice Example\"".to_owned()),
                );
                home
            }
            Ok(_) => {
                return self.check(
                    "Alice signs in to auth-code-client",
                    Err("the page does not show Alice as signed in".to_owned()),
                );
            }
            Err(e) => return self.check("Alice signs in to auth-code-client", Err(e)),
        };
        let csrf = hidden_input(&home.body, "csrf").unwrap_or_default();
        self.say("      browser → auth-code-client: POST /cases (the \"Create a case\" button)");
        let outcome = async {
            let page = browser
                .post_form(&format!("{base}/cases"), &[("csrf", &csrf)])
                .await?;
            expect_status(&page, 200, "POST /cases")?;
            let answer = element_text(&page.body, "api-response")
                .ok_or("the page shows no answer from the API")?;
            let expected = format!(
                "Case created successfully by user: Alice Example (OID: {})",
                self.local.idp.user(ALICE.0).object_id()
            );
            if answer == expected {
                Ok(format!("the page shows \"{answer}\""))
            } else {
                Err(format!("the page shows {answer:?}, expected {expected:?}"))
            }
        }
        .await;
        self.check(
            "auth-code-client creates a case through auth-code-api",
            outcome,
        );
    }

    async fn on_behalf_of(&mut self) {
        self.section(
            "2. On-Behalf-Of: frontend → internal API (Token A) → OBO → shared API (Token B)",
        );
        let base = self.local.frontend.url();
        let mut browser = match Browser::new() {
            Ok(b) => b,
            Err(e) => return self.check("sign in to obo-example-frontend", Err(e)),
        };
        let home = match self
            .web_sign_in(&mut browser, obo_frontend::NAME, &base, ALICE)
            .await
        {
            Ok(home) if home.body.contains("Signed in as") => {
                self.check(
                    "Alice signs in to obo-example-frontend",
                    Ok("Token A is in her session".to_owned()),
                );
                home
            }
            Ok(_) => {
                return self.check(
                    "Alice signs in to obo-example-frontend",
                    Err("the page does not show Alice as signed in".to_owned()),
                );
            }
            Err(e) => return self.check("Alice signs in to obo-example-frontend", Err(e)),
        };
        let csrf = hidden_input(&home.body, "csrf").unwrap_or_default();
        self.say("      browser → obo-example-frontend: POST /upload (name report.txt)");
        let alice_oid = self.local.idp.user(ALICE.0).object_id().to_owned();
        let internal_id = self
            .local
            .idp
            .app(obo_internal_api::NAME)
            .client_id()
            .to_owned();
        let outcome = async {
            let page = browser
                .post_form(
                    &format!("{base}/upload"),
                    &[
                        ("csrf", &csrf),
                        ("name", "report.txt"),
                        ("content", "Quarterly numbers"),
                    ],
                )
                .await?;
            expect_status(&page, 200, "POST /upload")?;
            let text = element_text(&page.body, "api-response")
                .ok_or("the page shows no answer from the internal API")?;
            let answer: Value = serde_json::from_str(&text)
                .map_err(|_| format!("the internal API answered {text:?}"))?;
            let stored = &answer["shared_api"];
            let same_user = stored["oid"] == alice_oid.as_str();
            let via_middle_tier = stored["via_client"] == internal_id.as_str();
            if same_user && via_middle_tier {
                Ok(format!(
                    "the shared API stored {} for {} (oid {}), via {}",
                    stored["name"],
                    stored["uploaded_by"],
                    short(&alice_oid),
                    obo_internal_api::NAME
                ))
            } else {
                Err(format!("unexpected answer: {answer}"))
            }
        }
        .await;
        self.check(
            "the upload reaches the shared API as Alice, through the middle tier",
            outcome,
        );

        // GET /process-documents: the tour holds a Token A of its own, as the frontend would.
        self.say("");
        self.say("    The tour signs Alice in as obo-example-frontend itself, to hold a Token A:");
        let frontend = self.client_as(obo_frontend::NAME);
        let redirect = format!("http://{}/redirect", self.local.frontend.addr());
        let outcome = async {
            let frontend = frontend?;
            let tokens = self
                .user_tokens(&frontend, &redirect, &[INTERNAL_SCOPE], ALICE)
                .await?;
            let token_a = tokens.access_token.secret().to_owned();
            let summary_a = TokenSummary::from_jwt(&token_a).unwrap_or_default();
            self.say(format!("      Token A: {}", self.render(&summary_a)));
            let url = format!("{}/process-documents", self.local.internal_api.url());
            let answer = self.call("tour", "GET", &url, Some(&token_a), None).await?;
            // Token B, as the middle tier received it from Entra (the trace's summary of it).
            let events = self.local.trace.take();
            let token_b = events.iter().find_map(|event| match event {
                Event::Return {
                    token: Some(token), ..
                } if token.audience != summary_a.audience => Some(token.as_ref().clone()),
                _ => None,
            });
            self.show_events(events, "      ");
            if answer.status != 200 || answer.body != obo_internal_api::CHAINED {
                return Err(format!(
                    "the internal API answered {} {:?}, expected 200 {:?}",
                    answer.status,
                    excerpt(&answer.body),
                    obo_internal_api::CHAINED
                ));
            }
            let token_b = token_b.ok_or("no Token B in the trace")?;
            let same_oid = token_b.oid == summary_a.oid;
            let azp_middle = token_b.client_id.as_deref() == Some(internal_id.as_str());
            if same_oid && azp_middle {
                Ok(format!(
                    "\"{}\"; Token B carries the same user (oid {}) as Token A, azp = {}, scp {}",
                    answer.body,
                    short(summary_a.oid.as_deref().unwrap_or_default()),
                    obo_internal_api::NAME,
                    token_b.scopes.join(" ")
                ))
            } else {
                Err(format!("Token B: {}", self.render(&token_b)))
            }
        }
        .await;
        self.check(
            "GET /process-documents: same user downstream, azp = the middle tier",
            outcome,
        );
    }

    async fn service_to_service(&mut self) {
        self.section("3. Service to service: a daemon with client credentials calls an API");
        let config = self.local.consumer_config(s2s_consumer::NAME);
        let outcome = match s2s_consumer::run_once(&config).await {
            Ok(upload) if upload.status == 200 => {
                let expected = format!(
                    "File uploaded successfully by Service: {}",
                    self.local.idp.app(s2s_consumer::NAME).client_id()
                );
                if upload.body == expected {
                    Ok(format!("\"{}\"", upload.body))
                } else {
                    Err(format!("answered {:?}", upload.body))
                }
            }
            Ok(upload) => Err(format!(
                "the API answered {}: {}",
                upload.status, upload.body
            )),
            Err(e) => Err(e.to_string()),
        };
        self.check("s2s-example-consumer uploads with its app token", outcome);
    }

    async fn refusals(&mut self) {
        self.section("4. Refusals: each with its status and reason");
        let create_case = format!("{}/create-case", self.local.auth_code_api.url());

        // No token.
        let outcome = self
            .call("tour", "POST", &create_case, None, None)
            .await
            .and_then(|a| expect_refusal(&a, 401, "Bearer"));
        self.check("no token → 401", outcome);

        // A token for another audience: the daemon's token for the s2s API.
        let outcome = async {
            let consumer = self.client_as(s2s_consumer::NAME)?;
            let token = consumer
                .acquire_token_for_client(&[S2S_SCOPE])
                .await
                .map_err(|e| e.to_string())?;
            let answer = self
                .call("tour", "POST", &create_case, Some(token.secret()), None)
                .await?;
            expect_refusal(&answer, 401, "the token is for another audience")
        }
        .await;
        self.check(
            "a token for another audience (s2s-example-api) at auth-code-api → 401",
            outcome,
        );

        // Expired: minted with the emulator's key, as Entra would have issued it two hours ago.
        let expired = self.mint_expired();
        self.say("      (the tour mints this token with the emulator's signing key: issued 2 h ago, valid 1 h)");
        let outcome = self
            .call("tour", "POST", &create_case, Some(&expired), None)
            .await
            .and_then(|a| expect_refusal(&a, 401, "the token has expired"));
        self.check("an expired token → 401", outcome);

        // Missing scope: Alice's token with Case.Read only.
        let redirect = format!("http://{}/callback", self.local.auth_code_client.addr());
        let read_only = async {
            let client = self.client_as(auth_code_client::NAME)?;
            self.user_tokens(&client, &redirect, &[CASE_READ], ALICE)
                .await
        }
        .await;
        let outcome = match &read_only {
            Ok(tokens) => self
                .call(
                    "tour",
                    "POST",
                    &create_case,
                    Some(tokens.access_token.secret()),
                    None,
                )
                .await
                .and_then(|a| expect_refusal(&a, 403, "scope=\"Case.Create\"")),
            Err(e) => Err(e.clone()),
        };
        self.check(
            "a user token without the scope Case.Create (only Case.Read) → 403",
            outcome,
        );

        // The consumer without admin consent: a token without roles.
        let config = self
            .local
            .consumer_config("s2s-example-consumer-unconsented");
        let outcome = match s2s_consumer::run_once(&config).await {
            Ok(upload) if upload.status == 403 => {
                Ok("403: Entra issued a token, but without roles".to_owned())
            }
            Ok(upload) => Err(format!(
                "the API answered {}: {}",
                upload.status, upload.body
            )),
            Err(e) => Err(e.to_string()),
        };
        self.check(
            "s2s-example-consumer-unconsented (no admin consent) → token without roles → 403",
            outcome,
        );

        // A delegated token at the app-only endpoint (even with the role in it).
        let user_token = self.mint_user_token_for_s2s_api();
        self.say("      (the tour mints this token with the emulator's signing key: Entra issues no user token for an API without scopes)");
        let upload = format!("{}/upload", self.local.s2s_api.url());
        let outcome = self
            .call(
                "tour",
                "POST",
                &upload,
                Some(&user_token),
                Some(json!("data")),
            )
            .await
            .and_then(|a| expect_refusal(&a, 403, "needs an application's own token"));
        self.check(
            "a user (delegated) token at the app-only /upload, even with Files.Write → 403",
            outcome,
        );

        // OBO with a token addressed to another API.
        let Ok(tokens) = read_only else {
            return self.check(
                "On-Behalf-Of with a token for another API → AADSTS500131",
                Err("no token for auth-code-api (see above)".to_owned()),
            );
        };
        let wrong = tokens.access_token.secret().to_owned();
        let url = format!("{}/process-documents", self.local.internal_api.url());
        let outcome = self
            .call("tour", "GET", &url, Some(&wrong), None)
            .await
            .and_then(|a| expect_refusal(&a, 401, "the token is for another audience"));
        self.check(
            "the middle tier refuses a token addressed to auth-code-api → 401",
            outcome,
        );
        let outcome = async {
            let internal = self.client_as(obo_internal_api::NAME)?;
            let hop = self.local.trace.call(
                "tour (as obo-example-internal-api)",
                "Entra token endpoint",
                "on_behalf_of with Alice's token for auth-code-api as the assertion",
                Some(&wrong),
            );
            match internal
                .acquire_token_on_behalf_of(&wrong, &[SHARED_READ])
                .await
            {
                Ok(_) => {
                    hop.finish("a token (unexpected)");
                    Err("Entra exchanged a token addressed to another API".to_owned())
                }
                Err(err) => {
                    let server = err.server_error();
                    let line = server
                        .and_then(|s| s.error_description())
                        .map(excerpt)
                        .unwrap_or_else(|| err.to_string());
                    hop.finish(format!(
                        "{} {}",
                        server.and_then(|s| s.status()).unwrap_or_default(),
                        line
                    ));
                    if err.aadsts_codes().contains(&500131) {
                        Ok(format!(
                            "{} AADSTS500131",
                            server.map(|s| s.error()).unwrap_or_default()
                        ))
                    } else {
                        Err(format!("expected AADSTS500131, got: {err}"))
                    }
                }
            }
        }
        .await;
        self.check(
            "On-Behalf-Of with a token addressed to another API → AADSTS500131",
            outcome,
        );
    }

    async fn grpc(&mut self) {
        self.section("5. gRPC (tonic): cases.Cases/Create needs scope Case.Create, cases.Approvals/Approve the role Case.Approver");
        let channel = match grpc::connect(&self.local.grpc.url()).await {
            Ok(channel) => channel,
            Err(e) => return self.check("connect to the gRPC server", Err(e.to_string())),
        };
        let redirect = format!("http://{}/callback", self.local.auth_code_client.addr());
        let tokens = async {
            let client = self.client_as(auth_code_client::NAME)?;
            let alice = self
                .user_tokens(&client, &redirect, &[CASE_CREATE], ALICE)
                .await?;
            let bob = self
                .user_tokens(&client, &redirect, &[CASE_CREATE], BOB)
                .await?;
            Ok::<_, String>((alice.access_token, bob.access_token))
        }
        .await;
        let (alice, bob) = match tokens {
            Ok(tokens) => tokens,
            Err(e) => return self.check("tokens for the gRPC calls", Err(e)),
        };
        for (who, token) in [("Alice", &alice), ("Bob", &bob)] {
            let summary = TokenSummary::from_jwt(token.secret()).unwrap_or_default();
            let text = self.render(&summary);
            self.say(format!("      {who}'s token: {text}"));
        }
        let outcome = match grpc::create_case(&channel, alice.secret(), "Printer on fire").await {
            Ok(reply) => Ok(format!("OK \"{}\"", reply.message)),
            Err(status) => Err(format!("{:?}: {}", status.code(), status.message())),
        };
        self.check("Alice: Create (scope Case.Create) → OK", outcome);
        let outcome = match grpc::approve_case(&channel, alice.secret(), 1).await {
            Ok(reply) => Ok(format!("OK \"{}\"", reply.message)),
            Err(status) => Err(format!("{:?}: {}", status.code(), status.message())),
        };
        self.check("Alice: Approve (she holds Case.Approver) → OK", outcome);
        let outcome = match grpc::approve_case(&channel, bob.secret(), 1).await {
            Ok(reply) => Err(format!(
                "OK {:?} (expected PermissionDenied)",
                reply.message
            )),
            Err(status) if status.code() == Code::PermissionDenied => {
                Ok(format!("PermissionDenied \"{}\"", status.message()))
            }
            Err(status) => Err(format!("{:?}: {}", status.code(), status.message())),
        };
        self.check(
            "Bob: Approve (no Case.Approver role) → PermissionDenied",
            outcome,
        );
    }

    fn summary(&mut self, report: &Report) {
        self.say("");
        let mark = if report.all_passed() { "✔" } else { "✘" };
        self.say(format!(
            "{mark} {} of {} steps behaved as expected ({:.1} s)",
            report.passed(),
            report.steps.len(),
            report.elapsed.as_secs_f64()
        ));
        for step in report.steps.iter().filter(|s| !s.ok) {
            self.say(format!("  ✘ {}: {}", step.title, step.detail));
        }
    }

    /// A token client acting as the emulator app `app` (the tour's own calls).
    fn client_as(&self, app: &str) -> Result<ConfidentialClient, String> {
        self.local.client_as(app).map_err(|e| e.to_string())
    }

    /// Signs `user` in to `client` through the emulator's sign-in form; the user's tokens.
    async fn user_tokens(
        &mut self,
        client: &ConfidentialClient,
        redirect: &str,
        scopes: &[&str],
        user: (&str, &str),
    ) -> Result<UserTokens, String> {
        let tokens = self.local.sign_in(client, redirect, scopes, user).await?;
        let name = self
            .tenant()
            .app_by_client_id(client.client_id())
            .map_or("?", |a| a.name())
            .to_owned();
        self.say(format!(
            "      tour (as {name}) signs {} in for {}",
            user.0,
            scopes.join(" ")
        ));
        Ok(tokens)
    }

    /// Calls a service directly; the call and the API's log line go through the trace.
    async fn call(
        &mut self,
        from: &str,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<Answer, String> {
        let path = url
            .parse::<http::Uri>()
            .map(|u| u.path().to_owned())
            .unwrap_or_default();
        let request_text = if token.is_some() {
            format!("{method} {path}")
        } else {
            format!("{method} {path} (no Authorization header)")
        };
        let hop = self.local.trace.call(from, url, request_text, token);
        let method = http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        let mut request = self.http.request(method, url);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                hop.finish(format!("failed: {e}"));
                return Err(format!("{url}: {e}"));
            }
        };
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.text().await.unwrap_or_default();
        if challenge.is_empty() {
            hop.finish(format!("{status} {}", excerpt(&body)));
        } else {
            hop.finish(format!("{status}, WWW-Authenticate: {challenge}"));
        }
        Ok(Answer {
            status,
            challenge,
            body,
        })
    }

    fn mint_expired(&self) -> String {
        self.local
            .mint_for_alice(auth_code_api::NAME)
            .scopes("Case.Create")
            .issued_at(auth_testkit::now() - 7200)
            .expires_in(3600)
            .sign()
    }

    fn mint_user_token_for_s2s_api(&self) -> String {
        self.local
            .mint_for_alice(s2s_api::NAME)
            .scopes("user_impersonation")
            .roles(["Files.Write"])
            .sign()
    }
}

fn expect_refusal(answer: &Answer, status: u16, in_challenge: &str) -> Result<String, String> {
    if answer.status == status && answer.challenge.contains(in_challenge) {
        let reason = answer
            .challenge
            .split("error_description=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("no credentials");
        Ok(format!("{status}, {reason}"))
    } else {
        Err(format!(
            "expected {status} with {in_challenge:?}, got {} {:?} {}",
            answer.status,
            answer.challenge,
            excerpt(&answer.body)
        ))
    }
}

/// The path of a URL.
fn path_of(url: &str) -> String {
    url.parse::<http::Uri>()
        .map(|u| u.path().to_owned())
        .unwrap_or_default()
}

/// `client_id`, `scope` and `code_challenge_method` of an authorize URL.
fn authorize_parameters(url: &str) -> (String, String, String) {
    let (mut client, mut scope, mut pkce) = (String::new(), String::new(), String::new());
    if let Ok(parsed) = reqwest::Url::parse(url) {
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "client_id" => client = value.into_owned(),
                "scope" => scope = value.into_owned(),
                "code_challenge_method" => pkce = value.into_owned(),
                _ => {}
            }
        }
    }
    (client, scope, pkce)
}
