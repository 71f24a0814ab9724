//! Real stores syncing through real sessions, in memory: the redb `Store` is
//! the protocol's `DocSource`, every received change goes through
//! `Store::ingest`, and the stores converge, never leak another community's
//! documents, refuse what a hostile peer forges, and pay for differences only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::Path;

use automerge::{ActorId, ChangeHash};
use maillage_crdt::exchange::{self, ExchangeAction};
use maillage_crdt::items::{Offer, OfferKind, OfferState, Profile};
use maillage_crdt::registry::{CommunityGenesis, DeviceCert, Invite, Join, Removal, community_id, invite_proof_digest};
use maillage_crdt::{
    Amount, ChangeRejected, CommunityId, DocHeader, DocId, DocKind, Document, ExchangeTerms, HouseholdId, Record,
    SecretKey, SignedChange, Writer,
};
use maillage_node::Store;
use maillage_node::store::{ApplyReport, COMPACT_AFTER};
use maillage_protocol::sync::{DocSource, MAX_ROUNDS, Session, SourceError, SyncStats, opening_community};

/// Every change in these tests is made at or after this time (ms).
const T0: i64 = 1_700_000_000_000;

// ---- a village: households, devices and the records of two communities ----

struct Village {
    /// Household A (founder, steward) and its two devices.
    a: SecretKey,
    a_devices: [SecretKey; 2],
    /// Household B, a member of both communities.
    b: SecretKey,
    b_device: SecretKey,
    /// Household C, a former member of `community` (removed).
    c: SecretKey,
    c_device: SecretKey,
    /// Household D: certified devices, member of nothing.
    d: SecretKey,
    d_device: SecretKey,
    community: CommunityId,
    /// Another community, of A and B.
    other: CommunityId,
    records: Vec<Record>,
}

fn key(seed: u8) -> SecretKey {
    SecretKey::from_bytes(&[seed; 32])
}

/// A steward's invitation, and a join by `joiner` proven with its key.
fn invite_and_join(
    community: CommunityId,
    steward: &SecretKey,
    steward_device: &SecretKey,
    invite_seed: u8,
    joiner: &SecretKey,
    joiner_device: &SecretKey,
    joined_at: i64,
) -> (Record, Record) {
    let invite_key = key(invite_seed);
    let invite = steward_device
        .sign(Invite {
            community,
            inviter: steward.household_id(),
            invite_key: invite_key.public(),
            max_uses: 5,
            created_at: joined_at - 1,
            expires_at: T0 * 2,
        })
        .unwrap();
    let invite_id = Record::Invite(invite.clone()).id();
    let household = joiner.household_id();
    let join = joiner_device
        .sign(Join {
            community,
            household,
            invite: invite.clone(),
            invite_proof: invite_key.sign_digest(&invite_proof_digest(&community, &invite_id, &household)),
            joined_at,
        })
        .unwrap();
    (Record::Invite(invite), Record::Join(join))
}

fn village() -> Village {
    let (a, a_devices) = (key(1), [key(2), key(3)]);
    let (b, b_device) = (key(11), key(12));
    let (c, c_device) = (key(21), key(22));
    let (d, d_device) = (key(31), key(32));
    let mut records = vec![
        Record::DeviceCert(DeviceCert::issue(&a, &a_devices[0], "a1", 0).unwrap()),
        Record::DeviceCert(DeviceCert::issue(&a, &a_devices[1], "a2", 0).unwrap()),
        Record::DeviceCert(DeviceCert::issue(&b, &b_device, "b", 0).unwrap()),
        Record::DeviceCert(DeviceCert::issue(&c, &c_device, "c", 0).unwrap()),
        Record::DeviceCert(DeviceCert::issue(&d, &d_device, "d", 0).unwrap()),
    ];
    let genesis = |name: &str, nonce: u8| CommunityGenesis {
        name: name.into(),
        founder: a.household_id(),
        unit: "heure".into(),
        soft_limit: None,
        hard_limit: None,
        created_at: 1,
        nonce: [nonce; 16],
    };
    let (first, second) = (genesis("Saint-Martin", 0), genesis("Les Granges", 1));
    let (community, other) = (community_id(&first), community_id(&second));
    records.push(Record::Genesis(a_devices[0].sign(first).unwrap()));
    records.push(Record::Genesis(a_devices[0].sign(second).unwrap()));
    for (community, seed, joiner, device, at) in [
        (community, 100, &b, &b_device, 10),
        (community, 101, &c, &c_device, 20),
        (other, 102, &b, &b_device, 30),
    ] {
        let (invite, join) = invite_and_join(community, &a, &a_devices[0], seed, joiner, device, at);
        records.extend([invite, join]);
    }
    records.push(Record::Removal(
        a_devices[0]
            .sign(Removal {
                community,
                household: c.household_id(),
                removed_at: T0 + 10_000_000,
            })
            .unwrap(),
    ));
    Village {
        a,
        a_devices,
        b,
        b_device,
        c,
        c_device,
        d,
        d_device,
        community,
        other,
        records,
    }
}

