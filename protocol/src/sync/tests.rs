//! Sessions between two in-memory stores holding real signed automerge
//! changes: convergence, cost, limits and hostile input.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::transaction::Transactable;
use automerge::{ActorId, Change, ChangeHash};
use maillage_crdt::change::change_digest;
use maillage_crdt::sign::verify_digest;
use maillage_crdt::{CommunityId, DocError, DocHeader, DocId, DocKind, Document, SecretKey, SignedChange, Writer};
use proptest::prelude::*;

use super::*;

// ---- an in-memory DocSource ----

/// A document as the test store keeps it: the header and changes the brief
/// describes, plus each change's hash and dependencies (parsed on insert).
#[derive(Clone, Debug)]
struct MemDoc {
    header: DocHeader,
    changes: Vec<SignedChange>,
    graph: Vec<(ChangeHash, Vec<ChangeHash>)>,
}

impl MemDoc {
    fn hashes(&self) -> BTreeSet<ChangeHash> {
        self.graph.iter().map(|(hash, _)| *hash).collect()
    }

    fn heads(&self) -> Vec<ChangeHash> {
        let deps: BTreeSet<ChangeHash> = self.graph.iter().flat_map(|(_, deps)| deps.iter().copied()).collect();
        let mut heads: Vec<ChangeHash> = self.hashes().difference(&deps).copied().collect();
        heads.sort();
        heads
    }
}

#[derive(Clone, Debug, Default)]
struct MemorySource {
    docs: BTreeMap<DocId, MemDoc>,
}

impl MemorySource {
    /// Adds changes (as a node's store would after verifying them), dropping
    /// ones it already holds.
    fn ingest(&mut self, received: Vec<(DocHeader, Vec<SignedChange>)>) {
        for (header, changes) in received {
            let id = header.id();
            for signed in changes {
                // What the node's store would refuse: damaged changes, bad
                // signatures, changes filed under another document.
                let Ok(change) = Change::from_bytes(signed.change.clone()) else {
                    continue;
                };
                let digest = change_digest(&signed.doc, &change.hash());
                if signed.doc != id || verify_digest(&signed.signer.0, &digest, &signed.signature).is_err() {
                    continue;
                }
                let doc = self.docs.entry(id).or_insert_with(|| MemDoc {
                    header: header.clone(),
                    changes: Vec::new(),
                    graph: Vec::new(),
                });
                if doc.graph.iter().all(|(hash, _)| *hash != change.hash()) {
                    doc.graph.push((change.hash(), change.deps().to_vec()));
                    doc.changes.push(signed);
                }
            }
        }
    }

    /// Every doc's heads, computed by automerge itself from the changes held.
    fn automerge_heads(&self) -> BTreeMap<DocId, Vec<ChangeHash>> {
        self.docs
            .iter()
            .map(|(id, doc)| {
                let mut document = Document::new(doc.header.clone());
                let changes = doc
                    .changes
                    .iter()
                    .map(|signed| Change::from_bytes(signed.change.clone()).unwrap())
                    .collect();
                document.apply(changes).unwrap();
                let mut heads = document.heads();
                heads.sort();
                (*id, heads)
            })
            .collect()
    }

    fn change_sets(&self) -> BTreeMap<DocId, BTreeSet<ChangeHash>> {
        self.docs.iter().map(|(id, doc)| (*id, doc.hashes())).collect()
    }
}

impl DocSource for MemorySource {
    fn items(&self, community: &CommunityId) -> Result<Vec<(DocId, Vec<ChangeHash>)>, SourceError> {
        Ok(self
            .docs
            .iter()
            .filter(|(_, doc)| doc.header.community == Some(*community))
            .map(|(id, doc)| (*id, doc.heads()))
            .collect())
    }

    fn header(&self, doc: &DocId) -> Result<Option<DocHeader>, SourceError> {
        Ok(self.docs.get(doc).map(|doc| doc.header.clone()))
    }

    fn heads(&self, doc: &DocId) -> Result<Vec<ChangeHash>, SourceError> {
        Ok(self.docs.get(doc).map(MemDoc::heads).unwrap_or_default())
    }

    fn has_changes(&self, doc: &DocId, hashes: &[ChangeHash]) -> Result<bool, SourceError> {
        let held = self.docs.get(doc).map(MemDoc::hashes).unwrap_or_default();
        Ok(hashes.iter().all(|hash| held.contains(hash)))
    }

