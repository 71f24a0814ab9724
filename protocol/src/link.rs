//! Device link codes: how a household's first device lets a new machine of
//! the same household in.
//!
//! `maillage device link` makes a one-time link key, keeps its public half
//! (with an expiry) in the store and prints a code carrying the household
//! id, the secret half, the expiry and where the first device's node
//! listens. `maillage device add CODE` on the new machine dials those
//! addresses and proves it holds the secret by signing
//! [`link_proof_digest`] for its own device key, which the connection's
//! Noise handshake already authenticates: a proof overheard (it cannot be)
//! or replayed would be for another device and worth nothing.
//!
//! Unlike an invite code, a link code is no capability on its own: only the
//! first device, online, turns it into a device certificate signed by the
//! household's root key.
//!
//! Text form: `maillage-lien1-` then lowercase base32 of the postcard
//! encoding followed by a 4-byte checksum, as for invite codes.

use maillage_crdt::HouseholdId;
use maillage_crdt::ids::tagged_hash;
use serde::{Deserialize, Serialize};

use crate::invite::{checksum, encoding};

const PREFIX: &str = "maillage-lien1-";
/// Codes longer than this are refused before decoding.
const MAX_CODE_CHARS: usize = 4 * 1024;
/// At most this many addresses are read from a code.
const MAX_ADDRESSES: usize = 16;

/// What a new machine needs to become a device of a household.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCode {
    pub household: HouseholdId,
    /// The secret half of the one-time link key.
    pub link_secret: [u8; 32],
    /// Unix ms after which the first device refuses the code.
    pub expires_at: i64,
    /// Where the first device's node listens (multiaddrs ending in `/p2p/…`).
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkCodeError {
    #[error("this is not a maillage device link code (it should start with {PREFIX})")]
    NotACode,
    #[error("the link code is damaged or mistyped (its checksum does not match)")]
    Checksum,
    #[error("the link code is too long")]
    TooLong,
    #[error("the link code cannot be read: {0}")]
    Malformed(String),
}

/// What the link key signs to let `device` into `household`.
pub fn link_proof_digest(household: &HouseholdId, device: &[u8; 32]) -> [u8; 32] {
    tagged_hash("maillage/device-link/1", &[&household.0, device])
}

impl LinkCode {
    pub fn to_text(&self) -> String {
        let mut bytes = postcard::to_stdvec(self).unwrap_or_default();
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum);
        format!("{PREFIX}{}", encoding().encode(&bytes))
    }

    /// Parses a code. Whether it is still valid (expiry, not used yet) is
    /// the first device's call.
    pub fn parse(text: &str) -> Result<Self, LinkCodeError> {
        let text = text.trim();
        if text.len() > MAX_CODE_CHARS {
            return Err(LinkCodeError::TooLong);
        }
        let body = text
            .get(..PREFIX.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(PREFIX))
            .map(|_| &text[PREFIX.len()..])
            .ok_or(LinkCodeError::NotACode)?;
        let bytes = encoding()
            .decode(body.as_bytes())
            .map_err(|_| LinkCodeError::Checksum)?;
        if bytes.len() < 4 {
            return Err(LinkCodeError::Checksum);
        }
        let (payload, sum) = bytes.split_at(bytes.len() - 4);
        if checksum(payload) != sum {
            return Err(LinkCodeError::Checksum);
        }
        let mut code: LinkCode = postcard::from_bytes(payload).map_err(|e| LinkCodeError::Malformed(e.to_string()))?;
        code.addresses.truncate(MAX_ADDRESSES);
        Ok(code)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn code() -> LinkCode {
        LinkCode {
            household: HouseholdId([7; 32]),
            link_secret: [9; 32],
            expires_at: 1_700_000_000_000,
            addresses: vec![
                "/ip4/192.168.1.10/tcp/4001/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN".into(),
            ],
        }
    }

    #[test]
    fn a_code_reads_back_whatever_the_case_and_spacing() {
        let text = code().to_text();
        assert_eq!(LinkCode::parse(&text).unwrap(), code());
        assert_eq!(LinkCode::parse(&format!(" {}\n", text.to_uppercase())).unwrap(), code());
    }

    #[test]
    fn a_mistyped_code_is_called_mistyped_and_an_invite_is_not_a_link() {
        let mut text = code().to_text();
        let last = text.pop().unwrap();
        text.push(if last == 'a' { 'b' } else { 'a' });
        assert_eq!(LinkCode::parse(&text), Err(LinkCodeError::Checksum));
        assert_eq!(LinkCode::parse("maillage1-abcdef"), Err(LinkCodeError::NotACode));
    }

    #[test]
    fn the_proof_is_bound_to_the_device() {
        let household = HouseholdId([1; 32]);
        assert_ne!(
            link_proof_digest(&household, &[2; 32]),
            link_proof_digest(&household, &[3; 32])
        );
    }
}
