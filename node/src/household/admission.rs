//! Letting households and devices in: the household side of joining a
//! community (offline or online) and of linking a second machine.
//!
//! ```text
//! newcomer                                   member's node
//! prepare_join(code) ── RecordsRequest::Join ──► admit_join: would the join
//!                                                make it a member, and keep
//! store_join(records) ◄── Admitted(records) ────  every member a member?
//!
//! first device                               new machine
//! create_link → code ─────── (by hand) ──────► begin_link(code): a device key,
//!                                               no certificate yet
//! admit_device: the link is  ◄── Link(proof) ── link_request
//! pending, unexpired, proven;
//! certify with the root key ─── Linked(…) ───► finish_link
//! ```
//!
//! Nothing here touches the network: the swarm (`net`) carries the
//! requests, and `net::admission` drives a whole join or link.

use maillage_crdt::registry::{DeviceCert, Join, device_consent_digest, invite_proof_digest};
use maillage_crdt::sign::{Sig, Signed, verify_digest};
use maillage_crdt::{CommunityId, DeviceId, DocHeader, HouseholdId, Record, SecretKey, SignedChange};
use maillage_protocol::link::link_proof_digest;
use maillage_protocol::records::admission::{JoinDecision, decide_join, refusal_of};
use maillage_protocol::{InviteCode, LinkCode};
use serde::{Deserialize, Serialize};

use super::{Household, HouseholdError, HouseholdWriter, META_COMMUNITY, Result, RootKey, RootKeyState, now_ms};
use crate::home::Home;
use crate::keys::{self, KeyKind};
use crate::net::address_book::split_peer;
use crate::net::wire::Refusal;
use crate::store::Store;

/// Device links waiting for their new machine: JSON list of [`PendingLink`].
const META_DEVICE_LINKS: &str = "device-links";
/// The longest label a new device may give itself.
const MAX_LABEL_CHARS: usize = 64;

/// A join record made from an invite code, not stored yet: what an online
/// join presents to a member's node.
#[derive(Clone, Debug)]
pub struct PreparedJoin {
    pub code: InviteCode,
    pub join: Signed<Join>,
    /// The join and this household's own device records, to present.
    pub presented: Vec<Record>,
}

impl PreparedJoin {
    pub fn community(&self) -> CommunityId {
        self.code.community()
    }
}

/// A member node's answer to a join presented online.
#[derive(Clone, Debug)]
pub enum Admission {
    /// The join was stored; the community's records for the newcomer.
    Admitted {
        community: CommunityId,
        records: Vec<Record>,
    },
    Refused(Refusal),
}

/// A first device's answer to a new machine.
#[derive(Clone, Debug)]
pub enum Linking {
    /// The household's records (the new certificate among them) and profile.
    Linked {
        records: Vec<Record>,
        profile: Vec<SignedChange>,
    },
    Refused(Refusal),
}

/// The public half of a one-time link key, and until when it is good.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct PendingLink {
    key: [u8; 32],
    expires_at: i64,
}

impl Household {
    /// Parses `code` and signs this household's join record, storing
    /// nothing. An expired code is refused here, before any network.
    pub fn prepare_join(&self, code: &str) -> Result<PreparedJoin> {
        let code = InviteCode::parse(code)?;
        let community = code.community();
        let now = now_ms();
        if now > code.invite.body.expires_at {
            return Err(Refusal::InviteExpired.into());
        }
        let invite_key = SecretKey::from_bytes(&code.invite_secret);
        let proof = invite_key.sign_digest(&invite_proof_digest(&community, &code.invite_id(), &self.household));
        let join = Join {
            community,
            household: self.household,
            invite: code.invite.clone(),
            invite_proof: proof,
            joined_at: now,
        };
        let join = self
            .device
            .sign(join)
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        let mut presented: Vec<Record> = self
            .own_records()
            .into_iter()
            .filter(|record| matches!(record, Record::DeviceCert(_) | Record::DeviceRevocation(_)))
            .collect();
        presented.push(Record::Join(join.clone()));
        Ok(PreparedJoin { code, join, presented })
    }

    /// Whether the link `code` was made for still waits for its machine.
    pub fn link_waiting(&self, code: &LinkCode) -> bool {
        let key = SecretKey::from_bytes(&code.link_secret).public();
        self.pending_links().iter().any(|link| link.key == key)
    }

