//! Web page benchmark (issue 4): how fast a real `maillage node` serves the
//! offer list of a village with 10,000 offers, and what the page weighs, as
//! ratios against baselines measured in the same run (machines are shared
//! and noisy, so absolute figures from another run mean little).
//!
//! 1. **Setup**, timed: a household founds a community through the release
//!    binary (`maillage init`, `community create`); then 10,000 offers
//!    (≈320 bytes of text, 12 categories, 8 places: the store benchmark's
//!    generator) are signed in this process with the household's own device
//!    key and handed to `Household::ingest_foreign` 1,000 at a time, so that
//!    the store verifies them as it does any import, without one fsync per
//!    offer. Nothing is kept between runs.
//! 2. **Time to first byte** over HTTP (keep-alive, the session cookie from
//!    the link `maillage page` prints) of the list's first page, a search,
//!    page 100 and one category, p50/p95 over `MAILLAGE_BENCH_SAMPLES`
//!    requests each (default 50), taken in turns; then the first page just
//!    after a change (an offer posted through the running node before each
//!    request), when the list's remembered counts and menus are stale and it
//!    walks every summary again (once: see the note below). Baselines: the
//!    stylesheet from the same server (no store work), and `Store::list` of
//!    all the offers in this process, before the node starts (redb locks its
//!    file).
//! 3. **Full page load** in headless Chromium (chromedriver, fantoccini, a
//!    fresh profile, phone width): Navigation Timing's `responseStart`,
//!    `domContentLoadedEventEnd` and `loadEventEnd` of `/offres`, p50 over
//!    `MAILLAGE_BENCH_LOADS` loads (default 20), taken in turns with the same
//!    on the 404 page (the layout alone); the page weight from Resource
//!    Timing, per resource, on the first load (empty cache). Pages are kept
//!    out of the back/forward cache (see `visit_uncached`). Skipped, with a
//!    line saying so, when Chromium is missing.
//! 4. A table, and one line for the closing note.
//!
//! Run: `cargo bench -p maillage-tests --bench web` (the node is the release
//! binary, built first if needed). `MAILLAGE_BENCH_OFFERS` changes the number
//! of offers, for a quick try.
//!
//! **The first view after a change** (10,000 offers, 2 shared cores, two
//! runs each, alternating the two versions). It used to walk every summary
//! twice, once for the menus (folding every item's place with Unicode
//! normalisation) and once for the count: 21.9 and 23.9 ms p50, 24.1 and
//! 33.8 ms p95, 1.4–1.6× an in-process `Store::list`. Now one walk of the
//! recency index counts the menus' values as spelt (places are folded once
//! per spelling at the end), the matches and the page: 9.1 and 11.1 ms
//! p50, 10.0 and 14.2 ms p95, 0.8× `Store::list`; no other figure got
//! worse. What is left is that walk itself (`perf record` on the node):
//! per summary a lookup in `summaries-1` (redb page reads and key
//! comparisons, about 30% of the node's time) and its decoding (postcard,
//! about 25%, nearly half of it validating the UTF-8 of the search text),
//! then allocations (about 7%).
//! Cheaper still would need the store: a summary decoded without copying
//! its strings, or category, place and state kept in the recency index's
//! value (a new table version, filled from `summaries-1` for older stores).

#![allow(clippy::unwrap_used, clippy::expect_used)] // the helpers shared with the tests panic with context

// The store benchmark's generator: the same words, categories and places.
#[path = "../../node/benches/common/mod.rs"]
mod corpus;

// The tests' own harness (nodes, logged-in HTTP, Chromium), reused as is;
// `common` gives it the release binary.
#[path = "../tests/browser/mod.rs"]
mod browser;
mod common;
#[path = "../tests/procs/mod.rs"]
mod procs;
#[path = "../tests/webnode/mod.rs"]
mod webnode;

use std::error::Error;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use maillage_crdt::{DocHeader, DocKind, Document, SignedChange, Writer};
use maillage_node::household::now_ms;
use maillage_node::{Home, Household, Query};
use serde_json::Value;

use browser::{Browser, Width};
use corpus::{CATEGORIES, Rng, offer_body};
use procs::Proc;
use webnode::WebNode;

type BenchResult<T> = Result<T, Box<dyn Error>>;

