//! The communities a household is in: founding one, inviting, joining
//! offline, members, and removing one as a steward.

use super::*;

impl Household {
    pub fn communities(&self) -> Result<Vec<CommunityView>> {
        let current = self.current_community().ok();
        Ok(self
            .store
            .registry()
            .communities()
            .filter(|c| c.is_member(&self.household))
            .map(|c| CommunityView {
                id: c.id.to_text(),
                name: c.genesis.name.clone(),
                unit: c.genesis.unit.clone(),
                members: c.members.len(),
                steward: c.is_steward(&self.household),
                current: Some(c.id) == current,
            })
            .collect())
    }

    /// The community commands act in: the one last created, joined or chosen.
    pub fn current_community(&self) -> Result<CommunityId> {
        let chosen = self
            .store
            .meta(META_COMMUNITY)?
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
        let registry = self.store.registry();
        if let Some(id) = chosen.map(CommunityId)
            && registry.community(&id).is_some_and(|c| c.is_member(&self.household))
        {
            return Ok(id);
        }
        registry
            .communities()
            .find(|c| c.is_member(&self.household))
            .map(|c| c.id)
            .ok_or(HouseholdError::NoCommunity)
    }

    pub fn community(&self) -> Result<Community> {
        let id = self.current_community()?;
        self.store
            .registry()
            .community(&id)
            .cloned()
            .ok_or(HouseholdError::NoCommunity)
    }

    /// One of this household's communities, by name or id prefix.
    pub fn find_community(&self, text: &str) -> Result<CommunityId> {
        let folded = search_fold(text.trim());
        let matches: Vec<CommunityId> = self
            .store
            .registry()
            .communities()
            .filter(|c| c.is_member(&self.household))
            .filter(|c| search_fold(&c.genesis.name) == folded || c.id.to_text().starts_with(&text.to_lowercase()))
            .map(|c| c.id)
            .collect();
        one_of(matches, "community", text, |id| id.short())
    }

    pub fn members(&self) -> Result<Vec<MemberView>> {
        let community = self.community()?;
        let mut members: Vec<MemberView> = community
            .members
            .values()
            .map(|m| {
                let profile = self.store.load(&DocHeader::profile(m.household).id()).ok().flatten();
                let profile: Option<Profile> = profile.and_then(|d| d.read().ok());
                MemberView {
                    household: m.household.to_text(),
                    name: profile
                        .as_ref()
                        .map(|p| p.name.clone())
                        .unwrap_or_else(|| m.household.short()),
                    place: profile.and_then(|p| p.place),
                    steward: m.steward,
                    joined_at: m.joined_at,
                }
            })
            .collect();
        members.sort_by(|a, b| a.joined_at.cmp(&b.joined_at).then(a.name.cmp(&b.name)));
        Ok(members)
    }

    /// Finds a member of the current community by household name or id prefix.
    pub fn resolve_member(&self, text: &str) -> Result<HouseholdId> {
        let community = self.community()?;
        let folded = search_fold(text.trim());
        let lower = text.trim().to_lowercase();
        let by_name: Vec<HouseholdId> = community
            .members
            .keys()
            .filter(|h| search_fold(&self.name_of(h)) == folded)
            .copied()
            .collect();
        // A name and an id prefix that point at different households are
        // ambiguous: otherwise a member could take another's id as its name
        // and receive what was meant for that household.
        let mut found = by_name;
        for household in community.members.keys() {
            if !lower.is_empty() && household.to_text().starts_with(&lower) && !found.contains(household) {
                found.push(*household);
            }
        }
        match found.len() {
            0 => Err(HouseholdError::UnknownMember(text.to_owned())),
            1 => Ok(found[0]),
            _ => Err(HouseholdError::AmbiguousMember {
                text: text.to_owned(),
                candidates: found.iter().map(|h| h.short()).collect::<Vec<_>>().join(", "),
            }),
        }
    }
}

