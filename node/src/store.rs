//! The household's store: one redb file holding every record and document
//! change the node knows.
//!
//! Writes are *appends*: a new change adds one row to `changes-1`; documents
//! are never rewritten whole on every edit. When a document has gathered
//! [`COMPACT_AFTER`] change rows they are folded into one automerge snapshot
//! (which compresses far better) plus the list of their signatures, so every
//! change can still be handed to a peer with its signature.
//!
//! Each document's current heads are kept beside its summary (`heads-1`),
//! keyed by community, so a sync session lists what it covers without
//! loading any automerge document (see [`crate::source`]).
//!
//! Every change passes [`maillage_crdt::verify_change`] before it is written,
//! whatever its origin. Each public write is one redb transaction, committed
//! durably (fsync) before the call returns: when the CLI says "done", the
//! data is on disk.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use automerge::{Automerge, Change, ChangeHash, ReadDoc};
use maillage_crdt::change::{CheckedHeader, Verifier};
use maillage_crdt::{
    ChangeRejected, CommunityId, DocHeader, DocId, DocKind, Document, HouseholdId, Record, RecordId, Registry, Sig,
    SignedChange, VerifiedChange, verify_change,
};
use maillage_crdt::{DeviceId, document::MAX_DOCUMENT_BYTES, exchange};
use maillage_protocol::sync::WholeDocument;
use redb::{ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::summary::Summary;

mod changelog;
mod db;
mod migrate;

pub use changelog::{Logged, Subject};
pub use db::LOCK_WAIT;
pub use migrate::Upgrade;

/// `meta-1`: settings of this store. Key: a name. Value: bytes. `schema` and
/// `derived` (one byte each) are the layout versions, see `store/migrate.rs`.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta-1");
/// `records-1`: identity and membership records. Key: record id. Value: postcard `Record`.
const RECORDS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("records-1");
/// `headers-1`: document headers. Key: doc id. Value: postcard `DocHeader`.
const HEADERS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("headers-1");
/// `changes-1`: signed changes not yet compacted. Key: (doc id, sequence number
/// within the doc, from 1). Value: postcard `SignedChange`.
const CHANGES: TableDefinition<(&[u8; 32], u64), &[u8]> = TableDefinition::new("changes-1");
/// `known-1`: every change a document holds, for deduplication. Key: (doc id,
/// change hash). Value: the change's row in `changes-1`, or 0 once compacted.
const KNOWN: TableDefinition<(&[u8; 32], &[u8; 32]), u64> = TableDefinition::new("known-1");
/// `snapshots-1`: compacted documents. Key: doc id. Value: postcard `Snapshot`.
const SNAPSHOTS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("snapshots-1");
/// `summaries-1`: what listings show, derived from each document after every
/// change. Key: doc id. Value: postcard `Summary`.
const SUMMARIES: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("summaries-1");
/// `heads-1`: the current heads of every document holding changes, refreshed
/// with its summary; what sync sessions list. Key: (community id, or zeros for
/// a profile; doc id). Value: the heads' change hashes, 32 bytes each, sorted.
const HEADS: TableDefinition<(&[u8; 32], &[u8; 32]), &[u8]> = TableDefinition::new("heads-1");
/// Key of `by-recency-1`: (kind code, community, u64::MAX − updated ms, doc id).
type RecencyKey = (u8, &'static [u8; 32], u64, &'static [u8; 32]);
/// Key of `by-category-1` and `by-state-1`: (kind code, community, word, u64::MAX − updated ms, doc id).
type WordKey = (u8, &'static [u8; 32], &'static str, u64, &'static [u8; 32]);

/// `by-recency-1`: Key: (kind code, community id or zeros, u64::MAX − updated ms, doc id).
const BY_RECENCY: TableDefinition<RecencyKey, ()> = TableDefinition::new("by-recency-1");
/// `by-category-1`: Key: (kind code, community, category, u64::MAX − updated ms, doc id).
const BY_CATEGORY: TableDefinition<WordKey, ()> = TableDefinition::new("by-category-1");
/// `by-state-1`: Key: (kind code, community, stored state, u64::MAX − updated ms, doc id).
/// (`changelog-1`, the log of what each ingest changed, is in `changelog.rs`.)
const BY_STATE: TableDefinition<WordKey, ()> = TableDefinition::new("by-state-1");

// The store's layout versions, and what opening an older or newer store
// does, are in `store/migrate.rs`.

/// How many change rows a document gathers before they are folded into a snapshot.
pub const COMPACT_AFTER: u64 = 32;

const NO_COMMUNITY: [u8; 32] = [0; 32];

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("the disk is full: nothing was written; free some space and try again")]
    DiskFull,
    /// Still held by another process after [`LOCK_WAIT`], and no running
    /// node was found: another command (or a node still starting).
    #[error("the store is still in use by another maillage command (or a node starting) after waiting; try again")]
    Locked,
    /// A node of this home runs and holds the store for as long as it runs.
    #[error("this household's node is running (process {pid}) and holds the store")]
    HeldByNode { pid: u32 },
    #[error("the store was written by an unknown version of maillage (layout {found})")]
    Schema { found: u8 },
    /// Written by a newer maillage: left untouched.
    #[error(
        "the store was written by a newer version of maillage (layout {found}; this one reads up to {supported}); nothing was changed: update maillage"
    )]
    NewerLayout { found: u8, supported: u8 },
    /// The store's file failed a read or write (the disk may be failing, or
    /// full while the database was being reopened).
    #[error("the store's file cannot be read or written: {0}")]
    Io(std::io::Error),
    #[error("the store is damaged: {0}")]
    Corrupt(String),
    #[error("store error: {0}")]
    Db(String),
}

impl From<redb::Error> for StoreError {
    fn from(error: redb::Error) -> Self {
        match &error {
            redb::Error::DatabaseAlreadyOpen => StoreError::Locked,
            redb::Error::Io(io) if io.kind() == std::io::ErrorKind::StorageFull => StoreError::DiskFull,
            redb::Error::Corrupted(text) => StoreError::Corrupt(text.clone()),
            _ => match error {
                redb::Error::Io(io) => StoreError::Io(io),
                // The database failed an I/O earlier and could not be
                // reopened yet (see `store/db.rs`).
                redb::Error::PreviousIo | redb::Error::DatabaseClosed => StoreError::Io(std::io::Error::other(
                    "an earlier read or write failed; the store is reopened at the next try",
                )),
                error => StoreError::Db(error.to_string()),
            },
        }
    }
}

/// Converts any of redb's per-operation errors.
fn dberr<E: Into<redb::Error>>(error: E) -> StoreError {
    StoreError::from(error.into())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("cannot decode {what}"))
}

/// A compacted document: its automerge snapshot and the signature of every
/// change folded into it.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    #[serde(with = "serde_bytes")]
    automerge: Vec<u8>,
    signatures: Vec<([u8; 32], DeviceId, Sig)>,
}

/// What happened to a batch of incoming changes.
#[derive(Debug, Default)]
pub struct ApplyReport {
    pub applied: usize,
    pub duplicates: usize,
    pub rejected: Vec<(DocId, ChangeRejected)>,
    pub new_records: Vec<RecordId>,
    pub rejected_records: usize,
    /// Documents whose state changed.
    pub touched: BTreeSet<DocId>,
}

