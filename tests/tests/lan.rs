//! A LAN in Linux network namespaces made by this test: three hosts on one
//! bridge, addresses in a private /24 that exists only inside those
//! namespaces, no default route, no internet. The nodes find each other by
//! mDNS (nobody dials an address by hand) and sync; cutting a host's link and
//! restoring it heals.
//!
//! Needs root (CI runs as root) and iproute2.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod procs;

use std::process::Command;

use procs::Proc;

/// The namespaces and links of one test run; removed on drop, whatever happens.
struct Lan {
    switch: String,
    hosts: Vec<String>,
}

fn ip(args: &[&str]) {
    let output = Command::new("ip")
        .args(args)
        .output()
        .expect("iproute2 (`ip`) is needed for the LAN test");
    assert!(
        output.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Lan {
    /// `hosts` namespaces, each with one veth into a bridge that lives in a
    /// namespace of its own (nothing is added to the machine's own network).
    fn new(hosts: usize) -> Lan {
        let tag = std::process::id() % 100_000;
        let lan = Lan {
            switch: format!("mlsw{tag}"),
            hosts: (0..hosts).map(|i| format!("mlh{tag}x{i}")).collect(),
        };
        ip(&["netns", "add", &lan.switch]);
        ip(&[
            "-n",
            &lan.switch,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        ip(&["-n", &lan.switch, "link", "set", "br0", "up"]);
        for (i, host) in lan.hosts.iter().enumerate() {
            ip(&["netns", "add", host]);
            let (inside, outside) = (format!("eth{i}"), format!("port{i}"));
            ip(&[
                "-n",
                host,
                "link",
                "add",
                &inside,
                "type",
                "veth",
                "peer",
                "name",
                &outside,
                "netns",
                &lan.switch,
            ]);
            ip(&["-n", &lan.switch, "link", "set", &outside, "master", "br0"]);
            ip(&["-n", &lan.switch, "link", "set", &outside, "up"]);
            ip(&[
                "-n",
                host,
                "addr",
                "add",
                &format!("10.77.0.{}/24", i + 10),
                "dev",
                &inside,
            ]);
            ip(&["-n", host, "link", "set", &inside, "up"]);
            ip(&["-n", host, "link", "set", "lo", "up"]);
        }
        lan
    }

    /// Takes a host's cable out (or puts it back).
    fn cable(&self, host: usize, plugged: bool) {
        ip(&[
            "-n",
            &self.switch,
            "link",
            "set",
            &format!("port{host}"),
            if plugged { "up" } else { "down" },
        ]);
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for namespace in self.hosts.iter().chain(std::iter::once(&self.switch)) {
            let _ = Command::new("ip").args(["netns", "delete", namespace]).status();
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

#[test]
fn households_on_a_lan_find_each_other_by_mdns_and_heal_after_a_cut() {
    if !is_root() {
        // CI runs as root and sets MAILLAGE_REQUIRE_NETNS (see .ci/run): there
        // this test must run. A developer's unprivileged run is told, not failed.
        assert!(
            std::env::var_os("MAILLAGE_REQUIRE_NETNS").is_none(),
            "the LAN test makes network namespaces and needs root"
        );
        eprintln!("skipping the LAN test: it makes network namespaces and needs root");
        return;
    }
    let lan = Lan::new(3);
    let root = tempfile::tempdir().unwrap();
    let names = ["ferme", "tilleuls", "moulin"];
    let mut homes: Vec<Proc> = names
        .iter()
        .zip(&lan.hosts)
        .map(|(name, ns)| Proc::new(root.path(), name, Some(ns)))
        .collect();

    // Memberships are made offline, before any network.
    homes[0].ok(&["init", "--name", "Ferme des Tilleuls"]);
    homes[0].ok(&["community", "create", "Saint-Martin-de-Vers"]);
    for home in &homes[1..] {
        let code = homes[0].json(&["community", "invite", "--uses", "1"])["code"]
            .as_str()
            .unwrap()
            .to_owned();
        home.ok(&["init", "--name", &home.name]);
        home.ok(&["community", "join", &code]);
    }
    for home in &homes {
        std::fs::write(home.home.join("node.toml"), "resync_seconds = 2\n").unwrap();
    }
    // Default listen addresses (every interface) and mDNS on: no addresses given.
    for home in &mut homes {
        home.start_node(&[]);
    }

    homes[0].ok(&["offer", "add", "--title", "Œufs frais"]);
    homes[1].wait_for_offer("Œufs frais");
    homes[2].wait_for_offer("Œufs frais");

    // Unplug the mill; the village carries on without it.
    lan.cable(2, false);
    homes[1].ok(&["offer", "add", "--title", "Pendant la coupure"]);
    homes[0].wait_for_offer("Pendant la coupure");
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(
        !homes[2].offer_titles().contains(&"Pendant la coupure".to_owned()),
        "the cut host still received"
    );
    // The mill writes while cut off, too.
    homes[2].ok(&["offer", "add", "--title", "Farine, pendant la coupure"]);

    // Plug it back: everything heals both ways.
    lan.cable(2, true);
    homes[2].wait_for_offer("Pendant la coupure");
    homes[0].wait_for_offer("Farine, pendant la coupure");
    homes[1].wait_for_offer("Farine, pendant la coupure");
}
