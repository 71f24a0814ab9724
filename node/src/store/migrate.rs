//! Versions of the store's layout, and what opening a store written by
//! another version does.
//!
//! Two versions are kept in `meta-1`:
//! - `schema`, the layout of the *primary* tables (records, headers,
//!   changes, known, snapshots, meta): what was received and signed, which
//!   nothing else can give back. An older layout is brought forward by the
//!   ordered [`STEPS`]; a newer one is refused untouched, since an older
//!   binary cannot know what a newer layout means and must never "repair" it.
//! - `derived`, the layout of the tables computed from the primary ones
//!   (summaries, heads, by-recency, by-category, by-state). When it differs
//!   from [`DERIVED`] in either direction they are dropped and recomputed:
//!   a new summary format then costs one rebuild at open, never a store.
//!
//! Everything runs in the open's one write transaction: a store is either
//! fully upgraded or left as it was.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::changelog::CHANGELOG;
use super::{
    BY_CATEGORY, BY_RECENCY, BY_STATE, HEADS, META, SUMMARIES, StoreError, Tables, dberr, heads_value, load_document,
    read_header, write_summary,
};
use crate::summary::Summary;
use maillage_crdt::DocId;

/// The layout of the primary tables this code writes.
///
/// 1. The first layout (no derived version recorded).
/// 2. Layout 1 with `derived` recorded in `meta-1`.
/// 3. Layout 2 with `changelog-1`, the log of what each ingest changed
///    (`changelog.rs`): a binary of layout 2 would write without logging,
///    and programs following the log would miss those changes.
pub(super) const LAYOUT: u8 = 3;
/// The layout of the derived tables this code writes.
///
/// 0. What layout 1 wrote, before derived tables had a version.
/// 1. Summaries as [`Summary`] in postcard; the indexes as in `store.rs`.
pub(super) const DERIVED: u8 = 1;

pub(super) const META_LAYOUT: &str = "schema";
pub(super) const META_DERIVED: &str = "derived";

/// A step from one layout to the next, inside the open's transaction.
type Step = fn(&WriteTransaction) -> Result<(), StoreError>;

/// `STEPS[n - 1]` takes a store from layout `n` to `n + 1`.
const STEPS: [Step; LAYOUT as usize - 1] = [record_derived_version, start_changelog];

/// What opening did to bring the store to this version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Upgrade {
    /// The layout the store had, when it was older.
    pub from_layout: Option<u8>,
    /// How many documents' derived rows were recomputed, when they were.
    pub rebuilt: Option<u64>,
}

/// Checks the store's versions, runs the steps it needs and creates any
/// missing table. Refuses a store from a newer layout before writing anything.
pub(super) fn upgrade(txn: &WriteTransaction) -> Result<Upgrade, StoreError> {
    let mut upgrade = Upgrade::default();
    match read_version(txn, META_LAYOUT)? {
        None => {
            // A new store: its (empty) derived tables are current.
            write_version(txn, META_LAYOUT, LAYOUT)?;
            write_version(txn, META_DERIVED, DERIVED)?;
        }
        Some(LAYOUT) => {}
        Some(found) if found > LAYOUT => {
            return Err(StoreError::NewerLayout {
                found,
                supported: LAYOUT,
            });
        }
        Some(0) => return Err(StoreError::Schema { found: 0 }),
        Some(found) => {
            for (from, step) in (found..LAYOUT).zip(&STEPS[usize::from(found) - 1..]) {
                tracing::info!(from, to = from + 1, "migrating the store's layout");
                step(txn)?;
            }
            write_version(txn, META_LAYOUT, LAYOUT)?;
            upgrade.from_layout = Some(found);
        }
    }
    // Create every table so that readers never meet a missing one.
    drop(Tables::open(txn)?);
    txn.open_table(CHANGELOG).map_err(dberr)?;
    let derived = read_version(txn, META_DERIVED)?;
    if derived != Some(DERIVED) {
        let documents = rebuild_derived(txn)?;
        write_version(txn, META_DERIVED, DERIVED)?;
        tracing::info!(
            from = ?derived,
            to = DERIVED,
            documents,
            "rebuilt the store's summaries and indexes"
        );
        upgrade.rebuilt = Some(documents);
    }
    Ok(upgrade)
}

/// Layout 2 → 3: the change log starts, empty (what came before it is
/// read from the resources themselves).
fn start_changelog(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(CHANGELOG).map_err(dberr)?;
    Ok(())
}

/// Layout 1 → 2: derived tables get a version. Layout 1's are version 0, so
/// they are rebuilt once, in the current format.
fn record_derived_version(txn: &WriteTransaction) -> Result<(), StoreError> {
    write_version(txn, META_DERIVED, 0)
}

/// Drops every derived table and recomputes it from the documents: what
/// [`super::Store::ingest`] writes after each change, for every document
/// holding one. Returns how many documents were summarised.
fn rebuild_derived(txn: &WriteTransaction) -> Result<u64, StoreError> {
    // Deleted rather than emptied: a new derived layout may change a
    // table's key or value types, which opening it with the new ones refuses.
    delete(txn, SUMMARIES)?;
    delete(txn, HEADS)?;
    delete(txn, BY_RECENCY)?;
    delete(txn, BY_CATEGORY)?;
    delete(txn, BY_STATE)?;
    let mut tables = Tables::open(txn)?;
    let mut ids = Vec::new();
    for row in tables.headers.iter().map_err(dberr)? {
        ids.push(DocId(*row.map_err(dberr)?.0.value()));
    }
    let mut documents = 0;
    for id in ids {
        let header = read_header(&tables.headers, &id)?;
        let mut document = load_document(&tables, &header)?;
        // A document whose every change was dropped (after a revocation)
        // keeps its header, and nothing else.
        if document.is_empty() {
            continue;
        }
        let summary = Summary::of(&mut document);
        let encoded = postcard::to_stdvec(&summary).unwrap_or_default();
        let heads = heads_value(&mut document);
        write_summary(&mut tables, &header, &summary, &encoded, &heads)?;
        documents += 1;
    }
    Ok(documents)
}

fn delete<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &WriteTransaction,
    table: TableDefinition<K, V>,
) -> Result<(), StoreError> {
    txn.delete_table(table).map_err(dberr)?;
    Ok(())
}

fn read_version(txn: &WriteTransaction, key: &str) -> Result<Option<u8>, StoreError> {
    let meta = txn.open_table(META).map_err(dberr)?;
    let value = meta.get(key).map_err(dberr)?;
    Ok(value.map(|v| v.value().first().copied().unwrap_or(0)))
}

fn write_version(txn: &WriteTransaction, key: &str, version: u8) -> Result<(), StoreError> {
    let mut meta = txn.open_table(META).map_err(dberr)?;
    meta.insert(key, [version].as_slice()).map_err(dberr)?;
    Ok(())
}