/// Listing filters. Every field narrows the result.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub kind: Option<DocKind>,
    pub community: Option<CommunityId>,
    pub category: Option<String>,
    pub state: Option<String>,
    pub owner: Option<HouseholdId>,
    /// For offers (and requests naming one): the offer kind, e.g. `lend`.
    pub offer_kind: Option<String>,
    pub limit: Option<usize>,
}

/// The store. Keeps the registry in memory: it is small (a few records per
/// household) and every change verification needs it.
///
/// Shared by reference between threads: reads run on redb read transactions
/// beside a write, and see the registry as of the last committed ingest.
/// Writes are serialised by redb (one write transaction at a time); the
/// household service sends them all through one thread, in order.
#[derive(Debug)]
pub struct Store {
    db: db::Db,
    /// What opening did to bring the store to this version.
    upgrade: Upgrade,
    /// Replaced whole after each committed ingest, so a reader holding the
    /// previous one keeps a consistent view and never waits on a writer.
    registry: RwLock<Arc<Registry>>,
    /// Held by an ingest from its write transaction to the registry swap
    /// after the commit: redb's own write lock ends at the commit, and an
    /// ingest starting in between would read the registry from before it.
    ingesting: Mutex<()>,
    /// Counts committed ingests, so that the web page can tell its readers
    /// that something changed without taking the household's lock.
    revision: Arc<AtomicU64>,
}

