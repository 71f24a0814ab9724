//! Identity and membership records, and what they add up to.
//!
//! These are small signed statements, not automerge documents: each one is
//! immutable and self-verifying, so the set of records a node holds is a
//! grow-only set, and every derived fact (which devices belong to which
//! household, who is a member or a steward of a community) is a pure function
//! of that set. Two nodes holding the same records derive the same answers,
//! whatever order the records arrived in.
//!
//! Times are Unix milliseconds as asserted by the signer.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::ids::{CommunityId, DeviceId, HouseholdId, RecordId, tagged_hash};
use crate::sign::{Sig, SignatureError, Signed, Statement, verify_digest};

/// A household root key certifies one of its devices.
///
/// The device countersigns (`consent`): without it, any household could
/// certify someone else's device key and claim its changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCert {
    pub household: HouseholdId,
    pub device: DeviceId,
    pub label: String,
    pub issued_at: i64,
    /// The device key's signature over [`device_consent_digest`].
    pub consent: Sig,
}

/// What a device signs to agree to act for `household`.
pub fn device_consent_digest(household: &HouseholdId, device: &DeviceId) -> [u8; 32] {
    tagged_hash("maillage/device-consent/1", &[&household.0, &device.0])
}

impl DeviceCert {
    /// A certificate for `device` by the household `root`, with the device's consent.
    pub fn issue(
        root: &crate::sign::SecretKey,
        device: &crate::sign::SecretKey,
        label: &str,
        issued_at: i64,
    ) -> Result<Signed<DeviceCert>, SignatureError> {
        let household = root.household_id();
        let consent = device.sign_digest(&device_consent_digest(&household, &device.device_id()));
        root.sign(DeviceCert {
            household,
            device: device.device_id(),
            label: label.to_owned(),
            issued_at,
            consent,
        })
    }
}
impl Statement for DeviceCert {
    const DOMAIN: &'static str = "maillage/device-cert/1";
}

/// A household root key revokes one of its devices: changes and records that
/// device signs at or after `revoked_at` are refused everywhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRevocation {
    pub household: HouseholdId,
    pub device: DeviceId,
    pub revoked_at: i64,
}
impl Statement for DeviceRevocation {
    const DOMAIN: &'static str = "maillage/device-revocation/1";
}

/// The founding record of a community. Its hash is the community id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunityGenesis {
    pub name: String,
    pub founder: HouseholdId,
    /// Name of the unit exchanges are counted in ("heure", "grain"…).
    pub unit: String,
    /// Mutual-credit limits: below `-soft_limit` a household is warned, and
    /// nobody signs an exchange that takes a balance below `-hard_limit`.
    pub soft_limit: Option<crate::money::Amount>,
    pub hard_limit: Option<crate::money::Amount>,
    pub created_at: i64,
    pub nonce: [u8; 16],
}
impl Statement for CommunityGenesis {
    const DOMAIN: &'static str = "maillage/community-genesis/1";
}

/// A steward's invitation. Whoever holds the secret half of `invite_key`
/// (carried in the invite code, never in a record) may join, up to `max_uses`
/// households, until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub community: CommunityId,
    pub inviter: HouseholdId,
    pub invite_key: [u8; 32],
    pub max_uses: u32,
    pub created_at: i64,
    pub expires_at: i64,
}
impl Statement for Invite {
    const DOMAIN: &'static str = "maillage/invite/1";
}

/// A household joins a community with an invitation. `invite_proof` is a
/// signature by the invite key over (community, invite, household): it shows
/// the joiner held the code, and cannot be reused for another household.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Join {
    pub community: CommunityId,
    pub household: HouseholdId,
    pub invite: Signed<Invite>,
    pub invite_proof: Sig,
    pub joined_at: i64,
}
impl Statement for Join {
    const DOMAIN: &'static str = "maillage/join/1";
}

