//! What the node's two request-response protocols carry: defined in
//! `maillage_protocol::records` (only that crate defines bytes that leave a
//! node), named here for the codec and the rest of the node.

pub use maillage_protocol::records::{
    MAX_RECORDS_BYTES, MAX_SYNC_BYTES, PROTOCOL as RECORDS_PROTOCOL, RecordsRequest, RecordsResponse, Refusal,
    SYNC_PROTOCOL, SyncRequest, SyncResponse,
};
/// Why a sync frame is not answered; defined with the sync protocol.
pub use maillage_protocol::sync::Refusal as SyncRefusal;

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
