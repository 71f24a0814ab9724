//! Store benchmark: what writing and browsing offers costs through the real
//! store API, as ratios against baselines measured in the same run (machines
//! are shared and noisy, so absolute figures from another run mean little).
//!
//! Measures, with seeded keys, a real device certificate and community
//! genesis, and real signed automerge changes that `Store::ingest` verifies:
//!
//! 1. writing 10,000 offers (≈320 bytes of text each, 12 categories), one
//!    durable transaction (one fsync) per offer as the CLI does, then batched
//!    1,000 offers per `ingest`; µs per offer, and disk bytes per offer
//!    (redb file size / 10,000, before and after `Store::compact_file`);
//!    plus 1,000 offers through `Household::add_offer`, the whole CLI path;
//! 2. the automerge baseline: the sum of per-document `save()` sizes of the
//!    same 10,000 documents, and all offers in one automerge document;
//! 3. listing one category (`Store::list` by kind + community + category,
//!    whole category and a page of 50), p50/p95, against a raw redb full scan
//!    of 10,000 (32-byte key → summary bytes) rows;
//! 4. the same category browse among 100,000 offers (DESIGN §5: p50 < 5 ms
//!    for a page of 50). It adds about 30 s in release; `MAILLAGE_BENCH_LARGE=0`
//!    skips it.
//!
//! Run: `cargo bench -p maillage-node --bench store`. Files go to a temporary
//! directory under `MAILLAGE_BENCH_DIR` (default: the system temp dir); fsync
//! costs depend on that file system, which the output names.

use std::error::Error;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use automerge::transaction::CommitOptions;
use automerge::{ActorId, AutoCommit};
use maillage_crdt::items::Offer;
use maillage_crdt::registry::{CommunityGenesis, DeviceCert, community_id};
use maillage_crdt::{CommunityId, DocHeader, DocKind, Document, Record, SecretKey, SignedChange, Writer};
use maillage_node::household::ItemInput;
use maillage_node::{Home, Household, Query, Store};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

mod common;
use common::{BASE_MS, CATEGORIES, Rng, offer_body};

type BenchResult<T> = Result<T, Box<dyn Error>>;

/// 2026-01-01T00:00:00Z: every time in the benchmark is derived from it.
const N: usize = 10_000;
const BATCH: usize = 1_000;
const HOUSEHOLD_N: usize = 1_000;
const LARGE_N: usize = 100_000;
const RUNS: usize = 200;
const PAGE: usize = 50;

/// A household with one certified device, founder of one community: the
/// records a store needs before it accepts that device's offers.
struct Village {
    device: SecretKey,
    household: maillage_crdt::HouseholdId,
    community: CommunityId,
    records: Vec<Record>,
    actor: ActorId,
}

impl Village {
    fn new(rng: &mut Rng) -> BenchResult<Village> {
        let root = SecretKey::from_bytes(&rng.bytes());
        let device = SecretKey::from_bytes(&rng.bytes());
        let household = root.household_id();
        let cert = DeviceCert::issue(&root, &device, "banc d'essai", BASE_MS - 60_000)?;
        let genesis = CommunityGenesis {
            name: "Saint-Banc-sur-Essai".into(),
            founder: household,
            unit: "heure".into(),
            soft_limit: None,
            hard_limit: None,
            created_at: BASE_MS - 60_000,
            nonce: rng.bytes(),
        };
        let community = community_id(&genesis);
        let genesis = device.sign(genesis)?;
        Ok(Village {
            device,
            household,
            community,
            records: vec![Record::DeviceCert(cert), Record::Genesis(genesis)],
            actor: ActorId::from(rng.bytes::<16>().as_slice()),
        })
    }
}

/// A new offer document with its one signed change, as `Household::add_offer` builds it.
struct NewOffer {
    header: DocHeader,
    change: SignedChange,
    body: Offer,
    document: Document,
}

