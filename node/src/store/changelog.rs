//! `changelog-1`: what each ingest changed, in order, for the local API's
//! event stream (`GET /v1/events?since=N`). Written in the ingest's own
//! transaction, so an entry exists exactly when its change does, and it
//! survives a restart: a program resumes from the last number it saw.
//!
//! Only the last [`KEEP`] entries are kept; a reader further behind is told
//! to read everything again rather than handed a log with a hole in it.

use maillage_crdt::{DocId, DocKind, Record, RecordId};
use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::{StoreError, corrupt, dberr};

/// Key: sequence number, from 1. Value: postcard [`Subject`].
pub(super) const CHANGELOG: TableDefinition<u64, &[u8]> = TableDefinition::new("changelog-1");

/// How many entries are kept: a village's node takes in far fewer changes
/// between two visits of a program that follows it.
pub const KEEP: u64 = 100_000;

/// What changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subject {
    Document { id: DocId, kind: DocKind },
    Record { id: RecordId, kind: String },
}

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub seq: u64,
    pub subject: Subject,
}

/// The kind of a record, as the event stream names it.
pub fn record_kind(record: &Record) -> &'static str {
    match record {
        Record::DeviceCert(_) => "device",
        Record::DeviceRevocation(_) => "revocation",
        Record::Genesis(_) => "community",
        Record::Invite(_) => "invitation",
        Record::Join(_) => "join",
        Record::Removal(_) => "removal",
    }
}

/// Appends `subjects` to the log inside `txn`, and forgets what is older
/// than the last [`KEEP`] entries.
pub(super) fn append(txn: &redb::WriteTransaction, subjects: Vec<Subject>) -> Result<(), StoreError> {
    if subjects.is_empty() {
        return Ok(());
    }
    let mut log = txn.open_table(CHANGELOG).map_err(dberr)?;
    let mut next = log.last().map_err(dberr)?.map_or(1, |(seq, _)| seq.value() + 1);
    for subject in subjects {
        let bytes = postcard::to_stdvec(&subject).map_err(|_| corrupt("a changelog entry"))?;
        log.insert(next, bytes.as_slice()).map_err(dberr)?;
        next += 1;
    }
    // Each append removes as many old entries as it adds, once the log is full.
    loop {
        let oldest = log.first().map_err(dberr)?.map(|(seq, _)| seq.value());
        match oldest {
            Some(seq) if seq + KEEP < next => {
                log.remove(seq).map_err(dberr)?;
            }
            _ => break,
        }
    }
    Ok(())
}

/// At most `max` entries after `since`, and whether the reader must read
/// everything again: entries after `since` are no longer kept, or `since`
/// is past the end of this log (a home restored from a backup, or made
/// anew, numbers from 1 again).
pub(super) fn since(db: &super::db::Db, since: u64, max: usize) -> Result<(Vec<Logged>, bool), StoreError> {
    let read = db.begin_read().map_err(dberr)?;
    let log = read.open_table(CHANGELOG).map_err(dberr)?;
    let oldest = log.first().map_err(dberr)?.map(|(seq, _)| seq.value());
    let newest = log.last().map_err(dberr)?.map_or(0, |(seq, _)| seq.value());
    let reset = since > newest || oldest.is_some_and(|oldest| since.saturating_add(1) < oldest);
    if reset {
        return Ok((Vec::new(), true));
    }
    let mut found = Vec::new();
    for row in log.range(since.saturating_add(1)..).map_err(dberr)?.take(max) {
        let (seq, bytes) = row.map_err(dberr)?;
        let subject = postcard::from_bytes(bytes.value()).map_err(|_| corrupt("a changelog entry"))?;
        found.push(Logged {
            seq: seq.value(),
            subject,
        });
    }
    Ok((found, reset))
}
