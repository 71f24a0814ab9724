//! One sync session: the state machine each side runs, fed with frames and
//! a [`DocSource`], returning frames to send and documents to store.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use automerge::ChangeHash;
use maillage_crdt::{CommunityId, DocHeader, DocId, SignedChange};
use negentropy::{Id, Negentropy, NegentropyStorageVector};
use sha2::{Digest, Sha256};

use super::message::{DocPart, Hash, Message, Offer, Open, Request, Response};
use super::reconcile::{ItemSet, check_payload_version, reconcile_error};
use super::{
    DocSource, Error, MAX_CHANGES_PER_MESSAGE, MAX_DOCS_PER_SESSION, MAX_FRAME_BYTES, MAX_HEADS, MAX_MESSAGE_BYTES,
    MAX_ROUNDS,
};

/// Room left in a message for the envelope, and for the estimates below
/// being a little short.
const FRAME_SLACK: usize = 64 * 1024;
/// Estimated encoded size of a change beyond its bytes (signer, signature,
/// length prefixes; its document id does not travel).
const CHANGE_OVERHEAD: usize = 112;
/// Estimated encoded size of a [`DocPart`] beyond its header, heads and
/// changes.
const PART_OVERHEAD: usize = 64;

/// Which side of the session this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Initiator,
    Responder,
}

/// What one [`Session::handle`] (or the opening) produced.
#[derive(Debug, Default)]
#[must_use]
pub struct Step {
    /// The frame to send to the peer, already size-checked.
    pub send: Option<Vec<u8>>,
    /// Documents the peer sent, grouped, deduplicated within the session, in
    /// dependency order. Unverified: the node must pass every change through
    /// `verify_change` (its store does) and store the survivors before the
    /// next `handle`.
    pub received: Vec<(DocHeader, Vec<SignedChange>)>,
    /// The session is over on this side: nothing more to send or receive.
    pub done: bool,
}

/// What a session cost, for logs and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Frame bytes, as they travel (compressed).
    pub bytes_sent: u64,
    pub bytes_received: u64,
    /// The same messages' bytes before compression, both directions.
    pub message_bytes: u64,
    pub messages_sent: u32,
    pub messages_received: u32,
    /// negentropy payload bytes, both directions (part of the byte counts).
    pub reconcile_bytes: u64,
    /// Documents found to differ (initiator: have + need; responder: offers
    /// + wants it received).
    pub differing_docs: u64,
    pub docs_sent: u64,
    pub changes_sent: u64,
    pub docs_received: u64,
    pub changes_received: u64,
    /// Changes received twice in this session and dropped.
    pub duplicate_changes: u64,
}

impl SyncStats {
    /// Round trips so far: one per message the initiator sent.
    pub fn rounds(&self) -> u32 {
        self.messages_sent.max(self.messages_received)
    }

    pub fn total_bytes(&self) -> u64 {
        self.bytes_sent + self.bytes_received
    }
}

/// Something to send about one document, turned into a [`DocPart`] only
/// when it is packed (so a large transfer is not held in memory at once).
#[derive(Debug)]
struct Outgoing {
    doc: DocId,
    include_header: bool,
    /// Send the changes not ancestors of these; `None` sends no changes.
    since: Option<Vec<ChangeHash>>,
    send_yours: bool,
    /// Answers the peer's [`DocPart::send_yours`]: sent even if empty, since
    /// the peer waits for it.
    answers_ask: bool,
}

impl Outgoing {
    /// The whole document with its header, as a new member (or a peer that
    /// does not hold it) gets it: what [`DocSource::whole_documents`] reads
    /// in batches.
    fn whole_document(doc: DocId) -> Outgoing {
        Outgoing {
            doc,
            include_header: true,
            since: Some(Vec::new()),
            send_yours: false,
            answers_ask: false,
        }
    }

    /// Whether this is [`Outgoing::whole_document`].
    fn is_whole_document(&self) -> bool {
        self.include_header && !self.send_yours && !self.answers_ask && self.since.as_ref().is_some_and(Vec::is_empty)
    }
}

