//! Identifiers: 32-byte newtypes, printed as lowercase base32 so a short prefix
//! is easy to read aloud and to type.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The alphabet ids are printed in: lowercase RFC 4648 base32 without padding.
/// Base32 keeps prefixes case-insensitive and free of look-alike punctuation.
fn encoding() -> data_encoding::Encoding {
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("abcdefghijklmnopqrstuvwxyz234567");
    spec.translate.from.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    spec.translate.to.push_str("abcdefghijklmnopqrstuvwxyz");
    #[allow(clippy::expect_used)] // a constant specification, checked by the tests below
    spec.encoding().expect("valid base32 specification")
}

/// Length of the short form shown to people (like git's abbreviated hashes).
pub const SHORT_LEN: usize = 8;

/// Error returned when text is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id: {0:?}")]
pub struct ParseIdError(pub String);

/// Hashes `parts` under a domain tag, so that a digest computed for one purpose
/// can never be mistaken for one computed for another.
pub fn tagged_hash(tag: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update((tag.len() as u32).to_le_bytes());
    hasher.update(tag.as_bytes());
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; 32]);

        /// Text in human-readable formats (JSON), raw bytes in binary ones
        /// (postcard), so ids read well in `--json` and stay compact on disk.
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    serializer.serialize_str(&self.to_text())
                } else {
                    self.0.serialize(serializer)
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                if deserializer.is_human_readable() {
                    let text = String::deserialize(deserializer)?;
                    text.parse().map_err(serde::de::Error::custom)
                } else {
                    <[u8; 32]>::deserialize(deserializer).map($name)
                }
            }
        }

        impl $name {
            /// The full id as text (52 base32 characters).
            pub fn to_text(&self) -> String {
                encoding().encode(&self.0)
            }

            /// The short prefix shown in listings.
            pub fn short(&self) -> String {
                let mut text = self.to_text();
                text.truncate(SHORT_LEN);
                text
            }

            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_text())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let bytes = encoding()
                    .decode(text.trim().as_bytes())
                    .map_err(|_| ParseIdError(text.to_owned()))?;
                let array: [u8; 32] = bytes.try_into().map_err(|_| ParseIdError(text.to_owned()))?;
                Ok(Self(array))
            }
        }
    };
}

id_type!(
    /// A household: the public half of its root key.
    HouseholdId
);
id_type!(
    /// A device of a household: the public half of its device key (also its
    /// libp2p peer identity once the mesh exists).
    DeviceId
);
id_type!(
    /// A community: the hash of its signed genesis record.
    CommunityId
);
id_type!(
    /// A document: the hash of its [`crate::DocHeader`], so the header (owner,
    /// type, community, and for an exchange its terms) can never be changed.
    DocId
);
id_type!(
    /// A membership or identity record: the hash of its signed encoding.
    RecordId
);

/// True when `text` could be the start of an id's text form (used to accept
/// short prefixes like git does).
pub fn is_id_prefix(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 52
        && text
            .chars()
            .all(|c| c.is_ascii_alphabetic() || ('2'..='7').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_in_any_case() {
        let id = DocId(tagged_hash("test", &[b"x"]));
        let text = id.to_text();
        assert_eq!(text.len(), 52);
        assert_eq!(text.parse::<DocId>().unwrap(), id);
        assert_eq!(text.to_uppercase().parse::<DocId>().unwrap(), id);
        assert!(text.starts_with(&id.short()));
        assert!("zz".parse::<DocId>().is_err());
    }

    #[test]
    fn ids_are_text_in_json_and_bytes_in_postcard() {
        let id = DocId([9; 32]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{}\"", id.to_text()));
        assert_eq!(serde_json::from_str::<DocId>(&json).unwrap(), id);
        let bytes = postcard::to_stdvec(&id).unwrap();
        assert_eq!(bytes.len(), 32);
        assert_eq!(postcard::from_bytes::<DocId>(&bytes).unwrap(), id);
    }

    #[test]
    fn tagged_hash_separates_domains_and_part_boundaries() {
        assert_ne!(tagged_hash("a", &[b"x"]), tagged_hash("b", &[b"x"]));
        assert_ne!(tagged_hash("a", &[b"xy", b""]), tagged_hash("a", &[b"x", b"y"]));
    }
}
