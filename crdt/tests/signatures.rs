//! Every change passes `verify_change`: these tests try to get bad changes
//! through it, and check that each is refused for the exact reason.
#![allow(clippy::unwrap_used)]

mod common;

use automerge::transaction::Transactable;
use common::{
    CommunityFixture, Household, Village, change_of, new_offer, offer, propose, put_marks, replica, write, writer,
};
use maillage_crdt::change::exchange_mark_key;
use maillage_crdt::exchange::{self, ExchangeAction, ExchangeMarks, ExchangeState};
use maillage_crdt::registry::{JoinRefusal, invite_proof_digest};
use maillage_crdt::{
    ChangeRejected, DeviceCert, DocError, DocHeader, Document, Join, MAX_CHANGE_BYTES, Record, RecordError, Registry,
    SecretKey, SignedChange, verify_change,
};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

fn rejection(signed: &SignedChange, header: &DocHeader, registry: &Registry) -> ChangeRejected {
    verify_change(signed, header, registry).unwrap_err()
}

/// A hand-made edit of an automerge document, signed like any other.

// ---------------------------------------------------------------- changes

#[test]
fn a_change_by_any_device_of_the_owner_passes() {
    let village = Village::new(3);
    let registry = village.registry();
    let header = village.offer_header(A, 1);
    let (mut document, first) = new_offer(
        header.clone(),
        &offer("Perceuse"),
        village.household(A).device(0),
        10_000,
    );
    let verified = verify_change(&first, &header, &registry).unwrap();
    assert_eq!(verified.household, village.household(A).id());
    assert_eq!(verified.change.hash(), change_of(&first).hash());

    let second = write(
        &mut document,
        &offer("Perceuse et mèches"),
        &writer(village.household(A).device(1), 2, 11_000),
    );
    let verified = verify_change(&second, &header, &registry).unwrap();
    assert_eq!(verified.household, village.household(A).id());
    // A member who is not the founder writes its own offer just as well.
    let header_b = village.offer_header(B, 1);
    let (_, by_b) = new_offer(
        header_b.clone(),
        &offer("Bocaux"),
        village.household(B).device(1),
        12_000,
    );
    assert_eq!(
        verify_change(&by_b, &header_b, &registry).unwrap().household,
        village.household(B).id()
    );
}

#[test]
fn a_forged_author_is_refused() {
    let village = Village::new(3);
    let registry = village.registry();
    let header = village.offer_header(A, 1);
    let (_, signed) = new_offer(
        header.clone(),
        &offer("Perceuse"),
        village.household(A).device(0),
        10_000,
    );
    for impostor in [
        village.household(A).device(1).device_id(),
        village.household(B).device(0).device_id(),
        village.household(C).device(1).device_id(),
    ] {
        let forged = SignedChange {
            signer: impostor,
            ..signed.clone()
        };
        assert_eq!(rejection(&forged, &header, &registry), ChangeRejected::BadSignature);
    }
}

#[test]
fn a_flipped_signature_bit_is_refused() {
    let village = Village::new(2);
    let registry = village.registry();
    let header = village.offer_header(A, 1);
    let (_, signed) = new_offer(
        header.clone(),
        &offer("Perceuse"),
        village.household(A).device(0),
        10_000,
    );
    for index in [0, 1, 31, 32, 33, 62, 63] {
        for bit in [0x01, 0x80] {
            let mut flipped = signed.clone();
            flipped.signature.0[index] ^= bit;
            assert_eq!(
                rejection(&flipped, &header, &registry),
                ChangeRejected::BadSignature,
                "byte {index}"
            );
        }
    }
}

#[test]
fn every_altered_change_byte_is_refused() {
    let village = Village::new(2);
    let registry = village.registry();
    let header = village.offer_header(A, 1);
    let (_, signed) = new_offer(
        header.clone(),
        &offer("Perceuse"),
        village.household(A).device(0),
        10_000,
    );
    assert!(signed.change.len() > 50);
    // Collected rather than asserted one by one, so a failure names every
    // byte position that lets an altered change through.
    let mut accepted = Vec::new();
    for index in 0..signed.change.len() {
        for bit in [0x01, 0x40] {
            let mut altered = signed.clone();
            altered.change[index] ^= bit;
            match verify_change(&altered, &header, &registry) {
                Err(ChangeRejected::Malformed | ChangeRejected::BadSignature) => {}
                other => accepted.push((index, bit, other.map(|v| v.household))),
            }
        }
    }
    assert!(
        accepted.is_empty(),
        "altered bytes (index, xor, verdict) of a {}-byte change got through: {accepted:?}",
        signed.change.len()
    );
    // Truncated and extended changes too.
    let mut truncated = signed.clone();
    truncated.change.pop();
    assert!(matches!(
        verify_change(&truncated, &header, &registry),
        Err(ChangeRejected::Malformed | ChangeRejected::BadSignature)
    ));
    let mut extended = signed.clone();
    extended.change.push(0);
    assert!(matches!(
        verify_change(&extended, &header, &registry),
        Err(ChangeRejected::Malformed | ChangeRejected::BadSignature)
    ));
    let garbage = SignedChange {
        change: vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3],
        ..signed.clone()
    };
    assert_eq!(rejection(&garbage, &header, &registry), ChangeRejected::Malformed);
}