    fn pending_links(&self) -> Vec<PendingLink> {
        self.store
            .meta(META_DEVICE_LINKS)
            .ok()
            .flatten()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Sets up `home` on a new machine for the household of `code`: a fresh
    /// device key and an empty store, no root key and no certificate yet. A
    /// home left half-made by an earlier attempt is picked up again with its
    /// device key.
    pub fn begin_link(home: Home, code: &LinkCode) -> Result<HouseholdWriter> {
        let device = if home.is_initialised() {
            match Household::open(home.clone()) {
                Ok(existing) => return Err(HouseholdError::AlreadyInitialised(existing.name())),
                Err(HouseholdError::LinkIncomplete) => keys::load(&home.device_key_path(), KeyKind::Device)?,
                Err(other) => return Err(other),
            }
        } else {
            home.create()?;
            // The store first: a home counts as initialised once its device
            // key exists, and must then have a store to open.
            drop(Store::open(&home.store_path())?);
            let device = keys::generate();
            keys::save(&home.device_key_path(), KeyKind::Device, &device)?;
            device
        };
        let store = Store::open(&home.store_path())?;
        Ok(HouseholdWriter::new(
            Household::new(home, store, device, code.household, RootKeyState::Absent),
            RootKey::Absent,
        ))
    }

    /// The proof of the link secret and this device's consent, for `Link`.
    pub fn link_request(&self, code: &LinkCode) -> (Sig, Sig) {
        let link_key = SecretKey::from_bytes(&code.link_secret);
        let device = self.device.device_id();
        let proof = link_key.sign_digest(&link_proof_digest(&code.household, &device.0));
        let consent = self
            .device
            .sign_digest(&device_consent_digest(&code.household, &device));
        (proof, consent)
    }
}

impl HouseholdWriter {
    /// Stores a prepared join with the code's records, the inviter's profile
    /// and whatever a member's node sent back on admitting it (only records
    /// of this community are kept), then makes the community the current one
    /// and remembers the inviter's addresses for the node to dial.
    pub fn store_join(&mut self, prepared: &PreparedJoin, admitted: Vec<Record>) -> Result<CommunityId> {
        let code = &prepared.code;
        let community = code.community();
        let mut records = code.records();
        records.push(Record::Join(prepared.join.clone()));
        let inviter_profile = (
            DocHeader::profile(code.invite.body.inviter),
            code.inviter_profile.clone(),
        );
        self.store.ingest(records, vec![inviter_profile])?;
        if !admitted.is_empty() {
            // Now a member: `ingest_foreign` keeps what concerns this
            // community and its households, and drops anything else.
            self.ingest_foreign(admitted, Vec::new())?;
        }
        let registry = self.store.registry();
        let derived = registry.community(&community).ok_or(Refusal::InviteForged)?;
        if !derived.is_member(&self.household) {
            let refusal = match derived.refused_joins.get(&self.household) {
                Some(refusal) => refusal_of(*refusal, derived, &prepared.join.body),
                None => Refusal::InviteForged,
            };
            return Err(refusal.into());
        }
        self.store.set_meta(META_COMMUNITY, &community.0)?;
        // The inviter's node is where the newcomer gets everything: remember
        // it, so this household's node (running now or started later) dials it.
        self.remember_code_addresses(&code.addresses)?;
        Ok(community)
    }

    /// Remembers the node addresses a code carried (`…/p2p/<peer>`).
    fn remember_code_addresses(&mut self, addresses: &[String]) -> Result<()> {
        for address in addresses {
            if let Some((peer, address)) = split_peer(address) {
                self.remember_peer(&peer, &[address])?;
            }
        }
        Ok(())
    }

    /// Decides on a join presented online by `peer` (the device the
    /// connection authenticated). Admitted, the join and the joiner's device
    /// records are stored and the community's records returned. A join is
    /// refused if it would not make the household a member, and also if it
    /// would push an existing member out: joins are counted in the order of
    /// their (claimed) times, so a backdated join could otherwise take the
    /// last use of an invitation from a household already in.
    pub fn admit_join(&mut self, peer: &DeviceId, presented: Vec<Record>) -> Result<Admission> {
        // The decision is pure (the records protocol's simulation runs the same one).
        let registry = self.store.registry();
        let (community, kept) = match decide_join(&registry, &self.household, peer, presented, now_ms()) {
            JoinDecision::Admit { community, kept } => (community, kept),
            JoinDecision::Refuse(refusal) => return Ok(Admission::Refused(refusal)),
        };
        drop(registry);
        self.store.ingest(kept, Vec::new())?;
        let records = self.store.registry().records_for_community(&community);
        Ok(Admission::Admitted { community, records })
    }

