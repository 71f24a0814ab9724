//! The operations a household performs on its own node: everything the
//! command line offers, with the store, the keys and the clock wired in.
//!
//! Two types, so that the compiler keeps reads and writes apart:
//! [`Household`] holds what readers share (the store, the device key) and
//! offers every read, on `&self`, from any thread at once; a
//! [`HouseholdWriter`] is the one owner of writes — it derefs to the
//! `Household` for reads and adds every operation that signs or stores
//! something, on `&mut self`. Only one exists per open home, and the
//! household service (`crate::service`) keeps it on its writer thread.
//!
//! Every write builds a signed change with the device key and hands it to
//! [`Store::ingest`], the same gate that bundles and peers go through: local
//! writes get no shortcut around verification.
//!
//! One file per concern: `identity` (profile, devices), `communities`,
//! `items` (offers and requests), `events`, `exchanges` (and the ledger),
//! `indicators`, `bundles` (what comes from elsewhere), `mesh` (what the
//! swarm asks), `admission` (joining and linking), `root` (the root key).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

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
mod bundles;
mod communities;
mod events;
mod exchanges;
mod identity;
mod indicators;
mod items;
mod mesh;
mod root;

pub use admission::{Admission, Linking, PreparedJoin};
use root::RootKey;
pub use root::RootKeyState;

const META_COMMUNITY: &str = "current-community";

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
    /// One of the household's own rules says no (see [`NotAllowed`]).
    #[error("{0}")]
    NotAllowed(#[from] NotAllowed),
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
    /// A write asked for another write and waited for it: the household
    /// service runs one write at a time, so it would have waited forever.
    #[error("a write cannot wait for another write of the same household")]
    WriterBusy,
    /// The household service stopped (the node is shutting down).
    #[error("the household is closing: try again once the node is running")]
    WriterStopped,
    /// A write failed on a bug (a panic). Each of its transactions was
    /// committed whole or not at all; what it committed before is kept.
    #[error("the write failed on an internal error")]
    WriteFailed,
    /// A read failed on a bug (a panic).
    #[error("the read failed on an internal error")]
    ReadFailed,
}

impl HouseholdError {
    /// A stable, kebab-case name for what went wrong, for programs (the
    /// local API's `code`): messages change with the language and over
    /// time, codes do not.
    pub fn code(&self) -> &'static str {
        use HouseholdError as E;
        match self {
            E::NotInitialised => "not-initialised",
            E::AlreadyInitialised(_) => "already-initialised",
            E::NoCommunity => "no-community",
            E::UnknownId { .. } => "unknown-id",
            E::AmbiguousId { .. } => "ambiguous-id",
            E::UnknownMember(_) => "unknown-member",
            E::AmbiguousMember { .. } => "ambiguous-member",
            E::Invalid(_) => "invalid-field",
            E::NotYours(_) => "not-yours",
            E::NoRootKey => "no-root-key",
            E::RootKeyLocked => "root-key-locked",
            E::RootKeyAlreadyProtected => "root-key-protected",
            E::RootKeyNotProtected => "root-key-not-protected",
            E::EmptyPassphrase => "empty-passphrase",
            E::LinkIncomplete => "link-incomplete",
            E::Refusal(_) => "refused-by-peer",
            E::LinkCode(_) => "bad-link-code",
            E::NotSteward => "not-steward",
            E::CreditLimit { .. } => "credit-limit",
            E::Invite(_) => "bad-invite-code",
            E::NotAllowed(rule) => rule.code(),
            E::Bundle(_) | E::BundleContent(_) => "bad-bundle",
            E::BundleFromStranger => "bundle-from-stranger",
            E::JoinRefused { .. } => "join-refused",
            E::Refused(_) => "change-refused",
            E::Store(StoreError::DiskFull) => "disk-full",
            E::Store(StoreError::Locked) => "store-locked",
            E::Store(StoreError::HeldByNode { .. }) => "store-held-by-node",
            E::Store(StoreError::NewerLayout { .. }) => "store-newer",
            E::Store(StoreError::Io(_)) => "store-io",
            E::Store(StoreError::Corrupt(_)) => "store-damaged",
            E::Store(_) => "store-error",
            E::Key(_) => "key-error",
            E::Home(_) => "home-error",
            E::File { .. } => "file-error",
            E::Document(_) => "document-error",
            E::WriterBusy => "writer-busy",
            E::WriterStopped => "writer-stopped",
            E::WriteFailed | E::ReadFailed => "internal",
        }
    }

    /// The input field at fault, when the error is about one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            HouseholdError::Invalid(invalid) => Some(invalid.field),
            _ => None,
        }
    }
}

/// What the household's own rules refuse, whoever asks (the command line,
/// the page, the API): each has its code and its sentence in the catalogue
/// (`not-allowed-<code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotAllowed {
    #[error("a device cannot revoke itself; revoke it from another device")]
    RevokeOwnDevice,
    #[error("an exchange needs another household")]
    ExchangeWithSelf,
    #[error("an invitation needs at least one use")]
    InvitationWithoutUse,
    #[error("the founder cannot be removed")]
    RemoveFounder,
    /// An exchange about an offer or request: the item says who gives.
    #[error("\"received\" cannot be combined with an offer or a request: the item says who gives")]
    ReceivedWithItem,
    #[error("the offer or request must belong to one of the two households of the exchange")]
    ItemOfAnotherHousehold,
}

impl NotAllowed {
    pub fn code(&self) -> &'static str {
        match self {
            NotAllowed::RevokeOwnDevice => "revoke-own-device",
            NotAllowed::ExchangeWithSelf => "exchange-with-self",
            NotAllowed::InvitationWithoutUse => "invitation-without-use",
            NotAllowed::RemoveFounder => "remove-founder",
            NotAllowed::ReceivedWithItem => "received-with-item",
            NotAllowed::ItemOfAnotherHousehold => "item-of-another-household",
        }
    }
}

