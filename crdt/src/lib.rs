//! The domain of maillage, with no I/O: documents, identities, signatures,
//! authorship rules, the ledger and the indicators.
//!
//! This crate depends on neither tokio, libp2p nor redb, has no clock and no
//! random number generator of its own (callers pass times and random bytes
//! in), so every rule here can be tested deterministically and used the same
//! way by the store, the mesh and the web page.
//!
//! The security model in one paragraph: a household is its root key
//! ([`HouseholdId`]); it certifies device keys ([`DeviceCert`]); every change to
//! a document is a [`SignedChange`] made by a device; [`verify_change`] decides
//! whether that device's household may write that document (the owner, the
//! two parties of an exchange) and belongs to its community ([`Registry`]).
//!
//! ```
//! use maillage_crdt::{SecretKey, DeviceCert, Record, Registry};
//! let root = SecretKey::from_bytes(&[1; 32]);
//! let device = SecretKey::from_bytes(&[2; 32]);
//! let cert = DeviceCert::issue(&root, &device, "cuisine", 0).unwrap();
//! let record = Record::DeviceCert(cert);
//! record.verify_self().unwrap();
//! let registry = Registry::from_records([record]);
//! assert_eq!(registry.household_of(&device.device_id(), 0), Ok(root.household_id()));
//! ```

pub mod change;
pub mod document;
pub mod exchange;
pub mod header;
pub mod ics;
pub mod ids;
pub mod indicators;
pub mod items;
pub mod ledger;
pub mod money;
pub mod registry;
pub mod sign;
pub mod time;

pub use change::{ChangeRejected, MAX_CHANGE_BYTES, SignedChange, VerifiedChange, verify_change};
pub use document::{DocError, Document, Writer};
pub use header::{DocHeader, DocKind, ExchangeTerms};
pub use ids::{CommunityId, DeviceId, DocId, HouseholdId, RecordId};
pub use money::Amount;
pub use registry::{
    Community, CommunityGenesis, DeviceCert, DeviceRevocation, Invite, Join, Record, RecordError, Registry, Removal,
};
pub use sign::{SecretKey, Sig, Signed};
