//! Key files.
//!
//! A key file is a small JSON document holding the secret key and the public
//! key derived from it. Loading checks three things and says which failed:
//! the file is readable by its owner only (like ssh, a key others can read is
//! refused), it parses, and the secret still yields the recorded public key
//! (so a damaged file is caught before it signs anything).

use std::path::{Path, PathBuf};

use maillage_crdt::SecretKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::home::write_private_file;

const FORMAT: &str = "maillage-key/1";

/// Which key a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyKind {
    HouseholdRoot,
    Device,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    format: String,
    kind: KeyKind,
    public: String,
    secret: String,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
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
}

/// Writes a new key file (mode 0600).
pub fn save(path: &Path, kind: KeyKind, key: &SecretKey) -> Result<(), KeyError> {
    let secret = key.to_bytes();
    let file = KeyFile {
        format: FORMAT.into(),
        kind,
        public: maillage_crdt::HouseholdId(key.public()).to_text(),
        secret: secret.iter().map(|b| format!("{b:02x}")).collect(),
    };
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    let result = write_private_file(path, text.as_bytes());
    text.zeroize();
    result.map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Reads and checks a key file.
pub fn load(path: &Path, kind: KeyKind) -> Result<SecretKey, KeyError> {
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
    let mut text = std::fs::read_to_string(path).map_err(|_| damaged("not text"))?;
    let parsed: Result<KeyFile, _> = serde_json::from_str(&text);
    text.zeroize();
    let file = parsed.map_err(|_| damaged("not a maillage key file"))?;
    if file.format != FORMAT {
        return Err(damaged("unknown key format"));
    }
    if file.kind != kind {
        return Err(damaged("it holds another kind of key"));
    }
    if file.secret.len() != 64 || !file.secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(damaged("the secret is not 64 hexadecimal digits"));
    }
    let mut secret = [0u8; 32];
    for (index, byte) in secret.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&file.secret[index * 2..index * 2 + 2], 16)
            .map_err(|_| damaged("the secret is not hexadecimal"))?;
    }
    let key = SecretKey::from_bytes(&secret);
    secret.zeroize();
    if maillage_crdt::HouseholdId(key.public()).to_text() != file.public {
        return Err(damaged("the secret does not match the public key"));
    }
    Ok(key)
}

/// A new random key.
pub fn generate() -> SecretKey {
    let mut secret: [u8; 32] = rand::random();
    let key = SecretKey::from_bytes(&secret);
    secret.zeroize();
    key
}

#[cfg(test)]
mod tests {
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