impl Store {
    /// Opens (or creates) the store at `path`, waiting up to [`LOCK_WAIT`]
    /// while another maillage command holds it, and brings it to this
    /// version's layout (see `store/migrate.rs`).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_waiting(path, LOCK_WAIT)
    }

    /// [`Store::open`], waiting at most `wait` for another process's lock.
    pub fn open_waiting(path: &Path, wait: Duration) -> Result<Self, StoreError> {
        let db = db::Db::open(path, wait)?;
        // The store holds the community's data: readable by the household only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| StoreError::Db(format!("cannot restrict {}: {e}", path.display())))?;
        }
        let txn = db.begin_write().map_err(dberr)?;
        let upgrade = migrate::upgrade(&txn)?;
        txn.commit().map_err(dberr)?;
        let mut records = Vec::new();
        {
            let read = db.begin_read().map_err(dberr)?;
            let table = read.open_table(RECORDS).map_err(dberr)?;
            for row in table.iter().map_err(dberr)? {
                let (_, value) = row.map_err(dberr)?;
                records.push(Record::decode(value.value()).map_err(|_| corrupt("a record"))?);
            }
        }
        Ok(Store {
            db,
            upgrade,
            registry: RwLock::new(Arc::new(Registry::from_records(records))),
            ingesting: Mutex::new(()),
            revision: Arc::new(AtomicU64::new(0)),
        })
    }

    /// What opening did: a layout migration, a rebuild of the derived tables.
    pub fn upgrade(&self) -> Upgrade {
        self.upgrade
    }

    /// The registry as of the last committed ingest.
    pub fn registry(&self) -> Arc<Registry> {
        // A panicking writer never leaves a half-made registry behind: it is
        // swapped whole, after the commit.
        Arc::clone(&self.registry.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let read = self.db.begin_read().map_err(dberr)?;
        let table = read.open_table(META).map_err(dberr)?;
        Ok(table.get(key).map_err(dberr)?.map(|v| v.value().to_vec()))
    }

    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(dberr)?;
        txn.open_table(META).map_err(dberr)?.insert(key, value).map_err(dberr)?;
        txn.commit().map_err(dberr)
    }

    /// Stores records and documents changes in one durable transaction.
    /// Records are checked first (so a bundle's joins and certificates count
    /// for its changes); every change is then checked against its author.
    /// Invalid items are reported and skipped; nothing invalid is written.
    pub fn ingest(
        &self,
        records: Vec<Record>,
        docs: Vec<(DocHeader, Vec<SignedChange>)>,
    ) -> Result<ApplyReport, StoreError> {
        // One ingest at a time from here to the swap below, so the registry
        // read now is the latest and the one swapped in after the commit
        // loses nobody else's records. (The household service already sends
        // every write through one thread; this keeps `Store` right alone.)
        let _ingesting = self.ingesting.lock().unwrap_or_else(PoisonError::into_inner);
        let txn = self.db.begin_write().map_err(dberr)?;
        let current = self.registry();
        let mut report = ApplyReport::default();
        let mut new_records = Vec::new();
        for record in records {
            if current.contains(&record.id()) {
                continue;
            }
            match record.verify_self() {
                Ok(()) => new_records.push(record),
                Err(_) => report.rejected_records += 1,
            }
        }
        let mut registry = Registry::clone(&current);
        report.new_records = registry.insert(new_records.iter().cloned());
        let revoked: BTreeSet<DeviceId> = new_records
            .iter()
            .filter_map(|record| match record {
                Record::DeviceRevocation(revocation) => Some(revocation.body.device),
                _ => None,
            })
            .collect();

        {
            let mut tables = Tables::open(&txn)?;
            for record in &new_records {
                tables
                    .records
                    .insert(&record.id().0, record.encode().as_slice())
                    .map_err(dberr)?;
            }
            // A document this store does not hold yet is built apart from
            // the database (verified, applied, summarised, encoded), on
            // every core; one it holds needs its stored state, so only its
            // changes' verification runs in parallel.
            let mut new_docs = Vec::new();
            let mut held_docs = Vec::new();
            for (header, changes) in merge_same_documents(docs) {
                if tables.headers.get(&header.id().0).map_err(dberr)?.is_some() {
                    held_docs.push((header, changes));
                } else {
                    new_docs.push((header, changes));
                }
            }
            let verifier = Verifier::new(
                &registry,
                new_docs.iter().chain(&held_docs).flat_map(|(_, changes)| changes),
            );
            build_then_write(
                new_docs,
                |(header, changes)| NewDocument::build(header, changes, &verifier),
                |document| document?.write(&mut tables, &mut report),
            )?;
            let checked = parallel_map(
                held_docs,
                |(_, changes)| changes.len(),
                |(header, changes)| {
                    let checked = CheckedHeader::new(&header);
                    let verified: Vec<_> = changes
                        .iter()
                        .map(|signed| verifier.verify(signed, &checked).map_err(|why| (signed.doc, why)))
                        .collect();
                    (header, verified)
                },
            );
            for (header, verified) in checked {
                self.ingest_doc(&mut tables, header, verified, &mut report)?;
            }
            if !revoked.is_empty() {
                self.drop_revoked_changes(&mut tables, &registry, &revoked, &mut report)?;
            }
            let mut subjects = Vec::with_capacity(report.touched.len() + new_records.len());
            for id in &report.touched {
                let kind = read_header(&tables.headers, id)?.kind;
                subjects.push(Subject::Document { id: *id, kind });
            }
            let added: HashSet<RecordId> = report.new_records.iter().copied().collect();
            for record in new_records.iter().filter(|r| added.contains(&r.id())) {
                subjects.push(Subject::Record {
                    id: record.id(),
                    kind: changelog::record_kind(record).to_owned(),
                });
            }
            changelog::append(&txn, subjects)?;
        }
        txn.commit().map_err(dberr)?;
        if !report.new_records.is_empty() {
            *self.registry.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(registry);
        }
        if report.applied > 0 || !report.new_records.is_empty() || !report.touched.is_empty() {
            self.revision.fetch_add(1, Ordering::Release);
        }
        Ok(report)
    }

    /// What changed after entry `since` of the change log (at most `max`
    /// entries), and whether entries after `since` were already forgotten.
    pub fn log_since(&self, since: u64, max: usize) -> Result<(Vec<Logged>, bool), StoreError> {
        changelog::since(&self.db, since, max)
    }

    /// A counter that grows after every ingest that changed something.
    /// Shared: read it without holding whatever lock guards the store.
    pub fn revision(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.revision)
    }

    /// Adds already verified changes to a document this store holds.
    fn ingest_doc(
        &self,
        tables: &mut Tables<'_>,
        header: DocHeader,
        changes: Vec<Result<VerifiedChange, (DocId, ChangeRejected)>>,
        report: &mut ApplyReport,
    ) -> Result<(), StoreError> {
        let id = header.id();
        let mut document: Option<Document> = None;
        let mut size = 0;
        let mut fresh: Vec<(Change, SignedChange)> = Vec::new();
        let mut fresh_hashes = HashSet::new();
        for verified in changes {
            let verified = match verified {
                Ok(verified) => verified,
                Err(rejected) => {
                    report.rejected.push(rejected);
                    continue;
                }
            };
            let signed = &verified.signed;
            let hash = verified.change.hash();
            let duplicate =
                fresh_hashes.contains(&hash) || tables.known.get((&id.0, &hash.0)).map_err(dberr)?.is_some();
            if duplicate {
                report.duplicates += 1;
                continue;
            }
            // Load the document once, on the first new change.
            let document = match &mut document {
                Some(document) => document,
                None => {
                    size = document_size(tables, &id)?;
                    document.insert(load_document(tables, &header)?)
                }
            };
            if size + signed.change.len() > MAX_DOCUMENT_BYTES {
                report.rejected.push((
                    id,
                    ChangeRejected::TooLarge {
                        size: size + signed.change.len(),
                    },
                ));
                continue;
            }
            if let Err(rejected) = check_applicable(document, &header, &verified) {
                report.rejected.push((id, rejected));
                continue;
            }
            // Applied one at a time, so that the next change's checks see this one.
            document
                .apply(vec![verified.change.clone()])
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            size += signed.change.len();
            fresh_hashes.insert(hash);
            fresh.push((verified.change, verified.signed));
        }
        let Some(mut document) = document.filter(|_| !fresh.is_empty()) else {
            return Ok(());
        };
        if tables.headers.get(&id.0).map_err(dberr)?.is_none() {
            tables
                .headers
                .insert(&id.0, header.encode().as_slice())
                .map_err(dberr)?;
        }
        let mut next_seq = last_seq(tables, &id)? + 1;
        for (change, signed) in &fresh {
            tables
                .changes
                .insert((&id.0, next_seq), signed.encode().as_slice())
                .map_err(dberr)?;
            tables
                .known
                .insert((&id.0, &change.hash().0), next_seq)
                .map_err(dberr)?;
            next_seq += 1;
        }
        report.applied += fresh.len();
        self.refresh_summary(tables, &mut document)?;
        if next_seq > COMPACT_AFTER {
            compact(tables, &mut document)?;
        }
        report.touched.insert(id);
        Ok(())
    }

    /// After a revocation, removes the changes the revoked device made at or
    /// after its revocation time (and any change that depends on them), and
    /// rebuilds the documents concerned, so every node ends with the same state
    /// whether it learnt of the revocation before or after those changes.
    fn drop_revoked_changes(
        &self,
        tables: &mut Tables<'_>,
        registry: &Registry,
        revoked: &BTreeSet<DeviceId>,
        report: &mut ApplyReport,
    ) -> Result<(), StoreError> {
        let mut ids = Vec::new();
        for row in tables.headers.iter().map_err(dberr)? {
            let (key, _) = row.map_err(dberr)?;
            ids.push(DocId(*key.value()));
        }
        for id in ids {
            let header = read_header(&tables.headers, &id)?;
            let signed = all_signed_changes(tables, &header)?;
            if !signed.iter().any(|change| revoked.contains(&change.signer)) {
                continue;
            }
            clear_document(tables, &header)?;
            // Changes come in dependency order, so one pass, applying as it
            // goes, drops the dependents of a dropped change too; exchanges get
            // their causal check against the rebuilt state.
            let mut document = Document::new(header.clone());
            let mut seq = 0;
            for change in signed {
                let Ok(verified) = verify_change(&change, &header, registry) else {
                    continue;
                };
                if check_applicable(&document, &header, &verified).is_err() {
                    continue;
                }
                document
                    .apply(vec![verified.change.clone()])
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                seq += 1;
                tables
                    .changes
                    .insert((&id.0, seq), change.encode().as_slice())
                    .map_err(dberr)?;
                tables
                    .known
                    .insert((&id.0, &verified.change.hash().0), seq)
                    .map_err(dberr)?;
            }
            if document.is_empty() {
                tables.summaries.remove(&id.0).map_err(dberr)?;
            } else {
                self.refresh_summary(tables, &mut document)?;
            }
            report.touched.insert(id);
        }
        Ok(())
    }

    fn refresh_summary(&self, tables: &mut Tables<'_>, document: &mut Document) -> Result<(), StoreError> {
        let id = document.id();
        if let Some(old) = stored_summary(tables, &id)? {
            remove_index_entries(tables, &old)?;
        }
        let summary = Summary::of(document);
        let encoded = postcard::to_stdvec(&summary).unwrap_or_default();
        let heads = heads_value(document);
        write_summary(tables, document.header(), &summary, &encoded, &heads)
    }

    /// The current state of a document, or `None` if unknown.
    pub fn load(&self, id: &DocId) -> Result<Option<Document>, StoreError> {
        let read = self.db.begin_read().map_err(dberr)?;
        let headers = read.open_table(HEADERS).map_err(dberr)?;
        let Some(header) = headers.get(&id.0).map_err(dberr)? else {
            return Ok(None);
        };
        let header = DocHeader::decode(header.value()).ok_or_else(|| corrupt("a header"))?;
        let snapshots = read.open_table(SNAPSHOTS).map_err(dberr)?;
        let changes = read.open_table(CHANGES).map_err(dberr)?;
        let mut document = match snapshots.get(&id.0).map_err(dberr)? {
            Some(bytes) => {
                let snapshot: Snapshot = postcard::from_bytes(bytes.value()).map_err(|_| corrupt("a snapshot"))?;
                Document::load(header, &snapshot.automerge).map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
            None => Document::new(header),
        };
        let mut pending = Vec::new();
        for row in changes.range((&id.0, 0)..=(&id.0, u64::MAX)).map_err(dberr)? {
            let (_, value) = row.map_err(dberr)?;
            let signed = SignedChange::decode(value.value()).map_err(|_| corrupt("a change"))?;
            pending.push(Change::from_bytes(signed.change).map_err(|_| corrupt("a change"))?);
        }
        document
            .apply(pending)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(Some(document))
    }

    pub fn header(&self, id: &DocId) -> Result<Option<DocHeader>, StoreError> {
        Ok(self.headers(std::slice::from_ref(id))?.pop().flatten())
    }

    /// The headers of `ids`, in order (`None` for an unknown one), in one
    /// read transaction: a ledger reads the header of every exchange.
    pub fn headers(&self, ids: &[DocId]) -> Result<Vec<Option<DocHeader>>, StoreError> {
        let read = self.db.begin_read().map_err(dberr)?;
        let headers = read.open_table(HEADERS).map_err(dberr)?;
        ids.iter()
            .map(|id| match headers.get(&id.0).map_err(dberr)? {
                Some(bytes) => Ok(Some(
                    DocHeader::decode(bytes.value()).ok_or_else(|| corrupt("a header"))?,
                )),
                None => Ok(None),
            })
            .collect()
    }

    pub fn summary(&self, id: &DocId) -> Result<Option<Summary>, StoreError> {
        let read = self.db.begin_read().map_err(dberr)?;
        let table = read.open_table(SUMMARIES).map_err(dberr)?;
        match table.get(&id.0).map_err(dberr)? {
            Some(bytes) => Ok(Some(
                postcard::from_bytes(bytes.value()).map_err(|_| corrupt("a summary"))?,
            )),
            None => Ok(None),
        }
    }

    /// Summaries matching `query`, newest first, using the narrowest index.
    pub fn list(&self, query: &Query) -> Result<Vec<Summary>, StoreError> {
        self.list_where(query, |_| true)
    }

    /// Like [`Store::list`], keeping only summaries for which `keep` holds.
    /// With a kind and a community the index is walked lazily and the walk
    /// stops at `query.limit`: a page of 50 reads about 50 summaries, however
    /// many the category holds.
    pub fn list_where(&self, query: &Query, keep: impl Fn(&Summary) -> bool) -> Result<Vec<Summary>, StoreError> {
        let read = self.db.begin_read().map_err(dberr)?;
        let summaries = read.open_table(SUMMARIES).map_err(dberr)?;
        let limit = query.limit.unwrap_or(usize::MAX);
        let mut found = Vec::new();
        // Returns false once the page is full.
        let mut visit = |id: &[u8; 32]| -> Result<bool, StoreError> {
            if let Some(bytes) = summaries.get(id).map_err(dberr)? {
                let summary: Summary = postcard::from_bytes(bytes.value()).map_err(|_| corrupt("a summary"))?;
                if query.matches(&summary) && keep(&summary) {
                    found.push(summary);
                }
            }
            Ok(found.len() < limit)
        };
        let (Some(kind), Some(community)) = (query.kind, query.community) else {
            for row in summaries.iter().map_err(dberr)? {
                let id = *row.map_err(dberr)?.0.value();
                let Some(bytes) = summaries.get(&id).map_err(dberr)? else {
                    continue;
                };
                let summary: Summary = postcard::from_bytes(bytes.value()).map_err(|_| corrupt("a summary"))?;
                if query.matches(&summary) && keep(&summary) {
                    found.push(summary);
                }
            }
            found.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(a.id.cmp(&b.id)));
            found.truncate(limit);
            return Ok(found);
        };
        let (code, c) = (kind.code(), &community.0);
        let word_index = match (&query.category, &query.state) {
            (Some(category), _) => Some((BY_CATEGORY, category.as_str())),
            (None, Some(state)) => Some((BY_STATE, state.as_str())),
            (None, None) => None,
        };
        match word_index {
            Some((definition, word)) => {
                let table = read.open_table(definition).map_err(dberr)?;
                for row in table
                    .range((code, c, word, 0, &[0; 32])..=(code, c, word, u64::MAX, &[255; 32]))
                    .map_err(dberr)?
                {
                    if !visit(row.map_err(dberr)?.0.value().4)? {
                        break;
                    }
                }
            }
            None => {
                let table = read.open_table(BY_RECENCY).map_err(dberr)?;
                for row in table
                    .range((code, c, 0, &[0; 32])..=(code, c, u64::MAX, &[255; 32]))
                    .map_err(dberr)?
                {
                    if !visit(row.map_err(dberr)?.0.value().3)? {
                        break;
                    }
                }
            }
        }
        Ok(found)
    }

    /// Every document id whose text form starts with `prefix`.
    pub fn ids_with_prefix(&self, prefix: &str) -> Result<Vec<DocId>, StoreError> {
        let prefix = prefix.to_lowercase();
        let read = self.db.begin_read().map_err(dberr)?;
        let headers = read.open_table(HEADERS).map_err(dberr)?;
        let mut found = Vec::new();
        for row in headers.iter().map_err(dberr)? {
            let id = DocId(*row.map_err(dberr)?.0.value());
            if id.to_text().starts_with(&prefix) {
                found.push(id);
            }
        }
        Ok(found)
    }

    /// Documents with their signed changes, for a bundle. `keep` selects by header.
    pub fn export(&self, keep: impl Fn(&DocHeader) -> bool) -> Result<Vec<(DocHeader, Vec<SignedChange>)>, StoreError> {
        let txn = self.db.begin_read().map_err(dberr)?;
        let tables = ReadTables::open(&txn)?;
        let mut docs = Vec::new();
        for row in tables.headers.iter().map_err(dberr)? {
            let (_, value) = row.map_err(dberr)?;
            let header = DocHeader::decode(value.value()).ok_or_else(|| corrupt("a header"))?;
            if keep(&header) {
                let changes = tables.signed_changes(&header)?;
                docs.push((header, changes));
            }
        }
        Ok(docs)
    }

    /// What a sync session for `community` covers, with each document's
    /// current heads: every document of the community, and the profiles of
    /// its members and former members. Reads `heads-1` only (one range and a
    /// lookup per member), never an automerge document.
    pub fn sync_items(&self, community: &CommunityId) -> Result<Vec<(DocId, Vec<ChangeHash>)>, StoreError> {
        let read = self.db.begin_read().map_err(dberr)?;
        let heads = read.open_table(HEADS).map_err(dberr)?;
        let mut items = Vec::new();
        for row in heads
            .range((&community.0, &[0; 32])..=(&community.0, &[255; 32]))
            .map_err(dberr)?
        {
            let (key, value) = row.map_err(dberr)?;
            items.push((DocId(*key.value().1), decode_heads(value.value())?));
        }
        if let Some(derived) = self.registry().community(community) {
            let households: BTreeSet<HouseholdId> =
                derived.members.keys().chain(derived.former.keys()).copied().collect();
            for household in households {
                let profile = DocHeader::profile(household).id();
                if let Some(value) = heads.get((&NO_COMMUNITY, &profile.0)).map_err(dberr)? {
                    items.push((profile, decode_heads(value.value())?));
                }
            }
        }
        Ok(items)
    }

    /// The current heads of a document, sorted; empty if it is unknown.
    pub fn heads(&self, id: &DocId) -> Result<Vec<ChangeHash>, StoreError> {
        let read = self.db.begin_read().map_err(dberr)?;
        let headers = read.open_table(HEADERS).map_err(dberr)?;
        let Some(header) = headers.get(&id.0).map_err(dberr)? else {
            return Ok(Vec::new());
        };
        let header = DocHeader::decode(header.value()).ok_or_else(|| corrupt("a header"))?;
        let heads = read.open_table(HEADS).map_err(dberr)?;
        match heads.get((&community_key(&header), &id.0)).map_err(dberr)? {
            Some(value) => decode_heads(value.value()),
            None => Ok(Vec::new()),
        }
    }

    /// True when the document holds every change in `hashes` (vacuously true
    /// for none). Reads `known-1` only.
    pub fn has_changes(&self, id: &DocId, hashes: &[ChangeHash]) -> Result<bool, StoreError> {
        let read = self.db.begin_read().map_err(dberr)?;
        let known = read.open_table(KNOWN).map_err(dberr)?;
        for hash in hashes {
            if known.get((&id.0, &hash.0)).map_err(dberr)?.is_none() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The signed changes of a document that are neither `their_heads` nor
    /// ancestors of them, in dependency order. Hashes in `their_heads` this
    /// store lacks are ignored (with none known: every change). Empty if the
    /// document is unknown, or if `their_heads` already cover our heads.
    ///
    /// One read transaction: the snapshot and the change rows are read once;
    /// automerge picks the changes, and each gets its signature back from the
    /// snapshot's list or its own row.
    pub fn changes_since(&self, id: &DocId, their_heads: &[ChangeHash]) -> Result<Vec<SignedChange>, StoreError> {
        let read = self.db.begin_read().map_err(dberr)?;
        let headers = read.open_table(HEADERS).map_err(dberr)?;
        let Some(header) = headers.get(&id.0).map_err(dberr)? else {
            return Ok(Vec::new());
        };
        let header = DocHeader::decode(header.value()).ok_or_else(|| corrupt("a header"))?;
        let known_table = read.open_table(KNOWN).map_err(dberr)?;
        let mut known = Vec::new();
        for hash in their_heads {
            if known_table.get((&id.0, &hash.0)).map_err(dberr)?.is_some() {
                known.push(*hash);
            }
        }
        // They hold our heads, hence everything: nothing to load.
        let heads_table = read.open_table(HEADS).map_err(dberr)?;
        if let Some(value) = heads_table.get((&community_key(&header), &id.0)).map_err(dberr)? {
            let ours = decode_heads(value.value())?;
            if ours.iter().all(|head| known.contains(head)) {
                return Ok(Vec::new());
            }
        }

        let snapshots = read.open_table(SNAPSHOTS).map_err(dberr)?;
        let changes = read.open_table(CHANGES).map_err(dberr)?;
        // They know none of our changes (a new member) and nothing was
        // compacted: every row goes, as stored. Rows are in the order the
        // changes were applied, and a change is applied only after its
        // dependencies, so that order respects them; no automerge needed.
        if known.is_empty() && snapshots.get(&id.0).map_err(dberr)?.is_none() {
            let mut all = Vec::new();
            for row in changes.range((&id.0, 0)..=(&id.0, u64::MAX)).map_err(dberr)? {
                all.push(SignedChange::decode(row.map_err(dberr)?.1.value()).map_err(|_| corrupt("a change"))?);
            }
            return Ok(all);
        }
        let mut signatures: HashMap<[u8; 32], (DeviceId, Sig)> = HashMap::new();
        let mut document = match snapshots.get(&id.0).map_err(dberr)? {
            Some(bytes) => {
                let snapshot: Snapshot = postcard::from_bytes(bytes.value()).map_err(|_| corrupt("a snapshot"))?;
                signatures.extend(
                    snapshot
                        .signatures
                        .into_iter()
                        .map(|(hash, device, sig)| (hash, (device, sig))),
                );
                Automerge::load(&snapshot.automerge).map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
            None => Automerge::new(),
        };
        // Uncompacted rows go out exactly as stored.
        let mut rows: HashMap<ChangeHash, SignedChange> = HashMap::new();
        let mut pending = Vec::new();
        for row in changes.range((&id.0, 0)..=(&id.0, u64::MAX)).map_err(dberr)? {
            let signed = SignedChange::decode(row.map_err(dberr)?.1.value()).map_err(|_| corrupt("a change"))?;
            let change = Change::from_bytes(signed.change.clone()).map_err(|_| corrupt("a change"))?;
            rows.insert(change.hash(), signed);
            pending.push(change);
        }
        document
            .apply_changes(pending)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;

        document
            .get_changes(&known)
            .into_iter()
            .map(|change| {
                let hash = change.hash();
                if let Some(signed) = rows.remove(&hash) {
                    return Ok(signed);
                }
                let (signer, signature) = signatures.get(&hash.0).ok_or_else(|| corrupt("a snapshot signature"))?;
                Ok(SignedChange {
                    doc: *id,
                    change: change.raw_bytes().to_vec(),
                    signer: *signer,
                    signature: *signature,
                })
            })
            .collect()
    }

    /// For each of the first of `ids`, in order: its header and every
    /// change it holds, in dependency order (as [`Store::changes_since`]
    /// with no heads), or `(None, [])` if it is unknown; stops after the
    /// document that brings the changes' bytes to `max_bytes`. One read
    /// transaction for all of them: a new member's transfer asks for
    /// thousands of documents.
    pub fn whole_documents(&self, ids: &[DocId], max_bytes: usize) -> Result<Vec<WholeDocument>, StoreError> {
        let read = self.db.begin_read().map_err(dberr)?;
        let tables = ReadTables::open(&read)?;
        let mut documents = Vec::with_capacity(ids.len());
        let mut bytes = 0;
        for id in ids {
            let Some(header) = tables.headers.get(&id.0).map_err(dberr)? else {
                documents.push((None, Vec::new()));
                continue;
            };
            let header = DocHeader::decode(header.value()).ok_or_else(|| corrupt("a header"))?;
            let changes = tables.signed_changes(&header)?;
            bytes += changes.iter().map(|change| change.change.len()).sum::<usize>();
            documents.push((Some(header), changes));
            if bytes >= max_bytes {
                break;
            }
        }
        Ok(documents)
    }

    /// Bytes used by the redb file, and how many documents and change rows it holds.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let read = self.db.begin_read().map_err(dberr)?;
        Ok(StoreStats {
            documents: read.open_table(HEADERS).map_err(dberr)?.len().map_err(dberr)?,
            change_rows: read.open_table(CHANGES).map_err(dberr)?.len().map_err(dberr)?,
            snapshots: read.open_table(SNAPSHOTS).map_err(dberr)?.len().map_err(dberr)?,
        })
    }

    /// Reclaims free pages in the file (after many compactions).
    pub fn compact_file(&mut self) -> Result<bool, StoreError> {
        self.db.compact()
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct StoreStats {
    pub documents: u64,
    pub change_rows: u64,
    pub snapshots: u64,
}

impl Query {
    fn matches(&self, summary: &Summary) -> bool {
        self.kind.is_none_or(|kind| summary.kind == kind)
            && self
                .community
                .is_none_or(|community| summary.community == Some(community))
            && self
                .category
                .as_ref()
                .is_none_or(|category| &summary.category == category)
            && self.state.as_ref().is_none_or(|state| &summary.state == state)
            && self.owner.is_none_or(|owner| summary.owner == owner)
            && self
                .offer_kind
                .as_ref()
                .is_none_or(|kind| summary.offer_kind.as_ref() == Some(kind))
    }
}

struct Tables<'txn> {
    records: redb::Table<'txn, &'static [u8; 32], &'static [u8]>,
    headers: redb::Table<'txn, &'static [u8; 32], &'static [u8]>,
    changes: redb::Table<'txn, (&'static [u8; 32], u64), &'static [u8]>,
    known: redb::Table<'txn, (&'static [u8; 32], &'static [u8; 32]), u64>,
    snapshots: redb::Table<'txn, &'static [u8; 32], &'static [u8]>,
    summaries: redb::Table<'txn, &'static [u8; 32], &'static [u8]>,
    heads: redb::Table<'txn, (&'static [u8; 32], &'static [u8; 32]), &'static [u8]>,
    by_recency: redb::Table<'txn, RecencyKey, ()>,
    by_category: redb::Table<'txn, WordKey, ()>,
    by_state: redb::Table<'txn, WordKey, ()>,
}

impl<'txn> Tables<'txn> {
    fn open(txn: &'txn redb::WriteTransaction) -> Result<Self, StoreError> {
        Ok(Tables {
            records: txn.open_table(RECORDS).map_err(dberr)?,
            headers: txn.open_table(HEADERS).map_err(dberr)?,
            changes: txn.open_table(CHANGES).map_err(dberr)?,
            known: txn.open_table(KNOWN).map_err(dberr)?,
            snapshots: txn.open_table(SNAPSHOTS).map_err(dberr)?,
            summaries: txn.open_table(SUMMARIES).map_err(dberr)?,
            heads: txn.open_table(HEADS).map_err(dberr)?,
            by_recency: txn.open_table(BY_RECENCY).map_err(dberr)?,
            by_category: txn.open_table(BY_CATEGORY).map_err(dberr)?,
            by_state: txn.open_table(BY_STATE).map_err(dberr)?,
        })
    }
}

struct ReadTables {
    headers: redb::ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    changes: redb::ReadOnlyTable<(&'static [u8; 32], u64), &'static [u8]>,
    snapshots: redb::ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
}

impl ReadTables {
    fn open(txn: &redb::ReadTransaction) -> Result<Self, StoreError> {
        Ok(ReadTables {
            headers: txn.open_table(HEADERS).map_err(dberr)?,
            changes: txn.open_table(CHANGES).map_err(dberr)?,
            snapshots: txn.open_table(SNAPSHOTS).map_err(dberr)?,
        })
    }

    fn signed_changes(&self, header: &DocHeader) -> Result<Vec<SignedChange>, StoreError> {
        let id = header.id();
        let snapshot = match self.snapshots.get(&id.0).map_err(dberr)? {
            Some(bytes) => Some(postcard::from_bytes::<Snapshot>(bytes.value()).map_err(|_| corrupt("a snapshot"))?),
            None => None,
        };
        let mut rows = Vec::new();
        for row in self.changes.range((&id.0, 0)..=(&id.0, u64::MAX)).map_err(dberr)? {
            rows.push(row.map_err(dberr)?.1.value().to_vec());
        }
        signed_changes_from(header, snapshot, rows)
    }
}

/// Rebuilds the signed changes of a document from its snapshot (changes plus
/// their kept signatures) and its uncompacted rows.
fn signed_changes_from(
    header: &DocHeader,
    snapshot: Option<Snapshot>,
    rows: Vec<Vec<u8>>,
) -> Result<Vec<SignedChange>, StoreError> {
    let id = header.id();
    let mut signed = Vec::new();
    if let Some(snapshot) = snapshot {
        let signatures: BTreeMap<[u8; 32], (DeviceId, Sig)> = snapshot
            .signatures
            .into_iter()
            .map(|(hash, device, sig)| (hash, (device, sig)))
            .collect();
        let mut document =
            Document::load(header.clone(), &snapshot.automerge).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        for change in document.changes() {
            let (signer, signature) = signatures
                .get(&change.hash().0)
                .ok_or_else(|| corrupt("a snapshot signature"))?;
            signed.push(SignedChange {
                doc: id,
                change: change.raw_bytes().to_vec(),
                signer: *signer,
                signature: *signature,
            });
        }
    }
    for row in rows {
        signed.push(SignedChange::decode(&row).map_err(|_| corrupt("a change"))?);
    }
    Ok(signed)
}

/// Groups the changes of a document listed more than once, in order, so
/// that each document is handled once per ingest.
fn merge_same_documents(docs: Vec<(DocHeader, Vec<SignedChange>)>) -> Vec<(DocHeader, Vec<SignedChange>)> {
    let mut merged: Vec<(DocHeader, Vec<SignedChange>)> = Vec::with_capacity(docs.len());
    let mut index: HashMap<DocId, usize> = HashMap::with_capacity(docs.len());
    for (header, changes) in docs {
        match index.entry(header.id()) {
            std::collections::hash_map::Entry::Occupied(at) => merged[*at.get()].1.extend(changes),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(merged.len());
                merged.push((header, changes));
            }
        }
    }
    merged
}

/// Below this many changes, handing work to other threads costs more than
/// it saves (a signature check is about 40 µs, starting a thread 20 µs).
const PARALLEL_FROM: usize = 64;
/// Ingest runs on one of the node's blocking threads; this bounds how many
/// more it borrows for a large batch.
const MAX_THREADS: usize = 4;

/// `work` over `items`, results in the same order, on up to as many threads
/// as there are cores (at most [`MAX_THREADS`]) once the items' total
/// `weight` reaches [`PARALLEL_FROM`]. Items are cut into contiguous runs of
/// about equal weight, one per thread.
fn parallel_map<T: Send, R: Send>(items: Vec<T>, weight: impl Fn(&T) -> usize, work: impl Fn(T) -> R + Sync) -> Vec<R> {
    let total: usize = items.iter().map(&weight).sum();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS);
    if threads < 2 || total < PARALLEL_FROM {
        return items.into_iter().map(work).collect();
    }
    let share = total.div_ceil(threads);
    let mut runs: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut run = Vec::new();
    let mut run_weight = 0;
    for item in items {
        run_weight += weight(&item);
        run.push(item);
        if run_weight >= share {
            runs.push(std::mem::take(&mut run));
            run_weight = 0;
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    // Each run sits in a slot its thread empties; a run whose thread could
    // not start is done here instead.
    let slots: Vec<std::sync::Mutex<Option<Vec<T>>>> =
        runs.into_iter().map(|run| std::sync::Mutex::new(Some(run))).collect();
    let take = |slot: &std::sync::Mutex<Option<Vec<T>>>| {
        slot.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .unwrap_or_default()
    };
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = slots[1..]
            .iter()
            .map(|slot| {
                std::thread::Builder::new()
                    .name("maillage-ingest".into())
                    .spawn_scoped(scope, move || take(slot).into_iter().map(work).collect::<Vec<R>>())
                    .ok()
            })
            .collect();
        let mut results: Vec<R> = take(&slots[0]).into_iter().map(work).collect();
        for (handle, slot) in handles.into_iter().zip(&slots[1..]) {
            let part = match handle.map(|handle| handle.join()) {
                Some(Ok(part)) => part,
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                None => take(slot).into_iter().map(work).collect(),
            };
            results.extend(part);
        }
        results
    })
}

