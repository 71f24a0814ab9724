//! Bundles: a household's documents and records in one signed file, for
//! backups and for syncing with a USB stick.
//!
//! Layout: the 16-byte magic `MAILLAGE-BUNDLE\n`, one version byte (1), then
//! the postcard encoding of a [`Signed`] [`Bundle`] made by the exporting
//! device. Importing checks the file signature first, then every record and
//! every change on its own: the bundle signature says who packed it, the
//! change signatures say who wrote what.

use maillage_crdt::sign::Statement;
use maillage_crdt::{DocHeader, Record, SecretKey, Signed, SignedChange};
use serde::{Deserialize, Serialize};

pub const MAGIC: &[u8; 16] = b"MAILLAGE-BUNDLE\n";
pub const VERSION: u8 = 1;
/// Refuse anything larger before parsing: a village's whole data is a few
/// megabytes; this leaves room for years.
pub const MAX_BUNDLE_BYTES: usize = 256 * 1024 * 1024;

/// One document: its header and its signed changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleDoc {
    pub header: DocHeader,
    pub changes: Vec<SignedChange>,
}

/// The content of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub created_at: i64,
    pub records: Vec<Record>,
    pub docs: Vec<BundleDoc>,
}

impl Statement for Bundle {
    const DOMAIN: &'static str = "maillage/bundle/1";
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    #[error("this file is not a maillage bundle")]
    NotABundle,
    #[error("this bundle was written by a newer maillage (format {0}); update maillage to read it")]
    UnsupportedVersion(u8),
    #[error("the bundle is larger than {MAX_BUNDLE_BYTES} bytes")]
    TooLarge,
    #[error("the bundle is damaged: {0}")]
    Damaged(String),
    #[error("the bundle's signature does not match its content: it was altered after export")]
    BadSignature,
}

impl Bundle {
    /// Signs and encodes the bundle with the exporting device's key.
    pub fn seal(self, device: &SecretKey) -> Result<Vec<u8>, BundleError> {
        let signed = device.sign(self).map_err(|e| BundleError::Damaged(e.to_string()))?;
        let mut bytes = Vec::with_capacity(4096);
        bytes.extend_from_slice(MAGIC);
        bytes.push(VERSION);
        let body = postcard::to_stdvec(&signed).map_err(|e| BundleError::Damaged(e.to_string()))?;
        bytes.extend_from_slice(&body);
        Ok(bytes)
    }

    /// Decodes a bundle and checks the exporter's signature over all of it.
    /// Returns the signed bundle so the caller can check who the exporter is.
    pub fn open(bytes: &[u8]) -> Result<Signed<Bundle>, BundleError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge);
        }
        let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or(BundleError::NotABundle)?;
        let (&version, body) = rest.split_first().ok_or(BundleError::NotABundle)?;
        if version != VERSION {
            return Err(BundleError::UnsupportedVersion(version));
        }
        let signed: Signed<Bundle> = postcard::from_bytes(body).map_err(|e| BundleError::Damaged(e.to_string()))?;
        signed.verify().map_err(|_| BundleError::BadSignature)?;
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let device = SecretKey::from_bytes(&[3; 32]);
        Bundle {
            created_at: 42,
            records: vec![],
            docs: vec![],
        }
        .seal(&device)
        .unwrap()
    }

    #[test]
    fn a_sealed_bundle_opens() {
        let opened = Bundle::open(&sample()).unwrap();
        assert_eq!(opened.body.created_at, 42);
    }

    #[test]
    fn every_flipped_byte_is_refused() {
        let bytes = sample();
        for index in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[index] ^= 0x01;
            assert!(Bundle::open(&damaged).is_err(), "flipping byte {index} went unnoticed");
        }
    }

    #[test]
    fn other_files_and_versions_are_named() {
        assert_eq!(Bundle::open(b"hello").unwrap_err(), BundleError::NotABundle);
        let mut future = sample();
        future[MAGIC.len()] = 9;
        assert_eq!(Bundle::open(&future).unwrap_err(), BundleError::UnsupportedVersion(9));
    }
}
