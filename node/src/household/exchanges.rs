//! Exchanges between two households and the mutual-credit ledger derived
//! from them: proposing, acting, credit limits, balances.

use super::*;

impl Household {
    /// Refuses an exchange that would take `debtor` below the hard limit of
    /// `community`, counting the debts it already agreed to (accepted, not
    /// yet confirmed) besides its balance. Both parties' nodes run this, so
    /// a limit holds even when the debtor's own node is not the one acting.
    pub(super) fn check_credit(
        &self,
        community: CommunityId,
        debtor: &HouseholdId,
        amount: Amount,
        this: DocId,
    ) -> Result<()> {
        let genesis = self.genesis_of(&community)?;
        let Some(limit) = genesis.hard_limit else { return Ok(()) };
        let standing = self.standing(community, debtor, Some(this))?;
        if ledger::exceeds_limit(standing, amount, Some(limit)) {
            return Err(HouseholdError::CreditLimit {
                who: self.name_of(debtor),
                after: Amount(standing.0.saturating_sub(amount.0)),
                limit,
            });
        }
        Ok(())
    }

    /// A household's balance minus the debits it has accepted but not yet
    /// seen confirmed (leaving out `except`).
    pub(super) fn standing(
        &self,
        community: CommunityId,
        household: &HouseholdId,
        except: Option<DocId>,
    ) -> Result<Amount> {
        let ledger = self.exchange_ledger(community)?;
        let mut standing = ledger::balances(ledger.iter().map(|(_, entry)| entry)).of(household).0;
        for (summary, entry) in &ledger {
            if summary.state != ExchangeState::Accepted.as_str() || Some(summary.id) == except {
                continue;
            }
            if let Some(terms) = &entry.header.terms
                && &terms.receiver(&entry.header.owner) == household
            {
                standing = standing.saturating_sub(terms.amount.0);
            }
        }
        Ok(Amount(standing))
    }

    pub(super) fn genesis_of(&self, community: &CommunityId) -> Result<CommunityGenesis> {
        Ok(self
            .store
            .registry()
            .community(community)
            .ok_or(HouseholdError::NoCommunity)?
            .genesis
            .clone())
    }

    /// The soft-limit warning for `household` in the current community: its
    /// standing when below `-soft_limit`.
    pub fn soft_limit_warning(&self, household: &HouseholdId) -> Result<Option<(Amount, Amount)>> {
        let community = self.current_community()?;
        let genesis = self.genesis_of(&community)?;
        let Some(soft) = genesis.soft_limit else {
            return Ok(None);
        };
        let standing = self.standing(community, household, None)?;
        Ok((standing.0 < soft.0.saturating_neg()).then_some((standing, soft)))
    }

    pub fn exchanges(&self) -> Result<Vec<ExchangeView>> {
        let query = Query {
            kind: Some(DocKind::Exchange),
            ..Query::default()
        };
        let mut views = Vec::new();
        for summary in self.list(query, None, true)? {
            let document = self.load(&summary.id)?;
            let header = document.header().clone();
            let Some(terms) = header.terms.clone() else { continue };
            let state = ExchangeMarks::read(&document)
                .map_err(|e| HouseholdError::Document(e.to_string()))?
                .state();
            views.push(ExchangeView {
                id: summary.id.to_text(),
                proposer: self.name_of(&header.owner),
                counterparty: self.name_of(&terms.counterparty),
                provider: self.name_of(&terms.provider),
                receiver: self.name_of(&terms.receiver(&header.owner)),
                amount: terms.amount,
                note: terms.note,
                about: terms.about.map(|id| id.to_text()),
                state,
                created_at: header.created_at,
            });
        }
        Ok(views)
    }

    /// Balances of the current community.
    pub fn balances(&self) -> Result<Balances> {
        self.balances_in(self.current_community()?)
    }

    pub(super) fn balances_in(&self, community: CommunityId) -> Result<Balances> {
        let ledger = self.exchange_ledger(community)?;
        Ok(ledger::balances(ledger.iter().map(|(_, entry)| entry)))
    }

    /// Every exchange of `community` (closed ones included) with its ledger
    /// entry, in listing order. The stored header and summary say all the
    /// ledger needs: loading every exchange document would make each balance
    /// (and the soft-limit warning after each write) a full replay of them.
    pub fn exchange_ledger(&self, community: CommunityId) -> Result<Vec<(Summary, LedgerEntry)>> {
        let query = Query {
            kind: Some(DocKind::Exchange),
            ..Query::default()
        };
        let summaries = self.list_in(community, query, None, true, |_| true)?;
        let ids: Vec<DocId> = summaries.iter().map(|summary| summary.id).collect();
        let headers = self.store.headers(&ids)?;
        Ok(summaries
            .into_iter()
            .zip(headers)
            .filter_map(|(summary, header)| {
                let entry = LedgerEntry {
                    id: summary.id,
                    header: header?,
                    confirmed: summary.state == ExchangeState::Confirmed.as_str(),
                };
                Some((summary, entry))
            })
            .collect())
    }