    fn changes_since(&self, doc: &DocId, their_heads: &[ChangeHash]) -> Result<Vec<SignedChange>, SourceError> {
        let Some(doc) = self.docs.get(doc) else {
            return Ok(Vec::new());
        };
        let deps: HashMap<ChangeHash, &Vec<ChangeHash>> = doc.graph.iter().map(|(hash, deps)| (*hash, deps)).collect();
        let mut theirs = BTreeSet::new();
        let mut stack: Vec<ChangeHash> = their_heads
            .iter()
            .filter(|head| deps.contains_key(head))
            .copied()
            .collect();
        while let Some(hash) = stack.pop() {
            if theirs.insert(hash) {
                stack.extend(deps[&hash].iter().filter(|dep| deps.contains_key(dep)).copied());
            }
        }
        Ok(doc
            .graph
            .iter()
            .zip(&doc.changes)
            .filter(|((hash, _), _)| !theirs.contains(hash))
            .map(|(_, signed)| signed.clone())
            .collect())
    }
}

// ---- building documents with real signed changes ----

/// How a document differs between the two sides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Diff {
    OnlyA,
    OnlyB,
    AheadA,
    AheadB,
    Diverged,
}

const ALL_DIFFS: [Diff; 5] = [Diff::OnlyA, Diff::OnlyB, Diff::AheadA, Diff::AheadB, Diff::Diverged];

struct Author {
    device: SecretKey,
    community: CommunityId,
    next_actor: u64,
}

impl Author {
    fn new() -> Self {
        Author {
            device: SecretKey::from_bytes(&[7; 32]),
            community: CommunityId([42; 32]),
            next_actor: 1,
        }
    }

    fn new_document(&self, index: u64) -> Document {
        let owner = SecretKey::from_bytes(&[1; 32]).household_id();
        let mut nonce = [0; 16];
        nonce[..8].copy_from_slice(&index.to_le_bytes());
        let header = DocHeader::item(DocKind::Offer, owner, self.community, 1_700_000_000_000, nonce);
        Document::new(header)
    }

    /// One signed change, made with a fresh actor (as every session does).
    fn edit(&mut self, document: &mut Document, text: &str) -> SignedChange {
        self.next_actor += 1;
        let writer = Writer {
            device: &self.device,
            actor: ActorId::from(self.next_actor.to_be_bytes()),
            now_ms: 1_700_000_000_000,
        };
        document
            .edit(&writer, |doc| {
                doc.put(automerge::ROOT, "title", text)
                    .map_err(|e| DocError::Write(e.to_string()))
            })
            .unwrap()
            .unwrap()
    }
}

/// A copy of `document` that can be edited apart from it.
fn fork(document: &mut Document) -> Document {
    let mut copy = Document::new(document.header().clone());
    copy.apply(document.changes()).unwrap();
    copy
}

/// Two stores holding `n` documents, the first `diffs.len()` of which differ
/// as given; the rest are identical. `extra_changes` more changes go to the
/// side(s) ahead, to make larger transfers.
fn pair(n: usize, diffs: &[Diff], extra_changes: usize) -> (MemorySource, MemorySource, Author) {
    let mut author = Author::new();
    let (mut a, mut b) = (MemorySource::default(), MemorySource::default());
    for index in 0..n {
        let mut document = author.new_document(index as u64);
        let header = document.header().clone();
        let base = author.edit(&mut document, &format!("offre {index}"));
        let diff = diffs.get(index).copied();
        let mut on_a = vec![base.clone()];
        let mut on_b = vec![base];
        let grow = |author: &mut Author, document: &mut Document, side: &mut Vec<SignedChange>, who: &str| {
            for step in 0..=extra_changes {
                side.push(author.edit(document, &format!("{who} {index} {step}")));
            }
        };
        match diff {
            None => {}
            Some(Diff::OnlyA) => on_b.clear(),
            Some(Diff::OnlyB) => on_a.clear(),
            Some(Diff::AheadA) => grow(&mut author, &mut document, &mut on_a, "a"),
            Some(Diff::AheadB) => grow(&mut author, &mut document, &mut on_b, "b"),
            Some(Diff::Diverged) => {
                let mut other = fork(&mut document);
                grow(&mut author, &mut document, &mut on_a, "a");
                grow(&mut author, &mut other, &mut on_b, "b");
            }
        }
        if !on_a.is_empty() {
            a.ingest(vec![(header.clone(), on_a)]);
        }
        if !on_b.is_empty() {
            b.ingest(vec![(header, on_b)]);
        }
    }
    (a, b, author)
}

/// Runs a whole session, `a` initiating, storing what each side receives
/// before its next step (as the node does). Returns both sides' counters.
fn sync(a: &mut MemorySource, b: &mut MemorySource, community: CommunityId) -> Result<(SyncStats, SyncStats), Error> {
    let (mut initiator, mut frame) = Session::initiate(community, a)?;
    assert_eq!(opening_community(&frame)?, community);
    let mut responder = Session::respond(community);
    for _ in 0..MAX_ROUNDS {
        let step = responder.handle(&frame, b)?;
        b.ingest(step.received);
        let reply = step.send.expect("the responder answers every message");
        let step = initiator.handle(&reply, a)?;
        a.ingest(step.received);
        if step.done {
            assert!(responder.is_done(), "the initiator ended before the responder");
            return Ok((initiator.stats(), responder.stats()));
        }
        assert!(!responder.is_done(), "the responder ended before the initiator");
        frame = step.send.expect("the initiator sends until done");
    }
    panic!("the session did not end");
}

