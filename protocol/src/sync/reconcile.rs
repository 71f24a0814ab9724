//! Items and set reconciliation: one 32-byte item per document state, and
//! the negentropy instance that compares two sets of them.

use std::collections::HashMap;

use automerge::ChangeHash;
use maillage_crdt::DocId;
use maillage_crdt::ids::tagged_hash;
use negentropy::{Id, Negentropy, NegentropyStorageVector};

use super::{Error, Hash, MAX_RECONCILE_BYTES};

/// Every item has this negentropy timestamp (see the module docs: no shared
/// clock is needed, and hash order is what negentropy's buckets expect).
const ITEM_TIMESTAMP: u64 = 0;

/// The item id of a document in a given state: equal on two nodes exactly
/// when they hold the same document with the same heads.
pub fn item_id(doc: &DocId, heads: &[ChangeHash]) -> Hash {
    let mut sorted: Vec<&ChangeHash> = heads.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut parts: Vec<&[u8]> = Vec::with_capacity(1 + sorted.len());
    parts.push(&doc.0);
    parts.extend(sorted.iter().map(|head| &head.0[..]));
    tagged_hash("maillage/sync-item/1", &parts)
}

/// A digest of a whole set of item ids (order and duplicates do not matter).
pub fn set_digest<'a>(item_ids: impl IntoIterator<Item = &'a Hash>) -> Hash {
    let mut sorted: Vec<&Hash> = item_ids.into_iter().collect();
    sorted.sort();
    sorted.dedup();
    let parts: Vec<&[u8]> = sorted.iter().map(|id| &id[..]).collect();
    tagged_hash("maillage/sync-set/1", &parts)
}

/// This side's items for one session, fixed when the session starts.
#[derive(Debug)]
pub(crate) struct ItemSet {
    by_item: HashMap<Hash, (DocId, Vec<ChangeHash>)>,
    by_doc: HashMap<DocId, Hash>,
    digest: Hash,
}

impl ItemSet {
    pub(crate) fn new(items: Vec<(DocId, Vec<ChangeHash>)>) -> Self {
        let mut by_item = HashMap::with_capacity(items.len());
        let mut by_doc = HashMap::with_capacity(items.len());
        for (doc, heads) in items {
            let item = item_id(&doc, &heads);
            // A source listing a document twice: keep its last state.
            if let Some(previous) = by_doc.insert(doc, item) {
                by_item.remove(&previous);
            }
            by_item.insert(item, (doc, heads));
        }
        let digest = set_digest(by_item.keys());
        ItemSet {
            by_item,
            by_doc,
            digest,
        }
    }

    pub(crate) fn digest(&self) -> Hash {
        self.digest
    }

    pub(crate) fn get(&self, item: &Hash) -> Option<&(DocId, Vec<ChangeHash>)> {
        self.by_item.get(item)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_doc.is_empty()
    }

    /// Every document, in id order.
    pub(crate) fn docs(&self) -> Vec<DocId> {
        let mut docs: Vec<DocId> = self.by_doc.keys().copied().collect();
        docs.sort_unstable();
        docs
    }

    pub(crate) fn contains_doc(&self, doc: &DocId) -> bool {
        self.by_doc.contains_key(doc)
    }

    /// A negentropy instance over these items, limited to
    /// [`MAX_RECONCILE_BYTES`] per message.
    pub(crate) fn negentropy(&self) -> Result<Negentropy<'static, NegentropyStorageVector>, Error> {
        let mut storage = NegentropyStorageVector::with_capacity(self.by_item.len());
        for item in self.by_item.keys() {
            storage
                .insert(ITEM_TIMESTAMP, Id::from_byte_array(*item))
                .map_err(reconcile_error)?;
        }
        storage.seal().map_err(reconcile_error)?;
        Negentropy::owned(storage, MAX_RECONCILE_BYTES as u64).map_err(reconcile_error)
    }
}

pub(crate) fn reconcile_error(error: negentropy::Error) -> Error {
    Error::Reconcile(error.to_string())
}

/// Refuses a payload of another negentropy version up front: negentropy's
/// responder would answer it with an empty message, which reads as
/// "nothing differs" and would end the session having synced nothing.
pub(crate) fn check_payload_version(payload: &[u8]) -> Result<(), Error> {
    match payload.first() {
        Some(&version) if u64::from(version) == negentropy::PROTOCOL_VERSION => Ok(()),
        Some(&version) => Err(Error::Reconcile(format!("unsupported negentropy version {version:#x}"))),
        None => Err(Error::Reconcile("an empty negentropy message".into())),
    }
}
