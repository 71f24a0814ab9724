//! Scoped API tokens: besides the household's full token (`run/token`), a
//! steward can hand another program — the village's website showing the
//! agenda, an association's spreadsheet — a read-only token of its own,
//! and revoke it alone.
//!
//! `<home>/api-tokens.json` (mode 0600) lists them. Only a SHA-256 digest of
//! each token is kept: the file lets nobody in, and a token is shown once,
//! when it is made. The file is read again whenever it changed on disk, so
//! `maillage api token revoke` takes effect at once, node running or not.

use std::io;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ApiError, Token};
use crate::home::{Home, write_private_file};

/// The longest label a token may have.
const MAX_LABEL_CHARS: usize = 80;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Everything the household can do (the household's own token).
    Full,
    /// Reads only: every `GET`, nothing that changes the household.
    ReadOnly,
}

/// One scoped token, as listed (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    /// A short public name for the token, to revoke it by.
    pub id: String,
    pub label: String,
    pub scope: Scope,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    /// SHA-256 of the token, hex.
    digest: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenFile {
    tokens: Vec<TokenEntry>,
}

/// The scoped tokens of a home, cached until their file changes.
#[derive(Debug)]
pub struct ScopedTokens {
    path: PathBuf,
    cache: Mutex<Option<(Option<SystemTime>, TokenFile)>>,
}

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

impl ScopedTokens {
    pub fn of(home: &Home) -> ScopedTokens {
        ScopedTokens {
            path: home.root().join("api-tokens.json"),
            cache: Mutex::new(None),
        }
    }

    fn file_error(&self, source: io::Error) -> ApiError {
        ApiError::File {
            path: self.path.clone(),
            source,
        }
    }

    fn modified(&self) -> Option<SystemTime> {
        std::fs::metadata(&self.path).and_then(|m| m.modified()).ok()
    }

    fn read(&self) -> Result<TokenFile, ApiError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|error| self.file_error(io::Error::new(io::ErrorKind::InvalidData, error))),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(TokenFile::default()),
            Err(error) => Err(self.file_error(error)),
        }
    }

    fn write(&self, file: &TokenFile) -> Result<(), ApiError> {
        let mut bytes = serde_json::to_vec_pretty(file).map_err(|e| self.file_error(io::Error::other(e)))?;
        bytes.push(b'\n');
        write_private_file(&self.path, &bytes).map_err(|error| self.file_error(error))?;
        *self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        Ok(())
    }

    /// The scope of `presented`, if it is a live scoped token. A file that
    /// cannot be read lets no scoped token in (the full token still works).
    pub fn scope_of(&self, presented: &str) -> Option<Scope> {
        let modified = self.modified();
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.as_ref().is_none_or(|(seen, _)| *seen != modified) {
            match self.read() {
                Ok(file) => *cache = Some((modified, file)),
                Err(error) => {
                    tracing::warn!(%error, "cannot read the API's scoped tokens");
                    *cache = None;
                    return None;
                }
            }
        }
        let wanted = digest(presented);
        let (_, file) = cache.as_ref()?;
        file.tokens
            .iter()
            .find(|entry| entry.revoked_at.is_none() && Token::equal(&entry.digest, &wanted))
            .map(|entry| entry.scope)
    }

    /// Makes a new token with `scope`, and returns it (shown once) with its entry.
    pub fn add(&self, label: &str, scope: Scope, now_ms: i64) -> Result<(Token, TokenEntry), ApiError> {
        let mut file = self.read()?;
        let token = Token::generate();
        let label: String = label.trim().chars().take(MAX_LABEL_CHARS).collect();
        let entry = TokenEntry {
            id: token.as_str()[..8].to_owned(),
            label,
            scope,
            created_at: now_ms,
            revoked_at: None,
            digest: digest(token.as_str()),
        };
        file.tokens.push(entry.clone());
        self.write(&file)?;
        Ok((token, entry))
    }

    pub fn list(&self) -> Result<Vec<TokenEntry>, ApiError> {
        Ok(self.read()?.tokens)
    }

    /// Revokes the token whose id starts with `id` (or is labelled `id`).
    pub fn revoke(&self, id: &str, now_ms: i64) -> Result<TokenEntry, ApiError> {
        let mut file = self.read()?;
        let id = id.trim();
        let mut found: Vec<&mut TokenEntry> = file
            .tokens
            .iter_mut()
            .filter(|entry| entry.revoked_at.is_none())
            .filter(|entry| (!id.is_empty() && entry.id.starts_with(id)) || entry.label == id)
            .collect();
        let entry = match found.len() {
            1 => found.remove(0),
            0 => return Err(ApiError::UnknownToken(id.to_owned())),
            _ => return Err(ApiError::AmbiguousToken(id.to_owned())),
        };
        entry.revoked_at = Some(now_ms);
        let revoked = entry.clone();
        self.write(&file)?;
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_scoped_token_works_until_revoked_and_only_its_digest_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().join("home"));
        home.create().unwrap();
        let tokens = ScopedTokens::of(&home);
        let (token, entry) = tokens.add("site de la mairie", Scope::ReadOnly, 1).unwrap();
        assert_eq!(tokens.scope_of(token.as_str()), Some(Scope::ReadOnly));
        assert_eq!(tokens.scope_of(Token::generate().as_str()), None);
        let on_disk = std::fs::read_to_string(home.root().join("api-tokens.json")).unwrap();
        assert!(!on_disk.contains(token.as_str()), "the token itself is never written");

        // Revoked by another process (the CLI), the node's copy sees it.
        ScopedTokens::of(&home).revoke(&entry.id, 2).unwrap();
        assert_eq!(tokens.scope_of(token.as_str()), None);
        assert!(matches!(tokens.revoke(&entry.id, 3), Err(ApiError::UnknownToken(_))));
    }
}
