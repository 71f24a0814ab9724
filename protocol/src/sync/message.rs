//! The messages of `/maillage/sync/3` and their frames.
//!
//! A frame is one byte, [`WIRE_VERSION`], then one byte saying how the
//! message is encoded: [`PLAIN`] (postcard) or [`ZSTD`] (postcard, then a
//! zstd frame recording its size). Decoding checks the frame's size first,
//! then the version byte (so a v3 frame is refused by name, not misread),
//! then the inflated size against [`MAX_MESSAGE_BYTES`] before inflating
//! anything, then the structure, then the per-message limits, before any of
//! it reaches the session.
//!
//! Within a message, a [`DocPart`] leaves out what the receiver derives: its
//! document id when its header (whose hash the id is) travels with it, and
//! the document id of each change (the part's).

use maillage_crdt::{CommunityId, DeviceId, DocHeader, DocId, Sig, SignedChange};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{
    Error, MAX_CHANGES_PER_MESSAGE, MAX_FRAME_BYTES, MAX_HEADS, MAX_MESSAGE_BYTES, MAX_RECONCILE_BYTES, WIRE_VERSION,
};

/// Second frame byte: the postcard message follows as is.
pub const PLAIN: u8 = 0;
/// Second frame byte: a zstd frame follows, holding the postcard message.
pub const ZSTD: u8 = 1;

/// Messages shorter than this go out plain: ids and hashes do not compress,
/// and small frames are mostly those.
const COMPRESS_FROM: usize = 1024;
/// zstd's default level: about 3 times smaller for batches of changes, at
/// a few hundred MB/s (level 1 is barely faster here and 8% larger).
const ZSTD_LEVEL: i32 = 3;
/// zstd never needs a window larger than the message it holds; refusing
/// larger windows keeps a peer from making the decoder reserve memory.
const ZSTD_WINDOW_LOG_MAX: u32 = 22;

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
    /// The initiator holds nothing of this community (a new member): the
    /// responder sends every document it has, without reconciling, saving a
    /// round trip and 64 bytes of ids per document.
    pub empty: bool,
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocPart {
    pub doc: DocId,
    /// Sent when the receiver may not hold the document yet.
    pub header: Option<DocHeader>,
    /// The sender's heads; only meaningful with `send_yours` (empty there
    /// means the sender does not hold the document at all).
    pub heads: Vec<Hash>,
    /// The changes the receiver lacks, in dependency order. On the wire they
    /// travel without their document id: it is the part's.
    pub changes: Vec<SignedChange>,
    /// More changes of this document follow in a later message.
    pub continued: bool,
    /// The sender saw heads of the receiver's that it does not know: the
    /// receiver should answer with its changes that are not ancestors of
    /// `heads` (the sender then answers exactly). Carries no changes.
    pub send_yours: bool,
}

/// A [`DocPart`] as it travels: `doc` only when no header gives it, each
/// change without its document id. Encoded through borrowed fields so a
/// large batch is not copied; [`WirePart`] reads the same bytes back.
#[derive(Serialize)]
struct WirePartRef<'a> {
    doc: Option<&'a DocId>,
    header: Option<&'a DocHeader>,
    heads: &'a [Hash],
    changes: WireChangesRef<'a>,
    continued: bool,
    send_yours: bool,
}

struct WireChangesRef<'a>(&'a [SignedChange]);

#[derive(Serialize)]
struct WireChangeRef<'a> {
    #[serde(with = "serde_bytes")]
    change: &'a [u8],
    signer: &'a DeviceId,
    signature: &'a Sig,
}

#[derive(Deserialize)]
struct WirePart {
    doc: Option<DocId>,
    header: Option<DocHeader>,
    heads: Vec<Hash>,
    changes: Vec<WireChange>,
    continued: bool,
    send_yours: bool,
}

#[derive(Deserialize)]
struct WireChange {
    #[serde(with = "serde_bytes")]
    change: Vec<u8>,
    signer: DeviceId,
    signature: Sig,
}

impl Serialize for WireChangesRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|signed| WireChangeRef {
            change: &signed.change,
            signer: &signed.signer,
            signature: &signed.signature,
        }))
    }
}