/// New documents per unit of work [`build_then_write`] hands out: enough to
/// make taking one cheap, few enough that the writer rarely waits.
const BUILD_CHUNK: usize = 32;

/// Built chunks waiting for the writer, by chunk index; a chunk whose
/// builder panicked holds the panic, resumed on the writer's thread.
type BuiltChunks<R> = std::sync::Mutex<Vec<Option<std::thread::Result<Vec<R>>>>>;

/// `build` over `items` on up to as many threads as there are cores (at most
/// [`MAX_THREADS`]), and `write` over the results on the calling thread, in
/// the order of `items`, while the other threads are still building.
///
/// Writing into the transaction is serial (a tenth of a new document's cost);
/// done after every build, as [`parallel_map`] would, it left the other
/// cores idle. Here the calling thread writes whatever chunk is next in
/// order as soon as it is built, and builds a chunk itself when the next one
/// is not ready. The first error from `write` stops the building.
fn build_then_write<T: Send, R: Send>(
    items: Vec<T>,
    build: impl Fn(T) -> R + Sync,
    mut write: impl FnMut(R) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS);
    if threads < 2 || items.len() < PARALLEL_FROM {
        return items.into_iter().map(build).try_for_each(write);
    }
    let mut chunks: Vec<Vec<T>> = Vec::with_capacity(items.len().div_ceil(BUILD_CHUNK));
    let mut items = items.into_iter();
    loop {
        let chunk: Vec<T> = items.by_ref().take(BUILD_CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        chunks.push(chunk);
    }
    let count = chunks.len();
    let inputs: Vec<std::sync::Mutex<Option<Vec<T>>>> = chunks
        .into_iter()
        .map(|chunk| std::sync::Mutex::new(Some(chunk)))
        .collect();
    let built: BuiltChunks<R> = std::sync::Mutex::new((0..count).map(|_| None).collect());
    let ready = std::sync::Condvar::new();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let lock = || built.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Takes the next chunk nobody has taken and builds it; false when none is left.
    let build_next = || {
        let index = next.fetch_add(1, Ordering::Relaxed);
        if index >= count || stop.load(Ordering::Relaxed) {
            return false;
        }
        let input = inputs[index]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .unwrap_or_default();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            input.into_iter().map(&build).collect::<Vec<R>>()
        }));
        lock()[index] = Some(result);
        ready.notify_all();
        true
    };
    let build_next = &build_next;
    std::thread::scope(|scope| {
        for _ in 1..threads {
            // A thread that cannot start leaves its share to the others.
            let _ = std::thread::Builder::new()
                .name("maillage-ingest".into())
                .spawn_scoped(scope, move || while build_next() {});
        }
        let mut outcome = Ok(());
        for index in 0..count {
            let chunk = loop {
                if let Some(done) = lock()[index].take() {
                    break done;
                }
                if build_next() {
                    continue;
                }
                // Every chunk is taken: wait for this one's builder.
                let mut guard = lock();
                while guard[index].is_none() {
                    guard = ready.wait(guard).unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            };
            let chunk = chunk.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            outcome = chunk.into_iter().try_for_each(&mut write);
            if outcome.is_err() {
                stop.store(true, Ordering::Relaxed);
                break;
            }
        }
        outcome
    })
}

