//! Fixtures shared by the integration tests: households with certified
//! devices, a community with invitations and joins, and document writing.
#![allow(dead_code, clippy::unwrap_used)]

use automerge::ActorId;
use maillage_crdt::exchange::{self, ExchangeAction};
use maillage_crdt::items::{Offer, OfferKind, OfferState};
use maillage_crdt::registry::{self, invite_proof_digest};
use maillage_crdt::{
    Amount, CommunityGenesis, CommunityId, DeviceCert, DeviceRevocation, DocHeader, DocKind, Document, ExchangeTerms,
    HouseholdId, Invite, Join, Record, Registry, Removal, SecretKey, Signed, SignedChange, Writer,
};

/// 32 secret bytes that differ for every (household seed, slot) pair.
pub fn key_bytes(seed: u8, slot: u8) -> [u8; 32] {
    let mut bytes = [0xA5; 32];
    bytes[0] = seed;
    bytes[1] = slot;
    bytes
}

/// A household: its root key, its device keys and their certificates.
#[derive(Debug, Clone)]
pub struct Household {
    pub root: SecretKey,
    pub devices: Vec<SecretKey>,
    pub certs: Vec<Record>,
}

impl Household {
    /// A household with `devices` devices, each certified at time 0.
    pub fn new(seed: u8, devices: usize) -> Self {
        let root = SecretKey::from_bytes(&key_bytes(seed, 0));
        let mut household = Household {
            root,
            devices: Vec::new(),
            certs: Vec::new(),
        };
        for slot in 0..devices {
            household.add_device(SecretKey::from_bytes(&key_bytes(seed, slot as u8 + 1)), 0);
        }
        household
    }

    /// Certifies `device` with this household's root key.
    pub fn add_device(&mut self, device: SecretKey, issued_at: i64) -> Record {
        let label = format!("device {}", self.devices.len());
        let record = Record::DeviceCert(DeviceCert::issue(&self.root, &device, &label, issued_at).unwrap());
        record.verify_self().unwrap();
        self.devices.push(device);
        self.certs.push(record.clone());
        record
    }

    pub fn id(&self) -> HouseholdId {
        self.root.household_id()
    }

    pub fn device(&self, index: usize) -> &SecretKey {
        &self.devices[index]
    }

    /// A revocation of device `index` at `revoked_at`, signed by the root key.
    pub fn revoke(&self, index: usize, revoked_at: i64) -> Record {
        let record = Record::DeviceRevocation(
            self.root
                .sign(DeviceRevocation {
                    household: self.id(),
                    device: self.devices[index].device_id(),
                    revoked_at,
                })
                .unwrap(),
        );
        record.verify_self().unwrap();
        record
    }
}

/// A community's genesis, signed by the founder's first device.
#[derive(Debug, Clone)]
pub struct CommunityFixture {
    pub genesis: Signed<CommunityGenesis>,
    pub id: CommunityId,
}

impl CommunityFixture {
    pub fn found(founder: &Household, name: &str, created_at: i64) -> Self {
        let mut nonce = [0; 16];
        nonce[..name.len().min(16)].copy_from_slice(&name.as_bytes()[..name.len().min(16)]);
        let body = CommunityGenesis {
            name: name.into(),
            founder: founder.id(),
            unit: "heure".into(),
            soft_limit: Some(Amount(2_000)),
            hard_limit: Some(Amount(5_000)),
            created_at,
            nonce,
        };
        let id = registry::community_id(&body);
        let genesis = founder.device(0).sign(body).unwrap();
        CommunityFixture { genesis, id }
    }

    pub fn genesis_record(&self) -> Record {
        let record = Record::Genesis(self.genesis.clone());
        record.verify_self().unwrap();
        record
    }

    /// An invitation by `inviter` signed by `device`, whose secret half is the
    /// returned key.
    pub fn invite(
        &self,
        inviter: &Household,
        device: usize,
        invite_seed: u8,
        max_uses: u32,
        created_at: i64,
        expires_at: i64,
    ) -> (Signed<Invite>, SecretKey) {
        let invite_key = SecretKey::from_bytes(&key_bytes(invite_seed, 0xEE));
        let invite = inviter
            .device(device)
            .sign(Invite {
                community: self.id,
                inviter: inviter.id(),
                invite_key: invite_key.public(),
                max_uses,
                created_at,
                expires_at,
            })
            .unwrap();
        (invite, invite_key)
    }

    /// `joiner`'s join with `invite`, signed by its first device.
    pub fn join(&self, joiner: &Household, invite: &Signed<Invite>, invite_key: &SecretKey, joined_at: i64) -> Record {
        let invite_id = Record::Invite(invite.clone()).id();
        let proof = invite_key.sign_digest(&invite_proof_digest(&self.id, &invite_id, &joiner.id()));
        let record = Record::Join(
            joiner
                .device(0)
                .sign(Join {
                    community: self.id,
                    household: joiner.id(),
                    invite: invite.clone(),
                    invite_proof: proof,
                    joined_at,
                })
                .unwrap(),
        );
        record.verify_self().unwrap();
        record
    }

    /// A removal of `household`, signed by `by`'s first device.
    pub fn removal(&self, by: &Household, household: HouseholdId, removed_at: i64) -> Record {
        let record = Record::Removal(
            by.device(0)
                .sign(Removal {
                    community: self.id,
                    household,
                    removed_at,
                })
                .unwrap(),
        );
        record.verify_self().unwrap();
        record
    }
}

/// A village: a founder and members, all joined through one invitation of
/// the founder. Household `i` has seed `i + 1` and two devices.
#[derive(Debug, Clone)]
pub struct Village {
    pub households: Vec<Household>,
    pub community: CommunityFixture,
    pub records: Vec<Record>,
}

