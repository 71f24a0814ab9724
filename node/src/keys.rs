//! Key files.
//!
//! A key file is a small JSON document holding the secret key and the public
//! key derived from it. Loading checks three things and says which failed:
//! the file is readable by its owner only (like ssh, a key others can read is
//! refused), it parses, and the secret still yields the recorded public key
//! (so a damaged file is caught before it signs anything).
//!
//! Two formats:
//!
//! - `maillage-key/1`: the secret in hexadecimal, in the clear (the device
//!   key always: an unattended node signs with it).
//! - `maillage-key/2`: the secret sealed with a passphrase (`maillage key
//!   protect`, for the household root key). Argon2id stretches the
//!   passphrase into 64 bytes: the first 32 are the XChaCha20-Poly1305 key,
//!   the last 32 are kept as a check value, so that a wrong passphrase and a
//!   damaged file are told apart (both would otherwise only fail the
//!   authentication tag). The kind and the public key are the AEAD's
//!   associated data: a sealed secret cannot be passed off as another key.
//!   The public key stays in the clear, so the household is known without
//!   the passphrase.

use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use maillage_crdt::SecretKey;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::home::write_private_file;

const FORMAT_CLEAR: &str = "maillage-key/1";
const FORMAT_SEALED: &str = "maillage-key/2";
const KDF_ARGON2ID: &str = "argon2id";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const CHECK_LEN: usize = 32;
/// The secret (32 bytes) and the Poly1305 tag (16 bytes).
const CIPHERTEXT_LEN: usize = 48;
/// Bounds on the KDF parameters a file may ask for: a damaged or crafted
/// file must not make loading take gigabytes or hours.
const MAX_M_COST_KIB: u32 = 1 << 20;
const MAX_T_COST: u32 = 64;
const MAX_P_COST: u32 = 16;

/// Which key a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyKind {
    HouseholdRoot,
    Device,
}

impl KeyKind {
    fn label(self) -> &'static str {
        match self {
            KeyKind::HouseholdRoot => "household-root",
            KeyKind::Device => "device",
        }
    }
}

/// A passphrase, wiped from memory when dropped and never printed.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Passphrase(String);

impl Passphrase {
    pub fn new(text: String) -> Passphrase {
        Passphrase(text)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl PartialEq for Passphrase {
    fn eq(&self, other: &Passphrase) -> bool {
        self.0 == other.0
    }
}

impl Eq for Passphrase {}

impl Drop for Passphrase {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(…)")
    }
}

/// How hard Argon2id works to turn a passphrase into a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfCost {
    /// Memory, in KiB.
    pub m_cost: u32,
    /// Passes over the memory.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfCost {
    /// What the product uses: 64 MiB and 3 passes, one lane (above OWASP's
    /// minimum for Argon2id, 19 MiB and t=2). Measured at 0.11 s per
    /// derivation on a 2-core x86-64 build machine (`product_cost` below);
    /// a Raspberry Pi 4 is several times slower at Argon2, which still
    /// leaves it well under 2 s, paid only when the root key is needed.
    pub const PRODUCT: KdfCost = KdfCost {
        m_cost: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    format: String,
    kind: KeyKind,
    public: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<SealedSecret>,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        if let Some(secret) = &mut self.secret {
            secret.zeroize();
        }
    }
}

/// The `sealed` part of a `maillage-key/2` file (binary fields in hex).
#[derive(Serialize, Deserialize)]
struct SealedSecret {
    kdf: String,
    m_cost: u32,
    t_cost: u32,
    p_cost: u32,
    salt: String,
    nonce: String,
    check: String,
    ciphertext: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("key file {0} not found")]
    Missing(PathBuf),
    #[error("key file {path} can be read by other users; run `chmod 600 {path}` and try again")]
    TooOpen { path: PathBuf },
    #[error("key file {path} is damaged ({reason}); restore it from a backup")]
    Damaged { path: PathBuf, reason: String },
    #[error("cannot read or write key file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The file is sealed and no passphrase was given: nothing was decrypted.
    #[error("key file {0} is protected by a passphrase")]
    Sealed(PathBuf),
    /// The passphrase does not open the sealed file (the file was checked
    /// intact as far as that can be known without the right passphrase).
    #[error("wrong passphrase for key file {0}")]
    WrongPassphrase(PathBuf),
}

