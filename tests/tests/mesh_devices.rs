//! A household's second machine, linked over the network: `device link` on
//! the first device, `device add CODE` on the new one. The new device
//! receives everything, writes as the household, and once revoked is
//! refused everywhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod procs;
mod testnode;

use std::time::Duration;

use maillage_crdt::{ChangeRejected, DocKind};
use maillage_node::net::admission::{self, AdmissionError, Linked};
use maillage_node::net::wire::Refusal;
use maillage_node::{Home, Household, HouseholdError};
use maillage_protocol::LinkCode;
use tempfile::TempDir;
use testnode::{TestNode, WAIT, quiet_panics, village, wait_for};

/// The founder's and a neighbour's running nodes, connected, with an offer each.
async fn two_households() -> (TestNode, TestNode) {
    let mut nodes = Vec::new();
    for (name, dir, household) in village(&["Ferme", "Tilleuls"]) {
        nodes.push(TestNode::start(&name, dir, household).await);
    }
    let tilleuls = nodes.pop().unwrap();
    let ferme = nodes.pop().unwrap();
    tilleuls.connect(&ferme).await;
    ferme.offer("Œufs frais");
    tilleuls.offer("Pommes");
    ferme.expect_offers(&["Pommes", "Œufs frais"]).await;
    (ferme, tilleuls)
}

/// A link code made by a running node (so it carries its addresses).
async fn link_code(node: &TestNode) -> String {
    wait_for(|| async {
        let code = node.write(|h| h.create_link(maillage_node::household::now_ms() + 600_000).unwrap());
        (!code.addresses.is_empty()).then(|| code.to_text())
    })
    .await
}

