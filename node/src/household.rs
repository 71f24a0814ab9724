//! The operations a household performs on its own node: everything the
//! command line offers, with the store, the keys and the clock wired in.
//!
//! Every write builds a signed change with the device key and hands it to
//! [`Store::ingest`], the same gate that bundles (and later peers) go
//! through: local writes get no shortcut around verification.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use automerge::ActorId;
use maillage_crdt::exchange::{ExchangeAction, ExchangeMarks, ExchangeState};
use maillage_crdt::items::{
    Event, Offer, OfferKind, OfferState, Profile, Request, RequestState, Rsvp, RsvpAnswer, ValidationError,
    check_transition, search_fold,
};
use maillage_crdt::ledger::{self, Balances, LedgerEntry};
use maillage_crdt::registry::{CommunityGenesis, DeviceCert, DeviceRevocation, Invite, Removal};
use maillage_crdt::{
    Amount, Community, CommunityId, DeviceId, DocHeader, DocId, DocKind, Document, ExchangeTerms, HouseholdId, Record,
    SecretKey, SignedChange, Writer,
};
use maillage_protocol::{Bundle, BundleError, InviteCode, InviteCodeError};
use serde::Serialize;

use crate::home::{Home, HomeError};
use crate::keys::{self, KeyError, KeyKind};
use crate::store::{ApplyReport, Query, Store, StoreError};
use crate::summary::Summary;

mod admission;
mod root;

pub use admission::{Admission, Linking, PreparedJoin};
use root::RootKey;
pub use root::RootKeyState;

const META_COMMUNITY: &str = "current-community";
/// JSON map of member peers' addresses (see `remember_peer`).
const META_ADDRESS_BOOK: &str = "address-book";