/// Asserts both stores hold exactly the union of what they held before.
fn assert_converged(a: &MemorySource, b: &MemorySource, before: (&MemorySource, &MemorySource)) {
    let mut union = before.0.change_sets();
    for (doc, hashes) in before.1.change_sets() {
        union.entry(doc).or_default().extend(hashes);
    }
    assert_eq!(a.change_sets(), union, "A does not hold the union");
    assert_eq!(b.change_sets(), union, "B does not hold the union");
    assert_eq!(a.automerge_heads(), b.automerge_heads(), "automerge heads differ");
}

fn mixed_diffs(d: usize) -> Vec<Diff> {
    (0..d).map(|i| ALL_DIFFS[i % ALL_DIFFS.len()]).collect()
}

// ---- convergence ----

#[test]
fn every_kind_of_difference_converges() {
    let (mut a, mut b, author) = pair(60, &mixed_diffs(25), 0);
    let before = (a.clone(), b.clone());
    let (stats_a, stats_b) = sync(&mut a, &mut b, author.community).unwrap();
    assert_converged(&a, &b, (&before.0, &before.1));
    assert_eq!(
        stats_a.differing_docs,
        25 + 15,
        "diverged and ahead docs count on both sides"
    );
    assert_eq!(stats_a.bytes_sent, stats_b.bytes_received);
    assert_eq!(stats_a.bytes_received, stats_b.bytes_sent);
    assert!(stats_a.rounds() <= 3, "{stats_a:?}");

    // Synced again: identical sets, one round trip.
    let (again, _) = sync(&mut a, &mut b, author.community).unwrap();
    assert_eq!(again.rounds(), 1);
    assert_eq!(again.changes_sent + again.changes_received, 0);
}

#[test]
fn the_responder_side_converges_too() {
    let (mut a, mut b, author) = pair(40, &mixed_diffs(20), 2);
    let before = (a.clone(), b.clone());
    sync(&mut b, &mut a, author.community).unwrap();
    assert_converged(&a, &b, (&before.0, &before.1));
}

#[test]
fn fast_forward_sends_only_the_missing_changes() {
    let (mut a, mut b, author) = pair(30, &[Diff::AheadA, Diff::AheadB], 3);
    let before = (a.clone(), b.clone());
    let (stats, _) = sync(&mut a, &mut b, author.community).unwrap();
    assert_converged(&a, &b, (&before.0, &before.1));
    // Each side lacks exactly 4 changes of one document.
    assert_eq!(stats.changes_sent, 4);
    assert_eq!(stats.changes_received, 4);
}

#[test]
fn diverged_documents_get_the_exact_rest_back() {
    let (mut a, mut b, author) = pair(10, &[Diff::Diverged], 1);
    let before = (a.clone(), b.clone());
    let (stats, _) = sync(&mut a, &mut b, author.community).unwrap();
    assert_converged(&a, &b, (&before.0, &before.1));
    // The initiator cannot know the common base (it may resend it), but
    // the responder answers with exactly its own two changes.
    assert_eq!(stats.changes_received, 2);
    assert!(stats.changes_sent <= 3);
}

#[test]
fn identical_sets_finish_in_one_round() {
    let (mut a, mut b, author) = pair(500, &[], 0);
    let (stats, responder) = sync(&mut a, &mut b, author.community).unwrap();
    assert_eq!((stats.messages_sent, stats.messages_received), (1, 1));
    assert_eq!((responder.messages_sent, responder.messages_received), (1, 1));
    assert!(stats.total_bytes() < 512, "{stats:?}");
}

#[test]
fn empty_communities_finish_in_one_round() {
    let (mut a, mut b) = (MemorySource::default(), MemorySource::default());
    let (stats, _) = sync(&mut a, &mut b, CommunityId([1; 32])).unwrap();
    assert_eq!(stats.rounds(), 1);
}

#[test]
fn one_empty_side_receives_everything() {
    for initiator_is_empty in [true, false] {
        let (full, _, author) = pair(120, &[], 1);
        let (mut a, mut b) = if initiator_is_empty {
            (MemorySource::default(), full.clone())
        } else {
            (full.clone(), MemorySource::default())
        };
        let before = (a.clone(), b.clone());
        sync(&mut a, &mut b, author.community).unwrap();
        assert_converged(&a, &b, (&before.0, &before.1));
    }
}

