//! What the mesh asks of the household: the records it shows a peer, which
//! communities it shares with a peer's device, where its node listens.

use super::*;

impl Household {
    /// What this household tells a peer about itself on connecting: its
    /// device certificates and revocations, and its join records (so a
    /// member who joined offline is recognised by any member it meets).
    pub fn own_records(&self) -> Vec<Record> {
        self.store
            .registry()
            .records()
            .filter(|(_, record)| match record {
                Record::DeviceCert(cert) => cert.body.household == self.household,
                Record::DeviceRevocation(revocation) => revocation.body.household == self.household,
                Record::Join(join) => join.body.household == self.household,
                _ => false,
            })
            .map(|(_, record)| record.clone())
            .collect()
    }

    /// Communities both this household and the household of `device` are
    /// members of: the only ones a peer on that device may sync.
    pub fn shared_communities(&self, device: &DeviceId) -> Vec<CommunityId> {
        let registry = self.store.registry();
        let Ok(peer) = registry.household_of(device, now_ms()) else {
            return Vec::new();
        };
        registry
            .communities()
            .filter(|c| c.is_member(&self.household) && c.is_member(&peer))
            .map(|c| c.id)
            .collect()
    }

    /// The household a peer's device belongs to, and its name, if known.
    pub fn household_of_device(&self, device: &DeviceId) -> Option<(HouseholdId, String)> {
        let household = self.store.registry().household_of(device, now_ms()).ok()?;
        Some((household, self.name_of(&household)))
    }

    /// The records of `community`, for a member peer.
    pub fn community_records(&self, community: &CommunityId) -> Vec<Record> {
        self.store.registry().records_for_community(community)
    }

    /// Sets where this household's node listens (the swarm calls this as its
    /// listen addresses change).
    pub fn set_advertised(&self, addresses: Vec<String>) {
        *self.advertised.write().unwrap_or_else(PoisonError::into_inner) = addresses;
    }
}
