//! What comes from elsewhere (a bundle, a peer) and signed bundles out:
//! `export` for a backup or a USB stick, `import` to merge one.

use super::*;

impl Household {
    /// Writes a signed bundle of everything this household holds for its
    /// communities (its own documents and those it received).
    pub fn export(&self, path: &Path, only: Option<CommunityId>) -> Result<usize> {
        let (bytes, count) = self.export_bytes(only)?;
        crate::home::write_private_file(path, &bytes).map_err(|source| HouseholdError::File {
            path: path.display().to_string(),
            source,
        })?;
        Ok(count)
    }

    /// The signed bundle [`Household::export`] writes, and how many
    /// documents it holds: for a caller that writes it itself (the local
    /// API streams it back rather than writing where its caller asked).
    pub fn export_bytes(&self, only: Option<CommunityId>) -> Result<(Vec<u8>, usize)> {
        let registry = self.store.registry();
        let communities: Vec<CommunityId> = registry
            .communities()
            .filter(|c| c.is_member(&self.household) && only.is_none_or(|only| only == c.id))
            .map(|c| c.id)
            .collect();
        let mut records: BTreeMap<maillage_crdt::RecordId, Record> = BTreeMap::new();
        for community in &communities {
            records.extend(
                registry
                    .records_for_community(community)
                    .into_iter()
                    .map(|r| (r.id(), r)),
            );
        }
        // Our own device certificates travel even before we are in a community.
        for (id, record) in registry.records() {
            if let Record::DeviceCert(cert) = record
                && cert.body.household == self.household
            {
                records.insert(*id, record.clone());
            }
        }
        let households = households_of(&registry, &communities);
        let docs = self.store.export(|header| match header.community {
            Some(community) => communities.contains(&community),
            None => households.contains(&header.owner),
        })?;
        let count = docs.len();
        let bundle = Bundle {
            created_at: now_ms(),
            records: records.into_values().collect(),
            docs: docs
                .into_iter()
                .map(|(header, changes)| maillage_protocol::BundleDoc { header, changes })
                .collect(),
        };
        Ok((bundle.seal(&self.device)?, count))
    }
}

impl HouseholdWriter {
    /// Stores records and documents that came from elsewhere (a bundle, a
    /// peer), keeping only what belongs to communities this household is in
    /// once the incoming records count (a newcomer's join makes it a member),
    /// plus the profiles and device records of those communities' households.
    /// Whatever a sender adds about other communities is not ours to receive
    /// and is dropped; everything kept is verified by the store.
    pub fn ingest_foreign(
        &mut self,
        records: Vec<Record>,
        docs: Vec<(DocHeader, Vec<SignedChange>)>,
    ) -> Result<ApplyReport> {
        let mut registry = maillage_crdt::Registry::clone(&self.store.registry());
        registry.insert(records.iter().cloned());
        let mine: Vec<CommunityId> = registry
            .communities()
            .filter(|c| c.is_member(&self.household))
            .map(|c| c.id)
            .collect();
        let households = households_of(&registry, &mine);
        let records = records
            .into_iter()
            .filter(|record| match (record.community(), record) {
                (Some(community), _) => mine.contains(&community),
                (None, Record::DeviceCert(cert)) => households.contains(&cert.body.household),
                (None, Record::DeviceRevocation(revocation)) => households.contains(&revocation.body.household),
                (None, _) => false,
            })
            .collect();
        let docs = docs
            .into_iter()
            .filter(|(header, _)| match header.community {
                Some(community) => mine.contains(&community),
                None => households.contains(&header.owner),
            })
            .collect();
        Ok(self.store.ingest(records, docs)?)
    }

    /// Verifies a bundle and merges it. A bundle that fails any check on the
    /// whole (signature, exporter) changes nothing; individual changes that
    /// fail verification are counted and skipped.
    pub fn import(&mut self, path: &Path) -> Result<ImportReport> {
        let file_error = |source| HouseholdError::File {
            path: path.display().to_string(),
            source,
        };
        // Check the size before reading: a huge file is refused, not loaded.
        let size = std::fs::metadata(path).map_err(file_error)?.len();
        if size > maillage_protocol::bundle::MAX_BUNDLE_BYTES as u64 {
            return Err(BundleError::TooLarge.into());
        }
        let bytes = std::fs::read(path).map_err(file_error)?;
        let signed = Bundle::open(&bytes)?;
        let exporter_device = signed.signer_device();
        let bundle = signed.body;
        // Check every record first: a bundle carrying one forged record was
        // tampered with, and is refused whole.
        for record in &bundle.records {
            record
                .verify_self()
                .map_err(|e| HouseholdError::BundleContent(e.to_string()))?;
        }
        // The exporter must be a device of a household that shares a community
        // with us, once the bundle's own records (a newcomer's join) count.
        let mut registry = maillage_crdt::Registry::clone(&self.store.registry());
        registry.insert(bundle.records.iter().cloned());
        let exporter = registry
            .household_of(&exporter_device, bundle.created_at)
            .map_err(|_| HouseholdError::BundleFromStranger)?;
        let shares_community = exporter == self.household
            || registry
                .communities()
                .any(|c| c.is_member(&exporter) && c.is_member(&self.household));
        if !shares_community {
            // A household whose own join was refused learns why, rather than
            // being told the steward is a stranger.
            let refused = registry.communities().find_map(|c| {
                let refusal = c.refused_joins.get(&self.household)?;
                c.is_member(&exporter).then(|| (c.genesis.name.clone(), *refusal))
            });
            return Err(match refused {
                Some((community, refusal)) => HouseholdError::JoinRefused {
                    community,
                    reason: refusal_reason(refusal),
                },
                None => HouseholdError::BundleFromStranger,
            });
        }
        let docs = bundle.docs.into_iter().map(|doc| (doc.header, doc.changes)).collect();
        let report = self.ingest_foreign(bundle.records, docs)?;
        Ok(ImportReport {
            exporter: self.name_of(&exporter),
            records_added: report.new_records.len(),
            changes_applied: report.applied,
            changes_already_known: report.duplicates,
            changes_refused: report.rejected.len(),
            documents_touched: report.touched.len(),
        })
    }
}

/// Every household that appears in `communities` (members, former members,
/// refused joiners): whose device records and profiles travel with them.
fn households_of(registry: &maillage_crdt::Registry, communities: &[CommunityId]) -> BTreeSet<HouseholdId> {
    communities
        .iter()
        .filter_map(|id| registry.community(id))
        .flat_map(|c| {
            c.members
                .keys()
                .chain(c.former.keys())
                .chain(c.refused_joins.keys())
                .copied()
        })
        .collect()
}

fn refusal_reason(refusal: maillage_crdt::registry::JoinRefusal) -> &'static str {
    use maillage_crdt::registry::JoinRefusal::*;
    match refusal {
        InviteExpired => "the invitation had expired; ask for a new code",
        InviteUsedUp => "the invitation had already been used as many times as allowed",
        InviterNotSteward => "the household that made the invitation is not a steward of the community",
        Removed => "your household was removed from this community",
    }
}