fn offer(title: &str, at: i64) -> Offer {
    Offer {
        title: title.into(),
        description: format!("{title}: bon état, à prendre au village"),
        category: "outils".into(),
        kind: OfferKind::Lend,
        place: None,
        price: None,
        until: None,
        state: OfferState::Open,
        ride: None,
        group_buy: None,
        created_at: at,
        updated_at: at,
        deleted: false,
    }
}

fn profile(name: &str, at: i64) -> Profile {
    Profile {
        name: name.into(),
        place: Some("Le Bourg".into()),
        description: String::new(),
        updated_at: at,
    }
}

fn offer_header(owner: &SecretKey, community: CommunityId, index: u32) -> DocHeader {
    let mut nonce = [0; 16];
    nonce[..4].copy_from_slice(&index.to_le_bytes());
    DocHeader::item(DocKind::Offer, owner.household_id(), community, T0, nonce)
}

// ---- a node: a store on a redb file, with one device writing ----

struct Node {
    store: Store,
    device: SecretKey,
    /// The next automerge actor id: a fresh one per write, distinct per node.
    actor: u64,
}

impl Node {
    fn open(dir: &Path, name: &str, village: &Village, device: &SecretKey, actor_base: u64) -> Node {
        let store = Store::open(&dir.join(format!("{name}.redb"))).unwrap();
        let report = store.ingest(village.records.clone(), vec![]).unwrap();
        assert_eq!(report.rejected_records, 0);
        assert_eq!(report.new_records.len(), village.records.len());
        Node {
            store,
            device: device.clone(),
            actor: actor_base << 32,
        }
    }

    /// Makes one change to the document `header` names (loading it from the
    /// store if it is there), stores it through `ingest`, and returns it.
    fn edit(
        &mut self,
        header: &DocHeader,
        now_ms: i64,
        make: impl FnOnce(&mut Document, &Writer<'_>) -> SignedChange,
    ) -> SignedChange {
        self.actor += 1;
        let mut document = self
            .store
            .load(&header.id())
            .unwrap()
            .unwrap_or_else(|| Document::new(header.clone()));
        let writer = Writer {
            device: &self.device,
            actor: ActorId::from(self.actor.to_be_bytes().as_slice()),
            now_ms,
        };
        let change = make(&mut document, &writer);
        let report = self
            .store
            .ingest(vec![], vec![(header.clone(), vec![change.clone()])])
            .unwrap();
        assert_eq!(report.applied, 1, "{:?}", report.rejected);
        change
    }

    fn write_offer(&mut self, header: &DocHeader, body: &Offer) -> SignedChange {
        let now = body.updated_at;
        self.edit(header, now, |document, writer| {
            document.write(body, writer).unwrap().expect("the offer changed")
        })
    }

    fn write_profile(&mut self, owner: HouseholdId, body: &Profile) -> SignedChange {
        self.edit(&DocHeader::profile(owner), body.updated_at, |document, writer| {
            document.write(body, writer).unwrap().expect("the profile changed")
        })
    }

    fn act(&mut self, header: &DocHeader, party: HouseholdId, action: ExchangeAction, now_ms: i64) -> SignedChange {
        self.edit(header, now_ms, |document, writer| {
            exchange::act(document, &party, action, writer).unwrap()
        })
    }
}

// ---- driving sessions between two peers ----

/// What the session driver needs from each side: a source to answer from,
/// and the store that takes what arrives.
trait Peer {
    fn source(&self) -> &dyn DocSource;
    fn store(&mut self) -> &mut Store;
}

impl Peer for Node {
    fn source(&self) -> &dyn DocSource {
        &self.store
    }

