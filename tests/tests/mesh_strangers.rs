//! Strangers on the village network: a peer that is in none of a node's
//! communities, speaking libp2p directly (`rogue`), gets nothing that names a
//! community, a household or a device, cannot make members sync or forward
//! its gossip, and cannot keep members out with silent sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod rogue;
mod testnode;

use std::time::{Duration, Instant};

use libp2p::{Multiaddr, PeerId, multiaddr};
use maillage_crdt::CommunityId;
use maillage_protocol::mesh::{Announcement, topic_name};
use rogue::Rogue;
use serde_bytes::ByteBuf;
use testnode::{TestNode, quiet_panics, village, wait_for};

fn community_of(node: &TestNode) -> CommunityId {
    node.with(|h| h.current_community().unwrap())
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

fn records_of(household: &maillage_node::Household) -> Vec<ByteBuf> {
    household
        .own_records()
        .iter()
        .map(|r| ByteBuf::from(r.encode()))
        .collect()
}

async fn syncs_started(node: &TestNode) -> u64 {
    node.net.status().await.unwrap().syncs_started
}

/// Authors of the announcements a rogue received on `topic`.
fn authors(rogue: &Rogue, topic: &str) -> Vec<maillage_crdt::DeviceId> {
    rogue
        .seen()
        .gossip
        .iter()
        .filter_map(|data| Announcement::decode_verified(data, topic).ok())
        .map(|a| a.device)
        .collect()
}

/// A stranger that knows a community's id subscribes to its topic and
/// publishes 200 well-signed announcements on it through member A: A
/// forwards none of them (a member listening on A's gossip gets none), the
/// other member B syncs no more than its periodic resyncs, and A
/// disconnects the stranger. Members' own announcements still reach members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_announcements_are_not_forwarded_and_start_no_sync() {
    quiet_panics();
    let mut households = village(&["Ferme", "Tilleuls", "Renard"]);
    let (_, _listener_dir, listener_household) = households.pop().unwrap();
    let mut nodes = Vec::new();
    for (name, dir, household) in households {
        nodes.push(TestNode::start(&name, dir, household).await);
    }
    let (a, b) = (&nodes[0], &nodes[1]);
    b.connect(a).await;
    a.offer("Scie");
    b.expect_offers(&["Scie"]).await;
    let community = community_of(a);
    let topic = topic_name(&community);
    let a_peer = peer_of(&a.address);

    // A member (its real device and records) listening on A's gossip.
    let listener = Rogue::start(listener_household.device_key(), records_of(&listener_household));
    listener.dial(&a.address).await.unwrap();
    listener.hello(a_peer, records_of(&listener_household)).await.unwrap();
    listener.subscribe(&topic).await;

    let (_stranger_dir, stranger_household) = TestNode::household("Inconnu");
    let stranger = Rogue::start(stranger_household.device_key(), records_of(&stranger_household));
    stranger.dial(&a.address).await.unwrap();
    stranger.subscribe(&topic).await;
    // Gossip meshes form on heartbeats (700 ms).
    tokio::time::sleep(Duration::from_secs(2)).await;
    // A member's announcement reaches the member listening.
    a.offer("Échelle");
    let a_device = a.with(|h| h.device_key().device_id());
    wait_for(|| async { authors(&listener, &topic).contains(&a_device).then_some(()) }).await;

    let b_before = syncs_started(b).await;
    let started = Instant::now();
    let mut published = 0;
    for i in 0..200u64 {
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&i.to_le_bytes());
        let announcement = Announcement::new(stranger_household.device_key(), &topic, nonce);
        if stranger.publish(&topic, announcement.encode()).await.is_ok() {
            published += 1;
        }
    }
    // A cuts the stranger off after three strikes, unless its peer score
    // (set once hello says it is no member) made gossipsub ignore its
    // messages before they were validated: which comes first depends on
    // timing. Either way nothing it sent may travel or start a sync.
    let cut = tokio::time::timeout(Duration::from_secs(5), async {
        while stranger.is_connected(a_peer).await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        started.elapsed()
    })
    .await
    .ok();
    // Leave time for anything forwarded to arrive and any sync to start.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let elapsed = started.elapsed();
    let b_syncs = syncs_started(b).await - b_before;
    println!(
        "stranger published {published} announcements; disconnected after {cut:?}; \
         B started {b_syncs} syncs in {elapsed:?}"
    );
    assert!(published > 0, "the stranger could not publish at all");
    let stranger_device = stranger_household.device_key().device_id();
    assert!(
        !authors(&listener, &topic).contains(&stranger_device),
        "A forwarded the stranger's announcements"
    );
    // B resyncs with A every 2 s; the flood adds nothing to that.
    let resyncs = elapsed.as_secs() / 2 + 2;
    assert!(
        b_syncs <= resyncs,
        "B started {b_syncs} syncs (resyncs alone: {resyncs})"
    );
    b.expect_offers(&["Scie", "Échelle"]).await;
}