/// A steward removes a household from a community.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removal {
    pub community: CommunityId,
    pub household: HouseholdId,
    pub removed_at: i64,
}
impl Statement for Removal {
    const DOMAIN: &'static str = "maillage/removal/1";
}

/// The digest an invite key signs to admit one household.
pub fn invite_proof_digest(community: &CommunityId, invite: &RecordId, household: &HouseholdId) -> [u8; 32] {
    tagged_hash("maillage/invite-proof/1", &[&community.0, &invite.0, &household.0])
}

/// Any record a node keeps and passes on.
// Records are few (a handful per household) and mostly travel encoded, so
// the size difference between variants costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    DeviceCert(Signed<DeviceCert>),
    DeviceRevocation(Signed<DeviceRevocation>),
    Genesis(Signed<CommunityGenesis>),
    Invite(Signed<Invite>),
    Join(Signed<Join>),
    Removal(Signed<Removal>),
}

/// Why a record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    #[error("record signature is invalid: {0}")]
    Signature(#[from] SignatureError),
    #[error("a device certificate must be signed by the household's own root key")]
    CertNotByHousehold,
    #[error("a device certificate must carry the device's own consent")]
    NoDeviceConsent,
    #[error("a join record cannot predate its invitation")]
    JoinBeforeInvite,
    #[error("a community's name, unit or credit limits are out of range")]
    BadGenesis,
    #[error("a join record must be signed by one of the joining household's devices")]
    JoinNotByJoiner,
    #[error("the invitation proof in a join record is invalid")]
    BadInviteProof,
    #[error("the record cannot be decoded")]
    Malformed,
}

impl Record {
    pub fn id(&self) -> RecordId {
        RecordId(tagged_hash("maillage/record/1", &[&self.encode()]))
    }

    pub fn encode(&self) -> Vec<u8> {
        // Encoding a value we built ourselves into a Vec cannot fail.
        postcard::to_stdvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        postcard::from_bytes(bytes).map_err(|_| RecordError::Malformed)
    }

    /// Checks what can be checked from the record alone: signatures, and that
    /// root-signed records are signed by the household they speak for.
    /// Whether a device signer belongs to the right household depends on the
    /// other records and is decided by [`Registry`].
    pub fn verify_self(&self) -> Result<(), RecordError> {
        match self {
            Record::DeviceCert(s) => {
                s.verify()?;
                if s.signer != s.body.household.0 {
                    return Err(RecordError::CertNotByHousehold);
                }
                let digest = device_consent_digest(&s.body.household, &s.body.device);
                verify_digest(&s.body.device.0, &digest, &s.body.consent).map_err(|_| RecordError::NoDeviceConsent)?;
            }
            Record::DeviceRevocation(s) => {
                s.verify()?;
                if s.signer != s.body.household.0 {
                    return Err(RecordError::CertNotByHousehold);
                }
            }
            Record::Genesis(s) => {
                s.verify()?;
                let genesis = &s.body;
                let limit_ok = |limit: &Option<crate::money::Amount>| {
                    limit.is_none_or(|l| (0..=crate::money::MAX_AMOUNT.0).contains(&l.0))
                };
                let text_ok = |text: &str, max: usize| !text.trim().is_empty() && text.chars().count() <= max;
                if !limit_ok(&genesis.soft_limit)
                    || !limit_ok(&genesis.hard_limit)
                    || !text_ok(&genesis.name, crate::items::limits::NAME)
                    || !text_ok(&genesis.unit, crate::items::limits::CATEGORY)
                {
                    return Err(RecordError::BadGenesis);
                }
            }
            Record::Invite(s) => s.verify()?,
            Record::Removal(s) => s.verify()?,
            Record::Join(s) => {
                s.verify()?;
                s.body.invite.verify()?;
                let invite_id = Record::Invite(s.body.invite.clone()).id();
                let digest = invite_proof_digest(&s.body.community, &invite_id, &s.body.household);
                verify_digest(&s.body.invite.body.invite_key, &digest, &s.body.invite_proof)
                    .map_err(|_| RecordError::BadInviteProof)?;
                if s.body.joined_at < s.body.invite.body.created_at {
                    return Err(RecordError::JoinBeforeInvite);
                }
            }
        }
        Ok(())
    }