/// Offers handed to the store in one transaction during setup.
const BATCH: usize = 1_000;
/// Items on one page of the list (the page's `PAGE_SIZE`).
const PAGE: usize = 50;
/// The deep page the issue asks about.
const DEEP_PAGE: usize = 100;
/// Untimed rounds before each measurement.
const WARM_UP: usize = 3;
/// A path nothing answers: the 404 page is the layout with one line.
const NOT_FOUND: &str = "/nulle-part";
/// The search word: one of the generator's words, so most offers match.
const SEARCH: &str = "confiture";

fn main() -> BenchResult<()> {
    let offers = env_count("MAILLAGE_BENCH_OFFERS", 10_000)?;
    let samples = env_count("MAILLAGE_BENCH_SAMPLES", 50)?;
    let loads = env_count("MAILLAGE_BENCH_LOADS", 20)?;
    println!(
        "web page benchmark: {} offers, {samples} requests per figure, {loads} page loads",
        thousands(offers)
    );
    println!("machine: {}", machine_load());
    // Built before anything is timed.
    let binary = common::binary();
    println!("node: {}", binary.display());

    let dir = tempfile::tempdir()?;
    let (proc, setup, scan) = build_village(dir.path(), offers, samples)?;
    print_setup(&setup);

    let node = WebNode::start(proc);
    let http = measure_http(&node, offers, samples)?;
    print_http(&http, &scan, offers, samples);

    let page_loads = measure_page_loads(&node, loads)?;
    if let Some(page_loads) = &page_loads {
        print_page_loads(page_loads, loads);
    }
    node.stop();

    println!("\nmachine after: {}", machine_load());
    print_summary(offers, &http, &scan, page_loads.as_ref());
    println!("reproduce: cargo bench -p maillage-tests --bench web");
    Ok(())
}

// ---------------------------------------------------------------------------
// 1. Setup

struct Setup {
    /// `maillage init` and `community create`, through the binary.
    cli: Duration,
    /// Building and signing the offers' first changes.
    signing: Duration,
    /// `Household::ingest_foreign`, one durable transaction per batch.
    ingesting: Duration,
    total: Duration,
    store_bytes: u64,
}

/// `Store::list` of every offer of the community, in this process.
struct Scan {
    p50: Duration,
    p95: Duration,
}

/// A household founding a community with `count` offers, its home ready for
/// `maillage node`; and the in-process baseline, measured while the store is
/// open here.
fn build_village(root: &Path, count: usize, samples: usize) -> BenchResult<(Proc, Setup, Scan)> {
    let started = Instant::now();
    let proc = WebNode::init(root, "Ferme des Tilleuls");
    proc.ok(&["community", "create", "Saint-Banc-sur-Essai"]);
    let cli = started.elapsed();

    let mut household = Household::open(Home::at(&proc.home))?;
    let community = household.current_community()?;
    let mut rng = Rng(0x5EED_0FFE_5EED_0FFE);
    let actor = rng.actor();
    // The offers say they were posted a minute apart from January 2026 on
    // (the generator's dates, in the past), which orders the list; their
    // changes are signed now, after the device's certificate (made by
    // `init`), as the store requires.
    let signed_at = now_ms();
    let signing_started = Instant::now();
    let mut docs: Vec<(DocHeader, Vec<SignedChange>)> = Vec::with_capacity(count);
    for i in 0..count {
        let body = offer_body(i, &mut rng);
        body.validate()?;
        let header = DocHeader::item(DocKind::Offer, household.id(), community, body.created_at, rng.bytes());
        let writer = Writer {
            device: household.device_key(),
            actor: actor.clone(),
            now_ms: signed_at,
        };
        let change = Document::new(header.clone())
            .write(&body, &writer)?
            .ok_or("writing a new offer made no change")?;
        docs.push((header, vec![change]));
    }
    let signing = signing_started.elapsed();

    let ingesting_started = Instant::now();
    while !docs.is_empty() {
        let rest = docs.split_off(BATCH.min(docs.len()));
        let batch = std::mem::replace(&mut docs, rest);
        let expected = batch.len();
        let report = household.ingest_foreign(vec![], batch)?;
        if report.applied != expected || !report.rejected.is_empty() {
            return Err(format!(
                "the store applied {} of {expected} offers ({} refused: {:?})",
                report.applied,
                report.rejected.len(),
                report.rejected.first()
            )
            .into());
        }
    }
    let ingesting = ingesting_started.elapsed();
    let total = started.elapsed();

    let query = Query {
        kind: Some(DocKind::Offer),
        community: Some(community),
        ..Query::default()
    };
    let scan = timed(samples, || {
        let found = black_box(household.store().list(&query)?);
        if found.len() != count {
            return Err(format!("Store::list found {} offers, expected {count}", found.len()).into());
        }
        Ok(())
    })?;
    // The node opens the same redb file, which allows one process at a time.
    drop(household);
    let store_bytes = std::fs::metadata(Home::at(&proc.home).store_path())?.len();
    Ok((
        proc,
        Setup {
            cli,
            signing,
            ingesting,
            total,
            store_bytes,
        },
        Scan {
            p50: scan.p50,
            p95: scan.p95,
        },
    ))
}

