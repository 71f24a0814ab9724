//! The store on real redb files: compaction keeps every signature, indexes
//! follow edits, revocations converge whatever the arrival order, and what is
//! acknowledged survives reopening.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use automerge::ActorId;
use maillage_crdt::items::{Offer, OfferKind, OfferState};
use maillage_crdt::registry::{CommunityGenesis, DeviceCert, DeviceRevocation, community_id};
use maillage_crdt::{
    ChangeRejected, CommunityId, DocHeader, DocKind, Document, Record, SecretKey, SignedChange, Writer, verify_change,
};
use maillage_node::store::COMPACT_AFTER;
use maillage_node::{Query, Store};

struct Fixture {
    root: SecretKey,
    devices: Vec<SecretKey>,
    community: CommunityId,
    records: Vec<Record>,
}

fn fixture() -> Fixture {
    let root = SecretKey::from_bytes(&[1; 32]);
    let devices = vec![SecretKey::from_bytes(&[2; 32]), SecretKey::from_bytes(&[3; 32])];
    let mut records: Vec<Record> = devices
        .iter()
        .map(|d| Record::DeviceCert(DeviceCert::issue(&root, d, "d", 0).unwrap()))
        .collect();
    let genesis = CommunityGenesis {
        name: "Saint-Martin".into(),
        founder: root.household_id(),
        unit: "heure".into(),
        soft_limit: None,
        hard_limit: None,
        created_at: 1,
        nonce: [0; 16],
    };
    let community = community_id(&genesis);
    records.push(Record::Genesis(devices[0].sign(genesis).unwrap()));
    Fixture {
        root,
        devices,
        community,
        records,
    }
}

fn offer(title: &str, category: &str, at: i64) -> Offer {
    Offer {
        title: title.into(),
        description: "x".repeat(200),
        category: category.into(),
        kind: OfferKind::Give,
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

fn writer(device: &SecretKey, actor: u8, now_ms: i64) -> Writer<'_> {
    Writer {
        device,
        actor: ActorId::from([actor; 16].as_slice()),
        now_ms,
    }
}

#[test]
fn compaction_keeps_every_change_and_its_signature() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture();
    let store = Store::open(&dir.path().join("s.redb")).unwrap();
    store.ingest(f.records.clone(), vec![]).unwrap();
    let header = DocHeader::item(DocKind::Offer, f.root.household_id(), f.community, 5, [7; 16]);
    let mut document = Document::new(header.clone());
    let edits = COMPACT_AFTER as i64 + 8;
    for edit in 0..edits {
        let body = offer(&format!("Pommes, lot {edit}"), "alimentation", 1000 + edit);
        let change = document
            .write(&body, &writer(&f.devices[0], 1, 1000 + edit * 1000))
            .unwrap()
            .unwrap();
        let report = store.ingest(vec![], vec![(header.clone(), vec![change])]).unwrap();
        assert_eq!(report.applied, 1);
    }
    let stats = store.stats().unwrap();
    assert_eq!(stats.snapshots, 1, "the document was compacted");
    assert!(stats.change_rows < COMPACT_AFTER, "rows were folded: {stats:?}");

    let exported = store.export(|_| true).unwrap();
    let (_, changes) = exported.iter().find(|(h, _)| h.id() == header.id()).unwrap();
    assert_eq!(changes.len() as i64, edits);
    let mut rebuilt = Document::new(header.clone());
    for signed in changes {
        let verified = verify_change(signed, &header, &store.registry()).unwrap();
        rebuilt.apply(vec![verified.change]).unwrap();
    }
    let mut stored = store.load(&header.id()).unwrap().unwrap();
    assert_eq!(rebuilt.heads(), stored.heads());
    assert_eq!(
        stored.read::<Offer>().unwrap().title,
        format!("Pommes, lot {}", edits - 1)
    );

    // Re-ingesting everything is recognised as already known, compacted or not.
    let report = store.ingest(vec![], exported).unwrap();
    assert_eq!(report.applied, 0);
    assert_eq!(report.duplicates as i64, edits + 1 - 1);
}

