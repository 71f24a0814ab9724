//! Invite codes: a steward's invitation as text a villager can copy, dictate
//! or scan.
//!
//! A code is a capability that works with no network: it carries the
//! community's genesis, the certificates needed to check it, the signed
//! invitation, and the secret half of the invitation key. Whoever holds it
//! can write a join record that every member's node accepts, wherever that
//! record travels (a bundle on a USB stick now, the mesh later).
//!
//! Text form: `maillage1-` then lowercase base32 of the postcard encoding
//! followed by a 4-byte checksum, so that a mistyped code is reported as
//! mistyped rather than as forged.

use maillage_crdt::registry::{CommunityGenesis, DeviceCert, Invite};
use maillage_crdt::{CommunityId, Record, RecordId, Signed};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const PREFIX: &str = "maillage1-";
/// Codes longer than this are refused before decoding.
const MAX_CODE_CHARS: usize = 8 * 1024;

/// Everything a newcomer needs to join a community without a network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteCode {
    pub genesis: Signed<CommunityGenesis>,
    /// Certificates of the founder's and the inviter's devices.
    pub certs: Vec<Signed<DeviceCert>>,
    pub invite: Signed<Invite>,
    /// The secret half of `invite.body.invite_key`.
    pub invite_secret: [u8; 32],
    /// Where the inviter's node may be reached (multiaddrs), for the mesh.
    pub addresses: Vec<String>,
    /// The inviter's signed profile changes, so the newcomer can name the
    /// steward (`exchange propose --with "Ferme des Tilleuls"`) before any
    /// sync. Verified like any other change when the newcomer stores them.
    pub inviter_profile: Vec<maillage_crdt::SignedChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InviteCodeError {
    #[error("this is not a maillage invite code (it should start with {PREFIX})")]
    NotACode,
    #[error("the invite code is damaged or mistyped (its checksum does not match)")]
    Checksum,
    #[error("the invite code is too long")]
    TooLong,
    #[error("the invite code cannot be read: {0}")]
    Malformed(String),
    #[error("the invite code is forged: {0}")]
    Forged(String),
}

pub(crate) fn encoding() -> data_encoding::Encoding {
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("abcdefghijklmnopqrstuvwxyz234567");
    spec.translate.from.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    spec.translate.to.push_str("abcdefghijklmnopqrstuvwxyz");
    // Line breaks and spaces may sneak in when a code is copied from a mail.
    spec.ignore.push_str(" \n\r\t");
    #[allow(clippy::expect_used)] // a constant specification, exercised by every test
    spec.encoding().expect("valid base32 specification")
}

pub(crate) fn checksum(bytes: &[u8]) -> [u8; 4] {
    let digest = Sha256::digest(bytes);
    [digest[0], digest[1], digest[2], digest[3]]
}

impl InviteCode {
    pub fn community(&self) -> CommunityId {
        maillage_crdt::registry::community_id(&self.genesis.body)
    }

    pub fn invite_id(&self) -> RecordId {
        Record::Invite(self.invite.clone()).id()
    }

    /// The records this code carries, for the joiner's node to store.
    pub fn records(&self) -> Vec<Record> {
        let mut records = vec![
            Record::Genesis(self.genesis.clone()),
            Record::Invite(self.invite.clone()),
        ];
        records.extend(self.certs.iter().cloned().map(Record::DeviceCert));
        records
    }

    pub fn to_text(&self) -> String {
        let mut bytes = postcard::to_stdvec(self).unwrap_or_default();
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum);
        format!("{PREFIX}{}", encoding().encode(&bytes))
    }

    /// Parses a code and checks every signature it carries, and that the
    /// secret matches the invitation's key. Whether the invitation is still
    /// valid (expiry, uses, inviter still a steward) is the registry's call.
    pub fn parse(text: &str) -> Result<Self, InviteCodeError> {
        let text = text.trim();
        if text.len() > MAX_CODE_CHARS {
            return Err(InviteCodeError::TooLong);
        }
        let body = text
            .get(..PREFIX.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(PREFIX))
            .map(|_| &text[PREFIX.len()..])
            .ok_or(InviteCodeError::NotACode)?;
        let bytes = encoding()
            .decode(body.as_bytes())
            .map_err(|_| InviteCodeError::Checksum)?;
        if bytes.len() < 4 {
            return Err(InviteCodeError::Checksum);
        }
        let (payload, sum) = bytes.split_at(bytes.len() - 4);
        if checksum(payload) != sum {
            return Err(InviteCodeError::Checksum);
        }
        let code: InviteCode = postcard::from_bytes(payload).map_err(|e| InviteCodeError::Malformed(e.to_string()))?;
        for record in code.records() {
            record
                .verify_self()
                .map_err(|e| InviteCodeError::Forged(e.to_string()))?;
        }
        let derived = maillage_crdt::SecretKey::from_bytes(&code.invite_secret).public();
        if derived != code.invite.body.invite_key {
            return Err(InviteCodeError::Forged(
                "the secret does not match the invitation".into(),
            ));
        }
        if code.invite.body.community != code.community() {
            return Err(InviteCodeError::Forged(
                "the invitation is for another community".into(),
            ));
        }
        Ok(code)
    }
}
