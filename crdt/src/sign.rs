//! Keys and signed statements.
//!
//! Every signature in maillage is made over a domain-separated digest
//! (`tagged_hash(domain, [encoded body])`), so a signature made for one kind of
//! statement can never be replayed as another. Verification always uses
//! `verify_strict`, which refuses the malleable and small-order encodings that
//! plain `verify` lets through.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::ids::{DeviceId, HouseholdId, tagged_hash};

/// Why a signature or key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("the signature does not match the signed content")]
    Invalid,
    #[error("the signing key is not a valid ed25519 public key")]
    BadKey,
    #[error("the signed content cannot be encoded")]
    Encoding,
}

/// A secret ed25519 key. The secret bytes are wiped from memory on drop
/// (ed25519-dalek's `zeroize` feature) and never printed.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// Builds a key from 32 secret bytes (the caller brings the randomness:
    /// this crate has no RNG of its own).
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(bytes))
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    pub fn household_id(&self) -> HouseholdId {
        HouseholdId(self.public())
    }

    pub fn device_id(&self) -> DeviceId {
        DeviceId(self.public())
    }

    /// Signs a 32-byte digest that already carries its domain tag.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Sig {
        Sig(self.0.sign(digest).to_bytes())
    }

    /// Signs `body` as a statement of kind `T::DOMAIN`.
    pub fn sign<T: Statement>(&self, body: T) -> Result<Signed<T>, SignatureError> {
        let digest = statement_digest(&body)?;
        Ok(Signed {
            signature: self.sign_digest(&digest),
            signer: self.public(),
            body,
        })
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public {})", HouseholdId(self.public()).short())
    }
}

/// A detached ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sig(#[serde(with = "serde_bytes")] pub [u8; 64]);

impl fmt::Debug for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sig(..)")
    }
}

/// Checks `signature` over `digest` with `public`, strictly.
pub fn verify_digest(public: &[u8; 32], digest: &[u8; 32], signature: &Sig) -> Result<(), SignatureError> {
    let key = VerifyingKey::from_bytes(public).map_err(|_| SignatureError::BadKey)?;
    let signature = Signature::from_bytes(&signature.0);
    key.verify_strict(digest, &signature)
        .map_err(|_| SignatureError::Invalid)
}

/// A kind of signed statement, with the domain its signatures are made in.
pub trait Statement: Serialize + DeserializeOwned + Clone {
    /// Unique per statement kind and version, e.g. `"maillage/device-cert/1"`.
    const DOMAIN: &'static str;
}

fn statement_digest<T: Statement>(body: &T) -> Result<[u8; 32], SignatureError> {
    let encoded = postcard::to_stdvec(body).map_err(|_| SignatureError::Encoding)?;
    Ok(tagged_hash(T::DOMAIN, &[&encoded]))
}

/// A statement together with who signed it and the signature.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed<T> {
    pub body: T,
    /// The public key that signed: a household root key or a device key,
    /// depending on the statement kind.
    #[serde(with = "serde_bytes")]
    pub signer: [u8; 32],
    pub signature: Sig,
}

impl<T: Statement> Signed<T> {
    /// Checks the signature only; who may sign what is the caller's rule.
    pub fn verify(&self) -> Result<(), SignatureError> {
        verify_digest(&self.signer, &statement_digest(&self.body)?, &self.signature)
    }

    pub fn signer_device(&self) -> DeviceId {
        DeviceId(self.signer)
    }
}

impl<T: fmt::Debug> fmt::Debug for Signed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("body", &self.body)
            .field("signer", &DeviceId(self.signer).short())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, Serialize, Deserialize)]
    struct Hello(String);
    impl Statement for Hello {
        const DOMAIN: &'static str = "maillage/test-hello/1";
    }
    #[derive(Clone, Debug, Serialize, Deserialize)]
    struct Other(String);
    impl Statement for Other {
        const DOMAIN: &'static str = "maillage/test-other/1";
    }

    #[test]
    fn signed_statements_verify_and_detect_tampering() {
        let key = SecretKey::from_bytes(&[7; 32]);
        let mut signed = key.sign(Hello("bonjour".into())).unwrap();
        signed.verify().unwrap();
        signed.body.0.push('!');
        assert_eq!(signed.verify(), Err(SignatureError::Invalid));
    }

    #[test]
    fn a_signature_cannot_be_moved_to_another_statement_kind() {
        let key = SecretKey::from_bytes(&[7; 32]);
        let hello = key.sign(Hello("x".into())).unwrap();
        let moved = Signed {
            body: Other("x".into()),
            signer: hello.signer,
            signature: hello.signature,
        };
        assert_eq!(moved.verify(), Err(SignatureError::Invalid));
    }

    #[test]
    fn another_key_cannot_claim_a_signature() {
        let key = SecretKey::from_bytes(&[7; 32]);
        let other = SecretKey::from_bytes(&[8; 32]);
        let mut signed = key.sign(Hello("x".into())).unwrap();
        signed.signer = other.public();
        assert_eq!(signed.verify(), Err(SignatureError::Invalid));
    }
}
