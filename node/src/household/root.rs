//! The household root key on this device: absent (a linked device), in the
//! clear, or sealed with a passphrase (`maillage key protect`).
//!
//! A sealed root key is decrypted only when a command gives the passphrase,
//! and kept in memory only as long as that command needs it: for a
//! revocation, the call itself ([`Household::with_root_unlocked`]); for a
//! device link, until the link is used or expires, because the node
//! certifies the new machine when it connects ([`Household::unlock_root`]).
//! The decrypted key is then dropped, which wipes it (`SecretKey` zeroizes
//! on drop).

use maillage_crdt::SecretKey;
use serde::Serialize;

use std::sync::PoisonError;

use super::{Household, HouseholdError, HouseholdWriter, Result, now_ms};
use crate::home::Home;
use crate::keys::{self, KdfCost, KeyError, KeyKind, Passphrase};

/// Whether this device holds the household root key, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RootKeyState {
    /// In its file in the clear: usable without a passphrase.
    Present,
    /// Sealed with a passphrase: operations that need it ask for it.
    Protected,
    /// Not on this device (a linked device carries a certificate instead).
    Absent,
}

#[derive(Debug)]
pub(super) enum RootKey {
    Absent,
    Clear(SecretKey),
    /// The decrypted key, while a command that gave the passphrase needs it.
    Sealed(Option<Unlocked>),
}

#[derive(Debug)]
pub(super) struct Unlocked {
    key: SecretKey,
    /// Unix ms after which the key is dropped at its next use.
    until: i64,
}

impl RootKey {
    /// What the home's key file holds, without asking for a passphrase.
    pub(super) fn open(home: &Home) -> Result<RootKey> {
        let path = home.household_key_path();
        match keys::is_sealed(&path, KeyKind::HouseholdRoot) {
            Ok(true) => Ok(RootKey::Sealed(None)),
            Ok(false) => Ok(RootKey::Clear(keys::load(&path, KeyKind::HouseholdRoot)?)),
            Err(KeyError::Missing(_)) => Ok(RootKey::Absent),
            Err(other) => Err(other.into()),
        }
    }

    pub(super) fn state(&self) -> RootKeyState {
        match self {
            RootKey::Absent => RootKeyState::Absent,
            RootKey::Clear(_) => RootKeyState::Present,
            RootKey::Sealed(_) => RootKeyState::Protected,
        }
    }
}