fn new_offer(village: &Village, i: usize, rng: &mut Rng) -> BenchResult<NewOffer> {
    let body = offer_body(i, rng);
    body.validate()?;
    let header = DocHeader::item(
        DocKind::Offer,
        village.household,
        village.community,
        body.created_at,
        rng.bytes(),
    );
    let mut document = Document::new(header.clone());
    let writer = Writer {
        device: &village.device,
        actor: village.actor.clone(),
        now_ms: body.created_at,
    };
    let change = document
        .write(&body, &writer)?
        .ok_or("writing a new offer made no change")?;
    Ok(NewOffer {
        header,
        change,
        body,
        document,
    })
}

fn ingest_checked(store: &mut Store, docs: Vec<(DocHeader, Vec<SignedChange>)>) -> BenchResult<()> {
    let expected = docs.len();
    let report = store.ingest(vec![], docs)?;
    if report.applied != expected || !report.rejected.is_empty() {
        return Err(format!(
            "ingest applied {} of {expected} changes ({} rejected)",
            report.applied,
            report.rejected.len()
        )
        .into());
    }
    Ok(())
}

fn open_store(path: &Path, village: &Village) -> BenchResult<Store> {
    let store = Store::open(path)?;
    store.ingest(village.records.clone(), vec![])?;
    Ok(store)
}

fn file_len(path: &Path) -> BenchResult<u64> {
    Ok(std::fs::metadata(path)?.len())
}

/// Compacts until redb says nothing more can be reclaimed.
fn compact(store: &mut Store) -> BenchResult<()> {
    for _ in 0..8 {
        if !store.compact_file()? {
            break;
        }
    }
    Ok(())
}

/// p50 and p95 of `runs` timings of `f`, after a few warm-up calls.
fn percentiles(runs: usize, mut f: impl FnMut(usize) -> BenchResult<()>) -> BenchResult<(Duration, Duration)> {
    for i in 0..5 {
        f(i)?;
    }
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let start = Instant::now();
        f(i)?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok((times[runs / 2], times[(runs * 95 / 100).min(runs - 1)]))
}

fn category_query(community: CommunityId, i: usize, limit: Option<usize>) -> Query {
    Query {
        kind: Some(DocKind::Offer),
        community: Some(community),
        category: Some(CATEGORIES[i % CATEGORIES.len()].into()),
        limit,
        ..Query::default()
    }
}

/// Times whole-category listings and pages of 50, checking what they return.
fn browse(store: &Store, community: CommunityId, total: usize) -> BenchResult<[(Duration, Duration); 2]> {
    let per_category = total / CATEGORIES.len();
    let whole = percentiles(RUNS, |i| {
        let found = black_box(store.list(&category_query(community, i, None))?);
        if found.len() < per_category {
            return Err(format!("a category listed {} offers, expected {per_category}", found.len()).into());
        }
        Ok(())
    })?;
    let page = percentiles(RUNS, |i| {
        let found = black_box(store.list(&category_query(community, i, Some(PAGE)))?);
        if found.len() != PAGE {
            return Err(format!("a page listed {} offers, expected {PAGE}", found.len()).into());
        }
        Ok(())
    })?;
    Ok([whole, page])
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn row(label: &str, value: String, note: &str) {
    println!("{label:<52} {value:>14}  {note}");
}

fn section(title: &str) {
    println!("\n-- {title}");
}

/// The file system type of the mount holding `path`, from /proc/mounts.
fn fs_type(path: &Path) -> String {
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else {
        return "unknown".into();
    };
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (_, mount, fs) = (fields.next()?, fields.next()?, fields.next()?);
            path.starts_with(mount).then(|| (mount.len(), fs.to_owned()))
        })
        .max()
        .map_or_else(|| "unknown".into(), |(_, fs)| fs)
}