fn print_setup(setup: &Setup) {
    section("setup (not cached between runs)");
    row("maillage init + community create (release binary)", secs(setup.cli), "");
    row("offers signed in this process", secs(setup.signing), "");
    row(
        "offers verified and stored (Household::ingest_foreign)",
        secs(setup.ingesting),
        &format!("batches of {}", thousands(BATCH)),
    );
    row("setup in all", secs(setup.total), "");
    row("store file", format!("{:.1} MB", setup.store_bytes as f64 / 1e6), "");
}

// ---------------------------------------------------------------------------
// 2. Time to first byte over HTTP

/// What a request must bring back for its timing to count.
#[derive(Clone, Copy)]
enum Expect {
    /// A page of the list with exactly this many cards.
    Cards(usize),
    /// A page of the list with at least one card.
    SomeCards,
    /// The stylesheet.
    Stylesheet,
}

struct Target {
    label: String,
    /// How the closing note's line names it.
    short: String,
    path: String,
    expect: Expect,
}

struct HttpFigure {
    label: String,
    short: String,
    ttfb: Percentiles,
    /// Time until the whole body was read.
    whole: Percentiles,
    body_bytes: usize,
}

struct HttpFigures {
    stylesheet: HttpFigure,
    /// With what the list remembers between requests already known.
    pages: Vec<HttpFigure>,
    /// The first page, each time just after the store changed.
    after_change: HttpFigure,
}

/// A keep-alive HTTP client holding the page's session cookie, as a browser
/// tab does.
struct Session {
    agent: ureq::Agent,
    base: String,
    cookie: String,
}

struct Fetched {
    status: u16,
    ttfb: Duration,
    whole: Duration,
    content_type: String,
    body: String,
}

impl Session {
    fn open(node: &WebNode) -> BenchResult<Session> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let answer = agent.get(&node.login_link).call()?;
        if answer.status() != 303 {
            return Err(format!("the login link answered {}", answer.status()).into());
        }
        let cookie = answer
            .headers()
            .get("set-cookie")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .ok_or("the login link set no session cookie")?
            .to_owned();
        Ok(Session {
            agent,
            base: node.base.clone(),
            cookie,
        })
    }

    /// GETs `path`; the first byte has come when ureq hands back the
    /// response head (the server renders the whole page before sending it).
    fn get(&self, path: &str) -> BenchResult<Fetched> {
        let request = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("accept-language", "fr-FR,fr");
        let started = Instant::now();
        let response = request.call()?;
        let ttfb = started.elapsed();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.into_body().read_to_string()?;
        let whole = started.elapsed();
        Ok(Fetched {
            status,
            ttfb,
            whole,
            content_type,
            body,
        })
    }
}

fn check(target: &Target, fetched: &Fetched) -> BenchResult<()> {
    if fetched.status != 200 {
        return Err(format!("GET {} answered {}", target.path, fetched.status).into());
    }
    let cards = fetched.body.matches("class=\"card item\"").count();
    let fine = match target.expect {
        Expect::Cards(expected) => cards == expected,
        Expect::SomeCards => cards > 0,
        Expect::Stylesheet => fetched.content_type.starts_with("text/css"),
    };
    if !fine {
        return Err(format!(
            "GET {} did not bring what was expected ({cards} cards, {})",
            target.path, fetched.content_type
        )
        .into());
    }
    Ok(())
}

