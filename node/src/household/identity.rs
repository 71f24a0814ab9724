//! Who the household is: its profile, its name as others see it, and its
//! devices (listing and revoking them).

use super::*;

impl Household {
    pub fn profile(&self) -> Result<Profile> {
        let id = DocHeader::profile(self.household).id();
        Household::read(&self.load(&id)?)
    }

    /// This household's profile as signed changes.
    pub(super) fn profile_changes(&self) -> Result<Vec<SignedChange>> {
        let profile = DocHeader::profile(self.household);
        let id = profile.id();
        let mut docs = self.store.export(|header| header.id() == id)?;
        Ok(docs.pop().map(|(_, changes)| changes).unwrap_or_default())
    }

    pub fn name(&self) -> String {
        self.profile()
            .map(|p| p.name)
            .unwrap_or_else(|_| self.household.short())
    }

    /// A member's display name: its profile name if known, else its short id.
    pub fn name_of(&self, household: &HouseholdId) -> String {
        let id = DocHeader::profile(*household).id();
        match self.store.summary(&id) {
            Ok(Some(summary)) if summary.valid => summary.title,
            _ => household.short(),
        }
    }

    pub fn whoami(&self) -> Result<WhoAmI> {
        let profile = self.profile()?;
        Ok(WhoAmI {
            household: self.household.to_text(),
            device: self.device.device_id().to_text(),
            name: profile.name,
            place: profile.place,
            has_root_key: self.root_key_state() != RootKeyState::Absent,
            root_key: self.root_key_state(),
            home: self.home.root().display().to_string(),
            communities: self.communities()?,
        })
    }

    /// Devices certified by this household.
    pub fn devices(&self) -> Vec<DeviceView> {
        let this = self.device.device_id();
        self.store
            .registry()
            .devices_of(&self.household)
            .into_iter()
            .map(|(id, entry)| DeviceView {
                device: id.to_text(),
                label: entry.label.clone(),
                issued_at: entry.issued_at,
                revoked_at: entry.revoked_at,
                this_device: id == this,
            })
            .collect()
    }
}

impl HouseholdWriter {
    /// Revokes one of the household's devices (needs the household root key;
    /// a protected one through [`Household::with_root_unlocked`]): from now
    /// on every node refuses what that device signs.
    pub fn revoke_device(&mut self, text: &str) -> Result<DeviceId> {
        let root = self.root_key()?;
        let lower = text.trim().to_lowercase();
        let found: Vec<DeviceId> = self
            .store
            .registry()
            .devices_of(&self.household)
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| !lower.is_empty() && id.to_text().starts_with(&lower))
            .collect();
        let device = one_of(found, "device", text, |id| id.short())?;
        if device == self.device.device_id() {
            return Err(NotAllowed::RevokeOwnDevice.into());
        }
        let revocation = DeviceRevocation {
            household: self.household,
            device,
            revoked_at: now_ms(),
        };
        let revocation = root
            .sign(revocation)
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        self.store.ingest(vec![Record::DeviceRevocation(revocation)], vec![])?;
        Ok(device)
    }
}
