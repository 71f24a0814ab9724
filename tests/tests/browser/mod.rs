//! `Browser`: Debian's headless Chromium driven through chromedriver
//! (WebDriver, with fantoccini), for the tests that use the web page as a
//! villager does: typing into forms, clicking, reading what is shown.
//!
//! The calls are blocking, like the rest of the harness (`Proc`, `WebNode`):
//! each browser owns a small tokio runtime and waits on it.
//!
//! - Chromium and chromedriver are looked for in /usr/bin, then on PATH.
//!   Missing, a test prints how to install them and passes, unless
//!   `MAILLAGE_REQUIRE_BROWSER=1` (CI) makes it fail.
//! - One browser at a time per test binary (a process-wide lock): the
//!   machine has two cores, and other test binaries run beside this one.
//! - Every wait gives up after [`WAIT`]; a failed wait saves a screenshot and
//!   the page's HTML to the artefacts directory (`target/web-artefacts/`,
//!   printed), where screenshots of the pages are kept too.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::webnode::WebNode;

/// Where `npm ci --prefix tests/web` puts axe-core.
const AXE: &str = "web/node_modules/axe-core/axe.min.js";

/// How long any wait for the page may take.
pub const WAIT: Duration = Duration::from_secs(15);

/// How long one WebDriver command may take (a page load, a script).
const COMMAND: Duration = Duration::from_secs(45);

/// Set to `1` where the browser tests must run (CI): a missing browser is
/// then a failure, not a skip.
const REQUIRE: &str = "MAILLAGE_REQUIRE_BROWSER";

/// One browser at a time in this test binary.
static TURN: Mutex<()> = Mutex::new(());

/// The widths the page is checked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    /// 390×844, a common phone.
    Phone,
    /// 1280×900, a laptop.
    Desktop,
}

impl Width {
    pub const BOTH: [Width; 2] = [Width::Phone, Width::Desktop];

    pub fn size(self) -> (u32, u32) {
        match self {
            Width::Phone => (390, 844),
            Width::Desktop => (1280, 900),
        }
    }

    pub fn pixels(self) -> u32 {
        self.size().0
    }
}

/// Where Chromium and chromedriver are.
#[derive(Clone, Debug)]
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// Finds Chromium and chromedriver. `None` (after printing why) means the
/// calling test should return: it is skipped.
pub fn tools() -> Option<Tools> {
    let chromium = find_program(&["chromium", "chromium-browser"]);
    let chromedriver = find_program(&["chromedriver"]);
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Some(Tools { chromium, chromedriver }),
        _ => {
            skip_or_fail("install chromium chromium-driver (tests/setup.sh)");
            None
        }
    }
}

/// Prints a skip line, or fails when [`REQUIRE`] says browser tests must run.
pub fn skip_or_fail(what_to_install: &str) {
    if std::env::var(REQUIRE).is_ok_and(|value| value == "1") {
        panic!("{REQUIRE}=1 but the browser tests cannot run: {what_to_install}");
    }
    eprintln!("skipped: {what_to_install}");
}

/// axe-core's source, to inject into pages. `None` (after printing why)
/// means the calling test should return, as for [`tools`].
pub fn axe_source() -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(AXE);
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        Err(_) => {
            skip_or_fail(&format!(
                "{} is missing: run npm ci --prefix tests/web (tests/setup.sh)",
                path.display()
            ));
            None
        }
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let directories: Vec<PathBuf> = std::iter::once(PathBuf::from("/usr/bin"))
        .chain(std::env::split_paths(&path))
        .collect();
    names.iter().find_map(|name| {
        directories
            .iter()
            .map(|directory| directory.join(name))
            .find(|candidate| is_executable(candidate))
    })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}