#[test]
fn other_communities_stay_out() {
    // A holds a document B lacks, but in this community, not the one synced.
    let (mut a, mut b, _) = pair(5, &[Diff::OnlyA], 0);
    let elsewhere = CommunityId([9; 32]);
    let (stats, _) = sync(&mut a, &mut b, elsewhere).unwrap();
    assert_eq!(stats.changes_sent, 0);
    assert_eq!(b.docs.len(), 4);
}

#[test]
fn large_transfers_are_split_over_several_messages() {
    // One diverged document with more changes than one message may carry,
    // plus documents only on B: the initiator's answer is split (continued
    // parts), and the responder waits for the last part before answering.
    let mut diffs = vec![Diff::Diverged];
    diffs.extend([Diff::OnlyB; 20]);
    let (mut a, mut b, author) = pair(40, &diffs, MAX_CHANGES_PER_MESSAGE + 100);
    let before = (a.clone(), b.clone());
    let (stats, responder) = sync(&mut a, &mut b, author.community).unwrap();
    assert_converged(&a, &b, (&before.0, &before.1));
    assert!(stats.messages_sent >= 4, "{stats:?}");
    // B's own branch of the diverged document, and the 20 documents only B has.
    assert_eq!(responder.changes_sent, (MAX_CHANGES_PER_MESSAGE + 101 + 20) as u64);
}

// ---- cost ----

fn measure(n: usize, d: usize) -> SyncStats {
    let (mut a, mut b, author) = pair(n, &mixed_diffs(d), 0);
    let before = (a.clone(), b.clone());
    let (stats, _) = sync(&mut a, &mut b, author.community).unwrap();
    assert_converged(&a, &b, (&before.0, &before.1));
    stats
}

#[test]
fn cost_follows_differences_not_documents() {
    let mut table = Vec::new();
    for (n, d) in [
        (200, 0),
        (2000, 0),
        (200, 1),
        (2000, 1),
        (200, 10),
        (2000, 10),
        (2000, 100),
    ] {
        let stats = measure(n, d);
        println!(
            "N={n:5} d={d:3}: {:6} bytes ({:5} reconciliation), {} round trips, {} docs / {} changes sent, {} docs / {} changes received",
            stats.total_bytes(),
            stats.reconcile_bytes,
            stats.rounds(),
            stats.docs_sent,
            stats.changes_sent,
            stats.docs_received,
            stats.changes_received
        );
        table.push(((n, d), stats));
    }
    let get = |n, d| {
        table
            .iter()
            .find(|(key, _)| *key == (n, d))
            .map(|(_, stats)| *stats)
            .unwrap()
    };
    for d in [0, 1, 10] {
        let (small, large) = (get(200, d), get(2000, d));
        // Ten times the documents: at most one more round trip, and bytes
        // that grow with log16(N) per difference, not with N.
        assert!(large.rounds() <= small.rounds() + 1, "d={d}: {small:?} vs {large:?}");
        assert!(large.rounds() <= 5);
        assert!(
            large.total_bytes() <= 3 * small.total_bytes() + 1024,
            "d={d}: {} vs {} bytes",
            small.total_bytes(),
            large.total_bytes()
        );
    }
    // Nothing differs: one round trip of a few hundred bytes, whatever N.
    assert!(get(2000, 0).total_bytes() < 512);
    // Bytes grow with d.
    assert!(get(2000, 100).total_bytes() > 5 * get(2000, 10).total_bytes());
}

// ---- hostile and broken input ----

fn open_frame() -> (Vec<u8>, MemorySource, MemorySource, CommunityId) {
    let (a, b, author) = pair(50, &mixed_diffs(10), 0);
    let (_, frame) = Session::initiate(author.community, &a).unwrap();
    (frame, a, b, author.community)
}

#[test]
fn garbage_and_truncations_are_refused() {
    assert!(matches!(Message::decode(&[]), Err(Error::Malformed(_))));
    assert!(matches!(
        Message::decode(&[WIRE_VERSION, 0xff, 0xff]),
        Err(Error::Malformed(_))
    ));
    let (frame, _, b, community) = open_frame();
    for cut in 0..frame.len() {
        assert!(
            Message::decode(&frame[..cut]).is_err(),
            "a frame cut at {cut} was accepted"
        );
        let mut responder = Session::respond(community);
        assert!(responder.handle(&frame[..cut], &b).is_err());
        assert!(matches!(responder.handle(&frame, &b), Err(Error::Finished)));
    }
    let mut trailing = frame.clone();
    trailing.push(0);
    assert!(matches!(Message::decode(&trailing), Err(Error::Malformed(_))));
}

