//! Three `maillage node` processes on loopback, driven only through the CLI:
//! init, invite, join, add, list. Nobody dials an address by hand: the
//! invite code carries the inviter's addresses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod procs;

use procs::Proc;

fn offline_mdns(home: &std::path::Path) {
    // Loopback only, and no multicast: tests running side by side on this
    // machine must not find each other.
    std::fs::create_dir_all(home).unwrap();
    std::fs::write(
        home.join("node.toml"),
        "listen = [\"/ip4/127.0.0.1/tcp/0\"]\nmdns = false\nresync_seconds = 2\n",
    )
    .unwrap();
}

#[test]
fn three_node_processes_share_an_offer_through_the_cli_alone() {
    let root = tempfile::tempdir().unwrap();
    let mut founder = Proc::new(root.path(), "ferme", None);
    founder.ok(&["init", "--name", "Ferme des Tilleuls"]);
    founder.ok(&["community", "create", "Saint-Martin-de-Vers"]);
    offline_mdns(&founder.home);
    founder.start_node(&[]);

    let mut others = Vec::new();
    for name in ["tilleuls", "moulin"] {
        // The code is made by the running node: it carries its addresses.
        let code = founder.json(&["community", "invite", "--uses", "1"])["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut household = Proc::new(root.path(), name, None);
        household.ok(&["init", "--name", name]);
        household.ok(&["community", "join", &code]);
        offline_mdns(&household.home);
        household.start_node(&[]);
        others.push(household);
    }

    // Written through the founder's running node (the CLI forwards to it).
    founder.ok(&["offer", "add", "--title", "Œufs frais", "--category", "alimentation"]);
    for household in &others {
        household.wait_for_offer("Œufs frais");
    }
    // And the other way round, between two households that never dialed each other.
    others[1].ok(&["offer", "add", "--title", "Farine du moulin"]);
    others[0].wait_for_offer("Farine du moulin");
    founder.wait_for_offer("Farine du moulin");

    // `peers` shows who is connected, by which address and transport.
    let peers = founder.json(&["peers"]);
    assert!(peers.as_array().is_some_and(|p| p.len() >= 2), "{peers}");

    // A clean stop keeps everything: offline, the store says the same.
    founder.stop_node();
    assert!(founder.offer_titles().contains(&"Farine du moulin".to_owned()));
}