/// A document this store did not hold, built from its changes alone, with
/// everything its rows need already encoded; [`NewDocument::write`] then
/// only inserts them.
struct NewDocument {
    header: DocHeader,
    id: DocId,
    rejected: Vec<(DocId, ChangeRejected)>,
    duplicates: usize,
    /// The accepted changes' hashes and `changes-1` rows, in order.
    rows: Vec<(ChangeHash, Vec<u8>)>,
    /// `Some` when the document holds [`COMPACT_AFTER`] changes or more: its
    /// `snapshots-1` value, written instead of the rows.
    snapshot: Option<Vec<u8>>,
    summary: Option<(Summary, Vec<u8>)>,
    heads: Vec<u8>,
}

impl NewDocument {
    /// What [`Store::ingest_doc`] does for a document with nothing stored:
    /// verify each change, drop repeats, check size and dependencies, apply.
    fn build(
        header: DocHeader,
        changes: Vec<SignedChange>,
        verifier: &Verifier<'_>,
    ) -> Result<NewDocument, StoreError> {
        let id = header.id();
        let mut document = Document::new(header.clone());
        let (mut rejected, mut duplicates, mut rows) = (Vec::new(), 0, Vec::new());
        let mut signatures = Vec::new();
        let mut size = 0;
        let mut latest_change_secs = None;
        let mut accepted = HashSet::new();
        let checked = CheckedHeader::new(&header);
        for signed in changes {
            let verified = match verifier.verify(&signed, &checked) {
                Ok(verified) => verified,
                Err(why) => {
                    rejected.push((signed.doc, why));
                    continue;
                }
            };
            let hash = verified.change.hash();
            if accepted.contains(&hash) {
                duplicates += 1;
                continue;
            }
            if size + signed.change.len() > MAX_DOCUMENT_BYTES {
                let size = size + signed.change.len();
                rejected.push((id, ChangeRejected::TooLarge { size }));
                continue;
            }
            if let Err(why) = check_applicable(&document, &header, &verified) {
                rejected.push((id, why));
                continue;
            }
            let VerifiedChange { change, signed, .. } = verified;
            latest_change_secs = latest_change_secs.max(Some(change.timestamp()));
            document
                .apply(vec![change])
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            size += signed.change.len();
            accepted.insert(hash);
            signatures.push((hash.0, signed.signer, signed.signature));
            rows.push((hash, signed.encode()));
        }
        let mut built = NewDocument {
            header,
            id,
            rejected,
            duplicates,
            rows,
            snapshot: None,
            summary: None,
            heads: Vec::new(),
        };
        let Some(latest_change_secs) = latest_change_secs else {
            return Ok(built);
        };
        let summary = Summary::with_latest_change(&mut document, latest_change_secs);
        let encoded = postcard::to_stdvec(&summary).unwrap_or_default();
        built.summary = Some((summary, encoded));
        built.heads = heads_value(&mut document);
        if built.rows.len() as u64 >= COMPACT_AFTER {
            let snapshot = Snapshot {
                automerge: document.save(),
                signatures,
            };
            built.snapshot = Some(postcard::to_stdvec(&snapshot).unwrap_or_default());
        }
        Ok(built)
    }