/// Everything that can go wrong, each with what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HouseholdError {
    #[error("this home is not set up yet: run `maillage init --name NAME` first")]
    NotInitialised,
    #[error("this home is already set up for {0}")]
    AlreadyInitialised(String),
    #[error("you are not in a community yet: run `maillage community create NAME` or `maillage community join CODE`")]
    NoCommunity,
    #[error("no {kind} matches {text:?}")]
    UnknownId { kind: &'static str, text: String },
    #[error("{text:?} matches several {kind}s ({candidates}); type more characters")]
    AmbiguousId {
        kind: &'static str,
        text: String,
        candidates: String,
    },
    #[error("no member matches {0:?} (give a household name or an id prefix)")]
    UnknownMember(String),
    #[error("{text:?} matches several members ({candidates}); use an id prefix")]
    AmbiguousMember { text: String, candidates: String },
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    #[error("only the household that posted this {0} can change it")]
    NotYours(&'static str),
    #[error("only the household's first device holds the root key needed for this")]
    NoRootKey,
    /// The root key is sealed with a passphrase and the command gave none
    /// (`maillage key protect`): nothing was signed.
    #[error("the household root key is protected by a passphrase: give it to use the key")]
    RootKeyLocked,
    #[error("the household root key is already protected by a passphrase")]
    RootKeyAlreadyProtected,
    #[error("the household root key is not protected by a passphrase")]
    RootKeyNotProtected,
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    #[error(
        "this machine was never linked to its household: run `maillage device add CODE` again with a new code from the household's first device"
    )]
    LinkIncomplete,
    #[error("{0}")]
    Refusal(#[from] crate::net::wire::Refusal),
    #[error("invalid device link code: {0}")]
    LinkCode(#[from] maillage_protocol::LinkCodeError),
    #[error("only a steward of the community can do this")]
    NotSteward,
    #[error("this exchange would take {who}'s balance to {after}, below the community's limit of -{limit}")]
    CreditLimit { who: String, after: Amount, limit: Amount },
    #[error("invalid invite code: {0}")]
    Invite(#[from] InviteCodeError),
    #[error("this invitation cannot be used: {0}")]
    InviteRefused(&'static str),
    #[error("bundle refused: {0}")]
    Bundle(#[from] BundleError),
    #[error("bundle refused: it was exported by a device of no household you share a community with")]
    BundleFromStranger,
    #[error("your membership of {community:?} was refused: {reason}")]
    JoinRefused { community: String, reason: &'static str },
    #[error("bundle refused: {0}")]
    BundleContent(String),
    #[error("the change was refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Home(#[from] HomeError),
    #[error("cannot read or write {path}: {source}")]
    File { path: String, source: std::io::Error },
    #[error("document error: {0}")]
    Document(String),
}

type Result<T, E = HouseholdError> = std::result::Result<T, E>;

/// The current time in Unix ms. The only clock of the node.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A household's node, opened on its home.
#[derive(Debug)]
pub struct Household {
    home: Home,
    store: Store,
    device: SecretKey,
    /// Only on the household's first device; linked devices carry a
    /// certificate instead. May be sealed with a passphrase (see `root`).
    root: RootKey,
    household: HouseholdId,
    /// A fresh automerge actor per session (see STACK-NOTES: never reuse an actor).
    actor: ActorId,
    /// Where this household's running node can be reached (multiaddrs ending
    /// in `/p2p/<peer id>`), set by the swarm; carried in invite codes.
    advertised: Vec<String>,
}

/// Fields of a new offer or request, as typed by the user.
#[derive(Clone, Debug, Default)]
pub struct ItemInput {
    pub title: String,
    pub description: Option<String>,
    pub category: Option<String>,
    pub kind: Option<OfferKind>,
    pub price: Option<Amount>,
    pub place: Option<String>,
    pub until: Option<i64>,
    pub ride: Option<maillage_crdt::items::Ride>,
    pub group_buy: Option<maillage_crdt::items::GroupBuy>,
}

/// Changes to an offer or request; `None` leaves a field as it is. The price
/// and the expiry can also be removed (a priced offer now given away, an
/// offer that no longer expires), hence a [`FieldEdit`] rather than an
/// `Option` for them.
#[derive(Clone, Debug, Default)]
pub struct ItemPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub kind: Option<OfferKind>,
    pub price: FieldEdit<Amount>,
    pub place: Option<String>,
    pub until: FieldEdit<i64>,
    pub state: Option<String>,
}

/// What an edit does to an optional field: "leave it" and "remove it" must
/// be told apart, which a plain `Option` cannot do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldEdit<T> {
    #[default]
    Keep,
    Set(T),
    Clear,
}

impl<T> FieldEdit<T> {
    /// `Set` when there is a value, `Keep` otherwise: what a form field or a
    /// flag left empty means when clearing is asked for separately.
    pub fn set_or_keep(value: Option<T>) -> FieldEdit<T> {
        value.map_or(FieldEdit::Keep, FieldEdit::Set)
    }

    /// Applies the edit to a document body's field. A cleared field becomes
    /// `None`, which the document stores as an automerge null: exactly what
    /// a field never set holds, so every reader, old or new, sees "none"
    /// (deleting the key instead would fail to hydrate).
    pub fn apply_to<U>(self, field: &mut Option<U>, convert: impl FnOnce(T) -> U) {
        match self {
            FieldEdit::Keep => {}
            FieldEdit::Set(value) => *field = Some(convert(value)),
            FieldEdit::Clear => *field = None,
        }
    }
}

/// Fields of a new event.
#[derive(Clone, Debug)]
pub struct EventInput {
    pub title: String,
    pub description: Option<String>,
    pub category: Option<String>,
    pub place: Option<String>,
    pub start: jiff::Zoned,
    pub end: Option<jiff::Zoned>,
    pub repeat: Option<String>,
}

/// Who this household is.
#[derive(Clone, Debug, Serialize)]
pub struct WhoAmI {
    pub household: String,
    pub device: String,
    pub name: String,
    pub place: Option<String>,
    /// This device holds the household root key (protected or not).
    pub has_root_key: bool,
    /// Whether the root key is here in the clear, protected by a passphrase,
    /// or absent.
    pub root_key: RootKeyState,
    pub home: String,
    pub communities: Vec<CommunityView>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CommunityView {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub members: usize,
    pub steward: bool,
    pub current: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct MemberView {
    pub household: String,
    pub name: String,
    pub place: Option<String>,
    pub steward: bool,
    pub joined_at: i64,
}

/// An exchange as listings show it.
#[derive(Clone, Debug, Serialize)]
pub struct ExchangeView {
    pub id: String,
    pub proposer: String,
    pub counterparty: String,
    pub provider: String,
    pub receiver: String,
    pub amount: Amount,
    pub note: String,
    pub about: Option<String>,
    pub state: ExchangeState,
    pub created_at: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct DeviceView {
    pub device: String,
    pub label: String,
    pub issued_at: i64,
    pub revoked_at: Option<i64>,
    pub this_device: bool,
}

/// What an import did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    pub exporter: String,
    pub records_added: usize,
    pub changes_applied: usize,
    pub changes_already_known: usize,
    pub changes_refused: usize,
    pub documents_touched: usize,
}

impl Household {
    /// Sets up a new household in `home`: root key, device key and its
    /// certificate, profile, store.
    pub fn init(home: Home, name: &str, place: Option<&str>) -> Result<Household> {
        if home.is_initialised() {
            let existing = Household::open(home)?;
            return Err(HouseholdError::AlreadyInitialised(existing.name()));
        }
        let profile = Profile {
            name: name.trim().to_owned(),
            place: place.map(|p| p.trim().to_owned()),
            description: String::new(),
            updated_at: now_ms(),
        };
        profile.validate()?;
        home.create()?;
        let root = keys::generate();
        let device = keys::generate();
        let household = root.household_id();
        let cert = DeviceCert::issue(&root, &device, &hostname(), now_ms())
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        let mut store = Store::open(&home.store_path())?;
        store.ingest(vec![Record::DeviceCert(cert)], vec![])?;
        // Keys are written last: a home counts as initialised once the device
        // key exists, and by then the store already knows its certificate.
        keys::save(&home.household_key_path(), KeyKind::HouseholdRoot, &root)?;
        keys::save(&home.device_key_path(), KeyKind::Device, &device)?;
        let mut this = Household {
            home,
            store,
            device,
            root: RootKey::Clear(root),
            household,
            actor: ActorId::random(),
            advertised: Vec::new(),
        };
        this.write_new(DocHeader::profile(household), &profile)?;
        Ok(this)
    }

    /// Opens an existing household home.
    pub fn open(home: Home) -> Result<Household> {
        if !home.is_initialised() {
            return Err(HouseholdError::NotInitialised);
        }
        let device = keys::load(&home.device_key_path(), KeyKind::Device)?;
        // A sealed root key stays sealed: the household opens without its
        // passphrase, and only the operations that need the key ask for it.
        let root = RootKey::open(&home)?;
        let store = Store::open(&home.store_path())?;
        let household = store
            .registry()
            .device(&device.device_id())
            .map(|entry| entry.household)
            // A home whose `device add` never completed has a device key and
            // no certificate: say so, and how to finish it.
            .ok_or(HouseholdError::LinkIncomplete)?;
        Ok(Household {
            home,
            store,
            device,
            root,
            household,
            actor: ActorId::random(),
            advertised: Vec::new(),
        })
    }

    pub fn id(&self) -> HouseholdId {
        self.household
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn home(&self) -> &Home {
        &self.home
    }

    fn writer(&self) -> Writer<'_> {
        Writer {
            device: &self.device,
            actor: self.actor.clone(),
            now_ms: now_ms(),
        }
    }

    /// Hands changes to the store and turns a refusal into an error.
    fn commit(&mut self, header: DocHeader, changes: Vec<SignedChange>) -> Result<ApplyReport> {
        let report = self.store.ingest(vec![], vec![(header, changes)])?;
        if let Some((_, rejected)) = report.rejected.first() {
            return Err(HouseholdError::Refused(rejected.to_string()));
        }
        Ok(report)
    }

    fn write_new<T: autosurgeon::Reconcile>(&mut self, header: DocHeader, body: &T) -> Result<DocId> {
        let mut document = Document::new(header.clone());
        let change = document
            .write(body, &self.writer())
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        self.commit(header, change.into_iter().collect())?;
        Ok(document.id())
    }

    fn write_existing<T: autosurgeon::Reconcile>(&mut self, mut document: Document, body: &T) -> Result<()> {
        let header = document.header().clone();
        let change = document
            .write(body, &self.writer())
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        if let Some(change) = change {
            self.commit(header, vec![change])?;
        }
        Ok(())
    }

    fn load(&self, id: &DocId) -> Result<Document> {
        self.store.load(id)?.ok_or(HouseholdError::UnknownId {
            kind: "document",
            text: id.short(),
        })
    }

    fn read<T: autosurgeon::Hydrate>(document: &Document) -> Result<T> {
        document.read().map_err(|e| HouseholdError::Document(e.to_string()))
    }

    // ----- identity -------------------------------------------------------

    pub fn profile(&self) -> Result<Profile> {
        let id = DocHeader::profile(self.household).id();
        Self::read(&self.load(&id)?)
    }

    /// This household's profile as signed changes.
    fn profile_changes(&self) -> Result<Vec<SignedChange>> {
        let profile = DocHeader::profile(self.household);
        let id = profile.id();
        let mut docs = self.store.export(|header| header.id() == id)?;
        Ok(docs.pop().map(|(_, changes)| changes).unwrap_or_default())
    }

    pub fn name(&self) -> String {
        self.profile()
            .map(|p| p.name)
            .unwrap_or_else(|_| self.household.short())
    }

    /// A member's display name: its profile name if known, else its short id.
    pub fn name_of(&self, household: &HouseholdId) -> String {
        let id = DocHeader::profile(*household).id();
        match self.store.summary(&id) {
            Ok(Some(summary)) if summary.valid => summary.title,
            _ => household.short(),
        }
    }

    pub fn whoami(&self) -> Result<WhoAmI> {
        let profile = self.profile()?;
        Ok(WhoAmI {
            household: self.household.to_text(),
            device: self.device.device_id().to_text(),
            name: profile.name,
            place: profile.place,
            has_root_key: self.root_key_state() != RootKeyState::Absent,
            root_key: self.root_key_state(),
            home: self.home.root().display().to_string(),
            communities: self.communities()?,
        })
    }

    /// Devices certified by this household.
    pub fn devices(&self) -> Vec<DeviceView> {
        let this = self.device.device_id();
        self.store
            .registry()
            .devices_of(&self.household)
            .into_iter()
            .map(|(id, entry)| DeviceView {
                device: id.to_text(),
                label: entry.label.clone(),
                issued_at: entry.issued_at,
                revoked_at: entry.revoked_at,
                this_device: id == this,
            })
            .collect()
    }

    /// Revokes one of the household's devices (needs the household root key;
    /// a protected one through [`Household::with_root_unlocked`]): from now
    /// on every node refuses what that device signs.
    pub fn revoke_device(&mut self, text: &str) -> Result<DeviceId> {
        let root = self.root_key()?;
        let lower = text.trim().to_lowercase();
        let found: Vec<DeviceId> = self
            .store
            .registry()
            .devices_of(&self.household)
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| !lower.is_empty() && id.to_text().starts_with(&lower))
            .collect();
        let device = one_of(found, "device", text, |id| id.short())?;
        if device == self.device.device_id() {
            return Err(HouseholdError::InviteRefused(
                "a device cannot revoke itself; revoke it from another device",
            ));
        }
        let revocation = DeviceRevocation {
            household: self.household,
            device,
            revoked_at: now_ms(),
        };
        let revocation = root
            .sign(revocation)
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        self.store.ingest(vec![Record::DeviceRevocation(revocation)], vec![])?;
        Ok(device)
    }

    // ----- communities ----------------------------------------------------

    pub fn communities(&self) -> Result<Vec<CommunityView>> {
        let current = self.current_community().ok();
        Ok(self
            .store
            .registry()
            .communities()
            .filter(|c| c.is_member(&self.household))
            .map(|c| CommunityView {
                id: c.id.to_text(),
                name: c.genesis.name.clone(),
                unit: c.genesis.unit.clone(),
                members: c.members.len(),
                steward: c.is_steward(&self.household),
                current: Some(c.id) == current,
            })
            .collect())
    }

    /// The community commands act in: the one last created, joined or chosen.
    pub fn current_community(&self) -> Result<CommunityId> {
        let chosen = self
            .store
            .meta(META_COMMUNITY)?
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
        let registry = self.store.registry();
        if let Some(id) = chosen.map(CommunityId)
            && registry.community(&id).is_some_and(|c| c.is_member(&self.household))
        {
            return Ok(id);
        }
        registry
            .communities()
            .find(|c| c.is_member(&self.household))
            .map(|c| c.id)
            .ok_or(HouseholdError::NoCommunity)
    }

    pub fn community(&self) -> Result<&Community> {
        let id = self.current_community()?;
        self.store.registry().community(&id).ok_or(HouseholdError::NoCommunity)
    }

    /// Chooses the community commands act in, by name or id prefix.
    pub fn use_community(&mut self, text: &str) -> Result<CommunityId> {
        let id = self.find_community(text)?;
        self.store.set_meta(META_COMMUNITY, &id.0)?;
        Ok(id)
    }

    /// One of this household's communities, by name or id prefix.
    pub fn find_community(&self, text: &str) -> Result<CommunityId> {
        let folded = search_fold(text.trim());
        let matches: Vec<CommunityId> = self
            .store
            .registry()
            .communities()
            .filter(|c| c.is_member(&self.household))
            .filter(|c| search_fold(&c.genesis.name) == folded || c.id.to_text().starts_with(&text.to_lowercase()))
            .map(|c| c.id)
            .collect();
        one_of(matches, "community", text, |id| id.short())
    }

    pub fn create_community(&mut self, name: &str, unit: &str, hard_limit: Option<Amount>) -> Result<CommunityId> {
        maillage_crdt::items::check_text("name", name, maillage_crdt::items::limits::NAME, true, false)?;
        maillage_crdt::items::check_text("unit", unit, maillage_crdt::items::limits::CATEGORY, true, false)?;
        let genesis = CommunityGenesis {
            name: name.trim().to_owned(),
            founder: self.household,
            unit: unit.trim().to_owned(),
            soft_limit: hard_limit.map(|limit| Amount(limit.0 * 8 / 10)),
            hard_limit,
            created_at: now_ms(),
            nonce: rand::random(),
        };
        let id = maillage_crdt::registry::community_id(&genesis);
        let signed = self
            .device
            .sign(genesis)
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        self.store.ingest(vec![Record::Genesis(signed)], vec![])?;
        self.store.set_meta(META_COMMUNITY, &id.0)?;
        Ok(id)
    }

    /// Makes an invite code for the current community.
    pub fn invite(&mut self, uses: u32, expires_at: i64) -> Result<InviteCode> {
        let community = self.community()?.clone();
        if !community.is_steward(&self.household) {
            return Err(HouseholdError::NotSteward);
        }
        if uses == 0 {
            return Err(HouseholdError::InviteRefused("an invitation needs at least one use"));
        }
        let invite_secret = keys::generate();
        let invite = Invite {
            community: community.id,
            inviter: self.household,
            invite_key: invite_secret.public(),
            max_uses: uses,
            created_at: now_ms(),
            expires_at,
        };
        let invite = self
            .device
            .sign(invite)
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        self.store.ingest(vec![Record::Invite(invite.clone())], vec![])?;
        let registry = self.store.registry();
        let genesis = registry
            .records()
            .find_map(|(_, record)| match record {
                Record::Genesis(genesis) if maillage_crdt::registry::community_id(&genesis.body) == community.id => {
                    Some(genesis.clone())
                }
                _ => None,
            })
            .ok_or(HouseholdError::NoCommunity)?;
        let wanted = [genesis.signer, invite.signer];
        let certs = registry
            .records()
            .filter_map(|(_, record)| match record {
                Record::DeviceCert(cert) if wanted.contains(&cert.body.device.0) => Some(cert.clone()),
                _ => None,
            })
            .collect();
        Ok(InviteCode {
            genesis,
            certs,
            invite,
            invite_secret: invite_secret.to_bytes(),
            addresses: self.advertised.clone(),
            inviter_profile: self.profile_changes()?,
        })
    }

    /// Joins a community with an invite code, with no network: the join
    /// record this writes is valid wherever it travels. `community join`
    /// first tries to be admitted online (see `admission`); this is what it
    /// falls back to when no member's node answers.
    pub fn join(&mut self, code: &str) -> Result<CommunityId> {
        let prepared = self.prepare_join(code)?;
        self.store_join(&prepared, Vec::new())
    }

    pub fn members(&self) -> Result<Vec<MemberView>> {
        let community = self.community()?;
        let mut members: Vec<MemberView> = community
            .members
            .values()
            .map(|m| {
                let profile = self.store.load(&DocHeader::profile(m.household).id()).ok().flatten();
                let profile: Option<Profile> = profile.and_then(|d| d.read().ok());
                MemberView {
                    household: m.household.to_text(),
                    name: profile
                        .as_ref()
                        .map(|p| p.name.clone())
                        .unwrap_or_else(|| m.household.short()),
                    place: profile.and_then(|p| p.place),
                    steward: m.steward,
                    joined_at: m.joined_at,
                }
            })
            .collect();
        members.sort_by(|a, b| a.joined_at.cmp(&b.joined_at).then(a.name.cmp(&b.name)));
        Ok(members)
    }

    /// Finds a member of the current community by household name or id prefix.
    pub fn resolve_member(&self, text: &str) -> Result<HouseholdId> {
        let community = self.community()?;
        let folded = search_fold(text.trim());
        let lower = text.trim().to_lowercase();
        let by_name: Vec<HouseholdId> = community
            .members
            .keys()
            .filter(|h| search_fold(&self.name_of(h)) == folded)
            .copied()
            .collect();
        // A name and an id prefix that point at different households are
        // ambiguous: otherwise a member could take another's id as its name
        // and receive what was meant for that household.
        let mut found = by_name;
        for household in community.members.keys() {
            if !lower.is_empty() && household.to_text().starts_with(&lower) && !found.contains(household) {
                found.push(*household);
            }
        }
        match found.len() {
            0 => Err(HouseholdError::UnknownMember(text.to_owned())),
            1 => Ok(found[0]),
            _ => Err(HouseholdError::AmbiguousMember {
                text: text.to_owned(),
                candidates: found.iter().map(|h| h.short()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    pub fn remove_member(&mut self, member: &HouseholdId) -> Result<()> {
        let community = self.community()?.clone();
        if !community.is_steward(&self.household) {
            return Err(HouseholdError::NotSteward);
        }
        if member == &community.genesis.founder {
            return Err(HouseholdError::InviteRefused("the founder cannot be removed"));
        }
        let removal = Removal {
            community: community.id,
            household: *member,
            removed_at: now_ms(),
        };
        let removal = self
            .device
            .sign(removal)
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        self.store.ingest(vec![Record::Removal(removal)], vec![])?;
        Ok(())
    }

    // ----- ids --------------------------------------------------------------

    /// Finds a document of `kind` by id prefix, like git does.
    pub fn resolve(&self, text: &str, kind: DocKind) -> Result<DocId> {
        let text = text.trim();
        if !maillage_crdt::ids::is_id_prefix(text) {
            return Err(HouseholdError::UnknownId {
                kind: kind.as_str(),
                text: text.to_owned(),
            });
        }
        let mut found = Vec::new();
        for id in self.store.ids_with_prefix(text)? {
            if self.store.header(&id)?.is_some_and(|h| h.kind == kind) {
                found.push(id);
            }
        }
        one_of(found, kind.as_str(), text, |id| id.short())
    }

    // ----- offers and requests ----------------------------------------------

    fn new_header(&self, kind: DocKind) -> Result<DocHeader> {
        Ok(DocHeader::item(
            kind,
            self.household,
            self.current_community()?,
            now_ms(),
            rand::random(),
        ))
    }

    pub fn add_offer(&mut self, input: ItemInput) -> Result<DocId> {
        let header = self.new_header(DocKind::Offer)?;
        let now = now_ms();
        let offer = Offer {
            title: input.title.trim().to_owned(),
            description: input.description.unwrap_or_default().trim().to_owned(),
            category: maillage_crdt::items::normalize_category(input.category.as_deref().unwrap_or("divers")),
            kind: input.kind.unwrap_or(OfferKind::Give),
            place: input.place.map(|p| p.trim().to_owned()),
            price: input.price.map(|p| p.0),
            until: input.until,
            state: OfferState::Open,
            ride: input.ride,
            group_buy: input.group_buy,
            created_at: now,
            updated_at: now,
            deleted: false,
        };
        offer.validate()?;
        self.write_new(header, &offer)
    }

    pub fn add_request(&mut self, input: ItemInput) -> Result<DocId> {
        let header = self.new_header(DocKind::Request)?;
        let now = now_ms();
        let request = Request {
            title: input.title.trim().to_owned(),
            description: input.description.unwrap_or_default().trim().to_owned(),
            category: maillage_crdt::items::normalize_category(input.category.as_deref().unwrap_or("divers")),
            kind: input.kind,
            place: input.place.map(|p| p.trim().to_owned()),
            until: input.until,
            state: RequestState::Open,
            created_at: now,
            updated_at: now,
            deleted: false,
        };
        request.validate()?;
        self.write_new(header, &request)
    }

    fn own_document(&self, id: &DocId, kind: DocKind) -> Result<Document> {
        let document = self.load(id)?;
        if document.header().kind != kind {
            return Err(HouseholdError::UnknownId {
                kind: kind.as_str(),
                text: id.short(),
            });
        }
        if document.header().owner != self.household {
            return Err(HouseholdError::NotYours(kind.as_str()));
        }
        Ok(document)
    }

    pub fn edit_offer(&mut self, id: &DocId, patch: ItemPatch) -> Result<()> {
        let document = self.own_document(id, DocKind::Offer)?;
        let mut offer: Offer = Self::read(&document)?;
        if let Some(state) = &patch.state {
            let next: OfferState = state.parse()?;
            check_transition(offer.state, next, offer.state.can_become(next))?;
            offer.state = next;
        }
        apply_common(
            &mut offer.title,
            &mut offer.description,
            &mut offer.category,
            &mut offer.place,
            &patch,
        );
        if let Some(kind) = patch.kind {
            offer.kind = kind;
        }
        patch.price.apply_to(&mut offer.price, |price| price.0);
        patch.until.apply_to(&mut offer.until, |until| until);
        offer.updated_at = now_ms();
        offer.validate()?;
        self.write_existing(document, &offer)
    }

    pub fn edit_request(&mut self, id: &DocId, patch: ItemPatch) -> Result<()> {
        let document = self.own_document(id, DocKind::Request)?;
        let mut request: Request = Self::read(&document)?;
        if let Some(state) = &patch.state {
            let next: RequestState = state.parse()?;
            check_transition(request.state, next, request.state.can_become(next))?;
            request.state = next;
        }
        apply_common(
            &mut request.title,
            &mut request.description,
            &mut request.category,
            &mut request.place,
            &patch,
        );
        if let Some(kind) = patch.kind {
            request.kind = Some(kind);
        }
        // A request has no price: `patch.price` is not about it.
        patch.until.apply_to(&mut request.until, |until| until);
        request.updated_at = now_ms();
        request.validate()?;
        self.write_existing(document, &request)
    }

    /// Deletes one of the household's offers or requests: it becomes a
    /// withdrawn tombstone with its content emptied, so the deletion
    /// propagates and the text no longer shows anywhere.
    pub fn delete_item(&mut self, id: &DocId, kind: DocKind) -> Result<()> {
        let document = self.own_document(id, kind)?;
        let now = now_ms();
        match kind {
            DocKind::Offer => {
                let mut offer: Offer = Self::read(&document)?;
                offer.title.clear();
                offer.description.clear();
                offer.place = None;
                offer.ride = None;
                offer.group_buy = None;
                offer.state = OfferState::Withdrawn;
                offer.deleted = true;
                offer.updated_at = now;
                self.write_existing(document, &offer)
            }
            DocKind::Request => {
                let mut request: Request = Self::read(&document)?;
                request.title.clear();
                request.description.clear();
                request.place = None;
                request.state = RequestState::Withdrawn;
                request.deleted = true;
                request.updated_at = now;
                self.write_existing(document, &request)
            }
            DocKind::Event => {
                let mut event: Event = Self::read(&document)?;
                event.title.clear();
                event.description.clear();
                event.place = None;
                event.cancelled = true;
                event.deleted = true;
                event.updated_at = now;
                self.write_existing(document, &event)
            }
            _ => Err(HouseholdError::NotYours(kind.as_str())),
        }
    }

    pub fn offer(&self, id: &DocId) -> Result<(DocHeader, Offer)> {
        let document = self.load(id)?;
        Ok((document.header().clone(), Self::read(&document)?))
    }

    pub fn request(&self, id: &DocId) -> Result<(DocHeader, Request)> {
        let document = self.load(id)?;
        Ok((document.header().clone(), Self::read(&document)?))
    }

    /// Listing of the current community: deleted and invalid documents are
    /// never shown; `search` matches without case or accents.
    pub fn list(&self, query: Query, search: Option<&str>, include_closed: bool) -> Result<Vec<Summary>> {
        self.list_in(self.current_community()?, query, search, include_closed, |_| true)
    }

    /// Like [`Household::list`], keeping only what `also` accepts too (a
    /// filter the store's `Query` has no field for, such as a place). `also`
    /// runs inside the store's walk, after the other filters, on each summary
    /// in listing order and with its stored state (before `expired` is
    /// derived): a web page counts the matches it skips this way.
    pub fn list_where(
        &self,
        query: Query,
        search: Option<&str>,
        include_closed: bool,
        also: impl Fn(&Summary) -> bool,
    ) -> Result<Vec<Summary>> {
        self.list_in(self.current_community()?, query, search, include_closed, also)
    }

    fn list_in(
        &self,
        community: CommunityId,
        mut query: Query,
        search: Option<&str>,
        include_closed: bool,
        also: impl Fn(&Summary) -> bool,
    ) -> Result<Vec<Summary>> {
        query.community = Some(community);
        let members = self
            .store
            .registry()
            .community(&community)
            .ok_or(HouseholdError::NoCommunity)?;
        let needle = search.map(search_fold);
        let now = now_ms();
        let explicit_state = query.state.is_some();
        // Every filter runs inside the store's index walk, so a page stops
        // reading as soon as it is full. Items of removed households are no
        // longer shown; their exchanges still count in the ledger.
        let keep = |s: &Summary| {
            s.valid
                && !s.deleted
                && (!matches!(s.kind, DocKind::Offer | DocKind::Request | DocKind::Event)
                    || members.is_member(&s.owner))
                && needle.as_ref().is_none_or(|needle| s.search.contains(needle.as_str()))
                && (include_closed || explicit_state || is_active(s, now))
                && also(s)
        };
        let found = self.store.list_where(&query, keep)?;
        Ok(found
            .into_iter()
            .map(|mut s| {
                let past = s.until.is_some_and(|until| until < now);
                if past && matches!(s.state.as_str(), "open" | "promised" | "matched") {
                    s.state = "expired".into();
                }
                s
            })
            .collect())
    }

    // ----- events -------------------------------------------------------------

    pub fn add_event(&mut self, input: EventInput) -> Result<DocId> {
        let header = self.new_header(DocKind::Event)?;
        let now = now_ms();
        let event = Event {
            title: input.title.trim().to_owned(),
            description: input.description.unwrap_or_default().trim().to_owned(),
            category: maillage_crdt::items::normalize_category(input.category.as_deref().unwrap_or("")),
            place: input.place.map(|p| p.trim().to_owned()),
            start: input.start.to_string(),
            end: input.end.as_ref().map(|e| e.to_string()),
            start_ms: input.start.timestamp().as_millisecond(),
            end_ms: input.end.as_ref().map(|e| e.timestamp().as_millisecond()),
            repeat: input.repeat,
            cancelled: false,
            created_at: now,
            updated_at: now,
            deleted: false,
        };
        event.validate()?;
        self.write_new(header, &event)
    }

    /// Calls off one of the household's events; it stays listed as cancelled
    /// so those who planned to come learn of it.
    pub fn cancel_event(&mut self, id: &DocId) -> Result<()> {
        let document = self.own_document(id, DocKind::Event)?;
        let mut event: Event = Self::read(&document)?;
        event.cancelled = true;
        event.updated_at = now_ms();
        self.write_existing(document, &event)
    }

    pub fn event(&self, id: &DocId) -> Result<(DocHeader, Event)> {
        let document = self.load(id)?;
        Ok((document.header().clone(), Self::read(&document)?))
    }

    /// Events of the current community with their bodies, by start time.
    pub fn events(&self) -> Result<Vec<(DocHeader, Event)>> {
        let query = Query {
            kind: Some(DocKind::Event),
            ..Query::default()
        };
        let mut events = Vec::new();
        for summary in self.list(query, None, true)? {
            events.push(self.event(&summary.id)?);
        }
        events.sort_by_key(|(_, event)| event.start_ms);
        Ok(events)
    }

    pub fn rsvp(&mut self, event: &DocId, answer: RsvpAnswer, people: i64) -> Result<()> {
        let (header, _) = self.event(event)?;
        let community = header.community.ok_or(HouseholdError::NoCommunity)?;
        let rsvp_header = DocHeader::rsvp(self.household, community, *event);
        let rsvp = Rsvp {
            answer,
            people,
            updated_at: now_ms(),
        };
        rsvp.validate()?;
        match self.store.load(&rsvp_header.id())? {
            Some(document) => self.write_existing(document, &rsvp),
            None => self.write_new(rsvp_header, &rsvp).map(|_| ()),
        }
    }

    /// Answers to an event, by household.
    pub fn rsvps(&self, event: &DocId) -> Result<Vec<(HouseholdId, Rsvp)>> {
        let (header, _) = self.event(event)?;
        let community = self
            .store
            .registry()
            .community(&header.community.ok_or(HouseholdError::NoCommunity)?);
        let mut answers = Vec::new();
        for member in community
            .map(|c| c.members.keys().copied().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            let id = DocHeader::rsvp(member, header.community.ok_or(HouseholdError::NoCommunity)?, *event).id();
            if let Some(document) = self.store.load(&id)?
                && let Ok(rsvp) = document.read::<Rsvp>()
            {
                answers.push((member, rsvp));
            }
        }
        Ok(answers)
    }

    // ----- exchanges -----------------------------------------------------------

    /// Proposes an exchange with another member. `provider_is_me` says who
    /// gave: the provider is credited, the other debited.
    ///
    /// With `about` (an offer or request of one of the two parties) the item
    /// says who gives: an offer's owner gives, a request's owner receives.
    /// Without it, `received` says whether this household received.
    pub fn propose_exchange(
        &mut self,
        with: HouseholdId,
        received: bool,
        amount: Amount,
        note: &str,
        about: Option<DocId>,
    ) -> Result<DocId> {
        maillage_crdt::items::check_text("note", note, maillage_crdt::items::limits::NOTE, false, true)?;
        if with == self.household {
            return Err(HouseholdError::InviteRefused("an exchange needs another household"));
        }
        let community = self.current_community()?;
        let provider_is_me = match about {
            None => !received,
            Some(_) if received => {
                return Err(HouseholdError::Refused(
                    "--received cannot be combined with an offer or a request: the item says who gives".into(),
                ));
            }
            Some(item) => {
                let header = self.store.header(&item)?.ok_or(HouseholdError::UnknownId {
                    kind: "document",
                    text: item.short(),
                })?;
                if header.owner != self.household && header.owner != with {
                    return Err(HouseholdError::Refused(
                        "the offer or request must belong to one of the two households of the exchange".into(),
                    ));
                }
                match header.kind {
                    DocKind::Offer => header.owner == self.household,
                    DocKind::Request => header.owner != self.household,
                    _ => {
                        return Err(HouseholdError::UnknownId {
                            kind: "offer",
                            text: item.short(),
                        });
                    }
                }
            }
        };
        let terms = ExchangeTerms {
            counterparty: with,
            provider: if provider_is_me { self.household } else { with },
            amount,
            note: note.trim().to_owned(),
            about,
        };
        let header = DocHeader {
            kind: DocKind::Exchange,
            community: Some(community),
            owner: self.household,
            created_at: now_ms(),
            nonce: rand::random(),
            parent: None,
            terms: Some(terms.clone()),
        };
        header.check().map_err(|e| HouseholdError::Refused(e.to_owned()))?;
        if !provider_is_me {
            self.check_credit(community, &self.household, amount, header.id())?;
        }
        let mut document = Document::new(header.clone());
        let change =
            maillage_crdt::exchange::act(&mut document, &self.household, ExchangeAction::Propose, &self.writer())
                .map_err(|e| HouseholdError::Refused(e.to_string()))?;
        self.commit(header, vec![change])?;
        Ok(document.id())
    }

    /// Accepts, declines, cancels or confirms an exchange.
    pub fn act_on_exchange(&mut self, id: &DocId, action: ExchangeAction) -> Result<ExchangeState> {
        let mut document = self.load(id)?;
        let header = document.header().clone();
        let terms = header.terms.clone().ok_or(HouseholdError::UnknownId {
            kind: "exchange",
            text: id.short(),
        })?;
        let receiver = terms.receiver(&header.owner);
        // The debt starts to count when the exchange becomes confirmed; a
        // second confirmation of an already counted exchange adds nothing.
        let state = ExchangeMarks::read(&document)
            .map_err(|e| HouseholdError::Document(e.to_string()))?
            .state();
        let adds_debt = match action {
            ExchangeAction::Accept => true,
            ExchangeAction::Confirm => state == ExchangeState::Accepted,
            _ => false,
        };
        if adds_debt {
            let community = header.community.ok_or(HouseholdError::NoCommunity)?;
            self.check_credit(community, &receiver, terms.amount, *id)?;
        }
        let change = maillage_crdt::exchange::act(&mut document, &self.household, action, &self.writer()).map_err(
            |e| match e {
                maillage_crdt::exchange::ExchangeError::Invalid(invalid) => HouseholdError::Invalid(invalid),
                other => HouseholdError::Document(other.to_string()),
            },
        )?;
        self.commit(header, vec![change])?;
        let document = self.load(id)?;
        Ok(ExchangeMarks::read(&document)
            .map_err(|e| HouseholdError::Document(e.to_string()))?
            .state())
    }

    /// Refuses an exchange that would take `debtor` below the hard limit of
    /// `community`, counting the debts it already agreed to (accepted, not
    /// yet confirmed) besides its balance. Both parties' nodes run this, so
    /// a limit holds even when the debtor's own node is not the one acting.
    fn check_credit(&self, community: CommunityId, debtor: &HouseholdId, amount: Amount, this: DocId) -> Result<()> {
        let genesis = self.genesis_of(&community)?;
        let Some(limit) = genesis.hard_limit else { return Ok(()) };
        let standing = self.standing(community, debtor, Some(this))?;
        if ledger::exceeds_limit(standing, amount, Some(limit)) {
            return Err(HouseholdError::CreditLimit {
                who: self.name_of(debtor),
                after: Amount(standing.0.saturating_sub(amount.0)),
                limit,
            });
        }
        Ok(())
    }

    /// A household's balance minus the debits it has accepted but not yet
    /// seen confirmed (leaving out `except`).
    fn standing(&self, community: CommunityId, household: &HouseholdId, except: Option<DocId>) -> Result<Amount> {
        let ledger = self.exchange_ledger(community)?;
        let mut standing = ledger::balances(ledger.iter().map(|(_, entry)| entry)).of(household).0;
        for (summary, entry) in &ledger {
            if summary.state != ExchangeState::Accepted.as_str() || Some(summary.id) == except {
                continue;
            }
            if let Some(terms) = &entry.header.terms
                && &terms.receiver(&entry.header.owner) == household
            {
                standing = standing.saturating_sub(terms.amount.0);
            }
        }
        Ok(Amount(standing))
    }

    fn genesis_of(&self, community: &CommunityId) -> Result<&CommunityGenesis> {
        Ok(&self
            .store
            .registry()
            .community(community)
            .ok_or(HouseholdError::NoCommunity)?
            .genesis)
    }

    /// The soft-limit warning for `household` in the current community: its
    /// standing when below `-soft_limit`.
    pub fn soft_limit_warning(&self, household: &HouseholdId) -> Result<Option<(Amount, Amount)>> {
        let community = self.current_community()?;
        let genesis = self.genesis_of(&community)?;
        let Some(soft) = genesis.soft_limit else {
            return Ok(None);
        };
        let standing = self.standing(community, household, None)?;
        Ok((standing.0 < soft.0.saturating_neg()).then_some((standing, soft)))
    }

    pub fn exchanges(&self) -> Result<Vec<ExchangeView>> {
        let query = Query {
            kind: Some(DocKind::Exchange),
            ..Query::default()
        };
        let mut views = Vec::new();
        for summary in self.list(query, None, true)? {
            let document = self.load(&summary.id)?;
            let header = document.header().clone();
            let Some(terms) = header.terms.clone() else { continue };
            let state = ExchangeMarks::read(&document)
                .map_err(|e| HouseholdError::Document(e.to_string()))?
                .state();
            views.push(ExchangeView {
                id: summary.id.to_text(),
                proposer: self.name_of(&header.owner),
                counterparty: self.name_of(&terms.counterparty),
                provider: self.name_of(&terms.provider),
                receiver: self.name_of(&terms.receiver(&header.owner)),
                amount: terms.amount,
                note: terms.note,
                about: terms.about.map(|id| id.to_text()),
                state,
                created_at: header.created_at,
            });
        }
        Ok(views)
    }

    /// Balances of the current community.
    pub fn balances(&self) -> Result<Balances> {
        self.balances_in(self.current_community()?)
    }

    fn balances_in(&self, community: CommunityId) -> Result<Balances> {
        let ledger = self.exchange_ledger(community)?;
        Ok(ledger::balances(ledger.iter().map(|(_, entry)| entry)))
    }

    /// Every exchange of `community` (closed ones included) with its ledger
    /// entry, in listing order. The stored header and summary say all the
    /// ledger needs: loading every exchange document would make each balance
    /// (and the soft-limit warning after each write) a full replay of them.
    pub fn exchange_ledger(&self, community: CommunityId) -> Result<Vec<(Summary, LedgerEntry)>> {
        let query = Query {
            kind: Some(DocKind::Exchange),
            ..Query::default()
        };
        let summaries = self.list_in(community, query, None, true, |_| true)?;
        let ids: Vec<DocId> = summaries.iter().map(|summary| summary.id).collect();
        let headers = self.store.headers(&ids)?;
        Ok(summaries
            .into_iter()
            .zip(headers)
            .filter_map(|(summary, header)| {
                let entry = LedgerEntry {
                    id: summary.id,
                    header: header?,
                    confirmed: summary.state == ExchangeState::Confirmed.as_str(),
                };
                Some((summary, entry))
            })
            .collect())
    }

    /// Balances with every member listed, zero included, by name.
    pub fn balance_sheet(&self) -> Result<Vec<(String, String, Amount)>> {
        let balances = self.balances()?;
        let community = self.community()?;
        let mut sheet: Vec<(String, String, Amount)> = community
            .members
            .keys()
            .chain(balances.by_household.keys().filter(|h| !community.is_member(h)))
            .map(|h| (h.to_text(), self.name_of(h), balances.of(h)))
            .collect();
        sheet.sort_by(|a, b| a.1.cmp(&b.1));
        sheet.dedup_by(|a, b| a.0 == b.0);
        Ok(sheet)
    }

    // ----- indicators -----------------------------------------------------------

    pub fn indicators(&self) -> Result<maillage_crdt::indicators::Indicators> {
        let community = self.community()?;
        let members = community.members.len();
        let query = Query {
            community: Some(community.id),
            ..Query::default()
        };
        let now = now_ms();
        let mut facts = Vec::new();
        for summary in self.list(query, None, true)? {
            let (amount, confirmed_at) = if summary.kind == DocKind::Exchange {
                let document = self.load(&summary.id)?;
                let confirmed_at = ExchangeMarks::read(&document).ok().and_then(|m| m.confirmed_at());
                (document.header().terms.as_ref().map(|t| t.amount), confirmed_at)
            } else {
                (None, None)
            };
            facts.push(maillage_crdt::indicators::Fact {
                kind: summary.kind,
                owner: summary.owner,
                category: summary.category,
                state: summary.state,
                updated_at: summary.updated_at,
                amount,
                confirmed_at,
            });
        }
        let zone = jiff::tz::TimeZone::system();
        Ok(maillage_crdt::indicators::compute(members, &facts, now, |ms| {
            jiff::Timestamp::from_millisecond(ms)
                .map(|t| t.to_zoned(zone.clone()).strftime("%Y-%m").to_string())
                .unwrap_or_default()
        }))
    }

    /// Open requests of the community with the open offers that may answer
    /// them (same category, or a title word in common).
    pub fn matches(&self) -> Result<Vec<(Summary, Vec<Summary>)>> {
        let requests = self.list(
            Query {
                kind: Some(DocKind::Request),
                state: Some("open".into()),
                ..Query::default()
            },
            None,
            false,
        )?;
        let offers = self.list(
            Query {
                kind: Some(DocKind::Offer),
                state: Some("open".into()),
                ..Query::default()
            },
            None,
            false,
        )?;
        Ok(requests
            .into_iter()
            .map(|request| {
                let words = title_words(&request);
                let answers = offers
                    .iter()
                    .filter(|offer| may_answer(&request, &words, offer))
                    .cloned()
                    .collect();
                (request, answers)
            })
            .collect())
    }

    /// What may answer one item, by the rule of [`Household::matches`]: for
    /// a request the open offers, for an offer the open requests; at most
    /// `limit`, newest first. One walk of the other kind's listing, so an
    /// item's page does not pair every request with every offer.
    pub fn matches_of(&self, item: &Summary, limit: usize) -> Result<Vec<Summary>> {
        let open = |kind| Query {
            kind: Some(kind),
            state: Some("open".into()),
            limit: Some(limit),
            ..Query::default()
        };
        match item.kind {
            DocKind::Request => {
                let words = title_words(item);
                self.list_where(open(DocKind::Offer), None, false, |offer| {
                    may_answer(item, &words, offer)
                })
            }
            DocKind::Offer => self.list_where(open(DocKind::Request), None, false, |request| {
                may_answer(request, &title_words(request), item)
            }),
            _ => Ok(Vec::new()),
        }
    }

    // ----- what peers and bundles bring ------------------------------------------

    /// Stores records and documents that came from elsewhere (a bundle, a
    /// peer), keeping only what belongs to communities this household is in
    /// once the incoming records count (a newcomer's join makes it a member),
    /// plus the profiles and device records of those communities' households.
    /// Whatever a sender adds about other communities is not ours to receive
    /// and is dropped; everything kept is verified by the store.
    pub fn ingest_foreign(
        &mut self,
        records: Vec<Record>,
        docs: Vec<(DocHeader, Vec<SignedChange>)>,
    ) -> Result<ApplyReport> {
        let mut registry = self.store.registry().clone();
        registry.insert(records.iter().cloned());
        let mine: Vec<CommunityId> = registry
            .communities()
            .filter(|c| c.is_member(&self.household))
            .map(|c| c.id)
            .collect();
        let households = households_of(&registry, &mine);
        let records = records
            .into_iter()
            .filter(|record| match (record.community(), record) {
                (Some(community), _) => mine.contains(&community),
                (None, Record::DeviceCert(cert)) => households.contains(&cert.body.household),
                (None, Record::DeviceRevocation(revocation)) => households.contains(&revocation.body.household),
                (None, _) => false,
            })
            .collect();
        let docs = docs
            .into_iter()
            .filter(|(header, _)| match header.community {
                Some(community) => mine.contains(&community),
                None => households.contains(&header.owner),
            })
            .collect();
        Ok(self.store.ingest(records, docs)?)
    }

    /// What this household tells a peer about itself on connecting: its
    /// device certificates and revocations, and its join records (so a
    /// member who joined offline is recognised by any member it meets).
    pub fn own_records(&self) -> Vec<Record> {
        self.store
            .registry()
            .records()
            .filter(|(_, record)| match record {
                Record::DeviceCert(cert) => cert.body.household == self.household,
                Record::DeviceRevocation(revocation) => revocation.body.household == self.household,
                Record::Join(join) => join.body.household == self.household,
                _ => false,
            })
            .map(|(_, record)| record.clone())
            .collect()
    }

    /// Communities both this household and the household of `device` are
    /// members of: the only ones a peer on that device may sync.
    pub fn shared_communities(&self, device: &DeviceId) -> Vec<CommunityId> {
        let registry = self.store.registry();
        let Ok(peer) = registry.household_of(device, now_ms()) else {
            return Vec::new();
        };
        registry
            .communities()
            .filter(|c| c.is_member(&self.household) && c.is_member(&peer))
            .map(|c| c.id)
            .collect()
    }

    /// The household a peer's device belongs to, and its name, if known.
    pub fn household_of_device(&self, device: &DeviceId) -> Option<(HouseholdId, String)> {
        let household = self.store.registry().household_of(device, now_ms()).ok()?;
        Some((household, self.name_of(&household)))
    }

    /// The records of `community`, for a member peer.
    pub fn community_records(&self, community: &CommunityId) -> Vec<Record> {
        self.store.registry().records_for_community(community)
    }

    /// Remembers where a member's node was reached (peer id → multiaddrs), so
    /// the node can dial it again after a restart. Only member peers are
    /// kept, and at most a few addresses each.
    pub fn remember_peer(&mut self, peer: &str, addresses: &[String]) -> Result<()> {
        const MAX_PEERS: usize = 256;
        const MAX_ADDRESSES: usize = 4;
        let mut book = self.address_book();
        let entry = book.entry(peer.to_owned()).or_default();
        for address in addresses {
            if !entry.contains(address) {
                entry.insert(0, address.clone());
            }
        }
        entry.truncate(MAX_ADDRESSES);
        if book.len() > MAX_PEERS {
            let extra: Vec<String> = book
                .keys()
                .filter(|p| *p != peer)
                .take(book.len() - MAX_PEERS)
                .cloned()
                .collect();
            for key in extra {
                book.remove(&key);
            }
        }
        let bytes = serde_json::to_vec(&book).unwrap_or_default();
        Ok(self.store.set_meta(META_ADDRESS_BOOK, &bytes)?)
    }

    /// The persisted address book: peer id → multiaddrs.
    pub fn address_book(&self) -> BTreeMap<String, Vec<String>> {
        self.store
            .meta(META_ADDRESS_BOOK)
            .ok()
            .flatten()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Sets where this household's node listens (the swarm calls this as its
    /// listen addresses change).
    pub fn set_advertised(&mut self, addresses: Vec<String>) {
        self.advertised = addresses;
    }

    /// The device key: also the node's libp2p identity.
    pub fn device_key(&self) -> &SecretKey {
        &self.device
    }

    // ----- bundles ----------------------------------------------------------------

    /// Writes a signed bundle of everything this household holds for its
    /// communities (its own documents and those it received).
    pub fn export(&self, path: &Path, only: Option<CommunityId>) -> Result<usize> {
        let registry = self.store.registry();
        let communities: Vec<CommunityId> = registry
            .communities()
            .filter(|c| c.is_member(&self.household) && only.is_none_or(|only| only == c.id))
            .map(|c| c.id)
            .collect();
        let mut records: BTreeMap<maillage_crdt::RecordId, Record> = BTreeMap::new();
        for community in &communities {
            records.extend(
                registry
                    .records_for_community(community)
                    .into_iter()
                    .map(|r| (r.id(), r)),
            );
        }
        // Our own device certificates travel even before we are in a community.
        for (id, record) in registry.records() {
            if let Record::DeviceCert(cert) = record
                && cert.body.household == self.household
            {
                records.insert(*id, record.clone());
            }
        }
        let households = households_of(registry, &communities);
        let docs = self.store.export(|header| match header.community {
            Some(community) => communities.contains(&community),
            None => households.contains(&header.owner),
        })?;
        let count = docs.len();
        let bundle = Bundle {
            created_at: now_ms(),
            records: records.into_values().collect(),
            docs: docs
                .into_iter()
                .map(|(header, changes)| maillage_protocol::BundleDoc { header, changes })
                .collect(),
        };
        let bytes = bundle.seal(&self.device)?;
        crate::home::write_private_file(path, &bytes).map_err(|source| HouseholdError::File {
            path: path.display().to_string(),
            source,
        })?;
        Ok(count)
    }

    /// Verifies a bundle and merges it. A bundle that fails any check on the
    /// whole (signature, exporter) changes nothing; individual changes that
    /// fail verification are counted and skipped.
    pub fn import(&mut self, path: &Path) -> Result<ImportReport> {
        let file_error = |source| HouseholdError::File {
            path: path.display().to_string(),
            source,
        };
        // Check the size before reading: a huge file is refused, not loaded.
        let size = std::fs::metadata(path).map_err(file_error)?.len();
        if size > maillage_protocol::bundle::MAX_BUNDLE_BYTES as u64 {
            return Err(BundleError::TooLarge.into());
        }
        let bytes = std::fs::read(path).map_err(file_error)?;
        let signed = Bundle::open(&bytes)?;
        let exporter_device = signed.signer_device();
        let bundle = signed.body;
        // Check every record first: a bundle carrying one forged record was
        // tampered with, and is refused whole.
        for record in &bundle.records {
            record
                .verify_self()
                .map_err(|e| HouseholdError::BundleContent(e.to_string()))?;
        }
        // The exporter must be a device of a household that shares a community
        // with us, once the bundle's own records (a newcomer's join) count.
        let mut registry = self.store.registry().clone();
        registry.insert(bundle.records.iter().cloned());
        let exporter = registry
            .household_of(&exporter_device, bundle.created_at)
            .map_err(|_| HouseholdError::BundleFromStranger)?;
        let shares_community = exporter == self.household
            || registry
                .communities()
                .any(|c| c.is_member(&exporter) && c.is_member(&self.household));
        if !shares_community {
            // A household whose own join was refused learns why, rather than
            // being told the steward is a stranger.
            let refused = registry.communities().find_map(|c| {
                let refusal = c.refused_joins.get(&self.household)?;
                c.is_member(&exporter).then(|| (c.genesis.name.clone(), *refusal))
            });
            return Err(match refused {
                Some((community, refusal)) => HouseholdError::JoinRefused {
                    community,
                    reason: refusal_reason(refusal),
                },
                None => HouseholdError::BundleFromStranger,
            });
        }
        let docs = bundle.docs.into_iter().map(|doc| (doc.header, doc.changes)).collect();
        let report = self.ingest_foreign(bundle.records, docs)?;
        Ok(ImportReport {
            exporter: self.name_of(&exporter),
            records_added: report.new_records.len(),
            changes_applied: report.applied,
            changes_already_known: report.duplicates,
            changes_refused: report.rejected.len(),
            documents_touched: report.touched.len(),
        })
    }
}

/// Every household that appears in `communities` (members, former members,
/// refused joiners): whose device records and profiles travel with them.
fn households_of(registry: &maillage_crdt::Registry, communities: &[CommunityId]) -> BTreeSet<HouseholdId> {
    communities
        .iter()
        .filter_map(|id| registry.community(id))
        .flat_map(|c| {
            c.members
                .keys()
                .chain(c.former.keys())
                .chain(c.refused_joins.keys())
                .copied()
        })
        .collect()
}

/// Splits `/ip4/…/tcp/…/p2p/<peer>` into the peer id and the address before it.
fn split_peer(address: &str) -> Option<(String, String)> {
    let address: libp2p::Multiaddr = address.parse().ok()?;
    let mut base = address.clone();
    match base.pop()? {
        libp2p::multiaddr::Protocol::P2p(peer) => Some((peer.to_string(), base.to_string())),
        _ => None,
    }
}

fn refusal_reason(refusal: maillage_crdt::registry::JoinRefusal) -> &'static str {
    use maillage_crdt::registry::JoinRefusal::*;
    match refusal {
        InviteExpired => "the invitation had expired; ask for a new code",
        InviteUsedUp => "the invitation had already been used as many times as allowed",
        InviterNotSteward => "the household that made the invitation is not a steward of the community",
        Removed => "your household was removed from this community",
    }
}

fn apply_common(
    title: &mut String,
    description: &mut String,
    category: &mut String,
    place: &mut Option<String>,
    patch: &ItemPatch,
) {
    if let Some(new) = &patch.title {
        *title = new.trim().to_owned();
    }
    if let Some(new) = &patch.description {
        *description = new.trim().to_owned();
    }
    if let Some(new) = &patch.category {
        *category = maillage_crdt::items::normalize_category(new);
    }
    if let Some(new) = &patch.place {
        *place = Some(new.trim().to_owned()).filter(|p| !p.is_empty());
    }
}

/// The words of a request's title that say what it is about: folded, and
/// longer than three letters so that "de" or "une" match nothing.
fn title_words(request: &Summary) -> Vec<String> {
    search_fold(&request.title)
        .split_whitespace()
        .filter(|w| w.len() > 3)
        .map(str::to_owned)
        .collect()
}

/// Whether `offer` may answer `request` (whose [`title_words`] are `words`):
/// another household's, in the same category or sharing a title word.
fn may_answer(request: &Summary, words: &[String], offer: &Summary) -> bool {
    offer.owner != request.owner
        && (offer.category == request.category || words.iter().any(|w| offer.search.contains(w.as_str())))
}

/// Whether a listing shows an item by default: open ones, and events not yet over.
fn is_active(summary: &Summary, now: i64) -> bool {
    match summary.kind {
        DocKind::Offer => {
            matches!(summary.state.as_str(), "open" | "promised") && summary.until.is_none_or(|u| u >= now)
        }
        DocKind::Request => {
            matches!(summary.state.as_str(), "open" | "matched") && summary.until.is_none_or(|u| u >= now)
        }
        DocKind::Event => summary.state != "cancelled",
        _ => true,
    }
}

fn one_of<T: Copy>(found: Vec<T>, kind: &'static str, text: &str, short: impl Fn(&T) -> String) -> Result<T> {
    match found.len() {
        0 => Err(HouseholdError::UnknownId {
            kind,
            text: text.to_owned(),
        }),
        1 => Ok(found[0]),
        _ => Err(HouseholdError::AmbiguousId {
            kind,
            text: text.to_owned(),
            candidates: found.iter().take(5).map(short).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// This machine's name, the default label of its device.
pub fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "appareil".into())
}

/// Counts of what the store holds per kind, for `stats`.
pub fn count_by_kind(summaries: &[Summary]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for summary in summaries {
        *counts.entry(summary.kind.as_str()).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const DAY_MS: i64 = 86_400_000;

    fn household(dir: &Path, name: &str) -> Household {
        Household::init(Home::at(dir.join(name)), name, None).unwrap()
    }

    /// Hands everything `from` holds to `to` through a real signed bundle.
    fn carry(from: &Household, to: &mut Household, bundle: &Path) {
        from.export(bundle, None).unwrap();
        to.import(bundle).unwrap();
    }

    #[test]
    fn an_edit_clears_an_offers_price_and_expiry_and_a_neighbour_sees_them_gone() {
        let dir = tempfile::tempdir().unwrap();
        let mut founder = household(dir.path(), "Ferme des Tilleuls");
        founder.create_community("Saint-Martin", "heure", None).unwrap();
        let code = founder.invite(1, now_ms() + DAY_MS).unwrap().to_text();
        let mut neighbour = household(dir.path(), "Moulin du Bas");
        neighbour.join(&code).unwrap();

        let until = now_ms() + 7 * DAY_MS;
        let id = founder
            .add_offer(ItemInput {
                title: "Confiture de prunes".into(),
                kind: Some(OfferKind::Sell),
                price: Some("3.50".parse().unwrap()),
                until: Some(until),
                ..ItemInput::default()
            })
            .unwrap();
        carry(&founder, &mut neighbour, &dir.path().join("priced.bundle"));
        let (_, seen) = neighbour.offer(&id).unwrap();
        assert_eq!((seen.price, seen.until), (Some(350), Some(until)));

        // An edit that says nothing of them keeps them.
        let retitle = ItemPatch {
            title: Some("Confiture de prunes maison".into()),
            ..ItemPatch::default()
        };
        founder.edit_offer(&id, retitle).unwrap();
        let (_, offer) = founder.offer(&id).unwrap();
        assert_eq!((offer.price, offer.until), (Some(350), Some(until)));

        // A sale cannot lose its price: the rule names the field.
        let unpriced_sale = ItemPatch {
            price: FieldEdit::Clear,
            ..ItemPatch::default()
        };
        match founder.edit_offer(&id, unpriced_sale) {
            Err(HouseholdError::Invalid(invalid)) => assert_eq!(invalid.field, "price"),
            other => panic!("a sale without a price was not refused: {other:?}"),
        }

        // Given away for free, with no end date.
        let free = ItemPatch {
            kind: Some(OfferKind::Give),
            price: FieldEdit::Clear,
            until: FieldEdit::Clear,
            ..ItemPatch::default()
        };
        founder.edit_offer(&id, free).unwrap();
        let (_, offer) = founder.offer(&id).unwrap();
        assert_eq!((offer.kind, offer.price, offer.until), (OfferKind::Give, None, None));
        let listed = founder.store().summary(&id).unwrap().unwrap();
        assert_eq!(listed.until, None, "the listing no longer shows an expiry");

        // The neighbour's replica, which had the price, merges the edit.
        carry(&founder, &mut neighbour, &dir.path().join("free.bundle"));
        let (_, seen) = neighbour.offer(&id).unwrap();
        assert_eq!((seen.kind, seen.price, seen.until), (OfferKind::Give, None, None));

        // And a price can be set again after being cleared.
        let priced_again = ItemPatch {
            kind: Some(OfferKind::Sell),
            price: FieldEdit::Set("2".parse().unwrap()),
            ..ItemPatch::default()
        };
        founder.edit_offer(&id, priced_again).unwrap();
        assert_eq!(founder.offer(&id).unwrap().1.price, Some(200));
    }

    #[test]
    fn an_edit_clears_a_requests_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let mut founder = household(dir.path(), "Ferme des Tilleuls");
        founder.create_community("Saint-Martin", "heure", None).unwrap();
        let id = founder
            .add_request(ItemInput {
                title: "Cherche bois de chauffage".into(),
                until: Some(now_ms() + DAY_MS),
                ..ItemInput::default()
            })
            .unwrap();
        let no_end = ItemPatch {
            until: FieldEdit::Clear,
            ..ItemPatch::default()
        };
        founder.edit_request(&id, no_end).unwrap();
        assert_eq!(founder.request(&id).unwrap().1.until, None);
    }
}
