//! The sync protocol (`/maillage/sync/3`): how two nodes bring one
//! community's documents to the same state, sans I/O.
//!
//! # What and why
//!
//! A node holds documents ([`DocId`]), each a header and a set of
//! [`SignedChange`]s. When two members of a community meet, they must find
//! the documents on which they differ and exchange exactly the changes the
//! other lacks, at a cost that follows the number of differences `d`, not the
//! number of documents `N` (a village reconnects often, and usually little
//! has changed).
//!
//! 1. **Reconcile.** Each side turns every document into one *item*,
//!    `tagged_hash("maillage/sync-item/1", doc id ‖ sorted heads)`, and the
//!    two sides run range-based set reconciliation ([negentropy]) over those
//!    items. The first message also carries a digest of the whole item set,
//!    so two nodes that already agree finish in one round trip (about
//!    400 bytes, whatever N). Every item gets timestamp 0: a coarse time would need a
//!    clock both sides agree on for the same state, and times in changes are
//!    the signer's claim; with 0 the items are ordered by their (uniform)
//!    hash, which is what negentropy's bucketing assumes anyway.
//! 2. **Transfer.** The initiator learns which of its items the responder
//!    lacks (`have`) and which of the responder's it lacks (`need`). It
//!    *offers* its heads for each `have` document and *wants* each `need`
//!    item; only the responder can map its own item ids back to documents.
//!    For each document, whoever can tell exactly what the other lacks sends
//!    it; a side that sees heads it does not know asks the other to go first
//!    ([`DocPart::send_yours`]) and then answers exactly, using the
//!    dependencies of what it received. Changes go out as our signed
//!    envelopes, many documents per message.
//! 3. **A new member** (an initiator holding nothing of the community) says
//!    so in its [`Open`]; the responder then skips reconciliation and sends
//!    every document at once: no item ids travel, one round trip per 4 MiB.
//!
//! Frames holding more than a few hundred bytes are compressed with zstd
//! (automerge changes travel in their canonical, uncompressed form, and a
//! batch of them compresses about 3.4 times); the inflated message is
//! bounded like the frame ([`MAX_MESSAGE_BYTES`]), so a decompression bomb
//! is refused before it costs memory. What the receiver can derive is left
//! out: a document's id when its header travels, each change's document id.
//!
//! The protocol never verifies signatures or authorship: every received
//! change is handed to the node ([`Step::received`]), whose store passes it
//! through `maillage_crdt::verify_change` like any other change.
//!
//! # Message flow
//!
//! Strictly alternating, so it maps onto a request-response transport: the
//! initiator sends [`Message::Open`] then [`Message::Request`]s, the responder
//! answers each with one [`Message::Response`]; the responder says when both
//! sides are done.
//!
//! ```text
//! initiator (I)                                          responder (R)
//!   Open { community, set digest, negentropy,
//!          empty (I holds nothing) }            ───────►  digest equal? → Response { done }
//!                                                         empty? → Response { parts: everything }
//!                                               ◄───────  Response { negentropy }
//!   Request { negentropy }                      ───────►  (about log16(N) round trips,
//!                                               ◄───────   each carrying O(d) ids/fingerprints)
//!   Request { offers: heads of I's `have` docs,
//!             wants: R's `need` item ids }      ───────►
//!                                               ◄───────  Response { parts: changes I lacks,
//!                                                           headers of new docs,
//!                                                           "send yours" for docs where R
//!                                                           saw heads it does not know }
//!   Request { parts: changes R lacks }          ───────►
//!                                               ◄───────  Response { parts: the exact rest, done }
//! ```
//!
//! Large transfers are split across messages ([`MAX_FRAME_BYTES`],
//! [`MAX_CHANGES_PER_MESSAGE`]); the initiator keeps sending (possibly empty)
//! requests while the responder has not said `done`.
//!
//! # Use
//!
//! The node implements [`DocSource`] over its store, and for each peer and
//! community drives one [`Session`]: [`Session::initiate`] (or
//! [`Session::respond`] after reading the community with
//! [`opening_community`] and checking the peer's membership), then
//! [`Session::handle`] for every frame that arrives. Each [`Step`] holds the
//! frame to send and the documents to verify and store *before* the next
//! call. Every frame is checked for size and version before it is decoded;
//! anything wrong ends the session with an [`Error`], never a panic.
//!
//! [negentropy]: https://github.com/hoytech/negentropy

