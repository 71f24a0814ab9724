//! What the mesh says in the open, before a peer is known as a member: gossip
//! topic names, gossip announcements, and the tags with which two nodes find
//! the communities they share without naming them.
//!
//! None of it lets a stranger (a peer that knows no community id) link what
//! it sees to a community, a household or a time: topic names and tags are
//! hashes of the community id, and an announcement says only "changed", with
//! a random nonce (no clock, no counter).

use maillage_crdt::ids::tagged_hash;
use maillage_crdt::sign::{Sig, SignatureError, verify_digest};
use maillage_crdt::{CommunityId, DeviceId, SecretKey};
use serde::{Deserialize, Serialize};

/// First byte of every announcement: the version of its encoding.
pub const ANNOUNCE_VERSION: u8 = 1;
/// Announcements are a few dozen bytes; anything bigger is not one.
pub const MAX_ANNOUNCE_BYTES: usize = 256;

/// The gossip topic of `community`: a hash, so that the name a node
/// subscribes to (which gossipsub tells every connected peer) does not say
/// which community it is to anyone who does not already know its id.
pub fn topic_name(community: &CommunityId) -> String {
    let hash = tagged_hash("maillage/topic/1", &[&community.0]);
    let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("maillage/{hex}")
}

/// The tag a node sends `to` in its hello for a community it is in: only a
/// node that knows the community's id can compute it, and it is bound to the
/// two peers (whose keys the connection's Noise handshake authenticated), so
/// a tag seen once tells nothing about another pair and cannot be replayed.
pub fn hello_tag(community: &CommunityId, from: &[u8], to: &[u8]) -> [u8; 32] {
    tagged_hash("maillage/hello-tag/1", &[&community.0, from, to])
}

/// "Something changed in this community": signed by a member's device, so a
/// node can tell a member's announcement from a stranger's before it
/// forwards or acts on it. The nonce keeps each one's gossip id unique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub device: DeviceId,
    pub nonce: [u8; 16],
    pub sig: Sig,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnnounceError {
    #[error("the announcement cannot be decoded")]
    Malformed,
    #[error("the announcement is of an unknown version {0}")]
    Version(u8),
    #[error("the announcement's signature is invalid: {0}")]
    Signature(#[from] SignatureError),
}

fn announce_digest(topic: &str, device: &DeviceId, nonce: &[u8; 16]) -> [u8; 32] {
    tagged_hash("maillage/announce/1", &[topic.as_bytes(), &device.0, nonce])
}

impl Announcement {
    /// An announcement on `topic` by `device_key`; `nonce` is fresh random bytes.
    pub fn new(device_key: &SecretKey, topic: &str, nonce: [u8; 16]) -> Announcement {
        let device = device_key.device_id();
        let sig = device_key.sign_digest(&announce_digest(topic, &device, &nonce));
        Announcement { device, nonce, sig }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = vec![ANNOUNCE_VERSION];
        bytes.extend(postcard::to_stdvec(self).unwrap_or_default());
        bytes
    }

    /// Decodes an announcement received on `topic` and checks its signature
    /// (bound to the topic, so it cannot be moved to another community's).
    pub fn decode_verified(bytes: &[u8], topic: &str) -> Result<Announcement, AnnounceError> {
        if bytes.len() > MAX_ANNOUNCE_BYTES {
            return Err(AnnounceError::Malformed);
        }
        let (&version, rest) = bytes.split_first().ok_or(AnnounceError::Malformed)?;
        if version != ANNOUNCE_VERSION {
            return Err(AnnounceError::Version(version));
        }
        let announcement: Announcement = postcard::from_bytes(rest).map_err(|_| AnnounceError::Malformed)?;
        verify_digest(
            &announcement.device.0,
            &announce_digest(topic, &announcement.device, &announcement.nonce),
            &announcement.sig,
        )?;
        Ok(announcement)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announcement_checks_only_on_its_own_topic_and_unaltered() {
        let key = SecretKey::from_bytes(&[7; 32]);
        let topic = topic_name(&CommunityId([1; 32]));
        let other = topic_name(&CommunityId([2; 32]));
        let bytes = Announcement::new(&key, &topic, [3; 16]).encode();
        let decoded = Announcement::decode_verified(&bytes, &topic).unwrap();
        assert_eq!(decoded.device, key.device_id());
        assert!(Announcement::decode_verified(&bytes, &other).is_err());
        let mut altered = bytes.clone();
        let last = altered.len() - 1;
        altered[last] ^= 1;
        assert!(Announcement::decode_verified(&altered, &topic).is_err());
        assert!(Announcement::decode_verified(&[], &topic).is_err());
        assert!(Announcement::decode_verified(&[9, 0, 0], &topic).is_err());
    }

    #[test]
    fn topics_and_tags_do_not_show_the_community_id() {
        let community = CommunityId([5; 32]);
        let name = topic_name(&community);
        assert!(!name.contains(&community.to_text()));
        assert_ne!(hello_tag(&community, b"a", b"b"), hello_tag(&community, b"b", b"a"));
    }
}
