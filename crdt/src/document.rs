//! A document: its header and its automerge state.

use automerge::{ActorId, AutoCommit, Change, ChangeHash, transaction::CommitOptions};
use autosurgeon::{Hydrate, Reconcile};

use crate::change::SignedChange;
use crate::header::DocHeader;
use crate::ids::DocId;
use crate::sign::SecretKey;

/// The largest document (sum of its changes) a node keeps. Items are a few
/// kilobytes; this bounds what one household can make every node store.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocError {
    #[error("the document data is corrupt: {0}")]
    Corrupt(String),
    #[error("the document does not hold a valid {kind}: {reason}")]
    Shape { kind: &'static str, reason: String },
    #[error("writing the document failed: {0}")]
    Write(String),
}

/// Who is writing, and when. A fresh actor id per session keeps two replicas
/// of the same device key from ever reusing an automerge sequence number.
#[derive(Debug)]
pub struct Writer<'a> {
    pub device: &'a SecretKey,
    pub actor: ActorId,
    pub now_ms: i64,
}

/// A document's header and current automerge state.
#[derive(Debug)]
pub struct Document {
    header: DocHeader,
    id: DocId,
    doc: AutoCommit,
}

impl Document {
    pub fn new(header: DocHeader) -> Self {
        let id = header.id();
        Document {
            header,
            id,
            doc: AutoCommit::new(),
        }
    }

    /// Restores a document from an automerge `save()` snapshot.
    pub fn load(header: DocHeader, snapshot: &[u8]) -> Result<Self, DocError> {
        let id = header.id();
        let doc = AutoCommit::load(snapshot).map_err(|e| DocError::Corrupt(e.to_string()))?;
        Ok(Document { header, id, doc })
    }

    pub fn id(&self) -> DocId {
        self.id
    }

    pub fn header(&self) -> &DocHeader {
        &self.header
    }

    /// Applies changes that already passed [`crate::verify_change`]. Changes
    /// whose dependencies are missing wait inside automerge until they come.
    pub fn apply(&mut self, changes: Vec<Change>) -> Result<(), DocError> {
        self.doc
            .apply_changes(changes)
            .map_err(|e| DocError::Corrupt(e.to_string()))
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// All changes, in an order that respects dependencies.
    pub fn changes(&mut self) -> Vec<Change> {
        self.doc.get_changes(&[])
    }

    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// True when no change has been applied yet.
    pub fn is_empty(&mut self) -> bool {
        self.doc.get_heads().is_empty()
    }

    pub fn automerge(&self) -> &AutoCommit {
        &self.doc
    }

    /// Reads the document's body as `T`.
    pub fn read<T: Hydrate>(&self) -> Result<T, DocError> {
        autosurgeon::hydrate(&self.doc).map_err(|e| DocError::Shape {
            kind: self.header.kind.as_str(),
            reason: e.to_string(),
        })
    }

    /// Writes `body` over the document (only the fields that differ become
    /// operations) and returns the signed change, or `None` if nothing changed.
    pub fn write<T: Reconcile>(&mut self, body: &T, writer: &Writer<'_>) -> Result<Option<SignedChange>, DocError> {
        self.edit(writer, |doc| {
            autosurgeon::reconcile(doc, body).map_err(|e| DocError::Write(e.to_string()))
        })
    }

    /// Runs `edit` on the automerge document and signs the resulting change.
    pub fn edit<F>(&mut self, writer: &Writer<'_>, edit: F) -> Result<Option<SignedChange>, DocError>
    where
        F: FnOnce(&mut AutoCommit) -> Result<(), DocError>,
    {
        self.doc.set_actor(writer.actor.clone());
        if let Err(error) = edit(&mut self.doc) {
            self.doc.rollback();
            return Err(error);
        }
        let options = CommitOptions::default().with_time(writer.now_ms.div_euclid(1000));
        let Some(hash) = self.doc.commit_with(options) else {
            return Ok(None);
        };
        let change = self
            .doc
            .get_change_by_hash(&hash)
            .ok_or_else(|| DocError::Write("the committed change is missing".into()))?;
        Ok(Some(SignedChange::sign(self.id, &change, writer.device)))
    }
}