type Result<T, E = HouseholdError> = std::result::Result<T, E>;

/// The current time in Unix ms. The only clock of the node.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A household's node, opened on its home: what every reader shares.
/// `Sync`: reads run on redb read transactions, side by side, and never wait
/// behind a write.
#[derive(Debug)]
pub struct Household {
    home: Home,
    store: Store,
    device: SecretKey,
    household: HouseholdId,
    /// Whether the root key is here, and how; the key itself stays with the
    /// writer, the only one that signs with it.
    root_state: RwLock<RootKeyState>,
    /// Where this household's running node can be reached (multiaddrs ending
    /// in `/p2p/<peer id>`), set by the swarm; carried in invite codes.
    advertised: RwLock<Vec<String>>,
}

/// The one owner of a household's writes: every operation that signs or
/// stores something takes `&mut self` here. Reads go through `Deref` to the
/// shared [`Household`]. Not `Clone`: [`Household::open`] and
/// [`Household::init`] make the only one for a home, which the household
/// service keeps on its writer thread.
#[derive(Debug)]
pub struct HouseholdWriter {
    shared: Arc<Household>,
    /// Only on the household's first device; linked devices carry a
    /// certificate instead. May be sealed with a passphrase (see `root`).
    root: RootKey,
    /// A fresh automerge actor per session (see STACK-NOTES: never reuse an
    /// actor). One writer per home means one actor never writes the same
    /// document from two threads at once.
    actor: ActorId,
}

impl std::ops::Deref for HouseholdWriter {
    type Target = Household;

    fn deref(&self) -> &Household {
        &self.shared
    }
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
    /// certificate, profile, store. Returns the home's one writer.
    pub fn init(home: Home, name: &str, place: Option<&str>) -> Result<HouseholdWriter> {
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
        let store = Store::open(&home.store_path())?;
        store.ingest(vec![Record::DeviceCert(cert)], vec![])?;
        // Keys are written last: a home counts as initialised once the device
        // key exists, and by then the store already knows its certificate.
        keys::save(&home.household_key_path(), KeyKind::HouseholdRoot, &root)?;
        keys::save(&home.device_key_path(), KeyKind::Device, &device)?;
        let mut writer = HouseholdWriter::new(
            Household::new(home, store, device, household, RootKeyState::Present),
            RootKey::Clear(root),
        );
        writer.write_new(DocHeader::profile(household), &profile)?;
        Ok(writer)
    }

    /// Opens an existing household home and returns its one writer.
    pub fn open(home: Home) -> Result<HouseholdWriter> {
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
        let state = root.state();
        Ok(HouseholdWriter::new(
            Household::new(home, store, device, household, state),
            root,
        ))
    }

    fn new(home: Home, store: Store, device: SecretKey, household: HouseholdId, root: RootKeyState) -> Household {
        Household {
            home,
            store,
            device,
            household,
            root_state: RwLock::new(root),
            advertised: RwLock::new(Vec::new()),
        }
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

    /// The device key: also the node's libp2p identity.
    pub fn device_key(&self) -> &SecretKey {
        &self.device
    }

    pub(super) fn load(&self, id: &DocId) -> Result<Document> {
        self.store.load(id)?.ok_or(HouseholdError::UnknownId {
            kind: "document",
            text: id.short(),
        })
    }

    pub(super) fn read<T: autosurgeon::Hydrate>(document: &Document) -> Result<T> {
        document.read().map_err(|e| HouseholdError::Document(e.to_string()))
    }

    /// Where this household's node listens, as the swarm last said.
    pub(super) fn advertised(&self) -> Vec<String> {
        self.advertised.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl HouseholdWriter {
    fn new(household: Household, root: RootKey) -> HouseholdWriter {
        HouseholdWriter {
            shared: Arc::new(household),
            root,
            actor: ActorId::random(),
        }
    }

    /// The shared half, for readers on other threads.
    pub fn shared(&self) -> Arc<Household> {
        Arc::clone(&self.shared)
    }

    pub(super) fn writer(&self) -> Writer<'_> {
        Writer {
            device: &self.device,
            actor: self.actor.clone(),
            now_ms: now_ms(),
        }
    }

    /// Hands changes to the store and turns a refusal into an error.
    pub(super) fn commit(&mut self, header: DocHeader, changes: Vec<SignedChange>) -> Result<ApplyReport> {
        let report = self.store.ingest(vec![], vec![(header, changes)])?;
        if let Some((_, rejected)) = report.rejected.first() {
            return Err(HouseholdError::Refused(rejected.to_string()));
        }
        Ok(report)
    }

    pub(super) fn write_new<T: autosurgeon::Reconcile>(&mut self, header: DocHeader, body: &T) -> Result<DocId> {
        let mut document = Document::new(header.clone());
        let change = document
            .write(body, &self.writer())
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        self.commit(header, change.into_iter().collect())?;
        Ok(document.id())
    }

    pub(super) fn write_existing<T: autosurgeon::Reconcile>(&mut self, mut document: Document, body: &T) -> Result<()> {
        let header = document.header().clone();
        let change = document
            .write(body, &self.writer())
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        if let Some(change) = change {
            self.commit(header, vec![change])?;
        }
        Ok(())
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

    fn household(dir: &Path, name: &str) -> HouseholdWriter {
        Household::init(Home::at(dir.join(name)), name, None).unwrap()
    }

    /// Hands everything `from` holds to `to` through a real signed bundle.
    fn carry(from: &Household, to: &mut HouseholdWriter, bundle: &Path) {
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