    fn store(&mut self) -> &mut Store {
        &mut self.store
    }
}

/// One finished session: each side's cost, and what each side's store said
/// of what it received.
#[derive(Debug, Default)]
struct Outcome {
    initiator: SyncStats,
    responder: SyncStats,
    initiator_got: ApplyReport,
    responder_got: ApplyReport,
}

impl Outcome {
    fn bytes(&self) -> u64 {
        self.initiator.total_bytes()
    }
}

fn absorb(total: &mut ApplyReport, report: ApplyReport) {
    total.applied += report.applied;
    total.duplicates += report.duplicates;
    total.rejected.extend(report.rejected);
    total.touched.extend(report.touched);
}

/// Runs one session for `community`, `a` initiating, frames passed as bytes;
/// every step's documents go to the receiving store's `ingest` before the
/// next frame is handled.
fn sync(a: &mut dyn Peer, b: &mut dyn Peer, community: CommunityId) -> Outcome {
    let mut outcome = Outcome::default();
    let (mut initiator, mut frame) = Session::initiate(community, a.source()).unwrap();
    assert_eq!(opening_community(&frame).unwrap(), community);
    let mut responder = Session::respond(community);
    for _ in 0..MAX_ROUNDS {
        let step = responder.handle(&frame, b.source()).unwrap();
        absorb(
            &mut outcome.responder_got,
            b.store().ingest(vec![], step.received).unwrap(),
        );
        let reply = step.send.expect("the responder answers every message");
        let step = initiator.handle(&reply, a.source()).unwrap();
        absorb(
            &mut outcome.initiator_got,
            a.store().ingest(vec![], step.received).unwrap(),
        );
        if step.done {
            assert!(responder.is_done(), "the initiator ended before the responder");
            outcome.initiator = initiator.stats();
            outcome.responder = responder.stats();
            return outcome;
        }
        frame = step.send.expect("the initiator sends until done");
    }
    panic!("the session did not end");
}

/// Every document a store shares with `community`, with its heads (sorted),
/// after checking the heads kept in `heads-1` against the automerge document.
fn state(store: &Store, community: &CommunityId) -> BTreeMap<DocId, Vec<ChangeHash>> {
    let mut items = BTreeMap::new();
    for (doc, heads) in store.sync_items(community).unwrap() {
        let mut loaded = store.load(&doc).unwrap().expect("a listed document loads").heads();
        loaded.sort();
        assert_eq!(heads, loaded, "heads-1 is out of date for {doc:?}");
        assert_eq!(store.heads(&doc).unwrap(), heads);
        assert!(items.insert(doc, heads).is_none(), "{doc:?} listed twice");
    }
    items
}

fn assert_converged(stores: &[&Store], community: &CommunityId) -> BTreeMap<DocId, Vec<ChangeHash>> {
    let first = state(stores[0], community);
    for (index, store) in stores.iter().enumerate().skip(1) {
        assert_eq!(state(store, community), first, "store {index} differs from store 0");
    }
    first
}

fn print(label: &str, outcome: &Outcome) {
    let (i, r) = (&outcome.initiator, &outcome.responder);
    println!(
        "{label}: {} bytes in {} round trips ({} reconciliation), {} docs differing; \
         initiator sent {} changes, received {}; responder sent {} changes, received {}",
        i.total_bytes(),
        i.rounds(),
        i.reconcile_bytes,
        i.differing_docs,
        i.changes_sent,
        i.changes_received,
        r.changes_sent,
        r.changes_received,
    );
}

// ---- the tests ----

#[test]
fn two_stores_converge_and_never_leak_another_community() {
    let v = village();
    let dir = tempfile::tempdir().unwrap();
    let mut a = Node::open(dir.path(), "a", &v, &v.a_devices[0], 1);
    let mut b = Node::open(dir.path(), "b", &v, &v.b_device, 2);
    let (ha, hb) = (v.a.household_id(), v.b.household_id());

    // One offer both already hold.
    let shared = offer_header(&v.a, v.community, 0);
    let first = a.write_offer(&shared, &offer("Échelle", T0));
    b.store.ingest(vec![], vec![(shared.clone(), vec![first])]).unwrap();

    // A: offers, its profile, an exchange with B; an offer in the other
    // community; the profile of D, who belongs to no community.
    let a_offers: Vec<DocHeader> = (1..=3).map(|i| offer_header(&v.a, v.community, i)).collect();
    for (i, header) in a_offers.iter().enumerate() {
        a.write_offer(header, &offer(&format!("Outil {i}"), T0 + 1000 * i as i64));
    }
    a.write_offer(&shared, &offer("Échelle double", T0 + 5000));
    a.write_profile(ha, &profile("Les Martin", T0 + 6000));
    let deal = DocHeader {
        kind: DocKind::Exchange,
        community: Some(v.community),
        owner: ha,
        created_at: T0,
        nonce: [9; 16],
        parent: None,
        terms: Some(ExchangeTerms {
            counterparty: hb,
            provider: ha,
            amount: Amount(150),
            note: "prêt de l'échelle".into(),
            about: Some(shared.id()),
        }),
    };
    a.act(&deal, ha, ExchangeAction::Propose, T0 + 7000);
    let elsewhere = offer_header(&v.a, v.other, 50);
    a.write_offer(&elsewhere, &offer("Pressoir", T0 + 8000));
    let stranger = DocHeader::profile(v.d.household_id());
    let mut d_profile = Document::new(stranger.clone());
    let d_writer = Writer {
        device: &v.d_device,
        actor: ActorId::from([0xd0; 16].as_slice()),
        now_ms: T0,
    };
    let d_change = d_profile.write(&profile("Inconnus", T0), &d_writer).unwrap().unwrap();
    let report = a
        .store
        .ingest(vec![], vec![(stranger.clone(), vec![d_change])])
        .unwrap();
    assert_eq!(report.applied, 1, "a certified household's profile is stored");

    // B: offers, its profile, and the profile of C (a former member).
    let b_offers: Vec<DocHeader> = (1..=2).map(|i| offer_header(&v.b, v.community, i)).collect();
    for (i, header) in b_offers.iter().enumerate() {
        b.write_offer(header, &offer(&format!("Vélo {i}"), T0 + 1500 * i as i64));
    }
    b.write_profile(hb, &profile("Les Bernard", T0 + 2000));
    let c_header = DocHeader::profile(v.c.household_id());
    let mut c_profile = Document::new(c_header.clone());
    let c_writer = Writer {
        device: &v.c_device,
        actor: ActorId::from([0xc0; 16].as_slice()),
        now_ms: T0,
    };
    let c_change = c_profile
        .write(&profile("Les Charron", T0), &c_writer)
        .unwrap()
        .unwrap();
    b.store
        .ingest(vec![], vec![(c_header.clone(), vec![c_change])])
        .unwrap();

    let outcome = sync(&mut a, &mut b, v.community);
    print("first sync", &outcome);
    assert!(outcome.initiator_got.rejected.is_empty() && outcome.responder_got.rejected.is_empty());
    let converged = assert_converged(&[&a.store, &b.store], &v.community);
    // 1 shared + 3 + 2 offers, the exchange, and the profiles of A, B and C.
    assert_eq!(converged.len(), 10, "{converged:?}");
    for id in [
        DocHeader::profile(ha).id(),
        DocHeader::profile(hb).id(),
        c_header.id(),
        deal.id(),
    ] {
        assert!(converged.contains_key(&id));
    }
    assert!(
        b.store.header(&elsewhere.id()).unwrap().is_none(),
        "another community's offer leaked"
    );
    assert!(
        b.store.header(&stranger.id()).unwrap().is_none(),
        "a non-member's profile leaked"
    );
    assert!(a.store.header(&elsewhere.id()).unwrap().is_some());
    assert_eq!(b.store.summary(&deal.id()).unwrap().unwrap().state, "proposed");
    assert_eq!(b.store.summary(&shared.id()).unwrap().unwrap().title, "Échelle double");

    // Both sides move on concurrently; B initiates this time.
    b.act(&deal, hb, ExchangeAction::Accept, T0 + 20_000);
    b.write_profile(hb, &profile("Famille Bernard", T0 + 21_000));
    a.write_offer(&a_offers[0], &offer("Outil 0, réparé", T0 + 22_000));
    let outcome = sync(&mut b, &mut a, v.community);
    print("second sync", &outcome);
    assert_eq!(outcome.initiator.changes_sent + outcome.initiator.changes_received, 3);
    assert_converged(&[&a.store, &b.store], &v.community);
    for node in [&a, &b] {
        assert_eq!(node.store.summary(&deal.id()).unwrap().unwrap().state, "accepted");
        assert_eq!(
            node.store.summary(&DocHeader::profile(hb).id()).unwrap().unwrap().title,
            "Famille Bernard"
        );
    }

    // Right after a full sync: one round trip, nothing moves.
    let outcome = sync(&mut a, &mut b, v.community);
    print("sync with nothing to do", &outcome);
    assert_eq!(outcome.initiator.rounds(), 1);
    assert_eq!(
        outcome.initiator.changes_received + outcome.responder.changes_received,
        0
    );
    assert!(outcome.bytes() < 1000, "{} bytes", outcome.bytes());

    // The other community syncs on its own: its offer reaches B now.
    let outcome = sync(&mut b, &mut a, v.other);
    print("other community", &outcome);
    assert_eq!(outcome.initiator.changes_received, 1);
    let other = assert_converged(&[&a.store, &b.store], &v.other);
    assert!(other.contains_key(&elsewhere.id()));
    assert!(!other.contains_key(&shared.id()));
    assert!(
        !other.contains_key(&c_header.id()),
        "C never was a member of the other community"
    );
}

#[test]
fn three_stores_converge_with_concurrent_edits() {
    let v = village();
    let dir = tempfile::tempdir().unwrap();
    // Two devices of household A on two machines, and household B.
    let mut a1 = Node::open(dir.path(), "a1", &v, &v.a_devices[0], 1);
    let mut a2 = Node::open(dir.path(), "a2", &v, &v.a_devices[1], 2);
    let mut b = Node::open(dir.path(), "b", &v, &v.b_device, 3);
    let ha = v.a.household_id();

    let saw = offer_header(&v.a, v.community, 1);
    a1.write_offer(&saw, &offer("Scie", T0));
    a1.write_profile(ha, &profile("Les Martin", T0));
    sync(&mut a1, &mut a2, v.community);
    sync(&mut a2, &mut b, v.community);
    assert_converged(&[&a1.store, &a2.store, &b.store], &v.community);

    // Concurrent edits of the same offer on A's two machines, and of A's
    // profile; new offers on every side.
    let mut retitled = offer("Scie égoïne", T0 + 10_000);
    retitled.description = "Scie: bon état, à prendre au village".into();
    a1.write_offer(&saw, &retitled);
    let mut moved = offer("Scie", T0 + 11_000);
    moved.place = Some("La Forge".into());
    a2.write_offer(&saw, &moved);
    a1.write_profile(ha, &profile("Les Martin-Durand", T0 + 12_000));
    a2.write_offer(&offer_header(&v.a, v.community, 2), &offer("Brouette", T0 + 13_000));
    b.write_offer(&offer_header(&v.b, v.community, 1), &offer("Tondeuse", T0 + 14_000));
    a1.write_offer(&offer_header(&v.a, v.community, 3), &offer("Perceuse", T0 + 15_000));

    // A ring, then once more around for what the first pass could not carry.
    for round in 0..2 {
        let outcome = sync(&mut a1, &mut b, v.community);
        print(&format!("ring {round}: a1 → b"), &outcome);
        let outcome = sync(&mut b, &mut a2, v.community);
        print(&format!("ring {round}: b → a2"), &outcome);
        let outcome = sync(&mut a2, &mut a1, v.community);
        print(&format!("ring {round}: a2 → a1"), &outcome);
    }
    let converged = assert_converged(&[&a1.store, &a2.store, &b.store], &v.community);
    assert_eq!(converged.len(), 5, "4 offers and A's profile");
    assert_eq!(converged[&saw.id()].len(), 2, "the concurrent edits are both heads");
    for node in [&a1, &a2, &b] {
        let merged: Offer = node.store.load(&saw.id()).unwrap().unwrap().read().unwrap();
        assert_eq!(merged.title, "Scie égoïne");
        assert_eq!(merged.place.as_deref(), Some("La Forge"));
    }
    // Converged: every pair agrees in one round trip.
    assert_eq!(sync(&mut a1, &mut a2, v.community).initiator.rounds(), 1);
    assert_eq!(sync(&mut a2, &mut b, v.community).initiator.rounds(), 1);
    assert_eq!(sync(&mut b, &mut a1, v.community).initiator.rounds(), 1);
}

// ---- a hostile peer ----

/// B's node, answering honestly except that every document it sends carries
/// forged changes too: a change of another document re-targeted at this one,
/// a change by an uncertified device, and a change claiming to be by one of
/// A's devices with a signature that is not.
struct Hostile {
    node: Node,
    /// Changes of a document both sides hold, to re-target (one per forgery,
    /// so the session does not drop repeats).
    loot: Vec<SignedChange>,
    stranger: SecretKey,
    impersonated: maillage_crdt::DeviceId,
    forged: Cell<usize>,
    forged_hashes: std::cell::RefCell<Vec<(DocId, ChangeHash)>>,
}

impl Hostile {
    fn forgeries(&self, doc: &DocId) -> Vec<SignedChange> {
        let n = self.forged.get();
        self.forged.set(n + 1);
        let header = self.node.store.header(doc).unwrap().unwrap();
        let mut retargeted = self.loot[n].clone();
        retargeted.doc = *doc;
        // Standalone changes made on a blank copy of the document.
        let made = |device: &SecretKey, actor: u8, title: &str| {
            let mut blank = Document::new(header.clone());
            let writer = Writer {
                device,
                actor: ActorId::from([actor; 16].as_slice()),
                now_ms: T0 + 50_000,
            };
            let body = offer(title, T0 + 50_000);
            let change = match header.kind {
                DocKind::Profile => blank.write(&profile(title, T0 + 50_000), &writer),
                _ => blank.write(&body, &writer),
            };
            change.unwrap().unwrap()
        };
        let by_stranger = made(&self.stranger, 0xee, &format!("Arnaque {n}"));
        let mut impersonation = made(&self.stranger, 0xef, &format!("Faux {n}"));
        impersonation.signer = self.impersonated;
        let mut hashes = self.forged_hashes.borrow_mut();
        for forged in [&retargeted, &by_stranger, &impersonation] {
            let hash = automerge::Change::from_bytes(forged.change.clone()).unwrap().hash();
            hashes.push((*doc, hash));
        }
        vec![retargeted, by_stranger, impersonation]
    }
}

impl DocSource for Hostile {
    fn items(&self, community: &CommunityId) -> Result<Vec<(DocId, Vec<ChangeHash>)>, SourceError> {
        DocSource::items(&self.node.store, community)
    }