fn measure_http(node: &WebNode, offers: usize, samples: usize) -> BenchResult<HttpFigures> {
    let session = Session::open(node)?;
    let deep = DEEP_PAGE.min(offers.div_ceil(PAGE).max(1));
    let category = CATEGORIES[1];
    let per_category = offers.div_ceil(CATEGORIES.len());
    let on_page = |page: usize, total: usize| total.saturating_sub((page - 1) * PAGE).min(PAGE);
    let targets = [
        Target {
            label: "GET /static/maillage.css (baseline)".into(),
            short: "stylesheet".into(),
            path: "/static/maillage.css".into(),
            expect: Expect::Stylesheet,
        },
        Target {
            label: "GET /offres (first page)".into(),
            short: "first page".into(),
            path: "/offres".into(),
            expect: Expect::Cards(on_page(1, offers)),
        },
        Target {
            label: format!("GET /offres?q={SEARCH} (search)"),
            short: "search".into(),
            path: format!("/offres?q={SEARCH}"),
            expect: Expect::SomeCards,
        },
        Target {
            label: format!("GET /offres?page={deep} (deep page)"),
            short: format!("page {deep}"),
            path: format!("/offres?page={deep}"),
            expect: Expect::Cards(on_page(deep, offers)),
        },
        Target {
            label: format!("GET /offres?category={category}"),
            short: "one category".into(),
            path: format!("/offres?category={category}"),
            expect: Expect::Cards(on_page(1, per_category)),
        },
    ];
    let mut ttfbs: Vec<Vec<Duration>> = vec![Vec::with_capacity(samples); targets.len()];
    let mut wholes: Vec<Vec<Duration>> = vec![Vec::with_capacity(samples); targets.len()];
    let mut sizes = vec![0; targets.len()];
    // In turns, so that a burst of load on the machine touches every figure
    // alike; the first rounds warm the connection and the node's caches.
    for round in 0..WARM_UP + samples {
        for (index, target) in targets.iter().enumerate() {
            let fetched = session.get(&target.path)?;
            check(target, &fetched)?;
            if round >= WARM_UP {
                ttfbs[index].push(fetched.ttfb);
                wholes[index].push(fetched.whole);
                sizes[index] = fetched.body.len();
            }
        }
    }
    let mut figures = targets.into_iter().zip(ttfbs.into_iter().zip(wholes)).zip(sizes).map(
        |((target, (ttfb, whole)), body_bytes)| HttpFigure {
            label: target.label,
            short: target.short,
            ttfb: Percentiles::of(ttfb),
            whole: Percentiles::of(whole),
            body_bytes,
        },
    );
    let stylesheet = figures.next().ok_or("no stylesheet figure")?;
    let pages = figures.collect();
    let after_change = measure_after_change(node, &session, samples)?;
    Ok(HttpFigures {
        stylesheet,
        pages,
        after_change,
    })
}

/// The list remembers its number of matches and its menus' choices until
/// the store changes (or for 30 s), so the figures above are its usual
/// case. The first view after any change, a neighbour's post or a sync,
/// walks every summary again, once for menus, count and page: here an
/// offer is posted through the running node (`maillage offer add`, the
/// local API) before each request.
fn measure_after_change(node: &WebNode, session: &Session, samples: usize) -> BenchResult<HttpFigure> {
    let target = Target {
        label: "GET /offres just after a change (nothing remembered)".into(),
        short: "first view after a change".into(),
        path: "/offres".into(),
        expect: Expect::Cards(PAGE),
    };
    let mut ttfb = Vec::with_capacity(samples);
    let mut whole = Vec::with_capacity(samples);
    let mut body_bytes = 0;
    for round in 0..WARM_UP + samples {
        let title = format!("Bocal de confiture numero {round}");
        node.cli(&["offer", "add", "--title", &title, "--category", "cuisine"]);
        let fetched = session.get(&target.path)?;
        check(&target, &fetched)?;
        if !fetched.body.contains(&title) {
            return Err(format!("the list does not show the offer just posted ({title})").into());
        }
        if round >= WARM_UP {
            ttfb.push(fetched.ttfb);
            whole.push(fetched.whole);
            body_bytes = fetched.body.len();
        }
    }
    Ok(HttpFigure {
        label: target.label,
        short: target.short,
        ttfb: Percentiles::of(ttfb),
        whole: Percentiles::of(whole),
        body_bytes,
    })
}

