//! The messages of `/maillage/sync/1` and their frames.
//!
//! A frame is one byte, [`WIRE_VERSION`], then the postcard encoding of a
//! [`Message`] and nothing after it. Decoding checks the frame's size first,
//! then the version byte (so a v2 frame is refused by name, not misread),
//! then the structure, then the per-message limits, before any of it reaches
//! the session.

use maillage_crdt::{CommunityId, DocHeader, DocId, SignedChange};
use serde::{Deserialize, Serialize};

use super::{Error, MAX_CHANGES_PER_MESSAGE, MAX_FRAME_BYTES, MAX_HEADS, MAX_RECONCILE_BYTES, WIRE_VERSION};

/// A 32-byte hash on the wire: an automerge change hash or a sync item id.
pub type Hash = [u8; 32];

/// One message of the protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// Initiator → responder, first and once.
    Open(Open),
    /// Initiator → responder, after [`Message::Open`], one per response.
    Request(Request),
    /// Responder → initiator, one for the open and for every request.
    Response(Response),
}

/// Starts a session for one community.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Open {
    pub community: CommunityId,
    /// [`super::set_digest`] of the initiator's items: equal digests mean
    /// equal sets, and the session ends at once.
    pub set_digest: Hash,
    /// negentropy's initial message.
    #[serde(with = "serde_bytes")]
    pub reconcile: Vec<u8>,
}

/// The initiator's next message.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// negentropy's next message; `None` once reconciliation is over.
    #[serde(with = "serde_bytes")]
    pub reconcile: Option<Vec<u8>>,
    /// Documents the responder asked for with [`DocPart::send_yours`].
    pub parts: Vec<DocPart>,
    /// The initiator's heads for each document it holds in a state the
    /// responder lacks.
    pub offers: Vec<Offer>,
    /// Item ids of the responder's that the initiator lacks.
    pub wants: Vec<Hash>,
    /// The initiator has more offers, wants or parts queued for later
    /// requests: the responder must not end the session yet.
    pub more: bool,
}

/// The responder's answer to an [`Open`] or a [`Request`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// negentropy's reply; `None` when it has nothing more to say.
    #[serde(with = "serde_bytes")]
    pub reconcile: Option<Vec<u8>>,
    pub parts: Vec<DocPart>,
    /// Both sides have nothing left: the initiator must not send again.
    pub done: bool,
}

/// A document the initiator holds in a state the responder lacks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub doc: DocId,
    pub heads: Vec<Hash>,
}

/// Changes of one document, or a request for the receiver's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocPart {
    pub doc: DocId,
    /// Sent when the receiver may not hold the document yet.
    pub header: Option<DocHeader>,
    /// The sender's heads; only meaningful with `send_yours` (empty there
    /// means the sender does not hold the document at all).
    pub heads: Vec<Hash>,
    /// The changes the receiver lacks, in dependency order.
    pub changes: Vec<SignedChange>,
    /// More changes of this document follow in a later message.
    pub continued: bool,
    /// The sender saw heads of the receiver's that it does not know: the
    /// receiver should answer with its changes that are not ancestors of
    /// `heads` (the sender then answers exactly). Carries no changes.
    pub send_yours: bool,
}

impl Message {
    /// The frame for this message: the version byte then postcard.
    pub fn encode(&self) -> Vec<u8> {
        // postcard fails only on sequences of unknown length or on failing
        // `Serialize` impls; these types have neither.
        #[allow(clippy::expect_used)]
        postcard::to_extend(self, vec![WIRE_VERSION]).expect("sync messages always serialize")
    }

    /// Reads a frame, refusing it (before decoding) if it is too large or of
    /// another version, and (after) if it breaks a per-message limit.
    pub fn decode(frame: &[u8]) -> Result<Message, Error> {
        if frame.len() > MAX_FRAME_BYTES {
            return Err(Error::FrameTooLarge { size: frame.len() });
        }
        let (&version, body) = frame
            .split_first()
            .ok_or_else(|| Error::Malformed("the frame is empty".into()))?;
        if version != WIRE_VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let (message, rest): (Message, &[u8]) =
            postcard::take_from_bytes(body).map_err(|e| Error::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(Error::Malformed(format!("{} bytes after the message", rest.len())));
        }
        message.check_limits()?;
        Ok(message)
    }

    /// The message's name, for errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Open(_) => "open",
            Message::Request(_) => "request",
            Message::Response(_) => "response",
        }
    }

    fn check_limits(&self) -> Result<(), Error> {
        let (reconcile, parts, offers) = match self {
            Message::Open(open) => (Some(&open.reconcile), &[][..], &[][..]),
            Message::Request(request) => (request.reconcile.as_ref(), &request.parts[..], &request.offers[..]),
            Message::Response(response) => (response.reconcile.as_ref(), &response.parts[..], &[][..]),
        };
        if let Some(payload) = reconcile
            && payload.len() > MAX_RECONCILE_BYTES
        {
            return Err(Error::Malformed(format!(
                "a reconciliation payload of {} bytes, over the {MAX_RECONCILE_BYTES}-byte limit",
                payload.len()
            )));
        }
        for offer in offers {
            check_heads(offer.heads.len())?;
        }
        let mut changes = 0usize;
        for part in parts {
            check_heads(part.heads.len())?;
            changes += part.changes.len();
            if part.send_yours && !part.changes.is_empty() {
                return Err(Error::Malformed("a request for changes carries changes".into()));
            }
            if part.changes.iter().any(|change| change.doc != part.doc) {
                return Err(Error::Malformed("a change is filed under another document".into()));
            }
            if let Some(header) = &part.header
                && header.id() != part.doc
            {
                return Err(Error::Malformed("a header does not match its document id".into()));
            }
        }
        if changes > MAX_CHANGES_PER_MESSAGE {
            return Err(Error::TooManyChanges { count: changes });
        }
        Ok(())
    }
}

fn check_heads(count: usize) -> Result<(), Error> {
    if count > MAX_HEADS {
        return Err(Error::TooManyHeads { count });
    }
    Ok(())
}

/// The community a session's first frame is for, so the node can check the
/// peer's membership before creating the responding [`super::Session`].
pub fn opening_community(frame: &[u8]) -> Result<CommunityId, Error> {
    match Message::decode(frame)? {
        Message::Open(open) => Ok(open.community),
        other => Err(Error::OutOfOrder {
            expected: "open",
            got: other.kind(),
        }),
    }
}
