//! The web page in a real browser (headless Chromium), used as a villager
//! does: posting an offer and finding it, searching with or without
//! accents, answering an invitation to an event and saving it to a
//! calendar, agreeing an exchange between two households, and seeing what
//! another household posts appear without reloading.
//!
//! Skipped (with a message) when Chromium is not installed, unless
//! `MAILLAGE_REQUIRE_BROWSER=1`. Run `tests/setup.sh` first. Screenshots of
//! failures land in `target/web-artefacts/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod common;
mod procs;
mod webnode;

use browser::{Browser, Width};
use serde_json::{Value, json};
use webnode::WebNode;

/// `YYYY-MM-DD`, `days` from today.
fn date_in(days: i64) -> String {
    let (year, month, day) = common::date_in(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The id at the end of a page's path (`/offres/ID` → `ID`).
fn id_in(path: &str, prefix: &str) -> String {
    let id = path
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("expected a path under {prefix}, got {path}"));
    assert!(!id.is_empty() && !id.contains('/'), "not an item's page: {path}");
    id.to_owned()
}

#[test]
fn an_offer_posted_through_the_form_is_found_in_the_list() {
    let Some(tools) = browser::tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let mut browser = Browser::open(&tools, "post-offer", Width::Phone);

    browser.login(&node);
    browser.click_and_wait("main a[href='/offres/nouvelle']");
    browser.fill("title", "Perceuse à prêter");
    browser.fill("description", "Perceuse à percussion, avec mèches béton.");
    browser.fill("category", "outils");
    browser.fill("kind", "lend");
    browser.fill("place", "Le Bourg");
    browser.fill("until", &date_in(30));
    browser.submit("main form.item-form");

    // The answer is the new offer's own page.
    let id = id_in(&browser.path(), "/offres/");
    browser.wait_for_text("main h1", "Perceuse à prêter");
    let details = browser.texts("main");
    assert!(details[0].contains("Le Bourg"), "the place is shown: {details:?}");

    // The list has it, linked to that page.
    browser.click_and_wait("nav a[href='/offres']");
    let link = format!("main li.card.item[data-id='{id}'] h2 a");
    browser.wait_for_text(&link, "Perceuse à prêter");
    assert_eq!(
        browser.attribute(&link, "href").as_deref(),
        Some(format!("/offres/{id}").as_str())
    );

    // The form wrote through the same operation as the command line.
    let offers = node.proc.json(&["offer", "list"]);
    let offer = offers
        .as_array()
        .unwrap()
        .iter()
        .find(|offer| offer["title"] == "Perceuse à prêter")
        .unwrap_or_else(|| panic!("the CLI lists the offer: {offers}"));
    assert_eq!(offer["id"].as_str(), Some(id.as_str()));
    assert_eq!(offer["category"], "outils");
}

#[test]
fn a_search_finds_offers_with_or_without_their_accents() {
    let Some(tools) = browser::tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    for title in ["Crème fraîche", "Pâté de campagne", "Œufs frais", "Cidre brut"] {
        node.cli(&["offer", "add", "--title", title, "--category", "alimentation"]);
    }
    let mut browser = Browser::open(&tools, "search", Width::Desktop);
    browser.login(&node);
    browser.wait_for_text("main li.card.item h2 a", "Cidre brut");

    let search = |browser: &Browser, words: &str| -> Vec<String> {
        browser.fill("q", words);
        browser.submit("main form[role=search]");
        let mut found = browser.texts("main li.card.item h2 a");
        found.sort();
        found
    };
    // Typed as villagers type on a phone: no accents, any case.
    assert_eq!(search(&browser, "creme"), ["Crème fraîche"]);
    assert!(
        browser.path().contains("q=creme"),
        "the search is in the address: {}",
        browser.path()
    );
    assert_eq!(search(&browser, "CRÈME"), ["Crème fraîche"]);
    assert_eq!(search(&browser, "pate"), ["Pâté de campagne"]);
    assert_eq!(
        search(&browser, "oeufs"),
        ["Œufs frais"],
        "a ligature typed as two letters"
    );
    assert_eq!(search(&browser, "œufs"), ["Œufs frais"]);
    assert_eq!(search(&browser, "fraiche"), ["Crème fraîche"]);
    let nothing = search(&browser, "brioche");
    assert!(nothing.is_empty(), "{nothing:?}");
    assert!(
        !browser.texts("main p[class$=nothing]").is_empty(),
        "an empty search says so"
    );
    assert_eq!(search(&browser, "").len(), 4, "an empty search lists everything");
}

#[test]
fn a_villager_answers_an_event_and_downloads_it_for_a_calendar() {
    let Some(tools) = browser::tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let mut browser = Browser::open(&tools, "event", Width::Phone);
    browser.login(&node);

    let day = date_in(12);
    browser.visit("/agenda/nouveau");
    browser.fill("title", "Atelier poterie");
    browser.fill("description", "Apportez un tablier.");
    browser.fill("place", "Salle des fêtes");
    browser.fill("start", &format!("{day}T18:00"));
    browser.fill("end", &format!("{day}T20:00"));
    browser.submit("main form:has([name=start])");
    let id = id_in(&browser.path(), "/agenda/");
    browser.wait_for_text("main h1", "Atelier poterie");

    // Yes, three people.
    browser.fill("answer", "yes");
    browser.fill("people", "3");
    browser.submit("main form.rsvp");
    assert_eq!(
        browser.path(),
        format!("/agenda/{id}"),
        "the answer comes back to the event"
    );
    browser.wait_for_text("main table.answer-counts tr[data-answer='yes'] td.households", "1");
    let people = browser.texts("main table.answer-counts tr[data-answer='yes'] td.people");
    assert_eq!(people, ["3"]);
    let rsvps = node.proc.json(&["event", "show", &id]);
    assert!(
        rsvps.to_string().contains("\"yes\""),
        "the CLI sees the answer: {rsvps}"
    );

    // The download link gives a calendar file of this event, with the
    // browser's own session.
    let href = browser.attribute("main a[href$='.ics']", "href").unwrap();
    assert_eq!(href, format!("/agenda/{id}.ics"));
    let download = browser.script_async(
        "const done = arguments[arguments.length - 1];
         fetch(arguments[0], {credentials: 'same-origin'})
           .then(r => r.text().then(text => done({
             status: r.status,
             type: r.headers.get('content-type'),
             disposition: r.headers.get('content-disposition'),
             text,
           })))
           .catch(e => done({error: String(e)}));",
        vec![json!(href)],
    );
    assert_eq!(download["status"], 200, "{download}");
    assert!(str_of(&download["type"]).starts_with("text/calendar"), "{download}");
    assert!(
        str_of(&download["disposition"]).contains(".ics"),
        "saved as a file: {download}"
    );
    let ics = str_of(&download["text"]).replace("\r\n ", "");
    assert!(ics.starts_with("BEGIN:VCALENDAR"), "{ics}");
    assert!(ics.contains("SUMMARY:Atelier poterie"), "{ics}");
    assert!(ics.contains("LOCATION:Salle des fêtes"), "{ics}");
    let compact_day = day.replace('-', "");
    assert!(ics.contains(&compact_day), "on the chosen day: {ics}");

    // The month view shows it on its day.
    browser.visit("/agenda?vue=mois");
    let month = browser.texts("main table.month");
    if month.is_empty() || !month[0].contains("Atelier poterie") {
        // The event may be next month.
        browser.click_and_wait("main a[rel=next]");
    }
    browser.wait_for_text("main table.month", "Atelier poterie");
}

fn str_of(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

#[test]
fn two_households_agree_an_exchange_through_their_pages() {
    let Some(tools) = browser::tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ferme = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let moulin = WebNode::joiner(dir.path(), "Le Moulin", &ferme);
    let offer = common::id_of(
        &moulin
            .proc
            .json(&["offer", "add", "--title", "Perceuse à prêter", "--kind", "lend"]),
    );
    ferme.proc.wait_for_offer("Perceuse à prêter");
    let mut browser = Browser::open(&tools, "exchange", Width::Desktop);

    // The farm sees the mill's offer and proposes to borrow it for 5.
    browser.login(&ferme);
    browser.visit(&format!("/offres/{offer}"));
    browser.click_and_wait(&format!("main a[href^='/echanges/nouveau?offre={offer}']"));
    browser.choose("counterpart", "Le Moulin");
    browser.fill("direction", "receive");
    browser.fill("amount", "5");
    browser.fill("what", "Prêt de la perceuse");
    browser.submit("main form[action='/echanges']");
    let exchange = id_in(&browser.path(), "/echanges/");
    browser.wait_for("main dd.exchange-state[data-state='proposed']");

    // The mill, on its own page, finds the proposal and accepts it.
    browser.login(&moulin);
    browser.visit("/echanges");
    let card = format!("main li.card.exchange[data-id='{exchange}']");
    browser.wait(&format!("the proposal `{card}` to reach the mill"), |browser| {
        if browser.texts(&card).is_empty() {
            // The mill's page shows what its node has: look again.
            browser.visit("/echanges");
            None
        } else {
            Some(())
        }
    });
    assert_eq!(browser.attribute(&card, "data-state").as_deref(), Some("proposed"));
    browser.click_and_wait(&format!("{card} h3 a"));
    browser.click_and_wait(&format!(
        "main form[action='/echanges/{exchange}/accepter'] [type=submit]"
    ));
    browser.wait_for("main dd.exchange-state[data-state='accepted']");

    // Back on the farm's page, the exchange is accepted there too.
    browser.login(&ferme);
    browser.visit(&format!("/echanges/{exchange}"));
    browser.wait(&format!("the acceptance of {exchange} to reach the farm"), |browser| {
        if browser
            .texts("main dd.exchange-state[data-state='accepted']")
            .is_empty()
        {
            browser.visit(&format!("/echanges/{exchange}"));
            None
        } else {
            Some(())
        }
    });
    let listed = ferme.proc.json(&["exchange", "list"]);
    assert!(listed.to_string().contains("accepted"), "{listed}");
}

#[test]
fn an_offer_from_another_household_appears_without_reloading() {
    let Some(tools) = browser::tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ferme = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let moulin = WebNode::joiner(dir.path(), "Le Moulin", &ferme);
    let mut browser = Browser::open(&tools, "live", Width::Phone);
    browser.login(&ferme);
    browser.wait_for("main form[role=search]");
    // A mark on this document: a reload would lose it.
    browser.script("window.__maillageNotReloaded = true;", vec![]);

    moulin.cli(&[
        "offer",
        "add",
        "--title",
        "Farine de sarrasin",
        "--category",
        "alimentation",
    ]);

    browser.wait_for_text("main li.card.item h2 a", "Farine de sarrasin");
    assert_eq!(
        browser.script("return window.__maillageNotReloaded === true;", vec![]),
        json!(true),
        "the list changed in place, without a reload"
    );
    let href = browser.attribute("main li.card.item h2 a", "href").unwrap_or_default();
    assert!(href.starts_with("/offres/"), "the new card links to the offer: {href}");
    // Screen readers are told the page changed.
    browser.wait_until(
        "the live region to announce the update",
        "return document.getElementById('live').textContent.trim() !== '';",
    );
}

/// Regression: every page left for another stayed in the back/forward cache
/// with its live-update stream open, and a browser opens at most six
/// connections to one server: the seventh page never loaded.
#[test]
fn the_page_keeps_loading_after_many_pages_and_going_back() {
    let Some(tools) = browser::tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let node = WebNode::founder(dir.path(), "Ferme des Tilleuls", "Les Granges");
    let mut browser = Browser::open(&tools, "many-pages", Width::Desktop);
    browser.login(&node);

    for _ in 0..2 {
        for section in [
            "/demandes",
            "/agenda",
            "/echanges",
            "/communaute",
            "/indicateurs",
            "/offres",
        ] {
            browser.click_and_wait(&format!("nav a[href='{section}']"));
            assert_eq!(browser.path(), section);
        }
    }
    // Back to the offers (from the cache, where the browser keeps it): they
    // still follow what the household posts.
    browser.click_and_wait("nav a[href='/demandes']");
    browser.back();
    assert_eq!(browser.path(), "/offres");
    node.cli(&["offer", "add", "--title", "Pommes à cidre"]);
    browser.wait_for_text("main li.card.item h2 a", "Pommes à cidre");
}