#[test]
fn a_change_cannot_be_retargeted_to_another_document() {
    let village = Village::new(2);
    let registry = village.registry();
    let header = village.offer_header(A, 1);
    let (_, signed) = new_offer(
        header.clone(),
        &offer("Perceuse"),
        village.household(A).device(0),
        10_000,
    );
    // Another offer of the same owner, and the same owner's profile.
    let other_offer = village.offer_header(A, 2);
    let profile = DocHeader::profile(village.household(A).id());
    let other_owner = village.offer_header(B, 1);
    for target in [other_offer, profile, other_owner] {
        assert_ne!(target.id(), header.id());
        let moved = SignedChange {
            doc: target.id(),
            ..signed.clone()
        };
        assert_eq!(rejection(&moved, &target, &registry), ChangeRejected::BadSignature);
        // Moving the id without bringing the matching header is caught earlier.
        assert_eq!(rejection(&moved, &header, &registry), ChangeRejected::HeaderMismatch);
    }
}

#[test]
fn a_swapped_header_is_refused() {
    let village = Village::new(2);
    let registry = village.registry();
    let header = village.offer_header(A, 1);
    let (_, signed) = new_offer(
        header.clone(),
        &offer("Perceuse"),
        village.household(A).device(0),
        10_000,
    );
    let swaps = [
        village.offer_header(A, 2),
        DocHeader {
            created_at: header.created_at + 1,
            ..header.clone()
        },
        DocHeader {
            kind: maillage_crdt::DocKind::Request,
            ..header.clone()
        },
        // The same header claiming another owner (the thief's own offer id differs).
        DocHeader {
            owner: village.household(B).id(),
            ..header.clone()
        },
    ];
    for swapped in swaps {
        assert_eq!(
            rejection(&signed, &swapped, &registry),
            ChangeRejected::HeaderMismatch,
            "{swapped:?}"
        );
    }
}

#[test]
fn an_uncertified_device_is_unknown() {
    let village = Village::new(2);
    let header = village.offer_header(A, 1);
    let stranger = SecretKey::from_bytes(&[0x42; 32]);
    let (_, signed) = new_offer(header.clone(), &offer("Perceuse"), &stranger, 10_000);
    assert_eq!(
        rejection(&signed, &header, &village.registry()),
        ChangeRejected::UnknownDevice
    );

    // A device whose certificate the node does not hold is unknown too, even
    // if its household is a member.
    let mut household_a = village.household(A).clone();
    let record = household_a.add_device(SecretKey::from_bytes(&[0x43; 32]), 0);
    let (_, signed) = new_offer(header.clone(), &offer("Perceuse"), household_a.device(2), 10_000);
    assert_eq!(
        rejection(&signed, &header, &village.registry()),
        ChangeRejected::UnknownDevice
    );
    assert!(verify_change(&signed, &header, &village.registry_with([record])).is_ok());
}