#[test]
fn oversized_frames_are_refused_before_decoding() {
    let frame = vec![WIRE_VERSION; MAX_FRAME_BYTES + 1];
    assert!(matches!(Message::decode(&frame), Err(Error::FrameTooLarge { .. })));
    let mut responder = Session::respond(CommunityId([0; 32]));
    assert!(matches!(
        responder.handle(&frame, &MemorySource::default()),
        Err(Error::FrameTooLarge { .. })
    ));
}

#[test]
fn other_versions_are_refused_by_name() {
    let (mut frame, _, b, community) = open_frame();
    for version in [1, WIRE_VERSION + 1] {
        frame[0] = version;
        assert!(matches!(Message::decode(&frame), Err(Error::UnsupportedVersion(v)) if v == version));
        let mut responder = Session::respond(community);
        assert!(matches!(
            responder.handle(&frame, &b),
            Err(Error::UnsupportedVersion(v)) if v == version
        ));
    }
}

#[test]
fn limits_are_checked_on_decode() {
    let heads = Message::Request(Request {
        offers: vec![Offer {
            doc: DocId([1; 32]),
            heads: vec![[0; 32]; MAX_HEADS + 1],
        }],
        ..Request::default()
    });
    assert!(matches!(
        Message::decode(&heads.encode()),
        Err(Error::TooManyHeads { .. })
    ));

    let (a, _, _) = pair(1, &[], 0);
    let doc = a.docs.values().next().unwrap();
    let part = DocPart {
        doc: doc.header.id(),
        header: None,
        heads: vec![],
        changes: vec![doc.changes[0].clone(); MAX_CHANGES_PER_MESSAGE + 1],
        continued: false,
        send_yours: false,
    };
    let many = Message::Response(Response {
        parts: vec![part.clone()],
        ..Response::default()
    });
    assert!(matches!(
        Message::decode(&many.encode()),
        Err(Error::TooManyChanges { .. })
    ));

    // Changes travel without a document id: whatever a sender meant, the
    // receiver files each change under its part's document, where a
    // signature made for another document does not verify.
    let misfiled = Message::Response(Response {
        parts: vec![DocPart {
            doc: DocId([3; 32]),
            changes: vec![doc.changes[0].clone()],
            ..part.clone()
        }],
        ..Response::default()
    });
    let Ok(Message::Response(decoded)) = Message::decode(&misfiled.encode()) else {
        panic!("a part with one change did not decode");
    };
    assert!(
        decoded.parts[0]
            .changes
            .iter()
            .all(|change| change.doc == DocId([3; 32]))
    );

    let wrong_header = Message::Response(Response {
        parts: vec![DocPart {
            doc: DocId([3; 32]),
            header: Some(doc.header.clone()),
            changes: vec![],
            ..part
        }],
        ..Response::default()
    });
    assert!(matches!(
        Message::decode(&wrong_header.encode()),
        Err(Error::Malformed(_))
    ));

    let huge_reconcile = Message::Request(Request {
        reconcile: Some(vec![0x61; MAX_RECONCILE_BYTES + 1]),
        ..Request::default()
    });
    assert!(matches!(
        Message::decode(&huge_reconcile.encode()),
        Err(Error::Malformed(_))
    ));
}

/// A part carrying `count` copies of one change, with its header.
fn part_of_copies(count: usize) -> DocPart {
    let (a, _, _) = pair(1, &[], 0);
    let doc = a.docs.values().next().unwrap();
    DocPart {
        doc: doc.header.id(),
        header: Some(doc.header.clone()),
        heads: vec![],
        changes: vec![doc.changes[0].clone(); count],
        continued: false,
        send_yours: false,
    }
}

#[test]
fn batches_of_changes_travel_compressed_and_come_back_whole() {
    let message = Message::Response(Response {
        parts: vec![part_of_copies(50)],
        ..Response::default()
    });
    let frame = message.encode();
    assert_eq!(frame[1], message::ZSTD);
    let plain = postcard::to_stdvec(&message).unwrap();
    assert!(
        frame.len() * 10 < plain.len(),
        "{} of {} bytes",
        frame.len(),
        plain.len()
    );
    assert_eq!(Message::decode(&frame).unwrap(), message);

    // Small messages (mostly hashes) go out as they are.
    let small = Message::Response(Response::default());
    assert_eq!(small.encode()[1], message::PLAIN);
    assert_eq!(Message::decode(&small.encode()).unwrap(), small);
}

#[test]
fn a_part_with_its_header_does_not_repeat_the_document_id() {
    let part = part_of_copies(1);
    let with_header = postcard::to_stdvec(&part).unwrap().len();
    let without = postcard::to_stdvec(&DocPart {
        header: None,
        ..part.clone()
    })
    .unwrap()
    .len();
    let header = part.header.as_ref().unwrap().encode().len();
    // The id (32 bytes) goes only when the header cannot give it.
    assert_eq!(with_header, without + header - 32);
    let decoded: DocPart = postcard::from_bytes(&postcard::to_stdvec(&part).unwrap()).unwrap();
    assert_eq!(decoded, part);
}