/// Writes a new key file (mode 0600), the secret in the clear.
pub fn save(path: &Path, kind: KeyKind, key: &SecretKey) -> Result<(), KeyError> {
    let secret = Zeroizing::new(key.to_bytes());
    let file = KeyFile {
        format: FORMAT_CLEAR.into(),
        kind,
        public: maillage_crdt::HouseholdId(key.public()).to_text(),
        secret: Some(hex(&secret[..])),
        sealed: None,
    };
    write_key_file(path, &file)
}

/// Writes a key file (mode 0600) whose secret is sealed with `passphrase`,
/// replacing any file at `path` in one step (a crash leaves the old file or
/// the new one). `cost` is [`KdfCost::PRODUCT`] everywhere but in tests.
pub fn save_sealed(
    path: &Path,
    kind: KeyKind,
    key: &SecretKey,
    passphrase: &Passphrase,
    cost: KdfCost,
) -> Result<(), KeyError> {
    let public = maillage_crdt::HouseholdId(key.public()).to_text();
    let salt: [u8; SALT_LEN] = rand::random();
    let nonce: [u8; NONCE_LEN] = rand::random();
    let stretched = stretch(passphrase, &salt, cost).map_err(|reason| KeyError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(reason),
    })?;
    let cipher = XChaCha20Poly1305::new_from_slice(&stretched[..32]).map_err(|_| KeyError::Io {
        path: path.to_owned(),
        source: std::io::Error::other("cannot set up the cipher"),
    })?;
    let secret = Zeroizing::new(key.to_bytes());
    let aad = associated_data(kind, &public);
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &secret[..],
                aad: &aad,
            },
        )
        .map_err(|_| KeyError::Io {
            path: path.to_owned(),
            source: std::io::Error::other("cannot encrypt the key"),
        })?;
    let file = KeyFile {
        format: FORMAT_SEALED.into(),
        kind,
        public,
        secret: None,
        sealed: Some(SealedSecret {
            kdf: KDF_ARGON2ID.into(),
            m_cost: cost.m_cost,
            t_cost: cost.t_cost,
            p_cost: cost.p_cost,
            salt: hex(&salt),
            nonce: hex(&nonce),
            check: hex(&stretched[32..]),
            ciphertext: hex(&ciphertext),
        }),
    };
    write_key_file(path, &file)
}

