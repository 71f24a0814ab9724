//! The store's lifecycle on real redb files: a store written by the previous
//! layout opens with nothing lost, derived tables are rebuilt when their
//! version changes and only then, a newer store is refused untouched,
//! opening waits for another process's lock, and a full disk does not leave
//! an open store broken once space is back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use automerge::ActorId;
use maillage_crdt::items::{Offer, OfferKind, OfferState};
use maillage_crdt::registry::{CommunityGenesis, DeviceCert, community_id};
use maillage_crdt::{CommunityId, DocHeader, DocKind, Document, Record, SecretKey, Writer};
use maillage_node::{Query, Store, StoreError};
use redb::{ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

/// Written by the layout-1 code (commit 11ae2cd), see `fixtures/README.md`.
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/store-v1.redb");

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta-1");
/// Tables keyed by a 32-byte id with bytes for values: primary, then derived.
const PRIMARY_BY_ID: [&str; 3] = ["records-1", "headers-1", "snapshots-1"];
const DERIVED_BY_ID: [&str; 1] = ["summaries-1"];
type WordKey = (u8, &'static [u8; 32], &'static str, u64, &'static [u8; 32]);

/// A copy of the fixture in a fresh directory: the test may change it.
fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("maillage.redb");
    std::fs::copy(FIXTURE, &path).unwrap();
    (dir, path)
}

/// Every row of the named tables, as text, table by table: what the store
/// holds, compared before and after an open.
fn rows(path: &Path, derived: bool) -> Vec<String> {
    let db = redb::Database::create(path).unwrap();
    let read = db.begin_read().unwrap();
    let mut out = Vec::new();
    let by_id: &[&str] = if derived { &DERIVED_BY_ID } else { &PRIMARY_BY_ID };
    for name in by_id {
        let table = read.open_table(TableDefinition::<&[u8; 32], &[u8]>::new(name)).unwrap();
        for row in table.iter().unwrap() {
            let (k, v) = row.unwrap();
            out.push(format!("{name} {:?} {:?}", k.value(), v.value()));
        }
    }
    if derived {
        let heads = read
            .open_table(TableDefinition::<(&[u8; 32], &[u8; 32]), &[u8]>::new("heads-1"))
            .unwrap();
        for row in heads.iter().unwrap() {
            let (k, v) = row.unwrap();
            out.push(format!("heads-1 {:?} {:?}", k.value(), v.value()));
        }
        let recency = read
            .open_table(TableDefinition::<(u8, &[u8; 32], u64, &[u8; 32]), ()>::new(
                "by-recency-1",
            ))
            .unwrap();
        for row in recency.iter().unwrap() {
            out.push(format!("by-recency-1 {:?}", row.unwrap().0.value()));
        }
        for name in ["by-category-1", "by-state-1"] {
            let table = read.open_table(TableDefinition::<WordKey, ()>::new(name)).unwrap();
            for row in table.iter().unwrap() {
                out.push(format!("{name} {:?}", row.unwrap().0.value()));
            }
        }
    } else {
        let changes = read
            .open_table(TableDefinition::<(&[u8; 32], u64), &[u8]>::new("changes-1"))
            .unwrap();
        for row in changes.iter().unwrap() {
            let (k, v) = row.unwrap();
            out.push(format!("changes-1 {:?} {:?}", k.value(), v.value()));
        }
        let known = read
            .open_table(TableDefinition::<(&[u8; 32], &[u8; 32]), u64>::new("known-1"))
            .unwrap();
        for row in known.iter().unwrap() {
            let (k, v) = row.unwrap();
            out.push(format!("known-1 {:?} {:?}", k.value(), v.value()));
        }
    }
    out
}

fn meta(path: &Path) -> Vec<(String, Vec<u8>)> {
    let db = redb::Database::create(path).unwrap();
    let read = db.begin_read().unwrap();
    let table = read.open_table(META).unwrap();
    table
        .iter()
        .unwrap()
        .map(|row| {
            let (k, v) = row.unwrap();
            (k.value().to_owned(), v.value().to_vec())
        })
        .collect()
}

fn set_meta(path: &Path, key: &str, value: &[u8]) {
    let db = redb::Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(META).unwrap().insert(key, value).unwrap();
    txn.commit().unwrap();
}

fn titles(store: &Store, query: &Query) -> BTreeSet<String> {
    store.list(query).unwrap().into_iter().map(|s| s.title).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn community_of(store: &Store) -> CommunityId {
    let offers = store
        .list(&Query {
            kind: Some(DocKind::Offer),
            ..Query::default()
        })
        .unwrap();
    offers[0].community.unwrap()
}

#[test]
fn a_store_written_by_layout_1_opens_with_nothing_lost() {
    let (_dir, path) = fixture_copy();
    let primary = rows(&path, false);
    let derived = rows(&path, true);
    assert!(
        !meta(&path).iter().any(|(k, _)| k == "derived"),
        "the fixture is a layout-1 store"
    );

    let store = Store::open(&path).unwrap();
    let upgrade = store.upgrade();
    assert_eq!(upgrade.from_layout, Some(1));
    let stats = store.stats().unwrap();
    assert_eq!(
        upgrade.rebuilt,
        Some(stats.documents),
        "every document was summarised again"
    );
    assert!(stats.snapshots >= 1, "the fixture holds a compacted document");

    let offers = Query {
        kind: Some(DocKind::Offer),
        ..Query::default()
    };
    assert_eq!(
        titles(&store, &offers),
        set(&[
            "Perceuse à prêter",
            "Confiture de prunes",
            "Remorque",
            "Bois de chauffage sec"
        ])
    );
    // The category index, walked with a kind and a community.
    let community = community_of(&store);
    let tools = Query {
        kind: Some(DocKind::Offer),
        community: Some(community),
        category: Some("outils".into()),
        ..Query::default()
    };
    assert_eq!(titles(&store, &tools), set(&["Perceuse à prêter", "Remorque"]));
    let by_kind = |kind| {
        titles(
            &store,
            &Query {
                kind: Some(kind),
                ..Query::default()
            },
        )
    };
    assert_eq!(by_kind(DocKind::Request), set(&["Cherche une échelle"]));
    assert_eq!(by_kind(DocKind::Event), set(&["Repas de la fête"]));
    assert_eq!(
        store
            .list(&Query {
                kind: Some(DocKind::Exchange),
                ..Query::default()
            })
            .unwrap()
            .len(),
        1
    );
    // The offer edited 35 times lives in a snapshot; its summary was rebuilt from it.
    let wood = store
        .list(&Query {
            kind: Some(DocKind::Offer),
            category: Some("chauffage".into()),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(wood.len(), 1);
    let loaded = store.load(&wood[0].id).unwrap().unwrap();
    assert_eq!(loaded.read::<Offer>().unwrap().title, "Bois de chauffage sec");
    assert_eq!(
        store.summary(&wood[0].id).unwrap().unwrap().title,
        "Bois de chauffage sec"
    );
    assert_eq!(store.changes_since(&wood[0].id, &[]).unwrap().len(), 36);
    drop(store);

    assert_eq!(
        rows(&path, false),
        primary,
        "no record, header, change or snapshot changed"
    );
    assert_eq!(
        rows(&path, true),
        derived,
        "summaries and indexes rebuilt exactly as layout 1 had written them"
    );
    let meta = meta(&path);
    assert!(meta.contains(&("schema".to_owned(), vec![3])), "{meta:?}");
    assert!(meta.contains(&("derived".to_owned(), vec![1])), "{meta:?}");

    let again = Store::open(&path).unwrap();
    assert_eq!(again.upgrade().from_layout, None, "migrated once");
    assert_eq!(again.upgrade().rebuilt, None, "the second open rebuilds nothing");
    assert_eq!(titles(&again, &offers).len(), 4);
}

/// A derived version other than this code's (an older summary format, or a
/// newer binary's) makes the next open rebuild the derived tables, even
/// when their rows no longer decode; the result is what ingest had written.
#[test]
fn derived_tables_are_rebuilt_identically_when_their_version_changes() {
    let (_dir, path) = fixture_copy();
    let everything = Query::default();
    let before = Store::open(&path).unwrap().list(&everything).unwrap();
    let derived = rows(&path, true);

    for version in [0u8, 9] {
        // What a summary-format change does to old rows: none decodes.
        {
            let db = redb::Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let definition = TableDefinition::<&[u8; 32], &[u8]>::new("summaries-1");
                let mut table = txn.open_table(definition).unwrap();
                let ids: Vec<[u8; 32]> = table.iter().unwrap().map(|row| *row.unwrap().0.value()).collect();
                for id in &ids {
                    table.insert(id, [0xff; 3].as_slice()).unwrap();
                }
                assert!(!ids.is_empty(), "{}", definition.name());
            }
            txn.open_table(META)
                .unwrap()
                .insert("derived", [version].as_slice())
                .unwrap();
            txn.commit().unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.upgrade().from_layout, None);
        assert_eq!(store.upgrade().rebuilt, Some(store.stats().unwrap().documents));
        assert_eq!(store.list(&everything).unwrap(), before, "derived version {version}");
        drop(store);
        assert_eq!(rows(&path, true), derived, "derived version {version}");
    }
    assert_eq!(Store::open(&path).unwrap().upgrade().rebuilt, None);
}

#[test]
fn a_store_from_a_newer_layout_is_refused_and_left_untouched() {
    let (_dir, path) = fixture_copy();
    drop(Store::open(&path).unwrap());
    set_meta(&path, "schema", &[4]);
    // Derived tables out of date too: an older binary must not rebuild them.
    set_meta(&path, "derived", &[0]);
    let before = (rows(&path, false), rows(&path, true), meta(&path));

    let refused = Store::open(&path).unwrap_err();
    assert!(
        matches!(refused, StoreError::NewerLayout { found: 4, supported: 3 }),
        "{refused:?}"
    );
    assert!(refused.to_string().contains("newer version"), "{refused}");
    assert_eq!((rows(&path, false), rows(&path, true), meta(&path)), before);
}

#[test]
fn opening_waits_while_another_holder_finishes() {
    let (_dir, path) = fixture_copy();
    let holder = Store::open(&path).unwrap();
    let started = Instant::now();
    let waiter = {
        let path = path.clone();
        std::thread::spawn(move || {
            Store::open(&path).map(|store| (store.stats().unwrap().documents, started.elapsed()))
        })
    };
    std::thread::sleep(Duration::from_millis(600));
    let documents = holder.stats().unwrap().documents;
    drop(holder);
    let (seen, waited) = waiter.join().unwrap().unwrap();
    assert_eq!(seen, documents);
    assert!(
        waited >= Duration::from_millis(550),
        "it waited for the holder: {waited:?}"
    );
}

#[test]
fn opening_gives_up_after_its_wait_and_says_so() {
    let (_dir, path) = fixture_copy();
    let _holder = Store::open(&path).unwrap();
    let started = Instant::now();
    let refused = Store::open_waiting(&path, Duration::from_millis(300)).unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(refused, StoreError::Locked), "{refused:?}");
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[test]
fn a_running_node_is_named_at_once() {
    let (dir, path) = fixture_copy();
    let _node_store = Store::open(&path).unwrap();
    // A live process other than this one stands for the node.
    let mut node = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    std::fs::create_dir(dir.path().join("run")).unwrap();
    std::fs::write(
        dir.path().join("run").join("api.json"),
        format!(r#"{{"url": "http://127.0.0.1:1", "pid": {}}}"#, node.id()),
    )
    .unwrap();
    let started = Instant::now();
    let refused = Store::open(&path).unwrap_err();
    let waited = started.elapsed();
    node.kill().unwrap();
    node.wait().unwrap();
    assert!(
        matches!(refused, StoreError::HeldByNode { pid } if pid == node.id()),
        "{refused:?}"
    );
    assert!(waited < Duration::from_secs(2), "no waiting for a node: {waited:?}");
}

// ---------------------------------------------------------------------------
// A full disk, for real: a small tmpfs.

struct Identity {
    root: SecretKey,
    device: SecretKey,
    community: CommunityId,
    records: Vec<Record>,
}

fn identity() -> Identity {
    let root = SecretKey::from_bytes(&[1; 32]);
    let device = SecretKey::from_bytes(&[2; 32]);
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
    let records = vec![
        Record::DeviceCert(DeviceCert::issue(&root, &device, "d", 0).unwrap()),
        Record::Genesis(device.sign(genesis).unwrap()),
    ];
    Identity {
        root,
        device,
        community,
        records,
    }
}

/// Writes one new offer titled `title`, `n` making its id unique.
fn post(store: &Store, who: &Identity, n: u32, title: &str) -> Result<(), StoreError> {
    let mut nonce = [0; 16];
    nonce[..4].copy_from_slice(&n.to_le_bytes());
    let header = DocHeader::item(DocKind::Offer, who.root.household_id(), who.community, 5, nonce);
    let mut document = Document::new(header.clone());
    let body = Offer {
        title: title.into(),
        description: format!("{n} {}", "bois ".repeat(600)),
        category: "outils".into(),
        kind: OfferKind::Give,
        place: None,
        price: None,
        until: None,
        state: OfferState::Open,
        ride: None,
        group_buy: None,
        created_at: i64::from(n),
        updated_at: i64::from(n),
        deleted: false,
    };
    let writer = Writer {
        device: &who.device,
        actor: ActorId::from([7; 16].as_slice()),
        now_ms: 1_000 + i64::from(n),
    };
    let change = document.write(&body, &writer).unwrap().unwrap();
    let report = store.ingest(vec![], vec![(header, vec![change])])?;
    assert_eq!(report.applied, 1);
    Ok(())
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (with the reason printed) when this process may not mount.
    fn mount(size: &str) -> Option<Tmpfs> {
        let required = std::env::var("MAILLAGE_REQUIRE_NETNS").is_ok_and(|v| v == "1");
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Tmpfs { dir }),
            other => {
                let why = format!("cannot mount a tmpfs (needs root): {other:?}");
                assert!(!required, "MAILLAGE_REQUIRE_NETNS=1: {why}");
                eprintln!("skipped: {why}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Fills the file system holding `path` with a ballast file until it is full.
fn fill(path: &Path) {
    use std::io::Write;
    let mut ballast = std::fs::File::create(path).unwrap();
    let chunk = vec![0x55u8; 4096];
    while ballast.write_all(&chunk).and_then(|()| ballast.sync_data()).is_ok() {}
}

/// With the store open (as a node keeps it), the disk fills: the write that
/// does not fit is refused as "disk full", and once space is freed the same
/// open store writes again, with every acknowledged offer still there.
#[test]
fn an_open_store_writes_again_once_a_full_disk_has_room() {
    let Some(tmpfs) = Tmpfs::mount("6m") else {
        return;
    };
    let path = tmpfs.dir.path().join("maillage.redb");
    let ballast = tmpfs.dir.path().join("ballast");
    let who = identity();
    let store = Store::open(&path).unwrap();
    store.ingest(who.records.clone(), vec![]).unwrap();
    let mut acknowledged = BTreeSet::new();
    for n in 0..5 {
        post(&store, &who, n, &format!("avant {n}")).unwrap();
        acknowledged.insert(format!("avant {n}"));
    }
    fill(&ballast);

    let mut n = 5;
    let refused = loop {
        assert!(n < 2_000, "the disk never filled");
        let title = format!("pendant {n}");
        match post(&store, &who, n, &title) {
            Ok(()) => {
                acknowledged.insert(title);
            }
            Err(error) => break error,
        }
        n += 1;
    };
    assert!(matches!(refused, StoreError::DiskFull), "{refused:?}");
    // Still full: refused again, with a clear error, never redb's "close and re-open".
    for _ in 0..3 {
        n += 1;
        let again = post(&store, &who, n, "toujours plein").unwrap_err();
        assert!(matches!(again, StoreError::DiskFull | StoreError::Io(_)), "{again:?}");
        assert!(!again.to_string().contains("re-open"), "{again}");
    }
    let listed = |store: &Store| {
        titles(
            store,
            &Query {
                kind: Some(DocKind::Offer),
                community: Some(who.community),
                ..Query::default()
            },
        )
    };
    // Shared across threads as the household service shares it: while the
    // disk is still full, a writer keeps failing (each failure reopens the
    // database) and readers are served all along.
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            for k in 0..10 {
                let refused = post(&store, &who, 10_000 + k, "plein").unwrap_err();
                assert!(
                    matches!(refused, StoreError::DiskFull | StoreError::Io(_)),
                    "{refused:?}"
                );
            }
        });
        for _ in 0..3 {
            scope.spawn(|| {
                for _ in 0..30 {
                    assert_eq!(listed(&store), acknowledged, "read while the disk is full");
                }
            });
        }
        writer.join().unwrap();
    });

    std::fs::remove_file(&ballast).unwrap();
    let before = acknowledged.clone();
    std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            for k in 0..5 {
                post(&store, &who, 20_000 + k, &format!("après {k}")).unwrap();
            }
        });
        scope.spawn(|| {
            for _ in 0..30 {
                assert!(listed(&store).is_superset(&before));
            }
        });
        writer.join().unwrap();
    });
    acknowledged.extend((0..5).map(|k| format!("après {k}")));
    assert_eq!(listed(&store), acknowledged, "nothing acknowledged was lost");
    drop(store);
    let reopened = Store::open(&path).unwrap();
    assert_eq!(listed(&reopened), acknowledged);
}