/// `target/web-artefacts/` (under `CARGO_TARGET_DIR` when set), created.
pub fn artefacts_dir() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    let dir = target.join("web-artefacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver, in a process group of its own so that the Chromium it
/// starts goes with it.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start(tools: &Tools, log: &Path) -> Driver {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let child = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", tools.chromedriver.display()));
        let driver = Driver { child, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < WAIT,
                "chromedriver did not listen on port {port} within {WAIT:?} (log: {})",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any Chromium it left behind.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A headless Chromium at one width, logged in to one household's page at a
/// time.
pub struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    // Dropped in this order: the session, then chromedriver, then the
    // profile directory, then the turn.
    driver: Driver,
    profile: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
    /// The test's name, for failure artefacts.
    test: String,
    pub width: Width,
    /// The page being used: `http://127.0.0.1:PORT`.
    base: String,
    artefacts: PathBuf,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser")
            .field("test", &self.test)
            .field("width", &self.width)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Browser {
    /// Opens a browser for the test `test` (after the test's nodes: it is
    /// then dropped before them, so that its live-update connection does not
    /// hold their shutdown).
    pub fn open(tools: &Tools, test: &str, width: Width) -> Browser {
        let turn = TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let artefacts = artefacts_dir();
        // A failure kept from an earlier run of this test would mislead.
        for stale in ["png", "html"] {
            let _ = std::fs::remove_file(artefacts.join(format!("failure-{test}-{}.{stale}", width.pixels())));
        }
        let profile = tempfile::tempdir().unwrap();
        let driver = Driver::start(tools, &profile.path().join("chromedriver.log"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (w, h) = width.size();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": tools.chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    // The network here is closed: without these Chromium
                    // waits on connections it makes in the background.
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-features=Translate,MediaRouter,OptimizationHints",
                    "--password-store=basic",
                    "--lang=fr-FR",
                    format!("--user-data-dir={}", profile.path().join("profile").display()),
                    format!("--window-size={w},{h}"),
                ],
                // Villagers' browsers ask for French first.
                "prefs": { "intl.accept_languages": "fr-FR,fr" },
            }),
        );
        capabilities.insert("pageLoadStrategy".into(), json!("normal"));
        let webdriver = format!("http://127.0.0.1:{}", driver.port);
        let client = runtime
            .block_on(async {
                tokio::time::timeout(
                    COMMAND,
                    ClientBuilder::new(HttpConnector::new())
                        .capabilities(capabilities)
                        .connect(&webdriver),
                )
                .await
            })
            .unwrap_or_else(|_| panic!("Chromium did not start within {COMMAND:?}"))
            .unwrap_or_else(|e| {
                let log = std::fs::read_to_string(profile.path().join("chromedriver.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                panic!(
                    "Chromium did not start: {e}\nchromedriver log (newest first):\n{}",
                    tail.join("\n")
                )
            });
        let browser = Browser {
            runtime,
            client: Some(client),
            driver,
            profile,
            _turn: turn,
            test: test.to_owned(),
            width,
            base: String::new(),
            artefacts,
        };
        // Headless windows may come up smaller than asked; the viewport is
        // what the page's CSS sees.
        browser.resize_viewport(w, h);
        eprintln!("browser artefacts: {}", browser.artefacts.display());
        browser
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("browser open")
    }

    /// Runs one WebDriver command (or a few) with a time limit.
    fn run<T>(&self, what: &str, work: impl Future<Output = Result<T, fantoccini::error::CmdError>>) -> T {
        match self
            .runtime
            .block_on(async { tokio::time::timeout(COMMAND, work).await })
        {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => self.fail(&format!("{what}: {e}")),
            Err(_) => self.fail(&format!("{what}: no answer within {COMMAND:?}")),
        }
    }

    /// Like [`run`](Self::run) but hands the error back (for polling).
    fn try_run<T>(&self, work: impl Future<Output = Result<T, fantoccini::error::CmdError>>) -> Option<T> {
        match self
            .runtime
            .block_on(async { tokio::time::timeout(COMMAND, work).await })
        {
            Ok(Ok(value)) => Some(value),
            _ => None,
        }
    }

    /// Makes the viewport exactly `width`×`height` CSS pixels.
    fn resize_viewport(&self, width: u32, height: u32) {
        let client = self.client();
        self.run("resize", client.set_window_size(width, height));
        let inner = self.script("return [window.innerWidth, window.innerHeight];", vec![]);
        let (inner_w, inner_h) = (inner[0].as_u64().unwrap_or(0), inner[1].as_u64().unwrap_or(0));
        if (inner_w, inner_h) != (u64::from(width), u64::from(height)) {
            // The window's frame takes the difference: ask for that much more.
            let frame_w = u32::try_from(u64::from(width).saturating_sub(inner_w)).unwrap_or(0);
            let frame_h = u32::try_from(u64::from(height).saturating_sub(inner_h)).unwrap_or(0);
            self.run("resize", client.set_window_size(width + frame_w, height + frame_h));
        }
    }

    // -----------------------------------------------------------------------
    // Navigation

    /// Opens a session on `node`'s page (its login link) and lands on the
    /// offers. Logging in to another node replaces the session (the cookie
    /// is per host name, not per port).
    pub fn login(&mut self, node: &WebNode) {
        self.base = node.base.clone();
        self.run("opening the login link", self.client().goto(&node.login_link));
        self.wait_for("main#main");
        assert_eq!(self.path(), "/offres", "the login link leads to the offers");
    }

    /// Goes to `path` on the current page and waits for its main part.
    pub fn visit(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.run(&format!("opening {path}"), self.client().goto(&url));
        self.wait_for("main#main");
    }

    /// Goes back one page in the history, as the browser's button does.
    pub fn back(&self) {
        self.run("going back", self.client().back());
        self.wait_for("main#main");
    }

    /// The current address's path and query.
    pub fn path(&self) -> String {
        let url = self.run("reading the address", self.client().current_url());
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The page's HTML as the browser holds it now.
    pub fn source(&self) -> String {
        self.run("reading the page", self.client().source())
    }

    // -----------------------------------------------------------------------
    // Scripts

    pub fn script(&self, js: &str, args: Vec<Value>) -> Value {
        self.run("running a script", self.client().execute(js, args))
    }

    /// Runs an asynchronous script: its last argument is the callback.
    pub fn script_async(&self, js: &str, args: Vec<Value>) -> Value {
        self.run("running a script", self.client().execute_async(js, args))
    }

    // -----------------------------------------------------------------------
    // Waiting

    /// Waits until `check` returns `Some`, polling; fails (with artefacts)
    /// after [`WAIT`], saying `what` was awaited.
    pub fn wait<T>(&self, what: &str, mut check: impl FnMut(&Browser) -> Option<T>) -> T {
        let started = Instant::now();
        loop {
            if let Some(value) = check(self) {
                return value;
            }
            if started.elapsed() > WAIT {
                self.fail(&format!("waited {WAIT:?} for {what}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for an element matching `css` (the first one).
    pub fn wait_for(&self, css: &str) -> Element {
        self.wait(&format!("`{css}`"), |browser| {
            browser.try_run(browser.client().find(Locator::Css(css)))
        })
    }

    /// Waits for an element matching `css` whose text contains `text`.
    pub fn wait_for_text(&self, css: &str, text: &str) -> Element {
        self.wait(&format!("`{css}` showing {text:?}"), |browser| {
            let elements = browser.try_run(browser.client().find_all(Locator::Css(css)))?;
            elements.into_iter().find(|element| {
                browser
                    .try_run(element.text())
                    .is_some_and(|shown| shown.contains(text))
            })
        })
    }

    /// Waits until the script `js` returns `true`.
    pub fn wait_until(&self, what: &str, js: &str) {
        self.wait(what, |browser| {
            browser
                .try_run(browser.client().execute(js, vec![]))
                .filter(|value| value.as_bool() == Some(true))
        });
    }

    /// The texts of every element matching `css`, now.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let found = self.script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText.trim());",
            vec![json!(css)],
        );
        found
            .as_array()
            .map(|all| all.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    /// The value of attribute `name` on the first element matching `css`.
    pub fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let element = self.wait_for(css);
        self.run("reading an attribute", element.attr(name))
    }

    // -----------------------------------------------------------------------
    // Acting

    /// Types `value` into the field named `name` (in `main`), replacing what
    /// was there. Dates, times and choices are set the way their pickers
    /// would, since typing into them depends on the browser's locale.
    pub fn fill(&self, name: &str, value: &str) {
        let css = format!("main [name=\"{name}\"]");
        let field = self.wait_for(&css);
        let kind = self.script(
            "const e = arguments[0]; return e.tagName.toLowerCase() === 'input' ? (e.type || 'text') : e.tagName.toLowerCase();",
            vec![json!(field)],
        );
        match kind.as_str().unwrap_or("text") {
            "text" | "search" | "textarea" | "number" | "email" | "tel" | "url" => {
                self.run("clearing a field", field.clear());
                self.run(&format!("typing into {name}"), field.send_keys(value));
            }
            "select" => {
                self.run(&format!("choosing {value} in {name}"), field.select_by_value(value));
            }
            "radio" => {
                let choice = self.wait_for(&format!("main [name=\"{name}\"][value=\"{value}\"]"));
                self.run(&format!("choosing {value} in {name}"), choice.click());
            }
            _ => {
                self.script(
                    "const e = arguments[0]; e.value = arguments[1]; \
                     e.dispatchEvent(new Event('input', {bubbles: true})); \
                     e.dispatchEvent(new Event('change', {bubbles: true}));",
                    vec![json!(field), json!(value)],
                );
            }
        }
    }

    /// Chooses, in the select named `name`, the option whose text contains
    /// `text` (what a villager reads, not the value behind it).
    pub fn choose(&self, name: &str, text: &str) {
        let css = format!("main select[name=\"{name}\"]");
        let select = self.wait_for(&css);
        let chosen = self.script(
            "const select = arguments[0]; \
             const option = Array.from(select.options).find(o => o.text.includes(arguments[1])); \
             if (!option) return false; \
             select.value = option.value; \
             select.dispatchEvent(new Event('change', {bubbles: true})); \
             return true;",
            vec![json!(select), json!(text)],
        );
        if chosen != json!(true) {
            self.fail(&format!("no option showing {text:?} in `{css}`"));
        }
    }

    /// Clicks the element matching `css` (waiting for it first).
    pub fn click(&self, css: &str) {
        let element = self.wait_for(css);
        self.run(&format!("clicking `{css}`"), element.click());
    }

    /// Clicks `css` (a submit button or a link) and waits for the next page
    /// to have loaded.
    pub fn click_and_wait(&self, css: &str) {
        // A mark on the current document: gone once another is loaded.
        self.script("window.__maillageBefore = true;", vec![]);
        self.click(css);
        self.wait_for_new_page(css);
    }

    /// Submits the form matching `form_css` with its submit button, and
    /// waits for the answer page.
    pub fn submit(&self, form_css: &str) {
        self.click_and_wait(&format!("{form_css} [type=submit]"));
    }

    fn wait_for_new_page(&self, after: &str) {
        self.wait_until(
            &format!("a new page after clicking `{after}`"),
            "return window.__maillageBefore === undefined && document.readyState === 'complete' \
             && document.querySelector('main#main') !== null;",
        );
    }

    // -----------------------------------------------------------------------
    // Artefacts

    /// Saves a full-page screenshot as `<page>-<width>.png` and returns its
    /// path.
    pub fn screenshot(&self, page: &str) -> PathBuf {
        let (width, height) = self.width.size();
        // The window grows to the page's height for the picture, then goes
        // back, so that the screenshot shows the whole page.
        let full = self
            .script(
                "return Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0);",
                vec![],
            )
            .as_u64()
            .unwrap_or(u64::from(height))
            .clamp(u64::from(height), 6000) as u32;
        if full > height {
            self.resize_viewport(width, full);
        }
        let png = self.run("taking a screenshot", self.client().screenshot());
        if full > height {
            self.resize_viewport(width, height);
        }
        let path = self.artefacts.join(format!("{page}-{}.png", self.width.pixels()));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Saves a screenshot and the HTML of the current page (named after the
    /// test), then panics with `message`.
    pub fn fail(&self, message: &str) -> ! {
        let stem = format!("failure-{}-{}", self.test, self.width.pixels());
        let mut saved = Vec::new();
        if let Some(client) = &self.client {
            let work = async {
                let png = client.screenshot().await.ok();
                let html = client.source().await.ok();
                let url = client.current_url().await.ok();
                (png, html, url)
            };
            if let Ok((png, html, url)) = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(20), work).await })
            {
                if let Some(png) = png {
                    let path = self.artefacts.join(format!("{stem}.png"));
                    if std::fs::write(&path, png).is_ok() {
                        saved.push(path.display().to_string());
                    }
                }
                if let Some(html) = html {
                    let path = self.artefacts.join(format!("{stem}.html"));
                    let html = format!("<!-- {} -->\n{html}", url.map(|u| u.to_string()).unwrap_or_default());
                    if std::fs::write(&path, html).is_ok() {
                        saved.push(path.display().to_string());
                    }
                }
            }
        }
        panic!("{}: {message}\nsaved: {}", self.test, saved.join(", "));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session, which quits Chromium; the driver's process group
        // is killed right after in any case.
        if let Some(client) = self.client.take() {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), client.close()).await });
        }
    }
}