    fn write(self, tables: &mut Tables<'_>, report: &mut ApplyReport) -> Result<(), StoreError> {
        report.rejected.extend(self.rejected);
        report.duplicates += self.duplicates;
        let Some((summary, encoded)) = &self.summary else {
            return Ok(());
        };
        let id = &self.id.0;
        tables
            .headers
            .insert(id, self.header.encode().as_slice())
            .map_err(dberr)?;
        match &self.snapshot {
            Some(snapshot) => {
                tables.snapshots.insert(id, snapshot.as_slice()).map_err(dberr)?;
                for (hash, _) in &self.rows {
                    tables.known.insert((id, &hash.0), 0).map_err(dberr)?;
                }
            }
            None => {
                for (seq, (hash, row)) in (1..).zip(&self.rows) {
                    tables.changes.insert((id, seq), row.as_slice()).map_err(dberr)?;
                    tables.known.insert((id, &hash.0), seq).map_err(dberr)?;
                }
            }
        }
        report.applied += self.rows.len();
        write_summary(tables, &self.header, summary, encoded, &self.heads)?;
        report.touched.insert(self.id);
        Ok(())
    }
}

/// Writes a document's summary, index entries and heads (any previous
/// summary's index entries already removed).
fn write_summary(
    tables: &mut Tables<'_>,
    header: &DocHeader,
    summary: &Summary,
    encoded: &[u8],
    heads: &[u8],
) -> Result<(), StoreError> {
    tables.summaries.insert(&summary.id.0, encoded).map_err(dberr)?;
    tables
        .heads
        .insert((&community_key(header), &summary.id.0), heads)
        .map_err(dberr)?;
    add_index_entries(tables, summary)
}

