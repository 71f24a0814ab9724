//! Two (or three) households that only ever meet through bundles carried on
//! a USB stick: joining, proposing, accepting, confirming, balances, invite
//! uses and the credit limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Home, id_of, invite_code, member_names, refused, titles, two_households};
use serde_json::Value;

/// Balance of `name` in `home`'s `--json balance`, as text.
fn balance_of(home: &Home, name: &str) -> String {
    let sheet = home.json(&["balance"]);
    let row = sheet["balances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not in the balance sheet {sheet}"));
    row["balance"].to_string().trim_matches('"').to_owned()
}

fn exchange<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("exchange {id} not in {list}"))
}

#[test]
fn two_households_exchange_through_bundles_only() {
    let a = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", Some("10"));
    let drill = a.add_offer("Perceuse à prêter", &["--category", "outils", "--kind", "lend"]);
    let code = invite_code(&a, 1);

    let b = Home::new();
    b.ok(&["init", "--name", "Les Écureuils", "--place", "Le Bourg"]);
    let joined = b.ok(&["community", "join", &code]);
    assert!(joined.contains("Saint-Martin-de-Vers"), "{joined}");
    assert_eq!(member_names(&b).len(), 2, "B knows the founder from the code");

    // B → A: A learns of B's arrival.
    assert_eq!(member_names(&a), ["Ferme des Tilleuls"]);
    a.import(&b.export("1-b.bundle"));
    let members = member_names(&a);
    assert!(members.contains(&"Les Écureuils".to_owned()), "{members:?}");
    assert_eq!(members.len(), 2);
    let text = a.ok(&["community", "members"]);
    assert!(text.contains("Les Écureuils") && text.contains("Le Bourg"), "{text}");

    // A proposes, naming B by its household name without case or accents.
    let proposed = a.json(&[
        "exchange",
        "propose",
        "--with",
        "les ecureuils",
        "--amount",
        "2",
        "--note",
        "Prêt de la perceuse",
    ]);
    let id = id_of(&proposed);
    assert_eq!(proposed["state"], "proposed");
    assert_eq!(exchange(&a.json(&["exchange", "list"]), &id)["state"], "proposed");
    assert!(b.json(&["exchange", "list"]).as_array().unwrap().is_empty());

    // A → B: B sees the proposal and A's offer.
    a.import(&b.export("unused.bundle")); // re-importing what is known changes nothing
    b.import(&a.export("2-a.bundle"));
    let seen = b.json(&["exchange", "list"]);
    let seen = exchange(&seen, &id);
    assert_eq!(seen["state"], "proposed");
    assert_eq!(seen["note"], "Prêt de la perceuse");
    assert_eq!(seen["provider"], "Ferme des Tilleuls");
    assert_eq!(seen["receiver"], "Les Écureuils");
    assert_eq!(titles(&b.json(&["offer", "list"])), ["Perceuse à prêter"]);
    assert_eq!(
        b.json(&["offer", "show", &drill[..6]])["owner_name"],
        "Ferme des Tilleuls"
    );

    // B accepts by prefix; confirmation is not B's to give before A knows.
    let accepted = b.json(&["exchange", "accept", &id[..8]]);
    assert_eq!(accepted["state"], "accepted");
    assert_eq!(
        balance_of(&b, "Les Écureuils"),
        "0",
        "an accepted exchange moves nothing yet"
    );

    // B → A, A confirms.
    a.import(&b.export("3-b.bundle"));
    assert_eq!(exchange(&a.json(&["exchange", "list"]), &id)["state"], "accepted");
    let confirmed = a.json(&["exchange", "confirm", &id[..8]]);
    assert_eq!(confirmed["state"], "confirmed");
    assert_eq!(balance_of(&a, "Ferme des Tilleuls"), "2");
    assert_eq!(balance_of(&a, "Les Écureuils"), "-2");
    let one = a.json(&["balance", "les écureuils"]);
    assert_eq!(one["balance"].to_string().trim_matches('"'), "-2", "{one}");

    // A → B: B sees the same balances.
    b.import(&a.export("4-a.bundle"));
    assert_eq!(exchange(&b.json(&["exchange", "list"]), &id)["state"], "confirmed");
    assert_eq!(balance_of(&b, "Ferme des Tilleuls"), "2");
    assert_eq!(balance_of(&b, "Les Écureuils"), "-2");

    // A second confirmation is refused and counts nothing twice.
    let before = a.snapshot();
    let (code, line) = a.fail(&["exchange", "confirm", &id[..8]]);
    assert_ne!(code, 0);
    assert!(!line.is_empty());
    assert_eq!(a.snapshot(), before);
    assert_eq!(balance_of(&a, "Ferme des Tilleuls"), "2");

    // B may add its own confirmation, once; the exchange still counts once.
    assert_eq!(b.json(&["exchange", "confirm", &id[..8]])["state"], "confirmed");
    assert_eq!(balance_of(&b, "Les Écureuils"), "-2");
    let before = b.snapshot();
    b.fail(&["exchange", "confirm", &id[..8]]);
    assert_eq!(b.snapshot(), before);
    a.import(&b.export("5-b.bundle"));
    assert_eq!(balance_of(&a, "Ferme des Tilleuls"), "2");
    assert_eq!(balance_of(&a, "Les Écureuils"), "-2");
}