#[test]
fn a_device_of_another_household_is_not_a_writer() {
    let village = Village::new(3);
    let registry = village.registry();
    let header = village.offer_header(A, 1);
    let (mut document, first) = new_offer(
        header.clone(),
        &offer("Perceuse"),
        village.household(A).device(0),
        10_000,
    );
    verify_change(&first, &header, &registry).unwrap();
    // B edits a replica of A's offer: its change is well signed, but B may not write.
    let by_b = write(
        &mut document,
        &offer("Perceuse volée"),
        &writer(village.household(B).device(0), 7, 11_000),
    );
    assert_eq!(
        rejection(&by_b, &header, &registry),
        ChangeRejected::NotAWriter {
            household: village.household(B).id()
        }
    );
    // Nor may it write A's profile.
    let profile = DocHeader::profile(village.household(A).id());
    let mut profile_doc = Document::new(profile.clone());
    let by_c = profile_doc
        .edit(&writer(village.household(C).device(1), 8, 11_000), |doc| {
            doc.put(automerge::ROOT, "name", "Pirate")
                .map_err(|e| DocError::Write(e.to_string()))
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        rejection(&by_c, &profile, &registry),
        ChangeRejected::NotAWriter {
            household: village.household(C).id()
        }
    );
}

#[test]
fn a_revoked_device_is_refused_after_its_revocation_only() {
    let village = Village::new(2);
    let household = village.household(A);
    let registry = village.registry_with([household.revoke(1, 100_000)]);
    let header = village.offer_header(A, 1);
    let device = household.device(1);
    let (mut document, before) = new_offer(header.clone(), &offer("Perceuse"), device, 50_000);
    let at_revocation = write(&mut document, &offer("Perceuse 2"), &writer(device, 1, 100_000));
    let after = write(&mut document, &offer("Perceuse 3"), &writer(device, 1, 200_000));
    assert_eq!(
        verify_change(&before, &header, &registry).unwrap().household,
        household.id()
    );
    assert_eq!(
        rejection(&at_revocation, &header, &registry),
        ChangeRejected::RevokedDevice
    );
    assert_eq!(rejection(&after, &header, &registry), ChangeRejected::RevokedDevice);
    // The other device of the household is not affected.
    let other = write(
        &mut document,
        &offer("Perceuse 4"),
        &writer(household.device(0), 2, 300_000),
    );
    assert!(verify_change(&other, &header, &registry).is_ok());
    // A revocation signed by another household's root does not revoke.
    let foreign = Record::DeviceRevocation(
        village
            .household(B)
            .root
            .sign(maillage_crdt::DeviceRevocation {
                household: household.id(),
                device: device.device_id(),
                revoked_at: 0,
            })
            .unwrap(),
    );
    assert_eq!(foreign.verify_self(), Err(RecordError::CertNotByHousehold));
}

/// DeviceRevocation says "changes that device signs at or after `revoked_at`
/// are refused everywhere". Automerge change times are whole seconds and
/// `verify_change` rounds them *down* to milliseconds, so a change made up to
/// 999 ms after the revocation is accepted.
#[test]
fn a_change_made_less_than_a_second_after_revocation_is_refused() {
    let village = Village::new(2);
    let household = village.household(A);
    let registry = village.registry_with([household.revoke(1, 100_500)]);
    let header = village.offer_header(A, 1);
    let (_, after) = new_offer(header.clone(), &offer("Perceuse"), household.device(1), 100_900);
    assert_eq!(
        verify_change(&after, &header, &registry).map(|v| v.household),
        Err(ChangeRejected::RevokedDevice)
    );
}

#[test]
fn non_members_and_removed_members_may_not_write_in_the_community() {
    let village = Village::new(3);
    let outsider = Household::new(50, 1);
    let registry = village.registry_with(outsider.certs.clone());
    let header = maillage_crdt::DocHeader::item(
        maillage_crdt::DocKind::Offer,
        outsider.id(),
        village.community.id,
        5_000,
        [9; 16],
    );
    let (_, signed) = new_offer(header.clone(), &offer("Miel"), outsider.device(0), 10_000);
    assert_eq!(
        rejection(&signed, &header, &registry),
        ChangeRejected::NotAMember {
            household: outsider.id()
        }
    );
    // Its profile, which belongs to no community, is fine.
    let profile = DocHeader::profile(outsider.id());
    let mut profile_doc = Document::new(profile.clone());
    let change = profile_doc
        .edit(&writer(outsider.device(0), 3, 10_000), |doc| {
            doc.put(automerge::ROOT, "name", "Les Ruches")
                .map_err(|e| DocError::Write(e.to_string()))
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        verify_change(&change, &profile, &registry).unwrap().household,
        outsider.id()
    );

    // C is a member until the founder removes it.
    let header_c = village.offer_header(C, 1);
    let (_, by_c) = new_offer(
        header_c.clone(),
        &offer("Bocaux"),
        village.household(C).device(0),
        10_000,
    );
    assert!(verify_change(&by_c, &header_c, &village.registry()).is_ok());
    // A removal signed by a plain member removes nobody.
    let by_member = village
        .community
        .removal(village.household(B), village.household(C).id(), 20_000);
    assert!(verify_change(&by_c, &header_c, &village.registry_with([by_member])).is_ok());
    let removal = village
        .community
        .removal(village.household(A), village.household(C).id(), 20_000);
    let registry = village.registry_with([removal]);
    let community = registry.community(&village.community.id).unwrap();
    assert!(!community.is_member(&village.household(C).id()));
    assert!(community.is_member(&village.household(B).id()));
    // What C wrote before its removal stays valid; what it writes after is refused.
    assert!(verify_change(&by_c, &header_c, &registry).is_ok());
    let header_late = village.offer_header(C, 2);
    let (_, late) = new_offer(
        header_late.clone(),
        &offer("Trop tard"),
        village.household(C).device(0),
        30_000,
    );
    assert_eq!(
        rejection(&late, &header_late, &registry),
        ChangeRejected::NotAMember {
            household: village.household(C).id()
        }
    );
    // Nobody removes the founder, not even the founder itself.
    let self_removal = village
        .community
        .removal(village.household(A), village.household(A).id(), 20_000);
    let registry = village.registry_with([self_removal]);
    let header_a = village.offer_header(A, 1);
    let (_, by_a) = new_offer(
        header_a.clone(),
        &offer("Perceuse"),
        village.household(A).device(0),
        10_000,
    );
    assert!(verify_change(&by_a, &header_a, &registry).is_ok());
}

#[test]
fn exchange_parties_write_only_their_own_marks() {
    let village = Village::new(3);
    let registry = village.registry();
    let (a, b, c) = (village.household(A), village.household(B), village.household(C));
    let header = village.exchange_header(A, B, true, 250, 1);
    let (_, proposed) = propose(header.clone(), a.device(0), 1, 10_000);
    assert_eq!(verify_change(&proposed, &header, &registry).unwrap().household, a.id());

    // B accepts and confirms through the API: both pass.
    let mut at_b = replica(&header, std::slice::from_ref(&proposed));
    let accepted = exchange::act(
        &mut at_b,
        &b.id(),
        ExchangeAction::Accept,
        &writer(b.device(0), 2, 11_000),
    )
    .unwrap();
    assert_eq!(verify_change(&accepted, &header, &registry).unwrap().household, b.id());
    let confirmed = exchange::act(
        &mut at_b,
        &b.id(),
        ExchangeAction::Confirm,
        &writer(b.device(1), 3, 12_000),
    )
    .unwrap();
    assert_eq!(verify_change(&confirmed, &header, &registry).unwrap().household, b.id());
    assert_eq!(ExchangeMarks::read(&at_b).unwrap().state(), ExchangeState::Confirmed);

    // B writing A's confirmation by hand is refused, alone or mixed with its own mark.
    let mut forged_doc = replica(&header, &[proposed.clone(), accepted.clone()]);
    let forged = put_marks(
        &mut forged_doc,
        &[exchange_mark_key(&a.id(), "confirmed")],
        b.device(0),
        4,
        12_000,
    );
    assert_eq!(
        rejection(&forged, &header, &registry),
        ChangeRejected::OutsideOwnMarks { household: b.id() }
    );
    let mut mixed_doc = replica(&header, &[proposed.clone(), accepted.clone()]);
    let mixed = put_marks(
        &mut mixed_doc,
        &[
            exchange_mark_key(&b.id(), "confirmed"),
            exchange_mark_key(&a.id(), "confirmed"),
        ],
        b.device(0),
        5,
        12_000,
    );
    assert_eq!(
        rejection(&mixed, &header, &registry),
        ChangeRejected::OutsideOwnMarks { household: b.id() }
    );
    // A writing B's acceptance is refused likewise.
    let mut at_a = replica(&header, std::slice::from_ref(&proposed));
    let forged = put_marks(
        &mut at_a,
        &[exchange_mark_key(&b.id(), "accepted")],
        a.device(1),
        6,
        11_000,
    );
    assert_eq!(
        rejection(&forged, &header, &registry),
        ChangeRejected::OutsideOwnMarks { household: a.id() }
    );
    // Keys without a party prefix, and nested objects under one's own prefix, too.
    let mut plain = replica(&header, std::slice::from_ref(&proposed));
    let unprefixed = put_marks(&mut plain, &["amount".to_owned()], b.device(0), 7, 11_000);
    assert_eq!(
        rejection(&unprefixed, &header, &registry),
        ChangeRejected::OutsideOwnMarks { household: b.id() }
    );
    let mut nested = replica(&header, std::slice::from_ref(&proposed));
    let nested_change = nested
        .edit(&writer(b.device(0), 8, 11_000), |doc| {
            let map = doc
                .put_object(
                    automerge::ROOT,
                    exchange_mark_key(&b.id(), "notes"),
                    automerge::ObjType::Map,
                )
                .map_err(|e| DocError::Write(e.to_string()))?;
            doc.put(&map, exchange_mark_key(&a.id(), "confirmed"), 1)
                .map_err(|e| DocError::Write(e.to_string()))
        })
        .unwrap()
        .unwrap();
    assert_eq!(
        rejection(&nested_change, &header, &registry),
        ChangeRejected::OutsideOwnMarks { household: b.id() }
    );

    // C, a member but not a party, cannot write the exchange even under its own prefix.
    let mut at_c = replica(&header, &[proposed, accepted]);
    let by_c = put_marks(
        &mut at_c,
        &[exchange_mark_key(&c.id(), "confirmed")],
        c.device(0),
        9,
        12_000,
    );
    assert_eq!(
        rejection(&by_c, &header, &registry),
        ChangeRejected::NotAWriter { household: c.id() }
    );
    // Nor through the API.
    assert!(
        exchange::act(
            &mut at_c,
            &c.id(),
            ExchangeAction::Confirm,
            &writer(c.device(0), 10, 13_000)
        )
        .is_err()
    );
}

/// Regression: `verify_change` only confines a party to its own marks, and
/// `ExchangeMarks::state` lets a cancel win over a concurrent confirm. A
/// receiver could once write a `cancelled` mark causally *after* both
/// confirmations and erase its debt. `exchange::check_causal`, run by the
/// store before applying any exchange change, now refuses it.
#[test]
fn a_confirmed_exchange_cannot_be_undone_by_a_later_cancel_mark() {
    let village = Village::new(2);
    let registry = village.registry();
    let (a, b) = (village.household(A), village.household(B));
    // A provided the service; B received it and owes 400.
    let header = village.exchange_header(A, B, true, 400, 1);
    let (mut at_a, proposed) = propose(header.clone(), a.device(0), 1, 10_000);
    let mut at_b = replica(&header, std::slice::from_ref(&proposed));
    let accepted = exchange::act(
        &mut at_b,
        &b.id(),
        ExchangeAction::Accept,
        &writer(b.device(0), 2, 11_000),
    )
    .unwrap();
    let by_b = exchange::act(
        &mut at_b,
        &b.id(),
        ExchangeAction::Confirm,
        &writer(b.device(0), 2, 12_000),
    )
    .unwrap();
    at_a.apply(vec![change_of(&accepted), change_of(&by_b)]).unwrap();
    let by_a = exchange::act(
        &mut at_a,
        &a.id(),
        ExchangeAction::Confirm,
        &writer(a.device(0), 1, 13_000),
    )
    .unwrap();
    at_b.apply(vec![change_of(&by_a)]).unwrap();
    assert_eq!(ExchangeMarks::read(&at_b).unwrap().state(), ExchangeState::Confirmed);
    // The API refuses to cancel now…
    assert!(
        exchange::act(
            &mut at_b,
            &b.id(),
            ExchangeAction::Cancel,
            &writer(b.device(0), 2, 14_000)
        )
        .is_err()
    );
    // …but a hand-made cancel mark, made after seeing both confirmations, is accepted.
    let cancel = put_marks(
        &mut at_b,
        &[exchange_mark_key(&b.id(), "cancelled")],
        b.device(0),
        2,
        20_000,
    );
    assert!(change_of(&cancel).deps().contains(&change_of(&by_a).hash()));
    // The signature and the key confinement are fine: the party wrote its own key…
    let verified = verify_change(&cancel, &header, &registry).unwrap();
    // …but the causal check every node runs before applying an exchange change
    // refuses a cancel made from a confirmed state.
    let observer = replica(&header, &[proposed, accepted, by_b, by_a]);
    assert_eq!(
        ExchangeMarks::read(&observer).unwrap().state(),
        ExchangeState::Confirmed
    );
    assert_eq!(
        exchange::check_causal(&observer, &verified.change, &verified.household),
        Err(ChangeRejected::ExchangeOutOfTurn { household: b.id() })
    );
}

/// A deterministic, incompressible text of `len` ASCII letters.
fn noise(len: usize) -> String {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect()
}

#[test]
fn an_oversized_change_is_refused() {
    let village = Village::new(2);
    let registry = village.registry();
    let header = village.offer_header(A, 1);
    let body = maillage_crdt::items::Offer {
        description: noise(MAX_CHANGE_BYTES + 1_000),
        ..offer("Encyclopédie")
    };
    let (_, signed) = new_offer(header.clone(), &body, village.household(A).device(0), 10_000);
    assert!(signed.change.len() > MAX_CHANGE_BYTES);
    assert_eq!(
        rejection(&signed, &header, &registry),
        ChangeRejected::TooLarge {
            size: signed.change.len()
        }
    );
    // The size is checked before anything else: even garbage is refused for its size.
    let garbage = SignedChange {
        change: vec![7; MAX_CHANGE_BYTES + 1],
        ..signed.clone()
    };
    assert_eq!(
        rejection(&garbage, &header, &registry),
        ChangeRejected::TooLarge {
            size: MAX_CHANGE_BYTES + 1
        }
    );
    // A change just under the limit is fine.
    let body = maillage_crdt::items::Offer {
        description: noise(MAX_CHANGE_BYTES / 2),
        ..offer("Dictionnaire")
    };
    let (_, signed) = new_offer(
        village.offer_header(A, 2),
        &body,
        village.household(A).device(0),
        10_000,
    );
    assert!(signed.change.len() <= MAX_CHANGE_BYTES);
    assert!(verify_change(&signed, &village.offer_header(A, 2), &registry).is_ok());
}

/// `Change::from_bytes` also accepts automerge's *compressed* change chunks
/// (deflate) and inflates them without bound, and a compressed change has the
/// same hash, hence the same valid signature, as its plain form. The size
/// check looks at the compressed length only, so the very change refused as
/// too large in plain form passes when deflated: MAX_CHANGE_BYTES can be
/// bypassed (a 1 MB change here; a few kB can inflate to many MB).
#[test]
fn a_compressed_change_cannot_bypass_the_size_limit() {
    let village = Village::new(2);
    let registry = village.registry();
    let header = village.offer_header(A, 1);
    let body = maillage_crdt::items::Offer {
        description: "a".repeat(1_000_000),
        ..offer("Bombe")
    };
    let (_, plain) = new_offer(header.clone(), &body, village.household(A).device(0), 10_000);
    assert_eq!(
        rejection(&plain, &header, &registry),
        ChangeRejected::TooLarge {
            size: plain.change.len()
        }
    );

    let mut change = change_of(&plain);
    let compressed = change.bytes().into_owned();
    assert!(
        compressed.len() < MAX_CHANGE_BYTES,
        "deflated to {} bytes",
        compressed.len()
    );
    let deflated = SignedChange {
        change: compressed,
        ..plain.clone()
    };
    let verdict = verify_change(&deflated, &header, &registry);
    assert!(
        matches!(
            verdict,
            Err(ChangeRejected::TooLarge { .. }) | Err(ChangeRejected::Malformed)
        ),
        "a change of {} bytes once inflated was accepted: {:?}",
        plain.change.len(),
        verdict.map(|v| v.household)
    );
}

/// A device certificate needs only the household root's signature, not the
/// device's consent, and when two households certify the same device key the
/// lowest household id wins. So any household (here one that is not even a
/// member) can certify a victim's device key under its own root, with a root
/// key ground to have a lower id, and take the device over: every change the
/// victim's device makes to its own documents is then refused as NotAWriter.
#[test]
fn another_household_cannot_take_over_a_device_by_certifying_it() {
    let village = Village::new(2);
    let victim = village.household(B);
    let thief_root = (100u8..=255)
        .map(|seed| SecretKey::from_bytes(&common::key_bytes(seed, 0)))
        .find(|root| root.household_id() < victim.id())
        .unwrap();
    // The thief can sign a certificate with its own root, but cannot make the
    // victim's device consent to it: borrow the consent of another device.
    let own_device = SecretKey::from_bytes(&common::key_bytes(99, 1));
    let mut body = DeviceCert::issue(&thief_root, &own_device, "à moi", 0).unwrap().body;
    body.device = victim.device(0).device_id();
    let stolen = Record::DeviceCert(thief_root.sign(body).unwrap());
    assert_eq!(stolen.verify_self(), Err(RecordError::NoDeviceConsent));
    let registry = village.registry_with([stolen]);
    let header = village.offer_header(B, 1);
    let (_, signed) = new_offer(header.clone(), &offer("Bocaux"), victim.device(0), 10_000);
    assert_eq!(
        verify_change(&signed, &header, &registry).map(|v| v.household),
        Ok(victim.id())
    );
}

// ---------------------------------------------------------------- records

#[test]
fn a_device_certificate_must_be_signed_by_its_household_root() {
    let village = Village::new(2);
    let (a, b) = (village.household(A), village.household(B));
    let device = SecretKey::from_bytes(&[0x77; 32]);
    let body = DeviceCert::issue(&a.root, &device, "x", 0).unwrap().body;
    // Signed by another root, by one of the household's own devices, by the device itself.
    for signer in [&b.root, a.device(0), &device] {
        let record = Record::DeviceCert(signer.sign(body.clone()).unwrap());
        assert_eq!(record.verify_self(), Err(RecordError::CertNotByHousehold));
    }
    // A signature claimed by the root but made by someone else.
    let mut forged = b.root.sign(body.clone()).unwrap();
    forged.signer = a.root.public();
    assert!(matches!(
        Record::DeviceCert(forged).verify_self(),
        Err(RecordError::Signature(_))
    ));
    // A tampered body.
    let mut tampered = a.root.sign(body).unwrap();
    tampered.body.device = SecretKey::from_bytes(&[0x78; 32]).device_id();
    assert!(matches!(
        Record::DeviceCert(tampered).verify_self(),
        Err(RecordError::Signature(_))
    ));
    // Records survive their encoding.
    let record = a.certs[0].clone();
    assert_eq!(Record::decode(&record.encode()).unwrap(), record);
    assert_eq!(Record::decode(&record.encode()[1..]), Err(RecordError::Malformed));
}

fn join_with_proof(
    community: &CommunityFixture,
    joiner: &Household,
    invite: &maillage_crdt::Signed<maillage_crdt::Invite>,
    proof: maillage_crdt::Sig,
    joined_at: i64,
) -> Record {
    Record::Join(
        joiner
            .device(0)
            .sign(Join {
                community: community.id,
                household: joiner.id(),
                invite: invite.clone(),
                invite_proof: proof,
                joined_at,
            })
            .unwrap(),
    )
}

#[test]
fn a_join_needs_a_proof_made_for_that_household() {
    let founder = Household::new(1, 1);
    let (b, c) = (Household::new(2, 1), Household::new(3, 1));
    let community = CommunityFixture::found(&founder, "Lavoir", 1_000);
    let (invite, invite_key) = community.invite(&founder, 0, 9, 5, 2_000, 100_000);
    let invite_id = Record::Invite(invite.clone()).id();

    // Signed by a key that is not the invite key.
    let wrong_key = SecretKey::from_bytes(&[0x99; 32]);
    let bad = wrong_key.sign_digest(&invite_proof_digest(&community.id, &invite_id, &b.id()));
    assert_eq!(
        join_with_proof(&community, &b, &invite, bad, 3_000).verify_self(),
        Err(RecordError::BadInviteProof)
    );
    // Made for another household (C's proof, replayed by B).
    let for_c = invite_key.sign_digest(&invite_proof_digest(&community.id, &invite_id, &c.id()));
    assert!(
        join_with_proof(&community, &c, &invite, for_c, 3_000)
            .verify_self()
            .is_ok()
    );
    assert_eq!(
        join_with_proof(&community, &b, &invite, for_c, 3_000).verify_self(),
        Err(RecordError::BadInviteProof)
    );
    // Made for another invitation or another community.
    let other_invite = Record::Invite(community.invite(&founder, 0, 10, 5, 2_000, 100_000).0).id();
    let wrong_invite = invite_key.sign_digest(&invite_proof_digest(&community.id, &other_invite, &b.id()));
    assert_eq!(
        join_with_proof(&community, &b, &invite, wrong_invite, 3_000).verify_self(),
        Err(RecordError::BadInviteProof)
    );
    let other_community = CommunityFixture::found(&founder, "Four", 1_000).id;
    let wrong_community = invite_key.sign_digest(&invite_proof_digest(&other_community, &invite_id, &b.id()));
    assert_eq!(
        join_with_proof(&community, &b, &invite, wrong_community, 3_000).verify_self(),
        Err(RecordError::BadInviteProof)
    );
    // A good proof passes, and the household becomes a member.
    let good = community.join(&b, &invite, &invite_key, 3_000);
    let registry = Registry::from_records(
        founder
            .certs
            .iter()
            .chain(&b.certs)
            .cloned()
            .chain([community.genesis_record(), good]),
    );
    let derived = registry.community(&community.id).unwrap();
    assert!(derived.is_member(&b.id()));
    assert_eq!(derived.members[&b.id()].invite, Some(invite_id));
    assert!(derived.is_steward(&founder.id()) && !derived.is_steward(&b.id()));
}

#[test]
fn a_used_up_invitation_admits_the_earliest_joiners_whatever_the_record_order() {
    let founder = Household::new(1, 1);
    let joiners: Vec<Household> = (2..6).map(|seed| Household::new(seed, 1)).collect();
    let community = CommunityFixture::found(&founder, "Lavoir", 1_000);
    let (invite, invite_key) = community.invite(&founder, 0, 9, 1, 2_000, 100_000);
    // Joiner 3 joined first; joiners 0 and 1 tie at the same time.
    let times = [5_000, 5_000, 9_000, 4_000];
    let joins: Vec<Record> = joiners
        .iter()
        .zip(times)
        .map(|(h, at)| community.join(h, &invite, &invite_key, at))
        .collect();
    let mut base: Vec<Record> = founder.certs.clone();
    base.extend(joiners.iter().flat_map(|h| h.certs.clone()));
    base.push(community.genesis_record());

    let check = |records: Vec<Record>| {
        let registry = Registry::from_records(records);
        let derived = registry.community(&community.id).unwrap();
        let members: Vec<_> = derived.members.keys().copied().collect();
        let mut expected = vec![founder.id(), joiners[3].id()];
        expected.sort();
        assert_eq!(members, expected);
        for joiner in &joiners[..3] {
            assert_eq!(
                derived.refused_joins.get(&joiner.id()),
                Some(&JoinRefusal::InviteUsedUp)
            );
        }
    };
    let orders: [[usize; 4]; 4] = [[0, 1, 2, 3], [3, 2, 1, 0], [2, 0, 3, 1], [1, 3, 0, 2]];
    for order in orders {
        let mut records = base.clone();
        records.extend(order.iter().map(|&i| joins[i].clone()));
        check(records.clone());
        // Inserted one by one into a registry, too.
        let mut registry = Registry::from_records(base.clone());
        for &i in order.iter().rev() {
            registry.insert([joins[i].clone()]);
        }
        let derived = registry.community(&community.id).unwrap();
        assert!(derived.is_member(&joiners[3].id()));
        assert_eq!(derived.members.len(), 2);
    }

    // With two uses, the tie at 5 000 is broken by the household id.
    let (invite2, invite_key2) = community.invite(&founder, 0, 10, 2, 2_000, 100_000);
    let mut records = base.clone();
    for (i, at) in [(1, 5_000), (0, 5_000), (2, 9_000), (3, 4_000)] {
        records.push(community.join(&joiners[i], &invite2, &invite_key2, at));
    }
    let registry = Registry::from_records(records);
    let derived = registry.community(&community.id).unwrap();
    let first_of_tie = joiners[0].id().min(joiners[1].id());
    let second_of_tie = joiners[0].id().max(joiners[1].id());
    assert!(derived.is_member(&joiners[3].id()));
    assert!(derived.is_member(&first_of_tie));
    assert!(!derived.is_member(&second_of_tie));
    assert!(!derived.is_member(&joiners[2].id()));
    assert_eq!(derived.members.len(), 3);
}

#[test]
fn an_expired_invitation_admits_nobody() {
    let founder = Household::new(1, 1);
    let (b, c) = (Household::new(2, 1), Household::new(3, 1));
    let community = CommunityFixture::found(&founder, "Lavoir", 1_000);
    let (invite, invite_key) = community.invite(&founder, 0, 9, 10, 2_000, 50_000);
    let records: Vec<Record> = founder
        .certs
        .iter()
        .chain(&b.certs)
        .chain(&c.certs)
        .cloned()
        .chain([
            community.genesis_record(),
            community.join(&b, &invite, &invite_key, 50_001),
            community.join(&c, &invite, &invite_key, 50_000),
        ])
        .collect();
    let registry = Registry::from_records(records);
    let derived = registry.community(&community.id).unwrap();
    assert!(!derived.is_member(&b.id()));
    assert_eq!(derived.refused_joins.get(&b.id()), Some(&JoinRefusal::InviteExpired));
    assert!(
        derived.is_member(&c.id()),
        "a join at the expiry time itself is still in time"
    );
}

#[test]
fn an_invitation_by_a_plain_member_admits_nobody() {
    let founder = Household::new(1, 1);
    let (b, c) = (Household::new(2, 1), Household::new(3, 1));
    let community = CommunityFixture::found(&founder, "Lavoir", 1_000);
    let (invite, invite_key) = community.invite(&founder, 0, 9, 10, 2_000, 100_000);
    let (by_b, by_b_key) = community.invite(&b, 0, 10, 10, 4_000, 100_000);
    // An invitation claiming the founder as inviter but signed by B's device.
    let forged_invite = b
        .device(0)
        .sign(maillage_crdt::Invite {
            inviter: founder.id(),
            ..by_b.body.clone()
        })
        .unwrap();
    let records: Vec<Record> = founder
        .certs
        .iter()
        .chain(&b.certs)
        .chain(&c.certs)
        .cloned()
        .chain([
            community.genesis_record(),
            community.join(&b, &invite, &invite_key, 3_000),
            Record::Invite(by_b.clone()),
            community.join(&c, &by_b, &by_b_key, 5_000),
        ])
        .collect();
    let registry = Registry::from_records(records.clone());
    let derived = registry.community(&community.id).unwrap();
    assert!(derived.is_member(&b.id()));
    assert!(!derived.is_member(&c.id()));
    assert_eq!(
        derived.refused_joins.get(&c.id()),
        Some(&JoinRefusal::InviterNotSteward)
    );

    let registry = Registry::from_records(records[..records.len() - 1].iter().cloned().chain([community.join(
        &c,
        &forged_invite,
        &by_b_key,
        5_000,
    )]));
    assert!(!registry.community(&community.id).unwrap().is_member(&c.id()));
}

/// `Community::refused_joins` is documented as the joins that did not make a
/// household a member. A household whose first join was refused (expired
/// invitation) and that then joined with a fresh invitation is a member, yet
/// stays listed as refused: the two maps contradict each other.
#[test]
fn a_member_is_not_listed_among_refused_joins() {
    let founder = Household::new(1, 1);
    let b = Household::new(2, 1);
    let community = CommunityFixture::found(&founder, "Lavoir", 1_000);
    let (old, old_key) = community.invite(&founder, 0, 9, 10, 2_000, 3_000);
    let (fresh, fresh_key) = community.invite(&founder, 0, 10, 10, 5_000, 100_000);
    let registry = Registry::from_records(founder.certs.iter().chain(&b.certs).cloned().chain([
        community.genesis_record(),
        community.join(&b, &old, &old_key, 4_000),
        community.join(&b, &fresh, &fresh_key, 6_000),
    ]));
    let derived = registry.community(&community.id).unwrap();
    assert!(derived.is_member(&b.id()));
    assert_eq!(derived.refused_joins.get(&b.id()), None);
}