#[test]
fn category_and_state_indexes_follow_edits_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let f = fixture();
    let header = DocHeader::item(DocKind::Offer, f.root.household_id(), f.community, 5, [7; 16]);
    {
        let store = Store::open(&path).unwrap();
        store.ingest(f.records.clone(), vec![]).unwrap();
        let mut document = Document::new(header.clone());
        let first = document
            .write(&offer("Scie", "outils", 1), &writer(&f.devices[0], 1, 1000))
            .unwrap()
            .unwrap();
        let mut moved = offer("Scie", "jardin", 2);
        moved.state = OfferState::Promised;
        let second = document
            .write(&moved, &writer(&f.devices[0], 1, 2000))
            .unwrap()
            .unwrap();
        store
            .ingest(vec![], vec![(header.clone(), vec![first, second])])
            .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let by = |category: Option<&str>, state: Option<&str>| {
        let query = Query {
            kind: Some(DocKind::Offer),
            community: Some(f.community),
            category: category.map(str::to_owned),
            state: state.map(str::to_owned),
            ..Query::default()
        };
        store
            .list(&query)
            .unwrap()
            .into_iter()
            .map(|s| s.id)
            .collect::<Vec<_>>()
    };
    assert!(
        by(Some("outils"), None).is_empty(),
        "the old category index entry is gone"
    );
    assert_eq!(by(Some("jardin"), None), vec![header.id()]);
    assert_eq!(by(None, Some("promised")), vec![header.id()]);
    assert!(by(None, Some("open")).is_empty());
}

/// Device 1 writes before and after its revocation. Two stores receive the
/// same records and changes in opposite orders; both must end identical, with
/// the post-revocation change (and what depends on it) gone.
#[test]
fn a_revocation_converges_whatever_the_arrival_order() {
    let f = fixture();
    let header = DocHeader::item(DocKind::Offer, f.root.household_id(), f.community, 5, [9; 16]);
    let mut document = Document::new(header.clone());
    let before = document
        .write(&offer("Avant", "outils", 1), &writer(&f.devices[1], 2, 10_000))
        .unwrap()
        .unwrap();
    let after = document
        .write(&offer("Après", "outils", 2), &writer(&f.devices[1], 2, 20_000))
        .unwrap()
        .unwrap();
    let dependent = document
        .write(&offer("Suite", "outils", 3), &writer(&f.devices[0], 1, 30_000))
        .unwrap()
        .unwrap();
    let revocation = Record::DeviceRevocation(
        f.root
            .sign(DeviceRevocation {
                household: f.root.household_id(),
                device: f.devices[1].device_id(),
                revoked_at: 15_000,
            })
            .unwrap(),
    );
    let changes = vec![before, after, dependent];

    let dir = tempfile::tempdir().unwrap();
    let late = Store::open(&dir.path().join("late.redb")).unwrap();
    late.ingest(f.records.clone(), vec![(header.clone(), changes.clone())])
        .unwrap();
    assert_eq!(
        late.load(&header.id()).unwrap().unwrap().read::<Offer>().unwrap().title,
        "Suite"
    );
    late.ingest(vec![revocation.clone()], vec![]).unwrap();

    let early = Store::open(&dir.path().join("early.redb")).unwrap();
    let mut records = f.records.clone();
    records.push(revocation);
    let report = early.ingest(records, vec![(header.clone(), changes)]).unwrap();
    assert!(report.rejected.iter().any(|(_, r)| *r == ChangeRejected::RevokedDevice));

    let mut from_late = late.load(&header.id()).unwrap().unwrap();
    let mut from_early = early.load(&header.id()).unwrap().unwrap();
    assert_eq!(from_late.heads(), from_early.heads());
    assert_eq!(from_late.read::<Offer>().unwrap().title, "Avant");
    assert_eq!(late.summary(&header.id()).unwrap().unwrap().title, "Avant");
}