mod message;
mod reconcile;
mod session;

#[cfg(test)]
mod tests;

use automerge::ChangeHash;
use maillage_crdt::{CommunityId, DocHeader, DocId, SignedChange};
use serde::{Deserialize, Serialize};

pub use message::{DocPart, Hash, Message, Offer, Open, Request, Response, opening_community};
pub use reconcile::{item_id, set_digest};
pub use session::{Role, Session, Step, SyncStats};

/// The libp2p protocol id. Anything incompatible on the stream gets a new
/// id, so old and new nodes refuse each other cleanly at negotiation; a
/// change to the frames themselves also gets a new [`WIRE_VERSION`].
/// Version 2 compresses frames and leaves derivable ids out of them;
/// version 3 says why a session is refused ([`Refusal`]), frames unchanged.
pub const PROTOCOL: &str = "/maillage/sync/3";

/// The first byte of every frame. A frame with another byte is refused with
/// [`Error::UnsupportedVersion`] before anything else is read.
pub const WIRE_VERSION: u8 = 2;

/// The largest frame sent or accepted (4 MiB): room for a few thousand
/// changes, small enough that a hostile peer cannot make us hold much.
pub const MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// The largest message once inflated (a compressed frame's content): the
/// same 4 MiB, so the frame limit bounds what a message can make us hold
/// whether or not it came compressed.
pub const MAX_MESSAGE_BYTES: usize = MAX_FRAME_BYTES;

/// The largest negentropy payload in one message (negentropy's own frame
/// limit, which it honours by splitting reconciliation over more rounds).
/// 256 KiB is about 8,000 item ids.
pub const MAX_RECONCILE_BYTES: usize = 256 * 1024;

/// The most changes one message may carry. Each costs the receiver a
/// signature check (about 40 µs); this keeps one message under a second.
pub const MAX_CHANGES_PER_MESSAGE: usize = 4096;

/// The most heads one document may announce. Documents have one writer (two
/// for an exchange) and a few devices each; more heads than this is an attack.
pub const MAX_HEADS: usize = 1024;

/// The most distinct documents one session may offer, want or transfer.
/// A village has thousands; a larger difference is refused rather than held.
pub const MAX_DOCS_PER_SESSION: usize = 100_000;

/// The most messages one side handles in a session. Reconciliation takes
/// about log16(N) round trips and transfer three, plus one per 4 MiB of
/// changes; a session past this is stuck or hostile.
pub const MAX_ROUNDS: u32 = 512;

/// An error from the node's [`DocSource`] (its store), carried through.
pub type SourceError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What the protocol needs from the node's store. Synchronous and read-only:
/// received changes come back in [`Step::received`] for the node to verify
/// and store; afterwards the source must reflect them.
pub trait DocSource {
    /// Every document this node shares with `community`, with its current
    /// heads. Called once per session. Documents not listed here are never
    /// sent in that session, even if a peer names them.
    fn items(&self, community: &CommunityId) -> Result<Vec<(DocId, Vec<ChangeHash>)>, SourceError>;

    /// The header of a document, if this node holds it.
    fn header(&self, doc: &DocId) -> Result<Option<DocHeader>, SourceError>;

    /// The current heads of a document (empty if this node does not hold it).
    fn heads(&self, doc: &DocId) -> Result<Vec<ChangeHash>, SourceError>;

    /// True when this node holds every change in `hashes` for `doc`
    /// (vacuously true for an empty list).
    fn has_changes(&self, doc: &DocId, hashes: &[ChangeHash]) -> Result<bool, SourceError>;