impl Village {
    pub fn new(households: usize) -> Self {
        let households: Vec<Household> = (0..households).map(|i| Household::new(i as u8 + 1, 2)).collect();
        let community = CommunityFixture::found(&households[0], "Les Granges", 1_000);
        let mut records: Vec<Record> = households.iter().flat_map(|h| h.certs.clone()).collect();
        records.push(community.genesis_record());
        let (invite, invite_key) = community.invite(&households[0], 0, 200, 100, 2_000, 10_000_000);
        records.push(Record::Invite(invite.clone()));
        for (i, household) in households.iter().enumerate().skip(1) {
            records.push(community.join(household, &invite, &invite_key, 3_000 + i as i64));
        }
        Village {
            households,
            community,
            records,
        }
    }

    pub fn registry(&self) -> Registry {
        Registry::from_records(self.records.clone())
    }

    pub fn registry_with(&self, extra: impl IntoIterator<Item = Record>) -> Registry {
        Registry::from_records(self.records.iter().cloned().chain(extra))
    }

    pub fn household(&self, index: usize) -> &Household {
        &self.households[index]
    }

    pub fn offer_header(&self, owner: usize, nonce: u8) -> DocHeader {
        DocHeader::item(
            DocKind::Offer,
            self.households[owner].id(),
            self.community.id,
            5_000,
            [nonce; 16],
        )
    }

    pub fn exchange_header(
        &self,
        proposer: usize,
        counterparty: usize,
        provider_is_proposer: bool,
        amount: i64,
        nonce: u64,
    ) -> DocHeader {
        exchange_header(
            self.community.id,
            self.households[proposer].id(),
            self.households[counterparty].id(),
            provider_is_proposer,
            amount,
            nonce,
        )
    }
}

pub fn exchange_header(
    community: CommunityId,
    proposer: HouseholdId,
    counterparty: HouseholdId,
    provider_is_proposer: bool,
    amount: i64,
    nonce: u64,
) -> DocHeader {
    let mut nonce_bytes = [0; 16];
    nonce_bytes[..8].copy_from_slice(&nonce.to_le_bytes());
    DocHeader {
        kind: DocKind::Exchange,
        community: Some(community),
        owner: proposer,
        created_at: 6_000,
        nonce: nonce_bytes,
        parent: None,
        terms: Some(ExchangeTerms {
            counterparty,
            provider: if provider_is_proposer { proposer } else { counterparty },
            amount: Amount(amount),
            note: "bois fendu".into(),
            about: None,
        }),
    }
}

/// A deterministic automerge actor id.
pub fn actor(tag: u64) -> ActorId {
    let mut bytes = [0x5A; 16];
    bytes[..8].copy_from_slice(&tag.to_be_bytes());
    ActorId::from(bytes)
}

pub fn writer(device: &SecretKey, actor_tag: u64, now_ms: i64) -> Writer<'_> {
    Writer {
        device,
        actor: actor(actor_tag),
        now_ms,
    }
}

pub fn offer(title: &str) -> Offer {
    Offer {
        title: title.into(),
        description: "Bosch, avec mèches".into(),
        category: "outils".into(),
        kind: OfferKind::Lend,
        place: Some("Les Granges".into()),
        price: None,
        until: None,
        state: OfferState::Open,
        ride: None,
        group_buy: None,
        created_at: 5_000,
        updated_at: 5_000,
        deleted: false,
    }
}

/// Writes `body` to `document` and returns the signed change (which must exist).
pub fn write<T: autosurgeon::Reconcile>(document: &mut Document, body: &T, writer: &Writer<'_>) -> SignedChange {
    document.write(body, writer).unwrap().unwrap()
}

/// A new offer document of `header` with `body` written by `device`.
pub fn new_offer(header: DocHeader, body: &Offer, device: &SecretKey, now_ms: i64) -> (Document, SignedChange) {
    let mut document = Document::new(header);
    let signed = write(&mut document, body, &writer(device, 1, now_ms));
    (document, signed)
}

/// Proposes the exchange of `header` from `device` of the proposer.
pub fn propose(header: DocHeader, device: &SecretKey, actor_tag: u64, now_ms: i64) -> (Document, SignedChange) {
    let proposer = header.owner;
    let mut document = Document::new(header);
    let signed = exchange::act(
        &mut document,
        &proposer,
        ExchangeAction::Propose,
        &writer(device, actor_tag, now_ms),
    )
    .unwrap();
    (document, signed)
}

/// Decodes the automerge change carried by `signed`.
pub fn change_of(signed: &SignedChange) -> automerge::Change {
    automerge::Change::from_bytes(signed.change.clone()).unwrap()
}

/// A fresh replica of `header` holding `changes`.
pub fn replica(header: &DocHeader, changes: &[SignedChange]) -> Document {
    let mut document = Document::new(header.clone());
    document.apply(changes.iter().map(change_of).collect()).unwrap();
    document
}

/// Writes raw exchange marks (as a hand-made, possibly hostile, client would).
pub fn put_marks(
    document: &mut Document,
    keys: &[String],
    device: &SecretKey,
    actor: u64,
    now_ms: i64,
) -> SignedChange {
    document
        .edit(&writer(device, actor, now_ms), |doc| {
            for key in keys {
                automerge::transaction::Transactable::put(doc, automerge::ROOT, key.as_str(), now_ms)
                    .map_err(|e| maillage_crdt::DocError::Write(e.to_string()))?;
            }
            Ok(())
        })
        .unwrap()
        .unwrap()
}
