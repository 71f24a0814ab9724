//! The mesh under stress: partitions that heal, a member's device turned
//! malicious, a removed member. Real nodes in one process, on loopback; the
//! malicious peer is a bare libp2p swarm built here (`rogue`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rogue;
mod testnode;

use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::Duration;

use automerge::ChangeHash;
use libp2p::{Multiaddr, PeerId, multiaddr};
use maillage_crdt::{CommunityId, DocHeader, DocId, DocKind, HouseholdId, Record, Removal};
use maillage_node::household::{ItemInput, ItemPatch, now_ms};
use maillage_node::net::wire::{RecordsResponse, SyncRefusal, SyncResponse};
use maillage_protocol::sync::{MAX_FRAME_BYTES, Session, WIRE_VERSION};
use rogue::{Forging, Rogue, change_title};
use serde_bytes::ByteBuf;
use testnode::{TestNode, WAIT, quiet_panics, village, wait_for};

/// How long the tests leave nodes alone to show something does *not* happen:
/// three of TestNode's 2 s resync periods.
const SEVERAL_RESYNCS: Duration = Duration::from_secs(6);

async fn start_village(names: &[&str]) -> Vec<TestNode> {
    let mut nodes = Vec::new();
    for (name, dir, household) in village(names) {
        nodes.push(TestNode::start(&name, dir, household).await);
    }
    nodes
}

fn community_of(node: &TestNode) -> CommunityId {
    node.with(|h| h.current_community().unwrap())
}

/// Every document the node shares with its community, with its heads.
fn doc_heads(node: &TestNode) -> BTreeMap<DocId, Vec<ChangeHash>> {
    let community = community_of(node);
    node.with(|h| h.store().sync_items(&community).unwrap())
        .into_iter()
        .collect()
}

fn offer_title(node: &TestNode, id: &DocId) -> String {
    node.with(|h| h.offer(id).unwrap().1.title)
}

fn peer_of(address: &Multiaddr) -> PeerId {
    address
        .iter()
        .find_map(|p| match p {
            multiaddr::Protocol::P2p(peer) => Some(peer),
            _ => None,
        })
        .unwrap()
}

async fn wait_for_no_peers(nodes: &[&TestNode]) {
    for node in nodes {
        wait_for(|| async { (node.peer_count().await == 0).then_some(()) }).await;
    }
}

fn is_removed(node: &TestNode, community: &CommunityId, household: &HouseholdId) -> bool {
    node.with(|h| {
        h.store()
            .registry()
            .community(community)
            .is_some_and(|c| c.removed.contains_key(household) && !c.members.contains_key(household))
    })
}

// ----- partitions --------------------------------------------------------------