/// Per-table bytes of a closed store file, read with redb directly. This
/// mirrors the store's private table layout, so it is best effort: a layout
/// change makes it print "n/a" rather than fail the benchmark.
fn table_breakdown(path: &Path) -> BenchResult<Vec<(&'static str, u64, u64)>> {
    type Id = &'static [u8; 32];
    type Bytes = &'static [u8];
    let db = Database::open(path)?;
    let read = db.begin_read()?;
    let mut out = Vec::new();
    macro_rules! table {
        ($name:literal, $k:ty, $v:ty) => {{
            let stats = read.open_table(TableDefinition::<$k, $v>::new($name))?.stats()?;
            out.push((
                $name,
                stats.stored_bytes(),
                stats.metadata_bytes() + stats.fragmented_bytes(),
            ));
        }};
    }
    table!("headers-1", Id, Bytes);
    table!("changes-1", (Id, u64), Bytes);
    table!("known-1", (Id, Id), u64);
    table!("snapshots-1", Id, Bytes);
    table!("summaries-1", Id, Bytes);
    table!("by-recency-1", (u8, Id, u64, Id), ());
    table!("by-category-1", (u8, Id, &'static str, u64, Id), ());
    table!("by-state-1", (u8, Id, &'static str, u64, Id), ());
    Ok(out)
}

/// All offers in one automerge document, one change per offer (STACK-NOTES baseline).
fn one_document_save(offers: &[NewOffer], village: &Village) -> BenchResult<usize> {
    let mut doc = AutoCommit::new().with_actor(village.actor.clone());
    for offer in offers {
        autosurgeon::reconcile_prop(
            &mut doc,
            automerge::ROOT,
            offer.header.id().to_text().as_str(),
            &offer.body,
        )?;
        doc.commit_with(CommitOptions::default().with_time(offer.body.created_at / 1000));
    }
    Ok(doc.save().len())
}

fn main() -> BenchResult<()> {
    let parent = std::env::var_os("MAILLAGE_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(&parent)?;
    let large = !std::env::var("MAILLAGE_BENCH_LARGE").is_ok_and(|v| v == "0");
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("maillage store benchmark");
    row(
        "build",
        if cfg!(debug_assertions) { "DEBUG" } else { "release" }.into(),
        if cfg!(debug_assertions) {
            "figures are meaningless in a debug build"
        } else {
            ""
        },
    );
    row("nproc", nproc.to_string(), "");
    row(
        "files in",
        fs_type(dir.path()),
        &format!("{} (MAILLAGE_BENCH_DIR)", parent.display()),
    );

    // ----- 1. writing ---------------------------------------------------------
    let mut rng = Rng(0x6d61_696c_6c61_6765);
    let village = Village::new(&mut rng)?;
    let start = Instant::now();
    let mut offers = Vec::with_capacity(N);
    for i in 0..N {
        offers.push(new_offer(&village, i, &mut rng)?);
    }
    let build = start.elapsed();
    let text_bytes: usize = offers
        .iter()
        .map(|o| {
            o.body.title.len()
                + o.body.description.len()
                + o.body.category.len()
                + o.body.place.as_ref().map_or(0, String::len)
        })
        .sum();
    let change_bytes: usize = offers.iter().map(|o| o.change.change.len()).sum();
    let save_bytes: usize = offers.iter_mut().map(|o| o.document.save().len()).sum();
    let one_doc_bytes = one_document_save(&offers, &village)?;
    let docs: Vec<(DocHeader, Vec<SignedChange>)> = offers
        .iter()
        .map(|o| (o.header.clone(), vec![o.change.clone()]))
        .collect();

    let single_path = dir.path().join("single.redb");
    let mut single = open_store(&single_path, &village)?;
    let start = Instant::now();
    for doc in docs.iter().cloned() {
        ingest_checked(&mut single, vec![doc])?;
    }
    let single_time = start.elapsed();
    let single_bytes = file_len(&single_path)?;

    let batched_path = dir.path().join("batched.redb");
    let mut batched = open_store(&batched_path, &village)?;
    let start = Instant::now();
    for chunk in docs.chunks(BATCH) {
        ingest_checked(&mut batched, chunk.to_vec())?;
    }
    let batched_time = start.elapsed();
    let batched_bytes = file_len(&batched_path)?;

    let home = Home::at(dir.path().join("household"));
    let mut household = Household::init(home, "Banc d'essai", Some("le bourg"))?;
    household.create_community("Saint-Banc-sur-Essai", "heure", None)?;
    let mut hrng = Rng(7);
    let start = Instant::now();
    for i in 0..HOUSEHOLD_N {
        let body = offer_body(i, &mut hrng);
        household.add_offer(ItemInput {
            title: body.title,
            description: Some(body.description),
            category: Some(body.category),
            kind: Some(body.kind),
            price: body.price.map(maillage_crdt::Amount),
            place: body.place,
            ..ItemInput::default()
        })?;
    }
    let household_time = start.elapsed();
    drop(household);

    let per = |d: Duration, n: usize| us(d) / n as f64;
    let save_per = save_bytes as f64 / N as f64;
    section(&format!(
        "1. writing {N} offers (avg {} B of text, {} B automerge change, {} categories)",
        text_bytes / N,
        change_bytes / N,
        CATEGORIES.len()
    ));
    row(
        "build + sign the change (no store)",
        format!("{:.1} µs", per(build, N)),
        "per offer",
    );
    row(
        "Store::ingest, 1 offer per durable txn",
        format!("{:.1} µs", per(single_time, N)),
        &format!("per offer ({:.1} s total; one fsync each)", single_time.as_secs_f64()),
    );
    row(
        &format!("Store::ingest, {BATCH} offers per txn"),
        format!("{:.1} µs", per(batched_time, N)),
        &format!(
            "per offer; single/batched = {:.1}×",
            single_time.as_secs_f64() / batched_time.as_secs_f64()
        ),
    );
    row(
        "  → fsync + commit cost (single − batched)",
        format!("{:.1} µs", per(single_time.saturating_sub(batched_time), N)),
        "per transaction",
    );
    row(
        &format!("Household::add_offer ({HOUSEHOLD_N} offers)"),
        format!("{:.1} µs", per(household_time, HOUSEHOLD_N)),
        "per offer: the CLI path minus process start and key loading",
    );

    // ----- 2. bytes -------------------------------------------------------------
    compact(&mut single)?;
    let single_compacted = file_len(&single_path)?;
    compact(&mut batched)?;
    let batched_compacted = file_len(&batched_path)?;
    let stats = single.stats()?;
    section("2. disk bytes per offer (redb file size / 10,000) against automerge save()");
    row(
        "automerge save(), one document per offer",
        format!("{save_per:.0} B"),
        &format!("({:.2} MB total)", save_bytes as f64 / 1e6),
    );
    row(
        "automerge save(), all offers in one document",
        format!("{:.0} B", one_doc_bytes as f64 / N as f64),
        &format!("({:.2} MB total)", one_doc_bytes as f64 / 1e6),
    );
    for (label, bytes) in [
        ("store, 1 offer per txn", single_bytes),
        ("store, 1 offer per txn, after compact_file()", single_compacted),
        (&*format!("store, {BATCH} per txn"), batched_bytes),
        (
            &*format!("store, {BATCH} per txn, after compact_file()"),
            batched_compacted,
        ),
    ] {
        let per_item = bytes as f64 / N as f64;
        row(
            label,
            format!("{per_item:.0} B"),
            &format!(
                "{:.2}× per-doc save(), {:.1}× one-doc save()",
                per_item / save_per,
                bytes as f64 / one_doc_bytes as f64
            ),
        );
    }
    row(
        "store holds",
        format!("{} docs", stats.documents),
        &format!("{} change rows, {} snapshots", stats.change_rows, stats.snapshots),
    );

    // ----- 3. browsing 10,000 ---------------------------------------------------
    let all = single.list(&Query::default())?;
    let raw_path = dir.path().join("raw.redb");
    let raw_table: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("raw");
    let raw = Database::create(&raw_path)?;
    let txn = raw.begin_write()?;
    let mut summary_bytes = 0;
    {
        let mut table = txn.open_table(raw_table)?;
        for summary in &all {
            let bytes = postcard::to_stdvec(summary)?;
            summary_bytes += bytes.len();
            table.insert(&summary.id.0, bytes.as_slice())?;
        }
    }
    txn.commit()?;
    let raw_rows = all.len();
    let raw_scan = percentiles(RUNS, |_| {
        let read = raw.begin_read()?;
        let table = read.open_table(raw_table)?;
        let mut seen = 0usize;
        for row in table.iter()? {
            let (key, value) = row?;
            seen += usize::from(key.value()[0]) + value.value().len();
        }
        black_box(seen);
        Ok(())
    })?;
    let [whole, page] = browse(&single, village.community, N)?;
    section(&format!(
        "3. browsing one category among {N} offers (p50 / p95 over {RUNS} runs)"
    ));
    row(
        &format!("raw redb full scan, {raw_rows} rows"),
        format!("{:.3} / {:.3} ms", ms(raw_scan.0), ms(raw_scan.1)),
        &format!(
            "baseline: 32-byte key → summary ({} B avg)",
            summary_bytes / raw_rows.max(1)
        ),
    );
    for (label, (p50, p95)) in [
        (
            format!("Store::list, whole category (~{})", N / CATEGORIES.len()),
            whole,
        ),
        (format!("Store::list, page of {PAGE}"), page),
    ] {
        row(
            &label,
            format!("{:.3} / {:.3} ms", ms(p50), ms(p95)),
            &format!("p50 = {:.2}× raw scan", p50.as_secs_f64() / raw_scan.0.as_secs_f64()),
        );
    }
    drop(single);
    drop(batched);
    section("   where the bytes go (1 offer per txn store, compacted; stored / overhead bytes)");
    match table_breakdown(&single_path) {
        Ok(tables) => {
            for (name, stored, overhead) in tables {
                row(
                    &format!("   {name}"),
                    format!("{:.0} B", stored as f64 / N as f64),
                    &format!(
                        "per offer stored, {:.0} B metadata + fragmentation",
                        overhead as f64 / N as f64
                    ),
                );
            }
        }
        Err(error) => row("   per-table breakdown", "n/a".into(), &error.to_string()),
    }

    // ----- 4. browsing 100,000 --------------------------------------------------
    section(&format!("4. browsing one category among {LARGE_N} offers (DESIGN §5)"));
    if !large {
        row("skipped", "-".into(), "MAILLAGE_BENCH_LARGE=0");
        return Ok(());
    }
    let large_path = dir.path().join("large.redb");
    let mut store = open_store(&large_path, &village)?;
    let mut rng = Rng(0x1_0000);
    let (mut build, mut ingest) = (Duration::ZERO, Duration::ZERO);
    for first in (0..LARGE_N).step_by(BATCH) {
        let start = Instant::now();
        let mut chunk = Vec::with_capacity(BATCH);
        for i in first..first + BATCH {
            let offer = new_offer(&village, i, &mut rng)?;
            chunk.push((offer.header, vec![offer.change]));
        }
        build += start.elapsed();
        let start = Instant::now();
        ingest_checked(&mut store, chunk)?;
        ingest += start.elapsed();
    }
    let [whole, page] = browse(&store, village.community, LARGE_N)?;
    row(
        &format!("build + ingest {LARGE_N}, {BATCH} per txn"),
        format!("{:.1} s", (build + ingest).as_secs_f64()),
        &format!(
            "{:.1} µs build + {:.1} µs ingest per offer",
            per(build, LARGE_N),
            per(ingest, LARGE_N)
        ),
    );
    row(
        "disk bytes per offer",
        format!("{:.0} B", file_len(&large_path)? as f64 / LARGE_N as f64),
        "before compact_file()",
    );
    row(
        &format!("Store::list, whole category (~{})", LARGE_N / CATEGORIES.len()),
        format!("{:.3} / {:.3} ms", ms(whole.0), ms(whole.1)),
        &format!(
            "p50 = {:.2}× raw scan of {raw_rows}",
            whole.0.as_secs_f64() / raw_scan.0.as_secs_f64()
        ),
    );
    row(
        &format!("Store::list, page of {PAGE}"),
        format!("{:.3} / {:.3} ms", ms(page.0), ms(page.1)),
        &format!(
            "p50 = {:.2}× raw scan of {raw_rows}; target p50 < 5 ms: {}",
            page.0.as_secs_f64() / raw_scan.0.as_secs_f64(),
            if page.0 < Duration::from_millis(5) {
                "met"
            } else {
                "MISSED"
            }
        ),
    );
    Ok(())
}