    /// The changes of `doc` that are not ancestors of (nor equal to) any
    /// change in `their_heads`, in an order that respects dependencies.
    /// `their_heads` may name changes this node lacks: ignore those (with none
    /// known, this is every change of the document). Empty if the document
    /// is unknown.
    fn changes_since(&self, doc: &DocId, their_heads: &[ChangeHash]) -> Result<Vec<SignedChange>, SourceError>;

    /// For each of the first of `docs`, in order: its header and every
    /// change of it ([`DocSource::header`] and [`DocSource::changes_since`]
    /// with no heads). Stops after the document that brings the changes'
    /// bytes to `max_bytes` or more, so it answers for at least one and at
    /// most all of `docs`. A session asks for a new member's documents this
    /// way, many at a time, so a store can read them in one go rather than
    /// open a read for every question about every document.
    fn whole_documents(&self, docs: &[DocId], max_bytes: usize) -> Result<Vec<WholeDocument>, SourceError> {
        let mut documents = Vec::new();
        let mut bytes = 0;
        for doc in docs {
            let changes = self.changes_since(doc, &[])?;
            bytes += changes.iter().map(|change| change.change.len()).sum::<usize>();
            documents.push((self.header(doc)?, changes));
            if bytes >= max_bytes {
                break;
            }
        }
        Ok(documents)
    }
}

/// A document as [`DocSource::whole_documents`] answers for it: its header
/// (`None` if the source does not hold it) and every change of it.
pub type WholeDocument = (Option<DocHeader>, Vec<SignedChange>);

/// Why a node will not answer a sync frame, sent back to the asker instead
/// of a frame. A newer peer may know more reasons than this list: the
/// protocol id says which list it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The asker's household is not a member of the community as far as the
    /// answerer knows, or the answerer is not in that community: nothing
    /// about it is given, not even which of the two.
    #[error("not a member of the community")]
    NotAMember,
    /// A frame that does not open a session arrived with no session under
    /// way: the answerer dropped it (a restart, a lost connection), or the
    /// frame was not a session's opening.
    #[error("no sync session is under way with this peer for this community")]
    NoSession,
    /// The opening frame names another community than the request does.
    #[error("the opening frame names another community than the request")]
    CommunityMismatch,
}

/// Why a session ended early. Every variant ends the session; those about
/// the peer's messages can be counted against that peer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("the frame is {size} bytes, over the {MAX_FRAME_BYTES}-byte limit")]
    FrameTooLarge { size: usize },
    #[error("the message inflates to {size} bytes, over the {MAX_MESSAGE_BYTES}-byte limit")]
    MessageTooLarge { size: usize },
    #[error("the peer speaks sync wire version {0}, this node speaks version {WIRE_VERSION}")]
    UnsupportedVersion(u8),
    #[error("the message is malformed: {0}")]
    Malformed(String),
    #[error("the message carries {count} changes, over the {MAX_CHANGES_PER_MESSAGE}-change limit")]
    TooManyChanges { count: usize },
    #[error("a document announces {count} heads, over the {MAX_HEADS}-head limit")]
    TooManyHeads { count: usize },
    #[error("the session involves more than {MAX_DOCS_PER_SESSION} documents")]
    TooManyDocuments,
    #[error("the session went past {MAX_ROUNDS} rounds")]
    TooManyRounds,
    #[error("the peer sent a {got} message where a {expected} message was expected")]
    OutOfOrder { expected: &'static str, got: &'static str },
    #[error("the peer is syncing another community than this session's")]
    WrongCommunity,
    #[error("the peer broke the protocol: {0}")]
    Violation(&'static str),
    #[error("set reconciliation failed: {0}")]
    Reconcile(String),
    #[error("the local document store failed: {0}")]
    Source(#[source] SourceError),
    #[error("the session is over")]
    Finished,
}
