//! Signed changes, and the rule that decides whether one may be applied.
//!
//! Every automerge change a device makes is carried in a [`SignedChange`]:
//! the raw change bytes, the document they are for, the device that made
//! them, and that device's signature over `(document id, change hash)`. The
//! signature covers the document id, so a change cannot be re-targeted to
//! another document; it covers the change hash, which itself covers the
//! change's dependencies.
//!
//! [`verify_change`] is the single gate every change passes before it is
//! stored or applied, wherever it came from (the local CLI, a bundle, a peer).

use std::collections::HashMap;

use automerge::Change;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::header::{DocHeader, DocKind};
use crate::ids::{DeviceId, DocId, HouseholdId, tagged_hash};
use crate::registry::{DeviceProblem, Registry};
use crate::sign::{SecretKey, Sig};

/// The largest single change accepted from anyone. Items are small text; a
/// change over this size is either a bug or an attack.
pub const MAX_CHANGE_BYTES: usize = 64 * 1024;

/// A change with its author's signature.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedChange {
    pub doc: DocId,
    #[serde(with = "serde_bytes")]
    pub change: Vec<u8>,
    pub signer: DeviceId,
    pub signature: Sig,
}

impl std::fmt::Debug for SignedChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedChange")
            .field("doc", &self.doc)
            .field("bytes", &self.change.len())
            .field("signer", &self.signer)
            .finish()
    }
}

/// The digest a device signs for a change.
pub fn change_digest(doc: &DocId, change_hash: &automerge::ChangeHash) -> [u8; 32] {
    tagged_hash("maillage/change/1", &[&doc.0, &change_hash.0])
}

impl SignedChange {
    /// Signs a change made by `device` to `doc`.
    pub fn sign(doc: DocId, change: &Change, device: &SecretKey) -> Self {
        SignedChange {
            doc,
            change: change.raw_bytes().to_vec(),
            signer: device.device_id(),
            signature: device.sign_digest(&change_digest(&doc, &change.hash())),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ChangeRejected> {
        postcard::from_bytes(bytes).map_err(|_| ChangeRejected::Malformed)
    }
}

/// Why a change was refused. Each variant names what a peer did wrong, so the
/// node can log it against that peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChangeRejected {
    #[error("the change is not a valid automerge change")]
    Malformed,
    #[error("the change is {size} bytes, over the {MAX_CHANGE_BYTES}-byte limit")]
    TooLarge { size: usize },
    #[error("the document header does not match the document id")]
    HeaderMismatch,
    #[error("the document header is inconsistent: {0}")]
    BadHeader(&'static str),
    #[error("the signature does not match the change and document")]
    BadSignature,
    #[error("the signing device is not certified by any known household")]
    UnknownDevice,
    #[error("the signing device was revoked before this change was made")]
    RevokedDevice,
    #[error("the signing household may not write this document")]
    NotAWriter { household: HouseholdId },
    #[error("the signing household is not a member of the document's community")]
    NotAMember { household: HouseholdId },
    #[error("an exchange party may only write its own marks")]
    OutsideOwnMarks { household: HouseholdId },
    #[error("this exchange action was not allowed in the state it was made from")]
    ExchangeOutOfTurn { household: HouseholdId },
    #[error("the change depends on changes this node does not have yet")]
    MissingDependencies,
}

/// A change that passed [`verify_change`], with who made it.
#[derive(Debug)]
pub struct VerifiedChange {
    pub change: Change,
    pub household: HouseholdId,
    pub signed: SignedChange,
}

/// Decides whether `signed` may be applied to the document with `header`,
/// given what the registry knows of devices and memberships.
///
/// Checks, in order: size, well-formedness, header ↔ id, signature (strict),
/// device certificate and revocation at the change's time, write permission
/// for the document kind, community membership, and for exchanges that each
/// party only writes its own marks.
pub fn verify_change(
    signed: &SignedChange,
    header: &DocHeader,
    registry: &Registry,
) -> Result<VerifiedChange, ChangeRejected> {
    Verifier::new(registry, [signed]).verify(signed, &CheckedHeader::new(header))
}

/// [`verify_change`] for many changes: the same checks in the same order
/// with the same outcome, but each signer's public key is decoded once (a
/// fifth of a signature check) however many changes it signed, and each
/// header hashed and checked once per document ([`CheckedHeader`]).
/// Shared between threads: it only reads.
#[derive(Debug)]
pub struct Verifier<'a> {
    registry: &'a Registry,
    /// Decoded public keys of the signers named up front; `None` for bytes
    /// that are no valid key.
    keys: HashMap<DeviceId, Option<VerifyingKey>>,
}

/// A document header with its id and consistency check worked out once.
#[derive(Debug)]
pub struct CheckedHeader<'h> {
    header: &'h DocHeader,
    id: DocId,
    check: Result<(), &'static str>,
}