#[test]
fn forged_and_oversized_input_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture();
    let store = Store::open(&dir.path().join("s.redb")).unwrap();
    store.ingest(f.records.clone(), vec![]).unwrap();
    let header = DocHeader::item(DocKind::Offer, f.root.household_id(), f.community, 5, [7; 16]);
    let mut document = Document::new(header.clone());
    let change = document
        .write(&offer("Scie", "outils", 1), &writer(&f.devices[0], 1, 1000))
        .unwrap()
        .unwrap();

    let mut forged = change.clone();
    forged.signature.0[0] ^= 1;
    let stranger = SecretKey::from_bytes(&[42; 32]);
    let by_stranger = SignedChange::sign(header.id(), &document.changes()[0], &stranger);
    let report = store
        .ingest(vec![], vec![(header.clone(), vec![forged, by_stranger])])
        .unwrap();
    assert_eq!(report.applied, 0);
    assert_eq!(report.rejected.len(), 2);
    assert!(store.load(&header.id()).unwrap().is_none(), "nothing was written");
    assert_eq!(store.stats().unwrap().documents, 0);

    // A document may not grow past its size limit, one valid change at a time.
    let mut big = Document::new(header.clone());
    let mut accepted = 0;
    for round in 0..40 {
        let mut body = offer("Gros", "outils", round);
        body.description = format!("{round}{}", "y".repeat(3990));
        let change = big
            .write(&body, &writer(&f.devices[0], 1, 1000 + round * 1000))
            .unwrap()
            .unwrap();
        // Each change stays under the per-change limit.
        assert!(change.change.len() < maillage_crdt::MAX_CHANGE_BYTES);
        let report = store.ingest(vec![], vec![(header.clone(), vec![change])]).unwrap();
        accepted += report.applied;
    }
    assert_eq!(accepted, 40, "40 small edits stay far under the document limit");
}

/// Everything a store holds that a user or a peer can see: each document's
/// heads, summary and signed changes.
fn visible_state(store: &Store, community: &CommunityId) -> Vec<(maillage_crdt::DocId, String, Vec<Vec<u8>>, String)> {
    let mut items = store.sync_items(community).unwrap();
    items.sort();
    items
        .into_iter()
        .map(|(id, heads)| {
            let summary = store.summary(&id).unwrap().unwrap();
            let mut changes: Vec<Vec<u8>> = store
                .changes_since(&id, &[])
                .unwrap()
                .into_iter()
                .map(|signed| signed.encode())
                .collect();
            changes.sort();
            (id, format!("{heads:?}"), changes, format!("{summary:?}"))
        })
        .collect()
}

