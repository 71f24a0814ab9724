//! Many commands at once on one home with no node running: each waits for
//! the store while another holds it, instead of failing at once; and what
//! a command says when the store stays held.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use common::{Home, titles};

#[test]
fn twenty_offer_adds_at_once_all_succeed() {
    let home = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", None);
    let started = Instant::now();
    // Spawned all before any is waited for, as a script running them in
    // the background would.
    let children: Vec<_> = (0..20)
        .map(|n| {
            let title = format!("Offre {n}");
            let mut command = std::process::Command::new(common::binary());
            command
                .arg("--home")
                .arg(&home.path)
                .args(["offer", "add", "--title", &title])
                .env("LANG", "fr_FR.UTF-8")
                .env("TZ", "Europe/Paris")
                .env_remove("LC_ALL")
                .env_remove("LC_MESSAGES")
                .env_remove("MAILLAGE_HOME")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    let mut failures = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        if !output.status.success() {
            failures.push(String::from_utf8_lossy(&output.stderr).into_owned());
        }
    }
    let elapsed = started.elapsed();
    assert!(failures.is_empty(), "{} of 20 failed: {failures:?}", failures.len());
    let listed = titles(&home.json(&["offer", "list", "--all"]));
    assert_eq!(listed.len(), 20, "{listed:?}");
    for n in 0..20 {
        assert!(
            listed.contains(&format!("Offre {n}")),
            "Offre {n} missing from {listed:?}"
        );
    }
    eprintln!("20 concurrent `offer add`: {elapsed:?}");
}

/// A node's `run/` files, naming `pid` and an address nothing listens on:
/// the command falls back to the store, which the "node" holds.
fn pretend_node_runs(home: &Home, pid: u32) {
    let run = home.path.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let token = run.join("token");
    std::fs::write(&token, "ab".repeat(32)).unwrap();
    std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    std::fs::write(
        run.join("api.json"),
        format!(r#"{{"url": "http://127.0.0.1:9", "pid": {pid}}}"#),
    )
    .unwrap();
}

#[test]
fn a_store_held_by_a_node_is_refused_at_once_naming_it() {
    let home = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", None);
    let held = maillage_node::Store::open(&home.store_file()).unwrap();
    let mut node = std::process::Command::new("sleep").arg("60").spawn().unwrap();
    pretend_node_runs(&home, node.id());
    let started = Instant::now();
    let (_, french) = home.fail(&["offer", "add", "--title", "Scie"]);
    let (_, english) = common::refused(
        &["offer", "add"],
        &home.run_in(common::Lang::En, &["offer", "add", "--title", "Scie"]),
    );
    let elapsed = started.elapsed();
    node.kill().unwrap();
    node.wait().unwrap();
    drop(held);
    let pid = node.id().to_string();
    assert!(
        french.contains("le nœud de ce foyer est en marche") && french.contains(&pid),
        "{french}"
    );
    assert!(
        english.contains("this household's node is running") && english.contains(&pid),
        "{english}"
    );
    assert!(elapsed.as_secs() < 8, "no 10 s wait behind a node: {elapsed:?}");
}

#[test]
fn a_store_held_longer_than_the_wait_is_refused_saying_what_holds_it() {
    let home = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", None);
    let held = maillage_node::Store::open(&home.store_file()).unwrap();
    let started = Instant::now();
    let (_, line) = home.fail(&["offer", "add", "--title", "Scie"]);
    let elapsed = started.elapsed();
    drop(held);
    assert!(
        line.contains("autre commande maillage") && line.contains("10 s"),
        "{line}"
    );
    assert!(elapsed.as_secs() >= 10, "it waited: {elapsed:?}");
    // Once released, the same command goes through.
    home.ok(&["offer", "add", "--title", "Scie"]);
}