impl<'h> CheckedHeader<'h> {
    pub fn new(header: &'h DocHeader) -> Self {
        CheckedHeader {
            header,
            id: header.id(),
            check: header.check(),
        }
    }
}

impl<'a> Verifier<'a> {
    /// A verifier for `changes` (others can be verified too, at the cost of
    /// decoding their signer's key each time).
    pub fn new<'c>(registry: &'a Registry, changes: impl IntoIterator<Item = &'c SignedChange>) -> Self {
        let mut keys = HashMap::new();
        for signed in changes {
            keys.entry(signed.signer)
                .or_insert_with(|| VerifyingKey::from_bytes(&signed.signer.0).ok());
        }
        Verifier { registry, keys }
    }

    /// Verifies one change of the document with `header`, exactly as
    /// [`verify_change`] does.
    pub fn verify(&self, signed: &SignedChange, header: &CheckedHeader<'_>) -> Result<VerifiedChange, ChangeRejected> {
        let (id, check, header) = (header.id, header.check, header.header);
        if signed.change.len() > MAX_CHANGE_BYTES {
            return Err(ChangeRejected::TooLarge {
                size: signed.change.len(),
            });
        }
        if id != signed.doc {
            return Err(ChangeRejected::HeaderMismatch);
        }
        check.map_err(ChangeRejected::BadHeader)?;
        let change = parse_canonical_change(&signed.change)?;
        let key = match self.keys.get(&signed.signer) {
            Some(key) => *key,
            None => VerifyingKey::from_bytes(&signed.signer.0).ok(),
        }
        .ok_or(ChangeRejected::BadSignature)?;
        // Strict: refuses small-order keys and R, and non-canonical S, as
        // `sign::verify_digest` does for every other signature.
        key.verify_strict(
            &change_digest(&signed.doc, &change.hash()),
            &Signature::from_bytes(&signed.signature.0),
        )
        .map_err(|_| ChangeRejected::BadSignature)?;
        // automerge change times are whole seconds, registry times milliseconds:
        // take the last millisecond of the change's second, so a change made in
        // the same second as a revocation counts as after it.
        let at_ms = change.timestamp().saturating_mul(1000).saturating_add(999);
        let household = self
            .registry
            .household_of(&signed.signer, at_ms)
            .map_err(|problem| match problem {
                DeviceProblem::NotCertified => ChangeRejected::UnknownDevice,
                DeviceProblem::Revoked { .. } => ChangeRejected::RevokedDevice,
            })?;
        if !header.writers().contains(&household) {
            return Err(ChangeRejected::NotAWriter { household });
        }
        // A profile belongs to no community; its household being known is enough.
        if let Some(community) = header.community {
            let is_member = self
                .registry
                .community(&community)
                .is_some_and(|c| c.may_write_at(&household, at_ms));
            if !is_member {
                return Err(ChangeRejected::NotAMember { household });
            }
        }
        if header.kind == DocKind::Exchange && !only_touches_own_marks(&change, &household) {
            return Err(ChangeRejected::OutsideOwnMarks { household });
        }
        Ok(VerifiedChange {
            change,
            household,
            signed: signed.clone(),
        })
    }
}

/// Parses a change, accepting only the one canonical encoding of it.
///
/// automerge's parser is lenient in two ways that matter here: it does not
/// check the chunk checksum (so bytes 4–7 can be altered and the hash, which
/// is computed from the data, still matches the signature), and it inflates
/// compressed chunks without a size limit (so a change far over
/// [`MAX_CHANGE_BYTES`] could arrive compressed under it). Refusing anything
/// but an uncompressed change chunk whose checksum matches its hash closes both.
fn parse_canonical_change(bytes: &[u8]) -> Result<Change, ChangeRejected> {
    const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
    const CHANGE_CHUNK: u8 = 1;
    if bytes.len() < 9 || bytes[..4] != MAGIC || bytes[8] != CHANGE_CHUNK {
        return Err(ChangeRejected::Malformed);
    }
    let change = Change::from_bytes(bytes.to_vec()).map_err(|_| ChangeRejected::Malformed)?;
    if bytes[4..8] != change.hash().0[..4] || change.raw_bytes() != bytes {
        return Err(ChangeRejected::Malformed);
    }
    Ok(change)
}

/// The key under which a party of an exchange records one of its marks.
/// Exchange documents are flat: every key at the root belongs to one party.
pub fn exchange_mark_key(party: &HouseholdId, mark: &str) -> String {
    format!("{}.{}", party.to_text(), mark)
}

fn only_touches_own_marks(change: &Change, household: &HouseholdId) -> bool {
    let prefix = format!("{}.", household.to_text());
    change.decode().operations.iter().all(|op| {
        matches!(op.obj, automerge::legacy::ObjectId::Root)
            && !op.insert
            && matches!(&op.key, automerge::legacy::Key::Map(key) if key.starts_with(&prefix))
    })
}