impl Household {
    /// Whether this device holds the root key, in the clear or protected.
    pub fn root_key_state(&self) -> RootKeyState {
        *self.root_state.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl HouseholdWriter {
    /// Changes the root key (its file was just rewritten) and what readers
    /// are told of it.
    fn set_root(&mut self, root: RootKey) {
        *self.root_state.write().unwrap_or_else(PoisonError::into_inner) = root.state();
        self.root = root;
    }

    /// The root key for one operation: [`HouseholdError::NoRootKey`] on a
    /// linked device, [`HouseholdError::RootKeyLocked`] when it is sealed and
    /// no command gave the passphrase (or what it gave it for is over).
    pub(super) fn root_key(&mut self) -> Result<SecretKey> {
        match &mut self.root {
            RootKey::Absent => Err(HouseholdError::NoRootKey),
            RootKey::Clear(key) => Ok(key.clone()),
            RootKey::Sealed(unlocked) => match unlocked {
                Some(held) if held.until >= now_ms() => Ok(held.key.clone()),
                _ => {
                    *unlocked = None;
                    Err(HouseholdError::RootKeyLocked)
                }
            },
        }
    }

    /// Decrypts a protected root key with `passphrase` and keeps it in
    /// memory until `until` (Unix ms), or until [`Household::lock_root`]. A
    /// wrong passphrase is refused even while the key is already held. Does
    /// nothing for a key in the clear or absent (operations then say so).
    pub fn unlock_root(&mut self, passphrase: &Passphrase, until: i64) -> Result<()> {
        let RootKey::Sealed(unlocked) = &self.root else {
            return Ok(());
        };
        let until = unlocked.as_ref().map_or(until, |held| held.until.max(until));
        let key = keys::load_with(
            &self.home.household_key_path(),
            KeyKind::HouseholdRoot,
            Some(passphrase),
        )?;
        self.root = RootKey::Sealed(Some(Unlocked { key, until }));
        Ok(())
    }

    /// Drops a decrypted root key (a key in the clear stays: it is on disk
    /// in the clear anyway).
    pub fn lock_root(&mut self) {
        if let RootKey::Sealed(unlocked) = &mut self.root {
            *unlocked = None;
        }
    }

    /// Drops a decrypted root key whose time is over (the node calls this
    /// when a link expires, so the key does not wait for its next use).
    pub fn forget_expired_root(&mut self) {
        if let RootKey::Sealed(unlocked) = &mut self.root
            && unlocked.as_ref().is_some_and(|held| held.until < now_ms())
        {
            *unlocked = None;
        }
    }

    /// Runs `f` with a protected root key decrypted by `passphrase` (if
    /// given), then puts back what was held before: a key held for a
    /// pending link stays, a key decrypted only for `f` is dropped.
    pub fn with_root_unlocked<T>(
        &mut self,
        passphrase: Option<&Passphrase>,
        f: impl FnOnce(&mut HouseholdWriter) -> Result<T>,
    ) -> Result<T> {
        let (Some(passphrase), RootKey::Sealed(held)) = (passphrase, &mut self.root) else {
            return f(self);
        };
        let before = held.take();
        let key = keys::load_with(
            &self.home.household_key_path(),
            KeyKind::HouseholdRoot,
            Some(passphrase),
        );
        let result = match key {
            Ok(key) => {
                self.root = RootKey::Sealed(Some(Unlocked { key, until: i64::MAX }));
                f(self)
            }
            Err(error) => Err(error.into()),
        };
        self.root = RootKey::Sealed(before);
        result
    }

    /// Seals the root key file with `passphrase` (`maillage key protect`):
    /// from now on, linking and revoking devices ask for it.
    pub fn protect_root(&mut self, passphrase: &Passphrase) -> Result<()> {
        self.protect_root_with(passphrase, KdfCost::PRODUCT)
    }

    pub(crate) fn protect_root_with(&mut self, passphrase: &Passphrase, cost: KdfCost) -> Result<()> {
        let key = match &self.root {
            RootKey::Absent => return Err(HouseholdError::NoRootKey),
            RootKey::Sealed(_) => return Err(HouseholdError::RootKeyAlreadyProtected),
            RootKey::Clear(key) => key,
        };
        if passphrase.is_empty() {
            return Err(HouseholdError::EmptyPassphrase);
        }
        keys::save_sealed(
            &self.home.household_key_path(),
            KeyKind::HouseholdRoot,
            key,
            passphrase,
            cost,
        )?;
        self.set_root(RootKey::Sealed(None));
        Ok(())
    }

    /// Writes the root key file in the clear again (`maillage key
    /// unprotect`), after checking `passphrase`.
    pub fn unprotect_root(&mut self, passphrase: &Passphrase) -> Result<()> {
        match &self.root {
            RootKey::Absent => return Err(HouseholdError::NoRootKey),
            RootKey::Clear(_) => return Err(HouseholdError::RootKeyNotProtected),
            RootKey::Sealed(_) => {}
        }
        let path = self.home.household_key_path();
        let key = keys::load_with(&path, KeyKind::HouseholdRoot, Some(passphrase))?;
        keys::save(&path, KeyKind::HouseholdRoot, &key)?;
        self.set_root(RootKey::Clear(key));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::tests::{TEST_COST, passphrase};

    #[test]
    fn a_protected_root_key_is_usable_only_with_its_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path().join("home"));
        let mut household = Household::init(home.clone(), "Les Tilleuls", None).unwrap();
        household.protect_root_with(&passphrase("tilleul"), TEST_COST).unwrap();
        assert_eq!(household.root_key_state(), RootKeyState::Protected);
        assert!(matches!(household.root_key(), Err(HouseholdError::RootKeyLocked)));

        // Reopened: the household opens without the passphrase, locked.
        drop(household);
        let mut household = Household::open(home).unwrap();
        assert_eq!(household.root_key_state(), RootKeyState::Protected);
        assert!(household.whoami().unwrap().has_root_key);
        assert!(matches!(
            household.create_link(now_ms() + 60_000),
            Err(HouseholdError::RootKeyLocked)
        ));
        assert!(matches!(
            household.with_root_unlocked(Some(&passphrase("chêne")), |h| h.root_key().map(|_| ())),
            Err(HouseholdError::Key(KeyError::WrongPassphrase(_)))
        ));
        household
            .with_root_unlocked(Some(&passphrase("tilleul")), |h| h.root_key().map(|_| ()))
            .unwrap();
        // Only for that call.
        assert!(matches!(household.root_key(), Err(HouseholdError::RootKeyLocked)));

        // Held for a link window, dropped when it is over.
        household
            .unlock_root(&passphrase("tilleul"), now_ms() + 60_000)
            .unwrap();
        household.create_link(now_ms() + 60_000).unwrap();
        household.lock_root();
        assert!(matches!(household.root_key(), Err(HouseholdError::RootKeyLocked)));
        household.unlock_root(&passphrase("tilleul"), now_ms() - 1).unwrap();
        assert!(matches!(household.root_key(), Err(HouseholdError::RootKeyLocked)));

        household.unprotect_root(&passphrase("tilleul")).unwrap();
        assert_eq!(household.root_key_state(), RootKeyState::Present);
        household.root_key().unwrap();
    }
}