/// A `heads-1` value: the document's heads, sorted, 32 bytes each.
fn heads_value(document: &mut Document) -> Vec<u8> {
    let mut heads = document.heads();
    heads.sort_unstable();
    heads.iter().flat_map(|head| head.0).collect()
}

fn read_header(
    headers: &redb::Table<'_, &'static [u8; 32], &'static [u8]>,
    id: &DocId,
) -> Result<DocHeader, StoreError> {
    let bytes = headers
        .get(&id.0)
        .map_err(dberr)?
        .ok_or_else(|| corrupt("a missing header"))?;
    DocHeader::decode(bytes.value()).ok_or_else(|| corrupt("a header"))
}

fn all_signed_changes(tables: &Tables<'_>, header: &DocHeader) -> Result<Vec<SignedChange>, StoreError> {
    let id = header.id();
    let snapshot = match tables.snapshots.get(&id.0).map_err(dberr)? {
        Some(bytes) => Some(postcard::from_bytes::<Snapshot>(bytes.value()).map_err(|_| corrupt("a snapshot"))?),
        None => None,
    };
    let mut rows = Vec::new();
    for row in tables.changes.range((&id.0, 0)..=(&id.0, u64::MAX)).map_err(dberr)? {
        rows.push(row.map_err(dberr)?.1.value().to_vec());
    }
    signed_changes_from(header, snapshot, rows)
}