fn write_key_file(path: &Path, file: &KeyFile) -> Result<(), KeyError> {
    let mut text = Zeroizing::new(serde_json::to_string_pretty(file).unwrap_or_default());
    text.push('\n');
    write_private_file(path, text.as_bytes()).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Whether the key file at `path` is sealed with a passphrase. Reads only
/// what is in the clear, with the same checks as [`load`] on the file itself.
pub fn is_sealed(path: &Path, kind: KeyKind) -> Result<bool, KeyError> {
    let file = read_key_file(path, kind)?;
    Ok(file.sealed.is_some())
}

/// Reads and checks a key file whose secret is in the clear; a sealed one
/// gives [`KeyError::Sealed`].
pub fn load(path: &Path, kind: KeyKind) -> Result<SecretKey, KeyError> {
    load_with(path, kind, None)
}

/// Reads and checks a key file, opening it with `passphrase` if it is
/// sealed (a passphrase given for a file in the clear is not needed, and
/// not checked).
pub fn load_with(path: &Path, kind: KeyKind, passphrase: Option<&Passphrase>) -> Result<SecretKey, KeyError> {
    let damaged = |reason: &str| KeyError::Damaged {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let file = read_key_file(path, kind)?;
    let secret = match (&file.secret, &file.sealed, passphrase) {
        (Some(text), None, _) => {
            from_hex::<32>(text).ok_or_else(|| damaged("the secret is not 64 hexadecimal digits"))?
        }
        (None, Some(_), None) => return Err(KeyError::Sealed(path.to_owned())),
        (None, Some(sealed), Some(passphrase)) => unseal(path, kind, &file.public, sealed, passphrase)?,
        _ => return Err(damaged("it holds neither one secret nor one sealed secret")),
    };
    let key = SecretKey::from_bytes(&secret);
    if maillage_crdt::HouseholdId(key.public()).to_text() != file.public {
        return Err(damaged("the secret does not match the public key"));
    }
    Ok(key)
}

/// The file at `path`, checked for its mode, format and kind.
fn read_key_file(path: &Path, kind: KeyKind) -> Result<KeyFile, KeyError> {
    let damaged = |reason: &str| KeyError::Damaged {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let metadata = std::fs::metadata(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => KeyError::Missing(path.to_owned()),
        _ => KeyError::Io {
            path: path.to_owned(),
            source,
        },
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if metadata.permissions().mode() & 0o077 != 0 {
            return Err(KeyError::TooOpen { path: path.to_owned() });
        }
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|_| damaged("not text"))?);
    let file: KeyFile = serde_json::from_str(&text).map_err(|_| damaged("not a maillage key file"))?;
    let expected = match (&file.secret, &file.sealed) {
        (_, Some(_)) => FORMAT_SEALED,
        _ => FORMAT_CLEAR,
    };
    if file.format != FORMAT_CLEAR && file.format != FORMAT_SEALED {
        return Err(damaged("unknown key format"));
    }
    if file.format != expected {
        return Err(damaged("its format does not match its content"));
    }
    if file.kind != kind {
        return Err(damaged("it holds another kind of key"));
    }
    Ok(file)
}

/// Decrypts a sealed secret: [`KeyError::WrongPassphrase`] when the check
/// value says the passphrase is not the one it was sealed with,
/// [`KeyError::Damaged`] when the passphrase is right but the ciphertext or
/// what it is bound to was changed.
fn unseal(
    path: &Path,
    kind: KeyKind,
    public: &str,
    sealed: &SealedSecret,
    passphrase: &Passphrase,
) -> Result<Zeroizing<[u8; 32]>, KeyError> {
    let damaged = |reason: &str| KeyError::Damaged {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if sealed.kdf != KDF_ARGON2ID {
        return Err(damaged("unknown key derivation"));
    }
    if sealed.m_cost > MAX_M_COST_KIB || sealed.t_cost > MAX_T_COST || sealed.p_cost > MAX_P_COST {
        return Err(damaged("key derivation parameters out of range"));
    }
    let salt = from_hex::<SALT_LEN>(&sealed.salt).ok_or_else(|| damaged("bad salt"))?;
    let nonce = from_hex::<NONCE_LEN>(&sealed.nonce).ok_or_else(|| damaged("bad nonce"))?;
    let check = from_hex::<CHECK_LEN>(&sealed.check).ok_or_else(|| damaged("bad check value"))?;
    let ciphertext = from_hex::<CIPHERTEXT_LEN>(&sealed.ciphertext).ok_or_else(|| damaged("bad ciphertext"))?;
    let cost = KdfCost {
        m_cost: sealed.m_cost,
        t_cost: sealed.t_cost,
        p_cost: sealed.p_cost,
    };
    let stretched = stretch(passphrase, &salt[..], cost).map_err(|_| damaged("key derivation parameters refused"))?;
    if !constant_time_eq(&stretched[32..], &check[..]) {
        return Err(KeyError::WrongPassphrase(path.to_owned()));
    }
    let cipher = XChaCha20Poly1305::new_from_slice(&stretched[..32]).map_err(|_| damaged("bad key"))?;
    let aad = associated_data(kind, public);
    let plain = Zeroizing::new(
        cipher
            .decrypt(
                XNonce::from_slice(&nonce[..]),
                Payload {
                    msg: &ciphertext[..],
                    aad: &aad,
                },
            )
            .map_err(|_| damaged("the sealed secret does not authenticate"))?,
    );
    let mut secret = Zeroizing::new([0u8; 32]);
    if plain.len() != 32 {
        return Err(damaged("the sealed secret has the wrong length"));
    }
    secret.copy_from_slice(&plain);
    Ok(secret)
}

/// Argon2id over the passphrase: 64 bytes, the cipher key then the check.
fn stretch(passphrase: &Passphrase, salt: &[u8], cost: KdfCost) -> Result<Zeroizing<[u8; 64]>, String> {
    let params = Params::new(cost.m_cost, cost.t_cost, cost.p_cost, Some(64)).map_err(|e| e.to_string())?;
    let mut out = Zeroizing::new([0u8; 64]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.bytes(), salt, &mut out[..])
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// What the ciphertext is bound to: the format, the kind and the public key.
fn associated_data(kind: KeyKind, public: &str) -> Vec<u8> {
    format!("{FORMAT_SEALED}\n{}\n{public}", kind.label()).into_bytes()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex<const N: usize>(text: &str) -> Option<Zeroizing<[u8; N]>> {
    if text.len() != N * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = Zeroizing::new([0u8; N]);
    for (index, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(index * 2..index * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A new random key.
pub fn generate() -> SecretKey {
    let mut secret: [u8; 32] = rand::random();
    let key = SecretKey::from_bytes(&secret);
    secret.zeroize();
    key
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_saved_key_loads_back_and_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        let key = generate();
        save(&path, KeyKind::Device, &key).unwrap();
        assert_eq!(load(&path, KeyKind::Device).unwrap().public(), key.public());
        assert!(matches!(
            load(&path, KeyKind::HouseholdRoot),
            Err(KeyError::Damaged { .. })
        ));

        let text = std::fs::read_to_string(&path).unwrap();
        let secret_start = text.find("\"secret\": \"").unwrap() + 11;
        let mut bytes = text.into_bytes();
        bytes[secret_start] = if bytes[secret_start] == b'0' { b'1' } else { b'0' };
        write_private_file(&path, &bytes).unwrap();
        assert!(matches!(load(&path, KeyKind::Device), Err(KeyError::Damaged { .. })));
    }

    /// Cheap parameters so that unit tests stay fast; never in the product.
    pub(crate) const TEST_COST: KdfCost = KdfCost {
        m_cost: 64,
        t_cost: 1,
        p_cost: 1,
    };

    pub(crate) fn passphrase(text: &str) -> Passphrase {
        Passphrase::new(text.to_owned())
    }

    #[test]
    fn a_sealed_key_opens_with_its_passphrase_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("household.key");
        let key = generate();
        save_sealed(
            &path,
            KeyKind::HouseholdRoot,
            &key,
            &passphrase("grain de sel"),
            TEST_COST,
        )
        .unwrap();

        assert!(is_sealed(&path, KeyKind::HouseholdRoot).unwrap());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&hex(&key.to_bytes())), "the secret is not in the clear");
        assert!(text.contains(&maillage_crdt::HouseholdId(key.public()).to_text()));
        assert!(matches!(load(&path, KeyKind::HouseholdRoot), Err(KeyError::Sealed(_))));
        assert!(matches!(
            load_with(&path, KeyKind::HouseholdRoot, Some(&passphrase("grain de riz"))),
            Err(KeyError::WrongPassphrase(_))
        ));
        let opened = load_with(&path, KeyKind::HouseholdRoot, Some(&passphrase("grain de sel"))).unwrap();
        assert_eq!(opened.to_bytes(), key.to_bytes());
    }

    #[test]
    fn a_tampered_sealed_key_is_called_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("household.key");
        let key = generate();
        save_sealed(&path, KeyKind::HouseholdRoot, &key, &passphrase("pain"), TEST_COST).unwrap();
        let original = std::fs::read_to_string(&path).unwrap();
        let mut file: serde_json::Value = serde_json::from_str(&original).unwrap();

        // One flipped bit of ciphertext.
        let ciphertext = file["sealed"]["ciphertext"].as_str().unwrap().to_owned();
        let flipped = if ciphertext.starts_with('0') { "1" } else { "0" };
        file["sealed"]["ciphertext"] = format!("{flipped}{}", &ciphertext[1..]).into();
        write_private_file(&path, file.to_string().as_bytes()).unwrap();
        assert!(matches!(
            load_with(&path, KeyKind::HouseholdRoot, Some(&passphrase("pain"))),
            Err(KeyError::Damaged { .. })
        ));

        // The same ciphertext presented as another household's key.
        let mut file: serde_json::Value = serde_json::from_str(&original).unwrap();
        file["public"] = maillage_crdt::HouseholdId(generate().public()).to_text().into();
        write_private_file(&path, file.to_string().as_bytes()).unwrap();
        assert!(matches!(
            load_with(&path, KeyKind::HouseholdRoot, Some(&passphrase("pain"))),
            Err(KeyError::Damaged { .. })
        ));

        // A sealed root key is not a device key.
        write_private_file(&path, original.as_bytes()).unwrap();
        assert!(matches!(
            load_with(&path, KeyKind::Device, Some(&passphrase("pain"))),
            Err(KeyError::Damaged { .. })
        ));
    }

    #[test]
    fn a_key_in_the_old_format_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("household.key");
        let key = SecretKey::from_bytes(&[7; 32]);
        // Written by hand as the first version wrote it.
        let text = format!(
            "{{\n  \"format\": \"maillage-key/1\",\n  \"kind\": \"household-root\",\n  \"public\": \"{}\",\n  \"secret\": \"{}\"\n}}\n",
            maillage_crdt::HouseholdId(key.public()).to_text(),
            "07".repeat(32)
        );
        write_private_file(&path, text.as_bytes()).unwrap();
        assert!(!is_sealed(&path, KeyKind::HouseholdRoot).unwrap());
        assert_eq!(load(&path, KeyKind::HouseholdRoot).unwrap().to_bytes(), [7; 32]);
        // A passphrase given for a key in the clear is simply not needed.
        let loaded = load_with(&path, KeyKind::HouseholdRoot, Some(&passphrase("x"))).unwrap();
        assert_eq!(loaded.to_bytes(), [7; 32]);
    }

    #[test]
    fn key_files_are_private_whether_sealed_or_not() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("household.key");
        let key = generate();
        save(&path, KeyKind::HouseholdRoot, &key).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        save_sealed(&path, KeyKind::HouseholdRoot, &key, &passphrase("p"), TEST_COST).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            load_with(&path, KeyKind::HouseholdRoot, Some(&passphrase("p"))),
            Err(KeyError::TooOpen { .. })
        ));
    }

    /// The product's cost, measured: `cargo test -p maillage-node --release
    /// keys::tests::product_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement, not a check"]
    fn product_cost() {
        let salt = [0u8; SALT_LEN];
        let start = std::time::Instant::now();
        let rounds = 5;
        for _ in 0..rounds {
            stretch(&passphrase("mesure"), &salt, KdfCost::PRODUCT).unwrap();
        }
        println!("argon2id 64 MiB t=3 p=1: {:?} per derivation", start.elapsed() / rounds);
    }

    #[test]
    fn a_key_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        save(&path, KeyKind::Device, &generate()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(load(&path, KeyKind::Device), Err(KeyError::TooOpen { .. })));
    }
}