/// Whole documents read from the source at once (see [`Outgoing::is_whole_document`]):
/// one read for many documents, while what waits materialized stays small
/// (at most about one message's bytes, as the pending part may hold).
const READ_AHEAD: usize = 256;
const READ_AHEAD_BYTES: usize = MAX_MESSAGE_BYTES;

/// A document the responder asked the initiator for ([`DocPart::send_yours`]).
#[derive(Debug)]
struct Awaiting {
    /// The initiator's heads, from its offer.
    their_heads: Vec<ChangeHash>,
    /// Hashes and dependencies of the changes received for it so far: the
    /// initiator holds all of these.
    they_hold: Vec<ChangeHash>,
    /// The request has gone out (it may wait in the outbox for a while).
    asked: bool,
}

/// One sync session between two peers for one community. See the module
/// docs for the protocol; this type is the whole of it, minus I/O.
#[derive(Debug)]
pub struct Session {
    role: Role,
    community: CommunityId,
    finished: bool,
    /// Set when the responder has read the [`Open`].
    opened: bool,
    items: Option<ItemSet>,
    negentropy: Option<Negentropy<'static, NegentropyStorageVector>>,
    reconcile_done: bool,
    /// Parts to send, in order; `pending` is a materialized part that did not
    /// fit in the last message.
    outbox: VecDeque<Outgoing>,
    pending: Option<DocPart>,
    /// Parts taken from the outbox and read ahead, not yet packed.
    read_ahead: VecDeque<DocPart>,
    /// Distinct documents this session involves, bounded by
    /// [`MAX_DOCS_PER_SESSION`].
    involved: HashSet<DocId>,
    /// SHA-256 of every change received, to drop repeats.
    seen_changes: HashSet<Hash>,
    /// Headers the peer sent, for later parts of the same document.
    peer_headers: HashMap<DocId, DocHeader>,
    stats: SyncStats,

    // Initiator only.
    have: Vec<Id>,
    need: Vec<Id>,
    offers_out: VecDeque<Offer>,
    wants_out: VecDeque<Hash>,
    offered: HashSet<DocId>,
    wanted: usize,
    /// We hold nothing and said so in the [`Open`]: the responder sends
    /// every document it has, none of which we could name in advance.
    asked_everything: bool,
    unsolicited: HashSet<DocId>,
    answered_asks: HashSet<DocId>,

    // Responder only.
    peer_offers: HashMap<DocId, Vec<ChangeHash>>,
    answered_wants: HashSet<DocId>,
    awaiting: HashMap<DocId, Awaiting>,
    peer_more: bool,
}

impl Session {
    fn new(role: Role, community: CommunityId) -> Self {
        Session {
            role,
            community,
            finished: false,
            opened: false,
            items: None,
            negentropy: None,
            reconcile_done: false,
            outbox: VecDeque::new(),
            pending: None,
            read_ahead: VecDeque::new(),
            involved: HashSet::new(),
            seen_changes: HashSet::new(),
            peer_headers: HashMap::new(),
            stats: SyncStats::default(),
            have: Vec::new(),
            need: Vec::new(),
            offers_out: VecDeque::new(),
            wants_out: VecDeque::new(),
            offered: HashSet::new(),
            wanted: 0,
            asked_everything: false,
            unsolicited: HashSet::new(),
            answered_asks: HashSet::new(),
            peer_offers: HashMap::new(),
            answered_wants: HashSet::new(),
            awaiting: HashMap::new(),
            peer_more: false,
        }
    }

    /// Starts a session as the initiator: returns it and the [`Open`] frame
    /// to send.
    pub fn initiate<S: DocSource + ?Sized>(community: CommunityId, source: &S) -> Result<(Session, Vec<u8>), Error> {
        let mut session = Session::new(Role::Initiator, community);
        let items = ItemSet::new(source.items(&community).map_err(Error::Source)?);
        let mut negentropy = items.negentropy()?;
        let reconcile = negentropy.initiate().map_err(reconcile_error)?;
        session.stats.reconcile_bytes += reconcile.len() as u64;
        session.asked_everything = items.is_empty();
        let open = Message::Open(Open {
            community,
            set_digest: items.digest(),
            reconcile,
            empty: items.is_empty(),
        });
        session.items = Some(items);
        session.negentropy = Some(negentropy);
        let frame = session.seal(&open)?;
        Ok((session, frame))
    }

