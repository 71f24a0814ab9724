//! Regressions from the review of the first version: each test is named
//! after what could go wrong, and fails if the hole reopens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Village, change_of, propose, put_marks, replica, writer};
use maillage_crdt::change::exchange_mark_key;
use maillage_crdt::exchange::{self, ExchangeAction, ExchangeMarks, ExchangeState};
use maillage_crdt::ledger::{self, LedgerEntry};
use maillage_crdt::{ChangeRejected, Document, verify_change};

const A: usize = 0;
const B: usize = 1;

/// A counterparty once could build an exchange "proposed" by another
/// household, accept and confirm it alone, and debit that household.
#[test]
fn nobody_is_debited_by_an_exchange_they_never_proposed() {
    let village = Village::new(2);
    let registry = village.registry();
    let b = village.household(B);
    // A is named proposer and receiver; B provides and writes everything.
    let header = village.exchange_header(A, B, false, 500, 9);
    let mut forged = Document::new(header.clone());
    let accepted = put_marks(
        &mut forged,
        &[exchange_mark_key(&b.id(), "accepted")],
        b.device(0),
        2,
        10_000,
    );
    let confirmed = put_marks(
        &mut forged,
        &[exchange_mark_key(&b.id(), "confirmed")],
        b.device(0),
        2,
        11_000,
    );

    // Each change is B's own mark, so the signature gate lets it through…
    verify_change(&accepted, &header, &registry).unwrap();
    // …but the causal check refuses an acceptance of nothing.
    let empty = Document::new(header.clone());
    let verified = verify_change(&accepted, &header, &registry).unwrap();
    assert_eq!(
        exchange::check_causal(&empty, &verified.change, &verified.household),
        Err(ChangeRejected::ExchangeOutOfTurn { household: b.id() })
    );
    // And even a node that applied the marks blindly counts nothing.
    let observer = replica(&header, &[accepted, confirmed]);
    assert_eq!(ExchangeMarks::read(&observer).unwrap().state(), ExchangeState::Void);
    let entry = LedgerEntry {
        id: header.id(),
        header: header.clone(),
        confirmed: false,
    };
    assert_eq!(ledger::balances([&entry]).total(), 0);
}

/// A proposer once could keep a cancel in reserve (a copied home, a second
/// device) and void an exchange after the other side confirmed it.
#[test]
fn a_withheld_cancel_cannot_void_a_confirmed_exchange() {
    let village = Village::new(2);
    let registry = village.registry();
    let (a, b) = (village.household(A), village.household(B));
    // A proposes that it received 500 from B.
    let header = village.exchange_header(A, B, false, 500, 3);
    let (mut at_a, proposed) = propose(header.clone(), a.device(0), 1, 10_000);
    // A's copy cancels, and keeps the change to itself.
    let mut copy = replica(&header, std::slice::from_ref(&proposed));
    let cancel = exchange::act(
        &mut copy,
        &a.id(),
        ExchangeAction::Cancel,
        &writer(a.device(0), 7, 11_000),
    )
    .unwrap();
    // Meanwhile B accepts and confirms, having seen only the proposal.
    let mut at_b = replica(&header, std::slice::from_ref(&proposed));
    let accept = exchange::act(
        &mut at_b,
        &b.id(),
        ExchangeAction::Accept,
        &writer(b.device(0), 2, 12_000),
    )
    .unwrap();
    let confirm = exchange::act(
        &mut at_b,
        &b.id(),
        ExchangeAction::Confirm,
        &writer(b.device(0), 2, 13_000),
    )
    .unwrap();
    at_a.apply(vec![change_of(&accept), change_of(&confirm)]).unwrap();
    assert_eq!(ExchangeMarks::read(&at_a).unwrap().state(), ExchangeState::Confirmed);

    // The withheld cancel arrives: it was made before A saw the acceptance,
    // so it passes every check…
    let verified = verify_change(&cancel, &header, &registry).unwrap();
    exchange::check_causal(&at_a, &verified.change, &verified.household).unwrap();
    at_a.apply(vec![verified.change]).unwrap();
    // …and changes nothing: the confirmation stands.
    assert_eq!(ExchangeMarks::read(&at_a).unwrap().state(), ExchangeState::Confirmed);
}

#[test]
fn an_exchange_amount_beyond_the_maximum_is_refused() {
    let village = Village::new(2);
    let registry = village.registry();
    let header = village.exchange_header(A, B, true, i64::MAX, 4);
    let (_, proposed) = propose(header.clone(), village.household(A).device(0), 1, 10_000);
    assert!(matches!(
        verify_change(&proposed, &header, &registry),
        Err(ChangeRejected::BadHeader(_))
    ));
}

/// After a removal, what the removed household wrote before it stays valid
/// on every node, including one that joins later.
#[test]
fn a_removed_household_keeps_its_earlier_changes_valid() {
    let village = Village::new(3);
    let c = village.household(2);
    let header = village.offer_header(2, 8);
    let (_, before) = common::new_offer(header.clone(), &common::offer("Confitures"), c.device(0), 20_000);
    let (_, after) = common::new_offer(village.offer_header(2, 9), &common::offer("Après"), c.device(0), 40_000);
    let removal = village.community.removal(village.household(A), c.id(), 30_000);
    let registry = village.registry_with([removal]);
    assert!(!registry.community(&village.community.id).unwrap().is_member(&c.id()));
    verify_change(&before, &header, &registry).unwrap();
    assert_eq!(
        verify_change(&after, &village.offer_header(2, 9), &registry).map(|_| ()),
        Err(ChangeRejected::NotAMember { household: c.id() })
    );
}