fn print_http(http: &HttpFigures, scan: &Scan, offers: usize, samples: usize) {
    section(&format!(
        "time to first byte over HTTP, loopback, keep-alive ({samples} requests each, in turns)"
    ));
    println!(
        "{:<52} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9}",
        "", "p50", "p95", "whole p50", "×css", "×scan", "body"
    );
    let css = http.stylesheet.ttfb.p50;
    for figure in std::iter::once(&http.stylesheet)
        .chain(&http.pages)
        .chain(std::iter::once(&http.after_change))
    {
        println!(
            "{:<52} {:>9} {:>9} {:>9} {:>8} {:>8} {:>9}",
            figure.label,
            millis(figure.ttfb.p50),
            millis(figure.ttfb.p95),
            millis(figure.whole.p50),
            ratio(figure.ttfb.p50, css),
            ratio(figure.ttfb.p50, scan.p50),
            kilobytes(figure.body_bytes as f64),
        );
    }
    println!(
        "{:<52} {:>9} {:>9} {:>9} {:>8} {:>8}",
        format!("Store::list of {} offers, in process (baseline)", thousands(offers)),
        millis(scan.p50),
        millis(scan.p95),
        "",
        ratio(scan.p50, css),
        "1.0",
    );
}

// ---------------------------------------------------------------------------
// 3. Full page load in Chromium

/// One page load as Navigation and Resource Timing saw it.
#[derive(Debug)]
struct Load {
    /// `navigate`, `reload`, `back_forward`.
    navigation: String,
    response_start: f64,
    dom_content_loaded: f64,
    load: f64,
    document: Weight,
    resources: Vec<Weight>,
}

#[derive(Debug)]
struct Weight {
    url: String,
    /// `initiatorType`: link, script, img…
    kind: String,
    transfer: f64,
    decoded: f64,
}

impl Load {
    fn decoded_total(&self) -> f64 {
        self.document.decoded + self.resources.iter().map(|r| r.decoded).sum::<f64>()
    }

    fn transfer_total(&self) -> f64 {
        self.document.transfer + self.resources.iter().map(|r| r.transfer).sum::<f64>()
    }
}

struct PageLoads {
    /// The login link's landing on `/offres`, with an empty cache.
    cold: Load,
    /// The 404 page's first load (its stylesheet and script already cached).
    cold_not_found: Load,
    offers: Vec<Load>,
    not_found: Vec<Load>,
}

const TIMING_SCRIPT: &str = "
    const nav = performance.getEntriesByType('navigation')[0];
    if (!nav || nav.loadEventEnd === 0) return null;
    return {
        url: nav.name,
        type: nav.type,
        responseStart: nav.responseStart,
        domContentLoaded: nav.domContentLoadedEventEnd,
        load: nav.loadEventEnd,
        transfer: nav.transferSize,
        decoded: nav.decodedBodySize,
        resources: performance.getEntriesByType('resource').map(r => ({
            url: r.name, kind: r.initiatorType, transfer: r.transferSize, decoded: r.decodedBodySize,
        })),
    };";

/// The timings of the page now shown, once its load event has finished.
fn read_load(browser: &Browser, expected_path: &str) -> BenchResult<Load> {
    let value = browser.wait("the load event to end", |browser| {
        Some(browser.script(TIMING_SCRIPT, vec![])).filter(|value| !value.is_null())
    });
    let number = |value: &Value, key: &str| value[key].as_f64().unwrap_or(0.0);
    let text = |value: &Value, key: &str| value[key].as_str().unwrap_or_default().to_owned();
    let url = text(&value, "url");
    if !url.ends_with(expected_path) {
        return Err(format!("expected a load of {expected_path}, the browser shows {url}").into());
    }
    let resources = value["resources"]
        .as_array()
        .ok_or("no resource entries")?
        .iter()
        .map(|entry| Weight {
            url: text(entry, "url"),
            kind: text(entry, "kind"),
            transfer: number(entry, "transfer"),
            decoded: number(entry, "decoded"),
        })
        .collect();
    Ok(Load {
        navigation: text(&value, "type"),
        response_start: number(&value, "responseStart"),
        dom_content_loaded: number(&value, "domContentLoaded"),
        load: number(&value, "load"),
        document: Weight {
            url,
            kind: "document".into(),
            transfer: number(&value, "transfer"),
            decoded: number(&value, "decoded"),
        },
        resources,
    })
}

