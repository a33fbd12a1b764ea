//! The authorization code pattern in a real browser: headless Chromium, driven over WebDriver
//! (chromedriver + `fantoccini`), opens `auth-code-client`, clicks "Sign in", fills the
//! emulator's sign-in form (found by its labels), lands back signed in, creates a case and sees
//! `Case created successfully by user: Alice Example (OID: …)`, signs out (the start page shows
//! "Sign in" again) and signs in again.
//!
//! Everything runs on loopback: the emulator and the services in-process
//! ([`examples::local::Local`]), chromedriver started by the test on a free port (and killed
//! with its browser when the test ends), Chromium with a fresh profile.
//!
//! **Needs** `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`;
//! `.ci/run` installs them). `CHROMIUM` and `CHROMEDRIVER` override the binaries (default:
//! `/usr/bin/chromium` and `chromedriver` on `PATH`). When either is missing the test does not
//! pretend: with `CI` set it **fails**, saying what to install; without `CI` it prints
//! `skipped: install chromium chromium-driver (see .ci/run)` to stderr and returns.
//!
//! **Screenshots** of each step, for humans to look at, go to `target/browser-test/`
//! (`01-start.png`, `02-sign-in.png`, `03-signed-in.png`, `04-case-created.png`,
//! `05-signed-out.png`, `06-signed-in-again.png`), with
//! `chromedriver.log` next to them; when a step fails, `failure.png` shows the page it failed on.

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use examples::local::{ALICE, Local};

/// Chromium's flags: headless, quiet (no first-run, sync, component updates, background
/// requests), a fixed window; `--user-data-dir` is added per run.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--window-size=1200,900",
];

/// How long one page may take to show the element the test waits for.
const STEP: Duration = Duration::from_secs(10);

/// The whole walk, browser start included.
const WHOLE: Duration = Duration::from_secs(60);