#[test]
fn a_large_batch_stores_exactly_what_one_change_at_a_time_stores() {
    let f = fixture();
    let owner = f.root.household_id();
    let mut batch: Vec<(DocHeader, Vec<SignedChange>)> = Vec::new();
    // 150 new offers of one change each: enough for the store to build them
    // on several threads.
    for index in 0..150u32 {
        let mut nonce = [0; 16];
        nonce[..4].copy_from_slice(&index.to_le_bytes());
        let header = DocHeader::item(DocKind::Offer, owner, f.community, 5, nonce);
        let mut document = Document::new(header.clone());
        let at = 1000 + i64::from(index) * 1000;
        let change = document
            .write(
                &offer(&format!("Offre {index}"), "outils", at),
                &writer(&f.devices[0], 1, at),
            )
            .unwrap()
            .unwrap();
        batch.push((header, vec![change]));
    }
    // One offer edited past the compaction threshold, listed twice, with a
    // change repeated and a forged one; another whose second change comes
    // before its first (refused: its dependency is not there yet).
    let edited = |nonce: u8, count: i64, device: &SecretKey| {
        let header = DocHeader::item(DocKind::Offer, owner, f.community, 5, [nonce; 16]);
        let mut document = Document::new(header.clone());
        let edits: Vec<SignedChange> = (0..count)
            .map(|edit| {
                let body = offer(&format!("Pommes, lot {edit}"), "alimentation", 1000 + edit);
                document
                    .write(&body, &writer(device, nonce, 1000 + edit * 1000))
                    .unwrap()
                    .unwrap()
            })
            .collect();
        (header, edits)
    };
    let (header, edits) = edited(9, COMPACT_AFTER as i64 + 4, &f.devices[1]);
    let mut forged = edits[5].clone();
    forged.signature.0[3] ^= 1;
    let (first, rest) = edits.split_at(10);
    batch.push((header.clone(), first.to_vec()));
    batch.push((header, [rest.to_vec(), vec![rest[2].clone(), forged]].concat()));
    let (header, mut edits) = edited(8, 2, &f.devices[0]);
    edits.swap(0, 1);
    batch.push((header, edits));

    let dir = tempfile::tempdir().unwrap();
    let at_once = Store::open(&dir.path().join("batch.redb")).unwrap();
    at_once.ingest(f.records.clone(), vec![]).unwrap();
    let report = at_once.ingest(vec![], batch.clone()).unwrap();

    let one_by_one = Store::open(&dir.path().join("single.redb")).unwrap();
    one_by_one.ingest(f.records.clone(), vec![]).unwrap();
    let (mut applied, mut duplicates, mut rejected) = (0, 0, Vec::new());
    for (header, changes) in batch {
        for change in changes {
            let single = one_by_one.ingest(vec![], vec![(header.clone(), vec![change])]).unwrap();
            applied += single.applied;
            duplicates += single.duplicates;
            rejected.extend(single.rejected.into_iter().map(|(_, why)| why));
        }
    }

    assert_eq!(report.applied, 150 + COMPACT_AFTER as usize + 4 + 1);
    assert_eq!(report.duplicates, 1);
    assert_eq!((report.applied, report.duplicates), (applied, duplicates));
    let mut batch_rejected: Vec<String> = report.rejected.iter().map(|(_, why)| format!("{why:?}")).collect();
    let mut single_rejected: Vec<String> = rejected.iter().map(|why| format!("{why:?}")).collect();
    batch_rejected.sort();
    single_rejected.sort();
    assert_eq!(batch_rejected, single_rejected);
    assert!(batch_rejected.iter().any(|why| why.contains("BadSignature")));
    assert!(batch_rejected.iter().any(|why| why.contains("MissingDependencies")));
    assert_eq!(
        visible_state(&at_once, &f.community),
        visible_state(&one_by_one, &f.community)
    );
    assert_eq!(at_once.list(&Query::default()).unwrap().len(), 152);
}

#[test]
fn a_document_arriving_whole_past_the_threshold_is_stored_compacted() {
    let f = fixture();
    let header = DocHeader::item(DocKind::Offer, f.root.household_id(), f.community, 5, [4; 16]);
    let mut document = Document::new(header.clone());
    let edits = COMPACT_AFTER as i64 + 6;
    let changes: Vec<SignedChange> = (0..edits)
        .map(|edit| {
            let body = offer(&format!("Bois, stère {edit}"), "jardin", 1000 + edit);
            document
                .write(&body, &writer(&f.devices[0], 1, 1000 + edit * 1000))
                .unwrap()
                .unwrap()
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.redb")).unwrap();
    store.ingest(f.records.clone(), vec![]).unwrap();
    let report = store.ingest(vec![], vec![(header.clone(), changes.clone())]).unwrap();
    assert_eq!(report.applied as i64, edits);
    let stats = store.stats().unwrap();
    assert_eq!((stats.snapshots, stats.change_rows), (1, 0), "{stats:?}");

    // Every change goes back out with its signature, and a new edit lands on top.
    let mut sent = store.changes_since(&header.id(), &[]).unwrap();
    let mut expected = changes;
    sent.sort_by_key(SignedChange::encode);
    expected.sort_by_key(SignedChange::encode);
    assert_eq!(sent, expected);
    let next = document
        .write(
            &offer("Bois, dernier stère", "jardin", 99_000),
            &writer(&f.devices[0], 1, 99_000),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .ingest(vec![], vec![(header.clone(), vec![next])])
            .unwrap()
            .applied,
        1
    );
    assert_eq!(
        store
            .load(&header.id())
            .unwrap()
            .unwrap()
            .read::<Offer>()
            .unwrap()
            .title,
        "Bois, dernier stère"
    );
}
