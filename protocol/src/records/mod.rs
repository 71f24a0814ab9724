//! The records protocol (`/maillage/records/2`): what two nodes say after
//! they connect and before any document moves — hello, each shared
//! community's records, and the join and device-link admissions — and the
//! sync protocol's request/response wrappers for the libp2p codec.
//!
//! Records themselves are postcard (`maillage_crdt::Record::encode`); these
//! enums are the envelope, encoded by the node's request-response codec
//! (CBOR). Their serde shapes are the wire format: renaming a variant or a
//! field changes the bytes, and needs a new protocol version.
//!
//! [`machine::Machine`] is the exchange itself, as a state machine without
//! I/O; [`admission`] decides joins from a registry alone.

pub mod admission;
pub mod machine;

use maillage_crdt::Record;
use maillage_crdt::sign::Sig;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// `/maillage/records/2`: identities and memberships, joins and device
/// links (version 2: refusals carry a [`Refusal`]).
pub const PROTOCOL: &str = "/maillage/records/2";
/// The sync protocol's id, carried by [`SyncRequest`] and [`SyncResponse`].
pub const SYNC_PROTOCOL: &str = crate::sync::PROTOCOL;

/// Largest records message: a community's records are a few hundred bytes
/// each, and a village has at most a few hundred households.
pub const MAX_RECORDS_BYTES: u64 = 2 * 1024 * 1024;
/// Largest sync frame, with room for the wrapper.
pub const MAX_SYNC_BYTES: u64 = crate::sync::MAX_FRAME_BYTES as u64 + 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RecordsRequest {
    /// Sent on connecting. `records`: the sender's device records and its
    /// joins, only for the communities it knows the receiver shares (none to
    /// a peer it does not know). `tags`: one [`crate::mesh::hello_tag`] per
    /// community the sender is in, so the receiver can answer with its own
    /// records for those it is in too, and a stranger learns nothing (absent
    /// from older peers).
    Hello {
        records: Vec<ByteBuf>,
        #[serde(default)]
        tags: Vec<ByteBuf>,
    },
    /// Asks for the records of a community both are members of. `digest`
    /// ([`records_digest`]) summarises what the asker already holds, so an
    /// unchanged set costs one small round trip.
    Community { community: [u8; 32], digest: [u8; 32] },
    /// The asker's records of a community, sent when the answer to
    /// `Community` showed the two sets differ: records travel both ways
    /// before any document does.
    Push { community: [u8; 32], records: Vec<ByteBuf> },
    /// A newcomer presents its join record (with its own device records) to
    /// a member's node, online, and waits to be admitted or told why not.
    Join { records: Vec<ByteBuf> },
    /// A new machine asks a household's first device for a certificate.
    /// `proof` is the link key's signature over
    /// [`crate::link::link_proof_digest`]`(household, the asker's device)`,
    /// `consent` the asker's device key's over
    /// `maillage_crdt::registry::device_consent_digest`.
    Link {
        household: [u8; 32],
        proof: Sig,
        consent: Sig,
        label: String,
    },
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
    /// Nothing is given, and this is why.
    Refused {
        reason: Refusal,
    },
    /// The join was stored: the community's records, the newcomer's among them.
    Admitted {
        records: Vec<ByteBuf>,
    },
    /// The device was certified: the household's own records (the new
    /// certificate among them), the records of its communities, and its
    /// profile's signed changes (postcard), so the new device can name its
    /// household before any sync.
    Linked {
        records: Vec<ByteBuf>,
        profile: Vec<ByteBuf>,
    },
}

/// Why a node refuses a records request. A newer peer may know more reasons
/// than this list: the protocol version says which list it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The asker's household is not a member of the community (or the
    /// community is unknown): nothing about it is given.
    #[error("not a member of the community")]
    NotAMember,
    /// The node asked to admit someone is not a member itself.
    #[error("the node asked is not a member of the community")]
    AnswererNotAMember,
    #[error("the invitation has expired")]
    InviteExpired,
    #[error("the invitation has already been used as many times as allowed")]
    InviteUsedUp,
    #[error("the invitation or the join record is forged")]
    InviteForged,
    #[error("the household that made the invitation was removed from the community")]
    InviterRemoved,
    #[error("the household that made the invitation is not a steward of the community")]
    InviterNotSteward,
    #[error("the joining household was removed from the community")]
    Removed,
    #[error("no such device link is waiting (wrong, already used, or made on another device)")]
    LinkUnknown,
    #[error("the device link code has expired")]
    LinkExpired,
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
    /// The responder will not answer this frame, and this is why (since
    /// `/maillage/sync/3`).
    Refused {
        reason: crate::sync::Refusal,
    },
    /// The frame was invalid; the session is over.
    Failed(String),
}

/// Records as they travel: each one's postcard encoding.
pub fn encode_records(records: &[Record]) -> Vec<ByteBuf> {
    records.iter().map(|r| ByteBuf::from(r.encode())).collect()
}

/// Decodes records from a peer; a record that does not decode is dropped
/// (and counted, for the caller to hold against the peer) rather than
/// failing the whole message.
pub fn decode_records(bytes: &[ByteBuf]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut bad = 0;
    for item in bytes {
        match Record::decode(item) {
            Ok(record) => records.push(record),
            Err(_) => bad += 1,
        }
    }
    (records, bad)
}

/// What `RecordsRequest::Community` carries: a hash of the sorted record
/// ids, the same on every node holding the same set.
pub fn records_digest(records: &[Record]) -> [u8; 32] {
    let mut ids: Vec<[u8; 32]> = records.iter().map(|r| r.id().0).collect();
    ids.sort_unstable();
    let flat: Vec<u8> = ids.concat();
    maillage_crdt::ids::tagged_hash("maillage/records-digest/1", &[&flat])
}