/// `target/` (the parent of `CARGO_TARGET_TMPDIR`, so `CARGO_TARGET_DIR` is honoured).
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// `name` as given if it has a slash, else the first match on `PATH`.
fn find_binary(name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    if name.contains('/') {
        return path.is_file().then(|| path.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Chromium and chromedriver, or what is missing.
fn binaries() -> Result<(PathBuf, PathBuf), String> {
    let chromium_name = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let driver_name = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    match (find_binary(&chromium_name), find_binary(&driver_name)) {
        (Some(chromium), Some(driver)) => Ok((chromium, driver)),
        (chromium, driver) => {
            let mut missing = Vec::new();
            if chromium.is_none() {
                missing.push(format!("chromium ({chromium_name})"));
            }
            if driver.is_none() {
                missing.push(format!("chromedriver ({driver_name})"));
            }
            Err(missing.join(" and "))
        }
    }
}

/// chromedriver in its own process group; dropping it kills the group (chromedriver and any
/// Chromium it left behind) and removes the browser profile.
struct Driver {
    child: Child,
    url: String,
    profile: PathBuf,
}

impl Driver {
    async fn start(binary: &Path, log: &Path) -> Result<Driver, String> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free loopback port: {e}"))?
            .port();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let profile = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("chromium-profile-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&profile)
            .map_err(|e| format!("cannot create {}: {e}", profile.display()))?;
        let child = {
            use std::os::unix::process::CommandExt as _;
            Command::new(binary)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", binary.display()))?
        };
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile,
        };
        driver.wait_ready().await?;
        Ok(driver)
    }

    /// Polls `GET /status` until chromedriver says it is ready.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + STEP;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("chromedriver exited early: {status}"));
            }
            if let Ok(response) = http.get(format!("{}/status", self.url)).send().await
                && let Ok(body) = response.json::<Value>().await
                && body["value"]["ready"] == json!(true)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("chromedriver did not answer {}/status", self.url));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A WebDriver session with headless Chromium.
    async fn session(&self, chromium: &Path) -> Result<Client, String> {
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|&a| a.to_owned()).collect();
        args.push(format!("--user-data-dir={}", self.profile.display()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .map_err(|e| format!("cannot start a Chromium session: {e}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group id is chromedriver's pid (`process_group(0)`).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Saves a screenshot of the viewport as `dir/name`.
async fn screenshot(client: &Client, dir: &Path, name: &str) -> Result<PathBuf, String> {
    let png = client
        .screenshot()
        .await
        .map_err(|e| format!("screenshot {name}: {e}"))?;
    let path = dir.join(name);
    std::fs::write(&path, png).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!("screenshot: {}", path.display());
    Ok(path)
}

/// Waits for `css` on the current page.
async fn wait_for(
    client: &Client,
    css: &str,
    step: &str,
) -> Result<fantoccini::elements::Element, String> {
    match client
        .wait()
        .at_most(STEP)
        .for_element(Locator::Css(css))
        .await
    {
        Ok(element) => Ok(element),
        Err(e) => {
            let url = client
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let title = client.title().await.unwrap_or_default();
            Err(format!("{step}: no `{css}` on {url} (“{title}”): {e}"))
        }
    }
}

/// The input a user finds by its visible label (the label's `for` names the input's id).
async fn field(client: &Client, label: &str) -> Result<fantoccini::elements::Element, String> {
    let xpath = format!("//input[@id=//label[normalize-space()='{label}']/@for]");
    client
        .find(Locator::XPath(&xpath))
        .await
        .map_err(|e| format!("no input labelled “{label}”: {e}"))
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what()) }
}

/// The walk: start page, sign-in page, back signed in, a case created, signed out, signed in
/// again.
async fn walk(client: &Client, local: &Local, shots: &Path) -> Result<(), String> {
    let cmd = |e: fantoccini::error::CmdError| e.to_string();
    let base = local.auth_code_client.url();
    let (username, password) = ALICE;
    let alice = local.idp.user(username);

    client.goto(&format!("{base}/")).await.map_err(cmd)?;
    let sign_in = wait_for(client, "form[action='/login'] button", "the start page").await?;
    ensure(sign_in.text().await.map_err(cmd)? == "Sign in", || {
        "the start page's button is not “Sign in”".to_owned()
    })?;
    screenshot(client, shots, "01-start.png").await?;
    sign_in.click().await.map_err(cmd)?;

    // The emulator's page: the app's /login redirected the browser there.
    wait_for(client, "input#password", "the emulator's sign-in page").await?;
    let url = client.current_url().await.map_err(cmd)?.to_string();
    ensure(url.starts_with(local.idp.base_url()), || {
        format!("the sign-in page is not the emulator's: {url}")
    })?;
    ensure(url.contains("code_challenge_method=S256"), || {
        format!("the authorize request has no PKCE: {url}")
    })?;
    field(client, "Username")
        .await?
        .send_keys(username)
        .await
        .map_err(cmd)?;
    field(client, "Password")
        .await?
        .send_keys(password)
        .await
        .map_err(cmd)?;
    screenshot(client, shots, "02-sign-in.png").await?;
    client
        .find(Locator::Css("form button[type='submit']"))
        .await
        .map_err(cmd)?
        .click()
        .await
        .map_err(cmd)?;

    // Back on the app (emulator → /callback → /), signed in.
    let who = wait_for(client, "p.who", "the signed-in start page").await?;
    let url = client.current_url().await.map_err(cmd)?.to_string();
    ensure(url == format!("{base}/"), || {
        format!("not back on the start page: {url}")
    })?;
    let who = who.text().await.map_err(cmd)?;
    ensure(who.starts_with("Signed in as Alice Example"), || {
        format!("the start page says: {who}")
    })?;
    let session = client
        .get_named_cookie("auth_code_client_session")
        .await
        .map_err(|e| format!("no session cookie: {e}"))?;
    ensure(session.http_only() == Some(true), || {
        "the session cookie is not HttpOnly".to_owned()
    })?;
    screenshot(client, shots, "03-signed-in.png").await?;

    client
        .find(Locator::Css("form[action='/cases'] button"))
        .await
        .map_err(cmd)?
        .click()
        .await
        .map_err(cmd)?;
    let answer = wait_for(client, "[role='status'] #api-response", "the case page").await?;
    let answer = answer.text().await.map_err(cmd)?;
    let expected = format!(
        "Case created successfully by user: Alice Example (OID: {})",
        alice.object_id()
    );
    ensure(answer == expected, || format!("the API answered: {answer}"))?;
    let source = client.source().await.map_err(cmd)?;
    ensure(!source.contains("eyJ"), || {
        "a token reached the page".to_owned()
    })?;
    screenshot(client, shots, "04-case-created.png").await?;

    // Sign out: the session here ends, then the browser goes to the provider's
    // end_session_endpoint, which sends it back to the post-logout redirect URI.
    client
        .find(Locator::Css("form[action='/logout'] button"))
        .await
        .map_err(cmd)?
        .click()
        .await
        .map_err(cmd)?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let url = client.current_url().await.map_err(cmd)?.to_string();
    ensure(
        url.contains("/oauth2/v2.0/logout?post_logout_redirect_uri=") || url == format!("{base}/"),
        || format!("sign-out went to {url}"),
    )?;
    // (The emulator has no end-session page yet; come back as Entra would redirect.)
    client.goto(&format!("{base}/")).await.map_err(cmd)?;
    let sign_in = wait_for(
        client,
        "form[action='/login'] button",
        "the signed-out page",
    )
    .await?;
    ensure(client.find(Locator::Css("p.who")).await.is_err(), || {
        "the signed-out page still shows the user".to_owned()
    })?;
    screenshot(client, shots, "05-signed-out.png").await?;

    // Sign in again: a new session.
    sign_in.click().await.map_err(cmd)?;
    wait_for(
        client,
        "input#password",
        "the emulator's sign-in page (again)",
    )
    .await?;
    field(client, "Username")
        .await?
        .send_keys(username)
        .await
        .map_err(cmd)?;
    field(client, "Password")
        .await?
        .send_keys(password)
        .await
        .map_err(cmd)?;
    client
        .find(Locator::Css("form button[type='submit']"))
        .await
        .map_err(cmd)?
        .click()
        .await
        .map_err(cmd)?;
    let who = wait_for(client, "p.who", "signed in again").await?;
    let who = who.text().await.map_err(cmd)?;
    ensure(who.starts_with("Signed in as Alice Example"), || {
        format!("the start page says: {who}")
    })?;
    let again = client
        .get_named_cookie("auth_code_client_session")
        .await
        .map_err(|e| format!("no session cookie: {e}"))?;
    ensure(again.value() != session.value(), || {
        "the new sign-in kept the old session id".to_owned()
    })?;
    screenshot(client, shots, "06-signed-in-again.png").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_signs_in_and_creates_a_case() {
    let (chromium, chromedriver) = match binaries() {
        Ok(found) => found,
        Err(missing) if in_ci() => panic!(
            "CI is set but {missing} is missing: install chromium chromium-driver (see .ci/run)"
        ),
        Err(missing) => {
            eprintln!("skipped: install chromium chromium-driver (see .ci/run); missing {missing}");
            return;
        }
    };
    let shots = target_dir().join("browser-test");
    std::fs::create_dir_all(&shots).unwrap();
    // Only this run's failure.png, if any.
    let _ = std::fs::remove_file(shots.join("failure.png"));

    let started = Instant::now();
    let local = Local::start().await.unwrap();
    let driver = Driver::start(&chromedriver, &shots.join("chromedriver.log"))
        .await
        .unwrap();
    let client = driver.session(&chromium).await.unwrap();
    let walked = tokio::time::timeout(WHOLE, walk(&client, &local, &shots)).await;
    if walked.as_ref().is_ok_and(Result::is_err) || walked.is_err() {
        let _ = screenshot(&client, &shots, "failure.png").await;
    }
    let closed = client.close().await;
    drop(driver);
    match walked {
        Ok(Ok(())) => {}
        Ok(Err(failure)) => panic!("{failure}"),
        Err(_) => panic!("the walk took longer than {WHOLE:?}"),
    }
    closed.expect("the WebDriver session closes");
    eprintln!("browser walk: {:.1} s", started.elapsed().as_secs_f64());
}