    /// Balances with every member listed, zero included, by name.
    pub fn balance_sheet(&self) -> Result<Vec<(String, String, Amount)>> {
        let balances = self.balances()?;
        let community = self.community()?;
        let mut sheet: Vec<(String, String, Amount)> = community
            .members
            .keys()
            .chain(balances.by_household.keys().filter(|h| !community.is_member(h)))
            .map(|h| (h.to_text(), self.name_of(h), balances.of(h)))
            .collect();
        sheet.sort_by(|a, b| a.1.cmp(&b.1));
        sheet.dedup_by(|a, b| a.0 == b.0);
        Ok(sheet)
    }
}

impl HouseholdWriter {
    /// Proposes an exchange with another member. `provider_is_me` says who
    /// gave: the provider is credited, the other debited.
    ///
    /// With `about` (an offer or request of one of the two parties) the item
    /// says who gives: an offer's owner gives, a request's owner receives.
    /// Without it, `received` says whether this household received.
    pub fn propose_exchange(
        &mut self,
        with: HouseholdId,
        received: bool,
        amount: Amount,
        note: &str,
        about: Option<DocId>,
    ) -> Result<DocId> {
        maillage_crdt::items::check_text("note", note, maillage_crdt::items::limits::NOTE, false, true)?;
        if with == self.household {
            return Err(NotAllowed::ExchangeWithSelf.into());
        }
        let community = self.current_community()?;
        let provider_is_me = match about {
            None => !received,
            Some(_) if received => {
                return Err(NotAllowed::ReceivedWithItem.into());
            }
            Some(item) => {
                let header = self.store.header(&item)?.ok_or(HouseholdError::UnknownId {
                    kind: "document",
                    text: item.short(),
                })?;
                if header.owner != self.household && header.owner != with {
                    return Err(NotAllowed::ItemOfAnotherHousehold.into());
                }
                match header.kind {
                    DocKind::Offer => header.owner == self.household,
                    DocKind::Request => header.owner != self.household,
                    _ => {
                        return Err(HouseholdError::UnknownId {
                            kind: "offer",
                            text: item.short(),
                        });
                    }
                }
            }
        };
        let terms = ExchangeTerms {
            counterparty: with,
            provider: if provider_is_me { self.household } else { with },
            amount,
            note: note.trim().to_owned(),
            about,
        };
        let header = DocHeader {
            kind: DocKind::Exchange,
            community: Some(community),
            owner: self.household,
            created_at: now_ms(),
            nonce: rand::random(),
            parent: None,
            terms: Some(terms.clone()),
        };
        header.check().map_err(|e| HouseholdError::Refused(e.to_owned()))?;
        if !provider_is_me {
            self.check_credit(community, &self.household, amount, header.id())?;
        }
        let mut document = Document::new(header.clone());
        let change =
            maillage_crdt::exchange::act(&mut document, &self.household, ExchangeAction::Propose, &self.writer())
                .map_err(|e| HouseholdError::Refused(e.to_string()))?;
        self.commit(header, vec![change])?;
        Ok(document.id())
    }

    /// Accepts, declines, cancels or confirms an exchange.
    pub fn act_on_exchange(&mut self, id: &DocId, action: ExchangeAction) -> Result<ExchangeState> {
        let mut document = self.load(id)?;
        let header = document.header().clone();
        let terms = header.terms.clone().ok_or(HouseholdError::UnknownId {
            kind: "exchange",
            text: id.short(),
        })?;
        let receiver = terms.receiver(&header.owner);
        // The debt starts to count when the exchange becomes confirmed; a
        // second confirmation of an already counted exchange adds nothing.
        let state = ExchangeMarks::read(&document)
            .map_err(|e| HouseholdError::Document(e.to_string()))?
            .state();
        let adds_debt = match action {
            ExchangeAction::Accept => true,
            ExchangeAction::Confirm => state == ExchangeState::Accepted,
            _ => false,
        };
        if adds_debt {
            let community = header.community.ok_or(HouseholdError::NoCommunity)?;
            self.check_credit(community, &receiver, terms.amount, *id)?;
        }
        let change = maillage_crdt::exchange::act(&mut document, &self.household, action, &self.writer()).map_err(
            |e| match e {
                maillage_crdt::exchange::ExchangeError::Invalid(invalid) => HouseholdError::Invalid(invalid),
                other => HouseholdError::Document(other.to_string()),
            },
        )?;
        self.commit(header, vec![change])?;
        let document = self.load(id)?;
        Ok(ExchangeMarks::read(&document)
            .map_err(|e| HouseholdError::Document(e.to_string()))?
            .state())
    }
}