impl Serialize for DocPart {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The id is left out only when the header names this very document;
        // otherwise both go, and the receiver refuses the mismatch.
        let derivable = self.header.as_ref().is_some_and(|header| header.id() == self.doc);
        WirePartRef {
            doc: (!derivable).then_some(&self.doc),
            header: self.header.as_ref(),
            heads: &self.heads,
            changes: WireChangesRef(&self.changes),
            continued: self.continued,
            send_yours: self.send_yours,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DocPart {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WirePart::deserialize(deserializer)?;
        let doc = match (wire.doc, &wire.header) {
            (Some(doc), _) => doc,
            (None, Some(header)) => header.id(),
            (None, None) => return Err(serde::de::Error::custom("a part names no document")),
        };
        Ok(DocPart {
            doc,
            header: wire.header,
            heads: wire.heads,
            changes: wire
                .changes
                .into_iter()
                .map(|change| SignedChange {
                    doc,
                    change: change.change,
                    signer: change.signer,
                    signature: change.signature,
                })
                .collect(),
            continued: wire.continued,
            send_yours: wire.send_yours,
        })
    }
}

impl Message {
    /// The frame for this message: the version byte, the encoding byte,
    /// then postcard, compressed when that makes it smaller.
    pub fn encode(&self) -> Vec<u8> {
        self.frame().0
    }

    /// The frame, and the size of the message inflated (what
    /// [`MAX_MESSAGE_BYTES`] bounds).
    pub(crate) fn frame(&self) -> (Vec<u8>, usize) {
        // postcard fails only on sequences of unknown length or on failing
        // `Serialize` impls; these types have neither.
        #[allow(clippy::expect_used)]
        let plain = postcard::to_extend(self, vec![WIRE_VERSION, PLAIN]).expect("sync messages always serialize");
        let body = &plain[2..];
        let size = body.len();
        if size < COMPRESS_FROM {
            return (plain, size);
        }
        // Compressing a buffer in memory fails only if zstd cannot allocate
        // its context: the plain frame is as valid, only larger.
        match zstd::bulk::compress(body, ZSTD_LEVEL) {
            Ok(compressed) if compressed.len() < size => {
                let mut frame = Vec::with_capacity(2 + compressed.len());
                frame.extend_from_slice(&[WIRE_VERSION, ZSTD]);
                frame.extend_from_slice(&compressed);
                (frame, size)
            }
            _ => (plain, size),
        }
    }

    /// Reads a frame, refusing it (before decoding) if it is too large, of
    /// another version, or inflates past [`MAX_MESSAGE_BYTES`], and (after)
    /// if it breaks a per-message limit.
    pub fn decode(frame: &[u8]) -> Result<Message, Error> {
        Message::decode_sized(frame).map(|(message, _)| message)
    }

    /// [`Message::decode`], with the size of the message once inflated.
    pub(crate) fn decode_sized(frame: &[u8]) -> Result<(Message, usize), Error> {
        if frame.len() > MAX_FRAME_BYTES {
            return Err(Error::FrameTooLarge { size: frame.len() });
        }
        let (&version, rest) = frame
            .split_first()
            .ok_or_else(|| Error::Malformed("the frame is empty".into()))?;
        if version != WIRE_VERSION {
            return Err(Error::UnsupportedVersion(version));
        }
        let (&encoding, body) = rest
            .split_first()
            .ok_or_else(|| Error::Malformed("the frame has no encoding byte".into()))?;
        let inflated;
        let body = match encoding {
            PLAIN => body,
            ZSTD => {
                inflated = inflate(body)?;
                &inflated[..]
            }
            other => return Err(Error::Malformed(format!("unknown frame encoding {other}"))),
        };
        let (message, rest): (Message, &[u8]) =
            postcard::take_from_bytes(body).map_err(|e| Error::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(Error::Malformed(format!("{} bytes after the message", rest.len())));
        }
        message.check_limits()?;
        Ok((message, body.len()))
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

/// Inflates a zstd body, refusing before any allocation one that says it
/// inflates past [`MAX_MESSAGE_BYTES`], and while inflating one that does
/// without saying so (a decompression bomb gets an error, not our memory).
fn inflate(body: &[u8]) -> Result<Vec<u8>, Error> {
    if let Ok(Some(size)) = zstd::zstd_safe::get_frame_content_size(body)
        && size > MAX_MESSAGE_BYTES as u64
    {
        return Err(Error::MessageTooLarge {
            size: usize::try_from(size).unwrap_or(usize::MAX),
        });
    }
    let mut decompressor = zstd::bulk::Decompressor::new().map_err(|e| Error::Malformed(e.to_string()))?;
    decompressor
        .set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(ZSTD_WINDOW_LOG_MAX))
        .map_err(|e| Error::Malformed(e.to_string()))?;
    decompressor
        .decompress(body, MAX_MESSAGE_BYTES)
        .map_err(|e| Error::Malformed(format!("the compressed message does not inflate: {e}")))
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