    /// The community a record belongs to, if any (device records belong to a
    /// household, and travel with every community it is in).
    pub fn community(&self) -> Option<CommunityId> {
        match self {
            Record::DeviceCert(_) | Record::DeviceRevocation(_) => None,
            Record::Genesis(s) => Some(community_id(&s.body)),
            Record::Invite(s) => Some(s.body.community),
            Record::Join(s) => Some(s.body.community),
            Record::Removal(s) => Some(s.body.community),
        }
    }
}

/// The id of the community a genesis record founds.
pub fn community_id(genesis: &CommunityGenesis) -> CommunityId {
    let encoded = postcard::to_stdvec(genesis).unwrap_or_default();
    CommunityId(tagged_hash("maillage/community/1", &[&encoded]))
}

/// A device's certificate and, if any, its revocation time.
#[derive(Clone, Debug)]
pub struct DeviceEntry {
    pub household: HouseholdId,
    pub label: String,
    pub issued_at: i64,
    pub revoked_at: Option<i64>,
}

/// A household's place in a community.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    pub household: HouseholdId,
    pub joined_at: i64,
    pub steward: bool,
    /// The invitation record used, `None` for the founder.
    pub invite: Option<RecordId>,
}

/// A community as derived from its records.
#[derive(Clone, Debug)]
pub struct Community {
    pub id: CommunityId,
    pub genesis: CommunityGenesis,
    pub members: BTreeMap<HouseholdId, Membership>,
    /// Households removed by a steward, with the removal time.
    pub removed: BTreeMap<HouseholdId, i64>,
    /// Removed households that had been members, with their membership: what
    /// they wrote before their removal stays valid.
    pub former: BTreeMap<HouseholdId, Membership>,
    /// Join records that were valid but came after their invitation was used up
    /// (or after it expired): kept, so the household can be told why.
    pub refused_joins: BTreeMap<HouseholdId, JoinRefusal>,
}

/// Why a household's join record did not make it a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinRefusal {
    InviteExpired,
    InviteUsedUp,
    InviterNotSteward,
    Removed,
}

impl Community {
    pub fn is_member(&self, household: &HouseholdId) -> bool {
        self.members.contains_key(household)
    }

    /// Whether `household` could write in the community at `at` (ms): a
    /// member now, or a former member before its removal. Judging by the
    /// change's time keeps a removed household's earlier items valid on
    /// every node, including nodes that join after the removal.
    pub fn may_write_at(&self, household: &HouseholdId, at: i64) -> bool {
        self.is_member(household)
            || (self.former.contains_key(household) && self.removed.get(household).is_some_and(|removed| at < *removed))
    }

    pub fn is_steward(&self, household: &HouseholdId) -> bool {
        self.members.get(household).is_some_and(|m| m.steward)
    }
}

/// Everything the identity and membership records of a node add up to.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    records: BTreeMap<RecordId, Record>,
    devices: HashMap<DeviceId, DeviceEntry>,
    communities: BTreeMap<CommunityId, Community>,
}

impl Registry {
    /// Builds the registry from records. Records that fail
    /// [`Record::verify_self`] are left out: a registry only ever reasons
    /// about signed facts, whoever calls it.
    pub fn from_records(records: impl IntoIterator<Item = Record>) -> Self {
        let mut registry = Registry::default();
        registry.insert(records);
        registry
    }

    /// Adds records (unverifiable ones are skipped) and derives again;
    /// returns the ids that were new.
    pub fn insert(&mut self, records: impl IntoIterator<Item = Record>) -> Vec<RecordId> {
        let mut added = Vec::new();
        for record in records {
            let id = record.id();
            if !self.records.contains_key(&id) && record.verify_self().is_ok() {
                self.records.insert(id, record);
                added.push(id);
            }
        }
        if !added.is_empty() {
            self.derive();
        }
        added
    }