    /// A session waiting for an initiator's [`Open`] for `community` (read it
    /// first with [`super::opening_community`] to check the peer may sync it).
    pub fn respond(community: CommunityId) -> Session {
        Session::new(Role::Responder, community)
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn community(&self) -> CommunityId {
        self.community
    }

    pub fn stats(&self) -> SyncStats {
        self.stats
    }

    /// True once the session ended, successfully or not.
    pub fn is_done(&self) -> bool {
        self.finished
    }

    /// Handles one frame from the peer. After an error, or a step with
    /// `done`, the session is over and refuses further frames.
    pub fn handle<S: DocSource + ?Sized>(&mut self, frame: &[u8], source: &S) -> Result<Step, Error> {
        if self.finished {
            return Err(Error::Finished);
        }
        let result = self.handle_frame(frame, source);
        if result.as_ref().map_or(true, |step| step.done) {
            self.finished = true;
        }
        result
    }

    fn handle_frame<S: DocSource + ?Sized>(&mut self, frame: &[u8], source: &S) -> Result<Step, Error> {
        self.stats.bytes_received += frame.len() as u64;
        self.stats.messages_received += 1;
        if self.stats.messages_received > MAX_ROUNDS {
            return Err(Error::TooManyRounds);
        }
        let (message, inflated) = Message::decode_sized(frame)?;
        self.stats.message_bytes += inflated as u64;
        match (self.role, message) {
            (Role::Responder, Message::Open(open)) if !self.opened => self.on_open(open, source),
            (Role::Responder, Message::Request(request)) if self.opened => self.on_request(request, source),
            (Role::Initiator, Message::Response(response)) => self.on_response(response, source),
            (Role::Responder, other) if !self.opened => Err(Error::OutOfOrder {
                expected: "open",
                got: other.kind(),
            }),
            (Role::Responder, other) => Err(Error::OutOfOrder {
                expected: "request",
                got: other.kind(),
            }),
            (Role::Initiator, other) => Err(Error::OutOfOrder {
                expected: "response",
                got: other.kind(),
            }),
        }
    }

    // ---- responder ----

    fn on_open<S: DocSource + ?Sized>(&mut self, open: Open, source: &S) -> Result<Step, Error> {
        if open.community != self.community {
            return Err(Error::WrongCommunity);
        }
        self.opened = true;
        self.stats.reconcile_bytes += open.reconcile.len() as u64;
        let items = ItemSet::new(source.items(&self.community).map_err(Error::Source)?);
        if items.digest() == open.set_digest {
            // Same set on both sides: nothing to reconcile or transfer.
            self.reconcile_done = true;
            return self.respond_with(None, Vec::new(), source);
        }
        if open.empty {
            // A new member: everything we have is what it lacks.
            self.reconcile_done = true;
            for doc in items.docs() {
                self.involve(doc)?;
                self.stats.differing_docs += 1;
                self.answered_wants.insert(doc);
                self.outbox.push_back(Outgoing::whole_document(doc));
            }
            self.items = Some(items);
            return self.respond_with(None, Vec::new(), source);
        }
        check_payload_version(&open.reconcile)?;
        let mut negentropy = items.negentropy()?;
        let reply = negentropy.reconcile(&open.reconcile).map_err(reconcile_error)?;
        self.items = Some(items);
        self.negentropy = Some(negentropy);
        let reply = self.keep_reconciling(reply);
        self.respond_with(reply, Vec::new(), source)
    }

    /// negentropy's reply if it says anything; an empty reply (the version
    /// byte alone) means the initiator will learn nothing more from us.
    fn keep_reconciling(&mut self, reply: Vec<u8>) -> Option<Vec<u8>> {
        if reply.len() > 1 {
            self.stats.reconcile_bytes += reply.len() as u64;
            Some(reply)
        } else {
            self.reconcile_done = true;
            self.negentropy = None;
            None
        }
    }

    fn on_request<S: DocSource + ?Sized>(&mut self, request: Request, source: &S) -> Result<Step, Error> {
        let reply = match request.reconcile {
            Some(payload) => {
                let negentropy = match self.negentropy.as_mut() {
                    Some(negentropy) if !self.reconcile_done => negentropy,
                    _ => return Err(Error::Violation("reconciliation data after reconciliation ended")),
                };
                self.stats.reconcile_bytes += payload.len() as u64;
                check_payload_version(&payload)?;
                let reply = negentropy.reconcile(&payload).map_err(reconcile_error)?;
                self.keep_reconciling(reply)
            }
            None => {
                self.reconcile_done = true;
                self.negentropy = None;
                None
            }
        };
        self.peer_more = request.more;

        let mut received = Received::default();
        for part in request.parts {
            self.on_answer(part, source, &mut received)?;
        }
        // Offers before wants: a document that differs on both sides appears
        // in both, and the offer (with the initiator's heads) says more.
        for offer in request.offers {
            self.on_offer(offer, source)?;
        }
        for want in request.wants {
            self.on_want(&want)?;
        }
        if !self.peer_more && self.awaiting.values().any(|awaiting| awaiting.asked) {
            return Err(Error::Violation("the peer left a requested document unanswered"));
        }
        let received = received.finish(&mut self.stats);
        self.respond_with(reply, received, source)
    }

    fn on_offer<S: DocSource + ?Sized>(&mut self, offer: Offer, source: &S) -> Result<(), Error> {
        let doc = offer.doc;
        if self.peer_offers.contains_key(&doc) {
            return Err(Error::Violation("the peer offered a document twice"));
        }
        self.involve(doc)?;
        self.stats.differing_docs += 1;
        let their_heads: Vec<ChangeHash> = offer.heads.into_iter().map(ChangeHash).collect();
        self.peer_offers.insert(doc, their_heads.clone());
        let shared = self.items.as_ref().is_some_and(|items| items.contains_doc(&doc));
        if !shared && source.header(&doc).map_err(Error::Source)?.is_some() {
            // We hold it, but not as part of this community: never send it
            // here, and nothing to ask for either.
            return Ok(());
        }
        if shared && source.has_changes(&doc, &their_heads).map_err(Error::Source)? {
            // Their state is an ancestor of ours: we know exactly what they
            // lack. If a want already brought them the whole document, there
            // is nothing left.
            if !self.answered_wants.contains(&doc) {
                self.outbox.push_back(Outgoing {
                    doc,
                    include_header: false,
                    since: Some(their_heads),
                    send_yours: false,
                    answers_ask: false,
                });
            }
            return Ok(());
        }
        // They hold changes we lack (or the whole document): let them go
        // first; once we have theirs we can answer exactly.
        self.awaiting.insert(
            doc,
            Awaiting {
                their_heads,
                they_hold: Vec::new(),
                asked: false,
            },
        );
        self.outbox.push_back(Outgoing {
            doc,
            include_header: false,
            since: None,
            send_yours: true,
            answers_ask: false,
        });
        Ok(())
    }

    fn on_want(&mut self, want: &Hash) -> Result<(), Error> {
        let Some((doc, _)) = self.items.as_ref().and_then(|items| items.get(want)) else {
            return Err(Error::Violation("the peer wants an item this node never had"));
        };
        let doc = *doc;
        if self.peer_offers.contains_key(&doc) || !self.answered_wants.insert(doc) {
            return Ok(());
        }
        self.involve(doc)?;
        self.stats.differing_docs += 1;
        // Not offered: the initiator does not hold the document at all.
        self.outbox.push_back(Outgoing::whole_document(doc));
        Ok(())
    }

    /// A part answering one of our [`DocPart::send_yours`].
    fn on_answer<S: DocSource + ?Sized>(
        &mut self,
        part: DocPart,
        source: &S,
        received: &mut Received,
    ) -> Result<(), Error> {
        let Some(awaiting) = self.awaiting.get_mut(&part.doc) else {
            return Err(Error::Violation("the peer sent a document this node did not ask for"));
        };
        if !awaiting.asked || part.send_yours {
            return Err(Error::Violation("the peer sent a document this node did not ask for"));
        }
        for change in &part.changes {
            if let Ok(parsed) = automerge::Change::from_bytes(change.change.clone()) {
                awaiting.they_hold.push(parsed.hash());
                awaiting.they_hold.extend_from_slice(parsed.deps());
            }
        }
        let (doc, continued) = (part.doc, part.continued);
        self.accept_changes(part, source, received)?;
        if !continued && let Some(done) = self.awaiting.remove(&doc) {
            let shared = self.items.as_ref().is_some_and(|items| items.contains_doc(&doc));
            if shared {
                let mut they_hold = done.their_heads;
                they_hold.extend(done.they_hold);
                they_hold.sort();
                they_hold.dedup();
                self.outbox.push_back(Outgoing {
                    doc,
                    include_header: false,
                    since: Some(they_hold),
                    send_yours: false,
                    answers_ask: false,
                });
            }
        }
        Ok(())
    }

    fn respond_with<S: DocSource + ?Sized>(
        &mut self,
        reconcile: Option<Vec<u8>>,
        received: Vec<(DocHeader, Vec<SignedChange>)>,
        source: &S,
    ) -> Result<Step, Error> {
        let mut budget = Budget::new(reconcile.as_ref().map_or(0, Vec::len));
        let parts = self.pack_parts(source, &mut budget)?;
        for part in parts.iter().filter(|part| part.send_yours) {
            if let Some(awaiting) = self.awaiting.get_mut(&part.doc) {
                awaiting.asked = true;
            }
        }
        let done = self.reconcile_done && !self.peer_more && self.awaiting.is_empty() && self.outbox_is_empty();
        let frame = self.seal(&Message::Response(Response { reconcile, parts, done }))?;
        Ok(Step {
            send: Some(frame),
            received,
            done,
        })
    }

    // ---- initiator ----

    fn on_response<S: DocSource + ?Sized>(&mut self, response: Response, source: &S) -> Result<Step, Error> {
        let mut next_reconcile = None;
        match (response.reconcile, self.reconcile_done) {
            (Some(_), true) => return Err(Error::Violation("reconciliation data after reconciliation ended")),
            (Some(payload), false) => {
                self.stats.reconcile_bytes += payload.len() as u64;
                check_payload_version(&payload)?;
                let negentropy = self
                    .negentropy
                    .as_mut()
                    .ok_or(Error::Violation("reconciliation data after reconciliation ended"))?;
                let (mut have, mut need) = (Vec::new(), Vec::new());
                next_reconcile = negentropy
                    .reconcile_with_ids(&payload, &mut have, &mut need)
                    .map_err(reconcile_error)?;
                self.have.append(&mut have);
                self.need.append(&mut need);
                if self.have.len() + self.need.len() > MAX_DOCS_PER_SESSION {
                    return Err(Error::TooManyDocuments);
                }
                if next_reconcile.is_none() {
                    self.finish_reconciliation()?;
                }
            }
            (None, false) => self.finish_reconciliation()?,
            (None, true) => {}
        }
        if let Some(payload) = &next_reconcile {
            self.stats.reconcile_bytes += payload.len() as u64;
        }

        let mut received = Received::default();
        for part in response.parts {
            self.on_part(part, source, &mut received)?;
        }
        let received = received.finish(&mut self.stats);

        if response.done {
            if next_reconcile.is_some() || !self.outbox_is_empty() {
                return Err(Error::Violation("the peer ended the session with work left"));
            }
            return Ok(Step {
                send: None,
                received,
                done: true,
            });
        }

        let mut budget = Budget::new(next_reconcile.as_ref().map_or(0, Vec::len));
        let parts = self.pack_parts(source, &mut budget)?;
        let mut offers = Vec::new();
        while let Some(offer) = self.offers_out.front() {
            if !budget.take(32 + 8 + offer.heads.len() * 32) {
                break;
            }
            offers.extend(self.offers_out.pop_front());
        }
        let mut wants = Vec::new();
        while !self.wants_out.is_empty() && budget.take(32) {
            wants.extend(self.wants_out.pop_front());
        }
        let request = Request {
            reconcile: next_reconcile,
            parts,
            offers,
            wants,
            more: !self.outbox_is_empty(),
        };
        let frame = self.seal(&Message::Request(request))?;
        Ok(Step {
            send: Some(frame),
            received,
            done: false,
        })
    }

    /// negentropy has spoken: turn `have` items into offers of our documents
    /// and `need` items into wants (only the responder can map those).
    fn finish_reconciliation(&mut self) -> Result<(), Error> {
        self.reconcile_done = true;
        self.negentropy = None;
        let items = self.items.as_ref().ok_or(Error::Violation("no items to reconcile"))?;
        for item in std::mem::take(&mut self.have) {
            let Some((doc, heads)) = items.get(item.as_bytes()) else {
                continue;
            };
            if heads.len() > MAX_HEADS {
                return Err(Error::TooManyHeads { count: heads.len() });
            }
            if self.offered.insert(*doc) {
                self.involved.insert(*doc);
                self.offers_out.push_back(Offer {
                    doc: *doc,
                    heads: heads.iter().map(|head| head.0).collect(),
                });
            }
        }
        let mut wants: Vec<Hash> = std::mem::take(&mut self.need).iter().map(|id| id.to_bytes()).collect();
        wants.sort_unstable();
        wants.dedup();
        self.wanted = wants.len();
        self.wants_out.extend(wants);
        self.stats.differing_docs = (self.offered.len() + self.wanted) as u64;
        if self.offered.len() + self.wanted > MAX_DOCS_PER_SESSION {
            return Err(Error::TooManyDocuments);
        }
        Ok(())
    }

    /// A part from the responder: changes we lack, or a request for ours.
    fn on_part<S: DocSource + ?Sized>(
        &mut self,
        part: DocPart,
        source: &S,
        received: &mut Received,
    ) -> Result<(), Error> {
        let doc = part.doc;
        if part.send_yours {
            if !self.offered.contains(&doc) {
                return Err(Error::Violation(
                    "the peer asked for a document this node did not offer",
                ));
            }
            if !self.answered_asks.insert(doc) {
                return Err(Error::Violation("the peer asked for the same document twice"));
            }
            self.outbox.push_back(Outgoing {
                doc,
                // Empty heads: the responder does not hold the document.
                include_header: part.heads.is_empty(),
                since: Some(part.heads.into_iter().map(ChangeHash).collect()),
                send_yours: false,
                answers_ask: true,
            });
            return Ok(());
        }
        if !self.offered.contains(&doc)
            && !self.asked_everything
            && self.unsolicited.insert(doc)
            && self.unsolicited.len() > self.wanted
        {
            return Err(Error::Violation(
                "the peer sent more documents than this node asked for",
            ));
        }
        self.involve(doc)?;
        self.accept_changes(part, source, received)
    }

    // ---- both sides ----

    fn outbox_is_empty(&self) -> bool {
        self.outbox.is_empty()
            && self.pending.is_none()
            && self.read_ahead.is_empty()
            && self.offers_out.is_empty()
            && self.wants_out.is_empty()
    }

    fn involve(&mut self, doc: DocId) -> Result<(), Error> {
        if self.involved.insert(doc) && self.involved.len() > MAX_DOCS_PER_SESSION {
            return Err(Error::TooManyDocuments);
        }
        Ok(())
    }

    /// Adds a part's changes to what this step received, dropping repeats.
    fn accept_changes<S: DocSource + ?Sized>(
        &mut self,
        part: DocPart,
        source: &S,
        received: &mut Received,
    ) -> Result<(), Error> {
        if part.changes.is_empty() {
            return Ok(());
        }
        let header = match part.header {
            Some(header) => {
                self.peer_headers.insert(part.doc, header.clone());
                header
            }
            None => match self.peer_headers.get(&part.doc) {
                Some(header) => header.clone(),
                None => source
                    .header(&part.doc)
                    .map_err(Error::Source)?
                    .ok_or(Error::Violation(
                        "the peer sent changes of an unknown document without its header",
                    ))?,
            },
        };
        // A profile (no community) travels with every community its owner is
        // in; anything else must belong to this session's community.
        if header.community.is_some_and(|community| community != self.community) {
            return Err(Error::Violation("the peer sent a document of another community"));
        }
        let entry = received.docs.entry(part.doc).or_insert_with(|| (header, Vec::new()));
        for change in part.changes {
            let digest: Hash = Sha256::digest(&change.change).into();
            if self.seen_changes.insert(digest) {
                entry.1.push(change);
            } else {
                self.stats.duplicate_changes += 1;
            }
        }
        Ok(())
    }

    /// Takes parts from the outbox while they fit in the frame, splitting a
    /// document's changes over several messages if needed.
    fn pack_parts<S: DocSource + ?Sized>(&mut self, source: &S, budget: &mut Budget) -> Result<Vec<DocPart>, Error> {
        let mut parts = Vec::new();
        loop {
            let mut part = match self.pending.take() {
                Some(part) => part,
                None => match self.next_part(source)? {
                    Some(part) => part,
                    None => break,
                },
            };
            let fixed =
                PART_OVERHEAD + part.header.as_ref().map_or(0, |header| header.encode().len()) + part.heads.len() * 33;
            let mut size = fixed;
            let mut fits = 0;
            for change in &part.changes {
                let change_size = change.change.len() + CHANGE_OVERHEAD;
                if fits >= budget.changes || size + change_size > budget.bytes {
                    break;
                }
                size += change_size;
                fits += 1;
            }
            let nothing_fits = fixed > budget.bytes || (fits == 0 && !part.changes.is_empty());
            if nothing_fits && !parts.is_empty() {
                self.pending = Some(part);
                break;
            }
            if nothing_fits && !part.changes.is_empty() && budget.changes > 0 {
                // A change larger than a whole frame: send it alone, and let
                // the frame check refuse it rather than loop forever.
                fits = 1;
            }
            budget.bytes = budget.bytes.saturating_sub(size);
            budget.changes -= fits.min(budget.changes);
            if fits < part.changes.len() {
                let rest = part.changes.split_off(fits);
                self.pending = Some(DocPart {
                    doc: part.doc,
                    header: part.header.clone(),
                    heads: part.heads.clone(),
                    changes: rest,
                    continued: part.continued,
                    send_yours: false,
                });
                part.continued = true;
            }
            if !part.changes.is_empty() && !part.continued {
                self.stats.docs_sent += 1;
            }
            self.stats.changes_sent += part.changes.len() as u64;
            let full = self.pending.is_some();
            parts.push(part);
            if full {
                break;
            }
        }
        Ok(parts)
    }

    /// The next part to pack, in outbox order; `None` when the outbox is
    /// empty. A run of whole documents is read from the source in batches of
    /// [`READ_AHEAD`], with the same outcome as [`materialize`] for each.
    fn next_part<S: DocSource + ?Sized>(&mut self, source: &S) -> Result<Option<DocPart>, Error> {
        loop {
            if let Some(part) = self.read_ahead.pop_front() {
                return Ok(Some(part));
            }
            let Some(outgoing) = self.outbox.pop_front() else {
                return Ok(None);
            };
            if !outgoing.is_whole_document() {
                match materialize(outgoing, source)? {
                    Some(part) => return Ok(Some(part)),
                    None => continue,
                }
            }
            let mut docs = vec![outgoing.doc];
            while docs.len() < READ_AHEAD && self.outbox.front().is_some_and(Outgoing::is_whole_document) {
                docs.extend(self.outbox.pop_front().map(|outgoing| outgoing.doc));
            }
            let documents = source.whole_documents(&docs, READ_AHEAD_BYTES).map_err(Error::Source)?;
            if documents.is_empty() || documents.len() > docs.len() {
                return Err(Error::Source(
                    format!("the store answered for {} of {} documents", documents.len(), docs.len()).into(),
                ));
            }
            // Those it did not answer for go back, in order, for next time.
            for &doc in docs[documents.len()..].iter().rev() {
                self.outbox.push_front(Outgoing::whole_document(doc));
            }
            for (doc, (header, mut changes)) in docs.into_iter().zip(documents) {
                // As in `materialize`: a document gone since it was listed
                // is left out, and so is a change filed under another one.
                let Some(header) = header else { continue };
                changes.retain(|change| change.doc == doc);
                if changes.is_empty() {
                    continue;
                }
                self.read_ahead.push_back(DocPart {
                    doc,
                    header: Some(header),
                    heads: Vec::new(),
                    changes,
                    continued: false,
                    send_yours: false,
                });
            }
        }
    }

    /// Encodes a message, checks its sizes (compressed and not: the peer
    /// checks both) and counts it.
    fn seal(&mut self, message: &Message) -> Result<Vec<u8>, Error> {
        let (frame, inflated) = message.frame();
        if inflated > MAX_MESSAGE_BYTES {
            return Err(Error::MessageTooLarge { size: inflated });
        }
        if frame.len() > MAX_FRAME_BYTES {
            return Err(Error::FrameTooLarge { size: frame.len() });
        }
        self.stats.bytes_sent += frame.len() as u64;
        self.stats.message_bytes += inflated as u64;
        self.stats.messages_sent += 1;
        Ok(frame)
    }
}

/// What is left of a message being filled.
#[derive(Debug)]
struct Budget {
    bytes: usize,
    changes: usize,
}

impl Budget {
    fn new(reconcile_bytes: usize) -> Self {
        Budget {
            // The budget counts bytes before compression, so that a message
            // fits both limits whatever it compresses to.
            bytes: MAX_MESSAGE_BYTES
                .min(MAX_FRAME_BYTES)
                .saturating_sub(FRAME_SLACK + reconcile_bytes),
            changes: MAX_CHANGES_PER_MESSAGE,
        }
    }