    fn header(&self, doc: &DocId) -> Result<Option<DocHeader>, SourceError> {
        DocSource::header(&self.node.store, doc)
    }

    fn heads(&self, doc: &DocId) -> Result<Vec<ChangeHash>, SourceError> {
        DocSource::heads(&self.node.store, doc)
    }

    fn has_changes(&self, doc: &DocId, hashes: &[ChangeHash]) -> Result<bool, SourceError> {
        DocSource::has_changes(&self.node.store, doc, hashes)
    }

    fn changes_since(&self, doc: &DocId, their_heads: &[ChangeHash]) -> Result<Vec<SignedChange>, SourceError> {
        let mut changes = DocSource::changes_since(&self.node.store, doc, their_heads)?;
        if !changes.is_empty() {
            changes.extend(self.forgeries(doc));
        }
        Ok(changes)
    }
}

impl Peer for Hostile {
    fn source(&self) -> &dyn DocSource {
        self
    }

    fn store(&mut self) -> &mut Store {
        &mut self.node.store
    }
}

#[test]
fn forged_changes_from_a_hostile_peer_are_refused_and_honest_ones_converge() {
    let v = village();
    let dir = tempfile::tempdir().unwrap();
    let mut a = Node::open(dir.path(), "a", &v, &v.a_devices[0], 1);
    let b = Node::open(dir.path(), "b", &v, &v.b_device, 2);
    let hb = v.b.household_id();

    let mut hostile = Hostile {
        node: b,
        loot: Vec::new(),
        stranger: key(99),
        impersonated: v.a_devices[0].device_id(),
        forged: Cell::new(0),
        forged_hashes: Default::default(),
    };
    // A document both hold, with changes to re-target.
    let shared = offer_header(&v.b, v.community, 0);
    for i in 0..8 {
        let change = hostile.node.write_offer(&shared, &offer(&format!("Bêche {i}"), T0 + i));
        hostile.loot.push(change);
    }
    a.store
        .ingest(vec![], vec![(shared.clone(), hostile.loot.clone())])
        .unwrap();
    // What B has and A lacks: three offers, an edit, B's profile.
    for i in 1..=3 {
        hostile.node.write_offer(
            &offer_header(&v.b, v.community, i),
            &offer(&format!("Râteau {i}"), T0 + 100 * i as i64),
        );
    }
    hostile.node.write_offer(
        &offer_header(&v.b, v.community, 1),
        &offer("Râteau 1 (prêté)", T0 + 1000),
    );
    hostile.node.write_profile(hb, &profile("Les Bernard", T0 + 2000));
    // And what A has that B lacks.
    a.write_offer(&offer_header(&v.a, v.community, 1), &offer("Hache", T0 + 3000));

    let outcome = sync(&mut hostile, &mut a, v.community);
    print("hostile sync", &outcome);
    let got = &outcome.responder_got;
    let sent_docs = hostile.forged.get();
    assert_eq!(sent_docs, 4, "three offers and a profile went out, each with forgeries");
    assert_eq!(got.rejected.len(), 3 * sent_docs, "{:?}", got.rejected);
    let count = |wanted: ChangeRejected| got.rejected.iter().filter(|(_, why)| *why == wanted).count();
    assert_eq!(
        count(ChangeRejected::BadSignature),
        2 * sent_docs,
        "re-targeted and impersonated"
    );
    assert_eq!(count(ChangeRejected::UnknownDevice), sent_docs);
    assert_eq!(got.applied, 5, "every honest change was stored");
    for (doc, hash) in hostile.forged_hashes.borrow().iter() {
        assert!(
            !a.store.has_changes(doc, &[*hash]).unwrap(),
            "a forged change was stored"
        );
    }
    assert_converged(&[&a.store, &hostile.node.store], &v.community);

    // Nothing forged stuck: the next session agrees at once.
    let outcome = sync(&mut a, &mut hostile, v.community);
    assert_eq!(outcome.initiator.rounds(), 1);
}

#[test]
fn a_thousand_documents_with_ten_differences_cost_little() {
    let v = village();
    let dir = tempfile::tempdir().unwrap();
    let mut a = Node::open(dir.path(), "a", &v, &v.a_devices[0], 1);
    let mut b = Node::open(dir.path(), "b", &v, &v.b_device, 2);

    // 1,000 offers, half by each household, held by both.
    let mut docs = Vec::new();
    let mut headers = Vec::new();
    for i in 0..1000u32 {
        let (owner, device) = if i % 2 == 0 {
            (&v.a, &v.a_devices[0])
        } else {
            (&v.b, &v.b_device)
        };
        let header = offer_header(owner, v.community, i);
        let mut document = Document::new(header.clone());
        let writer = Writer {
            device,
            actor: ActorId::from((u64::from(i) | 1 << 40).to_be_bytes().as_slice()),
            now_ms: T0 + i64::from(i),
        };
        let change = document
            .write(&offer(&format!("Objet {i}"), T0 + i64::from(i)), &writer)
            .unwrap()
            .unwrap();
        headers.push(header.clone());
        docs.push((header, vec![change]));
    }
    let full_bytes: usize = docs.iter().map(|(_, changes)| changes[0].encode().len()).sum();
    for node in [&mut a, &mut b] {
        let report = node.store.ingest(vec![], docs.clone()).unwrap();
        assert_eq!(report.applied, 1000);
    }
    let outcome = sync(&mut a, &mut b, v.community);
    print("1,000 equal documents", &outcome);
    assert_eq!(outcome.initiator.rounds(), 1);

    // 10 differences: 4 new offers and 3 edits on A, 3 edits on B.
    for i in 0..4 {
        a.write_offer(
            &offer_header(&v.a, v.community, 2000 + i),
            &offer(&format!("Nouveau {i}"), T0 + 10_000),
        );
    }
    for i in [0, 2, 4] {
        a.write_offer(&headers[i], &offer(&format!("Objet {i}, réservé"), T0 + 20_000));
    }
    for i in [1, 3, 5] {
        b.write_offer(&headers[i], &offer(&format!("Objet {i}, prêté"), T0 + 20_000));
    }
    let outcome = sync(&mut a, &mut b, v.community);
    print("1,000 documents, 10 differing", &outcome);
    println!("for comparison, the changes of the 1,000 documents take {full_bytes} bytes");
    assert_eq!(outcome.initiator.changes_sent, 7);
    assert_eq!(outcome.responder.changes_sent, 3);
    assert!(outcome.responder_got.rejected.is_empty() && outcome.initiator_got.rejected.is_empty());
    assert!(
        outcome.bytes() < 16 * 1024,
        "{} bytes for 10 differing documents",
        outcome.bytes()
    );
    assert_converged(&[&a.store, &b.store], &v.community);
    let outcome = sync(&mut b, &mut a, v.community);
    print("1,000 documents, after", &outcome);
    assert_eq!(outcome.initiator.rounds(), 1);
}

#[test]
fn changes_since_reads_compacted_documents_with_their_signatures() {
    let v = village();
    let dir = tempfile::tempdir().unwrap();
    let mut a = Node::open(dir.path(), "a", &v, &v.a_devices[0], 1);
    let mut b = Node::open(dir.path(), "b", &v, &v.b_device, 2);
    let header = offer_header(&v.a, v.community, 7);
    let edits = COMPACT_AFTER as usize + 8;
    let changes: Vec<SignedChange> = (0..edits)
        .map(|i| a.write_offer(&header, &offer(&format!("Lot {i}"), T0 + 1000 * i as i64)))
        .collect();
    assert_eq!(a.store.stats().unwrap().snapshots, 1, "the document was compacted");
    let hashes: Vec<ChangeHash> = changes
        .iter()
        .map(|c| automerge::Change::from_bytes(c.change.clone()).unwrap().hash())
        .collect();
    let id = header.id();
    assert_eq!(a.store.heads(&id).unwrap(), vec![hashes[edits - 1]]);
    assert!(a.store.has_changes(&id, &hashes).unwrap());
    assert!(!a.store.has_changes(&id, &[ChangeHash([7; 32])]).unwrap());

    // From any point, before or after the snapshot: exactly the rest, as signed.
    for from in [0, 5, COMPACT_AFTER as usize - 1, COMPACT_AFTER as usize + 3, edits - 1] {
        let since = a
            .store
            .changes_since(&id, &[hashes[from], ChangeHash([7; 32])])
            .unwrap();
        assert_eq!(since, changes[from + 1..], "since change {from}");
    }
    assert_eq!(
        a.store.changes_since(&id, &[]).unwrap(),
        changes,
        "no heads: everything"
    );
    assert_eq!(
        a.store.changes_since(&id, &[ChangeHash([7; 32])]).unwrap(),
        changes,
        "unknown heads are ignored"
    );
    assert!(a.store.changes_since(&DocId([7; 32]), &[]).unwrap().is_empty());
    // What a new member's transfer reads, many documents at once: the same.
    assert_eq!(
        a.store.whole_documents(&[id, DocId([7; 32])], usize::MAX).unwrap(),
        vec![(Some(header.clone()), changes.clone()), (None, vec![])],
        "whole documents, an unknown one answered as unknown"
    );

    // B holds the first 20: a session sends the other 20, and nothing else.
    b.store
        .ingest(vec![], vec![(header.clone(), changes[..20].to_vec())])
        .unwrap();
    let outcome = sync(&mut b, &mut a, v.community);
    print("compacted document", &outcome);
    assert_eq!(outcome.initiator.changes_received, (edits - 20) as u64);
    assert_eq!(outcome.initiator_got.applied, edits - 20);
    assert_converged(&[&a.store, &b.store], &v.community);
}

#[test]
fn a_new_member_gets_everything_in_one_round_trip_and_still_refuses_forgeries() {
    let v = village();
    let dir = tempfile::tempdir().unwrap();
    let b = Node::open(dir.path(), "b", &v, &v.b_device, 2);
    let mut newcomer = Node::open(dir.path(), "new", &v, &v.a_devices[1], 3);
    // Changes of an offer B never stored, to re-target onto what it sends.
    let mut elsewhere = Document::new(offer_header(&v.b, v.community, 90));
    let loot = (0..8)
        .map(|i| {
            let writer = Writer {
                device: &v.b_device,
                actor: ActorId::from([0x40 + i; 16].as_slice()),
                now_ms: T0 + i64::from(i),
            };
            elsewhere
                .write(&offer(&format!("Bêche {i}"), T0 + i64::from(i)), &writer)
                .unwrap()
                .unwrap()
        })
        .collect();
    let mut hostile = Hostile {
        node: b,
        loot,
        stranger: key(99),
        impersonated: v.a_devices[0].device_id(),
        forged: Cell::new(0),
        forged_hashes: Default::default(),
    };
    let hb = v.b.household_id();
    for i in 1..=3 {
        hostile.node.write_offer(
            &offer_header(&v.b, v.community, i),
            &offer(&format!("Râteau {i}"), T0 + 100 * i as i64),
        );
    }
    hostile.node.write_offer(
        &offer_header(&v.b, v.community, 1),
        &offer("Râteau 1 (prêté)", T0 + 1000),
    );
    hostile.node.write_profile(hb, &profile("Les Bernard", T0 + 2000));

    let outcome = sync(&mut newcomer, &mut hostile, v.community);
    print("new member from a hostile peer", &outcome);
    // The newcomer said it holds nothing: no reconciliation, no item ids,
    // everything in the first answer.
    assert_eq!(outcome.initiator.rounds(), 1, "{:?}", outcome.initiator);
    let got = &outcome.initiator_got;
    let sent_docs = hostile.forged.get();
    assert_eq!(sent_docs, 4, "three offers and a profile went out, each with forgeries");
    assert_eq!(got.rejected.len(), 3 * sent_docs, "{:?}", got.rejected);
    assert_eq!(got.applied, 5, "every honest change was stored");
    for (doc, hash) in hostile.forged_hashes.borrow().iter() {
        assert!(
            !newcomer.store.has_changes(doc, &[*hash]).unwrap(),
            "a forged change was stored"
        );
    }
    assert_converged(&[&newcomer.store, &hostile.node.store], &v.community);
}
