//! What goes between maillage nodes, as bytes: invite codes, signed bundles
//! and the sync protocol ([`sync`]). Sans I/O: every function here takes
//! bytes or text and returns values or errors, so all of it can be fuzzed.
//! The records protocol ([`records`]) is a state machine in the same spirit:
//! inputs and the time in, effects out, so a swarm task and a simulation
//! drive the same code.
//!
//! Only this crate defines wire formats. Each carries a version (`maillage1`
//! prefix for codes, a version byte after the bundle magic, a version byte
//! opening every sync frame) so that a newer
//! node can refuse an older format with a clear message instead of
//! misreading it.

pub mod bundle;
pub mod invite;
pub mod link;
pub mod mesh;
pub mod records;
pub mod sync;

pub use bundle::{Bundle, BundleDoc, BundleError};
pub use invite::{InviteCode, InviteCodeError};
pub use link::{LinkCode, LinkCodeError};
pub use sync::{DocSource, Session, Step, SyncStats};