    pub fn records(&self) -> impl Iterator<Item = (&RecordId, &Record)> {
        self.records.iter()
    }

    pub fn contains(&self, id: &RecordId) -> bool {
        self.records.contains_key(id)
    }

    pub fn device(&self, device: &DeviceId) -> Option<&DeviceEntry> {
        self.devices.get(device)
    }

    /// The devices certified by `household`, revoked ones included.
    pub fn devices_of(&self, household: &HouseholdId) -> Vec<(DeviceId, &DeviceEntry)> {
        let mut devices: Vec<_> = self
            .devices
            .iter()
            .filter(|(_, entry)| &entry.household == household)
            .map(|(id, entry)| (*id, entry))
            .collect();
        devices.sort_by_key(|(id, entry)| (entry.issued_at, *id));
        devices
    }

    /// The household `device` acted for at time `at` (ms), or why it could not.
    pub fn household_of(&self, device: &DeviceId, at: i64) -> Result<HouseholdId, DeviceProblem> {
        let entry = self.devices.get(device).ok_or(DeviceProblem::NotCertified)?;
        match entry.revoked_at {
            Some(revoked_at) if at >= revoked_at => Err(DeviceProblem::Revoked { revoked_at }),
            _ => Ok(entry.household),
        }
    }

    pub fn community(&self, id: &CommunityId) -> Option<&Community> {
        self.communities.get(id)
    }

    pub fn communities(&self) -> impl Iterator<Item = &Community> {
        self.communities.values()
    }

    /// The records a peer needs to check everything about `community`: its own
    /// records plus the device records of every household that appears in it.
    pub fn records_for_community(&self, community: &CommunityId) -> Vec<Record> {
        let Some(derived) = self.communities.get(community) else {
            return Vec::new();
        };
        let households: BTreeSet<HouseholdId> = derived
            .members
            .keys()
            .chain(derived.removed.keys())
            .chain(derived.refused_joins.keys())
            .copied()
            .collect();
        self.records
            .values()
            .filter(|record| match record {
                Record::DeviceCert(s) => households.contains(&s.body.household),
                Record::DeviceRevocation(s) => households.contains(&s.body.household),
                other => other.community() == Some(*community),
            })
            .cloned()
            .collect()
    }

    fn derive(&mut self) {
        self.devices.clear();
        for record in self.records.values() {
            if let Record::DeviceCert(cert) = record {
                let body = &cert.body;
                let entry = self.devices.entry(body.device).or_insert_with(|| DeviceEntry {
                    household: body.household,
                    label: body.label.clone(),
                    issued_at: body.issued_at,
                    revoked_at: None,
                });
                // A device key certified by two households is ambiguous; the
                // lowest household id wins so every node decides the same way.
                if body.household < entry.household {
                    *entry = DeviceEntry {
                        household: body.household,
                        label: body.label.clone(),
                        issued_at: body.issued_at,
                        revoked_at: None,
                    };
                }
            }
        }
        for record in self.records.values() {
            if let Record::DeviceRevocation(revocation) = record {
                let body = &revocation.body;
                if let Some(entry) = self.devices.get_mut(&body.device)
                    && entry.household == body.household
                {
                    entry.revoked_at = Some(entry.revoked_at.map_or(body.revoked_at, |t| t.min(body.revoked_at)));
                }
            }
        }
        self.communities.clear();
        let geneses: Vec<(CommunityId, Signed<CommunityGenesis>)> = self
            .records
            .values()
            .filter_map(|record| match record {
                Record::Genesis(g) => Some((community_id(&g.body), g.clone())),
                _ => None,
            })
            .collect();
        for (id, genesis) in geneses {
            if self.acting_household(&genesis.signer, genesis.body.created_at) != Some(genesis.body.founder) {
                continue;
            }
            let community = self.derive_community(id, genesis.body);
            self.communities.insert(id, community);
        }
    }

