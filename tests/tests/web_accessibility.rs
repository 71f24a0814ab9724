//! Every main page of the web page, audited with axe-core in headless
//! Chromium at a phone's width and a laptop's: no violation of impact
//! "serious" or "critical" is allowed. Screenshots of each page are taken
//! at the same time and kept in `target/web-artefacts/<page>-<width>.png`.
//!
//! Skipped (with a message) when Chromium or axe-core is not installed,
//! unless `MAILLAGE_REQUIRE_BROWSER=1`. Run `tests/setup.sh` first.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod common;
mod procs;
mod webnode;

use std::fmt::Write as _;

use browser::{Browser, Width};
use serde_json::{Value, json};
use webnode::WebNode;

/// Impacts that fail the audit.
const BLOCKING: [&str; 2] = ["serious", "critical"];

/// One rule broken on one page.
#[derive(Debug)]
struct Violation {
    page: String,
    id: String,
    impact: String,
    help: String,
    targets: Vec<String>,
}

impl Violation {
    fn blocks(&self) -> bool {
        BLOCKING.contains(&self.impact.as_str())
    }
}

/// Two households in one community with something on every page: offers,
/// a request, an event with an answer, an exchange waiting for an answer.
struct Village {
    ferme: WebNode,
    /// Kept running: the farm's page shows it as a member and a peer.
    _moulin: WebNode,
    offer: String,
    event: String,
    exchange: String,
}

fn village(root: &std::path::Path) -> Village {
    let ferme = WebNode::founder(root, "Ferme des Tilleuls", "Les Granges");
    let moulin = WebNode::joiner(root, "Le Moulin", &ferme);
    let offer = common::id_of(&ferme.proc.json(&[
        "offer",
        "add",
        "--title",
        "Perceuse à prêter",
        "--category",
        "outils",
        "--kind",
        "lend",
        "--description",
        "Perceuse à percussion, avec mèches béton.",
    ]));
    ferme.cli(&["offer", "add", "--title", "Œufs frais", "--category", "alimentation"]);
    ferme.cli(&[
        "request",
        "add",
        "--title",
        "Covoiturage pour Cahors mardi",
        "--category",
        "transport",
    ]);
    let (year, month, day) = common::date_in(5);
    let date = format!("{year:04}-{month:02}-{day:02}");
    let event = common::id_of(&ferme.proc.json(&[
        "event",
        "add",
        "--title",
        "Atelier poterie",
        "--start",
        &format!("{date} 18:00"),
        "--end",
        &format!("{date} 20:00"),
        "--place",
        "Salle des fêtes",
    ]));
    ferme.cli(&["event", "rsvp", &event, "yes", "--people", "2"]);
    let exchange = common::id_of(&moulin.proc.json(&[
        "exchange",
        "propose",
        "--with",
        "Ferme des Tilleuls",
        "--amount",
        "3",
        "--note",
        "Six douzaines d'œufs",
    ]));
    ferme
        .proc
        .wait_until(|| ferme.proc.json(&["exchange", "list"]).to_string().contains(&exchange));
    Village {
        ferme,
        _moulin: moulin,
        offer,
        event,
        exchange,
    }
}

/// Runs axe-core on the current page; returns every violation.
fn run_axe(browser: &Browser, axe: &str, page: &str) -> Vec<Violation> {
    if browser.script("return typeof window.axe;", vec![]) != json!("object") {
        browser.script(axe, vec![]);
    }
    let result = browser.script_async(
        "const done = arguments[arguments.length - 1];
         axe.run(document, {resultTypes: ['violations']})
           .then(results => done({violations: results.violations.map(v => ({
             id: v.id,
             impact: v.impact,
             help: v.help,
             targets: v.nodes.map(n => n.target.join(' ')),
           }))}))
           .catch(e => done({error: String(e)}));",
        vec![],
    );
    if let Some(error) = result.get("error") {
        browser.fail(&format!("axe-core failed on {page}: {error}"));
    }
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    result["violations"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|violation| Violation {
            page: page.to_owned(),
            id: text(&violation["id"]),
            impact: text(&violation["impact"]),
            help: text(&violation["help"]),
            targets: violation["targets"]
                .as_array()
                .map(|all| all.iter().map(text).collect())
                .unwrap_or_default(),
        })
        .collect()
}

/// Proves the audit can fail: an input with no label, added to the page for
/// a moment, must be reported (a silent axe would pass every page).
fn axe_catches_an_unlabelled_input(browser: &Browser, axe: &str) {
    browser.script(
        "const input = document.createElement('input');
         input.id = 'axe-self-check';
         document.querySelector('main').appendChild(input);",
        vec![],
    );
    let found = run_axe(browser, axe, "self-check");
    browser.script("document.getElementById('axe-self-check').remove();", vec![]);
    assert!(
        found
            .iter()
            .any(|violation| violation.id == "label" && violation.targets.iter().any(|t| t.contains("axe-self-check"))),
        "axe-core did not report an input without a label: {found:?}"
    );
}