/// Waits until every node holds the same documents with the same heads, and
/// returns them.
async fn converged_heads(nodes: &[TestNode]) -> BTreeMap<DocId, Vec<ChangeHash>> {
    let converged = tokio::time::timeout(WAIT, async {
        loop {
            let heads: Vec<_> = nodes.iter().map(doc_heads).collect();
            if heads.windows(2).all(|pair| pair[0] == pair[1]) {
                return heads;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let mut heads = converged.unwrap_or_else(|_| {
        panic!(
            "heads differ after healing: {:#?}",
            nodes.iter().map(doc_heads).collect::<Vec<_>>()
        )
    });
    heads.swap_remove(0)
}

fn add_offer(node: &TestNode, title: &str) -> DocId {
    let title = title.to_owned();
    let id = node.write(move |h| {
        h.add_offer(ItemInput {
            title,
            ..ItemInput::default()
        })
        .unwrap()
    });
    node.net.announce();
    id
}

fn retitle(node: &TestNode, id: &DocId, title: &str) {
    let (id, title) = (*id, title.to_owned());
    node.write(move |h| {
        h.edit_offer(
            &id,
            ItemPatch {
                title: Some(title),
                ..ItemPatch::default()
            },
        )
        .unwrap()
    });
    node.net.announce();
}

/// Links cut with `disconnect_all` on every node, writes on both sides at
/// once (A alone; B and C, not linked to each other), links back: every node
/// ends with the same offers and the same heads for every document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healed_partition_converges_to_the_same_documents() {
    quiet_panics();
    let nodes = start_village(&["Ferme", "Tilleuls", "Moulin"]).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    b.connect(a).await;
    c.connect(a).await;
    let a_offer = add_offer(a, "Avant la coupure");
    let b_offer = add_offer(b, "Vélo");
    for node in &nodes {
        node.expect_offers(&["Avant la coupure", "Vélo"]).await;
    }

    for node in &nodes {
        node.net.disconnect_all().await;
    }
    wait_for_no_peers(&[a, b, c]).await;
    // Nodes redial remembered members on their next resync (at most 2 s
    // away): write on both sides now, before the links come back.
    add_offer(a, "A pendant la coupure");
    retitle(a, &a_offer, "Avant la coupure (modifié)");
    add_offer(b, "B pendant la coupure");
    retitle(b, &b_offer, "Vélo d'enfant");
    add_offer(c, "C pendant la coupure");

    b.connect(a).await;
    c.connect(a).await;
    let expected = [
        "A pendant la coupure",
        "Avant la coupure (modifié)",
        "B pendant la coupure",
        "C pendant la coupure",
        "Vélo d'enfant",
    ];
    for node in &nodes {
        node.expect_offers(&expected).await;
    }
    let heads = converged_heads(&nodes).await;
    // 5 offers and 3 profiles.
    assert_eq!(heads.len(), 8, "{heads:#?}");
    assert_eq!(heads[&b_offer], b.with(|h| h.store().heads(&b_offer).unwrap()));
    for node in &nodes {
        assert_eq!(offer_title(node, &b_offer), "Vélo d'enfant");
        assert_eq!(offer_title(node, &a_offer), "Avant la coupure (modifié)");
    }
}

/// A partition that lasts: every node restarts on a new port, so the
/// addresses the others remember are stale and nobody can redial anybody.
/// Each side writes for several resync periods; then links come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_partition_heals_when_links_come_back() {
    quiet_panics();
    let mut nodes = start_village(&["Ferme", "Tilleuls", "Moulin"]).await;
    nodes[1].connect(&nodes[0]).await;
    nodes[2].connect(&nodes[0]).await;
    let b_offer = add_offer(&nodes[1], "Vélo");
    for node in &nodes {
        node.expect_offers(&["Vélo"]).await;
    }
    // All stop before any restarts: a node restarted while another still
    // ran would be redialled by it and learn its new address.
    let mut stopped = Vec::new();
    for node in nodes.drain(..) {
        stopped.push(node.stop().await);
    }
    let mut nodes = Vec::new();
    for (name, dir) in stopped {
        nodes.push(TestNode::reopen(name, dir).await);
    }
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);

    a.offer("A pendant la coupure");
    b.offer("B pendant la coupure");
    retitle(b, &b_offer, "Vélo d'enfant");
    c.offer("C pendant la coupure");
    tokio::time::sleep(Duration::from_secs(3)).await;
    b.offer("B encore");
    retitle(b, &b_offer, "Vélo d'enfant, 16 pouces");
    a.offer("A encore");
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Nothing crossed: each node shows only its side.
    assert_eq!(a.peer_count().await, 0, "a node found another through a stale address");
    assert_eq!(a.offer_titles(), ["A encore", "A pendant la coupure", "Vélo"]);
    assert_eq!(c.offer_titles(), ["C pendant la coupure", "Vélo"]);
    assert_eq!(
        b.offer_titles(),
        ["B encore", "B pendant la coupure", "Vélo d'enfant, 16 pouces"]
    );

    b.connect(a).await;
    c.connect(a).await;
    let expected = [
        "A encore",
        "A pendant la coupure",
        "B encore",
        "B pendant la coupure",
        "C pendant la coupure",
        "Vélo d'enfant, 16 pouces",
    ];
    for node in &nodes {
        node.expect_offers(&expected).await;
    }
    let heads = converged_heads(&nodes).await;
    // 6 offers and 3 profiles.
    assert_eq!(heads.len(), 9, "{heads:#?}");
}

// ----- a malicious member ------------------------------------------------------

/// An honest founder A and member B, both running, and the household of a
/// third member whose device key the rogue uses.
struct Stage {
    a: TestNode,
    b: TestNode,
    rogue_household: maillage_node::HouseholdWriter,
    _rogue_dir: tempfile::TempDir,
    community: CommunityId,
    /// A's offer, seen by B.
    offer: DocId,
    offer_heads: Vec<ChangeHash>,
    rogue: Rogue,
    a_peer: PeerId,
}

const OFFER: &str = "Bois de chauffage";

fn records_of(household: &maillage_node::Household) -> Vec<ByteBuf> {
    household
        .own_records()
        .iter()
        .map(|r| ByteBuf::from(r.encode()))
        .collect()
}

/// Builds the stage and connects the rogue to A, saying hello with the
/// rogue household's real records so A knows it as a member.
async fn stage() -> Stage {
    let mut households = village(&["Ferme", "Tilleuls", "Renard"]);
    let (_, rogue_dir, rogue_household) = households.pop().unwrap();
    let mut nodes = Vec::new();
    for (name, dir, household) in households {
        nodes.push(TestNode::start(&name, dir, household).await);
    }
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    b.connect(&a).await;
    let offer = a.write(|h| {
        h.add_offer(ItemInput {
            title: OFFER.into(),
            ..ItemInput::default()
        })
        .unwrap()
    });
    a.net.announce();
    b.expect_offers(&[OFFER]).await;
    let community = community_of(&a);
    let offer_heads = a.with(|h| h.store().heads(&offer).unwrap());

    let rogue = Rogue::start(rogue_household.device_key(), records_of(&rogue_household));
    let a_peer = peer_of(&a.address);
    rogue.dial(&a.address).await.unwrap();
    let answer = rogue.hello(a_peer, records_of(&rogue_household)).await.unwrap();
    assert!(
        matches!(answer, RecordsResponse::Hello { .. }),
        "A answered the hello with {answer:?}"
    );
    // A knows the rogue's device as a member household's.
    let rogue_id = rogue_household.id().to_text();
    let rogue_peer = rogue.peer_id.to_string();
    wait_for(|| async {
        let status = a.net.status().await?;
        status
            .peers
            .iter()
            .any(|p| p.peer == rogue_peer && p.household.as_deref() == Some(&rogue_id))
            .then_some(())
    })
    .await;
    Stage {
        a,
        b,
        rogue_household,
        _rogue_dir: rogue_dir,
        community,
        offer,
        offer_heads,
        rogue,
        a_peer,
    }
}

impl Stage {
    /// A's offer is exactly as A wrote it, on A and on B.
    fn assert_offer_untouched(&self) {
        assert_eq!(offer_title(&self.a, &self.offer), OFFER);
        assert_eq!(self.a.with(|h| h.store().heads(&self.offer).unwrap()), self.offer_heads);
        assert_eq!(offer_title(&self.b, &self.offer), OFFER);
        assert_eq!(self.b.with(|h| h.store().heads(&self.offer).unwrap()), self.offer_heads);
    }

    async fn assert_a_up(&self) {
        assert!(self.a.net.status().await.is_some(), "A's network task stopped");
    }

    /// Honest sync between A and B carries on: B posts, A receives.
    async fn assert_honest_sync_goes_on(&self, title: &str) {
        self.b.offer(title);
        self.a.expect_offers(&[OFFER, title]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_changes_in_a_well_formed_sync_session_are_refused() {
    quiet_panics();
    let stage = stage().await;
    let (a, rogue) = (&stage.a, &stage.rogue);
    let rogue_key = stage.rogue_household.device_key();
    let header = a.with(|h| h.store().header(&stage.offer).unwrap().unwrap());
    let a_device = a.with(|h| h.device_key().device_id());

    // 1. A change to A's offer passed off as A's own: A's device named as the
    //    signer, the rogue's signature, which does not verify.
    let mut document = a.with(|h| h.store().load(&stage.offer).unwrap().unwrap());
    let mut impersonation = change_title(&mut document, rogue_key, "Volé");
    impersonation.signer = a_device;
    let forging = Forging {
        inner: stage.rogue_household.store(),
        injected: vec![(header.clone(), vec![impersonation])],
        handed_out: Cell::new(0),
    };
    rogue
        .run_session(stage.a_peer, stage.community, &forging)
        .await
        .unwrap();
    assert_eq!(forging.handed_out.get(), 1, "the forged change was never asked for");
    // The session was real: the rogue's (valid) profile went through with it.
    let rogue_profile = DocHeader::profile(stage.rogue_household.id()).id();
    assert!(
        a.with(|h| h.store().header(&rogue_profile).unwrap()).is_some(),
        "the session transferred nothing"
    );
    stage.assert_offer_untouched();

    // 2. Changes validly signed by the rogue's device, to documents its
    //    household does not own: A's offer, and a new offer in B's name.
    let mut document = a.with(|h| h.store().load(&stage.offer).unwrap().unwrap());
    let not_a_writer = change_title(&mut document, rogue_key, "Volé aussi");
    let in_b_name = DocHeader::item(DocKind::Offer, stage.b.id(), stage.community, now_ms(), [7; 16]);
    let mut fake = maillage_crdt::Document::new(in_b_name.clone());
    let fake_change = change_title(&mut fake, rogue_key, "Faux don de Tilleuls");
    let forging = Forging {
        inner: stage.rogue_household.store(),
        injected: vec![(header, vec![not_a_writer]), (in_b_name.clone(), vec![fake_change])],
        handed_out: Cell::new(0),
    };
    rogue
        .run_session(stage.a_peer, stage.community, &forging)
        .await
        .unwrap();
    assert_eq!(forging.handed_out.get(), 2, "the forged changes were never asked for");

    stage.assert_a_up().await;
    stage.assert_offer_untouched();
    assert!(
        a.with(|h| h.store().header(&in_b_name.id()).unwrap()).is_none(),
        "A stored the fake document's header"
    );
    assert!(a.with(|h| h.store().heads(&in_b_name.id()).unwrap()).is_empty());
    assert_eq!(a.offer_titles(), [OFFER]);
    // Two offences: not yet banned.
    assert!(
        rogue.is_connected(stage.a_peer).await,
        "the rogue was disconnected after two strikes"
    );

    stage.assert_honest_sync_goes_on("Pommes").await;
    // Nothing forged travelled on to B either.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stage.b.offer_titles(), [OFFER, "Pommes"]);
    stage.assert_offer_untouched();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_and_records_leave_a_node_up_and_get_the_sender_banned() {
    quiet_panics();
    let stage = stage().await;
    let (a, rogue, community) = (&stage.a, &stage.rogue, stage.community);

    // Garbage as the first frame: no session, refused.
    let answer = rogue
        .frame(stage.a_peer, community, vec![WIRE_VERSION, 0xff, 0xff, 0xff, 0x07])
        .await;
    assert!(
        matches!(
            answer,
            Ok(SyncResponse::Refused {
                reason: SyncRefusal::NoSession
            })
        ),
        "garbage opening: {answer:?}"
    );
    let answer = rogue.frame(stage.a_peer, community, vec![0x42; 64]).await;
    assert!(
        matches!(
            answer,
            Ok(SyncResponse::Refused {
                reason: SyncRefusal::NoSession
            })
        ),
        "wrong version: {answer:?}"
    );
    stage.assert_a_up().await;

    // A frame far over the limit: the transport refuses it before decoding.
    let answer = rogue
        .frame(stage.a_peer, community, vec![WIRE_VERSION; 2 * MAX_FRAME_BYTES])
        .await;
    assert!(
        !matches!(answer, Ok(SyncResponse::Frame(_))),
        "an 8 MiB frame was answered: {answer:?}"
    );
    stage.assert_a_up().await;
    if !rogue.is_connected(stage.a_peer).await {
        // The transport may close the connection on such a request.
        rogue.dial(&a.address).await.unwrap();
    }

    // Inside an open session: a frame just over the protocol's limit (the
    // transport lets it through), then garbage.
    let (_, open) = Session::initiate(community, stage.rogue_household.store()).unwrap();
    let answer = rogue.frame(stage.a_peer, community, open).await;
    assert!(
        matches!(answer, Ok(SyncResponse::Frame(_))),
        "A did not open a session: {answer:?}"
    );
    let mut oversized = vec![0u8; MAX_FRAME_BYTES + 1];
    oversized[0] = WIRE_VERSION;
    let answer = rogue.frame(stage.a_peer, community, oversized).await;
    assert!(
        matches!(&answer, Ok(SyncResponse::Failed(reason)) if reason.contains("limit")),
        "oversized: {answer:?}"
    );
    stage.assert_a_up().await;

    let (_, open) = Session::initiate(community, stage.rogue_household.store()).unwrap();
    let answer = rogue.frame(stage.a_peer, community, open).await;
    assert!(
        matches!(answer, Ok(SyncResponse::Frame(_))),
        "A did not open a session: {answer:?}"
    );
    let answer = rogue
        .frame(
            stage.a_peer,
            community,
            vec![WIRE_VERSION, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f],
        )
        .await;
    assert!(
        matches!(answer, Ok(SyncResponse::Failed(_))),
        "garbage frame: {answer:?}"
    );
    stage.assert_a_up().await;
    assert!(
        rogue.is_connected(stage.a_peer).await,
        "the rogue was disconnected after two strikes"
    );

    // Garbage records in hello, with a well-formed but unauthorised record:
    // the rogue (not a steward) "removes" B.
    let removal = Removal {
        community,
        household: stage.b.id(),
        removed_at: now_ms(),
    };
    let removal = Record::Removal(stage.rogue_household.device_key().sign(removal).unwrap());
    let records = vec![
        ByteBuf::from(vec![0xde, 0xad, 0xbe, 0xef]),
        ByteBuf::from(removal.encode()),
    ];
    let _ = rogue.hello(stage.a_peer, records).await;

    // Third strike: A disconnects the rogue and keeps it out.
    wait_for(|| async { (!rogue.is_connected(stage.a_peer).await).then_some(()) }).await;
    let rogue_peer = rogue.peer_id.to_string();
    wait_for(|| async {
        a.net
            .status()
            .await?
            .peers
            .iter()
            .all(|p| p.peer != rogue_peer)
            .then_some(())
    })
    .await;
    let _ = rogue.dial(&a.address).await;
    wait_for(|| async { (!rogue.is_connected(stage.a_peer).await).then_some(()) }).await;
    let answer = rogue.hello(stage.a_peer, records_of(&stage.rogue_household)).await;
    assert!(answer.is_err(), "a banned peer's hello was answered: {answer:?}");

    stage.assert_a_up().await;
    stage.assert_offer_untouched();
    // B is still a member in A's eyes, and honest sync carries on.
    assert!(!is_removed(a, &community, &stage.b.id()));
    assert!(
        a.with(|h| h.members().unwrap())
            .iter()
            .any(|m| m.household == stage.b.id().to_text())
    );
    stage.assert_honest_sync_goes_on("Pommes").await;
}

// ----- removal -------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_receives_nothing_new() {
    quiet_panics();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let nodes = start_village(&["Ferme", "Tilleuls", "Moulin"]).await;
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    b.connect(a).await;
    c.connect(a).await;
    c.connect(b).await;
    a.offer("Avant le retrait");
    for node in &nodes {
        node.expect_offers(&["Avant le retrait"]).await;
    }
    let community = community_of(a);
    let c_id = c.id();

    a.write(move |h| h.remove_member(&c_id).unwrap());
    a.net.announce();
    // The removal reaches B through the records exchanged before each session.
    wait_for(|| async { is_removed(b, &community, &c_id).then_some(()) }).await;

    a.offer("Après le retrait");
    b.expect_offers(&["Après le retrait", "Avant le retrait"]).await;
    // C is not told either: what it writes now is not taken.
    c.offer("C après son retrait");

    tokio::time::sleep(SEVERAL_RESYNCS).await;
    assert!(c.peer_count().await >= 1, "C was disconnected: the test proves nothing");
    assert_eq!(
        c.offer_titles(),
        ["Avant le retrait", "C après son retrait"],
        "C received something new"
    );
    assert_eq!(a.offer_titles(), ["Après le retrait", "Avant le retrait"]);
    assert_eq!(b.offer_titles(), ["Après le retrait", "Avant le retrait"]);
}

/// The same, from a removed member's own node that does not play by the
/// rules: once removed it skips the records exchange (which would refuse it)
/// and opens a sync session directly, as it did while a member.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_opening_a_session_directly_gets_nothing_new() {
    quiet_panics();
    let stage = stage().await;
    let (a, rogue, community) = (&stage.a, &stage.rogue, stage.community);
    let removed = stage.rogue_household.id();
    a.write(move |h| h.remove_member(&removed).unwrap());
    a.net.announce();
    wait_for(|| async { is_removed(&stage.b, &community, &removed).then_some(()) }).await;
    let after = add_offer(a, "Après le retrait");
    stage.b.expect_offers(&[OFFER, "Après le retrait"]).await;

    // Several attempts, across resync periods.
    for _ in 0..3 {
        let answer = rogue
            .run_session(stage.a_peer, community, stage.rogue_household.store())
            .await;
        if let Ok(received) = &answer {
            let leaked: Vec<String> = received
                .iter()
                .map(|(header, _)| format!("{:?} {}", header.kind, header.id().short()))
                .collect();
            assert!(
                received.iter().all(|(header, _)| header.id() != after),
                "A sent a removed member a document written after the removal: {leaked:?}"
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A household in none of A's communities opens a sync session for A's
/// community, as a stranger on the LAN could: A says why it refuses (so the
/// stranger's log can say it too), and sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_sync_session_is_refused_as_not_a_member() {
    quiet_panics();
    let (name, dir, household) = village(&["Ferme"]).pop().unwrap();
    let a = TestNode::start(&name, dir, household).await;
    let community = community_of(&a);
    let (_stranger_dir, stranger) = TestNode::household("Inconnu");
    let rogue = Rogue::start(stranger.device_key(), records_of(&stranger));
    let a_peer = peer_of(&a.address);
    rogue.dial(&a.address).await.unwrap();

    let (_, opening) = Session::initiate(community, stranger.store()).unwrap();
    let answer = tokio::time::timeout(WAIT, rogue.frame(a_peer, community, opening))
        .await
        .expect("A answers within the wait");
    assert!(
        matches!(
            answer,
            Ok(SyncResponse::Refused {
                reason: SyncRefusal::NotAMember
            })
        ),
        "a stranger's opening frame: {answer:?}"
    );
    assert!(a.net.status().await.is_some(), "A's network task stopped");
}