fn load_document(tables: &Tables<'_>, header: &DocHeader) -> Result<Document, StoreError> {
    let id = header.id();
    let mut document = match tables.snapshots.get(&id.0).map_err(dberr)? {
        Some(bytes) => {
            let snapshot: Snapshot = postcard::from_bytes(bytes.value()).map_err(|_| corrupt("a snapshot"))?;
            Document::load(header.clone(), &snapshot.automerge).map_err(|e| StoreError::Corrupt(e.to_string()))?
        }
        None => Document::new(header.clone()),
    };
    let mut pending = Vec::new();
    for row in tables.changes.range((&id.0, 0)..=(&id.0, u64::MAX)).map_err(dberr)? {
        let signed = SignedChange::decode(row.map_err(dberr)?.1.value()).map_err(|_| corrupt("a change"))?;
        pending.push(Change::from_bytes(signed.change).map_err(|_| corrupt("a change"))?);
    }
    document
        .apply(pending)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(document)
}

fn last_seq(tables: &Tables<'_>, id: &DocId) -> Result<u64, StoreError> {
    let last = tables
        .changes
        .range((&id.0, 0)..=(&id.0, u64::MAX))
        .map_err(dberr)?
        .next_back();
    match last {
        Some(row) => Ok(row.map_err(dberr)?.0.value().1),
        None => Ok(0),
    }
}

fn document_size(tables: &Tables<'_>, id: &DocId) -> Result<usize, StoreError> {
    let mut size = match tables.snapshots.get(&id.0).map_err(dberr)? {
        Some(bytes) => bytes.value().len(),
        None => 0,
    };
    for row in tables.changes.range((&id.0, 0)..=(&id.0, u64::MAX)).map_err(dberr)? {
        size += row.map_err(dberr)?.1.value().len();
    }
    Ok(size)
}

/// Folds a document's change rows into its snapshot.
fn compact(tables: &mut Tables<'_>, document: &mut Document) -> Result<(), StoreError> {
    let id = document.id();
    let header = document.header().clone();
    let signed = all_signed_changes(tables, &header)?;
    let signatures = signed
        .iter()
        .map(|s| {
            let hash: ChangeHash = Change::from_bytes(s.change.clone())
                .map_err(|_| corrupt("a change"))?
                .hash();
            Ok((hash.0, s.signer, s.signature))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let snapshot = Snapshot {
        automerge: document.save(),
        signatures,
    };
    tables
        .snapshots
        .insert(&id.0, postcard::to_stdvec(&snapshot).unwrap_or_default().as_slice())
        .map_err(dberr)?;
    tables
        .changes
        .retain_in((&id.0, 0)..=(&id.0, u64::MAX), |_, _| false)
        .map_err(dberr)?;
    for (hash, _, _) in &snapshot.signatures {
        tables.known.insert((&id.0, hash), 0).map_err(dberr)?;
    }
    Ok(())
}

fn clear_document(tables: &mut Tables<'_>, header: &DocHeader) -> Result<(), StoreError> {
    let id = &header.id();
    tables.heads.remove((&community_key(header), &id.0)).map_err(dberr)?;
    tables
        .changes
        .retain_in((&id.0, 0)..=(&id.0, u64::MAX), |_, _| false)
        .map_err(dberr)?;
    tables
        .known
        .retain_in((&id.0, &[0; 32])..=(&id.0, &[255; 32]), |_, _| false)
        .map_err(dberr)?;
    tables.snapshots.remove(&id.0).map_err(dberr)?;
    if let Some(old) = stored_summary(tables, id)? {
        remove_index_entries(tables, &old)?;
        tables.summaries.remove(&id.0).map_err(dberr)?;
    }
    Ok(())
}

/// What a verified change still needs before it is applied: its
/// dependencies already applied (automerge would otherwise queue it out of
/// sight, and a later snapshot would silently drop it), and for an exchange
/// the causal check of its marks.
fn check_applicable(document: &Document, header: &DocHeader, verified: &VerifiedChange) -> Result<(), ChangeRejected> {
    if header.kind == DocKind::Exchange {
        return exchange::check_causal(document, &verified.change, &verified.household);
    }
    let missing = verified
        .change
        .deps()
        .iter()
        .any(|dep| document.automerge().get_change_by_hash(dep).is_none());
    if missing {
        Err(ChangeRejected::MissingDependencies)
    } else {
        Ok(())
    }
}

fn stored_summary(tables: &Tables<'_>, id: &DocId) -> Result<Option<Summary>, StoreError> {
    let Some(bytes) = tables.summaries.get(&id.0).map_err(dberr)? else {
        return Ok(None);
    };
    Ok(Some(
        postcard::from_bytes(bytes.value()).map_err(|_| corrupt("a summary"))?,
    ))
}

/// The first half of a `heads-1` key: the document's community, zeros for a profile.
fn community_key(header: &DocHeader) -> [u8; 32] {
    header.community.map_or(NO_COMMUNITY, |c| c.0)
}

/// Decodes a `heads-1` value.
fn decode_heads(bytes: &[u8]) -> Result<Vec<ChangeHash>, StoreError> {
    let chunks = bytes.chunks_exact(32);
    if !chunks.remainder().is_empty() {
        return Err(corrupt("document heads"));
    }
    Ok(chunks
        .map(|chunk| {
            let mut hash = [0; 32];
            hash.copy_from_slice(chunk);
            ChangeHash(hash)
        })
        .collect())
}

fn index_keys(summary: &Summary) -> (u8, [u8; 32], u64) {
    (
        summary.kind.code(),
        summary.community.map_or(NO_COMMUNITY, |c| c.0),
        u64::MAX - summary.updated_at.max(0) as u64,
    )
}

fn add_index_entries(tables: &mut Tables<'_>, summary: &Summary) -> Result<(), StoreError> {
    let (kind, community, recency) = index_keys(summary);
    let id = &summary.id.0;
    tables
        .by_recency
        .insert((kind, &community, recency, id), ())
        .map_err(dberr)?;
    tables
        .by_category
        .insert((kind, &community, summary.category.as_str(), recency, id), ())
        .map_err(dberr)?;
    tables
        .by_state
        .insert((kind, &community, summary.state.as_str(), recency, id), ())
        .map_err(dberr)?;
    Ok(())
}

fn remove_index_entries(tables: &mut Tables<'_>, summary: &Summary) -> Result<(), StoreError> {
    let (kind, community, recency) = index_keys(summary);
    let id = &summary.id.0;
    tables
        .by_recency
        .remove((kind, &community, recency, id))
        .map_err(dberr)?;
    tables
        .by_category
        .remove((kind, &community, summary.category.as_str(), recency, id))
        .map_err(dberr)?;
    tables
        .by_state
        .remove((kind, &community, summary.state.as_str(), recency, id))
        .map_err(dberr)?;
    Ok(())
}