fn measure_page_loads(node: &WebNode, loads: usize) -> BenchResult<Option<PageLoads>> {
    let Some(tools) = browser::tools() else {
        println!("\n-- full page load: SKIPPED, Chromium or chromedriver is missing (tests/setup.sh installs them)");
        return Ok(None);
    };
    // Dropped at the end of this function, before the node stops: its
    // live-updates connection would otherwise hold the node's shutdown.
    let mut browser = Browser::open(&tools, "web-bench", Width::Phone);
    // A fresh profile: this first load is a villager's first visit.
    browser.login(node);
    let cold = read_load(&browser, "/offres")?;
    visit_uncached(&browser, NOT_FOUND);
    let cold_not_found = read_load(&browser, NOT_FOUND)?;
    let mut offers = Vec::with_capacity(loads);
    let mut not_found = Vec::with_capacity(loads);
    // Alternating, so that every load is a navigation to another address
    // (a navigation to the address shown is a reload, which revalidates the
    // cache).
    for round in 0..WARM_UP + loads {
        visit_uncached(&browser, "/offres");
        let load = read_load(&browser, "/offres")?;
        visit_uncached(&browser, NOT_FOUND);
        let baseline = read_load(&browser, NOT_FOUND)?;
        if round >= WARM_UP {
            offers.push(load);
            not_found.push(baseline);
        }
    }
    Ok(Some(PageLoads {
        cold,
        cold_not_found,
        offers,
        not_found,
    }))
}

/// Leaves the page shown for `path`, keeping the page left out of Chromium's
/// back/forward cache.
///
/// A page in that cache keeps its live-updates stream (`GET /events`, opened
/// by maillage.js) open for about a minute, and Chromium opens at most 6
/// HTTP/1.1 connections per host: without this, the 7th navigation within a
/// minute waits up to a minute for a free connection, and the benchmark
/// would time that bug rather than the page. An `unload` handler makes a
/// page ineligible for the cache, so its stream closes as it is left, as in
/// a browser without the cache.
fn visit_uncached(browser: &Browser, path: &str) {
    browser.script("window.addEventListener('unload', function () {});", vec![]);
    browser.visit(path);
}

