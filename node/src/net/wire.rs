//! What the node's two request-response protocols carry. Records and sync
//! frames travel as bytes (postcard, defined in `maillage-crdt` and
//! `maillage-protocol`); this file only wraps them for the libp2p codec.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// `/maillage/records/1`: identities and memberships.
pub const RECORDS_PROTOCOL: &str = "/maillage/records/1";
/// The sync protocol id comes from `maillage-protocol`.
pub const SYNC_PROTOCOL: &str = maillage_protocol::sync::PROTOCOL;

/// Largest records message: a community's records are a few hundred bytes
/// each, and a village has at most a few hundred households.
pub const MAX_RECORDS_BYTES: u64 = 2 * 1024 * 1024;
/// Largest sync frame, with room for the wrapper.
pub const MAX_SYNC_BYTES: u64 = maillage_protocol::sync::MAX_FRAME_BYTES as u64 + 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RecordsRequest {
    /// Sent on connecting: the sender's own device records and join records.
    Hello { records: Vec<ByteBuf> },
    /// Asks for the records of a community both are members of. `digest`
    /// summarises what the asker already holds, so an unchanged set costs
    /// one small round trip.
    Community { community: [u8; 32], digest: [u8; 32] },
    /// The asker's records of a community, sent when the answer to
    /// `Community` showed the two sets differ: records travel both ways
    /// before any document does.
    Push { community: [u8; 32], records: Vec<ByteBuf> },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RecordsResponse {
    Hello {
        records: Vec<ByteBuf>,
    },
    /// The answerer's records; the sets differed, so the asker pushes its own.
    Community {
        records: Vec<ByteBuf>,
    },
    Unchanged,
    /// A push was stored.
    Stored,
    /// Not a member (or unknown): nothing about the community is given.
    Refused,
}

/// One sync frame, for the session of `community`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncRequest {
    pub community: [u8; 32],
    pub frame: ByteBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum SyncResponse {
    Frame(ByteBuf),
    /// The responder will not sync this community with this peer.
    Refused,
    /// The frame was invalid; the session is over.
    Failed(String),
}
