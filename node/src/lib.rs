//! A maillage household node: its keys on disk, its redb store, and the
//! operations the command line, the web page and the mesh call.
//!
//! This is the only crate that does I/O. The rules it applies all come from
//! `maillage-crdt`; the bytes it exchanges are defined by `maillage-protocol`.

pub mod api;
pub mod config;
pub mod context;
pub mod home;
pub mod household;
pub mod i18n;
pub mod keys;
pub mod messages;
pub mod net;
pub mod runtime;
pub mod service;
pub mod source;
pub mod store;
pub mod summary;
pub mod web;

pub use home::Home;
pub use household::{Household, HouseholdError, HouseholdWriter};
pub use service::HouseholdService;
pub use store::{Query, Store, StoreError};
pub use summary::Summary;
