//! Several real nodes in one process, on loopback: they find each other's
//! memberships, sync, and refuse what they must.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod testnode;

use testnode::{TestNode, village};

async fn start_village(names: &[&str]) -> Vec<TestNode> {
    let mut nodes = Vec::new();
    for (name, dir, household) in village(names) {
        nodes.push(TestNode::start(&name, dir, household).await);
    }
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_offer_reaches_every_member() {
    let nodes = start_village(&["Ferme", "Tilleuls", "Moulin"]).await;
    // A star around the founder, as around a village-hall relay.
    nodes[1].connect(&nodes[0]).await;
    nodes[2].connect(&nodes[0]).await;
    nodes[0].offer("Œufs frais");
    for node in &nodes {
        node.expect_offers(&["Œufs frais"]).await;
    }
    nodes[2].offer("Confiture");
    for node in &nodes {
        node.expect_offers(&["Confiture", "Œufs frais"]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edits_on_several_nodes_converge() {
    let names = ["A", "B", "C", "D", "E"];
    let nodes = start_village(&names).await;
    for (i, node) in nodes.iter().enumerate() {
        for j in 0..3 {
            node.offer(&format!("{} offre {j}", names[i]));
        }
    }
    // A chain: each node only knows its neighbour.
    for pair in nodes.windows(2) {
        pair[1].connect(&pair[0]).await;
    }
    let expected: Vec<String> = names
        .iter()
        .flat_map(|n| (0..3).map(move |j| format!("{n} offre {j}")))
        .collect();
    let expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    for node in &nodes {
        node.expect_offers(&expected).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_reconnects_by_itself_and_catches_up() {
    let mut nodes = start_village(&["Ferme", "Tilleuls"]).await;
    nodes[1].connect(&nodes[0]).await;
    nodes[0].offer("Avant l'arrêt");
    nodes[1].expect_offers(&["Avant l'arrêt"]).await;
    let stopped = nodes.pop().unwrap();
    let (name, dir) = stopped.stop().await;
    nodes[0].offer("Pendant l'arrêt");
    let back = TestNode::restart(name, dir).await;
    // No dial by hand: the node remembers where its members were reached.
    back.expect_offers(&["Avant l'arrêt", "Pendant l'arrêt"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_member_connected_to_members_gets_nothing() {
    let nodes = start_village(&["Ferme", "Tilleuls"]).await;
    let (dir, mut stranger) = TestNode::household("Curieux");
    stranger.create_community("Ailleurs", "heure", None).unwrap();
    let stranger = TestNode::start("Curieux", dir, stranger).await;
    nodes[1].connect(&nodes[0]).await;
    stranger.connect(&nodes[0]).await;
    stranger.connect(&nodes[1]).await;
    nodes[0].offer("Réservé au village");
    nodes[1].expect_offers(&["Réservé au village"]).await;
    // Give the stranger every chance: several resync periods.
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert!(stranger.peer_count().await >= 1, "the stranger did connect");
    let stats = stranger.with(|h| h.store().stats().unwrap());
    // Its own profile is the only document it holds.
    assert_eq!(stats.documents, 1, "the stranger received documents: {stats:?}");
}

/// `community join CODE` on a household whose node is not even running: when
/// its node starts, it dials the inviter (the code carries the inviter's
/// addresses), proves its membership and receives everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_reaches_the_inviter_from_the_code_alone() {
    let (dir, mut founder) = TestNode::household("Ferme");
    founder.create_community("Saint-Martin", "heure", None).unwrap();
    let founder = TestNode::start("Ferme", dir, founder).await;
    founder.offer("Bienvenue");
    let code = testnode::wait_for(|| async {
        let code = founder.write(|h| h.invite(1, i64::MAX / 2).unwrap());
        (!code.addresses.is_empty()).then(|| code.to_text())
    })
    .await;
    let (dir, mut newcomer) = TestNode::household("Tilleuls");
    newcomer.join(&code).unwrap();
    let newcomer = TestNode::start("Tilleuls", dir, newcomer).await;
    newcomer.expect_offers(&["Bienvenue"]).await;
    // And the founder now counts the newcomer among the members.
    let members = founder.with(|h| h.members().unwrap().len());
    assert_eq!(members, 2);
}
