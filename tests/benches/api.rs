//! Reads while a big import runs (issue 5's figure): `GET /v1/offers?category=…`
//! and the web page's offer list for one category, p50 and p99, on a real
//! `maillage node` holding 10,000 offers — idle, then while the node imports a
//! neighbour's bundle of 10,000 more documents. The idle figures are the
//! baseline, measured in the same run; the goal is that reads stay within 2×
//! of them during the import, which the household service makes possible:
//! reads run on redb read transactions beside the one writer, where they
//! used to queue behind the household's lock for the whole import.
//!
//! 1. **Setup** (not timed): the founder's home with 10,000 offers, signed
//!    in this process with its device key and stored through the writer as
//!    any import is (the store benchmark's generator: 12 categories,
//!    ≈320 bytes of text each); a neighbour joins offline with an invite
//!    code, gets 10,000 offers of its own the same way and exports its
//!    bundle.
//! 2. **Idle**: `MAILLAGE_BENCH_SAMPLES` requests (default 200) of each
//!    target in turns, over keep-alive HTTP.
//! 3. **During the import**: `maillage import BUNDLE` through the running
//!    node (the CLI hands it to the node's API, where it is one job on the
//!    household's writer), while this process keeps requesting the same
//!    targets in turns; only requests that began and ended while the import
//!    ran count (so their number depends on how long the import takes).
//!
//! Run: `cargo bench -p maillage-tests --bench api` (release binary, built
//! first). `MAILLAGE_BENCH_OFFERS` changes the number of offers on each
//! side, for a quick try.

#![allow(clippy::unwrap_used, clippy::expect_used)] // the helpers shared with the tests panic with context

#[path = "../../node/benches/common/mod.rs"]
mod corpus;

mod common;
#[path = "../tests/procs/mod.rs"]
mod procs;
#[path = "../tests/webnode/mod.rs"]
mod webnode;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use maillage_crdt::{DocHeader, DocKind, Document, SignedChange, Writer};
use maillage_node::household::now_ms;
use maillage_node::{Home, Household};
use serde_json::Value;

use corpus::{CATEGORIES, Rng, offer_body};
use procs::Proc;
use webnode::WebNode;

type BenchResult<T> = Result<T, Box<dyn Error>>;

/// Offers handed to the writer in one transaction during setup.
const BATCH: usize = 1_000;