/// A stranger connects to a member's node and says hello (with its own
/// records, as any maillage node would), subscribes to the community's topic
/// (it knows its id) and waits: it gets no records at all (no join naming a
/// community, no device certificate with its label), only opaque tags, and
/// no gossip while the member posts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_learns_no_records_device_labels_or_gossip() {
    quiet_panics();
    let (name, dir, household) = village(&["Ferme"]).pop().unwrap();
    let a = TestNode::start(&name, dir, household).await;
    let community = community_of(&a);
    let topic = topic_name(&community);
    let a_peer = peer_of(&a.address);
    let (_stranger_dir, stranger_household) = TestNode::household("Inconnu");
    let stranger = Rogue::start(stranger_household.device_key(), records_of(&stranger_household));
    stranger.dial(&a.address).await.unwrap();
    let answer = stranger.hello(a_peer, records_of(&stranger_household)).await.unwrap();
    match answer {
        maillage_node::net::wire::RecordsResponse::Hello { records } => {
            assert!(
                records.is_empty(),
                "A answered a stranger's hello with {} records",
                records.len()
            )
        }
        other => panic!("A answered the hello with {other:?}"),
    }
    stranger.subscribe(&topic).await;
    // A's own hello to the stranger arrives: tags, no records.
    wait_for(|| async { (!stranger.seen().tags.is_empty()).then_some(()) }).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    a.offer("Scie");
    tokio::time::sleep(Duration::from_secs(2)).await;

    let seen = stranger.seen();
    assert!(
        seen.records.is_empty(),
        "the stranger received {} records",
        seen.records.len()
    );
    let label = a.with(|h| {
        h.store()
            .registry()
            .records()
            .find_map(|(_, r)| match r {
                maillage_crdt::Record::DeviceCert(cert) => Some(cert.body.label.clone()),
                _ => None,
            })
            .unwrap()
    });
    for tag in &seen.tags {
        assert_eq!(tag.len(), 32);
        assert_ne!(tag.as_slice(), community.0.as_slice());
        assert!(!String::from_utf8_lossy(tag).contains(&label));
    }
    assert!(
        seen.gossip.is_empty(),
        "the stranger received {} gossip messages",
        seen.gossip.len()
    );
    assert!(a.net.status().await.is_some(), "A's network task stopped");
}

/// Keeps `count` silent TCP connections from `from` open to `to`, reopening
/// each one the node closes, at most 50 a second, until dropped.
fn silent_flood(from: std::net::IpAddr, to: std::net::SocketAddr, count: usize) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut sockets: Vec<Option<tokio::net::TcpStream>> = (0..count).map(|_| None).collect();
        let mut opened = 0u64;
        loop {
            for slot in sockets.iter_mut() {
                let open = slot.as_ref().is_some_and(|stream| {
                    let mut buf = [0u8; 64];
                    matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
                });
                if open {
                    continue;
                }
                *slot = None;
                let socket = tokio::net::TcpSocket::new_v4().unwrap();
                socket.bind(std::net::SocketAddr::new(from, 0)).unwrap();
                if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_secs(1), socket.connect(to)).await {
                    *slot = Some(stream);
                    opened += 1;
                }
                // At most 50 new sockets a second.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            if opened > 100_000 {
                return opened;
            }
        }
    })
}

fn tcp_socket_of(address: &Multiaddr) -> std::net::SocketAddr {
    let mut ip = None;
    let mut port = None;
    for part in address.iter() {
        match part {
            multiaddr::Protocol::Ip4(v4) => ip = Some(std::net::IpAddr::V4(v4)),
            multiaddr::Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    std::net::SocketAddr::new(ip.unwrap(), port.unwrap())
}

/// Forty silent sockets from one address (127.0.0.2), reopened as the node
/// closes them, while a member (from 127.0.0.1) connects: the member gets in
/// and syncs within a few seconds, as it does without the flood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_silent_sockets_from_one_address_does_not_keep_a_member_out() {
    quiet_panics();
    let mut households = village(&["Ferme", "Tilleuls"]);
    let (b_name, b_dir, b_household) = households.pop().unwrap();
    let (a_name, a_dir, a_household) = households.pop().unwrap();
    let a = TestNode::start(&a_name, a_dir, a_household).await;
    a.offer("Scie");
    let target = tcp_socket_of(&a.address);
    let flood = silent_flood("127.0.0.2".parse().unwrap(), target, 40);
    // Let the flood fill whatever it can.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let b = TestNode::start(&b_name, b_dir, b_household).await;
    let started = Instant::now();
    b.connect(&a).await;
    b.expect_offers(&["Scie"]).await;
    let delay = started.elapsed();
    flood.abort();
    println!("member synced after {delay:?} under a flood of 40 silent sockets");
    assert!(delay < Duration::from_secs(5), "the member needed {delay:?} to sync");
}