#[test]
fn decompression_bombs_are_refused_before_inflating() {
    // 64 MiB of zeros compress to a few kilobytes: a small frame that would
    // make us hold 16 times the message limit.
    let bomb = zstd::bulk::compress(&vec![0u8; 64 * 1024 * 1024], 3).unwrap();
    let mut frame = vec![WIRE_VERSION, message::ZSTD];
    frame.extend_from_slice(&bomb);
    assert!(frame.len() < MAX_FRAME_BYTES);
    assert!(matches!(Message::decode(&frame), Err(Error::MessageTooLarge { .. })));

    // The same without the size in the zstd header: refused while inflating.
    use std::io::Read;
    let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
    encoder.include_contentsize(false).unwrap();
    std::io::copy(&mut std::io::repeat(0).take(64 * 1024 * 1024), &mut encoder).unwrap();
    let mut frame = vec![WIRE_VERSION, message::ZSTD];
    frame.extend_from_slice(&encoder.finish().unwrap());
    assert!(matches!(Message::decode(&frame), Err(Error::Malformed(_))));

    // A message just over the limit, honestly compressed, is refused too.
    let mut frame = vec![WIRE_VERSION, message::ZSTD];
    frame.extend_from_slice(&zstd::bulk::compress(&vec![7u8; MAX_MESSAGE_BYTES + 1], 3).unwrap());
    assert!(matches!(
        Message::decode(&frame),
        Err(Error::MessageTooLarge { size }) if size == MAX_MESSAGE_BYTES + 1
    ));
    let mut responder = Session::respond(CommunityId([0; 32]));
    assert!(matches!(
        responder.handle(&frame, &MemorySource::default()),
        Err(Error::MessageTooLarge { .. })
    ));
}

#[test]
fn a_new_member_gets_everything_without_reconciling() {
    let (mut full, _, author) = pair(300, &[], 2);
    let mut empty = MemorySource::default();
    let before = (empty.clone(), full.clone());
    let (stats, _) = sync(&mut empty, &mut full, author.community).unwrap();
    assert_converged(&empty, &full, (&before.0, &before.1));
    // No negentropy beyond the opening, no item ids asked for: one round
    // trip carries every document.
    assert_eq!(stats.rounds(), 1, "{stats:?}");
    assert_eq!(stats.docs_received, 300);
    assert!(stats.reconcile_bytes < 64, "{stats:?}");
}

/// A store that reads few whole documents at a time, as one does once their
/// changes reach the byte bound; it counts its reads.
struct StingySource {
    inner: MemorySource,
    reads: std::cell::Cell<usize>,
}

impl DocSource for StingySource {
    fn items(&self, community: &CommunityId) -> Result<Vec<(DocId, Vec<ChangeHash>)>, SourceError> {
        self.inner.items(community)
    }

    fn header(&self, doc: &DocId) -> Result<Option<DocHeader>, SourceError> {
        self.inner.header(doc)
    }

    fn heads(&self, doc: &DocId) -> Result<Vec<ChangeHash>, SourceError> {
        self.inner.heads(doc)
    }

    fn has_changes(&self, doc: &DocId, hashes: &[ChangeHash]) -> Result<bool, SourceError> {
        self.inner.has_changes(doc, hashes)
    }

    fn changes_since(&self, doc: &DocId, their_heads: &[ChangeHash]) -> Result<Vec<SignedChange>, SourceError> {
        self.inner.changes_since(doc, their_heads)
    }

    fn whole_documents(&self, docs: &[DocId], max_bytes: usize) -> Result<Vec<WholeDocument>, SourceError> {
        self.reads.set(self.reads.get() + 1);
        self.inner.whole_documents(&docs[..docs.len().min(7)], max_bytes)
    }
}

#[test]
fn a_new_member_gets_every_document_when_the_store_reads_few_at_a_time() {
    let (full, _, author) = pair(100, &[], 0);
    let responder_store = StingySource {
        inner: full.clone(),
        reads: std::cell::Cell::new(0),
    };
    let mut empty = MemorySource::default();
    let (mut initiator, mut frame) = Session::initiate(author.community, &empty).unwrap();
    let mut responder = Session::respond(author.community);
    let mut done = false;
    for _ in 0..MAX_ROUNDS {
        let reply = responder.handle(&frame, &responder_store).unwrap().send.unwrap();
        let step = initiator.handle(&reply, &empty).unwrap();
        empty.ingest(step.received);
        if step.done {
            done = true;
            break;
        }
        frame = step.send.unwrap();
    }
    assert!(done, "the session did not end");
    assert_converged(&empty, &full, (&MemorySource::default(), &full));
    // 100 documents, 7 per read: 15 reads, not one per document.
    assert_eq!(responder_store.reads.get(), 15);
}

