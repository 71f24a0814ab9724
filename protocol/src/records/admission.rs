//! Whether a member's node lets a newcomer in, decided from its registry
//! alone: the node stores the join only if this says so.

use maillage_crdt::registry::{Join, JoinRefusal};
use maillage_crdt::{CommunityId, DeviceId, HouseholdId, Record, Registry};

use super::Refusal;

/// The verdict on a join presented online.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JoinDecision {
    /// Store `kept` (the join and the joiner's device records, nothing else).
    Admit {
        community: CommunityId,
        kept: Vec<Record>,
    },
    Refuse(Refusal),
}

/// Decides on a join presented by `peer` (the device the connection
/// authenticated) to the node of household `answerer`, whose registry is
/// `registry`, at `now` (ms). A join is refused if it would not make the
/// household a member, and also if it would push an existing member out:
/// joins are counted in the order of their (claimed) times, so a backdated
/// join could otherwise take the last use of an invitation from a household
/// already in.
pub fn decide_join(
    registry: &Registry,
    answerer: &HouseholdId,
    peer: &DeviceId,
    presented: Vec<Record>,
    now: i64,
) -> JoinDecision {
    let refuse = JoinDecision::Refuse;
    let mut joins = presented.iter().filter_map(|record| match record {
        Record::Join(join) => Some(join.clone()),
        _ => None,
    });
    let (Some(join), None) = (joins.next(), joins.next()) else {
        return refuse(Refusal::InviteForged);
    };
    if Record::Join(join.clone()).verify_self().is_err() {
        return refuse(Refusal::InviteForged);
    }
    let body = join.body.clone();
    let Some(community) = registry.community(&body.community) else {
        return refuse(Refusal::NotAMember);
    };
    if !community.is_member(answerer) {
        // A removed inviter's own node answering for its invitation.
        return refuse(
            if community.removed.contains_key(answerer) && body.invite.body.inviter == *answerer {
                Refusal::InviterRemoved
            } else {
                Refusal::AnswererNotAMember
            },
        );
    }
    // Only the joiner's device records and the join itself are taken.
    let kept: Vec<Record> = presented
        .into_iter()
        .filter(|record| match record {
            Record::DeviceCert(cert) => cert.body.household == body.household,
            Record::DeviceRevocation(revocation) => revocation.body.household == body.household,
            Record::Join(_) => true,
            _ => false,
        })
        .collect();
    let mut trial = registry.clone();
    trial.insert(kept.iter().cloned());
    // The device on the other end of the connection must be the joiner's:
    // nobody presents someone else's join.
    if trial.household_of(peer, now) != Ok(body.household) || join.signer != peer.0 {
        return refuse(Refusal::InviteForged);
    }
    let Some(derived) = trial.community(&body.community) else {
        return refuse(Refusal::NotAMember);
    };
    if !derived.is_member(&body.household) {
        return refuse(match derived.refused_joins.get(&body.household) {
            Some(refusal) => refusal_of(*refusal, derived, &body),
            // Skipped by the registry: signed by a device not of the joiner,
            // or an invitation not made by its inviter.
            None => Refusal::InviteForged,
        });
    }
    if community.members.keys().any(|member| !derived.is_member(member)) {
        return refuse(Refusal::InviteUsedUp);
    }
    JoinDecision::Admit {
        community: body.community,
        kept,
    }
}

/// The wire reason for a refused join, as the registry derived it.
pub fn refusal_of(refusal: JoinRefusal, community: &maillage_crdt::Community, join: &Join) -> Refusal {
    match refusal {
        JoinRefusal::InviteExpired => Refusal::InviteExpired,
        JoinRefusal::InviteUsedUp => Refusal::InviteUsedUp,
        JoinRefusal::Removed => Refusal::Removed,
        JoinRefusal::InviterNotSteward if community.removed.contains_key(&join.invite.body.inviter) => {
            Refusal::InviterRemoved
        }
        JoinRefusal::InviterNotSteward => Refusal::InviterNotSteward,
    }
}
