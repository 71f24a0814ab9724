//! `WebNode`: a real `maillage node` process serving its web page on a free
//! loopback port, and an HTTP client logged in to it the way a browser is
//! (session cookie from `maillage page`'s link, CSRF field in every POST).
//!
//! Used by the HTTP-level page tests (`web_*.rs`); the browser tests drive
//! Chromium against the same processes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use crate::procs::Proc;

/// One household's node with its web page.
pub struct WebNode {
    pub proc: Proc,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The link `maillage page` prints (opens a session).
    pub login_link: String,
    /// `maillage_session=…`, once logged in.
    cookie: Option<String>,
    csrf: Option<String>,
    agent: ureq::Agent,
}

/// What the server answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// `Location`, for redirects.
    pub location: Option<String>,
    pub content_type: String,
    /// Every header, names lowercase.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// Panics with the body when the status is not `expected`.
    pub fn expect(self, expected: u16) -> Answer {
        assert_eq!(self.status, expected, "unexpected status; body:\n{}", self.body);
        self
    }

    /// The value of header `name` (lowercase), or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }
}

impl WebNode {
    /// Sets up a household named `name` under `root` (not in a community).
    pub fn init(root: &Path, name: &str) -> Proc {
        let proc = Proc::new(root, name, None);
        // Loopback only, no mDNS: tests running side by side on this
        // machine must not find each other.
        std::fs::create_dir_all(&proc.home).unwrap();
        std::fs::write(
            proc.home.join("node.toml"),
            "listen = [\"/ip4/127.0.0.1/tcp/0\"]\nmdns = false\nresync_seconds = 2\n",
        )
        .unwrap();
        proc.ok(&["init", "--name", name]);
        proc
    }

    /// Starts the node of `proc` with its web page on a free port, and logs
    /// in.
    pub fn start(proc: Proc) -> WebNode {
        WebNode::start_with(proc, &[])
    }

    /// [`WebNode::start`], with more arguments for `maillage node`.
    pub fn start_with(mut proc: Proc, node_args: &[&str]) -> WebNode {
        let mut args = vec!["--web", "127.0.0.1:0"];
        args.extend_from_slice(node_args);
        proc.start_node(&args);
        let login_link = proc.json(&["page"])["url"].as_str().unwrap().to_owned();
        let base = login_link.split("/login").next().unwrap().to_owned();
        let agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let mut node = WebNode {
            proc,
            base,
            login_link,
            cookie: None,
            csrf: None,
            agent,
        };
        node.login();
        node
    }

    /// A household with a community of its own, its node and page running.
    pub fn founder(root: &Path, name: &str, community: &str) -> WebNode {
        let proc = WebNode::init(root, name);
        proc.ok(&["community", "create", community]);
        WebNode::start(proc)
    }

    /// A household named `name` that joins `founder`'s community with an
    /// invite code made by the founder's running node (so it carries the
    /// node's loopback addresses), then starts its own node and page.
    pub fn joiner(root: &Path, name: &str, founder: &WebNode) -> WebNode {
        let code = founder.proc.json(&["community", "invite", "--uses", "1"])["code"]
            .as_str()
            .expect("an invite code")
            .to_owned();
        let proc = WebNode::init(root, name);
        proc.ok(&["community", "join", &code]);
        WebNode::start(proc)
    }

    fn login(&mut self) {
        let answer = self.agent.get(&self.login_link).call().unwrap();
        assert_eq!(answer.status(), 303, "login link refused");
        let cookie = answer
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_owned();
        self.cookie = Some(cookie);
        // Every form carries the same token; the new-offer form is one that
        // is always there (the list itself has only a GET search form).
        let page = self.get("/offres/nouvelle").body;
        self.csrf = csrf_of(&page);
    }

    /// GET with the session (and English, unless `path` says otherwise via
    /// the language cookie).
    pub fn get(&self, path: &str) -> Answer {
        self.get_as(path, "en")
    }

    /// GET with the session, the browser asking for `lang`.
    pub fn get_as(&self, path: &str, lang: &str) -> Answer {
        let mut request = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("accept-language", lang);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        answer(request.call().unwrap())
    }

    /// GET without any session.
    pub fn get_anonymous(&self, path: &str) -> Answer {
        answer(self.agent.get(&format!("{}{path}", self.base)).call().unwrap())
    }

    /// POSTs a form with the session and the CSRF field, as the page's forms do.
    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone().expect("logged in");
        all.push(("_csrf", &csrf));
        self.post_raw(path, &all)
    }

    /// POSTs exactly these fields with the session (no CSRF field added).
    pub fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut request = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("accept-language", "en");
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        answer(request.send_form(fields.iter().copied()).unwrap())
    }

    /// Runs a CLI command on this household (through its running node).
    pub fn cli(&self, args: &[&str]) -> String {
        self.proc.ok(args)
    }

    pub fn stop(mut self) {
        self.proc.stop_node();
    }
}

impl Drop for WebNode {
    fn drop(&mut self) {
        self.proc.stop_node();
    }
}

fn answer(response: ureq::http::Response<ureq::Body>) -> Answer {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response.into_body().read_to_string().unwrap_or_default();
    Answer {
        status,
        location,
        content_type,
        headers,
        body,
    }
}

/// The CSRF token a page's forms (and its `csrf-token` meta tag) carry.
pub fn csrf_of(html: &str) -> Option<String> {
    ["name=\"_csrf\" value=\"", "name=\"csrf-token\" content=\""]
        .iter()
        .find_map(|marker| html.find(marker).map(|at| at + marker.len()))
        .and_then(|at| html[at..].split('"').next())
        .map(str::to_owned)
}

/// The text of `html` without tags, whitespace collapsed: for asserting on
/// what a villager reads.
pub fn text_of(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                text.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
