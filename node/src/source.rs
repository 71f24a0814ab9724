//! The store as the sync protocol sees it: [`DocSource`] for [`Store`].
//!
//! A session lists the documents it covers once ([`DocSource::items`]), then
//! asks about the few that differ. Every answer comes from tables kept for
//! this purpose, so a session between two nodes that agree loads no automerge
//! document at all:
//!
//! - `items`: one range of `heads-1` (the community's documents, all kinds)
//!   and one lookup per member and former member (their profiles, which
//!   belong to no community and travel with every community their household
//!   is in);
//! - `heads`: `headers-1` then `heads-1`; `has_changes`: `known-1`;
//! - `whole_documents` (a new member's transfer): one read for a batch of
//!   documents, each sent as stored (loaded only if it was compacted);
//! - `changes_since`: the one call that loads a document, once, to let
//!   automerge pick the changes the peer lacks; their signatures come back
//!   from the snapshot's list or the change rows. A peer that lacks the
//!   whole document (a new member) gets its rows as stored, without loading
//!   it, unless it was compacted.
//!
//! What a session receives is not checked here: the node hands
//! [`maillage_protocol::sync::Step::received`] to [`Store::ingest`], which
//! verifies every change like any other.

use automerge::ChangeHash;
use maillage_crdt::{CommunityId, DocHeader, DocId, SignedChange};
use maillage_protocol::sync::{DocSource, SourceError, WholeDocument};

use crate::store::Store;

impl DocSource for Store {
    fn items(&self, community: &CommunityId) -> Result<Vec<(DocId, Vec<ChangeHash>)>, SourceError> {
        Ok(self.sync_items(community)?)
    }

    fn header(&self, doc: &DocId) -> Result<Option<DocHeader>, SourceError> {
        Ok(Store::header(self, doc)?)
    }

    fn heads(&self, doc: &DocId) -> Result<Vec<ChangeHash>, SourceError> {
        Ok(Store::heads(self, doc)?)
    }

    fn has_changes(&self, doc: &DocId, hashes: &[ChangeHash]) -> Result<bool, SourceError> {
        Ok(Store::has_changes(self, doc, hashes)?)
    }

    fn changes_since(&self, doc: &DocId, their_heads: &[ChangeHash]) -> Result<Vec<SignedChange>, SourceError> {
        Ok(Store::changes_since(self, doc, their_heads)?)
    }

    fn whole_documents(&self, docs: &[DocId], max_bytes: usize) -> Result<Vec<WholeDocument>, SourceError> {
        Ok(Store::whole_documents(self, docs, max_bytes)?)
    }
}