    fn acting_household(&self, signer: &[u8; 32], at: i64) -> Option<HouseholdId> {
        self.household_of(&DeviceId(*signer), at).ok()
    }

    fn derive_community(&self, id: CommunityId, genesis: CommunityGenesis) -> Community {
        let founder = genesis.founder;
        let mut members = BTreeMap::new();
        members.insert(
            founder,
            Membership {
                household: founder,
                joined_at: genesis.created_at,
                steward: true,
                invite: None,
            },
        );
        // Removals first: only stewards may remove, and nobody removes the founder.
        // Stewardship is the founder's alone for now, so this needs no fixpoint.
        let mut removed = BTreeMap::new();
        for record in self.records.values() {
            if let Record::Removal(removal) = record
                && removal.body.community == id
                && removal.body.household != founder
                && self.acting_household(&removal.signer, removal.body.removed_at) == Some(founder)
            {
                let at = removed.entry(removal.body.household).or_insert(removal.body.removed_at);
                *at = (*at).min(removal.body.removed_at);
            }
        }
        // Joins in a deterministic order, so an invitation's uses are counted
        // the same way on every node whatever order the records arrived in.
        let mut joins: Vec<&Signed<Join>> = self
            .records
            .values()
            .filter_map(|record| match record {
                Record::Join(join) if join.body.community == id => Some(join),
                _ => None,
            })
            .collect();
        joins.sort_by_key(|join| (join.body.joined_at, join.body.household));
        let mut uses: HashMap<RecordId, u32> = HashMap::new();
        let mut refused_joins = BTreeMap::new();
        for join in joins {
            let body = &join.body;
            if members.contains_key(&body.household) {
                continue;
            }
            // The join must be signed by a device of the joining household.
            if self.acting_household(&join.signer, body.joined_at) != Some(body.household) {
                continue;
            }
            let invite = &body.invite.body;
            if invite.community != id {
                continue;
            }
            let inviter = self.acting_household(&body.invite.signer, invite.created_at);
            if inviter != Some(invite.inviter) {
                continue;
            }
            // A join made before a removal admits the household (it becomes a
            // former member, whose earlier writes stay valid); one made after
            // it does not.
            let refusal = if removed
                .get(&body.household)
                .is_some_and(|removed_at| body.joined_at >= *removed_at)
            {
                Some(JoinRefusal::Removed)
            } else if invite.inviter != founder || removed.contains_key(&invite.inviter) {
                Some(JoinRefusal::InviterNotSteward)
            } else if body.joined_at > invite.expires_at {
                Some(JoinRefusal::InviteExpired)
            } else {
                let invite_id = Record::Invite(body.invite.clone()).id();
                let used = uses.entry(invite_id).or_insert(0);
                if *used >= invite.max_uses {
                    Some(JoinRefusal::InviteUsedUp)
                } else {
                    *used += 1;
                    members.insert(
                        body.household,
                        Membership {
                            household: body.household,
                            joined_at: body.joined_at,
                            steward: false,
                            invite: Some(invite_id),
                        },
                    );
                    None
                }
            };
            if let Some(refusal) = refusal {
                refused_joins.insert(body.household, refusal);
            }
        }
        refused_joins.retain(|household, _| !members.contains_key(household));
        let mut former = BTreeMap::new();
        for household in removed.keys() {
            if let Some(membership) = members.remove(household) {
                former.insert(*household, membership);
            }
        }
        Community {
            id,
            genesis,
            members,
            removed,
            former,
            refused_joins,
        }
    }
}

/// Why a device may not act for a household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeviceProblem {
    #[error("the device is not certified by any known household")]
    NotCertified,
    #[error("the device was revoked by its household")]
    Revoked { revoked_at: i64 },
}