#[test]
fn an_empty_initiator_still_refuses_other_communities() {
    // The responder answers an empty opening with documents of another
    // community mixed in: refused, as in any session.
    let (full, _, author) = pair(5, &[], 0);
    let empty = MemorySource::default();
    let (mut initiator, _) = Session::initiate(author.community, &empty).unwrap();
    let mut header = author.new_document(1).header().clone();
    header.community = Some(CommunityId([9; 32]));
    let response = Message::Response(Response {
        parts: vec![DocPart {
            doc: header.id(),
            header: Some(header),
            heads: vec![],
            changes: full.docs.values().next().unwrap().changes.clone(),
            continued: false,
            send_yours: false,
        }],
        ..Response::default()
    });
    let result = initiator.handle(&response.encode(), &empty);
    assert!(matches!(result, Err(Error::Violation(_))), "{result:?}");
}

#[test]
fn messages_out_of_order_are_refused() {
    let (frame, a, b, community) = open_frame();
    let response = Message::Response(Response::default()).encode();
    let request = Message::Request(Request::default()).encode();

    // A responder must start with an open, and get only one.
    let mut responder = Session::respond(community);
    assert!(matches!(responder.handle(&request, &b), Err(Error::OutOfOrder { .. })));
    let mut responder = Session::respond(community);
    assert!(matches!(responder.handle(&response, &b), Err(Error::OutOfOrder { .. })));
    let mut responder = Session::respond(community);
    let _ = responder.handle(&frame, &b).unwrap();
    assert!(matches!(responder.handle(&frame, &b), Err(Error::OutOfOrder { .. })));

    // An initiator only takes responses.
    let (mut initiator, _) = Session::initiate(community, &a).unwrap();
    assert!(matches!(initiator.handle(&frame, &a), Err(Error::OutOfOrder { .. })));
    let (mut initiator, _) = Session::initiate(community, &a).unwrap();
    assert!(matches!(initiator.handle(&request, &a), Err(Error::OutOfOrder { .. })));

    // Another community.
    let mut responder = Session::respond(CommunityId([0; 32]));
    assert!(matches!(responder.handle(&frame, &b), Err(Error::WrongCommunity)));

    // A peer asking for a document nobody offered.
    let (mut initiator, _) = Session::initiate(community, &a).unwrap();
    let ask = Message::Response(Response {
        parts: vec![DocPart {
            doc: DocId([5; 32]),
            header: None,
            heads: vec![],
            changes: vec![],
            continued: false,
            send_yours: true,
        }],
        ..Response::default()
    });
    assert!(matches!(initiator.handle(&ask.encode(), &a), Err(Error::Violation(_))));

    // A responder told about items it never had.
    let mut responder = Session::respond(community);
    let _ = responder.handle(&frame, &b).unwrap();
    let want = Message::Request(Request {
        wants: vec![[0xee; 32]],
        ..Request::default()
    });
    assert!(matches!(responder.handle(&want.encode(), &b), Err(Error::Violation(_))));

    // A finished session takes nothing more.
    let (mut x, mut y) = (MemorySource::default(), MemorySource::default());
    let (mut initiator, frame) = Session::initiate(community, &x).unwrap();
    let mut responder = Session::respond(community);
    let reply = responder.handle(&frame, &y).unwrap();
    assert!(reply.done);
    let step = initiator.handle(&reply.send.unwrap(), &x).unwrap();
    assert!(step.done && step.send.is_none());
    assert!(matches!(initiator.handle(&response, &x), Err(Error::Finished)));
    assert!(matches!(responder.handle(&request, &y), Err(Error::Finished)));
    x.ingest(vec![]);
    y.ingest(vec![]);
}

#[test]
fn endless_sessions_are_cut_at_the_round_limit() {
    let (a, _, _) = pair(40, &[], 0);
    let community = Author::new().community;
    let (mut initiator, _) = Session::initiate(community, &a).unwrap();
    // A responder that never says done and keeps the initiator polling.
    let mut last = Ok(Step::default());
    for _ in 0..=MAX_ROUNDS {
        last = initiator.handle(&Message::Response(Response::default()).encode(), &a);
        if last.is_err() {
            break;
        }
    }
    assert!(matches!(last, Err(Error::TooManyRounds)));
}