/// An invite made for one use admits one household. A third one that uses
/// it offline may think it joined, but the community's members, once its
/// bundle reaches them, do not count it.
#[test]
fn an_invite_used_once_does_not_admit_a_third_household() {
    let a = Home::founder("Ferme des Tilleuls", "Saint-Martin-de-Vers", None);
    let code = invite_code(&a, 1);
    let b = Home::new();
    b.ok(&["init", "--name", "Les Écureuils"]);
    b.ok(&["community", "join", &code]);
    let c = Home::new();
    c.ok(&["init", "--name", "Le Moulin Neuf"]);
    // Offline, C cannot know B already used the code: whatever C believes
    // locally, what matters is what the others derive.
    let c_joined = c.run(&["community", "join", &code]);
    if c_joined.status.success() {
        c.ok(&["offer", "add", "--title", "Farine de sarrasin"]);
    }

    a.import(&b.export("b.bundle"));
    let before = a.snapshot();
    let args_path = c.export("c.bundle");
    let args = ["import", args_path.to_str().unwrap()];
    let output = a.run(&args);
    if !output.status.success() {
        refused(&args, &output);
    }
    let members = member_names(&a);
    assert!(!members.contains(&"Le Moulin Neuf".to_owned()), "{members:?}");
    assert_eq!(members.len(), 2, "{members:?}");
    assert!(
        !a.json(&["offer", "list", "--all"]).to_string().contains("sarrasin"),
        "a non-member's offer must not show"
    );
    assert_eq!(a.snapshot(), before);

    // B, learning of C through A, does not count C either.
    b.import(&a.export("a.bundle"));
    assert!(!member_names(&b).contains(&"Le Moulin Neuf".to_owned()));
}

/// With `--limit 1`, nobody's balance may go below −1: B accepting to
/// receive 2 is refused with a message that says so, and nothing changes.
#[test]
fn the_credit_limit_is_enforced_when_accepting() {
    let (a, b) = two_households(Some("1"));
    let id = id_of(&a.json(&[
        "exchange",
        "propose",
        "--with",
        "Les Écureuils",
        "--amount",
        "2",
        "--note",
        "Bois fendu",
    ]));
    b.import(&a.export("a.bundle"));
    let before = b.snapshot();
    let output = b.run_in(common::Lang::En, &["exchange", "accept", &id[..8]]);
    let (_, line) = refused(&["exchange", "accept"], &output);
    assert!(line.contains("limit"), "the message names the limit: {line}");
    assert!(line.contains("-1"), "the message gives the limit: {line}");
    assert!(
        line.contains("-2"),
        "the message gives the balance it would reach: {line}"
    );
    assert!(line.contains("Les Écureuils"), "the message says whose balance: {line}");
    assert_eq!(b.snapshot(), before, "a refused accept writes nothing");
    assert_eq!(exchange(&b.json(&["exchange", "list"]), &id)["state"], "proposed");

    // In French too.
    let (_, line) = b.fail(&["exchange", "accept", &id[..8]]);
    assert!(line.contains("limite"), "{line}");

    // Within the limit it goes through.
    let small = id_of(&a.json(&["exchange", "propose", "--with", "les écureuils", "--amount", "1"]));
    b.import(&a.export("a2.bundle"));
    assert_eq!(b.json(&["exchange", "accept", &small[..8]])["state"], "accepted");
}

/// An exchange already confirmed by the provider is already in the
/// receiver's balance: the receiver adding its own confirmation moves
/// nothing, so it cannot be refused for going over the limit.
#[test]
fn co_confirming_an_exchange_already_counted_is_not_refused_by_the_limit() {
    let (a, b) = two_households(Some("2"));
    let id = id_of(&a.json(&["exchange", "propose", "--with", "Les Écureuils", "--amount", "2"]));
    b.import(&a.export("1-a.bundle"));
    assert_eq!(b.json(&["exchange", "accept", &id[..8]])["state"], "accepted");
    a.import(&b.export("2-b.bundle"));
    assert_eq!(a.json(&["exchange", "confirm", &id[..8]])["state"], "confirmed");
    b.import(&a.export("3-a.bundle"));
    assert_eq!(balance_of(&b, "Les Écureuils"), "-2", "exactly at the limit is allowed");
    let output = b.run_in(common::Lang::En, &["--json", "exchange", "confirm", &id[..8]]);
    assert!(
        output.status.success(),
        "B's confirmation of an exchange already counted should be accepted; stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(balance_of(&b, "Les Écureuils"), "-2");
}

/// A bundle written to a bare file name lands in the working directory,
/// like `cp` would, and the command says it worked.
#[test]
fn export_to_a_file_in_the_working_directory() {
    let (a, b) = two_households(None);
    a.add_offer("Perceuse à prêter", &[]);
    let work = tempfile::tempdir().unwrap();
    let output = a
        .command(a.lang, &["export", "stick.bundle"])
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`maillage export stick.bundle` in a directory should succeed; stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written = work.path().join("stick.bundle");
    assert!(written.exists());
    b.import(&written);
    assert_eq!(titles(&b.json(&["offer", "list"])), ["Perceuse à prêter"]);
}