/// What the audit of one width found.
#[derive(Debug, Default)]
struct Audit {
    violations: Vec<Violation>,
    /// Pages the server does not serve (yet).
    missing: Vec<String>,
    screenshots: usize,
}

impl Audit {
    /// Audits the page the browser shows now, and takes its screenshot.
    fn check(&mut self, browser: &Browser, axe: &str, page: &str) {
        browser.wait_until(
            "the page to finish loading",
            "return document.readyState === 'complete';",
        );
        self.violations.extend(run_axe(browser, axe, page));
        browser.screenshot(page);
        self.screenshots += 1;
    }

    /// Opens `path` and audits it, unless the server does not have it.
    fn visit(&mut self, browser: &Browser, node: &WebNode, axe: &str, page: &str, path: &str) -> bool {
        let status = node.get(path).status;
        if status == 404 {
            self.missing.push(format!("{page} ({path})"));
            return false;
        }
        browser.visit(path);
        self.check(browser, axe, page);
        true
    }

    fn report(&self, width: Width) -> String {
        let mut report = format!("accessibility audit at {} px:\n", width.pixels());
        for violation in &self.violations {
            let _ = writeln!(
                report,
                "  [{}] {} on {}: {}\n      {}",
                violation.impact,
                violation.id,
                violation.page,
                violation.help,
                violation.targets.join("\n      ")
            );
        }
        if self.violations.is_empty() {
            report.push_str("  no violation\n");
        }
        if !self.missing.is_empty() {
            let _ = writeln!(report, "  pages not served yet: {}", self.missing.join(", "));
        }
        let _ = writeln!(
            report,
            "  {} screenshots in {}",
            self.screenshots,
            browser::artefacts_dir().display()
        );
        report
    }
}

fn audit_every_page(width: Width) {
    let Some(tools) = browser::tools() else { return };
    let Some(axe) = browser::axe_source() else { return };
    let dir = tempfile::tempdir().unwrap();
    let village = village(dir.path());
    let node = &village.ferme;
    let mut browser = Browser::open(&tools, "accessibility", width);
    browser.login(node);
    axe_catches_an_unlabelled_input(&browser, &axe);
    let mut audit = Audit::default();

    audit.visit(&browser, node, &axe, "offers", "/offres");
    if audit.visit(&browser, node, &axe, "offer-form", "/offres/nouvelle") {
        // Sent empty (the browser's own check off, as an old browser
        // would), the form comes back with its errors shown: audit that.
        browser.script(
            "document.querySelector('main form.item-form').noValidate = true;",
            vec![],
        );
        browser.submit("main form.item-form");
        browser.wait_for("main .error-summary");
        browser.wait_for("main [aria-invalid=true]");
        audit.check(&browser, &axe, "offer-form-error");
    }
    audit.visit(&browser, node, &axe, "offer", &format!("/offres/{}", village.offer));
    audit.visit(&browser, node, &axe, "requests", "/demandes");
    audit.visit(&browser, node, &axe, "agenda", "/agenda");
    audit.visit(&browser, node, &axe, "agenda-month", "/agenda?vue=mois");
    audit.visit(&browser, node, &axe, "agenda-form", "/agenda/nouveau");
    audit.visit(&browser, node, &axe, "event", &format!("/agenda/{}", village.event));
    audit.visit(&browser, node, &axe, "exchanges", "/echanges");
    audit.visit(
        &browser,
        node,
        &axe,
        "exchange",
        &format!("/echanges/{}", village.exchange),
    );
    audit.visit(
        &browser,
        node,
        &axe,
        "exchange-form",
        &format!("/echanges/nouveau?offre={}", village.offer),
    );
    if audit.visit(&browser, node, &axe, "community", "/communaute") {
        browser.fill("uses", "2");
        browser.fill("days", "7");
        browser.submit("main form[action='/communaute/invitation']");
        browser.wait_for("main #invite-code");
        browser.wait_for("main svg");
        audit.check(&browser, &axe, "invite");
    }
    audit.visit(&browser, node, &axe, "indicators", "/indicateurs");
    drop(browser);

    let report = audit.report(width);
    eprintln!("{report}");
    assert!(
        !audit.violations.iter().any(Violation::blocks),
        "serious or critical accessibility violations:\n{report}"
    );
    assert!(audit.missing.is_empty(), "{report}");
}

#[test]
fn every_page_is_accessible_on_a_phone() {
    audit_every_page(Width::Phone);
}

#[test]
fn every_page_is_accessible_on_a_desktop() {
    audit_every_page(Width::Desktop);
}