    /// Takes `bytes` if they fit.
    fn take(&mut self, bytes: usize) -> bool {
        if bytes > self.bytes {
            return false;
        }
        self.bytes -= bytes;
        true
    }
}

/// Reads what an [`Outgoing`] stands for from the source; `None` when there
/// is nothing to send after all.
fn materialize<S: DocSource + ?Sized>(outgoing: Outgoing, source: &S) -> Result<Option<DocPart>, Error> {
    let header = if outgoing.include_header {
        source.header(&outgoing.doc).map_err(Error::Source)?
    } else {
        None
    };
    if outgoing.include_header && header.is_none() && !outgoing.answers_ask {
        return Ok(None);
    }
    let mut changes = match &outgoing.since {
        Some(since) => source.changes_since(&outgoing.doc, since).map_err(Error::Source)?,
        None => Vec::new(),
    };
    // A change filed under another document would make the peer refuse the
    // whole message; leave it out.
    changes.retain(|change| change.doc == outgoing.doc);
    if changes.is_empty() && !outgoing.send_yours && !outgoing.answers_ask {
        return Ok(None);
    }
    let mut heads = if outgoing.send_yours {
        source.heads(&outgoing.doc).map_err(Error::Source)?
    } else {
        Vec::new()
    };
    // Fewer heads only make the peer send more than needed, never less.
    heads.truncate(MAX_HEADS);
    Ok(Some(DocPart {
        doc: outgoing.doc,
        header,
        heads: heads.into_iter().map(|head| head.0).collect(),
        changes,
        continued: false,
        send_yours: outgoing.send_yours,
    }))
}

/// Changes received in one step, grouped by document.
#[derive(Debug, Default)]
struct Received {
    docs: BTreeMap<DocId, (DocHeader, Vec<SignedChange>)>,
}

impl Received {
    fn finish(self, stats: &mut SyncStats) -> Vec<(DocHeader, Vec<SignedChange>)> {
        let docs: Vec<_> = self
            .docs
            .into_values()
            .filter(|(_, changes)| !changes.is_empty())
            .collect();
        stats.docs_received += docs.len() as u64;
        stats.changes_received += docs.iter().map(|(_, changes)| changes.len() as u64).sum::<u64>();
        docs
    }
}
