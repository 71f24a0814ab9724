//! Scoped API tokens: besides the household's full token (`run/token`), a
//! steward can hand another program — the village's website showing the
//! agenda, an association's spreadsheet — a read-only token of its own,
//! and revoke it alone.
//!
//! `<home>/api-tokens.json` (mode 0600) lists them. Only a SHA-256 digest of
//! each token is kept: the file lets nobody in, and a token is shown once,
//! when it is made. The file is read again whenever it changed on disk (its
//! inode, size or time: each write renames a new file in), so `maillage api
//! token revoke` takes effect at once, node running or not. Changes take an
//! exclusive lock on `api-tokens.lock`, so the CLI and the node's
//! `/v1/tokens` never lose each other's.

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

/// One scoped token as the file keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredToken {
    #[serde(flatten)]
    entry: TokenEntry,
    /// SHA-256 of the token, hex: what a presented token is checked against.
    digest: String,
}

/// One scoped token, as listed: never the token, nor its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    /// A short public name for the token, to revoke it by (the start of
    /// its digest: it says nothing of the token itself).
    pub id: String,
    pub label: String,
    pub scope: Scope,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenFile {
    tokens: Vec<StoredToken>,
}

/// What tells one version of the file from the next.
type Version = Option<(SystemTime, u64, u64)>;

/// The scoped tokens of a home, cached until their file changes.
#[derive(Debug)]
pub struct ScopedTokens {
    path: PathBuf,
    lock: PathBuf,
    cache: Mutex<Option<(Version, TokenFile)>>,
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
            lock: home.root().join("api-tokens.lock"),
            cache: Mutex::new(None),
        }
    }

    fn file_error(&self, source: io::Error) -> ApiError {
        ApiError::File {
            path: self.path.clone(),
            source,
        }
    }

    fn version(&self) -> Version {
        let metadata = std::fs::metadata(&self.path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Some((metadata.modified().ok()?, metadata.len(), inode))
    }

    /// Runs `change` on the file's tokens under the lock, and writes them.
    fn change<T>(&self, change: impl FnOnce(&mut Vec<StoredToken>) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)
            .map_err(|error| self.file_error(error))?;
        lock.lock().map_err(|error| self.file_error(error))?;
        let mut file = self.read()?;
        let answer = change(&mut file.tokens)?;
        self.write(&file)?;
        Ok(answer)
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
        let version = self.version();
        let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.as_ref().is_none_or(|(seen, _)| *seen != version) {
            match self.read() {
                Ok(file) => *cache = Some((version, file)),
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
            .find(|stored| stored.entry.revoked_at.is_none() && Token::equal(&stored.digest, &wanted))
            .map(|stored| stored.entry.scope)
    }

    /// Makes a new token with `scope`, and returns it (shown once) with its entry.
    pub fn add(&self, label: &str, scope: Scope, now_ms: i64) -> Result<(Token, TokenEntry), ApiError> {
        let token = Token::generate();
        let digest = digest(token.as_str());
        let entry = TokenEntry {
            id: digest[..8].to_owned(),
            label: label.trim().chars().take(MAX_LABEL_CHARS).collect(),
            scope,
            created_at: now_ms,
            revoked_at: None,
        };
        let stored = StoredToken {
            entry: entry.clone(),
            digest,
        };
        self.change(|tokens| {
            tokens.push(stored);
            Ok(())
        })?;
        Ok((token, entry))
    }

    pub fn list(&self) -> Result<Vec<TokenEntry>, ApiError> {
        Ok(self.read()?.tokens.into_iter().map(|stored| stored.entry).collect())
    }

    /// Revokes the token whose id starts with `id` (or is labelled `id`).
    pub fn revoke(&self, id: &str, now_ms: i64) -> Result<TokenEntry, ApiError> {
        let id = id.trim();
        self.change(|tokens| {
            let mut found: Vec<&mut TokenEntry> = tokens
                .iter_mut()
                .map(|stored| &mut stored.entry)
                .filter(|entry| entry.revoked_at.is_none())
                .filter(|entry| (!id.is_empty() && entry.id.starts_with(id)) || entry.label == id)
                .collect();
            let entry = match found.len() {
                1 => found.remove(0),
                0 => return Err(ApiError::UnknownToken(id.to_owned())),
                _ => return Err(ApiError::AmbiguousToken(id.to_owned())),
            };
            entry.revoked_at = Some(now_ms);
            Ok(entry.clone())
        })
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
        assert!(
            !token.as_str().starts_with(&entry.id),
            "the id says nothing of the token"
        );
        let listed = serde_json::to_string(&tokens.list().unwrap()).unwrap();
        assert!(!listed.contains(&digest(token.as_str())), "listings show no digest");

        // Revoked by another process (the CLI), the node's copy sees it,
        // however soon after its last look.
        ScopedTokens::of(&home).revoke(&entry.id, 2).unwrap();
        assert_eq!(tokens.scope_of(token.as_str()), None);
        assert!(matches!(tokens.revoke(&entry.id, 3), Err(ApiError::UnknownToken(_))));
    }

    #[test]
    fn tokens_added_from_two_places_at_once_are_all_kept() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().join("home"));
        home.create().unwrap();
        let threads: Vec<_> = (0..8)
            .map(|n| {
                let home = home.clone();
                std::thread::spawn(move || {
                    ScopedTokens::of(&home)
                        .add(&format!("programme {n}"), Scope::ReadOnly, n)
                        .unwrap()
                        .0
                })
            })
            .collect();
        let made: Vec<Token> = threads.into_iter().map(|thread| thread.join().unwrap()).collect();
        let tokens = ScopedTokens::of(&home);
        assert_eq!(tokens.list().unwrap().len(), 8);
        for token in &made {
            assert_eq!(tokens.scope_of(token.as_str()), Some(Scope::ReadOnly));
        }
    }
}