fn main() -> BenchResult<()> {
    let offers = env_count("MAILLAGE_BENCH_OFFERS", 10_000)?;
    let samples = env_count("MAILLAGE_BENCH_SAMPLES", 200)?;
    println!(
        "reads during an import: {} offers held, a bundle of {} more, {samples} requests per figure",
        offers, offers
    );
    let binary = common::binary();
    println!("node: {}", binary.display());

    let dir = tempfile::tempdir()?;
    let (founder, bundle, setup) = build_village(dir.path(), offers)?;
    println!("setup: {:.1} s (not timed below)", setup.as_secs_f64());
    let category = CATEGORIES[1];
    let home = founder.home.clone();
    let node = WebNode::start(founder);
    let api = ApiClient::of(&home)?;
    let targets = [
        Target::api(&api, &format!("/v1/offers?category={category}")),
        Target::web(&node, &format!("/offres?category={category}"))?,
    ];

    let idle = measure(&targets, samples, || true)?;
    let importing = Arc::new(AtomicBool::new(true));
    let started = Instant::now();
    let import = {
        let importing = Arc::clone(&importing);
        let (binary, home, bundle) = (binary.to_owned(), home.clone(), bundle.clone());
        std::thread::spawn(move || {
            let output = std::process::Command::new(binary)
                .arg("--home")
                .arg(&home)
                .arg("import")
                .arg(&bundle)
                .env("LANG", "en_US.UTF-8")
                .output();
            importing.store(false, Ordering::SeqCst);
            output
        })
    };
    let during = measure(&targets, usize::MAX, || importing.load(Ordering::SeqCst))?;
    let output = import.join().map_err(|_| "the import thread panicked")??;
    let import_time = started.elapsed();
    if !output.status.success() {
        return Err(format!("the import failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let held = count_offers(&api)?;
    if held != 2 * offers {
        return Err(format!("after the import the node lists {held} offers, expected {}", 2 * offers).into());
    }
    node.stop();

    println!();
    println!(
        "import of {offers} documents through the running node: {:.1} s",
        import_time.as_secs_f64()
    );
    println!();
    println!(
        "{:<44} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8}  samples",
        "", "idle p50", "import p50", "ratio", "idle p99", "import p99", "ratio"
    );
    for ((target, idle), during) in targets.iter().zip(&idle).zip(&during) {
        let (idle, busy) = (Percentiles::of(idle.clone()), Percentiles::of(during.clone()));
        println!(
            "{:<44} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8}  {}",
            target.label,
            millis(idle.p50),
            millis(busy.p50),
            ratio(busy.p50, idle.p50),
            millis(idle.p99),
            millis(busy.p99),
            ratio(busy.p99, idle.p99),
            during.len()
        );
    }
    println!();
    for ((target, idle), during) in targets.iter().zip(&idle).zip(&during) {
        let (idle, busy) = (Percentiles::of(idle.clone()), Percentiles::of(during.clone()));
        for (metric, value, baseline) in [("p50_ms", busy.p50, idle.p50), ("p99_ms", busy.p99, idle.p99)] {
            println!(
                "bench=reads-during-import target={} metric={metric} value={:.2} baseline={:.2} ratio={:.2}",
                target.short,
                value.as_secs_f64() * 1e3,
                baseline.as_secs_f64() * 1e3,
                value.as_secs_f64() / baseline.as_secs_f64().max(1e-9)
            );
        }
    }
    Ok(())
}

/// A founder with `count` offers (its home, ready for `maillage node`), and
/// the bundle of a neighbour with `count` offers of its own.
fn build_village(root: &Path, count: usize) -> BenchResult<(Proc, PathBuf, Duration)> {
    let started = Instant::now();
    let founder = WebNode::init(root, "ferme");
    founder.ok(&["community", "create", "Saint-Banc-sur-Essai"]);
    let code = founder.json(&["community", "invite", "--uses", "1"])["code"]
        .as_str()
        .ok_or("no invite code")?
        .to_owned();
    let neighbour = WebNode::init(root, "moulin");
    // No node runs: the join is offline, and travels in the bundle.
    neighbour.ok(&["community", "join", &code]);
    fill(&founder.home, count, 0x5EED_0FFE_5EED_0FFE)?;
    fill(&neighbour.home, count, 0xB0B0_CAFE_B0B0_CAFE)?;
    let bundle = root.join("moulin.maillage");
    neighbour.ok(&["export", bundle.to_str().ok_or("path is not text")?]);
    Ok((founder, bundle, started.elapsed()))
}

/// Signs `count` offers with the home's device key and stores them through
/// its writer, `BATCH` at a time, as an import does.
fn fill(home: &Path, count: usize, seed: u64) -> BenchResult<()> {
    let mut household = Household::open(Home::at(home))?;
    let community = household.current_community()?;
    let mut rng = Rng(seed);
    let actor = rng.actor();
    let signed_at = now_ms();
    let mut docs: Vec<(DocHeader, Vec<SignedChange>)> = Vec::with_capacity(BATCH);
    for i in 0..count {
        let body = offer_body(i, &mut rng);
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
        if docs.len() == BATCH || i + 1 == count {
            let batch = std::mem::take(&mut docs);
            let expected = batch.len();
            let report = household.ingest_foreign(vec![], batch)?;
            if report.applied != expected {
                return Err(format!("the store applied {} of {expected} offers", report.applied).into());
            }
        }
    }
    Ok(())
}

/// How many offers the node lists, page by page through the API.
fn count_offers(api: &ApiClient) -> BenchResult<usize> {
    let agent = agent();
    let mut count = 0;
    for page in 1.. {
        let answer: Value = agent
            .get(format!("{}/v1/offers?per_page=500&page={page}", api.url))
            .header("authorization", &api.bearer)
            .call()?
            .into_body()
            .read_json()?;
        count += answer["items"].as_array().map_or(0, Vec::len);
        if answer["more"] != true {
            break;
        }
    }
    Ok(count)
}

/// The node's API as another program finds it.
struct ApiClient {
    url: String,
    bearer: String,
}

impl ApiClient {
    fn of(home: &Path) -> BenchResult<ApiClient> {
        let info: Value = serde_json::from_str(&std::fs::read_to_string(home.join("run/api.json"))?)?;
        Ok(ApiClient {
            url: info["url"].as_str().ok_or("no url in api.json")?.to_owned(),
            bearer: format!("Bearer {}", std::fs::read_to_string(home.join("run/token"))?.trim()),
        })
    }
}

/// One URL to time, with what authenticates it.
struct Target {
    label: String,
    short: &'static str,
    url: String,
    header: (&'static str, String),
    agent: ureq::Agent,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

impl Target {
    fn api(api: &ApiClient, path: &str) -> Target {
        Target {
            label: format!("GET {path} (API)"),
            short: "api-offers-category",
            url: format!("{}{path}", api.url),
            header: ("authorization", api.bearer.clone()),
            agent: agent(),
        }
    }

    fn web(node: &WebNode, path: &str) -> BenchResult<Target> {
        let agent = agent();
        let answer = agent.get(&node.login_link).call()?;
        let cookie = answer
            .headers()
            .get("set-cookie")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .ok_or("the login link set no session cookie")?
            .to_owned();
        Ok(Target {
            label: format!("GET {path} (web page)"),
            short: "web-offers-category",
            url: format!("{}{path}", node.base),
            header: ("cookie", cookie),
            agent,
        })
    }

    fn time(&self) -> BenchResult<Duration> {
        let started = Instant::now();
        let response = self.agent.get(&self.url).header(self.header.0, &self.header.1).call()?;
        let status = response.status().as_u16();
        let body = response.into_body().read_to_string()?;
        let elapsed = started.elapsed();
        if status != 200 || body.is_empty() {
            return Err(format!("{} answered {status}", self.url).into());
        }
        Ok(elapsed)
    }
}

/// Requests every target in turns while `going()` holds, `samples` rounds at
/// most; a request counts only if `going()` still holds when it ends.
fn measure(targets: &[Target], samples: usize, going: impl Fn() -> bool) -> BenchResult<Vec<Vec<Duration>>> {
    let mut times = vec![Vec::new(); targets.len()];
    let mut rounds = 0;
    while rounds < samples && going() {
        for (target, times) in targets.iter().zip(times.iter_mut()) {
            let elapsed = target.time()?;
            if going() {
                times.push(elapsed);
            }
        }
        rounds += 1;
    }
    Ok(times)
}

struct Percentiles {
    p50: Duration,
    p99: Duration,
}

impl Percentiles {
    fn of(mut times: Vec<Duration>) -> Percentiles {
        times.sort();
        let at = |percent: usize| {
            times
                .get((times.len() * percent / 100).min(times.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        Percentiles {
            p50: at(50),
            p99: at(99),
        }
    }
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

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

fn ratio(value: Duration, baseline: Duration) -> String {
    format!("{:.2}×", value.as_secs_f64() / baseline.as_secs_f64().max(1e-9))
}
