//! Replicas that receive the same verified changes, in any order, end up in
//! the same state: offers edited concurrently by several devices, and the
//! ledger derived from exchanges acted on concurrently by their parties.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Village, change_of, offer, propose, replica, write, writer};
use maillage_crdt::exchange::{self, ExchangeAction, ExchangeMarks, ExchangeState};
use maillage_crdt::items::{Offer, OfferState};
use maillage_crdt::ledger::{self, LedgerEntry};
use maillage_crdt::{
    Amount, ChangeRejected, DocHeader, DocId, Document, HouseholdId, Registry, SecretKey, SignedChange, verify_change,
};
use proptest::prelude::*;

/// Fisher–Yates with a small xorshift generator: a permutation of `0..len`
/// decided by `seed`.
fn permutation(len: usize, seed: u64) -> Vec<usize> {
    let mut state = seed | 1;
    let mut order: Vec<usize> = (0..len).collect();
    for i in (1..len).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order
}

fn sorted_heads(document: &mut Document) -> Vec<automerge::ChangeHash> {
    let mut heads = document.heads();
    heads.sort();
    heads
}

/// Checks a change and returns it ready to apply, with who made it.
fn verified(signed: &SignedChange, header: &DocHeader, registry: &Registry) -> (automerge::Change, HouseholdId) {
    let verified = verify_change(signed, header, registry).unwrap();
    (verified.change, verified.household)
}

// ------------------------------------------------------------------ offers

#[derive(Clone, Debug)]
enum OfferEdit {
    Title(String),
    Description(String),
    State(OfferState),
    Price(Option<i64>),
}

#[derive(Clone, Debug)]
enum OfferStep {
    Edit { replica: usize, edit: OfferEdit },
    Sync { from: usize, to: usize },
}

/// Replicas 0..3 belong to household A (device 0, device 1, and device 0
/// again in another session); replica 3 is household B's copy of A's offer.
const OFFER_REPLICAS: usize = 4;
const FOREIGN: usize = 3;

fn offer_edit() -> impl Strategy<Value = OfferEdit> {
    prop_oneof![
        "[A-Za-zéè ]{1,16}".prop_map(OfferEdit::Title),
        "[a-z \n]{0,30}".prop_map(OfferEdit::Description),
        prop::sample::select(OfferState::ALL.to_vec()).prop_map(OfferEdit::State),
        prop::option::of(0..1_000_000i64).prop_map(OfferEdit::Price),
    ]
}