impl HouseholdWriter {
    /// Chooses the community commands act in, by name or id prefix.
    pub fn use_community(&mut self, text: &str) -> Result<CommunityId> {
        let id = self.find_community(text)?;
        self.store.set_meta(META_COMMUNITY, &id.0)?;
        Ok(id)
    }

    pub fn create_community(&mut self, name: &str, unit: &str, hard_limit: Option<Amount>) -> Result<CommunityId> {
        maillage_crdt::items::check_text("name", name, maillage_crdt::items::limits::NAME, true, false)?;
        maillage_crdt::items::check_text("unit", unit, maillage_crdt::items::limits::CATEGORY, true, false)?;
        let genesis = CommunityGenesis {
            name: name.trim().to_owned(),
            founder: self.household,
            unit: unit.trim().to_owned(),
            soft_limit: hard_limit.map(|limit| Amount(limit.0 * 8 / 10)),
            hard_limit,
            created_at: now_ms(),
            nonce: rand::random(),
        };
        let id = maillage_crdt::registry::community_id(&genesis);
        let signed = self
            .device
            .sign(genesis)
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        self.store.ingest(vec![Record::Genesis(signed)], vec![])?;
        self.store.set_meta(META_COMMUNITY, &id.0)?;
        Ok(id)
    }

    /// Makes an invite code for the current community.
    pub fn invite(&mut self, uses: u32, expires_at: i64) -> Result<InviteCode> {
        let community = self.community()?.clone();
        if !community.is_steward(&self.household) {
            return Err(HouseholdError::NotSteward);
        }
        if uses == 0 {
            return Err(NotAllowed::InvitationWithoutUse.into());
        }
        let invite_secret = keys::generate();
        let invite = Invite {
            community: community.id,
            inviter: self.household,
            invite_key: invite_secret.public(),
            max_uses: uses,
            created_at: now_ms(),
            expires_at,
        };
        let invite = self
            .device
            .sign(invite)
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        self.store.ingest(vec![Record::Invite(invite.clone())], vec![])?;
        let registry = self.store.registry();
        let genesis = registry
            .records()
            .find_map(|(_, record)| match record {
                Record::Genesis(genesis) if maillage_crdt::registry::community_id(&genesis.body) == community.id => {
                    Some(genesis.clone())
                }
                _ => None,
            })
            .ok_or(HouseholdError::NoCommunity)?;
        let wanted = [genesis.signer, invite.signer];
        let certs = registry
            .records()
            .filter_map(|(_, record)| match record {
                Record::DeviceCert(cert) if wanted.contains(&cert.body.device.0) => Some(cert.clone()),
                _ => None,
            })
            .collect();
        Ok(InviteCode {
            genesis,
            certs,
            invite,
            invite_secret: invite_secret.to_bytes(),
            addresses: self.advertised(),
            inviter_profile: self.profile_changes()?,
        })
    }

    /// Joins a community with an invite code, with no network: the join
    /// record this writes is valid wherever it travels. `community join`
    /// first tries to be admitted online (see `admission`); this is what it
    /// falls back to when no member's node answers.
    pub fn join(&mut self, code: &str) -> Result<CommunityId> {
        let prepared = self.prepare_join(code)?;
        self.store_join(&prepared, Vec::new())
    }

    pub fn remove_member(&mut self, member: &HouseholdId) -> Result<()> {
        let community = self.community()?.clone();
        if !community.is_steward(&self.household) {
            return Err(HouseholdError::NotSteward);
        }
        if member == &community.genesis.founder {
            return Err(NotAllowed::RemoveFounder.into());
        }
        let removal = Removal {
            community: community.id,
            household: *member,
            removed_at: now_ms(),
        };
        let removal = self
            .device
            .sign(removal)
            .map_err(|e| HouseholdError::Document(e.to_string()))?;
        self.store.ingest(vec![Record::Removal(removal)], vec![])?;
        Ok(())
    }
}
