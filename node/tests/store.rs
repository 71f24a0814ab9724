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
    let mut store = Store::open(&dir.path().join("s.redb")).unwrap();
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
        let verified = verify_change(signed, &header, store.registry()).unwrap();
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
        let mut store = Store::open(&path).unwrap();
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
    let mut late = Store::open(&dir.path().join("late.redb")).unwrap();
    late.ingest(f.records.clone(), vec![(header.clone(), changes.clone())])
        .unwrap();
    assert_eq!(
        late.load(&header.id()).unwrap().unwrap().read::<Offer>().unwrap().title,
        "Suite"
    );
    late.ingest(vec![revocation.clone()], vec![]).unwrap();

    let mut early = Store::open(&dir.path().join("early.redb")).unwrap();
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
    let mut store = Store::open(&dir.path().join("s.redb")).unwrap();
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