/// Every frame of a real session, both directions, in order.
fn recorded_frames() -> (Vec<Vec<u8>>, MemorySource, MemorySource, CommunityId) {
    let (mut a, mut b, author) = pair(40, &mixed_diffs(15), 1);
    let before = (a.clone(), b.clone());
    let (mut initiator, mut frame) = Session::initiate(author.community, &a).unwrap();
    let mut responder = Session::respond(author.community);
    let mut frames = vec![frame.clone()];
    loop {
        let step = responder.handle(&frame, &b).unwrap();
        b.ingest(step.received);
        let reply = step.send.unwrap();
        frames.push(reply.clone());
        let step = initiator.handle(&reply, &a).unwrap();
        a.ingest(step.received);
        if step.done {
            break;
        }
        frame = step.send.unwrap();
        frames.push(frame.clone());
    }
    (frames, before.0, before.1, author.community)
}

/// Replays `frames` into fresh sessions over fresh copies of the stores;
/// any error is fine, a panic is not.
fn replay(frames: &[Vec<u8>], a: &MemorySource, b: &MemorySource, community: CommunityId) {
    let (mut a, mut b) = (a.clone(), b.clone());
    let Ok((mut initiator, _)) = Session::initiate(community, &a) else {
        return;
    };
    let mut responder = Session::respond(community);
    for (index, frame) in frames.iter().enumerate() {
        let result = if index % 2 == 0 {
            responder.handle(frame, &b).map(|step| b.ingest(step.received))
        } else {
            initiator.handle(frame, &a).map(|step| a.ingest(step.received))
        };
        if result.is_err() {
            return;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_splits_always_converge(
        n in 0usize..=300,
        kinds in proptest::collection::vec(0usize..5, 0..=300),
        extra in 0usize..3,
        a_initiates in any::<bool>(),
    ) {
        let diffs: Vec<Diff> = kinds.iter().take(n).map(|&kind| ALL_DIFFS[kind]).collect();
        let (mut a, mut b, author) = pair(n, &diffs, extra);
        let before = (a.clone(), b.clone());
        let (stats, _) = if a_initiates {
            sync(&mut a, &mut b, author.community).unwrap()
        } else {
            sync(&mut b, &mut a, author.community).unwrap()
        };
        assert_converged(&a, &b, (&before.0, &before.1));
        prop_assert!(stats.rounds() <= 4, "{:?}", stats);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), versioned in any::<bool>()) {
        let mut frame = bytes;
        if versioned && !frame.is_empty() {
            frame[0] = WIRE_VERSION;
        }
        let _ = Message::decode(&frame);
        let _ = opening_community(&frame);
        let source = MemorySource::default();
        let _ = Session::respond(CommunityId([0; 32])).handle(&frame, &source);
        let (mut initiator, _) = Session::initiate(CommunityId([0; 32]), &source).unwrap();
        let _ = initiator.handle(&frame, &source);
    }

    #[test]
    fn random_reconciliation_payloads_never_panic(payload in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let (a, b, community) = FIXTURE.with(|fixture| fixture.clone());
        let mut payload = payload;
        if let Some(first) = payload.first_mut() {
            *first = 0x61;
        }
        let open = Message::Open(Open { community, set_digest: [0; 32], reconcile: payload.clone(), empty: false });
        let _ = Session::respond(community).handle(&open.encode(), &b);
        let (mut initiator, _) = Session::initiate(community, &a).unwrap();
        let response = Message::Response(Response { reconcile: Some(payload), ..Response::default() });
        let _ = initiator.handle(&response.encode(), &a);
    }
}

thread_local! {
    static FIXTURE: (MemorySource, MemorySource, CommunityId) = {
        let (a, b, author) = pair(100, &mixed_diffs(20), 0);
        (a, b, author.community)
    };
    static RECORDED: (Vec<Vec<u8>>, MemorySource, MemorySource, CommunityId) = recorded_frames();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn damaged_real_sessions_never_panic(which in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), flip in 1u8..=255, cut in any::<bool>()) {
        RECORDED.with(|(frames, a, b, community)| {
            let mut frames = frames.clone();
            let index = which.index(frames.len());
            let frame = &mut frames[index];
            let position = at.index(frame.len());
            if cut {
                frame.truncate(position);
            } else {
                frame[position] ^= flip;
            }
            replay(&frames[..=index], a, b, *community);
        });
    }
}

// ---- refusals ----

#[test]
fn every_refusal_reason_round_trips_and_reads_as_a_reason() {
    for reason in [Refusal::NotAMember, Refusal::NoSession, Refusal::CommunityMismatch] {
        let bytes = postcard::to_allocvec(&reason).unwrap();
        assert_eq!(postcard::from_bytes::<Refusal>(&bytes).unwrap(), reason);
        // Logged on the asker's side as a sentence, not a variant name.
        let text = reason.to_string();
        assert!(text.contains(' ') && !text.ends_with('.'), "{text:?}");
    }
    // A reason from a later list is an error, not another reason.
    assert!(postcard::from_bytes::<Refusal>(&[42]).is_err());
}