async fn add_device(dir: &TempDir, code: &str) -> Result<Linked, AdmissionError> {
    let home = Home::at(dir.path().join("home"));
    tokio::time::timeout(WAIT * 4, admission::add_device(home, code, "tablette", &mut |_| {}))
        .await
        .expect("device add took too long")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_device_gets_everything_writes_as_the_household_and_once_revoked_is_refused() {
    quiet_panics();
    let (ferme, tilleuls) = two_households().await;
    let code = link_code(&ferme).await;
    let dir = tempfile::tempdir().unwrap();

    let linked = add_device(&dir, &code).await.unwrap();

    assert!(linked.synced, "{linked:?}");
    assert_eq!(linked.household, ferme.id().to_text());
    assert_eq!(linked.name, "Ferme");
    // Everything the household sees is there when `device add` returns.
    let household = Household::open(Home::at(dir.path().join("home"))).unwrap();
    assert_eq!(household.id(), ferme.id());
    assert!(!household.whoami().unwrap().has_root_key);
    let tablette = TestNode::start("Tablette", dir, household).await;
    assert_eq!(tablette.offer_titles(), ["Pommes", "Œufs frais"]);
    assert_eq!(tablette.with(|h| h.members().unwrap().len()), 2);
    // The first device lists it.
    let devices = ferme.with(|h| h.devices());
    assert!(
        devices
            .iter()
            .any(|d| d.device == linked.device && d.label == "tablette")
    );
    // What only the root key may do is refused on the linked device.
    assert!(matches!(
        {
            let device = ferme.with(|f| f.whoami().unwrap().device);
            tablette.write(move |h| h.revoke_device(&device))
        },
        Err(HouseholdError::NoRootKey)
    ));
    assert!(matches!(
        tablette.write(|h| h.create_link(i64::MAX / 2)),
        Err(HouseholdError::NoRootKey)
    ));

    // It writes as the household: the neighbour sees the offer as Ferme's.
    tablette.connect(&ferme).await;
    tablette.offer("Depuis la tablette");
    tilleuls
        .expect_offers(&["Depuis la tablette", "Pommes", "Œufs frais"])
        .await;

    // Revoked from the first device: the revocation reaches the neighbour...
    let device = linked.device.clone();
    let prefix = device[..12].to_owned();
    ferme.write(move |h| h.revoke_device(&prefix).unwrap());
    ferme.net.announce();
    let device_id: maillage_crdt::DeviceId = device.parse().unwrap();
    wait_for(|| async {
        tilleuls
            .with(|h| h.store().registry().device(&device_id).and_then(|d| d.revoked_at))
            .map(|_| ())
    })
    .await;
    // ...and what the device signs afterwards is refused everywhere.
    tablette.offer("Après la révocation");
    tokio::time::sleep(Duration::from_secs(4)).await;
    for node in [&ferme, &tilleuls] {
        assert!(
            !node.offer_titles().contains(&"Après la révocation".to_owned()),
            "{} accepted a change from a revoked device",
            node.name
        );
    }
    // Handed over directly, the neighbour's store refuses it by name.
    let (header, changes) = tablette.with(|h| {
        let summaries = h.list(Default::default(), None, true).unwrap();
        let id = summaries
            .iter()
            .find(|s| s.title == "Après la révocation")
            .map(|s| s.id)
            .unwrap();
        let docs = h.store().export(|header| header.kind == DocKind::Offer).unwrap();
        docs.into_iter().find(|(header, _)| header.id() == id).unwrap()
    });
    let report: Vec<ChangeRejected> = tilleuls.write(move |h| {
        let report = h.ingest_foreign(vec![], vec![(header, changes)]).unwrap();
        report.rejected.into_iter().map(|(_, reason)| reason).collect()
    });
    assert!(
        report.iter().all(|reason| *reason == ChangeRejected::RevokedDevice) && !report.is_empty(),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_code_works_once() {
    quiet_panics();
    let (ferme, _tilleuls) = two_households().await;
    let code = link_code(&ferme).await;
    let first = tempfile::tempdir().unwrap();
    add_device(&first, &code).await.unwrap();
    let second = tempfile::tempdir().unwrap();

    let again = add_device(&second, &code).await;

    assert!(
        matches!(
            again,
            Err(AdmissionError::Household(HouseholdError::Refusal(Refusal::LinkUnknown)))
        ),
        "{again:?}"
    );
    // The half-made home says what to do, rather than crashing.
    let opened = Household::open(Home::at(second.path().join("home")));
    assert!(matches!(opened, Err(HouseholdError::LinkIncomplete)), "{opened:?}");
    // And a new code completes it, with the same device key.
    let code = link_code(&ferme).await;
    add_device(&second, &code).await.unwrap();
    let household = Household::open(Home::at(second.path().join("home"))).unwrap();
    assert_eq!(household.id(), ferme.id());
    assert_eq!(ferme.with(|h| h.devices().len()), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_link_code_is_refused_before_any_network() {
    quiet_panics();
    let (ferme, _tilleuls) = two_households().await;
    let mut code = LinkCode::parse(&link_code(&ferme).await).unwrap();
    code.expires_at = maillage_node::household::now_ms() - 1;
    let dir = tempfile::tempdir().unwrap();

    let result = add_device(&dir, &code.to_text()).await;

    assert!(
        matches!(
            result,
            Err(AdmissionError::Household(HouseholdError::Refusal(Refusal::LinkExpired)))
        ),
        "{result:?}"
    );
    assert!(!dir.path().join("home").exists(), "an expired code made a home");
}

/// The real binary: `device link` on the first device's running node,
/// `device add` on a new home, then the new device works as the household.
/// Without a running node, `device link` waits for the new machine itself.
#[test]
fn device_link_and_add_through_the_binary() {
    let root = tempfile::tempdir().unwrap();
    let mut ferme = procs::Proc::new(root.path(), "ferme", None);
    ferme.ok(&["init", "--name", "Ferme des Tilleuls"]);
    ferme.ok(&["community", "create", "Saint-Martin-de-Vers"]);
    ferme.loopback_only();
    ferme.start_node(&[]);
    ferme.ok(&["offer", "add", "--title", "Œufs frais"]);
    let code = ferme.json(&["device", "link"])["code"].as_str().unwrap().to_owned();

    let mut tablette = procs::Proc::new(root.path(), "tablette", None);
    tablette.loopback_only();
    let started = std::time::Instant::now();
    let added = tablette.ok(&["device", "add", &code, "--label", "tablette"]);
    eprintln!("device add, node mode: {:?}", started.elapsed());
    assert!(
        added.contains("This machine is now a device of the household \"Ferme des Tilleuls\""),
        "{added}"
    );
    assert_eq!(tablette.offer_titles(), ["Œufs frais"]);
    let me = tablette.json(&["whoami"]);
    assert_eq!(me["has_root_key"], false);
    assert_eq!(me["household"], ferme.json(&["whoami"])["household"]);
    let revoke = tablette.run(&["device", "revoke", "abc"]);
    assert_eq!(revoke.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&revoke.stderr).contains("only the household's first device holds the root key"),
        "{}",
        String::from_utf8_lossy(&revoke.stderr)
    );
    // It writes as the household, through its own node.
    tablette.start_node(&[]);
    tablette.ok(&["offer", "add", "--title", "Depuis la tablette"]);
    ferme.wait_for_offer("Depuis la tablette");
    tablette.stop_node();

    // No node on the first device: `device link` runs the mesh itself,
    // prints the code at once and waits for the new machine.
    ferme.stop_node();
    let mut waiting = ferme.spawn(&["device", "link", "--no-qr"]);
    let lines = procs::stdout_lines(&mut waiting);
    let mut printed = Vec::new();
    let code = procs::line_starting_with(&lines, "maillage-lien1-", &mut printed);
    let portable = procs::Proc::new(root.path(), "portable", None);
    portable.loopback_only();
    let started = std::time::Instant::now();
    portable.ok(&["device", "add", &code, "--label", "portable"]);
    eprintln!("device add, waiting mode: {:?}", started.elapsed());
    assert!(portable.offer_titles().contains(&"Depuis la tablette".to_owned()));
    let output = procs::wait_for_exit(waiting, procs::WAIT * 4);
    eprintln!("device link returned after: {:?}", started.elapsed());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // The command has ended: its last lines are all there.
    printed.extend(lines.iter());
    let printed = printed.join("\n");
    assert!(printed.contains("Waiting for the new machine"), "{printed}");
    assert!(printed.contains("(\"portable\") linked to your household"), "{printed}");
    assert_eq!(ferme.json(&["device", "list"]).as_array().unwrap().len(), 3);
}

/// A script drives a waiting `device link --json`: it reads the code from
/// the first line while the command waits, then the outcome from the next.
/// Every line of stdout is one JSON object saying which event it is.
#[test]
fn a_waiting_device_link_in_json_prints_one_event_per_line() {
    let root = tempfile::tempdir().unwrap();
    let ferme = procs::Proc::new(root.path(), "ferme", None);
    ferme.ok(&["init", "--name", "Ferme des Tilleuls"]);
    ferme.ok(&["community", "create", "Saint-Martin-de-Vers"]);
    ferme.loopback_only();

    let mut waiting = ferme.spawn(&["--json", "device", "link"]);
    let lines = procs::stdout_lines(&mut waiting);
    let first = json_object(lines.recv_timeout(procs::WAIT).expect("no first line"));
    assert_eq!(first["event"], "code", "{first}");
    let code = first["code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("maillage-lien1-"), "{first}");
    assert!(first["expires_at"].as_i64().unwrap() > maillage_node::household::now_ms());

    let portable = procs::Proc::new(root.path(), "portable", None);
    portable.loopback_only();
    portable.ok(&["device", "add", &code, "--label", "portable"]);
    let second = json_object(lines.recv_timeout(procs::WAIT).expect("no line after the link"));
    assert_eq!(second["event"], "linked", "{second}");
    assert_eq!(second["label"], "portable");
    let new_device = portable.json(&["whoami"])["device"].as_str().unwrap().to_owned();
    assert_eq!(second["device"], new_device);

    let output = procs::wait_for_exit(waiting, procs::WAIT * 4);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        lines.recv_timeout(Duration::from_secs(1)).is_err(),
        "more than two lines"
    );
}

/// One line of `--json` output: exactly one JSON object.
fn json_object(line: String) -> serde_json::Value {
    let value: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|error| panic!("not one JSON value ({error}): {line}"));
    assert!(value.is_object(), "{line}");
    value
}
