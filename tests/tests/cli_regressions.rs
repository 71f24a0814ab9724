//! Regressions from the review of the first version, through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{id_of, titles, two_households};

/// A member of two communities once handed the second community's data to
/// a neighbour who was only in the first, in an ordinary bundle.
#[test]
fn a_bundle_never_gives_a_household_another_communitys_data() {
    let (a, b) = two_households(None);
    a.add_offer("Pour le village", &[]);
    a.ok(&["community", "create", "AMAP des Granges"]);
    a.add_offer("Panier secret de l'AMAP", &[]);
    b.import(&a.export("a-everything.bundle"));
    let seen = titles(&b.json(&["offer", "list", "--all"]));
    assert_eq!(seen, vec!["Pour le village".to_owned()], "B saw: {seen:?}");
    assert_eq!(b.json(&["community", "list"]).as_array().unwrap().len(), 1);
}

/// The hard limit once counted only confirmed exchanges: two proposals,
/// each under the limit, could be accepted together and break it.
#[test]
fn accepted_but_unconfirmed_debts_count_against_the_limit() {
    let (a, b) = two_households(Some("10"));
    let first = id_of(&b.json(&[
        "exchange",
        "propose",
        "--with",
        "Ferme des Tilleuls",
        "--amount",
        "8",
        "--received",
    ]));
    let second = id_of(&b.json(&[
        "exchange",
        "propose",
        "--with",
        "Ferme des Tilleuls",
        "--amount",
        "8",
        "--received",
    ]));
    a.import(&b.export("b-proposals.bundle"));
    a.ok(&["exchange", "accept", &first[..8]]);
    let (_, line) = a.fail(&["exchange", "accept", &second[..8]]);
    assert!(line.contains("-16") && line.contains("-10"), "{line}");
}

/// A third party's offer once decided the direction of an exchange between
/// two others.
#[test]
fn an_exchange_can_only_be_about_an_item_of_its_two_parties() {
    let (a, b) = two_households(None);
    let offer = a.add_offer("Perceuse", &[]);
    b.import(&a.export("a-offer.bundle"));
    // --received contradicts what the offer says.
    let (_, line) = b.fail(&[
        "exchange",
        "propose",
        "--with",
        "Ferme",
        "--offer",
        &offer[..8],
        "--received",
    ]);
    assert!(!line.is_empty());
    let proposed = b.json(&[
        "exchange",
        "propose",
        "--with",
        "Ferme des Tilleuls",
        "--offer",
        &offer[..8],
    ]);
    let listed = b.json(&["exchange", "list"]);
    let exchange = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == proposed["id"])
        .unwrap()
        .clone();
    assert_eq!(exchange["provider"], "Ferme des Tilleuls", "the offer's owner gives");
}