fn offer_step() -> impl Strategy<Value = OfferStep> {
    prop_oneof![
        3 => (0..OFFER_REPLICAS, offer_edit()).prop_map(|(replica, edit)| OfferStep::Edit { replica, edit }),
        2 => (0..OFFER_REPLICAS, 0..OFFER_REPLICAS).prop_map(|(from, to)| OfferStep::Sync { from, to }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn offer_replicas_converge_whatever_the_delivery_order(
        steps in prop::collection::vec(offer_step(), 1..40),
        seeds in prop::collection::vec(any::<u64>(), 3),
    ) {
        let village = Village::new(2);
        let registry = village.registry();
        let (a, b) = (village.household(0), village.household(1));
        let header = village.offer_header(0, 7);
        let devices: [&SecretKey; OFFER_REPLICAS] = [a.device(0), a.device(1), a.device(0), b.device(0)];

        let mut replicas: Vec<Document> = (0..OFFER_REPLICAS).map(|_| Document::new(header.clone())).collect();
        let first = write(&mut replicas[0], &offer("Perceuse"), &writer(devices[0], 100, 10_000));
        for document in &mut replicas[1..] {
            document.apply(vec![change_of(&first)]).unwrap();
        }
        let mut own = vec![first];
        let mut foreign = Vec::new();
        for (step, action) in steps.iter().enumerate() {
            let now_ms = 11_000 + step as i64 * 1_000;
            match action {
                OfferStep::Edit { replica, edit } => {
                    let mut body: Offer = replicas[*replica].read().unwrap();
                    match edit {
                        OfferEdit::Title(title) => body.title = title.clone(),
                        OfferEdit::Description(text) => body.description = text.clone(),
                        OfferEdit::State(next) if body.state.can_become(*next) => body.state = *next,
                        OfferEdit::State(_) => continue,
                        OfferEdit::Price(price) => body.price = *price,
                    }
                    body.updated_at = now_ms;
                    let signed = replicas[*replica]
                        .write(&body, &writer(devices[*replica], 100 + *replica as u64, now_ms))
                        .unwrap();
                    prop_assert_eq!(&replicas[*replica].read::<Offer>().unwrap(), &body);
                    if let Some(signed) = signed {
                        if *replica == FOREIGN { foreign.push(signed) } else { own.push(signed) }
                    }
                }
                // Household B's copy is never passed on: nobody would accept its changes.
                OfferStep::Sync { from, .. } if *from == FOREIGN => {}
                OfferStep::Sync { from, to } => {
                    let changes = replicas[*from].changes();
                    replicas[*to].apply(changes).unwrap();
                }
            }
        }

        // Every change of A's devices passes the gate; B's are refused.
        let mut changes = Vec::new();
        for signed in &own {
            let (change, household) = verified(signed, &header, &registry);
            prop_assert_eq!(household, a.id());
            changes.push(change);
        }
        for signed in &foreign {
            prop_assert_eq!(
                verify_change(signed, &header, &registry).unwrap_err(),
                ChangeRejected::NotAWriter { household: b.id() }
            );
        }
        let hashes: BTreeSet<_> = changes.iter().map(|c| c.hash()).collect();
        prop_assert_eq!(hashes.len(), changes.len(), "every write made a distinct change");

        // The reference: A's replicas merged.
        let mut reference = Document::new(header.clone());
        for document in &mut replicas[..FOREIGN] {
            reference.apply(document.changes()).unwrap();
        }
        let expected_heads = sorted_heads(&mut reference);
        let expected: Offer = reference.read().unwrap();
        prop_assert_eq!(reference.changes().len(), changes.len());

        // Fresh replicas, one change at a time, each in its own order.
        for seed in &seeds {
            let mut observer = Document::new(header.clone());
            for index in permutation(changes.len(), *seed) {
                observer.apply(vec![changes[index].clone()]).unwrap();
            }
            prop_assert_eq!(sorted_heads(&mut observer), expected_heads.clone());
            prop_assert_eq!(observer.read::<Offer>().unwrap(), expected.clone());
        }
        // And all at once, in reverse, through a saved snapshot.
        let mut batch = Document::new(header.clone());
        batch.apply(changes.iter().rev().cloned().collect()).unwrap();
        let mut loaded = Document::load(header.clone(), &batch.save()).unwrap();
        prop_assert_eq!(sorted_heads(&mut loaded), expected_heads.clone());
        prop_assert_eq!(loaded.read::<Offer>().unwrap(), expected.clone());

        // A's own replicas converge too once they have synced with each other.
        for document in &mut replicas[..FOREIGN] {
            document.apply(reference.changes()).unwrap();
            prop_assert_eq!(sorted_heads(document), expected_heads.clone());
            prop_assert_eq!(document.read::<Offer>().unwrap(), expected.clone());
        }
    }
}

// ---------------------------------------------------------------- exchanges

/// The state the documented rule gives for a set of marks, `(is_counterparty, mark)`.
fn expected_state(marks: &BTreeSet<(bool, &'static str)>) -> ExchangeState {
    let any = |mark: &str| marks.contains(&(false, mark)) || marks.contains(&(true, mark));
    if !marks.contains(&(false, "proposed")) {
        ExchangeState::Void
    } else if marks.contains(&(true, "accepted")) && any("confirmed") {
        // A confirmation is final: refusals that coexist with it were concurrent.
        ExchangeState::Confirmed
    } else if marks.contains(&(true, "declined")) {
        ExchangeState::Declined
    } else if any("cancelled") {
        ExchangeState::Cancelled
    } else if marks.contains(&(true, "accepted")) {
        ExchangeState::Accepted
    } else {
        ExchangeState::Proposed
    }
}

fn mark_of(action: ExchangeAction) -> &'static str {
    match action {
        ExchangeAction::Propose => "proposed",
        ExchangeAction::Accept => "accepted",
        ExchangeAction::Decline => "declined",
        ExchangeAction::Cancel => "cancelled",
        ExchangeAction::Confirm => "confirmed",
    }
}

/// Refusals end an exchange, so they are drawn less often than the actions
/// that move it forward, or few exchanges would ever get confirmed.
fn exchange_action() -> impl Strategy<Value = ExchangeAction> {
    prop_oneof![
        6 => Just(ExchangeAction::Accept),
        1 => Just(ExchangeAction::Decline),
        1 => Just(ExchangeAction::Cancel),
        6 => Just(ExchangeAction::Confirm),
    ]
}

/// Replicas of one exchange: the proposer's two devices, then the
/// counterparty's two devices.
const EXCHANGE_REPLICAS: usize = 4;

#[derive(Clone, Debug)]
enum ExchangeStep {
    Act {
        exchange: usize,
        replica: usize,
        action: ExchangeAction,
    },
    Sync {
        exchange: usize,
        from: usize,
        to: usize,
    },
}

fn exchange_step() -> impl Strategy<Value = ExchangeStep> {
    prop_oneof![
        3 => (any::<usize>(), 0..EXCHANGE_REPLICAS, exchange_action())
            .prop_map(|(exchange, replica, action)| ExchangeStep::Act { exchange, replica, action }),
        2 => (any::<usize>(), 0..EXCHANGE_REPLICAS, 0..EXCHANGE_REPLICAS)
            .prop_map(|(exchange, from, to)| ExchangeStep::Sync { exchange, from, to }),
    ]
}

/// One exchange as played out on its parties' replicas.
struct Played {
    header: DocHeader,
    replicas: Vec<Document>,
    signed: Vec<SignedChange>,
    /// `(is_counterparty, mark)` of every action that went through.
    marks: BTreeSet<(bool, &'static str)>,
}

/// Proposes the exchange of `header` and plays `steps` on it; returns every
/// signed change made.
fn play(village: &Village, header: DocHeader, tag: u64, steps: &[(usize, ExchangeStep)]) -> Played {
    let proposer = village.households.iter().find(|h| h.id() == header.owner).unwrap();
    let counterparty_id = header.terms.as_ref().unwrap().counterparty;
    let counterparty = village.households.iter().find(|h| h.id() == counterparty_id).unwrap();
    let devices = [
        proposer.device(0),
        proposer.device(1),
        counterparty.device(0),
        counterparty.device(1),
    ];
    let parties = [proposer.id(), proposer.id(), counterparty_id, counterparty_id];
    let actor = |replica: usize| tag * 10 + replica as u64;

    let (first, proposed) = propose(header.clone(), devices[0], actor(0), 9_000);
    let mut replicas = vec![first];
    replicas.extend((1..EXCHANGE_REPLICAS).map(|_| replica(&header, std::slice::from_ref(&proposed))));
    let mut signed = vec![proposed];
    let mut marks = BTreeSet::from([(false, "proposed")]);
    for (step, action) in steps {
        let now_ms = 10_000 + *step as i64 * 1_000;
        match action {
            ExchangeStep::Act { replica, action, .. } => {
                let party = parties[*replica];
                let writer = writer(devices[*replica], actor(*replica), now_ms);
                if let Ok(change) = exchange::act(&mut replicas[*replica], &party, *action, &writer) {
                    signed.push(change);
                    marks.insert((*replica >= 2, mark_of(*action)));
                }
            }
            ExchangeStep::Sync { from, to, .. } => {
                let changes = replicas[*from].changes();
                replicas[*to].apply(changes).unwrap();
            }
        }
    }
    Played {
        header,
        replicas,
        signed,
        marks,
    }
}

fn exchange_spec() -> impl Strategy<Value = (usize, usize, bool, i64)> {
    (any::<usize>(), 1..5usize, any::<bool>(), 0..100_000i64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn balances_are_the_same_on_every_replica_and_sum_to_zero(
        households in 2..=5usize,
        specs in prop::collection::vec(exchange_spec(), 1..6),
        steps in prop::collection::vec(exchange_step(), 0..60),
        seeds in prop::collection::vec(any::<u64>(), 3),
    ) {
        let village = Village::new(households);
        let registry = village.registry();
        let mut played = Vec::new();
        for (index, (proposer, offset, provider_is_proposer, amount)) in specs.iter().enumerate() {
            let proposer = proposer % households;
            let counterparty = (proposer + 1 + offset % (households - 1)) % households;
            let header = village.exchange_header(proposer, counterparty, *provider_is_proposer, *amount, index as u64);
            let mine: Vec<(usize, ExchangeStep)> = steps
                .iter()
                .enumerate()
                .filter(|(_, step)| match step {
                    ExchangeStep::Act { exchange, .. } | ExchangeStep::Sync { exchange, .. } => {
                        exchange % specs.len() == index
                    }
                })
                .map(|(i, step)| (i, step.clone()))
                .collect();
            played.push(play(&village, header, index as u64 + 1, &mine));
        }

        // Every change passes the gate, and is attributed to the party whose device made it.
        let mut all: Vec<(DocId, automerge::Change)> = Vec::new();
        for exchange in &played {
            let parties = exchange.header.writers();
            for signed in &exchange.signed {
                let (change, household) = verified(signed, &exchange.header, &registry);
                prop_assert!(parties.contains(&household));
                all.push((exchange.header.id(), change));
            }
        }

        // What the ledger must say: the documented rule applied to the union of marks.
        let mut expected_balances: BTreeMap<HouseholdId, Amount> = BTreeMap::new();
        let mut expected_confirmed = 0;
        for exchange in &played {
            if expected_state(&exchange.marks) == ExchangeState::Confirmed {
                let terms = exchange.header.terms.as_ref().unwrap();
                expected_confirmed += 1;
                expected_balances.entry(terms.provider).or_default().0 += terms.amount.0;
                expected_balances.entry(terms.receiver(&exchange.header.owner)).or_default().0 -= terms.amount.0;
            }
        }

        let headers: BTreeMap<DocId, DocHeader> =
            played.iter().map(|p| (p.header.id(), p.header.clone())).collect();
        for seed in &seeds {
            let mut documents: BTreeMap<DocId, Document> =
                headers.iter().map(|(id, header)| (*id, Document::new(header.clone()))).collect();
            for index in permutation(all.len(), *seed) {
                let (doc, change) = &all[index];
                documents.get_mut(doc).unwrap().apply(vec![change.clone()]).unwrap();
            }
            let mut entries = Vec::new();
            let mut confirmed_docs = 0;
            for exchange in &played {
                let document = &documents[&exchange.header.id()];
                let marks = ExchangeMarks::read(document).unwrap();
                prop_assert_eq!(marks.state(), expected_state(&exchange.marks));
                let confirmed = marks.state() == ExchangeState::Confirmed;
                prop_assert_eq!(marks.confirmed_at().is_some(), confirmed);
                confirmed_docs += usize::from(confirmed);
                // One entry per confirmation a node might have heard of: still counted once.
                let copies = 1 + usize::from(marks.proposer.confirmed.is_some())
                    + usize::from(marks.counterparty.confirmed.is_some());
                for _ in 0..copies {
                    entries.push(LedgerEntry { id: exchange.header.id(), header: exchange.header.clone(), confirmed });
                }
            }
            let balances = ledger::balances(&entries);
            prop_assert_eq!(balances.total(), 0);
            prop_assert_eq!(balances.exchanges, confirmed_docs);
            prop_assert_eq!(balances.exchanges, expected_confirmed);
            prop_assert_eq!(&balances.by_household, &expected_balances);
            // The order entries are folded in does not matter either.
            entries.reverse();
            prop_assert_eq!(ledger::balances(&entries), balances);
        }
    }

    #[test]
    fn exchange_state_does_not_depend_on_delivery_order(
        provider_is_proposer in any::<bool>(),
        steps in prop::collection::vec(exchange_step(), 0..24),
        seeds in prop::collection::vec(any::<u64>(), 4),
    ) {
        let village = Village::new(2);
        let registry = village.registry();
        let header = village.exchange_header(0, 1, provider_is_proposer, 300, 1);
        let steps: Vec<(usize, ExchangeStep)> = steps.into_iter().enumerate().collect();
        let mut played = play(&village, header.clone(), 1, &steps);
        let changes: Vec<automerge::Change> =
            played.signed.iter().map(|signed| verified(signed, &header, &registry).0).collect();

        let mut reference = Document::new(header.clone());
        for document in &mut played.replicas {
            reference.apply(document.changes()).unwrap();
        }
        let expected = ExchangeMarks::read(&reference).unwrap();
        prop_assert_eq!(expected.state(), expected_state(&played.marks));
        let expected_heads = sorted_heads(&mut reference);

        for seed in &seeds {
            let mut observer = Document::new(header.clone());
            for index in permutation(changes.len(), *seed) {
                observer.apply(vec![changes[index].clone()]).unwrap();
            }
            // Every mark, with the value that won, and hence the state and its time.
            let marks = ExchangeMarks::read(&observer).unwrap();
            prop_assert_eq!(marks, expected);
            prop_assert_eq!(marks.state(), expected.state());
            prop_assert_eq!(marks.confirmed_at(), expected.confirmed_at());
            prop_assert_eq!(sorted_heads(&mut observer), expected_heads.clone());
        }
        // The parties' replicas agree once synced.
        for document in &mut played.replicas {
            document.apply(reference.changes()).unwrap();
            prop_assert_eq!(ExchangeMarks::read(document).unwrap(), expected);
        }
    }
}

/// An exchange confirmed by both parties, and twice by the proposer from two
/// devices that had not seen each other's confirmation, moves money once.
#[test]
fn a_doubly_confirmed_exchange_is_counted_once() {
    let village = Village::new(3);
    let registry = village.registry();
    let (a, b) = (village.household(0), village.household(1));
    // B provided 250 to A; A proposes.
    let header = village.exchange_header(0, 1, false, 250, 42);
    let (mut a0, proposed) = propose(header.clone(), a.device(0), 1, 10_000);
    let mut b0 = replica(&header, std::slice::from_ref(&proposed));
    let accepted = exchange::act(
        &mut b0,
        &b.id(),
        ExchangeAction::Accept,
        &writer(b.device(0), 2, 11_000),
    )
    .unwrap();
    a0.apply(vec![change_of(&accepted)]).unwrap();
    let mut a1 = replica(&header, &[proposed.clone(), accepted.clone()]);
    let confirm_a0 = exchange::act(
        &mut a0,
        &a.id(),
        ExchangeAction::Confirm,
        &writer(a.device(0), 1, 12_000),
    )
    .unwrap();
    let confirm_a1 = exchange::act(
        &mut a1,
        &a.id(),
        ExchangeAction::Confirm,
        &writer(a.device(1), 3, 12_500),
    )
    .unwrap();
    let confirm_b = exchange::act(
        &mut b0,
        &b.id(),
        ExchangeAction::Confirm,
        &writer(b.device(0), 2, 13_000),
    )
    .unwrap();
    let all = [proposed, accepted, confirm_a0, confirm_a1, confirm_b];
    let changes: Vec<automerge::Change> = all.iter().map(|s| verified(s, &header, &registry).0).collect();

    let mut states = BTreeSet::new();
    for seed in 0..20u64 {
        let mut observer = Document::new(header.clone());
        for index in permutation(changes.len(), seed) {
            observer.apply(vec![changes[index].clone()]).unwrap();
        }
        let marks = ExchangeMarks::read(&observer).unwrap();
        assert_eq!(marks.state(), ExchangeState::Confirmed);
        // The proposer's two confirmations conflict on one key: either may win,
        // the same one everywhere (checked below).
        assert!(matches!(marks.confirmed_at(), Some(12_000 | 12_500)), "{marks:?}");
        assert_eq!(marks.counterparty.confirmed, Some(13_000));
        states.insert(format!("{marks:?}"));
        // Every node may list the exchange once per confirmation it heard of.
        let entry = LedgerEntry {
            id: header.id(),
            header: header.clone(),
            confirmed: true,
        };
        let balances = ledger::balances(&[entry.clone(), entry.clone(), entry]);
        assert_eq!(balances.exchanges, 1);
        assert_eq!(balances.of(&b.id()), Amount(250));
        assert_eq!(balances.of(&a.id()), Amount(-250));
        assert_eq!(balances.of(&village.household(2).id()), Amount(0));
        assert_eq!(balances.total(), 0);
    }
    assert_eq!(
        states.len(),
        1,
        "the concurrent confirmations resolved differently: {states:?}"
    );
}