    /// Makes a one-time device link valid until `expires_at` (needs the root
    /// key; a protected one must be unlocked until `expires_at` with
    /// [`Household::unlock_root`], since the machine is certified when it
    /// connects). Only the link key's public half is kept, durably: a copy
    /// of the store does not let anyone in.
    pub fn create_link(&mut self, expires_at: i64) -> Result<LinkCode> {
        self.root_key()?;
        let link_key = keys::generate();
        let now = now_ms();
        let mut pending = self.pending_links();
        pending.retain(|link| link.expires_at > now);
        pending.push(PendingLink {
            key: link_key.public(),
            expires_at,
        });
        self.save_pending_links(&pending)?;
        Ok(LinkCode {
            household: self.household,
            link_secret: link_key.to_bytes(),
            expires_at,
            addresses: self.advertised(),
        })
    }

    /// Decides on a new machine's request: a pending, unexpired link whose
    /// key signed the proof for `peer` (the device the connection
    /// authenticated). The link is used up before the certificate is stored:
    /// a crash in between costs a new code, never a second use.
    pub fn admit_device(
        &mut self,
        peer: &DeviceId,
        household: &HouseholdId,
        proof: &Sig,
        consent: Sig,
        label: &str,
    ) -> Result<Linking> {
        let root = match self.root_key() {
            Ok(root) => root,
            Err(HouseholdError::RootKeyLocked) => {
                // The node restarted, or the passphrase was given for a
                // shorter time: the link cannot be served, a new one can.
                tracing::warn!("a device link was presented while the household root key is locked");
                return Ok(Linking::Refused(Refusal::LinkUnknown));
            }
            Err(_) => return Ok(Linking::Refused(Refusal::LinkUnknown)),
        };
        if household != &self.household {
            return Ok(Linking::Refused(Refusal::LinkUnknown));
        }
        let digest = link_proof_digest(household, &peer.0);
        let mut pending = self.pending_links();
        let Some(index) = pending
            .iter()
            .position(|link| verify_digest(&link.key, &digest, proof).is_ok())
        else {
            return Ok(Linking::Refused(Refusal::LinkUnknown));
        };
        let link = pending.remove(index);
        self.save_pending_links(&pending)?;
        if link.expires_at < now_ms() {
            return Ok(Linking::Refused(Refusal::LinkExpired));
        }
        let label: String = label.trim().chars().take(MAX_LABEL_CHARS).collect();
        let cert = DeviceCert {
            household: self.household,
            device: *peer,
            label,
            issued_at: now_ms(),
            consent,
        };
        let cert = root.sign(cert).map_err(|e| HouseholdError::Document(e.to_string()))?;
        let cert = Record::DeviceCert(cert);
        // The consent must be the new device's own (checked with the cert).
        if cert.verify_self().is_err() {
            return Ok(Linking::Refused(Refusal::InviteForged));
        }
        self.store.ingest(vec![cert], Vec::new())?;
        // A protected root key was decrypted for the links made: once none
        // is waiting, it is dropped.
        if pending.iter().all(|link| link.expires_at < now_ms()) {
            self.lock_root();
        }
        let mut records = self.own_records();
        for community in self.communities()? {
            if let Ok(id) = community.id.parse::<CommunityId>() {
                records.extend(self.store.registry().records_for_community(&id));
            }
        }
        Ok(Linking::Linked {
            records,
            profile: self.profile_changes()?,
        })
    }

    fn save_pending_links(&mut self, pending: &[PendingLink]) -> Result<()> {
        let bytes = serde_json::to_vec(pending).unwrap_or_default();
        Ok(self.store.set_meta(META_DEVICE_LINKS, &bytes)?)
    }

    /// Stores what the first device sent: this household's own records
    /// first (this device's certificate among them), then its communities'
    /// records and its profile. Fails if no certificate for this device came.
    pub fn finish_link(&mut self, code: &LinkCode, records: Vec<Record>, profile: Vec<SignedChange>) -> Result<()> {
        let own: Vec<Record> = records
            .iter()
            .filter(|record| match record {
                Record::DeviceCert(cert) => cert.body.household == self.household,
                Record::DeviceRevocation(revocation) => revocation.body.household == self.household,
                Record::Join(join) => join.body.household == self.household,
                _ => false,
            })
            .cloned()
            .collect();
        self.store.ingest(own, Vec::new())?;
        let certified = self.store.registry().household_of(&self.device.device_id(), now_ms());
        if certified != Ok(self.household) {
            return Err(HouseholdError::LinkIncomplete);
        }
        self.ingest_foreign(records, vec![(DocHeader::profile(self.household), profile)])?;
        // This device's node will dial the first device when it starts.
        self.remember_code_addresses(&code.addresses)
    }
}
