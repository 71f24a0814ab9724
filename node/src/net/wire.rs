//! What the node's two request-response protocols carry. Records and sync
//! frames travel as bytes (postcard, defined in `maillage-crdt` and
//! `maillage-protocol`); this file only wraps them for the libp2p codec.

use maillage_crdt::sign::Sig;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// `/maillage/records/2`: identities and memberships, joins and device
/// links (version 2: refusals carry a [`Refusal`]).
pub const RECORDS_PROTOCOL: &str = "/maillage/records/2";
/// The sync protocol id comes from `maillage-protocol`.
pub const SYNC_PROTOCOL: &str = maillage_protocol::sync::PROTOCOL;
/// Why a sync frame is not answered; defined with the sync protocol.
pub use maillage_protocol::sync::Refusal as SyncRefusal;

/// Largest records message: a community's records are a few hundred bytes
/// each, and a village has at most a few hundred households.
pub const MAX_RECORDS_BYTES: u64 = 2 * 1024 * 1024;
/// Largest sync frame, with room for the wrapper.
pub const MAX_SYNC_BYTES: u64 = maillage_protocol::sync::MAX_FRAME_BYTES as u64 + 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RecordsRequest {
    /// Sent on connecting. `records`: the sender's device records and its
    /// joins, only for the communities it knows the receiver shares (none to
    /// a peer it does not know). `tags`: one
    /// `maillage_protocol::mesh::hello_tag` per community the sender is in,
    /// so the receiver can answer with its own records for those it is in
    /// too, and a stranger learns nothing (absent from older peers).
    Hello {
        records: Vec<ByteBuf>,
        #[serde(default)]
        tags: Vec<ByteBuf>,
    },
    /// Asks for the records of a community both are members of. `digest`
    /// summarises what the asker already holds, so an unchanged set costs
    /// one small round trip.
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
    /// `maillage_protocol::link::link_proof_digest(household, the asker's
    /// device)`, `consent` the asker's device key's over
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
        reason: SyncRefusal,
    },
    /// The frame was invalid; the session is over.
    Failed(String),
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use libp2p::StreamProtocol;
    use libp2p::request_response::{Codec, cbor};

    use super::*;

    /// Through the codec the swarm uses, as the bytes a peer would read.
    fn over_the_wire(response: SyncResponse) -> SyncResponse {
        let mut codec = cbor::codec::Codec::<SyncRequest, SyncResponse>::default();
        let protocol = StreamProtocol::new(SYNC_PROTOCOL);
        let mut bytes = Vec::new();
        block_on(codec.write_response(&protocol, &mut bytes, response)).unwrap();
        block_on(codec.read_response(&protocol, &mut bytes.as_slice())).unwrap()
    }

    #[test]
    fn a_sync_refusal_reaches_the_asker_with_its_reason() {
        for reason in [
            SyncRefusal::NotAMember,
            SyncRefusal::NoSession,
            SyncRefusal::CommunityMismatch,
        ] {
            match over_the_wire(SyncResponse::Refused { reason }) {
                SyncResponse::Refused { reason: received } => assert_eq!(received, reason),
                other => panic!("{reason:?} came back as {other:?}"),
            }
        }
    }
}