/// p50 of one Navigation Timing mark, in ms.
fn mark_p50(loads: &[Load], mark: impl Fn(&Load) -> f64) -> f64 {
    let mut values: Vec<f64> = loads.iter().map(mark).collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn print_page_loads(page_loads: &PageLoads, loads: usize) {
    let (width, _) = Width::Phone.size();
    section(&format!(
        "full page load in headless Chromium, {width} px wide ({loads} loads each, in turns; p50, ms from navigation start)"
    ));
    println!(
        "{:<40} {:>14} {:>17} {:>10} {:>8} {:>13}",
        "", "responseStart", "DOMContentLoaded", "load", "×404", "slowest load"
    );
    let baseline_load = mark_p50(&page_loads.not_found, |l| l.load);
    for (label, sample) in [
        ("/offres", &page_loads.offers),
        ("/nulle-part (404, layout only: baseline)", &page_loads.not_found),
    ] {
        let load = mark_p50(sample, |l| l.load);
        let slowest = sample.iter().map(|l| l.load).fold(0.0, f64::max);
        println!(
            "{label:<40} {:>14.1} {:>17.1} {load:>10.1} {:>8.1} {slowest:>13.1}",
            mark_p50(sample, |l| l.response_start),
            mark_p50(sample, |l| l.dom_content_loaded),
            load / baseline_load,
        );
    }
    if let Some(first) = page_loads.offers.first() {
        println!(
            "(navigation type: {}; cold first load of /offres: load at {:.1} ms)",
            first.navigation, page_loads.cold.load
        );
    }

    section("page weight of /offres, first load with an empty cache (KB = 1,024 bytes)");
    println!("{:<52} {:>10} {:>10} {:>10}", "", "kind", "transfer", "decoded");
    let cold = &page_loads.cold;
    for weight in std::iter::once(&cold.document).chain(&cold.resources) {
        println!(
            "{:<52} {:>10} {:>10} {:>10}",
            path_of(&weight.url),
            weight.kind,
            kilobytes(weight.transfer),
            kilobytes(weight.decoded)
        );
    }
    println!(
        "{:<52} {:>10} {:>10} {:>10}",
        "total",
        "",
        kilobytes(cold.transfer_total()),
        kilobytes(cold.decoded_total())
    );
    let baseline = &page_loads.cold_not_found;
    println!(
        "{:<52} {:>10} {:>10} {:>10}   /offres is {:.1}× its decoded bytes",
        "404 page, layout only (baseline; document + resources)",
        "",
        "",
        kilobytes(baseline.decoded_total()),
        cold.decoded_total() / baseline.decoded_total()
    );
    if let Some(warm) = page_loads.offers.first() {
        println!(
            "{:<52} {:>10} {:>10} {:>10}",
            "/offres again (stylesheet and script cached)",
            "",
            kilobytes(warm.transfer_total()),
            kilobytes(warm.decoded_total())
        );
    }
}

// ---------------------------------------------------------------------------
// 4. Summary

fn print_summary(offers: usize, http: &HttpFigures, scan: &Scan, page_loads: Option<&PageLoads>) {
    section("for the closing note");
    let first = &http.pages[0];
    let others: Vec<String> = http.pages[1..]
        .iter()
        .chain(std::iter::once(&http.after_change))
        .map(|figure| format!("{} {}", figure.short, millis(figure.ttfb.p50)))
        .collect();
    let mut line = format!(
        "Offer list with {} offers on the node (release, p50, same-run baselines): TTFB {} ({}; {} the stylesheet's TTFB, {} an in-process Store::list of every offer)",
        thousands(offers),
        millis(first.ttfb.p50),
        others.join(", "),
        ratio(first.ttfb.p50, http.stylesheet.ttfb.p50),
        ratio(first.ttfb.p50, scan.p50),
    );
    match page_loads {
        Some(page_loads) => {
            let load = mark_p50(&page_loads.offers, |l| l.load);
            let baseline = mark_p50(&page_loads.not_found, |l| l.load);
            line.push_str(&format!(
                "; full load in headless Chromium {load:.0} ms ({:.1}× the 404 page's {baseline:.0} ms); page weight {} KB ({} KB on the wire with an empty cache).",
                load / baseline,
                kilobytes(page_loads.cold.decoded_total()),
                kilobytes(page_loads.cold.transfer_total()),
            ));
        }
        None => line.push_str("; full page load not measured (no Chromium)."),
    }
    println!("{line}");
}

// ---------------------------------------------------------------------------
// Measuring and printing

struct Percentiles {
    p50: Duration,
    p95: Duration,
}

impl Percentiles {
    fn of(mut times: Vec<Duration>) -> Percentiles {
        times.sort();
        let at = |fraction: usize| times.get((times.len() * fraction / 100).min(times.len().saturating_sub(1)));
        Percentiles {
            p50: at(50).copied().unwrap_or_default(),
            p95: at(95).copied().unwrap_or_default(),
        }
    }
}

/// p50 and p95 of `runs` timings of `f`, after a few warm-up calls.
fn timed(runs: usize, mut f: impl FnMut() -> BenchResult<()>) -> BenchResult<Percentiles> {
    for _ in 0..WARM_UP {
        f()?;
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f()?;
        times.push(started.elapsed());
    }
    Ok(Percentiles::of(times))
}

fn env_count(name: &str, default: usize) -> BenchResult<usize> {
    match std::env::var(name) {
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(count) if count > 0 => Ok(count),
            _ => Err(format!("{name} must be a positive whole number, not {text:?}").into()),
        },
        Err(_) => Ok(default),
    }
}

/// Cores and load average: the figures mean little on a busy machine.
fn machine_load() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "{cores} cores, load average {} (1, 5, 15 min; other work on this machine skews absolute figures, ratios less)",
        load.join(" ")
    )
}

fn section(title: &str) {
    println!("\n-- {title}");
}

fn row(label: &str, value: String, note: &str) {
    println!("{label:<56} {value:>10}  {note}");
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn ratio(value: Duration, baseline: Duration) -> String {
    let ratio = value.as_secs_f64() / baseline.as_secs_f64();
    if ratio < 0.1 {
        format!("{ratio:.3}×")
    } else {
        format!("{ratio:.1}×")
    }
}

fn kilobytes(bytes: f64) -> String {
    format!("{:.1}", bytes / 1024.0)
}

/// 10000 → "10,000".
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `http://127.0.0.1:1234/static/x.css` → `/static/x.css`.
fn path_of(url: &str) -> &str {
    url.split("://")
        .nth(1)
        .and_then(|rest| rest.find('/').map(|at| &rest[at..]))
        .unwrap_or(url)
}
